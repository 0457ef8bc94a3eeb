//! Feed rows: syncing them with the config, reading their fetch state, and
//! recording fetches that brought no document (304, failures).

use rusqlite::{Connection, OptionalExtension, params};
use url::Url;

use super::Store;
use super::model::{AsFeedSpec, Validators};
use crate::error::StoreError;

/// What refreshing a feed needs to know about it.
#[derive(Debug, Clone)]
pub struct FeedRef {
    pub id: i64,
    /// The URL as configured: the feed's identity.
    pub url: Url,
    /// Where to fetch it: `url`, unless permanent redirects moved it.
    pub fetch_url: Url,
    pub validators: Validators,
    pub enabled: bool,
    pub consecutive_failures: u32,
    pub next_fetch_at: Option<i64>,
    pub redirect_url: Option<String>,
    pub redirect_count: u32,
    /// The last document's `<ttl>`, in minutes.
    pub ttl_minutes: Option<u32>,
    /// The last document's skipHours/skipDays/sy:updatePeriod.
    pub doc_hints: crate::hints::DocHints,
    /// Hash of the last 200 body stored ([`crate::identity::body_hash`]) and
    /// when it was last parsed and stored.
    pub body_hash: Option<String>,
    pub body_stored_at: Option<i64>,
    /// Not requested last time: its server had asked for time on another
    /// feed's request (429 or 503 with a Retry-After), until `next_fetch_at`.
    /// No failure; `poll` on a timer leaves it out until then too.
    pub held: bool,
    /// The last fetch failed with HTTP 404 (see the moved-feed rule in
    /// `refresh`).
    pub last_was_404: bool,
    /// `feeds.dates_day_first`: the order of numeric dates the feed's last
    /// document that showed one wrote them in (`None`: none has).
    pub dates_day_first: Option<bool>,
}

/// Facts about one fetch, for the `fetches` log and the feed row.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchRecord {
    pub started_at: i64,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub bytes: Option<u64>,
    /// A 200 whose body was byte-identical to the last one stored (not parsed).
    pub unchanged: bool,
    /// A body byte-identical to the last one stored, parsed all the same
    /// (by a newer reading, or because its items' `last_seen_at` were due):
    /// what reads otherwise in it is the parser's doing, not the feed's, so
    /// it is stored without being announced as an update.
    pub same_body: bool,
}

/// How the feed row changes after a fetch, besides its status.
#[derive(Debug, Clone, Default)]
pub struct Reschedule {
    /// Not fetched again before this time (daemon).
    pub next_fetch_at: Option<i64>,
    /// Permanent-redirect bookkeeping: the target seen and how often in a row.
    pub redirect: Option<(String, u32)>,
    /// Fetch from this URL from now on (after enough identical permanent redirects).
    pub new_url: Option<String>,
    /// The feed row already holds what `redirect` says (no redirect seen, none
    /// counted): its redirect columns need no write. Most fetches, and the
    /// second UPDATE of the feed row an unchanged fetch paid for nothing.
    pub redirect_unchanged: bool,
}

