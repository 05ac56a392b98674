//! Kafka plumbing: settings, topic names, CloudEvents headers and topic creation (here), the
//! idempotent producer (`producer`), event schema versions and their upcasters (`schema`), the
//! group watch a consumer runs (`group_watch`), and dead-letter replay (`dlq`, with the
//! `mesh-dlq` binary). Every producer and consumer of the mesh is built here. No database:
//! the gateway links this crate alone; the event store and the consumer loop that commits with
//! it are `mesh-events`.

pub mod dlq;
pub mod group_watch;
pub mod producer;
pub mod schema;

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    error::{KafkaError, RDKafkaErrorCode},
    message::{Header, OwnedHeaders},
    producer::FutureRecord,
};

use mesh_kit::{config::ConfigError, settings::Secret};

use producer::Producer;

/// Order lifecycle events, keyed by order id.
pub const ORDER_EVENTS: &str = "order-events";
/// Delivery status changes, keyed by order id.
pub const DELIVERY_EVENTS: &str = "delivery-events";
/// Payment outcomes, keyed by order id.
pub const BILLING_EVENTS: &str = "billing-events";
/// Billing orders queued by the gateway, keyed by user id.
pub const BILLING_REQUESTS: &str = "billing-requests";

/// The fetch wait when `KAFKA_FETCH_WAIT_MS` is unset, chosen for tansu by `scripts/bench`.
/// There a hop of the order flow costs one to two waits, and the idle broker spends about a
/// millisecond of CPU per partition per fetch (planning its SQL), so its idle load is
/// proportional to partitions read / wait. Measured on 2 cores with the three services' five
/// partitions (the gateway's feed rests while nobody subscribes): 40 ms, 17 % of a core and
/// `POST /orders` → `OrderPaid` in 135 ms; 50 ms, 12 % and 110–160 ms; 60 ms, 10 % and 190 ms;
/// 100 ms, 8 % and 315 ms. 50 keeps both targets (15 %, 200 ms).
pub const DEFAULT_FETCH_WAIT_MS: u64 = 50;

/// Every topic of the mesh, each with its dead-letter topic beside it.
pub const ALL_TOPICS: [&str; 4] = [
    ORDER_EVENTS,
    DELIVERY_EVENTS,
    BILLING_EVENTS,
    BILLING_REQUESTS,
];

