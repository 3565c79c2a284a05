//! Imports as a use case: a job per upload (one at a time per user), the
//! file read by the [`ImportReader`] port, every row matched to a movie
//! ([`Matcher`]), then written through the same services as the API (plays
//! in batches through [`HistoryService`], so events, activity times and
//! analytics follow; a play already there adds nothing, so importing a file
//! again adds nothing). Problems are kept with their file and line; the job
//! is saved as it goes and survives the process (an interrupted job is
//! marked failed at the next start). Tests: `watchme-adapters/tests/services_imports.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{
    ImportCounts, ImportFile, ImportId, ImportItem, ImportJob, ImportList, ImportProblem, ImportRow, ImportSource,
    ImportStatus, LibraryUpdate, ListId, MovieCard, Origin, ProblemKind, RequestContext, UserId, WatchStatus,
    MAX_PLAYS_PER_BATCH,
};
use crate::error::StorageError;
use crate::ports::{Clock, ExportWriter, ImportFileError, ImportJobRepo, ImportReader};

use super::matching::{Match, Matcher};
use super::{HistoryService, LibraryService, ListService, MovieService, NewList, PlayRequest};

/// Why an import or export use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImportError {
    /// The call needs a logged-in user.
    #[error("authentication required")]
    Unauthenticated,
    /// The user has an import queued or running.
    #[error("an import of yours is still running; wait for it to finish")]
    Busy,
    /// No such job of the caller's.
    #[error("no such import")]
    NotFound,
    /// The export could not be made.
    #[error(transparent)]
    Export(#[from] crate::ports::ExportError),
    /// A use case the export reads failed.
    #[error("could not read your data: {0}")]
    Read(String),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Most jobs `jobs` lists.
pub const JOBS_LISTED: u32 = 50;

/// Rows between two saves of a running job's counts.
const SAVE_EVERY: usize = 500;

/// The lists of an import file and, once looked for, the caller's list each became.
struct ListTargets<'a> {
    file: &'a [ImportList],
    made: HashMap<usize, Option<ListId>>,
}

/// Imports and exports.
pub struct ImportService {
    pub(super) repo: Arc<dyn ImportJobRepo>,
    reader: Arc<dyn ImportReader>,
    pub(super) writer: Arc<dyn ExportWriter>,
    pub(super) movies: Arc<MovieService>,
    pub(super) history: Arc<HistoryService>,
    pub(super) library: Arc<LibraryService>,
    pub(super) lists: Arc<ListService>,
    pub(super) clock: Arc<dyn Clock>,
}

/// The services an import writes through.
pub struct ImportDeps {
    /// Movies (matching).
    pub movies: Arc<MovieService>,
    /// Plays.
    pub history: Arc<HistoryService>,
    /// Ratings, statuses, favorites.
    pub library: Arc<LibraryService>,
    /// Lists.
    pub lists: Arc<ListService>,
}

impl ImportService {
    /// Builds the service.
    pub fn new(
        repo: Arc<dyn ImportJobRepo>,
        reader: Arc<dyn ImportReader>,
        writer: Arc<dyn ExportWriter>,
        deps: ImportDeps,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let ImportDeps { movies, history, library, lists } = deps;
        Self { repo, reader, writer, movies, history, library, lists, clock }
    }

    pub(super) fn user(ctx: &RequestContext) -> Result<UserId, ImportError> {
        ctx.user_id.ok_or(ImportError::Unauthenticated)
    }

    /// Accepts an import for the caller: a queued job.
    ///
    /// # Errors
    /// [`ImportError::Busy`] while another of theirs runs.
    pub async fn start(
        &self,
        ctx: &RequestContext,
        source: ImportSource,
        dry_run: bool,
    ) -> Result<ImportJob, ImportError> {
        let job = ImportJob {
            id: ImportId::new(),
            user_id: Self::user(ctx)?,
            source,
            dry_run,
            status: ImportStatus::Queued,
            counts: ImportCounts::default(),
            problems: Vec::new(),
            error: None,
            created_at: self.clock.now(),
            updated_at: self.clock.now(),
            finished_at: None,
        };
        if self.repo.create_job(&job).await? {
            Ok(job)
        } else {
            Err(ImportError::Busy)
        }
    }

    /// Reads an upload (CPU work: run it off the async executor).
    ///
    /// # Errors
    /// [`ImportFileError`] when the upload cannot be read at all.
    pub fn read(&self, source: ImportSource, bytes: &[u8]) -> Result<ImportFile, ImportFileError> {
        self.reader.read(source, bytes)
    }

