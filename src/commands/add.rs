//! `feedloom add URL`: subscribe to a feed, given its URL or a site's.
//!
//! The URL is fetched once. A feed is taken as it is; an HTML page is searched
//! for the feeds it declares ([`crate::discover`]), else the usual paths are
//! tried; with several, the user picks one (`--pick N`, a prompt on a terminal,
//! else the first). The chosen feed must parse. Then a `[[feed]]` block is
//! appended to the config ([`crate::config::edit`]), unless a feed with the same
//! canonical URL is already there. Nothing is written to the store: the daemon
//! (after a reload) or the next `poll` fetches the feed for real.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::{Failure, say};
use crate::config::edit::{self, ConfigFile, NewFeed};
use crate::config::{self, Access, Config};
use crate::discover::{self, Candidate};

/// An error as `add` prints it: its causes, bounded and with its control
/// characters escaped ([`crate::error::quoted`]), as a fetch's error is
/// stored: a feed's JSON `version` holding escape sequences set the
/// terminal's title and cleared it, 20 KB long.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    crate::error::quoted_message(&crate::error::chain(e), crate::error::MAX_ERROR_BYTES)
}
use crate::fetch::{FetchOutcome, Fetched, Fetcher, Origin, Validators};
use crate::identity::Canon;
use crate::parse::{self, Document, Limits};

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct AddArgs {
    pub url: String,
    pub tags: Vec<String>,
    pub title: Option<String>,
    pub every: Option<String>,
    /// 1-based choice among the feeds a page declares.
    pub pick: Option<usize>,
    pub reload: bool,
}

