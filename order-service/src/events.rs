//! The order as an event-sourced aggregate: its events on the wire (`order-events`), folded and
//! recorded by `mesh_events::aggregate`; and what order-service does with the events it consumes,
//! payments from `billing-events` and courier progress from `delivery-events`, each type routed
//! to its own handler.

use chrono::{DateTime, Utc};
use mesh_events::{
    aggregate::{Aggregate, Aggregates, Once},
    consumer::{HandleError, IncomingEvent},
    dispatch::{Dispatcher, On},
    event_store::{EventPayload, StoredEvent},
};
use mesh_kafka::ORDER_EVENTS;
use mesh_proto::{
    Name, delivery::v1::DeliveryStatus, events::v1 as pb, json::JsonError,
    order::v1::OrderLine as PbLine,
};
use uuid::Uuid;

use crate::{
    db::Orders,
    domain::{IllegalTransition, Order, OrderEvent, OrderLine},
};

/// The name under which this service records the events it applied.
pub const CONSUMER: &str = "order-service";

// === impl Aggregate ===

impl Aggregate for Order {
    type Event = OrderEvent;
    const TOPIC: &'static str = ORDER_EVENTS;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn create(id: Uuid, event: &OrderEvent, at: DateTime<Utc>) -> Option<Self> {
        Order::placed(id, event, at)
    }

    fn apply(&mut self, event: &OrderEvent, at: DateTime<Utc>) {
        Order::apply(self, event, at);
    }

    fn encode(
        id: Uuid,
        before: Option<&Self>,
        event: &OrderEvent,
    ) -> Result<EventPayload, JsonError> {
        let order_id = id.to_string();
        match event {
            OrderEvent::Placed {
                customer_id,
                lines,
                total_cents,
                currency,
                delivery_address,
            } => EventPayload::of(&pb::OrderPlaced {
                order_id,
                customer_id: customer_id.clone(),
                items: lines.iter().map(line_to_proto).collect(),
                total_cents: *total_cents,
                currency: currency.clone(),
                delivery_address: delivery_address.clone(),
            }),
            OrderEvent::Paid {
                amount_cents,
                currency,
            } => EventPayload::of(&pb::OrderPaid {
                order_id,
                amount_cents: *amount_cents,
                currency: currency.clone(),
                // delivery-service opens the delivery from this event alone.
                delivery_address: before
                    .map(|order| order.delivery_address.clone())
                    .unwrap_or_default(),
            }),
            OrderEvent::PaymentFailed { reason } => EventPayload::of(&pb::OrderPaymentFailed {
                order_id,
                reason: reason.clone(),
            }),
            OrderEvent::OutForDelivery => EventPayload::of(&pb::OrderOutForDelivery { order_id }),
            OrderEvent::Delivered => EventPayload::of(&pb::OrderDelivered { order_id }),
            OrderEvent::Cancelled { reason } => EventPayload::of(&pb::OrderCancelled {
                order_id,
                reason: reason.clone(),
            }),
        }
    }

    fn decode(stored: &StoredEvent) -> Result<OrderEvent, JsonError> {
        decode(stored)
    }
}

fn line_to_proto(line: &OrderLine) -> PbLine {
    PbLine {
        menu_item_id: line.menu_item_id.to_string(),
        name: line.name.clone(),
        unit_price_cents: line.unit_price_cents,
        quantity: line.quantity,
    }
}

