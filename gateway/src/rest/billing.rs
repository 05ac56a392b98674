//! `/api/billing`: the movie platform's billing orders, queued on `billing-requests` so a
//! billing outage never loses one.

use axum::{
    Json as JsonBody, Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;

use super::{Json, Query, required};
use crate::{
    billing_queue::parse_body,
    error::{ApiError, ErrorCode},
    model::BillingOrder,
    request_id::RequestId,
    startup::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/billing", post(submit).get(list))
        .route("/api/billing/{request_id}", get(get_one))
}

/// `{"user_id": "3", "number_of_items": "5", "total_amount": "180"}` (numbers or numeric
/// strings) → 202 `{"request_id", "status": "queued"}` once the broker has it; 503 when it
/// cannot be queued.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn submit(
    State(state): State<AppState>,
    rid: RequestId,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Result<impl IntoResponse, ApiError> {
    let request = parse_body(&body)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|key| !key.trim().is_empty() && key.len() <= 200)
                .ok_or_else(|| {
                    ApiError::invalid("Idempotency-Key", "must be 1 to 200 printable characters")
                })?,
        ),
    };
    let receipt = state.billing.submit(&rid, request, key).await?;
    let location = format!("/api/billing/{}", receipt.request_id.as_str());
    let mut response = (StatusCode::ACCEPTED, JsonBody(receipt)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", location);
    }
    Ok(response)
}

/// The stored order, or 404 while it is not stored yet; a 404 for a request this gateway
/// accepted says `"status": "queued"`.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), billing_request = %id))]
async fn get_one(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<JsonBody<BillingOrder>, Response> {
    let parsed = uuid::Uuid::parse_str(id.trim())
        .map_err(|_| ApiError::invalid("request_id", "must be a UUID").into_response())?;
    match state.backends.billing_order(&rid, &id).await {
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

#[derive(Debug, Deserialize)]
struct ListParams {
    user_id: Option<i64>,
    page_size: Option<i32>,
    page_token: Option<String>,
}

/// A user's stored billing orders; `x-next-page-token` points to the next page.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn list(
    State(state): State<AppState>,
    rid: RequestId,
    Query(params): Query<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let user_id = required("user_id", params.user_id)?;
    let page = state
        .backends
        .billing_orders(&rid, user_id, params.page_size, params.page_token)
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
