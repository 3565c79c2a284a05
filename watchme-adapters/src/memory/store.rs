//! Users, library and outbox in one in-memory store, so a state change and
//! its events are written under one lock: the in-memory transactional outbox.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;
use watchme_core::domain::{
    Activity, ActivityKind, ApiToken, ApiTokenHash, Email, EventEnvelope, EventMeta, Favorite, LibraryChange,
    LibraryEntry, LibraryUpdate, ListId, MovieId, MovieRef, Page, PageRequest, PasswordHash, Play, RefreshTokenHash,
    Session, SessionId, User, UserId, View, WatchStatus,
};
use watchme_core::error::{cause_msg, StorageError, UserRepoError};
use watchme_core::ports::{LibraryRepo, Outbox, OutboxRecord, OutboxStats, Rotation, SessionRepo, UserRepo};

struct OutboxRow {
    // Shared, so a claim copies the events after letting go of the lock.
    event: Arc<EventEnvelope>,
    attempts: u32,
    leased_until: Option<Instant>,
    published_at: Option<OffsetDateTime>,
}

/// The outbox rows in id order. Ids are consecutive, so a row is found by
/// its offset from the first one: appending, claiming and marking are a
/// push and index lookups, where a map and a set of unpublished ids (two
/// tree inserts per event) showed in the cache-hit profile.
#[derive(Default)]
struct OutboxRows {
    rows: VecDeque<OutboxRow>,
    // Id of `rows[0]`, minus one (ids start at 1).
    before_first: i64,
    // Offset of the first row that may be unpublished: every row before it
    // is published, so claims start here instead of walking kept rows.
    unpublished_from: usize,
    unpublished: usize,
}

impl OutboxRows {
    fn push(&mut self, event: Arc<EventEnvelope>) {
        self.rows.push_back(OutboxRow { event, attempts: 0, leased_until: None, published_at: None });
        self.unpublished += 1;
    }

    fn offset(&self, id: i64) -> Option<usize> {
        usize::try_from(id - self.before_first - 1).ok().filter(|&i| i < self.rows.len())
    }

    fn row_mut(&mut self, id: i64) -> Option<&mut OutboxRow> {
        self.offset(id).and_then(|i| self.rows.get_mut(i))
    }

    fn id_at(&self, offset: usize) -> i64 {
        self.before_first + 1 + offset as i64
    }

    fn skip_published(&mut self) {
        while self.rows.get(self.unpublished_from).is_some_and(|r| r.published_at.is_some()) {
            self.unpublished_from += 1;
        }
    }
}

#[derive(Default)]
pub(super) struct State {
    users: HashMap<UserId, User>,
    by_email: HashMap<Email, UserId>,
    // Per user, in insertion order; listed newest first.
    views: HashMap<UserId, Vec<View>>,
    favorites: HashMap<UserId, Vec<Favorite>>,
    pub(super) entries: HashMap<(UserId, MovieId), LibraryEntry>,
    outbox: OutboxRows,
    sessions: HashMap<SessionId, Session>,
    // Every refresh token hash a session ever had -> (session, rotated away?).
    refresh_tokens: HashMap<RefreshTokenHash, (SessionId, bool)>,
    // Per user, in insertion order (memory/history.rs).
    pub(super) plays: HashMap<UserId, Vec<Play>>,
    pub(super) activity: HashMap<UserId, Activity>,
    // Personal API tokens with their secrets' hashes (memory/tokens.rs).
    pub(super) api_tokens: Vec<(ApiTokenHash, ApiToken)>,
    // Users' lists with their items by rank (memory/lists.rs).
    pub(super) lists: HashMap<ListId, super::lists::StoredList>,
    // Playbacks by user and movie (memory/playback.rs).
    pub(super) playbacks: HashMap<(UserId, MovieId), watchme_core::domain::Playback>,
    // OAuth device grants (memory/playback.rs).
    pub(super) device_grants: Vec<watchme_core::domain::DeviceGrant>,
    // Import jobs (memory/playback.rs).
    pub(super) import_jobs: Vec<watchme_core::domain::ImportJob>,
    // Webhooks with their secrets' hashes and whether revoked (memory/playback.rs).
    pub(super) webhooks: Vec<(String, watchme_core::domain::Webhook, bool)>,
}

