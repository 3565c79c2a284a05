//! Users' own lists: made, renamed, shared and deleted by their owner, with
//! ranked items; readable by anyone when shared. Tests:
//! `watchme-adapters/tests/services_lists.rs`.

use std::sync::Arc;

use crate::domain::{
    list_text, EventMeta, ListId, ListItem, ListName, ListPatch, ListPrivacy, ListTextError, MovieCard, MovieId, Page,
    PageRequest, RequestContext, UserId, UserList,
};
use crate::error::{Cause, ListRepoError, StorageError};
use crate::ports::{Clock, ListRepo};

use super::{MovieError, MovieService};

/// How many lists a user may have and how many movies a list may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Lists per user.
    pub lists_per_user: u64,
    /// Movies per list.
    pub items_per_list: u64,
}

impl Default for ListLimits {
    fn default() -> Self {
        Self { lists_per_user: 100, items_per_list: 5000 }
    }
}

/// Why a list use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ListError {
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// No such list, or not one the caller may see (a private list of
    /// someone else is not found, not forbidden: its existence is private too).
    #[error("list not found")]
    NotFound,
    /// The movie does not exist.
    #[error("movie not found")]
    MovieNotFound,
    /// A name, description or note is refused.
    #[error("{field}: {error}")]
    InvalidText {
        /// Which field.
        field: &'static str,
        /// Why.
        error: ListTextError,
    },
    /// A limit would be passed.
    #[error("{what}: the limit is {limit}")]
    LimitReached {
        /// Which limit.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A reorder named movies that are not on the list.
    #[error("{} movie(s) are not on the list", .0.len())]
    NotOnList(Vec<MovieId>),
    /// The movie could not be looked up.
    #[error("movie source unavailable")]
    MovieSourceUnavailable(#[source] Cause),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<MovieError> for ListError {
    fn from(e: MovieError) -> Self {
        match e {
            MovieError::NotFound => Self::MovieNotFound,
            MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c) => {
                Self::MovieSourceUnavailable(c)
            }
        }
    }
}

/// A new list's fields, as the edge parsed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewList {
    /// Its name.
    pub name: String,
    /// What it is about.
    pub description: Option<String>,
    /// Who may read it.
    pub privacy: ListPrivacy,
}

/// Lists and their items.
pub struct ListService {
    repo: Arc<dyn ListRepo>,
    movies: Arc<MovieService>,
    clock: Arc<dyn Clock>,
    limits: ListLimits,
}

fn text(field: &'static str, raw: Option<String>) -> Result<Option<String>, ListError> {
    raw.map(|t| list_text(&t)).transpose().map_err(|error| ListError::InvalidText { field, error })
}

