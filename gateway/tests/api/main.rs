//! The gateway end to end: real HTTP in front of real gRPC services on real PostgreSQL.

mod billing;
mod crash;
mod graphql;
mod helpers;
mod http;
mod menu;
mod mesh;
mod movies;
mod orders;
mod orders_graphql;
