//! `/sync/ratings` and `/sync/watchlist`: ratings and the watchlist
//! (library status `want_to_watch`) over the library service.

use std::collections::HashMap;

use poem::Response;
use serde_json::{json, Value};
use watchme_core::domain::{
    ActivityKind, LibraryEntry, LibraryUpdate, MovieId, PageRequest, Rating, RequestContext, WatchStatus,
};

use watchme_core::services::every_page;

use super::call::{self, Call};
use super::sync::{counts, resolve_movies, Kind};
use super::wire::{self, echo_others, items, NotFound};
use crate::error::ApiError;
use crate::state::AppState;

/// The caller's library entries, optionally of one status.
async fn entries(
    state: &AppState,
    ctx: &RequestContext,
    status: Option<WatchStatus>,
) -> Result<Vec<LibraryEntry>, ApiError> {
    Ok(every_page(|p| state.library.entries(ctx, status, p)).await?)
}

/// Paged when the client asked for a page (Trakt's "optional pagination"), else everything.
fn maybe_paged(rows: Vec<Value>, paging: Option<PageRequest>) -> Response {
    match paging {
        Some(p) => call::paged(p.slice(&rows), |v| v),
        None => call::ok(&Value::Array(rows)),
    }
}

fn library_movie(e: &LibraryEntry) -> Value {
    wire::movie(e.movie.id, &e.movie.title, None, None)
}

/// Cards (with the year) of the entries' movies, from the caller's plays
/// or the movie service; the entry's title when neither answers.
async fn movie_objects(state: &AppState, list: &[LibraryEntry]) -> HashMap<MovieId, Value> {
    let mut out = HashMap::new();
    for e in list {
        let obj = match state.movies.details_shared(e.movie.id).await {
            Ok(d) => wire::details(&d.value, false),
            Err(_) => library_movie(e),
        };
        out.insert(e.movie.id, obj);
    }
    out
}

/// `GET /sync/ratings[/{type}[/{rating}]]`: rated movies, optionally of given ratings (`8,9,10`).
pub(super) async fn ratings_get(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let paging = c.paging()?;
    if Kind::of(c.param("type"))? == Kind::Other {
        return Ok(maybe_paged(Vec::new(), paging));
    }
    let wanted: Vec<u8> = match c.param("rating") {
        "" => Vec::new(),
        raw => raw
            .split(',')
            .map(|r| r.trim().parse::<i64>().ok().and_then(|n| Rating::new(n).ok()).map(|r| r.get()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::invalid_field("rating", "must be ratings from 1 to 10, comma-separated"))?,
    };
    let mut rated: Vec<LibraryEntry> = entries(&c.state, &ctx, None)
        .await?
        .into_iter()
        .filter(|e| e.rating.is_some_and(|r| wanted.is_empty() || wanted.contains(&r.get())))
        .collect();
    rated.sort_by_key(|e| std::cmp::Reverse(e.updated_at));
    let objects = movie_objects(&c.state, &rated).await;
    let rows = rated
        .iter()
        .map(|e| {
            json!({
                "rated_at": wire::ts(e.updated_at),
                "rating": e.rating.map(|r| r.get()),
                "type": "movie",
                "movie": objects.get(&e.movie.id).cloned().unwrap_or_else(|| library_movie(e)),
            })
        })
        .collect();
    Ok(maybe_paged(rows, paging))
}

/// `POST /sync/ratings`: each movie item's `rating` (1-10); an item
/// without a valid rating is not found, as Trakt answers.
pub(super) async fn ratings_add(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let body = c.json()?;
    let mut not_found = NotFound::with(&["movies", "shows", "seasons", "episodes"]);
    let movies = resolve_movies(&c.state, items(&body, "movies")?, &mut not_found).await?;
    echo_others(&body, &mut not_found)?;
    let mut added = 0;
    for (item, movie) in movies {
        let rating = item.get("rating").and_then(Value::as_i64).and_then(|r| Rating::new(r).ok());
        let Some(rating) = rating else {
            not_found.push("movies", item.clone());
            continue;
        };
        let update = LibraryUpdate::new(None, Some(rating)).map_err(|e| ApiError::invalid_field("rating", e))?;
        c.state.library.update_entry(&ctx, movie.id(), update).await?;
        added += 1;
    }
    let answer =
        json!({ "added": counts(added, &["shows", "seasons", "episodes"]), "not_found": not_found.into_value() });
    Ok(call::created(&answer))
}

/// `POST /sync/ratings/remove`.
pub(super) async fn ratings_remove(c: Call) -> Result<Response, ApiError> {
    clear(c, LibraryUpdate::clear_rating(), false).await
}

/// `POST /sync/watchlist/remove`: clears `want_to_watch` (never a status a play set).
pub(super) async fn watchlist_remove(c: Call) -> Result<Response, ApiError> {
    clear(c, LibraryUpdate::clear_status_if(WatchStatus::WantToWatch), true).await
}

async fn clear(c: Call, update: LibraryUpdate, watchlist: bool) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let body = c.json()?;
    let mut not_found = NotFound::with(&["movies", "shows", "seasons", "episodes"]);
    let movies = resolve_movies(&c.state, items(&body, "movies")?, &mut not_found).await?;
    echo_others(&body, &mut not_found)?;
    let mut deleted = 0;
    for (item, movie) in movies {
        if c.state.library.clear(&ctx, movie.id(), update).await? {
            deleted += 1;
        } else {
            not_found.push("movies", item.clone());
        }
    }
    let mut answer =
        json!({ "deleted": counts(deleted, &["shows", "seasons", "episodes"]), "not_found": not_found.into_value() });
    if watchlist {
        answer["list"] = watchlist_summary(&c.state, &ctx).await?;
    }
    Ok(call::ok(&answer))
}

