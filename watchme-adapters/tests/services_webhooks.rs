//! WebhookService over memory adapters: secrets found by hash until
//! revoked, completions recorded once within the window, the user filter,
//! episodes ignored, unknown films refused, ratings applied.

mod common;

use watchme_core::domain::{
    DeliveryOutcome, HistoryFilter, ImdbId, MediaAction, MediaEvent, MovieId, MovieKey, PageRequest, PlaySource,
    Progress, Rating, RequestContext, UserId, WebhookKind,
};

fn event(
    action: Option<MediaAction>,
    movie: Result<MovieKey, String>,
    progress: Option<f64>,
    user: &str,
) -> MediaEvent {
    MediaEvent {
        name: "test".into(),
        action,
        movie,
        progress: progress.map(|p| Progress::new(p).unwrap()),
        server_user: Some(user.into()),
        watched_at: None,
    }
}

fn fight_club() -> MovieKey {
    MovieKey { imdb: Some(ImdbId::parse("tt0137523").unwrap()), ..MovieKey::default() }
}

#[tokio::test]
async fn deliveries_become_one_play_and_are_counted_by_outcome() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let (hook, secret) = k.webhooks.create(&ctx, WebhookKind::Plex, Some("ada")).await.unwrap();
    assert_eq!(secret.len(), 64, "256 bits in hex");
    assert!(k.webhooks.find(WebhookKind::Plex, &secret).await.unwrap().is_some());
    assert!(k.webhooks.find(WebhookKind::Jellyfin, &secret).await.unwrap().is_none(), "another kind's URL");
    assert!(k.webhooks.find(WebhookKind::Plex, "nope").await.unwrap().is_none());

    let deliver = |e: MediaEvent| {
        let (k, hook) = (&k, hook.clone());
        async move { k.webhooks.deliver(&hook, &e).await.unwrap().outcome }
    };
    assert_eq!(
        deliver(event(Some(MediaAction::Start), Ok(fight_club()), Some(5.0), "ada")).await,
        DeliveryOutcome::Accepted
    );
    assert_eq!(k.scrobbles.watching(&ctx).await.unwrap().map(|p| p.movie.id.get()), Some(550));
    assert_eq!(
        deliver(event(Some(MediaAction::Completed), Ok(fight_club()), None, "ada")).await,
        DeliveryOutcome::Accepted
    );
    assert_eq!(
        deliver(event(Some(MediaAction::Stop), Ok(fight_club()), Some(95.0), "ADA")).await,
        DeliveryOutcome::Accepted
    );
    let plays = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(plays.total_items, 1, "a scrobble then a stop within the window: one play");
    assert_eq!(plays.items[0].source, PlaySource::Plex);
    assert_eq!(
        deliver(event(Some(MediaAction::Start), Ok(fight_club()), None, "bob")).await,
        DeliveryOutcome::Ignored,
        "another user"
    );
    assert_eq!(
        deliver(event(Some(MediaAction::Stop), Err("an episode".into()), None, "ada")).await,
        DeliveryOutcome::Ignored
    );
    assert_eq!(
        deliver(event(None, Ok(fight_club()), None, "ada")).await,
        DeliveryOutcome::Ignored,
        "an untracked event"
    );
    let nothing = MovieKey { title: Some("No Such Film".into()), year: Some(1901), ..MovieKey::default() };
    assert_eq!(deliver(event(Some(MediaAction::Start), Ok(nothing), None, "ada")).await, DeliveryOutcome::Refused);
    let rate = Some(MediaAction::Rate(Some(Rating::new(8).unwrap())));
    assert_eq!(deliver(event(rate, Ok(fight_club()), None, "ada")).await, DeliveryOutcome::Accepted);
    let entry = k.library.entry(&ctx, MovieId::new(550).unwrap()).await.unwrap().unwrap();
    assert_eq!(entry.rating.map(|r| r.get()), Some(8));

    let listed = k.webhooks.list(&ctx).await.unwrap();
    assert_eq!((listed[0].accepted, listed[0].ignored, listed[0].refused), (4, 3, 1));
    assert!(listed[0].last_delivery_at.is_some());
    k.webhooks.revoke(&ctx, hook.id).await.unwrap();
    assert!(k.webhooks.find(WebhookKind::Plex, &secret).await.unwrap().is_none(), "revoked");
    assert!(k.webhooks.create(&ctx, WebhookKind::Generic, Some("  ")).await.is_err(), "an empty filter");
}
