//! Storing one fetched document on PostgreSQL: the same rules as the SQLite
//! side (`crate::store::items`: key, GUID churn, stories by canonical URL or
//! near-duplicate fingerprint), in ONE transaction with the validators, the
//! fetch record and the release of the claim.
//!
//! Other nodes store other feeds at the same moment. Two of them must not both
//! start a story for the same article: before looking for a story, the
//! transaction takes advisory locks on the keys a new item could be matched by
//! (its canonical URL, its fingerprint's anchors), all at once in sorted order; a
//! node storing a matching item waits for the first one's COMMIT and then sees
//! its story. A transaction that still loses a race (deadlock, a unique key
//! taken meanwhile) runs again from the start.

use std::collections::{HashMap, HashSet};

use super::feeds::{apply_redirect, insert_fetch};
use super::pool::Tx;
use super::{PgStore, near, retryable};
use crate::error::StoreError;
use crate::identity::{Identified, item_uid, specific};
use crate::store::feeds::{FeedRef, FetchRecord, Reschedule};
use crate::store::items::{Applied, DocumentMeta, SEEN_REFRESH, StoryRules};
use crate::store::model::Validators;
use crate::store::prune::key_hash;
use crate::store::search::indexed_fields;

/// Times a document is stored again after losing a race with another node.
const ATTEMPTS: usize = 6;

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

impl Existing {
    /// From a row that starts `id, content_hash, story_id, last_seen_at,
    /// enclosures` and holds `published_at` and `updated_at`.
    fn of(r: &tokio_postgres::Row) -> Existing {
        Existing {
            id: r.get(0),
            content_hash: r.get(1),
            story_id: r.get(2),
            last_seen_at: r.get(3),
            enclosures: r.get(4),
            dates: (r.get("published_at"), r.get("updated_at")),
        }
    }
}