impl Store {
    /// Makes the feed rows match the config: every configured feed has a row with
    /// its title override and tags; feeds no longer configured keep their rows and
    /// items but are marked `in_config = 0`. Returns the configured feeds in order.
    ///
    /// A feed whose URL carries `user:password@` is stored under the URL without
    /// them; a row that an older feedloom stored under the URL with them is
    /// renamed (keeping its items) and its stored errors lose the credentials.
    pub fn sync_config<F: AsFeedSpec>(&mut self, feeds: &[F]) -> Result<Vec<FeedRef>, StoreError> {
        // Only what differs is written: the config of most polls is the one
        // synced last time, and rewriting every feed row and tag made each
        // poll dirty every page of `feeds` (12–17 ms at 1,000 feeds).
        let feeds: Vec<_> = feeds.iter().map(AsFeedSpec::feed_spec).collect();
        let now = crate::now_unix();
        // IMMEDIATE: a deferred transaction that read, then had to write
        // while another process held the write lock, failed at once
        // ("database is locked") instead of waiting the busy timeout, and a
        // SIGHUP during a brief `sqlite3` write was lost.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::ctx("syncing feeds"))?;
        let mut refs = Vec::with_capacity(feeds.len());
        {
            let ctx = StoreError::ctx;
            for f in &feeds {
                if let Some(old) = &f.url_with_credentials {
                    forget_credentials(&tx, old, &f.url)?;
                }
            }
            let mut find = tx
                .prepare_cached("SELECT id, title, in_config FROM feeds WHERE url = ?1")
                .map_err(ctx("syncing feeds"))?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO feeds (url, title, created_at) VALUES (?1, ?2, ?3) RETURNING id",
                )
                .map_err(ctx("syncing feeds"))?;
            let mut update = tx
                .prepare_cached("UPDATE feeds SET title = ?2, in_config = 1 WHERE id = ?1")
                .map_err(ctx("syncing feeds"))?;
            let mut tags_of = tx
                .prepare_cached("SELECT tag FROM feed_tags WHERE feed_id = ?1 ORDER BY tag")
                .map_err(ctx("syncing tags"))?;
            let mut del_tags = tx
                .prepare_cached("DELETE FROM feed_tags WHERE feed_id = ?1")
                .map_err(ctx("syncing tags"))?;
            let mut add_tag = tx
                .prepare_cached("INSERT OR IGNORE INTO feed_tags (tag, feed_id) VALUES (?1, ?2)")
                .map_err(ctx("syncing tags"))?;
            // A feed moved for good (`fetch_url`, shown by `feeds` as
            // `[moved to URL]`) whose new address replaced the old one in the
            // config keeps its row, items and stories: a new row stored and
            // announced every item again.
            let named: std::collections::HashSet<&str> =
                feeds.iter().map(|f| f.url.as_str()).collect();
            let mut moved_here = tx
                .prepare_cached("SELECT id, url FROM feeds WHERE fetch_url = ?1 ORDER BY id DESC")
                .map_err(ctx("syncing feeds"))?;
            let mut take_over = tx
                .prepare_cached(
                    "UPDATE feeds SET url = ?2, fetch_url = NULL, title = ?3, in_config = 1 WHERE id = ?1",
                )
                .map_err(ctx("syncing feeds"))?;
            // (A respelled feed is asked at once, its failures and a 410's
            // disabling forgotten: correcting a failing feed's address is
            // how it is mended, and the old row's state kept the new
            // address from being tried.)
            let mut respell = tx
                .prepare_cached(
                    "UPDATE feeds SET url = ?2, fetch_url = NULL, title = ?3, in_config = 1,
                         enabled = 1, next_fetch_at = NULL, consecutive_failures = 0,
                         redirect_url = NULL, redirect_count = 0
                     WHERE id = ?1",
                )
                .map_err(ctx("syncing feeds"))?;
            let mut configured = std::collections::HashSet::with_capacity(feeds.len());
            let mut spellings = None;
            for f in &feeds {
                let found: Option<(i64, Option<String>, bool)> = find
                    .query_row([&f.url], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
                    .map_err(ctx("syncing feeds"))?;
                let id = match found {
                    None => {
                        let old = moved_here
                            .query_map([&f.url], |r| {
                                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                            })
                            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                            .map_err(ctx("syncing feeds"))?
                            .into_iter()
                            .find(|(_, url)| !named.contains(url.as_str()));
                        match old {
                            Some((id, old_url)) => {
                                take_over
                                    .execute(params![id, f.url, f.title])
                                    .map_err(ctx("syncing feeds"))?;
                                tracing::info!(feed = %crate::urls::shown_feed_url(&f.url), was = %crate::urls::shown_feed_url(&old_url), "the config names a moved feed by its new address: it keeps its items");
                                id
                            }
                            None => {
                                match respelled(&tx, &mut spellings, &f.url, &named, &configured)? {
                                    // The same feed's address spelled otherwise
                                    // (`http:` for `https:`, a trailing slash, a
                                    // `utm_source`): a new row fetched every
                                    // item again and brought back the pruned.
                                    Some((id, old_url)) => {
                                        respell
                                            .execute(params![id, f.url, f.title])
                                            .map_err(ctx("syncing feeds"))?;
                                        tracing::info!(feed = %crate::urls::shown_feed_url(&f.url), was = %crate::urls::shown_feed_url(&old_url), "the config spells a known feed's address otherwise: it keeps its items");
                                        id
                                    }
                                    None => insert
                                        .query_row(params![f.url, f.title, now], |r| r.get(0))
                                        .map_err(ctx("syncing feeds"))?,
                                }
                            }
                        }
                    }
                    Some((id, title, in_config)) => {
                        if title != f.title || !in_config {
                            update
                                .execute(params![id, f.title])
                                .map_err(ctx("syncing feeds"))?;
                        }
                        id
                    }
                };
                configured.insert(id);
                let want: std::collections::BTreeSet<&str> =
                    f.tags.iter().map(String::as_str).collect();
                let have = tags_of
                    .query_map([id], |r| r.get::<_, String>(0))
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(ctx("syncing tags"))?;
                if !want.iter().copied().eq(have.iter().map(String::as_str)) {
                    del_tags.execute([id]).map_err(ctx("syncing tags"))?;
                    for tag in &want {
                        add_tag
                            .execute(params![tag, id])
                            .map_err(ctx("syncing tags"))?;
                    }
                }
                refs.push(load_ref(&tx, id)?);
            }
            // Feeds the config no longer names keep their rows and items.
            let stale: Vec<i64> = tx
                .prepare("SELECT id FROM feeds WHERE in_config = 1")
                .and_then(|mut s| {
                    s.query_map([], |r| r.get(0))?
                        .collect::<Result<Vec<i64>, _>>()
                })
                .map_err(ctx("syncing feeds"))?
                .into_iter()
                .filter(|id| !configured.contains(id))
                .collect();
            let mut unset = tx
                .prepare_cached("UPDATE feeds SET in_config = 0 WHERE id = ?1")
                .map_err(ctx("syncing feeds"))?;
            for id in stale {
                unset.execute([id]).map_err(ctx("syncing feeds"))?;
            }
        }
        tx.commit().map_err(StoreError::ctx("syncing feeds"))?;
        Ok(refs)
    }

