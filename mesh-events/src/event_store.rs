//! The event store of an event-sourced service: events are appended to an append-only table in
//! the same transaction as the read-model update and an outbox row, so state, history and what
//! gets published can never disagree. [`crate::relay`] publishes the outbox; consumers record
//! what they applied with [`claim`]. [`crate::aggregate`] builds aggregates and their read
//! models on top of it.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, QueryableByName, Selectable,
    SelectableHelper,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_types as sql,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mesh_proto::json::{self, JsonError};
use prost::{Message, Name};
use uuid::Uuid;

use mesh_kit::db::EmbeddedMigrations;

/// The tables of the event store. Run them with the service's own migrations.
pub const MIGRATIONS: EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations");

/// The unique `(aggregate_id, sequence)` constraint that makes concurrent appends safe.
const SEQUENCE_CONSTRAINT: &str = "events_aggregate_sequence_key";

pub mod schema {
    diesel::table! {
        events (id) {
            id -> Uuid,
            aggregate_id -> Uuid,
            sequence -> Int8,
            event_type -> Text,
            payload -> Jsonb,
            request_id -> Nullable<Text>,
            occurred_at -> Timestamptz,
            schema_version -> Int4,
        }
    }

    diesel::table! {
        outbox (id) {
            id -> Int8,
            event_id -> Uuid,
            topic -> Text,
            record_key -> Text,
            event_type -> Text,
            payload -> Text,
            request_id -> Nullable<Text>,
            occurred_at -> Timestamptz,
            sent_at -> Nullable<Timestamptz>,
            traceparent -> Nullable<Text>,
            schema_version -> Int4,
        }
    }

    diesel::table! {
        processed_events (consumer, event_id) {
            consumer -> Text,
            event_id -> Text,
            processed_at -> Timestamptz,
        }
    }

    diesel::joinable!(outbox -> events (event_id));
    diesel::allow_tables_to_appear_in_same_query!(events, outbox, processed_events);
}

use schema::{events, processed_events};

/// An event's payload, encoded once for the store and the wire.
#[derive(Clone, Debug)]
pub struct EventPayload {
    /// The message's full proto name: the CloudEvents type.
    pub event_type: String,
    /// Canonical proto3 JSON, exactly what is stored and published: encoded once from the
    /// message, written as text only for Kafka.
    pub json: serde_json::Value,
    /// The version of the type's schema it is written with.
    pub schema_version: i32,
}

impl EventPayload {
    /// `message` as the event store and Kafka carry it.
    pub fn of<M: Message + Name>(message: &M) -> Result<Self, JsonError> {
        let event_type = M::full_name();
        Ok(Self {
            schema_version: mesh_kafka::schema::current_version(&event_type),
            json: json::to_value(message)?,
            event_type,
        })
    }
}

/// One event to append.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub aggregate_id: Uuid,
    /// The position this event takes: the aggregate's current version plus one.
    pub sequence: i64,
    /// The logical topic it is published to.
    pub topic: &'a str,
    /// The record key: the order id, so every event of an order lands on one partition.
    pub key: &'a str,
    pub payload: EventPayload,
}

/// An event as the store holds it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct StoredEvent {
    pub id: Uuid,
    pub aggregate_id: Uuid,
    pub sequence: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub schema_version: i32,
}

impl StoredEvent {
    /// Whether the payload is an `M`.
    pub fn is<M: Name>(&self) -> bool {
        self.event_type == M::full_name()
    }

    /// The payload as its proto message, upcast to the current schema first. Fails when `M`
    /// is not the stored type.
    pub fn decode<M: Message + Name + Default>(&self) -> Result<M, JsonError> {
        if !self.is::<M>() {
            return Err(JsonError::Decode {
                type_name: M::full_name(),
                reason: format!("the stored event is a {}", self.event_type),
            });
        }
        mesh_kafka::schema::MESH.decode_value(&self.event_type, self.schema_version, &self.payload)
    }

    /// The event as it was published, for a reader outside the service (an order's history).
    pub fn record(&self) -> mesh_proto::events::v1::EventRecord {
        mesh_proto::events::v1::EventRecord {
            id: self.id.to_string(),
            r#type: self.event_type.clone(),
            time: Some(mesh_proto::timestamp(self.occurred_at)),
            data: self.payload.to_string(),
            schema_version: self.schema_version,
        }
    }
}

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Someone else appended at this position first. Reload the aggregate and decide again.
    #[error("aggregate {aggregate_id} already has an event at sequence {sequence}")]
    Conflict { aggregate_id: Uuid, sequence: i64 },
    #[error(transparent)]
    Encode(#[from] JsonError),
    /// The event cannot start a stream (a bug of the caller, not a condition to retry).
    #[error("{0}")]
    NotAStart(String),
    #[error(transparent)]
    Store(DieselError),
}

impl From<DieselError> for AppendError {
    fn from(err: DieselError) -> Self {
        Self::Store(err)
    }
}

/// The event and its outbox row, in one statement. `$1`..`$8`: the event's columns; `$9`..`$12`:
/// the topic, the record key, the payload as published, the trace context.
const APPEND: &str = "\
WITH event AS (
    INSERT INTO events (id, aggregate_id, sequence, event_type, payload, request_id, occurred_at, schema_version)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
)
INSERT INTO outbox (event_id, topic, record_key, event_type, payload, schema_version, request_id, occurred_at, traceparent)
VALUES ($1, $9, $10, $4, $11, $8, $6, $7, $12)";

