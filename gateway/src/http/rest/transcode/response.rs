//! An RPC's answer as the REST response the seed's users know: the proto's snake_case field
//! names, 64-bit integers as JSON numbers, every field present; the `response_body` field
//! alone when the rule names one (a page is a bare array), with `x-next-page-token` and a
//! `Link` to the next page when the answer has a `next_page_token`; `201 Created` with a
//! `Location` for a route that creates; `204 No Content` for an answer with no fields, or one
//! the route does not send (`no_content`).

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use prost_reflect::{DynamicMessage, ReflectMessage, SerializeOptions, Value};

use super::{Transcoded, dialect};
use crate::error::ApiError;

/// The answer's field a paged list names its continuation by.
const NEXT_PAGE_TOKEN: &str = "next_page_token";
/// The request parameter that continues a list.
const PAGE_TOKEN: &str = "page_token";

fn options() -> SerializeOptions {
    SerializeOptions::new()
        .stringify_64_bit_integers(false)
        .use_proto_field_name(true)
        .skip_default_fields(false)
}

/// The response to `route`'s request at `path?query`, from the backend's `answer`.
pub fn write(
    route: &Transcoded,
    path: &str,
    query: Option<&str>,
    answer: &DynamicMessage,
) -> Result<Response, ApiError> {
    if route.serving.no_content || answer.descriptor().fields().len() == 0 {
        return response(StatusCode::NO_CONTENT, Body::empty());
    }
    let body = if route.answer_dialect {
        in_dialect(route, answer)?
    } else {
        as_decoded(route, answer)?
    };
    let status = if route.serving.creates {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = response(status, Body::from(body))?;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if route.serving.creates
        && let Some(id) = text_field(answer, "id")
        && let Ok(location) = HeaderValue::from_str(&format!("{path}/{id}"))
    {
        headers.insert(header::LOCATION, location);
    }
    if let Some(token) = text_field(answer, NEXT_PAGE_TOKEN).filter(|token| !token.is_empty())
        && let Ok(value) = HeaderValue::from_str(&token)
    {
        let next = next_page(path, query, &token);
        if let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
            headers.insert(header::LINK, link);
        }
        headers.insert("x-next-page-token", value);
    }
    Ok(response)
}

fn response(status: StatusCode, body: Body) -> Result<Response, ApiError> {
    Response::builder()
        .status(status)
        .body(body)
        .map_err(|_| ApiError::internal())
}

/// A text or integer field as text (an id of either kind).
fn text_field(message: &DynamicMessage, name: &str) -> Option<String> {
    let value = message.get_field_by_name(name)?;
    match value.as_ref() {
        Value::String(text) => Some(text.clone()),
        Value::I64(n) => Some(n.to_string()),
        Value::I32(n) => Some(n.to_string()),
        Value::U64(n) => Some(n.to_string()),
        Value::U32(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `path` with the same parameters, continuing at `token`.
fn next_page(path: &str, query: Option<&str>, token: &str) -> String {
    let mut next = form_urlencoded::Serializer::new(String::new());
    next.append_pair(PAGE_TOKEN, token);
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name != PAGE_TOKEN {
            next.append_pair(&name, &value);
        }
    }
    format!("{path}?{}", next.finish())
}

fn cannot_write(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(%err, "cannot write an answer as JSON");
    ApiError::internal()
}

/// The answer through a JSON tree that [`dialect::answer`] rewrites.
fn in_dialect(route: &Transcoded, answer: &DynamicMessage) -> Result<Vec<u8>, ApiError> {
    let mut json = answer
        .serialize_with_options(serde_json::value::Serializer, &options())
        .map_err(cannot_write)?;
    dialect::answer(&answer.descriptor(), &mut json);
    let json = match route.http.response_body.as_str() {
        "" => json,
        field => json
            .as_object_mut()
            .and_then(|fields| fields.remove(field))
            .ok_or_else(ApiError::internal)?,
    };
    serde_json::to_vec(&json).map_err(cannot_write)
}

/// The answer (or its `response_body` field) written straight from its decoded form.
fn as_decoded(route: &Transcoded, answer: &DynamicMessage) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(512);
    match route.http.response_body.as_str() {
        "" => write_message(answer, &mut out)?,
        field => match answer.get_field_by_name(field).as_deref() {
            Some(Value::List(items)) => {
                out.push(b'[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    match item {
                        Value::Message(message) => write_message(message, &mut out)?,
                        _ => return Err(ApiError::internal()),
                    }
                }
                out.push(b']');
            }
            Some(Value::Message(message)) => write_message(message, &mut out)?,
            _ => return Err(ApiError::internal()),
        },
    }
    Ok(out)
}

fn write_message(message: &DynamicMessage, out: &mut Vec<u8>) -> Result<(), ApiError> {
    message
        .serialize_with_options(&mut serde_json::Serializer::new(out), &options())
        .map_err(cannot_write)
}
