//! delivery-service settings, from the environment with defaults that work locally.

use std::net::SocketAddr;

use mesh_kit::{
    config::{self, ConfigError, DatabaseConfig},
    kafka::KafkaConfig,
};

#[derive(Clone, Debug)]
pub struct Config {
    /// `DELIVERY_ADDR`, default `127.0.0.1:50053`.
    pub addr: SocketAddr,
    /// `PG_URL` + `DELIVERY_DB_NAME` (default `delivery`).
    pub database: DatabaseConfig,
    pub kafka: KafkaConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: config::listen_addr("DELIVERY", 50053)?,
            database: DatabaseConfig::from_env("DELIVERY", "delivery")?,
            kafka: KafkaConfig::from_env()?,
        })
    }
}
