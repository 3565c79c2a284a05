//! The session port: login sessions and their rotating refresh tokens,
//! with reuse detection. Adapters: memory and SQL; contract in
//! `watchme_adapters::contract::sessions`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{RefreshTokenHash, Session, SessionId, UserId};
use crate::error::StorageError;

/// What [`SessionRepo::rotate`] found behind a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current and its session active: it is now rotated and
    /// the new hash is the session's current token. Carries the updated session.
    Rotated(Session),
    /// The token had been rotated before: someone replays an old token.
    /// Nothing was changed; the caller decides (WatchMe revokes the family).
    Reused(Session),
    /// The token was current but its session is revoked or expired; nothing changed.
    Inactive(Session),
    /// No session ever had this token.
    Unknown,
}

/// Stores login sessions and the hashes of their refresh tokens.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SessionRepo: Send + Sync + 'static {
    /// Stores a new session whose current refresh token hashes to `refresh`.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is stored then.
    async fn create_session(&self, session: &Session, refresh: &RefreshTokenHash) -> Result<(), StorageError>;

    /// Atomically replaces the current token `presented` by `next`, setting
    /// the session's `last_used_at` to `now` and `expires_at` to `expires_at`.
    /// Of two concurrent rotations of one token exactly one is `Rotated`;
    /// the other sees `Reused`. A rotated token is remembered for as long as
    /// its session is, so a replay is recognised.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn rotate(
        &self,
        presented: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Rotation, StorageError>;

    /// The session with this id, active or not.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; an unknown id is `Ok(None)`.
    async fn find_session(&self, id: SessionId) -> Result<Option<Session>, StorageError>;

    /// The user's sessions that are active at `now`, most recently used first.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn active_sessions(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StorageError>;

    /// Revokes the session at `now`: none of its refresh tokens works any more.
    /// Returns whether it was active (revoking twice is not an error).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StorageError>;

    /// Deletes the sessions that expired or were revoked before `before`,
    /// with all their refresh-token hashes; returns how many sessions went.
    /// Their tokens are unknown afterwards, which is refused like a revoked one.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn prune_sessions(&self, before: OffsetDateTime) -> Result<u64, StorageError>;
}
