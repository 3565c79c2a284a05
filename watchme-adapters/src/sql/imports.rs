//! `ImportJobRepo` over SQL: counts and problems as JSON text; one
//! unfinished job per user enforced by a partial unique index, so two
//! replicas cannot both accept one.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use watchme_core::domain::{ImportId, ImportJob, UserId};
use watchme_core::error::StorageError;
use watchme_core::ports::ImportJobRepo;

use super::error::{corrupt, is_unique_violation, storage_error};
use super::{from_micros, micros, SqlStore};

const COLUMNS: &str =
    "id, user_id, source, dry_run, status, counts, problems, error, created_at, updated_at, finished_at";

fn job_from_row(row: &AnyRow) -> Result<ImportJob, StorageError> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    Ok(ImportJob {
        id: ImportId::from_uuid(text("id")?.parse().map_err(|e| corrupt("import id", e))?),
        user_id: UserId::parse(&text("user_id")?).map_err(|e| corrupt("user id", e))?,
        source: text("source")?.parse().map_err(|e| corrupt("import source", e))?,
        dry_run: row.try_get::<i64, _>("dry_run").map_err(storage_error)? != 0,
        status: text("status")?.parse().map_err(|e| corrupt("import status", e))?,
        counts: serde_json::from_str(&text("counts")?).map_err(|e| corrupt("import counts", e))?,
        problems: serde_json::from_str(&text("problems")?).map_err(|e| corrupt("import problems", e))?,
        error: row.try_get("error").map_err(storage_error)?,
        created_at: from_micros(row.try_get("created_at").map_err(storage_error)?),
        updated_at: from_micros(row.try_get("updated_at").map_err(storage_error)?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at").map_err(storage_error)?.map(from_micros),
    })
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| corrupt("import job", e))
}

#[async_trait]
impl ImportJobRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "imports.create", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "create_job"))]
    async fn create_job(&self, job: &ImportJob) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(&format!(
            "INSERT INTO import_jobs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(job.id.to_string())
        .bind(job.user_id.to_string())
        .bind(job.source.as_str())
        .bind(i64::from(job.dry_run))
        .bind(job.status.as_str())
        .bind(json(&job.counts)?)
        .bind(json(&job.problems)?)
        .bind(job.error.clone())
        .bind(micros(job.created_at))
        .bind(micros(job.updated_at))
        .bind(job.finished_at.map(micros))
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(storage_error(e)),
        }
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "imports.save", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "save_job"))]
    async fn save_job(&self, job: &ImportJob) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE import_jobs SET status = $1, counts = $2, problems = $3, error = $4, finished_at = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(job.status.as_str())
        .bind(json(&job.counts)?)
        .bind(json(&job.problems)?)
        .bind(job.error.clone())
        .bind(job.finished_at.map(micros))
        .bind(micros(job.updated_at))
        .bind(job.id.to_string())
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(storage_error)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "imports.job", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "job"))]
    async fn job(&self, user: UserId, id: ImportId) -> Result<Option<ImportJob>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM import_jobs WHERE id = $1 AND user_id = $2"))
            .bind(id.to_string())
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        row.as_ref().map(job_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "imports.jobs", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "jobs"))]
    async fn jobs(&self, user: UserId, limit: u32) -> Result<Vec<ImportJob>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM import_jobs WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT {limit}"
        );
        let rows = sqlx::query(&sql).bind(user.to_string()).fetch_all(&self.pool).await.map_err(storage_error)?;
        rows.iter().map(job_from_row).collect()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "imports.fail_unfinished", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "fail_unfinished"))]
    async fn fail_unfinished(
        &self,
        reason: &str,
        at: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE import_jobs SET status = 'failed', error = $1, finished_at = $2, updated_at = $2 \
             WHERE status IN ('queued', 'running') AND updated_at < $3",
        )
        .bind(reason.to_owned())
        .bind(micros(at))
        .bind(micros(stale_before))
        .execute(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(done.rows_affected())
    }
}