/// The dead-letter topic of `topic`.
pub fn dlq_of(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// CloudEvents Kafka binary-mode header names, plus the mesh's request id.
pub mod header {
    pub const ID: &str = "ce_id";
    pub const TYPE: &str = "ce_type";
    pub const SOURCE: &str = "ce_source";
    pub const TIME: &str = "ce_time";
    pub const SPEC_VERSION: &str = "ce_specversion";
    pub const SUBJECT: &str = "ce_subject";
    /// CloudEvents extension: the version of the payload type's schema (see [`crate::schema`]).
    pub const SCHEMA_VERSION: &str = "ce_schemaversion";
    pub const CONTENT_TYPE: &str = "content-type";
    pub const REQUEST_ID: &str = mesh_kit::telemetry::REQUEST_ID_HEADER;
    /// W3C trace context, as in HTTP.
    pub const TRACEPARENT: &str = mesh_kit::telemetry::trace_context::TRACEPARENT;
    /// Why a record was moved to a dead-letter topic.
    pub const DLQ_REASON: &str = "dlq_reason";
    pub const DLQ_TOPIC: &str = "dlq_topic";
    pub const DLQ_PARTITION: &str = "dlq_partition";
    pub const DLQ_OFFSET: &str = "dlq_offset";
    pub const DLQ_CONSUMER: &str = "dlq_consumer";
}

/// The broker settings of every binary that uses Kafka; [`KafkaSettings::config`] checks them.
/// What each one does is [`KafkaConfig`]'s field of the same name.
#[derive(Clone, Debug, clap::Args)]
pub struct KafkaSettings {
    /// The brokers to bootstrap from (`bootstrap.servers`): comma-separated `host:port`.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    brokers: String,
    /// Put before every topic and consumer-group name (tests use a unique one).
    #[arg(long, env = "KAFKA_TOPIC_PREFIX", default_value = "")]
    topic_prefix: String,
    /// Partitions of the topics the mesh creates: at least the instances of any one consumer
    /// group.
    #[arg(long, env = "KAFKA_PARTITIONS", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Replicas of the topics the mesh creates.
    #[arg(long, env = "KAFKA_REPLICATION_FACTOR", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    replication_factor: i32,
    /// How long a fetch may wait for data, in ms: on tansu each hop of the order flow costs one
    /// to two waits, and a longer wait costs the idle broker less CPU (docs/benchmarks.md).
    #[arg(long, env = "KAFKA_FETCH_WAIT_MS", default_value_t = DEFAULT_FETCH_WAIT_MS)]
    fetch_wait_ms: u64,
    /// How long a producer waits to batch records (`linger.ms`), in ms.
    #[arg(long, env = "KAFKA_LINGER_MS", default_value_t = 5)]
    linger_ms: u64,
    /// How long the broker keeps records of the topics the mesh creates, in ms; 0 keeps the
    /// broker's default.
    #[arg(long, env = "KAFKA_RETENTION_MS", default_value_t = 0)]
    retention_ms: u64,
    /// How long a write may take before it counts as failed (`message.timeout.ms`), in ms.
    #[arg(long, env = "KAFKA_PUBLISH_TIMEOUT_MS", default_value_t = 5_000)]
    publish_timeout_ms: u64,
    /// How long the broker waits for a consumer's heartbeat before handing its partitions to
    /// another, in ms.
    #[arg(long, env = "KAFKA_SESSION_TIMEOUT_MS", default_value_t = 10_000)]
    session_timeout_ms: u64,
    /// How often a consumer commits the offsets of the records it has finished, in ms.
    #[arg(long, env = "KAFKA_COMMIT_INTERVAL_MS", default_value_t = 1_000)]
    commit_interval_ms: u64,
    /// How many records a consumer applies at once (records of one key one after another).
    #[arg(long, env = "KAFKA_CONSUMER_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    consumer_concurrency: u16,
    /// Idempotent producers (`enable.idempotence`): on for Apache Kafka; tansu 0.6 breaks on it
    /// after a restart.
    #[arg(long, env = "KAFKA_IDEMPOTENCE", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    idempotence: bool,
    /// librdkafka debug contexts (`debug`, e.g. `cgrp,fetch`), logged to stderr.
    #[arg(long, env = "KAFKA_DEBUG", default_value = "")]
    debug: String,
    /// librdkafka `security.protocol`: `plaintext`, `ssl`, `sasl_plaintext`, `sasl_ssl`.
    #[arg(long, env = "KAFKA_SECURITY_PROTOCOL")]
    security_protocol: Option<String>,
    /// librdkafka `ssl.ca.location`: the CA the brokers' certificates come from (PEM path).
    #[arg(long, env = "KAFKA_SSL_CA_LOCATION")]
    ssl_ca_location: Option<String>,
    /// librdkafka `ssl.certificate.location`: this client's certificate, for mutual TLS.
    #[arg(long, env = "KAFKA_SSL_CERTIFICATE_LOCATION")]
    ssl_certificate_location: Option<String>,
    /// librdkafka `ssl.key.location`: this client's key, for mutual TLS.
    #[arg(long, env = "KAFKA_SSL_KEY_LOCATION")]
    ssl_key_location: Option<String>,
    /// librdkafka `sasl.mechanism`: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
    #[arg(long, env = "KAFKA_SASL_MECHANISM")]
    sasl_mechanism: Option<String>,
    /// librdkafka `sasl.username`.
    #[arg(long, env = "KAFKA_SASL_USERNAME")]
    sasl_username: Option<String>,
    /// librdkafka `sasl.password`.
    #[arg(long, env = "KAFKA_SASL_PASSWORD", hide_env_values = true)]
    sasl_password: Option<Secret>,
}

impl KafkaSettings {
    pub fn config(&self) -> Result<KafkaConfig, ConfigError> {
        let millis = Duration::from_millis;
        if self.brokers.trim().is_empty() {
            return Err(ConfigError {
                name: "KAFKA_BROKERS".to_owned(),
                value: self.brokers.clone(),
                reason: "name at least one broker".to_owned(),
            });
        }
        let security = [
            ("security.protocol", self.security_protocol.as_deref()),
            ("ssl.ca.location", self.ssl_ca_location.as_deref()),
            (
                "ssl.certificate.location",
                self.ssl_certificate_location.as_deref(),
            ),
            ("ssl.key.location", self.ssl_key_location.as_deref()),
            ("sasl.mechanism", self.sasl_mechanism.as_deref()),
            ("sasl.username", self.sasl_username.as_deref()),
            (
                "sasl.password",
                self.sasl_password.as_ref().map(Secret::expose),
            ),
        ];
        Ok(KafkaConfig {
            brokers: self.brokers.clone(),
            prefix: self.topic_prefix.clone(),
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            fetch_wait: millis(self.fetch_wait_ms),
            linger: millis(self.linger_ms),
            retention: (self.retention_ms > 0).then(|| millis(self.retention_ms)),
            publish_timeout: millis(self.publish_timeout_ms),
            session_timeout: millis(self.session_timeout_ms),
            commit_interval: millis(self.commit_interval_ms),
            consumer_concurrency: usize::from(self.consumer_concurrency),
            idempotence: self.idempotence,
            debug: self.debug.clone(),
            security: KafkaSecurity {
                properties: security
                    .into_iter()
                    .filter_map(|(property, value)| Some((property, value?.to_owned())))
                    .collect(),
            },
        })
    }
}

/// Where the broker is and how the mesh uses it.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// Put before every topic and consumer-group name. Empty in a deployment; tests set a
    /// unique one so parallel tests never read each other's events.
    pub prefix: String,
    /// Partitions of topics the mesh creates: at least the instances of any one consumer
    /// group, or the extra instances consume nothing. Fewer partitions cost a broker like
    /// tansu less (it queries each partition on every fetch), so the local stack uses as many
    /// as its largest group needs.
    pub partitions: i32,
    pub replication_factor: i32,
    /// How long a fetch may wait for data: the latency/CPU trade-off on tansu, which always
    /// waits this long and queries every partition once per fetch, so each hop of the order
    /// flow costs one to two waits and the broker's idle CPU falls as the wait grows (see
    /// [`DEFAULT_FETCH_WAIT_MS`] and `docs/benchmarks.md`). Apache Kafka answers as soon as data arrives, so there the wait
    /// costs no latency and its own default (500 ms) is right.
    pub fetch_wait: Duration,
    /// How long a producer waits to batch records (`linger.ms`). Order survives batching: one
    /// request in flight per connection, or an idempotent producer.
    pub linger: Duration,
    /// How long the broker keeps records of the topics the mesh creates (`retention.ms` with
    /// `cleanup.policy=delete`); `None` keeps the broker's default. Events stay in each
    /// service's event store whatever the broker keeps: this bounds the local broker's data,
    /// which its fetches grow slower with.
    pub retention: Option<Duration>,
    /// How long a write may take before it counts as failed (`message.timeout.ms`).
    pub publish_timeout: Duration,
    /// How long the broker waits for a consumer's heartbeat before handing its partitions to
    /// another: how soon a killed consumer's work resumes elsewhere.
    pub session_timeout: Duration,
    /// How many records a consumer applies at once (`KAFKA_CONSUMER_CONCURRENCY`). Records with
    /// the same key (an order's events, from every topic the consumer reads) are applied one
    /// after another in the order they arrived; records of different keys overlap, so a burst
    /// is not bound by one database round trip after another. At most this many of the
    /// service's pooled connections are held by the consumer.
    pub consumer_concurrency: usize,
    /// How often a consumer commits the offsets of the records it has finished
    /// (`auto.commit.interval.ms` over offsets stored after each effect; 1 s). One commit per
    /// record was one broker write per record, and on tansu a commit waits behind the fetches
    /// (150 ms and more in a burst). A crash re-reads at most this much, which the handlers'
    /// claims make harmless; nothing is committed while nothing is consumed.
    pub commit_interval: Duration,
    /// Whether producers are idempotent (`enable.idempotence`). Off by default because tansu
    /// 0.6 breaks on it: after a broker restart, the first write of a producer from before the
    /// restart panics its storage task, and the broker accepts no write from anyone until it is
    /// restarted again (`gateway/tests/api/billing.rs` stops and resumes a broker). Without it,
    /// writes stay ordered (one request in flight per connection) and acknowledged by all
    /// replicas; a retried write may land twice, which every consumer drops by event id. Turn it
    /// on for Apache Kafka (`docker-compose.yml` and `deploy/` do).
    pub idempotence: bool,
    /// librdkafka debug contexts (`debug`, e.g. `cgrp,fetch`), logged to stderr; empty for none.
    pub debug: String,
    /// TLS and SASL settings passed to every client as they are (see [`KafkaSecurity`]).
    pub security: KafkaSecurity,
}

