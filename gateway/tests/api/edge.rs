//! The edge as an attacker meets it: every probe of issue 18's table against a real gateway in
//! front of real services. Each tries to step around a limit, the identity or the owner by a
//! transport or a GraphQL feature other than the one the limit was first written for.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use gateway::auth::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

use crate::{
    helpers::{
        SECRET, client_with, error_of, graphql_error_code, post_json, spawn_stack,
        spawn_stack_with, token, ws_request,
    },
    mesh::{Options, spawn_mesh},
};

/// A token for `subject` signed with the test secret, exactly as given (no checks on our side).
fn raw_token(subject: &str, roles: &[&str], exp: u64) -> String {
    let claims = json!({"sub": subject, "roles": roles, "exp": exp});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .expect("signs")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws socket to `addr`, initialised with `token` and acknowledged.
async fn open_socket(addr: std::net::SocketAddr, token: Option<&str>) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_request(addr))
        .await
        .expect("WebSocket connects");
    let payload = match token {
        Some(token) => json!({"Authorization": format!("Bearer {token}")}),
        None => json!({}),
    };
    socket
        .send(Message::text(
            json!({"type": "connection_init", "payload": payload}).to_string(),
        ))
        .await
        .expect("init");
    let ack = next_json(&mut socket).await.expect("an answer to init");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// The next text message as JSON; `None` when the socket closed.
