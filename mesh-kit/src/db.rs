//! One PostgreSQL database per service: created when missing, migrated at start, then pooled.

use std::{fmt::Write as _, sync::OnceLock, time::Duration};

use diesel::{
    ConnectionError, ConnectionResult, QueryableByName, connection::InstrumentationEvent,
    sql_types::Bool,
};
use diesel_async::{
    AsyncConnection, AsyncPgConnection, RunQueryDsl,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod, bb8},
};
pub use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use futures::FutureExt;

use crate::config::{DatabaseConfig, PgTls};

/// A service's connection pool.
pub type PgPool = bb8::Pool<AsyncPgConnection>;

/// Any advisory-lock key works as long as every service uses the same one: it serialises
/// migrations when several replicas of a service start at once.
const MIGRATION_LOCK_KEY: i64 = 0x6d65_7368; // "mesh"

/// Why a service could not get its database ready. Fatal at start.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot connect to PostgreSQL at {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("cannot create database {name}: {reason}")]
    Create { name: String, reason: String },
    #[error("migrations of database {name} failed: {reason}")]
    Migrate { name: String, reason: String },
}

/// Creates the database if missing, runs the pending migrations of each set in turn (the event
/// store's, then the service's own), and returns a pool on it.
pub async fn connect(
    config: &DatabaseConfig,
    migrations: &[&'static EmbeddedMigrations],
) -> Result<PgPool, DbSetupError> {
    ensure_database(config).await?;
    run_migrations(config, migrations).await?;
    let mut setup = ManagerConfig::default();
    // A checkout costs no statement: the library's default sends `SELECT 1` on every one, a
    // round trip per request (a quarter of a GraphQL order read's statements). A connection
    // whose server went away is still never handed out: its socket is closed, which the pool
    // sees without asking; a transaction left open marks it broken likewise.
    setup.recycling_method = RecyclingMethod::Fast;
    let tls = config.tls.clone();
    setup.custom_setup = Box::new(move |url| establish(url.to_owned(), tls.clone()).boxed());
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(config.url(), setup);
    bb8::Pool::builder()
        .max_size(config.pool_size)
        // A request waits at most this long for a connection, then fails as UNAVAILABLE
        // instead of piling up behind a dead server.
        .connection_timeout(Duration::from_secs(5))
        .build(manager)
        .await
        .map_err(|err| DbSetupError::Connect {
            server: crate::config::redact(&config.server_url),
            reason: err.to_string(),
        })
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

/// `CREATE DATABASE` when the service's database does not exist yet. Two replicas racing here
/// is fine: the loser sees the database exist and carries on.
pub async fn ensure_database(config: &DatabaseConfig) -> Result<(), DbSetupError> {
    let mut conn = establish(config.admin_url(), config.tls.clone())
        .await
        .map_err(|err| DbSetupError::Connect {
            server: crate::config::redact(&config.server_url),
            reason: err.to_string(),
        })?;
    let create_error = |reason: String| DbSetupError::Create {
        name: config.name.clone(),
        reason,
    };
    if database_exists(&mut conn, &config.name)
        .await
        .map_err(|err| create_error(err.to_string()))?
    {
        return Ok(());
    }
    // The name is a checked plain identifier (`DatabaseConfig::new`), so quoting it is enough;
    // CREATE DATABASE takes no bind parameters.
    let created = diesel::sql_query(format!("CREATE DATABASE \"{}\"", config.name))
        .execute(&mut conn)
        .await;
    match created {
        Ok(_) => {
            tracing::info!(database = %config.name, "created database");
            Ok(())
        }
        Err(err) => match database_exists(&mut conn, &config.name).await {
            Ok(true) => Ok(()),
            _ => Err(create_error(err.to_string())),
        },
    }
}

async fn database_exists(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<bool, diesel::result::Error> {
    let row: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(conn)
            .await?;
    Ok(row.exists)
}

/// One connection, over TLS when the settings ask for it, counting its statements.
async fn establish(url: String, tls: PgTls) -> ConnectionResult<AsyncPgConnection> {
    let mut conn = match tls {
        PgTls::Off => AsyncPgConnection::establish(&url).await?,
        PgTls::Verified(config) => {
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new((*config).clone());
            let (client, connection) = tokio_postgres::connect(&url, connector)
                .await
                .map_err(|err| ConnectionError::BadConnection(with_causes(&err)))?;
            AsyncPgConnection::try_from_client_and_connection(client, connection).await?
        }
    };
    conn.set_instrumentation(count_statement);
    Ok(conn)
}

/// Counts each statement a connection sent, a transaction's `BEGIN` and `COMMIT` included:
/// the round trips a request costs the database (`scripts/bench` reports them per order), by
/// kind, so that reads can be told from the writes of a command.
///
/// Counted as each one finishes (failed ones too), not as it starts: at the start diesel hands
/// over the query itself, and formatting it builds the whole SQL text and its binds (5 % of
/// order-service's instructions an order, callgrind); at the finish it hands over the text
/// already built, and the writer below copies its first bytes.
fn count_statement(event: InstrumentationEvent<'_>) {
    if let InstrumentationEvent::FinishQuery { query, .. } = event {
        let mut head = SqlHead::default();
        // Only the first word is wanted: the writer stops the formatting once it has it.
        let _ = write!(head, "{query}");
        if let Some(counter) = statement_counter(head.kind()) {
            counter.increment(1);
        }
    }
}

/// The counter of statements of `kind`, made once: `counter!` builds the label and looks its
/// key up in the recorder on every call (1.6k instructions a statement, callgrind). `None`
/// before the recorder is installed, when a handle made now would stay a no-op.
fn statement_counter(kind: StatementKind) -> Option<&'static metrics::Counter> {
    static COUNTERS: OnceLock<[metrics::Counter; 3]> = OnceLock::new();
    if !crate::metrics::installed() {
        return None;
    }
    let counters = COUNTERS.get_or_init(|| {
        StatementKind::ALL
            .map(|kind| metrics::counter!(crate::metrics::DB_STATEMENTS, "kind" => kind.label()))
    });
    Some(&counters[kind as usize])
}

/// What a statement does, as the `kind` label of `mesh_db_statements_total` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatementKind {
    Read,
    Write,
    Transaction,
}

impl StatementKind {
    /// Every kind, in the order of the discriminants.
    const ALL: [Self; 3] = [Self::Read, Self::Write, Self::Transaction];

    fn label(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Transaction => "transaction",
        }
    }
}

