//! The delivery's events on the wire (`delivery-events`), and what delivery-service does with
//! the order events it consumes: a paid order opens a delivery, a cancelled one fails it.

use chrono::{DateTime, SubsecRound, Utc};
use diesel_async::{AsyncPgConnection, scoped_futures::ScopedFutureExt};
use mesh_kit::{
    consumer::{Applied, HandleError, Handler, IncomingEvent, apply_once},
    db::PgPool,
    event_store::{self, AppendError, NewEvent, StoredEvent},
    kafka::DELIVERY_EVENTS,
    relay::OutboxSignal,
};
use mesh_proto::{delivery::v1::DeliveryStatus as PbStatus, events::v1 as pb, json::JsonError};
use uuid::Uuid;

use crate::{
    db,
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

/// Appends `event` to the delivery's stream (with its outbox row) and updates the read model,
/// in the caller's transaction. For the opening event, `delivery` is the new delivery and is
/// inserted; otherwise it is the state before the event.
pub async fn record(
    conn: &mut AsyncPgConnection,
    delivery: &mut Delivery,
    event: &StatusChanged,
    request_id: Option<&str>,
) -> Result<StoredEvent, AppendError> {
    let opening = event.from.is_none();
    let sequence = if opening { 1 } else { delivery.version + 1 };
    let key = delivery.order_id.to_string();
    let payload = pb::DeliveryStatusChanged {
        order_id: key.clone(),
        from: event
            .from
            .map_or(PbStatus::Unspecified, status_to_proto)
            .into(),
        to: status_to_proto(event.to).into(),
        courier: event.courier.clone().unwrap_or_default(),
        note: event.note.clone().unwrap_or_default(),
        occur_time: Some(mesh_proto::timestamp(Utc::now().trunc_subsecs(6))),
    };
    let stored = event_store::append(
        conn,
        NewEvent {
            aggregate_id: delivery.order_id,
            sequence,
            topic: DELIVERY_EVENTS,
            key: &key,
            payload: &payload,
            request_id,
        },
    )
    .await?;
    if opening {
        // The read model takes its times from the event, so a projection rebuilt from the
        // event store is identical.
        delivery.created_at = stored.occurred_at;
        delivery.updated_at = stored.occurred_at;
        db::insert(conn, delivery).await?;
    } else {
        delivery.apply(event, stored.occurred_at);
        db::save_state(conn, delivery).await?;
    }
    Ok(stored)
}

/// A stored event back as the domain's, with when it happened.
pub fn decode(stored: &StoredEvent) -> Result<(StatusChanged, DateTime<Utc>), JsonError> {
    let changed: pb::DeliveryStatusChanged = stored.decode()?;
    let to = status_from_proto(changed.to()).ok_or_else(|| JsonError::Decode {
        type_name: stored.event_type.clone(),
        reason: "the new status is unspecified".to_owned(),
    })?;
    let text = |value: String| (!value.is_empty()).then_some(value);
    let event = StatusChanged {
        from: status_from_proto(changed.from()),
        to,
        courier: text(changed.courier),
        note: text(changed.note),
    };
    Ok((event, stored.occurred_at))
}

// === consuming ===

/// What a consumed order event asks of a delivery.
#[derive(Debug)]
enum Command {
    Open { delivery_address: String },
    Cancel { reason: String },
}

fn command_of(event: &IncomingEvent) -> Result<Option<(String, Command)>, HandleError> {
    if event.is::<pb::OrderPaid>() {
        let paid: pb::OrderPaid = event.decode()?;
        let command = Command::Open {
            delivery_address: paid.delivery_address,
        };
        return Ok(Some((paid.order_id, command)));
    }
    if event.is::<pb::OrderCancelled>() {
        let cancelled: pb::OrderCancelled = event.decode()?;
        let command = Command::Cancel {
            reason: cancelled.reason,
        };
        return Ok(Some((cancelled.order_id, command)));
    }
    Ok(None)
}

/// Opens deliveries for paid orders and fails those of cancelled ones.
#[derive(Clone)]
pub struct DeliveryHandler {
    pool: PgPool,
    signal: OutboxSignal,
}

impl DeliveryHandler {
    pub fn new(pool: PgPool, signal: OutboxSignal) -> Self {
        Self { pool, signal }
    }
}

impl Handler for DeliveryHandler {
    async fn handle(&self, event: &IncomingEvent) -> Result<(), HandleError> {
        let Some((order_id, command)) = command_of(event)? else {
            return Ok(());
        };
        let order_id = Uuid::parse_str(&order_id)
            .map_err(|_| HandleError::Permanent(format!("order id {order_id:?} is not a UUID")))?;
        let request_id = event.request_id.as_deref();
        let applied = apply_once(&self.pool, CONSUMER, &event.id, |conn| {
            async move {
                let existing = db::load(conn, order_id, true).await?;
                match (&command, existing) {
                    (Command::Open { delivery_address }, None) => {
                        let mut delivery = Delivery::opened(order_id, delivery_address, Utc::now());
                        record(conn, &mut delivery, &Delivery::open(), request_id).await?;
                        tracing::info!(%order_id, "delivery opened");
                    }
                    (Command::Open { .. }, Some(_)) => {
                        tracing::info!(%order_id, "the order already has a delivery");
                    }
                    (Command::Cancel { reason }, Some(mut delivery)) => {
                        if let Some(failed) = delivery.cancel(reason) {
                            record(conn, &mut delivery, &failed, request_id).await?;
                            tracing::info!(%order_id, "delivery failed: order cancelled");
                        }
                    }
                    // Cancelled before it was paid: there is no delivery to stop.
                    (Command::Cancel { .. }, None) => {}
                }
                Ok(())
            }
            .scope_boxed()
        })
        .await?;
        if applied == Applied::Now {
            self.signal.notify();
        }
        Ok(())
    }
}
