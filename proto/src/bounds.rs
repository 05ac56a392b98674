//! What a field's `buf.validate` rules say, read from its descriptor alone: whether a client
//! must send it, its bounds, an example. The OpenAPI document and the GraphQL schema state the
//! same rules the services check ([`crate::rules`]). Compiled into `mesh_proto` and, by
//! `#[path]`, into the gateway's build script (it depends on nothing but prost-reflect).

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, Value};

use crate::words::enum_prefix;

/// The option every rule hangs on.
pub const FIELD_RULES: &str = "buf.validate.field";

/// The `buf.validate.field` rules of `field`, if it has any.
pub fn field_rules(field: &FieldDescriptor) -> Option<DynamicMessage> {
    let extension = field.parent_pool().get_extension_by_name(FIELD_RULES)?;
    let options = field.options();
    if !options.has_extension(&extension) {
        return None;
    }
    match options.get_extension(&extension).into_owned() {
        Value::Message(rules) => Some(rules),
        _ => None,
    }
}

/// Whether a client must send `field`: its rules say `required: true`, or they refuse the
/// value it has when left out (an empty text with a minimum length or a UUID rule, a zero with
/// a positive minimum, an empty list with `min_items`, an enum's zero value), and then name
/// what they want rather than saying "is required".
pub fn required(field: &FieldDescriptor) -> bool {
    let Some(rules) = field_rules(field) else {
        return false;
    };
    if rules
        .get_field_by_name("required")
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
    {
        return true;
    }
    let bounds = bounds(field);
    if field.is_list() {
        return bounds.min_items.is_some_and(|least| least > 0);
    }
    // With presence, leaving it out skips its rules.
    if field.supports_presence() {
        return false;
    }
    bounds.min_chars.is_some_and(|least| least > 0)
        || bounds.uuid
        || bounds.minimum.is_some_and(|least| least > 0)
        || bounds.maximum.is_some_and(|most| most < 0)
        || (matches!(field.kind(), Kind::Enum(_)) && refused_enum_values(field).contains(&0))
}

/// The values an enum field's rules refuse (`enum.not_in`, or a list's `items.enum.not_in`).
fn refused_enum_values(field: &FieldDescriptor) -> Vec<i32> {
    let Some(rules) = field_rules(field) else {
        return Vec::new();
    };
    let rules = if field.is_list() {
        match sub_message(&rules, "repeated").and_then(|list| sub_message(&list, "items")) {
            Some(items) => items,
            None => return Vec::new(),
        }
    } else {
        rules
    };
    sub_message(&rules, "enum")
        .and_then(
            |rules| match rules.get_field_by_name("not_in")?.into_owned() {
                Value::List(values) => Some(values.iter().filter_map(Value::as_i32).collect()),
                _ => None,
            },
        )
        .unwrap_or_default()
}

/// The first `example` a field's rules give (`string.example`, `int64.example` …), for
/// documents that show one.
pub fn example(field: &FieldDescriptor) -> Option<Value> {
    let rules = field_rules(field)?;
    let (_, typed) = rules.fields().find_map(|(descriptor, value)| match value {
        Value::Message(typed) if descriptor.containing_oneof().is_some() => {
            Some((descriptor, typed.clone()))
        }
        _ => None,
    })?;
    let examples = typed.get_field_by_name("example")?;
    examples.as_list()?.first().cloned()
}

/// What a field's rules bound, for documents that state them (OpenAPI's `maxLength`,
/// `minimum`, `format: uuid`, `maxItems`, `uniqueItems`, `enum` …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    pub min_chars: Option<u64>,
    pub max_chars: Option<u64>,
    pub uuid: bool,
    /// A regular expression the text matches (`string.pattern`).
    pub pattern: Option<String>,
    /// Inclusive (`gte`, and `gt` of an integer as `gt + 1`).
    pub minimum: Option<i64>,
    /// Inclusive (`lte`, and `lt` of an integer as `lt - 1`).
    pub maximum: Option<i64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// No item of a list twice (`repeated.unique`).
    pub unique_items: bool,
    /// The rules of each item of a list.
    pub items: Option<Box<Bounds>>,
    /// The values an enum field takes, without their prefix; empty when it has no enum rule.
    pub one_of: Vec<String>,
}

