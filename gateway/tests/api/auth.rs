//! Who may do what, as the gateway answers it: the role × route matrix over REST and GraphQL
//! (allowed / 401 / 403 / 404 for someone else's), bad tokens, a subscription to someone else's
//! order, and the rate limit.

use gateway::auth::Role;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{client_with, error_of, graphql_error_code, spawn_stack_with, token},
    mesh::{Mesh, Options, spawn_mesh},
};

/// The callers of the matrix, in its column order.
struct Callers {
    anonymous: Client,
    owner: Client,
    other: Client,
    courier: Client,
    admin: Client,
}

impl Callers {
    fn new() -> Self {
        Self {
            anonymous: client_with(None),
            owner: client_with(Some(&token(Role::Customer, "c-1"))),
            other: client_with(Some(&token(Role::Customer, "c-2"))),
            courier: client_with(Some(&token(Role::Courier, "k-1"))),
            admin: client_with(Some(&token(Role::Admin, "root"))),
        }
    }

    fn each(&self) -> [(&'static str, &Client); 5] {
        [
            ("anonymous", &self.anonymous),
            ("customer c-1 (owner)", &self.owner),
            ("customer c-2", &self.other),
            ("courier k-1", &self.courier),
            ("admin", &self.admin),
        ]
    }
}

async fn send(
    mesh: &Mesh,
    client: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = client.request(method, mesh.url(path));
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("gateway answers")
}

/// Places an order for `c-1` as `c-1` and waits until it is paid (its delivery exists).
async fn paid_order_of_c1(mesh: &Mesh, callers: &Callers) -> String {
    let items = json!([{"menu_item_id": mesh.menu_ids(1).await[0], "quantity": 1}]);
    let response = send(
        mesh,
        &callers.owner,
        Method::POST,
        "/orders",
        Some(&json!({"items": items, "delivery_address": "1 Main St"})),
    )
    .await;
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.expect("order");
    assert_eq!(
        order["customer_id"], "c-1",
        "the customer comes from the token"
    );
    let id = order["id"].as_str().expect("id").to_owned();
    mesh.order_with_status(&id, "PAID").await;
    mesh.delivery_with_status(&id, "PENDING").await;
    id
}

#[tokio::test]
async fn the_rest_matrix_of_roles_and_routes() {
    let mesh = spawn_mesh(Options::default()).await;
    let callers = Callers::new();
    let order = paid_order_of_c1(&mesh, &callers).await;
    let item = mesh.menu_ids(1).await[0].clone();
    let new_item = json!({"name": "Matrix Soup", "price_cents": 500, "category": "Soups"});
    let movie = json!({"title": "Matrix", "description": "Red pill"});
    let for_c1 = json!({"customer_id": "c-1", "items": [{"menu_item_id": item, "quantity": 1}], "delivery_address": "x"});

    // (method, path, body, [anonymous, owner, other customer, courier, admin])
    let rows: Vec<(Method, String, Option<Value>, [u16; 5])> = vec![
        (
            Method::GET,
            "/menu/items".into(),
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/menu/items/{item}"),
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/menu/items".into(),
            Some(new_item),
            [401, 403, 403, 403, 201],
        ),
        (
            Method::GET,
            "/api/movies".into(),
            None,
            [200, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/movies".into(),
            Some(movie),
            [401, 403, 403, 403, 201],
        ),
        (
            Method::POST,
            "/orders".into(),
            Some(for_c1),
            [401, 201, 403, 403, 201],
        ),
        (
            Method::GET,
            format!("/orders/{order}"),
            None,
            [401, 200, 404, 403, 200],
        ),
        (
            Method::GET,
            "/orders?customer_id=c-1".into(),
            None,
            [401, 200, 403, 403, 200],
        ),
        (
            Method::GET,
            format!("/delivery/status/{order}"),
            None,
            [401, 200, 404, 200, 200],
        ),
        (
            Method::GET,
            "/healthz".into(),
            None,
            [200, 200, 200, 200, 200],
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in &rows {
        for ((who, client), want) in callers.each().into_iter().zip(expected) {
            let response = send(&mesh, client, method.clone(), path, body.as_ref()).await;
            let status = response.status().as_u16();
            if status != *want {
                let text = response.text().await.unwrap_or_default();
                failures.push(format!(
                    "{method} {path} as {who}: {status}, expected {want}: {text}"
                ));
            } else if status == 401 {
                let challenge = response.headers().get("www-authenticate");
                if challenge
                    .and_then(|v| v.to_str().ok())
                    .is_none_or(|v| !v.starts_with("Bearer"))
                {
                    failures.push(format!(
                        "{method} {path} as {who}: 401 without WWW-Authenticate: Bearer"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Someone else's order reads exactly like a missing one.
    let missing = format!("/orders/{}", uuid::Uuid::new_v4());
    let (code, message) = error_of(
        send(
            &mesh,
            &callers.other,
            Method::GET,
            &format!("/orders/{order}"),
            None,
        )
        .await,
        404,
    )
    .await;
    assert_eq!(code, "NOT_FOUND");
    assert_eq!(message, format!("order {order} not found"));
    let (_, missing_message) = error_of(
        send(&mesh, &callers.admin, Method::GET, &missing, None).await,
        404,
    )
    .await;
    assert_eq!(
        missing_message,
        message.replace(&order, missing.trim_start_matches("/orders/"))
    );

    // A body naming another customer is refused, with a reason.
    let (code, message) = error_of(
        send(&mesh, &callers.other, Method::POST, "/orders", Some(&json!({
            "customer_id": "c-1", "items": [{"menu_item_id": item, "quantity": 1}], "delivery_address": "x"
        }))).await,
        403,
    )
    .await;
    assert_eq!(code, "FORBIDDEN");
    assert!(message.contains("c-1"), "{message}");
}

#[tokio::test]
async fn deliveries_move_as_the_courier_and_orders_cancel_for_their_owner() {
    let mesh = spawn_mesh(Options::default()).await;
    let callers = Callers::new();
    let order = paid_order_of_c1(&mesh, &callers).await;
    let path = format!("/delivery/status/{order}");
    let assigned = json!({"status": "ASSIGNED"});
    for (client, want) in [
        (&callers.anonymous, 401),
        (&callers.owner, 403),
        (&callers.other, 403),
    ] {
        assert_eq!(
            send(&mesh, client, Method::PUT, &path, Some(&assigned))
                .await
                .status()
                .as_u16(),
            want
        );
    }
    // A courier cannot record someone else as the courier.
    let as_other = json!({"status": "ASSIGNED", "courier": "k-2"});
    assert_eq!(
        send(&mesh, &callers.courier, Method::PUT, &path, Some(&as_other))
            .await
            .status(),
        403
    );
    let moved = send(&mesh, &callers.courier, Method::PUT, &path, Some(&assigned)).await;
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.expect("delivery");
    assert_eq!(
        moved["courier"], "k-1",
        "the courier recorded is the token's"
    );
    let picked = send(
        &mesh,
        &callers.admin,
        Method::PUT,
        &path,
        Some(&json!({"status": "PICKED_UP"})),
    )
    .await;
    assert_eq!(picked.status(), 200, "an admin may move any delivery");

    // Cancelling: only the owner (or an admin), someone else's is 404.
    let second = paid_order_of_c1(&mesh, &callers).await;
    let cancel = format!("/orders/{second}/cancel");
    assert_eq!(
        send(&mesh, &callers.anonymous, Method::POST, &cancel, None)
            .await
            .status(),
        401
    );
    assert_eq!(
        send(&mesh, &callers.other, Method::POST, &cancel, None)
            .await
            .status(),
        404
    );
    assert_eq!(
        send(&mesh, &callers.courier, Method::POST, &cancel, None)
            .await
            .status(),
        403
    );
    let cancelled = send(&mesh, &callers.owner, Method::POST, &cancel, None).await;
    assert_eq!(cancelled.status(), 200);
}

#[tokio::test]
async fn a_courier_cannot_move_a_delivery_another_courier_holds() {
    let mesh = spawn_mesh(Options::default()).await;
    let callers = Callers::new();
    let k2 = client_with(Some(&token(Role::Courier, "k-2")));
    let order = paid_order_of_c1(&mesh, &callers).await;
    let path = format!("/delivery/status/{order}");
    let courier_of = |client: &Client| {
        let request = client.get(mesh.url(&path));
        async move {
            let delivery: Value = request
                .send()
                .await
                .expect("answers")
                .json()
                .await
                .expect("delivery");
            (delivery["status"].clone(), delivery["courier"].clone())
        }
    };

    let taken = send(
        &mesh,
        &callers.courier,
        Method::PUT,
        &path,
        Some(&json!({"status": "ASSIGNED"})),
    )
    .await;
    assert_eq!(taken.status(), 200, "k-1 takes it");

    // Over REST: 409, naming the courier who holds it, and nothing changes.
    let picked = json!({"status": "PICKED_UP"});
    let (code, message) = error_of(
        send(&mesh, &k2, Method::PUT, &path, Some(&picked)).await,
        409,
    )
    .await;
    assert_eq!(code, "FAILED_PRECONDITION");
    assert!(message.contains(r#"held by courier "k-1""#), "{message}");
    assert_eq!(
        courier_of(&k2).await,
        (json!("ASSIGNED"), json!("k-1")),
        "k-1 still holds it"
    );

    // Over GraphQL: the same refusal.
    let answer: Value = k2
        .post(mesh.url("/graphql"))
        .json(&json!({
            "query": "mutation($id: ID!) { updateDeliveryStatus(orderId: $id, status: PICKED_UP) { status courier } }",
            "variables": {"id": order},
        }))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        graphql_error_code(&answer),
        "FAILED_PRECONDITION",
        "{answer}"
    );
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("k-1")),
        "{answer}"
    );
    assert_eq!(courier_of(&k2).await, (json!("ASSIGNED"), json!("k-1")));

    // Stepping around it: the admin's override is the gateway's to set, never a body's, and a
    // courier cannot name another courier either.
    let (_, message) = error_of(
        send(
            &mesh,
            &k2,
            Method::PUT,
            &path,
            Some(&json!({"status": "PICKED_UP", "reassign": true})),
        )
        .await,
        400,
    )
    .await;
    assert!(message.contains("reassign"), "{message}");
    let impersonated = send(
        &mesh,
        &k2,
        Method::PUT,
        &path,
        Some(&json!({"status": "PICKED_UP", "courier": "k-1"})),
    )
    .await;
    assert_eq!(impersonated.status(), 403, "k-2 cannot act as k-1");
    assert_eq!(courier_of(&k2).await, (json!("ASSIGNED"), json!("k-1")));

    // An admin hands it to k-2; then k-1 is the one refused.
    let reassigned = send(
        &mesh,
        &callers.admin,
        Method::PUT,
        &path,
        Some(&json!({"status": "PICKED_UP", "courier": "k-2"})),
    )
    .await;
    assert_eq!(reassigned.status(), 200, "an admin overrides");
    let reassigned: Value = reassigned.json().await.expect("delivery");
    assert_eq!(reassigned["courier"], "k-2");
    assert_eq!(
        courier_of(&callers.courier).await,
        (json!("PICKED_UP"), json!("k-2"))
    );
    let (code, message) = error_of(
        send(
            &mesh,
            &callers.courier,
            Method::PUT,
            &path,
            Some(&json!({"status": "IN_TRANSIT"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(code, "FAILED_PRECONDITION");
    assert!(message.contains(r#"held by courier "k-2""#), "{message}");
    let moved = send(
        &mesh,
        &k2,
        Method::PUT,
        &path,
        Some(&json!({"status": "IN_TRANSIT"})),
    )
    .await;
    assert_eq!(moved.status(), 200, "the new holder moves it on");
}

#[tokio::test]
async fn billing_belongs_to_the_user_the_token_names() {
    let mesh = spawn_mesh(Options::default()).await;
    let user3 = client_with(Some(&token(Role::Customer, "3")));
    let user4 = client_with(Some(&token(Role::Customer, "4")));
    let body = json!({"user_id": "3", "number_of_items": "5", "total_amount": "180"});
    assert_eq!(
        send(
            &mesh,
            &client_with(None),
            Method::POST,
            "/api/billing",
            Some(&body)
        )
        .await
        .status(),
        401
    );
    assert_eq!(
        send(&mesh, &user4, Method::POST, "/api/billing", Some(&body))
            .await
            .status(),
        403
    );
    let accepted = send(&mesh, &user3, Method::POST, "/api/billing", Some(&body)).await;
    assert_eq!(accepted.status(), 202);
    let receipt: Value = accepted.json().await.expect("receipt");
    let path = format!(
        "/api/billing/{}",
        receipt["request_id"].as_str().expect("id")
    );
    mesh_testkit::eventually(
        "the billing order to be stored",
        crate::mesh::WAIT,
        || async {
            (send(&mesh, &user3, Method::GET, &path, None).await.status() == StatusCode::OK)
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        send(&mesh, &user4, Method::GET, &path, None).await.status(),
        404
    );
    assert_eq!(
        send(&mesh, &user4, Method::GET, "/api/billing?user_id=3", None)
            .await
            .status(),
        403
    );
    let mine: Value = send(&mesh, &user3, Method::GET, "/api/billing", None)
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
}

#[tokio::test]
async fn the_graphql_matrix_uses_the_same_policy() {
    let mesh = spawn_mesh(Options::default()).await;
    let callers = Callers::new();
    let order = paid_order_of_c1(&mesh, &callers).await;
    let gql = |client: &Client, query: &'static str, variables: Value| {
        let request = client
            .post(mesh.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        async move {
            let answer: Value = request
                .send()
                .await
                .expect("answers")
                .json()
                .await
                .expect("JSON");
            answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("OK")
                .to_owned()
        }
    };
    let rows: Vec<(&'static str, Value, [&str; 5])> = vec![
        (
            "{ menuItems(first: 1) { nodes { id } } }",
            json!({}),
            ["OK", "OK", "OK", "OK", "OK"],
        ),
        (
            r#"mutation { createMovie(input: {title: "T", description: "D"}) { id } }"#,
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "OK",
            ],
        ),
        (
            "query($id: ID!) { order(id: $id) { id delivery { status } } }",
            json!({"id": order}),
            ["UNAUTHENTICATED", "OK", "NOT_FOUND", "FORBIDDEN", "OK"],
        ),
        (
            "{ orders { nodes { id } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "OK",
                "OK",
                "FORBIDDEN",
                "INVALID_ARGUMENT",
            ],
        ),
        (
            "query($id: ID!) { delivery(orderId: $id) { status } }",
            json!({"id": order}),
            ["UNAUTHENTICATED", "OK", "NOT_FOUND", "OK", "OK"],
        ),
        (
            "query($id: ID!) { payment(orderId: $id) { status } }",
            json!({"id": order}),
            ["UNAUTHENTICATED", "OK", "NOT_FOUND", "FORBIDDEN", "OK"],
        ),
    ];
    let mut failures = Vec::new();
    for (query, variables, expected) in rows {
        for ((who, client), want) in callers.each().into_iter().zip(expected) {
            let got = gql(client, query, variables.clone()).await;
            if got != want {
                failures.push(format!("{query} as {who}: {got}, expected {want}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// An admin's token, signed with the tests' secret, that expired ten minutes ago.
fn expired_admin_token() -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let claims = json!({"sub": "root", "roles": ["admin"], "exp": jsonwebtoken::get_current_timestamp() - 600});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"the gateway tests' own HS256 secret, 32+ bytes"),
    )
    .expect("signs")
}

/// The mutations generated from the contract (`mesh.api.v1.graphql_operation`) carry the policy
/// of their route: each is tried by every caller but the admin, and what is refused changes
/// nothing (a customer orders for themself only). A generated mutation this list lacks fails
/// the test, so a new one is tried too.
#[tokio::test]
async fn no_generated_mutation_steps_around_the_policy() {
    let mesh = spawn_mesh(Options::default()).await;
    let callers = Callers::new();
    let item = mesh.menu_ids(1).await.remove(0);
    let created = callers
        .admin
        .post(mesh.url("/api/movies"))
        .json(&json!({"title": "Kept", "description": "Still here"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(created.status(), StatusCode::CREATED);
    let movie = created.json::<Value>().await.expect("JSON")["id"].to_string();

    const ADMIN_ONLY: [&str; 4] = ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN"];
    let rows: Vec<(&str, &str, Value, [&str; 4])> = vec![
        (
            "createOrder",
            r#"mutation($item: ID!) { createOrder(input: {customerId: "c-1", items: [{menuItemId: $item, quantity: 1}], deliveryAddress: "1 Main St"}) { id customerId } }"#,
            json!({"item": item}),
            ["UNAUTHENTICATED", "OK", "FORBIDDEN", "FORBIDDEN"],
        ),
        (
            "createMenuItem",
            r#"mutation { createMenuItem(input: {name: "N", priceCents: 1, category: "C"}) { id } }"#,
            json!({}),
            ADMIN_ONLY,
        ),
        (
            "updateMenuItem",
            r#"mutation($id: ID!) { updateMenuItem(id: $id, input: {name: "Taken"}) { id } }"#,
            json!({"id": item}),
            ADMIN_ONLY,
        ),
        (
            "deleteMenuItem",
            "mutation($id: ID!) { deleteMenuItem(id: $id) }",
            json!({"id": item}),
            ADMIN_ONLY,
        ),
        (
            "createMovie",
            r#"mutation { createMovie(input: {title: "T", description: "D"}) { id } }"#,
            json!({}),
            ADMIN_ONLY,
        ),
        (
            "updateMovie",
            r#"mutation($id: ID!) { updateMovie(id: $id, input: {title: "Taken"}) { id } }"#,
            json!({"id": movie}),
            ADMIN_ONLY,
        ),
        (
            "deleteMovie",
            "mutation($id: ID!) { deleteMovie(id: $id) }",
            json!({"id": movie}),
            ADMIN_ONLY,
        ),
        (
            "deleteAllMovies",
            "mutation { deleteAllMovies }",
            json!({}),
            ADMIN_ONLY,
        ),
    ];

    let pool = mesh_proto::descriptors::pool().expect("descriptors");
    let operation = pool
        .get_extension_by_name("mesh.api.v1.graphql_operation")
        .expect("the option");
    let mut generated: Vec<String> = pool
        .services()
        .flat_map(|service| service.methods().collect::<Vec<_>>())
        .filter(|method| method.options().has_extension(&operation))
        .filter_map(|method| {
            let options = method.options();
            let option = options.get_extension(&operation);
            let name = option.as_message()?.get_field_by_name("mutation")?;
            Some(name.as_str()?.to_owned()).filter(|name| !name.is_empty())
        })
        .collect();
    generated.sort();
    let mut tried: Vec<String> = rows.iter().map(|(name, ..)| (*name).to_owned()).collect();
    tried.sort();
    assert_eq!(tried, generated, "every generated mutation is tried");

    let mut failures = Vec::new();
    for (name, query, variables, expected) in &rows {
        for ((who, client), want) in callers.each().into_iter().zip(expected) {
            let answer: Value = client
                .post(mesh.url("/graphql"))
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .expect("answers")
                .json()
                .await
                .expect("JSON");
            let code = answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("OK");
            if code != *want || (code != "OK" && !answer["data"].is_null()) {
                failures.push(format!("{name} as {who}: {answer}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // An admin's token that expired is refused at the edge, before any field runs.
    let expired = client_with(Some(&expired_admin_token()))
        .post(mesh.url("/graphql"))
        .json(&json!({"query": "mutation { deleteAllMovies }"}))
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(expired, 401).await;
    assert_eq!(code, "UNAUTHENTICATED");

    let item_now: Value = mesh
        .get(&format!("/menu/items/{item}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_ne!(item_now["name"], "Taken", "the item is unchanged");
    let movie_now = mesh.get(&format!("/api/movies/{movie}")).await;
    assert_eq!(
        movie_now.status(),
        StatusCode::OK,
        "the movie is still there"
    );
    let movie_now: Value = movie_now.json().await.expect("JSON");
    assert_eq!(movie_now["title"], "Kept");
}

#[tokio::test]
async fn bad_tokens_are_401_with_a_bearer_challenge() {
    let stack = spawn_stack_with(|_| {}).await;
    let expired = expired_admin_token();
    let wrong_key = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        let claims = json!({"sub": "root", "roles": ["admin"], "exp": jsonwebtoken::get_current_timestamp() + 600});
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(b"somebody else's secret of 32+ bytes"),
        )
        .expect("signs")
    };
    let alg_none = {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            json!({"sub": "root", "roles": ["admin"], "exp": 4_000_000_000u64}).to_string(),
        );
        format!("{header}.{claims}.")
    };
    for (what, token) in [
        ("expired", expired),
        ("wrong key", wrong_key),
        ("alg none", alg_none),
        ("garbage", "x.y.z".into()),
    ] {
        // Even on a public route: a bad token is never quietly anonymous.
        for path in ["/menu/items", "/api/movies"] {
            let response = client_with(Some(&token))
                .get(stack.url(path))
                .send()
                .await
                .expect("answers");
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (code, _) = error_of(response, 401).await;
            assert_eq!(code, "UNAUTHENTICATED", "{what} on {path}");
            assert!(
                challenge.is_some_and(|c| c.starts_with("Bearer")),
                "{what}: no challenge"
            );
        }
    }
    let response = stack
        .http
        .get(stack.url("/menu/items"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .expect("answers");
    error_of(response, 401).await;
}

#[tokio::test]
async fn a_subscription_to_someone_elses_order_is_refused() {
    let mesh = spawn_mesh(Options::default()).await;
    let callers = Callers::new();
    let order = paid_order_of_c1(&mesh, &callers).await;
    let query = "subscription($id: ID!) { orderUpdates(orderId: $id) { eventType } }";
    // Over server-sent events, with the Authorization header.
    let answer = |client: &Client| {
        let request = client
            .post(mesh.url("/graphql"))
            .header("accept", "text/event-stream")
            .json(&json!({"query": query, "variables": {"id": order}}));
        async move {
            let mut response = request.send().await.expect("answers");
            let first = tokio::time::timeout(crate::mesh::WAIT, response.chunk())
                .await
                .expect("an event in time")
                .expect("the stream reads")
                .expect("an event");
            String::from_utf8_lossy(&first).into_owned()
        }
    };
    let refused = answer(&callers.other).await;
    assert!(refused.contains("NOT_FOUND"), "{refused}");
    let anonymous = answer(&callers.anonymous).await;
    assert!(anonymous.contains("UNAUTHENTICATED"), "{anonymous}");
    let allowed = answer(&callers.owner).await;
    assert!(allowed.contains("OrderPlaced"), "{allowed}");

    // Over WebSocket, with the token in connection_init.
    let reply = crate::orders_graphql::first_ws_reply(
        &mesh,
        &token(Role::Customer, "c-2"),
        query,
        json!({"id": order}),
    )
    .await;
    assert!(reply.to_string().contains("NOT_FOUND"), "{reply}");
}

#[tokio::test]
async fn a_burst_from_one_client_gets_429_with_retry_after() {
    let stack = spawn_stack_with(|config| {
        config.rate_limit = gateway::config::RateLimitConfig {
            per_second: 1,
            burst: 5,
            ..gateway::config::RateLimitConfig::OFF
        };
    })
    .await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let response = client_with(None)
            .get(stack.url("/menu/items"))
            .send()
            .await
            .expect("answers");
        if response.status() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (code, _) = error_of(response, 429).await;
            assert_eq!(code, "RESOURCE_EXHAUSTED");
            statuses.push(429);
        } else {
            statuses.push(response.status().as_u16());
        }
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let seconds: u64 = retry_after
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&seconds), "{seconds}");
    // Another client (a token's subject) has its own budget.
    let other = client_with(Some(&token(Role::Customer, "c-9")));
    assert_eq!(
        other
            .get(stack.url("/menu/items"))
            .send()
            .await
            .expect("answers")
            .status(),
        200
    );
    let metrics = stack.get("/metrics").await.text().await.expect("text");
    assert!(metrics.contains("gateway_rate_limited_total"), "{metrics}");
}
