//! The body of `POST /graphql`, read as async-graphql-axum's extractor reads it, with one
//! shortcut: a JSON body that is one request is deserialized straight into it. The library
//! reads every body through its single-or-batch enum, which serde buffers and tries variant by
//! variant (8.5k of a small query's instructions, callgrind). Whatever the shortcut does not take
//! (a batch, multipart, malformed JSON, another content type) goes to the library with the same
//! bytes, so its answers, its errors included, stay the library's.

use async_graphql::{ParseRequestError, Request, http::MultipartOptions};
use async_graphql_axum::rejection::GraphQLRejection;
use axum::{
    extract::{self, FromRequest},
    http::header,
};

/// The request a `POST /graphql` body carries.
pub struct GraphqlBody(pub Request);

impl<S: Send + Sync> FromRequest<S> for GraphqlBody {
    type Rejection = GraphQLRejection;

    async fn from_request(request: extract::Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        // The edge's body limit applies to this stream, as to the library's reading of it; a
        // read that fails is the library's I/O error, word for word.
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|err| ParseRequestError::Io(std::io::Error::other(err.to_string())))?;
        if plain_json(content_type.as_deref())
            && let Ok(single) = serde_json::from_slice::<Request>(&body)
        {
            return Ok(Self(single));
        }
        let batch = async_graphql::http::receive_batch_body(
            content_type,
            &body[..],
            MultipartOptions::default(),
        )
        .await?;
        Ok(Self(batch.into_single()?))
    }
}

/// Whether the library would read the body as JSON for this content type: none (it assumes
/// JSON), or `application/json` as clients send it. Anything else goes to the library.
fn plain_json(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|content_type| {
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;charset=utf-8",
        ]
        .iter()
        .any(|json| content_type.eq_ignore_ascii_case(json))
    })
}

#[cfg(test)]
mod tests {
    use async_graphql_axum::GraphQLRequest;
    use axum::{
        body::Body,
        extract::FromRequest,
        response::{IntoResponse, Response},
    };

    use super::{GraphqlBody, plain_json};

    #[test]
    fn only_the_content_types_the_library_reads_as_json_take_the_shortcut() {
        assert!(plain_json(None));
        assert!(plain_json(Some("application/json")));
        assert!(plain_json(Some("Application/JSON; charset=UTF-8")));
        assert!(!plain_json(Some("application/json;")));
        assert!(!plain_json(Some("multipart/form-data; boundary=x")));
        assert!(!plain_json(Some("text/plain")));
    }

    fn post(content_type: Option<&str>, body: &str) -> axum::extract::Request {
        let mut request = axum::http::Request::post("/graphql");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request
            .body(Body::from(body.to_owned()))
            .expect("a request")
    }

    async fn answer(response: Response) -> (u16, Vec<u8>) {
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        (status, body.expect("a body").to_vec())
    }

    /// Ours and the library's extractor read each body alike: the same request, or the same
    /// refusal, byte for byte.
    #[tokio::test]
    async fn every_body_is_read_as_the_library_reads_it() {
        let cases = [
            (Some("application/json"), r#"{"query": "{ a }"}"#),
            (
                Some("application/json; charset=utf-8"),
                r#"{"query": "query Q($n: Int) { a(n: $n) }", "operationName": "Q",
                    "variables": {"n": 12345678901234567890, "f": 1.5, "s": "x", "l": [null]},
                    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}"#,
            ),
            (None, r#"{"query": "{ a }", "unknown": 1}"#),
            (Some("text/plain"), r#"{"query": "{ a }"}"#),
            (Some("application/json"), r#"[{"query": "{ a }"}]"#),
            (
                Some("application/json"),
                r#"[{"query": "{ a }"}, {"query": "{ b }"}]"#,
            ),
            (Some("application/json"), "not json"),
            (Some("application/json"), ""),
            (Some("application/json"), r#"{"query": 1}"#),
            (
                Some("application/json"),
                r#"{"query": "{ a }", "variables": "x"}"#,
            ),
            (Some("application/json;"), r#"{"query": "{ a }"}"#),
            (Some("multipart/form-data"), r#"{"query": "{ a }"}"#),
            (Some("multipart/form-data; boundary=x"), "--x--"),
        ];
        for (content_type, body) in cases {
            let ours = GraphqlBody::from_request(post(content_type, body), &()).await;
            let theirs: Result<GraphQLRequest, _> =
                GraphQLRequest::from_request(post(content_type, body), &()).await;
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => assert_eq!(
                    format!("{:?}", ours.0),
                    format!("{:?}", theirs.into_inner()),
                    "{content_type:?} {body}"
                ),
                (Err(ours), Err(theirs)) => assert_eq!(
                    answer(ours.into_response()).await,
                    answer(theirs.into_response()).await,
                    "{content_type:?} {body}"
                ),
                (ours, _) => panic!("{content_type:?} {body}: only ours is ok: {}", ours.is_ok()),
            }
        }
    }
}
