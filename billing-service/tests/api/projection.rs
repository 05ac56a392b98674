//! The payments read model is the fold of the payment events: rebuilt from the event table it
//! comes out row for row as the live one. And many payments in one call.

use billing_service::Config;
use mesh_proto::billing::v1::{BatchGetPaymentsRequest, PaymentStatus};
use mesh_testkit::projection;

use crate::helpers::{LIMIT_CENTS, TestApp, new_id, spawn_app};

fn config(app: &TestApp) -> Config {
    Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: app.database.clone(),
        kafka: app.kafka.clone(),
        payment_limit_cents: LIMIT_CENTS,
    }
}

#[tokio::test]
async fn the_rebuilt_projection_equals_the_live_one() {
    let app = spawn_app().await;
    let (cheap, dear) = app.place_cheap_and_dear().await;
    app.payment(&cheap).await;
    app.payment(&dear).await;
    let live = projection::rows(&app.database, "payments", "order_id").await;
    assert_eq!(live.len(), 2, "two payments: {live:#?}");

    billing_service::service(&config(&app))
        .rebuild_projection()
        .await
        .expect("the projection rebuilds");

    assert_eq!(
        projection::rows(&app.database, "payments", "order_id").await,
        live,
        "rebuilt rows = live rows"
    );
    assert_eq!(app.payment(&dear).await.status(), PaymentStatus::Declined);
}

#[tokio::test]
async fn a_batch_answers_each_payment_as_get_payment_does_and_names_the_missing() {
    let app = spawn_app().await;
    let (cheap, dear) = app.place_cheap_and_dear().await;
    let captured = app.payment(&cheap).await;
    let declined = app.payment(&dear).await;
    let unknown = new_id();

    let batch = app
        .client
        .clone()
        .batch_get_payments(BatchGetPaymentsRequest {
            order_ids: vec![dear.clone(), unknown.clone(), cheap.clone(), dear.clone()],
        })
        .await
        .expect("the batch answers")
        .into_inner();
    assert_eq!(
        batch.payments,
        [declined, captured],
        "request order, once each"
    );
    assert_eq!(batch.missing_order_ids, [unknown]);

    let refused = app
        .client
        .clone()
        .batch_get_payments(BatchGetPaymentsRequest {
            order_ids: vec![cheap, "abc".into()],
        })
        .await
        .expect_err("a bad id");
    // The rule names the element that breaks it.
    mesh_testkit::assert_invalid_argument(&refused, "order_ids[1]: must be a UUID");
}
