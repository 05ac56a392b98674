//! Authentication at the gateway: every request's `Authorization: Bearer <JWT>` is verified once,
//! here, and the caller it names travels with the request as a [`Caller`] (anonymous without a
//! token). What a caller may do is [`policy`]'s alone.
//!
//! A token that does not verify is a 401 whatever the route, so a client learns at once that its
//! token is bad rather than quietly being treated as anonymous. The edge ([`crate::http::edge::admit`])
//! asks [`Auth::caller`] once per request.

use std::time::Duration;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, header, request::Parts},
};
use mesh_proto::read_mask::ReadMask;

use crate::{
    backends::Backends,
    contract::{Delivery, Order, Payment},
    error::{ApiError, ErrorCode},
    model::BillingOrder,
};

pub mod policy;
pub mod token;

pub use policy::{Action, Caller, Grant, Principal, Role};
pub use token::Verifier;

/// How long a development sign-in lasts.
pub const DEV_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// What the middleware and the sign-in route share.
#[derive(Clone)]
pub struct Auth {
    pub verifier: Verifier,
    /// `GATEWAY_DEV_LOGIN`: `POST /auth/dev-token` hands out tokens for any role. Development
    /// only; off unless set.
    pub dev_login: bool,
}

impl Auth {
    /// The caller a request's headers name: anonymous without `Authorization`, an error when it
    /// is there but does not verify.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::anonymous());
        };
        let token = value
            .to_str()
            .ok()
            .and_then(bearer)
            .ok_or_else(|| invalid_token("Authorization must be `Bearer <token>`"))?;
        self.caller_from_token(token).await
    }

    /// The caller a bare token names (a WebSocket's `connection_init`, say).
    pub async fn caller_from_token(&self, token: &str) -> Result<Caller, ApiError> {
        match self.verifier.verify(token).await {
            Ok(principal) => Ok(Caller(Some(principal))),
            Err(err) => {
                // Debug only: each bad token is a line an attacker could write into our logs.
                tracing::debug!(error = %err, "bearer token refused");
                Err(invalid_token(
                    "the bearer token is invalid or expired; get a new one",
                ))
            }
        }
    }
}

/// The token of `Bearer <token>` (the scheme in any case).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn invalid_token(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

/// A caller that sent a valid token; anonymous requests are refused with 401 before their body
/// is read. What the caller may do is still the policy's to say.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Caller);

impl std::ops::Deref for Authenticated {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        if caller.principal().is_none() {
            return Err(policy::unauthenticated());
        }
        Ok(Self(caller))
    }
}

/// A caller allowed to change the menu and the movie catalog (an admin), checked before the
/// body is read.
#[derive(Clone, Debug)]
pub struct CatalogWriter;

impl<S: Send + Sync> FromRequestParts<S> for CatalogWriter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(caller) = Caller::from_request_parts(parts, state).await;
        caller.authorize(Action::WriteCatalog)?;
        Ok(Self)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Routers built without the middleware (unit tests) see everyone as anonymous.
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_default())
    }
}

// === Reads that depend on who owns the data ===
//
// REST and GraphQL alike fetch through these, so "someone else's is 404" is decided once.

/// What the policy reads of an order: which one it is, and whose.
pub const OWNERSHIP: [&str; 2] = ["id", "customer_id"];

/// What [`order_for`] reads when the caller only asks whether it may use the order.
pub fn ownership() -> ReadMask {
    ReadMask::fields(OWNERSHIP)
}

/// The order, if the caller may read, cancel or follow it, with what `read` reads of it (which
/// must include [`OWNERSHIP`]).
pub async fn order_for(
    caller: &Caller,
    backends: &Backends,
    id: &str,
    read: &ReadMask,
) -> Result<Order, ApiError> {
    if caller.principal().is_none() {
        return Err(policy::unauthenticated());
    }
    let order = backends.order(id, read).await?;
    caller.authorize(Action::UseOrder {
        id: order.id.as_str(),
        owner: &order.customer_id,
    })?;
    Ok(order)
}

/// The order's delivery, if the caller may read it: couriers and admins any, a customer their
/// own order's.
pub async fn delivery_for(
    caller: &Caller,
    backends: &Backends,
    order_id: &str,
) -> Result<Delivery, ApiError> {
    if caller.authorize(Action::ReadAnyDelivery).is_err() {
        let order = order_for(caller, backends, order_id, &ownership()).await?;
        caller.authorize(Action::ReadDelivery {
            order_id: order.id.as_str(),
            owner: &order.customer_id,
        })?;
    }
    backends.delivery(order_id).await
}

/// The order's payment, if the caller may read it.
pub async fn payment_for(
    caller: &Caller,
    backends: &Backends,
    order_id: &str,
) -> Result<Payment, ApiError> {
    let order = order_for(caller, backends, order_id, &ownership()).await?;
    caller.authorize(Action::ReadPayment {
        order_id: order.id.as_str(),
        owner: &order.customer_id,
    })?;
    backends.payment(order_id).await
}

/// The stored billing order, if the caller may read it.
pub async fn billing_order_for(
    caller: &Caller,
    backends: &Backends,
    request_id: &str,
) -> Result<BillingOrder, ApiError> {
    if caller.principal().is_none() {
        return Err(policy::unauthenticated());
    }
    let order = backends.billing_order(request_id).await?;
    caller.authorize(Action::ReadBillingOrder {
        request_id: order.request_id.as_str(),
        user: order.user_id,
    })?;
    Ok(order)
}

/// The billing user id a request acts for: the caller's own (its token subject, a positive
/// integer written the one way: `3`, never `03` or `+3`), or, for an admin, the one named.
pub fn billing_user_for(caller: &Caller, named: Option<i64>) -> Result<i64, ApiError> {
    let grant = caller.authorize(Action::ActForBillingUser { user: named })?;
    billing_user_id(grant.subject()).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Forbidden,
            "billing needs a token whose subject is the numeric billing user id",
        )
    })
}

/// The billing user a subject names, when it is the canonical decimal of a positive id.
fn billing_user_id(subject: &str) -> Option<i64> {
    let id = subject.parse::<i64>().ok().filter(|id| *id > 0)?;
    (id.to_string() == subject).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::{bearer, billing_user_id};

    #[test]
    fn a_billing_subject_is_one_number_written_one_way() {
        assert_eq!(billing_user_id("3"), Some(3));
        for other in ["03", "+3", " 3", "3 ", "0", "-3", "3.0", "x"] {
            assert_eq!(billing_user_id(other), None, "{other:?}");
        }
    }

    #[test]
    fn reads_the_bearer_scheme_in_any_case() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}
