//! delivery-service's one error type and its one mapping to a gRPC status.

use mesh_kit::{InvalidField, StoreError};

use mesh_events::event_store::AppendError;
use tonic::Status;
use uuid::Uuid;

use crate::domain::{HeldByAnother, IllegalTransition, MoveRefused};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No delivery for this order: it does not exist or is not paid yet.
    #[error("no delivery for order {0}")]
    NotFound(Uuid),
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// Another courier holds the delivery and no admin asked to reassign it.
    #[error(transparent)]
    Held(#[from] HeldByAnother),
    /// A concurrent writer appended first; the client may retry.
    #[error("the delivery of order {0} changed while we were updating it; try again")]
    Conflict(Uuid),
    /// Something we stored does not make sense. Logged, never shown.
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

impl From<MoveRefused> for Error {
    fn from(err: MoveRefused) -> Self {
        match err {
            MoveRefused::Illegal(err) => err.into(),
            MoveRefused::Held(err) => err.into(),
        }
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
            Error::Illegal(_) | Error::Held(_) => Status::failed_precondition(err.to_string()),
            Error::Conflict(_) => Status::aborted(err.to_string()),
            Error::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                Status::internal("internal error")
            }
            Error::Store(err) => err.into(),
        }
    }
}