/// Runs `add`, writing the report to `out`. `interactive`: ask on the terminal
/// which feed to take when a page declares several and `--pick` is not given.
pub async fn add(
    path: &Path,
    args: &AddArgs,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    check_args(args)?;
    // (`feed://host/x`, as a browser's "subscribe" link gives it, as
    // `import-opml` reads it: it was refused as an unknown scheme.)
    let normalised = super::opml::normalise_url(args.url.trim());
    let args = &AddArgs {
        url: normalised,
        ..args.clone()
    };
    let file = ConfigFile::read(path, true)?;
    let cfg = file.config()?;
    let (given, access) = resolve_with_access(&args.url, &cfg)?;
    let canon = Canon::new(&cfg.identity.strip_params);
    refuse_duplicate(&file.text, &cfg, &given, &canon)?;
    // (Read once: the store's moved feeds, for every check below.)
    let moved = moved_targets(&cfg, &canon);
    refuse_moved_target(&file.text, &cfg, &moved, &given, &canon)?;

    let fetcher = Fetcher::new(&cfg.fetch)
        .map_err(|e| Failure::Runtime(format!("cannot build the HTTP client: {e}")))?;
    let limits = Limits {
        max_entries: cfg.fetch.max_entries,
        max_field: cfg.fetch.max_field.0 as usize,
    };
    let page = get(&fetcher, &given, &given, &access)
        .await
        .map_err(Failure::Runtime)?;
    // A feed the page declares on another host: its address is the page's
    // word, not the person's (held to the network guard when fetched).
    let given_host = given.host_str().map(str::to_string);
    let (url_text, url, doc) = match parse_feed(&page, limits) {
        Ok(doc) => {
            refuse_redirected(&file.text, &cfg, &moved, &given, &page.final_url, &canon)?;
            if args.pick.is_some() {
                say(out, &format!("{} is a feed itself: --pick ignored", given))?;
            }
            match &page.redirect {
                // Moved for good (every hop 301 or 308): the feed is
                // subscribed where it is now (at the old address, adding the
                // new one later was taken for a second feed, and the feed was
                // fetched twice).
                Some(r) if r.permanent && r.final_url != given => {
                    say(
                        out,
                        &format!(
                            "{given} moved to {} (a permanent redirect): subscribing there",
                            config::access::redact_userinfo(r.final_url.as_str())
                        ),
                    )?;
                    let text = with_userinfo_of(&args.url, &given, &r.final_url);
                    (text, r.final_url.clone(), doc)
                }
                _ => (args.url.trim().to_string(), given, doc),
            }
        }
        Err(not_feed) => {
            let found = Found {
                fetcher: &fetcher,
                page: &page,
                given: &given,
                access: &access,
                limits,
            };
            let chosen = found.discover(&not_feed, args, interactive, out).await?;
            refuse_duplicate(&file.text, &cfg, &chosen.0, &canon)?;
            refuse_moved_target(&file.text, &cfg, &moved, &chosen.0, &canon)?;
            refuse_redirected(&file.text, &cfg, &moved, &chosen.0, &chosen.2, &canon)?;
            // Moved for good: subscribed where it is now (as a feed given
            // directly).
            let (chosen_url, doc) = match chosen.3 && chosen.2 != chosen.0 {
                true => {
                    say(
                        out,
                        &format!(
                            "{} moved to {} (a permanent redirect): subscribing there",
                            config::access::redact_userinfo(chosen.0.as_str()),
                            config::access::redact_userinfo(chosen.2.as_str())
                        ),
                    )?;
                    (chosen.2, chosen.1)
                }
                false => (chosen.0, chosen.1),
            };
            // A feed on the page's host needs the credentials the page did.
            let text = with_userinfo_of(&args.url, &given, &chosen_url);
            // (The feed's URL as the config reads it: without them.)
            (text, config::split_credentials(&chosen_url).0, doc)
        }
    };

    let new = NewFeed {
        url: url_text,
        // (Without its control characters, as `import-opml` writes a title:
        // an escape sequence was written into the config as `\u001B`.)
        title: args.title.as_deref().map(shown_title),
        // `--tag x --tag " x"` is one tag.
        tags: args.tags.iter().fold(Vec::new(), |mut tags, t| {
            let t = t.trim().to_string();
            if !tags.contains(&t) {
                tags.push(t);
            }
            tags
        }),
        every: args.every.clone(),
        untrusted: url.host_str() != given_host.as_deref(),
    };
    let text = edit::append_feeds(&file.text, &file.path, &[new])?;
    let new_cfg = file.write(&text, |new| match new.feeds.last() {
        Some(f) if f.url() == &url && new.feeds.len() == cfg.feeds.len() + 1 => Ok(()),
        _ => Err(format!("would not add exactly the feed {url}")),
    })?;
    let (line, _) = edit::inserted_lines(&file.text, &text);
    if !file.existed {
        say(out, &format!("created {}", path.display()))?;
    }
    let title = args
        .title
        .clone()
        .or(doc.title.clone())
        .unwrap_or_else(|| "(untitled)".to_string());
    say(
        out,
        &format!(
            "added \"{title}\" {url} ({}) to {}:{line}",
            match doc.entries.len() + doc.truncated {
                1 => "1 item".to_string(),
                n => format!("{n} items"),
            },
            path.display()
        ),
    )?;
    let disabled = disabled_in_store(&new_cfg, url.as_str());
    if let Some(why) = &disabled {
        // (A feed disabled by a 410, removed and added again, was never
        // fetched, while `add` said the next poll would fetch it.)
        say(
            out,
            &format!(
                "note: the store has this feed disabled ({why}); it is not fetched until \
                 `feedloom enable {url}`"
            ),
        )?;
    }
    // (A poll does not fetch a disabled feed: the hint said it did.)
    let hint = super::after_edit_of(&new_cfg, args.reload, disabled.is_none())?;
    say(out, &hint)
}

/// Why the store (a SQLite file that exists) has the feed at `url` disabled;
/// `None` when it is not, or cannot tell. Reads only.
fn disabled_in_store(cfg: &Config, url: &str) -> Option<String> {
    disabled_of(cfg, &[url]).pop().map(|(_, why)| why)
}

