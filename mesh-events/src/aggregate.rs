//! The event-sourcing core every event-sourced service uses the same way: an [`Aggregate`] is
//! the fold of its events, a [`Projection`] is the read model kept beside them, and
//!
//! - [`Aggregates::handle`] is the one command path: every command and every consumed event
//!   that changes an aggregate goes through it ([`Aggregates::start`] for one that can only
//!   begin an aggregate) (claim, lock, load, decide, append with the
//!   outbox row, project, commit, wake the relay), and it answers with the aggregate as it now
//!   is and the event it appended, so nobody reads them back. The aggregate is loaded from its
//!   projection row (the snapshot), never by decoding its history; the projection's times are
//!   the stored event's, as a rebuild would make them;
//! - [`load`] folds an aggregate from its events;
//! - [`rebuild`] throws the projection away and writes it again from the event table, so the
//!   read model is provably nothing but the fold of the events (each service's
//!   `rebuild-projection` command, and the tests that compare the rebuilt rows with the live ones).
//!
//! Services implement the two traits where prost types may live (their `events.rs`); the
//! domain's `apply` stays pure.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use diesel::result::Error as DieselError;
use diesel_async::{
    AsyncConnection, AsyncPgConnection,
    scoped_futures::{ScopedBoxFuture, ScopedFutureExt},
};
use mesh_kit::{StoreError, db::PgPool};
use mesh_proto::json::JsonError;
use uuid::Uuid;

use crate::{
    event_store::{self, AppendError, EventPayload, NewEvent, StoredEvent},
    relay::OutboxSignal,
    unit,
};

/// Something whose state is the fold of its events.
pub trait Aggregate: Sized + Send + Sync {
    /// What can happen to it: the domain's event type.
    type Event: std::fmt::Debug + Send + Sync;

    /// The logical topic its events are published on.
    const TOPIC: &'static str;

    fn id(&self) -> Uuid;

    /// The sequence of its last event; the next one takes `version() + 1`.
    fn version(&self) -> i64;

    /// The aggregate its first event makes, `None` when `event` cannot start a stream.
    fn create(id: Uuid, event: &Self::Event, at: DateTime<Utc>) -> Option<Self>;

    /// Moves it on by one event that happened (its version included). Events are facts: this
    /// never fails.
    fn apply(&mut self, event: &Self::Event, at: DateTime<Utc>);

    /// `event` as it is stored and published; `before` is the aggregate before it (`None` for
    /// the first event).
    fn encode(
        id: Uuid,
        before: Option<&Self>,
        event: &Self::Event,
    ) -> Result<EventPayload, JsonError>;

    /// A stored event back as the domain's (upcast to the current schema by
    /// [`StoredEvent::decode`]).
    fn decode(stored: &StoredEvent) -> Result<Self::Event, JsonError>;

    /// The record key of its events: the id, so every event of one aggregate lands on one
    /// partition, in order.
    fn key(id: Uuid) -> String {
        id.to_string()
    }
}

/// A read model of an aggregate: rows the queries read, written in the events' transaction.
pub trait Projection: Send + Sync + 'static {
    type Aggregate: Aggregate;

    /// Writes a new aggregate's rows.
    fn insert(
        conn: &mut AsyncPgConnection,
        aggregate: &Self::Aggregate,
    ) -> impl Future<Output = Result<(), DieselError>> + Send;

    /// The aggregate as its rows hold it, its row locked for the rest of the transaction
    /// (`FOR UPDATE`): the snapshot a command decides on, read without decoding its history.
    fn lock(
        conn: &mut AsyncPgConnection,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Self::Aggregate>, DieselError>> + Send;

    /// Writes an aggregate's state after an event.
    fn update(
        conn: &mut AsyncPgConnection,
        aggregate: &Self::Aggregate,
    ) -> impl Future<Output = Result<(), DieselError>> + Send;

    /// Deletes every row: the first step of a rebuild.
    fn clear(conn: &mut AsyncPgConnection) -> impl Future<Output = Result<(), DieselError>> + Send;
}

