//! The contract suites against the SQL adapter, on SQLite and on the local
//! PostgreSQL: one test per scenario, each on a fresh database.

mod support;

use support::TestDb;
use watchme_adapters::contract;

macro_rules! on_both {
    ($($name:ident => |$db:ident| $body:expr;)*) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test] async fn $name() { let $db = TestDb::sqlite().await; $body; $db.cleanup().await; })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test] async fn $name() { let $db = TestDb::postgres().await; $body; $db.cleanup().await; })*
        }
    };
}

on_both! {
    user_repo_round_trips => |db| contract::user_repo_round_trips(&db.store).await;
    user_repo_refuses_a_taken_email => |db| contract::user_repo_refuses_a_taken_email(&db.store).await;
    user_repo_misses_unknown_users => |db| contract::user_repo_misses_unknown_users(&db.store).await;
    user_repo_records_logins => |db| contract::user_repo_records_logins(&db.store).await;
    user_repo_updates_password_hashes => |db| contract::user_repo_updates_password_hashes(&db.store).await;
    session_repo_round_trips => |db| contract::session_repo_round_trips(&db.store).await;
    session_repo_rotates_and_detects_reuse => |db| contract::session_repo_rotates_and_detects_reuse(&db.store).await;
    session_repo_lists_active_sessions => |db| contract::session_repo_lists_active_sessions(&db.store).await;
    session_repo_revokes => |db| contract::session_repo_revokes(&db.store).await;
    session_repo_prunes => |db| contract::session_repo_prunes(&db.store).await;
    library_views => |db| contract::library_views(&db.store).await;
    library_favorites => |db| contract::library_favorites(&db.store).await;
    library_entries => |db| contract::library_entries(&db.store).await;
    outbox_claims_oldest_first => |db| contract::outbox_claims_oldest_first(&db.store).await;
    outbox_publishes_and_releases => |db| contract::outbox_publishes_and_releases(&db.store).await;
    outbox_leases_expire => |db| contract::outbox_leases_expire(&db.store).await;
    outbox_prunes_published_only => |db| contract::outbox_prunes_published_only(&db.store).await;
    outbox_publishes_out_of_order => |db| contract::outbox_publishes_out_of_order(&db.store).await;
    outbox_drops_published_events => |db| contract::outbox_drops_published_events(&db.store).await;
    analytics_store_skips_duplicates => |db| contract::analytics_store_skips_duplicates(&db.store).await;
    analytics_store_counts_movie_stats => |db| contract::analytics_store_counts_movie_stats(&db.store).await;
    analytics_store_clamps_decrements => |db| contract::analytics_store_clamps_decrements(&db.store).await;
    analytics_store_trending_windows => |db| contract::analytics_store_trending_windows(&db.store).await;
    analytics_store_user_stats => |db| contract::analytics_store_user_stats(&db.store).await;
    analytics_store_forgets_applied_ids => |db| contract::analytics_store_forgets_applied_ids(&db.store).await;
    analytics_store_counts_a_batch_as_one_by_one => |db| contract::analytics_store_counts_a_batch_as_one_by_one(&db.store).await;
    outbox_atomic_with_writes => |db| contract::outbox_atomic_with_writes(&db.store, &db.store, &db.store).await;
    record_views_stores_a_whole_batch => |db| contract::record_views_stores_a_whole_batch(&db.store, &db.store).await;
    history_adds_plays_once => |db| contract::history_adds_plays_once(&db.store, &db.store).await;
    history_first_play_marks_watched => |db| contract::history_first_play_marks_watched(&db.store, &db.store).await;
    history_lists_plays => |db| contract::history_lists_plays(&db.store).await;
    history_removes_plays => |db| contract::history_removes_plays(&db.store, &db.store, &db.store).await;
    history_activity_follows_every_write => |db| contract::history_activity_follows_every_write(&db.store, &db.store).await;
    analytics_store_counts_plays => |db| contract::analytics_store_counts_plays(&db.store).await;
    api_tokens_are_found_by_hash => |db| contract::api_tokens_are_found_by_hash(&db.store, &db.store).await;
    api_tokens_list_and_revoke => |db| contract::api_tokens_list_and_revoke(&db.store, &db.store).await;
    api_tokens_record_use => |db| contract::api_tokens_record_use(&db.store).await;
    playbacks_are_one_per_movie => |db| contract::playbacks_are_one_per_movie(&db.store).await;
    device_grants_move_once => |db| contract::device_grants_move_once(&db.store).await;
    import_jobs_one_at_a_time_per_user => |db| contract::import_jobs_one_at_a_time_per_user(&db.store).await;
    webhooks_are_found_counted_and_revoked => |db| contract::webhooks_are_found_counted_and_revoked(&db.store).await;
    lists_are_made_with_free_slugs_up_to_a_limit => |db| contract::lists_are_made_with_free_slugs_up_to_a_limit(&db.store).await;
    lists_are_changed_by_their_owner_only => |db| contract::lists_are_changed_by_their_owner_only(&db.store).await;
    list_items_are_ranked_and_reordered => |db| contract::list_items_are_ranked_and_reordered(&db.store).await;
    list_writes_have_events_and_activity => |db| contract::list_writes_have_events_and_activity(&db.store, &db.store, &db.store).await;
    migrations_run_twice_are_a_no_op => |db| db.store.migrate().await.expect("second migrate");
    many_applied_ids_are_forgotten_in_batches => |db| forget_many_applied_ids(&db.store).await;
}

/// More ids than one delete statement takes: all old ones go, recent ones stay.
async fn forget_many_applied_ids(store: &watchme_adapters::sql::SqlStore) {
    use watchme_core::ports::AnalyticsStore;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000) \
         INSERT INTO analytics_applied (event_id, applied_at) SELECT 'old-' || i, 0 FROM n",
    )
    .execute(store.pool())
    .await
    .expect("old ids");
    sqlx::query("INSERT INTO analytics_applied (event_id, applied_at) VALUES ('recent', $1)")
        .bind(i64::MAX)
        .execute(store.pool())
        .await
        .expect("recent id");
    let cut = time::OffsetDateTime::now_utc();
    assert_eq!(store.prune_applied(cut).await.expect("prune"), 25_000);
    let left: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM analytics_applied").fetch_all(store.pool()).await.expect("left");
    assert_eq!(left, vec!["recent".to_owned()]);
}
