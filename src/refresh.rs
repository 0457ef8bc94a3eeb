//! Refreshing feeds: [`refresh_feed`] is the one place that takes a single feed
//! through fetch → parse → identify → store. [`poll`] refreshes every configured
//! feed once and writes the outputs; the daemon calls `refresh_feed` from its loop.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::{error, info, instrument, warn};

use crate::config::{Access, Config, Defaults, FeedConfig};
use crate::error::{Disposition, FeedError, StoreError, chain};
use crate::export;
use crate::fetch::{CacheHints, Validators};
use crate::fetch::{FetchOutcome, Fetcher, Origin, Redirect};
use crate::identity::{
    Canon, Identified, Seal, Skipped, alone_with, decode_seals, encode_seals, identify_keys,
    identify_keys_alone, seal,
};
use crate::parse::{self, Limits};
use crate::schedule::{self, Every, Hints};
use crate::store::Backend;
use crate::store::feeds::{AfterFailure, FeedRef, FetchRecord, Reschedule};
use crate::store::items::{Applied, DocumentMeta, SEEN_REFRESH, StoryRules};

/// Bodies at least this large are parsed at most [`LARGE_PARSES`] at a time.
pub const LARGE_BODY: usize = 1 << 20;
/// How many large bodies are parsed at once (the machine's two cores are busy
/// with two anyway): bounds parse memory by a budget, whatever many feeds send
/// large documents at the same time.
pub const LARGE_PARSES: usize = 2;
static LARGE_PARSE_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(LARGE_PARSES);

/// Waits for a slot to parse a body of `len` bytes: `None` (no wait) for small
/// bodies; large ones take one of [`LARGE_PARSES`] slots, held until the permit
/// is dropped.
pub async fn parse_slot(len: usize) -> Option<tokio::sync::SemaphorePermit<'static>> {
    if len < LARGE_BODY {
        return None;
    }
    // The semaphore is never closed.
    LARGE_PARSE_SLOTS.acquire().await.ok()
}

/// What refreshing needs, shared by every feed.
#[derive(Clone)]
pub struct Refresher {
    pub fetcher: Fetcher,
    pub store: Backend,
    pub limits: Limits,
    pub defaults: Arc<Defaults>,
    pub canon: Arc<Canon>,
    pub rules: StoryRules,
    /// The headers and credentials of each configured feed that has any, by
    /// its URL (a feed not in it sends none).
    pub access: Arc<HashMap<String, Arc<Access>>>,
    /// The URLs of the feeds marked `untrusted`: their own host is held to
    /// the network guard too.
    pub untrusted: Arc<std::collections::HashSet<String>>,
    /// What besides the body decides how it is read (limits, identity rules):
    /// part of the body hash, so that a changed rule re-reads every body.
    pub body_tag: Arc<str>,
    /// Set when the daemon stops: a fetch still waiting for its host's turn
    /// does not start.
    pub stop: Stop,
}

/// The daemon's "stopping": fetches dispatched but not started yet (waiting
/// for their host's turn or a global slot) end without a request, and are due
/// again at the next start. Requests already made are left to finish.
#[derive(Clone, Default)]
pub struct Stop(Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>);

