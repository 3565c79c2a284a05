//! The API-token port: personal API tokens by their secret's hash.
//! Adapters: memory and SQL; contract in `watchme_adapters::contract::tokens`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{ApiToken, ApiTokenHash, ApiTokenId, EventEnvelope, UserId};
use crate::error::StorageError;

/// Stores personal API tokens: the token and its secret's hash, never the secret.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ApiTokenRepo: Send + Sync + 'static {
    /// Stores a new token under `hash`, with `event` in the outbox, atomically.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is stored then.
    async fn create_token(
        &self,
        token: &ApiToken,
        hash: &ApiTokenHash,
        event: &EventEnvelope,
    ) -> Result<(), StorageError>;

    /// The token whose secret hashes to `hash`, revoked and expired ones included.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn find_token(&self, hash: &ApiTokenHash) -> Result<Option<ApiToken>, StorageError>;

    /// The user's tokens that were not revoked, newest first (expired ones included).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn tokens_of(&self, user: UserId) -> Result<Vec<ApiToken>, StorageError>;

    /// Revokes one of the user's tokens at `at` with `event` in the outbox,
    /// atomically. Returns whether it did: `false` for an unknown token,
    /// another user's, or one revoked before (no event then).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn revoke_token(
        &self,
        user: UserId,
        id: ApiTokenId,
        at: OffsetDateTime,
        event: &EventEnvelope,
    ) -> Result<bool, StorageError>;

    /// Records that the token was used at `at` (never moving it back).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn token_used(&self, id: ApiTokenId, at: OffsetDateTime) -> Result<(), StorageError>;
}
