//! Event schema versions and upcasting: every event carries the version of its payload's
//! schema (`schema_version` in the event store, `ce_schemaversion` on Kafka), and a reader turns
//! an older payload into the current shape before decoding it, so an event written before a
//! field was added (or renamed) still loads, from the store as from a topic.
//!
//! Adding a field a reader can default needs only a new version here; a field that must be
//! derived or renamed needs an upcaster step too. Payloads newer than the reader are decoded as
//! they are: proto3 JSON ignores unknown fields.

use std::sync::LazyLock;

use mesh_proto::json::JsonError;
use serde_json::{Map, Value};

/// The current version of each event type whose schema changed; every other type is at 1.
const CURRENT: &[(&str, i32)] = &[
    // 2: the opening event carries `deliveryAddress`.
    ("mesh.events.v1.DeliveryStatusChanged", 2),
];

/// The schema version `event_type` is written with today.
pub fn current_version(event_type: &str) -> i32 {
    CURRENT
        .iter()
        .find(|(name, _)| *name == event_type)
        .map_or(1, |(_, version)| *version)
}

/// One step of an upcast: turns a payload of `event_type` at version `from` into `from + 1`.
#[derive(Clone, Copy)]
pub struct Step {
    pub event_type: &'static str,
    pub from: i32,
    pub upcast: fn(&mut Map<String, Value>),
}

/// The steps that bring old payloads up to date, and the current version of each type.
pub struct Upcasters {
    steps: Vec<Step>,
    current: fn(&str) -> i32,
}

/// The mesh's own upcasters, used by every reader of stored and consumed events.
pub static MESH: LazyLock<Upcasters> = LazyLock::new(|| {
    Upcasters::new(current_version).with(Step {
        event_type: "mesh.events.v1.DeliveryStatusChanged",
        from: 1,
        upcast: delivery_address_unknown,
    })
});

/// Version 1 of `DeliveryStatusChanged` had no address; deliveries opened then keep an empty
/// one (the order still has it), stated rather than left to chance.
fn delivery_address_unknown(payload: &mut Map<String, Value>) {
    payload
        .entry("deliveryAddress")
        .or_insert_with(|| Value::String(String::new()));
}

impl Upcasters {
    /// No steps; `current` says which version each type is at.
    pub fn new(current: fn(&str) -> i32) -> Self {
        Self {
            steps: Vec::new(),
            current,
        }
    }

