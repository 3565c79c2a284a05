//! A [`MovieSource`] over a bundled offline catalog, so the embedded default
//! is useful with no TMDb key and no network.
//!
//! `movies.json` holds 121 well-known movies with their real TMDb ids,
//! titles, release dates, runtimes and genre ids, in TMDb's field names;
//! the overviews are our own words. The file is in popularity order (most
//! popular first): it has no vote data, and `popularity` is derived from
//! the position, not TMDb's score.

use async_trait::async_trait;
use serde::Deserialize;
use time::Date;
use watchme_core::domain::{Genre, ImdbId, MovieDetails, MovieId, MovieSummary, Page, PageRequest, SearchQuery};
use watchme_core::error::MovieSourceError;
use watchme_core::ports::MovieSource;

const BUNDLED: &str = include_str!("movies.json");

/// TMDb's movie genre list (`/genre/movie/list`), to name genre ids.
pub const GENRES: &[(u32, &str)] = &[
    (28, "Action"),
    (12, "Adventure"),
    (16, "Animation"),
    (35, "Comedy"),
    (80, "Crime"),
    (99, "Documentary"),
    (18, "Drama"),
    (10751, "Family"),
    (14, "Fantasy"),
    (36, "History"),
    (27, "Horror"),
    (10402, "Music"),
    (9648, "Mystery"),
    (10749, "Romance"),
    (878, "Science Fiction"),
    (10770, "TV Movie"),
    (53, "Thriller"),
    (10752, "War"),
    (37, "Western"),
];

#[derive(Deserialize)]
struct Row {
    id: MovieId,
    imdb_id: ImdbId,
    title: String,
    original_title: String,
    original_language: String,
    #[serde(with = "date")]
    release_date: Date,
    runtime: u32,
    genre_ids: Vec<u32>,
    overview: String,
}

mod date {
    use serde::{Deserialize, Deserializer};
    use time::{macros::format_description, Date};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s, format_description!("[year]-[month]-[day]")).map_err(serde::de::Error::custom)
    }
}

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid movie catalog: {0}")]
pub struct CatalogError(#[from] serde_json::Error);

/// Movies from a fixed list, searched and paged in memory.
#[derive(Debug, Clone)]
pub struct CatalogSource {
    movies: Vec<MovieDetails>,
}

impl CatalogSource {
    /// The catalog shipped with WatchMe.
    ///
    /// # Errors
    /// Never in a released build (a test parses the bundled file).
    pub fn bundled() -> Result<Self, CatalogError> {
        Self::from_json(BUNDLED)
    }

    /// A catalog from JSON in the bundled file's shape (an array of TMDb-style movies, most popular first).
    ///
    /// # Errors
    /// [`CatalogError`] when the JSON does not have that shape.
    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let rows: Vec<Row> = serde_json::from_str(json)?;
        let n = rows.len();
        let movies = rows
            .into_iter()
            .enumerate()
            .map(|(rank, r)| MovieDetails {
                id: r.id,
                original_title: Some(r.original_title).filter(|t| *t != r.title),
                title: r.title,
                original_language: Some(r.original_language),
                overview: r.overview,
                tagline: None,
                release_date: Some(r.release_date),
                runtime: Some(r.runtime),
                genres: r
                    .genre_ids
                    .iter()
                    .map(|id| Genre {
                        id: *id,
                        name: GENRES.iter().find(|(g, _)| g == id).map_or("Unknown", |(_, n)| n).to_owned(),
                    })
                    .collect(),
                poster_url: None,
                backdrop_url: None,
                vote_average: 0.0,
                vote_count: 0,
                popularity: (n - rank) as f64,
                imdb_id: Some(r.imdb_id.as_str().to_owned()),
                cast: Vec::new(),
                directors: Vec::new(),
            })
            .collect();
        Ok(Self { movies })
    }

    /// Number of movies.
    pub fn len(&self) -> usize {
        self.movies.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.movies.is_empty()
    }
}

