//! Logging settings: the filter, the format on stdout, and rotating log
//! files.

use std::path::PathBuf;

use clap::Args;

use super::check::Check;

const DEFAULT_LOG: &str = "info";
const DEFAULT_LOG_FORMAT: &str = "auto";
const DEFAULT_LOG_ROTATION: &str = "daily";
const DEFAULT_LOG_KEEP: &str = "7";

/// Raw logging settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logging")]
pub struct RawLogging {
    /// Log filter in RUST_LOG syntax (e.g. `info,watchme_server=debug`).
    #[arg(long, env = "WATCHME_LOG", default_value = DEFAULT_LOG)]
    pub log: String,
    /// Log format: `json`, `pretty`, or `auto` (pretty on a terminal, JSON otherwise).
    #[arg(long, env = "WATCHME_LOG_FORMAT", default_value = DEFAULT_LOG_FORMAT)]
    pub log_format: String,
    /// Also write JSON logs to rotating files in this directory.
    #[arg(long, env = "WATCHME_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// Log file rotation: `daily`, `hourly` or `never`.
    #[arg(long, env = "WATCHME_LOG_ROTATION", default_value = DEFAULT_LOG_ROTATION)]
    pub log_rotation: String,
    /// Log files kept (older ones are deleted).
    #[arg(long, env = "WATCHME_LOG_KEEP", default_value = DEFAULT_LOG_KEEP)]
    pub log_keep: String,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (for log shippers).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
    /// Pretty when stdout is a terminal, JSON otherwise (default).
    Auto,
}

/// How often log files are rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRotation {
    /// A new file every day (UTC).
    Daily,
    /// A new file every hour.
    Hourly,
    /// One file, never rotated.
    Never,
}

/// Log files next to stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFiles {
    /// Directory of the files (`watchme.<date>.log`).
    pub dir: PathBuf,
    /// Rotation period.
    pub rotation: LogRotation,
    /// Files kept.
    pub keep: usize,
}

/// The validated logging settings.
#[derive(Debug, Clone)]
pub struct Logging {
    /// Log filter.
    pub filter: String,
    /// Log format.
    pub format: LogFormat,
    /// Rotating log files, when configured.
    pub files: Option<LogFiles>,
}

impl RawLogging {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            log: DEFAULT_LOG.into(),
            log_format: DEFAULT_LOG_FORMAT.into(),
            log_dir: None,
            log_rotation: DEFAULT_LOG_ROTATION.into(),
            log_keep: DEFAULT_LOG_KEEP.into(),
        }
    }

    pub(super) fn validate(&self, c: &mut Check) -> Logging {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            c.fail(
                "WATCHME_LOG",
                format!("not a valid filter ({e}); use RUST_LOG syntax such as `info` or `info,watchme_server=debug`"),
            );
        }
        let format = match self.log_format.trim() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            "auto" => LogFormat::Auto,
            other => {
                c.fail("WATCHME_LOG_FORMAT", format!("expected `json`, `pretty` or `auto`, got {other:?}"));
                LogFormat::Json
            }
        };
        let rotation = match self.log_rotation.trim() {
            "daily" => LogRotation::Daily,
            "hourly" => LogRotation::Hourly,
            "never" => LogRotation::Never,
            other => {
                c.fail("WATCHME_LOG_ROTATION", format!("expected `daily`, `hourly` or `never`, got {other:?}"));
                LogRotation::Daily
            }
        };
        let keep = c.number("WATCHME_LOG_KEEP", &self.log_keep, 1usize, 10_000);
        let files = self.log_dir.as_ref().filter(|d| !d.as_os_str().is_empty()).map(|dir| LogFiles {
            dir: dir.clone(),
            rotation,
            keep,
        });
        Logging { filter: self.log.clone(), format, files }
    }
}
