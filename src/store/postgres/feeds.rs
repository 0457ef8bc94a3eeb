//! Feed rows on PostgreSQL: config sync, claiming due feeds, and recording
//! fetches that brought no document. A node claims the feeds it fetches
//! (`claimed_by`, `claimed_until`) with `FOR UPDATE SKIP LOCKED`, at most
//! `[fetch] per_host` claims per host across all nodes, and a start time per
//! host `host_gap` apart (table `hosts`); every write of a fetch's result
//! releases the claim in the same transaction.

use std::collections::{HashMap, HashSet};

use tokio_postgres::Row;
use url::Url;

use super::pool::Tx;
use super::{LOCK_CLAIM, PgStore};
use crate::error::StoreError;
use crate::now_ms;
use crate::store::feeds::{FeedRef, FetchRecord, Reschedule};
use crate::store::model::{FeedSpec, Validators};

/// How far ahead a host's next start may be for its feed to be claimed now:
/// feeds of a host whose gap pushes them further wait for a later tick.
const CLAIM_HORIZON_MS: i64 = 2_000;
/// Most feeds claimed per tick by one node.
const CLAIM_BATCH: i64 = 500;

pub(super) const REF_COLS: &str = "id, url, COALESCE(fetch_url, url), etag, last_modified, enabled,
    consecutive_failures, next_fetch_at, redirect_url, redirect_count, ttl_minutes,
    skip_hours, skip_days, update_interval, body_hash, body_stored_at,
    COALESCE(last_error LIKE '%: not requested: % answered 429%', FALSE),
    COALESCE(last_status = 'error' AND last_http_status = 404, FALSE), dates_day_first";

/// The column after [`REF_COLS`].
const HOST_COL: usize = 19;

pub(super) fn feed_ref(r: &Row) -> Result<FeedRef, StoreError> {
    let parse = |s: String| {
        Url::parse(&s).map_err(|e| StoreError::Worker(format!("stored feed URL `{s}`: {e}")))
    };
    Ok(FeedRef {
        id: r.get(0),
        url: parse(r.get(1))?,
        fetch_url: parse(r.get(2))?,
        validators: Validators {
            etag: r.get(3),
            last_modified: r.get(4),
        },
        enabled: r.get::<_, i64>(5) != 0,
        consecutive_failures: r.get::<_, i64>(6).clamp(0, u32::MAX as i64) as u32,
        next_fetch_at: r.get(7),
        redirect_url: r.get(8),
        redirect_count: r.get::<_, i64>(9).clamp(0, u32::MAX as i64) as u32,
        ttl_minutes: r
            .get::<_, Option<i64>>(10)
            .map(|m| m.clamp(0, u32::MAX as i64) as u32),
        doc_hints: crate::hints::DocHints {
            skip_hours: r.get::<_, i64>(11) as _,
            skip_days: r.get::<_, i64>(12) as _,
            update_interval: r
                .get::<_, Option<i64>>(13)
                .map(|s| std::time::Duration::from_secs(s.max(0) as u64)),
            ttl_minutes: None,
        },
        body_hash: r.get(14),
        body_stored_at: r.get(15),
        held: r.get(16),
        last_was_404: r.get(17),
        dates_day_first: r.get::<_, Option<i64>>(18).map(|d| d != 0),
    })
}

/// When a claim made (or extended) at `now`, in whole seconds rounded down,
/// ends: a lease from now rounded up, so that it lasts at least the lease.
/// (A claim made at .9 of a second lasted the lease less 0.9 s: with a
/// lease of 2 s, a node's claims ran out between two extensions.)
fn lease_end(now: i64, lease_secs: i64) -> i64 {
    now + lease_secs + 1
}

/// Releases this node's claim (another node's is left alone).
const RELEASE: &str = "UPDATE feeds SET claimed_by = NULL, claimed_until = NULL
     WHERE id = $1 AND claimed_by = $2";

