//! `HistoryRepo` over SQL, and the activity times every write of the SQL
//! store moves in its own transaction ([`touch_activity`]).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use watchme_core::domain::{
    first_play_entry, Activity, ActivityKind, EventMeta, HistoryFilter, MovieCard, MovieId, NewPlay, Page, PageRequest,
    Play, PlayId, PlaysAdded, UserId,
};
use watchme_core::error::StorageError;
use watchme_core::ports::HistoryRepo;

use super::error::{corrupt, storage_error};
use super::library::{read_entry, write_entry};
use super::outbox::append_events;
use super::{from_micros, insert_rows, micros, truncate, SqlStore};

const PLAY_COLUMNS: &str = "id, movie_id, title, year, poster_url, watched_at, action, source";

fn play_from_row(user_id: UserId, row: &AnyRow) -> Result<Play, StorageError> {
    let get_s = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    let id: String = get_s("id")?;
    let movie: i64 = row.try_get("movie_id").map_err(storage_error)?;
    let year: Option<i64> = row.try_get("year").map_err(storage_error)?;
    Ok(Play {
        id: PlayId::from_uuid(id.parse().map_err(|e| corrupt("play id", e))?),
        user_id,
        movie: MovieCard {
            id: MovieId::new(movie).map_err(|e| corrupt("movie id", e))?,
            title: get_s("title")?,
            year: year.map(|y| y as i32),
            poster_url: row.try_get("poster_url").map_err(storage_error)?,
        },
        watched_at: from_micros(row.try_get("watched_at").map_err(storage_error)?),
        action: get_s("action")?.parse().map_err(|e| corrupt("play action", e))?,
        source: get_s("source")?.parse().map_err(|e| corrupt("play source", e))?,
    })
}

/// Moves the user's `kinds` activity times to `at` (never back), inside `tx`.
pub(crate) async fn touch_activity(
    tx: &mut Transaction<'_, Any>,
    touches: &[(UserId, ActivityKind, OffsetDateTime)],
) -> Result<(), StorageError> {
    // One row per (user, kind) per statement: PostgreSQL refuses to update
    // a row twice in one INSERT ... ON CONFLICT.
    let mut latest: HashMap<(UserId, ActivityKind), OffsetDateTime> = HashMap::new();
    for (user, kind, at) in touches {
        let t = latest.entry((*user, *kind)).or_insert(*at);
        *t = (*t).max(*at);
    }
    let rows: Vec<_> = latest.into_iter().collect();
    insert_rows(
        tx,
        "INSERT INTO user_activity (user_id, kind, at) VALUES",
        &["", "", ""],
        " ON CONFLICT (user_id, kind) DO UPDATE SET at = \
         CASE WHEN excluded.at > user_activity.at THEN excluded.at ELSE user_activity.at END",
        &rows,
        |q, ((user, kind), at)| q.bind(user.to_string()).bind(kind.as_str()).bind(micros(*at)),
    )
    .await?;
    Ok(())
}

/// The user's stored plays of `movies`.
async fn plays_of(tx: &mut Transaction<'_, Any>, user: UserId, movies: &[MovieId]) -> Result<Vec<Play>, StorageError> {
    let mut out = Vec::new();
    for chunk in movies.chunks(500) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!("SELECT {PLAY_COLUMNS} FROM plays WHERE user_id = $1 AND movie_id IN ({})", marks.join(", "));
        let mut q = sqlx::query(&sql).bind(user.to_string());
        for m in chunk {
            q = q.bind(m.as_i64());
        }
        for row in q.fetch_all(&mut **tx).await.map_err(storage_error)? {
            out.push(play_from_row(user, &row)?);
        }
    }
    Ok(out)
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds the user and the filter's values, in the order `plays` names them.
fn bind_filter<'q>(q: AnyQuery<'q>, user: UserId, filter: &HistoryFilter) -> AnyQuery<'q> {
    let mut q = q.bind(user.to_string());
    if let Some(m) = filter.movie {
        q = q.bind(m.as_i64());
    }
    for t in [filter.start_at, filter.end_at].into_iter().flatten() {
        q = q.bind(micros(t));
    }
    q
}

