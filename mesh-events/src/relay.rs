//! The outbox relay: publishes outbox rows to Kafka in the order they were written and marks
//! them sent. Delivery is at least once (a crash between the broker's ack and the update of
//! `sent_at` publishes a row again); consumers drop the repeat by event id.
//!
//! One relay per database publishes at a time, so rows of one aggregate never overtake each
//! other with several replicas running: the one holding a session advisory lock on a connection
//! of its own (outside the pool, so the lock goes with the connection: when the relay stops,
//! crashes or loses its server). Holding it for good, rather than taking it in a transaction
//! per round, makes a batch two statements (read the unsent rows, mark the acknowledged ones).

use std::{collections::VecDeque, sync::Arc, time::Duration};

use diesel::{ExpressionMethods, QueryDsl, Queryable, Selectable, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::join_all;
use rdkafka::producer::FutureRecord;
use tokio::sync::Notify;

use mesh_kafka::{
    CloudEvent, KafkaConfig,
    producer::{DeliveryFuture, Producer},
};
use mesh_kit::db::PgPool;

use crate::event_store::schema::outbox;

/// Rows read and handed to the producer at once. Large enough to drain a burst quickly, small
/// enough that one read stays short.
const BATCH: i64 = 256;

/// Batches in flight at once: the next is read and handed over while the broker acknowledges
/// the one before it.
const DEPTH: usize = 2;

/// Rows a round hands over at most before it lets the relay loop look around (the backlog
/// gauge, shutdown): a burst's backlog is drained in several rounds.
const ROUND_ROWS: usize = 16 * BATCH as usize;

/// The advisory lock the publishing relay of a database holds. Any constant works; this one
/// spells "outbox".
const RELAY_LOCK_KEY: i64 = 0x6f75_7462_6f78;

/// How often the outbox backlog gauge is refreshed (a count of the unsent rows), when an
/// exporter collects it: scrapes are seconds apart, rounds can be milliseconds apart.
const BACKLOG_EVERY: Duration = Duration::from_secs(1);

/// Wakes the relay right after a commit, instead of waiting for its next poll.
#[derive(Clone, Debug, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call after committing a transaction that appended events.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox)]
struct Row {
    id: i64,
    event_id: uuid::Uuid,
    topic: String,
    record_key: String,
    event_type: String,
    payload: String,
    request_id: Option<String>,
    occurred_at: chrono::DateTime<chrono::Utc>,
    traceparent: Option<String>,
    schema_version: i32,
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
}

/// Publishes a service's outbox.
pub struct Relay {
    pool: PgPool,
    producer: Producer,
    kafka: KafkaConfig,
    /// `ce_source` of every event, e.g. `/mesh/order-service`.
    source: String,
    signal: OutboxSignal,
    /// How often to look for rows nobody signalled (written by another replica, or left by a
    /// crash), and how often a standby replica asks for the lock.
    poll: Duration,
}

/// The relay's own connection, and whether it holds the lock.
struct Seat {
    conn: AsyncPgConnection,
    leading: bool,
}

impl Relay {
    pub fn new(
        pool: PgPool,
        producer: Producer,
        kafka: KafkaConfig,
        service: &str,
        signal: OutboxSignal,
    ) -> Self {
        Self {
            pool,
            producer,
            kafka,
            source: format!("/mesh/{service}"),
            signal,
            poll: Duration::from_millis(500),
        }
    }

    /// Publishes until `shutdown` resolves. Errors are logged and retried with backoff: the
    /// outbox keeps every row until the broker has it.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(100);
        let mut seat: Option<Seat> = None;
        let mut backlog_at = tokio::time::Instant::now();
        loop {
            let round = self.round(&mut seat);
            tokio::select! {
                () = &mut shutdown => break,
                result = round => match result {
                    // A full round: there may be more right away.
                    Ok(published) if published >= ROUND_ROWS => continue,
                    Ok(_) => backoff = Duration::from_millis(100),
                    Err(err) => {
                        tracing::warn!(
                            error = %err,
                            retry_in_ms = backoff.as_millis() as u64,
                            "outbox relay round failed"
                        );
                        // A fresh connection next time: this one may be gone, and with it the
                        // lock (dropping it lets another replica lead meanwhile).
                        seat = None;
                        tokio::select! {
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
            }
            if mesh_kit::metrics::installed() && backlog_at.elapsed() >= BACKLOG_EVERY {
                backlog_at = tokio::time::Instant::now();
                if let Some(Seat {
                    conn,
                    leading: true,
                }) = &mut seat
                {
                    self.report_backlog(conn).await;
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.signal.0.notified() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
        tracing::info!("outbox relay stopped");
    }

    /// One round: takes the lock when it does not hold it (a standby replica publishes
    /// nothing), then publishes the unsent rows (up to [`ROUND_ROWS`]). Returns how many were
    /// marked sent.
    async fn round(&self, seat: &mut Option<Seat>) -> Result<usize, RelayError> {
        let seat = match seat {
            Some(seat) => seat,
            None => seat.insert(Seat {
                conn: self
                    .pool
                    .dedicated_connection()
                    .await
                    .map_err(|err| RelayError::Connect(err.to_string()))?,
                leading: false,
            }),
        };
        if !seat.leading {
            seat.leading = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "pg_try_advisory_lock({RELAY_LOCK_KEY})"
            )))
            .get_result(&mut seat.conn)
            .await?;
            if !seat.leading {
                return Ok(0);
            }
            tracing::info!("this relay publishes the outbox");
        }
        self.publish(&mut seat.conn).await
    }

    /// What is left for later rounds (the partial index on unsent rows keeps this cheap).
    async fn report_backlog(&self, conn: &mut AsyncPgConnection) {
        let backlog = outbox::table
            .filter(outbox::sent_at.is_null())
            .count()
            .get_result::<i64>(conn)
            .await;
        if let Ok(backlog) = backlog {
            mesh_kit::metrics::outbox_backlog(backlog);
        }
    }

    /// Publishes the unsent rows in order until none are left (or [`ROUND_ROWS`] were handed
    /// over), [`DEPTH`] batches at a time, and marks each batch's acknowledged prefix sent.
    /// Returns how many were marked sent.
    ///
    /// The next batch is read and handed to the producer while the broker acknowledges the
    /// ones before it, so the broker always has the next records at hand: a round trip to the
    /// database no longer stands between two of its acknowledgements.
    async fn publish(&self, conn: &mut AsyncPgConnection) -> Result<usize, RelayError> {
        let mut in_flight: VecDeque<Batch> = VecDeque::with_capacity(DEPTH);
        let mut more = true;
        let (mut handed, mut published) = (0, 0);
        loop {
            while more && in_flight.len() < DEPTH && handed < ROUND_ROWS {
                let skip: Vec<i64> = in_flight.iter().flat_map(Batch::ids).collect();
                let rows: Vec<Row> = outbox::table
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::id.ne_all(skip))
                    .order(outbox::id.asc())
                    .limit(BATCH)
                    .select(Row::as_select())
                    .load(conn)
                    .await?;
                let batch = self.send(rows);
                more = batch.full;
                if batch.rows.is_empty() {
                    break;
                }
                handed += batch.rows.len();
                in_flight.push_back(batch);
            }
            let Some(batch) = in_flight.pop_front() else {
                return Ok(published);
            };
            let (sent, complete) = batch.acknowledged().await;
            if !sent.is_empty() {
                diesel::update(outbox::table.filter(outbox::id.eq_any(&sent)))
                    .set(outbox::sent_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
            }
            published += sent.len();
            tracing::debug!(published = sent.len(), "outbox rows published");
            if !complete {
                // Only the acknowledged prefix: a later row must not count as sent before an
                // earlier one of the same order, or a restart would publish them out of
                // order. The batches after it go again next round (consumers drop repeats).
                return Ok(published);
            }
        }
    }

    /// Hands `rows` to the producer in order. librdkafka keeps them in order per partition
    /// (see `KafkaConfig::producer`), so a batch costs one broker round trip, not one per row.
    fn send(&self, mut rows: Vec<Row>) -> Batch {
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            let event_id = row.event_id.to_string();
            let headers = CloudEvent {
                id: &event_id,
                event_type: &row.event_type,
                source: &self.source,
                time: row.occurred_at,
                subject: Some(&row.record_key),
                request_id: row.request_id.as_deref(),
                traceparent: row.traceparent.as_deref(),
                schema_version: row.schema_version,
            }
            .headers();
            let topic = self.kafka.topic(&row.topic);
            let record = FutureRecord::to(&topic)
                .key(&row.record_key)
                .payload(&row.payload)
                .headers(headers);
            match self.producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                // The local queue is full: what is queued goes now, the rest next round.
                Err((err, _)) => {
                    tracing::warn!(error = %err, "producer queue full");
                    break;
                }
            }
        }
        rows.truncate(deliveries.len());
        Batch {
            // A full read, all handed over.
            full: rows.len() == BATCH as usize,
            rows,
            deliveries,
        }
    }
}

/// Rows handed to the producer, waiting for the broker's acknowledgements.
struct Batch {
    rows: Vec<Row>,
    deliveries: Vec<DeliveryFuture>,
    /// Every row read was handed over and the read was a full [`BATCH`]: more may be waiting.
    full: bool,
}

impl Batch {
    fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.rows.iter().map(|row| row.id)
    }

    /// The ids of the acknowledged prefix, and whether that is every row.
    async fn acknowledged(self) -> (Vec<i64>, bool) {
        let mut sent = Vec::with_capacity(self.rows.len());
        for (row, outcome) in self.rows.iter().zip(join_all(self.deliveries).await) {
            match outcome {
                Ok(Ok(_)) => sent.push(row.id),
                Ok(Err((err, _))) => {
                    tracing::warn!(
                        error = %err,
                        event_id = %row.event_id,
                        topic = %row.topic,
                        "broker refused event"
                    );
                    return (sent, false);
                }
                Err(_) => {
                    tracing::warn!(event_id = %row.event_id, "producer dropped event");
                    return (sent, false);
                }
            }
        }
        (sent, true)
    }
}
