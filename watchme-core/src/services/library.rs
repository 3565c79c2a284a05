//! A user's view history, favorites and library entries.
//!
//! Page views are the one write every page opening makes, so they take
//! their own path: a logged-in user's view goes through a group-commit
//! writer (many requests' views and events in one transaction, each request
//! answered after the commit that holds its view), and anonymous views,
//! which are analytics and nobody's data, are counted in memory and written
//! as `movie_views_counted` events every `anonymous_flush` (and on
//! shutdown), so the page never waits for storage. Tests:
//! `watchme-adapters/tests/services_library.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{
    hour_bucket, EventEnvelope, EventMeta, EventPayload, Favorite, LibraryEntry, LibraryUpdate, MovieDetails, MovieId,
    MovieRef, Page, PageRequest, RequestContext, UserId, View, WatchStatus,
};
use crate::error::{Cause, StorageError};
use crate::ports::{Clock, LibraryRepo};

use super::group_commit::{BatchWriter, GroupCommit, GroupCommitConfig};
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

/// How page views are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewRecording {
    /// How the views of logged-in users are gathered into transactions.
    pub group_commit: GroupCommitConfig,
    /// How long anonymous views are counted in memory before they are
    /// written: the most a crash can lose. Zero writes each one (through
    /// the group commit) before its page is answered.
    pub anonymous_flush: Duration,
    /// Most anonymous views counted in memory: the request that reaches it
    /// writes them before it is answered. The most a crash can lose.
    pub anonymous_max: u64,
}

impl Default for ViewRecording {
    fn default() -> Self {
        Self {
            group_commit: GroupCommitConfig::default(),
            anonymous_flush: Duration::from_secs(1),
            anonymous_max: 10_000,
        }
    }
}

/// One page opening on its way to storage: a logged-in user's view with
/// its event, or (anonymous) events only.
struct ViewWrite {
    view: Option<View>,
    events: Vec<EventEnvelope>,
}

/// Writes a batch of views and their events in one transaction.
struct ViewWriter(Arc<dyn LibraryRepo>);

#[async_trait]
impl BatchWriter<ViewWrite> for ViewWriter {
    async fn write(&self, batch: &[ViewWrite]) -> Result<(), StorageError> {
        let views: Vec<View> = batch.iter().filter_map(|w| w.view.clone()).collect();
        let events: Vec<EventEnvelope> = batch.iter().flat_map(|w| w.events.iter().cloned()).collect();
        self.0.record_views(&views, &events).await
    }
}

/// Anonymous views counted in memory, per movie and hour bucket.
#[derive(Default)]
struct AnonymousViews {
    counts: HashMap<(MovieId, i64), Counted, foldhash::fast::RandomState>,
    total: u64,
}

/// Views of one movie in one hour: the title, how many, and the last one's time.
struct Counted {
    title: String,
    views: u64,
    last: OffsetDateTime,
}

impl AnonymousViews {
    fn add(&mut self, movie: MovieId, title: &str, views: u64, at: OffsetDateTime) {
        let c = self.counts.entry((movie, hour_bucket(at))).or_insert_with(|| Counted {
            title: title.to_owned(),
            views: 0,
            last: at,
        });
        c.views += views;
        c.last = c.last.max(at);
        self.total += views;
    }
}

/// View history, favorites and library entries.
pub struct LibraryService {
    repo: Arc<dyn LibraryRepo>,
    movies: Arc<MovieService>,
    clock: Arc<dyn Clock>,
    views: GroupCommit<ViewWrite>,
    recording: ViewRecording,
    anonymous: Mutex<AnonymousViews>,
}

impl LibraryService {
    /// Builds the service with the default [`ViewRecording`]; `movies`
    /// resolves titles and checks that movies exist. Starts the view
    /// writer's task on the current tokio runtime.
    pub fn new(repo: Arc<dyn LibraryRepo>, movies: Arc<MovieService>, clock: Arc<dyn Clock>) -> Self {
        Self::with_recording(repo, movies, clock, ViewRecording::default())
    }

