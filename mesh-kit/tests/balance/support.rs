//! What the balancer tests share: replicas of a fake menu service on free ports that answer,
//! fail, stall or report NOT_SERVING on demand and count what they got; addresses where nothing
//! listens; and a metrics recorder the tests read.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use mesh_kit::balance::{BalanceConfig, Balancer, EndpointState};
use mesh_proto::menu::v1::{
    self as pb,
    menu_service_client::MenuServiceClient,
    menu_service_server::{MenuService, MenuServiceServer},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use tonic_health::{ServingStatus, server::HealthReporter};

pub const WAIT: Duration = Duration::from_secs(10);
/// The one item the fake menu serves: a UUID, as the contract's rules want of a menu item id.
pub const ITEM_ID: &str = "0b3f9a52-6c1e-4f0a-9d2e-7a4c1b5e8f10";

/// How a replica behaves and what it saw. Shared between the test and the server.
#[derive(Default)]
pub struct Behaviour {
    /// Answer every menu call with UNAVAILABLE (as a server whose database is down does).
    pub unavailable: AtomicBool,
    /// Wait this long (ms) before answering a menu call.
    pub delay_ms: AtomicU64,
    pub reads: AtomicUsize,
    pub writes: AtomicUsize,
    /// The `grpc-timeout` of each call, in arrival order.
    pub timeouts: Mutex<Vec<Option<String>>>,
}

#[derive(Clone)]
struct FakeMenu {
    name: String,
    behaviour: Arc<Behaviour>,
}

impl FakeMenu {
    async fn answer<T>(&self, request: &Request<T>, write: bool) -> Result<pb::MenuItem, Status> {
        let counter = if write {
            &self.behaviour.writes
        } else {
            &self.behaviour.reads
        };
        counter.fetch_add(1, Ordering::SeqCst);
        let timeout = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.behaviour.timeouts.lock().expect("lock").push(timeout);
        let delay = self.behaviour.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.behaviour.unavailable.load(Ordering::SeqCst) {
            return Err(Status::unavailable("database unavailable, try again"));
        }
        // The item's name says which replica answered.
        Ok(pb::MenuItem {
            id: ITEM_ID.to_owned(),
            name: self.name.clone(),
            ..pb::MenuItem::default()
        })
    }
}

#[tonic::async_trait]
impl MenuService for FakeMenu {
    async fn list_menu_items(
        &self,
        request: Request<pb::ListMenuItemsRequest>,
    ) -> Result<Response<pb::ListMenuItemsResponse>, Status> {
        let item = self.answer(&request, false).await?;
        Ok(Response::new(pb::ListMenuItemsResponse {
            items: vec![item],
            next_page_token: String::new(),
            cursors: vec![String::new()],
        }))
    }

    async fn get_menu_item(
        &self,
        request: Request<pb::GetMenuItemRequest>,
    ) -> Result<Response<pb::MenuItem>, Status> {
        self.answer(&request, false).await.map(Response::new)
    }

    async fn batch_get_menu_items(
        &self,
        request: Request<pb::BatchGetMenuItemsRequest>,
    ) -> Result<Response<pb::BatchGetMenuItemsResponse>, Status> {
        let item = self.answer(&request, false).await?;
        Ok(Response::new(pb::BatchGetMenuItemsResponse {
            items: vec![item],
            missing_ids: Vec::new(),
        }))
    }

    async fn create_menu_item(
        &self,
        request: Request<pb::CreateMenuItemRequest>,
    ) -> Result<Response<pb::MenuItem>, Status> {
        self.answer(&request, true).await.map(Response::new)
    }

    async fn update_menu_item(
        &self,
        request: Request<pb::UpdateMenuItemRequest>,
    ) -> Result<Response<pb::MenuItem>, Status> {
        self.answer(&request, true).await.map(Response::new)
    }

    async fn delete_menu_item(
        &self,
        request: Request<pb::DeleteMenuItemRequest>,
    ) -> Result<Response<pb::DeleteMenuItemResponse>, Status> {
        self.answer(&request, true).await?;
        Ok(Response::new(pb::DeleteMenuItemResponse {}))
    }
}

/// A fake menu-service serving `grpc.health.v1.Health` on 127.0.0.1.
pub struct Replica {
    pub name: String,
    pub addr: SocketAddr,
    pub behaviour: Arc<Behaviour>,
    health: HealthReporter,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Replica {
    pub async fn start(name: &str) -> Self {
        Self::start_at(name, SocketAddr::from(([127, 0, 0, 1], 0)), Arc::default()).await
    }

    /// Serves on `addr` (port 0 for a free one) with `behaviour`.
    pub async fn start_at(name: &str, addr: SocketAddr, behaviour: Arc<Behaviour>) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (health, health_service) = tonic_health::server::health_reporter();
        let menu = FakeMenu {
            name: name.to_owned(),
            behaviour: behaviour.clone(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(health_service)
                .add_service(MenuServiceServer::new(menu))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            name: name.to_owned(),
            addr,
            behaviour,
            health,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What its health service says of the whole server.
    pub async fn set_serving(&self, serving: bool) {
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.health.set_service_status("", status).await;
    }

    /// Stops it with no NOT_SERVING first, as a crash would look from outside: the port refuses.
    pub async fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(WAIT, task).await;
        }
    }

    /// Starts it again on the same port, with the same behaviour and counters.
    pub async fn restart(&mut self) {
        self.kill().await;
        *self = Self::start_at(&self.name.clone(), self.addr, self.behaviour.clone()).await;
    }
}

/// An address where nothing listens.
pub fn dead_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// Settings for tests: health checks every `health_ms`, a short connect timeout.
pub fn config(health_ms: u64) -> BalanceConfig {
    BalanceConfig {
        health_interval: Duration::from_millis(health_ms),
        health_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        resolve_interval: Duration::from_millis(100),
        ..BalanceConfig::default()
    }
}

/// A backend name of the test's own, so its metrics are its own.
pub fn backend(test: &str) -> String {
    format!("menu-{test}")
}

pub fn client(balancer: &Balancer) -> MenuServiceClient<Balancer> {
    MenuServiceClient::new(balancer.clone())
}

/// A read; returns which replica answered, or the status code.
pub async fn read(client: &mut MenuServiceClient<Balancer>) -> Result<String, tonic::Code> {
    read_status(client).await.map_err(|status| status.code())
}

/// A read; returns which replica answered, or the whole status.
pub async fn read_status(client: &mut MenuServiceClient<Balancer>) -> Result<String, Status> {
    let response = client
        .get_menu_item(pb::GetMenuItemRequest {
            id: ITEM_ID.to_owned(),
        })
        .await?;
    Ok(response.into_inner().name)
}

/// A write; returns which replica answered, or the status code.
pub async fn write(client: &mut MenuServiceClient<Balancer>) -> Result<String, tonic::Code> {
    let response = client
        .create_menu_item(pb::CreateMenuItemRequest {
            name: "Soup".to_owned(),
            category: "Soups".to_owned(),
            price_cents: Some(0),
            ..pb::CreateMenuItemRequest::default()
        })
        .await
        .map_err(|status| status.code())?;
    Ok(response.into_inner().name)
}

/// The balancer's state of the endpoint at `addr`.
pub fn state_of(balancer: &Balancer, addr: SocketAddr) -> Option<EndpointState> {
    balancer
        .endpoints()
        .into_iter()
        .find(|status| status.addr == addr)
        .map(|status| status.state)
}

/// Waits until the endpoint at `addr` is in a state `accept` takes.
pub async fn wait_for_state(
    balancer: &Balancer,
    addr: SocketAddr,
    accept: impl Fn(EndpointState) -> bool,
) -> EndpointState {
    mesh_testkit::eventually(&format!("endpoint {addr} to change state"), WAIT, || {
        let state = state_of(balancer, addr).filter(|state| accept(*state));
        async move { state }
    })
    .await
}

// === metrics ===

/// Counters and gauges by `name{label=value,…}` (labels sorted), for every test of the binary:
/// each test uses a backend name of its own.
#[derive(Default)]
pub struct Recorded {
    values: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
}

impl Recorded {
    fn handle(&self, key: &metrics::Key) -> Arc<AtomicU64> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.values
            .lock()
            .expect("lock")
            .entry(name)
            .or_default()
            .clone()
    }

    fn raw(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        let name = format!("{name}{{{}}}", labels.join(","));
        self.values
            .lock()
            .expect("lock")
            .get(&name)
            .map(|value| value.load(Ordering::SeqCst))
    }

    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.raw(name, labels).unwrap_or(0)
    }

    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.raw(name, labels).map(f64::from_bits)
    }
}

struct TestRecorder(&'static Recorded);

impl metrics::Recorder for TestRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(self.0.handle(key))
    }

    fn register_gauge(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(self.0.handle(key))
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// The recorder every test of this binary records into (installed by the first to ask).
pub fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<&'static Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorded: &'static Recorded = Box::leak(Box::default());
        metrics::set_global_recorder(TestRecorder(recorded)).expect("no other recorder");
        recorded
    })
}
