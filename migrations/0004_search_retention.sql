-- feedloom schema, version 4 (search and retention). Documented in docs/schema.md.
-- Self-contained: full-text search over items, tombstones of pruned items, and the
-- bookkeeping of the one-time search backfill.

-- Full-text index of every item: its title and its text (content, else summary)
-- as plain text, tags stripped. Contentless (it stores no copy of the text, only
-- the index); rowid = items.id. Runs of Korean, Japanese and Chinese characters
-- are indexed as overlapping pairs of characters (written by feedloom before the
-- tokenizer sees them), so a word of two or more such characters is found inside
-- longer runs; other text is split into words by unicode61 (case and accents
-- folded).
CREATE VIRTUAL TABLE search USING fts5(
    title,
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Deleting rows never rewrites a large part of the index at once (FTS5's
-- default rewrites a segment once 10% of it is deleted: seconds at a million
-- items); pruning merges the index afterwards in small steps instead.
INSERT INTO search (search, rank) VALUES ('deletemerge', 0);

-- Items stored before this version are indexed by feedloom when a writing
-- command opens the store, in batches; this row says how far it got, and is
-- deleted when done.
CREATE TABLE search_backfill (
    next_id INTEGER NOT NULL,  -- the first items.id not indexed yet
    last_id INTEGER NOT NULL   -- the last items.id stored before version 5
);
INSERT INTO search_backfill (next_id, last_id)
    SELECT 1, max(id) FROM items HAVING count(*) > 0;

-- An item that retention pruned while its feed may still carry it: the feed
-- and a hash of the item's key, so that it is not stored as new again. Dropped
-- once its feed has not carried it for the retention window.
CREATE TABLE item_tombstones (
    feed_id      INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    key_hash     INTEGER NOT NULL,  -- first 64 bits of SHA-256 of items.key
    last_seen_at INTEGER NOT NULL,  -- last 200 response that still contained it
    PRIMARY KEY (feed_id, key_hash)
) WITHOUT ROWID;
CREATE INDEX item_tombstones_last_seen ON item_tombstones (last_seen_at);

-- Retention prunes the fetch log by time.
CREATE INDEX fetches_started ON fetches (started_at);

-- Outputs with min_sources >= 2 read only the stories several feeds carry.
CREATE INDEX stories_shared ON stories (first_seen_at, id) WHERE item_count >= 2;
CREATE INDEX stories_shared_changed ON stories (changed_at, id) WHERE item_count >= 2;
