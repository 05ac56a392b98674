//! Calls to delivery-service.

use std::collections::HashMap;

use mesh_proto::{delivery::v1 as pb, read_mask::ReadMask};

use super::{Backend, Backends};
use crate::{
    contract::{Delivery, DeliveryStatus},
    error::ApiError,
};

fn to_model(delivery: pb::Delivery) -> Result<Delivery, ApiError> {
    Ok(Delivery::try_from(delivery)?)
}

impl Backends {
    /// The delivery of an order; NOT_FOUND until the order is paid.
    pub async fn delivery(&self, order_id: &str) -> Result<Delivery, ApiError> {
        let message = pb::GetStatusRequest {
            order_id: order_id.to_owned(),
        };
        let delivery = self.finish(
            Backend::Delivery,
            "GetStatus",
            self.delivery.clone().get_status(message).await,
        )?;
        to_model(delivery)
    }

    /// The deliveries of many orders in one call, keyed by order id, with what `read` reads of
    /// them (their histories only when read); orders without one yet are simply absent. What
    /// the GraphQL loader batches a request's `Order.delivery` fields into.
    pub async fn deliveries_by_order(
        &self,
        order_ids: Vec<String>,
        read: &ReadMask,
    ) -> Result<HashMap<String, Delivery>, ApiError> {
        let message = pb::BatchGetStatusRequest {
            order_ids,
            read_mask: read.to_proto(),
        };
        let found = self.finish(
            Backend::Delivery,
            "BatchGetStatus",
            self.delivery.clone().batch_get_status(message).await,
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
        order_id: &str,
        status: DeliveryStatus,
        courier: Option<String>,
        note: Option<String>,
        reassign: bool,
    ) -> Result<Delivery, ApiError> {
        let message = pb::UpdateStatusRequest {
            order_id: order_id.to_owned(),
            status: status.into(),
            courier,
            note,
            reassign,
        };
        let delivery = self.finish(
            Backend::Delivery,
            "UpdateStatus",
            self.delivery.clone().update_status(message).await,
        )?;
        to_model(delivery)
    }
}
