//! Calls to order-service.

use mesh_proto::order::v1 as pb;

use super::{Backend, Backends, request};
use crate::{contract::Order, error::ApiError, model::Page, request_id::RequestId};

/// An order as the client asked for it; order-service validates and prices it.
#[derive(Clone, Debug, Default)]
pub struct NewOrder {
    pub customer_id: String,
    /// `(menu_item_id, quantity)`.
    pub items: Vec<(String, i32)>,
    pub delivery_address: String,
    pub idempotency_key: Option<String>,
}

fn to_model(order: pb::Order) -> Result<Order, ApiError> {
    Ok(Order::try_from(order)?)
}

impl Backends {
    pub async fn create_order(&self, rid: &RequestId, order: NewOrder) -> Result<Order, ApiError> {
        let message = pb::CreateOrderRequest {
            customer_id: order.customer_id,
            items: order
                .items
                .into_iter()
                .map(|(menu_item_id, quantity)| pb::CreateOrderItem {
                    menu_item_id,
                    quantity,
                })
                .collect(),
            delivery_address: order.delivery_address,
            idempotency_key: order.idempotency_key.unwrap_or_default(),
        };
        let created = self.finish(
            Backend::Order,
            "CreateOrder",
            self.order.clone().create_order(request(rid, message)).await,
        )?;
        to_model(created)
    }

    pub async fn order(&self, rid: &RequestId, id: &str) -> Result<Order, ApiError> {
        let message = pb::GetOrderRequest {
            order_id: id.to_owned(),
        };
        let order = self.finish(
            Backend::Order,
            "GetOrder",
            self.order.clone().get_order(request(rid, message)).await,
        )?;
        to_model(order)
    }

    pub async fn orders(
        &self,
        rid: &RequestId,
        customer_id: String,
        page_size: Option<i32>,
        page_token: Option<String>,
    ) -> Result<Page<Order>, ApiError> {
        let message = pb::ListOrdersRequest {
            customer_id,
            page_size: page_size.unwrap_or_default(),
            page_token: page_token.unwrap_or_default(),
        };
        let page = self.finish(
            Backend::Order,
            "ListOrders",
            self.order.clone().list_orders(request(rid, message)).await,
        )?;
        Ok(Page {
            items: page
                .orders
                .into_iter()
                .map(to_model)
                .collect::<Result<_, _>>()?,
            cursors: page.cursors,
            next_page_token: Some(page.next_page_token).filter(|token| !token.is_empty()),
        })
    }

    pub async fn cancel_order(
        &self,
        rid: &RequestId,
        id: &str,
        reason: Option<String>,
    ) -> Result<Order, ApiError> {
        let message = pb::CancelOrderRequest {
            order_id: id.to_owned(),
            reason: reason.unwrap_or_default(),
        };
        let order = self.finish(
            Backend::Order,
            "CancelOrder",
            self.order.clone().cancel_order(request(rid, message)).await,
        )?;
        to_model(order)
    }
}
