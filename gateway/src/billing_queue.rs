//! `POST /api/billing`'s promise: a billing request answered 202 is on the broker. The gateway
//! writes it to `billing-requests` with acks=all and answers only once the broker acknowledged
//! it; if the broker cannot be reached the answer is 503 and nothing was queued.
//!
//! Retries are safe: an `Idempotency-Key` maps to a request id derived from the billing user and
//! the key (UUIDv5), so every gateway instance, before or after a restart, gives a retry the same
//! id, and billing-service stores one order per id; the same key from another user is another
//! id, so users never collide. Before it is queued, the id is bound to the request in billing's
//! database (`ReserveRequestId`), so a different body under a used key is refused (409) by every
//! instance, after any restart. A keyed request therefore needs billing-service up (503 while it
//! is not, nothing queued); a request without a key needs only the broker.

use std::{
    collections::{HashSet, VecDeque},
    sync::{
        Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{DateTime, Utc};
use mesh_kafka::producer::Producer;
use mesh_kafka::{BILLING_REQUESTS, CloudEvent, KafkaConfig};
use mesh_proto::events::v1::BillingRequested;
use uuid::Uuid;

use crate::{
    backends::Backends,
    error::{ApiError, ErrorCode},
    model::BillingRequest,
};

/// Accepted request ids remembered, to answer "queued" while billing has not stored them. Old
/// entries are forgotten first.
const REMEMBERED: usize = 100_000;

/// Derives request ids from idempotency keys. Any fixed UUID works; changing it (or the name it
/// hashes, see [`scoped_key`]) would give retries across an upgrade new ids.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6d65_7368_6269_6c6c_696e_6700_0000_0001);

/// What the client gets back: 202 with these.
#[derive(
    Clone, Debug, PartialEq, Eq, serde::Serialize, async_graphql::SimpleObject, utoipa::ToSchema,
)]
pub struct Receipt {
    /// Where to look for the stored order: `GET /api/billing/{request_id}`.
    #[schema(value_type = String, format = Uuid)]
    pub request_id: async_graphql::ID,
    /// Always `queued`: on the broker, not yet stored by billing-service.
    #[schema(value_type = String, example = "queued")]
    pub status: &'static str,
}

/// Publishes billing requests and remembers which it accepted.
pub struct BillingQueue {
    producer: RwLock<Producer>,
    kafka: KafkaConfig,
    topic_ready: AtomicBool,
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    accepted: HashSet<Uuid>,
    /// Insertion order, to forget the oldest.
    order: VecDeque<Uuid>,
}

impl Memory {
    fn remember(&mut self, id: Uuid) {
        if !self.accepted.insert(id) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.accepted.remove(&old);
            }
        }
    }
}

/// The longest `Idempotency-Key` accepted, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// The key as hashed: scoped to the billing user, so an equal key from another
/// user names another request. Refused (400) when blank, longer than
/// [`MAX_IDEMPOTENCY_KEY_CHARS`] or holding control characters, on every path (REST header,
/// GraphQL argument).
fn scoped_key(user_id: i64, key: &str) -> Result<String, ApiError> {
    let ok = !key.trim().is_empty()
        && key.chars().count() <= MAX_IDEMPOTENCY_KEY_CHARS
        && !key.chars().any(char::is_control);
    if !ok {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 200 printable characters",
        ));
    }
    Ok(format!("{user_id}/{key}"))
}

impl BillingQueue {
    pub fn new(kafka: KafkaConfig) -> Result<Self, rdkafka::error::KafkaError> {
        Ok(Self {
            producer: RwLock::new(kafka.producer()?),
            kafka,
            topic_ready: AtomicBool::new(false),
            memory: Mutex::default(),
        })
    }

    /// Queues `request` and returns once the broker has it. With an idempotency key, a retry
    /// returns the first request's id (and billing stores it once); another request under the
    /// same key is refused.
    pub async fn submit(
        &self,
        backends: &Backends,
        request: BillingRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Receipt, ApiError> {
        let request_id = match idempotency_key {
            Some(key) => {
                let key = scoped_key(request.user_id, key)?;
                let request_id = Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, key.as_bytes());
                let first_use = backends
                    .reserve_request_id(request_id, request)
                    .await
                    .map_err(|err| match err.code {
                        ErrorCode::AlreadyExists => ApiError::new(
                            ErrorCode::AlreadyExists,
                            "this Idempotency-Key was already used for a different billing request",
                        ),
                        _ => err,
                    })?;
                // A retry is queued again: the first attempt may have ended before the broker
                // had it, and billing stores one order per id whatever the broker delivers.
                if !first_use {
                    tracing::info!(%request_id, "idempotent retry");
                }
                request_id
            }
            None => Uuid::new_v4(),
        };
        self.publish(request_id, request, Utc::now()).await?;
        self.memory().remember(request_id);
        tracing::info!(%request_id, user_id = request.user_id, "billing request queued");
        Ok(receipt(request_id))
    }

