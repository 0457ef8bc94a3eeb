//! Near-duplicate fingerprints on PostgreSQL: the same rules as the SQLite side
//! (`crate::store::near`), but the anchor lookup is SQL over `near_anchors`
//! instead of an in-memory index: every node stores items, and an index in one
//! node's memory would not see what the others stored. Each lookup reads at most
//! `HUB + 1` newest and half as many oldest rows per anchor of the new item
//! (about three anchors) through the
//! `(anchor, first_seen_at, item_id)` primary key, then the candidates'
//! fingerprints from `near_items`: candidates are judged by their stored
//! fingerprint, never their text, as on SQLite.

use super::pool::Tx;
use crate::error::StoreError;
use crate::identity::{Identified, TitleWords};
use crate::similar::Fingerprint;

// An anchor shared by more than `HUB` items first seen within the near window
// is a hub, and at most `MAX_CANDIDATES` stored fingerprints are compared per
// lookup: the SQLite side's rules, and its code for judging candidates.
use crate::store::near::{Candidates, HUB, Judge};

/// The advisory-lock key of an anchor. Two nodes storing copies of one story
/// share an anchor (that is how they find each other), so the second waits for
/// the first one's COMMIT and then finds its story.
pub(super) fn lock_key(anchor: u32) -> i64 {
    crate::store::prune::key_hash(&format!("anchor {anchor}"))
}

/// Which of `anchors` are common features now: hubs (more than [`HUB`] items
/// of the window) whose newest items are of many stories (none holds half).
/// They need no lock: a lookup finds nothing through them but a story
/// titled as the new item, and locking them made every document that
/// contains such a feature wait for the others (111 ms per document at 500
/// feeds). A hub of one story (a wire story's, its follow-up's) is locked:
/// copies stored at once each became a story of their own.
pub(super) async fn common_features(
    tx: &mut Tx<'_>,
    anchors: &[u32],
    since: i64,
) -> Result<std::collections::HashSet<u32>, StoreError> {
    if anchors.is_empty() {
        return Ok(Default::default());
    }
    let list: Vec<i64> = anchors.iter().map(|a| i64::from(*a)).collect();
    let rows = tx
        .query(
            "matching near-duplicate stories",
            "SELECT a FROM unnest($1::bigint[]) AS a
             WHERE (SELECT count(*) FROM (SELECT 1 FROM near_anchors n
                                          WHERE n.anchor = a AND n.first_seen_at >= $2
                                          LIMIT $3) AS x) >= $3
               AND NOT EXISTS (
                   SELECT 1 FROM (SELECT i.story_id FROM near_anchors n
                                  JOIN items i ON i.id = n.item_id
                                  WHERE n.anchor = a AND n.first_seen_at >= $2
                                  ORDER BY n.first_seen_at DESC, n.item_id DESC
                                  LIMIT $3) AS s
                   GROUP BY s.story_id HAVING count(*) * 2 >= $3)",
            &[&list, &since, &(HUB + 1)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u32).collect())
}

