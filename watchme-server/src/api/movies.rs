//! `GET /movies/popular`, `/movies/search`, `/movies/{id}`, `/movies/views`.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, OpenApi};
use watchme_core::domain::{MovieId, SearchQuery, SearchQueryError};

use super::dto::{MovieDetailsDto, MovieSummaryDto, ViewDto};
use super::error::ApiError;
use super::extract::{BearerAuth, MaybeAuth};
use super::paging::{page_request, PageResponse};
use super::payload::SerdeJson;
use super::Tag;
use crate::app::AppState;

#[derive(ApiResponse)]
enum MovieResponse {
    /// The movie.
    #[oai(status = 200)]
    Ok(
        SerdeJson<MovieDetailsDto>,
        /// HIT (fresh from cache), MISS (fetched now) or STALE (cached copy served because the source failed).
        #[oai(header = "X-Cache")]
        String,
    ),
}

/// Browsing movies.
pub struct MoviesApi {
    state: Arc<AppState>,
}

impl MoviesApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// Validates a movie id path parameter. Path ids are taken as strings and
/// parsed here so a bad id is a 400 naming the parameter (poem-openapi
/// names path parameters by position in its own errors).
pub fn movie_id(field: &str, raw: &str) -> Result<MovieId, ApiError> {
    raw.parse::<MovieId>().map_err(|e| ApiError::invalid_field(field, e))
}

#[OpenApi(tag = "Tag::Movies")]
impl MoviesApi {
    /// Popular movies, most popular first.
    #[oai(path = "/movies/popular", method = "get")]
    async fn popular(
        &self,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> Result<PageResponse<MovieSummaryDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let f = self.state.movies.popular(req).await?;
        Ok(PageResponse::from_page(f.value, Into::into, Some(f.cache.as_str())))
    }

    /// Search movies by title, optionally by release year.
    #[oai(path = "/movies/search", method = "get")]
    async fn search(
        &self,
        /// Words of the title (1 to 200 characters).
        query: Query<String>,
        /// Release year (1870 to 2100).
        year: Query<Option<i32>>,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> Result<PageResponse<MovieSummaryDto>, ApiError> {
        let q = SearchQuery::new(&query.0, year.0).map_err(|e| match e {
            SearchQueryError::BadYear => ApiError::invalid_field("year", e),
            _ => ApiError::invalid_field("query", e),
        })?;
        let req = page_request(page.0, per_page.0)?;
        let f = self.state.movies.search(&q, req).await?;
        Ok(PageResponse::from_page(f.value, Into::into, Some(f.cache.as_str())))
    }

    /// The caller's view history, newest first.
    #[oai(path = "/movies/views", method = "get")]
    async fn views(
        &self,
        auth: BearerAuth,
        page: Query<Option<i64>>,
        per_page: Query<Option<i64>>,
    ) -> Result<PageResponse<ViewDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let views = self.state.library.views(&auth.0.ctx(), req).await?;
        Ok(PageResponse::from_page(views, Into::into, None))
    }

    /// One movie's details. With a bearer token the view is recorded in the
    /// caller's history; anonymous views count in analytics only.
    #[oai(path = "/movies/:id", method = "get")]
    async fn details(
        &self,
        auth: MaybeAuth,
        /// TMDb movie id (a positive integer).
        id: Path<String>,
    ) -> Result<MovieResponse, ApiError> {
        let id = movie_id("id", &id.0)?;
        let f = self.state.movies.details(id).await?;
        self.state.library.record_view(&auth.ctx(), &f.value).await?;
        Ok(MovieResponse::Ok(SerdeJson(f.value.into()), f.cache.as_str().into()))
    }
}