impl PgStore {
    /// Marks the entries this feed already holds unchanged (same key, same
    /// content hash), as [`crate::store::SharedStore::mark_known`] does on
    /// SQLite: they need no near-duplicate fingerprint. For a blocking thread
    /// of the runtime (the parse step); on any error nothing is marked.
    pub fn mark_known_blocking(&self, feed_id: i64, items: &mut [Identified]) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
        let read = async {
            let mut conn = self.pool().get().await?;
            let mut tx = conn.tx().await?;
            let rows = tx
                .query(
                    "recognising known items",
                    "SELECT key, content_hash FROM items WHERE feed_id = $1 AND key = ANY($2)",
                    &[&feed_id, &keys],
                )
                .await?;
            tx.commit("recognising known items").await?;
            Ok::<_, StoreError>(
                rows.iter()
                    .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
                    .collect::<HashMap<String, String>>(),
            )
        };
        if let Ok(stored) = handle.block_on(read) {
            for it in items.iter_mut() {
                it.known = stored.get(&it.key) == Some(&it.content_hash);
            }
        }
    }

    /// [`crate::store::Backend::stored_dates`] of PostgreSQL, from a
    /// blocking thread (as [`Self::mark_known_blocking`]).
    pub fn stored_dates_blocking(
        &self,
        feed_id: i64,
        keys: &[String],
    ) -> Vec<(String, crate::store::api::StoredDates)> {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return Vec::new();
        };
        let read = async {
            let mut conn = self.pool().get().await?;
            let mut tx = conn.tx().await?;
            let c = "reading stored dates";
            let rows = tx
                .query(
                    c,
                    "SELECT key, published_at, updated_at FROM items
                     WHERE feed_id = $1 AND key = ANY($2)
                       AND id < (SELECT cursor FROM store_tasks WHERE task = 'date_order')",
                    &[&feed_id, &keys],
                )
                .await?;
            tx.commit(c).await?;
            Ok::<_, StoreError>(
                rows.iter()
                    .map(|r| (r.get::<_, String>(0), (r.get(1), r.get(2))))
                    .collect(),
            )
        };
        handle.block_on(read).unwrap_or_default()
    }

    /// Stores a 200 response's items with its validators and fetch record.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_document(
        &self,
        feed: &FeedRef,
        rec: &FetchRecord,
        validators: &Validators,
        meta: &DocumentMeta,
        items: &[Identified],
        resched: &Reschedule,
        rules: &StoryRules,
    ) -> Result<Applied, StoreError> {
        let mut attempt = 0;
        let r = loop {
            attempt += 1;
            let r = self
                .apply_once(feed, rec, validators, meta, items, resched, rules)
                .await;
            match &r {
                Err(e) if attempt < ATTEMPTS && retryable(e) => {
                    tracing::debug!(attempt, error = %crate::error::chain(e), "storing again after a race with another node");
                    tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
                }
                _ => break r,
            }
        };
        self.note_commit(&r);
        r
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_once(
        &self,
        feed: &FeedRef,
        rec: &FetchRecord,
        validators: &Validators,
        meta: &DocumentMeta,
        items: &[Identified],
        resched: &Reschedule,
        rules: &StoryRules,
    ) -> Result<Applied, StoreError> {
        let now = rec.started_at;
        let c = "storing items";
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let mut applied = Applied::default();
        // A fetch that started before the one stored last (this node was
        // frozen past its lease, and another fetched the feed meanwhile) is
        // older news: dropped (it wrote the older document over the newer
        // one, and moved `changed_at` back). The row is locked until commit.
        let stored_at: Option<i64> = tx
            .one(
                c,
                "SELECT last_fetch_at FROM feeds WHERE id = $1 FOR UPDATE",
                &[&feed.id],
            )
            .await?
            .get(0);
        if stored_at.is_some_and(|t| t > now) {
            tx.commit(c).await?;
            tracing::info!(
                feed = %crate::urls::shown_feed_url(feed.url.as_str()),
                "a newer fetch of this feed was stored meanwhile (by another node, after this one's claim ran out): this one is dropped"
            );
            return Ok(applied);
        }
        let doc_keys: HashSet<&str> = items.iter().map(|i| i.key.as_str()).collect();
        let doc_guids: HashSet<&str> = items
            .iter()
            .filter_map(|i| i.entry.guid.as_deref())
            .collect();
        let mut link_counts = HashMap::new();
        for it in items {
            if let Some(c) = &it.canonical_url {
                *link_counts.entry(c.as_str()).or_insert(0usize) += 1;
            }
        }
        let story_links = crate::identity::story_links(items);
        let stamped = crate::identity::dates_stamped(items);
        // Every known key of the document in one query.
        let keys: Vec<&str> = doc_keys.iter().copied().collect();
        let mut known: HashMap<String, Existing> = tx
            .query(
                c,
                "SELECT key, id, content_hash, story_id, last_seen_at, enclosures, published_at,
                        updated_at
                 FROM items WHERE feed_id = $1 AND key = ANY($2)",
                &[&feed.id, &keys],
            )
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    Existing {
                        id: r.get(1),
                        content_hash: r.get(2),
                        story_id: r.get(3),
                        last_seen_at: r.get(4),
                        enclosures: r.get(5),
                        dates: (r.get("published_at"), r.get("updated_at")),
                    },
                )
            })
            .collect();
        // Locks on what new items could be matched by, sorted: no deadlock
        // between two nodes taking overlapping sets.
        // Not common features (see `near::common_features`); hubs of one
        // story are locked, a copy is found through them (`near::hub_story`).
        let mut locks: Vec<i64> = Vec::new();
        let mut anchors: Vec<u32> = Vec::new();
        // (An entry whose key another item holds may be stored as new too:
        // see `identity::requalified`.)
        let may_be_new = |it: &Identified| match known.get(&it.key) {
            None => true,
            // (And one keyed by a guid alone may be another article under a
            // guid the feed once gave two: `another_article_of_a_shared_guid`.)
            Some(e) => {
                e.content_hash != it.content_hash
                    && (crate::identity::may_be_requalified(it)
                        || crate::identity::guid_link_key(it).is_some())
            }
        };
        for it in items.iter().filter(|it| may_be_new(it)) {
            if let Some(cu) = it.canonical_url.as_deref().filter(|c| specific(c)) {
                locks.push(key_hash(&format!("url {cu}")));
            }
            if rules.near_duplicates
                && let Some(fp) = &it.fingerprint
            {
                anchors.extend(&fp.anchors);
            }
        }
        anchors.sort_unstable();
        anchors.dedup();
        let common = near::common_features(&mut tx, &anchors, now - rules.near_window).await?;
        locks.extend(
            anchors
                .iter()
                .filter(|a| !common.contains(a))
                .map(|a| near::lock_key(*a)),
        );
        if !locks.is_empty() {
            locks.sort_unstable();
            locks.dedup();
            tx.exec(
                c,
                "SELECT count(pg_advisory_xact_lock(k)) FROM
                     (SELECT k FROM unnest($1::bigint[]) AS k ORDER BY k) AS sorted",
                &[&locks],
            )
            .await?;
        }
        let mut unchanged: Vec<i64> = Vec::new();
        let mut churned = 0usize;
        let mut rekeyed = 0usize;
        // (Whether the document holds no entry the feed holds unchanged:
        // see SQLite's.)
        let all_new = items.iter().all(|i| !i.known);
        // Text-keyed entries by link, title and date (see SQLite's).
        let mut dated_text_keyed: HashMap<_, usize> = HashMap::new();
        for it in items
            .iter()
            .filter(|i| crate::identity::is_text_link_key(&i.key))
        {
            *dated_text_keyed
                .entry(crate::store::items::text_keyed_slot(it))
                .or_default() += 1;
        }
        for it in crate::store::items::in_order_of_age(items) {
            let mut existing = known.remove(&it.key);
            // Two articles that shared a guid, each listed alone now: the
            // row keyed with this entry's link is its own (see SQLite's).
            let mut shared_guid_key = None;
            if let Some(found) = existing
                .as_ref()
                .filter(|e| e.content_hash != it.content_hash)
                .map(|e| e.id)
                && let Some(own_key) = crate::identity::guid_link_key(it)
            {
                let own = match known.remove(&own_key) {
                    Some(k) => Some(k),
                    None => find_by_key(&mut tx, feed.id, &own_key).await?,
                };
                let plain = match own {
                    Some(own) => existing.replace(own),
                    None if another_article_of_a_shared_guid(&mut tx, feed.id, found, it)
                        .await? =>
                    {
                        shared_guid_key = Some(own_key);
                        existing.take()
                    }
                    None => None,
                };
                if let Some(plain) = plain {
                    known.insert(it.key.clone(), plain);
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
                && crate::identity::may_be_requalified(&it)
            {
                let row = tx
                    .one(
                        c,
                        "SELECT title, coalesce(content, summary), enclosures
                         FROM items WHERE id = $1",
                        &[&e.id],
                    )
                    .await?;
                let (title, body, enclosures): (Option<String>, Option<String>, Option<String>) =
                    (row.get(0), row.get(1), row.get(2));
                let stored = crate::identity::StoredItem {
                    title: title.as_deref(),
                    body: body.as_deref(),
                    enclosures: enclosures.as_deref(),
                };
                if let Some(key) = crate::identity::requalified(&it, &stored) {
                    existing = match known.remove(&key) {
                        Some(k) => Some(k),
                        None => find_by_key(&mut tx, feed.id, &key).await?,
                    };
                    it.to_mut().key = key;
                    if existing.is_none() {
                        // Requalified before under another title
                        // (see SQLite's).
                        existing = find_requalified_sibling(
                            &mut tx,
                            feed.id,
                            &it,
                            &doc_keys,
                            |s, _, _| !crate::identity::another_entry(&it, s),
                        )
                        .await?;
                    }
                }
            }
            let it = &*it;
            let unique_link = it
                .canonical_url
                .as_deref()
                .is_some_and(|c| link_counts.get(c) == Some(&1));
            // The link names this entry's story (see SQLite's).
            let story_link = it
                .canonical_url
                .as_deref()
                .is_some_and(|c| story_links.contains(c));
            // A live blog's post, its title corrected (see SQLite's).
            if existing.is_none() && crate::identity::may_be_retitled(it) {
                existing =
                    find_requalified_sibling(&mut tx, feed.id, it, &doc_keys, |s, p, link| {
                        crate::identity::retitled(it, s, p, link)
                    })
                    .await?;
            }
            // An entry whose link was only a fragment, keyed before version
            // 13 by the feed's own address (see SQLite's).
            if existing.is_none() && it.kind == crate::identity::KeyKind::Hash {
                let published = it.entry.published.map(|d| d.timestamp());
                existing = tx
                    .opt(
                        "looking up item",
                        "SELECT id, content_hash, story_id, last_seen_at, enclosures, published_at, updated_at
                         FROM items WHERE feed_id = $1 AND url IS NULL AND key_kind = 'link'
                           AND title IS NOT DISTINCT FROM $2 AND published_at IS NOT DISTINCT FROM $3
                         ORDER BY id DESC LIMIT 1",
                        &[&feed.id, &it.entry.title, &published],
                    )
                    .await?
                    .map(|r| Existing::of(&r));
                if let Some(e) = &existing {
                    tx.exec(
                        "re-keying item",
                        "UPDATE items SET key = $2, key_kind = 'hash', canonical_url = NULL WHERE id = $1",
                        &[&e.id, &it.key],
                    )
                    .await?;
                }
            }
            if existing.is_none() {
                existing = find_churned(
                    &mut tx,
                    feed.id,
                    it,
                    unique_link,
                    (&doc_keys, &doc_guids),
                    (
                        feed.body_stored_at.is_some(),
                        all_new,
                        dated_text_keyed.get(&crate::store::items::text_keyed_slot(it)) == Some(&1),
                    ),
                )
                .await?;
                if let Some(e) = &existing {
                    // (Only a guid the feed changed says so: a bare episode
                    // found under the key an older feedloom gave it was
                    // logged as the feed's doing.)
                    match it.kind {
                        crate::identity::KeyKind::Guid => churned += 1,
                        _ => rekeyed += 1,
                    }
                    tx.exec(
                        "re-keying item",
                        "UPDATE items SET key = $2, key_kind = $3, guid = $4 WHERE id = $1",
                        &[&e.id, &it.key, &it.kind.as_str(), &it.entry.guid],
                    )
                    .await?;
                }
            }
            // Stored before feedloom read enclosures (schema version 12): see
            // store/items.rs.
            let gains_files_it_had = match &existing {
                Some(e)
                    if e.content_hash != it.content_hash
                        && crate::identity::hash_before_enclosures(&it.entry).as_ref()
                            == Some(&e.content_hash) =>
                {
                    tx.one(
                        "reading store tasks",
                        "SELECT EXISTS (SELECT 1 FROM store_tasks
                                        WHERE task = 'enclosures' AND cursor > $1)",
                        &[&e.id],
                    )
                    .await?
                    .get::<_, bool>(0)
                }
                _ => false,
            };
            // Only the link's spelling changed: see store/items.rs.
            let link_spelling_only = match &existing {
                Some(e) if e.content_hash != it.content_hash && !gains_files_it_had => {
                    let row = tx
                        .one(
                            "reading item link",
                            "SELECT url, canonical_url FROM items WHERE id = $1",
                            &[&e.id],
                        )
                        .await?;
                    crate::identity::only_link_spelling_changed(
                        it,
                        row.get::<_, Option<String>>(0).as_deref(),
                        row.get::<_, Option<String>>(1).as_deref(),
                        &e.content_hash,
                    )
                }
                _ => false,
            };
            match existing {
                None if tombstoned(&mut tx, feed.id, &it.key, now).await?
                    || match crate::identity::titled_link_key(&it.key, it.entry.title.as_deref()) {
                        Some(k) => tombstoned(&mut tx, feed.id, &k, now).await?,
                        None => false,
                    }
                    || match crate::identity::guid_link_key(it) {
                        Some(k) => tombstoned(&mut tx, feed.id, &k, now).await?,
                        None => false,
                    }
                    || match crate::identity::twin_link_key(it) {
                        Some(k) => tombstoned(&mut tx, feed.id, &k, now).await?,
                        None => false,
                    } => {}
                None => {
                    let joined = insert_item(&mut tx, feed, it, story_link, now, rules).await?;
                    applied.new += 1;
                    applied.joined += usize::from(joined);
                }
                Some(e) if gains_files_it_had => {
                    redate(&mut tx, &e, it, stamped, now).await?;
                    tx.exec(
                        "adding enclosures",
                        "UPDATE items SET enclosures = $2, content_hash = $3, last_seen_at = $4
                         WHERE id = $1",
                        &[
                            &e.id,
                            &crate::parse::enclosures::encode(&it.entry.enclosures),
                            &it.content_hash,
                            &now,
                        ],
                    )
                    .await?;
                    applied.filled += 1;
                }
                Some(e) if link_spelling_only => {
                    redate(&mut tx, &e, it, stamped, now).await?;
                    tx.exec(
                        "updating item link",
                        "UPDATE items SET url = $2, content_hash = $3, last_seen_at = $4,
                                          canonical_url = $5
                         WHERE id = $1",
                        &[
                            &e.id,
                            &it.entry.link,
                            &it.content_hash,
                            &now,
                            &it.canonical_url,
                        ],
                    )
                    .await?;
                    applied.filled += 1;
                }
                Some(e) if e.content_hash != it.content_hash => {
                    // The same body as stored, read otherwise (a newer
                    // parser): stored, not announced (as on SQLite).
                    // Or as stored by a build before `xml:base` bases were
                    // written into the text (it gains them).
                    // Or spelled otherwise, reading the same.
                    let quiet = rec.same_body
                        || crate::identity::hash_before_bases(&it.entry).as_ref()
                            == Some(&e.content_hash)
                        || {
                            let r = tx
                                .one(
                                    "reading item text",
                                    "SELECT url, title, author, summary, content, enclosures,
                                            canonical_url
                                     FROM items WHERE id = $1",
                                    &[&e.id],
                                )
                                .await?;
                            crate::identity::reads_the_same(
                                it,
                                &crate::identity::StoredText {
                                    url: r.get(0),
                                    canonical_url: r.get(6),
                                    title: r.get(1),
                                    author: r.get(2),
                                    summary: r.get(3),
                                    content: r.get(4),
                                    enclosures: r.get(5),
                                },
                            )
                        };
                    update_item(&mut tx, &e, it, now, rules, quiet).await?;
                    if quiet {
                        applied.filled += 1;
                    } else {
                        if let Some(story) = e.story_id {
                            tx.exec(
                                "updating story",
                                "UPDATE stories SET changed_at = $2 WHERE id = $1",
                                &[&story, &now],
                            )
                            .await?;
                        }
                        applied.updated += 1;
                    }
                }
                // Known and unchanged: no write unless last_seen_at is older
                // than SEEN_REFRESH (as on SQLite).
                // Files that read otherwise with the same addresses (a
                // signed link's new token): stored, not announced.
                Some(e) => {
                    // Read again with the same text: its dates follow the
                    // entry's (see SQLite's).
                    let redated = redate(&mut tx, &e, it, stamped, now).await?;
                    applied.filled += usize::from(redated);
                    let files = crate::parse::enclosures::encode(&it.entry.enclosures);
                    if files != e.enclosures {
                        tx.exec(
                            "updating files",
                            "UPDATE items SET enclosures = $2, last_seen_at = $3 WHERE id = $1",
                            &[&e.id, &files, &now],
                        )
                        .await?;
                        applied.filled += 1;
                    } else if !redated && e.last_seen_at <= now - SEEN_REFRESH {
                        unchanged.push(e.id);
                    }
                }
            }
        }
        if !unchanged.is_empty() {
            tx.exec(
                "updating items",
                "UPDATE items SET last_seen_at = $2 WHERE id = ANY($1)",
                &[&unchanged, &now],
            )
            .await?;
        }
        if churned > 0 {
            tracing::info!(feed = %crate::urls::shown_feed_url(feed.url.as_str()), items = churned, "feed changed the guids of items it had already published");
        }
        if rekeyed > 0 {
            tracing::info!(feed = %crate::urls::shown_feed_url(feed.url.as_str()), items = rekeyed, "items stored under the key an older reading gave them were found and re-keyed");
        }
        insert_fetch(
            &mut tx,
            feed.id,
            rec,
            "ok",
            applied.new,
            applied.updated,
            None,
        )
        .await?;
        // What the previous document held and this one does not counts as
        // carried until half a day ago (see the SQLite store's
        // `carried_until_replaced`).
        if feed.body_stored_at.is_some() {
            let until = rec.started_at - SEEN_REFRESH;
            for table in ["items", "item_tombstones"] {
                tx.exec(
                    "keeping what the last document held",
                    &format!(
                        "UPDATE {table} SET last_seen_at = $2
                         WHERE feed_id = $1 AND last_seen_at < $2
                           AND last_seen_at > (SELECT body_stored_at FROM feeds WHERE id = $1) - {SEEN_REFRESH}"
                    ),
                    &[&feed.id, &until],
                )
                .await?;
            }
        }
        tx.exec(
            "saving validators",
            "UPDATE feeds SET etag = $2, last_modified = $3, feed_title = COALESCE($4, feed_title),
                 site_url = COALESCE($5, site_url), ttl_minutes = $6, last_fetch_at = $7,
                 last_success_at = $7, last_status = 'ok', last_http_status = $8,
                 last_error = NULL, consecutive_failures = 0, next_fetch_at = $9,
                 skip_hours = $10, skip_days = $11, update_interval = $12,
                 body_hash = $14, body_stored_at = $7,
                 dates_day_first = COALESCE($15, dates_day_first),
                 claimed_by = CASE WHEN claimed_by = $13 THEN NULL ELSE claimed_by END,
                 claimed_until = CASE WHEN claimed_by = $13 THEN NULL ELSE claimed_until END
             WHERE id = $1",
            &[
                &feed.id,
                &validators.etag,
                &validators.last_modified,
                &meta.title,
                &meta.site_url,
                &meta.ttl_minutes.map(i64::from),
                &rec.started_at,
                &rec.http_status.map(i64::from),
                &resched.next_fetch_at,
                &i64::from(meta.hints.skip_hours),
                &i64::from(meta.hints.skip_days),
                &meta.hints.update_interval.map(|d| d.as_secs() as i64),
                &self.node(),
                &meta.body_hash,
                &meta.day_first.map(i64::from),
            ],
        )
        .await?;
        apply_redirect(&mut tx, feed.id, resched).await?;
        if applied.changes_outputs() {
            // Delivered to the other nodes at COMMIT, and only then.
            tx.exec(
                "telling other nodes",
                "SELECT pg_notify($1, $2)",
                &[&super::CHANNEL, &self.node()],
            )
            .await?;
        }
        tx.commit("committing fetch").await?;
        Ok(applied)
    }
}