impl State {
    /// Moves `user`'s `kind` activity to `at` (never back).
    pub(super) fn touch(&mut self, user: UserId, kind: ActivityKind, at: OffsetDateTime) {
        self.activity.entry(user).or_default().touch(kind, at);
    }

    pub(super) fn push_events(&mut self, events: &[EventEnvelope]) {
        for e in events {
            self.outbox.push(Arc::new(e.clone()));
        }
    }
}

/// Users, view history, favorites, library entries and the outbox, in memory.
/// Clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    // Lets tests simulate a database outage: every call fails with
    // `StorageError::Unavailable` while it is set.
    down: Arc<AtomicBool>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates an outage (`false`) or a recovery (`true`), for tests of
    /// how callers behave when storage is down.
    pub fn set_available(&self, available: bool) {
        self.down.store(!available, Ordering::SeqCst);
    }

    pub(super) fn lock(&self) -> Result<MutexGuard<'_, State>, StorageError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable(cause_msg("memory store marked unavailable")));
        }
        // A panic while holding the lock cannot leave half a write: every
        // write below finishes its edits before anything can panic.
        Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn newest_first<T: Clone>(items: &[T], page: PageRequest) -> Page<T> {
    let rev: Vec<T> = items.iter().rev().cloned().collect();
    page.slice(&rev)
}

