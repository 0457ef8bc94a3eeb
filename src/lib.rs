//! feedloom: many feeds in, one river out.
//!
//! A scheduler polls the RSS, Atom and JSON feeds a config names, recognises every
//! item it has seen before, keeps everything in one SQLite file and publishes a merged
//! feed of the new stories.
//!
//! # Data flow
//!
//! ```text
//! config::load ──► Config
//!                    │
//!   poll / scheduler │  picks feeds to fetch (poll: all of them, once)
//!                    ▼
//!   refresh::refresh_feed  ── the one place that handles a single feed:
//!       fetch     HTTP(S) or file://, conditional GET, limits, SSRF guard (fetch/)
//!       parse     raw bytes + base URL → Vec<Entry>, charset handling     (parse/)
//!       identify  Entry → item key, canonical URL, content hash          (identity.rs)
//!       store     ONE transaction: items + validators + fetch record     (store/)
//!                    │
//!                    ▼
//!   export        story list (SQL) → Atom / RSS 2.0 / JSON Feed / page    (export/, web/)
//!                 files written atomically, only when changed
//! ```
//!
//! # Module map
//!
//! * [`cli`]: command-line definitions (clap).
//! * [`commands`]: the subcommands that manage feeds (add, remove, OPML) and show
//!   what feedloom does (feeds table, poll progress, check warnings).
//! * [`config`]: the TOML config: types, defaults, validation, errors with file:line.
//! * [`discover`]: the feeds an HTML page declares, and the usual paths to try (pure).
//! * [`error`]: the library's error types and the one place that classifies them.
//! * [`filter`]: include/exclude rules of feeds and outputs, `min_sources` (pure).
//! * [`fetch`]: the HTTP/file client: conditional GET, bounded bodies, politeness,
//!   the network guard (no private addresses) and the body budget.
//! * [`health`]: when the feeds make the daemon `degraded` (pure; `/healthz`).
//! * [`hints`]: skipHours/skipDays/sy:updatePeriod read from a document (pure).
//! * [`parse`]: feed-rs → feedloom's [`parse::Entry`]; legacy dialects, encodings,
//!   entities, base URLs, the entry cap.
//! * [`identity`]: item keys, canonical URLs, content hashes and output ids (pure).
//! * [`similar`]: near-duplicate fingerprints, their comparison and lookup anchors (pure).
//! * [`refresh`]: fetch → parse → identify → store for one feed; `poll` for all.
//! * [`store`]: the SQLite file: open, migrate, feeds, items, fetches, queries.
//! * [`export`]: renderings of a story list, and atomic output files.
//! * [`schedule`]: when a feed is next due (pure arithmetic).
//! * [`app`]: the long-running daemon: scheduler loop, HTTP server, lifecycle.
//! * [`server`]: the HTTP routes (outputs, health, metrics).
//! * [`urls`]: which URLs may be published or used as a base (pure).
//! * [`visible`]: whether two spellings of an HTML body read the same (pure).
//! * [`web`]: the pages a browser reads: each output's river and the index.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discover;
pub mod error;
pub mod export;
pub mod fetch;
pub mod filter;
pub mod health;
pub mod hints;
pub mod identity;
pub mod parse;
pub mod refresh;
pub mod schedule;
pub mod server;
pub mod similar;
pub mod store;
pub mod urls;
pub mod visible;
pub mod web;

/// `feedloom/<version> (+<repository>)`: how feedloom names itself to servers.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "feedloom/",
    env!("CARGO_PKG_VERSION"),
    " (+",
    env!("CARGO_PKG_REPOSITORY"),
    ")"
);

/// Caps glibc's malloc at two arenas (the machine class has two cores). By
/// default glibc gives busy threads arenas of their own (up to 8 per core) and
/// keeps what they freed: a cold poll of 1,000 feeds peaked at ~94 MiB instead
/// of ~62 MiB (docs/performance.md, change 10). And it fixes the size from which
/// a block gets its own mapping, returned to the system when freed, at 256 KiB:
/// by default glibc raises that size (up to 32 MiB) each time such a block is
/// freed, after which large short-lived buffers (documents, search index
/// batches, lists of every feed) stay in the heap and keep it large; at 10,000
/// feeds that held 4–10 MiB more after each poll (change 23). Call it first
/// thing, before threads start; it does nothing elsewhere than glibc.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other
    // threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Creates `path` as a new file of this process's own (`mode`, less the
