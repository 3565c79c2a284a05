//! Issue 6 over HTTP, in process: refresh-token rotation and reuse
//! detection, sessions, forged tokens, rate limits and their headers,
//! security headers, CORS, hostile JSON, admin routes, other users' data.

mod common;

use common::{app, assert_error, body, build, header, test_config, TestApp};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

async fn login(app: &TestApp, email: &str) -> Value {
    let creds = json!({"email": email, "password": "correct horse"});
    app.client.post("/auth/register").body_json(&creds).send().await;
    let resp = app.client.post("/auth/login").body_json(&creds).send().await;
    resp.assert_status_is_ok();
    body(resp).await
}

fn bearer(tokens: &Value) -> String {
    format!("Bearer {}", tokens["access_token"].as_str().expect("access_token"))
}

async fn refresh(app: &TestApp, token: &Value) -> poem::test::TestResponse {
    app.client.post("/auth/refresh").body_json(&json!({"refresh_token": token})).send().await
}

async fn me_status(app: &TestApp, auth: &str) -> u16 {
    app.client.get("/me").header("authorization", auth).send().await.0.status().as_u16()
}

#[tokio::test]
async fn login_answers_both_tokens_and_refresh_rotates() {
    let app = app().await;
    let first = login(&app, "ada@example.com").await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 900, "15 minute access tokens by default");
    assert_eq!(first["refresh_expires_in"], 30 * 24 * 3600, "30 day refresh tokens by default");
    let refresh_token = first["refresh_token"].as_str().unwrap();
    assert!(refresh_token.starts_with("wmr_") && refresh_token.len() == 68, "{refresh_token}");

    let resp = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(header(&resp, "cache-control").as_deref(), Some("no-store"));
    resp.assert_status_is_ok();
    let second = body(resp).await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["session_id"], first["session_id"], "a rotation stays in its session");
    assert_eq!(me_status(&app, &bearer(&second)).await, 200);

    // The old token no longer works; presenting it is theft: the family dies.
    let v = assert_error(refresh(&app, &first["refresh_token"]).await, 401, "rotated token").await;
    assert_eq!(v["code"], "invalid_refresh_token");
    assert_error(refresh(&app, &second["refresh_token"]).await, 401, "current token of a revoked family").await;
    assert_eq!(me_status(&app, &bearer(&second)).await, 401, "access tokens of the family are refused");
    assert_eq!(me_status(&app, &bearer(&first)).await, 401);

    let again = login(&app, "ada@example.com").await;
    assert_eq!(me_status(&app, &bearer(&again)).await, 200, "a new login is a new family");
    for bad in [json!(""), json!("wmr_unknown"), json!(12345678)] {
        let resp = refresh(&app, &bad).await;
        let status = resp.0.status().as_u16();
        assert!(status == 400 || status == 401, "{bad}: {status}");
    }
}

#[tokio::test]
async fn sessions_are_listed_revoked_and_logged_out_but_only_by_their_owner() {
    let app = app().await;
    let phone = {
        let creds = json!({"email": "ada@example.com", "password": "correct horse"});
        app.client.post("/auth/register").body_json(&creds).send().await;
        let resp = app.client.post("/auth/login").header("user-agent", "Phone/1.0").body_json(&creds).send().await;
        body(resp).await
    };
    let laptop = login(&app, "ada@example.com").await;
    let bob = login(&app, "bob@example.com").await;

    let resp = app.client.get("/auth/sessions").header("authorization", bearer(&laptop)).send().await;
    resp.assert_status_is_ok();
    let list = body(resp).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], laptop["session_id"]);
    let phone_row = list.iter().find(|s| s["id"] == phone["session_id"]).unwrap();
    assert_eq!(phone_row["user_agent"], "Phone/1.0");
    assert!(phone_row["created_at"].is_string() && phone_row["last_used_at"].is_string());

    // Bob can neither see nor revoke Ada's sessions.
    let bobs = body(app.client.get("/auth/sessions").header("authorization", bearer(&bob)).send().await).await;
    assert_eq!(bobs.as_array().unwrap().len(), 1);
    let path = format!("/auth/sessions/{}", phone["session_id"].as_str().unwrap());
    let v = assert_error(app.client.delete(&path).header("authorization", bearer(&bob)).send().await, 404, "bob").await;
    assert_eq!(v["code"], "session_not_found");
    assert_eq!(me_status(&app, &bearer(&phone)).await, 200, "still alive");
    assert_error(
        app.client.delete("/auth/sessions/not-a-uuid").header("authorization", bearer(&laptop)).send().await,
        400,
        "bad id",
    )
    .await;

    // Ada revokes her phone from the laptop: the phone's tokens stop working.
    let resp = app.client.delete(&path).header("authorization", bearer(&laptop)).send().await;
    assert_eq!(resp.0.status().as_u16(), 204);
    assert_eq!(me_status(&app, &bearer(&phone)).await, 401);
    assert_error(refresh(&app, &phone["refresh_token"]).await, 401, "revoked session's refresh").await;

    // Logout ends the laptop session.
    let resp = app.client.post("/auth/logout").header("authorization", bearer(&laptop)).send().await;
    assert_eq!(resp.0.status().as_u16(), 204);
    assert_eq!(me_status(&app, &bearer(&laptop)).await, 401);
    assert_error(refresh(&app, &laptop["refresh_token"]).await, 401, "logged out refresh").await;
    assert_eq!(me_status(&app, &bearer(&bob)).await, 200, "other users are untouched");
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn forge(claims: &Value, alg: Algorithm, kid: Option<&str>, key: &[u8]) -> String {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    encode(&h, claims, &EncodingKey::from_secret(key)).unwrap()
}