impl PgStore {
    /// Makes the feed rows match the config (as [`crate::store::Store::sync_config`]).
    pub async fn sync_config(&self, feeds: &[FeedSpec]) -> Result<Vec<FeedRef>, StoreError> {
        // Only what differs is written, as in the SQLite store: marking every
        // row out of the config and upserting each back made a new version of
        // every feed row and tag on every sync, and held every feed row locked
        // against the other nodes' fetch records until the commit. Each
        // statement compares with the rows as they are when it runs (not with
        // a snapshot read first), so of two nodes syncing different configs at
        // once, the last to commit decides, as before.
        let now = crate::now_unix();
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let c = "syncing feeds";
        for f in feeds {
            if let Some(old) = &f.url_with_credentials {
                forget_credentials(&mut tx, old, &f.url).await?;
            }
        }
        // A URL named twice takes its title and tags from the last time (as
        // in the SQLite store).
        let mut last: HashMap<&str, &FeedSpec> = HashMap::with_capacity(feeds.len());
        for f in feeds {
            last.insert(f.url.as_str(), f);
        }
        let urls: Vec<&str> = last.keys().copied().collect();
        let mut id_of: HashMap<String, i64> = tx
            .query(c, "SELECT url, id FROM feeds WHERE url = ANY($1)", &[&urls])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut spellings: Option<HashMap<String, Vec<(i64, String)>>> = None;
        for f in feeds {
            if !id_of.contains_key(&f.url) {
                let f = last[f.url.as_str()];
                // A feed moved for good whose new address replaced the old
                // one in the config keeps its row (as in the SQLite store).
                let moved = tx
                    .query(
                        c,
                        "UPDATE feeds SET url = $1, fetch_url = NULL, title = $2, in_config = 1
                         WHERE id = (SELECT id FROM feeds WHERE fetch_url = $1 AND NOT (url = ANY($3))
                                     ORDER BY id DESC LIMIT 1)
                         RETURNING id",
                        &[&f.url, &f.title, &urls],
                    )
                    .await?;
                if let Some(row) = moved.first() {
                    tracing::info!(feed = %crate::urls::shown_feed_url(&f.url), "the config names a moved feed by its new address: it keeps its items");
                    id_of.insert(f.url.clone(), row.get(0));
                    continue;
                }
                // The same feed's address spelled otherwise keeps its row (as
                // in the SQLite store).
                if spellings.is_none() {
                    let mut all: HashMap<String, Vec<(i64, String)>> = HashMap::new();
                    for r in tx.query(c, "SELECT id, url FROM feeds", &[]).await? {
                        let u: String = r.get(1);
                        all.entry(crate::store::feeds::spelling_key(&u))
                            .or_default()
                            .push((r.get(0), u));
                    }
                    spellings = Some(all);
                }
                // (Taken rows looked for only among the candidates: a set of
                // them built for every new feed cost the square of a first
                // sync's feeds.)
                let old = spellings
                    .as_ref()
                    .and_then(|all| all.get(&crate::store::feeds::spelling_key(&f.url)))
                    .and_then(|rows| {
                        rows.iter()
                            .filter(|(id, u)| {
                                !last.contains_key(u.as_str()) && !id_of.values().any(|v| v == id)
                            })
                            .min_by_key(|(id, _)| *id)
                            .cloned()
                    });
                if let Some((id, old_url)) = old {
                    let renamed = tx
                        .query(
                            c,
                            // (Asked at once, its failures and a 410's
                            // disabling forgotten: correcting a failing
                            // feed's address is how it is mended.)
                            "UPDATE feeds SET url = $2, fetch_url = NULL, title = $3, in_config = 1,
                                 enabled = 1, next_fetch_at = NULL, consecutive_failures = 0,
                                 redirect_url = NULL, redirect_count = 0
                             WHERE id = $1 AND url = $4 RETURNING id",
                            &[&id, &f.url, &f.title, &old_url],
                        )
                        .await?;
                    if !renamed.is_empty() {
                        tracing::info!(feed = %crate::urls::shown_feed_url(&f.url), was = %crate::urls::shown_feed_url(&old_url), "the config spells a known feed's address otherwise: it keeps its items");
                        id_of.insert(f.url.clone(), id);
                        continue;
                    }
                }
                // (Another node may have inserted it since: then it is updated.)
                let id: i64 = tx
                    .one(
                        c,
                        "INSERT INTO feeds (url, title, created_at) VALUES ($1, $2, $3)
                         ON CONFLICT (url) DO UPDATE SET title = excluded.title, in_config = 1
                         RETURNING id",
                        &[&f.url, &f.title, &now],
                    )
                    .await?
                    .get(0);
                id_of.insert(f.url.clone(), id);
            }
        }
        // Titles and membership, where they differ.
        let mut ids_once = Vec::with_capacity(last.len());
        let mut titles = Vec::with_capacity(last.len());
        // Each feed's tags as a JSON array, for the statement that removes
        // the others; and one row per feed and tag, for the one that adds.
        let mut tag_lists = Vec::with_capacity(last.len());
        let mut tag_ids = Vec::new();
        let mut tag_names: Vec<&str> = Vec::new();
        for f in last.values() {
            let id = id_of[&f.url];
            ids_once.push(id);
            titles.push(f.title.as_deref());
            let want: std::collections::BTreeSet<&str> =
                f.tags.iter().map(String::as_str).collect();
            tag_lists.push(serde_json::to_string(&want).expect("strings serialise"));
            for tag in want {
                tag_ids.push(id);
                tag_names.push(tag);
            }
        }
        tx.exec(
            c,
            "UPDATE feeds f SET title = s.title, in_config = 1
             FROM unnest($1::bigint[], $2::text[]) AS s(id, title)
             WHERE f.id = s.id AND (f.title IS DISTINCT FROM s.title OR f.in_config <> 1)",
            &[&ids_once, &titles],
        )
        .await?;
        // Tags: those no longer named go, the missing ones come. (Driven by
        // the feeds, through the index on `feed_tags.feed_id`: an anti-join of
        // every tag row against every wanted tag was planned as a nested loop,
        // 69 s for 30,000 tags.)
        tx.exec(
            "syncing tags",
            "DELETE FROM feed_tags t USING unnest($1::bigint[], $2::text[]) AS f(id, tags)
             WHERE t.feed_id = f.id AND NOT (f.tags::jsonb ? t.tag)",
            &[&ids_once, &tag_lists],
        )
        .await?;
        tx.exec(
            "syncing tags",
            "INSERT INTO feed_tags (tag, feed_id)
             SELECT w.tag, w.id FROM unnest($1::bigint[], $2::text[]) AS w(id, tag)
             ON CONFLICT DO NOTHING",
            &[&tag_ids, &tag_names],
        )
        .await?;
        // Feeds the config no longer names keep their rows and items.
        let ids: Vec<i64> = feeds.iter().map(|f| id_of[&f.url]).collect();
        let left = set_in_config(
            &mut tx,
            "UPDATE feeds SET in_config = 0 WHERE in_config <> 0 AND NOT (id = ANY($1))
             RETURNING url",
            &ids,
        )
        .await?;
        if let Some(first) = left.first() {
            // Every node shares the flag: a node started on an older config
            // takes feeds out of every node's outputs. Said loudly; a node
            // whose config names them puts them back (`claim_due`).
            tracing::warn!(
                feeds = left.len(),
                first = %crate::urls::shown_feed_url(&first.to_string()),
                "this config no longer names feeds the store had in config: they are not fetched and leave the outputs of every node (give all nodes the same config; a node whose config names them puts them back within seconds)"
            );
        }
        // Their fetch state, in the config's order, in one query.
        let sql = format!("SELECT {REF_COLS} FROM feeds WHERE id = ANY($1)");
        let mut by_id = HashMap::with_capacity(ids_once.len());
        for r in tx.query("reading feeds", &sql, &[&ids_once]).await? {
            let f = feed_ref(&r)?;
            by_id.insert(f.id, f);
        }
        let mut refs: Vec<FeedRef> = Vec::with_capacity(ids.len());
        for id in ids {
            let f = match by_id.remove(&id) {
                Some(f) => f,
                // A URL named twice: the same feed again.
                None => refs.iter().find(|f| f.id == id).cloned().ok_or_else(|| {
                    StoreError::Worker(format!("feed {id} vanished while the config was synced"))
                })?,
            };
            refs.push(f);
        }
        tx.commit(c).await?;
        Ok(refs)
    }

