-- feedloom schema, version 12, PostgreSQL twin of migrations/0012_enclosures.sql:
-- the files an entry carries, as a JSON array in text (the same text as on
-- SQLite; cast to json to query it). NULL when the entry has none.
ALTER TABLE items ADD COLUMN enclosures text;

-- Items with a lower id than the cursor were stored before this version:
-- their files are filled in without the item being reported as changed.
INSERT INTO store_tasks (task, cursor)
    SELECT 'enclosures', max(id) + 1 FROM items HAVING count(*) > 0;

-- Every feed's document is fetched whole once more.
UPDATE feeds SET etag = NULL, last_modified = NULL;
