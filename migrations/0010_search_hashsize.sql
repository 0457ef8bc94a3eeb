-- feedloom schema, version 10 (the search index's write buffer). Documented in
-- docs/schema.md. Self-contained. (Version 9 is 0009_entry_seals.sql.)

-- FTS5 keeps the index entries of new rows in memory until they reach
-- `hashsize` bytes (1 MiB by default), then writes them out as a segment, and
-- merges segments as they pile up. One group commit of a cold poll indexes a
-- few thousand items; with 4 MiB it writes a quarter as many segments, and
-- merges less (search indexing ~30 % less CPU, a cold poll 7-10 % faster; see
-- docs/performance.md). Costs at most 3 MiB more memory while a batch is
-- written. Nothing is rewritten; searches are unchanged.
INSERT INTO search (search, rank) VALUES ('hashsize', 4194304);