    /// Sets first fetch times of feeds due now or never fetched.
    pub async fn spread_due(&self, now: i64, first: &[(i64, i64)]) -> Result<(), StoreError> {
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let ids: Vec<i64> = first.iter().map(|f| f.0).collect();
        let ats: Vec<i64> = first.iter().map(|f| f.1).collect();
        lock_in_order(&mut tx, "spreading first fetches", &ids).await?;
        tx.exec(
            "spreading first fetches",
            "UPDATE feeds f SET next_fetch_at = s.at
             FROM unnest($1::bigint[], $2::bigint[]) AS s(id, at)
             WHERE f.id = s.id AND COALESCE(f.next_fetch_at, 0) <= $3",
            &[&ids, &ats, &now],
        )
        .await?;
        tx.commit("spreading first fetches").await
    }

    /// As [`crate::store::Store::fetch_earlier`].
    pub async fn fetch_earlier(&self, at: &[(i64, i64)]) -> Result<(), StoreError> {
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let ids: Vec<i64> = at.iter().map(|f| f.0).collect();
        let ats: Vec<i64> = at.iter().map(|f| f.1).collect();
        lock_in_order(&mut tx, "rescheduling feeds", &ids).await?;
        tx.exec(
            "rescheduling feeds",
            "UPDATE feeds f SET next_fetch_at = s.at
             FROM unnest($1::bigint[], $2::bigint[]) AS s(id, at)
             WHERE f.id = s.id AND f.next_fetch_at > s.at",
            &[&ids, &ats],
        )
        .await?;
        tx.commit("rescheduling feeds").await
    }

