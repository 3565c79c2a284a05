//! `ListRepo` over SQL. Every write first locks its list's row (PostgreSQL;
//! on SQLite the store's writer lock serialises writes), so concurrent
//! changes of one list's items and ranks apply one after the other.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use watchme_core::domain::{
    free_slug, ActivityKind, EventEnvelope, EventMeta, EventPayload, ListChange, ListId, ListItem, ListName, ListPatch,
    MovieCard, MovieId, Page, PageRequest, UserId, UserList,
};
use watchme_core::error::{ListRepoError, StorageError};
use watchme_core::ports::ListRepo;

use super::error::{corrupt, is_unique_violation, storage_error};
use super::history::touch_activity;
use super::outbox::append_events;
use super::{from_micros, micros, Backend, SqlStore};

const LIST_COLUMNS: &str = "l.id AS id, l.user_id AS user_id, l.name AS name, l.slug AS slug, \
     l.description AS description, l.privacy AS privacy, l.created_at AS created_at, l.updated_at AS updated_at, \
     (SELECT CAST(COUNT(*) AS BIGINT) FROM list_items i WHERE i.list_id = l.id) AS item_count";
const ITEM_COLUMNS: &str = "movie_id, title, year, poster_url, item_rank, notes, added_at";

fn list_from_row(row: &AnyRow) -> Result<UserList, StorageError> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(storage_error);
    let count: i64 = row.try_get("item_count").map_err(storage_error)?;
    Ok(UserList {
        id: ListId::from_uuid(text("id")?.parse().map_err(|e| corrupt("list id", e))?),
        user_id: UserId::parse(&text("user_id")?).map_err(|e| corrupt("user id", e))?,
        name: ListName::parse(&text("name")?).map_err(|e| corrupt("list name", e))?,
        slug: text("slug")?,
        description: row.try_get("description").map_err(storage_error)?,
        privacy: text("privacy")?.parse().map_err(|e| corrupt("list privacy", e))?,
        created_at: from_micros(row.try_get("created_at").map_err(storage_error)?),
        updated_at: from_micros(row.try_get("updated_at").map_err(storage_error)?),
        item_count: count.max(0) as u64,
    })
}

fn item_from_row(row: &AnyRow) -> Result<ListItem, StorageError> {
    let movie: i64 = row.try_get("movie_id").map_err(storage_error)?;
    let year: Option<i64> = row.try_get("year").map_err(storage_error)?;
    let rank: i64 = row.try_get("item_rank").map_err(storage_error)?;
    Ok(ListItem {
        movie: MovieCard {
            id: MovieId::new(movie).map_err(|e| corrupt("movie id", e))?,
            title: row.try_get("title").map_err(storage_error)?,
            year: year.map(|y| y as i32),
            poster_url: row.try_get("poster_url").map_err(storage_error)?,
        },
        rank: rank.max(0) as u32,
        notes: row.try_get("notes").map_err(storage_error)?,
        added_at: from_micros(row.try_get("added_at").map_err(storage_error)?),
    })
}

/// The user's list `id`, locked for the transaction on PostgreSQL.
async fn own_list(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    user: UserId,
    id: ListId,
) -> Result<UserList, ListRepoError> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE OF l" } else { "" };
    let sql = format!("SELECT {LIST_COLUMNS} FROM user_lists l WHERE l.id = $1 AND l.user_id = $2{lock}");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .bind(user.to_string())
        .fetch_optional(&mut **tx)
        .await
        .map_err(storage_error)?;
    row.as_ref().map(list_from_row).transpose()?.ok_or(ListRepoError::NotFound)
}

/// Records a change of a list: its time, its owner's activity, its event.
async fn changed(
    tx: &mut Transaction<'_, Any>,
    user: UserId,
    id: ListId,
    change: ListChange,
    movie: Option<MovieId>,
    meta: &EventMeta,
) -> Result<(), StorageError> {
    sqlx::query("UPDATE user_lists SET updated_at = $1 WHERE id = $2")
        .bind(micros(meta.occurred_at))
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .map_err(storage_error)?;
    touch_activity(tx, &[(user, ActivityKind::Lists, meta.occurred_at)]).await?;
    let payload = EventPayload::ListChanged { user_id: user, list_id: id, change, movie_id: movie };
    append_events(tx, &[EventEnvelope::new(payload, meta)]).await
}

async fn slugs_of(
    tx: &mut Transaction<'_, Any>,
    user: UserId,
    except: Option<ListId>,
) -> Result<Vec<String>, StorageError> {
    let rows = sqlx::query("SELECT slug FROM user_lists WHERE user_id = $1 AND id <> $2")
        .bind(user.to_string())
        .bind(except.map(|e| e.to_string()).unwrap_or_default())
        .fetch_all(&mut **tx)
        .await
        .map_err(storage_error)?;
    rows.iter().map(|r| r.try_get::<String, _>(0).map_err(storage_error)).collect()
}