/// Which of `urls` the store (a SQLite file that exists) has disabled, each
/// with why, in the order given. Reads only.
pub(super) fn disabled_of(cfg: &Config, urls: &[&str]) -> Vec<(String, String)> {
    if cfg.store.url.is_some() || !cfg.store.path.is_file() {
        return Vec::new();
    }
    let Ok(store) = crate::store::Store::open_read_only(&cfg.store.path) else {
        return Vec::new();
    };
    let Ok(feeds) = store.feed_summaries() else {
        return Vec::new();
    };
    let disabled: std::collections::HashMap<&str, String> = feeds
        .iter()
        .filter(|f| !f.enabled)
        .map(|f| {
            let why = match (f.last_http_status, &f.last_error) {
                (Some(status), _) => format!("HTTP {status}"),
                (None, Some(e)) => e.clone(),
                (None, None) => "disabled".to_string(),
            };
            (f.url.as_str(), why)
        })
        .collect();
    urls.iter()
        .filter_map(|u| Some((u.to_string(), disabled.get(u)?.clone())))
        .collect()
}

/// Refuses arguments that would not load as config values, before any fetch.
fn check_args(args: &AddArgs) -> Result<(), Failure> {
    if let Some(every) = &args.every {
        let d = config::parse_duration(every).map_err(|e| {
            Failure::Usage(format!(
                "--every `{every}`: {e} (write e.g. \"30m\", \"2h\", \"1d\")"
            ))
        })?;
        if d < Duration::from_secs(1) || d > config::MAX_DURATION {
            return Err(Failure::Usage(format!(
                "--every `{every}`: must be between 1s and 100 years"
            )));
        }
    }
    if args.tags.iter().any(|t| t.trim().is_empty()) {
        return Err(Failure::Usage("--tag: a tag cannot be empty".to_string()));
    }
    // (A line break or a tab in a tag written into the config: `check`
    // printed it over two lines, as if config text, and an OPML round trip
    // made a tab a space, so that an output selecting the tag matched
    // nothing. A title's are left out, as its escape sequences are.)
    let control = |s: &str| s.chars().any(config::breaks_a_line);
    if let Some(t) = args.tags.iter().find(|t| control(t)) {
        return Err(Failure::Usage(format!(
            "--tag {t:?}: a tag cannot hold a control character (a line break, a tab)"
        )));
    }

    // (A title's line break was written into the config as a multi-line
    // string, and published; its other control characters are left out
    // (see `run`).)
    if let Some(t) = args
        .title
        .as_deref()
        .filter(|t| t.contains(['\n', '\r', '\t', '\u{85}', '\u{2028}', '\u{2029}']))
    {
        return Err(Failure::Usage(format!(
            "--title \"{}\": a title cannot hold a line break or a tab",
            crate::error::quoted(t, 200)
        )));
    }
    // (Said before the feed is fetched, naming the option: it was said
    // after, as a line of an edit that was never written.)
    if let Some(t) = args
        .title
        .as_deref()
        .filter(|t| t.trim().len() > config::MAX_TITLE_BYTES)
    {
        return Err(Failure::Usage(format!(
            "--title: {} bytes, longer than {} bytes",
            t.trim().len(),
            config::MAX_TITLE_BYTES
        )));
    }
    // (Blank once its control characters are left out, too: "\e\e\e" was
    // refused after the fetch, naming a line never written.)
    // (Or only joiners, a soft hyphen, a variation selector: what the config
    // refuses as a title that shows nothing.)
    if args
        .title
        .as_deref()
        .is_some_and(|t| crate::parse::text::shows_nothing(&shown_title(t)))
    {
        return Err(Failure::Usage(
            "--title: the title cannot be empty".to_string(),
        ));
    }
    if args.pick == Some(0) {
        return Err(Failure::Usage("--pick counts from 1".to_string()));
    }
    Ok(())
}

