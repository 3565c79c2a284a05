//! One Trakt request as its handler sees it: the state, the path and query
//! parameters, the body read once (JSON, refused with a 400 when it is
//! not), the caller, Trakt's paging, and the answers' shapes.

use std::sync::Arc;

use bytes::Bytes;
use poem::http::header::CONTENT_TYPE;
use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response};
use serde_json::Value;
use watchme_core::domain::{Page, PageRequest, RequestContext};

use crate::api::extract::{self, Caller};
use crate::error::ApiError;
use crate::security::RequestScope;
use crate::state::AppState;

/// Largest body a Trakt request may have: a sync of a few thousand
/// movies, as clients send when they first sync a library.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Trakt's page size when the client asks for none.
pub const DEFAULT_LIMIT: u32 = 10;

/// What a handler gets.
pub struct Call {
    /// The services.
    pub state: Arc<AppState>,
    /// The request (headers, path parameters).
    pub req: Request,
    body: Bytes,
}

impl Call {
    /// Reads `req`'s body (at most [`MAX_BODY`]).
    ///
    /// # Errors
    /// A 413 for a larger body, a 400 for one that cannot be read.
    pub async fn read(mut req: Request) -> Result<Self, ApiError> {
        let state = req.data::<RequestScope>().ok_or_else(ApiError::internal_opaque)?.state.clone();
        let limit = state.http.max_body_bytes.max(MAX_BODY);
        let body = req.take_body().into_bytes_limit(limit).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge(crate::error::body(
                "payload_too_large",
                format!("request body is larger than {limit} bytes"),
            )),
            other => ApiError::bad_request("invalid_body", format!("could not read the request body: {other}")),
        })?;
        Ok(Self { state, req, body })
    }

    /// A path parameter.
    pub fn param(&self, name: &str) -> &str {
        self.req.raw_path_param(name).unwrap_or_default()
    }

    /// A query parameter, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.req.uri().query()?;
        url_pairs(q).find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The authenticated caller.
    ///
    /// # Errors
    /// A 401 without a valid bearer token; a 403 for a read-only token on a write.
    pub async fn caller(&self) -> Result<Caller, ApiError> {
        extract::caller(&self.req).await
    }

    /// The caller's request context.
    ///
    /// # Errors
    /// As [`Call::caller`].
    pub async fn ctx(&self) -> Result<RequestContext, ApiError> {
        Ok(self.caller().await?.ctx())
    }

    /// The body as a JSON object.
    ///
    /// # Errors
    /// A 400 for an empty body, one that is not JSON, or not an object.
    pub fn json(&self) -> Result<serde_json::Map<String, Value>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("invalid_body", "a JSON request body is required"));
        }
        if let Err(why) = extract::check_json_shape(&self.body) {
            return Err(ApiError::bad_request("json_too_complex", format!("request body refused: {why}")));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::bad_request("invalid_body", "the request body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request("invalid_json", format!("request body is not valid JSON: {e}"))),
        }
    }

    /// The raw body, for form-encoded requests.
    pub fn raw_body(&self) -> &[u8] {
        &self.body
    }

    /// Trakt's `page` and `limit`, when the client sent either.
    ///
    /// # Errors
    /// A 400 naming a parameter that is not a positive whole number.
    pub fn paging(&self) -> Result<Option<PageRequest>, ApiError> {
        let number = |name: &str| -> Result<Option<i64>, ApiError> {
            self.query(name)
                .map(|v| {
                    v.parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| ApiError::invalid_field(name, "must be a whole number from 1"))
                })
                .transpose()
        };
        let (page, limit) = (number("page")?, number("limit")?);
        if page.is_none() && limit.is_none() {
            return Ok(None);
        }
        let limit = limit.unwrap_or(i64::from(DEFAULT_LIMIT)).min(i64::from(PageRequest::MAX_PER_PAGE));
        PageRequest::new(page, Some(limit)).map(Some).map_err(|e| ApiError::invalid_field("page", e))
    }

    /// Trakt's paging with its default (page 1 of 10) when the client sent none.
    ///
    /// # Errors
    /// As [`Call::paging`].
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        Ok(self.paging()?.unwrap_or_else(|| {
            PageRequest::new(None, Some(i64::from(DEFAULT_LIMIT))).unwrap_or_else(|_| PageRequest::first())
        }))
    }
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space).
pub fn url_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> String {
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON answer with `status`.
pub fn json(status: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    Response::builder().status(status).header(CONTENT_TYPE, "application/json").body(body)
}

/// 200 with `value`.
pub fn ok(value: &Value) -> Response {
    json(StatusCode::OK, value)
}

/// 201 with `value`.
pub fn created(value: &Value) -> Response {
    json(StatusCode::CREATED, value)
}

/// 204.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// 200 with one page of `items` and Trakt's `X-Pagination-*` headers.
pub fn paged<T>(page: Page<T>, item: impl FnMut(T) -> Value) -> Response {
    let (n, per, pages, total) = (page.page, page.per_page, page.total_pages, page.total_items);
    let items: Vec<Value> = page.items.into_iter().map(item).collect();
    let mut resp = ok(&Value::Array(items));
    for (name, value) in [
        ("x-pagination-page", u64::from(n)),
        ("x-pagination-limit", u64::from(per)),
        ("x-pagination-page-count", pages),
        ("x-pagination-item-count", total),
    ] {
        crate::security::set_header(&mut resp, name, &value.to_string());
    }
    resp
}

/// An error in the project's shape with Trakt's `status` and extra fields
/// (OAuth's `error`, a conflict's `expires_at`) next to `code` and `message`.
pub fn error(status: StatusCode, code: &str, message: &str, extra: &[(&str, Value)]) -> Response {
    let mut body = serde_json::json!({
        "code": code,
        "message": message,
        "request_id": crate::request::request_id(),
    });
    if let Value::Object(map) = &mut body {
        for (k, v) in extra {
            map.insert((*k).to_owned(), v.clone());
        }
    }
    json(status, &body)
}

#[cfg(test)]
mod tests {
    use super::url_pairs;

    #[test]
    fn query_pairs_are_decoded() {
        let got: Vec<(String, String)> = url_pairs("query=the+matrix&x=%41%2&y=caf%C3%A9&flag").collect();
        assert_eq!(got[0], ("query".into(), "the matrix".into()));
        assert_eq!(got[1], ("x".into(), "A%2".into()), "a broken escape is kept as is");
        assert_eq!(got[2], ("y".into(), "café".into()));
        assert_eq!(got[3], ("flag".into(), String::new()));
    }
}
