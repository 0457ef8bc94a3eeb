//! Storing one fetched document: new and changed items, their stories, the feed's
//! new validators and the fetch record, all in ONE transaction (DESIGN.md
//! invariant 1). A crash before the commit leaves the old validators, so the next
//! poll fetches the full body again and nothing is lost.
//!
//! How an entry finds its row, in order:
//! 1. its key (guid, else canonical link, else content hash) within the feed;
//! 2. GUID churn: a stored item of the same feed with the same canonical link (or,
//!    without a link, the same title + text) whose own guid/key is absent from this
//!    document is the same item under a new guid: updated, not announced;
//! 3. otherwise it is a new item, and joins a story: one of another feed with the
//!    same canonical URL, else one of another feed that is a near-duplicate of it
//!    (`store/near.rs`, first seen within the near window); else it starts a
//!    story of its own.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, ToSql, params};
use tracing::info;

use super::feeds::{FeedRef, FetchRecord, Reschedule, apply_redirect, insert_fetch};
use super::model::Validators;
use super::{Store, near};
use crate::error::StoreError;
use crate::identity::{Identified, Skipped, hash_before_enclosures, item_uid, specific};

/// What storing a document changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Items first seen.
    pub new: usize,
    /// Items whose content changed.
    pub updated: usize,
    /// New items that joined a story already known from another feed.
    pub joined: usize,
    /// The body was byte-identical to the last one stored: not parsed.
    pub unchanged: bool,
    /// Items whose files were stored without a change to announce (items
    /// stored before schema version 12 that got theirs; files that read
    /// otherwise at the same addresses: a signed link's new token, a new
    /// size): what the outputs show changed all the same.
    pub filled: usize,
}

impl Applied {
    /// Whether what the outputs show changed (they are rendered again).
    pub fn changes_outputs(&self) -> bool {
        self.new + self.updated + self.filled > 0
    }
}

/// Feed-level facts from the document.
#[derive(Debug, Clone, Default)]
pub struct DocumentMeta {
    pub title: Option<String>,
    pub site_url: Option<String>,
    pub ttl_minutes: Option<u32>,
    /// skipHours/skipDays/sy:updatePeriod, kept for the polls that get a 304.
    pub hints: crate::hints::DocHints,
    /// [`crate::identity::body_hash`] of the body, kept to recognise the same
    /// body next time without parsing it.
    pub body_hash: Option<String>,
    /// `feeds.entry_seals` to keep ([`crate::identity::encode_seals`]): every
    /// entry of the document; `None` stores none (the next one is parsed whole).
    pub seals: Option<Vec<u8>>,
    /// The document's entries that were left out before parsing because the
    /// store holds them unchanged (empty: it was parsed whole). They are part
    /// of the document all the same: no item of theirs is taken for another
    /// under a new guid, and `body_stored_at` (when the feed's document was
    /// last read whole) stays.
    pub skipped: Skipped,
    /// The order the document showed for its numeric dates
    /// (`feeds.dates_day_first`; `None`: none, the stored one stays).
    pub day_first: Option<bool>,
}

/// What the feed's previous document held and this one (read whole at `now`)
/// does not: that document was the feed's until now (the 304s since said
/// so), so those items and tombstones count as carried until half a day
/// before `now` ([`SEEN_REFRESH`]: just out of the new document's reach, see
/// `prune::IN_LAST_DOCUMENT`). Their `last_seen_at` was the last 200 that
/// held them, days ago for a feed that answered 304 since: pruning took them
/// at once, and an item the feed carried again was a new story. Runs after
/// the document's own items were stored (they were refreshed, or are new).
fn carried_until_replaced(tx: &Connection, feed_id: i64, now: i64) -> Result<(), StoreError> {
    let until = now - SEEN_REFRESH;
    for table in ["items", "item_tombstones"] {
        tx.prepare_cached(&format!(
            "UPDATE {table} SET last_seen_at = ?2
             WHERE feed_id = ?1 AND last_seen_at < ?2
               AND last_seen_at > (SELECT body_stored_at FROM feeds WHERE id = ?1) - {SEEN_REFRESH}"
        ))
        .and_then(|mut s| s.execute(params![feed_id, until]))
        .map_err(StoreError::ctx("keeping what the last document held"))?;
    }
    Ok(())
}

/// A known item's `last_seen_at` is refreshed when a document that contains it is
/// stored and the stored time is older than this: unchanged items cost no write
/// on every poll. A feed's document is also read whole (every entry, none left
/// out, an identical body too) once its last whole read is this old
/// (`refresh`). Half a day for both: `last_seen_at` is right to within a day
/// (as when every poll read every entry), which retention's tombstones rely on.
pub const SEEN_REFRESH: i64 = 43_200;

/// How stories are matched across feeds.
#[derive(Debug, Clone, Copy)]
pub struct StoryRules {
    pub near_duplicates: bool,
    /// Only stories first seen this many seconds before now are candidates.
    pub near_window: i64,
}

impl Default for StoryRules {
    fn default() -> Self {
        StoryRules {
            near_duplicates: true,
            near_window: 14 * 86_400,
        }
    }
}

struct Existing {
    id: i64,
    content_hash: String,
    story_id: Option<i64>,
    last_seen_at: i64,
    /// `items.enclosures` as stored.
    enclosures: Option<String>,
    /// `items.published_at` and `updated_at` as stored.
    dates: (Option<i64>, Option<i64>),
}