/// The one command path of an event-sourced service, for the aggregates projection `P` keeps.
pub struct Aggregates<P> {
    pool: PgPool,
    signal: OutboxSignal,
    projection: PhantomData<fn() -> P>,
}

impl<P> Clone for Aggregates<P> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            signal: self.signal.clone(),
            projection: PhantomData,
        }
    }
}

/// A consumed event that a change applies, at most once for its consumer.
#[derive(Clone, Copy, Debug)]
pub struct Once<'a> {
    pub consumer: &'a str,
    pub event_id: &'a str,
}

/// What [`Aggregates::handle`] did.
#[derive(Debug)]
pub struct Handled<A> {
    /// The aggregate after the command; `None` when it has no events (and got none), or when
    /// the consumed event had been applied before (nothing was loaded).
    pub aggregate: Option<A>,
    /// The event appended; `None` when the domain decided nothing, or the consumed event had
    /// been applied before.
    pub appended: Option<StoredEvent>,
}

/// The domain's choice for a command: the event to append, if any.
pub type Decided<A, E> = Result<Option<<A as Aggregate>::Event>, E>;

impl<P: Projection> Aggregates<P> {
    /// Commands on `pool`'s aggregates; `signal` wakes the relay after each commit that
    /// appended.
    pub fn new(pool: PgPool, signal: OutboxSignal) -> Self {
        Self {
            pool,
            signal,
            projection: PhantomData,
        }
    }

