//! `LibraryRepo` over SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use watchme_core::domain::{
    ActivityKind, EventEnvelope, EventMeta, Favorite, LibraryChange, LibraryEntry, LibraryUpdate, MovieId, MovieRef,
    Page, PageRequest, Rating, UserId, View, WatchStatus,
};
use watchme_core::error::StorageError;
use watchme_core::ports::LibraryRepo;

use super::error::{corrupt, is_unique_violation, storage_error};
use super::history::touch_activity;
use super::outbox::append_events;
use super::{from_micros, insert_rows, micros, truncate, Backend, SqlStore};

fn movie_ref(row: &AnyRow) -> Result<MovieRef, StorageError> {
    let id: i64 = row.try_get("movie_id").map_err(storage_error)?;
    Ok(MovieRef {
        id: MovieId::new(id).map_err(|e| corrupt("movie id", e))?,
        title: row.try_get("title").map_err(storage_error)?,
    })
}

fn entry_from_row(user_id: UserId, row: &AnyRow) -> Result<LibraryEntry, StorageError> {
    let status: Option<String> = row.try_get("status").map_err(storage_error)?;
    let rating: Option<i64> = row.try_get("rating").map_err(storage_error)?;
    Ok(LibraryEntry {
        user_id,
        movie: movie_ref(row)?,
        status: status.map(|s| s.parse::<WatchStatus>()).transpose().map_err(|e| corrupt("status", e))?,
        rating: rating.map(Rating::new).transpose().map_err(|e| corrupt("rating", e))?,
        added_at: from_micros(row.try_get("added_at").map_err(storage_error)?),
        updated_at: from_micros(row.try_get("updated_at").map_err(storage_error)?),
    })
}

const ENTRY_COLUMNS: &str = "movie_id, title, status, rating, added_at, updated_at";

/// A per-user list: its table, the columns a row needs, and its order.
struct Listing {
    table: &'static str,
    columns: &'static str,
    order: &'static str,
}

const VIEWS: Listing =
    Listing { table: "views", columns: "movie_id, title, viewed_at", order: "viewed_at DESC, id DESC" };
const FAVORITES: Listing =
    Listing { table: "favorites", columns: "movie_id, title, added_at", order: "added_at DESC, movie_id DESC" };
const ENTRIES: Listing =
    Listing { table: "library_entries", columns: ENTRY_COLUMNS, order: "updated_at DESC, movie_id ASC" };

impl SqlStore {
    /// One page of a user's rows, optionally only those with `status`, and
    /// the total count under the same filter.
    async fn user_page<T>(
        &self,
        list: &Listing,
        user: UserId,
        status: Option<WatchStatus>,
        page: PageRequest,
        decode: impl Fn(&AnyRow) -> Result<T, StorageError>,
    ) -> Result<Page<T>, StorageError> {
        // Placeholders first appear in order, as SQLite numbers them by appearance.
        let (filter, limit) = if status.is_some() { (" AND status = $2", 3) } else { ("", 2) };
        let from = format!("FROM {} WHERE user_id = $1{filter}", list.table);
        let select =
            format!("SELECT {} {from} ORDER BY {} LIMIT ${limit} OFFSET ${}", list.columns, list.order, limit + 1);
        let count = format!("SELECT CAST(COUNT(*) AS BIGINT) {from}");
        let (mut select_q, mut count_q) = (sqlx::query(&select), sqlx::query(&count));
        for arg in std::iter::once(user.to_string()).chain(status.map(|s| s.as_str().to_owned())) {
            select_q = select_q.bind(arg.clone());
            count_q = count_q.bind(arg);
        }
        let rows = select_q
            .bind(page.per_page() as i64)
            .bind(page.offset() as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let total: i64 =
            count_q.fetch_one(&self.pool).await.map_err(storage_error)?.try_get(0).map_err(storage_error)?;
        Ok(page.page_of(items, total.max(0) as u64))
    }
}

/// The user's entry for `movie`, locked for the transaction on PostgreSQL.
pub(super) async fn read_entry(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    user: UserId,
    movie: MovieId,
) -> Result<Option<LibraryEntry>, StorageError> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM library_entries WHERE user_id = $1 AND movie_id = $2{lock}");
    let row = sqlx::query(&sql)
        .bind(user.to_string())
        .bind(movie.as_i64())
        .fetch_optional(&mut **tx)
        .await
        .map_err(storage_error)?;
    row.as_ref().map(|r| entry_from_row(user, r)).transpose()
}

