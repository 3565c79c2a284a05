//! Users' own lists: `/me/lists...` for their owner, `/lists/{id}` for
//! anyone a list is shared with.

use std::sync::Arc;

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{ListId, ListItem, ListPrivacy, MovieId, UserList};
use watchme_core::services::NewList;

use super::extract::{non_null, BearerAuth, JsonBody, MaybeAuth};
use super::history::MovieCardDto;
use super::paging::{page_request, PageResponse};
use super::query::Query;
use super::schema::{MovieIdParam, PageNo, PerPage, UuidParam};
use super::tags::Tag;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may read a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PrivacyDto {
    /// Its owner only.
    Private,
    /// Anyone with its id (`GET /lists/{id}`).
    Link,
    /// Anyone.
    Public,
}

impl From<PrivacyDto> for ListPrivacy {
    fn from(p: PrivacyDto) -> Self {
        match p {
            PrivacyDto::Private => Self::Private,
            PrivacyDto::Link => Self::Link,
            PrivacyDto::Public => Self::Public,
        }
    }
}

impl From<ListPrivacy> for PrivacyDto {
    fn from(p: ListPrivacy) -> Self {
        match p {
            ListPrivacy::Private => Self::Private,
            ListPrivacy::Link => Self::Link,
            ListPrivacy::Public => Self::Public,
        }
    }
}

/// A new list.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
#[serde(deny_unknown_fields)]
pub struct NewListRequest {
    /// Its name (1 to 100 characters, not blank); the slug comes from it.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"[^\s\u0085]"))]
    pub name: String,
    /// What it is about (at most 2,000 characters).
    #[oai(validator(max_length = 2000))]
    #[serde(default, deserialize_with = "non_null")]
    pub description: Option<String>,
    /// Who may read it.
    pub privacy: PrivacyDto,
}

impl Example for NewListRequest {
    fn example() -> Self {
        Self {
            name: "Best of 1999".into(),
            description: Some("The year of The Matrix".into()),
            privacy: PrivacyDto::Link,
        }
    }
}

/// A change to a list: any of its fields (at least one).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
#[serde(deny_unknown_fields)]
pub struct ListPatchRequest {
    /// A new name (and so a new slug).
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"[^\s\u0085]"))]
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    /// A new description; `null` clears it.
    #[oai(validator(max_length = 2000))]
    #[serde(default)]
    pub description: MaybeUndefined<String>,
    /// Who may read it from now on.
    #[serde(default, deserialize_with = "non_null")]
    pub privacy: Option<PrivacyDto>,
}

/// A movie put on a list.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    /// Your note (at most 2,000 characters); leave it out for none.
    #[oai(validator(max_length = 2000))]
    #[serde(default, deserialize_with = "non_null")]
    pub notes: Option<String>,
}

/// A new order.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
#[serde(deny_unknown_fields)]
pub struct ReorderRequest {
    /// These movies first, in this order; the list's others follow as they were.
    #[oai(validator(max_items = 5000))]
    pub movie_ids: Vec<i64>,
}

impl Example for ListPatchRequest {
    fn example() -> Self {
        Self { name: None, description: MaybeUndefined::Null, privacy: Some(PrivacyDto::Public) }
    }
}

impl Example for ItemRequest {
    fn example() -> Self {
        Self { notes: Some("Watch for the spoon.".into()) }
    }
}

impl Example for ReorderRequest {
    fn example() -> Self {
        Self { movie_ids: vec![603, 550] }
    }
}

/// A list.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ListDto {
    /// Its id (a `link` list is shared by it).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Unique among its owner's lists.
    pub slug: String,
    /// What it is about.
    pub description: Option<String>,
    /// Who may read it.
    pub privacy: PrivacyDto,
    /// How many movies it holds.
    pub item_count: u64,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it or its items last changed.
    pub updated_at: OffsetDateTime,
}

