//! MovieService: cache-aside, single flight, stale-if-error, cache outages.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use watchme_adapters::catalog::CatalogSource;
use watchme_adapters::memory::MemoryCache;
use watchme_core::domain::{MovieDetails, MovieId, MovieSummary, Page, PageRequest, SearchQuery};
use watchme_core::error::{cause_msg, CacheError, MovieSourceError};
use watchme_core::ports::{MockCache, MockMovieSource, MovieSource, SystemClock};
use watchme_core::services::{CacheStatus, MovieError, MoviePolicy, MovieService};

fn id(n: i64) -> MovieId {
    MovieId::new(n).unwrap()
}

async fn fight_club() -> MovieDetails {
    CatalogSource::bundled().unwrap().details(id(550)).await.unwrap()
}

/// A catalog that counts calls, waits before answering and can be made to fail.
struct SlowCountingSource {
    inner: CatalogSource,
    calls: AtomicUsize,
    delay: Duration,
    failing: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl MovieSource for SlowCountingSource {
    async fn popular(&self, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        self.inner.popular(page).await
    }
    async fn search(&self, q: &SearchQuery, page: PageRequest) -> Result<Page<MovieSummary>, MovieSourceError> {
        self.inner.search(q, page).await
    }
    async fn details(&self, id: MovieId) -> Result<MovieDetails, MovieSourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        if self.failing.load(Ordering::SeqCst) {
            return Err(MovieSourceError::Unavailable(cause_msg("TMDb is down")));
        }
        self.inner.details(id).await
    }
    async fn find_by_imdb(&self, imdb: &watchme_core::domain::ImdbId) -> Result<MovieId, MovieSourceError> {
        self.inner.find_by_imdb(imdb).await
    }
}

fn slow_source() -> Arc<SlowCountingSource> {
    Arc::new(SlowCountingSource {
        inner: CatalogSource::bundled().unwrap(),
        calls: AtomicUsize::new(0),
        delay: Duration::from_millis(50),
        failing: false.into(),
    })
}

#[tokio::test]
async fn a_cache_hit_never_calls_the_movie_source() {
    let details = fight_club().await;
    let mut source = MockMovieSource::new();
    source.expect_details().times(1).returning(move |_| Ok(details.clone()));
    let svc = MovieService::new(
        Arc::new(source),
        Arc::new(MemoryCache::default()),
        Arc::new(SystemClock),
        MoviePolicy::default(),
    );
    assert_eq!(svc.details(id(550)).await.unwrap().cache, CacheStatus::Miss);
    for _ in 0..1000 {
        assert_eq!(svc.details(id(550)).await.unwrap().cache, CacheStatus::Hit);
    }
    // The mock panics on drop if details was called more than once.
}

#[tokio::test]
async fn an_imdb_id_is_looked_up_once_then_served_from_the_cache() {
    let mut source = MockMovieSource::new();
    source.expect_find_by_imdb().times(1).returning(|imdb| {
        if imdb.as_str() == "tt0133093" {
            Ok(id(603))
        } else {
            Err(MovieSourceError::NotFound)
        }
    });
    let svc = MovieService::new(
        Arc::new(source),
        Arc::new(MemoryCache::default()),
        Arc::new(SystemClock),
        MoviePolicy::default(),
    );
    let matrix = watchme_core::domain::ImdbId::parse("tt0133093").unwrap();
    for _ in 0..100 {
        assert_eq!(svc.find_by_imdb(&matrix).await.unwrap(), id(603));
    }
    // The mock panics on drop if the source was asked more than once.
}

#[tokio::test]
async fn an_unknown_imdb_id_is_not_found() {
    let svc = MovieService::new(
        Arc::new(CatalogSource::bundled().unwrap()),
        Arc::new(MemoryCache::default()),
        Arc::new(SystemClock),
        MoviePolicy::default(),
    );
    let nobody = watchme_core::domain::ImdbId::parse("tt0000001").unwrap();
    assert!(matches!(svc.find_by_imdb(&nobody).await, Err(watchme_core::services::MovieError::NotFound)));
    let fight_club = watchme_core::domain::ImdbId::parse("tt0137523").unwrap();
    assert_eq!(svc.find_by_imdb(&fight_club).await.unwrap(), id(550));
}

