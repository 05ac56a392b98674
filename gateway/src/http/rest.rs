//! The REST routes users already have in their Postman collections, the OpenAPI document
//! derived from them, and the extractors that turn bad input into our JSON errors instead of
//! axum's plain-text ones.

use axum::{
    body::Bytes,
    extract::{
        FromRequest, FromRequestParts, Request,
        rejection::{BytesRejection, JsonRejection, QueryRejection},
    },
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    error::{ApiError, ErrorCode},
    http::AppState,
};

mod billing;
pub mod openapi;
pub mod transcode;

/// The hand-written REST routes, with the OpenAPI operations they carry (see [`openapi`]); the
/// routes served from the contract are [`transcode::routes`].
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base()).merge(billing::routes())
}

/// A JSON body; anything else is a 400 (bad JSON, or a string the edge's text rule refuses),
/// 413 (too big) or 415 (not JSON).
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_rejection(&rejection)),
        };
        Ok(Self(parse_body(value)?))
    }
}

/// A body's JSON as `T`, once every string in it passed the edge's text rule.
fn parse_body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    edge_rules::inputs::check_json(&value)
        .map_err(|err| ApiError::invalid(&err.field, &err.reason))?;
    serde_json::from_value(value)
        .map_err(|err| ApiError::new(ErrorCode::InvalidArgument, format!("invalid body: {err}")))
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected a JSON body with Content-Type: application/json",
        ),
        JsonRejection::JsonDataError(err) => ApiError::new(
            ErrorCode::InvalidArgument,
            format!("invalid body: {}", inner(&err.body_text())),
        ),
        JsonRejection::JsonSyntaxError(err) => ApiError::new(
            ErrorCode::InvalidArgument,
            format!("body is not valid JSON: {}", inner(&err.body_text())),
        ),
        JsonRejection::BytesRejection(err) => bytes_rejection(err),
        other => ApiError::new(
            ErrorCode::InvalidArgument,
            format!("cannot read the body: {}", other.body_text()),
        ),
    }
}

fn bytes_rejection(rejection: &BytesRejection) -> ApiError {
    if rejection.status().as_u16() == 413 {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is larger than the gateway accepts",
        )
    } else {
        ApiError::new(
            ErrorCode::InvalidArgument,
            format!("cannot read the body: {}", rejection.body_text()),
        )
    }
}

/// An optional JSON body: an empty (or blank) body is `None`, anything else must be JSON. No
/// Content-Type is required, so `curl -X POST` without a body works.
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| bytes_rejection(&rejection))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|err| {
            ApiError::new(ErrorCode::InvalidArgument, format!("invalid body: {err}"))
        })?;
        parse_body(value).map(|value| Self(Some(value)))
    }
}

/// axum prefixes serde's message with its own sentence; the client needs only serde's part.
fn inner(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, rest)| rest)
}

/// Query-string parameters; a bad one is a 400 naming it.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(err)) => Err(ApiError::new(
                ErrorCode::InvalidArgument,
                format!("invalid query string: {}", inner(&err.body_text())),
            )),
            Err(other) => Err(ApiError::new(ErrorCode::InvalidArgument, other.body_text())),
        }
    }
}
