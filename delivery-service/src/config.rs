//! delivery-service settings: what it reads from the environment ([`Settings`], with defaults
//! that work on a developer machine) and what it runs with ([`Config`]).

use std::net::SocketAddr;

use mesh_kit::{
    config::{ConfigError, DatabaseConfig, DatabaseSettings, database_name},
    grpc::ServeConfig,
    startup::{Command, ServiceSettings},
};

use mesh_kafka::{KafkaConfig, KafkaSettings};

/// Everything delivery-service reads (`delivery-service --print-settings` lists it).
#[derive(Clone, Debug, clap::Parser)]
#[command(
    version,
    about = "Deliveries over gRPC (mesh.delivery.v1.DeliveryService), event-sourced."
)]
pub struct Settings {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The address the gRPC API listens on.
    #[arg(long, env = "DELIVERY_ADDR", default_value = "127.0.0.1:50053")]
    pub addr: SocketAddr,
    /// The service's own database on the PG_URL server, created at start when missing.
    #[arg(long, env = "DELIVERY_DB_NAME", default_value = "delivery", value_parser = database_name)]
    pub db_name: String,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub service: ServiceSettings,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub serve: ServeConfig,
    pub database: DatabaseConfig,
    pub kafka: KafkaConfig,
}

impl Settings {
    pub fn config(&self) -> Result<Config, ConfigError> {
        Ok(Config {
            addr: self.addr,
            serve: self.service.serve()?,
            database: self.database.database(self.db_name.clone())?,
            kafka: self.kafka.config()?,
        })
    }
}
