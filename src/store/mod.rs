//! The SQLite store: one file, one writer (the daemon), any number of readers.
//!
//! * `mod.rs`: opening (pragmas), embedded migrations, the shared handle.
//! * [`feeds`]: feed rows: config sync, validators, fetch outcomes.
//! * [`items`]: storing one fetched document in ONE transaction.
//! * `near`: near-duplicate fingerprints: writing, lookup, backfill.
//! * [`queries`]: read side: story lists for outputs, the `feeds` table.
//! * [`lock`]: the lock file that keeps a second `run` or `poll` off a store.
//! * [`search`]: the full-text index and the search query.
//! * [`prune`]: retention (items, stories, fetch log, tombstones) and space.
//! * [`backup`]: a consistent copy of the store while the daemon writes.
//!
//! The schema is a public interface, documented in `docs/schema.md`.

pub mod api;
pub mod backup;
pub mod feeds;
pub mod items;
pub mod lock;
pub mod model;
mod near;
pub mod postgres;
pub mod prune;
pub mod queries;
pub mod search;

pub use api::{Backend, Location, Reader};

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;

use crate::error::StoreError;
use crate::identity::Identified;

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
        "0004_search_retention",
        include_str!("../../migrations/0004_search_retention.sql"),
    ),
    (
        "0005_near_duplicates",
        include_str!("../../migrations/0005_near_duplicates.sql"),
    ),
    ("0006_perf", include_str!("../../migrations/0006_perf.sql")),
    (
        "0007_claims",
        include_str!("../../migrations/0007_claims.sql"),
    ),
    (
        "0008_search_prefix",
        include_str!("../../migrations/0008_search_prefix.sql"),
    ),
    (
        "0009_entry_seals",
        include_str!("../../migrations/0009_entry_seals.sql"),
    ),
    (
        "0010_search_writes",
        include_str!("../../migrations/0010_search_writes.sql"),
    ),
    (
        "0011_search_crisismerge",
        include_str!("../../migrations/0011_search_crisismerge.sql"),
    ),
    (
        "0012_enclosures",
        include_str!("../../migrations/0012_enclosures.sql"),
    ),
    (
        "0013_fragment_links",
        include_str!("../../migrations/0013_fragment_links.sql"),
    ),
    (
        "0014_date_order",
        include_str!("../../migrations/0014_date_order.sql"),
    ),
];

/// Pages of WAL after which a commit checkpoints (32 MiB at `PAGE_SIZE`).
pub const WAL_AUTOCHECKPOINT: i64 = 4_096;

/// Page size of a new store file.
pub const PAGE_SIZE: i64 = 8_192;

/// Feeds last fetched more than ten minutes ahead of `?1` (`?2` is that
/// limit): the clock that fetched them was ahead, or has stepped back since
/// (an NTP step, a virtual machine restored). Each one's next fetch is the
/// wait it was given then, counted from now, and its fetch times are now:
/// every feed waited for the clock to catch up, up to a day, `/healthz` ok.
/// (The schedule a running daemon sees step back moves as a whole:
/// [`Store::clock_stepped_back`].)
pub(crate) const FEEDS_FETCHED_AHEAD: &str = "UPDATE feeds SET
    next_fetch_at = max(?1, ?1 + next_fetch_at - last_fetch_at),
    last_success_at = min(last_success_at, ?1),
    last_fetch_at = ?1
    WHERE last_fetch_at > ?2";

/// The columns (table, column) a fetch writes its start time into, which a
/// clock that was ahead left in the future: moved to now by both stores'
/// writers when they open the store (`repair_times_ahead`), and back by a
/// step of the clock a running daemon sees (`Store::clock_stepped_back`).
pub(crate) const TIMES_OF_FETCHES: &[(&str, &str)] = &[
    ("near_items", "first_seen_at"),
    ("items", "first_seen_at"),
    ("items", "changed_at"),
    ("items", "last_seen_at"),
    ("stories", "first_seen_at"),
    ("stories", "changed_at"),
];

/// Whether this user may access `p` in `mode` (`libc::W_OK | libc::R_OK`…),
/// as the kernel judges it (`access(2)`).
pub(crate) fn user_can(p: &Path, mode: libc::c_int) -> bool {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes())
        // SAFETY: the string is NUL-terminated and outlives the call.
        .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), mode) } == 0)
}

/// Refuses a store (or its `-wal` or `-shm` file) this user cannot read and
/// write, naming the file, before SQLite opens it: SQLite opened it
/// read-only, made the `-wal` and `-shm` files with the store's own mode
/// (0444) and failed with "attempt to write a readonly database"; those
/// files then kept the store unusable once its own mode was mended.
fn refuse_unwritable(path: &Path) -> Result<(), StoreError> {
    for file in [
        path.to_path_buf(),
        lock::beside(path, "-wal"),
        lock::beside(path, "-shm"),
    ] {
        if file.is_file() && !user_can(&file, libc::R_OK | libc::W_OK) {
            return Err(StoreError::NotWritable {
                path: path.to_path_buf(),
                file,
            });
        }
    }
    Ok(())
}

/// Refuses a store path that cannot be a SQLite file: a folder, a device
/// (`/dev/null`: SQLite failed with "disk I/O error" and left
/// `/dev/null-journal` behind), a pipe or a socket, or a path under a file.
pub fn check_store_path(path: &Path) -> Result<(), StoreError> {
    let not = |why: String| StoreError::NotAFile {
        path: path.to_path_buf(),
        why,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(StoreError::Folder {
            path: path.to_path_buf(),
        }),
        Ok(m) if !m.is_file() => Err(not(
            "it is not a plain file (a device, a pipe or a socket)".to_string()
        )),
        Ok(_) => Ok(()),
        // (A loop of links read as "does not exist (nothing polled yet)".)
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(not(
            "it is a loop of symbolic links (or a chain of more than 40)".to_string(),
        )),
        Err(_) => {
            // The nearest existing folder above must be a folder.
            let mut up = path.parent();
            while let Some(dir) = up.filter(|d| !d.as_os_str().is_empty()) {
                match std::fs::metadata(dir) {
                    Ok(m) if m.is_dir() => return Ok(()),
                    Ok(_) => return Err(not(format!("{} is not a folder", dir.display()))),
                    Err(_) => up = dir.parent(),
                }
            }
            Ok(())
        }
    }
}

