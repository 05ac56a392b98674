//! Plumbing every mesh binary shares, so none repeats it: typed settings, tracing, the request
//! context, the gRPC server (health, reflection, request ids, graceful shutdown) and its client
//! side (a health-aware, per-request balancer with retries and a circuit breaker), TLS, metrics,
//! and the PostgreSQL pool with embedded migrations. No Kafka: that is `mesh-kafka` (the gateway
//! and the event-sourced services), and event sourcing is `mesh-events` (those services only).

pub mod balance;
pub mod batch;
pub mod config;
pub mod context;
#[cfg(feature = "db")]
pub mod db;
#[cfg(feature = "db")]
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod settings;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod tls;

pub use edge_rules::{InvalidField, text};
#[cfg(feature = "db")]
pub use error::StoreError;
