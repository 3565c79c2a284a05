//! The OAuth 2.0 device authorization grant (RFC 8628): a device shows a
//! short code, its user approves it while logged in elsewhere, and the
//! device, polling, receives tokens once.

use time::OffsetDateTime;

use super::UserId;

super::uuid_id!(
    /// A device grant's id.
    DeviceGrantId
);

super::history::names! {
    /// Where a device grant stands.
    DeviceGrantState {
        /// Waiting for its user.
        Pending = "pending",
        /// Approved; the next poll receives tokens.
        Approved = "approved",
        /// Denied by its user.
        Denied = "denied",
        /// Its tokens were handed out.
        Used = "used",
    }
}

/// Letters a user types without confusing them (no vowels, so no words;
/// no I, O, 0 or 1).
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Length of a user code.
pub const USER_CODE_LEN: usize = 8;

/// The code a user types to approve a device: eight letters of
/// [`USER_CODE_ALPHABET`], compared without case and without a dash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserCode(String);

/// Why a string is not a [`UserCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a user code is 8 letters")]
pub struct UserCodeError;

impl UserCode {
    /// Reads a code as a user may type it (any case, dashes and spaces ignored).
    pub fn parse(raw: &str) -> Result<Self, UserCodeError> {
        let code: String = raw.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
        let valid = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        if valid {
            Ok(Self(code))
        } else {
            Err(UserCodeError)
        }
    }

    /// A code drawn from `random` bytes (at least [`USER_CODE_LEN`] of them).
    pub fn from_random(random: &[u8]) -> Self {
        let n = USER_CODE_ALPHABET.len();
        Self(random.iter().take(USER_CODE_LEN).map(|b| USER_CODE_ALPHABET[usize::from(*b) % n] as char).collect())
    }

    /// The code, upper case, no dash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One device's request to act for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// Its id.
    pub id: DeviceGrantId,
    /// The hash of the device code (the secret the device polls with).
    pub device_code_hash: String,
    /// What the user types.
    pub user_code: UserCode,
    /// The client that asked, as it named itself.
    pub client_id: String,
    /// When it was asked for.
    pub created_at: OffsetDateTime,
    /// When it stops being usable.
    pub expires_at: OffsetDateTime,
    /// Seconds a device must wait between polls.
    pub interval_secs: u32,
    /// When the device last polled.
    pub last_polled_at: Option<OffsetDateTime>,
    /// Where it stands.
    pub state: DeviceGrantState,
    /// Who approved or denied it.
    pub user_id: Option<UserId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_read_as_typed_and_refuse_others() {
        assert_eq!(UserCode::parse("bcdf-ghjk").unwrap().as_str(), "BCDFGHJK");
        for bad in ["", "BCDFGHJ", "BCDFGHJKL", "ABCDEFGH", "BCDFGHJ1"] {
            assert_eq!(UserCode::parse(bad), Err(UserCodeError), "case: {bad:?}");
        }
        let drawn = UserCode::from_random(&[0, 1, 2, 19, 20, 255, 7, 8, 9]);
        assert_eq!(UserCode::parse(drawn.as_str()).as_ref(), Ok(&drawn));
    }
}