    /// [`LibraryService::new`] with views written as `recording` says.
    pub fn with_recording(
        repo: Arc<dyn LibraryRepo>,
        movies: Arc<MovieService>,
        clock: Arc<dyn Clock>,
        recording: ViewRecording,
    ) -> Self {
        let views = GroupCommit::start(Arc::new(ViewWriter(repo.clone())), recording.group_commit);
        Self { repo, movies, clock, views, recording, anonymous: Mutex::default() }
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

    /// Records that the caller opened a movie page. A logged-in user's view
    /// and its `movie_viewed` event are durable when this returns (written
    /// in the next group commit). An anonymous view is counted in memory
    /// and written within [`ViewRecording::anonymous_flush`], unless that is
    /// zero (then it is durable when this returns, as a `movie_viewed` event).
    ///
    /// # Errors
    /// [`LibraryError::Storage`] when the view could not be stored.
    pub async fn record_view(&self, ctx: &RequestContext, movie: &MovieDetails) -> Result<(), LibraryError> {
        let now = self.clock.now();
        if ctx.user_id.is_none() && !self.recording.anonymous_flush.is_zero() {
            let full = {
                let mut counted = self.anonymous.lock().unwrap_or_else(|p| p.into_inner());
                counted.add(movie.id, &movie.title, 1, now);
                counted.total >= self.recording.anonymous_max
            };
            if full {
                self.flush_anonymous_views().await?;
            }
            return Ok(());
        }
        let meta = EventMeta { actor: ctx.user_id, trace: ctx.trace.clone(), occurred_at: now };
        let event = EventEnvelope::with_meta(
            EventPayload::MovieViewed { movie_id: movie.id, title: movie.title.clone(), user_id: ctx.user_id },
            meta,
        );
        let view = ctx.user_id.map(|user_id| View {
            user_id,
            movie: MovieRef { id: movie.id, title: movie.title.clone() },
            viewed_at: now,
        });
        self.views.submit(ViewWrite { view, events: vec![event] }).await?;
        Ok(())
    }

    /// Writes the anonymous views counted so far as `movie_views_counted`
    /// events (one per movie and hour), through the group commit. On
    /// failure the counts are kept for the next try.
    ///
    /// # Errors
    /// [`StorageError`] when they could not be written.
    pub async fn flush_anonymous_views(&self) -> Result<u64, StorageError> {
        let taken = std::mem::take(&mut *self.anonymous.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.total == 0 {
            return Ok(0);
        }
        let events = taken
            .counts
            .iter()
            .map(|(&(movie_id, _), c)| {
                let payload = EventPayload::MovieViewsCounted { movie_id, title: c.title.clone(), views: c.views };
                EventEnvelope::with_meta(payload, EventMeta { actor: None, trace: None, occurred_at: c.last })
            })
            .collect();
        match self.views.submit(ViewWrite { view: None, events }).await {
            Ok(()) => Ok(taken.total),
            Err(e) => {
                let mut counted = self.anonymous.lock().unwrap_or_else(|p| p.into_inner());
                for ((movie, _), c) in taken.counts {
                    counted.add(movie, &c.title, c.views, c.last);
                }
                Err(e)
            }
        }
    }

    /// Writes the counted anonymous views every
    /// [`ViewRecording::anonymous_flush`] until `shutdown` completes, then
    /// once more (retrying for up to 10 s while storage fails), so a
    /// graceful stop loses none. Returns at once when they are not counted.
    pub async fn run_view_flusher(&self, shutdown: impl std::future::Future<Output = ()>) {
        let every = self.recording.anonymous_flush;
        if every.is_zero() {
            return;
        }
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(every) => {}
            }
            if let Err(e) = self.flush_anonymous_views().await {
                tracing::warn!(error = %e, "could not write the counted anonymous views; kept for the next try");
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while let Err(e) = self.flush_anonymous_views().await {
            if tokio::time::Instant::now() >= deadline {
                tracing::error!(error = %e, "could not write the counted anonymous views at shutdown; they are lost");
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
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

    /// Clears a field of the caller's entry for `movie` (an update made by
    /// [`LibraryUpdate::clear_rating`] or [`LibraryUpdate::clear_status_if`]);
    /// an entry left with neither status nor rating is removed. Returns
    /// whether anything changed. No movie lookup: an absent entry is no change.
    ///
    /// # Errors
    /// As [`LibraryService::views`].
    pub async fn clear(
        &self,
        ctx: &RequestContext,
        movie: MovieId,
        update: LibraryUpdate,
    ) -> Result<bool, LibraryError> {
        let user_id = Self::user(ctx)?;
        let Some(before) = self.repo.entry(user_id, movie).await? else {
            return Ok(false);
        };
        let after = update.apply(Some(&before), user_id, &before.movie, before.updated_at);
        if (after.status, after.rating) == (before.status, before.rating) {
            return Ok(false);
        }
        let change = if after.status.is_none() && after.rating.is_none() {
            self.repo.remove_entry(user_id, movie, &self.meta(ctx)).await?
        } else {
            self.repo.upsert_entry(user_id, &before.movie, update, &self.meta(ctx)).await?
        };
        Ok(change.before != change.after)
    }

    /// The caller's entry for `movie`, if any.
    ///
    /// # Errors
    /// As [`LibraryService::views`].
    pub async fn entry(&self, ctx: &RequestContext, movie: MovieId) -> Result<Option<LibraryEntry>, LibraryError> {
        Ok(self.repo.entry(Self::user(ctx)?, movie).await?)
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
