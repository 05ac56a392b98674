//! Wires delivery-service: database, gRPC server, outbox relay and the consumer of order events,
//! all stopped together.

use std::net::SocketAddr;

use mesh_kit::{
    consumer::{EventConsumer, Subscription},
    db, event_store,
    grpc::GrpcServer,
    kafka::{DELIVERY_EVENTS, ORDER_EVENTS},
    relay::{OutboxSignal, Relay},
    startup::{self, Service, StartupError},
};
use mesh_proto::delivery::v1::delivery_service_server::DeliveryServiceServer;

use crate::{
    config::Config,
    db::{Deliveries, MIGRATIONS},
    events::{self, CONSUMER},
    grpc::DeliveryApi,
};

/// A delivery-service that is bound, migrated and subscribed, ready to serve.
pub struct Application {
    addr: SocketAddr,
    service: Service,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let pool = db::connect(&config.database, &[event_store::MIGRATIONS, MIGRATIONS]).await?;
        config
            .kafka
            .ensure_topics(&[ORDER_EVENTS, DELIVERY_EVENTS])
            .await?;
        let signal = OutboxSignal::new();
        // One producer for the relay and the dead letters.
        let producer = config.kafka.producer()?;
        let consumer = EventConsumer::new(
            &config.kafka,
            &Subscription {
                group: CONSUMER.to_owned(),
                topics: vec![ORDER_EVENTS],
            },
            producer.clone(),
        )?;
        let relay = Relay::new(
            pool.clone(),
            producer,
            config.kafka.clone(),
            "delivery-service",
            signal.clone(),
        );

        let listener = startup::bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        let api = DeliveryApi::new(pool.clone(), signal.clone());
        let mut service = Service::new(
            listener,
            GrpcServer::new()
                .with_tls(mesh_kit::tls::ServerTls::from_env()?)
                .add_service(DeliveryServiceServer::new(api)),
        );
        service.spawn(|stop| relay.run(stop.wait()));
        let handler = events::dispatcher(pool, signal);
        service.spawn(|stop| consumer.run(handler, stop.wait()));
        Ok(Self { addr, service })
    }

    /// The address it listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        self.service.run_until_stopped(shutdown).await
    }
}

/// `delivery-service rebuild-projection`: rewrites `deliveries` from the events.
pub async fn rebuild_projection(config: &Config) -> Result<(), StartupError> {
    startup::rebuild_projection::<Deliveries>(
        &config.database,
        &[event_store::MIGRATIONS, MIGRATIONS],
    )
    .await
}