/// What `check` says of an existing store file that is not a SQLite
/// database (it called the config valid, and every other command then said
/// "file is not a database"). An empty file is a store not begun.
pub fn check_store_file(path: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 && starts_as_sqlite(path) => {
            refuse_cut_short(path)?;
            // (A database without feedloom's version that holds tables;
            // read as readers read, creating nothing.)
            let Ok(c) = open_reader(path) else {
                return Ok(());
            };
            match c.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0)) {
                Ok(0) => refuse_foreign(&c, path),
                // (`check` said "valid" of a store every other command refused.)
                Ok(found) if found > MIGRATIONS.len() as u32 => Err(StoreError::TooNew {
                    store: path.display().to_string(),
                    found,
                    known: MIGRATIONS.len() as u32,
                }),
                _ => Ok(()),
            }
        }
        Ok(m) if m.is_file() && m.len() > 0 && !starts_as_sqlite(path) => {
            Err(StoreError::NotAFile {
                path: path.to_path_buf(),
                why: "it is not a SQLite database (it does not start as one): name the \
                      store's file, or a new one"
                    .to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// What a SQLite database lacks of a feedloom store's tables and columns
/// (those every version has), if anything: `None` for a store. Another
/// program's database with tables of the same names (`feeds`, `items`) was
/// taken for a store without its version, and `restore` told the operator
/// to stamp one on it.
pub fn lacks_store_schema(conn: &Connection) -> Option<String> {
    const NEEDED: [(&str, &[&str]); 3] = [
        ("feeds", &["id", "url", "enabled", "etag", "next_fetch_at"]),
        (
            "items",
            &[
                "id",
                "feed_id",
                "key",
                "key_kind",
                "uid",
                "content_hash",
                "first_seen_at",
            ],
        ),
        ("fetches", &["feed_id", "started_at", "outcome"]),
    ];
    let mut missing = Vec::new();
    for (table, columns) in NEEDED {
        let have: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .and_then(|mut st| st.query_map([table], |r| r.get(0))?.collect())
            .unwrap_or_default();
        if have.is_empty() {
            missing.push(format!("table `{table}`"));
            continue;
        }
        missing.extend(
            columns
                .iter()
                .filter(|c| !have.iter().any(|h| h == *c))
                .map(|c| format!("`{table}.{c}`")),
        );
    }
    (!missing.is_empty()).then(|| {
        let shown = missing.len().min(4);
        let more = match missing.len() - shown {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        format!("it lacks {}{more}", missing[..shown].join(", "))
    })
}

/// Refuses the file at `path` when it is another program's SQLite database
/// (see [`refuse_foreign`]; a feedloom store without its version, a missing
/// file or one SQLite cannot read pass): `backup` said "no such table:
/// items", and `restore` replaced it, where every other command refused it.
/// Judged from the file's header first: one with a schema version is not
/// opened (a reader beside a `-wal` makes a `-shm`).
pub(crate) fn refuse_other_programs(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let mut header = [0u8; 64];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    if read.is_err() || !header.starts_with(b"SQLite format 3\0") || header[60..64] != [0; 4] {
        return Ok(());
    }
    let Ok(conn) = open_reader(path) else {
        return Ok(());
    };
    match lacks_store_schema(&conn) {
        Some(_) => refuse_foreign(&conn, path),
        None => Ok(()),
    }
}

/// Refuses a SQLite database without feedloom's schema version that holds
/// tables: another program's, not a store (names a few of them).
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 4")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    if tables.is_empty() {
        return Ok(());
    }
    // feedloom's own tables without its version: a copy made with `sqlite3
    // .dump` (the usual mend of a damaged file), which does not keep it.
    if lacks_store_schema(conn).is_none() {
        return Err(StoreError::NotAFile {
            path: path.to_path_buf(),
            why: format!(
                "it has feedloom's tables but no schema version (a copy made with `sqlite3 .dump` \
                 does not keep it): if this feedloom wrote it, set it with `sqlite3 {} 'PRAGMA \
                 user_version = {}'`, else with the version of the feedloom that did; or restore a \
                 backup (`feedloom restore FILE`)",
                path.display(),
                MIGRATIONS.len()
            ),
        });
    }
    Err(StoreError::NotAFile {
        path: path.to_path_buf(),
        why: format!(
            "it is another program's SQLite database (tables {}), not a feedloom store: \
             name another file",
            tables.join(", ")
        ),
    })
}

/// Why the SQLite file at `path` is damaged, when its size says so: it ends
/// inside SQLite's 100-byte header, or before the last page its header
/// declares (a copy cut short, a disk that filled while it was copied).
/// Readers said "schema version 0, run `feedloom poll` to upgrade it", and
/// `check` called the config valid; `poll` then said "database disk image
/// is malformed". Judged only while no `-wal` file with frames is beside it:
/// a writer checkpointing may have written the header before the pages.
pub fn cut_short(path: &Path) -> Option<String> {
    use std::io::Read;
    // (Only a plain file is opened: a pipe at the store's path blocked the
    // reader until a writer came.)
    if wal_has_frames(path) || !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut head = Vec::with_capacity(100);
    f.by_ref().take(100).read_to_end(&mut head).ok()?;
    if !head.starts_with(b"SQLite format 3\0") {
        return None;
    }
    if head.len() < 100 {
        return Some(format!("it ends inside SQLite's header ({len} bytes)"));
    }
    let be32 = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    // (The page count is valid when the change counter matches the
    // version it was written at.)
    let pages = u64::from(be32(28));
    let declared = pages * page_size;
    (be32(24) == be32(92) && declared > len)
        .then(|| format!("it is cut short ({len} bytes of the {declared} its header declares)"))
}

/// Whether the store at `path` is a plain file of 0 bytes with no (or an
/// empty) `-wal` beside it: nothing was ever stored in it, or it was emptied.
/// Readers said "schema version 0, run `feedloom poll` to upgrade it", and
/// `backup` failed on "no such table: items".
pub fn not_begun(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) && !wal_has_frames(path)
}

/// Whether the store at `path` has a `-wal` file beside it that may hold
/// frames (longer than the log's 32-byte header): then the main file alone
/// does not say what the store holds. (A writer's checkpoint leaves an empty
/// `-wal` behind; a copy of the folder carried it, and a store cut short
/// beside it was read as "database disk image is malformed".)
fn wal_has_frames(path: &Path) -> bool {
    std::fs::metadata(lock::beside(path, "-wal")).is_ok_and(|m| !m.is_file() || m.len() > 32)
}

/// Refuses, for a command that reads, a store [`not_begun`].
pub(crate) fn refuse_not_begun(path: &Path) -> Result<(), StoreError> {
    match not_begun(path) {
        true => Err(StoreError::NotBegun {
            path: path.to_path_buf(),
        }),
        false => Ok(()),
    }
}

/// Refuses a store [`cut_short`] finds damaged.
fn refuse_cut_short(path: &Path) -> Result<(), StoreError> {
    match cut_short(path) {
        Some(why) => Err(StoreError::Damaged {
            path: path.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}

/// Whether the file at `path` starts with SQLite's header (or cannot be read
/// to tell: opening it says why).
fn starts_as_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return true;
    };
    let mut head = [0u8; 16];
    match f.read_exact(&mut head) {
        Ok(()) => &head == b"SQLite format 3\0",
        Err(_) => false,
    }
}

/// What a store file looked like when a reader opened it without a `-wal`
/// file beside it ([`open_reader`] then reads it as immutable, without
/// SQLite's locks): its size, modification time and inode. `None` when the
/// `-wal` file exists (the store is read through SQLite's locks, and every
/// read is one snapshot) or the file cannot be read.
///
/// A writer that starts meanwhile (a `poll` from a timer, a daemon starting)
/// checkpoints pages into the main file under such a reader: it read
/// "database disk image is malformed", or a fetch half old and half new. A
/// reader compares [`quiet_stamp`] before opening and after reading, and
/// reads again when they differ ([`read_consistently`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

pub fn quiet_stamp(path: &Path) -> Option<QuietStamp> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return None;
    }
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(QuietStamp {
        len: m.len(),
        modified: m.modified().ok(),
        inode,
    })
}

/// Runs `read` (a read of the store at `path` that opens it itself) until no
/// writer changed the file under it: see [`QuietStamp`]. A read that began
/// with the `-wal` file there is taken as it is; one that began without it
/// is taken when the file is as it was, and read again (at most 5 times in
/// all) otherwise, its result or error discarded.
pub fn read_consistently<R>(path: &Path, mut read: impl FnMut() -> R) -> R {
    let mut attempt = 1;
    loop {
        let before = quiet_stamp(path);
        let result = read();
        let moved = before.is_some() && quiet_stamp(path) != before;
        if !moved || attempt == 5 {
            return result;
        }
        tracing::debug!(store = %path.display(), attempt, "a writer changed the store during a read: reading again");
        attempt += 1;
    }
}

/// A read-only connection to an existing store, of any schema version: nothing
/// in it or beside it is created or changed (see [`Store::open_read_only`]).
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    use rusqlite::OpenFlags;
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    check_store_path(path)?;
    if !path.is_file() {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        });
    }
    // (A file this user may not read: said so. SQLite said "unable to open
    // database file: file:///…?immutable=1", an address nobody wrote.)
    if let Err(e) = std::fs::File::open(path) {
        return Err(open_err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("cannot read the file: {e}")),
        )));
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if Path::new(&wal).exists() {
        Connection::open_with_flags(path, flags)
    } else {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let uri = url::Url::from_file_path(&abs)
            .map(|mut u| {
                u.set_query(Some("immutable=1"));
                u.to_string()
            })
            .map_err(|_| open_err(rusqlite::Error::InvalidPath(abs.clone())))?;
        Connection::open_with_flags(uri, flags)
    }
    .map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    Ok(conn)
}

/// How long a statement waits for a lock held by another connection.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer's connection (or, from [`Store::open_read_only`], a reader's).
pub struct Store {
    conn: Connection,
    /// The read-only connections that recognise known entries beside the
    /// writer (`None` in memory).
    readers: Option<Arc<Readers>>,
    /// Read-only stores for the pages and queries of [`SharedStore::read`]
    /// (`None` in memory).
    pages: Option<Arc<Readers<Store>>>,
    /// One read-only store of its own for `/healthz` ([`SharedStore::read_health`]).
    health: Option<Arc<Readers<Store>>>,
    /// An open group-commit transaction (see [`SharedStore::call_batched`]).
    in_batch: bool,
    batch_docs: usize,
    /// Batched writes waiting for the COMMIT that makes them durable.
    waiting: Vec<oneshot::Sender<Result<(), StoreError>>>,
    /// The error of the last failed commit; cleared by the next one that succeeds.
    commit_error: Arc<Mutex<Option<String>>>,
    /// When a fetch's write last failed for the store's own trouble (a full
    /// disk), and why: the batch may still commit (SQLite undid only that
    /// write), so `commit_error` alone said "ok" while items went unstored.
    write_failed: Arc<Mutex<Option<(i64, String)>>>,
    /// The near-duplicate index and window (see `near`).
    near: near::State,
    /// Items inserted in the open batch, indexed for search just before its
    /// COMMIT (see [`PendingSearch`]).
    pending_search: Vec<PendingSearch>,
}

/// An item to index for search when its batch commits (its id: the text is
/// read back from its row then, still in the page cache). Indexed inside each
/// fetch's savepoint instead, FTS5 writes its pending index out at every
/// savepoint (a segment per fetch, merged again later); at the end of the
/// batch it writes one. Same transaction: a reader never sees an item without
/// its index entry, and a batch that fails takes both.
pub(crate) type PendingSearch = i64;

/// Most fetches committed together in one group commit. A poll of a few new
/// items per feed fills 256 quickly: one commit per 256 fetches instead of 64
/// wrote about a fifth fewer bytes in a +5 poll of 1,000 feeds, its CPU
/// within the noise (docs/performance.md, change 37).
pub const MAX_BATCH: usize = 256;

/// Most new items indexed in one group commit, whatever the number of
/// fetches: a cold poll's batches stay as they were with 64 fetches of 50
/// items (no faster larger), and what one failed COMMIT takes with it stays
/// bounded.
pub const MAX_BATCH_ITEMS: usize = 3_200;

