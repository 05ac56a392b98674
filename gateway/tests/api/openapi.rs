//! The REST contract as users import it: the OpenAPI 3.1 document and Swagger UI, both served by
//! the gateway, and the Postman collection shipped in `docs/postman/` covering every operation.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::spawn_stack;

/// Every REST route a user has in a collection, as `METHOD path` with OpenAPI's `{param}`.
const ROUTES: [&str; 19] = [
    "GET /menu/items",
    "POST /menu/items",
    "GET /menu/items/{id}",
    "PATCH /menu/items/{id}",
    "DELETE /menu/items/{id}",
    "POST /orders",
    "GET /orders",
    "GET /orders/{order_id}",
    "POST /orders/{order_id}/cancel",
    "GET /delivery/status/{order_id}",
    "PUT /delivery/status/{order_id}",
    "GET /api/movies",
    "POST /api/movies",
    "DELETE /api/movies",
    "GET /api/movies/{id}",
    "PUT /api/movies/{id}",
    "DELETE /api/movies/{id}",
    "POST /api/billing",
    "GET /api/billing",
];

/// `METHOD path` of every operation in a document.
pub fn operations(document: &Value) -> BTreeSet<String> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|key| ["get", "put", "post", "delete", "patch"].contains(&key.as_str()))
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect()
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_with_its_errors() {
    let stack = spawn_stack().await;
    let response = stack.get("/api-docs/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let operations = operations(&document);
    for route in ROUTES.iter().chain(&[
        "GET /api/billing/{request_id}",
        "GET /healthz",
        "GET /readyz",
    ]) {
        assert!(operations.contains(*route), "{route} is not documented");
    }
    // Errors share one body, with the codes clients match on.
    let codes = &document["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "FAILED_PRECONDITION",
        "UNAVAILABLE",
        "BAD_GATEWAY",
    ] {
        assert!(
            codes
                .as_array()
                .is_some_and(|c| c.contains(&Value::from(code))),
            "{code} missing from {codes}"
        );
    }
    let get_order = &document["paths"]["/orders/{order_id}"]["get"];
    for status in ["200", "400", "404", "502", "503", "504"] {
        assert!(
            get_order["responses"][status].is_object(),
            "GET /orders/{{order_id}} does not document {status}"
        );
    }
    assert_eq!(
        get_order["responses"]["404"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    let create = &document["paths"]["/orders"]["post"];
    let headers: Vec<&str> = create["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "header")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(headers, ["Idempotency-Key", "x-request-id"]);
    let list = &document["paths"]["/menu/items"]["get"]["responses"]["200"]["headers"];
    assert!(list["x-next-page-token"].is_object(), "{list}");
    assert!(list["x-request-id"].is_object(), "{list}");
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_gateway_itself() {
    let stack = spawn_stack().await;
    let page = stack.get("/api-docs").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    assert!(html.contains("/api-docs/openapi.json"));
    for external in ["unpkg.com", "jsdelivr", "cdnjs", "googleapis", "https://"] {
        assert!(!html.contains(external), "page references {external}");
    }
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/api-docs/assets/"))
        .collect();
    assert_eq!(assets.len(), 3, "{assets:?}");
    for asset in assets {
        assert_eq!(
            stack.get(asset).await.status(),
            200,
            "{asset} (run `npm ci` in gateway/web)"
        );
    }
}

#[tokio::test]
async fn the_postman_collection_has_a_request_for_every_operation() {
    let stack = spawn_stack().await;
    let document: Value = stack
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/postman/mesh.postman_collection.json"
    );
    let collection: Value = serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path}: {err}")),
    )
    .expect("the collection is JSON");
    let mut requests = BTreeSet::new();
    collect_requests(&collection["item"], &mut requests);
    let missing: Vec<String> = operations(&document)
        .into_iter()
        .filter(|operation| !requests.contains(&unnamed(operation)))
        .collect();
    assert!(
        missing.is_empty(),
        "OpenAPI operations with no request in {path}: {missing:?}"
    );
}

/// `METHOD /path/{param}` of every request in a collection's folders, with Postman's
/// `{{baseUrl}}` dropped and its `{{variables}}` in path segments read as parameters.
fn collect_requests(items: &Value, out: &mut BTreeSet<String>) {
    for item in items.as_array().into_iter().flatten() {
        if item["item"].is_array() {
            collect_requests(&item["item"], out);
            continue;
        }
        let request = &item["request"];
        let method = request["method"].as_str().unwrap_or("GET");
        let segments: Vec<String> = request["url"]["path"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|segment| {
                if segment.starts_with("{{") || segment.starts_with(':') {
                    "{}".to_owned()
                } else {
                    segment.to_owned()
                }
            })
            .collect();
        out.insert(format!("{method} /{}", segments.join("/")));
    }
}

/// An operation with its path parameters unnamed (`{order_id}` → `{}`), as requests mark them.
fn unnamed(operation: &str) -> String {
    let mut out = String::with_capacity(operation.len());
    let mut in_param = false;
    for c in operation.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}
