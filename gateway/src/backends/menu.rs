//! Calls to menu-service.

use std::collections::HashMap;

use mesh_proto::menu::v1 as pb;

use super::{Backend, Backends, request};
use crate::{contract::MenuItem, error::ApiError, model::Page, request_id::RequestId};

/// Which items to list, and which page.
#[derive(Clone, Debug, Default)]
pub struct MenuQuery {
    pub category: Option<String>,
    pub available: Option<bool>,
    pub page_size: Option<i32>,
    pub page_token: Option<String>,
}

/// A new item, as the client sent it; menu-service validates it.
#[derive(Clone, Debug, Default)]
pub struct NewMenuItem {
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: Option<String>,
    pub category: String,
    pub available: Option<bool>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct MenuItemChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub category: Option<String>,
    pub available: Option<bool>,
}

impl Backends {
    pub async fn list_menu_items(
        &self,
        rid: &RequestId,
        query: MenuQuery,
    ) -> Result<Page<MenuItem>, ApiError> {
        let message = pb::ListMenuItemsRequest {
            category: query.category.unwrap_or_default(),
            available: query.available,
            page_size: query.page_size.unwrap_or_default(),
            page_token: query.page_token.unwrap_or_default(),
        };
        let page = self.finish(
            Backend::Menu,
            "ListMenuItems",
            self.menu
                .clone()
                .list_menu_items(request(rid, message))
                .await,
        )?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(MenuItem::try_from)
                .collect::<Result<_, _>>()?,
            cursors: page.cursors,
            next_page_token: Some(page.next_page_token).filter(|token| !token.is_empty()),
        })
    }

    pub async fn menu_item(&self, rid: &RequestId, id: &str) -> Result<MenuItem, ApiError> {
        let message = pb::GetMenuItemRequest { id: id.to_owned() };
        self.finish(
            Backend::Menu,
            "GetMenuItem",
            self.menu.clone().get_menu_item(request(rid, message)).await,
        )
        .and_then(|item| Ok(MenuItem::try_from(item)?))
    }

    /// Many items in one call, keyed by id; unknown ids are simply absent. What the GraphQL
    /// loader batches every item of a request into.
    pub async fn menu_items_by_id(
        &self,
        rid: &RequestId,
        ids: Vec<String>,
    ) -> Result<HashMap<String, MenuItem>, ApiError> {
        let message = pb::BatchGetMenuItemsRequest { ids };
        let found = self.finish(
            Backend::Menu,
            "BatchGetMenuItems",
            self.menu
                .clone()
                .batch_get_menu_items(request(rid, message))
                .await,
        )?;
        found
            .items
            .into_iter()
            .map(|item| Ok((item.id.clone(), MenuItem::try_from(item)?)))
            .collect()
    }

    pub async fn create_menu_item(
        &self,
        rid: &RequestId,
        item: NewMenuItem,
    ) -> Result<MenuItem, ApiError> {
        let message = pb::CreateMenuItemRequest {
            name: item.name,
            description: item.description,
            price_cents: Some(item.price_cents),
            currency: item.currency.unwrap_or_default(),
            category: item.category,
            available: item.available,
        };
        self.finish(
            Backend::Menu,
            "CreateMenuItem",
            self.menu
                .clone()
                .create_menu_item(request(rid, message))
                .await,
        )
        .and_then(|item| Ok(MenuItem::try_from(item)?))
    }

    pub async fn update_menu_item(
        &self,
        rid: &RequestId,
        id: &str,
        changes: MenuItemChanges,
    ) -> Result<MenuItem, ApiError> {
        let message = pb::UpdateMenuItemRequest {
            id: id.to_owned(),
            name: changes.name,
            description: changes.description,
            price_cents: changes.price_cents,
            currency: changes.currency,
            category: changes.category,
            available: changes.available,
        };
        self.finish(
            Backend::Menu,
            "UpdateMenuItem",
            self.menu
                .clone()
                .update_menu_item(request(rid, message))
                .await,
        )
        .and_then(|item| Ok(MenuItem::try_from(item)?))
    }

    pub async fn delete_menu_item(&self, rid: &RequestId, id: &str) -> Result<(), ApiError> {
        let message = pb::DeleteMenuItemRequest { id: id.to_owned() };
        self.finish(
            Backend::Menu,
            "DeleteMenuItem",
            self.menu
                .clone()
                .delete_menu_item(request(rid, message))
                .await,
        )
        .map(drop)
    }
}
