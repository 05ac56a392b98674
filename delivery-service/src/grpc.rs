//! `mesh.delivery.v1.DeliveryService`: proto in, domain through, proto out.

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use mesh_events::{
    aggregate::Aggregates,
    event_store::{self, StoredEvent},
};
use mesh_kit::{InvalidField, batch, text::TextRule};
use mesh_proto::{
    delivery::v1::{
        self as pb, BatchGetStatusRequest, BatchGetStatusResponse, GetStatusRequest,
        UpdateStatusRequest, delivery_service_server::DeliveryService,
    },
    read_mask::ReadMask,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    db::{self, Deliveries},
    domain::Delivery,
    error::Error,
    events::{self, status_from_proto, status_to_proto},
};

/// The gRPC face of deliveries.
#[derive(Clone)]
pub struct DeliveryApi {
    deliveries: Aggregates<Deliveries>,
}

impl DeliveryApi {
    pub fn new(deliveries: Aggregates<Deliveries>) -> Self {
        Self { deliveries }
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

fn parse_order_id(raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw.trim()).map_err(|_| InvalidField::new("order_id", "must be a UUID").into())
}

/// The delivery with its history, as the wire shows it.
fn to_proto(
    delivery: Delivery,
    history: &[event_store::StoredEvent],
) -> Result<pb::Delivery, Error> {
    let history = history
        .iter()
        .map(|stored| {
            let event = events::decode(stored).map_err(|err| Error::Internal(err.to_string()))?;
            Ok(pb::DeliveryHistoryEntry {
                sequence: stored.sequence,
                status: status_to_proto(event.to).into(),
                courier: event.courier,
                note: event.note,
                occurred_at: Some(mesh_proto::timestamp(stored.occurred_at)),
                event_id: stored.id.to_string(),
                event: Some(stored.record()),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(pb::Delivery {
        order_id: delivery.order_id.to_string(),
        status: status_to_proto(delivery.status).into(),
        courier: delivery.courier,
        created_at: Some(mesh_proto::timestamp(delivery.created_at)),
        updated_at: Some(mesh_proto::timestamp(delivery.updated_at)),
        history,
        delivery_address: delivery.delivery_address,
    })
}

#[tonic::async_trait]
impl DeliveryService for DeliveryApi {
    #[tracing::instrument(skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        reply(self.get(&request.into_inner().order_id).await)
    }

    #[tracing::instrument(skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn update_status(
        &self,
        request: Request<UpdateStatusRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        reply(self.update(request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(ids = request.get_ref().order_ids.len()))]
    async fn batch_get_status(
        &self,
        request: Request<BatchGetStatusRequest>,
    ) -> Result<Response<BatchGetStatusResponse>, Status> {
        reply(self.batch_get(request.into_inner()).await)
    }
}

// === impl DeliveryApi ===

impl DeliveryApi {
    async fn load_with_history(
        &self,
        conn: &mut AsyncPgConnection,
        order_id: Uuid,
    ) -> Result<pb::Delivery, Error> {
        let delivery = db::load(conn, order_id, false)
            .await?
            .ok_or(Error::NotFound(order_id))?;
        let history = event_store::history(conn, order_id).await?;
        to_proto(delivery, &history)
    }

    /// Each with its history, as `GetStatus` answers, unless the read mask leaves it out: two
    /// queries for the whole batch, one without the histories.
    async fn batch_get(
        &self,
        request: BatchGetStatusRequest,
    ) -> Result<BatchGetStatusResponse, Error> {
        let wanted = batch::parse_ids("order_ids", &request.order_ids)?;
        let read = ReadMask::of::<pb::Delivery>(request.read_mask.as_ref())
            .map_err(|reason| InvalidField::new("read_mask", reason))?;
        let mut conn = self.deliveries.pool().get().await?;
        let found = db::load_many(&mut conn, &wanted).await?;
        let (found, missing) = batch::in_request_order(&wanted, found, |d| d.order_id);
        let events = if read.reads("history") {
            let ids: Vec<Uuid> = found.iter().map(|delivery| delivery.order_id).collect();
            event_store::histories(&mut conn, &ids).await?
        } else {
            Vec::new()
        };
        let mut histories: HashMap<Uuid, &[StoredEvent]> = events
            .chunk_by(|a, b| a.aggregate_id == b.aggregate_id)
            .map(|history| (history[0].aggregate_id, history))
            .collect();
        Ok(BatchGetStatusResponse {
            deliveries: found
                .into_iter()
                .map(|delivery| {
                    let history = histories.remove(&delivery.order_id).unwrap_or_default();
                    to_proto(delivery, history)
                })
                .collect::<Result<_, _>>()?,
            missing_order_ids: missing.iter().map(Uuid::to_string).collect(),
        })
    }

    async fn get(&self, order_id: &str) -> Result<pb::Delivery, Error> {
        let order_id = parse_order_id(order_id)?;
        let mut conn = self.deliveries.pool().get().await?;
        self.load_with_history(&mut conn, order_id).await
    }

    async fn update(&self, request: UpdateStatusRequest) -> Result<pb::Delivery, Error> {
        let order_id = parse_order_id(&request.order_id)?;
        let to = pb::DeliveryStatus::try_from(request.status)
            .ok()
            .and_then(status_from_proto)
            .ok_or_else(|| {
                InvalidField::new(
                    "status",
                    "must be one of PENDING, ASSIGNED, PICKED_UP, IN_TRANSIT, DELIVERED, FAILED",
                )
            })?;
        // Their lengths are the contract's rules (`proto/delivery.proto`).
        let courier = TextRule::LINE.optional("courier", request.courier.as_deref())?;
        let note = TextRule::FREE.optional("note", request.note.as_deref())?;
        let reassign = request.reassign;

        let moved = self
            .deliveries
            .handle(order_id, None, |delivery| -> Result<_, Error> {
                let delivery = delivery.ok_or(Error::NotFound(order_id))?;
                Ok(delivery.move_to(to, courier.as_deref(), note.as_deref(), reassign)?)
            })
            .await?;
        if moved.appended.is_some() {
            tracing::info!(%order_id, status = %to, "delivery moved");
        }
        let delivery = moved.aggregate.ok_or(Error::NotFound(order_id))?;
        // The answer carries the whole history; the delivery itself is the one just written.
        let mut conn = self.deliveries.pool().get().await?;
        let history = event_store::history(&mut conn, order_id).await?;
        to_proto(delivery, &history)
    }
}
