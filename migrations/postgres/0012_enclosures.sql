-- feedloom schema, version 12, PostgreSQL twin of migrations/0012_enclosures.sql:
-- the files an entry carries, as a JSON array in text (the same text as on
-- SQLite; cast to jsonb to query it). NULL when the entry has none.
ALTER TABLE items ADD COLUMN enclosures text;
