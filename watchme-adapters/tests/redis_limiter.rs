//! The Redis rate limiter against the local Redis (127.0.0.1:6379), and the
//! outage rules of `RateLimits` against a Redis of the test's own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use watchme_adapters::contract;
use watchme_adapters::contract::fixtures::OwnRedis;
use watchme_adapters::memory::MemoryRateLimiter;
use watchme_adapters::redis::{RedisCache, RedisConfig, RedisRateLimiter};
use watchme_core::ports::{RateLimiter, RatePolicy};
use watchme_core::services::{AuthAttempt, RateLimits, RatePolicies, Requester};

fn shared_limiter(namespace: &str) -> RedisRateLimiter {
    let mut cfg = RedisConfig::new("redis://127.0.0.1:6379");
    cfg.namespace = namespace.to_owned();
    RedisRateLimiter::new(RedisCache::new(cfg).unwrap())
}

fn unique() -> String {
    format!("test-rl-{}:", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn redis_rate_limiter_refuses_over_budget() {
    contract::rate_limiter_refuses_over_budget(&shared_limiter(&unique()), "redis").await;
}

#[tokio::test]
async fn redis_rate_limiter_keeps_keys_and_policies_apart() {
    contract::rate_limiter_keeps_keys_and_policies_apart(&shared_limiter(&unique()), "redis").await;
}

#[tokio::test]
async fn redis_rate_limiter_refills() {
    contract::rate_limiter_refills(&shared_limiter(&unique()), "redis").await;
}

#[tokio::test]
async fn two_replicas_share_one_budget() {
    let ns = unique();
    let (a, b) = (shared_limiter(&ns), shared_limiter(&ns));
    let policy = RatePolicy::new("login-ip", 20, Duration::from_secs(900));
    for n in 0..20 {
        let replica: &dyn RateLimiter = if n % 2 == 0 { &a } else { &b };
        assert!(replica.check(&policy, "203.0.113.9").await.unwrap().allowed, "attempt {}", n + 1);
    }
    let refused = b.check(&policy, "203.0.113.9").await.unwrap();
    assert!(!refused.allowed, "the 21st attempt, on either replica, is refused");
    assert!(refused.retry_after.unwrap() > Duration::from_secs(40));
    let other_ns = shared_limiter(&unique());
    assert!(other_ns.check(&policy, "203.0.113.9").await.unwrap().allowed, "namespaces do not share budgets");
}

#[tokio::test]
async fn with_redis_down_requests_fail_open_and_credential_attempts_fall_back() {
    let mut redis = OwnRedis::start();
    let limiter = RedisRateLimiter::new(RedisCache::new(RedisConfig::new(redis.url())).unwrap());
    let policies = RatePolicies {
        anonymous: RatePolicy::new("anon", 2, Duration::from_secs(60)),
        auth_per_ip: RatePolicy::new("auth-ip", 3, Duration::from_secs(900)),
        ..RatePolicies::default()
    };
    let limits = RateLimits::new(Arc::new(limiter), Arc::new(MemoryRateLimiter::new()), policies);
    assert!(limits.request(Requester::Anonymous("10.1.1.1")).await.allowed);
    assert!(limits.request(Requester::Anonymous("10.1.1.1")).await.allowed);
    assert!(!limits.request(Requester::Anonymous("10.1.1.1")).await.allowed, "Redis counts while up");
    assert!(!limits.is_degraded());

    redis.stop();
    let started = Instant::now();
    for _ in 0..5 {
        assert!(limits.request(Requester::Anonymous("10.1.1.1")).await.allowed, "fails open while Redis is down");
    }
    assert!(limits.is_degraded());
    for n in 0..3 {
        assert!(limits.auth_attempt(AuthAttempt::Login, "10.1.1.1", None).await.allowed, "attempt {}", n + 1);
    }
    assert!(
        !limits.auth_attempt(AuthAttempt::Login, "10.1.1.1", None).await.allowed,
        "credential attempts stay limited by the in-process budget"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "a dead Redis costs a bounded wait");
    drop(redis);
}
