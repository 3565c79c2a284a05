//! The rate-limit port: budgets per policy and key (GCRA). Adapters:
//! in-process and Redis; contract in `watchme_adapters::contract::limits`.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::RateLimitError;

/// A budget: at most `limit` requests per `window` for one key, refilled
/// continuously (GCRA): after a burst, one more request is allowed every
/// `window / limit`, so nobody is locked out for longer than that once the
/// flood stops.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RatePolicy {
    /// Names the budget; keys of different policies never share a count.
    pub name: String,
    /// Requests allowed per window (also the largest burst).
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

impl RatePolicy {
    /// A policy named `name` allowing `limit` requests per `window`.
    pub fn new(name: impl Into<String>, limit: u32, window: Duration) -> Self {
        Self { name: name.into(), limit: limit.max(1), window: window.max(Duration::from_millis(1)) }
    }

    /// The time one request's worth of budget takes to refill.
    pub fn interval(&self) -> Duration {
        self.window / self.limit
    }
}

/// The answer for one request, with what the `RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The policy's limit.
    pub limit: u32,
    /// Requests left right now after this one.
    pub remaining: u32,
    /// Until the budget is full again.
    pub reset_after: Duration,
    /// For a refused request: when the next one would be allowed.
    pub retry_after: Option<Duration>,
}

impl RateDecision {
    /// An allowed request that used nothing (limiter bypassed).
    pub fn unlimited(policy: &RatePolicy) -> Self {
        Self {
            allowed: true,
            limit: policy.limit,
            remaining: policy.limit,
            reset_after: Duration::ZERO,
            retry_after: None,
        }
    }
}

/// Counts requests against budgets (in-process for one node, Redis for replicas sharing one budget).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request for `key` under `policy` and says whether it may
    /// proceed. A refused request does not use budget.
    ///
    /// # Errors
    /// [`RateLimitError::Unavailable`] when the shared store cannot be
    /// reached; the caller decides whether to fail open or fall back.
    async fn check(&self, policy: &RatePolicy, key: &str) -> Result<RateDecision, RateLimitError>;
}