    /// The pool the aggregates live in, for reads.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs one command on aggregate `id`, in one transaction: claims `once` (a redelivered
    /// event changes nothing), locks and loads the aggregate (`None`: it has no events yet),
    /// lets `decide` pick the event to append (`None`: nothing), appends it with its outbox row,
    /// inserts or updates the projection, commits, and wakes the relay.
    pub async fn handle<'a, E>(
        &self,
        id: Uuid,
        once: Option<Once<'a>>,
        decide: impl FnOnce(Option<&P::Aggregate>) -> Decided<P::Aggregate, E> + Send + 'a,
    ) -> Result<Handled<P::Aggregate>, E>
    where
        E: From<AppendError> + From<DieselError> + From<StoreError> + Send + 'a,
    {
        self.handle_with(id, once, decide, |_conn, _aggregate| {
            async { Ok(()) }.scope_boxed()
        })
        .await
    }

    /// Starts aggregate `id` with its first event, in one transaction with the claim of
    /// `once`. Nothing is loaded, since a new aggregate has nothing to load: one that exists
    /// already takes sequence 1, so the append conflicts, and the answer is that nothing was
    /// appended (the effect is there: a redelivered event changes nothing either way).
    pub async fn start<'a, E>(
        &self,
        id: Uuid,
        once: Option<Once<'a>>,
        event: <P::Aggregate as Aggregate>::Event,
    ) -> Result<Handled<P::Aggregate>, E>
    where
        E: From<AppendError> + From<DieselError> + From<StoreError> + Send + 'a,
    {
        self.start_with(id, once, event, |_conn, _aggregate| {
            async { Ok(()) }.scope_boxed()
        })
        .await
    }

    /// [`Aggregates::start`], with `also` written in the same transaction after the append (a
    /// row the command keeps beside the aggregate, such as an idempotency key).
    pub async fn start_with<'a, E, W>(
        &self,
        id: Uuid,
        once: Option<Once<'a>>,
        event: <P::Aggregate as Aggregate>::Event,
        also: W,
    ) -> Result<Handled<P::Aggregate>, E>
    where
        E: From<AppendError> + From<DieselError> + From<StoreError> + Send + 'a,
        W: for<'r> FnOnce(
                &'r mut AsyncPgConnection,
                &'r P::Aggregate,
            ) -> ScopedBoxFuture<'a, 'r, Result<(), E>>
            + Send
            + 'a,
    {
        let started = unit::transaction::<_, Starting<E>, _>(&self.pool, |conn| {
            async move {
                if let Some(once) = once
                    && !unit::claim(conn, once.consumer, once.event_id).await?
                {
                    return Ok(None);
                }
                let (aggregate, stored) = match create::<P>(conn, id, &event).await {
                    Ok(created) => created,
                    Err(AppendError::Conflict { sequence: 1, .. }) => return Err(Starting::Exists),
                    Err(err) => return Err(Starting::Failed(err.into())),
                };
                also(conn, &aggregate).await.map_err(Starting::Failed)?;
                Ok(Some((aggregate, stored)))
            }
            .scope_boxed()
        })
        .await;
        match started {
            Ok(Some((aggregate, stored))) => {
                unit::wake(&self.signal);
                Ok(Handled {
                    aggregate: Some(aggregate),
                    appended: Some(stored),
                })
            }
            Ok(None) | Err(Starting::Exists) => Ok(Handled {
                aggregate: None,
                appended: None,
            }),
            Err(Starting::Failed(err)) => Err(err),
        }
    }

    /// [`Aggregates::handle`], with `also` written in the same transaction after an append (a
    /// row the command keeps beside the aggregate, such as an idempotency key).
    pub async fn handle_with<'a, E, W>(
        &self,
        id: Uuid,
        once: Option<Once<'a>>,
        decide: impl FnOnce(Option<&P::Aggregate>) -> Decided<P::Aggregate, E> + Send + 'a,
        also: W,
    ) -> Result<Handled<P::Aggregate>, E>
    where
        E: From<AppendError> + From<DieselError> + From<StoreError> + Send + 'a,
        W: for<'r> FnOnce(
                &'r mut AsyncPgConnection,
                &'r P::Aggregate,
            ) -> ScopedBoxFuture<'a, 'r, Result<(), E>>
            + Send
            + 'a,
    {
        let handled = unit::transaction::<Handled<P::Aggregate>, E, _>(&self.pool, |conn| {
            async move {
                if let Some(once) = once
                    && !unit::claim(conn, once.consumer, once.event_id).await?
                {
                    return Ok(Handled {
                        aggregate: None,
                        appended: None,
                    });
                }
                let current = P::lock(conn, id).await?;
                let Some(event) = decide(current.as_ref())? else {
                    return Ok(Handled {
                        aggregate: current,
                        appended: None,
                    });
                };
                let (aggregate, stored) = match current {
                    None => create::<P>(conn, id, &event).await?,
                    Some(mut aggregate) => {
                        let stored = record::<P>(conn, &mut aggregate, &event).await?;
                        (aggregate, stored)
                    }
                };
                also(conn, &aggregate).await?;
                Ok(Handled {
                    aggregate: Some(aggregate),
                    appended: Some(stored),
                })
            }
            .scope_boxed()
        })
        .await?;
        if handled.appended.is_some() {
            unit::wake(&self.signal);
        }
        Ok(handled)
    }
}

/// How [`Aggregates::start`]'s transaction ended when it appended nothing: the aggregate
/// existed already (its transaction is rolled back, and with it the claim, which the effect
/// already there makes harmless), or something failed.
enum Starting<E> {
    Exists,
    Failed(E),
}

impl<E: From<DieselError>> From<DieselError> for Starting<E> {
    fn from(err: DieselError) -> Self {
        Self::Failed(err.into())
    }
}

impl<E: From<StoreError>> From<StoreError> for Starting<E> {
    fn from(err: StoreError) -> Self {
        Self::Failed(err.into())
    }
}

