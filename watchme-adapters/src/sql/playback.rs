//! `PlaybackRepo` and `DeviceGrantRepo` over SQL. Every device-grant state
//! change is one conditional `UPDATE`, so concurrent polls on two replicas
//! redeem a grant once.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use watchme_core::domain::{
    DeviceGrant, DeviceGrantId, DeviceGrantState, MovieCard, MovieId, Playback, PlaybackState, Progress, UserCode,
    UserId,
};
use watchme_core::error::StorageError;
use watchme_core::ports::{DeviceGrantRepo, PlaybackRepo};

use super::error::{corrupt, is_unique_violation, storage_error};
use super::{from_micros, micros, SqlStore};

const PLAYBACK_COLUMNS: &str =
    "movie_id, title, year, poster_url, progress, state, action, source, started_at, updated_at, expires_at";

fn playback_from_row(user_id: UserId, row: &AnyRow) -> Result<Playback, StorageError> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    let time = |c: &str| row.try_get::<i64, _>(c).map(from_micros).map_err(storage_error);
    let movie: i64 = row.try_get("movie_id").map_err(storage_error)?;
    let year: Option<i64> = row.try_get("year").map_err(storage_error)?;
    Ok(Playback {
        user_id,
        movie: MovieCard {
            id: MovieId::new(movie).map_err(|e| corrupt("movie id", e))?,
            title: text("title")?,
            year: year.map(|y| y as i32),
            poster_url: row.try_get("poster_url").map_err(storage_error)?,
        },
        progress: Progress::new(row.try_get("progress").map_err(storage_error)?)
            .map_err(|e| corrupt("playback progress", e))?,
        state: text("state")?.parse().map_err(|e| corrupt("playback state", e))?,
        action: text("action")?.parse().map_err(|e| corrupt("playback action", e))?,
        source: text("source")?.parse().map_err(|e| corrupt("playback source", e))?,
        started_at: time("started_at")?,
        updated_at: time("updated_at")?,
        expires_at: time("expires_at")?,
    })
}

#[async_trait]
impl PlaybackRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "playback.put", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "put_playback"))]
    async fn put_playback(&self, p: &Playback) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        sqlx::query(&format!(
            "INSERT INTO playbacks (user_id, {PLAYBACK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12) ON CONFLICT (user_id, movie_id) DO UPDATE SET title = excluded.title, year = excluded.year, \
             poster_url = excluded.poster_url, progress = excluded.progress, state = excluded.state, \
             action = excluded.action, source = excluded.source, started_at = excluded.started_at, \
             updated_at = excluded.updated_at, expires_at = excluded.expires_at"
        ))
        .bind(p.user_id.to_string())
        .bind(p.movie.id.as_i64())
        .bind(p.movie.title.clone())
        .bind(p.movie.year.map(i64::from))
        .bind(p.movie.poster_url.clone())
        .bind(p.progress.get())
        .bind(p.state.as_str())
        .bind(p.action.as_str())
        .bind(p.source.as_str())
        .bind(micros(p.started_at))
        .bind(micros(p.updated_at))
        .bind(micros(p.expires_at))
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(storage_error)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "playback.list", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "playbacks"))]
    async fn playbacks(&self, user: UserId, state: Option<PlaybackState>) -> Result<Vec<Playback>, StorageError> {
        // The state, when asked for, is a constant of a closed set, written
        // into the statement rather than bound (a NULL parameter has no
        // type PostgreSQL can infer).
        let only = state.map_or(String::new(), |s| format!(" AND state = '{}'", s.as_str()));
        let sql = format!(
            "SELECT {PLAYBACK_COLUMNS} FROM playbacks WHERE user_id = $1{only} ORDER BY updated_at DESC, movie_id"
        );
        let rows = sqlx::query(&sql).bind(user.to_string()).fetch_all(&self.pool).await.map_err(storage_error)?;
        rows.iter().map(|r| playback_from_row(user, r)).collect()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "playback.remove", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "remove_playback"))]
    async fn remove_playback(
        &self,
        user: UserId,
        movie: MovieId,
        state: Option<PlaybackState>,
    ) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let only = state.map_or(String::new(), |s| format!(" AND state = '{}'", s.as_str()));
        let done = sqlx::query(&format!("DELETE FROM playbacks WHERE user_id = $1 AND movie_id = $2{only}"))
            .bind(user.to_string())
            .bind(movie.as_i64())
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(done.rows_affected() > 0)
    }
}

