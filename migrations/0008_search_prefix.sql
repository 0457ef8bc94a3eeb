-- feedloom schema, version 8 (search prefix index). Documented in docs/schema.md.
-- Self-contained. (Version 7 is 0007_claims.sql.)

-- The search table again, now with prefix indexes of 2 and 3 characters:
-- `abc*` reads one list of entries instead of merging those of every word that
-- starts with `abc` (315 ms → a few ms at a million items). An FTS5 table's
-- options cannot change, so it is dropped and made anew, empty; feedloom
-- indexes every stored item again (search_backfill) when a writing command
-- opens the store, and searches find what is indexed so far meanwhile.
DROP TABLE search;
CREATE VIRTUAL TABLE search USING fts5(
    title,
    body,
    content = '',
    contentless_delete = 1,
    prefix = '2 3',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search (search, rank) VALUES ('deletemerge', 0);

-- Every stored item is indexed again, in batches, from the oldest.
DELETE FROM search_backfill;
INSERT INTO search_backfill (next_id, last_id)
    SELECT 1, max(id) FROM items HAVING count(*) > 0;
