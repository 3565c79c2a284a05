//! Issue 6 against the real binary: a login budget shared by two replicas
//! through Redis, HTTPS with a certificate made here, and a full walk of
//! the API whose captured logs and error bodies must hold no secret.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{json_of, start, TempDir};

fn redis_namespace() -> String {
    format!("e2e-{}:", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn two_replicas_sharing_redis_count_login_attempts_together() {
    let (dir_a, dir_b) = (TempDir::new("rl-a"), TempDir::new("rl-b"));
    let shared = [
        ("WATCHME_DATABASE_URL", "memory:".to_owned()),
        ("WATCHME_REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
        ("WATCHME_REDIS_NAMESPACE", redis_namespace()),
        ("WATCHME_RATE_AUTH_IP", "20/900".to_owned()),
        ("WATCHME_RATE_AUTH_ACCOUNT", "1000/900".to_owned()),
    ];
    let a = start(&dir_a.0, &shared).await;
    let b = start(&dir_b.0, &shared).await;
    let http = reqwest::Client::new();
    for n in 0..20 {
        let server = if n % 2 == 0 { &a } else { &b };
        let resp = http
            .post(server.url("/auth/login"))
            .json(&json!({"email": format!("u{n}@example.com"), "password": "wrong horse"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "attempt {}", n + 1);
        assert_eq!(resp.headers()["ratelimit-limit"], "20");
        assert_eq!(resp.headers()["ratelimit-remaining"].to_str().unwrap(), (19 - n).to_string());
    }
    for server in [&a, &b] {
        let resp = http
            .post(server.url("/auth/login"))
            .json(&json!({"email": "late@example.com", "password": "wrong horse"}))
            .send()
            .await
            .unwrap();
        let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=45).contains(&retry), "retry after about 900/20 s: {retry}");
        let v = json_of(resp, 429).await;
        assert_eq!(v["code"], "rate_limited");
    }
    // A third replica in another namespace does not share the count.
    let dir_c = TempDir::new("rl-c");
    let mut other = shared.to_vec();
    other[2] = ("WATCHME_REDIS_NAMESPACE", redis_namespace());
    let c = start(&dir_c.0, &other).await;
    let resp = http
        .post(c.url("/auth/login"))
        .json(&json!({"email": "late@example.com", "password": "wrong horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

/// The status of a GET of `url` through a proxy that saw `client`; the
/// left-most hop is what a client could forge, and is never believed.
async fn forwarded(http: &reqwest::Client, url: &str, client: &str) -> u16 {
    let chain = format!("6.6.6.6, {client}");
    http.get(url).header("x-forwarded-for", chain).send().await.unwrap().status().as_u16()
}

/// X-Forwarded-For decides the anonymous budget only when the peer is a
/// trusted proxy: behind one, two clients have a budget each; without one,
/// the header is ignored and every request counts against the peer.
#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let http = reqwest::Client::new();
    for (trusted, other_client_status) in [("127.0.0.1/32", 200), ("", 429)] {
        let dir = TempDir::new("xff");
        let server = start(
            &dir.0,
            &[
                ("WATCHME_DATABASE_URL", "memory:".to_owned()),
                ("WATCHME_RATE_ANONYMOUS", "2/600".to_owned()),
                ("WATCHME_TRUSTED_PROXIES", trusted.to_owned()),
            ],
        )
        .await;
        let url = server.url("/movies/550");
        let (a, b) = ("198.51.100.7", "203.0.113.9");
        let first_two = (forwarded(&http, &url, a).await, forwarded(&http, &url, a).await);
        assert_eq!(first_two, (200, 200), "trusted={trusted:?}");
        assert_eq!(forwarded(&http, &url, a).await, 429, "third request of one client, trusted={trusted:?}");
        assert_eq!(forwarded(&http, &url, b).await, other_client_status, "another client, trusted={trusted:?}");
        server.stop().await;
    }
}

#[tokio::test]
async fn serves_https_with_a_certificate_generated_here() {
    let dir = TempDir::new("tls");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).unwrap();
    let server = start(
        &dir.0,
        &[
            ("WATCHME_DATABASE_URL", "memory:".to_owned()),
            ("WATCHME_TLS_CERT", cert_file.display().to_string()),
            ("WATCHME_TLS_KEY", key_file.display().to_string()),
        ],
    )
    .await;
    let base = server.base.replace("http://", "https://");
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = trusting.get(format!("{base}/movies/550")).send().await.expect("HTTPS request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["id"], 550);

    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(format!("{base}/health/live")).send().await.is_err(), "an unknown CA is refused");
    let plain = reqwest::Client::new().get(format!("{}/health/live", server.base)).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "no plain HTTP on the TLS port");
}

#[tokio::test]
async fn no_secret_reaches_the_logs_or_an_error_body() {
    let dir = TempDir::new("secrets");
    let jwt_secret = "e2e-jwt-secret-0123456789abcdef0123456789abcdef";
    let server = start(
        &dir.0,
        &[
            ("WATCHME_LOG", "trace".to_owned()),
            ("WATCHME_JWT_SECRET", jwt_secret.to_owned()),
            ("WATCHME_ADMIN_EMAILS", "root@example.com".to_owned()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let password = "Tr0ub4dor&3-walk-secret";
    let wrong = "wrong-horse-walk-secret";
    let mut secrets: Vec<String> = vec![password.into(), wrong.into(), jwt_secret.into()];
    let mut bodies: Vec<String> = Vec::new();
    let mut call = async |req: reqwest::RequestBuilder| -> (u16, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        bodies.push(text.clone());
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    };
    let creds = json!({"email": "walker@example.com", "password": password});
    assert_eq!(call(http.post(server.url("/auth/register")).json(&creds)).await.0, 201);
    let (_, login) = call(http.post(server.url("/auth/login")).json(&creds)).await;
    let (access, refresh) = (login["access_token"].as_str().unwrap(), login["refresh_token"].as_str().unwrap());
    secrets.extend([access.to_owned(), refresh.to_owned()]);
    let (_, rotated) = call(http.post(server.url("/auth/refresh")).json(&json!({"refresh_token": refresh}))).await;
    let (access2, refresh2) = (rotated["access_token"].as_str().unwrap(), rotated["refresh_token"].as_str().unwrap());
    secrets.extend([access2.to_owned(), refresh2.to_owned()]);
    let auth = format!("Bearer {access2}");
    for (method, path) in [
        ("GET", "/me"),
        ("GET", "/movies/550"),
        ("PUT", "/me/favorites/550"),
        ("GET", "/me/favorites"),
        ("GET", "/auth/sessions"),
        ("DELETE", "/admin/cache"),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        call(http.request(m, server.url(path)).header("authorization", &auth)).await;
    }
    let put = json!({"status": "watched", "rating": 9});
    call(http.put(server.url("/me/library/550")).header("authorization", &auth).json(&put)).await;
    // Failures: a wrong password, a garbage token, a password as a number, a replayed refresh token.
    call(http.post(server.url("/auth/login")).json(&json!({"email": "walker@example.com", "password": wrong}))).await;
    call(http.get(server.url("/me")).header("authorization", format!("Bearer {wrong}"))).await;
    let numeric = "31415926535897932";
    secrets.push(numeric.into());
    let raw = format!(r#"{{"email": "walker@example.com", "password": {numeric}}}"#);
    call(http.post(server.url("/auth/login")).header("content-type", "application/json").body(raw)).await;
    let (status, _) = call(http.post(server.url("/auth/refresh")).json(&json!({"refresh_token": refresh}))).await;
    assert_eq!(status, 401, "replayed refresh token");
    let common = json!({"email": "weak@example.com", "password": "password123"});
    call(http.post(server.url("/auth/register")).json(&common)).await;
    let root = json!({"email": "root@example.com", "password": password});
    call(http.post(server.url("/auth/register")).json(&root)).await;
    let (_, admin) = call(http.post(server.url("/auth/login")).json(&root)).await;
    let admin_access = admin["access_token"].as_str().unwrap().to_owned();
    secrets.push(admin_access.clone());
    call(http.delete(server.url("/admin/cache")).header("authorization", format!("Bearer {admin_access}"))).await;
    call(
        http.post(server.url("/auth/logout"))
            .header("authorization", format!("Bearer {admin_access}"))
            .header("x-request-id", "the-last-request"),
    )
    .await;
    // Every line of the walk is written once the last request's access line is.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let logs = loop {
        let logs = server.logs.lock().unwrap().clone();
        if logs.iter().any(|l| l.contains("the-last-request") && l.contains("request served")) {
            break logs;
        }
        assert!(std::time::Instant::now() < deadline, "the last request was never logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(logs.len() > 50, "trace logging captured the walk ({} lines)", logs.len());
    assert!(logs.iter().any(|l| l.contains("refresh_token_reuse")), "the replay was logged as a security event");
    for secret in &secrets {
        let shown = &secret[..secret.len().min(12)];
        for line in &logs {
            assert!(!line.contains(secret.as_str()), "secret {shown}… in a log line: {line}");
        }
        for body in &bodies {
            if body.contains(secret.as_str()) {
                // Tokens belong in the bodies that issue them, nowhere else.
                assert!(body.contains("access_token"), "secret {shown}… in a response body: {body}");
            }
        }
    }
    for line in &logs {
        assert!(!line.to_ascii_lowercase().contains("bearer ey"), "an Authorization value was logged: {line}");
    }
}
