//! The user port: accounts, each write with its events in one atomic
//! step. Adapters: memory and SQL; contract in `watchme_adapters::contract::users`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{Email, EventEnvelope, PasswordHash, User, UserId};
use crate::error::{StorageError, UserRepoError};

/// Stores accounts.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepo: Send + Sync + 'static {
    /// Stores a new user and appends `events` to the outbox in the same
    /// atomic step: either both are stored or neither.
    ///
    /// # Errors
    /// - [`UserRepoError::EmailTaken`] when another user has the same email
    ///   (emails are compared normalised, so case never matters); nothing is stored.
    /// - [`UserRepoError::Storage`] when the store fails.
    async fn create(&self, user: &User, events: &[EventEnvelope]) -> Result<(), UserRepoError>;

    /// Finds a user by normalised email.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; an unknown email is `Ok(None)`.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StorageError>;

    /// Finds a user by id.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; an unknown id is `Ok(None)`.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StorageError>;

    /// Sets `last_login_at` and appends `events` to the outbox atomically.
    ///
    /// # Errors
    /// - [`UserRepoError::NotFound`] when no user has this id; nothing is stored.
    /// - [`UserRepoError::Storage`] when the store fails.
    async fn record_login(&self, id: UserId, at: OffsetDateTime, events: &[EventEnvelope])
        -> Result<(), UserRepoError>;

    /// Replaces the password hash (re-hash after a parameter change).
    ///
    /// # Errors
    /// - [`UserRepoError::NotFound`] when no user has this id.
    /// - [`UserRepoError::Storage`] when the store fails.
    async fn update_password_hash(&self, id: UserId, hash: &PasswordHash) -> Result<(), UserRepoError>;
}
