//! Where REST's JSON differs from proto3's canonical JSON, as the seed's users know it: an
//! enum value is named without its type's prefix (`PENDING`, not `DELIVERY_STATUS_PENDING`)
//! and read in any case with `-` or `_`; a field with presence that is unset is `null` rather
//! than left out. Both directions walk the JSON beside the message's descriptor, so no field
//! or enum is named here.

use mesh_proto::{
    descriptors::{enum_names, enum_prefix, is_proto3_optional},
    rules,
};
use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::Value;

use crate::error::ApiError;

/// The number of the value `raw` names: `picked-up`, `Picked_Up`, `PICKED_UP` and
/// `DELIVERY_STATUS_PICKED_UP` all name `DELIVERY_STATUS_PICKED_UP`.
pub fn enum_number(enumeration: &EnumDescriptor, raw: &str) -> Option<i32> {
    let name = raw.trim().to_ascii_uppercase().replace('-', "_");
    let prefix = enum_prefix(enumeration);
    enumeration
        .get_value_by_name(&name)
        .or_else(|| enumeration.get_value_by_name(&format!("{prefix}{name}")))
        .map(|value| value.number())
}

/// A request body in proto3 JSON: each enum value by its full name; a value the enum lacks is
/// refused naming the ones it has.
pub fn request(message: &MessageDescriptor, body: &mut Value) -> Result<(), ApiError> {
    let Value::Object(fields) = body else {
        return Ok(());
    };
    let mut outcome = Ok(());
    for field in message.fields() {
        if let Some(value) = fields.get_mut(field.name()) {
            each_value(&field, value, &mut |field, value| {
                let checked = match field.kind() {
                    Kind::Enum(enumeration) => match value {
                        Value::String(raw) => match enum_number(&enumeration, raw)
                            .and_then(|number| enumeration.get_value(number))
                        {
                            Some(known) => {
                                *raw = known.name().to_owned();
                                Ok(())
                            }
                            None => Err(not_a_value(field, &enumeration)),
                        },
                        _ => Ok(()),
                    },
                    Kind::Message(inner) => request(&inner, value),
                    _ => Ok(()),
                };
                if outcome.is_ok() {
                    outcome = checked;
                }
            });
        }
    }
    outcome
}

/// `status: must be one of PENDING, ASSIGNED, …`: the values its rules allow, else every one.
pub fn not_a_value(field: &FieldDescriptor, enumeration: &EnumDescriptor) -> ApiError {
    let mut allowed = rules::bounds(field).one_of;
    if allowed.is_empty() {
        allowed = enum_names(enumeration);
    }
    ApiError::invalid(
        field.name(),
        &format!("must be one of {}", allowed.join(", ")),
    )
}

/// An answer in REST's JSON: enum values without their prefix, unset fields with presence as
/// `null`.
pub fn answer(message: &MessageDescriptor, json: &mut Value) {
    let Value::Object(fields) = json else {
        return;
    };
    for field in message.fields() {
        match fields.get_mut(field.name()) {
            None if is_proto3_optional(&field) => {
                fields.insert(field.name().to_owned(), Value::Null);
            }
            None => {}
            Some(value) => each_value(&field, value, &mut |field, value| match field.kind() {
                Kind::Enum(enumeration) => {
                    if let Value::String(name) = value {
                        let prefix = enum_prefix(&enumeration);
                        if let Some(short) = name.strip_prefix(&prefix) {
                            *name = short.to_owned();
                        }
                    }
                }
                Kind::Message(inner) if inner.full_name() != "google.protobuf.Timestamp" => {
                    answer(&inner, value);
                }
                _ => {}
            }),
        }
    }
}

/// Whether `message`'s answers read differently in REST's JSON: an enum or an optional field in
/// it or in a message it holds. Decided once per route, so an answer without either is written
/// straight from its decoded form.
pub fn applies(message: &MessageDescriptor) -> bool {
    fn walk(message: &MessageDescriptor, seen: &mut Vec<String>) -> bool {
        if seen.iter().any(|name| name == message.full_name()) {
            return false;
        }
        seen.push(message.full_name().to_owned());
        message.fields().any(|field| {
            is_proto3_optional(&field)
                || match field.kind() {
                    Kind::Enum(_) => true,
                    Kind::Message(inner) => walk(&inner, seen),
                    _ => false,
                }
        })
    }
    walk(message, &mut Vec::new())
}

/// `visit` on a field's value, or on each item of a list field.
fn each_value(
    field: &FieldDescriptor,
    value: &mut Value,
    visit: &mut impl FnMut(&FieldDescriptor, &mut Value),
) {
    match value {
        Value::Array(items) if field.is_list() => {
            for item in items {
                visit(field, item);
            }
        }
        value => visit(field, value),
    }
}
