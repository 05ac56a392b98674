//! The order flow over REST, end to end through Kafka: placed, paid, delivered.

use serde_json::{Value, json};

use crate::{
    helpers::error_of,
    mesh::{Options, spawn_mesh},
};

fn statuses(history: &Value, field: &str) -> Vec<String> {
    history
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| entry[field].as_str().expect("string").to_owned())
        .collect()
}

#[tokio::test]
async fn an_order_goes_from_placed_to_delivered() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(2).await;
    let order = mesh.place(&ids).await;
    assert_eq!(order["status"], "PLACED");
    assert_eq!(order["items"].as_array().map(Vec::len), Some(2));
    assert!(order["total_cents"].as_i64().is_some_and(|t| t > 0));
    let id = order["id"].as_str().expect("id").to_owned();

    mesh.order_with_status(&id, "PAID").await;
    let delivery = mesh.delivery_with_status(&id, "PENDING").await;
    assert_eq!(delivery["order_id"], id.as_str());

    for step in ["ASSIGNED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"] {
        let (code, body) = mesh.move_delivery(&id, step).await;
        assert_eq!(code, 200, "{step}: {body}");
        assert_eq!(body["status"], step);
    }

    let done = mesh.order_with_status(&id, "DELIVERED").await;
    assert_eq!(
        statuses(&done["history"], "event_type"),
        [
            "OrderPlaced",
            "OrderPaid",
            "OrderOutForDelivery",
            "OrderDelivered"
        ]
    );
    assert_eq!(
        statuses(&done["history"], "status"),
        ["PLACED", "PAID", "OUT_FOR_DELIVERY", "DELIVERED"]
    );
    let delivery: Value = mesh
        .get(&format!("/delivery/status/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        statuses(&delivery["history"], "status"),
        [
            "PENDING",
            "ASSIGNED",
            "PICKED_UP",
            "IN_TRANSIT",
            "DELIVERED"
        ]
    );
}

#[tokio::test]
async fn an_order_above_the_payment_limit_fails_and_never_gets_a_delivery() {
    let mesh = spawn_mesh(Options {
        payment_limit_cents: 100,
        ..Options::default()
    })
    .await;
    let ids = mesh.menu_ids(1).await;
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id");
    let failed = mesh.order_with_status(id, "PAYMENT_FAILED").await;
    let reason = failed["history"][1]["detail"].as_str().unwrap_or_default();
    assert!(reason.contains("exceeds the limit"), "{reason}");

    // Give a wrongly opened delivery every chance to show up.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (code, _) = error_of(mesh.get(&format!("/delivery/status/{id}")).await, 404).await;
    assert_eq!(code, "NOT_FOUND");
}

#[tokio::test]
async fn a_skipped_delivery_step_is_a_409_naming_both_states() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(1).await;
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id");
    mesh.delivery_with_status(id, "PENDING").await;

    let response = mesh
        .put(
            &format!("/delivery/status/{id}"),
            &json!({"status": "PICKED_UP"}),
        )
        .await;
    let (code, message) = error_of(response, 409).await;
    assert_eq!(code, "FAILED_PRECONDITION");
    assert!(
        message.contains("PENDING") && message.contains("PICKED_UP"),
        "{message}"
    );

    // Any case, `-` or `_`, as the seed's users send it.
    let response = mesh
        .put(
            &format!("/delivery/status/{id}"),
            &json!({"status": "picked-up"}),
        )
        .await;
    let (_, message) = error_of(response, 409).await;
    assert!(message.contains("PICKED_UP"), "{message}");

    let response = mesh
        .put(
            &format!("/delivery/status/{id}"),
            &json!({"status": "TELEPORTED"}),
        )
        .await;
    let (_, message) = error_of(response, 400).await;
    assert!(message.starts_with("status: must be one of"), "{message}");
    let response = mesh
        .put(&format!("/delivery/status/{id}"), &json!({}))
        .await;
    error_of(response, 400).await;

    let ghost = uuid::Uuid::new_v4();
    error_of(mesh.get(&format!("/delivery/status/{ghost}")).await, 404).await;
    error_of(mesh.get(&format!("/orders/{ghost}")).await, 404).await;
    error_of(mesh.get("/orders/not-a-uuid").await, 400).await;
}

