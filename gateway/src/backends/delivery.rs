//! Calls to delivery-service.

use std::collections::HashMap;

use async_graphql::ID;
use mesh_proto::delivery::v1 as pb;

use super::{Backend, Backends, request, time};
use crate::{
    error::ApiError,
    model::{Delivery, DeliveryHistoryEntry, DeliveryStatus},
    request_id::RequestId,
};

pub(crate) fn status_of(status: pb::DeliveryStatus) -> Option<DeliveryStatus> {
    Some(match status {
        pb::DeliveryStatus::Unspecified => return None,
        pb::DeliveryStatus::Pending => DeliveryStatus::Pending,
        pb::DeliveryStatus::Assigned => DeliveryStatus::Assigned,
        pb::DeliveryStatus::PickedUp => DeliveryStatus::PickedUp,
        pb::DeliveryStatus::InTransit => DeliveryStatus::InTransit,
        pb::DeliveryStatus::Delivered => DeliveryStatus::Delivered,
        pb::DeliveryStatus::Failed => DeliveryStatus::Failed,
    })
}

fn status_to_proto(status: DeliveryStatus) -> pb::DeliveryStatus {
    match status {
        DeliveryStatus::Pending => pb::DeliveryStatus::Pending,
        DeliveryStatus::Assigned => pb::DeliveryStatus::Assigned,
        DeliveryStatus::PickedUp => pb::DeliveryStatus::PickedUp,
        DeliveryStatus::InTransit => pb::DeliveryStatus::InTransit,
        DeliveryStatus::Delivered => pb::DeliveryStatus::Delivered,
        DeliveryStatus::Failed => pb::DeliveryStatus::Failed,
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

fn to_model(delivery: pb::Delivery) -> Result<Delivery, ApiError> {
    let status = status_of(delivery.status()).ok_or_else(|| {
        tracing::error!(order_id = %delivery.order_id, "delivery-service sent a delivery without a status");
        ApiError::internal()
    })?;
    Ok(Delivery {
        created_at: time(delivery.created_at.as_ref()),
        updated_at: time(delivery.updated_at.as_ref()),
        history: delivery
            .history
            .into_iter()
            .map(|entry| DeliveryHistoryEntry {
                sequence: entry.sequence,
                status: status_of(entry.status()).unwrap_or(status),
                occurred_at: time(entry.occurred_at.as_ref()),
                courier: non_empty(entry.courier),
                note: non_empty(entry.note),
                event_id: ID(entry.event_id),
                record: entry.event,
            })
            .collect(),
        order_id: ID(delivery.order_id),
        status,
        courier: non_empty(delivery.courier),
    })
}

impl Backends {
    /// The delivery of an order; NOT_FOUND until the order is paid.
    pub async fn delivery(&self, rid: &RequestId, order_id: &str) -> Result<Delivery, ApiError> {
        let message = pb::GetStatusRequest {
            order_id: order_id.to_owned(),
        };
        let delivery = self.finish(
            Backend::Delivery,
            "GetStatus",
            self.delivery
                .clone()
                .get_status(request(rid, message))
                .await,
        )?;
        to_model(delivery)
    }

    /// The deliveries of many orders in one call, keyed by order id; orders without one yet are
    /// simply absent. What the GraphQL loader batches a request's `Order.delivery` fields into.
    pub async fn deliveries_by_order(
        &self,
        rid: &RequestId,
        order_ids: Vec<String>,
    ) -> Result<HashMap<String, Delivery>, ApiError> {
        let message = pb::BatchGetStatusRequest { order_ids };
        let found = self.finish(
            Backend::Delivery,
            "BatchGetStatus",
            self.delivery
                .clone()
                .batch_get_status(request(rid, message))
                .await,
        )?;
        found
            .deliveries
            .into_iter()
            .map(|delivery| Ok((delivery.order_id.clone(), to_model(delivery)?)))
            .collect()
    }

    /// Moves a delivery on; an illegal move, or one naming a courier other than the one who
    /// holds the delivery, is FAILED_PRECONDITION (409). `reassign`, an admin's override, lets
    /// the move hand the delivery to the courier it names.
    pub async fn update_delivery(
        &self,
        rid: &RequestId,
        order_id: &str,
        status: DeliveryStatus,
        courier: Option<String>,
        note: Option<String>,
        reassign: bool,
    ) -> Result<Delivery, ApiError> {
        let message = pb::UpdateStatusRequest {
            order_id: order_id.to_owned(),
            status: status_to_proto(status).into(),
            courier,
            note,
            reassign,
        };
        let delivery = self.finish(
            Backend::Delivery,
            "UpdateStatus",
            self.delivery
                .clone()
                .update_status(request(rid, message))
                .await,
        )?;
        to_model(delivery)
    }
}
