//! The TOML config: its types, defaults and validation.
//!
//! `load` reads a file and returns a validated [`Config`], or a [`ConfigError`] that
//! names the file, line, column and key at fault. Relative paths in the config resolve
//! against the config file's folder, so a config works from any working directory.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use url::Url;

pub mod edit;
use edit::Seg;
pub mod access;
pub use access::{Access, Auth, Secret};

/// A config that could not be loaded. Its `Display` names file, line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}\n  | {snippet}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        snippet: String,
    },
    #[error("{}: {message}", path.display())]
    Whole { path: PathBuf, message: String },
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was loaded from.
    pub source: PathBuf,
    pub store: StoreConfig,
    pub fetch: FetchConfig,
    pub defaults: Defaults,
    pub server: ServerConfig,
    pub identity: IdentityConfig,
    pub feeds: Vec<FeedConfig>,
    pub outputs: Vec<OutputConfig>,
}

/// How items are recognised across URLs and feeds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Query parameters dropped from links before they identify a story; a
    /// trailing `*` matches a prefix (`utm_*`). Changing this list changes the
    /// identity of items that have no guid.
    pub strip_params: Vec<String>,
    /// Merge copies of one story published under different URLs (`similar`).
    pub near_duplicates: bool,
    /// Only stories first seen this recently are candidates for merging.
    pub near_window: Dur,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            strip_params: crate::identity::TRACKING_PARAMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            near_duplicates: true,
            near_window: Dur(Duration::from_secs(14 * 86_400)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The SQLite file; relative to the config file's folder.
    pub path: PathBuf,
    /// Retention: items first seen longer ago than this are pruned (with their
    /// stories, bands and search rows) once a day; none: keep everything.
    pub keep: Option<Dur>,
    /// Fetch-log rows (`fetches`) older than this are pruned once a day.
    pub keep_fetch_log: Dur,
    /// A PostgreSQL store instead of the SQLite file: `postgres://user@host/db`
    /// (never with a password: that comes from `password_file`, `PGPASSWORD` or
    /// a `.pgpass`). Any number of `feedloom run` nodes may share it.
    pub url: Option<String>,
    /// A file holding the PostgreSQL password; relative to the config file's folder.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL: how long a node holds the feeds it claimed before another
    /// node may take them over (when it died mid-fetch).
    pub lease: Dur,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("feedloom.db"),
            keep: None,
            keep_fetch_log: Dur(Duration::from_secs(30 * 86_400)),
            url: None,
            password_file: None,
            lease: Dur(Duration::from_secs(120)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Sent with every request; names feedloom and its version by default.
    pub user_agent: String,
    /// Whole-request time limit (connect, headers and body).
    pub timeout: Dur,
    /// Largest body accepted, counted after decompression.
    pub max_body: ByteSize,
    /// Requests in flight, all hosts together.
    pub concurrency: usize,
    /// Requests in flight to one host.
    pub per_host: usize,
    /// Minimum gap between two requests to one host.
    pub host_gap: Dur,
    /// Redirects followed per fetch.
    pub max_redirects: usize,
    /// Entries kept from one document (the first N in document order).
    pub max_entries: usize,
    /// Longest title, link, author, summary or content kept; longer ones are cut.
    pub max_field: ByteSize,
    /// Follow redirects to (and resolve names into) loopback, private,
    /// link-local and other non-public addresses. Feeds configured with such an
    /// address or name are fetched either way.
    pub allow_private_networks: bool,
    /// Response bytes all fetches together may hold in memory at once; by
    /// default 64 MiB, or `max_body` when that is larger. See
    /// [`FetchConfig::max_buffered`].
    #[serde(rename = "max_buffered")]
    pub max_buffered_set: Option<ByteSize>,
}

/// The default of `[fetch] max_buffered` (when `max_body` is not larger).
pub const DEFAULT_MAX_BUFFERED: u64 = 64 * 1024 * 1024;

impl FetchConfig {
    /// Response bytes all fetches together may hold in memory at once.
    pub fn max_buffered(&self) -> u64 {
        self.max_buffered_set
            .map(|b| b.0)
            .unwrap_or(DEFAULT_MAX_BUFFERED.max(self.max_body.0))
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: crate::DEFAULT_USER_AGENT.to_string(),
            timeout: Dur(Duration::from_secs(30)),
            max_body: ByteSize(16 * 1024 * 1024),
            concurrency: 16,
            per_host: 2,
            host_gap: Dur(Duration::from_millis(500)),
            max_redirects: 5,
            max_entries: 1000,
            max_field: ByteSize(256 * 1024),
            allow_private_networks: false,
            max_buffered_set: None,
        }
    }
}

/// Scheduling defaults for the daemon (`run`); per-feed keys override them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    /// Interval between polls of a feed that names neither `every` nor `cron`.
    pub every: Dur,
    /// Upper bound on how far Cache-Control/Expires/ttl/sy:updatePeriod push a poll out.
    pub max_delay: Dur,
    /// Upper bound on the error backoff, and on how long a Retry-After is honoured.
    pub max_backoff: Dur,
    /// Consecutive fetches that must see the same permanent redirect before the
    /// stored URL follows it.
    pub redirect_after: u32,
    /// At start-up (and for new feeds), due feeds are spread over this long.
    pub spread: Dur,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            every: Dur(Duration::from_secs(30 * 60)),
            max_delay: Dur(Duration::from_secs(24 * 3600)),
            max_backoff: Dur(Duration::from_secs(24 * 3600)),
            redirect_after: 3,
            spread: Dur(Duration::from_secs(60)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the daemon's HTTP server binds.
    pub listen: SocketAddr,
    /// How long in-flight fetches may run after SIGTERM/SIGINT.
    pub shutdown_timeout: Dur,
    /// HTTP connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A request's headers must arrive within this, counted from when the
    /// connection is ready for a request (so idle keep-alive connections close
    /// after it too).
    pub header_timeout: Dur,
    /// A connection that moves no bytes either way for this long is closed
    /// (e.g. a client that stops reading a response).
    pub idle_timeout: Dur,
    /// Where readers reach the outputs (`https://news.example.org/feedloom/`):
    /// the base of the self links in every output (`NAME.atom` joined to it).
    /// Without it, `http://LISTEN/`.
    #[serde(deserialize_with = "public_url")]
    pub public_url: Option<Url>,
    /// `/healthz` says `degraded` when no feed has succeeded for this long
    /// (counted from the daemon's start at the earliest).
    pub degraded_after: Dur,
}

impl ServerConfig {
    /// The URL the outputs are published under, ending in `/`: `public_url`,
    /// else `http://LISTEN/`.
    pub fn public_base(&self) -> Url {
        // (An IPv6 address's scope, `%eth0`, has no place in a URL: a
        // listen address with one made every command panic.)
        let host = match self.listen {
            SocketAddr::V4(a) => a.to_string(),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        match &self.public_url {
            Some(u) => u.clone(),
            None => Url::parse(&format!("http://{host}/"))
                .unwrap_or_else(|_| Url::parse("http://localhost/").expect("a valid URL")),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_timeout: Dur(Duration::from_secs(10)),
            max_connections: 512,
            header_timeout: Dur(Duration::from_secs(10)),
            idle_timeout: Dur(Duration::from_secs(60)),
            public_url: None,
            degraded_after: Dur(Duration::from_secs(6 * 3600)),
        }
    }
}

/// One `[[feed]]` entry. Parts most feeds leave out are boxed: a config of
/// 10,000 feeds is held for the daemon's life (792 bytes per feed unboxed,
/// 288 boxed; docs/performance.md, change 23).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub url: Spanned<FeedUrl>,
    /// Overrides the feed's own title.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Poll interval (daemon); overrides `[defaults] every`.
    #[serde(default)]
    pub every: Option<Dur>,
    /// Cron schedule (daemon), with a seconds field: `"0 5 6 * * *"`.
    #[serde(default)]
    pub cron: Option<Box<CronSchedule>>,
    /// Extra request headers; values are strings, `{ env = "VAR" }` or `{ file = "path" }`.
    #[serde(default)]
    pub headers: Option<Box<Spanned<std::collections::BTreeMap<String, access::SecretSource>>>>,
    /// Credentials: `{ basic = { user = ..., password = ... } }` or `{ bearer = ... }`.
    #[serde(default)]
    pub auth: Option<Box<Spanned<access::AuthConfig>>>,
    /// `headers`, `auth` and the URL's `user:password@`, resolved at load.
    #[serde(skip)]
    pub access: Box<Access>,
    /// The URL as written, when it carried `user:password@` (which `url` no
    /// longer does): how older feedloom versions stored the feed.
    #[serde(skip)]
    pub url_with_credentials: Option<Box<Secret>>,
    /// Rules an item of this feed must match to be shown (see [`crate::filter`]).
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    /// Rules that hide an item of this feed from every output.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// `include` and `exclude`, compiled at load.
    #[serde(skip)]
    pub rules: Arc<crate::filter::Rules>,
    /// The feed's address came from elsewhere (an OPML file, a page's
    /// declaration), not from the admin: its own host is held to the network
    /// guard too, like a redirect's (no loopback, private or cloud-metadata
    /// address, whatever its name resolves to), and it is not fetched from a
    /// `file:` URL. `import-opml` and `add` write it.
    #[serde(default)]
    pub untrusted: bool,
}

impl FeedConfig {
    /// The feed's URL: its identity in the store and in outputs. Never carries
    /// `user:password@` (those are in `access`).
    pub fn url(&self) -> &Url {
        &self.url.get_ref().0
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    pub name: Spanned<String>,
    /// Title of the merged feed; defaults to "feedloom: NAME".
    #[serde(default)]
    pub title: Option<String>,
    /// The merged feed's home link (RSS `<link>`, Atom `rel="alternate"`): http(s).
    #[serde(default, deserialize_with = "web_link")]
    pub link: Option<Url>,
    #[serde(default = "Format::all")]
    pub formats: Vec<Format>,
    /// Base path of the files to write: `out/all` writes `out/all.atom`, ...
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Only stories from feeds carrying one of these tags (empty: all feeds).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "default_max_items")]
    pub max_items: usize,
    /// Only stories first seen within this window (none: no limit).
    #[serde(default)]
    pub window: Option<Dur>,
    /// `story`: one entry per story, naming every feed that carries it;
    /// `item`: one entry per feed item.
    #[serde(default)]
    pub dedup: Dedup,
    /// `ignore`: an edited story keeps its place; `reannounce`: it moves to the top.
    #[serde(default)]
    pub updates: Updates,
    /// Where this output is published, ending in `/` (`[server] public_url`,
    /// else `http://LISTEN/`); set by [`parse`], not written in the config.
    #[serde(skip)]
    pub public_base: Option<Url>,
    /// Rules a story must match to be shown (see [`crate::filter`]).
    #[serde(default)]
    pub include: Vec<Spanned<String>>,
    /// Rules that hide a story from this output.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// Only stories carried by at least this many feeds (0 or 1: all).
    #[serde(default)]
    pub min_sources: usize,
    /// `include` and `exclude`, compiled at load.
    #[serde(skip)]
    pub rules: Arc<crate::filter::Rules>,
    /// This output's rules with those of every feed, made at load.
    #[serde(skip)]
    pub selection: Arc<crate::filter::Selection>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dedup {
    #[default]
    Story,
    Item,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Updates {
    #[default]
    Ignore,
    Reannounce,
}

fn default_max_items() -> usize {
    100
}

impl OutputConfig {
    /// The `window` in whole seconds, bounded to add to a time safely.
    pub fn window_secs(&self) -> Option<i64> {
        self.window
            .map(|w| w.0.as_secs().min(i64::MAX as u64) as i64)
    }

    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    pub fn title(&self) -> String {
        self.title
            .clone()
            .unwrap_or_else(|| format!("feedloom: {}", self.name()))
    }

    /// The output a config without `[[output]]` gets: every feed, 100 stories.
    pub fn implicit() -> OutputConfig {
        OutputConfig {
            name: Spanned::new(0..0, "all".to_string()),
            title: None,
            link: None,
            formats: Format::all(),
            path: None,
            tags: Vec::new(),
            max_items: default_max_items(),
            window: None,
            dedup: Dedup::Story,
            updates: Updates::Ignore,
            public_base: None,
            include: Vec::new(),
            exclude: Vec::new(),
            min_sources: 0,
            rules: Arc::default(),
            selection: Arc::default(),
        }
    }
}

/// A merged-feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Atom,
    Rss,
    Json,
    /// The river page: stories to read in a browser (see `crate::web`).
    Html,
}

impl Format {
    pub fn all() -> Vec<Format> {
        vec![Format::Atom, Format::Rss, Format::Json, Format::Html]
    }

    /// Whether a feed reader can subscribe to it (every format but the page).
    pub fn is_feed(self) -> bool {
        self != Format::Html
    }

    /// File extension and HTTP path suffix.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
            Format::Html => "html",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "atom" => Ok(Format::Atom),
            "rss" => Ok(Format::Rss),
            "json" => Ok(Format::Json),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "unknown format `{other}`: expected atom, rss, json or html"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The longest duration a config may write: 100 years as humantime counts a
/// year (365.25 days), so that `"100y"` is accepted as the message says.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);

/// Whether a character breaks a line, or is another control character
/// (line and paragraph separators too): none belongs in a title or a tag.
pub fn breaks_a_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// What is wrong with a tag, if anything: a control character (NUL is said
/// apart), nothing shown, or spaces around it.
fn tag_fault(t: &str) -> Option<&'static str> {
    if t.chars().any(|c| c != '\0' && breaks_a_line(c)) {
        Some(
            "holds a control character (a line break, a tab, an escape): write it on one line, without them",
        )
    } else if t.trim().is_empty() || crate::parse::text::shows_nothing(t) {
        Some("is blank (or shows nothing)")
    } else if t.trim() != t {
        Some("has spaces around it")
    } else {
        None
    }
}

/// Reads a duration the humantime way (`"30s"`, `"15m"`, `"7d"`, `"1h
/// 30m"`), refusing the unit `M` alone: humantime reads it as months, beside
/// `m` for minutes (`every = "30M"` was a feed fetched every two and a half
/// years, shown as such by `check` alone).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let mut units = t.split(|c: char| c.is_ascii_digit() || c.is_whitespace());
    if units.any(|u| u == "M") {
        return Err(
            "the unit `M` is a month to feedloom and `m` a minute: write `min` for minutes or `months` for months"
                .to_string(),
        );
    }
    humantime::parse_duration(t).map_err(|e| e.to_string())
}

/// A duration written the humantime way: `"30s"`, `"15m"`, `"7d"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let dur = parse_duration(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration `{s}`: {e}")))?;
        if dur > MAX_DURATION {
            return Err(serde::de::Error::custom(format!(
                "duration `{s}` is too long (at most 100 years)"
            )));
        }
        Ok(Dur(dur))
    }
}

/// A size in bytes: `"16MiB"`, `"512KiB"`, `"1MB"`, `"4096"` or a bare integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        if unit.starts_with(['.', ',']) {
            return Err(format!(
                "invalid size `{s}`: sizes are whole numbers of their unit (e.g. \"1536KiB\" for 1.5MiB)"
            ));
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid size `{s}`: expected e.g. \"16MiB\""))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1000,
            "kib" | "k" => 1024,
            "mb" => 1000 * 1000,
            "mib" | "m" => 1024 * 1024,
            "gb" => 1000 * 1000 * 1000,
            "gib" | "g" => 1024 * 1024 * 1024,
            other => {
                return Err(format!(
                    "invalid size `{s}`: unknown unit `{other}` (use B, KiB, MiB, GiB, KB, MB, GB)"
                ));
            }
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("invalid size `{s}`: too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Str(String),
            // (Anything else, named in the error below.)
            Other(toml::Value),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Other(v) => Err(serde::de::Error::custom(format!(
                "invalid size {v}: write a whole number of bytes (4096) or a string with a unit (\"512KiB\", \"16MiB\", \"1MB\")"
            ))),
        }
    }
}