async fn tombstoned(
    tx: &mut Tx<'_>,
    feed_id: i64,
    key: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .exec(
            "checking tombstones",
            "UPDATE item_tombstones SET last_seen_at = greatest(last_seen_at, $3)
             WHERE feed_id = $1 AND key_hash = $2",
            &[&feed_id, &key_hash(key), &now],
        )
        .await?;
    Ok(n > 0)
}

/// An item under a requalified key sharing `it`'s link that is `it`
/// (see SQLite's `find_requalified_sibling`), re-keyed to `it`'s key.
async fn find_requalified_sibling(
    tx: &mut Tx<'_>,
    feed_id: i64,
    it: &Identified,
    doc_keys: &HashSet<&str>,
    judge: impl Fn(&crate::identity::StoredItem, Option<i64>, Option<&str>) -> bool,
) -> Result<Option<Existing>, StoreError> {
    let Some((from, to)) = crate::identity::requalified_range(&it.key) else {
        return Ok(None);
    };
    // (A range in bytes' order, as SQLite reads it: the database's own
    // collation may sort `:` and `;` otherwise. Asked only for an entry
    // requalified and not found under its new key.)
    let rows = tx
        .query(
            "looking up requalified items",
            "SELECT id, content_hash, story_id, last_seen_at, enclosures, key, title,
                    coalesce(content, summary), published_at, updated_at, url
             FROM items WHERE feed_id = $1 AND key COLLATE \"C\" > $2 AND key COLLATE \"C\" < $3
             ORDER BY id DESC LIMIT 64",
            &[&feed_id, &from, &to],
        )
        .await?;
    for r in &rows {
        let key: String = r.get(5);
        if doc_keys.contains(key.as_str()) {
            continue;
        }
        let (title, body, enclosures): (Option<String>, Option<String>, Option<String>) =
            (r.get(6), r.get(7), r.get(4));
        let stored = crate::identity::StoredItem {
            title: title.as_deref(),
            body: body.as_deref(),
            enclosures: enclosures.as_deref(),
        };
        let link: Option<String> = r.get("url");
        if judge(&stored, r.get("published_at"), link.as_deref()) {
            let id: i64 = r.get(0);
            tx.exec(
                "re-keying item",
                "UPDATE items SET key = $2 WHERE id = $1",
                &[&id, &it.key],
            )
            .await?;
            return Ok(Some(Existing::of(r)));
        }
    }
    Ok(None)
}

