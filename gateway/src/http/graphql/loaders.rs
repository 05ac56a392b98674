//! Batch loading: every menu item, delivery and payment a request names, wherever in the query,
//! in one call per backend (the loader waits [`BATCH_DELAY`] for the rest of the query's fields
//! to ask before it calls).

use std::{
    collections::HashMap,
    future::Future,
    marker::PhantomData,
    sync::{Arc, OnceLock},
    time::Duration,
};

use async_graphql::dataloader::{DataLoader, Loader};
use mesh_proto::{delivery::v1 as pb, read_mask::ReadMask};

use crate::{
    backends::Backends,
    contract::{Delivery, MenuItem, Payment},
    error::ApiError,
};

/// How long a loader collects keys before it calls. Sibling fields resolve concurrently and
/// register their keys within microseconds, so the library's 1 ms default only adds latency.
pub const BATCH_DELAY: Duration = Duration::from_micros(200);

/// The loaders one request (or one WebSocket connection) shares, each made when first asked
/// for (a read of one movie needs none).
pub struct Loaders {
    backends: Backends,
    /// The id of the request they were made for: their calls run on tasks of their own.
    request_id: Option<Arc<str>>,
    menu_items: OnceLock<DataLoader<BatchLoader<MenuItem>>>,
    deliveries: OnceLock<DataLoader<BatchLoader<Delivery>>>,
    delivery_histories: OnceLock<DataLoader<BatchLoader<WithHistory>>>,
    payments: OnceLock<DataLoader<BatchLoader<Payment>>>,
}

impl Loaders {
    pub fn new(backends: &Backends) -> Self {
        Self {
            backends: backends.clone(),
            request_id: mesh_kit::context::request_id(),
            menu_items: OnceLock::new(),
            deliveries: OnceLock::new(),
            delivery_histories: OnceLock::new(),
            payments: OnceLock::new(),
        }
    }

    fn loader<'a, V: BatchFetch>(
        &self,
        cell: &'a OnceLock<DataLoader<BatchLoader<V>>>,
    ) -> &'a DataLoader<BatchLoader<V>> {
        cell.get_or_init(|| BatchLoader::data_loader(&self.backends, self.request_id.clone()))
    }

    /// A menu item: from the gateway's recent fetches when it is there (no batch to wait
    /// for), else with the request's other items in one call.
    pub async fn menu_item(&self, id: &str) -> Result<Option<MenuItem>, Arc<ApiError>> {
        if let Some(item) = self.backends.recent_menu_item(id) {
            return Ok(Some(item));
        }
        self.loader(&self.menu_items).load_one(id.to_owned()).await
    }

    /// An order's delivery, without its history...
    pub async fn delivery(&self, order_id: String) -> Result<Option<Delivery>, Arc<ApiError>> {
        self.loader(&self.deliveries).load_one(order_id).await
    }

    /// ...and with it (delivery-service skips a query when it is not selected).
    pub async fn delivery_with_history(
        &self,
        order_id: String,
    ) -> Result<Option<Delivery>, Arc<ApiError>> {
        let found = self
            .loader(&self.delivery_histories)
            .load_one(order_id)
            .await?;
        Ok(found.map(|WithHistory(delivery)| delivery))
    }

    /// An order's payment.
    pub async fn payment(&self, order_id: String) -> Result<Option<Payment>, Arc<ApiError>> {
        self.loader(&self.payments).load_one(order_id).await
    }
}

/// A delivery with its history.
#[derive(Clone)]
pub struct WithHistory(Delivery);

/// A value the gateway can fetch many of, by id, in one backend call.
pub trait BatchFetch: Sized + Clone + Send + Sync + 'static {
    /// What the debug log calls a batch of these.
    const WHAT: &'static str;
    /// The list field of the batch call's request, whose rule bounds a call's ids.
    const IDS_FIELD: &'static str;

    fn fetch(
        backends: &Backends,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<HashMap<String, Self>, ApiError>> + Send;
}

impl BatchFetch for MenuItem {
    const WHAT: &'static str = "menu items";
    const IDS_FIELD: &'static str = "mesh.menu.v1.BatchGetMenuItemsRequest.ids";

    async fn fetch(
        backends: &Backends,
        ids: Vec<String>,
    ) -> Result<HashMap<String, Self>, ApiError> {
        backends.menu_items_by_id(ids).await // BatchGetMenuItems
    }
}

impl BatchFetch for Delivery {
    const WHAT: &'static str = "deliveries";
    const IDS_FIELD: &'static str = "mesh.delivery.v1.BatchGetStatusRequest.order_ids";

    async fn fetch(
        backends: &Backends,
        order_ids: Vec<String>,
    ) -> Result<HashMap<String, Self>, ApiError> {
        let read = ReadMask::all_but::<pb::Delivery>(&["history"]);
        backends.deliveries_by_order(order_ids, &read).await // BatchGetStatus
    }
}

impl BatchFetch for WithHistory {
    const WHAT: &'static str = "deliveries with their history";
    const IDS_FIELD: &'static str = Delivery::IDS_FIELD;

    async fn fetch(
        backends: &Backends,
        order_ids: Vec<String>,
    ) -> Result<HashMap<String, Self>, ApiError> {
        let found = backends
            .deliveries_by_order(order_ids, &ReadMask::all())
            .await?; // BatchGetStatus
        Ok(found
            .into_iter()
            .map(|(id, delivery)| (id, Self(delivery)))
            .collect())
    }
}

impl BatchFetch for Payment {
    const WHAT: &'static str = "payments";
    const IDS_FIELD: &'static str = "mesh.billing.v1.BatchGetPaymentsRequest.order_ids";

    async fn fetch(
        backends: &Backends,
        order_ids: Vec<String>,
    ) -> Result<HashMap<String, Self>, ApiError> {
        backends.payments_by_order(order_ids).await // BatchGetPayments
    }
}

/// Loads `V`s by id, in calls of at most the ids the batch call's contract allows
/// ([`BatchFetch::IDS_FIELD`]'s `max_items`), under the id of the request it was made for: its
/// calls run on tasks of their own, which do not inherit it.
pub struct BatchLoader<V> {
    backends: Backends,
    request_id: Option<Arc<str>>,
    value: PhantomData<fn() -> V>,
}

impl<V: BatchFetch> BatchLoader<V> {
    fn data_loader(backends: &Backends, request_id: Option<Arc<str>>) -> DataLoader<Self> {
        let loader = Self {
            backends: backends.clone(),
            request_id,
            value: PhantomData,
        };
        DataLoader::new(loader, tokio::spawn)
            .delay(BATCH_DELAY)
            .max_batch_size(mesh_proto::rules::max_items(V::IDS_FIELD).unwrap_or(usize::MAX))
    }
}

impl<V: BatchFetch> Loader<String> for BatchLoader<V> {
    type Value = V;
    type Error = Arc<ApiError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, V>, Self::Error> {
        tracing::debug!(ids = keys.len(), "batch-loading {}", V::WHAT);
        let fetch = V::fetch(&self.backends, keys.to_vec());
        mesh_kit::context::scope(self.request_id.clone(), fetch)
            .await
            .map_err(Arc::new)
    }
}
