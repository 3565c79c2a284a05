//! The export ZIP: `watchme.json` (the whole [`WatchmeExport`], pretty
//! printed), `letterboxd.csv` in Letterboxd's import layout (Title, Year,
//! tmdbID, imdbID, WatchedDate, Rating10, Rewatch: a line per play, and one
//! per rated film never played) and `imdb-ratings.csv` in IMDb's ratings
//! layout (films with an IMDb id). Cells starting with `=`, `+`, `-` or `@`
//! are written with a leading `'` so no spreadsheet runs them as formulas.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use watchme_core::domain::{Rating, WatchmeExport};
use watchme_core::ports::{ExportError, ExportWriter};
use zip::write::SimpleFileOptions;

/// Writes the export ZIP (deflate).
#[derive(Debug, Clone, Copy, Default)]
pub struct ZipExportWriter;

/// A cell as a spreadsheet may safely open it.
pub(super) fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

fn csv_bytes(header: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ExportError(e.to_string());
    w.write_record(header).map_err(fail)?;
    for row in rows {
        w.write_record(row.iter().map(|c| cell(c))).map_err(fail)?;
    }
    w.into_inner().map_err(|e| ExportError(e.to_string()))
}

fn letterboxd(export: &WatchmeExport) -> Result<Vec<u8>, ExportError> {
    let ratings: HashMap<u64, Rating> =
        export.library.iter().filter_map(|e| e.rating.map(|r| (e.movie.tmdb_id, r))).collect();
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for p in &export.plays {
        let rewatch = !seen.insert(p.movie.tmdb_id);
        rows.push(vec![
            p.movie.title.clone(),
            p.movie.year.map(|y| y.to_string()).unwrap_or_default(),
            p.movie.tmdb_id.to_string(),
            p.movie.imdb_id.clone().unwrap_or_default(),
            p.watched_at.date().to_string(),
            ratings.get(&p.movie.tmdb_id).map(|r| r.get().to_string()).unwrap_or_default(),
            if rewatch { "true".into() } else { "false".into() },
        ]);
    }
    for e in export.library.iter().filter(|e| e.rating.is_some() && !seen.contains(&e.movie.tmdb_id)) {
        rows.push(vec![
            e.movie.title.clone(),
            e.movie.year.map(|y| y.to_string()).unwrap_or_default(),
            e.movie.tmdb_id.to_string(),
            e.movie.imdb_id.clone().unwrap_or_default(),
            String::new(),
            e.rating.map(|r| r.get().to_string()).unwrap_or_default(),
            "false".into(),
        ]);
    }
    csv_bytes(&["Title", "Year", "tmdbID", "imdbID", "WatchedDate", "Rating10", "Rewatch"], rows)
}

fn imdb(export: &WatchmeExport) -> Result<Vec<u8>, ExportError> {
    let rows = export
        .library
        .iter()
        .filter_map(|e| Some((e, e.rating?, e.movie.imdb_id.clone()?)))
        .map(|(e, r, id)| {
            vec![
                id.clone(),
                r.get().to_string(),
                e.updated_at.date().to_string(),
                e.movie.title.clone(),
                e.movie.title.clone(),
                format!("https://www.imdb.com/title/{id}/"),
                "Movie".into(),
                String::new(),
                String::new(),
                e.movie.year.map(|y| y.to_string()).unwrap_or_default(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    let header = [
        "Const",
        "Your Rating",
        "Date Rated",
        "Title",
        "Original Title",
        "URL",
        "Title Type",
        "IMDb Rating",
        "Runtime (mins)",
        "Year",
        "Genres",
        "Num Votes",
        "Release Date",
        "Directors",
    ];
    csv_bytes(&header, rows)
}

impl ExportWriter for ZipExportWriter {
    fn write(&self, export: &WatchmeExport) -> Result<Vec<u8>, ExportError> {
        let json = serde_json::to_vec_pretty(export).map_err(|e| ExportError(e.to_string()))?;
        let files =
            [("watchme.json", json), ("letterboxd.csv", letterboxd(export)?), ("imdb-ratings.csv", imdb(export)?)];
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in files {
            zip.start_file(name, options).map_err(|e| ExportError(e.to_string()))?;
            zip.write_all(&bytes).map_err(|e| ExportError(e.to_string()))?;
        }
        Ok(zip.finish().map_err(|e| ExportError(e.to_string()))?.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_cells_are_escaped() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1+1"), "'-1+1");
        assert_eq!(cell("Heat"), "Heat");
    }
}
