//! Letterboxd's export: `diary.csv` (every entry a play, rewatches
//! included, dated by its Watched Date), `ratings.csv` (half stars × 2),
//! `watched.csv` (status watched, no play invented), `watchlist.csv`,
//! `likes/films.csv` (favorites) and `lists/*.csv` (a metadata block, a
//! blank line, then Position, Name, Year, URL, Description). Movies are
//! named by title and year: Letterboxd exports no TMDb or IMDb ids.

use std::collections::HashMap;

use watchme_core::domain::{
    ImportFile, ImportItem, ImportList, ImportProblem, ImportRow, ImportSource, ListPrivacy, MovieKey, Origin,
    PlayAction, PlaySource, ProblemKind, Rating, WatchStatus,
};
use watchme_core::ports::ImportFileError;

use super::container::Entry;
use super::table::{date, decode, records, year, Table};

/// What an entry of the export is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Diary,
    Ratings,
    Watched,
    Watchlist,
    Likes,
    List,
}

fn kind_of_name(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    let in_dir = |d: &str| lower.split('/').rev().nth(1) == Some(d);
    match base {
        "diary.csv" if !in_dir("deleted") => Some(Kind::Diary),
        "ratings.csv" if !in_dir("deleted") => Some(Kind::Ratings),
        "watched.csv" => Some(Kind::Watched),
        "watchlist.csv" => Some(Kind::Watchlist),
        "films.csv" if in_dir("likes") => Some(Kind::Likes),
        _ if in_dir("lists") && base.ends_with(".csv") => Some(Kind::List),
        _ => None,
    }
}

/// A single uploaded file, by its header.
fn kind_of_header(rows: &[(u64, Vec<String>)]) -> Option<Kind> {
    let has = |row: &Vec<String>, c: &str| row.iter().any(|h| h.eq_ignore_ascii_case(c));
    let header = rows.iter().take(8).find(|(_, r)| has(r, "Name"))?;
    let h = &header.1;
    if has(h, "Position") {
        Some(Kind::List)
    } else if has(h, "Watched Date") {
        Some(Kind::Diary)
    } else if has(h, "Rating") {
        Some(Kind::Ratings)
    } else if has(h, "Letterboxd URI") && has(h, "Year") {
        Some(Kind::Watched)
    } else {
        None
    }
}

const EXPECTED: &str =
    "a Letterboxd export ZIP, or one of its CSV files (diary.csv: Date, Name, Year, Letterboxd URI, \
                        Rating, Rewatch, Tags, Watched Date; ratings.csv; watched.csv; a list)";

/// Reads the entries of a Letterboxd upload.
///
/// # Errors
/// [`ImportFileError::WrongKind`] when none of them is a Letterboxd file.
pub(super) fn read(entries: &[Entry], zipped: bool) -> Result<ImportFile, ImportFileError> {
    let mut out = ImportFile::default();
    let mut parsed = Vec::new();
    for e in entries {
        let name = if e.name.is_empty() { "upload.csv".to_owned() } else { e.name.clone() };
        let (rows, problems) = records(&name, &decode(&e.bytes));
        let kind = if zipped { kind_of_name(&e.name) } else { kind_of_header(&rows) };
        match kind {
            Some(k) => parsed.push((k, name, rows, problems)),
            None if zipped => out.problems.push(ImportProblem {
                origin: Origin { file: name, line: 0 },
                kind: ProblemKind::Ignored,
                reason: "not a file a Letterboxd import reads".into(),
            }),
            None => {
                return Err(ImportFileError::WrongKind { kind: ImportSource::Letterboxd, expected: EXPECTED.into() })
            }
        }
    }
    if parsed.is_empty() {
        return Err(ImportFileError::WrongKind { kind: ImportSource::Letterboxd, expected: EXPECTED.into() });
    }
    let has_ratings = parsed.iter().any(|p| p.0 == Kind::Ratings);
    // Plays first, then statuses, ratings, favorites and lists: the order an
    // import writes them in.
    parsed.sort_by_key(|p| p.0 as u8);
    for (kind, name, rows, problems) in parsed {
        if kind == Kind::List {
            list(&mut out, &name, rows, problems);
            continue;
        }
        let Some(mut t) = Table::find(&name, rows, problems, &["Name"]) else {
            out.problems.push(ImportProblem {
                origin: Origin { file: name, line: 0 },
                kind: ProblemKind::Malformed,
                reason: "no header row with a Name column".into(),
            });
            continue;
        };
        films(&mut out, &mut t, kind, !has_ratings);
        out.problems.append(&mut t.problems);
    }
    Ok(out)
}

fn key(t: &Table, row: &[String]) -> MovieKey {
    MovieKey {
        title: Table::get(row, t.col(&["Name"])).map(str::to_owned),
        year: year(Table::get(row, t.col(&["Year"]))),
        ..MovieKey::default()
    }
}

