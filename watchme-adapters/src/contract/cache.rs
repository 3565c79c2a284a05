//! The [`Cache`] contract: round-trip, replace, TTL expiry, delete, prefix
//! delete. Each scenario uses keys of its own, so they may run on one cache.

use std::time::Duration;

use watchme_core::ports::Cache;

const TTL: Duration = Duration::from_secs(60);

/// A value reads back as written; a write replaces; an absent key is `None`.
pub async fn cache_round_trip(cache: &dyn Cache) {
    assert_eq!(cache.get("contract:a").await.expect("get"), None, "absent key is None");
    cache.set("contract:a", b"one".to_vec(), TTL).await.expect("set");
    assert_eq!(cache.get("contract:a").await.expect("get").as_deref(), Some(&b"one"[..]), "round-trip");
    cache.set("contract:a", b"two".to_vec(), TTL).await.expect("set");
    assert_eq!(cache.get("contract:a").await.expect("get").as_deref(), Some(&b"two"[..]), "set replaces");
}

/// An entry is gone once its TTL has passed (polled for up to 5 s: a cache
/// behind a network expires on its own clock).
pub async fn cache_expiry(cache: &dyn Cache) {
    cache.set("contract:short", b"x".to_vec(), Duration::from_millis(100)).await.expect("set");
    let started = std::time::Instant::now();
    while cache.get("contract:short").await.expect("get").is_some() {
        assert!(started.elapsed() < Duration::from_secs(5), "expired entry is gone");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(50), "not before its TTL");
}

/// Deleting a key (present or not) and every key under a prefix.
pub async fn cache_deletes(cache: &dyn Cache) {
    cache.set("contract:d", b"v".to_vec(), TTL).await.expect("set");
    cache.delete("contract:d").await.expect("delete");
    cache.delete("contract:d").await.expect("deleting an absent key is fine");
    assert_eq!(cache.get("contract:d").await.expect("get"), None, "deleted");

    for k in ["contract:movie:1", "contract:movie:2", "contract:other:1"] {
        cache.set(k, b"v".to_vec(), TTL).await.expect("set");
    }
    assert_eq!(cache.delete_prefix("contract:movie:").await.expect("delete prefix"), 2, "prefix delete counts");
    assert_eq!(cache.get("contract:movie:1").await.expect("get"), None, "prefix deleted");
    assert!(cache.get("contract:other:1").await.expect("get").is_some(), "other namespace untouched");
}
