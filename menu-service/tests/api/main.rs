//! menu-service over real gRPC and a real PostgreSQL database per test.

mod catalog;
mod helpers;
mod listing;
mod server;
