//! Error types of the library, and the one place that decides what a failure means
//! for the feed's schedule ([`FeedError::disposition`]) and how a network failure
//! reads ([`NetFailure::of`]).

use std::path::PathBuf;
use std::time::Duration;

/// Ends the stored error of a response with a Retry-After (`poll` on a timer
/// finds the servers that asked for time by it).
pub const ASKED_FOR_TIME: &str = "Retry-After";

/// A fetch that produced no usable body.
/// How long a Retry-After asks for no requests, as said: until a time and
/// for how long, rounded up (a date's wait, counted from now, read a second
/// early); one of 2^31 seconds or more, the most HTTP reads (RFC 9111
/// §1.2.2), as that (`99999999999999999999` was said as "until 2094 … for
/// 68years", which the server never asked).
fn asked_for(d: Duration) -> String {
    const MOST: u64 = 1 << 31;
    if d.as_secs() >= MOST {
        return format!(
            "for {} or more (the most a Retry-After is read as)",
            humantime::format_duration(Duration::from_secs(MOST))
        );
    }
    format!(
        "until {}, for {}",
        crate::export::rfc3339(crate::unix_after(d)),
        humantime::format_duration(Duration::from_secs(d.as_secs()))
    )
}

/// A server's hold that a stored error says is not over: a feed's
/// `last_error` as [`FetchError::Status`] wrote it for a 429 or 503 that
/// asked for time (a Retry-After), or a 429 without one. Gives the address
/// that answered (the hold is by its origin), until when (Unix seconds, or
/// `None` when the message names no time: a wait of 2^31 s or more, held
/// until the feed's next fetch) and whether the server asked for it. `poll`
/// run on a timer holds the server by it (it asked its other feeds in the
/// next run, and the daemon after a restart).
pub fn stored_hold(last_error: &str) -> Option<(url::Url, Option<i64>, bool)> {
    let (url, rest) = last_error.split_once(" answered HTTP ")?;
    let (status, rest) = (rest.get(..3)?, rest.get(3..)?);
    let (asked, after) = match (
        rest.split_once(", and asks for no requests "),
        rest.split_once(": feedloom asks its server nothing "),
    ) {
        (Some((_, a)), _) if matches!(status, "429" | "503") => (true, a),
        (None, Some((_, a))) if status == "429" => (false, a),
        _ => return None,
    };
    let until = after.strip_prefix("until ").and_then(|t| {
        let t = t.split([',', ' ']).next()?;
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.timestamp())
    });
    Some((url::Url::parse(url).ok()?, until, asked))
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The network failed: `<url>: <root cause>` ([`NetFailure`]). The client's
    /// own chain of causes is logged at debug level where it happened.
    #[error("{url}: {failure}")]
    Network { url: String, failure: NetFailure },
    /// The whole fetch (connect, headers, body) took longer than `fetch.timeout`.
    #[error(
        "{url}: timeout after {}{}",
        humantime::format_duration(*after),
        waiting.map_or(String::new(), |w| format!(", {w}"))
    )]
    Timeout {
        url: String,
        after: Duration,
        /// How far the response had got (all four stalls read alike: a
        /// server that never answers, one that sent its headers and no body,
        /// one trickling it, one that sent part and held the connection).
        waiting: Option<Waiting>,
    },
    #[error(
        "{url} answered HTTP {status}{}{}{}{}",
        if *moved_for_now { " (reached through a temporary redirect)" } else { "" },
        // (One already over, a date past, asks for nothing.)
        // (Until when, as a time: the message is shown later, and "for 2m"
        // went stale.)
        retry_after.filter(|d| d.as_secs() > 0).map_or(String::new(), |d| format!(
            ", and asks for no requests {} ({ASKED_FOR_TIME}){}",
            asked_for(d),
            // (A wait past the cap is not what is applied: "68years" beside
            // a next fetch "in 1d".)
            capped_at.filter(|c| *c < d).map_or(String::new(), |c| format!(
                "; feedloom waits at most [defaults] max_backoff ({}), or the feed's own interval when longer",
                humantime::format_duration(Duration::from_secs(c.as_secs()))
            ))
        )),
        unasked_hold.map_or(String::new(), |d| format!(
            ", {}: feedloom asks its server nothing until {}",
            // (One of 0 seconds, or a date past, asks for nothing, and is
            // held as none: it was no hold at all, and the server was asked
            // more often than one that sent none.)
            match (retry_after, unread_retry_after) {
                (Some(_), _) => "with a Retry-After already over (0 seconds, or a date past: the server's clock?)".to_string(),
                (None, Some(v)) => format!("with a Retry-After it cannot read (`{}`: neither whole seconds nor an HTTP date)", quoted(v, 60)),
                (None, None) => "without a Retry-After".to_string(),
            },
            crate::export::rfc3339(crate::unix_after(d))
        )),
        // (A 503's, said nowhere: the server's log showed a Retry-After
        // sent, and feedloom backing off as without one.)
        match (unasked_hold, unread_retry_after) {
            (None, Some(v)) => format!(", with a Retry-After feedloom cannot read (`{}`: neither whole seconds nor an HTTP date), so it backs off as without one", quoted(v, 60)),
            _ => String::new(),
        }
    )]
    Status {
        url: String,
        status: u16,
        /// The server's Retry-After, when it sent one.
        retry_after: Option<Duration>,
        /// The longest wait feedloom applies (`[defaults] max_backoff`), when
        /// `retry_after` is longer.
        capped_at: Option<Duration>,
        /// Reached through a temporary redirect (302, 303, 307): the
        /// configured address did not itself say it is gone.
        moved_for_now: bool,
        /// A 429 without a Retry-After: how long feedloom holds the server
        /// (this feed is not asked before either: it was due again after a
        /// few seconds' backoff, shown as such, while its server was held).
        unasked_hold: Option<Duration>,
        /// A Retry-After sent that is neither seconds nor a date (`1.5`,
        /// `soon`), as sent.
        unread_retry_after: Option<String>,
    },
    /// A redirect with nowhere to go: no Location header, an empty one, or
    /// one that is no address. (It said only "answered HTTP 302", as if
    /// redirects were not followed at all.)
    #[error(
        "{url} answered HTTP {status}, a redirect {}",
        match location {
            None => "without a Location header: nowhere to go".to_string(),
            Some(l) if l.is_empty() => "with an empty Location header: nowhere to go".to_string(),
            Some(l) => format!("to `{}`, which is no address{}", quoted(&without_query(l), usize::MAX), why.as_deref().map_or(String::new(), |w| format!(" ({w})"))),
        }
    )]
    NoRedirectTarget {
        url: String,
        status: u16,
        /// The Location header as sent (trimmed), if there was one.
        location: Option<String>,
        /// Why it is no address.
        why: Option<String>,
    },
    /// Not requested: another feed of the host was answered 429 or 503 with
    /// a Retry-After that is not over, or 429 without one a moment ago.
    /// (Stores recognise both messages by "not requested: HOST answered
    /// 429": keep that wording.)
    #[error(
        "{url}: not requested: {host} answered {}",
        held_for(*asked, *left)
    )]
    HostHeld {
        url: String,
        host: String,
        left: Duration,
        /// The server asked for the wait (a Retry-After); else feedloom
        /// chose it (a 429 without one).
        asked: bool,
    },
    /// A 304 to a request that sent no validators: nothing was stored that
    /// it could mean.
    #[error(
        "{url} answered 304 Not Modified to a request without validators (no If-None-Match or If-Modified-Since was sent): the server is broken"
    )]
    UnaskedNotModified { url: String },
    /// A `Content-Encoding` the body cannot be read through (it read as
    /// "not a feed", naming the document instead of the coding).
    #[error(
        "{url}: the body is sent with Content-Encoding `{coding}`, which feedloom cannot decode (gzip in any form, deflate alone in any case, zlib-wrapped or raw; br only as the whole header, in lower case)"
    )]
    Coding { url: String, coding: String },
    #[error("{url}: body exceeds the limit of {limit} bytes (fetch.max_body)")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: more than {limit} redirects (fetch.max_redirects)")]
    TooManyRedirects { url: String, limit: usize },
    /// The network guard refused a non-public address (SSRF protection).
    #[error(
        "{url}: refused to connect to {addr}{} ({reason} address); {}",
        host.as_ref().map(|h| format!(" (where {h} resolves)")).unwrap_or_default(),
        if *own_host {
            "the feed is marked untrusted (imported or found on a page), so its own host is held to the network guard: remove `untrusted = true` from its [[feed]] block if you trust this host"
        } else {
            "set fetch.allow_private_networks = true to allow non-public addresses (for every feed)"
        }
    )]
    Blocked {
        url: String,
        /// The name that resolved to `addr`, unless the URL named the address.
        host: Option<String>,
        addr: std::net::IpAddr,
        reason: &'static str,
        /// The refused host is the untrusted feed's own (not a redirect's).
        own_host: bool,
    },
    #[error("{url}: redirect to `{location}` refused: only http and https are followed")]
    BadRedirect { url: String, location: String },
    /// A feed marked `untrusted` (its address came from an OPML file or a
    /// page) names a file on this machine.
    #[error(
        "{url}: not read: the feed is marked untrusted (imported or found on a page), and an untrusted feed is never read from a file; remove `untrusted = true` from its [[feed]] block to read it"
    )]
    UntrustedFile { url: String },
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
    /// A body of nothing, or of blanks only ("not a feed (no RSS, Atom or
    /// JSON Feed root found)" sent the operator looking for a wrong format).
    #[error("an empty body ({len} bytes{}): not a feed", if *.len > 0 { ", blanks only" } else { "" })]
    Empty { len: usize },
    /// An HTML page that names its feed (`<link rel="alternate"
    /// type="application/rss+xml">`): the address to subscribe to.
    #[error(
        "not a feed but an HTML page, which names its feed at {feed}: write that address as the feed's `url` (`feedloom add PAGE` finds it)"
    )]
    PageOfFeed { feed: String },
    /// XML whose root (or its namespace) is no feed format's, and in which no
    /// title or entry was found.
    #[error("no RSS/Atom/JSON Feed elements found: root `{root}` in {}", namespace.as_deref().map_or("no namespace".to_string(), |n| format!("namespace `{n}`")))]
    NoFeedElements {
        root: String,
        namespace: Option<String>,
    },
    /// An `<rss>` or `rdf:RDF` root with no channel in it (an error page,
    /// a FOAF profile): the format's root, but no feed.
    #[error("no feed in it: its root `{root}` holds no channel")]
    NoChannel { root: String },
    /// No entry read, while the document holds elements named like entries
    /// in another letter case or namespace (`<Item>`, `<atom:entry>` in an
    /// RSS channel).
    #[error(
        "no entry read, but the document holds {count} element(s) named like entries, the first `<{name}>`: {}",
        why.as_deref().unwrap_or("RSS items are `<item>` (lower case) in a `<channel>`, Atom entries `<entry>` in the Atom 1.0 namespace")
    )]
    EntriesNotRead {
        name: String,
        count: usize,
        /// What the document says otherwise than by their names (a root in
        /// another namespace, a `<Channel>`), when it does.
        why: Option<String>,
    },
    /// No entry read from a JSON Feed whose `items` holds values (a list of
    /// lists, strings): none is an item object.
    #[error(
        "no entry read, but the JSON Feed's `items` holds {count} value(s), none an item object (each item is an object with an `id`, in the `items` list itself)"
    )]
    JsonItemsNotRead { count: usize },
    /// Every entry read holds nothing: no id, title, link, text or file.
    /// (With the entries past `max_entries` not read, when there were: a
    /// document of a thousand empty entries and a real one after them said
    /// only that the thousand hold nothing.)
    #[error(
        "no entry stored: the {count} read hold nothing (no id, title, link, text or file){}",
        match unread {
            0 => String::new(),
            n => format!("; {n} more past fetch.max_entries were not read"),
        }
    )]
    EntriesEmpty { count: usize, unread: usize },
    #[error(
        "the body is gzip-compressed data that its Content-Encoding does not announce (none, or fewer layers than were sent): not a feed as sent"
    )]
    Compressed,
    /// The document stops inside a tag, a string or a comment, and not after
    /// its root's end tag. (No length said: what the parser is given is the
    /// text converted to UTF-8, without its declaration, not the bytes
    /// received.)
    #[error(
        "the document ends early, inside a tag, a string or a comment (cut short by the server or on the way?): {source}"
    )]
    EndsEarly {
        #[source]
        source: feed_rs::parser::ParseFeedError,
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
    #[error("cannot open store {}: {}", path.display(), sqlite_words(source))]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store {store}: migration {version} ({name}) failed: {source}")]
    Migration {
        store: String,
        version: u32,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "store {store} is at schema version {found}, newer than this feedloom knows ({known}); upgrade feedloom"
    )]
    TooNew {
        /// The SQLite file, or the PostgreSQL URL without its password.
        store: String,
        found: u32,
        known: u32,
    },
    #[error("store error while {context}: {}", sqlite_words(source))]
    Sqlite {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store worker failed: {0}")]
    Worker(String),
    /// The store's file was deleted or replaced while this process wrote
    /// it: what it stored is lost (a `poll` said its feeds were ok, exit 0).
    #[error("{0}; what this command stored is lost with it")]
    Lost(String),
    /// A write was rolled back because its batch could not be committed (disk
    /// full, I/O error). Every write of that batch gets this error.
    #[error("the store could not commit: {message}")]
    Commit { message: String },
    /// Another feedloom (`run` or `poll`) holds the store's lock file.
    #[error(
        "store {} is in use by {holder}; one feedloom command that writes (`run`, `poll`, `prune`, `restore`) may use a store at a time (`enable` may run beside them)",
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
    /// `[store] path` names a folder.
    #[error(
        "store {} is a folder, not a file: set [store] path to a file, e.g. {}",
        path.display(),
        path.join("feedloom.db").display()
    )]
    Folder { path: PathBuf },
    /// The store file has other names (hard links): each would get its own
    /// lock and write-ahead log, and one writer's commits would be lost.
    #[error(
        "store {}: the file has {count} names (hard links); each name would get its own lock and \
         write-ahead log, and one writer's commits would be lost: remove the other names (find \
         them with `find / -xdev -samefile {}`)",
        path.display(),
        path.display()
    )]
    OtherNames { path: PathBuf, count: u64 },
    /// The store's file is damaged (cut short).
    #[error(
        "store {} is damaged: {why}; restore a backup (`feedloom restore FILE`)",
        path.display()
    )]
    Damaged { path: PathBuf, why: String },
    /// The store's file is empty (0 bytes, no write-ahead log beside it): a
    /// store not begun, or one emptied.
    #[error(
        "store {} is an empty file (0 bytes): nothing has been stored in it; `feedloom poll` \
         or the daemon begins a new store in it (if it held a store before, restore a backup \
         first: `feedloom restore FILE`)",
        path.display()
    )]
    NotBegun { path: PathBuf },
    /// The store, or its `-wal` or `-shm` file, is not writable by this user.
    #[error(
        "cannot open store {}: this user cannot read and write {}{}; give the daemon's user write access (chown or chmod u+rw)",
        path.display(),
        file.display(),
        crate::error::mode_of(file)
    )]
    NotWritable { path: PathBuf, file: PathBuf },
    /// `[store] path` names a device, a pipe or a socket, or lies under a file.
    #[error("store {}: {why}; set [store] path to a file", path.display())]
    NotAFile { path: PathBuf, why: String },
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
    /// The PostgreSQL server could not be reached or refused the login.
    #[error("cannot connect to the PostgreSQL store {store}: {source}")]
    Connect {
        store: String,
        #[source]
        source: tokio_postgres::Error,
    },
    /// The PostgreSQL server took the connection and did not answer (a
    /// frozen server, a port that is not PostgreSQL's): commands hung.
    #[error("cannot connect to the PostgreSQL store {store}: no answer within {secs}s")]
    ConnectTimeout { store: String, secs: u64 },
    /// A statement the PostgreSQL server did not answer in time (stopped,
    /// cut off by the network): the connection is dropped.
    #[error(
        "PostgreSQL store error while {context}: no answer within {secs}s (is the server stopped, or cut off?)"
    )]
    NoAnswer { context: &'static str, secs: u64 },
    #[error(
        "PostgreSQL store error while {context}: {source}{}",
        crate::error::pg_privilege_hint(source)
    )]
    Postgres {
        context: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("PostgreSQL migration {version} ({name}) failed: {source}")]
    PgMigration {
        version: u32,
        name: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    /// A PostgreSQL read-only command found a database feedloom never set up,
    /// or one that needs migrations.
    #[error(
        "PostgreSQL store {store} is at schema version {found}, this feedloom uses {known}: run `feedloom poll` or the daemon to set it up (or wait, if a node is setting it up now)"
    )]
    PgNeedsUpgrade {
        store: String,
        found: u32,
        known: u32,
    },
    /// A PostgreSQL database (or schema) with tables of another program and
    /// no feedloom schema: not made a store.
    #[error(
        "PostgreSQL store {store} holds other tables ({tables}) and no feedloom schema: it is \
         another program's database, not made a feedloom store; name an empty database (or \
         schema: add `?options=-csearch_path%3Dfeedloom` to the URL after `CREATE SCHEMA feedloom`)"
    )]
    Foreign { store: String, tables: String },
    /// A PostgreSQL database whose search path names no schema that exists.
    #[error(
        "PostgreSQL store {store}: no schema of its search_path ({search_path}) exists, so \
         feedloom's tables have nowhere to go: create it (`CREATE SCHEMA name`) or correct the \
         URL's `options=-csearch_path%3D…`"
    )]
    PgNoSchema { store: String, search_path: String },
    /// A PostgreSQL database to set up whose encoding is not UTF-8.
    #[error(
        "PostgreSQL store {store}: the database's encoding is {encoding}, and feedloom stores \
         text as UTF-8 (feeds with other characters would fail, and search would miss their \
         words); not made a store: create one with `CREATE DATABASE … ENCODING 'UTF8' \
         TEMPLATE template0`"
    )]
    PgEncoding { store: String, encoding: String },
    /// A PostgreSQL database feedloom has not set up, whose role may not
    /// create tables in its schema.
    #[error(
        "PostgreSQL store {store}: role {role} may not create tables in schema {schema}, and \
         feedloom has not set this database up yet: the first node needs CREATE on it \
         (`GRANT CREATE ON SCHEMA {schema} TO {role}`, or set it up once as the database's owner)"
    )]
    PgCannotCreate {
        store: String,
        role: String,
        schema: String,
    },
    /// The PostgreSQL password could not be read.
    #[error("PostgreSQL store {store}: {message}")]
    Password { store: String, message: String },
    /// A command that this backend does not do (with what to do instead).
    #[error("{0}")]
    Unsupported(String),
}

