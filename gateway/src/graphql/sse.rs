//! GraphQL over server-sent events, the graphql-sse protocol's distinct-connections mode: a
//! `POST /graphql` with `Accept: text/event-stream` answers with one `next` event per result
//! and a final `complete` event, then closes. `curl -N` and the `graphql-sse` client both speak
//! it; it passes proxies that refuse WebSocket upgrades.

use std::convert::Infallible;

use axum::response::{
    IntoResponse, Response,
    sse::{Event, KeepAlive, Sse},
};
use std::time::Duration;

use futures::{StreamExt, stream};

use super::MeshSchema;

/// Streams the operation's results as events.
pub fn respond(
    schema: MeshSchema,
    request: async_graphql::Request,
    keepalive: Duration,
) -> Response {
    let results = schema
        .execute_stream(request)
        .map(|result| next_event(&result));
    let complete = stream::once(async { Event::default().event("complete").data("") });
    let events = results.chain(complete).map(Ok::<_, Infallible>);
    // Comment lines in between keep idle proxies from closing a quiet subscription.
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keepalive))
        .into_response()
}

fn next_event(result: &async_graphql::Response) -> Event {
    Event::default()
        .event("next")
        .json_data(result)
        // A GraphQL response always serializes; this only keeps the stream well-formed.
        .unwrap_or_else(|_| {
            Event::default()
                .event("next")
                .data(r#"{"errors":[{"message":"internal error"}]}"#)
        })
}
