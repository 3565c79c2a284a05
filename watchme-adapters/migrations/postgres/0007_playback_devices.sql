-- Running and paused playbacks (scrobbles, check-ins): one per user and movie.
CREATE TABLE playbacks (
    user_id    TEXT NOT NULL,
    movie_id   BIGINT NOT NULL,
    title      TEXT NOT NULL,
    year       BIGINT,
    poster_url TEXT,
    progress   DOUBLE PRECISION NOT NULL,
    state      TEXT NOT NULL,
    action     TEXT NOT NULL,
    source     TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, movie_id),
    CHECK (state IN ('watching', 'paused'))
);

-- OAuth device grants (RFC 8628): the device code's SHA-256, never the code.
CREATE TABLE device_grants (
    id               TEXT PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code        TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    interval_secs    BIGINT NOT NULL,
    last_polled_at   BIGINT,
    state            TEXT NOT NULL,
    user_id          TEXT,
    CHECK (state IN ('pending', 'approved', 'denied', 'used'))
);
CREATE INDEX device_grants_expiry ON device_grants (expires_at);
