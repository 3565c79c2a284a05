//! Every endpoint in process, including its error paths.

mod common;

use common::{app, assert_error, body, header};
use serde_json::json;

#[tokio::test]
async fn register_login_and_me() {
    let app = app().await;
    let resp = app.register("Ada@Example.com").await;
    resp.assert_status(poem::http::StatusCode::CREATED);
    let user = body(resp).await;
    assert_eq!((user["email"].as_str(), user["role"].as_str()), (Some("ada@example.com"), Some("user")));

    let resp = app
        .client
        .post("/auth/login")
        .body_json(&json!({"email": "ada@example.com", "password": "correct horse"}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let tok = body(resp).await;
    assert_eq!((tok["token_type"].as_str(), tok["expires_in"].as_u64()), (Some("Bearer"), Some(900)));
    let token = tok["access_token"].as_str().unwrap();

    let me = app.client.get("/me").header("authorization", format!("Bearer {token}")).send().await;
    me.assert_status_is_ok();
    assert_eq!(body(me).await["id"], user["id"]);
}

#[tokio::test]
async fn admin_emails_get_the_admin_role() {
    let app = app().await;
    let token = app.token("root@example.com").await;
    let me = body(app.client.get("/me").header("authorization", format!("Bearer {token}")).send().await).await;
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn a_taken_email_is_409_and_login_failures_are_indistinguishable() {
    let app = app().await;
    app.register("ada@example.com").await;
    let v = assert_error(app.register("ADA@example.com").await, 409, "taken").await;
    assert_eq!(v["code"], "email_taken");

    let wrong_pw = app
        .client
        .post("/auth/login")
        .body_json(&json!({"email": "ada@example.com", "password": "wrong horse"}))
        .send()
        .await;
    let unknown = app
        .client
        .post("/auth/login")
        .body_json(&json!({"email": "bob@example.com", "password": "correct horse"}))
        .send()
        .await;
    let malformed = app
        .client
        .post("/auth/login")
        .body_json(&json!({"email": "not-an-email", "password": "correct horse"}))
        .send()
        .await;
    let mut bodies = Vec::new();
    for (resp, case) in [(wrong_pw, "wrong password"), (unknown, "unknown email"), (malformed, "malformed email")] {
        assert_eq!(header(&resp, "www-authenticate").as_deref(), Some("Bearer realm=\"watchme\""), "case: {case}");
        let v = assert_error(resp, 401, case).await;
        bodies.push((v["code"].clone(), v["message"].clone()));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "same answer: {bodies:?}");
}

#[tokio::test]
async fn bad_input_gets_400_naming_the_field() {
    let app = app().await;
    let token = app.token("ada@example.com").await;
    let auth = format!("Bearer {token}");
    let long = "x".repeat(201);
    let cases: Vec<(&str, String, Option<serde_json::Value>, &str, &str)> = vec![
        (
            "POST",
            "/auth/register".into(),
            Some(json!({"email": "nope", "password": "correct horse"})),
            "email",
            "bad email",
        ),
        (
            "POST",
            "/auth/register".into(),
            Some(json!({"email": "a@b.co", "password": "short"})),
            "password",
            "short password",
        ),
        (
            "POST",
            "/auth/register".into(),
            Some(json!({"email": "a@b.co", "password": "x".repeat(129)})),
            "password",
            "long password",
        ),
        (
            "POST",
            "/auth/register".into(),
            Some(json!({"email": "a@b.co", "password": "A@B.co"})),
            "password",
            "password equal to email",
        ),
        (
            "POST",
            "/auth/register".into(),
            Some(json!({"email": "a@b.co", "password": "correct horse", "display_name": ""})),
            "display_name",
            "empty name",
        ),
        (
            "POST",
            "/auth/register".into(),
            Some(json!({"email": 5, "password": "correct horse"})),
            "email",
            "email not a string",
        ),
        ("POST", "/auth/register".into(), Some(json!({"password": "correct horse"})), "email", "email missing"),
        (
            "POST",
            "/auth/register".into(),
            Some(json!({"email": "a@b.co", "password": "correct horse", "admin": true})),
            "admin",
            "unknown field",
        ),
        ("POST", "/auth/login".into(), Some(json!({"email": "", "password": "x"})), "email", "empty login email"),
        ("GET", "/movies/popular?page=0".into(), None, "page", "page 0"),
        ("GET", "/movies/popular?page=abc".into(), None, "page", "page not a number"),
        ("GET", "/movies/popular?per_page=0".into(), None, "per_page", "per_page 0"),
        ("GET", "/movies/search".into(), None, "query", "query missing"),
        ("GET", "/movies/search?query=%20".into(), None, "query", "blank query"),
        ("GET", format!("/movies/search?query={long}"), None, "query", "long query"),
        ("GET", "/movies/search?query=x&year=1700".into(), None, "year", "year too early"),
        ("GET", "/movies/abc".into(), None, "id", "id not a number"),
        ("GET", "/movies/0".into(), None, "id", "id zero"),
        ("GET", "/movies/-3".into(), None, "id", "negative id"),
        ("GET", "/movies/99999999999999999999999".into(), None, "id", "id overflow"),
        ("PUT", "/me/favorites/abc".into(), None, "movie_id", "favorite id"),
        ("GET", "/me/library?status=seen".into(), None, "status", "unknown status filter"),
        ("PUT", "/me/library/550".into(), Some(json!({})), "status", "empty update"),
        ("PUT", "/me/library/550".into(), Some(json!({"rating": 11})), "rating", "rating 11"),
        ("PUT", "/me/library/550".into(), Some(json!({"rating": 0})), "rating", "rating 0"),
        ("PUT", "/me/library/550".into(), Some(json!({"status": "seen"})), "status", "bad status"),
        ("PUT", "/me/library/550".into(), Some(json!({"rating": 1, "status": null})), "status", "null status"),
        ("PUT", "/me/library/550".into(), Some(json!({"rating": null, "status": "watched"})), "rating", "null rating"),
        ("PUT", "/me/library/550".into(), Some(json!({"rating": "nine"})), "rating", "rating not a number"),
        ("GET", "/analytics/trending?window=month".into(), None, "window", "bad window"),
        ("GET", "/analytics/trending?limit=0".into(), None, "limit", "limit 0"),
        ("GET", "/analytics/trending?limit=101".into(), None, "limit", "limit 101"),
        ("GET", "/analytics/movies/x".into(), None, "id", "stats id"),
    ];
    for (method, path, json_body, field, case) in cases {
        let req = match method {
            "POST" => app.client.post(&path),
            "PUT" => app.client.put(&path),
            _ => app.client.get(&path),
        }
        .header("authorization", &auth);
        let req = match &json_body {
            Some(b) => req.body_json(b),
            None => req,
        };
        let v = assert_error(req.send().await, 400, case).await;
        let fields: Vec<&str> =
            v["details"].as_array().map(|a| a.iter().filter_map(|d| d["field"].as_str()).collect()).unwrap_or_default();
        assert_eq!(fields, vec![field], "case: {case}: {v}");
    }
}

#[tokio::test]
async fn a_guessable_password_is_refused_by_its_business_rule_with_422() {
    let app = app().await;
    for (password, case) in [("password", "common"), ("ada@example.com", "equal to the email")] {
        let resp = app
            .client
            .post("/auth/register")
            .body_json(&json!({"email": "ada@example.com", "password": password}))
            .send()
            .await;
        let v = assert_error(resp, 422, case).await;
        assert_eq!((v["code"].as_str(), v["details"][0]["field"].as_str()), (Some("weak_password"), Some("password")));
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_or_415_never_500() {
    let app = app().await;
    let cases: Vec<(Option<&str>, Vec<u8>, u16, &str)> = vec![
        (Some("application/json"), b"{\"email\":".to_vec(), 400, "truncated JSON"),
        (Some("application/json"), b"[]".to_vec(), 400, "array"),
        (Some("application/json"), b"".to_vec(), 400, "empty"),
        (Some("application/json"), vec![0xff, 0xfe], 400, "not UTF-8"),
        (Some("text/plain"), b"{}".to_vec(), 415, "wrong content type"),
        (None, b"{}".to_vec(), 415, "no content type"),
        (Some("application/json"), format!("{{\"email\":\"{}\"}}", "x".repeat(5000)).into_bytes(), 413, "too large"),
    ];
    for (ct, bytes, status, case) in cases {
        let mut req = app.client.post("/auth/register").body(bytes);
        if let Some(ct) = ct {
            req = req.content_type(ct);
        }
        assert_error(req.send().await, status, case).await;
    }
}

#[tokio::test]
async fn protected_routes_need_a_valid_token() {
    let app = app().await;
    let routes = [
        ("GET", "/me"),
        ("GET", "/movies/views"),
        ("GET", "/me/favorites"),
        ("PUT", "/me/favorites/550"),
        ("DELETE", "/me/favorites/550"),
        ("GET", "/me/library"),
        ("DELETE", "/me/library/550"),
    ];
    for (method, path) in routes {
        for auth in [None, Some("Bearer not-a-token"), Some("Basic dXNlcjpwYXNz")] {
            let req = match method {
                "PUT" => app.client.put(path),
                "DELETE" => app.client.delete(path),
                _ => app.client.get(path),
            };
            let req = match auth {
                Some(a) => req.header("authorization", a),
                None => req,
            };
            let resp = req.send().await;
            let case = format!("{method} {path} with {auth:?}");
            assert!(header(&resp, "www-authenticate").is_some(), "{case}");
            assert_error(resp, 401, &case).await;
        }
    }
    // An optional-auth route refuses a bad token rather than treating it as anonymous.
    let resp = app.client.get("/movies/550").header("authorization", "Bearer garbage").send().await;
    assert_error(resp, 401, "bad token on movie details").await;
}

#[tokio::test]
async fn lists_are_paged_with_trakt_headers_and_per_page_is_clamped() {
    let app = app().await;
    let resp = app.client.get("/movies/popular?page=2&per_page=500").send().await;
    resp.assert_status_is_ok();
    assert_eq!(header(&resp, "x-pagination-page").as_deref(), Some("2"));
    assert_eq!(header(&resp, "x-pagination-limit").as_deref(), Some("100"));
    assert_eq!(header(&resp, "x-pagination-page-count").as_deref(), Some("2"));
    assert_eq!(header(&resp, "x-pagination-item-count").as_deref(), Some("121"));
    let v = body(resp).await;
    assert_eq!(
        (v["page"].as_u64(), v["per_page"].as_u64(), v["items"].as_array().map(Vec::len)),
        (Some(2), Some(100), Some(21))
    );

    let s = app.client.get("/movies/search?query=star%20wars&per_page=1").send().await;
    assert_eq!(header(&s, "x-pagination-item-count").as_deref(), Some("1"));
    assert_eq!(body(s).await["items"][0]["id"], 11);
    let y = body(app.client.get("/movies/search?query=the&year=1999").send().await).await;
    assert!(y["items"].as_array().unwrap().iter().all(|m| m["release_date"].as_str().unwrap().starts_with("1999")));
}

#[tokio::test]
async fn movie_details_are_cached_and_unknown_movies_are_404() {
    let app = app().await;
    let first = app.client.get("/movies/603").send().await;
    assert_eq!(header(&first, "x-cache").as_deref(), Some("MISS"));
    let second = app.client.get("/movies/603").send().await;
    assert_eq!(header(&second, "x-cache").as_deref(), Some("HIT"));
    let v = body(second).await;
    assert_eq!(
        (v["title"].as_str(), v["runtime"].as_u64(), v["genres"][0]["name"].as_str()),
        (Some("The Matrix"), Some(136), Some("Action"))
    );
    let nf = assert_error(app.client.get("/movies/424242424").send().await, 404, "unknown movie").await;
    assert_eq!(nf["code"], "movie_not_found");
    assert_error(app.client.get("/analytics/movies/424242424").send().await, 404, "stats of unknown movie").await;
}

#[tokio::test]
async fn views_favorites_library_and_analytics() {
    let app = app().await;
    let token = app.token("ada@example.com").await;
    let auth = format!("Bearer {token}");
    for id in [550, 603, 550] {
        app.client.get(format!("/movies/{id}")).header("authorization", &auth).send().await.assert_status_is_ok();
    }
    app.client.get("/movies/550").send().await.assert_status_is_ok(); // anonymous

    let views = body(app.client.get("/movies/views").header("authorization", &auth).send().await).await;
    let ids: Vec<u64> = views["items"].as_array().unwrap().iter().map(|v| v["movie_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![550, 603, 550], "newest first, anonymous view not in history");

    let put = app.client.put("/me/favorites/13").header("authorization", &auth).send().await;
    put.assert_status(poem::http::StatusCode::CREATED);
    assert_eq!(body(put).await["title"], "Forrest Gump");
    app.client.put("/me/favorites/13").header("authorization", &auth).send().await.assert_status_is_ok();
    assert_error(
        app.client.put("/me/favorites/424242424").header("authorization", &auth).send().await,
        404,
        "favorite unknown",
    )
    .await;
    let favs = body(app.client.get("/me/favorites").header("authorization", &auth).send().await).await;
    assert_eq!(favs["total_items"], 1);

    let e = app
        .client
        .put("/me/library/603")
        .header("authorization", &auth)
        .body_json(&json!({"status": "watched", "rating": 9}))
        .send()
        .await;
    e.assert_status_is_ok();
    let e = body(e).await;
    assert_eq!((e["status"].as_str(), e["rating"].as_u64()), (Some("watched"), Some(9)));
    app.client
        .put("/me/library/13")
        .header("authorization", &auth)
        .body_json(&json!({"status": "want_to_watch"}))
        .send()
        .await
        .assert_status_is_ok();
    let watched = body(app.client.get("/me/library?status=watched").header("authorization", &auth).send().await).await;
    assert_eq!(
        watched["items"].as_array().unwrap().iter().map(|e| e["movie_id"].as_u64().unwrap()).collect::<Vec<_>>(),
        vec![603]
    );

    app.drain().await;
    let t = body(app.client.get("/analytics/trending?window=week&limit=5").send().await).await;
    assert_eq!(
        (t["items"][0]["movie_id"].as_u64(), t["items"][0]["views"].as_u64(), t["items"][0]["rank"].as_u64()),
        (Some(550), Some(3), Some(1))
    );
    let s = body(app.client.get("/analytics/movies/603").send().await).await;
    assert_eq!(
        (s["views"].as_u64(), s["watched"].as_u64(), s["rating_average"].as_f64()),
        (Some(1), Some(1), Some(9.0))
    );
    let f = body(app.client.get("/analytics/movies/13").send().await).await;
    assert_eq!((f["favorites"].as_u64(), f["want_to_watch"].as_u64()), (Some(1), Some(1)));
    let u = body(app.client.get("/analytics/users").send().await).await;
    assert_eq!((u["registered_total"].as_u64(), u["active_in_window"].as_u64()), (Some(1), Some(1)));

    app.client
        .delete("/me/favorites/13")
        .header("authorization", &auth)
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    app.client
        .delete("/me/favorites/13")
        .header("authorization", &auth)
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    app.client
        .delete("/me/library/603")
        .header("authorization", &auth)
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    app.drain().await;
    let s = body(app.client.get("/analytics/movies/603").send().await).await;
    assert_eq!((s["watched"].as_u64(), s["ratings_count"].as_u64()), (Some(0), Some(0)));
    assert_eq!(body(app.client.get("/analytics/movies/13").send().await).await["favorites"], 0);
}

#[tokio::test]
async fn users_only_see_their_own_library() {
    let app = app().await;
    let ada = format!("Bearer {}", app.token("ada@example.com").await);
    let bob = format!("Bearer {}", app.token("bob@example.com").await);
    app.client.put("/me/favorites/550").header("authorization", &ada).send().await;
    app.client.get("/movies/603").header("authorization", &ada).send().await;
    for path in ["/me/favorites", "/movies/views", "/me/library"] {
        let v = body(app.client.get(path).header("authorization", &bob).send().await).await;
        assert_eq!(v["total_items"], 0, "{path}");
    }
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
    let app = app().await;
    let r = app.client.get("/health/live").header("x-request-id", "client-123").send().await;
    assert_eq!(header(&r, "x-request-id").as_deref(), Some("client-123"));
    let r = app.client.get("/health/live").header("x-request-id", "bad id with spaces").send().await;
    let id = header(&r, "x-request-id").unwrap();
    assert!(id != "bad id with spaces" && uuid::Uuid::parse_str(&id).is_ok());
    let nf = assert_error(app.client.get("/no/such/route").send().await, 404, "unknown route").await;
    assert_eq!(nf["code"], "route_not_found");
    assert_error(app.client.post("/movies/popular").send().await, 405, "wrong method").await;
}

/// The API's own router (api::operations) answers as poem's method router
/// did: HEAD as GET without the body, 405 `method_not_allowed` (with `Allow`) for
/// a method the path has no operation for, and the query string reaches the
/// operations' query parameters.
#[tokio::test]
async fn operations_are_routed_by_path_and_method_with_their_query() {
    let app = app().await;
    let head = app.client.head("/movies/550").send().await;
    head.assert_status_is_ok();
    assert!(header(&head, "x-request-id").is_some());
    assert!(head.0.into_body().into_bytes().await.unwrap().is_empty(), "HEAD has no body");

    let v = body(app.client.get("/movies/popular?per_page=3").send().await).await;
    assert_eq!((v["per_page"].as_u64(), v["items"].as_array().map(Vec::len)), (Some(3), Some(3)));
    let v = body(app.client.get("/movies/search?query=fight&per_page=1").send().await).await;
    assert_eq!(v["items"][0]["id"], 550, "{v}");

    let resp = app.client.delete("/movies/550").send().await;
    assert_eq!(header(&resp, "allow").as_deref(), Some("GET, HEAD"));
    let e = assert_error(resp, 405, "no DELETE on a movie").await;
    assert_eq!(e["code"], "method_not_allowed");
    let resp = app.client.put("/auth/login").send().await;
    assert_eq!(header(&resp, "allow").as_deref(), Some("POST"));
    let e = assert_error(resp, 405, "login is POST only").await;
    assert_eq!(e["code"], "method_not_allowed");
    let spec = body(app.client.get("/openapi.json").send().await).await;
    let details = &spec["paths"]["/movies/{id}"]["get"]["responses"]["200"];
    assert!(details["headers"]["X-CACHE"]["description"].as_str().is_some_and(|d| d.contains("STALE")), "{details}");
    app.client.get("/docs/").send().await.assert_status_is_ok();
}

#[tokio::test]
async fn health_reports_storage_outages_and_requests_get_503() {
    let app = app().await;
    app.client.get("/health/live").send().await.assert_status_is_ok();
    let ready = body(app.client.get("/health/ready").send().await).await;
    assert_eq!(ready["status"], "up");
    let names: Vec<&str> =
        ready["dependencies"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["database", "cache"], "the bundled catalog cannot fail: no movie_source probe");

    let token = app.token("ada@example.com").await;
    app.set_storage_available(false);
    // Readiness reports are reused for a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let h = app.client.get("/health").send().await;
    assert_eq!(h.0.status().as_u16(), 503);
    assert_eq!(body(h).await["dependencies"][0]["status"], "down");
    app.client.get("/health/live").send().await.assert_status_is_ok();
    let v = assert_error(
        app.client.get("/me/favorites").header("authorization", format!("Bearer {token}")).send().await,
        503,
        "store down",
    )
    .await;
    assert_eq!(v["code"], "unavailable");
    assert_error(app.register("new@example.com").await, 503, "register while down").await;

    app.set_storage_available(true);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.client.get("/health/ready").send().await.assert_status_is_ok();
    app.client
        .get("/me/favorites")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn the_spec_and_docs_list_every_endpoint() {
    let app = app().await;
    let spec = body(app.client.get("/openapi.json").send().await).await;
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/auth/sessions",
        "/auth/sessions/{id}",
        "/me",
        "/movies/popular",
        "/movies/search",
        "/movies/{id}",
        "/movies/views",
        "/me/favorites",
        "/me/favorites/{movie_id}",
        "/me/library",
        "/me/library/{movie_id}",
        "/analytics/trending",
        "/analytics/movies/{id}",
        "/analytics/users",
        "/health",
        "/health/live",
        "/health/ready",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the spec");
    }
    assert!(spec["components"]["securitySchemes"]["bearerAuth"].is_object());
    app.client.get("/docs").send().await.assert_status_is_ok();
}

#[tokio::test]
async fn every_response_names_its_trace_and_a_callers_trace_is_continued() {
    let app = app().await;
    let resp = app.client.get("/movies/550").send().await;
    let tp = header(&resp, "traceparent").expect("traceparent");
    assert!(tp.starts_with("00-") && tp.len() == 55, "{tp}");
    let trace_id = tp[3..35].to_owned();
    let other = header(&app.client.get("/movies/550").send().await, "traceparent").unwrap();
    assert_ne!(other[3..35], trace_id, "a new trace per request without a traceparent");
    assert_eq!(header(&resp, "x-trace-id"), None, "the trace id travels in traceparent only");

    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let resp = app.client.get("/movies/550").header("traceparent", caller).send().await;
    let tp = header(&resp, "traceparent").unwrap();
    assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "same trace: {tp}");
    assert!(!tp.contains("00f067aa0ba902b7") && tp.ends_with("-01"), "our own span under the caller's: {tp}");
    let bad = app.client.get("/movies/550").header("traceparent", "garbage").send().await;
    assert!(header(&bad, "traceparent").is_some(), "a bad traceparent starts a new trace, never fails the request");
}
