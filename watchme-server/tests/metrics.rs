//! `/metrics` over HTTP, in process: the Prometheus text format, and the
//! families of requests, cache, logins, refreshes, rate limits, the outbox
//! and the relay moving as the test acts. (The recorder is process-wide, so
//! every check compares a value before and after an action.)

mod common;

use common::{body, build, header, test_config, TestApp};
use serde_json::json;

/// The sum of the series of `name` whose labels include every `k="v"` of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').map_or((series, ""), |(n, r)| (n, r));
            if n != name || !labels.iter().all(|(k, val)| rest.contains(&format!("{k}=\"{val}\""))) {
                return None;
            }
            v.parse().ok()
        })
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

async fn scrape(app: &TestApp) -> String {
    let resp = app.client.get("/metrics").send().await;
    resp.assert_status_is_ok();
    assert!(header(&resp, "content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    String::from_utf8(resp.0.into_body().into_bytes().await.unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn metrics_move_as_the_api_is_used() {
    let mut raw = test_config();
    raw.security.rate_auth_account = "3/900".into();
    let app = build(raw).await;
    let before = scrape(&app).await;
    let get = |t: &str, n: &str, l: &[(&str, &str)]| value(t, n, l).unwrap_or(0.0);

    let creds = json!({"email": "ada@example.com", "password": "correct horse"});
    app.client.post("/auth/register").body_json(&creds).send().await;
    let tokens = body(app.client.post("/auth/login").body_json(&creds).send().await).await;
    let wrong = json!({"email": "ada@example.com", "password": "wrong horse"});
    for _ in 0..3 {
        app.client.post("/auth/login").body_json(&wrong).send().await; // the last is the 4th on the account: 429
    }
    app.client.post("/auth/refresh").body_json(&json!({"refresh_token": tokens["refresh_token"]})).send().await;
    app.client.post("/auth/refresh").body_json(&json!({"refresh_token": tokens["refresh_token"]})).send().await;
    for _ in 0..3 {
        app.client.get("/movies/550").send().await.assert_status_is_ok();
    }
    app.client.get("/movies/999999999").send().await;
    app.drain().await;

    let after = scrape(&app).await;
    let moved = |n: &str, l: &[(&str, &str)]| get(&after, n, l) - get(&before, n, l);
    assert!(moved("http_server_requests_total", &[("method", "GET"), ("status", "200")]) >= 3.0);
    let route = after
        .lines()
        .find(|l| l.starts_with("http_server_requests_total") && l.contains("movies"))
        .expect("a movie route series");
    assert!(route.contains("route=\"/movies/:param0\""), "the route template, not the path: {route}");
    assert!(!after.contains("/movies/550\""), "no series per movie id");
    assert!(moved("http_server_request_duration_seconds_count", &[("method", "GET")]) >= 3.0);
    assert!(after.contains("http_server_request_duration_seconds_bucket{"), "a histogram with buckets");
    assert!(moved("watchme_cache_requests_total", &[("kind", "details"), ("result", "hit")]) >= 2.0);
    assert!(moved("watchme_cache_requests_total", &[("kind", "details"), ("result", "miss")]) >= 1.0);
    assert!(moved("watchme_logins_total", &[("outcome", "success")]) >= 1.0);
    assert!(moved("watchme_logins_total", &[("outcome", "failure")]) >= 1.0);
    assert!(moved("watchme_token_refreshes_total", &[("outcome", "rotated")]) >= 1.0);
    assert!(moved("watchme_token_refreshes_total", &[("outcome", "reused")]) >= 1.0);
    assert!(moved("watchme_rate_limited_total", &[("budget", "auth-account")]) >= 1.0);
    assert!(moved("watchme_events_published_total", &[]) >= 3.0, "register, login, the counted anonymous views");
    assert!(after.contains("watchme_relay_batch_duration_seconds_bucket{"));
    assert_eq!(value(&after, "watchme_outbox_backlog_events", &[]), Some(0.0), "drained");
    assert!(value(&after, "watchme_outbox_oldest_unpublished_age_seconds", &[]).is_some());
    assert!(value(&after, "watchme_rate_limiter_degraded", &[]).is_some());
}

#[tokio::test]
async fn metrics_can_be_restricted_or_turned_off() {
    let mut raw = test_config();
    raw.telemetry.metrics_allow = "10.9.9.0/24".into();
    let app = build(raw).await;
    let v = common::assert_error(app.client.get("/metrics").send().await, 403, "not allowed").await;
    assert_eq!(v["code"], "forbidden");

    let mut raw = test_config();
    raw.telemetry.metrics = "false".into();
    let app = build(raw).await;
    assert_eq!(app.client.get("/metrics").send().await.0.status().as_u16(), 404);
}
