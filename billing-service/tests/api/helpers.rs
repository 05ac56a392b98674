//! `spawn_app()`: billing-service on a database and a Kafka prefix of the test's own, and the
//! events other services would publish to it.

use std::time::Duration;

use billing_service::Config;
use mesh_kafka::{BILLING_REQUESTS, KafkaConfig, ORDER_EVENTS};
use mesh_kit::config::DatabaseConfig;
use mesh_proto::{
    Message, Name,
    billing::v1::{
        BillingOrder, GetBillingOrderRequest, GetPaymentRequest, ListBillingOrdersRequest, Payment,
        billing_service_client::BillingServiceClient,
    },
    events::v1::{BillingRequested, OrderPlaced},
};
use mesh_testkit::{Served, eventually, records};
use tonic::{Code, transport::Channel};
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(60);

/// billing-service declines payments above this in tests: 1000.00.
pub const LIMIT_CENTS: i64 = 100_000;

pub struct TestApp {
    pub served: Served,
    pub client: BillingServiceClient<Channel>,
    pub kafka: KafkaConfig,
    pub database: DatabaseConfig,
}

pub async fn spawn_app() -> TestApp {
    mesh_testkit::init_tracing();
    let database = mesh_testkit::database("billing");
    let kafka = mesh_testkit::kafka();
    let app = billing_service::build(Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: database.clone(),
        kafka: kafka.clone(),
        payment_limit_cents: LIMIT_CENTS,
    })
    .await
    .expect("billing-service starts");
    let addr = app.local_addr();
    let served = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
    TestApp {
        client: client(addr),
        served,
        kafka,
        database,
    }
}

pub fn client(addr: std::net::SocketAddr) -> BillingServiceClient<Channel> {
    BillingServiceClient::new(mesh_testkit::channel(addr))
}

/// Publishes `message` as its owner would: keyed, with CloudEvents headers.
pub async fn publish<M: Message + Name>(
    kafka: &KafkaConfig,
    topic: &str,
    key: &str,
    event_id: &str,
    message: &M,
) {
    records::publish_event(kafka, topic, key, event_id, message, "req-from-upstream").await;
}

pub fn placed(order_id: &str, total_cents: i64) -> OrderPlaced {
    OrderPlaced {
        order_id: order_id.into(),
        customer_id: "c-1".into(),
        total_cents,
        currency: "USD".into(),
        delivery_address: "1 Main St".into(),
        ..Default::default()
    }
}

pub fn requested(user_id: i64, cents: i64) -> BillingRequested {
    BillingRequested {
        request_id: Uuid::new_v4().to_string(),
        user_id,
        number_of_items: 5,
        total_amount_cents: cents,
        request_time: Some(mesh_proto::timestamp(chrono::Utc::now())),
    }
}

/// Queues a billing request as the gateway does (event id = request id).
pub async fn queue(kafka: &KafkaConfig, request: &BillingRequested) {
    let key = request.user_id.to_string();
    publish(kafka, BILLING_REQUESTS, &key, &request.request_id, request).await;
}

pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

impl TestApp {
    /// Places one order within the payment limit and one above it; returns (cheap, dear).
    pub async fn place_cheap_and_dear(&self) -> (String, String) {
        let (cheap, dear) = (new_id(), new_id());
        self.place(&cheap, &new_id(), 2_500).await;
        self.place(&dear, &new_id(), 120_000).await;
        (cheap, dear)
    }

    pub async fn place(&self, order_id: &str, event_id: &str, total_cents: i64) {
        publish(
            &self.kafka,
            ORDER_EVENTS,
            order_id,
            event_id,
            &placed(order_id, total_cents),
        )
        .await;
    }

    pub async fn payment(&self, order_id: &str) -> Payment {
        eventually(&format!("the payment of {order_id}"), WAIT, || async {
            match self
                .client
                .clone()
                .get_payment(GetPaymentRequest {
                    order_id: order_id.into(),
                })
                .await
            {
                Ok(payment) => Some(payment.into_inner()),
                Err(status) if status.code() == Code::NotFound => None,
                Err(status) => panic!("GetPayment failed: {status}"),
            }
        })
        .await
    }

    pub async fn stored(&self, request_id: &str) -> BillingOrder {
        stored(&self.client, request_id).await
    }
}

pub async fn stored(client: &BillingServiceClient<Channel>, request_id: &str) -> BillingOrder {
    eventually(
        &format!("billing request {request_id} to be stored"),
        WAIT,
        || async {
            match client
                .clone()
                .get_billing_order(GetBillingOrderRequest {
                    request_id: request_id.into(),
                })
                .await
            {
                Ok(order) => Some(order.into_inner()),
                Err(status) if status.code() == Code::NotFound => None,
                Err(status) => panic!("GetBillingOrder failed: {status}"),
            }
        },
    )
    .await
}

/// Every stored billing order of `user_id`, page by page.
pub async fn all_orders_of(
    client: &BillingServiceClient<Channel>,
    user_id: i64,
    page_size: i32,
) -> Vec<BillingOrder> {
    let mut orders = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .clone()
            .list_billing_orders(ListBillingOrdersRequest {
                user_id,
                page_size,
                page_token,
            })
            .await
            .expect("list")
            .into_inner();
        orders.extend(page.orders);
        if page.next_page_token.is_empty() {
            return orders;
        }
        page_token = page.next_page_token;
    }
}
