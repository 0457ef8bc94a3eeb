-- feedloom schema: entries recognised before parsing (issue 9). Documented in
-- docs/schema.md. One column, no data rewritten.

-- Per entry of the last document stored for the feed: the hash of its raw bytes
-- (with what around it decides its meaning), of its key and of its canonical
-- link. The next 200 with another body leaves out, before parsing, the entries
-- whose raw hash is here. NULL: the next document is parsed whole.
ALTER TABLE feeds ADD COLUMN entry_seals BLOB;
