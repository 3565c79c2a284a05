//! `/users/...`: the caller's settings, their data under `/users/{me|slug}`
//! (WatchMe has no public profiles: any other user is a 404), their lists
//! and list items, and what they are watching.

use poem::Response;
use serde_json::{json, Map, Value};
use watchme_core::domain::{ListId, ListItem, ListPrivacy, RequestContext, UserList};
use watchme_core::services::{every_page, ListError, NewList};

use super::call::{self, Call};
use super::sync::{self, resolve_movies, Kind};
use super::wire::{self, echo_others, items, NotFound};
use crate::api::extract::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The caller, when the `user` path parameter names them: `me`, their
/// slug (of their display name) or their id.
async fn own(c: &Call) -> Result<Caller, ApiError> {
    let caller = c.caller().await?;
    let named = c.param("user").to_ascii_lowercase();
    if named == "me" || named == caller.user_id.to_string() {
        return Ok(caller);
    }
    let user = c.state.auth.current_user(caller.user_id).await?;
    if wire::slug(user.display_name.as_str(), None) == named {
        Ok(caller)
    } else {
        Err(ApiError::not_found("user_not_found", "no such user whose data you may read"))
    }
}

/// `GET /users/settings`.
pub(super) async fn settings(c: Call) -> Result<Response, ApiError> {
    let caller = c.caller().await?;
    let user = c.state.auth.current_user(caller.user_id).await?;
    let name = user.display_name.as_str();
    let limits = c.state.lists.limits();
    Ok(call::ok(&json!({
        "user": {
            "username": wire::slug(name, None),
            "private": true,
            "name": name,
            "vip": false,
            "vip_ep": false,
            "ids": { "slug": wire::slug(name, None), "uuid": user.id.to_string() },
            "joined_at": wire::ts(user.created_at),
            "location": null, "about": null, "gender": null, "age": null,
            "images": { "avatar": { "full": null } },
        },
        "account": { "timezone": "UTC", "date_format": "dmy", "time_24hr": true, "cover_image": null },
        "connections": {
            "facebook": false, "twitter": false, "mastodon": false, "google": false, "tumblr": false,
            "medium": false, "slack": false, "apple": false, "dropbox": false, "microsoft": false,
        },
        "sharing_text": { "watching": "I'm watching [item]", "watched": "I just watched [item]", "rated": "[item] [stars]" },
        "limits": {
            "list": { "count": limits.lists_per_user, "item_count": limits.items_per_list },
            "watchlist": { "item_count": limits.items_per_list },
            "favorites": { "item_count": limits.items_per_list },
        },
    })))
}

/// `GET /users/{user}`: the caller's public face (Trakt's user object).
pub(super) async fn profile(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let user = c.state.auth.current_user(caller.user_id).await?;
    let name = user.display_name.as_str();
    Ok(call::ok(&json!({
        "username": wire::slug(name, None),
        "private": true,
        "name": name,
        "vip": false,
        "vip_ep": false,
        "ids": { "slug": wire::slug(name, None) },
        "joined_at": wire::ts(user.created_at),
    })))
}

/// `GET /users/{user}/history[...]`.
pub(super) async fn history(c: Call) -> Result<Response, ApiError> {
    own(&c).await?;
    sync::history_get(c).await
}

/// `GET /users/{user}/ratings[...]`.
pub(super) async fn ratings(c: Call) -> Result<Response, ApiError> {
    own(&c).await?;
    super::library::ratings_get(c).await
}

/// `GET /users/{user}/watchlist[...]`.
pub(super) async fn watchlist(c: Call) -> Result<Response, ApiError> {
    own(&c).await?;
    super::library::watchlist_get(c).await
}

/// `GET /users/{user}/watched/{type}`.
pub(super) async fn watched(c: Call) -> Result<Response, ApiError> {
    own(&c).await?;
    sync::watched_get(c).await
}

