-- feedloom schema, performance (issue 9), PostgreSQL dialect: the twin of
-- ../0006_perf.sql. Documented in docs/schema.md.

ALTER TABLE feeds ADD COLUMN body_hash text;            -- hash of the last 200 body parsed and stored
ALTER TABLE feeds ADD COLUMN body_stored_at bigint;     -- when that body was last parsed and stored

ALTER TABLE fetches ADD COLUMN unchanged bigint NOT NULL DEFAULT 0;  -- 1: a byte-identical 200, not parsed

DROP INDEX items_feed_canonical;
