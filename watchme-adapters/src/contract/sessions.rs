//! The [`SessionRepo`] contract, one scenario per function: round-trip,
//! rotation with reuse detection, listing, revocation, pruning. Each
//! scenario expects a store of its own (pruning counts every session).

use watchme_core::domain::{ClientInfo, RefreshTokenHash, Session, SessionId, UserId};
use watchme_core::ports::{Rotation, SessionRepo};

use super::at;

fn session(user: UserId, secs: i64) -> Session {
    Session {
        id: SessionId::new(),
        user_id: user,
        created_at: at(secs),
        last_used_at: at(secs),
        expires_at: at(secs + 3600),
        client: ClientInfo::new(Some("Mozilla/5.0 (contract)"), Some("203.0.113.7".into())),
        revoked_at: None,
    }
}

/// The hash of a scenario's `n`th refresh token.
fn hash(n: u32) -> RefreshTokenHash {
    RefreshTokenHash::new(format!("{n:064x}"))
}

async fn ids(repo: &dyn SessionRepo, user: UserId, secs: i64) -> Vec<SessionId> {
    repo.active_sessions(user, at(secs)).await.expect("list").iter().map(|s| s.id).collect()
}

/// A session reads back whole; an unknown id is `None`.
pub async fn session_repo_round_trips(repo: &dyn SessionRepo) {
    let s1 = session(UserId::new(), 0);
    repo.create_session(&s1, &hash(1)).await.expect("create a session");
    assert_eq!(repo.find_session(s1.id).await.expect("find").as_ref(), Some(&s1), "a session round-trips whole");
    assert!(repo.find_session(SessionId::new()).await.expect("find").is_none(), "unknown id is None");
}

/// Rotation spends the presented token and extends the session; any spent
/// token presented again is recognised as reuse and changes nothing.
pub async fn session_repo_rotates_and_detects_reuse(repo: &dyn SessionRepo) {
    let s1 = session(UserId::new(), 0);
    repo.create_session(&s1, &hash(1)).await.expect("create a session");
    let r = repo.rotate(&hash(1), &hash(2), at(60), at(7200)).await.expect("rotate");
    let Rotation::Rotated(after) = r else { panic!("a current token rotates, got {r:?}") };
    assert_eq!(
        (after.id, after.last_used_at, after.expires_at),
        (s1.id, at(60), at(7200)),
        "rotate extends the session"
    );
    assert_eq!(repo.find_session(s1.id).await.expect("find").expect("exists"), after, "the stored session is updated");
    let r = repo.rotate(&hash(2), &hash(3), at(120), at(7200)).await.expect("rotate the new token");
    assert!(matches!(r, Rotation::Rotated(_)), "the new token is current, got {r:?}");
    for old in [1, 2] {
        let r = repo.rotate(&hash(old), &hash(90 + old), at(180), at(9000)).await.expect("rotate an old token");
        assert!(matches!(&r, Rotation::Reused(s) if s.id == s1.id), "a rotated token is reused, got {r:?}");
    }
    let r = repo.rotate(&hash(91), &hash(99), at(180), at(9000)).await.expect("rotate");
    assert_eq!(r, Rotation::Unknown, "the hash offered with a reused token was not stored");
    let r = repo.rotate(&hash(77), &hash(78), at(180), at(9000)).await.expect("rotate");
    assert_eq!(r, Rotation::Unknown, "unknown token");
    let r = repo.rotate(&hash(3), &hash(4), at(240), at(9000)).await.expect("rotate");
    assert!(matches!(r, Rotation::Rotated(_)), "reuse attempts leave the current token current, got {r:?}");
}

/// Only a user's active sessions are listed, most recently used first; an
/// expired session's token does not rotate.
pub async fn session_repo_lists_active_sessions(repo: &dyn SessionRepo) {
    let ada = UserId::new();
    let s1 = session(ada, 0);
    repo.create_session(&s1, &hash(1)).await.expect("first session");
    let s2 = session(ada, 300);
    repo.create_session(&s2, &hash(2)).await.expect("second session");
    let expired = Session { expires_at: at(400), ..session(ada, 100) };
    repo.create_session(&expired, &hash(3)).await.expect("expiring session");
    let other = session(UserId::new(), 0);
    repo.create_session(&other, &hash(4)).await.expect("another user's session");
    assert_eq!(ids(repo, ada, 500).await, vec![s2.id, s1.id], "active sessions, most recently used first");
    assert_eq!(ids(repo, other.user_id, 500).await, vec![other.id], "users are separate");
    let r = repo.rotate(&hash(3), &hash(5), at(500), at(9000)).await.expect("rotate expired");
    assert!(matches!(r, Rotation::Inactive(_)), "an expired session's token does not rotate, got {r:?}");
}

/// Revocation ends the session and every one of its tokens, once.
pub async fn session_repo_revokes(repo: &dyn SessionRepo) {
    let ada = UserId::new();
    let (s1, s2) = (session(ada, 0), session(ada, 300));
    repo.create_session(&s1, &hash(1)).await.expect("first session");
    repo.create_session(&s2, &hash(2)).await.expect("second session");
    assert!(repo.revoke_session(s1.id, at(600)).await.expect("revoke"), "revoking an active session says so");
    assert!(!repo.revoke_session(s1.id, at(601)).await.expect("revoke again"), "revoking twice is not an error");
    assert!(!repo.revoke_session(SessionId::new(), at(601)).await.expect("revoke unknown"), "unknown id is false");
    let revoked = repo.find_session(s1.id).await.expect("find").expect("kept");
    assert_eq!(revoked.revoked_at, Some(at(600)), "revoked_at is the first revocation");
    let r = repo.rotate(&hash(1), &hash(3), at(700), at(9000)).await.expect("rotate after revoke");
    assert!(matches!(r, Rotation::Inactive(_)), "a revoked session's current token does not rotate, got {r:?}");
    assert_eq!(ids(repo, ada, 700).await, vec![s2.id], "revoked sessions are not listed");
}

/// Sessions expired or revoked before the cut-off go, with their tokens;
/// active ones stay.
pub async fn session_repo_prunes(repo: &dyn SessionRepo) {
    let ada = UserId::new();
    let (s1, s2) = (session(ada, 0), session(ada, 300));
    let expired = Session { expires_at: at(400), ..session(ada, 100) };
    repo.create_session(&s1, &hash(1)).await.expect("first session");
    repo.create_session(&s2, &hash(2)).await.expect("second session");
    repo.create_session(&expired, &hash(3)).await.expect("expiring session");
    repo.revoke_session(s1.id, at(600)).await.expect("revoke");
    let gone = |s: &Session| {
        let id = s.id;
        async move { repo.find_session(id).await.expect("find").is_none() }
    };
    assert_eq!(repo.prune_sessions(at(450)).await.expect("prune"), 1, "only the session that expired at 400");
    assert!(gone(&expired).await, "the session that expired at 400 is pruned");
    assert!(!gone(&s1).await, "the session revoked at 600 is kept until its cut-off");
    assert_eq!(repo.rotate(&hash(3), &hash(4), at(700), at(9000)).await.expect("rotate"), Rotation::Unknown);
    assert_eq!(repo.prune_sessions(at(650)).await.expect("prune"), 1, "the session revoked at 600");
    assert!(gone(&s1).await, "the session revoked at 600 is pruned");
    assert!(!gone(&s2).await, "active sessions stay");
    let r = repo.rotate(&hash(2), &hash(5), at(700), at(9000)).await.expect("rotate");
    assert!(matches!(r, Rotation::Rotated(_)), "an active session's token still rotates, got {r:?}");
}