    /// The current fetch state of one feed.
    pub fn feed_ref(&self, id: i64) -> Result<FeedRef, StoreError> {
        load_ref(&self.conn, id)
    }

    /// A 304 (or unchanged file): the fetch is logged and the feed marked fresh.
    pub fn record_not_modified(
        &mut self,
        feed_id: i64,
        rec: &FetchRecord,
        validators: &Validators,
        resched: &Reschedule,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .savepoint()
            .map_err(StoreError::ctx("recording 304"))?;
        insert_fetch(&tx, feed_id, rec, "not_modified", 0, 0, None)?;
        // (A validator the 304 carried replaces the stored one.)
        tx.prepare_cached(
            "UPDATE feeds SET last_fetch_at = ?2, last_success_at = ?2,
                 last_status = 'not_modified', last_http_status = ?3, last_error = NULL,
                 consecutive_failures = 0, next_fetch_at = ?4,
                 etag = COALESCE(?5, etag), last_modified = COALESCE(?6, last_modified)
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                feed_id,
                rec.started_at,
                rec.http_status,
                resched.next_fetch_at,
                validators.etag,
                validators.last_modified
            ])
        })
        .map_err(StoreError::ctx("recording 304"))?;
        apply_redirect(&tx, feed_id, resched)?;
        tx.commit().map_err(StoreError::ctx("recording 304"))
    }

    /// A 200 whose body is byte-identical to the last one stored
    /// (`feeds.body_hash`): logged as `ok` with `unchanged = 1`, and the feed
    /// marked fresh with the response's validators; its items are as stored.
    pub fn record_unchanged(
        &mut self,
        feed_id: i64,
        rec: &FetchRecord,
        validators: &Validators,
        resched: &Reschedule,
    ) -> Result<(), StoreError> {
        let ctx = StoreError::ctx;
        let rec = FetchRecord {
            unchanged: true,
            ..*rec
        };
        let tx = self
            .conn
            .savepoint()
            .map_err(ctx("recording unchanged body"))?;
        insert_fetch(&tx, feed_id, &rec, "ok", 0, 0, None)?;
        tx.prepare_cached(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, last_fetch_at = ?4,
                 last_success_at = ?4, last_status = 'ok', last_http_status = ?5,
                 last_error = NULL, consecutive_failures = 0, next_fetch_at = ?6
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                feed_id,
                validators.etag,
                validators.last_modified,
                rec.started_at,
                rec.http_status,
                resched.next_fetch_at
            ])
        })
        .map_err(ctx("recording unchanged body"))?;
        apply_redirect(&tx, feed_id, resched)?;
        tx.commit().map_err(ctx("recording unchanged body"))
    }

    /// A failed fetch: logged, and stored on the feed (message, consecutive
    /// failures, next attempt). Validators and items are left as they were.
    pub fn record_failure(
        &mut self,
        feed_id: i64,
        rec: &FetchRecord,
        error: &str,
        next_fetch_at: Option<i64>,
        then: AfterFailure,
    ) -> Result<(), StoreError> {
        let (disable, forget_move) = (
            then == AfterFailure::Disable,
            then == AfterFailure::ForgetMove,
        );
        let tx = self
            .conn
            .savepoint()
            .map_err(StoreError::ctx("recording failure"))?;
        insert_fetch(&tx, feed_id, rec, "error", 0, 0, Some(error))?;
        tx.execute(
            "UPDATE feeds SET last_fetch_at = ?2, last_status = 'error',
                 last_http_status = ?3, last_error = ?4,
                 consecutive_failures = consecutive_failures + 1, next_fetch_at = ?5,
                 enabled = CASE WHEN ?6 THEN 0 ELSE enabled END,
                 fetch_url = CASE WHEN ?7 THEN NULL ELSE fetch_url END,
                 redirect_url = CASE WHEN ?7 THEN NULL ELSE redirect_url END,
                 redirect_count = CASE WHEN ?7 THEN 0 ELSE redirect_count END
             WHERE id = ?1",
            params![
                feed_id,
                rec.started_at,
                rec.http_status,
                error,
                next_fetch_at,
                disable,
                forget_move
            ],
        )
        .map_err(StoreError::ctx("recording failure"))?;
        tx.commit().map_err(StoreError::ctx("recording failure"))
    }

    /// A feed not requested while its server's Retry-After is not over: its
    /// next attempt and why (`last_error`, unless the feed is failing: its
    /// own 429 was replaced by the message about its server); no fetch row,
    /// no failure counted.
    pub fn record_held(
        &mut self,
        feed_id: i64,
        next_fetch_at: Option<i64>,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE feeds SET next_fetch_at = ?2,
                        last_error = CASE WHEN last_status = 'error' THEN last_error ELSE ?3 END
                 WHERE id = ?1",
                params![feed_id, next_fetch_at, reason],
            )
            .map_err(StoreError::ctx("recording a held feed"))?;
        Ok(())
    }

    /// Sets the first fetch time of feeds that are due now or were never fetched
    /// (`(feed id, time)`, computed by the scheduler so that a start with many
    /// feeds does not fire them all in the same second). A feed whose stored time
    /// is in the future (a schedule, a Retry-After) keeps it.
    pub fn spread_due(&mut self, now: i64, first: &[(i64, i64)]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(StoreError::ctx("spreading first fetches"))?;
        {
            let mut set = tx
                .prepare_cached(
                    "UPDATE feeds SET next_fetch_at = ?2
                     WHERE id = ?1 AND COALESCE(next_fetch_at, 0) <= ?3",
                )
                .map_err(StoreError::ctx("spreading first fetches"))?;
            for (id, at) in first {
                set.execute(params![id, at, now])
                    .map_err(StoreError::ctx("spreading first fetches"))?;
            }
        }
        tx.commit()
            .map_err(StoreError::ctx("spreading first fetches"))
    }

    /// Moves feeds' next fetch to an earlier time (`(feed id, time)`); a
    /// feed due sooner keeps its time.
    pub fn fetch_earlier(&mut self, at: &[(i64, i64)]) -> Result<(), StoreError> {
        let ctx = StoreError::ctx("rescheduling feeds");
        let tx = self.conn.transaction().map_err(ctx)?;
        {
            let mut set = tx
                .prepare_cached(
                    "UPDATE feeds SET next_fetch_at = ?2 WHERE id = ?1 AND next_fetch_at > ?2",
                )
                .map_err(StoreError::ctx("rescheduling feeds"))?;
            for (id, t) in at {
                set.execute(params![id, t])
                    .map_err(StoreError::ctx("rescheduling feeds"))?;
            }
        }
        tx.commit().map_err(StoreError::ctx("rescheduling feeds"))
    }

    /// The wall clock stepped back `by` seconds while this process ran: the
    /// schedule moves back as much (no earlier than `now`), fetch times
    /// ahead of `now` are `now`, and items' and stories' times ahead of
    /// `now` move back as much. Returns how many next fetches moved.
    pub fn clock_stepped_back(&mut self, now: i64, by: i64) -> Result<usize, StoreError> {
        let ctx = || StoreError::ctx("moving the schedule back with the clock");
        let tx = self.conn.transaction().map_err(ctx())?;
        let moved = tx
            .execute(
                "UPDATE feeds SET next_fetch_at = max(?1, next_fetch_at - ?2)
                 WHERE next_fetch_at > ?1",
                params![now, by],
            )
            .map_err(ctx())?;
        for column in ["last_fetch_at", "last_success_at"] {
            tx.execute(
                &format!("UPDATE feeds SET {column} = ?1 WHERE {column} > ?1"),
                [now],
            )
            .map_err(ctx())?;
        }
        // Items and stories seen before the step, ahead of the clock now,
        // move back as much: they stayed above every story seen after it
        // (and, moved to now at the next start, for good).
        for &(table, column) in super::TIMES_OF_FETCHES {
            tx.execute(
                &format!("UPDATE {table} SET {column} = max({column} - ?2, 0) WHERE {column} > ?1"),
                params![now, by],
            )
            .map_err(ctx())?;
        }
        tx.commit().map_err(ctx())?;
        Ok(moved)
    }

    /// Configured, enabled feeds whose next fetch time has come, soonest first.
    /// Feeds in `busy` (being fetched already) are left out before being read.
    pub fn due_feeds(
        &self,
        now: i64,
        busy: &std::collections::HashSet<i64>,
    ) -> Result<Vec<FeedRef>, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare_cached(
                "SELECT id FROM feeds
                 WHERE in_config = 1 AND enabled = 1 AND COALESCE(next_fetch_at, 0) <= ?1
                 ORDER BY next_fetch_at",
            )
            .and_then(|mut s| s.query_map([now], |r| r.get(0))?.collect())
            .map_err(StoreError::ctx("reading due feeds"))?;
        ids.into_iter()
            .filter(|id| !busy.contains(id))
            .map(|id| load_ref(&self.conn, id))
            .collect()
    }

    /// Re-enables a feed disabled after 410 Gone, or forgets where it moved
    /// for good (the address it moved to died: it was asked there for
    /// good, and `enable` said "nothing to do"), and makes it due now.
    /// `None`: no such feed.
    pub fn enable_feed(&mut self, url: &str) -> Result<Option<Enabled>, StoreError> {
        let ctx = StoreError::ctx("enabling feed");
        let tx = self.conn.transaction().map_err(ctx)?;
        let what = match what_enable_does(&tx, url)? {
            Some(Enabled::Nothing) => return Ok(Some(Enabled::Nothing)),
            None => return Ok(None),
            Some(what) => what,
        };
        tx.execute(
            "UPDATE feeds SET enabled = 1, next_fetch_at = NULL, consecutive_failures = 0,
                 fetch_url = NULL, redirect_url = NULL, redirect_count = 0
             WHERE url = ?1",
            [url],
        )
        .map_err(StoreError::ctx("enabling feed"))?;
        tx.commit().map_err(StoreError::ctx("enabling feed"))?;
        Ok(Some(what))
    }
}

