//! Errors every service shares, each with its one mapping to a gRPC status (`InvalidField`'s
//! lives beside it in edge-rules).

use tonic::Status;

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
