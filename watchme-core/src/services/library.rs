//! A user's view history, favorites and library entries.

use std::sync::Arc;

use crate::domain::{
    EventEnvelope, EventMeta, EventPayload, Favorite, LibraryEntry, LibraryUpdate, MovieDetails, MovieId, MovieRef,
    Page, PageRequest, RequestContext, UserId, View, WatchStatus,
};
use crate::error::{Cause, StorageError};
use crate::ports::{Clock, LibraryRepo, Outbox};

use super::{MovieError, MovieService};

/// Why a library use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LibraryError {
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// The movie does not exist.
    #[error("movie not found")]
    MovieNotFound,
    /// The movie could not be looked up (source down, nothing cached).
    #[error("movie source unavailable")]
    MovieSourceUnavailable(#[source] Cause),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<MovieError> for LibraryError {
    fn from(e: MovieError) -> Self {
        match e {
            MovieError::NotFound => Self::MovieNotFound,
            MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c) => {
                Self::MovieSourceUnavailable(c)
            }
        }
    }
}

/// View history, favorites and library entries.
pub struct LibraryService {
    repo: Arc<dyn LibraryRepo>,
    outbox: Arc<dyn Outbox>,
    movies: Arc<MovieService>,
    clock: Arc<dyn Clock>,
}

impl LibraryService {
    /// Builds the service; `movies` resolves titles and checks that movies exist.
    pub fn new(
        repo: Arc<dyn LibraryRepo>,
        outbox: Arc<dyn Outbox>,
        movies: Arc<MovieService>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { repo, outbox, movies, clock }
    }

    fn meta(&self, ctx: &RequestContext) -> EventMeta {
        EventMeta { actor: ctx.user_id, trace: ctx.trace.clone(), occurred_at: self.clock.now() }
    }

    fn user(ctx: &RequestContext) -> Result<UserId, LibraryError> {
        ctx.user_id.ok_or(LibraryError::Unauthenticated)
    }

    async fn movie_ref(&self, id: MovieId) -> Result<MovieRef, LibraryError> {
        let details = self.movies.details(id).await?;
        Ok(MovieRef { id, title: details.value.title })
    }

    /// Records that the caller opened a movie page: into the user's history
    /// when logged in, and as a `MovieViewed` event either way.
    ///
    /// # Errors
    /// [`LibraryError::Storage`] when the view could not be stored.
    pub async fn record_view(&self, ctx: &RequestContext, movie: &MovieDetails) -> Result<(), LibraryError> {
        let meta = self.meta(ctx);
        let viewed_at = meta.occurred_at;
        let event = EventEnvelope::with_meta(
            EventPayload::MovieViewed { movie_id: movie.id, title: movie.title.clone(), user_id: ctx.user_id },
            meta,
        );
        match ctx.user_id {
            Some(user_id) => {
                let movie_ref = MovieRef { id: movie.id, title: movie.title.clone() };
                let view = View { user_id, movie: movie_ref, viewed_at };
                self.repo.record_view(&view, &[event]).await?;
            }
            None => self.outbox.append_owned(vec![event]).await?,
        }
        Ok(())
    }

    /// The caller's views, newest first.
    ///
    /// # Errors
    /// [`LibraryError::Unauthenticated`] or [`LibraryError::Storage`].
    pub async fn views(&self, ctx: &RequestContext, page: PageRequest) -> Result<Page<View>, LibraryError> {
        Ok(self.repo.views(Self::user(ctx)?, page).await?)
    }

    /// Marks a movie as favorite; returns whether it was newly added.
    ///
    /// # Errors
    /// [`LibraryError::MovieNotFound`] for an unknown movie, else as [`LibraryService::views`].
    pub async fn add_favorite(&self, ctx: &RequestContext, movie: MovieId) -> Result<(Favorite, bool), LibraryError> {
        let user_id = Self::user(ctx)?;
        let movie = self.movie_ref(movie).await?;
        let meta = self.meta(ctx);
        let favorite = Favorite { user_id, movie: movie.clone(), added_at: meta.occurred_at };
        let event =
            EventEnvelope::new(EventPayload::FavoriteAdded { user_id, movie_id: movie.id, title: movie.title }, &meta);
        let added = self.repo.add_favorite(&favorite, &event).await?;
        Ok((favorite, added))
    }

    /// Un-marks a favorite; returns whether it was one.
    ///
    /// # Errors
    /// As [`LibraryService::views`].
    pub async fn remove_favorite(&self, ctx: &RequestContext, movie: MovieId) -> Result<bool, LibraryError> {
        let user_id = Self::user(ctx)?;
        let event = EventEnvelope::new(EventPayload::FavoriteRemoved { user_id, movie_id: movie }, &self.meta(ctx));
        Ok(self.repo.remove_favorite(user_id, movie, &event).await?)
    }

    /// The caller's favorites, newest first.
    ///
    /// # Errors
    /// As [`LibraryService::views`].
    pub async fn favorites(&self, ctx: &RequestContext, page: PageRequest) -> Result<Page<Favorite>, LibraryError> {
        Ok(self.repo.favorites(Self::user(ctx)?, page).await?)
    }

    /// Sets the status and/or rating of a movie in the caller's library.
    ///
    /// # Errors
    /// [`LibraryError::MovieNotFound`] for an unknown movie, else as [`LibraryService::views`].
    pub async fn update_entry(
        &self,
        ctx: &RequestContext,
        movie: MovieId,
        update: LibraryUpdate,
    ) -> Result<LibraryEntry, LibraryError> {
        let user_id = Self::user(ctx)?;
        let movie = self.movie_ref(movie).await?;
        let change = self.repo.upsert_entry(user_id, &movie, update, &self.meta(ctx)).await?;
        change.after.ok_or_else(|| {
            LibraryError::Storage(StorageError::Internal(crate::error::cause_msg("upsert returned no entry")))
        })
    }

    /// Removes a movie from the caller's library; returns whether it was there.
    ///
    /// # Errors
    /// As [`LibraryService::views`].
    pub async fn remove_entry(&self, ctx: &RequestContext, movie: MovieId) -> Result<bool, LibraryError> {
        let user_id = Self::user(ctx)?;
        let change = self.repo.remove_entry(user_id, movie, &self.meta(ctx)).await?;
        Ok(change.before.is_some())
    }

    /// The caller's library, optionally filtered by status, most recently updated first.
    ///
    /// # Errors
    /// As [`LibraryService::views`].
    pub async fn entries(
        &self,
        ctx: &RequestContext,
        status: Option<WatchStatus>,
        page: PageRequest,
    ) -> Result<Page<LibraryEntry>, LibraryError> {
        Ok(self.repo.entries(Self::user(ctx)?, status, page).await?)
    }
}
