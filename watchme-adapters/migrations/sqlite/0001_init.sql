-- WatchMe schema v1 (SQLite).
-- Times are BIGINT microseconds since the Unix epoch (UTC) and ids TEXT, the
-- same on PostgreSQL and SQLite, so one adapter serves both backends.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT
);
-- Emails are stored normalised; the expression index keeps uniqueness
-- case-insensitive even for rows written by other tools.
CREATE UNIQUE INDEX users_email_ci ON users (lower(email));

CREATE TABLE views (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   TEXT NOT NULL,
    movie_id  BIGINT NOT NULL,
    title     TEXT NOT NULL,
    viewed_at BIGINT NOT NULL
);
-- A user's history, newest first.
CREATE INDEX views_user_newest ON views (user_id, viewed_at DESC, id DESC);

CREATE TABLE favorites (
    user_id  TEXT NOT NULL,
    movie_id BIGINT NOT NULL,
    title    TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, movie_id)
);
-- A user's favorites, newest first.
CREATE INDEX favorites_user_newest ON favorites (user_id, added_at DESC);

CREATE TABLE library_entries (
    user_id    TEXT NOT NULL,
    movie_id   BIGINT NOT NULL,
    title      TEXT NOT NULL,
    status     TEXT,
    rating     BIGINT,
    added_at   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, movie_id),
    CHECK (status IS NULL OR status IN ('want_to_watch', 'watching', 'watched')),
    CHECK (rating IS NULL OR rating BETWEEN 1 AND 10)
);
-- A user's library, all or by status, most recently updated first.
CREATE INDEX library_user_updated ON library_entries (user_id, updated_at DESC);
CREATE INDEX library_user_status_updated ON library_entries (user_id, status, updated_at DESC);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    envelope     TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    leased_until BIGINT,
    published_at BIGINT
);
-- Unpublished events, oldest first: the relay's only query path.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
-- Pruning of published events.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE analytics_applied (
    event_id   TEXT PRIMARY KEY,
    applied_at BIGINT NOT NULL
);

CREATE TABLE movie_stats (
    movie_id       BIGINT PRIMARY KEY,
    title          TEXT NOT NULL DEFAULT '',
    views          BIGINT NOT NULL DEFAULT 0,
    unique_viewers BIGINT NOT NULL DEFAULT 0,
    favorites      BIGINT NOT NULL DEFAULT 0,
    want_to_watch  BIGINT NOT NULL DEFAULT 0,
    watching       BIGINT NOT NULL DEFAULT 0,
    watched        BIGINT NOT NULL DEFAULT 0,
    ratings_count  BIGINT NOT NULL DEFAULT 0,
    ratings_sum    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE movie_viewers (
    movie_id BIGINT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (movie_id, user_id)
);

-- Trending: views per movie per hour; a window sums its hours.
CREATE TABLE movie_views_hourly (
    hour     BIGINT NOT NULL,
    movie_id BIGINT NOT NULL,
    views    BIGINT NOT NULL,
    PRIMARY KEY (hour, movie_id)
);

CREATE TABLE users_registered (
    user_id       TEXT PRIMARY KEY,
    registered_at BIGINT NOT NULL
);
CREATE INDEX users_registered_at ON users_registered (registered_at);

CREATE TABLE users_active_hourly (
    hour    BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (hour, user_id)
);