/// How clients authenticate to the broker and encrypt: librdkafka properties passed through as
/// they are (see [`KafkaSettings`]).
#[derive(Clone, Default)]
pub struct KafkaSecurity {
    properties: Vec<(&'static str, String)>,
}

impl KafkaSecurity {
    fn apply(&self, config: &mut ClientConfig) {
        for (property, value) in &self.properties {
            config.set(*property, value);
        }
    }
}

impl std::fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Which settings are made, never what the password is.
        f.debug_list()
            .entries(self.properties.iter().map(|(property, value)| {
                if property.contains("password") {
                    format!("{property}=<redacted>")
                } else {
                    format!("{property}={value}")
                }
            }))
            .finish()
    }
}

impl KafkaConfig {
    /// Settings for a local broker with the given prefix; what tests start from.
    pub fn local(brokers: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            prefix: prefix.into(),
            partitions: 3,
            replication_factor: 1,
            fetch_wait: Duration::from_millis(10),
            linger: Duration::from_millis(1),
            retention: None,
            publish_timeout: Duration::from_secs(5),
            session_timeout: Duration::from_secs(6),
            commit_interval: Duration::from_millis(50),
            consumer_concurrency: 4,
            idempotence: false,
            debug: String::new(),
            security: KafkaSecurity::default(),
        }
    }

    /// The name a logical topic (`order-events`) has on this broker.
    pub fn topic(&self, logical: &str) -> String {
        format!("{}{logical}", self.prefix)
    }

    /// The logical name of a topic on this broker: the inverse of [`KafkaConfig::topic`].
    pub fn logical<'a>(&self, physical: &'a str) -> &'a str {
        physical
            .strip_prefix(self.prefix.as_str())
            .unwrap_or(physical)
    }

    /// The consumer group a service joins, under this deployment's prefix.
    pub fn group(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Settings shared by every client.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            // Some brokers listen on IPv4 only; "localhost" must not stall on ::1.
            .set("broker.address.family", "v4")
            .set("socket.keepalive.enable", "true")
            // Small request/response traffic: no waiting for the broker's delayed ACK.
            .set("socket.nagle.disable", "true")
            .set("reconnect.backoff.max.ms", "2000")
            // No client metrics pushed to the broker (KIP-714): nobody collects them, and on
            // tansu each subscription request queued behind the fetches.
            .set("enable.metrics.push", "false");
        if !self.debug.is_empty() {
            config.set("debug", &self.debug);
        }
        self.security.apply(&mut config);
        config
    }

    /// Settings of every consumer: [`KafkaConfig::client_config`] and how long a fetch
    /// waits.
    pub fn consumer_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config.set("fetch.wait.max.ms", self.fetch_wait.as_millis().to_string());
        config
    }

    /// The mesh's producer: acks=all, so a write the broker acknowledged is never lost to a
    /// leader change, and ordered per partition even when it retries: idempotent where the
    /// broker supports it, else one request in flight (see [`KafkaConfig::idempotence`]).
    /// Creates it on the current async runtime (see [`crate::producer`]).
    pub fn producer(&self) -> Result<Producer, KafkaError> {
        let mut config = self.client_config();
        if self.idempotence {
            config.set("enable.idempotence", "true");
        } else {
            config
                .set("enable.idempotence", "false")
                .set("max.in.flight.requests.per.connection", "1");
        }
        config
            .set("acks", "all")
            .set(
                "message.timeout.ms",
                self.publish_timeout.as_millis().to_string(),
            )
            .set("linger.ms", self.linger.as_millis().to_string());
        Producer::create(&config)
    }

    /// Creates the topics (and a dead-letter topic for each) that do not exist yet.
    pub async fn ensure_topics(&self, logical: &[&str]) -> Result<(), KafkaError> {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create()?;
        let retention_ms = self
            .retention
            .map(|retention| retention.as_millis().to_string());
        let names: Vec<String> = logical
            .iter()
            .flat_map(|topic| [self.topic(topic), self.topic(&dlq_of(topic))])
            .collect();
        let topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|name| {
                let topic = NewTopic::new(
                    name,
                    self.partitions,
                    TopicReplication::Fixed(self.replication_factor),
                );
                match &retention_ms {
                    Some(ms) => topic
                        .set("cleanup.policy", "delete")
                        .set("retention.ms", ms),
                    None => topic,
                }
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        for result in admin.create_topics(&topics, &options).await? {
            match result {
                Ok(name) => tracing::info!(topic = %name, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(KafkaError::AdminOp(code)).inspect_err(|_| {
                        tracing::error!(topic = %name, error = %code, "cannot create topic");
                    });
                }
            }
        }
        Ok(())
    }
}

