//! Placing, reading, listing and cancelling orders.

use mesh_proto::{
    events::v1::OrderPlaced,
    menu::v1::UpdateMenuItemRequest,
    order::v1::{
        CancelOrderRequest, CreateOrderItem, GetOrderRequest, ListOrdersRequest, OrderStatus,
    },
};
use tonic::{Code, metadata::MetadataValue};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{order_request, spawn_app};

#[tokio::test]
async fn places_an_order_priced_by_the_menu_and_publishes_it() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let soda = app.menu_item("Lemonade", 350).await;

    let mut request = tonic::Request::new(order_request(&[(&pizza, 2), (&soda, 3)]));
    request
        .metadata_mut()
        .insert("x-request-id", MetadataValue::from_static("req-place-1"));
    let order = app
        .orders
        .clone()
        .create_order(request)
        .await
        .expect("placed")
        .into_inner();

    assert_eq!(order.status(), OrderStatus::Placed);
    assert_eq!(order.total_cents, 2 * 1250 + 3 * 350);
    assert_eq!(order.currency, "USD");
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.items[0].name, "Margherita");
    assert_eq!(order.items[0].unit_price_cents, 1250);
    assert_eq!(order.history.len(), 1);
    assert_eq!(order.history[0].event_type, "OrderPlaced");
    assert_eq!(order.history[0].sequence, 1);
    assert_eq!(order.history[0].detail, "5 item(s), 35.50 USD");
    // The answer is made from what was just written; a read of the order finds the same.
    let read = app
        .orders
        .clone()
        .get_order(GetOrderRequest {
            order_id: order.id.clone(),
            ..Default::default()
        })
        .await
        .expect("read back")
        .into_inner();
    assert_eq!(read, order);

    let records = app.order_events(1).await;
    let record = &records[0];
    assert_eq!(record.key.as_deref(), Some(order.id.as_str()));
    assert_eq!(record.header("ce_type"), Some("mesh.events.v1.OrderPlaced"));
    assert_eq!(record.header("ce_source"), Some("/mesh/order-service"));
    assert_eq!(
        record.header("ce_id"),
        Some(order.history[0].event_id.as_str())
    );
    assert_eq!(record.header("x-request-id"), Some("req-place-1"));
    let placed: OrderPlaced =
        mesh_proto::json::from_json(record.payload.as_bytes()).expect("readable JSON");
    assert_eq!(placed.total_cents, order.total_cents);
    assert_eq!(placed.items.len(), 2);
}

#[tokio::test]
async fn refuses_invalid_orders_naming_the_problem() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let soup = app.menu_item("Soup of the day", 600).await;
    app.menu_client
        .clone()
        .update_menu_item(UpdateMenuItemRequest {
            id: soup.id.clone(),
            available: Some(false),
            ..Default::default()
        })
        .await
        .expect("soup off the menu");

    let mut unknown = order_request(&[(&pizza, 1)]);
    unknown.items.push(CreateOrderItem {
        menu_item_id: uuid::Uuid::new_v4().to_string(),
        quantity: 1,
    });
    let mut no_address = order_request(&[(&pizza, 1)]);
    no_address.delivery_address = " ".into();
    let cases = [
        (
            order_request(&[]),
            "items: at least one item is required".to_owned(),
        ),
        (
            order_request(&[(&pizza, 0)]),
            "items[0].quantity: must be between 1 and 100".to_owned(),
        ),
        (
            order_request(&[(&pizza, 101)]),
            "items[0].quantity: must be between 1 and 100".to_owned(),
        ),
        (
            order_request(&[(&pizza, 1), (&soup, 1)]),
            "items[1].menu_item_id: Soup of the day is not available".to_owned(),
        ),
        (unknown, "items[1].menu_item_id: no menu item".to_owned()),
        (no_address, "delivery_address: is required".to_owned()),
    ];
    for (request, expected) in cases {
        let status = app
            .orders
            .clone()
            .create_order(request)
            .await
            .expect_err("refused");
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{expected}: {status:?}"
        );
        assert!(
            status.message().starts_with(&expected),
            "{} does not start with {expected}",
            status.message()
        );
    }
}

