//! Nothing is lost on restart, on the embedded default (SQLite) and on
//! PostgreSQL; backups restore every table.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{command, dump, json_of, login, start, TempDir};
use watchme_adapters::contract::fixtures::PgDatabase as PgDb;

async fn populate(base: &str) -> String {
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{base}{p}");
    json_of(
        http.post(url("/auth/register"))
            .json(&json!({"email": "keep@example.com", "password": "correct horse"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let bearer = login(&http, base, "keep@example.com").await;
    json_of(http.get(url("/movies/680")).header("authorization", &bearer).send().await.unwrap(), 200).await;
    json_of(http.get(url("/movies/680")).send().await.unwrap(), 200).await;
    json_of(http.put(url("/me/favorites/680")).header("authorization", &bearer).send().await.unwrap(), 201).await;
    json_of(
        http.put(url("/me/library/680"))
            .header("authorization", &bearer)
            .json(&json!({"status": "watched", "rating": 8}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    json_of(
        http.post(url("/me/history"))
            .header("authorization", &bearer)
            .json(&json!({"plays": [{"movie_id": 680, "watched_at": "2026-01-02T20:00:00Z"}, {"movie_id": 680}]}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    bearer
}

async fn wait_for_views(base: &str, movie: u64, views: u64) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = json_of(http.get(format!("{base}/analytics/movies/{movie}")).send().await.unwrap(), 200).await;
        if s["views"] == views {
            return;
        }
        assert!(Instant::now() < deadline, "views never reached {views}: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the relay has published every outbox row, so nothing changes
/// between a backup and the server's stop.
async fn wait_for_outbox_drained(url: &str) {
    let store = watchme_adapters::sql::SqlStore::connect_lazy(url, &Default::default()).expect("url");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(store.pool())
            .await
            .expect("count");
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} outbox rows never published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
}

async fn survives_restart(extra: &[(&str, String)]) {
    let dir = TempDir::new("restart");
    let server = start(&dir.0, extra).await;
    let old_token = populate(&server.base).await;
    wait_for_views(&server.base, 680, 2).await;
    server.stop().await;

    let server = start(&dir.0, extra).await;
    let http = reqwest::Client::new();
    let bearer = login(&http, &server.base, "keep@example.com").await;
    let favs =
        json_of(http.get(server.url("/me/favorites")).header("authorization", &bearer).send().await.unwrap(), 200)
            .await;
    assert_eq!(favs["items"][0]["title"], "Pulp Fiction");
    let lib =
        json_of(http.get(server.url("/me/library")).header("authorization", &bearer).send().await.unwrap(), 200).await;
    assert_eq!(lib["items"][0]["rating"], 8);
    let views =
        json_of(http.get(server.url("/movies/views")).header("authorization", &old_token).send().await.unwrap(), 200)
            .await;
    assert_eq!(views["total_items"], 1, "the token from before the restart still works and the history is kept");
    let stats = json_of(http.get(server.url("/analytics/movies/680")).send().await.unwrap(), 200).await;
    assert_eq!(
        (stats["views"].as_u64(), stats["favorites"].as_u64(), stats["watched"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    server.stop().await;
}

#[tokio::test]
async fn a_user_survives_a_restart_on_the_embedded_default() {
    survives_restart(&[]).await;
}

#[tokio::test]
async fn a_user_survives_a_restart_on_postgresql() {
    let db = PgDb::create("watchme_e2e").await;
    survives_restart(&[("WATCHME_DATABASE_URL", db.url.clone())]).await;
    db.drop_db().await;
}

async fn run(envs: &[(&str, String)], args: &[&str]) {
    let out = command(envs, args).output().await.expect("run watchme");
    assert!(out.status.success(), "watchme {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn sqlite_backup_restores_every_table() {
    let (src, dst, files) = (TempDir::new("bk-src"), TempDir::new("bk-dst"), TempDir::new("bk-file"));
    let server = start(&src.0, &[]).await;
    populate(&server.base).await;
    wait_for_views(&server.base, 680, 2).await;
    wait_for_outbox_drained(&format!("sqlite://{}/watchme.db", src.0.display())).await;
    let file = files.0.join("watchme.backup.db");
    // Online backup, while the server runs.
    run(&[("WATCHME_DATA_DIR", src.0.display().to_string())], &["backup", "--output", &file.display().to_string()])
        .await;
    server.stop().await;

    let dst_env = [("WATCHME_DATA_DIR", dst.0.display().to_string())];
    run(&dst_env, &["migrate"]).await;
    run(&dst_env, &["restore", "--input", &file.display().to_string()]).await;
    let before = dump(&format!("sqlite://{}/watchme.db", src.0.display())).await;
    let after = dump(&format!("sqlite://{}/watchme.db", dst.0.display())).await;
    assert_eq!(before.iter().find(|(t, _)| t == "users").map(|(_, r)| r.len()), Some(1));
    assert_eq!(before, after);
}

#[tokio::test]
async fn postgresql_backup_restores_every_table() {
    let (src, dst) = (PgDb::create("watchme_e2e").await, PgDb::create("watchme_e2e").await);
    let (dir, files) = (TempDir::new("pgbk"), TempDir::new("pgbk-file"));
    // Published events kept, so the dump compares a full outbox too.
    let keep = ("WATCHME_OUTBOX_RETENTION_HOURS", "168".to_string());
    let server = start(&dir.0, &[("WATCHME_DATABASE_URL", src.url.clone()), keep]).await;
    populate(&server.base).await;
    wait_for_views(&server.base, 680, 2).await;
    server.stop().await;
    let file = files.0.join("watchme.dump");
    run(&[("WATCHME_DATABASE_URL", src.url.clone())], &["backup", "--output", &file.display().to_string()]).await;
    run(&[("WATCHME_DATABASE_URL", dst.url.clone())], &["restore", "--input", &file.display().to_string()]).await;
    let (before, after) = (dump(&src.url).await, dump(&dst.url).await);
    assert_eq!(before.iter().find(|(t, _)| t == "outbox").map(|(_, r)| r.len()), Some(9), "events of the walk");
    assert_eq!(before, after);
    src.drop_db().await;
    dst.drop_db().await;
}