/// The CloudEvents attributes of one event, written as Kafka headers (binary content mode).
#[derive(Clone, Debug)]
pub struct CloudEvent<'a> {
    pub id: &'a str,
    /// The payload's full proto name, e.g. `mesh.events.v1.OrderPlaced`.
    pub event_type: &'a str,
    /// Who emitted it, e.g. `/mesh/order-service`.
    pub source: &'a str,
    pub time: DateTime<Utc>,
    /// The aggregate the event is about (the order id).
    pub subject: Option<&'a str>,
    /// The request that caused it, carried from the gateway through every hop.
    pub request_id: Option<&'a str>,
    /// The W3C trace context of that request, when traces are exported.
    pub traceparent: Option<&'a str>,
    /// The version of the payload type's schema (`ce_schemaversion`).
    pub schema_version: i32,
}

impl CloudEvent<'_> {
    pub fn headers(&self) -> OwnedHeaders {
        let time = self.time.to_rfc3339_opts(SecondsFormat::Micros, true);
        let schema_version = self.schema_version.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(10)
            .insert(text(header::SPEC_VERSION, "1.0"))
            .insert(text(header::ID, self.id))
            .insert(text(header::TYPE, self.event_type))
            .insert(text(header::SOURCE, self.source))
            .insert(text(header::TIME, &time))
            .insert(text(header::CONTENT_TYPE, "application/json"))
            .insert(text(header::SCHEMA_VERSION, &schema_version));
        if let Some(subject) = self.subject {
            headers = headers.insert(text(header::SUBJECT, subject));
        }
        if let Some(request_id) = self.request_id {
            headers = headers.insert(text(header::REQUEST_ID, request_id));
        }
        if let Some(traceparent) = self.traceparent {
            headers = headers.insert(text(header::TRACEPARENT, traceparent));
        }
        headers
    }
}

