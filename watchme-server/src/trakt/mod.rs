//! The Trakt-compatible API: a second driving adapter over the same core
//! services, mounted under a prefix (`/trakt` by default), so that Trakt
//! clients and libraries work against WatchMe by changing their base URL.
//! Shapes follow Trakt's API v2 and, where they differ, its real clients
//! (pytrakt, npm `trakt.tv`); docs/trakt.md lists what is supported.
//!
//! Plain poem handlers rather than poem-openapi: Trakt's bodies mix types
//! WatchMe does not track and must never be refused for it, so each
//! handler reads JSON itself. The operation table below routes them and
//! writes their OpenAPI document (`{prefix}/openapi.json`), so the two
//! cannot drift apart.

mod call;
mod library;
mod movies;
mod oauth;
mod scrobble;
mod sync;
mod users;
mod wire;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use poem::http::{Method, Uri};
use poem::{Endpoint, IntoResponse, Request, Response, Route, RouteMethod};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use call::Call;

type Answer = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>>;

/// One operation: method, path (poem syntax), what it does, whether it
/// needs a bearer token, and its handler.
struct Op {
    method: Method,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: bool,
    handler: fn(Call) -> Answer,
}

macro_rules! op {
    ($method:ident $path:literal, $tag:literal, $auth:literal, $summary:literal, $handler:path) => {
        Op {
            method: Method::$method,
            path: $path,
            tag: $tag,
            summary: $summary,
            auth: $auth,
            handler: |c| Box::pin($handler(c)),
        }
    };
}

