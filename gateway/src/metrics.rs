//! `/metrics` in the Prometheus text format. This gateway's own counters (kept per instance, so
//! a test can count the calls one request made): calls to each backend method and how they
//! ended, requests refused by the rate limit, open subscriptions. Then, in the binary, the
//! process-wide exporter of `mesh_kit::metrics`: request latency by route and status
//! ([`track`]), backend call latency by backend, method and code, and each backend endpoint's
//! health and ejections.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Arc, LazyLock, Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use mesh_kit::metrics::HistogramHandles;

#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (backend, method, gRPC code) → calls.
    calls: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>>,
    subscriptions: AtomicI64,
    rate_limited: AtomicI64,
}

impl Metrics {
    pub fn record_call(&self, backend: &'static str, method: &'static str, code: tonic::Code) {
        let code = mesh_kit::metrics::code_name(code);
        // A poisoned lock only means another thread panicked mid-increment; counting goes on.
        let mut calls = self.inner.calls.lock().unwrap_or_else(|p| p.into_inner());
        *calls.entry((backend, method, code)).or_default() += 1;
    }

    /// Counts a request refused by the rate limit.
    pub fn rate_limited(&self) {
        self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an open subscription until the guard is dropped.
    pub fn subscription(&self) -> SubscriptionGuard {
        self.inner.subscriptions.fetch_add(1, Ordering::Relaxed);
        SubscriptionGuard(self.inner.clone())
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP gateway_backend_calls_total gRPC calls the gateway made, by backend, method and result code.\n");
        out.push_str("# TYPE gateway_backend_calls_total counter\n");
        let calls = self.inner.calls.lock().unwrap_or_else(|p| p.into_inner());
        for ((backend, method, code), count) in calls.iter() {
            let _ = writeln!(
                out,
                "gateway_backend_calls_total{{backend=\"{backend}\",method=\"{method}\",code=\"{code}\"}} {count}"
            );
        }
        out.push_str("# HELP gateway_rate_limited_total Requests refused with 429 by the per-client rate limit.\n");
        out.push_str("# TYPE gateway_rate_limited_total counter\n");
        let _ = writeln!(
            out,
            "gateway_rate_limited_total {}",
            self.inner.rate_limited.load(Ordering::Relaxed)
        );
        out.push_str("# HELP gateway_subscriptions_open GraphQL subscriptions currently open.\n");
        out.push_str("# TYPE gateway_subscriptions_open gauge\n");
        let _ = writeln!(
            out,
            "gateway_subscriptions_open {}",
            self.inner.subscriptions.load(Ordering::Relaxed)
        );
        out
    }
}

/// Decrements the open-subscription gauge when the subscription ends.
pub struct SubscriptionGuard(Arc<Inner>);

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        self.0.subscriptions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The histogram of every HTTP request the gateway answered.
pub const HTTP_REQUEST_DURATION: &str = "gateway_http_request_duration_seconds";

/// Times each request by route (the matched pattern, never the raw path, so ids do not make
/// new series), method and status, through the `metrics` facade.
pub async fn track(request: Request, next: Next) -> Response {
    static REQUESTS: LazyLock<HistogramHandles> = LazyLock::new(|| {
        HistogramHandles::new(HTTP_REQUEST_DURATION, &["route", "method", "status"])
    });
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = response.status();
    REQUESTS.record(
        &[route, method.as_str(), status.as_str()],
        started.elapsed(),
    );
    response
}

/// Gives the gateway's own histogram its help text (after the exporter is installed).
pub fn describe() {
    ::metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        ::metrics::Unit::Seconds,
        "HTTP requests the gateway answered, by route, method and status."
    );
}
