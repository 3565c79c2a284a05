//! `GET /health/live`, `/health/ready`, `/health`.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use crate::app::AppState;
use crate::health::ProbeResult;

/// One dependency's state.
#[derive(Debug, Object)]
pub struct DependencyDto {
    /// Dependency name.
    pub name: String,
    /// `up`, `degraded` or `down`.
    pub status: String,
    /// Check latency in milliseconds.
    pub latency_ms: f64,
    /// Why it is not up.
    pub error: Option<String>,
}

/// The instance's health.
#[derive(Debug, Object)]
pub struct HealthDto {
    /// `up` (ready), `degraded` (ready, an optional dependency failing) or `down`.
    pub status: String,
    /// Version of this build.
    pub version: String,
    /// Each configured dependency.
    pub dependencies: Vec<DependencyDto>,
}

/// Process liveness.
#[derive(Debug, Object)]
pub struct LiveDto {
    /// Always `up` when the process answers.
    pub status: String,
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// Ready to serve.
    #[oai(status = 200)]
    Ok(Json<HealthDto>),
    /// A critical dependency is down.
    #[oai(status = 503)]
    Unavailable(Json<HealthDto>),
}

#[derive(ApiResponse)]
enum LiveResponse {
    /// The process is up.
    #[oai(status = 200)]
    Ok(Json<LiveDto>),
}

/// Probes for load balancers and orchestrators.
pub struct HealthApi {
    state: Arc<AppState>,
}

impl HealthApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    async fn report(&self) -> HealthResponse {
        let (ready, results) = self.state.health.check().await;
        let degraded = results.iter().any(|r| r.status != "up");
        let body = HealthDto {
            status: if !ready {
                "down"
            } else if degraded {
                "degraded"
            } else {
                "up"
            }
            .into(),
            version: env!("CARGO_PKG_VERSION").into(),
            dependencies: results.into_iter().map(dependency).collect(),
        };
        if ready {
            HealthResponse::Ok(Json(body))
        } else {
            HealthResponse::Unavailable(Json(body))
        }
    }
}

fn dependency(r: ProbeResult) -> DependencyDto {
    DependencyDto {
        name: r.name.into(),
        status: r.status.into(),
        latency_ms: (r.latency.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        error: r.error,
    }
}

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness: the process answers. Checks no dependency.
    #[oai(path = "/health/live", method = "get")]
    async fn live(&self) -> LiveResponse {
        LiveResponse::Ok(Json(LiveDto { status: "up".into() }))
    }

    /// Readiness: every configured dependency checked, with its latency.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self) -> HealthResponse {
        self.report().await
    }

    /// Combined view (the original service's path): same answer as `/health/ready`.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> HealthResponse {
        self.report().await
    }
}