    /// Claims due feeds for this node: configured, enabled, due, not claimed by
    /// a live lease, not in `busy`; at most `per_host` claims per host across
    /// all nodes, each host's starts `host_gap_ms` apart. Claims are made one
    /// node at a time (an advisory lock), so the per-host counts hold.
    /// Claims due feeds that are `mine` (that this node's config names: it
    /// never claims another node's). With `put_back` (the ids of all of
    /// them; not every tick, it costs a look-up per feed), first puts back in
    /// config those a node with an older config took out, and tells every
    /// node to render its outputs again.
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_due(
        &self,
        now: i64,
        busy: &HashSet<i64>,
        mine: &(dyn Fn(i64) -> bool + Sync),
        put_back: Option<Vec<i64>>,
        per_host: usize,
        host_gap_ms: i64,
        limit: usize,
    ) -> Result<Vec<FeedRef>, StoreError> {
        let c = "claiming due feeds";
        self.keep_clock().await?;
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        tx.exec(c, "SELECT pg_advisory_xact_lock($1)", &[&LOCK_CLAIM])
            .await?;
        if let Some(ids) = put_back {
            let back = set_in_config(
                &mut tx,
                "UPDATE feeds SET in_config = 1 WHERE in_config = 0 AND id = ANY($1) RETURNING url",
                &ids,
            )
            .await?;
            if let Some(first) = back.first() {
                tracing::warn!(
                    feeds = back.len(),
                    first = %crate::urls::shown_feed_url(&first.to_string()),
                    "feeds this node's config names were taken out of the store's config by a node whose config lacks them: put back (give all nodes the same config)"
                );
            }
        }
        let limit = (limit.min(CLAIM_BATCH as usize) as i64).max(1);
        // The first due feeds of each host only (as many as its `per_host`
        // may take, and a few more for feeds this node leaves to others):
        // a host whose politeness keeps hundreds of feeds overdue filled
        // the whole batch, and a quiet host's feeds behind them were never
        // claimed. (Feeds without a host, `file:`, are each their own.)
        let per_host_rows = per_host.saturating_add(4).min(CLAIM_BATCH as usize) as i64;
        let sql = format!(
            "SELECT {REF_COLS}, COALESCE(host, '') FROM feeds
             WHERE id IN (
                 SELECT id FROM (
                     SELECT id, next_fetch_at, ROW_NUMBER() OVER (
                         PARTITION BY CASE WHEN COALESCE(host, '') = '' THEN id::text ELSE host END
                         ORDER BY next_fetch_at NULLS FIRST, id) AS rank
                     FROM feeds
                     WHERE in_config = 1 AND enabled = 1 AND COALESCE(next_fetch_at, 0) <= $1
                       AND (claimed_until IS NULL OR claimed_until <= $1)
                 ) due
                 WHERE rank <= $3
                 ORDER BY next_fetch_at NULLS FIRST, id LIMIT $2)
             ORDER BY next_fetch_at NULLS FIRST, id
             FOR UPDATE SKIP LOCKED"
        );
        let rows = tx.query(c, &sql, &[&now, &limit, &per_host_rows]).await?;
        if rows.is_empty() {
            tx.commit(c).await?;
            return Ok(Vec::new());
        }
        let mut hosts: Vec<String> = rows.iter().map(|r| r.get::<_, String>(HOST_COL)).collect();
        hosts.sort();
        hosts.dedup();
        let mut active: HashMap<String, i64> = tx
            .query(
                c,
                "SELECT host, count(*) FROM feeds
                 WHERE host = ANY($1) AND claimed_until > $2 GROUP BY host",
                &[&hosts, &now],
            )
            .await?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect();
        let mut next_start = next_starts(&mut tx, &hosts).await?;
        let now_ms = now_ms();
        let mut claimed = Vec::new();
        let mut turns = Vec::new();
        for row in &rows {
            let id: i64 = row.get(0);
            // Another node's feed (its config names it, this one's does not).
            if busy.contains(&id) || !mine(id) {
                continue;
            }
            let host: String = row.get(HOST_COL);
            let n = active.entry(host.clone()).or_insert(0);
            if *n >= per_host as i64 {
                continue;
            }
            let file = host.is_empty();
            let start = next_start.get(&host).copied().unwrap_or(0).max(now_ms);
            if !file && start > now_ms + CLAIM_HORIZON_MS {
                continue;
            }
            *n += 1;
            if !file {
                next_start.insert(host.clone(), start + host_gap_ms);
            }
            claimed.push(feed_ref(row)?);
            turns.push((id, start));
        }
        let ids: Vec<i64> = claimed.iter().map(|f| f.id).collect();
        let until = lease_end(now, self.inner.lease_secs);
        tx.exec(
            c,
            "UPDATE feeds SET claimed_by = $2, claimed_until = $3 WHERE id = ANY($1)",
            &[&ids, &self.inner.node, &until],
        )
        .await?;
        save_next_starts(&mut tx, next_start).await?;
        tx.commit(c).await?;
        self.inner
            .turns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(turns);
        Ok(claimed)
    }

