//! The store interface: one handle, [`Backend`], with two implementations —
//! SQLite (the default: one file, one writer, [`super::SharedStore`]) and
//! PostgreSQL (any number of nodes, [`super::postgres::PgStore`]).
//!
//! Writes are async methods on [`Backend`]; reads that render outputs, pages and
//! tables go through the synchronous [`Reader`] trait on a blocking thread
//! ([`Backend::read`]), so that `export`, `web` and `commands` run the same code
//! on either backend. Neither side knows which backend runs: they see plain
//! values ([`super::model`], [`super::queries`], [`super::search`]).

use std::collections::HashSet;
use std::path::PathBuf;

use super::feeds::{FeedRef, FetchRecord, Reschedule};
use super::items::{Applied, DocumentMeta, StoryRules};
use super::model::{AsFeedSpec, FeedSpec, Validators};
use super::postgres::PgStore;
use super::prune::{Pruned, Retention, Step};
use super::queries::{FeedHealth, FeedProblem, FeedSummary, MetricsSnapshot, Story, StoryQuery};
use super::search::{Hit, SearchError, SearchQuery};
use super::{SharedStore, Store, Uncommitted};

/// An item's stored `published_at` and `updated_at` ([`Backend::stored_dates`]).
pub type StoredDates = (Option<i64>, Option<i64>);
use crate::error::StoreError;
use crate::identity::Identified;

/// The reads that outputs, pages, `/metrics` and the read-only commands make.
pub trait Reader {
    /// Stories newest first (see [`Store::stories`]).
    fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError>;
    /// Stories matching a query, best first, one per story.
    fn search(
        &self,
        q: &SearchQuery,
        keep: &dyn Fn(&Story) -> Option<Story>,
    ) -> Result<Vec<Hit>, SearchError>;
    fn feed_summaries(&self) -> Result<Vec<FeedSummary>, StoreError>;
    /// See [`Store::synced_feeds`].
    fn synced_feeds(&self) -> Result<Vec<(String, Vec<String>)>, StoreError>;
    /// See [`Store::moved_feeds`].
    fn moved_feeds(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// See [`Store::latest_arrivals`].
    fn latest_arrivals(
        &self,
        stories: &[i64],
    ) -> Result<std::collections::HashMap<i64, i64>, StoreError>;
    fn feed_health(&self) -> Result<FeedHealth, StoreError>;
    fn feeds_in_trouble(&self, worst: usize) -> Result<Vec<FeedProblem>, StoreError>;
    fn metrics_snapshot(&self, now: i64) -> Result<MetricsSnapshot, StoreError>;
    fn prune_preview(&self, now: i64, r: &Retention) -> Result<Pruned, StoreError>;
    /// See [`Store::search_merge_owed`] (PostgreSQL owes none).
    fn search_merge_owed(&self) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// See [`Store::space_owed`] (PostgreSQL owes none).
    fn space_owed(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
}

impl Reader for Store {
    fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        Store::stories(self, q)
    }
    fn search(
        &self,
        q: &SearchQuery,
        keep: &dyn Fn(&Story) -> Option<Story>,
    ) -> Result<Vec<Hit>, SearchError> {
        Store::search(self, q, keep)
    }
    fn feed_summaries(&self) -> Result<Vec<FeedSummary>, StoreError> {
        Store::feed_summaries(self)
    }
    fn synced_feeds(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        Store::synced_feeds(self)
    }
    fn moved_feeds(&self) -> Result<Vec<(String, String)>, StoreError> {
        Store::moved_feeds(self)
    }
    fn latest_arrivals(
        &self,
        stories: &[i64],
    ) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        Store::latest_arrivals(self, stories)
    }
    fn feed_health(&self) -> Result<FeedHealth, StoreError> {
        Store::feed_health(self)
    }
    fn feeds_in_trouble(&self, worst: usize) -> Result<Vec<FeedProblem>, StoreError> {
        Store::feeds_in_trouble(self, worst)
    }
    fn metrics_snapshot(&self, now: i64) -> Result<MetricsSnapshot, StoreError> {
        Store::metrics_snapshot(self, now)
    }
    fn prune_preview(&self, now: i64, r: &Retention) -> Result<Pruned, StoreError> {
        Store::prune_preview(self, now, r)
    }
    fn search_merge_owed(&self) -> Result<bool, StoreError> {
        Store::search_merge_owed(self)
    }
    fn space_owed(&self) -> Result<Option<i64>, StoreError> {
        Store::space_owed(self)
    }
}

