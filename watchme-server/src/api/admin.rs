//! Operator endpoints: `DELETE /admin/cache/movies/{id}`, `DELETE /admin/cache`.
//! Every route checks the admin role (granted by WATCHME_ADMIN_EMAILS).

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::extract::BearerAuth;
use super::schema::MovieIdParam;
use super::tags::Tag;
use crate::error::ApiError;
use crate::state::AppState;

/// How many cache entries an invalidation removed.
#[derive(Debug, Object)]
pub struct Invalidated {
    /// Entries removed.
    pub removed: u64,
}

#[derive(ApiResponse)]
enum MovieInvalidated {
    /// The movie's cached details are gone; the next request refetches them.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum AllInvalidated {
    /// Every cached movie value (details, popular pages, searches) is gone.
    #[oai(status = 200)]
    Ok(Json<Invalidated>),
}

/// Operator endpoints.
pub struct AdminApi {
    state: Arc<AppState>,
}

impl AdminApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

fn cache_down(e: watchme_core::error::CacheError) -> ApiError {
    ApiError::unavailable("cache", &e)
}

#[OpenApi(tag = "Tag::Admin")]
impl AdminApi {
    /// Drop one movie's cached details (admins only).
    #[oai(path = "/admin/cache/movies/:id", method = "delete", operation_id = "invalidate_movie")]
    async fn invalidate_movie(
        &self,
        auth: BearerAuth,
        /// TMDb movie id (a positive integer).
        id: Path<MovieIdParam>,
    ) -> Result<MovieInvalidated, ApiError> {
        auth.0.require_admin()?;
        let id = id.0.get("id")?;
        self.state.movies.invalidate(id).await.map_err(cache_down)?;
        tracing::info!(movie_id = %id, "movie cache entry invalidated by an admin");
        Ok(MovieInvalidated::NoContent)
    }

    /// Drop every cached movie value (admins only).
    #[oai(path = "/admin/cache", method = "delete", operation_id = "invalidate_cache")]
    async fn invalidate_all(&self, auth: BearerAuth) -> Result<AllInvalidated, ApiError> {
        auth.0.require_admin()?;
        let removed = self.state.movies.invalidate_all().await.map_err(cache_down)?;
        tracing::info!(removed, "movie cache invalidated by an admin");
        Ok(AllInvalidated::Ok(Json(Invalidated { removed })))
    }
}
