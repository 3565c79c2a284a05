//! An in-process byte cache (moka), bounded by total bytes, with a TTL per entry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use moka::sync::Cache as Moka;
use moka::Expiry;
use watchme_core::error::CacheError;
use watchme_core::ports::Cache;

#[derive(Clone)]
struct Entry {
    bytes: Bytes,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _now: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// In-process cache: never unavailable, bounded by `max_bytes` of keys and
/// values (least recently used entries are evicted first).
#[derive(Clone)]
pub struct MemoryCache {
    // foldhash: every hit hashes its key, and SipHash showed in that profile.
    inner: Moka<String, Entry, foldhash::quality::RandomState>,
}

impl MemoryCache {
    /// A cache holding at most about `max_bytes` of keys and values.
    pub fn new(max_bytes: u64) -> Self {
        let inner = Moka::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, v: &Entry| (k.len() + v.bytes.len()).try_into().unwrap_or(u32::MAX))
            .expire_after(PerEntryTtl)
            .build_with_hasher(foldhash::quality::RandomState::default());
        Self { inner }
    }

    /// Number of entries (after pending maintenance), for tests and metrics.
    pub fn len(&self) -> u64 {
        self.inner.run_pending_tasks();
        self.inner.entry_count()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new(64 * 1024 * 1024)
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        Ok(self.inner.get(key).map(|e| e.bytes))
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        self.inner.insert(key.to_owned(), Entry { bytes: value.into(), ttl });
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.inner.invalidate(key);
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64, CacheError> {
        let keys: Vec<Arc<String>> = self.inner.iter().map(|(k, _)| k).filter(|k| k.starts_with(prefix)).collect();
        for k in &keys {
            self.inner.invalidate(k.as_str());
        }
        Ok(keys.len() as u64)
    }
}
