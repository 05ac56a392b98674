//! order-service owns orders: placed with prices taken from the menu, then paid, delivered or
//! cancelled. Each order is event-sourced (its state is the fold of its events); every change is
//! published on `order-events`, and payments and deliveries move it along.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod menu;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::{build, service};