#[async_trait]
impl UserRepo for MemoryStore {
    async fn create(&self, user: &User, events: &[EventEnvelope]) -> Result<(), UserRepoError> {
        let mut s = self.lock()?;
        if s.by_email.contains_key(&user.email) {
            return Err(UserRepoError::EmailTaken);
        }
        s.by_email.insert(user.email.clone(), user.id);
        s.users.insert(user.id, user.clone());
        s.push_events(events);
        Ok(())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StorageError> {
        let s = self.lock()?;
        Ok(s.by_email.get(email).and_then(|id| s.users.get(id)).cloned())
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        Ok(self.lock()?.users.get(&id).cloned())
    }

    async fn record_login(
        &self,
        id: UserId,
        at: OffsetDateTime,
        events: &[EventEnvelope],
    ) -> Result<(), UserRepoError> {
        let mut s = self.lock()?;
        let user = s.users.get_mut(&id).ok_or(UserRepoError::NotFound)?;
        user.last_login_at = Some(at);
        s.push_events(events);
        Ok(())
    }

    async fn update_password_hash(&self, id: UserId, hash: &PasswordHash) -> Result<(), UserRepoError> {
        let mut s = self.lock()?;
        let user = s.users.get_mut(&id).ok_or(UserRepoError::NotFound)?;
        user.password_hash = hash.clone();
        Ok(())
    }
}

#[async_trait]
impl SessionRepo for MemoryStore {
    async fn create_session(&self, session: &Session, refresh: &RefreshTokenHash) -> Result<(), StorageError> {
        let mut s = self.lock()?;
        s.sessions.insert(session.id, session.clone());
        s.refresh_tokens.insert(refresh.clone(), (session.id, false));
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Rotation, StorageError> {
        let mut s = self.lock()?;
        let Some(&(id, rotated)) = s.refresh_tokens.get(presented) else { return Ok(Rotation::Unknown) };
        let Some(session) = s.sessions.get(&id).cloned() else { return Ok(Rotation::Unknown) };
        if rotated {
            return Ok(Rotation::Reused(session));
        }
        if !session.is_active(now) {
            return Ok(Rotation::Inactive(session));
        }
        s.refresh_tokens.insert(presented.clone(), (id, true));
        s.refresh_tokens.insert(next.clone(), (id, false));
        let stored = s.sessions.get_mut(&id).ok_or_else(|| StorageError::Internal(cause_msg("session vanished")))?;
        stored.last_used_at = now;
        stored.expires_at = expires_at;
        Ok(Rotation::Rotated(stored.clone()))
    }

    async fn find_session(&self, id: SessionId) -> Result<Option<Session>, StorageError> {
        Ok(self.lock()?.sessions.get(&id).cloned())
    }

    async fn active_sessions(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StorageError> {
        let s = self.lock()?;
        let mut out: Vec<Session> =
            s.sessions.values().filter(|x| x.user_id == user && x.is_active(now)).cloned().collect();
        out.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        Ok(match s.sessions.get_mut(&id) {
            Some(x) if x.revoked_at.is_none() => {
                x.revoked_at = Some(now);
                true
            }
            _ => false,
        })
    }

    async fn prune_sessions(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let mut s = self.lock()?;
        let gone: BTreeSet<SessionId> = s
            .sessions
            .values()
            .filter(|x| x.expires_at < before || x.revoked_at.is_some_and(|r| r < before))
            .map(|x| x.id)
            .collect();
        s.sessions.retain(|id, _| !gone.contains(id));
        s.refresh_tokens.retain(|_, (id, _)| !gone.contains(id));
        Ok(gone.len() as u64)
    }
}

#[async_trait]
impl LibraryRepo for MemoryStore {
    async fn record_views(&self, views: &[View], events: &[EventEnvelope]) -> Result<(), StorageError> {
        let mut s = self.lock()?;
        for view in views {
            s.views.entry(view.user_id).or_default().push(view.clone());
            s.touch(view.user_id, ActivityKind::Views, view.viewed_at);
        }
        s.push_events(events);
        Ok(())
    }

    async fn views(&self, user: UserId, page: PageRequest) -> Result<Page<View>, StorageError> {
        let s = self.lock()?;
        Ok(newest_first(s.views.get(&user).map_or(&[][..], Vec::as_slice), page))
    }

    async fn add_favorite(&self, favorite: &Favorite, event: &EventEnvelope) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        let list = s.favorites.entry(favorite.user_id).or_default();
        if list.iter().any(|f| f.movie.id == favorite.movie.id) {
            return Ok(false);
        }
        list.push(favorite.clone());
        s.touch(favorite.user_id, ActivityKind::Favorites, favorite.added_at);
        s.push_events(std::slice::from_ref(event));
        Ok(true)
    }

    async fn remove_favorite(&self, user: UserId, movie: MovieId, event: &EventEnvelope) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        let list = s.favorites.entry(user).or_default();
        let before = list.len();
        list.retain(|f| f.movie.id != movie);
        let removed = list.len() < before;
        if removed {
            s.touch(user, ActivityKind::Favorites, event.occurred_at);
            s.push_events(std::slice::from_ref(event));
        }
        Ok(removed)
    }

    async fn favorites(&self, user: UserId, page: PageRequest) -> Result<Page<Favorite>, StorageError> {
        let s = self.lock()?;
        Ok(newest_first(s.favorites.get(&user).map_or(&[][..], Vec::as_slice), page))
    }

    async fn upsert_entry(
        &self,
        user: UserId,
        movie: &MovieRef,
        update: LibraryUpdate,
        meta: &EventMeta,
    ) -> Result<LibraryChange, StorageError> {
        let mut s = self.lock()?;
        let before = s.entries.get(&(user, movie.id)).cloned();
        let after = update.apply(before.as_ref(), user, movie, meta.occurred_at);
        s.entries.insert((user, movie.id), after.clone());
        let change = LibraryChange { before, after: Some(after) };
        for kind in change.activity() {
            s.touch(user, kind, meta.occurred_at);
        }
        s.push_events(&change.events(meta));
        Ok(change)
    }

    async fn remove_entry(
        &self,
        user: UserId,
        movie: MovieId,
        meta: &EventMeta,
    ) -> Result<LibraryChange, StorageError> {
        let mut s = self.lock()?;
        let change = LibraryChange { before: s.entries.remove(&(user, movie)), after: None };
        for kind in change.activity() {
            s.touch(user, kind, meta.occurred_at);
        }
        s.push_events(&change.events(meta));
        Ok(change)
    }