impl Store {
    /// Stores a 200 response's items together with the validators that describe
    /// it and the fetch record. `items` are in document order; they are
    /// stored oldest first ([`in_order_of_age`]) so that, among items first
    /// seen in the same second, the newest sorts first.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_document(
        &mut self,
        feed: &FeedRef,
        rec: &FetchRecord,
        validators: &Validators,
        meta: &DocumentMeta,
        items: &[Identified],
        resched: &Reschedule,
        rules: &StoryRules,
    ) -> Result<Applied, StoreError> {
        let applied = self.apply_document_in(feed, rec, validators, meta, items, resched, rules);
        if applied.is_err() {
            // The near-duplicate index listed items its savepoint took back
            // (their ids are used again): built anew when next needed.
            self.near = Default::default();
        }
        applied
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_document_in(
        &mut self,
        feed: &FeedRef,
        rec: &FetchRecord,
        validators: &Validators,
        meta: &DocumentMeta,
        items: &[Identified],
        resched: &Reschedule,
        rules: &StoryRules,
    ) -> Result<Applied, StoreError> {
        let now = rec.started_at;
        let ctx = StoreError::ctx;
        let tx = self.conn.savepoint().map_err(ctx("storing items"))?;
        let mut applied = Applied::default();
        let doc_keys: HashSet<&str> = items.iter().map(|i| i.key.as_str()).collect();
        let doc_guids: HashSet<&str> = items
            .iter()
            .filter_map(|i| i.entry.guid.as_deref())
            .collect();
        let mut link_counts = std::collections::HashMap::new();
        for it in items {
            if let Some(c) = &it.canonical_url {
                *link_counts.entry(c.as_str()).or_insert(0usize) += 1;
            }
        }
        let story_links = crate::identity::story_links(items);
        // Dates of items read again follow the feed's, unless it stamps one
        // date into all of them (see `redate`).
        let stamped = crate::identity::dates_stamped(items);
        let mut churned = 0usize;
        let mut rekeyed = 0usize;
        // In a group commit, new items are indexed for search at its COMMIT
        // (see `PendingSearch`); alone, right here.
        let defer_search = self.in_batch;
        let pending_search = &mut self.pending_search;
        let mut to_index: Vec<super::PendingSearch> = Vec::new();
        let mut indexed_now = Vec::new();
        let mut window = near::Window::new(now - rules.near_window, &mut self.near);
        // An entry keyed otherwise than the document says: the seals would
        // name the wrong item next time (see `identity::seal`).
        let mut requalified = false;
        // (Whether the document holds no entry the feed holds unchanged: a
        // site that moved, every guid and link with it.)
        let all_new = items.iter().all(|i| !i.known);
        // Text-keyed entries (`identity::is_text_link_key`) by link, title
        // and date: one alone so in the document may be a stored one
        // corrected (see `find_churned`).
        let mut dated_text_keyed: std::collections::HashMap<_, usize> = Default::default();
        for it in items
            .iter()
            .filter(|i| crate::identity::is_text_link_key(&i.key))
        {
            *dated_text_keyed.entry(text_keyed_slot(it)).or_default() += 1;
        }
        for it in in_order_of_age(items) {
            let mut existing = find_by_key(&tx, feed.id, &it.key)?;
            // Two articles that shared a guid (a CMS bug) were keyed with
            // their links (`guid:G link:URL`). Listed alone, each is keyed
            // `guid:G`, which the other's row may hold by now (re-keyed when
            // that one was listed alone): the row keyed with this entry's
            // link is its own (B alone overwrote A, and B was listed twice).
            // And an entry under that guid with yet another link, while
            // the feed still has an article keyed so, is another article.
            let mut shared_guid_key = None;
            if let Some(e) = existing
                .as_ref()
                .filter(|e| e.content_hash != it.content_hash)
                && let Some(own_key) = crate::identity::guid_link_key(it)
            {
                match find_by_key(&tx, feed.id, &own_key)? {
                    Some(own) => existing = Some(own),
                    None if another_article_of_a_shared_guid(&tx, feed.id, e.id, it)? => {
                        existing = None;
                        shared_guid_key = Some(own_key);
                    }
                    None => {}
                }
            }
            // Marked known by a reader, but the row may be gone or differ now.
            let mut it =
                it.completed_unless_stored(existing.as_ref().map(|e| e.content_hash.as_str()));
            if let Some(key) = shared_guid_key {
                it.to_mut().key = key;
            }
            // The item under its key may be another entry the feed gave the
            // same link (see `identity::requalified`).
            if let Some(e) = existing
                .as_ref()
                .filter(|e| e.content_hash != it.content_hash)
                && let Some(key) = requalified_key(&tx, e.id, &it)?
            {
                existing = find_by_key(&tx, feed.id, &key)?;
                it.to_mut().key = key;
                requalified = true;
                if existing.is_none() {
                    // Requalified before under another title: the
                    // same entry corrected since.
                    existing =
                        find_requalified_sibling(&tx, feed.id, &it, &doc_keys, |s, _, _| {
                            !crate::identity::another_entry(&it, s)
                        })?;
                }
            }
            let it = &*it;
            let unique_link = it
                .canonical_url
                .as_deref()
                .is_some_and(|c| link_counts.get(c) == Some(&1) && !meta.skipped.has_link(c));
            // The link names this entry's story (not a listing page or a live
            // blog that several entries with other titles point to).
            let story_link = it
                .canonical_url
                .as_deref()
                .is_some_and(|c| story_links.contains(c) && !meta.skipped.has_link(c));
            // One of several posts at one link (a live blog), its title
            // corrected: the stored post under its old title (it came back
            // as a second post).
            if existing.is_none() && crate::identity::may_be_retitled(it) {
                existing =
                    find_requalified_sibling(&tx, feed.id, it, &doc_keys, |s, published, link| {
                        crate::identity::retitled(it, s, published, link)
                    })?;
            }
            // An entry whose link was only a fragment, stored before version
            // 13 keyed by the feed's own address (which migration 13 cleared
            // from its `url`), now keyed by its content: the same title and
            // date (it was stored again, and announced as new).
            if existing.is_none() && it.kind == crate::identity::KeyKind::Hash {
                existing = find_fragment_keyed(&tx, feed.id, it)?;
                if let Some(e) = &existing {
                    tx.prepare_cached(
                        "UPDATE items SET key = ?2, key_kind = 'hash', canonical_url = NULL WHERE id = ?1",
                    )
                    .and_then(|mut s| s.execute(params![e.id, it.key]))
                    .map_err(ctx("re-keying item"))?;
                }
            }
            if existing.is_none() {
                let doc = InDocument {
                    keys: &doc_keys,
                    guids: &doc_guids,
                    skipped: &meta.skipped,
                    alone_by_date: dated_text_keyed.get(&text_keyed_slot(it)) == Some(&1),
                };
                existing = find_churned(
                    &tx,
                    feed.id,
                    it,
                    unique_link,
                    &doc,
                    (feed.body_stored_at.is_some(), all_new),
                )?;
                if let Some(e) = &existing {
                    // (Only a guid the feed changed says so: a bare episode
                    // found under the key an older feedloom gave it was
                    // logged as the feed's doing.)
                    match it.kind {
                        crate::identity::KeyKind::Guid => churned += 1,
                        _ => rekeyed += 1,
                    }
                    tx.prepare_cached(
                        "UPDATE items SET key = ?2, key_kind = ?3, guid = ?4 WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.execute(params![e.id, it.key, it.kind.as_str(), it.entry.guid])
                    })
                    .map_err(ctx("re-keying item"))?;
                }
            }
            // Stored before feedloom read enclosures (schema version 12), and
            // the same but for them: they are filled in, and the item is not
            // changed. (An item stored since, without files, that gains them
            // has changed.)
            let gains_files_it_had = match &existing {
                Some(e)
                    if e.content_hash != it.content_hash
                        && hash_before_enclosures(&it.entry).as_ref() == Some(&e.content_hash) =>
                {
                    stored_before_enclosures(&tx, e.id)?
                }
                _ => false,
            };
            // Only the link's tracking parameters (or scheme, host case)
            // changed: stored, not announced.
            let link_spelling_only = match &existing {
                Some(e) if e.content_hash != it.content_hash && !gains_files_it_had => {
                    let (url, canonical): (Option<String>, Option<String>) = tx
                        .prepare_cached("SELECT url, canonical_url FROM items WHERE id = ?1")
                        .and_then(|mut s| s.query_row([e.id], |r| Ok((r.get(0)?, r.get(1)?))))
                        .map_err(ctx("reading item link"))?;
                    crate::identity::only_link_spelling_changed(
                        it,
                        url.as_deref(),
                        canonical.as_deref(),
                        &e.content_hash,
                    )
                }
                _ => false,
            };
            match existing {
                // (Pruned under its other key forms too: see `titled_link_key`,
                // `guid_link_key`.)
                None if super::prune::tombstoned(&tx, feed.id, &it.key, now)?
                    || crate::identity::titled_link_key(&it.key, it.entry.title.as_deref())
                        .map(|k| super::prune::tombstoned(&tx, feed.id, &k, now))
                        .transpose()?
                        .unwrap_or(false)
                    || crate::identity::guid_link_key(it)
                        .map(|k| super::prune::tombstoned(&tx, feed.id, &k, now))
                        .transpose()?
                        .unwrap_or(false)
                    || crate::identity::twin_link_key(it)
                        .map(|k| super::prune::tombstoned(&tx, feed.id, &k, now))
                        .transpose()?
                        .unwrap_or(false) => {}
                None => {
                    let (joined, id) =
                        insert_item(&tx, feed, it, story_link, now, rules, &mut window)?;
                    applied.new += 1;
                    applied.joined += usize::from(joined);
                    let e = &it.entry;
                    if defer_search {
                        to_index.push(id);
                    } else {
                        super::search::index_item(
                            &tx,
                            id,
                            e.title.as_deref(),
                            (e.content.as_deref(), e.summary.as_deref()),
                        )?;
                    }
                }
                Some(e) if gains_files_it_had => {
                    redate(&tx, &e, it, stamped, now)?;
                    tx.prepare_cached(
                        "UPDATE items SET enclosures = ?2, content_hash = ?3, last_seen_at = ?4
                         WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            e.id,
                            crate::parse::enclosures::encode(&it.entry.enclosures),
                            it.content_hash,
                            now
                        ])
                    })
                    .map_err(ctx("adding enclosures"))?;
                    applied.filled += 1;
                }
                Some(e) if link_spelling_only => {
                    redate(&tx, &e, it, stamped, now)?;
                    tx.prepare_cached(
                        "UPDATE items SET url = ?2, content_hash = ?3, last_seen_at = ?4,
                                          canonical_url = ?5
                         WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            e.id,
                            it.entry.link,
                            it.content_hash,
                            now,
                            it.canonical_url
                        ])
                    })
                    .map_err(ctx("updating item link"))?;
                    applied.filled += 1;
                }
                Some(e) if e.content_hash != it.content_hash => {
                    // Inserted earlier in this batch and not indexed yet: it is
                    // indexed with its new text now, and not again at COMMIT.
                    to_index.retain(|p| *p != e.id);
                    indexed_now.push(e.id);
                    // The same body as stored, read otherwise (a newer
                    // parser): stored, not announced.
                    // Or as stored by a build before `xml:base` bases were
                    // written into the text (it gains them).
                    // Or spelled otherwise, reading the same.
                    let quiet = rec.same_body
                        || crate::identity::hash_before_bases(&it.entry).as_ref()
                            == Some(&e.content_hash)
                        || crate::identity::reads_the_same(it, &stored_text(&tx, e.id)?);
                    update_item(&tx, &e, it, now, rules, &mut window, quiet)?;
                    if quiet {
                        applied.filled += 1;
                    } else {
                        if let Some(story) = e.story_id {
                            tx.prepare_cached("UPDATE stories SET changed_at = ?2 WHERE id = ?1")
                                .and_then(|mut s| s.execute(params![story, now]))
                                .map_err(ctx("updating story"))?;
                        }
                        applied.updated += 1;
                    }
                }
                // Known and unchanged: the common case, no write at all unless
                // last_seen_at is older than SEEN_REFRESH, or its files read
                // otherwise than stored though their addresses are the same
                // (a signed link's new token, a corrected size): stored,
                // not announced.
                Some(e) => {
                    // Read again with the same text (an entry whose bytes
                    // are as sealed comes here only when the whole
                    // document is read): its
                    // dates follow the entry's (a feed correcting or moving
                    // them), stored, not announced. (They stayed as first
                    // stored, and outputs showed the old dates.)
                    let redated = redate(&tx, &e, it, stamped, now)?;
                    applied.filled += usize::from(redated);
                    let files = crate::parse::enclosures::encode(&it.entry.enclosures);
                    if files != e.enclosures {
                        tx.prepare_cached(
                            "UPDATE items SET enclosures = ?2, last_seen_at = ?3 WHERE id = ?1",
                        )
                        .and_then(|mut s| s.execute(params![e.id, files, now]))
                        .map_err(ctx("updating files"))?;
                        applied.filled += 1;
                    } else if !redated && e.last_seen_at <= now - SEEN_REFRESH {
                        tx.prepare_cached("UPDATE items SET last_seen_at = ?2 WHERE id = ?1")
                            .and_then(|mut s| s.execute(params![e.id, now]))
                            .map_err(ctx("updating items"))?;
                    }
                }
            }
        }
        if churned > 0 {
            info!(feed = %crate::urls::shown_feed_url(feed.url.as_str()), items = churned, "feed changed the guids of items it had already published");
        }
        if rekeyed > 0 {
            info!(feed = %crate::urls::shown_feed_url(feed.url.as_str()), items = rekeyed, "items stored under the key an older reading gave them were found and re-keyed");
        }
        insert_fetch(&tx, feed.id, rec, "ok", applied.new, applied.updated, None)?;
        if meta.skipped.is_empty() && feed.body_stored_at.is_some() {
            carried_until_replaced(&tx, feed.id, now)?;
        }
        tx.prepare_cached(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, feed_title = COALESCE(?4, feed_title),
                 site_url = COALESCE(?5, site_url), ttl_minutes = ?6, last_fetch_at = ?7,
                 last_success_at = ?7, last_status = 'ok', last_http_status = ?8,
                 last_error = NULL, consecutive_failures = 0, next_fetch_at = ?9,
                 skip_hours = ?10, skip_days = ?11, update_interval = ?12,
                 body_hash = ?13, entry_seals = ?14,
                 body_stored_at = CASE WHEN ?15 THEN ?7 ELSE body_stored_at END,
                 dates_day_first = COALESCE(?16, dates_day_first)
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                feed.id,
                validators.etag,
                validators.last_modified,
                meta.title,
                meta.site_url,
                meta.ttl_minutes,
                rec.started_at,
                rec.http_status,
                resched.next_fetch_at,
                meta.hints.skip_hours,
                meta.hints.skip_days,
                meta.hints.update_interval.map(|d| d.as_secs() as i64),
                meta.body_hash,
                if requalified {
                    None
                } else {
                    meta.seals.as_deref()
                },
                meta.skipped.is_empty(),
                meta.day_first.map(i64::from),
            ])
        })
        .map_err(ctx("saving validators"))?;
        apply_redirect(&tx, feed.id, resched)?;
        tx.commit().map_err(ctx("committing fetch"))?;
        // Items went in: the store writes again (a failure record, a 304 or
        // a changed document with no new item does not say so: they fit when
        // items do not).
        if applied.new + applied.updated > 0 {
            *self.write_failed.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        if !indexed_now.is_empty() {
            pending_search.retain(|p| !indexed_now.contains(p));
        }
        pending_search.append(&mut to_index);
        Ok(applied)
    }
}

