-- feedloom schema, version 13, PostgreSQL twin of
-- migrations/0013_fragment_links.sql: links of only a fragment, resolved
-- against the feed's URL (a private feed's `?token=` published), cleared.
UPDATE items i SET url = NULL
  FROM feeds f
 WHERE f.id = i.feed_id
   AND strpos(i.url, '#') > 0
   AND left(i.url, strpos(i.url, '#') - 1) IN (f.url, f.fetch_url);

UPDATE feeds SET site_url = NULL
 WHERE strpos(site_url, '#') > 0
   AND left(site_url, strpos(site_url, '#') - 1) IN (url, fetch_url);
