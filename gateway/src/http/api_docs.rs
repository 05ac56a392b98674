//! The REST API's documentation: the OpenAPI document at `GET /api-docs/openapi.json` and
//! Swagger UI at `GET /api-docs`, working with no internet. The page is compiled in; Swagger
//! UI's scripts and styles are served from the `swagger-ui-dist` npm package that `scripts/up`
//! installs into `gateway/web/node_modules`, like GraphiQL's.

use std::path::Path;

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};
use tower_http::services::ServeDir;

const PAGE: &str = include_str!("../../web/swagger.html");

/// The document, serialized once; clones share the bytes.
#[derive(Clone)]
pub struct ApiDocument(Bytes);

impl ApiDocument {
    pub fn new(api: &utoipa::openapi::OpenApi) -> Self {
        // Serializing our own document cannot fail; an empty object keeps the route answering.
        Self(Bytes::from(
            api.to_pretty_json().unwrap_or_else(|_| "{}".into()),
        ))
    }
}

/// `/api-docs`, `/api-docs/openapi.json` and `/api-docs/assets/…`.
pub fn routes<S: Clone + Send + Sync + 'static>(
    document: ApiDocument,
    node_modules: &Path,
) -> Router<S> {
    let dist = node_modules.join("swagger-ui-dist");
    if !dist.is_dir() {
        tracing::warn!(
            dir = %dist.display(),
            "Swagger UI assets not found: run `npm ci` in gateway/web (scripts/up does) or set GATEWAY_ASSETS_DIR"
        );
    }
    Router::new()
        .route("/api-docs", get(page))
        .route("/api-docs/openapi.json", get(openapi_json))
        .with_state(document)
        .nest_service("/api-docs/assets", ServeDir::new(dist))
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn openapi_json(State(document): State<ApiDocument>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document.0)
}