/// Where a store lives, from `[store]`.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres {
        url: String,
        password_file: Option<PathBuf>,
        /// How long claimed feeds stay claimed ([`Backend::due_feeds`]).
        lease_secs: i64,
    },
}

impl Location {
    pub fn of(cfg: &crate::config::StoreConfig) -> Location {
        match &cfg.url {
            Some(url) => Location::Postgres {
                url: url.clone(),
                password_file: cfg.password_file.clone(),
                lease_secs: cfg.lease.0.as_secs().max(1) as i64,
            },
            None => Location::Sqlite(cfg.path.clone()),
        }
    }

    /// How errors and messages name the store (never with a password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres { url, .. } => super::postgres::redact(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres { .. })
    }
}

/// A store of either kind; cheap to clone.
#[derive(Clone)]
pub enum Backend {
    Sqlite(SharedStore),
    Postgres(PgStore),
}

impl From<SharedStore> for Backend {
    fn from(s: SharedStore) -> Backend {
        Backend::Sqlite(s)
    }
}

/// How long a failed write (see [`Backend::store_error`]) keeps `/healthz`
/// saying "error", in seconds: longer than the daemon's slowest retries of a
/// feed that failed, shorter than anyone would wait to hear of a full disk.
pub const WRITE_FAILED_FOR: i64 = 300;

impl Backend {
    /// Opens the store for writing, creating and migrating it as needed.
    /// `node` names this process in PostgreSQL claims (`feeds.claimed_by`).
    pub async fn open(loc: &Location, node: &str) -> Result<Backend, StoreError> {
        match loc {
            Location::Sqlite(path) => {
                let path = path.clone();
                let store = tokio::task::spawn_blocking(move || Store::open(&path))
                    .await
                    .map_err(|e| StoreError::Worker(e.to_string()))??;
                Ok(Backend::Sqlite(SharedStore::new(store)))
            }
            Location::Postgres { .. } => {
                Ok(Backend::Postgres(PgStore::open(loc, node, false).await?))
            }
        }
    }