    /// Runs a started job over what [`ImportService::read`] made of its
    /// upload, saving it as it goes; returns it finished (done or failed).
    pub async fn run(
        &self,
        ctx: &RequestContext,
        mut job: ImportJob,
        file: Result<ImportFile, ImportFileError>,
    ) -> ImportJob {
        job.status = ImportStatus::Running;
        let outcome = match file {
            Ok(file) => match self.save(&mut job).await {
                Ok(()) => self.apply(ctx, &mut job, file).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e.to_string()),
        };
        job.status = if outcome.is_ok() { ImportStatus::Done } else { ImportStatus::Failed };
        job.error = outcome.err();
        job.finished_at = Some(self.clock.now());
        if let Err(e) = self.save(&mut job).await {
            tracing::error!(import_id = %job.id, error = %e, "could not save a finished import");
        }
        tracing::info!(import_id = %job.id, user_id = %job.user_id, status = %job.status, rows = job.counts.rows_read, "import finished");
        job
    }

    /// Marks unfinished jobs not saved for `stale` as failed: what a
    /// stopped process left (run at start-up and then every minute; a
    /// running job saves itself far more often).
    ///
    /// # Errors
    /// [`StorageError`] when the store fails.
    pub async fn fail_interrupted(&self, stale: std::time::Duration) -> Result<u64, StorageError> {
        let reason = "interrupted by a restart; import the file again (what is already there is not added twice)";
        let now = self.clock.now();
        let stale = time::Duration::try_from(stale).unwrap_or(time::Duration::MINUTE);
        self.repo.fail_unfinished(reason, now, now - stale).await
    }

    /// Saves a job's progress, stamping it.
    async fn save(&self, job: &mut ImportJob) -> Result<(), String> {
        job.updated_at = self.clock.now();
        self.repo.save_job(job).await.map_err(|e| e.to_string())
    }

    /// One of the caller's jobs.
    ///
    /// # Errors
    /// [`ImportError::NotFound`], or the store failing.
    pub async fn job(&self, ctx: &RequestContext, id: ImportId) -> Result<ImportJob, ImportError> {
        self.repo.job(Self::user(ctx)?, id).await?.ok_or(ImportError::NotFound)
    }

    /// The caller's latest jobs, newest first.
    ///
    /// # Errors
    /// The store failing.
    pub async fn jobs(&self, ctx: &RequestContext) -> Result<Vec<ImportJob>, ImportError> {
        Ok(self.repo.jobs(Self::user(ctx)?, JOBS_LISTED).await?)
    }

    async fn apply(&self, ctx: &RequestContext, job: &mut ImportJob, file: ImportFile) -> Result<(), String> {
        job.counts.rows_read = file.rows_read;
        for p in &file.problems {
            if matches!(p.kind, ProblemKind::Malformed | ProblemKind::Skipped) {
                job.counts.skipped += 1;
            }
        }
        job.problems = file.problems;
        let mut matcher = Matcher::new(&self.movies);
        let mut matched: Vec<(ImportRow, MovieCard)> = Vec::with_capacity(file.rows.len());
        for (i, row) in file.rows.into_iter().enumerate() {
            match matcher
                .find(&row.movie)
                .await
                .map_err(|c| format!("the movie source is unavailable ({c}); import again later"))?
            {
                Match::Found(card) => matched.push((row, card)),
                Match::Unmatched(why) => self.problem(job, &row.origin, ProblemKind::Unmatched, why),
                Match::Ambiguous(why) => self.problem(job, &row.origin, ProblemKind::Ambiguous, why),
            }
            if i % SAVE_EVERY == SAVE_EVERY - 1 {
                self.save(job).await?;
            }
        }
        let (plays, rest): (Vec<_>, Vec<_>) =
            matched.into_iter().partition(|(r, _)| matches!(r.item, ImportItem::Play { .. }));
        self.write_plays(ctx, job, plays).await?;
        let mut lists = ListTargets { file: &file.lists, made: HashMap::new() };
        for (i, (row, card)) in rest.into_iter().enumerate() {
            self.write_row(ctx, job, &mut lists, row, card).await?;
            if i % SAVE_EVERY == SAVE_EVERY - 1 {
                self.save(job).await?;
            }
        }
        Ok(())
    }

    fn problem(&self, job: &mut ImportJob, origin: &Origin, kind: ProblemKind, reason: String) {
        match kind {
            ProblemKind::Unmatched | ProblemKind::Ambiguous => job.counts.unmatched += 1,
            _ => job.counts.skipped += 1,
        }
        job.problems.push(ImportProblem { origin: origin.clone(), kind, reason });
    }

    async fn write_plays(
        &self,
        ctx: &RequestContext,
        job: &mut ImportJob,
        plays: Vec<(ImportRow, MovieCard)>,
    ) -> Result<(), String> {
        let now = self.clock.now();
        let mut requests = Vec::with_capacity(plays.len());
        for (row, card) in &plays {
            if let ImportItem::Play { watched_at, action, source } = row.item {
                requests.push((row, PlayRequest { movie_id: card.id, watched_at: Some(watched_at), action, source }));
            }
        }
        let items: Vec<PlayRequest> = requests.iter().map(|(_, r)| r.clone()).collect();
        let refused = HistoryService::problems(&items, now);
        let mut accepted = Vec::with_capacity(items.len());
        for (i, (row, request)) in requests.into_iter().enumerate() {
            match refused.iter().find(|p| p.index == i) {
                Some(p) => self.problem(job, &row.origin, ProblemKind::Refused, p.message.clone()),
                None => accepted.push(request),
            }
        }
        for batch in accepted.chunks(MAX_PLAYS_PER_BATCH) {
            if job.dry_run {
                job.counts.plays_added += batch.len() as u64;
                continue;
            }
            let out =
                self.history.add_plays(ctx, batch).await.map_err(|e| format!("plays could not be stored: {e}"))?;
            job.counts.plays_added += out.added.len() as u64;
            job.counts.already_present += out.existing.len() as u64;
            self.save(job).await?;
        }
        Ok(())
    }

