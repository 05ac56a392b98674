//! Calls to any RPC of the contract by its name: with messages built from its descriptor (what
//! the REST transcoder sends), or with prost messages (what the generated GraphQL fields send).
//! The same balancer, deadline, request id and call counts as the typed clients.

use std::str::FromStr;

use axum::http::uri::PathAndQuery;
use mesh_proto::{
    billing::v1::billing_service_server, codec::ValidatingCodec,
    delivery::v1::delivery_service_server, dynamic_codec::DynamicCodec,
    inventory::v1::inventory_service_server, menu::v1::menu_service_server,
    order::v1::order_service_server,
};
use prost_reflect::{DynamicMessage, MethodDescriptor, ServiceDescriptor};
use tonic::codec::Codec;

use super::{Backend, Backends};
use crate::error::ApiError;

impl Backend {
    /// The backend that serves `service`, if it is one of the mesh's.
    pub fn serving(service: &ServiceDescriptor) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|backend| backend.service_name() == service.full_name())
    }

    fn service_name(self) -> &'static str {
        match self {
            Self::Menu => menu_service_server::SERVICE_NAME,
            Self::Order => order_service_server::SERVICE_NAME,
            Self::Delivery => delivery_service_server::SERVICE_NAME,
            Self::Inventory => inventory_service_server::SERVICE_NAME,
            Self::Billing => billing_service_server::SERVICE_NAME,
        }
    }
}

/// An RPC the gateway calls by its descriptor.
#[derive(Clone, Debug)]
pub struct Rpc {
    pub backend: Backend,
    pub method: MethodDescriptor,
    /// `/mesh.menu.v1.MenuService/ListMenuItems`.
    path: PathAndQuery,
    /// `ListMenuItems`, as the call counts name it.
    name: &'static str,
}

impl Rpc {
    /// The call of `method`, or `None` when no backend of the mesh serves its service.
    pub fn new(method: MethodDescriptor) -> Option<Self> {
        let backend = Backend::serving(method.parent_service())?;
        let path = PathAndQuery::from_str(&format!(
            "/{}/{}",
            method.parent_service().full_name(),
            method.name()
        ))
        .ok()?;
        // The call counts key on `&'static str`; routes are made once per router, so this
        // leaks a few bytes per RPC per router built, not per request.
        let name: &'static str = Box::leak(method.name().to_owned().into_boxed_str());
        Some(Self {
            backend,
            method,
            path,
            name,
        })
    }
}

impl Backends {
    /// Sends `message` (an `rpc.method` request) and returns its answer.
    pub async fn call(
        &self,
        rpc: &Rpc,
        message: DynamicMessage,
    ) -> Result<DynamicMessage, ApiError> {
        let codec = DynamicCodec::new(rpc.method.output());
        self.unary(rpc.backend, rpc.path.clone(), rpc.name, message, codec)
            .await
    }

    /// Sends a prost `message` to the RPC at `path` (`/mesh.menu.v1.MenuService/GetMenuItem`)
    /// of the service named `service`: what the GraphQL fields generated from the contract call.
    pub async fn call_typed<Request, Answer>(
        &self,
        service: &str,
        path: &'static str,
        message: Request,
    ) -> Result<Answer, ApiError>
    where
        Request: mesh_proto::Message + Default + Send + Sync + 'static,
        Answer: mesh_proto::Message + mesh_proto::Name + Default + Send + Sync + 'static,
    {
        let backend = Backend::ALL
            .into_iter()
            .find(|backend| backend.service_name() == service)
            .ok_or_else(ApiError::internal)?;
        let method = path.rsplit('/').next().unwrap_or(path);
        let codec = ValidatingCodec::<Request, Answer>::default();
        self.unary(
            backend,
            PathAndQuery::from_static(path),
            method,
            message,
            codec,
        )
        .await
    }

    /// One unary call over `backend`'s balancer, as the typed clients make it: the request id
    /// in its metadata, UNAVAILABLE at once when no endpoint is ready, the outcome counted.
    async fn unary<C>(
        &self,
        backend: Backend,
        path: PathAndQuery,
        method: &'static str,
        message: C::Encode,
        codec: C,
    ) -> Result<C::Decode, ApiError>
    where
        C: Codec + Send + 'static,
        C::Encode: Send + Sync + 'static,
        C::Decode: Send + Sync + 'static,
    {
        let balancer = self
            .balancers
            .iter()
            .find(|(candidate, _)| *candidate == backend)
            .map(|(_, balancer)| balancer.clone())
            .ok_or_else(ApiError::internal)?;
        let mut grpc = tonic::client::Grpc::new(balancer);
        let result = match grpc.ready().await {
            Ok(()) => grpc.unary(tonic::Request::new(message), path, codec).await,
            Err(err) => Err(tonic::Status::unavailable(format!(
                "{} is not ready: {err}",
                backend.name()
            ))),
        };
        self.finish(backend, method, result)
    }
}