/// A file's owner and mode, for a message (" (owner uid 0, mode 0444)").
pub(crate) fn mode_of(file: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(file)
        .map(|m| format!(" (owner uid {}, mode {:04o})", m.uid(), m.mode() & 0o7777))
        .unwrap_or_default()
}

/// Why SQLite could not open or write a store, in words where its own are
/// misleading: a folder it cannot create the `-wal` and `-shm` files in reads
/// "attempt to write a readonly database (1544)" of a file that is writable,
/// and a full disk when the `-shm` file grows "disk I/O error (4874)" (the
/// daemon's commits said so on a full disk, where `poll`'s opening said the
/// disk was full).
fn sqlite_words(e: &rusqlite::Error) -> String {
    match e.sqlite_error().map(|f| f.extended_code) {
        // SQLITE_READONLY_DIRECTORY
        Some(1544) => {
            "its folder is not writable (SQLite creates the -wal and -shm files beside the store)"
                .into()
        }
        // SQLITE_IOERR_SHMSIZE
        Some(4874) => "cannot grow its shared-memory (-shm) file: is the disk full?".into(),
        _ => e.to_string(),
    }
}

impl StoreError {
    pub fn ctx(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { context, source }
    }

    /// Whether this is the store's own trouble (a full disk, an I/O error, a
    /// file it cannot write or read, another process holding its write lock
    /// past the busy timeout), not one fetch's.
    pub fn is_storage_failure(&self) -> bool {
        use rusqlite::ErrorCode::*;
        match self {
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => matches!(
                e.code,
                DiskFull
                    | SystemIoFailure
                    | ReadOnly
                    | CannotOpen
                    | DatabaseCorrupt
                    | NotADatabase
                    | DatabaseBusy
                    | DatabaseLocked
            ),
            _ => false,
        }
    }
}

