-- feedloom schema, version 11 (when the search index merges all of a level).
-- Documented in docs/schema.md. Self-contained. (Version 10 is
-- 0010_search_writes.sql.)

-- FTS5 merges segments in two ways: a little at a time after each write, once
-- `automerge` segments of one size exist (16 since version 10), and all of a
-- size at once, inside the write that brings them to `crisismerge` (16 by
-- default). With both at 16 the second way did most of the merging, inside the
-- group commits: 13 % of the writer's time in a cold poll. At 64 the merging is
-- left to the incremental way: a cold poll of 1,000 feeds × 50 items 7 % less
-- CPU, a poll of 5 new items per feed 13 % less, and the file 5 % smaller
-- (docs/performance.md, change 28). Nothing is rewritten.
INSERT INTO search (search, rank) VALUES ('crisismerge', 64);
