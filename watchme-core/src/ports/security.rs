//! The security ports: password hashing and access/refresh token issuing,
//! so the core never links a crypto crate. Adapter: `watchme_adapters::crypto`.

use std::time::Duration;

use crate::domain::{ApiTokenGrant, Password, PasswordHash, RefreshToken, RefreshTokenHash, Role, SessionId, UserId};
use crate::error::{HashError, TokenError};
use async_trait::async_trait;

/// Hashes and verifies passwords (argon2id in production).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes with a fresh random salt, off the async executor.
    ///
    /// # Errors
    /// [`HashError::Internal`] when hashing fails.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash`, in time independent of where they differ.
    ///
    /// # Errors
    /// - [`HashError::Malformed`] when `hash` is not a hash this hasher reads.
    /// - [`HashError::Internal`] when verifying fails.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError>;

    /// Whether `hash` was made with other parameters than the current ones
    /// and should be replaced after the next successful login.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;
}

/// What an access token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub user_id: UserId,
    /// Their role when the token was issued.
    pub role: Role,
    /// The login session the token belongs to, when sessions are tracked.
    pub session_id: Option<SessionId>,
    /// Set when the bearer is a personal API token rather than a login's JWT.
    pub api_token: Option<ApiTokenGrant>,
}

/// A signed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// How long it is valid.
    pub expires_in: Duration,
}

/// Issues and verifies access tokens (JWT).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TokenIssuer: Send + Sync + 'static {
    /// Signs a token for `claims`, valid from now for the configured lifetime.
    ///
    /// # Errors
    /// [`TokenError::Internal`] when signing fails.
    fn issue(&self, claims: &AccessClaims) -> Result<IssuedToken, TokenError>;

    /// Checks signature, algorithm, issuer, audience and validity period.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for any token that is not one we issued and still valid.
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError>;

    /// A fresh opaque refresh token (at least 256 random bits) and the hash it is stored under.
    ///
    /// # Errors
    /// [`TokenError::Internal`] when the system has no randomness to give.
    fn new_refresh_token(&self) -> Result<(RefreshToken, RefreshTokenHash), TokenError>;

    /// The stored hash of a presented refresh token (a fast, unsalted digest:
    /// the token is 256 random bits, so nothing can be guessed from it).
    fn hash_refresh_token(&self, token: &RefreshToken) -> RefreshTokenHash;
}