/// Why refreshing one feed failed.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A body that could not be read, from the address a redirect led to (a
    /// login page): named, or the operator saw only "not a feed".
    #[error("{final_url} (reached through a redirect) answered: {source}")]
    Redirected {
        final_url: String,
        #[source]
        source: ParseError,
    },
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
    /// Not requested: the server asked for time on another feed's request.
    /// Exactly when that is over (no backoff: this feed's server did not
    /// fail it).
    Held(Duration),
    /// 410 Gone: stop polling until the config or an operator re-enables it.
    Gone,
}

impl FeedError {
    /// The one place that decides how a failure affects the schedule.
    pub fn disposition(&self) -> Disposition {
        match self {
            // (A 410 behind a temporary redirect says only that the page
            // the feed points to for now is gone: the feed disabled itself
            // for good on one maintenance redirect.)
            FeedError::Fetch(FetchError::Status {
                status: 410,
                moved_for_now: false,
                ..
            }) => Disposition::Gone,
            // (A Retry-After already over, 0 or a date past, asks for no
            // time: a 429 with one has feedloom's own hold.)
            FeedError::Fetch(FetchError::Status {
                retry_after: Some(d),
                ..
            }) if !d.is_zero() => Disposition::RetryAfter(*d),
            FeedError::Fetch(FetchError::Status {
                unasked_hold: Some(d),
                ..
            }) => Disposition::RetryAfter(*d),
            FeedError::Fetch(FetchError::HostHeld { left, .. }) => Disposition::Held(*left),
            _ => Disposition::Backoff,
        }
    }

