//! The consumer loop every service runs: read a record, apply it, then store its offset, which
//! librdkafka commits every [`KafkaConfig::commit_interval`] (and on a rebalance and at the stop).
//!
//! - A record that cannot be processed (no CloudEvents id, a payload that does not parse, an
//!   event the handler rejects for good) goes to `<topic>.dlq` with the reason in a header, and
//!   consumption goes on.
//! - A failure that may pass (the database is down) is retried with backoff; the offset is not
//!   committed, so nothing is skipped.
//! - Handlers make redelivery harmless with [`crate::event_store::claim`] in the transaction of
//!   their effect.

use std::time::Duration;

use chrono::{DateTime, Utc};
use prost::{Message as ProstMessage, Name};
use rdkafka::{
    ClientContext, Message, Statistics,
    consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer},
    error::KafkaError,
    message::{BorrowedMessage, Header, Headers, OwnedHeaders},
    producer::FutureProducer,
};
use tracing::Instrument;

use diesel_async::{
    AsyncConnection, AsyncPgConnection,
    scoped_futures::{ScopedBoxFuture, ScopedFutureExt},
};

use crate::{
    db::PgPool,
    error::StoreError,
    event_store::{self, AppendError},
    group_watch::GroupWatch,
    kafka::{self, KafkaConfig, header, header_text},
    metrics,
};

/// An event read from a topic, with its CloudEvents attributes.
#[derive(Clone, Debug)]
pub struct IncomingEvent {
    /// `ce_id`: what consumers deduplicate by.
    pub id: String,
    /// `ce_type`: the payload's full proto name.
    pub event_type: String,
    /// The logical topic it came from (`order-events`).
    pub topic: String,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub time: Option<DateTime<Utc>>,
    pub request_id: Option<String>,
    /// `ce_schemaversion`: the version of the type's schema the payload was written with (1
    /// when absent, as from producers older than versioning).
    pub schema_version: i32,
}

impl IncomingEvent {
    /// Whether the payload is an `M`.
    pub fn is<M: Name>(&self) -> bool {
        self.event_type == M::full_name()
    }

    /// The payload as `M`, upcast to the current schema first; a payload that does not parse
    /// is a permanent failure.
    pub fn decode<M: ProstMessage + Name + Default>(&self) -> Result<M, HandleError> {
        crate::schema::MESH
            .decode(&self.event_type, self.schema_version, &self.payload)
            .map_err(|err| HandleError::Permanent(err.to_string()))
    }
}

/// How handling an event failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Retrying cannot help: the record goes to the dead-letter topic.
    #[error("{0}")]
    Permanent(String),
    /// May pass (database down, deadline): retried with backoff, offset not committed.
    #[error("{0}")]
    Transient(String),
}

impl From<StoreError> for HandleError {
    fn from(err: StoreError) -> Self {
        Self::Transient(err.to_string())
    }
}

impl From<AppendError> for HandleError {
    fn from(err: AppendError) -> Self {
        match err {
            // Someone else moved the aggregate first (reload and decide again), or the
            // database failed: both may pass.
            AppendError::Conflict { .. } | AppendError::Store(_) => {
                Self::Transient(err.to_string())
            }
            AppendError::Encode(_) | AppendError::NotAStart(_) => Self::Permanent(err.to_string()),
        }
    }
}

impl From<diesel::result::Error> for HandleError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Transient(err.to_string())
    }
}

/// Whether [`apply_once`] ran the effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The effect ran and committed with the event's claim.
    Now,
    /// The event had been applied before; nothing changed.
    Before,
}

/// Runs `effect` in a transaction together with the claim of `event_id` by `consumer`, so a
/// redelivered event changes nothing. Wake the outbox relay when this returns
/// [`Applied::Now`] and the effect appended events.
pub async fn apply_once<'a, F>(
    pool: &PgPool,
    consumer: &'a str,
    event_id: &'a str,
    effect: F,
) -> Result<Applied, HandleError>
where
    F: for<'r> FnOnce(
            &'r mut AsyncPgConnection,
        ) -> ScopedBoxFuture<'a, 'r, Result<(), HandleError>>
        + Send
        + 'a,
{
    let mut conn = pool.get().await.map_err(StoreError::from)?;
    conn.transaction::<Applied, HandleError, _>(|conn| {
        async move {
            if !event_store::claim(conn, consumer, event_id).await? {
                return Ok(Applied::Before);
            }
            effect(conn).await?;
            Ok(Applied::Now)
        }
        .scope_boxed()
    })
    .await
}

/// What a service does with the events it consumes.
pub trait Handler: Send + Sync + 'static {
    /// Applies `event` exactly once (see [`crate::event_store::claim`]). Events of types the
    /// handler does not care about return `Ok(())`.
    fn handle(&self, event: &IncomingEvent)
    -> impl Future<Output = Result<(), HandleError>> + Send;
}

