//! Watch history and last activities through HTTP only, as a new user
//! would try them, on the embedded default (SQLite) and on PostgreSQL.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{json_of, login, register, start, TempDir};
use watchme_adapters::contract::fixtures::PgDatabase as PgDb;

struct Client {
    http: reqwest::Client,
    base: String,
    bearer: String,
}

impl Client {
    async fn new(base: &str, email: &str) -> Self {
        let http = reqwest::Client::new();
        register(&http, base, email, "correct horse").await;
        let bearer = login(&http, base, email).await;
        Self { http, base: base.to_owned(), bearer }
    }

    async fn get(&self, path: &str, status: u16) -> Value {
        let resp = self.http.get(format!("{}{path}", self.base)).header("authorization", &self.bearer).send().await;
        json_of(resp.expect("get"), status).await
    }

    async fn post(&self, path: &str, body: Value, status: u16) -> Value {
        let req = self.http.post(format!("{}{path}", self.base)).header("authorization", &self.bearer).json(&body);
        json_of(req.send().await.expect("post"), status).await
    }

    async fn delete(&self, path: &str, status: u16) -> Value {
        let resp = self.http.delete(format!("{}{path}", self.base)).header("authorization", &self.bearer).send().await;
        json_of(resp.expect("delete"), status).await
    }

    async fn put(&self, path: &str, body: Value, status: u16) -> Value {
        let req = self.http.put(format!("{}{path}", self.base)).header("authorization", &self.bearer).json(&body);
        json_of(req.send().await.expect("put"), status).await
    }
}

fn plays(items: &[(u64, &str)]) -> Value {
    json!({"plays": items.iter().map(|(m, t)| json!({"movie_id": m, "watched_at": t})).collect::<Vec<_>>()})
}

/// The activity times, waiting out the millisecond they are kept to so a
/// following write is told apart.
async fn activity(c: &Client) -> Value {
    let a = c.get("/me/activity", 200).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    a
}

/// The kinds whose time differs between two activity answers.
fn moved(before: &Value, after: &Value) -> Vec<&'static str> {
    ["history", "ratings", "library", "favorites", "lists", "views"]
        .into_iter()
        .filter(|k| before.get(k) != after.get(k))
        .collect()
}

