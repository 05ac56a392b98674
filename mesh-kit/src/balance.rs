//! A client-side, health-aware, per-request balancer for gRPC, as a tower `Service` any
//! tonic-generated client takes: `MenuServiceClient::new(balancer)`.
//!
//! tonic's own `Channel::balance_list` keeps choosing an endpoint that stopped answering. This
//! one knows each endpoint's health and chooses per call:
//!
//! - **endpoints** ([`discovery`]): the configured URLs; a DNS name is looked up again every
//!   `resolve_interval`, one lazily connected channel per address, so a headless Kubernetes
//!   Service spreads calls over its pods as they come and go;
//! - **health** ([`health`], `probe`): `grpc.health.v1.Health/Check` on every endpoint every
//!   `health_interval`; NOT_SERVING or no answer takes it out. `eject_after` consecutive failed
//!   calls take it out too, until a health check started after that answers SERVING;
//! - **picking** (`picker`): power of two choices among the available endpoints, by calls in
//!   flight;
//! - **retries** (`retry`): a read (by method name, [`IdempotentMethods`]) whose attempt failed
//!   before any answer goes once more to another endpoint, within what is left of its deadline.
//!   Writes never go twice;
//! - **circuit breaker** (`breaker`): with no endpoint available, calls get UNAVAILABLE within
//!   a moment ([`BalanceConfig::half_open_wait`] after a round of health checks started), the
//!   moment a quick round takes to find an endpoint back;
//! - **deadlines** (`deadline`): the call's `grpc-timeout` (or the configured default) bounds the
//!   whole call, retry included, and each attempt carries what remains of it;
//! - **metrics** ([`metrics`]) through the `metrics` facade, and [`Balancer::endpoints`] for code
//!   (readiness probes).
//!
//! Every piece is small and tested alone; this file wires them into the call path.

mod breaker;
mod deadline;
pub mod discovery;
mod endpoint;
pub mod health;
pub mod metrics;
mod picker;
mod probe;
mod retry;

use std::{
    collections::BTreeSet,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, OnceLock, RwLock, Weak},
    task::{Context, Poll},
    time::Duration,
};

use futures::FutureExt;
use tokio::{sync::watch, time::Instant};
use tonic::body::Body;

pub use discovery::{Resolver, system_resolver};
pub use health::EndpointState;
pub use retry::{DEFAULT_IDEMPOTENT_METHODS, IdempotentMethods};

use crate::tls::ClientTls;
use breaker::{Breaker, Flip, HALF_OPEN_WAIT, HalfOpen};
use discovery::{Host, Resolved, Target};
use endpoint::{AbortOnDrop, ChannelSettings, Endpoint};
use health::{CallOutcome, Transition};
use picker::Rng;
use retry::{Replayable, Verdict};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RESOLVE_INTERVAL_MS: u64 = 10_000;
const HEALTH_INTERVAL_MS: u64 = 2_000;
const HEALTH_TIMEOUT_MS: u64 = 1_000;
const EJECT_AFTER: u32 = 3;
const CONNECT_TIMEOUT_MS: u64 = 1_000;

/// The balancer's settings, the same for every client in the mesh; each is [`BalanceConfig`]'s
/// field of the same name.
#[derive(Clone, Debug, clap::Args)]
pub struct BalanceSettings {
    /// How often backend DNS names are looked up again, in ms.
    #[arg(long, env = "BALANCE_RESOLVE_INTERVAL_MS", default_value_t = RESOLVE_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(1..))]
    resolve_interval_ms: u64,
    /// How often each backend endpoint is health-checked, in ms.
    #[arg(long, env = "BALANCE_HEALTH_INTERVAL_MS", default_value_t = HEALTH_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(1..))]
    health_interval_ms: u64,
    /// How long a health check may take, in ms.
    #[arg(long, env = "BALANCE_HEALTH_TIMEOUT_MS", default_value_t = HEALTH_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    health_timeout_ms: u64,
    /// Consecutive failed calls (transport error or UNAVAILABLE) that eject an endpoint; 0 never
    /// ejects.
    #[arg(long, env = "BALANCE_EJECT_AFTER", default_value_t = EJECT_AFTER)]
    eject_after: u32,
    /// How long connecting to an endpoint may take, in ms.
    #[arg(long, env = "BALANCE_CONNECT_TIMEOUT_MS", default_value_t = CONNECT_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    connect_timeout_ms: u64,
    /// Which calls may be sent twice: comma-separated method names, `*` at the end of a prefix;
    /// `none` for no retries.
    #[arg(long, env = "BALANCE_RETRY_METHODS", default_value = DEFAULT_IDEMPOTENT_METHODS, value_parser = IdempotentMethods::parse)]
    retry_methods: IdempotentMethods,
}

