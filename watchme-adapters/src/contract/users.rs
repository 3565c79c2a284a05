//! The [`UserRepo`] contract, one scenario per function: storing and
//! finding users, refusing a taken email, unknown users, logins, password
//! changes. Each scenario makes users of its own, so they may share a store.

use watchme_core::domain::{Email, PasswordHash, UserId};
use watchme_core::error::UserRepoError;
use watchme_core::ports::UserRepo;

use super::{at, login_event, sample_user};

/// A created user is found by email and by id, every field as stored.
pub async fn user_repo_round_trips(repo: &dyn UserRepo) {
    let ada = sample_user("ada@example.com");
    repo.create(&ada, &[]).await.expect("create a new user");
    let found = repo.find_by_email(&ada.email).await.expect("find by email").expect("user exists");
    assert_eq!(
        (found.id, found.email.as_str(), found.role),
        (ada.id, "ada@example.com", ada.role),
        "find_by_email returns the stored user"
    );
    assert_eq!(found.created_at, ada.created_at, "created_at round-trips");
    assert_eq!(found.password_hash, ada.password_hash, "hash round-trips");
    assert_eq!(repo.find_by_id(ada.id).await.expect("find by id").map(|u| u.id), Some(ada.id), "find_by_id");
}

/// An email already taken (in any letter case) is refused and nothing is stored.
pub async fn user_repo_refuses_a_taken_email(repo: &dyn UserRepo) {
    repo.create(&sample_user("taken@example.com"), &[]).await.expect("create");
    let same_email = sample_user("TAKEN@Example.com");
    let err = repo.create(&same_email, &[]).await.expect_err("duplicate email must be refused");
    assert!(matches!(err, UserRepoError::EmailTaken), "duplicate email gives EmailTaken, got {err:?}");
    assert!(repo.find_by_id(same_email.id).await.expect("lookup").is_none(), "a refused user is not stored");
}

/// Unknown emails and ids are `None`, not errors.
pub async fn user_repo_misses_unknown_users(repo: &dyn UserRepo) {
    let nobody = Email::parse("nobody@example.com").expect("valid");
    assert!(repo.find_by_email(&nobody).await.expect("lookup").is_none(), "unknown email is None");
    assert!(repo.find_by_id(UserId::new()).await.expect("lookup").is_none(), "unknown id is None");
}

/// A login sets `last_login_at`; an unknown user's login is `NotFound`.
pub async fn user_repo_records_logins(repo: &dyn UserRepo) {
    let ada = sample_user("login@example.com");
    repo.create(&ada, &[]).await.expect("create");
    repo.record_login(ada.id, at(60), &[login_event(ada.id, 60)]).await.expect("record login");
    let after = repo.find_by_id(ada.id).await.expect("lookup").expect("exists");
    assert_eq!(after.last_login_at, Some(at(60)), "record_login sets last_login_at");
    let err = repo.record_login(UserId::new(), at(60), &[]).await.expect_err("unknown user");
    assert!(matches!(err, UserRepoError::NotFound), "record_login of unknown id gives NotFound, got {err:?}");
}

/// A new password hash replaces the old; an unknown user's is `NotFound`.
pub async fn user_repo_updates_password_hashes(repo: &dyn UserRepo) {
    let ada = sample_user("rehash@example.com");
    repo.create(&ada, &[]).await.expect("create");
    let new_hash = PasswordHash::new("$argon2id$v=19$m=512,t=2,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g");
    repo.update_password_hash(ada.id, &new_hash).await.expect("update hash");
    assert_eq!(repo.find_by_id(ada.id).await.expect("lookup").expect("exists").password_hash, new_hash, "hash updated");
    let err = repo.update_password_hash(UserId::new(), &new_hash).await.expect_err("unknown user");
    assert!(matches!(err, UserRepoError::NotFound), "update of unknown id gives NotFound, got {err:?}");
}
