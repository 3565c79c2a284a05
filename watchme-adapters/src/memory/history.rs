//! `HistoryRepo` in memory: plays and activity times under the store's one
//! lock, with the outbox, like every other write of the memory store.

use std::collections::HashSet;

use async_trait::async_trait;
use watchme_core::domain::{
    first_play_entry, Activity, ActivityKind, EventMeta, HistoryFilter, MovieId, NewPlay, Page, PageRequest, Play,
    PlayId, PlaysAdded, UserId,
};
use watchme_core::error::StorageError;
use watchme_core::ports::HistoryRepo;

use super::store::MemoryStore;

#[async_trait]
impl HistoryRepo for MemoryStore {
    async fn add_plays(&self, user: UserId, plays: &[NewPlay], meta: &EventMeta) -> Result<PlaysAdded, StorageError> {
        let mut guard = self.lock()?;
        let s = &mut *guard;
        let stored = s.plays.entry(user).or_default();
        let had: HashSet<MovieId> = stored.iter().map(|p| p.movie.id).collect();
        let mut out = PlaysAdded::default();
        let mut events = Vec::new();
        for new in plays {
            if let Some(same) = stored.iter().find(|p| p.same_as(new.movie.id, new.watched_at)) {
                out.existing.push(same.clone());
                continue;
            }
            let play = Play::new(user, new);
            events.push(play.recorded(meta));
            stored.push(play.clone());
            out.added.push(play);
        }
        // The movies played for the first time: those of added plays that had none before.
        let mut seen = HashSet::new();
        let mut status_changed = false;
        for play in out.added.iter().filter(|p| !had.contains(&p.movie.id) && seen.insert(p.movie.id)) {
            let before = s.entries.get(&(user, play.movie.id));
            if let Some(change) = first_play_entry(before, user, &play.movie, meta.occurred_at) {
                events.extend(change.events(meta));
                if let Some(after) = change.after {
                    s.entries.insert((user, play.movie.id), after);
                }
                status_changed = true;
            }
        }
        if !out.added.is_empty() {
            s.touch(user, ActivityKind::History, meta.occurred_at);
        }
        if status_changed {
            s.touch(user, ActivityKind::Library, meta.occurred_at);
        }
        s.push_events(&events);
        Ok(out)
    }

    async fn plays(&self, user: UserId, filter: HistoryFilter, page: PageRequest) -> Result<Page<Play>, StorageError> {
        let s = self.lock()?;
        let mut list: Vec<Play> =
            s.plays.get(&user).map_or(&[][..], Vec::as_slice).iter().filter(|p| filter.admits(p)).cloned().collect();
        list.sort_by(|a, b| b.watched_at.cmp(&a.watched_at).then(b.id.cmp(&a.id)));
        Ok(page.slice(&list))
    }

    async fn remove_play(&self, user: UserId, id: PlayId, meta: &EventMeta) -> Result<Option<Play>, StorageError> {
        let mut guard = self.lock()?;
        let s = &mut *guard;
        let Some(list) = s.plays.get_mut(&user) else { return Ok(None) };
        let Some(at) = list.iter().position(|p| p.id == id) else { return Ok(None) };
        let play = list.remove(at);
        s.touch(user, ActivityKind::History, meta.occurred_at);
        s.push_events(&[play.removed(meta)]);
        Ok(Some(play))
    }

    async fn remove_plays_of(&self, user: UserId, movie: MovieId, meta: &EventMeta) -> Result<Vec<Play>, StorageError> {
        let mut guard = self.lock()?;
        let s = &mut *guard;
        let Some(list) = s.plays.get_mut(&user) else { return Ok(Vec::new()) };
        let (gone, kept): (Vec<Play>, Vec<Play>) = std::mem::take(list).into_iter().partition(|p| p.movie.id == movie);
        *list = kept;
        if !gone.is_empty() {
            s.touch(user, ActivityKind::History, meta.occurred_at);
            let events: Vec<_> = gone.iter().map(|p| p.removed(meta)).collect();
            s.push_events(&events);
        }
        Ok(gone)
    }

    async fn activity(&self, user: UserId) -> Result<Activity, StorageError> {
        Ok(self.lock()?.activity.get(&user).cloned().unwrap_or_default())
    }
}
