//! Retention: removes items first seen before `[store] keep` (with their search
//! rows, fingerprint bands and the stories left without items), fetch-log rows
//! older than `keep_fetch_log`, and tombstones whose feed has not carried their
//! item for `keep`; then returns free pages to the file system.
//!
//! Everything goes in small steps ([`Store::prune_step`]: at most
//! [`ITEM_BATCH`] items or [`ROW_BATCH`] other rows per transaction), so the
//! daemon's writer waits for at most one step at a time.
//!
//! A pruned item that its feed may still carry leaves a tombstone (feed, hash of
//! its key): when the feed carries it again, it is not stored as new
//! ([`tombstoned`], the one check on the write path). An item (or tombstone)
//! counts as carried when its feed's document held it within `keep`, or when
//! the last document the feed sent held it ([`IN_LAST_DOCUMENT`]): a feed that
//! has answered 304 (or failed) ever since has not said otherwise.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::Store;
use crate::error::StoreError;

/// Items removed per transaction.
pub const ITEM_BATCH: usize = 500;
/// Fetch-log rows or tombstones removed per transaction.
pub const ROW_BATCH: usize = 5000;
/// Pages returned to the file system per step (4 KiB each: 8 MiB).
pub const VACUUM_PAGES: i64 = 2048;
/// Pages of search-index merging per step.
pub const MERGE_PAGES: i64 = 128;
/// Most merge steps after one pruning (the rest waits for the next day).
pub const MAX_MERGE_STEPS: usize = 5_000;

/// How long things are kept, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Items first seen longer ago than this go; `None`: items are kept.
    pub keep: Option<i64>,
    /// Fetch-log rows older than this go.
    pub keep_fetch_log: i64,
}

/// What pruning removed (or, for a dry run, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub items: u64,
    pub stories: u64,
    pub fetches: u64,
    /// Tombstones written for pruned items their feeds may still carry.
    pub tombstones_added: u64,
    /// Tombstones dropped: their feeds have not carried them for `keep`.
    pub tombstones_dropped: u64,
}

impl Pruned {
    /// Adds another step's counts.
    pub fn add(&mut self, o: Pruned) {
        self.items += o.items;
        self.stories += o.stories;
        self.fetches += o.fetches;
        self.tombstones_added += o.tombstones_added;
        self.tombstones_dropped += o.tombstones_dropped;
    }

    pub fn is_empty(&self) -> bool {
        *self == Pruned::default()
    }
}

/// Whether the row `x` (an item or a tombstone, with `last_seen_at`) was in
/// the last document its feed `f` sent: it was seen, or its
/// `last_seen_at` last refreshed ([`super::items::SEEN_REFRESH`]), when that
/// document was read whole (`feeds.body_stored_at`). A 304 moves neither, so
/// items a feed has carried unchanged for longer than `keep` pass this test.
/// Both backends (43200 is `SEEN_REFRESH`, checked by a test).
pub(crate) const IN_LAST_DOCUMENT: &str =
    "(f.body_stored_at IS NOT NULL AND x.last_seen_at > f.body_stored_at - 43200)";

/// The first 64 bits of SHA-256 of an item key: its tombstone.
pub fn key_hash(key: &str) -> i64 {
    let d = Sha256::digest(key.as_bytes());
    i64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Whether (feed, key) belongs to a pruned item; if so, it is still in its feed:
/// its tombstone's `last_seen_at` moves to `now`.
pub(crate) fn tombstoned(
    tx: &Connection,
    feed_id: i64,
    key: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE item_tombstones SET last_seen_at = max(last_seen_at, ?3)
             WHERE feed_id = ?1 AND key_hash = ?2",
        )
        .and_then(|mut s| s.execute(params![feed_id, key_hash(key), now]))
        .map_err(StoreError::ctx("checking tombstones"))?;
    Ok(n > 0)
}

/// The cut-off times of a retention at `now`.
fn cutoffs(now: i64, r: &Retention) -> (Option<i64>, i64) {
    (
        r.keep.map(|k| now.saturating_sub(k)),
        now.saturating_sub(r.keep_fetch_log),
    )
}

/// One step of pruning.
#[derive(Debug, Clone, Copy, Default)]
pub struct Step {
    pub pruned: Pruned,
    /// Nothing is left to prune.
    pub done: bool,
}

