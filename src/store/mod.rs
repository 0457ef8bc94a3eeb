//! The SQLite store: one file, one writer (the daemon), any number of readers.
//!
//! * `mod.rs`: opening (pragmas), embedded migrations, the shared handle.
//! * [`feeds`]: feed rows: config sync, validators, fetch outcomes.
//! * [`items`]: storing one fetched document in ONE transaction.
//! * `near`: near-duplicate fingerprints: writing, lookup, backfill.
//! * [`queries`]: read side: story lists for outputs, the `feeds` table.
//!
//! The schema is a public interface, documented in `docs/schema.md`.

pub mod feeds;
pub mod items;
mod near;
pub mod queries;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;

/// The migrations, in order. Never edit one that has shipped: add a file.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    (
        "0002_stories",
        include_str!("../../migrations/0002_stories.sql"),
    ),
    (
        "0003_feed_hints",
        include_str!("../../migrations/0003_feed_hints.sql"),
    ),
    (
        "0004_near_duplicates",
        include_str!("../../migrations/0004_near_duplicates.sql"),
    ),
];

/// How long a statement waits for a lock held by another connection.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer's connection.
pub struct Store {
    conn: Connection,
    /// An open group-commit transaction (see [`SharedStore::call_batched`]).
    in_batch: bool,
    batch_docs: usize,
    /// The near-duplicate index and window (see `near`).
    near: near::State,
}

/// Most fetches committed together in one group commit.
pub const MAX_BATCH: usize = 64;

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
        let conn = Connection::open(path).map_err(open_err)?;
        let mut store = Store::from_conn(conn);
        store.configure().map_err(open_err)?;
        store.migrate()?;
        store.backfill_near()?;
        Ok(store)
    }

    /// A private in-memory store (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(StoreError::ctx("opening memory store"))?;
        let mut store = Store::from_conn(conn);
        store
            .configure()
            .map_err(StoreError::ctx("configuring memory store"))?;
        store.migrate()?;
        store.backfill_near()?;
        Ok(store)
    }

    fn from_conn(conn: Connection) -> Store {
        Store {
            conn,
            in_batch: false,
            batch_docs: 0,
            near: near::State::default(),
        }
    }

    /// Commits the open group-commit transaction, if any.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if !self.in_batch {
            return Ok(());
        }
        self.in_batch = false;
        self.batch_docs = 0;
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(StoreError::Sqlite {
                context: "committing a batch of fetches",
                source: e,
            });
        }
        Ok(())
    }

    fn begin_batch(&mut self) -> Result<(), StoreError> {
        if !self.in_batch {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(StoreError::ctx("starting a batch of fetches"))?;
            self.in_batch = true;
        }
        Ok(())
    }

    fn configure(&mut self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers (sqlite3, scripts) never block the daemon, nor it them.
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 16 MiB of page cache instead of 2: storing an item touches a dozen
        // indexes, and cache misses made cold polls of large stores slow.
        self.conn.pragma_update(None, "cache_size", -16_384)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // Plans must not depend on bound values: otherwise this SQLite build
        // (STAT4) re-parses hot statements whenever their parameters change.
        self.conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        self.conn.set_prepared_statement_cache_capacity(64);
        Ok(())
    }

    /// Applies every migration newer than `PRAGMA user_version`, each in its own
    /// transaction together with the version bump.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let current: u32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(StoreError::ctx("reading schema version"))?;
        let known = MIGRATIONS.len() as u32;
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = i as u32 + 1;
            let fail = |source| StoreError::Migration {
                version,
                name,
                source,
            };
            let tx = self.conn.transaction().map_err(fail)?;
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(())
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(StoreError::ctx("reading schema version"))
    }

    /// Direct access, for tests and one-off reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!(error = %crate::error::chain(&e), "last batch of fetches not committed");
        }
    }
}

