//! The transaction a consumer's batch shares. While a lane applies a batch of records, the
//! effects their handlers write ([`crate::aggregate::Aggregates`], [`crate::consumer::apply_once`])
//! join one transaction instead of opening one each: a batch costs one `BEGIN`, one `COMMIT` and
//! one WAL flush however many records it holds, and every claim commits with its effect as
//! before. The unit is carried for the handlers in a task-local, as the request id is, so a
//! handler is written as if it applied one record.
//!
//! Any error inside a unit spoils it (PostgreSQL refuses every statement after a failed one, and
//! a conflict the command would have shrugged off alone has aborted the batch's transaction):
//! the consumer rolls it back and applies the records again in smaller pieces, the failing one
//! alone, so it is retried or dead-lettered exactly as without batching.
//!
//! The claims of a batch are written together too: the first claim of an event type in a unit
//! claims every event of that type in the batch in one statement ([`claim`]), and the others
//! are answered from what it inserted.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex as SyncMutex,
        atomic::{AtomicBool, Ordering},
    },
};

use diesel::result::Error as DieselError;
use diesel_async::{
    AsyncConnection, AsyncPgConnection, TransactionManager,
    pooled_connection::bb8::PooledConnection, scoped_futures::ScopedBoxFuture,
};
use mesh_kit::{StoreError, db::PgPool};

use crate::{event_store, relay::OutboxSignal};

tokio::task_local! {
    static UNIT: Arc<Unit>;
}

type Manager = <AsyncPgConnection as AsyncConnection>::TransactionManager;

/// One open transaction, shared by the records of a batch.
pub(crate) struct Unit {
    conn: tokio::sync::Mutex<PooledConnection<'static, AsyncPgConnection>>,
    /// Something failed inside: the transaction can only be rolled back.
    spoiled: AtomicBool,
    /// Relays to wake once the batch's events are committed.
    wake: SyncMutex<Vec<OutboxSignal>>,
    claims: SyncMutex<Claims>,
}

/// The batch's events and what was claimed of them ahead of their handlers.
#[derive(Default)]
struct Claims {
    /// Id and type of each event of the batch a handler may claim.
    batch: Vec<(String, String)>,
    /// (consumer, event type): claimed ahead for every event of that type in the batch.
    ahead: HashSet<(String, String)>,
    /// (consumer, event id): claimed ahead and new, not answered yet.
    fresh: HashSet<(String, String)>,
}

/// What a claim inside a unit needs.
enum Plan {
    /// The event is not the batch's: claim it alone.
    Alone,
    /// Its type was claimed ahead: the answer.
    Known(bool),
    /// Claim these events of its type now, together.
    Ahead(String, Vec<String>),
}

/// Records that `consumer` applied `event_id` (see [`event_store::claim`]), on `conn`, the
/// connection of the transaction the effect is written in. Inside a batch, the first claim of an
/// event type claims that type's events of the whole batch in one statement.
pub(crate) async fn claim(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    event_id: &str,
) -> Result<bool, DieselError> {
    let Ok(unit) = UNIT.try_with(Arc::clone) else {
        return event_store::claim(conn, consumer, event_id).await;
    };
    let plan = match unit.claims.lock() {
        Ok(mut claims) => claims.plan(consumer, event_id),
        Err(_) => Plan::Alone,
    };
    match plan {
        Plan::Alone => event_store::claim(conn, consumer, event_id).await,
        Plan::Known(fresh) => Ok(fresh),
        Plan::Ahead(event_type, ids) => {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let fresh = event_store::claim_all(conn, consumer, &ids).await?;
            let mut claims = unit
                .claims
                .lock()
                .map_err(|_| DieselError::RollbackTransaction)?;
            claims.ahead.insert((consumer.to_owned(), event_type));
            claims
                .fresh
                .extend(fresh.into_iter().map(|id| (consumer.to_owned(), id)));
            Ok(claims
                .fresh
                .remove(&(consumer.to_owned(), event_id.to_owned())))
        }
    }
}