impl BalanceSettings {
    /// The balancer's settings, with `tls` for `https://` URLs.
    pub fn config(&self, tls: Option<ClientTls>) -> BalanceConfig {
        BalanceConfig {
            resolve_interval: Duration::from_millis(self.resolve_interval_ms),
            health_interval: Duration::from_millis(self.health_interval_ms),
            health_timeout: Duration::from_millis(self.health_timeout_ms),
            eject_after: self.eject_after,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            idempotent: self.retry_methods.clone(),
            tls,
            ..BalanceConfig::default()
        }
    }
}

/// How a balancer looks endpoints up, checks them and treats failures.
#[derive(Clone, Debug)]
pub struct BalanceConfig {
    /// How often DNS names are looked up again (`BALANCE_RESOLVE_INTERVAL_MS`, default 10 s).
    /// Pods that leave are taken out sooner by their health checks; this only bounds how long a
    /// new pod waits for its first call.
    pub resolve_interval: Duration,
    /// How often each endpoint is health-checked (`BALANCE_HEALTH_INTERVAL_MS`, default 2 s):
    /// the longest a draining or dead endpoint keeps being chosen when no call fails on it, and
    /// how soon an ejected one comes back.
    pub health_interval: Duration,
    /// How long a health check may take (`BALANCE_HEALTH_TIMEOUT_MS`, default 1 s). A server
    /// that cannot answer this cheap call in a second should not get real ones.
    pub health_timeout: Duration,
    /// Consecutive failed calls (transport error or UNAVAILABLE) that eject an endpoint
    /// (`BALANCE_EJECT_AFTER`, default 3; 0 never ejects). Not 1: one reset connection or a
    /// GOAWAY race happens to healthy servers, and an ejection costs a health interval of
    /// capacity. Not linkerd's 7 or Envoy's 5: those count any 5xx, we count only failures a
    /// healthy server almost never produces, and a dead endpoint under load reaches 3 within
    /// milliseconds, each of them a failed write (reads are retried).
    pub eject_after: u32,
    /// How long connecting to an endpoint may take (`BALANCE_CONNECT_TIMEOUT_MS`, default 1 s):
    /// a dead address fails fast into a retry elsewhere instead of eating the deadline.
    pub connect_timeout: Duration,
    /// Which calls may be sent twice (`BALANCE_RETRY_METHODS`, default
    /// [`DEFAULT_IDEMPOTENT_METHODS`]; `none` for no retries).
    pub idempotent: IdempotentMethods,
    /// The deadline of a call that brings none of its own (no `grpc-timeout`). Each client sets
    /// its own (the gateway `GATEWAY_BACKEND_TIMEOUT_MS`); none means calls may wait forever.
    pub default_timeout: Option<Duration>,
    /// TLS for `https://` URLs (`GRPC_TLS_CA`, and `GRPC_TLS_CERT`/`GRPC_TLS_KEY` as the client
    /// certificate for mutual TLS; see [`crate::tls`]).
    pub tls: Option<crate::tls::ClientTls>,
    /// How long after a half-open round started the calls that find no endpoint available (the
    /// circuit open) wait for it, to go through if it finds an endpoint back (default 100 ms,
    /// never past a call's deadline). A call that starts a round waits this long at most, one
    /// that joins a round under way only what is left of it: a backend whose checks hang until
    /// their timeout (a stopped process, a lost host) costs the calls during a round at most
    /// this, those after it nothing, while a refused connection ends the round in a
    /// millisecond. Zero: every call is answered UNAVAILABLE at once, and the round goes on
    /// without it. The gateway sets less than the default: its clients hear 503 at once.
    pub half_open_wait: Duration,
}

