-- feedloom schema, version 3. Documented in docs/schema.md.
-- The scheduling hints of a feed's last document, kept so that they still apply
-- after a 304 Not Modified; and the whole fingerprint in each band row.

ALTER TABLE feeds ADD COLUMN skip_hours INTEGER NOT NULL DEFAULT 0; -- RSS <skipHours>: bit h set = skip hour h (GMT)
ALTER TABLE feeds ADD COLUMN skip_days INTEGER NOT NULL DEFAULT 0;  -- RSS <skipDays>: bit d set = skip day d (0 = Monday)
ALTER TABLE feeds ADD COLUMN update_interval INTEGER;               -- sy:updatePeriod / sy:updateFrequency, in seconds

-- Each band row also carries the whole fingerprint, so that near-duplicate
-- candidates are judged from the band index alone, without reading their items.
ALTER TABLE fingerprint_bands ADD COLUMN fingerprint INTEGER; -- = items.fingerprint of item_id
UPDATE fingerprint_bands
    SET fingerprint = (SELECT i.fingerprint FROM items i WHERE i.id = fingerprint_bands.item_id);
