//! The orders read model (`orders`, `order_lines`: the [`Orders`] projection, the fold of each
//! order's events) and every query on it, and the idempotency keys of placed orders. Events
//! live in the event store's `events` table (see `mesh_events::event_store`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
    result::{DatabaseErrorKind, Error as DieselError},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use mesh_events::aggregate::Projection;

use crate::domain::{Order, OrderLine, OrderStatus, PageToken};

pub const MIGRATIONS: mesh_kit::db::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

pub mod schema {
    diesel::table! {
        orders (id) {
            id -> Uuid,
            customer_id -> Text,
            status -> Text,
            total_cents -> Int8,
            currency -> Bpchar,
            delivery_address -> Text,
            version -> Int8,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        order_lines (order_id, line_no) {
            order_id -> Uuid,
            line_no -> Int4,
            menu_item_id -> Uuid,
            name -> Text,
            unit_price_cents -> Int8,
            quantity -> Int4,
        }
    }

    diesel::table! {
        idempotency_keys (key) {
            key -> Text,
            order_id -> Uuid,
        }
    }

    diesel::joinable!(order_lines -> orders (order_id));
    diesel::allow_tables_to_appear_in_same_query!(orders, order_lines, idempotency_keys);
}

use schema::{idempotency_keys, order_lines, orders};

type QueryResult<T> = Result<T, DieselError>;

#[derive(Queryable, Selectable)]
#[diesel(table_name = orders)]
struct OrderRow {
    id: Uuid,
    customer_id: String,
    status: String,
    total_cents: i64,
    currency: String,
    delivery_address: String,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = order_lines)]
struct LineRow {
    order_id: Uuid,
    menu_item_id: Uuid,
    name: String,
    unit_price_cents: i64,
    quantity: i32,
}

impl OrderRow {
    fn into_order(self, lines: Vec<OrderLine>) -> QueryResult<Order> {
        // The CHECK constraint admits only known statuses; anything else is a corrupt row.
        let status = OrderStatus::parse(&self.status).ok_or_else(|| {
            DieselError::DeserializationError(
                format!("unknown order status {:?}", self.status).into(),
            )
        })?;
        Ok(Order {
            id: self.id,
            customer_id: self.customer_id,
            lines,
            delivery_address: self.delivery_address,
            status,
            total_cents: self.total_cents,
            currency: self.currency,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The read model of orders, written by `mesh_events::aggregate` with every event.
pub struct Orders;

impl Projection for Orders {
    type Aggregate = Order;

    async fn insert(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
        insert(conn, order).await
    }

    async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Order>> {
        load(conn, id, true).await
    }

    async fn update(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
        save_state(conn, order).await
    }

    async fn clear(conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::delete(order_lines::table).execute(conn).await?;
        diesel::delete(orders::table).execute(conn).await?;
        Ok(())
    }
}

/// Inserts a new order and its lines.
async fn insert(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(order.id),
            orders::customer_id.eq(&order.customer_id),
            orders::status.eq(order.status.as_str()),
            orders::total_cents.eq(order.total_cents),
            orders::currency.eq(&order.currency),
            orders::delivery_address.eq(&order.delivery_address),
            orders::version.eq(order.version),
            orders::created_at.eq(order.created_at),
            orders::updated_at.eq(order.updated_at),
        ))
        .execute(conn)
        .await?;
    let lines: Vec<_> = order
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            (
                order_lines::order_id.eq(order.id),
                order_lines::line_no.eq(i32::try_from(index).unwrap_or(i32::MAX)),
                order_lines::menu_item_id.eq(line.menu_item_id),
                order_lines::name.eq(&line.name),
                order_lines::unit_price_cents.eq(line.unit_price_cents),
                order_lines::quantity.eq(line.quantity),
            )
        })
        .collect();
    diesel::insert_into(order_lines::table)
        .values(lines)
        .execute(conn)
        .await?;
    Ok(())
}

/// Why an idempotency key could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Another order already has this idempotency key (a concurrent retry won).
    #[error("idempotency key already used")]
    Taken,
    #[error(transparent)]
    Query(#[from] DieselError),
}

/// Remembers that `key` placed `order_id`, in the placement's transaction.
pub async fn keep_idempotency_key(
    conn: &mut AsyncPgConnection,
    key: &str,
    order_id: Uuid,
) -> Result<(), KeyError> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::key.eq(key),
            idempotency_keys::order_id.eq(order_id),
        ))
        .execute(conn)
        .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(KeyError::Taken)
        }
        Err(err) => Err(err.into()),
    }
}

/// The order placed with this idempotency key, if any.
pub async fn find_by_idempotency_key(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> QueryResult<Option<Uuid>> {
    idempotency_keys::table
        .find(key)
        .select(idempotency_keys::order_id)
        .first(conn)
        .await
        .optional()
}

/// One order with its lines. With `for_update`, the row stays locked until the transaction
/// ends, so two writers of one order take turns.
pub async fn load(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    for_update: bool,
) -> QueryResult<Option<Order>> {
    let query = orders::table.find(id).select(OrderRow::as_select());
    let row = if for_update {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    with_lines(conn, row).await
}

/// One order to read, with its lines only if `lines` (one query less without them).
pub async fn read(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lines: bool,
) -> QueryResult<Option<Order>> {
    let row = orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()?;
    if lines {
        with_lines(conn, row).await
    } else {
        row.map(|row| row.into_order(Vec::new())).transpose()
    }
}

/// The order of `row`, with its lines.
async fn with_lines(
    conn: &mut AsyncPgConnection,
    row: Option<OrderRow>,
) -> QueryResult<Option<Order>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let id = row.id;
    let mut lines = lines_of(conn, &[id]).await?;
    row.into_order(lines.remove(&id).unwrap_or_default())
        .map(Some)
}

async fn lines_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<OrderLine>>> {
    let rows: Vec<LineRow> = order_lines::table
        .filter(order_lines::order_id.eq_any(ids))
        .order((order_lines::order_id, order_lines::line_no))
        .select(LineRow::as_select())
        .load(conn)
        .await?;
    let mut lines: HashMap<Uuid, Vec<OrderLine>> = HashMap::new();
    for row in rows {
        lines.entry(row.order_id).or_default().push(OrderLine {
            menu_item_id: row.menu_item_id,
            name: row.name,
            unit_price_cents: row.unit_price_cents,
            quantity: row.quantity,
        });
    }
    Ok(lines)
}

/// Writes the order's new status and version after an event was appended.
async fn save_state(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    diesel::update(orders::table.find(order.id))
        .set((
            orders::status.eq(order.status.as_str()),
            orders::version.eq(order.version),
            orders::updated_at.eq(order.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A page of a customer's orders, newest first. Asks for one more than `limit` so the caller
/// knows whether another page exists.
pub async fn list_by_customer(
    conn: &mut AsyncPgConnection,
    customer_id: &str,
    after: Option<&PageToken>,
    limit: i64,
) -> QueryResult<Vec<Order>> {
    let mut query = orders::table
        .filter(orders::customer_id.eq(customer_id))
        .into_boxed();
    if let Some(token) = after {
        query = query.filter(
            orders::created_at
                .lt(token.created_at)
                .or(orders::created_at
                    .eq(token.created_at)
                    .and(orders::id.lt(token.id))),
        );
    }
    let rows: Vec<OrderRow> = query
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(limit + 1)
        .select(OrderRow::as_select())
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut lines = lines_of(conn, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let order_lines = lines.remove(&row.id).unwrap_or_default();
            row.into_order(order_lines)
        })
        .collect()
}
