//! The Trakt-compatible API against real, unmodified Trakt clients: pytrakt
//! (PyPI) and the npm `trakt.tv` package, installed under `tests/trakt` by
//! its `install.sh` (which `scripts/test.sh` runs), each driven by a walk
//! script that signs in with the device flow and checks every answer. The
//! device flow over plain HTTP (every status a poll can get), and bad
//! bodies of every kind (4xx, never a 5xx), are tested here too.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{json_of, register, start, Server, TempDir};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const PASSWORD: &str = "correct horse battery";

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/trakt")
}

/// A client's command, or a panic saying how to install it.
fn client(relative: &str) -> PathBuf {
    let path = here().join(relative);
    assert!(path.exists(), "{} is missing: run tests/trakt/install.sh (scripts/test.sh does)", path.display());
    path
}

/// A server for the Trakt tests: polling every second, short-lived
/// access tokens (pytrakt refreshes them by itself).
async fn server(dir: &TempDir, extra: &[(&str, String)]) -> Server {
    let mut envs =
        vec![("WATCHME_TRAKT_DEVICE_INTERVAL_SECS", "1".to_string()), ("WATCHME_JWT_TTL_SECS", "300".into())];
    envs.extend(extra.iter().cloned());
    start(&dir.0.join("data"), &envs).await
}

/// Registers `email` and returns a bearer access token.
async fn user(http: &reqwest::Client, server: &Server, email: &str) -> String {
    register(http, &server.base, email, PASSWORD).await;
    let login = json_of(
        http.post(server.url("/auth/login")).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap(),
        200,
    )
    .await;
    login["access_token"].as_str().expect("access_token").to_owned()
}

