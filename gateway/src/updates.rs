//! The one conversion from an event to the `orderUpdates` item. The live feed reads events from
//! Kafka (CloudEvents headers and a proto3 JSON payload) and a subscription's replay reads them
//! from the order's and the delivery's histories (`mesh.events.v1.EventRecord`, the same
//! attributes and payload): both come here, so an update reads the same whenever a client
//! subscribed.
//!
//! Which event types become updates is a table from CloudEvents type to a typed conversion,
//! one line per type.

use std::{collections::HashMap, sync::LazyLock};

use async_graphql::ID;
use chrono::{DateTime, Utc};
use mesh_kafka::schema::MESH;
use mesh_proto::{Message, Name, events::v1 as pb, json::JsonError};

use crate::{
    contract::{DeliveryStatus, OrderStatus},
    model::OrderUpdate,
};

/// One event, wherever it was read.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// `ce_id`.
    pub id: &'a str,
    /// `ce_type`, the payload's full proto name.
    pub event_type: &'a str,
    /// `ce_time`.
    pub time: DateTime<Utc>,
    /// `ce_schemaversion`.
    pub schema_version: i32,
    /// Proto3 JSON of `event_type`.
    pub data: &'a [u8],
}

impl<'a> Event<'a> {
    /// An event of a history, as the service stored and published it.
    pub fn from_record(record: &'a pb::EventRecord) -> Self {
        Self {
            id: &record.id,
            event_type: &record.r#type,
            time: record
                .time
                .as_ref()
                .and_then(mesh_proto::from_timestamp)
                .unwrap_or_default(),
            schema_version: record.schema_version,
            data: record.data.as_bytes(),
        }
    }
}

/// What an event says about its order.
struct Change {
    order_id: String,
    order_status: Option<OrderStatus>,
    delivery_status: Option<DeliveryStatus>,
    detail: String,
    /// When the event says it happened, if not at `ce_time`.
    occurred_at: Option<DateTime<Utc>>,
}

impl Change {
    fn order(order_id: String, status: OrderStatus, detail: String) -> Self {
        Self {
            order_id,
            order_status: Some(status),
            delivery_status: None,
            detail,
            occurred_at: None,
        }
    }
}

/// An event type that is an update to its order.
trait IsUpdate: Message + Name + Default {
    fn change(self) -> Change;
}

impl IsUpdate for pb::OrderPlaced {
    fn change(self) -> Change {
        Change::order(self.order_id, OrderStatus::Placed, String::new())
    }
}

impl IsUpdate for pb::OrderPaid {
    fn change(self) -> Change {
        Change::order(self.order_id, OrderStatus::Paid, String::new())
    }
}

impl IsUpdate for pb::OrderPaymentFailed {
    fn change(self) -> Change {
        Change::order(self.order_id, OrderStatus::PaymentFailed, self.reason)
    }
}

impl IsUpdate for pb::OrderOutForDelivery {
    fn change(self) -> Change {
        Change::order(self.order_id, OrderStatus::OutForDelivery, String::new())
    }
}

impl IsUpdate for pb::OrderDelivered {
    fn change(self) -> Change {
        Change::order(self.order_id, OrderStatus::Delivered, String::new())
    }
}

impl IsUpdate for pb::OrderCancelled {
    fn change(self) -> Change {
        Change::order(self.order_id, OrderStatus::Cancelled, self.reason)
    }
}

impl IsUpdate for pb::DeliveryStatusChanged {
    fn change(self) -> Change {
        Change {
            delivery_status: DeliveryStatus::try_from(self.to).ok(),
            occurred_at: self
                .occur_time
                .as_ref()
                .and_then(mesh_proto::from_timestamp),
            order_id: self.order_id,
            order_status: None,
            detail: self.note,
        }
    }
}

