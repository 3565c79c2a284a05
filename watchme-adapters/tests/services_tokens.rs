//! ApiTokenService over memory adapters: tokens made by a login only, shown
//! once, accepted until revoked or expired, remembered per replica.

mod common;

use watchme_core::domain::{RequestContext, Role, SessionId, TokenScope, UserId};
use watchme_core::ports::{AccessClaims, ApiTokenRepo};
use watchme_core::services::{ApiTokenError, ApiTokenService, AuthError};

fn login(user: UserId) -> AccessClaims {
    AccessClaims { user_id: user, role: Role::User, session_id: Some(SessionId::new()), api_token: None }
}

#[tokio::test]
async fn a_token_authenticates_its_user_with_its_scope_until_revoked() {
    let k = common::kit();
    let ada = UserId::new();
    let ctx = RequestContext::user(ada);
    let (token, secret) =
        k.tokens.create(&ctx, Some(&login(ada)), "  script ", TokenScope::Read, Some(30)).await.unwrap();
    assert!(secret.expose().starts_with("wmp_") && secret.expose().len() == 4 + 64, "wmp_ + 256 bits in hex");
    assert!(ApiTokenService::is_api_token(secret.expose()));
    assert_eq!(token.name.as_str(), "script");
    let claims = k.tokens.authenticate(secret.expose()).await.unwrap();
    assert_eq!((claims.user_id, claims.role, claims.session_id), (ada, Role::User, None));
    assert_eq!(claims.api_token.map(|g| (g.id, g.scope)), Some((token.id, TokenScope::Read)));
    assert!(matches!(k.tokens.authenticate("wmp_0000").await, Err(AuthError::InvalidToken)));
    let listed = k.tokens.list(&ctx, Some(&login(ada))).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "use is recorded");
    k.tokens.revoke(&ctx, Some(&login(ada)), token.id).await.unwrap();
    assert!(
        matches!(k.tokens.authenticate(secret.expose()).await, Err(AuthError::InvalidToken)),
        "refused at once on the replica that revoked it"
    );
    assert!(matches!(k.tokens.revoke(&ctx, Some(&login(ada)), token.id).await, Err(ApiTokenError::NotFound)));
    assert!(k.tokens.list(&ctx, Some(&login(ada))).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_a_login_manages_tokens_and_input_is_checked() {
    let k = common::kit();
    let ada = UserId::new();
    let ctx = RequestContext::user(ada);
    let (_, secret) = k.tokens.create(&ctx, Some(&login(ada)), "rw", TokenScope::Write, None).await.unwrap();
    let via_token = k.tokens.authenticate(secret.expose()).await.unwrap();
    let made = k.tokens.create(&ctx, Some(&via_token), "more", TokenScope::Write, None).await;
    assert!(matches!(made, Err(ApiTokenError::LoginRequired)), "a token cannot make tokens");
    assert!(matches!(k.tokens.list(&ctx, Some(&via_token)).await, Err(ApiTokenError::LoginRequired)));
    assert!(matches!(
        k.tokens.create(&ctx, Some(&login(ada)), " ", TokenScope::Read, None).await,
        Err(ApiTokenError::InvalidName(_))
    ));
    assert!(matches!(
        k.tokens.create(&ctx, Some(&login(ada)), "x", TokenScope::Read, Some(0)).await,
        Err(ApiTokenError::InvalidLifetime)
    ));
    let anon = RequestContext::anonymous();
    assert!(matches!(k.tokens.list(&anon, None).await, Err(ApiTokenError::Unauthenticated)));
    let bob = UserId::new();
    let (bobs, _) =
        k.tokens.create(&RequestContext::user(bob), Some(&login(bob)), "b", TokenScope::Read, None).await.unwrap();
    assert!(
        matches!(k.tokens.revoke(&ctx, Some(&login(ada)), bobs.id).await, Err(ApiTokenError::NotFound)),
        "not ada's"
    );
}

#[tokio::test]
async fn another_replica_refuses_a_revoked_token_once_its_check_interval_passes() {
    let k = common::kit();
    let ada = UserId::new();
    let ctx = RequestContext::user(ada);
    let (token, secret) = k.tokens.create(&ctx, Some(&login(ada)), "t", TokenScope::Write, None).await.unwrap();
    // A replica that checks every time (interval zero) sees the revocation made elsewhere at once.
    let other = ApiTokenService::new(
        std::sync::Arc::new(k.store.clone()),
        std::sync::Arc::new(common::test_issuer()),
        std::sync::Arc::new(watchme_core::ports::SystemClock),
        std::time::Duration::ZERO,
    );
    other.authenticate(secret.expose()).await.unwrap();
    k.store
        .revoke_token(ada, token.id, time::OffsetDateTime::now_utc(), &watchme_adapters::contract::login_event(ada, 0))
        .await
        .unwrap();
    assert!(matches!(other.authenticate(secret.expose()).await, Err(AuthError::InvalidToken)));
}
