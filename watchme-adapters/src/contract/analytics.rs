//! The [`AnalyticsStore`] contract, one scenario per function:
//! idempotence, movie counts, clamped decrements, trending windows, user
//! statistics, forgetting applied ids, and a batch counting as its changes
//! one by one. Each scenario expects a store of its own.

use uuid::Uuid;
use watchme_core::domain::{AggregateUpdate, AnalyticsChange, MovieId, TrendingBy, UserId, WatchStatus};
use watchme_core::ports::AnalyticsStore;

use super::at;

fn change(updates: Vec<AggregateUpdate>) -> AnalyticsChange {
    AnalyticsChange { event_id: Uuid::new_v4(), updates }
}

fn view(movie: u64, viewer: Option<UserId>, secs: i64) -> AnalyticsChange {
    change(vec![AggregateUpdate::MovieViewed {
        movie_id: MovieId::new(movie as i64).unwrap(),
        title: format!("Movie {movie}"),
        viewer,
        at: at(secs),
        count: 1,
    }])
}

/// The [`AnalyticsStore`] contract for one batch: it counts exactly as its
/// changes applied one by one would, whatever the store folds together.
/// Counted views add their count; a counter that a decrement would take
/// below zero stays at zero at that point of the sequence (so -1 then +1
/// from zero ends at 1, not 0); hour buckets stay apart.
pub async fn analytics_store_counts_a_batch_as_one_by_one(store: &dyn AnalyticsStore) {
    let m = MovieId::new(77).unwrap();
    let ada = UserId::new();
    let counted = |n: u64, secs: i64| {
        change(vec![AggregateUpdate::MovieViewed {
            movie_id: m,
            title: "Counted".into(),
            viewer: None,
            at: at(secs),
            count: n,
        }])
    };
    let fav = |delta: i64| change(vec![AggregateUpdate::Favorites { movie_id: m, delta }]);
    let watched =
        |delta: i64| change(vec![AggregateUpdate::Status { movie_id: m, status: WatchStatus::Watched, delta }]);
    let batch = vec![
        counted(40, 100),
        counted(2, 3600 + 5),
        view(77, Some(ada), 200),
        view(77, Some(ada), 300),
        fav(-1),
        fav(1),
        watched(1),
        watched(-1),
        watched(-1),
        watched(1),
        watched(1),
    ];
    let out = store.apply(&batch).await.expect("apply");
    assert_eq!(out.applied, batch.len() as u64);
    let s = store.movie_stats(m).await.expect("stats");
    assert_eq!((s.views, s.unique_viewers), (44, 1), "counted views add their count");
    assert_eq!((s.favorites, s.watched), (1, 2), "each decrement is clamped where it happens");
    let first_hour = store.trending(at(0), 10, TrendingBy::Views).await.expect("trending");
    assert_eq!(first_hour.iter().find(|t| t.movie_id == m).map(|t| t.views), Some(44));
    let second_hour = store.trending(at(3600), 10, TrendingBy::Views).await.expect("trending");
    assert_eq!(second_hour.iter().find(|t| t.movie_id == m).map(|t| t.views), Some(2), "hour buckets stay apart");
    let again = store.apply(&[fav(-1), fav(-1), fav(1)]).await.expect("apply");
    assert_eq!(again.applied, 3);
    assert_eq!(store.movie_stats(m).await.expect("stats").favorites, 1, "1 -1 -1 (clamped at 0) +1");
}

const HOUR: i64 = 3600;

