//! SQL storage for every storage port (users, sessions, library, outbox, analytics),
//! on PostgreSQL (production, shared by stateless replicas) and SQLite (the
//! embedded default, one file).
//!
//! One adapter serves both backends through sqlx's `Any` driver: the schema
//! uses only types both share (TEXT ids, BIGINT microsecond timestamps), the
//! queries only syntax both accept, and the few differences (row locking for
//! the outbox) branch on [`Backend`]. Queries are checked by the contract
//! suites against both real databases rather than by compile-time macros, so
//! building needs no database. Migrations are embedded, one directory per
//! backend.

mod analytics;
mod error;
mod history;
mod imports;
mod library;
mod lists;
mod outbox;
mod playback;
mod sessions;
mod tokens;
mod users;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use time::OffsetDateTime;
use watchme_core::error::{cause_msg, StorageError};

pub use error::storage_error;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Backend {
    /// The backend a URL names.
    ///
    /// # Errors
    /// [`StorageError::Internal`] for any other scheme.
    pub fn of_url(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(StorageError::Internal(cause_msg("database URL must start with postgres://, postgresql:// or sqlite:")))
        }
    }
}

/// Pool and timeout settings.
#[derive(Debug, Clone)]
pub struct SqlOptions {
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing with
    /// `StorageError::Unavailable` (and a 503).
    pub acquire_timeout: Duration,
    /// Longest a statement may run (PostgreSQL `statement_timeout`; SQLite
    /// uses it as its busy timeout).
    pub statement_timeout: Duration,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: Duration::from_secs(3), statement_timeout: Duration::from_secs(5) }
    }
}

/// Users, library, outbox and analytics in one SQL database. Clones share the pool.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    // SQLite allows one writer at a time and a deferred transaction that reads
    // before it writes can fail with SQLITE_BUSY instead of waiting; queuing
    // writers here (one process owns the file) makes every write wait its turn.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqlStore {
    /// Connects (lazily: the pool opens connections on demand, so a database
    /// that is down at start-up is reported by the first query, and a
    /// database that comes back is used again without a restart).
    ///
    /// # Errors
    /// [`StorageError::Internal`] for a malformed URL or a backend this build lacks.
    pub fn connect_lazy(url: &str, options: &SqlOptions) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let mut url = url.to_owned();
        if backend == Backend::Sqlite && !url.contains("mode=") {
            url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
        }
        let connect = AnyConnectOptions::from_str(&url)
            .map_err(|e| StorageError::Internal(cause_msg(format!("invalid database URL: {e}"))))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let timeout_ms = options.statement_timeout.as_millis();
        // A read-only SQLite file (a backup being checked) cannot switch journal mode.
        let read_only = backend == Backend::Sqlite && url.contains("mode=ro");
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite {
                options.max_connections.min(8)
            } else {
                options.max_connections
            })
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    match backend {
                        Backend::Postgres => {
                            conn.execute(format!("SET statement_timeout = {timeout_ms}").as_str()).await?;
                        }
                        Backend::Sqlite => {
                            // WAL lets readers proceed while one writer commits; the
                            // busy timeout makes writers queue instead of failing.
                            conn.execute(format!("PRAGMA busy_timeout = {timeout_ms}").as_str()).await?;
                            if !read_only {
                                conn.execute("PRAGMA journal_mode = WAL").await?;
                                conn.execute("PRAGMA foreign_keys = ON").await?;
                                conn.execute("PRAGMA synchronous = NORMAL").await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(connect);
        Ok(Self { pool, backend, sqlite_writer: Arc::new(tokio::sync::Mutex::new(())) })
    }

    /// Held for the duration of a write transaction on SQLite; nothing on PostgreSQL.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().await),
            Backend::Postgres => None,
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `db.system.name` of the OpenTelemetry semantic conventions.
    pub(crate) fn system_name(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }

    /// The pool, for health checks and tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs a trivial query.
    ///
    /// # Errors
    /// [`StorageError::Unavailable`] when the database cannot be reached.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(storage_error)
    }

    /// Applies the embedded migrations of this backend; a no-op when they
    /// are applied already.
    ///
    /// # Errors
    /// [`StorageError`] when the database is down or a migration fails.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        let migrator = match self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            #[allow(unreachable_patterns)]
            _ => return Err(StorageError::Internal(cause_msg("this build lacks the driver for this database"))),
        };
        migrator.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => storage_error(inner),
            other => StorageError::Internal(watchme_core::error::cause(other)),
        })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Microseconds since the epoch: the stored form of every time.
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// The inverse of [`micros`].
pub(crate) fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A time as it will read back from the database.
pub(crate) fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    from_micros(micros(t))
}

/// Rows per multi-row INSERT: a batch of this many is one statement, far
/// under the bound-parameter limits of both backends (SQLite 32,766,
/// PostgreSQL 65,535).
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// Inserts `rows` with `insert` (`INSERT INTO t (a, b, c) VALUES`), many rows
/// per statement, each statement ending with `suffix` (`ON CONFLICT ...`,
/// `RETURNING ...`); returns what the statements returned. `columns` has one
/// entry per column: `""` for a bound value (`bind` binds them in order),
/// anything else is written as is (a constant).
pub(crate) async fn insert_rows<'r, T>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    insert: &str,
    columns: &[&str],
    suffix: &str,
    rows: &'r [T],
    bind: impl for<'q> Fn(
        sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        &'r T,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<Vec<sqlx::any::AnyRow>, StorageError> {
    use std::fmt::Write as _;
    let bound = columns.iter().filter(|c| c.is_empty()).count();
    let mut returned = Vec::new();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = String::with_capacity(insert.len() + chunk.len() * columns.len() * 6);
        sql.push_str(insert);
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { " (" } else { ", (" });
            for (j, c) in columns.iter().enumerate() {
                if j > 0 {
                    sql.push_str(", ");
                }
                if c.is_empty() {
                    n += 1;
                    let _ = write!(sql, "${n}");
                } else {
                    sql.push_str(c);
                }
            }
            sql.push(')');
        }
        sql.push_str(suffix);
        debug_assert_eq!(n, bound * chunk.len());
        let mut q = sqlx::query(&sql);
        for row in chunk {
            q = bind(q, row);
        }
        returned.extend(q.fetch_all(&mut **tx).await.map_err(storage_error)?);
    }
    Ok(returned)
}

/// `$first, $first+1, ...` placeholders for an IN list of `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl SqlStore {
    /// Whether this is a WatchMe database: sqlx's migration table is there
    /// (a backup file is checked with it before it replaces anything).
    ///
    /// # Errors
    /// [`StorageError`] when the database cannot be read or is not one.
    pub async fn check_is_watchme(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations").execute(&self.pool).await.map(drop).map_err(storage_error)
    }

    /// SQLite only: writes a consistent copy of the whole database to `path`
    /// (`VACUUM INTO`), while other connections keep working.
    ///
    /// # Errors
    /// [`StorageError`] on PostgreSQL, or when the copy fails.
    pub async fn vacuum_into(&self, path: &str) -> Result<(), StorageError> {
        if self.backend != Backend::Sqlite {
            return Err(StorageError::Internal(cause_msg("VACUUM INTO is SQLite only; use pg_dump")));
        }
        sqlx::query("VACUUM INTO $1").bind(path.to_owned()).execute(&self.pool).await.map(|_| ()).map_err(storage_error)
    }
}