/// The bounds `field`'s rules state; all empty for a field without rules.
pub fn bounds(field: &FieldDescriptor) -> Bounds {
    let Some(rules) = field_rules(field) else {
        return Bounds::default();
    };
    let mut bounds = typed_bounds(&rules);
    if let Some(repeated) = sub_message(&rules, "repeated") {
        bounds.min_items = unsigned(&repeated, "min_items");
        bounds.max_items = unsigned(&repeated, "max_items");
        bounds.unique_items = repeated
            .get_field_by_name("unique")
            .is_some_and(|value| value.as_bool() == Some(true));
        bounds.items = sub_message(&repeated, "items")
            .map(|items| Box::new(typed_bounds(&items)))
            .filter(|items| **items != Bounds::default());
    }
    if rules.has_field_by_name("enum") {
        bounds.one_of = allowed_values(field);
    }
    bounds
}

/// The bounds of one value: the string, integer rules of a `FieldRules` message.
fn typed_bounds(rules: &DynamicMessage) -> Bounds {
    let mut bounds = Bounds::default();
    if let Some(text) = sub_message(rules, "string") {
        bounds.min_chars = unsigned(&text, "min_len");
        bounds.max_chars = unsigned(&text, "max_len");
        bounds.uuid = text
            .get_field_by_name("uuid")
            .is_some_and(|value| value.as_bool() == Some(true));
        bounds.pattern = text
            .has_field_by_name("pattern")
            .then(|| text.get_field_by_name("pattern"))
            .flatten()
            .and_then(|value| value.as_str().map(str::to_owned));
    }
    for kind in ["int32", "int64", "sint32", "sint64", "uint32", "uint64"] {
        if let Some(numbers) = sub_message(rules, kind) {
            bounds.minimum = signed(&numbers, "gte").or(signed(&numbers, "gt").map(|gt| gt + 1));
            bounds.maximum = signed(&numbers, "lte").or(signed(&numbers, "lt").map(|lt| lt - 1));
        }
    }
    bounds
}

fn sub_message(message: &DynamicMessage, name: &str) -> Option<DynamicMessage> {
    if !message.has_field_by_name(name) {
        return None;
    }
    match message.get_field_by_name(name)?.into_owned() {
        Value::Message(inner) => Some(inner),
        _ => None,
    }
}

fn unsigned(message: &DynamicMessage, name: &str) -> Option<u64> {
    if !message.has_field_by_name(name) {
        return None;
    }
    message.get_field_by_name(name)?.as_u64()
}

fn signed(message: &DynamicMessage, name: &str) -> Option<i64> {
    if !message.has_field_by_name(name) {
        return None;
    }
    match message.get_field_by_name(name)?.as_ref() {
        Value::I32(n) => Some(i64::from(*n)),
        Value::I64(n) => Some(*n),
        Value::U32(n) => Some(i64::from(*n)),
        Value::U64(n) => i64::try_from(*n).ok(),
        _ => None,
    }
}

/// The names of the values an enum field's rules let through.
pub(crate) fn allowed_values(field: &FieldDescriptor) -> Vec<String> {
    let Kind::Enum(kind) = field.kind() else {
        return Vec::new();
    };
    let refused = refused_enum_values(field);
    // Values are named with their enum's prefix (`DELIVERY_STATUS_PENDING`); people and the
    // gateway's surfaces know them without it (`PENDING`).
    let prefix = enum_prefix(&kind);
    kind.values()
        .filter(|value| !refused.contains(&value.number()))
        .map(|value| {
            let name = value.name();
            name.strip_prefix(&prefix).unwrap_or(name).to_owned()
        })
        .collect()
}
