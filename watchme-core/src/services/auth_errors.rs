//! Why authentication use cases fail, and how the ports' errors map onto it.

use crate::error::{Cause, HashError, StorageError, UserRepoError};

/// Why a password was refused at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakPassword {
    /// It is the account's email.
    EqualsEmail,
    /// It is in the bundled list of the most common passwords.
    Common,
}

impl std::fmt::Display for WeakPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::EqualsEmail => "it must differ from the email",
            Self::Common => "it is one of the most common passwords",
        })
    }
}

/// Why an authentication use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The email is registered already.
    #[error("email already registered")]
    EmailTaken,
    /// The password is refused for this account.
    #[error("password is too easy to guess: {0}")]
    WeakPassword(WeakPassword),
    /// Wrong email or password; deliberately does not say which.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The access token is missing, invalid, expired, its session revoked, or its user gone.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The refresh token is unknown, expired, revoked, or was already used.
    #[error("invalid or expired refresh token")]
    InvalidRefreshToken,
    /// No session with this id belongs to the caller.
    #[error("session not found")]
    SessionNotFound,
    /// A dependency is down; retry later.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] Cause),
    /// Our bug or misconfiguration.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl From<StorageError> for AuthError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(c) => Self::Unavailable(c),
            StorageError::Internal(c) => Self::Internal(c),
        }
    }
}

impl From<UserRepoError> for AuthError {
    fn from(e: UserRepoError) -> Self {
        match e {
            UserRepoError::EmailTaken => Self::EmailTaken,
            UserRepoError::NotFound => Self::InvalidToken,
            UserRepoError::Storage(s) => s.into(),
        }
    }
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Malformed(c) | HashError::Internal(c) => Self::Internal(c),
        }
    }
}