/// The path a relative `file:` URL names: percent escapes decoded, as in an
/// absolute one (`file:./my%20feed.rss` is `my feed.rss`; it was read as a
/// file named `my%20feed.rss`, and encoded again into `my%2520feed.rss`),
/// unless a file of that very name is there and the decoded one is not
/// (a file named `a%20b.xml` and none named `a b.xml`: `file:a%20b.xml` is it).
fn relative_file_path<'a>(base: &Path, rel: &'a str) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    if !rel.contains('%') {
        return Cow::Borrowed(rel);
    }
    let Ok(decoded) = percent_encoding::percent_decode_str(rel).decode_utf8() else {
        return Cow::Borrowed(rel);
    };
    if decoded == rel {
        return Cow::Borrowed(rel);
    }
    if base.join(rel).exists() && !base.join(&*decoded).exists() {
        return Cow::Borrowed(rel);
    }
    Cow::Owned(decoded.into_owned())
}

/// A feed URL: http, https or file, and the text it was written as. A `file:` URL
/// without a leading slash (`file:samples/x.xml`) is relative to the config's folder.
/// After loading, neither carries `user:password@` (see [`FeedConfig::access`]).
#[derive(Clone, PartialEq, Eq)]
pub struct FeedUrl(pub Url, pub String);

impl fmt::Debug for FeedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FeedUrl({})", access::redact_userinfo(self.0.as_str()))
    }
}

impl<'de> Deserialize<'de> for FeedUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_feed_url(&s)
            .map(|u| FeedUrl(u, s.trim().to_string()))
            .map_err(serde::de::Error::custom)
    }
}

/// Bytes of a tag written in the config.
pub const MAX_TAG_BYTES: usize = 256;

/// The longest `title` a `[[feed]]` may have, in bytes (`import-opml` cuts
/// longer ones).
pub const MAX_TITLE_BYTES: usize = 1024;

/// Bytes of a feed URL (indexed on PostgreSQL, which refuses an entry over
/// ~2,700 bytes: every poll failed, not only this feed's).
pub const MAX_FEED_URL_BYTES: usize = 2_000;

/// Whether a URL's text has its host right after `scheme://`. (The URL
/// parser forgives `http:///x`, `http:/x`, `http:x` and `http:\\x` as
/// `http://x/`: a typo's first path segment was fetched as a host.)
/// Whether a header's value (or a part of one) looks like a key: a
/// credential [`crate::urls::token_like`] judges so, or 16 characters or
/// more of letters and digits both, with nothing but `- _ + / =` among them
/// (base64, an AWS secret key). Not a host name, a URL, a date or a version
/// (`news2.example.com`, `v1.2.3`): hidden as a key, such a host took every
/// link and file of the feed's items with it.
///
/// Such a value is a key only if one of its parts between `-` and `_` mixes
/// letters and digits as keys do: over 12 characters, or switching between
/// letters and digits twice or more (`Pq1Wx2…`, a UUID's `550e8400`). A slug
/// of words and a year (`acme-news-desk-2024`, `covid19-update-2021`) is no
/// key: hidden, it took every title and link that named it.
fn key_like(value: &str) -> bool {
    let mixed = |part: &str| {
        let b = part.as_bytes();
        let switches = b
            .windows(2)
            .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
            .count();
        b.iter().any(u8::is_ascii_digit)
            && b.iter().any(u8::is_ascii_alphabetic)
            && (b.len() >= 12 || switches >= 2)
    };
    crate::urls::token_like(value)
        || (value.len() >= 16
            && value.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=')
            })
            && value.split(['-', '_']).any(mixed))
}

/// The parts of a header's value a key may be: its words (between spaces,
/// `,` and `;`), and the pieces of each between the marks that structure a
/// value (`sid=KEY`, `client:KEY`, `token="KEY"`, `{"k":"KEY"}`, `v1.KEY`,
/// `acct/KEY`, `KEY@tenant`): a key in such a value was published whole, as
/// only the words were judged.
fn value_parts(value: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for word in value.split([' ', '\t', ',', ';']) {
        if !word.is_empty() && word != value && !out.contains(&word) {
            out.push(word);
        }
        // (And `. / @ # ! ~ * \`: `Bearer v1.KEY`, `acct/KEY`, `KEY@tenant`
        // published the key whole.)
        for piece in word.split([
            ':', '=', '"', '\'', '{', '}', '[', ']', '(', ')', '&', '|', '<', '>', '.', '/', '@',
            '#', '!', '~', '*', '\\',
        ]) {
            if !piece.is_empty() && piece != word && piece != value && !out.contains(&piece) {
                out.push(piece);
            }
        }
    }
    out
}

fn host_spelled(s: &str) -> bool {
    let after_scheme = s.trim().split_once(':').map_or("", |(_, rest)| rest);
    let mut host_start = after_scheme.chars();
    host_start.next() == Some('/')
        && host_start.next() == Some('/')
        && !matches!(host_start.next(), Some('/' | '\\') | None)
}

/// Parses and checks a feed URL (scheme http, https or file; a host for http(s)).
pub fn parse_feed_url(s: &str) -> Result<Url, String> {
    let shown = access::redact_userinfo(s);
    if s.trim().len() > MAX_FEED_URL_BYTES {
        return Err(format!(
            "the URL `{}…` is longer than {MAX_FEED_URL_BYTES} bytes",
            shown.chars().take(60).collect::<String>()
        ));
    }
    // (A line break or a tab inside it: the URL parser leaves them out, and
    // another address than the one written was asked, and written to the
    // config with them.)
    if s.trim().contains(['\n', '\r', '\t']) {
        return Err(format!(
            "invalid URL `{}`: it holds a line break or a tab",
            crate::error::quoted(&shown, 200)
        ));
    }
    let url = Url::parse(s.trim()).map_err(|e| match e {
        // (A file's path: `file:` before it, as feeds on this machine are
        // named; it was told to write `https://` first.)
        url::ParseError::RelativeUrlWithoutBase
            if s.trim().starts_with('/') && !s.trim().starts_with("//") =>
        {
            // (Percent-encoded: `#`, `?` and `%` in a path made the
            // suggestion name another file.)
            format!(
                "invalid URL `{shown}`: a file's path is written as a `file:` URL (`{}`)",
                Url::from_file_path(shown.trim())
                    .map_or_else(|_| format!("file://{}", shown.trim()), String::from)
            )
        }
        url::ParseError::RelativeUrlWithoutBase => format!(
            "invalid URL `{shown}`: {e} (write it whole, with `https://` or `http://` first, \
             or `file:` before a file's path)"
        ),
        e => format!("invalid URL `{shown}`: {e}"),
    })?;
    let spelled = host_spelled(s);
    match url.scheme() {
        "http" | "https" if !spelled => Err(format!(
            "invalid URL `{shown}`: write the host right after `{}://`",
            url.scheme()
        )),
        // (Port 0 is no port: every fetch failed with "connect: refused".)
        "http" | "https" if url.port() == Some(0) => {
            Err(format!("invalid URL `{shown}`: port 0 is no port"))
        }
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" | "https" => Err(format!("invalid URL `{shown}`: no host")),
        // (`file://otherhost/x.xml` failed at each fetch with "cannot read
        // /x.xml: not a local path".)
        "file"
            if url
                .host_str()
                .is_some_and(|h| !h.is_empty() && h != "localhost") =>
        {
            Err(format!(
                "invalid URL `{shown}`: a file URL names a file on this machine (file:///path), not on host `{}`",
                url.host_str().unwrap_or("")
            ))
        }
        "file" => Ok(url),
        other => Err(format!(
            "invalid URL `{shown}`: scheme `{other}` is not supported (use http, https or file)"
        )),
    }
}

/// `url` without `user:password@`, and the credentials it carried (as basic
/// auth, percent-decoded), if any.
pub fn split_credentials(url: &Url) -> (Url, Option<Auth>) {
    if url.username().is_empty() && url.password().is_none() {
        return (url.clone(), None);
    }
    let user = Secret::new(percent_decode(url.username()), "the URL");
    let password = url
        .password()
        .map(|p| Secret::new(percent_decode(p), "the URL"));
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    (clean, Some(Auth::Basic { user, password }))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An http(s) URL, the only kind feedloom publishes as a link.
fn web_link<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let s = String::deserialize(d)?;
    match Url::parse(s.trim()) {
        // (It is published in every format, credentials and all.)
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            // (Not quoted: `https:/a:SECRET@host` is such a URL too, and
            // escapes the redaction of `://…@`.)
            Err(serde::de::Error::custom(
                "invalid link: a user or password would be published in the merged feed",
            ))
        }
        Ok(u) if crate::urls::is_web(&u) => Ok(Some(u)),
        Ok(u) => Err(serde::de::Error::custom(format!(
            "invalid link `{s}`: scheme `{}` is not published (use http or https)",
            u.scheme()
        ))),
        Err(e) => Err(serde::de::Error::custom(format!("invalid link `{s}`: {e}"))),
    }
}

/// `[server] public_url`: an http(s) URL without query or fragment; its path gets
/// a trailing `/` so that `NAME.atom` joins below it.
fn public_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let s = String::deserialize(d)?;
    let err = |why: String| serde::de::Error::custom(format!("invalid public_url `{s}`: {why}"));
    let mut u = Url::parse(s.trim()).map_err(|e| err(e.to_string()))?;
    // (Not quoted: such a typo escapes the redaction of `://…@`.)
    if crate::urls::is_web(&u) && !host_spelled(&s) {
        return Err(serde::de::Error::custom(format!(
            "invalid public_url: write the host right after `{}://` (every output's self link named the host `{}`)",
            u.scheme(),
            u.host_str().unwrap_or("")
        )));
    }
    if !crate::urls::is_web(&u) {
        return Err(err(format!(
            "scheme `{}` cannot be published (use http or https)",
            u.scheme()
        )));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(serde::de::Error::custom(format!(
            "invalid public_url `{}`: a user or password would be published in every output's links (put credentials in your proxy, not in the URL)",
            access::redact_userinfo(s.trim())
        )));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(err(
            "a query or fragment cannot prefix the outputs' paths (write the folder they are served from, e.g. \"https://example.org/feeds/\")".to_string(),
        ));
    }
    if !u.path().ends_with('/') {
        let path = format!("{}/", u.path());
        u.set_path(&path);
    }
    Ok(Some(u))
}

/// The shortest `[fetch] timeout`.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
/// The longest `[fetch] host_gap`.
pub const MAX_HOST_GAP: Duration = Duration::from_secs(3600);

/// The most `[fetch] concurrency` and `per_host` may be.
pub const MAX_CONCURRENCY: usize = 100_000;
/// The most `[server] max_connections` may be.
pub const MAX_CONNECTIONS: usize = 1_000_000;

/// A cron expression in the `cron` crate's syntax (seconds first) that fires
/// at least once within [`CRON_HORIZON_YEARS`] of loading the config.
#[derive(Debug, Clone)]
pub struct CronSchedule(pub cron::Schedule);

/// A cron schedule must fire within this many years of now.
pub const CRON_HORIZON_YEARS: i32 = 5;

impl<'de> Deserialize<'de> for CronSchedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_cron(&s, chrono::Utc::now()).map_err(serde::de::Error::custom)
    }
}

/// Parses a `cron` value and checks that it fires within
/// [`CRON_HORIZON_YEARS`] after `now`.
pub fn parse_cron(s: &str, now: chrono::DateTime<chrono::Utc>) -> Result<CronSchedule, String> {
    let schedule = cron::Schedule::from_str(s.trim()).map_err(|e| cron_error(s, &e.to_string()))?;
    let horizon = now
        .checked_add_months(chrono::Months::new(12 * CRON_HORIZON_YEARS as u32))
        .unwrap_or(now);
    match schedule.after(&now).next() {
        Some(t) if t <= horizon => Ok(CronSchedule(schedule)),
        Some(t) => Err(format!(
            "`cron` expression `{s}` first fires at {}, more than {CRON_HORIZON_YEARS} \
             years from now: the feed would hardly ever be polled",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        )),
        // A schedule whose dates have all passed (`… 2026`, after 2026) is
        // not an error: the config was valid when written, and refusing it
        // later took every command and the daemon's restart down with it.
        // `check` and the daemon warn (see [`cron_has_ended`]).
        None if cron_has_ended(&schedule, now) => Ok(CronSchedule(schedule)),
        None => Err(format!(
            "`cron` expression `{s}` never fires (no matching date, e.g. February 30th): \
             the feed would never be polled"
        )),
    }
}

/// Whether a schedule fired before `now` and never will again (its years have
/// passed), as opposed to one that matches no date at all.
pub fn cron_has_ended(schedule: &cron::Schedule, now: chrono::DateTime<chrono::Utc>) -> bool {
    schedule.after(&now).next().is_none()
        && schedule
            .after(&chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
            .next()
            .is_some_and(|t| t <= now)
}

/// What a bad cron expression's error says: the parser's complaint, the expected
/// shape (six fields, seconds first) and an example; for a five-field crontab
/// line, the same schedule written with a seconds field.
/// A crontab day-of-week field in the cron crate's terms: crontab counts
/// 0 (or 7) as Sunday and 1 as Monday, the cron crate 1 as Sunday, so the
/// days are written as names (`1-5` is `Mon-Fri` as a list; as numbers it
/// meant Sunday to Thursday). Ranges, steps and lists are read as crontab
/// reads them (0–7), and the days named one by one (`*` for all seven). A
/// field it cannot read (names already) is left as written.
fn crontab_days(field: &str) -> String {
    const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let num = |n: &str| n.trim().parse::<u32>().ok().filter(|&d| d <= 7);
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, st)) => match st.trim().parse::<u32>().ok().filter(|&st| st > 0) {
                Some(st) => (r, st),
                None => return field.to_string(),
            },
            None => (item, 1),
        };
        let (from, to) = match range.trim() {
            "*" | "?" => (0, 7),
            r => match r.split_once('-') {
                Some((a, b)) => match (num(a), num(b)) {
                    (Some(a), Some(b)) if a <= b => (a, b),
                    _ => return field.to_string(),
                },
                None => match num(r) {
                    // `A/S`: from A to the end of the week.
                    Some(a) if item.contains('/') => (a, 7),
                    Some(a) => (a, a),
                    None => return field.to_string(),
                },
            },
        };
        for d in (from..=to).step_by(step as usize) {
            days[(d % 7) as usize] = true;
        }
    }
    if days.iter().all(|&d| d) {
        return "*".to_string();
    }
    // Monday first, as weeks are read.
    (1..=7)
        .map(|d| d % 7)
        .filter(|&d| days[d])
        .map(|d| NAMES[d])
        .collect::<Vec<_>>()
        .join(",")
}

fn cron_error(expr: &str, err: &str) -> String {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    // The cron crate repeats the expression and a caret line before its message.
    let said = err
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && *l != expr.trim() && !l.chars().all(|c| c == '^'))
        .map(|l| l.trim_end_matches('.').to_string());
    // (The cron crate says "Seconds must be less than 59. ('60'
    // specified.)" while it takes 59: its bounds, as they are, inclusive.)
    // (And so for every field: "Days of Month must be less than 31" takes 31.)
    let said = said.map(|s| {
        static LESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"must be less than (\d+)").expect("valid")
        });
        LESS.replace_all(&s, "must be at most $1").into_owned()
    });
    let err = match said {
        Some(s) => s,
        None if !(6..=7).contains(&fields.len()) => format!("it has {} fields", fields.len()),
        None => "not a schedule the cron crate reads".to_string(),
    };
    let hint = if fields.len() == 5 {
        let mut six: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        six[4] = crontab_days(fields[4]);
        // Crontab fires on either a day of the month or a day of the week
        // when both are given; a cron expression needs both.
        // (A field that starts with `*`, `*/2`, restricts nothing to cron.)
        let restricted = |f: &str| !f.starts_with('*') && f != "?";
        let either = restricted(fields[2]) && restricted(fields[4]);
        format!(
            "; for a five-field crontab line, put a seconds field first: \"0 {}\"{}",
            six.join(" "),
            if either {
                " (crontab fires when the day of the month or the day of the week matches, \
                 this only when both do: for either, write two feeds' schedules)"
            } else {
                ""
            }
        )
    } else {
        String::new()
    };
    format!(
        "invalid cron expression `{expr}`: {err}; write six fields, seconds first \
         (sec min hour day-of-month month day-of-week [year]), e.g. \"0 30 6 * * *\" \
         for 06:30:00 UTC daily{hint}"
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    fetch: FetchConfig,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    identity: IdentityConfig,
    #[serde(default, rename = "feed")]
    feeds: Vec<FeedConfig>,
    #[serde(default, rename = "output")]
    outputs: Vec<OutputConfig>,
}

