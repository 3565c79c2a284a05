//! The `watchme` command line: `serve` (the default) and operator tasks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{build_state, App, SigningKeys, Storage};
use crate::config::{Config, Database, RawConfig};

/// WatchMe: a movie-tracking backend.
#[derive(Debug, Parser)]
#[command(name = "watchme", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: RawConfig,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply the database migrations and exit (a no-op when up to date).
    Migrate,
    /// Run only the outbox relay (when servers run with WATCHME_RELAY=false).
    Relay,
    /// Run the analytics consumer: Kafka events into the analytics tables
    /// (needs WATCHME_KAFKA_BROKERS; run one per few partitions).
    Consume,
    /// Write a consistent backup of the database to a new file.
    Backup {
        /// The file to create.
        #[arg(long)]
        output: PathBuf,
    },
    /// Replace the database's contents with a backup (stop the servers first).
    Restore {
        /// A file made by `watchme backup`.
        #[arg(long)]
        input: PathBuf,
    },
    /// Import a file for a user (docs/imports.md): a Letterboxd, IMDb, Trakt or WatchMe export.
    Import {
        /// The user's email.
        #[arg(long)]
        user: String,
        /// What kind of file: letterboxd, imdb, trakt or watchme.
        #[arg(long)]
        source: String,
        /// Count what the file would add, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The file (a ZIP, CSV or JSON).
        path: PathBuf,
    },
    /// Write a user's export ZIP (watchme.json, letterboxd.csv, imdb-ratings.csv).
    Export {
        /// The user's email.
        #[arg(long)]
        user: String,
        /// The file to create.
        #[arg(long)]
        output: PathBuf,
    },
    /// Ask the local server's /health/live (or /health/ready) and exit 0
    /// when it answers 2xx: the container image's health check.
    Healthcheck {
        /// Check readiness (dependencies) instead of liveness.
        #[arg(long)]
        ready: bool,
    },
    /// Print the OpenAPI spec (JSON) and exit.
    Openapi,
    /// Validate the configuration and exit.
    CheckConfig,
}

