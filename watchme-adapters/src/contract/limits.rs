//! The [`RateLimiter`] contract, one scenario per function: a budget that
//! counts down and refuses, budgets kept apart by key and policy, and a
//! budget that refills continuously. `unique` must differ between runs
//! against a shared store (it is put in policy names so runs never share
//! counts).

use std::time::Duration;

use watchme_core::ports::{RateLimiter, RatePolicy};

/// Three of three requests pass with the remaining budget counting down;
/// the fourth is refused with a retry-after of about one interval, and
/// refusals do not refill the budget.
pub async fn rate_limiter_refuses_over_budget(limiter: &dyn RateLimiter, unique: &str) {
    let strict = RatePolicy::new(format!("contract-{unique}-strict"), 3, Duration::from_secs(3600));
    for n in 0..3u32 {
        let d = limiter.check(&strict, "10.0.0.1").await.expect("check");
        assert!(d.allowed, "request {} of 3 is allowed", n + 1);
        assert_eq!((d.limit, d.remaining), (3, 2 - n), "remaining counts down");
        assert!(d.retry_after.is_none(), "an allowed request has no retry-after");
        assert!(
            d.reset_after > Duration::ZERO && d.reset_after <= Duration::from_secs(3600),
            "reset within the window"
        );
    }
    let d = limiter.check(&strict, "10.0.0.1").await.expect("check");
    assert!(!d.allowed, "the 4th request in the window is refused");
    assert_eq!(d.remaining, 0);
    let wait = d.retry_after.expect("a refusal says when to retry");
    assert!(
        wait > Duration::from_secs(1100) && wait <= Duration::from_secs(1200),
        "retry after about one interval (window / limit = 1200 s), got {wait:?}"
    );
    assert!(!limiter.check(&strict, "10.0.0.1").await.expect("check").allowed, "refusals do not refill the budget");
}

/// Another key, or another policy, has a budget of its own.
pub async fn rate_limiter_keeps_keys_and_policies_apart(limiter: &dyn RateLimiter, unique: &str) {
    let one = RatePolicy::new(format!("contract-{unique}-one"), 1, Duration::from_secs(3600));
    assert!(limiter.check(&one, "10.0.0.1").await.expect("check").allowed);
    assert!(!limiter.check(&one, "10.0.0.1").await.expect("check").allowed, "the budget of one is used up");
    assert!(limiter.check(&one, "10.0.0.2").await.expect("check").allowed, "another key has its own budget");
    let other = RatePolicy::new(format!("contract-{unique}-other"), 1, Duration::from_secs(3600));
    assert!(limiter.check(&other, "10.0.0.1").await.expect("check").allowed, "another policy has its own budget");
}

/// The budget refills continuously: one request per interval, not the
/// whole window at once.
pub async fn rate_limiter_refills(limiter: &dyn RateLimiter, unique: &str) {
    let quick = RatePolicy::new(format!("contract-{unique}-quick"), 2, Duration::from_millis(400));
    assert!(limiter.check(&quick, "k").await.expect("check").allowed);
    assert!(limiter.check(&quick, "k").await.expect("check").allowed);
    assert!(!limiter.check(&quick, "k").await.expect("check").allowed, "burst used up");
    // One interval (200 ms) later, one more: polled, never more than 2 s.
    let started = std::time::Instant::now();
    while !limiter.check(&quick, "k").await.expect("check").allowed {
        assert!(started.elapsed() < Duration::from_secs(2), "the budget never refilled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(100), "refilled after about one interval, not at once");
}
