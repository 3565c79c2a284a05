//! Movie lists and details through the cache (cache-aside with stampede
//! protection and stale-if-error).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{MovieDetails, MovieId, MovieSummary, Page, PageRequest, SearchQuery};
use crate::error::{Cause, MovieSourceError};
use crate::ports::{get_json, set_json, Cache, Clock, MovieSource};

use super::SingleFlight;

/// Why a movie could not be served.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MovieError {
    /// The source has no such movie.
    #[error("movie not found")]
    NotFound,
    /// The source failed and no usable copy was cached.
    #[error("movie source unavailable")]
    UpstreamUnavailable(#[source] Cause),
    /// The source refused our configuration (bad API key).
    #[error("movie source misconfigured")]
    UpstreamMisconfigured(#[source] Cause),
}

impl From<MovieSourceError> for MovieError {
    fn from(e: MovieSourceError) -> Self {
        match e {
            MovieSourceError::NotFound => Self::NotFound,
            MovieSourceError::Unavailable(c) => Self::UpstreamUnavailable(c),
            MovieSourceError::Misconfigured(c) => Self::UpstreamMisconfigured(c),
        }
    }
}

/// Where a served value came from (the `X-Cache` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Fresh from the cache.
    Hit,
    /// Fetched from the source now.
    Miss,
    /// Past its TTL, served because the source failed.
    Stale,
}

impl CacheStatus {
    /// Header value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Stale => "STALE",
        }
    }
}

/// A value and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T> {
    /// The value.
    pub value: T,
    /// Hit, miss or stale.
    pub cache: CacheStatus,
}

/// Cache policy of the movie service.
#[derive(Debug, Clone)]
pub struct MoviePolicy {
    /// Namespace and schema version of every key (`watchme:v1`); bump the
    /// version when the cached shape changes so old entries are ignored.
    pub key_prefix: String,
    /// Language of the source's texts, part of every key.
    pub language: String,
    /// How long details stay fresh.
    pub details_ttl: Duration,
    /// How long popular pages stay fresh.
    pub popular_ttl: Duration,
    /// How long search results stay fresh.
    pub search_ttl: Duration,
    /// How long past its TTL an entry is kept to be served if the source fails.
    pub stale_grace: Duration,
}

impl Default for MoviePolicy {
    fn default() -> Self {
        Self {
            key_prefix: "watchme:v1".into(),
            language: "en-US".into(),
            details_ttl: Duration::from_secs(24 * 3600),
            popular_ttl: Duration::from_secs(3600),
            search_ttl: Duration::from_secs(15 * 60),
            stale_grace: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    // Unix time in milliseconds until which the value is fresh; the cache TTL
    // is longer (fresh + grace) so a stale copy survives for stale-if-error.
    fresh_until_ms: i128,
    value: T,
}

/// Popular movies, searches and details, cached.
pub struct MovieService {
    source: Arc<dyn MovieSource>,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    policy: MoviePolicy,
    details_flight: SingleFlight<Result<Fetched<MovieDetails>, MovieError>>,
    list_flight: SingleFlight<Result<Fetched<Page<MovieSummary>>, MovieError>>,
    // Set while the cache fails, so an outage is logged once, not per request.
    cache_down: AtomicBool,
    cache_bypasses: AtomicU64,
}

impl MovieService {
    /// Builds the service.
    pub fn new(
        source: Arc<dyn MovieSource>,
        cache: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
        policy: MoviePolicy,
    ) -> Self {
        Self {
            source,
            cache,
            clock,
            policy,
            details_flight: SingleFlight::new(),
            list_flight: SingleFlight::new(),
            cache_down: AtomicBool::new(false),
            cache_bypasses: AtomicU64::new(0),
        }
    }

    /// How many cache operations failed and were bypassed since start.
    pub fn cache_bypasses(&self) -> u64 {
        self.cache_bypasses.load(Ordering::Relaxed)
    }

    fn cache_failed(&self, op: &'static str, e: &crate::error::CacheError) {
        self.cache_bypasses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("watchme_cache_bypasses_total", "op" => op).increment(1);
        if !self.cache_down.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, op, "cache unavailable; bypassing it until it recovers");
        }
    }

    fn cache_ok(&self) {
        if self.cache_down.load(Ordering::Relaxed) && self.cache_down.swap(false, Ordering::Relaxed) {
            tracing::info!("cache recovered");
        }
    }

    /// The cache key of a movie's details.
    pub fn details_key(&self, id: MovieId) -> String {
        format!("{}:movie:{}:{}", self.policy.key_prefix, id, self.policy.language)
    }

    /// The prefix shared by every movie key (for invalidating all of them).
    pub fn movies_prefix(&self) -> String {
        format!("{}:movie", self.policy.key_prefix)
    }

