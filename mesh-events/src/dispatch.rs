//! From CloudEvents type to typed handler. A service says which messages it handles
//! ([`On<M>`] once per message type) and registers them on a [`Dispatcher`]; the dispatcher
//! decodes each consumed event as its type (upcast to the current schema) and calls the one
//! handler for it. No `if event.is::<A>() … else if …` chains, and one consumer per service
//! for every topic it reads.

use std::collections::HashMap;

use futures::future::BoxFuture;
use prost::{Message, Name};

use crate::consumer::{HandleError, Handler, IncomingEvent};

/// Handles one message type.
pub trait On<M>: Send + Sync + 'static {
    /// Applies `message` (the decoded payload of `event`) exactly once: claim the event id in
    /// the effect's transaction (see [`crate::consumer::apply_once`]).
    fn on(
        &self,
        event: &IncomingEvent,
        message: M,
    ) -> impl Future<Output = Result<(), HandleError>> + Send;
}

type Route<H> = for<'a> fn(&'a H, &'a IncomingEvent) -> BoxFuture<'a, Result<(), HandleError>>;

/// A [`Handler`] that routes each event by its CloudEvents type.
pub struct Dispatcher<H> {
    handler: H,
    routes: HashMap<String, Route<H>>,
    /// Topics that carry routed types only: anything else there goes to the dead-letter topic.
    /// Elsewhere an unrouted type is someone else's business and is skipped.
    strict: Vec<&'static str>,
    /// Types applied each in a transaction of their own, never in a batch's.
    alone: Vec<String>,
}

impl<H: Send + Sync + 'static> Dispatcher<H> {
    pub fn new(handler: H) -> Self {
        Self {
            handler,
            routes: HashMap::new(),
            strict: Vec::new(),
            alone: Vec::new(),
        }
    }

    /// Routes events of type `M` to `H`'s [`On<M>`].
    pub fn on<M>(mut self) -> Self
    where
        H: On<M>,
        M: Message + Name + Default + Send + 'static,
    {
        self.routes.insert(M::full_name(), route::<H, M>);
        self
    }

    /// Refuses (dead-letters) events on `topic` of a type no route takes.
    pub fn strict_on(mut self, topic: &'static str) -> Self {
        self.strict.push(topic);
        self
    }

    /// Applies events of type `M` each in a transaction of its own, never in a batch's shared
    /// one (see [`Handler::batchable`]).
    pub fn alone_on<M: Name>(mut self) -> Self {
        self.alone.push(M::full_name());
        self
    }

    /// The handler the routes call.
    pub fn handler(&self) -> &H {
        &self.handler
    }
}

fn route<'a, H: On<M>, M: Message + Name + Default + Send + 'static>(
    handler: &'a H,
    event: &'a IncomingEvent,
) -> BoxFuture<'a, Result<(), HandleError>> {
    Box::pin(async move {
        let message = event.decode::<M>()?;
        handler.on(event, message).await
    })
}

impl<H: Send + Sync + 'static> Handler for Dispatcher<H> {
    async fn handle(&self, event: &IncomingEvent) -> Result<(), HandleError> {
        match self.routes.get(&event.event_type) {
            Some(route) => route(&self.handler, event).await,
            None if self.strict.contains(&event.topic.as_str()) => Err(HandleError::Permanent(
                format!("{} does not carry {} events", event.topic, event.event_type),
            )),
            None => {
                tracing::debug!(event_type = %event.event_type, "not an event this service handles");
                Ok(())
            }
        }
    }

    fn batchable(&self, event: &IncomingEvent) -> bool {
        !self.alone.contains(&event.event_type)
    }

    fn routes(&self, event: &IncomingEvent) -> bool {
        self.routes.contains_key(&event.event_type)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use mesh_proto::events::v1::{OrderCancelled, OrderPaid};

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl On<OrderPaid> for Recorder {
        async fn on(&self, _: &IncomingEvent, paid: OrderPaid) -> Result<(), HandleError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("paid {}", paid.order_id));
            Ok(())
        }
    }

    impl On<OrderCancelled> for Recorder {
        async fn on(
            &self,
            _: &IncomingEvent,
            cancelled: OrderCancelled,
        ) -> Result<(), HandleError> {
            self.0.lock().unwrap().push(format!(
                "cancelled {}: {}",
                cancelled.order_id, cancelled.reason
            ));
            Ok(())
        }
    }

    fn event(topic: &str, event_type: &str, payload: &str) -> IncomingEvent {
        IncomingEvent {
            id: "e-1".to_owned(),
            event_type: event_type.to_owned(),
            topic: topic.to_owned(),
            key: None,
            payload: payload.as_bytes().to_vec(),
            time: None,
            schema_version: 1,
        }
    }

    fn dispatcher() -> Dispatcher<Recorder> {
        Dispatcher::new(Recorder::default())
            .on::<OrderPaid>()
            .on::<OrderCancelled>()
            .strict_on("billing-requests")
    }

    #[tokio::test]
    async fn each_type_reaches_its_own_handler_decoded() {
        let dispatcher = dispatcher();
        let paid = event(
            "order-events",
            "mesh.events.v1.OrderPaid",
            r#"{"orderId":"o-1"}"#,
        );
        let cancelled = event(
            "order-events",
            "mesh.events.v1.OrderCancelled",
            r#"{"orderId":"o-2","reason":"changed my mind"}"#,
        );
        dispatcher.handle(&paid).await.unwrap();
        dispatcher.handle(&cancelled).await.unwrap();
        assert_eq!(
            *dispatcher.handler().0.lock().unwrap(),
            ["paid o-1", "cancelled o-2: changed my mind"]
        );
    }

    #[tokio::test]
    async fn unrouted_types_are_skipped_except_on_strict_topics() {
        let dispatcher = dispatcher();
        let placed = |topic| event(topic, "mesh.events.v1.OrderPlaced", "{}");
        dispatcher.handle(&placed("order-events")).await.unwrap();
        assert!(matches!(
            dispatcher.handle(&placed("billing-requests")).await,
            Err(HandleError::Permanent(_))
        ));
        assert!(dispatcher.handler().0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_payload_that_does_not_parse_is_permanent() {
        let dispatcher = dispatcher();
        let broken = event("order-events", "mesh.events.v1.OrderPaid", "not json");
        assert!(matches!(
            dispatcher.handle(&broken).await,
            Err(HandleError::Permanent(_))
        ));
    }
}