/// A `--title` as written into the config: without control characters and
/// bidi marks, as `import-opml` writes one (an escape sequence was written
/// as `\u001B`; a right-to-left override turned the config's line around).
fn shown_title(t: &str) -> String {
    // (Invisible format characters too: marks of direction, a zero-width
    // space, a byte-order mark, interlinear annotations. Not the joiners,
    // U+200C and U+200D, which belong to the text: Persian `پیام‌رسان`
    // lost its non-joiner, and a family emoji fell apart into three.)
    let invisible = |c: char| {
        matches!(c, '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{061C}'
            | '\u{180E}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
    };
    // (Line breaks and tabs, which `plain_title` keeps, are refused before.)
    crate::export::clean::plain_title(t)
        .chars()
        .filter(|c| !invisible(*c))
        .collect()
}

/// The URL as the config would read it (a relative `file:` resolves against
/// the config's folder).
pub fn resolve(url: &str, cfg: &Config) -> Result<Url, Failure> {
    let parsed = config::parse_feed_url(url).map_err(Failure::Usage)?;
    // A web address without credentials loads as it parses. (A config of
    // its own per address cost `import-opml` ~90 system calls an outline,
    // checking the default store's files each time.)
    if crate::urls::is_web(&parsed) && parsed.username().is_empty() && parsed.password().is_none() {
        return Ok(parsed);
    }
    let mini = format!("[[feed]]\nurl = {}\n", toml_edit::Value::from(url.trim()));
    config::parse(&mini, &cfg.source)
        .map(|c| c.feeds[0].url().clone())
        .map_err(|e| Failure::Usage(format!("invalid URL `{url}`: {e}")))
}

/// [`resolve`], and what the feed's requests carry (the credentials written
/// in the URL).
fn resolve_with_access(url: &str, cfg: &Config) -> Result<(Url, Arc<Access>), Failure> {
    config::parse_feed_url(url).map_err(Failure::Usage)?;
    let mini = format!("[[feed]]\nurl = {}\n", toml_edit::Value::from(url.trim()));
    config::parse(&mini, &cfg.source)
        .map(|c| {
            let f = &c.feeds[0];
            (f.url().clone(), Arc::new((*f.access).clone()))
        })
        .map_err(|e| Failure::Usage(format!("invalid URL `{url}`: {e}")))
}

/// `found` as written in the config: with the user and password written in
/// `written` (the URL `add` was given) when it is on the same host as `given`
/// and has none of its own.
fn with_userinfo_of(written: &str, given: &Url, found: &Url) -> String {
    let Ok(w) = Url::parse(written.trim()) else {
        return found.to_string();
    };
    // (The same scheme, host and port only: never a password sent in clear
    // to an http:// feed that an https:// page declares.)
    let own = !found.username().is_empty() || found.password().is_some();
    // (Or the same host upgraded from http to https, as the fetch sends
    // them: the feed was read with them, and written without.)
    let upgrade = given.scheme() == "http"
        && given.port_or_known_default() == Some(80)
        && found.scheme() == "https"
        && found.port_or_known_default() == Some(443)
        && given.host_str().map(str::to_ascii_lowercase)
            == found.host_str().map(str::to_ascii_lowercase);
    if own
        || w.username().is_empty() && w.password().is_none()
        || (found.origin() != given.origin() && !upgrade)
    {
        return found.to_string();
    }
    let mut out = found.clone();
    let _ = out.set_username(w.username());
    let _ = out.set_password(w.password());
    out.to_string()
}

/// The configured feed that is the same feed as `url` (same URL, or the same
/// canonical URL: scheme, host case, default port, trailing slash and tracking
/// parameters aside).
pub fn same_feed<'c>(cfg: &'c Config, url: &Url, canon: &Canon) -> Option<&'c config::FeedConfig> {
    let wanted = feed_key(url.as_str(), canon);
    cfg.feeds
        .iter()
        .find(|f| f.url() == url || feed_key(f.url().as_str(), canon) == wanted)
}

/// What two addresses of one feed have in common: the canonical URL, with
/// escapes of unreserved characters decoded.
pub fn feed_key(url: &str, canon: &Canon) -> String {
    unreserved_decoded(&crate::identity::canonical_url(url, canon))
}