#[tokio::test]
async fn a_menu_outage_is_unavailable() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    app.menu.stop().await;
    let status = app
        .orders
        .clone()
        .create_order(order_request(&[(&pizza, 1)]))
        .await
        .expect_err("menu is down");
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("menu-service"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_first_order() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let mut request = order_request(&[(&pizza, 1)]);
    request.idempotency_key = "checkout-42".into();
    let first = app
        .orders
        .clone()
        .create_order(request.clone())
        .await
        .expect("placed")
        .into_inner();
    let again = app
        .orders
        .clone()
        .create_order(request.clone())
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(again.id, first.id);
    assert_eq!(again.history.len(), 1);

    let listed = app
        .orders
        .clone()
        .list_orders(ListOrdersRequest {
            customer_id: "customer-1".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .orders;
    assert_eq!(listed.len(), 1, "nothing new was placed");

    // A retry gets its order back even when the menu cannot price it any more.
    app.menu.stop().await;
    let during_outage = app
        .orders
        .clone()
        .create_order(request)
        .await
        .expect("replayed while the menu is down")
        .into_inner();
    assert_eq!(during_outage.id, first.id);
}

#[tokio::test]
async fn reusing_an_idempotency_key_for_another_order_is_already_exists() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let mut request = order_request(&[(&pizza, 1)]);
    request.idempotency_key = "checkout-43".into();
    app.orders
        .clone()
        .create_order(request.clone())
        .await
        .expect("placed");

    let mut other_customer = request.clone();
    other_customer.customer_id = "customer-2".into();
    let mut other_quantity = request.clone();
    other_quantity.items[0].quantity = 2;
    for different in [other_customer, other_quantity] {
        let refused = app
            .orders
            .clone()
            .create_order(different)
            .await
            .expect_err("a different order under the same key is refused");
        assert_eq!(refused.code(), tonic::Code::AlreadyExists, "{refused:?}");
    }
    // Nothing of the first order leaked, and nothing new was placed for the other customer.
    let theirs = app
        .orders
        .clone()
        .list_orders(ListOrdersRequest {
            customer_id: "customer-2".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .orders;
    assert!(theirs.is_empty());
}

#[tokio::test]
async fn cancels_only_before_dispatch() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 1)]).await;
    let cancel = |reason: &str| {
        let mut client = app.orders.clone();
        let request = CancelOrderRequest {
            order_id: order.id.clone(),
            reason: reason.into(),
        };
        async move { client.cancel_order(request).await }
    };
    let cancelled = cancel("changed my mind")
        .await
        .expect("cancelled")
        .into_inner();
    assert_eq!(cancelled.status(), OrderStatus::Cancelled);
    assert_eq!(
        cancelled.history.last().map(|h| h.detail.as_str()),
        Some("changed my mind")
    );

    let status = cancel("again").await.expect_err("already cancelled");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("from CANCELLED to CANCELLED"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_cancel_reason_with_control_characters_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 1)]).await;
    let status = app
        .orders
        .clone()
        .cancel_order(CancelOrderRequest {
            order_id: order.id.clone(),
            reason: "oops\u{0}".into(),
        })
        .await
        .expect_err("refused");
    mesh_testkit::assert_invalid_argument(&status, "reason");
    let unchanged = app
        .orders
        .clone()
        .get_order(mesh_proto::order::v1::GetOrderRequest {
            order_id: order.id.clone(),
            read_mask: None,
        })
        .await
        .expect("read")
        .into_inner();
    assert_ne!(unchanged.status(), OrderStatus::Cancelled);
    assert_eq!(unchanged.history.len(), order.history.len());
}

#[tokio::test]
async fn missing_and_malformed_ids() {
    let app = spawn_app().await;
    let status = app
        .orders
        .clone()
        .get_order(mesh_proto::order::v1::GetOrderRequest {
            order_id: uuid::Uuid::new_v4().to_string(),
            read_mask: None,
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = app
        .orders
        .clone()
        .get_order(mesh_proto::order::v1::GetOrderRequest {
            order_id: "42".into(),
            read_mask: None,
        })
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
}

/// AIP-157: the order answers what the mask names (its lines and history are loaded only when
/// named), and a path that is no field of an order is refused by name.
#[tokio::test]
async fn a_read_mask_leaves_out_the_lines_and_history_it_does_not_name() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let order = app.place(&[(&pizza, 2)]).await;
    let read = |paths: &[&str]| {
        let request = mesh_proto::order::v1::GetOrderRequest {
            order_id: order.id.clone(),
            read_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|path| (*path).to_owned()).collect(),
            }),
        };
        let mut orders = app.orders.clone();
        async move { orders.get_order(request).await }
    };

    let owner = read(&["id", "customer_id"])
        .await
        .expect("read")
        .into_inner();
    assert_eq!(
        owner,
        mesh_proto::order::v1::Order {
            items: Vec::new(),
            history: Vec::new(),
            ..order.clone()
        }
    );
    let lines = read(&["items.menu_item_id"])
        .await
        .expect("read")
        .into_inner();
    assert_eq!(lines.items, order.items);
    assert!(lines.history.is_empty());
    let whole = read(&["*"]).await.expect("read").into_inner();
    assert_eq!(whole, order);

    let refused = read(&["id", "histroy"]).await.expect_err("an unknown path");
    mesh_testkit::assert_invalid_argument(&refused, "read_mask");
    assert!(refused.message().contains("histroy"), "{refused:?}");
}

#[tokio::test]
async fn lists_a_customers_orders_newest_first_page_by_page() {
    let app = spawn_app().await;
    let pizza = app.menu_item("Margherita", 1250).await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(app.place(&[(&pizza, 1)]).await.id);
    }
    let mut other = order_request(&[(&pizza, 1)]);
    other.customer_id = "someone-else".into();
    app.orders
        .clone()
        .create_order(other)
        .await
        .expect("placed");

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .orders
            .clone()
            .list_orders(ListOrdersRequest {
                customer_id: "customer-1".into(),
                page_size: 2,
                page_token: token.clone(),
            })
            .await
            .expect("page")
            .into_inner();
        seen.extend(page.orders.into_iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    placed.reverse();
    assert_eq!(seen, placed);
}

#[tokio::test]
async fn serves_reflection_and_health() {
    let app = spawn_app().await;
    let services = mesh_testkit::reflected_services(app.order.addr).await;
    assert!(
        services.contains(&"mesh.order.v1.OrderService".to_owned()),
        "{services:?}"
    );
    assert_eq!(
        mesh_testkit::health(app.order.addr, "").await,
        ServingStatus::Serving
    );
}
