//! Killing a service mid-flow loses nothing and applies nothing twice.

use std::{collections::HashSet, time::Duration};

use serde_json::Value;

use crate::mesh::{Options, spawn_mesh};

#[tokio::test]
async fn killing_delivery_service_mid_flow_loses_and_repeats_nothing() {
    let mut mesh = spawn_mesh(Options {
        delivery_as_process: true,
        ..Options::default()
    })
    .await;
    let ids = mesh.menu_ids(1).await;

    // One order all the way to PICKED_UP, so the kill lands in the middle of a delivery.
    let first = mesh.place(&ids).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    mesh.delivery_with_status(&first, "PENDING").await;
    assert_eq!(mesh.move_delivery(&first, "ASSIGNED").await.0, 200);
    assert_eq!(mesh.move_delivery(&first, "PICKED_UP").await.0, 200);

    // More orders whose payments flow while delivery-service dies.
    let mut orders = vec![first.clone()];
    for _ in 0..5 {
        orders.push(
            mesh.place(&ids).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    mesh.kill_delivery().await;
    for _ in 0..3 {
        orders.push(
            mesh.place(&ids).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    // Restarted a moment later, as a supervisor would, while the broker still lists the dead
    // member (its session is 6 s). tansu 0.6 then leaves the dead member's partitions to no one
    // unless the consumer notices and rejoins (mesh_kafka::group_watch); without that this test
    // fails.
    tokio::time::sleep(Duration::from_secs(4)).await;
    mesh.restart_delivery().await;

    // Every paid order gets exactly one delivery, opened once.
    for id in &orders[1..] {
        let delivery = mesh.delivery_with_status(id, "PENDING").await;
        let history = delivery["history"].as_array().expect("history");
        assert_eq!(
            history.len(),
            1,
            "delivery of {id} opened once: {delivery}\n{}",
            mesh.delivery_log()
        );
    }
    // The one in flight carries on from where it was.
    let delivery = mesh.delivery_with_status(&first, "PICKED_UP").await;
    assert_eq!(delivery["history"].as_array().map(Vec::len), Some(3));
    assert_eq!(mesh.move_delivery(&first, "IN_TRANSIT").await.0, 200);
    assert_eq!(mesh.move_delivery(&first, "DELIVERED").await.0, 200);
    let done = mesh.order_with_status(&first, "DELIVERED").await;
    let events: Vec<&str> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["event_type"].as_str())
        .collect();
    assert_eq!(
        events,
        [
            "OrderPlaced",
            "OrderPaid",
            "OrderOutForDelivery",
            "OrderDelivered"
        ]
    );
    let event_ids: HashSet<&str> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h: &Value| h["event_id"].as_str())
        .collect();
    assert_eq!(event_ids.len(), 4, "no event applied twice");
}
