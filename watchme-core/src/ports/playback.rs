//! The playback port: each user's running and paused playbacks, one per
//! movie. Adapters: memory and SQL; contract in
//! `watchme_adapters::contract::playback`.

use async_trait::async_trait;

use crate::domain::{MovieId, Playback, PlaybackState, UserId};
use crate::error::StorageError;

/// Stores playbacks: at most one per user and movie.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PlaybackRepo: Send + Sync + 'static {
    /// Stores `playback`, replacing the user's playback of the same movie.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn put_playback(&self, playback: &Playback) -> Result<(), StorageError>;

    /// The user's playbacks, optionally only those in `state`, most
    /// recently updated first.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn playbacks(&self, user: UserId, state: Option<PlaybackState>) -> Result<Vec<Playback>, StorageError>;

    /// Removes the user's playback of `movie`, optionally only when it is
    /// in `state`; returns whether one was removed.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn remove_playback(
        &self,
        user: UserId,
        movie: MovieId,
        state: Option<PlaybackState>,
    ) -> Result<bool, StorageError>;
}
