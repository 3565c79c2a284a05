//! WatchMe's own export (`watchme.json`, alone or in the export ZIP): every
//! play with its action and source, library statuses and ratings,
//! favorites, and lists with their items, named by TMDb id (with IMDb id,
//! title and year as fallbacks). Views are exported for the record and
//! not imported. A problem's "line" is the item's position in its array.

use watchme_core::domain::ExportMovie;
use watchme_core::domain::{
    ImdbId, ImportFile, ImportItem, ImportList, ImportRow, ImportSource, MovieId, MovieKey, Origin, WatchmeExport,
    EXPORT_VERSION,
};
use watchme_core::ports::ImportFileError;

use super::container::Entry;

const EXPECTED: &str = "a WatchMe export: the ZIP from GET /me/export, or its watchme.json";

fn key(m: &ExportMovie) -> MovieKey {
    MovieKey {
        tmdb: i64::try_from(m.tmdb_id).ok().and_then(|n| MovieId::new(n).ok()),
        imdb: m.imdb_id.as_deref().and_then(|i| ImdbId::parse(i).ok()),
        title: Some(m.title.clone()).filter(|t| !t.is_empty()),
        original_title: None,
        year: m.year,
    }
}

/// Reads `watchme.json` from the upload.
///
/// # Errors
/// [`ImportFileError`] when there is no `watchme.json`, it is not the
/// export's schema, or its version is newer than this build reads.
pub(super) fn read(entries: &[Entry]) -> Result<ImportFile, ImportFileError> {
    let wrong = || ImportFileError::WrongKind { kind: ImportSource::Watchme, expected: EXPECTED.into() };
    let entry = entries
        .iter()
        .find(|e| e.name.is_empty() || e.name.rsplit('/').next() == Some("watchme.json"))
        .ok_or_else(wrong)?;
    let export: WatchmeExport = serde_json::from_slice(&entry.bytes).map_err(|e| {
        match serde_json::from_slice::<serde_json::Value>(&entry.bytes) {
            Ok(_) => ImportFileError::Unreadable(format!("watchme.json does not follow the export schema: {e}")),
            Err(_) => wrong(),
        }
    })?;
    if export.version > EXPORT_VERSION {
        return Err(ImportFileError::Unreadable(format!(
            "watchme.json is version {}; this WatchMe reads up to version {EXPORT_VERSION}",
            export.version
        )));
    }
    let mut out = ImportFile::default();
    let at = |section: &str, i: usize| Origin { file: format!("watchme.json#{section}"), line: i as u64 + 1 };
    let mut push = |origin, movie, item| out.rows.push(ImportRow { origin, movie, item });
    for (i, p) in export.plays.iter().enumerate() {
        push(
            at("plays", i),
            key(&p.movie),
            ImportItem::Play { watched_at: p.watched_at, action: p.action, source: p.source },
        );
    }
    for (i, e) in export.library.iter().enumerate() {
        if let Some(s) = e.status {
            push(at("library", i), key(&e.movie), ImportItem::Status(s));
        }
        if let Some(r) = e.rating {
            push(at("library", i), key(&e.movie), ImportItem::Rating(r));
        }
    }
    for (i, f) in export.favorites.iter().enumerate() {
        push(at("favorites", i), key(&f.movie), ImportItem::Favorite);
    }
    for (n, l) in export.lists.iter().enumerate() {
        let mut items: Vec<_> = l.items.iter().collect();
        items.sort_by_key(|i| i.rank);
        for (i, item) in items.into_iter().enumerate() {
            let list_item = ImportItem::ListItem { list: n, rank: item.rank, notes: item.notes.clone() };
            push(at(&format!("lists[{n}]"), i), key(&item.movie), list_item);
        }
    }
    out.lists = export
        .lists
        .iter()
        .map(|l| ImportList { name: l.name.clone(), description: l.description.clone(), privacy: l.privacy })
        .collect();
    out.rows_read = out.rows.len() as u64;
    Ok(out)
}