    /// HTTP status of the failed response, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FeedError::Fetch(
                FetchError::Status { status, .. } | FetchError::NoRedirectTarget { status, .. },
            ) => Some(*status),
            FeedError::Fetch(FetchError::UnaskedNotModified { .. }) => Some(304),
            _ => None,
        }
    }
}

/// A Location that is no address, as an error quotes it: without its query
/// and fragment (`?…`), where a signed target's `sig=` or `token=` stands
/// and, the text being no URL, no rule could find it to hide it. Whole
/// otherwise: the message is cut only once the feed's own secrets in it are
/// hidden (cut first, a secret standing at the cut was no longer one).
fn without_query(location: &str) -> String {
    match location.find(['?', '#']) {
        Some(i) => format!("{}?…", &location[..i]),
        None => location.to_string(),
    }
}

/// What [`FetchError::HostHeld`] says of its server's hold: until when, as
/// a time (the message is stored and shown later: "for 55s more" still
/// stood a minute on, beside "next in 22s").
fn held_for(asked: bool, left: Duration) -> String {
    let until = crate::export::rfc3339(crate::unix_after(left));
    if asked {
        format!("429 or 503 with a Retry-After, and asks for no requests until {until}")
    } else {
        // (Or with one already over: "without a Retry-After" was said of a
        // server that had sent `Retry-After: 0`.)
        format!(
            "429 Too Many Requests without a Retry-After to wait out; feedloom asks it nothing until {until}"
        )
    }
}

