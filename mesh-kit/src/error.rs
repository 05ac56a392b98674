//! Errors every service shares, each with its one mapping to a gRPC status.

use std::borrow::Cow;

use tonic::Status;

/// A request field that does not parse. Always `INVALID_ARGUMENT`, naming the field
/// (`price_cents`, or `items[2].quantity` for an element of a list).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    pub field: Cow<'static, str>,
    pub reason: String,
}

impl InvalidField {
    pub fn new(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<InvalidField> for Status {
    fn from(err: InvalidField) -> Self {
        Status::invalid_argument(err.to_string())
    }
}

/// The database failed us. The details are logged, never shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

impl From<diesel_async::pooled_connection::bb8::RunError> for StoreError {
    fn from(err: diesel_async::pooled_connection::bb8::RunError) -> Self {
        Self::Pool(err.to_string())
    }
}

impl From<StoreError> for Status {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "database error");
        match err {
            // The pool timed out or the server is gone: the caller may retry.
            StoreError::Pool(_) => Status::unavailable("database unavailable, try again"),
            StoreError::Query(_) => Status::internal("internal error"),
        }
    }
}