impl Stop {
    pub fn stop(&self) {
        self.0.0.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Completes once [`Stop::stop`] was called.
    pub async fn stopped(&self) {
        let notified = self.0.1.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.is_stopped() {
            notified.await;
        }
    }
}

/// How one refresh ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stored(Applied),
    NotModified,
    /// Not fetched: the daemon began to stop before the fetch's turn came.
    /// Nothing was requested or recorded.
    NotStarted,
    /// Not requested: its server answered another feed 429 or 503 with a
    /// Retry-After that is not over. Not a failure of this feed: its next
    /// attempt (the hold's end) and why (`last_error`) were stored.
    Held {
        reason: String,
    },
    /// The feed's failure, as stored on its row.
    Failed {
        error: String,
        status: Option<u16>,
        gone: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Report {
    pub feed_url: String,
    pub outcome: Outcome,
    pub duration_ms: i64,
    pub next_fetch_at: Option<i64>,
    /// The store could not write this fetch's result: its error.
    pub store_error: Option<String>,
}

impl Refresher {
    pub fn new(cfg: &Config, store: impl Into<Backend>) -> Result<Refresher, reqwest::Error> {
        Ok(Refresher::with_fetcher(
            cfg,
            store,
            Fetcher::new(&cfg.fetch)?.with_max_hold(cfg.defaults.max_backoff.0),
        ))
    }

    /// Holds the servers the store says asked for time that is not over (a
    /// 429 or 503 with a Retry-After, or a 429 without one, as the feed's
    /// last error: [`crate::error::stored_hold`]): a `poll` on a timer asked
    /// their other feeds in its next run, while the server had asked it for
    /// none. Returns how many feeds' errors hold a server.
    pub async fn keep_stored_holds(&self) -> Result<usize, StoreError> {
        let now = crate::now_unix();
        let troubles = self
            .store
            .read_try(|r| r.feeds_in_trouble(usize::MAX))
            .await?;
        let mut held = 0;
        for p in troubles.iter().filter(|p| p.enabled) {
            let Some((url, until, asked)) =
                p.last_error.as_deref().and_then(crate::error::stored_hold)
            else {
                continue;
            };
            // At most `max_backoff` from when the server said it (a wait
            // said as 2^31 s or more names no time; a wait past the cap was
            // counted from each run's start: a `poll` every minute held
            // the server for good).
            let said_at = p.last_fetch_at.unwrap_or(now);
            let cap = said_at.saturating_add(
                i64::try_from(self.defaults.max_backoff.0.as_secs()).unwrap_or(i64::MAX),
            );
            let until = until.map_or(cap, |u| u.min(cap));
            if until > now {
                self.fetcher.hold_until(&url, until, asked);
                held += 1;
            }
        }
        Ok(held)
    }

    /// A refresher that fetches with `fetcher` (tests pass one with their own
    /// resolver).
    pub fn with_fetcher(cfg: &Config, store: impl Into<Backend>, fetcher: Fetcher) -> Refresher {
        let store = store.into();
        let canon = Canon::new(&cfg.identity.strip_params);
        // v2: enclosures are read (an identical body is parsed once more
        // after the upgrade; migration 12 clears the validators, so a server
        // that answered 304 sends the body too). v3: the readings of the
        // parser's raw entries v7 (guid links, titles' references, charset
        // labels): a body stored before is read once more. v4: raw entries
        // v8 (xml:base of content, entries inside an element left open). v6:
        // raw entries v9 (a link-less entry's base, an Atom entry's page).
        // v7: raw entries v10 (Dublin Core under any prefix, and RSS 1.0's).
        // v8: raw entries v11 (blank titles give way to Dublin Core's; Atom's).
        // v9: raw entries v12 (media text). v10: raw entries v13 (a JSON
        // item's blank text gives way to its image; files named by their
        // query). v11: raw entries v14 (a legacy encoding under a UTF-8
        // label guessed; files' naming queries sorted and decoded, signing
        // schemes' parameters left out; a guid listed twice with its
        // headline rewritten over its own text). v13: raw entries v16 (Atom
        // content of a binary media type decoded from base64). v14: raw
        // entries v17 (an RSS item's `itunes:author`). v15: raw entries v18
        // (numeric dates day first where the document writes them so).
        // v16: raw entries v19 (undeclared prefixes; day-first dates in
        // CDATA, with attributes, after a time). v17: raw entries v20 (a
        // document showing no date order read in its feed's).
        let body_tag = format!(
            "{BODY_TAG} entries={} field={} strip={}",
            cfg.fetch.max_entries,
            cfg.fetch.max_field.0,
            canon.tag()
        );
        Refresher {
            stop: Stop::default(),
            body_tag: body_tag.into(),
            fetcher,
            // Only feeds with headers or credentials: the others get none.
            access: Arc::new(
                cfg.feeds
                    .iter()
                    .filter(|f| !f.access.is_empty())
                    .map(|f| (f.url().to_string(), Arc::new((*f.access).clone())))
                    .collect(),
            ),
            untrusted: Arc::new(
                cfg.feeds
                    .iter()
                    .filter(|f| f.untrusted)
                    .map(|f| f.url().to_string())
                    .collect(),
            ),
            store,
            limits: Limits {
                max_entries: cfg.fetch.max_entries,
                max_field: cfg.fetch.max_field.0 as usize,
            },
            defaults: Arc::new(cfg.defaults.clone()),
            canon: Arc::new(canon),
            rules: StoryRules {
                near_duplicates: cfg.identity.near_duplicates,
                near_window: cfg.identity.near_window.0.as_secs().min(i64::MAX as u64) as i64,
            },
        }
    }
}

/// The version of [`Refresher::body_tag`] (see there): a body whose hash
/// under an older version is the one stored is the body stored, read again
/// by a newer parser ([`FetchRecord::same_body`], [`same_body`]).
const BODY_TAG: &str = "v17";

/// Whether `last`, the hash stored of a feed's last body, is `body`'s under
/// an older version of [`BODY_TAG`] (`tag` is this one's, with the rest of
/// what it hashes): the same body read by an older feedloom. One hash for a
/// hash that names its version; for one stored before hashes named theirs,
/// one per older version, once per feed (a store of several versions back
/// had its parser's changes announced as updates, the body the same).
fn same_body(last: &str, body: &[u8], tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix(BODY_TAG) else {
        return false;
    };
    let current: u32 = BODY_TAG[1..].parse().unwrap_or(0);
    let older = |v: &str| {
        v.strip_prefix('v')
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n < current)
    };
    match last.split_once(':') {
        Some((v, _)) if older(v) => last == crate::identity::body_hash(body, &format!("{v}{rest}")),
        Some(_) => false,
        None => (1..current)
            .any(|n| last == crate::identity::unversioned_body_hash(body, &format!("v{n}{rest}"))),
    }
}

/// Whether `last`, the hash stored of a feed's last body, was made under an
/// older [`BODY_TAG`] (or before hashes named their version).
fn read_by_an_older_parser(last: &str) -> bool {
    let current: u32 = BODY_TAG[1..].parse().unwrap_or(0);
    match last.split_once(':') {
        Some((v, _)) => v
            .strip_prefix('v')
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n < current),
        None => true,
    }
}

/// Failures in a row, the last two of them 404s at the address a feed moved
/// to, after which the move is forgotten (a 410 forgets it at once).
const FORGET_MOVE_AFTER_404S: u32 = 3;

/// Bodies up to this size are hashed on the async worker to find out whether
/// they are the body stored last time (XXH3 reads ~10 GB/s: ≤ 0.1 ms).
const INLINE_HASH_MAX: usize = 1 << 20;

/// Refreshes one feed. A feed's failure is recorded on it and returned as
/// [`Outcome::Failed`]; only the store's own errors are `Err`.
///
/// Every [`crate::TRIM_EVERY`] feeds, the memory freed meanwhile goes back to
/// the system.
#[instrument(skip_all, fields(feed = %crate::urls::shown_feed_url(feed.url.as_str())))]
pub async fn refresh_feed(
    r: &Refresher,
    feed: &FeedRef,
    every: &Every,
) -> Result<Report, StoreError> {
    let result = refresh_one(r, feed, every).await;
    if crate::trim_due() {
        tokio::task::spawn_blocking(crate::trim_freed_memory);
    }
    result
}

