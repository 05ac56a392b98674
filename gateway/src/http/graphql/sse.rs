//! GraphQL over server-sent events, the graphql-sse protocol's distinct-connections mode: a
//! `POST /graphql` with `Accept: text/event-stream` answers with one `next` event per result
//! and a final `complete` event, then closes. `curl -N` and the `graphql-sse` client both speak
//! it; it passes proxies that refuse WebSocket upgrades.
//!
//! Like a WebSocket, a stream counts among its client's open ones while it lasts, and ends when
//! the token it was opened with expires: a last `next` with an `UNAUTHENTICATED` error, then
//! `complete`.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::response::{
    IntoResponse, Response,
    sse::{Event, KeepAlive, Sse},
};
use std::time::Duration;

use futures::{StreamExt, future, stream};

use super::MeshSchema;
use crate::http::edge::sockets::Held;

/// Streams the operation's results as events until they end or `expires` passes.
pub fn respond(
    schema: MeshSchema,
    request: async_graphql::Request,
    keepalive: Duration,
    held: Held,
    expires: Option<tokio::time::Instant>,
) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let deadline = {
        let expired = expired.clone();
        async move {
            match expires {
                Some(at) => tokio::time::sleep_until(at).await,
                None => future::pending().await,
            }
            expired.store(true, Ordering::Relaxed);
        }
    };
    // The operation runs as the body is sent, after the handler is done: under the request's
    // id all the same.
    let results = mesh_kit::context::scope_stream(
        mesh_kit::context::request_id(),
        schema.execute_stream(request),
    )
    .map(|result| next_event(&result))
    .take_until(deadline);
    let tail = stream::once(async move {
        // The stream's place among its client's open ones ends with it.
        drop(held);
        let mut last = Vec::with_capacity(2);
        if expired.load(Ordering::Relaxed) {
            last.push(
                Event::default()
                    .event("next")
                    .data(r#"{"errors":[{"message":"the token expired; subscribe again with a new one","extensions":{"code":"UNAUTHENTICATED"}}]}"#),
            );
        }
        last.push(Event::default().event("complete").data(""));
        stream::iter(last)
    })
    .flatten();
    let events = results.chain(tail).map(Ok::<_, Infallible>);
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
