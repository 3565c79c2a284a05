//! Analytics: the `apply` logic every event consumer shares, and the queries.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{
    AggregateUpdate, AnalyticsChange, ApplyOutcome, EventEnvelope, EventPayload, MovieId, MovieStats, TrendingBy,
    TrendingEntry, TrendingWindow, UserStats,
};
use crate::error::StorageError;
use crate::ports::{AnalyticsStore, Clock, EventHandler};

/// Turns events into aggregate updates and answers analytics queries.
pub struct AnalyticsService {
    store: Arc<dyn AnalyticsStore>,
    clock: Arc<dyn Clock>,
}

impl AnalyticsService {
    /// Most entries a trending list returns.
    pub const MAX_TRENDING: u32 = 100;

    /// Builds the service.
    pub fn new(store: Arc<dyn AnalyticsStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The aggregate updates one event causes. Pure: the same event always
    /// gives the same change, so re-delivery is harmless once deduplicated.
    pub fn change_for(event: &EventEnvelope) -> AnalyticsChange {
        use AggregateUpdate as U;
        let at = event.occurred_at;
        let active = |user_id| U::UserActive { user_id, at };
        let updates = match &event.payload {
            EventPayload::UserRegistered { user_id, .. } => {
                vec![U::UserRegistered { user_id: *user_id, at }, active(*user_id)]
            }
            EventPayload::UserLoggedIn { user_id } => vec![active(*user_id)],
            EventPayload::MovieViewed { movie_id, title, user_id } => {
                let mut v =
                    vec![U::MovieViewed { movie_id: *movie_id, title: title.clone(), viewer: *user_id, at, count: 1 }];
                v.extend(user_id.map(active));
                v
            }
            EventPayload::MovieViewsCounted { movie_id, title, views } => {
                vec![U::MovieViewed { movie_id: *movie_id, title: title.clone(), viewer: None, at, count: *views }]
            }
            EventPayload::FavoriteAdded { user_id, movie_id, .. } => {
                vec![U::Favorites { movie_id: *movie_id, delta: 1 }, active(*user_id)]
            }
            EventPayload::FavoriteRemoved { user_id, movie_id } => {
                vec![U::Favorites { movie_id: *movie_id, delta: -1 }, active(*user_id)]
            }
            EventPayload::WatchStatusChanged { user_id, movie_id, from, to, .. } => {
                let mut v: Vec<_> =
                    from.iter().map(|s| U::Status { movie_id: *movie_id, status: *s, delta: -1 }).collect();
                v.push(U::Status { movie_id: *movie_id, status: *to, delta: 1 });
                v.push(active(*user_id));
                v
            }
            EventPayload::MovieRated { user_id, movie_id, rating, previous, .. } => {
                let (count_delta, sum_delta) = match previous {
                    None => (1, rating.get() as i64),
                    Some(p) => (0, rating.get() as i64 - p.get() as i64),
                };
                vec![U::Rating { movie_id: *movie_id, count_delta, sum_delta }, active(*user_id)]
            }
            EventPayload::LibraryEntryRemoved { user_id, movie_id, status, rating } => {
                let mut v: Vec<_> =
                    status.iter().map(|s| U::Status { movie_id: *movie_id, status: *s, delta: -1 }).collect();
                v.extend(rating.map(|r| U::Rating {
                    movie_id: *movie_id,
                    count_delta: -1,
                    sum_delta: -(r.get() as i64),
                }));
                v.push(active(*user_id));
                v
            }
            EventPayload::PlayRecorded { user_id, movie_id, title, watched_at, .. } => vec![
                U::Played { movie_id: *movie_id, title: Some(title.clone()), at: *watched_at, delta: 1 },
                active(*user_id),
            ],
            // Audit only: a token is nobody's activity.
            EventPayload::TokenCreated { .. } | EventPayload::TokenRevoked { .. } => vec![],
            EventPayload::ListChanged { user_id, .. } => vec![active(*user_id)],
            EventPayload::PlayRemoved { user_id, movie_id, watched_at, .. } => {
                vec![U::Played { movie_id: *movie_id, title: None, at: *watched_at, delta: -1 }, active(*user_id)]
            }
        };
        AnalyticsChange { event_id: event.event_id, updates }
    }

    /// Applies a batch of events to the aggregates, once each.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing of the batch is applied then.
    pub async fn apply(&self, events: &[EventEnvelope]) -> Result<ApplyOutcome, StorageError> {
        let changes: Vec<_> = events.iter().map(Self::change_for).collect();
        let outcome = self.store.apply(&changes).await?;
        tracing::debug!(applied = outcome.applied, duplicates = outcome.duplicates, "analytics batch applied");
        Ok(outcome)
    }

    /// Forgets the ids of events applied more than `keep` ago (see
    /// [`AnalyticsStore::prune_applied`]); returns how many.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    pub async fn prune_applied(&self, keep: std::time::Duration) -> Result<u64, StorageError> {
        self.store.prune_applied(self.clock.now() - keep).await
    }

    /// The most viewed (or played) movies in the window; `limit` is
    /// clamped to 1..=100.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    pub async fn trending(
        &self,
        window: TrendingWindow,
        limit: u32,
        by: TrendingBy,
    ) -> Result<Vec<TrendingEntry>, StorageError> {
        let since = self.clock.now() - window.duration();
        self.store.trending(since, limit.clamp(1, Self::MAX_TRENDING), by).await
    }

    /// Everything counted for one movie.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    pub async fn movie_stats(&self, movie: MovieId) -> Result<MovieStats, StorageError> {
        self.store.movie_stats(movie).await
    }

    /// Registered and active users over the window.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    pub async fn user_stats(&self, window: TrendingWindow) -> Result<UserStats, StorageError> {
        self.store.user_stats(self.clock.now() - window.duration()).await
    }
}

#[async_trait]
impl EventHandler for AnalyticsService {
    async fn handle(&self, events: &[EventEnvelope]) -> Result<(), StorageError> {
        self.apply(events).await.map(|_| ())
    }
}