/// An item read again with the same text: its dates follow the entry's
/// (see SQLite's `redate`). Whether they changed.
async fn redate(
    tx: &mut Tx<'_>,
    e: &Existing,
    it: &crate::identity::Identified,
    stamped: (bool, bool),
    now: i64,
) -> Result<bool, StoreError> {
    let dates = crate::identity::dates_to_keep(it, e.dates, stamped, now);
    if dates == e.dates {
        return Ok(false);
    }
    tx.exec(
        "updating dates",
        "UPDATE items SET published_at = $2, updated_at = $3, last_seen_at = $4 WHERE id = $1",
        &[&e.id, &dates.0, &dates.1, &now],
    )
    .await?;
    Ok(true)
}

/// Whether `it`, keyed by its guid alone and found as item `found`, is
/// another article (see SQLite's).
async fn another_article_of_a_shared_guid(
    tx: &mut Tx<'_>,
    feed_id: i64,
    found: i64,
    it: &crate::identity::Identified,
) -> Result<bool, StoreError> {
    let prefix = format!("{} link:", it.key);
    let row = tx
        .one(
            "looking up a shared guid",
            "SELECT canonical_url IS DISTINCT FROM $2
                AND EXISTS (SELECT 1 FROM items WHERE feed_id = $3 AND starts_with(key, $4)),
                title, coalesce(content, summary), enclosures
             FROM items WHERE id = $1",
            &[&found, &it.canonical_url, &feed_id, &prefix],
        )
        .await?;
    let (title, body, enclosures): (Option<String>, Option<String>, Option<String>) =
        (row.get(1), row.get(2), row.get(3));
    let stored = crate::identity::StoredItem {
        title: title.as_deref(),
        body: body.as_deref(),
        enclosures: enclosures.as_deref(),
    };
    Ok(row.get::<_, bool>(0) && crate::identity::reads_otherwise(it, &stored))
}

