//! What billing-service does with the events it consumes: it charges placed orders (from
//! `order-events`, publishing the outcome on `billing-events`) and stores billing requests (from
//! `billing-requests`). Both exactly once, however often a record is delivered.

use chrono::{SubsecRound, Utc};
use diesel_async::scoped_futures::ScopedFutureExt;
use mesh_kit::{
    consumer::{Applied, HandleError, Handler, IncomingEvent, apply_once},
    db::PgPool,
    event_store::{self, AppendError, NewEvent},
    kafka::BILLING_EVENTS,
    relay::OutboxSignal,
};
use mesh_proto::events::v1 as pb;
use uuid::Uuid;

use crate::{
    db,
    domain::{NewBillingOrder, Payment, PaymentStatus},
    provider::{Decision, PaymentProvider},
};

/// The names under which this service's consumers record the events they applied (and their
/// consumer groups).
pub const PAYMENTS_CONSUMER: &str = "billing-service";
pub const REQUESTS_CONSUMER: &str = "billing-service-requests";

// === payments ===

/// Charges each placed order once and publishes the outcome.
pub struct PaymentHandler<P> {
    pool: PgPool,
    provider: P,
    signal: OutboxSignal,
}

impl<P: PaymentProvider> PaymentHandler<P> {
    pub fn new(pool: PgPool, provider: P, signal: OutboxSignal) -> Self {
        Self {
            pool,
            provider,
            signal,
        }
    }
}

impl<P: PaymentProvider> Handler for PaymentHandler<P> {
    async fn handle(&self, event: &IncomingEvent) -> Result<(), HandleError> {
        if !event.is::<pb::OrderPlaced>() {
            return Ok(());
        }
        let placed: pb::OrderPlaced = event.decode()?;
        let order_id = Uuid::parse_str(&placed.order_id).map_err(|_| {
            HandleError::Permanent(format!("order id {:?} is not a UUID", placed.order_id))
        })?;
        if placed.total_cents < 0 {
            return Err(HandleError::Permanent(format!(
                "order {order_id} has a negative total"
            )));
        }
        {
            // A redelivered order was charged already: record nothing new.
            let mut conn = self.pool.get().await.map_err(mesh_kit::StoreError::from)?;
            if db::payment(&mut conn, order_id).await?.is_some() {
                return Ok(());
            }
        }
        // The provider is called outside any transaction: no connection is held while it
        // thinks. It treats the order id as its idempotency key.
        let decision = self
            .provider
            .charge(order_id, placed.total_cents, &placed.currency)
            .await;
        let payment = Payment {
            order_id,
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
            created_at: Utc::now().trunc_subsecs(6),
        };
        let request_id = event.request_id.as_deref();
        let payment = &payment;
        let applied = apply_once(&self.pool, PAYMENTS_CONSUMER, &event.id, |conn| {
            async move {
                if !db::insert_payment(conn, payment).await? {
                    return Ok(());
                }
                let key = order_id.to_string();
                let appended = match payment.status {
                    PaymentStatus::Captured => {
                        append(
                            conn,
                            order_id,
                            &key,
                            request_id,
                            &pb::PaymentCaptured {
                                order_id: key.clone(),
                                amount_cents: payment.amount_cents,
                                currency: payment.currency.clone(),
                            },
                        )
                        .await
                    }
                    PaymentStatus::Declined => {
                        append(
                            conn,
                            order_id,
                            &key,
                            request_id,
                            &pb::PaymentDeclined {
                                order_id: key.clone(),
                                amount_cents: payment.amount_cents,
                                currency: payment.currency.clone(),
                                reason: payment.decline_reason.clone().unwrap_or_default(),
                            },
                        )
                        .await
                    }
                };
                appended?;
                tracing::info!(%order_id, status = payment.status.as_str(), "payment recorded");
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

/// Appends the payment's outcome: the first and only event of the order's payment stream.
async fn append<M: mesh_proto::Message + mesh_proto::Name>(
    conn: &mut diesel_async::AsyncPgConnection,
    order_id: Uuid,
    key: &str,
    request_id: Option<&str>,
    payload: &M,
) -> Result<(), AppendError> {
    event_store::append(
        conn,
        NewEvent {
            aggregate_id: order_id,
            sequence: 1,
            topic: BILLING_EVENTS,
            key,
            payload,
            request_id,
        },
    )
    .await
    .map(drop)
}

// === billing requests ===

/// Stores each billing request once. Anything on `billing-requests` that is not a valid
/// `BillingRequested` goes to the dead-letter topic with the reason.
#[derive(Clone)]
pub struct RequestHandler {
    pool: PgPool,
}

impl RequestHandler {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl Handler for RequestHandler {
    async fn handle(&self, event: &IncomingEvent) -> Result<(), HandleError> {
        if !event.is::<pb::BillingRequested>() {
            return Err(HandleError::Permanent(format!(
                "billing-requests carries BillingRequested events, not {}",
                event.event_type
            )));
        }
        let requested: pb::BillingRequested = event.decode()?;
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
        apply_once(&self.pool, REQUESTS_CONSUMER, &event.id, |conn| {
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
