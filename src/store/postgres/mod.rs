//! The PostgreSQL store: the same tables as the SQLite file (migrations in
//! `migrations/postgres/`, one version list with SQLite's), shared by any
//! number of `feedloom run` nodes.
//!
//! * `mod.rs`: connecting (password from a file, `PGPASSWORD` or `.pgpass`),
//!   migrating under an advisory lock, `LISTEN/NOTIFY` between nodes.
//! * [`pool`]: a small pool of clients with prepared-statement caches.
//! * [`feeds`]: config sync, claiming due feeds (lease, per-host limit and gap
//!   across nodes), 304s and failures.
//! * [`items`]: storing one fetched document in ONE transaction, with story
//!   matching made safe against other nodes (advisory locks, retries).
//! * [`read`]: the [`crate::store::Reader`] side: stories, search, tables.
//! * [`prune`]: retention (pruning old items, tombstones).
//! * `near`: near-duplicate lookups by anchor in SQL (`near_anchors`).
//!
//! Never imports `fetch`, `config` or `schedule`; see docs/scaling.md.

pub mod feeds;
pub mod items;
mod near;
pub mod pool;
pub mod prune;
pub mod read;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_postgres::error::SqlState;

use crate::error::StoreError;
use pool::Pool;

/// The migrations, in order: twins of [`crate::store::MIGRATIONS`], same names.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_stories",
        include_str!("../../../migrations/postgres/0002_stories.sql"),
    ),
    (
        "0003_feed_hints",
        include_str!("../../../migrations/postgres/0003_feed_hints.sql"),
    ),
    (
        "0004_search_retention",
        include_str!("../../../migrations/postgres/0004_search_retention.sql"),
    ),
    (
        "0005_near_duplicates",
        include_str!("../../../migrations/postgres/0005_near_duplicates.sql"),
    ),
    (
        "0006_perf",
        include_str!("../../../migrations/postgres/0006_perf.sql"),
    ),
    (
        "0007_claims",
        include_str!("../../../migrations/postgres/0007_claims.sql"),
    ),
    (
        "0008_search_prefix",
        include_str!("../../../migrations/postgres/0008_search_prefix.sql"),
    ),
    (
        "0009_entry_seals",
        include_str!("../../../migrations/postgres/0009_entry_seals.sql"),
    ),
    (
        "0010_search_writes",
        include_str!("../../../migrations/postgres/0010_search_writes.sql"),
    ),
    (
        "0011_search_crisismerge",
        include_str!("../../../migrations/postgres/0011_search_crisismerge.sql"),
    ),
    (
        "0012_enclosures",
        include_str!("../../../migrations/postgres/0012_enclosures.sql"),
    ),
    (
        "0013_fragment_links",
        include_str!("../../../migrations/postgres/0013_fragment_links.sql"),
    ),
    (
        "0014_date_order",
        include_str!("../../../migrations/postgres/0014_date_order.sql"),
    ),
];

/// The channel nodes tell each other about store changes on.
pub const CHANNEL: &str = "feedloom_changed";
/// Advisory lock keys (one namespace: "feedloom" in ASCII, then a number).
const LOCK_MIGRATE: i64 = 0x6665_6564_6c6f_0001;
const LOCK_CLAIM: i64 = 0x6665_6564_6c6f_0002;
const LOCK_PRUNE: i64 = 0x6665_6564_6c6f_0003;
/// Connections per node.
const POOL_SIZE: usize = 8;

pub(crate) fn ctx(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Postgres { context, source }
}