/// The item of `feed_id` stored under `key`.
async fn find_by_key(
    tx: &mut Tx<'_>,
    feed_id: i64,
    key: &str,
) -> Result<Option<Existing>, StoreError> {
    Ok(tx
        .query(
            "looking up item",
            "SELECT id, content_hash, story_id, last_seen_at, enclosures, published_at, updated_at FROM items
             WHERE feed_id = $1 AND key = $2",
            &[&feed_id, &key],
        )
        .await?
        .first()
        .map(Existing::of))
}

async fn find_churned(
    tx: &mut Tx<'_>,
    feed_id: i64,
    it: &Identified,
    unique_link: bool,
    (doc_keys, doc_guids): (&HashSet<&str>, &HashSet<&str>),
    (stored_before, all_new, alone_by_date): (bool, bool, bool),
) -> Result<Option<Existing>, StoreError> {
    let c = "looking up churned item";
    // By link, then by title and text (see SQLite's).
    const BY_TEXT: &str = "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE feed_id = $1 AND text_hash = $2 AND canonical_url IS NULL LIMIT 2";
    const BY_TEXT_GUID_LINK: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE id IN (SELECT id FROM items WHERE feed_id = $1
                                  ORDER BY first_seen_at DESC, id DESC LIMIT $3)
           AND text_hash = $2 AND url = guid LIMIT 2";
    // Its key in a document where its guid or link was shared, or not
    // shared (see `identity::other_keys`): its other forms in one look-up,
    // the first that holds taken.
    let others: Vec<(String, crate::identity::KeyMatch)> = crate::identity::other_keys(it)
        .into_iter()
        .filter(|(k, _)| !doc_keys.contains(k.as_str()))
        .collect();
    if !others.is_empty() {
        let keys: Vec<&str> = others.iter().map(|(k, _)| k.as_str()).collect();
        let rows = tx
            .query(
                c,
                "SELECT id, content_hash, story_id, last_seen_at, enclosures,
                        key, title, canonical_url, text_hash, published_at, updated_at
                 FROM items WHERE feed_id = $1 AND key = ANY($2)",
                &[&feed_id, &keys],
            )
            .await?;
        let held = others.iter().find_map(|(other, how)| {
            rows.iter().find(|r| {
                r.get::<_, &str>(5) == other
                    && how.holds(it, r.get(6), r.get(7), r.get(8), r.get(4))
            })
        });
        if let Some(r) = held {
            return Ok(Some(Existing::of(r)));
        }
    }
    // (The newest items with the same title, text and date: see SQLite's.)
    const BY_TEXT_DATE: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at
         FROM items WHERE id IN (SELECT id FROM items WHERE feed_id = $1
                                  ORDER BY first_seen_at DESC, id DESC LIMIT $3)
           AND text_hash = $2 AND published_at IS NOT DISTINCT FROM $4
           AND ($5::bigint IS NULL OR updated_at IS NOT DISTINCT FROM $5) LIMIT 2";
    // (The same date, and a title and text that read the same words, the
    // markup written otherwise, the quotes curled: see SQLite's.)
    const BY_DATE: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at,
                title, coalesce(content, summary) AS body
         FROM items WHERE id IN (SELECT id FROM items WHERE feed_id = $1
                                  ORDER BY first_seen_at DESC, id DESC LIMIT $2)
           AND published_at IS NOT DISTINCT FROM $3
           AND ($4::bigint IS NULL OR updated_at IS NOT DISTINCT FROM $4) LIMIT 64";
    // (A link's text-keyed entries of one title, by date: see SQLite's.)
    const BY_LINK_TITLE_DATE: &str =
        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at,
                coalesce(content, summary) AS body
         FROM items WHERE canonical_url = $2 AND feed_id = $1
           AND title IS NOT DISTINCT FROM $3 AND published_at IS NOT DISTINCT FROM $4
           AND key LIKE 'link:%' AND strpos(key, ' text:') > 0 AND strpos(key, ' title:') = 0
         LIMIT 2";
    let published = it.entry.published.map(|d| d.timestamp());
    // A move found by the updated date of entries without a published one
    // (see SQLite's).
    let moved_updated = match published {
        None => it.entry.updated.map(|d| d.timestamp()),
        Some(_) => None,
    };
    let moved_dated = published.is_some() || moved_updated.is_some();
    let no_date: Option<i64> = None;
    let window = (2 * doc_keys.len()).max(256) as i64;
    let body = crate::identity::body_of(&it.entry);
    // (A move's look-up by date, asked in two places below.)
    let by_date: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&feed_id, &window, &published, &moved_updated];
    let title = it.entry.title.as_deref().unwrap_or("");
    let written_otherwise = |rows: Vec<tokio_postgres::Row>| -> Vec<tokio_postgres::Row> {
        rows.into_iter()
            .filter(|r| {
                crate::visible::same_words(
                    r.get::<_, Option<String>>("title").as_deref().unwrap_or(""),
                    title,
                ) && crate::visible::same_words(
                    r.get::<_, Option<String>>("body").as_deref().unwrap_or(""),
                    body,
                )
            })
            .collect()
    };
    // (Only for a feed that stored a document before: see SQLite's.)
    let by_text_date = stored_before && !it.text_hash.is_empty();
    let rows = match &it.canonical_url {
        Some(cu) if unique_link && specific(cu) => {
            // (Those that read otherwise left out: see SQLite's.)
            let rows: Vec<_> = tx
                .query(
                    c,
                    "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at,
                            title, coalesce(content, summary) AS body FROM items
                     WHERE feed_id = $1 AND canonical_url = $2 ORDER BY id DESC LIMIT 64",
                    &[&feed_id, cu],
                )
                .await?
                .into_iter()
                .filter(|r| {
                    let stored = crate::identity::StoredItem {
                        title: r.get("title"),
                        body: r.get("body"),
                        enclosures: r.get("enclosures"),
                    };
                    !crate::identity::another_at_link(it, &stored, r.get("published_at"))
                })
                .collect();
            // (At the link's `www.` twin, with the same text: see SQLite's.)
            let rows = match crate::identity::www_twin(cu) {
                Some(twin) if rows.is_empty() && !it.text_hash.is_empty() => {
                    tx.query(
                        c,
                        "SELECT id, content_hash, story_id, key, guid, last_seen_at, enclosures, published_at, updated_at FROM items
                         WHERE feed_id = $1 AND canonical_url = $2 AND text_hash = $3 LIMIT 2",
                        &[&feed_id, &twin, &it.text_hash],
                    )
                    .await?
                }
                _ => rows,
            };
            if rows.is_empty() && !it.text_hash.is_empty() {
                let mut rows = tx.query(c, BY_TEXT, &[&feed_id, &it.text_hash]).await?;
                if rows.is_empty() && crate::store::items::link_is_guid(it) {
                    // (As many as SQLite's: see there.)
                    rows = tx
                        .query(c, BY_TEXT_GUID_LINK, &[&feed_id, &it.text_hash, &window])
                        .await?;
                }
                // (A link of its own: only with a date to match.)
                if rows.is_empty() && by_text_date && all_new && moved_dated {
                    rows = tx
                        .query(
                            c,
                            BY_TEXT_DATE,
                            &[&feed_id, &it.text_hash, &window, &published, &moved_updated],
                        )
                        .await?;
                    if rows.is_empty() {
                        rows = written_otherwise(tx.query(c, BY_DATE, &by_date).await?);
                    }
                }
                rows
            } else {
                rows
            }
        }
        Some(link) if by_text_date => {
            let rows = tx
                .query(
                    c,
                    BY_TEXT_DATE,
                    &[&feed_id, &it.text_hash, &window, &published, &no_date],
                )
                .await?;
            let rows = match rows.is_empty() && all_new && moved_dated {
                true => written_otherwise(tx.query(c, BY_DATE, &by_date).await?),
                false => rows,
            };
            // One of a link's text-keyed entries of one title, corrected:
            // the stored one of its date (see SQLite's).
            match rows.is_empty()
                && alone_by_date
                && published.is_some()
                && crate::identity::is_text_link_key(&it.key)
            {
                true => tx
                    .query(
                        c,
                        BY_LINK_TITLE_DATE,
                        &[&feed_id, link, &it.entry.title, &published],
                    )
                    .await?
                    .into_iter()
                    // (Its words, mostly: see SQLite's.)
                    .filter(|r| {
                        crate::identity::text_alike(
                            it,
                            r.get::<_, Option<String>>("body").as_deref(),
                        )
                    })
                    .collect(),
                false => rows,
            }
        }
        Some(_) => return Ok(None),
        // (Not one that carries other files: see SQLite's.)
        None => {
            let mut rows = tx.query(c, BY_TEXT, &[&feed_id, &it.text_hash]).await?;
            rows.retain(|r| !crate::identity::carries_other_files(it, r.get(6)));
            rows
        }
    };
    if rows.len() != 1 {
        return Ok(None);
    }
    let r = &rows[0];
    let key: String = r.get(3);
    let guid: Option<String> = r.get(4);
    let still_present =
        doc_keys.contains(key.as_str()) || guid.as_deref().is_some_and(|g| doc_guids.contains(g));
    Ok((!still_present).then(|| Existing {
        id: r.get(0),
        content_hash: r.get(1),
        story_id: r.get(2),
        last_seen_at: r.get(5),
        enclosures: r.get(6),
        dates: (r.get("published_at"), r.get("updated_at")),
    }))
}

