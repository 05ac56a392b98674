//! inventory-service owns the movie catalog of the streaming platform: movies with integer ids,
//! a title and a description, searchable by a case-insensitive substring of the title.
//! Served over gRPC as `mesh.inventory.v1.InventoryService`; `/api/movies` in the gateway.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::Application;