    /// Opens an existing store for reading only: nothing is created or changed
    /// (PostgreSQL: every transaction is read-only).
    pub async fn open_read_only(loc: &Location) -> Result<Backend, StoreError> {
        match loc {
            Location::Sqlite(path) => {
                let path = path.clone();
                let store = tokio::task::spawn_blocking(move || Store::open_read_only(&path))
                    .await
                    .map_err(|e| StoreError::Worker(e.to_string()))??;
                Ok(Backend::Sqlite(SharedStore::new(store)))
            }
            Location::Postgres { .. } => {
                Ok(Backend::Postgres(PgStore::open(loc, "reader", true).await?))
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    /// The SQLite store, if that is the backend.
    pub fn sqlite(&self) -> Option<&SharedStore> {
        match self {
            Backend::Sqlite(s) => Some(s),
            Backend::Postgres(_) => None,
        }
    }

    /// Runs `f` with a [`Reader`] on a blocking thread.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&dyn Reader) -> R + Send + 'static,
        R: Send + 'static,
    {
        match self {
            // A read-only snapshot of its own: never waits for the writer.
            Backend::Sqlite(s) => s.read(move |st| Ok(f(st as &dyn Reader))).await,
            Backend::Postgres(p) => {
                let reader = p.blocking_reader();
                tokio::task::spawn_blocking(move || f(&reader as &dyn Reader))
                    .await
                    .map_err(|e| StoreError::Worker(e.to_string()))
            }
        }
    }

    /// [`Backend::read`] for a closure that may fail.
    pub async fn read_try<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&dyn Reader) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.read(f).await?
    }

    /// The feeds' health for `/healthz`, through a read-only store of its own
    /// on SQLite ([`SharedStore::read_health`]: never behind searches and
    /// pages); PostgreSQL reads from its pool.
    pub async fn feed_health(&self) -> Result<FeedHealth, StoreError> {
        match self {
            Backend::Sqlite(s) => s.read_health(|st| st.feed_health()).await,
            Backend::Postgres(_) => self.read_try(|r| r.feed_health()).await,
        }
    }

    /// Makes the feed rows match the config (see [`Store::sync_config`]).
    pub async fn sync_config<F: AsFeedSpec>(
        &self,
        feeds: &[F],
    ) -> Result<Vec<FeedRef>, StoreError> {
        let specs: Vec<FeedSpec> = feeds.iter().map(AsFeedSpec::feed_spec).collect();
        let refs = match self {
            Backend::Sqlite(s) => s.call(move |st| st.sync_config(&specs)).await,
            Backend::Postgres(p) => p.sync_config(&specs).await,
        }?;
        warn_fetched_twice(&refs);
        Ok(refs)
    }

    /// Sets first fetch times of due feeds (see [`Store::spread_due`]).
    pub async fn spread_due(&self, now: i64, first: Vec<(i64, i64)>) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.call(move |st| st.spread_due(now, &first)).await,
            Backend::Postgres(p) => p.spread_due(now, &first).await,
        }
    }

    /// Moves feeds' next fetch to an earlier time (`(feed id, time)`); a
    /// feed due sooner keeps its time.
    pub async fn fetch_earlier(&self, at: Vec<(i64, i64)>) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(s) => s.call(move |st| st.fetch_earlier(&at)).await,
            Backend::Postgres(p) => p.fetch_earlier(&at).await,
        }
    }

    /// Feeds due now that this process may fetch. SQLite: every due feed not in
    /// `busy`. PostgreSQL: the due feeds this node claimed (a lease, the
    /// per-host limit and gap shared by all nodes; see docs/scaling.md).
    /// Due feeds (on PostgreSQL: claimed, only those `mine`, the feeds this
    /// node's config names; with `put_back`, see
    /// [`crate::store::postgres::PgStore::claim_due`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn due_feeds(
        &self,
        now: i64,
        busy: HashSet<i64>,
        mine: &(dyn Fn(i64) -> bool + Sync),
        put_back: impl FnOnce() -> Option<Vec<i64>>,
        per_host: usize,
        host_gap_ms: i64,
        room: usize,
    ) -> Result<Vec<FeedRef>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.call(move |st| st.due_feeds(now, &busy)).await,
            // At most `room` (what this node can start now): a node claimed
            // every due feed, the others stood idle, and the leases of the
            // feeds it queued ran out before it fetched them, so other nodes
            // fetched them too.
            // (A claim is a write: one refused, by a read-only database say,
            // is the store's error on /healthz, which said ok while no feed
            // was fetched.)
            Backend::Postgres(p) => {
                let r = p
                    .claim_due(now, &busy, mine, put_back(), per_host, host_gap_ms, room)
                    .await;
                p.note_commit(&r);
                r
            }
        }
    }

    /// The wall clock stepped back `by` seconds while the daemon ran: on
    /// SQLite the schedule moves back as much ([`Store::clock_stepped_back`]);
    /// on PostgreSQL nothing moves (the schedule is shared, and kept by the
    /// server's clock): the node measures its clock against the server's
    /// again. Returns how many next fetches moved.
    pub async fn clock_stepped_back(&self, now: i64, by: i64) -> Result<usize, StoreError> {
        match self {
            Backend::Sqlite(s) => s.call(move |st| st.clock_stepped_back(now, by)).await,
            Backend::Postgres(p) => p.sync_clock().await.map(|()| 0),
        }
    }

    /// Gives up this node's claims on feeds whose results the store did not
    /// take (PostgreSQL; nothing to do on SQLite).
    pub async fn release_all(&self, ids: &[i64]) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(p) => p.release_all(ids).await,
        }
    }

    /// Gives up every claim this process holds (PostgreSQL; nothing on
    /// SQLite): a `poll` stopped by a signal.
    pub async fn release_own_claims(&self) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(p) => p.release_own_claims().await,
        }
    }

    /// Extends this node's claims on feeds still being fetched by a lease
    /// from now (PostgreSQL; nothing to do on SQLite).
    pub async fn renew_claims(&self, ids: &[i64]) -> Result<u64, StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(p) => p.renew_claims(ids).await,
        }
    }

    /// Clears the claims of nodes `dead` says have ended (PostgreSQL; none
    /// on SQLite); returns how many feeds they held.
    pub async fn release_dead_claims(
        &self,
        dead: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<u64, StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(p) => p.release_dead_claims(dead).await,
        }
    }

    /// Gives up this node's claim on a feed it did not fetch after all.
    pub async fn release(&self, feed_id: i64) -> Result<(), StoreError> {
        match self {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(p) => p.release(feed_id).await,
        }
    }

    /// A 304: logged, the feed marked fresh. Durable once `committed` says so.
    pub async fn record_not_modified(
        &self,
        feed_id: i64,
        rec: FetchRecord,
        validators: Validators,
        resched: Reschedule,
    ) -> Result<Uncommitted<()>, StoreError> {
        match self {
            Backend::Sqlite(s) => {
                s.write_batched(move |st| {
                    st.record_not_modified(feed_id, &rec, &validators, &resched)
                })
                .await
            }
            Backend::Postgres(p) => p
                .record_not_modified(feed_id, &rec, &validators, &resched)
                .await
                .map(Uncommitted::done),
        }
    }

    /// A 200 byte-identical to the last body stored: logged, the feed marked
    /// fresh. Durable once `committed` says so.
    pub async fn record_unchanged(
        &self,
        feed_id: i64,
        rec: FetchRecord,
        validators: Validators,
        resched: Reschedule,
    ) -> Result<Uncommitted<()>, StoreError> {
        match self {
            Backend::Sqlite(s) => {
                s.write_batched(move |st| st.record_unchanged(feed_id, &rec, &validators, &resched))
                    .await
            }
            Backend::Postgres(p) => p
                .record_unchanged(feed_id, &rec, &validators, &resched)
                .await
                .map(Uncommitted::done),
        }
    }

    /// Marks the entries the store already holds unchanged (see
    /// [`SharedStore::mark_known`]). Call it from a blocking thread (it waits
    /// for the store), never from async code.
    pub fn mark_known(&self, feed_id: i64, items: &mut [Identified]) {
        match self {
            Backend::Sqlite(s) => s.mark_known(feed_id, items),
            Backend::Postgres(p) => p.mark_known_blocking(feed_id, items),
        }
    }

    /// The `published_at` and `updated_at` stored for the items of
    /// `feed_id` under `keys`, those the store holds and an older feedloom
    /// stored (before version 14: `store_tasks` row `date_order`; committed,
    /// a SQLite store never waits for its writer); empty when they cannot
    /// be read.
    /// For judging the order of a document's numeric dates by what the store
    /// holds (`refresh`).
    pub fn stored_dates(&self, feed_id: i64, keys: &[String]) -> Vec<(String, StoredDates)> {
        match self {
            Backend::Sqlite(s) => s.stored_dates(feed_id, keys),
            Backend::Postgres(p) => p.stored_dates_blocking(feed_id, keys),
        }
    }

    /// `feeds.entry_seals` of a feed: the raw hashes of the entries of its last
    /// document stored, to leave the same entries out before parsing the next
    /// one. PostgreSQL keeps none (`None`: every changed document is parsed
    /// whole, which is always correct, only slower).
    pub fn entry_seals(&self, feed_id: i64) -> Option<Vec<u8>> {
        match self {
            Backend::Sqlite(s) => s.entry_seals(feed_id),
            Backend::Postgres(_) => None,
        }
    }

    /// A 200's items, validators and fetch record in one transaction.
    /// Durable once `committed` says so.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_document(
        &self,
        feed: FeedRef,
        rec: FetchRecord,
        validators: Validators,
        meta: DocumentMeta,
        items: Vec<Identified>,
        resched: Reschedule,
        rules: StoryRules,
    ) -> Result<Uncommitted<Applied>, StoreError> {
        match self {
            Backend::Sqlite(s) => {
                s.write_batched(move |st| {
                    st.apply_document(&feed, &rec, &validators, &meta, &items, &resched, &rules)
                })
                .await
            }
            Backend::Postgres(p) => p
                .apply_document(&feed, &rec, &validators, &meta, &items, &resched, &rules)
                .await
                .map(Uncommitted::done),
        }
    }

    /// A failed fetch, stored on the feed; returns once durable.
    pub async fn record_failure(
        &self,
        feed_id: i64,
        rec: FetchRecord,
        error: String,
        next_fetch_at: Option<i64>,
        then: super::feeds::AfterFailure,
    ) -> Result<(), StoreError> {
        let error = without_nul(error);
        match self {
            Backend::Sqlite(s) => {
                s.call_batched(move |st| {
                    st.record_failure(feed_id, &rec, &error, next_fetch_at, then)
                })
                .await
            }
            Backend::Postgres(p) => {
                p.record_failure(feed_id, &rec, &error, next_fetch_at, then)
                    .await
            }
        }
    }

    /// A feed not requested while its server's Retry-After is not over:
    /// only its next attempt is stored (not a fetch, not a failure).
    pub async fn record_held(
        &self,
        feed_id: i64,
        next_fetch_at: Option<i64>,
        reason: String,
    ) -> Result<(), StoreError> {
        let reason = without_nul(reason);
        match self {
            Backend::Sqlite(s) => {
                s.call_batched(move |st| st.record_held(feed_id, next_fetch_at, &reason))
                    .await
            }
            Backend::Postgres(p) => p.record_held(feed_id, next_fetch_at, &reason).await,
        }
    }

    /// Re-enables a feed disabled after 410 Gone, or forgets its move (see
    /// [`Store::enable_feed`]).
    pub async fn enable_feed(
        &self,
        url: String,
    ) -> Result<Option<super::feeds::Enabled>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.call(move |st| st.enable_feed(&url)).await,
            Backend::Postgres(p) => p.enable_feed(&url).await,
        }
    }

    /// One bounded step of retention (see [`Store::prune_step`]).
    pub async fn prune_step(&self, now: i64, r: Retention) -> Result<Step, StoreError> {
        match self {
            Backend::Sqlite(s) => s.call(move |st| st.prune_step(now, &r)).await,
            Backend::Postgres(p) => p.prune_step(now, &r).await,
        }
    }

    /// The error of the last commit, while the last commit failed.
    pub fn commit_error(&self) -> Option<String> {
        match self {
            Backend::Sqlite(s) => s.commit_error(),
            Backend::Postgres(p) => p.commit_error(),
        }
    }

    /// What `/healthz` calls the store's error: the last commit's, while it
    /// fails; else a fetch's write that failed for the store's own trouble (a
    /// full disk) within the last [`WRITE_FAILED_FOR`] seconds, though other
    /// writes commit, unless a document's items have been stored since.
    pub fn store_error(&self, now: i64) -> Option<String> {
        if let Some(e) = self.commit_error() {
            return Some(e);
        }
        if let Some(gone) = self.sqlite()?.file_gone() {
            return Some(gone);
        }
        let (at, why) = self.sqlite()?.write_failed()?;
        let ago = now.saturating_sub(at);
        (ago <= WRITE_FAILED_FOR).then(|| format!("a write failed {ago}s ago: {why}"))
    }

    /// Resolves when another node changed the store (PostgreSQL `LISTEN`);
    /// never on SQLite, whose only writer is this process.
    pub async fn changed_elsewhere(&self) {
        match self {
            Backend::Sqlite(_) => std::future::pending().await,
            Backend::Postgres(p) => p.changed_elsewhere().await,
        }
    }
}

