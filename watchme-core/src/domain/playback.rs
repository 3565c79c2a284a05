//! What a user is playing now and where they paused: the state a player's
//! scrobbles (start, pause, stop) and check-ins leave between plays.

use time::OffsetDateTime;

use super::{MovieCard, PlayAction, PlaySource, UserId};

/// Why a number is not a [`Progress`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("progress must be a number from 0 to 100")]
pub struct ProgressError;

/// How far into a movie playback is, in percent (0 to 100).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Progress(f64);

impl Progress {
    /// Validates a percentage.
    pub fn new(raw: f64) -> Result<Self, ProgressError> {
        if raw.is_finite() && (0.0..=100.0).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(ProgressError)
        }
    }

    /// The percentage.
    pub fn get(&self) -> f64 {
        self.0
    }
}

super::history::names! {
    /// Whether a playback is running or paused.
    PlaybackState {
        /// Playing now (until it expires).
        Watching = "watching",
        /// Paused or stopped before the end; resumable.
        Paused = "paused",
    }
}

/// One user's playback of one movie between its start and its play.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    /// Whose.
    pub user_id: UserId,
    /// The movie.
    pub movie: MovieCard,
    /// How far in.
    pub progress: Progress,
    /// Running or paused.
    pub state: PlaybackState,
    /// A scrobble or a check-in.
    pub action: PlayAction,
    /// Which client or server reported it.
    pub source: PlaySource,
    /// When playback (re)started.
    pub started_at: OffsetDateTime,
    /// When it was last reported.
    pub updated_at: OffsetDateTime,
    /// When a running playback stops counting as "watching now".
    pub expires_at: OffsetDateTime,
}

impl Playback {
    /// Whether it is running at `now`.
    pub fn is_watching(&self, now: OffsetDateTime) -> bool {
        self.state == PlaybackState::Watching && self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_a_percentage() {
        for bad in [-0.1, 100.01, f64::NAN, f64::INFINITY] {
            assert_eq!(Progress::new(bad), Err(ProgressError), "case: {bad}");
        }
        assert_eq!(Progress::new(80.0).unwrap().get(), 80.0);
        assert_eq!("paused".parse::<PlaybackState>(), Ok(PlaybackState::Paused));
    }
}
