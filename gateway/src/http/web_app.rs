//! The web page for people under `/app/`: the single-page app `npm run build` in `gateway/app`
//! writes to `dist/` (or `GATEWAY_APP_DIR`), served as files, with every other `/app/...` path
//! answered by its `index.html` so the page's own routes (`/app/orders/<id>`) load on a reload
//! or from a link. `/` redirects here. Nothing is loaded from a CDN.

use std::path::Path;

use axum::{
    Router,
    extract::OriginalUri,
    handler::HandlerWithoutStateExt,
    http::{HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::{SetResponseHeader, SetResponseHeaderLayer},
};

use crate::{
    error::{ApiError, ErrorCode},
    http::AppState,
};

/// Where the page's scripts, styles and connections may go: its own origin only (`'self'`
/// covers the same-origin `ws:`/`wss:` of `/graphql/ws`), no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// `/` (a redirect) and `/app/...`, from the built page in `dir`.
pub fn routes(dir: &Path) -> Router<AppState> {
    let index = dir.join("index.html");
    let csp = SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    let router = Router::new().route("/", get(|| async { Redirect::temporary("/app/") }));
    if !index.is_file() {
        tracing::warn!(
            dir = %dir.display(),
            "the web page is not built: run `npm ci && npm run build` in gateway/app (scripts/up does) or set GATEWAY_APP_DIR"
        );
        return router
            .route("/app", get(not_built))
            .route("/app/", get(not_built))
            .route("/app/{*path}", get(not_built));
    }
    // Vite names the bundles by their content hash, so they never change under a name; the
    // page itself is asked for again each time, to pick up a new build. An asset that is not
    // there is a 404, not the page: a stale page asking for an old bundle should fail loudly.
    let assets = ServeDir::new(dir.join("assets")).fallback(missing_asset.into_service());
    let assets = SetResponseHeader::overriding(
        assets,
        header::CACHE_CONTROL,
        // Not on a 404: a bundle missing now may be there after the next build.
        |response: &Response<_>| {
            response
                .status()
                .is_success()
                .then(|| HeaderValue::from_static("public, max-age=31536000, immutable"))
        },
    );
    let page = SetResponseHeader::if_not_present(
        ServeDir::new(dir).fallback(ServeFile::new(&index)),
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    router
        .nest_service("/app/assets", assets)
        .nest_service("/app", page)
        .layer(csp)
}

async fn not_built() -> Response {
    ApiError::new(
        ErrorCode::Unavailable,
        "the web page is not built on this gateway: run `npm ci && npm run build` in gateway/app",
    )
    .into_response()
}

async fn missing_asset(OriginalUri(uri): OriginalUri) -> Response {
    ApiError::new(ErrorCode::NotFound, format!("no file {}", uri.path())).into_response()
}
