//! The `watchme` command line: `serve` (the default) and operator tasks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{build_state, App};
use crate::config::RawConfig;

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
    /// Print the OpenAPI spec (JSON) and exit.
    Openapi,
    /// Validate the configuration and exit.
    CheckConfig,
}

/// Runs the command line; the exit code is 0 on success, 2 on bad configuration, 1 on failure.
pub async fn main() -> ExitCode {
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
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            println!("configuration is valid");
            ExitCode::SUCCESS
        }
        Command::Openapi => match build_state(&config, vec![0; 32]) {
            Ok(w) => {
                println!("{}", crate::api::openapi(w.state).spec());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("watchme: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve => {
            crate::telemetry::init(&config);
            let app = match App::build(config).await {
                Ok(app) => app,
                Err(e) => {
                    tracing::error!(error = %e, "could not start");
                    return ExitCode::FAILURE;
                }
            };
            match app.run_until(shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "server failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
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
