//! The deliveries read model is the fold of the delivery events: rebuilt from the event table it
//! comes out row for row as the live one, and events stored before a schema change still load.

use delivery_service::Config;
use mesh_proto::delivery::v1::DeliveryStatus;
use mesh_testkit::projection::{self, OldEvent};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app, steps};

use DeliveryStatus::*;

fn config(app: &TestApp) -> Config {
    Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: app.database.clone(),
        kafka: app.kafka.clone(),
    }
}

async fn live_rows(app: &TestApp) -> Vec<String> {
    projection::rows(&app.database, "deliveries", "order_id").await
}

#[tokio::test]
async fn the_rebuilt_projection_equals_the_live_one() {
    let app = spawn_app().await;
    let pending = app.open_delivery().await;
    let assigned = app.open_delivery().await;
    let delivered = app.open_delivery().await;
    app.update(&assigned, Assigned, Some("Ana"))
        .await
        .expect("assigned");
    for (status, courier) in [
        (Assigned, Some("Bo")),
        (PickedUp, None),
        (InTransit, None),
        (Delivered, None),
    ] {
        app.update(&delivered, status, courier)
            .await
            .expect("moved");
    }
    let live = live_rows(&app).await;
    assert_eq!(live.len(), 3, "three deliveries: {live:#?}");

    delivery_service::service(&config(&app))
        .rebuild_projection()
        .await
        .expect("the projection rebuilds");

    assert_eq!(live_rows(&app).await, live, "rebuilt rows = live rows");
    assert_eq!(app.status(&pending).await.expect("found").status(), Pending);
    let delivered = app.status(&delivered).await.expect("found");
    assert_eq!(delivered.courier.as_deref(), Some("Bo"));
    assert_eq!(delivered.delivery_address, "1 Main St, Springfield");
}

#[tokio::test]
async fn a_delivery_opened_by_a_version_1_event_still_loads_and_moves_on() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    // Version 1 of DeliveryStatusChanged, before the opening event carried the address.
    projection::store_old_event(
        &app.database,
        OldEvent {
            aggregate_id: order_id,
            sequence: 1,
            event_type: "mesh.events.v1.DeliveryStatusChanged",
            schema_version: 1,
            payload: json!({
                "orderId": order_id.to_string(),
                "to": "DELIVERY_STATUS_PENDING",
                "note": "order paid",
                "occurTime": "2026-01-02T03:04:05Z",
            }),
        },
    )
    .await;

    delivery_service::service(&config(&app))
        .rebuild_projection()
        .await
        .expect("the projection rebuilds from the old event");

    let id = order_id.to_string();
    let opened = app.status(&id).await.expect("the old delivery is there");
    assert_eq!(opened.status(), Pending);
    assert_eq!(
        opened.delivery_address, "",
        "version 1 did not know the address"
    );
    assert_eq!(opened.history[0].note.as_deref(), Some("order paid"));

    let assigned = app
        .update(&id, Assigned, Some("Ana"))
        .await
        .expect("a delivery folded from an old event moves on");
    assert_eq!(steps(&assigned), [Pending, Assigned]);
    assert_eq!(assigned.history[1].sequence, 2);
}

#[tokio::test]
async fn the_rebuild_projection_command_rewrites_the_rows_and_exits() {
    let app = spawn_app().await;
    let order_id = app.open_delivery().await;
    app.update(&order_id, Assigned, Some("Ana"))
        .await
        .expect("assigned");
    let live = live_rows(&app).await;

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_delivery-service"))
        .arg("rebuild-projection")
        .env("PG_URL", &app.database.server_url)
        .env("DELIVERY_DB_NAME", &app.database.name)
        .env("KAFKA_BROKERS", &app.kafka.brokers)
        .output()
        .await
        .expect("the command runs");

    assert!(
        output.status.success(),
        "rebuild-projection failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(live_rows(&app).await, live, "rebuilt rows = live rows");
}
