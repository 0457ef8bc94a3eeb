-- feedloom schema, version 12: the files an entry carries. Documented in
-- docs/schema.md. One column, no data rewritten.

-- The entry's enclosures (RSS <enclosure>, Atom <link rel="enclosure">, JSON
-- Feed attachments) as a JSON array of {"url", "type", "length"} objects
-- ("type" and "length" only when the feed gave them); NULL when it has none.
-- Items stored before version 12 get theirs the next time their feed's
-- document is read whole, without being reported as changed.
ALTER TABLE items ADD COLUMN enclosures TEXT;
