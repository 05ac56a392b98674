//! `/orders`: place an order, read it with its history, list a customer's, cancel one.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use serde::Deserialize;

use super::{Json, Query, required};
use crate::{
    backends::orders::NewOrder, error::ApiError, model::Order, request_id::RequestId,
    startup::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", post(create_order).get(list_orders))
        .route("/orders/{order_id}", get(get_order))
        .route("/orders/{order_id}/cancel", post(cancel_order))
}

#[derive(Debug, Deserialize)]
struct OrderItemBody {
    menu_item_id: Option<String>,
    quantity: Option<i32>,
}

/// The body users already send: `{"customer_id", "items": [{"menu_item_id", "quantity"}],
/// "delivery_address"}`. order-service says which field is wrong.
#[derive(Debug, Deserialize)]
struct NewOrderBody {
    customer_id: Option<String>,
    #[serde(default)]
    items: Vec<OrderItemBody>,
    delivery_address: Option<String>,
}

/// 201 with the order. An `Idempotency-Key` header makes a retry return the first order.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn create_order(
    State(state): State<AppState>,
    rid: RequestId,
    headers: HeaderMap,
    Json(body): Json<NewOrderBody>,
) -> Result<impl IntoResponse, ApiError> {
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?
                .to_owned(),
        ),
    };
    let order = NewOrder {
        customer_id: body.customer_id.unwrap_or_default(),
        items: body
            .items
            .into_iter()
            .map(|item| {
                (
                    item.menu_item_id.unwrap_or_default(),
                    item.quantity.unwrap_or_default(),
                )
            })
            .collect(),
        delivery_address: body.delivery_address.unwrap_or_default(),
        idempotency_key,
    };
    let created = state.backends.create_order(&rid, order).await?;
    let location = format!("/orders/{}", created.id.as_str());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(created),
    ))
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn get_order(
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
) -> Result<axum::Json<Order>, ApiError> {
    state.backends.order(&rid, &order_id).await.map(axum::Json)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    customer_id: Option<String>,
    page_size: Option<i32>,
    page_token: Option<String>,
}

/// A customer's orders, newest first; `x-next-page-token` points to the next page.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn list_orders(
    State(state): State<AppState>,
    rid: RequestId,
    Query(params): Query<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let customer_id = required("customer_id", params.customer_id)?;
    let page = state
        .backends
        .orders(&rid, customer_id, params.page_size, params.page_token)
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(token) = page
        .next_page_token
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        headers.insert("x-next-page-token", token);
    }
    Ok((headers, axum::Json(page.items)))
}

#[derive(Debug, Default, Deserialize)]
struct CancelBody {
    reason: Option<String>,
}

/// Allowed while the order is PLACED or PAID; 409 otherwise. The body
/// (`{"reason": "..."}`) is optional.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn cancel_order(
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<axum::Json<Order>, ApiError> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<CancelBody>(&body)
            .map_err(|err| ApiError::invalid("body", &err.to_string()))?
            .reason
    };
    state
        .backends
        .cancel_order(&rid, &order_id, reason)
        .await
        .map(axum::Json)
}
