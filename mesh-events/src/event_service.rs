//! The wiring every event-sourced service shares (order, billing, delivery), so a service states
//! only what is its own: its name, address, migrations, topics and subscription
//! ([`EventService`]), its gRPC API and its consumer's handler. The rest is the same for each:
//! the database migrated and pooled, the topics made, one producer for the relay and the dead
//! letters, one consumer (each costs the broker a fetch loop), and all of it started and stopped
//! with the server ([`mesh_kit::startup::Service`]).

use std::net::SocketAddr;

use mesh_kit::{
    config::DatabaseConfig,
    db::{self, EmbeddedMigrations, PgPool},
    grpc::{GrpcServer, ServeConfig},
    startup::{self, Service, StartupError},
};

use crate::{
    aggregate::{Aggregates, Projection},
    consumer::{EventConsumer, Handler, Subscription},
    event_store,
    kafka::KafkaConfig,
    relay::{OutboxSignal, Relay},
};

/// What an event-sourced service is.
pub struct EventService<'a> {
    /// Its name: the `ce_source` of the events its relay publishes.
    pub name: &'static str,
    pub addr: SocketAddr,
    pub serve: &'a ServeConfig,
    pub database: &'a DatabaseConfig,
    /// Its own migrations (its projections); the event store's run before them.
    pub migrations: &'static EmbeddedMigrations,
    pub kafka: &'a KafkaConfig,
    /// Every topic it writes or reads, made when missing.
    pub topics: &'a [&'static str],
    /// What its consumer reads.
    pub consumes: Subscription,
}

/// What a service's API and handler are made of: its pool, and the signal that wakes its relay
/// after a commit (which [`Parts::aggregates`] gives its command path).
pub struct Parts {
    pub pool: PgPool,
    pub signal: OutboxSignal,
}

impl Parts {
    /// The command path of the aggregates projection `P` keeps.
    pub fn aggregates<P: Projection>(&self) -> Aggregates<P> {
        Aggregates::new(self.pool.clone(), self.signal.clone())
    }
}

impl EventService<'_> {
    /// Migrates, subscribes and binds: `api` makes the gRPC server's services (served with `serve`), `handler` what the consumer applies each event with.
    pub async fn build<H: Handler>(
        self,
        api: impl FnOnce(&Parts) -> GrpcServer,
        handler: impl FnOnce(Parts) -> H,
    ) -> Result<Bound, StartupError> {
        let pool = db::connect(self.database, &self.all_migrations()).await?;
        self.kafka
            .ensure_topics(self.topics)
            .await
            .map_err(StartupError::component)?;
        let signal = OutboxSignal::new();
        let producer = self.kafka.producer().map_err(StartupError::component)?;
        let consumer = EventConsumer::new(self.kafka, &self.consumes, producer.clone())
            .map_err(StartupError::component)?;
        let relay = Relay::new(
            pool.clone(),
            producer,
            self.kafka.clone(),
            self.name,
            signal.clone(),
        );
        let listener = startup::bind(self.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: self.addr,
            source,
        })?;
        let parts = Parts { pool, signal };
        let server = api(&parts).with(self.serve);
        let mut service = Service::new(listener, server);
        service.spawn(|stop| relay.run(stop.wait()));
        let handler = handler(parts);
        service.spawn(|stop| consumer.run(handler, stop.wait()));
        Ok(Bound { addr, service })
    }
}

impl EventService<'_> {
    /// Rewrites the read model `P` from the event table (the `rebuild-projection` command).
    pub async fn rebuild_projection<P: Projection>(&self) -> Result<(), StartupError> {
        let pool = db::connect(self.database, &self.all_migrations()).await?;
        let mut conn = pool
            .get()
            .await
            .map_err(|err| StartupError::Other(format!("cannot get a connection: {err}")))?;
        let written = crate::aggregate::rebuild::<P>(&mut conn)
            .await
            .map_err(|err| StartupError::Other(format!("rebuild failed: {err}")))?;
        tracing::info!(
            aggregates = written,
            "projection rebuilt from the event table"
        );
        Ok(())
    }

    /// The event store's migrations, then the service's own.
    fn all_migrations(&self) -> [&'static EmbeddedMigrations; 2] {
        [&event_store::MIGRATIONS, self.migrations]
    }
}

/// A service bound to its address, ready to serve.
pub struct Bound {
    addr: SocketAddr,
    service: Service,
}

impl Bound {
    /// The address it listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves; the relay and the consumer stop with it.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        self.service.run_until_stopped(shutdown).await
    }
}
