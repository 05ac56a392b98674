//! billing-service's one error type and its one mapping to a gRPC status.

use mesh_kit::{InvalidField, StoreError};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// Not recorded (yet): billing has not seen the order, or the request is still queued.
    #[error("{0}")]
    NotFound(String),
    /// The name is taken by something else: a request id reserved for another request.
    #[error("{0}")]
    AlreadyExists(String),
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

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(err) => err.into(),
            Error::NotFound(message) => Status::not_found(message),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::Store(err) => err.into(),
        }
    }
}
