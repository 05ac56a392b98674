//! The delivery as an event-sourced aggregate: its events on the wire (`delivery-events`),
//! folded and recorded by `mesh_events::aggregate`; and what delivery-service does with the order
//! events it consumes: a paid order opens a delivery, a cancelled one fails it.

use chrono::{DateTime, SubsecRound, Utc};
use mesh_events::{
    aggregate::{Aggregate, Aggregates, Once},
    consumer::{HandleError, IncomingEvent},
    dispatch::{Dispatcher, On},
    event_store::{EventPayload, StoredEvent},
};
use mesh_kafka::DELIVERY_EVENTS;
use mesh_proto::{delivery::v1::DeliveryStatus as PbStatus, events::v1 as pb, json::JsonError};
use uuid::Uuid;

use crate::{
    db::Deliveries,
    domain::{Delivery, DeliveryStatus, StatusChanged},
};

/// The name under which this service records the events it applied.
pub const CONSUMER: &str = "delivery-service";

pub fn status_to_proto(status: DeliveryStatus) -> PbStatus {
    match status {
        DeliveryStatus::Pending => PbStatus::Pending,
        DeliveryStatus::Assigned => PbStatus::Assigned,
        DeliveryStatus::PickedUp => PbStatus::PickedUp,
        DeliveryStatus::InTransit => PbStatus::InTransit,
        DeliveryStatus::Delivered => PbStatus::Delivered,
        DeliveryStatus::Failed => PbStatus::Failed,
    }
}

/// `None` for `UNSPECIFIED`, the "from" of the event that opens a delivery.
pub fn status_from_proto(status: PbStatus) -> Option<DeliveryStatus> {
    match status {
        PbStatus::Unspecified => None,
        PbStatus::Pending => Some(DeliveryStatus::Pending),
        PbStatus::Assigned => Some(DeliveryStatus::Assigned),
        PbStatus::PickedUp => Some(DeliveryStatus::PickedUp),
        PbStatus::InTransit => Some(DeliveryStatus::InTransit),
        PbStatus::Delivered => Some(DeliveryStatus::Delivered),
        PbStatus::Failed => Some(DeliveryStatus::Failed),
    }
}

// === impl Aggregate ===

impl Aggregate for Delivery {
    type Event = StatusChanged;
    const TOPIC: &'static str = DELIVERY_EVENTS;

    fn id(&self) -> Uuid {
        self.order_id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn create(order_id: Uuid, event: &StatusChanged, at: DateTime<Utc>) -> Option<Self> {
        Delivery::opened(order_id, event, at)
    }

    fn apply(&mut self, event: &StatusChanged, at: DateTime<Utc>) {
        Delivery::apply(self, event, at);
    }

    fn encode(
        order_id: Uuid,
        _before: Option<&Self>,
        event: &StatusChanged,
    ) -> Result<EventPayload, JsonError> {
        EventPayload::of(&pb::DeliveryStatusChanged {
            order_id: order_id.to_string(),
            from: event
                .from
                .map_or(PbStatus::Unspecified, status_to_proto)
                .into(),
            to: status_to_proto(event.to).into(),
            courier: event.courier.clone().unwrap_or_default(),
            note: event.note.clone().unwrap_or_default(),
            occur_time: Some(mesh_proto::timestamp(Utc::now().trunc_subsecs(6))),
            delivery_address: event.delivery_address.clone().unwrap_or_default(),
        })
    }

    fn decode(stored: &StoredEvent) -> Result<StatusChanged, JsonError> {
        decode(stored)
    }
}

/// A stored event back as the domain's.
pub fn decode(stored: &StoredEvent) -> Result<StatusChanged, JsonError> {
    let changed: pb::DeliveryStatusChanged = stored.decode()?;
    let to = status_from_proto(changed.to()).ok_or_else(|| JsonError::Decode {
        type_name: stored.event_type.clone(),
        reason: "the new status is unspecified".to_owned(),
    })?;
    let text = |value: String| (!value.is_empty()).then_some(value);
    let from = status_from_proto(changed.from());
    Ok(StatusChanged {
        from,
        to,
        courier: text(changed.courier),
        note: text(changed.note),
        // Only the opening event says where the order goes; an old one (schema version 1)
        // says it is unknown.
        delivery_address: from.is_none().then_some(changed.delivery_address),
    })
}

// === consuming ===

/// Opens deliveries for paid orders and fails those of cancelled ones.
#[derive(Clone)]
pub struct DeliveryHandler {
    deliveries: Aggregates<Deliveries>,
}

/// The consumer's routes: one handler per event type it reads.
pub fn dispatcher(deliveries: Aggregates<Deliveries>) -> Dispatcher<DeliveryHandler> {
    Dispatcher::new(DeliveryHandler { deliveries })
        .on::<pb::OrderPaid>()
        .on::<pb::OrderCancelled>()
}

fn parse_order_id(raw: &str) -> Result<Uuid, HandleError> {
    Uuid::parse_str(raw)
        .map_err(|_| HandleError::Permanent(format!("order id {raw:?} is not a UUID")))
}

/// A consumed event, applied once by this service's consumer.
fn once(event: &IncomingEvent) -> Option<Once<'_>> {
    Some(Once {
        consumer: CONSUMER,
        event_id: &event.id,
    })
}

impl On<pb::OrderPaid> for DeliveryHandler {
    async fn on(&self, event: &IncomingEvent, paid: pb::OrderPaid) -> Result<(), HandleError> {
        let order_id = parse_order_id(&paid.order_id)?;
        let address = paid.delivery_address;
        let opened = self
            .deliveries
            .start::<HandleError>(order_id, once(event), Delivery::open(&address))
            .await?;
        match opened.appended {
            Some(_) => tracing::info!(%order_id, "delivery opened"),
            None => tracing::info!(%order_id, "the order already has a delivery"),
        }
        Ok(())
    }
}

impl On<pb::OrderCancelled> for DeliveryHandler {
    async fn on(
        &self,
        event: &IncomingEvent,
        cancelled: pb::OrderCancelled,
    ) -> Result<(), HandleError> {
        let order_id = parse_order_id(&cancelled.order_id)?;
        let reason = cancelled.reason;
        let failed = self
            .deliveries
            .handle(
                order_id,
                once(event),
                |delivery| -> Result<_, HandleError> {
                    // Cancelled before it was paid: there is no delivery to stop.
                    Ok(delivery.and_then(|delivery| delivery.cancel(&reason)))
                },
            )
            .await?;
        if failed.appended.is_some() {
            tracing::info!(%order_id, "delivery failed: order cancelled");
        }
        Ok(())
    }
}
