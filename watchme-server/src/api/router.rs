//! The API's own router: the operations poem-openapi declares, routed by
//! path and then method with one boxed endpoint per request (see
//! `operations`), and CORS for the configured origins.

use std::collections::HashMap;
use std::future::Future;

use futures_util::future::{self, Either};
use futures_util::FutureExt as _;
use poem::endpoint::{BoxEndpoint, DynEndpoint};
use poem::http::{HeaderValue, Method};
use poem::middleware::Cors;
use poem::{Endpoint, Route};
use poem_openapi::OpenApi;

use super::spec::Apis;

/// The operations of `apis` in one router, next to which the spec, docs and
/// metrics are mounted.
///
/// `OpenApiService::into_endpoint` builds the same router but wraps it in
/// four boxed endpoints per request (the service, the path's route, the
/// method's route, the operation), each moving the request and its future to
/// the heap: about 4k instructions of a cached page (docs/benchmarks.md).
/// Here a path's operations are found by method in the path's endpoint, so
/// a request passes the router's box and the operation's.
pub(super) fn operations(apis: Apis) -> Route {
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
        let not_allowed = || Either::Left(future::ready(Ok(crate::error::method_not_allowed(self.allow.clone()))));
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
pub(super) fn cors(origins: &[String]) -> Option<Cors> {
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
