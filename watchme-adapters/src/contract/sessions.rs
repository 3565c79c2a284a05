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

fn hash(n: u32) -> RefreshTokenHash {
    RefreshTokenHash::new(format!("{n:064x}"))
}

/// The [`SessionRepo`] contract.
pub async fn session_repo(repo: &dyn SessionRepo) {
    let ada = UserId::new();
    let s1 = session(ada, 0);
    repo.create_session(&s1, &hash(1)).await.expect("create a session");
    assert_eq!(repo.find_session(s1.id).await.expect("find").as_ref(), Some(&s1), "a session round-trips whole");
    assert!(repo.find_session(SessionId::new()).await.expect("find").is_none(), "unknown id is None");

    // Rotation: the presented token is spent, the new one is current.
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

    // Reuse of any earlier token is recognised and changes nothing.
    for old in [1, 2] {
        let r = repo.rotate(&hash(old), &hash(90 + old), at(180), at(9000)).await.expect("rotate an old token");
        assert!(matches!(&r, Rotation::Reused(s) if s.id == s1.id), "a rotated token is reused, got {r:?}");
    }
    let r = repo.rotate(&hash(91), &hash(99), at(180), at(9000)).await.expect("rotate");
    assert_eq!(r, Rotation::Unknown, "the hash offered with a reused token was not stored");
    assert_eq!(
        repo.rotate(&hash(77), &hash(78), at(180), at(9000)).await.expect("rotate"),
        Rotation::Unknown,
        "unknown token"
    );

    // Listing: only active sessions of that user, most recently used first.
    let s2 = session(ada, 300);
    repo.create_session(&s2, &hash(10)).await.expect("second session");
    let expired = Session { expires_at: at(400), ..session(ada, 100) };
    repo.create_session(&expired, &hash(11)).await.expect("expiring session");
    let other = session(UserId::new(), 0);
    repo.create_session(&other, &hash(12)).await.expect("another user's session");
    let listed: Vec<SessionId> = repo.active_sessions(ada, at(500)).await.expect("list").iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![s2.id, s1.id], "active sessions, most recently used first");
    let r = repo.rotate(&hash(11), &hash(13), at(500), at(9000)).await.expect("rotate expired");
    assert!(matches!(r, Rotation::Inactive(_)), "an expired session's token does not rotate, got {r:?}");

    // Revocation ends the session and every one of its tokens.
    assert!(repo.revoke_session(s1.id, at(600)).await.expect("revoke"), "revoking an active session says so");
    assert!(!repo.revoke_session(s1.id, at(601)).await.expect("revoke again"), "revoking twice is not an error");
    assert!(!repo.revoke_session(SessionId::new(), at(601)).await.expect("revoke unknown"), "unknown id is false");
    let revoked = repo.find_session(s1.id).await.expect("find").expect("kept");
    assert_eq!(revoked.revoked_at, Some(at(600)), "revoked_at is the first revocation");
    let r = repo.rotate(&hash(3), &hash(14), at(700), at(9000)).await.expect("rotate after revoke");
    assert!(matches!(r, Rotation::Inactive(_)), "a revoked session's current token does not rotate, got {r:?}");
    let listed: Vec<SessionId> = repo.active_sessions(ada, at(700)).await.expect("list").iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![s2.id], "revoked sessions are not listed");
    assert_eq!(repo.active_sessions(other.user_id, at(700)).await.expect("list").len(), 1, "users are separate");

    // Pruning: sessions expired or revoked before the cut-off go, with their tokens.
    assert_eq!(repo.prune_sessions(at(450)).await.expect("prune"), 1, "only the session that expired at 400");
    assert!(repo.find_session(expired.id).await.expect("find").is_none(), "pruned");
    assert_eq!(repo.rotate(&hash(11), &hash(15), at(700), at(9000)).await.expect("rotate"), Rotation::Unknown);
    assert_eq!(repo.prune_sessions(at(650)).await.expect("prune"), 1, "the session revoked at 600");
    assert!(repo.find_session(s1.id).await.expect("find").is_none());
    assert!(repo.find_session(s2.id).await.expect("find").is_some(), "active sessions stay");
    let r = repo.rotate(&hash(10), &hash(16), at(700), at(9000)).await.expect("rotate");
    assert!(matches!(r, Rotation::Rotated(_)), "an active session's token still rotates, got {r:?}");
}
