//! Couriers moving a delivery through its lifecycle with UpdateStatus, and reading it back.

use mesh_proto::{
    delivery::v1::{self as pb, BatchGetStatusRequest, DeliveryStatus},
    events::v1::DeliveryStatusChanged,
};
use tonic::Code;

use crate::helpers::{new_order_id, spawn_app, steps};

use DeliveryStatus::*;

#[tokio::test]
async fn a_delivery_moves_from_pending_to_delivered_and_every_step_is_an_event() {
    let app = spawn_app().await;
    let order_id = app.open_delivery().await;

    app.update(&order_id, Assigned, Some("Ana"))
        .await
        .expect("assigned");
    app.update(&order_id, PickedUp, None)
        .await
        .expect("picked up");
    app.update(&order_id, InTransit, None)
        .await
        .expect("in transit");
    let delivered = app
        .update(&order_id, Delivered, None)
        .await
        .expect("delivered");

    assert_eq!(delivered.status(), Delivered);
    assert_eq!(
        delivered.courier.as_deref(),
        Some("Ana"),
        "the courier is kept once set"
    );
    assert_eq!(
        steps(&delivered),
        [Pending, Assigned, PickedUp, InTransit, Delivered]
    );
    let sequences: Vec<i64> = delivered
        .history
        .iter()
        .map(|entry| entry.sequence)
        .collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
    assert_eq!(delivered.history[0].note.as_deref(), Some("order paid"));
    assert_eq!(app.status(&order_id).await.expect("found"), delivered);

    let records = app.delivery_events(5).await;
    let moves: Vec<(DeliveryStatus, DeliveryStatus)> = records
        .iter()
        .map(|record| {
            assert_eq!(record.key.as_deref(), Some(order_id.as_str()));
            assert_eq!(
                record.header("ce_type"),
                Some("mesh.events.v1.DeliveryStatusChanged")
            );
            let changed: DeliveryStatusChanged =
                mesh_proto::json::from_json(record.payload.as_bytes()).expect("readable JSON");
            assert_eq!(changed.order_id, order_id);
            (changed.from(), changed.to())
        })
        .collect();
    assert_eq!(
        moves,
        [
            (Unspecified, Pending),
            (Pending, Assigned),
            (Assigned, PickedUp),
            (PickedUp, InTransit),
            (InTransit, Delivered),
        ]
    );
    let ids: Vec<&str> = records.iter().filter_map(|r| r.header("ce_id")).collect();
    let history_ids: Vec<&str> = delivered
        .history
        .iter()
        .map(|e| e.event_id.as_str())
        .collect();
    assert_eq!(
        ids, history_ids,
        "the history names the events on the topic"
    );
    assert_eq!(records[0].header("x-request-id"), Some("req-from-order"));
}

#[tokio::test]
async fn a_skipped_step_is_refused_naming_both_states_and_changes_nothing() {
    let app = spawn_app().await;
    let order_id = app.open_delivery().await;

    let refused = app
        .update(&order_id, PickedUp, None)
        .await
        .expect_err("skips ASSIGNED");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        format!("cannot move the delivery of order {order_id} from PENDING to PICKED_UP")
    );
    let unchanged = app.status(&order_id).await.expect("found");
    assert_eq!(unchanged.status(), Pending);
    assert_eq!(unchanged.history.len(), 1);
}

