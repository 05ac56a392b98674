//! The order flow over GraphQL: nested fields from their own services, one menu batch per
//! request, and the live subscription.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use gateway::auth::Role;
use mesh_testkit::eventually;

use crate::{
    helpers::{graphql_error_code, token},
    mesh::{Mesh, Options, WAIT, spawn_mesh},
};

const ORDER: &str = r#"query($id: ID!) {
  order(id: $id) {
    id status totalCents
    items { quantity unitPriceCents menuItem { name priceCents } }
    delivery { status history { status } }
    payment { status amountCents }
    history { eventType status }
  }
}"#;

#[tokio::test]
async fn an_order_with_twenty_items_makes_one_menu_batch_call() {
    let mesh = spawn_mesh(Options::default()).await;
    let mut ids = mesh.menu_ids(12).await;
    for n in 0..8 {
        let item: Value = mesh
            .post("/menu/items", &json!({"name": format!("Special {n}"), "price_cents": 500 + n, "category": "Specials"}))
            .await
            .json()
            .await
            .expect("item");
        ids.push(item["id"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), 20);
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id");
    mesh.order_with_status(id, "PAID").await;
    // The delivery opens one event hop after the payment.
    mesh.delivery_with_status(id, "PENDING").await;

    let batches = mesh.backend_calls("BatchGetMenuItems").await;
    let singles = mesh.backend_calls("GetMenuItem").await;
    let response = mesh.graphql(ORDER, json!({"id": id})).await;
    assert!(response["errors"].is_null(), "{response}");
    let order = &response["data"]["order"];
    let items = order["items"].as_array().expect("items");
    assert_eq!(items.len(), 20);
    assert!(
        items.iter().all(|i| i["menuItem"]["name"].is_string()),
        "{order}"
    );
    assert_eq!(
        mesh.backend_calls("BatchGetMenuItems").await - batches,
        1,
        "one batch for 20 items"
    );
    assert_eq!(
        mesh.backend_calls("GetMenuItem").await - singles,
        0,
        "no call per item"
    );

    assert_eq!(order["payment"]["status"], "CAPTURED");
    assert_eq!(order["payment"]["amountCents"], order["totalCents"]);
    assert_eq!(order["delivery"]["status"], "PENDING");

    // Read again within GATEWAY_MENU_ITEM_TTL_MS (a second by default): the items the first
    // read fetched are reused, and menu-service is not asked.
    let batches = mesh.backend_calls("BatchGetMenuItems").await;
    let again = mesh.graphql(ORDER, json!({"id": id})).await;
    assert_eq!(again["data"]["order"]["items"], order["items"], "{again}");
    assert_eq!(
        mesh.backend_calls("BatchGetMenuItems").await - batches,
        0,
        "the items were fetched a moment ago"
    );
    // A changed item shows once its time to live is over.
    let changed = mesh
        .graphql(
            "mutation($id: ID!) { updateMenuItem(id: $id, input: {priceCents: 4321}) { priceCents } }",
            json!({"id": ids[0]}),
        )
        .await;
    assert_eq!(
        changed["data"]["updateMenuItem"]["priceCents"], 4321,
        "{changed}"
    );
    eventually("the new price on the order's item", WAIT, || async {
        let read = mesh.graphql(ORDER, json!({"id": id})).await;
        (read["data"]["order"]["items"][0]["menuItem"]["priceCents"] == 4321).then_some(())
    })
    .await;
}

/// What a query's selection holds, in order.
fn texts(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|entry| entry[field].as_str().expect(field).to_owned())
        .collect()
}