/// `url` with percent-encoded unreserved characters decoded and other
/// escapes in upper case (RFC 3986's normalisation: `/%6Fne` and `/one`, `%2f`
/// and `%2F` are each one address). For comparing only; stored keys keep
/// the encoding they were written with.
fn unreserved_decoded(url: &str) -> String {
    let b = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            let c = (h * 16 + l) as u8;
            match c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                true => out.push(c as char),
                false => out.push_str(&url[i..i + 3].to_ascii_uppercase()),
            }
            i += 3;
            continue;
        }
        let len = url[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&url[i..i + len]);
        i += len;
    }
    out
}

/// A feed fetched at `asked` that answered from `fetched` (after redirects):
/// already subscribed when the config names the feed it ended at.
fn refuse_redirected(
    text: &str,
    cfg: &Config,
    moved: &[Moved<'_>],
    asked: &Url,
    fetched: &Url,
    canon: &Canon,
) -> Result<(), Failure> {
    if fetched == asked {
        return Ok(());
    }
    // (An alias that redirects to where a configured feed moved.)
    refuse_moved_target(text, cfg, moved, fetched, canon)?;
    match same_feed(cfg, fetched, canon) {
        Some(f) => Err(Failure::Usage(format!(
            "already subscribed: {asked} redirects to {fetched}, the feed `{}` at {}:{}",
            f.url.get_ref().1,
            cfg.source.display(),
            edit::line_of(text, f.url.span().start)
        ))),
        None => Ok(()),
    }
}

/// A feed the config names that the store fetches elsewhere: (where, that
/// address's canonical URL, the configured feed).
pub type Moved<'c> = (String, String, &'c config::FeedConfig);

/// Where feeds the config names now answer, after a permanent redirect the
/// store followed (`feeds.fetch_url`, shown by `feedloom feeds` as `[moved
/// to URL]`): (the target, its canonical URL, the configured feed). Reads
/// the store (SQLite) only; a store that cannot be read gives none.
pub fn moved_targets<'c>(cfg: &'c Config, canon: &Canon) -> Vec<Moved<'c>> {
    if cfg.store.url.is_some() || !cfg.store.path.is_file() {
        return Vec::new();
    }
    let Ok(store) = crate::store::Store::open_read_only(&cfg.store.path) else {
        return Vec::new();
    };
    let Ok(rows) = store.feed_summaries() else {
        return Vec::new();
    };
    rows.into_iter()
        .filter_map(|row| {
            let to = row.moved_to?;
            let from = Url::parse(&row.url).ok()?;
            let f = same_feed(cfg, &from, canon)?;
            let key = feed_key(&to, canon);
            Some((to, key, f))
        })
        .collect()
}

/// `url` is where a feed the config names now answers (see
/// [`moved_targets`]): a second row would fetch the same feed twice.
fn refuse_moved_target(
    text: &str,
    cfg: &Config,
    moved: &[Moved<'_>],
    url: &Url,
    canon: &Canon,
) -> Result<(), Failure> {
    let key = feed_key(url.as_str(), canon);
    match moved.iter().find(|(_, k, _)| *k == key) {
        Some((to, _, f)) => Err(Failure::Usage(format!(
            "already subscribed: the feed `{}` at {}:{} moved to {to} (a permanent \
             redirect), where it is fetched now; to name it by its new address, replace \
             its URL in the config (its items and stories stay)",
            f.url.get_ref().1,
            cfg.source.display(),
            edit::line_of(text, f.url.span().start)
        ))),
        None => Ok(()),
    }
}

fn refuse_duplicate(text: &str, cfg: &Config, url: &Url, canon: &Canon) -> Result<(), Failure> {
    match same_feed(cfg, url, canon) {
        Some(f) => Err(Failure::Usage(format!(
            "already subscribed: {url} is the feed `{}` at {}:{}",
            f.url.get_ref().1,
            cfg.source.display(),
            edit::line_of(text, f.url.span().start)
        ))),
        None => Ok(()),
    }
}

/// One GET of `url` without validators; the error is one line naming the URL.
/// `given` is the URL the person running `add` named, as the config would: its
/// host is trusted like a configured feed's (private addresses included); a
/// feed the page declares elsewhere is not (a page's `<link>` to a private
/// address, such as cloud metadata, is refused as a redirect there is).
async fn get(
    fetcher: &Fetcher,
    url: &Url,
    given: &Url,
    access: &Arc<Access>,
) -> Result<Fetched, String> {
    // (Its credentials go to the given URL's host only.)
    let origin = Origin::configured(given, access.clone());
    match fetcher.fetch(url, &Validators::default(), &origin).await {
        Ok(FetchOutcome::Fetched(f)) => Ok(*f),
        Ok(FetchOutcome::NotModified { status, .. }) => Err(format!(
            "{url} answered {status} Not Modified to a request without validators"
        )),
        Err(e) => Err(chain(&e)),
    }
}

fn parse_feed(f: &Fetched, limits: Limits) -> Result<Document, String> {
    parse::parse(&f.body, f.charset.as_deref(), &f.final_url, limits).map_err(|e| chain(&e))
}

/// A page that is not a feed, and what is needed to look for its feeds.
struct Found<'a> {
    fetcher: &'a Fetcher,
    page: &'a Fetched,
    given: &'a Url,
    access: &'a Arc<Access>,
    limits: Limits,
}

