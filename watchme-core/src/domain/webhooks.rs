//! Webhooks from media servers: a user's endpoints (each with a secret in
//! its URL, stored as a hash) and what a delivery says, once the edge has
//! read the server's own format.

use time::OffsetDateTime;

use super::history::names;
use super::{MovieKey, PlaySource, Progress, Rating, UserId};

super::uuid_id!(
    /// A webhook's id.
    WebhookId
);

names! {
    /// Which server posts to a webhook (which payload format it reads).
    WebhookKind {
        /// Plex Media Server (multipart with a JSON `payload` part).
        Plex = "plex",
        /// Jellyfin's webhook plugins.
        Jellyfin = "jellyfin",
        /// Emby's webhooks.
        Emby = "emby",
        /// WatchMe's own small JSON, for scripts and other servers.
        Generic = "generic",
    }
}

impl WebhookKind {
    /// The source its plays are recorded with.
    pub fn play_source(&self) -> PlaySource {
        match self {
            Self::Plex => PlaySource::Plex,
            Self::Jellyfin => PlaySource::Jellyfin,
            Self::Emby => PlaySource::Emby,
            Self::Generic => PlaySource::Generic,
        }
    }
}

names! {
    /// What became of a delivery.
    DeliveryOutcome {
        /// It changed (or confirmed) something.
        Accepted = "accepted",
        /// Nothing to do: not a film, another media-server user, an event
        /// WatchMe does not track.
        Ignored = "ignored",
        /// It could not be used (no film matches, a bad payload).
        Refused = "refused",
    }
}

/// A user's webhook endpoint (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// Whose.
    pub user_id: UserId,
    /// Which server posts to it.
    pub kind: WebhookKind,
    /// Only deliveries for this media-server user count (others are ignored).
    pub media_server_user: Option<String>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it last received a delivery.
    pub last_delivery_at: Option<OffsetDateTime>,
    /// Deliveries accepted.
    pub accepted: u64,
    /// Deliveries ignored.
    pub ignored: u64,
    /// Deliveries refused.
    pub refused: u64,
}

/// What a media server reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MediaAction {
    /// Playback started or resumed.
    Start,
    /// Playback paused.
    Pause,
    /// Playback stopped (a play when `finished` or past the threshold).
    Stop,
    /// Watched to the end, or marked played.
    Completed,
    /// Rated (0 to 10; 0 clears nothing and is ignored).
    Rate(Option<Rating>),
}

/// A delivery once read: the event, the film, the progress, who played it.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaEvent {
    /// The server's own name of the event, for the log.
    pub name: String,
    /// What it means; `None` for an event WatchMe does not track.
    pub action: Option<MediaAction>,
    /// The film, or why the item is not one (an episode, a track ...).
    pub movie: Result<MovieKey, String>,
    /// How far in, when the server says.
    pub progress: Option<Progress>,
    /// The media server's user, when the server says.
    pub server_user: Option<String>,
    /// When a completion happened, when the delivery says (the generic
    /// format's `watched_at`); `None` is now.
    pub watched_at: Option<OffsetDateTime>,
}