#[tokio::test]
async fn bad_orders_are_400s_naming_the_field() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(1).await;
    let cases = [
        (
            json!({"items": [{"menu_item_id": ids[0], "quantity": 1}], "delivery_address": "x"}),
            "customer_id: is required",
        ),
        (
            json!({"customer_id": "c", "items": [], "delivery_address": "x"}),
            "items: at least one item is required",
        ),
        (
            json!({"customer_id": "c", "items": [{"menu_item_id": ids[0], "quantity": 0}], "delivery_address": "x"}),
            "items[0].quantity",
        ),
        (
            json!({"customer_id": "c", "items": [{"menu_item_id": uuid::Uuid::new_v4(), "quantity": 1}], "delivery_address": "x"}),
            "items[0].menu_item_id: no menu item",
        ),
        (
            json!({"customer_id": "c", "items": [{"menu_item_id": ids[0], "quantity": 1}]}),
            "delivery_address: is required",
        ),
    ];
    for (body, expected) in cases {
        let (code, message) = error_of(mesh.post("/orders", &body).await, 400).await;
        assert_eq!(code, "INVALID_ARGUMENT");
        assert!(
            message.starts_with(expected),
            "{message} should start with {expected}"
        );
    }
}

#[tokio::test]
async fn an_idempotency_key_header_returns_the_first_order() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(1).await;
    let body = json!({"customer_id": "c-7", "items": [{"menu_item_id": ids[0], "quantity": 2}], "delivery_address": "x"});
    let send = || {
        mesh.http
            .post(mesh.url("/orders"))
            .header("Idempotency-Key", "retry-me")
            .json(&body)
            .send()
    };
    let first: Value = send().await.expect("answers").json().await.expect("json");
    let second = send().await.expect("answers");
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.expect("json");
    assert_eq!(first["id"], second["id"]);
    let listed: Vec<Value> = mesh
        .get("/orders?customer_id=c-7")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn cancelling_is_allowed_before_dispatch_only() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(1).await;
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id");
    mesh.delivery_with_status(id, "PENDING").await;
    let response = mesh
        .post(
            &format!("/orders/{id}/cancel"),
            &json!({"reason": "too slow"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let cancelled: Value = response.json().await.expect("json");
    assert_eq!(cancelled["status"], "CANCELLED");
    // The open delivery is called off.
    mesh.delivery_with_status(id, "FAILED").await;
    let again = mesh.post(&format!("/orders/{id}/cancel"), &json!({})).await;
    error_of(again, 409).await;
}

/// A request's id goes with everything it causes, carried by layers rather than passed along:
/// the gateway's call to order-service, the `OrderPlaced` it appends, billing's payment applied
/// from that event, and the `OrderPaid` order-service appends from the payment. An unfit id is
/// replaced at the edge, never carried on.
#[tokio::test]
async fn a_requests_id_goes_with_every_event_it_causes() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(1).await;
    let body = json!({
        "customer_id": "c-42",
        "items": [{"menu_item_id": ids[0], "quantity": 1}],
        "delivery_address": "1 Elm St",
    });
    let place = |request_id: &'static str| {
        mesh.http
            .post(mesh.url("/orders"))
            .header("x-request-id", request_id)
            .json(&body)
            .send()
    };

    let carried = place("req-carried-7").await.expect("answers");
    assert_eq!(carried.status(), 201);
    assert_eq!(carried.headers()["x-request-id"], "req-carried-7");
    let carried: Value = carried.json().await.expect("json");
    let replaced = place("has space").await.expect("answers");
    assert_eq!(replaced.status(), 201);
    let new_id = replaced.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&new_id).is_ok(), "{new_id}");
    let replaced: Value = replaced.json().await.expect("json");

    let (first, second) = (
        carried["id"].as_str().expect("id"),
        replaced["id"].as_str().expect("id"),
    );
    mesh.order_with_status(first, "PAID").await;
    mesh.order_with_status(second, "PAID").await;
    let records = mesh_testkit::records::read(
        &mesh.kafka,
        &mesh.kafka.topic(mesh_kafka::ORDER_EVENTS),
        4,
        crate::mesh::WAIT,
    )
    .await;
    let carried_by = |order: &str| {
        records
            .iter()
            .filter(|record| record.key.as_deref() == Some(order))
            .map(|record| {
                (
                    record.header("ce_type").unwrap_or_default().to_owned(),
                    record.header("x-request-id").map(str::to_owned),
                )
            })
            .collect::<Vec<_>>()
    };
    let events = |id: &str| {
        vec![
            ("mesh.events.v1.OrderPlaced".to_owned(), Some(id.to_owned())),
            ("mesh.events.v1.OrderPaid".to_owned(), Some(id.to_owned())),
        ]
    };
    assert_eq!(carried_by(first), events("req-carried-7"));
    assert_eq!(carried_by(second), events(&new_id));
}
