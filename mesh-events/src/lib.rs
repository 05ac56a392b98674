//! The event plumbing of the mesh, on top of `mesh-kit`: the event store with its outbox
//! (`event_store`, `aggregate`), the relay that publishes it (`relay`), the Kafka clients
//! (`kafka`, `producer`), the consumer loop with its dead-letter topics (`consumer`, `dispatch`,
//! `dlq`), event schema versions (`schema`), and the one wiring of an event-sourced service
//! (`event_service`). Only the event-sourced services and the gateway link it, and with it
//! librdkafka.

pub mod aggregate;
pub mod consumer;
pub mod dispatch;
pub mod dlq;
pub mod event_service;
pub mod event_store;
mod group_watch;
pub mod kafka;
pub mod producer;
pub mod relay;
pub mod schema;
mod unit;
