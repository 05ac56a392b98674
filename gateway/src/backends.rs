//! The gateway's gRPC clients: one health-aware balancer per backend ([`mesh_kit::balance`]),
//! choosing an endpoint per call, with a deadline on every call and the request id in its
//! metadata. Proto types stop here: each submodule turns them into the gateway's own
//! [`crate::contract`] types (or, for billing orders, [`crate::model`]).

use std::{sync::Arc, time::Duration};

use mesh_kit::{
    balance::{BalanceConfig, BalanceError, Balancer, EndpointState, EndpointStatus},
    config::ConfigError,
};
use mesh_proto::{
    billing::v1::billing_service_client::BillingServiceClient,
    delivery::v1::delivery_service_client::DeliveryServiceClient,
    inventory::v1::inventory_service_client::InventoryServiceClient,
    menu::v1::menu_service_client::MenuServiceClient,
    order::v1::order_service_client::OrderServiceClient,
};

use crate::{config::BackendUrls, error::ApiError, metrics::Metrics};

pub mod billing;
pub mod delivery;
pub mod dynamic;
pub mod inventory;
pub mod menu;

use menu::MenuItemCache;
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

/// Why the backends could not be set up: a malformed URL or balancer setting. Nothing is
/// connected at start, so a backend that is down is no reason.
#[derive(Debug, thiserror::Error)]
pub enum BackendsError {
    #[error("{backend}: {source}")]
    Url {
        backend: &'static str,
        source: BalanceError,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// How long after a round of health checks of a backend that is down started a call to it waits
/// for the round to find an endpoint back before it is answered 503 (the balancer's default is
/// 100 ms). A refused connection ends the round in a millisecond, and a connection and a health
/// check to a server that is back take a few; the round waits up to its timeout (a second) only
/// on a backend that hangs, and calls must not wait with it: at most this, half of the 100 ms
/// the gateway allows itself to answer that a backend is down.
pub const HALF_OPEN_WAIT: Duration = Duration::from_millis(50);

/// Clients for every backend. Cheap to clone: one reference count (every request's state
/// holds a clone, so copying five clients and their URIs per request showed in profiles).
#[derive(Clone)]
pub struct Backends(Arc<Clients>);

/// What [`Backends`] shares.
pub struct Clients {
    menu: MenuServiceClient<Balancer>,
    order: OrderServiceClient<Balancer>,
    delivery: DeliveryServiceClient<Balancer>,
    inventory: InventoryServiceClient<Balancer>,
    billing: BillingServiceClient<Balancer>,
    balancers: Vec<(Backend, Balancer)>,
    metrics: Metrics,
    menu_items: MenuItemCache,
}

/// What `/readyz` reports of one backend: each endpoint's state after a fresh health check.
#[derive(Clone, Debug)]
pub struct BackendHealth {
    pub backend: Backend,
    pub endpoints: Vec<EndpointStatus>,
}

impl BackendHealth {
    /// Ready when at least one endpoint answers SERVING; otherwise what the endpoints are, e.g.
    /// `UNREACHABLE`, or `UNAVAILABLE` when they differ.
    pub fn verdict(&self) -> Result<(), String> {
        if self
            .endpoints
            .iter()
            .any(|endpoint| endpoint.state == EndpointState::Serving)
        {
            return Ok(());
        }
        let mut states = self.endpoints.iter().map(|endpoint| endpoint.state);
        Err(match states.next() {
            None => "NO_ENDPOINTS".to_owned(),
            Some(first) if states.all(|state| state == first) => first.as_str().to_owned(),
            Some(_) => "UNAVAILABLE".to_owned(),
        })
    }
}

impl Backends {
    /// One balancer per backend, with `balance`'s settings and `timeout` as every call's deadline. Nothing
    /// connects before the first call or health check: the gateway starts before its backends
    /// and heals when one comes back, with no restart.
    ///
    /// A call to a backend none of whose endpoints is available (the states the balancer keeps
    /// from its health checks and failed calls, as `/readyz` shows them) is answered UNAVAILABLE,
    /// a 503, at once: within [`HALF_OPEN_WAIT`] of the round of health checks that would find an
    /// endpoint back, and at once after it.
    ///
    /// The menu items the GraphQL loader fetches are reused for `menu_item_ttl` (zero: never).
    pub fn connect(
        urls: &BackendUrls,
        balance: BalanceConfig,
        timeout: Duration,
        menu_item_ttl: Duration,
    ) -> Result<Self, BackendsError> {
        Self::connect_with(
            urls,
            balance
                .with_default_timeout(timeout)
                .with_half_open_wait(HALF_OPEN_WAIT),
            menu_item_ttl,
        )
    }

    /// The same with explicit balancer settings; `balance.default_timeout` is every call's
    /// deadline (sent to the backend as `grpc-timeout`).
    pub fn connect_with(
        urls: &BackendUrls,
        balance: BalanceConfig,
        menu_item_ttl: Duration,
    ) -> Result<Self, BackendsError> {
        let balancer = |backend: Backend, urls: &[String]| {
            Balancer::new(backend.name(), urls, balance.clone()).map_err(|source| {
                BackendsError::Url {
                    backend: backend.name(),
                    source,
                }
            })
        };
        let menu = balancer(Backend::Menu, &urls.menu)?;
        let order = balancer(Backend::Order, &urls.order)?;
        let delivery = balancer(Backend::Delivery, &urls.delivery)?;
        let inventory = balancer(Backend::Inventory, &urls.inventory)?;
        let billing = balancer(Backend::Billing, &urls.billing)?;
        Ok(Self(Arc::new(Clients {
            menu: MenuServiceClient::new(menu.clone()),
            order: OrderServiceClient::new(order.clone()),
            delivery: DeliveryServiceClient::new(delivery.clone()),
            inventory: InventoryServiceClient::new(inventory.clone()),
            billing: BillingServiceClient::new(billing.clone()),
            balancers: vec![
                (Backend::Menu, menu),
                (Backend::Order, order),
                (Backend::Delivery, delivery),
                (Backend::Inventory, inventory),
                (Backend::Billing, billing),
            ],
            metrics: Metrics::default(),
            menu_items: MenuItemCache::new(menu_item_ttl),
        })))
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
            .map_err(|status| ApiError::from_status(backend.name(), &status))
    }

    /// Every endpoint of every backend health-checked now (`grpc.health.v1.Health` of the whole
    /// server, each within `timeout`), in parallel. The answers also feed the balancers, as
    /// their periodic checks would.
    pub async fn health(&self, timeout: Duration) -> Vec<BackendHealth> {
        let checks = self.balancers.iter().map(|(backend, balancer)| async move {
            BackendHealth {
                backend: *backend,
                endpoints: balancer.check(timeout).await,
            }
        });
        futures::future::join_all(checks).await
    }
}

impl std::ops::Deref for Backends {
    type Target = Clients;

    fn deref(&self) -> &Clients {
        &self.0
    }
}