impl Default for BalanceConfig {
    fn default() -> Self {
        Self {
            resolve_interval: Duration::from_millis(RESOLVE_INTERVAL_MS),
            health_interval: Duration::from_millis(HEALTH_INTERVAL_MS),
            health_timeout: Duration::from_millis(HEALTH_TIMEOUT_MS),
            eject_after: EJECT_AFTER,
            connect_timeout: Duration::from_millis(CONNECT_TIMEOUT_MS),
            idempotent: IdempotentMethods::default(),
            default_timeout: None,
            tls: None,
            half_open_wait: HALF_OPEN_WAIT,
        }
    }
}

impl BalanceConfig {
    /// The same, with `timeout` for calls that bring no deadline of their own.
    pub fn with_default_timeout(self, timeout: Duration) -> Self {
        Self {
            default_timeout: Some(timeout),
            ..self
        }
    }

    /// The same, with calls that find no endpoint available waiting for a half-open round of
    /// health checks until `wait` after it started (zero: answered UNAVAILABLE at once).
    pub fn with_half_open_wait(self, wait: Duration) -> Self {
        Self {
            half_open_wait: wait,
            ..self
        }
    }
}

/// Why a balancer could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BalanceError {
    #[error("no URL given")]
    NoUrl,
    #[error("URL {url:?} is invalid: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("a balancer must be created inside a Tokio runtime")]
    NoRuntime,
}

/// One endpoint as [`Balancer::endpoints`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointStatus {
    pub addr: SocketAddr,
    pub state: EndpointState,
    /// Calls sent there and not answered yet.
    pub in_flight: usize,
}

/// A balanced, health-checked set of endpoints of one backend. Cheap to clone: clones share the
/// endpoints, and the background tasks (lookups, health checks) stop when the last clone goes.
#[derive(Clone)]
pub struct Balancer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Balancer")
            .field("backend", &self.shared.backend)
            .field("endpoints", &self.endpoints())
            .finish()
    }
}

impl Balancer {
    /// A balancer over `urls` (`http://host:port`), named `backend` in logs and metrics, with
    /// DNS names looked up by the system resolver. Must be called inside a Tokio runtime.
    pub fn new(
        backend: &str,
        urls: &[impl AsRef<str>],
        config: BalanceConfig,
    ) -> Result<Self, BalanceError> {
        Self::with_resolver(backend, urls, config, system_resolver())
    }

