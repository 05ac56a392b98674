//! GraphQL at `POST /graphql` (JSON, or server-sent events with `Accept: text/event-stream`),
//! `GET /graphql?query=…` (queries only, so a persisted query is a cacheable GET; a browser
//! asking for HTML gets GraphiQL) and over WebSocket at `/graphql/ws`: the same backends as REST, the same error codes in
//! `extensions.code`. The schema is also an Apollo Federation v2 subgraph (`_service`,
//! `_entities` for `MenuItem`, `Movie` and `Order` by `id`), takes automatic persisted queries,
//! and refuses queries that would cost the backends too much ([`limits`]).

use async_graphql::{Context, Schema};
use async_graphql_axum::GraphQLResponse;
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use std::sync::Arc;

use body::GraphqlBody;

use crate::{
    auth::{Action, Caller},
    backends::Backends,
    billing_queue::BillingQueue,
    config::GraphqlConfig,
    feed::OrderFeed,
    http::AppState,
    http::edge::Client,
};

mod body;
mod derived;
pub mod documents;
mod extension;
mod field_order;
pub mod limits;
mod loaders;
mod look_ahead;
mod mutation;
mod orders;
mod query;
mod sse;
mod subscription;
mod variables;
pub mod ws;

pub use loaders::Loaders;
pub use subscription::SubscriptionRoot;

// The query root: the fields generated from the contract, then those written here (a doc
// comment would become the type's description).
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(derived::ContractQuery, query::QueryRoot);

// The mutation root, made the same way.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(derived::ContractMutation, mutation::MutationRoot);

pub type MeshSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// The roots and the federation fields: everything of the schema that its SDL shows.
fn roots() -> async_graphql::SchemaBuilder<Query, Mutation, SubscriptionRoot> {
    Schema::build(Query::default(), Mutation::default(), SubscriptionRoot).enable_federation()
}

/// The schema's SDL as the served schema has it, without serving it (the contract snapshot).
pub fn sdl() -> String {
    roots().finish().sdl()
}

pub fn schema(
    backends: Backends,
    feed: OrderFeed,
    billing: Arc<BillingQueue>,
    config: GraphqlConfig,
    trusted: Option<documents::TrustedDocuments>,
) -> MeshSchema {
    let limits = limits::QueryLimits {
        introspection: config.introspection,
        lists: Default::default(),
    };
    let builder = roots()
        .data(billing)
        .data(backends.metrics().clone())
        .data(backends)
        .data(feed)
        .extension(extension::GatewayExtension::new(
            documents::Documents::new(trusted),
            limits.clone(),
        ));
    let schema = if config.introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    };
    // The limits count list fields by the schema's own types, known only now.
    let _ = limits.lists.set(limits::list_fields(&schema.sdl()));
    schema
}

/// `POST /graphql`. Each request gets its own id and its own batch loaders, so the menu items,
/// deliveries and payments named anywhere in one request are fetched in one call per backend;
/// of them only menu items, public and the same for every caller, are reused across requests
/// (for `GATEWAY_MENU_ITEM_TTL_MS`, see `backends::menu`).
/// With `Accept: text/event-stream` the answer is a graphql-sse stream (any operation,
/// subscriptions included).
///
/// No span of its own: the request's `http` span (method, path, request id) is the context of
/// everything logged here, and a span costs each request its opening, formatting and closing.
pub async fn handler(
    State(state): State<AppState>,
    caller: Caller,
    client: Client,
    headers: HeaderMap,
    GraphqlBody(request): GraphqlBody,
) -> Response {
    let loader = Loaders::new(&state.backends);
    if wants_event_stream(&headers) {
        let held = match state.sockets.hold(&client) {
            Ok(held) => held,
            Err(refused) => return refused.into_response(),
        };
        let expires = ws::expiry(&caller, state.auth.verifier.leeway());
        let request = request.data(loader).data(caller);
        return sse::respond(
            state.schema.clone(),
            request,
            state.graphql.keepalive,
            held,
            expires,
        );
    }
    let request = request.data(loader).data(caller);
    GraphQLResponse::from(state.schema.execute(request).await).into_response()
}

/// `GET /graphql`: GraphQL over HTTP's GET (`query`, `variables`, `operationName` and
/// `extensions` in the query string, queries only: anything else is 405), so a persisted query
/// sent by its hash alone is a cacheable GET. A browser (it asks for HTML) or a request without
/// a query gets GraphiQL.
pub async fn get_handler(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query_string = uri.query().unwrap_or_default();
    let asks_for_operation = form_urlencoded::parse(query_string.as_bytes())
        .any(|(key, _)| key == "query" || key == "extensions");
    if accepts(&headers, "text/html") || !asks_for_operation {
        return crate::http::graphiql::page().await.into_response();
    }
    let request = match async_graphql::http::parse_query_string(query_string) {
        Ok(request) => request,
        Err(err) => {
            let error = coded_error("BAD_REQUEST", err.to_string(), None);
            let response = async_graphql::Response::from_errors(vec![error]);
            return (StatusCode::BAD_REQUEST, GraphQLResponse::from(response)).into_response();
        }
    };
    let loader = Loaders::new(&state.backends);
    let request = request.data(loader).data(caller).data(limits::ReadOnly);
    let response = state.schema.execute(request).await;
    let refused_method = response.errors.iter().any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .is_some_and(|code| *code == async_graphql::Value::from(limits::NOT_A_QUERY))
    });
    let mut response = GraphQLResponse::from(response).into_response();
    if refused_method {
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    // The answer depends on who asks.
    response.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization"),
    );
    response
}

/// graphql-sse's distinct-connections mode: the client accepts `text/event-stream`.
fn wants_event_stream(headers: &HeaderMap) -> bool {
    accepts(headers, "text/event-stream")
}

/// Whether `Accept` names `media` (parameters and quality aside).
fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|listed| {
            listed
                .split(';')
                .next()
                .is_some_and(|kind| kind.trim().eq_ignore_ascii_case(media))
        })
}

/// A GraphQL error with `extensions.code`, for refusals made before anything resolves (the
/// document memory, the query limits), where no `ApiError` is at hand.
pub(crate) fn coded_error(
    code: &str,
    message: impl Into<String>,
    pos: Option<async_graphql::Pos>,
) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, pos);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// Who asks: the token of the HTTP request, or of the WebSocket's `connection_init`.
pub(crate) fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    static ANONYMOUS: Caller = Caller(None);
    ctx.data_opt::<Caller>().unwrap_or(&ANONYMOUS)
}

/// The backends every resolver calls (`schema` adds them). The request's id goes with each
/// call by itself ([`mesh_kit::context`]).
pub(crate) fn backends<'a>(ctx: &Context<'a>) -> &'a Backends {
    ctx.data_unchecked::<Backends>()
}

/// The policy as a GraphQL field guard, for fields whose decision needs no data:
/// `#[graphql(guard = "Allowed(Action::WriteCatalog)")]`.
pub struct Allowed(pub Action<'static>);

impl async_graphql::Guard for Allowed {
    async fn check(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<()> {
        use async_graphql::ErrorExtensions;
        caller(ctx)
            .authorize(self.0)
            .map(drop)
            .map_err(|err| err.extend())
    }
}
