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

use crate::backends::Backend;

/// What went wrong, as every client of the gateway sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    /// An illegal state transition (a delivery skipping a step) or a stale write.
    FailedPrecondition,
    AlreadyExists,
    Unauthenticated,
    PermissionDenied,
    ResourceExhausted,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    Unimplemented,
    /// A backend (or the broker) cannot be reached.
    Unavailable,
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
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Unimplemented => "UNIMPLEMENTED",
            Self::Unavailable => "UNAVAILABLE",
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
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
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
            Code::PermissionDenied => Self::PermissionDenied,
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

    /// What the client sees of a failed call to `backend`.
    pub fn from_status(backend: Backend, status: &tonic::Status) -> Self {
        let code = ErrorCode::from_grpc(status.code());
        if code.is_client_error() {
            return Self::new(code, status.message());
        }
        tracing::warn!(
            backend = backend.name(),
            grpc_code = ?status.code(),
            grpc_message = status.message(),
            "backend call failed"
        );
        let message = match code {
            ErrorCode::Unavailable => {
                format!("{} is unavailable, try again shortly", backend.name())
            }
            ErrorCode::DeadlineExceeded => format!("{} did not answer in time", backend.name()),
            ErrorCode::Unimplemented => format!("{} does not support this yet", backend.name()),
            _ => "internal error".to_owned(),
        };
        Self::new(code, message)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'static str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: &self.message,
            },
        };
        (self.code.http_status(), Json(body)).into_response()
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
        let err = ApiError::from_status(Backend::Inventory, &status);
        assert_eq!(err.message, "internal error");
        let status = tonic::Status::unavailable("tcp connect error: Connection refused");
        let err = ApiError::from_status(Backend::Inventory, &status);
        assert_eq!(err.code, ErrorCode::Unavailable);
        assert_eq!(
            err.message,
            "inventory-service is unavailable, try again shortly"
        );
    }

    #[test]
    fn client_mistakes_keep_the_backend_message() {
        let status = tonic::Status::invalid_argument("title: is required");
        let err = ApiError::from_status(Backend::Inventory, &status);
        assert_eq!(err, ApiError::invalid("title", "is required"));
    }
}
