//! Logs of the real binary: JSON when stdout is not a terminal (the default
//! `auto` format), slow requests at warn, and a copy in rotating files.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{start, TempDir};

#[tokio::test]
async fn json_by_default_slow_requests_at_warn_and_a_copy_in_log_files() {
    let (data, logs) = (TempDir::new("logs-data"), TempDir::new("logs-dir"));
    let server = start(
        &data.0,
        &[
            ("WATCHME_LOG_FORMAT", "auto".to_owned()),
            ("WATCHME_DATABASE_URL", "memory:".to_owned()),
            ("WATCHME_LOG_DIR", logs.0.display().to_string()),
            ("WATCHME_LOG_KEEP", "3".to_owned()),
            // The smallest threshold, and a request that surely takes longer: a login hashes.
            ("WATCHME_SLOW_REQUEST_MS", "1".to_owned()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let creds = serde_json::json!({"email": "ada@example.com", "password": "correct horse"});
    http.post(server.url("/auth/register")).json(&creds).send().await.unwrap();
    http.post(server.url("/auth/login")).header("x-request-id", "slow-login-1").json(&creds).send().await.unwrap();
    // The access log line is written after the response: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = server.logs.lock().unwrap().clone();
        if lines.iter().any(|l| l.contains("slow request") && l.contains("slow-login-1")) {
            break lines;
        }
        assert!(std::time::Instant::now() < deadline, "no slow-request line for the login: {lines:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for l in &lines {
        assert!(serde_json::from_str::<Value>(l).is_ok(), "stdout is JSON when it is not a terminal: {l}");
    }
    let slow = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "slow request" && v.to_string().contains("slow-login-1"))
        .expect("the login (an argon2id hash) is logged as slow");
    assert_eq!(slow["level"], "WARN");
    let request_span = &slow["spans"][0];
    assert_eq!(request_span["name"], "request");
    assert_eq!(request_span["trace_id"].as_str().map(str::len), Some(32), "{slow}");
    assert_eq!(request_span["span_id"].as_str().map(str::len), Some(16), "{slow}");
    assert_eq!(slow["slow_request_ms"], 1);
    assert!(slow["latency_ms"].as_f64().unwrap() >= 1.0);

    server.stop().await;
    let files: Vec<_> = std::fs::read_dir(&logs.0).unwrap().filter_map(Result::ok).collect();
    assert_eq!(files.len(), 1, "one file for today");
    let name = files[0].file_name().to_string_lossy().into_owned();
    assert!(name.starts_with("watchme.") && name.ends_with(".log"), "{name}");
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(text.lines().count() >= 3);
    assert!(text.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "the file holds JSON lines");
    assert!(text.contains("slow-login-1"), "request lines reach the file with their request id");
    assert!(text.contains("\"stopped\""), "the last line before exit is flushed");
}

#[tokio::test]
async fn metrics_can_live_on_their_own_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = TempDir::new("metrics-bind");
    let server = start(
        &data.0,
        &[("WATCHME_DATABASE_URL", "memory:".to_owned()), ("WATCHME_METRICS_BIND", format!("127.0.0.1:{port}"))],
    )
    .await;
    let http = reqwest::Client::new();
    http.get(server.url("/movies/550")).send().await.unwrap();
    let on_api = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(on_api.status().as_u16(), 404, "not on the API's port");
    let text = http.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("http_server_requests_total{"), "{text}");
}