/// The services load an order's and a delivery's history only for a query that selects it
/// (their read masks): one that does gets them whole, however it selects them (a fragment, an
/// alias, an inline fragment), and one that does not still gets every other field.
#[tokio::test]
async fn an_order_and_its_delivery_answer_their_history_however_a_query_selects_it() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(2).await;
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id");
    mesh.order_with_status(id, "PAID").await;
    mesh.delivery_with_status(id, "PENDING").await;
    let rest: Value = mesh
        .get(&format!("/orders/{id}"))
        .await
        .json()
        .await
        .expect("the order");
    let events = texts(&rest["history"], "event_type");
    assert!(events.len() >= 2, "{rest}");
    // REST answers whole: the mask is GraphQL's alone, whatever a query string says.
    let masked: Value = mesh
        .get(&format!("/orders/{id}?read_mask=id"))
        .await
        .json()
        .await
        .expect("the order");
    assert_eq!(masked, rest);

    for query in [
        "query($id: ID!) { order(id: $id) { history { eventType } delivery { history { status } } } }",
        "query($id: ID!) { order(id: $id) { ...Told } } \
         fragment Told on Order { past: history { eventType } delivery { ... on Delivery { steps: history { status } } } }",
    ] {
        let response = mesh.graphql(query, json!({"id": id})).await;
        assert!(response["errors"].is_null(), "{response}");
        let order = &response["data"]["order"];
        let (history, steps) = if order["history"].is_null() {
            (&order["past"], &order["delivery"]["steps"])
        } else {
            (&order["history"], &order["delivery"]["history"])
        };
        assert_eq!(texts(history, "eventType"), events, "{query}");
        assert_eq!(texts(steps, "status"), ["PENDING"], "{query}");
    }

    let lean = mesh
        .graphql(
            "query($id: ID!) { order(id: $id) { id status deliveryAddress items { menuItemId quantity } delivery { status } } }",
            json!({"id": id}),
        )
        .await;
    assert!(lean["errors"].is_null(), "{lean}");
    assert_eq!(
        lean["data"]["order"],
        json!({
            "id": id,
            "status": "PAID",
            "deliveryAddress": rest["delivery_address"],
            "items": rest["items"].as_array().expect("items").iter()
                .map(|line| json!({"menuItemId": line["menu_item_id"], "quantity": line["quantity"]}))
                .collect::<Vec<_>>(),
            "delivery": {"status": "PENDING"},
        })
    );
}

/// An answer keeps the query's field order (GraphQL spec §7.2.2), although the fields another
/// service answers (payment, delivery) complete after the others and in no set order: asked
/// first, they come first, and so on down, through aliases and fragments.
#[tokio::test]
async fn an_answer_keeps_the_order_the_query_asked_in() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(1).await;
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id");
    mesh.order_with_status(id, "PAID").await;
    mesh.delivery_with_status(id, "PENDING").await;
    let query = "query($id: ID!) { order(id: $id) { \
                   paid: payment { status amountCents } ...Where totalCents \
                   delivery { ... on Delivery { orderId } status } id \
                   items { quantity menuItem { priceCents name } } } } \
                 fragment Where on Order { status deliveryAddress }";
    for _ in 0..5 {
        let text = mesh
            .post(
                "/graphql",
                &json!({"query": query, "variables": {"id": id}}),
            )
            .await
            .text()
            .await
            .expect("an answer");
        // async-graphql's value keeps a JSON object's keys in the order they were written.
        let answer: async_graphql::Value = serde_json::from_str(&text).expect("JSON");
        let order = field(&field(&answer, "data"), "order");
        assert_eq!(
            keys(&order),
            [
                "paid",
                "status",
                "deliveryAddress",
                "totalCents",
                "delivery",
                "id",
                "items"
            ],
            "{text}"
        );
        assert_eq!(
            keys(&field(&order, "paid")),
            ["status", "amountCents"],
            "{text}"
        );
        assert_eq!(
            keys(&field(&order, "delivery")),
            ["orderId", "status"],
            "{text}"
        );
        let async_graphql::Value::List(items) = field(&order, "items") else {
            panic!("items: {text}");
        };
        assert_eq!(keys(&items[0]), ["quantity", "menuItem"], "{text}");
        assert_eq!(
            keys(&field(&items[0], "menuItem")),
            ["priceCents", "name"],
            "{text}"
        );
    }
}

fn field(value: &async_graphql::Value, name: &str) -> async_graphql::Value {
    match value {
        async_graphql::Value::Object(object) => object
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {value}")),
        other => panic!("not an object: {other}"),
    }
}