    /// The same, with DNS names looked up by `resolver`.
    pub fn with_resolver(
        backend: &str,
        urls: &[impl AsRef<str>],
        config: BalanceConfig,
        resolver: Resolver,
    ) -> Result<Self, BalanceError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BalanceError::NoRuntime)?;
        let targets = urls
            .iter()
            .map(|url| {
                Target::parse(url.as_ref()).map_err(|reason| BalanceError::InvalidUrl {
                    url: url.as_ref().to_owned(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if targets.is_empty() {
            return Err(BalanceError::NoUrl);
        }
        let resolved = Resolved::new(&targets);
        let needs_dns = targets.iter().any(|target| target.fixed().is_none());
        let (resolved_tx, resolved_rx) = watch::channel(!needs_dns);
        let shared = Arc::new(Shared {
            backend: backend.to_owned(),
            config,
            targets,
            endpoints: RwLock::new(Arc::new(Vec::new())),
            breaker: Breaker::default(),
            half_open: HalfOpen::default(),
            rng: Rng::new(),
            resolved: resolved_rx,
            resolver_task: OnceLock::new(),
        });
        // Addresses given as IPs are there from the first call on.
        shared.apply(&resolved);
        if needs_dns {
            let task = runtime.spawn(resolve_loop(
                Arc::downgrade(&shared),
                resolved,
                resolver,
                resolved_tx,
            ));
            let _ = shared.resolver_task.set(AbortOnDrop(task.abort_handle()));
        }
        Ok(Self { shared })
    }

    /// The backend's name, as in logs and metrics.
    pub fn backend(&self) -> &str {
        &self.shared.backend
    }

    /// Every endpoint and what the balancer knows of it now, by address.
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        let mut endpoints: Vec<EndpointStatus> = self
            .shared
            .snapshot()
            .iter()
            .map(|endpoint| EndpointStatus {
                addr: endpoint.addr,
                state: endpoint.health().state(),
                in_flight: endpoint.in_flight(),
            })
            .collect();
        endpoints.sort_by_key(|status| status.addr);
        endpoints
    }

    /// Health-checks every endpoint now (each within `timeout`), takes the answers in as the
    /// periodic checks would, and reports the result. For readiness probes that must not trust
    /// an answer up to a health interval old.
    pub async fn check(&self, timeout: Duration) -> Vec<EndpointStatus> {
        let endpoints = self.shared.snapshot();
        let checks = endpoints
            .iter()
            .map(|endpoint| self.shared.probe(endpoint, timeout));
        futures::future::join_all(checks).await;
        self.endpoints()
    }

    /// Whether calls are refused right now because no endpoint is available.
    pub fn is_circuit_open(&self) -> bool {
        !self.shared.snapshot().iter().any(|e| e.is_available())
    }
}

impl tower::Service<http::Request<Body>> for Balancer {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    /// Always ready: waiting happens per call, where the endpoint is chosen.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The caller's request and trace go on with the backend's work.
        crate::context::inject(request.headers_mut());
        crate::telemetry::trace_context::inject(request.headers_mut());
        let shared = self.shared.clone();
        let method = request.uri().path().to_owned();
        Box::pin(async move {
            let started = std::time::Instant::now();
            let backend = shared.backend.clone();
            let result = shared.dispatch(request).await;
            crate::metrics::client_call(&backend, &method, &result, started.elapsed());
            result
        })
    }
}

// === impl Shared ===

struct Shared {
    backend: String,
    config: BalanceConfig,
    targets: Vec<Target>,
    /// Replaced whole when DNS changes; a call takes a snapshot and never holds the lock.
    endpoints: RwLock<Arc<Vec<Arc<Endpoint>>>>,
    breaker: Breaker,
    half_open: HalfOpen,
    rng: Rng,
    /// True once DNS names have been looked up once (at once when there are none).
    resolved: watch::Receiver<bool>,
    resolver_task: OnceLock<AbortOnDrop>,
}

/// Less time than this left cannot cover a second round trip: the first failure is the better
/// answer then.
const MIN_RETRY_BUDGET: Duration = Duration::from_millis(10);

/// How long one DNS lookup may take before it counts as failed.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

impl Shared {
    fn snapshot(&self) -> Arc<Vec<Arc<Endpoint>>> {
        self.endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// One call: choose, send, and for a read that failed before any answer, choose again.
    async fn dispatch(
        self: Arc<Self>,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, BoxError> {
        let deadline = deadline::deadline(
            request.headers(),
            Instant::now(),
            self.config.default_timeout,
        );
        if !self.wait_resolved(deadline).await {
            return Ok(self.deadline_exceeded());
        }
        let first = match self.pick(None) {
            Some(endpoint) => endpoint,
            None => match self.half_open(deadline).await {
                Some(endpoint) => endpoint,
                None => return Ok(self.circuit_open()),
            },
        };
        if !self.config.idempotent.matches(request.uri().path()) {
            return self.attempt(&first, request, deadline).await.finish(&self);
        }

        let path = request.uri().path().to_owned();
        let replay = match Replayable::buffer(request).await {
            Ok(replay) => replay,
            Err(status) => return Ok(status.into_http()),
        };
        let attempt = self.attempt(&first, replay.request(), deadline).await;
        if attempt.verdict() != Verdict::Unavailable {
            return attempt.finish(&self);
        }
        let time_left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if time_left.is_some_and(|left| left < MIN_RETRY_BUDGET) {
            return attempt.finish(&self);
        }
        let Some(second) = self.pick(Some(first.addr)) else {
            return attempt.finish(&self);
        };
        metrics::retried(&self.backend);
        tracing::debug!(
            backend = %self.backend,
            method = %path,
            failed = %first.label,
            next = %second.label,
            "retrying a read on another endpoint"
        );
        self.attempt(&second, replay.request(), deadline)
            .await
            .finish(&self)
    }

    /// Waits for the first DNS answer, so the calls right after start do not fail on an empty
    /// endpoint set. False when the deadline ran out first.
    async fn wait_resolved(&self, deadline: Option<Instant>) -> bool {
        if *self.resolved.borrow() {
            return true;
        }
        let mut resolved = self.resolved.clone();
        let wait = resolved.wait_for(|done| *done);
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, wait).await.is_ok(),
            // An error means the lookups stopped: go on and find no endpoint.
            None => {
                let _ = wait.await;
                true
            }
        }
    }

    /// The circuit is open: joins or starts a round of health checks of the endpoints that are
    /// out, waits for it until `half_open_wait` after it started (never past the deadline), and
    /// chooses again.
    async fn half_open(self: &Arc<Self>, deadline: Option<Instant>) -> Option<Arc<Endpoint>> {
        let now = Instant::now();
        let shared = self.clone();
        let round = self.half_open.round(now, move || {
            async move { shared.probe_unavailable().await }.boxed()
        })?;
        let started = self.half_open.last_started().unwrap_or(now);
        let until = started + self.config.half_open_wait;
        let until = deadline.map_or(until, |deadline| until.min(deadline));
        if until > now {
            let _ = tokio::time::timeout_at(until, round).await;
        }
        self.pick(None)
    }

    /// Health-checks every endpoint that is out, at once.
    async fn probe_unavailable(&self) {
        let endpoints = self.snapshot();
        let checks = endpoints
            .iter()
            .filter(|endpoint| !endpoint.is_available())
            .map(|endpoint| self.probe(endpoint, self.config.health_timeout));
        futures::future::join_all(checks).await;
    }

    /// Power of two choices among the available endpoints, `except` one that just failed.
    fn pick(&self, except: Option<SocketAddr>) -> Option<Arc<Endpoint>> {
        let endpoints = self.snapshot();
        let candidates: Vec<&Arc<Endpoint>> = endpoints
            .iter()
            .filter(|endpoint| Some(endpoint.addr) != except && endpoint.is_available())
            .collect();
        let loads: Vec<usize> = candidates.iter().map(|e| e.in_flight()).collect();
        let index = picker::p2c(&loads, &mut |n| self.rng.below(n))?;
        candidates.get(index).map(|endpoint| (*endpoint).clone())
    }

    /// One attempt on `endpoint`, bounded by the deadline, its outcome taken into the endpoint's
    /// health.
    async fn attempt(
        &self,
        endpoint: &Arc<Endpoint>,
        mut request: http::Request<Body>,
        deadline: Option<Instant>,
    ) -> Attempt {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Attempt::Deadline;
            }
            deadline::set_remaining(request.headers_mut(), left);
        }
        let _in_flight = endpoint.start();
        let mut channel = endpoint.channel.clone();
        let call = async move {
            std::future::poll_fn(|cx| tower::Service::poll_ready(&mut channel, cx)).await?;
            tower::Service::call(&mut channel, request).await
        };
        let result = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, call).await {
                Ok(result) => result,
                Err(_) => return Attempt::Deadline,
            },
            None => call.await,
        };
        let attempt = match result {
            Ok(response) => {
                let verdict = retry::classify_response(&response);
                Attempt::Response(response, verdict)
            }
            Err(error) => {
                let verdict = retry::classify_error(&error);
                Attempt::Error(error, verdict)
            }
        };
        let outcome = match attempt.verdict() {
            Verdict::Answered => CallOutcome::Answered,
            Verdict::Unavailable => CallOutcome::Failed,
            Verdict::DeadlineExceeded => CallOutcome::Neutral,
        };
        let transition =
            endpoint
                .health()
                .on_call(Instant::now(), outcome, self.config.eject_after);
        self.after(endpoint, transition);
        attempt
    }

    /// Health-checks one endpoint and takes the answer in.
    async fn probe(&self, endpoint: &Arc<Endpoint>, timeout: Duration) {
        let started = Instant::now();
        let probe = probe::check(endpoint.channel.clone(), timeout).await;
        let transition = endpoint.health().on_probe(started, probe);
        self.after(endpoint, transition);
    }

    /// Logs and counts a change of an endpoint's availability, and updates the breaker.
    fn after(&self, endpoint: &Endpoint, transition: Option<Transition>) {
        let Some(transition) = transition else {
            return;
        };
        match transition {
            Transition::Down(state) => {
                tracing::warn!(
                    backend = %self.backend,
                    endpoint = %endpoint.label,
                    state = %state,
                    "endpoint taken out of rotation"
                );
                metrics::ejected(&self.backend, &endpoint.label, state);
                metrics::endpoint_healthy(&self.backend, &endpoint.label, false);
            }
            Transition::Up => {
                tracing::info!(
                    backend = %self.backend,
                    endpoint = %endpoint.label,
                    "endpoint back in rotation"
                );
                metrics::readmitted(&self.backend, &endpoint.label);
                metrics::endpoint_healthy(&self.backend, &endpoint.label, true);
            }
        }
        self.refresh_breaker();
    }

    fn refresh_breaker(&self) {
        let flip = self
            .breaker
            .update(|| self.snapshot().iter().any(|e| e.is_available()));
        match flip {
            Some(Flip::Opened) => {
                tracing::warn!(
                    backend = %self.backend,
                    "circuit open: no endpoint is healthy, calls fail fast"
                );
                metrics::circuit_opened(&self.backend);
            }
            Some(Flip::Closed) => {
                tracing::info!(backend = %self.backend, "circuit closed: an endpoint is back");
            }
            None => {}
        }
    }

    fn circuit_open(&self) -> http::Response<Body> {
        // Counted here too: the set may have emptied without any endpoint changing state.
        self.refresh_breaker();
        breaker::open_response(&self.backend)
    }

    fn deadline_exceeded(&self) -> http::Response<Body> {
        tonic::Status::deadline_exceeded(format!("{}: deadline exceeded", self.backend)).into_http()
    }

    /// Makes the endpoint set what DNS says: new addresses get an endpoint and a health-check
    /// task, vanished ones are dropped (calls in flight there finish on their own).
    fn apply(self: &Arc<Self>, resolved: &Resolved) {
        let wanted = resolved.endpoints();
        let settings = ChannelSettings {
            connect_timeout: self.config.connect_timeout,
            tls: self.config.tls.clone(),
        };
        let (added, removed) = {
            let mut endpoints = self.endpoints.write().unwrap_or_else(|p| p.into_inner());
            let current: BTreeSet<SocketAddr> = endpoints.iter().map(|e| e.addr).collect();
            let change = discovery::diff(&current, &wanted.keys().copied().collect());
            if change == discovery::Change::default() {
                return;
            }
            let mut next: Vec<Arc<Endpoint>> = endpoints
                .iter()
                .filter(|e| !change.removed.contains(&e.addr))
                .cloned()
                .collect();
            let mut added = Vec::new();
            for addr in change.added {
                let Some(target) = wanted.get(&addr).and_then(|&i| self.targets.get(i)) else {
                    continue;
                };
                match Endpoint::new(addr, target, settings.clone()) {
                    Ok(endpoint) => {
                        let endpoint = Arc::new(endpoint);
                        next.push(endpoint.clone());
                        added.push(endpoint);
                    }
                    Err(error) => tracing::warn!(
                        backend = %self.backend,
                        endpoint = %addr,
                        error = %error,
                        "cannot set up a channel to the endpoint"
                    ),
                }
            }
            *endpoints = Arc::new(next);
            (added, change.removed)
        };
        for endpoint in &added {
            tracing::info!(backend = %self.backend, endpoint = %endpoint.label, "endpoint added");
            metrics::endpoint_healthy(&self.backend, &endpoint.label, true);
            let task = tokio::spawn(probe_loop(Arc::downgrade(self), Arc::downgrade(endpoint)));
            endpoint.set_prober(task);
        }
        for addr in &removed {
            tracing::info!(backend = %self.backend, endpoint = %addr, "endpoint removed");
            metrics::endpoint_healthy(&self.backend, &addr.to_string(), false);
        }
        self.refresh_breaker();
    }

    fn contains(&self, endpoint: &Arc<Endpoint>) -> bool {
        self.snapshot().iter().any(|e| Arc::ptr_eq(e, endpoint))
    }
}

