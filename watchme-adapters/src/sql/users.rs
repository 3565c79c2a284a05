//! `UserRepo` over SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use watchme_core::domain::{DisplayName, Email, EventEnvelope, PasswordHash, User, UserId};
use watchme_core::error::{StorageError, UserRepoError};
use watchme_core::ports::UserRepo;

use super::error::{corrupt, is_unique_violation, storage_error};
use super::outbox::append_events;
use super::{from_micros, micros, SqlStore};

const USER_COLUMNS: &str = "id, email, display_name, role, password_hash, created_at, last_login_at";

fn user_from_row(row: &AnyRow) -> Result<User, StorageError> {
    let get_s = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    Ok(User {
        id: UserId::parse(&get_s("id")?).map_err(|e| corrupt("user id", e))?,
        email: Email::parse(&get_s("email")?).map_err(|e| corrupt("email", e))?,
        display_name: DisplayName::parse(&get_s("display_name")?).map_err(|e| corrupt("display name", e))?,
        role: get_s("role")?.parse().map_err(|e| corrupt("role", e))?,
        password_hash: PasswordHash::new(get_s("password_hash")?),
        created_at: from_micros(row.try_get("created_at").map_err(storage_error)?),
        last_login_at: row.try_get::<Option<i64>, _>("last_login_at").map_err(storage_error)?.map(from_micros),
    })
}

async fn commit(tx: Transaction<'_, Any>) -> Result<(), StorageError> {
    tx.commit().await.map_err(storage_error)
}

#[async_trait]
impl UserRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "users.create", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "create"))]
    async fn create(&self, user: &User, events: &[EventEnvelope]) -> Result<(), UserRepoError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, display_name, role, password_hash, created_at, last_login_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_str())
        .bind(user.display_name.as_str())
        .bind(user.role.as_str())
        .bind(user.password_hash.as_str())
        .bind(micros(user.created_at))
        .bind(user.last_login_at.map(micros))
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(UserRepoError::EmailTaken),
            Err(e) => return Err(storage_error(e).into()),
            Ok(_) => {}
        }
        append_events(&mut tx, events).await?;
        Ok(commit(tx).await?)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "users.find_by_email", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "find_by_email"))]
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = $1");
        let row = sqlx::query(&sql).bind(email.as_str()).fetch_optional(&self.pool).await.map_err(storage_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "users.find_by_id", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "find_by_id"))]
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await.map_err(storage_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "users.record_login", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "record_login"))]
    async fn record_login(
        &self,
        id: UserId,
        at: OffsetDateTime,
        events: &[EventEnvelope],
    ) -> Result<(), UserRepoError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let done = sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(micros(at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        if done.rows_affected() == 0 {
            return Err(UserRepoError::NotFound);
        }
        append_events(&mut tx, events).await?;
        Ok(commit(tx).await?)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "users.update_password_hash", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "update_password_hash"))]
    async fn update_password_hash(&self, id: UserId, hash: &PasswordHash) -> Result<(), UserRepoError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        if done.rows_affected() == 0 {
            return Err(UserRepoError::NotFound);
        }
        Ok(())
    }
}
