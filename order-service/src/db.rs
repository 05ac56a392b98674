//! The orders read model (`orders`, `order_lines`: the [`Orders`] projection, the fold of each
//! order's events) and every query on it, and the idempotency keys of placed orders. Events
//! live in the event store's `events` table (see `mesh_events::event_store`).

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
    dsl::sql,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types::{Array, BigInt, Integer, Record, Text, Timestamptz, Uuid as SqlUuid},
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

/// An order's lines, in their order, as one array column of the order's own row: an order and
/// its lines are one query, for a read as for the command that locks it.
const LINES: &str = "ARRAY(SELECT ROW(l.menu_item_id, l.name, l.unit_price_cents, l.quantity) \
     FROM order_lines l WHERE l.order_id = orders.id ORDER BY l.line_no)";

type LinesSql = Array<Record<(SqlUuid, Text, BigInt, Integer)>>;

/// A line as [`LINES`] lists it: menu item, name, unit price, quantity.
type LineRow = (Uuid, String, i64, i32);

fn lines() -> diesel::expression::SqlLiteral<LinesSql> {
    sql::<LinesSql>(LINES)
}

impl OrderRow {
    fn into_order(self, lines: Vec<LineRow>) -> QueryResult<Order> {
        // The CHECK constraint admits only known statuses; anything else is a corrupt row.
        let status = OrderStatus::parse(&self.status).ok_or_else(|| {
            DieselError::DeserializationError(
                format!("unknown order status {:?}", self.status).into(),
            )
        })?;
        let lines = lines
            .into_iter()
            .map(
                |(menu_item_id, name, unit_price_cents, quantity)| OrderLine {
                    menu_item_id,
                    name,
                    unit_price_cents,
                    quantity,
                },
            )
            .collect();
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

/// A new order and its lines, in one statement: the lines' foreign key sees the order the
/// same statement's CTE inserted. `$1`..`$9`: the order's columns; `$10`..`$13`: the lines'
/// columns as arrays, in line order.
const INSERT: &str = "\
WITH placed AS (
    INSERT INTO orders (id, customer_id, status, total_cents, currency, delivery_address, version, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
)
INSERT INTO order_lines (order_id, line_no, menu_item_id, name, unit_price_cents, quantity)
SELECT $1, (line.no - 1)::int4, line.menu_item_id, line.name, line.unit_price_cents, line.quantity
FROM unnest($10::uuid[], $11::text[], $12::int8[], $13::int4[])
    WITH ORDINALITY AS line (menu_item_id, name, unit_price_cents, quantity, no)";

/// Inserts a new order and its lines.
async fn insert(conn: &mut AsyncPgConnection, order: &Order) -> QueryResult<()> {
    let lines = &order.lines;
    diesel::sql_query(INSERT)
        .bind::<SqlUuid, _>(order.id)
        .bind::<Text, _>(&order.customer_id)
        .bind::<Text, _>(order.status.as_str())
        .bind::<BigInt, _>(order.total_cents)
        .bind::<Text, _>(&order.currency)
        .bind::<Text, _>(&order.delivery_address)
        .bind::<BigInt, _>(order.version)
        .bind::<Timestamptz, _>(order.created_at)
        .bind::<Timestamptz, _>(order.updated_at)
        .bind::<Array<SqlUuid>, _>(lines.iter().map(|l| l.menu_item_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(lines.iter().map(|l| l.name.as_str()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(lines.iter().map(|l| l.unit_price_cents).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(lines.iter().map(|l| l.quantity).collect::<Vec<_>>())
        .execute(conn)
        .await
        .map(drop)
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
    let query = orders::table
        .find(id)
        .select((OrderRow::as_select(), lines()));
    let row: Option<(OrderRow, Vec<LineRow>)> = if for_update {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    row.map(|(row, lines)| row.into_order(lines)).transpose()
}

/// One order to read, with its lines only if `lines`.
pub async fn read(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lines: bool,
) -> QueryResult<Option<Order>> {
    if lines {
        return load(conn, id, false).await;
    }
    let row: Option<OrderRow> = orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(|row| row.into_order(Vec::new())).transpose()
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
    let rows: Vec<(OrderRow, Vec<LineRow>)> = query
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(limit + 1)
        .select((OrderRow::as_select(), lines()))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(row, lines)| row.into_order(lines))
        .collect()
}
