//! Scrobbling and check-ins: a player reports start, pause and stop with
//! its progress; a stop past the threshold records one play (the same
//! movie completed again within the duplicate window is the same play),
//! anything short of it keeps a resumable paused playback. Tests:
//! `watchme-adapters/tests/services_playback.rs`.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::{
    HistoryFilter, MovieCard, MovieId, PageRequest, Play, PlayAction, PlaySource, Playback, PlaybackState, Progress,
    RequestContext, UserId,
};
use crate::error::{Cause, StorageError};
use crate::ports::{Clock, PlaybackRepo};

use super::{HistoryError, HistoryService, MovieError, MovieService, PlayRequest};

/// How scrobbles become plays.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrobbleSettings {
    /// Progress (percent) at which a stop counts as watched.
    pub threshold: f64,
    /// A completion of the same movie within this long after a play is that play again.
    pub duplicate_window: Duration,
    /// How long a start counts as "watching now" when the movie's runtime is unknown.
    pub watching_ttl: Duration,
}

impl Default for ScrobbleSettings {
    fn default() -> Self {
        Self {
            threshold: 80.0,
            duplicate_window: Duration::from_secs(3600),
            watching_ttl: Duration::from_secs(3 * 3600),
        }
    }
}

/// What a player reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrobbleEvent {
    /// Playback started or resumed.
    Start,
    /// Playback paused.
    Pause,
    /// Playback stopped (finished when past the threshold).
    Stop,
    /// The player says the movie was watched whatever the progress.
    Complete,
}

/// One report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scrobble {
    /// The movie.
    pub movie: MovieId,
    /// How far in.
    pub progress: Progress,
    /// What happened.
    pub event: ScrobbleEvent,
    /// Who reports it.
    pub source: PlaySource,
    /// When a completion happened, when the reporter says (a script
    /// reporting a film watched earlier); `None` is now.
    pub watched_at: Option<OffsetDateTime>,
}

/// What a report did.
#[derive(Debug, Clone, PartialEq)]
pub enum ScrobbleOutcome {
    /// Playing now.
    Watching(Playback),
    /// Paused (or stopped short): resumable.
    Paused(Playback),
    /// Watched: the play recorded.
    Played(Play),
}

/// Why a scrobble or check-in failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScrobbleError {
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// No such movie.
    #[error("movie not found")]
    MovieNotFound,
    /// The movie was played within the duplicate window (or, for a
    /// check-in, something is being watched): this is that play again.
    #[error("already played; the window closes at {expires_at}")]
    Duplicate {
        /// The play it duplicates, when there is one.
        play: Option<Box<Play>>,
        /// When that play (or check-in) happened.
        watched_at: OffsetDateTime,
        /// When another may be recorded.
        expires_at: OffsetDateTime,
    },
    /// The reported time of a completion is refused (in the future).
    #[error("invalid watched_at: {0}")]
    InvalidTime(String),
    /// The movie source could not say.
    #[error("movie source unavailable")]
    MovieSourceUnavailable(#[source] Cause),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<HistoryError> for ScrobbleError {
    fn from(e: HistoryError) -> Self {
        match e {
            HistoryError::Unauthenticated => Self::Unauthenticated,
            HistoryError::MovieSourceUnavailable(c) => Self::MovieSourceUnavailable(c),
            HistoryError::Storage(s) => Self::Storage(s),
            HistoryError::Invalid(problems) => {
                Self::InvalidTime(problems.into_iter().map(|p| p.message).collect::<Vec<_>>().join("; "))
            }
            other => Self::Storage(StorageError::Internal(crate::error::cause(other))),
        }
    }
}

/// Scrobbles, check-ins and what is playing.
pub struct ScrobbleService {
    repo: Arc<dyn PlaybackRepo>,
    history: Arc<HistoryService>,
    movies: Arc<MovieService>,
    clock: Arc<dyn Clock>,
    settings: ScrobbleSettings,
}

