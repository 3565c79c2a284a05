//! LibraryService, AnalyticsService and the outbox relay over memory adapters.

mod common;

use watchme_core::domain::{
    LibraryUpdate, MovieId, PageRequest, Rating, RequestContext, TrendingWindow, UserId, WatchStatus,
};
use watchme_core::services::LibraryError;

fn id(n: i64) -> MovieId {
    MovieId::new(n).unwrap()
}

/// Writes the counted anonymous views, then publishes every pending event.
async fn drain(k: &common::Kit) {
    k.library.flush_anonymous_views().await.unwrap();
    while k.relay.run_once().await.unwrap() > 0 {}
}

#[tokio::test]
async fn favorites_are_idempotent_and_counted_once() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let (fav, added) = k.library.add_favorite(&ctx, id(550)).await.unwrap();
    assert!(added);
    assert_eq!(fav.movie.title, "Fight Club");
    assert!(!k.library.add_favorite(&ctx, id(550)).await.unwrap().1);
    drain(&k).await;
    assert_eq!(k.analytics.movie_stats(id(550)).await.unwrap().favorites, 1);
    assert!(k.library.remove_favorite(&ctx, id(550)).await.unwrap());
    assert!(!k.library.remove_favorite(&ctx, id(550)).await.unwrap());
    drain(&k).await;
    assert_eq!(k.analytics.movie_stats(id(550)).await.unwrap().favorites, 0);
    assert_eq!(k.library.favorites(&ctx, PageRequest::first()).await.unwrap().total_items, 0);
}

#[tokio::test]
async fn unknown_movies_and_anonymous_callers_are_refused() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    assert!(matches!(k.library.add_favorite(&ctx, id(999_999)).await, Err(LibraryError::MovieNotFound)));
    let upd = LibraryUpdate::new(Some(WatchStatus::Watched), None).unwrap();
    assert!(matches!(k.library.update_entry(&ctx, id(999_999), upd).await, Err(LibraryError::MovieNotFound)));
    let anon = RequestContext::anonymous();
    assert!(matches!(k.library.views(&anon, PageRequest::first()).await, Err(LibraryError::Unauthenticated)));
    assert!(matches!(k.library.add_favorite(&anon, id(550)).await, Err(LibraryError::Unauthenticated)));
}

#[tokio::test]
async fn library_entries_feed_status_and_rating_aggregates() {
    let k = common::kit();
    let (ada, bob) = (RequestContext::user(UserId::new()), RequestContext::user(UserId::new()));
    let set = |s, r: Option<i64>| LibraryUpdate::new(s, r.map(|r| Rating::new(r).unwrap())).unwrap();
    k.library.update_entry(&ada, id(603), set(Some(WatchStatus::WantToWatch), None)).await.unwrap();
    k.library.update_entry(&ada, id(603), set(Some(WatchStatus::Watched), Some(9))).await.unwrap();
    k.library.update_entry(&bob, id(603), set(Some(WatchStatus::Watched), Some(6))).await.unwrap();
    k.library.update_entry(&bob, id(603), set(None, Some(7))).await.unwrap();
    k.library.update_entry(&bob, id(13), set(Some(WatchStatus::Watching), None)).await.unwrap();
    drain(&k).await;
    let s = k.analytics.movie_stats(id(603)).await.unwrap();
    assert_eq!((s.want_to_watch, s.watched, s.ratings_count, s.rating_average()), (0, 2, 2, Some(8.0)));

    let watched = k.library.entries(&bob, Some(WatchStatus::Watched), PageRequest::first()).await.unwrap();
    assert_eq!(watched.items.iter().map(|e| e.movie.id.get()).collect::<Vec<_>>(), vec![603]);
    assert_eq!(k.library.entries(&bob, None, PageRequest::first()).await.unwrap().total_items, 2);

    assert!(k.library.remove_entry(&ada, id(603)).await.unwrap());
    assert!(!k.library.remove_entry(&ada, id(603)).await.unwrap());
    drain(&k).await;
    let s = k.analytics.movie_stats(id(603)).await.unwrap();
    assert_eq!((s.watched, s.ratings_count, s.rating_average()), (1, 1, Some(7.0)));
}

#[tokio::test]
async fn views_are_recorded_for_users_and_counted_for_everyone() {
    let k = common::kit();
    let ada = RequestContext::user(UserId::new());
    let movie = k.movies.details(id(550)).await.unwrap().value;
    k.library.record_view(&ada, &movie).await.unwrap();
    k.library.record_view(&ada, &movie).await.unwrap();
    k.library.record_view(&RequestContext::anonymous(), &movie).await.unwrap();
    drain(&k).await;
    let s = k.analytics.movie_stats(id(550)).await.unwrap();
    assert_eq!((s.views, s.unique_viewers), (3, 1));
    assert_eq!(k.library.views(&ada, PageRequest::first()).await.unwrap().total_items, 2);
    let trending =
        k.analytics.trending(TrendingWindow::Day, 10, watchme_core::domain::TrendingBy::Views).await.unwrap();
    assert_eq!((trending[0].movie_id, trending[0].views, trending[0].title.as_str()), (id(550), 3, "Fight Club"));
}

#[tokio::test]
async fn a_stopped_bus_loses_nothing_and_the_relay_delivers_everything_once_it_is_back() {
    let k = common::kit();
    k.bus.set_available(false);
    let movie = k.movies.details(id(550)).await.unwrap().value;
    let users: Vec<_> = (0..5).map(|_| RequestContext::user(UserId::new())).collect();
    for u in &users {
        for _ in 0..4 {
            k.library.record_view(u, &movie).await.expect("user actions succeed while the bus is down");
        }
    }
    assert!(k.relay.run_once().await.is_err(), "the relay reports the bus failure");
    use watchme_core::ports::Outbox;
    assert_eq!(k.store.stats().await.unwrap().unpublished, 20, "every event waits in the outbox");
    assert_eq!(k.analytics.movie_stats(id(550)).await.unwrap().views, 0);

    k.bus.set_available(true);
    drain(&k).await;
    assert_eq!(k.bus.published(), 20);
    assert_eq!(k.store.stats().await.unwrap().unpublished, 0);
    let s = k.analytics.movie_stats(id(550)).await.unwrap();
    assert_eq!((s.views, s.unique_viewers), (20, 5));
}

#[tokio::test]
async fn the_relay_backs_off_exponentially_with_jitter_and_a_cap() {
    let k = common::kit();
    let first = k.relay.backoff(1);
    assert!(
        first >= std::time::Duration::from_millis(100) && first <= std::time::Duration::from_millis(200),
        "{first:?}"
    );
    let late = k.relay.backoff(30);
    assert!(late >= std::time::Duration::from_secs(15) && late <= std::time::Duration::from_secs(30), "{late:?}");
}