async fn refresh_one(r: &Refresher, feed: &FeedRef, every: &Every) -> Result<Report, StoreError> {
    // The host and global slots cover the request, the parse and the store
    // write (so that fetched documents never pile up in memory ahead of the
    // writer), but not the wait for the group commit: that must not keep the
    // next fetches from starting.
    let turn = async {
        if let Backend::Postgres(pg) = &r.store {
            // The host's gap, shared by every node (see store::postgres::feeds).
            pg.wait_turn(feed.id).await;
        }
        r.fetcher.acquire(&feed.fetch_url).await
    };
    let held = tokio::select! {
        biased;
        () = r.stop.stopped() => None,
        held = turn => Some(held),
    };
    // (Also when the turn came in the same instant as the stop.)
    let Some(mut held) = held.filter(|_| !r.stop.is_stopped()) else {
        // Claimed on PostgreSQL: another node may take it at once.
        if let Err(e) = r.store.release(feed.id).await {
            warn!(error = %chain(&e), "cannot release a feed");
        }
        return Ok(Report {
            feed_url: feed.url.to_string(),
            outcome: Outcome::NotStarted,
            duration_ms: 0,
            next_fetch_at: None,
            store_error: None,
        });
    };
    let started_at = crate::now_unix();
    let t0 = Instant::now();
    // (Most feeds have none: they share one empty value, no allocation per fetch.)
    static NONE: std::sync::LazyLock<Arc<Access>> = std::sync::LazyLock::new(Arc::default);
    let access = r.access.get(feed.url.as_str()).unwrap_or(&NONE).clone();
    let origin = if r.untrusted.contains(feed.url.as_str()) {
        Origin::untrusted(&feed.url, access)
    } else {
        Origin::configured(&feed.url, access)
    };
    // A document an older parser read is asked for whole, once: a server
    // that answers 304 kept it unread by this one, until the feed changed,
    // and then every entry this parser reads otherwise was announced as
    // updated (an upgrade's raw entries and body tag said "read again").
    let none = crate::store::model::Validators::default();
    let validators = match feed
        .body_hash
        .as_deref()
        .is_some_and(read_by_an_older_parser)
    {
        true => &none,
        false => &feed.validators,
    };
    let fetched = r
        .fetcher
        .fetch_in(&mut held, &feed.fetch_url, validators, &origin)
        .await;
    let mut slot = Some(held);
    let mut rec = FetchRecord {
        started_at,
        ..FetchRecord::default()
    };
    // A 304, or a 200 with the body stored last time: the document is the
    // same, so its stored hints still apply.
    let same_document = |fresh_for, redirect: Option<&Redirect>| {
        let next = schedule::after_success(
            started_at,
            every,
            Hints {
                fresh_for,
                ttl_minutes: feed.ttl_minutes,
                doc: feed.doc_hints,
            },
            r.defaults.max_delay.0,
        );
        (
            next,
            reschedule(feed, next, redirect, r.defaults.redirect_after),
        )
    };
    let result = match fetched {
        Ok(FetchOutcome::NotModified {
            status,
            hints,
            redirect,
            validators,
        }) => {
            rec.http_status = (feed.fetch_url.scheme() != "file").then_some(status);
            rec.duration_ms = t0.elapsed().as_millis() as i64;
            let (next, resched) = same_document(hints.fresh_for, redirect.as_ref());
            let id = feed.id;
            let written = r
                .store
                .record_not_modified(id, rec, validators, resched)
                .await;
            slot = None;
            match written {
                Ok(w) => w.committed().await,
                Err(e) => Err(e),
            }
            .map(|()| (Outcome::NotModified, Some(next)))
            .map_err(FeedError::Store)
        }
        Ok(FetchOutcome::Fetched(f)) => {
            rec.http_status = (feed.fetch_url.scheme() != "file").then_some(f.status);
            rec.bytes = Some(f.body.len() as u64);
            let limits = r.limits;
            let canon = r.canon.clone();
            let body_tag = r.body_tag.clone();
            // The body is read by its HTTP charset too: a corrected charset is
            // another body (it was ignored while the bytes stayed the same).
            let hash_tag: Arc<str> = match f.charset.as_deref() {
                Some(cs) => format!("{body_tag} charset={}", cs.trim().to_ascii_lowercase()).into(),
                None => body_tag.clone(),
            };
            let store = r.store.clone();
            let feed_id = feed.id;
            // A feed that has not stored a document since body hashes exist
            // (a new feed) has no items to recognise.
            let may_know = feed.body_hash.is_some();
            let stored_order = feed.dates_day_first;
            let feed_day_first = stored_order.unwrap_or(false);
            // The same body as last time (servers without validators answer 200
            // every time) is not read again, unless its items' last_seen_at is due.
            // Read whole within SEEN_REFRESH: its last_seen_at are right, so what it
            // holds unchanged need not be read again.
            let fresh = may_know
                && feed
                    .body_stored_at
                    .is_some_and(|t| started_at - t < SEEN_REFRESH);
            let last_body = feed.body_hash.clone();
            let stored_body = last_body.clone().filter(|_| fresh);
            // A body that may be the one stored is hashed here when hashing it
            // costs less than handing it to a blocking thread (XXH3: ~10 µs for
            // 100 KB); the same body as before then needs no blocking thread.
            let hashed = (stored_body.is_some() && f.body.len() <= INLINE_HASH_MAX)
                .then(|| crate::identity::body_hash(&f.body, &hash_tag));
            let parsed = if hashed.is_some() && hashed == stored_body {
                // The body goes now, not after the group commit this fetch
                // waits for: at 10,000 feeds, hundreds of them waited at once.
                drop(f.body);
                Ok(Read::Unchanged(f.validators, f.hints, f.redirect))
            } else {
                let parse_slot = parse_slot(f.body.len()).await;
                tokio::task::spawn_blocking(move || {
                    let _slot = parse_slot;
                    let body_hash =
                        hashed.unwrap_or_else(|| crate::identity::body_hash(&f.body, &hash_tag));
                    if stored_body.as_deref() == Some(body_hash.as_str()) {
                        return Ok(Read::Unchanged(f.validators, f.hints, f.redirect));
                    }
                    // The body stored last, read again (its items' last_seen_at
                    // were due, or the parser is newer than the one that read it).
                    let same_body = last_body.as_deref().is_some_and(|last| {
                        last == body_hash || same_body(last, &f.body, &hash_tag)
                    });
                    // The entries of the last document stored, to leave out the
                    // same ones before parsing.
                    let known = fresh
                        .then(|| store.entry_seals(feed_id))
                        .flatten()
                        .and_then(|b| decode_seals(&b));
                    let read_in = |day_first: bool, known: Option<&[Seal]>| {
                        read_document(
                            &f.body,
                            f.charset.as_deref(),
                            &f.final_url,
                            (limits, &body_tag, day_first),
                            &canon,
                            known,
                        )
                    };
                    let mut read =
                        read_in(feed_day_first, known.as_deref()).map_err(|e| {
                            match &f.redirect {
                                Some(r) => FeedError::Redirected {
                                    final_url: r.final_url.to_string(),
                                    source: e,
                                },
                                None => FeedError::Parse(e),
                            }
                        })?;
                    // A feed whose order is not kept yet (a store from before
                    // version 14), and a document that shows none: the dates
                    // the store holds for its items decide. (Upgraded between
                    // a day-first feed's documents, its next one without a
                    // date reading only day first was read month first, and
                    // its stored dates moved by months.)
                    if stored_order.is_none()
                        && read.day_first.is_none()
                        && may_know
                        && read.dates_either_way
                        // (Whole: its entries the last document held are
                        // left out of this reading, their seals being of it.)
                        && let Ok(day) = read_in(true, None)
                    {
                        // (And the month-first reading whole too: the entries
                        // it left out, the day-first one's alone, all counted
                        // for day first, and a US feed's next document flipped
                        // it; found by the re-attack.)
                        let whole = match read.skipped.is_empty() {
                            true => None,
                            false => read_in(false, None).ok(),
                        };
                        let month = whole.as_ref().unwrap_or(&read);
                        match order_by_stored_dates(&store, feed_id, month, &day) {
                            Some(true) => {
                                read = day;
                                read.day_first = Some(true);
                            }
                            Some(false) => read.day_first = Some(false),
                            None => {}
                        }
                    }
                    // Hints belong to the feed, not its entries: read from the
                    // document without them when it could be cut (a few hundred
                    // bytes instead of the whole body).
                    let doc_hints = crate::hints::scan(read.head.as_deref().unwrap_or(&f.body));
                    let mut items = read.items;
                    complete_new(may_know.then_some((&store, feed_id)), &mut items);
                    Ok::<_, FeedError>(Read::Parsed(Box::new((
                        (read.doc, read.seals, read.skipped, read.day_first),
                        items,
                        doc_hints,
                        f.validators,
                        f.hints,
                        f.redirect,
                        body_hash,
                        same_body,
                    ))))
                })
                .await
                .unwrap_or_else(|e| Err(FeedError::Store(StoreError::Worker(e.to_string()))))
            };
            match parsed {
                Ok(Read::Unchanged(validators, hints, redirect)) => {
                    rec.duration_ms = t0.elapsed().as_millis() as i64;
                    let (next, resched) = same_document(hints.fresh_for, redirect.as_ref());
                    let id = feed.id;
                    let written = r.store.record_unchanged(id, rec, validators, resched).await;
                    slot = None;
                    match written {
                        Ok(w) => w.committed().await,
                        Err(e) => Err(e),
                    }
                    .map(|()| {
                        (
                            Outcome::Stored(Applied {
                                unchanged: true,
                                ..Applied::default()
                            }),
                            Some(next),
                        )
                    })
                    .map_err(FeedError::Store)
                }
                Ok(Read::Parsed(parsed)) => {
                    let (
                        (doc, seals, skipped, day_first),
                        items,
                        doc_hints,
                        validators,
                        hints,
                        redirect,
                        body_hash,
                        same_body,
                    ) = *parsed;
                    rec.same_body = same_body;
                    if doc.truncated > 0 {
                        warn!(
                            dropped = doc.truncated,
                            "document has more entries than fetch.max_entries"
                        );
                    }
                    if doc.empty > 0 {
                        warn!(
                            empty = doc.empty,
                            "entries with nothing in them (no id, title, link, text or file) are not stored"
                        );
                    }
                    if let Some(misnamed) = &doc.misnamed {
                        warn!(entries = %misnamed, "entries not read");
                    }
                    if doc.unread > 0 {
                        warn!(
                            unread = doc.unread,
                            "document has more than one <channel>; the items of all but the first are not read"
                        );
                    }
                    let meta = DocumentMeta {
                        title: doc.title,
                        site_url: doc.site_url,
                        ttl_minutes: doc.ttl_minutes.or(doc_hints.ttl_minutes),
                        hints: doc_hints,
                        body_hash: Some(body_hash),
                        seals,
                        skipped,
                        day_first,
                    };
                    let next = schedule::after_success(
                        started_at,
                        every,
                        Hints {
                            fresh_for: hints.fresh_for,
                            ttl_minutes: meta.ttl_minutes,
                            doc: doc_hints,
                        },
                        r.defaults.max_delay.0,
                    );
                    let resched =
                        reschedule(feed, next, redirect.as_ref(), r.defaults.redirect_after);
                    let rules = r.rules;
                    rec.duration_ms = t0.elapsed().as_millis() as i64;
                    // A document the store cannot take is this feed's failure
                    // (recorded below, with backoff), not the daemon's.
                    let written = r
                        .store
                        .apply_document(feed.clone(), rec, validators, meta, items, resched, rules)
                        .await;
                    slot = None;
                    match written {
                        Ok(w) => w.committed().await,
                        Err(e) => Err(e),
                    }
                    .map(|applied| (Outcome::Stored(applied), Some(next)))
                    .map_err(FeedError::Store)
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(FeedError::Fetch(e)),
    };
    drop(slot);
    let duration_ms = t0.elapsed().as_millis() as i64;
    let mut store_error = None;
    let (outcome, next_fetch_at) = match result {
        Ok(done) => done,
        Err(err) => {
            // A write the store could not make (a panic is not the store's).
            if let FeedError::Store(e) = &err
                && !matches!(e, StoreError::Worker(_))
            {
                store_error = Some(chain(e));
            }
            let failures = feed.consecutive_failures + 1;
            let disposition = err.disposition();
            if let Disposition::Held(left) = disposition {
                // Not requested, so not a failure of this feed: its next
                // attempt moves to exactly when its server's hold is over,
                // and its last error says why.
                let next = schedule::after_failure(
                    crate::now_unix_ceil(),
                    every,
                    failures,
                    Disposition::Held(left),
                    r.defaults.max_backoff.0,
                    0.0,
                );
                let reason = chain(&err);
                r.store.record_held(feed.id, next, reason.clone()).await?;
                let outcome = Outcome::Held { reason };
                log_report(feed.url.as_str(), &outcome, 0);
                return Ok(Report {
                    feed_url: feed.url.to_string(),
                    outcome,
                    duration_ms: 0,
                    next_fetch_at: next,
                    store_error: None,
                });
            }
            // From when the failure came (a Retry-After counts from the
            // response), not from the second the fetch started.
            let next = schedule::after_failure(
                crate::now_unix_ceil(),
                every,
                failures,
                disposition,
                r.defaults.max_backoff.0,
                schedule::jitter_of(feed.url.as_str(), u64::from(failures)),
            );
            // (What a server wrote, quoted in it: bounded, its control
            // characters escaped.)
            // (Its secrets hidden before it is cut: a token cut in two at
            // the cut was no longer one, and half of it was kept.)
            let mut whole = chain(&err);
            crate::export::clean::hide_feed_secrets_in_error(
                &mut whole,
                &[feed.url.as_str(), feed.fetch_url.as_str()],
            );
            let mut message = crate::error::quoted_message(&whole, crate::error::MAX_ERROR_BYTES);
            // The address a permanent redirect moved the feed to is gone (a
            // site reorganised again): the configured URL is asked again,
            // not the feed disabled for good (`enable` asked the dead address
            // again).
            // (A 404 only the third time in a row: one during a redeploy
            // threw a good move away, and the old host was gone.)
            let forget_move = feed.fetch_url != feed.url
                && match err.http_status() {
                    Some(410) => true,
                    // (Two 404s in a row, the third failure in a row: a
                    // redeploy's 503s and then one 404 forgot a good move.)
                    // (Not after failures of other kinds: a 502 outage of
                    // the new address, the old domain now parked, left the
                    // feed at a page that is no feed for good. `enable`
                    // forgets a move on the operator's word.)
                    Some(404) => {
                        feed.consecutive_failures >= FORGET_MOVE_AFTER_404S - 1 && feed.last_was_404
                    }
                    _ => false,
                };
            let gone = disposition == Disposition::Gone && !forget_move;
            let then = match (gone, forget_move) {
                (true, _) => AfterFailure::Disable,
                (_, true) => AfterFailure::ForgetMove,
                _ => AfterFailure::Keep,
            };
            if forget_move {
                message.push_str(&format!(
                    " (fetched at {}, where {} moved for good: the move is forgotten, and {} is asked again next time)",
                    feed.fetch_url, feed.url, feed.url
                ));
            }
            // (Asked at once, not after the backoff the failures there
            // earned: it is another address.)
            let next = match forget_move {
                true => Some(crate::now_unix_ceil()),
                false => next,
            };
            crate::export::clean::hide_feed_secrets_in_error(
                &mut message,
                &[feed.url.as_str(), feed.fetch_url.as_str()],
            );
            rec.http_status = err.http_status().or(rec.http_status);
            rec.duration_ms = duration_ms;
            // (The log says the status the store records: a body that is not
            // a feed came with a 200.)
            let status = rec.http_status;
            let id = feed.id;
            let msg = message.clone();
            r.store.record_failure(id, rec, msg, next, then).await?;
            (
                Outcome::Failed {
                    error: message,
                    status,
                    gone,
                },
                next,
            )
        }
    };
    log_report(feed.url.as_str(), &outcome, duration_ms);
    Ok(Report {
        feed_url: feed.url.to_string(),
        outcome,
        duration_ms,
        next_fetch_at,
        store_error,
    })
}

/// A 200 body, read on a blocking thread.
enum Read {
    /// Byte-identical to the last body stored: not parsed.
    Unchanged(Validators, CacheHints, Option<Redirect>),
    Parsed(Box<ParsedBody>),
}

type ParsedBody = (
    (parse::Document, Option<Vec<u8>>, Skipped, Option<bool>),
    Vec<Identified>,
    crate::hints::DocHints,
    Validators,
    CacheHints,
    Option<Redirect>,
    String,
    bool,
);

/// Identifies a document's entries for the store: keys and hashes for all;
/// then the entries the store already holds unchanged are marked known (read
/// beside the writer), and only the others get the costly near-duplicate
/// fingerprint. The one place the near-duplicate design is computed on the way in.
/// `store`: the store and feed whose items to recognise (`None`: a feed known to
/// have none).
pub fn identify_new(
    store: Option<(&Backend, i64)>,
    entries: Vec<parse::Entry>,
    canon: &Canon,
) -> Vec<Identified> {
    let mut items = identify_keys(entries, canon);
    complete_new(store, &mut items);
    items
}

/// The order of numeric dates the store's items show, between two readings
/// of one document (`month` first and `day` first): `Some(true)` when the
/// items the readings tell apart are stored as read day first and none as
/// read month first, `Some(false)` the other way, `None` when the store
/// says neither (or both). Told apart by a date (published or updated) or,
/// for an item keyed by its content (its date part of its key), by the
/// key the store holds it under. Only items an older feedloom stored count
/// ([`Backend::stored_dates`]): dates read under an unknown order are no
/// evidence of it.
fn order_by_stored_dates(
    store: &Backend,
    feed_id: i64,
    month: &ReadDocument,
    day: &ReadDocument,
) -> Option<bool> {
    type Dates = (Option<i64>, Option<i64>);
    let dated = |r: &ReadDocument| -> HashMap<String, Dates> {
        r.items
            .iter()
            .map(|i| {
                let at = |d: Option<chrono::DateTime<chrono::Utc>>| d.map(|d| d.timestamp());
                (i.key.clone(), (at(i.entry.published), at(i.entry.updated)))
            })
            .collect()
    };
    let (m, d) = (dated(month), dated(day));
    // (Keys of one reading only, and keys whose dates differ.)
    let mut asked: Vec<String> = m
        .iter()
        .filter(|(k, t)| d.get(*k) != Some(*t))
        .map(|(k, _)| k.clone())
        .collect();
    asked.extend(d.keys().filter(|k| !m.contains_key(*k)).cloned());
    if asked.is_empty() {
        return None;
    }
    let (mut by_month, mut by_day) = (0, 0);
    for (key, stored) in store.stored_dates(feed_id, &asked) {
        match (m.get(&key), d.get(&key)) {
            (Some(a), Some(b)) => {
                // (Each date the readings differ on, on its own: an entry
                // edited since has an `updated` of neither reading, and its
                // `published` went uncounted; found by the re-attack.)
                for (x, y, s) in [(a.0, b.0, stored.0), (a.1, b.1, stored.1)] {
                    if x != y && s == x {
                        by_month += 1;
                    } else if x != y && s == y {
                        by_day += 1;
                    }
                }
            }
            (Some(_), None) => by_month += 1,
            (None, Some(_)) => by_day += 1,
            (None, None) => {}
        }
    }
    match (by_month, by_day) {
        (0, n) if n > 0 => Some(true),
        (n, 0) if n > 0 => Some(false),
        _ => None,
    }
}

/// [`identify_new`] after the keys: marks the known entries, and gives the
/// others their text hash and fingerprint.
fn complete_new(store: Option<(&Backend, i64)>, items: &mut [Identified]) {
    if let Some((store, feed_id)) = store {
        store.mark_known(feed_id, items);
    }
    for it in items.iter_mut().filter(|it| !it.known) {
        it.add_text_hash();
        it.add_fingerprint();
    }
    crate::identity::mark_shared_texts(items);
}

/// A 200 body read for storing.
#[derive(Debug)]
pub struct ReadDocument {
    /// The document's own fields (its entries are in `items`).
    pub doc: parse::Document,
    /// The entries parsed, with their keys and content hashes.
    pub items: Vec<Identified>,
    /// `feeds.entry_seals` for this document (`None`: the next one is read whole).
    pub seals: Option<Vec<u8>>,
    /// Entries left out before parsing: the store holds them unchanged.
    pub skipped: Skipped,
    /// The document without its entries, when it could be cut into entries.
    pub head: Option<Vec<u8>>,
    /// The order the document shows for its numeric dates (`None`: none; it
    /// was read in the feed's).
    pub day_first: Option<bool>,
    /// Whether it holds a numeric date that reads either way.
    pub dates_either_way: bool,
}

/// Leaves out of `p` the entries that hold nothing at all: no id, title,
/// link, text or file, nor anything feedloom does not read (Media RSS,
/// iTunes, a content `src`): `<item/>`, `{}` in a JSON Feed's items. Each
/// was stored and published as an "(untitled)" story without a word in it.
/// (An entry with an id alone is kept, as one with an image alone: dropped,
/// a photo feed's entries made its feed an error.) How many were left out
/// is `p.doc.empty`; their raw hashes go with them (they are read again next
/// time).
fn without_empty(p: &mut parse::Partial) {
    // (A title of a zero-width space, a text of `<p>&nbsp;</p>` or `<br/>`
    // shows nothing: each was published as an "(untitled)" story of
    // nothing. A picture, a player or a link is something.)
    let blank = |s: &Option<String>| s.as_deref().is_none_or(parse::text::shows_nothing);
    let blank_html = |s: &Option<String>| s.as_deref().is_none_or(parse::text::html_shows_nothing);
    let keep: Vec<bool> = p
        .doc
        .entries
        .iter()
        .map(|e| {
            !(e.guid.is_none()
                && e.link.is_none()
                && e.enclosures.is_empty()
                && !e.carries_unread
                && blank(&e.title)
                && blank_html(&e.summary)
                && blank_html(&e.content))
        })
        .collect();
    let empty = keep.iter().filter(|k| !**k).count();
    p.doc.empty = empty;
    if empty == 0 {
        return;
    }
    let mut kept = keep.iter();
    p.doc.entries.retain(|_| *kept.next().unwrap_or(&true));
    if let Some(raw) = p.raw.as_mut().filter(|r| r.len() == keep.len()) {
        let mut kept = keep.iter();
        raw.retain(|_| *kept.next().unwrap_or(&true));
    } else {
        p.raw = None;
    }
}

/// Parses a body and keys its entries, leaving out before feed-rs the entries
/// `known` (the seals of the last document stored, read whole within half a day)
/// recognises by their raw bytes. They are not left out when a key of the
/// document would then change: when keys depend on other entries (a guid or
/// link shared, a key twice), the document is parsed whole and no seals are
/// kept for it. `tag`: the limits and identity rules in force (part of every
/// raw hash).
/// `e`, or for an HTML page that names a feed, the error that names it
/// (it said only "not a feed", though `add` would have found the feed).
fn with_page_feed(
    e: crate::error::ParseError,
    body: &[u8],
    charset: Option<&str>,
    base: &url::Url,
) -> crate::error::ParseError {
    if !matches!(e, crate::error::ParseError::NotAFeed)
        || !crate::discover::looks_like_html(None, body)
    {
        return e;
    }
    // (Its secrets hidden: the error is stored, and shown by `feeds`. Not
    // the page's own address: a server that answers the feed's URL with the
    // page that names it has no other address to give.)
    match crate::discover::alternates(body, charset, base)
        .found
        .iter()
        .find(|c| c.url != *base)
    {
        Some(c) => {
            let shown = crate::urls::stored_url(c.url.as_str());
            let hidden = match shown != c.url.as_str() {
                true => " (its secrets hidden here: the page's link holds them)",
                false => "",
            };
            crate::error::ParseError::PageOfFeed {
                feed: format!("{}{hidden}", crate::error::quoted(&shown, 1024)),
            }
        }
        None => e,
    }
}

pub fn read_document(
    body: &[u8],
    charset: Option<&str>,
    base: &url::Url,
    (limits, tag, feed_day_first): (Limits, &str, bool),
    canon: &Canon,
    known: Option<&[Seal]>,
) -> Result<ReadDocument, crate::error::ParseError> {
    let known: HashMap<u64, Seal> = known
        .unwrap_or_default()
        .iter()
        .map(|s| (s.raw, *s))
        .collect();
    let order = (tag, feed_day_first);
    let mut p = parse::parse_known(body, charset, base, limits, order, |h| {
        known.contains_key(&h)
    })
    .map_err(|e| with_page_feed(e, body, charset, base))?;
    without_empty(&mut p);
    let mut skipped: Vec<Seal> = p
        .skipped
        .iter()
        .filter_map(|h| known.get(h).copied())
        .collect();
    let (mut items, mut alone) = identify_keys_alone(std::mem::take(&mut p.doc.entries), canon);
    if !skipped.is_empty() && !alone_with(&items, alone, &skipped) {
        p = parse::parse_known(body, charset, base, limits, order, |_| false)?;
        without_empty(&mut p);
        skipped.clear();
        (items, alone) = identify_keys_alone(std::mem::take(&mut p.doc.entries), canon);
    }
    // (A document of nothing but such entries yields nothing: said, not an
    // `ok` fetch of nothing.)
    if items.is_empty() && skipped.is_empty() && p.doc.empty > 0 {
        return Err(crate::error::ParseError::EntriesEmpty {
            count: p.doc.empty,
            unread: p.doc.truncated,
        });
    }
    let seals = p
        .raw
        .as_deref()
        .and_then(|raw| seal(&items, raw, alone))
        .map(|mut all| {
            all.extend_from_slice(&skipped);
            encode_seals(&all)
        });
    Ok(ReadDocument {
        doc: p.doc,
        items,
        seals,
        skipped: Skipped::new(&skipped),
        head: p.head,
        day_first: p.day_first,
        dates_either_way: p.dates_either_way,
    })
}

/// The one log line per fetch. Every field is a plain value (numbers are
/// numbers in JSON logs; `http_status` is absent when there was no response);
/// the span names the feed, so the error names only what the feed URL does not
/// already say.
fn log_report(feed_url: &str, outcome: &Outcome, ms: i64) {
    match outcome {
        Outcome::Stored(a) if a.unchanged => info!(
            status = %"ok",
            new = 0,
            updated = 0,
            unchanged = true,
            ms,
            "fetched"
        ),
        Outcome::Stored(a) => info!(
            status = %"ok",
            new = a.new,
            updated = a.updated,
            ms,
            "fetched"
        ),
        Outcome::NotModified => info!(status = %"not_modified", new = 0, ms, "fetched"),
        Outcome::NotStarted => tracing::debug!("not fetched: the daemon is stopping"),
        Outcome::Held { reason } => info!(
            status = %"held",
            reason = %crate::urls::shown_urls_in(without_url(reason, feed_url)),
            "not fetched"
        ),
        Outcome::Failed {
            error,
            status,
            gone,
        } => {
            warn!(
                status = %"error",
                http_status = *status,
                gone,
                ms,
                error = %crate::urls::shown_urls_in(without_url(error, feed_url)),
                "fetch failed"
            )
        }
    }
}

/// A feed's error without its leading feed URL (`<url>: cause`, `<url> answered
/// HTTP 404`); an error about another URL (a redirect's target) keeps it.
fn without_url<'a>(error: &'a str, url: &str) -> &'a str {
    match error.strip_prefix(url) {
        Some(rest) => rest
            .strip_prefix(": ")
            .or_else(|| rest.strip_prefix(' '))
            .unwrap_or(error),
        None => error,
    }
}

/// Permanent-redirect bookkeeping: the stored fetch URL follows a permanent
/// redirect only after `threshold` consecutive fetches saw the same target.
fn reschedule(
    feed: &FeedRef,
    next: i64,
    redirect: Option<&Redirect>,
    threshold: u32,
) -> Reschedule {
    let mut out = Reschedule {
        next_fetch_at: Some(next),
        ..Reschedule::default()
    };
    if let Some(r) = redirect.filter(|r| r.permanent) {
        let target = r.final_url.to_string();
        let count = if feed.redirect_url.as_deref() == Some(target.as_str()) {
            feed.redirect_count + 1
        } else {
            1
        };
        if count >= threshold.max(1) {
            info!(to = %crate::urls::shown_feed_url(&target), count, "following permanent redirect");
            out.new_url = Some(target);
        } else {
            out.redirect = Some((target, count));
        }
    }
    out.redirect_unchanged =
        out.redirect.is_none() && feed.redirect_url.is_none() && feed.redirect_count == 0;
    out
}

/// Totals of one poll, for its summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub ok: usize,
    pub not_modified: usize,
    pub failed: usize,
    /// Configured feeds not fetched because they are disabled (after 410 Gone).
    pub disabled: usize,
    pub new: usize,
    pub updated: usize,
    /// Feeds whose result the store could not write (counted in `failed`).
    pub store_errors: usize,
    /// Output files that could not be written.
    pub output_errors: usize,
    /// Feeds left out because they are backing off after failures (`poll`
    /// without `--all`).
    pub backing_off: usize,
    /// Feeds left to the PostgreSQL nodes that were fetching them.
    pub held_elsewhere: usize,
    /// Feeds not requested: their server's Retry-After (given to another
    /// of its feeds) was not over.
    pub held: usize,
}

