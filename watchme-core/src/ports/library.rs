//! The library port: each user's views, favorites and library entries,
//! each write with its events in one atomic step. Adapters: memory and SQL;
//! contract in `watchme_adapters::contract::library`.

use async_trait::async_trait;

use crate::domain::{
    EventEnvelope, EventMeta, Favorite, LibraryChange, LibraryEntry, LibraryUpdate, MovieId, MovieRef, Page,
    PageRequest, UserId, View, WatchStatus,
};
use crate::error::StorageError;

/// Stores each user's view history, favorites and library entries.
///
/// Every write that changes state appends the events describing the change
/// to the outbox in the same atomic step, so an event exists exactly when
/// its change does.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LibraryRepo: Send + Sync + 'static {
    /// Appends `views` to their users' histories and `events` to the outbox,
    /// all in one atomic step: a batch of many requests' writes (group
    /// commit) is stored whole or not at all. Either slice may be empty.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is stored then.
    async fn record_views(&self, views: &[View], events: &[EventEnvelope]) -> Result<(), StorageError>;

    /// The user's views, newest first.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn views(&self, user: UserId, page: PageRequest) -> Result<Page<View>, StorageError>;

    /// Adds a favorite unless it is one already. Returns whether it was
    /// added; `event` is appended to the outbox only then, atomically.
    /// Idempotent: adding twice leaves one favorite and one event.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is stored then.
    async fn add_favorite(&self, favorite: &Favorite, event: &EventEnvelope) -> Result<bool, StorageError>;

    /// Removes a favorite if present. Returns whether it was removed; `event`
    /// is appended to the outbox only then, atomically.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn remove_favorite(&self, user: UserId, movie: MovieId, event: &EventEnvelope) -> Result<bool, StorageError>;

    /// The user's favorites, most recently added first.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn favorites(&self, user: UserId, page: PageRequest) -> Result<Page<Favorite>, StorageError>;

    /// Creates or updates the user's entry for `movie`: reads the current
    /// entry, applies `update` with [`LibraryUpdate::apply`] at
    /// `meta.occurred_at`, stores it, and appends [`LibraryChange::events`]
    /// to the outbox, all in one atomic step (concurrent updates of one
    /// entry serialise, so `from`/`previous` in the events are exact).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn upsert_entry(
        &self,
        user: UserId,
        movie: &MovieRef,
        update: LibraryUpdate,
        meta: &EventMeta,
    ) -> Result<LibraryChange, StorageError>;

    /// Deletes the user's entry for `movie` if present and appends
    /// [`LibraryChange::events`] atomically. Removing an absent entry changes
    /// nothing and returns a change with neither side.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing is changed then.
    async fn remove_entry(&self, user: UserId, movie: MovieId, meta: &EventMeta)
        -> Result<LibraryChange, StorageError>;

    /// One entry, if present.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn entry(&self, user: UserId, movie: MovieId) -> Result<Option<LibraryEntry>, StorageError>;

    /// The user's entries, optionally only those with `status`, most
    /// recently updated first.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn entries(
        &self,
        user: UserId,
        status: Option<WatchStatus>,
        page: PageRequest,
    ) -> Result<Page<LibraryEntry>, StorageError>;
}
