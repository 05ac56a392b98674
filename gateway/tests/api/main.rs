//! The gateway end to end: real HTTP in front of real gRPC services on real PostgreSQL.

mod auth;
mod balance;
mod billing;
mod contract;
mod crash;
mod edge;
mod graphql;
mod graphql_conventions;
mod helpers;
mod http;
mod menu;
mod mesh;
mod movies;
mod openapi;
mod orders;
mod orders_graphql;
mod readiness;
mod service_metrics;
mod traces;