/// The key `it` takes when the item `id`, stored under its key with other
/// content, is another entry ([`crate::identity::requalified`]).
fn requalified_key(
    tx: &Connection,
    id: i64,
    it: &Identified,
) -> Result<Option<String>, StoreError> {
    if !crate::identity::may_be_requalified(it) {
        return Ok(None);
    }
    read_stored(
        tx,
        id,
        "reading the item under a reused key",
        |stored, _| crate::identity::requalified(it, stored),
    )
}

/// Reads the item `id` as [`crate::identity::StoredItem`] (and its
/// `published_at`) for `judge`.
fn read_stored<T>(
    tx: &Connection,
    id: i64,
    what: &'static str,
    judge: impl FnOnce(&crate::identity::StoredItem, Option<i64>) -> T,
) -> Result<T, StoreError> {
    tx.prepare_cached(
        "SELECT title, coalesce(content, summary), enclosures, published_at FROM items WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id], |r| {
            let stored = crate::identity::StoredItem {
                title: r.get_ref(0)?.as_str_or_null()?,
                body: r.get_ref(1)?.as_str_or_null()?,
                enclosures: r.get_ref(2)?.as_str_or_null()?,
            };
            Ok(judge(&stored, r.get(3)?))
        })
    })
    .map_err(StoreError::ctx(what))
}