/// What a PostgreSQL error of missing rights (`permission denied for table
/// fetches`) adds: what the role needs. It named neither what to grant nor
/// that the role, not the store, was at fault.
pub fn pg_privilege_hint(e: &tokio_postgres::Error) -> &'static str {
    match e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
        true => {
            " (the role in [store] url lacks the rights a node needs: SELECT, INSERT, UPDATE \
             and DELETE on feedloom's tables, USAGE on its sequences; a read-only role serves \
             `feeds`, `export`, `search` and `check` only)"
        }
        false => "",
    }
}

/// `s` as a message may quote it, when a remote party wrote it: control
/// characters shown escaped (`\u{1b}`: a terminal's escape sequences
/// reached the operator's screen, clearing it), and at most `max` bytes of
/// it, cut at a character's boundary with `…` and the length it had (a 15
/// MB namespace was quoted whole, in every fetch's row, the feed's last
/// error and each log line).
pub fn quoted(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 16);
    for c in s.chars() {
        if out.len() >= max {
            out.push_str(&format!("… ({} bytes)", s.len()));
            break;
        }
        if c == '\0' {
            out.push_str("\\0");
        } else if c.is_control()
            || crate::export::clean::is_bidi_control(c)
            || matches!(c, '\u{2028}' | '\u{2029}')
        {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// An error's message as [`quoted`], in about `max` bytes: a longer one keeps
/// its first three quarters and its last quarter, the middle left out and
/// counted. (Cut at its end, a message quoting a 2.5 KB address lost what
/// went wrong there, said after it: "answered HTTP 404" and the like.)
pub fn quoted_message(s: &str, max: usize) -> String {
    if s.len() <= max {
        return quoted(s, max);
    }
    let tail = max / 4;
    let mut head_end = max - tail;
    while !s.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = s.len() - tail;
    while !s.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    format!(
        "{}… ({} bytes left out) …{}",
        quoted(&s[..head_end], usize::MAX),
        tail_start - head_end,
        quoted(&s[tail_start..], usize::MAX)
    )
}

/// The most bytes of a fetch's error kept (in its row, the feed's last
/// error, the log): see [`quoted`].
pub const MAX_ERROR_BYTES: usize = 2_000;

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

/// Why a request failed on the network: its root cause, worded for a person.
/// [`NetFailure::of`] is the one place that decides how a failure reads; the
/// stored `feeds.last_error` and the log line both say `<url>: <this>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetFailure {
    /// The resolver says the name does not exist.
    NoSuchHost {
        host: String,
    },
    /// The name could not be resolved for another reason (no DNS server, a
    /// temporary failure).
    Dns {
        host: String,
        reason: String,
    },
    /// Nothing listens on the port.
    Refused,
    /// The connection was not established within the connect timeout.
    ConnectTimeout(Duration),
    /// Another failure to connect (unreachable network, ...).
    Connect(String),
    /// The TLS handshake failed (certificate, protocol, not TLS at all).
    Tls(String),
    /// The whole request took longer than `fetch.timeout`.
    Timeout(Duration),
    /// The server reset the connection.
    Reset,
    /// The server closed the connection before its response was complete.
    Closed,
    /// What came back is not HTTP.
    Http(String),
    /// The response started, then its body failed after `received` bytes.
    Body {
        reason: String,
        received: u64,
        /// The body's announced length (Content-Length), when known.
        expected: Option<u64>,
    },
    Other(String),
}

impl std::fmt::Display for NetFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = |d: &Duration| humantime::format_duration(*d).to_string();
        match self {
            NetFailure::NoSuchHost { host } => write!(f, "dns: no such host `{host}`"),
            NetFailure::Dns { host, reason } => write!(f, "dns: cannot resolve `{host}`: {reason}"),
            NetFailure::Refused => f.write_str("connect: refused"),
            NetFailure::ConnectTimeout(d) => write!(f, "connect: timed out after {}", secs(d)),
            NetFailure::Connect(reason) => write!(f, "connect: {reason}"),
            NetFailure::Tls(reason) => write!(f, "tls: {reason}"),
            NetFailure::Timeout(d) => write!(f, "timeout after {}", secs(d)),
            NetFailure::Reset => f.write_str("connection reset"),
            NetFailure::Closed => f.write_str("connection closed before the response was complete"),
            NetFailure::Http(reason) => write!(f, "http: {reason}"),
            NetFailure::Body {
                reason,
                received,
                expected,
            } => {
                write!(f, "body: {reason} after {received}")?;
                match expected {
                    Some(n) => write!(f, " of {n} bytes"),
                    None => f.write_str(" bytes"),
                }
            }
            NetFailure::Other(reason) => f.write_str(reason),
        }
    }
}

