use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{AnalyticsChange, ApplyOutcome, MovieId, MovieStats, TrendingEntry, UserStats};
use crate::error::StorageError;

/// Stores the analytics aggregates.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AnalyticsStore: Send + Sync + 'static {
    /// Applies a batch of changes atomically and idempotently: a change whose
    /// `event_id` was applied before (in this batch or any earlier one) is
    /// skipped and counted as a duplicate. Counts never go below zero.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing of the batch is applied then.
    async fn apply(&self, changes: &[AnalyticsChange]) -> Result<ApplyOutcome, StorageError>;

    /// Everything counted for one movie; zeros for a movie never seen.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn movie_stats(&self, movie: MovieId) -> Result<MovieStats, StorageError>;

    /// Movies with the most views in hour buckets starting at or after
    /// `since`, most viewed first, ties by smaller id; at most `limit`.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn trending(&self, since: OffsetDateTime, limit: u32) -> Result<Vec<TrendingEntry>, StorageError>;

    /// Registered users in total and since `since`, and distinct users active since `since`.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn user_stats(&self, since: OffsetDateTime) -> Result<UserStats, StorageError>;
}
