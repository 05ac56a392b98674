//! The nested fields of an order, each resolved from the service that owns it, in one batch per
//! request and backend: menu items from menu-service, deliveries from delivery-service, payments
//! from billing-service. A list of fifty orders with all three makes three backend calls.

use async_graphql::{ComplexObject, Context, ErrorExtensions, Result};

use super::Loaders;
use crate::contract::{Delivery, MenuItem, Order, OrderLine, Payment};

#[ComplexObject]
impl OrderLine {
    /// The item as the menu has it now (null if it was removed since). Every item of a
    /// request is fetched in one batch call.
    async fn menu_item(&self, ctx: &Context<'_>) -> Result<Option<MenuItem>> {
        ctx.data::<Loaders>()?
            .menu_item(&self.menu_item_id)
            .await
            .map_err(|err| err.extend())
    }
}

#[ComplexObject]
impl Order {
    /// The delivery, once the order is paid.
    async fn delivery(&self, ctx: &Context<'_>) -> Result<Option<Delivery>> {
        let loaders = ctx.data::<Loaders>()?;
        let id = self.id.to_string();
        // Its history is loaded only when the query selects it.
        let found = if ctx.look_ahead().field("history").exists() {
            loaders.delivery_with_history(id).await
        } else {
            loaders.delivery(id).await
        };
        found.map_err(|err| err.extend())
    }

    /// The payment, once billing has handled the order.
    async fn payment(&self, ctx: &Context<'_>) -> Result<Option<Payment>> {
        ctx.data::<Loaders>()?
            .payment(self.id.to_string())
            .await
            .map_err(|err| err.extend())
    }
}