/// A stored event back as the domain's.
pub fn decode(stored: &StoredEvent) -> Result<OrderEvent, JsonError> {
    let name = stored.event_type.as_str();
    let event = if name == pb::OrderPlaced::full_name() {
        let placed: pb::OrderPlaced = stored.decode()?;
        let lines = placed
            .items
            .into_iter()
            .map(|line| {
                Ok(OrderLine {
                    menu_item_id: Uuid::parse_str(&line.menu_item_id).map_err(|err| {
                        JsonError::Decode {
                            type_name: pb::OrderPlaced::full_name(),
                            reason: err.to_string(),
                        }
                    })?,
                    name: line.name,
                    unit_price_cents: line.unit_price_cents,
                    quantity: line.quantity,
                })
            })
            .collect::<Result<_, JsonError>>()?;
        OrderEvent::Placed {
            customer_id: placed.customer_id,
            lines,
            total_cents: placed.total_cents,
            currency: placed.currency,
            delivery_address: placed.delivery_address,
        }
    } else if name == pb::OrderPaid::full_name() {
        let paid: pb::OrderPaid = stored.decode()?;
        OrderEvent::Paid {
            amount_cents: paid.amount_cents,
            currency: paid.currency,
        }
    } else if name == pb::OrderPaymentFailed::full_name() {
        let failed: pb::OrderPaymentFailed = stored.decode()?;
        OrderEvent::PaymentFailed {
            reason: failed.reason,
        }
    } else if name == pb::OrderOutForDelivery::full_name() {
        OrderEvent::OutForDelivery
    } else if name == pb::OrderDelivered::full_name() {
        OrderEvent::Delivered
    } else if name == pb::OrderCancelled::full_name() {
        let cancelled: pb::OrderCancelled = stored.decode()?;
        OrderEvent::Cancelled {
            reason: cancelled.reason,
        }
    } else {
        return Err(JsonError::UnknownType(stored.event_type.clone()));
    };
    Ok(event)
}

// === consuming ===

/// Moves orders along as payments and deliveries progress.
#[derive(Clone)]
pub struct OrderHandler {
    orders: Aggregates<Orders>,
}

/// The consumer's routes: one handler per event type it reads.
pub fn dispatcher(orders: Aggregates<Orders>) -> Dispatcher<OrderHandler> {
    Dispatcher::new(OrderHandler { orders })
        .on::<pb::PaymentCaptured>()
        .on::<pb::PaymentDeclined>()
        .on::<pb::DeliveryStatusChanged>()
}

impl OrderHandler {
    /// Decides with `decide` on the order `order_id` names and records the event it yields,
    /// once per consumed event. An event that no longer applies (a payment captured after the
    /// customer cancelled) is recorded as seen and changes nothing.
    async fn move_order(
        &self,
        event: &IncomingEvent,
        order_id: &str,
        decide: impl FnOnce(&Order) -> Result<Option<OrderEvent>, IllegalTransition> + Send,
    ) -> Result<(), HandleError> {
        let order_id = Uuid::parse_str(order_id)
            .map_err(|_| HandleError::Permanent(format!("order id {order_id:?} is not a UUID")))?;
        let once = Once {
            consumer: CONSUMER,
            event_id: &event.id,
        };
        let handled = self
            .orders
            .handle(order_id, Some(once), |order| -> Result<_, HandleError> {
                let order =
                    order.ok_or_else(|| HandleError::Permanent(format!("no order {order_id}")))?;
                Ok(decide(order).unwrap_or_else(|illegal| {
                    tracing::warn!(%illegal, "event does not apply to the order any more");
                    None
                }))
            })
            .await?;
        if let (Some(order), Some(_)) = (&handled.aggregate, &handled.appended) {
            tracing::info!(%order_id, status = %order.status, "order moved");
        }
        Ok(())
    }
}

impl On<pb::PaymentCaptured> for OrderHandler {
    async fn on(
        &self,
        event: &IncomingEvent,
        captured: pb::PaymentCaptured,
    ) -> Result<(), HandleError> {
        let currency = captured.currency;
        self.move_order(event, &captured.order_id, |order| {
            order.pay(captured.amount_cents, &currency).map(Some)
        })
        .await
    }
}

impl On<pb::PaymentDeclined> for OrderHandler {
    async fn on(
        &self,
        event: &IncomingEvent,
        declined: pb::PaymentDeclined,
    ) -> Result<(), HandleError> {
        let reason = declined.reason;
        self.move_order(event, &declined.order_id, |order| {
            order.fail_payment(&reason).map(Some)
        })
        .await
    }
}

impl On<pb::DeliveryStatusChanged> for OrderHandler {
    async fn on(
        &self,
        event: &IncomingEvent,
        changed: pb::DeliveryStatusChanged,
    ) -> Result<(), HandleError> {
        match changed.to() {
            DeliveryStatus::PickedUp | DeliveryStatus::InTransit => {
                self.move_order(event, &changed.order_id, Order::dispatch)
                    .await
            }
            DeliveryStatus::Delivered => {
                self.move_order(event, &changed.order_id, |order| order.deliver().map(Some))
                    .await
            }
            // Assignment and the like do not change the order; a failed delivery is the
            // courier's problem to retry, not a new order status.
            _ => Ok(()),
        }
    }
}
