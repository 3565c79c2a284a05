//! Analytics read models and the updates that build them.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{MovieId, UserId, WatchStatus};

/// Why a string is not a [`TrendingWindow`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window must be `day` or `week`")]
pub struct TrendingWindowError;

/// The period trending is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendingWindow {
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
}

impl TrendingWindow {
    /// Length of the window.
    pub fn duration(&self) -> Duration {
        match self {
            Self::Day => Duration::days(1),
            Self::Week => Duration::weeks(1),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
        }
    }
}

impl std::str::FromStr for TrendingWindow {
    type Err = TrendingWindowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            _ => Err(TrendingWindowError),
        }
    }
}

/// Trending is counted in hourly buckets: a window sums the buckets whose
/// hour starts inside it, which keeps storage bounded and queries cheap.
pub fn hour_bucket(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(3600)
}

/// A movie's place in a trending list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendingEntry {
    /// The movie.
    pub movie_id: MovieId,
    /// Its last known title.
    pub title: String,
    /// Views inside the window.
    pub views: u64,
    /// Plays inside the window (by when they were watched).
    pub plays: u64,
}

/// What a trending list ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendingBy {
    /// Page views.
    #[default]
    Views,
    /// Plays.
    Plays,
}

impl TrendingBy {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Views => "views",
            Self::Plays => "plays",
        }
    }
}

/// Why a string is not a [`TrendingBy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("by must be `views` or `plays`")]
pub struct TrendingByError;

impl std::str::FromStr for TrendingBy {
    type Err = TrendingByError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "views" => Ok(Self::Views),
            "plays" => Ok(Self::Plays),
            _ => Err(TrendingByError),
        }
    }
}

/// Everything counted about one movie.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MovieStats {
    /// Page views, anonymous ones included.
    pub views: u64,
    /// Plays in users' histories.
    pub plays: u64,
    /// Distinct logged-in viewers.
    pub unique_viewers: u64,
    /// Users who have it as a favorite.
    pub favorites: u64,
    /// Library entries per status.
    pub want_to_watch: u64,
    /// Library entries with status watching.
    pub watching: u64,
    /// Library entries with status watched.
    pub watched: u64,
    /// Number of ratings.
    pub ratings_count: u64,
    /// Sum of ratings, for the average.
    pub ratings_sum: u64,
}

impl MovieStats {
    /// Average rating, when anyone rated.
    pub fn rating_average(&self) -> Option<f64> {
        (self.ratings_count > 0).then(|| self.ratings_sum as f64 / self.ratings_count as f64)
    }
}

/// Counts about users over a period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserStats {
    /// Accounts registered, all time.
    pub registered_total: u64,
    /// Accounts registered inside the period.
    pub registered_in_window: u64,
    /// Distinct users who acted inside the period.
    pub active_in_window: u64,
}

/// One change to the aggregates, derived from one event.
#[derive(Debug, Clone, PartialEq)]
pub enum AggregateUpdate {
    /// Page views (trending bucket, views, unique viewers).
    MovieViewed {
        /// The movie.
        movie_id: MovieId,
        /// Its title, remembered for trending lists.
        title: String,
        /// Viewer, when logged in.
        viewer: Option<UserId>,
        /// When (the hour bucket it counts in).
        at: OffsetDateTime,
        /// How many views: 1 for a `movie_viewed` event, the count of a
        /// `movie_views_counted` one.
        count: u64,
    },
    /// A play was added (+1) or removed (-1): plays per movie, and per hour
    /// of `watched_at` for trending by plays.
    Played {
        /// The movie.
        movie_id: MovieId,
        /// Its title, when the event carries one.
        title: Option<String>,
        /// When it was watched (the hour bucket it counts in).
        at: OffsetDateTime,
        /// +1 or -1.
        delta: i64,
    },
    /// Favorites count changes by `delta`.
    Favorites {
        /// The movie.
        movie_id: MovieId,
        /// +1 or -1.
        delta: i64,
    },
    /// Count of library entries with `status` changes by `delta`.
    Status {
        /// The movie.
        movie_id: MovieId,
        /// Which status count.
        status: WatchStatus,
        /// +1 or -1.
        delta: i64,
    },
    /// Rating totals change.
    Rating {
        /// The movie.
        movie_id: MovieId,
        /// Change of the number of ratings.
        count_delta: i64,
        /// Change of the sum of ratings.
        sum_delta: i64,
    },
    /// A user registered.
    UserRegistered {
        /// Who.
        user_id: UserId,
        /// When.
        at: OffsetDateTime,
    },
    /// A user did something (counted once per user per hour bucket).
    UserActive {
        /// Who.
        user_id: UserId,
        /// When.
        at: OffsetDateTime,
    },
}

/// The aggregate updates of one event, applied together or not at all, once.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsChange {
    /// The event's id: the idempotence key.
    pub event_id: Uuid,
    /// What to change.
    pub updates: Vec<AggregateUpdate>,
}

/// What applying a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyOutcome {
    /// Changes applied now.
    pub applied: u64,
    /// Changes skipped because their event id was applied before.
    pub duplicates: u64,
}

/// A counter's change over a sequence of deltas, each applied as
/// `max(0, counter + delta)`: the counter ends at `max(start + total,
/// floor)`, whatever it started at. So a store can apply a whole batch's
/// deltas to one row in one write and count exactly as one write per delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClampedDelta {
    /// The sum of the deltas.
    pub total: i64,
    /// The lowest prefix sum, 0 included.
    min_prefix: i64,
}