/// How far a poll has got, for a progress display: reported once before the
/// first fetch and after each feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Feeds finished, of `total` (the enabled ones).
    pub done: usize,
    pub total: usize,
    pub new: usize,
    pub failed: usize,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Stored(a) => {
                self.ok += 1;
                self.new += a.new;
                self.updated += a.updated;
            }
            Outcome::NotModified => self.not_modified += 1,
            Outcome::Failed { .. } => self.failed += 1,
            Outcome::Held { .. } => self.held += 1,
            Outcome::NotStarted => {}
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "feeds: {} ok, {} not modified, {} failed, {} disabled",
            self.ok, self.not_modified, self.failed, self.disabled
        )?;
        if self.backing_off > 0 {
            write!(f, ", {} backing off", self.backing_off)?;
        }
        if self.held > 0 {
            write!(
                f,
                ", {} not requested (their server asked for time)",
                self.held
            )?;
        }
        if self.held_elsewhere > 0 {
            write!(
                f,
                ", {} left to the nodes fetching them",
                self.held_elsewhere
            )?;
        }
        write!(f, "; items: {} new, {} updated", self.new, self.updated)
    }
}

/// Refreshes every configured, enabled feed once, then writes the outputs.
/// A feed counts as ok only once its result is committed; feeds the store could
/// not write count as failed and in [`Summary::store_errors`].
pub async fn poll(
    cfg: &Config,
    store: impl Into<Backend>,
) -> Result<(Summary, Vec<Report>), StoreError> {
    poll_with_progress(cfg, store.into(), None, false).await
}