/// How one attempt ended.
enum Attempt {
    Response(http::Response<Body>, Verdict),
    Error(tonic::transport::Error, Verdict),
    /// The deadline ran out before an answer.
    Deadline,
}

impl Attempt {
    fn verdict(&self) -> Verdict {
        match self {
            Self::Response(_, verdict) | Self::Error(_, verdict) => *verdict,
            Self::Deadline => Verdict::DeadlineExceeded,
        }
    }

    /// What the client gets: the answer, the transport error (tonic maps it to a status the
    /// usual way), or DEADLINE_EXCEEDED when the deadline ran out, whichever timer saw it first.
    fn finish(self, shared: &Shared) -> Result<http::Response<Body>, BoxError> {
        match self {
            Self::Response(response, _) => Ok(response),
            Self::Error(_, Verdict::DeadlineExceeded) | Self::Deadline => {
                Ok(shared.deadline_exceeded())
            }
            Self::Error(error, _) => Err(Box::new(error)),
        }
    }
}

// === background tasks ===

/// Health-checks one endpoint every interval, from the moment it appears until it is dropped.
async fn probe_loop(shared: Weak<Shared>, endpoint: Weak<Endpoint>) {
    loop {
        let interval = {
            let (Some(shared), Some(endpoint)) = (shared.upgrade(), endpoint.upgrade()) else {
                return;
            };
            // Gone from DNS but kept alive by calls still in flight: nothing left to decide.
            if !shared.contains(&endpoint) {
                return;
            }
            shared.probe(&endpoint, shared.config.health_timeout).await;
            shared.config.health_interval
        };
        tokio::time::sleep(interval).await;
    }
}

