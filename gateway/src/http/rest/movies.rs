//! `/api/movies`: the movie catalog, with the paths, bodies and status codes users of the
//! original movie API have in their collections.

use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Json, Query};
use crate::{
    auth::CatalogWriter, backends::inventory::parse_movie_id, error::ApiError, http::AppState,
    model::Movie, request_id::RequestId,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_movies, create_movie, delete_all_movies))
        .routes(routes!(get_movie, update_movie, delete_movie))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only movies whose title contains this (any case).
    title: Option<String>,
}

/// The catalog, or the movies whose title contains `title` (any case).
#[utoipa::path(
    get,
    path = "/api/movies",
    tag = "movies",
    params(ListParams),
    responses((status = 200, description = "The movies, by id.", body = [Movie]))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn list_movies(
    State(state): State<AppState>,
    rid: RequestId,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<Vec<Movie>>, ApiError> {
    state
        .backends
        .movies(&rid, params.title)
        .await
        .map(axum::Json)
}

/// A new movie: both fields are required; the catalog says which one is missing.
#[derive(Debug, Deserialize, ToSchema)]
struct NewMovieBody {
    /// 1 to 300 characters.
    #[schema(required = true, value_type = String, example = "Inception")]
    title: Option<String>,
    /// 1 to 5000 characters.
    #[schema(required = true, value_type = String, example = "A mind-bending thriller")]
    description: Option<String>,
}

/// Changes to a movie: at least one of the two fields.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
struct MovieChangesBody {
    /// 1 to 300 characters.
    #[schema(example = "Inception")]
    title: Option<String>,
    /// 1 to 5000 characters.
    description: Option<String>,
}

/// Adds a movie; both `title` and `description` are required.
#[utoipa::path(
    post,
    path = "/api/movies",
    tag = "movies",
    security(("bearer" = [])),
    request_body = NewMovieBody,
    responses((status = 201, description = "Created.", body = Movie, headers(
        ("location" = String, description = "`/api/movies/{id}` of the new movie."),
    )))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn create_movie(
    _: CatalogWriter,
    State(state): State<AppState>,
    rid: RequestId,
    Json(body): Json<NewMovieBody>,
) -> Result<impl IntoResponse, ApiError> {
    let movie = state
        .backends
        .create_movie(
            &rid,
            body.title.unwrap_or_default(),
            body.description.unwrap_or_default(),
        )
        .await?;
    let location = format!("/api/movies/{}", movie.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(movie),
    ))
}

/// Deletes the whole catalog.
#[utoipa::path(
    delete,
    path = "/api/movies",
    tag = "movies",
    security(("bearer" = [])),
    responses((status = 204, description = "The catalog is empty."))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn delete_all_movies(
    _: CatalogWriter,
    State(state): State<AppState>,
    rid: RequestId,
) -> Result<StatusCode, ApiError> {
    state.backends.delete_all_movies(&rid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One movie.
#[utoipa::path(
    get,
    path = "/api/movies/{id}",
    tag = "movies",
    params(("id" = i64, Path, description = "The movie's id.")),
    responses((status = 200, description = "The movie.", body = Movie))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn get_movie(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<axum::Json<Movie>, ApiError> {
    let id = parse_movie_id(&id)?;
    state.backends.movie(&rid, id).await.map(axum::Json)
}

/// Changes what is given; at least one of the two.
#[utoipa::path(
    put,
    path = "/api/movies/{id}",
    tag = "movies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The movie's id.")),
    request_body = MovieChangesBody,
    responses((status = 200, description = "The movie as changed.", body = Movie))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn update_movie(
    _: CatalogWriter,
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
    Json(body): Json<MovieChangesBody>,
) -> Result<axum::Json<Movie>, ApiError> {
    let id = parse_movie_id(&id)?;
    state
        .backends
        .update_movie(&rid, id, body.title, body.description)
        .await
        .map(axum::Json)
}

/// Deletes one movie.
#[utoipa::path(
    delete,
    path = "/api/movies/{id}",
    tag = "movies",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The movie's id.")),
    responses((status = 204, description = "Deleted."))
)]
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn delete_movie(
    _: CatalogWriter,
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_movie_id(&id)?;
    state.backends.delete_movie(&rid, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
