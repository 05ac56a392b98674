//! Every request gets an id: the client's `x-request-id` when it sends a sane one, a new UUID
//! otherwise. It is echoed in the response, logged in the request's span, passed to every
//! backend call, and carried on the events the request causes.

use std::convert::Infallible;

use axum::{extract::FromRequestParts, http::request::Parts};
use mesh_kit::telemetry::REQUEST_ID_HEADER;

/// Longest client-chosen id we keep; anything longer is replaced, not truncated.
const MAX_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// A client-supplied id, if it is printable ASCII of a sensible length.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok =
            !raw.is_empty() && raw.len() <= MAX_LEN && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The request-id layer has set the header by now; generating here is a fallback for
        // routers built without it (unit tests).
        Ok(parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(RequestId::parse)
            .unwrap_or_else(RequestId::generate))
    }
}

/// Makes ids for requests that come without a usable one.
#[derive(Clone, Copy, Debug, Default)]
pub struct MakeRequestId;

impl tower_http::request_id::MakeRequestId for MakeRequestId {
    fn make_request_id<B>(
        &mut self,
        _request: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        axum::http::HeaderValue::from_str(RequestId::generate().as_str())
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::RequestId;

    #[test]
    fn keeps_sane_client_ids_and_refuses_the_rest() {
        assert!(RequestId::parse("req-42").is_some());
        assert!(RequestId::parse("").is_none());
        assert!(RequestId::parse("has space").is_none());
        assert!(RequestId::parse(&"x".repeat(129)).is_none());
    }
}
