//! Contract suites: the rustdoc contracts of the ports, as checks every
//! adapter must pass. Written once as `pub async fn`s over `&dyn Port`, and
//! run against each adapter (memory here; SQL, Redis and Kafka adapters run
//! the same functions against the real services).
//!
//! Each port's suite is a set of scenarios, one `pub async fn` each, so a
//! test per scenario reports every broken rule, not only the first. A
//! scenario expects a fresh, empty adapter (unless its doc says it may
//! share one) and panics with the name of the broken rule. Adapters of your
//! own can be checked the same way: enable the `contract` feature and call
//! every scenario of the port from a test of its own.

mod analytics;
mod bus;
mod cache;
pub mod fixtures;
mod history;
mod imports;
mod library;
mod limits;
mod lists;
mod movies;
mod outbox;
mod playback;
mod sessions;
mod tokens;
mod users;
mod webhooks;

pub use analytics::{
    analytics_store_clamps_decrements, analytics_store_counts_a_batch_as_one_by_one,
    analytics_store_counts_movie_stats, analytics_store_counts_plays, analytics_store_forgets_applied_ids,
    analytics_store_skips_duplicates, analytics_store_trending_windows, analytics_store_user_stats,
};
pub use bus::{event_bus_delivers, event_bus_that_cannot_deliver_fails_in_time, Delivered};
pub use cache::{cache_deletes, cache_expiry, cache_round_trip};
pub use history::{
    history_activity_follows_every_write, history_adds_plays_once, history_first_play_marks_watched,
    history_lists_plays, history_removes_plays,
};
pub use imports::import_jobs_one_at_a_time_per_user;
pub use library::{library_entries, library_favorites, library_views};
pub use limits::{rate_limiter_keeps_keys_and_policies_apart, rate_limiter_refills, rate_limiter_refuses_over_budget};
pub use lists::{
    list_items_are_ranked_and_reordered, list_writes_have_events_and_activity, lists_are_changed_by_their_owner_only,
    lists_are_made_with_free_slugs_up_to_a_limit,
};
pub use movies::{
    movie_source_down_is_unavailable, movie_source_finds_and_misses, movie_source_finds_by_imdb_id, movie_source_pages,
    movie_source_refused_credential_is_misconfigured, movie_source_searches_by_year, KnownMovies,
};
pub use outbox::{
    outbox_atomic_with_writes, outbox_claims_oldest_first, outbox_drops_published_events, outbox_leases_expire,
    outbox_prunes_published_only, outbox_publishes_and_releases, outbox_publishes_out_of_order,
    record_views_stores_a_whole_batch,
};
pub use playback::{device_grants_move_once, playbacks_are_one_per_movie};
pub use sessions::{
    session_repo_lists_active_sessions, session_repo_prunes, session_repo_revokes,
    session_repo_rotates_and_detects_reuse, session_repo_round_trips,
};
pub use tokens::{api_tokens_are_found_by_hash, api_tokens_list_and_revoke, api_tokens_record_use};
pub use users::{
    user_repo_misses_unknown_users, user_repo_records_logins, user_repo_refuses_a_taken_email, user_repo_round_trips,
    user_repo_updates_password_hashes,
};
pub use webhooks::webhooks_are_found_counted_and_revoked;

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
