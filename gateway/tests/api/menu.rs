//! `/menu/items`.

use serde_json::{Value, json};

use crate::helpers::{error_of, spawn_stack};

#[tokio::test]
async fn lists_the_seeded_menu() {
    let stack = spawn_stack().await;
    let response = stack.get("/menu/items").await;
    assert_eq!(response.status(), 200);
    let items: Value = response.json().await.expect("json");
    let items = items.as_array().expect("an array");
    assert_eq!(items.len(), 12);
    let first = &items[0];
    for field in [
        "id",
        "name",
        "description",
        "price_cents",
        "currency",
        "category",
        "available",
    ] {
        assert!(first.get(field).is_some(), "{field} missing from {first}");
    }
    assert!(
        first["price_cents"].as_i64().is_some(),
        "price is integer cents"
    );
}

#[tokio::test]
async fn pages_through_headers() {
    let stack = spawn_stack().await;
    let response = stack.get("/menu/items?page_size=5").await;
    assert_eq!(response.status(), 200);
    let token = response.headers()["x-next-page-token"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let link = response.headers()["link"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(link.contains("rel=\"next\""), "{link}");
    let page: Vec<Value> = response.json().await.expect("json");
    assert_eq!(page.len(), 5);

    let next: Vec<Value> = stack
        .get(&format!("/menu/items?page_size=5&page_token={token}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(next.len(), 5);
    assert_ne!(next[0]["id"], page[0]["id"]);

    let drinks: Vec<Value> = stack
        .get("/menu/items?category=Drinks")
        .await
        .json()
        .await
        .expect("json");
    assert!(drinks.iter().all(|i| i["category"] == "Drinks") && !drinks.is_empty());

    error_of(stack.get("/menu/items?page_size=1000").await, 400).await;
    error_of(stack.get("/menu/items?available=maybe").await, 400).await;
}

#[tokio::test]
async fn creates_and_reads_an_item() {
    let stack = spawn_stack().await;
    let response = stack
        .post(
            "/menu/items",
            &json!({"name": "Shakshuka", "description": "Eggs in spiced tomato", "price_cents": 1150, "category": "Brunch"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["available"], true);

    let id = created["id"].as_str().expect("id");
    let fetched: Value = stack
        .get(&format!("/menu/items/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn invalid_items_and_ids_are_client_errors() {
    let stack = spawn_stack().await;
    let (code, message) = error_of(
        stack
            .post(
                "/menu/items",
                &json!({"name": "Soup", "price_cents": -5, "category": "Soups"}),
            )
            .await,
        400,
    )
    .await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert!(message.starts_with("price_cents"), "{message}");

    let (_, message) = error_of(
        stack
            .post("/menu/items", &json!({"name": "Soup", "category": "Soups"}))
            .await,
        400,
    )
    .await;
    assert_eq!(message, "price_cents: is required");

    error_of(stack.get("/menu/items/not-a-uuid").await, 400).await;
    let (code, _) = error_of(
        stack
            .get("/menu/items/6b0c7a62-5d1e-4e9f-9a51-3f1f5a8e0b11")
            .await,
        404,
    )
    .await;
    assert_eq!(code, "NOT_FOUND");
}
