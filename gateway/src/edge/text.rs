//! The edge's text rule (edge-rules' `inputs`) on the URL, before any route sees it; JSON bodies
//! and GraphQL arguments meet the same rule in `rest::Json` and the query limits.

use axum::{
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// Middleware: the URL's path segments and query parameters, decoded, each within the rule.
pub async fn check_url(request: Request, next: Next) -> Response {
    let uri = request.uri();
    match edge_rules::inputs::check_url(uri.path(), uri.query()) {
        Ok(()) => next.run(request).await,
        Err(err) => ApiError::invalid(&err.field, &err.reason).into_response(),
    }
}
