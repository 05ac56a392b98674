//! menu-service settings: what it reads from the environment ([`Settings`], with defaults that
//! work on a developer machine) and what it runs with ([`Config`]).

use std::net::SocketAddr;

use mesh_kit::{
    config::{ConfigError, DatabaseConfig, DatabaseSettings, database_name},
    grpc::ServeConfig,
    startup::ServiceSettings,
};

/// Everything menu-service reads (`menu-service --print-settings` lists it).
#[derive(Clone, Debug, clap::Parser)]
#[command(
    version,
    about = "The restaurant menu over gRPC (mesh.menu.v1.MenuService)."
)]
pub struct Settings {
    /// The address the gRPC API listens on.
    #[arg(long, env = "MENU_ADDR", default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
    /// The service's own database on the PG_URL server, created at start when missing.
    #[arg(long, env = "MENU_DB_NAME", default_value = "menu", value_parser = database_name)]
    pub db_name: String,
    /// Seed a dozen items into an empty menu at start.
    #[arg(long, env = "MENU_SEED", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub seed: bool,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub service: ServiceSettings,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub serve: ServeConfig,
    pub database: DatabaseConfig,
    /// Seed a dozen items into an empty menu at start.
    pub seed: bool,
}

impl Settings {
    pub fn config(&self) -> Result<Config, ConfigError> {
        Ok(Config {
            addr: self.addr,
            serve: self.service.serve()?,
            database: self.database.database(self.db_name.clone())?,
            seed: self.seed,
        })
    }
}
