//! The [`WebhookRepo`] contract. The scenario expects a store of its own.

use watchme_core::domain::{DeliveryOutcome, UserId, Webhook, WebhookId, WebhookKind};
use watchme_core::ports::WebhookRepo;

use super::at;

fn webhook(user: UserId, secs: i64, kind: WebhookKind) -> Webhook {
    Webhook {
        id: WebhookId::new(),
        user_id: user,
        kind,
        media_server_user: Some("ada".into()),
        created_at: at(secs),
        last_delivery_at: None,
        accepted: 0,
        ignored: 0,
        refused: 0,
    }
}

/// A webhook is found by its secret's hash until revoked (by its owner
/// only), listed newest first, and counts its deliveries by outcome.
pub async fn webhooks_are_found_counted_and_revoked(repo: &dyn WebhookRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let (plex, jelly) = (webhook(ada, 10, WebhookKind::Plex), webhook(ada, 20, WebhookKind::Jellyfin));
    repo.create_webhook(&plex, "h1").await.expect("create");
    repo.create_webhook(&jelly, "h2").await.expect("create");
    repo.create_webhook(&webhook(bob, 30, WebhookKind::Emby), "h3").await.expect("create");
    assert_eq!(repo.webhook_by_hash("h1").await.expect("find"), Some(plex.clone()), "round-trips whole");
    assert_eq!(repo.webhook_by_hash("nope").await.expect("find"), None);
    let ids: Vec<WebhookId> = repo.webhooks_of(ada).await.expect("list").into_iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![jelly.id, plex.id], "newest first, own only");
    for outcome in
        [DeliveryOutcome::Accepted, DeliveryOutcome::Accepted, DeliveryOutcome::Ignored, DeliveryOutcome::Refused]
    {
        repo.record_delivery(plex.id, outcome, at(40)).await.expect("record");
    }
    let counted = repo.webhook_by_hash("h1").await.expect("find").expect("there");
    assert_eq!((counted.accepted, counted.ignored, counted.refused, counted.last_delivery_at), (2, 1, 1, Some(at(40))));
    assert!(!repo.revoke_webhook(bob, plex.id, at(50)).await.expect("revoke"), "not bob's");
    assert!(repo.revoke_webhook(ada, plex.id, at(50)).await.expect("revoke"));
    assert!(!repo.revoke_webhook(ada, plex.id, at(51)).await.expect("again"), "once");
    assert_eq!(repo.webhook_by_hash("h1").await.expect("find"), None, "a revoked secret finds nothing");
    assert_eq!(repo.webhooks_of(ada).await.expect("list").len(), 1);
}