#[tokio::test]
async fn every_forged_or_stale_token_is_401() {
    let app = app().await;
    let tokens = login(&app, "ada@example.com").await;
    let me = body(app.client.get("/me").header("authorization", bearer(&tokens)).send().await).await;
    let claims = |f: &dyn Fn(&mut Value)| {
        let mut c = json!({
            "sub": me["id"], "role": "admin", "sid": tokens["session_id"], "iss": "watchme",
            "aud": "watchme-api", "exp": now() + 600, "iat": now(), "nbf": now(), "jti": "forged"
        });
        f(&mut c);
        c
    };
    let good = forge(&claims(&|_| {}), Algorithm::HS256, Some("primary"), SECRET);
    assert_eq!(me_status(&app, &format!("Bearer {good}")).await, 200, "control: the forging helper is right");

    let real = tokens["access_token"].as_str().unwrap();
    let parts: Vec<&str> = real.split('.').collect();
    let mut tampered_sig = real.to_owned();
    tampered_sig.insert(real.rfind('.').unwrap() + 3, 'x');
    // The payload of another token (role admin) under this token's signature.
    let other_payload = good.split('.').nth(1).unwrap();
    let swapped_payload = format!("{}.{}.{}", parts[0], other_payload, parts[2]);
    // {"alg":"none","typ":"JWT","kid":"primary"}
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoicHJpbWFyeSJ9.{}.", parts[1]);
    let cases: Vec<(String, &str)> = vec![
        (alg_none, "alg none"),
        (forge(&claims(&|_| {}), Algorithm::HS512, Some("primary"), SECRET), "another algorithm"),
        (forge(&claims(&|_| {}), Algorithm::HS256, Some("primary"), b"wrong-key-wrong-key-wrong-key-!!"), "wrong key"),
        (forge(&claims(&|_| {}), Algorithm::HS256, None, SECRET), "no kid"),
        (forge(&claims(&|_| {}), Algorithm::HS256, Some("retired"), SECRET), "unknown kid"),
        (forge(&claims(&|c| c["iss"] = json!("evil")), Algorithm::HS256, Some("primary"), SECRET), "bad iss"),
        (forge(&claims(&|c| c["aud"] = json!("other-api")), Algorithm::HS256, Some("primary"), SECRET), "bad aud"),
        (forge(&claims(&|c| c["exp"] = json!(now() - 60)), Algorithm::HS256, Some("primary"), SECRET), "expired"),
        (
            forge(&claims(&|c| c["nbf"] = json!(now() + 600)), Algorithm::HS256, Some("primary"), SECRET),
            "not yet valid",
        ),
        (
            forge(
                &claims(&|c| c["sid"] = json!(uuid::Uuid::new_v4().to_string())),
                Algorithm::HS256,
                Some("primary"),
                SECRET,
            ),
            "session that does not exist",
        ),
        (
            forge(
                &claims(&|c| c.as_object_mut().unwrap().remove("sid").map(|_| ()).unwrap()),
                Algorithm::HS256,
                Some("primary"),
                SECRET,
            ),
            "no session",
        ),
        (tampered_sig, "tampered signature"),
        (swapped_payload, "tampered payload"),
        ("not.a.jwt".into(), "garbage"),
    ];
    for (token, case) in cases {
        let resp = app.client.get("/me").header("authorization", format!("Bearer {token}")).send().await;
        let v = assert_error(resp, 401, case).await;
        assert_eq!(v["code"], "invalid_token", "case: {case}");
    }
}

