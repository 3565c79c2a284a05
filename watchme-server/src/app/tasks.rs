//! The server's background tasks: the outbox relay, the writer of counted
//! anonymous views, hourly pruning, interrupted imports, and (single-node)
//! the Kafka analytics consumer; and what runs after the last request on a graceful stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use watchme_adapters::kafka::KafkaConsumer;
use watchme_core::services::AnalyticsService;

use super::wiring::Wiring;
use crate::config::Config;
use crate::error::chain;

/// How long the ids of applied events are remembered to skip redelivered
/// copies: Kafka's default retention, so no copy the broker can still
/// deliver is counted twice.
pub const ANALYTICS_DEDUP_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Forgets the ids of events applied before the dedup window; runs hourly
/// in the server and in `watchme consume`.
pub async fn prune_applied(analytics: &AnalyticsService) {
    match analytics.prune_applied(ANALYTICS_DEDUP_WINDOW).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(event_ids = n, "forgot the ids of events applied before the dedup window"),
        Err(e) => tracing::warn!(error = %chain(&e), "could not prune the ids of applied events"),
    }
}

/// Starts the background tasks; each ends when a future `stopped()` makes
/// completes.
///
/// # Errors
/// The Kafka consumer's refusal of its settings.
pub(super) fn spawn<S, F>(config: &Config, wiring: &Wiring, stopped: S) -> std::io::Result<Vec<JoinHandle<()>>>
where
    S: Fn() -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let mut tasks = Vec::new();
    if config.writes.relay {
        let (relay, stop) = (wiring.relay.clone(), stopped());
        tasks.push(tokio::spawn(async move { relay.run(stop).await }));
    }
    // Counted anonymous views: written every WATCHME_ANON_VIEWS_FLUSH_MS
    // and once more when the server stops, before the relay's last pass.
    let (library, stop) = (wiring.state.library.clone(), stopped());
    tasks.push(tokio::spawn(async move { library.run_view_flusher(stop).await }));
    tasks.push(tokio::spawn(prune_hourly(wiring, stopped())));
    tasks.push(tokio::spawn(fail_interrupted_imports(wiring, stopped())));
    if let Some(k) = config.kafka.as_ref().filter(|k| k.analytics_consumer) {
        let topic = k.config.events_topic();
        let handler = Arc::new(crate::traced::TracedHandler::new(wiring.state.analytics.clone(), "kafka", topic));
        let consumer = KafkaConsumer::new(&k.config, k.consumer.clone(), handler)
            .map_err(|e| std::io::Error::other(format!("Kafka consumer settings refused: {e}")))?;
        let stop = stopped();
        tasks.push(tokio::spawn(async move { consumer.run(stop).await }));
    }
    Ok(tasks)
}

/// Ended sessions are kept a day (for the owner's and an operator's
/// questions), then deleted; any replica may do it. So are the ids of
/// applied events past the dedup window, and device grants a day after
/// they expired.
fn prune_hourly(wiring: &Wiring, stop: impl Future<Output = ()> + Send + 'static) -> impl Future<Output = ()> + Send {
    let (auth, analytics) = (wiring.state.auth.clone(), wiring.state.analytics.clone());
    let devices = wiring.state.devices.clone();
    async move {
        tokio::pin!(stop);
        loop {
            match auth.prune_sessions(Duration::from_secs(86_400)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "pruned ended sessions"),
                Err(e) => tracing::warn!(error = %chain(&e), "could not prune ended sessions"),
            }
            prune_applied(&analytics).await;
            match devices.prune(Duration::from_secs(86_400)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(device_grants = n, "pruned expired device grants"),
                Err(e) => tracing::warn!(error = %chain(&e), "could not prune device grants"),
            }
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
        }
    }
}

/// How long an unfinished import may go unsaved before it counts as
/// interrupted (a running one saves itself every few seconds).
const IMPORT_STALE: Duration = Duration::from_secs(120);

/// Imports a stopped process left unfinished are marked failed, at start-up
/// and every minute (on any replica: a job still running elsewhere keeps
/// saving itself, so it is never taken for an interrupted one).
fn fail_interrupted_imports(
    wiring: &Wiring,
    stop: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = ()> + Send {
    let imports = wiring.state.imports.clone();
    async move {
        tokio::pin!(stop);
        loop {
            match imports.fail_interrupted(IMPORT_STALE).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(imports = n, "imports left unfinished by a stopped process marked failed"),
                Err(e) => tracing::warn!(error = %chain(&e), "could not check for interrupted imports"),
            }
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        }
    }
}

/// After the last request: publishes what the last requests produced (up
/// to 100 batches) and closes the database pool.
pub(super) async fn finish(config: &Config, wiring: &Wiring) {
    if config.writes.relay {
        for _ in 0..100 {
            match wiring.relay.run_once().await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    if let Some(sql) = &wiring.storage.sql {
        sql.close().await;
    }
}
