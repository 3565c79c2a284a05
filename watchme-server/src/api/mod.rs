//! The HTTP API: poem-openapi handlers, one group per file, with their
//! DTOs; the spec at `/openapi.json` and Swagger UI at `/docs`.

pub use crate::error;

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod dto;
pub mod extract;
pub mod health;
pub mod library;
pub mod movies;
pub mod paging;
pub mod payload;
pub mod query;
pub mod schema;
pub mod spec;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::{self, Either};
use futures_util::FutureExt as _;

use poem::endpoint::make_sync;
use poem::endpoint::{BoxEndpoint, DynEndpoint};
use poem::http::{HeaderValue, Method};
use poem::middleware::Cors;
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Route};
use poem_openapi::{OpenApi, OpenApiService, Tags};

use crate::context::RequestContext;
use crate::security::Guard;
use crate::state::AppState;

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

/// Every handler group over `state`.
pub fn apis(state: Arc<AppState>) -> Apis {
    (
        auth::AuthApi::new(state.clone()),
        movies::MoviesApi::new(state.clone()),
        library::LibraryApi::new(state.clone()),
        analytics::AnalyticsApi::new(state.clone()),
        health::HealthApi::new(state.clone()),
        admin::AdminApi::new(state),
    )
}

/// The OpenAPI service over `state`: the spec and the docs.
pub fn openapi(state: Arc<AppState>) -> OpenApiService<Apis, ()> {
    OpenApiService::new(apis(state), "WatchMe", env!("CARGO_PKG_VERSION")).description(
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
    let service = openapi(state.clone());
    let document = spec::document(&service);
    // Swagger UI embeds the document it is built from; poem-openapi builds
    // the page from its own, which is swapped for the completed one here.
    let docs_page: Arc<str> = service.swagger_ui_html().replacen(&service.spec(), &document, 1).into();
    let docs = move || {
        let page = docs_page.clone();
        make_sync(move |_| Html(page.to_string()))
    };
    let mut routes = operations(apis(state.clone()))
        .at("/openapi.json", make_sync(move |_| document.clone().with_content_type("application/json; charset=utf-8")))
        .at("/docs", docs())
        .at("/docs/", docs());
    if let Some(m) = state.metrics.clone().filter(|m| m.on_api_port) {
        routes = routes.at("/metrics", m.endpoint());
    }
    let slow = state.http.slow_request;
    match cors(&state.http.cors_origins) {
        Some(cors) => Guard::new(routes.with(cors), state),
        None => Guard::new(routes, state),
    }
    .with(RequestContext { slow_request: slow })
}

/// The operations of `apis` in one router, next to which the spec, docs and
/// metrics are mounted.
///
/// `OpenApiService::into_endpoint` builds the same router but wraps it in
/// four boxed endpoints per request (the service, the path's route, the
/// method's route, the operation), each moving the request and its future to
/// the heap: about 4k instructions of a cached page (docs/benchmarks.md).
/// Here a path's operations are found by method in the path's endpoint, so
/// a request passes the router's box and the operation's.
fn operations(apis: Apis) -> Route {
    let mut table = HashMap::new();
    apis.add_routes(&mut table);
    table
        .into_iter()
        .fold(Route::new(), |route, (path, methods)| route.at(path, ByMethod::new(methods.into_iter().collect())))
}

/// One path's operations, by method, as poem's `RouteMethod` answers: HEAD
/// falls back to GET without the body, any other method without an
/// operation is a 405 whose `Allow` header lists the path's methods.
struct ByMethod {
    ops: Vec<(Method, BoxEndpoint<'static>)>,
    allow: HeaderValue,
}

impl ByMethod {
    fn new(mut ops: Vec<(Method, BoxEndpoint<'static>)>) -> Self {
        ops.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let mut methods: Vec<&str> = ops.iter().map(|(m, _)| m.as_str()).collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        let allow = HeaderValue::from_str(&methods.join(", ")).unwrap_or(HeaderValue::from_static(""));
        Self { ops, allow }
    }
}

impl Endpoint for ByMethod {
    type Output = poem::Response;

    // Not an `async fn`, and the operation is called through its
    // `DynEndpoint` box: poem's `Box<dyn DynEndpoint>` endpoint adds two async
    // layers that each hold the request again, and this future, boxed by the
    // router per request, was 1.5 KB for them where the box is all it needs.
    fn call(&self, mut req: poem::Request) -> impl Future<Output = poem::Result<poem::Response>> + Send {
        let find = |m: &Method| self.ops.iter().find(|(method, _)| method == m).map(|(_, ep)| ep);
        let not_allowed = || Either::Left(future::ready(Ok(error::method_not_allowed(self.allow.clone()))));
        let (ep, head) = match find(req.method()) {
            Some(ep) => (ep, false),
            None if req.method() == Method::HEAD => match find(&Method::GET) {
                Some(ep) => (ep, true),
                None => return not_allowed(),
            },
            None => return not_allowed(),
        };
        if head {
            req.set_method(Method::GET);
        }
        Either::Right(DynEndpoint::call(&**ep, req).map(move |answer| {
            let mut resp = answer?;
            if head {
                resp.set_body(());
            }
            Ok(resp)
        }))
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
                "traceparent",
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
