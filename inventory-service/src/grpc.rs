//! `mesh.inventory.v1.InventoryService`: proto in, domain through, proto out.

use mesh_kit::db::PgPool;
use mesh_proto::inventory::v1::{
    self as pb, CreateMovieRequest, DeleteAllMoviesRequest, DeleteAllMoviesResponse,
    DeleteMovieRequest, DeleteMovieResponse, GetMovieRequest, ListMoviesRequest,
    ListMoviesResponse, UpdateMovieRequest, inventory_service_server::InventoryService,
};
use tonic::{Request, Response, Status};

use crate::{
    db,
    domain::{self, Description, Movie, MovieId, MoviePatch, NewMovie, Title},
    error::Error,
};

/// The gRPC face of the catalog.
#[derive(Clone)]
pub struct InventoryApi {
    pool: PgPool,
}

impl InventoryApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn to_proto(movie: Movie) -> pb::Movie {
    pb::Movie {
        id: movie.id,
        title: movie.title,
        description: movie.description,
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    #[tracing::instrument(skip_all, fields(title = %request.get_ref().title))]
    async fn list_movies(
        &self,
        request: Request<ListMoviesRequest>,
    ) -> Result<Response<ListMoviesResponse>, Status> {
        reply(self.list(&request.into_inner().title).await)
    }

    #[tracing::instrument(skip_all, fields(id = request.get_ref().id))]
    async fn get_movie(
        &self,
        request: Request<GetMovieRequest>,
    ) -> Result<Response<pb::Movie>, Status> {
        reply(self.get(request.into_inner().id).await)
    }

    #[tracing::instrument(skip_all)]
    async fn create_movie(
        &self,
        request: Request<CreateMovieRequest>,
    ) -> Result<Response<pb::Movie>, Status> {
        reply(self.create(request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(id = request.get_ref().id))]
    async fn update_movie(
        &self,
        request: Request<UpdateMovieRequest>,
    ) -> Result<Response<pb::Movie>, Status> {
        reply(self.update(request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(id = request.get_ref().id))]
    async fn delete_movie(
        &self,
        request: Request<DeleteMovieRequest>,
    ) -> Result<Response<DeleteMovieResponse>, Status> {
        reply(self.delete(request.into_inner().id).await)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_all_movies(
        &self,
        _request: Request<DeleteAllMoviesRequest>,
    ) -> Result<Response<DeleteAllMoviesResponse>, Status> {
        reply(self.delete_all().await)
    }
}

// === impl InventoryApi ===

impl InventoryApi {
    async fn list(&self, title: &str) -> Result<ListMoviesResponse, Error> {
        let pattern = domain::title_pattern(title)?;
        let mut conn = self.pool.get().await?;
        let movies = db::list(&mut conn, pattern.as_deref()).await?;
        Ok(ListMoviesResponse {
            movies: movies.into_iter().map(to_proto).collect(),
        })
    }

    async fn get(&self, id: i64) -> Result<pb::Movie, Error> {
        let id = MovieId::new(id);
        let mut conn = self.pool.get().await?;
        db::get(&mut conn, id)
            .await?
            .map(to_proto)
            .ok_or(Error::NotFound(id))
    }

    async fn create(&self, request: CreateMovieRequest) -> Result<pb::Movie, Error> {
        let movie = NewMovie {
            title: Title::parse(&request.title)?,
            description: Description::parse(&request.description)?,
        };
        let mut conn = self.pool.get().await?;
        let created = db::insert(&mut conn, movie).await?;
        tracing::info!(id = created.id, "movie created");
        Ok(to_proto(created))
    }

    async fn update(&self, request: UpdateMovieRequest) -> Result<pb::Movie, Error> {
        let id = MovieId::new(request.id);
        let patch = MoviePatch::parse(request.title.as_deref(), request.description.as_deref())?;
        let mut conn = self.pool.get().await?;
        db::update(&mut conn, id, patch)
            .await?
            .map(to_proto)
            .ok_or(Error::NotFound(id))
    }

    async fn delete(&self, id: i64) -> Result<DeleteMovieResponse, Error> {
        let id = MovieId::new(id);
        let mut conn = self.pool.get().await?;
        if db::delete(&mut conn, id).await? {
            tracing::info!(%id, "movie deleted");
            Ok(DeleteMovieResponse {})
        } else {
            Err(Error::NotFound(id))
        }
    }

    async fn delete_all(&self) -> Result<DeleteAllMoviesResponse, Error> {
        let mut conn = self.pool.get().await?;
        let deleted = db::delete_all(&mut conn).await?;
        tracing::info!(deleted, "all movies deleted");
        Ok(DeleteAllMoviesResponse {
            deleted: i64::try_from(deleted).unwrap_or(i64::MAX),
        })
    }
}