impl ListService {
    /// Builds the service.
    pub fn new(repo: Arc<dyn ListRepo>, movies: Arc<MovieService>, clock: Arc<dyn Clock>, limits: ListLimits) -> Self {
        Self { repo, movies, clock, limits }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> ListLimits {
        self.limits
    }

    fn user(ctx: &RequestContext) -> Result<UserId, ListError> {
        ctx.user_id.ok_or(ListError::Unauthenticated)
    }

    fn meta(&self, ctx: &RequestContext) -> EventMeta {
        EventMeta { actor: ctx.user_id, trace: ctx.trace.clone(), occurred_at: self.clock.now() }
    }

    fn repo_error(&self, e: ListRepoError, what: &'static str) -> ListError {
        match e {
            ListRepoError::NotFound => ListError::NotFound,
            ListRepoError::LimitReached { limit } => ListError::LimitReached { what, limit },
            ListRepoError::NotOnList(m) => ListError::NotOnList(m),
            ListRepoError::Storage(s) => ListError::Storage(s),
        }
    }

    /// Makes a list for the caller.
    ///
    /// # Errors
    /// [`ListError`]: not logged in, bad text, the lists-per-user limit, a failure.
    pub async fn create(&self, ctx: &RequestContext, new: NewList) -> Result<UserList, ListError> {
        let user = Self::user(ctx)?;
        let name = ListName::parse(&new.name).map_err(|error| ListError::InvalidText { field: "name", error })?;
        let description = text("description", new.description)?;
        let meta = self.meta(ctx);
        let list = UserList {
            id: ListId::new(),
            user_id: user,
            slug: name.slug(),
            name,
            description,
            privacy: new.privacy,
            created_at: meta.occurred_at,
            updated_at: meta.occurred_at,
            item_count: 0,
        };
        let limit = self.limits.lists_per_user;
        self.repo.create_list(&list, limit, &meta).await.map_err(|e| self.repo_error(e, "lists per user"))
    }

    /// The caller's lists, most recently updated first.
    ///
    /// # Errors
    /// [`ListError::Unauthenticated`], or the store failing.
    pub async fn mine(&self, ctx: &RequestContext) -> Result<Vec<UserList>, ListError> {
        Ok(self.repo.lists_of(Self::user(ctx)?).await?)
    }

    /// A list the caller may read: their own, or anyone's shared one.
    ///
    /// # Errors
    /// [`ListError::NotFound`] for an unknown list or someone else's private one.
    pub async fn get(&self, ctx: &RequestContext, id: ListId) -> Result<UserList, ListError> {
        let list = self.repo.find_list(id).await?.ok_or(ListError::NotFound)?;
        if list.readable_by(ctx.user_id) {
            Ok(list)
        } else {
            Err(ListError::NotFound)
        }
    }

    /// One of the caller's own lists (even a shared one is only changed by its owner).
    async fn own(&self, ctx: &RequestContext, id: ListId) -> Result<(UserId, UserList), ListError> {
        let user = Self::user(ctx)?;
        let list = self.repo.find_list(id).await?.filter(|l| l.user_id == user).ok_or(ListError::NotFound)?;
        Ok((user, list))
    }

    /// The items of a list the caller may read, by rank.
    ///
    /// # Errors
    /// As [`ListService::get`].
    pub async fn items(
        &self,
        ctx: &RequestContext,
        id: ListId,
        page: PageRequest,
    ) -> Result<Page<ListItem>, ListError> {
        self.get(ctx, id).await?;
        Ok(self.repo.items(id, page).await?)
    }

    /// Changes one of the caller's lists.
    ///
    /// # Errors
    /// [`ListError`]: not logged in, not the caller's list, bad text, a failure.
    pub async fn update(
        &self,
        ctx: &RequestContext,
        id: ListId,
        name: Option<String>,
        description: Option<Option<String>>,
        privacy: Option<ListPrivacy>,
    ) -> Result<UserList, ListError> {
        let user = Self::user(ctx)?;
        let name = name
            .map(|n| ListName::parse(&n))
            .transpose()
            .map_err(|error| ListError::InvalidText { field: "name", error })?;
        let description = description.map(|d| text("description", d)).transpose()?;
        let patch = ListPatch { name, description, privacy };
        self.repo.update_list(user, id, &patch, &self.meta(ctx)).await.map_err(|e| self.repo_error(e, "lists"))
    }

    /// Deletes one of the caller's lists.
    ///
    /// # Errors
    /// [`ListError::NotFound`] when it is not the caller's.
    pub async fn delete(&self, ctx: &RequestContext, id: ListId) -> Result<(), ListError> {
        let user = Self::user(ctx)?;
        if self.repo.delete_list(user, id, &self.meta(ctx)).await? {
            Ok(())
        } else {
            Err(ListError::NotFound)
        }
    }

    /// Puts a movie on one of the caller's lists (or changes its note).
    /// Returns the item and whether it was added.
    ///
    /// # Errors
    /// [`ListError`]: not the caller's list, an unknown movie, a long note,
    /// the items-per-list limit, a failure.
    pub async fn put_item(
        &self,
        ctx: &RequestContext,
        id: ListId,
        movie: MovieId,
        notes: Option<String>,
    ) -> Result<(ListItem, bool), ListError> {
        let notes = text("notes", notes)?;
        let (user, _) = self.own(ctx, id).await?;
        let card = MovieCard::from(self.movies.details_shared(movie).await?.value.as_ref());
        let limit = self.limits.items_per_list;
        let meta = self.meta(ctx);
        self.repo.put_item(user, id, &card, notes, limit, &meta).await.map_err(|e| self.repo_error(e, "items per list"))
    }

    /// Takes a movie off one of the caller's lists; whether it was there.
    ///
    /// # Errors
    /// [`ListError::NotFound`] when the list is not the caller's.
    pub async fn remove_item(&self, ctx: &RequestContext, id: ListId, movie: MovieId) -> Result<bool, ListError> {
        let user = Self::user(ctx)?;
        self.repo.remove_item(user, id, movie, &self.meta(ctx)).await.map_err(|e| self.repo_error(e, "items"))
    }

    /// Ranks `movies` first, in that order, then the rest as they were.
    ///
    /// # Errors
    /// [`ListError::NotOnList`] naming movies that are not on it, and
    /// [`ListError::NotFound`] when the list is not the caller's.
    pub async fn reorder(&self, ctx: &RequestContext, id: ListId, movies: &[MovieId]) -> Result<(), ListError> {
        let user = Self::user(ctx)?;
        self.repo.reorder(user, id, movies, &self.meta(ctx)).await.map_err(|e| self.repo_error(e, "items"))
    }
}
