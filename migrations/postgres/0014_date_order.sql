-- feedloom schema, version 14, PostgreSQL twin of
-- migrations/0014_date_order.sql: the order a feed writes its numeric dates
-- in (1 day first, 0 month first, NULL not shown yet), kept for its documents
-- that show none.
ALTER TABLE feeds ADD COLUMN dates_day_first bigint;
