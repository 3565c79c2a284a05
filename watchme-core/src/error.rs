//! Errors of the ports and services, one enum per family (thiserror).
//!
//! Variants name business outcomes (`EmailTaken`, `MovieNotFound`, ...). The
//! infrastructure failure behind an outcome is kept as its `source`, shared
//! through an `Arc` so errors stay `Clone`: concurrent callers that wait for
//! one upstream fetch all receive the same error.

use std::sync::Arc;

/// The native error behind a failure, kept for logs and never shown to clients.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Wraps any error as a [`Cause`].
pub fn cause<E: std::error::Error + Send + Sync + 'static>(err: E) -> Cause {
    Arc::new(err)
}

/// Wraps a plain message as a [`Cause`], for failures without a native error.
pub fn cause_msg(msg: impl Into<String>) -> Cause {
    #[derive(Debug)]
    struct Msg(String);
    impl std::fmt::Display for Msg {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Msg {}
    Arc::new(Msg(msg.into()))
}

/// `error: source: source ...`, the whole cause chain on one line, for logs.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

/// Failure of a storage port (users, library, outbox, analytics).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The store cannot be reached right now (down, pool exhausted, timeout);
    /// the caller may retry later.
    #[error("storage unavailable")]
    Unavailable(#[source] Cause),
    /// The store answered but the operation failed for a reason retrying will
    /// not fix (corrupt row, schema mismatch, bug).
    #[error("storage failure")]
    Internal(#[source] Cause),
}

/// Failure of [`crate::ports::UserRepo`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum UserRepoError {
    /// Another account already uses this (normalised) email.
    #[error("email already registered")]
    EmailTaken,
    /// No user has the given id.
    #[error("user not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Failure of a write of [`crate::ports::ListRepo`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum ListRepoError {
    /// The user has no list with this id.
    #[error("list not found")]
    NotFound,
    /// The write would pass a limit (lists per user, items per list).
    #[error("limit of {limit} reached")]
    LimitReached {
        /// The limit.
        limit: u64,
    },
    /// A reorder named movies that are not on the list.
    #[error("{} movie(s) are not on the list", .0.len())]
    NotOnList(Vec<crate::domain::MovieId>),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Failure of [`crate::ports::MovieSource`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum MovieSourceError {
    /// The source has no movie with this id.
    #[error("movie not found")]
    NotFound,
    /// The source is down, slow, rate-limiting us or answered garbage.
    #[error("movie source unavailable")]
    Unavailable(#[source] Cause),
    /// The source refused our credentials or configuration; an operator must act.
    #[error("movie source misconfigured")]
    Misconfigured(#[source] Cause),
}

/// Failure of [`crate::ports::Cache`]. Callers treat it as a miss.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CacheError {
    /// The cache cannot be reached.
    #[error("cache unavailable")]
    Unavailable(#[source] Cause),
    /// A stored value could not be decoded (written by another version).
    #[error("cache value undecodable")]
    Corrupt(#[source] Cause),
}

/// Failure of [`crate::ports::EventBus`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum EventBusError {
    /// The bus did not accept the batch; none of it may be considered delivered.
    #[error("event bus unavailable")]
    Unavailable(#[source] Cause),
}

/// Failure of [`crate::ports::PasswordHasher`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum HashError {
    /// The stored hash is not in a format the hasher understands.
    #[error("malformed password hash")]
    Malformed(#[source] Cause),
    /// Hashing itself failed (out of memory, blocking pool gone).
    #[error("password hashing failed")]
    Internal(#[source] Cause),
}

/// Failure of [`crate::ports::TokenIssuer`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The token is malformed, forged, expired or not for us.
    #[error("invalid token")]
    Invalid,
    /// Signing failed (bad key configuration).
    #[error("token signing failed")]
    Internal(#[source] Cause),
}

/// Failure of [`crate::ports::RateLimiter`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum RateLimitError {
    /// The limiter's store cannot be reached.
    #[error("rate limiter unavailable")]
    Unavailable(#[source] Cause),
}