fn keys(value: &async_graphql::Value) -> Vec<String> {
    match value {
        async_graphql::Value::Object(object) => object.keys().map(|key| key.to_string()).collect(),
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn mutations_place_cancel_and_move_deliveries() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(2).await;
    let placed = mesh
        .graphql(
            "mutation($items: [OrderItemInput!]!) { createOrder(input: {customerId: \"c-9\", items: $items, deliveryAddress: \"1 Elm St\"}) { id status items { name quantity } } }",
            json!({"items": [{"menuItemId": ids[0], "quantity": 2}, {"menuItemId": ids[1], "quantity": 1}]}),
        )
        .await;
    let id = placed["data"]["createOrder"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(placed["data"]["createOrder"]["status"], "PLACED");

    mesh.delivery_with_status(&id, "PENDING").await;
    let skipped = mesh
        .graphql("mutation($id: ID!) { updateDeliveryStatus(orderId: $id, status: DELIVERED) { status } }", json!({"id": id}))
        .await;
    assert_eq!(graphql_error_code(&skipped), "FAILED_PRECONDITION");

    let assigned = mesh
        .graphql(
            "mutation($id: ID!) { updateDeliveryStatus(orderId: $id, status: ASSIGNED, courier: \"Ana\") { status courier } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        assigned["data"]["updateDeliveryStatus"],
        json!({"status": "ASSIGNED", "courier": "Ana"})
    );

    let cancelled = mesh
        .graphql(
            "mutation($id: ID!) { cancelOrder(id: $id, reason: \"no longer hungry\") { status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(cancelled["data"]["cancelOrder"]["status"], "CANCELLED");
    let again = mesh
        .graphql(
            "mutation($id: ID!) { cancelOrder(id: $id) { status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(graphql_error_code(&again), "FAILED_PRECONDITION");

    let invalid = mesh
        .graphql("mutation { createOrder(input: {customerId: \"c\", items: [], deliveryAddress: \"x\"}) { id } }", json!({}))
        .await;
    assert_eq!(graphql_error_code(&invalid), "INVALID_ARGUMENT");
    let listed = mesh
        .graphql(
            "{ orders(customerId: \"c-9\") { edges { cursor node { id status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["data"]["orders"]["edges"][0]["node"]["id"],
        id.as_str()
    );
}

/// A graphql-transport-ws client acting as an admin: connects, subscribes, and yields the
/// `next` payloads.
async fn subscribe(
    mesh: &Mesh,
    query: &str,
    variables: Value,
) -> impl futures::Stream<Item = Value> + use<> {
    subscribe_as(mesh, &token(Role::Admin, "test-admin"), query, variables).await
}

/// The first answer (`next` or `error` payload) to a subscription made with `token`.
pub async fn first_ws_reply(mesh: &Mesh, token: &str, query: &str, variables: Value) -> Value {
    let mut replies = Box::pin(subscribe_as(mesh, token, query, variables).await);
    tokio::time::timeout(WAIT, replies.next())
        .await
        .expect("an answer in time")
        .expect("an answer")
}

/// [`subscribe`] with `token` in `connection_init`.
async fn subscribe_as(
    mesh: &Mesh,
    token: &str,
    query: &str,
    variables: Value,
) -> impl futures::Stream<Item = Value> + use<> {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(crate::helpers::ws_request(mesh.gateway.addr))
            .await
            .expect("WebSocket connects");
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": {
                "Authorization": format!("Bearer {token}"),
            }})
            .to_string(),
        ))
        .await
        .expect("init");
    let ack = socket.next().await.expect("ack").expect("ack frame");
    assert!(
        ack.to_text().unwrap_or_default().contains("connection_ack"),
        "{ack:?}"
    );
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}).to_string(),
        ))
        .await
        .expect("subscribe");
    socket.filter_map(|frame| async move {
        let text = frame.ok()?.into_text().ok()?;
        let message: Value = serde_json::from_str(&text).ok()?;
        (message["type"] == "next" || message["type"] == "error")
            .then_some(message["payload"].clone())
    })
}

/// The next `orderUpdates` payload, or a panic after `WAIT`.
async fn next_update(updates: &mut (impl futures::Stream<Item = Value> + Unpin)) -> Value {
    let payload = tokio::time::timeout(WAIT, updates.next())
        .await
        .expect("an update in time")
        .expect("stream open");
    assert!(payload["errors"].is_null(), "{payload}");
    payload["data"]["orderUpdates"].clone()
}

/// Notes the order or delivery status an update carries.
fn record(update: &Value, order_steps: &mut Vec<String>, delivery_steps: &mut Vec<String>) {
    if let Some(status) = update["orderStatus"].as_str() {
        order_steps.push(status.to_owned());
    }
    if let Some(status) = update["deliveryStatus"].as_str() {
        delivery_steps.push(status.to_owned());
    }
}

