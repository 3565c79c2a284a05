//! The contract suites against the SQL adapter, on SQLite and on the local
//! PostgreSQL, each test on a fresh database.

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
    user_repo_meets_the_contract => |db| contract::user_repo(&db.store).await;
    session_repo_meets_the_contract => |db| contract::session_repo(&db.store).await;
    library_views_are_newest_first_per_user => |db| contract::library_views(&db.store).await;
    library_favorites_are_idempotent_per_user => |db| contract::library_favorites(&db.store).await;
    library_entries_keep_unset_fields_and_filter => |db| contract::library_entries(&db.store).await;
    outbox_meets_the_contract => |db| contract::outbox(&db.store).await;
    outbox_drops_published_events => |db| contract::outbox_drops_published_events(&db.store).await;
    writes_and_events_are_atomic => |db| contract::outbox_atomic_with_writes(&db.store, &db.store, &db.store).await;
    record_views_stores_a_whole_batch => |db| contract::record_views_stores_a_whole_batch(&db.store, &db.store).await;
    analytics_store_meets_the_contract => |db| contract::analytics_store(&db.store).await;
    analytics_store_counts_a_batch_as_one_by_one => |db| contract::analytics_store_counts_a_batch_as_one_by_one(&db.store).await;
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
