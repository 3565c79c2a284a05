//! Span export over OTLP/HTTP from the real binary to a receiver in this
//! test: the request's span arrives, in the caller's trace, named after its
//! route, with the service's name.

mod support;

use std::sync::{Arc, Mutex};

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{handler, post, EndpointExt, Route, Server};
use support::{start, TempDir};

#[handler]
fn collect(body: Vec<u8>, store: Data<&Arc<Mutex<Vec<Vec<u8>>>>>) -> &'static str {
    store.0.lock().unwrap().push(body);
    ""
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_request_span_is_exported_in_the_callers_trace() {
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let app = Route::new().at("/v1/traces", post(collect)).data(received.clone());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));

    let dir = TempDir::new("otlp");
    let server = start(
        &dir.0,
        &[
            // The embedded default (SQLite), so repository spans are there too.
            ("WATCHME_OTLP_ENDPOINT", format!("http://127.0.0.1:{port}")),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ],
    )
    .await;
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let resp =
        reqwest::Client::new().get(server.url("/movies/550")).header("traceparent", caller).send().await.unwrap();
    let tp = resp.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "the caller's trace continues: {tp}");
    let our_span = tp.split('-').nth(2).unwrap().to_owned();
    let creds = serde_json::json!({"email": "ada@example.com", "password": "correct horse"});
    let http = reqwest::Client::new();
    http.post(server.url("/auth/register")).json(&creds).send().await.unwrap();
    http.post(server.url("/auth/login")).json(&creds).send().await.unwrap();
    server.stop().await; // flushes the exporter

    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "spans were exported");
    let all: Vec<u8> = bodies.concat();
    let hex =
        |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<u8>>();
    assert!(contains(&all, &hex("4bf92f3577b34da6a3ce929d0e0e4736")), "the span is in the caller's trace");
    assert!(contains(&all, &hex(&our_span)), "the exported span is the one the response named");
    assert!(contains(&all, &hex("00f067aa0ba902b7")), "its parent is the caller's span");
    assert!(contains(&all, b"watchme"), "service.name");
    assert!(contains(&all, b"GET /movies/:param0"), "named after the route template");
    assert!(!contains(&all, b"GET /movies/550"), "never after the raw path");
    for child in [
        "cache get",
        "cache set",
        "argon2id hash",
        "argon2id verify",
        "users.find_by_email",
        "sessions.create_session",
        "outbox.claim",
    ] {
        assert!(contains(&all, child.as_bytes()), "a {child} span");
    }
    assert!(contains(&all, b"db.system.name") && contains(&all, b"sqlite"), "repository spans name the database");
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

#[tokio::test]
async fn one_trace_runs_from_the_request_through_kafka_to_the_analytics() {
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let app = Route::new().at("/v1/traces", post(collect)).data(received.clone());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));

    let prefix = format!("otlp-{}", uuid::Uuid::new_v4().simple());
    let dir = TempDir::new("otlp-kafka");
    let server = start(
        &dir.0,
        &[
            ("WATCHME_DATABASE_URL", "memory:".to_owned()),
            ("WATCHME_KAFKA_BROKERS", watchme_adapters::contract::fixtures::kafka_brokers()),
            ("WATCHME_KAFKA_TOPIC_PREFIX", prefix.clone()),
            ("WATCHME_KAFKA_PARTITIONS", "1".to_owned()),
            ("WATCHME_ANALYTICS_CONSUMER", "true".to_owned()),
            ("WATCHME_OTLP_ENDPOINT", format!("http://127.0.0.1:{port}")),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let creds = serde_json::json!({"email": "ada@example.com", "password": "correct horse"});
    http.post(server.url("/auth/register")).json(&creds).send().await.unwrap();
    let login: serde_json::Value =
        http.post(server.url("/auth/login")).json(&creds).send().await.unwrap().json().await.unwrap();
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    // One GET /movies/{id} with a token (the view goes into the history with its event).
    let caller = "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let resp = http
        .get(server.url("/movies/550"))
        .header("traceparent", caller)
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let stats: serde_json::Value =
            http.get(server.url("/analytics/movies/550")).send().await.unwrap().json().await.unwrap();
        if stats["views"] == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the view never reached the analytics: {stats}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    server.stop().await; // flushes the exporter

    let all: Vec<u8> = received.lock().unwrap().concat();
    let trace = hex("5bf92f3577b34da6a3ce929d0e0e4736");
    assert!(
        occurrences(&all, &trace) >= 3,
        "request, publish and process spans in the caller's trace (found {})",
        occurrences(&all, &trace)
    );
    assert!(contains(&all, format!("publish {prefix}.events").as_bytes()), "the producer span");
    assert!(contains(&all, format!("process {prefix}.events").as_bytes()), "the consumer span");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}