impl From<UserList> for ListDto {
    fn from(l: UserList) -> Self {
        Self {
            id: l.id.as_uuid(),
            name: l.name.as_str().to_owned(),
            slug: l.slug,
            description: l.description,
            privacy: l.privacy.into(),
            item_count: l.item_count,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// A movie on a list.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ListItemDto {
    /// The movie.
    pub movie: MovieCardDto,
    /// Its place, from 1.
    pub rank: u32,
    /// The owner's note.
    pub notes: Option<String>,
    /// When it was put on the list.
    pub added_at: OffsetDateTime,
}

impl From<ListItem> for ListItemDto {
    fn from(i: ListItem) -> Self {
        Self { movie: i.movie.into(), rank: i.rank, notes: i.notes, added_at: i.added_at }
    }
}

/// The caller's lists.
#[derive(Debug, Clone, Object)]
pub struct ListsDto {
    /// Most recently updated first.
    pub items: Vec<ListDto>,
}

#[derive(ApiResponse)]
enum ListCreated {
    /// Made.
    #[oai(status = 201)]
    Created(Json<ListDto>),
}

#[derive(ApiResponse)]
enum ItemPut {
    /// Its note changed; it keeps its rank.
    #[oai(status = 200)]
    Ok(Json<ListItemDto>),
    /// Put on the list, last.
    #[oai(status = 201)]
    Created(Json<ListItemDto>),
}

#[derive(ApiResponse)]
enum Done {
    /// Done (deleting what is not there is not an error).
    #[oai(status = 204)]
    NoContent,
}

/// Lists.
pub struct ListsApi {
    state: Arc<AppState>,
}

impl ListsApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

fn parse_list_id(p: &UuidParam) -> Result<ListId, ApiError> {
    Ok(ListId::from_uuid(p.get("list_id")?))
}

#[OpenApi(tag = "Tag::Lists")]
impl ListsApi {
    /// Make a list.
    #[oai(path = "/me/lists", method = "post", operation_id = "create_list")]
    async fn create(&self, auth: BearerAuth, body: JsonBody<NewListRequest>) -> Result<ListCreated, ApiError> {
        let b = body.0;
        let new = NewList { name: b.name, description: b.description, privacy: b.privacy.into() };
        let list = self.state.lists.create(&auth.0.ctx(), new).await?;
        Ok(ListCreated::Created(Json(list.into())))
    }

    /// The caller's lists.
    #[oai(path = "/me/lists", method = "get", operation_id = "my_lists")]
    async fn mine(&self, auth: BearerAuth) -> Result<Json<ListsDto>, ApiError> {
        let lists = self.state.lists.mine(&auth.0.ctx()).await?;
        Ok(Json(ListsDto { items: lists.into_iter().map(Into::into).collect() }))
    }

    /// One of the caller's lists.
    #[oai(path = "/me/lists/:list_id", method = "get", operation_id = "my_list")]
    async fn get_mine(&self, auth: BearerAuth, list_id: Path<UuidParam>) -> Result<Json<ListDto>, ApiError> {
        let ctx = auth.0.ctx();
        let list = self.state.lists.get(&ctx, parse_list_id(&list_id.0)?).await?;
        if Some(list.user_id) != ctx.user_id {
            return Err(ApiError::not_found("list_not_found", "you have no list with this id"));
        }
        Ok(Json(list.into()))
    }

    /// Rename, describe or share one of the caller's lists.
    #[oai(path = "/me/lists/:list_id", method = "patch", operation_id = "update_list")]
    async fn update(
        &self,
        auth: BearerAuth,
        list_id: Path<UuidParam>,
        body: JsonBody<ListPatchRequest>,
    ) -> Result<Json<ListDto>, ApiError> {
        let b = body.0;
        if b.name.is_none() && b.description.is_undefined() && b.privacy.is_none() {
            return Err(ApiError::bad_request(
                "invalid_body",
                "a change sets at least one of name, description, privacy",
            ));
        }
        let description = match b.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => Some(Some(d)),
        };
        let list = self
            .state
            .lists
            .update(&auth.0.ctx(), parse_list_id(&list_id.0)?, b.name, description, b.privacy.map(Into::into))
            .await?;
        Ok(Json(list.into()))
    }

    /// Delete one of the caller's lists with its items.
    #[oai(path = "/me/lists/:list_id", method = "delete", operation_id = "delete_list")]
    async fn delete(&self, auth: BearerAuth, list_id: Path<UuidParam>) -> Result<Done, ApiError> {
        self.state.lists.delete(&auth.0.ctx(), parse_list_id(&list_id.0)?).await?;
        Ok(Done::NoContent)
    }

    /// The items of one of the caller's lists, by rank.
    #[oai(path = "/me/lists/:list_id/items", method = "get", operation_id = "my_list_items")]
    async fn my_items(
        &self,
        auth: BearerAuth,
        list_id: Path<UuidParam>,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<ListItemDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let p = self.state.lists.items(&auth.0.ctx(), parse_list_id(&list_id.0)?, req).await?;
        Ok(PageResponse::from_page(p, Into::into, None))
    }

    /// Put a movie on one of the caller's lists (last), or change its note.
    #[oai(path = "/me/lists/:list_id/items/:movie_id", method = "put", operation_id = "put_list_item")]
    async fn put_item(
        &self,
        auth: BearerAuth,
        list_id: Path<UuidParam>,
        movie_id: Path<MovieIdParam>,
        body: JsonBody<ItemRequest>,
    ) -> Result<ItemPut, ApiError> {
        let movie = movie_id.0.get("movie_id")?;
        let (item, added) =
            self.state.lists.put_item(&auth.0.ctx(), parse_list_id(&list_id.0)?, movie, body.0.notes).await?;
        Ok(if added { ItemPut::Created(Json(item.into())) } else { ItemPut::Ok(Json(item.into())) })
    }

    /// Take a movie off one of the caller's lists; the ones after move up.
    #[oai(path = "/me/lists/:list_id/items/:movie_id", method = "delete", operation_id = "remove_list_item")]
    async fn remove_item(
        &self,
        auth: BearerAuth,
        list_id: Path<UuidParam>,
        movie_id: Path<MovieIdParam>,
    ) -> Result<Done, ApiError> {
        let movie = movie_id.0.get("movie_id")?;
        self.state.lists.remove_item(&auth.0.ctx(), parse_list_id(&list_id.0)?, movie).await?;
        Ok(Done::NoContent)
    }

    /// Put some of the list's movies first, in the given order.
    #[oai(path = "/me/lists/:list_id/reorder", method = "post", operation_id = "reorder_list")]
    async fn reorder(
        &self,
        auth: BearerAuth,
        list_id: Path<UuidParam>,
        body: JsonBody<ReorderRequest, 512>,
    ) -> Result<Done, ApiError> {
        if body.0.movie_ids.len() > 5000 {
            return Err(ApiError::invalid_field("movie_ids", "at most 5000 movie ids"));
        }
        let mut movies = Vec::with_capacity(body.0.movie_ids.len());
        for (i, raw) in body.0.movie_ids.iter().enumerate() {
            movies.push(MovieId::new(*raw).map_err(|e| ApiError::invalid_field(format!("movie_ids[{i}]"), e))?);
        }
        self.state.lists.reorder(&auth.0.ctx(), parse_list_id(&list_id.0)?, &movies).await?;
        Ok(Done::NoContent)
    }

    /// A list shared by link or in public (or the caller's own); a private
    /// list of someone else is a 404.
    #[oai(path = "/lists/:list_id", method = "get", operation_id = "shared_list")]
    async fn shared(&self, auth: MaybeAuth, list_id: Path<UuidParam>) -> Result<Json<ListDto>, ApiError> {
        Ok(Json(self.state.lists.get(&auth.ctx(), parse_list_id(&list_id.0)?).await?.into()))
    }

    /// The items of a list shared by link or in public, by rank.
    #[oai(path = "/lists/:list_id/items", method = "get", operation_id = "shared_list_items")]
    async fn shared_items(
        &self,
        auth: MaybeAuth,
        list_id: Path<UuidParam>,
        /// Page number, from 1 (default 1).
        page: Query<Option<PageNo>>,
        /// Items per page, from 1 (default 20); above 100 is clamped to 100.
        per_page: Query<Option<PerPage>>,
    ) -> Result<PageResponse<ListItemDto>, ApiError> {
        let req = page_request(page.0, per_page.0)?;
        let p = self.state.lists.items(&auth.ctx(), parse_list_id(&list_id.0)?, req).await?;
        Ok(PageResponse::from_page(p, Into::into, None))
    }
}