impl Store {
    /// What [`Store::enable_feed`] would do, read without writing (a store
    /// opened read-only will do): `enable` of a feed the store does not know,
    /// or of one with nothing to enable, leaves the store as it was.
    pub fn what_enable_does(&self, url: &str) -> Result<Option<Enabled>, StoreError> {
        what_enable_does(&self.conn, url)
    }
}

fn what_enable_does(conn: &Connection, url: &str) -> Result<Option<Enabled>, StoreError> {
    let found: Option<(bool, Option<String>)> = conn
        .query_row(
            "SELECT enabled, fetch_url FROM feeds WHERE url = ?1",
            [url],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::ctx("enabling feed"))?;
    Ok(found.map(|(enabled, moved)| match (enabled, moved) {
        (false, forgot) => Enabled::Enabled(forgot),
        (true, Some(to)) => Enabled::MoveForgotten(to),
        (true, None) => Enabled::Nothing,
    }))
}

/// What `enable` did to a feed ([`Store::enable_feed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enabled {
    /// It was disabled (410 Gone): enabled, and due now; and the address it
    /// had moved to for good, forgotten too.
    Enabled(Option<String>),
    /// It had moved for good to this address: the move is forgotten, and its
    /// configured URL is due now.
    MoveForgotten(String),
    /// Neither: nothing written.
    Nothing,
}