/// Checks a `[store] url`: a `postgres://` URL that carries no password.
pub fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        // (`Postgres://` is one, written so: the client reads only the
        // lower case.)
        let lower = url.get(..13).unwrap_or(url).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Err(
                "write the URL's scheme in lower case: `postgres://` or `postgresql://`"
                    .to_string(),
            );
        }
        // (Its form in words: an example URL's user was hidden as `***`
        // with the rest of the message's user information.)
        return Err(
            "not a PostgreSQL URL (`postgres://`, then the user name, `@`, and host:port/database)"
                .to_string(),
        );
    }
    // (Never the string itself: a password hides in it in too many forms.)
    let cfg = tokio_postgres::Config::from_str(url)
        .map_err(|e| format!("not a PostgreSQL URL feedloom can read: {e}"))?;
    if cfg.get_password().is_some() {
        return Err(
            "the URL carries a password: keep it out of the config (use [store] password_file, \
             PGPASSWORD or a ~/.pgpass file)"
                .into(),
        );
    }
    // (It passed `check`, and every command then failed: "no TLS
    // implementation configured".)
    if !matches!(
        cfg.get_ssl_mode(),
        tokio_postgres::config::SslMode::Disable | tokio_postgres::config::SslMode::Prefer
    ) {
        return Err(
            "sslmode asks for TLS, which feedloom does not speak: connect over a local \
                    socket or through a TLS-terminating proxy, with sslmode=disable or prefer"
                .into(),
        );
    }
    if cfg.get_user().is_none() {
        return Err(format!(
            "`{url}` names no user (postgres://USER@host/database)"
        ));
    }
    Ok(())
}

/// The URL as messages show it: without any password.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            crate::config::access::redact_userinfo(u.as_str())
        }
        Ok(_) if url.to_ascii_lowercase().contains("password=") => {
            crate::config::access::redact_userinfo(url)
        }
        Ok(_) => url.to_string(),
        Err(_) => crate::config::access::redact_userinfo(url),
    }
}

/// The password for `cfg`: from `file`, else `PGPASSWORD`, else the first
/// matching line of `PGPASSFILE` or `~/.pgpass`; none when nothing says one.
fn password(
    cfg: &tokio_postgres::Config,
    file: Option<&Path>,
    store: &str,
) -> Result<Option<String>, StoreError> {
    if let Some(f) = file {
        // (As the config's load checks it: a FIFO hung the open, `/dev/zero`
        // filled the memory.)
        let pw = crate::config::access::password_in_file(f).map_err(|e| StoreError::Password {
            store: store.to_string(),
            message: format!("[store] password_file: {e}"),
        })?;
        return Ok(Some(pw.expose().to_string()));
    }
    if let Ok(pw) = std::env::var("PGPASSWORD") {
        return Ok(Some(pw));
    }
    let passfile = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")));
    let Some(text) = passfile.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Ok(None);
    };
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = cfg.get_user().unwrap_or("");
    let db = cfg.get_dbname().unwrap_or(user);
    Ok(pgpass_lookup(&text, &[&host, &port, db, user]))
}

/// The password of the first `.pgpass` line whose four fields match (`*` matches anything).
fn pgpass_lookup(text: &str, want: &[&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        // Fields are split on unescaped ':'; `\:` and `\\` are literal.
        let mut fields = vec![String::new()];
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        fields.last_mut().expect("one").push(n);
                    }
                }
                ':' if fields.len() < 5 => fields.push(String::new()),
                c => fields.last_mut().expect("one").push(c),
            }
        }
        if fields.len() == 5
            && fields[..4]
                .iter()
                .zip(want)
                .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

/// Whether a failed transaction should simply run again: it lost a race with
/// another node (serialisation failure, deadlock, a unique key taken meanwhile,
/// a story deleted by a prune under the item it added).
pub(crate) fn retryable(e: &StoreError) -> bool {
    let source = match e {
        StoreError::Postgres { source, .. } => source,
        _ => return false,
    };
    matches!(
        source.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::FOREIGN_KEY_VIOLATION
    )
}

