//! menu-service owns the restaurant menu: items, their prices in integer cents, categories and
//! availability. Other services read it over gRPC (`mesh.menu.v1.MenuService`); order-service
//! takes its prices from here, never from the client.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod seed;
pub mod startup;

pub use config::{Config, Settings};
pub use startup::Application;
