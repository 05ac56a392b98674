//! `/healthz`: the gateway process is alive. `/readyz`: whether it should take traffic, and what
//! behind it does not serve.
//!
//! - **ready** (200): every backend has an endpoint whose gRPC health answers SERVING, and the
//!   subscription feed reads (or rests while nobody subscribes).
//! - **degraded** (200): at least one backend serves, but not every one, or the feed is still
//!   starting; `degraded` names each and says why. The gateway stays in its Service: the routes
//!   of the backends that serve answer as usual, and those of a backend that does not answer 503
//!   at once (its balancer knows no endpoint is available and waits at most
//!   [`crate::backends::HALF_OPEN_WAIT`] for a round of health checks to find one back), which
//!   is more use to a client than a gateway taken out of rotation (every gateway sees the same
//!   backends, so all of them would go, and clients would get refused connections for the menu
//!   too).
//! - **not ready** (503): no backend serves, so no route could answer.
//!
//! The feed starting counts as degraded, not unready: it carries the `orderUpdates`
//! subscriptions only, while every query, mutation and REST route works without it; it stays
//! starting for as long as the broker cannot be reached, and a broker outage must not take the
//! REST and GraphQL API down with it. A subscription opened before the feed reads may miss an
//! update written in between, which is what `degraded` says.
//!
//! Every body also lists each backend's endpoints with their state, as the balancer sees them.

use std::{collections::BTreeMap, time::Duration};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use mesh_kit::balance::{EndpointState, EndpointStatus};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::{
    backends::BackendHealth,
    error::{ErrorCode, ErrorDetail},
    http::AppState,
};

/// A readiness probe must answer quickly even when a backend hangs.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The key of the subscription feed in [`Readiness::degraded`].
const FEED: &str = "feed";

/// The gateway process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = serde_json::Value))
)]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// What `/readyz` answers.
// The fields in the order the answer has always had its keys (by name, as `json!` wrote them).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "backends": {
        "billing-service": "SERVING",
        "delivery-service": "UNREACHABLE",
        "inventory-service": "SERVING",
        "menu-service": "SERVING",
        "order-service": "SERVING"
    },
    "degraded": {
        "delivery-service": "no endpoint serves: 127.0.0.1:50053 UNREACHABLE (no answer to its health check)"
    },
    "endpoints": {
        "billing-service": {"127.0.0.1:50055": "SERVING"},
        "delivery-service": {"127.0.0.1:50053": "UNREACHABLE"},
        "inventory-service": {"127.0.0.1:50054": "SERVING"},
        "menu-service": {"127.0.0.1:50051": "SERVING"},
        "order-service": {"127.0.0.1:50052": "SERVING"}
    },
    "feed": "LIVE",
    "status": "degraded"
}))]
pub struct Readiness {
    /// Each backend by name: `SERVING` when at least one of its endpoints answers SERVING;
    /// otherwise the state its endpoints share (`NOT_SERVING`, `UNREACHABLE`, `EJECTED`),
    /// `UNAVAILABLE` when they differ, or `NO_ENDPOINTS`.
    pub backends: BTreeMap<String, String>,
    /// What does not serve, and why: each backend without a serving endpoint by name, and
    /// `feed` while the subscription feed is starting. Empty when ready.
    pub degraded: BTreeMap<String, String>,
    /// Each backend's endpoints by address, with the state the balancer holds for each
    /// (`SERVING`, `NOT_SERVING`, `UNREACHABLE`, `EJECTED`, `UNKNOWN`), fresh from a health
    /// check.
    pub endpoints: BTreeMap<String, BTreeMap<String, String>>,
    /// Only when not ready (503): `UNAVAILABLE`, and the backends that do not serve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    pub feed: FeedState,
    pub status: ReadinessStatus,
}

/// Whether the gateway should take traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub enum ReadinessStatus {
    /// Every backend serves and the feed reads (or rests): 200.
    #[serde(rename = "ready")]
    Ready,
    /// At least one backend serves, not every one (or the feed is starting): 200, with what
    /// does not serve in `degraded`.
    #[serde(rename = "degraded")]
    Degraded,
    /// No backend serves: 503.
    #[serde(rename = "not ready")]
    NotReady,
}

