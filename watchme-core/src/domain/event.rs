//! Domain events: one envelope over a payload enum, with a stable, versioned
//! JSON schema (docs/events.md). Every state change produces events that are
//! stored with it (transactional outbox) and later published to the bus.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    ApiTokenId, LibraryChange, ListChange, ListId, MovieId, PlayAction, PlayId, PlaySource, Rating, TokenScope,
    TraceContext, UserId, WatchStatus,
};

/// The schema version this build writes and reads.
pub const EVENT_SCHEMA_VERSION: u16 = 1;

/// What happened. The variant name is the event's `event_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "payload", rename_all = "snake_case")]
pub enum EventPayload {
    /// An account was created.
    UserRegistered {
        /// The new user.
        user_id: UserId,
        /// Their display name.
        display_name: String,
    },
    /// A user logged in.
    UserLoggedIn {
        /// Who.
        user_id: UserId,
    },
    /// A movie page was opened; `user_id` is absent for anonymous visitors.
    MovieViewed {
        /// Which movie.
        movie_id: MovieId,
        /// Its title at the time.
        title: String,
        /// The viewer, when logged in.
        user_id: Option<UserId>,
    },
    /// Anonymous views of a movie, counted in memory and written together:
    /// `views` page openings in the hour that `occurred_at` falls in.
    MovieViewsCounted {
        /// Which movie.
        movie_id: MovieId,
        /// Its title at the time.
        title: String,
        /// How many anonymous page openings (at least 1).
        views: u64,
    },
    /// A movie became a favorite.
    FavoriteAdded {
        /// Whose.
        user_id: UserId,
        /// Which movie.
        movie_id: MovieId,
        /// Its title at the time.
        title: String,
    },
    /// A movie stopped being a favorite.
    FavoriteRemoved {
        /// Whose.
        user_id: UserId,
        /// Which movie.
        movie_id: MovieId,
    },
    /// A library entry's status was set or changed.
    WatchStatusChanged {
        /// Whose.
        user_id: UserId,
        /// Which movie.
        movie_id: MovieId,
        /// Its title at the time.
        title: String,
        /// Status before, if any.
        from: Option<WatchStatus>,
        /// Status now.
        to: WatchStatus,
    },
    /// A movie was rated or re-rated.
    MovieRated {
        /// Who rated.
        user_id: UserId,
        /// Which movie.
        movie_id: MovieId,
        /// Its title at the time.
        title: String,
        /// The new rating.
        rating: Rating,
        /// The rating it replaces, if any.
        previous: Option<Rating>,
    },
    /// A library entry was deleted, with what it held (so aggregates can undo it).
    LibraryEntryRemoved {
        /// Whose.
        user_id: UserId,
        /// Which movie.
        movie_id: MovieId,
        /// Status it had.
        status: Option<WatchStatus>,
        /// Rating it had.
        rating: Option<Rating>,
    },
    /// A play was added to a user's history.
    PlayRecorded {
        /// Whose.
        user_id: UserId,
        /// The play's id.
        play_id: PlayId,
        /// Which movie.
        movie_id: MovieId,
        /// Its title at the time.
        title: String,
        /// When it was watched (not when it was recorded).
        #[serde(with = "time::serde::rfc3339")]
        watched_at: OffsetDateTime,
        /// How it came about.
        action: PlayAction,
        /// Where it came from.
        source: PlaySource,
    },
    /// A play was removed from a user's history.
    PlayRemoved {
        /// Whose.
        user_id: UserId,
        /// The play's id.
        play_id: PlayId,
        /// Which movie.
        movie_id: MovieId,
        /// When it had been watched (so aggregates can undo it).
        #[serde(with = "time::serde::rfc3339")]
        watched_at: OffsetDateTime,
    },
    /// One of a user's lists, or its items, changed.
    ListChanged {
        /// Whose.
        user_id: UserId,
        /// Which list.
        list_id: ListId,
        /// What happened.
        change: ListChange,
        /// The movie, for item changes.
        movie_id: Option<MovieId>,
    },
    /// A personal API token was made (audit only: no aggregate counts it).
    TokenCreated {
        /// Whose.
        user_id: UserId,
        /// The token's id (never its secret).
        token_id: ApiTokenId,
        /// Its name.
        name: String,
        /// Its scope.
        scope: TokenScope,
    },
    /// A personal API token was revoked (audit only).
    TokenRevoked {
        /// Whose.
        user_id: UserId,
        /// The token's id.
        token_id: ApiTokenId,
    },
}

impl EventPayload {
    /// Every event type name this build knows.
    pub const TYPES: [&'static str; 14] = [
        "user_registered",
        "user_logged_in",
        "movie_viewed",
        "movie_views_counted",
        "favorite_added",
        "favorite_removed",
        "watch_status_changed",
        "movie_rated",
        "library_entry_removed",
        "play_recorded",
        "play_removed",
        "list_changed",
        "token_created",
        "token_revoked",
    ];