async fn plays_and_activity(extra: &[(&str, String)]) {
    let dir = TempDir::new("history");
    let server = start(&dir.0, extra).await;
    let ada = Client::new(&server.base, "ada@example.com").await;

    // Three plays of one movie on three dates, one of them sent again.
    let first =
        ada.post("/me/history", plays(&[(550, "2026-01-01T20:00:00Z"), (550, "2026-02-01T20:00:00Z")]), 201).await;
    assert_eq!(first["added"].as_array().map(Vec::len), Some(2));
    let second =
        ada.post("/me/history", plays(&[(550, "2026-02-01T20:00:00Z"), (550, "2026-03-01T20:00:00.250Z")]), 201).await;
    assert_eq!(
        (second["added"].as_array().map(Vec::len), second["existing"].as_array().map(Vec::len)),
        (Some(1), Some(1))
    );
    let history = ada.get("/me/history?movie_id=550", 200).await;
    assert_eq!(history["total_items"], 3, "exactly three rows: {history}");
    assert_eq!(history["items"][0]["watched_at"], "2026-03-01T20:00:00Z", "newest first, kept to the second");
    assert_eq!(history["items"][0]["movie"]["title"], "Fight Club");
    assert_eq!(history["items"][0]["movie"]["year"], 1999);

    // An unknown movie is reported and the rest are added.
    let mixed = ada
        .post("/me/history", plays(&[(999_999_999, "2026-01-05T10:00:00Z"), (13, "2026-01-05T10:00:00Z")]), 201)
        .await;
    assert_eq!(mixed["not_found"], json!([{"movie_id": 999_999_999}]));
    assert_eq!(mixed["added"][0]["movie"]["id"], 13);

    // A malformed batch is refused whole, every bad item named.
    let bad =
        json!({"plays": [{"movie_id": 0}, {"movie_id": 603}, {"movie_id": 603, "watched_at": "2999-01-01T00:00:00Z"}]});
    let refused = ada.post("/me/history", bad, 400).await;
    let fields: Vec<&str> = refused["details"].as_array().unwrap().iter().filter_map(|d| d["field"].as_str()).collect();
    assert_eq!(fields, vec!["plays[0].movie_id", "plays[2].watched_at"], "{refused}");
    assert_eq!(ada.get("/me/history?movie_id=603", 200).await["total_items"], 0, "nothing of it was stored");
    let future = json!({"plays": [{"movie_id": 603}, {"movie_id": 603, "watched_at": "2999-01-01T00:00:00Z"}]});
    let refused = ada.post("/me/history", future, 422).await;
    assert_eq!(refused["details"][0]["field"], "plays[1].watched_at", "well-formed but in the future: 422");

    // The first play made the movie watched.
    assert_eq!(ada.get("/me/library?status=watched", 200).await["total_items"], 2);

    // Activity moves for each kind of write, and for nothing else.
    let mut before = activity(&ada).await;
    let mut step = |after: Value| {
        let kinds = moved(&before, &after);
        before = after;
        kinds
    };
    ada.get("/me/history", 200).await;
    ada.get("/me/favorites", 200).await;
    assert_eq!(step(activity(&ada).await), Vec::<&str>::new(), "reads move nothing");
    ada.put("/me/favorites/603", json!(null), 201).await;
    assert_eq!(step(activity(&ada).await), vec!["favorites"]);
    ada.put("/me/library/603", json!({"rating": 9}), 200).await;
    assert_eq!(step(activity(&ada).await), vec!["ratings"]);
    ada.put("/me/library/603", json!({"status": "want_to_watch"}), 200).await;
    assert_eq!(step(activity(&ada).await), vec!["library"]);
    ada.post("/me/history", plays(&[(603, "2026-01-09T10:00:00Z")]), 201).await;
    assert_eq!(step(activity(&ada).await), vec!["history", "library"], "a first play sets watched");
    ada.post("/me/history", plays(&[(603, "2026-01-09T10:00:00Z")]), 200).await;
    assert_eq!(step(activity(&ada).await), Vec::<&str>::new(), "a play sent again moves nothing");
    ada.get("/movies/680", 200).await;
    assert_eq!(step(activity(&ada).await), vec!["views"]);
    let play = ada.get("/me/history?movie_id=603", 200).await["items"][0]["id"].as_str().unwrap().to_owned();
    ada.delete(&format!("/me/history/{play}"), 204).await;
    assert_eq!(step(activity(&ada).await), vec!["history"]);
    ada.delete(&format!("/me/history/{play}"), 404).await;
    let removed = ada.delete("/me/history?movie_id=550", 200).await;
    assert_eq!(removed["removed"], 3);
    assert_eq!(step(activity(&ada).await), vec!["history"]);
    let watched = ada.get("/me/library?status=watched", 200).await;
    let ids: Vec<&Value> = watched["items"].as_array().unwrap().iter().map(|e| &e["movie_id"]).collect();
    assert!(ids.contains(&&json!(603)) && ids.contains(&&json!(550)), "removing plays keeps the status: {watched}");
    let all = ada.get("/me/activity", 200).await;
    let stamp = all["all"].as_str().unwrap();
    assert!(stamp.ends_with('Z') && stamp.len() == 24, "ISO-8601 UTC with milliseconds: {stamp}");

    // Another user sees none of it; without a token, 401.
    let bob = Client::new(&server.base, "bob@example.com").await;
    assert_eq!(bob.get("/me/history", 200).await["total_items"], 0);
    assert_eq!(bob.get("/me/activity", 200).await, json!({}));
    let anonymous = ada.http.get(format!("{}/me/history", server.base)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // A batch of 1,000 plays is one request.
    let catalog = ada.get("/movies/popular?per_page=100", 200).await;
    let ids: Vec<u64> = catalog["items"].as_array().unwrap().iter().filter_map(|m| m["id"].as_u64()).collect();
    let batch: Vec<Value> = (0..1000)
        .map(|i| json!({"movie_id": ids[i % ids.len()], "watched_at": format!("2025-06-01T{:02}:{:02}:{:02}Z", i / 3600, i / 60 % 60, i % 60)}))
        .collect();
    let started = Instant::now();
    let big = bob.post("/me/history", json!({"plays": batch}), 201).await;
    let took = started.elapsed();
    assert_eq!(big["added"].as_array().map(Vec::len), Some(1000));
    println!("a batch of 1,000 plays took {took:?}");
    assert!(took < Duration::from_secs(10), "one request, {took:?}");
    assert_eq!(bob.get("/me/history?per_page=1", 200).await["total_items"], 1000);
    server.stop().await;
}

#[tokio::test]
async fn plays_and_activity_on_the_embedded_default() {
    plays_and_activity(&[]).await;
}

#[tokio::test]
async fn plays_and_activity_on_postgresql() {
    let db = PgDb::create("watchme_history").await;
    plays_and_activity(&[("WATCHME_DATABASE_URL", db.url.clone())]).await;
    db.drop_db().await;
}