fn text<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// The value of header `key` as text, if present and UTF-8.
pub fn header_text<'a, H: rdkafka::message::Headers>(
    headers: Option<&'a H>,
    key: &str,
) -> Option<&'a str> {
    headers?
        .iter()
        .find(|header| header.key == key)
        .and_then(|header| header.value)
        .and_then(|value| std::str::from_utf8(value).ok())
}

/// Why a record was not stored by the broker.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the broker did not acknowledge the record: {0}")]
    Kafka(#[from] KafkaError),
    #[error("the producer went away before the broker answered")]
    Canceled,
}

/// Why a producer that failed a write must be replaced by a new one: it never recovers on its
/// own. `None` when retrying with the same producer can work (a timeout while the broker is
/// down). Two cases: a fatal error (the idempotent producer lost its sequence state after a long
/// outage), and a broker that forgot the producer's id, as tansu does when it restarts: it then
/// answers every write of that producer with UNKNOWN_SERVER_ERROR, while a new producer works.
pub fn broken_producer(producer: &Producer, err: &KafkaError) -> Option<String> {
    if let Some((code, reason)) = producer.fatal_error() {
        return Some(format!("fatal error {code:?}: {reason}"));
    }
    match err {
        KafkaError::MessageProduction(
            code @ (RDKafkaErrorCode::Unknown
            | RDKafkaErrorCode::UnknownProducerId
            | RDKafkaErrorCode::OutOfOrderSequenceNumber
            | RDKafkaErrorCode::InvalidProducerEpoch),
        ) => Some(format!("the broker refuses this producer: {code}")),
        _ => None,
    }
}

