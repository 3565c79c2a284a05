//! Two tiers: a small, short-lived in-process L1 in front of the Redis
//! shared by every replica. Reads try L1, then Redis (filling L1); writes go
//! to both. When one replica deletes a key it publishes the key on a Redis
//! channel, and every replica's subscriber drops it from its L1, so an
//! invalidation reaches all of them within the time of one message; the
//! short L1 TTL bounds staleness if a message is ever missed (pub/sub does
//! not queue for a replica that is disconnected at that moment).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use watchme_core::error::CacheError;
use watchme_core::ports::Cache;

use super::RedisCache;
use crate::memory::MemoryCache;

const PREFIX_MARK: &str = "prefix:";
const KEY_MARK: &str = "key:";

/// In-process L1 + Redis L2 with pub/sub invalidation.
#[derive(Clone)]
pub struct TwoTierCache {
    l1: MemoryCache,
    l2: RedisCache,
    l1_ttl: Duration,
    channel: String,
    counters: Arc<TierCounters>,
}

/// `watchme_cache_tier_requests_total{tier, result}` for (L1, Redis) x
/// (hit, miss), each made on first use rather than looked up by its labels
/// on every read.
#[derive(Default)]
struct TierCounters([OnceLock<metrics::Counter>; 4]);

impl TierCounters {
    fn count(&self, redis: bool, hit: bool) {
        let (tier, result) = (if redis { "redis" } else { "l1" }, if hit { "hit" } else { "miss" });
        self.0[usize::from(redis) * 2 + usize::from(hit)]
            .get_or_init(|| metrics::counter!("watchme_cache_tier_requests_total", "tier" => tier, "result" => result))
            .increment(1);
    }
}

impl TwoTierCache {
    /// Builds the cache and starts the invalidation subscriber (which
    /// reconnects by itself while the process runs).
    pub fn start(l2: RedisCache, l1_max_bytes: u64, l1_ttl: Duration) -> Self {
        let channel = l2.key("watchme:invalidate");
        let counters = Arc::default();
        let cache = Self { l1: MemoryCache::new(l1_max_bytes), l2, l1_ttl, channel, counters };
        let sub = cache.clone();
        tokio::spawn(async move { sub.subscribe_forever().await });
        cache
    }

    /// The L1 tier (tests look into it).
    pub fn l1(&self) -> &MemoryCache {
        &self.l1
    }

    /// The L2 tier.
    pub fn l2(&self) -> &RedisCache {
        &self.l2
    }

    async fn subscribe_forever(&self) {
        let mut delay = Duration::from_millis(200);
        loop {
            match self.subscribe_once().await {
                Ok(()) => delay = Duration::from_millis(200),
                Err(e) => tracing::debug!(error = %e, "cache invalidation subscriber disconnected"),
            }
            // While disconnected an invalidation may be missed: start afresh.
            let _ = self.l1.delete_prefix("").await;
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn subscribe_once(&self) -> Result<(), ::redis::RedisError> {
        let mut pubsub = self.l2.client().get_async_pubsub().await?;
        pubsub.subscribe(&self.channel).await?;
        let mut messages = pubsub.on_message();
        while let Some(msg) = messages.next().await {
            let Ok(payload) = msg.get_payload::<String>() else { continue };
            if let Some(prefix) = payload.strip_prefix(PREFIX_MARK) {
                let _ = self.l1.delete_prefix(prefix).await;
            } else if let Some(key) = payload.strip_prefix(KEY_MARK) {
                let _ = self.l1.delete(key).await;
            }
        }
        Ok(())
    }

    async fn publish(&self, message: String) -> Result<(), CacheError> {
        self.l2.run::<i64>(::redis::cmd("PUBLISH").arg(&self.channel).arg(message)).await.map(|_| ())
    }
}

#[async_trait]
impl Cache for TwoTierCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        // Redis only (a zero L1 TTL): the L1 holds nothing to look up.
        if !self.l1_ttl.is_zero() {
            if let Some(hit) = self.l1.get(key).await? {
                self.counters.count(false, true);
                return Ok(Some(hit));
            }
        }
        self.counters.count(false, false);
        let v = self.l2.get(key).await?;
        self.counters.count(true, v.is_some());
        if let Some(bytes) = v.as_ref().filter(|_| !self.l1_ttl.is_zero()) {
            self.l1.set(key, bytes.to_vec(), self.l1_ttl).await?;
        }
        Ok(v)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        // L1 first: while Redis is down this replica still caches for itself.
        // A zero L1 TTL (Redis only) keeps nothing, so nothing is copied in.
        if !self.l1_ttl.is_zero() {
            self.l1.set(key, value.clone(), ttl.min(self.l1_ttl)).await?;
        }
        self.l2.set(key, value, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.l1.delete(key).await?;
        self.l2.delete(key).await?;
        self.publish(format!("{KEY_MARK}{key}")).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64, CacheError> {
        self.l1.delete_prefix(prefix).await?;
        let n = self.l2.delete_prefix(prefix).await?;
        self.publish(format!("{PREFIX_MARK}{prefix}")).await?;
        Ok(n)
    }
}
