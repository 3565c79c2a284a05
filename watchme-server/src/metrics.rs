//! Prometheus metrics: the process-wide recorder behind the `metrics`
//! facade (which the core and adapters count through), the gauges read at
//! scrape time, and the `/metrics` endpoint.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::http::StatusCode;
use poem::{handler, web::Data, IntoResponse, Request, Response};
use watchme_adapters::sql::SqlStore;
use watchme_adapters::tmdb::{BreakerState, TmdbSource};
use watchme_core::ports::Outbox;
use watchme_core::services::RateLimits;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The global Prometheus recorder's handle, installing the recorder on first
/// use. Without it every `metrics::counter!` is a no-op; several servers in
/// one process (tests) share it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("static, non-empty buckets");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder already installed (an embedding application's):
        // ours still renders what is recorded through it, which is nothing.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will only show WatchMe's gauges");
        }
        spawn_upkeep(handle.clone());
        handle
    })
}

/// How often recorded histogram samples are folded into their buckets.
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds histogram samples into their buckets every [`UPKEEP_INTERVAL`].
/// The recorder keeps every sample until then; folding them only when
/// `/metrics` was scraped let memory grow by about 16 bytes per request on
/// a server nobody scraped (a gigabyte an hour at 20,000 requests a second).
/// A plain thread, so it runs whatever runtime (or none) records.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
        std::thread::sleep(UPKEEP_INTERVAL);
        handle.run_upkeep();
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the metrics upkeep thread; histograms are folded on scrape only");
    }
}

/// What the scrape reads on demand: state that is cheaper to look at than to track.
#[derive(Clone, Default)]
pub struct Gauges {
    /// The outbox, for backlog size and age.
    pub outbox: Option<Arc<dyn Outbox>>,
    /// The SQL pool, for connections in use and idle.
    pub sql: Option<SqlStore>,
    /// TMDb, for the breaker state.
    pub tmdb: Option<Arc<TmdbSource>>,
    /// Rate limits, for whether the shared limiter is down.
    pub limits: Option<Arc<RateLimits>>,
}

impl Gauges {
    async fn refresh(&self) {
        if let Some(outbox) = &self.outbox {
            if let Ok(stats) = outbox.stats().await {
                metrics::gauge!("watchme_outbox_backlog_events").set(stats.unpublished as f64);
                let age = stats
                    .oldest_unpublished_at
                    .map_or(0.0, |t| (time::OffsetDateTime::now_utc() - t).as_seconds_f64().max(0.0));
                metrics::gauge!("watchme_outbox_oldest_unpublished_age_seconds").set(age);
            }
        }
        if let Some(sql) = &self.sql {
            let (size, idle) = (sql.pool().size() as f64, sql.pool().num_idle() as f64);
            metrics::gauge!("watchme_db_pool_connections", "state" => "idle").set(idle);
            metrics::gauge!("watchme_db_pool_connections", "state" => "in_use").set((size - idle).max(0.0));
        }
        if let Some(tmdb) = &self.tmdb {
            let state = tmdb.breaker_state();
            for (name, s) in
                [("closed", BreakerState::Closed), ("open", BreakerState::Open), ("half_open", BreakerState::HalfOpen)]
            {
                let v = if state == s { 1.0 } else { 0.0 };
                metrics::gauge!("watchme_tmdb_breaker_state", "state" => name).set(v);
            }
        }
        if let Some(limits) = &self.limits {
            metrics::gauge!("watchme_rate_limiter_degraded").set(if limits.is_degraded() { 1.0 } else { 0.0 });
        }
    }
}

/// How `/metrics` is served: what it reads, who may scrape, and where.
#[derive(Clone, Default)]
pub struct MetricsMount {
    /// Read at scrape time.
    pub gauges: Gauges,
    /// Who may scrape.
    pub access: MetricsAccess,
    /// Served on the API's port (else on `WATCHME_METRICS_BIND` only).
    pub on_api_port: bool,
}

impl MetricsMount {
    /// The mount the config asks for, reading `gauges`; installs the recorder.
    pub fn new(config: &crate::config::Metrics, gauges: Gauges) -> Self {
        handle();
        Self { gauges, access: MetricsAccess(config.allow.clone()), on_api_port: config.bind.is_none() }
    }

    /// The `/metrics` endpoint with what it reads and who may call it.
    pub fn endpoint(self) -> impl poem::Endpoint<Output = Response> {
        poem::EndpointExt::data(poem::EndpointExt::data(endpoint, self.gauges), self.access)
    }
}

/// Who may scrape: everyone when empty.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess(pub Vec<IpNet>);

/// `GET /metrics` in the Prometheus text format.
#[handler]
pub async fn endpoint(req: &Request, gauges: Data<&Gauges>, access: Data<&MetricsAccess>) -> Response {
    let peer: Option<IpAddr> = req.remote_addr().as_socket_addr().map(std::net::SocketAddr::ip);
    if !access.0 .0.is_empty() && !peer.is_some_and(|ip| access.0 .0.iter().any(|n| n.contains(&ip))) {
        return crate::error::ApiError::forbidden("metrics are not served to this address").into_response();
    }
    gauges.0.refresh().await;
    let h = handle();
    h.run_upkeep();
    h.render().with_content_type("text/plain; version=0.0.4; charset=utf-8").with_status(StatusCode::OK).into_response()
}

/// Serves `/metrics` alone on `addr` (`WATCHME_METRICS_BIND`) until the task
/// is aborted: for the server when metrics live on their own port, and for
/// `watchme relay` and `watchme consume`, which have no API port.
pub fn spawn_listener(addr: std::net::SocketAddr, mount: MetricsMount) -> tokio::task::JoinHandle<()> {
    handle();
    let app = poem::Route::new().at("/metrics", mount.endpoint());
    tracing::info!(%addr, "metrics served on their own address");
    tokio::spawn(async move {
        if let Err(e) = poem::Server::new(poem::listener::TcpListener::bind(addr)).run(app).await {
            tracing::error!(error = %e, %addr, "metrics listener failed");
        }
    })
}