async fn insert_item(
    tx: &mut Tx<'_>,
    feed: &FeedRef,
    it: &Identified,
    story_link: bool,
    now: i64,
    rules: &StoryRules,
) -> Result<bool, StoreError> {
    let uid = free_uid(tx, feed, &it.key).await?;
    let link = it.canonical_url.as_deref().filter(|_| story_link);
    // (Or at its `www.` twin: see SQLite's.)
    let twin = link.and_then(crate::identity::www_twin);
    let place = it.place();
    let place = place.as_deref();
    let story = match story_by_url(tx, feed.id, link, place, it).await? {
        Some(s) => Some(s),
        None if twin.is_some() => story_by_url(tx, feed.id, twin.as_deref(), place, it).await?,
        None => None,
    };
    let story = match story {
        Some(s) => Some(s),
        // (Not by a text the document has under other titles too.)
        None if rules.near_duplicates && !it.shared_text => match &it.fingerprint {
            Some(fp) => near::find_story(tx, feed.id, it, fp, now - rules.near_window).await?,
            None => None,
        },
        None => None,
    };
    let joined = story.is_some();
    let story_id: i64 = match story {
        Some(id) => {
            tx.exec(
                "joining story",
                "UPDATE stories SET item_count = item_count + 1 WHERE id = $1",
                &[&id],
            )
            .await?;
            id
        }
        None => tx
            .one(
                "creating story",
                "INSERT INTO stories (uid, first_seen_at, changed_at) VALUES ($1, $2, $2)
                 RETURNING id",
                &[&uid, &now],
            )
            .await?
            .get(0),
    };
    let e = &it.entry;
    let item_id: i64 = tx
        .one(
            "inserting item",
            "INSERT INTO items (feed_id, key, key_kind, uid, guid, url, canonical_url,
                 title, author, summary, content, content_hash, published_at,
                 updated_at, first_seen_at, last_seen_at, changed_at, story_id, text_hash,
                 enclosures)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                     $15, $15, $15, $16, $17, $18)
             RETURNING id",
            &[
                &feed.id,
                &it.key,
                &it.kind.as_str(),
                &uid,
                &e.guid,
                &e.link,
                &it.canonical_url,
                &e.title,
                &e.author,
                &e.summary,
                &e.content,
                &it.content_hash,
                &e.published.map(|d| d.timestamp()),
                &e.updated.map(|d| d.timestamp()),
                &now,
                &story_id,
                &it.text_hash,
                &crate::parse::enclosures::encode(&e.enclosures),
            ],
        )
        .await?
        .get(0);
    // With near-duplicates off, no fingerprint is stored (nor looked up).
    if let (Some(fp), true) = (&it.fingerprint, rules.near_duplicates) {
        near::insert(tx, item_id, feed.id, now, fp).await?;
    }
    index_item(
        tx,
        item_id,
        e.title.as_deref(),
        (e.content.as_deref(), e.summary.as_deref()),
    )
    .await?;
    Ok(joined)
}

