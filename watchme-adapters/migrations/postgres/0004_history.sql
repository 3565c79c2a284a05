-- Watch history (plays, rewatches included) and last-activity times.

CREATE TABLE plays (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    movie_id   BIGINT NOT NULL,
    title      TEXT NOT NULL,
    year       BIGINT,
    poster_url TEXT,
    -- Whole seconds (in microseconds, like every time): a play's identity
    -- is its user, movie and second.
    watched_at BIGINT NOT NULL,
    action     TEXT NOT NULL,
    source     TEXT NOT NULL,
    UNIQUE (user_id, movie_id, watched_at)
);
-- A user's history, newest first (the unique key serves the per-movie filter).
CREATE INDEX plays_user_newest ON plays (user_id, watched_at DESC, id DESC);

-- When each part of a user's data last changed, moved by every write in
-- its own transaction (GET /me/activity).
CREATE TABLE user_activity (
    user_id TEXT NOT NULL,
    kind    TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Plays in the analytics: per movie, and per movie and hour for trending.
ALTER TABLE movie_stats ADD COLUMN plays BIGINT NOT NULL DEFAULT 0;
CREATE TABLE movie_plays_hourly (
    hour     BIGINT NOT NULL,
    movie_id BIGINT NOT NULL,
    plays    BIGINT NOT NULL,
    PRIMARY KEY (hour, movie_id)
);
