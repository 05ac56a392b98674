//! Reads.

use async_graphql::{Context, ErrorExtensions, ID, Object, Result};

use super::env;
use crate::{
    backends::{inventory::parse_movie_id, menu::MenuQuery},
    model::{
        BillingOrder, BillingOrderPage, Delivery, MenuItem, MenuItemPage, Movie, Order, OrderPage,
        Payment,
    },
};

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// Menu items ordered by name, a page at a time.
    async fn menu_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this category.")] category: Option<String>,
        #[graphql(desc = "Only available (true) or unavailable (false) items.")] available: Option<
            bool,
        >,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "`nextPageToken` of the previous page.")] after: Option<String>,
    ) -> Result<MenuItemPage> {
        let (backends, rid) = env(ctx);
        let query = MenuQuery {
            category,
            available,
            page_size: first,
            page_token: after,
        };
        backends
            .list_menu_items(&rid, query)
            .await
            .map_err(|e| e.extend())
    }

    /// One menu item; a NOT_FOUND error when there is none.
    async fn menu_item(&self, ctx: &Context<'_>, id: ID) -> Result<Option<MenuItem>> {
        let (backends, rid) = env(ctx);
        backends
            .menu_item(&rid, &id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// Every movie, or those whose title contains `title` (any case).
    async fn movies(&self, ctx: &Context<'_>, title: Option<String>) -> Result<Vec<Movie>> {
        let (backends, rid) = env(ctx);
        backends.movies(&rid, title).await.map_err(|e| e.extend())
    }

    /// One movie; a NOT_FOUND error when there is none.
    async fn movie(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Movie>> {
        let (backends, rid) = env(ctx);
        let id = parse_movie_id(&id).map_err(|e| e.extend())?;
        backends
            .movie(&rid, id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// One order with its history; a NOT_FOUND error when there is none.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        let (backends, rid) = env(ctx);
        backends
            .order(&rid, &id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// A customer's orders, newest first, a page at a time.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        customer_id: String,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "`nextPageToken` of the previous page.")] after: Option<String>,
    ) -> Result<OrderPage> {
        let (backends, rid) = env(ctx);
        backends
            .orders(&rid, customer_id, first, after)
            .await
            .map_err(|e| e.extend())
    }

    /// An order's delivery; a NOT_FOUND error until the order is paid.
    async fn delivery(&self, ctx: &Context<'_>, order_id: ID) -> Result<Option<Delivery>> {
        let (backends, rid) = env(ctx);
        backends
            .delivery(&rid, &order_id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// An order's payment; a NOT_FOUND error until billing has handled the order.
    async fn payment(&self, ctx: &Context<'_>, order_id: ID) -> Result<Option<Payment>> {
        let (backends, rid) = env(ctx);
        backends
            .payment(&rid, &order_id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// A billing order stored by billing-service; a NOT_FOUND error while it is still queued.
    async fn billing_order(
        &self,
        ctx: &Context<'_>,
        request_id: ID,
    ) -> Result<Option<BillingOrder>> {
        let (backends, rid) = env(ctx);
        backends
            .billing_order(&rid, &request_id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// A user's stored billing orders.
    async fn billing_orders(
        &self,
        ctx: &Context<'_>,
        user_id: i64,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<BillingOrderPage> {
        let (backends, rid) = env(ctx);
        backends
            .billing_orders(&rid, user_id, first, after)
            .await
            .map_err(|e| e.extend())
    }
}
