//! delivery-service owns deliveries: opened when an order is paid, moved by couriers through
//! `PENDING → ASSIGNED → PICKED_UP → IN_TRANSIT → DELIVERED`, or `FAILED`. Each delivery is
//! event-sourced (its state is the fold of its events) and every change is published on
//! `delivery-events`, where order-service follows it.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::{build, service};
