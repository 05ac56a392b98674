//! The live feed behind the `orderUpdates` subscription: one Kafka consumer per gateway reads
//! `order-events` and `delivery-events` and fans each event out to the open subscriptions.
//!
//! The gateway is not a consumer group member: every gateway instance must see every event, so
//! each assigns itself every partition at the end offset it reads at start, and never commits.
//! Until it has done so, `/readyz` says the feed is not live: an event written before that
//! point would reach no subscription. Whatever happened before a subscription started is
//! replayed from the order's history instead (see `graphql::subscription`).
//!
//! With nobody subscribed at two looks in a row ([`REST_AFTER`] apart by default), the feed rests: it gives its
//! partitions back and fetches nothing, so an idle gateway costs the broker nothing (on tansu,
//! each partition fetched costs SQLite queries every fetch wait). The next subscriber wakes it
//! and waits until it is positioned again, at the end offsets of that moment, before it reads
//! the order's history: every event is then in the history or in the feed.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use chrono::{DateTime, Utc};
use mesh_kafka::{DELIVERY_EVENTS, KafkaConfig, ORDER_EVENTS, header, header_text};
use mesh_kit::startup::StopSignal;
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
    error::{KafkaError, RDKafkaErrorCode},
};
use tokio::sync::{Notify, broadcast, watch};

use crate::{model::OrderUpdate, updates};

/// Updates buffered per subscriber before a slow one is told it fell behind.
const CAPACITY: usize = 4096;

/// How long one metadata or offset request to the broker may take while positioning.
const BROKER_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the feed looks for subscribers by default; it rests after two looks find none.
pub const REST_AFTER: Duration = crate::config::FEED_REST_AFTER;

/// How long a subscriber waits for a resting feed to read again before it is told to retry.
const WAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Fans events out to subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct OrderFeed {
    sender: broadcast::Sender<Arc<OrderUpdate>>,
    /// Whether the feed reads now. Subscribers and the feed's decision to rest take it in
    /// turns, so none subscribes to a feed that then stops reading under it.
    reads_now: Arc<Mutex<bool>>,
    /// A subscriber found the feed resting.
    wake: Arc<Notify>,
    /// How many times the feed has positioned itself (changed only with `reads_now` locked):
    /// none yet while starting, and subscribers to a resting feed wait for the next one.
    positioned: watch::Sender<u64>,
    /// How often it looks for subscribers.
    rest_after: Duration,
}

/// The feed rested and could not read again in time (the broker is away): subscribing now
/// could miss an event.
#[derive(Debug, thiserror::Error)]
#[error("live updates are not available right now; subscribe again shortly")]
pub struct FeedUnavailable;

impl Default for OrderFeed {
    fn default() -> Self {
        Self::new(REST_AFTER)
    }
}

