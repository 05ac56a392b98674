//! Calls to inventory-service (the movie catalog).

use mesh_proto::inventory::v1 as pb;

use super::{Backend, Backends, request};
use crate::{contract::Movie, error::ApiError, request_id::RequestId};

impl Backends {
    /// Every movie, or those whose title contains `title` (any case).
    pub async fn movies(
        &self,
        rid: &RequestId,
        title: Option<String>,
    ) -> Result<Vec<Movie>, ApiError> {
        let message = pb::ListMoviesRequest {
            title: title.unwrap_or_default(),
        };
        let list = self.finish(
            Backend::Inventory,
            "ListMovies",
            self.inventory
                .clone()
                .list_movies(request(rid, message))
                .await,
        )?;
        list.movies
            .into_iter()
            .map(|movie| Ok(Movie::try_from(movie)?))
            .collect()
    }

    pub async fn movie(&self, rid: &RequestId, id: i64) -> Result<Movie, ApiError> {
        self.finish(
            Backend::Inventory,
            "GetMovie",
            self.inventory
                .clone()
                .get_movie(request(rid, pb::GetMovieRequest { id }))
                .await,
        )
        .and_then(|movie| Ok(Movie::try_from(movie)?))
    }

    pub async fn create_movie(
        &self,
        rid: &RequestId,
        title: String,
        description: String,
    ) -> Result<Movie, ApiError> {
        let message = pb::CreateMovieRequest { title, description };
        self.finish(
            Backend::Inventory,
            "CreateMovie",
            self.inventory
                .clone()
                .create_movie(request(rid, message))
                .await,
        )
        .and_then(|movie| Ok(Movie::try_from(movie)?))
    }

    pub async fn update_movie(
        &self,
        rid: &RequestId,
        id: i64,
        title: Option<String>,
        description: Option<String>,
    ) -> Result<Movie, ApiError> {
        let message = pb::UpdateMovieRequest {
            id,
            title,
            description,
        };
        self.finish(
            Backend::Inventory,
            "UpdateMovie",
            self.inventory
                .clone()
                .update_movie(request(rid, message))
                .await,
        )
        .and_then(|movie| Ok(Movie::try_from(movie)?))
    }

    pub async fn delete_movie(&self, rid: &RequestId, id: i64) -> Result<(), ApiError> {
        self.finish(
            Backend::Inventory,
            "DeleteMovie",
            self.inventory
                .clone()
                .delete_movie(request(rid, pb::DeleteMovieRequest { id }))
                .await,
        )
        .map(drop)
    }

    /// Deletes the whole catalog; returns how many movies there were.
    pub async fn delete_all_movies(&self, rid: &RequestId) -> Result<i64, ApiError> {
        self.finish(
            Backend::Inventory,
            "DeleteAllMovies",
            self.inventory
                .clone()
                .delete_all_movies(request(rid, pb::DeleteAllMoviesRequest {}))
                .await,
        )
        .map(|response| response.deleted)
    }
}

/// A movie id from a path or a GraphQL `ID`: a positive integer.
pub fn parse_movie_id(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid("id", "must be a positive integer"))
}
