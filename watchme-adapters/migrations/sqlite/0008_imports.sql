-- Import jobs: what each import counted and every problem it met (JSON),
-- kept after it finished for its report.
CREATE TABLE import_jobs (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    source      TEXT NOT NULL,
    dry_run     BIGINT NOT NULL,
    status      TEXT NOT NULL,
    counts      TEXT NOT NULL,
    problems    TEXT NOT NULL,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT,
    CHECK (status IN ('queued', 'running', 'done', 'failed'))
);
-- A user's jobs, newest first.
CREATE INDEX import_jobs_user ON import_jobs (user_id, created_at DESC);
-- One unfinished import per user, whichever replica accepts it.
CREATE UNIQUE INDEX import_jobs_one_running ON import_jobs (user_id) WHERE status IN ('queued', 'running');
