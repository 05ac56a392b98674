//! Plumbing every mesh service shares, so no service repeats it: settings from the environment,
//! tracing, the gRPC server (health, reflection, request ids, graceful shutdown), the PostgreSQL
//! pool with embedded migrations, and the event plumbing: the event store with its outbox, the
//! relay that publishes it, and the consumer loop with its dead-letter topics; and the client
//! side of gRPC: a health-aware, per-request balancer with retries and a circuit breaker.

pub mod aggregate;
pub mod balance;
pub mod batch;
pub mod config;
pub mod consumer;
pub mod context;
pub mod db;
pub mod dispatch;
pub mod dlq;
pub mod error;
pub mod event_service;
pub mod event_store;
mod group_watch;
pub mod grpc;
pub mod kafka;
pub mod metrics;
pub mod producer;
pub mod relay;
pub mod schema;
pub mod settings;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod tls;

pub use edge_rules::{InvalidField, text};
pub use error::StoreError;
