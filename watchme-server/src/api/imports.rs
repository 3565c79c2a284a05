//! Imports and the export: `POST /me/imports` reads the upload at once (a
//! file that is not of its kind, or a ZIP bomb, is refused there with a
//! 4xx) and answers 202 with the job, which matches and writes in the
//! background; `GET /me/imports[/{id}[/report]]` follow it; `GET /me/export`
//! gives everything back as a ZIP.

use std::sync::Arc;

use poem::web::Multipart;
use poem::{Body, Request, RequestBody};
use poem_openapi::payload::{Attachment, AttachmentType, Binary, Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{ImportCounts, ImportId, ImportJob, ImportProblem, ImportSource, ImportStatus};
use watchme_core::ports::ImportFileError;
use watchme_core::services::ImportError;

use super::extract::BearerAuth;
use super::query::Query;
use super::schema::UuidParam;
use super::tags::Tag;
use crate::error::{body, ApiError};
use crate::state::AppState;

/// Problems a job's answer shows (the report has them all).
pub const PROBLEMS_SHOWN: usize = 50;

/// Where an import file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SourceDto {
    /// A Letterboxd export ZIP or one of its CSV files.
    Letterboxd,
    /// An IMDb ratings or list export (CSV).
    Imdb,
    /// Trakt API JSON (history, ratings, watchlist, lists), or a ZIP of them.
    Trakt,
    /// WatchMe's own export (`GET /me/export`).
    Watchme,
}

impl From<SourceDto> for ImportSource {
    fn from(s: SourceDto) -> Self {
        match s {
            SourceDto::Letterboxd => Self::Letterboxd,
            SourceDto::Imdb => Self::Imdb,
            SourceDto::Trakt => Self::Trakt,
            SourceDto::Watchme => Self::Watchme,
        }
    }
}

/// What a job counted.
#[derive(Debug, Clone, Object)]
pub struct CountsDto {
    /// Data lines read.
    pub rows_read: u64,
    /// Plays added.
    pub plays_added: u64,
    /// Ratings set.
    pub ratings_added: u64,
    /// Statuses set.
    pub statuses_added: u64,
    /// Favorites added.
    pub favorites_added: u64,
    /// List items added.
    pub list_items_added: u64,
    /// Rows whose data was there already.
    pub already_present: u64,
    /// Rows left out: not films, unreadable lines, refused writes.
    pub skipped: u64,
    /// Rows no movie (or more than one) matches.
    pub unmatched: u64,
}

impl From<ImportCounts> for CountsDto {
    fn from(c: ImportCounts) -> Self {
        Self {
            rows_read: c.rows_read,
            plays_added: c.plays_added,
            ratings_added: c.ratings_added,
            statuses_added: c.statuses_added,
            favorites_added: c.favorites_added,
            list_items_added: c.list_items_added,
            already_present: c.already_present,
            skipped: c.skipped,
            unmatched: c.unmatched,
        }
    }
}

/// One problem of an import.
#[derive(Debug, Clone, Object)]
pub struct ProblemDto {
    /// The file (inside a ZIP, its entry).
    pub file: String,
    /// The line, from 1 (the item's position in a JSON array; 0 for a whole file).
    pub line: u64,
    /// `unmatched`, `ambiguous`, `malformed`, `skipped`, `ignored` or `refused`.
    pub kind: String,
    /// Why.
    pub reason: String,
}

impl From<&ImportProblem> for ProblemDto {
    fn from(p: &ImportProblem) -> Self {
        Self {
            file: p.origin.file.clone(),
            line: p.origin.line,
            kind: p.kind.as_str().into(),
            reason: p.reason.clone(),
        }
    }
}

/// An import job.
#[derive(Debug, Clone, Object)]
pub struct ImportJobDto {
    /// Its id.
    pub id: Uuid,
    /// `letterboxd`, `imdb`, `trakt` or `watchme`.
    pub source: String,
    /// Counted only; nothing written.
    pub dry_run: bool,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// What it counted so far.
    pub counts: CountsDto,
    /// How many problems it met (all of them are in the report).
    pub problem_count: u64,
    /// The first problems, with file and line.
    pub problems: Vec<ProblemDto>,
    /// Why it failed.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// When it was accepted.
    pub created_at: OffsetDateTime,
    /// When it finished.
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<OffsetDateTime>,
}

