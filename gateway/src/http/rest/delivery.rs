//! `/delivery/status/:orderId`: where an order's delivery is, and moving it on.

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Json, required};
use crate::{
    auth::{self, Action, Authenticated, Grant},
    error::ApiError,
    http::AppState,
    model::{Delivery, DeliveryStatus},
    request_id::RequestId,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_status, update_status))
}

/// Where an order's delivery is, with its history. 404 until the order is paid.
#[utoipa::path(
    get,
    path = "/delivery/status/{order_id}",
    tag = "delivery",
    security(("bearer" = [])),
    params(("order_id" = String, Path, description = "The order's UUID.")),
    responses((status = 200, description = "The delivery.", body = Delivery))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn get_status(
    caller: Authenticated,
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
) -> Result<axum::Json<Delivery>, ApiError> {
    auth::delivery_for(&caller, &state.backends, &rid, &order_id)
        .await
        .map(axum::Json)
}

/// `{"status": "PICKED_UP"}`, optionally with `courier` and `note`.
#[derive(Debug, Deserialize, ToSchema)]
struct StatusBody {
    /// The next status (any case, `-` or `_`).
    #[schema(required = true, value_type = DeliveryStatus)]
    status: Option<String>,
    /// Who moves it, at most 200 characters: the token's subject when omitted; a courier may
    /// only name themself. An admin naming a courier other than the one holding the delivery
    /// hands it to them.
    courier: Option<String>,
    /// At most 1000 characters.
    note: Option<String>,
}

/// Moves a delivery one step on: `PENDING → ASSIGNED → PICKED_UP → IN_TRANSIT → DELIVERED`,
/// or `FAILED` from any step before the last. A delivery is held by the courier who took it:
/// another courier's move is 409; an admin may move it, and reassign it by naming a courier.
#[utoipa::path(
    put,
    path = "/delivery/status/{order_id}",
    tag = "delivery",
    security(("bearer" = [])),
    params(("order_id" = String, Path, description = "The order's UUID.")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The delivery, moved.", body = Delivery),
        (status = 409, description = "The move skips a step (both states named), or another courier holds the delivery (named; an admin overrides).", body = crate::error::ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn update_status(
    caller: Authenticated,
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Result<axum::Json<Delivery>, ApiError> {
    let courier = match caller.authorize(Action::MoveDelivery {
        courier: body.courier.as_deref(),
    })? {
        Grant::As(courier) => Some(courier),
        Grant::Allowed => None,
    };
    let reassign = caller.reassigns_deliveries();
    let raw = required("status", body.status)?;
    let status = DeliveryStatus::parse(&raw).ok_or_else(|| {
        let names: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::invalid("status", &format!("must be one of {}", names.join(", ")))
    })?;
    state
        .backends
        .update_delivery(&rid, &order_id, status, courier, body.note, reassign)
        .await
        .map(axum::Json)
}
