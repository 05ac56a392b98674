//! `/menu/items`: list, read, create, change and delete menu items.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde::Deserialize;

use super::{Json, Query, required};
use crate::{
    backends::menu::{MenuItemChanges, MenuQuery, NewMenuItem},
    error::ApiError,
    model::MenuItem,
    request_id::RequestId,
    startup::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/menu/items", get(list_items).post(create_item))
        .route(
            "/menu/items/{id}",
            get(get_item).patch(update_item).delete(delete_item),
        )
}

#[derive(Debug, Deserialize)]
struct ListParams {
    category: Option<String>,
    available: Option<bool>,
    page_size: Option<i32>,
    page_token: Option<String>,
}

/// The page as a JSON array, as the original API answered; `x-next-page-token` and a `Link`
/// header point to the next page when there is one.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn list_items(
    State(state): State<AppState>,
    rid: RequestId,
    Query(params): Query<ListParams>,
) -> Result<impl IntoResponse, ApiError> {
    let page = state
        .backends
        .list_menu_items(
            &rid,
            MenuQuery {
                category: params.category,
                available: params.available,
                page_size: params.page_size,
                page_token: params.page_token,
            },
        )
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(token) = &page.next_page_token
        && let Ok(value) = HeaderValue::from_str(token)
    {
        let mut next = format!("/menu/items?page_token={token}");
        if let Some(size) = params.page_size {
            next.push_str(&format!("&page_size={size}"));
        }
        if let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
            headers.insert(header::LINK, link);
        }
        headers.insert("x-next-page-token", value);
    }
    Ok((headers, axum::Json(page.items)))
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn get_item(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<axum::Json<MenuItem>, ApiError> {
    state.backends.menu_item(&rid, &id).await.map(axum::Json)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItemBody {
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    currency: Option<String>,
    category: Option<String>,
    available: Option<bool>,
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn create_item(
    State(state): State<AppState>,
    rid: RequestId,
    Json(body): Json<NewItemBody>,
) -> Result<impl IntoResponse, ApiError> {
    let item = NewMenuItem {
        name: required("name", body.name)?,
        description: body.description.unwrap_or_default(),
        price_cents: required("price_cents", body.price_cents)?,
        currency: body.currency,
        category: required("category", body.category)?,
        available: body.available,
    };
    let created = state.backends.create_menu_item(&rid, item).await?;
    let location = format!("/menu/items/{}", created.id.as_str());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(created),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesBody {
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    currency: Option<String>,
    category: Option<String>,
    available: Option<bool>,
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn update_item(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
    Json(body): Json<ChangesBody>,
) -> Result<axum::Json<MenuItem>, ApiError> {
    let changes = MenuItemChanges {
        name: body.name,
        description: body.description,
        price_cents: body.price_cents,
        currency: body.currency,
        category: body.category,
        available: body.available,
    };
    state
        .backends
        .update_menu_item(&rid, &id, changes)
        .await
        .map(axum::Json)
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn delete_item(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.backends.delete_menu_item(&rid, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
