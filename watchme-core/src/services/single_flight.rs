//! Coalesces concurrent calls for one key into one execution.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use tokio::sync::broadcast;

/// Runs at most one future per key at a time; callers that arrive while it
/// runs wait for its result instead of starting their own (cache stampede
/// protection). If the running caller is cancelled, a waiting caller runs
/// the work itself, so no one waits forever.
pub struct SingleFlight<T: Clone> {
    // A std mutex: it is held only to look up or edit the map, never across an await.
    inflight: Mutex<HashMap<String, broadcast::Sender<T>>>,
}

impl<T: Clone + Send + 'static> Default for SingleFlight<T> {
    fn default() -> Self {
        Self { inflight: Mutex::new(HashMap::new()) }
    }
}

struct Leader<'a, T: Clone> {
    flight: &'a SingleFlight<T>,
    key: &'a str,
    // Cleared once the leader removed its own entry, so the guard can never
    // remove the entry of a newer leader for the same key.
    armed: bool,
}

impl<T: Clone> Drop for Leader<'_, T> {
    fn drop(&mut self) {
        // Runs on cancellation: the key is free again, and dropping the
        // sender wakes the waiters.
        if !self.armed {
            return;
        }
        if let Ok(mut map) = self.flight.inflight.lock() {
            map.remove(self.key);
        }
    }
}

impl<T: Clone + Send + 'static> SingleFlight<T> {
    /// A new, empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `work` unless a call for `key` is already running, in which case
    /// its result is awaited and returned instead.
    pub async fn run<F, Fut>(&self, key: &str, work: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let waiting = {
            let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            match map.get(key) {
                Some(tx) => Some(tx.subscribe()),
                None => {
                    map.insert(key.to_owned(), broadcast::channel(1).0);
                    None
                }
            }
        };
        if let Some(mut rx) = waiting {
            if let Ok(value) = rx.recv().await {
                return value;
            }
            // The leader was cancelled: do the work without coalescing.
            return work().await;
        }
        let mut leader = Leader { flight: self, key, armed: true };
        let value = work().await;
        let tx = self.inflight.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        leader.armed = false;
        drop(leader);
        if let Some(tx) = tx {
            let _ = tx.send(value.clone());
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_calls_for_one_key_run_once() {
        let flight = Arc::new(SingleFlight::<u32>::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (flight, calls) = (flight.clone(), calls.clone());
            tasks.spawn(async move {
                flight
                    .run("k", || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        42
                    })
                    .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            assert_eq!(r.unwrap(), 42);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_cancelled_leader_does_not_strand_waiters() {
        let flight = Arc::new(SingleFlight::<u32>::new());
        let f2 = flight.clone();
        let leader = tokio::spawn(async move {
            f2.run("k", || async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                1
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let f3 = flight.clone();
        let waiter = tokio::spawn(async move { f3.run("k", || async { 2 }).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap(), 2);
        // The key is free again.
        assert_eq!(flight.run("k", || async { 3 }).await, 3);
    }
}
