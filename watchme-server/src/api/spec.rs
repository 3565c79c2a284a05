//! The OpenAPI document served at `/openapi.json`, shown by `/docs` and
//! printed by `watchme openapi`: poem-openapi's, completed with what its
//! derives cannot say.
//!
//! - Request bodies are closed (`additionalProperties: false`): `JsonBody`
//!   refuses unknown fields, so a client must not send any.
//! - A library update and a list change set at least one field
//!   (`minProperties: 1`); a list change's description may be `null`, and
//!   a reorder's movie ids are positive.
//! - Links between operations (OpenAPI 3.0 `links`): which answer feeds
//!   which request, for generated clients and for stateful testing (the
//!   conformance test follows them).
//! - A described reference is `{$ref, description}`, not poem-openapi's
//!   `allOf: [{$ref}, {description}]`: generators refuse `allOf` over an
//!   enum (openapi-python-client drops every model that holds one), and
//!   3.0 tools that ignore a `$ref`'s siblings lose only the description.

use poem_openapi::types::Type;
use std::sync::Arc;

use poem_openapi::OpenApiService;
use serde_json::{json, Map, Value};

use crate::state::AppState;

use super::library::LibraryUpdateRequest;
use super::lists::ListPatchRequest;
use super::{admin, analytics, auth, health, history, imports, library, lists, movies, tokens, webhooks};

/// Every handler group.
pub type Apis = (
    auth::AuthApi,
    tokens::TokensApi,
    movies::MoviesApi,
    library::LibraryApi,
    history::HistoryApi,
    lists::ListsApi,
    imports::ImportsApi,
    webhooks::WebhooksApi,
    analytics::AnalyticsApi,
    health::HealthApi,
    admin::AdminApi,
);

/// Every handler group over `state`.
pub fn apis(state: Arc<AppState>) -> Apis {
    (
        auth::AuthApi::new(state.clone()),
        tokens::TokensApi::new(state.clone()),
        movies::MoviesApi::new(state.clone()),
        library::LibraryApi::new(state.clone()),
        history::HistoryApi::new(state.clone()),
        lists::ListsApi::new(state.clone()),
        imports::ImportsApi::new(state.clone()),
        webhooks::WebhooksApi::new(state.clone()),
        analytics::AnalyticsApi::new(state.clone()),
        health::HealthApi::new(state.clone()),
        admin::AdminApi::new(state),
    )
}

/// The OpenAPI service over `state`: the spec and the docs.
pub fn openapi(state: Arc<AppState>) -> OpenApiService<Apis, ()> {
    OpenApiService::new(apis(state), "WatchMe", env!("CARGO_PKG_VERSION")).description(
        "Movie tracking: accounts, popular movies, search and details, a personal library \
         (views, favorites, watch status, ratings) and analytics. Every error answers \
         `{code, message, request_id, details?}`; every list answers a page body and \
         `X-Pagination-*` headers.",
    )
}

/// Where a link's value comes from: a runtime expression (`$response.body#/id`).
type Expr = &'static str;

/// One link: after `from` answers one of `statuses`, `to` can be called
/// with these path parameters (or this request body).
struct Link {
    from: &'static str,
    statuses: &'static [u16],
    to: &'static str,
    params: &'static [(&'static str, Expr)],
    body: &'static [(&'static str, Expr)],
}

const fn path(
    from: &'static str,
    statuses: &'static [u16],
    to: &'static str,
    params: &'static [(&'static str, Expr)],
) -> Link {
    Link { from, statuses, to, params, body: &[] }
}

const fn body(
    from: &'static str,
    statuses: &'static [u16],
    to: &'static str,
    body: &'static [(&'static str, Expr)],
) -> Link {
    Link { from, statuses, to, params: &[], body }
}