    async fn write_row(
        &self,
        ctx: &RequestContext,
        job: &mut ImportJob,
        lists: &mut ListTargets<'_>,
        row: ImportRow,
        card: MovieCard,
    ) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| format!("could not write {}: {e}", row.origin.file);
        let before = if job.dry_run { None } else { self.library.entry(ctx, card.id).await.map_err(|e| fail(&e))? };
        match row.item {
            ImportItem::Play { .. } => {}
            ImportItem::Rating(r) => {
                if before.as_ref().is_some_and(|e| e.rating == Some(r)) {
                    job.counts.already_present += 1;
                } else {
                    if !job.dry_run {
                        let update = LibraryUpdate::new(None, Some(r)).map_err(|e| fail(&e))?;
                        self.library.update_entry(ctx, card.id, update).await.map_err(|e| fail(&e))?;
                    }
                    job.counts.ratings_added += 1;
                }
            }
            ImportItem::Status(s) => {
                let current = before.as_ref().and_then(|e| e.status);
                // Only WatchMe's own export says a status exactly; others never
                // take a watched movie back to the watchlist.
                let keep = current == Some(s)
                    || (job.source != ImportSource::Watchme && current == Some(WatchStatus::Watched));
                if keep {
                    job.counts.already_present += 1;
                } else {
                    if !job.dry_run {
                        let update = LibraryUpdate::new(Some(s), None).map_err(|e| fail(&e))?;
                        self.library.update_entry(ctx, card.id, update).await.map_err(|e| fail(&e))?;
                    }
                    job.counts.statuses_added += 1;
                }
            }
            ImportItem::Favorite => {
                let added = job.dry_run || self.library.add_favorite(ctx, card.id).await.map_err(|e| fail(&e))?.1;
                if added {
                    job.counts.favorites_added += 1;
                } else {
                    job.counts.already_present += 1;
                }
            }
            ImportItem::ListItem { list, notes, .. } => {
                self.write_list_item(ctx, job, lists, (list, notes), &row.origin, card).await?;
            }
        }
        Ok(())
    }

    /// Puts a row's movie on its list (made or found by name first).
    async fn write_list_item(
        &self,
        ctx: &RequestContext,
        job: &mut ImportJob,
        lists: &mut ListTargets<'_>,
        (list, notes): (usize, Option<String>),
        origin: &Origin,
        card: MovieCard,
    ) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| format!("could not write {}: {e}", origin.file);
        let Some(meta) = lists.file.get(list) else { return Ok(()) };
        if job.dry_run {
            job.counts.list_items_added += 1;
            return Ok(());
        }
        let id = match lists.made.get(&list) {
            Some(id) => *id,
            None => {
                let id = self.list_for(ctx, job, meta, origin).await.map_err(|e| fail(&e))?;
                lists.made.insert(list, id);
                id
            }
        };
        let Some(id) = id else {
            self.problem(job, origin, ProblemKind::Refused, format!("the list {:?} could not be made", meta.name));
            return Ok(());
        };
        match self.lists.put_item(ctx, id, card.id, notes).await {
            Ok((_, true)) => job.counts.list_items_added += 1,
            Ok((_, false)) => job.counts.already_present += 1,
            Err(e @ super::ListError::LimitReached { .. }) => {
                self.problem(job, origin, ProblemKind::Refused, e.to_string())
            }
            Err(e) => return Err(fail(&e)),
        }
        Ok(())
    }

    /// The caller's list of that name, made when missing (`None` when a
    /// limit refuses it; the problem is recorded).
    async fn list_for(
        &self,
        ctx: &RequestContext,
        job: &mut ImportJob,
        meta: &ImportList,
        origin: &Origin,
    ) -> Result<Option<ListId>, super::ListError> {
        let mine = self.lists.mine(ctx).await?;
        if let Some(l) = mine.iter().find(|l| l.name.as_str() == meta.name.trim()) {
            return Ok(Some(l.id));
        }
        let new = NewList { name: meta.name.clone(), description: meta.description.clone(), privacy: meta.privacy };
        match self.lists.create(ctx, new).await {
            Ok(l) => Ok(Some(l.id)),
            Err(e @ (super::ListError::LimitReached { .. } | super::ListError::InvalidText { .. })) => {
                self.problem(job, origin, ProblemKind::Refused, e.to_string());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
