-- feedloom schema, version 7 (scale out), PostgreSQL dialect: the twin of
-- ../0007_claims.sql, plus what many nodes need to share. Documented in
-- docs/schema.md and docs/scaling.md.
ALTER TABLE feeds ADD COLUMN claimed_by text;
ALTER TABLE feeds ADD COLUMN claimed_until bigint;
-- The host a feed is fetched from (lower case): politeness is per host.
ALTER TABLE feeds ADD COLUMN host text GENERATED ALWAYS AS (
    lower(substring(COALESCE(fetch_url, url) from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^]]*\]|[^:/?#]*)'))
) STORED;
-- What claiming reads: due feeds, and the active claims of a host.
CREATE INDEX feeds_due ON feeds (next_fetch_at) WHERE in_config = 1 AND enabled = 1;
CREATE INDEX feeds_claimed ON feeds (host, claimed_until) WHERE claimed_until IS NOT NULL;

-- One row per host: when the next request to it may start (milliseconds since
-- the epoch), so that [fetch] host_gap holds across nodes.
CREATE TABLE hosts (
    host          text   PRIMARY KEY,
    next_start_ms bigint NOT NULL
);