/// Runs a client walk: approves the user code it prints (the user logged
/// in to WatchMe natively), and returns its output once it exits, failing
/// the test when it fails or does not end with `ok_line`.
async fn walk(mut cmd: Command, server: &Server, bearer: &str, ok_line: &str) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).spawn().expect("start client");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut seen = Vec::new();
    while let Some(line) =
        tokio::time::timeout_at(deadline.into(), lines.next_line()).await.expect("walk in time").unwrap()
    {
        seen.push(line.clone());
        // pytrakt: "Your user code is: ABCD, please navigate to ..."; the node walk: "USER_CODE ABCD".
        let code = line
            .strip_prefix("USER_CODE ")
            .or_else(|| line.strip_prefix("Your user code is: ").and_then(|r| r.split(',').next()));
        if let Some(code) = code {
            let resp = http
                .post(server.url("/trakt/oauth/device/approve"))
                .bearer_auth(bearer)
                .json(&json!({ "user_code": code.trim() }))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 204, "approve: {}", resp.text().await.unwrap());
        }
    }
    let out = child.wait_with_output().await.expect("client exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let transcript = seen.join("\n");
    assert!(out.status.success(), "client failed:\n{transcript}\n{stderr}");
    assert!(seen.iter().any(|l| l == ok_line), "client did not finish:\n{transcript}\n{stderr}");
    println!("{transcript}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pytrakt_works_unmodified_against_the_trakt_api() {
    let python = client(".venv/bin/python");
    let dir = TempDir::new("pytrakt");
    let server = server(&dir, &[]).await;
    let bearer = user(&reqwest::Client::new(), &server, "py@example.com").await;
    let mut cmd = Command::new(python);
    cmd.arg("-u")
        .arg(here().join("pytrakt_walk.py"))
        .arg(server.url("/trakt/"))
        .arg(dir.0.join("pytrakt.json"))
        .env("HOME", &dir.0);
    walk(cmd, &server, &bearer, "PYTRAKT OK").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn npm_trakt_tv_works_unmodified_against_the_trakt_api() {
    client("node_modules/trakt.tv/package.json");
    let dir = TempDir::new("trakt-tv");
    let server = server(&dir, &[]).await;
    let bearer = user(&reqwest::Client::new(), &server, "node@example.com").await;
    let mut cmd = Command::new("node");
    cmd.arg(here().join("trakt_tv_walk.js")).arg(server.url("/trakt")).current_dir(here());
    walk(cmd, &server, &bearer, "TRAKT.TV OK").await;
    server.stop().await;
}

async fn post(http: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let resp = http.post(url).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_device_flow_answers_every_poll_as_trakt_does() {
    let dir = TempDir::new("device");
    let server = server(&dir, &[("WATCHME_TRAKT_DEVICE_CODE_TTL_SECS", "5".into())]).await;
    let http = reqwest::Client::new();
    let bearer = user(&http, &server, "dev@example.com").await;
    let url = |p: &str| server.url(&format!("/trakt{p}"));
    let (status, code) = post(&http, url("//oauth/device/code"), &json!({"client_id": "tv"})).await;
    assert_eq!(status, 200, "a doubled slash is tolerated: {code}");
    assert_eq!((code["interval"].as_u64(), code["expires_in"].as_u64()), (Some(1), Some(5)));
    let poll = |device: &str| json!({"code": device, "client_id": "tv", "client_secret": "s"});
    let device = code["device_code"].as_str().unwrap().to_owned();
    let (status, body) = post(&http, url("/oauth/device/token"), &poll(&device)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("authorization_pending")));
    let (status, _) = post(&http, url("/oauth/device/token"), &poll(&device)).await;
    assert_eq!(status, 429, "polled faster than the interval");
    assert_eq!(post(&http, url("/oauth/device/token"), &poll("nope")).await.0, 404);
    let approve = |user_code: &str, yes: bool| {
        http.post(url("/oauth/device/approve"))
            .bearer_auth(&bearer)
            .json(&json!({"user_code": user_code, "approve": yes}))
    };
    assert_eq!(approve("BBBBBBBB", true).send().await.unwrap().status().as_u16(), 404, "no such code");
    let no_bearer = http.post(url("/oauth/device/approve")).json(&json!({"user_code": "x"})).send().await.unwrap();
    assert_eq!(no_bearer.status().as_u16(), 401);
    let user_code = code["user_code"].as_str().unwrap().to_lowercase();
    assert_eq!(approve(&user_code, true).send().await.unwrap().status().as_u16(), 204, "any case");
    tokio::time::sleep(Duration::from_millis(600)).await; // half the interval since the last poll
    let (status, tokens) = post(&http, url("/oauth/device/token"), &poll(&device)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!((tokens["token_type"].as_str(), tokens["scope"].as_str()), (Some("bearer"), Some("public")));
    assert!(tokens["created_at"].as_i64().unwrap() > 1_700_000_000 && tokens["expires_in"].as_u64() == Some(300));
    let access = tokens["access_token"].as_str().unwrap();
    let settings = http.get(url("/users/settings")).bearer_auth(access).header("trakt-api-version", "2");
    let me = json_of(settings.header("trakt-api-key", "tv").send().await.unwrap(), 200).await;
    assert_eq!(me["user"]["username"], "dev");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(post(&http, url("/oauth/device/token"), &poll(&device)).await.0, 409, "tokens are handed out once");

    let refresh = json!({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "tv"});
    let (status, renewed) = post(&http, url("/oauth/token"), &refresh).await;
    assert_eq!(status, 200, "{renewed}");
    let (status, again) = post(&http, url("/oauth/token"), &refresh).await;
    assert_eq!((status, again["error"].as_str()), (401, Some("invalid_grant")), "a refresh token works once");
    let renewed_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(post(&http, url("/oauth/revoke"), &json!({"token": renewed_access})).await.0, 200);
    let refused = http.get(url("/users/settings")).bearer_auth(renewed_access).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401, "a revoked token is refused");

    let denied = post(&http, url("/oauth/device/code"), &json!({"client_id": "tv"})).await.1;
    assert_eq!(approve(denied["user_code"].as_str().unwrap(), false).send().await.unwrap().status().as_u16(), 204);
    assert_eq!(post(&http, url("/oauth/device/token"), &poll(denied["device_code"].as_str().unwrap())).await.0, 418);

    let late = post(&http, url("/oauth/device/code"), &json!({"client_id": "tv"})).await.1;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = post(&http, url("/oauth/device/token"), &poll(late["device_code"].as_str().unwrap())).await;
        if status == 410 {
            break;
        }
        assert!(Instant::now() < deadline && matches!(status, 400 | 429), "expired codes answer 410, got {status}");
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert_eq!(approve(late["user_code"].as_str().unwrap(), true).send().await.unwrap().status().as_u16(), 404);

    let page = http.get(url("/activate?code=<b>")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("form-action 'self'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"), "the code is escaped");
    let form = post_form(&http, url("/oauth/device/code")).await;
    let approve_form =
        format!("user_code={}&email=dev%40example.com&password=correct+horse+battery&decision=approve", form.1);
    let page = http
        .post(url("/activate"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(approve_form)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Approved"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(post(&http, url("/oauth/device/token"), &poll(&form.0)).await.0, 200, "approved in the browser page");
    server.stop().await;
}

/// A fresh device code: (device code, user code).
async fn post_form(http: &reqwest::Client, url: String) -> (String, String) {
    let body = post(http, url, &json!({"client_id": "tv"})).await.1;
    (body["device_code"].as_str().unwrap().to_owned(), body["user_code"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_get_a_4xx_and_never_a_5xx() {
    let dir = TempDir::new("trakt-bad");
    let server = server(&dir, &[]).await;
    let http = reqwest::Client::new();
    let bearer = user(&http, &server, "bad@example.com").await;
    let endpoints = [
        "/sync/history",
        "/sync/history/remove",
        "/sync/ratings",
        "/sync/ratings/remove",
        "/sync/watchlist",
        "/sync/watchlist/remove",
        "/users/me/lists",
        "/scrobble/start",
        "/scrobble/stop",
        "/checkin",
        "/oauth/device/code",
        "/oauth/device/token",
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/device/approve",
    ];
    let bodies: Vec<(&str, String)> = vec![
        ("not JSON", "{\"movies\": [".into()),
        ("empty", String::new()),
        ("an array", "[1, 2]".into()),
        ("a number", "5".into()),
        ("movies not a list", r#"{"movies": 5}"#.into()),
        (
            "odd items",
            r#"{"movies": [1, "x", null, {"ids": "nope"}, {"ids": {"tmdb": -5}}, {"ids": {"tmdb": 1e300}}]}"#.into(),
        ),
        ("bad watched_at", r#"{"movies": [{"ids": {"tmdb": 550}, "watched_at": "yesterday"}]}"#.into()),
        ("future", r#"{"movies": [{"ids": {"tmdb": 550}, "watched_at": "2999-01-01T00:00:00Z"}]}"#.into()),
        ("progress", r#"{"movie": {"ids": {"tmdb": 550}}, "progress": 250}"#.into()),
        ("progress type", r#"{"movie": {"ids": {"tmdb": 550}}, "progress": "half"}"#.into()),
        ("episode only", r#"{"episode": {"ids": {"tvdb": 1}}, "progress": 50}"#.into()),
        ("deep", format!("{}{}", "[".repeat(100), "]".repeat(100))),
        ("names", r#"{"name": 5, "privacy": "everyone", "client_id": 7, "grant_type": "password"}"#.into()),
    ];
    for path in endpoints {
        for (case, body) in &bodies {
            let resp = http
                .post(server.url(&format!("/trakt{path}")))
                .bearer_auth(&bearer)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert!(status < 500, "{path} with {case}: {status} {text}");
            if matches!(*case, "not JSON" | "empty" | "an array" | "a number" | "deep") && path != "/activate" {
                assert_eq!(status, 400, "{path} with {case}: {text}");
                let err: Value = serde_json::from_str(&text).expect("the error shape");
                assert!(err["code"].is_string() && err["request_id"].is_string(), "{text}");
            }
        }
    }
    let unauthenticated =
        http.post(server.url("/trakt/sync/history")).json(&json!({"movies": []})).send().await.unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    let future = http
        .post(server.url("/trakt/sync/history"))
        .bearer_auth(&bearer)
        .json(&json!({"movies": [{"ids": {"tmdb": 550}, "watched_at": "2999-01-01T00:00:00Z"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(future.status().as_u16(), 422, "a play in the future");
    for path in ["/sync/history/shows", "/sync/watched/episodes", "/sync/ratings/seasons", "/users/me/watchlist/shows"]
    {
        let got =
            json_of(http.get(server.url(&format!("/trakt{path}"))).bearer_auth(&bearer).send().await.unwrap(), 200)
                .await;
        assert_eq!(got, json!([]), "{path}: WatchMe tracks movies only");
    }
    let other_user =
        http.get(server.url("/trakt/users/someone-else/history")).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(other_user.status().as_u16(), 404);
    let spec = json_of(http.get(server.url("/trakt/openapi.json")).send().await.unwrap(), 200).await;
    assert!(spec["paths"]["/sync/history"]["post"].is_object());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_carries_trakts_rate_limit_headers() {
    let dir = TempDir::new("trakt-429");
    let server = server(&dir, &[("WATCHME_RATE_ANONYMOUS", "2/60".into())]).await;
    let http = reqwest::Client::new();
    let mut last = None;
    for _ in 0..3 {
        last = Some(http.get(server.url("/trakt/movies/popular")).send().await.unwrap());
    }
    let resp = last.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let limit: Value = serde_json::from_str(resp.headers()["x-ratelimit"].to_str().unwrap()).expect("JSON");
    assert_eq!((limit["limit"].as_u64(), limit["remaining"].as_u64()), (Some(2), Some(0)), "{limit}");
    assert!(limit["name"].is_string() && limit["period"].as_u64() >= Some(1) && limit["until"].is_string());
    let native = http.get(server.url("/movies/popular")).send().await.unwrap();
    assert_eq!(native.status().as_u16(), 429);
    assert!(native.headers().get("x-ratelimit").is_none(), "Trakt's header on the Trakt API only");
    server.stop().await;
}