/// The subscription feed (Kafka → `orderUpdates`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedState {
    /// Reading `order-events` and `delivery-events`.
    Live,
    /// Fetching nothing while nobody subscribes; it wakes for the next subscriber.
    Resting,
    /// Not positioned on the topics yet (the broker may be away): degraded.
    Starting,
}

/// Whether the gateway takes traffic: 200 while at least one backend serves, 503 when none does.
///
/// A backend serves when one of its endpoints answers gRPC health SERVING (checked afresh for
/// this answer). While some backend does not, its routes answer 503 at once and the others as
/// usual.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The gateway takes traffic. `status` is `ready` when every backend serves (`backends`) and the subscription feed is `LIVE`, or `RESTING` while nobody subscribes (it wakes for the next subscriber); `degraded` when at least one backend serves but not every one, or the feed is `STARTING`: `degraded` names each backend that does not serve and why (its routes answer 503 at once meanwhile), and `feed` while it starts.", body = Readiness),
        (status = 503, description = "No backend serves: `status` is `not ready`, `error.code` `UNAVAILABLE`, `error.message` names them; `degraded` says why each does not serve.", body = Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let checks = state.backends.health(PROBE_TIMEOUT).await;
    let feed = if state.feed.is_resting() {
        FeedState::Resting
    } else if state.feed.is_live() {
        FeedState::Live
    } else {
        FeedState::Starting
    };
    let readiness = readiness(&checks, feed);
    let code = if readiness.status == ReadinessStatus::NotReady {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(readiness))
}

/// The answer to `/readyz` for these health checks and this feed state.
fn readiness(checks: &[BackendHealth], feed: FeedState) -> Readiness {
    let mut backends = BTreeMap::new();
    let mut endpoints = BTreeMap::new();
    let mut degraded = BTreeMap::new();
    let mut down = Vec::new();
    for health in checks {
        let name = health.backend.name();
        match health.verdict() {
            Ok(()) => {
                backends.insert(name.to_owned(), "SERVING".to_owned());
            }
            Err(status) => {
                down.push(format!("{name} ({status})"));
                degraded.insert(name.to_owned(), why_not_serving(&health.endpoints));
                backends.insert(name.to_owned(), status);
            }
        }
        let states = health
            .endpoints
            .iter()
            .map(|endpoint| {
                (
                    endpoint.addr.to_string(),
                    endpoint.state.as_str().to_owned(),
                )
            })
            .collect();
        endpoints.insert(name.to_owned(), states);
    }
    if feed == FeedState::Starting {
        degraded.insert(
            FEED.to_owned(),
            "STARTING: not reading order-events and delivery-events yet (is the broker \
             reachable?); an orderUpdates subscription opened now may miss an update written \
             before it does"
                .to_owned(),
        );
    }
    let serving = checks.len() - down.len();
    let (status, error) = if serving == 0 {
        let code = ErrorCode::Unavailable;
        let error = ErrorDetail {
            code,
            message: format!("no backend serves: {}", down.join(", ")),
        };
        (ReadinessStatus::NotReady, Some(error))
    } else if degraded.is_empty() {
        (ReadinessStatus::Ready, None)
    } else {
        (ReadinessStatus::Degraded, None)
    };
    Readiness {
        backends,
        degraded,
        endpoints,
        error,
        feed,
        status,
    }
}

