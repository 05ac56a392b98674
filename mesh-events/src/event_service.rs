//! The wiring every event-sourced service shares (order, billing, delivery), so a service states
//! only what is its own: its name, aggregate, address, migrations and subscription
//! ([`EventService`]), its gRPC API and its consumer's handler. The rest is the same for each:
//! the database migrated and pooled, the topics made, one producer for the relay and the dead
//! letters, one consumer (each costs the broker a fetch loop), and all of it started and stopped
//! with the server ([`mesh_kit::startup::Service`]).

use std::{marker::PhantomData, net::SocketAddr};

use mesh_kafka::KafkaConfig;
use mesh_kit::{
    config::DatabaseConfig,
    db::{self, EmbeddedMigrations},
    grpc::{GrpcServer, ServeConfig},
    startup::{self, Service, StartupError},
};

use crate::{
    aggregate::{Aggregate, Aggregates, Projection},
    consumer::{EventConsumer, Handler, Subscription},
    event_store,
    relay::{OutboxSignal, Relay},
};

/// What an event-sourced service is: its name, its aggregate (as the projection `P` that keeps
/// it), its database and what it consumes (the topics it makes follow from those two).
pub struct EventService<'a, P> {
    /// Its name: the `ce_source` of the events its relay publishes.
    pub name: &'static str,
    /// Its aggregate: what its commands, its consumer and its `rebuild-projection` work on.
    pub aggregate: PhantomData<P>,
    pub addr: SocketAddr,
    pub serve: &'a ServeConfig,
    pub database: &'a DatabaseConfig,
    /// Its own migrations (its projections); the event store's run before them.
    pub migrations: &'static EmbeddedMigrations,
    pub kafka: &'a KafkaConfig,
    /// What its consumer reads.
    pub consumes: Subscription,
}

impl<P: Projection> EventService<'_, P> {
    /// Migrates, subscribes and binds: `api` makes the gRPC server's services (served with
    /// `serve`), `handler` what the consumer applies each event with, both on the aggregates'
    /// one command path (whose commits wake the relay).
    pub async fn build<H: Handler>(
        self,
        api: impl FnOnce(&Aggregates<P>) -> GrpcServer,
        handler: impl FnOnce(Aggregates<P>) -> H,
    ) -> Result<Bound, StartupError> {
        let pool = db::connect(self.database, &self.all_migrations()).await?;
        self.kafka
            .ensure_topics(&self.topics())
            .await
            .map_err(StartupError::component)?;
        let signal = OutboxSignal::new();
        let producer = self.kafka.producer().map_err(StartupError::component)?;
        let consumer = EventConsumer::new(self.kafka, &self.consumes, producer.clone())
            .map_err(StartupError::component)?
            .batching(pool.clone());
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
        let aggregates = Aggregates::new(pool, signal);
        let server = api(&aggregates).with(self.serve);
        let mut service = Service::new(listener, server);
        service.spawn(|stop| relay.run(stop.wait()));
        let handler = handler(aggregates);
        service.spawn(|stop| consumer.run(handler, stop.wait()));
        Ok(Bound { addr, service })
    }

    /// Rewrites the read model `P` from the event table (the `rebuild-projection` command).
    pub async fn rebuild_projection(&self) -> Result<(), StartupError> {
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

    /// Every topic it writes or reads, made at start when missing: its aggregate's, and the
    /// ones it consumes.
    fn topics(&self) -> Vec<&'static str> {
        let mut topics = vec![<P::Aggregate as Aggregate>::TOPIC];
        for topic in &self.consumes.topics {
            if !topics.contains(topic) {
                topics.push(topic);
            }
        }
        topics
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
