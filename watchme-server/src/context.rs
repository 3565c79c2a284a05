//! The middleware that gives every request its context (request id,
//! trace, log span: the data lives in `request`), logs the request and
//! turns every error into the one JSON error shape.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use bytes::Bytes;
use poem::http::{HeaderName, HeaderValue, Method};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;
use watchme_core::domain::TraceContext;

use crate::error::error_response;
use crate::request::{self, RequestInfo};

/// A new random (v4) request id. It only correlates log lines, so it is
/// drawn from the thread-local fastrand generator instead of the OS: a
/// `getrandom` system call per request showed in the cache-hit profile.
fn new_request_id() -> String {
    let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned()
}

/// A client-supplied id is reused only if it is short and plain, so it
/// cannot inject anything into logs or headers.
fn sane_request_id(raw: &str) -> bool {
    (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Middleware: request id, trace context, request span and access log
/// (at warn for requests slower than `slow_request`), request metrics, and
/// the one error shape for every failure below it.
pub struct RequestContext {
    /// Requests slower than this are logged at warn.
    pub slow_request: std::time::Duration,
}

impl<E: Endpoint> Middleware<E> for RequestContext {
    type Output = RequestContextEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestContextEndpoint { inner: ep, slow_request: self.slow_request, metrics: RequestMetrics::default() }
    }
}

/// The endpoint [`RequestContext`] wraps.
pub struct RequestContextEndpoint<E> {
    inner: E,
    slow_request: std::time::Duration,
    metrics: RequestMetrics,
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

type MetricKey = (Method, Arc<str>, u16);

/// The request counter and duration histogram of each (method, route,
/// status), looked up once: building the label set and finding its series
/// in the registry on every request showed in the cache-hit profile.
#[derive(Default)]
struct RequestMetrics(
    RwLock<HashMap<MetricKey, (metrics::Counter, metrics::Histogram), foldhash::quality::RandomState>>,
);

impl RequestMetrics {
    fn record(&self, method: &Method, route: &Arc<str>, status: u16, seconds: f64) {
        let key = (method.clone(), route.clone(), status);
        if let Some((counter, histogram)) = self.0.read().ok().as_ref().and_then(|m| m.get(&key)) {
            counter.increment(1);
            histogram.record(seconds);
            return;
        }
        let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
        let (counter, histogram) = (
            metrics::counter!("http_server_requests_total", &labels),
            metrics::histogram!("http_server_request_duration_seconds", &labels),
        );
        counter.increment(1);
        histogram.record(seconds);
        // Bounded: a client can make up HTTP methods.
        match self.0.write() {
            Ok(mut m) if m.len() < 1024 => drop(m.insert(key, (counter, histogram))),
            _ => {}
        }
    }
}

/// The request's log span, and the trace context it runs in: the caller's
/// continued, or a new one.
fn request_span(req: &Request, request_id: &str, incoming: Option<TraceContext>) -> (tracing::Span, TraceContext) {
    let parent_span_id = incoming.as_ref().map(|t| t.span_id().to_owned());
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = %req.uri().path(),
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        parent_span_id = parent_span_id,
        method = %req.method(),
        path = %req.uri().path(),
        user_id = tracing::field::Empty,
    );
    // With span export on, the exported span is the request's span and
    // its ids are the ones passed on; without, ids are made here.
    let trace = if crate::telemetry::exporting_spans() {
        crate::telemetry::continue_trace(&span, incoming.as_ref())
    } else {
        incoming.map_or_else(TraceContext::root, |t| t.child())
    };
    span.record("trace_id", trace.trace_id());
    span.record("span_id", trace.span_id());
    (span, trace)
}

impl<E: Endpoint> Endpoint for RequestContextEndpoint<E> {
    type Output = Response;

    // Not an `async fn`, so the request is not kept in this future (an
    // async fn holds its arguments for its whole life, next to the guard's
    // future the request moves into); what is left of the request when the
    // answer comes back is its method, read here.
    fn call(&self, req: Request) -> impl std::future::Future<Output = poem::Result<Response>> + Send {
        let header = |name: &HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
        let request_id =
            header(&X_REQUEST_ID).filter(|v| sane_request_id(v)).map_or_else(new_request_id, str::to_owned);
        // Continue the caller's trace, or start one: every request has a
        // trace id, in its logs, its events, its Kafka headers and its response.
        let incoming = header(&TRACEPARENT).and_then(|tp| TraceContext::parse(tp, header(&TRACESTATE)));
        let method = req.method().clone();
        let (span, trace) = request_span(&req, &request_id, incoming);
        let info = RequestInfo { request_id, trace: Some(trace), span: span.clone() };
        let started = Instant::now();
        // Not boxed: the guard below holds the routes' large future on the
        // heap, so what it returns is small enough to move.
        let inner = self.inner.call(req);
        let scoped = request::scope(info, async {
            match inner.await {
                Ok(r) => r.into_response(),
                Err(e) => error_response(e),
            }
        });
        let scoped = scoped.instrument(span.clone());
        async move {
            let mut scoped = std::pin::pin!(scoped);
            let mut resp = scoped.as_mut().await;
            // The request's own strings become the header values, moved out of
            // the finished scope rather than copied before it (two allocations
            // and copies per request). The trace id is the traceparent's second
            // field; a separate `X-Trace-Id` repeated it in every response.
            if let Some(info) = scoped.as_mut().inner_pin_mut().take_value() {
                let headers = resp.headers_mut();
                if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(info.request_id)) {
                    headers.insert(X_REQUEST_ID, v);
                }
                if let Some(trace) = info.trace {
                    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(trace.traceparent)) {
                        headers.insert(TRACEPARENT, v);
                    }
                }
            }
            let status = resp.status().as_u16();
            let took = started.elapsed();
            let elapsed = took.as_secs_f64();
            let latency_ms = elapsed * 1000.0;
            // The route template, never the raw path: ids in paths would make
            // one series per movie.
            let route = resp.data::<poem::PathPattern>().map_or_else(|| Arc::from("unmatched"), |p| p.0.clone());
            // Named after the route template (semantic conventions): never the raw path.
            crate::telemetry::rename_span(&span, || format!("{method} {route}"));
            span.record("http.route", &*route);
            span.record("http.response.status_code", status);
            self.metrics.record(&method, &route, status, elapsed);
            span.in_scope(|| {
                if status >= 500 {
                    tracing::warn!(status, latency_ms, "request failed");
                } else if took > self.slow_request {
                    let slow_request_ms = self.slow_request.as_millis() as u64;
                    tracing::warn!(status, latency_ms, slow_request_ms, "slow request");
                } else {
                    tracing::info!(status, latency_ms, "request served");
                }
            });
            Ok(resp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sane_request_id;

    #[test]
    fn only_plain_request_ids_are_reused() {
        for ok in ["abc", "3f2a-11.x:y_z", &"a".repeat(128)] {
            assert!(sane_request_id(ok), "{ok}");
        }
        for bad in ["", "a b", "x\r\ny", "<script>", &"a".repeat(129)] {
            assert!(!sane_request_id(bad), "{bad:?}");
        }
    }
}
