//! The server pointed at a local TMDb-shaped server: the cache spares TMDb,
//! serves stale copies when it fails, and admins can invalidate it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn movie(id: u64, title: &str) -> Value {
    json!({
        "adult": false, "backdrop_path": null, "genres": [{"id": 18, "name": "Drama"}], "id": id,
        "imdb_id": "tt0000001", "original_language": "en", "original_title": title, "overview": "An overview.",
        "popularity": 10.0, "poster_path": "/poster.jpg", "release_date": "2001-01-01", "runtime": 100,
        "status": "Released", "tagline": "", "title": title, "video": false, "vote_average": 7.5, "vote_count": 100,
        "credits": {"cast": [], "crew": []}
    })
}

/// TMDb answering `GET /movie/{id}` with that movie under `title`.
fn details_of(id: u64, title: &str) -> Mock {
    Mock::given(path(format!("/movie/{id}"))).respond_with(ResponseTemplate::new(200).set_body_json(movie(id, title)))
}

async fn app(tmdb: &MockServer, details_ttl_secs: &str) -> Arc<common::Client> {
    let mut raw = common::test_config();
    raw.tmdb.tmdb_api_key = Some("test-key".into());
    raw.tmdb.tmdb_base_url = tmdb.uri();
    raw.tmdb.tmdb_rate_limit = "1000".into();
    raw.tmdb.tmdb_timeout_ms = "2000".into();
    raw.cache.cache_details_ttl_secs = details_ttl_secs.into();
    common::build(raw).await.client
}

/// TMDb's answer to a refused credential (its documented error shape).
fn invalid_api_key() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .set_body_json(json!({"status_code": 7, "status_message": "Invalid API key", "success": false}))
}

fn x_cache(r: &poem::test::TestResponse) -> String {
    common::header(r, "x-cache").unwrap_or_default()
}

