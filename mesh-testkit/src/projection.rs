//! Read models against their events: a table's rows as JSON, to compare the live projection with
//! the one a rebuild writes, and old events written straight into a service's event store, as a
//! release before a schema change would have left them.

use diesel::{QueryableByName, sql_types::Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use mesh_kit::config::DatabaseConfig;
use uuid::Uuid;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

async fn connection(database: &DatabaseConfig) -> AsyncPgConnection {
    AsyncPgConnection::establish(&database.url())
        .await
        .expect("a connection to the test's database")
}

/// Every row of `table`, as JSON text, ordered by `key` (trusted test input, not a client's).
pub async fn rows(database: &DatabaseConfig, table: &str, key: &str) -> Vec<String> {
    let mut conn = connection(database).await;
    diesel::sql_query(format!(
        "SELECT row_to_json(t)::text AS row FROM {table} t ORDER BY {key}"
    ))
    .load::<Row>(&mut conn)
    .await
    .expect("the table reads")
    .into_iter()
    .map(|row| row.row)
    .collect()
}

/// An event as an older release stored it: `payload` is its JSON at `schema_version`.
pub struct OldEvent<'a> {
    pub aggregate_id: Uuid,
    pub sequence: i64,
    pub event_type: &'a str,
    pub schema_version: i32,
    pub payload: serde_json::Value,
}

/// Writes `event` into the service's `events` table, bypassing today's encoder (and the outbox:
/// it was published long ago).
pub async fn store_old_event(database: &DatabaseConfig, event: OldEvent<'_>) -> Uuid {
    let mut conn = connection(database).await;
    let id = Uuid::new_v4();
    diesel::sql_query(
        "INSERT INTO events (id, aggregate_id, sequence, event_type, payload, schema_version, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Uuid, _>(event.aggregate_id)
    .bind::<diesel::sql_types::BigInt, _>(event.sequence)
    .bind::<Text, _>(event.event_type)
    .bind::<diesel::sql_types::Jsonb, _>(event.payload)
    .bind::<diesel::sql_types::Integer, _>(event.schema_version)
    .execute(&mut conn)
    .await
    .expect("the old event is stored");
    id
}
