//! ScrobbleService and DeviceAuthService over memory adapters: a stop past
//! the threshold is one play, a repeat within the window is refused, short
//! stops pause; device codes approved once, polled at the interval, redeemed once.

mod common;

use watchme_core::domain::{
    ClientInfo, Email, HistoryFilter, MovieId, PageRequest, Password, PlayAction, PlaySource, PlaybackState, Progress,
    RequestContext, UserId,
};
use watchme_core::services::{DeviceError, Registration, Scrobble, ScrobbleError, ScrobbleEvent, ScrobbleOutcome};

fn scrobble(movie: i64, progress: f64, event: ScrobbleEvent) -> Scrobble {
    Scrobble {
        movie: MovieId::new(movie).unwrap(),
        progress: Progress::new(progress).unwrap(),
        event,
        source: PlaySource::Trakt,
        watched_at: None,
    }
}

#[tokio::test]
async fn a_stop_past_the_threshold_is_one_play_and_a_short_stop_pauses() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let started = k.scrobbles.scrobble(&ctx, scrobble(550, 5.0, ScrobbleEvent::Start)).await.unwrap();
    assert!(matches!(started, ScrobbleOutcome::Watching(_)));
    assert_eq!(k.scrobbles.watching(&ctx).await.unwrap().map(|p| p.movie.id.get()), Some(550));
    k.scrobbles.scrobble(&ctx, scrobble(603, 1.0, ScrobbleEvent::Start)).await.unwrap();
    assert_eq!(k.scrobbles.watching(&ctx).await.unwrap().map(|p| p.movie.id.get()), Some(603), "one at a time");
    let short = k.scrobbles.scrobble(&ctx, scrobble(603, 79.9, ScrobbleEvent::Stop)).await.unwrap();
    let ScrobbleOutcome::Paused(paused) = short else { panic!("below the threshold a stop pauses: {short:?}") };
    assert_eq!(paused.state, PlaybackState::Paused);
    assert_eq!(k.scrobbles.paused(&ctx).await.unwrap().len(), 2, "550 was paused when 603 started");
    let done = k.scrobbles.scrobble(&ctx, scrobble(603, 80.0, ScrobbleEvent::Stop)).await.unwrap();
    let ScrobbleOutcome::Played(play) = done else { panic!("at the threshold a stop is a play: {done:?}") };
    assert_eq!((play.action, play.source), (PlayAction::Scrobble, PlaySource::Trakt));
    assert_eq!(k.scrobbles.paused(&ctx).await.unwrap().len(), 1, "the play ends its playback");
    let again = k.scrobbles.scrobble(&ctx, scrobble(603, 100.0, ScrobbleEvent::Stop)).await;
    let Err(ScrobbleError::Duplicate { watched_at, expires_at, .. }) = again else { panic!("{again:?}") };
    assert_eq!(expires_at - watched_at, time::Duration::HOUR);
    let plays = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(plays.total_items, 1, "exactly one play");
    let unknown = k.scrobbles.scrobble(&ctx, scrobble(999_999_999, 10.0, ScrobbleEvent::Start)).await;
    assert!(matches!(unknown, Err(ScrobbleError::MovieNotFound)));
}

#[tokio::test]
async fn a_check_in_is_a_play_and_blocks_another_until_cancelled() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let play = k.scrobbles.check_in(&ctx, MovieId::new(550).unwrap(), PlaySource::Trakt).await.unwrap();
    assert_eq!(play.action, PlayAction::Checkin);
    let busy = k.scrobbles.check_in(&ctx, MovieId::new(13).unwrap(), PlaySource::Trakt).await;
    assert!(matches!(busy, Err(ScrobbleError::Duplicate { play: None, .. })), "{busy:?}");
    assert!(k.scrobbles.cancel_check_in(&ctx).await.unwrap());
    assert!(!k.scrobbles.cancel_check_in(&ctx).await.unwrap(), "nothing left to cancel");
    k.scrobbles.check_in(&ctx, MovieId::new(13).unwrap(), PlaySource::Trakt).await.unwrap();
}

#[tokio::test]
async fn a_device_code_is_approved_once_and_its_tokens_handed_out_once() {
    let k = common::kit();
    let anon = RequestContext::anonymous();
    let reg = Registration {
        email: Email::parse("ada@example.com").unwrap(),
        password: Password::parse("correct horse battery").unwrap(),
        display_name: None,
    };
    let ada = k.auth.register(&anon, reg).await.unwrap();
    let code = k.devices.start("my-app").await.unwrap();
    let poll = |device: String, client: &'static str| {
        let devices = &k.devices;
        let anon = anon.clone();
        async move { devices.poll(&anon, &device, client, ClientInfo::default()).await }
    };
    assert!(matches!(poll(code.device_code.clone(), "my-app").await, Err(DeviceError::Pending)));
    assert!(matches!(poll(code.device_code.clone(), "my-app").await, Err(DeviceError::SlowDown)), "too fast");
    assert!(matches!(poll(code.device_code.clone(), "other").await, Err(DeviceError::NotFound)), "other client");
    assert!(matches!(poll("nope".into(), "my-app").await, Err(DeviceError::NotFound)));
    let user = RequestContext::user(ada.id);
    assert!(matches!(k.devices.decide(&user, "XXXXXXXX", true).await, Err(DeviceError::NoSuchCode)));
    let typed = code.user_code.as_str().to_lowercase();
    k.devices.decide(&user, &typed, true).await.unwrap();
    assert!(matches!(k.devices.decide(&user, &typed, true).await, Err(DeviceError::NoSuchCode)), "decided once");
    let tokens = poll(code.device_code.clone(), "my-app").await.unwrap();
    assert_eq!(tokens.user.id, ada.id);
    let claims = k.auth.authenticate(&tokens.tokens.access.token).await.unwrap();
    assert_eq!(claims.user_id, ada.id, "a working access token");
    assert!(matches!(poll(code.device_code.clone(), "my-app").await, Err(DeviceError::AlreadyUsed)));
    let denied = k.devices.start("my-app").await.unwrap();
    k.devices.decide(&user, denied.user_code.as_str(), false).await.unwrap();
    assert!(matches!(poll(denied.device_code, "my-app").await, Err(DeviceError::Denied)));
}