/// Writes ranks 1..n in the order of `movies`.
async fn write_ranks(tx: &mut Transaction<'_, Any>, id: ListId, movies: &[MovieId]) -> Result<(), StorageError> {
    for (i, m) in movies.iter().enumerate() {
        sqlx::query("UPDATE list_items SET item_rank = $1 WHERE list_id = $2 AND movie_id = $3")
            .bind(i as i64 + 1)
            .bind(id.to_string())
            .bind(m.as_i64())
            .execute(&mut **tx)
            .await
            .map_err(storage_error)?;
    }
    Ok(())
}

async fn item_ids(tx: &mut Transaction<'_, Any>, id: ListId) -> Result<Vec<MovieId>, StorageError> {
    let rows = sqlx::query("SELECT movie_id FROM list_items WHERE list_id = $1 ORDER BY item_rank, movie_id")
        .bind(id.to_string())
        .fetch_all(&mut **tx)
        .await
        .map_err(storage_error)?;
    rows.iter()
        .map(|r| MovieId::new(r.try_get(0).map_err(storage_error)?).map_err(|e| corrupt("movie id", e)))
        .collect()
}

impl SqlStore {
    async fn try_create(
        &self,
        list: &UserList,
        max_lists: u64,
        meta: &EventMeta,
    ) -> Result<Result<UserList, sqlx::Error>, ListRepoError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let taken = slugs_of(&mut tx, list.user_id, None).await?;
        if taken.len() as u64 >= max_lists {
            return Err(ListRepoError::LimitReached { limit: max_lists });
        }
        let stored = UserList { slug: free_slug(&list.slug, &taken), item_count: 0, ..list.clone() };
        let inserted = sqlx::query(
            "INSERT INTO user_lists (id, user_id, name, slug, description, privacy, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(stored.id.to_string())
        .bind(stored.user_id.to_string())
        .bind(stored.name.as_str())
        .bind(stored.slug.as_str())
        .bind(stored.description.clone())
        .bind(stored.privacy.as_str())
        .bind(micros(stored.created_at))
        .bind(micros(stored.updated_at))
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            // A concurrent list took the slug: the caller tries again.
            return if is_unique_violation(&e) { Ok(Err(e)) } else { Err(storage_error(e).into()) };
        }
        changed(&mut tx, stored.user_id, stored.id, ListChange::Created, None, meta).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Ok(stored))
    }
}

