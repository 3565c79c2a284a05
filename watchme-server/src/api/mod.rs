//! The HTTP API: poem-openapi handlers, one group per file, with their
//! DTOs; the spec at `/openapi.json` and Swagger UI at `/docs`.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod health;
pub mod library;
pub mod movies;
pub mod paging;
pub mod payload;

use std::sync::Arc;

use poem::http::Method;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::app::AppState;
use crate::context::RequestContext;
use crate::security::Guard;

/// Groups of operations in the spec.
#[derive(Tags)]
pub enum Tag {
    /// Accounts and tokens.
    Auth,
    /// Browsing and searching movies.
    Movies,
    /// The caller's favorites and library.
    Library,
    /// Statistics computed from the event stream.
    Analytics,
    /// Liveness and readiness probes.
    Health,
    /// Operator endpoints (admin role).
    Admin,
}

/// Every handler group.
pub type Apis = (
    auth::AuthApi,
    movies::MoviesApi,
    library::LibraryApi,
    analytics::AnalyticsApi,
    health::HealthApi,
    admin::AdminApi,
);

/// The OpenAPI service over `state`.
pub fn openapi(state: Arc<AppState>) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            auth::AuthApi::new(state.clone()),
            movies::MoviesApi::new(state.clone()),
            library::LibraryApi::new(state.clone()),
            analytics::AnalyticsApi::new(state.clone()),
            health::HealthApi::new(state.clone()),
            admin::AdminApi::new(state),
        ),
        "WatchMe",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Movie tracking: accounts, popular movies, search and details, a personal library \
         (views, favorites, watch status, ratings) and analytics. Every error answers \
         `{code, message, request_id, details?}`; every list answers a page body and \
         `X-Pagination-*` headers.",
    )
}

/// The whole HTTP application: API, spec, docs, and the middleware that
/// gives every response a request id, security and rate-limit headers, and
/// every failure the error shape.
pub fn app(state: Arc<AppState>) -> impl Endpoint<Output = poem::Response> {
    let api = openapi(state.clone());
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let cors = cors(&state.http.cors_origins);
    let slow = state.http.slow_request;
    let mut side = Route::new().at("/openapi.json", spec).nest("/docs", docs);
    if let Some(m) = state.metrics.clone().filter(|m| m.on_api_port) {
        side = side.at("/metrics", m.endpoint());
    }
    let routes = Mounts { api: api.into_endpoint(), side }.with_if(cors.is_some(), cors.unwrap_or_default());
    Guard::new(routes, state).with(RequestContext { slow_request: slow })
}

/// The spec, the docs and the metrics by their paths, everything else
/// straight to the OpenAPI service. Nesting the service under a
/// `Route::nest("/")` matched every request's path twice, rebuilt its URI
/// and boxed its future once more (docs/benchmarks.md).
struct Mounts<A, S> {
    api: A,
    side: S,
}

impl<A: Endpoint<Output = poem::Response>, S: Endpoint<Output = poem::Response>> Endpoint for Mounts<A, S> {
    type Output = poem::Response;

    async fn call(&self, req: poem::Request) -> poem::Result<poem::Response> {
        let path = req.uri().path();
        if path == "/openapi.json" || path == "/metrics" || path == "/docs" || path.starts_with("/docs/") {
            // Boxed: the API path's future would otherwise be as large as this rare one.
            Box::pin(self.side.call(req)).await
        } else {
            self.api.call(req).await
        }
    }
}

/// CORS for the configured origins only; `None` (no CORS headers at all,
/// so browsers allow same-origin use only) when the list is empty.
fn cors(origins: &[String]) -> Option<Cors> {
    if origins.is_empty() {
        return None;
    }
    Some(
        Cors::new()
            .allow_origins(origins.iter().map(String::as_str))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers(["authorization", "content-type", "x-request-id", "traceparent"])
            .expose_headers([
                "x-request-id",
                "x-cache",
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "x-pagination-page",
                "x-pagination-limit",
                "x-pagination-page-count",
                "x-pagination-item-count",
            ])
            .max_age(600),
    )
}
