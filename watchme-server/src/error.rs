//! The one error shape, `{code, message, request_id, details?}`, and the
//! translation of every service error and framework error into it.
//!
//! Internal causes are logged with their whole chain; a client gets the
//! opaque message and the request id to quote when it reports a problem.

use poem::error::ParsePathError;
use poem::http::header::ALLOW;
use poem::http::{HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use watchme_core::error::{Cause, StorageError};
use watchme_core::services::{ApiTokenError, AuthError, HistoryError, LibraryError, ListError, MovieError};

use crate::request::request_id;

/// One problem with one input field.
#[derive(Debug, Clone, Object)]
pub struct FieldIssue {
    /// The field, parameter or JSON path at fault.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The body of every error response.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_field`, `email_taken`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request id, also in the `X-Request-Id` header.
    pub request_id: String,
    /// Which inputs were wrong, for 400s.
    #[oai(skip_serializing_if_is_none)]
    pub details: Option<Vec<FieldIssue>>,
}

/// Every error an operation may answer; all share [`ErrorBody`].
#[derive(Debug, Clone, ApiResponse)]
pub enum ApiError {
    /// Input the schema refuses (a field missing, of the wrong type or out of
    /// its bounds, an unknown field, malformed JSON); `details` names the field.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, invalid or expired credentials.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// Authenticated but not allowed.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such resource.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Conflicts with existing state: `email_taken` on register.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Request body too large.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Wrong content type.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Well-formed input that a business rule refuses: `weak_password` on
    /// register (one of the most common passwords, or equal to the email);
    /// `details` names the field.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many requests; retry after the given seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// Our fault; the cause is logged under the request id.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// A dependency (the database, the movie source) is down; retry after
    /// the given seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
}

/// The `Retry-After` of a 503: a dependency's outage is usually seconds
/// (a database failover, TMDb's circuit breaker's next trial).
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// An error body for the current request.
pub fn body(code: &str, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody { code: code.into(), message: message.into(), request_id: request_id(), details: None })
}

impl ApiError {
    /// A 400 naming the field at fault.
    pub fn invalid_field(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        let (field, reason) = (field.into(), reason.to_string());
        let mut b = body("invalid_field", format!("invalid value for `{field}`: {reason}"));
        b.0.details = Some(vec![FieldIssue { field, reason }]);
        Self::BadRequest(b)
    }

    /// A 400 refusing a whole batch, naming every bad item's field (every
    /// malformed one, and every one a rule refuses with them).
    pub fn invalid_items(issues: Vec<FieldIssue>) -> Self {
        let mut b =
            body("invalid_field", format!("{} item(s) of the batch are invalid; nothing was stored", issues.len()));
        b.0.details = Some(issues);
        Self::BadRequest(b)
    }

