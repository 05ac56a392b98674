//! Billing requests from `billing-requests`: stored once each, listed by user, poison to the
//! dead-letter topic.

use mesh_kafka::{BILLING_REQUESTS, dlq_of};
use mesh_proto::billing::v1::{
    GetBillingOrderRequest, ListBillingOrdersRequest, ReserveRequestIdRequest,
};
use mesh_testkit::records;
use tonic::Code;

use crate::helpers::{WAIT, all_orders_of, new_id, queue, requested, spawn_app};

#[tokio::test]
async fn a_queued_request_is_stored_once_however_often_it_arrives() {
    let app = spawn_app().await;
    let request = requested(3, 18_000);
    queue(&app.kafka, &request).await;
    queue(&app.kafka, &request).await;

    let order = app.stored(&request.request_id).await;
    assert_eq!(order.request_id, request.request_id);
    assert_eq!(
        (
            order.user_id,
            order.number_of_items,
            order.total_amount_cents
        ),
        (3, 5, 18_000)
    );
    assert_eq!(
        order.receive_time,
        request.request_time.map(|t| {
            // PostgreSQL keeps microseconds.
            mesh_proto::timestamp(
                mesh_proto::from_timestamp(&t)
                    .map(|t| chrono::SubsecRound::trunc_subsecs(t, 6))
                    .expect("time"),
            )
        })
    );
    assert!(order.process_time.is_some());

    let marker = requested(3, 1);
    queue(&app.kafka, &marker).await;
    app.stored(&marker.request_id).await;
    assert_eq!(
        all_orders_of(&app.client, 3, 0).await.len(),
        2,
        "stored once"
    );
}

#[tokio::test]
async fn a_users_orders_are_listed_page_by_page() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for cents in 0..7 {
        let request = requested(42, cents);
        queue(&app.kafka, &request).await;
        ids.push(request.request_id);
    }
    queue(&app.kafka, &requested(43, 1)).await;
    for id in &ids {
        app.stored(id).await;
    }
    let listed = all_orders_of(&app.client, 42, 3).await;
    let listed_ids: Vec<&str> = listed.iter().map(|o| o.request_id.as_str()).collect();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut sorted = listed_ids.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "every order once, none of another user");
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id), "oldest first");

    let bad = app
        .client
        .clone()
        .list_billing_orders(ListBillingOrdersRequest {
            user_id: 0,
            ..Default::default()
        })
        .await
        .expect_err("no user");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let bad_token = app
        .client
        .clone()
        .list_billing_orders(ListBillingOrdersRequest {
            user_id: 42,
            page_token: "junk!".into(),
            ..Default::default()
        })
        .await
        .expect_err("junk token");
    assert_eq!(bad_token.code(), Code::InvalidArgument);
    let bad_id = app
        .client
        .clone()
        .get_billing_order(GetBillingOrderRequest {
            request_id: "abc".into(),
        })
        .await
        .expect_err("not a UUID");
    assert_eq!(bad_id.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn poison_goes_to_the_dead_letter_topic_and_consuming_goes_on() {
    let app = spawn_app().await;
    let topic = app.kafka.topic(BILLING_REQUESTS);
    records::produce(
        &app.kafka,
        &topic,
        "9",
        b"not json at all",
        &[
            ("ce_id", "poison-1"),
            ("ce_type", "mesh.events.v1.BillingRequested"),
        ],
    )
    .await;
    let invalid = requested(0, 100);
    queue(&app.kafka, &invalid).await;
    let good = requested(9, 100);
    queue(&app.kafka, &good).await;
    app.stored(&good.request_id).await;

    let dead = records::read(
        &app.kafka,
        &app.kafka.topic(&dlq_of(BILLING_REQUESTS)),
        2,
        WAIT,
    )
    .await;
    let reasons: Vec<(&str, &str)> = dead
        .iter()
        .map(|r| {
            (
                r.header("ce_id").unwrap_or_default(),
                r.header("dlq_reason").unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(id, reason)| *id == "poison-1" && reason.contains("BillingRequested")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(id, reason)| *id == invalid.request_id
            && reason.contains("user_id: must be a positive integer")),
        "{reasons:?}"
    );
    assert!(
        dead.iter()
            .all(|r| r.header("dlq_topic") == Some(topic.as_str()))
    );
}

#[tokio::test]
async fn a_request_id_is_reserved_for_the_first_request_sent_with_it() {
    let app = spawn_app().await;
    let reserve = |request_id: &str, number_of_items: i64| {
        let mut client = app.client.clone();
        let request = ReserveRequestIdRequest {
            request_id: request_id.to_owned(),
            user_id: 3,
            number_of_items,
            total_amount_cents: 18_000,
        };
        async move { client.reserve_request_id(request).await }
    };
    let id = new_id();
    let first = reserve(&id, 5).await.expect("reserved").into_inner();
    assert!(first.first_use, "the first reservation");
    let retry = reserve(&id, 5).await.expect("a retry").into_inner();
    assert!(!retry.first_use, "the same request again is a retry");

    let other = reserve(&id, 6).await.expect_err("another request");
    assert_eq!(other.code(), Code::AlreadyExists, "{other:?}");
    let other_id = reserve(&new_id(), 6).await.expect("another id");
    assert!(other_id.into_inner().first_use);

    let bad = reserve("not-a-uuid", 5).await.expect_err("refused");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("request_id"), "{bad:?}");
    let bad = reserve(&new_id(), 0).await.expect_err("refused");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("number_of_items"), "{bad:?}");
}