    /// The `event_type` name.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::UserRegistered { .. } => "user_registered",
            Self::UserLoggedIn { .. } => "user_logged_in",
            Self::MovieViewed { .. } => "movie_viewed",
            Self::MovieViewsCounted { .. } => "movie_views_counted",
            Self::FavoriteAdded { .. } => "favorite_added",
            Self::FavoriteRemoved { .. } => "favorite_removed",
            Self::WatchStatusChanged { .. } => "watch_status_changed",
            Self::MovieRated { .. } => "movie_rated",
            Self::LibraryEntryRemoved { .. } => "library_entry_removed",
            Self::PlayRecorded { .. } => "play_recorded",
            Self::PlayRemoved { .. } => "play_removed",
            Self::ListChanged { .. } => "list_changed",
            Self::TokenCreated { .. } => "token_created",
            Self::TokenRevoked { .. } => "token_revoked",
        }
    }

    /// The aggregate the event belongs to: the user for user actions (so one
    /// user's events share a partition key and stay ordered), the movie for
    /// anonymous views.
    pub fn aggregate(&self) -> (AggregateType, String) {
        match self {
            Self::UserRegistered { user_id, .. }
            | Self::UserLoggedIn { user_id }
            | Self::FavoriteAdded { user_id, .. }
            | Self::FavoriteRemoved { user_id, .. }
            | Self::WatchStatusChanged { user_id, .. }
            | Self::MovieRated { user_id, .. }
            | Self::LibraryEntryRemoved { user_id, .. }
            | Self::PlayRecorded { user_id, .. }
            | Self::PlayRemoved { user_id, .. }
            | Self::ListChanged { user_id, .. }
            | Self::TokenCreated { user_id, .. }
            | Self::TokenRevoked { user_id, .. }
            | Self::MovieViewed { user_id: Some(user_id), .. } => (AggregateType::User, user_id.to_string()),
            // itoa, not `to_string`: every anonymous view makes one, and the
            // formatting machinery showed in the cache-hit profile.
            Self::MovieViewed { movie_id, user_id: None, .. } | Self::MovieViewsCounted { movie_id, .. } => {
                (AggregateType::Movie, itoa::Buffer::new().format(movie_id.get()).to_owned())
            }
        }
    }
}

/// The kind of aggregate an event's `aggregate_id` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateType {
    /// A user id.
    User,
    /// A movie id.
    Movie,
}

/// Who caused an event, when, and under which trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// The acting user, if logged in.
    pub actor: Option<UserId>,
    /// Trace context of the request.
    pub trace: Option<TraceContext>,
    /// When the change happened.
    pub occurred_at: OffsetDateTime,
}

/// A domain event with its metadata, as stored in the outbox and published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventEnvelope {
    /// Unique id; consumers deduplicate on it.
    pub event_id: Uuid,
    /// Always [`EVENT_SCHEMA_VERSION`] for events this build writes.
    pub schema_version: u16,
    /// When the change happened.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Kind of aggregate.
    pub aggregate_type: AggregateType,
    /// Aggregate id: the partition key on the bus.
    pub aggregate_id: String,
    /// The acting user, absent for anonymous actions.
    pub actor_user_id: Option<UserId>,
    /// Trace context of the request that caused it.
    pub trace_context: Option<TraceContext>,
    /// What happened (`event_type` + `payload` on the wire).
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// A new event id: a UUID v7, its first 48 bits the event's time in
/// milliseconds, the other 74 random. Ordered by time, ids land at the end of
/// a database index rather than all over it, and a consumer that remembers
/// applied ids in generations can tell by range which generation to look
/// in. The random bits come from a CSPRNG, not fastrand: consumers
/// deduplicate by event id, so ids must not collide across threads and
/// processes; uuid's `fast-rng` draws from rand's thread-local ChaCha
/// generator, seeded from the OS, instead of a getrandom system call per id.
fn event_id(at: OffsetDateTime) -> Uuid {
    let seconds = u64::try_from(at.unix_timestamp()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.nanosecond()))
}

impl EventEnvelope {
    /// Wraps a payload with a fresh event id.
    pub fn new(payload: EventPayload, meta: &EventMeta) -> Self {
        Self::with_meta(payload, meta.clone())
    }

    /// [`EventEnvelope::new`] for a `meta` used by this one event only
    /// (its trace context is moved, not copied).
    pub fn with_meta(payload: EventPayload, meta: EventMeta) -> Self {
        let (aggregate_type, aggregate_id) = payload.aggregate();
        Self {
            event_id: event_id(meta.occurred_at),
            schema_version: EVENT_SCHEMA_VERSION,
            occurred_at: meta.occurred_at,
            aggregate_type,
            aggregate_id,
            actor_user_id: meta.actor,
            trace_context: meta.trace,
            payload,
        }
    }

