//! billing-service's tables (`payments`: the [`Payments`] projection, the fold of each order's
//! payment event; `billing_orders`) and every query on them. Events live in the event store's
//! `events` table (see `mesh_events::event_store`).

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
    result::Error as DieselError,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mesh_events::aggregate::Projection;
use uuid::Uuid;

use crate::domain::{BillingOrder, NewBillingOrder, PageToken, Payment, PaymentStatus};

pub const MIGRATIONS: mesh_kit::db::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

pub mod schema {
    diesel::table! {
        payments (order_id) {
            order_id -> Uuid,
            status -> Text,
            amount_cents -> Int8,
            currency -> Bpchar,
            decline_reason -> Nullable<Text>,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        billing_orders (id) {
            id -> Int8,
            request_id -> Uuid,
            user_id -> Int8,
            number_of_items -> Int8,
            total_amount_cents -> Int8,
            received_at -> Timestamptz,
            processed_at -> Timestamptz,
        }
    }

    diesel::table! {
        reserved_request_ids (request_id) {
            request_id -> Uuid,
            user_id -> Int8,
            number_of_items -> Int8,
            total_amount_cents -> Int8,
            reserved_at -> Timestamptz,
        }
    }
}

use schema::{billing_orders, payments, reserved_request_ids};

type QueryResult<T> = Result<T, DieselError>;

#[derive(Queryable, Selectable)]
#[diesel(table_name = payments)]
struct PaymentRow {
    order_id: Uuid,
    status: String,
    amount_cents: i64,
    currency: String,
    decline_reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = DieselError;