/// Runs the command line; the exit code is 0 on success, 2 on bad configuration, 1 on failure.
pub async fn main() -> ExitCode {
    // One TLS provider for the whole process, before anything connects:
    // the HTTPS listener, rediss:// and any other rustls user.
    crate::app::install_crypto_provider();
    let cli = Cli::parse();
    let config = match cli.config.validate() {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("watchme: invalid configuration:");
            for e in errors {
                eprintln!("  {e}");
            }
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    // Held until main returns, so the last lines reach the log file.
    let mut _log_guard = crate::telemetry::LogGuard::default();
    if !matches!(command, Command::Openapi | Command::CheckConfig | Command::Healthcheck { .. }) {
        match crate::telemetry::init(&config) {
            Ok(g) => _log_guard = g,
            Err(e) => {
                eprintln!("watchme: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let result = match command {
        Command::CheckConfig => {
            println!("configuration is valid");
            Ok(())
        }
        Command::Openapi => openapi(&config).await,
        Command::Healthcheck { ready } => crate::healthcheck::check(&config, ready).await,
        Command::Import { user, source, dry_run, path } => {
            crate::transfer::import(&config, &user, &source, &path, dry_run).await
        }
        Command::Export { user, output } => crate::transfer::export(&config, &user, &output).await,
        Command::Serve => serve(config).await,
        Command::Migrate => Storage::open(&config, true).await.map(|_| ()).map_err(|e| e.to_string()),
        Command::Relay => relay(config).await,
        Command::Consume => consume(config).await,
        Command::Backup { output } => crate::ops::backup(&config, &output).await.map_err(|e| e.to_string()).map(|()| {
            tracing::info!(output = %output.display(), "backup written");
        }),
        Command::Restore { input } => crate::ops::restore(&config, &input).await.map_err(|e| e.to_string()).map(|()| {
            tracing::info!(input = %input.display(), "backup restored");
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "failed");
            eprintln!("watchme: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn openapi(config: &Config) -> Result<(), String> {
    // The spec does not depend on storage; memory avoids touching a database.
    let mut memory = config.clone();
    memory.database.url = Database::Memory;
    let storage = Storage::open(&memory, false).await.map_err(|e| e.to_string())?;
    let w = build_state(&memory, storage, SigningKeys::hs256(&[0; 32]).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    println!("{}", crate::api::spec::document(&crate::api::spec::openapi(w.state)));
    Ok(())
}

async fn serve(config: Config) -> Result<(), String> {
    let app = App::build(config).await.map_err(|e| format!("could not start: {e}"))?;
    app.run_until(shutdown_signal()).await.map_err(|e| format!("server failed: {e}"))
}

async fn relay(config: Config) -> Result<(), String> {
    let storage = Storage::open(&config, config.database.auto_migrate).await.map_err(|e| e.to_string())?;
    let w = build_state(&config, storage, SigningKeys::hs256(&[0; 32]).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    crate::app::prepare_topics(&config).await.map_err(|e| e.to_string())?;
    let metrics = metrics_listener(&config, w.state.metrics.clone().unwrap_or_default());
    tracing::info!(database = %config.database.url.redacted(), "outbox relay running");
    w.relay.run(shutdown_signal()).await;
    if let Some(m) = metrics {
        m.abort();
    }
    Ok(())
}

async fn consume(config: Config) -> Result<(), String> {
    let Some(kafka) = &config.kafka else {
        return Err("`watchme consume` reads events from Kafka: set WATCHME_KAFKA_BROKERS".into());
    };
    let storage = Storage::open(&config, config.database.auto_migrate).await.map_err(|e| e.to_string())?;
    crate::app::prepare_topics(&config).await.map_err(|e| e.to_string())?;
    let clock = std::sync::Arc::new(watchme_core::ports::SystemClock);
    let analytics =
        std::sync::Arc::new(watchme_core::services::AnalyticsService::new(storage.analytics.clone(), clock));
    let pruner = {
        let analytics = analytics.clone();
        tokio::spawn(async move {
            loop {
                crate::app::prune_applied(&analytics).await;
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        })
    };
    let handler =
        std::sync::Arc::new(crate::traced::TracedHandler::new(analytics, "kafka", kafka.config.events_topic()));
    let consumer = watchme_adapters::kafka::KafkaConsumer::new(&kafka.config, kafka.consumer.clone(), handler)
        .map_err(|e| format!("Kafka consumer settings refused: {e}"))?;
    let gauges = crate::metrics::Gauges { sql: storage.sql.clone(), ..Default::default() };
    let metrics = config
        .telemetry
        .metrics
        .as_ref()
        .and_then(|m| metrics_listener(&config, crate::metrics::MetricsMount::new(m, gauges)));
    tracing::info!(database = %config.database.url.redacted(), brokers = %kafka.config.brokers, topic = %kafka.config.events_topic(), group = %kafka.consumer.group_id, "analytics consumer running");
    consumer.run(shutdown_signal()).await;
    pruner.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    if let Some(sql) = &storage.sql {
        sql.close().await;
    }
    Ok(())
}

/// The `/metrics` listener of a process without an API port, when
/// `WATCHME_METRICS_BIND` is set.
fn metrics_listener(config: &Config, mount: crate::metrics::MetricsMount) -> Option<tokio::task::JoinHandle<()>> {
    let addr = config.telemetry.metrics.as_ref()?.bind?;
    Some(crate::metrics::spawn_listener(addr, mount))
}

/// Completes on Ctrl-C or SIGTERM. The SIGTERM handler is installed when
/// this is called, not when the future is first polled: a server announces
/// "listening" before it polls it, and a SIGTERM in between would otherwise
/// kill the process the default way, skipping the graceful stop.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
        tracing::info!("shutdown requested");
    }
}
