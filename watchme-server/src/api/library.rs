//! The caller's favorites and library: `/me/favorites`, `/me/library`.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use watchme_core::domain::{LibraryUpdate, Rating};

use super::dto::{FavoriteDto, LibraryEntryDto, WatchStatusDto};
use super::extract::{non_null, BearerAuth, JsonBody};
use super::paging::{page_request, PageResponse};
use super::query::Query;
use super::schema::{MovieIdParam, PageNo, PerPage};
use super::tags::Tag;
use crate::error::ApiError;
use crate::state::AppState;

/// A change to a library entry: a status, a rating, or both (at least one).
#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryUpdateRequest {
    /// New watch status (leave it out to keep the current one).
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<WatchStatusDto>,
    /// New rating, 1 to 10 (leave it out to keep the current one).
    #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
    #[serde(default, deserialize_with = "non_null")]
    pub rating: Option<i64>,
}

#[derive(ApiResponse)]
enum FavoriteResponse {
    /// Already a favorite; nothing changed.
    #[oai(status = 200)]
    Ok(Json<FavoriteDto>),
    /// Added.
    #[oai(status = 201)]
    Created(Json<FavoriteDto>),
}

#[derive(ApiResponse)]
enum EntryResponse {
    /// The entry after the change.
    #[oai(status = 200)]
    Ok(Json<LibraryEntryDto>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// Gone (or was never there: deleting is idempotent).
    #[oai(status = 204)]
    NoContent,
}

/// Favorites and library.
pub struct LibraryApi {
    state: Arc<AppState>,
}

impl LibraryApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[OpenApi(tag = "Tag::Library")]
impl LibraryApi {
    /// The caller's favorites, most recently added first.
    #[oai(path = "/me/favorites", method = "get", operation_id = "my_favorites")]
    async fn favorites(
        &self,
        auth: BearerAuth,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<FavoriteDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let p = self.state.library.favorites(&auth.0.ctx(), req).await?;
        Ok(PageResponse::from_page(p, Into::into, None))
    }

    /// Mark a movie as favorite (idempotent).
    #[oai(path = "/me/favorites/:movie_id", method = "put", operation_id = "add_favorite")]
    async fn add_favorite(&self, auth: BearerAuth, movie_id: Path<MovieIdParam>) -> Result<FavoriteResponse, ApiError> {
        let id = movie_id.0.get("movie_id")?;
        let (fav, added) = self.state.library.add_favorite(&auth.0.ctx(), id).await?;
        Ok(if added { FavoriteResponse::Created(Json(fav.into())) } else { FavoriteResponse::Ok(Json(fav.into())) })
    }

    /// Un-mark a favorite (idempotent).
    #[oai(path = "/me/favorites/:movie_id", method = "delete", operation_id = "remove_favorite")]
    async fn remove_favorite(&self, auth: BearerAuth, movie_id: Path<MovieIdParam>) -> Result<Deleted, ApiError> {
        let id = movie_id.0.get("movie_id")?;
        self.state.library.remove_favorite(&auth.0.ctx(), id).await?;
        Ok(Deleted::NoContent)
    }

    /// The caller's library, optionally only one status, most recently updated first.
    #[oai(path = "/me/library", method = "get", operation_id = "my_library")]
    async fn library(
        &self,
        auth: BearerAuth,
        /// Only entries with this status.
        status: Query<Option<WatchStatusDto>>,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<LibraryEntryDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let p = self.state.library.entries(&auth.0.ctx(), status.0.map(Into::into), req).await?;
        Ok(PageResponse::from_page(p, Into::into, None))
    }

    /// Set the status and/or rating of a movie in the caller's library.
    #[oai(path = "/me/library/:movie_id", method = "put", operation_id = "update_library_entry")]
    async fn update_entry(
        &self,
        auth: BearerAuth,
        movie_id: Path<MovieIdParam>,
        body: JsonBody<LibraryUpdateRequest>,
    ) -> Result<EntryResponse, ApiError> {
        let id = movie_id.0.get("movie_id")?;
        let rating = body.0.rating.map(Rating::new).transpose().map_err(|e| ApiError::invalid_field("rating", e))?;
        let update = LibraryUpdate::new(body.0.status.map(Into::into), rating)
            .map_err(|e| ApiError::invalid_field("status", e))?;
        let entry = self.state.library.update_entry(&auth.0.ctx(), id, update).await?;
        Ok(EntryResponse::Ok(Json(entry.into())))
    }

    /// Remove a movie from the caller's library (idempotent).
    #[oai(path = "/me/library/:movie_id", method = "delete", operation_id = "remove_library_entry")]
    async fn remove_entry(&self, auth: BearerAuth, movie_id: Path<MovieIdParam>) -> Result<Deleted, ApiError> {
        let id = movie_id.0.get("movie_id")?;
        self.state.library.remove_entry(&auth.0.ctx(), id).await?;
        Ok(Deleted::NoContent)
    }
}
