//! With WATCHME_REDIS_URL set and Redis stopped, movie pages still answer
//! 200 and /health/ready shows the cache degraded (not down); both recover.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use poem::test::TestClient;
use poem::EndpointExt;
use watchme_server::app::{build_state, Storage};
use watchme_server::RawConfig;

fn own_redis(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on the PATH");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "own redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[tokio::test]
async fn movie_pages_survive_a_redis_outage_and_health_shows_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redis = own_redis(port);
    let mut raw = RawConfig::defaults();
    raw.database_url = Some("memory:".into());
    raw.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let config = raw.validate().unwrap();
    let storage = Storage::open(&config, true).await.unwrap();
    let wiring = build_state(&config, storage, b"test-secret-test-secret-test-secret!".to_vec()).unwrap();
    let client = TestClient::new(watchme_server::api::app(wiring.state.clone(), config.max_body_bytes).boxed());

    assert_eq!(common::header(&client.get("/movies/550").send().await, "x-cache").as_deref(), Some("MISS"));
    assert_eq!(common::header(&client.get("/movies/550").send().await, "x-cache").as_deref(), Some("HIT"));
    let ready = common::body(client.get("/health/ready").send().await).await;
    assert_eq!((ready["status"].as_str(), ready["dependencies"][1]["status"].as_str()), (Some("up"), Some("up")));

    let _ = redis.kill();
    let _ = redis.wait();
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

    let mut redis = own_redis(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = common::body(client.get("/health/ready").send().await).await;
        if r["status"] == "up" {
            break;
        }
        assert!(Instant::now() < deadline, "cache never recovered: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = redis.kill();
    let _ = redis.wait();
}