#[tokio::test]
async fn anonymous_budgets_answer_429_with_retry_after_and_ratelimit_headers() {
    let mut raw = test_config();
    raw.security.rate_anonymous = "5/60".into();
    let app = build(raw).await;
    // Registering and logging in are anonymous requests too: 2 of the 5.
    let token = bearer(&login(&app, "ada@example.com").await);
    for remaining in ["2", "1", "0"] {
        let resp = app.client.get("/movies/popular").send().await;
        resp.assert_status_is_ok();
        assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some("5"));
        assert_eq!(header(&resp, "ratelimit-remaining").as_deref(), Some(remaining));
        assert!(header(&resp, "ratelimit-reset").is_some());
    }
    let resp = app.client.get("/movies/popular").send().await;
    let retry: u64 = header(&resp, "retry-after").expect("retry-after").parse().unwrap();
    assert!((1..=12).contains(&retry), "one request refills in 12 s: {retry}");
    assert_eq!(header(&resp, "ratelimit-remaining").as_deref(), Some("0"));
    let v = assert_error(resp, 429, "over budget").await;
    assert_eq!(v["code"], "rate_limited");
    app.client.get("/health/live").send().await.assert_status_is_ok();
    // An authenticated user has a budget of their own.
    app.client.get("/movies/popular").header("authorization", &token).send().await.assert_status_is_ok();
}

#[tokio::test]
async fn the_21st_login_attempt_is_429_and_accounts_have_their_own_budget() {
    let mut raw = test_config();
    raw.security.rate_auth_ip = "20/900".into();
    raw.security.rate_auth_account = "5/900".into();
    let app = build(raw).await;
    for n in 0..20 {
        let creds = json!({"email": format!("user{n}@example.com"), "password": "wrong horse"});
        let resp = app.client.post("/auth/login").body_json(&creds).send().await;
        // Each email is new (4 of 5 left), the IP budget shrinks: the tighter one is reported.
        let (ip_left, account_left) = (19 - n, 4);
        let expected = if ip_left <= account_left { ("20", ip_left) } else { ("5", account_left) };
        assert_eq!(header(&resp, "ratelimit-limit").as_deref(), Some(expected.0), "attempt {}", n + 1);
        assert_eq!(header(&resp, "ratelimit-remaining"), Some(expected.1.to_string()), "attempt {}", n + 1);
        assert_error(resp, 401, "wrong password").await;
    }
    let resp =
        app.client.post("/auth/login").body_json(&json!({"email": "x@example.com", "password": "x"})).send().await;
    let retry: u64 = header(&resp, "retry-after").expect("retry-after").parse().unwrap();
    assert!((1..=45).contains(&retry), "one attempt refills in 45 s: {retry}");
    assert_eq!(assert_error(resp, 429, "21st attempt").await["code"], "rate_limited");
    // Refresh has its own per-IP budget.
    assert_eq!(refresh(&app, &json!("wmr_x")).await.0.status().as_u16(), 401);

    let mut raw = test_config();
    raw.security.rate_auth_account = "5/900".into();
    let app = build(raw).await;
    for _ in 0..5 {
        let creds = json!({"email": "victim@example.com", "password": "guess guess"});
        assert_error(app.client.post("/auth/login").body_json(&creds).send().await, 401, "guess").await;
    }
    let creds = json!({"email": "Victim@Example.com", "password": "guess guess"});
    assert_error(app.client.post("/auth/login").body_json(&creds).send().await, 429, "6th guess on one account").await;
    login(&app, "other@example.com").await;
}