    /// The `event_type` name.
    pub fn event_type(&self) -> &'static str {
        self.payload.event_type()
    }

    /// The JSON form documented in docs/events.md.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes and validates the documented JSON form. Unknown types and
    /// schema versions are refused with their own variant, so consumers can
    /// dead-letter them instead of retrying forever.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EventDecodeError> {
        #[derive(Deserialize)]
        struct Raw {
            event_id: Uuid,
            schema_version: u16,
            #[serde(with = "time::serde::rfc3339")]
            occurred_at: OffsetDateTime,
            aggregate_type: AggregateType,
            aggregate_id: String,
            actor_user_id: Option<UserId>,
            trace_context: Option<TraceContext>,
            event_type: String,
            payload: serde_json::Value,
        }
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| EventDecodeError::Malformed(e.to_string()))?;
        if raw.schema_version != EVENT_SCHEMA_VERSION {
            return Err(EventDecodeError::UnsupportedVersion(raw.schema_version));
        }
        if !EventPayload::TYPES.contains(&raw.event_type.as_str()) {
            return Err(EventDecodeError::UnknownType(raw.event_type));
        }
        let tagged = serde_json::json!({ "event_type": raw.event_type, "payload": raw.payload });
        let payload: EventPayload =
            serde_json::from_value(tagged).map_err(|e| EventDecodeError::BadPayload(e.to_string()))?;
        Ok(Self {
            event_id: raw.event_id,
            schema_version: raw.schema_version,
            occurred_at: raw.occurred_at,
            aggregate_type: raw.aggregate_type,
            aggregate_id: raw.aggregate_id,
            actor_user_id: raw.actor_user_id,
            trace_context: raw.trace_context,
            payload,
        })
    }
}

/// Why bytes are not a valid event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventDecodeError {
    /// Not JSON, or the envelope lacks a field.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// A schema version this build does not read.
    #[error("unsupported schema version {0}")]
    UnsupportedVersion(u16),
    /// An event type this build does not know.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// The payload does not match its type's schema.
    #[error("invalid payload: {0}")]
    BadPayload(String),
}

