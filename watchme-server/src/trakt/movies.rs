//! `/movies/...` and `/search/...`: movie summaries, popular, trending
//! (from WatchMe's analytics) and search, over the movie service.

use poem::Response;
use serde_json::{json, Value};
use watchme_core::domain::{PageRequest, SearchQuery, TrendingBy, TrendingWindow};

use super::call::{self, Call};
use super::wire;
use crate::error::ApiError;

fn full(c: &Call) -> bool {
    c.query("extended").is_some_and(|e| e.split(',').any(|x| x == "full"))
}

/// `GET /movies/{id}`: by id, IMDb id or slug; `?extended=full` adds the details.
pub(super) async fn summary(c: Call) -> Result<Response, ApiError> {
    let found = wire::resolve_path(&c.state, c.param("id")).await?;
    let movie = found.ok_or_else(|| ApiError::not_found("movie_not_found", "no movie with this id"))?;
    Ok(call::ok(&wire::details(&movie.details, full(&c))))
}

/// `GET /movies/popular`.
pub(super) async fn popular(c: Call) -> Result<Response, ApiError> {
    let page = c.page()?;
    let fetched = c.state.movies.popular(page).await?;
    Ok(call::paged(fetched.value, |m| wire::summary(&m)))
}

/// `GET /movies/trending`: the week's most played movies, `watchers` being their plays.
pub(super) async fn trending(c: Call) -> Result<Response, ApiError> {
    let page = c.page()?;
    let top = c.state.analytics.trending(TrendingWindow::Week, 100, TrendingBy::Plays).await.map_err(ApiError::from)?;
    let slice = page.slice(&top);
    let mut rows = Vec::with_capacity(slice.items.len());
    for t in &slice.items {
        let movie = match c.state.movies.details_shared(t.movie_id).await {
            Ok(d) => wire::details(&d.value, full(&c)),
            Err(_) => wire::movie(t.movie_id, &t.title, None, None),
        };
        rows.push(json!({ "watchers": t.plays, "movie": movie }));
    }
    let page = page.page_of(rows, slice.total_items);
    Ok(call::paged(page, |v| v))
}

/// `GET /search/{type}?query=`: movies only (other types find nothing).
pub(super) async fn text(c: Call) -> Result<Response, ApiError> {
    let page = c.page()?;
    let types: Vec<&str> = c.param("kind").split(',').map(str::trim).collect();
    let query = c.query("query").unwrap_or_default();
    if query.trim().is_empty() {
        return Err(ApiError::invalid_field("query", "is required"));
    }
    if !types.contains(&"movie") {
        return Ok(call::paged(page.page_of(Vec::<Value>::new(), 0), |v| v));
    }
    let year = match c.query("years") {
        Some(y) => Some(y.parse::<i32>().map_err(|_| ApiError::invalid_field("years", "must be a year"))?),
        None => None,
    };
    let q = SearchQuery::new(&query, year).map_err(|e| ApiError::invalid_field("query", e))?;
    let found = c.state.movies.search(&q, page).await?;
    let total = found.value.items.len().max(1) as f64;
    let mut rank = 0.0;
    Ok(call::paged(found.value, |m| {
        rank += 1.0;
        json!({ "type": "movie", "score": 1000.0 * (1.0 - (rank - 1.0) / total), "movie": wire::summary(&m) })
    }))
}

/// `GET /search/{tmdb|imdb|trakt}/{id}?type=movie`.
pub(super) async fn by_id(c: Call) -> Result<Response, ApiError> {
    let (kind, id) = (c.param("kind"), c.param("id"));
    let wanted = c.query("type").unwrap_or_else(|| "movie".into());
    let item = match kind {
        "tmdb" | "trakt" => json!({ "ids": { "tmdb": id } }),
        "imdb" => json!({ "ids": { "imdb": id } }),
        "tvdb" => Value::Null,
        other => return Err(ApiError::not_found("unknown_id_type", format!("no such id type: {other:?}"))),
    };
    let found =
        if wanted.split(',').any(|t| t.trim() == "movie") { wire::resolve(&c.state, &item).await? } else { None };
    let rows: Vec<Value> =
        found.iter().map(|m| json!({ "type": "movie", "score": 1000, "movie": m.object() })).collect();
    let n = rows.len() as u64;
    Ok(call::paged(PageRequest::first().page_of(rows, n), |v| v))
}
