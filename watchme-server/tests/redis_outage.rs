//! With WATCHME_REDIS_URL set and Redis stopped, movie pages still answer
//! 200 and /health/ready shows the cache degraded (not down); both recover.

mod common;

use std::time::{Duration, Instant};

use watchme_adapters::contract::fixtures::OwnRedis;

#[tokio::test]
async fn movie_pages_survive_a_redis_outage_and_health_shows_it() {
    let mut redis = OwnRedis::start();
    let mut raw = common::test_config();
    raw.redis_url = Some(redis.url());
    let client = common::build(raw).await.client;

    assert_eq!(common::header(&client.get("/movies/550").send().await, "x-cache").as_deref(), Some("MISS"));
    assert_eq!(common::header(&client.get("/movies/550").send().await, "x-cache").as_deref(), Some("HIT"));
    let ready = common::body(client.get("/health/ready").send().await).await;
    assert_eq!((ready["status"].as_str(), ready["dependencies"][1]["status"].as_str()), (Some("up"), Some("up")));

    redis.stop();
    for id in [550, 603, 680] {
        client.get(format!("/movies/{id}")).send().await.assert_status_is_ok();
    }
    let ready = client.get("/health/ready").send().await;
    ready.assert_status_is_ok();
    let ready = common::body(ready).await;
    assert_eq!(
        (ready["status"].as_str(), ready["dependencies"][1]["status"].as_str()),
        (Some("degraded"), Some("degraded"))
    );

    let _redis = OwnRedis::start_on(redis.port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = common::body(client.get("/health/ready").send().await).await;
        if r["status"] == "up" {
            break;
        }
        assert!(Instant::now() < deadline, "cache never recovered: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
