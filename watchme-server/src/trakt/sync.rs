//! `/sync/...`: history, ratings, watchlist, last activities, watched
//! movies and paused playbacks, over the history, library and scrobble
//! services. Only movies are tracked: shows, seasons and episodes in a
//! body come back under `not_found`, and their lists are empty.

use std::collections::HashMap;

use poem::Response;
use serde_json::{json, Value};
use time::OffsetDateTime;
use watchme_core::domain::{
    ActivityKind, HistoryFilter, MovieId, PageRequest, Play, PlayAction, PlayId, PlaySource, MAX_PLAYS_PER_BATCH,
};
use watchme_core::services::{every_page, HistoryError, PlayRequest};

use super::call::{self, Call};
use super::wire::{self, echo_others, items, resolve, NotFound, Resolved};
use crate::error::ApiError;
use crate::state::AppState;

/// Every movie item of `list`, resolved, and the ones that are not echoed into `not_found`.
pub(super) async fn resolve_movies<'a>(
    state: &AppState,
    list: &'a [Value],
    not_found: &mut NotFound,
) -> Result<Vec<(&'a Value, Resolved)>, ApiError> {
    let mut found = Vec::with_capacity(list.len());
    for item in list {
        match resolve(state, item).await? {
            Some(r) => found.push((item, r)),
            None => not_found.push("movies", item.clone()),
        }
    }
    Ok(found)
}

/// Counts per type, movies' given, the others zero.
pub(super) fn counts(movies: usize, types: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("movies".into(), json!(movies));
    for t in types {
        m.insert((*t).into(), json!(0));
    }
    Value::Object(m)
}

/// When a history item says it was watched: a time, `released` (the
/// release date), `unknown` (the epoch, as Trakt keeps it), or now.
fn watched_at(item: &Value, movie: &Resolved, index: usize) -> Result<Option<OffsetDateTime>, ApiError> {
    match item.get("watched_at") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "released" => {
            Ok(Some(movie.details.release_date.map_or(OffsetDateTime::UNIX_EPOCH, |d| d.midnight().assume_utc())))
        }
        Some(Value::String(s)) if s == "unknown" => Ok(Some(OffsetDateTime::UNIX_EPOCH)),
        Some(Value::String(s)) => wire::parse_time(s).map(Some).ok_or_else(|| {
            ApiError::invalid_field(format!("movies[{index}].watched_at"), "must be a time, `released` or `unknown`")
        }),
        Some(_) => Err(ApiError::invalid_field(format!("movies[{index}].watched_at"), "must be a string")),
    }
}

/// `POST /sync/history`: a play per movie item (a repeat of a stored play adds nothing).
pub(super) async fn history_add(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let body = c.json()?;
    let mut not_found = NotFound::with(&["movies", "shows", "seasons", "episodes"]);
    let movies = resolve_movies(&c.state, items(&body, "movies")?, &mut not_found).await?;
    echo_others(&body, &mut not_found)?;
    let mut plays = Vec::with_capacity(movies.len());
    for (i, (item, movie)) in movies.iter().enumerate() {
        let at = watched_at(item, movie, i)?;
        plays.push(PlayRequest {
            movie_id: movie.id(),
            watched_at: at,
            action: PlayAction::Watch,
            source: PlaySource::Trakt,
        });
    }
    let mut added = 0;
    for batch in plays.chunks(MAX_PLAYS_PER_BATCH) {
        added += c.state.history.add_plays(&ctx, batch).await.map_err(history_error)?.added.len();
    }
    Ok(call::created(&json!({ "added": counts(added, &["episodes"]), "not_found": not_found.into_value() })))
}

/// Trakt's answer to a play in the future is a 422 like WatchMe's; the
/// fields are named as the Trakt body names them.
fn history_error(e: HistoryError) -> ApiError {
    match e {
        HistoryError::Invalid(problems) => {
            let issues = problems
                .into_iter()
                .map(|p| crate::error::FieldIssue {
                    field: format!("movies[{}].{}", p.index, p.field),
                    reason: p.message,
                })
                .collect();
            match ApiError::invalid_items(issues) {
                ApiError::BadRequest(b) => ApiError::Unprocessable(b),
                other => other,
            }
        }
        other => other.into(),
    }
}

