-- feedloom schema, version 5 (near-duplicates), PostgreSQL dialect: the twin of
-- ../0005_near_duplicates.sql. Documented in docs/schema.md and docs/scaling.md.
-- The version-2 SimHash columns (items.fingerprint, items.fingerprint_keys) are
-- no longer written or read; their lookup table goes.

-- One row per item with a fingerprint: what near-duplicate lookups compare
-- (same columns as on SQLite).
CREATE TABLE near_items (
    item_id       bigint PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    feed_id       bigint NOT NULL,       -- = items.feed_id
    first_seen_at bigint NOT NULL,       -- = items.first_seen_at
    fingerprint   bytea  NOT NULL        -- similar::Fingerprint::to_bytes
);

-- PostgreSQL only: the anchors (lookup keys) of each fingerprint, one row each,
-- so that every node looks candidates up in SQL instead of an in-memory index
-- (many nodes store items; none would see the others' additions in memory).
-- Anchors that are hubs at the time the item is stored are left out, as the
-- SQLite side leaves them out of its index.
CREATE TABLE near_anchors (
    anchor        bigint NOT NULL,       -- the u32 anchor
    first_seen_at bigint NOT NULL,       -- = items.first_seen_at
    item_id       bigint NOT NULL REFERENCES near_items (item_id) ON DELETE CASCADE,
    feed_id       bigint NOT NULL,
    PRIMARY KEY (anchor, first_seen_at, item_id)
);
CREATE INDEX near_anchors_item ON near_anchors (item_id);

DROP TABLE fingerprint_bands;

-- Work done once while opening the store (same table as on SQLite). A
-- PostgreSQL store never held version-2 fingerprints worth converting (the
-- backend is new with version 7): no task is queued.
CREATE TABLE store_tasks (
    task   text   PRIMARY KEY,
    cursor bigint NOT NULL
);