impl From<&ImportJob> for ImportJobDto {
    fn from(j: &ImportJob) -> Self {
        Self {
            id: j.id.as_uuid(),
            source: j.source.as_str().into(),
            dry_run: j.dry_run,
            status: j.status.as_str().into(),
            counts: j.counts.into(),
            problem_count: j.problems.len() as u64,
            problems: j.problems.iter().take(PROBLEMS_SHOWN).map(ProblemDto::from).collect(),
            error: j.error.clone(),
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

/// `POST /me/imports`.
#[derive(ApiResponse)]
pub enum StartResponse {
    /// Accepted: the file was read; matching and writing run in the background.
    #[oai(status = 202)]
    Accepted(Json<ImportJobDto>),
}

/// `GET /me/imports/{import_id}`.
#[derive(ApiResponse)]
pub enum JobResponse {
    /// The job.
    #[oai(status = 200)]
    Ok(Json<ImportJobDto>),
}

/// `GET /me/imports`.
#[derive(ApiResponse)]
pub enum JobsResponse {
    /// The caller's latest jobs, newest first.
    #[oai(status = 200)]
    Ok(Json<Vec<ImportJobDto>>),
}

/// `GET /me/imports/{import_id}/report`.
#[derive(ApiResponse)]
pub enum ReportResponse {
    /// Every problem as CSV: file, line, kind, reason.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(PlainText<String>),
}

/// `GET /me/export`.
#[derive(ApiResponse)]
pub enum ExportResponse {
    /// A ZIP: `watchme.json`, `letterboxd.csv`, `imdb-ratings.csv`.
    #[oai(status = 200, content_type = "application/zip")]
    Ok(Attachment<Vec<u8>>),
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Unauthenticated => Self::bearer_required(),
            ImportError::Busy => Self::Conflict(body("import_running", e.to_string())),
            ImportError::NotFound => Self::not_found("import_not_found", "you have no import with this id"),
            ImportError::Export(x) => Self::internal(&x),
            ImportError::Read(why) => Self::unavailable("storage", &ImportError::Read(why)),
            ImportError::Storage(s) => s.into(),
        }
    }
}

fn file_error(e: &ImportFileError) -> ApiError {
    match e {
        ImportFileError::TooLarge(why) => ApiError::PayloadTooLarge(body("import_too_large", why.clone())),
        ImportFileError::WrongKind { .. } => ApiError::Unprocessable(body("wrong_file_type", e.to_string())),
        ImportFileError::Unreadable(why) => ApiError::Unprocessable(body("unreadable_file", why.clone())),
    }
}

/// Imports and the export.
pub struct ImportsApi {
    state: Arc<AppState>,
}

impl ImportsApi {
    /// The handlers over `state`.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    /// The upload's bytes: the body, or the first file part of a
    /// multipart form; at most the configured size.
    async fn upload(&self, req: &Request, raw: Body) -> Result<Vec<u8>, ApiError> {
        let limit = self.state.http.import_max_bytes;
        let bytes = raw.into_bytes_limit(limit).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge(body(
                "payload_too_large",
                format!("an import is at most {} MiB (WATCHME_IMPORT_MAX_MB)", limit / (1024 * 1024)),
            )),
            other => ApiError::bad_request("invalid_body", format!("could not read the upload: {other}")),
        })?;
        let multipart = req.content_type().is_some_and(|t| t.starts_with("multipart/form-data"));
        if !multipart {
            return Ok(bytes.to_vec());
        }
        let mut form = <Multipart as poem::FromRequest>::from_request(req, &mut RequestBody::new(Body::from(bytes)))
            .await
            .map_err(|e| ApiError::bad_request("invalid_body", format!("not a multipart form: {e}")))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request("invalid_body", format!("a form part cannot be read: {e}")))?
        {
            if field.file_name().is_some() || field.name() == Some("file") {
                return field.bytes().await.map_err(|e| ApiError::bad_request("invalid_body", e.to_string()));
            }
        }
        Err(ApiError::invalid_field("file", "the form has no file part"))
    }
}