#[tokio::test]
async fn a_thousand_requests_for_one_movie_cost_one_upstream_call() {
    let tmdb = MockServer::start().await;
    details_of(550, "Fight Club").expect(1).mount(&tmdb).await;
    let client = app(&tmdb, "3600").await;
    let first = client.get("/movies/550").send().await;
    assert_eq!(x_cache(&first), "MISS");
    for _ in 0..999 {
        let r = client.get("/movies/550").send().await;
        r.assert_status_is_ok();
        assert_eq!(x_cache(&r), "HIT");
    }
    assert_eq!(tmdb.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn fifty_concurrent_first_requests_cost_one_upstream_call() {
    let tmdb = MockServer::start().await;
    Mock::given(path("/movie/603"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(movie(603, "The Matrix")).set_delay(Duration::from_millis(300)),
        )
        .mount(&tmdb)
        .await;
    let client = app(&tmdb, "3600").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let c = client.clone();
        tasks.spawn(async move { c.get("/movies/603").send().await.0.status().as_u16() });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(tmdb.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_stale_copy_is_served_when_tmdb_fails_and_errors_map_without_one() {
    let tmdb = MockServer::start().await;
    details_of(13, "Forrest Gump").mount(&tmdb).await;
    let client = app(&tmdb, "1").await;
    assert_eq!(x_cache(&client.get("/movies/13").send().await), "MISS");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    tmdb.reset().await;
    Mock::given(path("/movie/13")).respond_with(ResponseTemplate::new(500)).mount(&tmdb).await;
    Mock::given(path("/movie/14")).respond_with(ResponseTemplate::new(500)).mount(&tmdb).await;
    Mock::given(path("/movie/15")).respond_with(invalid_api_key()).mount(&tmdb).await;
    Mock::given(path("/movie/16"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"status_code": 34, "status_message": "not found", "success": false})),
        )
        .mount(&tmdb)
        .await;

    let stale = client.get("/movies/13").send().await;
    stale.assert_status_is_ok();
    assert_eq!(x_cache(&stale), "STALE");
    assert_eq!(common::body(stale).await["title"], "Forrest Gump");

    let down = client.get("/movies/14").send().await;
    assert_eq!(common::header(&down, "retry-after").as_deref(), Some("5"), "a 503 says when to retry");
    let v = common::assert_error(down, 503, "TMDb down, nothing cached").await;
    assert_eq!(v["code"], "upstream_unavailable");
    let v = common::assert_error(client.get("/movies/15").send().await, 503, "TMDb refuses our key").await;
    assert_eq!(v["code"], "upstream_misconfigured");
    common::assert_error(client.get("/movies/16").send().await, 404, "TMDb has no such movie").await;

    // The same story in /metrics (the recorder is process-wide: these are at-least checks).
    let text =
        String::from_utf8(client.get("/metrics").send().await.0.into_body().into_bytes().await.unwrap().to_vec())
            .unwrap();
    let has = |needle: &str| text.lines().any(|l| l.starts_with(needle) && !l.ends_with(" 0"));
    for series in [
        "watchme_tmdb_requests_total{outcome=\"ok\"}",
        "watchme_tmdb_requests_total{outcome=\"error\"}",
        "watchme_tmdb_requests_total{outcome=\"misconfigured\"}",
        "watchme_tmdb_requests_total{outcome=\"not_found\"}",
        "watchme_tmdb_retries_total",
        "watchme_cache_requests_total{kind=\"details\",result=\"stale\"}",
        "watchme_tmdb_breaker_state{state=\"closed\"}",
    ] {
        assert!(has(series), "{series} missing or zero in:\n{text}");
    }
}

#[tokio::test]
async fn admins_invalidate_the_cache_and_others_may_not() {
    let tmdb = MockServer::start().await;
    details_of(550, "Fight Club").mount(&tmdb).await;
    let client = app(&tmdb, "3600").await;
    let admin = format!("Bearer {}", common::token(&client, "root@example.com").await);
    let user = format!("Bearer {}", common::token(&client, "ada@example.com").await);
    client.get("/movies/550").send().await;
    assert_eq!(x_cache(&client.get("/movies/550").send().await), "HIT");

    common::assert_error(
        client.delete("/admin/cache/movies/550").header("authorization", &user).send().await,
        403,
        "not an admin",
    )
    .await;
    common::assert_error(client.delete("/admin/cache").send().await, 401, "anonymous").await;
    client
        .delete("/admin/cache/movies/550")
        .header("authorization", &admin)
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    assert_eq!(x_cache(&client.get("/movies/550").send().await), "MISS");

    let r = client.delete("/admin/cache").header("authorization", &admin).send().await;
    r.assert_status_is_ok();
    assert!(common::body(r).await["removed"].as_u64().unwrap() >= 1);
    assert_eq!(x_cache(&client.get("/movies/550").send().await), "MISS");
    assert_eq!(tmdb.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn after_an_invalidation_the_page_shows_what_tmdb_answers_now() {
    let tmdb = MockServer::start().await;
    details_of(550, "Fight Club").up_to_n_times(1).mount(&tmdb).await;
    details_of(550, "Fight Club (Director's Cut)").mount(&tmdb).await;
    let client = app(&tmdb, "3600").await;
    let admin = format!("Bearer {}", common::token(&client, "root@example.com").await);
    let title =
        |r: poem::test::TestResponse| async move { common::body(r).await["title"].as_str().unwrap().to_owned() };
    assert_eq!(title(client.get("/movies/550").send().await).await, "Fight Club");
    // Hits reuse the encoded page; it must go with the cached entry.
    assert_eq!(title(client.get("/movies/550").send().await).await, "Fight Club");
    let r = client.delete("/admin/cache/movies/550").header("authorization", &admin).send().await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    let fresh = client.get("/movies/550").send().await;
    assert_eq!(x_cache(&fresh), "MISS");
    assert_eq!(title(fresh).await, "Fight Club (Director's Cut)");
    let hit = client.get("/movies/550").send().await;
    assert_eq!(x_cache(&hit), "HIT");
    assert_eq!(title(hit).await, "Fight Club (Director's Cut)");
}

#[tokio::test]
async fn readiness_checks_the_tmdb_credential_and_remembers_the_answer() {
    let tmdb = MockServer::start().await;
    Mock::given(path("/configuration"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"images": {"base_url": "http://image.tmdb.org/t/p/"}})),
        )
        .mount(&tmdb)
        .await;
    let client = app(&tmdb, "3600").await;
    let ready = common::body(client.get("/health/ready").send().await).await;
    let source =
        ready["dependencies"].as_array().unwrap().iter().find(|d| d["name"] == "movie_source").unwrap().clone();
    assert_eq!(source["status"], "up", "{ready}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.get("/health/ready").send().await;
    let asked = tmdb.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/configuration").count();
    assert_eq!(asked, 1, "a good credential is not asked about again for 5 minutes");

    let refused = MockServer::start().await;
    Mock::given(path("/configuration")).respond_with(invalid_api_key()).mount(&refused).await;
    let client = app(&refused, "3600").await;
    let resp = client.get("/health/ready").send().await;
    assert_eq!(resp.0.status().as_u16(), 200, "TMDb is optional by default: cached copies still serve");
    let ready = common::body(resp).await;
    let source =
        ready["dependencies"].as_array().unwrap().iter().find(|d| d["name"] == "movie_source").unwrap().clone();
    assert_eq!((ready["status"].as_str(), source["status"].as_str()), (Some("degraded"), Some("degraded")));
    assert!(source["error"].as_str().unwrap().contains("401"), "{source}");
}
