//! GraphQL by the conventions clients expect: introspection as GraphiQL sends it, root types
//! named `Query`/`Mutation`/`Subscription`, Relay connections, an Apollo Federation subgraph,
//! automatic persisted queries, limits with their codes, server-sent events, WebSocket pings.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{graphql_error_code, spawn_stack, spawn_stack_with};

/// graphql-js's `getIntrospectionQuery()` with every option on.
const INTROSPECTION: &str = include_str!("introspection.graphql");

#[tokio::test]
async fn the_standard_introspection_query_succeeds() {
    let stack = spawn_stack().await;
    let answer = stack.graphql(INTROSPECTION, json!({})).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let schema = &answer["data"]["__schema"];
    let names: Vec<&str> = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(|ty| ty["name"].as_str())
        .collect();
    for expected in [
        "Query",
        "Mutation",
        "Subscription",
        "MenuItem",
        "MenuItemConnection",
        "PageInfo",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn root_types_are_named_query_mutation_and_subscription() {
    let stack = spawn_stack().await;
    let answer = stack
        .graphql(
            "{ __typename __schema { queryType { name } mutationType { name } subscriptionType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(answer["data"]["__typename"], "Query");
    let schema = &answer["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    assert_eq!(schema["mutationType"]["name"], "Mutation");
    assert_eq!(schema["subscriptionType"]["name"], "Subscription");
}

#[tokio::test]
async fn the_menu_pages_as_a_relay_connection() {
    let stack = spawn_stack().await;
    let query = "query($after: String) { menuItems(first: 2, after: $after) {
        edges { cursor node { id name } } nodes { id } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let first = stack.graphql(query, json!({"after": null})).await;
    let page = &first["data"]["menuItems"];
    let edges = page["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 2);
    assert_eq!(page["nodes"][1]["id"], edges[1]["node"]["id"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(page["pageInfo"]["endCursor"], edges[1]["cursor"]);

    let second = stack
        .graphql(query, json!({"after": page["pageInfo"]["endCursor"]}))
        .await;
    let next = &second["data"]["menuItems"];
    assert_eq!(next["pageInfo"]["hasPreviousPage"], true);
    let after_second = next["edges"][0]["node"]["name"].as_str().expect("name");
    let second_name = edges[1]["node"]["name"].as_str().expect("name");
    assert!(
        after_second > second_name,
        "{after_second} after {second_name}"
    );

    // Any edge's cursor continues right after that edge.
    let from_first = stack
        .graphql(query, json!({"after": edges[0]["cursor"]}))
        .await;
    assert_eq!(
        from_first["data"]["menuItems"]["edges"][0]["node"]["id"],
        edges[1]["node"]["id"]
    );
}

#[tokio::test]
async fn the_schema_is_a_federation_subgraph_with_entities() {
    let stack = spawn_stack().await;
    let sdl = stack.graphql("{ _service { sdl } }", json!({})).await;
    let sdl = sdl["data"]["_service"]["sdl"].as_str().expect("sdl");
    assert!(sdl.contains("@link"), "{sdl}");
    for entity in ["MenuItem", "Movie", "Order"] {
        assert!(
            sdl.contains(&format!("type {entity} @key(fields: \"id\")")),
            "{entity} is not an entity in:\n{sdl}"
        );
    }

    let item = stack
        .graphql("{ menuItems(first: 1) { nodes { id name } } }", json!({}))
        .await;
    let item = &item["data"]["menuItems"]["nodes"][0];
    let movie = stack
        .graphql(
            r#"mutation { createMovie(input: {title: "Heat", description: "Crime"}) { id } }"#,
            json!({}),
        )
        .await;
    let movie_id = &movie["data"]["createMovie"]["id"];
    let entities = stack
        .graphql(
            "query($r: [_Any!]!) { _entities(representations: $r) {
                ... on MenuItem { name } ... on Movie { title } } }",
            json!({"r": [
                {"__typename": "MenuItem", "id": item["id"]},
                {"__typename": "Movie", "id": movie_id},
            ]}),
        )
        .await;
    assert!(entities["errors"].is_null(), "{entities}");
    assert_eq!(entities["data"]["_entities"][0]["name"], item["name"]);
    assert_eq!(entities["data"]["_entities"][1]["title"], "Heat");
}

#[tokio::test]
async fn automatic_persisted_queries_round_trip() {
    let stack = spawn_stack().await;
    let query = "{ menuItems(first: 1) { nodes { name } } }";
    let hash: String = Sha256::digest(query.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let post = |body: Value| {
        let stack = &stack;
        async move { stack.post("/graphql", &body).await.json::<Value>().await }
    };

    let unknown = post(json!({"extensions": extensions})).await.expect("json");
    assert_eq!(graphql_error_code(&unknown), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");

    let registered = post(json!({"query": query, "extensions": extensions}))
        .await
        .expect("json");
    assert!(registered["errors"].is_null(), "{registered}");

    let by_hash = post(json!({"extensions": extensions})).await.expect("json");
    assert_eq!(by_hash["data"], registered["data"]);
    // The same by its hash alone, as a GET: a URL a cache can keep.
    let by_get = stack
        .http
        .get(stack.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .expect("answers");
    assert_eq!(by_get.status(), 200);
    let by_get: Value = by_get.json().await.expect("JSON, not the GraphiQL page");
    assert_eq!(by_get["data"], registered["data"]);

    let wrong = post(json!({"query": "{ movies { id } }", "extensions": extensions}))
        .await
        .expect("json");
    assert_eq!(graphql_error_code(&wrong), "PERSISTED_QUERY_HASH_MISMATCH");
}

#[tokio::test]
async fn a_get_runs_queries_as_json_and_a_browser_gets_graphiql() {
    let stack = spawn_stack().await;
    let get = |query: &[(&str, &str)], accept: &str| {
        stack
            .http
            .get(stack.url("/graphql"))
            .query(query)
            .header("accept", accept)
            .send()
    };
    let query = "query Items {\n  menuItems(first: 1) { nodes { name } }\n}";
    let answer = get(&[("query", query)], "application/json")
        .await
        .expect("answers");
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.expect("JSON");
    assert!(answer["errors"].is_null(), "{answer}");
    assert!(
        answer["data"]["menuItems"]["nodes"][0]["name"].is_string(),
        "{answer}"
    );

    for (query, accept) in [
        (
            vec![("query", query)],
            "text/html,application/xhtml+xml,*/*;q=0.8",
        ),
        (vec![], "*/*"),
    ] {
        let page = get(&query, accept).await.expect("answers");
        assert_eq!(page.status(), 200);
        let page = page.text().await.expect("text");
        assert!(page.contains("graphiql"), "GraphiQL for {accept}");
    }

    let mutation = "mutation { deleteMovie(id: 1) }";
    let refused = get(&[("query", mutation)], "application/json")
        .await
        .expect("answers");
    assert_eq!(refused.status(), 405, "a GET never writes");
    assert_eq!(
        refused.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let refused: Value = refused.json().await.expect("JSON");
    assert_eq!(graphql_error_code(&refused), "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn queries_that_would_cost_the_backends_too_much_are_refused_with_a_code() {
    let stack = spawn_stack().await;
    let mut too_deep = String::from("id");
    for _ in 0..13 {
        too_deep = format!("node {{ {too_deep} }}");
    }
    let refused = stack
        .graphql(
            &format!("{{ menuItems {{ edges {{ {too_deep} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(graphql_error_code(&refused), "QUERY_TOO_DEEP");

    let wide = stack
        .graphql(
            "{ orders(customerId: \"c\", first: 100) { edges { node {
                id status delivery { status courier } payment { status amountCents }
                items { quantity menuItem { name priceCents } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(graphql_error_code(&wide), "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let stack = spawn_stack_with(|config| config.graphql.introspection = false).await;
    let answer = stack.graphql(INTROSPECTION, json!({})).await;
    assert_eq!(graphql_error_code(&answer), "INTROSPECTION_DISABLED");
    // Ordinary queries still work.
    let menu = stack
        .graphql("{ menuItems(first: 1) { nodes { name } } }", json!({}))
        .await;
    assert!(menu["errors"].is_null(), "{menu}");
}

#[tokio::test]
async fn a_query_over_server_sent_events_is_one_next_and_complete() {
    let stack = spawn_stack().await;
    let response = stack
        .http
        .post(stack.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({"query": "{ menuItems(first: 1) { nodes { name } } }"}))
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let body = response.text().await.expect("the stream ends");
    let events: Vec<(&str, &str)> = body
        .split("\n\n")
        .filter_map(|event| {
            let mut kind = None;
            let mut data = "";
            for line in event.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    kind = Some(value);
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data = value;
                }
            }
            kind.map(|kind| (kind, data))
        })
        .collect();
    assert_eq!(events.len(), 2, "{body}");
    assert_eq!(events[0].0, "next");
    let result: Value = serde_json::from_str(events[0].1).expect("next carries JSON");
    assert!(
        result["data"]["menuItems"]["nodes"][0]["name"].is_string(),
        "{result}"
    );
    assert_eq!(events[1].0, "complete");
}

#[tokio::test]
async fn the_websocket_server_pings_a_quiet_connection() {
    let stack = spawn_stack_with(|config| {
        config.graphql.keepalive = Duration::from_millis(200);
    })
    .await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(crate::helpers::ws_request(stack.gateway.addr))
            .await
            .expect("WebSocket connects");
    socket
        .send(Message::text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await
        .expect("init");
    let mut types = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !types.contains(&"ping".to_owned()) && tokio::time::Instant::now() < deadline {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("frame");
        let Ok(text) = frame.into_text() else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).expect("JSON frame");
        types.push(message["type"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(types.first().map(String::as_str), Some("connection_ack"));
    assert!(types.contains(&"ping".to_owned()), "{types:?}");
    // The client answers; the connection stays up.
    socket
        .send(Message::text(json!({"type": "pong"}).to_string()))
        .await
        .expect("pong");
}

/// A document is validated once and then remembered as valid, but what changes from request to
/// request, the variables' values, is checked against the operation's declared types every time:
/// a bad value is a request error (no data, nothing run) before and after the document is known.
#[tokio::test]
async fn a_remembered_document_still_has_every_requests_variables_checked() {
    let stack = spawn_stack().await;
    let query = "query Menu($free: [Allergen!], $first: Int) {
        menuItems(first: $first, allergenFree: $free) { nodes { name } } }";
    let bad_values = [
        json!({"free": ["PINEAPPLE"]}),
        json!({"free": [null]}),
        json!({"first": "two"}),
        json!({"free": "GLUTEN", "first": {"n": 2}}),
    ];
    let refused = |answer: &Value| {
        assert!(answer["data"].is_null(), "nothing runs: {answer}");
        assert_eq!(graphql_error_code(answer), "BAD_USER_INPUT", "{answer}");
    };
    // Refused while the document is new, then it runs (and is remembered as valid), and the same
    // values are still refused.
    refused(&stack.graphql(query, bad_values[0].clone()).await);
    for round in 0..2 {
        let good = stack
            .graphql(query, json!({"free": ["GLUTEN"], "first": 2}))
            .await;
        assert!(good["errors"].is_null(), "round {round}: {good}");
        // A single value stands for a list of one.
        let single = stack.graphql(query, json!({"free": "GLUTEN"})).await;
        assert!(single["errors"].is_null(), "round {round}: {single}");
        for values in &bad_values {
            refused(&stack.graphql(query, values.clone()).await);
        }
    }
    // The same by GET (GraphQL over HTTP), once the document is known: refused all the same.
    for values in &bad_values {
        let by_get = stack
            .http
            .get(stack.url("/graphql"))
            .query(&[("query", query), ("variables", &values.to_string())])
            .send()
            .await
            .expect("answers");
        let by_get: Value = by_get.json().await.expect("JSON");
        refused(&by_get);
    }
    // A document that does not validate is refused each time, never remembered as valid.
    for _ in 0..2 {
        let invalid = stack
            .graphql("{ menuItems { nodes { nope } } }", json!({}))
            .await;
        assert!(invalid["data"].is_null(), "{invalid}");
        let message = invalid["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("nope"), "{invalid}");
    }
}