#[OpenApi(tag = "Tag::Imports")]
impl ImportsApi {
    /// Import a file from Letterboxd, IMDb, Trakt or a WatchMe export.
    ///
    /// The body is the file itself (`application/zip`, `text/csv`,
    /// `application/json`, `application/octet-stream`) or a
    /// `multipart/form-data` form with a file part. It is read at once: a
    /// file that is not of the source's kind is a 422, one too large (or a
    /// ZIP unpacking to too much) a 413. Then the job matches and writes in
    /// the background: follow it at `GET /me/imports/{id}`. One import per
    /// user at a time (409); importing the same file again adds nothing.
    #[oai(path = "/me/imports", method = "post", operation_id = "start_import")]
    async fn start(
        &self,
        req: &Request,
        auth: BearerAuth,
        /// What kind of file it is.
        source: Query<SourceDto>,
        /// Count what the file would add, and write nothing.
        dry_run: Query<Option<bool>>,
        upload: Binary<Body>,
    ) -> Result<StartResponse, ApiError> {
        let ctx = auth.0.ctx();
        let source: ImportSource = source.0.into();
        let bytes = self.upload(req, upload.0).await?;
        let job = self.state.imports.start(&ctx, source, dry_run.0.unwrap_or(false)).await?;
        let imports = self.state.imports.clone();
        let file = tokio::task::spawn_blocking(move || imports.read(source, &bytes))
            .await
            .map_err(|e| ApiError::internal(&e))?;
        if let Err(e) = &file {
            let refused = file_error(e);
            self.state.imports.run(&ctx, job, file.clone()).await;
            return Err(refused);
        }
        let answer = ImportJobDto::from(&job);
        let imports = self.state.imports.clone();
        tokio::spawn(async move { imports.run(&ctx, job, file).await });
        Ok(StartResponse::Accepted(Json(answer)))
    }

    /// Your latest imports, newest first (at most 50).
    #[oai(path = "/me/imports", method = "get", operation_id = "my_imports")]
    async fn jobs(&self, auth: BearerAuth) -> Result<JobsResponse, ApiError> {
        let jobs = self.state.imports.jobs(&auth.0.ctx()).await?;
        Ok(JobsResponse::Ok(Json(jobs.iter().map(ImportJobDto::from).collect())))
    }

    /// One import: status, counts and the first problems.
    #[oai(path = "/me/imports/:import_id", method = "get", operation_id = "my_import")]
    async fn job(
        &self,
        auth: BearerAuth,
        import_id: poem_openapi::param::Path<UuidParam>,
    ) -> Result<JobResponse, ApiError> {
        let id = ImportId::from_uuid(import_id.0.get("import_id")?);
        let job = self.state.imports.job(&auth.0.ctx(), id).await?;
        Ok(JobResponse::Ok(Json(ImportJobDto::from(&job))))
    }

    /// Every problem of an import, as CSV (file, line, kind, reason).
    #[oai(path = "/me/imports/:import_id/report", method = "get", operation_id = "import_report")]
    async fn report(
        &self,
        auth: BearerAuth,
        import_id: poem_openapi::param::Path<UuidParam>,
    ) -> Result<ReportResponse, ApiError> {
        let id = ImportId::from_uuid(import_id.0.get("import_id")?);
        let job = self.state.imports.job(&auth.0.ctx(), id).await?;
        Ok(ReportResponse::Ok(PlainText(report_csv(&job))))
    }

    /// Everything you keep, as a ZIP: `watchme.json` (plays, library,
    /// favorites, lists, views), `letterboxd.csv` (Letterboxd's import
    /// format) and `imdb-ratings.csv` (IMDb's ratings layout).
    #[oai(path = "/me/export", method = "get", operation_id = "export")]
    async fn export(&self, auth: BearerAuth) -> Result<ExportResponse, ApiError> {
        let zip = self.state.imports.export_zip(&auth.0.ctx()).await?;
        let name = format!("watchme-export-{}.zip", OffsetDateTime::now_utc().date());
        Ok(ExportResponse::Ok(Attachment::new(zip).attachment_type(AttachmentType::Attachment).filename(name)))
    }
}

/// The report: a CSV line per problem, cells escaped against formula injection.
pub fn report_csv(job: &ImportJob) -> String {
    let esc = |s: &str| {
        let s = match s.chars().next() {
            Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
            _ => s.to_owned(),
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::from("file,line,kind,reason\n");
    for p in &job.problems {
        out.push_str(&format!("{},{},{},{}\n", esc(&p.origin.file), p.origin.line, p.kind.as_str(), esc(&p.reason)));
    }
    if job.status == ImportStatus::Failed {
        out.push_str(&format!(",0,failed,{}\n", esc(job.error.as_deref().unwrap_or_default())));
    }
    out
}