#[tokio::test]
async fn ten_concurrent_misses_call_the_source_once() {
    let source = slow_source();
    let svc = Arc::new(MovieService::new(
        source.clone(),
        Arc::new(MemoryCache::default()),
        Arc::new(SystemClock),
        MoviePolicy::default(),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let svc = svc.clone();
        tasks.spawn(async move { svc.details(id(603)).await.map(|f| f.value.title) });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap(), "The Matrix");
    }
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_expired_entry_is_served_stale_when_the_source_fails() {
    let source = slow_source();
    let policy = MoviePolicy {
        details_ttl: Duration::from_millis(1),
        stale_grace: Duration::from_secs(60),
        ..MoviePolicy::default()
    };
    let svc = MovieService::new(source.clone(), Arc::new(MemoryCache::default()), Arc::new(SystemClock), policy);
    assert_eq!(svc.details(id(13)).await.unwrap().cache, CacheStatus::Miss);
    tokio::time::sleep(Duration::from_millis(20)).await;
    source.failing.store(true, Ordering::SeqCst);
    let stale = svc.details(id(13)).await.unwrap();
    assert_eq!((stale.cache, stale.value.title.as_str()), (CacheStatus::Stale, "Forrest Gump"));
    // Without a stale copy the failure shows.
    assert!(matches!(svc.details(id(550)).await, Err(MovieError::UpstreamUnavailable(_))));
    source.failing.store(false, Ordering::SeqCst);
    assert_eq!(svc.details(id(13)).await.unwrap().cache, CacheStatus::Miss);
}

#[tokio::test]
async fn unknown_movies_are_not_found() {
    let k = common::kit();
    assert!(matches!(k.movies.details(id(999_999_999)).await, Err(MovieError::NotFound)));
}

#[tokio::test]
async fn a_cache_that_is_down_is_bypassed() {
    let mut cache = MockCache::new();
    cache.expect_get().returning(|_| Err(CacheError::Unavailable(cause_msg("connection refused"))));
    cache.expect_set().returning(|_, _, _| Err(CacheError::Unavailable(cause_msg("connection refused"))));
    let source = slow_source();
    let svc = MovieService::new(source.clone(), Arc::new(cache), Arc::new(SystemClock), MoviePolicy::default());
    for _ in 0..3 {
        assert_eq!(svc.details(id(550)).await.unwrap().cache, CacheStatus::Miss);
    }
    assert_eq!(source.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn lists_are_cached_per_page_and_query() {
    let k = common::kit();
    let p = PageRequest::new(Some(1), Some(5)).unwrap();
    assert_eq!(k.movies.popular(p).await.unwrap().cache, CacheStatus::Miss);
    assert_eq!(k.movies.popular(p).await.unwrap().cache, CacheStatus::Hit);
    assert_eq!(k.movies.popular(PageRequest::new(Some(2), Some(5)).unwrap()).await.unwrap().cache, CacheStatus::Miss);
    let q = SearchQuery::new("Star Wars", None).unwrap();
    let first = k.movies.search(&q, p).await.unwrap();
    assert_eq!((first.cache, first.value.items[0].id.get()), (CacheStatus::Miss, 11));
    let same = SearchQuery::new("  star   wars ", None).unwrap();
    assert_eq!(k.movies.search(&same, p).await.unwrap().cache, CacheStatus::Hit, "equivalent searches share a key");
    assert!(k.movies.invalidate_all().await.unwrap() >= 3);
    assert_eq!(k.movies.popular(p).await.unwrap().cache, CacheStatus::Miss);
}

/// A source answering Fight Club under the given title.
fn titled(title: &'static str, details: MovieDetails) -> MockMovieSource {
    let mut source = MockMovieSource::new();
    source.expect_details().returning(move |_| Ok(MovieDetails { title: title.into(), ..details.clone() }));
    source
}

#[tokio::test]
async fn hits_share_one_decoded_value_that_never_outlives_the_cached_bytes() {
    let details = fight_club().await;
    // Two replicas sharing one cache, as over Redis.
    let cache = Arc::new(MemoryCache::default());
    let replica = |title| {
        MovieService::new(
            Arc::new(titled(title, details.clone())),
            cache.clone(),
            Arc::new(SystemClock),
            MoviePolicy::default(),
        )
    };
    let (a, b) = (replica("Version A"), replica("Version B"));
    assert_eq!(a.details_shared(id(550)).await.unwrap().value.title, "Version A");
    let first = a.details_shared(id(550)).await.unwrap();
    let second = a.details_shared(id(550)).await.unwrap();
    assert_eq!(first.cache, CacheStatus::Hit);
    assert!(Arc::ptr_eq(&first.value, &second.value), "hits on the same bytes share one decoded value");

    // The other replica replaces the entry: A's memo must not hide it.
    b.invalidate(id(550)).await.unwrap();
    assert_eq!(b.details(id(550)).await.unwrap().value.title, "Version B");
    let after = a.details_shared(id(550)).await.unwrap();
    assert_eq!((after.cache, after.value.title.as_str()), (CacheStatus::Hit, "Version B"));
    assert!(!Arc::ptr_eq(&first.value, &after.value));

    // Deleted behind A's back: a miss, fetched from A's source again.
    b.invalidate(id(550)).await.unwrap();
    let refetched = a.details_shared(id(550)).await.unwrap();
    assert_eq!((refetched.cache, refetched.value.title.as_str()), (CacheStatus::Miss, "Version A"));
}

#[test]
fn details_keys_are_namespaced_versioned_and_per_language() {
    let svc = |language: &str| {
        let policy = MoviePolicy { language: language.into(), ..MoviePolicy::default() };
        MovieService::new(
            Arc::new(MockMovieSource::new()),
            Arc::new(MemoryCache::default()),
            Arc::new(SystemClock),
            policy,
        )
    };
    let en = svc("en-US");
    assert_eq!(en.details_key(id(550)), "watchme:v1:movie:550:en-US");
    assert_eq!(en.details_key(id(1)), "watchme:v1:movie:1:en-US");
    assert_eq!(en.details_key(MovieId::new(i64::MAX).unwrap()), format!("watchme:v1:movie:{}:en-US", MovieId::MAX));
    assert_eq!(svc("de-DE").details_key(id(10)), "watchme:v1:movie:10:de-DE");
    assert!(en.details_key(id(550)).starts_with(&en.movies_prefix()));
}