/// What a failed fetch does to its feed besides counting the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Nothing more (it is tried again after its backoff).
    Keep,
    /// Disabled (410 Gone at the feed's own address).
    Disable,
    /// Its permanent redirect forgotten: the address it moved to answered
    /// 404 or 410, and the configured URL is asked again.
    ForgetMove,
}

/// Renames a feed row stored under `old` (a URL with `user:password@`) to
/// `clean`, unless `clean` has a row already; strips the credentials from its
/// fetch URLs and stored error messages.
fn forget_credentials(tx: &Connection, old: &str, clean: &str) -> Result<(), StoreError> {
    let ctx = StoreError::ctx("removing credentials from a feed's URL");
    let Some(id) = tx
        .query_row("SELECT id FROM feeds WHERE url = ?1", [old], |r| {
            r.get::<_, i64>(0)
        })
        .optional()
        .map_err(ctx)?
    else {
        return Ok(());
    };
    let userinfo = old
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .map(|(info, _)| format!("{info}@"))
        .unwrap_or_default();
    let ctx = StoreError::ctx;
    let taken: bool = tx
        .query_row(
            "SELECT count(*) > 0 FROM feeds WHERE url = ?1",
            [clean],
            |r| r.get(0),
        )
        .map_err(ctx("removing credentials from a feed's URL"))?;
    if !taken {
        tx.execute(
            "UPDATE feeds SET url = ?2 WHERE id = ?1",
            params![id, clean],
        )
        .map_err(ctx("removing credentials from a feed's URL"))?;
    }
    if !userinfo.is_empty() {
        tx.execute(
            "UPDATE feeds SET fetch_url = replace(fetch_url, ?2, ''),
                 redirect_url = replace(redirect_url, ?2, ''),
                 last_error = replace(last_error, ?2, '')
             WHERE id = ?1",
            params![id, userinfo],
        )
        .map_err(ctx("removing credentials from a feed's URL"))?;
        tx.execute(
            "UPDATE fetches SET error = replace(error, ?2, '') WHERE feed_id = ?1",
            params![id, userinfo],
        )
        .map_err(ctx("removing credentials from the fetch log"))?;
    }
    Ok(())
}