/// Reads the subscription's updates up to the delivery's opening (replayed or live), moves the
/// delivery to DELIVERED, and checks that every order and delivery step was pushed, in order.
async fn delivers_with_every_step_pushed(
    mesh: &Mesh,
    id: &str,
    updates: &mut (impl futures::Stream<Item = Value> + Unpin),
) {
    let mut order_steps = Vec::new();
    let mut delivery_steps = Vec::new();
    // Replayed and live alike: PLACED, PAID, then the delivery opening.
    while delivery_steps.is_empty() {
        record(
            &next_update(updates).await,
            &mut order_steps,
            &mut delivery_steps,
        );
    }
    for step in ["ASSIGNED", "PICKED_UP", "IN_TRANSIT", "DELIVERED"] {
        assert_eq!(mesh.move_delivery(id, step).await.0, 200);
    }
    // Both to the end: the order's and the delivery's updates come from two topics, so the
    // order's last step may arrive before the delivery's.
    let delivered = |steps: &[String]| steps.last().map(String::as_str) == Some("DELIVERED");
    while !delivered(&order_steps) || !delivered(&delivery_steps) {
        record(
            &next_update(updates).await,
            &mut order_steps,
            &mut delivery_steps,
        );
    }
    assert_eq!(
        order_steps,
        ["PLACED", "PAID", "OUT_FOR_DELIVERY", "DELIVERED"]
    );
    assert_eq!(
        delivery_steps,
        [
            "PENDING",
            "ASSIGNED",
            "PICKED_UP",
            "IN_TRANSIT",
            "DELIVERED"
        ]
    );
}

#[tokio::test]
async fn the_subscription_pushes_every_step_in_order() {
    let mesh = spawn_mesh(Options::default()).await;
    let ids = mesh.menu_ids(1).await;
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id").to_owned();
    let mut updates = Box::pin(
        subscribe(
            &mesh,
            "subscription($id: ID!) { orderUpdates(orderId: $id) { eventId eventType orderStatus deliveryStatus } }",
            json!({"id": id}),
        )
        .await,
    );

    delivers_with_every_step_pushed(&mesh, &id, &mut updates).await;
}

#[tokio::test]
async fn subscribing_to_an_unknown_order_is_an_error() {
    let mesh = spawn_mesh(Options::default()).await;
    let mut updates = Box::pin(
        subscribe(
            &mesh,
            "subscription($id: ID!) { orderUpdates(orderId: $id) { eventId } }",
            json!({"id": uuid::Uuid::new_v4()}),
        )
        .await,
    );
    let payload = tokio::time::timeout(WAIT, updates.next())
        .await
        .expect("answer in time")
        .expect("a message");
    let code = payload[0]["extensions"]["code"]
        .as_str()
        .or(payload["errors"][0]["extensions"]["code"].as_str());
    assert_eq!(code, Some("NOT_FOUND"), "{payload}");
}

#[tokio::test]
async fn a_subscriber_wakes_the_resting_feed_and_misses_no_step() {
    let mesh = spawn_mesh(Options {
        feed_rest: Some(std::time::Duration::from_millis(100)),
        ..Options::default()
    })
    .await;
    // Nobody subscribed: the feed stops fetching, and the gateway stays ready.
    mesh_testkit::eventually("the feed to rest", WAIT, || async {
        let response = mesh.get("/readyz").await;
        let status = response.status();
        let body: Value = response.json().await.ok()?;
        (status == 200 && body["status"] == "ready" && body["feed"] == "RESTING").then_some(())
    })
    .await;
    let ids = mesh.menu_ids(1).await;
    let order = mesh.place(&ids).await;
    let id = order["id"].as_str().expect("id").to_owned();
    mesh.delivery_with_status(&id, "PENDING").await;

    let mut updates = Box::pin(
        subscribe(
            &mesh,
            "subscription($id: ID!) { orderUpdates(orderId: $id) { orderStatus deliveryStatus } }",
            json!({"id": id}),
        )
        .await,
    );
    // The history replayed, then each later step live, though the feed was resting.
    delivers_with_every_step_pushed(&mesh, &id, &mut updates).await;
}
