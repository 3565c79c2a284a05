//! `GET /analytics/trending`, `/analytics/movies/{id}`, `/analytics/users`.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use watchme_core::domain::{TrendingBy, TrendingWindow};
use watchme_core::services::MovieError;

use super::query::Query;
use super::schema::{Int, MovieIdParam};
use super::tags::Tag;
use crate::error::ApiError;
use crate::state::AppState;

/// The period a statistic covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WindowDto {
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
}

impl From<WindowDto> for TrendingWindow {
    fn from(w: WindowDto) -> Self {
        match w {
            WindowDto::Day => Self::Day,
            WindowDto::Week => Self::Week,
        }
    }
}

/// What a trending list ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TrendingByDto {
    /// Movie pages opened (the default).
    Views,
    /// Plays in users' histories, by when they were watched.
    Plays,
}

impl From<TrendingByDto> for TrendingBy {
    fn from(b: TrendingByDto) -> Self {
        match b {
            TrendingByDto::Views => Self::Views,
            TrendingByDto::Plays => Self::Plays,
        }
    }
}

/// A movie's place in the trending list.
#[derive(Debug, Object)]
pub struct TrendingItemDto {
    /// Rank, from 1.
    pub rank: u32,
    /// Movie id.
    pub movie_id: u64,
    /// Title.
    pub title: String,
    /// Views inside the window.
    pub views: u64,
    /// Plays inside the window.
    pub plays: u64,
}

/// The most viewed (or played) movies over a window.
#[derive(Debug, Object)]
pub struct TrendingDto {
    /// The window.
    pub window: WindowDto,
    /// What the list ranks by.
    pub by: TrendingByDto,
    /// Most viewed (or played) first.
    pub items: Vec<TrendingItemDto>,
}

/// Everything counted about one movie.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MovieStatsDto {
    /// Movie id.
    pub movie_id: u64,
    /// Page views, anonymous included.
    pub views: u64,
    /// Plays in users' histories.
    pub plays: u64,
    /// Distinct logged-in viewers.
    pub unique_viewers: u64,
    /// Users with it as favorite.
    pub favorites: u64,
    /// Library entries with status want_to_watch (the watchlist).
    pub want_to_watch: u64,
    /// Library entries with status watching.
    pub watching: u64,
    /// Library entries with status watched.
    pub watched: u64,
    /// Number of ratings.
    pub ratings_count: u64,
    /// Average rating, absent when nobody rated.
    pub rating_average: Option<f64>,
}

/// Counts about users.
#[derive(Debug, Object)]
pub struct UserStatsDto {
    /// The window.
    pub window: WindowDto,
    /// Accounts, all time.
    pub registered_total: u64,
    /// Accounts created inside the window.
    pub registered_in_window: u64,
    /// Distinct users who did something inside the window.
    pub active_in_window: u64,
}

#[derive(ApiResponse)]
enum TrendingResponse {
    /// The trending list.
    #[oai(status = 200)]
    Ok(Json<TrendingDto>),
}

#[derive(ApiResponse)]
enum StatsResponse {
    /// The movie's statistics.
    #[oai(status = 200)]
    Ok(Json<MovieStatsDto>),
}

#[derive(ApiResponse)]
enum UsersResponse {
    /// User statistics.
    #[oai(status = 200)]
    Ok(Json<UserStatsDto>),
}

/// Statistics computed from the event stream (eventually consistent: an
/// action shows here once its event was relayed, normally within a second).
pub struct AnalyticsApi {
    state: Arc<AppState>,
}

impl AnalyticsApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "Tag::Analytics")]
impl AnalyticsApi {
    /// The most viewed (or played) movies over the last day or week.
    #[oai(path = "/analytics/trending", method = "get", operation_id = "trending")]
    async fn trending(
        &self,
        /// `day` (default) or `week`.
        window: Query<Option<WindowDto>>,
        /// `views` (default) or `plays`.
        by: Query<Option<TrendingByDto>>,
        /// How many movies, 1 to 100 (default 20).
        limit: Query<Option<Int<1, 100>>>,
    ) -> Result<TrendingResponse, ApiError> {
        let window = window.0.unwrap_or(WindowDto::Day);
        let limit = match limit.0.map(|l| l.0) {
            None => 20,
            Some(n @ 1..=100) => n as u32,
            Some(_) => return Err(ApiError::invalid_field("limit", "must be from 1 to 100")),
        };
        let by = by.0.unwrap_or(TrendingByDto::Views);
        let list = self.state.analytics.trending(window.into(), limit, by.into()).await?;
        let items = list
            .into_iter()
            .enumerate()
            .map(|(i, t)| TrendingItemDto {
                rank: i as u32 + 1,
                movie_id: t.movie_id.get(),
                title: t.title,
                views: t.views,
                plays: t.plays,
            })
            .collect();
        Ok(TrendingResponse::Ok(Json(TrendingDto { window, by, items })))
    }

    /// Statistics of one movie.
    #[oai(path = "/analytics/movies/:id", method = "get", operation_id = "movie_stats")]
    async fn movie(
        &self,
        /// TMDb movie id (a positive integer).
        id: Path<MovieIdParam>,
    ) -> Result<StatsResponse, ApiError> {
        let id = id.0.get("id")?;
        // An unknown movie is a 404; a movie source outage must not hide the statistics.
        if let Err(MovieError::NotFound) = self.state.movies.details(id).await {
            return Err(MovieError::NotFound.into());
        }
        let s = self.state.analytics.movie_stats(id).await?;
        Ok(StatsResponse::Ok(Json(MovieStatsDto {
            movie_id: id.get(),
            views: s.views,
            plays: s.plays,
            unique_viewers: s.unique_viewers,
            favorites: s.favorites,
            want_to_watch: s.want_to_watch,
            watching: s.watching,
            watched: s.watched,
            ratings_count: s.ratings_count,
            rating_average: s.rating_average(),
        })))
    }

    /// Registered and active users over the last day or week.
    #[oai(path = "/analytics/users", method = "get", operation_id = "user_stats")]
    async fn users(
        &self,
        /// `day` (default) or `week`.
        window: Query<Option<WindowDto>>,
    ) -> Result<UsersResponse, ApiError> {
        let window = window.0.unwrap_or(WindowDto::Day);
        let s = self.state.analytics.user_stats(window.into()).await?;
        Ok(UsersResponse::Ok(Json(UserStatsDto {
            window,
            registered_total: s.registered_total,
            registered_in_window: s.registered_in_window,
            active_in_window: s.active_in_window,
        })))
    }
}
