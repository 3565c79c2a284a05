//! The history port: each user's plays (rewatches included) and the
//! last-activity times of every part of their data. Adapters: memory and
//! SQL; contract in `watchme_adapters::contract::history`.

use async_trait::async_trait;

use crate::domain::{
    Activity, EventMeta, HistoryFilter, MovieId, NewPlay, Page, PageRequest, Play, PlayId, PlaysAdded, UserId,
};
use crate::error::StorageError;

/// Stores each user's plays, and answers the last-activity times that
/// every repository write keeps.
///
/// Every write appends its events to the outbox and moves the user's
/// activity times in the same atomic step as the change.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HistoryRepo: Send + Sync + 'static {
    /// Adds the plays that are not stored yet, all in one atomic step. A
    /// play is the same as a stored one when the movie and `watched_at` (to
    /// the second) are the same: it is then reported under `existing` (the
    /// stored play) and adds nothing; two equal plays in one batch add one.
    /// For every added play a `play_recorded` event is appended; a movie
    /// that had no play before and whose library status is not `watched`
    /// gets status `watched` with its `watch_status_changed` event. The
    /// user's `history` activity moves to `meta.occurred_at` when anything
    /// was added (and `library` when a status changed).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing of the batch is stored then.
    async fn add_plays(&self, user: UserId, plays: &[NewPlay], meta: &EventMeta) -> Result<PlaysAdded, StorageError>;

    /// The user's plays that pass `filter`, newest `watched_at` first (ties:
    /// newest id first).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn plays(&self, user: UserId, filter: HistoryFilter, page: PageRequest) -> Result<Page<Play>, StorageError>;

    /// Removes one of the user's plays (a play of another user is absent)
    /// with its `play_removed` event, moving `history` activity. Returns the
    /// removed play. The library status is never changed.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn remove_play(&self, user: UserId, id: PlayId, meta: &EventMeta) -> Result<Option<Play>, StorageError>;

    /// Removes all the user's plays of `movie`, one `play_removed` event
    /// each, moving `history` activity if any went. Returns the removed plays.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn remove_plays_of(&self, user: UserId, movie: MovieId, meta: &EventMeta) -> Result<Vec<Play>, StorageError>;

    /// When each part of the user's data last changed.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn activity(&self, user: UserId) -> Result<Activity, StorageError>;
}