const GRANT_COLUMNS: &str = "id, device_code_hash, user_code, client_id, created_at, expires_at, interval_secs, \
                             last_polled_at, state, user_id";

fn grant_from_row(row: &AnyRow) -> Result<DeviceGrant, StorageError> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    let time = |c: &str| row.try_get::<i64, _>(c).map(from_micros).map_err(storage_error);
    let user: Option<String> = row.try_get("user_id").map_err(storage_error)?;
    let interval: i64 = row.try_get("interval_secs").map_err(storage_error)?;
    Ok(DeviceGrant {
        id: DeviceGrantId::from_uuid(text("id")?.parse().map_err(|e| corrupt("grant id", e))?),
        device_code_hash: text("device_code_hash")?,
        user_code: UserCode::parse(&text("user_code")?).map_err(|e| corrupt("user code", e))?,
        client_id: text("client_id")?,
        created_at: time("created_at")?,
        expires_at: time("expires_at")?,
        interval_secs: u32::try_from(interval).map_err(|e| corrupt("grant interval", e))?,
        last_polled_at: row.try_get::<Option<i64>, _>("last_polled_at").map_err(storage_error)?.map(from_micros),
        state: text("state")?.parse().map_err(|e| corrupt("grant state", e))?,
        user_id: user.map(|u| UserId::parse(&u)).transpose().map_err(|e| corrupt("user id", e))?,
    })
}

#[async_trait]
impl DeviceGrantRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "devices.create", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "create_grant"))]
    async fn create_grant(&self, g: &DeviceGrant) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(&format!(
            "INSERT INTO device_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(g.id.to_string())
        .bind(g.device_code_hash.clone())
        .bind(g.user_code.as_str().to_owned())
        .bind(g.client_id.clone())
        .bind(micros(g.created_at))
        .bind(micros(g.expires_at))
        .bind(i64::from(g.interval_secs))
        .bind(g.last_polled_at.map(micros))
        .bind(g.state.as_str())
        .bind(g.user_id.map(|u| u.to_string()))
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(storage_error(e)),
        }
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "devices.poll", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "poll_grant"))]
    async fn poll_grant(&self, hash: &str, now: OffsetDateTime) -> Result<Option<DeviceGrant>, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let row = sqlx::query(&format!("SELECT {GRANT_COLUMNS} FROM device_grants WHERE device_code_hash = $1"))
            .bind(hash.to_owned())
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage_error)?;
        let Some(grant) = row.as_ref().map(grant_from_row).transpose()? else {
            return Ok(None);
        };
        sqlx::query("UPDATE device_grants SET last_polled_at = $1 WHERE device_code_hash = $2")
            .bind(micros(now))
            .bind(hash.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Some(grant))
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "devices.decide", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "decide_grant"))]
    async fn decide_grant(
        &self,
        code: &UserCode,
        user: UserId,
        approve: bool,
        now: OffsetDateTime,
    ) -> Result<Option<DeviceGrant>, StorageError> {
        let _turn = self.write_turn().await;
        let state = if approve { DeviceGrantState::Approved } else { DeviceGrantState::Denied };
        let row = sqlx::query(&format!(
            "UPDATE device_grants SET state = $1, user_id = $2 WHERE user_code = $3 AND state = 'pending' \
             AND expires_at > $4 RETURNING {GRANT_COLUMNS}"
        ))
        .bind(state.as_str())
        .bind(user.to_string())
        .bind(code.as_str().to_owned())
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        row.as_ref().map(grant_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "devices.redeem", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "redeem_grant"))]
    async fn redeem_grant(&self, hash: &str) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let done =
            sqlx::query("UPDATE device_grants SET state = 'used' WHERE device_code_hash = $1 AND state = 'approved'")
                .bind(hash.to_owned())
                .execute(&self.pool)
                .await
                .map_err(storage_error)?;
        Ok(done.rows_affected() == 1)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "devices.prune", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "prune_grants"))]
    async fn prune_grants(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("DELETE FROM device_grants WHERE expires_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(done.rows_affected())
    }
}
