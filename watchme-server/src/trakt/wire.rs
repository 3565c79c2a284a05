//! Trakt's shapes: movie objects, slugs and timestamps, and movies named
//! in a request body by any of their ids (or title and year), resolved
//! through the movie service; what cannot be resolved is echoed back in
//! `not_found` as sent.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;
use watchme_core::domain::{ImdbId, MovieCard, MovieDetails, MovieId, MovieSummary, PageRequest, SearchQuery};
use watchme_core::services::MovieError;

use crate::error::ApiError;
use crate::state::AppState;

/// Trakt's slug: lower case ASCII words joined by dashes (accents dropped,
/// the way pytrakt's `slugify` makes them), the year last.
pub fn slug(title: &str, year: Option<i32>) -> String {
    let mut out = String::with_capacity(title.len() + 5);
    let text = match year {
        Some(y) => format!("{title} {y}"),
        None => title.to_owned(),
    };
    for c in text.replace('’', "-").nfkd() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii() && !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// A time as Trakt writes it: UTC, milliseconds, `Z` (as the native API's activity times).
pub fn ts(t: OffsetDateTime) -> String {
    crate::api::history::iso_millis(t)
}

/// [`ts`] of a time that may not be there: the epoch stands for "never".
pub fn ts_or_never(t: Option<OffsetDateTime>) -> String {
    ts(t.unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

/// An RFC 3339 time, or a date (midnight UTC).
pub fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(t);
    }
    let d = time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(d.midnight().assume_utc())
}

/// The movie object of Trakt: title, year and ids (`trakt` is WatchMe's
/// movie id, the TMDb id).
pub fn movie(id: MovieId, title: &str, year: Option<i32>, imdb: Option<&str>) -> Value {
    json!({
        "title": title,
        "year": year,
        "ids": { "trakt": id.get(), "slug": slug(title, year), "imdb": imdb, "tmdb": id.get() },
    })
}

/// [`movie`] of a stored card (no IMDb id: cards do not keep it).
pub fn card(c: &MovieCard) -> Value {
    movie(c.id, &c.title, c.year, None)
}

/// [`movie`] of a search or listing result.
pub fn summary(s: &MovieSummary) -> Value {
    movie(s.id, &s.title, s.release_date.map(|d| d.year()), None)
}

/// [`movie`] of full details, with Trakt's `extended=full` fields when asked.
pub fn details(d: &MovieDetails, full: bool) -> Value {
    let mut m = movie(d.id, &d.title, d.release_date.map(|r| r.year()), d.imdb_id.as_deref());
    if let (true, Value::Object(map)) = (full, &mut m) {
        let genres: Vec<String> = d.genres.iter().map(|g| slug(&g.name, None)).collect();
        let extra = json!({
            "tagline": d.tagline,
            "overview": d.overview,
            "released": d.release_date.map(|r| r.to_string()),
            "runtime": d.runtime,
            "country": null,
            "trailer": null,
            "homepage": null,
            "status": "released",
            "rating": d.vote_average,
            "votes": d.vote_count,
            "comment_count": 0,
            "updated_at": ts(OffsetDateTime::UNIX_EPOCH),
            "language": d.original_language,
            "languages": d.original_language.iter().collect::<Vec<_>>(),
            "available_translations": [],
            "genres": genres,
            "certification": null,
            "original_title": d.original_title,
        });
        if let Value::Object(e) = extra {
            map.extend(e);
        }
    }
    m
}

/// The `not_found` object of a sync answer: the unresolved items per type,
/// every type present.
#[derive(Debug, Default)]
pub struct NotFound {
    /// Per type (`movies`, `shows`, ...), the items as sent.
    pub by_type: Map<String, Value>,
}

impl NotFound {
    /// An object with the given types, each an empty list.
    pub fn with(types: &[&str]) -> Self {
        let mut by_type = Map::new();
        for t in types {
            by_type.insert((*t).to_owned(), Value::Array(Vec::new()));
        }
        Self { by_type }
    }

    /// Records `item` under `kind`.
    pub fn push(&mut self, kind: &str, item: Value) {
        if let Some(Value::Array(list)) = self.by_type.get_mut(kind) {
            list.push(item);
        } else {
            self.by_type.insert(kind.to_owned(), Value::Array(vec![item]));
        }
    }

    /// The object.
    pub fn into_value(self) -> Value {
        Value::Object(self.by_type)
    }
}

/// Types a sync body may hold that WatchMe does not track: echoed into
/// `not_found`, never an error.
pub const OTHER_TYPES: [&str; 4] = ["shows", "seasons", "episodes", "people"];

/// The items of `body[key]`: none when absent or null.
///
/// # Errors
/// A 400 when it is there but not a list.
pub fn items<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(_) => Err(ApiError::invalid_field(key, "must be a list")),
    }
}

/// Echoes every item of the types WatchMe does not track into `not_found`.
///
/// # Errors
/// As [`items`].
pub fn echo_others(body: &Map<String, Value>, not_found: &mut NotFound) -> Result<(), ApiError> {
    for kind in OTHER_TYPES {
        for item in items(body, kind)? {
            not_found.push(kind, item.clone());
        }
    }
    Ok(())
}

/// A movie named in a request: resolved to its details.
pub struct Resolved {
    /// Its details (looked up through the cache).
    pub details: Arc<MovieDetails>,
}

impl Resolved {
    /// Its id.
    pub fn id(&self) -> MovieId {
        self.details.id
    }

    /// Its Trakt object.
    pub fn object(&self) -> Value {
        details(&self.details, false)
    }
}