pub(super) fn load_ref(conn: &rusqlite::Connection, id: i64) -> Result<FeedRef, StoreError> {
    let parse = |s: String| {
        Url::parse(&s).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    conn.prepare_cached(
        "SELECT url, COALESCE(fetch_url, url), etag, last_modified, enabled,
                consecutive_failures, next_fetch_at, redirect_url, redirect_count,
                ttl_minutes, skip_hours, skip_days, update_interval, body_hash, body_stored_at,
                COALESCE(last_error LIKE '%: not requested: % answered 429%', 0),
                COALESCE(last_status = 'error' AND last_http_status = 404, 0),
                dates_day_first
         FROM feeds WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id], |r| {
            Ok(FeedRef {
                id,
                url: parse(r.get(0)?)?,
                fetch_url: parse(r.get(1)?)?,
                validators: Validators {
                    etag: r.get(2)?,
                    last_modified: r.get(3)?,
                },
                enabled: r.get(4)?,
                consecutive_failures: r.get(5)?,
                next_fetch_at: r.get(6)?,
                redirect_url: r.get(7)?,
                redirect_count: r.get(8)?,
                ttl_minutes: r.get(9)?,
                doc_hints: crate::hints::DocHints {
                    skip_hours: r.get(10)?,
                    skip_days: r.get(11)?,
                    update_interval: r
                        .get::<_, Option<i64>>(12)?
                        .map(|s| std::time::Duration::from_secs(s.max(0) as u64)),
                    ttl_minutes: None,
                },
                body_hash: r.get(13)?,
                body_stored_at: r.get(14)?,
                held: r.get(15)?,
                last_was_404: r.get(16)?,
                dates_day_first: r.get::<_, Option<i64>>(17)?.map(|d| d != 0),
            })
        })
    })
    .map_err(StoreError::ctx("reading feed"))
}

