//! `orderUpdates(orderId)`: every status change of an order and its delivery, as it happens.
//!
//! A subscription first replays the order's history (so a client that subscribes right after
//! placing an order misses nothing), then follows the live feed, skipping events it already
//! sent. It listens to the feed before reading the history, so no event falls between the two.

use std::{collections::HashSet, sync::Arc};

use async_graphql::{Context, ErrorExtensions, ID, Result, Subscription};
use futures::{Stream, StreamExt, stream};
use mesh_proto::read_mask::ReadMask;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::backends;
use crate::{
    error::{ApiError, ErrorCode},
    feed::OrderFeed,
    metrics::{Metrics, SubscriptionGuard},
    model::OrderUpdate,
    updates,
};

pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Status changes of one order and of its delivery: first those that already happened,
    /// then each new one as it happens.
    async fn order_updates(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
    ) -> Result<impl Stream<Item = Result<OrderUpdate>> + use<>> {
        let backends = backends(ctx);
        let live = ctx
            .data_unchecked::<OrderFeed>()
            .subscribe()
            .await
            .map_err(|err| ApiError::new(ErrorCode::Unavailable, err.to_string()).extend())?;
        let guard = ctx.data_unchecked::<Metrics>().subscription();

        let order = crate::auth::order_for(
            super::caller(ctx),
            backends,
            &order_id,
            // The backlog replays the events of its history.
            &ReadMask::fields(crate::auth::OWNERSHIP.into_iter().chain(["history"])),
        )
        .await
        .map_err(|e| e.extend())?;
        let delivery = match backends.delivery(&order_id).await {
            Ok(delivery) => Some(delivery),
            Err(err) if err.code == ErrorCode::NotFound => None,
            Err(err) => return Err(err.extend()),
        };
        // The same conversion as the live feed's, from the same events.
        let records = order
            .history
            .iter()
            .filter_map(|entry| entry.event.as_ref());
        let delivery_records = delivery
            .iter()
            .flat_map(|delivery| delivery.history.iter())
            .filter_map(|entry| entry.event.as_ref());
        let mut backlog: Vec<OrderUpdate> = records
            .chain(delivery_records)
            .filter_map(|record| updates::update(&updates::Event::from_record(record)))
            .collect();
        // Each history is in order; merged by time, an order and its delivery read as one story.
        backlog.sort_by_key(|update| update.occurred_at);

        let seen: HashSet<ID> = backlog.iter().map(|u| u.event_id.clone()).collect();
        let follow = Follow {
            live,
            seen,
            order_id: order.id,
            _guard: guard,
        };
        Ok(stream::iter(backlog.into_iter().map(Ok)).chain(stream::unfold(follow, Follow::next)))
    }
}

/// The live half of a subscription.
struct Follow {
    live: Receiver<Arc<OrderUpdate>>,
    seen: HashSet<ID>,
    order_id: ID,
    _guard: SubscriptionGuard,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<OrderUpdate>, Self)> {
        loop {
            match self.live.recv().await {
                Ok(update) if update.order_id == self.order_id => {
                    if self.seen.insert(update.event_id.clone()) {
                        return Some((Ok((*update).clone()), self));
                    }
                }
                Ok(_) => {}
                // Updates were dropped for this subscriber: say so and end, rather than
                // silently skip a step. The client resubscribes and gets the history again.
                Err(RecvError::Lagged(missed)) => {
                    let order_id = self.order_id.as_str();
                    tracing::warn!(missed, %order_id, "subscription fell behind");
                    let err = ApiError::new(
                        ErrorCode::Unavailable,
                        "updates were dropped because the subscription fell behind; subscribe again",
                    );
                    // Ending after the error: the unfold state is gone with `self`.
                    return Some((Err(err.extend()), self.closed()));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// A follower whose next poll ends the stream.
    fn closed(mut self) -> Self {
        let (sender, receiver) = tokio::sync::broadcast::channel(1);
        drop(sender);
        self.live = receiver;
        self
    }
}
