//! The public contract as users hold it, committed in `gateway/contract/`: the GraphQL schema
//! (`schema.graphql`) and the OpenAPI document the gateway serves (`openapi.json`). Any change to
//! either shows here as a diff to review; when it is meant, rewrite the files with
//! `UPDATE_EXPECT=1 cargo test -p gateway --test api contract` and commit them with the change.

use expect_test::expect_file;

use crate::helpers::spawn_stack;

#[test]
fn the_graphql_schema_is_the_committed_one() {
    expect_file!["../../contract/schema.graphql"].assert_eq(&gateway::graphql::sdl());
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let stack = spawn_stack().await;
    let response = stack.get("/api-docs/openapi.json").await;
    assert_eq!(response.status(), 200);
    let served = response.text().await.expect("the document");
    expect_file!["../../contract/openapi.json"].assert_eq(&format!("{served}\n"));
}
