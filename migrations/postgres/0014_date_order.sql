-- feedloom schema, version 14, PostgreSQL twin of
-- migrations/0014_date_order.sql: the order a feed writes its numeric dates
-- in (1 day first, 0 month first, NULL not shown yet), kept for its documents
-- that show none.
ALTER TABLE feeds ADD COLUMN dates_day_first bigint;

-- The first item id stored by version 14 (see the SQLite twin).
INSERT INTO store_tasks (task, cursor)
    SELECT 'date_order', max(id) + 1 FROM items HAVING count(*) > 0;
