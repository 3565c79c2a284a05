//! The caller's watch history and last activities: `/me/history`,
//! `/me/history/{play_id}`, `/me/activity`.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{
    Activity, ActivityKind, HistoryFilter, MovieCard, MovieId, Play, PlayAction, PlayId, PlaySource,
    MAX_PLAYS_PER_BATCH,
};
use watchme_core::services::{BatchOutcome, HistoryService, PlayRequest};

use super::extract::{non_null, BearerAuth, JsonBody, Lenient};
use super::paging::{page_request, PageResponse};
use super::query::Query;
use super::schema::{MovieIdParam, PageNo, PerPage, UuidParam};
use super::tags::Tag;
use crate::error::{ApiError, FieldIssue};
use crate::state::AppState;

/// How a play came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PlayActionDto {
    /// Marked as watched (the default).
    Watch,
    /// Reported by a player when playback finished.
    Scrobble,
    /// Checked in while watching.
    Checkin,
    /// Brought in by an import.
    Import,
}

impl From<PlayActionDto> for PlayAction {
    fn from(a: PlayActionDto) -> Self {
        match a {
            PlayActionDto::Watch => Self::Watch,
            PlayActionDto::Scrobble => Self::Scrobble,
            PlayActionDto::Checkin => Self::Checkin,
            PlayActionDto::Import => Self::Import,
        }
    }
}

/// One play to add.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
#[serde(deny_unknown_fields)]
pub struct PlayInput {
    /// The movie (its TMDb id).
    #[oai(validator(minimum(value = "1")))]
    pub movie_id: i64,
    /// When it was watched, RFC 3339; kept to the second. Leave it out for
    /// now; at most a few minutes in the future.
    #[serde(default, deserialize_with = "rfc3339_non_null")]
    pub watched_at: Option<OffsetDateTime>,
    /// How it came about (default `watch`).
    #[serde(default, deserialize_with = "non_null")]
    pub action: Option<PlayActionDto>,
}

/// An RFC 3339 time that is there when the field is: `null` is refused like
/// any other wrong type (leave the field out for now).
fn rfc3339_non_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    #[derive(Deserialize)]
    struct Rfc3339(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);
    non_null::<D, Rfc3339>(d).map(|t| t.map(|t| t.0))
}

impl Example for PlayInput {
    fn example() -> Self {
        Self { movie_id: 550, watched_at: Some(time::macros::datetime!(2026-11-28 21:30:00 UTC)), action: None }
    }
}

/// A batch of plays: at most 1,000, stored in one transaction.
#[derive(Debug, Object, Deserialize)]
#[oai(example)]
#[serde(deny_unknown_fields)]
pub struct HistoryBatch {
    /// The plays. A play of the same movie at the same second as a stored
    /// one is that play: sending a batch twice adds nothing.
    #[oai(validator(max_items = 1000))]
    pub plays: Vec<Lenient<PlayInput>>,
}

impl Example for HistoryBatch {
    fn example() -> Self {
        let rewatch = PlayInput { movie_id: 603, watched_at: None, action: Some(PlayActionDto::Watch) };
        Self { plays: vec![Lenient(Ok(PlayInput::example())), Lenient(Ok(rewatch))] }
    }
}

/// A movie as a history row shows it.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MovieCardDto {
    /// Movie id (TMDb).
    pub id: u64,
    /// Title when the play was recorded.
    pub title: String,
    /// Year of first release.
    pub year: Option<i32>,
    /// Poster URL.
    pub poster_url: Option<String>,
}

impl From<MovieCard> for MovieCardDto {
    fn from(m: MovieCard) -> Self {
        Self { id: m.id.get(), title: m.title, year: m.year, poster_url: m.poster_url }
    }
}

/// One time the caller watched a movie.
#[derive(Debug, Clone, Object)]
pub struct PlayDto {
    /// The play's id (for `DELETE /me/history/{play_id}`).
    pub id: Uuid,
    /// The movie.
    pub movie: MovieCardDto,
    /// When it was watched.
    pub watched_at: OffsetDateTime,
    /// `watch`, `scrobble`, `checkin` or `import`.
    pub action: String,
    /// Where it came from: `api`, `trakt`, `letterboxd`, `imdb`, `plex`, `jellyfin`, `emby`.
    pub source: String,
}

