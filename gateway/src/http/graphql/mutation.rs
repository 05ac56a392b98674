//! The writes that decide on data (whose order, which courier) or queue on Kafka; the
//! catalog's are generated ([`super::derived`]).

use async_graphql::{Context, ErrorExtensions, ID, InputObject, Object, Result};

use std::sync::Arc;

use super::{backends, caller};
use crate::{
    auth::{self, Action, Grant},
    billing_queue::{BillingQueue, Receipt, amount_cents, positive_integer},
    contract::{Delivery, DeliveryStatus, Order},
    model::BillingRequest,
};

#[derive(Default)]
pub struct MutationRoot;

/// A billing order for the movie platform.
#[derive(Debug, InputObject)]
pub struct BillingInput {
    pub user_id: i64,
    pub number_of_items: i64,
    /// A decimal amount with at most two decimals, e.g. "180" or "19.99".
    pub total_amount: String,
    /// The same key twice returns the first request id (billing stores it once); another request
    /// under a used key is refused (ALREADY_EXISTS). 1 to 200 characters.
    pub idempotency_key: Option<String>,
}

#[Object]
impl MutationRoot {
    /// Queues a billing order; answers once the broker has it (UNAVAILABLE when it cannot).
    async fn submit_billing(&self, ctx: &Context<'_>, input: BillingInput) -> Result<Receipt> {
        let backends = backends(ctx);
        let parse = || -> std::result::Result<BillingRequest, crate::error::ApiError> {
            let number = |n: i64| Some(serde_json::Value::from(n));
            Ok(BillingRequest {
                user_id: positive_integer("userId", number(input.user_id).as_ref())?,
                number_of_items: positive_integer(
                    "numberOfItems",
                    number(input.number_of_items).as_ref(),
                )?,
                total_amount_cents: amount_cents(
                    "totalAmount",
                    Some(&serde_json::Value::String(input.total_amount.clone())),
                )?,
            })
        };
        let request = parse().map_err(|e| e.extend())?;
        auth::billing_user_for(caller(ctx), Some(request.user_id)).map_err(|e| e.extend())?;
        ctx.data_unchecked::<Arc<BillingQueue>>()
            .submit(backends, request, input.idempotency_key.as_deref())
            .await
            .map_err(|e| e.extend())
    }

    /// Allowed while the order is PLACED or PAID; a FAILED_PRECONDITION error otherwise.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> Result<Order> {
        let backends = backends(ctx);
        auth::order_for(caller(ctx), backends, &id, &auth::ownership())
            .await
            .map_err(|e| e.extend())?;
        backends
            .cancel_order(&id, reason)
            .await
            .map_err(|e| e.extend())
    }

    /// Moves a delivery one step on; a skipped step is a FAILED_PRECONDITION error naming both
    /// states. A delivery is held by the courier who took it: another courier's move is a
    /// FAILED_PRECONDITION error naming the holder; an admin may move it, and reassign it by
    /// naming a courier.
    async fn update_delivery_status(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        status: DeliveryStatus,
        courier: Option<String>,
        note: Option<String>,
    ) -> Result<Delivery> {
        let backends = backends(ctx);
        let caller = caller(ctx);
        let courier = match caller
            .authorize(Action::MoveDelivery {
                courier: courier.as_deref(),
            })
            .map_err(|e| e.extend())?
        {
            Grant::As(courier) => Some(courier),
            Grant::Allowed => None,
        };
        let reassign = caller.reassigns_deliveries();
        backends
            .update_delivery(&order_id, status, courier, note, reassign)
            .await
            .map_err(|e| e.extend())
    }
}
