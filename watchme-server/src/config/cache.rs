//! Cache settings: the shared Redis tier, the in-process L1 and cache
//! bound, and how long each kind of movie data stays fresh.

use std::time::Duration;

use clap::Args;
use watchme_adapters::redis::RedisConfig;

use super::check::{redact_url, Check};

const DEFAULT_CACHE_L1_TTL_SECS: &str = "10";
const DEFAULT_CACHE_MAX_MB: &str = "64";
const DEFAULT_CACHE_DETAILS_TTL_SECS: &str = "86400";
const DEFAULT_CACHE_POPULAR_TTL_SECS: &str = "3600";
const DEFAULT_CACHE_SEARCH_TTL_SECS: &str = "900";
const DEFAULT_CACHE_STALE_GRACE_SECS: &str = "604800";

/// Raw cache settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Cache")]
pub struct RawCache {
    /// Redis URL for the shared cache (two-tier: in-process L1 + Redis); unset = in-process cache only.
    #[arg(long, env = "WATCHME_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, to share one Redis between deployments.
    #[arg(long, env = "WATCHME_REDIS_NAMESPACE", default_value = "")]
    pub redis_namespace: String,
    /// PEM file of the CA that signed a `rediss://` server's certificate (managed Redis with a private CA).
    #[arg(long, env = "WATCHME_REDIS_CA_FILE")]
    pub redis_ca_file: Option<std::path::PathBuf>,
    /// Seconds an entry lives in the in-process L1 in front of Redis (0 = no L1).
    #[arg(long, env = "WATCHME_CACHE_L1_TTL_SECS", default_value = DEFAULT_CACHE_L1_TTL_SECS)]
    pub cache_l1_ttl_secs: String,
    /// In-process cache size bound in MiB.
    #[arg(long, env = "WATCHME_CACHE_MAX_MB", default_value = DEFAULT_CACHE_MAX_MB)]
    pub cache_max_mb: String,
    /// Seconds movie details stay fresh in the cache.
    #[arg(long, env = "WATCHME_CACHE_DETAILS_TTL_SECS", default_value = DEFAULT_CACHE_DETAILS_TTL_SECS)]
    pub cache_details_ttl_secs: String,
    /// Seconds a popular page stays fresh.
    #[arg(long, env = "WATCHME_CACHE_POPULAR_TTL_SECS", default_value = DEFAULT_CACHE_POPULAR_TTL_SECS)]
    pub cache_popular_ttl_secs: String,
    /// Seconds a search result stays fresh.
    #[arg(long, env = "WATCHME_CACHE_SEARCH_TTL_SECS", default_value = DEFAULT_CACHE_SEARCH_TTL_SECS)]
    pub cache_search_ttl_secs: String,
    /// Seconds past its TTL an entry is kept, to be served (X-Cache: STALE) when TMDb fails.
    #[arg(long, env = "WATCHME_CACHE_STALE_GRACE_SECS", default_value = DEFAULT_CACHE_STALE_GRACE_SECS)]
    pub cache_stale_grace_secs: String,
}

/// The validated cache settings.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// The shared Redis tier, when configured.
    pub redis: Option<RedisConfig>,
    /// TTL of the in-process L1 in front of Redis.
    pub l1_ttl: Duration,
    /// In-process cache bound in bytes.
    pub max_bytes: u64,
    /// Freshness of movie details.
    pub details_ttl: Duration,
    /// Freshness of a popular page.
    pub popular_ttl: Duration,
    /// Freshness of a search result.
    pub search_ttl: Duration,
    /// How long past its TTL an entry may be served stale.
    pub stale_grace: Duration,
}

impl RawCache {
    /// The documented defaults.
    pub fn defaults() -> Self {
        Self {
            redis_url: None,
            redis_namespace: String::new(),
            redis_ca_file: None,
            cache_l1_ttl_secs: DEFAULT_CACHE_L1_TTL_SECS.into(),
            cache_max_mb: DEFAULT_CACHE_MAX_MB.into(),
            cache_details_ttl_secs: DEFAULT_CACHE_DETAILS_TTL_SECS.into(),
            cache_popular_ttl_secs: DEFAULT_CACHE_POPULAR_TTL_SECS.into(),
            cache_search_ttl_secs: DEFAULT_CACHE_SEARCH_TTL_SECS.into(),
            cache_stale_grace_secs: DEFAULT_CACHE_STALE_GRACE_SECS.into(),
        }
    }

    pub(super) fn validate(&self, c: &mut Check) -> CacheSettings {
        let redis = match self.redis_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(u) if u.starts_with("redis://") || u.starts_with("rediss://") || u.starts_with("redis+unix://") => {
                let mut r = RedisConfig::new(u);
                r.namespace = self.redis_namespace.trim().to_owned();
                if let Some(path) = &self.redis_ca_file {
                    match std::fs::read(path) {
                        Ok(pem) if u.starts_with("rediss://") => r.ca_pem = Some(pem),
                        Ok(_) => c.fail("WATCHME_REDIS_CA_FILE", "a CA file needs a rediss:// WATCHME_REDIS_URL"),
                        Err(e) => c.fail("WATCHME_REDIS_CA_FILE", format!("{}: {e}", path.display())),
                    }
                }
                Some(r)
            }
            Some(u) => {
                c.fail("WATCHME_REDIS_URL", format!("expected redis://host:port, got {:?}", redact_url(u)));
                None
            }
        };
        let ttl = |c: &mut Check, key, raw: &str| c.secs(key, raw, 1, 30 * 86_400);
        CacheSettings {
            redis,
            l1_ttl: c.secs("WATCHME_CACHE_L1_TTL_SECS", &self.cache_l1_ttl_secs, 0, 3600),
            max_bytes: c.number("WATCHME_CACHE_MAX_MB", &self.cache_max_mb, 1u64, 65_536) * 1024 * 1024,
            details_ttl: ttl(c, "WATCHME_CACHE_DETAILS_TTL_SECS", &self.cache_details_ttl_secs),
            popular_ttl: ttl(c, "WATCHME_CACHE_POPULAR_TTL_SECS", &self.cache_popular_ttl_secs),
            search_ttl: ttl(c, "WATCHME_CACHE_SEARCH_TTL_SECS", &self.cache_search_ttl_secs),
            stale_grace: c.secs("WATCHME_CACHE_STALE_GRACE_SECS", &self.cache_stale_grace_secs, 0, 90 * 86_400),
        }
    }
}