impl Store {
    /// What pruning at `now` would remove. Reads only.
    pub fn prune_preview(&self, now: i64, r: &Retention) -> Result<Pruned, StoreError> {
        let ctx = || StoreError::ctx("counting what pruning would remove");
        let (items_before, fetches_before) = cutoffs(now, r);
        let count = |sql: &str, at: i64| -> Result<u64, StoreError> {
            self.conn
                .query_row(sql, [at], |row| row.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(ctx())
        };
        let mut p = Pruned {
            fetches: count(
                "SELECT count(*) FROM fetches WHERE started_at < ?1",
                fetches_before,
            )?,
            ..Pruned::default()
        };
        if let Some(cut) = items_before {
            p.items = count("SELECT count(*) FROM items WHERE first_seen_at < ?1", cut)?;
            p.stories = count(
                // (The stories the removals leave empty, whenever each was
                // first seen: one first seen after its items, which pruning
                // removes all the same, was not counted.)
                "SELECT count(DISTINCT i.story_id) FROM items i WHERE i.first_seen_at < ?1
                 AND NOT EXISTS (SELECT 1 FROM items j
                                 WHERE j.story_id = i.story_id AND j.first_seen_at >= ?1)",
                cut,
            )?;
            p.tombstones_added = count(
                &format!(
                    "SELECT count(*) FROM items x LEFT JOIN feeds f ON f.id = x.feed_id
                     WHERE x.first_seen_at < ?1 AND (x.last_seen_at >= ?1 OR {IN_LAST_DOCUMENT})"
                ),
                cut,
            )?;
            p.tombstones_dropped = count(
                &format!(
                    "SELECT count(*) FROM item_tombstones x LEFT JOIN feeds f ON f.id = x.feed_id
                     WHERE x.last_seen_at < ?1 AND NOT {IN_LAST_DOCUMENT}"
                ),
                cut,
            )?;
        }
        Ok(p)
    }

    /// One transaction of pruning at `now`: a batch of items, else of fetch-log
    /// rows, else of expired tombstones.
    pub fn prune_step(&mut self, now: i64, r: &Retention) -> Result<Step, StoreError> {
        let (items_before, fetches_before) = cutoffs(now, r);
        // Foreign keys off for the step: the cascades would check every table
        // that refers to items for each item deleted. The step removes
        // near-duplicate rows, search rows and emptied stories itself.
        self.conn
            .pragma_update(None, "foreign_keys", "OFF")
            .map_err(StoreError::ctx("pruning"))?;
        let result = self.prune_step_inner(items_before, fetches_before);
        self.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(StoreError::ctx("pruning"))?;
        result
    }

    fn prune_step_inner(
        &mut self,
        items_before: Option<i64>,
        fetches_before: i64,
    ) -> Result<Step, StoreError> {
        let ctx = || StoreError::ctx("pruning");
        let tx = self.conn.transaction().map_err(ctx())?;
        let mut p = Pruned::default();
        if let Some(cut) = items_before {
            type Row = (i64, i64, String, i64, Option<i64>, bool, Option<String>);
            let rows: Vec<Row> = tx
                .prepare_cached(&format!(
                    "SELECT x.id, x.feed_id, x.key, x.last_seen_at, x.story_id,
                            x.last_seen_at >= ?1 OR {IN_LAST_DOCUMENT}, x.title
                     FROM items x LEFT JOIN feeds f ON f.id = x.feed_id
                     WHERE x.first_seen_at < ?1 ORDER BY x.first_seen_at, x.id LIMIT ?2"
                ))
                .and_then(|mut s| {
                    s.query_map(params![cut, ITEM_BATCH as i64], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    })?
                    .collect()
                })
                .map_err(ctx())?;
            let mut stories = Vec::new();
            for (id, feed_id, key, last_seen, story, carried, title) in rows {
                if carried {
                    // (And under its other key form: `titled_link_key`.)
                    let other = crate::identity::titled_link_key(&key, title.as_deref());
                    for k in std::iter::once(key.as_str()).chain(other.as_deref()) {
                        tx.prepare_cached(
                            "INSERT INTO item_tombstones (feed_id, key_hash, last_seen_at)
                             VALUES (?1, ?2, ?3) ON CONFLICT (feed_id, key_hash)
                             DO UPDATE SET last_seen_at = max(last_seen_at, excluded.last_seen_at)",
                        )
                        .and_then(|mut s| s.execute(params![feed_id, key_hash(k), last_seen]))
                        .map_err(ctx())?;
                    }
                    p.tombstones_added += 1;
                }
                // (The in-memory anchor index may still name it: a candidate
                // without its row is skipped, and the index is rebuilt daily.)
                tx.prepare_cached("DELETE FROM near_items WHERE item_id = ?1")
                    .and_then(|mut s| s.execute([id]))
                    .map_err(ctx())?;
                super::search::unindex_item(&tx, id)?;
                tx.prepare_cached("DELETE FROM items WHERE id = ?1")
                    .and_then(|mut s| s.execute([id]))
                    .map_err(ctx())?;
                p.items += 1;
                if let Some(s) = story {
                    stories.push(s);
                }
            }
            stories.sort_unstable();
            stories.dedup();
            for s in stories {
                let left: Option<i64> = tx
                    .prepare_cached("SELECT count(*) FROM items WHERE story_id = ?1")
                    .and_then(|mut st| st.query_row([s], |r| r.get(0)).optional())
                    .map_err(ctx())?;
                let left = left.unwrap_or(0);
                if left == 0 {
                    tx.prepare_cached("DELETE FROM stories WHERE id = ?1")
                        .and_then(|mut st| st.execute([s]))
                        .map_err(ctx())?;
                    p.stories += 1;
                } else {
                    tx.prepare_cached("UPDATE stories SET item_count = ?2 WHERE id = ?1")
                        .and_then(|mut st| st.execute([s, left]))
                        .map_err(ctx())?;
                }
            }
        }
        if p.items > 0 {
            // The search index's merge is owed until it is done: a merge
            // that failed (a full disk) was never taken up again, the
            // deleted items' entries kept for good.
            // So is returning the free pages (a pruning killed while it
            // returned them left them for good; the merge frees more).
            tx.prepare_cached(
                "INSERT OR IGNORE INTO store_tasks (task, cursor)
                 VALUES ('search_merge', 0), ('return_space', 0)",
            )
            .and_then(|mut s| s.execute([]))
            .map_err(ctx())?;
        }
        if p.items == 0 {
            p.fetches = tx
                .prepare_cached(
                    "DELETE FROM fetches WHERE id IN (SELECT id FROM fetches
                     WHERE started_at < ?1 ORDER BY started_at LIMIT ?2)",
                )
                .and_then(|mut s| s.execute(params![fetches_before, ROW_BATCH as i64]))
                .map_err(ctx())? as u64;
        }
        if p.items == 0
            && p.fetches == 0
            && let Some(cut) = items_before
        {
            p.tombstones_dropped = tx
                .prepare_cached(&format!(
                    "DELETE FROM item_tombstones WHERE (feed_id, key_hash) IN
                     (SELECT x.feed_id, x.key_hash FROM item_tombstones x
                      LEFT JOIN feeds f ON f.id = x.feed_id
                      WHERE x.last_seen_at < ?1 AND NOT {IN_LAST_DOCUMENT} LIMIT ?2)"
                ))
                .and_then(|mut s| s.execute(params![cut, ROW_BATCH as i64]))
                .map_err(ctx())? as u64;
        }
        tx.commit().map_err(ctx())?;
        Ok(Step {
            done: p.is_empty(),
            pruned: p,
        })
    }

    /// Prunes everything due at `now` in steps (for `feedloom prune`; the daemon
    /// runs the steps itself, letting fetches in between).
    /// After each step the WAL is emptied (see [`Store::checkpoint`]), so that
    /// pruning needs one step's room on the disk, not the whole deletion's.
    pub fn prune_all(&mut self, now: i64, r: &Retention) -> Result<Pruned, StoreError> {
        let mut total = Pruned::default();
        loop {
            let step = self.prune_step(now, r)?;
            total.add(step.pruned);
            self.checkpoint();
            if step.done {
                return Ok(total);
            }
        }
    }

    /// Copies the WAL into the database and truncates it, when no reader
    /// holds it (best effort: a busy WAL is left for the next checkpoint).
    /// For `prune` by hand, whose steps would otherwise grow the WAL to
    /// [`super::WAL_AUTOCHECKPOINT`] pages before any space comes back: on a
    /// nearly full disk that was the difference between pruning and
    /// "database or disk is full".
    pub fn checkpoint(&self) {
        let _ = self.try_checkpoint();
    }

    /// [`Store::checkpoint`], with its error: the end of a poll and of the
    /// daemon say when it fails (a full disk).
    pub fn try_checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(StoreError::ctx("checkpointing"))
    }

    /// One step of merging the search index (about [`MERGE_PAGES`] pages of
    /// work): drops the entries of deleted items from it. Returns whether there
    /// is more to do. Pruning deletes rows without rewriting the index (FTS5's
    /// `deletemerge` is off), so this runs after it.
    /// When it is done, the `search_merge` task pruning left is.
    pub fn merge_search_step(&mut self) -> Result<bool, StoreError> {
        let before = self.conn.total_changes();
        self.conn
            .execute(
                "INSERT INTO search (search, rank) VALUES ('merge', ?1)",
                [-MERGE_PAGES],
            )
            .map_err(StoreError::ctx("merging the search index"))?;
        let more = self.conn.total_changes() - before >= 2;
        if !more {
            self.conn
                .execute("DELETE FROM store_tasks WHERE task = 'search_merge'", [])
                .map_err(StoreError::ctx("merging the search index"))?;
        }
        Ok(more)
    }

    /// Whether a pruning left the search index's merge unfinished (it
    /// failed, or reached [`MAX_MERGE_STEPS`]): the next pruning round
    /// takes it up, whether or not it removes anything.
    pub fn search_merge_owed(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM store_tasks WHERE task = 'search_merge')",
                [],
                |r| r.get(0),
            )
            .map_err(StoreError::ctx("reading the store's tasks"))
    }

    /// Free pages owed to the file system, in bytes, when a pruning left
    /// them (the `return_space` task: it was stopped before it returned
    /// them, and a store of 64 MB held 1 MB of items until the next round
    /// that removed something), in a store that returns free pages in steps.
    /// Those that the search index's own merges free as items come and go
    /// are not owed: they are used again.
    pub fn space_owed(&self) -> Result<Option<i64>, StoreError> {
        let owed: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM store_tasks WHERE task = 'return_space')",
                [],
                |r| r.get(0),
            )
            .map_err(StoreError::ctx("reading the store's tasks"))?;
        if !owed || !self.incremental_vacuum()? {
            return Ok(None);
        }
        let page: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(StoreError::ctx("reading the store's page size"))?;
        Ok(Some(self.free_pages()? * page))
    }

    /// Whether free pages go back to the file system in steps (`PRAGMA
    /// auto_vacuum` is INCREMENTAL: new stores; old ones after `prune --vacuum`).
    pub fn incremental_vacuum(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get::<_, i64>(0))
            .map(|m| m == 2)
            .map_err(StoreError::ctx("reading auto_vacuum"))
    }

    /// Pages in the file that hold nothing.
    pub fn free_pages(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .map_err(StoreError::ctx("reading freelist_count"))
    }

    /// Returns up to [`VACUUM_PAGES`] free pages to the file system; how many
    /// free pages are left. Does nothing unless [`Store::incremental_vacuum`].
    pub fn reclaim_step(&mut self) -> Result<i64, StoreError> {
        // The pragma frees one page per step of its statement: run it through.
        self.conn
            .prepare(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))
            .and_then(|mut s| {
                let mut rows = s.query([])?;
                while rows.next()?.is_some() {}
                Ok(())
            })
            .map_err(StoreError::ctx("returning free space"))?;
        let left = self.free_pages()?;
        if left == 0 {
            self.conn
                .execute("DELETE FROM store_tasks WHERE task = 'return_space'", [])
                .map_err(StoreError::ctx("returning free space"))?;
        }
        Ok(left)
    }

    /// Rewrites the whole file (`VACUUM`), which also switches an older store to
    /// incremental auto-vacuum. Blocks every writer while it runs.
    pub fn vacuum(&mut self) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .and_then(|_| self.conn.execute_batch("VACUUM"))
            .map_err(StoreError::ctx("vacuuming the store"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_last_document_test_uses_the_refresh_interval() {
        let refresh = format!("- {})", super::super::items::SEEN_REFRESH);
        assert!(super::IN_LAST_DOCUMENT.ends_with(&refresh));
    }
}