async fn next_json(socket: &mut Socket) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")?;
        match frame {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn a_graphql_body_over_the_limit_is_413_before_it_is_read() {
    let stack = spawn_stack().await;
    let huge = format!(
        "{{\"query\": \"{{ menuItems(first: 1) {{ nodes {{ id }} }} }}\", \"x\": \"{}\"}}",
        "a".repeat(16 * 1024 * 1024)
    );
    let response = client_with(None)
        .post(stack.url("/graphql"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 413).await;
    assert_eq!(code, "PAYLOAD_TOO_LARGE");
    // A chunked body with no length is cut off as it arrives, too: the answer comes while the
    // client is still sending.
    let mut stream = tokio::net::TcpStream::connect(stack.gateway.addr)
        .await
        .expect("connects");
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .expect("headers");
    let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
    for _ in 0..4 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let mut answer = vec![0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer in time")
        .expect("reads");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(
        answer.starts_with("HTTP/1.1 413") || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
}

#[tokio::test]
async fn three_hundred_aliased_orders_in_one_request_place_none() {
    let mesh = spawn_mesh(Options::default()).await;
    let customer = client_with(Some(&token(Role::Customer, "c-alias")));
    let item = mesh.menu_ids(1).await[0].clone();
    let fields: String = (0..300)
        .map(|i| format!("o{i}: createOrder(input: $order) {{ id }} "))
        .collect();
    let order =
        json!({"items": [{"menuItemId": item, "quantity": 1}], "deliveryAddress": "1 Alias St"});
    let response: Value = post_json(
        &customer,
        &mesh.url("/graphql"),
        &json!({
            "query": format!("mutation($order: OrderInput!) {{ {fields} }}"),
            "variables": {"order": order},
        }),
    )
    .await;
    assert_eq!(graphql_error_code(&response), "TOO_MANY_MUTATIONS");
    assert!(response["data"].is_null(), "{response}");
    // And under the mutation cap, the aliases still count.
    let many: String = (0..40)
        .map(|i| format!("a{i}: menuItems(first: 1) {{ nodes {{ id }} }} "))
        .collect();
    let response: Value = post_json(
        &customer,
        &mesh.url("/graphql"),
        &json!({"query": format!("{{ {many} }}")}),
    )
    .await;
    assert_eq!(graphql_error_code(&response), "TOO_MANY_ROOT_FIELDS");
    let orders: Value = post_json(
        &customer,
        &mesh.url("/graphql"),
        &json!({"query": "{ orders(first: 10) { edges { node { id } } } }"}),
    )
    .await;
    assert_eq!(
        orders["data"]["orders"]["edges"],
        json!([]),
        "nothing was placed: {orders}"
    );
}

#[tokio::test]
async fn free_shapes_are_refused_first_zero_entities_and_aliases() {
    let stack = spawn_stack().await;
    let zero = stack
        .graphql("{ menuItems(first: 0) { nodes { id name } } }", json!({}))
        .await;
    assert_eq!(graphql_error_code(&zero), "INVALID_ARGUMENT");
    assert!(zero["data"].is_null(), "no page at all: {zero}");
    let negative = stack
        .graphql(
            "query($n: Int) { menuItems(first: $n) { nodes { id } } }",
            json!({"n": -5}),
        )
        .await;
    assert_eq!(graphql_error_code(&negative), "INVALID_ARGUMENT");

    let entities = |count: usize| {
        let representations: Vec<Value> = (0..count)
            .map(|i| json!({"__typename": "Movie", "id": i.to_string()}))
            .collect();
        json!({
            "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Movie { title } } }",
            "variables": {"r": representations},
        })
    };
    let refused: Value = stack
        .post("/graphql", &entities(500))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(graphql_error_code(&refused), "TOO_MANY_ENTITIES");
    // 5,000 do not even get read: the body limit holds for GraphQL like any route.
    let (code, _) = error_of(stack.post("/graphql", &entities(5_000)).await, 413).await;
    assert_eq!(code, "PAYLOAD_TOO_LARGE");

    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let aliased = stack
        .graphql(
            &format!("{{ menuItem(id: \"1\") {{ {aliases} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(graphql_error_code(&aliased), "TOO_MANY_ALIASES");

    // The cost of what passes is reported when asked for.
    let measured: Value = stack
        .post(
            "/graphql",
            &json!({"query": "{ menuItems(first: 3) { nodes { id name } } }", "extensions": {"cost": true}}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert!(measured["errors"].is_null(), "{measured}");
    assert_eq!(
        measured["extensions"]["cost"]["complexity"], 10,
        "{measured}"
    );
}

#[tokio::test]
async fn a_burst_over_one_websocket_meets_the_same_limit_as_http() {
    let stack = spawn_stack_with(|config| {
        config.rate_limit.per_second = 1;
        config.rate_limit.burst = 10;
    })
    .await;
    let caller = token(Role::Customer, "c-burst");
    let mut socket = open_socket(stack.gateway.addr, Some(&caller)).await;
    for i in 0..100 {
        let subscribe = json!({"id": i.to_string(), "type": "subscribe",
            "payload": {"query": "{ menuItems(first: 1) { nodes { id } } }"}});
        socket
            .send(Message::text(subscribe.to_string()))
            .await
            .expect("sent");
    }
    let (mut answered, mut limited) = (0, 0);
    while answered + limited < 100 {
        let message = next_json(&mut socket).await.expect("socket stays open");
        match message["type"].as_str() {
            Some("next") => answered += 1,
            Some("error") => {
                assert_eq!(
                    message["payload"][0]["extensions"]["code"], "RESOURCE_EXHAUSTED",
                    "{message}"
                );
                limited += 1;
            }
            _ => {}
        }
    }
    assert!(answered <= 12, "{answered} answered");
    assert!(limited >= 88, "{limited} limited");

    // The same client over HTTP is out of budget too: one limit, every transport.
    let http = client_with(Some(&caller))
        .get(stack.url("/menu/items"))
        .send()
        .await
        .expect("answers");
    assert_eq!(http.status(), StatusCode::TOO_MANY_REQUESTS);

    // Server-sent events: each stream is a request, and counts.
    let other = client_with(Some(&token(Role::Customer, "c-sse")));
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = other
            .post(stack.url("/graphql"))
            .header("accept", "text/event-stream")
            .json(&json!({"query": "{ menuItems(first: 1) { nodes { id } } }"}))
            .send()
            .await
            .expect("answers");
        statuses.push(response.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn a_socket_closes_when_its_token_expires() {
    let stack = spawn_stack_with(|config| {
        config.auth.claims.leeway = Duration::ZERO;
    })
    .await;
    let short = raw_token("c-expiring", &["customer"], now() + 2);
    let mut socket = open_socket(stack.gateway.addr, Some(&short)).await;
    let opened = Instant::now();
    let close = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the socket ends in time");
        match frame {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("socket ended without a close frame: {other:?}"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::from(4403));
    assert!(
        opened.elapsed() < Duration::from_secs(6),
        "{:?}",
        opened.elapsed()
    );
}

#[tokio::test]
async fn a_graphql_get_passes_the_same_edge_as_a_post() {
    let stack = spawn_stack().await;
    let query = [("query", "{ menuItems(first: 1) { nodes { id } } }")];
    let expired = raw_token("c-1", &["customer"], now() - 3600);
    let refused = reqwest::Client::new()
        .get(stack.url("/graphql"))
        .query(&query)
        .bearer_auth(expired)
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(refused, 401).await;
    assert_eq!(
        code, "UNAUTHENTICATED",
        "an expired token is refused on GET too"
    );
    let refused = reqwest::Client::new()
        .get(stack.url("/graphql"))
        .query(&[("query", "{ menuItems(first: 0) { nodes { id } } }")])
        .send()
        .await
        .expect("answers");
    let answer: Value = refused.json().await.expect("JSON");
    assert_eq!(
        graphql_error_code(&answer),
        "INVALID_ARGUMENT",
        "the limits hold on GET"
    );
}

#[tokio::test]
async fn long_lived_streams_are_bounded_per_client_and_end_with_their_token() {
    let mesh = spawn_mesh(Options {
        configure_gateway: |config| {
            config.auth.claims.leeway = Duration::ZERO;
            config.edge.max_sockets_per_client = 2;
            config.edge.max_subscriptions_per_socket = 1;
        },
        ..Options::default()
    })
    .await;
    let caller = token(Role::Customer, "c-streams");
    let item = mesh.menu_ids(1).await[0].clone();
    let placed: Value = client_with(Some(&caller))
        .post(mesh.url("/orders"))
        .json(&json!({"items": [{"menu_item_id": item, "quantity": 1}], "delivery_address": "1 Stream St"}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("order");
    let order = placed["id"].as_str().expect("id").to_owned();
    let follow = format!("subscription {{ orderUpdates(orderId: \"{order}\") {{ eventId }} }}");

    // An event stream ends with an UNAUTHENTICATED error once its token expires.
    let short = raw_token("c-streams", &["customer"], now() + 2);
    let response = client_with(Some(&short))
        .post(mesh.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({"query": follow}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(Duration::from_secs(10), response.text())
        .await
        .expect("the stream ends in time")
        .expect("text");
    let tail = &text[text.len().saturating_sub(400)..];
    assert!(text.contains("UNAUTHENTICATED"), "{tail}");
    let events: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("event:"))
        .collect();
    assert_eq!(events.last(), Some(&"event: complete"), "{tail}");
    let expired = text.find("UNAUTHENTICATED").expect("expired");
    assert!(
        text.rfind("event: next").is_some_and(|last| last < expired),
        "the error is the last result: {tail}"
    );

    // Two sockets for the client, not three.
    let mut first = open_socket(mesh.gateway.addr, Some(&caller)).await;
    let _second = open_socket(mesh.gateway.addr, Some(&caller)).await;
    // Opened as the first two were (the token comes in `connection_init`), the upgrade counts
    // against the address they came from.
    match tokio_tungstenite::connect_async(ws_request(mesh.gateway.addr)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!(
            "a third socket was let in: {:?}",
            other.map(|(_, response)| response.status())
        ),
    }
    // One operation at a time on a socket here: a second subscription is refused.
    for id in ["a", "b"] {
        let subscribe = json!({"id": id, "type": "subscribe", "payload": {"query": follow}});
        first
            .send(Message::text(subscribe.to_string()))
            .await
            .expect("sent");
    }
    let refused = loop {
        let message = next_json(&mut first).await.expect("the socket stays open");
        if message["id"] == "b" {
            break message;
        }
    };
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "RESOURCE_EXHAUSTED"
    );
}

#[tokio::test]
async fn a_client_trickling_headers_is_cut_off() {
    let stack = spawn_stack_with(|config| {
        config.edge.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(stack.gateway.addr)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    let started = Instant::now();
    let mut closed = false;
    for i in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if stream
            .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut buffer = [0; 512];
        match tokio::time::timeout(Duration::from_millis(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            // hyper answers 408 as it closes.
            Ok(Ok(_)) => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the connection was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn subjects_are_compared_exactly_as_signed() {
    let stack = spawn_stack().await;
    for subject in [" c-1", "c-1 ", "c\u{0}1"] {
        let client = client_with(Some(&raw_token(subject, &["customer"], now() + 60)));
        let response = client
            .get(stack.url("/orders"))
            .send()
            .await
            .expect("answers");
        let (code, _) = error_of(response, 401).await;
        assert_eq!(code, "UNAUTHENTICATED", "{subject:?}");
    }
    // "03" is a well-formed subject, but not billing user 3.
    let zero_three = client_with(Some(&raw_token("03", &["customer"], now() + 60)));
    let response = zero_three
        .post(stack.url("/api/billing"))
        .json(&json!({"user_id": 3, "number_of_items": 1, "total_amount": "1.00"}))
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 403).await;
    assert_eq!(code, "FORBIDDEN");
    let response = zero_three
        .get(stack.url("/api/billing"))
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 403).await;
    assert_eq!(code, "FORBIDDEN");
}

#[tokio::test]
async fn bad_tokens_count_against_the_sender_and_are_not_free() {
    let stack = spawn_stack_with(|config| {
        config.rate_limit.per_second = 1;
        config.rate_limit.burst = 5;
    })
    .await;
    let forged = client_with(Some("not-a-token"));
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = forged
            .get(stack.url("/menu/items"))
            .send()
            .await
            .expect("answers");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses[0], 401);
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn a_nul_in_any_string_is_a_400_naming_the_field() {
    let stack = spawn_stack().await;
    let (code, message) = error_of(stack.get("/menu/items?category=a%00b").await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert!(message.starts_with("category:"), "{message}");
    let (_, message) = error_of(stack.get("/api/movies?title=%01").await, 400).await;
    assert!(message.starts_with("title:"), "{message}");
    // A line break passes the edge (parameter values may span lines) and meets the field's own
    // one-line rule in the service.
    let (_, message) = error_of(stack.get("/menu/items?category=a%0Ab").await, 400).await;
    assert!(message.starts_with("category:"), "{message}");
    let (_, message) = error_of(stack.get("/menu/items/a%00b").await, 400).await;
    assert!(message.starts_with("path:"), "{message}");
    let (_, message) = error_of(
        stack
            .post(
                "/api/movies",
                &json!({"title": "ok", "description": "bad\u{0}text"}),
            )
            .await,
        400,
    )
    .await;
    assert!(message.starts_with("description:"), "{message}");

    let literal = stack
        .graphql(
            "{ menuItems(first: 1, category: \"a\\u0000b\") { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(graphql_error_code(&literal), "INVALID_ARGUMENT");
    let variable = stack
        .graphql(
            "query($c: String) { menuItems(first: 1, category: $c) { nodes { id } } }",
            json!({"c": "a\u{0}b"}),
        )
        .await;
    assert_eq!(graphql_error_code(&variable), "INVALID_ARGUMENT");
    assert!(
        variable["errors"][0]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("$c:")),
        "{variable}"
    );
}

#[tokio::test]
async fn with_trusted_documents_only_the_manifest_runs() {
    use sha2::{Digest, Sha256};
    let body = "query Menu { menuItems(first: 2) { nodes { id } } }";
    let id: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let manifest = json!({"format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": id, "name": "Menu", "type": "query", "body": body}]});
    let path = std::env::temp_dir().join(format!("manifest-{}.json", mesh_testkit::unique_id()));
    std::fs::write(&path, manifest.to_string()).expect("writes the manifest");
    let stack = {
        let path = path.clone();
        spawn_stack_with(move |config| config.trusted_documents = Some(path)).await
    };
    let listed = stack.graphql(body, json!({})).await;
    assert_eq!(
        listed["data"]["menuItems"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{listed}"
    );
    let by_hash: Value = stack
        .post(
            "/graphql",
            &json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": id}}}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert!(by_hash["errors"].is_null(), "{by_hash}");
    let free = stack
        .graphql("{ menuItems(first: 2) { nodes { id name } } }", json!({}))
        .await;
    assert_eq!(graphql_error_code(&free), "QUERY_NOT_IN_SAFELIST");
    let _ = std::fs::remove_file(path);
}
