//! `POST /auth/register`, `POST /auth/login`, `GET /me`.

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use watchme_core::domain::{DisplayName, Email, Password};
use watchme_core::services::Registration;

use super::dto::UserDto;
use super::error::ApiError;
use super::extract::{BearerAuth, JsonBody, MaybeAuth};
use super::Tag;
use crate::app::AppState;

/// A new account.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Login email (case does not matter).
    pub email: String,
    /// 8 to 128 characters, not equal to the email.
    pub password: String,
    /// Name shown to others; defaults to the part of the email before `@`.
    pub display_name: Option<String>,
}

/// Credentials.
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// An access token.
#[derive(Debug, Object)]
pub struct TokenResponse {
    /// JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<UserDto>),
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// Logged in.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>),
}

#[derive(ApiResponse)]
enum MeResponse {
    /// The caller's account.
    #[oai(status = 200)]
    Ok(Json<UserDto>),
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
}

fn email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|e| ApiError::invalid_field("email", e))
}

fn password(raw: &str) -> Result<Password, ApiError> {
    Password::parse(raw).map_err(|e| ApiError::invalid_field("password", e))
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Create an account.
    #[oai(path = "/auth/register", method = "post")]
    async fn register(&self, body: JsonBody<RegisterRequest>) -> Result<RegisterResponse, ApiError> {
        let b = body.0;
        let reg = Registration {
            email: email(&b.email)?,
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

    /// Log in with email and password; answers an access token.
    ///
    /// A wrong email and a wrong password give the same 401, in the same time.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(&self, body: JsonBody<LoginRequest>) -> Result<LoginResponse, ApiError> {
        let b = body.0;
        // A malformed email cannot belong to an account: same answer as a wrong one.
        let (Ok(email), Ok(password)) = (Email::parse(&b.email), Password::parse(&b.password)) else {
            if b.email.trim().is_empty() {
                return Err(ApiError::invalid_field("email", "must not be empty"));
            }
            if b.password.is_empty() {
                return Err(ApiError::invalid_field("password", "must not be empty"));
            }
            return Err(ApiError::unauthorized("invalid_credentials", "invalid email or password"));
        };
        let ok = self.state.auth.login(&MaybeAuth(None).ctx(), &email, &password).await?;
        Ok(LoginResponse::Ok(Json(TokenResponse {
            access_token: ok.access.token,
            token_type: "Bearer".into(),
            expires_in: ok.access.expires_in.as_secs(),
        })))
    }

    /// The caller's account.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, auth: BearerAuth) -> Result<MeResponse, ApiError> {
        let user = self.state.auth.current_user(auth.0.user_id).await?;
        Ok(MeResponse::Ok(Json(user.into())))
    }
}
