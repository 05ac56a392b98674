//! The public contract as users hold it, committed in `gateway/contract/`: the GraphQL schema
//! (`schema.graphql`) and the OpenAPI document the gateway serves (`openapi.json`). Any change to
//! either shows here as a diff to review; when it is meant, rewrite the files with
//! `UPDATE_EXPECT=1 cargo test -p gateway --test api contract` and commit them with the change.

use std::collections::BTreeSet;

use expect_test::expect_file;

use crate::helpers::spawn_stack;

#[test]
fn the_graphql_schema_is_the_committed_one() {
    expect_file!["../../contract/schema.graphql"].assert_eq(&gateway::http::graphql::sdl());
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let stack = spawn_stack().await;
    let response = stack.get("/api-docs/openapi.json").await;
    assert_eq!(response.status(), 200);
    let served = response.text().await.expect("the document");
    expect_file!["../../contract/openapi.json"].assert_eq(&format!("{served}\n"));
}

/// Every REST operation the gateway serves is the `google.api.http` route of the RPC behind it,
/// and every route `proto/` declares is served: the annotations are the routes users have.
#[test]
fn every_rest_route_is_the_one_its_rpc_declares() {
    // Served, but no RPC answers them: a billing request is queued on Kafka, health is the
    // gateway's own.
    const NOT_RPCS: [&str; 3] = ["POST /api/billing", "GET /healthz", "GET /readyz"];
    let document: serde_json::Value =
        serde_json::from_str(include_str!("../../contract/openapi.json")).expect("JSON");
    let served: BTreeSet<String> = crate::openapi::operations(&document)
        .iter()
        .filter_map(|operation| operation.split_once(' '))
        .map(|(method, path)| route(method, path))
        .filter(|route| !NOT_RPCS.contains(&route.as_str()))
        .collect();
    let declared: BTreeSet<String> = mesh_proto::descriptors::http_routes()
        .expect("the descriptor set decodes")
        .iter()
        .map(|declared| route(declared.method, &declared.path))
        .collect();
    assert_eq!(served, declared);
}

/// `METHOD path`, path variables unnamed (`mesh_proto::descriptors::path_shape`).
fn route(method: &str, path: &str) -> String {
    format!("{method} {}", mesh_proto::descriptors::path_shape(path))
}

/// The document's bounds are the contract's field rules: a bound changed in `proto/` changes the
/// document, with nothing in the gateway to edit (here the price cap, which the document lacked
/// while it was typed by hand).
#[test]
fn the_documents_bounds_are_the_contracts_field_rules() {
    let document: serde_json::Value =
        serde_json::from_str(include_str!("../../contract/openapi.json")).expect("JSON");
    let pool = mesh_proto::descriptors::pool().expect("the descriptor set decodes");
    let field = |message: &str, field: &str| {
        let message = pool.get_message_by_name(message).expect("the message");
        let field = message.get_field_by_name(field).expect("the field");
        mesh_proto::rules::bounds(&field)
    };
    let price = field("mesh.menu.v1.CreateMenuItemRequest", "price_cents");
    let property =
        &document["components"]["schemas"]["CreateMenuItemRequest"]["properties"]["price_cents"];
    assert_eq!(property["minimum"], serde_json::json!(price.minimum));
    assert_eq!(property["maximum"], serde_json::json!(price.maximum));
    assert_eq!(price.maximum, Some(1_000_000));

    let lines = field("mesh.order.v1.CreateOrderRequest", "items");
    let items = &document["components"]["schemas"]["CreateOrderRequest"]["properties"]["items"];
    assert_eq!(items["minItems"], serde_json::json!(lines.min_items));
    assert_eq!(items["maxItems"], serde_json::json!(lines.max_items));
    let quantity = &document["components"]["schemas"]["CreateOrderItem"]["properties"]["quantity"];
    assert_eq!(quantity["maximum"], 100, "into the items' own schema");
}
