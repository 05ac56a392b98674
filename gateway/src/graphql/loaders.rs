//! Batch loading: every menu item, delivery and payment a request names, wherever in the query,
//! in one call per backend (the loader waits [`BATCH_DELAY`] for the rest of the query's fields
//! to ask before it calls).

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;

use std::time::Duration;

use async_graphql::dataloader::DataLoader;

use crate::{
    backends::Backends,
    error::ApiError,
    model::{Delivery, MenuItem, Payment},
    request_id::RequestId,
};

/// How long a loader collects keys before it calls. Sibling fields resolve concurrently and
/// register their keys within microseconds, so the library's 1 ms default only adds latency.
pub const BATCH_DELAY: Duration = Duration::from_micros(200);

/// The loaders one request (or one WebSocket connection) shares.
pub struct Loaders {
    pub menu_items: DataLoader<MenuItemLoader>,
    pub deliveries: DataLoader<DeliveryLoader>,
    pub payments: DataLoader<PaymentLoader>,
}

impl Loaders {
    pub fn new(backends: &Backends, rid: &RequestId) -> Self {
        fn loader<L: Loader<String>>(inner: L) -> DataLoader<L> {
            DataLoader::new(inner, tokio::spawn)
                .delay(BATCH_DELAY)
                .max_batch_size(mesh_kit::batch::MAX_BATCH)
        }
        Self {
            menu_items: loader(MenuItemLoader::new(backends.clone(), rid.clone())),
            deliveries: loader(DeliveryLoader {
                backends: backends.clone(),
                rid: rid.clone(),
            }),
            payments: loader(PaymentLoader {
                backends: backends.clone(),
                rid: rid.clone(),
            }),
        }
    }
}

/// Loads menu items by id through `BatchGetMenuItems`.
pub struct MenuItemLoader {
    backends: Backends,
    rid: RequestId,
}

impl MenuItemLoader {
    pub fn new(backends: Backends, rid: RequestId) -> Self {
        Self { backends, rid }
    }
}

impl Loader<String> for MenuItemLoader {
    type Value = MenuItem;
    type Error = Arc<ApiError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, MenuItem>, Self::Error> {
        tracing::debug!(ids = keys.len(), "batch-loading menu items");
        self.backends
            .menu_items_by_id(&self.rid, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}

/// Loads deliveries by order id through `BatchGetStatus`.
pub struct DeliveryLoader {
    backends: Backends,
    rid: RequestId,
}

impl Loader<String> for DeliveryLoader {
    type Value = Delivery;
    type Error = Arc<ApiError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Delivery>, Self::Error> {
        tracing::debug!(ids = keys.len(), "batch-loading deliveries");
        self.backends
            .deliveries_by_order(&self.rid, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}

/// Loads payments by order id through `BatchGetPayments`.
pub struct PaymentLoader {
    backends: Backends,
    rid: RequestId,
}

impl Loader<String> for PaymentLoader {
    type Value = Payment;
    type Error = Arc<ApiError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Payment>, Self::Error> {
        tracing::debug!(ids = keys.len(), "batch-loading payments");
        self.backends
            .payments_by_order(&self.rid, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}
