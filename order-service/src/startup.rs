//! Wires order-service: database, menu client, gRPC server, outbox relay and the consumer of
//! payment and delivery events, all stopped together.

use std::net::SocketAddr;

use mesh_kit::{
    balance::BalanceConfig,
    consumer::{EventConsumer, Subscription},
    db, event_store,
    grpc::GrpcServer,
    kafka::{BILLING_EVENTS, DELIVERY_EVENTS, ORDER_EVENTS},
    relay::{OutboxSignal, Relay},
    startup::{self, Service, StartupError},
};
use mesh_proto::order::v1::order_service_server::OrderServiceServer;

use crate::{
    config::Config,
    db::{MIGRATIONS, Orders},
    events::{self, CONSUMER},
    grpc::OrderApi,
    menu::MenuClient,
};

/// An order-service that is bound, migrated and subscribed, ready to serve.
pub struct Application {
    addr: SocketAddr,
    service: Service,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let pool = db::connect(&config.database, &[event_store::MIGRATIONS, MIGRATIONS]).await?;
        config
            .kafka
            .ensure_topics(&[ORDER_EVENTS, BILLING_EVENTS, DELIVERY_EVENTS])
            .await?;
        let menu = MenuClient::new(&config.menu_url, BalanceConfig::from_env()?)
            .map_err(|err| StartupError::Other(format!("MENU_URL {:?}: {err}", config.menu_url)))?;
        let signal = OutboxSignal::new();
        // One producer for the relay and the dead letters.
        let producer = config.kafka.producer()?;
        let consumer = EventConsumer::new(
            &config.kafka,
            &Subscription {
                group: CONSUMER.to_owned(),
                topics: vec![BILLING_EVENTS, DELIVERY_EVENTS],
            },
            producer.clone(),
        )?;
        let relay = Relay::new(
            pool.clone(),
            producer,
            config.kafka.clone(),
            "order-service",
            signal.clone(),
        );

        let listener = startup::bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        let api = OrderApi::new(pool.clone(), menu, signal.clone());
        let mut service = Service::new(
            listener,
            GrpcServer::new()
                .with_tls(mesh_kit::tls::ServerTls::from_env()?)
                .add_service(OrderServiceServer::new(api)),
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

/// `order-service rebuild-projection`: rewrites `orders` and `order_lines` from the events.
pub async fn rebuild_projection(config: &Config) -> Result<(), StartupError> {
    startup::rebuild_projection::<Orders>(&config.database, &[event_store::MIGRATIONS, MIGRATIONS])
        .await
}
