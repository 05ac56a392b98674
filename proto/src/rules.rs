//! The field rules `proto/` states with protovalidate's `buf.validate` options (lengths, ranges,
//! UUIDs, enums, list sizes), checked by the `prost-protovalidate` crate over the embedded
//! descriptors. Every service checks each request it decodes ([`crate::codec`]); the gateway
//! reads the same rules for its documents. Violations are phrased the way the mesh always
//! phrased them (`items[0].quantity: must be between 1 and 100`).

use std::{collections::HashMap, collections::HashSet, sync::LazyLock};

use prost_protovalidate::{Error, Validator, ValidatorOption, Violation};
use prost_reflect::{
    DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage,
    Value,
};

use crate::descriptors::{enum_prefix, pool};

/// What `proto/` bounds a currency code by (`string.pattern`).
const CURRENCY_PATTERN: &str = "^[A-Z]{3}$";

/// The option every rule hangs on.
const FIELD_RULES: &str = "buf.validate.field";

/// Stops at the first broken rule: a request names one problem, the first in field order, as
/// the seed's API always did (`title: is required` for a movie with neither field).
static VALIDATOR: LazyLock<Validator> =
    LazyLock::new(|| Validator::with_options(&[ValidatorOption::FailFast]));

/// Messages with at least one rule in them or in a message field, by full name: the others
/// skip the check entirely.
static RULED: LazyLock<HashMap<String, MessageDescriptor>> = LazyLock::new(|| {
    let Ok(pool) = pool() else {
        return HashMap::new();
    };
    let Some(extension) = pool.get_extension_by_name(FIELD_RULES) else {
        return HashMap::new();
    };
    pool.all_messages()
        .filter(|message| has_rules(message, &extension, &mut HashSet::new()))
        .map(|message| (message.full_name().to_owned(), message))
        .collect()
});

fn has_rules(
    message: &MessageDescriptor,
    extension: &ExtensionDescriptor,
    seen: &mut HashSet<String>,
) -> bool {
    if !seen.insert(message.full_name().to_owned()) {
        return false;
    }
    message.fields().any(|field| {
        field.options().has_extension(extension)
            || match field.kind() {
                Kind::Message(inner) => has_rules(&inner, extension, seen),
                _ => false,
            }
    })
}

/// The descriptor of `full_name` when that message carries rules.
pub fn ruled(full_name: &str) -> Option<&'static MessageDescriptor> {
    RULED.get(full_name)
}

/// What is wrong with a request: `field: reason` of the first broken rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct Violations(pub Vec<String>);

/// Checks `message` against its rules.
pub fn check(message: &DynamicMessage) -> Result<(), Violations> {
    match VALIDATOR.validate(message) {
        Ok(()) => Ok(()),
        Err(Error::Validation(error)) => {
            Err(Violations(error.violations().iter().map(phrase).collect()))
        }
        // A rule the crate cannot compile is a fault of `proto/`, found by the tests that send
        // each request; say so rather than let the request through unchecked.
        Err(other) => Err(Violations(vec![format!(
            "{}: its rules cannot be checked ({other})",
            message.descriptor().full_name()
        )])),
    }
}

/// Checks a typed message against its rules; one without rules passes.
pub fn check_message<M: prost::Message + prost::Name>(message: &M) -> Result<(), Violations> {
    let Some(descriptor) = ruled(&M::full_name()) else {
        return Ok(());
    };
    let dynamic = DynamicMessage::decode(descriptor.clone(), message.encode_to_vec().as_slice())
        .map_err(|err| Violations(vec![format!("{}: {err}", M::full_name())]))?;
    check(&dynamic)
}

