//! What every part of a request may know about it: its id, its trace
//! context and its log span, held in a task-local for the request's life.
//! The middleware that fills it is `context::RequestContext`; everything
//! else only reads it, so this module depends on no other of the server.

use tokio::task::futures::TaskLocalFuture;
use watchme_core::domain::TraceContext;

/// What every part of a request may need to know about it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The request id, echoed in `X-Request-Id` and every error body.
    pub request_id: String,
    /// Incoming W3C trace context, if the caller sent a valid one.
    pub trace: Option<TraceContext>,
    /// The request's log span; `user_id` is recorded on it once known.
    pub span: tracing::Span,
}

tokio::task_local! {
    static REQUEST: RequestInfo;
}

/// The current request's id, or `-` outside a request.
pub fn request_id() -> String {
    REQUEST.try_with(|r| r.request_id.clone()).unwrap_or_else(|_| "-".into())
}

/// The current request's trace context.
pub fn trace() -> Option<TraceContext> {
    REQUEST.try_with(|r| r.trace.clone()).ok().flatten()
}

/// Records the authenticated user on the request's log span.
pub fn record_user(user_id: &str) {
    let _ = REQUEST.try_with(|r| {
        r.span.record("user_id", user_id);
    });
}

/// Runs `fut` as the request `info` describes: inside it, [`request_id`],
/// [`trace`] and [`record_user`] answer for this request.
pub fn scope<F: std::future::Future>(info: RequestInfo, fut: F) -> TaskLocalFuture<RequestInfo, F> {
    REQUEST.scope(info, fut)
}