/// The first movie of a movie list, as `{id}` and `{movie_id}`.
const FIRST_MOVIE: &[(&str, Expr)] = &[("id", "$response.body#/items/0/id")];
const FIRST_MOVIE_AS_MOVIE_ID: &[(&str, Expr)] = &[("movie_id", "$response.body#/items/0/id")];
/// The first entry of a list of the caller's movies (favorites, library, views, trending).
const FIRST_ENTRY: &[(&str, Expr)] = &[("id", "$response.body#/items/0/movie_id")];
const FIRST_ENTRY_AS_MOVIE_ID: &[(&str, Expr)] = &[("movie_id", "$response.body#/items/0/movie_id")];
const SAME_MOVIE_ID: &[(&str, Expr)] = &[("movie_id", "$request.path.movie_id")];
const ANSWERED_MOVIE_ID: &[(&str, Expr)] = &[("id", "$response.body#/movie_id")];

const LINKS: &[Link] = &[
    body("register", &[201], "login", &[("email", "$request.body#/email"), ("password", "$request.body#/password")]),
    body("login", &[200], "refresh", &[("refresh_token", "$response.body#/refresh_token")]),
    path("login", &[200], "revoke_session", &[("id", "$response.body#/session_id")]),
    body("refresh", &[200], "refresh", &[("refresh_token", "$response.body#/refresh_token")]),
    path("refresh", &[200], "revoke_session", &[("id", "$response.body#/session_id")]),
    path("my_sessions", &[200], "revoke_session", &[("id", "$response.body#/0/id")]),
    path("popular_movies", &[200], "movie_details", FIRST_MOVIE),
    path("popular_movies", &[200], "movie_stats", FIRST_MOVIE),
    path("popular_movies", &[200], "add_favorite", FIRST_MOVIE_AS_MOVIE_ID),
    path("popular_movies", &[200], "update_library_entry", FIRST_MOVIE_AS_MOVIE_ID),
    path("search_movies", &[200], "movie_details", FIRST_MOVIE),
    path("search_movies", &[200], "add_favorite", FIRST_MOVIE_AS_MOVIE_ID),
    path("search_movies", &[200], "update_library_entry", FIRST_MOVIE_AS_MOVIE_ID),
    path("movie_details", &[200], "movie_stats", &[("id", "$response.body#/id")]),
    path("movie_details", &[200], "add_favorite", &[("movie_id", "$response.body#/id")]),
    path("movie_details", &[200], "update_library_entry", &[("movie_id", "$response.body#/id")]),
    path("my_views", &[200], "movie_details", FIRST_ENTRY),
    path("add_favorite", &[200, 201], "remove_favorite", SAME_MOVIE_ID),
    path("add_favorite", &[200, 201], "movie_stats", ANSWERED_MOVIE_ID),
    path("my_favorites", &[200], "remove_favorite", FIRST_ENTRY_AS_MOVIE_ID),
    path("my_favorites", &[200], "movie_details", FIRST_ENTRY),
    path("update_library_entry", &[200], "remove_library_entry", SAME_MOVIE_ID),
    path("update_library_entry", &[200], "movie_stats", ANSWERED_MOVIE_ID),
    path("my_library", &[200], "update_library_entry", FIRST_ENTRY_AS_MOVIE_ID),
    path("my_library", &[200], "remove_library_entry", FIRST_ENTRY_AS_MOVIE_ID),
    path("create_list", &[201], "put_list_item", &[("list_id", "$response.body#/id")]),
    path("create_list", &[201], "my_list_items", &[("list_id", "$response.body#/id")]),
    path("create_list", &[201], "shared_list", &[("list_id", "$response.body#/id")]),
    path("create_list", &[201], "update_list", &[("list_id", "$response.body#/id")]),
    path("create_list", &[201], "delete_list", &[("list_id", "$response.body#/id")]),
    path("my_lists", &[200], "my_list", &[("list_id", "$response.body#/items/0/id")]),
    path("create_token", &[201], "revoke_token", &[("token_id", "$response.body#/id")]),
    path("my_tokens", &[200], "revoke_token", &[("token_id", "$response.body#/items/0/id")]),
    path("add_history", &[201], "remove_play", &[("play_id", "$response.body#/added/0/id")]),
    path("my_history", &[200], "remove_play", &[("play_id", "$response.body#/items/0/id")]),
    path("add_history", &[200, 201], "my_activity", &[]),
    path("trending", &[200], "movie_details", FIRST_ENTRY),
    path("trending", &[200], "movie_stats", FIRST_ENTRY),
];

