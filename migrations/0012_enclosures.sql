-- feedloom schema, version 12: the files an entry carries. Documented in
-- docs/schema.md. One column; feeds' validators cleared.

-- The entry's enclosures (RSS <enclosure>, Atom <link rel="enclosure">, JSON
-- Feed attachments) as a JSON array of {"url", "type", "length"} objects
-- ("type" and "length" only when the feed gave them); NULL when it has none.
ALTER TABLE items ADD COLUMN enclosures TEXT;

-- Items stored before this version (a lower id than the cursor) were stored
-- without their files: when their feed shows them, they are filled in without
-- the item being reported as changed. Any later item whose files appear has
-- changed. No row when there are no items.
INSERT INTO store_tasks (task, cursor)
    SELECT 'enclosures', max(id) + 1 FROM items HAVING count(*) > 0;

-- Every feed's document is fetched whole once more (no 304 for what was
-- stored before), so that stored items get their files at once.
UPDATE feeds SET etag = NULL, last_modified = NULL;
