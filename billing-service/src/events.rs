//! The payment as an event-sourced aggregate (one event per order: `PaymentCaptured` or
//! `PaymentDeclined` on `billing-events`, recorded by `mesh_events::aggregate`), and what
//! billing-service does with the events it consumes, through one consumer: it charges placed
//! orders (from `order-events`) and stores billing requests (from `billing-requests`). Both
//! exactly once, however often a record is delivered.

use chrono::{DateTime, Utc};
use diesel_async::scoped_futures::ScopedFutureExt;
use mesh_events::{
    aggregate::{Aggregate, Aggregates, Once},
    consumer::{HandleError, IncomingEvent, apply_once},
    dispatch::{Dispatcher, On},
    event_store::{EventPayload, StoredEvent},
};
use mesh_kafka::{BILLING_EVENTS, BILLING_REQUESTS};
use mesh_proto::{Name, events::v1 as pb, json::JsonError};
use uuid::Uuid;

use crate::{
    db::{self, Payments},
    domain::{NewBillingOrder, Payment, PaymentDecided, PaymentStatus},
    provider::{Decision, PaymentProvider},
};

/// The consumer group of billing-service, and the name under which it records the payments it
/// applied.
pub const PAYMENTS_CONSUMER: &str = "billing-service";
/// The name under which it records the billing requests it stored.
pub const REQUESTS_CONSUMER: &str = "billing-service-requests";

// === impl Aggregate ===

impl Aggregate for Payment {
    type Event = PaymentDecided;
    const TOPIC: &'static str = BILLING_EVENTS;

    fn id(&self) -> Uuid {
        self.order_id
    }

    /// A payment is its one event.
    fn version(&self) -> i64 {
        1
    }

    fn create(order_id: Uuid, event: &PaymentDecided, at: DateTime<Utc>) -> Option<Self> {
        Some(Payment::decided(order_id, event, at))
    }

    /// Never called: nothing follows a payment's decision.
    fn apply(&mut self, _: &PaymentDecided, _: DateTime<Utc>) {}

    fn encode(
        order_id: Uuid,
        _before: Option<&Self>,
        event: &PaymentDecided,
    ) -> Result<EventPayload, JsonError> {
        let order_id = order_id.to_string();
        match event.status {
            PaymentStatus::Captured => EventPayload::of(&pb::PaymentCaptured {
                order_id,
                amount_cents: event.amount_cents,
                currency: event.currency.clone(),
            }),
            PaymentStatus::Declined => EventPayload::of(&pb::PaymentDeclined {
                order_id,
                amount_cents: event.amount_cents,
                currency: event.currency.clone(),
                reason: event.decline_reason.clone().unwrap_or_default(),
            }),
        }
    }

    fn decode(stored: &StoredEvent) -> Result<PaymentDecided, JsonError> {
        if stored.event_type == pb::PaymentCaptured::full_name() {
            let captured: pb::PaymentCaptured = stored.decode()?;
            Ok(PaymentDecided {
                status: PaymentStatus::Captured,
                amount_cents: captured.amount_cents,
                currency: captured.currency,
                decline_reason: None,
            })
        } else if stored.event_type == pb::PaymentDeclined::full_name() {
            let declined: pb::PaymentDeclined = stored.decode()?;
            Ok(PaymentDecided {
                status: PaymentStatus::Declined,
                amount_cents: declined.amount_cents,
                currency: declined.currency,
                decline_reason: Some(declined.reason),
            })
        } else {
            Err(JsonError::UnknownType(stored.event_type.clone()))
        }
    }
}

// === consuming ===

/// Charges placed orders and stores billing requests.
pub struct BillingHandler<P> {
    payments: Aggregates<Payments>,
    provider: P,
}

pub fn dispatcher<P: PaymentProvider>(
    payments: Aggregates<Payments>,
    provider: P,
) -> Dispatcher<BillingHandler<P>> {
    let dispatcher = Dispatcher::new(BillingHandler { payments, provider })
        .on::<pb::OrderPlaced>()
        .on::<pb::BillingRequested>()
        .strict_on(BILLING_REQUESTS);
    if P::CALLS_OUT {
        dispatcher.alone_on::<pb::OrderPlaced>()
    } else {
        dispatcher
    }
}

impl<P: PaymentProvider> On<pb::OrderPlaced> for BillingHandler<P> {
    async fn on(&self, event: &IncomingEvent, placed: pb::OrderPlaced) -> Result<(), HandleError> {
        let order_id = Uuid::parse_str(&placed.order_id).map_err(|_| {
            HandleError::Permanent(format!("order id {:?} is not a UUID", placed.order_id))
        })?;
        if placed.total_cents < 0 {
            return Err(HandleError::Permanent(format!(
                "order {order_id} has a negative total"
            )));
        }
        if P::CALLS_OUT {
            // A redelivered order was charged already: do not ask the provider again. (One
            // that answers at once is simply asked: the claim below turns the repeat away.)
            let mut conn = self
                .payments
                .pool()
                .get()
                .await
                .map_err(mesh_kit::StoreError::from)?;
            if db::payment(&mut conn, order_id).await?.is_some() {
                return Ok(());
            }
        }
        // The provider is called outside this handler's transaction (inside a batch's only when
        // it answers at once: `PaymentProvider::CALLS_OUT`). It treats the order id as its
        // idempotency key.
        let decision = self
            .provider
            .charge(order_id, placed.total_cents, &placed.currency)
            .await;
        let decided = PaymentDecided {
            status: match decision {
                Decision::Approved => PaymentStatus::Captured,
                Decision::Declined { .. } => PaymentStatus::Declined,
            },
            amount_cents: placed.total_cents,
            currency: placed.currency,
            decline_reason: match decision {
                Decision::Approved => None,
                Decision::Declined { reason } => Some(reason),
            },
        };
        let once = Once {
            consumer: PAYMENTS_CONSUMER,
            event_id: &event.id,
        };
        let status = decided.status;
        // A payment already there (a redelivery racing the check above) is kept as it is.
        let recorded = self
            .payments
            .start::<HandleError>(order_id, Some(once), decided)
            .await?;
        if recorded.appended.is_some() {
            tracing::info!(%order_id, status = status.as_str(), "payment recorded");
        }
        Ok(())
    }
}

impl<P: PaymentProvider> On<pb::BillingRequested> for BillingHandler<P> {
    async fn on(
        &self,
        event: &IncomingEvent,
        requested: pb::BillingRequested,
    ) -> Result<(), HandleError> {
        let order = NewBillingOrder::parse(
            &requested.request_id,
            requested.user_id,
            requested.number_of_items,
            requested.total_amount_cents,
            requested
                .request_time
                .as_ref()
                .and_then(mesh_proto::from_timestamp),
        )
        .map_err(|err| HandleError::Permanent(format!("invalid billing request: {err}")))?;
        let order = &order;
        apply_once(self.payments.pool(), REQUESTS_CONSUMER, &event.id, |conn| {
            async move {
                if db::insert_billing_order(conn, order).await? {
                    tracing::info!(request_id = %order.request_id, user_id = order.user_id, "billing order stored");
                }
                Ok(())
            }
            .scope_boxed()
        })
        .await?;
        Ok(())
    }
}
