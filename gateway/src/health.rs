//! `/healthz`: the gateway process is alive. `/readyz`: every backend answers gRPC health
//! SERVING and the subscription feed is live; otherwise 503 naming what is not.

use std::{collections::BTreeMap, time::Duration};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use crate::{error::ErrorCode, startup::AppState};

/// A readiness probe must answer quickly even when a backend hangs.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let checks = state.backends.health(PROBE_TIMEOUT).await;
    let mut backends = BTreeMap::new();
    let mut down = Vec::new();
    for (backend, verdict) in checks {
        match verdict {
            Ok(()) => {
                backends.insert(backend.name(), "SERVING".to_owned());
            }
            Err(status) => {
                down.push(format!("{} ({status})", backend.name()));
                backends.insert(backend.name(), status);
            }
        }
    }
    let feed = if state.feed.is_live() {
        "LIVE"
    } else {
        down.push("subscription feed (not reading order-events and delivery-events yet)".into());
        "STARTING"
    };
    if down.is_empty() {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "backends": backends, "feed": feed })),
        )
    } else {
        let code = ErrorCode::Unavailable;
        let body = json!({
            "status": "not ready",
            "backends": backends,
            "feed": feed,
            "error": {
                "code": code.as_str(),
                "message": format!("not serving: {}", down.join(", ")),
            },
        });
        (code.http_status(), Json(body))
    }
}
