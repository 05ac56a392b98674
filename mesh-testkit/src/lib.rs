//! What the mesh's tests share, so each test builds its own world in a line: a fresh database,
//! private Kafka topics, a service served in-process on a free port, and probes that ask a
//! server what a user's `grpcurl` would.
//!
//! Tests talk to the real PostgreSQL (`PG_URL`) and the real broker (`KAFKA_BROKERS`);
//! `scripts/test` makes sure both run.

use std::{net::SocketAddr, time::Duration};

use futures::StreamExt;
use mesh_kafka::KafkaConfig;
use mesh_kit::config::{DEFAULT_PG_URL, DatabaseConfig};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

pub mod certs;
pub mod process;
pub mod projection;
pub mod records;

/// A short random id for names: databases, topic prefixes, groups.
pub fn unique_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// The variable's value, or `default` when it is unset or empty: how the tests find the server
/// and the broker the binaries would (their settings read the same variables).
fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The PostgreSQL server tests use.
pub fn pg_url() -> String {
    env_or("PG_URL", DEFAULT_PG_URL)
}

/// Settings for a database of this test's own; the service creates it at start.
pub fn database(service: &str) -> DatabaseConfig {
    let name = format!("test_{service}_{}", unique_id());
    DatabaseConfig::new(&pg_url(), name, 4)
        .unwrap_or_else(|err| panic!("PG_URL for the tests: {err}"))
}

/// The broker tests use.
pub fn brokers() -> String {
    env_or("KAFKA_BROKERS", "127.0.0.1:9092")
}

/// Kafka settings whose topics and groups belong to this test alone.
pub fn kafka() -> KafkaConfig {
    KafkaConfig::local(brokers(), format!("t{}-", unique_id()))
}

/// Logs of the code under test, shown for failing tests (`RUST_LOG` filters; default `warn`).
pub fn init_tracing() {
    mesh_kit::telemetry::init_for_tests();
}

/// Something served in-process until stopped.
pub struct Served {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

impl Served {
    /// Runs `run(shutdown)` on a task; `shutdown` resolves when [`Served::stop`] is called.
    pub fn spawn<F, E>(addr: SocketAddr, run: impl FnOnce(StopSignal) -> F) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let (stop, stopped) = oneshot::channel();
        let future = run(StopSignal(stopped));
        let task = tokio::spawn(async move { future.await.map_err(|err| err.to_string()) });
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// `http://127.0.0.1:port`, what clients and the gateway are configured with.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks it to stop gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => panic!("server at {} failed: {err}", self.addr),
            Ok(Err(err)) => panic!("server task at {} panicked: {err}", self.addr),
            Err(_) => panic!("server at {} did not stop within 10 s", self.addr),
        }
    }

    /// Stops it the hard way: the task is dropped mid-flight, as a crash would.
    pub fn abort(self) {
        self.task.abort();
    }
}

/// Resolves when the test stops the server.
pub struct StopSignal(oneshot::Receiver<()>);

impl StopSignal {
    pub async fn wait(self) {
        let _ = self.0.await;
    }
}

/// A channel to a server, connected lazily (so it heals when the server comes back).
pub fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap_or_else(|err| panic!("bad address {addr}: {err}"))
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy()
}

/// The services a server lists through reflection, as `grpcurl list` shows them.
pub async fn reflected_services(addr: SocketAddr) -> Vec<String> {
    let mut client = ServerReflectionClient::new(channel(addr));
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap_or_else(|status| panic!("reflection call failed: {status}"))
        .into_inner();
    let response = responses
        .next()
        .await
        .expect("reflection answers")
        .expect("reflection answers without error");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }
        other => panic!("unexpected reflection answer: {other:?}"),
    }
}

/// What `grpc.health.v1.Health/Check` says of `service` ("" for the whole server).
pub async fn health(addr: SocketAddr, service: &str) -> ServingStatus {
    let mut client = HealthClient::new(channel(addr));
    let response = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap_or_else(|status| panic!("health check failed: {status}"));
    response.into_inner().status()
}

/// Waits until `check` returns `Some`, polling every 20 ms, or panics after `timeout` naming
/// `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that a call was refused as `INVALID_ARGUMENT` naming `field` first, the way every
/// service reports a bad request field (`order_ids: …`).
#[track_caller]
pub fn assert_invalid_argument(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(field),
        "{:?} does not start with {field:?}",
        status.message()
    );
}
