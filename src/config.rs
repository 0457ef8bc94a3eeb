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
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use url::Url;

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
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("feedloom.db"),
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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_timeout: Dur(Duration::from_secs(10)),
        }
    }
}

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
    pub cron: Option<CronSchedule>,
}

impl FeedConfig {
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
    /// The merged feed's home link (RSS `<link>`, Atom `rel="alternate"`).
    #[serde(default)]
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
}

impl Format {
    pub fn all() -> Vec<Format> {
        vec![Format::Atom, Format::Rss, Format::Json]
    }

    /// File extension and HTTP path suffix.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
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
            other => Err(format!(
                "unknown format `{other}`: expected atom, rss or json"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The longest duration a config may write.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A duration written the humantime way: `"30s"`, `"15m"`, `"7d"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let dur = humantime::parse_duration(s.trim())
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
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A feed URL: http, https or file, and the text it was written as. A `file:` URL
/// without a leading slash (`file:samples/x.xml`) is relative to the config's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedUrl(pub Url, pub String);

impl<'de> Deserialize<'de> for FeedUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_feed_url(&s)
            .map(|u| FeedUrl(u, s.trim().to_string()))
            .map_err(serde::de::Error::custom)
    }
}

/// Parses and checks a feed URL (scheme http, https or file; a host for http(s)).
pub fn parse_feed_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("invalid URL `{s}`: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" | "https" => Err(format!("invalid URL `{s}`: no host")),
        "file" => Ok(url),
        other => Err(format!(
            "invalid URL `{s}`: scheme `{other}` is not supported (use http, https or file)"
        )),
    }
}

/// A cron expression in the `cron` crate's syntax (seconds first).
#[derive(Debug, Clone)]
pub struct CronSchedule(pub cron::Schedule);

impl<'de> Deserialize<'de> for CronSchedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        cron::Schedule::from_str(s.trim())
            .map(CronSchedule)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid cron expression `{s}`: {e} (fields: sec min hour day-of-month month day-of-week [year])"
                ))
            })
    }
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
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates config text; `path` names it in errors and anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let at = |span: std::ops::Range<usize>, message: String| invalid(text, path, span, message);
    let raw: RawConfig = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => at(span, e.message().to_string()),
        None => ConfigError::Whole {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        },
    })?;

    for feed in &raw.feeds {
        if feed.every.is_some() && feed.cron.is_some() {
            return Err(at(
                feed.url.span(),
                "a feed takes `every` or `cron`, not both".to_string(),
            ));
        }
        if let Some(every) = feed.every
            && every.0 < Duration::from_secs(1)
        {
            return Err(at(
                feed.url.span(),
                "`every` must be at least 1s".to_string(),
            ));
        }
    }
    let mut names: HashMap<&str, ()> = HashMap::new();
    for out in &raw.outputs {
        let name = out.name();
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
        if out.max_items == 0 || out.max_items > 10_000 {
            return Err(at(
                out.name.span(),
                format!("output `{name}`: max_items must be between 1 and 10000"),
            ));
        }
    }
    let whole = |message: &str| ConfigError::Whole {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    if raw.fetch.concurrency == 0 {
        return Err(whole("[fetch] concurrency must be at least 1"));
    }
    if raw.fetch.per_host == 0 {
        return Err(whole("[fetch] per_host must be at least 1"));
    }
    if raw.fetch.max_body.0 == 0 || raw.fetch.max_entries == 0 || raw.fetch.max_field.0 == 0 {
        return Err(whole(
            "[fetch] max_body, max_entries and max_field must be above 0",
        ));
    }
    if raw.fetch.timeout.0.is_zero() {
        return Err(whole("[fetch] timeout must be above 0"));
    }
    if raw.defaults.every.0 < Duration::from_secs(1) {
        return Err(whole("[defaults] every must be at least 1s"));
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
    cfg.store.path = base.join(&cfg.store.path);
    for out in &mut cfg.outputs {
        if let Some(p) = &out.path {
            out.path = Some(base.join(p));
        }
    }
    for feed in &mut cfg.feeds {
        let span = feed.url.span();
        let url = feed.url.get_mut();
        if let Some(rel) = url.1.strip_prefix("file:").filter(|r| !r.starts_with('/')) {
            // `file:samples/x.xml` is relative to the config file's folder.
            let abs = std::path::absolute(base.join(rel))
                .map_err(|e| at(span.clone(), format!("cannot resolve `{}`: {e}", url.1)))?;
            url.0 = Url::from_file_path(&abs)
                .map_err(|_| at(span, format!("cannot resolve `{}`", url.1)))?;
        }
    }
    let mut seen: HashMap<&Url, ()> = HashMap::new();
    for feed in &cfg.feeds {
        if seen.insert(feed.url(), ()).is_some() {
            return Err(at(
                feed.url.span(),
                format!("duplicate feed url `{}`", feed.url()),
            ));
        }
    }
    if cfg.outputs.is_empty() {
        cfg.outputs.push(OutputConfig::implicit());
    }
    Ok(cfg)
}

fn invalid(text: &str, path: &Path, span: std::ops::Range<usize>, message: String) -> ConfigError {
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..start].chars().count() + 1;
    let snippet = text[line_start..]
        .lines()
        .next()
        .unwrap_or("")
        .trim_end()
        .to_string();
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
        snippet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("cfg/x.toml"))
            .unwrap_err()
            .to_string()
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
        // A config without outputs has the implicit one.
        let c = parse("", Path::new("x.toml")).unwrap();
        assert_eq!(c.outputs.len(), 1);
        assert_eq!(c.outputs[0].name(), "all");
        let e = err("[[output]]\nname = \"all\"\n[[output]]\nname = \"all\"\n");
        assert!(e.starts_with("cfg/x.toml:4:"), "{e}");
        assert!(e.contains("duplicate output name"), "{e}");
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
}
