//! The menu, as order-service asks it for prices: one batch call per order.

use std::time::Duration;

use mesh_kit::telemetry::REQUEST_ID_HEADER;
use mesh_proto::menu::v1::{BatchGetMenuItemsRequest, menu_service_client::MenuServiceClient};
use tonic::{
    Code,
    metadata::MetadataValue,
    transport::{Channel, Endpoint},
};
use uuid::Uuid;

use crate::{domain::MenuPrice, error::Error};

#[derive(Clone)]
pub struct MenuClient {
    client: MenuServiceClient<Channel>,
}

impl MenuClient {
    /// Connects lazily: order-service starts even when the menu is down, and answers
    /// UNAVAILABLE to orders until it is back.
    pub fn new(url: &str) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(3))
            .connect_lazy();
        Ok(Self {
            client: MenuServiceClient::new(channel),
        })
    }

    /// The menu's current name, price and availability of each id it knows.
    pub async fn prices(
        &self,
        ids: &[Uuid],
        request_id: Option<&str>,
    ) -> Result<Vec<MenuPrice>, Error> {
        let mut request = tonic::Request::new(BatchGetMenuItemsRequest {
            ids: ids.iter().map(Uuid::to_string).collect(),
        });
        if let Some(value) = request_id.and_then(|id| MetadataValue::try_from(id).ok()) {
            request.metadata_mut().insert(REQUEST_ID_HEADER, value);
        }
        let response = self
            .client
            .clone()
            .batch_get_menu_items(request)
            .await
            .map_err(|status| match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                    tracing::warn!(error = %status, "menu-service unavailable");
                    Error::MenuUnavailable
                }
                _ => Error::Internal(format!("menu-service answered {status}")),
            })?;
        response
            .into_inner()
            .items
            .into_iter()
            .map(|item| {
                let id = Uuid::parse_str(&item.id).map_err(|_| {
                    Error::Internal(format!("menu item id {:?} is not a UUID", item.id))
                })?;
                Ok(MenuPrice {
                    id,
                    name: item.name,
                    price_cents: item.price_cents,
                    currency: item.currency,
                    available: item.available,
                })
            })
            .collect()
    }
}