/// The batch most scenarios start from: movie 1 viewed four times (by ada
/// twice, bob, someone), favorited, watched and rated 8 and 5 at hour 0;
/// movies 2 and 3 viewed at hour 48; ada registered at hour 0, bob at 48.
fn sample_batch() -> Vec<AnalyticsChange> {
    let (ada, bob) = (UserId::new(), UserId::new());
    let m1 = MovieId::new(1).unwrap();
    vec![
        view(1, Some(ada), 0),
        view(1, Some(ada), 10),
        view(1, Some(bob), 20),
        view(1, None, 30),
        view(2, None, 48 * HOUR),
        view(2, None, 48 * HOUR + 1),
        view(3, Some(ada), 48 * HOUR),
        change(vec![AggregateUpdate::Favorites { movie_id: m1, delta: 1 }]),
        change(vec![AggregateUpdate::Status { movie_id: m1, status: WatchStatus::Watched, delta: 1 }]),
        change(vec![AggregateUpdate::Rating { movie_id: m1, count_delta: 1, sum_delta: 8 }]),
        change(vec![AggregateUpdate::Rating { movie_id: m1, count_delta: 1, sum_delta: 5 }]),
        change(vec![
            AggregateUpdate::UserRegistered { user_id: ada, at: at(0) },
            AggregateUpdate::UserActive { user_id: ada, at: at(0) },
        ]),
        change(vec![
            AggregateUpdate::UserRegistered { user_id: bob, at: at(48 * HOUR) },
            AggregateUpdate::UserActive { user_id: bob, at: at(48 * HOUR) },
        ]),
    ]
}

/// Applies [`sample_batch`], checking every change of it was fresh.
async fn applied_sample(store: &dyn AnalyticsStore) -> Vec<AnalyticsChange> {
    let batch = sample_batch();
    let out = store.apply(&batch).await.expect("apply");
    assert_eq!((out.applied, out.duplicates), (batch.len() as u64, 0), "fresh changes are applied");
    batch
}

/// A change delivered again, in a later batch or twice in one, is skipped.
pub async fn analytics_store_skips_duplicates(store: &dyn AnalyticsStore) {
    let batch = applied_sample(store).await;
    let again = store.apply(&batch[..3]).await.expect("apply again");
    assert_eq!((again.applied, again.duplicates), (0, 3), "re-delivered changes are skipped");
    let dup_in_batch = view(9, None, 0);
    let out = store.apply(&[dup_in_batch.clone(), dup_in_batch]).await.expect("apply");
    assert_eq!((out.applied, out.duplicates), (1, 1), "a duplicate inside one batch is skipped");
    assert_eq!(store.movie_stats(MovieId::new(1).unwrap()).await.expect("stats").views, 4, "counted once");
}

/// A movie's views, unique viewers, favorites, statuses and ratings; an
/// unknown movie is all zeros.
pub async fn analytics_store_counts_movie_stats(store: &dyn AnalyticsStore) {
    applied_sample(store).await;
    let s = store.movie_stats(MovieId::new(1).unwrap()).await.expect("stats");
    assert_eq!(
        (s.views, s.unique_viewers, s.favorites, s.watched),
        (4, 2, 1, 1),
        "views, unique viewers, favorites, status"
    );
    assert_eq!((s.ratings_count, s.ratings_sum, s.rating_average()), (2, 13, Some(6.5)), "ratings");
    assert_eq!(store.movie_stats(MovieId::new(404).unwrap()).await.expect("stats").views, 0, "unknown movie is zeros");
}

/// Decrements undo what was counted and never take a counter below zero.
pub async fn analytics_store_clamps_decrements(store: &dyn AnalyticsStore) {
    applied_sample(store).await;
    let m1 = MovieId::new(1).unwrap();
    let undo = vec![
        change(vec![AggregateUpdate::Favorites { movie_id: m1, delta: -1 }]),
        change(vec![AggregateUpdate::Favorites { movie_id: m1, delta: -1 }]),
        change(vec![AggregateUpdate::Status { movie_id: m1, status: WatchStatus::Watched, delta: -1 }]),
        change(vec![AggregateUpdate::Rating { movie_id: m1, count_delta: -1, sum_delta: -8 }]),
    ];
    store.apply(&undo).await.expect("apply undo");
    let s = store.movie_stats(m1).await.expect("stats");
    assert_eq!((s.favorites, s.watched, s.ratings_count, s.ratings_sum), (0, 0, 1, 5), "decrements, never below zero");
}

