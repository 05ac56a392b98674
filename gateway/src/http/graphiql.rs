//! The GraphiQL page at `GET /graphql`, working with no internet: the page is compiled in, and
//! its scripts and styles are served from the npm packages `scripts/up` installs into
//! `gateway/web/node_modules`. Nothing is loaded from a CDN.

use std::path::Path;

use axum::{Router, response::Html};
use tower_http::services::ServeDir;

use crate::http::AppState;

const PAGE: &str = include_str!("../../web/graphiql.html");

/// The packages the page loads files from; nothing else under `node_modules` is served.
/// (GraphiQL's bundle carries its own graphql-ws client for subscriptions.)
const PACKAGES: [&str; 3] = ["react", "react-dom", "graphiql"];

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `/graphiql/assets/<package>/<path>` for each allowed package.
pub fn assets(node_modules: &Path) -> Router<AppState> {
    if !node_modules.join("graphiql").is_dir() {
        tracing::warn!(
            dir = %node_modules.display(),
            "GraphiQL assets not found: run `npm ci` in gateway/web (scripts/up does) or set GATEWAY_ASSETS_DIR"
        );
    }
    PACKAGES.iter().fold(Router::new(), |router, package| {
        router.nest_service(
            &format!("/graphiql/assets/{package}"),
            ServeDir::new(node_modules.join(package)),
        )
    })
}
