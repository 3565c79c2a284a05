//! Server settings: where it listens, its files, request limits and
//! timing, shutdown, and what readiness requires.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::check::Check;

const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "data";
const DEFAULT_MAX_BODY_KIB: &str = "64";
const DEFAULT_SLOW_REQUEST_MS: &str = "1000";
const DEFAULT_SHUTDOWN_GRACE_SECS: &str = "10";
const DEFAULT_READY_REQUIRES: &str = "database";

/// Raw server settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct RawServer {
    /// Address to listen on (host:port; port 0 picks a free one).
    #[arg(long, env = "WATCHME_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,
    /// Directory for the embedded default's files (generated JWT secret ...).
    #[arg(long, env = "WATCHME_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Largest accepted request body in KiB.
    #[arg(long, env = "WATCHME_MAX_BODY_KIB", default_value = DEFAULT_MAX_BODY_KIB)]
    pub max_body_kib: String,
    /// Requests slower than this many milliseconds are logged at warn.
    #[arg(long, env = "WATCHME_SLOW_REQUEST_MS", default_value = DEFAULT_SLOW_REQUEST_MS)]
    pub slow_request_ms: String,
    /// Seconds in-flight requests get to finish on shutdown.
    #[arg(long, env = "WATCHME_SHUTDOWN_GRACE_SECS", default_value = DEFAULT_SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: String,
    /// Dependencies that must be up for /health/ready to answer 200 (others only degrade it).
    #[arg(long, env = "WATCHME_READY_REQUIRES", default_value = DEFAULT_READY_REQUIRES)]
    pub ready_requires: String,
}

/// The validated server settings.
#[derive(Debug, Clone)]
pub struct Server {
    /// Listen address.
    pub bind: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Requests slower than this are logged at warn.
    pub slow_request: Duration,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// Dependencies whose failure makes the instance unready.
    pub ready_requires: HashSet<String>,
}

impl RawServer {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            bind: DEFAULT_BIND.into(),
            data_dir: DEFAULT_DATA_DIR.into(),
            max_body_kib: DEFAULT_MAX_BODY_KIB.into(),
            slow_request_ms: DEFAULT_SLOW_REQUEST_MS.into(),
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS.into(),
            ready_requires: DEFAULT_READY_REQUIRES.into(),
        }
    }

    pub(super) fn validate(&self, c: &mut Check) -> Server {
        let bind = self.bind.trim().parse::<SocketAddr>().unwrap_or_else(|_| {
            c.fail(
                "WATCHME_BIND",
                format!("expected host:port with an IP host, e.g. 127.0.0.1:8080 or 0.0.0.0:8080, got {:?}", self.bind),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        if self.data_dir.as_os_str().is_empty() {
            c.fail("WATCHME_DATA_DIR", "must not be empty");
        }
        let mut ready_requires = HashSet::new();
        for name in self.ready_requires.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if ["database", "redis", "events", "movie_source"].contains(&name) {
                ready_requires.insert(name.to_owned());
            } else {
                c.fail(
                    "WATCHME_READY_REQUIRES",
                    format!("unknown dependency {name:?}: use database, redis, events or movie_source"),
                );
            }
        }
        Server {
            bind,
            data_dir: self.data_dir.clone(),
            max_body_bytes: c.number("WATCHME_MAX_BODY_KIB", &self.max_body_kib, 1usize, 10 * 1024) * 1024,
            slow_request: c.millis("WATCHME_SLOW_REQUEST_MS", &self.slow_request_ms, 1, 3_600_000),
            shutdown_grace: c.secs("WATCHME_SHUTDOWN_GRACE_SECS", &self.shutdown_grace_secs, 0, 600),
            ready_requires,
        }
    }
}
