//! Event sourcing for the mesh, on `mesh-kit` and `mesh-kafka`: the event store with its outbox
//! (`event_store`, `aggregate`), the relay that publishes it (`relay`), the consumer loop that
//! applies records exactly once (`consumer`, `dispatch`, with the batches' shared transaction in
//! `unit`), and the one wiring of an event-sourced service (`event_service`). Only the
//! event-sourced services link it, and with it diesel and librdkafka.

pub mod aggregate;
pub mod consumer;
pub mod dispatch;
pub mod event_service;
pub mod event_store;
pub mod relay;
mod unit;
