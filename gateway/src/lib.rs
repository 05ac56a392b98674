//! The gateway: the mesh's only HTTP face. REST routes users already have in their Postman
//! collections, GraphQL with GraphiQL, and health, all resolved by calling the gRPC services.
//! It holds no business data.

pub mod auth;
pub mod backends;
pub mod billing_queue;
pub mod config;
pub mod contract;
pub mod error;
pub mod feed;
pub mod http;
pub mod metrics;
pub mod model;
pub mod request_id;
pub mod startup;
pub mod updates;

pub use config::{Config, Settings};
pub use startup::Application;
