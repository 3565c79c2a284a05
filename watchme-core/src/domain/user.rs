//! Accounts: email, password, display name, ids and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Why a string is not an acceptable [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing left after trimming.
    #[error("email is empty")]
    Empty,
    /// Longer than 254 characters (RFC 5321 path limit).
    #[error("email is longer than 254 characters")]
    TooLong,
    /// Not exactly one `@`, or nothing before it.
    #[error("email must have one @ with a name before it")]
    BadAt,
    /// The domain has no dot, or an empty label.
    #[error("email domain must contain a dot")]
    BadDomain,
    /// Whitespace or control characters inside.
    #[error("email must not contain spaces or control characters")]
    BadCharacter,
}

/// An email address, trimmed and lower-cased, so two spellings of one address
/// are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Longest accepted address.
    pub const MAX_LEN: usize = 254;

    /// Validates and normalises an email address.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::BadCharacter);
        }
        let mut parts = s.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) if !l.is_empty() => (l, d),
            _ => return Err(EmailError::BadAt),
        };
        let _ = local;
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(EmailError::BadDomain);
        }
        Ok(Self(s))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, a default display name.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a string is not an acceptable [`Password`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than 8 characters.
    #[error("password must be at least 8 characters")]
    TooShort,
    /// More than 128 characters (bounds hashing cost).
    #[error("password must be at most 128 characters")]
    TooLong,
}