/// An item stored under a requalified key sharing `it`'s link
/// ([`crate::identity::requalified_range`]) that is `it` (corrected since),
/// whose key the document does not hold; the newest such.
/// `judge`: whether the stored item (its publication date, its link) is
/// `it`. The item found is re-keyed to `it`'s key.
fn find_requalified_sibling(
    tx: &Connection,
    feed_id: i64,
    it: &Identified,
    doc_keys: &HashSet<&str>,
    judge: impl Fn(&crate::identity::StoredItem, Option<i64>, Option<&str>) -> bool,
) -> Result<Option<Existing>, StoreError> {
    let Some((from, to)) = crate::identity::requalified_range(&it.key) else {
        return Ok(None);
    };
    let mut stmt = tx
        .prepare_cached(
            "SELECT id, content_hash, story_id, last_seen_at, enclosures, key, title,
                    coalesce(content, summary), published_at, updated_at, url
             FROM items WHERE feed_id = ?1 AND key > ?2 AND key < ?3
             ORDER BY id DESC LIMIT 64",
        )
        .map_err(StoreError::ctx("looking up requalified items"))?;
    let mut rows = stmt
        .query(params![feed_id, from, to])
        .map_err(StoreError::ctx("looking up requalified items"))?;
    while let Some(r) = rows
        .next()
        .map_err(StoreError::ctx("looking up requalified items"))?
    {
        let read = || -> rusqlite::Result<Option<Existing>> {
            let key = r.get_ref(5)?.as_str()?;
            if doc_keys.contains(key) {
                return Ok(None);
            }
            let stored = crate::identity::StoredItem {
                title: r.get_ref(6)?.as_str_or_null()?,
                body: r.get_ref(7)?.as_str_or_null()?,
                enclosures: r.get_ref(4)?.as_str_or_null()?,
            };
            match judge(&stored, r.get(8)?, r.get_ref(10)?.as_str_or_null()?) {
                true => existing_of(r).map(Some),
                false => Ok(None),
            }
        };
        if let Some(e) = read().map_err(StoreError::ctx("looking up requalified items"))? {
            tx.prepare_cached("UPDATE items SET key = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![e.id, it.key]))
                .map_err(StoreError::ctx("re-keying item"))?;
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// The order a document's items are stored in, oldest first, so that among
/// items first seen together the newest sorts first in outputs (ids break
/// the tie): by date when every entry has one (a feed listing its oldest
/// first showed them on top, and `max_items` kept the oldest), else the
/// document's order read backwards (feeds list their newest first). Both
/// backends.
pub(crate) fn in_order_of_age(items: &[Identified]) -> impl Iterator<Item = &Identified> {
    let dates: Option<Vec<_>> = items
        .iter()
        .map(|it| it.entry.published.or(it.entry.updated))
        .collect();
    let mut order: Vec<usize> = (0..items.len()).rev().collect();
    if let Some(dates) = dates {
        // Entries of the same date keep the document's direction: backwards
        // when it lists its newest first, else as it is (a feed listing its
        // oldest first put the oldest of a day on top).
        if dates.first() < dates.last() {
            order.reverse();
        }
        order.sort_by_key(|&i| dates[i]);
    }
    order.into_iter().map(move |i| &items[i])
}

/// Whether the item was stored before schema version 12 (its id is below the
/// `enclosures` cursor the migration recorded in `store_tasks`).
fn stored_before_enclosures(tx: &Connection, id: i64) -> Result<bool, StoreError> {
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM store_tasks WHERE task = 'enclosures' AND cursor > ?1)",
    )
    .and_then(|mut s| s.query_row([id], |r| r.get(0)))
    .map_err(StoreError::ctx("reading store tasks"))
}

/// An item read again with the same text: its dates follow the entry's
/// (a feed correcting or moving them; they stayed as first stored, and
/// outputs showed the old dates), as [`crate::identity::dates_to_keep`]
/// says; stored, not announced. Whether they changed.
fn redate(
    tx: &Connection,
    e: &Existing,
    it: &Identified,
    stamped: (bool, bool),
    now: i64,
) -> Result<bool, StoreError> {
    let dates = crate::identity::dates_to_keep(it, e.dates, stamped, now);
    if dates == e.dates {
        return Ok(false);
    }
    tx.prepare_cached(
        "UPDATE items SET published_at = ?2, updated_at = ?3, last_seen_at = ?4 WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![e.id, dates.0, dates.1, now]))
    .map_err(StoreError::ctx("updating dates"))?;
    Ok(true)
}

/// Whether `it`, keyed by its guid alone (`guid:G`) and found as item
/// `found`, is another article: an item of the feed is still keyed
/// `guid:G link:…` (the feed listed two articles under that guid), `found`
/// has another link, and `it` reads otherwise (its title and its text each
/// share less than half their words with `found`'s: a slug edited under the
/// guid is the same article).
fn another_article_of_a_shared_guid(
    tx: &Connection,
    feed_id: i64,
    found: i64,
    it: &Identified,
) -> Result<bool, StoreError> {
    let prefix = format!("{} link:", it.key);
    let end = format!("{prefix}{}", char::MAX);
    tx.prepare_cached(
        "SELECT (SELECT canonical_url FROM items WHERE id = ?1) IS NOT ?2
            AND EXISTS (SELECT 1 FROM items WHERE feed_id = ?3 AND key >= ?4 AND key < ?5),
            title, coalesce(content, summary), enclosures
         FROM items WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row(
            params![found, it.canonical_url, feed_id, prefix, end],
            |r| {
                let stored = crate::identity::StoredItem {
                    title: r.get_ref(1)?.as_str_or_null()?,
                    body: r.get_ref(2)?.as_str_or_null()?,
                    enclosures: r.get_ref(3)?.as_str_or_null()?,
                };
                Ok(r.get::<_, bool>(0)? && crate::identity::reads_otherwise(it, &stored))
            },
        )
    })
    .map_err(StoreError::ctx("looking up a shared guid"))
}

fn find_by_key(tx: &Connection, feed_id: i64, key: &str) -> Result<Option<Existing>, StoreError> {
    tx.prepare_cached(
        "SELECT id, content_hash, story_id, last_seen_at, enclosures, published_at, updated_at FROM items
         WHERE feed_id = ?1 AND key = ?2",
    )
    .and_then(|mut s| s.query_row(params![feed_id, key], existing_of).optional())
    .map_err(StoreError::ctx("looking up item"))
}

/// A stored item of this feed keyed by a link its `url` no longer has (an
/// entry's link of only a fragment, keyed before version 13 by the feed's
/// own address; migration 13 cleared the link) of `it`'s title and date: the
/// newest such.
fn find_fragment_keyed(
    tx: &Connection,
    feed_id: i64,
    it: &Identified,
) -> Result<Option<Existing>, StoreError> {
    tx.prepare_cached(
        "SELECT id, content_hash, story_id, last_seen_at, enclosures, published_at, updated_at FROM items
         WHERE feed_id = ?1 AND url IS NULL AND key_kind = 'link' AND title IS ?2 AND published_at IS ?3
         ORDER BY id DESC LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row(
            params![
                feed_id,
                it.entry.title,
                it.entry.published.map(|d| d.timestamp())
            ],
            existing_of,
        )
        .optional()
    })
    .map_err(StoreError::ctx("looking up item"))
}

/// An [`Existing`] from a row that starts `id, content_hash, story_id,
/// last_seen_at, enclosures`.
fn existing_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Existing> {
    Ok(Existing {
        id: r.get(0)?,
        content_hash: r.get(1)?,
        story_id: r.get(2)?,
        last_seen_at: r.get(3)?,
        enclosures: r.get_ref(4)?.as_str().ok().map(str::to_string),
        dates: (r.get("published_at")?, r.get("updated_at")?),
    })
}

/// A stored item of this feed that is `it` under another guid: the same canonical
/// link (unique in the document), or without a link the same title and text; and
/// its own guid/key no longer in the document. Exactly one such item, or none.
/// The keys and guids of a document's entries: those parsed, and those left
/// out before parsing.
struct InDocument<'a> {
    keys: &'a HashSet<&'a str>,
    guids: &'a HashSet<&'a str>,
    skipped: &'a Skipped,
    /// The entry asked about is the document's only text-keyed entry at its
    /// link with its title and published date.
    alone_by_date: bool,
}

/// A text-keyed entry's link, title and published date.
pub(crate) fn text_keyed_slot(it: &Identified) -> (Option<&str>, Option<&str>, Option<i64>) {
    (
        it.canonical_url.as_deref(),
        it.entry.title.as_deref(),
        it.entry.published.map(|d| d.timestamp()),
    )
}

