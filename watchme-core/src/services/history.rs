//! Watch history: adding plays in batches (validated whole, movies looked up
//! once each, stored in one transaction), listing and removing them, and
//! the last-activity times a syncing client compares. Tests:
//! `watchme-adapters/tests/services_history.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::domain::{
    watched_at, Activity, EventMeta, HistoryFilter, MovieCard, MovieId, NewPlay, Page, PageRequest, Play, PlayAction,
    PlayId, PlaySource, RequestContext, UserId, MAX_PLAYS_PER_BATCH,
};
use crate::error::{Cause, StorageError};
use crate::ports::{Clock, HistoryRepo};

use super::{MovieError, MovieService};

/// One item of a batch, as the edge parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayRequest {
    /// Which movie.
    pub movie_id: MovieId,
    /// When; `None` is now.
    pub watched_at: Option<OffsetDateTime>,
    /// How it came about.
    pub action: PlayAction,
    /// Where it came from.
    pub source: PlaySource,
}

/// What is wrong with one item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemProblem {
    /// Its position in the batch, from 0.
    pub index: usize,
    /// The field at fault.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

/// What a batch did: plays added, plays that were there already, and the
/// movie ids no movie answers to (as sent, once each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Plays stored by this batch.
    pub added: Vec<Play>,
    /// Items that matched a stored play (the stored ones).
    pub existing: Vec<Play>,
    /// Movie ids that name no movie.
    pub not_found: Vec<MovieId>,
}

