//! The order's events on the wire (`order-events`), and what order-service does with the events
//! it consumes: payments from `billing-events`, courier progress from `delivery-events`.

use diesel_async::{AsyncPgConnection, scoped_futures::ScopedFutureExt};
use mesh_kit::{
    consumer::{Applied, HandleError, Handler, IncomingEvent, apply_once},
    db::PgPool,
    event_store::{self, AppendError, NewEvent, StoredEvent},
    kafka::ORDER_EVENTS,
    relay::OutboxSignal,
};
use mesh_proto::{
    delivery::v1::DeliveryStatus, events::v1 as pb, json::JsonError, order::v1::OrderLine as PbLine,
};
use uuid::Uuid;

use crate::{
    db,
    domain::{Order, OrderEvent, OrderLine},
};

/// The name under which this service records the events it applied.
pub const CONSUMER: &str = "order-service";

/// Appends `event` to `order`'s stream (with its outbox row) and updates the read model, in the
/// caller's transaction. `order` is the state before the event; for `Placed`, the new order.
pub async fn record(
    conn: &mut AsyncPgConnection,
    order: &mut Order,
    event: &OrderEvent,
    request_id: Option<&str>,
) -> Result<StoredEvent, AppendError> {
    let first = matches!(event, OrderEvent::Placed { .. });
    let sequence = if first { 1 } else { order.version + 1 };
    let key = order.id.to_string();
    let order_id = key.clone();
    macro_rules! append {
        ($payload:expr) => {
            event_store::append(
                conn,
                NewEvent {
                    aggregate_id: order.id,
                    sequence,
                    topic: ORDER_EVENTS,
                    key: &key,
                    payload: &$payload,
                    request_id,
                },
            )
            .await?
        };
    }
    let stored = match event {
        OrderEvent::Placed {
            customer_id,
            lines,
            total_cents,
            currency,
            delivery_address,
        } => append!(pb::OrderPlaced {
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
        } => append!(pb::OrderPaid {
            order_id,
            amount_cents: *amount_cents,
            currency: currency.clone(),
            // delivery-service opens the delivery from this event alone.
            delivery_address: order.delivery_address.clone(),
        }),
        OrderEvent::PaymentFailed { reason } => append!(pb::OrderPaymentFailed {
            order_id,
            reason: reason.clone(),
        }),
        OrderEvent::OutForDelivery => append!(pb::OrderOutForDelivery { order_id }),
        OrderEvent::Delivered => append!(pb::OrderDelivered { order_id }),
        OrderEvent::Cancelled { reason } => append!(pb::OrderCancelled {
            order_id,
            reason: reason.clone(),
        }),
    };
    if !first {
        order.apply(event, stored.occurred_at);
        db::save_state(conn, order).await?;
    }
    Ok(stored)
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
    use mesh_proto::Name;
    let ty = stored.event_type.as_str();
    if ty == pb::OrderPlaced::full_name() {
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
        Ok(OrderEvent::Placed {
            customer_id: placed.customer_id,
            lines,
            total_cents: placed.total_cents,
            currency: placed.currency,
            delivery_address: placed.delivery_address,
        })
    } else if ty == pb::OrderPaid::full_name() {
        let paid: pb::OrderPaid = stored.decode()?;
        Ok(OrderEvent::Paid {
            amount_cents: paid.amount_cents,
            currency: paid.currency,
        })
    } else if ty == pb::OrderPaymentFailed::full_name() {
        let failed: pb::OrderPaymentFailed = stored.decode()?;
        Ok(OrderEvent::PaymentFailed {
            reason: failed.reason,
        })
    } else if ty == pb::OrderOutForDelivery::full_name() {
        Ok(OrderEvent::OutForDelivery)
    } else if ty == pb::OrderDelivered::full_name() {
        Ok(OrderEvent::Delivered)
    } else if ty == pb::OrderCancelled::full_name() {
        let cancelled: pb::OrderCancelled = stored.decode()?;
        Ok(OrderEvent::Cancelled {
            reason: cancelled.reason,
        })
    } else {
        Err(JsonError::UnknownType(stored.event_type.clone()))
    }
}

// === consuming ===

/// What a consumed event asks of an order.
#[derive(Debug)]
enum Command {
    Pay { amount_cents: i64, currency: String },
    FailPayment { reason: String },
    Dispatch,
    Deliver,
}

/// Moves orders along as payments and deliveries progress.
#[derive(Clone)]
pub struct OrderHandler {
    pool: PgPool,
    signal: OutboxSignal,
}

impl OrderHandler {
    pub fn new(pool: PgPool, signal: OutboxSignal) -> Self {
        Self { pool, signal }
    }
}

fn command_of(event: &IncomingEvent) -> Result<Option<(String, Command)>, HandleError> {
    if event.is::<pb::PaymentCaptured>() {
        let captured: pb::PaymentCaptured = event.decode()?;
        let command = Command::Pay {
            amount_cents: captured.amount_cents,
            currency: captured.currency,
        };
        return Ok(Some((captured.order_id, command)));
    }
    if event.is::<pb::PaymentDeclined>() {
        let declined: pb::PaymentDeclined = event.decode()?;
        let command = Command::FailPayment {
            reason: declined.reason,
        };
        return Ok(Some((declined.order_id, command)));
    }
    if event.is::<pb::DeliveryStatusChanged>() {
        let changed: pb::DeliveryStatusChanged = event.decode()?;
        let command = match changed.to() {
            DeliveryStatus::PickedUp | DeliveryStatus::InTransit => Command::Dispatch,
            DeliveryStatus::Delivered => Command::Deliver,
            // Assignment and the like do not change the order; a failed delivery is the
            // courier's problem to retry, not a new order status.
            _ => return Ok(None),
        };
        return Ok(Some((changed.order_id, command)));
    }
    Ok(None)
}

impl Handler for OrderHandler {
    async fn handle(&self, event: &IncomingEvent) -> Result<(), HandleError> {
        let Some((order_id, command)) = command_of(event)? else {
            return Ok(());
        };
        let order_id = Uuid::parse_str(&order_id)
            .map_err(|_| HandleError::Permanent(format!("order id {order_id:?} is not a UUID")))?;
        let request_id = event.request_id.as_deref();
        let applied = apply_once(&self.pool, CONSUMER, &event.id, |conn| {
            async move {
                let Some(mut order) = db::load(conn, order_id, true).await? else {
                    return Err(HandleError::Permanent(format!("no order {order_id}")));
                };
                let decided = match &command {
                    Command::Pay {
                        amount_cents,
                        currency,
                    } => order.pay(*amount_cents, currency).map(Some),
                    Command::FailPayment { reason } => order.fail_payment(reason).map(Some),
                    Command::Dispatch => order.dispatch(),
                    Command::Deliver => order.deliver().map(Some),
                };
                match decided {
                    Ok(Some(next)) => {
                        record(conn, &mut order, &next, request_id).await?;
                        tracing::info!(%order_id, status = %order.status, "order moved");
                    }
                    Ok(None) => {}
                    // A fact that came too late: the order moved on (a payment captured after
                    // the customer cancelled). Recorded as seen; the order stays as it is.
                    Err(illegal) => {
                        tracing::warn!(%illegal, ?command, "event does not apply to the order any more")
                    }
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
