//! The [`LibraryRepo`] contract, one scenario per function: views,
//! favorites, library entries. Each scenario expects a store of its own.

use watchme_core::domain::{
    EventEnvelope, EventPayload, Favorite, LibraryUpdate, MovieId, PageRequest, Rating, UserId, View, WatchStatus,
};
use watchme_core::ports::LibraryRepo;

use super::{at, meta, movie};

fn page(p: i64, per: i64) -> PageRequest {
    PageRequest::new(Some(p), Some(per)).expect("valid page")
}

/// Views: newest first, per user, paged.
pub async fn library_views(repo: &dyn LibraryRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    for (i, id) in [10, 20, 30].into_iter().enumerate() {
        let view = View { user_id: ada, movie: movie(id), viewed_at: at(i as i64) };
        repo.record_views(std::slice::from_ref(&view), &[]).await.expect("record view");
    }
    let views = repo.views(ada, page(1, 2)).await.expect("views");
    assert_eq!(views.items.iter().map(|v| v.movie.id.get()).collect::<Vec<_>>(), vec![30, 20], "views newest first");
    assert_eq!((views.total_items, views.total_pages), (3, 2), "view totals");
    assert_eq!(views.items[0].movie.title, "Movie 30", "title stored with the view");
    assert_eq!(repo.views(bob, PageRequest::first()).await.expect("views").total_items, 0, "views are per user");
}

/// Favorites: idempotent add and remove, newest first, per user.
pub async fn library_favorites(repo: &dyn LibraryRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let fav = |id, secs| Favorite { user_id: ada, movie: movie(id), added_at: at(secs) };
    let added = |id| {
        EventEnvelope::new(
            EventPayload::FavoriteAdded { user_id: ada, movie_id: MovieId::new(id).unwrap(), title: String::new() },
            &meta(Some(ada), 0),
        )
    };
    assert!(repo.add_favorite(&fav(1, 1), &added(1)).await.expect("add"), "first add adds");
    assert!(!repo.add_favorite(&fav(1, 2), &added(1)).await.expect("add again"), "second add is a no-op");
    assert!(repo.add_favorite(&fav(2, 3), &added(2)).await.expect("add"), "another movie");
    let favs = repo.favorites(ada, PageRequest::first()).await.expect("favorites");
    assert_eq!(
        favs.items.iter().map(|f| f.movie.id.get()).collect::<Vec<_>>(),
        vec![2, 1],
        "favorites newest first, no duplicate"
    );
    let removed = EventEnvelope::new(
        EventPayload::FavoriteRemoved { user_id: ada, movie_id: MovieId::new(1).unwrap() },
        &meta(Some(ada), 4),
    );
    assert!(repo.remove_favorite(ada, MovieId::new(1).unwrap(), &removed).await.expect("remove"), "remove present");
    assert!(
        !repo.remove_favorite(ada, MovieId::new(1).unwrap(), &removed).await.expect("remove again"),
        "remove absent is false"
    );
    assert_eq!(
        repo.favorites(bob, PageRequest::first()).await.expect("favorites").total_items,
        0,
        "favorites are per user"
    );
}

/// Entries: upsert keeps unset fields, reports before/after, filters by
/// status; removal reports what it removed; per user.
pub async fn library_entries(repo: &dyn LibraryRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let watching = LibraryUpdate::new(Some(WatchStatus::Watching), None).expect("update");
    let c1 = repo.upsert_entry(ada, &movie(100), watching, &meta(Some(ada), 10)).await.expect("upsert");
    assert!(c1.before.is_none(), "first upsert has no before");
    let rate = LibraryUpdate::new(None, Some(Rating::new(7).expect("rating"))).expect("update");
    let c2 = repo.upsert_entry(ada, &movie(100), rate, &meta(Some(ada), 20)).await.expect("upsert");
    assert_eq!(c2.before.as_ref().and_then(|b| b.status), Some(WatchStatus::Watching), "before is the stored entry");
    let after = c2.after.expect("after");
    assert_eq!(
        (after.status, after.rating.map(|r| r.get())),
        (Some(WatchStatus::Watching), Some(7)),
        "status kept, rating set"
    );
    assert_eq!((after.added_at, after.updated_at), (at(10), at(20)), "added_at kept, updated_at moved");
    let stored = repo.entry(ada, MovieId::new(100).unwrap()).await.expect("entry").expect("exists");
    assert_eq!(stored, after, "entry returns what upsert stored");

    let want = LibraryUpdate::new(Some(WatchStatus::WantToWatch), None).expect("update");
    repo.upsert_entry(ada, &movie(200), want, &meta(Some(ada), 30)).await.expect("upsert");
    let all = repo.entries(ada, None, PageRequest::first()).await.expect("entries");
    assert_eq!(
        all.items.iter().map(|e| e.movie.id.get()).collect::<Vec<_>>(),
        vec![200, 100],
        "entries by last update"
    );
    let only = repo.entries(ada, Some(WatchStatus::Watching), PageRequest::first()).await.expect("entries");
    assert_eq!(only.items.iter().map(|e| e.movie.id.get()).collect::<Vec<_>>(), vec![100], "status filter");
    assert_eq!(only.total_items, 1, "filtered total");

    let gone = repo.remove_entry(ada, MovieId::new(100).unwrap(), &meta(Some(ada), 40)).await.expect("remove");
    assert!(gone.before.is_some() && gone.after.is_none(), "remove reports the removed entry");
    let again = repo.remove_entry(ada, MovieId::new(100).unwrap(), &meta(Some(ada), 41)).await.expect("remove again");
    assert!(again.before.is_none() && again.after.is_none(), "removing an absent entry changes nothing");
    assert!(repo.entry(ada, MovieId::new(100).unwrap()).await.expect("entry").is_none(), "entry gone");
    assert_eq!(
        repo.entries(bob, None, PageRequest::first()).await.expect("entries").total_items,
        0,
        "entries are per user"
    );
}
