//! Imports and exports: what an import file holds once read (rows naming
//! movies, each with where it came from), the job that brings it in, what
//! the job counted and every problem it met; and WatchMe's own export, the
//! versioned document that gives a user's data back.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::history::names;
use super::{ImdbId, ListPrivacy, MovieId, PlayAction, PlaySource, Rating, UserId, WatchStatus};

super::uuid_id!(
    /// An import job's id.
    ImportId
);

names! {
    /// Where an import file comes from.
    ImportSource {
        /// A Letterboxd export (ZIP or one of its CSV files).
        Letterboxd = "letterboxd",
        /// An IMDb ratings or list export (CSV).
        Imdb = "imdb",
        /// Trakt API answers as backup tools save them (JSON, or a ZIP of them).
        Trakt = "trakt",
        /// WatchMe's own export (ZIP or its `watchme.json`).
        Watchme = "watchme",
    }
}

impl ImportSource {
    /// The source plays of this import are recorded with (WatchMe's own
    /// export keeps each play's).
    pub fn play_source(&self) -> PlaySource {
        match self {
            Self::Letterboxd => PlaySource::Letterboxd,
            Self::Imdb => PlaySource::Imdb,
            Self::Trakt => PlaySource::Trakt,
            Self::Watchme => PlaySource::Api,
        }
    }
}

names! {
    /// Where an import job stands.
    ImportStatus {
        /// Accepted, not started.
        Queued = "queued",
        /// Reading, matching or writing.
        Running = "running",
        /// Finished (problems, if any, are in its report).
        Done = "done",
        /// Stopped by an error (its reason is on the job).
        Failed = "failed",
    }
}

/// How a row names its movie; an import matches it by the first of TMDb
/// id, IMDb id, then title and year.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MovieKey {
    /// TMDb id.
    pub tmdb: Option<MovieId>,
    /// IMDb id.
    pub imdb: Option<ImdbId>,
    /// Title as the file writes it.
    pub title: Option<String>,
    /// Original title, when the file has one.
    pub original_title: Option<String>,
    /// Release year.
    pub year: Option<i32>,
}

impl MovieKey {
    /// A short description for reports: `"Title (1999)"`, or the ids.
    pub fn describe(&self) -> String {
        match (&self.title, self.year, &self.imdb, self.tmdb) {
            (Some(t), Some(y), _, _) => format!("{t} ({y})"),
            (Some(t), None, _, _) => t.clone(),
            (None, _, Some(i), _) => i.as_str().to_owned(),
            (None, _, None, Some(m)) => format!("tmdb {}", m.get()),
            _ => "(no title or id)".into(),
        }
    }
}

/// Where a row was read: the file inside the upload and its line (from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// File name (inside a ZIP, the entry's name).
    pub file: String,
    /// Line, from 1; 0 for a whole file.
    pub line: u64,
}

/// What a row brings in for its movie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportItem {
    /// A play at this time, recorded with this action and source.
    Play {
        /// When.
        watched_at: OffsetDateTime,
        /// How it came about.
        action: PlayAction,
        /// Where it came from.
        source: PlaySource,
    },
    /// A rating.
    Rating(Rating),
    /// A library status.
    Status(WatchStatus),
    /// A favorite.
    Favorite,
    /// An item of one of the file's lists (an index into [`ImportFile::lists`]).
    ListItem {
        /// Which list.
        list: usize,
        /// Its place, from 1.
        rank: u32,
        /// The owner's note.
        notes: Option<String>,
    },
}

/// One row of an import: a movie and what it brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Where it was read.
    pub origin: Origin,
    /// The movie, as the file names it.
    pub movie: MovieKey,
    /// What it brings.
    pub item: ImportItem,
}

/// A list an import file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportList {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Who may read it.
    pub privacy: ListPrivacy,
}

names! {
    /// What kind of problem a row had.
    ProblemKind {
        /// No movie matches it.
        Unmatched = "unmatched",
        /// Several movies match it equally well; none was picked.
        Ambiguous = "ambiguous",
        /// The line could not be read.
        Malformed = "malformed",
        /// Not a movie (a series, an episode) or not importable; left out.
        Skipped = "skipped",
        /// A file of the upload that an import does not read.
        Ignored = "ignored",
        /// The write was refused (a limit, a date in the future).
        Refused = "refused",
    }
}

