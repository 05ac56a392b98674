//! Wires billing-service ([`EventService`]): its API, and one consumer of `order-events` (to
//! charge for orders) and `billing-requests` (to store the movie platform's billing orders).

use mesh_kit::{grpc::GrpcServer, startup::StartupError};

use mesh_events::{
    consumer::Subscription,
    event_service::{Bound, EventService, Parts},
    kafka::{BILLING_EVENTS, BILLING_REQUESTS, ORDER_EVENTS},
};
use mesh_proto::billing::v1::billing_service_server::BillingServiceServer as Server;

use crate::{Config, db, events, grpc::BillingApi, provider::SimulatedProvider};

fn service(config: &Config) -> EventService<'_> {
    EventService {
        name: "billing-service",
        addr: config.addr,
        serve: &config.serve,
        database: &config.database,
        migrations: &db::MIGRATIONS,
        kafka: &config.kafka,
        topics: &[ORDER_EVENTS, BILLING_EVENTS, BILLING_REQUESTS],
        consumes: Subscription::of(events::PAYMENTS_CONSUMER, &[ORDER_EVENTS, BILLING_REQUESTS]),
    }
}

/// A billing-service bound, migrated and subscribed, ready to serve.
pub async fn build(config: Config) -> Result<Bound, StartupError> {
    let provider = SimulatedProvider {
        limit_cents: config.payment_limit_cents,
    };
    let api = |parts: &Parts| {
        GrpcServer::new().add_service(Server::new(BillingApi::new(parts.pool.clone())))
    };
    let handler = |parts: Parts| events::dispatcher(parts.aggregates(), provider);
    service(&config).build(api, handler).await
}

/// `billing-service rebuild-projection`: rewrites `payments` from the events.
pub async fn rebuild_projection(config: &Config) -> Result<(), StartupError> {
    service(config).rebuild_projection::<db::Payments>().await
}
