-- feedloom schema, version 10, PostgreSQL twin of migrations/0010_search_hashsize.sql.
-- SQLite's version 10 sets the FTS5 option `hashsize` of its `search` table (how
-- many bytes of new index entries FTS5 buffers before writing a segment).
-- PostgreSQL's `search` table (a tsvector per item with a GIN index) has no such
-- option, so nothing changes here; the version is recorded so that both dialects
-- stay in step.
SELECT 1;
