//! Decoded cache values, reused while the cache hands back the same bytes.
//!
//! A cache hit used to decode the cached JSON on every request; the decode
//! and the allocations of the decoded value were the largest part of
//! WatchMe's own work on a cached movie page (docs/benchmarks.md). The memo
//! keeps, per key, the bytes it last decoded, the decoded value and a
//! version number. It is reused only when the cache returns equal bytes
//! (compared, not recognised by address), so it can never serve what the
//! cache no longer holds: an invalidated, refreshed or expired entry
//! changes (or removes) the bytes, and the memo then decodes them afresh
//! under a new version. It only saves work; the cache stays the source of
//! truth. The version is what callers key their own derived data on (the
//! HTTP layer's encoded page).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde::de::DeserializeOwned;

/// What the memo keeps for one key.
struct Remembered<T> {
    bytes: Bytes,
    value: Arc<T>,
    version: u64,
}

#[derive(Default)]
struct Entries<T> {
    // foldhash: this map is read on every cache hit, and SipHash showed in that profile.
    map: HashMap<String, Remembered<T>, foldhash::quality::RandomState>,
    // Sum of the remembered byte strings, to bound the memo.
    bytes: usize,
}

/// Hands out version numbers, unique in the process.
static VERSIONS: AtomicU64 = AtomicU64::new(1);

/// Per-key memo of decoded values, bounded by the bytes it remembers.
pub(crate) struct DecodeMemo<T> {
    entries: RwLock<Entries<T>>,
    max_bytes: usize,
}

impl<T: DeserializeOwned> DecodeMemo<T> {
    /// A memo remembering at most about `max_bytes` of encoded values.
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self { entries: RwLock::new(Entries { map: HashMap::default(), bytes: 0 }), max_bytes }
    }

    /// `bytes` (read from the cache under `key`) decoded, with its version:
    /// the remembered value when the memo holds equal bytes for `key`, else
    /// decoded now and remembered under a new version.
    ///
    /// # Errors
    /// The decoder's error when `bytes` are not a `T`.
    pub(crate) fn decode(&self, key: &str, bytes: Bytes) -> Result<(Arc<T>, u64), serde_json::Error> {
        if let Ok(entries) = self.entries.read() {
            if let Some(known) = entries.map.get(key).filter(|known| known.bytes == bytes) {
                return Ok((known.value.clone(), known.version));
            }
        }
        let value = Arc::new(serde_json::from_slice::<T>(&bytes)?);
        let version = self.remember(key, bytes, value.clone());
        Ok((value, version))
    }

    /// Remembers that `bytes` under `key` decode to `value` (after a write,
    /// so the first hit needs no decode either); returns its new version.
    pub(crate) fn remember(&self, key: &str, bytes: Bytes, value: Arc<T>) -> u64 {
        let version = VERSIONS.fetch_add(1, Ordering::Relaxed);
        let Ok(mut entries) = self.entries.write() else { return version };
        if bytes.len() > self.max_bytes {
            return version;
        }
        // Over the bound, start afresh: simpler than LRU bookkeeping on
        // every hit, and the next hits of the hot keys refill it at once.
        if entries.bytes + bytes.len() > self.max_bytes {
            entries.map.clear();
            entries.bytes = 0;
        }
        entries.bytes += bytes.len();
        if let Some(old) = entries.map.insert(key.to_owned(), Remembered { bytes, value, version }) {
            entries.bytes -= old.bytes.len();
        }
        version
    }

    /// Forgets `key` (its cache entry was deleted).
    pub(crate) fn forget(&self, key: &str) {
        if let Ok(mut entries) = self.entries.write() {
            if let Some(old) = entries.map.remove(key) {
                entries.bytes -= old.bytes.len();
            }
        }
    }

    /// Forgets every key starting with `prefix`.
    pub(crate) fn forget_prefix(&self, prefix: &str) {
        if let Ok(mut entries) = self.entries.write() {
            let mut freed = 0;
            entries.map.retain(|k, old| {
                let keep = !k.starts_with(prefix);
                if !keep {
                    freed += old.bytes.len();
                }
                keep
            });
            entries.bytes -= freed;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::DecodeMemo;

    #[test]
    fn equal_bytes_in_another_buffer_reuse_the_value_and_its_version() {
        let memo = DecodeMemo::<Vec<u32>>::new(1024);
        let (a, va) = memo.decode("k", bytes::Bytes::from(b"[1,2]".to_vec())).unwrap();
        let (b, vb) = memo.decode("k", bytes::Bytes::from(b"[1,2]".to_vec())).unwrap();
        assert!(Arc::ptr_eq(&a, &b) && va == vb, "one decoding for equal bytes, whatever the buffer");
        let (e, ve) = memo.decode("k", bytes::Bytes::from_static(b"[3]")).unwrap();
        assert_eq!(*e, vec![3], "other bytes are decoded afresh");
        assert_ne!(ve, va, "under a new version");
    }

    #[test]
    fn same_bytes_reuse_the_decoded_value() {
        let memo = DecodeMemo::<Vec<u32>>::new(1024);
        let (a, _) = memo.decode("k", b"[1,2]".to_vec().into()).unwrap();
        let (b, _) = memo.decode("k", b"[1,2]".to_vec().into()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn other_bytes_are_decoded_afresh() {
        let memo = DecodeMemo::<Vec<u32>>::new(1024);
        let (a, _) = memo.decode("k", b"[1,2]".to_vec().into()).unwrap();
        let (b, _) = memo.decode("k", b"[3]".to_vec().into()).unwrap();
        assert_eq!(*a, vec![1, 2]);
        assert_eq!(*b, vec![3]);
        // The same bytes under another key are that key's own entry.
        let (c, _) = memo.decode("other", b"[3]".to_vec().into()).unwrap();
        assert!(!Arc::ptr_eq(&b, &c));
    }

    #[test]
    fn undecodable_bytes_are_an_error_and_not_remembered() {
        let memo = DecodeMemo::<Vec<u32>>::new(1024);
        assert!(memo.decode("k", b"not json".to_vec().into()).is_err());
        assert_eq!(memo.entries.read().unwrap().bytes, 0);
    }

    #[test]
    fn forgetting_and_the_bound_keep_the_byte_count_right() {
        let memo = DecodeMemo::<Vec<u32>>::new(12);
        memo.decode("a", b"[1,2]".to_vec().into()).unwrap();
        memo.decode("b", b"[3,4]".to_vec().into()).unwrap();
        assert_eq!(memo.entries.read().unwrap().bytes, 10);
        // 10 + 5 > 12: the memo starts afresh with only "c".
        memo.decode("c", b"[5,6]".to_vec().into()).unwrap();
        assert_eq!(memo.entries.read().unwrap().map.len(), 1);
        memo.forget("c");
        assert_eq!(memo.entries.read().unwrap().bytes, 0);
        memo.decode("m:1", b"[1]".to_vec().into()).unwrap();
        memo.decode("m:2", b"[2]".to_vec().into()).unwrap();
        memo.decode("x", b"[3]".to_vec().into()).unwrap();
        memo.forget_prefix("m:");
        let entries = memo.entries.read().unwrap();
        assert_eq!((entries.map.len(), entries.bytes), (1, 3));
    }

    #[test]
    fn a_value_larger_than_the_bound_is_decoded_but_not_remembered() {
        let memo = DecodeMemo::<Vec<u32>>::new(4);
        assert_eq!(*memo.decode("k", b"[1,2,3]".to_vec().into()).unwrap().0, vec![1, 2, 3]);
        assert_eq!(memo.entries.read().unwrap().bytes, 0);
    }
}
