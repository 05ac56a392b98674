//! What every route shares: JSON errors for unknown routes and bad bodies, request ids, health,
//! and the GraphiQL page served with no CDN.

use serde_json::Value;

use crate::helpers::{error_of, spawn_stack};

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let stack = spawn_stack().await;
    let (code, _) = error_of(stack.get("/nope").await, 404).await;
    assert_eq!(code, "NOT_FOUND");
    let response = stack
        .http
        .patch(stack.url("/api/movies"))
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 405).await;
    assert_eq!(code, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn bodies_that_are_not_small_json_are_refused() {
    let stack = spawn_stack().await;
    let response = stack
        .http
        .post(stack.url("/api/movies"))
        .header("content-type", "text/plain")
        .body("title=Heat")
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 415).await;
    assert_eq!(code, "UNSUPPORTED_MEDIA_TYPE");

    let response = stack
        .http
        .post(stack.url("/api/movies"))
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");

    let huge = format!(
        "{{\"title\": \"{}\", \"description\": \"x\"}}",
        "x".repeat(1 << 20)
    );
    let response = stack
        .http
        .post(stack.url("/api/movies"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 413).await;
    assert_eq!(code, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let stack = spawn_stack().await;
    let generated = stack.get("/healthz").await;
    assert_eq!(generated.status(), 200);
    let id = generated.headers()["x-request-id"].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let echoed = stack
        .http
        .get(stack.url("/menu/items"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("answers");
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn ready_when_every_backend_serves_and_the_feed_is_live() {
    let stack = spawn_stack().await;
    // The subscription feed positions itself on the broker just after start.
    let body: Value = mesh_testkit::eventually(
        "the gateway to be ready",
        std::time::Duration::from_secs(20),
        || async {
            let response = stack.get("/readyz").await;
            if response.status() == 200 {
                response.json().await.ok()
            } else {
                None
            }
        },
    )
    .await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["backends"].as_object().map(|b| b.len()), Some(5));
    assert_eq!(body["feed"], "LIVE");
}

#[tokio::test]
async fn graphiql_is_served_from_the_gateway_itself() {
    let stack = spawn_stack().await;
    let page = stack.get("/graphql").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let html = page.text().await.expect("text");
    assert!(
        html.contains("/graphiql/assets/graphiql/"),
        "page loads GraphiQL from the gateway"
    );
    for external in ["unpkg.com", "jsdelivr", "cdnjs", "googleapis", "https://"] {
        assert!(!html.contains(external), "page references {external}");
    }
    // Every asset the page names is served.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/graphiql/assets/"))
        .collect();
    assert!(!assets.is_empty());
    for asset in assets {
        let response = stack.get(asset).await;
        assert_eq!(
            response.status(),
            200,
            "{asset} (run `npm ci` in gateway/web)"
        );
    }
    let (code, _) = error_of(stack.get("/graphiql/assets/left-pad/index.js").await, 404).await;
    assert_eq!(code, "NOT_FOUND");
}