fn find_churned(
    tx: &Connection,
    feed_id: i64,
    it: &Identified,
    unique_link: bool,
    doc: &InDocument,
    (stored_before, all_new): (bool, bool),
) -> Result<Option<Existing>, StoreError> {
    // By link first; then by title and text among the items that had no
    // link of their own (none, or their guid as it: a link that changes with
    // the guid), so that an entry that gained a link, or whose permalink guid
    // moved, is still recognised.
    // (Several, when the link is a page each new entry of the feed takes in
    // turn: those that read otherwise are left out below.)
    const BY_LINK: &str = "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE feed_id = ?1 AND canonical_url = ?2 ORDER BY id DESC LIMIT 64";
    const BY_TWIN: &str = "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE feed_id = ?1 AND canonical_url = ?2 AND text_hash = ?3 LIMIT 2";
    // (On the partial index items_feed_text_hash.)
    const BY_TEXT: &str = "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE feed_id = ?1 AND text_hash = ?2 AND canonical_url IS NULL LIMIT 2";
    // (The feed's newest items, twice as many as the document has entries
    // and at least 256, filtered: asked only for an entry whose link was
    // taken from its guid, which few feeds need; a guid that moves moves for
    // the entries the feed carries now, its newest, and the ones stored again
    // meanwhile are at most as many as the document's.)
    const BY_TEXT_GUID_LINK: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE id IN (SELECT id FROM items WHERE feed_id = ?1
                                  ORDER BY first_seen_at DESC, id DESC LIMIT ?3)
           AND text_hash = ?2 AND url = guid LIMIT 2";
    type Row = (Existing, String, Option<String>);
    let query = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<Row>, StoreError> {
        tx.prepare_cached(sql)
            .and_then(|mut s| {
                s.query_map(args, |r| {
                    Ok((
                        Existing {
                            id: r.get(0)?,
                            content_hash: r.get(1)?,
                            story_id: r.get(2)?,
                            last_seen_at: r.get(5)?,
                            enclosures: r.get_ref(6)?.as_str().ok().map(str::to_string),
                            dates: (r.get("published_at")?, r.get("updated_at")?),
                        },
                        r.get(3)?,
                        r.get(4)?,
                    ))
                })?
                .collect()
            })
            .map_err(StoreError::ctx("looking up churned item"))
    };
    // Its key in a document where its guid or link was shared, or not
    // shared (see `identity::other_keys`): its (at most three) other forms in
    // one look-up, the first that holds taken.
    let others: Vec<(String, crate::identity::KeyMatch)> = crate::identity::other_keys(it)
        .into_iter()
        .filter(|(k, _)| !doc.keys.contains(k.as_str()) && !doc.skipped.has_key(k))
        .collect();
    debug_assert!(
        others.len() <= crate::identity::MAX_OTHER_KEYS,
        "{others:?}"
    );
    if !others.is_empty() {
        let key = |i: usize| others.get(i).map(|(k, _)| k.as_str());
        type Other = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Existing,
        );
        let mut rows: Vec<Other> = tx
            .prepare_cached(
                "SELECT id, content_hash, story_id, last_seen_at, enclosures,
                        key, title, canonical_url, text_hash, published_at, updated_at
                 FROM items WHERE feed_id = ?1 AND key IN (?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.query_map(params![feed_id, key(0), key(1), key(2)], |r| {
                    Ok((r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, existing_of(r)?))
                })?
                .collect()
            })
            .map_err(StoreError::ctx("looking up churned item"))?;
        let held = others.iter().find_map(|(other, how)| {
            rows.iter().position(|(k, title, canonical, text, e)| {
                k == other
                    && how.holds(
                        it,
                        title.as_deref(),
                        canonical.as_deref(),
                        text.as_deref(),
                        e.enclosures.as_deref(),
                    )
            })
        });
        if let Some(i) = held {
            return Ok(Some(rows.swap_remove(i).4));
        }
    }
    // (The feed's newest items, as for BY_TEXT_GUID_LINK, with the same
    // title, text and published date: an entry whose guid changes at every
    // fetch while its link is one many entries share (the front page, a
    // section), or whose guid and link both moved (the site moved to
    // another domain), was stored again at every poll, or announced again.)
    const BY_TEXT_DATE: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE id IN (SELECT id FROM items WHERE feed_id = ?1
                                  ORDER BY first_seen_at DESC, id DESC LIMIT ?3)
           AND text_hash = ?2 AND published_at IS ?4 AND (?5 IS NULL OR updated_at IS ?5)
         LIMIT 2";
    // (Up to 64 of one date, told apart by their title and words below: a
    // blog's four "Notes" of one day, cut at 2, were stored again.)
    // (Nor when the new site writes the same text's markup otherwise, a
    // line break between paragraphs, a `class` on them, or curls its quotes:
    // the same date, and a title and text that read the same words. Every
    // post was announced again.)
    const BY_DATE: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE id IN (SELECT id FROM items WHERE feed_id = ?1
                                  ORDER BY first_seen_at DESC, id DESC LIMIT ?2)
           AND published_at IS ?3 AND (?4 IS NULL OR updated_at IS ?4)
         LIMIT 64";
    // (On items_canonical.)
    const BY_LINK_TITLE_DATE: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE canonical_url = ?2 AND feed_id = ?1 AND title IS ?3 AND published_at IS ?4
           AND key LIKE 'link:%' AND instr(key, ' text:') > 0 AND instr(key, ' title:') = 0
         LIMIT 2";
    let published = it.entry.published.map(|d| d.timestamp());
    // A move of entries that carry no published date but an updated one
    // (Atom's required date, `<published>` optional) is found by it: every
    // such post was stored and announced again. (`None` with a published
    // date, and for look-ups other than a move's.)
    let moved_updated = match published {
        None => it.entry.updated.map(|d| d.timestamp()),
        Some(_) => None,
    };
    let moved_dated = published.is_some() || moved_updated.is_some();
    let window = (2 * doc.keys.len()).max(256) as i64;
    let moved_otherwise_written = || -> Result<Vec<Row>, StoreError> {
        let rows = query(BY_DATE, &[&feed_id, &window, &published, &moved_updated])?;
        let body = crate::identity::body_of(&it.entry);
        let title = it.entry.title.as_deref().unwrap_or("");
        kept_as_stored(tx, rows, "reading a moved item", |stored, _| {
            crate::visible::same_words(stored.title.unwrap_or(""), title)
                && crate::visible::same_words(stored.body.unwrap_or(""), body)
        })
    };
    // (Only for a feed that stored a document before: a feed's first has
    // nothing to find, and a cold poll read the feed's newest items again
    // for every new item.)
    let by_text_date = stored_before && !it.text_hash.is_empty();
    let rows = match &it.canonical_url {
        // (A front page is where many entries point: it identifies none.)
        Some(c) if unique_link && specific(c) => {
            let mut rows = query(BY_LINK, &[&feed_id, c])?;
            // The link may be a page the feed gives each new entry in turn
            // (a show's latest episode, a weekly bulletin's address).
            rows = kept_as_stored(
                tx,
                rows,
                "reading the item at a link",
                |stored, published| !crate::identity::another_at_link(it, stored, published),
            )?;
            // The same title and text at the link's `www.` twin: the site
            // moved to (or off) `www.`; its items were stored again.
            if rows.is_empty()
                && !it.text_hash.is_empty()
                && let Some(twin) = crate::identity::www_twin(c)
            {
                rows = query(BY_TWIN, &[&feed_id, &twin, &it.text_hash])?;
            }
            if rows.is_empty() && !it.text_hash.is_empty() {
                rows = query(BY_TEXT, &[&feed_id, &it.text_hash])?;
                if rows.is_empty() && link_is_guid(it) {
                    rows = query(BY_TEXT_GUID_LINK, &[&feed_id, &it.text_hash, &window])?;
                }
                // (A link of its own: only with a date to match.)
                // (Only when the document holds nothing the feed holds
                // unchanged, a move: a poll of 5 new items read the feed's
                // newest items again for each.)
                if rows.is_empty() && by_text_date && all_new && moved_dated {
                    rows = query(
                        BY_TEXT_DATE,
                        &[&feed_id, &it.text_hash, &window, &published, &moved_updated],
                    )?;
                    if rows.is_empty() {
                        rows = moved_otherwise_written()?;
                    }
                }
            }
            rows
        }
        Some(c) if by_text_date => {
            let rows = query(
                BY_TEXT_DATE,
                &[&feed_id, &it.text_hash, &window, &published, &None::<i64>],
            )?;
            let rows = match rows.is_empty() && all_new && moved_dated {
                true => moved_otherwise_written()?,
                false => rows,
            };
            match rows.is_empty() {
                // One of the entries of one title at one link, each keyed
                // by its text, corrected: the stored one of its title and
                // date at its link (there is one), no longer in the
                // document. (Stored anew before, beside the old text, and
                // announced again; the posts of other dates, a weekly
                // bulletin's, are each their own.)
                true if doc.alone_by_date
                    && published.is_some()
                    && crate::identity::is_text_link_key(&it.key) =>
                {
                    let rows = query(
                        BY_LINK_TITLE_DATE,
                        &[&feed_id, c, &it.entry.title, &published],
                    )?;
                    // (Its words, mostly: another post of that date, of
                    // other words, overwrote the one stored.)
                    kept_as_stored(tx, rows, "reading a corrected item", |stored, _| {
                        crate::identity::text_alike(it, stored.body)
                    })?
                }
                _ => rows,
            }
        }
        Some(_) => return Ok(None),
        // (Not one that carries other files: an episode of nothing but its
        // file took the row of another stored under the key they shared
        // before their files' naming query counted.)
        None => {
            let mut rows = query(BY_TEXT, &[&feed_id, &it.text_hash])?;
            rows.retain(|(e, _, _)| {
                !crate::identity::carries_other_files(it, e.enclosures.as_deref())
            });
            rows
        }
    };
    if rows.len() != 1 {
        return Ok(None);
    }
    let (e, key, guid) = rows.into_iter().next().expect("one row");
    let still_present = doc.keys.contains(key.as_str())
        || doc.skipped.has_key(&key)
        || guid
            .as_deref()
            .is_some_and(|g| doc.guids.contains(g) || doc.skipped.has_guid(g));
    Ok((!still_present).then_some(e))
}

