//! The gateway: the mesh's only HTTP face. REST routes users already have in their Postman
//! collections, GraphQL with GraphiQL, and health, all resolved by calling the gRPC services.
//! It holds no business data.

pub mod api_docs;
pub mod auth;
pub mod backends;
pub mod billing_queue;
pub mod config;
pub mod edge;
pub mod error;
pub mod feed;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod model;
pub mod rate_limit;
pub mod request_id;
pub mod rest;
pub mod startup;
pub mod updates;
pub mod web_app;

pub use config::Config;
pub use startup::Application;
