//! The variables' values against the types the operation declares for them: the one part of
//! validation that changes from request to request, so a document validated once
//! ([`super::documents`]) still has each request's values checked before anything runs.
//!
//! The rules are those of async-graphql's own check of an argument's value (a variable's value
//! stands where its argument is, and the static rules have already matched the variable's type
//! to that position): null only where the type allows it, a single value where a list is asked
//! for, a scalar's own test, an enum's values, and an input object's fields (each known, the
//! required ones present, exactly one for a `@oneOf` object). A variable left out is not
//! checked here: its default or the resolver's argument handles it, as before.

use async_graphql::{
    ServerError, Variables,
    parser::types::OperationDefinition,
    registry::{MetaType, MetaTypeName, Registry},
};
use async_graphql_value::ConstValue;

/// The code of a variable whose value its declared type does not take.
pub const BAD_VARIABLE: &str = "BAD_USER_INPUT";

/// The first variable of `operation` whose value in `variables` its declared type refuses.
pub fn check(
    registry: &Registry,
    operation: &OperationDefinition,
    variables: &Variables,
) -> Result<(), ServerError> {
    for definition in &operation.variable_definitions {
        let name = &definition.node.name.node;
        let Some(value) = variables.get(name) else {
            continue;
        };
        let declared = definition.node.var_type.node.to_string();
        if let Err(reason) = conforms(registry, &declared, value, &format!("${name}")) {
            return Err(super::coded_error(
                BAD_VARIABLE,
                format!("Variable \"${name}\" got an invalid value: {reason}"),
                Some(definition.pos),
            ));
        }
    }
    Ok(())
}

/// Whether `value` is one of `type_name`'s (in the registry's spelling: `ID!`, `[Int]`, …);
/// else where it is not, and why.
fn conforms(
    registry: &Registry,
    type_name: &str,
    value: &ConstValue,
    at: &str,
) -> Result<(), String> {
    match MetaTypeName::create(type_name) {
        MetaTypeName::NonNull(inner) => match value {
            ConstValue::Null => Err(format!("\"{at}\" is null, expected type \"{inner}!\"")),
            _ => conforms(registry, inner, value, at),
        },
        MetaTypeName::List(inner) => match value {
            ConstValue::List(items) => items.iter().enumerate().try_for_each(|(index, item)| {
                conforms(registry, inner, item, &format!("{at}[{index}]"))
            }),
            ConstValue::Null => Ok(()),
            // A single value stands for a list of one (input coercion).
            _ => conforms(registry, inner, value, at),
        },
        MetaTypeName::Named(_) if matches!(value, ConstValue::Null) => Ok(()),
        MetaTypeName::Named(name) => match registry.types.get(name) {
            Some(MetaType::Scalar {
                is_valid: Some(is_valid),
                ..
            }) if !is_valid(value) => Err(format!("\"{at}\", expected type \"{name}\"")),
            Some(MetaType::Enum { enum_values, .. }) => match value {
                ConstValue::Enum(item) if enum_values.contains_key(item.as_str()) => Ok(()),
                ConstValue::String(item) if enum_values.contains_key(item.as_str()) => Ok(()),
                _ => Err(format!("\"{at}\", expected a value of enum \"{name}\"")),
            },
            Some(MetaType::InputObject {
                input_fields,
                oneof,
                ..
            }) => {
                let ConstValue::Object(fields) = value else {
                    return Err(format!("\"{at}\", expected an object of type \"{name}\""));
                };
                if *oneof && (fields.len() != 1 || fields.values().any(|v| *v == ConstValue::Null))
                {
                    return Err(format!(
                        "\"{at}\", exactly one field of \"{name}\" must be given, not null"
                    ));
                }
                if let Some(unknown) = fields
                    .keys()
                    .find(|key| !input_fields.contains_key(key.as_str()))
                {
                    return Err(format!(
                        "\"{at}\", unknown field \"{unknown}\" of type \"{name}\""
                    ));
                }
                input_fields
                    .values()
                    .try_for_each(|field| match fields.get(field.name.as_str()) {
                        Some(given) => {
                            conforms(registry, &field.ty, given, &format!("{at}.{}", field.name))
                        }
                        None if MetaTypeName::create(&field.ty).is_non_null()
                            && field.default_value.is_none() =>
                        {
                            Err(format!(
                                "\"{at}\", field \"{}\" of type \"{}\" is required",
                                field.name, field.ty
                            ))
                        }
                        None => Ok(()),
                    })
            }
            // Scalars without a test, and names validation has already refused.
            _ => Ok(()),
        },
    }
}
