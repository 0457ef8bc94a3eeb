-- feedloom schema, version 7 (scale out). Documented in docs/schema.md.
-- Which node is fetching a feed, and until when: on PostgreSQL, where many
-- `feedloom run` nodes share one store, a node claims the due feeds it fetches
-- and holds them for a lease. A single SQLite node leaves both NULL.
ALTER TABLE feeds ADD COLUMN claimed_by TEXT;        -- the node holding the feed ("host:pid")
ALTER TABLE feeds ADD COLUMN claimed_until INTEGER;  -- its lease ends then; another node may take the feed after
