//! Analytics aggregates in memory.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{
    hour_bucket, AggregateUpdate, AnalyticsChange, ApplyOutcome, MovieId, MovieStats, TrendingBy, TrendingEntry,
    UserId, UserStats, WatchStatus,
};
use watchme_core::error::StorageError;
use watchme_core::ports::AnalyticsStore;

type FoldMap<K, V> = HashMap<K, V, foldhash::quality::RandomState>;
type FoldSet<K> = HashSet<K, foldhash::quality::RandomState>;

#[derive(Default)]
struct MovieAgg {
    title: String,
    stats: MovieStats,
    viewers: FoldSet<UserId>,
}

/// Ids of applied events in generations, newest last: a generation holds
/// at most [`MemoryAnalyticsStore::GENERATION_IDS`] ids, and at most
/// [`MemoryAnalyticsStore::GENERATIONS`] are kept, so memory stays bounded
/// (a set of every id ever applied grew by one entry per event, forever).
#[derive(Default)]
struct Applied {
    generations: VecDeque<Generation>,
}

struct Generation {
    // foldhash: the relay applies every event here; SipHash showed in the cache-hit profile.
    ids: FoldSet<Uuid>,
    last_applied: OffsetDateTime,
    /// The smallest and largest id in `ids`. Event ids are UUID v7, ordered
    /// by time, so a new event's id is above every older generation's range
    /// and the check skips their tables: looking in each (tables of up to
    /// 262,144 ids, out of the CPU's caches) was the largest cost of
    /// applying an event. Ids of any other kind spread over the whole range
    /// and are simply looked up.
    range: Option<(u128, u128)>,
}

impl Generation {
    fn contains(&self, id: &Uuid) -> bool {
        let n = id.as_u128();
        self.range.is_some_and(|(low, high)| low <= n && n <= high) && self.ids.contains(id)
    }
}

impl Applied {
    fn contains(&self, id: &Uuid) -> bool {
        self.generations.iter().rev().any(|g| g.contains(id))
    }

    /// Remembers `id`; false when it was remembered already.
    fn insert(&mut self, id: Uuid, now: OffsetDateTime) -> bool {
        if self.contains(&id) {
            return false;
        }
        if self.generations.back().is_none_or(|g| g.ids.len() >= MemoryAnalyticsStore::GENERATION_IDS) {
            if self.generations.len() >= MemoryAnalyticsStore::GENERATIONS {
                self.generations.pop_front();
            }
            self.generations.push_back(Generation { ids: FoldSet::default(), last_applied: now, range: None });
        }
        if let Some(g) = self.generations.back_mut() {
            g.ids.insert(id);
            g.last_applied = now;
            let n = id.as_u128();
            g.range = Some(g.range.map_or((n, n), |(low, high)| (low.min(n), high.max(n))));
        }
        true
    }

    /// Drops whole generations whose newest id was applied before `before`.
    fn prune(&mut self, before: OffsetDateTime) -> u64 {
        let mut forgotten = 0;
        while self.generations.front().is_some_and(|g| g.last_applied < before) {
            forgotten += self.generations.pop_front().map_or(0, |g| g.ids.len() as u64);
        }
        forgotten
    }
}

#[derive(Default)]
struct State {
    applied: Applied,
    movies: FoldMap<MovieId, MovieAgg>,
    views_by_hour: FoldMap<(i64, MovieId), u64>,
    plays_by_hour: FoldMap<(i64, MovieId), u64>,
    registered: FoldMap<UserId, OffsetDateTime>,
    active_by_hour: FoldMap<i64, FoldSet<UserId>>,
}

fn add(counter: &mut u64, delta: i64) {
    *counter = counter.saturating_add_signed(delta);
}

impl State {
    fn apply(&mut self, update: &AggregateUpdate) {
        match update {
            AggregateUpdate::MovieViewed { movie_id, title, viewer, at, count } => {
                let m = self.movies.entry(*movie_id).or_default();
                m.title.clone_from(title);
                m.stats.views += count;
                if let Some(v) = viewer {
                    m.viewers.insert(*v);
                    m.stats.unique_viewers = m.viewers.len() as u64;
                }
                *self.views_by_hour.entry((hour_bucket(*at), *movie_id)).or_default() += count;
            }
            AggregateUpdate::Played { movie_id, title, at, delta } => {
                let m = self.movies.entry(*movie_id).or_default();
                if let Some(t) = title {
                    m.title.clone_from(t);
                }
                add(&mut m.stats.plays, *delta);
                add(self.plays_by_hour.entry((hour_bucket(*at), *movie_id)).or_default(), *delta);
            }
            AggregateUpdate::Favorites { movie_id, delta } => {
                add(&mut self.movies.entry(*movie_id).or_default().stats.favorites, *delta)
            }
            AggregateUpdate::Status { movie_id, status, delta } => {
                let s = &mut self.movies.entry(*movie_id).or_default().stats;
                let counter = match status {
                    WatchStatus::WantToWatch => &mut s.want_to_watch,
                    WatchStatus::Watching => &mut s.watching,
                    WatchStatus::Watched => &mut s.watched,
                };
                add(counter, *delta);
            }
            AggregateUpdate::Rating { movie_id, count_delta, sum_delta } => {
                let s = &mut self.movies.entry(*movie_id).or_default().stats;
                add(&mut s.ratings_count, *count_delta);
                add(&mut s.ratings_sum, *sum_delta);
            }
            AggregateUpdate::UserRegistered { user_id, at } => {
                self.registered.entry(*user_id).or_insert(*at);
            }
            AggregateUpdate::UserActive { user_id, at } => {
                self.active_by_hour.entry(hour_bucket(*at)).or_default().insert(*user_id);
            }
        }
    }
}

