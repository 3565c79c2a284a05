//! The OpenAPI document says what the server does: closed request bodies,
//! bounds and formats, links that join real operations, and answers
//! without `null` where the schema has no room for it. (The property-based
//! run over the whole document is `tests/openapi_conformance.rs` at the
//! workspace root.)

mod common;

use common::{app, body};
use serde_json::Value;

async fn spec() -> Value {
    body(app().await.client.get("/openapi.json").send().await).await
}

fn param<'a>(spec: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    let params = spec["paths"][path][method]["parameters"].as_array().unwrap_or_else(|| panic!("{method} {path}"));
    &params.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{method} {path} has no {name}"))["schema"]
}

#[tokio::test]
async fn every_link_joins_operations_and_parameters_that_exist() {
    let spec = spec().await;
    let mut ops = std::collections::HashMap::new();
    for methods in spec["paths"].as_object().unwrap().values() {
        for op in methods.as_object().unwrap().values() {
            ops.insert(op["operationId"].as_str().expect("every operation has an id").to_owned(), op);
        }
    }
    let mut links = 0;
    for (id, op) in &ops {
        for (status, resp) in op["responses"].as_object().unwrap() {
            for (name, link) in resp["links"].as_object().into_iter().flatten() {
                links += 1;
                let target =
                    ops.get(link["operationId"].as_str().unwrap()).unwrap_or_else(|| panic!("{id} {status} {name}"));
                for p in link["parameters"].as_object().into_iter().flatten().map(|(p, _)| p) {
                    let known = target["parameters"].as_array().into_iter().flatten().any(|tp| tp["name"] == *p);
                    assert!(known, "{id} {status} -> {name}: the target has no parameter {p}");
                }
            }
        }
    }
    assert!(links >= 20, "{links} links");
}

#[tokio::test]
async fn bodies_are_closed_and_inputs_state_their_bounds() {
    let spec = spec().await;
    let schemas = &spec["components"]["schemas"];
    for name in ["RegisterRequest", "LoginRequest", "RefreshRequest", "LibraryUpdateRequest"] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    assert_eq!(schemas["LibraryUpdateRequest"]["minProperties"], 1);
    let rating = &schemas["LibraryUpdateRequest"]["properties"]["rating"];
    assert_eq!((rating["minimum"].as_f64(), rating["maximum"].as_f64()), (Some(1.0), Some(10.0)));
    let register = &schemas["RegisterRequest"]["properties"];
    assert_eq!(
        (register["email"]["format"].as_str(), register["email"]["maxLength"].as_u64()),
        (Some("email"), Some(254))
    );
    let pw = &register["password"];
    assert_eq!((pw["minLength"].as_u64(), pw["maxLength"].as_u64()), (Some(8), Some(128)));
    assert_eq!(register["display_name"]["maxLength"], 64);

    for (path, method, name) in [
        ("/movies/{id}", "get", "id"),
        ("/analytics/movies/{id}", "get", "id"),
        ("/admin/cache/movies/{id}", "delete", "id"),
        ("/me/favorites/{movie_id}", "put", "movie_id"),
        ("/me/library/{movie_id}", "delete", "movie_id"),
    ] {
        let s = param(&spec, path, method, name);
        assert_eq!((s["type"].as_str(), s["minimum"].as_f64()), (Some("integer"), Some(1.0)), "{method} {path}");
    }
    let page = param(&spec, "/movies/popular", "get", "page");
    assert_eq!((page["minimum"].as_f64(), page["maximum"].as_f64()), (Some(1.0), Some(10_000.0)));
    let per_page = param(&spec, "/me/library", "get", "per_page");
    assert_eq!((per_page["minimum"].as_f64(), per_page.get("maximum")), (Some(1.0), None), "above 100 is clamped");
    let query = param(&spec, "/movies/search", "get", "query");
    assert_eq!((query["minLength"].as_u64(), query["maxLength"].as_u64()), (Some(1), Some(200)));
    let year = param(&spec, "/movies/search", "get", "year");
    assert_eq!((year["minimum"].as_f64(), year["maximum"].as_f64()), (Some(1870.0), Some(2100.0)));
    let limit = param(&spec, "/analytics/trending", "get", "limit");
    assert_eq!((limit["minimum"].as_f64(), limit["maximum"].as_f64()), (Some(1.0), Some(100.0)));
    assert_eq!(param(&spec, "/auth/sessions/{id}", "delete", "id")["format"], "uuid");
}

#[tokio::test]
async fn closed_sets_are_enums() {
    let spec = spec().await;
    let schemas = &spec["components"]["schemas"];
    let enum_of = |name: &str| -> Vec<String> {
        let e = &schemas[name]["enum"];
        e.as_array().unwrap_or_else(|| panic!("{name} is not an enum")).iter().map(|v| v.to_string()).collect()
    };
    assert_eq!(enum_of("WatchStatusDto").len(), 3);
    assert_eq!(enum_of("WindowDto").len(), 2);
    assert_eq!(enum_of("HealthStatus").len(), 3);
    assert_eq!(enum_of("RoleDto").len(), 2);
    assert_eq!(enum_of("TokenType"), vec!["\"Bearer\""]);
}

#[tokio::test]
async fn answers_leave_out_what_is_absent_instead_of_null() {
    let app = app().await;
    let mut answers = vec![
        body(app.client.get("/movies/popular?per_page=100").send().await).await,
        body(app.client.get("/health").send().await).await,
        body(app.client.get("/analytics/movies/550").send().await).await,
    ];
    let ids: Vec<u64> = answers[0]["items"].as_array().unwrap().iter().filter_map(|m| m["id"].as_u64()).collect();
    for id in ids {
        answers.push(body(app.client.get(format!("/movies/{id}")).send().await).await);
    }
    let token = app.token("ada@example.com").await;
    let me = body(app.client.get("/me").header("authorization", format!("Bearer {token}")).send().await).await;
    assert!(me.get("last_login_at").is_some() && me.get("role") == Some(&"user".into()), "{me}");
    answers.push(me);
    assert!(answers[2].get("rating_average").is_none(), "nobody rated it: {}", answers[2]);
    for a in &answers {
        assert!(!has_null(a), "a null in {a}");
    }
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

#[tokio::test]
async fn the_docs_page_shows_the_completed_document() {
    let app = app().await;
    for path in ["/docs", "/docs/"] {
        let page = app.client.get(path).send().await.0.into_body().into_string().await.unwrap();
        assert!(page.contains("SwaggerUIBundle") && page.contains("\"minProperties\": 1"), "{path}");
    }
}