    /// Claims the given feeds for a `poll`, unless another node holds them,
    /// and books each its turn at its host as the nodes do (`hosts`, every
    /// `host_gap_ms`): a `poll` beside running nodes asked a host the nodes
    /// had just asked, and as often as it liked ([`Self::wait_turn`]).
    pub async fn claim_ids(
        &self,
        ids: &[i64],
        host_gap_ms: i64,
    ) -> Result<HashSet<i64>, StoreError> {
        let c = "claiming feeds";
        let now = crate::now_unix();
        let until = lease_end(now, self.inner.lease_secs);
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        tx.exec(c, "SELECT pg_advisory_xact_lock($1)", &[&LOCK_CLAIM])
            .await?;
        let rows = tx
            .query(
                c,
                "UPDATE feeds SET claimed_by = $2, claimed_until = $3
                 WHERE id = ANY($1) AND (claimed_until IS NULL OR claimed_until <= $4
                                         OR claimed_by = $2)
                 RETURNING id, COALESCE(host, '')",
                &[&ids.to_vec(), &self.inner.node, &until, &now],
            )
            .await?;
        let mut claimed: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        // (In the order asked for: the config's.)
        let order: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        claimed.sort_by_key(|(id, _)| order.get(id).copied().unwrap_or(usize::MAX));
        let mut hosts: Vec<String> = claimed
            .iter()
            .map(|(_, h)| h.clone())
            .filter(|h| !h.is_empty())
            .collect();
        hosts.sort();
        hosts.dedup();
        let mut next_start = next_starts(&mut tx, &hosts).await?;
        let now_ms = now_ms();
        let mut turns = Vec::with_capacity(claimed.len());
        for (id, host) in &claimed {
            if host.is_empty() {
                continue;
            }
            let start = next_start.get(host).copied().unwrap_or(0).max(now_ms);
            next_start.insert(host.clone(), start + host_gap_ms);
            turns.push((*id, start));
        }
        save_next_starts(&mut tx, next_start).await?;
        tx.commit(c).await?;
        self.inner
            .turns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(turns);
        Ok(claimed.into_iter().map(|(id, _)| id).collect())
    }

