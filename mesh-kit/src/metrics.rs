//! Prometheus metrics: every crate records through the `metrics` facade; a binary installs one
//! process-wide exporter at start ([`install`], from [`crate::startup::run_service`]) and each
//! service serves it on its admin port ([`serve_admin`], `METRICS_ADDR`, by default its gRPC
//! port + 1000). With no exporter installed, as in tests, recording costs next to nothing.
//!
//! What the plumbing records (the balancer's own metrics are listed in
//! [`crate::balance::metrics`]):
//!
//! | name | kind | labels | meaning |
//! |---|---|---|---|
//! | `mesh_grpc_server_handling_seconds` | histogram | `method`, `code` | calls a service answered, by gRPC method and status code |
//! | `mesh_grpc_client_handling_seconds` | histogram | `backend`, `method`, `code` | calls made through a balancer (gateway → services, order → menu), retries included |
//! | `mesh_consumer_events_total` | counter | `group`, `topic`, `outcome` | records a consumer finished: `applied` or `dead_lettered` |
//! | `mesh_consumer_lag` | gauge | `group`, `topic`, `partition` | records waiting behind the consumer's position (librdkafka's view, every 5 s) |
//! | `mesh_outbox_backlog` | gauge | | events stored but not yet acknowledged by the broker |
//! | `mesh_db_statements_total` | counter | `kind` | SQL statements sent to the service's database: `read` (`SELECT`), `write`, or `transaction` (`BEGIN`, `COMMIT`) |
//!
//! Only the gateway serves HTTP to clients; the admin port is for Prometheus, not an API.

mod handles;

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{LazyLock, OnceLock},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::ConfigError;

pub use handles::HistogramHandles;

pub const GRPC_SERVER_HANDLING: &str = "mesh_grpc_server_handling_seconds";
pub const GRPC_CLIENT_HANDLING: &str = "mesh_grpc_client_handling_seconds";
pub const CONSUMER_EVENTS: &str = "mesh_consumer_events_total";
pub const CONSUMER_LAG: &str = "mesh_consumer_lag";
pub const CONSUMER_BATCHES: &str = "mesh_consumer_batches_total";
pub const CONSUMER_BATCHED_EVENTS: &str = "mesh_consumer_batched_events_total";
pub const OUTBOX_BACKLOG: &str = "mesh_outbox_backlog";
pub const DB_STATEMENTS: &str = "mesh_db_statements_total";

/// Latency buckets of every `*_seconds` histogram: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static EXPORTER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus exporter, once; later calls do nothing.
pub fn install() {
    if EXPORTER.get().is_some() {
        return;
    }
    let recorder = match PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
    {
        Ok(builder) => builder.build_recorder(),
        Err(err) => {
            tracing::error!(error = %err, "cannot set up the metrics exporter; no metrics");
            return;
        }
    };
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() || EXPORTER.set(handle.clone()).is_err() {
        return;
    }
    describe();
    crate::balance::metrics::describe();
    // The exporter keeps histogram samples until upkeep folds them in; without a scrape they
    // would pile up.
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                handle.run_upkeep();
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start the metrics upkeep thread");
    }
}

/// Everything recorded so far, in the Prometheus text format; empty without an exporter.
pub fn render() -> String {
    EXPORTER
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// Whether [`install`] ran: only then is there anything to serve.
pub fn installed() -> bool {
    EXPORTER.get().is_some()
}

fn describe() {
    metrics::describe_histogram!(
        GRPC_SERVER_HANDLING,
        metrics::Unit::Seconds,
        "gRPC calls this service answered, by method (`unknown` for any it does not serve) and status code."
    );
    metrics::describe_histogram!(
        GRPC_CLIENT_HANDLING,
        metrics::Unit::Seconds,
        "gRPC calls made to a backend through its balancer, by method and status code."
    );
    metrics::describe_counter!(
        CONSUMER_EVENTS,
        "Kafka records a consumer finished, by outcome (applied, dead_lettered)."
    );
    metrics::describe_counter!(
        CONSUMER_BATCHES,
        "Batches of records a consumer applied in one transaction each (records that queued up behind a busy lane)."
    );
    metrics::describe_counter!(
        CONSUMER_BATCHED_EVENTS,
        "Records applied as part of a batch (the rest were applied one transaction each)."
    );
    metrics::describe_gauge!(
        CONSUMER_LAG,
        "Records on a partition behind the consumer's position."
    );
    metrics::describe_gauge!(
        OUTBOX_BACKLOG,
        "Events stored in the outbox and not yet acknowledged by the broker."
    );
    metrics::describe_counter!(
        DB_STATEMENTS,
        "SQL statements sent to the service's database, by kind: read, write, transaction (BEGIN, COMMIT)."
    );
}

/// `configured` (`METRICS_ADDR`), else the gRPC address with its port + 1000 (menu-service:
/// 51051).
pub fn admin_addr(
    grpc: SocketAddr,
    configured: Option<SocketAddr>,
) -> Result<SocketAddr, ConfigError> {
    if let Some(addr) = configured {
        return Ok(addr);
    }
    grpc.port()
        .checked_add(1000)
        .map(|port| SocketAddr::new(grpc.ip(), port))
        .ok_or_else(|| ConfigError {
            name: "METRICS_ADDR".to_owned(),
            value: String::new(),
            reason: format!("set it: the gRPC port {} + 1000 is no port", grpc.port()),
        })
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::{http::header, routing::get};

    let app = axum::Router::new().route(
        "/metrics",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                render(),
            )
        }),
    );
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "metrics served at /metrics");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The canonical name of a gRPC status code, as Prometheus labels and logs show it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The status of a gRPC response as far as its headers tell: an error answered at once carries
/// `grpc-status` there; a success (status in the trailers) counts as OK; no response at all
/// as UNAVAILABLE.
fn response_code<B, E>(result: &Result<http::Response<B>, E>) -> &'static str {
    match result {
        Ok(response) => response
            .headers()
            .get("grpc-status")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i32>().ok())
            .map_or("OK", |code| code_name(tonic::Code::from_i32(code))),
        Err(_) => "UNAVAILABLE",
    }
}

