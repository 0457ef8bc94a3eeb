//! Storing one fetched document: new and changed items, the feed's new validators
//! and the fetch record, all in ONE transaction (DESIGN.md invariant 1). A crash
//! before the commit leaves the old validators, so the next poll fetches the full
//! body again and nothing is lost.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::feeds::{FeedRef, FetchRecord, Reschedule, apply_redirect, insert_fetch};
use crate::error::StoreError;
use crate::fetch::Validators;
use crate::identity::{Identified, item_uid};

/// What storing a document changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub new: usize,
    pub updated: usize,
}

/// Feed-level facts from the document.
#[derive(Debug, Clone, Default)]
pub struct DocumentMeta {
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub ttl_minutes: Option<u32>,
}

impl Store {
    /// Stores a 200 response's items together with the validators that describe
    /// it and the fetch record. `items` are in document order (newest first, as
    /// feeds usually are); they are inserted last-to-first so that, among items
    /// first seen in the same second, the document's first one sorts newest.
    pub fn apply_document(
        &mut self,
        feed: &FeedRef,
        rec: &FetchRecord,
        validators: &Validators,
        meta: &DocumentMeta,
        items: &[Identified],
        resched: &Reschedule,
    ) -> Result<Applied, StoreError> {
        let now = rec.started_at;
        let ctx = StoreError::ctx;
        let tx = self.conn.transaction().map_err(ctx("storing items"))?;
        let mut applied = Applied::default();
        {
            let mut find = tx
                .prepare_cached(
                    "SELECT id, content_hash FROM items WHERE feed_id = ?1 AND key = ?2",
                )
                .map_err(ctx("storing items"))?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO items (feed_id, key, key_kind, uid, guid, url, canonical_url,
                         title, author, summary, content, content_hash, published_at,
                         updated_at, first_seen_at, last_seen_at, changed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                             ?15, ?15, ?15)",
                )
                .map_err(ctx("storing items"))?;
            let mut update = tx
                .prepare_cached(
                    "UPDATE items SET guid = ?2, url = ?3, canonical_url = ?4, title = ?5,
                         author = ?6, summary = ?7, content = ?8, content_hash = ?9,
                         published_at = ?10, updated_at = ?11, last_seen_at = ?12,
                         changed_at = ?12
                     WHERE id = ?1",
                )
                .map_err(ctx("updating items"))?;
            let mut seen = tx
                .prepare_cached("UPDATE items SET last_seen_at = ?2 WHERE id = ?1")
                .map_err(ctx("updating items"))?;
            for it in items.iter().rev() {
                let e = &it.entry;
                let published = e.published.map(|d| d.timestamp());
                let updated = e.updated.map(|d| d.timestamp());
                let existing: Option<(i64, String)> = find
                    .query_row(params![feed.id, it.key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(ctx("looking up item"))?;
                match existing {
                    None => {
                        insert
                            .execute(params![
                                feed.id,
                                it.key,
                                it.kind.as_str(),
                                item_uid(feed.url.as_str(), &it.key),
                                e.guid,
                                e.link,
                                it.canonical_url,
                                e.title,
                                e.author,
                                e.summary,
                                e.content,
                                it.content_hash,
                                published,
                                updated,
                                now
                            ])
                            .map_err(ctx("inserting item"))?;
                        applied.new += 1;
                    }
                    Some((id, hash)) if hash != it.content_hash => {
                        update
                            .execute(params![
                                id,
                                e.guid,
                                e.link,
                                it.canonical_url,
                                e.title,
                                e.author,
                                e.summary,
                                e.content,
                                it.content_hash,
                                published,
                                updated,
                                now
                            ])
                            .map_err(ctx("updating item"))?;
                        applied.updated += 1;
                    }
                    Some((id, _)) => {
                        seen.execute(params![id, now])
                            .map_err(ctx("updating item"))?;
                    }
                }
            }
        }
        insert_fetch(&tx, feed.id, rec, "ok", applied.new, applied.updated, None)?;
        tx.execute(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, feed_title = COALESCE(?4, feed_title),
                 site_url = COALESCE(?5, site_url), ttl_minutes = ?6, last_fetch_at = ?7,
                 last_success_at = ?7, last_status = 'ok', last_http_status = ?8,
                 last_error = NULL, consecutive_failures = 0, next_fetch_at = ?9
             WHERE id = ?1",
            params![
                feed.id,
                validators.etag,
                validators.last_modified,
                meta.title,
                meta.site_url,
                meta.ttl_minutes,
                rec.started_at,
                rec.http_status,
                resched.next_fetch_at
            ],
        )
        .map_err(ctx("saving validators"))?;
        apply_redirect(&tx, feed.id, resched)?;
        tx.commit().map_err(ctx("committing fetch"))?;
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::identity::identify_document;
    use crate::parse::Entry;
    use std::path::Path;

    fn feed(store: &mut Store) -> FeedRef {
        let cfg = config::parse(
            "[[feed]]\nurl = \"https://example.org/feed.xml\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        store.sync_config(&cfg.feeds).unwrap().remove(0)
    }

    fn entries(n: usize) -> Vec<Identified> {
        identify_document(
            (0..n)
                .map(|i| Entry {
                    guid: Some(format!("g{i}")),
                    title: Some(format!("title {i}")),
                    ..Entry::default()
                })
                .collect(),
        )
    }

    fn validators() -> Validators {
        Validators {
            etag: Some("\"v2\"".into()),
            last_modified: None,
        }
    }

    #[test]
    fn items_and_validators_commit_together() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feed(&mut store);
        let rec = FetchRecord {
            started_at: 1_000,
            ..FetchRecord::default()
        };
        // Make the item insert fail halfway: a trigger rejects the second item.
        store
            .conn()
            .execute_batch(
                "CREATE TEMP TRIGGER boom BEFORE INSERT ON items
                 WHEN NEW.guid = 'g1' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
            )
            .unwrap();
        let err = store.apply_document(
            &f,
            &rec,
            &validators(),
            &DocumentMeta::default(),
            &entries(3),
            &Reschedule::default(),
        );
        assert!(err.is_err());
        let count = |sql: &str| -> i64 { store.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM items"), 0, "no partial items");
        assert_eq!(count("SELECT count(*) FROM fetches"), 0, "no fetch record");
        let etag: Option<String> = store
            .conn()
            .query_row("SELECT etag FROM feeds", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            etag, None,
            "validators must not be saved without their items"
        );

        // With the fault gone the same call stores everything at once.
        store.conn().execute_batch("DROP TRIGGER boom").unwrap();
        let applied = store
            .apply_document(
                &f,
                &rec,
                &validators(),
                &DocumentMeta::default(),
                &entries(3),
                &Reschedule::default(),
            )
            .unwrap();
        assert_eq!(applied, Applied { new: 3, updated: 0 });
        assert_eq!(store.feed_ref(f.id).unwrap().validators, validators());
    }

    #[test]
    fn changed_content_updates_in_place() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feed(&mut store);
        let rec = FetchRecord::default();
        let mut items = entries(2);
        let meta = DocumentMeta::default();
        let rs = Reschedule::default();
        store
            .apply_document(&f, &rec, &validators(), &meta, &items, &rs)
            .unwrap();
        let uid_before: String = store
            .conn()
            .query_row("SELECT uid FROM items WHERE guid = 'g0'", [], |r| r.get(0))
            .unwrap();
        items[0].entry.title = Some("edited".into());
        items[0].content_hash = crate::identity::content_hash(&items[0].entry);
        let applied = store
            .apply_document(&f, &rec, &validators(), &meta, &items, &rs)
            .unwrap();
        assert_eq!(applied, Applied { new: 0, updated: 1 });
        let (uid, title): (String, String) = store
            .conn()
            .query_row("SELECT uid, title FROM items WHERE guid = 'g0'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(uid, uid_before);
        assert_eq!(title, "edited");
    }
}
