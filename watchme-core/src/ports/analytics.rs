//! The analytics port: where the consumer's aggregates (movie counts,
//! trending buckets, user statistics) are kept, idempotently per event.
//! Adapters: memory and SQL; contract in `watchme_adapters::contract::analytics`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{AnalyticsChange, ApplyOutcome, MovieId, MovieStats, TrendingBy, TrendingEntry, UserStats};
use crate::error::StorageError;

/// Stores the analytics aggregates.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AnalyticsStore: Send + Sync + 'static {
    /// Applies a batch of changes atomically and idempotently: a change whose
    /// `event_id` was applied before (in this batch or any earlier one the
    /// store still remembers, see [`AnalyticsStore::prune_applied`]) is
    /// skipped and counted as a duplicate. Counts never go below zero.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing of the batch is applied then.
    async fn apply(&self, changes: &[AnalyticsChange]) -> Result<ApplyOutcome, StorageError>;

    /// Forgets the ids of events applied before `before`, so the ids kept to
    /// detect redelivered events do not grow forever: a copy of a forgotten
    /// event delivered later would be counted again. Keep ids for longer than
    /// any redelivery can lag (the broker's retention). A store may also
    /// forget the oldest ids early to bound its memory, and must say how
    /// many it keeps. Returns how many ids were forgotten.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn prune_applied(&self, before: OffsetDateTime) -> Result<u64, StorageError>;

    /// Everything counted for one movie; zeros for a movie never seen.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn movie_stats(&self, movie: MovieId) -> Result<MovieStats, StorageError>;

    /// Movies with the most views (or plays, by when they were watched) in
    /// hour buckets starting at or after `since`, most first, ties by
    /// smaller id; at most `limit`. Each entry has both counts of the
    /// window; a movie with none of what `by` ranks is not listed.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn trending(
        &self,
        since: OffsetDateTime,
        limit: u32,
        by: TrendingBy,
    ) -> Result<Vec<TrendingEntry>, StorageError>;

    /// Registered users in total and since `since`, and distinct users active since `since`.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn user_stats(&self, since: OffsetDateTime) -> Result<UserStats, StorageError>;
}
