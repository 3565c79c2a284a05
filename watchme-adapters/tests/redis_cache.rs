//! The Redis and two-tier caches against real Redis: the shared one on
//! 127.0.0.1:6379, and a redis-server of this test's own on a spare port for
//! the outage test (so the shared one keeps serving the other tests).

use std::sync::Arc;
use std::time::{Duration, Instant};

use watchme_adapters::catalog::CatalogSource;
use watchme_adapters::contract;
use watchme_adapters::contract::fixtures::OwnRedis;
use watchme_adapters::redis::{RedisCache, RedisConfig, TwoTierCache};
use watchme_core::domain::MovieId;
use watchme_core::ports::{Cache, SystemClock};
use watchme_core::services::{CacheStatus, MoviePolicy, MovieService};

fn shared(namespace: &str) -> RedisCache {
    let mut cfg =
        RedisConfig::new(std::env::var("WATCHME_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()));
    cfg.namespace = format!("test-{namespace}-{}:", uuid::Uuid::new_v4().simple());
    RedisCache::new(cfg).unwrap()
}

/// The shared Redis, checked to be there so a missing one says so.
async fn checked(namespace: &str) -> RedisCache {
    let cache = shared(namespace);
    cache.ping().await.expect("Redis must be running on 127.0.0.1:6379 for these tests");
    cache
}

fn two_tier(namespace: &str) -> TwoTierCache {
    TwoTierCache::start(shared(namespace), 1 << 20, Duration::from_secs(5))
}

/// One test per scenario of the Cache contract, for the Redis cache and the
/// two-tier cache over it.
macro_rules! scenarios {
    ($($scenario:ident),*) => {
        mod redis {
            use super::*;
            $(#[tokio::test] async fn $scenario() { contract::$scenario(&checked("contract").await).await; })*
        }
        mod two_tier {
            use super::*;
            $(#[tokio::test] async fn $scenario() { contract::$scenario(&two_tier("two-tier")).await; })*
        }
    };
}

scenarios!(cache_round_trip, cache_expiry, cache_deletes);

/// `WATCHME_CACHE_L1_TTL_SECS=0`: every read goes to Redis; zero means
/// nothing kept in process, never "kept forever".
#[tokio::test]
async fn a_zero_l1_ttl_is_redis_only_and_keeps_nothing_in_process() {
    let redis_only = TwoTierCache::start(shared("redis-only"), 1 << 20, Duration::ZERO);
    contract::cache_round_trip(&redis_only).await;
    contract::cache_expiry(&redis_only).await;
    contract::cache_deletes(&redis_only).await;
    redis_only.set("movie:7", b"v".to_vec(), Duration::from_secs(60)).await.unwrap();
    assert_eq!(redis_only.get("movie:7").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert!(redis_only.l1().is_empty(), "nothing is kept in process");
    assert_eq!(redis_only.l2().get("movie:7").await.unwrap().as_deref(), Some(&b"v"[..]), "Redis has it");
}

#[tokio::test]
async fn keys_of_two_namespaces_never_collide() {
    let (a, b) = (shared("a"), shared("b"));
    a.set("movie:1", b"from a".to_vec(), Duration::from_secs(60)).await.unwrap();
    b.set("movie:1", b"from b".to_vec(), Duration::from_secs(60)).await.unwrap();
    assert_eq!(a.get("movie:1").await.unwrap().as_deref(), Some(&b"from a"[..]));
    assert_eq!(b.delete_prefix("movie:").await.unwrap(), 1);
    assert_eq!(a.get("movie:1").await.unwrap().as_deref(), Some(&b"from a"[..]), "b's prefix delete left a alone");
    a.delete_prefix("").await.unwrap();
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_invalidation_on_one_replica_reaches_the_l1_of_another() {
    let l2 = shared("replicas");
    let replica_a = TwoTierCache::start(l2.clone(), 1 << 20, Duration::from_secs(60));
    let replica_b = TwoTierCache::start(l2.clone(), 1 << 20, Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(200)).await; // both subscribers connected
    for key in ["movie:550", "movie:603"] {
        replica_a.set(key, b"v".to_vec(), Duration::from_secs(60)).await.unwrap();
        assert!(replica_b.get(key).await.unwrap().is_some());
        assert!(replica_b.l1().get(key).await.unwrap().is_some(), "B's L1 holds {key}");
    }
    replica_a.delete("movie:550").await.unwrap();
    eventually("B's L1 dropping the deleted key", async || replica_b.l1().get("movie:550").await.unwrap().is_none())
        .await;
    assert!(replica_b.l1().get("movie:603").await.unwrap().is_some(), "other keys stay");
    replica_a.delete_prefix("movie:").await.unwrap();
    eventually("B's L1 dropping the prefix", async || replica_b.l1().get("movie:603").await.unwrap().is_none()).await;
    assert!(replica_b.get("movie:603").await.unwrap().is_none());
}

#[tokio::test]
async fn movie_pages_keep_working_while_redis_is_down() {
    let mut redis = OwnRedis::start();
    let cache = RedisCache::new(RedisConfig::new(redis.url())).unwrap();
    let two_tier = TwoTierCache::start(cache.clone(), 1 << 20, Duration::from_secs(1));
    let movies = MovieService::new(
        Arc::new(CatalogSource::bundled().unwrap()),
        Arc::new(two_tier),
        Arc::new(SystemClock),
        MoviePolicy::default(),
    );
    let id = |n| MovieId::new(n).unwrap();
    assert_eq!(movies.details(id(550)).await.unwrap().cache, CacheStatus::Miss);
    assert_eq!(movies.details(id(550)).await.unwrap().cache, CacheStatus::Hit);
    assert!(cache.get("watchme:v1:movie:550:en-US").await.unwrap().is_some(), "written through to Redis");

    redis.stop();
    for n in [550, 603, 13] {
        let started = Instant::now();
        let got = movies.details(id(n)).await.expect("served while Redis is down");
        assert!(started.elapsed() < Duration::from_secs(2), "a dead Redis costs a bounded wait, not a hang");
        assert!(!got.value.title.is_empty());
    }
    assert!(movies.cache_bypasses() > 0, "the outage is counted");

    let redis = OwnRedis::start_on(redis.port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if cache.ping().await.is_ok() && cache.set("probe", b"1".to_vec(), Duration::from_secs(5)).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "never reconnected to Redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    movies.details(id(278)).await.unwrap();
    assert!(cache.get("watchme:v1:movie:278:en-US").await.unwrap().is_some(), "writes reach Redis again");
    drop(redis);
}

/// Found by the soak test: with Redis killed, every cache and rate-limit
/// operation waited its 250 ms timeout, so a page doing three of them took
/// 760 ms for the whole outage. After one failure, operations fail at once
/// but for one probe a second, and the first probe after Redis is back
/// restores it.
#[tokio::test]
async fn a_dead_redis_fails_operations_at_once_after_the_first_failure() {
    let mut redis = OwnRedis::start();
    let cache = RedisCache::new(RedisConfig::new(redis.url())).unwrap();
    cache.set("k", b"v".to_vec(), Duration::from_secs(60)).await.unwrap();
    redis.stop();
    let deadline = Instant::now() + Duration::from_secs(5);
    while cache.get("k").await.is_ok() {
        assert!(Instant::now() < deadline, "the dead Redis is noticed");
    }
    let started = Instant::now();
    let mut failed_fast = 0;
    for _ in 0..50 {
        let op = Instant::now();
        assert!(cache.get("k").await.is_err());
        if op.elapsed() < Duration::from_millis(20) {
            failed_fast += 1;
        }
    }
    assert!(failed_fast >= 48, "{failed_fast} of 50 operations failed at once (at most one probe a second waits)");
    assert!(started.elapsed() < Duration::from_millis(900), "50 operations on a dead Redis: {:?}", started.elapsed());

    let _redis = OwnRedis::start_on(redis.port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.set("k", b"again".to_vec(), Duration::from_secs(60)).await.is_err() {
        assert!(Instant::now() < deadline, "a probe reconnects once Redis is back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some(&b"again"[..]));
}