/// Trending counts only the hour buckets inside the window, most viewed
/// first, with titles; the limit applies after ordering.
pub async fn analytics_store_trending_windows(store: &dyn AnalyticsStore) {
    applied_sample(store).await;
    let recent = store.trending(at(47 * HOUR), 10, TrendingBy::Views).await.expect("trending");
    let ids: Vec<(u64, u64)> = recent.iter().map(|t| (t.movie_id.get(), t.views)).collect();
    assert_eq!(ids, vec![(2, 2), (3, 1)], "trending counts only buckets inside the window, most viewed first");
    assert_eq!(recent[0].title, "Movie 2", "trending carries the title");
    let all = store.trending(at(0), 2, TrendingBy::Views).await.expect("trending");
    assert_eq!(all.iter().map(|t| t.movie_id.get()).collect::<Vec<_>>(), vec![1, 2], "limit applies after ordering");
}

/// Users registered in all, registered and active inside a window.
pub async fn analytics_store_user_stats(store: &dyn AnalyticsStore) {
    applied_sample(store).await;
    let users = store.user_stats(at(47 * HOUR)).await.expect("user stats");
    assert_eq!(
        (users.registered_total, users.registered_in_window, users.active_in_window),
        (2, 1, 1),
        "user stats over a window"
    );
}

/// Remembered event ids are forgotten only when asked, and only those
/// applied before the cut; a copy of a forgotten event counts again.
pub async fn analytics_store_forgets_applied_ids(store: &dyn AnalyticsStore) {
    let batch = applied_sample(store).await;
    let m1 = MovieId::new(1).unwrap();
    let before_any = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    assert_eq!(store.prune_applied(before_any).await.expect("prune"), 0, "nothing applied before an hour ago");
    assert_eq!(store.apply(&batch[..1]).await.expect("apply").duplicates, 1, "still remembered");
    let after_all = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    assert!(store.prune_applied(after_all).await.expect("prune") >= batch.len() as u64, "every id so far is forgotten");
    let late = store.apply(&batch[..1]).await.expect("apply late copy");
    assert_eq!((late.applied, late.duplicates), (1, 0), "a copy of a forgotten event counts again");
    assert_eq!(store.movie_stats(m1).await.expect("stats").views, 5);
}

/// Plays count per movie and, by when they were watched, per hour for
/// trending by plays; a removal undoes its play and never goes below zero.
pub async fn analytics_store_counts_plays(store: &dyn AnalyticsStore) {
    let played = |movie: i64, secs: i64, delta: i64| {
        let title = (delta > 0).then(|| format!("Movie {movie}"));
        change(vec![AggregateUpdate::Played { movie_id: MovieId::new(movie).unwrap(), title, at: at(secs), delta }])
    };
    let batch = vec![
        played(1, 0, 1),
        played(1, 10, 1),
        played(2, 48 * HOUR, 1),
        played(2, 48 * HOUR, 1),
        played(2, 48 * HOUR, 1),
        played(3, 48 * HOUR, -1),
        played(3, 48 * HOUR, 1),
        view(1, None, 48 * HOUR),
    ];
    store.apply(&batch).await.expect("apply");
    let m = |id| MovieId::new(id).unwrap();
    assert_eq!(store.movie_stats(m(1)).await.expect("stats").plays, 2);
    assert_eq!(store.movie_stats(m(3)).await.expect("stats").plays, 1, "a removal from zero is clamped there");
    let recent = store.trending(at(47 * HOUR), 10, TrendingBy::Plays).await.expect("trending");
    let got: Vec<(u64, u64, u64)> = recent.iter().map(|t| (t.movie_id.get(), t.plays, t.views)).collect();
    assert_eq!(got, vec![(2, 3, 0), (3, 1, 0)], "plays by when watched, inside the window, with views beside");
    assert_eq!(recent[0].title, "Movie 2");
    store.apply(&[played(2, 48 * HOUR, -1)]).await.expect("remove one");
    let by_views = store.trending(at(47 * HOUR), 10, TrendingBy::Views).await.expect("trending");
    assert_eq!(by_views.iter().map(|t| (t.movie_id.get(), t.views, t.plays)).collect::<Vec<_>>(), vec![(1, 1, 0)]);
    let all = store.trending(at(0), 10, TrendingBy::Plays).await.expect("trending");
    assert_eq!(all.iter().map(|t| (t.movie_id.get(), t.plays)).collect::<Vec<_>>(), vec![(1, 2), (2, 2), (3, 1)]);
}