/// Looks the DNS names up every `resolve_interval` and applies the answers.
async fn resolve_loop(
    shared: Weak<Shared>,
    mut resolved: Resolved,
    resolver: Resolver,
    done: watch::Sender<bool>,
) {
    loop {
        let Some((backend, targets, interval)) = shared.upgrade().map(|shared| {
            (
                shared.backend.clone(),
                shared.targets.clone(),
                shared.config.resolve_interval,
            )
        }) else {
            return;
        };
        for (index, target) in targets.iter().enumerate() {
            let Host::Name(host) = &target.host else {
                continue;
            };
            let answer =
                match tokio::time::timeout(LOOKUP_TIMEOUT, resolver(host.clone(), target.port))
                    .await
                {
                    Ok(answer) => answer,
                    Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
                };
            let error = answer.as_ref().err().map(ToString::to_string);
            if !resolved.record(index, answer) {
                tracing::warn!(
                    backend = %backend,
                    host = %host,
                    error = error.as_deref().unwrap_or("no address"),
                    "cannot resolve a backend host; keeping its last addresses"
                );
            }
        }
        let Some(shared_now) = shared.upgrade() else {
            return;
        };
        shared_now.apply(&resolved);
        let empty = shared_now.snapshot().is_empty();
        drop(shared_now);
        done.send_replace(true);
        // With nothing to call, ask again soon rather than leave the backend down a whole
        // interval (a pod starting before its DNS record exists).
        let wait = if empty {
            interval.min(Duration::from_secs(1))
        } else {
            interval
        };
        tokio::time::sleep(wait).await;
    }
}
