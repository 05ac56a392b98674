//! The gRPC server every service runs: its own services plus `grpc.health.v1.Health`, server
//! reflection (v1 and v1alpha, so old and new `grpcurl` both work), a span per call carrying the
//! caller's request id, and graceful shutdown that reports NOT_SERVING before draining.

use std::{convert::Infallible, future::Future, net::SocketAddr};

use tokio::net::TcpListener;
use tonic::{
    body::Body,
    server::NamedService,
    service::RoutesBuilder,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::ServingStatus;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::{telemetry::REQUEST_ID_HEADER, tls::ServerTls};

/// Why a gRPC server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// How a service's server is reached besides its address: TLS, and where its metrics are.
#[derive(Clone, Debug, Default)]
pub struct ServeConfig {
    /// TLS (mutual when it requires client certificates); `None`: plaintext.
    pub tls: Option<ServerTls>,
    /// Where `GET /metrics` is served; `None`: the gRPC port + 1000 on the same address.
    pub metrics_addr: Option<SocketAddr>,
}

/// A service's gRPC server, before it serves.
#[derive(Default)]
pub struct GrpcServer {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    serve: ServeConfig,
}

impl GrpcServer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves with `serve`'s TLS and metrics address.
    pub fn with(mut self, serve: &ServeConfig) -> Self {
        self.serve = serve.clone();
        self
    }

    /// Adds one of the service's own gRPC services; health reports it by name.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Serves on `listener` until `shutdown` resolves, then finishes in-flight calls.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let (reporter, health) = tonic_health::server::health_reporter();
        for name in &self.names {
            reporter
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        let reflection_v1 = reflection(&self.names).build_v1()?;
        let reflection_v1alpha = reflection(&self.names).build_v1alpha()?;

        let names = self.names.clone();
        let shutdown = async move {
            shutdown.await;
            // Load balancers watching health stop sending before we stop accepting.
            reporter
                .set_service_status("", ServingStatus::NotServing)
                .await;
            for name in names {
                reporter
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
        };

        let trace = TraceLayer::new_for_grpc()
            .make_span_with(|request: &http::Request<Body>| {
                let request_id = request
                    .headers()
                    .get(REQUEST_ID_HEADER)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("-");
                let span = tracing::info_span!("grpc", method = %request.uri().path(), request_id = %request_id);
                crate::telemetry::trace_context::continue_from_headers(&span, request.headers());
                span
            })
            // A line per call at DEBUG; what went wrong at WARN.
            .on_response(DefaultOnResponse::new().level(Level::DEBUG))
            // Client errors (NOT_FOUND, INVALID_ARGUMENT, ...) count as failures here; they
            // are worth a line, not an alarm.
            .on_failure(DefaultOnFailure::new().level(Level::WARN));

        if let Ok(addr) = listener.local_addr() {
            let tls = match &self.serve.tls {
                None => "off",
                Some(tls) if tls.requires_client_cert() => "mutual",
                Some(_) => "on",
            };
            tracing::info!(%addr, services = ?self.names, tls, "gRPC server listening");
        }
        // The admin port, in binaries (which install the exporter); it stops with the server.
        let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        if crate::metrics::installed()
            && let Ok(grpc_addr) = listener.local_addr()
        {
            let addr = crate::metrics::admin_addr(grpc_addr, self.serve.metrics_addr)?;
            let admin = TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Metrics { addr, source })?;
            tokio::spawn(async move {
                let stopped = async {
                    let _ = admin_stopped.await;
                };
                if let Err(err) = crate::metrics::serve_admin(admin, stopped).await {
                    tracing::warn!(error = %err, "metrics endpoint failed");
                }
            });
        }

        let mut builder = Server::builder();
        if let Some(tls) = &self.serve.tls {
            builder = builder.tls_config(tls.config())?;
        }
        let served = builder
            .layer(trace)
            .layer(crate::context::RequestIdLayer)
            .layer(crate::metrics::ServerMetricsLayer)
            .add_routes(self.routes.routes())
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .serve_with_incoming_shutdown(incoming(listener), shutdown)
            .await;
        let _ = admin_stop.send(());
        served?;
        tracing::info!("gRPC server stopped");
        Ok(())
    }
}

/// The connections `listener` accepts, with `TCP_NODELAY` set. tonic sets it only on listeners
/// it binds itself; without it, a small response waits for the client's delayed ACK (Nagle), and
/// every back-to-back call paid ~40 ms.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Reflection over every contract of the mesh (so `describe` resolves any type), listing only
/// the services this server really serves: `grpcurl list` on menu-service shows the menu, not
/// the whole mesh.
fn reflection(names: &[&'static str]) -> tonic_reflection::server::Builder<'static> {
    let builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(mesh_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    names
        .iter()
        .fold(builder, |builder, name| builder.with_service_name(*name))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nodelay_set() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = incoming(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
