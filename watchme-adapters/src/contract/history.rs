//! The [`HistoryRepo`] contract, one scenario per function: plays added
//! once by content (with their events, atomically), the first play's
//! status, listing with filters, removals, and the activity times that
//! every write of the store moves. Each scenario expects a store of its own.

use time::OffsetDateTime;
use watchme_core::domain::{
    ActivityKind, Favorite, HistoryFilter, LibraryUpdate, MovieCard, MovieId, NewPlay, PageRequest, Play, PlayAction,
    PlayId, PlaySource, Rating, UserId, View, WatchStatus,
};
use watchme_core::ports::{HistoryRepo, LibraryRepo, Outbox};

use super::{at, meta, movie};

fn card(id: i64) -> MovieCard {
    MovieCard { id: MovieId::new(id).expect("id"), title: format!("Movie {id}"), year: Some(1999), poster_url: None }
}

fn play(id: i64, secs: i64) -> NewPlay {
    NewPlay { movie: card(id), watched_at: at(secs), action: PlayAction::Watch, source: PlaySource::Api }
}

fn when(plays: &[Play]) -> Vec<(u64, OffsetDateTime)> {
    plays.iter().map(|p| (p.movie.id.get(), p.watched_at)).collect()
}

async fn event_types(outbox: &dyn Outbox) -> Vec<&'static str> {
    let rows = outbox.claim(10_000, std::time::Duration::from_secs(60)).await.expect("claim");
    outbox.release(&rows.iter().map(|r| r.id).collect::<Vec<_>>()).await.expect("release");
    rows.iter().map(|r| r.event.event_type()).collect()
}

/// A play is the same as a stored one when movie and second match: a batch
/// sent twice adds nothing and reports the stored plays; equal plays inside
/// one batch add one. Each added play has its `play_recorded` event.
pub async fn history_adds_plays_once(history: &dyn HistoryRepo, outbox: &dyn Outbox) {
    let ada = UserId::new();
    let batch = [play(550, 100), play(550, 200), play(13, 100), play(550, 100)];
    let first = history.add_plays(ada, &batch, &meta(Some(ada), 1000)).await.expect("add");
    assert_eq!(when(&first.added), vec![(550, at(100)), (550, at(200)), (13, at(100))], "rewatches are plays");
    assert_eq!(when(&first.existing), vec![(550, at(100))], "a repeat inside the batch is the same play");
    assert_eq!(first.existing[0].id, first.added[0].id, "reported as the play it repeats");
    let played = event_types(outbox).await.iter().filter(|t| **t == "play_recorded").count();
    assert_eq!(played, 3, "one event per added play");

    let again = history.add_plays(ada, &batch[..3], &meta(Some(ada), 2000)).await.expect("add again");
    assert!(again.added.is_empty(), "nothing new");
    assert_eq!(
        again.existing.iter().map(|p| p.id).collect::<Vec<_>>(),
        first.added.iter().map(|p| p.id).collect::<Vec<_>>(),
        "the stored plays, as stored"
    );
    assert_eq!(again.existing[0], first.added[0], "a play round-trips whole");
    let bob = UserId::new();
    let other = history.add_plays(bob, &batch[..1], &meta(Some(bob), 3000)).await.expect("another user");
    assert_eq!(other.added.len(), 1, "users' histories are apart");
}

