//! Answers a replica remembers for a while, each with when it was found:
//! session checks and API-token look-ups. Bounded by clearing the map
//! whole when it grows past its limit: a cold re-check per key is cheap, a
//! memory leak under a flood of tokens is not.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

/// Key -> (answer, when it was found), at most `max` entries.
pub(crate) struct Remembered<K, V> {
    map: Mutex<HashMap<K, (V, OffsetDateTime)>>,
    max: usize,
}

impl<K: Eq + Hash, V: Clone> Remembered<K, V> {
    /// An empty map that forgets everything once it holds `max` entries.
    pub(crate) fn new(max: usize) -> Self {
        Self { map: Mutex::new(HashMap::new()), max }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (V, OffsetDateTime)>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer for `key` and when it was found, if remembered.
    pub(crate) fn get(&self, key: &K) -> Option<(V, OffsetDateTime)> {
        self.lock().get(key).cloned()
    }

    /// Remembers `value` for `key`, found at `at`.
    pub(crate) fn put(&self, key: K, value: V, at: OffsetDateTime) {
        let mut map = self.lock();
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(key, (value, at));
    }

    /// Forgets every answer `keep` refuses.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&V) -> bool) {
        self.lock().retain(|_, (v, _)| keep(v));
    }
}
