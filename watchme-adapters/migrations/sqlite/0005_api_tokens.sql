-- Personal API tokens: the secret's SHA-256 (hex), never the secret.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    CHECK (scope IN ('read', 'write'))
);
-- A user's tokens, newest first.
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at DESC);
