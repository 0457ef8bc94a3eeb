-- feedloom schema, version 10, PostgreSQL twin of migrations/0010_search_writes.sql.
-- SQLite's version 10 sets the FTS5 options `hashsize` and `automerge` of its
-- `search` table (how many bytes of new index entries FTS5 buffers before
-- writing a segment, and how many segments it merges at once). PostgreSQL's
-- `search` table (a tsvector per item with a GIN index) has no such options, so
-- nothing changes here; the version is recorded so that both dialects stay in
-- step.
SELECT 1;
