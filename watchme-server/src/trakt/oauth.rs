//! OAuth as Trakt clients speak it: the device flow (RFC 8628) with
//! Trakt's status codes, refresh, revoke, and the page at the
//! verification URL where a user approves a device with their password.
//! Tokens are WatchMe's own: a session's access and refresh tokens.

use std::collections::HashMap;

use poem::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, RETRY_AFTER};
use poem::http::StatusCode;
use poem::Response;
use serde_json::{json, Value};
use watchme_core::domain::{ClientInfo, Email, Password, RefreshToken, RequestContext};
use watchme_core::services::{AuthAttempt, AuthError, DeviceError, TokenPair};

use super::call::{self, url_pairs, Call};
use crate::api::auth::{client, credential_attempt};
use crate::error::ApiError;

/// The fields of an OAuth body: JSON (what Trakt clients send) or a form
/// (what RFC 6749 clients send); values that are not strings are ignored.
fn fields(c: &Call) -> Result<HashMap<String, String>, ApiError> {
    let form = c.req.content_type().is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        let text = std::str::from_utf8(c.raw_body()).map_err(|_| ApiError::bad_request("invalid_body", "not UTF-8"))?;
        return Ok(url_pairs(text).collect());
    }
    Ok(c.json()?.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned()))).collect())
}

fn required<'a>(f: &'a HashMap<String, String>, key: &str) -> Result<&'a str, ApiError> {
    f.get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty() && v.len() <= 512)
        .ok_or_else(|| ApiError::invalid_field(key, "is required"))
}

/// An OAuth error: the project's shape with RFC 6749's `error` and `error_description`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let extra = [("error", json!(error)), ("error_description", json!(description))];
    call::error(status, error, description, &extra)
}

/// Trakt's token answer.
fn tokens(pair: &TokenPair) -> Response {
    call::ok(&json!({
        "access_token": pair.access.token,
        "token_type": "bearer",
        "expires_in": pair.access.expires_in.as_secs(),
        "refresh_token": pair.refresh.expose(),
        "scope": "public",
        "created_at": time::OffsetDateTime::now_utc().unix_timestamp(),
    }))
}

/// Where a user approves a device: this server's activation page.
fn verification_url(c: &Call, prefix: &str) -> String {
    let host = c.req.header("host").unwrap_or("localhost");
    let scheme = match c.req.header("x-forwarded-proto") {
        Some("https") => "https",
        _ if c.req.uri().scheme_str() == Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}{prefix}/activate")
}

/// `POST /oauth/device/code {client_id}`.
pub(super) async fn device_code(c: Call) -> Result<Response, ApiError> {
    let f = fields(&c)?;
    let client_id = required(&f, "client_id")?;
    let code = match c.state.devices.start(client_id).await {
        Ok(code) => code,
        Err(DeviceError::UnknownClient) => {
            return Ok(oauth_error(StatusCode::FORBIDDEN, "invalid_client", "this client id is not allowed here"))
        }
        Err(e) => return Err(device_error(e)),
    };
    let prefix = c.state.http.trakt_prefix.clone().unwrap_or_default();
    Ok(call::ok(&json!({
        "device_code": code.device_code,
        "user_code": code.user_code.as_str(),
        "verification_url": verification_url(&c, &prefix),
        "expires_in": code.expires_in.as_secs(),
        "interval": code.interval_secs,
    })))
}

