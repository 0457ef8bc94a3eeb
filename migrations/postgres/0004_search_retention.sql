-- feedloom schema, version 4 (search and retention), PostgreSQL dialect: the
-- twin of ../0004_search_retention.sql. Documented in docs/schema.md.

-- Full-text index of every item: PostgreSQL's tsvector with a GIN index instead
-- of FTS5. `doc` holds the title (weight A) and the text (weight D), as plain
-- text, lower-cased by the 'simple' configuration (no stemming, like unicode61);
-- runs of Korean, Japanese and Chinese characters are written as overlapping
-- pairs of characters first, as on SQLite, so a word of two or more such
-- characters is found inside longer runs.
CREATE TABLE search (
    item_id bigint   PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    doc     tsvector NOT NULL
);
CREATE INDEX search_doc ON search USING gin (doc);

CREATE TABLE search_backfill (
    next_id bigint NOT NULL,
    last_id bigint NOT NULL
);
INSERT INTO search_backfill (next_id, last_id)
    SELECT 1, max(id) FROM items HAVING count(*) > 0;

CREATE TABLE item_tombstones (
    feed_id      bigint NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    key_hash     bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    PRIMARY KEY (feed_id, key_hash)
);
CREATE INDEX item_tombstones_last_seen ON item_tombstones (last_seen_at);

CREATE INDEX fetches_started ON fetches (started_at);

CREATE INDEX stories_shared ON stories (first_seen_at, id) WHERE item_count >= 2;
CREATE INDEX stories_shared_changed ON stories (changed_at, id) WHERE item_count >= 2;
