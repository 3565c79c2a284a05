//! Movies as WatchMe sees them, whatever source they come from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

/// Why a value is not a [`MovieId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("movie id must be a positive integer")]
pub struct MovieIdError;

/// A TMDb movie id: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MovieId(u64);

impl MovieId {
    /// Largest id accepted; TMDb ids are far below, and it keeps ids inside
    /// the signed 64-bit columns databases offer.
    pub const MAX: u64 = i64::MAX as u64;

    /// Validates a raw id.
    pub fn new(raw: i64) -> Result<Self, MovieIdError> {
        if raw <= 0 {
            return Err(MovieIdError);
        }
        Ok(Self(raw as u64))
    }

    /// The id as TMDb spells it.
    pub fn get(&self) -> u64 {
        self.0
    }

    /// The id as a signed integer, for storage.
    pub fn as_i64(&self) -> i64 {
        self.0 as i64
    }
}

impl<'de> Deserialize<'de> for MovieId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(d)?;
        MovieId::new(raw).map_err(serde::de::Error::custom)
    }
}

impl FromStr for MovieId {
    type Err = MovieIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse::<i64>().map_err(|_| MovieIdError).and_then(Self::new)
    }
}

/// Why a string is not an [`ImdbId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an IMDb id is `tt` followed by 7 to 10 digits")]
pub struct ImdbIdError;

/// An IMDb title id (`tt0133093`), as other trackers and media servers
/// name movies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ImdbId(String);

impl ImdbId {
    /// Validates an id (`tt` in any case, then 7 to 10 digits).
    pub fn parse(raw: &str) -> Result<Self, ImdbIdError> {
        let raw = raw.trim();
        let digits = raw.get(2..).filter(|_| raw.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("tt")));
        match digits {
            Some(d) if (7..=10).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Self(format!("tt{d}")))
            }
            _ => Err(ImdbIdError),
        }
    }

    /// The id, `tt` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ImdbId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ImdbId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for MovieId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A genre as TMDb names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genre {
    /// TMDb genre id.
    pub id: u32,
    /// English name.
    pub name: String,
}

/// One member of a movie's cast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastMember {
    /// Actor's name.
    pub name: String,
    /// Role played.
    pub character: Option<String>,
}

/// A movie in a list (popular, search results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MovieSummary {
    /// TMDb id.
    pub id: MovieId,
    /// Title in the configured language.
    pub title: String,
    /// Title in the original language.
    pub original_title: Option<String>,
    /// Short synopsis.
    pub overview: String,
    /// First release date, when known.
    pub release_date: Option<Date>,
    /// TMDb genre ids.
    pub genre_ids: Vec<u32>,
    /// Full poster URL, when the source has one.
    pub poster_url: Option<String>,
    /// Full backdrop URL, when the source has one.
    pub backdrop_url: Option<String>,
    /// Average audience score, 0 to 10.
    pub vote_average: f64,
    /// Number of votes behind the average.
    pub vote_count: u64,
    /// Source's popularity score, higher is more popular.
    pub popularity: f64,
}

/// Everything WatchMe shows on a movie page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MovieDetails {
    /// TMDb id.
    pub id: MovieId,
    /// Title in the configured language.
    pub title: String,
    /// Title in the original language.
    pub original_title: Option<String>,
    /// ISO 639-1 code of the original language.
    pub original_language: Option<String>,
    /// Synopsis.
    pub overview: String,
    /// Tagline.
    pub tagline: Option<String>,
    /// First release date, when known.
    pub release_date: Option<Date>,
    /// Running time in minutes.
    pub runtime: Option<u32>,
    /// Genres.
    pub genres: Vec<Genre>,
    /// Full poster URL.
    pub poster_url: Option<String>,
    /// Full backdrop URL.
    pub backdrop_url: Option<String>,
    /// Average audience score, 0 to 10.
    pub vote_average: f64,
    /// Number of votes.
    pub vote_count: u64,
    /// Popularity score.
    pub popularity: f64,
    /// IMDb id, when known.
    pub imdb_id: Option<String>,
    /// Main cast, in billing order.
    pub cast: Vec<CastMember>,
    /// Directors.
    pub directors: Vec<String>,
}

/// Why a search is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    /// Nothing to search for.
    #[error("query must not be empty")]
    Empty,
    /// Longer than 200 characters.
    #[error("query must be at most 200 characters")]
    TooLong,
    /// Year outside 1870..=2100.
    #[error("year must be between 1870 and 2100")]
    BadYear,
}

/// A movie search: text and an optional release year.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchQuery {
    text: String,
    year: Option<u16>,
}

impl SearchQuery {
    /// Longest accepted query, in characters.
    pub const MAX_LEN: usize = 200;
    /// Earliest release year a search may name.
    pub const MIN_YEAR: i64 = 1870;
    /// Latest release year a search may name.
    pub const MAX_YEAR: i64 = 2100;

    /// Validates a search; the text is trimmed and inner whitespace collapsed
    /// so equivalent searches share one cache entry.
    pub fn new(text: &str, year: Option<i32>) -> Result<Self, SearchQueryError> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return Err(SearchQueryError::Empty);
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(SearchQueryError::TooLong);
        }
        let year = match year {
            None => None,
            Some(y) if (Self::MIN_YEAR..=Self::MAX_YEAR).contains(&i64::from(y)) => Some(y as u16),
            Some(_) => return Err(SearchQueryError::BadYear),
        };
        Ok(Self { text, year })
    }

    /// The normalised text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The release year filter.
    pub fn year(&self) -> Option<u16> {
        self.year
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imdb_ids_are_tt_and_digits() {
        assert_eq!(ImdbId::parse(" TT0133093 ").unwrap().as_str(), "tt0133093");
        assert_eq!(ImdbId::parse("tt15239678").unwrap().as_str(), "tt15239678");
        for bad in ["", "tt", "0133093", "tt013309", "tt01330931234", "nm0000206", "tt0133O93"] {
            assert_eq!(ImdbId::parse(bad), Err(ImdbIdError), "case: {bad:?}");
        }
    }

    #[test]
    fn movie_ids_must_be_positive() {
        for (raw, ok) in [(0i64, false), (-5, false), (1, true), (550, true), (i64::MAX, true)] {
            assert_eq!(MovieId::new(raw).is_ok(), ok, "case: {raw}");
        }
        for bad in ["", "abc", "1.5", "-1", "0", "99999999999999999999"] {
            assert_eq!(bad.parse::<MovieId>(), Err(MovieIdError), "case: {bad:?}");
        }
        assert_eq!("550".parse::<MovieId>().unwrap().get(), 550);
    }

    #[test]
    fn search_queries_are_normalised_and_bounded() {
        let q = SearchQuery::new("  the   matrix ", Some(1999)).unwrap();
        assert_eq!(q.text(), "the matrix");
        assert_eq!(q.year(), Some(1999));
        let cases: &[(&str, Option<i32>, SearchQueryError, &str)] = &[
            ("", None, SearchQueryError::Empty, "empty"),
            ("   ", None, SearchQueryError::Empty, "blank"),
            (&"x".repeat(201), None, SearchQueryError::TooLong, "201 chars"),
            ("matrix", Some(1869), SearchQueryError::BadYear, "year too early"),
            ("matrix", Some(2101), SearchQueryError::BadYear, "year too late"),
        ];
        for (text, year, expected, case) in cases {
            assert_eq!(SearchQuery::new(text, *year).as_ref().err(), Some(expected), "case: {case}");
        }
    }
}
