//! Nothing acknowledged is lost: a logged-in user's views answered 200 are
//! in the history after the server is killed with SIGKILL (their group
//! commits were durable before the answers), on the embedded default and on
//! PostgreSQL; and anonymous views counted in memory are all applied to the
//! analytics after a SIGTERM under load (the stop writes them).

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{json_of, login, start, Server, TempDir};
use watchme_adapters::contract::fixtures::PgDatabase;

const CLIENTS: usize = 32;

async fn register(http: &reqwest::Client, base: &str, email: &str) {
    let body = json!({"email": email, "password": "correct horse"});
    json_of(http.post(format!("{base}/auth/register")).json(&body).send().await.unwrap(), 201).await;
}

/// `CLIENTS` concurrent clients each open `per_client` movie pages; returns how many were answered 200.
async fn burst(base: &str, bearer: Option<&str>, per_client: usize) -> u64 {
    let answered = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, url, bearer, answered) =
                (reqwest::Client::new(), format!("{base}/movies/550"), bearer.map(str::to_owned), answered.clone());
            tokio::spawn(async move {
                for _ in 0..per_client {
                    let req = http.get(&url);
                    let req = match &bearer {
                        Some(b) => req.header("authorization", b),
                        None => req,
                    };
                    if req.send().await.is_ok_and(|r| r.status() == 200) {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    answered.load(Ordering::SeqCst)
}

async fn kill(mut server: Server) {
    server.child.start_kill().expect("SIGKILL");
    server.child.wait().await.expect("wait");
}

async fn views_in_history(base: &str, bearer: &str) -> u64 {
    let http = reqwest::Client::new();
    let v = json_of(
        http.get(format!("{base}/movies/views?per_page=1")).header("authorization", bearer).send().await.unwrap(),
        200,
    )
    .await;
    v["total_items"].as_u64().expect("total_items")
}

async fn answered_views_survive_sigkill(extra: &[(&str, String)]) {
    let dir = TempDir::new("sigkill");
    let server = start(&dir.0, extra).await;
    let http = reqwest::Client::new();
    register(&http, &server.base, "crash@example.com").await;
    let bearer = login(&http, &server.base, "crash@example.com").await;
    let answered = burst(&server.base, Some(&bearer), 20).await;
    assert_eq!(answered, (CLIENTS * 20) as u64, "every view of the burst is answered");
    kill(server).await;

    let server = start(&dir.0, extra).await;
    let stored = views_in_history(&server.base, &bearer).await;
    assert!(stored >= answered, "{stored} views in the history, {answered} were answered 200 before the kill");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn answered_views_survive_sigkill_on_the_embedded_default() {
    answered_views_survive_sigkill(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn answered_views_survive_sigkill_on_postgresql() {
    let db = PgDatabase::create("watchme_e2e").await;
    answered_views_survive_sigkill(&[("WATCHME_DATABASE_URL", db.url.clone())]).await;
    db.drop_db().await;
}

async fn movie_views(base: &str) -> u64 {
    let http = reqwest::Client::new();
    let s: Value = json_of(http.get(format!("{base}/analytics/movies/550")).send().await.unwrap(), 200).await;
    s["views"].as_u64().expect("views")
}

#[tokio::test(flavor = "multi_thread")]
async fn counted_anonymous_views_are_all_applied_after_a_sigterm_under_load() {
    let dir = TempDir::new("sigterm");
    // Counted views would be written only every minute: the stop has to write them.
    let extra = [("WATCHME_ANON_VIEWS_FLUSH_MS", "60000".to_string())];
    let server = start(&dir.0, &extra).await;
    let base = server.base.clone();
    let sent = Arc::new(AtomicU64::new(0));
    let load = {
        let (base, sent) = (base.clone(), sent.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            // Until the server stops answering.
            loop {
                sent.fetch_add(CLIENTS as u64 * 5, Ordering::SeqCst);
                let n = burst(&base, None, 5).await;
                answered += n;
                if n < (CLIENTS * 5) as u64 {
                    return answered;
                }
            }
        })
    };
    // Under load for a moment, then SIGTERM.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sent.load(Ordering::SeqCst) < 1000 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
    let answered = load.await.unwrap();
    let sent = sent.load(Ordering::SeqCst);

    let server = start(&dir.0, &extra).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let views = loop {
        let v = movie_views(&server.base).await;
        if v >= answered || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(views >= answered, "{views} views applied, {answered} anonymous views were answered 200");
    assert!(views <= sent, "{views} views applied, only {sent} were sent: counted twice");
    server.stop().await;
}
