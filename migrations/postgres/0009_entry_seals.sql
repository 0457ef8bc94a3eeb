-- feedloom schema, version 9, PostgreSQL twin of migrations/0009_entry_seals.sql.
-- The column exists on both backends so that what a user queries stays the same.
-- The PostgreSQL backend does not use it yet: it stays NULL there, and every
-- changed document is parsed whole (correct, only slower than on SQLite).
ALTER TABLE feeds ADD COLUMN entry_seals bytea;
