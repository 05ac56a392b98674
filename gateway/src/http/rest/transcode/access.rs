//! Who may call a route served from the contract: the access rule of its `mesh.api.v1.route`
//! option, decided by the one policy ([`crate::auth::policy`]) as REST's hand-written routes
//! and GraphQL's guards decide it. What needs no body is decided before the body is read
//! ([`before_body`]); what depends on the request (whose order, which courier) after it is
//! built and checked ([`admit`]), which also fills the fields the caller's identity decides.

use mesh_proto::api::v1::Access;
use prost_reflect::{DynamicMessage, ReflectMessage, Value};

use super::Transcoded;
use crate::{
    auth::{self, Action, Caller, Grant, policy},
    backends::Backends,
    error::ApiError,
};

/// The decision that needs no body: the catalog's rules in full, and for every other rule a
/// caller with a token (401 before a byte of the body is read).
pub fn before_body(route: &Transcoded, caller: &Caller) -> Result<(), ApiError> {
    match route.serving.access() {
        Access::ReadCatalog => caller.authorize(Action::ReadCatalog).map(drop),
        Access::WriteCatalog => caller.authorize(Action::WriteCatalog).map(drop),
        Access::ReadDelivery | Access::MoveDelivery | Access::ActForCustomer | Access::UseOrder => {
            match caller.principal() {
                Some(_) => Ok(()),
                None => Err(policy::unauthenticated()),
            }
        }
        // `transcoded` serves no route without a rule.
        Access::Unspecified => Err(ApiError::internal()),
    }
}

/// The decision on the built request, which it completes: the subject the caller acts as, and
/// the admin's override, are the policy's, never the client's.
pub async fn admit(
    route: &Transcoded,
    caller: &Caller,
    backends: &Backends,
    message: &mut DynamicMessage,
) -> Result<(), ApiError> {
    match route.serving.access() {
        Access::ReadDelivery => {
            if caller.authorize(Action::ReadAnyDelivery).is_err() {
                let order_id = text(message, &route.serving.owner_field)?;
                let order =
                    auth::order_for(caller, backends, &order_id, &auth::ownership()).await?;
                caller.authorize(Action::ReadDelivery {
                    order_id: order.id.as_str(),
                    owner: &order.customer_id,
                })?;
            }
        }
        Access::MoveDelivery => act_as(route, message, |courier| {
            caller.authorize(Action::MoveDelivery { courier })
        })?,
        Access::ActForCustomer => act_as(route, message, |customer| {
            caller.authorize(Action::ActForCustomer { customer })
        })?,
        // A change is decided before it is made; a read, on what it reads ([`owns_answer`]).
        Access::UseOrder if !route.serving.owner_field.is_empty() => {
            let order_id = text(message, &route.serving.owner_field)?;
            auth::order_for(caller, backends, &order_id, &auth::ownership()).await?;
        }
        Access::UseOrder | Access::ReadCatalog | Access::WriteCatalog | Access::Unspecified => {}
    }
    for field in &route.admin_fields {
        message.set_field(field, Value::Bool(caller.reassigns_deliveries()));
    }
    Ok(())
}

/// Fills the field the caller acts as (`subject_field`): left out or empty, the policy's grant
/// (the token's subject); named, only if the policy lets the caller act as that one.
fn act_as(
    route: &Transcoded,
    message: &mut DynamicMessage,
    decide: impl FnOnce(Option<&str>) -> Result<Grant, ApiError>,
) -> Result<(), ApiError> {
    let field = message
        .descriptor()
        .get_field_by_name(&route.serving.subject_field)
        .ok_or_else(ApiError::internal)?;
    let named = message
        .has_field(&field)
        .then(|| message.get_field(&field).as_str().map(str::to_owned))
        .flatten();
    if let Grant::As(subject) = decide(named.as_deref())? {
        message.set_field(&field, Value::String(subject));
    }
    Ok(())
}

/// For a read whose owner is in what it reads (`answer_owner_field`): someone else's is
/// answered as a missing one is.
pub fn owns_answer(
    route: &Transcoded,
    caller: &Caller,
    answer: &DynamicMessage,
) -> Result<(), ApiError> {
    if route.serving.access() != Access::UseOrder || route.serving.answer_owner_field.is_empty() {
        return Ok(());
    }
    let owner = text(answer, &route.serving.answer_owner_field)?;
    let id = text(answer, "id")?;
    caller
        .authorize(Action::UseOrder {
            id: &id,
            owner: &owner,
        })
        .map(drop)
}

/// A text field of the request the option names.
fn text(message: &DynamicMessage, name: &str) -> Result<String, ApiError> {
    message
        .get_field_by_name(name)
        .and_then(|value| value.as_str().map(str::to_owned))
        .ok_or_else(ApiError::internal)
}
