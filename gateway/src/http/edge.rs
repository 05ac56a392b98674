//! The edge: one policy in front of every route and transport (REST, GraphQL over HTTP,
//! server-sent events, WebSocket, persisted queries, `_entities`, Swagger UI, the web page).
//!
//! | what | where | default (setting) |
//! |---|---|---|
//! | connections open at once | [`serve`] | 10000 (`GATEWAY_MAX_CONNECTIONS`) |
//! | time to send a request's headers (and a TLS handshake) | [`serve`] | 10 s (`GATEWAY_HEADER_READ_TIMEOUT_MS`) |
//! | request body, every route | [`layer`] | 64 KiB (`GATEWAY_BODY_LIMIT_BYTES`), 413 |
//! | time to read the body and start the answer | [`layer`] | 30 s (`GATEWAY_REQUEST_TIMEOUT_MS`), 408 |
//! | control characters and length of any string | [`admit`] (edge-rules' `inputs`) | none; 10000 characters, 400 |
//! | who the caller is (bearer JWT) | [`admit`] | 401 for a bad token |
//! | operations per client (HTTP request, WebSocket operation) | [`admit`], `graphql::ws` | 50/s, burst 100 (`GATEWAY_RATE_LIMIT_*`), 429 |
//! | open WebSockets and event streams per client | [`sockets`] | 16 (`GATEWAY_WS_MAX_SOCKETS_PER_CLIENT`) |
//! | operations at once on one WebSocket | `graphql::ws` | 32 (`GATEWAY_WS_MAX_SUBSCRIPTIONS`) |
//! | a socket or stream outliving its token | `graphql::ws`, `graphql::sse` | closed at `exp` + leeway |
//! | GraphQL depth, aliases, root fields, cost, `_entities` | `graphql::limits` | see there |
//!
//! A client is its token's subject when it sent a valid one, else its address: the peer's, or
//! the one a trusted proxy names in `X-Forwarded-For` (`GATEWAY_TRUSTED_PROXIES`). A request
//! with a bad token counts against its address before it is refused, so guessing tokens is
//! rate-limited like anything else.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    Router,
    extract::{ConnectInfo, DefaultBodyLimit, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower::ServiceBuilder;
use tower_http::{
    limit::RequestBodyLimitLayer,
    timeout::{RequestBodyTimeoutLayer, TimeoutLayer},
};

use crate::{
    auth::Auth,
    config::EdgeConfig,
    error::{ApiError, ErrorCode},
    http::edge::rate_limit::RateLimits,
};

mod client;
pub mod rate_limit;
pub mod serve;
pub mod sockets;

pub use client::{Client, client_address};

/// What the admission middleware needs. Behind an `Arc` when layered: axum clones a
/// middleware's state for every request.
pub struct Admission {
    pub auth: Auth,
    pub limits: RateLimits,
    pub trusted_proxies: Arc<[IpAddr]>,
}

/// Middleware: the URL's text rule, who the caller is, and whether it may make one more request
/// now (one middleware, not three: each costs a clone of the route and a boxed future).
pub async fn admit(
    State(edge): State<Arc<Admission>>,
    mut request: Request,
    next: Next,
) -> Response {
    let uri = request.uri();
    if let Err(err) = edge_rules::inputs::check_url(uri.path(), uri.query()) {
        return ApiError::invalid(&err.field, &err.reason).into_response();
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let address = client_address(peer, request.headers(), &edge.trusted_proxies);
    let caller = match edge.auth.caller(request.headers()).await {
        Ok(caller) => caller,
        Err(refused) => {
            // Charged to the address: a stream of bad tokens is limited, not just refused.
            let client = Client::address(address);
            if let Err(wait) = edge.limits.check(&client) {
                return edge.limits.too_many(&client, wait);
            }
            return refused.into_response();
        }
    };
    let client = Client::of(&caller, address);
    if let Err(wait) = edge.limits.check(&client) {
        return edge.limits.too_many(&client, wait);
    }
    if let Some(principal) = caller.principal() {
        tracing::Span::current().record("subject", principal.subject.as_str());
    }
    request.extensions_mut().insert(caller);
    request.extensions_mut().insert(client);
    next.run(request).await
}

/// The limits every request passes, applied to `router` (inner to outer: the URL's text
/// rule and admission, then the body and time bounds, which hold before anything else runs).
///
/// One `Router::layer` call with the layers composed: axum boxes a route at every call, and
/// clones and drops each box for every request.
pub fn layer(router: Router, config: EdgeConfig, admission: Admission) -> Router {
    router.layer(
        ServiceBuilder::new()
            .map_response(json_for_edge_refusals)
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                config.request_timeout,
            ))
            .layer(RequestBodyTimeoutLayer::new(config.request_timeout))
            // The limit layer wraps the response body in a type of its own; the layers above
            // take axum's.
            .map_response(into_axum_body::<tower_http::limit::ResponseBody<axum::body::Body>>)
            .layer(RequestBodyLimitLayer::new(config.body_limit))
            // And the request body in theirs; the handlers take axum's.
            .map_request(
                request_into_axum_body::<
                    tower_http::body::Limited<tower_http::timeout::TimeoutBody<axum::body::Body>>,
                >,
            )
            .layer(middleware::from_fn_with_state(Arc::new(admission), admit))
            // The bound axum's body extractors keep to (`Json`, `Bytes`, the GraphQL body).
            .layer(DefaultBodyLimit::max(config.body_limit)),
    )
}

/// A response with axum's body type.
fn into_axum_body<B>(response: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    response.map(axum::body::Body::new)
}

/// A request with axum's body type.
fn request_into_axum_body<B>(request: axum::http::Request<B>) -> Request
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    request.map(axum::body::Body::new)
}

/// tower-http's refusals (413 for a body over the limit, 408 for a slow one) come with a plain
/// text body; clients of this API always get the JSON error.
fn json_for_edge_refusals(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    let code = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::DeadlineExceeded,
        _ => return response,
    };
    if is_json {
        return response;
    }
    let message = match code {
        ErrorCode::PayloadTooLarge => "the request body is larger than the gateway accepts",
        _ => "the request took too long to arrive or to answer",
    };
    let mut refused = ApiError::new(code, message).into_response();
    *refused.status_mut() = response.status();
    refused
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    refused
}
