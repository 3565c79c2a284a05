//! `ApiTokenRepo` over SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use watchme_core::domain::{ApiToken, ApiTokenHash, ApiTokenId, EventEnvelope, TokenName, UserId};
use watchme_core::error::StorageError;
use watchme_core::ports::ApiTokenRepo;

use super::error::{corrupt, storage_error};
use super::outbox::append_events;
use super::{from_micros, micros, SqlStore};

const COLUMNS: &str = "id, user_id, name, scope, created_at, last_used_at, expires_at, revoked_at";

fn token_from_row(row: &AnyRow) -> Result<ApiToken, StorageError> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    let time = |c: &str| row.try_get::<Option<i64>, _>(c).map(|t| t.map(from_micros)).map_err(storage_error);
    Ok(ApiToken {
        id: ApiTokenId::from_uuid(text("id")?.parse().map_err(|e| corrupt("token id", e))?),
        user_id: UserId::parse(&text("user_id")?).map_err(|e| corrupt("user id", e))?,
        name: TokenName::parse(&text("name")?).map_err(|e| corrupt("token name", e))?,
        scope: text("scope")?.parse().map_err(|e| corrupt("token scope", e))?,
        created_at: from_micros(row.try_get("created_at").map_err(storage_error)?),
        last_used_at: time("last_used_at")?,
        expires_at: time("expires_at")?,
        revoked_at: time("revoked_at")?,
    })
}

#[async_trait]
impl ApiTokenRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "tokens.create", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "create_token"))]
    async fn create_token(
        &self,
        token: &ApiToken,
        hash: &ApiTokenHash,
        event: &EventEnvelope,
    ) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, scope, token_hash, created_at, last_used_at, expires_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token.id.to_string())
        .bind(token.user_id.to_string())
        .bind(token.name.as_str())
        .bind(token.scope.as_str())
        .bind(hash.as_str())
        .bind(micros(token.created_at))
        .bind(token.last_used_at.map(micros))
        .bind(token.expires_at.map(micros))
        .bind(token.revoked_at.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        append_events(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await.map_err(storage_error)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "tokens.find", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "find_token"))]
    async fn find_token(&self, hash: &ApiTokenHash) -> Result<Option<ApiToken>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1"))
            .bind(hash.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        row.as_ref().map(token_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "tokens.of_user", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "tokens_of"))]
    async fn tokens_of(&self, user: UserId) -> Result<Vec<ApiToken>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL \
             ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql).bind(user.to_string()).fetch_all(&self.pool).await.map_err(storage_error)?;
        rows.iter().map(token_from_row).collect()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "tokens.revoke", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "revoke_token"))]
    async fn revoke_token(
        &self,
        user: UserId,
        id: ApiTokenId,
        at: OffsetDateTime,
        event: &EventEnvelope,
    ) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(micros(at))
                .bind(id.to_string())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        let revoked = done.rows_affected() > 0;
        if revoked {
            append_events(&mut tx, std::slice::from_ref(event)).await?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(revoked)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "tokens.used", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "token_used"))]
    async fn token_used(&self, id: ApiTokenId, at: OffsetDateTime) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(micros(at))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(storage_error)
    }
}
