-- feedloom schema, version 11, PostgreSQL twin of migrations/0011_search_crisismerge.sql.
-- SQLite's version 11 sets the FTS5 option `crisismerge` of its `search` table
-- (how many segments of one size make FTS5 merge them all at once). PostgreSQL's
-- `search` table (a tsvector per item with a GIN index) has no such option, so
-- nothing changes here; the version is recorded so that both dialects stay in
-- step.
SELECT 1;