/// The rows of `find_churned` whose stored item `keep` judges (its text, its
/// published date) to be the entry looked for.
fn kept_as_stored<T>(
    tx: &Connection,
    rows: Vec<(Existing, T, Option<String>)>,
    what: &'static str,
    keep: impl Fn(&crate::identity::StoredItem, Option<i64>) -> bool,
) -> Result<Vec<(Existing, T, Option<String>)>, StoreError> {
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        if read_stored(tx, row.0.id, what, &keep)? {
            kept.push(row);
        }
    }
    Ok(kept)
}

/// Whether an entry's link is its guid, taken from it for want of a `<link>`
/// (an RSS permalink guid): such a link changes with the guid. (An entry that
/// writes its link as `<link>` too is not asked: the lookup it would need reads
/// the feed's items, for every new item of many feeds.)
pub(crate) fn link_is_guid(it: &Identified) -> bool {
    if !it.entry.link_found_elsewhere {
        return false;
    }
    match (&it.entry.link, &it.entry.guid) {
        (Some(l), Some(g)) => url::Url::parse(g.trim()).is_ok_and(|u| u.as_str() == l),
        _ => false,
    }
}

/// Inserts a new item and attaches it to a story (its search index entry is
/// the caller's). Returns whether it joined an existing story, and its id.
fn insert_item(
    tx: &Connection,
    feed: &FeedRef,
    it: &Identified,
    story_link: bool,
    now: i64,
    rules: &StoryRules,
    window: &mut near::Window,
) -> Result<(bool, i64), StoreError> {
    let ctx = StoreError::ctx;
    let uid = free_uid(tx, feed, &it.key)?;
    let link = it.canonical_url.as_deref().filter(|_| story_link);
    // (Or at its `www.` twin: the same page.)
    let twin = link.and_then(crate::identity::www_twin);
    let place = it.place();
    let place = place.as_deref();
    let story = match story_by_url(tx, feed.id, link, place, it)? {
        Some(s) => Some(s),
        None if twin.is_some() => story_by_url(tx, feed.id, twin.as_deref(), place, it)?,
        None => None,
    };
    let story = match story {
        Some(s) => Some(s),
        // (Not by a text the document has under other titles too.)
        None if rules.near_duplicates && !it.shared_text => match &it.fingerprint {
            Some(fp) => near::find_story(tx, feed.id, it, fp, window)?,
            None => None,
        },
        None => None,
    };
    let joined = story.is_some();
    let story_id = match story {
        Some(id) => {
            tx.prepare_cached("UPDATE stories SET item_count = item_count + 1 WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(ctx("joining story"))?;
            id
        }
        None => {
            // (RETURNING would make SQLite re-parse the statement on every run.)
            tx.prepare_cached(
                "INSERT INTO stories (uid, first_seen_at, changed_at) VALUES (?1, ?2, ?2)",
            )
            .and_then(|mut s| s.execute(params![uid, now]))
            .map_err(ctx("creating story"))?;
            tx.last_insert_rowid()
        }
    };
    let cols = Columns::of(it);
    let kind = it.kind.as_str();
    let mut p = cols.params();
    p.extend([
        (":feed_id", &feed.id as &dyn ToSql),
        (":key", &it.key),
        (":key_kind", &kind),
        (":uid", &uid),
        (":story_id", &story_id),
        (":now", &now),
    ]);
    tx.prepare_cached(
        "INSERT INTO items (feed_id, key, key_kind, uid, guid, url, canonical_url,
                 title, author, summary, content, content_hash, published_at,
                 updated_at, first_seen_at, last_seen_at, changed_at, story_id, text_hash,
                 enclosures)
             VALUES (:feed_id, :key, :key_kind, :uid, :guid, :url, :canonical_url,
                 :title, :author, :summary, :content, :content_hash, :published_at,
                 :updated_at, :now, :now, :now, :story_id, :text_hash, :enclosures)",
    )
    .and_then(|mut s| s.execute(p.as_slice()))
    .map_err(ctx("inserting item"))?;
    let item_id = tx.last_insert_rowid();
    // With near-duplicates off, no fingerprint is stored (nor looked up).
    if let (Some(fp), true) = (&it.fingerprint, rules.near_duplicates) {
        near::insert(tx, item_id, feed.id, now, fp, window.built_index())?;
    }
    Ok((joined, item_id))
}

fn update_item(
    tx: &Connection,
    old: &Existing,
    it: &Identified,
    now: i64,
    rules: &StoryRules,
    window: &mut near::Window,
    quiet: bool,
) -> Result<(), StoreError> {
    let id = old.id;
    let cols = Columns::of(it);
    let mut p = cols.params();
    p.extend([
        (":id", &id as &dyn ToSql),
        (":now", &now),
        (":quiet", &quiet),
    ]);
    tx.prepare_cached(
        "UPDATE items SET guid = :guid, url = :url, canonical_url = :canonical_url,
             title = :title, author = :author, summary = :summary, content = :content,
             content_hash = :content_hash, published_at = :published_at,
             updated_at = :updated_at, last_seen_at = :now,
             changed_at = CASE WHEN :quiet THEN changed_at ELSE :now END,
             text_hash = :text_hash, fingerprint = NULL, fingerprint_keys = NULL,
             enclosures = :enclosures
         WHERE id = :id",
    )
    .and_then(|mut s| s.execute(p.as_slice()))
    .map_err(StoreError::ctx("updating item"))?;
    let e = &it.entry;
    super::search::reindex_item(
        tx,
        id,
        e.title.as_deref(),
        (e.content.as_deref(), e.summary.as_deref()),
    )?;
    // The fingerprint follows the latest text.
    near::replace(
        tx,
        id,
        it.fingerprint.as_ref().filter(|_| rules.near_duplicates),
        window.built_index(),
    )?;
    Ok(())
}

/// An item's text as stored, for [`crate::identity::reads_the_same`].
fn stored_text(tx: &Connection, id: i64) -> Result<crate::identity::StoredText, StoreError> {
    tx.prepare_cached(
        "SELECT url, title, author, summary, content, enclosures, canonical_url
         FROM items WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id], |r| {
            Ok(crate::identity::StoredText {
                url: r.get(0)?,
                canonical_url: r.get(6)?,
                title: r.get(1)?,
                author: r.get(2)?,
                summary: r.get(3)?,
                content: r.get(4)?,
                enclosures: r.get(5)?,
            })
        })
    })
    .map_err(StoreError::ctx("reading item text"))
}

/// The item's output id: derived from feed and key, unless the id of this key is
/// still held by an item that changed its guid (GUID churn) or by a story whose
/// first item was pruned; then a numbered variant, so that the new item gets a
/// fixed id of its own.
fn free_uid(tx: &Connection, feed: &FeedRef, key: &str) -> Result<String, StoreError> {
    let mut taken = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM items WHERE uid = ?1)
                 OR EXISTS (SELECT 1 FROM stories WHERE uid = ?1)",
        )
        .map_err(StoreError::ctx("choosing item id"))?;
    let mut n = 1;
    loop {
        let uid = if n == 1 {
            item_uid(feed.url.as_str(), key)
        } else {
            item_uid(feed.url.as_str(), &format!("{key}#{n}"))
        };
        let used: bool = taken
            .query_row([&uid], |r| r.get(0))
            .map_err(StoreError::ctx("choosing item id"))?;
        if !used {
            return Ok(uid);
        }
        n += 1;
    }
}

