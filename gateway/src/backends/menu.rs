//! Calls to menu-service that the contract's generated fields do not make: the batch read the
//! GraphQL loader gathers a request's menu items into, with the items it fetched kept a short
//! while for the requests after it.

use std::{collections::HashMap, time::Duration};

use mesh_proto::menu::v1 as pb;
use moka::sync::Cache;

use super::{Backend, Backends};
use crate::{contract::MenuItem, error::ApiError};

/// Menu items as the loader last fetched them, each for a fixed time after its fetch. Menu items
/// are public (the same for every caller) and change rarely, while every order names some: a
/// page of orders, or the same order read again, would otherwise ask menu-service for the same
/// few items each time. An item changed or removed shows so within the time to live.
pub struct MenuItemCache(Option<Cache<String, MenuItem>>);

/// Items kept at most: a menu is dozens of items; this bounds the memory whatever ids are asked.
const MAX_ITEMS: u64 = 10_000;

impl MenuItemCache {
    /// Items kept for `ttl` after their fetch; zero keeps none.
    pub fn new(ttl: Duration) -> Self {
        Self((!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(MAX_ITEMS)
                .time_to_live(ttl)
                .build()
        }))
    }
}

impl Backends {
    /// The menu item, if it was fetched within the time to live.
    pub fn recent_menu_item(&self, id: &str) -> Option<MenuItem> {
        self.menu_items.0.as_ref()?.get(id)
    }

    /// Many items, keyed by id; unknown ids are simply absent. What the GraphQL loader batches
    /// every item of a request into: those fetched within the time to live come from memory,
    /// the rest in one call.
    pub async fn menu_items_by_id(
        &self,
        ids: Vec<String>,
    ) -> Result<HashMap<String, MenuItem>, ApiError> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.recent_menu_item(&id) {
                Some(item) => {
                    found.insert(id, item);
                }
                None => missing.push(id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let message = pb::BatchGetMenuItemsRequest { ids: missing };
        let fetched = self.finish(
            Backend::Menu,
            "BatchGetMenuItems",
            self.menu.clone().batch_get_menu_items(message).await,
        )?;
        for item in fetched.items {
            let id = item.id.clone();
            let item = MenuItem::try_from(item)?;
            if let Some(cache) = &self.menu_items.0 {
                cache.insert(id.clone(), item.clone());
            }
            found.insert(id, item);
        }
        Ok(found)
    }
}