/// The first bytes of a statement's text, enough for its first keyword.
#[derive(Default)]
struct SqlHead {
    bytes: [u8; 12],
    len: usize,
}

impl std::fmt::Write for SqlHead {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let room = self.bytes.len() - self.len;
        let taken = text.len().min(room);
        self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
        self.len += taken;
        if taken < text.len() {
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

impl SqlHead {
    /// `read` (a `SELECT`, a locking one included), `transaction` (`BEGIN`, `COMMIT`, …) or
    /// `write` (anything else: `INSERT`, `UPDATE`, `DELETE`, a data-modifying `WITH`).
    fn kind(&self) -> StatementKind {
        // Compared in place: this runs for every statement, so nothing is allocated.
        let head = &self.bytes[..self.len];
        let start = head
            .iter()
            .position(|byte| !byte.is_ascii_whitespace())
            .unwrap_or(head.len());
        let rest = &head[start..];
        let end = rest
            .iter()
            .position(|byte| !byte.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword.as_bytes());
        if is("SELECT") {
            StatementKind::Read
        } else if [
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT",
            "RELEASE",
            "START",
        ]
        .into_iter()
        .any(is)
        {
            StatementKind::Transaction
        } else {
            StatementKind::Write
        }
    }
}

/// An error with the errors under it: tokio-postgres says only "error performing TLS
/// handshake", and the reason (an untrusted certificate, say) is its source.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Runs the embedded migrations on a blocking thread: diesel's migration harness is synchronous,
/// and `block_in_place` would panic on the single-threaded runtime tests use.
async fn run_migrations(
    config: &DatabaseConfig,
    migrations: &[&'static EmbeddedMigrations],
) -> Result<(), DbSetupError> {
    let migrations = migrations.to_vec();
    let migrate_error = |reason: String| DbSetupError::Migrate {
        name: config.name.clone(),
        reason,
    };
    let conn = establish(config.url(), config.tls.clone())
        .await
        .map_err(|err| migrate_error(err.to_string()))?;
    let applied = tokio::task::spawn_blocking(move || blocking::migrate(conn, &migrations))
        .await
        .map_err(|err| migrate_error(err.to_string()))?
        .map_err(migrate_error)?;
    tracing::info!(database = %config.name, applied, "migrations up to date");
    Ok(())
}

mod blocking {
    //! The synchronous half of migrations, kept apart so diesel's sync and async query traits
    //! never meet in one scope.

    use diesel::{
        RunQueryDsl,
        migration::{Migration, MigrationSource},
        pg::Pg,
    };
    use diesel_async::{AsyncPgConnection, async_connection_wrapper::AsyncConnectionWrapper};
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

    use super::MIGRATION_LOCK_KEY;

    /// Applies every pending migration of each set, in order; returns how many ran.
    pub(super) fn migrate(
        conn: AsyncPgConnection,
        migrations: &[&EmbeddedMigrations],
    ) -> Result<usize, String> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)
            .map_err(|err| err.to_string())?;
        let mut result = Ok(0);
        for set in migrations {
            result = result.and_then(|applied| {
                conn.run_pending_migrations(Borrowed(set))
                    .map(|versions| applied + versions.len())
                    .map_err(|err| err.to_string())
            });
        }
        // Closing the connection releases the lock too; unlocking first is just tidy.
        let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn);
        result
    }

    /// `EmbeddedMigrations` is a source only by value (and neither `Clone` nor `Copy`); this
    /// lends a static one.
    struct Borrowed<'a>(&'a EmbeddedMigrations);

    impl MigrationSource<Pg> for Borrowed<'_> {
        fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
            MigrationSource::<Pg>::migrations(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::SqlHead;

    fn kind(sql: &str) -> &'static str {
        let mut head = SqlHead::default();
        let _ = write!(head, "{sql}");
        head.kind().label()
    }

    #[test]
    fn statements_are_told_apart_by_their_first_word() {
        assert_eq!(
            kind("SELECT \"orders\".\"id\" FROM \"orders\" FOR UPDATE"),
            "read"
        );
        assert_eq!(kind("  select 1"), "read");
        assert_eq!(kind("BEGIN"), "transaction");
        assert_eq!(kind("COMMIT"), "transaction");
        assert_eq!(
            kind("INSERT INTO processed_events (consumer) VALUES ($1)"),
            "write"
        );
        assert_eq!(
            kind("WITH placed AS (INSERT INTO orders VALUES ($1)) INSERT INTO x"),
            "write"
        );
        assert_eq!(kind("UPDATE outbox SET sent_at = now()"), "write");
        assert_eq!(kind(""), "write");
    }
}
