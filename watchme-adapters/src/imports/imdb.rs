//! IMDb's exports: the ratings export (Const, Your Rating, Date Rated or
//! Date Added, Title, Original Title, URL, Title Type, ..., Year, ...) and
//! the watchlist or list export (Position, Const, Created, ..., Title,
//! Title Type, Year, ...; read as the watchlist: status `want_to_watch`).
//! Movies only: series, mini-series, episodes and podcasts are skipped and
//! counted.

use watchme_core::domain::{
    ImdbId, ImportFile, ImportItem, ImportProblem, ImportRow, ImportSource, MovieKey, Origin, ProblemKind, Rating,
    WatchStatus,
};
use watchme_core::ports::ImportFileError;

use super::container::Entry;
use super::table::{decode, records, year, Table};

const EXPECTED: &str = "an IMDb ratings export (Const, Your Rating, Date Rated, Title, ...) or list export \
                        (Position, Const, Created, ..., Title, Title Type, Year, ...), as CSV";

/// Whether IMDb's title type names something other than a film.
fn not_a_film(kind: &str) -> bool {
    let k = kind.to_ascii_lowercase().replace(' ', "");
    ["series", "episode", "podcast", "videogame", "musicvideo"].iter().any(|w| k.contains(w))
}

/// Reads the CSV entries of an IMDb upload.
///
/// # Errors
/// [`ImportFileError::WrongKind`] when no entry is an IMDb export.
pub(super) fn read(entries: &[Entry]) -> Result<ImportFile, ImportFileError> {
    let mut out = ImportFile::default();
    let mut any = false;
    for e in entries {
        let name = if e.name.is_empty() { "upload.csv".to_owned() } else { e.name.clone() };
        let (rows, problems) = records(&name, &decode(&e.bytes));
        let Some(mut t) = Table::find(&name, rows, problems, &["Const", "Title"]) else {
            if entries.len() == 1 {
                return Err(ImportFileError::WrongKind { kind: ImportSource::Imdb, expected: EXPECTED.into() });
            }
            out.problems.push(ImportProblem {
                origin: Origin { file: name, line: 0 },
                kind: ProblemKind::Ignored,
                reason: "not an IMDb export".into(),
            });
            continue;
        };
        any = true;
        file(&mut out, &mut t);
        out.problems.append(&mut t.problems);
    }
    if !any {
        return Err(ImportFileError::WrongKind { kind: ImportSource::Imdb, expected: EXPECTED.into() });
    }
    Ok(out)
}

fn file(out: &mut ImportFile, t: &mut Table) {
    let rating_col = t.col(&["Your Rating"]);
    let watchlist = t.col(&["Position"]).is_some();
    let (const_col, title_col, original_col) = (t.col(&["Const"]), t.col(&["Title"]), t.col(&["Original Title"]));
    let (type_col, year_col) = (t.col(&["Title Type"]), t.col(&["Year"]));
    let rows = std::mem::take(&mut t.rows);
    for (line, row) in rows {
        out.rows_read += 1;
        if let Some(kind) = Table::get(&row, type_col).filter(|k| not_a_film(k)) {
            t.problem(line, ProblemKind::Skipped, format!("a {kind}, not a film"));
            continue;
        }
        let movie = MovieKey {
            imdb: Table::get(&row, const_col).and_then(|c| ImdbId::parse(c).ok()),
            title: Table::get(&row, title_col).map(str::to_owned),
            original_title: Table::get(&row, original_col).map(str::to_owned),
            year: year(Table::get(&row, year_col)),
            ..MovieKey::default()
        };
        if movie.imdb.is_none() && movie.title.is_none() {
            t.problem(line, ProblemKind::Malformed, "neither an IMDb id (Const) nor a title");
            continue;
        }
        let item = if watchlist {
            ImportItem::Status(WatchStatus::WantToWatch)
        } else {
            match Table::get(&row, rating_col).map(|r| (r, r.parse::<i64>().ok().and_then(|n| Rating::new(n).ok()))) {
                Some((_, Some(r))) => ImportItem::Rating(r),
                Some((raw, None)) => {
                    t.problem(line, ProblemKind::Malformed, format!("{raw:?} is not a rating from 1 to 10"));
                    continue;
                }
                None => {
                    t.problem(line, ProblemKind::Malformed, "no rating (Your Rating) on this line");
                    continue;
                }
            }
        };
        out.rows.push(ImportRow { origin: Origin { file: t.file.clone(), line }, movie, item });
    }
}
