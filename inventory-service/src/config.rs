//! inventory-service settings, from the environment with defaults that work locally.

use std::net::SocketAddr;

use mesh_kit::config::{self, ConfigError, DatabaseConfig};

#[derive(Clone, Debug)]
pub struct Config {
    /// `INVENTORY_ADDR`, default `127.0.0.1:50054`.
    pub addr: SocketAddr,
    /// `PG_URL` + `INVENTORY_DB_NAME` (default `inventory`).
    pub database: DatabaseConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: config::listen_addr("INVENTORY", 50054)?,
            database: DatabaseConfig::from_env("INVENTORY", "inventory")?,
        })
    }
}
