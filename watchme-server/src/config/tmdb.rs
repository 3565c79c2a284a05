//! TMDb settings: the credential (without one the bundled catalog is
//! served), where TMDb is, its language and region, and our own limits.

use clap::Args;
use watchme_adapters::tmdb::{TmdbAuth, TmdbConfig};

use super::check::Check;

const DEFAULT_TMDB_BASE_URL: &str = "https://api.themoviedb.org/3";
const DEFAULT_TMDB_IMAGE_BASE_URL: &str = "https://image.tmdb.org/t/p";
const DEFAULT_TMDB_LANGUAGE: &str = "en-US";
const DEFAULT_TMDB_TIMEOUT_MS: &str = "5000";
const DEFAULT_TMDB_RATE_LIMIT: &str = "40";
const DEFAULT_TMDB_BREAKER_COOLDOWN_SECS: &str = "10";

/// Raw TMDb settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "TMDb")]
pub struct RawTmdb {
    /// TMDb v3 API key.
    #[arg(long, env = "WATCHME_TMDB_API_KEY", hide_env_values = true)]
    pub tmdb_api_key: Option<String>,
    /// TMDb v4 read access token.
    #[arg(long, env = "WATCHME_TMDB_TOKEN", hide_env_values = true)]
    pub tmdb_token: Option<String>,
    /// TMDb API base URL.
    #[arg(long, env = "WATCHME_TMDB_BASE_URL", default_value = DEFAULT_TMDB_BASE_URL)]
    pub tmdb_base_url: String,
    /// TMDb image base URL (posters and backdrops).
    #[arg(long, env = "WATCHME_TMDB_IMAGE_BASE_URL", default_value = DEFAULT_TMDB_IMAGE_BASE_URL)]
    pub tmdb_image_base_url: String,
    /// Language of TMDb texts (ISO 639-1, optionally with region: en-US).
    #[arg(long, env = "WATCHME_TMDB_LANGUAGE", default_value = DEFAULT_TMDB_LANGUAGE)]
    pub tmdb_language: String,
    /// Region for popular lists (ISO 3166-1, e.g. US); unset = worldwide.
    #[arg(long, env = "WATCHME_TMDB_REGION")]
    pub tmdb_region: Option<String>,
    /// Total timeout of one TMDb request, in milliseconds.
    #[arg(long, env = "WATCHME_TMDB_TIMEOUT_MS", default_value = DEFAULT_TMDB_TIMEOUT_MS)]
    pub tmdb_timeout_ms: String,
    /// Requests per second we allow ourselves towards TMDb (TMDb allows about 50).
    #[arg(long, env = "WATCHME_TMDB_RATE_LIMIT", default_value = DEFAULT_TMDB_RATE_LIMIT)]
    pub tmdb_rate_limit: String,
    /// Seconds the circuit breaker stays open after 5 failed calls before one
    /// trial call (the longest a recovered TMDb goes unnoticed).
    #[arg(long, env = "WATCHME_TMDB_BREAKER_COOLDOWN_SECS", default_value = DEFAULT_TMDB_BREAKER_COOLDOWN_SECS)]
    pub tmdb_breaker_cooldown_secs: String,
}

fn http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

impl RawTmdb {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            tmdb_api_key: None,
            tmdb_token: None,
            tmdb_base_url: DEFAULT_TMDB_BASE_URL.into(),
            tmdb_image_base_url: DEFAULT_TMDB_IMAGE_BASE_URL.into(),
            tmdb_language: DEFAULT_TMDB_LANGUAGE.into(),
            tmdb_region: None,
            tmdb_timeout_ms: DEFAULT_TMDB_TIMEOUT_MS.into(),
            tmdb_rate_limit: DEFAULT_TMDB_RATE_LIMIT.into(),
            tmdb_breaker_cooldown_secs: DEFAULT_TMDB_BREAKER_COOLDOWN_SECS.into(),
        }
    }

    /// Validates; `None` when no credential is set (the bundled catalog is served).
    pub(super) fn validate(&self, c: &mut Check) -> Option<TmdbConfig> {
        let nonempty = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let auth = match (nonempty(&self.tmdb_api_key), nonempty(&self.tmdb_token)) {
            (Some(_), Some(_)) => {
                c.fail("WATCHME_TMDB_TOKEN", "set either WATCHME_TMDB_API_KEY or WATCHME_TMDB_TOKEN, not both");
                None
            }
            (Some(k), None) => Some(TmdbAuth::ApiKey(k)),
            (None, Some(t)) => Some(TmdbAuth::Token(t)),
            (None, None) => None,
        };
        if !http_url(&self.tmdb_base_url) {
            c.fail(
                "WATCHME_TMDB_BASE_URL",
                format!("expected an http:// or https:// URL, got {:?}", self.tmdb_base_url),
            );
        }
        let language = self.tmdb_language.trim().to_owned();
        if language.is_empty()
            || language.len() > 10
            || !language.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        {
            c.fail("WATCHME_TMDB_LANGUAGE", format!("expected a language tag such as en-US, got {language:?}"));
        }
        let region = nonempty(&self.tmdb_region);
        if region.as_deref().is_some_and(|r| r.len() != 2 || !r.chars().all(|ch| ch.is_ascii_alphabetic())) {
            c.fail("WATCHME_TMDB_REGION", "expected a two-letter country code such as US");
        }
        if !http_url(&self.tmdb_image_base_url) {
            c.fail(
                "WATCHME_TMDB_IMAGE_BASE_URL",
                format!("expected an http(s) URL, got {:?}", self.tmdb_image_base_url),
            );
        }
        let timeout = c.millis("WATCHME_TMDB_TIMEOUT_MS", &self.tmdb_timeout_ms, 100, 60_000);
        let rate_limit_per_sec = c.number("WATCHME_TMDB_RATE_LIMIT", &self.tmdb_rate_limit, 1u32, 1000);
        let breaker_cooldown = c.secs("WATCHME_TMDB_BREAKER_COOLDOWN_SECS", &self.tmdb_breaker_cooldown_secs, 1, 3600);
        auth.map(|auth| TmdbConfig {
            base_url: self.tmdb_base_url.trim().to_owned(),
            language,
            region,
            image_base_url: self.tmdb_image_base_url.trim().to_owned(),
            timeout,
            rate_limit_per_sec,
            breaker_cooldown,
            ..TmdbConfig::new(auth)
        })
    }
}
