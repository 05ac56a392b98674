//! Wires delivery-service ([`EventService`]): its API, and its consumer of order events.

use mesh_events::{
    aggregate::Aggregates,
    consumer::Subscription,
    event_service::{Bound, EventService},
};
use mesh_kafka::ORDER_EVENTS;
use mesh_kit::{grpc::GrpcServer, startup::StartupError};
use mesh_proto::delivery::v1::delivery_service_server::DeliveryServiceServer as Server;

use crate::{Config, db, events, grpc::DeliveryApi};

/// What delivery-service is.
pub fn service(config: &Config) -> EventService<'_, db::Deliveries> {
    EventService {
        name: "delivery-service",
        aggregate: std::marker::PhantomData,
        addr: config.addr,
        serve: &config.serve,
        database: &config.database,
        migrations: &db::MIGRATIONS,
        kafka: &config.kafka,
        consumes: Subscription::of(events::CONSUMER, &[ORDER_EVENTS]),
    }
}

/// A delivery-service bound, migrated and subscribed, ready to serve.
pub async fn build(config: Config) -> Result<Bound, StartupError> {
    let api = |deliveries: &Aggregates<db::Deliveries>| {
        GrpcServer::new().add_service(Server::new(DeliveryApi::new(deliveries.clone())))
    };
    service(&config).build(api, events::dispatcher).await
}
