//! What every section's validation shares: the collector of bad values
//! ([`Check`]) with its parsers, the error it reports, and secrets that
//! never print.

use std::time::Duration;

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((creds, host)) = rest.split_once('@') else { return url.to_owned() };
    match creds.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A secret string whose `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One bad setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable (and so the flag) at fault.
    pub key: &'static str,
    /// What is wrong and what is expected.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Collects every bad value of a validation run.
pub(super) struct Check(pub(super) Vec<ConfigError>);

impl Check {
    pub(super) fn fail(&mut self, key: &'static str, message: impl Into<String>) {
        self.0.push(ConfigError { key, message: message.into() });
    }

    pub(super) fn boolean(&mut self, key: &'static str, raw: &str) -> bool {
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                self.fail(key, format!("expected true or false, got {raw:?}"));
                false
            }
        }
    }

    pub(super) fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        key: &'static str,
        raw: &str,
        min: T,
        max: T,
    ) -> T {
        match raw.trim().parse::<T>() {
            Ok(v) if v >= min && v <= max => v,
            _ => {
                self.fail(key, format!("expected a whole number from {min} to {max}, got {raw:?}"));
                min
            }
        }
    }

    /// A whole number of milliseconds within `min..=max`.
    pub(super) fn millis(&mut self, key: &'static str, raw: &str, min: u64, max: u64) -> Duration {
        Duration::from_millis(self.number(key, raw, min, max))
    }

    /// A whole number of seconds within `min..=max`.
    pub(super) fn secs(&mut self, key: &'static str, raw: &str, min: u64, max: u64) -> Duration {
        Duration::from_secs(self.number(key, raw, min, max))
    }
}
