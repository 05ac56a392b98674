//! Batch loading: every menu item a request names, wherever in the query, in one call.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;

use crate::{backends::Backends, error::ApiError, model::MenuItem, request_id::RequestId};

/// Loads menu items by id through `BatchGetMenuItems`.
pub struct MenuItemLoader {
    backends: Backends,
    rid: RequestId,
}

impl MenuItemLoader {
    pub fn new(backends: Backends, rid: RequestId) -> Self {
        Self { backends, rid }
    }
}

impl Loader<String> for MenuItemLoader {
    type Value = MenuItem;
    type Error = Arc<ApiError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, MenuItem>, Self::Error> {
        tracing::debug!(ids = keys.len(), "batch-loading menu items");
        self.backends
            .menu_items_by_id(&self.rid, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}