#[tokio::test]
async fn every_response_carries_security_headers_and_cors_is_an_allowlist() {
    let mut raw = test_config();
    raw.security.cors_origins = "https://app.example.com".into();
    raw.security.hsts = "true".into();
    let app = build(raw).await;
    for path in ["/movies/550", "/movies/0", "/nope", "/health/live"] {
        let resp = app.client.get(path).send().await;
        assert_eq!(header(&resp, "x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(header(&resp, "referrer-policy").as_deref(), Some("no-referrer"), "{path}");
        assert_eq!(
            header(&resp, "content-security-policy").as_deref(),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert!(header(&resp, "strict-transport-security").unwrap().starts_with("max-age="), "{path}");
        assert_eq!(header(&resp, "x-frame-options"), None, "document-only headers stay off JSON: {path}");
    }
    let docs = app.client.get("/docs").send().await;
    assert_eq!(header(&docs, "x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(header(&docs, "cross-origin-opener-policy").as_deref(), Some("same-origin"));
    assert_eq!(header(&docs, "x-content-type-options").as_deref(), Some("nosniff"));
    assert!(header(&docs, "content-security-policy").unwrap().contains("script-src 'self'"));
    let allowed = app.client.get("/movies/550").header("origin", "https://app.example.com").send().await;
    assert_eq!(header(&allowed, "access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    let other = app.client.get("/movies/550").header("origin", "https://evil.example.com").send().await;
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    let preflight = app
        .client
        .options("/me/favorites/550")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization")
        .send()
        .await;
    assert!(preflight.0.status().is_success(), "{}", preflight.0.status());

    let plain = common::app().await;
    let resp = plain.client.get("/movies/550").header("origin", "https://app.example.com").send().await;
    assert_eq!(header(&resp, "access-control-allow-origin"), None, "no CORS unless configured");
    assert_eq!(header(&resp, "strict-transport-security"), None, "no HSTS over plain HTTP unless asked");
}

#[tokio::test]
async fn hostile_json_is_refused_without_echoing_secrets() {
    let mut raw = test_config();
    raw.server.max_body_kib = "8".into();
    let app = build(raw).await;
    let post = |v: String| app.client.post("/auth/login").content_type("application/json").body(v).send();
    let deep = format!(r#"{{"email": {}1{}, "password": "x"}}"#, "[".repeat(50), "]".repeat(50));
    assert_eq!(assert_error(post(deep).await, 400, "deep").await["code"], "json_too_complex");
    let long = format!(r#"{{"email": "{}@example.com", "password": "x"}}"#, "a".repeat(5000));
    assert_eq!(assert_error(post(long).await, 400, "long string").await["code"], "json_too_complex");
    let v = assert_error(post(r#"{"email": "a@b.co", "password": 31415926535}"#.into()).await, 400, "number").await;
    assert!(!v.to_string().contains("31415926535"), "a secret is never echoed: {v}");
    let v =
        assert_error(post(r#"{"email": "a@b.co", "password": "x", "admin": true}"#.into()).await, 400, "unknown").await;
    assert_eq!(v["details"][0]["field"], "admin");
    let huge = format!(r#"{{"email": "a@b.co", "password": "{}"}}"#, "x".repeat(3000)).repeat(3);
    assert_eq!(post(huge).await.0.status().as_u16(), 413, "over the 8 KiB body limit");

    let common = json!({"email": "new@example.com", "password": "iloveyou123"});
    let v = assert_error(app.client.post("/auth/register").body_json(&common).send().await, 422, "common").await;
    assert!(v["message"].as_str().unwrap().contains("common"), "{v}");
}

#[tokio::test]
async fn every_admin_route_checks_the_role() {
    let app = app().await;
    let user = bearer(&login(&app, "ada@example.com").await);
    let admin = bearer(&login(&app, "root@example.com").await);
    let spec = body(app.client.get("/openapi.json").send().await).await;
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/admin") {
            continue;
        }
        let concrete = path.replace("{id}", "550");
        for method in ops.as_object().unwrap().keys() {
            let call = |auth: Option<&str>| {
                let m = poem::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut r = app.client.request(m, &concrete);
                if let Some(a) = auth {
                    r = r.header("authorization", a);
                }
                r.send()
            };
            assert_error(call(None).await, 401, &format!("{method} {path} anonymous")).await;
            assert_error(call(Some(&user)).await, 403, &format!("{method} {path} as a user")).await;
            let status = call(Some(&admin)).await.0.status().as_u16();
            assert!(status < 400, "{method} {path} as admin: {status}");
            checked += 1;
        }
    }
    assert!(checked >= 2, "the admin routes were found in the spec");
}

#[tokio::test]
async fn a_panicking_handler_answers_the_opaque_500_with_ids_and_headers() {
    use poem::EndpointExt;
    let app = common::app().await;
    let panics = poem::endpoint::make_sync(|_| -> &'static str { panic!("handler bug") });
    let guarded = watchme_server::security::Guard::new(panics.map_to_response(), app.wiring.state.clone())
        .with(watchme_server::context::RequestContext { slow_request: std::time::Duration::from_secs(1) });
    let client = poem::test::TestClient::new(guarded);
    let resp = client.get("/movies/550").header("x-request-id", "panic-1").send().await;
    assert_eq!(header(&resp, "x-content-type-options").as_deref(), Some("nosniff"), "security headers too");
    assert!(header(&resp, "traceparent").is_some());
    let v = assert_error(resp, 500, "panic").await;
    assert_eq!(v["code"], "internal");
    assert_eq!(v["request_id"], "panic-1");
    assert!(!v.to_string().contains("handler bug"), "the panic message stays in the logs: {v}");
}

#[tokio::test]
async fn docs_have_their_own_policy_and_probes_and_docs_are_never_rate_limited() {
    let mut raw = test_config();
    raw.security.rate_anonymous = "2/60".into();
    let app = build(raw).await;
    for _ in 0..4 {
        for path in ["/health/live", "/docs", "/openapi.json"] {
            let resp = app.client.get(path).send().await;
            assert!(resp.0.status().is_success(), "{path}: {}", resp.0.status());
            assert_eq!(header(&resp, "ratelimit-limit"), None, "{path} is not limited");
        }
    }
    let docs = app.client.get("/docs").send().await;
    assert!(header(&docs, "content-security-policy").unwrap().contains("script-src 'self' 'unsafe-inline'"));
    let api = app.client.get("/movies/550").send().await;
    assert_eq!(header(&api, "ratelimit-limit").as_deref(), Some("2"));
}