/// Why an aggregate could not be loaded from its events.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("aggregate {aggregate_id}: {reason}")]
    Corrupt { aggregate_id: Uuid, reason: String },
    #[error(transparent)]
    Decode(#[from] JsonError),
    #[error(transparent)]
    Store(#[from] DieselError),
}

/// Appends the first event of a new aggregate and inserts its projection, in the caller's
/// transaction. The aggregate's times are the stored event's, as a rebuild would make them.
async fn create<P: Projection>(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    event: &<P::Aggregate as Aggregate>::Event,
) -> Result<(P::Aggregate, StoredEvent), AppendError> {
    let payload = P::Aggregate::encode(id, None, event)?;
    let key = P::Aggregate::key(id);
    let stored = event_store::append(
        conn,
        NewEvent {
            aggregate_id: id,
            sequence: 1,
            topic: P::Aggregate::TOPIC,
            key: &key,
            payload,
        },
    )
    .await?;
    let aggregate = P::Aggregate::create(id, event, stored.occurred_at)
        .ok_or_else(|| AppendError::NotAStart(format!("{event:?} cannot start a stream")))?;
    P::insert(conn, &aggregate).await?;
    Ok((aggregate, stored))
}

/// Appends `event` to `aggregate`'s stream, applies it and updates the projection, in the
/// caller's transaction. A concurrent writer that appended first makes this fail with
/// [`AppendError::Conflict`].
async fn record<P: Projection>(
    conn: &mut AsyncPgConnection,
    aggregate: &mut P::Aggregate,
    event: &<P::Aggregate as Aggregate>::Event,
) -> Result<StoredEvent, AppendError> {
    let id = aggregate.id();
    let payload = P::Aggregate::encode(id, Some(aggregate), event)?;
    let key = P::Aggregate::key(id);
    let stored = event_store::append(
        conn,
        NewEvent {
            aggregate_id: id,
            sequence: aggregate.version() + 1,
            topic: P::Aggregate::TOPIC,
            key: &key,
            payload,
        },
    )
    .await?;
    aggregate.apply(event, stored.occurred_at);
    P::update(conn, aggregate).await?;
    Ok(stored)
}

/// Folds a stream of stored events (oldest first) into its aggregate.
pub fn fold<'a, A: Aggregate>(
    id: Uuid,
    history: impl IntoIterator<Item = &'a StoredEvent>,
) -> Result<Option<A>, LoadError> {
    let mut aggregate: Option<A> = None;
    for stored in history {
        let event = A::decode(stored)?;
        match &mut aggregate {
            None => {
                aggregate = Some(A::create(id, &event, stored.occurred_at).ok_or_else(|| {
                    LoadError::Corrupt {
                        aggregate_id: id,
                        reason: format!("its first event, {event:?}, does not start a stream"),
                    }
                })?);
            }
            Some(aggregate) => aggregate.apply(&event, stored.occurred_at),
        }
    }
    Ok(aggregate)
}

/// The aggregate as its events make it, `None` when it has none.
pub async fn load<A: Aggregate>(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<A>, LoadError> {
    let history = event_store::history(conn, id).await?;
    fold(id, &history)
}

/// Aggregates folded and written per round of a rebuild.
const REBUILD_PAGE: i64 = 500;

/// Deletes the projection and writes it again from every event in the store (a service's
/// event table holds the events of its one aggregate type), in one transaction: readers see the old rows or the new ones, never half. Returns how many
/// aggregates it wrote.
pub async fn rebuild<P: Projection>(conn: &mut AsyncPgConnection) -> Result<u64, LoadError> {
    conn.transaction::<u64, LoadError, _>(|conn| {
        async move {
            P::clear(conn).await?;
            let mut written = 0;
            let mut after = None;
            loop {
                let ids = event_store::aggregate_ids(conn, after, REBUILD_PAGE).await?;
                let Some(last) = ids.last().copied() else {
                    break;
                };
                let events = event_store::histories(conn, &ids).await?;
                // Sorted by aggregate, then sequence: each run is one aggregate's history.
                for history in events.chunk_by(|a, b| a.aggregate_id == b.aggregate_id) {
                    let id = history[0].aggregate_id;
                    if let Some(aggregate) = fold::<P::Aggregate>(id, history)? {
                        P::insert(conn, &aggregate).await?;
                        written += 1;
                    }
                }
                after = Some(last);
            }
            Ok(written)
        }
        .scope_boxed()
    })
    .await
}
