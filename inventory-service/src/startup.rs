//! Builds the catalog's gRPC server on its database and runs it until told to stop.

use std::net::SocketAddr;

use mesh_kit::{
    db,
    grpc::GrpcServer,
    startup::{self, StartupError},
};
use mesh_proto::inventory::v1::inventory_service_server::InventoryServiceServer;
use tokio::net::TcpListener;

use crate::{config::Config, db::MIGRATIONS, grpc::InventoryApi};

/// An inventory-service that is bound and migrated, ready to serve.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    server: GrpcServer,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let pool = db::connect(&config.database, &[&MIGRATIONS]).await?;
        let listener = startup::bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        let server = GrpcServer::new()
            .with(&config.serve)
            .add_service(InventoryServiceServer::new(InventoryApi::new(pool)));
        Ok(Self {
            listener,
            addr,
            server,
        })
    }

    /// The address it listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        Ok(self.server.serve(self.listener, shutdown).await?)
    }
}
