//! The contract suites against the in-memory adapters.

use watchme_adapters::contract;
use watchme_adapters::memory::{MemoryAnalyticsStore, MemoryCache, MemoryRateLimiter, MemoryStore};

#[tokio::test]
async fn memory_user_repo_meets_the_contract() {
    contract::user_repo(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_library_views_are_newest_first_per_user() {
    contract::library_views(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_library_favorites_are_idempotent_per_user() {
    contract::library_favorites(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_library_entries_keep_unset_fields_and_filter() {
    contract::library_entries(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_outbox_meets_the_contract() {
    contract::outbox(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_writes_and_events_are_atomic() {
    let store = MemoryStore::new();
    contract::outbox_atomic_with_writes(&store, &store, &store).await;
}

#[tokio::test]
async fn memory_outbox_drops_published_events() {
    contract::outbox_drops_published_events(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_record_views_stores_a_whole_batch() {
    let store = MemoryStore::new();
    contract::record_views_stores_a_whole_batch(&store, &store).await;
}

#[tokio::test]
async fn memory_analytics_store_meets_the_contract() {
    contract::analytics_store(&MemoryAnalyticsStore::new()).await;
}

#[tokio::test]
async fn memory_analytics_store_counts_a_batch_as_one_by_one() {
    contract::analytics_store_counts_a_batch_as_one_by_one(&MemoryAnalyticsStore::new()).await;
}

#[tokio::test]
async fn memory_cache_round_trips() {
    contract::cache_round_trip(&MemoryCache::default()).await;
}

#[tokio::test]
async fn memory_cache_expires() {
    contract::cache_expiry(&MemoryCache::default()).await;
}

#[tokio::test]
async fn memory_cache_deletes() {
    contract::cache_deletes(&MemoryCache::default()).await;
}

#[tokio::test]
async fn memory_session_repo_meets_the_contract() {
    contract::session_repo(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_rate_limiter_meets_the_contract() {
    contract::rate_limiter(&MemoryRateLimiter::new(), "memory").await;
}

#[tokio::test]
async fn memory_outbox_prunes_from_the_oldest_row_up_to_the_first_that_stays() {
    use std::time::Duration;
    use watchme_core::domain::UserId;
    use watchme_core::ports::Outbox;

    let store = MemoryStore::new();
    let user = UserId::new();
    let events: Vec<_> = (0..3).map(|i| contract::login_event(user, i)).collect();
    store.append(&events).await.unwrap();
    let claimed = store.claim(3, Duration::from_secs(30)).await.unwrap();
    // The oldest stays unpublished; the two after it are published.
    store.mark_published(&[claimed[1].id, claimed[2].id]).await.unwrap();
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    assert_eq!(store.prune_published(later).await.unwrap(), 0, "kept behind the unpublished oldest row");
    store.mark_published(&[claimed[0].id]).await.unwrap();
    assert_eq!(store.prune_published(later).await.unwrap(), 3);
    let now = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    store.append(&events[..1]).await.unwrap();
    let row = store.claim(1, Duration::from_secs(30)).await.unwrap();
    store.mark_published(&[row[0].id]).await.unwrap();
    assert_eq!(store.prune_published(now).await.unwrap(), 0, "published after the cut-off: kept");
}