    /// Waits until this node's turn for a claimed feed's host (the shared gap).
    pub async fn wait_turn(&self, feed_id: i64) {
        let at = self
            .inner
            .turns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&feed_id);
        if let Some(at) = at {
            let wait = at - now_ms();
            if wait > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
            }
        }
    }

    /// Gives up every claim of this node (a `poll` stopped by a signal: its
    /// feeds not fetched were held for the lease).
    pub async fn release_own_claims(&self) -> Result<(), StoreError> {
        let c = "giving up claims";
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        tx.exec(
            c,
            "UPDATE feeds SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1",
            &[&self.inner.node],
        )
        .await?;
        tx.commit(c).await
    }

    /// Extends this node's claims on `ids` (fetches under way, or waiting
    /// to start) to a lease from now; returns how many it extended. A
    /// claim that ran out and another node took stays the other's. (A fetch
    /// and its writing that outlasted the lease, a slow server's, were
    /// fetched again by another node meanwhile: the claim ran out under it.)
    pub async fn renew_claims(&self, ids: &[i64]) -> Result<u64, StoreError> {
        let c = "extending the claims of fetches under way";
        let until = lease_end(crate::now_unix(), self.inner.lease_secs);
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let n = tx
            .exec(
                c,
                "UPDATE feeds SET claimed_until = $3
                 WHERE id = ANY($1) AND claimed_by = $2 AND claimed_until < $3",
                &[&ids.to_vec(), &self.inner.node, &until],
            )
            .await?;
        tx.commit(c).await?;
        Ok(n)
    }

    /// Gives up this node's claims on `ids` at once (their results never
    /// reached the store); clears `/healthz`'s store error when it answers.
    pub async fn release_all(&self, ids: &[i64]) -> Result<(), StoreError> {
        let c = "giving up claims";
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        tx.exec(
            c,
            "UPDATE feeds SET claimed_by = NULL, claimed_until = NULL
             WHERE id = ANY($1) AND claimed_by = $2",
            &[&ids.to_vec(), &self.inner.node],
        )
        .await?;
        let r = tx.commit(c).await;
        if r.is_ok() {
            self.note_commit(&r);
        }
        r
    }

    /// Clears the live claims of the nodes `dead` says have ended.
    pub async fn release_dead_claims(
        &self,
        dead: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<u64, StoreError> {
        let c = "releasing the claims of ended nodes";
        let now = crate::now_unix();
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let nodes: Vec<String> = tx
            .query(
                c,
                "SELECT DISTINCT claimed_by FROM feeds
                 WHERE claimed_by IS NOT NULL AND claimed_until > $1",
                &[&now],
            )
            .await?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .filter(|n| *n != self.inner.node && dead(n))
            .collect();
        if nodes.is_empty() {
            tx.commit(c).await?;
            return Ok(0);
        }
        let n = tx
            .exec(
                c,
                "UPDATE feeds SET claimed_by = NULL, claimed_until = NULL
                 WHERE claimed_by = ANY($1)",
                &[&nodes],
            )
            .await?;
        tx.commit(c).await?;
        Ok(n)
    }

    /// Gives up a claim without a result (the fetch never ran).
    pub async fn release(&self, feed_id: i64) -> Result<(), StoreError> {
        self.inner
            .turns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&feed_id);
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        tx.exec("releasing a feed", RELEASE, &[&feed_id, &self.inner.node])
            .await?;
        tx.commit("releasing a feed").await
    }

    /// A 304: logged, the feed marked fresh, the claim released.
    pub async fn record_not_modified(
        &self,
        feed_id: i64,
        rec: &FetchRecord,
        validators: &crate::store::model::Validators,
        resched: &Reschedule,
    ) -> Result<(), StoreError> {
        let r = async {
            let c = "recording 304";
            let mut conn = self.pool().get().await?;
            let mut tx = conn.tx().await?;
            insert_fetch(&mut tx, feed_id, rec, "not_modified", 0, 0, None).await?;
            tx.exec(
                c,
                "UPDATE feeds SET last_fetch_at = $2, last_success_at = $2,
                     last_status = 'not_modified', last_http_status = $3, last_error = NULL,
                     consecutive_failures = 0, next_fetch_at = $4,
                     etag = COALESCE($5, etag), last_modified = COALESCE($6, last_modified)
                 WHERE id = $1",
                &[
                    &feed_id,
                    &rec.started_at,
                    &rec.http_status.map(i64::from),
                    &resched.next_fetch_at,
                    &validators.etag,
                    &validators.last_modified,
                ],
            )
            .await?;
            apply_redirect(&mut tx, feed_id, resched).await?;
            tx.exec(c, RELEASE, &[&feed_id, &self.inner.node]).await?;
            tx.commit(c).await
        }
        .await;
        self.note_commit(&r);
        r
    }

    /// A 200 whose body is byte-identical to the last one stored
    /// (`feeds.body_hash`): logged as `ok` with `unchanged = 1`, the feed marked
    /// fresh with the response's validators; its items are as stored. The claim
    /// is released.
    pub async fn record_unchanged(
        &self,
        feed_id: i64,
        rec: &FetchRecord,
        validators: &Validators,
        resched: &Reschedule,
    ) -> Result<(), StoreError> {
        let rec = FetchRecord {
            unchanged: true,
            ..*rec
        };
        let r = async {
            let c = "recording unchanged body";
            let mut conn = self.pool().get().await?;
            let mut tx = conn.tx().await?;
            insert_fetch(&mut tx, feed_id, &rec, "ok", 0, 0, None).await?;
            tx.exec(
                c,
                "UPDATE feeds SET etag = $2, last_modified = $3, last_fetch_at = $4,
                     last_success_at = $4, last_status = 'ok', last_http_status = $5,
                     last_error = NULL, consecutive_failures = 0, next_fetch_at = $6
                 WHERE id = $1",
                &[
                    &feed_id,
                    &validators.etag,
                    &validators.last_modified,
                    &rec.started_at,
                    &rec.http_status.map(i64::from),
                    &resched.next_fetch_at,
                ],
            )
            .await?;
            apply_redirect(&mut tx, feed_id, resched).await?;
            tx.exec(c, RELEASE, &[&feed_id, &self.inner.node]).await?;
            tx.commit(c).await
        }
        .await;
        self.note_commit(&r);
        r
    }

    /// A failed fetch: logged and stored on the feed; the claim released.
    pub async fn record_failure(
        &self,
        feed_id: i64,
        rec: &FetchRecord,
        error: &str,
        next_fetch_at: Option<i64>,
        then: crate::store::feeds::AfterFailure,
    ) -> Result<(), StoreError> {
        use crate::store::feeds::AfterFailure;
        let (disable, forget_move) = (
            then == AfterFailure::Disable,
            then == AfterFailure::ForgetMove,
        );
        let r = async {
            let c = "recording failure";
            let mut conn = self.pool().get().await?;
            let mut tx = conn.tx().await?;
            insert_fetch(&mut tx, feed_id, rec, "error", 0, 0, Some(error)).await?;
            tx.exec(
                c,
                "UPDATE feeds SET last_fetch_at = $2, last_status = 'error',
                     last_http_status = $3, last_error = $4,
                     consecutive_failures = consecutive_failures + 1, next_fetch_at = $5,
                     enabled = CASE WHEN $6 THEN 0 ELSE enabled END,
                     fetch_url = CASE WHEN $7 THEN NULL ELSE fetch_url END,
                     redirect_url = CASE WHEN $7 THEN NULL ELSE redirect_url END,
                     redirect_count = CASE WHEN $7 THEN 0 ELSE redirect_count END
                 WHERE id = $1",
                &[
                    &feed_id,
                    &rec.started_at,
                    &rec.http_status.map(i64::from),
                    &error,
                    &next_fetch_at,
                    &disable,
                    &forget_move,
                ],
            )
            .await?;
            tx.exec(c, RELEASE, &[&feed_id, &self.inner.node]).await?;
            tx.commit(c).await
        }
        .await;
        self.note_commit(&r);
        r
    }

    /// A feed not requested while its server's Retry-After is not over: its
    /// next attempt (no fetch row, no failure counted), the claim released.
    pub async fn record_held(
        &self,
        feed_id: i64,
        next_fetch_at: Option<i64>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let r = async {
            let c = "recording a held feed";
            let mut conn = self.pool().get().await?;
            let mut tx = conn.tx().await?;
            tx.exec(
                c,
                "UPDATE feeds SET next_fetch_at = $2,
                        last_error = CASE WHEN last_status = 'error' THEN last_error ELSE $3 END
                 WHERE id = $1",
                &[&feed_id, &next_fetch_at, &reason],
            )
            .await?;
            tx.exec(c, RELEASE, &[&feed_id, &self.inner.node]).await?;
            tx.commit(c).await
        }
        .await;
        self.note_commit(&r);
        r
    }

    /// Re-enables a feed disabled after 410 Gone, or forgets where it moved
    /// for good, and makes it due now (see SQLite's). `None`: no such feed.
    pub async fn enable_feed(
        &self,
        url: &str,
    ) -> Result<Option<crate::store::feeds::Enabled>, StoreError> {
        use crate::store::feeds::Enabled;
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let Some(row) = tx
            .opt(
                "enabling feed",
                "SELECT enabled, fetch_url FROM feeds WHERE url = $1 FOR UPDATE",
                &[&url],
            )
            .await?
        else {
            return Ok(None);
        };
        let (enabled, moved): (i64, Option<String>) = (row.get(0), row.get(1));
        let what = match (enabled != 0, moved) {
            (false, forgot) => Enabled::Enabled(forgot),
            (true, Some(to)) => Enabled::MoveForgotten(to),
            (true, None) => return Ok(Some(Enabled::Nothing)),
        };
        tx.exec(
            "enabling feed",
            "UPDATE feeds SET enabled = 1, next_fetch_at = NULL, consecutive_failures = 0,
                 fetch_url = NULL, redirect_url = NULL, redirect_count = 0
             WHERE url = $1",
            &[&url],
        )
        .await?;
        tx.commit("enabling feed").await?;
        Ok(Some(what))
    }
}

