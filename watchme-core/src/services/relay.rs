//! The outbox relay: moves stored events to the bus, at least once, in order.
//!
//! While one batch is published and marked, the next is claimed (its
//! publishing starts only after the previous batch was accepted, so the
//! order holds); a batch the bus refused is released together with the one
//! claimed behind it. Tests: `watchme-adapters/tests/services_library.rs`,
//! `watchme-adapters/tests/relay_sql.rs`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{EventBusError, StorageError};
use crate::ports::{Clock, EventBus, Outbox, OutboxRecord};

/// How the relay paces itself.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Events claimed and published per batch.
    pub batch_size: u32,
    /// How long a claim keeps other relays away from a batch.
    pub lease: Duration,
    /// Pause when the outbox is empty.
    pub idle_interval: Duration,
    /// First retry delay after a failure; doubles per failure.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Published events older than this are deleted; zero: they are
    /// deleted as they are published.
    pub retention: Duration,
    /// How often pruning runs.
    pub prune_interval: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            lease: Duration::from_secs(30),
            idle_interval: Duration::from_millis(200),
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            retention: Duration::ZERO,
            prune_interval: Duration::from_secs(3600),
        }
    }
}

/// The delay before retry number `failures` (1-based): `base` doubled per
/// failure up to `max`, then jittered into its upper half, so many workers
/// recovering from one outage do not retry in step.
pub fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let cap = exp.min(max).as_millis() as u64;
    Duration::from_millis(cap / 2 + fastrand::u64(0..=cap / 2))
}

/// Why a relay pass failed; the events stay in the outbox either way.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RelayError {
    /// The outbox could not be read or updated.
    #[error("outbox failed")]
    Outbox(#[from] StorageError),
    /// The bus refused the batch.
    #[error("event bus failed")]
    Bus(#[from] EventBusError),
}

/// Publishes outbox events to the bus and marks them published only after
/// the bus accepted them.
pub struct OutboxRelay {
    outbox: Arc<dyn Outbox>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn Clock>,
    config: RelayConfig,
}

impl OutboxRelay {
    /// Builds a relay.
    pub fn new(outbox: Arc<dyn Outbox>, bus: Arc<dyn EventBus>, clock: Arc<dyn Clock>, config: RelayConfig) -> Self {
        Self { outbox, bus, clock, config }
    }

    /// Claims one batch, publishes it and marks it published; returns how
    /// many events were published (0 when the outbox is empty).
    ///
    /// # Errors
    /// [`RelayError`] when the outbox or the bus fails; a batch the bus
    /// refused is released so the next pass retries it.
    pub async fn run_once(&self) -> Result<usize, RelayError> {
        let batch = self.outbox.claim(self.config.batch_size, self.config.lease).await?;
        self.publish_claimed(batch).await
    }

    /// Publishes a claimed batch and marks it published; releases it when
    /// the bus refuses it.
    async fn publish_claimed(&self, batch: Vec<OutboxRecord>) -> Result<usize, RelayError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
        let events: Vec<_> = batch.into_iter().map(|r| r.event).collect();
        let started = std::time::Instant::now();
        if let Err(e) = self.bus.publish(&events).await {
            metrics::counter!("watchme_events_publish_failures_total").increment(events.len() as u64);
            if let Err(release) = self.outbox.release(&ids).await {
                tracing::warn!(error = %release, "could not release claim; it will expire");
            }
            return Err(e.into());
        }
        if self.config.retention.is_zero() {
            self.outbox.mark_published_and_drop(&ids).await?;
        } else {
            self.outbox.mark_published(&ids).await?;
        }
        metrics::counter!("watchme_events_published_total").increment(ids.len() as u64);
        metrics::histogram!("watchme_relay_batch_duration_seconds").record(started.elapsed().as_secs_f64());
        tracing::debug!(count = ids.len(), "outbox batch published");
        Ok(ids.len())
    }

    /// Deletes published events older than the retention.
    ///
    /// # Errors
    /// [`StorageError`] when the outbox fails.
    pub async fn prune(&self) -> Result<u64, StorageError> {
        let before = self.clock.now() - self.config.retention;
        self.outbox.prune_published(before).await
    }

    /// The delay before retry number `failures` (1-based): exponential with
    /// full jitter, so many relays recovering at once do not retry in step.
    pub fn backoff(&self, failures: u32) -> Duration {
        backoff(self.config.backoff_base, self.config.backoff_max, failures)
    }

    /// One step of [`OutboxRelay::run`]: publishes `claimed` (or a batch it
    /// claims) and, when that batch was full, claims the next one meanwhile
    /// and hands it back for the next step.
    async fn pipelined_step(
        &self,
        claimed: Option<Vec<OutboxRecord>>,
    ) -> (Result<usize, RelayError>, Option<Vec<OutboxRecord>>) {
        let batch = match claimed {
            Some(b) => b,
            None => match self.outbox.claim(self.config.batch_size, self.config.lease).await {
                Ok(b) => b,
                Err(e) => return (Err(e.into()), None),
            },
        };
        let full = batch.len() as u32 >= self.config.batch_size;
        let claim_next = async {
            if full {
                self.outbox.claim(self.config.batch_size, self.config.lease).await.ok()
            } else {
                None
            }
        };
        let (published, next) = tokio::join!(self.publish_claimed(batch), claim_next);
        if published.is_err() {
            // The next batch must not go out before the one that failed.
            self.release(next).await;
            return (published, None);
        }
        (published, next)
    }

    async fn release(&self, batch: Option<Vec<OutboxRecord>>) {
        let ids: Vec<i64> = batch.into_iter().flatten().map(|r| r.id).collect();
        if let Err(e) = self.outbox.release(&ids).await {
            tracing::warn!(error = %e, "could not release a claimed batch; its lease will expire");
        }
    }

    /// Runs until `shutdown` completes: publishes batches back to back while
    /// there are events (claiming the next while one is published), idles
    /// when there are none, backs off on failures.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures = 0u32;
        let mut last_prune = tokio::time::Instant::now();
        let mut claimed = None;
        loop {
            let (outcome, next) = self.pipelined_step(claimed.take()).await;
            claimed = next;
            let delay = match outcome {
                Ok(n) => {
                    failures = 0;
                    if claimed.is_some() || n as u32 >= self.config.batch_size {
                        Duration::ZERO
                    } else {
                        self.config.idle_interval
                    }
                }
                Err(e) => {
                    failures += 1;
                    let d = self.backoff(failures);
                    tracing::warn!(error = %e, source = ?std::error::Error::source(&e), failures, retry_in_ms = d.as_millis() as u64, "outbox relay failed; events kept");
                    d
                }
            };
            if last_prune.elapsed() >= self.config.prune_interval {
                last_prune = tokio::time::Instant::now();
                match self.prune().await {
                    Ok(n) if n > 0 => tracing::debug!(pruned = n, "published outbox events pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox pruning failed"),
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        self.release(claimed).await;
        tracing::info!("outbox relay stopped");
    }
}