/// The document as JSON text.
pub fn document(service: &OpenApiService<Apis, ()>) -> String {
    let mut doc: Value = serde_json::from_str(&service.spec()).unwrap_or_else(|_| json!({}));
    complete(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Adds what poem-openapi's derives cannot say (see the module docs).
fn complete(doc: &mut Value) {
    let bodies: Vec<String> = operations(doc)
        .filter_map(|(_, op)| op.pointer("/requestBody/content/application~1json; charset=utf-8/schema/$ref"))
        .filter_map(|r| r.as_str()?.strip_prefix("#/components/schemas/").map(str::to_owned))
        .collect();
    let schemas = &mut doc["components"]["schemas"];
    // Closed all the way down: the objects a body holds are parsed as strictly.
    let mut todo = bodies;
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = todo.pop() {
        let Some(schema) = schemas.get_mut(&name).and_then(Value::as_object_mut) else { continue };
        if !seen.insert(name) || schema.get("type").and_then(Value::as_str) != Some("object") {
            continue;
        }
        schema.insert("additionalProperties".into(), false.into());
        for prop in schema.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.values()) {
            let r = prop.get("$ref").or_else(|| prop.pointer("/items/$ref"));
            todo.extend(
                r.and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")).map(str::to_owned),
            );
        }
    }
    // What the derives cannot say of two list bodies: `null` clears a
    // description, and the movie ids of a reorder are movie ids.
    if let Some(d) = schemas.pointer_mut("/ListPatchRequest/properties/description").and_then(Value::as_object_mut) {
        d.insert("nullable".into(), true.into());
    }
    if let Some(i) = schemas.pointer_mut("/ReorderRequest/properties/movie_ids/items").and_then(Value::as_object_mut) {
        i.insert("minimum".into(), 1.into());
    }
    for name in [LibraryUpdateRequest::name(), ListPatchRequest::name()] {
        if let Some(update) = schemas.get_mut(name.as_ref()).and_then(Value::as_object_mut) {
            update.insert("minProperties".into(), 1.into());
        }
    }
    add_links(doc);
    collapse_described_refs(doc);
}

/// `{allOf: [{$ref: X}, {description: D}], ...}` becomes `{$ref: X, description: D}`.
fn collapse_described_refs(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let parts = o.get("allOf").and_then(Value::as_array);
            let described_ref = match parts.map(Vec::as_slice) {
                Some([r, d])
                    if r.get("$ref").is_some()
                        && d.as_object().is_some_and(|d| d.keys().all(|k| k == "description")) =>
                {
                    r.get("$ref").cloned()
                }
                _ => None,
            };
            if let Some(target) = described_ref {
                o.remove("allOf");
                o.insert("$ref".into(), target);
            }
            o.values_mut().for_each(collapse_described_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(collapse_described_refs),
        _ => {}
    }
}

/// Every operation of the document, with its id.
fn operations(doc: &Value) -> impl Iterator<Item = (&str, &Value)> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|methods| methods.values())
        .filter_map(|op| Some((op.get("operationId")?.as_str()?, op)))
}

fn add_links(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for op in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|m| m.values_mut()) {
        let Some(id) = op.get("operationId").and_then(Value::as_str).map(str::to_owned) else { continue };
        for link in LINKS.iter().filter(|l| l.from == id) {
            for status in link.statuses {
                let Some(response) = op.pointer_mut(&format!("/responses/{status}")).and_then(Value::as_object_mut)
                else {
                    continue;
                };
                let links = response.entry("links").or_insert_with(|| Value::Object(Map::new()));
                links[link.to] = link_object(link);
            }
        }
    }
}

fn link_object(link: &Link) -> Value {
    let pairs = |p: &[(&str, Expr)]| p.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect::<Map<_, _>>();
    let mut o = json!({ "operationId": link.to });
    if !link.params.is_empty() {
        o["parameters"] = Value::Object(pairs(link.params));
    }
    if !link.body.is_empty() {
        o["requestBody"] = Value::Object(pairs(link.body));
    }
    o
}
