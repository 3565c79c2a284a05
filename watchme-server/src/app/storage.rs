//! Opening the configured storage: memory, or SQL with start-up retries
//! and migrations. One store backs every storage port, so a change and its
//! events commit together.

use std::sync::Arc;
use std::time::Duration;

use watchme_adapters::memory::{MemoryAnalyticsStore, MemoryStore};
use watchme_adapters::sql::SqlStore;
use watchme_core::error::StorageError;
use watchme_core::ports::{
    AnalyticsStore, ApiTokenRepo, DeviceGrantRepo, HistoryRepo, ImportJobRepo, LibraryRepo, ListRepo, Outbox,
    PlaybackRepo, SessionRepo, UserRepo, WebhookRepo,
};

use super::error::{io, StartError};
use crate::config::{Config, Database};
use crate::error::chain;

/// The storage ports, all backed by one store so a change and its events
/// commit together.
#[derive(Clone)]
pub struct Storage {
    /// Accounts.
    pub users: Arc<dyn UserRepo>,
    /// Login sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepo>,
    /// Views, favorites, library entries.
    pub library: Arc<dyn LibraryRepo>,
    /// Plays and activity times.
    pub history: Arc<dyn HistoryRepo>,
    /// Personal API tokens.
    pub tokens: Arc<dyn ApiTokenRepo>,
    /// Users' lists.
    pub lists: Arc<dyn ListRepo>,
    /// Running and paused playbacks.
    pub playback: Arc<dyn PlaybackRepo>,
    /// OAuth device grants.
    pub devices: Arc<dyn DeviceGrantRepo>,
    /// Import jobs.
    pub imports: Arc<dyn ImportJobRepo>,
    /// Webhook endpoints.
    pub webhooks: Arc<dyn WebhookRepo>,
    /// The transactional outbox.
    pub outbox: Arc<dyn Outbox>,
    /// Analytics aggregates.
    pub analytics: Arc<dyn AnalyticsStore>,
    /// The SQL store, when storage is SQL (backup, pool metrics).
    pub sql: Option<SqlStore>,
    /// The memory store, when storage is in memory (tests simulate outages with it).
    pub memory: Option<MemoryStore>,
}

impl Storage {
    /// Opens the configured storage: connects (retrying an unreachable
    /// database until the configured start-up timeout) and, when
    /// `migrate`, applies the migrations.
    ///
    /// # Errors
    /// [`StartError::Database`] when the database stays unreachable or a migration fails.
    pub async fn open(config: &Config, migrate: bool) -> Result<Self, StartError> {
        let url = match &config.database.url {
            Database::Memory => {
                let m = MemoryStore::new();
                return Ok(Self {
                    users: Arc::new(m.clone()),
                    sessions: Arc::new(m.clone()),
                    library: Arc::new(m.clone()),
                    history: Arc::new(m.clone()),
                    tokens: Arc::new(m.clone()),
                    lists: Arc::new(m.clone()),
                    playback: Arc::new(m.clone()),
                    devices: Arc::new(m.clone()),
                    imports: Arc::new(m.clone()),
                    webhooks: Arc::new(m.clone()),
                    outbox: Arc::new(m.clone()),
                    analytics: Arc::new(MemoryAnalyticsStore::new()),
                    sql: None,
                    memory: Some(m),
                });
            }
            Database::Url(u) => u.expose().to_owned(),
        };
        if url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.server.data_dir)
                .map_err(io(format!("creating data directory {}", config.server.data_dir.display())))?;
        }
        let shown = config.database.url.redacted();
        let store = SqlStore::connect_lazy(&url, &config.database.pool)
            .map_err(|e| StartError::Database(format!("{shown}: {e}")))?;
        let deadline = tokio::time::Instant::now() + config.database.startup_timeout;
        let mut delay = Duration::from_millis(250);
        loop {
            let attempt = if migrate { store.migrate().await } else { store.ping().await };
            match attempt {
                Ok(()) => break,
                Err(StorageError::Unavailable(c)) if tokio::time::Instant::now() + delay < deadline => {
                    tracing::warn!(database = %shown, error = %chain(c.as_ref()), retry_in_ms = delay.as_millis() as u64, "database unreachable; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    return Err(StartError::Database(format!(
                        "{shown}: {} ({})",
                        chain(&e),
                        if matches!(e, StorageError::Unavailable(_)) {
                            "gave up retrying; is the database running and reachable?"
                        } else {
                            "check the database and its permissions"
                        }
                    )))
                }
            }
        }
        if migrate {
            tracing::info!(database = %shown, "database ready, migrations applied");
        }
        Ok(Self {
            users: Arc::new(store.clone()),
            sessions: Arc::new(store.clone()),
            library: Arc::new(store.clone()),
            history: Arc::new(store.clone()),
            tokens: Arc::new(store.clone()),
            lists: Arc::new(store.clone()),
            playback: Arc::new(store.clone()),
            devices: Arc::new(store.clone()),
            imports: Arc::new(store.clone()),
            webhooks: Arc::new(store.clone()),
            outbox: Arc::new(store.clone()),
            analytics: Arc::new(store.clone()),
            sql: Some(store),
            memory: None,
        })
    }

    pub(super) async fn ping(&self) -> Result<(), String> {
        match &self.sql {
            Some(s) => s.ping().await.map_err(|e| chain(&e)),
            None => self.outbox.stats().await.map(|_| ()).map_err(|e| chain(&e)),
        }
    }
}
