//! `AnalyticsStore` over SQL: a batch is one transaction; each change first
//! claims its event id in `analytics_applied`, and is skipped when the id
//! was there already (idempotence under at-least-once delivery).

use async_trait::async_trait;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use watchme_core::domain::{
    hour_bucket, AggregateUpdate, AnalyticsChange, ApplyOutcome, MovieId, MovieStats, TrendingEntry, UserStats,
    WatchStatus,
};
use watchme_core::error::StorageError;
use watchme_core::ports::AnalyticsStore;

use super::error::{corrupt, storage_error};
use super::{micros, SqlStore};

async fn exec<'q>(
    tx: &mut Transaction<'_, Any>,
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
) -> Result<u64, StorageError> {
    q.execute(&mut **tx).await.map(|r| r.rows_affected()).map_err(storage_error)
}

/// Adds `delta` to a counter column of `movie_stats`, never below zero.
async fn bump(
    tx: &mut Transaction<'_, Any>,
    movie: MovieId,
    column: &'static str,
    delta: i64,
) -> Result<(), StorageError> {
    // `column` is one of a fixed set of names, never input.
    let sql = format!(
        "INSERT INTO movie_stats (movie_id, {column}) VALUES ($1, CASE WHEN $2 < 0 THEN 0 ELSE $2 END) \
         ON CONFLICT (movie_id) DO UPDATE SET {column} = \
         CASE WHEN movie_stats.{column} + $2 < 0 THEN 0 ELSE movie_stats.{column} + $2 END"
    );
    exec(tx, sqlx::query(&sql).bind(movie.as_i64()).bind(delta)).await.map(|_| ())
}