/// Records a call a balancer made.
pub(crate) fn client_call<B, E>(
    backend: &str,
    method: &str,
    result: &Result<http::Response<B>, E>,
    elapsed: Duration,
) {
    static CALLS: LazyLock<HistogramHandles> = LazyLock::new(|| {
        HistogramHandles::new(GRPC_CLIENT_HANDLING, &["backend", "method", "code"])
    });
    CALLS.record(&[backend, method, response_code(result)], elapsed);
}

/// A finished consumer record.
pub fn consumed(group: &str, topic: &str, outcome: &'static str) {
    metrics::counter!(
        CONSUMER_EVENTS,
        "group" => group.to_owned(),
        "topic" => topic.to_owned(),
        "outcome" => outcome,
    )
    .increment(1);
}

/// A batch of `records` committed in one transaction.
pub fn consumer_batch(group: &str, records: usize) {
    metrics::counter!(CONSUMER_BATCHES, "group" => group.to_owned()).increment(1);
    metrics::counter!(CONSUMER_BATCHED_EVENTS, "group" => group.to_owned())
        .increment(records as u64);
}

pub fn consumer_lag(group: &str, topic: &str, partition: i32, lag: i64) {
    metrics::gauge!(
        CONSUMER_LAG,
        "group" => group.to_owned(),
        "topic" => topic.to_owned(),
        "partition" => partition.to_string(),
    )
    .set(lag as f64);
}

pub fn outbox_backlog(rows: i64) {
    metrics::gauge!(OUTBOX_BACKLOG).set(rows as f64);
}

/// The `method` label of the calls a server answered UNIMPLEMENTED: one series for every path
/// it does not serve.
pub const UNKNOWN_METHOD: &str = "unknown";

/// The tower layer that times every call a gRPC server answers, by method and status code.
#[derive(Clone, Copy, Default)]
pub struct ServerMetricsLayer;

impl<S> tower::Layer<S> for ServerMetricsLayer {
    type Service = ServerMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerMetrics { inner }
    }
}

#[derive(Clone)]
pub struct ServerMetrics<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for ServerMetrics<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            static CALLS: LazyLock<HistogramHandles> =
                LazyLock::new(|| HistogramHandles::new(GRPC_SERVER_HANDLING, &["method", "code"]));
            let result = call.await;
            let code = response_code(&result);
            // A method this server does not have is answered UNIMPLEMENTED. Its path is the
            // caller's choice: as a label, each made-up path would be a series of its own.
            let method = if code == "UNIMPLEMENTED" {
                UNKNOWN_METHOD
            } else {
                &method
            };
            CALLS.record(&[method, code], started.elapsed());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_port_is_the_grpc_port_plus_1000() {
        let grpc: SocketAddr = "127.0.0.1:50051".parse().unwrap();
        assert_eq!(
            admin_addr(grpc, None).unwrap().to_string(),
            "127.0.0.1:51051"
        );
    }

    #[test]
    fn codes_come_from_the_headers_of_an_error_answered_at_once() {
        let failed: Result<_, ()> = Ok(http::Response::builder()
            .header("grpc-status", "5")
            .body(())
            .unwrap());
        assert_eq!(response_code(&failed), "NOT_FOUND");
        let ok: Result<_, ()> = Ok(http::Response::new(()));
        assert_eq!(response_code(&ok), "OK");
        let lost: Result<http::Response<()>, ()> = Err(());
        assert_eq!(response_code(&lost), "UNAVAILABLE");
    }
}
