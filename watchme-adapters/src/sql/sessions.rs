//! `SessionRepo` over SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use watchme_core::domain::{ClientInfo, RefreshTokenHash, Session, SessionId, UserId};
use watchme_core::error::StorageError;
use watchme_core::ports::{Rotation, SessionRepo};

use super::error::{corrupt, storage_error};
use super::{from_micros, micros, SqlStore};

const SESSION_COLUMNS: &str =
    "s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.user_agent, s.ip, s.revoked_at";

fn session_from_row(row: &AnyRow) -> Result<Session, StorageError> {
    let get_s = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    let get_t = |c: &str| row.try_get::<i64, _>(c).map(from_micros).map_err(storage_error);
    let opt_s = |c: &str| row.try_get::<Option<String>, _>(c).map_err(storage_error);
    Ok(Session {
        id: SessionId::parse(&get_s("id")?).map_err(|e| corrupt("session id", e))?,
        user_id: UserId::parse(&get_s("user_id")?).map_err(|e| corrupt("user id", e))?,
        created_at: get_t("created_at")?,
        last_used_at: get_t("last_used_at")?,
        expires_at: get_t("expires_at")?,
        client: ClientInfo { user_agent: opt_s("user_agent")?, ip: opt_s("ip")? },
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at").map_err(storage_error)?.map(from_micros),
    })
}

#[async_trait]
impl SessionRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "sessions.create_session", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "create_session"))]
    async fn create_session(&self, session: &Session, refresh: &RefreshTokenHash) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(session.id.to_string())
        .bind(session.user_id.to_string())
        .bind(micros(session.created_at))
        .bind(micros(session.last_used_at))
        .bind(micros(session.expires_at))
        .bind(session.client.user_agent.clone())
        .bind(session.client.ip.clone())
        .bind(session.revoked_at.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, rotated_at) VALUES ($1, $2, $3, NULL)",
        )
        .bind(refresh.as_str())
        .bind(session.id.to_string())
        .bind(micros(session.created_at))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "sessions.rotate", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "rotate"))]
    async fn rotate(
        &self,
        presented: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Rotation, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, t.rotated_at AS token_rotated_at FROM refresh_tokens t \
             JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1"
        );
        let Some(row) =
            sqlx::query(&sql).bind(presented.as_str()).fetch_optional(&mut *tx).await.map_err(storage_error)?
        else {
            return Ok(Rotation::Unknown);
        };
        let session = session_from_row(&row)?;
        if row.try_get::<Option<i64>, _>("token_rotated_at").map_err(storage_error)?.is_some() {
            return Ok(Rotation::Reused(session));
        }
        if !session.is_active(now) {
            return Ok(Rotation::Inactive(session));
        }
        // The condition makes the rotation a compare-and-swap: of two
        // concurrent refreshes with one token, the second updates nothing.
        let done =
            sqlx::query("UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at IS NULL")
                .bind(micros(now))
                .bind(presented.as_str())
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        if done.rows_affected() == 0 {
            return Ok(Rotation::Reused(session));
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at, rotated_at) VALUES ($1, $2, $3, NULL)",
        )
        .bind(next.as_str())
        .bind(session.id.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        sqlx::query("UPDATE sessions SET last_used_at = $1, expires_at = $2 WHERE id = $3")
            .bind(micros(now))
            .bind(micros(expires_at))
            .bind(session.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Rotation::Rotated(Session {
            last_used_at: super::truncate(now),
            expires_at: super::truncate(expires_at),
            ..session
        }))
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "sessions.find_session", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "find_session"))]
    async fn find_session(&self, id: SessionId) -> Result<Option<Session>, StorageError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await.map_err(storage_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "sessions.active_sessions", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "active_sessions"))]
    async fn active_sessions(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StorageError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL \
             AND s.expires_at > $2 ORDER BY s.last_used_at DESC, s.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(user.to_string())
            .bind(micros(now))
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        rows.iter().map(session_from_row).collect()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "sessions.revoke_session", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "revoke_session"))]
    async fn revoke_session(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "sessions.prune_sessions", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "prune_sessions"))]
    async fn prune_sessions(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let cond = "expires_at < $1 OR revoked_at < $1";
        sqlx::query(&format!("DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE {cond})"))
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        let done = sqlx::query(&format!("DELETE FROM sessions WHERE {cond}"))
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(done.rows_affected())
    }
}
