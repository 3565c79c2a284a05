//! Database settings: which store, its pool and timeouts, start-up retries
//! and migrations.

use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::check::{redact_url, Check, Secret};

const DEFAULT_DB_MAX_CONNECTIONS: &str = "10";
const DEFAULT_DB_ACQUIRE_TIMEOUT_MS: &str = "3000";
const DEFAULT_DB_STATEMENT_TIMEOUT_MS: &str = "5000";
const DEFAULT_DB_STARTUP_TIMEOUT_SECS: &str = "30";
const DEFAULT_AUTO_MIGRATE: &str = "true";

/// Raw database settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct RawDatabase {
    /// Database URL: postgres://..., sqlite://FILE, or memory: (nothing kept);
    /// unset = SQLite file `watchme.db` in the data directory.
    #[arg(long, env = "WATCHME_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most connections in the database pool.
    #[arg(long, env = "WATCHME_DB_MAX_CONNECTIONS", default_value = DEFAULT_DB_MAX_CONNECTIONS)]
    pub db_max_connections: String,
    /// Milliseconds a request waits for a database connection before a 503.
    #[arg(long, env = "WATCHME_DB_ACQUIRE_TIMEOUT_MS", default_value = DEFAULT_DB_ACQUIRE_TIMEOUT_MS)]
    pub db_acquire_timeout_ms: String,
    /// Longest a database statement may run, in milliseconds.
    #[arg(long, env = "WATCHME_DB_STATEMENT_TIMEOUT_MS", default_value = DEFAULT_DB_STATEMENT_TIMEOUT_MS)]
    pub db_statement_timeout_ms: String,
    /// How long start-up keeps retrying an unreachable database, in seconds.
    #[arg(long, env = "WATCHME_DB_STARTUP_TIMEOUT_SECS", default_value = DEFAULT_DB_STARTUP_TIMEOUT_SECS)]
    pub db_startup_timeout_secs: String,
    /// Run database migrations at start-up (`true`/`false`).
    #[arg(long, env = "WATCHME_AUTO_MIGRATE", default_value = DEFAULT_AUTO_MIGRATE)]
    pub auto_migrate: String,
}

/// The storage backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A database URL (postgres://..., postgresql://... or sqlite:...).
    Url(Secret),
    /// In memory: nothing survives a restart (demos and tests).
    Memory,
}

impl Database {
    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Memory => "memory:".into(),
            Self::Url(u) => redact_url(u.expose()),
        }
    }
}

/// The validated database settings.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Where users, library, outbox and analytics live.
    pub url: Database,
    /// Pool and timeouts.
    pub pool: watchme_adapters::sql::SqlOptions,
    /// How long start-up retries an unreachable database.
    pub startup_timeout: Duration,
    /// Run migrations at start-up.
    pub auto_migrate: bool,
}

impl RawDatabase {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            database_url: None,
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS.into(),
            db_acquire_timeout_ms: DEFAULT_DB_ACQUIRE_TIMEOUT_MS.into(),
            db_statement_timeout_ms: DEFAULT_DB_STATEMENT_TIMEOUT_MS.into(),
            db_startup_timeout_secs: DEFAULT_DB_STARTUP_TIMEOUT_SECS.into(),
            auto_migrate: DEFAULT_AUTO_MIGRATE.into(),
        }
    }

    /// Validates; an unset URL is the SQLite file in `data_dir`.
    pub(super) fn validate(&self, c: &mut Check, data_dir: &Path) -> DatabaseSettings {
        let url = match self.database_url.as_deref().map(str::trim) {
            None | Some("") => {
                let path = data_dir.join("watchme.db");
                Database::Url(Secret::new(format!("sqlite://{}", path.display())))
            }
            Some("memory:") => Database::Memory,
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") || u.starts_with("sqlite:") => {
                Database::Url(Secret::new(u))
            }
            Some(u) => {
                c.fail(
                    "WATCHME_DATABASE_URL",
                    format!("expected postgres://..., sqlite://FILE or memory:, got {:?}", redact_url(u)),
                );
                Database::Memory
            }
        };
        let pool = watchme_adapters::sql::SqlOptions {
            max_connections: c.number("WATCHME_DB_MAX_CONNECTIONS", &self.db_max_connections, 1u32, 1000),
            acquire_timeout: c.millis("WATCHME_DB_ACQUIRE_TIMEOUT_MS", &self.db_acquire_timeout_ms, 10, 600_000),
            statement_timeout: c.millis(
                "WATCHME_DB_STATEMENT_TIMEOUT_MS",
                &self.db_statement_timeout_ms,
                10,
                3_600_000,
            ),
        };
        DatabaseSettings {
            url,
            pool,
            startup_timeout: c.secs("WATCHME_DB_STARTUP_TIMEOUT_SECS", &self.db_startup_timeout_secs, 0, 3600),
            auto_migrate: c.boolean("WATCHME_AUTO_MIGRATE", &self.auto_migrate),
        }
    }
}
