//! The OpenAPI operations of the routes served from the contract ([`transcode`]), made from the
//! same descriptors as the routes themselves: summary and words from the `.proto` comments,
//! parameters from the path variables and (without a body) the request's other fields, the
//! body's and answer's schemas from their messages, `required` and examples from the field
//! rules, security from the route's access rule. [`super::bounds`] then adds every bound, and
//! [`super::finish`] what all operations share. Nothing here names a route or a field.

use std::collections::BTreeMap;

use mesh_proto::{
    api::v1::Access,
    descriptors::{
        admin_override, comment, enum_names, is_proto3_optional, look_ahead, min_fields,
        path_variables,
    },
    rules::{example, required},
};
use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, Value};
use serde_json::{Map, json};
use utoipa::openapi::{HttpMethod, OpenApi, RefOr, path::Operation, schema::Schema};

use crate::http::rest::transcode::{Transcoded, transcoded};

/// Adds the operation of every route served from the contract, and the schemas they name.
pub fn apply(api: &mut OpenApi) {
    let mut schemas = BTreeMap::new();
    for route in transcoded() {
        let Some(method) = http_method(route.http.method) else {
            continue;
        };
        let operation = operation(&route, &mut schemas);
        match serde_json::from_value::<Operation>(operation) {
            Ok(operation) => {
                api.paths
                    .add_path_operation(&route.http.path, vec![method], operation)
            }
            Err(err) => tracing::error!(rpc = %route.http.rpc, %err, "cannot document a route"),
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        match serde_json::from_value::<RefOr<Schema>>(schema) {
            Ok(schema) => {
                components.schemas.insert(name, schema);
            }
            Err(err) => tracing::error!(%name, %err, "cannot document a schema"),
        }
    }
}

fn http_method(method: &str) -> Option<HttpMethod> {
    Some(match method {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => return None,
    })
}

type Schemas = BTreeMap<String, serde_json::Value>;

fn operation(route: &Transcoded, schemas: &mut Schemas) -> serde_json::Value {
    let method = &route.http.method_descriptor;
    let words = comment(&method.parent_file(), method.path()).unwrap_or_default();
    let (summary, description) = match words.split_once("\n\n") {
        Some((summary, rest)) => (summary.replace('\n', " "), Some(rest.to_owned())),
        None => (words.replace('\n', " "), None),
    };
    let mut operation = Map::new();
    operation.insert("tags".into(), json!([route.http.tag]));
    operation.insert("summary".into(), json!(summary));
    if let Some(description) = description {
        operation.insert("description".into(), json!(description));
    }
    operation.insert("operationId".into(), json!(route.serving.operation_id));

    let request = &route.http.request;
    let in_path: Vec<String> = path_variables(&route.http.path)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut parameters = Vec::new();
    for name in &in_path {
        if let Some(field) = request.get_field_by_name(name) {
            parameters.push(parameter(&field, "path", true, schemas));
        }
    }
    for header in &route.serving.headers {
        if let Some(field) = request.get_field_by_name(&header.field) {
            let mut documented = parameter(&field, "header", false, schemas);
            documented["name"] = json!(header.header);
            parameters.push(documented);
        }
    }
    if route.http.body.is_empty() {
        for field in request.fields() {
            if !in_path.contains(&field.name().to_owned()) && !look_ahead(&field) {
                parameters.push(parameter(&field, "query", false, schemas));
            }
        }
    }
    operation.insert("parameters".into(), json!(parameters));

    if route.http.body == "*" {
        let name = request.name().to_owned();
        let skip: Vec<String> = in_path
            .iter()
            .chain(&route.header_fields)
            .cloned()
            .collect();
        let filled: Vec<String> = [route.serving.subject_field.clone()]
            .into_iter()
            .filter(|name| !name.is_empty())
            .collect();
        let body = object_schema(request, &skip, &filled, Use::Body, schemas);
        schemas.insert(name.clone(), body);
        let mut request_body = json!({
            "content": {"application/json": {"schema": reference(&name)}},
            "required": !route.serving.optional_body,
        });
        if route.serving.optional_body {
            request_body["description"] = json!("Optional: an empty body is `{}`.");
        }
        operation.insert("requestBody".into(), request_body);
    }

    operation.insert("responses".into(), responses(route, schemas));
    if route.serving.access() != Access::ReadCatalog {
        operation.insert("security".into(), json!([{"bearer": []}]));
    }
    serde_json::Value::Object(operation)
}

fn parameter(
    field: &FieldDescriptor,
    place: &str,
    required: bool,
    schemas: &mut Schemas,
) -> serde_json::Value {
    let mut parameter = json!({
        "name": field.name(),
        "in": place,
        "required": required,
        "schema": field_schema(field, Use::Parameter, true, schemas),
    });
    if let Some(words) = comment(&field.parent_file(), field.path()) {
        parameter["description"] = json!(first_paragraph(&words));
    }
    parameter
}

fn responses(route: &Transcoded, schemas: &mut Schemas) -> serde_json::Value {
    let output = route.http.method_descriptor.output();
    if route.serving.no_content || output.fields().len() == 0 {
        let words = if route.http.method == "DELETE" {
            "Deleted."
        } else {
            "Done."
        };
        return json!({"204": {"description": words}});
    }
    let (schema, words) = match route.http.response_body.as_str() {
        "" => (
            message_schema(&output, Use::Answer, schemas),
            comment(&output.parent_file(), output.path())
                .map_or_else(|| "The answer.".to_owned(), |words| first_paragraph(&words)),
        ),
        name => match output.get_field_by_name(name) {
            Some(field) => (
                field_schema(&field, Use::Answer, true, schemas),
                "One page, as a JSON array.".to_owned(),
            ),
            None => (json!({}), "The answer.".to_owned()),
        },
    };
    let mut headers = Map::new();
    if route.serving.creates {
        headers.insert(
            "location".into(),
            json!({"schema": {"type": "string"}, "description": format!("`{}/{{id}}` of what was created.", route.http.path)}),
        );
    }
    if output.get_field_by_name("next_page_token").is_some() {
        headers.insert(
            "x-next-page-token".into(),
            json!({"schema": {"type": "string"}, "description": "Pass as `page_token` for the next page; absent on the last."}),
        );
        headers.insert(
            "link".into(),
            json!({"schema": {"type": "string"}, "description": format!("`<{}?page_token=…>; rel=\"next\"` when there is a next page.", route.http.path)}),
        );
    }
    let status = if route.serving.creates { "201" } else { "200" };
    let words = if route.serving.creates {
        "Created.".to_owned()
    } else {
        words
    };
    let mut responses = json!({status: {
        "description": words,
        "headers": headers,
        "content": {"application/json": {"schema": schema}},
    }});
    if !route.serving.conflict.is_empty() {
        responses["409"] = json!({
            "description": route.serving.conflict,
            "content": {"application/json": {"schema": reference("ErrorBody")}},
        });
    }
    responses
}

/// Where a schema is used: a body may send `null` for a field it may leave out; a parameter
/// has no null; an answer always carries every field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Body,
    Parameter,
    Answer,
}

