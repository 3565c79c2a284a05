//! End to end: the real `watchme` binary on port 0, driven over HTTP through
//! register → login → popular → search → details → views → favorites →
//! library → analytics, then stopped with SIGTERM.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{json_of, login, start, TempDir};

#[tokio::test]
async fn full_walk_against_the_real_binary() {
    let dir = TempDir::new("e2e");
    let server = start(&dir.0, &[]).await;
    let http = reqwest::Client::new();
    let url = |p: &str| server.url(p);

    let user = json_of(
        http.post(url("/auth/register"))
            .json(&json!({"email": "e2e@example.com", "password": "correct horse", "display_name": "E2E"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(user["display_name"], "E2E");
    // The email's case does not matter at login.
    let bearer = login(&http, &server.base, "E2E@example.com").await;

    let popular = http.get(url("/movies/popular?per_page=5")).send().await.unwrap();
    assert_eq!(popular.headers()["x-pagination-limit"], "5");
    let popular = json_of(popular, 200).await;
    assert_eq!(popular["items"].as_array().unwrap().len(), 5);

    let search = json_of(http.get(url("/movies/search?query=inception")).send().await.unwrap(), 200).await;
    assert_eq!(search["items"][0]["id"], 27205);

    for id in [27205, 27205, 603] {
        let details = http.get(url(&format!("/movies/{id}"))).header("authorization", &bearer).send().await.unwrap();
        assert!(details.headers().contains_key("x-cache"));
        json_of(details, 200).await;
    }
    let views =
        json_of(http.get(url("/movies/views")).header("authorization", &bearer).send().await.unwrap(), 200).await;
    assert_eq!(views["total_items"], 3);
    assert_eq!(views["items"][0]["movie_id"], 603);

    json_of(http.put(url("/me/favorites/27205")).header("authorization", &bearer).send().await.unwrap(), 201).await;
    let favs =
        json_of(http.get(url("/me/favorites")).header("authorization", &bearer).send().await.unwrap(), 200).await;
    assert_eq!(favs["items"][0]["title"], "Inception");

    let entry = json_of(
        http.put(url("/me/library/603"))
            .header("authorization", &bearer)
            .json(&json!({"status": "watched", "rating": 10}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(entry["rating"], 10);
    let lib = json_of(
        http.get(url("/me/library?status=watched")).header("authorization", &bearer).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(lib["total_items"], 1);

    // Analytics is fed asynchronously through the outbox relay: poll briefly.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let trending = json_of(http.get(url("/analytics/trending")).send().await.unwrap(), 200).await;
        let stats = json_of(http.get(url("/analytics/movies/603")).send().await.unwrap(), 200).await;
        let top = (trending["items"][0]["movie_id"].clone(), trending["items"][0]["views"].clone());
        if top == (json!(27205), json!(2)) && stats["watched"] == 1 && stats["rating_average"] == 10.0 {
            break;
        }
        assert!(Instant::now() < deadline, "analytics never caught up: {trending} {stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let bad = json_of(http.get(url("/movies/search?query=x&year=3000")).send().await.unwrap(), 400).await;
    assert_eq!(bad["details"][0]["field"], "year");

    // Graceful stop on SIGTERM, exit code 0.
    server.stop().await;
}

#[tokio::test]
async fn bad_configuration_is_refused_with_one_message_per_value() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchme"))
        .env_clear()
        .env("WATCHME_BIND", "nowhere")
        .env("WATCHME_LOG_FORMAT", "xml")
        .arg("check-config")
        .output()
        .expect("run watchme");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WATCHME_BIND") && err.contains("WATCHME_LOG_FORMAT"), "{err}");
}

#[tokio::test]
async fn an_unreachable_database_at_start_up_is_retried_then_reported() {
    let dir = TempDir::new("unreachable");
    let started = Instant::now();
    let out = support::command(
        &[
            ("WATCHME_DATA_DIR", dir.0.display().to_string()),
            ("WATCHME_DATABASE_URL", "postgres://watchme:s3cret@127.0.0.1:1/watchme".into()),
            ("WATCHME_DB_STARTUP_TIMEOUT_SECS", "2".into()),
            ("WATCHME_DB_ACQUIRE_TIMEOUT_MS", "200".into()),
        ],
        &[],
    )
    .output()
    .await
    .expect("run watchme");
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        stderr.contains("gave up retrying") && stderr.contains("postgres://watchme:***@127.0.0.1:1/watchme"),
        "{stderr}"
    );
    assert!(stdout.contains("retrying"), "retries are logged: {stdout}");
    assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"), "the password is never printed");
    assert!(started.elapsed() < Duration::from_secs(15), "the retry is bounded");
}

/// A SIGTERM the moment the server says "listening" stops it gracefully
/// (exit 0): the handler is installed before the announcement. It once was
/// installed only when the shutdown future was first polled, just after.
#[tokio::test]
async fn a_sigterm_right_after_listening_is_a_graceful_stop() {
    for _ in 0..5 {
        let dir = TempDir::new("sigterm");
        let server = start(&dir.0, &[("WATCHME_DATABASE_URL", "memory:".into())]).await;
        server.stop().await;
    }
}