/// `GET /users/{user}/watching`: 200 with the playback, 204 when nothing plays.
pub(super) async fn watching(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let now = c.state.scrobbles.watching(&caller.ctx()).await.map_err(super::scrobble::error)?;
    Ok(match now {
        Some(p) => call::ok(&json!({
            "expires_at": wire::ts(p.expires_at),
            "started_at": wire::ts(p.started_at),
            "action": p.action.as_str(),
            "type": "movie",
            "movie": wire::card(&p.movie),
        })),
        None => call::no_content(),
    })
}

/// A list as Trakt shows it; `with_user` adds the owner (pytrakt refuses
/// it in the answer to a create, and needs it everywhere else).
fn list_object(l: &UserList, owner: &str, with_user: bool) -> Value {
    let mut v = json!({
        "name": l.name.as_str(),
        "description": l.description.clone().unwrap_or_default(),
        "privacy": l.privacy.as_str(),
        "share_link": format!("/lists/{}", l.id),
        "type": "personal",
        "display_numbers": true,
        "allow_comments": false,
        "sort_by": "rank",
        "sort_how": "asc",
        "created_at": wire::ts(l.created_at),
        "updated_at": wire::ts(l.updated_at),
        "item_count": l.item_count,
        "comment_count": 0,
        "likes": 0,
        "ids": { "trakt": l.id.to_string(), "slug": l.slug },
    });
    if with_user {
        v["user"] = json!({
            "username": owner, "private": true, "name": owner, "vip": false, "vip_ep": false, "ids": { "slug": owner },
        });
    }
    v
}

async fn owner_slug(state: &AppState, caller: &Caller) -> Result<String, ApiError> {
    Ok(wire::slug(state.auth.current_user(caller.user_id).await?.display_name.as_str(), None))
}

/// Trakt's privacy names; `friends` (WatchMe has no friends) is private.
fn privacy(body: &Map<String, Value>) -> Result<Option<ListPrivacy>, ApiError> {
    match body.get("privacy") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "friends" => Ok(Some(ListPrivacy::Private)),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|e| ApiError::invalid_field("privacy", e)),
        Some(_) => Err(ApiError::invalid_field("privacy", "must be private, friends, link or public")),
    }
}

fn text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_field(key, "must be a string")),
    }
}

/// `GET /users/{user}/lists`.
pub(super) async fn lists(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let owner = owner_slug(&c.state, &caller).await?;
    let mine = c.state.lists.mine(&caller.ctx()).await?;
    Ok(call::ok(&Value::Array(mine.iter().map(|l| list_object(l, &owner, true)).collect())))
}

/// `POST /users/{user}/lists`.
pub(super) async fn list_create(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let body = c.json()?;
    let name = text(&body, "name")?.ok_or_else(|| ApiError::invalid_field("name", "is required"))?;
    let new = NewList {
        name,
        description: text(&body, "description")?,
        privacy: privacy(&body)?.unwrap_or(ListPrivacy::Private),
    };
    let list = c.state.lists.create(&caller.ctx(), new).await?;
    let owner = owner_slug(&c.state, &caller).await?;
    Ok(call::created(&list_object(&list, &owner, false)))
}

/// One of the caller's lists, by id or slug.
async fn find(state: &AppState, ctx: &RequestContext, raw: &str) -> Result<UserList, ApiError> {
    if let Ok(id) = ListId::parse(raw) {
        return Ok(state.lists.get(ctx, id).await?);
    }
    let mine = state.lists.mine(ctx).await?;
    mine.into_iter().find(|l| l.slug == raw).ok_or_else(|| ListError::NotFound.into())
}

/// `GET /users/{user}/lists/{list}`.
pub(super) async fn list_get(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let list = find(&c.state, &caller.ctx(), c.param("list")).await?;
    Ok(call::ok(&list_object(&list, &owner_slug(&c.state, &caller).await?, true)))
}

/// `PUT /users/{user}/lists/{list}`.
pub(super) async fn list_update(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let ctx = caller.ctx();
    let body = c.json()?;
    let list = find(&c.state, &ctx, c.param("list")).await?;
    let description = match body.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(text(&body, "description")?),
    };
    let updated = c.state.lists.update(&ctx, list.id, text(&body, "name")?, description, privacy(&body)?).await?;
    Ok(call::ok(&list_object(&updated, &owner_slug(&c.state, &caller).await?, true)))
}

