//! The nested fields of an order, each resolved from the service that owns it: menu items in one
//! batch per request, the delivery from delivery-service, the payment from billing-service.

use async_graphql::{ComplexObject, Context, ErrorExtensions, Result, dataloader::DataLoader};

use super::{MenuItemLoader, env};
use crate::{
    error::{ApiError, ErrorCode},
    model::{Delivery, MenuItem, Order, OrderLine, Payment},
};

#[ComplexObject]
impl OrderLine {
    /// The item as the menu has it now (null if it was removed since). Every item of a
    /// request is fetched in one batch call.
    async fn menu_item(&self, ctx: &Context<'_>) -> Result<Option<MenuItem>> {
        let loader = ctx.data::<DataLoader<MenuItemLoader>>()?;
        loader
            .load_one(self.menu_item_id.to_string())
            .await
            .map_err(|err| err.extend())
    }
}

/// `NOT_FOUND` from a backend means "not yet" for these fields: null, not an error.
fn absent_if_missing<T>(result: Result<T, ApiError>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.code == ErrorCode::NotFound => Ok(None),
        Err(err) => Err(err.extend()),
    }
}

#[ComplexObject]
impl Order {
    /// The delivery, once the order is paid.
    async fn delivery(&self, ctx: &Context<'_>) -> Result<Option<Delivery>> {
        let (backends, rid) = env(ctx);
        absent_if_missing(backends.delivery(&rid, &self.id).await)
    }

    /// The payment, once billing has handled the order.
    async fn payment(&self, ctx: &Context<'_>) -> Result<Option<Payment>> {
        let (backends, rid) = env(ctx);
        absent_if_missing(backends.payment(&rid, &self.id).await)
    }
}
