//! `/api/movies`, the sequence users of the movie API run.

use serde_json::{Value, json};

use crate::helpers::{error_of, spawn_stack};

#[tokio::test]
async fn the_movie_sequence_from_the_postman_collection() {
    let stack = spawn_stack().await;

    let response = stack
        .post(
            "/api/movies",
            &json!({"title": "Inception", "description": "A mind-bending thriller"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let movie: Value = response.json().await.expect("json");
    let id = movie["id"].as_i64().expect("integer id");
    assert_eq!(location, format!("/api/movies/{id}"));
    assert_eq!(movie["title"], "Inception");

    let found: Value = stack
        .get("/api/movies?title=incep")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        found,
        json!([{"id": id, "title": "Inception", "description": "A mind-bending thriller"}])
    );

    let response = stack
        .put(
            &format!("/api/movies/{id}"),
            &json!({"description": "Dreams within dreams"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.expect("json");
    assert_eq!(changed["description"], "Dreams within dreams");
    assert_eq!(changed["title"], "Inception");

    let fetched: Value = stack
        .get(&format!("/api/movies/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched, changed);

    assert_eq!(
        stack.delete(&format!("/api/movies/{id}")).await.status(),
        204
    );
    let (code, _) = error_of(stack.get(&format!("/api/movies/{id}")).await, 404).await;
    assert_eq!(code, "NOT_FOUND");

    stack
        .post(
            "/api/movies",
            &json!({"title": "Heat", "description": "Cops"}),
        )
        .await;
    assert_eq!(stack.delete("/api/movies").await.status(), 204);
    let all: Value = stack.get("/api/movies").await.json().await.expect("json");
    assert_eq!(all, json!([]));
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_problem() {
    let stack = spawn_stack().await;
    let (code, message) = error_of(stack.post("/api/movies", &json!({})).await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert_eq!(message, "title: is required");

    let (_, message) = error_of(
        stack.post("/api/movies", &json!({"title": "Heat"})).await,
        400,
    )
    .await;
    assert_eq!(message, "description: is required");

    let (code, message) = error_of(stack.get("/api/movies/abc").await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert_eq!(message, "id: must be a positive integer");
    error_of(stack.get("/api/movies/0").await, 400).await;
    error_of(
        stack.put("/api/movies/abc", &json!({"title": "x"})).await,
        400,
    )
    .await;
    error_of(stack.delete("/api/movies/-1").await, 400).await;

    let (_, message) = error_of(
        stack
            .post("/api/movies", &json!({"title": 5, "description": "x"}))
            .await,
        400,
    )
    .await;
    assert!(message.contains("invalid type"), "{message}");

    // PostgreSQL refuses NUL in text: it must stop at validation, never reach it as a 500.
    let (code, message) = error_of(stack.get("/api/movies?title=%00").await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert_eq!(message, "title: must not contain control characters");
    error_of(
        stack
            .post("/api/movies", &json!({"title": "a\0b", "description": "x"}))
            .await,
        400,
    )
    .await;

    // A field the contract lacks is named, not ignored: a typo must not pass as "no change".
    let (_, message) = error_of(
        stack.put("/api/movies/1", &json!({"tilte": "Heat"})).await,
        400,
    )
    .await;
    assert!(message.contains("tilte"), "{message}");

    let (code, _) = error_of(stack.put("/api/movies/1", &json!({})).await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    error_of(
        stack
            .put("/api/movies/999999", &json!({"title": "Ghost"}))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn an_inventory_outage_is_a_503_that_heals_without_a_gateway_restart() {
    let mut stack = spawn_stack().await;
    stack
        .post(
            "/api/movies",
            &json!({"title": "Heat", "description": "Cops"}),
        )
        .await;

    stack.stop_inventory().await;
    let (code, message) = error_of(stack.get("/api/movies").await, 503).await;
    assert_eq!(code, "UNAVAILABLE");
    assert!(message.contains("inventory-service"), "{message}");

    // The gateway stays in its Service (menu-service serves) and names what is down.
    let response = stack.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "degraded", "{body}");
    assert!(
        body["degraded"]["inventory-service"]
            .as_str()
            .unwrap_or_default()
            .contains("no endpoint serves"),
        "{body}"
    );
    assert_eq!(body["backends"]["menu-service"], "SERVING");
    assert_ne!(body["backends"]["inventory-service"], "SERVING");

    stack.start_inventory().await;
    let movies: Value = mesh_testkit::eventually(
        "movies to be served again",
        std::time::Duration::from_secs(10),
        || async {
            let response = stack.get("/api/movies").await;
            if response.status() == 200 {
                response.json::<Value>().await.ok()
            } else {
                None
            }
        },
    )
    .await;
    assert_eq!(movies[0]["title"], "Heat", "data survived the outage");
    mesh_testkit::eventually(
        "/readyz to heal",
        std::time::Duration::from_secs(20),
        || async {
            let response = stack.get("/readyz").await;
            let status = response.status();
            let body: Value = response.json().await.ok()?;
            (status == 200 && body["status"] == "ready").then_some(())
        },
    )
    .await;
}