/// Writes one record and waits until the broker acknowledged it (acks=all).
pub async fn publish(
    producer: &Producer,
    topic: &str,
    key: &str,
    payload: &[u8],
    headers: OwnedHeaders,
) -> Result<(), PublishError> {
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(payload)
        .headers(headers);
    producer
        .send(record, Duration::ZERO)
        .await
        .map(|_| ())
        .map_err(|(err, _)| PublishError::Kafka(err))
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Headers;

    use super::*;

    #[test]
    fn prefixes_topics_and_groups_and_strips_them_back() {
        let config = KafkaConfig::local("127.0.0.1:9092", "t42-");
        assert_eq!(config.topic(ORDER_EVENTS), "t42-order-events");
        assert_eq!(config.topic(&dlq_of(ORDER_EVENTS)), "t42-order-events.dlq");
        assert_eq!(config.logical("t42-order-events"), "order-events");
        assert_eq!(config.group("billing-service"), "t42-billing-service");
    }

    #[test]
    fn cloud_event_headers_carry_every_required_attribute() {
        let event = CloudEvent {
            id: "e-1",
            event_type: "mesh.events.v1.OrderPlaced",
            source: "/mesh/order-service",
            time: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            subject: Some("o-1"),
            request_id: Some("r-1"),
            traceparent: None,
            schema_version: 1,
        };
        let headers = event.headers();
        let value = |key: &str| {
            headers
                .iter()
                .find(|h| h.key == key)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(value("ce_specversion").as_deref(), Some("1.0"));
        assert_eq!(value("ce_id").as_deref(), Some("e-1"));
        assert_eq!(
            value("ce_type").as_deref(),
            Some("mesh.events.v1.OrderPlaced")
        );
        assert_eq!(value("ce_source").as_deref(), Some("/mesh/order-service"));
        assert_eq!(
            value("ce_time").as_deref(),
            Some("2023-11-14T22:13:20.000000Z")
        );
        assert_eq!(value("content-type").as_deref(), Some("application/json"));
        assert_eq!(value("x-request-id").as_deref(), Some("r-1"));
        assert_eq!(value("ce_schemaversion").as_deref(), Some("1"));
    }
}
