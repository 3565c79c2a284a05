//! The contract suites against the in-memory adapters.

use watchme_adapters::contract;
use watchme_adapters::memory::{MemoryAnalyticsStore, MemoryCache, MemoryRateLimiter, MemoryStore};

#[tokio::test]
async fn memory_user_repo_meets_the_contract() {
    contract::user_repo(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_library_repo_meets_the_contract() {
    contract::library_repo(&MemoryStore::new()).await;
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
async fn memory_analytics_store_meets_the_contract() {
    contract::analytics_store(&MemoryAnalyticsStore::new()).await;
}

#[tokio::test]
async fn memory_cache_meets_the_contract() {
    contract::cache(&MemoryCache::default()).await;
}

#[tokio::test]
async fn memory_session_repo_meets_the_contract() {
    contract::session_repo(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_rate_limiter_meets_the_contract() {
    contract::rate_limiter(&MemoryRateLimiter::new(), "memory").await;
}