async fn watchlist_summary(state: &AppState, ctx: &RequestContext) -> Result<Value, ApiError> {
    let page = state.library.entries(ctx, Some(WatchStatus::WantToWatch), PageRequest::first()).await?;
    let activity = state.history.activity(ctx).await?;
    Ok(json!({ "updated_at": wire::ts_or_never(activity.get(ActivityKind::Library)), "item_count": page.total_items }))
}

/// `POST /sync/watchlist`: status `want_to_watch` for each movie item.
pub(super) async fn watchlist_add(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let body = c.json()?;
    let mut not_found = NotFound::with(&["movies", "shows", "seasons", "episodes"]);
    let movies = resolve_movies(&c.state, items(&body, "movies")?, &mut not_found).await?;
    echo_others(&body, &mut not_found)?;
    let (mut added, mut existing) = (0, 0);
    for (_, movie) in movies {
        let before = c.state.library.entry(&ctx, movie.id()).await?;
        if before.is_some_and(|e| e.status == Some(WatchStatus::WantToWatch)) {
            existing += 1;
            continue;
        }
        let update = LibraryUpdate::new(Some(WatchStatus::WantToWatch), None)
            .map_err(|e| ApiError::invalid_field("movies", e))?;
        c.state.library.update_entry(&ctx, movie.id(), update).await?;
        added += 1;
    }
    let others = ["shows", "seasons", "episodes"];
    let answer = json!({
        "added": counts(added, &others),
        "existing": counts(existing, &others),
        "not_found": not_found.into_value(),
        "list": watchlist_summary(&c.state, &ctx).await?,
    });
    Ok(call::created(&answer))
}

/// `GET /sync/watchlist[/{type}[/{sort}]]`: movies with status `want_to_watch`, ranked by when they were added.
pub(super) async fn watchlist_get(c: Call) -> Result<Response, ApiError> {
    let ctx = c.ctx().await?;
    let paging = c.paging()?;
    if Kind::of(c.param("type"))? == Kind::Other {
        return Ok(maybe_paged(Vec::new(), paging));
    }
    let mut list = entries(&c.state, &ctx, Some(WatchStatus::WantToWatch)).await?;
    match c.param("sort") {
        "" | "rank" | "added" => list.sort_by_key(|e| e.updated_at),
        "title" => list.sort_by_key(|e| e.movie.title.to_lowercase()),
        "released" => {}
        other => {
            return Err(ApiError::invalid_field("sort", format!("{other:?} is not rank, added, released or title")))
        }
    }
    let objects = movie_objects(&c.state, &list).await;
    let rows = list
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "rank": i + 1,
                "id": e.movie.id.get(),
                "listed_at": wire::ts(e.updated_at),
                "notes": null,
                "type": "movie",
                "movie": objects.get(&e.movie.id).cloned().unwrap_or_else(|| library_movie(e)),
            })
        })
        .collect();
    Ok(maybe_paged(rows, paging))
}
