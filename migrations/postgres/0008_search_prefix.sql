-- feedloom schema, version 8, PostgreSQL twin of migrations/0008_search_prefix.sql.
-- SQLite's version 8 rebuilds its FTS5 table with prefix indexes so that `abc*`
-- reads one list of entries. PostgreSQL's `search` table (version 4: a tsvector
-- per item with a GIN index) answers prefix queries (`abc:*`) from that index
-- already, so nothing changes here; the version is recorded so that both
-- dialects stay in step.
SELECT 1;