    /// A 400 about the request as a whole.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::BadRequest(body(code, message))
    }

    /// A 401 asking for a bearer token.
    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::Unauthorized(body(code, message), "Bearer realm=\"watchme\"".into())
    }

    /// The 401 of a call that needs a bearer token and has none.
    pub fn bearer_required() -> Self {
        Self::unauthorized("unauthorized", "a valid bearer token is required")
    }

    /// The 503 of a write that needs a movie looked up while the movie
    /// source is down (and nothing is cached), logging the cause.
    fn movie_lookup_unavailable(c: &Cause) -> Self {
        tracing::warn!(error = %chain(cause_ref(c)), "movie source unavailable");
        Self::service_unavailable("upstream_unavailable", "the movie could not be looked up; retry later")
    }

    /// A 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(body("forbidden", message))
    }

    /// A 404.
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::NotFound(body(code, message))
    }

    /// A 429 for a refused rate-limit decision (the middleware adds the `RateLimit-*` headers).
    pub fn rate_limited(d: &watchme_core::ports::RateDecision) -> Self {
        let wait = d.retry_after.map_or(1, |w| w.as_millis().div_ceil(1000).max(1) as u64);
        Self::TooManyRequests(body("rate_limited", format!("too many requests; retry in {wait} s")), wait)
    }

    /// The opaque 500.
    pub fn internal_opaque() -> Self {
        Self::Internal(body("internal", "internal error; quote the request id when reporting it"))
    }

    /// A 500, logging its cause chain.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %chain(cause), "internal error");
        Self::internal_opaque()
    }

    /// A 503, logging its cause chain.
    pub fn unavailable(what: &str, cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::warn!(error = %chain(cause), dependency = what, "dependency unavailable");
        Self::service_unavailable("unavailable", format!("{what} is temporarily unavailable; retry later"))
    }

    /// A 503 with the error shape and `Retry-After`.
    fn service_unavailable(code: &str, message: impl Into<String>) -> Self {
        Self::Unavailable(body(code, message), UNAVAILABLE_RETRY_AFTER_SECS)
    }

    fn parts(&self) -> (StatusCode, &ErrorBody) {
        match self {
            Self::BadRequest(b) => (StatusCode::BAD_REQUEST, &b.0),
            Self::Unauthorized(b, _) => (StatusCode::UNAUTHORIZED, &b.0),
            Self::Forbidden(b) => (StatusCode::FORBIDDEN, &b.0),
            Self::NotFound(b) => (StatusCode::NOT_FOUND, &b.0),
            Self::Conflict(b) => (StatusCode::CONFLICT, &b.0),
            Self::PayloadTooLarge(b) => (StatusCode::PAYLOAD_TOO_LARGE, &b.0),
            Self::UnsupportedMediaType(b) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, &b.0),
            Self::Unprocessable(b) => (StatusCode::UNPROCESSABLE_ENTITY, &b.0),
            Self::TooManyRequests(b, _) => (StatusCode::TOO_MANY_REQUESTS, &b.0),
            Self::Internal(b) => (StatusCode::INTERNAL_SERVER_ERROR, &b.0),
            Self::Unavailable(b, _) => (StatusCode::SERVICE_UNAVAILABLE, &b.0),
        }
    }

    /// The error code.
    pub fn code(&self) -> &str {
        &self.parts().1.code
    }
}

pub use watchme_core::error::chain;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (status, b) = self.parts();
        write!(f, "{status}: {}", b.message)
    }
}

/// The 405 for a method a path does not have, with the `Allow` header the
/// HTTP standard asks for. Not a variant of [`ApiError`]: no documented
/// operation answers it, so it is not in their responses.
pub fn method_not_allowed(allow: HeaderValue) -> Response {
    let mut resp =
        ApiError::bad_request("method_not_allowed", "this method is not allowed on this route").into_response();
    resp.set_status(StatusCode::METHOD_NOT_ALLOWED);
    resp.headers_mut().insert(ALLOW, allow);
    resp
}

/// Translates a framework error (bad parameter, bad body, unknown route)
/// into the error shape. Errors made from one of our responses (an
/// [`ApiError`] returned through a `poem::Error`) keep that response.
pub fn error_response(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    from_poem_error(err).into_response()
}

fn from_poem_error(err: poem::Error) -> ApiError {
    if let Some(p) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        let reason =
            if p.reason.contains("expects an input value") { "is required".to_owned() } else { p.reason.clone() };
        return ApiError::invalid_field(p.name, reason);
    }
    if let Some(p) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        return ApiError::invalid_field(p.name, &p.reason);
    }
    if let Some(p) = err.downcast_ref::<poem_openapi::error::ParseRequestPayloadError>() {
        return ApiError::bad_request("invalid_body", format!("request body is not valid: {}", p.reason));
    }
    if err.is::<ParsePathError>() {
        return ApiError::bad_request("invalid_path", "invalid path");
    }
    let status = err.status();
    match status {
        StatusCode::NOT_FOUND => ApiError::not_found("route_not_found", "no such route"),
        StatusCode::UNAUTHORIZED => ApiError::bearer_required(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge(body("payload_too_large", "request body is too large"))
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(body(
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        )),
        s if s.is_client_error() => ApiError::bad_request("bad_request", err.to_string()),
        _ => ApiError::internal(&err),
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match &e {
            StorageError::Unavailable(_) => Self::unavailable("storage", &e),
            StorageError::Internal(_) => Self::internal(&e),
        }
    }
}