/// `DELETE /users/{user}/lists/{list}`.
pub(super) async fn list_delete(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let list = find(&c.state, &caller.ctx(), c.param("list")).await?;
    c.state.lists.delete(&caller.ctx(), list.id).await?;
    Ok(call::no_content())
}

fn list_item(i: ListItem) -> Value {
    json!({
        "rank": i.rank,
        "id": i.movie.id.get(),
        "listed_at": wire::ts(i.added_at),
        "notes": i.notes,
        "type": "movie",
        "movie": wire::card(&i.movie),
    })
}

/// `GET /users/{user}/lists/{list}/items[/{type}]` (or `?type=`).
pub(super) async fn items_get(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let ctx = caller.ctx();
    let list = find(&c.state, &ctx, c.param("list")).await?;
    let paging = c.paging()?;
    let kind = match c.param("type") {
        "" => c.query("type").unwrap_or_default(),
        t => t.to_owned(),
    };
    let every_type = kind.split(',').map(|k| Kind::of(k.trim())).collect::<Result<Vec<_>, _>>()?;
    if !every_type.contains(&Kind::Movies) {
        return Ok(call::ok(&json!([])));
    }
    match paging {
        Some(p) => Ok(call::paged(c.state.lists.items(&ctx, list.id, p).await?, list_item)),
        None => {
            let all = every_page(|p| c.state.lists.items(&ctx, list.id, p)).await?;
            Ok(call::ok(&Value::Array(all.into_iter().map(list_item).collect())))
        }
    }
}

fn list_summary(l: &UserList) -> Value {
    json!({ "updated_at": wire::ts(l.updated_at), "item_count": l.item_count })
}

/// `POST /users/{user}/lists/{list}/items`: movies (with an optional `notes`) put on the list.
pub(super) async fn items_add(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let ctx = caller.ctx();
    let body = c.json()?;
    let list = find(&c.state, &ctx, c.param("list")).await?;
    let mut not_found = NotFound::with(&["movies", "shows", "seasons", "episodes", "people"]);
    let movies = resolve_movies(&c.state, items(&body, "movies")?, &mut not_found).await?;
    echo_others(&body, &mut not_found)?;
    let (mut added, mut existing) = (0, 0);
    for (item, movie) in movies {
        let notes = item.get("notes").and_then(Value::as_str).map(str::to_owned);
        let (_, new) = c.state.lists.put_item(&ctx, list.id, movie.id(), notes).await?;
        if new {
            added += 1;
        } else {
            existing += 1;
        }
    }
    let list = c.state.lists.get(&ctx, list.id).await?;
    let zero = |n: usize| json!({ "movies": n, "shows": 0, "seasons": 0, "episodes": 0, "people": 0 });
    Ok(call::created(&json!({
        "added": zero(added),
        "existing": zero(existing),
        "not_found": not_found.into_value(),
        "list": list_summary(&list),
    })))
}

/// `POST /users/{user}/lists/{list}/items/remove`.
pub(super) async fn items_remove(c: Call) -> Result<Response, ApiError> {
    let caller = own(&c).await?;
    let ctx = caller.ctx();
    let body = c.json()?;
    let list = find(&c.state, &ctx, c.param("list")).await?;
    let mut not_found = NotFound::with(&["movies", "shows", "seasons", "episodes", "people"]);
    let movies = resolve_movies(&c.state, items(&body, "movies")?, &mut not_found).await?;
    echo_others(&body, &mut not_found)?;
    let mut deleted = 0;
    for (item, movie) in movies {
        if c.state.lists.remove_item(&ctx, list.id, movie.id()).await? {
            deleted += 1;
        } else {
            not_found.push("movies", item.clone());
        }
    }
    let list = c.state.lists.get(&ctx, list.id).await?;
    Ok(call::ok(&json!({
        "deleted": { "movies": deleted, "shows": 0, "seasons": 0, "episodes": 0, "people": 0 },
        "not_found": not_found.into_value(),
        "list": list_summary(&list),
    })))
}