impl Claims {
    fn plan(&mut self, consumer: &str, event_id: &str) -> Plan {
        let Some((_, event_type)) = self.batch.iter().find(|(id, _)| id == event_id) else {
            return Plan::Alone;
        };
        let pair = (consumer.to_owned(), event_type.clone());
        if self.ahead.contains(&pair) {
            return Plan::Known(
                self.fresh
                    .remove(&(consumer.to_owned(), event_id.to_owned())),
            );
        }
        let mut ids: Vec<String> = self
            .batch
            .iter()
            .filter(|(_, other)| other == event_type)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Plan::Ahead(pair.1, ids)
    }
}

/// Runs `body` in the current batch's transaction when there is one, else in a transaction of
/// its own on a connection from `pool`.
pub(crate) async fn transaction<'a, T, E, F>(pool: &PgPool, body: F) -> Result<T, E>
where
    F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> ScopedBoxFuture<'a, 'r, Result<T, E>>
        + Send
        + 'a,
    T: Send + 'a,
    E: From<DieselError> + From<StoreError> + Send + 'a,
{
    match UNIT.try_with(Arc::clone) {
        Ok(unit) => unit.join(body).await,
        Err(_) => {
            let mut conn = pool.get().await.map_err(StoreError::from)?;
            (*conn).transaction(body).await
        }
    }
}

/// Wakes the relay `signal` stands for once what was just appended is committed: now, or when
/// the current batch commits.
pub(crate) fn wake(signal: &OutboxSignal) {
    let deferred = UNIT.try_with(|unit| {
        if let Ok(mut wake) = unit.wake.lock() {
            wake.push(signal.clone());
        }
    });
    if deferred.is_err() {
        signal.notify();
    }
}

impl Unit {
    /// Opens a transaction on a connection of its own from `pool`.
    pub(crate) async fn begin(pool: &PgPool) -> Result<Arc<Self>, StoreError> {
        let mut conn = pool.get_owned().await.map_err(StoreError::from)?;
        Manager::begin_transaction(&mut *conn).await?;
        Ok(Arc::new(Self {
            conn: tokio::sync::Mutex::new(conn),
            spoiled: AtomicBool::new(false),
            wake: SyncMutex::new(Vec::new()),
            claims: SyncMutex::new(Claims::default()),
        }))
    }

    /// The batch's events (id and type) its handlers may claim: see [`claim`].
    pub(crate) fn expect_claims(&self, events: impl IntoIterator<Item = (String, String)>) {
        if let Ok(mut claims) = self.claims.lock() {
            claims.batch.extend(events);
        }
    }

    /// Runs `work` with this unit as the one its effects join.
    pub(crate) async fn scope<F: Future>(self: &Arc<Self>, work: F) -> F::Output {
        UNIT.scope(Arc::clone(self), work).await
    }

    /// Whether something inside failed, so that only a rollback is left.
    pub(crate) fn spoiled(&self) -> bool {
        self.spoiled.load(Ordering::Acquire)
    }

    /// Commits, then wakes the relays of what it appended. A spoiled unit is rolled back and
    /// answers an error.
    pub(crate) async fn commit(&self) -> Result<(), DieselError> {
        if self.spoiled() {
            self.rollback().await;
            return Err(DieselError::RollbackTransaction);
        }
        let mut conn = self.conn.lock().await;
        Manager::commit_transaction(&mut **conn).await?;
        let signals = self
            .wake
            .lock()
            .map(|mut wake| std::mem::take(&mut *wake))
            .unwrap_or_default();
        for signal in signals {
            signal.notify();
        }
        Ok(())
    }

    /// Throws away what it wrote. A connection whose rollback fails is left in its transaction,
    /// which the pool takes as broken and closes.
    pub(crate) async fn rollback(&self) {
        let mut conn = self.conn.lock().await;
        if let Err(err) = Manager::rollback_transaction(&mut **conn).await {
            tracing::warn!(error = %err, "cannot roll a batch back");
        }
    }

    async fn join<'a, T, E, F>(&self, body: F) -> Result<T, E>
    where
        F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> ScopedBoxFuture<'a, 'r, Result<T, E>>
            + Send
            + 'a,
        E: From<DieselError>,
    {
        if self.spoiled() {
            return Err(DieselError::RollbackTransaction.into());
        }
        let mut conn = self.conn.lock().await;
        let result = body(&mut conn).await;
        if result.is_err() {
            self.spoiled.store(true, Ordering::Release);
        }
        result
    }
}
