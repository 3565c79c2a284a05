//! Personal API tokens: `POST /me/tokens`, `GET /me/tokens`,
//! `DELETE /me/tokens/{id}`. Only a login manages them.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{ApiToken, ApiTokenId, TokenScope, MAX_TOKEN_DAYS};

use super::extract::{non_null, BearerAuth, JsonBody};
use super::schema::UuidParam;
use super::tags::Tag;
use crate::error::ApiError;
use crate::state::AppState;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TokenScopeDto {
    /// Reads only: every write answers 403.
    Read,
    /// Reads and writes (but no session or token management).
    Write,
}

impl From<TokenScopeDto> for TokenScope {
    fn from(s: TokenScopeDto) -> Self {
        match s {
            TokenScopeDto::Read => Self::Read,
            TokenScopeDto::Write => Self::Write,
        }
    }
}

impl From<TokenScope> for TokenScopeDto {
    fn from(s: TokenScope) -> Self {
        match s {
            TokenScope::Read => Self::Read,
            TokenScope::Write => Self::Write,
        }
    }
}

/// A new token.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What you call it (1 to 100 characters, not blank).
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"[^\s\u0085]"))]
    pub name: String,
    /// `read` or `write`.
    pub scope: TokenScopeDto,
    /// Days until it stops working, 1 to 3650; leave it out for a token that does not expire.
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    #[serde(default, deserialize_with = "non_null")]
    pub expires_in_days: Option<i64>,
}

impl Example for NewTokenRequest {
    fn example() -> Self {
        Self { name: "backup script".into(), scope: TokenScopeDto::Read, expires_in_days: Some(90) }
    }
}

/// A token, never its secret.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TokenDto {
    /// Its id (for `DELETE /me/tokens/{id}`).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// `read` or `write`.
    pub scope: TokenScopeDto,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it was last used (kept to the session-check interval).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops working; absent if never.
    pub expires_at: Option<OffsetDateTime>,
}

impl From<ApiToken> for TokenDto {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name.as_str().to_owned(),
            scope: t.scope.into(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
        }
    }
}

/// A token just made, with its secret: shown this once, never again.
#[derive(Debug, Clone, Object)]
pub struct CreatedTokenDto {
    /// Send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// The token.
    #[oai(flatten)]
    pub info: TokenDto,
}

/// The caller's tokens.
#[derive(Debug, Clone, Object)]
pub struct TokenList {
    /// Newest first; revoked ones are not listed.
    pub items: Vec<TokenDto>,
}

#[derive(ApiResponse)]
enum Created {
    /// Made; the secret is in `token` and will not be shown again.
    #[oai(status = 201)]
    Created(Json<CreatedTokenDto>),
}

#[derive(ApiResponse)]
enum Revoked {
    /// Revoked: refused at once on this replica, within the session-check
    /// interval on the others.
    #[oai(status = 204)]
    NoContent,
}

/// Personal API tokens.
pub struct TokensApi {
    state: Arc<AppState>,
}

impl TokensApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "Tag::Auth")]
impl TokensApi {
    /// Make a personal API token for scripts and apps: a bearer token that
    /// does not expire in 15 minutes. Only a login's access token may do this.
    #[oai(path = "/me/tokens", method = "post", operation_id = "create_token")]
    async fn create(&self, auth: BearerAuth, body: JsonBody<NewTokenRequest>) -> Result<Created, ApiError> {
        let days = match body.0.expires_in_days {
            None => None,
            Some(d) => Some(u32::try_from(d).ok().filter(|d| (1..=MAX_TOKEN_DAYS).contains(d)).ok_or_else(|| {
                ApiError::invalid_field("expires_in_days", format!("must be from 1 to {MAX_TOKEN_DAYS}"))
            })?),
        };
        let claims = auth.0.claims();
        let (token, secret) =
            self.state.tokens.create(&auth.0.ctx(), Some(&claims), &body.0.name, body.0.scope.into(), days).await?;
        Ok(Created::Created(Json(CreatedTokenDto { token: secret.expose().to_owned(), info: token.into() })))
    }

    /// The caller's tokens (never their secrets).
    #[oai(path = "/me/tokens", method = "get", operation_id = "my_tokens")]
    async fn list(&self, auth: BearerAuth) -> Result<Json<TokenList>, ApiError> {
        let claims = auth.0.claims();
        let list = self.state.tokens.list(&auth.0.ctx(), Some(&claims)).await?;
        Ok(Json(TokenList { items: list.into_iter().map(Into::into).collect() }))
    }

    /// Revoke one of the caller's tokens (another user's is a 404).
    #[oai(path = "/me/tokens/:token_id", method = "delete", operation_id = "revoke_token")]
    async fn revoke(
        &self,
        auth: BearerAuth,
        /// The token's id, from `GET /me/tokens`.
        token_id: Path<UuidParam>,
    ) -> Result<Revoked, ApiError> {
        let id = ApiTokenId::from_uuid(token_id.0.get("token_id")?);
        let claims = auth.0.claims();
        self.state.tokens.revoke(&auth.0.ctx(), Some(&claims), id).await?;
        Ok(Revoked::NoContent)
    }
}
