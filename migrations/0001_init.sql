-- feedloom schema, version 1. Documented for readers in docs/schema.md.
-- Applied once; never edited. Later changes come as new numbered files.
-- Times are INTEGER seconds since the Unix epoch (UTC); show them with
-- datetime(col, 'unixepoch').

-- One row per feed URL that feedloom has been configured with.
CREATE TABLE feeds (
    id                   INTEGER PRIMARY KEY,
    url                  TEXT    NOT NULL UNIQUE,   -- the URL as configured (the feed's identity)
    fetch_url            TEXT,                      -- where it is fetched now, when a permanent redirect moved it
    title                TEXT,                      -- title from the config, overrides feed_title
    feed_title           TEXT,                      -- title the feed declares
    site_url             TEXT,                      -- the feed's alternate (home page) link
    in_config            INTEGER NOT NULL DEFAULT 1,-- 1 while the current config names it
    enabled              INTEGER NOT NULL DEFAULT 1,-- 0 after 410 Gone until re-enabled
    etag                 TEXT,                      -- validator from the last 200 response
    last_modified        TEXT,                      -- validator from the last 200 response
    last_fetch_at        INTEGER,                   -- when the last fetch started
    last_success_at      INTEGER,                   -- last fetch that ended ok or not_modified
    last_status          TEXT CHECK (last_status IN ('ok', 'not_modified', 'error')),
    last_http_status     INTEGER,                   -- HTTP status of the last response, if any
    last_error           TEXT,                      -- message of the last failure (NULL after a success)
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_fetch_at        INTEGER,                   -- daemon: not fetched before this time
    ttl_minutes          INTEGER,                   -- the feed's own <ttl> hint
    redirect_url         TEXT,                      -- permanent redirect target seen lately
    redirect_count       INTEGER NOT NULL DEFAULT 0,-- consecutive fetches that saw redirect_url
    created_at           INTEGER NOT NULL
);

-- Tags a feed carries in the config (outputs filter on them).
CREATE TABLE feed_tags (
    tag     TEXT    NOT NULL,
    feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, feed_id)
) WITHOUT ROWID;
CREATE INDEX feed_tags_feed ON feed_tags (feed_id);

-- One row per (feed, key): an entry as stored for that feed.
CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,                 -- identity within the feed
    key_kind      TEXT    NOT NULL CHECK (key_kind IN ('guid', 'link', 'hash')),
    uid           TEXT    NOT NULL UNIQUE,          -- feedloom's stable output id
    guid          TEXT,                             -- the feed's own guid/id, if it gave one
    url           TEXT,                             -- the entry's link, absolute, as published
    canonical_url TEXT,                             -- normalised link used for identity
    title         TEXT,                             -- plain text
    author        TEXT,
    summary       TEXT,                             -- HTML as the feed gave it (unsanitised)
    content       TEXT,                             -- HTML as the feed gave it (unsanitised)
    content_hash  TEXT    NOT NULL,                 -- hash of title, link, author, summary, content
    published_at  INTEGER,                          -- the entry's own published date
    updated_at    INTEGER,                          -- the entry's own updated date
    first_seen_at INTEGER NOT NULL,                 -- when feedloom first stored it ("new")
    last_seen_at  INTEGER NOT NULL,                 -- last 200 response that contained it
    changed_at    INTEGER NOT NULL,                 -- last time its content_hash changed
    UNIQUE (feed_id, key)
);
CREATE INDEX items_first_seen ON items (first_seen_at, id);
CREATE INDEX items_feed_first_seen ON items (feed_id, first_seen_at);
CREATE INDEX items_feed_canonical ON items (feed_id, canonical_url);

-- One row per fetch attempt.
CREATE TABLE fetches (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    started_at    INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('ok', 'not_modified', 'error')),
    http_status   INTEGER,                          -- NULL for file:// and network errors
    bytes         INTEGER,                          -- body size after decompression
    items_new     INTEGER NOT NULL DEFAULT 0,
    items_updated INTEGER NOT NULL DEFAULT 0,
    error         TEXT                              -- the failure, with its causes
);
CREATE INDEX fetches_feed_started ON fetches (feed_id, started_at);
