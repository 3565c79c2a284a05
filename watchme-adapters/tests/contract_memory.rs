//! The contract suites against the in-memory adapters: one test per
//! scenario, each on a fresh adapter.

use watchme_adapters::contract;
use watchme_adapters::memory::{MemoryAnalyticsStore, MemoryCache, MemoryRateLimiter, MemoryStore};

/// One test per scenario: `name => the scenario's future`.
macro_rules! scenarios {
    ($($scenario:ident => $call:expr;)*) => {
        $(#[tokio::test] async fn $scenario() { $call.await; })*
    };
}

scenarios! {
    user_repo_round_trips => contract::user_repo_round_trips(&MemoryStore::new());
    user_repo_refuses_a_taken_email => contract::user_repo_refuses_a_taken_email(&MemoryStore::new());
    user_repo_misses_unknown_users => contract::user_repo_misses_unknown_users(&MemoryStore::new());
    user_repo_records_logins => contract::user_repo_records_logins(&MemoryStore::new());
    user_repo_updates_password_hashes => contract::user_repo_updates_password_hashes(&MemoryStore::new());
    session_repo_round_trips => contract::session_repo_round_trips(&MemoryStore::new());
    session_repo_rotates_and_detects_reuse => contract::session_repo_rotates_and_detects_reuse(&MemoryStore::new());
    session_repo_lists_active_sessions => contract::session_repo_lists_active_sessions(&MemoryStore::new());
    session_repo_revokes => contract::session_repo_revokes(&MemoryStore::new());
    session_repo_prunes => contract::session_repo_prunes(&MemoryStore::new());
    library_views => contract::library_views(&MemoryStore::new());
    library_favorites => contract::library_favorites(&MemoryStore::new());
    library_entries => contract::library_entries(&MemoryStore::new());
    outbox_claims_oldest_first => contract::outbox_claims_oldest_first(&MemoryStore::new());
    outbox_publishes_and_releases => contract::outbox_publishes_and_releases(&MemoryStore::new());
    outbox_leases_expire => contract::outbox_leases_expire(&MemoryStore::new());
    outbox_prunes_published_only => contract::outbox_prunes_published_only(&MemoryStore::new());
    outbox_publishes_out_of_order => contract::outbox_publishes_out_of_order(&MemoryStore::new());
    outbox_drops_published_events => contract::outbox_drops_published_events(&MemoryStore::new());
    outbox_atomic_with_writes => async { let s = MemoryStore::new(); contract::outbox_atomic_with_writes(&s, &s, &s).await };
    record_views_stores_a_whole_batch => async { let s = MemoryStore::new(); contract::record_views_stores_a_whole_batch(&s, &s).await };
    history_adds_plays_once => async { let s = MemoryStore::new(); contract::history_adds_plays_once(&s, &s).await };
    history_first_play_marks_watched => async { let s = MemoryStore::new(); contract::history_first_play_marks_watched(&s, &s).await };
    history_lists_plays => contract::history_lists_plays(&MemoryStore::new());
    history_removes_plays => async { let s = MemoryStore::new(); contract::history_removes_plays(&s, &s, &s).await };
    history_activity_follows_every_write => async { let s = MemoryStore::new(); contract::history_activity_follows_every_write(&s, &s).await };
    analytics_store_counts_plays => contract::analytics_store_counts_plays(&MemoryAnalyticsStore::new());
    api_tokens_are_found_by_hash => async { let s = MemoryStore::new(); contract::api_tokens_are_found_by_hash(&s, &s).await };
    api_tokens_list_and_revoke => async { let s = MemoryStore::new(); contract::api_tokens_list_and_revoke(&s, &s).await };
    api_tokens_record_use => contract::api_tokens_record_use(&MemoryStore::new());
    playbacks_are_one_per_movie => contract::playbacks_are_one_per_movie(&MemoryStore::new());
    device_grants_move_once => contract::device_grants_move_once(&MemoryStore::new());
    import_jobs_one_at_a_time_per_user => contract::import_jobs_one_at_a_time_per_user(&MemoryStore::new());
    webhooks_are_found_counted_and_revoked => contract::webhooks_are_found_counted_and_revoked(&MemoryStore::new());
    lists_are_made_with_free_slugs_up_to_a_limit => contract::lists_are_made_with_free_slugs_up_to_a_limit(&MemoryStore::new());
    lists_are_changed_by_their_owner_only => contract::lists_are_changed_by_their_owner_only(&MemoryStore::new());
    list_items_are_ranked_and_reordered => contract::list_items_are_ranked_and_reordered(&MemoryStore::new());
    list_writes_have_events_and_activity => async { let s = MemoryStore::new(); contract::list_writes_have_events_and_activity(&s, &s, &s).await };
    analytics_store_skips_duplicates => contract::analytics_store_skips_duplicates(&MemoryAnalyticsStore::new());
    analytics_store_counts_movie_stats => contract::analytics_store_counts_movie_stats(&MemoryAnalyticsStore::new());
    analytics_store_clamps_decrements => contract::analytics_store_clamps_decrements(&MemoryAnalyticsStore::new());
    analytics_store_trending_windows => contract::analytics_store_trending_windows(&MemoryAnalyticsStore::new());
    analytics_store_user_stats => contract::analytics_store_user_stats(&MemoryAnalyticsStore::new());
    analytics_store_forgets_applied_ids => contract::analytics_store_forgets_applied_ids(&MemoryAnalyticsStore::new());
    analytics_store_counts_a_batch_as_one_by_one => contract::analytics_store_counts_a_batch_as_one_by_one(&MemoryAnalyticsStore::new());
    cache_round_trip => contract::cache_round_trip(&MemoryCache::default());
    cache_expiry => contract::cache_expiry(&MemoryCache::default());
    cache_deletes => contract::cache_deletes(&MemoryCache::default());
    rate_limiter_refuses_over_budget => contract::rate_limiter_refuses_over_budget(&MemoryRateLimiter::new(), "memory");
    rate_limiter_keeps_keys_and_policies_apart => contract::rate_limiter_keeps_keys_and_policies_apart(&MemoryRateLimiter::new(), "memory");
    rate_limiter_refills => contract::rate_limiter_refills(&MemoryRateLimiter::new(), "memory");
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

// The MovieSource contract against the bundled catalog (which cannot be
// down and has no credential to refuse).

const CATALOG_KNOWN: contract::KnownMovies = contract::KnownMovies {
    found: (550, "Fight Club"),
    missing: 999_999_999,
    search: "Fight Club",
    year: 1999,
    other_year: 2005,
    imdb: "tt0137523",
};

#[tokio::test]
async fn the_catalog_finds_by_imdb_id() {
    let catalog = watchme_adapters::catalog::CatalogSource::bundled().unwrap();
    contract::movie_source_finds_by_imdb_id(&catalog, &CATALOG_KNOWN).await;
}

#[tokio::test]
async fn the_catalog_finds_and_misses() {
    let catalog = watchme_adapters::catalog::CatalogSource::bundled().unwrap();
    contract::movie_source_finds_and_misses(&catalog, &CATALOG_KNOWN).await;
}

#[tokio::test]
async fn the_catalog_searches_by_year() {
    let catalog = watchme_adapters::catalog::CatalogSource::bundled().unwrap();
    contract::movie_source_searches_by_year(&catalog, &CATALOG_KNOWN).await;
}

#[tokio::test]
async fn the_catalog_pages() {
    contract::movie_source_pages(&watchme_adapters::catalog::CatalogSource::bundled().unwrap()).await;
}

// The EventBus contract on the in-process bus: a handler records what it is handed.

#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<watchme_core::domain::EventEnvelope>>);

#[async_trait::async_trait]
impl watchme_core::ports::EventHandler for Recorder {
    async fn handle(
        &self,
        events: &[watchme_core::domain::EventEnvelope],
    ) -> Result<(), watchme_core::error::StorageError> {
        self.0.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

#[async_trait::async_trait]
impl contract::Delivered for Recorder {
    async fn delivered(&self, n: usize) -> Vec<watchme_core::domain::EventEnvelope> {
        let got = self.0.lock().unwrap().clone();
        assert!(got.len() >= n, "{} of {n} events handed over", got.len());
        got
    }
}

#[tokio::test]
async fn the_in_process_bus_delivers_whole_batches_in_order() {
    let recorder = std::sync::Arc::new(Recorder::default());
    let bus = watchme_adapters::memory::InProcessBus::new(vec![recorder.clone()]);
    contract::event_bus_delivers(&bus, recorder.as_ref()).await;
}

#[tokio::test]
async fn the_in_process_bus_fails_in_time_when_stopped() {
    let bus = watchme_adapters::memory::InProcessBus::new(vec![]);
    bus.set_available(false);
    contract::event_bus_that_cannot_deliver_fails_in_time(&bus, std::time::Duration::from_secs(1)).await;
}