async fn update_item(
    tx: &mut Tx<'_>,
    old: &Existing,
    it: &Identified,
    now: i64,
    rules: &StoryRules,
    quiet: bool,
) -> Result<(), StoreError> {
    let e = &it.entry;
    tx.exec(
        "updating item",
        "UPDATE items SET guid = $2, url = $3, canonical_url = $4, title = $5, author = $6,
             summary = $7, content = $8, content_hash = $9, published_at = $10,
             updated_at = $11, last_seen_at = $12,
             changed_at = CASE WHEN $15 THEN changed_at ELSE $12 END, text_hash = $13,
             fingerprint = NULL, fingerprint_keys = NULL, enclosures = $14
         WHERE id = $1",
        &[
            &old.id,
            &e.guid,
            &e.link,
            &it.canonical_url,
            &e.title,
            &e.author,
            &e.summary,
            &e.content,
            &it.content_hash,
            &e.published.map(|d| d.timestamp()),
            &e.updated.map(|d| d.timestamp()),
            &now,
            &it.text_hash,
            &crate::parse::enclosures::encode(&e.enclosures),
            &quiet,
        ],
    )
    .await?;
    tx.exec(
        "removing item from search",
        "DELETE FROM search WHERE item_id = $1",
        &[&old.id],
    )
    .await?;
    index_item(
        tx,
        old.id,
        e.title.as_deref(),
        (e.content.as_deref(), e.summary.as_deref()),
    )
    .await?;
    // The fingerprint follows the latest text.
    near::replace(
        tx,
        old.id,
        it.fingerprint.as_ref().filter(|_| rules.near_duplicates),
    )
    .await?;
    Ok(())
}

