//! Logging: JSON lines (one object per line, with the fields of every
//! enclosing span, so each line inside a request carries its request id,
//! trace id and user id) or human-readable on a terminal; optionally also
//! JSON to rotating files.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{Config, LogFormat, LogRotation};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

fn json_layer<W>(writer: W) -> BoxedLayer
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_writer(writer)
        .boxed()
}

/// Keeps the log file writer flushing; hold it until the process ends.
pub type LogGuard = Option<WorkerGuard>;

/// Installs the global subscriber (a second call does nothing).
///
/// # Errors
/// When the log directory cannot be created or written.
pub fn init(config: &Config) -> Result<LogGuard, String> {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = std::io::stdout().is_terminal();
    let pretty = match config.log_format {
        LogFormat::Json => false,
        LogFormat::Pretty => true,
        LogFormat::Auto => terminal,
    };
    let mut layers: Vec<BoxedLayer> = vec![if pretty {
        tracing_subscriber::fmt::layer().with_ansi(terminal).with_writer(std::io::stdout).boxed()
    } else {
        json_layer(std::io::stdout)
    }];
    let mut guard = None;
    if let Some(files) = &config.log_files {
        let rotation = match files.rotation {
            LogRotation::Daily => Rotation::DAILY,
            LogRotation::Hourly => Rotation::HOURLY,
            LogRotation::Never => Rotation::NEVER,
        };
        std::fs::create_dir_all(&files.dir).map_err(|e| format!("WATCHME_LOG_DIR {}: {e}", files.dir.display()))?;
        let appender = RollingFileAppender::builder()
            .rotation(rotation)
            .filename_prefix("watchme")
            .filename_suffix("log")
            .max_log_files(files.keep)
            .build(&files.dir)
            .map_err(|e| format!("WATCHME_LOG_DIR {}: {e}", files.dir.display()))?;
        // Not lossy: when the disk is slow, logging waits rather than dropping lines.
        let (writer, g) = NonBlockingBuilder::default().lossy(false).finish(appender);
        layers.push(json_layer(writer));
        guard = Some(g);
    }
    let _ = tracing_subscriber::registry().with(layers).with(filter).try_init();
    Ok(guard)
}
