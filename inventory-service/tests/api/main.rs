//! inventory-service over real gRPC and a real PostgreSQL database per test.

mod helpers;
mod movies;