/// The store shared between tasks; every call runs on a blocking thread.
///
/// Writes of fetch results go through [`SharedStore::call_batched`]: while other
/// fetches are queued for the store, their writes share one transaction (group
/// commit, at most [`MAX_BATCH`]); each one is still atomic on its own (a
/// savepoint), so a feed's items and validators are always committed together.
/// Every other call commits an open batch first, so it sees everything written.
#[derive(Clone)]
pub struct SharedStore {
    store: Arc<Mutex<Store>>,
    /// Batched calls waiting for the store.
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl SharedStore {
    pub fn new(store: Store) -> SharedStore {
        SharedStore {
            store: Arc::new(Mutex::new(store)),
            queued: Arc::default(),
        }
    }

    /// Runs `f` with the store on a blocking thread, after committing any open batch.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
            store.flush()?;
            f(&mut store)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs one fetch's write `f` inside the current batch; commits the batch when
    /// no other batched write is waiting, or when it is full. `f` must make its
    /// changes inside a savepoint (as every `Store` write method does).
    pub async fn call_batched<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let inner = self.store.clone();
        let queued = self.queued.clone();
        queued.fetch_add(1, Ordering::SeqCst);
        tokio::task::spawn_blocking(move || {
            let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
            let others = queued.fetch_sub(1, Ordering::SeqCst) - 1;
            store.begin_batch()?;
            let result = f(&mut store);
            if store.conn.is_autocommit() {
                // SQLite rolled the whole batch back (disk full, I/O error). The
                // earlier fetches of the batch are lost with their validators, so
                // their next poll fetches them in full; report the real error.
                store.in_batch = false;
                store.batch_docs = 0;
                tracing::error!(
                    "SQLite rolled back a batch of fetches; they will be fetched again"
                );
                return result;
            }
            store.batch_docs += 1;
            if others == 0 || store.batch_docs >= MAX_BATCH {
                store.flush()?;
            }
            result
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs `f` with the store on the current thread (outside async code), after
    /// committing any open batch.
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = store.flush() {
            tracing::error!(error = %crate::error::chain(&e), "batch of fetches not committed");
        }
        f(&mut store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_set_user_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/f.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        drop(store);
        // Re-opening applies nothing twice.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_keeps_each_fetch_atomic() {
        use crate::config;
        use crate::fetch::Validators;
        use crate::identity::identify_document;
        use crate::parse::Entry;
        use crate::store::feeds::{FetchRecord, Reschedule};
        use crate::store::items::{DocumentMeta, StoryRules};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let mut text = String::new();
        for i in 0..20 {
            text.push_str(&format!("[[feed]]\nurl = \"https://h{i}.example/f\"\n"));
        }
        let cfg = config::parse(&text, Path::new("x.toml")).unwrap();
        let store = Store::open(&path).unwrap();
        // Items with guid "bad" fail to insert, halfway through their document.
        store
            .conn()
            .execute_batch(
                "CREATE TEMP TRIGGER boom BEFORE INSERT ON items
                 WHEN NEW.guid = 'bad' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
            )
            .unwrap();
        let shared = SharedStore::new(store);
        let feeds = shared.with(|s| s.sync_config(&cfg.feeds)).unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, feed) in feeds.into_iter().enumerate() {
            let shared = shared.clone();
            tasks.spawn(async move {
                let guids = if i % 4 == 3 {
                    ["ok-1", "bad", "ok-2"]
                } else {
                    ["a", "b", "c"]
                };
                let items = identify_document(
                    guids
                        .iter()
                        .map(|g| Entry {
                            guid: Some(g.to_string()),
                            ..Entry::default()
                        })
                        .collect(),
                );
                let v = Validators {
                    etag: Some(format!("\"{i}\"")),
                    last_modified: None,
                };
                shared
                    .call_batched(move |s| {
                        s.apply_document(
                            &feed,
                            &FetchRecord::default(),
                            &v,
                            &DocumentMeta::default(),
                            &items,
                            &Reschedule::default(),
                            &StoryRules::default(),
                        )
                    })
                    .await
                    .is_ok()
            });
        }
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            ok += usize::from(r.unwrap());
        }
        assert_eq!(ok, 15);
        drop(shared);
        let reader = Connection::open(&path).unwrap();
        let count = |sql: &str| -> i64 { reader.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM items"), 45);
        assert_eq!(
            count("SELECT count(*) FROM feeds WHERE etag IS NOT NULL"),
            15
        );
        assert_eq!(count("SELECT count(*) FROM fetches"), 15);
        assert_eq!(
            count("SELECT count(*) FROM items WHERE guid LIKE 'ok-%'"),
            0,
            "a failed fetch leaves no partial items"
        );
    }

    /// A version-1 store (as feedloom 0.1 wrote it) is upgraded in place: every item
    /// becomes its own story and gets its fingerprint, and storing goes on.
    #[test]
    fn a_version_1_store_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0].1).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO feeds (id, url, created_at) VALUES (1, 'https://a.example/f', 0);
                 INSERT INTO items (feed_id, key, key_kind, uid, guid, url, canonical_url, title,
                     content, content_hash, first_seen_at, last_seen_at, changed_at)
                 VALUES (1, 'guid:1', 'guid', 'urn:feedloom:1', '1', 'https://a.example/1',
                     '//a.example/1', 'Council approves the new budget for roads',
                     '<p>The council approved the budget for roads and schools on Monday.</p>',
                     'h', 10, 10, 10),
                        (1, 'guid:2', 'guid', 'urn:feedloom:2', '2', NULL, NULL, 'Short', NULL,
                     'h', 20, 20, 20);",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        let count =
            |s: &Store, sql: &str| -> i64 { s.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count(&store, "SELECT count(*) FROM stories"), 2);
        assert_eq!(
            count(&store, "SELECT count(*) FROM items WHERE story_id = id"),
            2
        );
        assert_eq!(
            count(&store, "SELECT count(*) FROM items WHERE text_hash IS NULL"),
            0
        );
        assert_eq!(
            count(&store, "SELECT count(*) FROM near_items"),
            1,
            "the long item has a fingerprint, the short one none"
        );
        assert_eq!(count(&store, "SELECT count(*) FROM store_tasks"), 0);
        let first_seen: i64 = store
            .conn()
            .query_row(
                "SELECT first_seen_at FROM stories WHERE uid = 'urn:feedloom:1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(first_seen, 10, "stories keep their items' first-seen times");
        // And it keeps working: a new item is stored as usual.
        let cfg = crate::config::parse(
            "[[feed]]\nurl = \"https://a.example/f\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        let feed = store.sync_config(&cfg.feeds).unwrap().remove(0);
        let items = crate::identity::identify_document(vec![crate::parse::Entry {
            guid: Some("3".into()),
            title: Some("Third".into()),
            ..Default::default()
        }]);
        let applied = store
            .apply_document(
                &feed,
                &Default::default(),
                &Default::default(),
                &Default::default(),
                &items,
                &Default::default(),
                &Default::default(),
            )
            .unwrap();
        assert_eq!(applied.new, 1);
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = Store::open(&path).err().unwrap();
        assert!(err.to_string().contains("999"), "{err}");
    }
}
