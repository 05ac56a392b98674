//! Calls to menu-service that the contract's generated fields do not make: the batch read the
//! GraphQL loader gathers a request's menu items into.

use std::collections::HashMap;

use mesh_proto::menu::v1 as pb;

use super::{Backend, Backends};
use crate::{contract::MenuItem, error::ApiError};

impl Backends {
    /// Many items in one call, keyed by id; unknown ids are simply absent. What the GraphQL
    /// loader batches every item of a request into.
    pub async fn menu_items_by_id(
        &self,
        ids: Vec<String>,
    ) -> Result<HashMap<String, MenuItem>, ApiError> {
        let message = pb::BatchGetMenuItemsRequest { ids };
        let found = self.finish(
            Backend::Menu,
            "BatchGetMenuItems",
            self.menu.clone().batch_get_menu_items(message).await,
        )?;
        found
            .items
            .into_iter()
            .map(|item| Ok((item.id.clone(), MenuItem::try_from(item)?)))
            .collect()
    }
}
