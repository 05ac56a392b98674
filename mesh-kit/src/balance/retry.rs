//! Retries: which calls may be sent twice (a predicate on the gRPC method), how an attempt ended,
//! and the buffered request that makes a second attempt possible.

use std::error::Error as StdError;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tonic::body::Body;

/// The methods safe to send twice: reads. Patterns are method names (`GetMenuItem`) or their
/// prefixes (`Get*`); a pattern with a `.` or `/` is matched against the whole
/// `package.Service/Method` instead: `mesh.order.v1.OrderService/CreateOrder`, `mesh.menu.v1.*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotentMethods {
    patterns: Vec<Pattern>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    /// Matched against `package.Service/Method` rather than `Method`.
    whole_path: bool,
    text: String,
    prefix: bool,
}

/// The mesh's naming convention for reads (and the health check's `Check`).
pub const DEFAULT_IDEMPOTENT_METHODS: &str = "Get*,List*,BatchGet*,Check";

impl Default for IdempotentMethods {
    fn default() -> Self {
        Self::parse(DEFAULT_IDEMPOTENT_METHODS).unwrap_or_else(|_| Self::none())
    }
}

impl IdempotentMethods {
    /// No method is retried.
    pub fn none() -> Self {
        Self {
            patterns: Vec::new(),
        }
    }

    /// Comma-separated patterns; `none` for no retries at all.
    pub fn parse(spec: &str) -> Result<Self, String> {
        if spec.trim().eq_ignore_ascii_case("none") {
            return Ok(Self::none());
        }
        let patterns = spec
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let p = p.trim_start_matches('/');
                let (text, prefix) = match p.strip_suffix('*') {
                    Some(text) => (text, true),
                    None => (p, false),
                };
                let valid = text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/'));
                if !valid || (text.is_empty() && !prefix) {
                    return Err(format!(
                        "{p:?} is not a method name, `Prefix*` or `package.Service/Method`"
                    ));
                }
                Ok(Pattern {
                    whole_path: text.contains(['/', '.']),
                    text: text.to_owned(),
                    prefix,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether the call to `path` (`/package.Service/Method`) may be sent twice.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches('/');
        let method = path.rsplit('/').next().unwrap_or(path);
        self.patterns.iter().any(|pattern| {
            let subject = if pattern.whole_path { path } else { method };
            if pattern.prefix {
                subject.starts_with(&pattern.text)
            } else {
                subject == pattern.text
            }
        })
    }
}

/// How one attempt ended, as far as balancing goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The server answered (any status but UNAVAILABLE).
    Answered,
    /// No answer from the server, or UNAVAILABLE before any message: the endpoint failed, and a
    /// read may go to another one.
    Unavailable,
    /// The caller's deadline ran out.
    DeadlineExceeded,
}

/// What a response's headers say. A server that cannot take a call answers at once with a
/// trailers-only response, its `grpc-status` in the headers; a proxy in between answers with an
/// HTTP 502/503/504, which gRPC clients read as UNAVAILABLE too.
pub(crate) fn classify_response<B>(response: &http::Response<B>) -> Verdict {
    let grpc_unavailable = response
        .headers()
        .get("grpc-status")
        .is_some_and(|status| status.as_bytes() == b"14");
    let http_unavailable = matches!(response.status().as_u16(), 502..=504);
    if grpc_unavailable || http_unavailable {
        Verdict::Unavailable
    } else {
        Verdict::Answered
    }
}

/// What a transport error says: the channel's own timer (tonic's `TimeoutExpired`) is our
/// deadline; anything else (refused, reset, closed connection) is the endpoint failing.
pub(crate) fn classify_error(error: &(dyn StdError + 'static)) -> Verdict {
    let mut source = Some(error);
    while let Some(err) = source {
        if err.is::<tonic::TimeoutExpired>() {
            return Verdict::DeadlineExceeded;
        }
        source = err.source();
    }
    Verdict::Unavailable
}

/// A request whose body is held in memory, so it can be sent again. A gRPC request body is a
/// stream that can be read once; a unary request's is one small message.
pub(crate) struct Replayable {
    parts: http::request::Parts,
    body: Bytes,
}

impl Replayable {
    /// Reads the whole body. Only for unary and server-streaming methods: a client stream that
    /// never ends would be waited on forever, which is why only matching methods get here.
    pub(crate) async fn buffer(request: http::Request<Body>) -> Result<Self, tonic::Status> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Self { parts, body })
    }

