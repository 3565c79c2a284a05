//! Translation of sqlx errors into the ports' storage errors.

use watchme_core::error::{cause, StorageError};

/// Connection-level failures are `Unavailable` (retry later, 503); anything
/// the database answered is `Internal`.
pub fn storage_error(e: sqlx::Error) -> StorageError {
    let unavailable = match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            // PostgreSQL classes 08 (connection), 53 (resources), 57 (operator
            // intervention, e.g. shutdown), query_canceled by statement_timeout;
            // SQLite BUSY/LOCKED.
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "5"
                || code == "6"
                || code == "517"
                || code == "262"
        }
        _ => false,
    };
    if unavailable {
        StorageError::Unavailable(cause(e))
    } else {
        StorageError::Internal(cause(e))
    }
}

/// Whether the error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A stored value that does not decode into a domain type.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Internal(watchme_core::error::cause_msg(format!("stored {what} is invalid: {detail}")))
}