/// Why a history use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HistoryError {
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// The batch holds more items than one transaction takes.
    #[error("a batch holds at most {max} items, this one {got}")]
    TooMany {
        /// The most allowed.
        max: usize,
        /// How many were sent.
        got: usize,
    },
    /// Some items are invalid; nothing was stored.
    #[error("{} invalid item(s)", .0.len())]
    Invalid(Vec<ItemProblem>),
    /// The movie source could not say whether a movie exists.
    #[error("movie source unavailable")]
    MovieSourceUnavailable(#[source] Cause),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Plays and activity.
pub struct HistoryService {
    repo: Arc<dyn HistoryRepo>,
    movies: Arc<MovieService>,
    clock: Arc<dyn Clock>,
}

impl HistoryService {
    /// Builds the service.
    pub fn new(repo: Arc<dyn HistoryRepo>, movies: Arc<MovieService>, clock: Arc<dyn Clock>) -> Self {
        Self { repo, movies, clock }
    }

    fn user(ctx: &RequestContext) -> Result<UserId, HistoryError> {
        ctx.user_id.ok_or(HistoryError::Unauthenticated)
    }

    fn meta(&self, ctx: &RequestContext) -> EventMeta {
        EventMeta { actor: ctx.user_id, trace: ctx.trace.clone(), occurred_at: self.clock.now() }
    }

    /// Adds a batch of plays: every item is validated first (any invalid
    /// item refuses the whole batch, each problem named), each movie is
    /// looked up once (unknown ones are reported, the rest still added),
    /// and the plays are stored in one transaction.
    ///
    /// # Errors
    /// [`HistoryError`]: not logged in, too many or invalid items, the
    /// movie source down (nothing stored), or the store failing.
    pub async fn add_plays(&self, ctx: &RequestContext, items: &[PlayRequest]) -> Result<BatchOutcome, HistoryError> {
        let user = Self::user(ctx)?;
        if items.len() > MAX_PLAYS_PER_BATCH {
            return Err(HistoryError::TooMany { max: MAX_PLAYS_PER_BATCH, got: items.len() });
        }
        let meta = self.meta(ctx);
        let times = Self::checked_times(items, meta.occurred_at).map_err(HistoryError::Invalid)?;
        let (cards, not_found) = self.look_up(items.iter().map(|i| i.movie_id)).await?;
        let plays: Vec<NewPlay> = items
            .iter()
            .zip(times)
            .filter_map(|(item, watched_at)| {
                cards.get(&item.movie_id).map(|movie| NewPlay {
                    movie: movie.clone(),
                    watched_at,
                    action: item.action,
                    source: item.source,
                })
            })
            .collect();
        let stored =
            if plays.is_empty() { Default::default() } else { self.repo.add_plays(user, &plays, &meta).await? };
        Ok(BatchOutcome { added: stored.added, existing: stored.existing, not_found })
    }

    /// What is wrong with each item of a batch at `now` (empty when nothing
    /// is): an edge that found malformed items of its own calls this for the
    /// rest, so one answer names every bad item.
    pub fn problems(items: &[PlayRequest], now: OffsetDateTime) -> Vec<ItemProblem> {
        Self::checked_times(items, now).err().unwrap_or_default()
    }

    /// Each item's `watched_at` (now when absent, to the second), or what
    /// is wrong with every item that has a bad one.
    fn checked_times(items: &[PlayRequest], now: OffsetDateTime) -> Result<Vec<OffsetDateTime>, Vec<ItemProblem>> {
        let mut times = Vec::with_capacity(items.len());
        let mut problems = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match watched_at(item.watched_at.unwrap_or(now), now) {
                Ok(t) => times.push(t),
                Err(e) => problems.push(ItemProblem { index, field: "watched_at", message: e.to_string() }),
            }
        }
        if problems.is_empty() {
            Ok(times)
        } else {
            Err(problems)
        }
    }

    /// Each distinct movie of `ids` as a card, and the ids that name no movie
    /// (in the order first sent).
    async fn look_up(
        &self,
        ids: impl Iterator<Item = MovieId>,
    ) -> Result<(HashMap<MovieId, MovieCard>, Vec<MovieId>), HistoryError> {
        let mut cards = HashMap::new();
        let mut not_found = Vec::new();
        for id in ids {
            if cards.contains_key(&id) || not_found.contains(&id) {
                continue;
            }
            match self.movies.details_shared(id).await {
                Ok(d) => {
                    cards.insert(id, MovieCard::from(d.value.as_ref()));
                }
                Err(MovieError::NotFound) => not_found.push(id),
                Err(MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c)) => {
                    return Err(HistoryError::MovieSourceUnavailable(c))
                }
            }
        }
        Ok((cards, not_found))
    }

    /// The caller's plays, newest first.
    ///
    /// # Errors
    /// [`HistoryError::Unauthenticated`], or the store failing.
    pub async fn plays(
        &self,
        ctx: &RequestContext,
        filter: HistoryFilter,
        page: PageRequest,
    ) -> Result<Page<Play>, HistoryError> {
        Ok(self.repo.plays(Self::user(ctx)?, filter, page).await?)
    }

    /// Removes one of the caller's plays; `None` when they have no such play.
    ///
    /// # Errors
    /// [`HistoryError::Unauthenticated`], or the store failing.
    pub async fn remove_play(&self, ctx: &RequestContext, id: PlayId) -> Result<Option<Play>, HistoryError> {
        let user = Self::user(ctx)?;
        Ok(self.repo.remove_play(user, id, &self.meta(ctx)).await?)
    }

    /// Removes every play of `movie` by the caller; returns them.
    ///
    /// # Errors
    /// [`HistoryError::Unauthenticated`], or the store failing.
    pub async fn remove_plays_of(&self, ctx: &RequestContext, movie: MovieId) -> Result<Vec<Play>, HistoryError> {
        let user = Self::user(ctx)?;
        Ok(self.repo.remove_plays_of(user, movie, &self.meta(ctx)).await?)
    }

    /// When each part of the caller's data last changed.
    ///
    /// # Errors
    /// [`HistoryError::Unauthenticated`], or the store failing.
    pub async fn activity(&self, ctx: &RequestContext) -> Result<Activity, HistoryError> {
        Ok(self.repo.activity(Self::user(ctx)?).await?)
    }
}
