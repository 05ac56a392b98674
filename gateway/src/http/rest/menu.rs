//! `/menu/items`: list, read, create, change and delete menu items.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Json, Query, required};
use crate::{
    auth::CatalogWriter,
    backends::menu::{MenuItemChanges, MenuQuery, NewMenuItem},
    error::ApiError,
    http::AppState,
    model::MenuItem,
    request_id::RequestId,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_items, create_item))
        .routes(routes!(get_item, update_item, delete_item))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this category (exact match).
    category: Option<String>,
    /// Only available (true) or unavailable (false) items.
    available: Option<bool>,
    /// Items per page, 1 to 100 (default 50).
    page_size: Option<i32>,
    /// `x-next-page-token` of the previous page.
    page_token: Option<String>,
}

/// Menu items ordered by name, a page at a time.
///
/// The page as a JSON array, as the original API answered; `x-next-page-token` and a `Link`
/// header point to the next page when there is one.
#[utoipa::path(
    get,
    path = "/menu/items",
    tag = "menu",
    params(ListParams),
    responses(
        (status = 200, description = "One page of items.", body = [MenuItem], headers(
            ("x-next-page-token" = String, description = "Pass as `page_token` for the next page; absent on the last."),
            ("link" = String, description = "`</menu/items?page_token=…>; rel=\"next\"` when there is a next page."),
        )),
    )
)]
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

/// One menu item.
#[utoipa::path(
    get,
    path = "/menu/items/{id}",
    tag = "menu",
    params(("id" = String, Path, description = "The item's UUID.")),
    responses((status = 200, description = "The item.", body = MenuItem))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn get_item(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<axum::Json<MenuItem>, ApiError> {
    state.backends.menu_item(&rid, &id).await.map(axum::Json)
}

/// A new menu item. Fields are checked here, so the error names the one that is missing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewItemBody {
    /// 1 to 120 characters.
    #[schema(required = true, value_type = String, example = "Margherita")]
    name: Option<String>,
    /// At most 1000 characters.
    description: Option<String>,
    /// Price in minor units of `currency`.
    #[schema(required = true, value_type = i64, example = 1150)]
    price_cents: Option<i64>,
    /// ISO 4217 code; USD when omitted.
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    currency: Option<String>,
    /// 1 to 60 characters.
    #[schema(required = true, value_type = String, example = "Pizza")]
    category: Option<String>,
    /// True when omitted.
    available: Option<bool>,
}

/// Adds an item to the menu.
#[utoipa::path(
    post,
    path = "/menu/items",
    tag = "menu",
    security(("bearer" = [])),
    request_body = NewItemBody,
    responses((status = 201, description = "Created.", body = MenuItem, headers(
        ("location" = String, description = "`/menu/items/{id}` of the new item."),
    )))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn create_item(
    _: CatalogWriter,
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

/// Changes to an item; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangesBody {
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    category: Option<String>,
    available: Option<bool>,
}

/// Changes an item.
#[utoipa::path(
    patch,
    path = "/menu/items/{id}",
    tag = "menu",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The item's UUID.")),
    request_body = ChangesBody,
    responses((status = 200, description = "The item as changed.", body = MenuItem))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn update_item(
    _: CatalogWriter,
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

/// Removes an item from the menu. Orders keep the name and price they were placed with.
#[utoipa::path(
    delete,
    path = "/menu/items/{id}",
    tag = "menu",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The item's UUID.")),
    responses((status = 204, description = "Deleted."))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn delete_item(
    _: CatalogWriter,
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.backends.delete_menu_item(&rid, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
