//! Accounts, tokens and sessions: `POST /auth/register`, `/auth/login`,
//! `/auth/refresh`, `/auth/logout`, `GET`/`DELETE /auth/sessions`, `GET /me`.
//!
//! Login, register and refresh are counted against the strict per-IP and
//! per-account budgets before any password is hashed.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{ClientInfo, DisplayName, Email, Password, RefreshToken, Session, SessionId};
use watchme_core::services::{AuthAttempt, Registration, TokenPair};

use super::dto::UserDto;
use super::extract::{non_null, BearerAuth, JsonBody, MaybeAuth};
use super::schema::{EmailText, SessionIdParam};
use super::tags::Tag;
use crate::error::ApiError;
use crate::security::{ClientIp, RateSlot};
use crate::state::AppState;

/// A new account.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Login email (case does not matter).
    pub email: EmailText,
    /// 8 to 128 characters, not equal to the email, not one of the 19,640
    /// most common passwords (those two are refused with 422 `weak_password`).
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: String,
    /// Name shown to others, 1 to 64 characters without control characters,
    /// `<` or `>`; defaults to the part of the email before `@`.
    #[serde(default, deserialize_with = "non_null")]
    #[oai(validator(
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f<>]*[^\s\x00-\x1f\x7f-\x9f<>][^\x00-\x1f\x7f-\x9f<>]*$"
    ))]
    pub display_name: Option<String>,
}

/// Credentials.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login email.
    pub email: EmailText,
    /// Password (8 to 128 characters).
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: String,
}

/// A refresh token to rotate.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh; it works once.
    #[oai(validator(min_length = 1, max_length = 256))]
    pub refresh_token: String,
}

/// How an access token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TokenType {
    /// `Authorization: Bearer <access_token>`.
    Bearer,
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Object)]
pub struct TokenResponse {
    /// JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// How to send the access token: always `Bearer`.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque token for `POST /auth/refresh`; valid once, keep it secret.
    pub refresh_token: String,
    /// Seconds until the refresh token expires if not used.
    pub refresh_expires_in: u64,
    /// The login session both tokens belong to.
    pub session_id: Uuid,
}

impl From<TokenPair> for TokenResponse {
    fn from(p: TokenPair) -> Self {
        Self {
            access_token: p.access.token,
            token_type: TokenType::Bearer,
            expires_in: p.access.expires_in.as_secs(),
            refresh_token: p.refresh.expose().to_owned(),
            refresh_expires_in: p.refresh_expires_in.as_secs(),
            session_id: p.session.id.as_uuid(),
        }
    }
}

/// One login session of the caller.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SessionDto {
    /// Session id, for `DELETE /auth/sessions/{id}`.
    pub id: Uuid,
    /// When the login happened.
    pub created_at: OffsetDateTime,
    /// When the session's refresh token was last used.
    pub last_used_at: OffsetDateTime,
    /// When it ends unless refreshed before.
    pub expires_at: OffsetDateTime,
    /// The client's User-Agent at login.
    pub user_agent: Option<String>,
    /// The client's IP at login.
    pub ip: Option<String>,
    /// Whether this is the session of the token making the request.
    pub current: bool,
}

fn session_dto(s: Session, current: Option<SessionId>) -> SessionDto {
    SessionDto {
        id: s.id.as_uuid(),
        created_at: s.created_at,
        last_used_at: s.last_used_at,
        expires_at: s.expires_at,
        user_agent: s.client.user_agent,
        ip: s.client.ip,
        current: current == Some(s.id),
    }
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<UserDto>),
}

#[derive(ApiResponse)]
enum TokensResponse {
    /// Tokens issued.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>),
}

#[derive(ApiResponse)]
enum MeResponse {
    /// The caller's account.
    #[oai(status = 200)]
    Ok(Json<UserDto>),
}

#[derive(ApiResponse)]
enum SessionsResponse {
    /// The caller's active sessions, most recently used first.
    #[oai(status = 200)]
    Ok(Json<Vec<SessionDto>>),
}

#[derive(ApiResponse)]
enum Revoked {
    /// The session is revoked: its refresh token and access tokens stop working.
    #[oai(status = 204)]
    NoContent,
}

/// Accounts and tokens.
pub struct AuthApi {
    state: Arc<AppState>,
}

impl AuthApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    /// Counts a credential attempt; refuses it with a 429 when over budget.
    async fn attempt(&self, req: &Request, what: AuthAttempt, account: Option<&str>) -> Result<(), ApiError> {
        credential_attempt(&self.state, req, what, account).await
    }
}

