//! `/metrics` in the Prometheus text format: how many calls the gateway made to each backend
//! method and how they ended, and how many subscriptions are open. Enough to see a backend
//! failing, and to check that a GraphQL request batches its menu lookups into one call.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use axum::{extract::State, http::header, response::IntoResponse};

use crate::startup::AppState;

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
        let code = code_name(code);
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

fn code_name(code: tonic::Code) -> &'static str {
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

pub async fn handler(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.backends.metrics().render(),
    )
}