/// One problem, with where it was met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProblem {
    /// Where.
    #[serde(flatten)]
    pub origin: Origin,
    /// What kind.
    pub kind: ProblemKind,
    /// Why, for a person.
    pub reason: String,
}

/// An upload once read: its rows, its lists, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportFile {
    /// Rows in file order (plays before statuses, as the reader emits them).
    pub rows: Vec<ImportRow>,
    /// The lists rows refer to.
    pub lists: Vec<ImportList>,
    /// Lines and files that could not be used.
    pub problems: Vec<ImportProblem>,
    /// Data lines read, every file together.
    pub rows_read: u64,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    /// Data lines read.
    pub rows_read: u64,
    /// Plays added.
    pub plays_added: u64,
    /// Ratings set.
    pub ratings_added: u64,
    /// Statuses set.
    pub statuses_added: u64,
    /// Favorites added.
    pub favorites_added: u64,
    /// List items added.
    pub list_items_added: u64,
    /// Rows whose data was there already.
    pub already_present: u64,
    /// Rows left out (not movies, unreadable lines, refused writes).
    pub skipped: u64,
    /// Rows no movie (or more than one) matches.
    pub unmatched: u64,
}

/// An import job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    /// Its id.
    pub id: ImportId,
    /// Whose.
    pub user_id: UserId,
    /// What kind of file.
    pub source: ImportSource,
    /// Only count, write nothing.
    pub dry_run: bool,
    /// Where it stands.
    pub status: ImportStatus,
    /// What it counted so far.
    pub counts: ImportCounts,
    /// Every problem so far.
    pub problems: Vec<ImportProblem>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was accepted.
    pub created_at: OffsetDateTime,
    /// When it was last saved (a running job is saved at least every
    /// minute; one not saved for longer was left by a stopped process).
    pub updated_at: OffsetDateTime,
    /// When it finished.
    pub finished_at: Option<OffsetDateTime>,
}

/// Version of [`WatchmeExport`]'s schema; bumped on any incompatible change.
pub const EXPORT_VERSION: u32 = 1;

/// A movie as the export names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportMovie {
    /// TMDb id.
    pub tmdb_id: u64,
    /// Title when it was recorded.
    pub title: String,
    /// Release year, when known.
    #[serde(default)]
    pub year: Option<i32>,
    /// IMDb id, when known.
    #[serde(default)]
    pub imdb_id: Option<String>,
}

/// A play in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPlay {
    /// The movie.
    pub movie: ExportMovie,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub watched_at: OffsetDateTime,
    /// How it came about.
    pub action: PlayAction,
    /// Where it came from.
    pub source: PlaySource,
}

/// A library entry in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportEntry {
    /// The movie.
    pub movie: ExportMovie,
    /// Watch status.
    #[serde(default)]
    pub status: Option<WatchStatus>,
    /// Rating, 1 to 10.
    #[serde(default)]
    pub rating: Option<Rating>,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A favorite or a view in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportMark {
    /// The movie.
    pub movie: ExportMovie,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A list item in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportListItem {
    /// The movie.
    pub movie: ExportMovie,
    /// Place, from 1.
    pub rank: u32,
    /// The owner's note.
    #[serde(default)]
    pub notes: Option<String>,
}

/// A list in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportList {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Who may read it.
    pub privacy: ListPrivacy,
    /// Items by rank.
    pub items: Vec<ExportListItem>,
}

/// Everything a user keeps in WatchMe, as `watchme.json` in the export ZIP
/// (docs/imports.md documents the schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchmeExport {
    /// [`EXPORT_VERSION`].
    pub version: u32,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    /// Every play, oldest first.
    pub plays: Vec<ExportPlay>,
    /// Library entries (status and rating).
    pub library: Vec<ExportEntry>,
    /// Favorites.
    pub favorites: Vec<ExportMark>,
    /// Lists with their items.
    pub lists: Vec<ExportList>,
    /// Page views (for the record; an import does not bring them back).
    pub views: Vec<ExportMark>,
}
