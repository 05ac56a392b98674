//! Calls to billing-service.

use std::collections::HashMap;

use async_graphql::ID;
use mesh_proto::billing::v1 as pb;

use super::{Backend, Backends};
use crate::{
    contract::{Payment, datetime},
    error::ApiError,
    model::{BillingOrder, BillingRequest, Page},
};

impl Backends {
    /// The payment of an order; NOT_FOUND until billing has seen it.
    pub async fn payment(&self, order_id: &str) -> Result<Payment, ApiError> {
        let message = pb::GetPaymentRequest {
            order_id: order_id.to_owned(),
        };
        let payment = self.finish(
            Backend::Billing,
            "GetPayment",
            self.billing.clone().get_payment(message).await,
        )?;
        to_payment(payment)
    }

    /// The payments of many orders in one call, keyed by order id; orders billing has not seen
    /// are simply absent. What the GraphQL loader batches a request's `Order.payment` fields into.
    pub async fn payments_by_order(
        &self,
        order_ids: Vec<String>,
    ) -> Result<HashMap<String, Payment>, ApiError> {
        let message = pb::BatchGetPaymentsRequest { order_ids };
        let found = self.finish(
            Backend::Billing,
            "BatchGetPayments",
            self.billing.clone().batch_get_payments(message).await,
        )?;
        found
            .payments
            .into_iter()
            .map(|payment| Ok((payment.order_id.clone(), to_payment(payment)?)))
            .collect()
    }
}

fn to_payment(payment: pb::Payment) -> Result<Payment, ApiError> {
    Ok(Payment::try_from(payment)?)
}

fn to_billing_order(order: pb::BillingOrder) -> BillingOrder {
    let cents = order.total_amount_cents;
    BillingOrder {
        received_at: datetime(order.receive_time.as_ref()),
        processed_at: datetime(order.process_time.as_ref()),
        id: order.id,
        request_id: ID(order.request_id),
        user_id: order.user_id,
        number_of_items: order.number_of_items,
        total_amount_cents: cents,
        total_amount: format!("{}.{:02}", cents / 100, (cents % 100).abs()),
    }
}

impl Backends {
    /// A stored billing order; NOT_FOUND while it is still queued.
    pub async fn billing_order(&self, request_id: &str) -> Result<BillingOrder, ApiError> {
        let message = pb::GetBillingOrderRequest {
            request_id: request_id.to_owned(),
        };
        self.finish(
            Backend::Billing,
            "GetBillingOrder",
            self.billing.clone().get_billing_order(message).await,
        )
        .map(to_billing_order)
    }

    pub async fn billing_orders(
        &self,
        user_id: i64,
        page_size: Option<i32>,
        page_token: Option<String>,
    ) -> Result<Page<BillingOrder>, ApiError> {
        let message = pb::ListBillingOrdersRequest {
            user_id,
            page_size: page_size.unwrap_or_default(),
            page_token: page_token.unwrap_or_default(),
        };
        let page = self.finish(
            Backend::Billing,
            "ListBillingOrders",
            self.billing.clone().list_billing_orders(message).await,
        )?;
        Ok(Page {
            items: page.orders.into_iter().map(to_billing_order).collect(),
            cursors: page.cursors,
            next_page_token: Some(page.next_page_token).filter(|t| !t.is_empty()),
        })
    }
}

impl Backends {
    /// Binds `request_id` to `request` in billing's database before it is queued; false when it
    /// was bound to this same request before (a retry), ALREADY_EXISTS when to another.
    pub async fn reserve_request_id(
        &self,
        request_id: uuid::Uuid,
        billing: BillingRequest,
    ) -> Result<bool, ApiError> {
        let message = pb::ReserveRequestIdRequest {
            request_id: request_id.to_string(),
            user_id: billing.user_id,
            number_of_items: billing.number_of_items,
            total_amount_cents: billing.total_amount_cents,
        };
        let reserved = self.finish(
            Backend::Billing,
            "ReserveRequestId",
            self.billing.clone().reserve_request_id(message).await,
        )?;
        Ok(reserved.first_use)
    }
}
