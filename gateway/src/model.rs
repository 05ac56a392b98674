//! The gateway's own view of the mesh's data: what REST serializes (snake_case JSON) and what
//! GraphQL exposes (camelCase fields). Built from proto types in [`crate::backends`] only.

use async_graphql::{ComplexObject, ID, SimpleObject};
use chrono::{DateTime, Utc};
use mesh_proto::events::v1::EventRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// An item on the menu.
#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
pub struct MenuItem {
    #[schema(value_type = String)]
    pub id: ID,
    pub name: String,
    pub description: String,
    /// Price in minor units of `currency`.
    pub price_cents: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub category: String,
    pub available: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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

/// A movie of the catalog. Ids are integers over REST, as users of the movie API know them,
/// and `ID`s over GraphQL.
#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
#[graphql(complex)]
pub struct Movie {
    #[graphql(skip)]
    pub id: i64,
    pub title: String,
    pub description: String,
}

#[ComplexObject]
impl Movie {
    #[graphql(name = "id")]
    async fn graphql_id(&self) -> ID {
        ID(self.id.to_string())
    }
}

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, async_graphql::Enum, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Placed,
    Paid,
    PaymentFailed,
    OutForDelivery,
    Delivered,
    Cancelled,
}

/// Where a delivery is: `PENDING → ASSIGNED → PICKED_UP → IN_TRANSIT → DELIVERED`, or `FAILED`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, async_graphql::Enum, ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Assigned,
        Self::PickedUp,
        Self::InTransit,
        Self::Delivered,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Assigned => "ASSIGNED",
            Self::PickedUp => "PICKED_UP",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
        }
    }

    /// `"PICKED_UP"` (any case, `-` or `_`) as a status.
    pub fn parse(raw: &str) -> Option<Self> {
        let wanted = raw.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == wanted)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, async_graphql::Enum, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Captured,
    Declined,
}

/// One line of an order, with the name and price the menu had when it was placed.
#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
#[graphql(complex)]
pub struct OrderLine {
    #[schema(value_type = String)]
    pub menu_item_id: ID,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i32,
}

/// One event of an order's history.
#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
pub struct OrderHistoryEntry {
    pub sequence: i64,
    /// e.g. `OrderPaid`.
    pub event_type: String,
    /// The status after this event.
    pub status: OrderStatus,
    pub occurred_at: DateTime<Utc>,
    pub detail: String,
    #[schema(value_type = String)]
    pub event_id: ID,
    /// The event itself, for a subscription's replay (`updates`).
    #[graphql(skip)]
    #[serde(skip)]
    pub record: Option<EventRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
#[graphql(complex)]
pub struct Order {
    #[schema(value_type = String)]
    pub id: ID,
    pub customer_id: String,
    pub items: Vec<OrderLine>,
    pub delivery_address: String,
    pub status: OrderStatus,
    /// Total in minor units of `currency`, from the menu's prices.
    pub total_cents: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<OrderHistoryEntry>,
}

/// One step of a delivery's history.
#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
pub struct DeliveryHistoryEntry {
    pub sequence: i64,
    pub status: DeliveryStatus,
    pub courier: Option<String>,
    pub note: Option<String>,
    pub occurred_at: DateTime<Utc>,
    #[schema(value_type = String)]
    pub event_id: ID,
    /// The event itself, for a subscription's replay (`updates`).
    #[graphql(skip)]
    #[serde(skip)]
    pub record: Option<EventRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject, ToSchema)]
pub struct Delivery {
    #[schema(value_type = String)]
    pub order_id: ID,
    pub status: DeliveryStatus,
    pub courier: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<DeliveryHistoryEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, SimpleObject)]
pub struct Payment {
    pub order_id: ID,
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub currency: String,
    pub decline_reason: Option<String>,
    pub created_at: DateTime<Utc>,
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