    /// A fresh copy of the request to send.
    pub(crate) fn request(&self) -> http::Request<Body> {
        http::Request::from_parts(self.parts.clone(), Body::new(Full::new(self.body.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_idempotent_by_default_and_writes_are_not() {
        let reads = IdempotentMethods::default();
        for path in [
            "/mesh.menu.v1.MenuService/GetMenuItem",
            "/mesh.menu.v1.MenuService/ListMenuItems",
            "/mesh.menu.v1.MenuService/BatchGetMenuItems",
            "/grpc.health.v1.Health/Check",
        ] {
            assert!(reads.matches(path), "{path}");
        }
        for path in [
            "/mesh.menu.v1.MenuService/CreateMenuItem",
            "/mesh.order.v1.OrderService/CreateOrder",
            "/mesh.delivery.v1.DeliveryService/UpdateStatus",
            "/grpc.health.v1.Health/Watch",
            "/mesh.x.v1.Getter/Delete",
        ] {
            assert!(!reads.matches(path), "{path}");
        }
    }

    #[test]
    fn a_pattern_with_a_package_is_matched_against_the_whole_path() {
        let methods =
            IdempotentMethods::parse("mesh.order.v1.OrderService/CreateOrder, /mesh.menu.v1.*")
                .expect("valid");
        assert!(methods.matches("/mesh.order.v1.OrderService/CreateOrder"));
        assert!(!methods.matches("/mesh.other.v1.OrderService/CreateOrder"));
        assert!(methods.matches("/mesh.menu.v1.MenuService/DeleteMenuItem"));
    }

    #[test]
    fn none_retries_nothing_and_nonsense_is_refused() {
        let none = IdempotentMethods::parse("none").expect("valid");
        assert!(!none.matches("/grpc.health.v1.Health/Check"));
        assert!(IdempotentMethods::parse("Get*, Li st").is_err());
        assert!(IdempotentMethods::parse("G*et").is_err());
    }

    #[test]
    fn unavailable_answers_and_gateway_errors_are_failures_other_answers_are_not() {
        let response = |status: u16, grpc: Option<&str>| {
            let mut builder = http::Response::builder().status(status);
            if let Some(code) = grpc {
                builder = builder.header("grpc-status", code);
            }
            builder.body(()).expect("response")
        };
        assert_eq!(classify_response(&response(200, None)), Verdict::Answered);
        assert_eq!(
            classify_response(&response(200, Some("5"))),
            Verdict::Answered
        );
        assert_eq!(
            classify_response(&response(200, Some("14"))),
            Verdict::Unavailable
        );
        assert_eq!(
            classify_response(&response(503, None)),
            Verdict::Unavailable
        );
    }

    #[test]
    fn the_channel_timer_is_a_deadline_and_other_errors_are_the_endpoint() {
        #[derive(Debug)]
        struct Wrapped(tonic::TimeoutExpired);
        impl std::fmt::Display for Wrapped {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl StdError for Wrapped {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            classify_error(&Wrapped(tonic::TimeoutExpired(()))),
            Verdict::DeadlineExceeded
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(classify_error(&refused), Verdict::Unavailable);
    }

    #[tokio::test]
    async fn a_buffered_request_is_sent_again_byte_for_byte() {
        let request = http::Request::builder()
            .uri("/mesh.menu.v1.MenuService/GetMenuItem")
            .header("x-request-id", "r-1")
            .body(Body::new(Full::new(Bytes::from_static(
                b"\0\0\0\0\x02\x0a\x00",
            ))))
            .expect("request");
        let replay = Replayable::buffer(request).await.expect("buffers");
        for _ in 0..2 {
            let copy = replay.request();
            assert_eq!(copy.uri().path(), "/mesh.menu.v1.MenuService/GetMenuItem");
            assert_eq!(copy.headers()["x-request-id"], "r-1");
            let body = copy.into_body().collect().await.expect("body").to_bytes();
            assert_eq!(&body[..], b"\0\0\0\0\x02\x0a\x00");
        }
    }
}