    fn try_from(row: PaymentRow) -> QueryResult<Self> {
        // The CHECK constraint admits only known statuses; anything else is a corrupt row.
        let status = PaymentStatus::parse(&row.status).ok_or_else(|| {
            DieselError::DeserializationError(
                format!("unknown payment status {:?}", row.status).into(),
            )
        })?;
        Ok(Payment {
            order_id: row.order_id,
            status,
            amount_cents: row.amount_cents,
            currency: row.currency,
            decline_reason: row.decline_reason,
            created_at: row.created_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = billing_orders)]
struct BillingOrderRow {
    id: i64,
    request_id: Uuid,
    user_id: i64,
    number_of_items: i64,
    total_amount_cents: i64,
    received_at: DateTime<Utc>,
    processed_at: DateTime<Utc>,
}

impl From<BillingOrderRow> for BillingOrder {
    fn from(row: BillingOrderRow) -> Self {
        Self {
            id: row.id,
            request_id: row.request_id,
            user_id: row.user_id,
            number_of_items: row.number_of_items,
            total_amount_cents: row.total_amount_cents,
            received_at: row.received_at,
            processed_at: row.processed_at,
        }
    }
}

/// The read model of payments, written by `mesh_events::aggregate` with the payment's event.
pub struct Payments;

impl Projection for Payments {
    type Aggregate = Payment;

    /// The payment's event was appended at sequence 1 first, so a second payment of one
    /// order fails there.
    async fn insert(conn: &mut AsyncPgConnection, payment: &Payment) -> QueryResult<()> {
        diesel::insert_into(payments::table)
            .values((
                payments::order_id.eq(payment.order_id),
                payments::status.eq(payment.status.as_str()),
                payments::amount_cents.eq(payment.amount_cents),
                payments::currency.eq(&payment.currency),
                payments::decline_reason.eq(payment.decline_reason.as_deref()),
                payments::created_at.eq(payment.created_at),
            ))
            .execute(conn)
            .await
            .map(drop)
    }

    /// A payment has one event: nothing ever moves it on.
    async fn lock(conn: &mut AsyncPgConnection, order_id: Uuid) -> QueryResult<Option<Payment>> {
        payments::table
            .find(order_id)
            .select(PaymentRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .map(Payment::try_from)
            .transpose()
    }

    async fn update(_: &mut AsyncPgConnection, _: &Payment) -> QueryResult<()> {
        Ok(())
    }

    async fn clear(conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::delete(payments::table)
            .execute(conn)
            .await
            .map(drop)
    }
}

/// The payments of the given orders, those that have one.
pub async fn payments_of(
    conn: &mut AsyncPgConnection,
    order_ids: &[Uuid],
) -> QueryResult<Vec<Payment>> {
    let rows: Vec<PaymentRow> = payments::table
        .filter(payments::order_id.eq_any(order_ids))
        .select(PaymentRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(Payment::try_from).collect()
}

pub async fn payment(conn: &mut AsyncPgConnection, order_id: Uuid) -> QueryResult<Option<Payment>> {
    payments::table
        .find(order_id)
        .select(PaymentRow::as_select())
        .first(conn)
        .await
        .optional()?
        .map(Payment::try_from)
        .transpose()
}

/// Stores a billing order. Returns false when its request was stored before.
pub async fn insert_billing_order(
    conn: &mut AsyncPgConnection,
    order: &NewBillingOrder,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(billing_orders::table)
        .values((
            billing_orders::request_id.eq(order.request_id),
            billing_orders::user_id.eq(order.user_id),
            billing_orders::number_of_items.eq(order.number_of_items),
            billing_orders::total_amount_cents.eq(order.total_amount_cents),
            billing_orders::received_at.eq(order.received_at),
        ))
        .on_conflict(billing_orders::request_id)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// What reserving a request id found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved now, for this request.
    First,
    /// Reserved before, for this same request: a retry.
    Retry,
    /// Reserved before, for another request.
    Taken,
}

/// Binds `order.request_id` to the request `order` describes, unless it is bound already; its
/// receive time is not part of the request.
pub async fn reserve_request_id(
    conn: &mut AsyncPgConnection,
    order: &NewBillingOrder,
) -> QueryResult<Reservation> {
    let inserted = diesel::insert_into(reserved_request_ids::table)
        .values((
            reserved_request_ids::request_id.eq(order.request_id),
            reserved_request_ids::user_id.eq(order.user_id),
            reserved_request_ids::number_of_items.eq(order.number_of_items),
            reserved_request_ids::total_amount_cents.eq(order.total_amount_cents),
        ))
        .on_conflict(reserved_request_ids::request_id)
        .do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Reservation::First);
    }
    let reserved: (i64, i64, i64) = reserved_request_ids::table
        .find(order.request_id)
        .select((
            reserved_request_ids::user_id,
            reserved_request_ids::number_of_items,
            reserved_request_ids::total_amount_cents,
        ))
        .first(conn)
        .await?;
    let requested = (
        order.user_id,
        order.number_of_items,
        order.total_amount_cents,
    );
    Ok(if reserved == requested {
        Reservation::Retry
    } else {
        Reservation::Taken
    })
}

pub async fn billing_order(
    conn: &mut AsyncPgConnection,
    request_id: Uuid,
) -> QueryResult<Option<BillingOrder>> {
    billing_orders::table
        .filter(billing_orders::request_id.eq(request_id))
        .select(BillingOrderRow::as_select())
        .first(conn)
        .await
        .optional()
        .map(|row| row.map(BillingOrder::from))
}

/// A page of a user's billing orders, oldest first. Asks for one more than `limit` so the
/// caller knows whether another page exists.
pub async fn billing_orders_of(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    after: Option<PageToken>,
    limit: i64,
) -> QueryResult<Vec<BillingOrder>> {
    let mut query = billing_orders::table
        .filter(billing_orders::user_id.eq(user_id))
        .into_boxed();
    if let Some(token) = after {
        query = query.filter(billing_orders::id.gt(token.after_id));
    }
    let rows: Vec<BillingOrderRow> = query
        .order(billing_orders::id.asc())
        .limit(limit + 1)
        .select(BillingOrderRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(BillingOrder::from).collect())
}