async fn apply_update(tx: &mut Transaction<'_, Any>, u: &AggregateUpdate) -> Result<(), StorageError> {
    match u {
        AggregateUpdate::MovieViewed { movie_id, title, viewer, at } => {
            let id = movie_id.as_i64();
            exec(
                tx,
                sqlx::query(
                    "INSERT INTO movie_stats (movie_id, title, views) VALUES ($1, $2, 1) \
                     ON CONFLICT (movie_id) DO UPDATE SET views = movie_stats.views + 1, title = excluded.title",
                )
                .bind(id)
                .bind(title.as_str()),
            )
            .await?;
            exec(
                tx,
                sqlx::query(
                    "INSERT INTO movie_views_hourly (hour, movie_id, views) VALUES ($1, $2, 1) \
                     ON CONFLICT (hour, movie_id) DO UPDATE SET views = movie_views_hourly.views + 1",
                )
                .bind(hour_bucket(*at))
                .bind(id),
            )
            .await?;
            if let Some(v) = viewer {
                let new = exec(
                    tx,
                    sqlx::query("INSERT INTO movie_viewers (movie_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(id)
                        .bind(v.to_string()),
                )
                .await?;
                if new == 1 {
                    bump(tx, *movie_id, "unique_viewers", 1).await?;
                }
            }
            Ok(())
        }
        AggregateUpdate::Favorites { movie_id, delta } => bump(tx, *movie_id, "favorites", *delta).await,
        AggregateUpdate::Status { movie_id, status, delta } => {
            let column = match status {
                WatchStatus::WantToWatch => "want_to_watch",
                WatchStatus::Watching => "watching",
                WatchStatus::Watched => "watched",
            };
            bump(tx, *movie_id, column, *delta).await
        }
        AggregateUpdate::Rating { movie_id, count_delta, sum_delta } => {
            bump(tx, *movie_id, "ratings_count", *count_delta).await?;
            bump(tx, *movie_id, "ratings_sum", *sum_delta).await
        }
        AggregateUpdate::UserRegistered { user_id, at } => exec(
            tx,
            sqlx::query("INSERT INTO users_registered (user_id, registered_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(user_id.to_string())
                .bind(micros(*at)),
        )
        .await
        .map(|_| ()),
        AggregateUpdate::UserActive { user_id, at } => exec(
            tx,
            sqlx::query("INSERT INTO users_active_hourly (hour, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(hour_bucket(*at))
                .bind(user_id.to_string()),
        )
        .await
        .map(|_| ()),
    }
}

/// Applied event ids deleted per statement by `prune_applied`.
const PRUNE_BATCH: i64 = 10_000;

fn count(row: &sqlx::any::AnyRow, col: &str) -> Result<u64, StorageError> {
    Ok(row.try_get::<i64, _>(col).map_err(storage_error)?.max(0) as u64)
}

#[async_trait]
impl AnalyticsStore for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "analytics.apply", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "apply"))]
    async fn apply(&self, changes: &[AnalyticsChange]) -> Result<ApplyOutcome, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let now = micros(OffsetDateTime::now_utc());
        let mut out = ApplyOutcome::default();
        for change in changes {
            let fresh = exec(
                &mut tx,
                sqlx::query(
                    "INSERT INTO analytics_applied (event_id, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(change.event_id.to_string())
                .bind(now),
            )
            .await?;
            if fresh == 0 {
                out.duplicates += 1;
                continue;
            }
            for u in &change.updates {
                apply_update(&mut tx, u).await?;
            }
            out.applied += 1;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(out)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "analytics.prune_applied", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "prune_applied"))]
    async fn prune_applied(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        // In batches, each its own statement: the first run on a database
        // that kept every id since it was created may delete millions of
        // rows, which in one statement would hold locks and grow the WAL
        // for minutes while the consumer waits to apply.
        let mut forgotten = 0;
        loop {
            let _turn = self.write_turn().await;
            let n = sqlx::query(
                "DELETE FROM analytics_applied WHERE event_id IN \
                 (SELECT event_id FROM analytics_applied WHERE applied_at < $1 LIMIT $2)",
            )
            .bind(micros(before))
            .bind(PRUNE_BATCH)
            .execute(&self.pool)
            .await
            .map_err(storage_error)?
            .rows_affected();
            forgotten += n;
            if n < PRUNE_BATCH as u64 {
                return Ok(forgotten);
            }
        }
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "analytics.movie_stats", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "movie_stats"))]
    async fn movie_stats(&self, movie: MovieId) -> Result<MovieStats, StorageError> {
        let row = sqlx::query(
            "SELECT views, unique_viewers, favorites, want_to_watch, watching, watched, ratings_count, ratings_sum \
             FROM movie_stats WHERE movie_id = $1",
        )
        .bind(movie.as_i64())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        let Some(r) = row else { return Ok(MovieStats::default()) };
        Ok(MovieStats {
            views: count(&r, "views")?,
            unique_viewers: count(&r, "unique_viewers")?,
            favorites: count(&r, "favorites")?,
            want_to_watch: count(&r, "want_to_watch")?,
            watching: count(&r, "watching")?,
            watched: count(&r, "watched")?,
            ratings_count: count(&r, "ratings_count")?,
            ratings_sum: count(&r, "ratings_sum")?,
        })
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "analytics.trending", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "trending"))]
    async fn trending(&self, since: OffsetDateTime, limit: u32) -> Result<Vec<TrendingEntry>, StorageError> {
        let rows = sqlx::query(
            "SELECT h.movie_id AS movie_id, CAST(SUM(h.views) AS BIGINT) AS views, MAX(s.title) AS title \
             FROM movie_views_hourly h LEFT JOIN movie_stats s ON s.movie_id = h.movie_id \
             WHERE h.hour >= $1 GROUP BY h.movie_id ORDER BY views DESC, h.movie_id ASC LIMIT $2",
        )
        .bind(hour_bucket(since))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(storage_error)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("movie_id").map_err(storage_error)?;
                Ok(TrendingEntry {
                    movie_id: MovieId::new(id).map_err(|e| corrupt("movie id", e))?,
                    title: r.try_get::<Option<String>, _>("title").map_err(storage_error)?.unwrap_or_default(),
                    views: count(r, "views")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "analytics.user_stats", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "user_stats"))]
    async fn user_stats(&self, since: OffsetDateTime) -> Result<UserStats, StorageError> {
        let row = sqlx::query(
            "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM users_registered) AS total, \
             (SELECT CAST(COUNT(*) AS BIGINT) FROM users_registered WHERE registered_at >= $1) AS recent, \
             (SELECT CAST(COUNT(DISTINCT user_id) AS BIGINT) FROM users_active_hourly WHERE hour >= $2) AS active",
        )
        .bind(micros(since))
        .bind(hour_bucket(since))
        .fetch_one(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(UserStats {
            registered_total: count(&row, "total")?,
            registered_in_window: count(&row, "recent")?,
            active_in_window: count(&row, "active")?,
        })
    }
}
