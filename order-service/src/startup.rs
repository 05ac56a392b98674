//! Wires order-service ([`EventService`]): its API, which prices orders through the menu
//! client, and its consumer of payment and delivery events.

use mesh_events::{
    aggregate::Aggregates,
    consumer::Subscription,
    event_service::{Bound, EventService},
};
use mesh_kafka::{BILLING_EVENTS, DELIVERY_EVENTS};
use mesh_kit::{grpc::GrpcServer, startup::StartupError};
use mesh_proto::order::v1::order_service_server::OrderServiceServer as Server;

use crate::{Config, db, events, grpc::OrderApi, menu::MenuClient};

/// What order-service is.
pub fn service(config: &Config) -> EventService<'_, db::Orders> {
    EventService {
        name: "order-service",
        aggregate: std::marker::PhantomData,
        addr: config.addr,
        serve: &config.serve,
        database: &config.database,
        migrations: &db::MIGRATIONS,
        kafka: &config.kafka,
        consumes: Subscription::of(events::CONSUMER, &[BILLING_EVENTS, DELIVERY_EVENTS]),
    }
}

/// An order-service bound, migrated and subscribed, ready to serve.
pub async fn build(config: Config) -> Result<Bound, StartupError> {
    let menu = MenuClient::new(&config.menu_url, config.balance.clone())
        .map_err(|err| StartupError::Other(format!("MENU_URL {:?}: {err}", config.menu_url)))?;
    let api = |orders: &Aggregates<db::Orders>| {
        GrpcServer::new().add_service(Server::new(OrderApi::new(orders.clone(), menu)))
    };
    service(&config).build(api, events::dispatcher).await
}