/// [`poll`], calling `progress` before the first fetch and after each feed.
/// With `polite`, feeds backing off after failures (the error backoff, or the
/// server's Retry-After, not over yet) are left out and counted in
/// [`Summary::backing_off`]: `feedloom poll` on a timer must not hit a server
/// that asked for time.
pub async fn poll_with_progress(
    cfg: &Config,
    store: impl Into<Backend>,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    polite: bool,
) -> Result<(Summary, Vec<Report>), StoreError> {
    let store = store.into();
    let fetcher = Fetcher::new(&cfg.fetch)
        .map_err(|e| StoreError::Worker(format!("HTTP client: {e}")))?
        .with_max_hold(cfg.defaults.max_backoff.0);
    poll_inner(cfg, store, fetcher, progress, polite).await
}

/// [`poll`] with a given fetcher (tests pass one with their own resolver).
pub async fn poll_with(
    cfg: &Config,
    store: impl Into<Backend>,
    fetcher: Fetcher,
) -> Result<(Summary, Vec<Report>), StoreError> {
    poll_inner(cfg, store.into(), fetcher, None, false).await
}

async fn poll_inner(
    cfg: &Config,
    store: Backend,
    fetcher: Fetcher,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    polite: bool,
) -> Result<(Summary, Vec<Report>), StoreError> {
    let mut refs = store.sync_config(&cfg.feeds).await?;
    let now = crate::now_unix();
    let (mut backing_off, mut held) = (0, 0);
    if polite {
        // (sync_config gives the feeds in the config's order.)
        for (f, c) in refs.iter_mut().zip(&cfg.feeds) {
            // (A time set by a clock that was ahead is no backoff.)
            let every = crate::schedule::Every::of(c, &cfg.defaults);
            // (Nor a backoff longer than the config allows now: its
            // interval, or `max_backoff`, was cut since.)
            let max = cfg.defaults.max_backoff.0;
            let waits = f.next_fetch_at.is_some_and(|t| {
                t > now
                    && !crate::schedule::set_by_a_clock_ahead(t, now, &every, &cfg.defaults)
                    && (f.consecutive_failures == 0 && !f.held
                        || !crate::schedule::beyond_backoff(t, now, &every, max))
            });
            if f.enabled && f.consecutive_failures > 0 && waits {
                f.id = -1;
                backing_off += 1;
            } else if f.enabled && f.held && waits {
                // Held by its server's Retry-After (the daemon or the last
                // poll that got it held this feed until then): not requested.
                f.id = -1;
                held += 1;
            }
        }
        if backing_off > 0 {
            info!(
                feeds = backing_off,
                "feeds backing off after failures are left out until their next attempt (`poll --all` fetches them)"
            );
        }
    }
    let mut held_elsewhere = 0;
    if let Backend::Postgres(pg) = &store {
        // Like a node: fetch only what no running node holds (their claims).
        let ids: Vec<i64> = refs
            .iter()
            .filter(|f| f.enabled && f.id >= 0)
            .map(|f| f.id)
            .collect();
        let gap_ms = cfg.fetch.host_gap.0.as_millis().min(i64::MAX as u128) as i64;
        let mine = pg.claim_ids(&ids, gap_ms).await?;
        let held = ids.len() - mine.len();
        held_elsewhere = held;
        if held > 0 {
            info!(feeds = held, "left to the nodes that hold them");
        }
        for f in &mut refs {
            if f.enabled && f.id >= 0 && !mine.contains(&f.id) {
                f.id = -1;
            }
        }
    }
    // PostgreSQL: the claims of the feeds not fetched yet are extended every
    // third of a lease until they are (a `poll` longer than the lease had
    // its last feeds fetched by the nodes meanwhile, then again by itself).
    // Dropped, so stopped, however this function ends.
    let pending: Arc<Mutex<HashSet<i64>>> = Arc::new(Mutex::new(
        refs.iter()
            .filter(|f| f.enabled && f.id >= 0)
            .map(|f| f.id)
            .collect(),
    ));
    let mut keeper = tokio::task::JoinSet::new();
    if store.is_postgres() {
        let pending = pending.clone();
        keeper.spawn(crate::app::renew_claims(
            store.clone(),
            crate::app::renew_every(cfg),
            move || {
                let ids = pending.lock().unwrap_or_else(|e| e.into_inner());
                ids.iter().copied().collect()
            },
        ));
    }
    let refresher = Refresher::with_fetcher(cfg, store.clone(), fetcher);
    if polite {
        // (`poll --all` asks every feed, as it fetches those backing off.)
        refresher.keep_stored_holds().await?;
    }
    let disabled = refs.iter().filter(|f| !f.enabled).count();
    let to_fetch = |f: &FeedRef| f.enabled && f.id >= 0;
    let total = refs.iter().filter(|f| to_fetch(f)).count();
    // Taken from `refs` as tasks start (a list of them all beside `refs` was
    // 6 MiB of peak memory at 10,000 feeds).
    let mut jobs = refs
        .into_iter()
        .zip(&cfg.feeds)
        .filter(|(f, _)| to_fetch(f))
        .map(|(f, c): (FeedRef, &FeedConfig)| (f, Every::of(c, &cfg.defaults)));
    let mut done = Progress {
        total,
        ..Progress::default()
    };
    let report_progress = |summary: &Summary, done: &mut Progress| {
        done.new = summary.new;
        done.failed = summary.failed;
        if let Some(p) = progress {
            p(done);
        }
    };
    // Each feed is its own task, so fetches and parses spread over every worker.
    // At most `window` tasks exist at once (each waits for its fetch slot): with
    // 10,000 feeds, 10,000 waiting tasks held ~40 MiB.
    let window = cfg.fetch.concurrency.saturating_mul(8).max(256);
    let mut tasks = tokio::task::JoinSet::new();
    let mut urls = std::collections::HashMap::new();
    let mut ids = std::collections::HashMap::new();
    let mut summary = Summary {
        disabled,
        backing_off,
        held_elsewhere,
        held,
        ..Summary::default()
    };
    let mut reports = Vec::with_capacity(total);
    report_progress(&summary, &mut done);
    loop {
        while tasks.len() < window {
            let Some((feed, every)) = jobs.next() else {
                break;
            };
            let r = refresher.clone();
            let url = feed.url.to_string();
            let feed_id = feed.id;
            let handle = tasks.spawn(async move { refresh_feed(&r, &feed, &every).await });
            urls.insert(handle.id(), url);
            ids.insert(handle.id(), feed_id);
        }
        let Some(res) = tasks.join_next_with_id().await else {
            break;
        };
        done.done += 1;
        let task = match &res {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        if let Some(feed_id) = ids.remove(&task) {
            pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&feed_id);
        }
        match res {
            Ok((id, Ok(report))) => {
                urls.remove(&id);
                summary.add(&report.outcome);
                summary.store_errors += usize::from(report.store_error.is_some());
                reports.push(report);
            }
            // The store could not even record the feed's failure, or the task
            // panicked: count the feed as failed and go on with the others.
            Ok((id, Err(e))) => {
                let feed = urls.remove(&id).unwrap_or_default();
                let message = chain(&e);
                error!(
                    feed = %crate::urls::shown_feed_url(&feed),
                    error = %crate::urls::shown_urls_in(&message),
                    "feed not stored, nor its failure"
                );
                summary.failed += 1;
                summary.store_errors += 1;
                reports.push(Report {
                    feed_url: feed,
                    outcome: Outcome::Failed {
                        error: message.clone(),
                        status: None,
                        gone: false,
                    },
                    duration_ms: 0,
                    next_fetch_at: None,
                    store_error: Some(message),
                });
            }
            Err(e) => {
                summary.failed += 1;
                let feed = urls
                    .get(&e.id())
                    .map_or_else(|| "?".into(), |u| crate::urls::shown_feed_url(u));
                error!(feed = %feed, error = %e, "refresh failed");
            }
        }
        report_progress(&summary, &mut done);
    }
    // (Each file that could not be written is logged with its cause.)
    summary.output_errors = write_outputs(cfg, &store).await?.len();
    Ok((summary, reports))
}