/// Analytics aggregates in memory. Clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryAnalyticsStore {
    state: Arc<Mutex<State>>,
}

impl MemoryAnalyticsStore {
    /// Event ids per generation of remembered ids.
    pub const GENERATION_IDS: usize = 1 << 18;
    /// Generations kept: the store remembers at least the last
    /// `GENERATION_IDS * (GENERATIONS - 1)` applied event ids (786,432;
    /// about 20 MB at most), however rarely `prune_applied` runs.
    pub const GENERATIONS: usize = 4;

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AnalyticsStore for MemoryAnalyticsStore {
    async fn apply(&self, changes: &[AnalyticsChange]) -> Result<ApplyOutcome, StorageError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = ApplyOutcome::default();
        let now = OffsetDateTime::now_utc();
        for change in changes {
            if !s.applied.insert(change.event_id, now) {
                out.duplicates += 1;
                continue;
            }
            for u in &change.updates {
                s.apply(u);
            }
            out.applied += 1;
        }
        Ok(out)
    }

    async fn prune_applied(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()).applied.prune(before))
    }

    async fn movie_stats(&self, movie: MovieId) -> Result<MovieStats, StorageError> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Ok(s.movies.get(&movie).map(|m| m.stats.clone()).unwrap_or_default())
    }

    async fn trending(
        &self,
        since: OffsetDateTime,
        limit: u32,
        by: TrendingBy,
    ) -> Result<Vec<TrendingEntry>, StorageError> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let from = hour_bucket(since);
        let window = |buckets: &FoldMap<(i64, MovieId), u64>| {
            let mut totals: HashMap<MovieId, u64> = HashMap::new();
            for ((hour, movie), n) in buckets {
                if *hour >= from && *n > 0 {
                    *totals.entry(*movie).or_default() += n;
                }
            }
            totals
        };
        let (views, plays) = (window(&s.views_by_hour), window(&s.plays_by_hour));
        let ranked = if by == TrendingBy::Plays { &plays } else { &views };
        let mut list: Vec<TrendingEntry> = ranked
            .keys()
            .map(|movie_id| TrendingEntry {
                movie_id: *movie_id,
                title: s.movies.get(movie_id).map(|m| m.title.clone()).unwrap_or_default(),
                views: views.get(movie_id).copied().unwrap_or(0),
                plays: plays.get(movie_id).copied().unwrap_or(0),
            })
            .collect();
        let key = |t: &TrendingEntry| if by == TrendingBy::Plays { t.plays } else { t.views };
        list.sort_by(|a, b| key(b).cmp(&key(a)).then(a.movie_id.cmp(&b.movie_id)));
        list.truncate(limit as usize);
        Ok(list)
    }

    async fn user_stats(&self, since: OffsetDateTime) -> Result<UserStats, StorageError> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let from = hour_bucket(since);
        let active: HashSet<&UserId> =
            s.active_by_hour.iter().filter(|(h, _)| **h >= from).flat_map(|(_, users)| users.iter()).collect();
        Ok(UserStats {
            registered_total: s.registered.len() as u64,
            registered_in_window: s.registered.values().filter(|t| **t >= since).count() as u64,
            active_in_window: active.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_ids_are_bounded_and_the_oldest_generation_goes_first() {
        let mut applied = Applied::default();
        let now = OffsetDateTime::now_utc();
        let total = MemoryAnalyticsStore::GENERATION_IDS * MemoryAnalyticsStore::GENERATIONS;
        let ids: Vec<Uuid> = (0..=total as u128).map(Uuid::from_u128).collect();
        for id in &ids {
            assert!(applied.insert(*id, now));
        }
        assert_eq!(applied.generations.len(), MemoryAnalyticsStore::GENERATIONS, "bounded");
        assert!(!applied.contains(&ids[0]), "the oldest generation was dropped");
        let kept = MemoryAnalyticsStore::GENERATION_IDS * (MemoryAnalyticsStore::GENERATIONS - 1);
        assert!(ids[ids.len() - kept..].iter().all(|id| applied.contains(id)), "the newest ids are all remembered");
        assert!(!applied.insert(ids[total], now), "a remembered id is a duplicate");
        assert_eq!(applied.prune(now), 0, "nothing applied before now");
        let held: usize = applied.generations.iter().map(|g| g.ids.len()).sum();
        assert_eq!(held, total - MemoryAnalyticsStore::GENERATION_IDS + 1, "three full generations and one id");
        assert_eq!(applied.prune(now + time::Duration::SECOND) as usize, held, "prune forgets them all");
        assert!(applied.generations.is_empty());
    }

    #[test]
    fn ids_in_no_order_are_found_in_whichever_generation_holds_them() {
        // Random (v4) ids, as older builds and other producers write them:
        // every generation's range covers nearly everything, so each is looked in.
        let mut applied = Applied::default();
        let now = OffsetDateTime::now_utc();
        let ids: Vec<Uuid> = (0..MemoryAnalyticsStore::GENERATION_IDS + 1000).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            assert!(applied.insert(*id, now));
        }
        assert_eq!(applied.generations.len(), 2);
        assert!(ids.iter().step_by(997).all(|id| !applied.insert(*id, now)), "each one again is a duplicate");
    }
}
