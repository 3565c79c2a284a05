//! `AnalyticsStore` over SQL: a batch is one transaction. Its event ids are
//! claimed in `analytics_applied` in one statement, and a change whose id
//! was there already is skipped (idempotence under at-least-once delivery);
//! the rest are folded by the core ([`FoldedChanges`]) into one write per
//! aggregate row, counting exactly as applying them one by one.

use async_trait::async_trait;
use sqlx::{Any, Row, Transaction};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

use watchme_core::domain::{
    hour_bucket, AnalyticsChange, ApplyOutcome, FoldedChanges, MovieCounters, MovieId, MovieStats, TrendingBy,
    TrendingEntry, UserStats,
};
use watchme_core::error::StorageError;
use watchme_core::ports::AnalyticsStore;

use super::error::{corrupt, storage_error};
use super::{insert_rows, micros, SqlStore};

/// Claims the event ids of `changes` in `analytics_applied` (one statement
/// per 500) and returns those that were not there: the changes to apply.
async fn claim_event_ids(
    tx: &mut Transaction<'_, Any>,
    changes: &[AnalyticsChange],
    now: i64,
) -> Result<HashSet<String>, StorageError> {
    let ids: Vec<String> = changes.iter().map(|c| c.event_id.to_string()).collect();
    let rows = insert_rows(
        tx,
        "INSERT INTO analytics_applied (event_id, applied_at) VALUES",
        &["", ""],
        " ON CONFLICT DO NOTHING RETURNING event_id",
        &ids,
        |q, id| q.bind(id.clone()).bind(now),
    )
    .await?;
    rows.iter().map(|r| r.try_get::<String, _>("event_id").map_err(storage_error)).collect()
}

/// Writes one batch's folded changes: one statement per movie row, and
/// multi-row statements for the hour buckets, viewers and users.
async fn write_folded(tx: &mut Transaction<'_, Any>, f: &FoldedChanges) -> Result<(), StorageError> {
    // Which viewers are new decides each movie's unique-viewer count.
    let viewers: Vec<(i64, String)> = f.viewers.iter().map(|(m, u)| (m.as_i64(), u.to_string())).collect();
    let new_viewers = insert_rows(
        tx,
        "INSERT INTO movie_viewers (movie_id, user_id) VALUES",
        &["", ""],
        " ON CONFLICT DO NOTHING RETURNING movie_id",
        &viewers,
        |q, (m, u)| q.bind(*m).bind(u.clone()),
    )
    .await?;
    let mut unique: HashMap<i64, i64> = HashMap::new();
    for r in &new_viewers {
        *unique.entry(r.try_get::<i64, _>("movie_id").map_err(storage_error)?).or_default() += 1;
    }
    for (movie, c) in &f.movies {
        upsert_movie(tx, movie.as_i64(), c, unique.get(&movie.as_i64()).copied().unwrap_or(0)).await?;
    }
    let hourly: Vec<(i64, i64, i64)> =
        f.hourly_views.iter().map(|(&(hour, m), &n)| (hour, m.as_i64(), n as i64)).collect();
    insert_rows(
        tx,
        "INSERT INTO movie_views_hourly (hour, movie_id, views) VALUES",
        &["", "", ""],
        " ON CONFLICT (hour, movie_id) DO UPDATE SET views = movie_views_hourly.views + excluded.views",
        &hourly,
        |q, (h, m, n)| q.bind(*h).bind(*m).bind(*n),
    )
    .await?;
    // One statement per bucket: each is clamped on its own (see ClampedDelta).
    for (&(hour, movie), d) in &f.hourly_plays {
        sqlx::query(
            "INSERT INTO movie_plays_hourly (hour, movie_id, plays) VALUES ($1, $2, $3) \
             ON CONFLICT (hour, movie_id) DO UPDATE SET plays = CASE WHEN movie_plays_hourly.plays + $4 < $3 \
             THEN $3 ELSE movie_plays_hourly.plays + $4 END",
        )
        .bind(hour)
        .bind(movie.as_i64())
        .bind(d.floor())
        .bind(d.total)
        .execute(&mut **tx)
        .await
        .map_err(storage_error)?;
    }
    let registered: Vec<(String, i64)> = f.registered.iter().map(|(u, at)| (u.to_string(), micros(*at))).collect();
    insert_rows(
        tx,
        "INSERT INTO users_registered (user_id, registered_at) VALUES",
        &["", ""],
        " ON CONFLICT DO NOTHING",
        &registered,
        |q, (u, at)| q.bind(u.clone()).bind(*at),
    )
    .await?;
    let active: Vec<(i64, String)> = f.active.iter().map(|(h, u)| (*h, u.to_string())).collect();
    insert_rows(
        tx,
        "INSERT INTO users_active_hourly (hour, user_id) VALUES",
        &["", ""],
        " ON CONFLICT DO NOTHING",
        &active,
        |q, (h, u)| q.bind(*h).bind(u.clone()),
    )
    .await
    .map(drop)
}