/// A plaintext password in transit to the hasher. Its `Debug` and `Display`
/// never print it, so it cannot leak into a log by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in characters.
    pub const MIN_LEN: usize = 8;
    /// Longest accepted password, in characters.
    pub const MAX_LEN: usize = 128;

    /// Checks the length rules; the password is kept exactly as typed.
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let n = raw.chars().count();
        if n < Self::MIN_LEN {
            return Err(PasswordError::TooShort);
        }
        if n > Self::MAX_LEN {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a string is not an acceptable [`DisplayName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    /// Nothing left after trimming.
    #[error("display name is empty")]
    Empty,
    /// More than 64 characters.
    #[error("display name must be at most 64 characters")]
    TooLong,
    /// Control characters or characters that break HTML/log output.
    #[error("display name contains forbidden characters")]
    BadCharacter,
}

/// The name shown for a user: 1 to 64 characters, trimmed, printable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest accepted name, in characters.
    pub const MAX_LEN: usize = 64;

    /// Validates a display name.
    pub fn parse(raw: &str) -> Result<Self, DisplayNameError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(DisplayNameError::TooLong);
        }
        if s.chars().any(|c| c.is_control() || matches!(c, '<' | '>')) {
            return Err(DisplayNameError::BadCharacter);
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DisplayName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DisplayName::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DisplayName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A string that is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct IdError;

/// Defines a UUID id newtype with `new`, `from_uuid`, `parse`, `as_uuid`,
/// `Default` and `Display`, so every id type behaves the same. `new` draws
/// a random UUID (v4), or uses the `uuid::Uuid` constructor named after the
/// type (`now_v7` for ids that should sort by creation time).
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $crate::domain::uuid_id!($(#[$doc])* $name, new_v4);
    };
    ($(#[$doc:meta])* $name:ident, $new:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A fresh id.
            pub fn new() -> Self {
                Self(uuid::Uuid::$new())
            }

            /// Wraps a stored UUID.
            pub fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// Parses the hyphenated UUID form.
            pub fn parse(raw: &str) -> Result<Self, $crate::domain::IdError> {
                uuid::Uuid::parse_str(raw.trim()).map(Self).map_err(|_| $crate::domain::IdError)
            }

            /// The UUID.
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use uuid_id;

uuid_id!(
    /// Identifies a user; a random UUID so ids reveal nothing about sign-up order.
    UserId
);

/// Why a string is not a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be `user` or `admin`")]
pub struct RoleError;

/// What a user may do: admins may also manage caches and other operators' tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A regular account.
    #[default]
    User,
    /// An operator.
    Admin,
}

impl Role {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(RoleError),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password hash in PHC string format; it carries its own parameters, so
/// hashes made with older parameters still verify.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A registered account as stored.
#[derive(Debug, Clone)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Normalised email, unique.
    pub email: Email,
    /// Name shown to others.
    pub display_name: DisplayName,
    /// Stored role; admin emails from config are promoted at login.
    pub role: Role,
    /// Argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// Last successful login, if any.
    pub last_login_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
        assert_eq!(e.local_part(), "ada.lovelace");
    }

    #[test]
    fn bad_emails_are_refused_with_their_reason() {
        let long = format!("{}@example.com", "a".repeat(250));
        let cases: &[(&str, EmailError, &str)] = &[
            ("", EmailError::Empty, "empty"),
            ("   ", EmailError::Empty, "blank"),
            (&long, EmailError::TooLong, "too long"),
            ("ada.example.com", EmailError::BadAt, "no @"),
            ("ada@@example.com", EmailError::BadAt, "two @"),
            ("a@b@example.com", EmailError::BadAt, "two @ apart"),
            ("@example.com", EmailError::BadAt, "nothing before @"),
            ("ada@localhost", EmailError::BadDomain, "no dot in domain"),
            ("ada@example.", EmailError::BadDomain, "empty last label"),
            ("ada@.com", EmailError::BadDomain, "empty first label"),
            ("ada lovelace@example.com", EmailError::BadCharacter, "space inside"),
            ("ada\u{0}@example.com", EmailError::BadCharacter, "control char"),
        ];
        for (input, expected, case) in cases {
            assert_eq!(Email::parse(input).as_ref(), Err(expected), "case: {case}");
        }
    }

    #[test]
    fn email_of_254_chars_is_accepted() {
        let e = format!("{}@example.com", "a".repeat(254 - 12));
        assert_eq!(e.len(), 254);
        assert!(Email::parse(&e).is_ok());
    }

    #[test]
    fn password_length_bounds() {
        let cases: &[(String, Option<PasswordError>, &str)] = &[
            ("1234567".into(), Some(PasswordError::TooShort), "7 chars"),
            ("".into(), Some(PasswordError::TooShort), "empty"),
            ("12345678".into(), None, "8 chars"),
            ("é".repeat(8), None, "8 multibyte chars"),
            ("x".repeat(128), None, "128 chars"),
            ("x".repeat(129), Some(PasswordError::TooLong), "129 chars"),
        ];
        for (input, expected, case) in cases {
            assert_eq!(Password::parse(input).err(), *expected, "case: {case}");
        }
    }

    #[test]
    fn password_is_never_printed() {
        let p = Password::parse("hunter2-secret").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(!format!("{p}").contains("hunter2"));
        assert_eq!(p.expose(), "hunter2-secret");
    }

    #[test]
    fn bad_display_names_are_refused() {
        let cases: &[(String, DisplayNameError, &str)] = &[
            ("".into(), DisplayNameError::Empty, "empty"),
            ("  \t ".into(), DisplayNameError::Empty, "blank"),
            ("x".repeat(65), DisplayNameError::TooLong, "65 chars"),
            ("bad\nname".into(), DisplayNameError::BadCharacter, "newline"),
            ("<script>".into(), DisplayNameError::BadCharacter, "angle brackets"),
        ];
        for (input, expected, case) in cases {
            assert_eq!(DisplayName::parse(input).as_ref().err(), Some(expected), "case: {case}");
        }
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
    }

    #[test]
    fn user_id_parses_uuids_only() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_string()), Ok(id));
        for bad in ["", "42", "not-a-uuid", "00000000-0000-0000-0000-00000000000g"] {
            assert_eq!(UserId::parse(bad), Err(IdError), "case: {bad:?}");
        }
    }

    #[test]
    fn roles_round_trip_and_refuse_unknown() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!("user".parse::<Role>(), Ok(Role::User));
        for bad in ["", "Admin", "root"] {
            assert_eq!(bad.parse::<Role>(), Err(RoleError), "case: {bad:?}");
        }
    }
}