/// umask), never opening one found there: a temp file beside a config or an
/// output, in a folder others may write, must not follow a link planted under
/// its name (root would overwrite the file it names). A file or link already
/// there (left by a killed run of the same pid, or planted) is removed, the
/// link itself and not what it names, and the file made anew.
pub fn fresh_file(path: &std::path::Path, mode: u32) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
    };
    match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            create()
        }
        other => other,
    }
}

/// Writes to stderr like `eprintln!`, but a stderr that cannot be written
/// (a full disk, a closed pipe) is no panic: the message is lost and the
/// command ends with its own exit code (it ended with 101, a panic's).
#[macro_export]
macro_rules! errln {
    () => { $crate::write_stderr(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// [`errln!`] without a newline, like `eprint!`.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::write_stderr(format_args!($($arg)*)) };
}

#[doc(hidden)]
pub fn write_stderr(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_fmt(args).and_then(|()| stderr.flush());
}

/// Ends the process as a program killed by SIGPIPE does when `e` says the
/// reader of stdout has gone (`feedloom check | head -1`): quietly, not with
/// a panic or an error. Any other error returns.
pub fn end_if_reader_gone(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // SAFETY: restores the default action of SIGPIPE and raises it: the
        // process ends here, as `head`'s writer is expected to.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
        }
        std::process::exit(141);
    }
}

/// Whether `a` and `b` are one existing file (links and `..` followed, any
/// name of it).
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// How many feeds are refreshed between two [`trim_freed_memory`] calls.
pub const TRIM_EVERY: usize = 256;

/// Counts feeds refreshed, for [`trim_due`].
static REFRESHED: Countdown = Countdown::new(TRIM_EVERY);

/// Counts one feed refreshed; true every [`TRIM_EVERY`]th time, when the
/// caller should run [`trim_freed_memory`] on a blocking thread. Fetching from
/// thousands of hosts frees connection buffers, documents and parse trees in
/// an order that leaves holes in the heap, and glibc keeps the pages of every
/// hole: at 10,000 feeds on as many hosts the heap's free space grew from 4 to
/// 16 MiB over a cold poll while what was in use stayed at 22–27 MiB, and the
/// peak RSS went with it (docs/performance.md, change 29).
pub fn trim_due() -> bool {
    REFRESHED.tick()
}

/// Returns every whole free page inside glibc's heaps to the system
/// (`malloc_trim`), so that memory freed by a burst of work stops counting in
/// the daemon's RSS. It takes 0.5–4 ms, holding each heap's lock while it
/// walks that heap (threads allocating meanwhile wait). A no-op on non-glibc
/// targets.
pub fn trim_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes glibc's own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// True once every `every` ticks, from any thread.
struct Countdown {
    every: usize,
    ticks: std::sync::atomic::AtomicUsize,
}

