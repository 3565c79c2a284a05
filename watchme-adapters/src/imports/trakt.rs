//! Trakt data as its API answers it and backup tools save it: the arrays of
//! `/sync/history/movies`, `/sync/ratings/movies`, `/sync/watchlist/movies`,
//! and a user's lists (`lists.json` with the lists, `lists/<slug>.json`
//! with each one's items; or one object `{name, description, privacy,
//! items}`), one file each or together in a ZIP. A problem's "line" is the
//! item's position in its array, from 1. Shows and episodes are skipped.

use std::collections::HashMap;

use serde_json::Value;
use watchme_core::domain::{
    ImdbId, ImportFile, ImportItem, ImportList, ImportProblem, ImportRow, ImportSource, ListPrivacy, MovieId, MovieKey,
    Origin, PlayAction, PlaySource, ProblemKind, Rating, WatchStatus,
};
use watchme_core::ports::ImportFileError;

use super::container::Entry;

const EXPECTED: &str = "Trakt JSON: the arrays its API answers for /sync/history/movies, /sync/ratings/movies, \
                        /sync/watchlist/movies or a list's items, or a ZIP of them";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    History,
    Ratings,
    Watchlist,
    ListItems,
}

fn kind_of(name: &str, items: &[Value]) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    if lower.split('/').rev().nth(1) == Some("lists") {
        return Some(Kind::ListItems);
    }
    for (word, kind) in [("history", Kind::History), ("ratings", Kind::Ratings), ("watchlist", Kind::Watchlist)] {
        if base.contains(word) {
            return Some(kind);
        }
    }
    let first = items.first()?;
    if first.get("watched_at").is_some() {
        Some(Kind::History)
    } else if first.get("rating").is_some() {
        Some(Kind::Ratings)
    } else if first.get("listed_at").is_some() {
        Some(Kind::Watchlist)
    } else {
        None
    }
}

fn movie_key(m: &Value) -> MovieKey {
    let ids = &m["ids"];
    MovieKey {
        tmdb: ids["tmdb"].as_i64().and_then(|n| MovieId::new(n).ok()),
        imdb: ids["imdb"].as_str().and_then(|s| ImdbId::parse(s).ok()),
        title: m["title"].as_str().map(str::to_owned),
        original_title: None,
        year: m["year"].as_i64().and_then(|y| i32::try_from(y).ok()),
    }
}

fn parse_time(v: &Value) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(v.as_str()?, &time::format_description::well_known::Rfc3339).ok()
}

/// Reads the JSON entries of a Trakt upload.
///
/// # Errors
/// [`ImportFileError`] when an entry is not JSON, or none is Trakt data.
pub(super) fn read(entries: &[Entry]) -> Result<ImportFile, ImportFileError> {
    let mut out = ImportFile::default();
    let mut metas: HashMap<String, ImportList> = HashMap::new();
    let mut files = Vec::new();
    for e in entries {
        let name = if e.name.is_empty() { "upload.json".to_owned() } else { e.name.clone() };
        let json: Value = serde_json::from_slice(&e.bytes).map_err(|err| match entries.len() {
            1 => ImportFileError::WrongKind { kind: ImportSource::Trakt, expected: format!("{EXPECTED} ({err})") },
            _ => ImportFileError::Unreadable(format!("{name} is not JSON: {err}")),
        })?;
        let base = name.to_ascii_lowercase();
        if base.rsplit('/').next() == Some("lists.json") {
            for l in json.as_array().into_iter().flatten() {
                if let Some(slug) = l["ids"]["slug"].as_str() {
                    metas.insert(slug.to_owned(), list_meta(l, slug));
                }
            }
            continue;
        }
        files.push((name, json));
    }
    let mut any = false;
    for (name, json) in files {
        let (items, meta) = match &json {
            Value::Array(items) => (items.clone(), None),
            Value::Object(o) if o.get("items").is_some_and(Value::is_array) => {
                (o["items"].as_array().cloned().unwrap_or_default(), Some(list_meta(&json, "list")))
            }
            _ => (Vec::new(), None),
        };
        let kind = if meta.is_some() { Some(Kind::ListItems) } else { kind_of(&name, &items) };
        let Some(kind) = kind else {
            out.problems.push(ImportProblem {
                origin: Origin { file: name, line: 0 },
                kind: ProblemKind::Ignored,
                reason: "not Trakt data an import reads".into(),
            });
            continue;
        };
        any = true;
        let list = (kind == Kind::ListItems).then(|| {
            let stem = name.rsplit('/').next().unwrap_or(&name).trim_end_matches(".json").to_owned();
            let m = meta.or_else(|| metas.get(&stem).cloned()).unwrap_or(ImportList {
                name: stem.replace('-', " "),
                description: None,
                privacy: ListPrivacy::Private,
            });
            out.lists.push(m);
            out.lists.len() - 1
        });
        for (i, item) in items.iter().enumerate() {
            out.rows_read += 1;
            let origin = Origin { file: name.clone(), line: i as u64 + 1 };
            row(&mut out, origin, kind, list, item);
        }
    }
    if !any && out.lists.is_empty() {
        return Err(ImportFileError::WrongKind { kind: ImportSource::Trakt, expected: EXPECTED.into() });
    }
    Ok(out)
}

fn list_meta(l: &Value, fallback: &str) -> ImportList {
    ImportList {
        name: l["name"].as_str().unwrap_or(fallback).to_owned(),
        description: l["description"].as_str().filter(|d| !d.is_empty()).map(str::to_owned),
        privacy: match l["privacy"].as_str() {
            Some("public") => ListPrivacy::Public,
            Some("link") => ListPrivacy::Link,
            _ => ListPrivacy::Private,
        },
    }
}

fn row(out: &mut ImportFile, origin: Origin, kind: Kind, list: Option<usize>, item: &Value) {
    let mut problem =
        |kind: ProblemKind, reason: String| out.problems.push(ImportProblem { origin: origin.clone(), kind, reason });
    let Some(movie) = item.get("movie").filter(|m| m.is_object()) else {
        let what = item["type"].as_str().unwrap_or("item without a movie");
        problem(ProblemKind::Skipped, format!("a {what}, not a film"));
        return;
    };
    let movie = movie_key(movie);
    let item = match kind {
        Kind::History => match parse_time(&item["watched_at"]) {
            Some(watched_at) => {
                let action = match item["action"].as_str() {
                    Some("scrobble") => PlayAction::Scrobble,
                    Some("checkin") => PlayAction::Checkin,
                    _ => PlayAction::Watch,
                };
                ImportItem::Play { watched_at, action, source: PlaySource::Trakt }
            }
            None => return problem(ProblemKind::Malformed, "no valid watched_at".into()),
        },
        Kind::Ratings => match item["rating"].as_i64().and_then(|r| Rating::new(r).ok()) {
            Some(r) => ImportItem::Rating(r),
            None => return problem(ProblemKind::Malformed, "no rating from 1 to 10".into()),
        },
        Kind::Watchlist => ImportItem::Status(WatchStatus::WantToWatch),
        Kind::ListItems => ImportItem::ListItem {
            list: list.unwrap_or_default(),
            rank: item["rank"].as_u64().and_then(|r| u32::try_from(r).ok()).unwrap_or(origin.line as u32),
            notes: item["notes"].as_str().map(str::to_owned),
        },
    };
    out.rows.push(ImportRow { origin, movie, item });
}