/// The columns an entry's content fills, shared by inserting and updating items.
struct Columns<'a> {
    it: &'a Identified,
    published: Option<i64>,
    updated: Option<i64>,
    enclosures: Option<String>,
}

impl<'a> Columns<'a> {
    fn of(it: &'a Identified) -> Self {
        Columns {
            it,
            published: it.entry.published.map(|d| d.timestamp()),
            updated: it.entry.updated.map(|d| d.timestamp()),
            enclosures: crate::parse::enclosures::encode(&it.entry.enclosures),
        }
    }

    /// As named parameters (`:guid`, `:url`, ...).
    fn params(&self) -> Vec<(&'static str, &dyn ToSql)> {
        let e = &self.it.entry;
        vec![
            (":guid", &e.guid),
            (":url", &e.link),
            (":canonical_url", &self.it.canonical_url),
            (":title", &e.title),
            (":author", &e.author),
            (":summary", &e.summary),
            (":content", &e.content),
            (":content_hash", &self.it.content_hash),
            (":published_at", &self.published),
            (":updated_at", &self.updated),
            (":text_hash", &self.it.text_hash),
            (":enclosures", &self.enclosures),
        ]
    }
}

/// The story of another feed's item with this canonical URL, unless that story
/// already has an item of this feed, or that feed has other items with the
/// URL under another title (a listing page, a live blog, a podcast's home:
/// the link names no one story there; the same article listed twice does).
/// The caller passes a URL only when its own document uses it so too
/// ([`crate::identity::story_links`]).
/// Nor one whose link names another place in the page (`page#v2-4-0`
/// against this one's `place`, `page#v2-5-0`; see
/// [`crate::identity::place_fragment`]).
fn story_by_url(
    tx: &Connection,
    feed_id: i64,
    canonical: Option<&str>,
    place: Option<&str>,
    it: &Identified,
) -> Result<Option<i64>, StoreError> {
    let Some(c) = canonical.filter(|c| specific(c)) else {
        return Ok(None);
    };
    let found = tx
        .prepare_cached(
            "SELECT i.story_id,
                    (SELECT group_concat(s.url, char(10)) FROM items s
                     WHERE s.story_id = i.story_id AND s.canonical_url = ?1),
                    i.id
             FROM items i
             WHERE i.canonical_url = ?1 AND i.feed_id != ?2 AND i.story_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM items j WHERE j.story_id = i.story_id AND j.feed_id = ?2)
               AND NOT EXISTS (SELECT 1 FROM items k
                               WHERE k.canonical_url = ?1 AND k.feed_id = i.feed_id AND k.id != i.id
                                 AND (k.title IS NOT i.title
                                      OR (k.key LIKE 'link:%' AND instr(k.key, ' text:') > 0)))
             ORDER BY i.id LIMIT 8",
        )
        .and_then(|mut s| {
            s.query_map(params![c, feed_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(StoreError::ctx("matching stories by URL"))?;
    // (The other item's text is read only at a section's page.)
    let section = crate::identity::at_section_page(it);
    for (story, urls, item) in found {
        let placed = urls
            .as_deref()
            .unwrap_or("")
            .split('\n')
            .all(|url| other_place(place, Some(url)));
        if placed
            && !(section
                && read_stored(tx, item, "matching stories by URL", |s, _| {
                    crate::identity::unrelated_at_link(it, s.title, s.body)
                })?)
        {
            return Ok(Some(story));
        }
    }
    Ok(None)
}

/// Whether an item at `url` may be the story of one whose link names
/// `place`: unless both name places in the page, and not the same. (Asked
/// of every item of a story at the same page: a story joined by a link
/// without a place, `/changelog`, and one to `#v2-4-0`, took `#v2-5-0` too.)
pub(crate) fn other_place(place: Option<&str>, url: Option<&str>) -> bool {
    // (A numbered place and a heading's anchor are not told apart: one site
    // links a post as `#post-123`, another the same one as `#story-top`.)
    let numbered = |p: &str| p.bytes().any(|b| b.is_ascii_digit());
    match (place, url.and_then(crate::identity::place_fragment)) {
        (Some(a), Some(b)) => a == b || numbered(a) != numbered(&b),
        _ => true,
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

    /// `items` stored as a 200 response of feed `f` at `at`.
    fn apply_at(store: &mut Store, f: &FeedRef, items: &[Identified], at: i64) -> Applied {
        let rec = FetchRecord {
            started_at: at,
            ..FetchRecord::default()
        };
        let (meta, rs) = (DocumentMeta::default(), Reschedule::default());
        store
            .apply_document(
                f,
                &rec,
                &validators(),
                &meta,
                items,
                &rs,
                &StoryRules::default(),
            )
            .unwrap()
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
            &StoryRules::default(),
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
                &StoryRules::default(),
            )
            .unwrap();
        assert_eq!(
            applied,
            Applied {
                new: 3,
                updated: 0,
                joined: 0,
                unchanged: false,
                filled: 0,
            }
        );
        assert_eq!(store.feed_ref(f.id).unwrap().validators, validators());
    }

    #[test]
    fn last_seen_at_of_unchanged_items_is_refreshed_at_most_daily() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feed(&mut store);
        let items = entries(2);
        let store_at = |store: &mut Store, at: i64| {
            let rec = FetchRecord {
                started_at: at,
                ..FetchRecord::default()
            };
            store
                .apply_document(
                    &f,
                    &rec,
                    &validators(),
                    &DocumentMeta::default(),
                    &items,
                    &Reschedule::default(),
                    &StoryRules::default(),
                )
                .unwrap()
        };
        let seen = |store: &Store| -> Vec<i64> {
            let mut st = store
                .conn()
                .prepare("SELECT last_seen_at FROM items ORDER BY id")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let t0 = 1_000_000;
        assert_eq!(store_at(&mut store, t0).new, 2);
        // Seen again within half a day: no write.
        assert_eq!(store_at(&mut store, t0 + 3_600), Applied::default());
        assert_eq!(seen(&store), [t0, t0]);
        // Half a day later the same document refreshes last_seen_at.
        store_at(&mut store, t0 + SEEN_REFRESH);
        assert_eq!(seen(&store), [t0 + SEEN_REFRESH, t0 + SEEN_REFRESH]);
        // first_seen_at and changed_at never move for unchanged items.
        let (first, changed): (i64, i64) = store
            .conn()
            .query_row(
                "SELECT min(first_seen_at), max(changed_at) FROM items",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((first, changed), (t0, t0));
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
            .apply_document(
                &f,
                &rec,
                &validators(),
                &meta,
                &items,
                &rs,
                &StoryRules::default(),
            )
            .unwrap();
        let uid_before: String = store
            .conn()
            .query_row("SELECT uid FROM items WHERE guid = 'g0'", [], |r| r.get(0))
            .unwrap();
        items[0].entry.title = Some("edited".into());
        items[0].content_hash = crate::identity::content_hash(&items[0].entry);
        let applied = store
            .apply_document(
                &f,
                &rec,
                &validators(),
                &meta,
                &items,
                &rs,
                &StoryRules::default(),
            )
            .unwrap();
        assert_eq!(
            applied,
            Applied {
                new: 0,
                updated: 1,
                joined: 0,
                unchanged: false,
                filled: 0,
            }
        );
        let (uid, title): (String, String) = store
            .conn()
            .query_row("SELECT uid, title FROM items WHERE guid = 'g0'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(uid, uid_before);
        assert_eq!(title, "edited");
    }

    /// An item stored before feedloom read enclosures gets them without being
    /// reported (or dated) as changed; one stored since that gains files, and
    /// a change of files, are changes.
    /// An entry sharing a guid with a sibling of the same title and no link
    /// is not that sibling: it must not take the sibling's row (its text and
    /// link over the sibling's) as entries come and go.
    #[test]
    fn an_entry_sharing_a_guid_never_takes_a_siblings_row() {
        let doc = |es: &[&Entry]| identify_document(es.iter().map(|e| (*e).clone()).collect());
        let mut store = Store::open_in_memory().unwrap();
        let f = feed(&mut store);
        let apply =
            |store: &mut Store, items: &[Identified], at: i64| apply_at(store, &f, items, at);
        let same = |link: Option<&str>, text: &str| Entry {
            guid: Some("g".into()),
            title: Some("Scheduled maintenance".into()),
            link: link.map(|l| format!("https://example.org/{l}")),
            summary: Some(text.into()),
            ..Entry::default()
        };
        let a = same(None, "Database upgrade tonight");
        let b = Entry {
            title: Some("Other news".into()),
            ..same(None, "Other text")
        };
        let c = same(Some("m/42"), "Mail servers restart");
        apply(&mut store, &doc(&[&a, &b, &c]), 1_000);
        apply(&mut store, &doc(&[&c]), 1_100);
        for (at, shown) in [(1_200, vec![&a, &b, &c]), (1_300, vec![&c])] {
            let applied = apply(&mut store, &doc(&shown), at);
            assert_eq!(applied.updated, 0, "{at}");
        }
        let texts: Vec<String> = store
            .conn()
            .prepare("SELECT summary FROM items ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            texts.iter().any(|t| t == "Database upgrade tonight"),
            "{texts:?}"
        );
    }

    /// An item stored without a link that its entry gives now (read from
    /// its guid or an Atom link that a repair of its document had lost)
    /// gains it quietly: every item of such a feed was reported updated once.
    #[test]
    fn an_item_stored_without_its_link_gains_it_quietly() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feed(&mut store);
        let apply =
            |store: &mut Store, items: &[Identified], at: i64| apply_at(store, &f, items, at);
        let bare = Entry {
            guid: Some("https://example.org/p/1".into()),
            title: Some("A post".into()),
            summary: Some("Its text.".into()),
            ..Entry::default()
        };
        assert_eq!(
            apply(&mut store, &identify_document(vec![bare.clone()]), 1_000).new,
            1
        );
        let linked = Entry {
            link: Some("https://example.org/p/1".into()),
            ..bare.clone()
        };
        let applied = apply(&mut store, &identify_document(vec![linked]), 2_000);
        assert_eq!((applied.new, applied.updated, applied.filled), (0, 0, 1));
        let (url, canonical, changed): (Option<String>, Option<String>, i64) = store
            .conn()
            .query_row(
                "SELECT url, canonical_url, changed_at FROM items",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(url.as_deref(), Some("https://example.org/p/1"));
        assert!(canonical.is_some());
        assert_eq!(changed, 1_000);
        // Its text changed as well: an update like any other.
        let edited = Entry {
            link: Some("https://example.org/p/1".into()),
            summary: Some("Its text, corrected.".into()),
            ..bare
        };
        assert_eq!(
            apply(&mut store, &identify_document(vec![edited]), 3_000).updated,
            1
        );
    }

    /// An entry stored by a build before `xml:base` bases were written into
    /// the text is the same entry with them: not a new item (an entry
    /// without guid or link was stored twice), not an update.
    #[test]
    fn entries_stored_before_bases_gain_them_quietly() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feed(&mut store);
        let apply =
            |store: &mut Store, items: &[Identified], at: i64| apply_at(store, &f, items, at);
        let old = |guid: Option<&str>| Entry {
            guid: guid.map(str::to_string),
            title: Some(format!("Pictures {guid:?}")),
            content: Some("<p><img src=\"pic.png\"> A harbour.</p>".into()),
            ..Entry::default()
        };
        let based = |e: Entry| Entry {
            content: e
                .content
                .as_ref()
                .map(|c| format!("<base href=\"http://cdn.example/media/\">{c}")),
            ..e
        };
        let before = identify_document(vec![old(Some("g0")), old(None)]);
        assert_eq!(apply(&mut store, &before, 1_000).new, 2);
        let now = identify_document(vec![based(old(Some("g0"))), based(old(None))]);
        let applied = apply(&mut store, &now, 2_000);
        assert_eq!((applied.new, applied.updated), (0, 0), "{applied:?}");
        assert_eq!(applied.filled, 2);
        let (items, changed): (i64, i64) = store
            .conn()
            .query_row(
                "SELECT count(*), max(changed_at) FROM items WHERE content LIKE '<base href=%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((items, changed), (2, 1_000));
        // Seen again: nothing to do; the base itself changed: an update.
        assert_eq!(apply(&mut store, &now, 3_000).filled, 0);
        let moved = identify_document(vec![Entry {
            content: Some(
                "<base href=\"http://cdn2.example/\"><p><img src=\"pic.png\"> A harbour.</p>"
                    .into(),
            ),
            ..old(Some("g0"))
        }]);
        assert_eq!(apply(&mut store, &moved, 4_000).updated, 1);
    }

    #[test]
    fn enclosures_are_filled_in_quietly_and_their_changes_count() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feed(&mut store);
        let apply =
            |store: &mut Store, items: &[Identified], at: i64| apply_at(store, &f, items, at);
        let row = |store: &Store, guid: &str| -> (Option<String>, i64) {
            store
                .conn()
                .query_row(
                    "SELECT enclosures, changed_at FROM items WHERE guid = ?1",
                    [guid],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        let bare = entries(2);
        assert_eq!(apply(&mut store, &bare[..1], 1_000).new, 1);
        // g0 as a feedloom from before version 12 stored it: the cursor its
        // migration records. g1 is stored after it.
        store
            .conn()
            .execute(
                "INSERT INTO store_tasks (task, cursor) SELECT 'enclosures', max(id) + 1 FROM items",
                [],
            )
            .unwrap();
        assert_eq!(apply(&mut store, &bare, 1_500).new, 1);
        let with = |name: &str| {
            let files = |e: &Entry, n: &str| Entry {
                enclosures: vec![crate::parse::Enclosure {
                    url: format!("https://example.org/{n}"),
                    media_type: Some("audio/mpeg".into()),
                    length: Some(7),
                }],
                ..e.clone()
            };
            identify_document(vec![
                files(&bare[0].entry, name),
                files(&bare[1].entry, "g1.mp3"),
            ])
        };
        let items = with("g0.mp3");
        let applied = apply(&mut store, &items, 2_000);
        assert_eq!(
            (applied.new, applied.updated, applied.filled),
            (0, 1, 1),
            "g1 changed, g0 filled in"
        );
        assert!(applied.changes_outputs());
        let json = r#"[{"url":"https://example.org/g0.mp3","type":"audio/mpeg","length":7}]"#;
        assert_eq!(row(&store, "g0"), (Some(json.into()), 1_000));
        assert_eq!(row(&store, "g1").1, 2_000);
        // Seen again as is: nothing to do.
        let again = apply(&mut store, &items, 3_000);
        assert_eq!((again.updated, again.filled), (0, 0));
        // A signed link's new token (and a corrected size): stored, not
        // announced, the outputs rendered again.
        let signed = with("g0.mp3?token=2");
        let resigned = apply(&mut store, &signed, 3_500);
        assert_eq!((resigned.updated, resigned.filled), (0, 1), "g0 only");
        assert!(row(&store, "g0").0.unwrap().contains("g0.mp3?token=2"));
        assert_eq!(row(&store, "g0").1, 1_000);
        // The episode's file replaced: a change like any other.
        let items = with("g0-fixed.mp3");
        assert_eq!(apply(&mut store, &items, 4_000).updated, 1);
        let (json, changed) = row(&store, "g0");
        assert!(json.unwrap().contains("g0-fixed.mp3"));
        assert_eq!(changed, 4_000);
        // Their files gone: a change too, and the column is NULL again.
        assert_eq!(apply(&mut store, &bare, 5_000).updated, 2);
        assert_eq!(row(&store, "g0"), (None, 5_000));
    }
}
