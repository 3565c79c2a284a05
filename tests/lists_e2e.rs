//! Lists through HTTP only, on the embedded default (SQLite) and on
//! PostgreSQL: private lists are their owner's, link and public ones
//! anyone's; items ranked and reordered; limits answered clearly.

mod support;

use serde_json::{json, Value};
use support::{json_of, login, register, start, TempDir};
use watchme_adapters::contract::fixtures::PgDatabase as PgDb;

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    bearer: Option<&str>,
    body: Option<Value>,
    status: u16,
) -> Value {
    let mut req = http.request(method.parse().unwrap(), url);
    if let Some(b) = bearer {
        req = req.header("authorization", b);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    json_of(req.send().await.expect("request"), status).await
}

fn ranks(items: &Value) -> Vec<(u64, u64)> {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["movie"]["id"].as_u64().unwrap(), i["rank"].as_u64().unwrap()))
        .collect()
}

async fn lists(extra: &[(&str, String)]) {
    let dir = TempDir::new("lists");
    let mut env = vec![("WATCHME_LISTS_PER_USER", "2".to_string()), ("WATCHME_LIST_ITEMS_MAX", "3".to_string())];
    env.extend(extra.iter().cloned());
    let server = start(&dir.0, &env).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base);
    register(&http, &server.base, "ada@example.com", "correct horse").await;
    register(&http, &server.base, "bob@example.com", "correct horse").await;
    let ada = login(&http, &server.base, "ada@example.com").await;
    let bob = login(&http, &server.base, "bob@example.com").await;
    let (ada, bob) = (Some(ada.as_str()), Some(bob.as_str()));

    let private =
        call(&http, "POST", url("/me/lists"), ada, Some(json!({"name": "Best of 1999!", "privacy": "private"})), 201)
            .await;
    assert_eq!((private["slug"].clone(), private["item_count"].clone()), (json!("best-of-1999"), json!(0)));
    let twin =
        call(&http, "POST", url("/me/lists"), ada, Some(json!({"name": "best of 1999", "privacy": "link"})), 201).await;
    assert_eq!(twin["slug"], "best-of-1999-2", "a unique slug per user");
    let over =
        call(&http, "POST", url("/me/lists"), ada, Some(json!({"name": "third", "privacy": "public"})), 422).await;
    assert_eq!(over["code"], "limit_reached");
    let (p, t) = (private["id"].as_str().unwrap(), twin["id"].as_str().unwrap());

    // A private list is 404 to anyone else; its link-shared twin is readable.
    call(&http, "GET", url(&format!("/lists/{p}")), bob, None, 404).await;
    call(&http, "GET", url(&format!("/lists/{p}")), None, None, 404).await;
    call(&http, "GET", url(&format!("/lists/{p}")), ada, None, 200).await;
    assert_eq!(call(&http, "GET", url(&format!("/lists/{t}")), bob, None, 200).await["name"], "best of 1999");
    call(&http, "GET", url(&format!("/lists/{t}")), None, None, 200).await;
    call(&http, "GET", url(&format!("/me/lists/{t}")), bob, None, 404).await;
    call(&http, "PATCH", url(&format!("/me/lists/{t}")), bob, Some(json!({"name": "mine now"})), 404).await;

    // Items: last on the list, notes kept, limits, reorder.
    for movie in [603, 550, 13] {
        call(&http, "PUT", url(&format!("/me/lists/{t}/items/{movie}")), ada, Some(json!({})), 201).await;
    }
    let noted =
        call(&http, "PUT", url(&format!("/me/lists/{t}/items/550")), ada, Some(json!({"notes": "the twist"})), 200)
            .await;
    assert_eq!((noted["rank"].clone(), noted["notes"].clone()), (json!(2), json!("the twist")));
    let full = call(&http, "PUT", url(&format!("/me/lists/{t}/items/680")), ada, Some(json!({})), 422).await;
    assert_eq!(full["code"], "limit_reached");
    call(&http, "PUT", url(&format!("/me/lists/{t}/items/999999999")), ada, Some(json!({})), 404).await;
    call(&http, "POST", url(&format!("/me/lists/{t}/reorder")), ada, Some(json!({"movie_ids": [13, 603]})), 204).await;
    let shared = call(&http, "GET", url(&format!("/lists/{t}/items")), None, None, 200).await;
    assert_eq!(ranks(&shared), vec![(13, 1), (603, 2), (550, 3)]);
    let wrong =
        call(&http, "POST", url(&format!("/me/lists/{t}/reorder")), ada, Some(json!({"movie_ids": [680]})), 422).await;
    assert_eq!(wrong["code"], "not_on_list");
    call(&http, "DELETE", url(&format!("/me/lists/{t}/items/603")), ada, None, 204).await;
    assert_eq!(
        ranks(&call(&http, "GET", url(&format!("/me/lists/{t}/items")), ada, None, 200).await),
        vec![(13, 1), (550, 2)]
    );

    // Changes, activity, deletion.
    let before = call(&http, "GET", url("/me/activity"), ada, None, 200).await;
    let patched = call(
        &http,
        "PATCH",
        url(&format!("/me/lists/{p}")),
        ada,
        Some(json!({"name": "Noir", "description": "shadows", "privacy": "public"})),
        200,
    )
    .await;
    assert_eq!((patched["slug"].clone(), patched["privacy"].clone()), (json!("noir"), json!("public")));
    let after = call(&http, "GET", url("/me/activity"), ada, None, 200).await;
    assert_ne!(before["lists"], after["lists"], "a list change moves lists activity");
    assert_eq!(before["history"], after["history"]);
    call(&http, "GET", url(&format!("/lists/{p}")), bob, None, 200).await;
    call(&http, "PATCH", url(&format!("/me/lists/{p}")), ada, Some(json!({})), 400).await;
    let cleared =
        call(&http, "PATCH", url(&format!("/me/lists/{p}")), ada, Some(json!({"description": null})), 200).await;
    assert!(cleared.get("description").is_none(), "null clears it: {cleared}");
    let mine = call(&http, "GET", url("/me/lists"), ada, None, 200).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(2));
    call(&http, "DELETE", url(&format!("/me/lists/{t}")), bob, None, 404).await;
    call(&http, "DELETE", url(&format!("/me/lists/{t}")), ada, None, 204).await;
    call(&http, "GET", url(&format!("/lists/{t}")), None, None, 404).await;
    call(&http, "POST", url("/me/lists"), ada, Some(json!({"name": "room again", "privacy": "private"})), 201).await;
    let bad = call(&http, "POST", url("/me/lists"), ada, Some(json!({"name": " ", "privacy": "secret"})), 400).await;
    assert!(bad["details"].as_array().is_some());
    server.stop().await;
}

#[tokio::test]
async fn lists_on_the_embedded_default() {
    lists(&[]).await;
}

#[tokio::test]
async fn lists_on_postgresql() {
    let db = PgDb::create("watchme_lists").await;
    lists(&[("WATCHME_DATABASE_URL", db.url.clone())]).await;
    db.drop_db().await;
}