/// Reads and validates the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    parse(&read_text(path)?, path)
}

/// Whether a config's text says nothing at all (a byte-order mark and
/// whitespace at most): what a file caught while being rewritten reads as.
pub fn is_blank(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').trim().is_empty()
}

/// The text of the config at `path`, as [`load`] reads it.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    // A pipe is read (`--config <(...)`), but never without end (`/dev/zero`).
    const MAX: u64 = 16 << 20;
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX + 1).read_to_end(&mut bytes))
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX {
        return Err(read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "larger than 16 MiB; a config is a short text file",
        )));
    }
    String::from_utf8(bytes).map_err(|e| not_utf8(path, e.as_bytes(), e.utf8_error()))
}

/// A config that is not UTF-8, located: the line and column of its first
/// byte that is not ("stream did not contain valid UTF-8" sent the operator
/// hunting through a long file for one `é` saved in Latin-1).
pub(crate) fn not_utf8(path: &Path, bytes: &[u8], e: std::str::Utf8Error) -> ConfigError {
    let at = e.valid_up_to();
    let line_start = bytes[..at]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = bytes[at..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |i| at + i);
    let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
    // (Counted in characters, as an editor shows it.)
    let column = 1 + String::from_utf8_lossy(&bytes[line_start..at])
        .chars()
        .count();
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    // (UTF-16 without a byte-order mark, past ASCII, is said as the ASCII
    // kind is: "byte 0xDC is not UTF-8" quoted a line of NULs.)
    if !utf16 && utf16_without_bom(bytes) {
        return ConfigError::Whole {
            path: path.to_path_buf(),
            message: UTF16_WITHOUT_BOM.to_string(),
        };
    }
    let message = match utf16 {
        true => "the file is UTF-16 (it starts with a UTF-16 byte-order mark); a config is UTF-8 text: save it as UTF-8".to_string(),
        false => format!(
            "byte 0x{:02X} is not UTF-8 (a config is UTF-8 text: save it as UTF-8, or write the character as \\u{{…}} in a string)",
            bytes[at]
        ),
    };
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
        // (Control bytes shown as such, not sent to the terminal.)
        snippet: String::from_utf8_lossy(&bytes[line_start..line_end.min(line_start + 200)])
            .trim_end_matches('\r')
            .chars()
            .map(|c| match c.is_control() && c != '\t' {
                true => '\u{FFFD}',
                false => c,
            })
            .collect(),
    }
}

/// What is said of a config in UTF-16 without a byte-order mark.
const UTF16_WITHOUT_BOM: &str = "the file looks like UTF-16 (every other byte is NUL); a config is UTF-8 text: save it as UTF-8";

/// Whether text starts as ASCII written in UTF-16 (either byte order) with no
/// byte-order mark: a NUL at every other byte of its first characters.
fn utf16_without_bom(bytes: &[u8]) -> bool {
    // (Its first 4 KiB: comment lines in Japanese or Russian first have
    // few NULs among their first characters.)
    let head = &bytes[..bytes.len().min(4096) & !1];
    let nuls = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    // (Half of one half NUL or more, hardly any of the other: characters
    // past Latin-1, `☃` or a comment in Japanese, have no NUL.)
    let half = head.len() / 2;
    head.len() >= 4
        && [(0, 1), (1, 0)]
            .iter()
            .any(|&(nul, other)| 2 * nuls(nul) >= half && 16 * nuls(other) <= half)
}

/// A TOML reader's message, with what to write instead where its words
/// alone do not say it.
fn with_hint(text: &str, span: Option<std::ops::Range<usize>>, message: &str) -> String {
    let line = span
        .and_then(|sp| {
            let start = text[..sp.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            text[start..].lines().next()
        })
        .unwrap_or("");
    // The line without its comment and spaces: `[ feed ] # x` is `[feed]`.
    let bare: String = line[..line.find('#').unwrap_or(line.len())]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let hint = if (message.contains("expected a sequence") || message.contains("duplicate key"))
        && matches!(bare.as_str(), "[feed]" | "[output]")
    {
        format!(
            "; each {0} is a block of its own: write [[{0}]], with two brackets",
            &bare[1..bare.len() - 1]
        )
    } else if message.contains("invalid socket address") && bare.starts_with("listen") {
        "; write an IP address and a port from 1 to 65535, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\" \
         (not a host name; an IPv6 scope as a number, \"[fe80::1%2]:8080\")"
            .to_string()
    } else if message.contains("more than 1 element") && bare.starts_with("auth") {
        "; auth is one of basic or bearer, not both".to_string()
    } else if message.contains("found 0 elements") && bare.starts_with("auth") {
        "; auth names one of basic or bearer".to_string()
    } else {
        String::new()
    };
    format!("{message}{hint}")
}

/// A path as the system reads it, for telling whether two paths name one
/// file: absolute, each part that exists as the system resolves it (a
/// link), then `.` and `..` taken out where they stand: `x/lnk/..` is the
/// folder above where `lnk` leads, as the system reads it (a symbolic link
/// to another output's folder, or to the config's, hid that two wrote one
/// file). The file may not exist yet.
pub(crate) fn plain_path(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => {
                out.push(other);
                if let Ok(real) = std::fs::canonicalize(&out) {
                    out = real;
                }
            }
        }
    }
    out
}

/// What config key reads a secret from `path` (the same file, through any
/// link), if one does: `export-opml --output` may not write it.
pub fn secret_file_key(cfg: &Config, path: &Path) -> Option<String> {
    let base = cfg.source.parent().unwrap_or(Path::new("."));
    let wanted = plain_path(path);
    secret_files(cfg, base)
        .into_iter()
        .find(|(f, _)| *f == wanted || crate::same_file(f, path))
        .map(|(_, what)| what)
}

/// The files the config reads secrets from (as [`plain_path`] gives them),
/// each with the key that names it: no output may write one.
fn secret_files(cfg: &Config, base: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut add = |src: &access::SecretSource, what: String| {
        if let access::SecretSource::File(p) = src {
            files.push((plain_path(&base.join(p)), what));
        }
    };
    for feed in &cfg.feeds {
        // (Without the URL's own user:password@, if it has one.)
        let url = split_credentials(feed.url()).0;
        if let Some(h) = &feed.headers {
            for (name, src) in h.get_ref() {
                add(src, format!("feed `{url}` (headers.{name})"));
            }
        }
        match feed.auth.as_ref().map(|a| a.get_ref()) {
            Some(access::AuthConfig::Bearer(src)) => {
                add(src, format!("feed `{url}` (auth.bearer)"))
            }
            Some(access::AuthConfig::Basic(b)) => {
                add(&b.user, format!("feed `{url}` (auth.basic.user)"));
                if let Some(pw) = &b.password {
                    add(pw, format!("feed `{url}` (auth.basic.password)"));
                }
            }
            None => {}
        }
    }
    if let Some(p) = &cfg.store.password_file {
        files.push((plain_path(p), "[store] password_file".to_string()));
    }
    files
}

/// The first output of `cfg` that would write one of `files` (paths as
/// [`plain_path`] gives them): its name and the file. A reload asks this of
/// the store the daemon has open, which the new config may no longer name.
pub fn output_writing(cfg: &Config, files: &[PathBuf]) -> Option<(String, PathBuf)> {
    for out in &cfg.outputs {
        let Some(p) = &out.path else { continue };
        for format in &out.formats {
            let file = plain_path(&crate::export::file_path(p, *format));
            if files.contains(&file) {
                return Some((out.name().to_string(), file));
            }
        }
    }
    None
}

