//! Wires delivery-service ([`EventService`]): its API, and its consumer of order events.

use mesh_kit::{grpc::GrpcServer, startup::StartupError};

use mesh_events::{
    consumer::Subscription,
    event_service::{Bound, EventService, Parts},
    kafka::{DELIVERY_EVENTS, ORDER_EVENTS},
};
use mesh_proto::delivery::v1::delivery_service_server::DeliveryServiceServer as Server;

use crate::{Config, db, events, grpc::DeliveryApi};

fn service(config: &Config) -> EventService<'_> {
    EventService {
        name: "delivery-service",
        addr: config.addr,
        serve: &config.serve,
        database: &config.database,
        migrations: &db::MIGRATIONS,
        kafka: &config.kafka,
        topics: &[ORDER_EVENTS, DELIVERY_EVENTS],
        consumes: Subscription::of(events::CONSUMER, &[ORDER_EVENTS]),
    }
}

/// A delivery-service bound, migrated and subscribed, ready to serve.
pub async fn build(config: Config) -> Result<Bound, StartupError> {
    let api = |parts: &Parts| {
        let api = DeliveryApi::new(parts.aggregates());
        GrpcServer::new().add_service(Server::new(api))
    };
    let handler = |parts: Parts| events::dispatcher(parts.aggregates());
    service(&config).build(api, handler).await
}

/// `delivery-service rebuild-projection`: rewrites `deliveries` from the events.
pub async fn rebuild_projection(config: &Config) -> Result<(), StartupError> {
    service(config).rebuild_projection::<db::Deliveries>().await
}
