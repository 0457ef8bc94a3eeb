-- feedloom schema, version 4: near-duplicate fingerprints that recognise every
-- wire copy of a story. Documented in docs/schema.md.
-- The version-2 SimHash (items.fingerprint, items.fingerprint_keys) and its
-- lookup table are replaced: feedloom no longer writes or reads them.

-- One row per item with a fingerprint: what near-duplicate lookups compare.
-- feed_id and first_seen_at repeat the item's, so candidates are judged from
-- this narrow table without reading the item's text. The fingerprint carries
-- its anchors (lookup keys), from which feedloom builds its index in memory.
CREATE TABLE near_items (
    item_id       INTEGER PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    feed_id       INTEGER NOT NULL,       -- = items.feed_id
    first_seen_at INTEGER NOT NULL,       -- = items.first_seen_at
    fingerprint   BLOB    NOT NULL        -- similar::Fingerprint::to_bytes: format byte 1, then the sketches, key tokens and anchors
);

DROP TABLE fingerprint_bands;

-- Work that feedloom does once, while opening the store, in small transactions.
-- A row exists only while its work is unfinished.
CREATE TABLE store_tasks (
    task   TEXT    PRIMARY KEY,           -- 'near_fingerprints'
    cursor INTEGER NOT NULL               -- items with a lower id are still to do (newest first)
) WITHOUT ROWID;

-- Every stored item gets its new fingerprint (and, from a version-1 store, its
-- text_hash) when feedloom next opens the store.
INSERT INTO store_tasks (task, cursor)
    SELECT 'near_fingerprints', max(id) + 1 FROM items HAVING count(*) > 0;
