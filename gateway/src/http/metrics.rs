//! `GET /metrics`.

use axum::{extract::State, http::header, response::IntoResponse};

use super::AppState;

/// This gateway's counters, then what the process-wide exporter holds (request and backend
/// latency histograms, the balancers' endpoint health), when the binary installed one.
pub async fn handler(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.backends.metrics().render();
    text.push_str(&mesh_kit::metrics::render());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
