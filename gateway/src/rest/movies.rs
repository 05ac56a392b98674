//! `/api/movies`: the movie catalog, with the paths, bodies and status codes users of the
//! original movie API have in their collections.

use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde::Deserialize;

use super::{Json, Query};
use crate::{
    backends::inventory::parse_movie_id, error::ApiError, model::Movie, request_id::RequestId,
    startup::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/movies",
            get(list_movies)
                .post(create_movie)
                .delete(delete_all_movies),
        )
        .route(
            "/api/movies/{id}",
            get(get_movie).put(update_movie).delete(delete_movie),
        )
}

#[derive(Debug, Deserialize)]
struct ListParams {
    /// Case-insensitive substring of the title.
    title: Option<String>,
}

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

/// Both fields are required; the catalog says which one is missing.
#[derive(Debug, Deserialize)]
struct MovieBody {
    title: Option<String>,
    description: Option<String>,
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn create_movie(
    State(state): State<AppState>,
    rid: RequestId,
    Json(body): Json<MovieBody>,
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

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
async fn delete_all_movies(
    State(state): State<AppState>,
    rid: RequestId,
) -> Result<StatusCode, ApiError> {
    state.backends.delete_all_movies(&rid).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn update_movie(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
    Json(body): Json<MovieBody>,
) -> Result<axum::Json<Movie>, ApiError> {
    let id = parse_movie_id(&id)?;
    state
        .backends
        .update_movie(&rid, id, body.title, body.description)
        .await
        .map(axum::Json)
}

#[tracing::instrument(skip_all, fields(request_id = %rid.as_str(), %id))]
async fn delete_movie(
    State(state): State<AppState>,
    rid: RequestId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_movie_id(&id)?;
    state.backends.delete_movie(&rid, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
