//! menu-service settings, from the environment with defaults that work on a developer machine.

use std::net::SocketAddr;

use mesh_kit::config::{self, ConfigError, DatabaseConfig};

#[derive(Clone, Debug)]
pub struct Config {
    /// `MENU_ADDR`, default `127.0.0.1:50051`.
    pub addr: SocketAddr,
    /// `PG_URL` + `MENU_DB_NAME` (default `menu`).
    pub database: DatabaseConfig,
    /// `MENU_SEED`: seed a dozen items into an empty menu at start (default true).
    pub seed: bool,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: config::listen_addr("MENU", 50051)?,
            database: DatabaseConfig::from_env("MENU", "menu")?,
            seed: config::flag_or("MENU_SEED", true)?,
        })
    }
}