/// Appends `event` and its outbox row. Call it inside the transaction that updates the read
/// model; the caller wakes the relay after the commit.
pub async fn append(
    conn: &mut AsyncPgConnection,
    event: NewEvent<'_>,
) -> Result<StoredEvent, AppendError> {
    let payload = event.payload;
    // The Kafka payload: the one time the event is written out as text.
    let published = payload.json.to_string();
    let stored = StoredEvent {
        id: Uuid::new_v4(),
        aggregate_id: event.aggregate_id,
        sequence: event.sequence,
        event_type: payload.event_type,
        payload: payload.json,
        // The request that caused it, as the trace context: carried for the command.
        request_id: mesh_kit::context::request_id().map(|id| id.to_string()),
        // PostgreSQL keeps microseconds; so do we, so a re-read event equals the appended one.
        occurred_at: Utc::now().trunc_subsecs(6),
        schema_version: payload.schema_version,
    };
    // One statement writes both rows: the outbox row's foreign key sees the event inserted
    // by the same statement's CTE.
    let inserted = diesel::sql_query(APPEND)
        .bind::<sql::Uuid, _>(stored.id)
        .bind::<sql::Uuid, _>(stored.aggregate_id)
        .bind::<sql::BigInt, _>(stored.sequence)
        .bind::<sql::Text, _>(&stored.event_type)
        .bind::<sql::Jsonb, _>(&stored.payload)
        .bind::<sql::Nullable<sql::Text>, _>(&stored.request_id)
        .bind::<sql::Timestamptz, _>(stored.occurred_at)
        .bind::<sql::Integer, _>(stored.schema_version)
        .bind::<sql::Text, _>(event.topic)
        .bind::<sql::Text, _>(event.key)
        .bind::<sql::Text, _>(&published)
        .bind::<sql::Nullable<sql::Text>, _>(mesh_kit::telemetry::trace_context::current())
        .execute(conn)
        .await;
    match inserted {
        Ok(_) => {}
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.constraint_name() == Some(SEQUENCE_CONSTRAINT) =>
        {
            return Err(AppendError::Conflict {
                aggregate_id: stored.aggregate_id,
                sequence: stored.sequence,
            });
        }
        Err(err) => return Err(err.into()),
    }
    Ok(stored)
}

/// Every event of an aggregate, oldest first.
pub async fn history(
    conn: &mut AsyncPgConnection,
    aggregate_id: Uuid,
) -> Result<Vec<StoredEvent>, DieselError> {
    events::table
        .filter(events::aggregate_id.eq(aggregate_id))
        .order(events::sequence.asc())
        .select(StoredEvent::as_select())
        .load(conn)
        .await
}

/// Every event of the given aggregates, each aggregate's oldest first.
pub async fn histories(
    conn: &mut AsyncPgConnection,
    aggregate_ids: &[Uuid],
) -> Result<Vec<StoredEvent>, DieselError> {
    events::table
        .filter(events::aggregate_id.eq_any(aggregate_ids))
        .order((events::aggregate_id.asc(), events::sequence.asc()))
        .select(StoredEvent::as_select())
        .load(conn)
        .await
}

/// A page of the ids of every aggregate with events, in id order, after `after`.
pub async fn aggregate_ids(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, DieselError> {
    let mut query = events::table
        .filter(events::sequence.eq(1))
        .select(events::aggregate_id)
        .order(events::aggregate_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(events::aggregate_id.gt(after));
    }
    query.load(conn).await
}

/// The aggregate's version: the sequence of its last event, 0 when it has none.
pub async fn version(conn: &mut AsyncPgConnection, aggregate_id: Uuid) -> Result<i64, DieselError> {
    let last: Option<Option<i64>> = events::table
        .filter(events::aggregate_id.eq(aggregate_id))
        .select(diesel::dsl::max(events::sequence))
        .first(conn)
        .await
        .optional()?;
    Ok(last.flatten().unwrap_or(0))
}

/// Records that `consumer` applied `event_id`. Returns false when it already had: the caller
/// then skips the effect. Call it inside the transaction that applies the effect, so the effect
/// and the record commit together or not at all.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    event_id: &str,
) -> Result<bool, DieselError> {
    let inserted = diesel::insert_into(processed_events::table)
        .values((
            processed_events::consumer.eq(consumer),
            processed_events::event_id.eq(event_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Records that `consumer` applied each of `event_ids`, in one statement, and answers the ones
/// it had not applied before: [`claim`] for a whole batch.
pub async fn claim_all(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    event_ids: &[&str],
) -> Result<Vec<String>, DieselError> {
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = sql::Text)]
        event_id: String,
    }
    let claimed: Vec<Claimed> = diesel::sql_query(
        "INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[]) \
         ON CONFLICT DO NOTHING RETURNING event_id",
    )
    .bind::<sql::Text, _>(consumer)
    .bind::<sql::Array<sql::Text>, _>(event_ids)
    .load(conn)
    .await?;
    Ok(claimed
        .into_iter()
        .map(|claimed| claimed.event_id)
        .collect())
}
