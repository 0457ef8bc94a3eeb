//! Retention on PostgreSQL: the same rules and steps as the SQLite side
//! (`crate::store::prune`). Nodes prune one at a time (an advisory lock): a
//! node that finds another pruning skips its turn. Bands and search rows go
//! with their items (ON DELETE CASCADE). Space is PostgreSQL's own business
//! (autovacuum), so there is no vacuum step here.

use super::{LOCK_PRUNE, PgStore};
use crate::error::StoreError;
use crate::store::prune::{
    IN_LAST_DOCUMENT, ITEM_BATCH, Pruned, ROW_BATCH, Retention, Step, key_hash,
};

fn cutoffs(now: i64, r: &Retention) -> (Option<i64>, i64) {
    (
        r.keep.map(|k| now.saturating_sub(k)),
        now.saturating_sub(r.keep_fetch_log),
    )
}

impl PgStore {
    pub async fn prune_preview(&self, now: i64, r: &Retention) -> Result<Pruned, StoreError> {
        let (items_before, fetches_before) = cutoffs(now, r);
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let c = "counting what pruning would remove";
        let mut p = Pruned {
            fetches: tx
                .one(
                    c,
                    "SELECT count(*) FROM fetches WHERE started_at < $1",
                    &[&fetches_before],
                )
                .await?
                .get::<_, i64>(0) as u64,
            ..Pruned::default()
        };
        if let Some(cut) = items_before {
            let count =
                async |tx: &mut super::pool::Tx<'_>, sql: &str| -> Result<u64, StoreError> {
                    Ok(tx.one(c, sql, &[&cut]).await?.get::<_, i64>(0) as u64)
                };
            p.items = count(
                &mut tx,
                "SELECT count(*) FROM items WHERE first_seen_at < $1",
            )
            .await?;
            p.stories = count(
                &mut tx,
                // (As SQLite's: whenever each story was first seen.)
                "SELECT count(DISTINCT i.story_id) FROM items i WHERE i.first_seen_at < $1
                 AND NOT EXISTS (SELECT 1 FROM items j
                                 WHERE j.story_id = i.story_id AND j.first_seen_at >= $1)",
            )
            .await?;
            p.tombstones_added = count(
                &mut tx,
                &format!(
                    "SELECT count(*) FROM items x LEFT JOIN feeds f ON f.id = x.feed_id
                     WHERE x.first_seen_at < $1 AND (x.last_seen_at >= $1 OR {IN_LAST_DOCUMENT})"
                ),
            )
            .await?;
            p.tombstones_dropped = count(
                &mut tx,
                &format!(
                    "SELECT count(*) FROM item_tombstones x LEFT JOIN feeds f ON f.id = x.feed_id
                     WHERE x.last_seen_at < $1 AND NOT {IN_LAST_DOCUMENT}"
                ),
            )
            .await?;
        }
        tx.commit(c).await?;
        Ok(p)
    }

    /// One bounded step (as [`crate::store::Store::prune_step`]).
    pub async fn prune_step(&self, now: i64, r: &Retention) -> Result<Step, StoreError> {
        // (A node storing into the same stories meanwhile: a deadlock, or a
        // story deleted under an item just added, ran again, as writers do.
        // It failed `prune`, and the daemon's prune waited an hour.)
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.prune_step_once(now, r).await {
                Err(e) if attempt < 4 && super::retryable(&e) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                }
                done => return done,
            }
        }
    }

    async fn prune_step_once(&self, now: i64, r: &Retention) -> Result<Step, StoreError> {
        let (items_before, fetches_before) = cutoffs(now, r);
        let c = "pruning";
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let mine: bool = tx
            .one(c, "SELECT pg_try_advisory_xact_lock($1)", &[&LOCK_PRUNE])
            .await?
            .get(0);
        if !mine {
            // Another node is pruning right now.
            tx.commit(c).await?;
            return Ok(Step {
                done: true,
                pruned: Pruned::default(),
            });
        }
        let mut p = Pruned::default();
        if let Some(cut) = items_before {
            let rows = tx
                .query(
                    c,
                    &format!(
                        "SELECT x.id, x.feed_id, x.key, x.last_seen_at, x.story_id,
                                x.last_seen_at >= $1 OR {IN_LAST_DOCUMENT}, x.title
                         FROM items x LEFT JOIN feeds f ON f.id = x.feed_id
                         WHERE x.first_seen_at < $1 ORDER BY x.first_seen_at, x.id LIMIT $2"
                    ),
                    &[&cut, &(ITEM_BATCH as i64)],
                )
                .await?;
            let mut ids = Vec::with_capacity(rows.len());
            let mut stories: Vec<i64> = Vec::new();
            let (mut t_feed, mut t_hash, mut t_seen) = (Vec::new(), Vec::new(), Vec::new());
            let mut carried = 0u64;
            for r in &rows {
                ids.push(r.get::<_, i64>(0));
                let last_seen: i64 = r.get(3);
                if r.get::<_, bool>(5) {
                    carried += 1;
                    let key: &str = r.get(2);
                    // (And under its other key form: `titled_link_key`.)
                    let other = crate::identity::titled_link_key(key, r.get(6));
                    for k in std::iter::once(key).chain(other.as_deref()) {
                        t_feed.push(r.get::<_, i64>(1));
                        t_hash.push(key_hash(k));
                        t_seen.push(last_seen);
                    }
                }
                if let Some(s) = r.get::<_, Option<i64>>(4) {
                    stories.push(s);
                }
            }
            if !t_feed.is_empty() {
                tx.exec(
                    c,
                    "INSERT INTO item_tombstones (feed_id, key_hash, last_seen_at)
                     SELECT f, h, max(s) FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
                         AS t(f, h, s) GROUP BY f, h
                     ON CONFLICT (feed_id, key_hash)
                     DO UPDATE SET last_seen_at = greatest(item_tombstones.last_seen_at, excluded.last_seen_at)",
                    &[&t_feed, &t_hash, &t_seen],
                )
                .await?;
                p.tombstones_added = carried;
            }
            p.items = tx
                .exec(c, "DELETE FROM items WHERE id = ANY($1)", &[&ids])
                .await?;
            stories.sort_unstable();
            stories.dedup();
            if !stories.is_empty() {
                // The stories locked first, in order: a writer adding an item
                // to one (its `item_count + 1`, its key share) is waited for,
                // and the statements below see its item. (Counted from the
                // statement's snapshot, a count missed an item added
                // meanwhile; deleted as empty, a story lost one.)
                tx.query(
                    c,
                    "SELECT id FROM stories WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                    &[&stories],
                )
                .await?;
                p.stories = tx
                    .exec(
                        c,
                        "DELETE FROM stories s WHERE s.id = ANY($1)
                         AND NOT EXISTS (SELECT 1 FROM items i WHERE i.story_id = s.id)",
                        &[&stories],
                    )
                    .await?;
                tx.exec(
                    c,
                    "UPDATE stories s SET item_count = (SELECT count(*) FROM items i WHERE i.story_id = s.id)
                     WHERE s.id = ANY($1)",
                    &[&stories],
                )
                .await?;
            }
            if p.items > 0 {
                tx.exec(
                    c,
                    "SELECT pg_notify($1, $2)",
                    &[&super::CHANNEL, &self.node()],
                )
                .await?;
            }
        }
        if p.items == 0 {
            p.fetches = tx
                .exec(
                    c,
                    "DELETE FROM fetches WHERE id IN (SELECT id FROM fetches
                     WHERE started_at < $1 ORDER BY started_at LIMIT $2)",
                    &[&fetches_before, &(ROW_BATCH as i64)],
                )
                .await?;
        }
        if p.items == 0
            && p.fetches == 0
            && let Some(cut) = items_before
        {
            p.tombstones_dropped = tx
                .exec(
                    c,
                    &format!(
                        "DELETE FROM item_tombstones WHERE (feed_id, key_hash) IN
                         (SELECT x.feed_id, x.key_hash FROM item_tombstones x
                          LEFT JOIN feeds f ON f.id = x.feed_id
                          WHERE x.last_seen_at < $1 AND NOT {IN_LAST_DOCUMENT} LIMIT $2)"
                    ),
                    &[&cut, &(ROW_BATCH as i64)],
                )
                .await?;
        }
        tx.commit(c).await?;
        Ok(Step {
            done: p.is_empty(),
            pruned: p,
        })
    }
}
