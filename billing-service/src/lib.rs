//! billing-service: charges each placed order once through a [`provider::PaymentProvider`] and
//! publishes the outcome on `billing-events`; stores each billing request queued on
//! `billing-requests` once, whenever it runs, so a billing outage loses nothing.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod provider;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::{build, service};
