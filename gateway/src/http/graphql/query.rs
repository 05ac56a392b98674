//! The reads that decide on data (whose order, whose billing), and the federation entity resolvers (`_entities`) for the types other subgraphs may
//! reference: `MenuItem`, `Movie` and `Order`, each by `id`.

use async_graphql::{
    Context, ErrorExtensions, ID, Object, OutputType, Result,
    connection::{Connection, Edge},
};

use mesh_proto::{order::v1 as pb, read_mask::ReadMask};

use super::{Loaders, backends, caller, derived::integer_id, look_ahead};
use crate::{
    auth,
    contract::{Delivery, MenuItem, Movie, Order, Payment},
    error::{ApiError, ErrorCode},
    model::{BillingOrder, Page},
};

#[derive(Default)]
pub struct QueryRoot;

/// A backend's page as a Relay connection. Paging only goes forward, so there is an earlier
/// page exactly when the client asked for one `after` a cursor.
fn connection<T: OutputType>(page: Page<T>, after: bool) -> Connection<String, T> {
    let mut connection = Connection::new(after, page.next_page_token.is_some());
    let mut cursors = page.cursors.into_iter();
    connection.edges = page
        .items
        .into_iter()
        .map(|node| Edge::new(cursors.next().unwrap_or_default(), node))
        .collect();
    connection
}

#[Object]
impl QueryRoot {
    /// One order with its history; a NOT_FOUND error when there is none (or it is someone
    /// else's).
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        let backends = backends(ctx);
        // The history and the lines are loaded only when the query selects them.
        let read = look_ahead::read_mask::<pb::Order>(ctx, &auth::OWNERSHIP);
        auth::order_for(caller(ctx), backends, &id, &read)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// An order's delivery; a NOT_FOUND error until the order is paid.
    async fn delivery(&self, ctx: &Context<'_>, order_id: ID) -> Result<Option<Delivery>> {
        let backends = backends(ctx);
        auth::delivery_for(caller(ctx), backends, &order_id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// An order's payment; a NOT_FOUND error until billing has handled the order.
    async fn payment(&self, ctx: &Context<'_>, order_id: ID) -> Result<Option<Payment>> {
        let backends = backends(ctx);
        auth::payment_for(caller(ctx), backends, &order_id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// A billing order stored by billing-service; a NOT_FOUND error while it is still queued.
    async fn billing_order(
        &self,
        ctx: &Context<'_>,
        request_id: ID,
    ) -> Result<Option<BillingOrder>> {
        let backends = backends(ctx);
        auth::billing_order_for(caller(ctx), backends, &request_id)
            .await
            .map(Some)
            .map_err(|e| e.extend())
    }

    /// A user's stored billing orders, oldest first, a page at a time (a Relay connection).
    async fn billing_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose orders: yours when omitted; an admin names the user.")]
        user_id: Option<i64>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the edge to continue after (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<Connection<String, BillingOrder>> {
        let backends = backends(ctx);
        let user_id = auth::billing_user_for(caller(ctx), user_id).map_err(|e| e.extend())?;
        let paged = after.is_some();
        backends
            .billing_orders(user_id, first, after)
            .await
            .map(|page| connection(page, paged))
            .map_err(|e| e.extend())
    }

    // === Federation entities ===
    //
    // `_entities(representations: [{__typename, id}])` lands here, one call per representation;
    // menu items go through the request's batch loader, so a router asking for fifty items
    // makes one call to menu-service.

    #[graphql(entity)]
    async fn find_menu_item_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<MenuItem> {
        ctx.data::<Loaders>()?
            .menu_item(&id)
            .await
            .map_err(|err| err.extend())?
            .ok_or_else(|| {
                ApiError::new(ErrorCode::NotFound, format!("no menu item {}", id.as_str())).extend()
            })
    }

    #[graphql(entity)]
    async fn find_movie_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Movie> {
        let backends = backends(ctx);
        let id = integer_id("id", &id)?;
        backends.movie(id).await.map_err(|e| e.extend())
    }

    #[graphql(entity)]
    async fn find_order_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Order> {
        let backends = backends(ctx);
        auth::order_for(caller(ctx), backends, &id, &ReadMask::all())
            .await
            .map_err(|e| e.extend())
    }
}
