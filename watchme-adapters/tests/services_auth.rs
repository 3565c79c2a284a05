//! AuthService over the memory adapters.

mod common;

use watchme_core::domain::{ClientInfo, DisplayName, Email, Password, RefreshToken, RequestContext, Role};
use watchme_core::services::{AuthError, LoginSuccess, Registration, WeakPassword};

fn reg(email: &str, password: &str) -> Registration {
    Registration {
        email: Email::parse(email).unwrap(),
        password: Password::parse(password).unwrap(),
        display_name: None,
    }
}

#[tokio::test]
async fn register_then_login_issues_a_token_for_that_user() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    let user = k.auth.register(&ctx, reg("Ada@Example.com", "correct horse")).await.unwrap();
    assert_eq!((user.email.as_str(), user.display_name.as_str(), user.role), ("ada@example.com", "ada", Role::User));

    let ok = k
        .auth
        .login(
            &ctx,
            &Email::parse("ada@example.com").unwrap(),
            &Password::parse("correct horse").unwrap(),
            ClientInfo::default(),
        )
        .await
        .unwrap();
    let claims = k.auth.authenticate(&ok.tokens.access.token).await.unwrap();
    assert_eq!(claims.user_id, user.id);
    assert!(ok.user.last_login_at.is_some());
    assert_eq!(k.auth.current_user(user.id).await.unwrap().id, user.id);
}

#[tokio::test]
async fn login_failures_do_not_say_whether_the_email_exists() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    k.auth.register(&ctx, reg("ada@example.com", "correct horse")).await.unwrap();
    let cases = [
        ("ada@example.com", "wrong horse!", "wrong password"),
        ("nobody@example.com", "correct horse", "unknown email"),
    ];
    for (email, pw, case) in cases {
        let err = k
            .auth
            .login(&ctx, &Email::parse(email).unwrap(), &Password::parse(pw).unwrap(), ClientInfo::default())
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials), "case: {case}: {err:?}");
    }
}

#[tokio::test]
async fn registration_refusals() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    k.auth.register(&ctx, reg("ada@example.com", "correct horse")).await.unwrap();
    let err = k.auth.register(&ctx, reg("ADA@example.com", "another pass")).await.unwrap_err();
    assert!(matches!(err, AuthError::EmailTaken), "{err:?}");
    let err = k.auth.register(&ctx, reg("bob@example.com", "Bob@Example.com")).await.unwrap_err();
    assert!(matches!(err, AuthError::WeakPassword(WeakPassword::EqualsEmail)), "{err:?}");
    let err = k.auth.register(&ctx, reg("bob@example.com", "Password123")).await.unwrap_err();
    assert!(matches!(err, AuthError::WeakPassword(WeakPassword::Common)), "{err:?}");
}

#[tokio::test]
async fn admin_emails_get_the_admin_role_and_display_names_are_kept() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    let mut r = reg("root@example.com", "correct horse");
    r.display_name = Some(DisplayName::parse("The Operator").unwrap());
    let user = k.auth.register(&ctx, r).await.unwrap();
    assert_eq!((user.role, user.display_name.as_str()), (Role::Admin, "The Operator"));
    let ok = k
        .auth
        .login(&ctx, &user.email, &Password::parse("correct horse").unwrap(), ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(k.auth.authenticate(&ok.tokens.access.token).await.unwrap().role, Role::Admin);
}

#[tokio::test]
async fn storage_outage_is_unavailable_not_a_wrong_password() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    k.auth.register(&ctx, reg("ada@example.com", "correct horse")).await.unwrap();
    k.store.set_available(false);
    let err = k
        .auth
        .login(
            &ctx,
            &Email::parse("ada@example.com").unwrap(),
            &Password::parse("correct horse").unwrap(),
            ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    k.store.set_available(true);
    assert!(k
        .auth
        .login(
            &ctx,
            &Email::parse("ada@example.com").unwrap(),
            &Password::parse("correct horse").unwrap(),
            ClientInfo::default()
        )
        .await
        .is_ok());
}