/// Which group reads which topics.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// The consumer group, e.g. `order-service`. Also the name under which applied events are
    /// recorded.
    pub group: String,
    /// Logical topic names.
    pub topics: Vec<&'static str>,
}

/// Why a consumer could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the Kafka consumer: {0}")]
pub struct ConsumerError(#[from] KafkaError);

/// How often librdkafka reports its statistics, consumer lag among them, when an exporter
/// collects metrics.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(5);

/// The consumer's librdkafka context: turns its periodic statistics into the lag gauge.
struct LagReporter {
    group: String,
    kafka: KafkaConfig,
}

impl ClientContext for LagReporter {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, stats) in &stats.partitions {
                // -1 is librdkafka's internal "unassigned" partition; a lag of -1 is unknown.
                if *partition >= 0 && stats.consumer_lag >= 0 {
                    metrics::consumer_lag(
                        &self.group,
                        self.kafka.logical(topic),
                        *partition,
                        stats.consumer_lag,
                    );
                }
            }
        }
    }
}

impl ConsumerContext for LagReporter {}

/// A consumer group member, ready to run.
pub struct EventConsumer {
    consumer: StreamConsumer<LagReporter>,
    dlq: FutureProducer,
    kafka: KafkaConfig,
    /// The group's physical name (with the topic prefix).
    group: String,
    /// Its logical name, as metrics label it.
    name: String,
    /// Physical topic names.
    topics: Vec<String>,
    watch: GroupWatch,
}

impl EventConsumer {
    /// Joins the group and subscribes. Reading starts at the earliest offset the first time a
    /// group runs, so events published before its first start are not skipped.
    pub fn new(kafka: &KafkaConfig, subscription: &Subscription) -> Result<Self, ConsumerError> {
        let group = kafka.group(&subscription.group);
        let mut config = kafka.client_config();
        if metrics::installed() {
            config.set(
                "statistics.interval.ms",
                STATISTICS_INTERVAL.as_millis().to_string(),
            );
        }
        let consumer: StreamConsumer<LagReporter> = config
            .set("group.id", &group)
            // Offsets are stored only once a record's effect is durable, and committed in bulk.
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set(
                "auto.commit.interval.ms",
                kafka.commit_interval.as_millis().max(1).to_string(),
            )
            .set("auto.offset.reset", "earliest")
            .set(
                "fetch.wait.max.ms",
                kafka.fetch_wait.as_millis().to_string(),
            )
            .set(
                "session.timeout.ms",
                kafka.session_timeout.as_millis().to_string(),
            )
            .set(
                "heartbeat.interval.ms",
                (kafka.session_timeout.as_millis() / 5).max(100).to_string(),
            )
            .create_with_context(LagReporter {
                group: subscription.group.clone(),
                kafka: kafka.clone(),
            })?;
        let topics: Vec<String> = subscription.topics.iter().map(|t| kafka.topic(t)).collect();
        let this = Self {
            consumer,
            dlq: kafka.producer()?,
            watch: GroupWatch::new(kafka, &group)?,
            kafka: kafka.clone(),
            group,
            name: subscription.group.clone(),
            topics,
        };
        this.subscribe()?;
        Ok(this)
    }

    fn subscribe(&self) -> Result<(), KafkaError> {
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        self.consumer.subscribe(&topics)
    }