fn reference(name: &str) -> serde_json::Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A reference to `message`'s schema, added to `schemas` the first time: as an answer's, or
/// inside a body as a body's.
fn message_schema(
    message: &MessageDescriptor,
    usage: Use,
    schemas: &mut Schemas,
) -> serde_json::Value {
    if message.full_name() == "google.protobuf.Timestamp" {
        return json!({"type": "string", "format": "date-time"});
    }
    let name = message.name().to_owned();
    if !schemas.contains_key(&name) {
        // A placeholder first, so a message that contains itself ends.
        schemas.insert(name.clone(), json!({}));
        let usage = if usage == Use::Answer {
            Use::Answer
        } else {
            Use::Body
        };
        let schema = object_schema(message, &[], &[], usage, schemas);
        schemas.insert(name.clone(), schema);
    }
    reference(&name)
}

/// `message` as an object: its fields but `skip`, with `required` by the use; `filled` are
/// body fields the gateway fills when they are left out (the caller's subject).
fn object_schema(
    message: &MessageDescriptor,
    skip: &[String],
    filled: &[String],
    usage: Use,
    schemas: &mut Schemas,
) -> serde_json::Value {
    let mut properties = Map::new();
    let mut required_fields = Vec::new();
    for field in message.fields() {
        // A field only the gateway sets is no part of what a client sends.
        if skip.contains(&field.name().to_owned())
            || (usage == Use::Body && (admin_override(&field) || look_ahead(&field)))
        {
            continue;
        }
        let needed = match usage {
            Use::Answer => !is_proto3_optional(&field),
            Use::Body | Use::Parameter => {
                required(&field) && !filled.contains(&field.name().to_owned())
            }
        };
        if needed {
            required_fields.push(field.name().to_owned());
        }
        properties.insert(
            field.name().to_owned(),
            field_schema(&field, usage, needed, schemas),
        );
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if let Some(words) = comment(&message.parent_file(), message.path()) {
        schema["description"] = json!(first_paragraph(&words));
    }
    if !required_fields.is_empty() {
        schema["required"] = json!(required_fields);
    }
    if usage == Use::Body {
        schema["additionalProperties"] = json!(false);
        let least = min_fields(message);
        if least > 0 {
            schema["minProperties"] = json!(least);
        }
    }
    schema
}

/// What a comment says first, on one line: the rest is for readers of the `.proto` file.
fn first_paragraph(words: &str) -> String {
    words
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace('\n', " ")
}

/// A field's schema: its type (in a body nullable unless `needed`; in an answer when it has
/// presence), its words and its example.
fn field_schema(
    field: &FieldDescriptor,
    usage: Use,
    needed: bool,
    schemas: &mut Schemas,
) -> serde_json::Value {
    let mut schema = match field.kind() {
        Kind::Message(message) => message_schema(&message, usage, schemas),
        Kind::Enum(enumeration) => enum_schema(&enumeration, schemas),
        kind => scalar_schema(&kind),
    };
    if field.is_list() {
        schema = json!({"type": "array", "items": schema});
    }
    let nullable = match usage {
        Use::Body => !needed,
        Use::Answer => is_proto3_optional(field),
        Use::Parameter => false,
    };
    if nullable && let Some(single) = schema.get("type").cloned() {
        schema["type"] = json!([single, "null"]);
    }
    // A parameter carries its words itself.
    if usage != Use::Parameter
        && let Some(words) = comment(&field.parent_file(), field.path())
    {
        schema["description"] = json!(first_paragraph(&words));
    }
    if let Some(example) = example(field).and_then(|value| json_of(&value)) {
        schema["example"] = example;
    }
    schema
}

/// A reference to an enum's schema (its values without their prefix, as REST writes them),
/// added to `schemas` the first time.
fn enum_schema(enumeration: &EnumDescriptor, schemas: &mut Schemas) -> serde_json::Value {
    let name = enumeration.name().to_owned();
    if !schemas.contains_key(&name) {
        let mut schema = json!({"type": "string", "enum": enum_names(enumeration)});
        if let Some(words) = comment(&enumeration.parent_file(), enumeration.path()) {
            schema["description"] = json!(first_paragraph(&words));
        }
        schemas.insert(name.clone(), schema);
    }
    reference(&name)
}

fn scalar_schema(kind: &Kind) -> serde_json::Value {
    match kind {
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({"type": "integer", "format": "int64"})
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "format": "int32", "minimum": 0})
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": "integer", "format": "int64", "minimum": 0})
        }
        Kind::Float => json!({"type": "number", "format": "float"}),
        Kind::Double => json!({"type": "number", "format": "double"}),
        Kind::Bytes => json!({"type": "string", "format": "byte"}),
        Kind::String | Kind::Enum(_) | Kind::Message(_) => json!({"type": "string"}),
    }
}

fn json_of(value: &Value) -> Option<serde_json::Value> {
    Some(match value {
        Value::String(text) => json!(text),
        Value::Bool(flag) => json!(flag),
        Value::I32(n) => json!(n),
        Value::I64(n) => json!(n),
        Value::U32(n) => json!(n),
        Value::U64(n) => json!(n),
        Value::F64(n) => json!(n),
        Value::F32(n) => json!(n),
        _ => return None,
    })
}
