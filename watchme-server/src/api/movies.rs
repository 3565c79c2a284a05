//! `GET /movies/popular`, `/movies/search`, `/movies/{id}`, `/movies/views`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, OpenApi};
use watchme_core::domain::{MovieDetails, MovieId, SearchQuery, SearchQueryError};
use watchme_core::services::Fetched;

use super::dto::{MovieDetailsDto, MovieSummaryDto, ViewDto};
use super::extract::{BearerAuth, MaybeAuth};
use super::paging::{page_request, PageResponse};
use super::payload::{EncodedJson, SerdeJson, WithCacheStatus};
use super::query::Query;
use super::schema::{Int, MovieIdParam, NonBlank, PageNo, PerPage};
use super::tags::Tag;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(ApiResponse)]
enum MovieResponse {
    /// The movie.
    #[oai(
        status = 200,
        header(
            name = "X-Cache",
            ty = "String",
            description = "HIT (fresh from cache), MISS (fetched now) or STALE (cached copy served because the source failed)."
        )
    )]
    Ok(WithCacheStatus<EncodedJson<MovieDetailsDto>>),
}

/// Browsing movies.
pub struct MoviesApi {
    state: Arc<AppState>,
    bodies: DetailsBodies,
}

impl MoviesApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state, bodies: DetailsBodies::default() }
    }
}

/// Most movie ids whose encoded page is kept.
const MAX_BODIES: usize = 4096;

/// Encoded movie pages, each kept with the version of the details it was
/// encoded from. `MovieService::details_shared` hands out the same version
/// for as long as the cache holds the same bytes, so a body is reused only
/// while its details are exactly what the cache serves: a refresh or an
/// invalidation gives a new version, and the page is encoded again.
#[derive(Default)]
struct DetailsBodies(RwLock<HashMap<MovieId, EncodedPage, foldhash::quality::RandomState>>);

/// The version of the details a page was encoded from, and the page.
type EncodedPage = (u64, EncodedJson<MovieDetailsDto>);

impl DetailsBodies {
    fn body(&self, details: &Fetched<Arc<MovieDetails>>) -> Result<EncodedJson<MovieDetailsDto>, ApiError> {
        let id = details.value.id;
        if let Some((version, body)) = self.0.read().ok().as_ref().and_then(|m| m.get(&id)) {
            if *version == details.version {
                return Ok(body.clone());
            }
        }
        let body = SerdeJson(MovieDetailsDto::from(MovieDetails::clone(&details.value)))
            .encode()
            .map_err(|_| ApiError::internal_opaque())?;
        if let Ok(mut m) = self.0.write() {
            // Bounded: over the limit, start afresh (hot movies come back at once).
            if m.len() >= MAX_BODIES {
                m.clear();
            }
            m.insert(id, (details.version, body.clone()));
        }
        Ok(body)
    }
}

#[OpenApi(tag = "Tag::Movies")]
impl MoviesApi {
    /// Popular movies, most popular first.
    #[oai(path = "/movies/popular", method = "get", operation_id = "popular_movies")]
    async fn popular(
        &self,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<MovieSummaryDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let f = self.state.movies.popular(req).await?;
        Ok(PageResponse::from_page(f.value, Into::into, Some(f.cache.as_str())))
    }

    /// Search movies by title, optionally by release year.
    #[oai(path = "/movies/search", method = "get", operation_id = "search_movies")]
    async fn search(
        &self,
        /// Words of the title (1 to 200 characters, not all blank).
        query: Query<NonBlank<{ SearchQuery::MAX_LEN }>>,
        /// Release year (1870 to 2100).
        year: Query<Option<Int<{ SearchQuery::MIN_YEAR }, { SearchQuery::MAX_YEAR }>>>,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<MovieSummaryDto>, ApiError> {
        let year = year.0.map(|y| i32::try_from(y.0).unwrap_or(i32::MAX));
        let q = SearchQuery::new(&query.0 .0, year).map_err(|e| match e {
            SearchQueryError::BadYear => ApiError::invalid_field("year", e),
            _ => ApiError::invalid_field("query", e),
        })?;
        let req = page_request(page.0, per_page.0)?;
        let f = self.state.movies.search(&q, req).await?;
        Ok(PageResponse::from_page(f.value, Into::into, Some(f.cache.as_str())))
    }

    /// The caller's view history, newest first.
    #[oai(path = "/movies/views", method = "get", operation_id = "my_views")]
    async fn views(
        &self,
        auth: BearerAuth,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<ViewDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let views = self.state.library.views(&auth.0.ctx(), req).await?;
        Ok(PageResponse::from_page(views, Into::into, None))
    }

    /// One movie's details. With a bearer token the view is recorded in the
    /// caller's history; anonymous views count in analytics only.
    #[oai(path = "/movies/:id", method = "get", operation_id = "movie_details")]
    async fn details(
        &self,
        auth: MaybeAuth,
        /// TMDb movie id (a positive integer).
        id: Path<MovieIdParam>,
    ) -> Result<MovieResponse, ApiError> {
        let id = id.0.get("id")?;
        let f = self.state.movies.details_shared(id).await?;
        self.state.library.record_view(&auth.ctx(), &f.value).await?;
        Ok(MovieResponse::Ok(WithCacheStatus(self.bodies.body(&f)?, f.cache)))
    }
}
