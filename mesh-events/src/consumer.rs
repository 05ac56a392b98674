//! The consumer loop every service runs: read a record, apply it, then store its offset, which
//! librdkafka commits every [`KafkaConfig::commit_interval`] (and on a rebalance and at the stop).
//!
//! - Records of different keys are applied concurrently, in up to
//!   [`KafkaConfig::consumer_concurrency`] lanes; one key's records (an order's events, from
//!   every topic the consumer reads) keep their order in one lane. A partition's offset is stored
//!   only up to its first record not applied yet.
//! - A record that cannot be processed (no CloudEvents id, a payload that does not parse, an
//!   event the handler rejects for good) goes to `<topic>.dlq` with the reason in a header, and
//!   consumption goes on.
//! - A failure that may pass (the database is down) is retried with backoff; the offset is not
//!   committed, so nothing is skipped.
//! - Handlers make redelivery harmless with [`crate::event_store::claim`] in the transaction of
//!   their effect.
//! - The records that queue up behind a busy lane are applied together, in one transaction
//!   their effects and claims share (see [`EventConsumer::batching`] and `crate::unit`); a
//!   record that fails inside a batch is applied alone again, as if there were no batching.

use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    hash::{Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::stream::{FuturesUnordered, StreamExt};
use prost::{Message as ProstMessage, Name};
use rdkafka::{
    ClientContext, Message, Statistics,
    consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer},
    error::KafkaError,
    message::{Header, Headers, OwnedHeaders, OwnedMessage},
};
use tracing::Instrument;

use diesel_async::{
    AsyncPgConnection,
    scoped_futures::{ScopedBoxFuture, ScopedFutureExt},
};

use mesh_kafka::{KafkaConfig, group_watch::GroupWatch, header, header_text, producer::Producer};
use mesh_kit::{db::PgPool, error::StoreError, metrics};