    pub fn with(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Whether a payload of `event_type` at `version` needs upcasting.
    pub fn is_old(&self, event_type: &str, version: i32) -> bool {
        version < (self.current)(event_type)
    }

    /// `payload` (of `event_type`, written at `version`) in the current schema. Versions without
    /// a step of their own change nothing (a field was added that defaults well).
    pub fn upcast(
        &self,
        event_type: &str,
        version: i32,
        mut payload: Value,
    ) -> Result<Value, JsonError> {
        let current = (self.current)(event_type);
        if version >= current {
            return Ok(payload);
        }
        let Value::Object(fields) = &mut payload else {
            return Err(JsonError::Decode {
                type_name: event_type.to_owned(),
                reason: "the payload is not a JSON object".to_owned(),
            });
        };
        for from in version.max(1)..current {
            for step in &self.steps {
                if step.event_type == event_type && step.from == from {
                    (step.upcast)(fields);
                }
            }
        }
        Ok(payload)
    }

    /// `payload`, proto3 JSON of `event_type` written at `version`, decoded as the current `M`:
    /// the one way every reader (a service's consumer, the gateway's feed, a replay) reads an
    /// event's payload.
    pub fn decode<M: prost::Message + mesh_proto::Name + Default>(
        &self,
        event_type: &str,
        version: i32,
        payload: &[u8],
    ) -> Result<M, JsonError> {
        if !self.is_old(event_type, version) {
            return mesh_proto::json::from_json(payload);
        }
        let value: Value = serde_json::from_slice(payload).map_err(|err| JsonError::Decode {
            type_name: event_type.to_owned(),
            reason: err.to_string(),
        })?;
        mesh_proto::json::from_value(self.upcast(event_type, version, value)?)
    }

    /// [`Self::decode`] from a JSON value (a stored event's payload), copied only when it
    /// needs upcasting.
    pub fn decode_value<M: prost::Message + mesh_proto::Name + Default>(
        &self,
        event_type: &str,
        version: i32,
        payload: &Value,
    ) -> Result<M, JsonError> {
        if !self.is_old(event_type, version) {
            return mesh_proto::json::from_value_ref(payload);
        }
        mesh_proto::json::from_value(self.upcast(event_type, version, payload.clone())?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn versions(event_type: &str) -> i32 {
        if event_type == "test.Renamed" { 3 } else { 1 }
    }

    fn rename_name_to_title(payload: &mut Map<String, Value>) {
        if let Some(name) = payload.remove("name") {
            payload.insert("title".to_owned(), name);
        }
    }

    fn default_stars(payload: &mut Map<String, Value>) {
        payload.entry("stars").or_insert(json!(0));
    }

    fn upcasters() -> Upcasters {
        Upcasters::new(versions)
            .with(Step {
                event_type: "test.Renamed",
                from: 2,
                upcast: default_stars,
            })
            .with(Step {
                event_type: "test.Renamed",
                from: 1,
                upcast: rename_name_to_title,
            })
    }

    #[test]
    fn old_payloads_run_every_step_up_to_the_current_version_in_order() {
        let v1 = json!({"name": "Heat"});
        assert_eq!(
            upcasters().upcast("test.Renamed", 1, v1).unwrap(),
            json!({"title": "Heat", "stars": 0})
        );
        let v2 = json!({"title": "Heat"});
        assert_eq!(
            upcasters().upcast("test.Renamed", 2, v2).unwrap(),
            json!({"title": "Heat", "stars": 0})
        );
    }

    #[test]
    fn current_and_newer_payloads_are_left_alone() {
        let v3 = json!({"title": "Heat", "stars": 5, "extra": true});
        assert_eq!(
            upcasters().upcast("test.Renamed", 3, v3.clone()).unwrap(),
            v3
        );
        assert_eq!(
            upcasters().upcast("test.Renamed", 4, v3.clone()).unwrap(),
            v3
        );
        assert!(!upcasters().is_old("test.Other", 1));
    }

    #[test]
    fn a_version_1_delivery_opening_gets_an_empty_address() {
        let v1 = br#"{"orderId":"o-1","to":"DELIVERY_STATUS_PENDING"}"#;
        let v1: Value = serde_json::from_slice(v1).unwrap();
        let value = MESH
            .upcast("mesh.events.v1.DeliveryStatusChanged", 1, v1)
            .unwrap();
        assert_eq!(value["deliveryAddress"], json!(""));
        assert_eq!(value["orderId"], json!("o-1"));
    }

    #[test]
    fn a_stored_payload_decodes_alike_from_text_and_from_its_value_old_or_current() {
        use mesh_proto::events::v1::DeliveryStatusChanged;
        let event_type = "mesh.events.v1.DeliveryStatusChanged";
        let old = br#"{"orderId":"o-1","to":"DELIVERY_STATUS_PENDING"}"#;
        let current =
            br#"{"orderId":"o-1","to":"DELIVERY_STATUS_PENDING","deliveryAddress":"1 Main St"}"#;
        for (version, payload) in [(1, &old[..]), (2, &current[..])] {
            let value: Value = serde_json::from_slice(payload).unwrap();
            let from_text: DeliveryStatusChanged =
                MESH.decode(event_type, version, payload).unwrap();
            let from_value: DeliveryStatusChanged =
                MESH.decode_value(event_type, version, &value).unwrap();
            assert_eq!(from_text, from_value);
            assert_eq!(from_value.order_id, "o-1");
        }
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_a_decode_error() {
        let err = MESH
            .upcast("mesh.events.v1.DeliveryStatusChanged", 1, json!([1, 2]))
            .unwrap_err();
        assert!(matches!(err, JsonError::Decode { .. }));
    }
}
