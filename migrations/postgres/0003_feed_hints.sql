-- feedloom schema, version 3, PostgreSQL dialect: the twin of ../0003_feed_hints.sql.

ALTER TABLE feeds ADD COLUMN skip_hours bigint NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN skip_days bigint NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN update_interval bigint;

ALTER TABLE fingerprint_bands ADD COLUMN fingerprint bigint;
UPDATE fingerprint_bands
    SET fingerprint = (SELECT i.fingerprint FROM items i WHERE i.id = fingerprint_bands.item_id);
