-- feedloom schema, version 13: links that named a feed's own document by a
-- fragment. Documented in docs/schema.md. No table or column changes.

-- An entry's or a channel's link of only a fragment (`<link>#comments</link>`)
-- was resolved against the feed's URL, query and all, and published as the
-- story's or the site's link: a private feed's `?token=` reached every output.
-- Such links are no entry's page: feedloom no longer reads them, and the ones
-- stored before are cleared here (the feed's URL, or the address it moved
-- to, followed by `#`).
UPDATE items SET url = NULL
 WHERE instr(url, '#') > 0
   AND EXISTS (SELECT 1 FROM feeds f
                WHERE f.id = items.feed_id
                  AND substr(items.url, 1, instr(items.url, '#') - 1) IN (f.url, f.fetch_url));

UPDATE feeds SET site_url = NULL
 WHERE instr(site_url, '#') > 0
   AND substr(site_url, 1, instr(site_url, '#') - 1) IN (url, fetch_url);
