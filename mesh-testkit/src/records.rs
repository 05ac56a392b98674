//! Raw Kafka records, as a console consumer shows them: for tests that put a record straight on
//! a topic (a poison message) or check what landed on one (a dead letter).

use std::time::Duration;

use mesh_kafka::KafkaConfig;
use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
    message::{Header, Headers, OwnedHeaders},
    producer::FutureRecord,
};

/// A record read from a topic.
#[derive(Clone, Debug)]
pub struct Record {
    pub key: Option<String>,
    pub payload: String,
    pub headers: Vec<(String, String)>,
    pub partition: i32,
    pub offset: i64,
}

impl Record {
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Writes one record to the physical topic `topic` and waits for the broker's ack.
pub async fn produce(
    kafka: &KafkaConfig,
    topic: &str,
    key: &str,
    payload: &[u8],
    headers: &[(&str, &str)],
) {
    let producer = kafka.producer().expect("producer");
    let headers = headers
        .iter()
        .fold(OwnedHeaders::new(), |all, (key, value)| {
            all.insert(Header {
                key,
                value: Some(*value),
            })
        });
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(payload)
        .headers(headers);
    producer
        .send(record, Duration::from_secs(5))
        .await
        .unwrap_or_else(|(err, _)| panic!("cannot produce to {topic}: {err}"));
}

/// Publishes `message` on the logical `topic` as the service that owns it would: keyed, as
/// proto3 JSON, with CloudEvents headers (`ce_id` = `event_id`) and `x-request-id`.
pub async fn publish_event<M: mesh_proto::Message + mesh_proto::Name>(
    kafka: &KafkaConfig,
    topic: &str,
    key: &str,
    event_id: &str,
    message: &M,
    request_id: &str,
) {
    let payload = mesh_proto::json::to_json(message).expect("json");
    let event_type = M::full_name();
    produce(
        kafka,
        &kafka.topic(topic),
        key,
        payload.as_bytes(),
        &[
            ("ce_id", event_id),
            ("ce_type", event_type.as_str()),
            ("ce_specversion", "1.0"),
            ("x-request-id", request_id),
        ],
    )
    .await;
}

/// Reads the physical topic `topic` from the beginning until `count` records arrived, or panics
/// after `timeout`. Records of one partition come in order.
pub async fn read(
    kafka: &KafkaConfig,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Vec<Record> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", format!("reader-{}", crate::unique_id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut records = Vec::with_capacity(count);
    let deadline = tokio::time::Instant::now() + timeout;
    while records.len() < count {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "read {} of {count} records from {topic} within {timeout:?}: {records:#?}",
                    records.len()
                )
            })
            .unwrap_or_else(|err| panic!("cannot read {topic}: {err}"));
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        records.push(Record {
            key: message
                .key()
                .map(|key| String::from_utf8_lossy(key).into_owned()),
            payload: String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
            headers,
            partition: message.partition(),
            offset: message.offset(),
        });
    }
    records
}