impl Found<'_> {
    /// The feed `c`, one the page declares, fetched and read: (its URL as
    /// declared, the document, where it answered, whether it moved for good).
    async fn take(&self, c: &discover::Candidate) -> Result<(Url, Document, Url, bool), Failure> {
        let Found {
            fetcher,
            given,
            access,
            limits,
            ..
        } = *self;
        // Credentials the page writes in the feed's URL on its own host
        // go with every request there, as a configured feed's do (they
        // went with the first only: a feed that moved answered 401).
        let (clean, own) = config::split_credentials(&c.url);
        let (url, access) = match own {
            Some(auth) if clean.origin() == given.origin() => {
                let own = Access {
                    headers: access.headers.clone(),
                    auth: Some(auth),
                };
                (clean, Arc::new(own))
            }
            _ => (c.url.clone(), access.clone()),
        };
        let f = get(fetcher, &url, given, &access).await.map_err(|e| {
            Failure::Runtime(format!(
                "{given} declares the feed {}, but {e}",
                config::access::redact_userinfo(c.url.as_str())
            ))
        })?;
        let doc = parse_feed(&f, limits).map_err(|e| {
            Failure::Usage(format!(
                "{given} declares {} as its feed, but it is not one: {e}",
                config::access::redact_userinfo(c.url.as_str())
            ))
        })?;
        let moved = f.redirect.as_ref().is_some_and(|r| r.permanent);
        // (And where it moved to on that host is written with them.)
        let at = Url::parse(&with_userinfo_of(c.url.as_str(), &url, &f.final_url))
            .unwrap_or(f.final_url);
        Ok((c.url.clone(), doc, at, moved))
    }

    /// The feed a page leads to: a declared one (chosen), else the first usual
    /// path that is a feed; with the URL it answered from (after redirects).
    async fn discover(
        &self,
        not_feed: &str,
        args: &AddArgs,
        interactive: bool,
        out: &mut dyn Write,
    ) -> Result<(Url, Document, Url, bool), Failure> {
        let Found {
            fetcher,
            page,
            given,
            access,
            limits,
        } = *self;
        // (Whatever its Content-Type says: pages are served as text/plain,
        // octet-stream or nothing, in UTF-16, after long banners.)
        let looks_like_html = discover::looks_like_html(page.content_type.as_deref(), &page.body);
        let found = discover::alternates(&page.body, page.charset.as_deref(), &page.final_url);
        // Feed links that cannot be fetched are named, not offered (they
        // went without a word, and a page's link to a cloud metadata address
        // was taken by default, and failed, while another was fine).
        let mut left_out: Vec<String> = found
            .left_out
            .iter()
            .map(|(h, why)| format!("  {} ({why})", super::terminal_safe(h)))
            .collect();
        let declared: Vec<discover::Candidate> = found
            .found
            .into_iter()
            .filter(|c| {
                let refused = (c.url.origin() != given.origin())
                    .then(|| fetcher.refuses_address(&c.url))
                    .flatten();
                if let Some(reason) = refused {
                    left_out.push(format!(
                        "  {} (refused: {reason}; `fetch.allow_private_networks` allows such addresses)",
                        crate::error::quoted(&config::access::redact_userinfo(c.url.as_str()), 200)
                    ));
                }
                refused.is_none()
            })
            .collect();
        // (At most ten named: a page of thousands printed them all.)
        let named = left_out.len().min(10);
        let more = left_out.len() - named + found.more_left_out;
        if named > 0 {
            let more = match more {
                0 => String::new(),
                n => format!("\n  and {n} more"),
            };
            say(
                out,
                &format!(
                    "{given} declares feed links feedloom leaves out:\n{}{more}",
                    left_out[..named].join("\n")
                ),
            )?;
        }
        if !declared.is_empty() {
            let i = choose(&declared, given, args.pick, interactive, out)?;
            // Taken by default (no --pick, no terminal): a feed that fails
            // gives way to the next one the page declares, and is said (a
            // link to a host that resolves to a private address, or a dead
            // one, ended the add while the page's real feed was fine).
            let auto = args.pick.is_none() && !interactive;
            let last = if auto { declared.len() - 1 } else { i };
            for (k, c) in declared.iter().enumerate().take(last + 1).skip(i) {
                match self.take(c).await {
                    Ok(found) => return Ok(found),
                    Err(e) if k < last => say(
                        out,
                        &format!(
                            "{}: {}; taking {} instead",
                            k + 1,
                            super::terminal_safe(e.message()),
                            k + 2
                        ),
                    )?,
                    Err(e) => return Err(e),
                }
            }
        }
        if !looks_like_html {
            return Err(Failure::Usage(format!(
                "{given} is neither a feed nor an HTML page to look for feeds in: {not_feed}"
            )));
        }
        if args.pick.is_some_and(|p| p > 1) {
            return Err(Failure::Usage(format!(
                "--pick {}: {given} declares no feeds to choose from",
                args.pick.unwrap_or(0)
            )));
        }
        let mut tried = Vec::new();
        for url in discover::common_paths(&page.final_url) {
            match get(fetcher, &url, given, access).await {
                Ok(f) => match parse_feed(&f, limits) {
                    Ok(doc) => {
                        say(
                            out,
                            &format!("{given} declares no feed; found one at {url}"),
                        )?;
                        let moved = f.redirect.as_ref().is_some_and(|r| r.permanent);
                        return Ok((url, doc, f.final_url, moved));
                    }
                    Err(e) => tried.push(format!("  {url}: {e}")),
                },
                Err(e) => tried.push(format!("  {url}: {e}")),
            }
        }
        let declares = match left_out.is_empty() {
            true => "declares no feed (<link rel=\"alternate\"> of type RSS, Atom or JSON Feed)",
            false => "declares no feed feedloom can fetch (the links left out are named above)",
        };
        Err(Failure::Usage(format!(
            "no feed found at {given}: it is an HTML page that {declares}, and none of the usual \
         paths is a feed:\n{}",
            tried.join("\n")
        )))
    }
}