/// Writes `change.after` (an insert when there was no entry before), and
/// moves the activity times the change moves. The raw error comes back so a
/// caller can tell a concurrent first insert (a unique violation) apart.
pub(super) async fn write_entry(
    tx: &mut Transaction<'_, Any>,
    change: &LibraryChange,
    user: UserId,
    at: OffsetDateTime,
) -> Result<Result<(), sqlx::Error>, StorageError> {
    let Some(after) = &change.after else { return Ok(Ok(())) };
    let sql = if change.before.is_some() {
        "UPDATE library_entries SET title = $3, status = $4, rating = $5, added_at = $6, updated_at = $7 \
         WHERE user_id = $1 AND movie_id = $2"
    } else {
        "INSERT INTO library_entries (user_id, movie_id, title, status, rating, added_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    };
    let written = sqlx::query(sql)
        .bind(user.to_string())
        .bind(after.movie.id.as_i64())
        .bind(after.movie.title.as_str())
        .bind(after.status.map(|s| s.as_str()))
        .bind(after.rating.map(|r| r.get() as i64))
        .bind(micros(truncate(after.added_at)))
        .bind(micros(after.updated_at))
        .execute(&mut **tx)
        .await;
    if let Err(e) = written {
        return Ok(Err(e));
    }
    let touches: Vec<_> = change.activity().into_iter().map(|k| (user, k, at)).collect();
    touch_activity(tx, &touches).await?;
    Ok(Ok(()))
}

impl SqlStore {
    async fn try_upsert(
        &self,
        user: UserId,
        movie: &MovieRef,
        update: LibraryUpdate,
        meta: &EventMeta,
    ) -> Result<Result<LibraryChange, sqlx::Error>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let before = read_entry(&mut tx, self.backend, user, movie.id).await?;
        let mut after = update.apply(before.as_ref(), user, movie, truncate(meta.occurred_at));
        after.added_at = truncate(after.added_at);
        let change = LibraryChange { before, after: Some(after) };
        if let Err(e) = write_entry(&mut tx, &change, user, meta.occurred_at).await? {
            // A concurrent first insert won the race: retry, now as an update.
            return if is_unique_violation(&e) { Ok(Err(e)) } else { Err(storage_error(e)) };
        }
        append_events(&mut tx, &change.events(meta)).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Ok(change))
    }
}