/// A movie's first play sets status `watched` (with its event), unless the
/// entry has it; later plays leave a status set by hand alone.
pub async fn history_first_play_marks_watched(history: &dyn HistoryRepo, library: &dyn LibraryRepo) {
    let ada = UserId::new();
    let status = |id: i64| async move {
        library.entry(ada, MovieId::new(id).expect("id")).await.expect("entry").and_then(|e| e.status)
    };
    let want = LibraryUpdate::new(Some(WatchStatus::WantToWatch), None).expect("update");
    library.upsert_entry(ada, &movie(13), want, &meta(Some(ada), 1)).await.expect("watchlist");
    history.add_plays(ada, &[play(550, 10), play(13, 10)], &meta(Some(ada), 20)).await.expect("add");
    assert_eq!(status(550).await, Some(WatchStatus::Watched), "no entry: watched");
    assert_eq!(status(13).await, Some(WatchStatus::Watched), "on the watchlist: watched");

    let rewatching = LibraryUpdate::new(Some(WatchStatus::Watching), None).expect("update");
    library.upsert_entry(ada, &movie(550), rewatching, &meta(Some(ada), 30)).await.expect("by hand");
    history.add_plays(ada, &[play(550, 40)], &meta(Some(ada), 50)).await.expect("a rewatch");
    assert_eq!(status(550).await, Some(WatchStatus::Watching), "not a first play: the status stays");
    let rated = LibraryUpdate::new(None, Some(Rating::new(8).expect("rating"))).expect("update");
    library.upsert_entry(ada, &movie(603), rated, &meta(Some(ada), 60)).await.expect("rated");
    history.add_plays(ada, &[play(603, 70)], &meta(Some(ada), 80)).await.expect("add");
    let entry = library.entry(ada, MovieId::new(603).expect("id")).await.expect("entry").expect("kept");
    assert_eq!((entry.status, entry.rating.map(|r| r.get())), (Some(WatchStatus::Watched), Some(8)), "rating kept");
}

/// Plays list newest first, by movie and inside a time range, paged.
pub async fn history_lists_plays(history: &dyn HistoryRepo) {
    let ada = UserId::new();
    let plays = [play(550, 100), play(13, 300), play(550, 200), play(603, 400)];
    history.add_plays(ada, &plays, &meta(Some(ada), 1000)).await.expect("add");
    history.add_plays(UserId::new(), &plays, &meta(None, 1000)).await.expect("another user's");
    let list = |filter: HistoryFilter, page: PageRequest| async move {
        let p = history.plays(ada, filter, page).await.expect("plays");
        (when(&p.items), p.total_items)
    };
    let all = HistoryFilter::default();
    let (items, total) = list(all, PageRequest::first()).await;
    assert_eq!(total, 4);
    assert_eq!(items.iter().map(|i| i.1).collect::<Vec<_>>(), vec![at(400), at(300), at(200), at(100)], "newest first");
    let fight_club = HistoryFilter { movie: Some(MovieId::new(550).expect("id")), ..all };
    assert_eq!(list(fight_club, PageRequest::first()).await, (vec![(550, at(200)), (550, at(100))], 2), "one movie");
    let range = HistoryFilter { start_at: Some(at(200)), end_at: Some(at(300)), ..all };
    assert_eq!(list(range, PageRequest::first()).await, (vec![(13, at(300)), (550, at(200))], 2), "inclusive range");
    let second = PageRequest::new(Some(2), Some(3)).expect("page");
    assert_eq!(list(all, second).await, (vec![(550, at(100))], 4), "paged");
}

/// One play, or every play of a movie, goes with its `play_removed` event;
/// another user's play is absent; the library status stays.
pub async fn history_removes_plays(history: &dyn HistoryRepo, library: &dyn LibraryRepo, outbox: &dyn Outbox) {
    let ada = UserId::new();
    let added = history
        .add_plays(ada, &[play(550, 100), play(550, 200), play(13, 100)], &meta(Some(ada), 1000))
        .await
        .expect("add")
        .added;
    let bob = UserId::new();
    assert_eq!(history.remove_play(bob, added[0].id, &meta(Some(bob), 1100)).await.expect("remove"), None, "not bob's");
    assert_eq!(history.remove_play(ada, PlayId::new(), &meta(Some(ada), 1100)).await.expect("remove"), None);
    let gone = history.remove_play(ada, added[0].id, &meta(Some(ada), 1200)).await.expect("remove");
    assert_eq!(gone.as_ref(), Some(&added[0]), "the removed play");
    let rest = history.remove_plays_of(ada, MovieId::new(550).expect("id"), &meta(Some(ada), 1300)).await.expect("all");
    assert_eq!(when(&rest), vec![(550, at(200))], "the movie's other play");
    assert!(history
        .remove_plays_of(ada, MovieId::new(550).expect("id"), &meta(None, 1400))
        .await
        .expect("x")
        .is_empty());
    let left = history.plays(ada, HistoryFilter::default(), PageRequest::first()).await.expect("plays");
    assert_eq!(when(&left.items), vec![(13, at(100))]);
    let entry = library.entry(ada, MovieId::new(550).expect("id")).await.expect("entry");
    assert_eq!(entry.and_then(|e| e.status), Some(WatchStatus::Watched), "removing plays keeps the status");
    let removed = event_types(outbox).await.iter().filter(|t| **t == "play_removed").count();
    assert_eq!(removed, 2, "one event per removed play");
}

