//! Decoded cache values, reused while the cache hands back the same bytes.
//!
//! A cache hit used to decode the cached JSON on every request; the decode
//! and the allocations of the decoded value were the largest part of
//! WatchMe's own work on a cached movie page (docs/benchmarks.md). The memo
//! keeps, per key, the bytes it last decoded and the decoded value. It is
//! reused only when the cache returns exactly those bytes again, so it can
//! never serve what the cache no longer holds: an invalidated, refreshed or
//! expired entry changes (or removes) the bytes, and the memo is then
//! bypassed. It only saves work; the cache stays the source of truth.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde::de::DeserializeOwned;

#[derive(Default)]
struct Entries<T> {
    // foldhash: this map is read on every cache hit, and SipHash showed in that profile.
    map: HashMap<String, (Bytes, Arc<T>), foldhash::quality::RandomState>,
    // Sum of the remembered byte strings, to bound the memo.
    bytes: usize,
}

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

    /// `bytes` (read from the cache under `key`) decoded: the remembered
    /// value when the memo holds these same bytes for `key`, else decoded now
    /// and remembered.
    ///
    /// # Errors
    /// The decoder's error when `bytes` are not a `T`.
    pub(crate) fn decode(&self, key: &str, bytes: Bytes) -> Result<Arc<T>, serde_json::Error> {
        let mut adopt = None;
        if let Ok(entries) = self.entries.read() {
            if let Some((known, value)) = entries.map.get(key) {
                // The very buffer remembered here (which this entry keeps
                // alive, so its address cannot hold other bytes meanwhile):
                // the same bytes without comparing them.
                if known.as_ptr() == bytes.as_ptr() && known.len() == bytes.len() {
                    return Ok(value.clone());
                }
                // Equal bytes in another buffer are adopted only when the
                // cache holds that buffer too (an in-process cache's stored
                // value): then the next hits come back with it. A buffer only
                // this reader holds (a Redis reply) would just be replaced on
                // every hit.
                if *known == bytes {
                    if bytes.is_unique() {
                        return Ok(value.clone());
                    }
                    adopt = Some(value.clone());
                }
            }
        }
        if let Some(value) = adopt {
            // Equal bytes in another buffer (the cache's copy of what was
            // remembered when encoding): remember that buffer instead, so
            // the next hits on it are recognised by address.
            self.remember(key, bytes, value.clone());
            return Ok(value);
        }
        let value = Arc::new(serde_json::from_slice::<T>(&bytes)?);
        self.remember(key, bytes, value.clone());
        Ok(value)
    }

    /// Remembers that `bytes` under `key` decode to `value` (after a write,
    /// so the first hit needs no decode either).
    pub(crate) fn remember(&self, key: &str, bytes: Bytes, value: Arc<T>) {
        let Ok(mut entries) = self.entries.write() else { return };
        if bytes.len() > self.max_bytes {
            return;
        }
        // Over the bound, start afresh: simpler than LRU bookkeeping on
        // every hit, and the next hits of the hot keys refill it at once.
        if entries.bytes + bytes.len() > self.max_bytes {
            entries.map.clear();
            entries.bytes = 0;
        }
        entries.bytes += bytes.len();
        if let Some((old, _)) = entries.map.insert(key.to_owned(), (bytes, value)) {
            entries.bytes -= old.len();
        }
    }

    /// Forgets `key` (its cache entry was deleted).
    pub(crate) fn forget(&self, key: &str) {
        if let Ok(mut entries) = self.entries.write() {
            if let Some((old, _)) = entries.map.remove(key) {
                entries.bytes -= old.len();
            }
        }
    }

    /// Forgets every key starting with `prefix`.
    pub(crate) fn forget_prefix(&self, prefix: &str) {
        if let Ok(mut entries) = self.entries.write() {
            let mut freed = 0;
            entries.map.retain(|k, (old, _)| {
                let keep = !k.starts_with(prefix);
                if !keep {
                    freed += old.len();
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
    fn equal_bytes_in_another_buffer_are_recognised_and_adopted() {
        let memo = DecodeMemo::<Vec<u32>>::new(1024);
        let known = |memo: &DecodeMemo<Vec<u32>>| memo.entries.read().unwrap().map.get("k").map(|(b, _)| b.as_ptr());
        let a = memo.decode("k", bytes::Bytes::from(b"[1,2]".to_vec())).unwrap();
        let first = known(&memo);
        // A reply only this reader holds (Redis): recognised, not adopted.
        let b = memo.decode("k", bytes::Bytes::from(b"[1,2]".to_vec())).unwrap();
        assert_eq!(known(&memo), first);
        // A buffer the cache holds too (the in-process cache): adopted.
        let cached = bytes::Bytes::from(b"[1,2]".to_vec());
        let c = memo.decode("k", cached.clone()).unwrap();
        assert_eq!(known(&memo), Some(cached.as_ptr()));
        let d = memo.decode("k", cached.clone()).unwrap();
        assert!([&b, &c, &d].iter().all(|v| Arc::ptr_eq(&a, v)), "one decoding for equal bytes, whatever the buffer");
        let e = memo.decode("k", bytes::Bytes::from_static(b"[3]")).unwrap();
        assert_eq!(*e, vec![3], "other bytes are decoded afresh");
    }

    #[test]
    fn same_bytes_reuse_the_decoded_value() {
        let memo = DecodeMemo::<Vec<u32>>::new(1024);
        let a = memo.decode("k", b"[1,2]".to_vec().into()).unwrap();
        let b = memo.decode("k", b"[1,2]".to_vec().into()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn other_bytes_are_decoded_afresh() {
        let memo = DecodeMemo::<Vec<u32>>::new(1024);
        let a = memo.decode("k", b"[1,2]".to_vec().into()).unwrap();
        let b = memo.decode("k", b"[3]".to_vec().into()).unwrap();
        assert_eq!(*a, vec![1, 2]);
        assert_eq!(*b, vec![3]);
        // The same bytes under another key are that key's own entry.
        let c = memo.decode("other", b"[3]".to_vec().into()).unwrap();
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
        assert_eq!(*memo.decode("k", b"[1,2,3]".to_vec().into()).unwrap(), vec![1, 2, 3]);
        assert_eq!(memo.entries.read().unwrap().bytes, 0);
    }
}
