//! The HTTP API: poem-openapi handlers, one group per file, with their
//! DTOs; the spec at `/openapi.json` and Swagger UI at `/docs`.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod dto;
pub mod extract;
pub mod health;
pub mod history;
pub mod imports;
pub mod library;
pub mod lists;
pub mod movies;
pub mod paging;
pub mod payload;
pub mod query;
mod router;
pub mod schema;
pub mod spec;
pub mod tags;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use poem::endpoint::make_sync;
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse};

use crate::context::RequestContext;
use crate::security::Guard;
use crate::state::AppState;

/// The whole HTTP application: API, spec, docs, and the middleware that
/// gives every response a request id, security and rate-limit headers, and
/// every failure the error shape.
pub fn app(state: Arc<AppState>) -> impl Endpoint<Output = poem::Response> {
    let service = spec::openapi(state.clone());
    let document = spec::document(&service);
    // Swagger UI embeds the document it is built from; poem-openapi builds
    // the page from its own, which is swapped for the completed one here.
    let docs_page: Arc<str> = service.swagger_ui_html().replacen(&service.spec(), &document, 1).into();
    let docs = move || {
        let page = docs_page.clone();
        make_sync(move |_| Html(page.to_string()))
    };
    let mut routes = router::operations(spec::apis(state.clone()))
        .at("/openapi.json", make_sync(move |_| document.clone().with_content_type("application/json; charset=utf-8")))
        .at("/docs", docs())
        .at("/docs/", docs());
    routes = routes.at("/webhooks/:kind/:secret", crate::webhooks::WebhookEndpoint);
    if let Some(prefix) = &state.http.trakt_prefix {
        let trakt = crate::trakt::TraktApi::new(prefix);
        routes = routes.at(format!("{prefix}/*rest"), trakt.clone()).at(prefix.as_str(), trakt);
    }
    if let Some(m) = state.metrics.clone().filter(|m| m.on_api_port) {
        routes = routes.at("/metrics", m.endpoint());
    }
    let slow = state.http.slow_request;
    match router::cors(&state.http.cors_origins) {
        Some(cors) => Guard::new(routes.with(cors), state),
        None => Guard::new(routes, state),
    }
    .with(RequestContext { slow_request: slow })
}
