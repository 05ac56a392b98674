//! menu-service over real gRPC and a real PostgreSQL database per test.

mod allergens;
mod catalog;
mod helpers;
mod listing;
mod server;