type Convert = fn(&Event<'_>) -> Result<Change, JsonError>;

fn convert<M: IsUpdate>(event: &Event<'_>) -> Result<Change, JsonError> {
    MESH.decode::<M>(event.event_type, event.schema_version, event.data)
        .map(M::change)
}

fn entry<M: IsUpdate>() -> (String, Convert) {
    (M::full_name(), convert::<M>)
}

/// Every event type that is an update; any other (billing's, say) is not one.
static TABLE: LazyLock<HashMap<String, Convert>> = LazyLock::new(|| {
    HashMap::from([
        entry::<pb::OrderPlaced>(),
        entry::<pb::OrderPaid>(),
        entry::<pb::OrderPaymentFailed>(),
        entry::<pb::OrderOutForDelivery>(),
        entry::<pb::OrderDelivered>(),
        entry::<pb::OrderCancelled>(),
        entry::<pb::DeliveryStatusChanged>(),
    ])
});

/// The update `event` makes, or `None` when it is not one (or cannot be read, which is logged).
pub fn update(event: &Event<'_>) -> Option<OrderUpdate> {
    let convert = TABLE.get(event.event_type)?;
    let change = convert(event)
        .inspect_err(|err| {
            tracing::debug!(
                event_type = event.event_type,
                event_id = event.id,
                error = %err,
                "an unreadable event is no update"
            );
        })
        .ok()?;
    let short = event
        .event_type
        .rsplit('.')
        .next()
        .unwrap_or(event.event_type);
    Some(OrderUpdate {
        order_id: ID(change.order_id),
        event_id: ID(event.id.to_owned()),
        event_type: short.to_owned(),
        order_status: change.order_status,
        delivery_status: change.delivery_status,
        occurred_at: change.occurred_at.unwrap_or(event.time),
        detail: Some(change.detail).filter(|detail| !detail.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(event_type: &'a str, version: i32, data: &'a str) -> Event<'a> {
        Event {
            id: "e-1",
            event_type,
            time: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            schema_version: version,
            data: data.as_bytes(),
        }
    }

    #[test]
    fn a_declined_payment_is_a_failed_order_with_its_reason() {
        let name = pb::OrderPaymentFailed::full_name();
        let update = update(&event(
            &name,
            1,
            r#"{"orderId":"o-1","reason":"card declined"}"#,
        ));
        let update = update.expect("an update");
        assert_eq!(update.order_id, ID("o-1".into()));
        assert_eq!(update.event_type, "OrderPaymentFailed");
        assert_eq!(update.order_status, Some(OrderStatus::PaymentFailed));
        assert_eq!(update.detail.as_deref(), Some("card declined"));
    }

    #[test]
    fn a_delivery_move_carries_its_status_note_and_own_time() {
        let name = pb::DeliveryStatusChanged::full_name();
        let data = r#"{"orderId":"o-1","from":"DELIVERY_STATUS_PENDING","to":"DELIVERY_STATUS_ASSIGNED","note":"on my way","occurTime":"2026-12-03T10:00:00Z"}"#;
        let update = update(&event(&name, 2, data)).expect("an update");
        assert_eq!(update.delivery_status, Some(DeliveryStatus::Assigned));
        assert_eq!(update.order_status, None);
        assert_eq!(update.detail.as_deref(), Some("on my way"));
        assert_eq!(update.occurred_at.to_rfc3339(), "2026-12-03T10:00:00+00:00");
    }

    #[test]
    fn a_version_1_delivery_event_still_reads() {
        let name = pb::DeliveryStatusChanged::full_name();
        let data = r#"{"orderId":"o-1","to":"DELIVERY_STATUS_PENDING"}"#;
        let update = update(&event(&name, 1, data)).expect("an update");
        assert_eq!(update.delivery_status, Some(DeliveryStatus::Pending));
    }

    #[test]
    fn other_and_unreadable_events_are_no_update() {
        let captured = pb::PaymentCaptured::full_name();
        assert!(update(&event(&captured, 1, r#"{"orderId":"o-1"}"#)).is_none());
        let paid = pb::OrderPaid::full_name();
        assert!(update(&event(&paid, 1, "not json")).is_none());
    }

    #[test]
    fn a_history_record_reads_like_a_live_event() {
        let record = pb::EventRecord {
            id: "e-9".into(),
            r#type: pb::OrderCancelled::full_name(),
            time: Some(mesh_proto::timestamp(
                DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            )),
            data: r#"{"orderId":"o-2","reason":"changed my mind"}"#.into(),
            schema_version: 1,
        };
        let replayed = update(&Event::from_record(&record)).expect("an update");
        let live = update(&Event {
            id: "e-9",
            event_type: &record.r#type,
            time: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            schema_version: 1,
            data: record.data.as_bytes(),
        })
        .expect("an update");
        assert_eq!(replayed, live);
        assert_eq!(replayed.detail.as_deref(), Some("changed my mind"));
    }
}