/// `POST /sync/history/remove`: every play of each movie item, and plays by their `ids`.
pub(super) async fn history_remove(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let body = c.json()?;
    let mut not_found = NotFound::with(&["movies", "shows", "seasons", "episodes", "ids"]);
    let movies = resolve_movies(&c.state, items(&body, "movies")?, &mut not_found).await?;
    echo_others(&body, &mut not_found)?;
    let mut deleted = 0;
    for (item, movie) in movies {
        let gone = c.state.history.remove_plays_of(&ctx, movie.id()).await?;
        if gone.is_empty() {
            not_found.push("movies", item.clone());
        }
        deleted += gone.len();
    }
    for id in items(&body, "ids")? {
        let play = match id.as_str().map(PlayId::parse) {
            Some(Ok(p)) => c.state.history.remove_play(&ctx, p).await?,
            _ => None,
        };
        match play {
            Some(_) => deleted += 1,
            None => not_found.push("ids", id.clone()),
        }
    }
    Ok(call::ok(&json!({ "deleted": counts(deleted, &["episodes"]), "not_found": not_found.into_value() })))
}

/// A history row.
pub(super) fn play(p: Play) -> Value {
    json!({
        "id": p.id.to_string(),
        "watched_at": wire::ts(p.watched_at),
        "action": match p.action { PlayAction::Checkin => "checkin", PlayAction::Scrobble => "scrobble", _ => "watch" },
        "type": "movie",
        "movie": wire::card(&p.movie),
    })
}

/// Which of Trakt's media types a path names: movies, all, or another (always empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Movies or every type.
    Movies,
    /// Shows, seasons, episodes: WatchMe keeps none.
    Other,
}

impl Kind {
    /// The `type` path parameter (absent: every type).
    pub(super) fn of(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "" | "movies" | "movie" | "all" => Ok(Self::Movies),
            "shows" | "seasons" | "episodes" | "show" | "season" | "episode" | "people" => Ok(Self::Other),
            other => Err(ApiError::not_found("unknown_type", format!("no such type: {other:?}"))),
        }
    }
}

/// An empty page of the request's size.
fn empty_page(page: PageRequest) -> Response {
    call::paged(page.page_of(Vec::<Value>::new(), 0), |v| v)
}

/// `GET /sync/history[/{type}[/{id}]]` (and the user form): plays, newest first, paged.
pub(super) async fn history_get(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let page = c.page()?;
    if Kind::of(c.param("type"))? == Kind::Other {
        return Ok(empty_page(page));
    }
    let time = |name: &str| -> Result<Option<OffsetDateTime>, ApiError> {
        c.query(name)
            .map(|v| wire::parse_time(&v).ok_or_else(|| ApiError::invalid_field(name, "must be an ISO 8601 time")))
            .transpose()
    };
    let mut filter = HistoryFilter { movie: None, start_at: time("start_at")?, end_at: time("end_at")? };
    let id = c.param("id");
    if !id.is_empty() {
        match wire::resolve_path(&c.state, id).await? {
            Some(m) => filter.movie = Some(m.id()),
            None => return Ok(empty_page(page)),
        }
    }
    let plays = c.state.history.plays(&ctx, filter, page).await?;
    Ok(call::paged(plays, play))
}

/// `GET /sync/watched/{type}`: each watched movie with its play count and last play.
pub(super) async fn watched_get(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    if Kind::of(c.param("type"))? == Kind::Other {
        return Ok(call::ok(&json!([])));
    }
    let plays = every_page(|p| c.state.history.plays(&ctx, HistoryFilter::default(), p)).await?;
    let mut by_movie: Vec<(MovieId, u64, OffsetDateTime, Value)> = Vec::new();
    let mut index: HashMap<MovieId, usize> = HashMap::new();
    for p in plays {
        match index.get(&p.movie.id) {
            Some(&i) => {
                by_movie[i].1 += 1;
                by_movie[i].2 = by_movie[i].2.max(p.watched_at);
            }
            None => {
                index.insert(p.movie.id, by_movie.len());
                by_movie.push((p.movie.id, 1, p.watched_at, wire::card(&p.movie)));
            }
        }
    }
    by_movie.sort_by_key(|m| std::cmp::Reverse(m.2));
    let rows: Vec<Value> = by_movie
        .into_iter()
        .map(|(_, plays, last, movie)| {
            json!({ "plays": plays, "last_watched_at": wire::ts(last), "last_updated_at": wire::ts(last), "movie": movie })
        })
        .collect();
    Ok(call::ok(&Value::Array(rows)))
}

