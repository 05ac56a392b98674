//! `POST /api/billing` end to end: queued on the broker before the 202, stored by billing-service
//! when it can, never lost while it is down, and 503 (never 202) while the broker is down.

use std::{collections::HashSet, net::SocketAddr, time::Duration};

use futures::{StreamExt, stream};
use gateway::{Application, Config, config::BackendUrls};
use mesh_kafka::KafkaConfig;
use mesh_kit::config::DatabaseConfig;
use mesh_testkit::{
    Served, eventually,
    process::{Broker, free_port},
};
use serde_json::{Value, json};

use crate::helpers::error_of;

const WAIT: Duration = Duration::from_secs(60);

/// The gateway with billing-service behind it, which a test can stop and start again; the
/// other backends are absent (billing does not need them).
struct BillingStack {
    gateway: Served,
    config: Config,
    billing: Option<Served>,
    billing_addr: SocketAddr,
    billing_db: DatabaseConfig,
    kafka: KafkaConfig,
    http: reqwest::Client,
}

impl BillingStack {
    async fn start(kafka: KafkaConfig, with_billing: bool) -> Self {
        mesh_testkit::init_tracing();
        let billing_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let nowhere = format!("http://127.0.0.1:{}", free_port());
        let config = Config::new(
            ([127, 0, 0, 1], 0).into(),
            BackendUrls {
                menu: vec![nowhere.clone()],
                order: vec![nowhere.clone()],
                delivery: vec![nowhere.clone()],
                inventory: vec![nowhere],
                billing: vec![format!("http://{billing_addr}")],
            },
            kafka.clone(),
            crate::helpers::token_keys(),
        );
        let app = Application::build(config.clone())
            .await
            .expect("gateway starts");
        let addr = app.local_addr();
        let gateway = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
        let mut stack = Self {
            gateway,
            config,
            billing: None,
            billing_addr,
            billing_db: mesh_testkit::database("billing"),
            kafka,
            http: crate::helpers::admin_client(),
        };
        if with_billing {
            stack.start_billing().await;
        }
        stack
    }

    async fn start_billing(&mut self) {
        let app = billing_service::build(billing_service::Config {
            serve: Default::default(),
            addr: self.billing_addr,
            database: self.billing_db.clone(),
            kafka: self.kafka.clone(),
            payment_limit_cents: 100_000,
        })
        .await
        .expect("billing-service starts");
        let addr = app.local_addr();
        self.billing = Some(Served::spawn(addr, |stop| {
            app.run_until_stopped(stop.wait())
        }));
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr)
    }

    /// Stops the gateway and starts a new one with the same settings (and an empty memory).
    async fn restart_gateway(&mut self) {
        let app = Application::build(self.config.clone())
            .await
            .expect("gateway starts again");
        let addr = app.local_addr();
        let fresh = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
        std::mem::replace(&mut self.gateway, fresh).stop().await;
    }

    async fn submit(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/api/billing"))
            .json(body)
            .send()
            .await
            .expect("gateway answers")
    }

    /// Submits and expects 202; returns the request id.
    async fn queue(&self, body: &Value) -> String {
        let response = self.submit(body).await;
        assert_eq!(response.status(), 202, "accepted");
        let receipt: Value = response.json().await.expect("JSON");
        assert_eq!(receipt["status"], "queued");
        receipt["request_id"]
            .as_str()
            .expect("request_id")
            .to_owned()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("gateway answers")
    }

    /// Waits until billing-service stored the request; returns the stored order.
    async fn stored(&self, request_id: &str) -> Value {
        eventually(
            &format!("billing request {request_id} to be stored"),
            WAIT,
            || async {
                let response = self.get(&format!("/api/billing/{request_id}")).await;
                if response.status() != 200 {
                    return None;
                }
                response.json::<Value>().await.ok()
            },
        )
        .await
    }

    /// Every stored order of `user_id`, through the paginated list.
    async fn all_orders_of(&self, user_id: i64) -> Vec<Value> {
        let mut orders = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/api/billing?user_id={user_id}&page_size=500");
            if let Some(token) = &token {
                path.push_str(&format!("&page_token={token}"));
            }
            let response = self.get(&path).await;
            assert_eq!(response.status(), 200, "list");
            token = response
                .headers()
                .get("x-next-page-token")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let page: Vec<Value> = response.json().await.expect("JSON list");
            orders.extend(page);
            if token.is_none() {
                return orders;
            }
        }
    }
}

fn postman_body() -> Value {
    json!({"user_id": "3", "number_of_items": "5", "total_amount": "180"})
}

