//! The list port: users' own lists and their ranked items. Adapters:
//! memory and SQL; contract in `watchme_adapters::contract::lists`.

use async_trait::async_trait;

use crate::domain::{EventMeta, ListId, ListItem, ListPatch, MovieCard, MovieId, Page, PageRequest, UserId, UserList};
use crate::error::{ListRepoError, StorageError};

/// Stores users' lists. Every write appends a `list_changed` event, moves
/// the list's `updated_at` and the owner's `lists` activity to
/// `meta.occurred_at`, in one atomic step with the change.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ListRepo: Send + Sync + 'static {
    /// Stores a new list with the first free slug of `list.slug`, `-2`,
    /// `-3` ... among its owner's lists; returns it as stored.
    ///
    /// # Errors
    /// [`ListRepoError::LimitReached`] when the owner has `max_lists` already.
    async fn create_list(&self, list: &UserList, max_lists: u64, meta: &EventMeta) -> Result<UserList, ListRepoError>;

    /// The user's lists, most recently updated first.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn lists_of(&self, user: UserId) -> Result<Vec<UserList>, StorageError>;

    /// A list by id, whoever owns it.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn find_list(&self, id: ListId) -> Result<Option<UserList>, StorageError>;

    /// Applies `patch` to one of the user's lists (a new name gives a new
    /// free slug); returns the list after.
    ///
    /// # Errors
    /// [`ListRepoError::NotFound`] for a list that is not the user's.
    async fn update_list(
        &self,
        user: UserId,
        id: ListId,
        patch: &ListPatch,
        meta: &EventMeta,
    ) -> Result<UserList, ListRepoError>;

    /// Deletes one of the user's lists with its items; whether it did.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn delete_list(&self, user: UserId, id: ListId, meta: &EventMeta) -> Result<bool, StorageError>;

    /// Puts a movie on one of the user's lists with `notes` (replacing a
    /// movie's notes when it is there already, keeping its rank; a new one
    /// goes last). Returns the item and whether it was added.
    ///
    /// # Errors
    /// [`ListRepoError::NotFound`] for a list that is not the user's;
    /// [`ListRepoError::LimitReached`] when adding would pass `max_items`.
    async fn put_item(
        &self,
        user: UserId,
        id: ListId,
        movie: &MovieCard,
        notes: Option<String>,
        max_items: u64,
        meta: &EventMeta,
    ) -> Result<(ListItem, bool), ListRepoError>;

    /// Takes a movie off one of the user's lists; whether it was there.
    ///
    /// # Errors
    /// [`ListRepoError::NotFound`] for a list that is not the user's.
    async fn remove_item(
        &self,
        user: UserId,
        id: ListId,
        movie: MovieId,
        meta: &EventMeta,
    ) -> Result<bool, ListRepoError>;

    /// A list's items by rank.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn items(&self, id: ListId, page: PageRequest) -> Result<Page<ListItem>, StorageError>;

    /// Ranks `movies` first, in that order, then the list's other items in
    /// their order; ranks become 1..n.
    ///
    /// # Errors
    /// [`ListRepoError::NotFound`] for a list that is not the user's;
    /// [`ListRepoError::NotOnList`] naming movies that are not on it
    /// (nothing changes then).
    async fn reorder(
        &self,
        user: UserId,
        id: ListId,
        movies: &[MovieId],
        meta: &EventMeta,
    ) -> Result<(), ListRepoError>;
}
