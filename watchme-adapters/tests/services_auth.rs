//! AuthService over the memory adapters.

mod common;

use watchme_core::domain::{DisplayName, Email, Password, RequestContext, Role};
use watchme_core::services::{AuthError, Registration};

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
        .login(&ctx, &Email::parse("ada@example.com").unwrap(), &Password::parse("correct horse").unwrap())
        .await
        .unwrap();
    let claims = k.auth.authenticate(&ok.access.token).unwrap();
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
        let err = k.auth.login(&ctx, &Email::parse(email).unwrap(), &Password::parse(pw).unwrap()).await.unwrap_err();
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
    assert!(matches!(err, AuthError::WeakPassword), "{err:?}");
}

#[tokio::test]
async fn admin_emails_get_the_admin_role_and_display_names_are_kept() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    let mut r = reg("root@example.com", "correct horse");
    r.display_name = Some(DisplayName::parse("The Operator").unwrap());
    let user = k.auth.register(&ctx, r).await.unwrap();
    assert_eq!((user.role, user.display_name.as_str()), (Role::Admin, "The Operator"));
    let ok = k.auth.login(&ctx, &user.email, &Password::parse("correct horse").unwrap()).await.unwrap();
    assert_eq!(k.auth.authenticate(&ok.access.token).unwrap().role, Role::Admin);
}

#[tokio::test]
async fn storage_outage_is_unavailable_not_a_wrong_password() {
    let k = common::kit();
    let ctx = RequestContext::anonymous();
    k.auth.register(&ctx, reg("ada@example.com", "correct horse")).await.unwrap();
    k.store.set_available(false);
    let err = k
        .auth
        .login(&ctx, &Email::parse("ada@example.com").unwrap(), &Password::parse("correct horse").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    k.store.set_available(true);
    assert!(k
        .auth
        .login(&ctx, &Email::parse("ada@example.com").unwrap(), &Password::parse("correct horse").unwrap())
        .await
        .is_ok());
}

#[tokio::test]
async fn garbage_tokens_are_invalid() {
    let k = common::kit();
    for t in ["", "abc", "a.b.c"] {
        assert!(matches!(k.auth.authenticate(t), Err(AuthError::InvalidToken)), "case: {t:?}");
    }
}
