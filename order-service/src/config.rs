//! order-service settings, from the environment with defaults that work locally.

use std::net::SocketAddr;

use mesh_kit::{
    config::{self, ConfigError, DatabaseConfig, var_or},
    kafka::KafkaConfig,
};

#[derive(Clone, Debug)]
pub struct Config {
    /// `ORDER_ADDR`, default `127.0.0.1:50052`.
    pub addr: SocketAddr,
    /// `PG_URL` + `ORDER_DB_NAME` (default `orders`).
    pub database: DatabaseConfig,
    pub kafka: KafkaConfig,
    /// `MENU_URL`: where prices come from (default `http://127.0.0.1:50051`): one URL, or several
    /// comma-separated to balance over (`BALANCE_*` variables tune the balancer).
    pub menu_url: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: config::listen_addr("ORDER", 50052)?,
            database: DatabaseConfig::from_env("ORDER", "orders")?,
            kafka: KafkaConfig::from_env()?,
            menu_url: var_or("MENU_URL", "http://127.0.0.1:50051"),
        })
    }
}