/// Where a fetch was when its time ran out ([`FetchError::Timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// No status line and headers came.
    ForAnswer,
    /// The headers came; so much of the body.
    ForBody(BodyProgress),
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waiting::ForAnswer => {
                f.write_str("without an answer (no status line and headers came)")
            }
            Waiting::ForBody(BodyProgress {
                received,
                expected: Some(n),
            }) => write!(
                f,
                "the headers came, and {received} of the body's {n} bytes"
            ),
            Waiting::ForBody(BodyProgress { received, .. }) => {
                write!(f, "the headers came, and {received} bytes of the body")
            }
        }
    }
}

/// The time limits a failure is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `fetch.timeout`: the whole request.
    pub total: Duration,
    /// Establishing the connection.
    pub connect: Duration,
}

/// How far the response had got when the body failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyProgress {
    pub received: u64,
    pub expected: Option<u64>,
}

impl NetFailure {
    /// The root cause of a failed request: walks the client's chain of causes
    /// (reqwest → hyper-util → hyper / the resolver / rustls / io::Error,
    /// including errors wrapped inside an `io::Error`). `body` is set when the
    /// failure came while reading the body.
    pub fn of(err: &reqwest::Error, limits: Timeouts, body: Option<BodyProgress>) -> NetFailure {
        let causes = causes(err);
        let failure = root_cause(&causes, err.is_connect(), err.is_timeout(), limits);
        match (body, failure) {
            (_, f @ (NetFailure::Timeout(_) | NetFailure::ConnectTimeout(_))) => f,
            (Some(p), f) => NetFailure::Body {
                reason: match f {
                    NetFailure::Closed => "connection closed".to_string(),
                    other => other.to_string(),
                },
                received: p.received,
                expected: p.expected,
            },
            (None, f) => f,
        }
    }
}

/// Every cause in an error's chain, first to last, including the error an
/// `io::Error` wraps (which `io::Error::source` skips).
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        out.push(e);
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            // An io::Error's source is its inner error's source: walk the inner
            // error itself instead.
            cur = Some(inner);
        } else {
            cur = e.source();
        }
    }
    out
}

/// The decision: the first cause that says what happened, in this order:
/// the resolver, TLS, timeouts, the socket, HTTP framing.
fn root_cause(
    causes: &[&(dyn std::error::Error + 'static)],
    connecting: bool,
    timed_out: bool,
    limits: Timeouts,
) -> NetFailure {
    use crate::fetch::guard::DnsError;
    use std::io::ErrorKind;
    let find = |pred: &dyn Fn(&(dyn std::error::Error + 'static)) -> bool| {
        causes.iter().copied().find(|e| pred(*e))
    };
    if let Some(dns) = find(&|e| e.is::<DnsError>()).and_then(|e| e.downcast_ref::<DnsError>()) {
        return dns_failure(dns);
    }
    if let Some(tls) =
        find(&|e| e.is::<rustls::Error>()).and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return NetFailure::Tls(tls_reason(tls));
    }
    if timed_out {
        return if connecting {
            NetFailure::ConnectTimeout(limits.connect)
        } else {
            NetFailure::Timeout(limits.total)
        };
    }
    // The deepest io::Error says what the socket saw.
    let io = causes
        .iter()
        .rev()
        .find_map(|e| e.downcast_ref::<std::io::Error>());
    if let Some(io) = io {
        match io.kind() {
            ErrorKind::ConnectionRefused => return NetFailure::Refused,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                return NetFailure::Reset;
            }
            ErrorKind::TimedOut if connecting => {
                return NetFailure::ConnectTimeout(limits.connect);
            }
            ErrorKind::TimedOut => return NetFailure::Timeout(limits.total),
            ErrorKind::UnexpectedEof => return NetFailure::Closed,
            ErrorKind::NetworkUnreachable => {
                return NetFailure::Connect("network unreachable".into());
            }
            ErrorKind::HostUnreachable => return NetFailure::Connect("host unreachable".into()),
            _ => {}
        }
    }
    let hyper = causes.iter().find_map(|e| e.downcast_ref::<hyper::Error>());
    if let Some(h) = hyper {
        if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
            return NetFailure::Closed;
        }
        // (hyper's "message head is too large" is also what more than 100
        // header lines read as, in a head of 1 KB: the operator looked for
        // something large.)
        if h.is_parse_too_large() {
            return NetFailure::Http(
                "invalid response: its head has more than 100 header lines or is larger than 408 KiB"
                    .into(),
            );
        }
        // (hyper does not say which header: what it can be, so that the
        // operator knows what to look for.)
        if h.is_parse() && h.to_string().contains("header") {
            return NetFailure::Http(
                "invalid response: a header line HTTP does not allow (a control character such as NUL or a vertical tab in a value, a name with a space or a character outside a token, or a line without a colon)"
                    .into(),
            );
        }
        if h.is_parse() || h.is_parse_status() {
            return NetFailure::Http(format!("invalid response: {h}"));
        }
    }
    // A body error with an io::Error and no hyper error is the decoder's.
    if hyper.is_none()
        && let Some(io) = io
        && io.kind() == ErrorKind::InvalidData
    {
        return NetFailure::Other(format!("invalid compressed data ({})", plain(io)));
    }
    let last = causes.last().map(|e| plain(*e)).unwrap_or_default();
    if connecting {
        NetFailure::Connect(last)
    } else {
        NetFailure::Other(last)
    }
}

fn dns_failure(dns: &crate::fetch::guard::DnsError) -> NetFailure {
    if dns.is_no_such_host() {
        return NetFailure::NoSuchHost {
            host: dns.host.clone(),
        };
    }
    let text = dns.source.to_string();
    let reason = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text);
    NetFailure::Dns {
        host: dns.host.clone(),
        reason: lower_first(reason),
    }
}

