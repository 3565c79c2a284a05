//! The transactional outbox over SQL. Events are appended inside the
//! caller's transaction; relays claim batches with a lease (and, on
//! PostgreSQL, `FOR UPDATE SKIP LOCKED`, so concurrent relays never wait on
//! or double-claim each other's rows).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use watchme_core::domain::EventEnvelope;
use watchme_core::error::StorageError;
use watchme_core::ports::{Outbox, OutboxRecord, OutboxStats};

use super::error::{corrupt, storage_error};
use super::{from_micros, insert_rows, micros, placeholders, Backend, SqlStore};

/// Appends events inside an open transaction, many rows per statement.
pub(crate) async fn append_events(tx: &mut Transaction<'_, Any>, events: &[EventEnvelope]) -> Result<(), StorageError> {
    insert_rows(
        tx,
        "INSERT INTO outbox (event_id, event_type, aggregate_id, envelope, occurred_at, attempts) VALUES",
        &["", "", "", "", "", "0"],
        "",
        events,
        |q, e| {
            q.bind(e.event_id.to_string())
                .bind(e.event_type())
                .bind(e.aggregate_id.clone())
                .bind(String::from_utf8_lossy(&e.to_json()).into_owned())
                .bind(micros(e.occurred_at))
        },
    )
    .await
    .map(drop)
}

fn now_us() -> i64 {
    micros(OffsetDateTime::now_utc())
}

#[async_trait]
impl Outbox for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "outbox.append", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "append"))]
    async fn append(&self, events: &[EventEnvelope]) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        append_events(&mut tx, events).await?;
        tx.commit().await.map_err(storage_error)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "outbox.claim", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "claim"))]
    async fn claim(&self, limit: u32, lease: Duration) -> Result<Vec<OutboxRecord>, StorageError> {
        let _turn = self.write_turn().await;
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // SQLite has one writer at a time; the UPDATE below is the lock.
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET leased_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE published_at IS NULL \
                          AND (leased_until IS NULL OR leased_until <= $2) ORDER BY id LIMIT $3 {lock}) \
             RETURNING id, envelope, attempts"
        );
        let now = now_us();
        let rows = sqlx::query(&sql)
            .bind(now + lease.as_micros() as i64)
            .bind(now)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let envelope: String = row.try_get("envelope").map_err(storage_error)?;
            let attempts: i64 = row.try_get("attempts").map_err(storage_error)?;
            out.push(OutboxRecord {
                id: row.try_get("id").map_err(storage_error)?,
                event: EventEnvelope::from_json(envelope.as_bytes()).map_err(|e| corrupt("outbox event", e))?,
                attempts: (attempts - 1).max(0) as u32,
            });
        }
        // RETURNING gives no order; publish oldest first.
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "outbox.mark_published", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "mark_published"))]
    async fn mark_published(&self, ids: &[i64]) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let sql = format!(
            "UPDATE outbox SET published_at = $1, leased_until = NULL WHERE published_at IS NULL AND id IN ({})",
            placeholders(2, ids.len())
        );
        let mut q = sqlx::query(&sql).bind(now_us());
        for id in ids {
            q = q.bind(*id);
        }
        q.execute(&self.pool).await.map_err(storage_error)?;
        Ok(())
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "outbox.mark_published_and_drop", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "mark_published_and_drop"))]
    async fn mark_published_and_drop(&self, ids: &[i64]) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        // A delete only marks the row gone; the update of mark_published
        // writes a whole new version of it (event included) and its indexes.
        let _turn = self.write_turn().await;
        let sql = format!("DELETE FROM outbox WHERE id IN ({})", placeholders(1, ids.len()));
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.execute(&self.pool).await.map_err(storage_error)?;
        Ok(())
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "outbox.release", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "release"))]
    async fn release(&self, ids: &[i64]) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let sql = format!("UPDATE outbox SET leased_until = NULL WHERE id IN ({})", placeholders(1, ids.len()));
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.execute(&self.pool).await.map_err(storage_error)?;
        Ok(())
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "outbox.prune_published", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "prune_published"))]
    async fn prune_published(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "outbox.stats", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "stats"))]
    async fn stats(&self) -> Result<OutboxStats, StorageError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(MIN(occurred_at) AS BIGINT) AS oldest \
             FROM outbox WHERE published_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(storage_error)?;
        let n: i64 = row.try_get("n").map_err(storage_error)?;
        let oldest: Option<i64> = row.try_get("oldest").map_err(storage_error)?;
        Ok(OutboxStats { unpublished: n as u64, oldest_unpublished_at: oldest.map(from_micros) })
    }
}
