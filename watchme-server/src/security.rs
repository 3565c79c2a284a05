//! HTTP-level protections: the client's IP (believing X-Forwarded-For only
//! from trusted proxies), rate limits with their `RateLimit-*` headers, and
//! the security headers every response carries.

use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::future::{self, Either};
use futures_util::FutureExt as _;
use poem::endpoint::{BoxEndpoint, DynEndpoint};
use poem::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, RETRY_AFTER, STRICT_TRANSPORT_SECURITY,
};
use poem::http::{HeaderName, HeaderValue, Method, StatusCode};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};
use watchme_core::ports::RateDecision;
use watchme_core::services::{stricter, RateLimits, Requester};

use crate::error::{error_response, ApiError};
use crate::state::{AppState, HttpPolicy};

/// What the guard resolved for a request, as one piece of request data
/// (one insert where four showed in the profile): the state (with its
/// policy, such as the largest body accepted), the client's IP and the slot
/// for a stricter rate-limit decision.
#[derive(Clone)]
pub struct RequestScope {
    /// The application state.
    pub state: Arc<AppState>,
    /// The client's IP.
    pub client_ip: ClientIp,
    rate: RateSlot,
}

/// The client's IP as resolved for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// The resolved IP of `req`, as a rate-limit key and for session records.
    pub fn of(req: &Request) -> String {
        match req.data::<RequestScope>().and_then(|s| s.client_ip.0) {
            Some(ip) => ip.to_string(),
            None => "unknown".into(),
        }
    }
}

/// A bearer token the guard already authenticated, with what it asserts
/// (request data), so the handler does not check it again.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The token as sent.
    pub token: String,
    /// What it asserts; its session was active.
    pub claims: watchme_core::ports::AccessClaims,
}

/// Where a handler leaves a stricter rate-limit decision (login's) for the
/// response headers (in the [`RequestScope`]).
#[derive(Debug, Clone, Default)]
pub struct RateSlot(Arc<Mutex<Option<RateDecision>>>);

impl RateSlot {
    /// Records `d` on `req`'s slot, keeping the stricter of what is there and `d`.
    pub fn record(req: &Request, d: RateDecision) {
        if let Some(scope) = req.data::<RequestScope>() {
            let mut s = scope.rate.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *s = Some(match *s {
                Some(prev) => stricter(prev, d),
                None => d,
            });
        }
    }

    fn take(&self) -> Option<RateDecision> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

fn ceil_secs(d: std::time::Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

/// Sets a response header; a value that is not a valid header value is left out.
pub(crate) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Everything between the request context and the routes, as one
/// endpoint: catches panics (the opaque 500 of the error shape), gives the
/// request its data (the state, the body limit, the client IP), applies the
/// general rate limit (per user with a valid token, else per IP), runs the
/// request, then adds the `RateLimit-*` and security headers.
///
/// One endpoint instead of a panic catcher, two data layers and an `around`
/// closure: each layer's future held the request and the layer below it, and
/// was copied whole whenever it moved, about 10 KB per request
/// (docs/benchmarks.md).
///
/// The routes are held boxed and called through their `DynEndpoint` box,
/// so their future (2 KB of poem's router) is moved to the heap where it is
/// made; every layer above then moves a pointer. Wrapped whole, it was
/// copied by each of them (about 30 copies per request, 5 KB of
/// instructions; docs/benchmarks.md).
pub struct Guard {
    inner: BoxEndpoint<'static>,
    state: Arc<AppState>,
}

impl Guard {
    /// Guards `inner` (an endpoint answering `Response`s, as
    /// `EndpointExt::map_to_response` makes any) with the policy, limits
    /// and services of `state`.
    pub fn new(inner: impl Endpoint<Output = Response> + 'static, state: Arc<AppState>) -> Self {
        Self { inner: inner.boxed(), state }
    }

    /// Gives `req` its scope (the state, the client's IP, the rate slot);
    /// returns the slot, read again when the answer comes back.
    fn admit(&self, req: &mut Request) -> RateSlot {
        let policy = &self.state.http;
        let peer = req.remote_addr().as_socket_addr().map(std::net::SocketAddr::ip);
        // Read only when some proxy is trusted: otherwise the header is never believed.
        let forwarded = if policy.trusted_proxies.is_empty() {
            None
        } else {
            req.headers().get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok())
        };
        let slot = RateSlot::default();
        req.set_data(RequestScope {
            state: self.state.clone(),
            client_ip: ClientIp(policy.client_ip(peer, forwarded)),
            rate: slot.clone(),
        });
        slot
    }

    /// The general rate limit's decision for a request with `bearer` from
    /// `ip_key`: per user when the token is valid (the token's check is
    /// handed on, so the handler's extractor does not repeat it), else per IP.
    async fn check(&self, limits: &RateLimits, bearer: Option<String>, ip_key: String) -> Checked {
        let mut authenticated = None;
        if let Some(token) = bearer {
            if let Ok(claims) = self.state.authenticate(&token).await {
                authenticated = Some(Authenticated { token, claims });
            }
        }
        let who = match &authenticated {
            Some(a) => Requester::User(a.claims.user_id),
            None => Requester::Anonymous(&ip_key),
        };
        let decision = limits.request(who).await;
        Checked { authenticated, decision, ip_key }
    }

    /// Runs `req` through the routes, then adds the rate-limit headers (the
    /// stricter of `general` and what a handler left in `slot`) and the
    /// security headers.
    fn route(
        &self,
        req: Request,
        kind: PathKind,
        slot: RateSlot,
        general: Option<RateDecision>,
    ) -> impl std::future::Future<Output = Response> + Send + '_ {
        DynEndpoint::call(&*self.inner, req).map(move |answer| {
            let mut resp = match answer {
                Ok(r) => r.into_response(),
                Err(e) => error_response(e),
            };
            let decision = match (general, slot.take()) {
                (Some(a), Some(b)) => Some(stricter(a, b)),
                (a, b) => a.or(b),
            };
            decorate(&mut resp, &self.state.http, kind, decision);
            resp
        })
    }
}

