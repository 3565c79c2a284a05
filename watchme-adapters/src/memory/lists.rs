//! `ListRepo` in memory, under the store's one lock with the outbox and
//! the activity times.

use async_trait::async_trait;
use watchme_core::domain::{
    free_slug, ActivityKind, EventEnvelope, EventMeta, EventPayload, ListChange, ListId, ListItem, ListPatch,
    MovieCard, MovieId, Page, PageRequest, UserId, UserList,
};
use watchme_core::error::{ListRepoError, StorageError};
use watchme_core::ports::ListRepo;

use super::store::{MemoryStore, State};

/// A list and its items, by rank.
pub(super) type StoredList = (UserList, Vec<ListItem>);

impl State {
    /// Records a change of a user's list: its event, its time, their activity.
    fn list_changed(&mut self, list: ListId, change: ListChange, movie: Option<MovieId>, meta: &EventMeta) {
        let Some((l, items)) = self.lists.get_mut(&list) else { return };
        l.updated_at = meta.occurred_at;
        l.item_count = items.len() as u64;
        let user = l.user_id;
        let payload = EventPayload::ListChanged { user_id: user, list_id: list, change, movie_id: movie };
        self.touch(user, ActivityKind::Lists, meta.occurred_at);
        self.push_events(&[EventEnvelope::new(payload, meta)]);
    }

    fn slugs_of(&self, user: UserId, except: Option<ListId>) -> Vec<String> {
        self.lists
            .values()
            .filter(|(l, _)| l.user_id == user && Some(l.id) != except)
            .map(|(l, _)| l.slug.clone())
            .collect()
    }

    fn own_list(&mut self, user: UserId, id: ListId) -> Result<&mut StoredList, ListRepoError> {
        self.lists.get_mut(&id).filter(|(l, _)| l.user_id == user).ok_or(ListRepoError::NotFound)
    }
}

fn rerank(items: &mut [ListItem]) {
    for (i, item) in items.iter_mut().enumerate() {
        item.rank = i as u32 + 1;
    }
}

#[async_trait]
impl ListRepo for MemoryStore {
    async fn create_list(&self, list: &UserList, max_lists: u64, meta: &EventMeta) -> Result<UserList, ListRepoError> {
        let mut s = self.lock()?;
        let taken = s.slugs_of(list.user_id, None);
        if taken.len() as u64 >= max_lists {
            return Err(ListRepoError::LimitReached { limit: max_lists });
        }
        let stored = UserList { slug: free_slug(&list.slug, &taken), item_count: 0, ..list.clone() };
        s.lists.insert(list.id, (stored, Vec::new()));
        s.list_changed(list.id, ListChange::Created, None, meta);
        Ok(s.lists[&list.id].0.clone())
    }

    async fn lists_of(&self, user: UserId) -> Result<Vec<UserList>, StorageError> {
        let s = self.lock()?;
        let mut lists: Vec<UserList> =
            s.lists.values().map(|(l, _)| l).filter(|l| l.user_id == user).cloned().collect();
        lists.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
        Ok(lists)
    }

    async fn find_list(&self, id: ListId) -> Result<Option<UserList>, StorageError> {
        Ok(self.lock()?.lists.get(&id).map(|(l, _)| l.clone()))
    }

    async fn update_list(
        &self,
        user: UserId,
        id: ListId,
        patch: &ListPatch,
        meta: &EventMeta,
    ) -> Result<UserList, ListRepoError> {
        let mut s = self.lock()?;
        let taken = s.slugs_of(user, Some(id));
        let (list, _) = s.own_list(user, id)?;
        if let Some(name) = &patch.name {
            list.slug = free_slug(&name.slug(), &taken);
            list.name = name.clone();
        }
        if let Some(description) = &patch.description {
            list.description.clone_from(description);
        }
        if let Some(privacy) = patch.privacy {
            list.privacy = privacy;
        }
        s.list_changed(id, ListChange::Updated, None, meta);
        Ok(s.lists[&id].0.clone())
    }

    async fn delete_list(&self, user: UserId, id: ListId, meta: &EventMeta) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        if s.own_list(user, id).is_err() {
            return Ok(false);
        }
        s.list_changed(id, ListChange::Deleted, None, meta);
        s.lists.remove(&id);
        Ok(true)
    }

    async fn put_item(
        &self,
        user: UserId,
        id: ListId,
        movie: &MovieCard,
        notes: Option<String>,
        max_items: u64,
        meta: &EventMeta,
    ) -> Result<(ListItem, bool), ListRepoError> {
        let mut s = self.lock()?;
        let (_, items) = s.own_list(user, id)?;
        let count = items.len() as u64;
        let (item, added) = match items.iter_mut().find(|i| i.movie.id == movie.id) {
            Some(item) => {
                item.notes = notes;
                (item.clone(), false)
            }
            None if count >= max_items => return Err(ListRepoError::LimitReached { limit: max_items }),
            None => {
                let rank = items.len() as u32 + 1;
                let item = ListItem { movie: movie.clone(), rank, notes, added_at: meta.occurred_at };
                items.push(item.clone());
                (item, true)
            }
        };
        let change = if added { ListChange::ItemAdded } else { ListChange::ItemUpdated };
        s.list_changed(id, change, Some(movie.id), meta);
        Ok((item, added))
    }

    async fn remove_item(
        &self,
        user: UserId,
        id: ListId,
        movie: MovieId,
        meta: &EventMeta,
    ) -> Result<bool, ListRepoError> {
        let mut s = self.lock()?;
        let (_, items) = s.own_list(user, id)?;
        let before = items.len();
        items.retain(|i| i.movie.id != movie);
        if items.len() == before {
            return Ok(false);
        }
        rerank(items);
        s.list_changed(id, ListChange::ItemRemoved, Some(movie), meta);
        Ok(true)
    }

    async fn items(&self, id: ListId, page: PageRequest) -> Result<Page<ListItem>, StorageError> {
        let s = self.lock()?;
        Ok(page.slice(s.lists.get(&id).map_or(&[][..], |(_, items)| items.as_slice())))
    }

    async fn reorder(
        &self,
        user: UserId,
        id: ListId,
        movies: &[MovieId],
        meta: &EventMeta,
    ) -> Result<(), ListRepoError> {
        let mut s = self.lock()?;
        let (_, items) = s.own_list(user, id)?;
        let missing: Vec<MovieId> =
            movies.iter().filter(|m| !items.iter().any(|i| i.movie.id == **m)).copied().collect();
        if !missing.is_empty() {
            return Err(ListRepoError::NotOnList(missing));
        }
        let position = |m: MovieId| movies.iter().position(|x| *x == m).unwrap_or(usize::MAX);
        // Stable: the movies not named keep their order, after the named ones.
        items.sort_by_key(|i| position(i.movie.id));
        rerank(items);
        s.list_changed(id, ListChange::Reordered, None, meta);
        Ok(())
    }
}