    /// Consumes until `shutdown` resolves. The record in hand is finished first, so a graceful
    /// stop never leaves an effect without its commit.
    pub async fn run<H: Handler>(mut self, handler: H, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(group = %self.group, "consumer started");
        let mut watch_tick = tokio::time::interval(self.kafka.session_timeout);
        watch_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let message = tokio::select! {
                () = &mut shutdown => break,
                message = self.consumer.recv() => message,
                _ = watch_tick.tick() => {
                    self.watch_group().await;
                    continue;
                }
            };
            match message {
                Ok(message) => self.process(&handler, &message).await,
                Err(err) => {
                    tracing::warn!(group = %self.group, error = %err, "kafka consumer error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        // What is stored but not committed yet, before the consumer closes.
        if let Err(err) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(group = %self.group, error = %err, "no final offset commit");
        }
        tracing::info!(group = %self.group, "consumer stopped");
    }

    /// Rejoins the group when records wait on partitions no member reads (see
    /// [`crate::group_watch`]).
    async fn watch_group(&mut self) {
        let Ok(mine) = self.consumer.assignment() else {
            return;
        };
        let stalled = self.watch.stalled(&self.topics, &mine).await;
        if stalled.is_empty() {
            return;
        }
        tracing::warn!(
            group = %self.group,
            partitions = ?stalled,
            "records wait on partitions no member reads; rejoining the group"
        );
        // Leaving the group revokes the assignment: what is done is committed first.
        let _ = self.consumer.commit_consumer_state(CommitMode::Async);
        self.consumer.unsubscribe();
        if let Err(err) = self.subscribe() {
            tracing::error!(group = %self.group, error = %err, "cannot subscribe again");
        }
        self.watch.reset();
    }

    async fn process<H: Handler>(&self, handler: &H, message: &BorrowedMessage<'_>) {
        let headers = message.headers();
        let request_id = header_text(headers, header::REQUEST_ID).unwrap_or("-");
        let event_id = header_text(headers, header::ID).unwrap_or("-");
        let span = tracing::info_span!(
            "event",
            group = %self.group,
            topic = %message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            event_id = %event_id,
            request_id = %request_id,
        );
        crate::telemetry::trace_context::continue_from(
            &span,
            header_text(headers, header::TRACEPARENT),
        );
        async {
            match self.parse(message) {
                Ok(event) => {
                    let mut backoff = Duration::from_millis(50);
                    loop {
                        match handler.handle(&event).await {
                            Ok(()) => {
                                tracing::debug!(event_type = %event.event_type, "event applied");
                                metrics::consumed(&self.name, &event.topic, "applied");
                                break;
                            }
                            Err(HandleError::Permanent(reason)) => {
                                self.dead_letter(message, &reason).await;
                                break;
                            }
                            Err(HandleError::Transient(reason)) => {
                                tracing::warn!(
                                    %reason,
                                    retry_in_ms = backoff.as_millis() as u64,
                                    "event not applied yet"
                                );
                                tokio::time::sleep(backoff).await;
                                backoff = (backoff * 2).min(Duration::from_secs(5));
                            }
                        }
                    }
                }
                Err(reason) => self.dead_letter(message, &reason).await,
            }
            // After the effect (or the dead letter) is durable. A crash before the next commit
            // means the record comes again, and the handler's claim makes that harmless.
            if let Err(err) = self.consumer.store_offset_from_message(message) {
                tracing::warn!(error = %err, "cannot store offset");
            }
        }
        .instrument(span)
        .await;
    }

    fn parse(&self, message: &BorrowedMessage<'_>) -> Result<IncomingEvent, String> {
        let headers = message.headers();
        let id = header_text(headers, header::ID)
            .filter(|id| !id.is_empty())
            .ok_or("missing CloudEvents header ce_id")?;
        let event_type = header_text(headers, header::TYPE)
            .filter(|t| !t.is_empty())
            .ok_or("missing CloudEvents header ce_type")?;
        let payload = message.payload().ok_or("record has no payload")?;
        Ok(IncomingEvent {
            id: id.to_owned(),
            event_type: event_type.to_owned(),
            topic: self.kafka.logical(message.topic()).to_owned(),
            key: message
                .key()
                .and_then(|key| std::str::from_utf8(key).ok())
                .map(str::to_owned),
            payload: payload.to_vec(),
            time: header_text(headers, header::TIME)
                .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
                .map(|time| time.with_timezone(&Utc)),
            request_id: header_text(headers, header::REQUEST_ID).map(str::to_owned),
            schema_version: header_text(headers, header::SCHEMA_VERSION)
                .and_then(|version| version.parse().ok())
                .unwrap_or(1),
        })
    }

    /// Copies the record to `<topic>.dlq` with why, and waits for the broker to have it: a
    /// record is never both skipped and lost.
    async fn dead_letter(&self, message: &BorrowedMessage<'_>, reason: &str) {
        tracing::warn!(%reason, "moving record to the dead-letter topic");
        metrics::consumed(
            &self.name,
            self.kafka.logical(message.topic()),
            "dead_lettered",
        );
        let topic = kafka::dlq_of(message.topic());
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut headers = OwnedHeaders::new();
            if let Some(original) = message.headers() {
                for h in original.iter() {
                    headers = headers.insert(Header {
                        key: h.key,
                        value: h.value,
                    });
                }
            }
            for (key, value) in [
                (header::DLQ_REASON, reason),
                (header::DLQ_TOPIC, message.topic()),
                (header::DLQ_PARTITION, partition.as_str()),
                (header::DLQ_OFFSET, offset.as_str()),
                (header::DLQ_CONSUMER, self.group.as_str()),
            ] {
                headers = headers.insert(Header {
                    key,
                    value: Some(value),
                });
            }
            let key = message.key().unwrap_or_default();
            let record = rdkafka::producer::FutureRecord::to(&topic)
                .key(key)
                .payload(message.payload().unwrap_or_default())
                .headers(headers);
            match self.dlq.send(record, Duration::from_secs(1)).await {
                Ok(_) => return,
                Err((err, _)) => {
                    tracing::error!(
                        error = %err,
                        dlq = %topic,
                        "cannot write to the dead-letter topic; retrying"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
