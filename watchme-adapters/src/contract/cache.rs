use std::time::Duration;

use watchme_core::ports::Cache;

/// The [`Cache`] contract: round-trip, replace, TTL expiry, delete, prefix delete.
pub async fn cache(cache: &dyn Cache) {
    let ttl = Duration::from_secs(60);
    assert_eq!(cache.get("contract:a").await.expect("get"), None, "absent key is None");
    cache.set("contract:a", b"one".to_vec(), ttl).await.expect("set");
    assert_eq!(cache.get("contract:a").await.expect("get").as_deref(), Some(&b"one"[..]), "round-trip");
    cache.set("contract:a", b"two".to_vec(), ttl).await.expect("set");
    assert_eq!(cache.get("contract:a").await.expect("get").as_deref(), Some(&b"two"[..]), "set replaces");
    let shared = cache.get_bytes("contract:a").await.expect("get_bytes");
    assert_eq!(shared.as_deref(), Some(&b"two"[..]), "get_bytes reads what get reads");
    assert_eq!(cache.get_bytes("contract:absent").await.expect("get_bytes"), None, "get_bytes of an absent key");
    // get_ready may decline (None), but what it answers is what get reads.
    if let Some(ready) = cache.get_ready("contract:a") {
        assert_eq!(&ready[..], b"two", "get_ready reads what get reads");
    }
    assert_eq!(cache.get_ready("contract:absent"), None, "get_ready of an absent key");

    cache.set("contract:short", b"x".to_vec(), Duration::from_millis(100)).await.expect("set");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(cache.get("contract:short").await.expect("get"), None, "expired entry is gone");
    assert_eq!(cache.get_ready("contract:short"), None, "expired for get_ready too");

    cache.delete("contract:a").await.expect("delete");
    cache.delete("contract:a").await.expect("deleting an absent key is fine");
    assert_eq!(cache.get("contract:a").await.expect("get"), None, "deleted");
    assert_eq!(cache.get_bytes("contract:a").await.expect("get_bytes"), None, "deleted for get_bytes too");
    assert_eq!(cache.get_ready("contract:a"), None, "deleted for get_ready too");

    for k in ["contract:movie:1", "contract:movie:2", "contract:other:1"] {
        cache.set(k, b"v".to_vec(), ttl).await.expect("set");
    }
    assert_eq!(cache.delete_prefix("contract:movie:").await.expect("delete prefix"), 2, "prefix delete counts");
    assert_eq!(cache.get("contract:movie:1").await.expect("get"), None, "prefix deleted");
    assert!(cache.get("contract:other:1").await.expect("get").is_some(), "other namespace untouched");
}