/// Renders every output that has a `path` and writes the files whose content
/// changed; returns a line for each file that could not be written.
pub async fn write_outputs(cfg: &Config, store: &Backend) -> Result<Vec<String>, StoreError> {
    let outputs = cfg.outputs.clone();
    let rendered = store
        .read_try(move |s| {
            let mut cache = export::HtmlCache::default();
            export::render_all(s, &outputs, crate::now_unix(), &mut cache, true)
        })
        .await?;
    tokio::task::spawn_blocking(move || export::write_files(&rendered))
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))
}

#[cfg(test)]
mod body_tag_tests {
    use super::*;

    /// The same body stored by an older feedloom is known for the same body,
    /// whether its hash names its version or was written before hashes did;
    /// another body, or a hash of this version or a newer one, is not.
    #[test]
    fn a_body_stored_by_an_older_reading_is_the_same_body() {
        let rest = " entries=1000 field=262144 strip=utm_*";
        let tag = format!("{BODY_TAG}{rest}");
        let body = b"<rss>same</rss>".as_slice();
        let old = |v: &str| crate::identity::body_hash(body, &format!("{v}{rest}"));
        let legacy = |v: &str| crate::identity::unversioned_body_hash(body, &format!("{v}{rest}"));
        assert!(same_body(&old("v8"), body, &tag));
        assert!(same_body(&old("v3"), body, &tag));
        assert!(same_body(&legacy("v5"), body, &tag));
        assert!(same_body(&legacy("v1"), body, &tag));
        assert!(!same_body(&old("v8"), b"<rss>other</rss>", &tag));
        assert!(!same_body(&legacy("v5"), b"<rss>other</rss>", &tag));
        assert!(same_body(&old("v9"), body, &tag));
        assert!(same_body(&old("v10"), body, &tag));
        assert!(same_body(&old("v11"), body, &tag));
        assert!(same_body(&old("v12"), body, &tag));
        assert!(same_body(&old("v13"), body, &tag));
        assert!(same_body(&old("v14"), body, &tag));
        assert!(same_body(&old("v15"), body, &tag));
        assert!(same_body(&old("v16"), body, &tag));
        assert!(!same_body(&old("v17"), body, &tag));
        assert!(!same_body(&old("v18"), body, &tag));
        assert!(!same_body(&legacy(BODY_TAG), body, &tag));
        assert!(!same_body("garbage:1234", body, &tag));
    }
}
