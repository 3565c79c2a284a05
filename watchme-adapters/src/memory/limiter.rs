//! The in-process [`RateLimiter`]: one governor GCRA limiter per policy,
//! keyed by client. Budgets are per process, so this is for the embedded
//! default and as the fallback for credential attempts while Redis is down.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};
use watchme_core::error::RateLimitError;
use watchme_core::ports::{RateDecision, RateLimiter, RatePolicy};

type Keyed = Governor<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Rate limits counted in this process's memory.
#[derive(Default)]
pub struct MemoryRateLimiter {
    limiters: Mutex<HashMap<RatePolicy, Arc<Keyed>>>,
    checks: AtomicU64,
}

impl MemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    fn limiter(&self, policy: &RatePolicy) -> Arc<Keyed> {
        let mut map = self.limiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(policy.clone())
            .or_insert_with(|| {
                let burst = NonZeroU32::new(policy.limit).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(policy.interval().max(Duration::from_nanos(1)))
                    .unwrap_or_else(|| Quota::per_second(burst))
                    .allow_burst(burst);
                Arc::new(Governor::keyed(quota).with_middleware::<StateInformationMiddleware>())
            })
            .clone()
    }

    // Forgets keys whose budget is full again, now and then, so a flood of
    // distinct client IPs does not grow memory without bound.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            let limiters: Vec<Arc<Keyed>> =
                self.limiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect();
            for l in limiters {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, policy: &RatePolicy, key: &str) -> Result<RateDecision, RateLimitError> {
        self.housekeeping();
        let limiter = self.limiter(policy);
        let interval = policy.interval();
        Ok(match limiter.check_key(&key.to_owned()) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                RateDecision {
                    allowed: true,
                    limit: policy.limit,
                    remaining,
                    reset_after: interval * (policy.limit - remaining.min(policy.limit)),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                RateDecision {
                    allowed: false,
                    limit: policy.limit,
                    remaining: 0,
                    reset_after: interval * policy.limit,
                    retry_after: Some(wait.max(Duration::from_millis(1))),
                }
            }
        })
    }
}
