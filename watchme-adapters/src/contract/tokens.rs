//! The [`ApiTokenRepo`] contract, one scenario per function: a token found
//! by its hash, listing and revoking, and recording use. Each scenario
//! expects a store of its own.

use watchme_core::domain::{ApiToken, ApiTokenHash, ApiTokenId, TokenName, TokenScope, UserId};
use watchme_core::ports::{ApiTokenRepo, Outbox};

use super::{at, login_event};

fn token(user: UserId, secs: i64, scope: TokenScope) -> ApiToken {
    ApiToken {
        id: ApiTokenId::new(),
        user_id: user,
        name: TokenName::parse(&format!("token {secs}")).expect("name"),
        scope,
        created_at: at(secs),
        last_used_at: None,
        expires_at: Some(at(secs + 86_400)),
        revoked_at: None,
    }
}

fn hash(n: u32) -> ApiTokenHash {
    ApiTokenHash::new(format!("{n:064x}"))
}

/// A token reads back whole by its hash, with its event in the outbox; an
/// unknown hash is `None`.
pub async fn api_tokens_are_found_by_hash(repo: &dyn ApiTokenRepo, outbox: &dyn Outbox) {
    let ada = UserId::new();
    let t = token(ada, 10, TokenScope::Read);
    let before = outbox.stats().await.expect("stats").unpublished;
    repo.create_token(&t, &hash(1), &login_event(ada, 10)).await.expect("create");
    assert_eq!(outbox.stats().await.expect("stats").unpublished, before + 1, "the event, atomically");
    assert_eq!(repo.find_token(&hash(1)).await.expect("find"), Some(t.clone()), "round-trips whole");
    assert_eq!(repo.find_token(&hash(2)).await.expect("find"), None, "unknown hash");
    let forever = ApiToken { expires_at: None, ..token(ada, 20, TokenScope::Write) };
    repo.create_token(&forever, &hash(2), &login_event(ada, 20)).await.expect("create");
    assert_eq!(repo.find_token(&hash(2)).await.expect("find").and_then(|t| t.expires_at), None, "no expiry");
}

/// A user's unrevoked tokens list newest first; a token is revoked once,
/// by its owner only, and stays findable (revoked) by its hash.
pub async fn api_tokens_list_and_revoke(repo: &dyn ApiTokenRepo, outbox: &dyn Outbox) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let (old, new, bobs) =
        (token(ada, 10, TokenScope::Read), token(ada, 20, TokenScope::Write), token(bob, 30, TokenScope::Read));
    for (t, h) in [(&old, 1), (&new, 2), (&bobs, 3)] {
        repo.create_token(t, &hash(h), &login_event(t.user_id, 0)).await.expect("create");
    }
    let ids = |list: Vec<ApiToken>| list.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(repo.tokens_of(ada).await.expect("list")), vec![new.id, old.id], "newest first, own only");
    let before = outbox.stats().await.expect("stats").unpublished;
    assert!(!repo.revoke_token(bob, old.id, at(40), &login_event(bob, 40)).await.expect("revoke"), "not bob's");
    assert!(repo.revoke_token(ada, old.id, at(40), &login_event(ada, 40)).await.expect("revoke"));
    assert!(!repo.revoke_token(ada, old.id, at(50), &login_event(ada, 50)).await.expect("again"), "once");
    assert!(!repo.revoke_token(ada, ApiTokenId::new(), at(50), &login_event(ada, 50)).await.expect("unknown"));
    assert_eq!(outbox.stats().await.expect("stats").unpublished, before + 1, "one event, for the one revocation");
    assert_eq!(ids(repo.tokens_of(ada).await.expect("list")), vec![new.id], "revoked tokens are not listed");
    let revoked = repo.find_token(&hash(1)).await.expect("find").expect("kept");
    assert_eq!(revoked.revoked_at, Some(at(40)));
    assert!(!revoked.is_active(at(41)));
}

/// Use is recorded, and never moves back.
pub async fn api_tokens_record_use(repo: &dyn ApiTokenRepo) {
    let ada = UserId::new();
    let t = token(ada, 10, TokenScope::Read);
    repo.create_token(&t, &hash(1), &login_event(ada, 10)).await.expect("create");
    repo.token_used(t.id, at(100)).await.expect("used");
    repo.token_used(t.id, at(50)).await.expect("used earlier");
    assert_eq!(repo.find_token(&hash(1)).await.expect("find").and_then(|t| t.last_used_at), Some(at(100)));
    repo.token_used(ApiTokenId::new(), at(100)).await.expect("an unknown token is no error");
}