/// Indexes an item: title (weight A) and text (weight D), written as the
/// SQLite side writes them (tags stripped, CJK runs as pairs).
pub(super) async fn index_item(
    tx: &mut Tx<'_>,
    id: i64,
    title: Option<&str>,
    (content, summary): (Option<&str>, Option<&str>),
) -> Result<(), StoreError> {
    let (title, body) = indexed_fields(title, content, summary);
    let (title, body) = (
        crate::store::search::search_words(&title),
        crate::store::search::search_words(&body),
    );
    tx.exec(
        "indexing item for search",
        "INSERT INTO search (item_id, doc) VALUES ($1,
             setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'D'))
         ON CONFLICT (item_id) DO UPDATE SET doc = excluded.doc",
        &[&id, &title, &body],
    )
    .await?;
    Ok(())
}

async fn free_uid(tx: &mut Tx<'_>, feed: &FeedRef, key: &str) -> Result<String, StoreError> {
    let mut n = 1;
    loop {
        let uid = if n == 1 {
            item_uid(feed.url.as_str(), key)
        } else {
            item_uid(feed.url.as_str(), &format!("{key}#{n}"))
        };
        let used = tx
            .opt(
                "choosing item id",
                // (A story keeps the id of the item that started it after
                // that item is pruned: free only if neither table holds it.)
                "SELECT 1 FROM items WHERE uid = $1
                 UNION ALL SELECT 1 FROM stories WHERE uid = $1 LIMIT 1",
                &[&uid],
            )
            .await?
            .is_some();
        if !used {
            return Ok(uid);
        }
        n += 1;
    }
}

async fn story_by_url(
    tx: &mut Tx<'_>,
    feed_id: i64,
    canonical: Option<&str>,
    place: Option<&str>,
    it: &Identified,
) -> Result<Option<i64>, StoreError> {
    let Some(cu) = canonical.filter(|c| specific(c)) else {
        return Ok(None);
    };
    // (Its story, the story's URLs at this link, the item.)
    type Found = (i64, Option<Vec<Option<String>>>, i64);
    let found: Vec<Found> = tx
        .query(
            "matching stories by URL",
            // The items with this link first (few share one): a generic plan
            // made while the table was small walked `items` in id order instead.
            "WITH same AS MATERIALIZED (
                 SELECT id, feed_id, story_id, title, url, key FROM items WHERE canonical_url = $1)
             SELECT i.story_id,
                    (SELECT array_agg(s.url) FROM same s WHERE s.story_id = i.story_id),
                    i.id
             FROM same i
             WHERE i.feed_id <> $2 AND i.story_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM items j WHERE j.story_id = i.story_id AND j.feed_id = $2)
               AND NOT EXISTS (SELECT 1 FROM same k WHERE k.feed_id = i.feed_id AND k.id <> i.id
                                                     AND (k.title IS DISTINCT FROM i.title
                                                          OR (k.key LIKE 'link:%' AND strpos(k.key, ' text:') > 0)))
             ORDER BY i.id LIMIT 8",
            &[&cu, &feed_id],
        )
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // (The other item's text is read only at a section's page.)
    let section = crate::identity::at_section_page(it);
    for (story, urls, item) in found {
        // (Every item of the story at this page: see SQLite's.)
        let placed = urls
            .iter()
            .flatten()
            .all(|url| crate::store::items::other_place(place, url.as_deref()));
        if !placed {
            continue;
        }
        if section {
            let row = tx
                .one(
                    "matching stories by URL",
                    "SELECT title, coalesce(content, summary) FROM items WHERE id = $1",
                    &[&item],
                )
                .await?;
            let (title, body): (Option<String>, Option<String>) = (row.get(0), row.get(1));
            if crate::identity::unrelated_at_link(it, title.as_deref(), body.as_deref()) {
                continue;
            }
        }
        return Ok(Some(story));
    }
    Ok(None)
}
