//! Movie lists and details through the cache (cache-aside with stampede
//! protection and stale-if-error).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::domain::{ImdbId, MovieDetails, MovieId, MovieSummary, Page, PageRequest, SearchQuery};
use crate::error::{CacheError, Cause, MovieSourceError};
use crate::ports::{encode_json, get_decoded, set_encoded, Cache, Clock, MovieSource};

use super::decode_memo::DecodeMemo;
use super::SingleFlight;

/// Bytes of encoded values each decode memo of the service remembers.
const DECODE_MEMO_BYTES: usize = 16 * 1024 * 1024;

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
    /// The value's version: the same while the cache holds the same bytes
    /// for its key, a new one once they change (a refresh, an invalidation,
    /// another replica's write). What a caller keys data it derives from
    /// the value on (the HTTP layer's encoded page).
    pub version: u64,
}

impl<T: Clone> Fetched<Arc<T>> {
    /// The value itself, cloned only if it is still shared.
    pub fn into_owned(self) -> Fetched<T> {
        Fetched { value: Arc::unwrap_or_clone(self.value), cache: self.cache, version: self.version }
    }
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
    value: Arc<T>,
}

type Flight<T> = SingleFlight<Result<Fetched<Arc<T>>, MovieError>>;

/// Popular movies, searches and details, cached.
pub struct MovieService {
    source: Arc<dyn MovieSource>,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    policy: MoviePolicy,
    details_flight: Flight<MovieDetails>,
    list_flight: Flight<Page<MovieSummary>>,
    details_memo: DecodeMemo<Stored<MovieDetails>>,
    list_memo: DecodeMemo<Stored<Page<MovieSummary>>>,
    imdb_flight: Flight<MovieId>,
    imdb_memo: DecodeMemo<Stored<MovieId>>,
    // Set while the cache fails, so an outage is logged once, not per request.
    cache_down: AtomicBool,
    cache_bypasses: AtomicU64,
    outcomes: Outcomes,
}

/// The `kind` labels of `watchme_cache_requests_total`, by [`Kind::index`].
const KINDS: [&str; 4] = ["details", "popular", "search", "imdb"];
const DETAILS: usize = 0;
const POPULAR: usize = 1;
const SEARCH: usize = 2;
const IMDB: usize = 3;
const RESULTS: [&str; 4] = ["hit", "miss", "stale", "error"];

/// The `watchme_cache_requests_total{kind, result}` handles, each made on
/// first use: finding the series by its labels on every request showed in
/// the cache-hit profile.
#[derive(Default)]
struct Outcomes([OnceLock<metrics::Counter>; KINDS.len() * RESULTS.len()]);