impl ScrobbleService {
    /// Builds the service.
    pub fn new(
        repo: Arc<dyn PlaybackRepo>,
        history: Arc<HistoryService>,
        movies: Arc<MovieService>,
        clock: Arc<dyn Clock>,
        settings: ScrobbleSettings,
    ) -> Self {
        Self { repo, history, movies, clock, settings }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &ScrobbleSettings {
        &self.settings
    }

    fn user(ctx: &RequestContext) -> Result<UserId, ScrobbleError> {
        ctx.user_id.ok_or(ScrobbleError::Unauthenticated)
    }

    fn window(&self) -> time::Duration {
        time::Duration::try_from(self.settings.duplicate_window).unwrap_or(time::Duration::HOUR)
    }

    async fn card(&self, movie: MovieId) -> Result<(MovieCard, Option<u32>), ScrobbleError> {
        match self.movies.details_shared(movie).await {
            Ok(d) => Ok((MovieCard::from(d.value.as_ref()), d.value.runtime)),
            Err(MovieError::NotFound) => Err(ScrobbleError::MovieNotFound),
            Err(MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c)) => {
                Err(ScrobbleError::MovieSourceUnavailable(c))
            }
        }
    }

    /// The caller's latest play of `movie` within the duplicate window
    /// around `at`, if any, however it was recorded: a player that reports
    /// the end of a movie the user just marked watched reports that play again.
    async fn recent_play(
        &self,
        ctx: &RequestContext,
        movie: MovieId,
        at: OffsetDateTime,
    ) -> Result<Option<Play>, ScrobbleError> {
        let window = self.window();
        let filter = HistoryFilter { movie: Some(movie), start_at: Some(at - window), end_at: Some(at + window) };
        let page = self.history.plays(ctx, filter, PageRequest::first()).await?;
        Ok(page.items.into_iter().next())
    }

    fn duplicate(&self, play: Play) -> ScrobbleError {
        let (watched_at, expires_at) = (play.watched_at, play.watched_at + self.window());
        ScrobbleError::Duplicate { play: Some(Box::new(play)), watched_at, expires_at }
    }

    /// Applies one report from a player.
    ///
    /// # Errors
    /// [`ScrobbleError::Duplicate`] for a completion within the window of
    /// the last one; else as the variants say.
    pub async fn scrobble(&self, ctx: &RequestContext, s: Scrobble) -> Result<ScrobbleOutcome, ScrobbleError> {
        let user = Self::user(ctx)?;
        let (movie, runtime) = self.card(s.movie).await?;
        let now = self.clock.now();
        let finished = s.event == ScrobbleEvent::Complete
            || (s.event == ScrobbleEvent::Stop && s.progress.get() >= self.settings.threshold);
        if finished {
            if let Some(play) = self.recent_play(ctx, s.movie, s.watched_at.unwrap_or(now)).await? {
                return Err(self.duplicate(play));
            }
            let request = PlayRequest {
                movie_id: s.movie,
                watched_at: s.watched_at,
                action: PlayAction::Scrobble,
                source: s.source,
            };
            let outcome = self.history.add_plays(ctx, &[request]).await?;
            self.repo.remove_playback(user, s.movie, None).await?;
            let play = outcome.added.into_iter().chain(outcome.existing).next();
            return play.map(ScrobbleOutcome::Played).ok_or(ScrobbleError::MovieNotFound);
        }
        let state = if s.event == ScrobbleEvent::Start { PlaybackState::Watching } else { PlaybackState::Paused };
        let left = runtime.map_or(self.settings.watching_ttl.as_secs_f64(), |m| {
            f64::from(m) * 60.0 * (1.0 - s.progress.get() / 100.0)
        });
        let playback = Playback {
            user_id: user,
            movie,
            progress: s.progress,
            state,
            action: PlayAction::Scrobble,
            source: s.source,
            started_at: now,
            updated_at: now,
            expires_at: now + time::Duration::seconds_f64(left.max(60.0)),
        };
        if state == PlaybackState::Watching {
            self.end_other_watching(user, s.movie, now).await?;
        }
        self.repo.put_playback(&playback).await?;
        Ok(if state == PlaybackState::Watching {
            ScrobbleOutcome::Watching(playback)
        } else {
            ScrobbleOutcome::Paused(playback)
        })
    }

