-- feedloom schema: performance (issue 9). Documented in docs/schema.md.
-- Self-contained: indexes and columns only, no data rewritten.

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