fn summary(m: &MovieDetails) -> MovieSummary {
    MovieSummary {
        id: m.id,
        title: m.title.clone(),
        original_title: m.original_title.clone(),
        overview: m.overview.clone(),
        release_date: m.release_date,
        genre_ids: m.genres.iter().map(|g| g.id).collect(),
        poster_url: m.poster_url.clone(),
        backdrop_url: m.backdrop_url.clone(),
        vote_average: m.vote_average,
        vote_count: m.vote_count,
        popularity: m.popularity,
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

#[async_trait]
impl MovieSource for CatalogSource {
    async fn popular(&self, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        let all: Vec<MovieSummary> = self.movies.iter().map(summary).collect();
        Ok(page.slice(&all))
    }

    async fn search(&self, query: &SearchQuery, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        let needle = fold(query.text());
        let hits: Vec<MovieSummary> = self
            .movies
            .iter()
            .filter(|m| {
                fold(&m.title).contains(&needle)
                    || m.original_title.as_deref().is_some_and(|t| fold(t).contains(&needle))
            })
            .filter(|m| query.year().is_none_or(|y| m.release_date.is_some_and(|d| d.year() == y as i32)))
            .map(summary)
            .collect();
        Ok(page.slice(&hits))
    }

    async fn details(&self, id: MovieId) -> Result<MovieDetails, MovieSourceError> {
        self.movies.iter().find(|m| m.id == id).cloned().ok_or(MovieSourceError::NotFound)
    }

    async fn find_by_imdb(&self, imdb: &ImdbId) -> Result<MovieId, MovieSourceError> {
        self.movies
            .iter()
            .find(|m| m.imdb_id.as_deref() == Some(imdb.as_str()))
            .map(|m| m.id)
            .ok_or(MovieSourceError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalog_has_at_least_100_distinct_movies_with_named_genres() {
        let c = CatalogSource::bundled().unwrap();
        assert!(c.len() >= 100, "only {} movies", c.len());
        let mut ids: Vec<_> = c.movies.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), c.len(), "duplicate ids");
        let mut imdb: Vec<_> = c.movies.iter().filter_map(|m| m.imdb_id.clone()).collect();
        imdb.sort();
        imdb.dedup();
        assert_eq!(imdb.len(), c.len(), "every movie has an IMDb id of its own");
        for m in &c.movies {
            assert!(!m.overview.is_empty() && m.runtime.is_some() && !m.genres.is_empty(), "{}", m.title);
            assert!(m.genres.iter().all(|g| g.name != "Unknown"), "{}", m.title);
        }
    }

    #[tokio::test]
    async fn details_search_and_popular() {
        let c = CatalogSource::bundled().unwrap();
        let fc = c.details(MovieId::new(550).unwrap()).await.unwrap();
        assert_eq!((fc.title.as_str(), fc.runtime), ("Fight Club", Some(139)));
        assert!(matches!(c.details(MovieId::new(1).unwrap()).await, Err(MovieSourceError::NotFound)));

        let q = SearchQuery::new("matrix", Some(1999)).unwrap();
        let hits = c.search(&q, PageRequest::first()).await.unwrap();
        assert_eq!(hits.items.iter().map(|m| m.id.get()).collect::<Vec<_>>(), vec![603]);
        let none = c.search(&SearchQuery::new("matrix", Some(2005)).unwrap(), PageRequest::first()).await.unwrap();
        assert_eq!(none.total_items, 0);
        let by_original = c.search(&SearchQuery::new("千と千尋", None).unwrap(), PageRequest::first()).await.unwrap();
        assert_eq!(by_original.items[0].id.get(), 129);

        let p = c.popular(PageRequest::new(Some(2), Some(50)).unwrap()).await.unwrap();
        assert_eq!((p.items.len(), p.total_items, p.total_pages), (50, c.len() as u64, 3));
        assert!(p.items[0].popularity > p.items[49].popularity);
    }
}