/// Warns of each configured feed that permanent redirects moved to an
/// address the config names too (an OPML import of the old and the new
/// address): both rows fetch it on every round, and each story of it has
/// two sources. (Said on every start, reload and poll until the old one
/// leaves the config.)
fn warn_fetched_twice(refs: &[FeedRef]) {
    let named: std::collections::HashMap<&str, &FeedRef> =
        refs.iter().map(|f| (f.url.as_str(), f)).collect();
    for f in refs.iter().filter(|f| f.enabled && f.fetch_url != f.url) {
        if let Some(other) = named.get(f.fetch_url.as_str()).filter(|o| o.id != f.id) {
            tracing::warn!(
                feed = %crate::urls::shown_feed_url(f.url.as_str()),
                moved_to = %crate::urls::shown_feed_url(other.url.as_str()),
                "this feed moved to an address the config names too: both fetch it and \
                 every story of it has two sources; remove the old address from the config"
            );
        }
    }
}

/// A message as both stores can keep it: PostgreSQL's text holds no NUL (a
/// feed whose error quoted one, from its own bytes, was recorded as the
/// store failing, and every `poll` exited 1). Shown as `\0`.
fn without_nul(s: String) -> String {
    match s.contains('\0') {
        true => s.replace('\0', "\\0"),
        false => s,
    }
}
