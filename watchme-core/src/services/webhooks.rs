//! Webhooks from media servers as a use case: a user makes an endpoint
//! (its secret shown once, stored as a hash), and each delivery, once the
//! edge has read the server's format into a [`MediaEvent`], is filtered
//! (by media-server user), matched to a film, and applied through the
//! scrobble and library services: a completion is one play (a repeat
//! within the duplicate window is that play again), anything shorter is
//! "watching now" or a paused playback. Every delivery is counted by
//! outcome. Tests: `watchme-adapters/tests/services_webhooks.rs`.

use std::sync::Arc;

use crate::domain::{
    DeliveryOutcome, LibraryUpdate, MediaAction, MediaEvent, Progress, RefreshToken, RequestContext, UserId, Webhook,
    WebhookId, WebhookKind,
};
use crate::error::{Cause, StorageError};
use crate::ports::{Clock, TokenIssuer, WebhookRepo};

use super::matching::{Match, Matcher};
use super::{LibraryService, MovieService, Scrobble, ScrobbleError, ScrobbleEvent, ScrobbleOutcome, ScrobbleService};

/// Longest media-server user name a filter may hold.
pub const MAX_SERVER_USER: usize = 200;

/// Why a webhook use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WebhookError {
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// The media-server user filter is empty or too long.
    #[error("media_server_user must be 1 to {MAX_SERVER_USER} characters")]
    InvalidFilter,
    /// No such webhook of the caller's.
    #[error("no such webhook")]
    NotFound,
    /// A dependency (the movie source) could not answer; the server should retry.
    #[error("temporarily unavailable")]
    Unavailable(#[source] Cause),
    /// The secret could not be made.
    #[error("could not make a secret")]
    Internal(#[source] Cause),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What became of a delivery, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Accepted, ignored or refused.
    pub outcome: DeliveryOutcome,
    /// For the server's log and ours.
    pub detail: String,
}

impl Delivered {
    fn new(outcome: DeliveryOutcome, detail: impl Into<String>) -> Self {
        Self { outcome, detail: detail.into() }
    }
}

/// Webhook endpoints and their deliveries.
pub struct WebhookService {
    repo: Arc<dyn WebhookRepo>,
    scrobbles: Arc<ScrobbleService>,
    library: Arc<LibraryService>,
    movies: Arc<MovieService>,
    secrets: Arc<dyn TokenIssuer>,
    clock: Arc<dyn Clock>,
}

impl WebhookService {
    /// Builds the service.
    pub fn new(
        repo: Arc<dyn WebhookRepo>,
        scrobbles: Arc<ScrobbleService>,
        library: Arc<LibraryService>,
        movies: Arc<MovieService>,
        secrets: Arc<dyn TokenIssuer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { repo, scrobbles, library, movies, secrets, clock }
    }

    fn user(ctx: &RequestContext) -> Result<UserId, WebhookError> {
        ctx.user_id.ok_or(WebhookError::Unauthenticated)
    }

    fn hash(&self, secret: &str) -> String {
        self.secrets.hash_refresh_token(&RefreshToken::new(secret)).as_str().to_owned()
    }

    /// Makes a webhook for the caller; returns it with its secret, shown only now.
    ///
    /// # Errors
    /// [`WebhookError`]: not logged in, a bad filter, a failure.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        kind: WebhookKind,
        media_server_user: Option<&str>,
    ) -> Result<(Webhook, String), WebhookError> {
        let user = Self::user(ctx)?;
        let filter = match media_server_user.map(str::trim) {
            None => None,
            Some(u) if u.is_empty() || u.chars().count() > MAX_SERVER_USER => return Err(WebhookError::InvalidFilter),
            Some(u) => Some(u.to_owned()),
        };
        let (random, _) =
            self.secrets.new_refresh_token().map_err(|e| WebhookError::Internal(crate::error::cause(e)))?;
        let secret = random.expose().rsplit('_').next().unwrap_or_default().to_owned();
        let webhook = Webhook {
            id: WebhookId::new(),
            user_id: user,
            kind,
            media_server_user: filter,
            created_at: self.clock.now(),
            last_delivery_at: None,
            accepted: 0,
            ignored: 0,
            refused: 0,
        };
        self.repo.create_webhook(&webhook, &self.hash(&secret)).await?;
        tracing::info!(user_id = %user, webhook_id = %webhook.id, kind = %kind, "webhook created");
        Ok((webhook, secret))
    }

    /// The caller's webhooks (never their secrets), newest first.
    ///
    /// # Errors
    /// Not logged in, or the store failing.
    pub async fn list(&self, ctx: &RequestContext) -> Result<Vec<Webhook>, WebhookError> {
        Ok(self.repo.webhooks_of(Self::user(ctx)?).await?)
    }

    /// Revokes one of the caller's webhooks: its URL answers 404 from now on.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`] when it is not theirs (or gone already).
    pub async fn revoke(&self, ctx: &RequestContext, id: WebhookId) -> Result<(), WebhookError> {
        if self.repo.revoke_webhook(Self::user(ctx)?, id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }

    /// The rate-limit key of deliveries to `secret`: part of its hash, so
    /// the secret itself never reaches the limiter's store.
    pub fn rate_key(&self, secret: &str) -> String {
        let hash = self.hash(secret);
        format!("webhook:{}", hash.get(..16).unwrap_or(&hash))
    }

    /// The live webhook of `kind` whose secret is `secret`.
    ///
    /// # Errors
    /// The store failing.
    pub async fn find(&self, kind: WebhookKind, secret: &str) -> Result<Option<Webhook>, WebhookError> {
        if secret.is_empty() || secret.len() > 128 {
            return Ok(None);
        }
        Ok(self.repo.webhook_by_hash(&self.hash(secret)).await?.filter(|w| w.kind == kind))
    }

    /// Applies a delivery to `webhook`'s user and counts its outcome.
    ///
    /// # Errors
    /// [`WebhookError::Unavailable`] when the movie source cannot answer
    /// (the server retries), or the store failing.
    pub async fn deliver(&self, webhook: &Webhook, event: &MediaEvent) -> Result<Delivered, WebhookError> {
        let done = self.apply(webhook, event).await;
        let outcome = match &done {
            Ok(d) => d.outcome.as_str(),
            Err(_) => "error",
        };
        metrics::counter!("watchme_webhook_deliveries_total", "kind" => webhook.kind.as_str(), "outcome" => outcome)
            .increment(1);
        match &done {
            Ok(d) => {
                tracing::info!(webhook_id = %webhook.id, kind = %webhook.kind, event = %event.name, outcome, detail = %d.detail, "webhook delivery");
                self.repo.record_delivery(webhook.id, d.outcome, self.clock.now()).await?;
            }
            Err(e) => {
                tracing::warn!(webhook_id = %webhook.id, kind = %webhook.kind, event = %event.name, error = %e, "webhook delivery failed")
            }
        }
        done
    }

    async fn apply(&self, webhook: &Webhook, event: &MediaEvent) -> Result<Delivered, WebhookError> {
        use DeliveryOutcome::{Accepted, Ignored, Refused};
        let Some(action) = event.action else {
            return Ok(Delivered::new(Ignored, format!("{} is not an event WatchMe tracks", event.name)));
        };
        if let Some(wanted) = &webhook.media_server_user {
            if !event.server_user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(wanted)) {
                return Ok(Delivered::new(Ignored, "a delivery for another media-server user"));
            }
        }
        let key = match &event.movie {
            Ok(k) => k,
            Err(why) => return Ok(Delivered::new(Ignored, why.clone())),
        };
        let card = match Matcher::new(&self.movies).find(key).await.map_err(WebhookError::Unavailable)? {
            Match::Found(card) => card,
            Match::Unmatched(_) => return Ok(Delivered::new(Refused, format!("no film matches {}", key.describe()))),
            Match::Ambiguous(why) => return Ok(Delivered::new(Refused, why)),
        };
        let ctx = RequestContext::user(webhook.user_id);
        let zero = Progress::new(0.0).map_err(|e| WebhookError::Internal(crate::error::cause(e)))?;
        let (scrobble_event, progress) = match action {
            MediaAction::Start => (ScrobbleEvent::Start, event.progress.unwrap_or(zero)),
            MediaAction::Pause => (ScrobbleEvent::Pause, event.progress.unwrap_or(zero)),
            MediaAction::Stop => (ScrobbleEvent::Stop, event.progress.unwrap_or(zero)),
            MediaAction::Completed => (ScrobbleEvent::Complete, event.progress.unwrap_or(zero)),
            MediaAction::Rate(None) => return Ok(Delivered::new(Ignored, "no rating from 1 to 10 in the delivery")),
            MediaAction::Rate(Some(r)) => {
                let update =
                    LibraryUpdate::new(None, Some(r)).map_err(|e| WebhookError::Internal(crate::error::cause(e)))?;
                return match self.library.update_entry(&ctx, card.id, update).await {
                    Ok(_) => Ok(Delivered::new(Accepted, format!("{} rated {}", card.title, r.get()))),
                    Err(e) => Err(WebhookError::Unavailable(crate::error::cause(e))),
                };
            }
        };
        let source = webhook.kind.play_source();
        let s = Scrobble { movie: card.id, progress, event: scrobble_event, source, watched_at: event.watched_at };
        match self.scrobbles.scrobble(&ctx, s).await {
            Ok(ScrobbleOutcome::Played(p)) => {
                Ok(Delivered::new(Accepted, format!("a play of {} recorded", p.movie.title)))
            }
            Ok(ScrobbleOutcome::Watching(_)) => Ok(Delivered::new(Accepted, format!("watching {}", card.title))),
            Ok(ScrobbleOutcome::Paused(p)) => {
                Ok(Delivered::new(Accepted, format!("{} paused at {:.0} %", card.title, p.progress.get())))
            }
            Err(ScrobbleError::Duplicate { .. }) => {
                Ok(Delivered::new(Accepted, format!("{} was already recorded within the window", card.title)))
            }
            Err(ScrobbleError::MovieNotFound) => {
                Ok(Delivered::new(Refused, format!("no film matches {}", key.describe())))
            }
            Err(ScrobbleError::InvalidTime(why)) => Ok(Delivered::new(Refused, why)),
            Err(ScrobbleError::MovieSourceUnavailable(c)) => Err(WebhookError::Unavailable(c)),
            Err(ScrobbleError::Storage(e)) => Err(WebhookError::Storage(e)),
            Err(ScrobbleError::Unauthenticated) => Err(WebhookError::Unauthenticated),
        }
    }
}
