//! Watch history: each time a user watched a movie (a play; rewatches are
//! plays of their own), and the last-activity times a syncing client
//! compares to fetch only what changed.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    EventEnvelope, EventMeta, EventPayload, LibraryChange, LibraryEntry, LibraryUpdate, MovieDetails, MovieId,
    MovieRef, UserId, WatchStatus,
};

/// How far in the future a `watched_at` may lie: clients' clocks drift.
pub const WATCHED_AT_SKEW: time::Duration = time::Duration::minutes(5);

/// Most plays one batch may add (one transaction).
pub const MAX_PLAYS_PER_BATCH: usize = 1000;

super::uuid_id!(
    /// A play's id, ordered by creation time (UUID v7).
    PlayId,
    now_v7
);

/// Why a string is not one of a closed set of names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of {0}")]
pub struct UnknownName(pub &'static str);

/// Declares a closed set of wire names as an enum with `as_str`, `ALL`,
/// `FromStr` and `Display`.
macro_rules! names {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire name.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or($crate::domain::UnknownName(concat!($($wire, " "),*)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use names;

names! {
    /// How a play came about.
    PlayAction {
        /// Marked as watched.
        Watch = "watch",
        /// Reported by a player when playback finished.
        Scrobble = "scrobble",
        /// Checked in while watching.
        Checkin = "checkin",
        /// Brought in by an import.
        Import = "import",
    }
}

names! {
    /// Where a play came from.
    PlaySource {
        /// WatchMe's own API.
        Api = "api",
        /// Trakt (its API or an import of its data).
        Trakt = "trakt",
        /// A Letterboxd import.
        Letterboxd = "letterboxd",
        /// An IMDb import.
        Imdb = "imdb",
        /// A Plex webhook.
        Plex = "plex",
        /// A Jellyfin webhook.
        Jellyfin = "jellyfin",
        /// An Emby webhook.
        Emby = "emby",
        /// A generic webhook (a script, another media server).
        Generic = "generic",
    }
}

/// A movie as a history row or a list item shows it: copied when the row is
/// written, so listing never calls the movie source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovieCard {
    /// TMDb id.
    pub id: MovieId,
    /// Title.
    pub title: String,
    /// Year of first release, when known.
    pub year: Option<i32>,
    /// Full poster URL, when the source has one.
    pub poster_url: Option<String>,
}

impl From<&MovieDetails> for MovieCard {
    fn from(d: &MovieDetails) -> Self {
        Self {
            id: d.id,
            title: d.title.clone(),
            year: d.release_date.map(|r| r.year()),
            poster_url: d.poster_url.clone(),
        }
    }
}

/// Why a time is not a valid `watched_at`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("watched_at must not lie in the future")]
pub struct WatchedInFuture;

/// When a play happened: to the second (the unit of a play's identity), and
/// never later than a few minutes after `now`.
pub fn watched_at(at: OffsetDateTime, now: OffsetDateTime) -> Result<OffsetDateTime, WatchedInFuture> {
    if at > now + WATCHED_AT_SKEW {
        return Err(WatchedInFuture);
    }
    Ok(at.replace_nanosecond(0).unwrap_or(at).to_offset(time::UtcOffset::UTC))
}

/// A play to add: which movie, when (validated by [`watched_at`]), how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlay {
    /// The movie.
    pub movie: MovieCard,
    /// When, to the second.
    pub watched_at: OffsetDateTime,
    /// How it came about.
    pub action: PlayAction,
    /// Where it came from.
    pub source: PlaySource,
}

/// One time a user watched a movie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Play {
    /// Its id.
    pub id: PlayId,
    /// Whose.
    pub user_id: UserId,
    /// The movie.
    pub movie: MovieCard,
    /// When, to the second.
    pub watched_at: OffsetDateTime,
    /// How it came about.
    pub action: PlayAction,
    /// Where it came from.
    pub source: PlaySource,
}

impl Play {
    /// The play a [`NewPlay`] becomes for `user`, with a fresh id.
    pub fn new(user_id: UserId, new: &NewPlay) -> Self {
        Self {
            id: PlayId::new(),
            user_id,
            movie: new.movie.clone(),
            watched_at: new.watched_at,
            action: new.action,
            source: new.source,
        }
    }

    /// Its `play_recorded` event.
    pub fn recorded(&self, meta: &EventMeta) -> EventEnvelope {
        let payload = EventPayload::PlayRecorded {
            user_id: self.user_id,
            play_id: self.id,
            movie_id: self.movie.id,
            title: self.movie.title.clone(),
            watched_at: self.watched_at,
            action: self.action,
            source: self.source,
        };
        EventEnvelope::new(payload, meta)
    }

    /// Its `play_removed` event.
    pub fn removed(&self, meta: &EventMeta) -> EventEnvelope {
        let payload = EventPayload::PlayRemoved {
            user_id: self.user_id,
            play_id: self.id,
            movie_id: self.movie.id,
            watched_at: self.watched_at,
        };
        EventEnvelope::new(payload, meta)
    }

    /// Whether `other` is the same play by content: the same movie at the
    /// same second. Sending a play twice adds it once.
    pub fn same_as(&self, movie: MovieId, watched_at: OffsetDateTime) -> bool {
        self.movie.id == movie && self.watched_at == watched_at
    }
}

impl MovieCard {
    /// The movie as library rows remember it.
    pub fn movie_ref(&self) -> MovieRef {
        MovieRef { id: self.id, title: self.title.clone() }
    }
}

/// The library entry a movie's first play leaves: status `watched`, unless
/// the entry already has it (then `None`: nothing to write).
pub fn first_play_entry(
    before: Option<&LibraryEntry>,
    user: UserId,
    movie: &MovieCard,
    at: OffsetDateTime,
) -> Option<LibraryChange> {
    if before.is_some_and(|b| b.status == Some(WatchStatus::Watched)) {
        return None;
    }
    let update = LibraryUpdate::new(Some(WatchStatus::Watched), None).ok()?;
    let after = update.apply(before, user, &movie.movie_ref(), at);
    Some(LibraryChange { before: before.cloned(), after: Some(after) })
}

impl LibraryChange {
    /// The parts of the user's data this change moves: `library` when the
    /// status changed, `ratings` when the rating did.
    pub fn activity(&self) -> Vec<ActivityKind> {
        let status = |e: &Option<LibraryEntry>| e.as_ref().and_then(|e| e.status);
        let rating = |e: &Option<LibraryEntry>| e.as_ref().and_then(|e| e.rating);
        let mut kinds = Vec::new();
        if status(&self.before) != status(&self.after) {
            kinds.push(ActivityKind::Library);
        }
        if rating(&self.before) != rating(&self.after) {
            kinds.push(ActivityKind::Ratings);
        }
        kinds
    }
}

/// What a batch of plays did: the plays added, and for each play that was
/// already there, the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaysAdded {
    /// Plays stored by this batch.
    pub added: Vec<Play>,
    /// Plays of the batch that were stored before (the stored ones).
    pub existing: Vec<Play>,
}

