//! The deliveries read model (`deliveries`: the [`Deliveries`] projection, the fold of each
//! delivery's events) and every query on it. Events live in the event store's `events` table
//! (see `mesh_events::event_store`).

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
    result::Error as DieselError,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mesh_events::aggregate::Projection;
use uuid::Uuid;

use crate::domain::{Delivery, DeliveryStatus};

pub const MIGRATIONS: mesh_kit::db::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

pub mod schema {
    diesel::table! {
        deliveries (order_id) {
            order_id -> Uuid,
            status -> Text,
            courier -> Nullable<Text>,
            delivery_address -> Text,
            version -> Int8,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }
}

use schema::deliveries;

type QueryResult<T> = Result<T, DieselError>;

#[derive(Queryable, Selectable)]
#[diesel(table_name = deliveries)]
struct DeliveryRow {
    order_id: Uuid,
    status: String,
    courier: Option<String>,
    delivery_address: String,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = DieselError;

    fn try_from(row: DeliveryRow) -> QueryResult<Self> {
        // The CHECK constraint admits only known statuses; anything else is a corrupt row.
        let status = DeliveryStatus::parse(&row.status).ok_or_else(|| {
            DieselError::DeserializationError(
                format!("unknown delivery status {:?}", row.status).into(),
            )
        })?;
        Ok(Delivery {
            order_id: row.order_id,
            status,
            courier: row.courier,
            delivery_address: row.delivery_address,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The read model of deliveries, written by `mesh_events::aggregate` with every event.
pub struct Deliveries;

impl Projection for Deliveries {
    type Aggregate = Delivery;

    async fn insert(conn: &mut AsyncPgConnection, delivery: &Delivery) -> QueryResult<()> {
        insert(conn, delivery).await
    }

    async fn lock(conn: &mut AsyncPgConnection, order_id: Uuid) -> QueryResult<Option<Delivery>> {
        load(conn, order_id, true).await
    }

    async fn update(conn: &mut AsyncPgConnection, delivery: &Delivery) -> QueryResult<()> {
        save_state(conn, delivery).await
    }

    async fn clear(conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::delete(deliveries::table)
            .execute(conn)
            .await
            .map(drop)
    }
}

/// Inserts a new delivery (its opening event was appended at sequence 1 first, so a second
/// one for the same order fails there).
async fn insert(conn: &mut AsyncPgConnection, delivery: &Delivery) -> QueryResult<()> {
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::order_id.eq(delivery.order_id),
            deliveries::status.eq(delivery.status.as_str()),
            deliveries::courier.eq(delivery.courier.as_deref()),
            deliveries::delivery_address.eq(&delivery.delivery_address),
            deliveries::version.eq(delivery.version),
            deliveries::created_at.eq(delivery.created_at),
            deliveries::updated_at.eq(delivery.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// One order's delivery. With `for_update`, the row stays locked until the transaction ends,
/// so two writers of one delivery take turns.
pub async fn load(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
    for_update: bool,
) -> QueryResult<Option<Delivery>> {
    let query = deliveries::table
        .find(order_id)
        .select(DeliveryRow::as_select());
    let row = if for_update {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    row.map(Delivery::try_from).transpose()
}

/// The deliveries of the given orders, those that have one.
pub async fn load_many(
    conn: &mut AsyncPgConnection,
    order_ids: &[Uuid],
) -> QueryResult<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = deliveries::table
        .filter(deliveries::order_id.eq_any(order_ids))
        .select(DeliveryRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(Delivery::try_from).collect()
}

/// Writes the delivery's new state after an event was appended.
async fn save_state(conn: &mut AsyncPgConnection, delivery: &Delivery) -> QueryResult<()> {
    diesel::update(deliveries::table.find(delivery.order_id))
        .set((
            deliveries::status.eq(delivery.status.as_str()),
            deliveries::courier.eq(delivery.courier.as_deref()),
            deliveries::version.eq(delivery.version),
            deliveries::updated_at.eq(delivery.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}