/// The PostgreSQL store; cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// This node's name in claims (`host:pid`).
    node: String,
    lease_secs: i64,
    commit_error: Mutex<Option<String>>,
    /// Another node changed the store (NOTIFY seen).
    changed: Notify,
    /// When this node may start its claimed fetches (ms since the epoch), so
    /// that the host gap holds across nodes.
    turns: Mutex<HashMap<i64, i64>>,
    /// When this node last measured its clock against the server's.
    clock_synced: Mutex<Option<std::time::Instant>>,
    /// Opened to read only (`export`, `search`, `feeds`).
    read_only: bool,
    /// The last measure of the clock failed: the next claim measures again.
    remeasure: std::sync::atomic::AtomicBool,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(h) = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            h.abort();
        }
    }
}

/// Seconds a node's clock may be from the database server's before it is
/// said (a round trip and NTP's usual drift stay well within).
const CLOCK_SKEW: f64 = 2.0;

/// Whether this process said its clock is not the server's.
static CLOCK_SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How often a node measures its clock against the server's again.
const CLOCK_REMEASURE: Duration = Duration::from_secs(60);

impl PgStore {
    /// Connects, and (unless `read_only`) brings the schema up to date under
    /// an advisory lock and starts listening for other nodes' changes. A
    /// read-only store checks the schema version and changes nothing.
    pub async fn open(
        loc: &super::Location,
        node: &str,
        read_only: bool,
    ) -> Result<PgStore, StoreError> {
        let super::Location::Postgres {
            url,
            password_file,
            lease_secs,
        } = loc
        else {
            return Err(StoreError::Worker("not a PostgreSQL location".into()));
        };
        let name = redact(url);
        let mut cfg = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::Password {
            store: name.clone(),
            message: format!("bad URL: {e}"),
        })?;
        if cfg.get_password().is_none()
            && let Some(pw) = password(&cfg, password_file.as_deref(), &name)?
        {
            cfg.password(pw);
        }
        cfg.application_name("feedloom");
        // The server's notices are not logged (a word too long to index
        // logged "NOTICE: word is too long to be indexed" at every poll;
        // only warnings and errors say something worth a line). First, so
        // that the URL's own `options` may set it otherwise.
        let options = match cfg.get_options().filter(|o| !o.trim().is_empty()) {
            Some(theirs) => format!("-c client_min_messages=warning {theirs}"),
            None => "-c client_min_messages=warning".to_string(),
        };
        cfg.options(&options);
        cfg.connect_timeout(Duration::from_secs(10));
        // A server cut off by the network is noticed within about a minute,
        // idle (LISTEN) or waiting for an answer, not after the kernel's two
        // hours (unless the URL sets its own keepalives).
        if cfg.get_keepalives_idle() == Duration::from_secs(2 * 3600) {
            cfg.keepalives_idle(Duration::from_secs(30))
                .keepalives_interval(Duration::from_secs(10))
                .keepalives_retries(3);
        }
        if cfg.get_tcp_user_timeout().is_none() {
            cfg.tcp_user_timeout(Duration::from_secs(60));
        }
        let store = PgStore {
            inner: Arc::new(Inner {
                pool: Pool::new(cfg, name.clone(), POOL_SIZE, read_only),
                node: node.to_string(),
                lease_secs: *lease_secs,
                commit_error: Mutex::default(),
                changed: Notify::new(),
                turns: Mutex::default(),
                clock_synced: Mutex::default(),
                read_only,
                remeasure: std::sync::atomic::AtomicBool::new(false),
                listener: Mutex::default(),
            }),
        };
        let known = MIGRATIONS.len() as u32;
        if read_only {
            let found = store.schema_version().await?;
            if found > known {
                return Err(StoreError::TooNew {
                    store: name,
                    found,
                    known,
                });
            }
            // Another program's database is named as such (readers said
            // "schema version 0 … run `feedloom poll` to set it up", which
            // then refused it).
            if found == 0 {
                let mut conn = store.pool().get().await?;
                // (A node setting the database up right now has made
                // `feedloom_schema` and is filling it: not another program's.)
                let setting_up: bool = conn
                    .query_one(
                        "reading schema version",
                        "SELECT to_regclass('feedloom_schema') IS NOT NULL",
                        &[],
                    )
                    .await?
                    .get(0);
                let tables: String = conn
                    .query_one(
                        "reading the database's tables",
                        "SELECT COALESCE(string_agg(relname, ', ' ORDER BY relname), '') FROM (
                           SELECT c.relname::text AS relname FROM pg_class c
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                             AND n.nspname = current_schema()
                           ORDER BY 1 LIMIT 4) t",
                        &[],
                    )
                    .await?
                    .get(0);
                if !tables.is_empty() && !setting_up {
                    return Err(StoreError::Foreign {
                        store: name,
                        tables,
                    });
                }
                if tables.is_empty() {
                    let client = store.pool().connect().await?;
                    refuse_unusable(&client, &name).await?;
                }
            }
            if found < known {
                return Err(StoreError::PgNeedsUpgrade {
                    store: name,
                    found,
                    known,
                });
            }
            store.sync_clock().await?;
        } else {
            store.migrate().await?;
            store.sync_clock().await?;
            store.repair_times_ahead(crate::now_unix()).await?;
            store.listen().await?;
        }
        Ok(store)
    }

    /// Keeps this node on the database server's time: measures how far its
    /// clock is from the server's and sets [`crate::set_clock_offset_ms`],
    /// so that every time it takes (claims, leases, hosts' turns, next
    /// fetches, fetch and item times) is the server's, and nodes whose clocks
    /// differ share the work alike (one ahead took every fetch, its claims
    /// outlasting the others'; one behind had its claims taken while its
    /// fetches ran). Says when the clock is more than [`CLOCK_SKEW`] seconds
    /// off, and when it moved by as much since it was last measured. A
    /// measure whose round trip took over a second is not taken (the
    /// offset measured before stays).
    pub(crate) async fn sync_clock(&self) -> Result<(), StoreError> {
        // (Until a measure succeeds, every claim measures again: a step met
        // while the server could not be reached was measured a minute
        // later, what was booked meanwhile left ahead.)
        self.inner
            .remeasure
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut conn = self.pool().get().await?;
        let asked = std::time::Instant::now();
        let server: f64 = conn
            .query_one(
                "reading the database server's clock",
                "SELECT extract(epoch FROM clock_timestamp())::float8",
                &[],
            )
            .await?
            .get(0);
        self.inner
            .remeasure
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let trip = asked.elapsed();
        let first = self
            .inner
            .clock_synced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(std::time::Instant::now())
            .is_none();
        if !first && trip > Duration::from_secs(1) {
            return Ok(());
        }
        // The server read its clock about half a round trip ago.
        let mine = crate::local_now_ms() - (trip.as_millis() / 2) as i64;
        let off = (server * 1000.0).round() as i64 - mine;
        let before = crate::set_clock_offset_ms(off);
        let skew = (CLOCK_SKEW * 1000.0) as i64;
        // (Said once per process: a command that opens the store twice said
        // it twice.)
        if first && off.abs() > skew && !CLOCK_SAID.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            let what = match self.inner.read_only {
                true => "its windows and ages",
                false => "claims, leases, hosts' turns, fetch and item times",
            };
            tracing::warn!(
                seconds = format!("{:+.1}", -(off as f64) / 1000.0),
                "this node's clock is not the database server's: it keeps the server's time ({what}), but set its clock right (NTP): its logs and anything else on it keep its own"
            );
        } else if !first && (off - before).abs() > skew {
            let moved = -(off - before);
            let way = if moved > 0 { "forward" } else { "back" };
            tracing::warn!(
                seconds = format!("{:+.1}", moved as f64 / 1000.0),
                "this node's clock stepped {way} against the database server's: it keeps the server's time, measured again"
            );
            // What it booked by the stepped clock before the step was
            // measured (a fetch stored in the second before the tick saw it,
            // all it stored while the server could not be reached, steps too
            // small to see one by one): moved back. It stayed ahead: feeds
            // unfetched and stories on top for as long as the step.
            if moved > skew {
                self.move_times_ahead(crate::now_unix(), CLOCK_SKEW as i64 * 3, Some(moved))
                    .await?;
            }
        }
        Ok(())
    }

    /// [`Self::sync_clock`] when the last measure is a minute old, or the
    /// last one failed.
    pub(crate) async fn keep_clock(&self) -> Result<(), StoreError> {
        let due = self
            .inner
            .remeasure
            .load(std::sync::atomic::Ordering::Relaxed)
            || self
                .inner
                .clock_synced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none_or(|at| at.elapsed() >= CLOCK_REMEASURE);
        if due {
            self.sync_clock().await?;
        }
        Ok(())
    }

    /// As the SQLite store's: times a clock that was ahead wrote (more than
    /// ten minutes ahead) are moved to `now`, and said.
    async fn repair_times_ahead(&self, now: i64) -> Result<(), StoreError> {
        self.move_times_ahead(now, 600, None).await
    }

    /// Times ahead of `now` by more than `margin` seconds moved to now (the
    /// feeds' next fetches counted from now). Hosts' next turns: without
    /// `step_ms`, those past the margin go to now; with it (a step of this
    /// node's clock, measured), those more than half the step ahead go back
    /// by the step (turns booked before it, a host gap or two ahead, stay).
    async fn move_times_ahead(
        &self,
        now: i64,
        margin: i64,
        step_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let limit = now + margin;
        let mut conn = self.pool().get().await?;
        // (As `crate::store::FEEDS_FETCHED_AHEAD`.)
        let mut tx = conn.tx().await?;
        let feeds = tx
            .exec(
                "moving back the times of feeds fetched when the clock was ahead",
                "UPDATE feeds SET
                     next_fetch_at = CASE WHEN next_fetch_at IS NOT NULL
                         THEN GREATEST($1, $1 + next_fetch_at - last_fetch_at) END,
                     last_success_at = CASE WHEN last_success_at > $1
                         THEN $1 ELSE last_success_at END,
                     last_fetch_at = $1
                 WHERE last_fetch_at > $2",
                &[&now, &limit],
            )
            .await?;
        // (And each host's next turn, booked by such a clock: a node whose
        // clock ran an hour ahead, stopped, left its hosts unasked for the
        // hour, their feeds "due".)
        let now_ms = now.saturating_mul(1000);
        let hosts = match step_ms {
            None => {
                tx.exec(
                    "moving hosts' turns ahead of the clock",
                    "UPDATE hosts SET next_start_ms = $1 WHERE next_start_ms > $2",
                    &[&now_ms, &limit.saturating_mul(1000)],
                )
                .await?
            }
            Some(step) => {
                tx.exec(
                    "moving hosts' turns ahead of the clock",
                    "UPDATE hosts SET next_start_ms = GREATEST($1::bigint, next_start_ms - $2::bigint)
                     WHERE next_start_ms > $1::bigint + $2::bigint / 2",
                    &[&now_ms, &step],
                )
                .await?
            }
        };
        tx.commit("moving back the times of feeds fetched when the clock was ahead")
            .await?;
        if hosts > 0 {
            tracing::warn!(
                hosts,
                "hosts' next turns booked ahead of the clock (it was ahead, or has stepped back) moved to now"
            );
        }
        if feeds > 0 {
            tracing::warn!(
                feeds,
                "feeds last fetched ahead of the clock (it was ahead, or has stepped back): their next fetches are counted from now"
            );
        }
        let ahead: bool = conn
            .query_one(
                "looking for times ahead of the clock",
                "SELECT EXISTS (SELECT 1 FROM items WHERE first_seen_at > $1)
                     OR EXISTS (SELECT 1 FROM items WHERE changed_at > $1)
                     OR EXISTS (SELECT 1 FROM stories WHERE first_seen_at > $1)
                     OR EXISTS (SELECT 1 FROM stories WHERE changed_at > $1)",
                &[&limit],
            )
            .await?
            .get(0);
        if !ahead {
            return Ok(());
        }
        let mut tx = conn.tx().await?;
        let mut moved = 0;
        for &(table, column) in crate::store::TIMES_OF_FETCHES {
            let n = tx
                .exec(
                    "moving times ahead of the clock",
                    &format!("UPDATE {table} SET {column} = $1 WHERE {column} > $2"),
                    &[&now, &limit],
                )
                .await?;
            if (table, column) == ("stories", "first_seen_at") {
                moved = n;
            }
        }
        tx.commit("moving times ahead of the clock").await?;
        tracing::warn!(
            stories = moved,
            "times ahead of the clock (set while it was ahead) moved to now"
        );
        Ok(())
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// The schema version (0: feedloom never set this database up).
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        let mut conn = self.pool().get().await?;
        let row = conn
            .query_one(
                "reading schema version",
                "SELECT CASE WHEN to_regclass('feedloom_schema') IS NULL THEN 0
                        ELSE (SELECT COALESCE(max(version), 0) FROM feedloom_schema) END",
                &[],
            )
            .await;
        // (The subquery is planned even when the table is missing.)
        match row {
            Ok(r) => Ok(r.get::<_, i32>(0) as u32),
            Err(StoreError::Postgres { source, .. })
                if source.code() == Some(&SqlState::UNDEFINED_TABLE) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Applies every migration not applied yet, each in its own transaction
    /// with its row in `feedloom_schema`, while holding an advisory lock: a
    /// node starting while another migrates waits, then finds nothing to do.
    async fn migrate(&self) -> Result<(), StoreError> {
        let client = self.pool().connect().await?;
        // The lock first: nodes starting together on a new database would
        // otherwise race on creating the version table itself (PostgreSQL's
        // CREATE TABLE IF NOT EXISTS is not safe against a concurrent one).
        client
            .execute("SELECT pg_advisory_lock($1)", &[&LOCK_MIGRATE])
            .await
            .map_err(ctx("waiting for the migration lock"))?;
        let result = async {
            // (Created only when missing: a role without CREATE on the schema
            // could not write a store it could use.)
            let set_up: bool = client
                .query_one("SELECT to_regclass('feedloom_schema') IS NOT NULL", &[])
                .await
                .map_err(ctx("reading schema version"))?
                .get(0);
            if !set_up {
                // Another program's database (tables of its own, no
                // feedloom schema) is not made a store: feedloom's tables
                // went in beside its own, or stopped half-way on a name both
                // use, and every later start failed.
                let others: Vec<String> = client
                    .query(
                        "SELECT c.relname::text FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                           AND n.nspname = current_schema()
                         ORDER BY 1 LIMIT 4",
                        &[],
                    )
                    .await
                    .map_err(ctx("reading the database's tables"))?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                if !others.is_empty() {
                    return Err(StoreError::Foreign {
                        store: self.pool().name.clone(),
                        tables: others.join(", "),
                    });
                }
                refuse_unusable(&client, &self.pool().name).await?;
                client
                    .batch_execute(
                        // (Quietly: PostgreSQL's NOTICE that it exists was noise on
                        // every cron poll's stderr.)
                        "SET client_min_messages = warning;
                         CREATE TABLE IF NOT EXISTS feedloom_schema (
                             version    integer PRIMARY KEY,
                             name       text    NOT NULL,
                             applied_at bigint  NOT NULL
                         )",
                    )
                    .await
                    .map_err(ctx("creating feedloom_schema"))?;
            }
            self.migrate_locked(&client).await
        }
        .await;
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_MIGRATE])
            .await;
        result
    }

    async fn migrate_locked(&self, client: &tokio_postgres::Client) -> Result<(), StoreError> {
        let current: i32 = client
            .query_one("SELECT COALESCE(max(version), 0) FROM feedloom_schema", &[])
            .await
            .map_err(ctx("reading schema version"))?
            .get(0);
        let known = MIGRATIONS.len() as u32;
        if current as u32 > known {
            return Err(StoreError::TooNew {
                store: self.pool().name.clone(),
                found: current as u32,
                known,
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = i as u32 + 1;
            let fail = |source| StoreError::PgMigration {
                version,
                name,
                source,
            };
            client.batch_execute("BEGIN").await.map_err(fail)?;
            let applied = async {
                client.batch_execute(sql).await?;
                client
                    .execute(
                        "INSERT INTO feedloom_schema (version, name, applied_at) VALUES ($1, $2, $3)",
                        &[&(version as i32), name, &crate::now_unix()],
                    )
                    .await?;
                client.batch_execute("COMMIT").await
            }
            .await;
            if let Err(e) = applied {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(fail(e));
            }
            tracing::info!(version, name, "migrated the PostgreSQL store");
        }
        Ok(())
    }

    /// Listens on [`CHANNEL`] on a connection of its own, reconnecting when it
    /// breaks (and then counting the gap as a change: a NOTIFY may be lost).
    async fn listen(&self) -> Result<(), StoreError> {
        use futures_util::StreamExt;
        let weak = Arc::downgrade(&self.inner);
        let first = self.listen_once().await?;
        let task = tokio::spawn(async move {
            let mut conn = Some(first);
            // Since when the connection is lost, and the attempts made.
            let mut lost: Option<(std::time::Instant, u64)> = None;
            loop {
                if let Some((client, mut messages)) = conn.take() {
                    while let Some(m) = messages.next().await {
                        let Some(inner) = weak.upgrade() else { return };
                        if let Ok(tokio_postgres::AsyncMessage::Notification(n)) = m
                            && n.payload() != inner.node
                        {
                            inner.changed.notify_one();
                        }
                    }
                    drop(client);
                }
                let Some(inner) = weak.upgrade() else { return };
                // (Said once when lost and once when back: while the
                // database was down, each second's attempt logged a line.)
                if lost.is_none() {
                    tracing::warn!("lost the PostgreSQL LISTEN connection; reconnecting");
                    lost = Some((std::time::Instant::now(), 0u64));
                }
                let store = PgStore { inner };
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Some((_, attempts)) = lost.as_mut() {
                    *attempts += 1;
                }
                if let Ok(c) = store.listen_once().await {
                    if let Some((since, attempts)) = lost.take() {
                        tracing::info!(
                            attempts,
                            lasted = %humantime::format_duration(Duration::from_secs(since.elapsed().as_secs())),
                            "the PostgreSQL LISTEN connection is back"
                        );
                    }
                    store.inner.changed.notify_one();
                    conn = Some(c);
                }
            }
        });
        *self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(task);
        Ok(())
    }

    async fn listen_once(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            futures_util::stream::BoxStream<
                'static,
                Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>,
            >,
        ),
        StoreError,
    > {
        use futures_util::StreamExt;
        let (client, mut connection) = self.pool().handshake().await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(m) = stream.next().await {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(ctx("listening for other nodes' changes"))?;
        let stream = tokio_stream_from(rx);
        Ok((client, stream))
    }

    /// Resolves when another node committed a change to what outputs show.
    pub async fn changed_elsewhere(&self) {
        self.inner.changed.notified().await
    }

    pub fn commit_error(&self) -> Option<String> {
        self.inner
            .commit_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Remembers how the last write ended, for `/healthz`.
    pub(crate) fn note_commit<T>(&self, r: &Result<T, StoreError>) {
        let mut e = self
            .inner
            .commit_error
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *e = r.as_ref().err().map(|e| crate::error::chain(e));
    }

    /// A [`crate::store::Reader`] for a blocking thread of this runtime.
    pub fn blocking_reader(&self) -> read::PgReader {
        read::PgReader {
            store: self.clone(),
            handle: tokio::runtime::Handle::current(),
        }
    }
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> futures_util::stream::BoxStream<'static, T> {
    use futures_util::StreamExt;
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

/// Refuses a database feedloom has not set up that it could not use: not in
/// UTF-8, a search path naming no schema, or a role that may not create
/// tables in its schema (said before anything is written, by `check` too:
/// it called such a store valid, and the first node then failed on
/// "permission denied for schema public", naming neither store nor role).
async fn refuse_unusable(client: &tokio_postgres::Client, store: &str) -> Result<(), StoreError> {
    // A database not in UTF-8 is not made a store: in LATIN1,
    // every feed with a character outside it failed at every
    // poll, as if the feed were at fault; in SQL_ASCII, search
    // found no word but ASCII ones.
    let encoding: String = client
        .query_one("SELECT current_setting('server_encoding')", &[])
        .await
        .map_err(ctx("reading the database's encoding"))?
        .get(0);
    if encoding != "UTF8" {
        return Err(StoreError::PgEncoding {
            store: store.to_string(),
            encoding: crate::error::quoted(&encoding, 100),
        });
    }
    // A search_path of no schema that exists (a typo in the URL's
    // `options=-csearch_path%3D…`): said as such ("no schema has
    // been selected to create in" named neither).
    let row = client
        .query_one(
            "SELECT current_schema()::text, current_setting('search_path')",
            &[],
        )
        .await
        .map_err(ctx("reading the search path"))?;
    if row.get::<_, Option<String>>(0).is_none() {
        return Err(StoreError::PgNoSchema {
            store: store.to_string(),
            search_path: crate::error::quoted(&row.get::<_, String>(1), 200),
        });
    }
    let row = client
        .query_one(
            "SELECT current_user::text, current_schema()::text,
                    has_schema_privilege(current_schema(), 'CREATE')",
            &[],
        )
        .await
        .map_err(ctx("reading the role's rights"))?;
    if !row.get::<_, bool>(2) {
        return Err(StoreError::PgCannotCreate {
            store: store.to_string(),
            role: crate::error::quoted(&row.get::<_, String>(0), 100),
            schema: crate::error::quoted(&row.get::<_, String>(1), 100),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sqlite_migration_has_a_postgres_twin() {
        let sqlite: Vec<&str> = crate::store::MIGRATIONS.iter().map(|m| m.0).collect();
        let pg: Vec<&str> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert_eq!(sqlite, pg, "one version list, two dialects");
    }

    #[test]
    fn urls_with_passwords_are_refused() {
        assert!(check_url("postgres://feedloom@db.example/feeds").is_ok());
        let e = check_url("postgres://feedloom:hunter2@db.example/feeds").unwrap_err();
        assert!(e.contains("password") && !e.contains("hunter2"), "{e}");
        // (Its form in words, shown whole once the message's user
        // information is hidden: an example URL's user read `***`.)
        let e = check_url("mysql://x@y/z").unwrap_err();
        assert!(
            crate::config::access::redact_userinfo(&e).contains(
                "not a PostgreSQL URL (`postgres://`, then the user name, `@`, and host:port/database)"
            ),
            "{e}"
        );
        assert!(
            check_url("postgres://db.example/feeds")
                .unwrap_err()
                .contains("no user")
        );
        for mode in ["require", "verify-ca", "verify-full"] {
            match check_url(&format!("postgres://f@db.example/feeds?sslmode={mode}")) {
                // (verify-* may be unknown to the URL reader: refused too.)
                Err(e) => assert!(
                    e.contains("TLS") || e.contains("cannot read") || e.contains("can read"),
                    "{e}"
                ),
                Ok(()) => panic!("sslmode={mode} accepted"),
            }
        }
        assert!(check_url("postgres://f@db.example/feeds?sslmode=disable").is_ok());
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:db:u:no\n*:5432:feeds:feedloom:pa\\:ss\n";
        assert_eq!(
            pgpass_lookup(text, &["127.0.0.1", "5432", "feeds", "feedloom"]),
            Some("pa:ss".into())
        );
        assert_eq!(
            pgpass_lookup(text, &["h", "5433", "feeds", "feedloom"]),
            None
        );
    }
}
