//! The cache port: one byte read, writes and deletes with a time to live,
//! plus the typed helpers built on them. Adapters: in-process, Redis,
//! two-tier; contract in `watchme_adapters::contract::cache`.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{cause, CacheError};

/// A byte cache with per-entry time to live (in-process, Redis, two-tier).
///
/// A cache is an optimisation: callers treat every error as a miss, so an
/// adapter must never block long; it should fail fast when its backend is down.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value stored under `key`, or `None` when absent or expired. An
    /// in-process cache may hand out the bytes it stores (`Bytes` shares
    /// them without a copy).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend cannot be reached.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError>;

    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend cannot be reached.
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError>;

    /// Removes `key`; removing an absent key is not an error.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend cannot be reached.
    async fn delete(&self, key: &str) -> Result<(), CacheError>;

    /// Removes every key starting with `prefix`; returns how many were removed.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend cannot be reached.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64, CacheError>;
}

/// Reads and decodes a JSON value; an undecodable value is [`CacheError::Corrupt`].
/// Runs in a `cache get` span that records whether it hit.
pub async fn get_json<T: DeserializeOwned>(cache: &dyn Cache, key: &str) -> Result<Option<T>, CacheError> {
    get_decoded(cache, key, |bytes| serde_json::from_slice(&bytes)).await
}

/// Reads a value and decodes it with `decode` (which may reuse an earlier
/// decoding of the same bytes); an undecodable value is [`CacheError::Corrupt`].
/// Runs in a `cache get` span that records whether it hit.
#[tracing::instrument(name = "cache.get", skip_all, fields(otel.name = "cache get", cache.key = key, cache.hit = tracing::field::Empty))]
pub async fn get_decoded<T>(
    cache: &dyn Cache,
    key: &str,
    decode: impl FnOnce(Bytes) -> Result<T, serde_json::Error>,
) -> Result<Option<T>, CacheError> {
    let found = cache.get(key).await?;
    tracing::Span::current().record("cache.hit", found.is_some());
    match found {
        None => Ok(None),
        Some(bytes) => decode(bytes).map(Some).map_err(|e| CacheError::Corrupt(cause(e))),
    }
}

/// Encodes a value as JSON and stores it, in a `cache set` span.
pub async fn set_json<T: Serialize + Sync>(
    cache: &dyn Cache,
    key: &str,
    value: &T,
    ttl: Duration,
) -> Result<(), CacheError> {
    set_encoded(cache, key, encode_json(value)?, ttl).await
}

/// A value as the JSON bytes [`set_json`] stores; an unencodable value is
/// [`CacheError::Corrupt`].
pub fn encode_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CacheError> {
    serde_json::to_vec(value).map_err(|e| CacheError::Corrupt(cause(e)))
}

/// Stores bytes already encoded (by [`encode_json`]), in a `cache set` span.
#[tracing::instrument(name = "cache.set", skip_all, fields(otel.name = "cache set", cache.key = key, cache.ttl_s = ttl.as_secs()))]
pub async fn set_encoded(cache: &dyn Cache, key: &str, bytes: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
    cache.set(key, bytes, ttl).await
}
