//! `spawn_app()`: order-service and the menu-service it prices from, each with its own database,
//! on a Kafka prefix of the test's own.

use std::time::Duration;

use mesh_kit::{
    config::DatabaseConfig,
    db::{self, PgPool},
};

use mesh_events::event_store;
use mesh_kafka::{BILLING_EVENTS, DELIVERY_EVENTS, KafkaConfig, ORDER_EVENTS};
use mesh_proto::{
    Message, Name,
    menu::v1::{CreateMenuItemRequest, MenuItem, menu_service_client::MenuServiceClient},
    order::v1::{
        CreateOrderItem, CreateOrderRequest, GetOrderRequest, Order, OrderStatus,
        order_service_client::OrderServiceClient,
    },
};
use mesh_testkit::{Served, eventually, records};
use order_service::Config;
use tonic::transport::Channel;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub order: Served,
    pub menu: Served,
    pub orders: OrderServiceClient<Channel>,
    pub menu_client: MenuServiceClient<Channel>,
    pub kafka: KafkaConfig,
    pub database: DatabaseConfig,
}

pub async fn spawn_app() -> TestApp {
    mesh_testkit::init_tracing();
    let menu_config = menu_service::Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: mesh_testkit::database("menu"),
        seed: false,
    };
    let menu_app = menu_service::Application::build(menu_config)
        .await
        .expect("menu starts");
    let menu_addr = menu_app.local_addr();
    let menu = Served::spawn(menu_addr, |stop| menu_app.run_until_stopped(stop.wait()));

    let kafka = mesh_testkit::kafka();
    let database = mesh_testkit::database("orders");
    let config = Config {
        serve: Default::default(),
        balance: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: database.clone(),
        kafka: kafka.clone(),
        menu_url: menu.url(),
    };
    let app = order_service::build(config)
        .await
        .expect("order-service starts");
    let addr = app.local_addr();
    let order = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
    TestApp {
        orders: OrderServiceClient::new(mesh_testkit::channel(addr)),
        menu_client: MenuServiceClient::new(mesh_testkit::channel(menu_addr)),
        order,
        menu,
        kafka,
        database,
    }
}

impl TestApp {
    pub async fn menu_item(&self, name: &str, price_cents: i64) -> MenuItem {
        self.menu_client
            .clone()
            .create_menu_item(CreateMenuItemRequest {
                name: name.into(),
                price_cents: Some(price_cents),
                category: "Mains".into(),
                ..Default::default()
            })
            .await
            .expect("menu item created")
            .into_inner()
    }

    /// Places an order for one of each item.
    pub async fn place(&self, items: &[(&MenuItem, i32)]) -> Order {
        self.orders
            .clone()
            .create_order(order_request(items))
            .await
            .expect("order placed")
            .into_inner()
    }

    pub async fn get(&self, id: &str) -> Order {
        self.orders
            .clone()
            .get_order(GetOrderRequest {
                order_id: id.into(),
                read_mask: None,
            })
            .await
            .expect("order found")
            .into_inner()
    }

    /// Waits until the order reaches `status`.
    pub async fn until_status(&self, id: &str, status: OrderStatus) -> Order {
        eventually(&format!("order {id} to be {status:?}"), WAIT, || async {
            let order = self.get(id).await;
            (order.status() == status).then_some(order)
        })
        .await
    }

    /// Publishes `message` on a topic as the service that owns it would (CloudEvents headers).
    pub async fn publish<M: Message + Name>(
        &self,
        topic: &str,
        key: &str,
        event_id: &str,
        message: &M,
    ) {
        records::publish_event(
            &self.kafka,
            topic,
            key,
            event_id,
            message,
            "req-from-upstream",
        )
        .await;
    }

    pub async fn publish_billing<M: Message + Name>(&self, order_id: &str, message: &M) {
        let id = uuid::Uuid::new_v4().to_string();
        self.publish(BILLING_EVENTS, order_id, &id, message).await;
    }

    pub async fn publish_delivery<M: Message + Name>(&self, order_id: &str, message: &M) {
        let id = uuid::Uuid::new_v4().to_string();
        self.publish(DELIVERY_EVENTS, order_id, &id, message).await;
    }

    /// The first `count` records order-service published.
    pub async fn order_events(&self, count: usize) -> Vec<records::Record> {
        records::read(&self.kafka, &self.kafka.topic(ORDER_EVENTS), count, WAIT).await
    }

    /// A pool on order-service's own database, to look at its event store.
    pub async fn store(&self) -> PgPool {
        db::connect(&self.database, &[&event_store::MIGRATIONS])
            .await
            .expect("database")
    }
}

pub fn order_request(items: &[(&MenuItem, i32)]) -> CreateOrderRequest {
    CreateOrderRequest {
        customer_id: "customer-1".into(),
        items: items
            .iter()
            .map(|(item, quantity)| CreateOrderItem {
                menu_item_id: item.id.clone(),
                quantity: *quantity,
            })
            .collect(),
        delivery_address: "1 Main St, Springfield".into(),
        idempotency_key: String::new(),
    }
}
