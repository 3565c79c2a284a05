//! The export: everything a user keeps (plays, library, favorites, lists,
//! views) as [`WatchmeExport`], and as the ZIP the [`ExportWriter`] port
//! makes of it (`watchme.json`, plus Letterboxd's and IMDb's import
//! layouts). Importing it into another account gives back the same data.
//!
//! [`ExportWriter`]: crate::ports::ExportWriter

use std::collections::HashMap;

use crate::domain::{
    ExportEntry, ExportList, ExportListItem, ExportMark, ExportMovie, ExportPlay, HistoryFilter, MovieId,
    RequestContext, WatchmeExport, EXPORT_VERSION,
};

use super::{every_page, ImportError, ImportService};

/// A read that failed, as the export reports it.
fn read(e: impl std::fmt::Display) -> ImportError {
    ImportError::Read(e.to_string())
}

impl ImportService {
    /// Everything the caller keeps. IMDb ids and years come from the movie
    /// service (cached) where the stored rows lack them; a movie it cannot
    /// answer for keeps what the rows have.
    ///
    /// # Errors
    /// [`ImportError`] when a read fails.
    pub async fn export(&self, ctx: &RequestContext) -> Result<WatchmeExport, ImportError> {
        Self::user(ctx)?;
        let mut plays = every_page(|p| self.history.plays(ctx, HistoryFilter::default(), p)).await.map_err(read)?;
        plays.reverse();
        let entries = every_page(|p| self.library.entries(ctx, None, p)).await.map_err(read)?;
        let favorites = every_page(|p| self.library.favorites(ctx, p)).await.map_err(read)?;
        let views = every_page(|p| self.library.views(ctx, p)).await.map_err(read)?;
        let lists = self.lists.mine(ctx).await.map_err(read)?;
        let mut movies: HashMap<MovieId, ExportMovie> = HashMap::new();
        let mut list_items = Vec::with_capacity(lists.len());
        for l in &lists {
            list_items.push(every_page(|p| self.lists.items(ctx, l.id, p)).await.map_err(read)?);
        }
        let ids = plays
            .iter()
            .map(|p| (p.movie.id, &p.movie.title, p.movie.year))
            .chain(entries.iter().map(|e| (e.movie.id, &e.movie.title, None)))
            .chain(favorites.iter().map(|f| (f.movie.id, &f.movie.title, None)))
            .chain(views.iter().map(|v| (v.movie.id, &v.movie.title, None)))
            .chain(list_items.iter().flatten().map(|i| (i.movie.id, &i.movie.title, i.movie.year)));
        for (id, title, year) in ids {
            if movies.contains_key(&id) {
                continue;
            }
            let known = self.movies.details_shared(id).await.ok();
            let movie = ExportMovie {
                tmdb_id: id.get(),
                title: title.clone(),
                year: year.or_else(|| known.as_ref().and_then(|d| d.value.release_date.map(|r| r.year()))),
                imdb_id: known.as_ref().and_then(|d| d.value.imdb_id.clone()),
            };
            movies.insert(id, movie);
        }
        let movie = |id: MovieId| {
            movies.get(&id).cloned().unwrap_or(ExportMovie {
                tmdb_id: id.get(),
                title: String::new(),
                year: None,
                imdb_id: None,
            })
        };
        Ok(WatchmeExport {
            version: EXPORT_VERSION,
            exported_at: self.clock.now(),
            plays: plays
                .iter()
                .map(|p| ExportPlay {
                    movie: movie(p.movie.id),
                    watched_at: p.watched_at,
                    action: p.action,
                    source: p.source,
                })
                .collect(),
            library: entries
                .iter()
                .map(|e| ExportEntry {
                    movie: movie(e.movie.id),
                    status: e.status,
                    rating: e.rating,
                    updated_at: e.updated_at,
                })
                .collect(),
            favorites: favorites.iter().map(|f| ExportMark { movie: movie(f.movie.id), at: f.added_at }).collect(),
            lists: lists
                .iter()
                .zip(list_items)
                .map(|(l, items)| ExportList {
                    name: l.name.as_str().to_owned(),
                    description: l.description.clone(),
                    privacy: l.privacy,
                    items: items
                        .into_iter()
                        .map(|i| ExportListItem { movie: movie(i.movie.id), rank: i.rank, notes: i.notes })
                        .collect(),
                })
                .collect(),
            views: views.iter().map(|v| ExportMark { movie: movie(v.movie.id), at: v.viewed_at }).collect(),
        })
    }

    /// [`ImportService::export`] as the export ZIP.
    ///
    /// # Errors
    /// [`ImportError`] when a read fails or the ZIP cannot be written.
    pub async fn export_zip(&self, ctx: &RequestContext) -> Result<Vec<u8>, ImportError> {
        let export = self.export(ctx).await?;
        Ok(self.writer.write(&export)?)
    }
}
