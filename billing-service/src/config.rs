//! billing-service settings, from the environment with defaults that work locally.

use std::net::SocketAddr;

use mesh_kit::{
    config::{self, ConfigError, DatabaseConfig, parse_or},
    kafka::KafkaConfig,
};

#[derive(Clone, Debug)]
pub struct Config {
    /// `BILLING_ADDR`, default `127.0.0.1:50055`.
    pub addr: SocketAddr,
    /// `PG_URL` + `BILLING_DB_NAME` (default `billing`).
    pub database: DatabaseConfig,
    pub kafka: KafkaConfig,
    /// `BILLING_PAYMENT_LIMIT_CENTS`: the simulated provider approves payments up to this
    /// amount and declines anything above (default 100000, i.e. 1000.00).
    pub payment_limit_cents: i64,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: config::listen_addr("BILLING", 50055)?,
            database: DatabaseConfig::from_env("BILLING", "billing")?,
            kafka: KafkaConfig::from_env()?,
            payment_limit_cents: parse_or("BILLING_PAYMENT_LIMIT_CENTS", 100_000)?,
        })
    }
}
