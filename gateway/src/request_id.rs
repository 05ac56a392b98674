//! Every request gets an id: the client's `x-request-id` when it sends a fit one, a new UUID
//! otherwise. It is echoed in the response, logged in the request's span, and carried for the
//! request ([`mesh_kit::context`]) on every backend call and every event it causes.

use axum::{extract::Request, http::HeaderValue};
use mesh_kit::telemetry::REQUEST_ID_HEADER;

/// Longest client-chosen id we keep; anything longer is replaced, not truncated.
const MAX_LEN: usize = 128;

/// Whether a client's id may be carried on: printable ASCII of a sensible length.
fn fit(id: &HeaderValue) -> bool {
    let id = id.as_bytes();
    !id.is_empty() && id.len() <= MAX_LEN && id.iter().all(u8::is_ascii_graphic)
}

/// Drops a client's `x-request-id` that is unfit, so the request gets a new one
/// ([`MakeRequestId`]) and no log line, backend call or event carries the client's.
pub async fn replace_unfit(mut request: Request) -> Request {
    if request
        .headers()
        .get_all(REQUEST_ID_HEADER)
        .iter()
        .enumerate()
        .any(|(n, id)| n > 0 || !fit(id))
    {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

/// Makes ids for requests that come without a usable one.
#[derive(Clone, Copy, Debug, Default)]
pub struct MakeRequestId;

impl tower_http::request_id::MakeRequestId for MakeRequestId {
    fn make_request_id<B>(
        &mut self,
        _request: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::fit;

    #[test]
    fn keeps_sane_client_ids_and_refuses_the_rest() {
        assert!(fit(&HeaderValue::from_static("req-42")));
        assert!(!fit(&HeaderValue::from_static("")));
        assert!(!fit(&HeaderValue::from_static("has space")));
        let long = "x".repeat(129);
        assert!(!fit(&HeaderValue::from_str(&long).expect("a header value")));
    }
}