#[tokio::test]
async fn garbage_tokens_are_invalid() {
    let k = common::kit();
    for t in ["", "abc", "a.b.c"] {
        assert!(matches!(k.auth.authenticate(t).await, Err(AuthError::InvalidToken)), "case: {t:?}");
    }
}

async fn logged_in(k: &common::Kit, email: &str) -> LoginSuccess {
    let ctx = RequestContext::anonymous();
    let _ = k.auth.register(&ctx, reg(email, "correct horse")).await;
    let client = ClientInfo::new(Some("test-agent/1.0"), Some("198.51.100.4".into()));
    k.auth.login(&ctx, &Email::parse(email).unwrap(), &Password::parse("correct horse").unwrap(), client).await.unwrap()
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let k = common::kit();
    let first = logged_in(&k, "ada@example.com").await;
    let second = k.auth.refresh(&first.tokens.refresh).await.unwrap();
    assert_ne!(second.refresh, first.tokens.refresh);
    assert_eq!(second.session.id, first.tokens.session.id, "one session across rotations");
    let claims = k.auth.authenticate(&second.access.token).await.unwrap();
    assert_eq!(claims.session_id, Some(first.tokens.session.id), "access tokens carry the session id");
    let third = k.auth.refresh(&second.refresh).await.unwrap();
    assert!(k.auth.authenticate(&third.access.token).await.is_ok());
    let err = k.auth.refresh(&RefreshToken::new("wmr_never-issued")).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidRefreshToken), "{err:?}");
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_the_family_and_its_access_tokens() {
    let k = common::kit();
    let stolen = logged_in(&k, "ada@example.com").await;
    let legit = k.auth.refresh(&stolen.tokens.refresh).await.unwrap();
    assert!(k.auth.authenticate(&legit.access.token).await.is_ok());
    // The thief replays the rotated token: refused, and the whole session dies.
    let err = k.auth.refresh(&stolen.tokens.refresh).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidRefreshToken), "{err:?}");
    let err = k.auth.refresh(&legit.refresh).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidRefreshToken), "the current token of the family is revoked too: {err:?}");
    for token in [&stolen.tokens.access.token, &legit.access.token] {
        let err = k.auth.authenticate(token).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidToken), "access tokens of a revoked session fail: {err:?}");
    }
    // Another login of the same user is a different family and unaffected.
    let other = logged_in(&k, "ada@example.com").await;
    assert!(k.auth.authenticate(&other.tokens.access.token).await.is_ok());
}

#[tokio::test]
async fn sessions_are_listed_revoked_and_private_to_their_owner() {
    let k = common::kit();
    let a1 = logged_in(&k, "ada@example.com").await;
    let a2 = logged_in(&k, "ada@example.com").await;
    let bob = logged_in(&k, "bob@example.com").await;
    let listed = k.auth.sessions(a1.user.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].client.user_agent.as_deref(), Some("test-agent/1.0"));
    assert_eq!(listed[0].client.ip.as_deref(), Some("198.51.100.4"));

    let err = k.auth.revoke_session(bob.user.id, a1.tokens.session.id).await.unwrap_err();
    assert!(matches!(err, AuthError::SessionNotFound), "bob cannot revoke ada's session: {err:?}");
    assert!(k.auth.authenticate(&a1.tokens.access.token).await.is_ok());

    k.auth.revoke_session(a1.user.id, a1.tokens.session.id).await.unwrap();
    assert!(matches!(k.auth.authenticate(&a1.tokens.access.token).await, Err(AuthError::InvalidToken)));
    assert!(matches!(k.auth.refresh(&a1.tokens.refresh).await, Err(AuthError::InvalidRefreshToken)));
    assert_eq!(k.auth.sessions(a1.user.id).await.unwrap().len(), 1);

    let claims = k.auth.authenticate(&a2.tokens.access.token).await.unwrap();
    k.auth.logout(&claims).await.unwrap();
    assert!(matches!(k.auth.authenticate(&a2.tokens.access.token).await, Err(AuthError::InvalidToken)));
    assert!(k.auth.sessions(a1.user.id).await.unwrap().is_empty());
    assert!(k.auth.authenticate(&bob.tokens.access.token).await.is_ok(), "other users are untouched");
}

