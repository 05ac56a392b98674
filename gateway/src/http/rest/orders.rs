//! `/orders`: place an order, read it with its history, list a customer's, cancel one.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Json, OptionalJson, Query};
use crate::{
    auth::{self, Action, Authenticated},
    backends::orders::NewOrder,
    error::ApiError,
    http::AppState,
    model::Order,
    request_id::RequestId,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order, list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
}

#[derive(Debug, Deserialize, ToSchema)]
struct OrderItemBody {
    /// A menu item's UUID.
    #[schema(required = true, value_type = String)]
    menu_item_id: Option<String>,
    /// 1 to 100.
    #[schema(required = true, value_type = i32)]
    quantity: Option<i32>,
}

/// The body users already send. Prices come from the menu, never from the client;
/// order-service says which field is wrong.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "customer_id": "c-42",
    "items": [{"menu_item_id": "03c3e466-4790-4c07-9502-14f107a62059", "quantity": 2}],
    "delivery_address": "742 Evergreen Terrace"
}))]
struct NewOrderBody {
    /// Who orders, 1 to 100 characters: the token's subject when omitted; a customer may only
    /// name themself, an admin names whom it orders for.
    customer_id: Option<String>,
    /// 1 to 100 lines, each menu item once.
    #[serde(default)]
    #[schema(required = true)]
    items: Vec<OrderItemBody>,
    /// 1 to 500 characters.
    #[schema(required = true, value_type = String)]
    delivery_address: Option<String>,
}

/// Places an order. An `Idempotency-Key` header makes a retry return the first order.
#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: the same key returns the first order and places nothing new (1 to 200 characters).")),
    request_body = NewOrderBody,
    responses(
        (status = 201, description = "Placed (status `PLACED`; payment follows through Kafka).", body = Order, headers(
            ("location" = String, description = "`/orders/{id}` of the order."),
        )),
        (status = 409, description = "The Idempotency-Key was used for a different order.", body = crate::error::ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn create_order(
    caller: Authenticated,
    State(state): State<AppState>,
    rid: RequestId,
    headers: HeaderMap,
    Json(body): Json<NewOrderBody>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = caller.authorize(Action::ActForCustomer {
        customer: body.customer_id.as_deref(),
    })?;
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
        customer_id: customer.subject().to_owned(),
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

/// One order with its history.
#[utoipa::path(
    get,
    path = "/orders/{order_id}",
    tag = "orders",
    security(("bearer" = [])),
    params(("order_id" = String, Path, description = "The order's UUID.")),
    responses((status = 200, description = "The order.", body = Order))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn get_order(
    caller: Authenticated,
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
) -> Result<axum::Json<Order>, ApiError> {
    auth::order_for(&caller, &state.backends, &rid, &order_id)
        .await
        .map(axum::Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Whose orders: the token's subject when omitted; an admin names the customer.
    customer_id: Option<String>,
    /// Orders per page, 1 to 100 (default 20).
    page_size: Option<i32>,
    /// `x-next-page-token` of the previous page.
    page_token: Option<String>,
}

/// A customer's orders, newest first; `x-next-page-token` points to the next page.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "orders",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "One page of orders.", body = [Order], headers(
        ("x-next-page-token" = String, description = "Pass as `page_token` for the next page; absent on the last."),
    )))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn list_orders(
    caller: Authenticated,
    State(state): State<AppState>,
    rid: RequestId,
    Query(params): Query<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = caller.authorize(Action::ActForCustomer {
        customer: params.customer_id.as_deref(),
    })?;
    let page = state
        .backends
        .orders(
            &rid,
            customer.subject().to_owned(),
            params.page_size,
            params.page_token,
        )
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

/// Why the order is cancelled; the whole body is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
struct CancelBody {
    /// Free text, up to 500 characters, no control characters other than line breaks and tabs.
    #[schema(example = "ordered by mistake")]
    reason: Option<String>,
}

/// Cancels an order while it is PLACED or PAID; 409 otherwise.
#[utoipa::path(
    post,
    path = "/orders/{order_id}/cancel",
    tag = "orders",
    security(("bearer" = [])),
    params(("order_id" = String, Path, description = "The order's UUID.")),
    request_body(content = Option<CancelBody>, description = "Optional."),
    responses(
        (status = 200, description = "The order, now CANCELLED.", body = Order),
        (status = 409, description = "The order is past PAID (both states named).", body = crate::error::ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %order_id))]
async fn cancel_order(
    caller: Authenticated,
    State(state): State<AppState>,
    rid: RequestId,
    Path(order_id): Path<String>,
    OptionalJson(body): OptionalJson<CancelBody>,
) -> Result<axum::Json<Order>, ApiError> {
    auth::order_for(&caller, &state.backends, &rid, &order_id).await?;
    let reason = body.and_then(|body| body.reason);
    state
        .backends
        .cancel_order(&rid, &order_id, reason)
        .await
        .map(axum::Json)
}
