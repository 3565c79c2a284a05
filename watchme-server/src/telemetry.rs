//! Logging: JSON lines by default (one object per line, with the fields of
//! every enclosing span, so each line inside a request carries its request
//! id, trace id and user id), human-readable with `WATCHME_LOG_FORMAT=pretty`.

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber; a second call does nothing.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(true).try_init(),
        LogFormat::Pretty => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())).try_init(),
    };
}
