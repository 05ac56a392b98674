//! Calls to order-service.

use mesh_proto::{order::v1 as pb, read_mask::ReadMask};

use super::{Backend, Backends};
use crate::{contract::Order, error::ApiError};

fn to_model(order: pb::Order) -> Result<Order, ApiError> {
    Ok(Order::try_from(order)?)
}

impl Backends {
    /// The order, with what `read` reads of it: order-service loads its lines and history only
    /// when they are read.
    pub async fn order(&self, id: &str, read: &ReadMask) -> Result<Order, ApiError> {
        let message = pb::GetOrderRequest {
            order_id: id.to_owned(),
            read_mask: read.to_proto(),
        };
        let order = self.finish(
            Backend::Order,
            "GetOrder",
            self.order.clone().get_order(message).await,
        )?;
        to_model(order)
    }

    pub async fn cancel_order(&self, id: &str, reason: Option<String>) -> Result<Order, ApiError> {
        let message = pb::CancelOrderRequest {
            order_id: id.to_owned(),
            reason: reason.unwrap_or_default(),
        };
        let order = self.finish(
            Backend::Order,
            "CancelOrder",
            self.order.clone().cancel_order(message).await,
        )?;
        to_model(order)
    }
}
