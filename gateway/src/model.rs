//! What the gateway holds that is not a message of the contract ([`crate::contract`] has
//! those): a page as the surfaces page it, a subscription's update, and billing's hand-served
//! REST shapes.

use async_graphql::{ComplexObject, ID, SimpleObject};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::contract::{DeliveryStatus, OrderStatus};

/// One page of a list, as a backend answers it.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// One per item: where the list continues after it (a GraphQL edge cursor, or REST's
    /// `page_token`).
    pub cursors: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// A change to an order or its delivery, as `orderUpdates` pushes it.
#[derive(Clone, Debug, PartialEq, SimpleObject)]
pub struct OrderUpdate {
    pub order_id: ID,
    /// `ce_id` of the event; unique, so a client can drop repeats.
    pub event_id: ID,
    /// e.g. `OrderPaid`, `DeliveryStatusChanged`.
    pub event_type: String,
    /// The order's status after the event, for order events.
    pub order_status: Option<OrderStatus>,
    /// The delivery's status after the event, for delivery events.
    pub delivery_status: Option<DeliveryStatus>,
    pub occurred_at: DateTime<Utc>,
    pub detail: Option<String>,
}

/// A valid billing request, amounts in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BillingRequest {
    pub user_id: i64,
    pub number_of_items: i64,
    pub total_amount_cents: i64,
}

/// A billing order as billing-service stored it from `billing-requests`.
#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
#[graphql(complex)]
pub struct BillingOrder {
    #[graphql(skip)]
    pub id: i64,
    #[schema(value_type = String)]
    pub request_id: ID,
    pub user_id: i64,
    pub number_of_items: i64,
    pub total_amount_cents: i64,
    /// The same amount as users sent it, e.g. `"180.00"`.
    pub total_amount: String,
    pub received_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
}

#[ComplexObject]
impl BillingOrder {
    #[graphql(name = "id")]
    async fn graphql_id(&self) -> ID {
        ID(self.id.to_string())
    }
}