/// Runs `sql`, an UPDATE of `in_config` over the ids `$1` RETURNING url; when
/// it changed any feed, tells every node (this one too: the payload names no
/// node) to render its outputs again. The URLs of the feeds it changed.
async fn set_in_config(tx: &mut Tx<'_>, sql: &str, ids: &[i64]) -> Result<Vec<String>, StoreError> {
    let c = "marking feeds in config";
    let urls: Vec<String> = tx
        .query(c, sql, &[&ids])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !urls.is_empty() {
        tx.exec(c, "SELECT pg_notify($1, '')", &[&super::CHANNEL])
            .await?;
    }
    Ok(urls)
}

async fn forget_credentials(tx: &mut Tx<'_>, old: &str, clean: &str) -> Result<(), StoreError> {
    let c = "removing credentials from a feed's URL";
    let Some(row) = tx
        .opt(c, "SELECT id FROM feeds WHERE url = $1", &[&old])
        .await?
    else {
        return Ok(());
    };
    let id: i64 = row.get(0);
    let userinfo = old
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .map(|(info, _)| format!("{info}@"))
        .unwrap_or_default();
    let taken = tx
        .opt(c, "SELECT 1 FROM feeds WHERE url = $1", &[&clean])
        .await?
        .is_some();
    if !taken {
        tx.exec(c, "UPDATE feeds SET url = $2 WHERE id = $1", &[&id, &clean])
            .await?;
    }
    if !userinfo.is_empty() {
        tx.exec(
            c,
            "UPDATE feeds SET fetch_url = replace(fetch_url, $2, ''),
                 redirect_url = replace(redirect_url, $2, ''),
                 last_error = replace(last_error, $2, '')
             WHERE id = $1",
            &[&id, &userinfo],
        )
        .await?;
        tx.exec(
            c,
            "UPDATE fetches SET error = replace(error, $2, '') WHERE feed_id = $1",
            &[&id, &userinfo],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn insert_fetch(
    tx: &mut Tx<'_>,
    feed_id: i64,
    rec: &FetchRecord,
    outcome: &str,
    new: usize,
    updated: usize,
    error: Option<&str>,
) -> Result<(), StoreError> {
    tx.exec(
        "logging fetch",
        "INSERT INTO fetches (feed_id, started_at, duration_ms, outcome, http_status, bytes,
                              items_new, items_updated, error, unchanged)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &feed_id,
            &rec.started_at,
            &rec.duration_ms,
            &outcome,
            &rec.http_status.map(i64::from),
            &rec.bytes.map(|b| b as i64),
            &(new as i64),
            &(updated as i64),
            &error,
            &i64::from(rec.unchanged),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn apply_redirect(
    tx: &mut Tx<'_>,
    feed_id: i64,
    resched: &Reschedule,
) -> Result<(), StoreError> {
    if resched.redirect_unchanged && resched.new_url.is_none() {
        return Ok(());
    }
    let (target, count) = match &resched.redirect {
        Some((t, c)) => (Some(t.as_str()), *c as i64),
        None => (None, 0),
    };
    tx.exec(
        "recording redirect",
        "UPDATE feeds SET redirect_url = $2, redirect_count = $3 WHERE id = $1",
        &[&feed_id, &target, &count],
    )
    .await?;
    if let Some(new_url) = &resched.new_url {
        tx.exec(
            "following permanent redirect",
            "UPDATE feeds SET fetch_url = $2, redirect_url = NULL, redirect_count = 0
             WHERE id = $1",
            &[&feed_id, new_url],
        )
        .await?;
    }
    Ok(())
}

/// When the next request to each of `hosts` may start (`hosts`, milliseconds
/// since the epoch); hosts without a row are absent.
async fn next_starts(
    tx: &mut Tx<'_>,
    hosts: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    Ok(tx
        .query(
            "claiming feeds",
            "SELECT host, next_start_ms FROM hosts WHERE host = ANY($1)",
            &[&hosts],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
        .collect())
}

/// Saves each host's next start (`file:` feeds' empty host aside).
async fn save_next_starts(tx: &mut Tx<'_>, next: HashMap<String, i64>) -> Result<(), StoreError> {
    let (hs, starts): (Vec<String>, Vec<i64>) =
        next.into_iter().filter(|(h, _)| !h.is_empty()).unzip();
    tx.exec(
        "claiming feeds",
        "INSERT INTO hosts (host, next_start_ms) SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (host) DO UPDATE SET next_start_ms = excluded.next_start_ms",
        &[&hs, &starts],
    )
    .await?;
    Ok(())
}

/// Locks the rows of `ids` in `feeds` in the order of their ids, before a
/// statement updates them all: two nodes starting at once each updated the
/// same feeds in the order its join took, and one died at start-up with
/// "deadlock detected".
async fn lock_in_order(tx: &mut Tx<'_>, what: &'static str, ids: &[i64]) -> Result<(), StoreError> {
    tx.query(
        what,
        "SELECT id FROM feeds WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )
    .await?;
    Ok(())
}