fn lookup_failed(e: MovieError) -> Result<Option<Resolved>, ApiError> {
    match e {
        MovieError::NotFound => Ok(None),
        other => Err(other.into()),
    }
}

async fn by_id(state: &AppState, id: MovieId) -> Result<Option<Resolved>, ApiError> {
    match state.movies.details_shared(id).await {
        Ok(d) => Ok(Some(Resolved { details: d.value })),
        Err(e) => lookup_failed(e),
    }
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Resolves a movie item (`{"ids": {...}, "title", "year"}`): by `tmdb`,
/// `trakt`, `imdb`, `slug`, then title and year. `None` when nothing names
/// a movie that exists.
///
/// # Errors
/// A 503 when the movie source cannot answer.
pub async fn resolve(state: &AppState, item: &Value) -> Result<Option<Resolved>, ApiError> {
    let Some(obj) = item.as_object() else { return Ok(None) };
    let ids = obj.get("ids").and_then(Value::as_object);
    let id_of = |key: &str| ids.and_then(|i| i.get(key)).and_then(number).and_then(|n| MovieId::new(n).ok());
    for key in ["tmdb", "trakt"] {
        if let Some(id) = id_of(key) {
            if let Some(found) = by_id(state, id).await? {
                return Ok(Some(found));
            }
        }
    }
    if let Some(imdb) = ids.and_then(|i| i.get("imdb")).and_then(Value::as_str).and_then(|s| ImdbId::parse(s).ok()) {
        match state.movies.find_by_imdb(&imdb).await {
            Ok(id) => return by_id(state, id).await,
            Err(MovieError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(s) = ids.and_then(|i| i.get("slug")).and_then(Value::as_str) {
        if let Some(found) = by_slug(state, s).await? {
            return Ok(Some(found));
        }
    }
    let title = obj.get("title").and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty());
    let year = obj.get("year").and_then(number).and_then(|y| i32::try_from(y).ok());
    match title {
        Some(t) => by_title(state, t, year).await,
        None => Ok(None),
    }
}

/// A movie named by a path segment: its id, an IMDb id or a slug.
///
/// # Errors
/// A 503 when the movie source cannot answer.
pub async fn resolve_path(state: &AppState, raw: &str) -> Result<Option<Resolved>, ApiError> {
    if let Some(id) = raw.parse::<i64>().ok().and_then(|n| MovieId::new(n).ok()) {
        return by_id(state, id).await;
    }
    if raw.starts_with("tt") {
        return resolve(state, &json!({ "ids": { "imdb": raw } })).await;
    }
    by_slug(state, raw).await
}

/// A slug: its title words searched (with its year, when it ends in one),
/// the result whose own slug is the same.
async fn by_slug(state: &AppState, raw: &str) -> Result<Option<Resolved>, ApiError> {
    let raw = raw.trim().to_ascii_lowercase();
    let (words, year) = match raw.rsplit_once('-') {
        Some((head, tail)) if tail.len() == 4 && tail.bytes().all(|b| b.is_ascii_digit()) => {
            (head.to_owned(), tail.parse::<i32>().ok())
        }
        _ => (raw.clone(), None),
    };
    let found = search(state, &words.replace('-', " "), year).await?;
    let hit = found.iter().find(|s| {
        let y = s.release_date.map(|d| d.year());
        slug(&s.title, y) == raw || (year.is_none() && slug(&s.title, None) == raw)
    });
    match hit {
        Some(s) => by_id(state, s.id).await,
        None => Ok(None),
    }
}

/// A title and maybe a year: the first result with the same slug of the
/// title and, when given, the same year.
async fn by_title(state: &AppState, title: &str, year: Option<i32>) -> Result<Option<Resolved>, ApiError> {
    let want = slug(title, None);
    let found = search(state, title, year).await?;
    let hit = found
        .iter()
        .find(|s| slug(&s.title, None) == want && year.is_none_or(|y| s.release_date.map(|d| d.year()) == Some(y)));
    match hit {
        Some(s) => by_id(state, s.id).await,
        None => Ok(None),
    }
}

async fn search(state: &AppState, text: &str, year: Option<i32>) -> Result<Vec<MovieSummary>, ApiError> {
    let Ok(q) = SearchQuery::new(text, year) else { return Ok(Vec::new()) };
    match state.movies.search(&q, PageRequest::first()).await {
        Ok(page) => Ok(page.value.items),
        Err(MovieError::NotFound) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_what_trakt_clients_make() {
        assert_eq!(slug("Fight Club", Some(1999)), "fight-club-1999");
        assert_eq!(slug("Amélie", Some(2001)), "amelie-2001");
        assert_eq!(slug("Spider-Man: Into the Spider-Verse", Some(2018)), "spider-man-into-the-spider-verse-2018");
        assert_eq!(slug("  Léon: The Professional ", None), "leon-the-professional");
        assert_eq!(slug("Don’t Look Up", Some(2021)), "don-t-look-up-2021");
    }

    #[test]
    fn times_are_utc_with_milliseconds() {
        let t = parse_time("2014-03-31T11:28:53.25+02:00").unwrap();
        assert_eq!(ts(t), "2014-03-31T09:28:53.250Z");
        assert_eq!(ts(parse_time("2020-01-02").unwrap()), "2020-01-02T00:00:00.000Z");
        assert!(parse_time("yesterday").is_none());
        assert_eq!(ts_or_never(None), "1970-01-01T00:00:00.000Z");
    }
}
