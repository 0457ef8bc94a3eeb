-- feedloom schema: performance (issue 9). Documented in docs/schema.md.
-- Self-contained: indexes and columns only, no data rewritten.

-- Opening the store looks for items whose text_hash is still missing (stored
-- before version 2). Without an index that look-up read the whole items table on
-- every open; this partial index holds only such items (none, once they are
-- filled in), so opening costs the same at any size.
CREATE INDEX items_text_hash_missing ON items (id) WHERE text_hash IS NULL;

-- The last 200 response's body, so that a byte-identical body is recognised
-- without parsing it (servers that send no validators answer 200 every time).
ALTER TABLE feeds ADD COLUMN body_hash TEXT;          -- hash of the last 200 body that was parsed and stored
ALTER TABLE feeds ADD COLUMN body_stored_at INTEGER;  -- when that body was last parsed and stored

-- A 200 whose body was byte-identical to the one stored before: logged as 'ok',
-- with unchanged = 1, not parsed.
ALTER TABLE fetches ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0;

-- items_canonical (canonical_url) finds an item by link within a feed as well:
-- few items share a link. One index less to write per item.
DROP INDEX items_feed_canonical;