/// Why a backend with no serving endpoint does not serve, endpoint by endpoint:
/// `no endpoint serves: 10.0.0.7:50053 UNREACHABLE (no answer to its health check)`.
fn why_not_serving(endpoints: &[EndpointStatus]) -> String {
    if endpoints.is_empty() {
        return "NO_ENDPOINTS: its host resolves to no address".to_owned();
    }
    let each: Vec<String> = endpoints
        .iter()
        .map(|endpoint| {
            let why = match endpoint.state {
                EndpointState::Serving => "serving",
                EndpointState::Unknown => "not checked yet",
                EndpointState::NotServing => "its health check answers NOT_SERVING",
                EndpointState::Unreachable => "no answer to its health check",
                EndpointState::Ejected => "ejected after consecutive failed calls",
            };
            format!("{} {} ({why})", endpoint.addr, endpoint.state)
        })
        .collect();
    format!("no endpoint serves: {}", each.join(", "))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::backends::Backend;

    fn endpoint(port: u16, state: EndpointState) -> EndpointStatus {
        EndpointStatus {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            state,
            in_flight: 0,
        }
    }

    /// Every backend with one endpoint in `state`, except those `down` in theirs.
    fn checks(down: &[(Backend, EndpointState)]) -> Vec<BackendHealth> {
        Backend::ALL
            .iter()
            .zip(50051..)
            .map(|(&backend, port)| {
                let state = down
                    .iter()
                    .find(|(b, _)| *b == backend)
                    .map_or(EndpointState::Serving, |(_, state)| *state);
                BackendHealth {
                    backend,
                    endpoints: vec![endpoint(port, state)],
                }
            })
            .collect()
    }

    #[test]
    fn every_backend_serving_with_the_feed_live_or_resting_is_ready() {
        for feed in [FeedState::Live, FeedState::Resting] {
            let readiness = readiness(&checks(&[]), feed);
            assert_eq!(readiness.status, ReadinessStatus::Ready);
            assert!(readiness.degraded.is_empty());
            assert!(readiness.error.is_none());
            assert_eq!(readiness.backends.len(), 5);
        }
    }

    #[test]
    fn one_backend_down_is_degraded_and_names_it() {
        let readiness = readiness(
            &checks(&[(Backend::Delivery, EndpointState::Unreachable)]),
            FeedState::Live,
        );
        assert_eq!(readiness.status, ReadinessStatus::Degraded);
        assert!(readiness.error.is_none());
        assert_eq!(readiness.backends["delivery-service"], "UNREACHABLE");
        assert_eq!(readiness.backends["menu-service"], "SERVING");
        assert_eq!(
            readiness.degraded.keys().collect::<Vec<_>>(),
            ["delivery-service"]
        );
        assert_eq!(
            readiness.degraded["delivery-service"],
            "no endpoint serves: 127.0.0.1:50053 UNREACHABLE (no answer to its health check)"
        );
        assert_eq!(
            readiness.endpoints["delivery-service"]["127.0.0.1:50053"],
            "UNREACHABLE"
        );
    }

    #[test]
    fn a_starting_feed_is_degraded_not_unready() {
        let readiness = readiness(&checks(&[]), FeedState::Starting);
        assert_eq!(readiness.status, ReadinessStatus::Degraded);
        assert!(readiness.degraded[FEED].starts_with("STARTING"));
    }

    #[test]
    fn no_backend_serving_is_not_ready() {
        let down: Vec<(Backend, EndpointState)> = Backend::ALL
            .iter()
            .map(|&backend| (backend, EndpointState::NotServing))
            .collect();
        let readiness = readiness(&checks(&down), FeedState::Live);
        assert_eq!(readiness.status, ReadinessStatus::NotReady);
        assert_eq!(readiness.degraded.len(), 5);
        let error = readiness.error.expect("an error");
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert!(
            error
                .message
                .starts_with("no backend serves: menu-service (NOT_SERVING)"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_backend_without_endpoints_says_so() {
        let mut checks = checks(&[]);
        checks[2].endpoints.clear();
        let readiness = readiness(&checks, FeedState::Live);
        assert_eq!(readiness.status, ReadinessStatus::Degraded);
        assert_eq!(readiness.backends["delivery-service"], "NO_ENDPOINTS");
        assert!(readiness.degraded["delivery-service"].starts_with("NO_ENDPOINTS"));
    }

    #[test]
    fn the_answer_keeps_its_keys_and_adds_degraded() {
        let body = serde_json::to_value(readiness(&checks(&[]), FeedState::Live)).expect("JSON");
        let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
        assert_eq!(
            keys,
            ["backends", "degraded", "endpoints", "feed", "status"],
            "{body}"
        );
        assert_eq!(body["status"], "ready");
        assert_eq!(body["feed"], "LIVE");
    }
}
