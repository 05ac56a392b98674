//! The gateway's gRPC clients: one lazily connected, load-balanced channel per backend, with a
//! deadline on every call and the request id in its metadata. Proto types stop here: each
//! submodule turns them into the gateway's own [`crate::model`] types.

use std::time::Duration;

use mesh_kit::telemetry::REQUEST_ID_HEADER;
use mesh_proto::{
    billing::v1::billing_service_client::BillingServiceClient,
    delivery::v1::delivery_service_client::DeliveryServiceClient,
    inventory::v1::inventory_service_client::InventoryServiceClient,
    menu::v1::menu_service_client::MenuServiceClient,
    order::v1::order_service_client::OrderServiceClient,
};
use tonic::{
    metadata::MetadataValue,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{config::BackendUrls, error::ApiError, metrics::Metrics, request_id::RequestId};

pub mod billing;
pub mod delivery;
pub mod inventory;
pub mod menu;
pub mod orders;

/// The services behind the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Menu,
    Order,
    Delivery,
    Inventory,
    Billing,
}

impl Backend {
    pub const ALL: [Self; 5] = [
        Self::Menu,
        Self::Order,
        Self::Delivery,
        Self::Inventory,
        Self::Billing,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Menu => "menu-service",
            Self::Order => "order-service",
            Self::Delivery => "delivery-service",
            Self::Inventory => "inventory-service",
            Self::Billing => "billing-service",
        }
    }
}

/// Why the backends could not be set up: only a malformed URL, since channels connect lazily.
#[derive(Debug, thiserror::Error)]
#[error("{backend} URL {url:?} is invalid: {reason}")]
pub struct BackendUrlError {
    backend: &'static str,
    url: String,
    reason: String,
}

/// Clients for every backend. Cheap to clone: clones share the channels.
#[derive(Clone)]
pub struct Backends {
    menu: MenuServiceClient<Channel>,
    order: OrderServiceClient<Channel>,
    delivery: DeliveryServiceClient<Channel>,
    inventory: InventoryServiceClient<Channel>,
    billing: BillingServiceClient<Channel>,
    channels: Vec<(Backend, Channel)>,
    metrics: Metrics,
}

impl Backends {
    /// Channels that connect on first use and reconnect by themselves: the gateway starts
    /// before its backends and heals when one comes back, with no restart.
    pub fn connect(urls: &BackendUrls, timeout: Duration) -> Result<Self, BackendUrlError> {
        let channel = |backend: Backend, urls: &[String]| -> Result<Channel, BackendUrlError> {
            let endpoints = urls
                .iter()
                .map(|url| {
                    Endpoint::from_shared(url.clone())
                        .map(|endpoint| {
                            endpoint
                                // A dead host fails fast into a 503 instead of eating the deadline.
                                .connect_timeout(Duration::from_secs(1))
                                .timeout(timeout)
                                .tcp_nodelay(true)
                                .http2_keep_alive_interval(Duration::from_secs(30))
                        })
                        .map_err(|err| BackendUrlError {
                            backend: backend.name(),
                            url: url.clone(),
                            reason: err.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(match endpoints.as_slice() {
                [single] => single.connect_lazy(),
                _ => Channel::balance_list(endpoints.into_iter()),
            })
        };
        let menu = channel(Backend::Menu, &urls.menu)?;
        let order = channel(Backend::Order, &urls.order)?;
        let delivery = channel(Backend::Delivery, &urls.delivery)?;
        let inventory = channel(Backend::Inventory, &urls.inventory)?;
        let billing = channel(Backend::Billing, &urls.billing)?;
        Ok(Self {
            menu: MenuServiceClient::new(menu.clone()),
            order: OrderServiceClient::new(order.clone()),
            delivery: DeliveryServiceClient::new(delivery.clone()),
            inventory: InventoryServiceClient::new(inventory.clone()),
            billing: BillingServiceClient::new(billing.clone()),
            channels: vec![
                (Backend::Menu, menu),
                (Backend::Order, order),
                (Backend::Delivery, delivery),
                (Backend::Inventory, inventory),
                (Backend::Billing, billing),
            ],
            metrics: Metrics::default(),
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts the call and turns the backend's answer into the gateway's result.
    pub(crate) fn finish<T>(
        &self,
        backend: Backend,
        method: &'static str,
        result: Result<tonic::Response<T>, tonic::Status>,
    ) -> Result<T, ApiError> {
        let code = result
            .as_ref()
            .map_or_else(tonic::Status::code, |_| tonic::Code::Ok);
        self.metrics.record_call(backend.name(), method, code);
        result
            .map(tonic::Response::into_inner)
            .map_err(|status| ApiError::from_status(backend, &status))
    }

    /// What each backend's `grpc.health.v1.Health` says of the whole server, asked in parallel.
    /// A backend that does not answer within `timeout` counts as not serving.
    pub async fn health(&self, timeout: Duration) -> Vec<(Backend, Result<(), String>)> {
        let checks = self.channels.iter().map(|(backend, channel)| {
            let mut client = HealthClient::new(channel.clone());
            async move {
                let check = client.check(HealthCheckRequest {
                    service: String::new(),
                });
                let verdict = match tokio::time::timeout(timeout, check).await {
                    Ok(Ok(response)) => match response.into_inner().status() {
                        ServingStatus::Serving => Ok(()),
                        other => Err(other.as_str_name().to_owned()),
                    },
                    Ok(Err(status)) => Err(format!("{:?}", status.code()).to_uppercase()),
                    Err(_) => Err("TIMEOUT".to_owned()),
                };
                (*backend, verdict)
            }
        });
        futures::future::join_all(checks).await
    }
}

/// A request carrying the caller's request id, so the backend's logs and the events it emits
/// name the same request as the gateway's.
pub(crate) fn request<T>(request_id: &RequestId, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = MetadataValue::try_from(request_id.as_str()) {
        request.metadata_mut().insert(REQUEST_ID_HEADER, value);
    }
    request
}

/// A timestamp from a backend; a missing or invalid one reads as the epoch rather than failing
/// the whole answer.
pub(crate) fn time(timestamp: Option<&prost_types::Timestamp>) -> chrono::DateTime<chrono::Utc> {
    timestamp
        .and_then(mesh_proto::from_timestamp)
        .unwrap_or_default()
}