impl ClampedDelta {
    /// Adds one more delta to the sequence.
    pub fn push(&mut self, delta: i64) {
        self.total += delta;
        self.min_prefix = self.min_prefix.min(self.total);
    }

    /// The least the counter ends at: what it ends at from zero.
    pub fn floor(&self) -> i64 {
        self.total - self.min_prefix
    }

    /// Where a counter at `start` ends.
    pub fn apply(&self, start: i64) -> i64 {
        (start + self.total).max(self.floor())
    }
}

/// Everything a batch changes on one movie's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MovieCounters {
    /// The title of the batch's last view of it, if it has one.
    pub title: Option<String>,
    /// Views added.
    pub views: u64,
    /// Plays.
    pub plays: ClampedDelta,
    /// Favorites.
    pub favorites: ClampedDelta,
    /// Entries with status `want_to_watch`.
    pub want_to_watch: ClampedDelta,
    /// Entries with status `watching`.
    pub watching: ClampedDelta,
    /// Entries with status `watched`.
    pub watched: ClampedDelta,
    /// Number of ratings.
    pub ratings_count: ClampedDelta,
    /// Sum of ratings.
    pub ratings_sum: ClampedDelta,
}

/// A batch of changes folded into one write per aggregate row: what a store
/// applies in one transaction to count exactly as the changes applied one by
/// one, in order. Unique viewers are left to the store: which `viewers` are
/// new depends on what it holds already.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoldedChanges {
    /// Counter changes per movie.
    pub movies: std::collections::BTreeMap<MovieId, MovieCounters>,
    /// Views per (hour bucket, movie).
    pub hourly_views: std::collections::BTreeMap<(i64, MovieId), u64>,
    /// Plays per (hour bucket of `watched_at`, movie).
    pub hourly_plays: std::collections::BTreeMap<(i64, MovieId), ClampedDelta>,
    /// (movie, logged-in viewer) pairs seen.
    pub viewers: std::collections::BTreeSet<(MovieId, UserId)>,
    /// Registrations: the first time the batch saw each user register.
    pub registered: std::collections::BTreeMap<UserId, OffsetDateTime>,
    /// (hour bucket, user) pairs active.
    pub active: std::collections::BTreeSet<(i64, UserId)>,
}

impl FoldedChanges {
    /// Folds `changes` in order.
    pub fn fold<'a>(changes: impl IntoIterator<Item = &'a AnalyticsChange>) -> Self {
        let mut f = Self::default();
        for u in changes.into_iter().flat_map(|c| &c.updates) {
            f.push(u);
        }
        f
    }

    fn push(&mut self, u: &AggregateUpdate) {
        match u {
            AggregateUpdate::MovieViewed { movie_id, title, viewer, at, count } => {
                let m = self.movies.entry(*movie_id).or_default();
                m.title = Some(title.clone());
                m.views += count;
                *self.hourly_views.entry((hour_bucket(*at), *movie_id)).or_default() += count;
                if let Some(v) = viewer {
                    self.viewers.insert((*movie_id, *v));
                }
            }
            AggregateUpdate::Played { movie_id, title, at, delta } => {
                let m = self.movies.entry(*movie_id).or_default();
                if title.is_some() {
                    m.title.clone_from(title);
                }
                m.plays.push(*delta);
                self.hourly_plays.entry((hour_bucket(*at), *movie_id)).or_default().push(*delta);
            }
            AggregateUpdate::Favorites { movie_id, delta } => {
                self.movies.entry(*movie_id).or_default().favorites.push(*delta)
            }
            AggregateUpdate::Status { movie_id, status, delta } => {
                let m = self.movies.entry(*movie_id).or_default();
                match status {
                    WatchStatus::WantToWatch => &mut m.want_to_watch,
                    WatchStatus::Watching => &mut m.watching,
                    WatchStatus::Watched => &mut m.watched,
                }
                .push(*delta)
            }
            AggregateUpdate::Rating { movie_id, count_delta, sum_delta } => {
                let m = self.movies.entry(*movie_id).or_default();
                m.ratings_count.push(*count_delta);
                m.ratings_sum.push(*sum_delta);
            }
            AggregateUpdate::UserRegistered { user_id, at } => {
                self.registered.entry(*user_id).or_insert(*at);
            }
            AggregateUpdate::UserActive { user_id, at } => {
                self.active.insert((hour_bucket(*at), *user_id));
            }
        }
    }
}

#[cfg(test)]
mod fold_tests {
    use super::*;

    #[test]
    fn a_clamped_delta_ends_where_its_deltas_one_by_one_end() {
        let sequences: &[&[i64]] = &[&[], &[1], &[-1], &[-1, 1], &[1, -1, -1, 1], &[-3, 2, -1, 5, -10, 1], &[2, 2, -1]];
        for deltas in sequences {
            let mut folded = ClampedDelta::default();
            deltas.iter().for_each(|d| folded.push(*d));
            for start in [0, 1, 2, 5, 100] {
                let one_by_one = deltas.iter().fold(start, |c, d| (c + d).max(0));
                assert_eq!(folded.apply(start), one_by_one, "start {start}, deltas {deltas:?}");
            }
        }
    }
}
