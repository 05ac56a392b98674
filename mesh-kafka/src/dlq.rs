//! Replaying a dead-letter topic once its cause is fixed: every record of `<topic>.dlq` not
//! replayed before goes back to the topic it came from, with its key, payload and headers (so
//! its `ce_id`, and with it the consumers' exactly-once bookkeeping, stays the same), minus the
//! `dlq_*` headers. The position is kept as the offsets of the consumer group `mesh-dlq-replay`,
//! committed after the broker acknowledged each copy: a replay that stops half-way resumes where
//! it stopped, and a second replay copies nothing twice.

use std::time::Duration;

use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{CommitMode, Consumer, StreamConsumer},
    error::KafkaError,
    message::{Header, Headers, OwnedHeaders},
    producer::FutureRecord,
};

use crate::{KafkaConfig, dlq_of, header};

/// The consumer group whose offsets record how far each dead-letter topic was replayed.
pub const REPLAY_GROUP: &str = "mesh-dlq-replay";

const TIMEOUT: Duration = Duration::from_secs(10);

/// A record copied back (or, in a dry run, that would be).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replayed {
    pub partition: i32,
    pub offset: i64,
    /// The physical topic it went back to.
    pub to: String,
    pub key: Option<String>,
    /// Why it had been dead-lettered.
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("topic {0} does not exist")]
    NoSuchTopic(String),
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    #[error("no record arrived from {topic} partition {partition} within {TIMEOUT:?}")]
    Stalled { topic: String, partition: i32 },
}

/// Replays the dead-letter topic of the logical topic `topic` (`billing-requests`). With
/// `dry_run`, lists what would be replayed and moves nothing.
pub async fn replay(
    kafka: &KafkaConfig,
    topic: &str,
    dry_run: bool,
) -> Result<Vec<Replayed>, DlqError> {
    let dlq = kafka.topic(&dlq_of(topic));
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", kafka.group(REPLAY_GROUP))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .create()?;

    // Where each partition stands: from the last replayed record to the end as it is now.
    let metadata = consumer.fetch_metadata(Some(&dlq), TIMEOUT)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == dlq && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(DlqError::NoSuchTopic(dlq));
    }
    let mut wanted = TopicPartitionList::new();
    for partition in &partitions {
        wanted.add_partition(&dlq, *partition);
    }
    let committed = consumer.committed_offsets(wanted, TIMEOUT)?;
    let mut work = Vec::new();
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (low, high) = consumer.fetch_watermarks(&dlq, partition, TIMEOUT)?;
        let start = match committed
            .find_partition(&dlq, partition)
            .map(|p| p.offset())
        {
            Some(Offset::Offset(offset)) => offset.max(low),
            _ => low,
        };
        if start < high {
            assignment.add_partition_offset(&dlq, partition, Offset::Offset(start))?;
            work.push((partition, high));
        }
    }
    if work.is_empty() {
        return Ok(Vec::new());
    }
    consumer.assign(&assignment)?;

    let producer = kafka.producer()?;
    let mut replayed = Vec::new();
    while !work.is_empty() {
        let message = tokio::time::timeout(TIMEOUT, consumer.recv())
            .await
            .map_err(|_| DlqError::Stalled {
                topic: dlq.clone(),
                partition: work[0].0,
            })??;
        let partition = message.partition();
        let Some(slot) = work.iter().position(|(p, _)| *p == partition) else {
            continue;
        };
        let text = |key: &str| {
            message.headers().and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == key)
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        let to = text(header::DLQ_TOPIC).unwrap_or_else(|| kafka.topic(topic));
        let record = Replayed {
            partition,
            offset: message.offset(),
            to: to.clone(),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            reason: text(header::DLQ_REASON).unwrap_or_default(),
        };
        if !dry_run {
            let mut headers = OwnedHeaders::new();
            for h in message.headers().into_iter().flat_map(|hs| hs.iter()) {
                if !h.key.starts_with("dlq_") {
                    headers = headers.insert(Header {
                        key: h.key,
                        value: h.value,
                    });
                }
            }
            let mut copy = FutureRecord::to(&to)
                .payload(message.payload().unwrap_or_default())
                .headers(headers);
            if let Some(key) = message.key() {
                copy = copy.key(key);
            }
            producer.send(copy, TIMEOUT).await.map_err(|(err, _)| err)?;
            let mut done = TopicPartitionList::new();
            done.add_partition_offset(&dlq, partition, Offset::Offset(message.offset() + 1))?;
            consumer.commit(&done, CommitMode::Sync)?;
        }
        replayed.push(record);
        if message.offset() + 1 >= work[slot].1 {
            work.swap_remove(slot);
        }
    }
    Ok(replayed)
}
