//! Builds the gateway's router on its backends and serves it until told to stop.

use std::{net::SocketAddr, sync::Arc};

use axum::serve::ListenerExt;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, Method, Uri, header},
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use axum_server::{
    accept::NoDelayAcceptor,
    tls_rustls::{RustlsAcceptor, RustlsConfig},
};
use mesh_kit::{
    startup::{self, StartupError},
    telemetry::REQUEST_ID_HEADER,
};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer},
};
use tracing::Level;
use utoipa_axum::routes;

use crate::{
    api_docs::{self, ApiDocument},
    auth::{self, Auth, Verifier},
    backends::Backends,
    billing_queue::BillingQueue,
    config::{Config, TlsFiles, TokenKeys},
    error::{ApiError, ErrorCode},
    feed::OrderFeed,
    graphiql, graphql, health, metrics,
    rate_limit::{self, RateLimits},
    request_id::MakeRequestId,
    rest, web_app,
};

/// The largest request body the gateway reads. Every body it takes is a small JSON document.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach (each part also on its own, as `State<Auth>` say).
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub backends: Backends,
    pub schema: graphql::MeshSchema,
    pub billing: Arc<BillingQueue>,
    pub feed: OrderFeed,
    pub graphql: graphql::GraphqlConfig,
    pub auth: Auth,
}

/// A gateway that is bound, ready to serve.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    feed: OrderFeed,
    kafka: mesh_kit::kafka::KafkaConfig,
    tls: Option<RustlsConfig>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        metrics::describe();
        let verifier = match &config.auth.keys {
            TokenKeys::Secret(secret) => Verifier::secret(secret),
            TokenKeys::Jwks(url) => Verifier::jwks(url.clone()).map_err(StartupError::Other)?,
        };
        let auth = Auth {
            verifier,
            dev_login: config.auth.dev_login,
        };
        let tls = match &config.tls {
            Some(files) => Some(rustls_config(files).await?),
            None => None,
        };
        let backends = Backends::connect(&config.backends, config.backend_timeout)
            .map_err(|err| StartupError::Other(err.to_string()))?;
        let feed = OrderFeed::new(config.graphql.feed_rest);
        let billing = Arc::new(BillingQueue::new(config.kafka.clone())?);
        let state = AppState {
            schema: graphql::schema(
                backends.clone(),
                feed.clone(),
                billing.clone(),
                config.graphql,
            ),
            backends,
            billing,
            feed: feed.clone(),
            graphql: config.graphql,
            auth,
        };
        let router = router(state, &config);
        let listener = startup::bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        tracing::info!(
            %addr,
            scheme = if tls.is_some() { "https" } else { "http" },
            tokens = ?config.auth.keys,
            dev_login = config.auth.dev_login,
            "gateway listening"
        );
        Ok(Self {
            listener,
            addr,
            router,
            feed,
            kafka: config.kafka,
            tls,
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
        // With the peer's address: clients without a token are rate-limited by it.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = match self.tls {
            None => axum::serve(nodelay(self.listener), service)
                .with_graceful_shutdown(stopped.wait())
                .await
                .map_err(|err| err.to_string()),
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let stopping = handle.clone();
                let stop_signal = stopped.clone();
                tokio::spawn(async move {
                    stop_signal.wait().await;
                    stopping.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
                });
                let acceptor = RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor::new());
                match self.listener.into_std() {
                    Ok(listener) => match axum_server::from_tcp(listener) {
                        Ok(server) => server
                            .acceptor(acceptor)
                            .handle(handle)
                            .serve(service)
                            .await
                            .map_err(|err| err.to_string()),
                        Err(err) => Err(err.to_string()),
                    },
                    Err(err) => Err(err.to_string()),
                }
            }
        };
        trigger.abort();
        let _ = feed.await;
        served.map_err(|err| StartupError::Other(format!("HTTP server failed: {err}")))
    }
}

/// The connections `listener` accepts, with `TCP_NODELAY` set: without it a small response
/// waits for the client's delayed ACK (Nagle), ~40 ms for every back-to-back request on a
/// kept-alive connection.
pub fn nodelay(
    listener: TcpListener,
) -> axum::serve::TapIo<TcpListener, impl FnMut(&mut tokio::net::TcpStream) + Send + 'static> {
    listener.tap_io(|stream: &mut tokio::net::TcpStream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    })
}

/// The certificate and key, read and checked at start so a bad file fails the start, not the
/// first client.
async fn rustls_config(files: &TlsFiles) -> Result<RustlsConfig, StartupError> {
    // One crypto provider for every rustls user in the process (ring; no aws-lc build).
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|err| {
            StartupError::Other(format!(
                "GATEWAY_TLS_CERT {} / GATEWAY_TLS_KEY {}: {err}",
                files.cert.display(),
                files.key.display()
            ))
        })
}

/// Every route, behind the layers every request passes: request id, tracing, panic guard,
/// security headers, CORS when configured, authentication and the rate limit.
pub fn router(state: AppState, config: &Config) -> Router {
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

    let auth = state.auth.clone();
    let limits = RateLimits::new(config.rate_limit, state.backends.metrics().clone());
    let mut routes = Router::new()
        .merge(documented)
        .route("/graphql", get(graphiql::page).post(graphql::handler))
        .route("/graphql/ws", get(graphql::ws::handler))
        .route("/metrics", get(metrics::handler))
        .merge(api_docs::routes(ApiDocument::new(&api), &config.assets_dir))
        .merge(graphiql::assets(&config.assets_dir))
        .merge(web_app::routes(&config.app_dir));
    if state.auth.dev_login {
        tracing::warn!("GATEWAY_DEV_LOGIN is on: POST /auth/dev-token hands out any role");
        routes = routes.route("/auth/dev-token", post(auth::dev_token));
    }

    let router = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Inner to outer: the limit needs the caller, so authentication runs first.
        .layer(middleware::from_fn_with_state(limits, rate_limit::limit))
        .layer(middleware::from_fn_with_state(auth, auth::authenticate))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(middleware::from_fn(metrics::track));
    let router = security_headers(router, config.tls.is_some());
    let router = match cors(&config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(request_id, MakeRequestId))
}

/// Headers every response gets, unless a route set its own.
fn security_headers(router: Router, https: bool) -> Router {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "no-referrer"))
        .layer(set(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ));
    if https {
        // Only over HTTPS: a browser ignores it on plain HTTP anyway, and a laptop's
        // http://localhost must not learn it.
        router.layer(set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        router
    }
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

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nodelay_set() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut listener = nodelay(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await;
        assert!(accepted.nodelay().unwrap());
    }
}
