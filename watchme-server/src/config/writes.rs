//! How writes and events move: the outbox relay, the group commit of page
//! views, and the in-memory count of anonymous views.

use std::time::Duration;

use clap::Args;
use watchme_core::services::{GroupCommitConfig, ViewRecording};

use super::check::Check;

const DEFAULT_RELAY: &str = "true";
const DEFAULT_OUTBOX_RETENTION_HOURS: &str = "0";
const DEFAULT_OUTBOX_POLL_MS: &str = "200";
const DEFAULT_WRITE_BATCH_MAX: &str = "512";
const DEFAULT_WRITE_WINDOW_MS: &str = "0";
const DEFAULT_WRITE_CONCURRENCY: &str = "2";
const DEFAULT_ANON_VIEWS_FLUSH_MS: &str = "1000";
const DEFAULT_ANON_VIEWS_MAX: &str = "10000";

/// Raw settings of the write path.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Writes and the outbox")]
pub struct RawWrites {
    /// Run the outbox relay inside the server (`true`/`false`); turn it off
    /// when `watchme relay` runs as its own process.
    #[arg(long, env = "WATCHME_RELAY", default_value = DEFAULT_RELAY)]
    pub relay: String,
    /// Hours published events stay in the outbox before pruning (0: deleted as they are published).
    #[arg(long, env = "WATCHME_OUTBOX_RETENTION_HOURS", default_value = DEFAULT_OUTBOX_RETENTION_HOURS)]
    pub outbox_retention_hours: String,
    /// How often the outbox relay looks for new events when idle, in ms.
    #[arg(long, env = "WATCHME_OUTBOX_POLL_MS", default_value = DEFAULT_OUTBOX_POLL_MS)]
    pub outbox_poll_ms: String,
    /// Events the outbox relay claims and publishes per batch (default: 1000, 200 on SQLite).
    #[arg(long, env = "WATCHME_RELAY_BATCH_SIZE")]
    pub relay_batch_size: Option<String>,
    /// Most page views (and their events) written in one transaction (group commit).
    #[arg(long, env = "WATCHME_WRITE_BATCH_MAX", default_value = DEFAULT_WRITE_BATCH_MAX)]
    pub write_batch_max: String,
    /// Longest a view waits for others to join its transaction, in ms (0: only those already waiting).
    #[arg(long, env = "WATCHME_WRITE_WINDOW_MS", default_value = DEFAULT_WRITE_WINDOW_MS)]
    pub write_window_ms: String,
    /// Group-commit transactions written at once (while one commits, the next gathers).
    #[arg(long, env = "WATCHME_WRITE_CONCURRENCY", default_value = DEFAULT_WRITE_CONCURRENCY)]
    pub write_concurrency: String,
    /// Anonymous views are counted in memory and written this often, in ms: the most a crash can lose (0: each is written before its page is answered).
    #[arg(long, env = "WATCHME_ANON_VIEWS_FLUSH_MS", default_value = DEFAULT_ANON_VIEWS_FLUSH_MS)]
    pub anon_views_flush_ms: String,
    /// Most anonymous views counted in memory before they are written at once.
    #[arg(long, env = "WATCHME_ANON_VIEWS_MAX", default_value = DEFAULT_ANON_VIEWS_MAX)]
    pub anon_views_max: String,
}

/// The validated settings of the write path.
#[derive(Debug, Clone)]
pub struct Writes {
    /// Run the outbox relay in the server process.
    pub relay: bool,
    /// How long published events stay in the outbox.
    pub outbox_retention: Duration,
    /// Outbox relay idle poll interval.
    pub outbox_poll: Duration,
    /// Events per relay batch; `None`: the default of the database.
    pub relay_batch_size: Option<u32>,
    /// How page views are written (group commit, anonymous counting).
    pub view_recording: ViewRecording,
}

impl RawWrites {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            relay: DEFAULT_RELAY.into(),
            outbox_retention_hours: DEFAULT_OUTBOX_RETENTION_HOURS.into(),
            outbox_poll_ms: DEFAULT_OUTBOX_POLL_MS.into(),
            relay_batch_size: None,
            write_batch_max: DEFAULT_WRITE_BATCH_MAX.into(),
            write_window_ms: DEFAULT_WRITE_WINDOW_MS.into(),
            write_concurrency: DEFAULT_WRITE_CONCURRENCY.into(),
            anon_views_flush_ms: DEFAULT_ANON_VIEWS_FLUSH_MS.into(),
            anon_views_max: DEFAULT_ANON_VIEWS_MAX.into(),
        }
    }

    pub(super) fn validate(&self, c: &mut Check) -> Writes {
        let relay_batch_size = self
            .relay_batch_size
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| c.number("WATCHME_RELAY_BATCH_SIZE", s, 1u32, 10_000));
        let view_recording = ViewRecording {
            group_commit: GroupCommitConfig {
                max_batch: c.number("WATCHME_WRITE_BATCH_MAX", &self.write_batch_max, 1usize, 10_000),
                window: c.millis("WATCHME_WRITE_WINDOW_MS", &self.write_window_ms, 0, 1_000),
                writers: c.number("WATCHME_WRITE_CONCURRENCY", &self.write_concurrency, 1usize, 64),
            },
            anonymous_flush: c.millis("WATCHME_ANON_VIEWS_FLUSH_MS", &self.anon_views_flush_ms, 0, 3_600_000),
            anonymous_max: c.number("WATCHME_ANON_VIEWS_MAX", &self.anon_views_max, 1u64, 100_000_000),
        };
        Writes {
            relay: c.boolean("WATCHME_RELAY", &self.relay),
            outbox_retention: Duration::from_secs(
                3600 * c.number("WATCHME_OUTBOX_RETENTION_HOURS", &self.outbox_retention_hours, 0u64, 24 * 365),
            ),
            outbox_poll: c.millis("WATCHME_OUTBOX_POLL_MS", &self.outbox_poll_ms, 10, 60_000),
            relay_batch_size,
            view_recording,
        }
    }
}
