//! The live feed behind the `orderUpdates` subscription: one Kafka consumer per gateway reads
//! `order-events` and `delivery-events` and fans each event out to the open subscriptions.
//!
//! The gateway is not a consumer group member: every gateway instance must see every event, so
//! each assigns itself every partition at the end offset it reads at start, and never commits.
//! Until it has done so, `/readyz` says the feed is not live: an event written before that
//! point would reach no subscription. Whatever happened before a subscription started is
//! replayed from the order's history instead (see `graphql::subscription`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use mesh_kit::{
    kafka::{DELIVERY_EVENTS, KafkaConfig, ORDER_EVENTS, header, header_text},
    startup::StopSignal,
};
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
    error::{KafkaError, RDKafkaErrorCode},
};
use tokio::sync::broadcast;

use crate::{model::OrderUpdate, updates};

/// Updates buffered per subscriber before a slow one is told it fell behind.
const CAPACITY: usize = 4096;

/// How long one metadata or offset request to the broker may take while positioning.
const BROKER_TIMEOUT: Duration = Duration::from_secs(5);

/// Fans events out to subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct OrderFeed {
    sender: broadcast::Sender<Arc<OrderUpdate>>,
    live: Arc<AtomicBool>,
}

impl Default for OrderFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            live: Arc::default(),
        }
    }
}

impl OrderFeed {
    /// Every update from now on. Subscribe before reading an order's history, so nothing falls
    /// between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OrderUpdate>> {
        self.sender.subscribe()
    }

    /// Whether the feed reads every partition: every event from now on reaches the
    /// subscriptions.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Relaxed)
    }

    /// Positions itself at the end of the topics (retrying while the broker is away), then
    /// reads them until `stop`, publishing each event to the subscribers.
    pub async fn run(self, kafka: KafkaConfig, stop: StopSignal) {
        let group = kafka.group(&format!("gateway-feed-{}", uuid::Uuid::new_v4().simple()));
        let consumer: StreamConsumer = match kafka
            .client_config()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set(
                "fetch.wait.max.ms",
                kafka.fetch_wait.as_millis().to_string(),
            )
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
        loop {
            let positioned = tokio::select! {
                () = &mut stop => return,
                positioned = position(&kafka, consumer.clone()) => positioned,
            };
            match positioned {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(
                        error = %err,
                        "subscription feed cannot position itself yet; retrying"
                    );
                    tokio::select! {
                        () = &mut stop => return,
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
        self.live.store(true, Ordering::Relaxed);
        tracing::info!(%group, "subscription feed live");
        loop {
            let message = tokio::select! {
                () = &mut stop => break,
                message = consumer.recv() => message,
            };
            match message {
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
            }
        }
        tracing::info!("subscription feed stopped");
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
