//! A guard against a consumer group that forgets partitions.
//!
//! tansu 0.6 does not start a new generation when it drops a member whose heartbeats stopped
//! (a SIGKILLed process). A member that synced while the dead one was still listed keeps
//! heartbeating with none of the dead member's partitions, its heartbeats keep succeeding, and
//! nobody reads those partitions until another member joins (seen with delivery-service killed
//! and restarted by `scripts/up`: paid orders got no delivery for as long as we waited).
//!
//! The watch looks for partitions of the group's topics that have records waiting, are not
//! assigned to this member, and whose committed offset has not moved for a while; the consumer
//! then rejoins, which starts a new generation and a fresh assignment. In a healthy group every
//! waiting partition is being read and its committed offset moves, so it never fires.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
    error::KafkaResult,
};

use crate::KafkaConfig;

/// How long a broker round trip of the watch may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

type Partition = (String, i32);

pub struct GroupWatch {
    /// Same `group.id`, never subscribes: reads the group's committed offsets and watermarks
    /// without being a member.
    probe: Arc<BaseConsumer>,
    /// How long a waiting partition's committed offset may stand still before it counts as
    /// read by nobody.
    stall_after: Duration,
    /// Waiting partitions not ours: their committed offset, and since when it has not moved.
    seen: HashMap<Partition, (i64, Instant)>,
}

impl GroupWatch {
    pub fn new(kafka: &KafkaConfig, group: &str) -> KafkaResult<Self> {
        let probe: BaseConsumer = kafka
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()?;
        Ok(Self {
            probe: Arc::new(probe),
            stall_after: kafka.session_timeout * 2,
            seen: HashMap::new(),
        })
    }

    /// Partitions (`topic[n]`) of `topics` with records waiting that are not in `mine` and
    /// whose committed offset has not moved for the stall time. Empty when the broker cannot be
    /// asked.
    pub async fn stalled(&mut self, topics: &[String], mine: &TopicPartitionList) -> Vec<String> {
        let probe = Arc::clone(&self.probe);
        let topics = topics.to_vec();
        let backlog = match tokio::task::spawn_blocking(move || backlog(&probe, &topics)).await {
            Ok(Ok(backlog)) => backlog,
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "group watch cannot read offsets");
                return Vec::new();
            }
            Err(err) => {
                tracing::debug!(error = %err, "group watch task failed");
                return Vec::new();
            }
        };
        let now = Instant::now();
        let before = std::mem::take(&mut self.seen);
        let mut stalled = Vec::new();
        for (partition, committed) in backlog {
            if mine.find_partition(&partition.0, partition.1).is_some() {
                continue;
            }
            let since = match before.get(&partition) {
                Some((before, since)) if *before == committed => *since,
                _ => now,
            };
            if now.duration_since(since) >= self.stall_after {
                stalled.push(format!("{}[{}]", partition.0, partition.1));
            }
            self.seen.insert(partition, (committed, since));
        }
        stalled
    }

    /// Forgets what was seen: after a rejoin, every partition gets a fresh stall time.
    pub fn reset(&mut self) {
        self.seen.clear();
    }
}

/// Every partition of `topics` with records after the group's committed offset, with that
/// offset (the first offset when the group never committed there).
fn backlog(probe: &BaseConsumer, topics: &[String]) -> KafkaResult<Vec<(Partition, i64)>> {
    let mut partitions = TopicPartitionList::new();
    for topic in topics {
        let metadata = probe.fetch_metadata(Some(topic), PROBE_TIMEOUT)?;
        for found in metadata.topics() {
            for partition in found.partitions() {
                partitions.add_partition(topic, partition.id());
            }
        }
    }
    if partitions.count() == 0 {
        return Ok(Vec::new());
    }
    let committed = probe.committed_offsets(partitions, PROBE_TIMEOUT)?;
    let mut waiting = Vec::new();
    for element in committed.elements() {
        let (low, high) =
            probe.fetch_watermarks(element.topic(), element.partition(), PROBE_TIMEOUT)?;
        // No commit yet: the group starts from the first record (auto.offset.reset=earliest).
        let position = match element.offset() {
            Offset::Offset(offset) => offset,
            _ => low,
        };
        if position < high {
            waiting.push(((element.topic().to_owned(), element.partition()), position));
        }
    }
    Ok(waiting)
}
