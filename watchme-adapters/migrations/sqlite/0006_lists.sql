-- Users' own lists and their ranked items.
CREATE TABLE user_lists (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT,
    privacy     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (user_id, slug),
    CHECK (privacy IN ('private', 'link', 'public'))
);
-- A user's lists, most recently updated first.
CREATE INDEX user_lists_updated ON user_lists (user_id, updated_at DESC);

CREATE TABLE list_items (
    list_id    TEXT NOT NULL,
    movie_id   BIGINT NOT NULL,
    title      TEXT NOT NULL,
    year       BIGINT,
    poster_url TEXT,
    item_rank  BIGINT NOT NULL,
    notes      TEXT,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (list_id, movie_id)
);
-- A list's items by rank.
CREATE INDEX list_items_by_rank ON list_items (list_id, item_rank);