/// Counts a credential attempt (a login, a registration, a refresh, or
/// another form that takes a password) against the per-IP and per-account
/// budgets; refuses it with a 429 when over budget.
///
/// # Errors
/// The 429, with its `Retry-After`.
pub(crate) async fn credential_attempt(
    state: &AppState,
    req: &Request,
    what: AuthAttempt,
    account: Option<&str>,
) -> Result<(), ApiError> {
    let Some(limits) = &state.limits else { return Ok(()) };
    let ip = ClientIp::of(req);
    let d = limits.auth_attempt(what, &ip, account).await;
    RateSlot::record(req, d);
    if d.allowed {
        return Ok(());
    }
    tracing::warn!(security_event = "auth_rate_limited", attempt = ?what, client_ip = %ip, "credential attempt refused by the rate limit");
    Err(ApiError::rate_limited(&d))
}

fn email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|e| ApiError::invalid_field("email", e))
}

fn password(raw: &str) -> Result<Password, ApiError> {
    Password::parse(raw).map_err(|e| ApiError::invalid_field("password", e))
}

pub(crate) fn client(req: &Request) -> ClientInfo {
    ClientInfo::new(req.header("user-agent"), Some(ClientIp::of(req)))
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Create an account.
    #[oai(path = "/auth/register", method = "post", operation_id = "register")]
    async fn register(&self, req: &Request, body: JsonBody<RegisterRequest>) -> Result<RegisterResponse, ApiError> {
        let b = body.0;
        self.attempt(req, AuthAttempt::Register, Some(&b.email.0)).await?;
        let reg = Registration {
            email: email(&b.email.0)?,
            password: password(&b.password)?,
            display_name: b
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()
                .map_err(|e| ApiError::invalid_field("display_name", e))?,
        };
        let user = self.state.auth.register(&MaybeAuth(None).ctx(), reg).await?;
        Ok(RegisterResponse::Created(Json(user.into())))
    }

    /// Log in with email and password; answers an access token and a refresh token.
    ///
    /// A wrong email and a wrong password give the same 401, in the same time.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(&self, req: &Request, body: JsonBody<LoginRequest>) -> Result<TokensResponse, ApiError> {
        let b = body.0;
        self.attempt(req, AuthAttempt::Login, Some(&b.email.0)).await?;
        // A malformed email cannot belong to an account: same answer as a wrong one.
        let (Ok(email), Ok(password)) = (Email::parse(&b.email.0), Password::parse(&b.password)) else {
            if b.email.0.trim().is_empty() {
                return Err(ApiError::invalid_field("email", "must not be empty"));
            }
            if b.password.is_empty() {
                return Err(ApiError::invalid_field("password", "must not be empty"));
            }
            return Err(ApiError::unauthorized("invalid_credentials", "invalid email or password"));
        };
        let ok = self.state.auth.login(&MaybeAuth(None).ctx(), &email, &password, client(req)).await?;
        Ok(TokensResponse::Ok(Json(ok.tokens.into())))
    }

    /// Exchange a refresh token for a new access token and a new refresh token.
    ///
    /// The presented token stops working. Presenting a token that was
    /// already exchanged ends its whole session (a copy was stolen): log in again.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(&self, req: &Request, body: JsonBody<RefreshRequest>) -> Result<TokensResponse, ApiError> {
        self.attempt(req, AuthAttempt::Refresh, None).await?;
        let token = body.0.refresh_token;
        if token.is_empty() || token.chars().count() > 256 {
            return Err(ApiError::invalid_field("refresh_token", "must be a token from login or refresh"));
        }
        let pair = self.state.auth.refresh(&RefreshToken::new(token)).await?;
        Ok(TokensResponse::Ok(Json(pair.into())))
    }

    /// End the session of the access token (logout everywhere that session is used).
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, auth: BearerAuth) -> Result<Revoked, ApiError> {
        auth.0.require_login()?;
        self.state.auth.logout(&auth.0.claims()).await?;
        Ok(Revoked::NoContent)
    }

    /// The caller's active sessions (devices logged in).
    #[oai(path = "/auth/sessions", method = "get", operation_id = "my_sessions")]
    async fn sessions(&self, auth: BearerAuth) -> Result<SessionsResponse, ApiError> {
        auth.0.require_login()?;
        let list = self.state.auth.sessions(auth.0.user_id).await?;
        Ok(SessionsResponse::Ok(Json(list.into_iter().map(|s| session_dto(s, auth.0.session_id)).collect())))
    }

    /// Revoke one of the caller's sessions (another user's session is a 404).
    #[oai(path = "/auth/sessions/:id", method = "delete", operation_id = "revoke_session")]
    async fn revoke(
        &self,
        auth: BearerAuth,
        /// The session's id, from `GET /auth/sessions` or the login answer.
        id: Path<SessionIdParam>,
    ) -> Result<Revoked, ApiError> {
        auth.0.require_login()?;
        let id = id.0.get("id")?;
        self.state.auth.revoke_session(auth.0.user_id, id).await?;
        Ok(Revoked::NoContent)
    }

    /// The caller's account.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, auth: BearerAuth) -> Result<MeResponse, ApiError> {
        let user = self.state.auth.current_user(auth.0.user_id).await?;
        Ok(MeResponse::Ok(Json(user.into())))
    }
}
