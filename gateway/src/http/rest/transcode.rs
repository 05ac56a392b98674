//! REST routes served from the contract: each RPC whose `google.api.http` route carries a
//! `mesh.api.v1.route` option is served here, with no handler of its own. The request message
//! is built from the path, the query string, the JSON body and the mapped headers
//! ([`request`]); the route's access rule admits it and fills what the caller's identity
//! decides ([`access`]: a token before the body is read, then whose order, which courier or
//! customer); it is checked against the contract's field rules, sent to the backend by its
//! descriptor, and the answer is written back as the seed's users know it ([`response`],
//! [`dialect`]): snake_case names, integers as numbers, enum values without their prefix, a
//! page as a bare array with its next-page headers, `201 Created` with a `Location`.
//!
//! The edge (limits, rate, identity) wraps these routes as it wraps every other.

use std::sync::Arc;

use axum::{
    Router,
    extract::{FromRequest, FromRequestParts, RawPathParams, Request, State},
    response::Response,
    routing::{MethodFilter, on},
};
use mesh_proto::{
    api::v1::Route,
    descriptors::{self, HttpRoute, admin_override, look_ahead},
};
use prost_reflect::FieldDescriptor;

use super::{OptionalJson, json_rejection};
use crate::{
    auth::Caller,
    backends::dynamic::Rpc,
    error::{ApiError, ErrorCode},
    http::AppState,
};

mod access;
mod dialect;
mod request;
mod response;

/// A route served from the contract, with what its requests need read from the descriptors
/// once (an option is decoded from bytes on every read of it).
#[derive(Debug)]
pub struct Transcoded {
    pub http: HttpRoute,
    pub serving: Route,
    pub rpc: Rpc,
    /// Request fields only the gateway sets (`admin_override`).
    pub admin_fields: Vec<FieldDescriptor>,
    /// Read masks only GraphQL fills (`look_ahead`): a REST answer is whole.
    pub look_ahead_fields: Vec<FieldDescriptor>,
    /// Request fields a header fills: no body or query string may name them.
    pub header_fields: Vec<String>,
    /// Whether the answer reads differently in REST's JSON ([`dialect`]): it holds an enum or
    /// an optional field somewhere. Without either it is written as it is decoded.
    pub answer_dialect: bool,
    /// For each request field whose text in a URL must be an integer, how to say so.
    pub integer_words: Vec<(String, &'static str)>,
}

/// Every route the contract says the gateway serves.
pub fn transcoded() -> Vec<Transcoded> {
    let routes = match descriptors::http_routes() {
        Ok(routes) => routes,
        Err(reason) => {
            tracing::error!(%reason, "the embedded descriptor set is broken: no REST route is served from it");
            return Vec::new();
        }
    };
    routes
        .into_iter()
        .filter_map(|http| {
            let serving = http.serving.clone()?;
            let rpc = Rpc::new(http.method_descriptor.clone())?;
            let admin_fields = http.request.fields().filter(admin_override).collect();
            let look_ahead_fields = http.request.fields().filter(look_ahead).collect();
            let header_fields = serving
                .headers
                .iter()
                .map(|header| header.field.clone())
                .collect();
            let answer_dialect = dialect::applies(&http.method_descriptor.output());
            let integer_words = request::integer_words(&http.request);
            Some(Transcoded {
                http,
                serving,
                rpc,
                admin_fields,
                look_ahead_fields,
                header_fields,
                answer_dialect,
                integer_words,
            })
        })
        .collect()
}

/// The axum routes of [`transcoded`].
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for route in transcoded() {
        let Some(filter) = method_filter(route.http.method) else {
            tracing::error!(rpc = %route.http.rpc, method = route.http.method, "no such HTTP method");
            continue;
        };
        let path = route.http.path.clone();
        let route = Arc::new(route);
        router = router.route(
            &path,
            on(
                filter,
                move |State(state): State<AppState>, request: Request| {
                    serve(route.clone(), state, request)
                },
            ),
        );
    }
    router
}

fn method_filter(method: &str) -> Option<MethodFilter> {
    Some(match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        _ => return None,
    })
}

async fn serve(
    route: Arc<Transcoded>,
    state: AppState,
    request: Request,
) -> Result<Response, ApiError> {
    // On the request's own span (declared there): a span of its own would cost each request
    // its opening, formatting and closing.
    tracing::Span::current().record("rpc", tracing::field::display(&route.http.rpc));
    let (mut parts, body) = request.into_parts();
    let Ok(caller) = Caller::from_request_parts(&mut parts, &state).await;
    access::before_body(&route, &caller)?;
    let path = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .map_err(|rejection| ApiError::new(ErrorCode::InvalidArgument, rejection.body_text()))?;
    // A clone shares the URI's bytes: the path and query outlive the request's parts.
    let uri = parts.uri.clone();
    let headers = request::header_fields(&route, &parts.headers)?;
    // A route without a body ignores one, as the hand-written routes did.
    let body = if route.http.body.is_empty() {
        None
    } else if route.serving.optional_body {
        let request = Request::from_parts(parts, body);
        let OptionalJson(value) = OptionalJson::from_request(request, &state).await?;
        Some(value.unwrap_or_else(|| serde_json::json!({})))
    } else {
        let request = Request::from_parts(parts, body);
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(request, &state)
            .await
            .map_err(|rejection| json_rejection(&rejection))?;
        edge_rules::inputs::check_json(&value)
            .map_err(|err| ApiError::invalid(&err.field, &err.reason))?;
        Some(value)
    };

    let mut message = request::build(&route, &path, uri.query(), body, headers)?;
    access::admit(&route, &caller, &state.backends, &mut message).await?;
    let answer = state.backends.call(&route.rpc, message).await?;
    access::owns_answer(&route, &caller, &answer)?;
    response::write(&route, uri.path(), uri.query(), &answer)
}
