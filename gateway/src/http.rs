//! The HTTP layer: the transport and the edge's policy ([`edge`]), the surfaces on top of it
//! (REST with its OpenAPI document, GraphQL with GraphiQL, health, metrics, the web page) and
//! the state they share, which lives here at the root of the layer that owns the router. The
//! layers beneath (backends, auth, the feed, the billing queue, config, errors) know nothing of
//! HTTP's surfaces: nothing in them imports this module.

use std::sync::Arc;

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, Uri, header},
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use mesh_kit::telemetry::REQUEST_ID_HEADER;
use tower::{ServiceBuilder, util::BoxCloneSyncService};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer},
};
use tracing::Level;
use utoipa_axum::routes;

use crate::{
    auth::Auth,
    backends::Backends,
    billing_queue::BillingQueue,
    config::{Config, EdgeConfig, GraphqlConfig},
    error::{ApiError, ErrorCode},
    feed::OrderFeed,
    request_id::MakeRequestId,
};

pub mod api_docs;
pub mod dev_sign_in;
pub mod edge;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod rest;
pub mod web_app;

use api_docs::ApiDocument;
pub use edge::serve::HttpService;
use edge::{Admission, rate_limit::RateLimits, sockets::Sockets};

/// What every handler can reach, behind one `Arc`: axum clones a router's state for every
/// request, once for each layer and handler that holds it, so a clone must be one reference
/// count whatever the state holds (field by field it was a tenth of a REST read's cost).
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl axum::extract::FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The parts of [`AppState`].
pub struct SharedState {
    pub backends: Backends,
    pub schema: graphql::MeshSchema,
    pub billing: Arc<BillingQueue>,
    pub feed: OrderFeed,
    pub graphql: GraphqlConfig,
    pub auth: Auth,
    /// Operations per client, for the transports that carry more than one per request.
    pub limits: RateLimits,
    /// Open WebSockets and event streams per client.
    pub sockets: Sockets,
    pub edge: EdgeConfig,
}

/// Every route, behind the layers every request passes: request id, tracing, panic guard,
/// security headers, CORS when configured, authentication and the rate limit.
pub fn router(state: AppState, config: &Config) -> HttpService {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            let span = tracing::info_span!(
                "http",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id,
                subject = tracing::field::Empty,
                // The gRPC method a REST route transcodes to.
                rpc = tracing::field::Empty,
            );
            // A client that traces (a browser SDK, another service) keeps its trace.
            mesh_kit::telemetry::trace_context::continue_from_headers(&span, request.headers());
            span
        })
        // A line per request at DEBUG (RUST_LOG=gateway=debug); failures (5xx) at WARN.
        .on_response(DefaultOnResponse::new().level(Level::DEBUG))
        .on_failure(DefaultOnFailure::new().level(Level::WARN));

    // The REST routes and health carry their OpenAPI operations; the document is built from
    // them here, once.
    let (documented, mut api) = rest::routes()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .split_for_parts();
    rest::openapi::finish(&mut api);

    let admission = Admission {
        auth: state.auth.clone(),
        limits: state.limits.clone(),
        trusted_proxies: config.rate_limit.trusted_proxies.clone().into(),
    };
    let mut routes = Router::new()
        .merge(documented)
        .merge(rest::transcode::routes())
        .route("/graphql", get(graphql::get_handler).post(graphql::handler))
        .route("/graphql/ws", get(graphql::ws::handler))
        .route("/metrics", get(metrics::handler))
        .merge(api_docs::routes(ApiDocument::new(&api), &config.assets_dir))
        .merge(graphiql::assets(&config.assets_dir))
        .merge(web_app::routes(&config.app_dir));
    if state.auth.dev_login {
        tracing::warn!("GATEWAY_DEV_LOGIN is on: POST /auth/dev-token hands out any role");
        routes = routes.route("/auth/dev-token", post(dev_sign_in::dev_token));
    }

    let router = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    // Inside the router, the layers that read the matched route (the metrics' `route` label)
    // or must see what the edge refuses (the metrics again).
    let router = edge::layer(router, config.edge, admission).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(crate::metrics::track))
            .layer(CatchPanicLayer::custom(|_| {
                tracing::error!("handler panicked");
                ApiError::internal().into_response()
            })),
    );
    // Around it, the layers that need no route, wrapped once around the whole router: axum's
    // `Router::layer` boxes every route once more at each call, and a request clones every
    // box beneath the one it enters (66 boxed clones a request with the eleven calls there
    // were).
    let service = ServiceBuilder::new()
        .layer(middleware::map_request(crate::request_id::replace_unfit))
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestId))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(request_id))
        // Every backend call and queued event of the request carries its id from here.
        .layer(mesh_kit::context::RequestIdLayer)
        .option_layer(cors(&config.cors_origins))
        .layer(middleware::map_response_with_state(
            config.tls.is_some(),
            security_headers,
        ))
        .service(router);
    BoxCloneSyncService::new(service)
}

/// Headers every response gets, unless a route set its own (`https`: the gateway serves TLS);
/// in one layer, as every layer costs each request its own future.
async fn security_headers(State(https): State<bool>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if https {
        // Only over HTTPS: a browser ignores it on plain HTTP anyway, and a laptop's
        // http://localhost must not learn it.
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Cross-origin access for the configured origins only; none configured, no CORS headers at
/// all (a browser then refuses other origins' scripts, as it should).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static(REQUEST_ID_HEADER),
            ])
            .expose_headers([
                HeaderName::from_static(REQUEST_ID_HEADER),
                HeaderName::from_static("x-next-page-token"),
                header::LOCATION,
                header::LINK,
                header::RETRY_AFTER,
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn not_found(method: Method, uri: Uri) -> Response {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no route for {method} {}", uri.path()),
    )
    .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
    )
    .into_response()
}
