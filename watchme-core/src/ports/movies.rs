//! The movie-source port: popular lists, search and details. Adapters:
//! TMDb and the bundled catalog; contract in `watchme_adapters::contract::movies`.

use async_trait::async_trait;

use crate::domain::{ImdbId, MovieDetails, MovieId, MovieSummary, Page, PageRequest, SearchQuery};
use crate::error::MovieSourceError;

/// Where movie data comes from (TMDb, the bundled catalog, your own).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MovieSource: Send + Sync + 'static {
    /// Movies by popularity, most popular first.
    ///
    /// # Errors
    /// - [`MovieSourceError::Unavailable`] when the source fails or times out.
    /// - [`MovieSourceError::Misconfigured`] when it refuses our credentials.
    async fn popular(&self, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError>;

    /// Movies matching a search, best match first. No match is an empty page.
    ///
    /// # Errors
    /// As [`MovieSource::popular`].
    async fn search(&self, query: &SearchQuery, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError>;

    /// One movie's details.
    ///
    /// # Errors
    /// - [`MovieSourceError::NotFound`] when the source has no such movie.
    /// - Otherwise as [`MovieSource::popular`].
    async fn details(&self, id: MovieId) -> Result<MovieDetails, MovieSourceError>;

    /// The movie an IMDb id names (how other trackers' exports and media
    /// servers name movies).
    ///
    /// # Errors
    /// - [`MovieSourceError::NotFound`] when the source knows no movie by
    ///   that id (a source without IMDb ids knows none).
    /// - Otherwise as [`MovieSource::popular`].
    async fn find_by_imdb(&self, imdb: &ImdbId) -> Result<MovieId, MovieSourceError>;
}