#[tokio::test]
async fn the_postman_request_is_accepted_and_then_stored() {
    let stack = BillingStack::start(mesh_testkit::kafka(), true).await;

    let response = stack.submit(&postman_body()).await;
    assert_eq!(response.status(), 202);
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let receipt: Value = response.json().await.expect("JSON");
    let request_id = receipt["request_id"]
        .as_str()
        .expect("request_id")
        .to_owned();
    assert_eq!(
        receipt,
        json!({"request_id": request_id, "status": "queued"})
    );
    assert_eq!(location, Some(format!("/api/billing/{request_id}")));

    let order = stack.stored(&request_id).await;
    assert_eq!(order["request_id"], request_id.as_str());
    assert_eq!(order["user_id"], 3);
    assert_eq!(order["number_of_items"], 5);
    assert_eq!(order["total_amount_cents"], 18_000);
    assert_eq!(order["total_amount"], "180.00");

    // JSON numbers work as well as numeric strings.
    let numbers = stack
        .queue(&json!({"user_id": 3, "number_of_items": 1, "total_amount": 19.99}))
        .await;
    assert_eq!(stack.stored(&numbers).await["total_amount_cents"], 1999);
    let listed = stack.all_orders_of(3).await;
    assert_eq!(listed.len(), 2);

    // An id nobody queued is a plain 404; a malformed one a 400.
    let unknown = uuid::Uuid::new_v4();
    let (code, _) = error_of(stack.get(&format!("/api/billing/{unknown}")).await, 404).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, message) = error_of(stack.get("/api/billing/abc").await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert!(message.contains("request_id"), "{message}");
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retry_return_the_first_request() {
    let stack = BillingStack::start(mesh_testkit::kafka(), true).await;
    let send = || {
        stack
            .http
            .post(stack.url("/api/billing"))
            .header("Idempotency-Key", "billing-retry-1")
            .json(&json!({"user_id": 7, "number_of_items": 2, "total_amount": "10.50"}))
            .send()
    };
    let first: Value = send().await.expect("answers").json().await.expect("JSON");
    let again = send().await.expect("answers");
    assert_eq!(again.status(), 202);
    let again: Value = again.json().await.expect("JSON");
    assert_eq!(first["request_id"], again["request_id"]);

    let request_id = first["request_id"].as_str().expect("id");
    stack.stored(request_id).await;
    assert_eq!(stack.all_orders_of(7).await.len(), 1, "queued once");

    let different = stack
        .http
        .post(stack.url("/api/billing"))
        .header("Idempotency-Key", "billing-retry-1")
        .json(&json!({"user_id": 7, "number_of_items": 3, "total_amount": "10.50"}))
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(different, 409).await;
    assert_eq!(code, "ALREADY_EXISTS");
}

#[tokio::test]
async fn a_key_names_one_request_per_user_across_gateway_restarts() {
    let mut stack = BillingStack::start(mesh_testkit::kafka(), true).await;
    let send = |user: i64| {
        stack
            .http
            .post(stack.url("/api/billing"))
            .header("Idempotency-Key", "shared-key-1")
            .json(&json!({"user_id": user, "number_of_items": 1, "total_amount": "2.00"}))
            .send()
    };
    let first: Value = send(7).await.expect("answers").json().await.expect("JSON");
    let other_user = send(8).await.expect("answers");
    assert_eq!(other_user.status(), 202);
    let other_user: Value = other_user.json().await.expect("JSON");
    assert_ne!(
        first["request_id"], other_user["request_id"],
        "an equal key from another user is another request"
    );
    stack.restart_gateway().await;
    let again = stack
        .http
        .post(stack.url("/api/billing"))
        .header("Idempotency-Key", "shared-key-1")
        .json(&json!({"user_id": 7, "number_of_items": 1, "total_amount": "2.00"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(again.status(), 202);
    let again: Value = again.json().await.expect("JSON");
    assert_eq!(
        first["request_id"], again["request_id"],
        "the same key and user name the same request after a restart"
    );
    let different = stack
        .http
        .post(stack.url("/api/billing"))
        .header("Idempotency-Key", "shared-key-1")
        .json(&json!({"user_id": 7, "number_of_items": 9, "total_amount": "2.00"}))
        .send()
        .await
        .expect("answers");
    let (code, message) = error_of(different, 409).await;
    assert_eq!(
        code, "ALREADY_EXISTS",
        "another body under a used key, after a restart"
    );
    assert!(message.contains("Idempotency-Key"), "{message}");
    for request in [&first, &other_user] {
        stack
            .stored(request["request_id"].as_str().expect("id"))
            .await;
    }
    assert_eq!(stack.all_orders_of(7).await.len(), 1, "stored once");
    assert_eq!(stack.all_orders_of(8).await.len(), 1, "both users stored");
}

#[tokio::test]
async fn bad_bodies_are_refused_with_json_errors_naming_the_field() {
    let stack = BillingStack::start(mesh_testkit::kafka(), false).await;
    let cases = [
        (
            json!({"number_of_items": "5", "total_amount": "180"}),
            "user_id",
        ),
        (
            json!({"user_id": "3", "total_amount": "180"}),
            "number_of_items",
        ),
        (
            json!({"user_id": "3", "number_of_items": "5"}),
            "total_amount",
        ),
        (
            json!({"user_id": "-3", "number_of_items": "5", "total_amount": "180"}),
            "user_id",
        ),
        (
            json!({"user_id": "3", "number_of_items": 0, "total_amount": "180"}),
            "number_of_items",
        ),
        (
            json!({"user_id": "3", "number_of_items": "5", "total_amount": "-1"}),
            "total_amount",
        ),
        (
            json!({"user_id": "three", "number_of_items": "5", "total_amount": "180"}),
            "user_id",
        ),
        (
            json!({"user_id": "3", "number_of_items": "5", "total_amount": "1.999"}),
            "total_amount",
        ),
        (
            json!({"user_id": 3.5, "number_of_items": "5", "total_amount": "180"}),
            "user_id",
        ),
    ];
    for (body, field) in cases {
        let (code, message) = error_of(stack.submit(&body).await, 400).await;
        assert_eq!(code, "INVALID_ARGUMENT", "{body}");
        assert!(message.starts_with(field), "{body}: {message}");
    }

    let not_json = stack
        .http
        .post(stack.url("/api/billing"))
        .header("content-type", "application/json")
        .body("{\"user_id\": ")
        .send()
        .await
        .expect("answers");
    error_of(not_json, 400).await;

    let plain_text = stack
        .http
        .post(stack.url("/api/billing"))
        .header("content-type", "text/plain")
        .body(postman_body().to_string())
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(plain_text, 415).await;
    assert_eq!(code, "UNSUPPORTED_MEDIA_TYPE");

    let huge = format!(
        "{{\"user_id\":\"3\",\"number_of_items\":\"5\",\"total_amount\":\"180\",\"pad\":\"{}\"}}",
        "x".repeat(10 * 1024 * 1024)
    );
    let too_big = stack
        .http
        .post(stack.url("/api/billing"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(too_big, 413).await;
    assert_eq!(code, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn requests_accepted_while_billing_is_down_are_all_stored_once_when_it_is_back() {
    let mut stack = BillingStack::start(mesh_testkit::kafka(), false).await;
    const COUNT: usize = 1_000;
    let bodies: Vec<Value> = (0..COUNT)
        .map(|n| json!({"user_id": 11, "number_of_items": n % 9 + 1, "total_amount": n}))
        .collect();
    let accepted: Vec<String> = stream::iter(bodies.iter().map(|body| stack.queue(body)))
        .buffer_unordered(16)
        .collect()
        .await;
    let accepted: HashSet<String> = accepted.into_iter().collect();
    assert_eq!(accepted.len(), COUNT, "each request got its own id");

    // The gateway knows what it accepted, while nothing is stored yet.
    let some = accepted.iter().next().expect("one");
    let queued = stack.get(&format!("/api/billing/{some}")).await;
    assert_eq!(
        queued.status(),
        503,
        "billing-service is down: its read side is unavailable"
    );

    stack.start_billing().await;
    let stored = eventually("every accepted request to be stored", WAIT, || async {
        let orders = stack.all_orders_of(11).await;
        (orders.len() >= COUNT).then_some(orders)
    })
    .await;
    let ids: Vec<&str> = stored
        .iter()
        .filter_map(|o| o["request_id"].as_str())
        .collect();
    assert_eq!(ids.len(), COUNT, "stored exactly once each");
    let unique: HashSet<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    assert_eq!(unique, accepted, "the stored ones are the accepted ones");
}

#[tokio::test]
async fn a_keyed_request_while_billing_is_down_is_refused_and_nothing_is_queued() {
    let mut stack = BillingStack::start(mesh_testkit::kafka(), false).await;
    let body =
        |items: i64| json!({"user_id": 12, "number_of_items": items, "total_amount": "3.00"});
    let keyed = |stack: &BillingStack, items: i64| {
        stack
            .http
            .post(stack.url("/api/billing"))
            .header("Idempotency-Key", "while-down-1")
            .json(&body(items))
            .send()
    };
    let (code, message) = error_of(keyed(&stack, 1).await.expect("answers"), 503).await;
    assert_eq!(code, "UNAVAILABLE", "{message}");
    // Without a key the queue does not need billing-service.
    stack.queue(&body(5)).await;

    stack.start_billing().await;
    let stack = &stack;
    let accepted = eventually("billing-service to take keys again", WAIT, || async move {
        // Another body under the same key: the refused attempt neither bound the key nor was
        // queued, so this one is the key's first request.
        let response = keyed(stack, 2).await.expect("answers");
        (response.status() == 202).then_some(response)
    })
    .await;
    let receipt: Value = accepted.json().await.expect("JSON");
    let stored = stack
        .stored(receipt["request_id"].as_str().expect("id"))
        .await;
    assert_eq!(
        stored["number_of_items"], 2,
        "the request accepted, not the refused one"
    );
    let orders = eventually("both requests stored", WAIT, || async {
        let orders = stack.all_orders_of(12).await;
        (orders.len() >= 2).then_some(orders)
    })
    .await;
    assert_eq!(orders.len(), 2, "{orders:#?}");
}

#[tokio::test]
async fn a_stopped_broker_gets_503_and_a_resumed_one_202_without_a_gateway_restart() {
    let mut broker = Broker::start().await;
    let kafka = KafkaConfig::local(broker.brokers(), mesh_testkit::unique_id() + "-");
    let stack = BillingStack::start(kafka, false).await;
    stack.queue(&postman_body()).await;

    broker.stop().await;
    let (code, message) = error_of(stack.submit(&postman_body()).await, 503).await;
    assert_eq!(code, "UNAVAILABLE");
    assert!(message.contains("nothing was queued"), "{message}");

    broker.resume().await;
    eventually("the gateway to queue again", WAIT, || async {
        (stack.submit(&postman_body()).await.status() == 202).then_some(())
    })
    .await;
}

#[tokio::test]
async fn graphql_submits_billing_and_reads_it_back() {
    let stack = BillingStack::start(mesh_testkit::kafka(), true).await;
    let graphql = |query: &'static str, variables: Value| {
        let http = stack.http.clone();
        let url = stack.url("/graphql");
        async move {
            let response = http
                .post(url)
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .expect("gateway answers");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("JSON")
        }
    };
    let submitted = graphql(
        "mutation($input: BillingInput!) { submitBilling(input: $input) { requestId status } }",
        json!({"input": {"userId": 3, "numberOfItems": 5, "totalAmount": "180"}}),
    )
    .await;
    assert_eq!(
        submitted["data"]["submitBilling"]["status"], "queued",
        "{submitted}"
    );
    let request_id = submitted["data"]["submitBilling"]["requestId"]
        .as_str()
        .expect("requestId")
        .to_owned();

    let query = "query($id: ID!) { billingOrder(requestId: $id) { requestId userId numberOfItems totalAmountCents totalAmount } }";
    let order = eventually("the billing order to be stored", WAIT, || async {
        let answer = graphql(query, json!({"id": request_id})).await;
        answer["data"]["billingOrder"].is_object().then_some(answer)
    })
    .await;
    assert_eq!(
        order["data"]["billingOrder"],
        json!({
            "requestId": request_id,
            "userId": 3,
            "numberOfItems": 5,
            "totalAmountCents": 18000,
            "totalAmount": "180.00"
        })
    );

    let bad = graphql(
        "mutation($input: BillingInput!) { submitBilling(input: $input) { requestId } }",
        json!({"input": {"userId": 0, "numberOfItems": 5, "totalAmount": "180"}}),
    )
    .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "INVALID_ARGUMENT",
        "{bad}"
    );
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("userId"),
        "{bad}"
    );
}

#[tokio::test]
async fn an_accepted_request_not_stored_yet_is_a_404_that_says_queued() {
    // billing-service runs, but on topics of its own: the gateway's requests never reach it.
    let mut stack = BillingStack::start(mesh_testkit::kafka(), false).await;
    let gateway_kafka = stack.kafka.clone();
    stack.kafka = mesh_testkit::kafka();
    stack.start_billing().await;
    stack.kafka = gateway_kafka;

    let request_id = stack.queue(&postman_body()).await;
    let response = stack.get(&format!("/api/billing/{request_id}")).await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["request_id"], request_id.as_str());
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}