/// A store file with other names (hard links) is refused to writers: each
/// name has its own lock, write-ahead log and shared memory, so a writer
/// through another name saw none of this one's commits, and its WAL, replayed
/// later, threw them away without an error.
pub fn refuse_other_names(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.nlink() > 1 => Err(StoreError::OtherNames {
            path: path.to_path_buf(),
            count: meta.nlink(),
        }),
        _ => Ok(()),
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        check_store_path(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
        if path.is_dir() {
            return Err(StoreError::Folder {
                path: path.to_path_buf(),
            });
        }
        // (Every writer opens here, `enable` too, which takes no lock.)
        refuse_other_names(path)?;
        refuse_unwritable(path)?;
        refuse_cut_short(path)?;
        // (Said: a store path whose volume was not mounted yet, or moved by
        // a config edit, began an empty store without a word, and every
        // item came back as new.)
        let new = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        let conn = Connection::open(path).map_err(open_err)?;
        let mut store = Store::from_conn(conn);
        // A store of a newer feedloom is refused before anything is set on
        // it (its journal mode was switched to WAL first).
        let version = store.refuse_newer(open_err, &path.display().to_string())?;
        // Another program's database (a `places.sqlite`): refused before
        // anything is set on it (feedloom's tables were added to it).
        if version == 0 {
            refuse_foreign(&store.conn, path)?;
        }
        store.readers = Some(Arc::new(Readers::new(path, MAX_READERS, open_known_reader)));
        store.pages = Some(Arc::new(Readers::new(
            path,
            MAX_PAGE_READERS,
            open_page_reader,
        )));
        store.health = Some(Arc::new(Readers::new(path, 1, open_page_reader)));
        store.configure().map_err(open_err)?;
        store.migrate(&path.display().to_string())?;
        store.backfill_near()?;
        store.backfill_search()?;
        store.repair_times_ahead(crate::now_unix())?;
        if new {
            tracing::info!(store = %path.display(), "created a new, empty store");
        }
        Ok(store)
    }

    /// Moves to `now` the times a clock that was ahead wrote ([`TIMES_OF_FETCHES`]) (items' and
    /// stories' first seen, changed and last seen, more than ten minutes
    /// ahead): stories first seen "in 2027" stayed above every story seen
    /// since, in every output, for as long as the clock had been ahead, and
    /// their items were kept from pruning as long. Asked through the
    /// indexes (nothing to do costs four look-ups); said when done.
    pub(crate) fn repair_times_ahead(&mut self, now: i64) -> Result<(), StoreError> {
        let limit = now + 600;
        let feeds = self
            .conn
            .execute(FEEDS_FETCHED_AHEAD, [now, limit])
            .map_err(StoreError::ctx(
                "moving back the times of feeds fetched when the clock was ahead",
            ))?;
        if feeds > 0 {
            tracing::warn!(
                feeds,
                "feeds last fetched ahead of the clock (it was ahead, or has stepped back): their next fetches are counted from now"
            );
        }
        let ahead: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM items WHERE first_seen_at > ?1)
                     OR EXISTS (SELECT 1 FROM items WHERE changed_at > ?1)
                     OR EXISTS (SELECT 1 FROM stories WHERE first_seen_at > ?1)
                     OR EXISTS (SELECT 1 FROM stories WHERE changed_at > ?1)",
                [limit],
                |r| r.get(0),
            )
            .map_err(StoreError::ctx("looking for times ahead of the clock"))?;
        if !ahead {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction()
            .map_err(StoreError::ctx("moving times ahead of the clock"))?;
        let mut moved = 0;
        for &(table, column) in TIMES_OF_FETCHES {
            let n = tx
                .execute(
                    &format!("UPDATE {table} SET {column} = ?1 WHERE {column} > ?2"),
                    [now, limit],
                )
                .map_err(StoreError::ctx("moving times ahead of the clock"))?;
            if (table, column) == ("stories", "first_seen_at") {
                moved = n;
            }
        }
        tx.commit()
            .map_err(StoreError::ctx("moving times ahead of the clock"))?;
        tracing::warn!(
            stories = moved,
            "times ahead of the clock (set while it was ahead) moved to now"
        );
        Ok(())
    }

    /// Opens an existing store for reading only: nothing in it or beside it is
    /// created or changed. A missing store, or one that needs migrations, is an
    /// error (the commands that write upgrade it).
    ///
    /// While a writer runs, the store has its `-wal` and `-shm` files and is read
    /// through them as usual. Without a `-wal` file everything is in the main
    /// file, which is then read as immutable, so that SQLite does not leave
    /// `-wal`/`-shm` files behind.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        refuse_not_begun(path)?;
        refuse_cut_short(path)?;
        let conn = open_reader(path)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(open_err)?;
        let store = Store::from_conn(conn);
        let found = store.schema_version().map_err(|e| match e {
            StoreError::Sqlite { source, .. } => open_err(source),
            other => other,
        })?;
        let known = MIGRATIONS.len() as u32;
        if found > known {
            return Err(StoreError::TooNew {
                store: path.display().to_string(),
                found,
                known,
            });
        }
        if found == 0 {
            // (No version, with tables: a copy made with `sqlite3 .dump`,
            // or another program's file; `poll` refuses it, so is it named.)
            refuse_foreign(&store.conn, path)?;
        }
        if found < known {
            return Err(StoreError::NeedsUpgrade {
                path: path.to_path_buf(),
                found,
                known,
            });
        }
        Ok(store)
    }

    /// A private in-memory store (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(StoreError::ctx("opening memory store"))?;
        let mut store = Store::from_conn(conn);
        store
            .configure()
            .map_err(StoreError::ctx("configuring memory store"))?;
        store.migrate(":memory:")?;
        store.backfill_near()?;
        store.backfill_search()?;
        Ok(store)
    }

    fn from_conn(conn: Connection) -> Store {
        Store {
            conn,
            readers: None,
            pages: None,
            health: None,
            in_batch: false,
            batch_docs: 0,
            waiting: Vec::new(),
            commit_error: Arc::default(),
            write_failed: Arc::default(),
            near: near::State::default(),
            pending_search: Vec::new(),
        }
    }

    /// Commits the open group-commit transaction, if any, and tells every write
    /// in it whether it is durable. A failed COMMIT rolls the whole batch back and
    /// every write of it gets the error.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if !self.in_batch {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending_search);
        let indexed = pending.iter().try_for_each(|id| {
            type Row = (Option<String>, Option<String>, Option<String>);
            let row: Option<Row> = self
                .conn
                .prepare_cached("SELECT title, content, summary FROM items WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(StoreError::ctx("reading item to index for search"))?;
            match row {
                Some((title, content, summary)) => search::index_item(
                    &self.conn,
                    *id,
                    title.as_deref(),
                    (content.as_deref(), summary.as_deref()),
                ),
                None => Ok(()),
            }
        });
        drop(pending);
        if let Err(err) = indexed {
            let _ = self.conn.execute_batch("ROLLBACK");
            let message = crate::error::chain(&err);
            self.batch_failed(&message);
            return Err(StoreError::Commit { message });
        }
        self.in_batch = false;
        self.batch_docs = 0;
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                self.commit_succeeded();
                Ok(())
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                let err = StoreError::Sqlite {
                    context: "committing a batch of fetches",
                    source: e,
                };
                self.note_write_failure(&err);
                let message = crate::error::chain(&err);
                self.batch_failed(&message);
                Err(StoreError::Commit { message })
            }
        }
    }

    /// Remembers a write that failed for the store's own trouble (see
    /// `write_failed`): the next commit may succeed with smaller writes while
    /// every item write still fails.
    fn note_write_failure(&self, e: &StoreError) {
        if e.is_storage_failure() {
            *self.write_failed.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((crate::now_unix(), crate::error::chain(e)));
        }
    }

    /// The last commit succeeded: every waiting write is durable.
    fn commit_succeeded(&mut self) {
        // (Cleared first: a write told it is durable sees a healthy store.)
        *self.commit_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
        for w in self.waiting.drain(..) {
            let _ = w.send(Ok(()));
        }
    }

    /// The batch is gone (COMMIT failed, or SQLite rolled it back): every write
    /// in it gets the error, and the store remembers it for `/healthz`.
    fn batch_failed(&mut self, message: &str) {
        self.in_batch = false;
        self.batch_docs = 0;
        self.pending_search.clear();
        // (The near-duplicate index listed the batch's items, whose ids are
        // used again: built anew when next needed.)
        self.near = Default::default();
        // (Remembered first: a write told it failed sees the store's error.)
        *self.commit_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message.to_string());
        let n = self.waiting.len();
        for w in self.waiting.drain(..) {
            let _ = w.send(Err(StoreError::Commit {
                message: message.to_string(),
            }));
        }
        tracing::error!(
            writes = n,
            error = message,
            "a batch of fetches was not committed; those feeds count as failed"
        );
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
        // A new file gets 8 KiB pages (an existing one keeps its own: a WAL
        // file's page size cannot change). Items of a few KB filled 4 KiB pages
        // one per page, wasting up to half of each (docs/performance.md).
        self.conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        // (Page size first: setting auto_vacuum fixes it.) A new store returns the space of pruned rows to the file system in
        // steps (`prune`); on an existing store this does nothing until a VACUUM.
        self.conn
            .pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        // WAL: readers (sqlite3, scripts) never block the daemon, nor it them.
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 8 MiB of page cache instead of 2: storing an item touches a dozen
        // indexes, and cache misses made cold polls of large stores slow. 16
        // MiB bought no CPU at 1,000 or 10,000 feeds nor at a million items,
        // for 8–20 MiB more peak RSS (docs/performance.md, change 27).
        self.conn
            .pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // The per-fetch savepoints' journal stays in memory: it was written to a
        // temporary file for every feed of a batch (10% of a cold poll).
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Checkpoint every 32 MiB of WAL instead of 8 MiB (1000 pages): index
        // pages rewritten by many commits are copied back once, not four times.
        self.conn
            .pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
        // Plans must not depend on bound values: otherwise this SQLite build
        // (STAT4) re-parses hot statements whenever their parameters change.
        self.conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        self.conn.set_prepared_statement_cache_capacity(64);
        Ok(())
    }

    /// The schema version, refused when a newer feedloom wrote it.
    fn refuse_newer(
        &self,
        read_error: impl FnOnce(rusqlite::Error) -> StoreError,
        store: &str,
    ) -> Result<u32, StoreError> {
        let current: u32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(read_error)?;
        let known = MIGRATIONS.len() as u32;
        if current > known {
            return Err(StoreError::TooNew {
                store: store.to_string(),
                found: current,
                known,
            });
        }
        Ok(current)
    }

    /// Applies every migration newer than `PRAGMA user_version`, each in its own
    /// transaction together with the version bump.
    fn migrate(&mut self, store: &str) -> Result<(), StoreError> {
        // (A file's version was checked when it opened: this is for memory.)
        let current = self.refuse_newer(StoreError::ctx("reading schema version"), ":memory:")?;
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = i as u32 + 1;
            let fail = |source| StoreError::Migration {
                store: store.to_string(),
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
        // (Said: a store upgraded could no longer be opened by the
        // feedloom before, and nothing told the operator.)
        let known = MIGRATIONS.len() as u32;
        if current > 0 && current < known && store != ":memory:" {
            tracing::info!(
                store,
                from = current,
                to = known,
                "upgraded the store's schema (a feedloom older than this one can no longer open it)"
            );
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
        // The read-only connections close first, so that the writer's is the
        // last one and checkpoints and removes the -wal file as before.
        if let Some(r) = &self.readers {
            r.close();
        }
        if let Some(r) = &self.pages {
            r.close();
        }
        if let Some(r) = &self.health {
            r.close();
        }
        if let Err(e) = self.flush() {
            tracing::error!(error = %crate::error::chain(&e), "last batch of fetches not committed");
        }
    }
}

/// The store shared between tasks; batched writes run on its writer thread,
/// every other call on a blocking thread.
///
/// Writes of fetch results go through [`SharedStore::call_batched`], run in
/// order by one writer thread: while other fetches are queued for the store,
/// their writes share one transaction (group commit, at most [`MAX_BATCH`]);
/// each one is still atomic on its own (a
/// savepoint), so a feed's items and validators are always committed together.
/// A batched call returns only once the COMMIT covering it is done, with that
/// COMMIT's error if it failed. Every other call commits an open batch first, so
/// it sees everything written.
#[derive(Clone)]
pub struct SharedStore {
    /// The writer thread; declared first so that, when the last handle goes,
    /// the thread has finished before the store itself is dropped (and closed,
    /// its -wal file checkpointed and removed) on the dropping thread.
    writer: Arc<Writer>,
    store: Arc<Mutex<Store>>,
    /// Read-only connections for [`SharedStore::mark_known`].
    readers: Option<Arc<Readers>>,
    /// Read-only stores for [`SharedStore::read`].
    pages: Option<Arc<Readers<Store>>>,
    /// The read-only store of [`SharedStore::read_health`].
    health: Option<Arc<Readers<Store>>>,
    commit_error: Arc<Mutex<Option<String>>>,
    write_failed: Arc<Mutex<Option<(i64, String)>>>,
    /// The store's file as opened (path, device, inode); `None` in memory.
    file: Option<(std::path::PathBuf, u64, u64)>,
}

/// A pool of read-only connections (or stores) beside the writer: those of
/// [`SharedStore::mark_known`] and those of [`SharedStore::read`].
struct Readers<T = Connection> {
    path: std::path::PathBuf,
    idle: Mutex<Pool<T>>,
    returned: std::sync::Condvar,
    /// The store closed: no more reading.
    closed: std::sync::atomic::AtomicBool,
    /// Most open at once.
    max: usize,
    open: fn(&Path) -> Option<T>,
}

struct Pool<T> {
    idle: Vec<T>,
    /// Connections open, idle or in use.
    open: usize,
}

/// Most read-only connections open at once for [`SharedStore::mark_known`]
/// (each has its own page cache; the machine's two cores parse two documents
/// at a time anyway).
const MAX_READERS: usize = 2;

/// Most read-only stores open at once for [`SharedStore::read`] (pages,
/// search, metrics): more readers wait for one to come back.
const MAX_PAGE_READERS: usize = 2;

/// Page cache of one [`SharedStore::read`] store, in KiB: a search at a
/// million items reads a few MB of index.
const PAGE_READER_CACHE_KIB: i64 = 8_192;

/// The writer's page cache, in KiB (`PRAGMA cache_size`).
const WRITER_CACHE_KIB: i64 = 8_192;

fn read_only_conn(path: &Path) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

fn open_known_reader(path: &Path) -> Option<Connection> {
    let conn = read_only_conn(path).ok()?;
    conn.busy_timeout(Duration::from_millis(100)).ok()?;
    // Small: a reader looks up a few keys of one feed at a time.
    conn.pragma_update(None, "cache_size", -1024).ok()?;
    conn.set_prepared_statement_cache_capacity(4);
    Some(conn)
}

fn open_page_reader(path: &Path) -> Option<Store> {
    let open = || -> rusqlite::Result<Connection> {
        let conn = read_only_conn(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.pragma_update(None, "cache_size", -PAGE_READER_CACHE_KIB)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    };
    match open() {
        Ok(conn) => Some(Store::from_conn(conn)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot open a read-only connection; reading through the writer");
            None
        }
    }
}

impl<T> Readers<T> {
    fn new(path: &Path, max: usize, open: fn(&Path) -> Option<T>) -> Readers<T> {
        Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Pool {
                idle: Vec::new(),
                open: 0,
            }),
            returned: std::sync::Condvar::new(),
            closed: Default::default(),
            max,
            open,
        }
    }

    fn take(&self) -> Option<T> {
        let mut pool = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(c) = pool.idle.pop() {
                return Some(c);
            }
            if pool.open < self.max {
                break;
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
        pool.open += 1;
        drop(pool);
        let conn = (self.open)(&self.path);
        if conn.is_none() {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).open -= 1;
            self.returned.notify_one();
        }
        conn
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let mut pool = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        pool.open -= pool.idle.len();
        pool.idle.clear();
        self.returned.notify_all();
    }

    /// One taken earlier was dropped instead of given back.
    fn give_back_none(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).open -= 1;
        self.returned.notify_one();
    }

    fn give_back(&self, conn: T) {
        let mut pool = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::SeqCst) {
            pool.open -= 1;
            drop(pool);
            drop(conn);
        } else {
            pool.idle.push(conn);
            drop(pool);
        }
        self.returned.notify_one();
    }
}

