//! Wires order-service ([`EventService`]): its API, which prices orders through the menu
//! client, and its consumer of payment and delivery events.

use mesh_kit::{grpc::GrpcServer, startup::StartupError};

use mesh_events::{
    consumer::Subscription,
    event_service::{Bound, EventService, Parts},
    kafka::{BILLING_EVENTS, DELIVERY_EVENTS, ORDER_EVENTS},
};
use mesh_proto::order::v1::order_service_server::OrderServiceServer as Server;

use crate::{Config, db, events, grpc::OrderApi, menu::MenuClient};

fn service(config: &Config) -> EventService<'_> {
    EventService {
        name: "order-service",
        addr: config.addr,
        serve: &config.serve,
        database: &config.database,
        migrations: &db::MIGRATIONS,
        kafka: &config.kafka,
        topics: &[ORDER_EVENTS, BILLING_EVENTS, DELIVERY_EVENTS],
        consumes: Subscription::of(events::CONSUMER, &[BILLING_EVENTS, DELIVERY_EVENTS]),
    }
}

/// An order-service bound, migrated and subscribed, ready to serve.
pub async fn build(config: Config) -> Result<Bound, StartupError> {
    let menu = MenuClient::new(&config.menu_url, config.balance.clone())
        .map_err(|err| StartupError::Other(format!("MENU_URL {:?}: {err}", config.menu_url)))?;
    let api = |parts: &Parts| {
        let api = OrderApi::new(parts.aggregates(), menu);
        GrpcServer::new().add_service(Server::new(api))
    };
    let handler = |parts: Parts| events::dispatcher(parts.aggregates());
    service(&config).build(api, handler).await
}

/// `order-service rebuild-projection`: rewrites `orders` and `order_lines` from the events.
pub async fn rebuild_projection(config: &Config) -> Result<(), StartupError> {
    service(config).rebuild_projection::<db::Orders>().await
}
