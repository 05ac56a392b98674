//! The live feed behind the `orderUpdates` subscription: one Kafka consumer per gateway reads
//! `order-events` and `delivery-events` and fans each event out to the open subscriptions.
//!
//! The gateway is not a consumer group member in the usual sense: every gateway instance must
//! see every event, so each joins a group of its own, starts at the newest offset and never
//! commits. Whatever happened before a subscription started is replayed from the order's
//! history instead (see `graphql::subscription`).

use std::{sync::Arc, time::Duration};

use async_graphql::ID;
use chrono::{DateTime, Utc};
use mesh_kit::{
    kafka::{DELIVERY_EVENTS, KafkaConfig, ORDER_EVENTS, header, header_text},
    startup::StopSignal,
};
use mesh_proto::{Name, events::v1 as pb};
use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
};
use tokio::sync::broadcast;

use crate::{
    backends::delivery,
    model::{OrderStatus, OrderUpdate},
};

/// Updates buffered per subscriber before a slow one is told it fell behind.
const CAPACITY: usize = 4096;

/// Fans events out to subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct OrderFeed {
    sender: broadcast::Sender<Arc<OrderUpdate>>,
}

impl Default for OrderFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

impl OrderFeed {
    /// Every update from now on. Subscribe before reading an order's history, so nothing falls
    /// between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OrderUpdate>> {
        self.sender.subscribe()
    }

    /// Reads the topics until `stop`, publishing each event to the subscribers.
    pub async fn run(self, kafka: KafkaConfig, stop: StopSignal) {
        let group = kafka.group(&format!("gateway-feed-{}", uuid::Uuid::new_v4().simple()));
        let consumer: StreamConsumer = match kafka
            .client_config()
            .set("group.id", &group)
            .set("auto.offset.reset", "latest")
            .set("enable.auto.commit", "false")
            .set(
                "fetch.wait.max.ms",
                kafka.fetch_wait.as_millis().to_string(),
            )
            .create()
        {
            Ok(consumer) => consumer,
            Err(err) => {
                tracing::error!(error = %err, "cannot create the subscription feed consumer; subscriptions replay history only");
                return;
            }
        };
        let topics = [kafka.topic(ORDER_EVENTS), kafka.topic(DELIVERY_EVENTS)];
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        if let Err(err) = consumer.subscribe(&topics) {
            tracing::error!(error = %err, "cannot subscribe the feed; subscriptions replay history only");
            return;
        }
        tracing::info!(%group, "subscription feed started");
        let stop = stop.wait();
        tokio::pin!(stop);
        loop {
            let message = tokio::select! {
                () = &mut stop => break,
                message = consumer.recv() => message,
            };
            match message {
                Ok(message) => {
                    if let Some(update) = parse(&message) {
                        // No subscribers is not an error.
                        let _ = self.sender.send(Arc::new(update));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "subscription feed error");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        tracing::info!("subscription feed stopped");
    }
}

fn parse(message: &rdkafka::message::BorrowedMessage<'_>) -> Option<OrderUpdate> {
    let headers = message.headers();
    let event_id = header_text(headers, header::ID)?.to_owned();
    let event_type = header_text(headers, header::TYPE)?;
    let time: DateTime<Utc> = header_text(headers, header::TIME)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    let payload = message.payload()?;
    let short = event_type
        .rsplit('.')
        .next()
        .unwrap_or(event_type)
        .to_owned();
    let order = |order_id: String, status: OrderStatus, detail: Option<String>| OrderUpdate {
        order_id: ID(order_id),
        event_id: ID(event_id.clone()),
        event_type: short.clone(),
        order_status: Some(status),
        delivery_status: None,
        occurred_at: time,
        detail,
    };
    fn json<M: mesh_proto::Message + Name + Default>(
        payload: &[u8],
    ) -> Result<M, mesh_proto::json::JsonError> {
        mesh_proto::json::from_json(payload)
    }
    let decode_error = |err: mesh_proto::json::JsonError| {
        tracing::debug!(%event_type, error = %err, "feed skipped an unreadable event");
    };
    let update = if event_type == pb::OrderPlaced::full_name() {
        let e: pb::OrderPlaced = json(payload).map_err(decode_error).ok()?;
        order(e.order_id, OrderStatus::Placed, None)
    } else if event_type == pb::OrderPaid::full_name() {
        let e: pb::OrderPaid = json(payload).map_err(decode_error).ok()?;
        order(e.order_id, OrderStatus::Paid, None)
    } else if event_type == pb::OrderPaymentFailed::full_name() {
        let e: pb::OrderPaymentFailed = json(payload).map_err(decode_error).ok()?;
        order(e.order_id, OrderStatus::PaymentFailed, Some(e.reason))
    } else if event_type == pb::OrderOutForDelivery::full_name() {
        let e: pb::OrderOutForDelivery = json(payload).map_err(decode_error).ok()?;
        order(e.order_id, OrderStatus::OutForDelivery, None)
    } else if event_type == pb::OrderDelivered::full_name() {
        let e: pb::OrderDelivered = json(payload).map_err(decode_error).ok()?;
        order(e.order_id, OrderStatus::Delivered, None)
    } else if event_type == pb::OrderCancelled::full_name() {
        let e: pb::OrderCancelled = json(payload).map_err(decode_error).ok()?;
        order(e.order_id, OrderStatus::Cancelled, Some(e.reason))
    } else if event_type == pb::DeliveryStatusChanged::full_name() {
        let e: pb::DeliveryStatusChanged = json(payload).map_err(decode_error).ok()?;
        OrderUpdate {
            delivery_status: delivery::status_of(e.to()),
            order_id: ID(e.order_id),
            event_id: ID(event_id.clone()),
            event_type: short,
            order_status: None,
            occurred_at: e
                .occur_time
                .as_ref()
                .and_then(mesh_proto::from_timestamp)
                .unwrap_or(time),
            detail: Some(e.note).filter(|n| !n.is_empty()),
        }
    } else {
        return None;
    };
    Some(update)
}
