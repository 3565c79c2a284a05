//! Login sessions: one per login, the family of refresh tokens that rotate
//! from it, and what the owner is shown about it.

use std::fmt;

use time::OffsetDateTime;

use super::UserId;

super::user::uuid_id!(
    /// Identifies a login session (the refresh-token family); carried in access tokens as `sid`.
    SessionId
);

/// Who is on the other end of a request, as far as the server can tell;
/// shown to the owner in their session list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The `User-Agent` header, cut to [`ClientInfo::MAX_USER_AGENT`] characters.
    pub user_agent: Option<String>,
    /// The client's IP address (after trusted-proxy resolution).
    pub ip: Option<String>,
}

impl ClientInfo {
    /// Longest user agent kept, in characters: enough to recognise a browser, not a storage attack.
    pub const MAX_USER_AGENT: usize = 256;

    /// Client info with the user agent trimmed to its maximum length.
    pub fn new(user_agent: Option<&str>, ip: Option<String>) -> Self {
        let user_agent = user_agent
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(Self::MAX_USER_AGENT).collect::<String>())
            .filter(|ua| !ua.is_empty());
        Self { user_agent, ip }
    }
}

/// A login session: created by a login, extended by each refresh, ended by
/// logout, by its owner revoking it, by refresh-token reuse, or by expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// Whose session.
    pub user_id: UserId,
    /// When the login happened.
    pub created_at: OffsetDateTime,
    /// When a refresh token of this session was last used (the login itself at first).
    pub last_used_at: OffsetDateTime,
    /// When the current refresh token stops working unless rotated before.
    pub expires_at: OffsetDateTime,
    /// The client that logged in.
    pub client: ClientInfo,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

impl Session {
    /// Whether its tokens are still honoured at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// The hash under which a refresh token is stored (the token itself never is).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(String);

impl RefreshTokenHash {
    /// Wraps a hash computed by the token issuer.
    pub fn new(hash: impl Into<String>) -> Self {
        Self(hash.into())
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell hashes apart in a log; the rest stays out of it.
        write!(f, "RefreshTokenHash({}…)", self.0.get(..8).unwrap_or(""))
    }
}

/// An opaque refresh token as handed to the client. Never logged: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// Wraps a token string (issued by us or presented by a client).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token, for the response body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_info_drops_control_characters_and_long_agents() {
        let c = ClientInfo::new(Some(&format!("evil\n{}", "a".repeat(1000))), None);
        let ua = c.user_agent.unwrap();
        assert_eq!(ua.chars().count(), ClientInfo::MAX_USER_AGENT);
        assert!(!ua.contains('\n'));
        assert_eq!(ClientInfo::new(Some(""), None).user_agent, None);
    }

    #[test]
    fn tokens_are_never_printed() {
        assert_eq!(format!("{:?}", RefreshToken::new("secret-token")), "RefreshToken(<redacted>)");
        assert!(!format!("{:?}", RefreshTokenHash::new("0123456789abcdef")).contains("9abcdef"));
    }

    #[test]
    fn revoked_or_expired_sessions_are_inactive() {
        let t0 = time::macros::datetime!(2026-01-01 00:00 UTC);
        let mut s = Session {
            id: SessionId::new(),
            user_id: UserId::new(),
            created_at: t0,
            last_used_at: t0,
            expires_at: t0 + time::Duration::days(30),
            client: ClientInfo::default(),
            revoked_at: None,
        };
        assert!(s.is_active(t0));
        assert!(!s.is_active(t0 + time::Duration::days(30)));
        s.revoked_at = Some(t0);
        assert!(!s.is_active(t0));
    }
}