impl LibraryChange {
    /// The events that describe this change, in the order they happened.
    pub fn events(&self, meta: &EventMeta) -> Vec<EventEnvelope> {
        let mut out = Vec::new();
        match (&self.before, &self.after) {
            (before, Some(after)) => {
                let (mut old_status, mut old_rating) = before.as_ref().map_or((None, None), |b| (b.status, b.rating));
                let cleared = (old_status.is_some() && after.status.is_none())
                    || (old_rating.is_some() && after.rating.is_none());
                if let (Some(before), true) = (before, cleared) {
                    // The event types have no "cleared" form: a field that
                    // was cleared is told as the entry removed and what is
                    // left added again, which keeps every consumer's
                    // counts exact.
                    out.push(EventPayload::LibraryEntryRemoved {
                        user_id: before.user_id,
                        movie_id: before.movie.id,
                        status: before.status,
                        rating: before.rating,
                    });
                    (old_status, old_rating) = (None, None);
                }
                if let Some(to) = after.status.filter(|s| Some(*s) != old_status) {
                    out.push(EventPayload::WatchStatusChanged {
                        user_id: after.user_id,
                        movie_id: after.movie.id,
                        title: after.movie.title.clone(),
                        from: old_status,
                        to,
                    });
                }
                if let Some(rating) = after.rating.filter(|r| Some(*r) != old_rating) {
                    out.push(EventPayload::MovieRated {
                        user_id: after.user_id,
                        movie_id: after.movie.id,
                        title: after.movie.title.clone(),
                        rating,
                        previous: old_rating,
                    });
                }
            }
            (Some(before), None) => out.push(EventPayload::LibraryEntryRemoved {
                user_id: before.user_id,
                movie_id: before.movie.id,
                status: before.status,
                rating: before.rating,
            }),
            (None, None) => {}
        }
        out.into_iter().map(|p| EventEnvelope::new(p, meta)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LibraryEntry, MovieRef};

    fn meta() -> EventMeta {
        EventMeta {
            actor: None,
            trace: TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
            occurred_at: time::macros::datetime!(2026-11-28 09:30 UTC),
        }
    }

    #[test]
    fn event_ids_are_ordered_by_the_time_of_the_event() {
        let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let ids = [1_700_000_000, 1_700_000_001, 1_800_000_000].map(|s| super::event_id(at(s)));
        assert!(ids.iter().all(|id| id.get_version_num() == 7), "{ids:?}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert_ne!(super::event_id(at(1)), super::event_id(at(1)), "random within one millisecond");
    }

    #[test]
    fn envelope_round_trips_through_documented_json() {
        let user = UserId::new();
        let ev = EventEnvelope::new(
            EventPayload::MovieViewed {
                movie_id: MovieId::new(550).unwrap(),
                title: "Fight Club".into(),
                user_id: Some(user),
            },
            &meta(),
        );
        let json: serde_json::Value = serde_json::from_slice(&ev.to_json()).unwrap();
        assert_eq!(json["event_type"], "movie_viewed");
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["occurred_at"], "2026-11-28T09:30:00Z");
        assert_eq!(json["aggregate_type"], "user");
        assert_eq!(json["aggregate_id"], user.to_string());
        assert_eq!(json["payload"]["movie_id"], 550);
        assert_eq!(json["trace_context"]["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(EventEnvelope::from_json(&ev.to_json()).unwrap(), ev);
    }

    #[test]
    fn anonymous_views_are_keyed_by_movie() {
        let ev = EventEnvelope::new(
            EventPayload::MovieViewed {
                movie_id: MovieId::new(13).unwrap(),
                title: "Forrest Gump".into(),
                user_id: None,
            },
            &meta(),
        );
        assert_eq!((ev.aggregate_type, ev.aggregate_id.as_str()), (AggregateType::Movie, "13"));
    }

    #[test]
    fn bad_events_are_refused_with_their_reason() {
        let good = EventEnvelope::new(EventPayload::UserLoggedIn { user_id: UserId::new() }, &meta());
        let mut v: serde_json::Value = serde_json::from_slice(&good.to_json()).unwrap();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut c = v.clone();
            f(&mut c);
            serde_json::to_vec(&c).unwrap()
        };
        type Check = fn(&EventDecodeError) -> bool;
        let cases: Vec<(Vec<u8>, Check, &str)> = vec![
            (b"not json".to_vec(), |e| matches!(e, EventDecodeError::Malformed(_)), "not json"),
            (
                with(&|c| c["schema_version"] = 2.into()),
                |e| matches!(e, EventDecodeError::UnsupportedVersion(2)),
                "version 2",
            ),
            (
                with(&|c| c["event_type"] = "movie_deleted".into()),
                |e| matches!(e, EventDecodeError::UnknownType(_)),
                "unknown type",
            ),
            (
                with(&|c| c["payload"] = serde_json::json!({"user_id": 5})),
                |e| matches!(e, EventDecodeError::BadPayload(_)),
                "bad payload",
            ),
            (
                with(&|c| c.as_object_mut().unwrap().remove("event_id").map(drop).unwrap_or(())),
                |e| matches!(e, EventDecodeError::Malformed(_)),
                "no id",
            ),
        ];
        for (bytes, check, case) in cases {
            let err = EventEnvelope::from_json(&bytes).expect_err(case);
            assert!(check(&err), "case: {case}: got {err:?}");
        }
        v["payload"]["user_id"] = serde_json::json!(good.aggregate_id);
        assert!(EventEnvelope::from_json(&serde_json::to_vec(&v).unwrap()).is_ok());
    }

    #[test]
    fn library_changes_describe_what_changed() {
        let user = UserId::new();
        let movie = MovieRef { id: MovieId::new(603).unwrap(), title: "The Matrix".into() };
        let t = OffsetDateTime::UNIX_EPOCH;
        let entry = |status, rating: Option<i64>| LibraryEntry {
            user_id: user,
            movie: movie.clone(),
            status,
            rating: rating.map(|r| Rating::new(r).unwrap()),
            added_at: t,
            updated_at: t,
        };
        let types = |c: LibraryChange| c.events(&meta()).iter().map(|e| e.event_type()).collect::<Vec<_>>();
        let cases = [
            (None, Some(entry(Some(WatchStatus::WantToWatch), None)), vec!["watch_status_changed"], "new status"),
            (
                None,
                Some(entry(Some(WatchStatus::Watched), Some(8))),
                vec!["watch_status_changed", "movie_rated"],
                "new both",
            ),
            (
                Some(entry(Some(WatchStatus::Watched), Some(8))),
                Some(entry(Some(WatchStatus::Watched), Some(8))),
                vec![],
                "no-op",
            ),
            (
                Some(entry(Some(WatchStatus::Watched), Some(8))),
                Some(entry(Some(WatchStatus::Watched), Some(9))),
                vec!["movie_rated"],
                "re-rate",
            ),
            (Some(entry(None, Some(8))), None, vec!["library_entry_removed"], "removed"),
            (
                Some(entry(Some(WatchStatus::Watched), Some(8))),
                Some(entry(Some(WatchStatus::Watched), None)),
                vec!["library_entry_removed", "watch_status_changed"],
                "rating cleared: removed, then the status again",
            ),
        ];
        for (before, after, expected, case) in cases {
            assert_eq!(types(LibraryChange { before, after }), expected, "case: {case}");
        }
    }
}