/// `field: reason`, in the mesh's words where the rule is one we use.
fn phrase(violation: &Violation) -> String {
    let path = violation.field_path();
    let rule = violation.rule_id();
    let field = violation.field_descriptor();
    let bound = |name: &str| field.and_then(|field| rule_value(field, rule, name));
    let reason = match rule.rsplit_once('.').map_or(("", rule), |pair| pair) {
        (_, "required") | ("string", "min_len") if bound("min_len").is_none_or(|n| n == "1") => {
            "is required".to_owned()
        }
        ("string", "min_len") => format!("must be at least {} characters", or_q(bound("min_len"))),
        ("string", "max_len") => format!("must be at most {} characters", or_q(bound("max_len"))),
        ("string", "uuid" | "uuid_empty") => "must be a UUID".to_owned(),
        // The one pattern of the contract is a currency's; its words say what it wants.
        ("string", "pattern") if bound("pattern").as_deref() == Some(CURRENCY_PATTERN) => {
            "must be an ISO 4217 code such as USD".to_owned()
        }
        ("string", "pattern") => format!("must match {}", or_q(bound("pattern"))),
        ("repeated", "min_items") if bound("min_items").as_deref() == Some("1") => {
            "at least one item is required".to_owned()
        }
        ("repeated", "min_items") => {
            format!("must hold at least {} items", or_q(bound("min_items")))
        }
        ("repeated", "max_items") => {
            format!("must hold at most {} items", or_q(bound("max_items")))
        }
        ("enum", "defined_only" | "in" | "not_in") => match field.map(allowed_values) {
            Some(values) => format!("must be one of {}", values.join(", ")),
            None => violation.message().to_owned(),
        },
        (_, "gt") if bound("gt").as_deref() == Some("0") => "must be a positive integer".to_owned(),
        (_, "gte_lte") => format!(
            "must be between {} and {}",
            or_q(bound("gte")),
            or_q(bound("lte"))
        ),
        (_, "gte") => format!("must be at least {}", or_q(bound("gte"))),
        (_, "lte") => format!("must be at most {}", or_q(bound("lte"))),
        _ => violation.message().to_owned(),
    };
    if path.is_empty() {
        reason
    } else {
        format!("{path}: {reason}")
    }
}

fn or_q(value: Option<String>) -> String {
    value.unwrap_or_else(|| "?".to_owned())
}

/// The `name` bound of `field`'s rules of the kind `rule` names (`int32` of `int32.gte_lte`),
/// or of its items' rules for a list.
fn rule_value(field: &FieldDescriptor, rule: &str, name: &str) -> Option<String> {
    let kind = rule.split('.').next()?;
    let rules = field_rules(field)?;
    let typed = |rules: &DynamicMessage| -> Option<String> {
        let Value::Message(typed) = rules.get_field_by_name(kind)?.into_owned() else {
            return None;
        };
        if !typed.has_field_by_name(name) {
            return None;
        }
        Some(scalar(typed.get_field_by_name(name)?.as_ref()))
    };
    typed(&rules).or_else(|| {
        let Value::Message(repeated) = rules.get_field_by_name("repeated")?.into_owned() else {
            return None;
        };
        let Value::Message(items) = repeated.get_field_by_name("items")?.into_owned() else {
            return None;
        };
        typed(&items)
    })
}

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

/// The values an enum field's rules refuse (`enum.not_in`).
fn refused_enum_values(field: &FieldDescriptor) -> Vec<i32> {
    field_rules(field)
        .and_then(
            |rules| match rules.get_field_by_name("enum")?.into_owned() {
                Value::Message(rules) => match rules.get_field_by_name("not_in")?.into_owned() {
                    Value::List(values) => Some(values.iter().filter_map(Value::as_i32).collect()),
                    _ => None,
                },
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
/// `minimum`, `format: uuid`, `maxItems`, `enum` …).
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
    /// The rules of each item of a list.
    pub items: Option<Box<Bounds>>,
    /// The values an enum field takes, without their prefix; empty when it has no enum rule.
    pub one_of: Vec<String>,
}

/// Fields' `max_items`, by `message.field` full name (`mesh.menu.v1.BatchGetMenuItemsRequest.ids`).
static MAX_ITEMS: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let Ok(pool) = pool() else {
        return HashMap::new();
    };
    pool.all_messages()
        .flat_map(|message| message.fields().collect::<Vec<_>>())
        .filter_map(|field| {
            let most = bounds(&field).max_items?;
            Some((field.full_name().to_owned(), usize::try_from(most).ok()?))
        })
        .collect()
});

/// The most items the list field `full_name` may hold, when its rules bound it: what a client
/// of a batch call splits its ids by.
pub fn max_items(full_name: &str) -> Option<usize> {
    MAX_ITEMS.get(full_name).copied()
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

fn scalar(value: &Value) -> String {
    match value {
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::String(text) => text.clone(),
        other => format!("{other:?}"),
    }
}

/// The names of the values an enum field's rules let through.
fn allowed_values(field: &FieldDescriptor) -> Vec<String> {
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