impl From<Play> for PlayDto {
    fn from(p: Play) -> Self {
        Self {
            id: p.id.as_uuid(),
            movie: p.movie.into(),
            watched_at: p.watched_at,
            action: p.action.as_str().into(),
            source: p.source.as_str().into(),
        }
    }
}

/// A movie id that names no movie, as sent.
#[derive(Debug, Clone, Object)]
pub struct NotFoundMovie {
    /// The id sent.
    pub movie_id: u64,
}

/// What a batch did.
#[derive(Debug, Clone, Object)]
pub struct HistoryBatchResult {
    /// Plays stored by this request.
    pub added: Vec<PlayDto>,
    /// Plays that were stored before (the stored ones): nothing changed for them.
    pub existing: Vec<PlayDto>,
    /// Movie ids that name no movie; their plays were not stored.
    pub not_found: Vec<NotFoundMovie>,
}

impl From<BatchOutcome> for HistoryBatchResult {
    fn from(o: BatchOutcome) -> Self {
        Self {
            added: o.added.into_iter().map(Into::into).collect(),
            existing: o.existing.into_iter().map(Into::into).collect(),
            not_found: o.not_found.into_iter().map(|m| NotFoundMovie { movie_id: m.get() }).collect(),
        }
    }
}

/// Plays removed.
#[derive(Debug, Clone, Object)]
pub struct RemovedPlays {
    /// How many.
    pub removed: u64,
}

/// When each part of the caller's data last changed (ISO-8601 UTC with
/// milliseconds); absent for a part that never changed.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ActivityDto {
    /// The latest of all.
    pub all: Option<String>,
    /// Plays added or removed.
    pub history: Option<String>,
    /// Ratings set, changed or removed.
    pub ratings: Option<String>,
    /// Watch statuses set, changed or removed.
    pub library: Option<String>,
    /// Favorites added or removed.
    pub favorites: Option<String>,
    /// Lists and their items.
    pub lists: Option<String>,
    /// Movie pages opened.
    pub views: Option<String>,
}

/// `2026-11-30T20:15:06.123Z`: UTC with milliseconds, as sync clients compare.
pub(crate) fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

impl From<Activity> for ActivityDto {
    fn from(a: Activity) -> Self {
        let get = |k| a.get(k).map(iso_millis);
        Self {
            all: a.all().map(iso_millis),
            history: get(ActivityKind::History),
            ratings: get(ActivityKind::Ratings),
            library: get(ActivityKind::Library),
            favorites: get(ActivityKind::Favorites),
            lists: get(ActivityKind::Lists),
            views: get(ActivityKind::Views),
        }
    }
}

#[derive(ApiResponse)]
enum BatchResponse {
    /// Nothing new: every play was there already (or named no movie).
    #[oai(status = 200)]
    Ok(Json<HistoryBatchResult>),
    /// At least one play was added.
    #[oai(status = 201)]
    Created(Json<HistoryBatchResult>),
}

#[derive(ApiResponse)]
enum PlayDeleted {
    /// Removed.
    #[oai(status = 204)]
    NoContent,
}

/// Watch history and activity.
pub struct HistoryApi {
    state: Arc<AppState>,
}

impl HistoryApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// The batch's items as the service takes them, or every bad item named:
/// the malformed ones found here and, with them, what the service's rules
/// refuse of the rest.
fn play_requests(batch: HistoryBatch) -> Result<Vec<PlayRequest>, ApiError> {
    if batch.plays.len() > MAX_PLAYS_PER_BATCH {
        let why = format!("at most {MAX_PLAYS_PER_BATCH} plays per request, got {}", batch.plays.len());
        return Err(ApiError::invalid_field("plays", why));
    }
    let mut issues: Vec<(usize, FieldIssue)> = Vec::new();
    let mut parsed = Vec::with_capacity(batch.plays.len());
    for (i, item) in batch.plays.into_iter().enumerate() {
        let field = |f: &str| if f.is_empty() || f == "." { format!("plays[{i}]") } else { format!("plays[{i}].{f}") };
        match item.0 {
            Err(issue) => issues.push((i, FieldIssue { field: field(&issue.field), reason: issue.reason })),
            Ok(p) => match MovieId::new(p.movie_id) {
                Err(e) => issues.push((i, FieldIssue { field: field("movie_id"), reason: e.to_string() })),
                Ok(movie_id) => parsed.push((
                    i,
                    PlayRequest {
                        movie_id,
                        watched_at: p.watched_at,
                        action: p.action.map_or(PlayAction::Watch, Into::into),
                        source: PlaySource::Api,
                    },
                )),
            },
        }
    }
    if issues.is_empty() {
        return Ok(parsed.into_iter().map(|(_, p)| p).collect());
    }
    let rest: Vec<PlayRequest> = parsed.iter().map(|(_, p)| p.clone()).collect();
    for p in HistoryService::problems(&rest, OffsetDateTime::now_utc()) {
        let i = parsed[p.index].0;
        issues.push((i, FieldIssue { field: format!("plays[{i}].{}", p.field), reason: p.message }));
    }
    issues.sort_by_key(|(i, _)| *i);
    Err(ApiError::invalid_items(issues.into_iter().map(|(_, issue)| issue).collect()))
}

