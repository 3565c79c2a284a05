//! Fresh, migrated databases for tests: a new SQLite file, or a new database
//! on the local PostgreSQL (127.0.0.1:5432, user postgres; override with
//! WATCHME_TEST_PG_URL). A PostgreSQL that cannot be reached fails the test:
//! these tests are never skipped silently.

#![allow(dead_code)]

use watchme_adapters::contract::fixtures::PgDatabase;
use watchme_adapters::sql::{SqlOptions, SqlStore};

/// A database that removes itself when dropped through [`TestDb::cleanup`].
pub struct TestDb {
    pub store: SqlStore,
    pub url: String,
    pg: Option<PgDatabase>,
    sqlite_dir: Option<std::path::PathBuf>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("watchme-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}/watchme.db", dir.display());
        let store = SqlStore::connect_lazy(&url, &SqlOptions::default()).expect("sqlite url");
        store.migrate().await.expect("migrate sqlite");
        Self { store, url, pg: None, sqlite_dir: Some(dir) }
    }

    pub async fn postgres() -> Self {
        let db = PgDatabase::create("watchme_test").await;
        let store = SqlStore::connect_lazy(&db.url, &SqlOptions::default()).expect("pg url");
        store.migrate().await.expect("migrate postgres");
        Self { store, url: db.url.clone(), pg: Some(db), sqlite_dir: None }
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(db) = self.pg {
            db.drop_db().await;
        }
        if let Some(dir) = self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