/// Says whether the COMMIT covering a batched write succeeded.
type Committed = oneshot::Receiver<Result<(), StoreError>>;

/// A batched write that ran but may not be durable yet.
#[must_use = "a batched write is durable only once `committed` says so"]
pub struct Uncommitted<R> {
    value: R,
    committed: Option<Committed>,
}

impl<R> Uncommitted<R> {
    /// A write that is durable already (its own transaction committed).
    pub fn done(value: R) -> Uncommitted<R> {
        Uncommitted {
            value,
            committed: None,
        }
    }

    /// Waits for the COMMIT covering the write: its value once durable, else the
    /// commit's error.
    pub async fn committed(self) -> Result<R, StoreError> {
        match self.committed {
            None => Ok(self.value),
            Some(rx) => match rx.await {
                Ok(Ok(())) => Ok(self.value),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(StoreError::Commit {
                    message: "the store closed before the batch was committed".into(),
                }),
            },
        }
    }
}

/// A batched write, as the writer thread runs it.
type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// The writer thread of a shared store, and the way to give it batched writes.
/// Dropping the last handle lets the thread run what is queued, then waits for
/// it to end: once the last [`SharedStore`] is gone the store is closed, not
/// closing on another thread while the process goes on (or exits).
struct Writer {
    /// Batched writes, run by the store's writer thread ([`writer_loop`]).
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Set when the last handle goes: writes still queued then are dropped,
    /// not run (see [`writer_loop`]).
    closing: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            // (A job dropping the last handle runs on the writer itself.)
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// Starts the writer thread of a shared store.
fn spawn_writer(store: Weak<Mutex<Store>>) -> Writer {
    let (tx, rx) = mpsc::channel::<Job>();
    let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let thread = std::thread::Builder::new()
        .name("feedloom-writer".into())
        .spawn({
            let closing = closing.clone();
            move || writer_loop(&store, &rx, &closing)
        })
        .expect("cannot start the store's writer thread");
    Writer {
        jobs: Some(tx),
        thread: Some(thread),
        closing,
    }
}

/// The writer thread: runs batched writes in the order they come, every write
/// waiting meanwhile in the same transaction (at most [`MAX_BATCH`] fetches
/// or [`MAX_BATCH_ITEMS`] new items per COMMIT), and commits as soon as none is waiting or the batch is full; it
/// lets go of the store between batches, so that other calls get their turn.
/// One thread holding the store through a batch, instead of a blocking task
/// per write taking turns at its lock, saves a thread hand-off and a contended
/// lock per fetch. It ends when the last [`SharedStore`] is dropped; the
/// writes still queued then (of fetches a stop abandoned) are dropped
/// unrun: behind another process's write lock, each waited out the busy
/// timeout, and the daemon's stop took 48 s past "stopped".
fn writer_loop(
    store: &Weak<Mutex<Store>>,
    jobs: &mpsc::Receiver<Job>,
    closing: &std::sync::atomic::AtomicBool,
) {
    let closing = || closing.load(std::sync::atomic::Ordering::SeqCst);
    while let Ok(job) = jobs.recv() {
        // (The store is gone, or going: the job is dropped, and its caller
        // told so.)
        if closing() {
            continue;
        }
        let Some(inner) = store.upgrade() else {
            continue;
        };
        let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
        job(&mut store);
        while store.batch_docs < MAX_BATCH
            && store.pending_search.len() < MAX_BATCH_ITEMS
            && !closing()
        {
            match jobs.try_recv() {
                Ok(job) => job(&mut store),
                Err(_) => break,
            }
        }
        let _ = store.flush();
    }
}

impl Store {
    /// One fetch's write `f` in the current batch (see
    /// [`SharedStore::write_batched`]); the writer thread commits.
    fn run_batched<R>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<R, StoreError>,
    ) -> Result<(R, Option<Committed>), StoreError> {
        // (A batch that cannot start, another process holding the write
        // lock, is the store's trouble too: /healthz said "ok" meanwhile.)
        if let Err(e) = self.begin_batch() {
            self.note_write_failure(&e);
            return Err(e);
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(StoreError::Worker(format!(
                    "a store write panicked: {what}"
                )))
            });
        if let Err(e) = &result {
            self.note_write_failure(e);
        }
        if self.conn.is_autocommit() {
            // SQLite rolled the whole batch back (disk full, I/O error): the
            // earlier writes of the batch are lost with this one.
            let message = match &result {
                Err(e) => crate::error::chain(e),
                Ok(_) => "SQLite rolled the batch back".to_string(),
            };
            self.batch_failed(&message);
            return match result {
                Err(e) => Err(e),
                Ok(_) => Err(StoreError::Commit { message }),
            };
        }
        self.batch_docs += 1;
        let value = result?;
        let (tx, rx) = oneshot::channel();
        self.waiting.push(tx);
        Ok((value, Some(rx)))
    }
}