/// Validates config text; `path` names it in errors and anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let at = |span: std::ops::Range<usize>, message: String| invalid(text, path, span, message);
    // UTF-16 without a byte-order mark reads as UTF-8 with a NUL beside every
    // ASCII character: said as such (it was "key with no value, expected `=`"
    // under a line of `^@[^@[^@f`).
    if utf16_without_bom(text.as_bytes()) {
        return Err(ConfigError::Whole {
            path: path.to_path_buf(),
            message: UTF16_WITHOUT_BOM.to_string(),
        });
    }
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = with_hint(text, e.span(), e.message());
        match e.span() {
            Some(span) => at(span, message),
            None => ConfigError::Whole {
                path: path.to_path_buf(),
                message,
            },
        }
    })?;

    // The span of a key, for errors found after deserializing (else `fallback`).
    let key_at = |path: &[Seg<'_>], fallback: std::ops::Range<usize>| {
        edit::key_span(text, path).unwrap_or(fallback)
    };
    for (i, feed) in raw.feeds.iter().enumerate() {
        let every_at = || {
            key_at(
                &[Seg::Key("feed"), Seg::Index(i), Seg::Key("every")],
                feed.url.span(),
            )
        };
        if feed.every.is_some() && feed.cron.is_some() {
            let every = every_at();
            let cron = key_at(
                &[Seg::Key("feed"), Seg::Index(i), Seg::Key("cron")],
                feed.url.span(),
            );
            let (later, other, other_span) = if cron.start > every.start {
                (cron, "every", every)
            } else {
                (every, "cron", cron)
            };
            return Err(at(
                later,
                format!(
                    "a feed takes `every` or `cron`, not both (`{other}` is on line {})",
                    edit::line_of(text, other_span.start)
                ),
            ));
        }
        if let Some(every) = feed.every
            && every.0 < Duration::from_secs(1)
        {
            return Err(at(every_at(), "`every` must be at least 1s".to_string()));
        }
        let key = |k: &'static str| {
            key_at(
                &[Seg::Key("feed"), Seg::Index(i), Seg::Key(k)],
                feed.url.span(),
            )
        };
        // (Blank also when it shows nothing: zero-width characters, marks of
        // direction, controls. It replaced the feed's name everywhere.)
        if feed
            .title
            .as_deref()
            .is_some_and(crate::parse::text::shows_nothing)
        {
            return Err(at(
                key("title"),
                "a feed's `title` is blank (or shows nothing): leave it out to show the feed's own title".to_string(),
            ));
        }
        // (Repeated in every story of the feed, in every output: a 1 MB
        // title imported from an OPML file made 480 MB of outputs.)
        if let Some(t) = feed.title.as_deref().filter(|t| t.len() > MAX_TITLE_BYTES) {
            let start: String = t.chars().take(40).collect();
            return Err(at(
                key("title"),
                format!("a feed's `title` ({start:?}…) is longer than {MAX_TITLE_BYTES} bytes"),
            ));
        }
        if let Some((tag, why)) = feed.tags.iter().find_map(|t| Some((t, tag_fault(t)?))) {
            return Err(at(key("tags"), format!("tag {tag:?} {why}")));
        }
        // (A line break or a tab in a feed's title was published over two
        // lines in every output, run together by search, and written as
        // `&#10;` by export-opml; `add --title` refuses them, and
        // `import-opml` writes them as spaces.)
        // (Its tags: `tag_fault` above.)
        if feed
            .title
            .as_deref()
            .is_some_and(|t| t.chars().any(|c| c != '\0' && breaks_a_line(c)))
        {
            return Err(at(
                key("title"),
                "a feed's `title` holds a control character (a line break, a tab, an escape): write it on one line, without them".to_string(),
            ));
        }
        // (PostgreSQL's text holds no NUL: every command failed to sync the
        // feeds, naming neither the feed nor the key.)
        for (k, nul) in [
            (
                "title",
                feed.title.as_deref().is_some_and(|t| t.contains('\0')),
            ),
            ("tags", feed.tags.iter().any(|t| t.contains('\0'))),
        ] {
            if nul {
                return Err(at(
                    key(k),
                    format!("a feed's `{k}` holds a NUL character (\\u0000)"),
                ));
            }
        }
        // (Indexed on PostgreSQL, which refuses an entry over ~2,700 bytes:
        // every poll failed, not only this feed's.)
        if let Some(tag) = feed.tags.iter().find(|t| t.len() > MAX_TAG_BYTES) {
            return Err(at(
                key("tags"),
                format!(
                    "tag {:?}… is longer than {MAX_TAG_BYTES} bytes",
                    tag.chars().take(40).collect::<String>()
                ),
            ));
        }
    }
    let mut names: HashMap<&str, ()> = HashMap::new();
    for (j, out) in raw.outputs.iter().enumerate() {
        let name = out.name();
        let key = |k: &'static str| {
            key_at(
                &[Seg::Key("output"), Seg::Index(j), Seg::Key(k)],
                out.name.span(),
            )
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(at(
                out.name.span(),
                format!("output name `{name}` must be letters, digits, `-` or `_`"),
            ));
        }
        if names.insert(name, ()).is_some() {
            return Err(at(
                out.name.span(),
                format!("duplicate output name `{name}`"),
            ));
        }
        if out.formats.is_empty() {
            return Err(at(
                out.name.span(),
                format!("output `{name}` has no formats"),
            ));
        }
        // The title every reader shows for the output: not blank, no control
        // characters or direction overrides (published raw: an ESC colour
        // sequence, a NUL, a U+202E in the JSON Feed and the page's heading).
        if let Some(t) = out.title.as_deref() {
            let why = if crate::parse::text::shows_nothing(t) {
                Some("is blank (or shows nothing): leave it out for the default")
            } else if t
                .chars()
                .any(|c| c.is_control() || crate::export::clean::is_bidi_control(c))
            {
                Some("holds a control character or a direction override")
            } else if t.len() > MAX_TITLE_BYTES {
                Some("is longer than 1024 bytes")
            } else {
                None
            };
            if let Some(why) = why {
                // (At the title's line: it quoted the name's.)
                return Err(at(
                    key("title"),
                    format!("output `{name}`: its `title` {why}"),
                ));
            }
        }
        // The tags it selects are feeds' tags, which hold none of these (an
        // ESC reached `check`'s terminal, and an empty tag selected nothing).
        if let Some((tag, why)) = out.tags.iter().find_map(|t| Some((t, tag_fault(t)?))) {
            return Err(at(
                key("tags"),
                format!("output `{name}`: tag {tag:?} {why}"),
            ));
        }
        // The files are the path's text + `.atom` etc.: its last part must
        // be a name (`out/`, `out/.` made hidden `out/.atom`, `out/..atom`).
        if let Some(p) = &out.path
            && matches!(
                p.to_string_lossy().rsplit(['/', '\\']).next(),
                None | Some("" | "." | "..")
            )
        {
            return Err(at(
                out.name.span(),
                format!(
                    "output `{name}`: `path` {:?} names no file: give the files' name without \
                     extension, e.g. \"out/{name}\" (writes out/{name}.atom, ...)",
                    p.display().to_string()
                ),
            ));
        }
        if let Some((_, f)) = out
            .formats
            .iter()
            .enumerate()
            .find(|(i, f)| out.formats[..*i].contains(f))
        {
            return Err(at(
                out.name.span(),
                format!("output `{name}` names the format `{}` twice", f.extension()),
            ));
        }
        if out.window.is_some_and(|w| w.0.is_zero()) {
            return Err(at(
                out.name.span(),
                format!(
                    "output `{name}`: a `window` of 0s shows no story; leave it out for no limit"
                ),
            ));
        }
        if out.max_items == 0 || out.max_items > 10_000 {
            return Err(at(
                out.name.span(),
                format!("output `{name}`: max_items must be between 1 and 10000"),
            ));
        }
    }
    // A bad value in [fetch] or [defaults]: at its key's line when it is written.
    let whole = |table: &str, key: &str, message: &str| match edit::key_span(
        text,
        &[Seg::Key(table), Seg::Key(key)],
    ) {
        Some(span) => at(span, message.to_string()),
        None => ConfigError::Whole {
            path: path.to_path_buf(),
            message: message.to_string(),
        },
    };
    if reqwest::header::HeaderValue::from_str(&raw.fetch.user_agent).is_err()
        || raw.fetch.user_agent.trim().is_empty()
    {
        return Err(whole(
            "fetch",
            "user_agent",
            "[fetch] user_agent is not a valid header value (one line of visible characters)",
        ));
    }
    if raw.fetch.concurrency == 0 {
        return Err(whole(
            "fetch",
            "concurrency",
            "[fetch] concurrency must be at least 1",
        ));
    }
    if raw.fetch.per_host == 0 {
        return Err(whole(
            "fetch",
            "per_host",
            "[fetch] per_host must be at least 1",
        ));
    }
    // (Far past any machine's sockets; a count past 2^61 made every fetch,
    // and a reload of the daemon, panic.)
    for (key, value, max) in [
        ("concurrency", raw.fetch.concurrency, MAX_CONCURRENCY),
        ("per_host", raw.fetch.per_host, MAX_CONCURRENCY),
    ] {
        if value > max {
            return Err(whole(
                "fetch",
                key,
                &format!("[fetch] {key} must be at most {max} (requests in flight at once)"),
            ));
        }
    }
    for (key, zero) in [
        ("max_body", raw.fetch.max_body.0 == 0),
        ("max_entries", raw.fetch.max_entries == 0),
        ("max_field", raw.fetch.max_field.0 == 0),
    ] {
        if zero {
            return Err(whole(
                "fetch",
                key,
                &format!("[fetch] {key} must be above 0"),
            ));
        }
    }
    if raw.fetch.timeout.0.is_zero() {
        return Err(whole("fetch", "timeout", "[fetch] timeout must be above 0"));
    }
    // (No request is answered that fast: every fetch failed.)
    if raw.fetch.timeout.0 < MIN_TIMEOUT {
        return Err(whole(
            "fetch",
            "timeout",
            "[fetch] timeout must be at least 100ms (no request is answered sooner)",
        ));
    }
    // (One server that took the connection and never answered held a
    // `poll` for ever at "100y"; a daemon's stop waits for it too.)
    for (table, key, d) in [
        ("fetch", "timeout", raw.fetch.timeout.0),
        ("server", "shutdown_timeout", raw.server.shutdown_timeout.0),
    ] {
        if d > MAX_HOST_GAP {
            return Err(whole(
                table,
                key,
                &format!("[{table}] {key} must be at most 1h"),
            ));
        }
    }
    // (A `poll` waits it between two requests to one host: at "1d", a poll
    // of two feeds on one host took a day, and at "100y" it never ended.)
    if raw.fetch.host_gap.0 > MAX_HOST_GAP {
        return Err(whole(
            "fetch",
            "host_gap",
            "[fetch] host_gap must be at most 1h (it is waited between two requests to one host: N feeds on a host take N × host_gap)",
        ));
    }
    if raw.fetch.max_buffered() < raw.fetch.max_body.0 {
        return Err(whole(
            "fetch",
            "max_buffered",
            &format!(
                "[fetch] max_buffered ({} bytes) must be at least max_body ({} bytes): a body of max_body must fit",
                raw.fetch.max_buffered(),
                raw.fetch.max_body.0
            ),
        ));
    }
    if raw.defaults.every.0 < Duration::from_secs(1) {
        return Err(whole(
            "defaults",
            "every",
            "[defaults] every must be at least 1s",
        ));
    }
    if raw.defaults.max_backoff.0 < Duration::from_secs(1) {
        return Err(whole(
            "defaults",
            "max_backoff",
            "[defaults] max_backoff must be at least 1s (it caps the wait before a failing feed is tried again)",
        ));
    }
    if raw.server.max_connections == 0 {
        return Err(whole(
            "server",
            "max_connections",
            "[server] max_connections must be at least 1",
        ));
    }
    if raw.server.max_connections > MAX_CONNECTIONS {
        return Err(whole(
            "server",
            "max_connections",
            &format!("[server] max_connections must be at most {MAX_CONNECTIONS}"),
        ));
    }
    // (`"1ms"` for `"1m"` passed, and every client that sent its request
    // 20 ms after connecting was cut off without an answer, /healthz too.)
    let floor = Duration::from_millis(100);
    for (key, zero) in [
        ("header_timeout", raw.server.header_timeout.0 < floor),
        ("idle_timeout", raw.server.idle_timeout.0 < floor),
        // (Counted in whole seconds: "500ms" was 0 s, and /healthz said
        // "degraded" right after a success.)
        (
            "degraded_after",
            raw.server.degraded_after.0 < Duration::from_secs(1),
        ),
    ] {
        if zero {
            return Err(whole(
                "server",
                key,
                &if key == "degraded_after" {
                    "[server] degraded_after must be at least 1s".to_string()
                } else {
                    format!("[server] {key} must be at least 100ms")
                },
            ));
        }
    }

    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut cfg = Config {
        source: path.to_path_buf(),
        store: raw.store,
        fetch: raw.fetch,
        defaults: raw.defaults,
        server: raw.server,
        identity: raw.identity,
        feeds: raw.feeds,
        outputs: raw.outputs,
    };
    // Deserializing grew the list by doubling; the config lives as long as
    // the daemon (at 10,000 feeds the spare room was ~3 MiB).
    cfg.feeds.shrink_to_fit();
    if cfg.store.url.is_none() && cfg.store.path.as_os_str().is_empty() {
        // (It passed `check`, and `poll` then said "unable to open database
        // file: ./".)
        return Err(whole(
            "store",
            "path",
            "[store] path is empty: name the store's file",
        ));
    }
    // (A NUL passed `check`, shown as nothing, and `poll` then said "file
    // name contained an unexpected NUL byte".)
    if cfg.store.url.is_none() && cfg.store.path.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(whole(
            "store",
            "path",
            "[store] path holds a NUL character (`\\u0000`), which no file name can hold",
        ));
    }
    // (A PostgreSQL URL under `path` made a SQLite store in folders named
    // after it, password and all, and `check` printed it whole.)
    if cfg.store.url.is_none()
        && ["postgres://", "postgresql://"].iter().any(|s| {
            let p = cfg.store.path.to_string_lossy();
            p.get(..s.len()).is_some_and(|h| h.eq_ignore_ascii_case(s))
        })
    {
        return Err(whole(
            "store",
            "path",
            &format!(
                "[store] path holds a PostgreSQL URL (`{}`): `path` names a SQLite file; \
                 write the URL as `url = \"postgres://...\"` under [store] (its scheme in lower case)",
                crate::store::postgres::redact(&cfg.store.path.to_string_lossy())
            ),
        ));
    }
    // (`newdir/` passed `check`, and `poll` then said "cannot lock it
    // (./newdir/.lock)".)
    if cfg.store.url.is_none()
        && matches!(
            cfg.store.path.to_string_lossy().rsplit('/').next(),
            Some("" | "." | "..")
        )
    {
        return Err(whole(
            "store",
            "path",
            &format!(
                "[store] path {:?} names a folder, not a file: name the store's file, e.g. {:?}",
                cfg.store.path.display().to_string(),
                cfg.store.path.join("feedloom.db").display().to_string()
            ),
        ));
    }
    cfg.store.path = base.join(&cfg.store.path);
    if let Some(p) = &cfg.store.password_file {
        cfg.store.password_file = Some(base.join(p));
    }
    if let Some(url) = &cfg.store.url {
        crate::store::postgres::check_url(url)
            .map_err(|m| whole("store", "url", &format!("[store] url: {m}")))?;
        if edit::key_span(text, &[Seg::Key("store"), Seg::Key("path")]).is_some() {
            // (`path` was ignored without a word: which store did they mean?)
            return Err(whole(
                "store",
                "path",
                "[store] has both `path` (a SQLite file) and `url` (a PostgreSQL database): \
                 a store is one or the other; remove the one you do not mean",
            ));
        }
        if let Some(p) = &cfg.store.password_file {
            // Read now, as the feeds' secret files are: `check` said the config
            // was fine while every command then failed on a missing file.
            access::password_in_file(p).map_err(|m| {
                whole(
                    "store",
                    "password_file",
                    &format!("[store] password_file: {m}"),
                )
            })?;
        }
    } else if cfg.store.password_file.is_some() {
        return Err(whole(
            "store",
            "password_file",
            "[store] password_file is the password of a PostgreSQL store, and there is no \
             [store] url: add the url, or remove password_file",
        ));
    }
    // (A node extends its claims every third of a lease, at its ticks a
    // second apart: a lease of 1 s ran out between two.)
    if cfg.store.lease.0 < Duration::from_secs(2) {
        return Err(whole(
            "store",
            "lease",
            "[store] lease must be at least 2s (a node extends its claims every third of it)",
        ));
    }
    for out in &mut cfg.outputs {
        if let Some(p) = &out.path {
            // (A NUL passed `check`, and every write failed.)
            if p.as_os_str().as_encoded_bytes().contains(&0) {
                return Err(at(
                    out.name.span(),
                    format!(
                        "output `{}`: its path holds a NUL character (`\\u0000`), which no \
                         file name can hold",
                        out.name()
                    ),
                ));
            }
            out.path = Some(base.join(p));
        }
    }
    // No output file may be the store's, or another output's: an output
    // whose `path` made `out/x.json` when the store was `out/x.json` replaced
    // the store with the feed; two outputs of one path overwrote each other.
    let store_files: Vec<PathBuf> = crate::store::lock::store_files(&cfg.store.path)
        .iter()
        .map(|f| plain_path(f))
        .collect();
    // (A store or an output on the config file replaced the config.)
    let config_file = plain_path(path);
    if cfg.store.url.is_none() && store_files.contains(&config_file) {
        return Err(whole(
            "store",
            "path",
            &format!(
                "[store] path names {}, the config file itself: give the store another path",
                config_file.display()
            ),
        ));
    }
    let secret_files = secret_files(&cfg, base);
    let mut written: HashMap<PathBuf, &str> = HashMap::new();
    for out in &cfg.outputs {
        let Some(p) = &out.path else { continue };
        for format in &out.formats {
            let file = plain_path(&crate::export::file_path(p, *format));
            if file == config_file {
                return Err(at(
                    out.name.span(),
                    format!(
                        "output `{}` would write {}, the config file itself: give the output another `path`",
                        out.name(),
                        file.display()
                    ),
                ));
            }
            if cfg.store.url.is_none() && store_files.contains(&file) {
                return Err(at(
                    out.name.span(),
                    format!(
                        "output `{}` would write {}, a file of the store ([store] path): \
                         give the output another `path`",
                        out.name(),
                        file.display()
                    ),
                ));
            }
            if let Some(what) = secret_files
                .iter()
                .find(|(f, _)| *f == file)
                .map(|(_, w)| w)
            {
                // (The output replaced a token file with the feed, and every
                // command then failed on the token.)
                return Err(at(
                    out.name.span(),
                    format!(
                        "output `{}` would write {}, the secret file of {what}: \
                         give the output another `path`",
                        out.name(),
                        file.display()
                    ),
                ));
            }
            if let Some(other) = written.insert(file.clone(), out.name())
                && other != out.name()
            {
                return Err(at(
                    out.name.span(),
                    format!(
                        "outputs `{other}` and `{}` would both write {}: give one another `path`",
                        out.name(),
                        file.display()
                    ),
                ));
            }
        }
    }
    for feed in &mut cfg.feeds {
        let span = feed.url.span();
        let url = feed.url.get_mut();
        // (The scheme in any case, as URLs read it: `File:x.xml` was read
        // as `/x.xml`.)
        let rel = url
            .1
            .get(..5)
            .filter(|s| s.eq_ignore_ascii_case("file:"))
            .map(|_| &url.1[5..])
            .filter(|r| !r.starts_with('/'));
        if let Some(rel) = rel {
            // `file:samples/x.xml` is relative to the config file's folder.
            let rel = relative_file_path(base, rel);
            let abs = std::path::absolute(base.join(&*rel))
                .map_err(|e| at(span.clone(), format!("cannot resolve `{}`: {e}", url.1)))?;
            // `.` and `..` taken out: the config given as
            // `../feedloom.toml` from another folder named the feed
            // `…/sub/../samples/x.xml`, which renamed its row there, and the
            // next `feeds` from the config's own folder showed it `[not in
            // config]`. A `..` after a link is the folder above where the
            // link leads, as the system reads the config itself there.
            // (`.` goes with the path's components.)
            let abs = match abs
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                true => plain_path(&abs),
                false => abs,
            };
            url.0 = Url::from_file_path(&abs)
                .map_err(|_| at(span, format!("cannot resolve `{}`", url.1)))?;
        }
    }
    // No output writes a `file:` feed's document (the first poll replaced the
    // hand-written source with the merged feed, and then read that).
    let documents: Vec<(PathBuf, String)> = cfg
        .feeds
        .iter()
        .filter(|f| f.url().scheme() == "file")
        .filter_map(|f| {
            // (Through links, dangling ones too: a link to a file an output
            // will write passed, and the first poll replaced it.)
            let doc = crate::store::lock::real_path(&f.url().to_file_path().ok()?);
            Some((plain_path(&doc), f.url().to_string()))
        })
        .collect();
    for out in cfg.outputs.iter().filter(|_| !documents.is_empty()) {
        let Some(p) = &out.path else { continue };
        for format in &out.formats {
            let path = crate::export::file_path(p, *format);
            let file = plain_path(&path);
            if let Some((_, feed)) = documents
                .iter()
                .find(|(d, _)| *d == file || crate::same_file(d, &path))
            {
                return Err(at(
                    out.name.span(),
                    format!(
                        "output `{}` would write {}, the document of feed `{feed}`: \
                         give the output another `path`",
                        out.name(),
                        file.display()
                    ),
                ));
            }
        }
    }
    for feed in &mut cfg.feeds {
        let span = feed.url.span();
        let (clean, url_auth) = split_credentials(&feed.url.get_ref().0);
        if let Some(url_auth) = url_auth {
            // (Both were sent: two Authorization headers, a request servers
            // refuse or read either way.)
            let header = feed.headers.as_ref().is_some_and(|h| {
                h.get_ref()
                    .keys()
                    .any(|k| k.trim().eq_ignore_ascii_case("authorization"))
            });
            if header {
                return Err(at(
                    span,
                    format!(
                        "feed `{clean}`: the URL carries user:password@ and `headers` set Authorization too; use one"
                    ),
                ));
            }
            if feed.auth.is_some() {
                return Err(at(
                    span,
                    format!(
                        "feed `{clean}`: the URL carries user:password@ and `auth` is set too; use one"
                    ),
                ));
            }
            let written = feed.url.get_ref().0.to_string();
            feed.url_with_credentials = Some(Box::new(Secret::new(written, "the URL")));
            feed.access.auth = Some(url_auth);
            let url = feed.url.get_mut();
            url.1 = clean.to_string();
            url.0 = clean;
        }
        let no_headers = std::collections::BTreeMap::new();
        let headers = feed
            .headers
            .as_ref()
            .map(|h| h.get_ref())
            .unwrap_or(&no_headers);
        let auth = feed.auth.as_ref().map(|a| a.get_ref());
        let resolved = access::resolve(headers, auth, base).map_err(|e| {
            let span = match (&feed.auth, &feed.headers) {
                (Some(a), _) if e.starts_with("auth") => a.span(),
                (_, Some(h)) if e.starts_with("headers") => h.span(),
                _ => span.clone(),
            };
            at(span, format!("feed `{}`: {e}", feed.url()))
        })?;
        feed.access.headers = resolved.headers;
        if resolved.auth.is_some() {
            feed.access.auth = resolved.auth;
        }
        // (What it sends as secrets, for the outputs to hide where its items
        // repeat them: a header named like one, whole and each part of it
        // (`Bearer KEY`: the key); in any other header, each part of its
        // value that looks like a key ([`key_like`]: `X-Uid`, `X-License`
        // sent keys that were published whole, and so were an AWS secret
        // key and base64 behind a scheme word, `Token KEY`); a token, a
        // password. Not in headers that say only how to answer.)
        let mut sent: Vec<String> = Vec::new();
        for (name, value) in &feed.access.headers {
            let value = value.expose();
            let named = matches!(name.as_str(), "authorization" | "cookie")
                || crate::urls::secret_name(name)
                // (Each part, as the query's names are judged: `X-Pw`,
                // `X-Otp` as `?pw=`, `?otp=`; and a PIN or code.)
                || name.split(['-', '_']).any(|part| {
                    crate::urls::secret_name(part) || matches!(part, "pin" | "code")
                })
                || [
                    "key", "token", "auth", "secret", "session", "sig", "pass", "access", "cred",
                    "private", "cookie", "otp",
                ]
                .iter()
                .any(|w| name.contains(w));
            let answers_only = matches!(
                name.as_str(),
                "accept"
                    | "accept-language"
                    | "accept-charset"
                    | "cache-control"
                    | "pragma"
                    | "referer"
                    | "from"
                    | "dnt"
                    | "origin"
                    | "x-requested-with"
            );
            if named {
                sent.push(value.to_string());
            }
            // (And the parts of its `%`-decoded value: `app%3DKEY` was
            // judged as one word, and its key published.)
            let decoded = value
                .contains('%')
                .then(|| percent_encoding::percent_decode_str(value).decode_utf8_lossy())
                .filter(|d| d != value);
            if let Some(d) = decoded.as_deref().filter(|_| named) {
                sent.push(d.to_string());
            }
            for part in value_parts(value)
                .into_iter()
                .chain(decoded.as_deref().map(value_parts).unwrap_or_default())
            {
                if named || (!answers_only && key_like(part)) {
                    sent.push(part.to_string());
                }
            }
            if !named && !answers_only && key_like(value) {
                sent.push(value.to_string());
            }
        }
        match &feed.access.auth {
            Some(access::Auth::Bearer(t)) => sent.push(t.expose().to_string()),
            Some(access::Auth::Basic {
                password: Some(p), ..
            }) => sent.push(p.expose().to_string()),
            _ => {}
        }
        sent.retain(|v| v != access::NOT_READ);
        crate::urls::note_sent_secrets(feed.url().as_str(), sent);
    }
    let mut seen: HashMap<&Url, ()> = HashMap::new();
    for feed in &cfg.feeds {
        if seen.insert(feed.url(), ()).is_some() {
            return Err(at(
                feed.url.span(),
                // (Its secret query values hidden where errors are made.)
                format!("duplicate feed url `{}`", feed.url()),
            ));
        }
    }
    for feed in &mut cfg.feeds {
        let what = format!("feed `{}`", feed.url());
        feed.rules = Arc::new(compile_rules(&feed.include, &feed.exclude, &what, &at)?);
    }
    for out in &mut cfg.outputs {
        let what = format!("output `{}`", out.name());
        out.rules = Arc::new(compile_rules(&out.include, &out.exclude, &what, &at)?);
    }
    // An item its feed still carries is recognised after pruning (tombstoned)
    // only if its last_seen_at is within `keep`; feedloom refreshes that at
    // most a day late (every 12 h, on whole reads at least every 12 h), so a
    // shorter `keep` would let carried items come back as new stories.
    for (key, d, least, says) in [
        (
            "keep",
            cfg.store.keep,
            2 * 86_400,
            "2d (items still in their feeds are refreshed up to a day late, and would come back as new)",
        ),
        (
            "keep_fetch_log",
            Some(cfg.store.keep_fetch_log),
            3_600,
            "1h",
        ),
    ] {
        if d.is_some_and(|d| d.0 < Duration::from_secs(least)) {
            return Err(whole(
                "store",
                key,
                &format!("[store] {key} must be at least {says}"),
            ));
        }
    }
    if cfg.outputs.is_empty() {
        cfg.outputs.push(OutputConfig::implicit());
    }
    let selections: Vec<_> = cfg
        .outputs
        .iter()
        .map(|o| Arc::new(crate::filter::Selection::of(&cfg.feeds, o)))
        .collect();
    for (out, sel) in cfg.outputs.iter_mut().zip(selections) {
        out.selection = sel;
    }
    cfg.set_public_base();
    Ok(cfg)
}