/// Every operation of the Trakt-compatible API.
fn operations() -> Vec<Op> {
    vec![
        op!(POST "/oauth/device/code", "oauth", false, "Start the device flow: a device code and a user code", oauth::device_code),
        op!(POST "/oauth/device/token", "oauth", false, "Poll for the device's tokens (400 pending, 429 too fast, 404, 409 used, 410 expired, 418 denied)", oauth::device_token),
        op!(POST "/oauth/device/approve", "oauth", true, "Approve (or deny) a device's user code as the caller", oauth::approve),
        op!(POST "/oauth/token", "oauth", false, "Refresh tokens (grant_type=refresh_token)", oauth::token),
        op!(POST "/oauth/revoke", "oauth", false, "End an access token's session", oauth::revoke),
        op!(GET "/activate", "oauth", false, "The page where a user approves a device (HTML)", oauth::activate_page),
        op!(POST "/activate", "oauth", false, "The page's form: email, password, user_code, decision", oauth::activate_submit),
        op!(POST "/sync/history", "sync", true, "Add plays (watched_at: a time, released or unknown)", sync::history_add),
        op!(POST "/sync/history/remove", "sync", true, "Remove every play of movies, or plays by history ids", sync::history_remove),
        op!(GET "/sync/history", "sync", true, "Plays, newest first (start_at, end_at; paged)", sync::history_get),
        op!(GET "/sync/history/:type", "sync", true, "Plays of a type (movies; others are empty)", sync::history_get),
        op!(GET "/sync/history/:type/:id", "sync", true, "Plays of one movie", sync::history_get),
        op!(POST "/sync/ratings", "sync", true, "Rate movies (1-10)", library::ratings_add),
        op!(POST "/sync/ratings/remove", "sync", true, "Remove ratings", library::ratings_remove),
        op!(GET "/sync/ratings", "sync", true, "Ratings", library::ratings_get),
        op!(GET "/sync/ratings/:type", "sync", true, "Ratings of a type", library::ratings_get),
        op!(GET "/sync/ratings/:type/:rating", "sync", true, "Ratings of given values (8,9,10)", library::ratings_get),
        op!(POST "/sync/watchlist", "sync", true, "Add to the watchlist (status want_to_watch)", library::watchlist_add),
        op!(POST "/sync/watchlist/remove", "sync", true, "Remove from the watchlist", library::watchlist_remove),
        op!(GET "/sync/watchlist", "sync", true, "The watchlist", library::watchlist_get),
        op!(GET "/sync/watchlist/:type", "sync", true, "The watchlist of a type", library::watchlist_get),
        op!(GET "/sync/watchlist/:type/:sort", "sync", true, "The watchlist sorted (rank, added, title, released)", library::watchlist_get),
        op!(GET "/sync/last_activities", "sync", true, "When each part of the caller's data last changed", sync::last_activities),
        op!(GET "/sync/watched/:type", "sync", true, "Watched movies with play counts", sync::watched_get),
        op!(GET "/sync/playback", "sync", true, "Paused playbacks", sync::playback_get),
        op!(GET "/sync/playback/:type", "sync", true, "Paused playbacks of a type", sync::playback_get),
        op!(DELETE "/sync/playback/:id", "sync", true, "Forget a paused playback", sync::playback_remove),
        op!(GET "/users/settings", "users", true, "The caller's profile and settings", users::settings),
        op!(GET "/users/:user", "users", true, "The caller's profile (user: me or their slug)", users::profile),
        op!(GET "/users/:user/history", "users", true, "The caller's plays (user: me or their slug)", users::history),
        op!(GET "/users/:user/history/:type", "users", true, "The caller's plays of a type", users::history),
        op!(GET "/users/:user/history/:type/:id", "users", true, "The caller's plays of one movie", users::history),
        op!(GET "/users/:user/ratings", "users", true, "The caller's ratings", users::ratings),
        op!(GET "/users/:user/ratings/:type", "users", true, "The caller's ratings of a type", users::ratings),
        op!(GET "/users/:user/ratings/:type/:rating", "users", true, "The caller's ratings of given values", users::ratings),
        op!(GET "/users/:user/watchlist", "users", true, "The caller's watchlist", users::watchlist),
        op!(GET "/users/:user/watchlist/:type", "users", true, "The caller's watchlist of a type", users::watchlist),
        op!(GET "/users/:user/watchlist/:type/:sort", "users", true, "The caller's watchlist, sorted", users::watchlist),
        op!(GET "/users/:user/watched/:type", "users", true, "The caller's watched movies", users::watched),
        op!(GET "/users/:user/watching", "users", true, "What the caller watches now (204: nothing)", users::watching),
        op!(GET "/users/:user/lists", "lists", true, "The caller's lists", users::lists),
        op!(POST "/users/:user/lists", "lists", true, "Create a list", users::list_create),
        op!(GET "/users/:user/lists/:list", "lists", true, "A list, by id or slug", users::list_get),
        op!(PUT "/users/:user/lists/:list", "lists", true, "Change a list", users::list_update),
        op!(DELETE "/users/:user/lists/:list", "lists", true, "Delete a list", users::list_delete),
        op!(GET "/users/:user/lists/:list/items", "lists", true, "A list's items by rank (?type=)", users::items_get),
        op!(GET "/users/:user/lists/:list/items/:type", "lists", true, "A list's items of a type", users::items_get),
        op!(POST "/users/:user/lists/:list/items", "lists", true, "Put movies on a list", users::items_add),
        op!(POST "/users/:user/lists/:list/items/remove", "lists", true, "Take movies off a list", users::items_remove),
        op!(POST "/scrobble/start", "scrobble", true, "Playback started (progress 0-100)", scrobble::start),
        op!(POST "/scrobble/pause", "scrobble", true, "Playback paused", scrobble::pause),
        op!(POST "/scrobble/stop", "scrobble", true, "Playback stopped: a play at or past the threshold (409 within the window)", scrobble::stop),
        op!(POST "/checkin", "scrobble", true, "Check in: a play now, watching for the runtime (409 while another runs)", scrobble::checkin),
        op!(DELETE "/checkin", "scrobble", true, "End the check-in", scrobble::checkin_delete),
        op!(GET "/movies/popular", "movies", false, "Popular movies (paged)", movies::popular),
        op!(GET "/movies/trending", "movies", false, "The week's most played movies", movies::trending),
        op!(GET "/movies/:id", "movies", false, "A movie by id, IMDb id or slug (?extended=full)", movies::summary),
        op!(GET "/search/:kind", "search", false, "Search movies (?query=; type movie)", movies::text),
        op!(GET "/search/:kind/:id", "search", false, "A movie by tmdb, imdb or trakt id", movies::by_id),
    ]
}

/// The mounted API: strips the prefix, collapses doubled slashes (some
/// clients build `//oauth/...`), and routes.
#[derive(Clone)]
pub struct TraktApi {
    prefix: Arc<str>,
    routes: Arc<Route>,
}

