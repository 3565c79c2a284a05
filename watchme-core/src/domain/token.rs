//! Personal API tokens: long-lived bearer tokens for scripts and apps, each
//! with a name, a scope (read or write) and an optional expiry. The secret
//! is shown once; only its hash is stored.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::UserId;

/// What every API token starts with, so the edge tells it from a JWT
/// without trying to decode it (and secret scanners can find leaked ones).
pub const API_TOKEN_PREFIX: &str = "wmp_";

/// Longest token name.
pub const MAX_TOKEN_NAME: usize = 100;

/// Longest lifetime a token may be given, in days.
pub const MAX_TOKEN_DAYS: u32 = 3650;

super::uuid_id!(
    /// An API token's id.
    ApiTokenId
);

/// What an API token lets its bearer do: carried in the access claims of
/// a request made with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenGrant {
    /// The token.
    pub id: ApiTokenId,
    /// Its scope.
    pub scope: TokenScope,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Reads only: every write is refused (403).
    Read,
    /// Reads and writes, as the user's login would (but no token or session management).
    Write,
}

impl TokenScope {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// Why a string is not a [`TokenScope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope must be `read` or `write`")]
pub struct TokenScopeError;

impl FromStr for TokenScope {
    type Err = TokenScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            _ => Err(TokenScopeError),
        }
    }
}

/// Why a token name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a token name is 1 to {MAX_TOKEN_NAME} characters, not blank")]
pub struct TokenNameError;

/// A token's name, as its owner tells tokens apart (trimmed, not blank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenName(String);

impl TokenName {
    /// Validates a name (trimmed).
    pub fn parse(raw: &str) -> Result<Self, TokenNameError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME {
            return Err(TokenNameError);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A personal API token, as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its id.
    pub id: ApiTokenId,
    /// Whose.
    pub user_id: UserId,
    /// Its name.
    pub name: TokenName,
    /// What it may do.
    pub scope: TokenScope,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it was last used (kept to the minute or so: see the service).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiToken {
    /// Whether it works at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A token's secret (`wmp_` + 256 random bits), shown to its owner once.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenSecret(String);

impl ApiTokenSecret {
    /// Wraps a secret (made by us, or presented by a client).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiTokenSecret(<redacted>)")
    }
}

/// The hash of a secret: what is stored and looked up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiTokenHash(String);

impl ApiTokenHash {
    /// Wraps a hash (hex).
    pub fn new(hash: impl Into<String>) -> Self {
        Self(hash.into())
    }

    /// The hash, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_not_blank() {
        assert_eq!(TokenName::parse("  backup script ").unwrap().as_str(), "backup script");
        for bad in ["", "   ", "\n", &"x".repeat(MAX_TOKEN_NAME + 1)] {
            assert_eq!(TokenName::parse(bad), Err(TokenNameError), "case: {bad:?}");
        }
    }

    #[test]
    fn a_token_works_until_it_expires_or_is_revoked() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let token = ApiToken {
            id: ApiTokenId::new(),
            user_id: UserId::new(),
            name: TokenName::parse("t").unwrap(),
            scope: TokenScope::Read,
            created_at: t0,
            last_used_at: None,
            expires_at: Some(t0 + time::Duration::days(1)),
            revoked_at: None,
        };
        assert!(token.is_active(t0));
        assert!(!token.is_active(t0 + time::Duration::days(1)));
        assert!(!ApiToken { revoked_at: Some(t0), ..token.clone() }.is_active(t0));
        assert!(ApiToken { expires_at: None, ..token }.is_active(t0 + time::Duration::days(9999)));
        assert_eq!(format!("{:?}", ApiTokenSecret::new("wmp_secret")), "ApiTokenSecret(<redacted>)");
    }
}