/// `GET /sync/playback[/{type}]`: paused playbacks.
pub(super) async fn playback_get(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    if Kind::of(c.param("type"))? == Kind::Other {
        return Ok(call::ok(&json!([])));
    }
    let paused = c.state.scrobbles.paused(&ctx).await.map_err(super::scrobble::error)?;
    let limit = c.query("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(usize::MAX);
    let rows: Vec<Value> = paused
        .iter()
        .take(limit)
        .map(|p| {
            json!({
                "progress": p.progress.get(),
                "paused_at": wire::ts(p.updated_at),
                "id": p.movie.id.get(),
                "type": "movie",
                "movie": wire::card(&p.movie),
            })
        })
        .collect();
    Ok(call::ok(&Value::Array(rows)))
}

/// `DELETE /sync/playback/{id}`: forgets a paused playback (its id is the movie's).
pub(super) async fn playback_remove(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let id = c.param("id").parse::<i64>().ok().and_then(|n| MovieId::new(n).ok());
    let removed = match id {
        Some(id) => c.state.scrobbles.remove_paused(&ctx, id).await.map_err(super::scrobble::error)?,
        None => false,
    };
    if removed {
        Ok(call::no_content())
    } else {
        Err(ApiError::not_found("playback_not_found", "no paused playback with this id"))
    }
}

/// `GET /sync/last_activities`: when each part of the caller's data last
/// changed, every key Trakt has present (the epoch for "never").
pub(super) async fn last_activities(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let a = c.state.history.activity(&ctx).await?;
    let paused = c.state.scrobbles.paused(&ctx).await.map_err(super::scrobble::error)?;
    let paused_at = paused.iter().map(|p| p.updated_at).max();
    let t = |k: ActivityKind| wire::ts_or_never(a.get(k));
    let never = wire::ts_or_never(None);
    let all = [a.all(), paused_at].into_iter().flatten().max();
    Ok(call::ok(&json!({
        "all": wire::ts_or_never(all),
        "movies": {
            "watched_at": t(ActivityKind::History),
            "collected_at": never,
            "rated_at": t(ActivityKind::Ratings),
            "watchlisted_at": t(ActivityKind::Library),
            "favorited_at": t(ActivityKind::Favorites),
            "recommendations_at": t(ActivityKind::Favorites),
            "commented_at": never,
            "paused_at": wire::ts_or_never(paused_at),
            "hidden_at": never,
        },
        "episodes": {
            "watched_at": never, "collected_at": never, "rated_at": never, "watchlisted_at": never,
            "commented_at": never, "paused_at": never,
        },
        "shows": {
            "rated_at": never, "watchlisted_at": never, "favorited_at": never, "recommendations_at": never,
            "commented_at": never, "hidden_at": never, "dropped_at": never,
        },
        "seasons": { "rated_at": never, "watchlisted_at": never, "commented_at": never, "hidden_at": never },
        "comments": { "liked_at": never, "blocked_at": never },
        "lists": { "liked_at": never, "updated_at": t(ActivityKind::Lists), "commented_at": never },
        "watchlist": { "updated_at": t(ActivityKind::Library) },
        "favorites": { "updated_at": t(ActivityKind::Favorites) },
        "recommendations": { "updated_at": t(ActivityKind::Favorites) },
        "collaborations": { "updated_at": never },
        "account": { "settings_at": never, "followed_at": never, "following_at": never, "pending_at": never, "requested_at": never },
        "saved_filters": { "updated_at": never },
        "notes": { "updated_at": never },
    })))
}