impl SharedStore {
    pub fn new(store: Store) -> SharedStore {
        let commit_error = store.commit_error.clone();
        let write_failed = store.write_failed.clone();
        let readers = store.readers.clone();
        let pages = store.pages.clone();
        let health = store.health.clone();
        let file = store
            .conn
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
            .and_then(|p| {
                use std::os::unix::fs::MetadataExt;
                let m = std::fs::metadata(&p).ok()?;
                Some((p, m.dev(), m.ino()))
            });
        let store = Arc::new(Mutex::new(store));
        SharedStore {
            readers,
            pages,
            health,
            writer: Arc::new(spawn_writer(Arc::downgrade(&store))),
            store,
            commit_error,
            write_failed,
            file,
        }
    }

    /// Whether the store's file was deleted or replaced since it was opened:
    /// what is stored since goes to a file nobody can open again, and is lost
    /// when the process ends. (It kept logging "fetched ok" and `/healthz`
    /// said "ok".)
    pub fn file_gone(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let (path, dev, ino) = self.file.as_ref()?;
        let why = match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "was deleted",
            Err(_) => return None,
            Ok(m) if (m.dev(), m.ino()) != (*dev, *ino) => "was replaced by another file",
            Ok(_) => return None,
        };
        Some(format!(
            "the store file {} {why} while this process has it open: what it stores now is lost when it stops; restore the file (or stop, then start it on a new store)",
            path.display()
        ))
    }

    /// When a fetch's write last failed for the store's own trouble (Unix
    /// seconds), and why (see `Store::write_failed`).
    pub fn write_failed(&self) -> Option<(i64, String)> {
        self.write_failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The error of the last commit, while the last commit failed.
    pub fn commit_error(&self) -> Option<String> {
        self.commit_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `f` with the store on a blocking thread, after committing any open
    /// batch (a failed commit is reported to the batch's writes, not to `f`).
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
            let _ = store.flush();
            f(&mut store)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs `f` on a blocking thread with a read-only store of its own: it
    /// never waits for the writer (nor the writer for it), and sees what was
    /// committed when it started, as one snapshot (a batch still open is not
    /// seen). For pages and queries that only read: search, river pages,
    /// health, metrics. An in-memory store (tests) reads through the writer.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.read_in(self.pages.clone(), f).await
    }

    /// [`SharedStore::read`] through a read-only store kept for `/healthz`:
    /// health never waits behind searches and pages (forty searches at once
    /// held `/healthz` for seconds, long enough for a load balancer to take
    /// a busy instance out).
    pub async fn read_health<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.read_in(self.health.clone(), f).await
    }

    async fn read_in<R, F>(&self, pool: Option<Arc<Readers<Store>>>, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let Some(pages) = pool else {
            return self.call(move |s| f(s)).await;
        };
        let inner = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let Some(store) = pages.take() else {
                // The store is closing, or no reader could be opened.
                let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
                let _ = store.flush();
                return f(&store);
            };
            let result = (|| {
                store
                    .conn
                    .execute_batch("BEGIN")
                    .map_err(StoreError::ctx("starting a read"))?;
                let result = f(&store);
                let _ = store.conn.execute_batch("COMMIT");
                result
            })();
            if store.conn.is_autocommit() {
                pages.give_back(store);
            } else {
                // Never hand on a reader stuck in a transaction.
                drop(store);
                pages.give_back_none();
            }
            result
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs one fetch's write `f` inside the current batch; commits the batch when
    /// no other batched write is waiting, or when it is full. `f` must make its
    /// changes inside a savepoint (as every `Store` write method does).
    ///
    /// Returns once the batch's COMMIT is done: `Ok` means the write is durable.
    /// When the COMMIT fails, or SQLite rolls the batch back, every write of the
    /// batch gets [`StoreError::Commit`].
    pub async fn call_batched<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.write_batched(f).await?.committed().await
    }

    /// [`SharedStore::call_batched`] in two steps: this returns once `f` has
    /// run (its savepoint released, not yet durable), so that the caller can let
    /// go of what it no longer needs (its fetch slot) before waiting for the
    /// COMMIT with [`Uncommitted::committed`].
    pub async fn write_batched<R, F>(&self, f: F) -> Result<Uncommitted<R>, StoreError>
    where
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |store: &mut Store| {
            let _ = tx.send(store.run_batched(f));
        });
        let gone = || StoreError::Worker("the store's writer thread has stopped".into());
        let jobs = self.writer.jobs.as_ref().ok_or_else(gone)?;
        jobs.send(job).map_err(|_| gone())?;
        let (value, committed) = rx.await.map_err(|_| gone())??;
        Ok(Uncommitted { value, committed })
    }

    /// Marks the entries the store already holds for `feed_id` with the same
    /// key and content hash as [`Identified::known`], reading through a
    /// read-only connection of its own: it never waits for the writer, and sees
    /// what was committed. Call it on a blocking thread, before fingerprinting,
    /// so that known, unchanged entries (most of every 200 response) cost no more
    /// work. An error leaves entries unmarked: the writer decides anyway.
    pub fn mark_known(&self, feed_id: i64, items: &mut [Identified]) {
        let Some(readers) = &self.readers else {
            return;
        };
        let Some(conn) = readers.take() else {
            return;
        };
        let mut read = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN")?;
            let mut st = conn
                .prepare_cached("SELECT content_hash FROM items WHERE feed_id = ?1 AND key = ?2")?;
            for it in items.iter_mut() {
                let stored: Option<String> = st
                    .query_row(rusqlite::params![feed_id, it.key], |r| r.get(0))
                    .optional()?;
                it.known = stored.is_some_and(|h| h == it.content_hash);
            }
            Ok(())
        };
        let ok = read().is_ok();
        if !ok {
            for it in items.iter_mut() {
                it.known = false;
            }
        }
        let _ = conn.execute_batch("COMMIT");
        readers.give_back(conn);
    }

    /// [`Backend::stored_dates`] of a SQLite store, read like
    /// [`SharedStore::mark_known`].
    pub fn stored_dates(&self, feed_id: i64, keys: &[String]) -> Vec<(String, api::StoredDates)> {
        let Some(readers) = &self.readers else {
            return Vec::new();
        };
        let Some(conn) = readers.take() else {
            return Vec::new();
        };
        let read = || -> rusqlite::Result<Vec<(String, api::StoredDates)>> {
            let mut st = conn.prepare_cached(
                "SELECT published_at, updated_at FROM items WHERE feed_id = ?1 AND key = ?2
                   AND id < (SELECT cursor FROM store_tasks WHERE task = 'date_order')",
            )?;
            let mut out = Vec::new();
            for key in keys {
                let at = st
                    .query_row(rusqlite::params![feed_id, key], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                if let Some(at) = at {
                    out.push((key.clone(), at));
                }
            }
            Ok(out)
        };
        let out = read().unwrap_or_default();
        readers.give_back(conn);
        out
    }

    /// The feed's `entry_seals` ([`crate::identity::encode_seals`]) as committed,
    /// read like [`SharedStore::mark_known`] (never waiting for the writer).
    /// `None` when there are none or they cannot be read: the document is then
    /// parsed whole, which is always correct.
    pub fn entry_seals(&self, feed_id: i64) -> Option<Vec<u8>> {
        let readers = self.readers.as_ref()?;
        let conn = readers.take()?;
        let seals = conn
            .prepare_cached("SELECT entry_seals FROM feeds WHERE id = ?1")
            .and_then(|mut s| s.query_row([feed_id], |r| r.get(0)).optional())
            .ok()
            .flatten()
            .flatten();
        readers.give_back(conn);
        seals
    }

    /// Runs `f` with the store on the current thread (outside async code), after
    /// committing any open batch.
    pub fn with<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let _ = store.flush();
        f(&mut store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wall clock stepped back an hour while the daemon ran: the
    /// schedule moves back as much (no earlier than now), fetch times ahead
    /// of now are now; a feed never fetched, or due already, keeps its time.
    /// A store opened after such a step counts each feed's last wait from
    /// now instead.
    #[test]
    fn the_schedule_follows_a_clock_that_stepped_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let cfg = crate::config::parse(
            "[[feed]]\nurl = \"https://h.example/a\"\n[[feed]]\nurl = \"https://h.example/b\"\n\
             [[feed]]\nurl = \"https://h.example/c\"\n[[feed]]\nurl = \"https://h.example/d\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        let now = 1_700_000_000;
        let mut store = Store::open(&path).unwrap();
        store.sync_config(&cfg.feeds).unwrap();
        let set = |s: &Store, rows: &str| s.conn().execute_batch(rows).unwrap();
        let times = |s: &Store, f: &str| -> (Option<i64>, Option<i64>, Option<i64>) {
            s.conn()
                .query_row(
                    "SELECT next_fetch_at, last_fetch_at, last_success_at FROM feeds WHERE url LIKE ?1",
                    [format!("%/{f}")],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap()
        };
        // a: fetched a second before the step, due a minute after it; b: due
        // at the step's second; c: due in two hours; d: never fetched.
        set(
            &store,
            &format!(
                "UPDATE feeds SET last_fetch_at = {0} + 3599, last_success_at = {0} + 3599,
                     next_fetch_at = {0} + 3660 WHERE url LIKE '%/a';
                 UPDATE feeds SET last_fetch_at = {0} - 100, next_fetch_at = {0} + 3600 WHERE url LIKE '%/b';
                 UPDATE feeds SET last_fetch_at = {0} - 100, next_fetch_at = {0} + 10800 WHERE url LIKE '%/c';",
                now
            ),
        );
        assert_eq!(store.clock_stepped_back(now, 3_600).unwrap(), 3);
        assert_eq!(times(&store, "a"), (Some(now + 60), Some(now), Some(now)));
        assert_eq!(times(&store, "b"), (Some(now), Some(now - 100), None));
        assert_eq!(
            times(&store, "c"),
            (Some(now + 7_200), Some(now - 100), None)
        );
        assert_eq!(times(&store, "d"), (None, None, None));
        // Opened after a step of three hours: a feed fetched ahead waits what
        // it was to wait then, counted from now; one fetched in the last ten
        // minutes, or before, keeps its times.
        set(
            &store,
            &format!(
                "UPDATE feeds SET last_fetch_at = {0} + 10800, last_success_at = {0} + 10000,
                     next_fetch_at = {0} + 10900 WHERE url LIKE '%/a';
                 UPDATE feeds SET last_fetch_at = {0} + 500, next_fetch_at = {0} + 600 WHERE url LIKE '%/b';",
                now
            ),
        );
        store.repair_times_ahead(now).unwrap();
        assert_eq!(times(&store, "a"), (Some(now + 100), Some(now), Some(now)));
        assert_eq!(times(&store, "b"), (Some(now + 600), Some(now + 500), None));
        assert_eq!(
            times(&store, "c"),
            (Some(now + 7_200), Some(now - 100), None)
        );
    }

    #[test]
    fn syncing_the_same_config_writes_nothing_and_a_changed_one_its_changes() {
        use super::model::FeedSpec;
        let spec = |url: &str, title: Option<&str>, tags: &[&str]| FeedSpec {
            url: url.to_string(),
            title: title.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            url_with_credentials: None,
        };
        let (a, b, c) = (
            "https://a.example/feed",
            "https://b.example/feed",
            "https://c.example/feed",
        );
        let mut store = Store::open_in_memory().unwrap();
        let changes = |s: &Store| -> i64 {
            s.conn()
                .query_row("SELECT total_changes()", [], |r| r.get(0))
                .unwrap()
        };
        let rows = |s: &Store| -> Vec<(String, Option<String>, bool, Option<String>)> {
            s.conn()
                .prepare(
                    "SELECT url, title, in_config,
                            (SELECT group_concat(tag, ',') FROM
                               (SELECT tag FROM feed_tags WHERE feed_id = feeds.id ORDER BY tag))
                     FROM feeds ORDER BY url",
                )
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let first = [spec(a, Some("A"), &["y", "x", "x"]), spec(b, None, &[])];
        let ids = |refs: Vec<feeds::FeedRef>| refs.iter().map(|f| f.id).collect::<Vec<_>>();
        let synced = ids(store.sync_config(&first).unwrap());
        let before = changes(&store);
        assert_eq!(ids(store.sync_config(&first).unwrap()), synced);
        assert_eq!(
            changes(&store),
            before,
            "the same config again rewrote rows"
        );
        let row = |url: &str, title: Option<&str>, on: bool, tags: Option<&str>| {
            (
                url.to_string(),
                title.map(str::to_string),
                on,
                tags.map(str::to_string),
            )
        };
        assert_eq!(
            rows(&store),
            [
                row(a, Some("A"), true, Some("x,y")),
                row(b, None, true, None)
            ]
        );

        // A's title and tags change, B leaves the config, C joins it.
        let second = [spec(a, Some("A2"), &["z", "y"]), spec(c, None, &["x"])];
        let refs = store.sync_config(&second).unwrap();
        assert_eq!(refs[0].id, synced[0]);
        assert_eq!(
            rows(&store),
            [
                row(a, Some("A2"), true, Some("y,z")),
                row(b, None, false, None),
                row(c, None, true, Some("x")),
            ]
        );
        // B comes back as it was; A loses its title and tags.
        let third = [spec(a, None, &[]), spec(b, None, &[])];
        assert_eq!(ids(store.sync_config(&third).unwrap()), synced);
        assert_eq!(
            rows(&store),
            [
                row(a, None, true, None),
                row(b, None, true, None),
                row(c, None, false, Some("x")),
            ]
        );
    }

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
        // The search index buffers 4 MiB of new entries per transaction and
        // merges 16 segments at a time (version 10), and keeps deletes from
        // rewriting segments (version 4).
        let option = |k: &str| -> i64 {
            store
                .conn()
                .query_row("SELECT v FROM search_config WHERE k = ?1", [k], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        assert_eq!(option("hashsize"), 4 << 20);
        assert_eq!(option("automerge"), 16);
        // ... and merges all segments of a size at once only at 64 of them
        // (version 11).
        assert_eq!(option("crisismerge"), 64);
        assert_eq!(option("deletemerge"), 0);
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
        assert_eq!(
            count("SELECT count(*) FROM search_docsize"),
            45,
            "every stored item is indexed for search, and no other"
        );
    }

    /// New items of a group commit are indexed for search at its COMMIT: an
    /// item changed later in the same batch is found by its new text only, and
    /// a fetch that failed in between takes nothing of the others with it.
    #[test]
    fn items_of_a_batch_are_searchable_with_their_latest_text() {
        use crate::fetch::Validators;
        use crate::identity::identify_document;
        use crate::parse::Entry;
        use crate::store::feeds::{FetchRecord, Reschedule};
        use crate::store::items::{DocumentMeta, StoryRules};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let cfg = crate::config::parse(
            "[[feed]]\nurl = \"https://h.example/f\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        let mut store = Store::open(&path).unwrap();
        store
            .conn()
            .execute_batch(
                "CREATE TEMP TRIGGER boom BEFORE INSERT ON items
                 WHEN NEW.guid = 'bad' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
            )
            .unwrap();
        let feed = store.sync_config(&cfg.feeds).unwrap().remove(0);
        let doc = |entries: &[(&str, &str)]| {
            identify_document(
                entries
                    .iter()
                    .map(|(g, t)| Entry {
                        guid: Some(g.to_string()),
                        title: Some(t.to_string()),
                        ..Entry::default()
                    })
                    .collect(),
            )
        };
        let apply = |s: &mut Store, items: &[crate::identity::Identified]| {
            s.apply_document(
                &feed,
                &FetchRecord::default(),
                &Validators::default(),
                &DocumentMeta::default(),
                items,
                &Reschedule::default(),
                &StoryRules::default(),
            )
        };
        store.begin_batch().unwrap();
        apply(&mut store, &doc(&[("a", "alpha zebra"), ("b", "beta")])).unwrap();
        let changed = apply(&mut store, &doc(&[("a", "alpha yak"), ("b", "beta")])).unwrap();
        assert_eq!(changed.updated, 1);
        assert!(apply(&mut store, &doc(&[("c", "gamma"), ("bad", "x")])).is_err());
        store.flush().unwrap();
        drop(store);
        let reader = Connection::open(&path).unwrap();
        let count = |sql: &str| -> i64 { reader.query_row(sql, [], |r| r.get(0)).unwrap() };
        let hits = |word: &str| {
            count(&format!(
                "SELECT count(*) FROM search WHERE search MATCH '{word}'"
            ))
        };
        assert_eq!(
            (hits("yak"), hits("zebra"), hits("beta"), hits("gamma")),
            (1, 0, 1, 0)
        );
        assert_eq!(count("SELECT count(*) FROM search_docsize"), 2);
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
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM store_tasks WHERE task = 'near_fingerprints'"
            ),
            0
        );
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

    /// Opening a store whose one-time work is done reads no item: it looks at
    /// two bookkeeping tables, by primary key or empty, whatever the store's size.
    #[test]
    fn opening_never_scans_the_items_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let plan = |sql: &str| -> String {
            store
                .conn()
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .join("; ")
        };
        let tasks = plan("SELECT cursor FROM store_tasks WHERE task = 'near_fingerprints'");
        assert!(tasks.contains("USING PRIMARY KEY"), "{tasks}");
        let count = |sql: &str| -> i64 { store.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT count(*) FROM store_tasks WHERE task = 'near_fingerprints'"),
            0
        );
        assert_eq!(count("SELECT count(*) FROM search_backfill"), 0);
    }

    /// Without `items_feed_canonical` (dropped in 0006), an item is still found by
    /// link within its feed through an index, not by reading the feed's items.
    #[test]
    fn guid_churn_lookup_by_link_uses_an_index() {
        let store = Store::open_in_memory().unwrap();
        // The GUID-churn look-up by link goes through items_canonical (the
        // index on (feed_id, canonical_url) is gone since 0006).
        let churn: String = store
            .conn()
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM items WHERE feed_id = 1 AND canonical_url = 'x' LIMIT 2",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(churn.contains("INDEX items_canonical"), "{churn}");
    }

    /// A store of schema version 3 (before the performance migration) keeps its
    /// items and stories, gains the new columns and indexes, and the next
    /// identical body is recognised once a document has been stored.
    #[test]
    fn a_version_3_store_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        {
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "PRAGMA user_version = 3;
                 INSERT INTO feeds (id, url, created_at) VALUES (1, 'https://a.example/f', 0);
                 INSERT INTO stories (id, uid, first_seen_at, changed_at) VALUES (1, 'urn:feedloom:1', 10, 10);
                 INSERT INTO items (feed_id, key, key_kind, uid, guid, url, canonical_url, title,
                     content, content_hash, first_seen_at, last_seen_at, changed_at, story_id, text_hash)
                 VALUES (1, 'guid:1', 'guid', 'urn:feedloom:1', '1', 'https://a.example/1',
                     '//a.example/1', 'One', 'text', 'h', 10, 10, 10, 1, 't');
                 INSERT INTO fetches (feed_id, started_at, duration_ms, outcome) VALUES (1, 10, 5, 'ok');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        let one = |sql: &str| -> i64 { store.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("SELECT count(*) FROM items WHERE story_id = 1"), 1);
        assert_eq!(
            one("SELECT count(*) FROM feeds WHERE body_hash IS NULL AND body_stored_at IS NULL"),
            1
        );
        assert_eq!(one("SELECT count(*) FROM fetches WHERE unchanged = 0"), 1);
        let index = |name: &str| -> i64 {
            store
                .conn()
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(index("items_feed_canonical"), 0);
        assert_eq!(index("items_canonical"), 1);
        // An existing file keeps its page size (only new files get PAGE_SIZE).
        assert_eq!(one("PRAGMA page_size"), 4096);
        drop(store);
        let fresh = Store::open(&dir.path().join("new.db")).unwrap();
        let page: i64 = fresh
            .conn()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(page, PAGE_SIZE);
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let _: String = conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path).err().unwrap();
        assert!(err.to_string().contains("999"), "{err}");
        // Left as it was: not switched to WAL first.
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(!dir.path().join("f.db-wal").exists());
    }

    /// Runs `n` batched writes at once (queued while the store is busy, so they
    /// share batches); write `i` inserts a feed row `u{i}` with a title of
    /// `size(i)` bytes. Returns which calls reported success.
    async fn concurrent_writes(
        shared: &SharedStore,
        n: usize,
        size: fn(usize) -> usize,
    ) -> Vec<bool> {
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let hold = shared.clone();
        // Hold the store until every write is queued behind it.
        let holder = tokio::task::spawn_blocking(move || {
            hold.with(|_| {
                started_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
            })
        });
        started_rx.recv().unwrap();
        let mut tasks = Vec::new();
        for i in 0..n {
            let shared = shared.clone();
            tasks.push(tokio::spawn(async move {
                shared
                    .call_batched(move |s| {
                        let sp = s.conn.savepoint().map_err(StoreError::ctx("test write"))?;
                        sp.execute(
                            "INSERT INTO feeds (url, title, created_at) VALUES (?1, ?2, 0)",
                            rusqlite::params![format!("u{i}"), "x".repeat(size(i))],
                        )
                        .map_err(StoreError::ctx("test write"))?;
                        sp.commit().map_err(StoreError::ctx("test write"))
                    })
                    .await
            }));
        }
        holder.await.unwrap();
        let mut ok = Vec::new();
        for t in tasks {
            ok.push(t.await.unwrap().is_ok());
        }
        ok
    }

    fn durable(path: &Path, n: usize) -> Vec<bool> {
        let reader = Connection::open(path).unwrap();
        (0..n)
            .map(|i| {
                reader
                    .query_row(
                        "SELECT count(*) FROM feeds WHERE url = ?1",
                        [format!("u{i}")],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap()
                    == 1
            })
            .collect()
    }

    /// A full disk mid-batch: SQLite rolls the whole batch back. Every write that
    /// was reported stored must really be in the file, and no other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_disk_reports_every_write_of_the_lost_batch_as_failed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let store = Store::open(&path).unwrap();
        let pages: i64 = store
            .conn()
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        // Room for a few small rows; a big one does not fit: SQLITE_FULL.
        store
            .conn()
            .pragma_update(None, "max_page_count", pages + 8)
            .unwrap();
        let shared = SharedStore::new(store);
        let n = 24;
        let ok = concurrent_writes(&shared, n, |i| if i % 6 == 5 { 200_000 } else { 10 }).await;
        // A lost batch is remembered (for /healthz) until a commit succeeds.
        let big = "x".repeat(200_000);
        let lone = shared
            .call_batched(move |s| {
                s.conn
                    .execute(
                        "INSERT INTO feeds (url, title, created_at) VALUES ('big', ?1, 0)",
                        [big],
                    )
                    .map_err(StoreError::ctx("test write"))
            })
            .await;
        assert!(lone.is_err());
        assert!(
            shared.commit_error().is_some_and(|e| e.contains("full")),
            "{:?}",
            shared.commit_error()
        );
        // A small write commits again: the commit error clears, but /healthz
        // still says the store failed a write (items still do not fit) for a
        // while; it flapped back to "ok" with every small commit.
        shared
            .call_batched(|s| {
                s.conn
                    .execute(
                        "INSERT INTO feeds (url, created_at) VALUES ('small', 0)",
                        [],
                    )
                    .map_err(StoreError::ctx("test write"))
            })
            .await
            .unwrap();
        assert_eq!(shared.commit_error(), None);
        let backend = Backend::Sqlite(shared.clone());
        let now = crate::now_unix();
        let said = backend.store_error(now).expect("a recent failed write");
        assert!(
            said.contains("a write failed") && said.contains("full"),
            "{said}"
        );
        assert_eq!(backend.store_error(now + api::WRITE_FAILED_FOR + 1), None);
        drop(backend);
        drop(shared);
        assert_eq!(ok, durable(&path, n), "reported stored = really stored");
        assert!(ok.iter().any(|o| !o), "big writes fail");
        assert!(
            (0..n).filter(|i| i % 6 != 5).any(|i| !ok[i]),
            "small writes batched with a big one are lost with it, and say so: {ok:?}"
        );
    }

    /// A COMMIT that fails (here: a deferred foreign key still violated) fails
    /// every write of its batch; the next good commit clears the store's error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_its_whole_batch_and_the_next_commit_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let store = Store::open(&path).unwrap();
        store
            .conn()
            .execute_batch(
                "CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TEMP TABLE child (
                     parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
                 CREATE TEMP TRIGGER orphan AFTER INSERT ON main.feeds WHEN NEW.url = 'u3'
                 BEGIN INSERT INTO child (parent_id) VALUES (-1); END;",
            )
            .unwrap();
        let shared = SharedStore::new(store);
        let n = 8;
        let ok = concurrent_writes(&shared, n, |_| 10).await;
        assert!(!ok[3], "the write whose COMMIT failed");
        assert!(ok.iter().filter(|o| !**o).count() >= 2, "{ok:?}");
        let write = |url: &'static str| {
            shared.call_batched(move |s| {
                s.conn
                    .execute("INSERT INTO feeds (url, created_at) VALUES (?1, 0)", [url])
                    .map_err(StoreError::ctx("test write"))
            })
        };
        // A failed COMMIT is remembered; the next successful one clears it.
        let err = write("u3").await.unwrap_err().to_string();
        assert!(
            err.contains("could not commit") && err.contains("FOREIGN KEY"),
            "{err}"
        );
        let remembered = shared.commit_error().expect("remembered");
        assert!(remembered.contains("FOREIGN KEY"), "{remembered}");
        write("later").await.unwrap();
        assert_eq!(shared.commit_error(), None);
        drop(shared);
        assert_eq!(ok, durable(&path, n), "reported stored = really stored");
    }

    /// A store at version 10 gets `crisismerge = 64` on upgrade (version 11);
    /// what its search index holds is found as before.
    #[test]
    fn a_version_10_store_merges_its_search_index_less_eagerly_after_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        {
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..10] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "PRAGMA user_version = 10;
                 INSERT INTO search (rowid, title, body)
                 VALUES (7, 'Volcano erupts', 'The harbour closed');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        let crisis: Option<i64> = store
            .conn()
            .query_row(
                "SELECT v FROM search_config WHERE k = 'crisismerge'",
                [],
                |r| r.get(0),
            )
            .optional()
            .unwrap();
        assert_eq!(crisis, Some(64));
        let found: i64 = store
            .conn()
            .query_row(
                "SELECT rowid FROM search WHERE search MATCH 'harbour'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 7);
    }

    /// A version-12 store's links of only a fragment to its feed's own URL
    /// (`?token=…#comments`, published in every output) are cleared on
    /// upgrade; other links stay.
    #[test]
    fn a_version_12_store_loses_its_fragment_links_to_the_feed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        {
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..12] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "PRAGMA user_version = 12;
                 INSERT INTO feeds (id, url, created_at, site_url)
                 VALUES (1, 'https://p.example/f?token=S', 0, 'https://p.example/f?token=S#home'),
                        (2, 'https://q.example/f', 0, 'https://q.example/');
                 INSERT INTO stories (id, uid, first_seen_at, changed_at)
                 VALUES (1, 'urn:feedloom:1', 10, 10);",
            )
            .unwrap();
            for (feed, key, url) in [
                (1, "guid:a", "https://p.example/f?token=S#comments"),
                (1, "guid:b", "https://p.example/post/2#comments"),
                (2, "guid:c", "https://q.example/f#x"),
            ] {
                conn.execute(
                    "INSERT INTO items (feed_id, key, key_kind, uid, guid, url, title, content_hash,
                         first_seen_at, last_seen_at, changed_at, story_id, text_hash)
                     VALUES (?1, ?2, 'guid', ?2, ?2, ?3, 't', 'h', 10, 10, 10, 1, 't')",
                    rusqlite::params![feed, key, url],
                )
                .unwrap();
            }
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        let urls: Vec<Option<String>> = store
            .conn()
            .prepare("SELECT url FROM items ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            urls,
            [None, Some("https://p.example/post/2#comments".into()), None]
        );
        let sites: Vec<Option<String>> = store
            .conn()
            .prepare("SELECT site_url FROM feeds ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(sites, [None, Some("https://q.example/".into())]);
    }

    /// A version-11 store's items get `enclosures` (NULL) on upgrade; an item
    /// whose feed now shows its file gets it, not reported as updated.
    #[test]
    fn a_version_11_store_gets_the_files_of_its_items_after_upgrade() {
        use crate::identity::{content_hash, identify_document};
        use crate::parse::{Enclosure, Entry};
        use crate::store::feeds::{FetchRecord, Reschedule};
        use crate::store::items::{DocumentMeta, StoryRules};
        use crate::store::model::Validators;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let entry = Entry {
            guid: Some("ep1".into()),
            title: Some("Episode one".into()),
            ..Entry::default()
        };
        {
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..11] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch("PRAGMA user_version = 11;").unwrap();
            conn.execute(
                "INSERT INTO feeds (id, url, created_at, etag, last_modified)
                 VALUES (1, 'https://pod.example/f', 0, '\"e1\"', 'Tue, 01 Dec 2026 08:00:00 GMT');",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO stories (id, uid, first_seen_at, changed_at)
                 VALUES (1, 'urn:feedloom:1', 10, 10);",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO items (feed_id, key, key_kind, uid, guid, title, content_hash,
                     first_seen_at, last_seen_at, changed_at, story_id, text_hash)
                 VALUES (1, 'guid:ep1', 'guid', 'urn:feedloom:1', 'ep1', 'Episode one', ?1,
                     10, 10, 10, 1, 't')",
                [content_hash(&entry)],
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        let row = |store: &Store| -> (Option<String>, i64) {
            store
                .conn()
                .query_row("SELECT enclosures, changed_at FROM items", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap()
        };
        assert_eq!(row(&store), (None, 10));
        // Its feed is fetched whole once more (no 304 for what it stored).
        let validators: (Option<String>, Option<String>) = store
            .conn()
            .query_row("SELECT etag, last_modified FROM feeds", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(validators, (None, None));
        let cfg = crate::config::parse(
            "[[feed]]\nurl = \"https://pod.example/f\"\n",
            std::path::Path::new("x.toml"),
        )
        .unwrap();
        let feed = store.sync_config(&cfg.feeds).unwrap().remove(0);
        let with_file = Entry {
            enclosures: vec![Enclosure {
                url: "https://pod.example/1.mp3".into(),
                media_type: None,
                length: None,
            }],
            ..entry
        };
        let rec = FetchRecord {
            started_at: 1_000,
            ..FetchRecord::default()
        };
        let applied = store
            .apply_document(
                &feed,
                &rec,
                &Validators::default(),
                &DocumentMeta::default(),
                &identify_document(vec![with_file]),
                &Reschedule::default(),
                &StoryRules::default(),
            )
            .unwrap();
        assert_eq!((applied.new, applied.updated), (0, 0));
        assert_eq!(
            row(&store),
            (Some(r#"[{"url":"https://pod.example/1.mp3"}]"#.into()), 10)
        );
    }

    /// Once the last handle of a shared store is dropped, the store is closed:
    /// the writes queued meanwhile are committed, and its -wal file
    /// checkpointed and removed, not still closing on the writer thread while
    /// the caller (a `poll` about to exit, the next command) goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_last_handle_closes_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let wal = dir.path().join("f.db-wal");
        let shared = SharedStore::new(Store::open(&path).unwrap());
        shared
            .call_batched(|s| {
                s.conn
                    .execute(
                        "INSERT INTO feeds (url, created_at) VALUES ('first', 0)",
                        [],
                    )
                    .map_err(StoreError::ctx("test write"))
            })
            .await
            .unwrap();
        assert!(wal.exists(), "open: the store has its -wal file");
        // A slow write is on the writer thread when the last handle goes.
        let slow = shared.write_batched(|s| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            s.conn
                .execute("INSERT INTO feeds (url, created_at) VALUES ('slow', 0)", [])
                .map_err(StoreError::ctx("test write"))
        });
        let started = tokio::time::timeout(std::time::Duration::from_millis(50), slow).await;
        assert!(started.is_err(), "still running");
        drop(shared);
        assert!(!wal.exists(), "closed when the last handle went");
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM feeds", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2, "the write under way was committed");
    }

    /// `/healthz` reads through a store of its own: with every page reader
    /// held (forty searches at once held `/healthz` for seconds), it still
    /// answers, and sees what was committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn health_reads_while_every_page_reader_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let shared = SharedStore::new(Store::open(&dir.path().join("f.db")).unwrap());
        shared
            .call(|s| {
                s.conn
                    .execute("INSERT INTO feeds (url, created_at) VALUES ('a', 0)", [])
                    .map_err(StoreError::ctx("test write"))
            })
            .await
            .unwrap();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let mut busy = Vec::new();
        for _ in 0..MAX_PAGE_READERS + 1 {
            let (held, started_tx) = (held.clone(), started_tx.clone());
            let shared = shared.clone();
            busy.push(tokio::spawn(async move {
                shared
                    .read(move |_| {
                        let _ = started_tx.send(());
                        let _ = held.lock().unwrap().recv();
                        Ok(())
                    })
                    .await
            }));
        }
        // Every page reader is taken (the one more read waits for one).
        for _ in 0..MAX_PAGE_READERS {
            started.recv().await.unwrap();
        }
        let health = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            shared.read_health(|s| s.feed_health()),
        )
        .await
        .expect("health waited for the page readers")
        .unwrap();
        assert_eq!(health.never_fetched, 1);
        for _ in 0..=MAX_PAGE_READERS {
            release.send(()).unwrap();
        }
        for b in busy {
            b.await.unwrap().unwrap();
        }
    }
}