fn device_error(e: DeviceError) -> ApiError {
    match e {
        DeviceError::Auth(a) => a.into(),
        DeviceError::Storage(s) => s.into(),
        DeviceError::Internal(c) => ApiError::internal(c.as_ref() as &(dyn std::error::Error + 'static)),
        DeviceError::Unauthenticated => ApiError::bearer_required(),
        other => ApiError::bad_request("invalid_request", other.to_string()),
    }
}

/// `POST /oauth/device/token {code, client_id, client_secret}`: 400 while
/// pending, 429 when polled too fast, 404 unknown, 409 used, 410 expired,
/// 418 denied, 200 with tokens.
pub(super) async fn device_token(c: Call) -> Result<Response, ApiError> {
    let f = fields(&c)?;
    let (code, client_id) = (required(&f, "code")?, required(&f, "client_id")?);
    let info = ClientInfo::new(Some(&format!("{client_id} (Trakt device flow)")), client(&c.req).ip);
    let ctx = RequestContext::anonymous().with_trace(crate::request::trace());
    let (status, error) = match c.state.devices.poll(&ctx, code, client_id, info).await {
        Ok(done) => return Ok(tokens(&done.tokens)),
        Err(DeviceError::Pending) => (StatusCode::BAD_REQUEST, "authorization_pending"),
        Err(DeviceError::SlowDown) => (StatusCode::TOO_MANY_REQUESTS, "slow_down"),
        Err(DeviceError::NotFound) => (StatusCode::NOT_FOUND, "invalid_grant"),
        Err(DeviceError::AlreadyUsed) => (StatusCode::CONFLICT, "invalid_grant"),
        Err(DeviceError::Expired) => (StatusCode::GONE, "expired_token"),
        Err(DeviceError::Denied) => (StatusCode::IM_A_TEAPOT, "access_denied"),
        Err(e) => return Err(device_error(e)),
    };
    let description = match status {
        StatusCode::BAD_REQUEST => "the user has not approved this code yet",
        StatusCode::TOO_MANY_REQUESTS => "polled faster than the interval",
        StatusCode::NOT_FOUND => "no such device code",
        StatusCode::CONFLICT => "this code was already used",
        StatusCode::GONE => "this code expired; start again",
        _ => "the user denied this code",
    };
    let mut resp = oauth_error(status, error, description);
    if status == StatusCode::TOO_MANY_REQUESTS {
        crate::security::set_header(&mut resp, RETRY_AFTER.as_str(), "5");
    }
    Ok(resp)
}

/// `POST /oauth/token` with `grant_type=refresh_token`: a new pair of the same session.
pub(super) async fn token(c: Call) -> Result<Response, ApiError> {
    let f = fields(&c)?;
    match required(&f, "grant_type")? {
        "refresh_token" => {}
        _ => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only refresh_token is supported here; get tokens with the device flow",
            ))
        }
    }
    credential_attempt(&c.state, &c.req, AuthAttempt::Refresh, None).await?;
    let presented = RefreshToken::new(required(&f, "refresh_token")?);
    match c.state.auth.refresh(&presented).await {
        Ok(pair) => Ok(tokens(&pair)),
        Err(AuthError::InvalidRefreshToken) => Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "the refresh token is invalid, expired or already used",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /oauth/revoke {token}`: ends the access token's session; 200
/// whatever the token was (RFC 7009).
pub(super) async fn revoke(c: Call) -> Result<Response, ApiError> {
    let f = fields(&c)?;
    let token = required(&f, "token")?;
    if let Ok(claims) = c.state.auth.authenticate(token).await {
        if claims.session_id.is_some() {
            c.state.auth.logout(&claims).await?;
        }
    }
    Ok(call::ok(&json!({})))
}

/// `POST /oauth/device/approve {user_code, approve?}` with a bearer token:
/// the caller approves (or, with `approve: false`, denies) a device.
pub(super) async fn approve(c: Call) -> Result<Response, ApiError> {
    let caller = c.caller().await?;
    let body = c.json()?;
    let code = body
        .get("user_code")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_field("user_code", "is required"))?;
    let approve = match body.get("approve") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid_field("approve", "must be true or false")),
    };
    match c.state.devices.decide(&caller.ctx(), code, approve).await {
        Ok(()) => Ok(call::no_content()),
        Err(DeviceError::NoSuchCode) => Err(ApiError::not_found("code_not_found", "no pending device code matches")),
        Err(e) => Err(device_error(e)),
    }
}

/// The activation page's own policy: its one style inline, its form posting back here.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

fn page(status: StatusCode, message: &str, code: &str) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Connect a device to WatchMe</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}}label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.4rem;font-size:1rem}}button{{margin:1rem .5rem 0 0;padding:.5rem 1rem}}</style></head>
<body><h1>Connect a device</h1><p>{message}</p>
<form method="post"><label for="code">Code shown on the device</label><input id="code" name="user_code" value="{code}" autocomplete="off" required>
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button name="decision" value="approve">Approve</button><button name="decision" value="deny">Deny</button></form></body></html>"#,
        message = escape(message),
        code = escape(code),
    );
    let mut resp = Response::builder().status(status).header(CONTENT_TYPE, "text/html; charset=utf-8").body(html);
    crate::security::set_header(&mut resp, CONTENT_SECURITY_POLICY.as_str(), PAGE_CSP);
    crate::security::set_header(&mut resp, "cache-control", "no-store");
    resp
}

/// `GET /activate[?code=]`: the form.
pub(super) async fn activate_page(c: Call) -> Result<Response, ApiError> {
    let code = c.query("code").unwrap_or_default();
    Ok(page(StatusCode::OK, "Enter the code your device shows, and log in to approve it.", &code))
}

/// `POST /activate` (the form): checks the password (rate limited as a
/// login is), then approves or denies the code.
pub(super) async fn activate_submit(c: Call) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(c.raw_body()).unwrap_or_default();
    let f: HashMap<String, String> = url_pairs(text).collect();
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let code = get("user_code");
    credential_attempt(&c.state, &c.req, AuthAttempt::Login, Some(get("email"))).await?;
    let (Ok(email), Ok(password)) = (Email::parse(get("email")), Password::parse(get("password"))) else {
        return Ok(page(StatusCode::UNAUTHORIZED, "Invalid email or password.", code));
    };
    let user = match c.state.auth.verify_credentials(&email, &password).await {
        Ok(u) => u,
        Err(AuthError::InvalidCredentials) => {
            return Ok(page(StatusCode::UNAUTHORIZED, "Invalid email or password.", code))
        }
        Err(e) => return Err(e.into()),
    };
    let approve = get("decision") != "deny";
    let ctx = RequestContext::user(user.id).with_trace(crate::request::trace());
    match c.state.devices.decide(&ctx, code, approve).await {
        Ok(()) if approve => Ok(page(StatusCode::OK, "Approved: the device is connected and may close this page.", "")),
        Ok(()) => Ok(page(StatusCode::OK, "Denied: the device will not be connected.", "")),
        Err(DeviceError::NoSuchCode) => {
            Ok(page(StatusCode::NOT_FOUND, "No device is waiting with this code; it may have expired.", code))
        }
        Err(e) => Err(device_error(e)),
    }
}
