//! The orders read model (`orders`, `order_lines`) is the fold of the order events: rebuilt from
//! the event table it comes out row for row as the live one.

use mesh_proto::{
    events::v1::{PaymentCaptured, PaymentDeclined},
    order::v1::{CancelOrderRequest, OrderStatus},
};
use mesh_testkit::projection;
use order_service::Config;

use crate::helpers::{TestApp, spawn_app};

fn config(app: &TestApp) -> Config {
    Config {
        serve: Default::default(),
        balance: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: app.database.clone(),
        kafka: app.kafka.clone(),
        menu_url: app.menu.url(),
    }
}

async fn live_rows(app: &TestApp) -> (Vec<String>, Vec<String>) {
    (
        projection::rows(&app.database, "orders", "id").await,
        projection::rows(&app.database, "order_lines", "order_id, line_no").await,
    )
}

#[tokio::test]
async fn the_rebuilt_projection_equals_the_live_one() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let soda = app.menu_item("Soda", 300).await;
    let placed = app.place(&[(&pizza, 1)]).await;
    let paid = app.place(&[(&pizza, 2), (&soda, 3)]).await;
    let declined = app.place(&[(&soda, 1)]).await;
    let cancelled = app.place(&[(&pizza, 1), (&soda, 1)]).await;
    app.publish_billing(
        &paid.id,
        &PaymentCaptured {
            order_id: paid.id.clone(),
            amount_cents: 3400,
            currency: "USD".into(),
        },
    )
    .await;
    app.publish_billing(
        &declined.id,
        &PaymentDeclined {
            order_id: declined.id.clone(),
            amount_cents: 300,
            currency: "USD".into(),
            reason: "over the limit".into(),
        },
    )
    .await;
    app.orders
        .clone()
        .cancel_order(CancelOrderRequest {
            order_id: cancelled.id.clone(),
            reason: "changed my mind".into(),
        })
        .await
        .expect("cancelled");
    app.until_status(&paid.id, OrderStatus::Paid).await;
    app.until_status(&declined.id, OrderStatus::PaymentFailed)
        .await;
    let (orders, lines) = live_rows(&app).await;
    assert_eq!(orders.len(), 4, "four orders: {orders:#?}");
    assert_eq!(lines.len(), 6, "six lines: {lines:#?}");

    order_service::service(&config(&app))
        .rebuild_projection()
        .await
        .expect("the projection rebuilds");

    assert_eq!(
        live_rows(&app).await,
        (orders, lines),
        "rebuilt rows = live rows"
    );
    assert_eq!(app.get(&placed.id).await, placed);
    assert_eq!(
        app.get(&cancelled.id).await.status(),
        OrderStatus::Cancelled
    );
}
