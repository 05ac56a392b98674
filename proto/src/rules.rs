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

use crate::descriptors::pool;

/// What `proto/` bounds a currency code by (`string.pattern`).
const CURRENCY_PATTERN: &str = "^[A-Z]{3}$";

pub use crate::bounds::{Bounds, bounds, example, field_rules, required};
use crate::bounds::{FIELD_RULES, allowed_values};

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
