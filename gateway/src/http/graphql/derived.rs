//! The root fields generated from `proto/` (`build.rs`, for each method marked
//! `mesh.api.v1.graphql_operation`): `ContractQuery`, `ContractMutation` and their input
//! objects, and what they call. A field added to such a request or answer reaches the schema
//! with no code here.

use async_graphql::{
    Context, ErrorExtensions, ID, OutputType, Result,
    connection::{Connection, Edge},
};

use super::{backends, caller};
use crate::{auth::Action, contract::Unmapped, error::ApiError};

include!(concat!(std::env!("OUT_DIR"), "/graphql_roots.rs"));

/// Sends `request` to the RPC at `path` of `service` for this GraphQL request.
async fn call<Request, Answer>(
    ctx: &Context<'_>,
    service: &'static str,
    path: &'static str,
    request: Request,
) -> Result<Answer>
where
    Request: mesh_proto::Message + Default + Send + Sync + 'static,
    Answer: mesh_proto::Message + mesh_proto::Name + Default + Send + Sync + 'static,
{
    let backends = backends(ctx);
    backends
        .call_typed(service, path, request)
        .await
        .map_err(|err| err.extend())
}

/// An answer as its generated object type.
fn object<T, P>(answer: P) -> Result<T>
where
    T: TryFrom<P, Error = Unmapped>,
{
    T::try_from(answer).map_err(|unmapped| ApiError::from(unmapped).extend())
}

fn objects<T, P>(answers: Vec<P>) -> Result<Vec<T>>
where
    T: TryFrom<P, Error = Unmapped>,
{
    answers.into_iter().map(object).collect()
}

/// A backend's page as a Relay connection. Paging only goes forward, so there is an earlier
/// page exactly when the client asked for one `after` a cursor.
pub(super) fn connection<T, P>(
    items: Vec<P>,
    cursors: Vec<String>,
    next_page_token: String,
    after: bool,
) -> Result<Connection<String, T>>
where
    T: OutputType + TryFrom<P, Error = Unmapped>,
{
    let mut connection = Connection::new(after, !next_page_token.is_empty());
    let mut cursors = cursors.into_iter();
    connection.edges = items
        .into_iter()
        .map(|item| Ok(Edge::new(cursors.next().unwrap_or_default(), object(item)?)))
        .collect::<Result<_>>()?;
    Ok(connection)
}

/// Whom a customer's call acts for (`ACCESS_ACT_FOR_CUSTOMER`): the caller when `named` is
/// left out, else whom the policy lets them name.
fn act_for_customer(ctx: &Context<'_>, named: Option<&str>) -> Result<String> {
    caller(ctx)
        .authorize(Action::ActForCustomer { customer: named })
        .map(|grant| grant.subject().to_owned())
        .map_err(|err| err.extend())
}

/// An integer id (a movie's) from a GraphQL `ID`: a positive integer.
pub(crate) fn integer_id(field: &str, id: &ID) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid(field, "must be a positive integer").extend())
}
