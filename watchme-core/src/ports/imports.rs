//! The import and export ports: reading an upload into rows (Letterboxd,
//! IMDb, Trakt, WatchMe files, ZIPs), writing the export ZIP, and keeping
//! import jobs. Adapters: `watchme_adapters::imports` (reader, writer),
//! memory and SQL (jobs); contract in `watchme_adapters::contract::imports`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::{ImportFile, ImportId, ImportJob, ImportSource, UserId, WatchmeExport};
use crate::error::StorageError;

/// Why an upload cannot be imported at all (a bad line is a problem of
/// the import, not this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportFileError {
    /// Not a file of this source: says what was expected.
    #[error("not a {kind} export: expected {expected}")]
    WrongKind {
        /// The source asked for.
        kind: ImportSource,
        /// What such a file looks like.
        expected: String,
    },
    /// Larger than allowed once unpacked (a ZIP bomb), or too many entries.
    #[error("{0}")]
    TooLarge(String),
    /// A file that claims to be of the kind but cannot be read (a broken ZIP, invalid JSON).
    #[error("{0}")]
    Unreadable(String),
}

/// Reads uploads. Reading is CPU work on bytes already in memory: callers
/// run it off the async executor.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ImportReader: Send + Sync + 'static {
    /// The rows of `bytes`, an upload of `source` (one file, or a ZIP of
    /// them). Lines that cannot be read are problems in the result, not errors.
    ///
    /// # Errors
    /// [`ImportFileError`] when the upload as a whole cannot be read.
    fn read(&self, source: ImportSource, bytes: &[u8]) -> Result<ImportFile, ImportFileError>;
}

/// Why the export could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not write the export: {0}")]
pub struct ExportError(pub String);

/// Writes the export ZIP: `watchme.json`, `letterboxd.csv`, `imdb-ratings.csv`.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ExportWriter: Send + Sync + 'static {
    /// The ZIP of `export`.
    ///
    /// # Errors
    /// [`ExportError`] when it cannot be written.
    fn write(&self, export: &WatchmeExport) -> Result<Vec<u8>, ExportError>;
}

/// Keeps import jobs, so they outlive the request that started them and a restart.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ImportJobRepo: Send + Sync + 'static {
    /// Stores a new job; returns `false` (storing nothing) when its user
    /// has a queued or running job already (one import per user at a time).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn create_job(&self, job: &ImportJob) -> Result<bool, StorageError>;

    /// Stores a job's progress or outcome (its status, counts, problems, error).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn save_job(&self, job: &ImportJob) -> Result<(), StorageError>;

    /// One of the user's jobs.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn job(&self, user: UserId, id: ImportId) -> Result<Option<ImportJob>, StorageError>;

    /// The user's latest jobs, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn jobs(&self, user: UserId, limit: u32) -> Result<Vec<ImportJob>, StorageError>;

    /// Marks every queued or running job last saved before `stale_before`
    /// failed with `reason` at `at` (what a stopped process left
    /// unfinished); returns how many.
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    async fn fail_unfinished(
        &self,
        reason: &str,
        at: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<u64, StorageError>;
}
