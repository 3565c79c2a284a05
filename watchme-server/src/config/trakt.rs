//! The Trakt-compatible API: where it is mounted, which clients may use
//! its device flow, and how scrobbles become plays.

use clap::Args;
use watchme_core::services::{DeviceSettings, ScrobbleSettings};

use super::check::Check;

const DEFAULT_PREFIX: &str = "/trakt";
const DEFAULT_DEVICE_CODE_TTL_SECS: &str = "600";
const DEFAULT_DEVICE_INTERVAL_SECS: &str = "5";
const DEFAULT_SCROBBLE_THRESHOLD: &str = "80";
const DEFAULT_SCROBBLE_WINDOW_SECS: &str = "3600";
const DEFAULT_WATCHING_TTL_SECS: &str = "10800";

/// Raw Trakt-API and scrobble settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Trakt-compatible API and scrobbling")]
pub struct RawTrakt {
    /// Path the Trakt-compatible API is mounted under; `off` turns it off.
    #[arg(long, env = "WATCHME_TRAKT_PREFIX", default_value = DEFAULT_PREFIX)]
    pub trakt_prefix: String,
    /// Comma-separated client ids allowed to use the device flow; empty lets any client in.
    #[arg(long, env = "WATCHME_TRAKT_CLIENTS", default_value = "")]
    pub trakt_clients: String,
    /// How long a device code may be approved and polled, in seconds.
    #[arg(long, env = "WATCHME_TRAKT_DEVICE_CODE_TTL_SECS", default_value = DEFAULT_DEVICE_CODE_TTL_SECS)]
    pub trakt_device_code_ttl_secs: String,
    /// Seconds a device must wait between polls.
    #[arg(long, env = "WATCHME_TRAKT_DEVICE_INTERVAL_SECS", default_value = DEFAULT_DEVICE_INTERVAL_SECS)]
    pub trakt_device_interval_secs: String,
    /// Progress (percent) at which a stopped playback counts as watched.
    #[arg(long, env = "WATCHME_SCROBBLE_THRESHOLD", default_value = DEFAULT_SCROBBLE_THRESHOLD)]
    pub scrobble_threshold: String,
    /// A completion of the same movie within this many seconds of a play is that play again.
    #[arg(long, env = "WATCHME_SCROBBLE_WINDOW_SECS", default_value = DEFAULT_SCROBBLE_WINDOW_SECS)]
    pub scrobble_window_secs: String,
    /// How long "watching now" lasts when the movie's runtime is unknown, in seconds.
    #[arg(long, env = "WATCHME_WATCHING_TTL_SECS", default_value = DEFAULT_WATCHING_TTL_SECS)]
    pub watching_ttl_secs: String,
}

/// The validated settings.
#[derive(Debug, Clone)]
pub struct Trakt {
    /// Mount path (`/trakt`), `None` when the API is off.
    pub prefix: Option<String>,
    /// The device flow.
    pub devices: DeviceSettings,
    /// Scrobbling.
    pub scrobble: ScrobbleSettings,
}

impl RawTrakt {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            trakt_prefix: DEFAULT_PREFIX.into(),
            trakt_clients: String::new(),
            trakt_device_code_ttl_secs: DEFAULT_DEVICE_CODE_TTL_SECS.into(),
            trakt_device_interval_secs: DEFAULT_DEVICE_INTERVAL_SECS.into(),
            scrobble_threshold: DEFAULT_SCROBBLE_THRESHOLD.into(),
            scrobble_window_secs: DEFAULT_SCROBBLE_WINDOW_SECS.into(),
            watching_ttl_secs: DEFAULT_WATCHING_TTL_SECS.into(),
        }
    }

    fn prefix(&self, c: &mut Check) -> Option<String> {
        let raw = self.trakt_prefix.trim();
        if raw.eq_ignore_ascii_case("off") {
            return None;
        }
        let path = raw.trim_end_matches('/');
        let valid = path.starts_with('/')
            && path.len() > 1
            && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
            && !path.contains("//");
        let taken = ["/auth", "/me", "/movies", "/lists", "/health", "/docs", "/analytics", "/admin", "/metrics"];
        if !valid || taken.iter().any(|t| path == *t || path.starts_with(&format!("{t}/"))) {
            c.fail(
                "WATCHME_TRAKT_PREFIX",
                format!("{raw:?} must be a path like /trakt, not one of the API's own, or `off`"),
            );
        }
        Some(path.to_owned())
    }

    pub(super) fn validate(&self, c: &mut Check) -> Trakt {
        let clients: Vec<String> =
            self.trakt_clients.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let ttl = c.secs("WATCHME_TRAKT_DEVICE_CODE_TTL_SECS", &self.trakt_device_code_ttl_secs, 5, 86_400);
        Trakt {
            prefix: self.prefix(c),
            devices: DeviceSettings {
                code_ttl: ttl,
                interval_secs: c.number(
                    "WATCHME_TRAKT_DEVICE_INTERVAL_SECS",
                    &self.trakt_device_interval_secs,
                    1u32,
                    60,
                ),
                clients: (!clients.is_empty()).then_some(clients),
            },
            scrobble: ScrobbleSettings {
                threshold: f64::from(c.number("WATCHME_SCROBBLE_THRESHOLD", &self.scrobble_threshold, 1u32, 100)),
                duplicate_window: c.secs("WATCHME_SCROBBLE_WINDOW_SECS", &self.scrobble_window_secs, 0, 7 * 86_400),
                watching_ttl: c.secs("WATCHME_WATCHING_TTL_SECS", &self.watching_ttl_secs, 60, 86_400),
            },
        }
    }
}
