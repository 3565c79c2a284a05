//! Personal API tokens: made and revoked by a logged-in user, accepted as
//! bearer tokens wherever an access token is. A replica remembers what it
//! found behind a token for the session-check interval, as it does for
//! sessions: a revocation takes effect at once on the replica that made it
//! and within that interval elsewhere. Tests:
//! `watchme-adapters/tests/services_tokens.rs`.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{
    ApiToken, ApiTokenGrant, ApiTokenHash, ApiTokenId, ApiTokenSecret, EventEnvelope, EventMeta, EventPayload,
    RefreshToken, RequestContext, Role, TokenName, TokenNameError, TokenScope, UserId, API_TOKEN_PREFIX,
    MAX_TOKEN_DAYS,
};
use crate::error::{Cause, StorageError, TokenError};
use crate::ports::{AccessClaims, ApiTokenRepo, Clock, TokenIssuer};

use super::remembered::Remembered;
use super::AuthError;

/// Most tokens a replica remembers (see [`Remembered`]); past it, it forgets them all (and
/// looks each up again on its next use).
const REMEMBERED: usize = 10_000;

/// Why an API-token use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiTokenError {
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// Only a login (not an API token) may manage tokens.
    #[error("API tokens cannot manage tokens; use a login's access token")]
    LoginRequired,
    /// The name is refused.
    #[error(transparent)]
    InvalidName(#[from] TokenNameError),
    /// The lifetime is out of bounds.
    #[error("expires_in_days must be from 1 to {MAX_TOKEN_DAYS}")]
    InvalidLifetime,
    /// No such token of this user.
    #[error("no such token")]
    NotFound,
    /// The secret could not be made.
    #[error("could not make a token")]
    Internal(#[source] Cause),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Personal API tokens.
pub struct ApiTokenService {
    repo: Arc<dyn ApiTokenRepo>,
    secrets: Arc<dyn TokenIssuer>,
    clock: Arc<dyn Clock>,
    check_ttl: Duration,
    // What this replica found behind a token (`None`: no such token).
    found: Remembered<ApiTokenHash, Option<ApiToken>>,
}

impl ApiTokenService {
    /// Builds the service; `check_ttl` is how long a replica trusts what it
    /// found behind a token (the session-check interval).
    pub fn new(
        repo: Arc<dyn ApiTokenRepo>,
        secrets: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
        check_ttl: Duration,
    ) -> Self {
        Self { repo, secrets, clock, check_ttl, found: Remembered::new(REMEMBERED) }
    }

    /// Whether a bearer token is an API token (rather than a JWT).
    pub fn is_api_token(bearer: &str) -> bool {
        bearer.starts_with(API_TOKEN_PREFIX)
    }

    fn login(ctx: &RequestContext, claims: Option<&AccessClaims>) -> Result<UserId, ApiTokenError> {
        let user = ctx.user_id.ok_or(ApiTokenError::Unauthenticated)?;
        if claims.is_some_and(|c| c.api_token.is_some()) {
            return Err(ApiTokenError::LoginRequired);
        }
        Ok(user)
    }

    fn meta(&self, ctx: &RequestContext) -> EventMeta {
        EventMeta { actor: ctx.user_id, trace: ctx.trace.clone(), occurred_at: self.clock.now() }
    }

    fn hash(&self, secret: &str) -> ApiTokenHash {
        ApiTokenHash::new(self.secrets.hash_refresh_token(&RefreshToken::new(secret)).as_str())
    }

    /// Makes a token for the caller, who must have logged in (`claims` are
    /// their access token's). Returns it with its secret, shown only now.
    ///
    /// # Errors
    /// [`ApiTokenError`]: not logged in, an API token calling, a bad name
    /// or lifetime, or a failure.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        claims: Option<&AccessClaims>,
        name: &str,
        scope: TokenScope,
        expires_in_days: Option<u32>,
    ) -> Result<(ApiToken, ApiTokenSecret), ApiTokenError> {
        let user = Self::login(ctx, claims)?;
        let name = TokenName::parse(name)?;
        if expires_in_days.is_some_and(|d| !(1..=MAX_TOKEN_DAYS).contains(&d)) {
            return Err(ApiTokenError::InvalidLifetime);
        }
        // 256 random bits from the issuer's CSPRNG, behind our own prefix.
        let (random, _) = self.secrets.new_refresh_token().map_err(internal)?;
        let bits = random.expose().rsplit('_').next().unwrap_or_default();
        let secret = ApiTokenSecret::new(format!("{API_TOKEN_PREFIX}{bits}"));
        let meta = self.meta(ctx);
        let token = ApiToken {
            id: ApiTokenId::new(),
            user_id: user,
            name,
            scope,
            created_at: meta.occurred_at,
            last_used_at: None,
            expires_at: expires_in_days.map(|d| meta.occurred_at + time::Duration::days(i64::from(d))),
            revoked_at: None,
        };
        let event = EventEnvelope::new(
            EventPayload::TokenCreated {
                user_id: user,
                token_id: token.id,
                name: token.name.as_str().to_owned(),
                scope,
            },
            &meta,
        );
        self.repo.create_token(&token, &self.hash(secret.expose()), &event).await?;
        Ok((token, secret))
    }

    /// The caller's tokens (never their secrets), newest first.
    ///
    /// # Errors
    /// [`ApiTokenError`]: not logged in, an API token calling, or the store failing.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        claims: Option<&AccessClaims>,
    ) -> Result<Vec<ApiToken>, ApiTokenError> {
        let user = Self::login(ctx, claims)?;
        Ok(self.repo.tokens_of(user).await?)
    }

    /// Revokes one of the caller's tokens: at once on this replica.
    ///
    /// # Errors
    /// [`ApiTokenError::NotFound`] for a token that is not the caller's (or
    /// was revoked before), and the errors of [`ApiTokenService::list`].
    pub async fn revoke(
        &self,
        ctx: &RequestContext,
        claims: Option<&AccessClaims>,
        id: ApiTokenId,
    ) -> Result<(), ApiTokenError> {
        let user = Self::login(ctx, claims)?;
        let meta = self.meta(ctx);
        let event = EventEnvelope::new(EventPayload::TokenRevoked { user_id: user, token_id: id }, &meta);
        if !self.repo.revoke_token(user, id, meta.occurred_at, &event).await? {
            return Err(ApiTokenError::NotFound);
        }
        self.found.retain(|token| token.as_ref().is_none_or(|t| t.id != id));
        Ok(())
    }

    /// The claims a presented API token carries: its user (with the user
    /// role: admin operations need a login), no session, and its grant.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for an unknown, revoked or expired token;
    /// [`AuthError::Unavailable`] when it cannot be looked up and this
    /// replica has never seen it.
    pub async fn authenticate(&self, secret: &str) -> Result<AccessClaims, AuthError> {
        let hash = self.hash(secret);
        let now = self.clock.now();
        let known = self.found.get(&hash);
        let fresh = known.clone().filter(|(_, at)| now - *at < self.check_ttl);
        let token = match fresh {
            Some((token, _)) => token,
            None => match self.repo.find_token(&hash).await {
                Ok(token) => {
                    self.found.put(hash, token.clone(), now);
                    // Looked up once per interval, so last use is kept to that.
                    if let Some(t) = token.as_ref().filter(|t| t.is_active(now)) {
                        if let Err(e) = self.repo.token_used(t.id, now).await {
                            tracing::warn!(error = %e, "could not record an API token's use");
                        }
                    }
                    token
                }
                Err(e) => known.ok_or(AuthError::from(e))?.0,
            },
        };
        match token.filter(|t| t.is_active(now)) {
            Some(t) => Ok(AccessClaims {
                user_id: t.user_id,
                role: Role::User,
                session_id: None,
                api_token: Some(ApiTokenGrant { id: t.id, scope: t.scope }),
            }),
            None => Err(AuthError::InvalidToken),
        }
    }
}

fn internal(e: TokenError) -> ApiTokenError {
    match e {
        TokenError::Internal(c) => ApiTokenError::Internal(c),
        other => ApiTokenError::Internal(crate::error::cause(other)),
    }
}
