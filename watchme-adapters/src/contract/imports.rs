//! The [`ImportJobRepo`] contract. The scenario expects a store of its own.

use watchme_core::domain::{
    ImportCounts, ImportId, ImportJob, ImportProblem, ImportSource, ImportStatus, Origin, ProblemKind, UserId,
};
use watchme_core::ports::ImportJobRepo;

use super::at;

fn job(user: UserId, secs: i64) -> ImportJob {
    ImportJob {
        id: ImportId::new(),
        user_id: user,
        source: ImportSource::Letterboxd,
        dry_run: false,
        status: ImportStatus::Queued,
        counts: ImportCounts::default(),
        problems: Vec::new(),
        error: None,
        created_at: at(secs),
        updated_at: at(secs),
        finished_at: None,
    }
}

/// One unfinished job per user; a job round-trips whole with its counts and
/// problems; a user sees their own jobs only, newest first; unfinished jobs
/// not saved since a time are failed with the reason given.
pub async fn import_jobs_one_at_a_time_per_user(repo: &dyn ImportJobRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let first = job(ada, 10);
    assert!(repo.create_job(&first).await.expect("create"));
    assert!(!repo.create_job(&job(ada, 20)).await.expect("busy"), "one unfinished import per user");
    assert!(repo.create_job(&job(bob, 20)).await.expect("another user"));
    let mut done = first.clone();
    done.status = ImportStatus::Done;
    done.counts = ImportCounts { rows_read: 3, plays_added: 2, unmatched: 1, ..ImportCounts::default() };
    done.problems = vec![ImportProblem {
        origin: Origin { file: "diary.csv".into(), line: 4 },
        kind: ProblemKind::Unmatched,
        reason: "no movie called X (1999) was found".into(),
    }];
    done.finished_at = Some(at(30));
    done.updated_at = at(30);
    repo.save_job(&done).await.expect("save");
    assert_eq!(repo.job(ada, first.id).await.expect("job"), Some(done.clone()), "round-trips whole");
    assert_eq!(repo.job(bob, first.id).await.expect("job"), None, "not another user's");
    let next = job(ada, 40);
    assert!(repo.create_job(&next).await.expect("create"), "free again once the first finished");
    let ids: Vec<ImportId> = repo.jobs(ada, 10).await.expect("jobs").into_iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![next.id, first.id], "newest first");
    assert_eq!(repo.jobs(ada, 1).await.expect("jobs").len(), 1, "limited");
    assert_eq!(repo.fail_unfinished("restarted", at(50), at(20)).await.expect("fail"), 0, "saved since: still running");
    assert_eq!(repo.fail_unfinished("restarted", at(50), at(45)).await.expect("fail"), 2, "ada's and bob's");
    let failed = repo.job(ada, next.id).await.expect("job").expect("kept");
    assert_eq!(
        (failed.status, failed.error.as_deref(), failed.finished_at),
        (ImportStatus::Failed, Some("restarted"), Some(at(50)))
    );
    assert_eq!(
        repo.job(ada, first.id).await.expect("job").map(|j| j.status),
        Some(ImportStatus::Done),
        "finished jobs stay"
    );
}
