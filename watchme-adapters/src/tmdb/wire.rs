//! TMDb's JSON shapes (only the fields WatchMe uses) and their conversion
//! into domain types.

use serde::Deserialize;
use time::Date;
use watchme_core::domain::{CastMember, Genre, MovieDetails, MovieId, MovieSummary};

/// A page of `/movie/popular` or `/search/movie`.
#[derive(Debug, Deserialize)]
pub struct ListPage {
    pub results: Vec<ListMovie>,
    pub total_pages: u64,
    pub total_results: u64,
}

/// A movie in a list.
#[derive(Debug, Deserialize)]
pub struct ListMovie {
    pub id: i64,
    pub title: String,
    #[serde(default)]
    pub original_title: Option<String>,
    #[serde(default)]
    pub overview: Option<String>,
    #[serde(default)]
    pub release_date: Option<String>,
    #[serde(default)]
    pub genre_ids: Vec<u32>,
    #[serde(default)]
    pub poster_path: Option<String>,
    #[serde(default)]
    pub backdrop_path: Option<String>,
    #[serde(default)]
    pub vote_average: f64,
    #[serde(default)]
    pub vote_count: u64,
    #[serde(default)]
    pub popularity: f64,
}

/// `/movie/{id}?append_to_response=credits`.
#[derive(Debug, Deserialize)]
pub struct Details {
    pub id: i64,
    pub title: String,
    #[serde(default)]
    pub original_title: Option<String>,
    #[serde(default)]
    pub original_language: Option<String>,
    #[serde(default)]
    pub overview: Option<String>,
    #[serde(default)]
    pub tagline: Option<String>,
    #[serde(default)]
    pub release_date: Option<String>,
    #[serde(default)]
    pub runtime: Option<u32>,
    #[serde(default)]
    pub genres: Vec<GenreWire>,
    #[serde(default)]
    pub poster_path: Option<String>,
    #[serde(default)]
    pub backdrop_path: Option<String>,
    #[serde(default)]
    pub vote_average: f64,
    #[serde(default)]
    pub vote_count: u64,
    #[serde(default)]
    pub popularity: f64,
    #[serde(default)]
    pub imdb_id: Option<String>,
    #[serde(default)]
    pub credits: Option<Credits>,
}

#[derive(Debug, Deserialize)]
pub struct GenreWire {
    pub id: u32,
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Credits {
    #[serde(default)]
    pub cast: Vec<CastWire>,
    #[serde(default)]
    pub crew: Vec<CrewWire>,
}

#[derive(Debug, Deserialize)]
pub struct CastWire {
    pub name: String,
    #[serde(default)]
    pub character: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CrewWire {
    pub name: String,
    #[serde(default)]
    pub job: Option<String>,
}

/// How many cast members a movie page shows.
const CAST_SHOWN: usize = 15;

fn date(raw: Option<&str>) -> Option<Date> {
    // TMDb sends "" for unknown dates.
    let raw = raw.filter(|s| !s.is_empty())?;
    Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

fn image(base: &str, size: &str, path: Option<&str>) -> Option<String> {
    path.filter(|p| p.starts_with('/')).map(|p| format!("{}/{size}{p}", base.trim_end_matches('/')))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

impl ListMovie {
    /// The domain summary; `None` for an entry with an invalid id.
    pub fn into_summary(self, image_base: &str) -> Option<MovieSummary> {
        Some(MovieSummary {
            id: MovieId::new(self.id).ok()?,
            original_title: non_empty(self.original_title).filter(|t| *t != self.title),
            title: self.title,
            overview: self.overview.unwrap_or_default(),
            release_date: date(self.release_date.as_deref()),
            genre_ids: self.genre_ids,
            poster_url: image(image_base, "w500", self.poster_path.as_deref()),
            backdrop_url: image(image_base, "w1280", self.backdrop_path.as_deref()),
            vote_average: self.vote_average,
            vote_count: self.vote_count,
            popularity: self.popularity,
        })
    }
}

impl Details {
    /// The domain details; `None` for an invalid id.
    pub fn into_details(self, image_base: &str) -> Option<MovieDetails> {
        let credits = self.credits.unwrap_or_default();
        Some(MovieDetails {
            id: MovieId::new(self.id).ok()?,
            original_title: non_empty(self.original_title).filter(|t| *t != self.title),
            title: self.title,
            original_language: non_empty(self.original_language),
            overview: self.overview.unwrap_or_default(),
            tagline: non_empty(self.tagline),
            release_date: date(self.release_date.as_deref()),
            runtime: self.runtime.filter(|r| *r > 0),
            genres: self.genres.into_iter().map(|g| Genre { id: g.id, name: g.name }).collect(),
            poster_url: image(image_base, "w500", self.poster_path.as_deref()),
            backdrop_url: image(image_base, "w1280", self.backdrop_path.as_deref()),
            vote_average: self.vote_average,
            vote_count: self.vote_count,
            popularity: self.popularity,
            imdb_id: non_empty(self.imdb_id),
            cast: credits
                .cast
                .into_iter()
                .take(CAST_SHOWN)
                .map(|c| CastMember { name: c.name, character: non_empty(c.character) })
                .collect(),
            directors: credits
                .crew
                .into_iter()
                .filter(|c| c.job.as_deref() == Some("Director"))
                .map(|c| c.name)
                .collect(),
        })
    }
}

/// `GET /find/{external_id}?external_source=imdb_id`: what TMDb holds under
/// another site's id, by kind (only movies are read).
#[derive(Debug, Deserialize)]
pub struct Found {
    #[serde(default)]
    pub movie_results: Vec<FoundMovie>,
}

/// A movie of a [`Found`] answer: its TMDb id is all WatchMe reads.
#[derive(Debug, Deserialize)]
pub struct FoundMovie {
    pub id: i64,
}