    /// Popular movies.
    ///
    /// # Errors
    /// [`MovieError::UpstreamUnavailable`] or [`MovieError::UpstreamMisconfigured`]
    /// when the source fails and nothing usable is cached.
    pub async fn popular(&self, page: PageRequest) -> Result<Fetched<Page<MovieSummary>>, MovieError> {
        let key = format!(
            "{}:movies:popular:{}:{}:{}",
            self.policy.key_prefix,
            self.policy.language,
            page.page(),
            page.per_page()
        );
        let src = self.source.clone();
        self.cached("popular", &self.list_flight, &key, self.policy.popular_ttl, move || async move {
            src.popular(page).await
        })
        .await
    }

    /// Search results.
    ///
    /// # Errors
    /// As [`MovieService::popular`].
    pub async fn search(
        &self,
        query: &SearchQuery,
        page: PageRequest,
    ) -> Result<Fetched<Page<MovieSummary>>, MovieError> {
        let key = format!(
            "{}:movies:search:{}:{}:{}:{}:{}",
            self.policy.key_prefix,
            self.policy.language,
            query.year().map_or_else(String::new, |y| y.to_string()),
            page.page(),
            page.per_page(),
            query.text().to_lowercase()
        );
        let (src, q) = (self.source.clone(), query.clone());
        self.cached("search", &self.list_flight, &key, self.policy.search_ttl, move || async move {
            src.search(&q, page).await
        })
        .await
    }

    /// One movie's details.
    ///
    /// # Errors
    /// [`MovieError::NotFound`] when the source has no such movie, else as [`MovieService::popular`].
    pub async fn details(&self, id: MovieId) -> Result<Fetched<MovieDetails>, MovieError> {
        let key = self.details_key(id);
        let src = self.source.clone();
        self.cached("details", &self.details_flight, &key, self.policy.details_ttl, move || async move {
            src.details(id).await
        })
        .await
    }

    /// Drops one movie's cached details.
    ///
    /// # Errors
    /// The cache's error when it is down (nothing to serve stale then anyway).
    pub async fn invalidate(&self, id: MovieId) -> Result<(), crate::error::CacheError> {
        self.cache.delete(&self.details_key(id)).await
    }

    /// Drops every cached movie value (details, lists, searches); returns how many.
    ///
    /// # Errors
    /// The cache's error when it is down.
    pub async fn invalidate_all(&self) -> Result<u64, crate::error::CacheError> {
        self.cache.delete_prefix(&self.movies_prefix()).await
    }

    /// [`Self::lookup`], counted in `watchme_cache_requests_total{kind, result}`.
    async fn cached<T, F, Fut>(
        &self,
        kind: &'static str,
        flight: &SingleFlight<Result<Fetched<T>, MovieError>>,
        key: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Fetched<T>, MovieError>
    where
        T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, MovieSourceError>>,
    {
        let result = self.lookup(flight, key, ttl, fetch).await;
        let outcome = match &result {
            Ok(f) => match f.cache {
                CacheStatus::Hit => "hit",
                CacheStatus::Miss => "miss",
                CacheStatus::Stale => "stale",
            },
            Err(_) => "error",
        };
        metrics::counter!("watchme_cache_requests_total", "kind" => kind, "result" => outcome).increment(1);
        result
    }

    async fn lookup<T, F, Fut>(
        &self,
        flight: &SingleFlight<Result<Fetched<T>, MovieError>>,
        key: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Fetched<T>, MovieError>
    where
        T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, MovieSourceError>>,
    {
        let now_ms = |clock: &dyn Clock| unix_ms(clock.now());
        let stale = match get_json::<Stored<T>>(self.cache.as_ref(), key).await {
            Ok(Some(s)) if s.fresh_until_ms > now_ms(self.clock.as_ref()) => {
                self.cache_ok();
                return Ok(Fetched { value: s.value, cache: CacheStatus::Hit });
            }
            Ok(found) => {
                self.cache_ok();
                found
            }
            Err(crate::error::CacheError::Corrupt(c)) => {
                tracing::warn!(error = %c, key, "cached value undecodable; refetching");
                None
            }
            Err(e) => {
                self.cache_failed("read", &e);
                None
            }
        };
        flight
            .run(key, move || async move {
                match fetch().await {
                    Ok(value) => {
                        let stored =
                            Stored { fresh_until_ms: now_ms(self.clock.as_ref()) + ttl.as_millis() as i128, value };
                        let keep = ttl + self.policy.stale_grace;
                        if let Err(e) = set_json(self.cache.as_ref(), key, &stored, keep).await {
                            self.cache_failed("write", &e);
                        }
                        Ok(Fetched { value: stored.value, cache: CacheStatus::Miss })
                    }
                    Err(MovieSourceError::Unavailable(c)) => match stale {
                        Some(s) => {
                            tracing::warn!(error = %c, key, "movie source failed; serving stale copy");
                            Ok(Fetched { value: s.value, cache: CacheStatus::Stale })
                        }
                        None => Err(MovieError::UpstreamUnavailable(c)),
                    },
                    Err(e) => Err(e.into()),
                }
            })
            .await
    }
}

fn unix_ms(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}
