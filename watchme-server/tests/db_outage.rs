//! A PostgreSQL that goes away while the server runs: requests get 503 in
//! the error shape, /health/ready fails, and both recover by themselves
//! when it returns. The outage is a TCP proxy in front of the local
//! PostgreSQL that the test cuts and restores.

mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use watchme_adapters::contract::fixtures::PgDatabase;

/// Forwards connections to PostgreSQL while `up` is true; cuts them all when it turns false.
async fn proxy(up: watch::Receiver<bool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { continue };
            if !*up.borrow() {
                continue; // dropped: the connection is refused
            }
            let mut up = up.clone();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await else { return };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = up.wait_for(|u| !*u) => {}
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_database_outage_gives_503_and_recovers_by_itself() {
    let db = PgDatabase::create("watchme_outage").await;

    let (up_tx, up_rx) = watch::channel(true);
    let port = proxy(up_rx).await;
    let mut raw = common::test_config();
    raw.database.database_url = Some(format!("postgres://postgres@127.0.0.1:{port}/{}", db.name));
    raw.database.db_acquire_timeout_ms = "500".into();
    let app = common::build(raw).await;
    let client = &app.client;

    client
        .post("/auth/register")
        .body_json(&json!({"email": "ada@example.com", "password": "correct horse"}))
        .send()
        .await
        .assert_status(poem::http::StatusCode::CREATED);
    let token = common::token(client, "ada@example.com").await;
    let favs = || client.get("/me/favorites").header("authorization", format!("Bearer {token}")).send();
    favs().await.assert_status_is_ok();

    up_tx.send_replace(false);
    let v = common::assert_error(favs().await, 503, "database down").await;
    assert_eq!(v["code"], "unavailable");
    let ready = client.get("/health/ready").send().await;
    assert_eq!(ready.0.status().as_u16(), 503);
    assert_eq!(common::body(ready).await["dependencies"][0]["status"], "down");
    common::assert_error(
        client
            .post("/auth/register")
            .body_json(&json!({"email": "bob@example.com", "password": "correct horse"}))
            .send()
            .await,
        503,
        "register while down",
    )
    .await;

    up_tx.send_replace(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = favs().await;
        if r.0.status().is_success() {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {}", r.0.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Readiness reports are reused for up to a second.
    loop {
        if client.get("/health/ready").send().await.0.status().is_success() {
            break;
        }
        assert!(Instant::now() < deadline, "readiness never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    if let Some(s) = &app.wiring.storage.sql {
        s.close().await;
    }
    db.drop_db().await;
}
