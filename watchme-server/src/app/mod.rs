//! The composition root: builds adapters and services from the config
//! (`wiring`), opens the storage (`storage`), resolves the signing keys
//! (`keys`), prepares the Kafka topics (`topics`), binds the listener
//! (`listener`), runs the server and its background tasks (`tasks`).

mod error;
mod keys;
mod listener;
mod storage;
mod tasks;
mod topics;
mod wiring;

use std::future::Future;
use std::net::SocketAddr;

use poem::Server;

pub use error::StartError;
pub use keys::{resolve_jwt_secret, resolve_signing_keys, SigningKeys};
pub use listener::install_crypto_provider;
pub use storage::Storage;
pub use tasks::{prune_applied, ANALYTICS_DEDUP_WINDOW};
pub use topics::prepare_topics;
pub use wiring::{build_state, Wiring};

use crate::config::{Config, Database};
use listener::Bound;

/// A built server, bound and ready to run.
pub struct App {
    acceptor: Bound,
    addr: SocketAddr,
    wiring: Wiring,
    config: Config,
}

impl App {
    /// Builds everything and binds the listener (port 0 picks a free port).
    ///
    /// # Errors
    /// [`StartError`] when a component cannot be built or the address cannot be bound.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let keys = resolve_signing_keys(&config)?;
        let storage = Storage::open(&config, config.database.auto_migrate).await?;
        let wiring = build_state(&config, storage, keys)?;
        prepare_topics(&config).await?;
        let (acceptor, addr) = listener::bind(&config).await?;
        Ok(Self { acceptor, addr, wiring, config })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then lets in-flight requests
    /// finish (up to the configured grace) and flushes the outbox.
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let tasks = tasks::spawn(&self.config, &self.wiring, stopped)?;
        self.log_listening();
        // /metrics on its own port (e.g. only reachable from the monitoring network).
        let metrics_listener =
            match (self.wiring.state.metrics.clone(), self.config.telemetry.metrics.as_ref().and_then(|m| m.bind)) {
                (Some(mount), Some(addr)) => Some(crate::metrics::spawn_listener(addr, mount)),
                _ => None,
            };
        let endpoint = crate::api::app(self.wiring.state.clone());
        let grace = Some(self.config.server.shutdown_grace);
        let result = match self.acceptor {
            Bound::Plain(a) => Server::new_with_acceptor(a).run_with_graceful_shutdown(endpoint, shutdown, grace).await,
            Bound::Tls(a) => Server::new_with_acceptor(a).run_with_graceful_shutdown(endpoint, shutdown, grace).await,
        };
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        if let Some(l) = metrics_listener {
            l.abort();
        }
        tasks::finish(&self.config, &self.wiring).await;
        tracing::info!("stopped");
        result
    }

    /// The start-up line: where it listens and what it runs on.
    fn log_listening(&self) {
        let events = match &self.config.kafka {
            None => "in-process bus".to_owned(),
            Some(k) => format!(
                "Kafka {} topic {} (analytics consumer {})",
                k.config.brokers,
                k.config.events_topic(),
                if k.analytics_consumer { "in-process" } else { "in `watchme consume`" }
            ),
        };
        tracing::info!(
            addr = %self.addr,
            storage = %match &self.config.database.url {
                Database::Memory => "memory (data is lost on restart)".to_owned(),
                d => d.redacted(),
            },
            cache = if self.config.cache.redis.is_some() { "in-process L1 + Redis" } else { "in-process" },
            events,
            relay = self.config.writes.relay,
            movies = if self.config.tmdb.is_some() { "TMDb" } else { "bundled catalog (no TMDb credential set)" },
            scheme = if self.config.security.tls.is_some() { "https" } else { "http" },
            rate_limits = match (&self.config.security.rate_limits, &self.config.cache.redis) {
                (None, _) => "off",
                (Some(_), Some(_)) => "shared in Redis",
                (Some(_), None) => "in-process",
            },
            "listening"
        );
    }
}