#[tokio::test]
async fn a_delivery_stays_with_its_courier_unless_reassigned() {
    let app = spawn_app().await;
    let order_id = app.open_delivery().await;
    app.update(&order_id, Assigned, Some("Ana"))
        .await
        .expect("Ana takes it");

    for status in [PickedUp, Assigned] {
        let refused = app
            .update(&order_id, status, Some("Bo"))
            .await
            .expect_err("Ana holds it");
        assert_eq!(refused.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(
            refused.message(),
            format!(
                "the delivery of order {order_id} is held by courier \"Ana\"; \
                 only an admin may give it to \"Bo\""
            )
        );
    }
    let unchanged = app.status(&order_id).await.expect("found");
    assert_eq!(unchanged.courier.as_deref(), Some("Ana"));
    assert_eq!(steps(&unchanged), [Pending, Assigned]);

    let reassigned = app
        .update_with(&order_id, PickedUp, Some("Bo"), true)
        .await
        .expect("an admin's override");
    assert_eq!(reassigned.courier.as_deref(), Some("Bo"));
    assert_eq!(reassigned.history[2].courier.as_deref(), Some("Bo"));
    let refused = app
        .update(&order_id, InTransit, Some("Ana"))
        .await
        .expect_err("Bo holds it now");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    app.update(&order_id, InTransit, None)
        .await
        .expect("naming nobody keeps the holder");
    let moved = app
        .update(&order_id, Delivered, Some("Bo"))
        .await
        .expect("the holder moves it on");
    assert_eq!(moved.courier.as_deref(), Some("Bo"));
}

#[tokio::test]
async fn failed_is_reachable_until_the_delivery_is_final() {
    let app = spawn_app().await;
    let order_id = app.open_delivery().await;
    app.update(&order_id, Assigned, None)
        .await
        .expect("assigned");
    let failed = app.update(&order_id, Failed, None).await.expect("failed");
    assert_eq!(failed.status(), Failed);

    let refused = app
        .update(&order_id, Assigned, None)
        .await
        .expect_err("final");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("from FAILED to ASSIGNED"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn asking_for_the_current_status_again_changes_nothing() {
    let app = spawn_app().await;
    let order_id = app.open_delivery().await;
    app.update(&order_id, Assigned, Some("Ana"))
        .await
        .expect("assigned");
    let again = app
        .update(&order_id, Assigned, Some("Ana"))
        .await
        .expect("no-op");
    assert_eq!(again.status(), Assigned);
    assert_eq!(steps(&again), [Pending, Assigned]);
}

#[tokio::test]
async fn bad_requests_name_what_is_wrong() {
    let app = spawn_app().await;

    let unknown = new_order_id();
    let missing = app
        .update(&unknown, Assigned, None)
        .await
        .expect_err("unknown");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        missing.message(),
        format!("no delivery for order {unknown}")
    );
    assert_eq!(
        app.status(&unknown).await.expect_err("unknown").code(),
        Code::NotFound
    );

    let bad_id = app.update("abc", Assigned, None).await.expect_err("bad id");
    mesh_testkit::assert_invalid_argument(&bad_id, "order_id:");
    let bad_get = app.status("abc").await.expect_err("bad id");
    assert_eq!(bad_get.code(), Code::InvalidArgument);

    let order_id = app.open_delivery().await;
    let no_status = app
        .update(&order_id, Unspecified, None)
        .await
        .expect_err("no status");
    mesh_testkit::assert_invalid_argument(&no_status, "status:");

    let long = "x".repeat(201);
    let too_long = app
        .update(&order_id, Assigned, Some(long.as_str()))
        .await
        .expect_err("courier too long");
    mesh_testkit::assert_invalid_argument(&too_long, "courier:");
}

#[tokio::test]
async fn a_batch_answers_each_delivery_as_get_status_does_and_names_the_missing() {
    let app = spawn_app().await;
    let first = app.open_delivery().await;
    let second = app.open_delivery().await;
    app.update(&second, Assigned, Some("Ana"))
        .await
        .expect("assigned");
    let unknown = new_order_id();

    let batch = app
        .client
        .clone()
        .batch_get_status(BatchGetStatusRequest {
            order_ids: vec![
                second.clone(),
                unknown.clone(),
                first.clone(),
                second.clone(),
            ],
            read_mask: None,
        })
        .await
        .expect("the batch answers")
        .into_inner();

    let found: Vec<&str> = batch
        .deliveries
        .iter()
        .map(|d| d.order_id.as_str())
        .collect();
    assert_eq!(
        found,
        [second.as_str(), first.as_str()],
        "request order, once each"
    );
    assert_eq!(batch.missing_order_ids, [unknown]);
    assert_eq!(
        batch.deliveries[0],
        app.status(&second).await.expect("found")
    );
    assert_eq!(steps(&batch.deliveries[0]), [Pending, Assigned]);

    let refused = app
        .client
        .clone()
        .batch_get_status(BatchGetStatusRequest {
            order_ids: vec![first.clone(), "abc".into()],
            read_mask: None,
        })
        .await
        .expect_err("a bad id");
    // The rule names the element that breaks it.
    mesh_testkit::assert_invalid_argument(&refused, "order_ids[1]: must be a UUID");
    // One id past what the contract allows a call.
    let too_many = mesh_proto::rules::max_items("mesh.delivery.v1.BatchGetStatusRequest.order_ids")
        .expect("the contract bounds a batch")
        + 1;
    let too_many = app
        .client
        .clone()
        .batch_get_status(BatchGetStatusRequest {
            order_ids: vec![new_order_id(); too_many],
            read_mask: None,
        })
        .await
        .expect_err("too many");
    assert_eq!(too_many.code(), Code::InvalidArgument);

    // A read mask without `history` answers the same deliveries without it; one naming a field
    // a delivery lacks is refused by name.
    let mask = |paths: &[&str]| {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|path| (*path).to_owned()).collect(),
        })
    };
    let masked = app
        .client
        .clone()
        .batch_get_status(BatchGetStatusRequest {
            order_ids: vec![second.clone(), first.clone()],
            read_mask: mask(&["order_id", "status", "courier"]),
        })
        .await
        .expect("the batch answers")
        .into_inner();
    let whole = batch.deliveries[0].clone();
    assert_eq!(
        masked.deliveries[0],
        pb::Delivery {
            history: Vec::new(),
            ..whole
        }
    );
    assert_eq!(masked.deliveries.len(), 2);
    let refused = app
        .client
        .clone()
        .batch_get_status(BatchGetStatusRequest {
            order_ids: vec![first],
            read_mask: mask(&["status", "histories"]),
        })
        .await
        .expect_err("an unknown path");
    mesh_testkit::assert_invalid_argument(&refused, "read_mask");
}

#[tokio::test]
async fn the_server_lists_its_service_through_reflection_and_is_healthy() {
    let app = spawn_app().await;
    let services = mesh_testkit::reflected_services(app.served.addr).await;
    assert!(
        services.contains(&"mesh.delivery.v1.DeliveryService".to_owned()),
        "{services:?}"
    );
    assert_eq!(
        mesh_testkit::health(app.served.addr, "mesh.delivery.v1.DeliveryService").await,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}