    async fn entry(&self, user: UserId, movie: MovieId) -> Result<Option<LibraryEntry>, StorageError> {
        Ok(self.lock()?.entries.get(&(user, movie)).cloned())
    }

    async fn entries(
        &self,
        user: UserId,
        status: Option<WatchStatus>,
        page: PageRequest,
    ) -> Result<Page<LibraryEntry>, StorageError> {
        let s = self.lock()?;
        let mut list: Vec<LibraryEntry> = s
            .entries
            .values()
            .filter(|e| e.user_id == user && (status.is_none() || e.status == status))
            .cloned()
            .collect();
        list.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.movie.id.cmp(&b.movie.id)));
        Ok(page.slice(&list))
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StorageError> {
        self.append_owned(events.to_vec()).await
    }

    async fn append_owned(&self, events: Vec<EventEnvelope>) -> Result<(), StorageError> {
        // Wrapped before taking the lock every request and the relay share.
        let shared: Vec<_> = events.into_iter().map(Arc::new).collect();
        let mut s = self.lock()?;
        for event in shared {
            s.outbox.push(event);
        }
        Ok(())
    }

    async fn claim(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxRecord>, StorageError> {
        let mut claimed = Vec::new();
        {
            let mut guard = self.lock()?;
            let o = &mut guard.outbox;
            let now = Instant::now();
            let mut at = o.unpublished_from;
            while claimed.len() < limit as usize && at < o.rows.len() {
                let id = o.id_at(at);
                let row = &mut o.rows[at];
                at += 1;
                if row.published_at.is_some() || row.leased_until.is_some_and(|t| t > now) {
                    continue;
                }
                claimed.push((id, row.event.clone(), row.attempts));
                row.attempts += 1;
                row.leased_until = Some(now + lease);
            }
        }
        Ok(claimed
            .into_iter()
            .map(|(id, event, attempts)| OutboxRecord { id, event: (*event).clone(), attempts })
            .collect())
    }

    async fn mark_published(&self, ids: &[i64]) -> Result<(), StorageError> {
        let mut s = self.lock()?;
        let o = &mut s.outbox;
        let now = OffsetDateTime::now_utc();
        for &id in ids {
            if let Some(row) = o.row_mut(id) {
                row.leased_until = None;
                if row.published_at.is_none() {
                    row.published_at = Some(now);
                    o.unpublished -= 1;
                }
            }
        }
        o.skip_published();
        Ok(())
    }

    async fn release(&self, ids: &[i64]) -> Result<(), StorageError> {
        let mut s = self.lock()?;
        for &id in ids {
            if let Some(row) = s.outbox.row_mut(id) {
                row.leased_until = None;
            }
        }
        Ok(())
    }

    async fn prune_published(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        // From the oldest row on, up to the first that must stay: a walk of
        // every row under the store's lock, once a second with a short
        // retention, held up the requests appending events. Rows are
        // published in order, so what stays behind is only kept a little
        // longer, until the row before it is published.
        let mut s = self.lock()?;
        let o = &mut s.outbox;
        let mut pruned = 0;
        while o.rows.front().is_some_and(|r| r.published_at.is_some_and(|t| t < before)) {
            o.rows.pop_front();
            o.before_first += 1;
            o.unpublished_from = o.unpublished_from.saturating_sub(1);
            pruned += 1;
        }
        Ok(pruned)
    }

    async fn stats(&self) -> Result<OutboxStats, StorageError> {
        let s = self.lock()?;
        let o = &s.outbox;
        let oldest =
            o.rows.range(o.unpublished_from..).filter(|r| r.published_at.is_none()).map(|r| r.event.occurred_at).min();
        Ok(OutboxStats { unpublished: o.unpublished as u64, oldest_unpublished_at: oldest })
    }
}
