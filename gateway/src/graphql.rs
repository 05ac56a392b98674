//! GraphQL at `POST /graphql` and over WebSocket at `/graphql/ws`: the same backends as REST,
//! the same error codes in `extensions.code`.

use async_graphql::{Context, Schema, dataloader::DataLoader};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;

use std::sync::Arc;

use crate::{
    backends::Backends, billing_queue::BillingQueue, feed::OrderFeed, request_id::RequestId,
    startup::AppState,
};

mod loaders;
mod mutation;
mod orders;
mod query;
mod subscription;

pub use loaders::MenuItemLoader;
pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

pub type MeshSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Deep or expensive queries are refused before they reach a backend.
const MAX_DEPTH: usize = 12;
const MAX_COMPLEXITY: usize = 1_000;

pub fn schema(backends: Backends, feed: OrderFeed, billing: Arc<BillingQueue>) -> MeshSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(billing)
        .data(backends.metrics().clone())
        .data(backends)
        .data(feed)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// `POST /graphql`. Each request gets its own id and its own batch loader, so menu items named
/// anywhere in one request are fetched in one call, and nothing is cached across requests.
#[tracing::instrument(skip_all, fields(request_id = %rid.as_str()))]
pub async fn handler(
    State(state): State<AppState>,
    rid: RequestId,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let loader = DataLoader::new(
        MenuItemLoader::new(state.backends.clone(), rid.clone()),
        tokio::spawn,
    );
    let request = request.into_inner().data(rid).data(loader);
    state.schema.execute(request).await.into()
}

/// The backends and this request's id, which every resolver needs.
pub(crate) fn env<'a>(ctx: &Context<'a>) -> (&'a Backends, RequestId) {
    // Both are always present: `schema` adds the backends, `handler` the request id. The
    // fallback id only matters to a schema executed some other way (schema tests).
    let backends = ctx.data_unchecked::<Backends>();
    let rid = ctx
        .data_opt::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    (backends, rid)
}