impl Countdown {
    const fn new(every: usize) -> Countdown {
        Countdown {
            every,
            ticks: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn tick(&self) -> bool {
        let n = self
            .ticks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        n % self.every == self.every - 1
    }
}

/// Milliseconds added to this machine's clock for every time feedloom takes:
/// 0, except on a PostgreSQL node, which keeps the database server's time
/// (measured at open and every minute after: see
/// `store::postgres::PgStore`), so that nodes whose clocks differ book claims,
/// leases, hosts' turns and fetch times alike.
static CLOCK_OFFSET_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Sets [`CLOCK_OFFSET_MS`]; returns the one it replaces.
pub fn set_clock_offset_ms(ms: i64) -> i64 {
    CLOCK_OFFSET_MS.swap(ms, std::sync::atomic::Ordering::Relaxed)
}

/// This machine's clock, in nanoseconds since the Unix epoch, uncorrected.
fn local_now_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// This machine's clock in milliseconds since the Unix epoch, uncorrected
/// (what a PostgreSQL node compares with the server's).
pub fn local_now_ms() -> i64 {
    (local_now_nanos() / 1_000_000) as i64
}

/// Now in nanoseconds since the Unix epoch, corrected by [`CLOCK_OFFSET_MS`].
fn now_nanos() -> i128 {
    local_now_nanos()
        + i128::from(CLOCK_OFFSET_MS.load(std::sync::atomic::Ordering::Relaxed)) * 1_000_000
}

/// Milliseconds since the Unix epoch (hosts' turns on PostgreSQL).
pub fn now_ms() -> i64 {
    now_nanos().div_euclid(1_000_000) as i64
}

/// Seconds since the Unix epoch, the unit of every timestamp in the store.
pub fn now_unix() -> i64 {
    now_nanos().div_euclid(1_000_000_000) as i64
}

/// Now plus `d`, in Unix seconds rounded up: when a wait of `d` begun now
/// is over, never early. (Now rounded down plus `d` told a server's other
/// feeds its Retry-After was over up to a second early, and a reload that
/// rebuilt the hold from that time asked the server before it was.)
pub fn unix_after(d: std::time::Duration) -> i64 {
    let end = now_nanos() + i128::try_from(d.as_nanos()).unwrap_or(i128::MAX / 2);
    i64::try_from((end + 999_999_999).div_euclid(1_000_000_000)).unwrap_or(i64::MAX)
}

/// Now, in Unix seconds rounded up: a time counted from it (a server's
/// Retry-After) is never reached early.
pub fn now_unix_ceil() -> i64 {
    (now_nanos() + 999_999_999).div_euclid(1_000_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait's end is never before the wait is over (rounded up), and
    /// one past what a date holds is the last date.
    #[test]
    fn a_waits_end_is_rounded_up() {
        let before = now_nanos();
        let end = unix_after(std::time::Duration::from_millis(20_001));
        assert!(i128::from(end) * 1_000_000_000 >= before + 20_001_000_000);
        assert!(i128::from(end) * 1_000_000_000 < now_nanos() + 21_001_000_000);
        assert_eq!(unix_after(std::time::Duration::MAX), i64::MAX);
    }

    #[test]
    fn a_trim_is_due_once_every_so_many_refreshes() {
        let c = Countdown::new(4);
        let due: Vec<bool> = (0..12).map(|_| c.tick()).collect();
        assert_eq!(
            due,
            [
                false, false, false, true, false, false, false, true, false, false, false, true
            ]
        );
        // From many threads at once: exactly one in `every`.
        let c = std::sync::Arc::new(Countdown::new(TRIM_EVERY));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..TRIM_EVERY * 8).filter(|_| c.tick()).count())
            })
            .collect();
        let due: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(due, 4 * 8);
    }

    fn rss_kib() -> usize {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    }

    /// Holes freed in the middle of the heap stay resident until trimmed.
    /// Relies on glibc's default mmap threshold (128 KiB, the tests do not call
    /// [`tune_malloc`]): with a threshold below 64 KiB set through the
    /// environment, the blocks would be mappings of their own, not holes.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[cfg_attr(miri, ignore)]
    #[test]
    fn trimming_returns_holes_in_the_heap_to_the_system() {
        // 1,600 blocks of 64 KiB (below the mmap threshold, so in the heap),
        // every page written; then every other block freed: 50 MiB of holes
        // that glibc cannot give back by shrinking the heap's top.
        let mut blocks: Vec<Option<Vec<u8>>> = (0..1600)
            .map(|i| Some(vec![i as u8 | 1; 64 * 1024]))
            .collect();
        for b in blocks.iter_mut().step_by(2) {
            *b = None;
        }
        let before = rss_kib();
        assert!(before > 0, "cannot read VmRSS from /proc/self/status");
        trim_freed_memory();
        let after = rss_kib();
        assert!(
            before.saturating_sub(after) >= 25 * 1024,
            "RSS {before} KiB before the trim, {after} KiB after: the holes were not returned"
        );
        assert!(blocks.iter().flatten().all(|b| b[4096] != 0));
    }
}