/// What the general rate limit found for a request.
struct Checked {
    /// The bearer token, when it was valid.
    authenticated: Option<Authenticated>,
    decision: RateDecision,
    /// The client, as the log of a refusal names it.
    ip_key: String,
}

impl Endpoint for Guard {
    type Output = Response;

    // Combinators rather than one `async fn`, which keeps its request
    // argument for its whole life next to what it awaits; without a rate
    // limit to check, no check is made at all.
    fn call(&self, mut req: Request) -> impl std::future::Future<Output = poem::Result<Response>> + Send {
        let kind = PathKind::of(req.uri().path(), self.state.http.trakt_prefix.as_deref());
        let slot = self.admit(&mut req);
        let limits = self.state.limits.as_ref().filter(|_| kind.limited() && req.method() != Method::OPTIONS);
        let answer = match limits {
            None => Either::Left(self.route(req, kind, slot, None)),
            Some(limits) => {
                let bearer = req
                    .header(AUTHORIZATION)
                    .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
                    .map(|t| t.trim().to_owned());
                let check = self.check(limits, bearer, ClientIp::of(&req));
                // Boxed: the checks and the request waiting for them would
                // make the future of every request larger, and each layer
                // above copies it.
                Either::Right(Box::pin(check.then(move |checked| {
                    let d = checked.decision;
                    if !d.allowed {
                        tracing::info!(client_ip = %checked.ip_key, "request refused by the rate limit");
                        let mut resp = ApiError::rate_limited(&d).into_response();
                        decorate(&mut resp, &self.state.http, kind, Some(d));
                        return Either::Left(future::ready(resp));
                    }
                    if let Some(a) = checked.authenticated {
                        req.set_data(a);
                    }
                    Either::Right(self.route(req, kind, slot, Some(d)))
                })))
            }
        };
        AssertUnwindSafe(answer).catch_unwind().map(move |done| {
            Ok(done.unwrap_or_else(|_| {
                // The panic hook logged it; the client gets the opaque 500 with the usual headers.
                let mut resp = ApiError::internal_opaque().into_response();
                decorate(&mut resp, &self.state.http, kind, None);
                resp
            }))
        })
    }
}

/// What the path says about limits and headers, worked out once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathKind {
    /// Probes, metrics and docs: never rate limited.
    Unlimited,
    /// Swagger UI: its own content security policy.
    Docs,
    /// `/auth/...`: answers carry tokens, so nothing may cache them.
    Auth,
    /// The Trakt-compatible API: a 429 also carries Trakt's `X-Ratelimit`.
    Trakt,
    /// Its OAuth paths: as `Auth`, and as `Trakt`.
    TraktAuth,
    /// Everything else.
    Api,
}

impl PathKind {
    fn limited(self) -> bool {
        matches!(self, Self::Auth | Self::Api | Self::Trakt | Self::TraktAuth)
    }

