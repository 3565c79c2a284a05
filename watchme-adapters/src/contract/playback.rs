//! The [`PlaybackRepo`] and [`DeviceGrantRepo`] contracts, one scenario per
//! function. Each scenario expects a store of its own.

use watchme_core::domain::{
    DeviceGrant, DeviceGrantId, DeviceGrantState, MovieCard, MovieId, PlayAction, PlaySource, Playback, PlaybackState,
    Progress, UserCode, UserId,
};
use watchme_core::ports::{DeviceGrantRepo, PlaybackRepo};

use super::at;

fn playback(user: UserId, movie: i64, secs: i64, state: PlaybackState) -> Playback {
    Playback {
        user_id: user,
        movie: MovieCard {
            id: MovieId::new(movie).expect("id"),
            title: format!("Movie {movie}"),
            year: Some(1999),
            poster_url: None,
        },
        progress: Progress::new(42.5).expect("progress"),
        state,
        action: PlayAction::Scrobble,
        source: PlaySource::Trakt,
        started_at: at(secs),
        updated_at: at(secs),
        expires_at: at(secs + 3600),
    }
}

/// Playbacks round-trip whole, one per user and movie (a second put
/// replaces the first), listed newest first and by state; removal may be
/// limited to a state.
pub async fn playbacks_are_one_per_movie(repo: &dyn PlaybackRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let first = playback(ada, 550, 10, PlaybackState::Watching);
    repo.put_playback(&first).await.expect("put");
    assert_eq!(repo.playbacks(ada, None).await.expect("list"), vec![first.clone()], "round-trips whole");
    let paused = Playback { progress: Progress::new(60.0).expect("p"), updated_at: at(20), ..first.clone() };
    let paused = Playback { state: PlaybackState::Paused, ..paused };
    repo.put_playback(&paused).await.expect("replace");
    let other = playback(ada, 603, 30, PlaybackState::Watching);
    repo.put_playback(&other).await.expect("put");
    repo.put_playback(&playback(bob, 550, 40, PlaybackState::Watching)).await.expect("bob's");
    assert_eq!(repo.playbacks(ada, None).await.expect("list"), vec![other.clone(), paused.clone()], "newest first");
    assert_eq!(repo.playbacks(ada, Some(PlaybackState::Paused)).await.expect("list"), vec![paused.clone()]);
    let movie = paused.movie.id;
    assert!(!repo.remove_playback(ada, movie, Some(PlaybackState::Watching)).await.expect("rm"), "other state");
    assert!(repo.remove_playback(ada, movie, Some(PlaybackState::Paused)).await.expect("rm"));
    assert!(!repo.remove_playback(ada, movie, None).await.expect("rm"), "gone");
    assert_eq!(repo.playbacks(ada, None).await.expect("list"), vec![other]);
    assert_eq!(repo.playbacks(bob, None).await.expect("list").len(), 1, "bob's untouched");
}

fn grant(code: &str, hash: &str, expires: i64) -> DeviceGrant {
    DeviceGrant {
        id: DeviceGrantId::new(),
        device_code_hash: hash.into(),
        user_code: UserCode::parse(code).expect("code"),
        client_id: "client".into(),
        created_at: at(0),
        expires_at: at(expires),
        interval_secs: 5,
        last_polled_at: None,
        state: DeviceGrantState::Pending,
        user_id: None,
    }
}

/// A grant is created once per user code, polled (each poll answering the
/// grant as it was before it), decided while pending and unexpired only,
/// redeemed once, and pruned after it expires.
pub async fn device_grants_move_once(repo: &dyn DeviceGrantRepo) {
    let ada = UserId::new();
    let g = grant("BCDFGHJK", "h1", 600);
    assert!(repo.create_grant(&g).await.expect("create"));
    assert!(!repo.create_grant(&grant("BCDFGHJK", "h2", 600)).await.expect("dup"), "the user code is taken");
    assert_eq!(repo.poll_grant("h1", at(10)).await.expect("poll"), Some(g.clone()), "round-trips whole");
    let polled = repo.poll_grant("h1", at(20)).await.expect("poll").expect("found");
    assert_eq!(polled.last_polled_at, Some(at(10)), "the previous poll");
    assert_eq!(repo.poll_grant("nope", at(20)).await.expect("poll"), None);
    assert!(!repo.redeem_grant("h1").await.expect("redeem"), "not approved yet");
    let code = g.user_code.clone();
    assert_eq!(repo.decide_grant(&code, ada, true, at(700)).await.expect("late"), None, "expired");
    let decided = repo.decide_grant(&code, ada, true, at(30)).await.expect("decide").expect("pending");
    assert_eq!((decided.state, decided.user_id), (DeviceGrantState::Approved, Some(ada)));
    assert_eq!(repo.decide_grant(&code, ada, false, at(31)).await.expect("again"), None, "decided once");
    assert!(repo.redeem_grant("h1").await.expect("redeem"));
    assert!(!repo.redeem_grant("h1").await.expect("redeem"), "once only");
    assert_eq!(repo.poll_grant("h1", at(40)).await.expect("poll").map(|g| g.state), Some(DeviceGrantState::Used));
    let denied = grant("CDFGHJKL", "h3", 900);
    assert!(repo.create_grant(&denied).await.expect("create"));
    let no = repo.decide_grant(&denied.user_code, ada, false, at(50)).await.expect("deny").expect("pending");
    assert_eq!(no.state, DeviceGrantState::Denied);
    assert!(!repo.redeem_grant("h3").await.expect("redeem"), "denied");
    assert_eq!(repo.prune_grants(at(800)).await.expect("prune"), 1, "only the expired one");
    assert_eq!(repo.poll_grant("h1", at(801)).await.expect("poll"), None);
    assert!(repo.poll_grant("h3", at(801)).await.expect("poll").is_some());
}