impl Outcomes {
    fn count(&self, kind: usize, result: usize) {
        self.0[kind * RESULTS.len() + result]
            .get_or_init(
                || metrics::counter!("watchme_cache_requests_total", "kind" => KINDS[kind], "result" => RESULTS[result]),
            )
            .increment(1);
    }
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
            details_memo: DecodeMemo::new(DECODE_MEMO_BYTES),
            list_memo: DecodeMemo::new(DECODE_MEMO_BYTES),
            imdb_flight: SingleFlight::new(),
            // An id is a few bytes: a small memo holds many.
            imdb_memo: DecodeMemo::new(DECODE_MEMO_BYTES / 16),
            cache_down: AtomicBool::new(false),
            cache_bypasses: AtomicU64::new(0),
            outcomes: Outcomes::default(),
        }
    }

    /// How many cache operations failed and were bypassed since start.
    pub fn cache_bypasses(&self) -> u64 {
        self.cache_bypasses.load(Ordering::Relaxed)
    }

    fn cache_failed(&self, op: &'static str, e: &CacheError) {
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
        // Built by hand: every movie page makes one, and `format!` showed in its profile.
        let (prefix, language) = (&self.policy.key_prefix, &self.policy.language);
        let mut key = String::with_capacity(prefix.len() + language.len() + 20);
        key.push_str(prefix);
        key.push_str(":movie:");
        key.push_str(itoa::Buffer::new().format(id.get()));
        key.push(':');
        key.push_str(language);
        key
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
        let kind = Kind { index: POPULAR, flight: &self.list_flight, memo: &self.list_memo };
        self.cached(kind, &key, self.policy.popular_ttl, move || async move { src.popular(page).await })
            .await
            .map(Fetched::into_owned)
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
        let kind = Kind { index: SEARCH, flight: &self.list_flight, memo: &self.list_memo };
        self.cached(kind, &key, self.policy.search_ttl, move || async move { src.search(&q, page).await })
            .await
            .map(Fetched::into_owned)
    }

    /// One movie's details.
    ///
    /// # Errors
    /// [`MovieError::NotFound`] when the source has no such movie, else as [`MovieService::popular`].
    pub async fn details(&self, id: MovieId) -> Result<Fetched<MovieDetails>, MovieError> {
        self.details_shared(id).await.map(Fetched::into_owned)
    }

    /// One movie's details, shared: on a cache hit this is the value every
    /// request for the same cached bytes gets, so serving it copies nothing
    /// (and a caller may key its own derived data, such as an encoded
    /// response, on [`Fetched::version`]).
    ///
    /// # Errors
    /// As [`MovieService::details`].
    pub async fn details_shared(&self, id: MovieId) -> Result<Fetched<Arc<MovieDetails>>, MovieError> {
        let key = self.details_key(id);
        let src = self.source.clone();
        let kind = Kind { index: DETAILS, flight: &self.details_flight, memo: &self.details_memo };
        self.cached(kind, &key, self.policy.details_ttl, move || async move { src.details(id).await }).await
    }

    /// The movie an IMDb id names, cached like details (with their time to
    /// live and stale copies while the source is down): imports and other
    /// trackers' clients ask for the same ids again and again.
    ///
    /// # Errors
    /// [`MovieError::NotFound`] when the source knows no movie by that id,
    /// else as [`MovieService::popular`].
    pub async fn find_by_imdb(&self, imdb: &ImdbId) -> Result<MovieId, MovieError> {
        let key = format!("{}:imdb:{}", self.policy.key_prefix, imdb.as_str());
        let (src, id) = (self.source.clone(), imdb.clone());
        let kind = Kind { index: IMDB, flight: &self.imdb_flight, memo: &self.imdb_memo };
        let found =
            self.cached(kind, &key, self.policy.details_ttl, move || async move { src.find_by_imdb(&id).await });
        found.await.map(|f| *f.value)
    }

    /// Drops one movie's cached details.
    ///
    /// # Errors
    /// The cache's error when it is down (nothing to serve stale then anyway).
    pub async fn invalidate(&self, id: MovieId) -> Result<(), CacheError> {
        let key = self.details_key(id);
        self.details_memo.forget(&key);
        self.cache.delete(&key).await
    }

    /// Drops every cached movie value (details, lists, searches); returns how many.
    ///
    /// # Errors
    /// The cache's error when it is down.
    pub async fn invalidate_all(&self) -> Result<u64, CacheError> {
        let prefix = self.movies_prefix();
        self.details_memo.forget_prefix(&prefix);
        self.list_memo.forget_prefix(&prefix);
        self.cache.delete_prefix(&prefix).await
    }

    /// [`Self::lookup`], counted in `watchme_cache_requests_total{kind, result}`.
    async fn cached<T, F, Fut>(
        &self,
        kind: Kind<'_, T>,
        key: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Fetched<Arc<T>>, MovieError>
    where
        T: Send + Sync + Serialize + DeserializeOwned + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, MovieSourceError>>,
    {
        let index = kind.index;
        let result = self.lookup(kind, key, ttl, fetch).await;
        // Indices into RESULTS.
        let outcome = match &result {
            Ok(f) => match f.cache {
                CacheStatus::Hit => 0,
                CacheStatus::Miss => 1,
                CacheStatus::Stale => 2,
            },
            Err(_) => 3,
        };
        self.outcomes.count(index, outcome);
        result
    }

    async fn lookup<T, F, Fut>(
        &self,
        kind: Kind<'_, T>,
        key: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Fetched<Arc<T>>, MovieError>
    where
        T: Send + Sync + Serialize + DeserializeOwned + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, MovieSourceError>>,
    {
        // The decode memo turns a hit on bytes it decoded before into a copy of an `Arc`.
        let read = get_decoded(self.cache.as_ref(), key, |bytes| kind.memo.decode(key, bytes));
        let stale = match read.await {
            Ok(Some((s, version))) if s.fresh_until_ms > self.clock.now_unix_ms() => {
                self.cache_ok();
                return Ok(Fetched { value: s.value.clone(), cache: CacheStatus::Hit, version });
            }
            Ok(found) => {
                self.cache_ok();
                found
            }
            Err(CacheError::Corrupt(c)) => {
                tracing::warn!(error = %c, key, "cached value undecodable; refetching");
                None
            }
            Err(e) => {
                self.cache_failed("read", &e);
                None
            }
        };
        // Boxed: the miss path is most of this future's size, and a cache
        // hit would otherwise pay for copying it through every layer above.
        Box::pin(kind.flight.run(key, move || async move {
            match fetch().await {
                Ok(value) => {
                    let fresh_until_ms = self.clock.now_unix_ms() + ttl.as_millis() as i128;
                    let stored = Arc::new(Stored { fresh_until_ms, value: Arc::new(value) });
                    let keep = ttl + self.policy.stale_grace;
                    // Remembered as encoded, so the first hit needs no decode either.
                    let mut version = 0;
                    let written = match encode_json(&*stored) {
                        Ok(bytes) => {
                            version = kind.memo.remember(key, bytes::Bytes::copy_from_slice(&bytes), stored.clone());
                            set_encoded(self.cache.as_ref(), key, bytes, keep).await
                        }
                        Err(e) => Err(e),
                    };
                    if let Err(e) = written {
                        self.cache_failed("write", &e);
                    }
                    Ok(Fetched { value: stored.value.clone(), cache: CacheStatus::Miss, version })
                }
                Err(MovieSourceError::Unavailable(c)) => match stale {
                    Some((s, version)) => {
                        tracing::warn!(error = %c, key, "movie source failed; serving stale copy");
                        Ok(Fetched { value: s.value.clone(), cache: CacheStatus::Stale, version })
                    }
                    None => Err(MovieError::UpstreamUnavailable(c)),
                },
                Err(e) => Err(e.into()),
            }
        }))
        .await
    }
}

/// One kind of cached value: its metric label, its single flight and its decode memo.
struct Kind<'a, T> {
    /// Its `kind` label in [`KINDS`].
    index: usize,
    flight: &'a Flight<T>,
    memo: &'a DecodeMemo<Stored<T>>,
}