    /// A user watches one thing at a time: starting one pauses the others.
    async fn end_other_watching(&self, user: UserId, movie: MovieId, now: OffsetDateTime) -> Result<(), ScrobbleError> {
        for mut other in self.repo.playbacks(user, Some(PlaybackState::Watching)).await? {
            if other.movie.id != movie {
                other.state = PlaybackState::Paused;
                other.updated_at = now;
                self.repo.put_playback(&other).await?;
            }
        }
        Ok(())
    }

    /// Checks the caller in to `movie`: a play now (action `checkin`) and
    /// "watching" for the movie's runtime.
    ///
    /// # Errors
    /// [`ScrobbleError::Duplicate`] while something else is being watched
    /// (its expiry in `expires_at`); else as the variants say.
    pub async fn check_in(
        &self,
        ctx: &RequestContext,
        movie_id: MovieId,
        source: PlaySource,
    ) -> Result<Play, ScrobbleError> {
        let user = Self::user(ctx)?;
        let now = self.clock.now();
        if let Some(current) = self.watching(ctx).await? {
            return Err(ScrobbleError::Duplicate {
                play: None,
                watched_at: current.started_at,
                expires_at: current.expires_at,
            });
        }
        let (movie, runtime) = self.card(movie_id).await?;
        let request = PlayRequest { movie_id, watched_at: None, action: PlayAction::Checkin, source };
        let outcome = self.history.add_plays(ctx, &[request]).await?;
        let play = outcome.added.into_iter().chain(outcome.existing).next().ok_or(ScrobbleError::MovieNotFound)?;
        let runtime = runtime.map_or(self.settings.watching_ttl, |m| Duration::from_secs(u64::from(m) * 60));
        let playback = Playback {
            user_id: user,
            movie,
            progress: Progress::new(0.0).unwrap_or_else(|_| unreachable!("0 is a progress")),
            state: PlaybackState::Watching,
            action: PlayAction::Checkin,
            source,
            started_at: now,
            updated_at: now,
            expires_at: now + time::Duration::try_from(runtime).unwrap_or(time::Duration::HOUR),
        };
        self.repo.put_playback(&playback).await?;
        Ok(play)
    }

    /// Ends the caller's check-in, if any; returns whether there was one.
    ///
    /// # Errors
    /// As the variants say.
    pub async fn cancel_check_in(&self, ctx: &RequestContext) -> Result<bool, ScrobbleError> {
        let user = Self::user(ctx)?;
        let now = self.clock.now();
        let mut any = false;
        for p in self.repo.playbacks(user, Some(PlaybackState::Watching)).await? {
            if p.action == PlayAction::Checkin && p.is_watching(now) {
                any |= self.repo.remove_playback(user, p.movie.id, Some(PlaybackState::Watching)).await?;
            }
        }
        Ok(any)
    }

    /// What the caller is watching now, if anything.
    ///
    /// # Errors
    /// As the variants say.
    pub async fn watching(&self, ctx: &RequestContext) -> Result<Option<Playback>, ScrobbleError> {
        let user = Self::user(ctx)?;
        let now = self.clock.now();
        let all = self.repo.playbacks(user, Some(PlaybackState::Watching)).await?;
        Ok(all.into_iter().find(|p| p.is_watching(now)))
    }

    /// The caller's latest playback that has not expired, running or paused
    /// (what a media server last reported), if any.
    ///
    /// # Errors
    /// As the variants say.
    pub async fn now_playing(&self, ctx: &RequestContext) -> Result<Option<Playback>, ScrobbleError> {
        let user = Self::user(ctx)?;
        let now = self.clock.now();
        let all = self.repo.playbacks(user, None).await?;
        Ok(all.into_iter().find(|p| p.expires_at > now))
    }

    /// The caller's paused playbacks, most recent first.
    ///
    /// # Errors
    /// As the variants say.
    pub async fn paused(&self, ctx: &RequestContext) -> Result<Vec<Playback>, ScrobbleError> {
        Ok(self.repo.playbacks(Self::user(ctx)?, Some(PlaybackState::Paused)).await?)
    }

    /// Forgets a paused playback of the caller's.
    ///
    /// # Errors
    /// As the variants say.
    pub async fn remove_paused(&self, ctx: &RequestContext, movie: MovieId) -> Result<bool, ScrobbleError> {
        Ok(self.repo.remove_playback(Self::user(ctx)?, movie, Some(PlaybackState::Paused)).await?)
    }
}
