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

/// Seconds since the Unix epoch, the unit of every timestamp in the store.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
