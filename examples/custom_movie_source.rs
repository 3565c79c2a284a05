//! Writing your own adapter: a `MovieSource` over your own data, used by
//! the core's `MovieService` (with its cache and stampede protection) like
//! any built-in source.
//!
//! Run with `cargo run --example custom_movie_source`.

use std::sync::Arc;

use async_trait::async_trait;
use watchme_adapters::memory::MemoryCache;
use watchme_core::domain::{ImdbId, MovieDetails, MovieId, MovieSummary, Page, PageRequest, SearchQuery};
use watchme_core::error::MovieSourceError;
use watchme_core::ports::{MovieSource, SystemClock};
use watchme_core::services::{MoviePolicy, MovieService};

/// A tiny in-house catalog: a film club's own programme.
struct FilmClub {
    movies: Vec<MovieDetails>,
}

impl FilmClub {
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let movie = |id: i64, title: &str, runtime: u32| -> Result<MovieDetails, Box<dyn std::error::Error>> {
            Ok(MovieDetails {
                id: MovieId::new(id)?,
                title: title.into(),
                original_title: None,
                original_language: Some("en".into()),
                overview: format!("{title}, as screened at the club."),
                tagline: None,
                release_date: None,
                runtime: Some(runtime),
                genres: vec![],
                poster_url: None,
                backdrop_url: None,
                vote_average: 0.0,
                vote_count: 0,
                popularity: 0.0,
                imdb_id: None,
                cast: vec![],
                directors: vec![],
            })
        };
        Ok(Self { movies: vec![movie(62, "2001: A Space Odyssey", 149)?, movie(78, "Blade Runner", 117)?] })
    }

    fn summary(m: &MovieDetails) -> MovieSummary {
        MovieSummary {
            id: m.id,
            title: m.title.clone(),
            original_title: None,
            overview: m.overview.clone(),
            release_date: m.release_date,
            genre_ids: vec![],
            poster_url: None,
            backdrop_url: None,
            vote_average: 0.0,
            vote_count: 0,
            popularity: 0.0,
        }
    }
}

#[async_trait]
impl MovieSource for FilmClub {
    async fn popular(&self, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        Ok(page.slice(&self.movies.iter().map(Self::summary).collect::<Vec<_>>()))
    }

    async fn search(&self, query: &SearchQuery, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        let needle = query.text().to_lowercase();
        let hits: Vec<_> =
            self.movies.iter().filter(|m| m.title.to_lowercase().contains(&needle)).map(Self::summary).collect();
        Ok(page.slice(&hits))
    }

    async fn details(&self, id: MovieId) -> Result<MovieDetails, MovieSourceError> {
        // The contract: an unknown id is NotFound, not an empty movie.
        self.movies.iter().find(|m| m.id == id).cloned().ok_or(MovieSourceError::NotFound)
    }

    async fn find_by_imdb(&self, imdb: &ImdbId) -> Result<MovieId, MovieSourceError> {
        // Movies without an IMDb id are simply not found by one.
        let named = |m: &&MovieDetails| m.imdb_id.as_deref() == Some(imdb.as_str());
        self.movies.iter().find(named).map(|m| m.id).ok_or(MovieSourceError::NotFound)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = MovieService::new(
        Arc::new(FilmClub::new()?),
        Arc::new(MemoryCache::default()),
        Arc::new(SystemClock),
        MoviePolicy::default(),
    );
    let first = service.details(MovieId::new(78)?).await?;
    let again = service.details(MovieId::new(78)?).await?;
    println!(
        "{} ({} min): first {}, then {}",
        first.value.title,
        first.value.runtime.unwrap_or(0),
        first.cache.as_str(),
        again.cache.as_str()
    );
    let found = service.search(&SearchQuery::new("odyssey", None)?, PageRequest::first()).await?;
    println!("search 'odyssey': {:?}", found.value.items.iter().map(|m| &m.title).collect::<Vec<_>>());
    match service.details(MovieId::new(1)?).await {
        Err(e) => println!("unknown id: {e}"),
        Ok(_) => println!("unexpected"),
    }
    Ok(())
}
