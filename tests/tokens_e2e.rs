//! Personal API tokens through HTTP only, on the embedded default (SQLite)
//! and on PostgreSQL: made by a login, shown once, read-only when asked,
//! refused at once when revoked.

mod support;

use serde_json::{json, Value};
use support::{json_of, login, register, start, TempDir};
use watchme_adapters::contract::fixtures::PgDatabase as PgDb;

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    bearer: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let mut req = http.request(method.parse().unwrap(), url).header("authorization", bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    json_of(req.send().await.expect("request"), status).await
}

async fn tokens(extra: &[(&str, String)]) {
    let dir = TempDir::new("tokens");
    let server = start(&dir.0, extra).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    register(&http, &server.base, "ada@example.com", "correct horse").await;
    let session = login(&http, &server.base, "ada@example.com").await;

    let made =
        call(&http, "POST", url("/me/tokens"), &session, Some(json!({"name": "reader", "scope": "read"})), 201).await;
    let read = format!("Bearer {}", made["token"].as_str().expect("the secret, once"));
    assert!(made["token"].as_str().unwrap().starts_with("wmp_"));
    assert_eq!((made["scope"].clone(), made.get("expires_at")), (json!("read"), None));
    let write_made = call(
        &http,
        "POST",
        url("/me/tokens"),
        &session,
        Some(json!({"name": "sync", "scope": "write", "expires_in_days": 30})),
        201,
    )
    .await;
    let write = format!("Bearer {}", write_made["token"].as_str().unwrap());
    assert!(write_made["expires_at"].is_string());

    let listed = call(&http, "GET", url("/me/tokens"), &session, None, 200).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    assert!(!listed.to_string().contains("wmp_"), "never the secret again: {listed}");

    // A read token reads and is refused every write; a write token writes.
    let plays = json!({"plays": [{"movie_id": 550, "watched_at": "2026-01-01T20:00:00Z"}]});
    call(&http, "GET", url("/me/history"), &read, None, 200).await;
    let refused = call(&http, "POST", url("/me/history"), &read, Some(plays.clone()), 403).await;
    assert!(refused["message"].as_str().unwrap().contains("read-only"), "{refused}");
    call(&http, "PUT", url("/me/favorites/550"), &read, None, 403).await;
    call(&http, "POST", url("/me/history"), &write, Some(plays), 201).await;
    assert_eq!(call(&http, "GET", url("/me/history"), &read, None, 200).await["total_items"], 1);
    let me = call(&http, "GET", url("/me"), &write, None, 200).await;
    assert_eq!(me["email"], "ada@example.com");

    // Only a login manages tokens and sessions.
    call(&http, "POST", url("/me/tokens"), &write, Some(json!({"name": "x", "scope": "write"})), 403).await;
    call(&http, "GET", url("/me/tokens"), &write, None, 403).await;
    call(&http, "GET", url("/auth/sessions"), &write, None, 403).await;
    call(&http, "POST", url("/auth/logout"), &write, None, 403).await;

    // Bad input is a 400 naming the field.
    let bad = call(&http, "POST", url("/me/tokens"), &session, Some(json!({"name": " ", "scope": "read"})), 400).await;
    assert_eq!(bad["details"][0]["field"], "name");
    let bad = call(&http, "POST", url("/me/tokens"), &session, Some(json!({"name": "x", "scope": "admin"})), 400).await;
    assert_eq!(bad["details"][0]["field"], "scope");
    call(
        &http,
        "POST",
        url("/me/tokens"),
        &session,
        Some(json!({"name": "x", "scope": "read", "expires_in_days": 0})),
        400,
    )
    .await;

    // Revoked: refused at once; another user's token is a 404.
    let id = made["id"].as_str().unwrap();
    register(&http, &server.base, "bob@example.com", "correct horse").await;
    let bob = login(&http, &server.base, "bob@example.com").await;
    call(&http, "DELETE", url(&format!("/me/tokens/{id}")), &bob, None, 404).await;
    let resp = http.delete(url(&format!("/me/tokens/{id}"))).header("authorization", &session).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    call(&http, "GET", url("/me/history"), &read, None, 401).await;
    call(&http, "GET", url("/me/history"), "Bearer wmp_not-a-token", None, 401).await;
    assert_eq!(
        call(&http, "GET", url("/me/tokens"), &session, None, 200).await["items"].as_array().map(Vec::len),
        Some(1)
    );
    server.stop().await;
}

/// A token's requests count against its user's budget, the same budget as
/// the user's login.
#[tokio::test]
async fn a_token_shares_its_users_rate_limit() {
    let dir = TempDir::new("tokens-limit");
    let server = start(&dir.0, &[("WATCHME_RATE_USER", "6/3600".into())]).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    register(&http, &server.base, "ada@example.com", "correct horse").await;
    let session = login(&http, &server.base, "ada@example.com").await;
    let made = call(&http, "POST", url("/me/tokens"), &session, Some(json!({"name": "r", "scope": "read"})), 201).await;
    let token = format!("Bearer {}", made["token"].as_str().unwrap());
    // The login used 1 of 6 (the POST above); 3 by the token, 2 by the login.
    for bearer in [&token, &token, &token, &session, &session] {
        call(&http, "GET", url("/me/history"), bearer, None, 200).await;
    }
    let refused = http.get(url("/me/history")).header("authorization", &token).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429, "the 7th request of the user, whichever credential");
    assert!(refused.headers().contains_key("retry-after"));
    server.stop().await;
}

#[tokio::test]
async fn api_tokens_on_the_embedded_default() {
    tokens(&[]).await;
}

#[tokio::test]
async fn api_tokens_on_postgresql() {
    let db = PgDb::create("watchme_tokens").await;
    tokens(&[("WATCHME_DATABASE_URL", db.url.clone())]).await;
    db.drop_db().await;
}
