//! `/delivery/status/:orderId`: where an order's delivery is, and moving it on.

use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use serde::Deserialize;

use super::{Json, required};
use crate::{
    error::ApiError,
    model::{Delivery, DeliveryStatus},
    request_id::RequestId,
    startup::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/delivery/status/{order_id}",
        get(get_status).put(update_status),
    )
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn get_status(
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
) -> Result<axum::Json<Delivery>, ApiError> {
    state
        .backends
        .delivery(&rid, &order_id)
        .await
        .map(axum::Json)
}

/// `{"status": "PICKED_UP"}`, optionally with `courier` and `note`.
#[derive(Debug, Deserialize)]
struct StatusBody {
    status: Option<String>,
    courier: Option<String>,
    note: Option<String>,
}

/// 200 with the delivery; 409 naming both states when the move skips a step.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn update_status(
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Result<axum::Json<Delivery>, ApiError> {
    let raw = required("status", body.status)?;
    let status = DeliveryStatus::parse(&raw).ok_or_else(|| {
        let names: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::invalid("status", &format!("must be one of {}", names.join(", ")))
    })?;
    state
        .backends
        .update_delivery(&rid, &order_id, status, body.courier, body.note)
        .await
        .map(axum::Json)
}
