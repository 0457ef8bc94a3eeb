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
//!       fetch     HTTP(S) or file://, conditional GET, size/time limits  (fetch.rs)
//!       parse     raw bytes + base URL → Vec<Entry>, charset handling     (parse.rs)
//!       identify  Entry → item key, canonical URL, content hash          (identity.rs)
//!       store     ONE transaction: items + validators + fetch record     (store/)
//!                    │
//!                    ▼
//!   export        story list (SQL) → Atom / RSS 2.0 / JSON Feed           (export/)
//!                 files written atomically, only when changed
//! ```
//!
//! # Module map
//!
//! * [`cli`]: command-line definitions (clap).
//! * [`config`]: the TOML config: types, defaults, validation, errors with file:line.
//! * [`error`]: the library's error types and the one place that classifies them.
//! * [`fetch`]: the HTTP/file client with conditional GET and bounded bodies.
//! * [`hints`]: skipHours/skipDays/sy:updatePeriod read from a document (pure).
//! * [`parse`]: feed-rs → feedloom's [`parse::Entry`]; encodings and base URLs.
//! * [`identity`]: item keys, canonical URLs, content hashes and output ids (pure).
//! * [`similar`]: near-duplicate fingerprints, their comparison and lookup anchors (pure).
//! * [`refresh`]: fetch → parse → identify → store for one feed; `poll` for all.
//! * [`store`]: the SQLite file: open, migrate, feeds, items, fetches, queries.
//! * [`export`]: renderings of a story list, and atomic output files.
//! * [`schedule`]: when a feed is next due (pure arithmetic).
//! * [`app`]: the long-running daemon: scheduler loop, HTTP server, lifecycle.
//! * [`server`]: the HTTP routes (outputs, health, metrics).

pub mod app;
pub mod cli;
pub mod config;
pub mod error;
pub mod export;
pub mod fetch;
pub mod hints;
pub mod identity;
pub mod parse;
pub mod refresh;
pub mod schedule;
pub mod server;
pub mod similar;
pub mod store;

/// `feedloom/<version> (+<repository>)`: how feedloom names itself to servers.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "feedloom/",
    env!("CARGO_PKG_VERSION"),
    " (+",
    env!("CARGO_PKG_REPOSITORY"),
    ")"
);

/// Seconds since the Unix epoch, the unit of every timestamp in the store.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
