//! The [`RateLimiter`] port over Redis: one GCRA budget per key shared by
//! every replica, updated by an atomic Lua script with Redis's own clock (so
//! replicas with skewed clocks still agree).

use std::time::Duration;

use async_trait::async_trait;
use watchme_core::error::{cause, cause_msg, CacheError, RateLimitError};
use watchme_core::ports::{RateDecision, RateLimiter, RatePolicy};

use super::RedisCache;

// GCRA: the key holds the "theoretical arrival time" (TAT) in microseconds.
// A request is allowed when TAT + interval - window <= now; the key expires
// when the budget is full again, so idle clients cost no memory.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = interval * limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((window - (new_tat - now)) / interval), new_tat - now, 0}
";

/// Rate limits in Redis, shared by all replicas using the same Redis and namespace.
#[derive(Clone)]
pub struct RedisRateLimiter {
    redis: RedisCache,
    script: ::redis::Script,
}

impl RedisRateLimiter {
    /// A limiter over the connection (and key namespace) of `redis`.
    pub fn new(redis: RedisCache) -> Self {
        Self { redis, script: ::redis::Script::new(GCRA) }
    }
}

fn unavailable(e: CacheError) -> RateLimitError {
    match e {
        CacheError::Unavailable(c) | CacheError::Corrupt(c) => RateLimitError::Unavailable(c),
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, policy: &RatePolicy, key: &str) -> Result<RateDecision, RateLimitError> {
        let mut conn = self.redis.manager().await.map_err(unavailable)?;
        let full_key = self.redis.key(&format!("rl:{}:{key}", policy.name));
        let interval_us = policy.interval().as_micros().max(1) as u64;
        let mut invocation = self.script.key(full_key);
        invocation.arg(interval_us).arg(policy.limit);
        let reply: Result<Vec<i64>, _> =
            match tokio::time::timeout(self.redis.config().op_timeout, invocation.invoke_async(&mut conn)).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(RateLimitError::Unavailable(cause(e))),
                Err(_) => Err(RateLimitError::Unavailable(cause_msg("redis rate limit check timed out"))),
            };
        self.redis.record(&reply);
        let reply = reply?;
        let [allowed, remaining, reset_us, retry_us] = reply[..] else {
            return Err(RateLimitError::Unavailable(cause_msg("unexpected reply from the rate limit script")));
        };
        let us = |v: i64| Duration::from_micros(v.max(0) as u64);
        Ok(RateDecision {
            allowed: allowed == 1,
            limit: policy.limit,
            remaining: remaining.clamp(0, i64::from(policy.limit)) as u32,
            reset_after: us(reset_us),
            retry_after: (allowed != 1).then(|| us(retry_us).max(Duration::from_millis(1))),
        })
    }
}
