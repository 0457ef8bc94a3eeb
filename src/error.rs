//! Error types of the library, and the one place that decides what a failure means
//! for the feed's schedule ([`FeedError::disposition`]).

use std::path::PathBuf;
use std::time::Duration;

/// A fetch that produced no usable body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request to {url} failed: {}", chain(source))]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} timed out after {}", humantime::format_duration(*after))]
    Timeout { url: String, after: Duration },
    #[error("{url} answered HTTP {status}")]
    Status {
        url: String,
        status: u16,
        /// The server's Retry-After, when it sent one.
        retry_after: Option<Duration>,
    },
    #[error("{url}: body exceeds the limit of {limit} bytes (fetch.max_body)")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: more than {limit} redirects (fetch.max_redirects)")]
    TooManyRedirects { url: String, limit: usize },
    /// The network guard refused a non-public address (SSRF protection).
    #[error(
        "{url}: refused to connect to {addr}{} ({reason} address); set fetch.allow_private_networks = true to allow non-public addresses",
        host.as_ref().map(|h| format!(" (where {h} resolves)")).unwrap_or_default()
    )]
    Blocked {
        url: String,
        /// The name that resolved to `addr`, unless the URL named the address.
        host: Option<String>,
        addr: std::net::IpAddr,
        reason: &'static str,
    },
    #[error("{url}: redirect to `{location}` refused: only http and https are followed")]
    BadRedirect { url: String, location: String },
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A body that is not a feed feedloom can read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed (no RSS, Atom or JSON Feed root found)")]
    NotAFeed,
    /// XML whose root (or its namespace) is no feed format's, and in which no
    /// title or entry was found.
    #[error("no RSS/Atom/JSON Feed elements found: root `{root}` in {}", namespace.as_deref().map_or("no namespace".to_string(), |n| format!("namespace `{n}`")))]
    NoFeedElements {
        root: String,
        namespace: Option<String>,
    },
    #[error("malformed feed: {source}")]
    Malformed {
        #[source]
        source: feed_rs::parser::ParseFeedError,
    },
}

/// The SQLite store failed. These are the daemon's own errors, not a feed's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: u32,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "store is at schema version {found}, newer than this feedloom knows ({known}); upgrade feedloom"
    )]
    TooNew { found: u32, known: u32 },
    #[error("store error while {context}: {source}")]
    Sqlite {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store worker failed: {0}")]
    Worker(String),
    /// A write was rolled back because its batch could not be committed (disk
    /// full, I/O error). Every write of that batch gets this error.
    #[error("the store could not commit: {message}")]
    Commit { message: String },
    /// Another feedloom (`run` or `poll`) holds the store's lock file.
    #[error(
        "store {} is in use by {holder}; only one `feedloom run` or `feedloom poll` may use a store at a time",
        path.display()
    )]
    Locked { path: PathBuf, holder: String },
    #[error("cannot open store {}: cannot lock it ({}): {source}", path.display(), lock.display())]
    Lock {
        path: PathBuf,
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A read-only command found no store to read.
    #[error(
        "store {} does not exist (nothing polled yet: run `feedloom poll` or the daemon first)",
        path.display()
    )]
    Missing { path: PathBuf },
    /// A read-only command found a store that needs migrations it may not apply.
    #[error(
        "store {} is at schema version {found}, this feedloom uses {known}: run `feedloom poll` or the daemon to upgrade it",
        path.display()
    )]
    NeedsUpgrade {
        path: PathBuf,
        found: u32,
        known: u32,
    },
}

impl StoreError {
    pub fn ctx(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { context, source }
    }
}

/// Why refreshing one feed failed.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a failure means for the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Try again after the usual error backoff.
    Backoff,
    /// The server said when: not before this long (and at least the backoff).
    RetryAfter(Duration),
    /// 410 Gone: stop polling until the config or an operator re-enables it.
    Gone,
}

impl FeedError {
    /// The one place that decides how a failure affects the schedule.
    pub fn disposition(&self) -> Disposition {
        match self {
            FeedError::Fetch(FetchError::Status { status: 410, .. }) => Disposition::Gone,
            FeedError::Fetch(FetchError::Status {
                retry_after: Some(d),
                ..
            }) => Disposition::RetryAfter(*d),
            _ => Disposition::Backoff,
        }
    }

    /// HTTP status of the failed response, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FeedError::Fetch(FetchError::Status { status, .. }) => Some(*status),
            _ => None,
        }
    }
}

/// An error and its causes on one line: "a: b: c".
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}