fn cause_ref(c: &Cause) -> &(dyn std::error::Error + 'static) {
    c.as_ref()
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::EmailTaken => Self::Conflict(body("email_taken", "this email is already registered")),
            AuthError::WeakPassword(why) => {
                let reason = format!("too easy to guess: {why}");
                let mut b = body("weak_password", format!("invalid value for `password`: {reason}"));
                b.0.details = Some(vec![FieldIssue { field: "password".into(), reason }]);
                Self::Unprocessable(b)
            }
            AuthError::InvalidCredentials => Self::unauthorized("invalid_credentials", "invalid email or password"),
            AuthError::InvalidToken => Self::unauthorized("invalid_token", "the access token is invalid or expired"),
            AuthError::InvalidRefreshToken => {
                Self::unauthorized("invalid_refresh_token", "the refresh token is invalid, expired or already used")
            }
            AuthError::SessionNotFound => {
                Self::not_found("session_not_found", "you have no active session with this id")
            }
            AuthError::Unavailable(c) => Self::unavailable("storage", cause_ref(&c)),
            AuthError::Internal(c) => Self::internal(cause_ref(&c)),
        }
    }
}

impl From<MovieError> for ApiError {
    fn from(e: MovieError) -> Self {
        match e {
            MovieError::NotFound => Self::not_found("movie_not_found", "no movie with this id"),
            MovieError::UpstreamUnavailable(c) => {
                tracing::warn!(error = %chain(cause_ref(&c)), "movie source unavailable");
                Self::service_unavailable("upstream_unavailable", "the movie source is unavailable; retry later")
            }
            MovieError::UpstreamMisconfigured(c) => {
                tracing::error!(error = %chain(cause_ref(&c)), "movie source refused our configuration; check the TMDb credentials");
                Self::service_unavailable("upstream_misconfigured", "the movie source is unavailable")
            }
        }
    }
}

impl From<LibraryError> for ApiError {
    fn from(e: LibraryError) -> Self {
        match e {
            LibraryError::Unauthenticated => Self::bearer_required(),
            LibraryError::MovieNotFound => Self::not_found("movie_not_found", "no movie with this id"),
            LibraryError::MovieSourceUnavailable(c) => Self::movie_lookup_unavailable(&c),
            LibraryError::Storage(s) => s.into(),
        }
    }
}

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> Self {
        match e {
            HistoryError::Unauthenticated => Self::bearer_required(),
            HistoryError::TooMany { .. } => Self::invalid_field("plays", &e),
            // Well-formed items a rule refuses (a play in the future): 422.
            HistoryError::Invalid(problems) => {
                let issues: Vec<FieldIssue> = problems
                    .into_iter()
                    .map(|p| FieldIssue { field: format!("plays[{}].{}", p.index, p.field), reason: p.message })
                    .collect();
                match Self::invalid_items(issues) {
                    Self::BadRequest(b) => Self::Unprocessable(b),
                    other => other,
                }
            }
            HistoryError::MovieSourceUnavailable(c) => Self::movie_lookup_unavailable(&c),
            HistoryError::Storage(s) => s.into(),
        }
    }
}

impl From<ApiTokenError> for ApiError {
    fn from(e: ApiTokenError) -> Self {
        match e {
            ApiTokenError::Unauthenticated => Self::bearer_required(),
            ApiTokenError::LoginRequired => Self::forbidden(e.to_string()),
            ApiTokenError::InvalidName(n) => Self::invalid_field("name", n),
            ApiTokenError::InvalidLifetime => Self::invalid_field("expires_in_days", &e),
            ApiTokenError::NotFound => Self::not_found("token_not_found", "you have no token with this id"),
            ApiTokenError::Internal(c) => Self::internal(cause_ref(&c)),
            ApiTokenError::Storage(s) => s.into(),
        }
    }
}

impl From<ListError> for ApiError {
    fn from(e: ListError) -> Self {
        let rule = |code: &str, message: String, details: Option<Vec<FieldIssue>>| {
            let mut b = body(code, message);
            b.0.details = details;
            Self::Unprocessable(b)
        };
        match e {
            ListError::Unauthenticated => Self::bearer_required(),
            ListError::NotFound => Self::not_found("list_not_found", "no list with this id that you may see"),
            ListError::MovieNotFound => Self::not_found("movie_not_found", "no movie with this id"),
            ListError::InvalidText { field, error } => Self::invalid_field(field, error),
            ListError::LimitReached { .. } => rule("limit_reached", e.to_string(), None),
            ListError::NotOnList(ref movies) => {
                let details = movies
                    .iter()
                    .map(|m| FieldIssue {
                        field: "movie_ids".into(),
                        reason: format!("{} is not on the list", m.get()),
                    })
                    .collect();
                rule("not_on_list", e.to_string(), Some(details))
            }
            ListError::MovieSourceUnavailable(c) => Self::movie_lookup_unavailable(&c),
            ListError::Storage(s) => s.into(),
        }
    }
}