/// Half stars (0.5 to 5) as a rating of 1 to 10.
fn stars(raw: &str) -> Option<Rating> {
    let s: f64 = raw.parse().ok()?;
    Rating::new((s * 2.0).round() as i64).ok()
}

fn films(out: &mut ImportFile, t: &mut Table, kind: Kind, diary_ratings: bool) {
    let (watched_col, date_col, rating_col) = (t.col(&["Watched Date"]), t.col(&["Date"]), t.col(&["Rating"]));
    let mut same_day: HashMap<(MovieKey, i64), i64> = HashMap::new();
    let rows = std::mem::take(&mut t.rows);
    for (line, row) in rows {
        out.rows_read += 1;
        let movie = key(t, &row);
        if movie.title.is_none() {
            t.problem(line, ProblemKind::Malformed, "no film name on this line");
            continue;
        }
        let origin = Origin { file: t.file.clone(), line };
        let mut push = |item| out.rows.push(ImportRow { origin: origin.clone(), movie: movie.clone(), item });
        match kind {
            Kind::Diary => {
                let when = Table::get(&row, watched_col).or(Table::get(&row, date_col)).and_then(date);
                let Some(day) = when else {
                    t.problem(line, ProblemKind::Malformed, "no valid Watched Date (YYYY-MM-DD)");
                    continue;
                };
                // Two entries of one film on one day are two plays: a second
                // apart, the same seconds every time the file is read.
                let n = same_day.entry((movie.clone(), day.unix_timestamp())).or_insert(0);
                let watched_at = day + time::Duration::seconds(*n);
                *n += 1;
                push(ImportItem::Play { watched_at, action: PlayAction::Import, source: PlaySource::Letterboxd });
                if let (true, Some(r)) = (diary_ratings, Table::get(&row, rating_col).and_then(stars)) {
                    push(ImportItem::Rating(r));
                }
            }
            Kind::Ratings => match Table::get(&row, rating_col).map(|r| (r, stars(r))) {
                Some((_, Some(r))) => push(ImportItem::Rating(r)),
                Some((raw, None)) => {
                    t.problem(line, ProblemKind::Malformed, format!("{raw:?} is not a rating of 0.5 to 5 stars"))
                }
                None => t.problem(line, ProblemKind::Malformed, "no rating on this line"),
            },
            Kind::Watched => push(ImportItem::Status(WatchStatus::Watched)),
            Kind::Watchlist => push(ImportItem::Status(WatchStatus::WantToWatch)),
            Kind::Likes => push(ImportItem::Favorite),
            Kind::List => {}
        }
    }
}

/// A list file: the metadata block (Date, Name, Tags, URL, Description),
/// then the films by position.
fn list(out: &mut ImportFile, file: &str, rows: Vec<(u64, Vec<String>)>, problems: Vec<ImportProblem>) {
    let meta_header = rows.iter().position(|(_, r)| r.iter().any(|c| c.eq_ignore_ascii_case("Tags")));
    let meta = meta_header.and_then(|i| Some((rows[i].1.clone(), rows.get(i + 1)?.1.clone())));
    let from_meta = |col: &str| {
        meta.as_ref()
            .and_then(|(h, v)| h.iter().position(|c| c.eq_ignore_ascii_case(col)).and_then(|i| v.get(i)).cloned())
    };
    let stem = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".csv").replace('-', " ");
    let name = from_meta("Name").filter(|n| !n.is_empty()).unwrap_or(stem);
    let description = from_meta("Description").filter(|d| !d.is_empty());
    let Some(mut t) = Table::find(file, rows, problems, &["Position", "Name"]) else {
        out.problems.push(ImportProblem {
            origin: Origin { file: file.to_owned(), line: 0 },
            kind: ProblemKind::Malformed,
            reason: "no Position, Name, Year, URL, Description header".into(),
        });
        return;
    };
    let index = out.lists.len();
    out.lists.push(ImportList { name, description, privacy: ListPrivacy::Private });
    let (pos_col, notes_col) = (t.col(&["Position"]), t.col(&["Description"]));
    let rows = std::mem::take(&mut t.rows);
    for (n, (line, row)) in rows.into_iter().enumerate() {
        out.rows_read += 1;
        let movie = key(&t, &row);
        if movie.title.is_none() {
            t.problem(line, ProblemKind::Malformed, "no film name on this line");
            continue;
        }
        let rank = Table::get(&row, pos_col).and_then(|p| p.parse().ok()).unwrap_or(n as u32 + 1);
        let notes = Table::get(&row, notes_col).map(str::to_owned);
        out.rows.push(ImportRow {
            origin: Origin { file: t.file.clone(), line },
            movie,
            item: ImportItem::ListItem { list: index, rank, notes },
        });
    }
    out.problems.append(&mut t.problems);
}
