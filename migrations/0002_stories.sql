-- feedloom schema, version 2: stories across feeds. Documented in docs/schema.md.
-- A story is what the merged output shows; it is backed by one item, or by several
-- when the same article appears in several feeds (same canonical URL) or as the
-- same wire copy under different URLs (near-duplicate fingerprints).

CREATE TABLE stories (
    id            INTEGER PRIMARY KEY,
    uid           TEXT    NOT NULL UNIQUE,   -- output id: the uid of the story's first item
    first_seen_at INTEGER NOT NULL,          -- its first item's first_seen_at ("new")
    changed_at    INTEGER NOT NULL,          -- first_seen_at, or later the last time one of its items changed content
    item_count    INTEGER NOT NULL DEFAULT 1 -- items (one per feed) that carry it
);
CREATE INDEX stories_first_seen ON stories (first_seen_at, id);
CREATE INDEX stories_changed ON stories (changed_at, id);

ALTER TABLE items ADD COLUMN story_id INTEGER REFERENCES stories (id);  -- the story it backs
ALTER TABLE items ADD COLUMN text_hash TEXT;      -- hash of title + text: finds an entry whose guid changed
ALTER TABLE items ADD COLUMN fingerprint INTEGER; -- 64-bit SimHash of title + text; NULL when too short
ALTER TABLE items ADD COLUMN fingerprint_keys TEXT; -- the story's key tokens (numbers, names), space-separated
CREATE INDEX items_story ON items (story_id);
CREATE INDEX items_canonical ON items (canonical_url);
CREATE INDEX items_feed_text_hash ON items (feed_id, text_hash) WHERE canonical_url IS NULL;
CREATE INDEX items_changed ON items (changed_at, id);

-- Lookup table for near-duplicates: each item's fingerprint cut into bands.
CREATE TABLE fingerprint_bands (
    band    INTEGER NOT NULL,                -- which piece (0-based)
    value   INTEGER NOT NULL,                -- the piece's bits
    item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    PRIMARY KEY (band, value, item_id)
) WITHOUT ROWID;

-- Items stored before version 2 each become a story of their own; feedloom fills
-- in text_hash and fingerprint for them when it opens the store.
INSERT INTO stories (id, uid, first_seen_at, changed_at, item_count)
    SELECT id, uid, first_seen_at, changed_at, 1 FROM items;
UPDATE items SET story_id = id;
