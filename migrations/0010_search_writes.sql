-- feedloom schema, version 10 (how the search index is written). Documented in
-- docs/schema.md. Self-contained. (Version 9 is 0009_entry_seals.sql.)

-- FTS5 keeps the index entries of new rows in memory until they reach
-- `hashsize` bytes (1 MiB by default), then writes them out as a segment, and
-- merges segments as they pile up: `automerge` of one size (4 by default) are
-- merged into one of the next. One group commit of a cold poll indexes a few
-- thousand items; with 4 MiB it writes a quarter as many segments, and merging
-- 16 at a time rewrites each entry about half as often. Indexing a million
-- items: 261 → 206 µs per item, and the last batches 172 → 62 µs per item;
-- searches as fast (see docs/performance.md). Costs at most 3 MiB more memory
-- while a batch is written. Nothing is rewritten.
INSERT INTO search (search, rank) VALUES ('hashsize', 4194304);
INSERT INTO search (search, rank) VALUES ('automerge', 16);