/// Every write moves its own part of the user's activity, and only that.
pub async fn history_activity_follows_every_write(history: &dyn HistoryRepo, library: &dyn LibraryRepo) {
    let ada = UserId::new();
    let now = |kind| async move { history.activity(ada).await.expect("activity").get(kind) };
    assert_eq!(history.activity(ada).await.expect("activity").all(), None, "nothing yet");
    let view = View { user_id: ada, movie: movie(1), viewed_at: at(10) };
    library.record_views(&[view], &[]).await.expect("view");
    assert_eq!(now(ActivityKind::Views).await, Some(at(10)));
    let fav = Favorite { user_id: ada, movie: movie(1), added_at: at(20) };
    let ev = super::login_event(ada, 20);
    library.add_favorite(&fav, &ev).await.expect("favorite");
    assert_eq!(now(ActivityKind::Favorites).await, Some(at(20)));
    let rating = LibraryUpdate::new(None, Some(Rating::new(7).expect("rating"))).expect("update");
    library.upsert_entry(ada, &movie(1), rating, &meta(Some(ada), 30)).await.expect("rate");
    assert_eq!((now(ActivityKind::Ratings).await, now(ActivityKind::Library).await), (Some(at(30)), None));
    let status = LibraryUpdate::new(Some(WatchStatus::WantToWatch), None).expect("update");
    library.upsert_entry(ada, &movie(1), status, &meta(Some(ada), 40)).await.expect("status");
    assert_eq!((now(ActivityKind::Library).await, now(ActivityKind::Ratings).await), (Some(at(40)), Some(at(30))));
    library.upsert_entry(ada, &movie(1), status, &meta(Some(ada), 45)).await.expect("the same again");
    assert_eq!(now(ActivityKind::Library).await, Some(at(40)), "a write that changes nothing moves nothing");
    history.add_plays(ada, &[play(2, 5)], &meta(Some(ada), 50)).await.expect("play");
    assert_eq!((now(ActivityKind::History).await, now(ActivityKind::Library).await), (Some(at(50)), Some(at(50))));
    history.add_plays(ada, &[play(2, 5)], &meta(Some(ada), 55)).await.expect("the same play");
    assert_eq!(now(ActivityKind::History).await, Some(at(50)), "an existing play moves nothing");
    library.remove_entry(ada, MovieId::new(1).expect("id"), &meta(Some(ada), 60)).await.expect("remove");
    assert_eq!((now(ActivityKind::Library).await, now(ActivityKind::Ratings).await), (Some(at(60)), Some(at(60))));
    library.remove_favorite(ada, MovieId::new(1).expect("id"), &super::login_event(ada, 70)).await.expect("unfav");
    assert_eq!(now(ActivityKind::Favorites).await, Some(at(70)));
    let a = history.activity(ada).await.expect("activity");
    assert_eq!((a.all(), a.get(ActivityKind::Lists)), (Some(at(70)), None), "all is the latest; lists never moved");
    assert_eq!(history.activity(UserId::new()).await.expect("activity").all(), None, "users are apart");
}
