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
    library_repo_meets_the_contract => |db| contract::library_repo(&db.store).await;
    outbox_meets_the_contract => |db| contract::outbox(&db.store).await;
    writes_and_events_are_atomic => |db| contract::outbox_atomic_with_writes(&db.store, &db.store, &db.store).await;
    analytics_store_meets_the_contract => |db| contract::analytics_store(&db.store).await;
    migrations_run_twice_are_a_no_op => |db| db.store.migrate().await.expect("second migrate");
}
