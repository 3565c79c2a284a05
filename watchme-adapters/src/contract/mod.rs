//! Contract suites: the rustdoc contracts of the ports, as checks every
//! adapter must pass. Written once as `pub async fn`s over `&dyn Port`, and
//! run against each adapter (memory here; SQL, Redis and Kafka adapters run
//! the same functions against the real services).
//!
//! Each suite expects a fresh, empty adapter and panics with the name of
//! the broken rule. Adapters of your own can be checked the same way: enable
//! the `contract` feature and call these from a test.

mod analytics;
mod cache;
pub mod fixtures;
mod library;
mod limits;
mod outbox;
mod sessions;
mod users;

pub use analytics::{analytics_store, analytics_store_counts_a_batch_as_one_by_one};
pub use cache::{cache, cache_deletes, cache_expiry, cache_round_trip};
pub use library::{library_entries, library_favorites, library_repo, library_views};
pub use limits::rate_limiter;
pub use outbox::{outbox, outbox_atomic_with_writes, outbox_drops_published_events, record_views_stores_a_whole_batch};
pub use sessions::session_repo;
pub use users::user_repo;

use time::OffsetDateTime;
use watchme_core::domain::{
    DisplayName, Email, EventEnvelope, EventMeta, EventPayload, MovieId, MovieRef, PasswordHash, Role, User, UserId,
};

/// A user with a unique email, for suites.
pub fn sample_user(email: &str) -> User {
    User {
        id: UserId::new(),
        email: Email::parse(email).expect("valid email"),
        display_name: DisplayName::parse("Sample").expect("valid name"),
        role: Role::User,
        password_hash: PasswordHash::new("$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
        created_at: at(0),
        last_login_at: None,
    }
}

/// A fixed instant `secs` seconds after 2026-01-01T00:00:00Z; whole seconds
/// so every store round-trips it exactly.
pub fn at(secs: i64) -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 00:00 UTC) + time::Duration::seconds(secs)
}

/// Event metadata for `user` at `at(secs)`.
pub fn meta(user: Option<UserId>, secs: i64) -> EventMeta {
    EventMeta { actor: user, trace: None, occurred_at: at(secs) }
}

/// A movie reference.
pub fn movie(id: i64) -> MovieRef {
    MovieRef { id: MovieId::new(id).expect("positive id"), title: format!("Movie {id}") }
}

/// A `UserLoggedIn` event.
pub fn login_event(user: UserId, secs: i64) -> EventEnvelope {
    EventEnvelope::new(EventPayload::UserLoggedIn { user_id: user }, &meta(Some(user), secs))
}
