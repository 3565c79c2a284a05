//! Telemetry settings: span export over OTLP and Prometheus metrics.

use std::net::SocketAddr;

use clap::Args;

use super::check::Check;

const DEFAULT_TRACE_SAMPLE_RATIO: &str = "1.0";
const DEFAULT_METRICS: &str = "true";

/// Raw telemetry settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Telemetry")]
pub struct RawTelemetry {
    /// OTLP/HTTP endpoint spans are exported to (e.g. http://collector:4318);
    /// unset: OTEL_EXPORTER_OTLP_ENDPOINT, else nothing is exported.
    #[arg(long, env = "WATCHME_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Share of new traces sampled (0.0 to 1.0); a caller's sampling decision is followed.
    #[arg(long, env = "WATCHME_TRACE_SAMPLE_RATIO", default_value = DEFAULT_TRACE_SAMPLE_RATIO)]
    pub trace_sample_ratio: String,
    /// Serve Prometheus metrics at /metrics.
    #[arg(long, env = "WATCHME_METRICS", default_value = DEFAULT_METRICS)]
    pub metrics: String,
    /// Serve /metrics on this address instead of the API's (e.g. 127.0.0.1:9090).
    #[arg(long, env = "WATCHME_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Comma-separated addresses/CIDRs allowed to scrape /metrics; empty = anyone who reaches it.
    #[arg(long, env = "WATCHME_METRICS_ALLOW", default_value = "")]
    pub metrics_allow: String,
}

/// Where spans are exported and how many.
#[derive(Debug, Clone, PartialEq)]
pub struct Otlp {
    /// OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`.
    pub endpoint: String,
    /// Share of new traces sampled.
    pub sample_ratio: f64,
}

/// Where and to whom `/metrics` is served.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// A separate listen address; `None` = on the API's own.
    pub bind: Option<SocketAddr>,
    /// Who may scrape; empty = anyone.
    pub allow: Vec<ipnet::IpNet>,
}

/// The validated telemetry settings.
#[derive(Debug, Clone)]
pub struct Telemetry {
    /// Span export, when an OTLP endpoint is configured.
    pub otlp: Option<Otlp>,
    /// Prometheus metrics, when on.
    pub metrics: Option<Metrics>,
}

impl RawTelemetry {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            otlp_endpoint: None,
            trace_sample_ratio: DEFAULT_TRACE_SAMPLE_RATIO.into(),
            metrics: DEFAULT_METRICS.into(),
            metrics_bind: None,
            metrics_allow: String::new(),
        }
    }

    pub(super) fn validate(&self, c: &mut Check) -> Telemetry {
        let sample_ratio = match self.trace_sample_ratio.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                c.fail(
                    "WATCHME_TRACE_SAMPLE_RATIO",
                    format!("expected a number from 0.0 to 1.0, got {:?}", self.trace_sample_ratio),
                );
                1.0
            }
        };
        let endpoint = self
            .otlp_endpoint
            .clone()
            .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty());
        let otlp = endpoint.map(|endpoint| {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                c.fail("WATCHME_OTLP_ENDPOINT", format!("expected an http:// or https:// URL, got {endpoint:?}"));
            }
            Otlp { endpoint, sample_ratio }
        });
        let metrics = c.boolean("WATCHME_METRICS", &self.metrics).then(|| Metrics {
            bind: self.metrics_bind.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|s| {
                s.parse::<SocketAddr>()
                    .map_err(|_| {
                        c.fail("WATCHME_METRICS_BIND", format!("expected host:port with an IP host, got {s:?}"))
                    })
                    .ok()
            }),
            allow: c.ip_nets("WATCHME_METRICS_ALLOW", &self.metrics_allow),
        });
        Telemetry { otlp, metrics }
    }
}
