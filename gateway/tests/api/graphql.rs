//! GraphQL reads and writes, with REST's error codes in `extensions.code`.

use serde_json::json;

use crate::helpers::{graphql_error_code, spawn_stack};

#[tokio::test]
async fn reads_the_menu() {
    let stack = spawn_stack().await;
    let page = stack
        .graphql(
            "query($first: Int) { menuItems(first: $first) { nodes { id name priceCents currency } } }",
            json!({"first": 3}),
        )
        .await;
    let items = page["data"]["menuItems"]["nodes"]
        .as_array()
        .expect("nodes");
    assert_eq!(items.len(), 3);

    let id = items[0]["id"].as_str().expect("id");
    let one = stack
        .graphql(
            "query($id: ID!) { menuItem(id: $id) { name priceCents } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(one["data"]["menuItem"]["name"], items[0]["name"]);
}

#[tokio::test]
async fn writes_and_reads_movies() {
    let stack = spawn_stack().await;
    let created = stack
        .graphql(
            r#"mutation { createMovie(input: {title: "Inception", description: "Dreams"}) { id title } }"#,
            json!({}),
        )
        .await;
    let id = created["data"]["createMovie"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let found = stack
        .graphql(
            r#"{ movies(title: "INCEP") { id title description } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        found["data"]["movies"],
        json!([{"id": id, "title": "Inception", "description": "Dreams"}])
    );

    let updated = stack
        .graphql(
            "mutation($id: ID!) { updateMovie(id: $id, input: {title: \"Inception (2010)\"}) { title description } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        updated["data"]["updateMovie"],
        json!({"title": "Inception (2010)", "description": "Dreams"})
    );

    let movie = stack
        .graphql(
            "query($id: ID!) { movie(id: $id) { title } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(movie["data"]["movie"]["title"], "Inception (2010)");

    let deleted = stack
        .graphql(
            "mutation($id: ID!) { deleteMovie(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(deleted["data"]["deleteMovie"], id);

    stack
        .graphql(
            r#"mutation { createMovie(input: {title: "Heat", description: "Cops"}) { id } }"#,
            json!({}),
        )
        .await;
    let cleared = stack
        .graphql("mutation { deleteAllMovies }", json!({}))
        .await;
    assert_eq!(cleared["data"]["deleteAllMovies"], 1);
    let none = stack.graphql("{ movies { id } }", json!({})).await;
    assert_eq!(none["data"]["movies"], json!([]));
}

#[tokio::test]
async fn creates_updates_and_deletes_menu_items() {
    let stack = spawn_stack().await;
    let created = stack
        .graphql(
            r#"mutation { createMenuItem(input: {name: "Gyoza", priceCents: 650, category: "Starters"}) { id name currency available } }"#,
            json!({}),
        )
        .await;
    let item = &created["data"]["createMenuItem"];
    assert_eq!(item["currency"], "USD");
    let id = item["id"].as_str().expect("id");

    let updated = stack
        .graphql(
            "mutation($id: ID!) { updateMenuItem(id: $id, input: {priceCents: 700, available: false}) { priceCents available } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        updated["data"]["updateMenuItem"],
        json!({"priceCents": 700, "available": false})
    );

    let deleted = stack
        .graphql(
            "mutation($id: ID!) { deleteMenuItem(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(deleted["data"]["deleteMenuItem"], id);
    let gone = stack
        .graphql(
            "query($id: ID!) { menuItem(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(graphql_error_code(&gone), "NOT_FOUND");
}

#[tokio::test]
async fn errors_carry_the_rest_codes() {
    let mut stack = spawn_stack().await;
    let bad = stack
        .graphql(r#"{ movie(id: "abc") { title } }"#, json!({}))
        .await;
    assert_eq!(graphql_error_code(&bad), "INVALID_ARGUMENT");
    assert_eq!(
        bad["errors"][0]["message"],
        "id: must be a positive integer"
    );

    let missing = stack
        .graphql(r#"{ movie(id: "987654") { title } }"#, json!({}))
        .await;
    assert_eq!(graphql_error_code(&missing), "NOT_FOUND");
    assert_eq!(missing["data"]["movie"], serde_json::Value::Null);

    let invalid = stack
        .graphql(
            r#"mutation { createMovie(input: {title: " ", description: "x"}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(graphql_error_code(&invalid), "INVALID_ARGUMENT");

    stack.stop_inventory().await;
    let down = stack.graphql("{ movies { id } }", json!({})).await;
    assert_eq!(graphql_error_code(&down), "UNAVAILABLE");
    // The rest of the query still answers: the menu is up.
    let partial = stack
        .graphql(
            "{ movies { id } menuItems(first: 1) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        partial["data"]["menuItems"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
