//! Group commit: the writes of many concurrent callers gathered into one
//! batch, written by one task in one transaction, each caller answered once
//! the batch that holds its write is durable.
//!
//! A commit costs a disk flush (and on SQLite takes the one writer), so a
//! row per commit caps writes at the disk's flush rate; a batch of a
//! hundred rows costs about one flush. The writer takes the first pending
//! write, then keeps gathering until the batch is full or `window` has
//! passed since that first write (writes that queued while the previous
//! batch was being written are taken at once), writes the batch with
//! [`BatchWriter::write`] and answers every caller with its outcome: a
//! failed batch fails each of its callers, never silently.
//!
//! Tests: `watchme-core/src/services/group_commit.rs` (below) and, through
//! `LibraryService`, `watchme-adapters/tests/services_library.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::error::{cause_msg, StorageError};

/// Writes one batch atomically: all of it or none of it.
#[async_trait]
pub trait BatchWriter<T>: Send + Sync + 'static {
    /// Stores every item of `batch` in one atomic step.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails; nothing of the batch is stored then.
    async fn write(&self, batch: &[T]) -> Result<(), StorageError>;
}

/// How a [`GroupCommit`] gathers its batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitConfig {
    /// Most writes in one batch.
    pub max_batch: usize,
    /// Longest a write waits for others to join its batch once nothing
    /// else is waiting. Zero (the default): a batch is what queued while
    /// the previous one was being written, which at a given concurrency
    /// answers fastest; a window only adds to every write's latency.
    pub window: Duration,
    /// Batches written at once: while one commits, the next gathers and
    /// writes (a store that takes one writer at a time still serialises them).
    pub writers: usize,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self { max_batch: 512, window: Duration::ZERO, writers: 2 }
    }
}

struct Pending<T> {
    item: T,
    done: oneshot::Sender<Result<(), StorageError>>,
}

/// The submitting side of a group-commit writer; clones share the writer.
/// The writer task ends once every clone is dropped and the writes already
/// submitted are written.
pub struct GroupCommit<T> {
    queue: mpsc::Sender<Pending<T>>,
}

impl<T> Clone for GroupCommit<T> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone() }
    }
}

impl<T: Send + Sync + 'static> GroupCommit<T> {
    /// Starts the writer task (on the current tokio runtime) over `writer`.
    pub fn start(writer: Arc<dyn BatchWriter<T>>, config: GroupCommitConfig) -> Self {
        let max_batch = config.max_batch.max(1);
        // Room for a few batches: a full queue makes callers wait their turn
        // (backpressure) rather than grow memory without bound.
        let (queue, pending) = mpsc::channel(max_batch * 4);
        let pending = Arc::new(tokio::sync::Mutex::new(pending));
        for _ in 0..config.writers.max(1) {
            tokio::spawn(run(writer.clone(), pending.clone(), GroupCommitConfig { max_batch, ..config }));
        }
        Self { queue }
    }

    /// Writes `item` in the next batch and returns once that batch is durable.
    ///
    /// # Errors
    /// The batch's [`StorageError`]; [`StorageError::Unavailable`] when the
    /// writer has stopped (the process is shutting down).
    pub async fn submit(&self, item: T) -> Result<(), StorageError> {
        let (done, outcome) = oneshot::channel();
        let stopped = || StorageError::Unavailable(cause_msg("the group-commit writer has stopped"));
        self.queue.send(Pending { item, done }).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// One writer: takes the queue, gathers a batch, lets go of the queue
/// (so another writer gathers the next batch meanwhile), writes, answers.
async fn run<T: Send + Sync + 'static>(
    writer: Arc<dyn BatchWriter<T>>,
    pending: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending<T>>>>,
    config: GroupCommitConfig,
) {
    let mut batch: Vec<Pending<T>> = Vec::with_capacity(config.max_batch);
    let mut items: Vec<T> = Vec::with_capacity(config.max_batch);
    loop {
        {
            let mut pending = pending.lock().await;
            let Some(first) = pending.recv().await else { return };
            batch.push(first);
            let deadline = tokio::time::Instant::now() + config.window;
            while batch.len() < config.max_batch {
                match pending.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) if config.window.is_zero() => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        match tokio::time::timeout_at(deadline, pending.recv()).await {
                            Ok(Some(p)) => batch.push(p),
                            Ok(None) | Err(_) => break,
                        }
                    }
                }
            }
        }
        let answers: Vec<_> = batch
            .drain(..)
            .map(|p| {
                items.push(p.item);
                p.done
            })
            .collect();
        let outcome = writer.write(&items).await;
        items.clear();
        metrics::histogram!("watchme_group_commit_batch_size").record(answers.len() as f64);
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, writes = answers.len(), "group commit failed; every write of the batch failed");
        }
        for done in answers {
            // A caller that went away (client disconnected) needs no answer.
            let _ = done.send(outcome.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder {
        batches: Mutex<Vec<Vec<u32>>>,
        fail: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl BatchWriter<u32> for Recorder {
        async fn write(&self, batch: &[u32]) -> Result<(), StorageError> {
            // Long enough for concurrent callers to queue behind a batch.
            tokio::time::sleep(Duration::from_millis(5)).await;
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StorageError::Unavailable(cause_msg("down")));
            }
            self.batches.lock().unwrap().push(batch.to_vec());
            Ok(())
        }
    }

    #[tokio::test]
    async fn concurrent_writes_share_batches_and_each_is_answered_after_its_batch() {
        let rec = Arc::new(Recorder::default());
        let gc = GroupCommit::start(
            rec.clone(),
            GroupCommitConfig { max_batch: 64, window: Duration::from_millis(2), writers: 2 },
        );
        let calls: Vec<_> = (0..200)
            .map(|i| {
                tokio::spawn({
                    let gc = gc.clone();
                    let rec = rec.clone();
                    async move {
                        gc.submit(i).await.unwrap();
                        assert!(
                            rec.batches.lock().unwrap().iter().flatten().any(|&x| x == i),
                            "{i} answered before its batch"
                        );
                    }
                })
            })
            .collect();
        for c in calls {
            c.await.unwrap();
        }
        let batches = rec.batches.lock().unwrap();
        let mut all: Vec<u32> = batches.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..200).collect::<Vec<_>>(), "every write exactly once");
        assert!(batches.len() < 50, "{} batches for 200 concurrent writes", batches.len());
        assert!(batches.iter().all(|b| b.len() <= 64));
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_writes() {
        let rec = Arc::new(Recorder::default());
        rec.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        let gc = GroupCommit::start(rec.clone(), GroupCommitConfig::default());
        let (a, b) = tokio::join!(gc.submit(1), gc.submit(2));
        assert!(matches!(a, Err(StorageError::Unavailable(_))) && matches!(b, Err(StorageError::Unavailable(_))));
        rec.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        gc.submit(3).await.unwrap();
        assert_eq!(*rec.batches.lock().unwrap(), vec![vec![3]]);
    }

    #[tokio::test]
    async fn a_lone_write_waits_no_longer_than_the_window() {
        let rec = Arc::new(Recorder::default());
        let config = GroupCommitConfig { max_batch: 512, window: Duration::from_millis(20), writers: 1 };
        let gc = GroupCommit::start(rec, config);
        let started = std::time::Instant::now();
        gc.submit(1).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
