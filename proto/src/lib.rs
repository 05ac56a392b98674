//! The mesh's contracts: one module per `mesh.<service>.v1` package, generated from `proto/`.
//!
//! Nobody hand-writes these types. Services keep them at their edges (`grpc.rs`, the gateway's
//! clients); domain code never sees them.

mod bounds;
pub mod codec;
pub mod descriptors;
pub mod dynamic_codec;
pub mod json;
pub mod read_mask;
pub mod rules;
mod words;

/// The message traits services need (`M::full_name()`, `encode_to_vec`), so they need not
/// depend on prost themselves.
pub use prost::{Message, Name};

use chrono::{DateTime, Utc};

/// A `google.protobuf.Timestamp` for `time`.
pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        // Always below 2e9 (leap seconds included), so it fits an i32.
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}

/// The instant a `google.protobuf.Timestamp` names, if it is a valid one.
pub fn from_timestamp(timestamp: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

/// Every `mesh.*` file compiled into one descriptor set, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("mesh_descriptor");

pub mod api {
    pub mod v1 {
        tonic::include_proto!("mesh.api.v1");
    }
}

pub mod menu {
    pub mod v1 {
        tonic::include_proto!("mesh.menu.v1");
    }
}

pub mod inventory {
    pub mod v1 {
        tonic::include_proto!("mesh.inventory.v1");
    }
}

pub mod order {
    pub mod v1 {
        tonic::include_proto!("mesh.order.v1");
    }
}

pub mod delivery {
    pub mod v1 {
        tonic::include_proto!("mesh.delivery.v1");
    }
}

pub mod billing {
    pub mod v1 {
        tonic::include_proto!("mesh.billing.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("mesh.events.v1");
    }
}