impl OrderFeed {
    /// A feed that looks for subscribers every `rest_after`.
    pub fn new(rest_after: Duration) -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            reads_now: Arc::default(),
            wake: Arc::default(),
            positioned: watch::channel(0).0,
            rest_after,
        }
    }

    /// Every update from now on. Subscribe before reading an order's history, so nothing falls
    /// between the two. A resting feed is woken first, and this returns once it reads again.
    pub async fn subscribe(
        &self,
    ) -> Result<broadcast::Receiver<Arc<OrderUpdate>>, FeedUnavailable> {
        let mut positioned = self.positioned.subscribe();
        let (receiver, after) = {
            let reads_now = self.lock();
            let receiver = self.sender.subscribe();
            let positionings = *self.positioned.borrow();
            // Still starting (nothing positioned yet): as before `/readyz` says LIVE.
            if *reads_now || positionings == 0 {
                return Ok(receiver);
            }
            (receiver, positionings)
        };
        self.wake.notify_one();
        tokio::time::timeout(WAKE_TIMEOUT, positioned.wait_for(|count| *count > after))
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(FeedUnavailable)?;
        Ok(receiver)
    }

    /// Whether the feed has positioned itself on every partition: every event from then on
    /// reaches the subscriptions (a resting feed reads again as soon as one subscribes).
    pub fn is_live(&self) -> bool {
        *self.positioned.borrow() > 0
    }

    /// Whether it rests for want of subscribers (`/readyz` says `RESTING`; still ready).
    pub fn is_resting(&self) -> bool {
        !*self.lock() && self.is_live()
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        // A poisoned lock only means a panic elsewhere mid-update of a plain flag.
        self.reads_now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Positions itself at the end of the topics (retrying while the broker is away), then
    /// reads them until `stop`, publishing each event to the subscribers; rests while nobody
    /// subscribes.
    pub async fn run(self, kafka: KafkaConfig, stop: StopSignal) {
        let group = kafka.group(&format!("gateway-feed-{}", uuid::Uuid::new_v4().simple()));
        let consumer: StreamConsumer = match kafka
            .consumer_config()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
        {
            Ok(consumer) => consumer,
            Err(err) => {
                tracing::error!(
                    error = %err,
                    "cannot create the subscription feed consumer; subscriptions replay history only"
                );
                return;
            }
        };
        let consumer = Arc::new(consumer);
        let stop = stop.wait();
        tokio::pin!(stop);
        if !self.reposition(&kafka, &consumer, &mut stop).await {
            return;
        }
        tracing::info!(%group, "subscription feed live");
        let mut looks = tokio::time::interval(self.rest_after);
        looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unwatched = 0;
        let mut reading = true;
        loop {
            tokio::select! {
                () = &mut stop => break,
                message = consumer.recv(), if reading => match message {
                    Ok(message) => {
                        if let Some(update) = parse(&message) {
                            // No subscribers is not an error.
                            let _ = self.sender.send(Arc::new(update));
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "subscription feed error");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
                _ = looks.tick(), if reading => {
                    let mut reads_now = self.lock();
                    unwatched = if self.sender.receiver_count() == 0 { unwatched + 1 } else { 0 };
                    if unwatched >= 2 {
                        match consumer.unassign() {
                            Ok(()) => {
                                *reads_now = false;
                                reading = false;
                                tracing::info!("subscription feed resting: nobody subscribed");
                            }
                            Err(err) => tracing::warn!(error = %err, "subscription feed cannot rest"),
                        }
                    }
                }
                () = self.wake.notified(), if !reading => {
                    if !self.reposition(&kafka, &consumer, &mut stop).await {
                        break;
                    }
                    unwatched = 0;
                    reading = true;
                    tracing::info!("subscription feed reading again");
                }
            }
        }
        tracing::info!("subscription feed stopped");
    }

    /// Assigns every partition at its end offset, retrying while the broker is away; then
    /// counts a positioning, which releases waiting subscribers. False when stopped first.
    async fn reposition(
        &self,
        kafka: &KafkaConfig,
        consumer: &Arc<StreamConsumer>,
        stop: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        loop {
            let positioned = tokio::select! {
                () = stop.as_mut() => return false,
                positioned = position(kafka, consumer.clone()) => positioned,
            };
            match positioned {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(
                        error = %err,
                        "subscription feed cannot position itself yet; retrying"
                    );
                    tokio::select! {
                        () = stop.as_mut() => return false,
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
        let mut reads_now = self.lock();
        *reads_now = true;
        self.positioned
            .send_modify(|positionings| *positionings += 1);
        true
    }
}

/// Assigns the consumer every partition of the feed's topics at their current end offsets.
async fn position(kafka: &KafkaConfig, consumer: Arc<StreamConsumer>) -> Result<(), KafkaError> {
    kafka
        .ensure_topics(&[ORDER_EVENTS, DELIVERY_EVENTS])
        .await?;
    let topics = [kafka.topic(ORDER_EVENTS), kafka.topic(DELIVERY_EVENTS)];
    // rdkafka's metadata and offset calls block: keep them off the async threads.
    tokio::task::spawn_blocking(move || {
        let mut assignment = TopicPartitionList::new();
        for topic in &topics {
            let metadata = consumer.fetch_metadata(Some(topic), BROKER_TIMEOUT)?;
            let partitions: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|t| t.name() == topic && t.error().is_none())
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if partitions.is_empty() {
                return Err(KafkaError::MetadataFetch(
                    RDKafkaErrorCode::UnknownTopicOrPartition,
                ));
            }
            for partition in partitions {
                let (_, end) = consumer.fetch_watermarks(topic, partition, BROKER_TIMEOUT)?;
                assignment.add_partition_offset(topic, partition, Offset::Offset(end))?;
            }
        }
        consumer.assign(&assignment)
    })
    .await
    .map_err(|_| KafkaError::Canceled)?
}

/// The update a Kafka record makes, through the same conversion as a replayed history.
fn parse(message: &rdkafka::message::BorrowedMessage<'_>) -> Option<OrderUpdate> {
    let headers = message.headers();
    let event = updates::Event {
        id: header_text(headers, header::ID)?,
        event_type: header_text(headers, header::TYPE)?,
        time: header_text(headers, header::TIME)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc)),
        schema_version: header_text(headers, header::SCHEMA_VERSION)
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
        data: message.payload()?,
    };
    updates::update(&event)
}
