//! Placed orders charged once each, with the outcome on `billing-events`.

use mesh_kit::db;

use mesh_events::event_store;
use mesh_kafka::{BILLING_EVENTS, ORDER_EVENTS, dlq_of};
use mesh_proto::{
    billing::v1::{GetPaymentRequest, PaymentStatus},
    events::v1::{OrderPaid, PaymentCaptured, PaymentDeclined},
};
use mesh_testkit::records;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{WAIT, new_id, placed, publish, spawn_app};

#[tokio::test]
async fn an_order_within_the_limit_is_captured_and_one_above_declined() {
    let app = spawn_app().await;
    let (cheap, dear) = app.place_cheap_and_dear().await;

    let captured = app.payment(&cheap).await;
    assert_eq!(captured.status(), PaymentStatus::Captured);
    assert_eq!(
        (captured.amount_cents, captured.currency.as_str()),
        (2_500, "USD")
    );
    assert_eq!(
        captured.decline_reason, None,
        "a captured payment has no decline reason"
    );

    let declined = app.payment(&dear).await;
    assert_eq!(declined.status(), PaymentStatus::Declined);
    assert_eq!(
        declined.decline_reason.as_deref(),
        Some("amount 1200.00 USD exceeds the limit of 1000.00 USD")
    );

    let published = records::read(&app.kafka, &app.kafka.topic(BILLING_EVENTS), 2, WAIT).await;
    for record in &published {
        assert_eq!(record.header("x-request-id"), Some("req-from-upstream"));
        match record.header("ce_type") {
            Some("mesh.events.v1.PaymentCaptured") => {
                let event: PaymentCaptured =
                    mesh_proto::json::from_json(record.payload.as_bytes()).expect("JSON");
                assert_eq!(event.order_id, cheap);
                assert_eq!(record.key.as_deref(), Some(cheap.as_str()));
                assert_eq!(event.amount_cents, 2_500);
            }
            Some("mesh.events.v1.PaymentDeclined") => {
                let event: PaymentDeclined =
                    mesh_proto::json::from_json(record.payload.as_bytes()).expect("JSON");
                assert_eq!(event.order_id, dear);
                assert_eq!(
                    declined.decline_reason.as_deref(),
                    Some(event.reason.as_str())
                );
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_order_delivered_twice_is_charged_once() {
    let app = spawn_app().await;
    let order_id = new_id();
    let event_id = new_id();
    app.place(&order_id, &event_id, 2_500).await;
    app.place(&order_id, &event_id, 2_500).await;
    // Another event for the same order (a replay from the DLQ with a new id, say).
    app.place(&order_id, &new_id(), 2_500).await;
    let marker = new_id();
    app.place(&marker, &new_id(), 100).await;
    app.payment(&marker).await;
    app.payment(&order_id).await;

    let pool = db::connect(&app.database, &[&event_store::MIGRATIONS])
        .await
        .expect("database");
    let mut conn = pool.get().await.expect("connection");
    let id = Uuid::parse_str(&order_id).expect("uuid");
    let history = event_store::history(&mut conn, id).await.expect("history");
    assert_eq!(history.len(), 1, "one payment event for the order");
}

#[tokio::test]
async fn an_order_id_that_is_not_a_uuid_is_dead_lettered_and_other_events_ignored() {
    let app = spawn_app().await;
    let good = new_id();
    // One key, so one partition: the three are handled in this order.
    let paid = OrderPaid {
        order_id: good.clone(),
        amount_cents: 2_500,
        currency: "USD".into(),
        ..Default::default()
    };
    publish(&app.kafka, ORDER_EVENTS, &good, "paid-1", &paid).await;
    let bad = placed("not-a-uuid", 2_500);
    publish(&app.kafka, ORDER_EVENTS, &good, "bad-1", &bad).await;
    app.place(&good, &new_id(), 2_500).await;
    assert_eq!(app.payment(&good).await.status(), PaymentStatus::Captured);

    // The OrderPaid came first: had it been dead-lettered, it would be the first record here.
    let dead = records::read(&app.kafka, &app.kafka.topic(&dlq_of(ORDER_EVENTS)), 1, WAIT).await;
    assert_eq!(dead[0].header("ce_id"), Some("bad-1"));
    assert_eq!(
        dead[0].header("dlq_reason"),
        Some(r#"order id "not-a-uuid" is not a UUID"#)
    );
}

#[tokio::test]
async fn get_payment_names_what_is_wrong() {
    let app = spawn_app().await;
    let bad = app
        .client
        .clone()
        .get_payment(GetPaymentRequest {
            order_id: "abc".into(),
        })
        .await
        .expect_err("not a UUID");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().starts_with("order_id:"), "{}", bad.message());

    let unknown = new_id();
    let missing = app
        .client
        .clone()
        .get_payment(GetPaymentRequest {
            order_id: unknown.clone(),
        })
        .await
        .expect_err("never placed");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        missing.message(),
        format!("no payment for order {unknown} yet")
    );
}

#[tokio::test]
async fn the_server_lists_its_service_through_reflection() {
    let app = spawn_app().await;
    let services = mesh_testkit::reflected_services(app.served.addr).await;
    assert!(
        services.contains(&"mesh.billing.v1.BillingService".to_owned()),
        "{services:?}"
    );
}
