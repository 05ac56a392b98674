//! `/api/billing`: the movie platform's billing orders, queued on `billing-requests` so a
//! billing outage never loses one.

use axum::{
    Json as JsonBody,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Json, Query};
use crate::{
    auth::{self, Authenticated},
    billing_queue::{BillingBody, Receipt},
    error::{ApiError, ErrorBody, ErrorCode},
    http::AppState,
    model::BillingOrder,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit, list))
        .routes(routes!(get_one))
}

/// Queues a billing order on `billing-requests`; answers 202 only once the broker has it.
///
/// Numbers may come as numbers or numeric strings. 503 when it cannot be queued: nothing was.
#[utoipa::path(
    post,
    path = "/api/billing",
    tag = "billing",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe: the same key returns the first `request_id` and billing stores one order (1 to 200 characters). A key is bound to the first body sent with it, in billing's database.")),
    request_body = BillingBody,
    responses(
        (status = 202, description = "Queued: on the broker, not yet stored by billing-service.", body = Receipt, headers(
            ("location" = String, description = "`/api/billing/{request_id}`, where the stored order will be."),
        )),
        (status = 409, description = "The Idempotency-Key was used for a different request.", body = ErrorBody),
        (status = 503, description = "The broker, or for a request with an Idempotency-Key billing-service, cannot be reached: nothing was queued.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn submit(
    caller: Authenticated,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Result<impl IntoResponse, ApiError> {
    let request = BillingBody::from_json(body)?.parse()?;
    auth::billing_user_for(&caller, Some(request.user_id))?;
    let key = match headers.get("idempotency-key") {
        None => None,
        // Its length and characters are checked where every path's key is (the queue).
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::invalid("Idempotency-Key", "must be 1 to 200 printable characters")
        })?),
    };
    let receipt = state.billing.submit(&state.backends, request, key).await?;
    let location = format!("/api/billing/{}", receipt.request_id.as_str());
    let mut response = (StatusCode::ACCEPTED, JsonBody(receipt)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", location);
    }
    Ok(response)
}

/// The stored billing order, or 404 while it is not stored yet; a 404 for a request this
/// gateway accepted says `"status": "queued"` beside the error.
#[utoipa::path(
    get,
    path = "/api/billing/{request_id}",
    tag = "billing",
    security(("bearer" = [])),
    params(("request_id" = String, Path, description = "The `request_id` of the 202.")),
    responses((status = 200, description = "The stored order.", body = BillingOrder))
)]
#[tracing::instrument(skip_all, fields(billing_request = %id))]
async fn get_one(
    caller: Authenticated,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<JsonBody<BillingOrder>, Response> {
    let parsed = uuid::Uuid::parse_str(id.trim())
        .map_err(|_| ApiError::invalid("request_id", "must be a UUID").into_response())?;
    match auth::billing_order_for(&caller, &state.backends, &id).await {
        Ok(order) => Ok(JsonBody(order)),
        Err(err) if err.code == ErrorCode::NotFound && state.billing.was_accepted(parsed) => {
            let body = json!({
                "request_id": parsed.to_string(),
                "status": "queued",
                "error": {
                    "code": err.code.as_str(),
                    "message": "the request is queued and not stored yet",
                },
            });
            Err((StatusCode::NOT_FOUND, JsonBody(body)).into_response())
        }
        Err(err) => Err(err.into_response()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Whose orders, a positive integer: the token's subject when omitted; an admin names the
    /// user.
    user_id: Option<i64>,
    /// Orders per page, 1 to 100 (default 20).
    #[param(minimum = 0, maximum = 100)]
    page_size: Option<i32>,
    /// `x-next-page-token` of the previous page.
    page_token: Option<String>,
}

/// A user's stored billing orders, oldest first; `x-next-page-token` points to the next page.
#[utoipa::path(
    get,
    path = "/api/billing",
    tag = "billing",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "One page of orders.", body = [BillingOrder], headers(
        ("x-next-page-token" = String, description = "Pass as `page_token` for the next page; absent on the last."),
    )))
)]
#[tracing::instrument(skip_all)]
async fn list(
    caller: Authenticated,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let user_id = auth::billing_user_for(&caller, params.user_id)?;
    let page = state
        .backends
        .billing_orders(user_id, params.page_size, params.page_token)
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(token) = page
        .next_page_token
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        headers.insert("x-next-page-token", token);
    }
    Ok((headers, JsonBody(page.items)))
}
