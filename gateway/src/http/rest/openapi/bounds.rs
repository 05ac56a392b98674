//! The bounds of the contract's field rules (`buf.validate` in `proto/`), written into the
//! OpenAPI document. Each operation whose RPC declares its route with `google.api.http` gets,
//! on every path parameter, query parameter and body property that fills a field of the RPC's
//! request, that field's bounds: `minLength`/`maxLength`, `minimum`/`maximum`, `format: uuid`,
//! `pattern`, `minItems`/`maxItems`/`uniqueItems`, down into the items of a list. The handlers'
//! types declare shapes, words and examples; no bound is written twice.

use std::collections::BTreeMap;

use mesh_proto::{
    descriptors::{HttpRoute, http_routes, path_shape, path_variables},
    rules::{Bounds, bounds},
};
use prost_reflect::{Kind, MessageDescriptor};
use utoipa::{
    Number,
    openapi::{
        Components, OpenApi, RefOr,
        path::{Operation, ParameterIn},
        schema::{ArrayItems, KnownFormat, Object, Schema, SchemaFormat},
    },
};

/// Writes every declared route's bounds into `api`.
pub fn apply(api: &mut OpenApi) {
    let Ok(routes) = http_routes() else {
        return;
    };
    // Document paths by their shape (`path_shape`): the two name path variables differently.
    let paths: BTreeMap<String, String> = api
        .paths
        .paths
        .keys()
        .map(|path| (path_shape(path), path.clone()))
        .collect();
    let mut bodies = Vec::new();
    for route in &routes {
        let Some(path) = paths.get(&path_shape(&route.path)) else {
            continue;
        };
        let Some(item) = api.paths.paths.get_mut(path) else {
            continue;
        };
        let operation = match route.method {
            "GET" => item.get.as_mut(),
            "PUT" => item.put.as_mut(),
            "POST" => item.post.as_mut(),
            "PATCH" => item.patch.as_mut(),
            "DELETE" => item.delete.as_mut(),
            _ => None,
        };
        let Some(operation) = operation else {
            continue;
        };
        bound_parameters(operation, route, path);
        if route.body == "*"
            && let Some(name) = body_schema(operation)
        {
            bodies.push((name, route.request.clone()));
        }
    }
    if let Some(components) = api.components.as_mut() {
        for (name, message) in bodies {
            bound_component(components, &name, &message);
        }
    }
}

/// Path parameters get the bounds of the field their place in the template names; query
/// parameters those of the field of their name.
fn bound_parameters(operation: &mut Operation, route: &HttpRoute, document_path: &str) {
    let fields: BTreeMap<&str, &str> = path_variables(document_path)
        .into_iter()
        .zip(path_variables(&route.path))
        .collect();
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let field = match parameter.parameter_in {
            ParameterIn::Path => fields.get(parameter.name.as_str()).copied(),
            ParameterIn::Query => Some(parameter.name.as_str()),
            _ => None,
        };
        let Some(field) = field.and_then(|name| route.request.get_field_by_name(name)) else {
            continue;
        };
        if let Some(RefOr::T(schema)) = parameter.schema.as_mut() {
            bound_schema(schema, &bounds(&field));
        }
    }
}

/// The component a JSON request body refers to.
fn body_schema(operation: &Operation) -> Option<String> {
    let RefOr::T(body) = operation.request_body.as_ref()? else {
        return None;
    };
    let RefOr::T(content) = body.content.get("application/json")? else {
        return None;
    };
    component_of(content.schema.as_ref()?)
}

/// The component a schema refers to, also as an optional one (`oneOf` it and `null`).
fn component_of(schema: &RefOr<Schema>) -> Option<String> {
    match schema {
        RefOr::Ref(reference) => reference
            .ref_location
            .strip_prefix("#/components/schemas/")
            .map(str::to_owned),
        RefOr::T(Schema::OneOf(one_of)) => one_of.items.iter().find_map(component_of),
        RefOr::T(_) => None,
    }
}

/// Bounds the properties of component `name` by the fields of `message` of the same names,
/// and the components its properties refer to by the messages of those fields.
fn bound_component(components: &mut Components, name: &str, message: &MessageDescriptor) {
    let mut nested = Vec::new();
    if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
        for (property, schema) in object.properties.iter_mut() {
            let Some(field) = message.get_field_by_name(property) else {
                continue;
            };
            let field_bounds = bounds(&field);
            let reference = match schema {
                RefOr::T(schema) => {
                    bound_schema(schema, &field_bounds);
                    match schema {
                        Schema::Array(array) => match &array.items {
                            ArrayItems::RefOrSchema(items) => match items.as_ref() {
                                RefOr::Ref(reference) => Some(reference.ref_location.clone()),
                                RefOr::T(_) => None,
                            },
                            ArrayItems::False => None,
                        },
                        _ => None,
                    }
                }
                RefOr::Ref(reference) => Some(reference.ref_location.clone()),
            };
            if let (Some(reference), Kind::Message(inner)) = (reference, field.kind())
                && let Some(component) = reference.strip_prefix("#/components/schemas/")
            {
                nested.push((component.to_owned(), inner));
            }
        }
    }
    for (component, inner) in nested {
        bound_component(components, &component, &inner);
    }
}

/// Writes `bounds` into a value's schema, or a list's and its items'.
fn bound_schema(schema: &mut Schema, bounds: &Bounds) {
    match schema {
        Schema::Object(object) => bound_value(object, bounds),
        Schema::Array(array) => {
            array.min_items = bounds.min_items.and_then(to_usize).or(array.min_items);
            array.max_items = bounds.max_items.and_then(to_usize).or(array.max_items);
            array.unique_items |= bounds.unique_items;
            if let (Some(items), ArrayItems::RefOrSchema(schema)) =
                (&bounds.items, &mut array.items)
                && let RefOr::T(Schema::Object(object)) = schema.as_mut()
            {
                bound_value(object, items);
            }
        }
        _ => {}
    }
}

fn bound_value(object: &mut Object, bounds: &Bounds) {
    object.min_length = bounds.min_chars.and_then(to_usize).or(object.min_length);
    object.max_length = bounds.max_chars.and_then(to_usize).or(object.max_length);
    object.minimum = bounds.minimum.and_then(to_number).or(object.minimum.take());
    object.maximum = bounds.maximum.and_then(to_number).or(object.maximum.take());
    if bounds.uuid {
        object.format = Some(SchemaFormat::KnownFormat(KnownFormat::Uuid));
    }
    if let Some(pattern) = &bounds.pattern {
        object.pattern = Some(pattern.clone());
    }
}

fn to_usize(n: u64) -> Option<usize> {
    usize::try_from(n).ok()
}

fn to_number(n: i64) -> Option<Number> {
    isize::try_from(n).ok().map(Number::Int)
}
