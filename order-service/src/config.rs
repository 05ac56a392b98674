//! order-service settings: what it reads from the environment ([`Settings`], with defaults that
//! work on a developer machine) and what it runs with ([`Config`]).

use std::net::SocketAddr;

use mesh_kit::{
    balance::{BalanceConfig, BalanceSettings},
    config::{ConfigError, DatabaseConfig, DatabaseSettings, database_name},
    grpc::ServeConfig,
    startup::{Command, ServiceSettings},
};

use mesh_kafka::{KafkaConfig, KafkaSettings};

/// Everything order-service reads (`order-service --print-settings` lists it).
#[derive(Clone, Debug, clap::Parser)]
#[command(
    version,
    about = "Orders over gRPC (mesh.order.v1.OrderService), event-sourced."
)]
pub struct Settings {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The address the gRPC API listens on.
    #[arg(long, env = "ORDER_ADDR", default_value = "127.0.0.1:50052")]
    pub addr: SocketAddr,
    /// The service's own database on the PG_URL server, created at start when missing.
    #[arg(long, env = "ORDER_DB_NAME", default_value = "orders", value_parser = database_name)]
    pub db_name: String,
    /// Where prices come from: menu-service's URL, or several comma-separated to balance over
    /// (a DNS name stands for every address it resolves to).
    #[arg(long, env = "MENU_URL", default_value = "http://127.0.0.1:50051")]
    pub menu_url: String,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub balance: BalanceSettings,
    #[command(flatten)]
    pub service: ServiceSettings,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub serve: ServeConfig,
    pub database: DatabaseConfig,
    pub kafka: KafkaConfig,
    /// Where prices come from: one URL, or several comma-separated to balance over.
    pub menu_url: String,
    /// How the menu client balances and retries.
    pub balance: BalanceConfig,
}

impl Settings {
    pub fn config(&self) -> Result<Config, ConfigError> {
        Ok(Config {
            addr: self.addr,
            serve: self.service.serve()?,
            database: self.database.database(self.db_name.clone())?,
            kafka: self.kafka.config()?,
            menu_url: self.menu_url.clone(),
            balance: self.balance.config(self.service.tls.client()?),
        })
    }
}
