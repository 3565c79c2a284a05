//! The bundled list of the most common passwords, refused at registration.

use std::collections::HashSet;
use std::sync::LazyLock;

static LIST: &str = include_str!("../../data/common-passwords.txt");

// Built on first use (about 20,000 entries, a few milliseconds), then shared.
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| LIST.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect());

/// Whether `password` (compared case-insensitively, ignoring surrounding
/// spaces) is in the bundled list of 19,640 common passwords.
pub fn is_common_password(password: &str) -> bool {
    COMMON.contains(password.trim().to_lowercase().as_str())
}

/// How many passwords the bundled list holds.
pub fn common_password_count() -> usize {
    COMMON.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_large_and_matches_case_insensitively() {
        assert!(common_password_count() >= 10_000, "{}", common_password_count());
        for p in ["password", "Password123", "QWERTYUIOP", " letmein1 "] {
            assert!(is_common_password(p), "{p}");
        }
        assert!(!is_common_password("correct horse"));
        assert!(!is_common_password("#"));
    }
}