impl TraktApi {
    /// The API mounted at `prefix` (such as `/trakt`).
    pub fn new(prefix: &str) -> Self {
        let ops = operations();
        let document: Arc<Value> = Arc::new(spec(prefix, &ops));
        let mut by_path: Vec<(&'static str, RouteMethod)> = Vec::new();
        for op in ops {
            let handler = op.handler;
            let ep = poem::endpoint::make(move |req: Request| async move {
                let call = match Call::read(req).await {
                    Ok(c) => c,
                    Err(e) => return e.into_response(),
                };
                handler(call).await.unwrap_or_else(IntoResponse::into_response)
            });
            match by_path.iter_mut().find(|(p, _)| *p == op.path) {
                Some((_, methods)) => {
                    let taken = std::mem::take(methods);
                    *methods = taken.method(op.method, ep);
                }
                None => by_path.push((op.path, RouteMethod::new().method(op.method, ep))),
            }
        }
        let doc = poem::endpoint::make_sync(move |_| call::ok(&document));
        let routes = by_path.into_iter().fold(Route::new().at("/openapi.json", doc), |r, (p, m)| r.at(p, m));
        Self { prefix: prefix.into(), routes: Arc::new(routes) }
    }

    /// The path under the prefix, with runs of slashes collapsed.
    fn inner_path(&self, path: &str) -> String {
        let rest = path.strip_prefix(&*self.prefix).unwrap_or(path);
        let mut out = String::with_capacity(rest.len() + 1);
        for part in rest.split('/').filter(|p| !p.is_empty()) {
            out.push('/');
            out.push_str(part);
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

impl Endpoint for TraktApi {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let path = self.inner_path(req.uri().path());
        let target = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let uri: Uri = target.parse().map_err(|_| ApiError::bad_request("invalid_path", "the path is not valid"))?;
        *req.uri_mut() = uri;
        self.routes.call(req).await
    }
}

/// The OpenAPI 3 document of `ops`, served at `{prefix}/openapi.json`.
fn spec(prefix: &str, ops: &[Op]) -> Value {
    let mut paths = Map::new();
    for op in ops {
        let path: String = op
            .path
            .split('/')
            .map(|seg| seg.strip_prefix(':').map_or_else(|| seg.to_owned(), |p| format!("{{{p}}}")))
            .collect::<Vec<_>>()
            .join("/");
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix(':'))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let id = format!("trakt_{}{}", op.method.as_str().to_lowercase(), op.path.replace(['/', ':'], "_"));
        let mut operation = json!({
            "tags": [op.tag],
            "summary": op.summary,
            "operationId": id,
            "parameters": params,
            "responses": {
                "2XX": { "description": "Trakt's answer (see docs/trakt.md)" },
                "4XX": { "description": "The error shape: code, message, request_id" },
            },
        });
        if op.auth {
            operation["security"] = json!([{ "bearerAuth": [] }]);
        }
        if op.method != Method::GET && op.method != Method::DELETE {
            operation["requestBody"] = json!({ "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[op.method.as_str().to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "WatchMe: Trakt-compatible API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Trakt API v2 shapes over WatchMe, movies only. `ids.trakt` is WatchMe's movie id (the TMDb id). Headers trakt-api-version and trakt-api-key are accepted and ignored; page and limit (default 10) page lists, with X-Pagination-* headers.",
        },
        "servers": [{ "url": prefix }],
        "paths": paths,
        "components": { "securitySchemes": { "bearerAuth": { "type": "http", "scheme": "bearer" } } },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_stripped_and_doubled_slashes_collapsed() {
        let api = TraktApi::new("/trakt");
        assert_eq!(api.inner_path("/trakt//oauth/device/code"), "/oauth/device/code");
        assert_eq!(api.inner_path("/trakt/sync/history/"), "/sync/history");
        assert_eq!(api.inner_path("/trakt"), "/");
    }

    #[test]
    fn the_document_has_every_operation() {
        let ops = operations();
        let doc = spec("/trakt", &ops);
        let count: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(count, ops.len());
        assert_eq!(doc["paths"]["/sync/history/{type}/{id}"]["get"]["parameters"].as_array().unwrap().len(), 2);
    }
}
