//! WatchMe's HTTP server: the poem-openapi API, its middleware, the typed
//! configuration, the composition root and the `watchme` command line.
//!
//! Embed it to serve WatchMe from your own binary:
//! `App::build(config).await?.run_until(shutdown).await`.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod context;
pub mod error;
pub mod health;
pub mod healthcheck;
pub mod metrics;
pub mod ops;
pub mod request;
pub mod security;
pub mod state;
pub mod telemetry;
pub mod traced;
pub mod trakt;
pub mod transfer;
pub mod webhooks;

pub use app::{App, StartError};
pub use config::{Config, RawConfig};
pub use state::AppState;