/// Which declared feed to take: `--pick N`, else the user's answer on a
/// terminal, else the first. Lists them when there are several.
fn choose(
    found: &[Candidate],
    given: &Url,
    pick: Option<usize>,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<usize, Failure> {
    if let Some(p) = pick
        && p > found.len()
    {
        return Err(Failure::Usage(format!(
            "--pick {p}: {given} declares {} feed{}",
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        )));
    }
    if found.len() == 1 {
        return Ok(0);
    }
    let mut list = format!("{given} declares {} feeds:", found.len());
    for (i, c) in found.iter().enumerate() {
        list.push_str(&format!(
            "\n  {}. {} ({}) {}",
            i + 1,
            c.title.as_deref().unwrap_or("(untitled)"),
            c.kind.name(),
            c.url
        ));
    }
    say(out, &list)?;
    let i = match pick {
        Some(p) => p - 1,
        None if interactive => {
            // (The question is asked on the terminal: the list too, when
            // stdout goes elsewhere, else the prompt asked blind.)
            if !std::io::stdout().is_terminal() {
                crate::errln!("{}", super::terminal_safe(&list));
            }
            prompt(found.len(), &mut std::io::stdin().lock())?
        }
        None => {
            say(out, "taking 1 (pass --pick N to take another)")?;
            0
        }
    };
    Ok(i)
}

/// Asks on stderr which of `n` feeds to take; Enter takes 1, end of input
/// (Ctrl-D) takes none: nothing is added (it subscribed feed 1).
fn prompt(n: usize, input: &mut dyn std::io::BufRead) -> Result<usize, Failure> {
    loop {
        crate::err!("which one? [1-{n}, Enter for 1] ");
        let mut line = String::new();
        let read = input
            .read_line(&mut line)
            .map_err(|e| Failure::Runtime(format!("cannot read the answer: {e}")))?;
        let answer = line.trim();
        // (Blank text ended by end of input, not by Enter: ` ` then Ctrl-D
        // twice took feed 1.)
        if read == 0 || (answer.is_empty() && !line.ends_with('\n')) {
            crate::errln!();
            return Err(Failure::Usage(
                "no feed chosen (end of input): nothing added; pass --pick N to choose one".into(),
            ));
        }
        if answer.is_empty() {
            return Ok(0);
        }
        match answer.parse::<usize>() {
            Ok(k) if (1..=n).contains(&k) => return Ok(k - 1),
            _ => crate::errln!("answer a number from 1 to {n}"),
        }
    }
}

/// Whether to ask the user when a page declares several feeds.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_takes_a_number_or_enter_and_end_of_input_takes_nothing() {
        let answer = |text: &str| prompt(3, &mut std::io::Cursor::new(text.to_string()));
        assert_eq!(answer("2\n").ok(), Some(1));
        assert_eq!(answer("\n").ok(), Some(0));
        assert_eq!(answer("9\nx\n3\n").ok(), Some(2));
        match answer("") {
            Err(Failure::Usage(m)) => assert!(m.contains("nothing added"), "{m}"),
            other => panic!("end of input chose {:?}", other.ok()),
        }
        assert!(answer("7\n").is_err(), "a wrong answer then end of input");
        assert!(answer(" ").is_err(), "a space then end of input");
        assert!(answer("x\n \t").is_err(), "blanks then end of input");
        assert_eq!(answer("2").ok(), Some(1), "a number then end of input");
    }

    #[test]
    fn escapes_of_unreserved_characters_are_the_characters() {
        assert_eq!(
            unreserved_decoded("https://e.org/feed/%6Fne%2fx%7E?q=%41%20b"),
            "https://e.org/feed/one%2Fx~?q=A%20b"
        );
        assert_eq!(unreserved_decoded("https://e.org/é%4"), "https://e.org/é%4");
    }

    #[test]
    fn credentials_go_only_to_the_same_scheme_host_and_port() {
        let given = Url::parse("https://site.example/").unwrap();
        let written = "https://ann:pw@site.example/";
        let same = Url::parse("https://site.example/feed.xml").unwrap();
        assert_eq!(
            with_userinfo_of(written, &given, &same),
            "https://ann:pw@site.example/feed.xml"
        );
        for other in [
            "http://site.example/feed.xml",
            "https://site.example:8443/feed.xml",
            "https://feeds.example/feed.xml",
        ] {
            let url = Url::parse(other).unwrap();
            assert_eq!(with_userinfo_of(written, &given, &url), other);
        }
        // An http address redirected to https on the same host: the fetch
        // sent them, and the config keeps them.
        let given = Url::parse("http://site.example/feed").unwrap();
        let written = "http://ann:pw@site.example/feed";
        let upgraded = Url::parse("https://site.example/feed").unwrap();
        assert_eq!(
            with_userinfo_of(written, &given, &upgraded),
            "https://ann:pw@site.example/feed"
        );
        let elsewhere = Url::parse("https://cdn.example/feed").unwrap();
        assert_eq!(
            with_userinfo_of(written, &given, &elsewhere),
            "https://cdn.example/feed"
        );
    }
}
