//! Paid and cancelled orders arriving on `order-events`: deliveries opened and failed exactly
//! once, poison sent to the dead-letter topic, and nothing lost or repeated across a restart.

use mesh_kafka::{ORDER_EVENTS, dlq_of};
use mesh_proto::{
    delivery::v1::DeliveryStatus,
    events::v1::{OrderCancelled, OrderPaid, OrderPlaced},
};
use mesh_testkit::records;

use crate::helpers::{WAIT, new_order_id, publish_order_event, spawn_app, start, steps};

use DeliveryStatus::*;

fn paid(order_id: &str) -> OrderPaid {
    OrderPaid {
        order_id: order_id.into(),
        amount_cents: 2500,
        currency: "USD".into(),
        delivery_address: "1 Main St, Springfield".into(),
    }
}

#[tokio::test]
async fn a_paid_order_opens_one_delivery_however_often_the_event_arrives() {
    let app = spawn_app().await;
    let order_id = new_order_id();
    let event_id = new_order_id();
    // The same event twice (a redelivery), then another OrderPaid for the same order.
    app.publish_order_event(&order_id, &event_id, &paid(&order_id))
        .await;
    app.publish_order_event(&order_id, &event_id, &paid(&order_id))
        .await;
    app.pay(&order_id).await;
    // An order placed but not paid opens nothing; a marker after it shows all were consumed.
    let unpaid = new_order_id();
    app.publish_order_event(
        &unpaid,
        &new_order_id(),
        &OrderPlaced {
            order_id: unpaid.clone(),
            ..Default::default()
        },
    )
    .await;
    let marker = new_order_id();
    app.pay(&marker).await;
    app.until_status(&marker, Pending).await;

    let delivery = app.until_status(&order_id, Pending).await;
    assert_eq!(steps(&delivery), [Pending], "one delivery, opened once");
    assert_eq!(
        app.status(&unpaid).await.expect_err("not paid").code(),
        tonic::Code::NotFound
    );
}

#[tokio::test]
async fn a_cancelled_order_fails_its_delivery_with_the_reason() {
    let app = spawn_app().await;
    let order_id = app.open_delivery().await;
    app.update(&order_id, Assigned, Some("Ana"))
        .await
        .expect("assigned");
    app.publish_order_event(
        &order_id,
        &new_order_id(),
        &OrderCancelled {
            order_id: order_id.clone(),
            reason: "customer changed their mind".into(),
        },
    )
    .await;
    let failed = app.until_status(&order_id, Failed).await;
    assert_eq!(steps(&failed), [Pending, Assigned, Failed]);
    assert_eq!(
        failed
            .history
            .last()
            .and_then(|entry| entry.note.as_deref()),
        Some("order cancelled: customer changed their mind")
    );
}

#[tokio::test]
async fn an_unparseable_event_goes_to_the_dead_letter_topic_and_consuming_goes_on() {
    let app = spawn_app().await;
    let poisoned = new_order_id();
    records::produce(
        &app.kafka,
        &app.kafka.topic(ORDER_EVENTS),
        &poisoned,
        b"{not json",
        &[
            ("ce_id", new_order_id().as_str()),
            ("ce_type", "mesh.events.v1.OrderPaid"),
            ("ce_specversion", "1.0"),
        ],
    )
    .await;
    let order_id = new_order_id();
    app.pay(&order_id).await;
    app.until_status(&order_id, Pending).await;

    let dlq = app.kafka.topic(&dlq_of(ORDER_EVENTS));
    let dead = records::read(&app.kafka, &dlq, 1, WAIT).await;
    assert_eq!(dead[0].key.as_deref(), Some(poisoned.as_str()));
    assert_eq!(dead[0].payload, "{not json");
    let reason = dead[0].header("dlq_reason").unwrap_or_default();
    assert!(reason.contains("OrderPaid"), "{reason}");
}

#[tokio::test]
async fn a_restarted_service_resumes_without_losing_or_repeating_anything() {
    let app = spawn_app().await;
    let before = app.open_delivery().await;
    app.update(&before, Assigned, None).await.expect("assigned");

    // Events published while the service is down are applied when it is back.
    let database = app.database.clone();
    let kafka = app.kafka.clone();
    app.served.stop().await;
    let during = new_order_id();
    publish_order_event(&kafka, &during, &new_order_id(), &paid(&during)).await;

    let app = start(database, kafka).await;
    let opened = app.until_status(&during, Pending).await;
    assert_eq!(steps(&opened), [Pending]);
    let earlier = app.status(&before).await.expect("still there");
    assert_eq!(
        steps(&earlier),
        [Pending, Assigned],
        "nothing applied twice"
    );
}
