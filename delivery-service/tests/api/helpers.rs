//! `spawn_app()`: delivery-service on a database and a Kafka prefix of the test's own, with a
//! way to publish the order events it consumes.

use std::time::Duration;

use delivery_service::Config;
use mesh_kafka::{DELIVERY_EVENTS, KafkaConfig, ORDER_EVENTS};
use mesh_kit::config::DatabaseConfig;
use mesh_proto::{
    Message, Name,
    delivery::v1::{
        Delivery, DeliveryStatus, GetStatusRequest, UpdateStatusRequest,
        delivery_service_client::DeliveryServiceClient,
    },
    events::v1::OrderPaid,
};
use mesh_testkit::{Served, eventually, records};
use tonic::{Code, transport::Channel};

pub const WAIT: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub served: Served,
    pub client: DeliveryServiceClient<Channel>,
    pub kafka: KafkaConfig,
    pub database: DatabaseConfig,
}

pub async fn spawn_app() -> TestApp {
    mesh_testkit::init_tracing();
    start(mesh_testkit::database("delivery"), mesh_testkit::kafka()).await
}

/// Starts delivery-service on an existing database and prefix (for restarts).
pub async fn start(database: DatabaseConfig, kafka: KafkaConfig) -> TestApp {
    let config = Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: database.clone(),
        kafka: kafka.clone(),
    };
    let app = delivery_service::build(config)
        .await
        .expect("delivery-service starts");
    let addr = app.local_addr();
    let served = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
    TestApp {
        client: DeliveryServiceClient::new(mesh_testkit::channel(addr)),
        served,
        kafka,
        database,
    }
}

pub fn new_order_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl TestApp {
    /// Publishes `message` on this test's `order-events`.
    pub async fn publish_order_event<M: Message + Name>(
        &self,
        order_id: &str,
        event_id: &str,
        message: &M,
    ) {
        publish_order_event(&self.kafka, order_id, event_id, message).await;
    }

    /// Publishes `OrderPaid` for a new event id.
    pub async fn pay(&self, order_id: &str) {
        let paid = OrderPaid {
            order_id: order_id.into(),
            amount_cents: 2500,
            currency: "USD".into(),
            delivery_address: "1 Main St, Springfield".into(),
        };
        self.publish_order_event(order_id, &new_order_id(), &paid)
            .await;
    }

    pub async fn status(&self, order_id: &str) -> Result<Delivery, tonic::Status> {
        self.client
            .clone()
            .get_status(GetStatusRequest {
                order_id: order_id.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Waits until the order's delivery exists and has `status`.
    pub async fn until_status(&self, order_id: &str, status: DeliveryStatus) -> Delivery {
        eventually(
            &format!("delivery of {order_id} to be {status:?}"),
            WAIT,
            || async {
                match self.status(order_id).await {
                    Ok(delivery) if delivery.status() == status => Some(delivery),
                    Ok(_) => None,
                    Err(status) if status.code() == Code::NotFound => None,
                    Err(status) => panic!("GetStatus failed: {status}"),
                }
            },
        )
        .await
    }

    /// A paid order whose delivery is open.
    pub async fn open_delivery(&self) -> String {
        let order_id = new_order_id();
        self.pay(&order_id).await;
        self.until_status(&order_id, DeliveryStatus::Pending).await;
        order_id
    }

    pub async fn update(
        &self,
        order_id: &str,
        status: DeliveryStatus,
        courier: Option<&str>,
    ) -> Result<Delivery, tonic::Status> {
        self.update_with(order_id, status, courier, false).await
    }

    /// [`Self::update`] with the admin's override `reassign`.
    pub async fn update_with(
        &self,
        order_id: &str,
        status: DeliveryStatus,
        courier: Option<&str>,
        reassign: bool,
    ) -> Result<Delivery, tonic::Status> {
        self.client
            .clone()
            .update_status(UpdateStatusRequest {
                order_id: order_id.into(),
                status: status.into(),
                courier: courier.map(str::to_owned),
                note: None,
                reassign,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// The first `count` records on this test's `delivery-events`.
    pub async fn delivery_events(&self, count: usize) -> Vec<records::Record> {
        records::read(&self.kafka, &self.kafka.topic(DELIVERY_EVENTS), count, WAIT).await
    }
}

/// Publishes `message` on `order-events` as order-service would: keyed by order, with
/// CloudEvents headers and event id `event_id`.
pub async fn publish_order_event<M: Message + Name>(
    kafka: &KafkaConfig,
    order_id: &str,
    event_id: &str,
    message: &M,
) {
    records::publish_event(
        kafka,
        ORDER_EVENTS,
        order_id,
        event_id,
        message,
        "req-from-order",
    )
    .await;
}

/// The statuses of a delivery's history, oldest first.
pub fn steps(delivery: &Delivery) -> Vec<DeliveryStatus> {
    delivery
        .history
        .iter()
        .map(|entry| entry.status())
        .collect()
}