/// The counters of `movie_stats` that a batch may lower, in column order.
const CLAMPED: [&str; 7] =
    ["plays", "favorites", "want_to_watch", "watching", "watched", "ratings_count", "ratings_sum"];

/// One movie's row: views and unique viewers added, every other counter
/// moved to `max(current + total, floor)` (see `ClampedDelta`), the title
/// replaced when the batch viewed the movie.
async fn upsert_movie(
    tx: &mut Transaction<'_, Any>,
    movie: i64,
    c: &MovieCounters,
    new_viewers: i64,
) -> Result<(), StorageError> {
    let deltas = [c.plays, c.favorites, c.want_to_watch, c.watching, c.watched, c.ratings_count, c.ratings_sum];
    // Placeholders are numbered in the order they first appear (SQLite numbers
    // them by appearance): $1-$4 movie, title, views, viewers; $5-$11 the
    // floors (a new row starts at zero, so it holds the floors); $12-$18 the totals.
    let mut sql = String::from(
        "INSERT INTO movie_stats (movie_id, title, views, unique_viewers, plays, favorites, want_to_watch, watching, \
         watched, ratings_count, ratings_sum) VALUES ($1, COALESCE($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (movie_id) DO UPDATE SET title = COALESCE($2, movie_stats.title), \
         views = movie_stats.views + $3, unique_viewers = movie_stats.unique_viewers + $4",
    );
    for (i, col) in CLAMPED.iter().enumerate() {
        let (floor, total) = (5 + i, 5 + CLAMPED.len() + i);
        sql.push_str(&format!(
            ", {col} = CASE WHEN movie_stats.{col} + ${total} < ${floor} THEN ${floor} ELSE movie_stats.{col} + ${total} END"
        ));
    }
    let mut q = sqlx::query(&sql).bind(movie).bind(c.title.clone()).bind(c.views as i64).bind(new_viewers);
    for d in &deltas {
        q = q.bind(d.floor());
    }
    for d in &deltas {
        q = q.bind(d.total);
    }
    q.execute(&mut **tx).await.map(drop).map_err(storage_error)
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
        if changes.is_empty() {
            return Ok(ApplyOutcome::default());
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let mut fresh = claim_event_ids(&mut tx, changes, micros(OffsetDateTime::now_utc())).await?;
        // A change applies when its id was claimed now, and only its first
        // copy in the batch.
        let apply: Vec<&AnalyticsChange> = changes.iter().filter(|c| fresh.remove(&c.event_id.to_string())).collect();
        write_folded(&mut tx, &FoldedChanges::fold(apply.iter().copied())).await?;
        tx.commit().await.map_err(storage_error)?;
        let applied = apply.len() as u64;
        Ok(ApplyOutcome { applied, duplicates: changes.len() as u64 - applied })
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
            "SELECT views, unique_viewers, plays, favorites, want_to_watch, watching, watched, ratings_count, ratings_sum \
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
            plays: count(&r, "plays")?,
            favorites: count(&r, "favorites")?,
            want_to_watch: count(&r, "want_to_watch")?,
            watching: count(&r, "watching")?,
            watched: count(&r, "watched")?,
            ratings_count: count(&r, "ratings_count")?,
            ratings_sum: count(&r, "ratings_sum")?,
        })
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "analytics.trending", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "trending"))]
    async fn trending(
        &self,
        since: OffsetDateTime,
        limit: u32,
        by: TrendingBy,
    ) -> Result<Vec<TrendingEntry>, StorageError> {
        let ranked = if by == TrendingBy::Plays { "p" } else { "v" };
        let sql = format!(
            "WITH v AS (SELECT movie_id, CAST(SUM(views) AS BIGINT) AS n FROM movie_views_hourly \
             WHERE hour >= $1 GROUP BY movie_id), \
             p AS (SELECT movie_id, CAST(SUM(plays) AS BIGINT) AS n FROM movie_plays_hourly \
             WHERE hour >= $1 GROUP BY movie_id) \
             SELECT r.movie_id AS movie_id, COALESCE(v.n, 0) AS views, COALESCE(p.n, 0) AS plays, s.title AS title \
             FROM {ranked} r LEFT JOIN v ON v.movie_id = r.movie_id LEFT JOIN p ON p.movie_id = r.movie_id \
             LEFT JOIN movie_stats s ON s.movie_id = r.movie_id \
             WHERE r.n > 0 ORDER BY r.n DESC, r.movie_id ASC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
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
                    plays: count(r, "plays")?,
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