    /// Whether this gateway accepted `request_id` (and may not see it stored yet).
    pub fn was_accepted(&self, request_id: Uuid) -> bool {
        self.memory().accepted.contains(&request_id)
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        // Nothing in the memory can be left half-written by a panic; keep serving.
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn publish(
        &self,
        request_id: Uuid,
        request: BillingRequest,
        at: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let unavailable = || {
            ApiError::new(
                ErrorCode::Unavailable,
                "the billing queue is unavailable; nothing was queued, try again",
            )
        };
        // A broker does not create topics on a write, and tansu makes such a write hang until
        // it times out: make sure the topic exists first (once; quickly fails when the broker
        // is down).
        if !self.topic_ready.load(Ordering::Relaxed) {
            self.kafka
                .ensure_topics(&[BILLING_REQUESTS])
                .await
                .map_err(|err| {
                    tracing::warn!(error = %err, "cannot reach the broker to check billing-requests");
                    unavailable()
                })?;
            self.topic_ready.store(true, Ordering::Relaxed);
        }
        let event = BillingRequested {
            request_id: request_id.to_string(),
            user_id: request.user_id,
            number_of_items: request.number_of_items,
            total_amount_cents: request.total_amount_cents,
            request_time: Some(mesh_proto::timestamp(at)),
        };
        let payload = mesh_proto::json::to_json(&event).map_err(|err| {
            tracing::error!(error = %err, "cannot encode a billing request");
            ApiError::internal()
        })?;
        let id = request_id.to_string();
        let event_type = <BillingRequested as mesh_proto::Name>::full_name();
        let traceparent = mesh_kit::telemetry::trace_context::current();
        let caused_by = mesh_kit::context::request_id();
        let headers = CloudEvent {
            id: &id,
            event_type: &event_type,
            source: "/mesh/gateway",
            time: at,
            subject: None,
            request_id: caused_by.as_deref(),
            traceparent: traceparent.as_deref(),
            schema_version: mesh_kafka::schema::current_version(&event_type),
        }
        .headers();
        let producer = self
            .producer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let topic = self.kafka.topic(BILLING_REQUESTS);
        let key = request.user_id.to_string();
        match mesh_kafka::publish(&producer, &topic, &key, payload.as_bytes(), headers).await {
            Ok(()) => Ok(()),
            Err(err) => {
                tracing::warn!(error = %err, %request_id, "billing request not acknowledged");
                if let mesh_kafka::PublishError::Kafka(cause) = &err {
                    self.renew_if_broken(&producer, cause);
                }
                Err(unavailable())
            }
        }
    }

    /// A producer that cannot recover (see [`kafka::broken_producer`]) is replaced, so the next
    /// request gets through once the broker is back, without a gateway restart.
    fn renew_if_broken(&self, producer: &Producer, err: &rdkafka::error::KafkaError) {
        if let Some(reason) = mesh_kafka::broken_producer(producer, err) {
            tracing::warn!(%reason, "Kafka producer unusable; creating a new one");
            match self.kafka.producer() {
                Ok(fresh) => {
                    *self.producer.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                }
                Err(err) => tracing::error!(error = %err, "cannot create a new Kafka producer"),
            }
        }
    }
}

fn receipt(id: Uuid) -> Receipt {
    Receipt {
        request_id: async_graphql::ID(id.to_string()),
        status: "queued",
    }
}

// === parsing the body users send ===

/// A number as users' collections send it: a JSON number or a numeric string.
fn number_text(field: &str, value: Option<&serde_json::Value>) -> Result<String, ApiError> {
    match value {
        None | Some(serde_json::Value::Null) => Err(ApiError::invalid(field, "is required")),
        Some(serde_json::Value::Number(number)) => Ok(number.to_string()),
        Some(serde_json::Value::String(text)) => Ok(text.trim().to_owned()),
        Some(_) => Err(ApiError::invalid(field, "must be a number")),
    }
}

/// A positive whole number.
pub fn positive_integer(field: &str, value: Option<&serde_json::Value>) -> Result<i64, ApiError> {
    let text = number_text(field, value)?;
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err(ApiError::invalid(field, "must be a positive integer")),
        Err(_) => Err(ApiError::invalid(field, "must be a positive integer")),
    }
}

