//! Payments and deliveries moving orders along, from the events other services publish.

use mesh_events::event_store;
use mesh_proto::{
    delivery::v1::DeliveryStatus,
    events::v1::{DeliveryStatusChanged, OrderPaid, PaymentCaptured, PaymentDeclined},
    order::v1::OrderStatus,
};
use mesh_testkit::records;
use order_service::{domain::Order, events::decode};

use crate::helpers::{WAIT, spawn_app};

fn moved(order_id: &str, to: DeliveryStatus) -> DeliveryStatusChanged {
    DeliveryStatusChanged {
        order_id: order_id.into(),
        to: to as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_captured_payment_pays_the_order_and_deliveries_complete_it() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 2)]).await;
    let id = order.id.clone();

    app.publish_billing(
        &id,
        &PaymentCaptured {
            order_id: id.clone(),
            amount_cents: 2500,
            currency: "USD".into(),
        },
    )
    .await;
    app.until_status(&id, OrderStatus::Paid).await;

    app.publish_delivery(&id, &moved(&id, DeliveryStatus::Assigned))
        .await;
    app.publish_delivery(&id, &moved(&id, DeliveryStatus::PickedUp))
        .await;
    app.publish_delivery(&id, &moved(&id, DeliveryStatus::InTransit))
        .await;
    app.until_status(&id, OrderStatus::OutForDelivery).await;
    app.publish_delivery(&id, &moved(&id, DeliveryStatus::Delivered))
        .await;
    let done = app.until_status(&id, OrderStatus::Delivered).await;

    let steps: Vec<&str> = done.history.iter().map(|h| h.event_type.as_str()).collect();
    assert_eq!(
        steps,
        [
            "OrderPlaced",
            "OrderPaid",
            "OrderOutForDelivery",
            "OrderDelivered"
        ]
    );
    let sequences: Vec<i64> = done.history.iter().map(|h| h.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4]);

    let published = app.order_events(4).await;
    let paid: OrderPaid =
        mesh_proto::json::from_json(published[1].payload.as_bytes()).expect("OrderPaid");
    assert_eq!(
        paid.delivery_address, "1 Main St, Springfield",
        "delivery needs the address"
    );
    assert_eq!(
        published[1].header("x-request-id"),
        Some("req-from-upstream"),
        "the cause's request id carries on"
    );

    // The projection is the fold of the event store: rebuild it and compare.
    let pool = app.store().await;
    let mut conn = pool.get().await.expect("connection");
    let stored = event_store::history(&mut conn, uuid::Uuid::parse_str(&id).expect("uuid"))
        .await
        .expect("history");
    let events: Vec<_> = stored
        .iter()
        .map(|s| (decode(s).expect("decodes"), s.occurred_at))
        .collect();
    let rebuilt = Order::from_history(
        uuid::Uuid::parse_str(&id).expect("uuid"),
        events.iter().map(|(e, t)| (e, *t)),
    )
    .expect("rebuilt");
    let projection = order_service::db::load(&mut conn, rebuilt.id, false)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(rebuilt, projection);
}

#[tokio::test]
async fn a_declined_payment_fails_the_order() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 1)]).await;
    let reason = "amount 1250.00 USD exceeds the limit".to_owned();
    app.publish_billing(
        &order.id,
        &PaymentDeclined {
            order_id: order.id.clone(),
            amount_cents: 1250,
            currency: "USD".into(),
            reason: reason.clone(),
        },
    )
    .await;
    let failed = app
        .until_status(&order.id, OrderStatus::PaymentFailed)
        .await;
    assert_eq!(
        failed.history.last().map(|h| h.detail.clone()),
        Some(reason)
    );
}

#[tokio::test]
async fn an_event_delivered_twice_changes_nothing() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 1)]).await;
    let captured = PaymentCaptured {
        order_id: order.id.clone(),
        amount_cents: 1250,
        currency: "USD".into(),
    };
    app.publish(
        mesh_kafka::BILLING_EVENTS,
        &order.id,
        "payment-event-1",
        &captured,
    )
    .await;
    app.publish(
        mesh_kafka::BILLING_EVENTS,
        &order.id,
        "payment-event-1",
        &captured,
    )
    .await;
    app.until_status(&order.id, OrderStatus::Paid).await;
    // A marker after the duplicate: once it is applied, the duplicate has been seen.
    app.publish_delivery(&order.id, &moved(&order.id, DeliveryStatus::PickedUp))
        .await;
    let order = app
        .until_status(&order.id, OrderStatus::OutForDelivery)
        .await;
    let steps: Vec<&str> = order
        .history
        .iter()
        .map(|h| h.event_type.as_str())
        .collect();
    assert_eq!(steps, ["OrderPlaced", "OrderPaid", "OrderOutForDelivery"]);
}

#[tokio::test]
async fn events_that_make_no_sense_go_to_the_dead_letter_topic() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 1)]).await;
    let ghost = uuid::Uuid::new_v4().to_string();
    app.publish_billing(
        &ghost,
        &PaymentCaptured {
            order_id: ghost.clone(),
            amount_cents: 1,
            currency: "USD".into(),
        },
    )
    .await;
    records::produce(
        &app.kafka,
        &app.kafka.topic(mesh_kafka::BILLING_EVENTS),
        "x",
        b"\x00garbage",
        &[
            ("ce_id", "poison-1"),
            ("ce_type", "mesh.events.v1.PaymentCaptured"),
        ],
    )
    .await;
    // Consumption goes on past both.
    app.publish_billing(
        &order.id,
        &PaymentCaptured {
            order_id: order.id.clone(),
            amount_cents: 1250,
            currency: "USD".into(),
        },
    )
    .await;
    app.until_status(&order.id, OrderStatus::Paid).await;

    let dlq = format!("{}.dlq", app.kafka.topic(mesh_kafka::BILLING_EVENTS));
    let dead = records::read(&app.kafka, &dlq, 2, WAIT).await;
    let reasons: Vec<&str> = dead.iter().filter_map(|r| r.header("dlq_reason")).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(&format!("no order {ghost}"))),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("PaymentCaptured")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_payment_after_cancellation_leaves_the_order_cancelled() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 1)]).await;
    app.orders
        .clone()
        .cancel_order(mesh_proto::order::v1::CancelOrderRequest {
            order_id: order.id.clone(),
            reason: String::new(),
        })
        .await
        .expect("cancelled");
    app.publish_billing(
        &order.id,
        &PaymentCaptured {
            order_id: order.id.clone(),
            amount_cents: 1250,
            currency: "USD".into(),
        },
    )
    .await;
    // The late payment is consumed and ignored: no new event, status unchanged.
    let records = app.order_events(2).await;
    assert_eq!(
        records[1].header("ce_type"),
        Some("mesh.events.v1.OrderCancelled")
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let order = app.get(&order.id).await;
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert_eq!(order.history.len(), 2);
}
