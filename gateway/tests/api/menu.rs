//! `/menu/items`.

use serde_json::{Value, json};

use gateway::auth::Role;

use crate::helpers::{admin_client, client_with, error_of, graphql_error_code, spawn_stack, token};

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

/// The menu's routes are served from the contract (`mesh.api.v1.route` in `proto/menu.proto`),
/// with no handler of their own: what a handler used to refuse, they refuse, and nothing steps
/// around the path, the field rules, the text rule or the access rule.
#[tokio::test]
async fn the_contract_routes_refuse_what_would_step_around_them() {
    let stack = spawn_stack().await;
    let items: Vec<Value> = stack.get("/menu/items").await.json().await.expect("json");
    let (first, second) = (&items[0], &items[1]);
    let (first_id, second_id) = (
        first["id"].as_str().expect("id"),
        second["id"].as_str().expect("id"),
    );
    let patch = |client: reqwest::Client, id: &str, body: Value| {
        let url = stack.url(&format!("/menu/items/{id}"));
        async move { client.patch(url).json(&body).send().await.expect("answer") }
    };

    // The path names the item; a body cannot name another one.
    let (code, message) = error_of(
        patch(
            admin_client(),
            first_id,
            json!({"id": second_id, "name": "Renamed"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert!(message.contains("`id`"), "{message}");
    let unchanged: Value = stack
        .get(&format!("/menu/items/{second_id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(&unchanged, second, "the other item is untouched");

    // Fields the contract lacks, wrong types and broken rules are 400s naming the field.
    let (_, message) = error_of(
        stack
            .post(
                "/menu/items",
                &json!({"name": "Soup", "price_cents": 500, "category": "Soups", "owner": "me"}),
            )
            .await,
        400,
    )
    .await;
    assert!(message.contains("owner"), "{message}");
    error_of(
        stack
            .post(
                "/menu/items",
                &json!({"name": "Soup", "price_cents": 5.5, "category": "Soups"}),
            )
            .await,
        400,
    )
    .await;
    error_of(stack.post("/menu/items", &json!(["Soup"])).await, 400).await;
    let (_, message) = error_of(
        patch(admin_client(), first_id, json!({"currency": "euro"})).await,
        400,
    )
    .await;
    assert_eq!(message, "currency: must be an ISO 4217 code such as USD");
    let (_, message) = error_of(
        stack
            .post(
                "/menu/items",
                &json!({"name": "So\u{0}up", "price_cents": 500, "category": "Soups"}),
            )
            .await,
        400,
    )
    .await;
    assert!(
        message.starts_with("name"),
        "the text rule holds: {message}"
    );
    let (_, message) = error_of(stack.get("/menu/items?page_size=many").await, 400).await;
    assert_eq!(message, "page_size: must be an integer");

    // Not JSON is 415, before anything is sent on.
    let response = admin_client()
        .post(stack.url("/menu/items"))
        .body("name=Soup")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 415);

    // The access rule holds on every write, whatever the body.
    for client in [
        client_with(None),
        client_with(Some(&token(Role::Customer, "c-1"))),
    ] {
        let status = patch(client.clone(), first_id, json!({"price_cents": 1}))
            .await
            .status();
        assert!(status == 401 || status == 403, "{status}");
        let status = client
            .delete(stack.url(&format!("/menu/items/{first_id}")))
            .send()
            .await
            .expect("answer")
            .status();
        assert!(status == 401 || status == 403, "{status}");
    }

    // A later page keeps the filters it was asked with.
    let response = stack.get("/menu/items?category=Pizza&page_size=1").await;
    let link = response.headers()["link"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        link.contains("category=Pizza") && link.contains("page_size=1"),
        "{link}"
    );

    // A delete is 204 with no body, and the item is gone.
    let response = stack.delete(&format!("/menu/items/{first_id}")).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.expect("body").is_empty());
    error_of(stack.get(&format!("/menu/items/{first_id}")).await, 404).await;
}

/// The allergens field, added in `proto/` and menu-service alone, reads and filters the same
/// over REST and GraphQL; a value the contract lacks is refused on both, naming the ones it has.
#[tokio::test]
async fn allergens_read_and_filter_alike_over_rest_and_graphql() {
    let stack = spawn_stack().await;
    let created: Value = stack
        .post(
            "/menu/items",
            &json!({"name": "Satay", "price_cents": 900, "category": "Skewers",
                    "allergens": ["soybeans", "PEANUTS"]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        created["allergens"],
        json!(["PEANUTS", "SOYBEANS"]),
        "any case in, in name order without the prefix out"
    );

    let rest_names = |path: &'static str| {
        let request = stack.get(path);
        async move {
            let items: Vec<Value> = request.await.json().await.expect("json");
            let mut names: Vec<String> = items
                .iter()
                .map(|item| item["name"].as_str().expect("name").to_owned())
                .collect();
            names.sort();
            names
        }
    };
    let graphql_names = |free: Value| {
        let query = stack.graphql(
            "query($free: [Allergen!]) { menuItems(first: 100, allergenFree: $free) { nodes { name allergens } } }",
            json!({"free": free}),
        );
        async move {
            let answer = query.await;
            let mut names: Vec<String> = answer["data"]["menuItems"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{answer}"))
                .iter()
                .map(|item| item["name"].as_str().expect("name").to_owned())
                .collect();
            names.sort();
            names
        }
    };
    let free_of_peanuts = rest_names("/menu/items?page_size=100&allergen_free=PEANUTS").await;
    assert!(!free_of_peanuts.contains(&"Satay".to_owned()));
    assert!(free_of_peanuts.contains(&"Garlic Fries".to_owned()));
    assert_eq!(graphql_names(json!(["PEANUTS"])).await, free_of_peanuts);
    let free_of_three = rest_names(
        "/menu/items?page_size=100&allergen_free=gluten&allergen_free=milk&allergen_free=fish",
    )
    .await;
    assert_eq!(free_of_three, ["Garlic Fries", "Lemonade", "Satay"]);
    assert_eq!(
        graphql_names(json!(["GLUTEN", "MILK", "FISH"])).await,
        free_of_three
    );

    // The filter's bound holds on both surfaces: 15 names are refused, not queried.
    let fifteen = vec!["allergen_free=GLUTEN"; 15].join("&");
    let (code, message) = error_of(stack.get(&format!("/menu/items?{fifteen}")).await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert!(message.starts_with("allergen_free"), "{message}");
    let refused = stack
        .graphql(
            "query($free: [Allergen!]) { menuItems(allergenFree: $free) { nodes { id } } }",
            json!({"free": vec!["GLUTEN"; 15]}),
        )
        .await;
    assert_eq!(
        graphql_error_code(&refused),
        "INVALID_ARGUMENT",
        "{refused}"
    );

    let (code, message) =
        error_of(stack.get("/menu/items?allergen_free=CHOCOLATE").await, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");
    assert!(
        message.starts_with("allergen_free: must be one of GLUTEN,"),
        "{message}"
    );
    let (_, message) = error_of(
        stack
            .post(
                "/menu/items",
                &json!({"name": "X", "price_cents": 1, "category": "C", "allergens": ["UNSPECIFIED"]}),
            )
            .await,
        400,
    )
    .await;
    assert!(message.starts_with("allergens"), "{message}");
    let (_, message) = error_of(
        stack
            .post(
                "/menu/items",
                &json!({"name": "X", "price_cents": 1, "category": "C", "allergens": ["MILK", "milk"]}),
            )
            .await,
        400,
    )
    .await;
    assert_eq!(message, "allergens: items must be unique");
    let refused = stack
        .graphql(
            r#"{ menuItems(allergenFree: [CHOCOLATE]) { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert!(refused["errors"][0]["message"].is_string(), "{refused}");
    assert!(refused["data"].is_null(), "{refused}");
}
