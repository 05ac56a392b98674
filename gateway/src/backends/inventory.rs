//! Calls to inventory-service (the movie catalog) that the contract's generated fields do not
//! make: the federation entity resolver's read of one movie.

use mesh_proto::inventory::v1 as pb;

use super::{Backend, Backends};
use crate::{contract::Movie, error::ApiError};

impl Backends {
    pub async fn movie(&self, id: i64) -> Result<Movie, ApiError> {
        self.finish(
            Backend::Inventory,
            "GetMovie",
            self.inventory
                .clone()
                .get_movie(pb::GetMovieRequest { id })
                .await,
        )
        .and_then(|movie| Ok(Movie::try_from(movie)?))
    }
}