/// Which plays to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Only this movie's.
    pub movie: Option<MovieId>,
    /// Only plays at or after.
    pub start_at: Option<OffsetDateTime>,
    /// Only plays at or before.
    pub end_at: Option<OffsetDateTime>,
}

impl HistoryFilter {
    /// Whether `play` passes the filter.
    pub fn admits(&self, play: &Play) -> bool {
        self.movie.is_none_or(|m| m == play.movie.id)
            && self.start_at.is_none_or(|s| play.watched_at >= s)
            && self.end_at.is_none_or(|e| play.watched_at <= e)
    }
}

names! {
    /// A part of a user's data whose last change is tracked for delta sync.
    ActivityKind {
        /// Plays.
        History = "history",
        /// Ratings.
        Ratings = "ratings",
        /// Watch statuses.
        Library = "library",
        /// Favorites.
        Favorites = "favorites",
        /// Lists and their items.
        Lists = "lists",
        /// Page views.
        Views = "views",
    }
}

/// The latest change time of each part of a user's data; `None` for a part
/// that never changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// Per kind, when it last changed.
    pub times: Vec<(ActivityKind, OffsetDateTime)>,
}

impl Activity {
    /// When `kind` last changed.
    pub fn get(&self, kind: ActivityKind) -> Option<OffsetDateTime> {
        self.times.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
    }

    /// The latest change of any kind.
    pub fn all(&self) -> Option<OffsetDateTime> {
        self.times.iter().map(|(_, t)| *t).max()
    }

    /// Records a change of `kind` at `at` (a later time wins).
    pub fn touch(&mut self, kind: ActivityKind, at: OffsetDateTime) {
        match self.times.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, t)) => *t = (*t).max(at),
            None => self.times.push((kind, at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn watched_at_is_whole_seconds_and_not_in_the_future() {
        let now = at(0);
        let t = now.replace_nanosecond(123_456_789).unwrap() - time::Duration::hours(1);
        assert_eq!(watched_at(t, now).unwrap().nanosecond(), 0);
        assert!(watched_at(now + time::Duration::minutes(4), now).is_ok(), "clock skew allowed");
        assert_eq!(watched_at(now + time::Duration::minutes(6), now), Err(WatchedInFuture));
    }

    #[test]
    fn names_round_trip_and_refuse_others() {
        for a in PlayAction::ALL {
            assert_eq!(a.as_str().parse::<PlayAction>(), Ok(*a));
        }
        for s in PlaySource::ALL {
            assert_eq!(s.as_str().parse::<PlaySource>(), Ok(*s));
        }
        let err = "seen".parse::<PlayAction>().unwrap_err();
        assert!(err.to_string().contains("watch scrobble checkin import"), "{err}");
    }

    #[test]
    fn activity_keeps_the_latest_time_per_kind() {
        let mut a = Activity::default();
        assert_eq!(a.all(), None);
        a.touch(ActivityKind::History, at(10));
        a.touch(ActivityKind::History, at(5));
        a.touch(ActivityKind::Favorites, at(20));
        assert_eq!(a.get(ActivityKind::History), Some(at(10)));
        assert_eq!(a.get(ActivityKind::Lists), None);
        assert_eq!(a.all(), Some(at(20)));
    }

    #[test]
    fn a_filter_admits_by_movie_and_time() {
        let movie =
            MovieCard { id: MovieId::new(550).unwrap(), title: "Fight Club".into(), year: None, poster_url: None };
        let play = Play {
            id: PlayId::new(),
            user_id: UserId::new(),
            movie,
            watched_at: at(100),
            action: PlayAction::Watch,
            source: PlaySource::Api,
        };
        assert!(HistoryFilter::default().admits(&play));
        assert!(!HistoryFilter { movie: Some(MovieId::new(13).unwrap()), ..Default::default() }.admits(&play));
        assert!(HistoryFilter { start_at: Some(at(100)), end_at: Some(at(100)), movie: None }.admits(&play));
        assert!(!HistoryFilter { start_at: Some(at(101)), ..Default::default() }.admits(&play));
    }
}
