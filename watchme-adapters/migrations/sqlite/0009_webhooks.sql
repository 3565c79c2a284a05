-- Users' webhook endpoints: the secret's SHA-256 (hex), never the secret;
-- delivery counts by outcome.
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL,
    kind              TEXT NOT NULL,
    secret_hash       TEXT NOT NULL UNIQUE,
    media_server_user TEXT,
    created_at        BIGINT NOT NULL,
    revoked_at        BIGINT,
    last_delivery_at  BIGINT,
    accepted          BIGINT NOT NULL DEFAULT 0,
    ignored           BIGINT NOT NULL DEFAULT 0,
    refused           BIGINT NOT NULL DEFAULT 0,
    CHECK (kind IN ('plex', 'jellyfin', 'emby', 'generic'))
);
-- A user's webhooks, newest first.
CREATE INDEX webhooks_user ON webhooks (user_id, created_at DESC);
