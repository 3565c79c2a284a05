-- Login sessions and the hashes of their refresh tokens (issue 6).
-- A session is one login; every refresh token it ever had stays in
-- refresh_tokens with rotated_at set, so a replayed old token is recognised
-- and its whole session revoked.

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    revoked_at   BIGINT
);
-- A user's sessions, for GET /auth/sessions.
CREATE INDEX sessions_user ON sessions (user_id, last_used_at DESC);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
