//! Builds the gateway's router on its backends and serves it until told to stop.

use std::{net::SocketAddr, sync::Arc};

use async_graphql_axum::GraphQLSubscription;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, Method, Uri},
    response::{IntoResponse, Response},
    routing::get,
};
use mesh_kit::{
    startup::{self, StartupError},
    telemetry::REQUEST_ID_HEADER,
};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::{
    backends::Backends,
    billing_queue::BillingQueue,
    config::Config,
    error::{ApiError, ErrorCode},
    feed::OrderFeed,
    graphiql, graphql, health, metrics,
    request_id::MakeRequestId,
    rest,
};

/// The largest request body the gateway reads. Every body it takes is a small JSON document.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub backends: Backends,
    pub schema: graphql::MeshSchema,
    pub billing: Arc<BillingQueue>,
    pub feed: OrderFeed,
}

/// A gateway that is bound, ready to serve.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    feed: OrderFeed,
    kafka: mesh_kit::kafka::KafkaConfig,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let backends = Backends::connect(&config.backends, config.backend_timeout)
            .map_err(|err| StartupError::Other(err.to_string()))?;
        let feed = OrderFeed::default();
        let billing = Arc::new(BillingQueue::new(config.kafka.clone())?);
        let state = AppState {
            schema: graphql::schema(backends.clone(), feed.clone(), billing.clone()),
            backends,
            billing,
            feed: feed.clone(),
        };
        let router = router(state, &config);
        let listener = startup::bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        tracing::info!(%addr, "gateway listening");
        Ok(Self {
            listener,
            addr,
            router,
            feed,
            kafka: config.kafka,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let (stop, stopped) = mesh_kit::startup::stop_channel();
        let feed = tokio::spawn(self.feed.run(self.kafka, stopped.clone()));
        let trigger = tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        // `into_make_service`, not the router itself: subscriptions upgrade to WebSocket.
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stopped.wait())
            .await;
        trigger.abort();
        let _ = feed.await;
        served.map_err(|err| StartupError::Other(format!("HTTP server failed: {err}")))
    }
}

/// Every route, behind the layers every request passes: request id, tracing, panic guard.
pub fn router(state: AppState, config: &Config) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .on_failure(DefaultOnFailure::new().level(Level::WARN));

    Router::new()
        .merge(rest::routes())
        .route("/graphql", get(graphiql::page).post(graphql::handler))
        .route_service(
            "/graphql/ws",
            GraphQLSubscription::new(state.schema.clone()),
        )
        .route("/metrics", get(metrics::handler))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(graphiql::assets(&config.assets_dir))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(request_id, MakeRequestId))
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