impl Config {
    /// Gives every output the URL it is published under
    /// ([`ServerConfig::public_base`]), after `[server]` changed.
    pub fn set_public_base(&mut self) {
        let base = self.server.public_base();
        for out in &mut self.outputs {
            out.public_base = Some(base.clone());
        }
    }
}

/// Compiles a feed's or an output's `include` and `exclude` rules; a bad rule
/// is an error at its line that names the key and says what is wrong.
fn compile_rules(
    include: &[Spanned<String>],
    exclude: &[Spanned<String>],
    what: &str,
    at: &dyn Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<crate::filter::Rules, ConfigError> {
    let compile = |key: &str, rules: &[Spanned<String>]| {
        rules
            .iter()
            .map(|r| {
                crate::filter::Rule::parse_shared(r.get_ref()).map_err(|e| {
                    at(
                        r.span(),
                        format!("{what}: `{key}` rule {:?}: {e}", r.get_ref()),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(crate::filter::Rules {
        include: compile("include", include)?,
        exclude: compile("exclude", exclude)?,
    })
}

fn invalid(text: &str, path: &Path, span: std::ops::Range<usize>, message: String) -> ConfigError {
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..start].chars().count() + 1;
    // (A URL's secret query values hidden, as `/metrics` shows them: a
    // duplicate signed URL was quoted whole.)
    let snippet = crate::urls::shown_urls_in(&access::redact_userinfo(
        text[line_start..].lines().next().unwrap_or("").trim_end(),
    ));
    let message = crate::urls::shown_urls_in(&message);
    // A line inside a multi-line string (`"""` or `'''` opened on an
    // earlier line) may be any part of a secret: not quoted at all.
    let raw_line = text[line_start..].lines().next().unwrap_or("");
    let inside_multiline = ["\"\"\"", "'''"]
        .iter()
        .any(|q| before[..line_start].matches(q).count() % 2 == 1);
    // A line that may hold a secret (a key or table named for one) is quoted
    // with its strings hidden: a bearer token, a header's value, a password
    // under a misspelt or quoted key reached the journal in full.
    let table = before
        .lines()
        .rev()
        .map(str::trim_start)
        .find(|l| l.starts_with('['))
        .unwrap_or("");
    let secret = |s: &str| {
        let s = s.to_ascii_lowercase();
        [
            "auth",
            "bearer",
            "pas",
            "word",
            "pwd",
            "token",
            "secret",
            "key",
            "header",
            "cookie",
            "credential",
        ]
        .iter()
        .any(|k| s.contains(k))
    };
    // (Keys that only look like one: `header_timeout = "0s"` was quoted
    // as `"***"`.)
    let key = snippet.split('=').next().unwrap_or("").trim();
    let harmless = key == "header_timeout";
    // (Keys whose values are words, never secrets, are judged by the key
    // alone: a misspelt rule `exclude = ["auther:ann"]` was quoted as
    // `"***"`, its fix as `/(?i)***/`.)
    let words_only = matches!(key, "include" | "exclude" | "title" | "tags" | "name");
    let judged = if words_only { key } else { snippet.as_str() };
    let (snippet, message) =
        match (!harmless && secret(judged)) || secret(table) || inside_multiline {
            true if inside_multiline => {
                let hidden = text[line_start..].lines().next().unwrap_or("").trim();
                let message = match hidden.len() >= 4 {
                    true => message.replace(hidden, "***"),
                    false => message,
                };
                (
                    "*** (a line inside a multi-line string)".to_string(),
                    message,
                )
            }
            true => {
                let (hidden, mut values) = strings_hidden(&snippet);
                // Bare values too (`bearer = abc123`, a slip TOML refuses;
                // `0x5EC4E7`): anything after `=` that is no string, table or
                // list.
                let (hidden, bare) = bare_values_hidden(&hidden);
                values.extend(bare);
                // Values that are no strings (`bearer = 84467213`), as the
                // message quotes them: hidden in both.
                values.extend(
                    message
                        .split('`')
                        .skip(1)
                        .step_by(2)
                        .filter(|v| {
                            // (Bare values only, after `=`: strings were judged
                            // above; a key, a `{ env = "VAR" }` name is no secret.
                            // A number as TOML read it: `0x…`, `1_234`, `+98765`
                            // are quoted as plain decimals.)
                            v.len() >= 4
                                && (raw_line.contains(&format!("= {v}"))
                                    || raw_line.contains(&format!("={v}"))
                                    || v.parse::<f64>().is_ok())
                        })
                        .map(str::to_string),
                );
                let hidden = values
                    .iter()
                    .filter(|v| v.trim().len() >= 4)
                    .fold(hidden, |h, v| h.replace(v.as_str(), "***"));
                // (A line without `=`, `X-Api-Key: abc123` written as YAML
                // or curl writes it: no key and value to tell apart.)
                let hidden = match hidden.contains('=') || hidden.trim().starts_with('[') {
                    true => hidden,
                    false => "*** (a line without `=`)".to_string(),
                };
                // (And the message's quotes of them.)
                let message = values
                    .iter()
                    .filter(|v| v.trim().len() >= 4)
                    .fold(message, |m, v| m.replace(v.as_str(), "***"));
                (hidden, message)
            }
            false => (snippet, message),
        };
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
        snippet: around(&snippet, column),
    }
}

/// A line quoted in an error, cut to 160 characters around `column` when
/// longer (a 400 KB line of nested lists was echoed whole on stderr).
fn around(line: &str, column: usize) -> String {
    const WIDTH: usize = 160;
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WIDTH {
        return line.to_string();
    }
    let start = column.saturating_sub(WIDTH / 2).min(chars.len() - WIDTH);
    let end = start + WIDTH;
    format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        chars[start..end].iter().collect::<String>(),
        if end < chars.len() { "…" } else { "" }
    )
}

/// `line` (its strings hidden already) with every bare value after a `=`
/// (no string, table or list: `abc123`, `0x5EC4E7`, a date) replaced by
/// `***`; and those values.
fn bare_values_hidden(line: &str) -> (String, Vec<String>) {
    let mut values = Vec::new();
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(['=', '"', '\'']) {
        let c = rest.as_bytes()[i];
        if c != b'=' {
            // (A string: `***` between its quotes, kept as it is.)
            let q = c as char;
            let after = &rest[i + 1..];
            let end = after.find(q).map_or(after.len(), |e| e + 1);
            out.push_str(&rest[..i + 1 + end]);
            rest = &after[end..];
            continue;
        }
        out.push_str(&rest[..=i]);
        let value = &rest[i + 1..];
        let lead = value.len() - value.trim_start().len();
        out.push_str(&value[..lead]);
        let value = &value[lead..];
        if value.starts_with(['"', '\'', '{', '[']) || value.is_empty() {
            rest = value;
            continue;
        }
        let end = value.find([',', '}', ']', '#']).unwrap_or(value.len());
        let bare = value[..end].trim_end();
        if bare.is_empty() || bare == "***" {
            rest = value;
            continue;
        }
        values.push(bare.to_string());
        out.push_str("***");
        rest = &value[bare.len()..];
    }
    out.push_str(rest);
    (out, values)
}

/// `line` with the text of every TOML string in it (`"…"`, `'…'`, and their
/// triple forms) replaced by `***`; and those texts.
fn strings_hidden(line: &str) -> (String, Vec<String>) {
    let mut values = Vec::new();
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(['"', '\'']) {
        let q = &rest[i..i + 1];
        let triple = rest[i..].starts_with(&q.repeat(3));
        let open = if triple { 3 } else { 1 };
        // (Where a secret is read from, `{ env = "VAR" }` or `{ file = "…" }`,
        // is no secret: shown.)
        let key = rest[..i].trim_end().trim_end_matches('=').trim_end();
        let reference = key.ends_with("env") || key.ends_with("file");
        out.push_str(&rest[..i + open]);
        let body = &rest[i + open..];
        let close = q.repeat(open);
        // (A basic string's `\"` is no end.)
        let mut end = None;
        let mut escaped = false;
        for (k, c) in body.char_indices() {
            if q == "\"" && !triple && c == '\\' && !escaped {
                escaped = true;
                continue;
            }
            if !escaped && body[k..].starts_with(&close) {
                end = Some(k);
                break;
            }
            escaped = false;
        }
        // (Nor a quoted key, `"X-Api-Key" = …`: a header's name. Hidden, the
        // error about it read "`***` is not a valid header name".)
        // (Only a name as header names are written: `"Authorization: Bearer
        // …"`, a header pasted whole as its name, holds the secret.)
        let is_key = end.is_some_and(|k| {
            !triple
                && body[k + close.len()..].trim_start().starts_with('=')
                && !body[..k].is_empty()
                && body[..k]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
        match (end, reference || is_key) {
            (Some(k), true) => {
                out.push_str(&body[..k + close.len()]);
                rest = &body[k + close.len()..];
                continue;
            }
            _ => out.push_str("***"),
        }
        match end {
            Some(k) => {
                values.push(body[..k].to_string());
                out.push_str(&close);
                rest = &body[k + close.len()..];
            }
            None => {
                values.push(body.to_string());
                rest = "";
            }
        }
    }
    out.push_str(rest);
    (out, values)
}

impl crate::store::model::AsFeedSpec for FeedConfig {
    fn feed_spec(&self) -> crate::store::model::FeedSpec {
        crate::store::model::FeedSpec {
            url: self.url().to_string(),
            title: self.title.clone(),
            tags: self.tags.clone(),
            url_with_credentials: self
                .url_with_credentials
                .as_ref()
                .map(|s| s.expose().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config that is not UTF-8 is located to the byte: line, column, the
    /// byte and its line (it said "stream did not contain valid UTF-8").
    #[test]
    fn a_config_that_is_not_utf8_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            b"[fetch]\ntimeout = \"30s\"\n# caf\xE9 au lait\n[[feed]]\n",
        )
        .unwrap();
        let e = read_text(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:3:6: byte 0xE9 is not UTF-8", path.display())),
            "{e}"
        );
        assert!(e.contains("| # caf\u{FFFD} au lait"), "{e}");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("[fetch]\n".encode_utf16().flat_map(u16::to_le_bytes));
        std::fs::write(&path, utf16).unwrap();
        let e = read_text(&path).unwrap_err().to_string();
        assert!(e.contains(":1:1: the file is UTF-16"), "{e}");
        assert!(
            load(&path)
                .unwrap_err()
                .to_string()
                .contains("save it as UTF-8")
        );
        // Without a byte-order mark (it read as UTF-8 with NULs).
        for big_endian in [false, true] {
            let utf16: Vec<u8> = "[[feed]]\nurl = \"https://a.example/f\"\n"
                .encode_utf16()
                .flat_map(|u| match big_endian {
                    true => u.to_be_bytes(),
                    false => u.to_le_bytes(),
                })
                .collect();
            std::fs::write(&path, utf16).unwrap();
            let e = load(&path).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "{}: the file looks like UTF-16 (every other byte is NUL); a config is UTF-8 text: save it as UTF-8",
                    path.display()
                )
            );
        }
        // Past ASCII too (a name, a snowman, a Japanese comment first).
        for text in [
            "[[feed]]\nurl = \"https://a.example/f\"\ntitle = \"Ünïcode ☃\"\n",
            "# 日本語のコメント\n[[feed]]\nurl = \"https://a.example/f\"\n",
            "# 日本語のコメントです。設定ファイル\n# もう一行の説明文です\n[store]\npath = \"x.db\"\n[[feed]]\nurl = \"https://a.example/f\"\n",
            "# Русский комментарий к файлу\n[store]\npath = \"x.db\"\n[[feed]]\nurl = \"https://a.example/f\"\n",
        ] {
            let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
            std::fs::write(&path, utf16).unwrap();
            let e = load(&path).unwrap_err().to_string();
            assert!(e.contains("the file looks like UTF-16"), "{text}: {e}");
        }
        // One NUL is not UTF-16: TOML names where it is.
        std::fs::write(&path, "[[feed]]\nurl = \"https://a.example/f\" # a\0b\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("c.toml:2:"), "{e}");
    }

    fn err(text: &str) -> String {
        parse(text, Path::new("cfg/x.toml"))
            .unwrap_err()
            .to_string()
    }

    /// An error on a line that may hold a secret quotes it with its strings
    /// hidden: tokens, header values and passwords under misspelt or quoted
    /// keys reached `check`'s output and the daemon's journal in full.
    #[test]
    fn errors_never_quote_a_secret() {
        let feed = "[[feed]]\nurl = \"https://a.example/f\"\n";
        for (extra, secret) in [
            ("auth = { bearer = \"TokA1\", typo = 1 }\n", "TokA1"),
            (
                "headers = { \"Authorization\" = \"Bearer TokB2\", \"X\" = 1 }\n",
                "TokB2",
            ),
            ("[feed.headers]\n\"X-Api-Key\" = [\"TokC3\"]\n", "TokC3"),
            (
                "auth = { basic = { user = \"u\", \"password\" = \"PwD4\", x = 1 } }\n",
                "PwD4",
            ),
            (
                "auth = { basic = { user = \"u\", password = \"\"\"PwE5\"\"\", x = 1 } }\n",
                "PwE5",
            ),
            ("pasword = \"PwF6\"\n", "PwF6"),
            // A value that is no string, as the message quotes it too.
            ("auth = { bearer = 84467213 }\n", "84467213"),
            // Written without quotes (TOML refuses it), or as another
            // spelling of a number.
            ("auth = { bearer = abc123SECRET }\n", "abc123SECRET"),
            ("auth.bearer = abc123SECRET\n", "abc123SECRET"),
            (
                "headers = { \"X-Api-Key\" = abc123SECRET }\n",
                "abc123SECRET",
            ),
            (
                "[feed.headers]\nAuthorization = Bearer-abc123SECRET\n",
                "abc123SECRET",
            ),
            ("auth = { bearer = 0x5EC4E7 }\n", "5EC4E7"),
            ("auth = { bearer = 0x5EC4E7 }\n", "6210791"),
            ("auth = { bearer = 1_234_567 }\n", "1234567"),
            ("auth = { bearer = 1_234_567 }\n", "1_234_567"),
            (
                "auth = { basic = { user = \"u\", password = 84467214, x = 1 } }\n",
                "84467214",
            ),
            // A line inside a multi-line string.
            (
                "auth = { bearer = \"\"\"\nZq9xWv8Lm\\q\"\"\" }\n",
                "Zq9xWv8Lm",
            ),
            (
                "headers = { \"X-Api-Key\" = '''\nZq9xWv8Ln''', \"Y\" = 1 }\n",
                "Zq9xWv8Ln",
            ),
        ] {
            let e = err(&format!("{feed}{extra}"));
            assert!(e.starts_with("cfg/x.toml:"), "{e}");
            assert!(!e.contains(secret), "{extra}: {e}");
        }
        // A rule is words, never a secret: a misspelt field that looks like
        // `auth` is quoted as written (it read `"***"`, and so did the fix
        // suggested, `/(?i)***/`).
        let e = err(&format!("{feed}exclude = [\"auther:ann smith\"]\n"));
        assert!(
            e.contains("rule \"auther:ann smith\"")
                && e.contains("exclude = [\"auther:ann smith\"]"),
            "{e}"
        );
        // A header's name is no secret: the error names it, and the line
        // quoted shows it (both read "`***`", and the hint spoke of the user
        // agent for every header feedloom sets).
        for (name, said) in [
            (
                "Content-Length",
                "`Content-Length` is set by feedloom itself for each request",
            ),
            (
                "User-Agent",
                "`User-Agent` is set by feedloom itself: set [fetch] user_agent",
            ),
        ] {
            let e = err(&format!(
                "{feed}headers = {{ \"{name}\" = \"Sup3rVal9\", \"X-Api-Key\" = \"K3yVal77\" }}\n"
            ));
            assert!(e.contains(said), "{e}");
            assert!(e.contains(&format!("\"{name}\" = \"***\"")), "{e}");
            assert!(!e.contains("Sup3rVal9") && !e.contains("K3yVal77"), "{e}");
        }
        // But a header pasted whole as its name (`curl -H`'s form) holds
        // the secret: not quoted.
        for name in [
            "Authorization: Bearer Sup3rSecretA2",
            "X-Api-Key Sup3rSecretA2",
        ] {
            let e = err(&format!("{feed}headers = {{ \"{name}\" = \"\" }}\n"));
            assert!(!e.contains("Sup3rSecretA2"), "{e}");
            assert!(e.contains("is not a valid header name: it holds "), "{e}");
        }
        // A name hidden so still says what is wrong with it.
        for (name, why) in [
            ("X Trace", "it holds a space"),
            ("X-Trace:", "it holds `:`"),
            ("X-\u{c9}clair", "outside ASCII"),
        ] {
            let e = err(&format!("{feed}headers = {{ \"{name}\" = \"1\" }}\n"));
            assert!(e.contains(why), "{e}");
        }
        // Nor in a `[feed.headers]` table or an inline table over several
        // lines, whose lines the error does not quote (printed whole), nor
        // a control character of it (it reached the terminal).
        for text in [
            format!("{feed}[feed.headers]\n\"Authorization: Bearer Sup3rSecretB7\" = \"v\"\n"),
            format!(
                "{feed}headers = {{\n  \"X-A\" = \"v\",\n  \"X-Key Sup3rSecretB7\" = \"v\"\n}}\n"
            ),
            format!("{feed}headers = {{ \"X\\u001b]0;Sup3rSecretB7\" = \"v\" }}\n"),
        ] {
            let e = err(&text);
            assert!(!e.contains("Sup3rSecretB7") && !e.contains('\u{1b}'), "{e}");
            assert!(
                e.contains("…` is not a valid header name: it holds "),
                "{e}"
            );
        }
        // An output's title is quoted at its own line; its tags are checked
        // as a feed's are.
        let out = "[[output]]\nname = \"o\"\nformats = [\"atom\"]\n";
        let e = err(&format!("{out}title = \"T\\tU\"\n"));
        assert!(
            e.starts_with("cfg/x.toml:4:") && e.contains("title = \"T\\tU\""),
            "{e}"
        );
        for tags in [
            "[\"a\\u001b[31mb\"]",
            "[\"\"]",
            "[\" a\"]",
            "[\"p\\u2028q\"]",
        ] {
            let e = err(&format!("{out}tags = {tags}\n"));
            assert!(
                e.starts_with("cfg/x.toml:4:") && e.contains("output `o`: tag "),
                "{tags}: {e}"
            );
        }
        // A feed's tag with a control character at its end is said to hold
        // one (it was "blank or has spaces around it").
        let e = err(&format!("{feed}tags = [\"a\\u0085\"]\n"));
        assert!(e.contains("holds a control character"), "{e}");
        // A scheme in upper case is named as such.
        let e = err("[store]\nurl = \"Postgres://app@db.example/feeds\"\n");
        assert!(e.contains("in lower case"), "{e}");
        // A PostgreSQL URL under `path` is no file name (it made a SQLite
        // store in folders named after it, password and all).
        let e = err("[store]\npath = \"postgresql://app:Pw0rdX9@db.example/feeds\"\n");
        assert!(
            e.contains("holds a PostgreSQL URL") && e.contains("`url = "),
            "{e}"
        );
        assert!(!e.contains("Pw0rdX9"), "{e}");
        // `M` is months to humantime, `m` minutes: refused, with both named.
        let e = err(&format!("{feed}every = \"30M\"\n"));
        assert!(e.contains("`min` for minutes or `months`"), "{e}");
        assert!(
            parse(
                &format!("{feed}every = \"2months 30min\"\n"),
                Path::new("cfg/x.toml")
            )
            .is_ok()
        );
        // A feed's title or tag on more than one line, or with a tab or an
        // escape (published over two lines; `add --title` refuses them).
        for extra in [
            "title = \"Line one\\nTwo\"",
            "title = \"A\\tB\"",
            "tags = [\"a\\u001bb\"]",
        ] {
            let e = err(&format!("{feed}{extra}\n"));
            assert!(e.contains("holds a control character"), "{extra}: {e}");
        }
        let e = err(&format!("{feed}[feed.headers]\nX-Api-Key: Sup3rSecretD1\n"));
        assert!(!e.contains("Sup3rSecretD1"), "{e}");
        // Other lines are quoted as written.
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ntitle = \" \"\n");
        assert!(e.contains("title = \" \""), "{e}");
        let e = err("[server]\nheader_timeout = \"0s\"\n");
        assert!(e.contains("header_timeout = \"0s\""), "{e}");
        let e = err("[server]\nidle_timeout = \"1ms\"\n");
        assert!(e.contains("idle_timeout must be at least 100ms"), "{e}");
        let e = err("[store]\npath = \"a\\u0000b\"\n");
        assert!(e.starts_with("cfg/x.toml:2:") && e.contains("NUL"), "{e}");
        let e = err("[[output]]\nname = \"all\"\npath = \"out/a\\u0000b\"\n");
        assert!(e.contains("output `all`") && e.contains("NUL"), "{e}");
        let e = err("[store]\npath = \"newdir/\"\n");
        assert!(
            e.contains("names a folder") && e.contains("newdir/feedloom.db"),
            "{e}"
        );
        // A URL's secret query values, as `/metrics` shows them.
        let signed = "[[feed]]\nurl = \"https://a.example/f?X-Amz-Signature=SiG7\"\n";
        let e = err(&format!("{signed}{signed}"));
        assert!(
            e.contains("duplicate feed url") && e.contains("X-Amz-Signature=***"),
            "{e}"
        );
        assert!(!e.contains("SiG7"), "{e}");
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!("16MiB".parse::<ByteSize>().unwrap().0, 16 << 20);
        assert_eq!("1MB".parse::<ByteSize>().unwrap().0, 1_000_000);
        assert_eq!("4096".parse::<ByteSize>().unwrap().0, 4096);
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        let c = parse(
            "[fetch]\ntimeout = \"1m 30s\"\nmax_body = 1024\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.fetch.timeout.0, Duration::from_secs(90));
        assert_eq!(c.fetch.max_body.0, 1024);
    }

    #[test]
    fn public_url_is_a_folder_and_defaults_to_the_listen_address() {
        let base = |text: &str| {
            parse(text, Path::new("x.toml"))
                .unwrap()
                .server
                .public_base()
                .to_string()
        };
        assert_eq!(base(""), "http://127.0.0.1:8080/");
        assert_eq!(
            base("[server]\nlisten = \"[::1]:9000\"\n"),
            "http://[::1]:9000/"
        );
        assert_eq!(
            base("[server]\npublic_url = \"https://news.example.org/feedloom\"\n"),
            "https://news.example.org/feedloom/"
        );
        assert_eq!(
            base("[server]\npublic_url = \"https://news.example.org/\"\n"),
            "https://news.example.org/"
        );
        let e = err("[server]\npublic_url = \"ftp://example.org/\"\n");
        assert!(
            e.starts_with("cfg/x.toml:2:") && e.contains("public_url"),
            "{e}"
        );
        assert!(e.contains("`ftp`"), "{e}");
        let e = err("[server]\npublic_url = \"https://example.org/?feed=\"\n");
        assert!(e.contains("query or fragment"), "{e}");
        let e = err("[server]\npublic_url = \"news.example.org\"\n");
        assert!(e.contains("invalid public_url `news.example.org`"), "{e}");
        let e = err("[server]\npublic_url = \"http:///feeds\"\n");
        assert!(e.contains("write the host right after `http://`"), "{e}");
        // Credentials in the URL and an Authorization header: one of them.
        let e = err(
            "[[feed]]\nurl = \"https://ann:pw1@e.org/f\"\nheaders = { authorization = \"Bearer x\" }\n",
        );
        assert!(e.contains("`headers` set Authorization too"), "{e}");
        assert!(!e.contains("pw1"), "{e}");
        let e = err("[server]\npublic_url = \"https://me:hunter2@news.example.org/\"\n");
        assert!(
            e.contains("would be published") && !e.contains("hunter2"),
            "{e}"
        );
        // A scope made every command panic.
        assert_eq!(
            base("[server]\nlisten = \"[fe80::1%1]:9000\"\n"),
            "http://[fe80::1]:9000/"
        );
    }

    #[test]
    fn toml_errors_say_what_to_write() {
        let e = err("[feed]\nurl = \"https://a.example/f\"\n");
        assert!(e.contains("write [[feed]], with two brackets"), "{e}");
        for listen in ["localhost:8080", "127.0.0.1"] {
            let e = err(&format!("[server]\nlisten = \"{listen}\"\n"));
            assert!(e.contains("an IP address and a port"), "{e}");
        }
        let e = err(
            "[[feed]]\nurl = \"https://a.example/f\"\nauth = { basic = { user = \"a\", password = \"b\" }, bearer = \"t\" }\n",
        );
        assert!(e.contains("auth is one of basic or bearer"), "{e}");
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\nauth = { }\n");
        assert!(
            e.contains("auth names one of basic or bearer") && !e.contains("not both"),
            "{e}"
        );
        let e = err("[ feed ] # the news\nurl = \"https://a.example/f\"\n");
        assert!(e.contains("write [[feed]], with two brackets"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = err("[store]\npath = \"a.db\"\n\n[fetch]\ntimeoutt = \"3s\"\n");
        assert!(e.starts_with("cfg/x.toml:5:1:"), "{e}");
        assert!(e.contains("timeoutt"), "{e}");
    }

    #[test]
    fn bad_duration_size_url_are_located() {
        let e = err("[fetch]\n\ntimeout = \"3 fortnights\"\n");
        assert!(e.starts_with("cfg/x.toml:3:"), "{e}");
        assert!(e.contains("3 fortnights"), "{e}");
        let e = err("[fetch]\nhost_gap = \"500000000000y\"\n");
        assert!(
            e.starts_with("cfg/x.toml:2:") && e.contains("too long"),
            "{e}"
        );
        // The bound the message names is the one applied.
        let e = err("[store]\nkeep = \"101y\"\n");
        assert!(e.contains("at most 100 years"), "{e}");
        let keep = |k: &str| {
            parse(&format!("[store]\nkeep = \"{k}\"\n"), Path::new("x.toml"))
                .unwrap()
                .store
                .keep
        };
        assert!(keep("100y").is_some());
        assert!(keep("36500d").is_some());
        let e = err("[fetch]\nmax_body = \"lots\"\n");
        assert!(e.starts_with("cfg/x.toml:2:"), "{e}");
        let e = err("[[feed]]\nurl = \"ftp://example.org/x\"\n");
        assert!(e.starts_with("cfg/x.toml:2:"), "{e}");
        assert!(e.contains("ftp"), "{e}");
        let e = err("[[feed]]\nurl = \"not a url\"\n");
        assert!(e.contains("invalid URL"), "{e}");
    }

    #[test]
    fn duplicates_are_rejected_with_their_line() {
        let e = err(
            "[[feed]]\nurl = \"https://a.example/f\"\n[[feed]]\nurl = \"https://a.example/f\"\n",
        );
        assert!(e.starts_with("cfg/x.toml:4:"), "{e}");
        assert!(e.contains("duplicate feed url"), "{e}");
        // The same file written relative and absolute is one feed.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.xml"), "<rss/>").unwrap();
        let abs = Url::from_file_path(dir.path().join("f.xml")).unwrap();
        let text = format!("[[feed]]\nurl = \"file:f.xml\"\n[[feed]]\nurl = \"{abs}\"\n");
        let e = parse(&text, &dir.path().join("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate feed url"), "{e}");
        // A config reached through `..`, and a path with `.` and `..` in
        // it, name the file as its plain path does.
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for (config, url) in [
            ("sub/../c.toml", "file:f.xml"),
            ("./c.toml", "file:./sub/../f.xml"),
            ("sub/./../c.toml", "file:sub/../f.xml"),
        ] {
            let c = parse(
                &format!("[[feed]]\nurl = \"{url}\"\n"),
                &dir.path().join(config),
            )
            .unwrap();
            assert_eq!(c.feeds[0].url().as_str(), abs.as_str(), "{config} {url}");
        }
        // Through a link, `..` is the folder above where the link leads.
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(other.path().join("deep")).unwrap();
        std::os::unix::fs::symlink(other.path().join("deep"), dir.path().join("lnk")).unwrap();
        let c = parse(
            "[[feed]]\nurl = \"file:f.xml\"\n",
            &dir.path().join("lnk/../c.toml"),
        )
        .unwrap();
        let real = std::fs::canonicalize(other.path()).unwrap().join("f.xml");
        assert_eq!(c.feeds[0].url().to_file_path().unwrap(), real);
        // A config without outputs has the implicit one.
        let c = parse("", Path::new("x.toml")).unwrap();
        assert_eq!(c.outputs.len(), 1);
        assert_eq!(c.outputs[0].name(), "all");
        let e = err("[[output]]\nname = \"all\"\n[[output]]\nname = \"all\"\n");
        assert!(e.starts_with("cfg/x.toml:4:"), "{e}");
        assert!(e.contains("duplicate output name"), "{e}");
        // An output title that is blank, or holds controls or overrides.
        for title in [
            "",
            " ",
            "\\u200b",
            "x\\u001b[31mRED",
            "a\\u0000b",
            "evil\\u202etxt.exe",
        ] {
            let e = err(&format!(
                "[[output]]\nname = \"all\"\ntitle = \"{title}\"\n"
            ));
            // (At the title's own line: it quoted the name's.)
            assert!(
                e.starts_with("cfg/x.toml:3:") && e.contains("its `title`"),
                "{title}: {e}"
            );
        }
        assert!(
            parse(
                "[[output]]\nname = \"all\"\ntitle = \"Morning news\"\n",
                Path::new("x.toml")
            )
            .is_ok()
        );
        // An output file that is the store's, or another output's.
        let e = err("[store]\npath = \"out/x.json\"\n[[output]]\nname = \"a\"\npath = \"out/x\"\n");
        assert!(e.starts_with("cfg/x.toml:4:"), "{e}");
        assert!(e.contains("a file of the store"), "{e}");
        let e = err(
            "[store]\npath = \"d/x.rss\"\n[[output]]\nname = \"a\"\npath = \"./d/../d/x\"\nformats = [\"rss\"]\n",
        );
        assert!(e.contains("a file of the store"), "{e}");
        // A store that is a link (or a chain) to a file not made yet, which
        // an output would write: the first poll made the output there, and
        // the store became the feed.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink("out/all.json", dir.path().join("mid.db")).unwrap();
        std::os::unix::fs::symlink("mid.db", dir.path().join("store.db")).unwrap();
        let e = parse(
            "[store]\npath = \"store.db\"\n[[output]]\nname = \"all\"\npath = \"out/all\"\n",
            &dir.path().join("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("a file of the store"), "{e}");
        let e = err(
            "[[output]]\nname = \"a\"\npath = \"o/x\"\n[[output]]\nname = \"b\"\npath = \"o/./x\"\nformats = [\"atom\"]\n",
        );
        assert!(e.starts_with("cfg/x.toml:5:"), "{e}");
        assert!(e.contains("outputs `a` and `b` would both write"), "{e}");
        // A file the config reads a secret from (a token file was replaced
        // by the feed, and every command then failed on it).
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/token.json"), "tok").unwrap();
        std::fs::write(dir.path().join("pw"), "pw").unwrap();
        for (secret, key) in [
            (
                "auth = { bearer = { file = \"secrets/token.json\" } }",
                "(auth.bearer)",
            ),
            (
                "headers = { X-Key = { file = \"./secrets/token.json\" } }",
                "(headers.X-Key)",
            ),
            (
                "auth = { basic = { user = \"u\", password = { file = \"secrets/token.json\" } } }",
                "(auth.basic.password)",
            ),
        ] {
            let text = format!(
                "[[feed]]\nurl = \"https://u:p@a.example/f\"\n{secret}\n[[output]]\nname = \"all\"\npath = \"secrets/token\"\nformats = [\"json\"]\n"
            );
            let e = parse(&text, &dir.path().join("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("c.toml:4:") || e.contains("c.toml:5:"), "{e}");
            assert!(
                e.contains("the secret file of feed `https://a.example/f` ") && e.contains(key),
                "{e}"
            );
        }
        // A `file:` feed's own document, relative or absolute (the first
        // poll replaced it with the merged feed, and the feed read that).
        std::fs::create_dir(dir.path().join("samples")).unwrap();
        std::fs::write(dir.path().join("samples/news.rss"), "<rss/>").unwrap();
        let abs = dir.path().join("samples/news.rss");
        for url in [
            "file:samples/news.rss".to_string(),
            "File:samples/news.rss".to_string(),
            url::Url::from_file_path(&abs).unwrap().to_string(),
        ] {
            let text = format!(
                "[[feed]]\nurl = \"{url}\"\n[[output]]\nname = \"all\"\npath = \"samples/news\"\n"
            );
            let e = parse(&text, &dir.path().join("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("c.toml:4:") && e.contains("the document of feed `file:///"),
                "{e}"
            );
            let ok = text.replace("path = \"samples/news\"", "path = \"samples/merged\"");
            assert!(parse(&ok, &dir.path().join("c.toml")).is_ok());
        }
        // A feed's document that is a link, dangling until the output
        // writes the file it names.
        std::os::unix::fs::symlink("future.atom", dir.path().join("samples/linked.xml")).unwrap();
        let e = parse(
            "[[feed]]\nurl = \"file:samples/linked.xml\"\n[[output]]\nname = \"all\"\npath = \"samples/future\"\nformats = [\"atom\"]\n",
            &dir.path().join("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the document of feed `file:///"), "{e}");
        let e = parse(
            "[store]\nurl = \"postgres://f@localhost/f\"\npassword_file = \"pw\"\n[[output]]\nname = \"all\"\npath = \"pw\"\nformats = [\"json\"]\n",
            &dir.path().join("c.toml"),
        );
        // (`pw.json` is not `pw`: allowed.)
        assert!(e.is_ok(), "{e:?}");
        std::fs::rename(dir.path().join("pw"), dir.path().join("pw.json")).unwrap();
        let e = parse(
            "[store]\nurl = \"postgres://f@localhost/f\"\npassword_file = \"pw.json\"\n[[output]]\nname = \"all\"\npath = \"pw\"\nformats = [\"json\"]\n",
            &dir.path().join("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("the secret file of [store] password_file"),
            "{e}"
        );
        // The config file itself (it was replaced by a JSON feed), and one
        // file reached through a link to another output's folder.
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("feeds.json");
        let in_dir = |text: &str| parse(text, &config_file).unwrap_err().to_string();
        let e = in_dir("[[output]]\nname = \"a\"\npath = \"feeds\"\nformats = [\"json\"]\n");
        assert!(e.contains("the config file itself"), "{e}");
        let e = in_dir("[store]\npath = \"./feeds.json\"\n");
        assert!(
            e.contains("[store] path names") && e.contains("the config file itself"),
            "{e}"
        );
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        let e = in_dir(
            "[[output]]\nname = \"a\"\npath = \"real/feed\"\n[[output]]\nname = \"b\"\npath = \"link/feed\"\n",
        );
        assert!(e.contains("outputs `a` and `b` would both write"), "{e}");
        // `..` after a link goes up from where the link leads, as the
        // system reads it: `x/lnk/../feeds` is the config when `x/lnk`
        // leads to a folder beside it.
        std::fs::create_dir_all(dir.path().join("x")).unwrap();
        std::fs::create_dir_all(dir.path().join("q")).unwrap();
        std::os::unix::fs::symlink("../q", dir.path().join("x/lnk")).unwrap();
        let e =
            in_dir("[[output]]\nname = \"a\"\npath = \"x/lnk/../feeds\"\nformats = [\"json\"]\n");
        assert!(e.contains("the config file itself"), "{e}");
        let e = in_dir(
            "[[output]]\nname = \"a\"\npath = \"f\"\n[[output]]\nname = \"b\"\npath = \"x/lnk/../f\"\n",
        );
        assert!(e.contains("outputs `a` and `b` would both write"), "{e}");
        let e = err("[[output]]\nname = \"a\"\nformats = [\"rss\", \"atom\", \"rss\"]\n");
        assert!(e.contains("names the format `rss` twice"), "{e}");
        let e = err("[[output]]\nname = \"a\"\nwindow = \"0s\"\n");
        assert!(e.contains("a `window` of 0s shows no story"), "{e}");
        let e = err("[store]\npath = \"\"\n");
        assert!(e.starts_with("cfg/x.toml:2:"), "{e}");
        assert!(e.contains("[store] path is empty"), "{e}");
        // Different formats of one path are different files.
        parse(
            "[[output]]\nname = \"a\"\npath = \"o/x\"\nformats = [\"rss\"]\n[[output]]\nname = \"b\"\npath = \"o/x\"\nformats = [\"atom\"]\n",
            Path::new("cfg/x.toml"),
        )
        .unwrap();
    }

    #[test]
    fn relative_paths_resolve_against_config_folder() {
        let c = parse(
            "[store]\npath = \"data/f.db\"\n[[output]]\nname = \"all\"\npath = \"out/all\"\n",
            Path::new("/etc/feedloom/feedloom.toml"),
        )
        .unwrap();
        assert_eq!(c.store.path, Path::new("/etc/feedloom/data/f.db"));
        assert_eq!(
            c.outputs[0].path.as_deref(),
            Some(Path::new("/etc/feedloom/out/all"))
        );
        assert_eq!(c.outputs[0].formats, Format::all());
        assert_eq!(c.outputs[0].max_items, 100);
    }

    #[test]
    fn relative_file_urls_decode_their_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("my feed.rss"), "x").unwrap();
        std::fs::write(dir.path().join("100%.xml"), "x").unwrap();
        let cfg = dir.path().join("c.toml");
        let url_of = |u: &str| {
            let c = parse(&format!("[[feed]]\nurl = \"{u}\"\n"), &cfg).unwrap();
            c.feeds[0].url().to_file_path().unwrap()
        };
        // Escapes read as in an absolute `file:` URL: one file, not `my%20feed.rss`.
        assert_eq!(
            url_of("file:./my%20feed.rss"),
            dir.path().join("my feed.rss")
        );
        assert_eq!(url_of("file:my feed.rss"), dir.path().join("my feed.rss"));
        let abs = Url::from_file_path(dir.path().join("my feed.rss")).unwrap();
        assert_eq!(url_of(abs.as_str()), dir.path().join("my feed.rss"));
        // A file whose name holds what reads as an escape stays itself.
        assert_eq!(url_of("file:100%25.xml"), dir.path().join("100%.xml"));
        assert_eq!(url_of("file:100%.xml"), dir.path().join("100%.xml"));
        std::fs::write(dir.path().join("a%20b.xml"), "x").unwrap();
        assert_eq!(url_of("file:a%20b.xml"), dir.path().join("a%20b.xml"));
    }

    #[test]
    fn cron_and_every() {
        let c = parse(
            "[[feed]]\nurl = \"https://a.example/f\"\ncron = \"0 5 6 * * *\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert!(c.feeds[0].cron.is_some());
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ncron = \"every tuesday\"\n");
        assert!(e.starts_with("cfg/x.toml:3:"), "{e}");
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\nevery = \"10ms\"\n");
        assert!(e.contains("at least 1s"), "{e}");
    }

    #[test]
    fn cron_that_never_fires_soon_is_rejected_with_its_line() {
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\n\ncron = \"0 0 0 30 2 *\"\n");
        assert!(e.starts_with("cfg/x.toml:4:8: "), "{e}");
        assert!(e.contains("`cron`") && e.contains("never fires"), "{e}");
        assert!(e.contains("cron = \"0 0 0 30 2 *\""), "snippet: {e}");

        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T03:00:00Z")
            .unwrap()
            .to_utc();
        let fires = |s: &str| parse_cron(s, now).map(|_| ()).map_err(|e| e.to_string());
        assert!(fires("0 5 6 * * *").is_ok());
        assert!(fires("0 0 0 1 1 * 2031").is_ok(), "within five years");
        assert!(
            fires("0 0 0 29 2 *").is_ok(),
            "leap days come every four years"
        );
        // Never: an impossible date.
        for never in ["0 0 0 30 2 *", "0 0 0 31 4,6,9,11 *", "0 0 0 30 2 * 2020"] {
            let e = fires(never).unwrap_err();
            assert!(e.contains("never fires"), "{never}: {e}");
        }
        // Ended (its dates have passed): still loads, a config valid when it
        // was written stays valid; `check` warns.
        for ended in ["0 0 0 * * * 2020", "0 0 0 1 1 * 2025-2026"] {
            let c = parse_cron(ended, now).unwrap();
            assert!(cron_has_ended(&c.0, now), "{ended}");
        }
        assert!(!cron_has_ended(
            &parse_cron("0 5 6 * * *", now).unwrap().0,
            now
        ));
        // Too far: February 29th on a Monday (2044), a year far ahead.
        for far in ["0 0 0 29 2 Mon", "0 0 0 1 1 * 2099"] {
            let e = fires(far).unwrap_err();
            assert!(e.contains("more than 5 years"), "{far}: {e}");
        }
        // Syntax errors say how the fields go, with an example.
        let e = fires("5 6 * * *").unwrap_err();
        assert!(
            e.contains("five-field crontab") && e.contains("seconds first"),
            "{e}"
        );
        assert!(e.contains("\"0 5 6 * * *\""), "{e}");
        let e = fires("every tuesday").unwrap_err();
        assert!(
            e.contains("six fields, seconds first") && e.contains("0 30 6 * * *"),
            "{e}"
        );
    }

    #[test]
    fn schedule_errors_point_at_their_line() {
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ntitle = \"A\"\nevery = \"0s\"\n");
        assert!(
            e.starts_with("cfg/x.toml:4:1: `every` must be at least 1s"),
            "{e}"
        );
        assert!(e.contains("| every = \"0s\""), "{e}");
        let e = err(
            "[[feed]]\nurl = \"https://a.example/f\"\n\n[[feed]]\nurl = \"https://b.example/f\"\n\
             every = \"1h\"\ntags = []\ncron = \"0 5 6 * * *\"\n",
        );
        assert!(
            e.starts_with(
                "cfg/x.toml:8:1: a feed takes `every` or `cron`, not both (`every` is on line 6)"
            ),
            "{e}"
        );
        let e = err("[defaults]\nspread = \"1m\"\nevery = \"0s\"\n");
        assert!(
            e.starts_with("cfg/x.toml:3:1: [defaults] every must be at least 1s"),
            "{e}"
        );
        let e = err("[defaults]\nmax_backoff = \"0s\"\n");
        assert!(
            e.starts_with("cfg/x.toml:2:1: [defaults] max_backoff must be at least 1s"),
            "{e}"
        );
        // (A node extends its claims every third of a lease, at ticks a
        // second apart: 1 s ran out between two.)
        let e = err("[store]\nurl = \"postgres://u@h/db\"\nlease = \"1s\"\n");
        assert!(e.contains("[store] lease must be at least 2s"), "{e}");
        for (line, key) in [
            ("title = \"T\\u0000\"", "title"),
            ("tags = [\"a\\u0000b\"]", "tags"),
        ] {
            let e = err(&format!(
                "[[feed]]\nurl = \"https://a.example/f\"\n{line}\n"
            ));
            assert!(
                e.starts_with("cfg/x.toml:3:1:") && e.contains(&format!("`{key}` holds a NUL")),
                "{e}"
            );
        }
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ntitle = \" \"\n");
        assert!(
            e.starts_with("cfg/x.toml:3:1: a feed's `title` is blank"),
            "{e}"
        );
        // Nor one that shows nothing; nor one over 1 KiB.
        for title in ["\\u200B\\u202E\\u0001", "\\u2060\\uFEFF"] {
            let e = err(&format!(
                "[[feed]]\nurl = \"https://a.example/f\"\ntitle = \"{title}\"\n"
            ));
            assert!(
                e.starts_with("cfg/x.toml:3:1: a feed's `title` is blank"),
                "{e}"
            );
        }
        let e = err(&format!(
            "[[feed]]\nurl = \"https://a.example/f\"\ntitle = \"{}\"\n",
            "x".repeat(1025)
        ));
        assert!(
            e.starts_with("cfg/x.toml:3:1: a feed's `title` (")
                && e.contains("longer than 1024 bytes"),
            "{e}"
        );
        for tags in ["[\"\"]", "[\"ok\", \" x \"]"] {
            let e = err(&format!(
                "[[feed]]\nurl = \"https://a.example/f\"\ntags = {tags}\n"
            ));
            assert!(
                e.contains("is blank (or shows nothing)") || e.contains("has spaces around it"),
                "{e}"
            );
        }
        // (A long line is quoted around the error, not whole: 400 KB of
        // nested lists were echoed on stderr.)
        let e = err(&format!(
            "[[feed]]\nurl = \"https://a.example/f\"\nx = {}\n",
            "[".repeat(5000)
        ));
        assert!(e.len() < 2000, "{} bytes: {}", e.len(), &e[..300]);
        // Longer than PostgreSQL indexes: refused at their line, both backends.
        let e = err(&format!(
            "[[feed]]\nurl = \"https://a.example/f\"\ntags = [\"{}\"]\n",
            "t".repeat(300)
        ));
        assert!(e.contains("is longer than 256 bytes"), "{e}");
        let e = err(&format!(
            "[[feed]]\nurl = \"https://a.example/f?sig={}\"\n",
            "s".repeat(2_100)
        ));
        assert!(e.contains("is longer than 2000 bytes"), "{e}");
        for path in ["", ".", "..", "out/", "out/.", "out/o/", "out//"] {
            let e = err(&format!("[[output]]\nname = \"all\"\npath = \"{path}\"\n"));
            assert!(e.contains("names no file"), "{e}");
        }
        let e = err("[fetch]\nmax_body = \"1.5MiB\"\n");
        assert!(e.contains("sizes are whole numbers"), "{e}");
        for bad in ["-1", "1.5", "true"] {
            let e = err(&format!("[fetch]\nmax_body = {bad}\n"));
            assert!(
                e.contains(&format!("invalid size {bad}: write a whole number")),
                "{e}"
            );
        }
        let e = err("[store]\nurl = \"postgres://u@h/db\"\npath = \"x.db\"\n");
        assert!(
            e.starts_with("cfg/x.toml:3:1: [store] has both `path`"),
            "{e}"
        );
        // A password file that cannot be the password is the config's fault,
        // found by `check` (it said the config was fine).
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        std::fs::write(dir.path().join("blank-first"), "\r\nsecret\n").unwrap();
        for (name, says) in [
            ("missing", "cannot read"),
            ("fifo", "is not a plain file"),
            ("empty", "is empty"),
            ("blank-first", "its first line is empty"),
        ] {
            let file = dir.path().join(name);
            let e = err(&format!(
                "[store]\nurl = \"postgres://u@h/db\"\npassword_file = \"{}\"\n",
                file.display()
            ));
            assert!(
                e.starts_with("cfg/x.toml:3:1: [store] password_file: ")
                    && e.contains(&file.display().to_string())
                    && e.contains(says),
                "{e}"
            );
        }
        let e = err("[store]\npassword_file = \"pw\"\n");
        assert!(
            e.starts_with("cfg/x.toml:2:1: [store] password_file is the password of a PostgreSQL"),
            "{e}"
        );
        for ua in ["\"feedloom\\nX-Evil: 1\"", "\"  \""] {
            let e = err(&format!("[fetch]\ntimeout = \"5s\"\nuser_agent = {ua}\n"));
            assert!(
                e.starts_with("cfg/x.toml:3:1: [fetch] user_agent is not a valid header value"),
                "{e}"
            );
        }
        let e = err("[fetch]\ntimeout = \"5s\"\nconcurrency = 0\n");
        assert!(
            e.starts_with("cfg/x.toml:3:1: [fetch] concurrency must be at least 1"),
            "{e}"
        );
        let e = err("[fetch]\nmax_entries = 0\n");
        assert!(
            e.starts_with("cfg/x.toml:2:1: [fetch] max_entries must be above 0"),
            "{e}"
        ); // Past tokio's semaphore limit, every fetch panicked.
        for (table, key) in [
            ("fetch", "concurrency"),
            ("fetch", "per_host"),
            ("server", "max_connections"),
        ] {
            let e = err(&format!("[{table}]\n{key} = 2305843009213693952\n"));
            assert!(
                e.starts_with(&format!("cfg/x.toml:2:1: [{table}] {key} must be at most")),
                "{e}"
            );
        }
    }

    #[test]
    fn secrets_resolve_at_load_and_name_the_key_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "abc123\n").unwrap();
        let path = dir.path().join("c.toml");
        let load = |text: &str| parse(text, &path);
        // SAFETY: test-only variable names, set before any reader.
        unsafe { std::env::set_var("FEEDLOOM_TEST_KEY", "k-123") };
        let c = load(
            "[[feed]]\nurl = \"https://a.example/f\"\nauth = { bearer = { file = \"tok\" } }\n\
             headers = { \"X-Api-Key\" = { env = \"FEEDLOOM_TEST_KEY\" }, Accept-Language = \"en\" }\n",
        )
        .unwrap();
        let a = &c.feeds[0].access;
        assert!(matches!(&a.auth, Some(Auth::Bearer(t)) if t.expose() == "abc123"));
        assert_eq!(a.headers.len(), 2);
        assert_eq!(a.headers[1].0, "x-api-key");
        assert_eq!(a.headers[1].1.expose(), "k-123");
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("abc123") && !debug.contains("k-123"),
            "{debug}"
        );

        let e = load(
            "[[feed]]\nurl = \"https://a.example/f\"\n\
             auth = { basic = { user = \"u\", password = { env = \"FEEDLOOM_TEST_UNSET\" } } }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("c.toml:3:"), "{e}");
        assert!(
            e.contains("auth.basic.password")
                && e.contains("environment variable `FEEDLOOM_TEST_UNSET` is not set"),
            "{e}"
        );
        let e = load(
            "[[feed]]\nurl = \"https://a.example/f\"\nheaders = { X-Key = { file = \"nope\" } }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("c.toml:3:") && e.contains("headers.X-Key: cannot read"),
            "{e}"
        );
        let e = load("[[feed]]\nurl = \"https://a.example/f\"\nheaders = { Host = \"x\" }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`Host` is set by feedloom"), "{e}");
        let e = load(
            "[[feed]]\nurl = \"https://a.example/f\"\nheaders = { X-A = \"1\", x-a = \"2\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("appears twice"), "{e}");
        let e =
            load("[[feed]]\nurl = \"https://a.example/f\"\nauth = { bearer = { envv = \"X\" } }\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("envv") && e.contains("{ env = \"VAR\" }"), "{e}");
    }

    #[test]
    fn credentials_in_a_url_become_basic_auth_and_leave_the_url() {
        let c = parse(
            "[[feed]]\nurl = \"https://bob:p%40ss@a.example/f\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        let f = &c.feeds[0];
        assert_eq!(f.url().as_str(), "https://a.example/f");
        match &f.access.auth {
            Some(Auth::Basic { user, password }) => {
                assert_eq!(user.expose(), "bob");
                assert_eq!(password.as_ref().unwrap().expose(), "p@ss");
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{c:?}").contains("p%40ss"));
        // Both forms at once is a mistake; and errors never quote the password.
        let e =
            err("[[feed]]\nurl = \"https://bob:hunter2@a.example/f\"\nauth = { bearer = \"t\" }\n");
        assert!(e.contains("user:password@ and `auth`"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err("[[feed]]\nurl = \"gopher://bob:hunter2@a.example/f\"\n");
        assert!(e.contains("gopher") && !e.contains("hunter2"), "{e}");
        // Empty credentials written in the config (a bearer token sent as
        // `Authorization: Bearer `).
        for (auth, says) in [
            (
                "auth = { bearer = \"\" }",
                "auth.bearer: the token is empty",
            ),
            (
                "auth = { bearer = \" \" }",
                "auth.bearer: the token is empty",
            ),
            (
                "auth = { basic = { user = \"\" } }",
                "auth.basic.user: the user name is empty",
            ),
        ] {
            let e = err(&format!(
                "[[feed]]\nurl = \"https://a.example/f\"\n{auth}\n"
            ));
            assert!(e.contains(says) && e.starts_with("cfg/x.toml:3:"), "{e}");
        }
        // Two feeds differing only in credentials are the same feed.
        let e = err(
            "[[feed]]\nurl = \"https://a:1@x.example/f\"\n[[feed]]\nurl = \"https://b:2@x.example/f\"\n",
        );
        assert!(
            e.contains("duplicate feed url `https://x.example/f`"),
            "{e}"
        );
    }

    #[test]
    fn server_limits_and_output_links() {
        let c = parse("", Path::new("x.toml")).unwrap();
        assert_eq!(c.server.max_connections, 512);
        assert_eq!(c.server.header_timeout.0, Duration::from_secs(10));
        assert_eq!(c.server.idle_timeout.0, Duration::from_secs(60));
        assert_eq!(c.server.degraded_after.0, Duration::from_secs(6 * 3600));
        for short in ["0s", "500ms"] {
            let e = err(&format!("[server]\ndegraded_after = \"{short}\"\n"));
            assert!(
                e.contains("[server] degraded_after must be at least 1s"),
                "{e}"
            );
        }
        let e = err("[fetch]\ntimeout = \"1ns\"\n");
        assert!(
            e.starts_with("cfg/x.toml:2:1: [fetch] timeout must be at least 100ms"),
            "{e}"
        );
        for (table, key) in [("fetch", "timeout"), ("server", "shutdown_timeout")] {
            let e = err(&format!("[{table}]\n{key} = \"100y\"\n"));
            assert!(
                e.starts_with(&format!(
                    "cfg/x.toml:2:1: [{table}] {key} must be at most 1h"
                )),
                "{e}"
            );
        }
        let e = err("[fetch]\nhost_gap = \"1d\"\n");
        assert!(
            e.starts_with("cfg/x.toml:2:1: [fetch] host_gap must be at most 1h"),
            "{e}"
        );
        assert!(
            parse_feed_url("file://otherhost/x.xml")
                .unwrap_err()
                .contains("not on host `otherhost`")
        );
        assert!(parse_feed_url("file://localhost/x.xml").is_ok());
        // A file's path is told its `file:` form (it was told to write
        // `https://` first); a URL without its scheme is not a path.
        assert_eq!(
            parse_feed_url("/srv/feeds/a.xml").unwrap_err(),
            "invalid URL `/srv/feeds/a.xml`: a file's path is written as a `file:` URL \
             (`file:///srv/feeds/a.xml`)"
        );
        assert!(
            parse_feed_url("/srv/a b/h#1?%.xml")
                .unwrap_err()
                .ends_with("(`file:///srv/a%20b/h%231%3F%25.xml`)")
        );
        let e = parse_feed_url("//ann:Secret9@host/f").unwrap_err();
        assert!(
            e.contains("with `https://` or `http://` first") && !e.contains("Secret9"),
            "{e}"
        );
        // A typo is not a host: `http:///x` was fetched as `http://x/`.
        for typo in [
            "http:///x/feed",
            "https:/x/feed",
            "http:x",
            "http:\\\\x/feed",
        ] {
            let e = parse_feed_url(typo).unwrap_err();
            assert!(e.contains("write the host right after"), "{typo}: {e}");
        }
        // Port 0 is no port (every fetch failed with "connect: refused").
        for zero in ["http://127.0.0.1:0/f.xml", "https://x.example:00/f"] {
            let e = parse_feed_url(zero).unwrap_err();
            assert!(e.contains("port 0 is no port"), "{zero}: {e}");
        }
        for fine in ["HTTPS://Example.org/f", " http://[::1]:8/f ", "http://u@h/"] {
            assert!(parse_feed_url(fine).is_ok(), "{fine}");
        }
        let c = parse(
            "[server]\nmax_connections = 8\nheader_timeout = \"2s\"\nidle_timeout = \"5s\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.server.max_connections, 8);
        assert_eq!(c.server.header_timeout.0, Duration::from_secs(2));
        assert_eq!(c.server.idle_timeout.0, Duration::from_secs(5));
        let e = err("[server]\nmax_connections = 0\n");
        assert!(e.contains("[server] max_connections"), "{e}");
        let e = err("[server]\nheader_timeout = \"0s\"\n");
        assert!(e.contains("header_timeout"), "{e}");
        let e = err("[server]\nmax_connections = -1\n");
        assert!(e.starts_with("cfg/x.toml:2:"), "{e}");
        // The merged feed's own link is published: http(s) only.
        let e = err("[[output]]\nname = \"all\"\nlink = \"javascript:alert(1)\"\n");
        assert!(
            e.starts_with("cfg/x.toml:3:") && e.contains("javascript"),
            "{e}"
        );
        let e = err("[[output]]\nname = \"all\"\nlink = \"https://admin:S3CRET@example.org/\"\n");
        assert!(
            e.contains("would be published") && !e.contains("S3CRET"),
            "{e}"
        );
        let c = parse(
            "[[output]]\nname = \"all\"\nlink = \"https://example.org/\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(
            c.outputs[0].link.as_ref().unwrap().as_str(),
            "https://example.org/"
        );
    }

    #[test]
    fn cron_errors_name_the_bounds_as_they_are() {
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ncron = \"60 0 * * * *\"\n");
        assert!(e.contains("at most 59"), "{e}");
        assert!(!e.contains("less than 59"), "{e}");
        for (expr, bound) in [
            ("0 0 0 32 * *", "at most 31"),
            ("0 0 0 * 13 *", "at most 12"),
        ] {
            let e = err(&format!(
                "[[feed]]\nurl = \"https://a.example/f\"\ncron = \"{expr}\"\n"
            ));
            assert!(e.contains(bound), "{e}");
        }
        let cfg = "[[feed]]\nurl = \"https://a.example/f\"\ncron = \"59 59 23 * * *\"\n";
        assert!(parse(cfg, std::path::Path::new("x.toml")).is_ok());
    }

    #[test]
    fn cron_errors_say_six_fields_seconds_first() {
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ncron = \"*/15 * * * *\"\n");
        assert!(e.starts_with("cfg/x.toml:3:"), "{e}");
        assert!(e.contains("six fields, seconds first"), "{e}");
        assert!(e.contains("e.g. \"0 30 6 * * *\""), "{e}");
        assert!(e.contains("it has 5 fields"), "{e}");
        assert!(
            e.contains("five-field crontab line, put a seconds field first: \"0 */15 * * * *\""),
            "{e}"
        );
        // Crontab counts days from 0 = Sunday, the cron crate from 1 =
        // Sunday: the hint names them (it moved Mon-Fri to Sun-Thu).
        for (crontab, six) in [
            ("0 9 * * 1-5", "0 0 9 * * Mon,Tue,Wed,Thu,Fri"),
            ("0 9 * * 0", "0 0 9 * * Sun"),
            ("0 9 * * 5-7", "0 0 9 * * Fri,Sat,Sun"),
            ("0 9 * * 1,3", "0 0 9 * * Mon,Wed"),
            ("0 9 * * *", "0 0 9 * * *"),
            ("0 9 * * 0-7", "0 0 9 * * *"),
            ("0 9 * * 7-7", "0 0 9 * * Sun"),
            ("0 9 * * 5-7/2", "0 0 9 * * Fri,Sun"),
            ("0 9 * * 1/2", "0 0 9 * * Mon,Wed,Fri,Sun"),
            ("0 9 * * */2", "0 0 9 * * Tue,Thu,Sat,Sun"),
        ] {
            let e = err(&format!(
                "[[feed]]\nurl = \"https://a.example/f\"\ncron = \"{crontab}\"\n"
            ));
            assert!(e.contains(&format!("first: \"{six}\"")), "{e}");
            assert!(parse_cron(six, chrono::Utc::now()).is_ok(), "{six}");
        }
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ncron = \"0 9 1 * 1\"\n");
        assert!(e.contains("day of the month or the day of the week"), "{e}");
        let monday_to_friday = parse_cron("0 0 9 * * Mon-Fri", chrono::Utc::now()).unwrap();
        for t in monday_to_friday.0.upcoming(chrono::Utc).take(10) {
            use chrono::Datelike;
            assert!(t.weekday().number_from_monday() <= 5, "{t}");
        }
        let e = err("[[feed]]\nurl = \"https://a.example/f\"\ncron = \"whenever\"\n");
        assert!(
            e.contains("six fields, seconds first") && !e.contains("crontab"),
            "{e}"
        );
    }

    #[test]
    fn the_body_budget_must_hold_one_body() {
        let e = err("[fetch]\nmax_body = \"32MiB\"\nmax_buffered = \"16MiB\"\n");
        assert!(e.contains("max_buffered") && e.contains("max_body"), "{e}");
        let at = |text: &str| parse(text, Path::new("x.toml")).unwrap().fetch;
        assert_eq!(at("").max_buffered(), 64 << 20);
        assert!(!at("").allow_private_networks);
        // Unset, it grows with max_body; set, it is what it says.
        assert_eq!(
            at("[fetch]\nmax_body = \"128MiB\"\n").max_buffered(),
            128 << 20
        );
        let f = at("[fetch]\nmax_body = \"32MiB\"\nmax_buffered = \"40MiB\"\n");
        assert_eq!(f.max_buffered(), 40 << 20);
    }
}
