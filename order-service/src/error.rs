//! order-service's one error type and its one mapping to a gRPC status.

use mesh_kit::{InvalidField, StoreError};

use mesh_events::event_store::AppendError;
use tonic::Status;
use uuid::Uuid;

use crate::domain::IllegalTransition;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    #[error("order {0} not found")]
    NotFound(Uuid),
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// A concurrent writer appended first; the client may retry.
    #[error("order {0} changed while we were updating it; try again")]
    Conflict(Uuid),
    /// Another request with the same idempotency key is being placed right now.
    #[error("an order with this idempotency key is being placed; try again")]
    IdempotencyRace,
    /// The idempotency key placed a different order (another customer, address or lines).
    #[error("this idempotency key was already used for a different order")]
    IdempotencyKeyReused,
    #[error("menu-service is unavailable, try again shortly")]
    MenuUnavailable,
    /// Something we stored or were sent does not make sense. Logged, never shown.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        Self::Store(err.into())
    }
}

impl From<diesel_async::pooled_connection::bb8::RunError> for Error {
    fn from(err: diesel_async::pooled_connection::bb8::RunError) -> Self {
        Self::Store(err.into())
    }
}

impl From<AppendError> for Error {
    fn from(err: AppendError) -> Self {
        match err {
            AppendError::Conflict { aggregate_id, .. } => Self::Conflict(aggregate_id),
            AppendError::Store(err) => Self::Store(err.into()),
            AppendError::Encode(err) => Self::Internal(err.to_string()),
            AppendError::NotAStart(reason) => Self::Internal(reason),
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(err) => err.into(),
            Error::NotFound(_) => Status::not_found(err.to_string()),
            Error::Illegal(_) => Status::failed_precondition(err.to_string()),
            Error::IdempotencyKeyReused => Status::already_exists(err.to_string()),
            Error::Conflict(_) | Error::IdempotencyRace => Status::aborted(err.to_string()),
            Error::MenuUnavailable => Status::unavailable(err.to_string()),
            Error::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                Status::internal("internal error")
            }
            Error::Store(err) => err.into(),
        }
    }
}
