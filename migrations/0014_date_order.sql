-- feedloom schema, version 14: the order a feed writes its numeric dates in.
-- Documented in docs/schema.md.

-- A feed's documents were judged one by one: a day-first feed (`25/11/2026`)
-- whose next document held only dates that read either way (`07/12/2026`)
-- was read month first again, and its stored dates moved by months. The
-- order a document shows is kept on the feed's row, and used for its later
-- documents that show none. NULL until a document of the feed shows one
-- (every existing row: the next fetch of each feed sets it).
ALTER TABLE feeds ADD COLUMN dates_day_first INTEGER;

-- The first item id stored by version 14: the dates of the items stored
-- before (read in the order their documents showed) settle the order of a
-- feed whose next document shows none; those read since under an unknown
-- order do not (they were read month first, and locked a day-first feed's
-- order so). Stays.
INSERT INTO store_tasks (task, cursor)
    SELECT 'date_order', max(id) + 1 FROM items HAVING count(*) > 0;
