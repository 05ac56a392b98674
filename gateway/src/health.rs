//! `/healthz`: the gateway process is alive. `/readyz`: every backend has an endpoint whose gRPC
//! health answers SERVING and the subscription feed is live; otherwise 503 naming what is not.
//! It also lists each backend's endpoints with their state, as the balancer sees them.

use std::{collections::BTreeMap, time::Duration};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use crate::{error::ErrorCode, startup::AppState};

/// A readiness probe must answer quickly even when a backend hangs.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

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

/// Every backend answers gRPC health SERVING and the subscription feed is live, or resting
/// while nobody subscribes (it wakes for the next subscriber, so that is ready too).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\", \"backends\": {…}, \"feed\": \"LIVE\"}`; `feed` is `RESTING` while nobody subscribes (it wakes for the next subscriber).", body = serde_json::Value),
        (status = 503, description = "Not ready; `error.message` names what is not serving.", body = serde_json::Value),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let checks = state.backends.health(PROBE_TIMEOUT).await;
    let mut backends = BTreeMap::new();
    let mut endpoints = BTreeMap::new();
    let mut down = Vec::new();
    for health in checks {
        let name = health.backend.name();
        match health.verdict() {
            Ok(()) => {
                backends.insert(name, "SERVING".to_owned());
            }
            Err(status) => {
                down.push(format!("{name} ({status})"));
                backends.insert(name, status);
            }
        }
        let states: BTreeMap<String, &str> = health
            .endpoints
            .iter()
            .map(|endpoint| (endpoint.addr.to_string(), endpoint.state.as_str()))
            .collect();
        endpoints.insert(name, states);
    }
    let feed = if state.feed.is_resting() {
        "RESTING"
    } else if state.feed.is_live() {
        "LIVE"
    } else {
        down.push("subscription feed (not reading order-events and delivery-events yet)".into());
        "STARTING"
    };
    if down.is_empty() {
        (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "backends": backends,
                "endpoints": endpoints,
                "feed": feed,
            })),
        )
    } else {
        let code = ErrorCode::Unavailable;
        let body = json!({
            "status": "not ready",
            "backends": backends,
            "endpoints": endpoints,
            "feed": feed,
            "error": {
                "code": code.as_str(),
                "message": format!("not serving: {}", down.join(", ")),
            },
        });
        (code.http_status(), Json(body))
    }
}
