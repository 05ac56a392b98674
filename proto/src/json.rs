//! Canonical proto3 JSON for every message of the mesh, so Kafka payloads read well in `kcat`.
//!
//! The codec is driven by the descriptor set this crate embeds for reflection: one source of
//! truth for the wire format, and no hand-written serde impls to drift from the `.proto` files.

use prost::{Message, Name};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};

use crate::descriptors::pool;

/// Why a message could not be turned into JSON or back.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("the mesh descriptor set has no message {0}")]
    UnknownType(String),
    #[error("cannot encode {type_name} as JSON: {reason}")]
    Encode { type_name: String, reason: String },
    #[error("not a valid {type_name} JSON document: {reason}")]
    Decode { type_name: String, reason: String },
}

fn descriptor(type_name: &str) -> Result<MessageDescriptor, JsonError> {
    let pool =
        pool().map_err(|reason| JsonError::UnknownType(format!("{type_name} ({reason})")))?;
    pool.get_message_by_name(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))
}

/// `message` as canonical proto3 JSON: camelCase names, enums by name, 64-bit integers as
/// strings, timestamps in RFC 3339, default values left out.
pub fn to_json<M: Message + Name>(message: &M) -> Result<String, JsonError> {
    to_value(message).map(|value| value.to_string())
}

/// [`to_json`] as a JSON value, never written out as text: what the event store keeps (a
/// `jsonb` column) and serializes once for Kafka.
pub fn to_value<M: Message + Name>(message: &M) -> Result<serde_json::Value, JsonError> {
    let type_name = M::full_name();
    let encode_error = |reason: String| JsonError::Encode {
        type_name: type_name.clone(),
        reason,
    };
    let dynamic =
        DynamicMessage::decode(descriptor(&type_name)?, message.encode_to_vec().as_slice())
            .map_err(|err| encode_error(err.to_string()))?;
    serde_json::to_value(&dynamic).map_err(|err| encode_error(err.to_string()))
}

/// Parses proto3 JSON into `M`. Unknown fields are ignored, so an older reader accepts events
/// from a newer writer.
pub fn from_json<M: Message + Name + Default>(json: &[u8]) -> Result<M, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let message = decode::<M, _>(&mut deserializer)?;
    deserializer.end().map_err(|err| JsonError::Decode {
        type_name: M::full_name(),
        reason: err.to_string(),
    })?;
    Ok(message)
}

/// [`from_json`] from a JSON value (a stored event's payload), with no text in between.
pub fn from_value<M: Message + Name + Default>(value: serde_json::Value) -> Result<M, JsonError> {
    decode::<M, _>(value)
}

/// [`from_value`] from a borrowed value, which stays as it is (no copy is made to read it).
pub fn from_value_ref<M: Message + Name + Default>(
    value: &serde_json::Value,
) -> Result<M, JsonError> {
    decode::<M, _>(value)
}

fn decode<'de, M, D>(deserializer: D) -> Result<M, JsonError>
where
    M: Message + Name + Default,
    D: serde::Deserializer<'de>,
{
    let type_name = M::full_name();
    let decode_error = |reason: String| JsonError::Decode {
        type_name: type_name.clone(),
        reason,
    };
    DynamicMessage::deserialize_with_options(
        descriptor(&type_name)?,
        deserializer,
        &DeserializeOptions::new().deny_unknown_fields(false),
    )
    .map_err(|err| decode_error(err.to_string()))?
    .transcode_to::<M>()
    .map_err(|err| decode_error(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::v1::{DeliveryStatusChanged, OrderPlaced};
    use crate::{delivery::v1::DeliveryStatus, order::v1::OrderLine};

    #[test]
    fn events_round_trip_through_canonical_json() {
        let placed = OrderPlaced {
            order_id: "6f1c".into(),
            customer_id: "c-1".into(),
            items: vec![OrderLine {
                menu_item_id: "m-1".into(),
                name: "Margherita".into(),
                unit_price_cents: 1250,
                quantity: 2,
            }],
            total_cents: 2500,
            currency: "USD".into(),
            delivery_address: "1 Main St".into(),
        };
        let json = to_json(&placed).expect("encodes");
        assert!(json.contains(r#""totalCents":"2500""#), "{json}");
        assert!(json.contains(r#""unitPriceCents":"1250""#), "{json}");
        assert_eq!(
            from_json::<OrderPlaced>(json.as_bytes()).expect("decodes"),
            placed
        );
        // The store's form is the same document, never written out as text in between.
        let value = to_value(&placed).expect("encodes");
        assert_eq!(value.to_string(), json);
        assert_eq!(
            from_value_ref::<OrderPlaced>(&value).expect("decodes"),
            placed
        );
        assert_eq!(from_value::<OrderPlaced>(value).expect("decodes"), placed);
    }

    #[test]
    fn enums_are_written_by_name() {
        let changed = DeliveryStatusChanged {
            order_id: "o".into(),
            to: DeliveryStatus::PickedUp as i32,
            occur_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        };
        let json = to_json(&changed).expect("encodes");
        assert!(
            json.contains(r#""to":"DELIVERY_STATUS_PICKED_UP""#),
            "{json}"
        );
        assert!(
            json.contains(r#""occurTime":"2023-11-14T22:13:20Z""#),
            "{json}"
        );
    }

    #[test]
    fn rejects_documents_that_are_not_the_message() {
        let err = from_json::<OrderPlaced>(b"not json").expect_err("must fail");
        assert!(matches!(err, JsonError::Decode { .. }), "{err}");
        let err = from_json::<OrderPlaced>(br#"{"totalCents": "twelve"}"#).expect_err("must fail");
        assert!(
            err.to_string().contains("mesh.events.v1.OrderPlaced"),
            "{err}"
        );
    }

    #[test]
    fn ignores_fields_it_does_not_know() {
        let placed: OrderPlaced =
            from_json(br#"{"orderId":"o-1","addedLater":true}"#).expect("decodes");
        assert_eq!(placed.order_id, "o-1");
    }
}
