//! The gateway's one error map. An [`ErrorCode`] pairs a gRPC code with its HTTP status and its
//! GraphQL `extensions.code`, so a backend's NOT_FOUND is a 404 over REST and `NOT_FOUND` over
//! GraphQL, decided here and nowhere else.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tonic::Code;
use utoipa::ToSchema;

/// What went wrong, as every client of the gateway sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    /// An illegal state transition (a delivery skipping a step) or a stale write.
    FailedPrecondition,
    AlreadyExists,
    /// No token where one is needed, or one that does not verify (401).
    Unauthenticated,
    /// A valid token without the right (403).
    Forbidden,
    ResourceExhausted,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    Unimplemented,
    /// A backend (or the broker) cannot be reached; nothing happened, retrying is safe.
    Unavailable,
    /// The connection to a backend broke mid-call: whether the change happened is unknown
    /// (retry with the same `Idempotency-Key`).
    BadGateway,
    /// A backend did not answer within the deadline.
    DeadlineExceeded,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::NotFound => "NOT_FOUND",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Unimplemented => "UNIMPLEMENTED",
            Self::Unavailable => "UNAVAILABLE",
            Self::BadGateway => "BAD_GATEWAY",
            Self::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Self::Internal => "INTERNAL",
        }
    }

    pub fn http_status(self) -> StatusCode {
        match self {
            Self::InvalidArgument => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::FailedPrecondition | Self::AlreadyExists => StatusCode::CONFLICT,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The gateway's view of a backend's gRPC code.
    pub fn from_grpc(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidArgument,
            Code::NotFound => Self::NotFound,
            // ABORTED is a lost optimistic-concurrency race: the client may retry, like a 409.
            Code::FailedPrecondition | Code::Aborted => Self::FailedPrecondition,
            Code::AlreadyExists => Self::AlreadyExists,
            Code::Unauthenticated => Self::Unauthenticated,
            Code::PermissionDenied => Self::Forbidden,
            Code::ResourceExhausted => Self::ResourceExhausted,
            Code::Unimplemented => Self::Unimplemented,
            Code::Unavailable | Code::Cancelled => Self::Unavailable,
            Code::DeadlineExceeded => Self::DeadlineExceeded,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => Self::Internal,
        }
    }

    /// Whether the message may be shown as the backend wrote it: client mistakes, yes; our own
    /// failures, never (they are logged instead).
    fn is_client_error(self) -> bool {
        self.http_status().is_client_error()
    }
}

/// An error answered to a client: `{"error": {"code", "message"}}` over REST, a GraphQL error
/// with `extensions.code` over GraphQL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Bad input, naming the field: `"id: must be a positive integer"`.
    pub fn invalid(field: &str, reason: &str) -> Self {
        Self::new(ErrorCode::InvalidArgument, format!("{field}: {reason}"))
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// What the client sees of a failed call to `backend` (its name: `menu-service`).
    pub fn from_status(backend: &'static str, status: &tonic::Status) -> Self {
        // A status with a Rust error source was made on our side of the wire: the client's
        // transport failed (connection reset mid-call, a backend killed while answering). A
        // backend's own UNKNOWN never has one.
        let code = match status.code() {
            Code::Unknown if std::error::Error::source(status).is_some() => ErrorCode::BadGateway,
            code => ErrorCode::from_grpc(code),
        };
        if code.is_client_error() {
            return Self::new(code, status.message());
        }
        tracing::warn!(
            backend,
            grpc_code = ?status.code(),
            grpc_message = status.message(),
            "backend call failed"
        );
        let message = match code {
            ErrorCode::Unavailable => {
                format!("{backend} is unavailable, try again shortly")
            }
            ErrorCode::DeadlineExceeded => format!("{backend} did not answer in time"),
            ErrorCode::BadGateway => format!(
                "the connection to {} broke mid-call; the outcome is unknown, retry (with the same \
                 Idempotency-Key where the route takes one)",
                backend
            ),
            ErrorCode::Unimplemented => format!("{backend} does not support this yet"),
            _ => "internal error".to_owned(),
        };
        Self::new(code, message)
    }
}

/// The body of every REST error: `{"error": {"code", "message"}}`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "NOT_FOUND", "message": "no order 5d0c6f3e-…"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The gRPC-style code; the same string GraphQL puts in `extensions.code`.
    pub code: ErrorCode,
    /// For people: names the field or the states involved.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.code.http_status(), Json(body)).into_response();
        if self.code == ErrorCode::Unauthenticated {
            // RFC 6750: a 401 names the scheme that would work.
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"mesh\""),
            );
        }
        response
    }
}

impl async_graphql::ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.message.clone())
            .extend_with(|_, extensions| extensions.set("code", self.code.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_the_http_status_that_fits() {
        let status = |code| ErrorCode::from_grpc(code).http_status().as_u16();
        assert_eq!(status(Code::InvalidArgument), 400);
        assert_eq!(status(Code::NotFound), 404);
        assert_eq!(status(Code::FailedPrecondition), 409);
        assert_eq!(status(Code::Unavailable), 503);
        assert_eq!(status(Code::DeadlineExceeded), 504);
        assert_eq!(status(Code::Internal), 500);
    }

    #[test]
    fn server_side_failures_hide_the_backend_message() {
        let status = tonic::Status::internal("relation \"movies\" does not exist");
        let err = ApiError::from_status("inventory-service", &status);
        assert_eq!(err.message, "internal error");
        let status = tonic::Status::unavailable("tcp connect error: Connection refused");
        let err = ApiError::from_status("inventory-service", &status);
        assert_eq!(err.code, ErrorCode::Unavailable);
        assert_eq!(
            err.message,
            "inventory-service is unavailable, try again shortly"
        );
    }

    #[test]
    fn a_connection_lost_mid_call_is_a_bad_gateway_not_a_500() {
        let broken = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let status = tonic::Status::from_error(Box::new(broken));
        assert_eq!(status.code(), Code::Unknown);
        let err = ApiError::from_status("order-service", &status);
        assert_eq!(err.code, ErrorCode::BadGateway);
        assert_eq!(err.code.http_status(), StatusCode::BAD_GATEWAY);
        // A backend's own UNKNOWN (no source) stays an internal error.
        let err = ApiError::from_status("order-service", &tonic::Status::unknown("boom"));
        assert_eq!(err.code, ErrorCode::Internal);
    }

    #[test]
    fn client_mistakes_keep_the_backend_message() {
        let status = tonic::Status::invalid_argument("title: is required");
        let err = ApiError::from_status("inventory-service", &status);
        assert_eq!(err, ApiError::invalid("title", "is required"));
    }
}
