//! The mesh's Kafka producer: librdkafka's, with its delivery reports served by a task of the
//! async runtime instead of a thread of its own.
//!
//! rdkafka's `FutureProducer` runs a thread that calls `poll(100 ms)` forever. Each call ends
//! by spinning: the remaining time is rounded down to whole milliseconds for librdkafka, so its
//! last fraction of a millisecond is polled with a zero timeout in a loop. That is about 1 % of
//! a core per producer, every second, with nothing to deliver: most of an idle service's CPU.
//! Here a task polls without blocking while records are in flight (every millisecond, so an
//! acknowledgement waits at most that long) and sleeps while none are: woken by the next send,
//! and once a second for what librdkafka reports on its own (errors, statistics).
//!
//! The records are librdkafka's too, so everything `FutureProducer` promised holds: per
//! partition order, the `acks`, the timeouts (see [`crate::KafkaConfig::producer`]).

use std::{
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use rdkafka::{
    ClientConfig, ClientContext,
    error::{KafkaError, KafkaResult, RDKafkaErrorCode},
    message::{DeliveryResult, Message, OwnedMessage, ToBytes},
    producer::{
        BaseProducer, BaseRecord, FutureRecord, Producer as _, ProducerContext,
        future_producer::{Delivery, OwnedDeliveryResult},
    },
};
use tokio::sync::{Notify, oneshot};

/// How often an idle producer is polled for what librdkafka reports unasked.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How often a producer with records in flight is polled for their acknowledgements.
const BUSY_POLL: Duration = Duration::from_millis(1);
/// How long [`Producer::send`] waits before it tries again when librdkafka's queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(100);

/// A producer. Cheap to clone: clones share one librdkafka producer, whose polling task ends
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    base: BaseProducer<Reports>,
    /// A record was handed over: the polling task polls until its report is in.
    sent: Arc<Notify>,
}

/// The acknowledgement of one record: the broker's answer, or `Err` when the producer went
/// away first.
pub type DeliveryFuture = oneshot::Receiver<OwnedDeliveryResult>;

/// Routes each delivery report to the record's waiting sender.
struct Reports;

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<oneshot::Sender<OwnedDeliveryResult>>;

    fn delivery(&self, result: &DeliveryResult<'_>, waiting: Self::DeliveryOpaque) {
        let owned = match result {
            Ok(message) => Ok(Delivery {
                partition: message.partition(),
                offset: message.offset(),
                timestamp: message.timestamp(),
            }),
            Err((err, message)) => Err((err.clone(), message.detach())),
        };
        // Nobody waits any more (a send that was given up on): nothing to tell.
        let _ = waiting.send(owned);
    }
}

impl Producer {
    /// A producer with `config`, polled by a task of the current runtime (it must run inside
    /// one).
    pub fn create(config: &ClientConfig) -> KafkaResult<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|err| {
            KafkaError::ClientCreation(format!("a producer needs an async runtime: {err}"))
        })?;
        let base: BaseProducer<Reports> = config.create_with_context(Reports)?;
        let sent = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            base,
            sent: sent.clone(),
        });
        runtime.spawn(poll(Arc::downgrade(&inner), sent));
        Ok(Self { inner })
    }

    /// Hands the record to librdkafka and returns its acknowledgement to come; the record
    /// back with the error when librdkafka cannot take it now (its queue is full).
    #[allow(clippy::result_large_err)] // the record itself, as rdkafka returns it
    pub fn send_result<'a, K, P>(
        &self,
        record: FutureRecord<'a, K, P>,
    ) -> Result<DeliveryFuture, (KafkaError, FutureRecord<'a, K, P>)>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let (waiting, delivery) = oneshot::channel();
        let base = BaseRecord {
            topic: record.topic,
            partition: record.partition,
            payload: record.payload,
            key: record.key,
            timestamp: record.timestamp,
            headers: record.headers,
            delivery_opaque: Box::new(waiting),
        };
        match self.inner.base.send(base) {
            Ok(()) => {
                self.inner.sent.notify_one();
                Ok(delivery)
            }
            Err((err, base)) => Err((
                err,
                FutureRecord {
                    topic: base.topic,
                    partition: base.partition,
                    payload: base.payload,
                    key: base.key,
                    timestamp: base.timestamp,
                    headers: base.headers,
                },
            )),
        }
    }

    /// Sends the record and waits for the broker's answer. While librdkafka's queue is full it
    /// tries again for up to `queue_timeout`.
    pub async fn send<K, P>(
        &self,
        mut record: FutureRecord<'_, K, P>,
        queue_timeout: Duration,
    ) -> OwnedDeliveryResult
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let start = Instant::now();
        let record_topic = record.topic.to_owned();
        loop {
            match self.send_result(record) {
                Ok(delivery) => {
                    return match delivery.await {
                        Ok(result) => result,
                        // The producer went away before the broker answered.
                        Err(_) => Err((KafkaError::Canceled, unsent(&record_topic))),
                    };
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if start.elapsed() < queue_timeout =>
                {
                    record = back;
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((err, back)) => {
                    let message = OwnedMessage::new(
                        back.payload.map(|p| p.to_bytes().to_vec()),
                        back.key.map(|k| k.to_bytes().to_vec()),
                        back.topic.to_owned(),
                        back.timestamp.map_or(
                            rdkafka::Timestamp::NotAvailable,
                            rdkafka::Timestamp::CreateTime,
                        ),
                        back.partition.unwrap_or(-1),
                        -1,
                        None,
                    );
                    return Err((err, message));
                }
            }
        }
    }

    /// The error that ended the producer for good, if one did (see
    /// [`crate::broken_producer`]).
    pub fn fatal_error(&self) -> Option<(RDKafkaErrorCode, String)> {
        self.inner.base.client().fatal_error()
    }
}

/// What a record that got no answer reads as: its topic, nothing else known.
fn unsent(topic: &str) -> OwnedMessage {
    OwnedMessage::new(
        None,
        None,
        topic.to_owned(),
        rdkafka::Timestamp::NotAvailable,
        -1,
        -1,
        None,
    )
}

/// Serves the producer's reports until the producer is dropped.
async fn poll(inner: Weak<Inner>, sent: Arc<Notify>) {
    loop {
        let in_flight = {
            let Some(producer) = inner.upgrade() else {
                return;
            };
            // One report per call (a report may carry many records): poll while that drains
            // anything.
            let mut in_flight = producer.base.in_flight_count();
            loop {
                producer.base.poll(Duration::ZERO);
                let now = producer.base.in_flight_count();
                let drained = now < in_flight;
                in_flight = now;
                if now == 0 || !drained {
                    break;
                }
            }
            in_flight
        };
        // The producer is not held while waiting: dropping its last clone ends this task.
        let pause = if in_flight > 0 { BUSY_POLL } else { IDLE_POLL };
        tokio::select! {
            () = sent.notified() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}