/// Counts verifications, so a test can see that an unknown email costs the
/// same hash work as a wrong password.
struct CountingHasher {
    inner: watchme_adapters::crypto::Argon2Hasher,
    verifies: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl watchme_core::ports::PasswordHasher for CountingHasher {
    async fn hash(&self, p: &Password) -> Result<watchme_core::domain::PasswordHash, watchme_core::error::HashError> {
        self.inner.hash(p).await
    }

    async fn verify(
        &self,
        p: &Password,
        h: &watchme_core::domain::PasswordHash,
    ) -> Result<bool, watchme_core::error::HashError> {
        self.verifies.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.verify(p, h).await
    }

    fn needs_rehash(&self, h: &watchme_core::domain::PasswordHash) -> bool {
        self.inner.needs_rehash(h)
    }
}

#[tokio::test]
async fn an_unknown_email_costs_one_verification_like_a_wrong_password() {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    let store = watchme_adapters::memory::MemoryStore::new();
    let hasher = Arc::new(CountingHasher { inner: common::cheap_hasher(), verifies: Default::default() });
    let tokens = common::test_issuer();
    let auth = watchme_core::services::AuthService::new(
        Arc::new(store.clone()),
        Arc::new(store),
        hasher.clone(),
        Arc::new(tokens),
        Arc::new(watchme_core::ports::SystemClock),
        watchme_core::services::AuthSettings::default(),
    );
    let ctx = RequestContext::anonymous();
    auth.register(&ctx, reg("ada@example.com", "correct horse")).await.unwrap();
    let login = |email: &'static str, pw: &'static str| {
        let auth = &auth;
        async move {
            let e = Email::parse(email).unwrap();
            auth.login(&RequestContext::anonymous(), &e, &Password::parse(pw).unwrap(), ClientInfo::default()).await
        }
    };
    for (email, pw) in [("ada@example.com", "wrong horse!"), ("nobody@example.com", "wrong horse!")] {
        let before = hasher.verifies.load(Ordering::SeqCst);
        assert!(matches!(login(email, pw).await, Err(AuthError::InvalidCredentials)));
        assert_eq!(hasher.verifies.load(Ordering::SeqCst) - before, 1, "{email}: one argon2id verification");
    }
}

#[tokio::test]
async fn a_parameter_change_rehashes_at_the_next_login() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    let user = k.auth.register(&ctx, reg("ada@example.com", "correct horse")).await.unwrap();
    let stronger = watchme_adapters::crypto::Argon2Hasher::new(watchme_adapters::crypto::Argon2Params {
        memory_kib: 512,
        iterations: 2,
        parallelism: 1,
    })
    .unwrap();
    use watchme_core::ports::{PasswordHasher, UserRepo};
    assert!(stronger.needs_rehash(&user.password_hash));
    // Same store, a service configured with the stronger parameters.
    let auth = watchme_core::services::AuthService::new(
        std::sync::Arc::new(k.store.clone()),
        std::sync::Arc::new(k.store.clone()),
        std::sync::Arc::new(stronger.clone()),
        std::sync::Arc::new(common::test_issuer()),
        std::sync::Arc::new(watchme_core::ports::SystemClock),
        watchme_core::services::AuthSettings::default(),
    );
    let pw = Password::parse("correct horse").unwrap();
    auth.login(&ctx, &user.email, &pw, ClientInfo::default()).await.unwrap();
    let stored = k.store.find_by_id(user.id).await.unwrap().unwrap().password_hash;
    assert!(stored.as_str().starts_with("$argon2id$v=19$m=512,t=2,p=1$"), "re-hashed: {}", stored.as_str());
    assert!(!stronger.needs_rehash(&stored));
    auth.login(&ctx, &user.email, &pw, ClientInfo::default()).await.expect("the new hash verifies");
}
