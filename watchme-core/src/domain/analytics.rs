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
}

/// Everything counted about one movie.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MovieStats {
    /// Page views, anonymous ones included.
    pub views: u64,
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
    /// A page view (trending bucket, views, unique viewers).
    MovieViewed {
        /// The movie.
        movie_id: MovieId,
        /// Its title, remembered for trending lists.
        title: String,
        /// Viewer, when logged in.
        viewer: Option<UserId>,
        /// When.
        at: OffsetDateTime,
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