impl SqlStore {
    /// Sets status `watched` on each movie of `added` that had no play
    /// before; returns the events of the changes.
    async fn first_plays(
        &self,
        tx: &mut Transaction<'_, Any>,
        user: UserId,
        added: &[Play],
        had: &HashSet<MovieId>,
        meta: &EventMeta,
    ) -> Result<Vec<watchme_core::domain::EventEnvelope>, StorageError> {
        let mut seen = HashSet::new();
        let mut events = Vec::new();
        for play in added.iter().filter(|p| !had.contains(&p.movie.id)) {
            if !seen.insert(play.movie.id) {
                continue;
            }
            let before = read_entry(tx, self.backend, user, play.movie.id).await?;
            if let Some(change) = first_play_entry(before.as_ref(), user, &play.movie, truncate(meta.occurred_at)) {
                write_entry(tx, &change, user, meta.occurred_at).await?.map_err(storage_error)?;
                events.extend(change.events(meta));
            }
        }
        Ok(events)
    }
}

#[async_trait]
impl HistoryRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "history.add_plays", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "add_plays", plays = plays.len()))]
    async fn add_plays(&self, user: UserId, plays: &[NewPlay], meta: &EventMeta) -> Result<PlaysAdded, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let mut movies: Vec<MovieId> = plays.iter().map(|p| p.movie.id).collect();
        movies.sort_unstable();
        movies.dedup();
        let before = plays_of(&mut tx, user, &movies).await?;
        let had: HashSet<MovieId> = before.iter().map(|p| p.movie.id).collect();
        let mut out = PlaysAdded::default();
        let mut fresh: Vec<Play> = Vec::new();
        for new in plays {
            let same = |p: &&Play| p.same_as(new.movie.id, new.watched_at);
            if let Some(stored) = before.iter().find(same) {
                out.existing.push(stored.clone());
            } else if let Some(earlier) = fresh.iter().find(same) {
                out.existing.push(earlier.clone());
            } else {
                fresh.push(Play::new(user, new));
            }
        }
        // A concurrent batch may have stored one of these since the read:
        // the unique key keeps one, and it counts as existing here.
        let inserted = insert_rows(
            &mut tx,
            "INSERT INTO plays (id, user_id, movie_id, title, year, poster_url, watched_at, action, source) VALUES",
            &["", "", "", "", "", "", "", "", ""],
            " ON CONFLICT (user_id, movie_id, watched_at) DO NOTHING RETURNING id",
            &fresh,
            |q, p| {
                q.bind(p.id.to_string())
                    .bind(user.to_string())
                    .bind(p.movie.id.as_i64())
                    .bind(p.movie.title.clone())
                    .bind(p.movie.year.map(i64::from))
                    .bind(p.movie.poster_url.clone())
                    .bind(micros(p.watched_at))
                    .bind(p.action.as_str())
                    .bind(p.source.as_str())
            },
        )
        .await?;
        let ids: HashSet<String> = inserted.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).collect();
        let (added, raced): (Vec<Play>, Vec<Play>) = fresh.into_iter().partition(|p| ids.contains(&p.id.to_string()));
        if !raced.is_empty() {
            let now = plays_of(&mut tx, user, &raced.iter().map(|p| p.movie.id).collect::<Vec<_>>()).await?;
            out.existing
                .extend(raced.iter().filter_map(|r| now.iter().find(|p| p.same_as(r.movie.id, r.watched_at)).cloned()));
        }
        let mut events: Vec<_> = added.iter().map(|p| p.recorded(meta)).collect();
        // write_entry moves `library` activity when a status changes.
        events.extend(self.first_plays(&mut tx, user, &added, &had, meta).await?);
        if !added.is_empty() {
            touch_activity(&mut tx, &[(user, ActivityKind::History, meta.occurred_at)]).await?;
        }
        append_events(&mut tx, &events).await?;
        tx.commit().await.map_err(storage_error)?;
        out.added = added;
        Ok(out)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "history.plays", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "plays"))]
    async fn plays(&self, user: UserId, filter: HistoryFilter, page: PageRequest) -> Result<Page<Play>, StorageError> {
        let mut cond = String::from("user_id = $1");
        let mut n = 1;
        let mut next = |c: &mut String, clause: &str| {
            n += 1;
            c.push_str(&clause.replace('?', &format!("${n}")));
        };
        if filter.movie.is_some() {
            next(&mut cond, " AND movie_id = ?");
        }
        if filter.start_at.is_some() {
            next(&mut cond, " AND watched_at >= ?");
        }
        if filter.end_at.is_some() {
            next(&mut cond, " AND watched_at <= ?");
        }
        let select = format!(
            "SELECT {PLAY_COLUMNS} FROM plays WHERE {cond} ORDER BY watched_at DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM plays WHERE {cond}");
        let rows = bind_filter(sqlx::query(&select), user, &filter)
            .bind(page.per_page() as i64)
            .bind(page.offset() as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        let items = rows.iter().map(|r| play_from_row(user, r)).collect::<Result<Vec<_>, _>>()?;
        let total: i64 = bind_filter(sqlx::query(&count), user, &filter)
            .fetch_one(&self.pool)
            .await
            .map_err(storage_error)?
            .try_get(0)
            .map_err(storage_error)?;
        Ok(page.page_of(items, total.max(0) as u64))
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "history.remove_play", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "remove_play"))]
    async fn remove_play(&self, user: UserId, id: PlayId, meta: &EventMeta) -> Result<Option<Play>, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let sql = format!("DELETE FROM plays WHERE user_id = $1 AND id = $2 RETURNING {PLAY_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(user.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage_error)?;
        let Some(play) = row.as_ref().map(|r| play_from_row(user, r)).transpose()? else { return Ok(None) };
        touch_activity(&mut tx, &[(user, ActivityKind::History, meta.occurred_at)]).await?;
        append_events(&mut tx, &[play.removed(meta)]).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Some(play))
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "history.remove_plays_of", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "remove_plays_of"))]
    async fn remove_plays_of(&self, user: UserId, movie: MovieId, meta: &EventMeta) -> Result<Vec<Play>, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let sql = format!("DELETE FROM plays WHERE user_id = $1 AND movie_id = $2 RETURNING {PLAY_COLUMNS}");
        let rows = sqlx::query(&sql)
            .bind(user.to_string())
            .bind(movie.as_i64())
            .fetch_all(&mut *tx)
            .await
            .map_err(storage_error)?;
        let mut gone = rows.iter().map(|r| play_from_row(user, r)).collect::<Result<Vec<_>, _>>()?;
        gone.sort_by_key(|p| std::cmp::Reverse(p.watched_at));
        if !gone.is_empty() {
            touch_activity(&mut tx, &[(user, ActivityKind::History, meta.occurred_at)]).await?;
            append_events(&mut tx, &gone.iter().map(|p| p.removed(meta)).collect::<Vec<_>>()).await?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(gone)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "history.activity", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "activity"))]
    async fn activity(&self, user: UserId) -> Result<Activity, StorageError> {
        let rows = sqlx::query("SELECT kind, at FROM user_activity WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        let mut activity = Activity::default();
        // Views are never removed, so their latest time is the views kind's
        // activity: read, not written with every view (record_views).
        let last_view: Option<i64> = sqlx::query("SELECT MAX(viewed_at) FROM views WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(storage_error)?
            .try_get(0)
            .map_err(storage_error)?;
        if let Some(at) = last_view {
            activity.touch(ActivityKind::Views, from_micros(at));
        }
        for row in rows {
            let kind: String = row.try_get("kind").map_err(storage_error)?;
            let kind: ActivityKind = kind.parse().map_err(|e| corrupt("activity kind", e))?;
            activity.touch(kind, from_micros(row.try_get("at").map_err(storage_error)?));
        }
        Ok(activity)
    }
}
