//! `WebhookRepo` over SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use watchme_core::domain::{DeliveryOutcome, UserId, Webhook, WebhookId};
use watchme_core::error::StorageError;
use watchme_core::ports::WebhookRepo;

use super::error::{corrupt, storage_error};
use super::{from_micros, micros, SqlStore};

const COLUMNS: &str = "id, user_id, kind, media_server_user, created_at, last_delivery_at, accepted, ignored, refused";

fn webhook_from_row(row: &AnyRow) -> Result<Webhook, StorageError> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    let count = |c: &str| row.try_get::<i64, _>(c).map(|n| n.max(0) as u64).map_err(storage_error);
    Ok(Webhook {
        id: WebhookId::from_uuid(text("id")?.parse().map_err(|e| corrupt("webhook id", e))?),
        user_id: UserId::parse(&text("user_id")?).map_err(|e| corrupt("user id", e))?,
        kind: text("kind")?.parse().map_err(|e| corrupt("webhook kind", e))?,
        media_server_user: row.try_get("media_server_user").map_err(storage_error)?,
        created_at: from_micros(row.try_get("created_at").map_err(storage_error)?),
        last_delivery_at: row.try_get::<Option<i64>, _>("last_delivery_at").map_err(storage_error)?.map(from_micros),
        accepted: count("accepted")?,
        ignored: count("ignored")?,
        refused: count("refused")?,
    })
}

#[async_trait]
impl WebhookRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "webhooks.create", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "create_webhook"))]
    async fn create_webhook(&self, w: &Webhook, hash: &str) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO webhooks (id, user_id, kind, secret_hash, media_server_user, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(w.id.to_string())
        .bind(w.user_id.to_string())
        .bind(w.kind.as_str())
        .bind(hash.to_owned())
        .bind(w.media_server_user.clone())
        .bind(micros(w.created_at))
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(storage_error)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "webhooks.by_hash", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "webhook_by_hash"))]
    async fn webhook_by_hash(&self, hash: &str) -> Result<Option<Webhook>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM webhooks WHERE secret_hash = $1 AND revoked_at IS NULL"))
            .bind(hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "webhooks.of_user", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "webhooks_of"))]
    async fn webhooks_of(&self, user: UserId) -> Result<Vec<Webhook>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhooks WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql).bind(user.to_string()).fetch_all(&self.pool).await.map_err(storage_error)?;
        rows.iter().map(webhook_from_row).collect()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "webhooks.revoke", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "revoke_webhook"))]
    async fn revoke_webhook(&self, user: UserId, id: WebhookId, at: OffsetDateTime) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let done =
            sqlx::query("UPDATE webhooks SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(micros(at))
                .bind(id.to_string())
                .bind(user.to_string())
                .execute(&self.pool)
                .await
                .map_err(storage_error)?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "webhooks.delivery", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "record_delivery"))]
    async fn record_delivery(
        &self,
        id: WebhookId,
        outcome: DeliveryOutcome,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        // The column is one of three constants, never input.
        let column = outcome.as_str();
        sqlx::query(&format!("UPDATE webhooks SET {column} = {column} + 1, last_delivery_at = $1 WHERE id = $2"))
            .bind(micros(at))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(storage_error)
    }
}