#[async_trait]
impl ListRepo for SqlStore {
    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.create", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "create_list"))]
    async fn create_list(&self, list: &UserList, max_lists: u64, meta: &EventMeta) -> Result<UserList, ListRepoError> {
        let _turn = self.write_turn().await;
        let mut last = None;
        for _ in 0..3 {
            match self.try_create(list, max_lists, meta).await? {
                Ok(stored) => return Ok(stored),
                Err(conflict) => last = Some(conflict),
            }
        }
        Err(last.map_or_else(|| corrupt("list", "create did not settle"), storage_error).into())
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.of_user", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "lists_of"))]
    async fn lists_of(&self, user: UserId) -> Result<Vec<UserList>, StorageError> {
        let sql =
            format!("SELECT {LIST_COLUMNS} FROM user_lists l WHERE l.user_id = $1 ORDER BY l.updated_at DESC, l.id");
        let rows = sqlx::query(&sql).bind(user.to_string()).fetch_all(&self.pool).await.map_err(storage_error)?;
        rows.iter().map(list_from_row).collect()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.find", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "find_list"))]
    async fn find_list(&self, id: ListId) -> Result<Option<UserList>, StorageError> {
        let sql = format!("SELECT {LIST_COLUMNS} FROM user_lists l WHERE l.id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await.map_err(storage_error)?;
        row.as_ref().map(list_from_row).transpose()
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.update", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "update_list"))]
    async fn update_list(
        &self,
        user: UserId,
        id: ListId,
        patch: &ListPatch,
        meta: &EventMeta,
    ) -> Result<UserList, ListRepoError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let mut list = own_list(&mut tx, self.backend, user, id).await?;
        if let Some(name) = &patch.name {
            list.slug = free_slug(&name.slug(), &slugs_of(&mut tx, user, Some(id)).await?);
            list.name = name.clone();
        }
        if let Some(description) = &patch.description {
            list.description.clone_from(description);
        }
        list.privacy = patch.privacy.unwrap_or(list.privacy);
        list.updated_at = meta.occurred_at;
        sqlx::query("UPDATE user_lists SET name = $1, slug = $2, description = $3, privacy = $4 WHERE id = $5")
            .bind(list.name.as_str())
            .bind(list.slug.as_str())
            .bind(list.description.clone())
            .bind(list.privacy.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        changed(&mut tx, user, id, ListChange::Updated, None, meta).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(UserList { updated_at: super::truncate(meta.occurred_at), ..list })
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.delete", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "delete_list"))]
    async fn delete_list(&self, user: UserId, id: ListId, meta: &EventMeta) -> Result<bool, StorageError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        match own_list(&mut tx, self.backend, user, id).await {
            Ok(_) => {}
            Err(ListRepoError::Storage(e)) => return Err(e),
            Err(_) => return Ok(false),
        }
        changed(&mut tx, user, id, ListChange::Deleted, None, meta).await?;
        for sql in ["DELETE FROM list_items WHERE list_id = $1", "DELETE FROM user_lists WHERE id = $1"] {
            sqlx::query(sql).bind(id.to_string()).execute(&mut *tx).await.map_err(storage_error)?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.put_item", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "put_item"))]
    async fn put_item(
        &self,
        user: UserId,
        id: ListId,
        movie: &MovieCard,
        notes: Option<String>,
        max_items: u64,
        meta: &EventMeta,
    ) -> Result<(ListItem, bool), ListRepoError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let list = own_list(&mut tx, self.backend, user, id).await?;
        let updated = sqlx::query("UPDATE list_items SET notes = $1 WHERE list_id = $2 AND movie_id = $3")
            .bind(notes.clone())
            .bind(id.to_string())
            .bind(movie.id.as_i64())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        let added = updated.rows_affected() == 0;
        if added {
            if list.item_count >= max_items {
                return Err(ListRepoError::LimitReached { limit: max_items });
            }
            sqlx::query(
                "INSERT INTO list_items (list_id, movie_id, title, year, poster_url, item_rank, notes, added_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id.to_string())
            .bind(movie.id.as_i64())
            .bind(movie.title.as_str())
            .bind(movie.year.map(i64::from))
            .bind(movie.poster_url.clone())
            .bind(list.item_count as i64 + 1)
            .bind(notes)
            .bind(micros(meta.occurred_at))
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        }
        let change = if added { ListChange::ItemAdded } else { ListChange::ItemUpdated };
        changed(&mut tx, user, id, change, Some(movie.id), meta).await?;
        let sql = format!("SELECT {ITEM_COLUMNS} FROM list_items WHERE list_id = $1 AND movie_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(movie.id.as_i64())
            .fetch_one(&mut *tx)
            .await
            .map_err(storage_error)?;
        let item = item_from_row(&row)?;
        tx.commit().await.map_err(storage_error)?;
        Ok((item, added))
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.remove_item", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "remove_item"))]
    async fn remove_item(
        &self,
        user: UserId,
        id: ListId,
        movie: MovieId,
        meta: &EventMeta,
    ) -> Result<bool, ListRepoError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        own_list(&mut tx, self.backend, user, id).await?;
        let gone = sqlx::query("DELETE FROM list_items WHERE list_id = $1 AND movie_id = $2")
            .bind(id.to_string())
            .bind(movie.as_i64())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        if gone.rows_affected() == 0 {
            return Ok(false);
        }
        let rest = item_ids(&mut tx, id).await?;
        write_ranks(&mut tx, id, &rest).await?;
        changed(&mut tx, user, id, ListChange::ItemRemoved, Some(movie), meta).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.items", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "items"))]
    async fn items(&self, id: ListId, page: PageRequest) -> Result<Page<ListItem>, StorageError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM list_items WHERE list_id = $1 ORDER BY item_rank, movie_id LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(id.to_string())
            .bind(page.per_page() as i64)
            .bind(page.offset() as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        let items = rows.iter().map(item_from_row).collect::<Result<Vec<_>, _>>()?;
        let total: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM list_items WHERE list_id = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(storage_error)?
            .try_get(0)
            .map_err(storage_error)?;
        Ok(page.page_of(items, total.max(0) as u64))
    }

    #[tracing::instrument(name = "db", skip_all, fields(otel.name = "lists.reorder", otel.kind = "client", db.system.name = self.system_name(), db.operation.name = "reorder"))]
    async fn reorder(
        &self,
        user: UserId,
        id: ListId,
        movies: &[MovieId],
        meta: &EventMeta,
    ) -> Result<(), ListRepoError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        own_list(&mut tx, self.backend, user, id).await?;
        let current = item_ids(&mut tx, id).await?;
        let missing: Vec<MovieId> = movies.iter().filter(|m| !current.contains(m)).copied().collect();
        if !missing.is_empty() {
            return Err(ListRepoError::NotOnList(missing));
        }
        let mut order: Vec<MovieId> = Vec::with_capacity(current.len());
        for m in movies.iter().chain(current.iter()) {
            if !order.contains(m) {
                order.push(*m);
            }
        }
        write_ranks(&mut tx, id, &order).await?;
        changed(&mut tx, user, id, ListChange::Reordered, None, meta).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(())
    }
}
