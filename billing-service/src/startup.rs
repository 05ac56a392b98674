//! Wires billing-service ([`EventService`]): its API, and one consumer of `order-events` (to
//! charge for orders) and `billing-requests` (to store the movie platform's billing orders).

use mesh_events::{
    aggregate::Aggregates,
    consumer::Subscription,
    event_service::{Bound, EventService},
};
use mesh_kafka::{BILLING_REQUESTS, ORDER_EVENTS};
use mesh_kit::{grpc::GrpcServer, startup::StartupError};
use mesh_proto::billing::v1::billing_service_server::BillingServiceServer as Server;

use crate::{Config, db, events, grpc::BillingApi, provider::SimulatedProvider};

/// What billing-service is.
pub fn service(config: &Config) -> EventService<'_, db::Payments> {
    EventService {
        name: "billing-service",
        aggregate: std::marker::PhantomData,
        addr: config.addr,
        serve: &config.serve,
        database: &config.database,
        migrations: &db::MIGRATIONS,
        kafka: &config.kafka,
        consumes: Subscription::of(events::PAYMENTS_CONSUMER, &[ORDER_EVENTS, BILLING_REQUESTS]),
    }
}

/// A billing-service bound, migrated and subscribed, ready to serve.
pub async fn build(config: Config) -> Result<Bound, StartupError> {
    let provider = SimulatedProvider {
        limit_cents: config.payment_limit_cents,
    };
    let api = |payments: &Aggregates<db::Payments>| {
        GrpcServer::new().add_service(Server::new(BillingApi::new(payments.pool().clone())))
    };
    let handler = |payments| events::dispatcher(payments, provider);
    service(&config).build(api, handler).await
}