    fn of(path: &str, trakt: Option<&str>) -> Self {
        if let Some(rest) = trakt.and_then(|p| path.strip_prefix(p)) {
            if rest.is_empty() || rest.starts_with('/') {
                let auth = rest.trim_start_matches('/').starts_with("oauth/") || rest.starts_with("/activate");
                return if auth { Self::TraktAuth } else { Self::Trakt };
            }
        }
        if path.starts_with("/docs") {
            // Docs are unlimited too; the CSP is what differs.
            Self::Docs
        } else if path.starts_with("/health") || path == "/metrics" || path == "/openapi.json" {
            Self::Unlimited
        } else if path.starts_with("/auth/") {
            Self::Auth
        } else {
            Self::Api
        }
    }
}

fn decorate(resp: &mut Response, policy: &HttpPolicy, kind: PathKind, decision: Option<RateDecision>) {
    if let Some(d) = decision {
        set_header(resp, "ratelimit-limit", &d.limit.to_string());
        set_header(resp, "ratelimit-remaining", &d.remaining.to_string());
        set_header(resp, "ratelimit-reset", &ceil_secs(d.reset_after).to_string());
        if let (false, Some(wait)) = (d.allowed, d.retry_after) {
            if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                set_header(resp, RETRY_AFTER.as_str(), &ceil_secs(wait).max(1).to_string());
                if matches!(kind, PathKind::Trakt | PathKind::TraktAuth) {
                    set_header(resp, "x-ratelimit", &trakt_ratelimit(&d));
                }
            }
        }
    }
    // Names and values built at compile time: parsing and copying them on
    // every response showed in the cache-hit profile.
    let headers = resp.headers_mut();
    // Room for these and the request id and trace context added after, so
    // the map grows once rather than while they are inserted.
    headers.reserve(SECURITY_HEADERS.len() + DOCUMENT_HEADERS.len() + 4);
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, value);
    }
    if kind == PathKind::Docs {
        // Swagger UI is a page with its own inline scripts and styles, and
        // the one document here, so the only answer that framing and
        // opener isolation apply to.
        headers.insert(CONTENT_SECURITY_POLICY, DOCS_CSP);
        for (name, value) in DOCUMENT_HEADERS {
            headers.insert(name, value);
        }
    } else {
        // The API answers JSON only: nothing in it may load or run anything,
        // and `frame-ancestors 'none'` already forbids framing it. The one
        // HTML page outside the docs (the Trakt device activation form)
        // brings a policy of its own.
        headers.entry(CONTENT_SECURITY_POLICY).or_insert(API_CSP);
    }
    if policy.hsts {
        headers.insert(STRICT_TRANSPORT_SECURITY, HSTS);
    }
    if matches!(kind, PathKind::Auth | PathKind::TraktAuth) {
        // Tokens must not linger in shared or browser caches.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Trakt's `X-Ratelimit` header: which limit, its size, what is left and
/// until when (UTC), as Trakt clients parse it.
fn trakt_ratelimit(d: &RateDecision) -> String {
    let until = time::OffsetDateTime::now_utc() + d.reset_after;
    let until = until.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    format!(
        r#"{{"name":"WATCHME_API_LIMIT","period":{},"limit":{},"remaining":{},"until":"{}"}}"#,
        ceil_secs(d.reset_after).max(1),
        d.limit,
        d.remaining,
        until
    )
}

/// On every response.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 2] = [
    (HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")),
    (HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer")),
];
/// Only on the HTML page (Swagger UI): browsers apply them to documents, and
/// on every JSON answer they were bytes that each client parsed for nothing
/// (about 70 per response; docs/benchmarks.md).
const DOCUMENT_HEADERS: [(HeaderName, HeaderValue); 2] = [
    (HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY")),
    (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
];
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const API_CSP: HeaderValue = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
const DOCS_CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
);
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(trusted: &[&str]) -> HttpPolicy {
        HttpPolicy { trusted_proxies: trusted.iter().map(|s| s.parse().unwrap()).collect(), ..HttpPolicy::default() }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let none = policy(&[]);
        assert_eq!(none.client_ip(ip("203.0.113.5"), Some("1.2.3.4")), ip("203.0.113.5"), "untrusted peer");
        let lb = policy(&["10.0.0.0/8"]);
        assert_eq!(lb.client_ip(ip("10.0.0.2"), Some("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(
            lb.client_ip(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7, 10.0.0.9")),
            ip("198.51.100.7"),
            "the right-most untrusted hop; the forged left part is ignored"
        );
        assert_eq!(lb.client_ip(ip("10.0.0.2"), None), ip("10.0.0.2"), "no header: the proxy itself");
        assert_eq!(lb.client_ip(ip("10.0.0.2"), Some("garbage")), ip("10.0.0.2"));
        assert_eq!(lb.client_ip(ip("203.0.113.5"), Some("1.2.3.4")), ip("203.0.113.5"), "only trusted peers");
        assert_eq!(lb.client_ip(None, Some("1.2.3.4")), None);
    }
}
