//! A backend's circuit breaker. It is open while no endpoint may be chosen: every one is
//! ejected, unhealthy or gone. Calls then get UNAVAILABLE quickly instead of each waiting out a
//! connect timeout on a dead address, and the health checks, which go on, close it again as soon
//! as one endpoint answers SERVING.
//!
//! Its half-open state uses health checks as the trial calls: a call that finds the circuit open
//! starts a round of checks of the endpoints that are out (or joins the one under way), waits for
//! it until a short moment after the round started, and goes through if one came back. So a
//! backend that restarts is used again on the next call, not a health interval later, while a
//! dead one costs each call at most that moment: rounds are at most one per [`HALF_OPEN_EVERY`],
//! a refused connection fails them in a millisecond, and a round that hangs (checks waiting out
//! their timeout) holds up only the calls that come within that moment of its start.

use std::{sync::Mutex, time::Duration};

use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

/// The least time between two half-open rounds: a dead backend gets at most ten rounds of health
/// checks a second however many calls knock.
pub(crate) const HALF_OPEN_EVERY: Duration = Duration::from_millis(100);

/// How long after a half-open round started a call waits for it before it is answered
/// UNAVAILABLE, unless `BalanceConfig::half_open_wait` says otherwise. Enough for a connection and
/// a health check to a server that is back; far below a connect timeout.
pub(crate) const HALF_OPEN_WAIT: Duration = Duration::from_millis(100);

/// Whether the circuit is open, and when it flips.
#[derive(Debug, Default)]
pub(crate) struct Breaker {
    open: Mutex<bool>,
}

/// A flip of the breaker, for the logs and the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flip {
    Opened,
    Closed,
}

impl Breaker {
    /// Sets the breaker from `any_available`, computed by the caller *inside* this call so that
    /// two updates racing cannot leave the older answer last.
    pub(crate) fn update(&self, any_available: impl FnOnce() -> bool) -> Option<Flip> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now_open = !any_available();
        let flip = match (*open, now_open) {
            (false, true) => Some(Flip::Opened),
            (true, false) => Some(Flip::Closed),
            _ => None,
        };
        *open = now_open;
        flip
    }

    #[cfg(test)]
    fn is_open(&self) -> bool {
        *self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A round of health checks run while the circuit is open, shared by the calls waiting on it.
pub(crate) type Round = Shared<BoxFuture<'static, ()>>;

/// When the last half-open round started, and the round itself.
#[derive(Default)]
pub(crate) struct HalfOpen {
    last: Mutex<Option<(Instant, Round)>>,
}

impl HalfOpen {
    /// The round a call that found the circuit open should wait for: the one under way, or a new
    /// one made by `start` unless the last one started less than [`HALF_OPEN_EVERY`] ago (then
    /// `None`: answer at once).
    pub(crate) fn round(
        &self,
        now: Instant,
        start: impl FnOnce() -> BoxFuture<'static, ()>,
    ) -> Option<Round> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((started, round)) = last.as_ref() {
            if round.peek().is_none() {
                return Some(round.clone());
            }
            if now.saturating_duration_since(*started) < HALF_OPEN_EVERY {
                return None;
            }
        }
        let round = start().shared();
        // Driven by a task of its own: its answers count even when every caller stopped waiting.
        tokio::spawn(round.clone());
        *last = Some((now, round.clone()));
        Some(round)
    }

    /// When the last round started: how long a call may still wait for it is counted from then.
    pub(crate) fn last_started(&self) -> Option<Instant> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref().map(|(started, _)| *started)
    }
}

/// The answer to a call while the circuit is open: a trailers-only gRPC response with status
/// UNAVAILABLE, which every gRPC client (and the gateway's error map, as a 503) understands.
pub(crate) fn open_response(backend: &str) -> http::Response<tonic::body::Body> {
    tonic::Status::unavailable(format!(
        "{backend}: no endpoint is healthy (circuit open), try again shortly"
    ))
    .into_http()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_when_nothing_is_available_and_closes_when_something_is() {
        let breaker = Breaker::default();
        assert!(!breaker.is_open());
        assert_eq!(breaker.update(|| true), None);
        assert_eq!(breaker.update(|| false), Some(Flip::Opened));
        assert!(breaker.is_open());
        assert_eq!(breaker.update(|| false), None, "opens once");
        assert_eq!(breaker.update(|| true), Some(Flip::Closed));
        assert!(!breaker.is_open());
    }

    #[tokio::test]
    async fn half_open_rounds_are_shared_while_under_way_and_spaced_after() {
        let half_open = HalfOpen::default();
        let t0 = Instant::now();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = half_open
            .round(t0, || {
                async move {
                    let _ = released.await;
                }
                .boxed()
            })
            .expect("a first round");
        // Under way: later calls join it rather than start another.
        let joined = half_open
            .round(t0 + HALF_OPEN_EVERY * 5, || {
                panic!("no second round while one runs")
            })
            .expect("joins");
        let _ = release.send(());
        first.await;
        joined.await;

        // Just finished: calls are answered at once.
        let soon = t0 + HALF_OPEN_EVERY / 2;
        assert!(half_open.round(soon, || panic!("too soon")).is_none());
        // Later, a new round.
        let later = t0 + HALF_OPEN_EVERY;
        let again = half_open.round(later, || async {}.boxed());
        assert!(again.is_some());
    }

    #[test]
    fn the_open_answer_is_a_grpc_unavailable_status() {
        let response = open_response("menu-service");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["grpc-status"], "14");
        let status = tonic::Status::from_header_map(response.headers()).expect("a status");
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(status.message().contains("menu-service"));
    }
}
