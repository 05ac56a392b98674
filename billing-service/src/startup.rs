//! Wires billing-service: database, gRPC server, outbox relay and one consumer of
//! `order-events` and `billing-requests`, all stopped together.

use std::net::SocketAddr;

use mesh_kit::{
    consumer::{EventConsumer, Subscription},
    db, event_store,
    grpc::GrpcServer,
    kafka::{BILLING_EVENTS, BILLING_REQUESTS, ORDER_EVENTS},
    relay::{OutboxSignal, Relay},
    startup::{self, Service, StartupError},
};
use mesh_proto::billing::v1::billing_service_server::BillingServiceServer;

use crate::{
    config::Config,
    db::{MIGRATIONS, Payments},
    events::{self, PAYMENTS_CONSUMER},
    grpc::BillingApi,
    provider::SimulatedProvider,
};

/// A billing-service that is bound, migrated and subscribed, ready to serve.
pub struct Application {
    addr: SocketAddr,
    service: Service,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let pool = db::connect(&config.database, &[event_store::MIGRATIONS, MIGRATIONS]).await?;
        config
            .kafka
            .ensure_topics(&[ORDER_EVENTS, BILLING_EVENTS, BILLING_REQUESTS])
            .await?;
        let signal = OutboxSignal::new();
        // One consumer for both topics: every consumer costs the broker a fetch loop.
        // One producer for the relay and the dead letters.
        let producer = config.kafka.producer()?;
        let consumer = EventConsumer::new(
            &config.kafka,
            &Subscription {
                group: PAYMENTS_CONSUMER.to_owned(),
                topics: vec![ORDER_EVENTS, BILLING_REQUESTS],
            },
            producer.clone(),
        )?;
        let relay = Relay::new(
            pool.clone(),
            producer,
            config.kafka.clone(),
            "billing-service",
            signal.clone(),
        );

        let listener = startup::bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        let mut service = Service::new(
            listener,
            GrpcServer::new()
                .with_tls(mesh_kit::tls::ServerTls::from_env()?)
                .add_service(BillingServiceServer::new(BillingApi::new(pool.clone()))),
        );
        service.spawn(|stop| relay.run(stop.wait()));
        let provider = SimulatedProvider {
            limit_cents: config.payment_limit_cents,
        };
        let handler = events::dispatcher(pool, provider, signal);
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

/// `billing-service rebuild-projection`: rewrites `payments` from the events.
pub async fn rebuild_projection(config: &Config) -> Result<(), StartupError> {
    startup::rebuild_projection::<Payments>(
        &config.database,
        &[event_store::MIGRATIONS, MIGRATIONS],
    )
    .await
}