pub(super) fn insert_fetch(
    tx: &Connection,
    feed_id: i64,
    rec: &FetchRecord,
    outcome: &str,
    new: usize,
    updated: usize,
    error: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO fetches (feed_id, started_at, duration_ms, outcome, http_status, bytes,
                              items_new, items_updated, error, unchanged)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            feed_id,
            rec.started_at,
            rec.duration_ms,
            outcome,
            rec.http_status,
            rec.bytes.map(|b| b as i64),
            new as i64,
            updated as i64,
            error,
            rec.unchanged
        ])
    })
    .map_err(StoreError::ctx("logging fetch"))?;
    Ok(())
}

pub(super) fn apply_redirect(
    tx: &Connection,
    feed_id: i64,
    resched: &Reschedule,
) -> Result<(), StoreError> {
    if resched.redirect_unchanged && resched.new_url.is_none() {
        return Ok(());
    }
    let (target, count) = match &resched.redirect {
        Some((t, c)) => (Some(t.as_str()), *c),
        None => (None, 0),
    };
    tx.prepare_cached("UPDATE feeds SET redirect_url = ?2, redirect_count = ?3 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![feed_id, target, count]))
        .map_err(StoreError::ctx("recording redirect"))?;
    if let Some(new_url) = &resched.new_url {
        tx.execute(
            "UPDATE feeds SET fetch_url = ?2, redirect_url = NULL, redirect_count = 0
             WHERE id = ?1",
            params![feed_id, new_url],
        )
        .map_err(StoreError::ctx("following permanent redirect"))?;
    }
    Ok(())
}

/// Every feed row's address by its [`spelling_key`], read once per sync, at
/// the first configured feed without a row.
type Spellings = std::collections::HashMap<String, Vec<(i64, String)>>;

/// What two spellings of one feed's address share: the address as
/// [`crate::identity::canonical_url`] reads it (scheme, default port,
/// trailing slash, fragment and tracking parameters aside).
pub(crate) fn spelling_key(url: &str) -> String {
    crate::identity::canonical_url(url, &crate::identity::Canon::default())
}

/// The oldest row whose address is `url` spelled otherwise (the longest
/// history: a spelling briefly written beside it made a newer row of the
/// same feed), that the config names neither by its address nor through
/// another feed of this sync.
fn respelled(
    tx: &Connection,
    spellings: &mut Option<Spellings>,
    url: &str,
    named: &std::collections::HashSet<&str>,
    configured: &std::collections::HashSet<i64>,
) -> Result<Option<(i64, String)>, StoreError> {
    if spellings.is_none() {
        let mut all = Spellings::new();
        let rows = tx
            .prepare("SELECT id, url FROM feeds")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(StoreError::ctx("syncing feeds"))?;
        for (id, u) in rows {
            all.entry(spelling_key(&u)).or_default().push((id, u));
        }
        *spellings = Some(all);
    }
    Ok(spellings
        .as_ref()
        .and_then(|all| all.get(&spelling_key(url)))
        .and_then(|rows| {
            rows.iter()
                .filter(|(id, u)| !named.contains(u.as_str()) && !configured.contains(id))
                .min_by_key(|(id, _)| *id)
                .cloned()
        }))
}
