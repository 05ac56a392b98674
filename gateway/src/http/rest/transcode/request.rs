//! A request message from an HTTP request, by the `google.api.http` rule: the path's variables
//! and the query string fill the fields they name, the JSON body (`body: "*"`) every other
//! field, and the headers the route names theirs. Field names are the proto's (snake_case);
//! JSON numbers and strings both fill 64-bit integers. The service checks the contract's field
//! rules as it decodes the message (its codec), so they are checked once, in one place.

use axum::{extract::RawPathParams, http::HeaderMap};
use mesh_proto::rules;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value,
};

use super::{Transcoded, dialect};
use crate::error::{ApiError, ErrorCode};

/// The request `route`'s RPC takes, from its path variables, query string, body and headers.
pub fn build(
    transcoded: &Transcoded,
    path: &RawPathParams,
    query: Option<&str>,
    body: Option<serde_json::Value>,
    headers: Vec<(String, String)>,
) -> Result<DynamicMessage, ApiError> {
    let route = &transcoded.http;
    let descriptor = route.request.clone();
    let mut message = match body {
        Some(body) => from_body(transcoded, path, body)?,
        None => DynamicMessage::new(descriptor.clone()),
    };
    for (name, value) in headers {
        let field = descriptor
            .get_field_by_name(&name)
            .ok_or_else(ApiError::internal)?;
        message.set_field(&field, Value::String(value));
    }
    for (name, raw) in path.iter() {
        let field = descriptor
            .get_field_by_name(name)
            .ok_or_else(ApiError::internal)?;
        let value = scalar(transcoded, &field, raw)?;
        message.set_field(&field, value);
    }
    if route.body != "*" {
        for (name, raw) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            // Unknown parameters are ignored, as they always were (a cache-buster, a tracker).
            let Some(field) = descriptor.get_field_by_name(&name) else {
                continue;
            };
            // The path, a header or the gateway alone fills these; a query string cannot.
            if in_path(path, field.name()) || reserved(transcoded, &field) {
                continue;
            }
            let value = scalar(transcoded, &field, &raw)?;
            if field.is_list() {
                if let Value::List(list) = message.get_field_mut(&field) {
                    list.push(value);
                }
            } else {
                message.set_field(&field, value);
            }
        }
    }
    Ok(message)
}

/// The values of the headers the route maps to fields, as `(field, value)`; one that is not
/// printable ASCII is a 400 naming the header.
pub fn header_fields(
    route: &Transcoded,
    headers: &HeaderMap,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut fields = Vec::new();
    for mapping in &route.serving.headers {
        if let Some(value) = headers.get(mapping.header.as_str()) {
            let text = value
                .to_str()
                .map_err(|_| ApiError::invalid(&mapping.header, "must be printable ASCII"))?;
            fields.push((mapping.field.clone(), text.to_owned()));
        }
    }
    Ok(fields)
}

/// The body as the request message; a field the path fills, or one the message lacks, is
/// refused by name.
fn from_body(
    transcoded: &Transcoded,
    path: &RawPathParams,
    mut body: serde_json::Value,
) -> Result<DynamicMessage, ApiError> {
    let route = &transcoded.http;
    if let serde_json::Value::Object(fields) = &body {
        if let Some(bound) = fields.keys().find(|key| in_path(path, key)) {
            return Err(invalid_body(format!(
                "unknown field `{bound}`: the path gives it"
            )));
        }
        // What only the gateway decides, or a header gives, is as unknown to a body as a field
        // the message lacks.
        if let Some(named) = route
            .request
            .fields()
            .find(|field| reserved(transcoded, field) && fields.contains_key(field.name()))
        {
            return Err(invalid_body(format!("unknown field `{}`", named.name())));
        }
    }
    dialect::request(&route.request, &mut body)?;
    DynamicMessage::deserialize_with_options(
        route.request.clone(),
        body,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|err| invalid_body(err.to_string()))
}

fn invalid_body(reason: String) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidArgument,
        format!("invalid body: {reason}"),
    )
}

fn in_path(path: &RawPathParams, name: &str) -> bool {
    path.iter().any(|(variable, _)| variable == name)
}

/// Whether only a header or the gateway fills `field`.
fn reserved(transcoded: &Transcoded, field: &FieldDescriptor) -> bool {
    transcoded.admin_fields.contains(field)
        || transcoded.look_ahead_fields.contains(field)
        || transcoded
            .header_fields
            .iter()
            .any(|name| name == field.name())
}

/// For each integer field of `request`, what a URL text that is not one must be: the rule it
/// would break ("a positive integer" for an id with `gt: 0`), else "an integer". Read once per
/// route: the rules are options, decoded on every read.
pub fn integer_words(request: &MessageDescriptor) -> Vec<(String, &'static str)> {
    request
        .fields()
        .filter(|field| {
            matches!(
                field.kind(),
                Kind::Int32
                    | Kind::Sint32
                    | Kind::Sfixed32
                    | Kind::Int64
                    | Kind::Sint64
                    | Kind::Sfixed64
                    | Kind::Uint32
                    | Kind::Fixed32
                    | Kind::Uint64
                    | Kind::Fixed64
            )
        })
        .map(|field| {
            let words = if rules::bounds(&field).minimum == Some(1) {
                "a positive integer"
            } else {
                "an integer"
            };
            (field.name().to_owned(), words)
        })
        .collect()
}

/// A path or query value as `field`'s type.
fn scalar(transcoded: &Transcoded, field: &FieldDescriptor, raw: &str) -> Result<Value, ApiError> {
    let wrong = |what: &str| ApiError::invalid(field.name(), &format!("must be {what}"));
    let integer = transcoded
        .integer_words
        .iter()
        .find(|(name, _)| name == field.name())
        .map_or("an integer", |(_, words)| words);
    Ok(match field.kind() {
        Kind::String => Value::String(raw.to_owned()),
        Kind::Bool => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(wrong("true or false")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::I32(raw.parse().map_err(|_| wrong(integer))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Value::I64(raw.parse().map_err(|_| wrong(integer))?)
        }
        Kind::Uint32 | Kind::Fixed32 => Value::U32(raw.parse().map_err(|_| wrong(integer))?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(raw.parse().map_err(|_| wrong(integer))?),
        Kind::Float => Value::F32(raw.parse().map_err(|_| wrong("a number"))?),
        Kind::Double => Value::F64(raw.parse().map_err(|_| wrong("a number"))?),
        Kind::Enum(enumeration) => Value::EnumNumber(
            dialect::enum_number(&enumeration, raw)
                .ok_or_else(|| dialect::not_a_value(field, &enumeration))?,
        ),
        Kind::Bytes | Kind::Message(_) => {
            return Err(ApiError::invalid(
                field.name(),
                "cannot be given in the URL",
            ));
        }
    })
}