fn tls_reason(e: &rustls::Error) -> String {
    use rustls::{CertificateError, Error, InvalidMessage};
    match e {
        Error::InvalidMessage(InvalidMessage::InvalidContentType) => {
            "the server did not answer in TLS (plain HTTP on this port?)".into()
        }
        Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => "certificate signed by an unknown issuer".into(),
            CertificateError::Expired => "certificate expired".into(),
            CertificateError::NotValidYet => "certificate not valid yet".into(),
            CertificateError::NotValidForName => "certificate not valid for this host name".into(),
            CertificateError::BadSignature => "certificate has a bad signature".into(),
            CertificateError::Revoked => "certificate revoked".into(),
            other => certificate_words(&other.to_string()),
        },
        other => other.to_string(),
    }
}

/// A certificate error rustls words as a Rust value (`Other(OtherError(
/// CaUsedAsEndEntity))`: a self-signed certificate made with `openssl req
/// -x509`), in words.
fn certificate_words(text: &str) -> String {
    if !text.contains('(') {
        return text.to_string();
    }
    let name = text
        .trim_end_matches(')')
        .rsplit('(')
        .next()
        .unwrap_or(text)
        .trim();
    if name == "CaUsedAsEndEntity" {
        return "certificate is a CA's, used as the server's own (a self-signed certificate \
                made with CA:TRUE, as `openssl req -x509` makes it?)"
            .into();
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return text.to_string();
    }
    let mut words = String::from("certificate refused:");
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// An error's own text, without the "(os error N)" suffix, first letter lower.
fn plain(e: &(dyn std::error::Error + 'static)) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => &text[..i],
        _ => &text,
    };
    lower_first(text)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        // Only a capitalised word, not an acronym ("TLS", "HTTP").
        Some(first)
            if first.is_uppercase() && !c.clone().next().is_some_and(char::is_uppercase) =>
        {
            first.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::guard::DnsError;
    use std::io;

    /// The hold a stored error records is read back from the messages as
    /// written (every shape of them), and nothing else is read as one.
    #[test]
    fn a_stored_hold_is_read_from_the_message_written() {
        let said = |retry_after, unasked_hold, status, moved_for_now| {
            FetchError::Status {
                url: "http://busy.example:8080/f?x=1".into(),
                status,
                retry_after,
                capped_at: None,
                moved_for_now,
                unasked_hold,
                unread_retry_after: None,
            }
            .to_string()
        };
        let now = crate::now_unix();
        let hour = Some(Duration::from_secs(3600));
        for (msg, asked) in [
            (said(hour, None, 429, false), true),
            (said(hour, None, 503, true), true),
            (said(None, Some(Duration::from_secs(60)), 429, false), false),
        ] {
            let (url, until, a) = stored_hold(&msg).expect(&msg);
            assert_eq!(url.as_str(), "http://busy.example:8080/f?x=1");
            assert_eq!(a, asked, "{msg}");
            let until = until.expect(&msg);
            assert!(
                (until - now - if asked { 3600 } else { 60 }).abs() <= 2,
                "{msg}"
            );
        }
        let (_, until, _) =
            stored_hold(&said(Some(Duration::from_secs(1 << 40)), None, 503, false)).unwrap();
        assert_eq!(until, None);
        for msg in [
            said(None, None, 429, false),
            said(hour, None, 500, false),
            said(None, None, 503, false),
            "http://busy.example/f: not requested: busy.example answered 429 or 503 with a Retry-After, and asks for no requests until 2026-12-07T12:07:10Z".into(),
        ] {
            assert!(stored_hold(&msg).is_none(), "{msg}");
        }
    }

    /// A Retry-After that is neither seconds nor a date is named as sent,
    /// not said absent (a 429's) or left unsaid (a 503's); a 429's hold is
    /// still read back.
    #[test]
    fn a_retry_after_that_cannot_be_read_is_named() {
        let err = |status, unasked_hold| FetchError::Status {
            url: "https://e.org/f".into(),
            status,
            retry_after: None,
            capped_at: None,
            moved_for_now: false,
            unasked_hold,
            unread_retry_after: Some("1.5".into()),
        };
        let msg = err(429, Some(Duration::from_secs(60))).to_string();
        assert!(
            msg.contains(", with a Retry-After it cannot read (`1.5`: neither whole seconds nor an HTTP date): feedloom asks its server nothing until "),
            "{msg}"
        );
        let (_, until, asked) = stored_hold(&msg).expect(&msg);
        assert!(until.is_some() && !asked, "{msg}");
        assert_eq!(
            err(503, None).to_string(),
            "https://e.org/f answered HTTP 503, with a Retry-After feedloom cannot read (`1.5`: neither whole seconds nor an HTTP date), so it backs off as without one"
        );
    }

    #[test]
    fn a_long_message_keeps_its_end() {
        let url = format!("http://example.org/{}", "é".repeat(2_000));
        let m = format!("{url} answered HTTP 404 (reached through a temporary redirect)");
        let q = quoted_message(&m, MAX_ERROR_BYTES);
        assert!(q.len() < MAX_ERROR_BYTES + 64, "{}", q.len());
        assert!(q.starts_with("http://example.org/éé"), "{q}");
        assert!(
            q.ends_with("éé answered HTTP 404 (reached through a temporary redirect)"),
            "{q}"
        );
        assert!(q.contains("… ("), "{q}");
        assert!(q.contains(" bytes left out) …"), "{q}");
        let short = "a: b\u{1b}";
        assert_eq!(
            quoted_message(short, MAX_ERROR_BYTES),
            quoted(short, MAX_ERROR_BYTES)
        );
        assert_eq!(quoted_message("x\u{1b}", 100), "x\\u{1b}");
    }

    /// A Retry-After already over (a date in the past) asks for nothing: the
    /// error said "asks for no requests for 0s".
    #[test]
    fn a_retry_after_already_over_is_not_mentioned() {
        let err = |secs| FetchError::Status {
            url: "https://e.org/f".into(),
            status: 503,
            retry_after: Some(Duration::from_secs(secs)),
            capped_at: None,
            moved_for_now: false,
            unasked_hold: None,
            unread_retry_after: None,
        };
        assert_eq!(err(0).to_string(), "https://e.org/f answered HTTP 503");
        assert!(err(90).to_string().ends_with(", for 1m 30s (Retry-After)"));
    }

    /// A Retry-After longer than `max_backoff` says what is waited: the
    /// error said "68years 18days …" beside a next fetch "in 1d".
    #[test]
    fn a_retry_after_past_the_cap_names_the_wait_applied() {
        let err = FetchError::Status {
            url: "https://e.org/f".into(),
            status: 503,
            retry_after: Some(Duration::from_secs(99_999_999_999)),
            capped_at: Some(Duration::from_secs(86_400)),
            moved_for_now: false,
            unasked_hold: None,
            unread_retry_after: None,
        };
        let text = err.to_string();
        assert!(
            text.contains("(Retry-After); feedloom waits at most [defaults] max_backoff (1day)"),
            "{text}"
        );
        // (Past 2^31 seconds, the most HTTP reads, not a date it never
        // asked for.)
        assert!(
            text.contains(", and asks for no requests for 68years ")
                && text.contains(" or more (the most a Retry-After is read as) (Retry-After)")
                && !text.contains("until"),
            "{text}"
        );
    }

    #[test]
    fn open_failures_sqlite_words_misleadingly_are_worded() {
        let failure = |extended_code| StoreError::Open {
            path: "data/f.db".into(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error {
                    code: rusqlite::ErrorCode::ReadOnly,
                    extended_code,
                },
                None,
            ),
        };
        let e = failure(1544).to_string();
        assert!(
            e.starts_with("cannot open store data/f.db: its folder is not writable"),
            "{e}"
        );
        let e = failure(4874).to_string();
        assert!(e.contains("is the disk full?"), "{e}");
        let e = failure(8).to_string();
        assert!(e.contains("readonly database"), "{e}"); // So for a write: a daemon's commit on a full disk.
        let write = StoreError::Sqlite {
            context: "committing a batch of fetches",
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error {
                    code: rusqlite::ErrorCode::SystemIoFailure,
                    extended_code: 4874,
                },
                None,
            ),
        };
        let e = chain(&write);
        assert!(
            e.starts_with("store error while committing a batch of fetches: cannot grow its shared-memory (-shm) file: is the disk full?"),
            "{e}"
        );
    }

    #[test]
    fn certificate_errors_rustls_words_as_values_read_as_words() {
        assert_eq!(
            certificate_words("Other(OtherError(CaUsedAsEndEntity))"),
            "certificate is a CA's, used as the server's own (a self-signed certificate made with CA:TRUE, as `openssl req -x509` makes it?)"
        );
        assert_eq!(
            certificate_words("Other(OtherError(UnsupportedCriticalExtension))"),
            "certificate refused: unsupported critical extension"
        );
        assert_eq!(certificate_words("plain words"), "plain words");
        assert_eq!(certificate_words("Other(x y)"), "Other(x y)");
    }

    const LIMITS: Timeouts = Timeouts {
        total: Duration::from_secs(30),
        connect: Duration::from_secs(10),
    };

    fn dns(kind: io::ErrorKind, text: &str) -> String {
        let e = DnsError {
            host: "feeds.example".into(),
            source: io::Error::new(kind, text),
        };
        root_cause(&causes(&e), true, false, LIMITS).to_string()
    }

    #[test]
    fn the_system_resolver_says_no_such_host_in_its_own_words() {
        for text in [
            "failed to lookup address information: Name or service not known",
            "failed to lookup address information: No address associated with hostname",
            "failed to lookup address information: Name does not resolve",
        ] {
            assert_eq!(
                dns(io::ErrorKind::Other, text),
                "dns: no such host `feeds.example`"
            );
        }
        assert_eq!(
            dns(
                io::ErrorKind::Other,
                "failed to lookup address information: Temporary failure in name resolution"
            ),
            "dns: cannot resolve `feeds.example`: temporary failure in name resolution"
        );
    }

    #[test]
    fn socket_errors_read_as_their_cause() {
        let read = |kind: io::ErrorKind, connecting: bool| {
            let e = io::Error::other(io::Error::from(kind));
            root_cause(&causes(&e), connecting, false, LIMITS).to_string()
        };
        assert_eq!(
            read(io::ErrorKind::ConnectionRefused, true),
            "connect: refused"
        );
        assert_eq!(
            read(io::ErrorKind::TimedOut, true),
            "connect: timed out after 10s"
        );
        assert_eq!(read(io::ErrorKind::TimedOut, false), "timeout after 30s");
        assert_eq!(
            read(io::ErrorKind::HostUnreachable, true),
            "connect: host unreachable"
        );
        assert_eq!(
            read(io::ErrorKind::ConnectionReset, false),
            "connection reset"
        );
        let os = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(
            root_cause(&causes(&os), true, false, LIMITS).to_string(),
            "connect: permission denied",
            "no `(os error N)`"
        );
    }

    #[test]
    fn a_lower_case_first_letter_but_acronyms_stay() {
        assert_eq!(lower_first("Name or service"), "name or service");
        assert_eq!(lower_first("TLS handshake"), "TLS handshake");
        assert_eq!(lower_first(""), "");
    }
}
