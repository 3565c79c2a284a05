//! The [`Outbox`] contract, one scenario per function: claim order and
//! leases, publishing and releasing, lease expiry, pruning, out-of-order
//! publishing; and the outbox's atomicity with the repositories' writes.
//! Each scenario expects a store of its own.

use std::time::Duration;

use watchme_core::domain::{
    EventEnvelope, EventPayload, Favorite, LibraryUpdate, MovieId, PageRequest, UserId, View, WatchStatus,
};
use watchme_core::ports::{LibraryRepo, Outbox, OutboxRecord, OutboxStats, UserRepo};

use super::{at, login_event, meta, movie, sample_user};

const LEASE: Duration = Duration::from_secs(30);

/// Appends `n` login events of one user, returning them.
async fn appended(outbox: &dyn Outbox, n: i64) -> Vec<EventEnvelope> {
    let user = UserId::new();
    let events: Vec<EventEnvelope> = (0..n).map(|i| login_event(user, i)).collect();
    outbox.append(&events).await.expect("append");
    events
}

fn row_ids(rows: &[OutboxRecord]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

/// Claims hand out the oldest events first, each whole, and a leased event
/// is not claimed twice; stats count the backlog.
pub async fn outbox_claims_oldest_first(outbox: &dyn Outbox) {
    let events = appended(outbox, 5).await;
    let stats = outbox.stats().await.expect("stats");
    assert_eq!((stats.unpublished, stats.oldest_unpublished_at), (5, Some(at(0))), "stats count the backlog");
    let first = outbox.claim(3, LEASE).await.expect("claim");
    assert_eq!(
        first.iter().map(|r| r.event.event_id).collect::<Vec<_>>(),
        events[..3].iter().map(|e| e.event_id).collect::<Vec<_>>(),
        "claims oldest first"
    );
    assert!(first.windows(2).all(|w| w[0].id < w[1].id), "ids increase with insertion order");
    assert_eq!(first[0].event, events[0], "event round-trips through the outbox");
    let second = outbox.claim(10, LEASE).await.expect("claim");
    assert_eq!(second.len(), 2, "leased events are not claimed twice");
    assert!(outbox.claim(10, LEASE).await.expect("claim").is_empty(), "everything is leased");
}

/// Published events never come back (marking is idempotent); released ones
/// do, with their attempts counted.
pub async fn outbox_publishes_and_releases(outbox: &dyn Outbox) {
    appended(outbox, 5).await;
    let first = outbox.claim(3, LEASE).await.expect("claim");
    let second = outbox.claim(10, LEASE).await.expect("claim");
    outbox.mark_published(&row_ids(&first)).await.expect("mark");
    outbox.mark_published(&row_ids(&first)).await.expect("mark twice is idempotent");
    outbox.release(&row_ids(&second)).await.expect("release");
    let again = outbox.claim(10, LEASE).await.expect("claim");
    assert_eq!(row_ids(&again), row_ids(&second), "released events come back, published ones never");
    assert!(again.iter().all(|r| r.attempts >= 1), "attempts count earlier claims");
    assert_eq!(outbox.stats().await.expect("stats").unpublished, 2, "published events leave the backlog");
}

/// A lease holds its events until it ends; then they are claimable again.
pub async fn outbox_leases_expire(outbox: &dyn Outbox) {
    appended(outbox, 2).await;
    let leased = outbox.claim(10, LEASE).await.expect("claim");
    assert!(outbox.claim(10, Duration::from_millis(1)).await.expect("claim").is_empty(), "still leased");
    outbox.release(&row_ids(&leased)).await.expect("release");
    let expiring = outbox.claim(10, Duration::from_millis(50)).await.expect("claim");
    assert_eq!(expiring.len(), 2, "claim after release");
    // Polled: the lease ends 50 ms on, and then the events come back.
    let started = std::time::Instant::now();
    loop {
        let freed = outbox.claim(10, LEASE).await.expect("claim");
        if !freed.is_empty() {
            assert_eq!(freed.len(), 2, "an expired lease frees its events");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the lease never expired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Pruning removes published events only.
pub async fn outbox_prunes_published_only(outbox: &dyn Outbox) {
    appended(outbox, 5).await;
    let first = outbox.claim(3, LEASE).await.expect("claim");
    outbox.mark_published(&row_ids(&first)).await.expect("mark");
    let far_future = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    assert_eq!(outbox.prune_published(far_future).await.expect("prune"), 3, "prune removes published events only");
    assert_eq!(outbox.stats().await.expect("stats").unpublished, 2, "unpublished events survive pruning");
    assert_eq!(outbox.claim(10, LEASE).await.expect("claim").len(), 2, "and are still claimable");
}

/// Events handed over by value queue behind the others; two relays may
/// publish a later batch before an earlier one, and the gaps this leaves
/// are skipped.
pub async fn outbox_publishes_out_of_order(outbox: &dyn Outbox) {
    let before = appended(outbox, 2).await;
    let leased = outbox.claim(10, LEASE).await.expect("claim");
    assert_eq!(leased.len(), before.len());
    let more: Vec<EventEnvelope> = (5..9).map(|i| login_event(UserId::new(), i)).collect();
    outbox.append_owned(more.clone()).await.expect("append owned");
    let newer = outbox.claim(10, LEASE).await.expect("claim");
    assert_eq!(
        newer.iter().map(|r| r.event.event_id).collect::<Vec<_>>(),
        more.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        "owned appends are claimed in order, behind the leased ones"
    );
    outbox.mark_published(&[newer[2].id, newer[3].id]).await.expect("mark later first");
    assert_eq!(outbox.stats().await.expect("stats").unpublished, 4, "out-of-order publishing counts right");
    let far_future = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let pruned = outbox.prune_published(far_future).await.expect("prune");
    assert!(pruned <= 2, "only published rows go, {pruned}");
    assert_eq!(outbox.stats().await.expect("stats").unpublished, 4, "pruning keeps the backlog");
    let still: Vec<i64> = row_ids(&outbox.claim(10, Duration::from_millis(1)).await.expect("claim"));
    assert!(still.is_empty(), "everything unpublished is still leased: {still:?}");
    outbox.release(&[newer[0].id, newer[1].id]).await.expect("release");
    let back = outbox.claim(10, LEASE).await.expect("claim");
    assert_eq!(row_ids(&back), vec![newer[0].id, newer[1].id], "gaps are skipped");
    let all: Vec<i64> = row_ids(&back).into_iter().chain(row_ids(&leased)).collect();
    outbox.mark_published(&all).await.expect("mark the rest");
    assert_eq!(outbox.stats().await.expect("stats"), OutboxStats { unpublished: 0, oldest_unpublished_at: None });
    outbox.prune_published(far_future).await.expect("prune");
    assert!(outbox.claim(10, LEASE).await.expect("claim").is_empty(), "nothing left to publish");
}

/// Every repository write appends exactly its events to `outbox`, in the
/// same atomic step; rejected writes append nothing. `users`, `library` and
/// `outbox` must share one store.
pub async fn outbox_atomic_with_writes(users: &dyn UserRepo, library: &dyn LibraryRepo, outbox: &dyn Outbox) {
    let count = || async { outbox.stats().await.expect("stats").unpublished };
    let ada = sample_user("atomic@example.com");
    users.create(&ada, &[login_event(ada.id, 0)]).await.expect("create");
    assert_eq!(count().await, 1, "create appends its event");
    let _ = users.create(&sample_user("atomic@example.com"), &[login_event(ada.id, 1)]).await;
    assert_eq!(count().await, 1, "a refused create appends nothing");
    users.record_login(ada.id, at(2), &[login_event(ada.id, 2)]).await.expect("login");
    assert_eq!(count().await, 2, "record_login appends");

    let view = View { user_id: ada.id, movie: movie(1), viewed_at: at(3) };
    library.record_views(std::slice::from_ref(&view), &[login_event(ada.id, 3)]).await.expect("view");
    assert_eq!(count().await, 3, "record_views appends");

    let fav = Favorite { user_id: ada.id, movie: movie(1), added_at: at(4) };
    let ev = EventEnvelope::new(
        EventPayload::FavoriteAdded { user_id: ada.id, movie_id: fav.movie.id, title: fav.movie.title.clone() },
        &meta(Some(ada.id), 4),
    );
    library.add_favorite(&fav, &ev).await.expect("add");
    library.add_favorite(&fav, &ev).await.expect("add again");
    assert_eq!(count().await, 4, "only a real add appends");
    let rm = EventEnvelope::new(
        EventPayload::FavoriteRemoved { user_id: ada.id, movie_id: fav.movie.id },
        &meta(Some(ada.id), 5),
    );
    library.remove_favorite(ada.id, fav.movie.id, &rm).await.expect("remove");
    library.remove_favorite(ada.id, fav.movie.id, &rm).await.expect("remove again");
    assert_eq!(count().await, 5, "only a real removal appends");

    let upd =
        LibraryUpdate::new(Some(WatchStatus::Watched), Some(watchme_core::domain::Rating::new(9).unwrap())).unwrap();
    library.upsert_entry(ada.id, &movie(7), upd, &meta(Some(ada.id), 6)).await.expect("upsert");
    assert_eq!(count().await, 7, "upsert appends status and rating events");
    library.upsert_entry(ada.id, &movie(7), upd, &meta(Some(ada.id), 7)).await.expect("same upsert");
    assert_eq!(count().await, 7, "an upsert that changes nothing appends nothing");
    library.remove_entry(ada.id, MovieId::new(7).unwrap(), &meta(Some(ada.id), 8)).await.expect("remove");
    library.remove_entry(ada.id, MovieId::new(7).unwrap(), &meta(Some(ada.id), 9)).await.expect("remove again");
    assert_eq!(count().await, 8, "only a real removal appends");

    let types: Vec<&str> =
        outbox.claim(100, LEASE).await.expect("claim").iter().map(|r| r.event.event_type()).collect();
    assert_eq!(
        types,
        vec![
            "user_logged_in",
            "user_logged_in",
            "user_logged_in",
            "favorite_added",
            "favorite_removed",
            "watch_status_changed",
            "movie_rated",
            "library_entry_removed"
        ],
        "events in commit order"
    );
}

/// A group commit's batch: many users' views and their events in one
/// [`LibraryRepo::record_views`], more rows than one statement of an SQL
/// adapter holds, all stored; an empty batch is no error. `library` and
/// `outbox` must share one store.
pub async fn record_views_stores_a_whole_batch(library: &dyn LibraryRepo, outbox: &dyn Outbox) {
    let before = outbox.stats().await.expect("stats").unpublished;
    let users: Vec<UserId> = (0..3).map(|_| UserId::new()).collect();
    let views: Vec<View> = (0..1200)
        .map(|i| View { user_id: users[i % 3], movie: movie(1 + (i % 7) as i64), viewed_at: at(10 + i as i64) })
        .collect();
    let events: Vec<EventEnvelope> = (0..1200).map(|i| login_event(users[i % 3], 10 + i as i64)).collect();
    library.record_views(&views, &events).await.expect("a batch of views");
    assert_eq!(outbox.stats().await.expect("stats").unpublished, before + 1200, "every event of the batch");
    for u in &users {
        let first = library.views(*u, PageRequest::first()).await.expect("views");
        assert_eq!(first.total_items, 400, "every view of the batch");
        assert_eq!(first.items[0].viewed_at, at(10 + 1197 + users.iter().position(|x| x == u).unwrap() as i64));
    }
    library.record_views(&[], &[]).await.expect("an empty batch is fine");
}

/// [`Outbox::mark_published_and_drop`]: the events are gone (not claimed
/// again, not counted), the others stay claimable; idempotent.
pub async fn outbox_drops_published_events(outbox: &dyn Outbox) {
    let user = UserId::new();
    let events: Vec<EventEnvelope> = (0..4).map(|i| login_event(user, i)).collect();
    outbox.append(&events).await.expect("append");
    let claimed = outbox.claim(2, LEASE).await.expect("claim");
    let ids: Vec<i64> = claimed.iter().map(|r| r.id).collect();
    outbox.mark_published_and_drop(&ids).await.expect("drop");
    outbox.mark_published_and_drop(&ids).await.expect("dropping twice is idempotent");
    outbox.mark_published_and_drop(&[]).await.expect("nothing to drop");
    assert_eq!(outbox.stats().await.expect("stats").unpublished, 2, "the two others wait");
    let rest = outbox.claim(10, LEASE).await.expect("claim");
    assert_eq!(
        rest.iter().map(|r| r.event.event_id).collect::<Vec<_>>(),
        events[2..].iter().map(|e| e.event_id).collect::<Vec<_>>(),
        "dropped events are never claimed again"
    );
    let far = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    assert_eq!(outbox.prune_published(far).await.expect("prune"), 0, "nothing left of them to prune");
}