/// A non-negative amount with at most two decimals, in cents: `"180"` → 18000, `19.9` → 1990.
pub fn amount_cents(field: &str, value: Option<&serde_json::Value>) -> Result<i64, ApiError> {
    let text = number_text(field, value)?;
    let invalid = || {
        ApiError::invalid(
            field,
            "must be a non-negative amount with at most two decimals, like 180 or 19.99",
        )
    };
    let (units, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || fraction.len() > 2 || (!fraction.is_empty() && !digits(fraction)) {
        return Err(invalid());
    }
    let units: i64 = units.parse().map_err(|_| invalid())?;
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    units
        .checked_mul(100)
        .and_then(|c| c.checked_add(cents))
        .ok_or_else(invalid)
}

/// The body of `POST /api/billing` as the movie platform's users send it: numbers, or numbers
/// in strings (`{"user_id": "3", "number_of_items": "5", "total_amount": "180"}`).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"user_id": "3", "number_of_items": "5", "total_amount": "180"}))]
pub struct BillingBody {
    /// A positive integer.
    #[schema(required = true, schema_with = integer_or_text)]
    pub user_id: Option<serde_json::Value>,
    /// A positive integer.
    #[schema(required = true, schema_with = integer_or_text)]
    pub number_of_items: Option<serde_json::Value>,
    /// A non-negative amount with at most two decimals, like 180 or 19.99.
    #[schema(required = true, schema_with = amount_or_text)]
    pub total_amount: Option<serde_json::Value>,
}

impl BillingBody {
    /// The body from any JSON: it must be an object (serde would take `[1, 2, 3]` too).
    pub fn from_json(body: serde_json::Value) -> Result<Self, ApiError> {
        if !body.is_object() {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        }
        serde_json::from_value(body).map_err(|err| ApiError::invalid("body", &err.to_string()))
    }

    pub fn parse(&self) -> Result<BillingRequest, ApiError> {
        Ok(BillingRequest {
            user_id: positive_integer("user_id", self.user_id.as_ref())?,
            number_of_items: positive_integer("number_of_items", self.number_of_items.as_ref())?,
            total_amount_cents: amount_cents("total_amount", self.total_amount.as_ref())?,
        })
    }
}

fn number_or_text(number: utoipa::openapi::schema::Type, pattern: &str) -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(number).minimum(Some(0)))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern)),
        )
        .into()
}

fn integer_or_text() -> utoipa::openapi::Schema {
    number_or_text(utoipa::openapi::schema::Type::Integer, "^[0-9]+$")
}

fn amount_or_text() -> utoipa::openapi::Schema {
    number_or_text(
        utoipa::openapi::schema::Type::Number,
        r"^[0-9]+(\.[0-9]{1,2})?$",
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: serde_json::Value) -> Result<BillingRequest, ApiError> {
        BillingBody::from_json(body)?.parse()
    }

    #[test]
    fn idempotency_keys_are_scoped_to_the_user_and_bounded() {
        let three = scoped_key(3, "k-1").expect("a good key");
        assert_ne!(three, scoped_key(4, "k-1").expect("a good key"));
        assert_eq!(three, scoped_key(3, "k-1").expect("a good key"));
        let long = "k".repeat(MAX_IDEMPOTENCY_KEY_CHARS + 1);
        for bad in ["", "  ", "a\u{0}b", long.as_str()] {
            assert!(scoped_key(3, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn numbers_arrive_as_numbers_or_numeric_strings() {
        let parsed = parse(json!({"user_id": "3", "number_of_items": "5", "total_amount": "180"}));
        assert_eq!(
            parsed,
            Ok(BillingRequest {
                user_id: 3,
                number_of_items: 5,
                total_amount_cents: 18_000
            })
        );
        let parsed = parse(json!({"user_id": 3, "number_of_items": 5, "total_amount": 19.99}));
        assert_eq!(parsed.map(|r| r.total_amount_cents), Ok(1999));
        assert_eq!(amount_cents("a", Some(&json!("0.5"))), Ok(50));
        assert_eq!(amount_cents("a", Some(&json!(0))), Ok(0));
    }

    #[test]
    fn refuses_bad_numbers_naming_the_field() {
        let err = |body| parse(body).expect_err("refused").message;
        assert_eq!(
            err(json!({"number_of_items": 1, "total_amount": 1})),
            "user_id: is required"
        );
        assert!(
            err(json!({"user_id": -3, "number_of_items": 1, "total_amount": 1}))
                .starts_with("user_id")
        );
        assert!(
            err(json!({"user_id": "three", "number_of_items": 1, "total_amount": 1}))
                .starts_with("user_id")
        );
        assert!(
            err(json!({"user_id": 1.5, "number_of_items": 1, "total_amount": 1}))
                .starts_with("user_id")
        );
        assert!(
            err(json!({"user_id": 1, "number_of_items": 0, "total_amount": 1}))
                .starts_with("number_of_items")
        );
        for amount in [
            json!(-1),
            json!("1.234"),
            json!("12,50"),
            json!("abc"),
            json!(true),
            json!("1e3"),
        ] {
            assert!(
                err(json!({"user_id": 1, "number_of_items": 1, "total_amount": amount}))
                    .starts_with("total_amount")
            );
        }
        assert_eq!(err(json!([1, 2])), "body: must be a JSON object");
    }

    #[test]
    fn the_same_key_always_names_the_same_request() {
        let a = Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, b"retry-1");
        assert_eq!(a, Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, b"retry-1"));
        assert_ne!(a, Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, b"retry-2"));
    }

    #[test]
    fn memory_forgets_the_oldest_first() {
        let mut memory = Memory::default();
        let first = Uuid::new_v4();
        memory.remember(first);
        memory.remember(first);
        for _ in 0..REMEMBERED {
            memory.remember(Uuid::new_v4());
        }
        assert!(!memory.accepted.contains(&first));
        assert_eq!(memory.accepted.len(), REMEMBERED);
        assert_eq!(memory.order.len(), REMEMBERED);
    }
}
