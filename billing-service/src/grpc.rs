//! `mesh.billing.v1.BillingService`: proto in, domain through, proto out.

use mesh_kit::{InvalidField, batch, db::PgPool};
use mesh_proto::billing::v1::{
    self as pb, BatchGetPaymentsRequest, BatchGetPaymentsResponse, GetBillingOrderRequest,
    GetPaymentRequest, ListBillingOrdersRequest, ListBillingOrdersResponse,
    ReserveRequestIdRequest, ReserveRequestIdResponse, billing_service_server::BillingService,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    db::{self, Reservation},
    domain::{self, BillingOrder, NewBillingOrder, PageToken, Payment, PaymentStatus},
    error::Error,
};

/// The gRPC face of billing.
#[derive(Clone)]
pub struct BillingApi {
    pool: PgPool,
}

impl BillingApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

fn parse_uuid(field: &'static str, raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw.trim()).map_err(|_| InvalidField::new(field, "must be a UUID").into())
}

fn payment_to_proto(payment: Payment) -> pb::Payment {
    pb::Payment {
        order_id: payment.order_id.to_string(),
        status: match payment.status {
            PaymentStatus::Captured => pb::PaymentStatus::Captured,
            PaymentStatus::Declined => pb::PaymentStatus::Declined,
        }
        .into(),
        amount_cents: payment.amount_cents,
        currency: payment.currency,
        decline_reason: payment.decline_reason,
        created_at: Some(mesh_proto::timestamp(payment.created_at)),
    }
}

fn order_to_proto(order: BillingOrder) -> pb::BillingOrder {
    pb::BillingOrder {
        id: order.id,
        request_id: order.request_id.to_string(),
        user_id: order.user_id,
        number_of_items: order.number_of_items,
        total_amount_cents: order.total_amount_cents,
        receive_time: Some(mesh_proto::timestamp(order.received_at)),
        process_time: Some(mesh_proto::timestamp(order.processed_at)),
    }
}

#[tonic::async_trait]
impl BillingService for BillingApi {
    #[tracing::instrument(skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn get_payment(
        &self,
        request: Request<GetPaymentRequest>,
    ) -> Result<Response<pb::Payment>, Status> {
        reply(self.payment(&request.into_inner().order_id).await)
    }

    #[tracing::instrument(skip_all, fields(ids = request.get_ref().order_ids.len()))]
    async fn batch_get_payments(
        &self,
        request: Request<BatchGetPaymentsRequest>,
    ) -> Result<Response<BatchGetPaymentsResponse>, Status> {
        reply(self.payments(&request.into_inner().order_ids).await)
    }

    #[tracing::instrument(skip_all, fields(billing_request = %request.get_ref().request_id))]
    async fn get_billing_order(
        &self,
        request: Request<GetBillingOrderRequest>,
    ) -> Result<Response<pb::BillingOrder>, Status> {
        reply(self.billing_order(&request.into_inner().request_id).await)
    }

    #[tracing::instrument(skip_all, fields(user_id = request.get_ref().user_id))]
    async fn list_billing_orders(
        &self,
        request: Request<ListBillingOrdersRequest>,
    ) -> Result<Response<ListBillingOrdersResponse>, Status> {
        reply(self.list(request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(billing_request = %request.get_ref().request_id))]
    async fn reserve_request_id(
        &self,
        request: Request<ReserveRequestIdRequest>,
    ) -> Result<Response<ReserveRequestIdResponse>, Status> {
        reply(self.reserve(request.into_inner()).await)
    }
}

// === impl BillingApi ===

impl BillingApi {
    async fn payment(&self, order_id: &str) -> Result<pb::Payment, Error> {
        let order_id = parse_uuid("order_id", order_id)?;
        let mut conn = self.pool.get().await?;
        let payment = db::payment(&mut conn, order_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no payment for order {order_id} yet")))?;
        Ok(payment_to_proto(payment))
    }

    async fn payments(&self, order_ids: &[String]) -> Result<BatchGetPaymentsResponse, Error> {
        let wanted = batch::parse_ids("order_ids", order_ids)?;
        let mut conn = self.pool.get().await?;
        let found = db::payments_of(&mut conn, &wanted).await?;
        let (found, missing) = batch::in_request_order(&wanted, found, |p| p.order_id);
        Ok(BatchGetPaymentsResponse {
            payments: found.into_iter().map(payment_to_proto).collect(),
            missing_order_ids: missing.iter().map(Uuid::to_string).collect(),
        })
    }

    async fn billing_order(&self, request_id: &str) -> Result<pb::BillingOrder, Error> {
        let request_id = parse_uuid("request_id", request_id)?;
        let mut conn = self.pool.get().await?;
        let order = db::billing_order(&mut conn, request_id)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!("no billing order for request {request_id} (yet)"))
            })?;
        Ok(order_to_proto(order))
    }

    async fn reserve(
        &self,
        request: ReserveRequestIdRequest,
    ) -> Result<ReserveRequestIdResponse, Error> {
        let order = NewBillingOrder::parse(
            &request.request_id,
            request.user_id,
            request.number_of_items,
            request.total_amount_cents,
            None,
        )?;
        let mut conn = self.pool.get().await?;
        match db::reserve_request_id(&mut conn, &order).await? {
            Reservation::First => Ok(ReserveRequestIdResponse { first_use: true }),
            Reservation::Retry => Ok(ReserveRequestIdResponse { first_use: false }),
            Reservation::Taken => Err(Error::AlreadyExists(format!(
                "request id {} is reserved for a different billing request",
                order.request_id
            ))),
        }
    }

    async fn list(
        &self,
        request: ListBillingOrdersRequest,
    ) -> Result<ListBillingOrdersResponse, Error> {
        let limit = domain::page_size(request.page_size);
        let after = PageToken::parse(&request.page_token)?;
        let mut conn = self.pool.get().await?;
        let mut orders = db::billing_orders_of(&mut conn, request.user_id, after, limit).await?;
        let more = orders.len() as i64 > limit;
        orders.truncate(limit as usize);
        let cursors: Vec<String> = orders
            .iter()
            .map(|order| PageToken { after_id: order.id }.encode())
            .collect();
        let next_page_token = match cursors.last() {
            Some(last) if more => last.clone(),
            _ => String::new(),
        };
        Ok(ListBillingOrdersResponse {
            orders: orders.into_iter().map(order_to_proto).collect(),
            next_page_token,
            cursors,
        })
    }
}
