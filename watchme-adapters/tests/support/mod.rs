//! Fresh, migrated databases for tests: a new SQLite file, or a new database
//! on the local PostgreSQL (127.0.0.1:5432, user postgres; override with
//! WATCHME_TEST_PG_URL). A PostgreSQL that cannot be reached fails the test:
//! these tests are never skipped silently.

#![allow(dead_code)]

use watchme_adapters::sql::{SqlOptions, SqlStore};

pub fn pg_admin_url() -> String {
    std::env::var("WATCHME_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that removes itself when dropped through [`TestDb::cleanup`].
pub struct TestDb {
    pub store: SqlStore,
    pub url: String,
    pg_name: Option<String>,
    sqlite_dir: Option<std::path::PathBuf>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("watchme-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}/watchme.db", dir.display());
        let store = SqlStore::connect_lazy(&url, &SqlOptions::default()).expect("sqlite url");
        store.migrate().await.expect("migrate sqlite");
        Self { store, url, pg_name: None, sqlite_dir: Some(dir) }
    }

    pub async fn postgres() -> Self {
        let (url, name) = create_pg_database().await;
        let store = SqlStore::connect_lazy(&url, &SqlOptions::default()).expect("pg url");
        store.migrate().await.expect("migrate postgres");
        Self { store, url, pg_name: Some(name), sqlite_dir: None }
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(name) = self.pg_name {
            drop_pg_database(&name).await;
        }
        if let Some(dir) = self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Creates an empty database; returns its URL and name.
pub async fn create_pg_database() -> (String, String) {
    let admin = SqlStore::connect_lazy(&pg_admin_url(), &SqlOptions::default()).expect("admin url");
    let name = format!("watchme_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await
        .expect("PostgreSQL must be running on 127.0.0.1:5432 (user postgres) for these tests");
    admin.close().await;
    let base = pg_admin_url();
    let url = format!("{}/{name}", base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b));
    (url, name)
}

pub async fn drop_pg_database(name: &str) {
    let admin = SqlStore::connect_lazy(&pg_admin_url(), &SqlOptions::default()).expect("admin url");
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
    admin.close().await;
}
