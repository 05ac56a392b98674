//! The contract's messages as the gateway's GraphQL types, generated from `proto/` by
//! `build.rs`: `MenuItem`, `Movie`, `Order` and its lines and history, `Delivery`, `Payment`,
//! and their enums, each with `TryFrom` its proto message. A field added in `proto/` appears here,
//! and so in the GraphQL schema, with no code of ours.

use chrono::{DateTime, Utc};

use crate::error::ApiError;

include!(concat!(env!("OUT_DIR"), "/graphql_types.rs"));

/// An enum value the contract does not give (or its zero value, which means "unset"): a backend
/// broke the contract. Answered as an internal error, logged with what was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{enumeration} has no value {value}")]
pub struct Unmapped {
    pub enumeration: &'static str,
    pub value: i32,
}

impl From<Unmapped> for ApiError {
    fn from(unmapped: Unmapped) -> Self {
        tracing::error!(%unmapped, "a backend answered outside its contract");
        ApiError::internal()
    }
}

/// A timestamp from a backend; a missing or invalid one reads as the epoch rather than failing
/// the whole answer.
pub(crate) fn datetime(timestamp: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    timestamp
        .and_then(mesh_proto::from_timestamp)
        .unwrap_or_default()
}