#[OpenApi(tag = "Tag::History")]
impl HistoryApi {
    /// The caller's plays, newest first, optionally of one movie and inside a time range.
    #[oai(path = "/me/history", method = "get", operation_id = "my_history")]
    async fn history(
        &self,
        auth: BearerAuth,
        /// Only plays of this movie.
        movie_id: Query<Option<MovieIdParam>>,
        /// Only plays watched at or after this time (RFC 3339).
        start_at: Query<Option<OffsetDateTime>>,
        /// Only plays watched at or before this time (RFC 3339).
        end_at: Query<Option<OffsetDateTime>>,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<PlayDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let movie = movie_id.0.map(|m| m.get("movie_id")).transpose()?;
        let filter = HistoryFilter { movie, start_at: start_at.0, end_at: end_at.0 };
        let p = self.state.history.plays(&auth.0.ctx(), filter, req).await?;
        Ok(PageResponse::from_page(p, Into::into, None))
    }

    /// Add plays: up to 1,000 in one request, stored together. Plays already
    /// there are reported under `existing`, unknown movies under `not_found`;
    /// any malformed item refuses the whole batch, every bad item named.
    #[oai(path = "/me/history", method = "post", operation_id = "add_history")]
    async fn add(&self, auth: BearerAuth, batch: JsonBody<HistoryBatch, 512>) -> Result<BatchResponse, ApiError> {
        let items = play_requests(batch.0)?;
        let outcome = self.state.history.add_plays(&auth.0.ctx(), &items).await?;
        let added = !outcome.added.is_empty();
        let result = Json(outcome.into());
        Ok(if added { BatchResponse::Created(result) } else { BatchResponse::Ok(result) })
    }

    /// Remove every play of one movie; the library status stays as it is.
    #[oai(path = "/me/history", method = "delete", operation_id = "remove_history_of_movie")]
    async fn remove_movie(
        &self,
        auth: BearerAuth,
        /// The movie whose plays go.
        movie_id: Query<MovieIdParam>,
    ) -> Result<Json<RemovedPlays>, ApiError> {
        let movie = movie_id.0.get("movie_id")?;
        let gone = self.state.history.remove_plays_of(&auth.0.ctx(), movie).await?;
        Ok(Json(RemovedPlays { removed: gone.len() as u64 }))
    }

    /// Remove one play; the library status stays as it is.
    #[oai(path = "/me/history/:play_id", method = "delete", operation_id = "remove_play")]
    async fn remove_play(&self, auth: BearerAuth, play_id: Path<UuidParam>) -> Result<PlayDeleted, ApiError> {
        let id = PlayId::from_uuid(play_id.0.get("play_id")?);
        match self.state.history.remove_play(&auth.0.ctx(), id).await? {
            Some(_) => Ok(PlayDeleted::NoContent),
            None => Err(ApiError::not_found("play_not_found", "you have no play with this id")),
        }
    }

    /// When each part of the caller's data last changed: a syncing client
    /// compares these with what it saw last and fetches only what moved.
    #[oai(path = "/me/activity", method = "get", operation_id = "my_activity")]
    async fn activity(&self, auth: BearerAuth) -> Result<Json<ActivityDto>, ApiError> {
        Ok(Json(self.state.history.activity(&auth.0.ctx()).await?.into()))
    }
}
