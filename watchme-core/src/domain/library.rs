//! A user's library: view history, favorites, and entries with a watch
//! status and a rating.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{MovieId, UserId};

/// Why a value is not a [`Rating`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rating must be an integer from 1 to 10")]
pub struct RatingError;

/// A user's score for a movie, 1 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Rating(u8);

impl Rating {
    /// Validates a score.
    pub fn new(raw: i64) -> Result<Self, RatingError> {
        if (1..=10).contains(&raw) {
            Ok(Self(raw as u8))
        } else {
            Err(RatingError)
        }
    }

    /// The score.
    pub fn get(&self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Rating {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Rating::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Why a string is not a [`WatchStatus`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status must be one of want_to_watch, watching, watched")]
pub struct WatchStatusError;

/// Where a user is with a movie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchStatus {
    /// On the watchlist.
    WantToWatch,
    /// Started.
    Watching,
    /// Finished.
    Watched,
}

impl WatchStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [WatchStatus; 3] = [Self::WantToWatch, Self::Watching, Self::Watched];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::WantToWatch => "want_to_watch",
            Self::Watching => "watching",
            Self::Watched => "watched",
        }
    }
}

impl FromStr for WatchStatus {
    type Err = WatchStatusError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or(WatchStatusError)
    }
}

impl fmt::Display for WatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A movie as a library row remembers it: the title is copied when the row
/// is written so lists never need a call to the movie source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovieRef {
    /// TMDb id.
    pub id: MovieId,
    /// Title when the row was written.
    pub title: String,
}

/// One opening of a movie page by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// Who viewed.
    pub user_id: UserId,
    /// What.
    pub movie: MovieRef,
    /// When.
    pub viewed_at: OffsetDateTime,
}

/// A movie a user marked as favorite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Favorite {
    /// Whose favorite.
    pub user_id: UserId,
    /// Which movie.
    pub movie: MovieRef,
    /// When it was added.
    pub added_at: OffsetDateTime,
}

/// A movie in a user's library with a status and/or a rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryEntry {
    /// Whose entry.
    pub user_id: UserId,
    /// Which movie.
    pub movie: MovieRef,
    /// Watch status, if set.
    pub status: Option<WatchStatus>,
    /// Rating, if set.
    pub rating: Option<Rating>,
    /// When the entry was created.
    pub added_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// Why a library update is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an update must set a status, a rating, or both")]
pub struct EmptyUpdateError;

/// What an update does to one field of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Patch<T> {
    /// Leaves it as it is.
    Keep,
    /// Sets it.
    Set(T),
    /// Clears it when it holds this value (Trakt's watchlist removal
    /// clears `want_to_watch` only, never a status a play set).
    ClearIf(T),
    /// Clears it whatever it holds.
    Clear,
}

impl<T: Copy + PartialEq> Patch<T> {
    fn apply(self, before: Option<T>) -> Option<T> {
        match self {
            Self::Keep => before,
            Self::Set(v) => Some(v),
            Self::ClearIf(v) => before.filter(|b| *b != v),
            Self::Clear => None,
        }
    }

    fn set(v: Option<T>) -> Self {
        v.map_or(Self::Keep, Self::Set)
    }
}

/// What a write on a library entry changes; fields it does not name keep
/// their value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibraryUpdate {
    status: Patch<WatchStatus>,
    rating: Patch<Rating>,
}

impl LibraryUpdate {
    /// Sets the status and/or the rating; an update must change something.
    pub fn new(status: Option<WatchStatus>, rating: Option<Rating>) -> Result<Self, EmptyUpdateError> {
        if status.is_none() && rating.is_none() {
            return Err(EmptyUpdateError);
        }
        Ok(Self { status: Patch::set(status), rating: Patch::set(rating) })
    }

    /// Clears the rating, keeping the status.
    pub fn clear_rating() -> Self {
        Self { status: Patch::Keep, rating: Patch::Clear }
    }

    /// Clears the status when it is `status`, keeping the rating.
    pub fn clear_status_if(status: WatchStatus) -> Self {
        Self { status: Patch::ClearIf(status), rating: Patch::Keep }
    }

    /// New status, if this update sets one.
    pub fn status(&self) -> Option<WatchStatus> {
        match self.status {
            Patch::Set(s) => Some(s),
            _ => None,
        }
    }

    /// New rating, if this update sets one.
    pub fn rating(&self) -> Option<Rating> {
        match self.rating {
            Patch::Set(r) => Some(r),
            _ => None,
        }
    }

    /// The entry after applying this update to `before` (or to nothing).
    /// It may be left with neither status nor rating; the service removes
    /// such an entry instead of writing it.
    pub fn apply(
        &self,
        before: Option<&LibraryEntry>,
        user_id: UserId,
        movie: &MovieRef,
        now: OffsetDateTime,
    ) -> LibraryEntry {
        LibraryEntry {
            user_id,
            movie: movie.clone(),
            status: self.status.apply(before.and_then(|b| b.status)),
            rating: self.rating.apply(before.and_then(|b| b.rating)),
            added_at: before.map_or(now, |b| b.added_at),
            updated_at: now,
        }
    }
}

/// A library entry before and after a write; repositories compute it inside
/// their transaction so the events describe exactly what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryChange {
    /// The entry before, if it existed.
    pub before: Option<LibraryEntry>,
    /// The entry after, `None` when it was removed.
    pub after: Option<LibraryEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_ten() {
        for raw in [0i64, -1, 11, 100] {
            assert_eq!(Rating::new(raw), Err(RatingError), "case: {raw}");
        }
        for raw in 1..=10 {
            assert_eq!(Rating::new(raw).unwrap().get() as i64, raw);
        }
    }

    #[test]
    fn watch_status_names() {
        for st in WatchStatus::ALL {
            assert_eq!(st.as_str().parse::<WatchStatus>(), Ok(st));
        }
        for bad in ["", "WATCHED", "seen", "want to watch"] {
            assert_eq!(bad.parse::<WatchStatus>(), Err(WatchStatusError), "case: {bad:?}");
        }
    }

    #[test]
    fn an_update_keeps_what_it_does_not_set() {
        assert_eq!(LibraryUpdate::new(None, None), Err(EmptyUpdateError));
        let user = UserId::new();
        let movie = MovieRef { id: MovieId::new(550).unwrap(), title: "Fight Club".into() };
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let t1 = t0 + time::Duration::hours(1);
        let first = LibraryUpdate::new(Some(WatchStatus::Watching), None).unwrap().apply(None, user, &movie, t0);
        let second =
            LibraryUpdate::new(None, Some(Rating::new(9).unwrap())).unwrap().apply(Some(&first), user, &movie, t1);
        assert_eq!(second.status, Some(WatchStatus::Watching));
        assert_eq!(second.rating.map(|r| r.get()), Some(9));
        assert_eq!((second.added_at, second.updated_at), (t0, t1));
        let unrated = LibraryUpdate::clear_rating().apply(Some(&second), user, &movie, t1);
        assert_eq!((unrated.status, unrated.rating), (Some(WatchStatus::Watching), None));
        let kept = LibraryUpdate::clear_status_if(WatchStatus::WantToWatch).apply(Some(&second), user, &movie, t1);
        assert_eq!(kept.status, Some(WatchStatus::Watching), "only the named status is cleared");
        let cleared = LibraryUpdate::clear_status_if(WatchStatus::Watching).apply(Some(&second), user, &movie, t1);
        assert_eq!((cleared.status, cleared.rating.map(|r| r.get())), (None, Some(9)));
    }
}