use crate::{
    event_store::AppendError,
    unit::{self, Unit},
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
        mesh_kafka::schema::MESH
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
/// redelivered event changes nothing (the transaction of the batch being applied, when there is
/// one). Wake the outbox relay when this returns [`Applied::Now`] and the effect appended
/// events.
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
    unit::transaction::<Applied, HandleError, _>(pool, |conn| {
        async move {
            if !unit::claim(conn, consumer, event_id).await? {
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

    /// Whether `event` may be applied in a batch's shared transaction (see
    /// [`EventConsumer::batching`]). Say no for an event whose handling waits on something
    /// outside the database, such as a payment provider: the batch's transaction and its locks
    /// would wait with it.
    fn batchable(&self, _event: &IncomingEvent) -> bool {
        true
    }

    /// Whether `event` is one this handler applies (and so may claim). In a batch, the claims
    /// of such events are written together (see `crate::unit`).
    fn routes(&self, _event: &IncomingEvent) -> bool {
        true
    }
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

impl Subscription {
    /// The group `group` reading `topics`.
    pub fn of(group: &str, topics: &[&'static str]) -> Self {
        Self {
            group: group.to_owned(),
            topics: topics.to_vec(),
        }
    }
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
    dlq: Producer,
    kafka: KafkaConfig,
    /// The group's physical name (with the topic prefix).
    group: String,
    /// Its logical name, as metrics label it.
    name: String,
    /// Physical topic names.
    topics: Vec<String>,
    /// Locked while it asks the broker, between records.
    watch: tokio::sync::Mutex<GroupWatch>,
    /// The handlers' database, when records queued behind a lane are applied in one
    /// transaction (see [`EventConsumer::batching`]).
    batches: Option<PgPool>,
}

/// Records received and not applied yet, beyond the ones being applied: how far the consumer
/// reads ahead of its lanes before it waits for them.
const READ_AHEAD: usize = 512;

/// The most records a lane applies in one transaction: enough to amortise a commit over a
/// burst, few enough that the row locks of one batch are not held for long.
const BATCH: usize = 64;

impl EventConsumer {
    /// Joins the group and subscribes. Reading starts at the earliest offset the first time a
    /// group runs, so events published before its first start are not skipped. Dead letters go
    /// out through `dlq`: pass the service's one producer (its relay's), since every producer
    /// is a librdkafka client of its own, with its threads and broker connection.
    pub fn new(
        kafka: &KafkaConfig,
        subscription: &Subscription,
        dlq: Producer,
    ) -> Result<Self, ConsumerError> {
        let group = kafka.group(&subscription.group);
        let mut config = kafka.consumer_config();
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
            dlq,
            watch: tokio::sync::Mutex::new(GroupWatch::new(kafka, &group)?),
            kafka: kafka.clone(),
            group,
            name: subscription.group.clone(),
            topics,
            batches: None,
        };
        this.subscribe()?;
        Ok(this)
    }

    /// Applies the records that queued up behind a busy lane (a burst) together, in one
    /// transaction on `pool` that the handlers' effects join (see [`crate::unit`]): one commit
    /// for the batch instead of one per record. Pass the database the handlers write to. A
    /// record alone in its lane is applied as without batching.
    pub fn batching(mut self, pool: PgPool) -> Self {
        self.batches = Some(pool);
        self
    }

    fn subscribe(&self) -> Result<(), KafkaError> {
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        self.consumer.subscribe(&topics)
    }

    /// Consumes until `shutdown` resolves, applying up to
    /// [`KafkaConfig::consumer_concurrency`] records at once: each record goes to the lane of
    /// its key, a lane applies its records one after another, and a partition's offset is
    /// stored only up to the first record not applied yet. The records being applied are
    /// finished first, so a graceful stop never leaves an effect without its commit.
    pub async fn run<H: Handler>(self, handler: H, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(
            group = %self.group,
            concurrency = self.kafka.consumer_concurrency,
            "consumer started"
        );
        let mut watch_tick = tokio::time::interval(self.kafka.session_timeout);
        watch_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut lanes = Lanes::new(self.kafka.consumer_concurrency);
        let mut progress = Progress::default();
        let mut applying = FuturesUnordered::new();
        // After a consumer error, reading pauses a moment; the lanes go on meanwhile.
        let mut paused_until: Option<tokio::time::Instant> = None;
        loop {
            let reading = paused_until.is_none() && lanes.waiting < READ_AHEAD;
            tokio::select! {
                () = &mut shutdown => break,
                Some((lane, done)) = applying.next(), if !applying.is_empty() => {
                    for position in done {
                        self.finished(&mut progress, position);
                    }
                    if let Some(next) = lanes.next_of(lane) {
                        applying.push(self.apply(&handler, lane, next));
                    }
                }
                message = self.consumer.recv(), if reading => match message {
                    Ok(message) => {
                        let message = message.detach();
                        progress.received(&message);
                        if let Some((lane, message)) = lanes.assign(message) {
                            applying.push(self.apply(&handler, lane, message));
                        }
                    }
                    Err(err) => {
                        tracing::warn!(group = %self.group, error = %err, "kafka consumer error");
                        paused_until = Some(tokio::time::Instant::now() + Duration::from_millis(200));
                    }
                },
                () = sleep_until(paused_until), if paused_until.is_some() => paused_until = None,
                // The lanes wait while the broker is asked (a few round trips every session
                // timeout). Records in hand when a rejoin revokes their partition are read
                // again by its next reader, and the claims turn them away.
                _ = watch_tick.tick() => self.watch_group().await,
            }
        }
        // The records being applied finish; the ones waiting in lanes are read again by
        // whoever reads the partition next.
        while let Some((_, done)) = applying.next().await {
            for position in done {
                self.finished(&mut progress, position);
            }
        }
        // What is stored but not committed yet, before the consumer closes.
        if let Err(err) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(group = %self.group, error = %err, "no final offset commit");
        }
        tracing::info!(group = %self.group, "consumer stopped");
    }

    /// Applies a lane's records in their order, then hands back the lane and their positions.
    async fn apply<H: Handler>(
        &self,
        handler: &H,
        lane: usize,
        messages: Vec<OwnedMessage>,
    ) -> (usize, Vec<Position>) {
        let mut rest = messages.as_slice();
        while let [first, others @ ..] = rest {
            if others.is_empty() {
                self.process(handler, first).await;
                break;
            }
            match self.apply_batch(handler, rest).await {
                Ok(()) => break,
                // The records before the one that failed, together again (each alone should
                // that fail too); it alone, retried or dead-lettered as ever; then the rest.
                Err(Some(failed)) => {
                    let before = &rest[..failed];
                    let together =
                        before.len() > 1 && self.apply_batch(handler, before).await.is_ok();
                    if !together {
                        for message in before {
                            self.process(handler, message).await;
                        }
                    }
                    self.process(handler, &rest[failed]).await;
                    rest = &rest[failed + 1..];
                }
                Err(None) => {
                    for message in rest {
                        self.process(handler, message).await;
                    }
                    break;
                }
            }
        }
        (lane, messages.iter().map(Position::of).collect())
    }

    /// Applies `messages` in one transaction, or nothing of them. `Err(Some(i))`: the `i`th
    /// could not be applied (it did not parse, its handler failed, or it spoiled the
    /// transaction); `Err(None)`: the batch could not begin or commit (or this consumer does
    /// not batch).
    async fn apply_batch<H: Handler>(
        &self,
        handler: &H,
        messages: &[OwnedMessage],
    ) -> Result<(), Option<usize>> {
        let pool = self.batches.as_ref().ok_or(None)?;
        let unit = Unit::begin(pool).await.map_err(|err| {
            tracing::warn!(group = %self.group, error = %err, "cannot begin a batch");
            None
        })?;
        // Every record is read before any is applied, so the batch's claims can be written
        // together; a record that does not parse (or may not join a batch) ends it there.
        let parsed: Vec<Option<IncomingEvent>> = messages
            .iter()
            .map(|message| {
                self.parse(message)
                    .ok()
                    .filter(|event| handler.batchable(event))
            })
            .collect();
        unit.expect_claims(
            parsed
                .iter()
                .map_while(Option::as_ref)
                .filter(|event| handler.routes(event))
                .map(|event| (event.id.clone(), event.event_type.clone())),
        );
        let mut events = Vec::with_capacity(messages.len());
        for (index, (message, event)) in messages.iter().zip(parsed).enumerate() {
            let (span, request) = self.span_of(message);
            let applied = async {
                let event = event?;
                handler.handle(&event).await.ok()?;
                tracing::debug!(event_type = %event.event_type, batch = messages.len(), "event applied");
                Some(event)
            };
            let applied = unit
                .scope(mesh_kit::context::scope(request, applied.instrument(span)))
                .await;
            match applied {
                Some(event) if !unit.spoiled() => events.push(event),
                _ => {
                    unit.rollback().await;
                    return Err(Some(index));
                }
            }
        }
        if let Err(err) = unit.commit().await {
            tracing::warn!(group = %self.group, error = %err, "cannot commit a batch");
            return Err(None);
        }
        for event in &events {
            metrics::consumed(&self.name, &event.topic, "applied");
        }
        metrics::consumer_batch(&self.name, events.len());
        Ok(())
    }

    /// A record is done: its partition's offset is stored as far as every record before it is
    /// done too.
    fn finished(&self, progress: &mut Progress, done: Position) {
        if let Some(last) = progress.done(&done)
            && let Err(err) = self
                .consumer
                .store_offset(&done.topic, done.partition, last)
        {
            // A partition revoked meanwhile: its next reader starts from the last commit,
            // and the handlers' claims turn the repeats away.
            tracing::debug!(error = %err, topic = %done.topic, partition = done.partition, "cannot store offset");
        }
    }

    /// Rejoins the group when records wait on partitions no member reads (see
    /// [`mesh_kafka::group_watch`]).
    async fn watch_group(&self) {
        let Ok(mine) = self.consumer.assignment() else {
            return;
        };
        let mut watch = self.watch.lock().await;
        let stalled = watch.stalled(&self.topics, &mine).await;
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
        watch.reset();
    }

    /// A record's span (continuing its trace) and the request its effects work for.
    fn span_of(&self, message: &OwnedMessage) -> (tracing::Span, Option<Arc<str>>) {
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
        mesh_kit::telemetry::trace_context::continue_from(
            &span,
            header_text(headers, header::TRACEPARENT),
        );
        // The effects are the request's too: its id goes on with the events they append.
        let request = header_text(headers, header::REQUEST_ID)
            .filter(|id| !id.is_empty())
            .map(Arc::from);
        (span, request)
    }

    /// Applies one record in its own transaction: retried while the failure may pass,
    /// dead-lettered when it cannot.
    async fn process<H: Handler>(&self, handler: &H, message: &OwnedMessage) {
        let (span, request) = self.span_of(message);
        let work = async {
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
        };
        mesh_kit::context::scope(request, work.instrument(span)).await;
    }

    fn parse(&self, message: &OwnedMessage) -> Result<IncomingEvent, String> {
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
            schema_version: header_text(headers, header::SCHEMA_VERSION)
                .and_then(|version| version.parse().ok())
                .unwrap_or(1),
        })
    }

    /// Copies the record to `<topic>.dlq` with why, and waits for the broker to have it: a
    /// record is never both skipped and lost.
    async fn dead_letter(&self, message: &OwnedMessage, reason: &str) {
        tracing::warn!(%reason, "moving record to the dead-letter topic");
        metrics::consumed(
            &self.name,
            self.kafka.logical(message.topic()),
            "dead_lettered",
        );
        let topic = mesh_kafka::dlq_of(message.topic());
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

/// Sleeps until `at`; never resolves for `None` (a `select!` branch that is off).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

// === impl Lanes ===

/// Which records wait for which lane. A record's lane follows from its key (its partition when
/// it has none), so one key's records are applied in the order they arrived, from every topic.
struct Lanes {
    queues: Vec<VecDeque<OwnedMessage>>,
    busy: Vec<bool>,
    /// Records queued behind a busy lane.
    waiting: usize,
}

impl Lanes {
    fn new(count: usize) -> Self {
        Self {
            queues: (0..count).map(|_| VecDeque::new()).collect(),
            busy: vec![false; count],
            waiting: 0,
        }
    }

    fn lane_of(&self, message: &OwnedMessage) -> usize {
        let mut hasher = std::hash::DefaultHasher::new();
        match message.key() {
            Some(key) => key.hash(&mut hasher),
            None => (message.topic(), message.partition()).hash(&mut hasher),
        }
        (hasher.finish() % self.queues.len() as u64) as usize
    }

    /// The record to apply now with its lane, or `None` when it waits behind its lane.
    fn assign(&mut self, message: OwnedMessage) -> Option<(usize, Vec<OwnedMessage>)> {
        let lane = self.lane_of(&message);
        if self.busy[lane] {
            self.queues[lane].push_back(message);
            self.waiting += 1;
            None
        } else {
            self.busy[lane] = true;
            Some((lane, vec![message]))
        }
    }

    /// The lane's records were applied: the ones that queued up meanwhile (up to [`BATCH`]),
    /// or the lane goes idle.
    fn next_of(&mut self, lane: usize) -> Option<Vec<OwnedMessage>> {
        let queue = &mut self.queues[lane];
        if queue.is_empty() {
            self.busy[lane] = false;
            return None;
        }
        let next: Vec<_> = queue.drain(..queue.len().min(BATCH)).collect();
        self.waiting -= next.len();
        Some(next)
    }
}

// === impl Progress ===

/// A record's place in its partition.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Position {
    topic: String,
    partition: i32,
    offset: i64,
}

impl Position {
    fn of(message: &OwnedMessage) -> Self {
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        }
    }
}

/// Per partition, the records received and not applied yet, so that an offset is stored only
/// once every record before it is applied: records of other keys finish out of order.
#[derive(Default)]
struct Progress {
    partitions: HashMap<(String, i32), PartitionProgress>,
}

#[derive(Default)]
struct PartitionProgress {
    /// Received, not applied yet.
    pending: BTreeSet<i64>,
    /// Applied, not stored yet: each waits for the records before it.
    applied: BTreeSet<i64>,
    /// The last offset stored.
    stored: Option<i64>,
}

impl Progress {
    fn received(&mut self, message: &OwnedMessage) {
        self.partitions
            .entry((message.topic().to_owned(), message.partition()))
            .or_default()
            .pending
            .insert(message.offset());
    }

    /// Marks the record applied; returns the offset to store when the applied prefix of its
    /// partition grew (the last record of it: librdkafka commits the one after).
    fn done(&mut self, done: &Position) -> Option<i64> {
        let partition = self
            .partitions
            .get_mut(&(done.topic.clone(), done.partition))?;
        partition.pending.remove(&done.offset);
        partition.applied.insert(done.offset);
        // The applied records before the first pending one (all, when none is pending).
        let later = match partition.pending.first() {
            Some(first) => partition.applied.split_off(first),
            None => BTreeSet::new(),
        };
        let prefix = std::mem::replace(&mut partition.applied, later)
            .last()
            .copied()?;
        if partition.stored.is_some_and(|stored| stored >= prefix) {
            return None;
        }
        partition.stored = Some(prefix);
        Some(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> Position {
        Position {
            topic: "order-events".into(),
            partition: 0,
            offset,
        }
    }

    fn progress_with(offsets: &[i64]) -> Progress {
        let mut progress = Progress::default();
        let partition = progress
            .partitions
            .entry(("order-events".into(), 0))
            .or_default();
        partition.pending.extend(offsets);
        progress
    }

    #[test]
    fn an_offset_is_stored_only_once_every_record_before_it_is_applied() {
        let mut progress = progress_with(&[10, 11, 12]);
        // 11 and 12 finish before 10: nothing may be stored yet.
        assert_eq!(progress.done(&at(11)), None);
        assert_eq!(progress.done(&at(12)), None);
        // 10 finishes: everything up to 12 is applied.
        assert_eq!(progress.done(&at(10)), Some(12));
    }

    #[test]
    fn the_applied_prefix_is_stored_as_it_grows() {
        let mut progress = progress_with(&[5, 6, 7]);
        assert_eq!(progress.done(&at(5)), Some(5));
        assert_eq!(progress.done(&at(7)), None);
        assert_eq!(progress.done(&at(6)), Some(7));
    }

    #[test]
    fn a_stored_offset_never_goes_back() {
        let mut progress = progress_with(&[3]);
        assert_eq!(progress.done(&at(3)), Some(3));
        // The partition came back after a rebalance, from an older commit: 2 is read again.
        progress
            .partitions
            .get_mut(&("order-events".into(), 0))
            .unwrap()
            .pending
            .insert(2);
        assert_eq!(progress.done(&at(2)), None);
    }
}
