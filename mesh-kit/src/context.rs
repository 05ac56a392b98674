//! The request a task works for, carried for it instead of passed along: the id the gateway gave
//! a client's request (`x-request-id`).
//!
//! A layer sets it around each unit of work: [`RequestIdLayer`] around each HTTP request of the
//! gateway and each call a service's gRPC server answers ([`crate::grpc`]), the consumer around
//! each record it applies (`mesh_events::consumer`). It is read where the id leaves the program: the
//! metadata of outgoing gRPC calls ([`crate::balance`]), the events a command appends
//! (`mesh_events::event_store`), the records the gateway queues. The W3C trace context travels beside
//! it, on the current span ([`crate::telemetry::trace_context`]).
//!
//! A task spawned for the work does not inherit it: what spawns (a batch loader, a WebSocket
//! connection) takes [`request_id`] along and runs under [`scope`] or [`scope_stream`] again.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::Stream;
use tokio::task::futures::TaskLocalFuture;

use crate::telemetry::REQUEST_ID_HEADER;

tokio::task_local! {
    static REQUEST_ID: Option<Arc<str>>;
}

/// Runs `work` for the request `id`; `None` for work no request caused (a relay's round).
pub fn scope<F: Future>(id: Option<Arc<str>>, work: F) -> TaskLocalFuture<Option<Arc<str>>, F> {
    REQUEST_ID.scope(id, work)
}

/// Polls `stream` for the request `id`: a subscription's events, produced as the response body is
/// sent, after the handler's own future is done.
pub fn scope_stream<S: Stream>(id: Option<Arc<str>>, stream: S) -> Scoped<S> {
    Scoped {
        id,
        stream: Box::pin(stream),
    }
}

/// The id of the request the current task works for, if any.
pub fn request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Clone::clone).ok().flatten()
}

/// A stream polled under a request's id ([`scope_stream`]).
pub struct Scoped<S> {
    id: Option<Arc<str>>,
    stream: Pin<Box<S>>,
}

impl<S: Stream> Stream for Scoped<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        let stream = this.stream.as_mut();
        REQUEST_ID.sync_scope(this.id.clone(), || stream.poll_next(cx))
    }
}

/// Sets the request id of each HTTP request's handling from its `x-request-id` header (the
/// gateway sets one on every request first; a service's caller sends it as gRPC metadata).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

impl<S> tower::Layer<S> for RequestIdLayer {
    type Service = WithRequestId<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithRequestId(inner)
    }
}

/// The service [`RequestIdLayer`] wraps.
#[derive(Clone, Debug)]
pub struct WithRequestId<S>(S);

impl<S, B> tower::Service<http::Request<B>> for WithRequestId<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Option<Arc<str>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| !id.is_empty())
            .map(Arc::from);
        scope(id, self.0.call(request))
    }
}

/// Puts the current request's id on an outgoing call's headers, unless the call names one.
pub fn inject(headers: &mut http::HeaderMap) {
    if headers.contains_key(REQUEST_ID_HEADER) {
        return;
    }
    if let Some(value) = request_id().and_then(|id| http::HeaderValue::from_str(&id).ok()) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn work_sees_the_id_of_its_scope_and_no_other() {
        assert_eq!(request_id(), None);
        let seen = scope(Some(Arc::from("r-1")), async { request_id() }).await;
        assert_eq!(seen.as_deref(), Some("r-1"));
        let inner = scope(Some(Arc::from("r-1")), async {
            scope(None, async { request_id() }).await
        })
        .await;
        assert_eq!(inner, None);
        assert_eq!(request_id(), None);
    }

    #[tokio::test]
    async fn a_scoped_stream_sees_the_id_on_every_poll() {
        let ids: Vec<_> = scope_stream(
            Some(Arc::from("r-2")),
            futures::stream::iter(0..3).then(|_| async { request_id() }),
        )
        .collect()
        .await;
        assert!(ids.iter().all(|id| id.as_deref() == Some("r-2")), "{ids:?}");
    }

    #[tokio::test]
    async fn an_outgoing_call_carries_the_id_unless_it_names_its_own() {
        let mut headers = http::HeaderMap::new();
        scope(Some(Arc::from("r-3")), async { inject(&mut headers) }).await;
        assert_eq!(headers[REQUEST_ID_HEADER], "r-3");
        scope(Some(Arc::from("r-4")), async { inject(&mut headers) }).await;
        assert_eq!(headers[REQUEST_ID_HEADER], "r-3");
    }
}
