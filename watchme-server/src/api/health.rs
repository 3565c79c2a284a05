//! `GET /health/live`, `/health/ready`, `/health`.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::tags::Tag;
use crate::health::ProbeResult;
use crate::state::AppState;

/// How well something works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Works.
    Up,
    /// Ready, but something optional fails.
    Degraded,
    /// Does not work.
    Down,
}

impl HealthStatus {
    fn of_probe(status: &str) -> Self {
        match status {
            "up" => Self::Up,
            "degraded" => Self::Degraded,
            _ => Self::Down,
        }
    }
}

/// One dependency's state.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DependencyDto {
    /// Dependency name.
    pub name: String,
    /// `up`, `degraded` (failing, but not required for readiness) or `down`.
    pub status: HealthStatus,
    /// Check latency in milliseconds.
    pub latency_ms: f64,
    /// Why it is not up (absent when it is).
    pub error: Option<String>,
}

/// The instance's health.
#[derive(Debug, Object)]
pub struct HealthDto {
    /// `up` (ready), `degraded` (ready, an optional dependency failing) or `down`.
    pub status: HealthStatus,
    /// Version of this build.
    pub version: String,
    /// Each configured dependency.
    pub dependencies: Vec<DependencyDto>,
}

/// Process liveness.
#[derive(Debug, Object)]
pub struct LiveDto {
    /// Always `up` when the process answers.
    pub status: HealthStatus,
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
                HealthStatus::Down
            } else if degraded {
                HealthStatus::Degraded
            } else {
                HealthStatus::Up
            },
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
        status: HealthStatus::of_probe(r.status),
        latency_ms: (r.latency.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        error: r.error,
    }
}

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness: the process answers. Checks no dependency.
    #[oai(path = "/health/live", method = "get", operation_id = "live")]
    async fn live(&self) -> LiveResponse {
        LiveResponse::Ok(Json(LiveDto { status: HealthStatus::Up }))
    }

    /// Readiness: every configured dependency checked, with its latency.
    #[oai(path = "/health/ready", method = "get", operation_id = "ready")]
    async fn ready(&self) -> HealthResponse {
        self.report().await
    }

    /// Combined view (the original service's path): same answer as `/health/ready`.
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn health(&self) -> HealthResponse {
        self.report().await
    }
}
