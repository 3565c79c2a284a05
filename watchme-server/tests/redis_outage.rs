//! With WATCHME_REDIS_URL set and Redis stopped, movie pages still answer
//! 200; /health/ready answers 200 degraded (by default: a Redis every
//! replica shares must not turn them all unready at once), or 503 naming
//! Redis as down when an operator requires it
//! (WATCHME_READY_REQUIRES=database,redis); both recover by themselves.

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;
use watchme_adapters::contract::fixtures::OwnRedis;

fn dependency<'a>(ready: &'a Value, name: &str) -> &'a Value {
    ready["dependencies"].as_array().unwrap().iter().find(|d| d["name"] == name).expect("dependency listed")
}

async fn outage(requires: Option<&str>, status_while_down: u16, overall: &str, redis_status: &str) {
    let mut redis = OwnRedis::start();
    let mut raw = common::test_config();
    raw.cache.redis_url = Some(redis.url());
    if let Some(requires) = requires {
        raw.server.ready_requires = requires.into();
    }
    let client = common::build(raw).await.client;

    assert_eq!(common::header(&client.get("/movies/550").send().await, "x-cache").as_deref(), Some("MISS"));
    assert_eq!(common::header(&client.get("/movies/550").send().await, "x-cache").as_deref(), Some("HIT"));
    let ready = common::body(client.get("/health/ready").send().await).await;
    assert_eq!((ready["status"].as_str(), dependency(&ready, "redis")["status"].as_str()), (Some("up"), Some("up")));
    // The two tiers report which answered (the recorder is process-wide: at-least checks).
    let metrics =
        String::from_utf8(client.get("/metrics").send().await.0.into_body().into_bytes().await.unwrap().to_vec())
            .unwrap();
    for series in [
        "watchme_cache_tier_requests_total{tier=\"l1\",result=\"hit\"}",
        "watchme_cache_tier_requests_total{tier=\"l1\",result=\"miss\"}",
        "watchme_cache_tier_requests_total{tier=\"redis\",result=\"miss\"}",
    ] {
        assert!(metrics.lines().any(|l| l.starts_with(series) && !l.ends_with(" 0")), "{series} in:\n{metrics}");
    }

    redis.stop();
    for id in [550, 603, 680] {
        client.get(format!("/movies/{id}")).send().await.assert_status_is_ok();
    }
    // Reports are reused for a second: wait for a fresh one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = client.get("/health/ready").send().await;
    assert_eq!(resp.0.status().as_u16(), status_while_down);
    let ready = common::body(resp).await;
    let r = dependency(&ready, "redis");
    assert_eq!((ready["status"].as_str(), r["status"].as_str()), (Some(overall), Some(redis_status)), "{ready}");
    assert!(r["error"].is_string() && r["latency_ms"].is_number());

    let _redis = OwnRedis::start_on(redis.port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = client.get("/health/ready").send().await;
        let code = resp.0.status().as_u16();
        let r = common::body(resp).await;
        if r["status"] == "up" && code == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "Redis never shown up again: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn when_required_readiness_is_503_naming_redis_while_it_is_down_and_pages_still_answer() {
    outage(Some("database,redis"), 503, "down", "down").await;
}

/// Found by the soak test: with Redis required by default, killing the
/// Redis every replica shares made all of them unready at once.
#[tokio::test]
async fn by_default_a_redis_outage_only_degrades_readiness() {
    outage(None, 200, "degraded", "degraded").await;
}