/// The story of another feed's item that is a copy of `it` (the most similar
/// one), first seen since `since`, that has no item of this feed yet.
pub(super) async fn find_story(
    tx: &mut Tx<'_>,
    feed_id: i64,
    it: &Identified,
    fp: &Fingerprint,
    since: i64,
) -> Result<Option<i64>, StoreError> {
    let what = "matching near-duplicate stories";
    let anchors: Vec<i64> = fp.anchors.iter().map(|a| i64::from(*a)).collect();
    // The newest `HUB + 1` of each anchor, and its oldest half as many (a
    // hub is judged by both, as SQLite's `Index::hub_sample`).
    let old = (HUB + 1) / 2;
    let rows = tx
        .query(
            what,
            "SELECT a.anchor, c.item_id, c.feed_id, c.newest FROM unnest($1::bigint[]) AS a(anchor)
             CROSS JOIN LATERAL (
                 (SELECT item_id, feed_id, true AS newest FROM near_anchors n
                  WHERE n.anchor = a.anchor AND n.first_seen_at >= $2
                  ORDER BY n.first_seen_at DESC, n.item_id DESC
                  LIMIT $3)
                 UNION ALL
                 (SELECT item_id, feed_id, false FROM near_anchors n
                  WHERE n.anchor = a.anchor AND n.first_seen_at >= $2
                  ORDER BY n.first_seen_at, n.item_id
                  LIMIT $4)) AS c",
            &[&anchors, &since, &(HUB + 1), &old],
        )
        .await?;
    // Candidates: items listed under the anchors, of another feed or not.
    let mut candidates = Candidates::default();
    let mut title = None;
    for a in &fp.anchors {
        let of_anchor = || rows.iter().filter(|r| r.get::<_, i64>(0) == i64::from(*a));
        let mut list: Vec<(i64, i64)> = of_anchor()
            .filter(|r| r.get::<_, bool>(3))
            .map(|r| (r.get(1), r.get(2)))
            .collect();
        // (Unless some are titled as the new item: then the items of their
        // story are candidates, see SQLite's `hub_story`.)
        let hub = list.len() as i64 > HUB;
        if hub {
            let title = title.get_or_insert_with(|| TitleWords::new(it.entry.title.as_deref()));
            list.truncate((HUB + 1 - old) as usize);
            for r in of_anchor().filter(|r| !r.get::<_, bool>(3)) {
                let item: i64 = r.get(1);
                if !list.iter().any(|(i, _)| *i == item) {
                    list.push((item, r.get(2)));
                }
            }
            let ids: Vec<i64> = list.iter().map(|(item, _)| *item).collect();
            let rows = tx
                .query(
                    what,
                    "SELECT id, story_id, title FROM items WHERE id = ANY($1) ORDER BY id",
                    &[&ids],
                )
                .await?;
            if crate::store::near::common_feature(rows.iter().map(|r| r.get::<_, Option<i64>>(1))) {
                continue;
            }
            let story = crate::store::near::hub_story(rows.iter().map(|r| {
                (
                    r.get::<_, Option<i64>>(1),
                    title.alike(r.get::<_, Option<&str>>(2)),
                )
            }));
            let Some(story) = story else {
                continue;
            };
            let of_story: std::collections::HashSet<i64> = rows
                .iter()
                .filter(|r| r.get::<_, Option<i64>>(1) == Some(story))
                .map(|r| r.get(0))
                .collect();
            list.retain(|(item, _)| of_story.contains(item));
        }
        for (item, feed) in list {
            candidates.add(item, feed != feed_id, hub);
        }
    }
    if candidates.is_empty() {
        return Ok(None);
    }
    let best = candidates.best();
    let ids: Vec<i64> = best.iter().map(|c| c.0).collect();
    let stored = tx
        .query(
            what,
            "SELECT item_id, feed_id, first_seen_at, fingerprint FROM near_items
             WHERE item_id = ANY($1)",
            &[&ids],
        )
        .await?;
    let mut judge = Judge::new(it, fp, feed_id, since);
    for r in &stored {
        let item: i64 = r.get(0);
        let min = best.iter().find(|c| c.0 == item).map_or(0.0, |c| c.1);
        judge.consider_at_least(item, r.get(1), r.get(2), r.get::<_, &[u8]>(3), min);
    }
    // (A text its own feed carries under another title: see SQLite's.)
    if !judge.own_copies().is_empty() {
        let ids = judge.own_copies().to_vec();
        let titles = tx
            .query(what, "SELECT title FROM items WHERE id = ANY($1)", &[&ids])
            .await?;
        if titles
            .iter()
            .any(|r| r.get::<_, Option<&str>>(0) != it.entry.title.as_deref())
        {
            return Ok(None);
        }
    }
    // (The stories of items that tell another story: see SQLite's.)
    let rejected: Vec<i64> = match judge.rejected() {
        [] => Vec::new(),
        items => {
            let items = items.to_vec();
            tx.query(
                what,
                "SELECT story_id FROM items WHERE id = ANY($1) AND story_id IS NOT NULL",
                &[&items],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
        }
    };
    let mut rejected = rejected;
    let mut matches = Vec::new();
    let new_headline = it.entry.title.as_deref().unwrap_or("");
    for (item, look) in judge.into_look_ups() {
        let row = tx
            .opt(
                what,
                "SELECT i.story_id, s.first_seen_at,
                        EXISTS (SELECT 1 FROM items j WHERE j.story_id = i.story_id AND j.feed_id = $2),
                        i.title
                 FROM items i JOIN stories s ON s.id = i.story_id WHERE i.id = $1",
                &[&item, &feed_id],
            )
            .await?;
        if let Some(r) = row {
            let found = crate::store::near::Matched {
                story: r.get(0),
                first_seen: r.get(1),
                own_feed: r.get(2),
                swapped: false,
            };
            let title = r.get::<_, Option<&str>>(3).unwrap_or("");
            crate::store::near::judged(
                &look,
                new_headline,
                found,
                title,
                &mut matches,
                &mut rejected,
            );
        }
    }
    Ok(crate::store::near::choose(&matches, &rejected, since))
}

/// Stores an item's fingerprint and lists it under its anchors (hubs too, as
/// on SQLite).
pub(super) async fn insert(
    tx: &mut Tx<'_>,
    item_id: i64,
    feed_id: i64,
    first_seen_at: i64,
    fp: &Fingerprint,
) -> Result<(), StoreError> {
    let what = "storing fingerprint";
    tx.exec(
        what,
        "INSERT INTO near_items (item_id, feed_id, first_seen_at, fingerprint)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (item_id) DO UPDATE SET fingerprint = excluded.fingerprint",
        &[&item_id, &feed_id, &first_seen_at, &fp.to_bytes()],
    )
    .await?;
    let anchors: Vec<i64> = fp.anchors.iter().map(|a| i64::from(*a)).collect();
    if !anchors.is_empty() {
        tx.exec(
            what,
            "INSERT INTO near_anchors (anchor, first_seen_at, item_id, feed_id)
             SELECT a, $2, $3, $4 FROM unnest($1::bigint[]) AS a
             ON CONFLICT DO NOTHING",
            &[&anchors, &first_seen_at, &item_id, &feed_id],
        )
        .await?;
    }
    Ok(())
}

/// Replaces an edited item's fingerprint, or removes it when the new text has
/// none. The anchors of the old one stay listed (a candidate is always judged
/// by its stored fingerprint), as on SQLite.
pub(super) async fn replace(
    tx: &mut Tx<'_>,
    item_id: i64,
    fp: Option<&Fingerprint>,
) -> Result<(), StoreError> {
    let what = "updating fingerprint";
    match fp {
        Some(fp) => {
            let row = tx
                .one(
                    what,
                    "SELECT feed_id, first_seen_at FROM items WHERE id = $1",
                    &[&item_id],
                )
                .await?;
            insert(tx, item_id, row.get(0), row.get(1), fp).await
        }
        None => tx
            .exec(
                what,
                "DELETE FROM near_items WHERE item_id = $1",
                &[&item_id],
            )
            .await
            .map(|_| ()),
    }
}