#[async_trait]
impl LibraryRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.record_views", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "record_views", views = views.len(), events = events.len()))]
    async fn record_views(&self, views: &[View], events: &[EventEnvelope]) -> Result<(), StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let columns = ["", "", "", ""];
        insert_rows(
            &mut tx,
            "INSERT INTO views (user_id, movie_id, title, viewed_at) VALUES",
            &columns,
            "",
            views,
            |q, v| {
                q.bind(v.user_id.to_string())
                    .bind(v.movie.id.as_i64())
                    .bind(v.movie.title.clone())
                    .bind(micros(v.viewed_at))
            },
        )
        .await?;
        // No activity row: a user's last view is read from `views` itself
        // (see `activity`), which keeps this, the hottest write, one
        // statement shorter (on SQLite a token page ran 29 % slower with it).
        append_events(&mut tx, events).await?;
        tx.commit().await.map_err(storage_error)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.views", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "views"))]
    async fn views(&self, user: UserId, page: PageRequest) -> Result<Page<View>, StorageError> {
        self.user_page(&VIEWS, user, None, page, |r| {
            Ok(View {
                user_id: user,
                movie: movie_ref(r)?,
                viewed_at: from_micros(r.try_get("viewed_at").map_err(storage_error)?),
            })
        })
        .await
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.add_favorite", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "add_favorite"))]
    async fn add_favorite(&self, favorite: &Favorite, event: &EventEnvelope) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let done = sqlx::query(
            "INSERT INTO favorites (user_id, movie_id, title, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, movie_id) DO NOTHING",
        )
        .bind(favorite.user_id.to_string())
        .bind(favorite.movie.id.as_i64())
        .bind(favorite.movie.title.as_str())
        .bind(micros(favorite.added_at))
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        let added = done.rows_affected() == 1;
        if added {
            touch_activity(&mut tx, &[(favorite.user_id, ActivityKind::Favorites, favorite.added_at)]).await?;
            append_events(&mut tx, std::slice::from_ref(event)).await?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(added)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.remove_favorite", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "remove_favorite"))]
    async fn remove_favorite(&self, user: UserId, movie: MovieId, event: &EventEnvelope) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let done = sqlx::query("DELETE FROM favorites WHERE user_id = $1 AND movie_id = $2")
            .bind(user.to_string())
            .bind(movie.as_i64())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        let removed = done.rows_affected() > 0;
        if removed {
            touch_activity(&mut tx, &[(user, ActivityKind::Favorites, event.occurred_at)]).await?;
            append_events(&mut tx, std::slice::from_ref(event)).await?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(removed)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.favorites", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "favorites"))]
    async fn favorites(&self, user: UserId, page: PageRequest) -> Result<Page<Favorite>, StorageError> {
        self.user_page(&FAVORITES, user, None, page, |r| {
            Ok(Favorite {
                user_id: user,
                movie: movie_ref(r)?,
                added_at: from_micros(r.try_get("added_at").map_err(storage_error)?),
            })
        })
        .await
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.upsert_entry", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "upsert_entry"))]
    async fn upsert_entry(
        &self,
        user: UserId,
        movie: &MovieRef,
        update: LibraryUpdate,
        meta: &EventMeta,
    ) -> Result<LibraryChange, StorageError> {
        let _turn = self.write_turn().await;
        let mut last = None;
        for _ in 0..3 {
            match self.try_upsert(user, movie, update, meta).await? {
                Ok(change) => return Ok(change),
                Err(conflict) => last = Some(conflict),
            }
        }
        Err(last.map_or_else(|| corrupt("library entry", "upsert did not settle"), storage_error))
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.remove_entry", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "remove_entry"))]
    async fn remove_entry(
        &self,
        user: UserId,
        movie: MovieId,
        meta: &EventMeta,
    ) -> Result<LibraryChange, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let before = read_entry(&mut tx, self.backend, user, movie).await?;
        if before.is_some() {
            sqlx::query("DELETE FROM library_entries WHERE user_id = $1 AND movie_id = $2")
                .bind(user.to_string())
                .bind(movie.as_i64())
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        }
        let change = LibraryChange { before, after: None };
        let touches: Vec<_> = change.activity().into_iter().map(|k| (user, k, meta.occurred_at)).collect();
        touch_activity(&mut tx, &touches).await?;
        append_events(&mut tx, &change.events(meta)).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(change)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.entry", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "entry"))]
    async fn entry(&self, user: UserId, movie: MovieId) -> Result<Option<LibraryEntry>, StorageError> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM library_entries WHERE user_id = $1 AND movie_id = $2");
        let row = sqlx::query(&sql)
            .bind(user.to_string())
            .bind(movie.as_i64())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)?;
        row.as_ref().map(|r| entry_from_row(user, r)).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "library.entries", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "entries"))]
    async fn entries(
        &self,
        user: UserId,
        status: Option<WatchStatus>,
        page: PageRequest,
    ) -> Result<Page<LibraryEntry>, StorageError> {
        self.user_page(&ENTRIES, user, status, page, |r| entry_from_row(user, r)).await
    }
}
