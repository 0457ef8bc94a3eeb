//! Renderings of one story list: Atom 1.0 ([`atom`]), RSS 2.0 ([`rss`]), JSON
//! Feed 1.1 ([`json`]) and the river page ([`html`]), plus atomic output files.
//!
//! Rendering is pure: the same stories give the same bytes (no "now" in the output),
//! so a file is rewritten, and an HTTP ETag changes, only when the stories did.
//! The one exception is the river page the daemon serves, whose "5 minutes ago"
//! needs "now": [`RenderedFile::stale_at`] says when to render it again.

pub mod atom;
mod budget;
pub mod clean;
pub mod html;
pub mod json;
mod nesting;
pub mod rss;

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::config::{Format, OutputConfig};
use crate::error::StoreError;
use crate::store::Reader;
use crate::store::queries::{Story, StoryQuery};

/// What every format needs about the merged feed itself.
#[derive(Debug, Clone)]
pub struct FeedInfo {
    pub name: String,
    pub title: String,
    /// The output's `link` (its home page), when the config gives one.
    pub link: Option<String>,
    /// Where the output is published, ending in `/`: the self links are
    /// `BASE/NAME.EXT`, the river page `BASE/NAME.html`.
    pub base: url::Url,
    /// When the output last changed (see [`last_change`]): RSS `lastBuildDate`
    /// and Atom's feed-level `updated`.
    pub updated: i64,
    /// Whether the output has a river page (`html` in its formats).
    pub river: bool,
}

impl FeedInfo {
    /// The output's own URL in `format`: `BASE/NAME.EXT`.
    pub fn self_url(&self, format: Format) -> String {
        self.below(&format!("{}.{}", self.name, format.extension()))
    }

    /// The output's river page: `BASE/NAME.html`.
    pub fn river_url(&self) -> String {
        self.below(&format!("{}.html", self.name))
    }

    /// The output's home page: its `link`, else its river page, else (an
    /// output without one) the index page of the outputs, `BASE/`.
    pub fn home_url(&self) -> String {
        match &self.link {
            Some(link) => link.clone(),
            None if self.river => self.river_url(),
            None => self.base.to_string(),
        }
    }

    fn below(&self, file: &str) -> String {
        // Output names are letters, digits, `-` and `_`: always a relative path.
        self.base
            .join(file)
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{file}", self.base))
    }
}

/// When an output showing `stories` last changed: the latest time feedloom
/// first saw or saw a change to one of them (0 for no stories). Derived from
/// the stories, never from the clock, so rendering stays deterministic; a
/// story's own claimed dates do not count (a feed may claim any date).
pub fn last_change(stories: &[Prepared]) -> i64 {
    stories.iter().map(Prepared::seen_at).max().unwrap_or(0)
}

/// A story ready for rendering: its links checked, its HTML sanitised (see
/// [`prepare`]).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub story: Story,
    pub html: Option<String>,
    /// The sanitised summary, when the story has content too.
    pub summary: Option<String>,
}

impl Prepared {
    /// The story's updated time: its own; else, once feedloom has seen it
    /// change, when it did; else its published time (a JSON Feed item without
    /// `date_modified` read as updated when it was fetched); else when
    /// feedloom first saw it.
    pub fn updated(&self) -> i64 {
        let s = &self.story;
        // A change feedloom stored after it first saw the story counts even
        // when the feed's own date did not move (RSS has no updated date:
        // feed readers keyed on id and updated never saw a correction).
        let seen = (s.changed_at > s.first_seen_at).then_some(s.changed_at);
        let t = match (s.updated_at, seen) {
            (Some(own), Some(seen)) => own.max(seen),
            (Some(own), None) => own,
            (None, Some(seen)) => seen,
            (None, None) => s.published_at.unwrap_or(s.changed_at),
        };
        t.min(self.latest_true())
    }

    /// The story's published time: its own, else its updated time, else when
    /// feedloom first saw it.
    pub fn published(&self) -> i64 {
        self.story
            .published_at
            .or(self.story.updated_at)
            .unwrap_or(self.story.first_seen_at)
            .min(self.latest_true())
    }

    /// Whether [`Prepared::published`] is a date the feed gave (not when
    /// feedloom first saw the story: the feed gave none, or one later than
    /// it can be).
    pub fn dated_by_its_feed(&self) -> bool {
        self.story
            .published_at
            .or(self.story.updated_at)
            .is_some_and(|t| t <= self.latest_true())
    }

    /// When feedloom last saw the story new or changed.
    pub fn seen_at(&self) -> i64 {
        self.story.first_seen_at.max(self.story.changed_at)
    }

    /// The latest time a story's dates can truly say: when feedloom last saw
    /// it new or changed. A feed's date past it (`31 Dec 9999`, next year)
    /// is published as that time: readers that sort by date kept such a
    /// story above every other for good.
    fn latest_true(&self) -> i64 {
        // (A story never seen, as tests build them: no bound.)
        match self.seen_at() {
            0 => i64::MAX,
            t => t,
        }
    }
}

/// The body a reader reads, and the summary beside it, from a story's
/// sanitised content (else summary) and summary (when it has content too):
///
/// * content that shows no words (`<p></p>`, `&nbsp;`, a lone picture) beside
///   a summary that has some gives way to the summary, after the content's
///   picture when the summary shows none (the summary was shown nowhere);
/// * text without any markup (a plain-text body, escaped) keeps its
///   paragraphs and line breaks as `<p>` and `<br>` (HTML runs lines
///   together: a JSON Feed `content_text` read as one paragraph).
///
/// At output time, so that what is stored (and every key and hash) is as
/// the feed gave it.
fn readable(html: Option<String>, summary: Option<String>) -> (Option<String>, Option<String>) {
    let (html, summary) = match (html, summary) {
        (Some(c), Some(s)) if !has_words(&c) && has_words(&s) => {
            // (A bare link, an embedded video's, stays above the words,
            // whatever they show: nothing of the content is dropped.)
            let bare_link = matches!(without_bare_links(&c), std::borrow::Cow::Owned(_));
            // (A summary that is the same address, as text, says it again.)
            let same_text =
                || crate::parse::strip_tags(&c).trim() == crate::parse::strip_tags(&s).trim();
            let body = if bare_link && same_text() {
                c
            } else if bare_link || (shows_media(&c) && !shows_media(&s)) {
                format!("{c}\n{s}")
            } else {
                s
            };
            (Some(body), None)
        }
        other => other,
    };
    (html.map(text_paragraphs), summary.map(text_paragraphs))
}

/// Whether an HTML fragment shows any words: a bare link (its text its
/// address, as an embedded video's becomes) is none, so that a video's
/// description still stands in for a body that is only the video (RSS, with
/// one field, lost it).
fn has_words(html: &str) -> bool {
    crate::parse::strip_tags(&without_bare_links(html))
        .chars()
        .any(|c| !c.is_whitespace())
}

/// `html` without the text of links whose text is their address.
fn without_bare_links(html: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(at) = html[from..].find("<a href=\"").map(|i| from + i) {
        let value = at + "<a href=\"".len();
        from = value;
        let Some(end) = html[value..].find('"').map(|i| value + i) else {
            break;
        };
        let href = &html[value..end];
        let Some(gt) = html[end..].find('>').map(|i| end + i + 1) else {
            break;
        };
        if html[gt..].starts_with(href) && html[gt + href.len()..].starts_with("</a>") {
            out.push_str(&html[copied..gt]);
            copied = gt + href.len();
            from = copied;
        }
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Whether an HTML fragment shows a picture, a video, a sound or a frame.
fn shows_media(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    [
        "<img", "<video", "<audio", "<iframe", "<picture", "<svg", "<object", "<embed",
    ]
    .iter()
    .any(|t| lower.contains(t))
}

/// HTML without any markup and with line breaks (a plain-text body) as
/// paragraphs (parted by a blank line) and `<br>`; anything else as it is.
fn text_paragraphs(html: String) -> String {
    if html.contains('<') || !html.trim().contains('\n') {
        return html;
    }
    let mut out = String::with_capacity(html.len() + 32);
    let mut lines: Vec<&str> = Vec::new();
    let mut flush = |lines: &mut Vec<&str>| {
        if lines.is_empty() {
            return;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("<p>");
        out.push_str(&lines.join("<br>\n"));
        out.push_str("</p>");
        lines.clear();
    };
    for line in html.lines() {
        match line.trim() {
            "" => flush(&mut lines),
            _ => lines.push(line.trim_end()),
        }
    }
    flush(&mut lines);
    out
}

/// Readies stories for every format: links checked and HTML sanitised once (see
/// [`clean`]: no scripts, event handlers or script URLs; relative URLs resolved
/// against the story's link only when it is http(s)).
pub fn prepare(stories: Vec<Story>) -> Vec<Prepared> {
    HtmlCache::default().prepare(stories)
}

/// Sanitised HTML kept from one rendering to the next (the daemon re-renders
/// after every change, and most stories have not changed). Holds only what the
/// last rendering used.
#[derive(Debug, Default)]
pub struct HtmlCache {
    /// (link, raw HTML) → sanitised HTML.
    last: std::collections::HashMap<(Option<String>, String), String>,
    next: std::collections::HashMap<(Option<String>, String), String>,
}

impl HtmlCache {
    /// Like [`prepare`], reusing what earlier renderings sanitised.
    pub fn prepare(&mut self, stories: Vec<Story>) -> Vec<Prepared> {
        stories
            .into_iter()
            .map(|mut story| {
                let had_link = story.link.is_some();
                let secrets = clean::check_story(&mut story);
                // Relative URLs resolve against the story's link, else (a
                // story without one) against the feed's own URL: they were
                // dropped, and readers got `<img alt="graph">`. (Not when
                // its link was refused: a script URL names no base.)
                let base = match had_link {
                    true => story.link.clone(),
                    false => Some(story.source.feed_url.clone()),
                };
                let mut html = story.html.as_ref().map(|raw| self.clean(&base, raw));
                let mut summary = story.summary.as_ref().map(|raw| self.clean(&base, raw));
                for h in html.iter_mut().chain(summary.iter_mut()) {
                    clean::hide_in_clean(h, &secrets);
                }
                let (html, summary) = readable(html, summary);
                Prepared {
                    story,
                    html,
                    summary,
                }
            })
            .collect()
    }

    /// `raw` sanitised against `link`, from this pass, the last one, or anew.
    fn clean(&mut self, link: &Option<String>, raw: &str) -> String {
        let key = (link.clone(), raw.to_string());
        if let Some(clean) = self.next.get(&key) {
            return clean.clone();
        }
        let clean = self
            .last
            .remove(&key)
            .unwrap_or_else(|| sanitize(raw, link.as_deref()));
        self.next.insert(key, clean.clone());
        clean
    }

    /// Ends a rendering pass: entries it did not use are dropped.
    pub fn finish_pass(&mut self) {
        self.last = std::mem::take(&mut self.next);
    }
}

pub use clean::sanitize;

/// The stories an output shows at time `now`.
pub fn query_for(out: &OutputConfig, now: i64, limit: Option<usize>) -> StoryQuery {
    StoryQuery {
        limit: limit.unwrap_or(out.max_items),
        since: out.window_secs().map(|w| now.saturating_sub(w)),
        tags: out.tags.clone(),
        dedup: out.dedup,
        updates: out.updates,
        before: None,
        min_sources: out.min_sources,
    }
}

/// Whether `story` may be within `out`'s `window` at `now` (always, without
/// one): by the time the output orders it by, or `arrival`, when its newest
/// item came (a story reaches an output of tags, or of `min_sources`, when
/// the item that brings it in comes: a story first seen long before, which
/// the output shows now, was judged out of its window).
pub fn in_window(
    out: &OutputConfig,
    story: &crate::store::queries::Story,
    now: i64,
    arrival: Option<i64>,
) -> bool {
    // (Only such an output: one of every feed shows a story from when it
    // was first seen, whoever carries it since, and search found there a
    // story the output had dropped, by a copy that came later.)
    let arrival = arrival.filter(|_| !out.tags.is_empty() || out.min_sources > 1);
    out.window_secs().is_none_or(|w| {
        let at = crate::store::queries::Cursor::after(story, out.updates).at;
        at.max(arrival.unwrap_or(i64::MIN)) >= now.saturating_sub(w)
    })
}

/// Most candidate stories one rendering looks at when rules hide some: a
/// filter that hides nearly everything costs a bounded scan, not the store.
pub const MAX_SCAN: usize = 10_000;

/// The media type outputs give an enclosure whose feed named none (RSS and
/// JSON Feed require one).
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The stories of `q` that `sel` keeps: with rules, read in keyset chunks
/// (each continuing where the last ended) until `q.limit` pass, the candidates
/// run out, or [`MAX_SCAN`] were looked at.
pub fn select_stories(
    store: &dyn Reader,
    q: &StoryQuery,
    sel: &crate::filter::Selection,
) -> Result<Vec<Story>, StoreError> {
    Ok(select_stories_scanned(store, q, sel)?.0)
}

/// Where a scan of candidate stories stopped at [`MAX_SCAN`] with older
/// ones left, and how many it looked at.
pub type ScanStop = (crate::store::queries::Cursor, usize);

/// [`select_stories`], and where the scan stopped when it stopped at
/// [`MAX_SCAN`] candidates with older ones left (a page links on from there).
pub fn select_stories_scanned(
    store: &dyn Reader,
    q: &StoryQuery,
    sel: &crate::filter::Selection,
) -> Result<(Vec<Story>, Option<ScanStop>), StoreError> {
    if !sel.has_rules() {
        return Ok((store.stories(q)?, None));
    }
    let mut out = Vec::with_capacity(q.limit.min(1024));
    let mut chunk = q.clone();
    chunk.limit = q.limit.saturating_mul(2).clamp(64, 1000);
    let mut scanned = 0;
    loop {
        let batch = store.stories(&chunk)?;
        let n = batch.len();
        chunk.before = batch
            .last()
            .map(|s| crate::store::queries::Cursor::after(s, q.updates));
        scanned += n;
        for s in batch {
            if let Some(s) = sel.shown(s) {
                out.push(s);
                if out.len() >= q.limit {
                    return Ok((out, None));
                }
            }
        }
        if n < chunk.limit || scanned >= MAX_SCAN {
            if n == chunk.limit {
                tracing::debug!(scanned, "output rules: candidate limit reached");
                return Ok((out, chunk.before.map(|c| (c, scanned))));
            }
            return Ok((out, None));
        }
        chunk.limit = (chunk.limit * 2).min(2000);
    }
}

/// Renders one output in one format from the store.
/// Notes the tokens of the addresses feeds moved to for good (a permanent
/// redirect to `…?token=…`): the outputs hide them where items repeat them,
/// as they hide the configured URL's (they published them, while the log
/// hid the moved address's).
fn note_moved_feeds(store: &dyn Reader) -> Result<(), StoreError> {
    for (url, moved) in store.moved_feeds()? {
        crate::urls::note_sent_secrets(&url, crate::urls::secret_values(&moved));
    }
    Ok(())
}

pub fn render_output(
    store: &dyn Reader,
    out: &OutputConfig,
    format: Format,
    now: i64,
    limit: Option<usize>,
) -> Result<Vec<u8>, StoreError> {
    note_moved_feeds(store)?;
    let stories = prepare(select_stories(
        store,
        &query_for(out, now, limit),
        &out.selection,
    )?);
    let mut info = info_for(out, &stories);
    if stories.is_empty() {
        info.updated = info.updated.max(emptied_at(store, out, now)?);
    }
    Ok(match format {
        Format::Html => html::render(&info, &out.formats, &html::file_base(out), &stories),
        _ => render(format, &info, &stories),
    })
}

/// When an output with a `window` that shows nothing last changed: when its
/// newest story left the window (0 when it never showed one). Its `updated`
/// went back to 1970 when the window emptied.
fn emptied_at(store: &dyn Reader, out: &OutputConfig, now: i64) -> Result<i64, StoreError> {
    let Some(w) = out.window_secs() else {
        return Ok(0);
    };
    let mut q = query_for(out, now, Some(1));
    q.since = None;
    Ok(select_stories(store, &q, &out.selection)?
        .first()
        .map(|s| {
            crate::store::queries::Cursor::after(s, out.updates)
                .at
                .saturating_add(w)
                .saturating_add(1)
                .min(now)
        })
        .unwrap_or(0))
}

/// What the formats say about `out` when it shows `stories`.
pub fn info_for(out: &OutputConfig, stories: &[Prepared]) -> FeedInfo {
    FeedInfo {
        name: out.name().to_string(),
        title: out.title(),
        link: out.link.as_ref().map(|l| l.to_string()),
        base: out
            .public_base
            .clone()
            .unwrap_or_else(|| crate::config::ServerConfig::default().public_base()),
        updated: last_change(stories),
        river: out.formats.contains(&Format::Html),
    }
}

/// One rendering of one output in one format.
#[derive(Debug, Clone)]
pub struct RenderedFile {
    /// `NAME.EXT`, its HTTP path.
    pub name: String,
    pub format: Format,
    pub bytes: Vec<u8>,
    /// Where the output's file goes, if it has one.
    pub path: Option<PathBuf>,
    /// Whether the server serves these bytes (the page's file differs from the
    /// page served: see [`html`]).
    pub served: bool,
    /// When these bytes turn wrong without any change in the store (the
    /// oldest story shown leaves the output's `window`; a served river page's
    /// relative times); `None`: never.
    pub stale_at: Option<i64>,
}

/// Renders every output in every format (`only_files`: only outputs that have a
/// `path`). Reads the store; writes nothing (see [`write_files`]).
pub fn render_all(
    store: &dyn Reader,
    outputs: &[OutputConfig],
    now: i64,
    cache: &mut HtmlCache,
    only_files: bool,
) -> Result<Vec<RenderedFile>, StoreError> {
    note_moved_feeds(store)?;
    let mut all = Vec::new();
    for out in outputs.iter().filter(|o| !only_files || o.path.is_some()) {
        let page = out.formats.contains(&Format::Html);
        let mut query = query_for(out, now, None);
        if page {
            // One more than shown: whether the page links to older stories.
            query.limit = query.limit.saturating_add(1);
        }
        let (selected, scan_stopped) = select_stories_scanned(store, &query, &out.selection)?;
        let mut stories = cache.prepare(selected);
        let older = stories.len() > out.max_items;
        stories.truncate(out.max_items);
        let mut info = info_for(out, &stories);
        if stories.is_empty() {
            info.updated = info.updated.max(emptied_at(store, out, now)?);
        }
        // The oldest story shown leaves the window one second after its
        // time + window: every format must be rendered again then.
        let leaves = out.window_secs().and_then(|w| {
            let at = crate::store::queries::Cursor::after(&stories.last()?.story, out.updates).at;
            Some(at.saturating_add(w).saturating_add(1))
        });
        for &format in &out.formats {
            let name = format!("{}.{}", out.name(), format.extension());
            let path = out.path.as_ref().map(|base| file_path(base, format));
            if format != Format::Html {
                all.push(RenderedFile {
                    name,
                    format,
                    bytes: render(format, &info, &stories),
                    path,
                    served: true,
                    stale_at: leaves,
                });
                continue;
            }
            if path.is_some() {
                let bytes = html::render(&info, &out.formats, &html::file_base(out), &stories);
                all.push(RenderedFile {
                    name: name.clone(),
                    format,
                    bytes,
                    path,
                    served: false,
                    stale_at: leaves,
                });
            }
            if !only_files {
                let page = crate::web::river::render(&crate::web::river::River {
                    info: &info,
                    feeds: &out.formats,
                    base: out.name(),
                    stories: &stories,
                    now: Some(now),
                    older: stories
                        .last()
                        .filter(|_| older)
                        .map(|p| crate::store::queries::Cursor::after(&p.story, out.updates))
                        .or(scan_stopped.map(|(c, _)| c)),
                    scan_stopped: scan_stopped.filter(|_| !older).map(|(_, n)| n),
                    paged: false,
                });
                all.push(RenderedFile {
                    name,
                    format,
                    bytes: page.html.into_bytes(),
                    path: None,
                    served: true,
                    stale_at: match (page.stale_at, leaves) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                });
            }
        }
    }
    cache.finish_pass();
    Ok(all)
}

/// Writes the files of the renderings that have a path, each only when its bytes
/// changed. A file that cannot be written is logged and named in the result
/// (`path: cause`); the others are still written.
pub fn write_files(rendered: &[RenderedFile]) -> Vec<String> {
    write_files_but(rendered, &[])
        .into_iter()
        .map(|(p, e)| format!("{}: {e}", p.display()))
        .collect()
}

/// [`write_files`], but for the files `waiting` names (those that could not
/// be written a moment ago, whose time to be tried again has not come):
/// each is left as it is and given back with its error then, unsaid (a
/// daemon rendering at every new story tried, and logged, a folder made a
/// file a dozen times a second). Gives back the files not written, with
/// why; those tried now are logged.
pub fn write_files_but(
    rendered: &[RenderedFile],
    waiting: &[(PathBuf, String)],
) -> Vec<(PathBuf, String)> {
    // One writer at a time in this process: they share each file's temp
    // name (`.NAME.PID.tmp`), and a daemon's stop rendered its outputs while
    // the writing of the render it had just cut off went on in its thread:
    // each removed the other's temp file, one's rename failed ("cannot write
    // output … No such file") and the other could move a half-written file
    // into place (found by a black-box round of PostgreSQL nodes).
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let mut failed = Vec::new();
    for r in rendered {
        let Some(path) = &r.path else {
            continue;
        };
        if let Some(w) = waiting.iter().find(|(p, _)| p == path) {
            failed.push(w.clone());
            continue;
        }
        if let Err(e) = write_if_changed(path, &r.bytes) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write output");
            failed.push((path.clone(), e.to_string()));
        }
    }
    failed
}

/// Renders prepared stories in a format.
pub fn render(format: Format, info: &FeedInfo, stories: &[Prepared]) -> Vec<u8> {
    match format {
        Format::Atom => atom::render(info, stories),
        Format::Rss => rss::render(info, stories),
        Format::Json => json::render(info, stories),
        Format::Html => html::render(info, &Format::all(), &info.name, stories),
    }
}

/// The files one output writes: `PATH.atom`, `PATH.rss`, `PATH.json`.
pub fn file_path(base: &Path, format: Format) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(format.extension());
    PathBuf::from(s)
}

/// Writes `bytes` to `path` atomically (temp file in the same folder, fsync,
/// rename, fsync of the folder), unless the file already holds exactly these
/// bytes. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    // A device, a pipe or a folder is never replaced by a file, nor read. A
    // link is replaced by the file, never written through: whoever may write
    // the output's folder could point it at the store, or the config.
    let is_link = check_replaceable(path)?;
    if !is_link && std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    if is_link {
        // (Said: the file the link named keeps its old contents.)
        tracing::warn!(
            path = %path.display(),
            "output path is a symbolic link: replaced by the file (a link is never written through; point the output's path at the target instead)"
        );
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| {
        let why = if dir.exists() && !dir.is_dir() {
            format!("{} is not a folder", dir.display())
        } else {
            format!("cannot create the folder {}: {e}", dir.display())
        };
        std::io::Error::new(e.kind(), why)
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(temp_name(&name, std::process::id()));
    // The file it replaces keeps its mode (a 0600 file of `?token=` URLs
    // became 0644); a link is replaced by a file with its target's mode.
    // And its owner and group, where this process may give them (root's
    // `poll` or `prune` made the service's 0640 files root's, and the web
    // server reading them through the group was refused); else its group.
    // Only a plain file's: a link's target (which whoever may write the
    // folder chooses) gave a root-owned setuid file to root's `poll`. And
    // never the setuid, setgid or sticky bits.
    let old = std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.file_type().is_file());
    let keep_mode = std::fs::metadata(path).ok().map(|m| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(m.permissions().mode() & 0o777)
    });
    let result = (|| {
        let mut f = crate::fresh_file(&tmp, 0o666)?;
        if let Some(m) = &old {
            use std::os::unix::fs::MetadataExt;
            if std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid())).is_err() {
                let _ = std::os::unix::fs::fchown(&f, None, Some(m.gid()));
            }
        }
        if let Some(mode) = keep_mode {
            f.set_permissions(mode)?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(true)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod write_tests {
    use std::os::unix::fs::PermissionsExt;

    /// A file waiting for its retry is neither written nor tried (each
    /// render tried it, and logged it, a dozen times a second); the others
    /// are written, and a failure is given back with its path.
    #[test]
    fn files_waiting_for_their_retry_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| super::RenderedFile {
            name: format!("{name}.atom"),
            format: crate::config::Format::Atom,
            bytes: b"<feed/>".to_vec(),
            path: Some(dir.path().join(format!("{name}.atom"))),
            served: true,
            stale_at: None,
        };
        std::fs::create_dir(dir.path().join("blocked.atom")).unwrap();
        let rendered = [file("waits"), file("writes"), file("blocked")];
        let waiting = [(dir.path().join("waits.atom"), "no room".to_string())];
        let failed = super::write_files_but(&rendered, &waiting);
        assert!(!dir.path().join("waits.atom").exists());
        assert!(dir.path().join("writes.atom").is_file());
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert_eq!(
            failed[0],
            (dir.path().join("waits.atom"), "no room".to_string())
        );
        assert_eq!(failed[1].0, dir.path().join("blocked.atom"));
    }

    #[test]
    fn a_file_written_again_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feeds.opml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(super::write_if_changed(&path, b"new").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Its owner and group too, as root (root's `poll` made the
        // service's files root's).
        if unsafe { libc::geteuid() } == 0 {
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
            assert!(super::write_if_changed(&path, b"newer").unwrap());
            let m = std::fs::metadata(&path).unwrap();
            assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (65534, 65534, 0o600));
            // Not a link's target's: whoever may write the folder chooses
            // it (a link to a root-owned setuid file made one of the
            // output), and never a setuid bit.
            let suid = dir.path().join("suid");
            std::fs::write(&suid, "x").unwrap();
            std::os::unix::fs::chown(&suid, Some(65534), Some(65534)).unwrap();
            std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o6755)).unwrap();
            let via = dir.path().join("via.atom");
            std::os::unix::fs::symlink(&suid, &via).unwrap();
            assert!(super::write_if_changed(&via, b"new").unwrap());
            let m = std::fs::symlink_metadata(&via).unwrap();
            assert!(m.file_type().is_file());
            assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o755));
        }
        // A link (replaced, never written through) gives its target's mode.
        let target = dir.path().join("target.opml");
        std::fs::write(&target, "t").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.opml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(super::write_if_changed(&link, b"new").unwrap());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "t");
        let mode = std::fs::symlink_metadata(&link)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
        // A link into /proc (`/dev/stdout`'s target, standard output sent to
        // a file) is refused, not replaced.
        use std::os::fd::AsRawFd;
        let sent_to = std::fs::File::create(dir.path().join("sent.opml")).unwrap();
        let out = dir.path().join("stdout");
        std::os::unix::fs::symlink(format!("/proc/self/fd/{}", sent_to.as_raw_fd()), &out).unwrap();
        let err = super::write_if_changed(&out, b"new").unwrap_err();
        assert!(err.to_string().contains("a link the system keeps"), "{err}");
        assert!(
            std::fs::symlink_metadata(&out)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // So is a link to it, and one spelled with `..`.
        let chain = dir.path().join("chain");
        std::os::unix::fs::symlink(&out, &chain).unwrap();
        let dots = dir.path().join("dots");
        let up = "../".repeat(dir.path().components().count());
        std::os::unix::fs::symlink(format!("{up}proc/self/fd/{}", sent_to.as_raw_fd()), &dots)
            .unwrap();
        // And one through a link to the folder (`procdir/self/fd/N`).
        let procdir = dir.path().join("procdir");
        std::os::unix::fs::symlink("/proc", &procdir).unwrap();
        let via = dir.path().join("via");
        std::os::unix::fs::symlink(format!("procdir/self/fd/{}", sent_to.as_raw_fd()), &via)
            .unwrap();
        for link in [&chain, &dots, &via] {
            let err = super::write_if_changed(link, b"new").unwrap_err();
            assert!(err.to_string().contains("a link the system keeps"), "{err}");
            assert!(
                std::fs::symlink_metadata(link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }
    }
}

/// Whether `path` may be replaced whole (written beside, renamed over): an
/// error for a device (`/dev/null`), a pipe, a folder or a socket, which would
/// be replaced by a plain file, or read for ever. `Ok(true)` for a symbolic
/// link (the link is what is replaced).
pub fn check_replaceable(path: &Path) -> std::io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        // A link to a device or a pipe (`/dev/stdout`) is not replaced
        // either: the system's own link was made a plain file.
        Ok(m)
            if m.file_type().is_symlink()
                && std::fs::metadata(path).is_ok_and(|t| !t.is_file()) =>
        {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is a link to something that is not a plain file (a device, a pipe or a \
                     folder: /dev/stdout?); name a file (`export`, `export-opml`: or leave out \
                     --output to print)",
                    path.display()
                ),
            ))
        }
        // Nor a link the system keeps (in /dev, /proc, /sys) or one into
        // /proc or /dev: `/dev/stdout` with standard output sent to a file
        // names a plain file, and as root the system's own link was replaced
        // (every program's /dev/stdout then wrote into that file), the export
        // lost.
        Ok(m) if m.file_type().is_symlink() && system_link(path) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is a link the system keeps, or one into /proc or /dev (/dev/stdout?): never \
                 replaced; name a file (`export`, `export-opml`: or leave out --output to print)",
                path.display()
            ),
        )),
        Ok(m) if m.file_type().is_symlink() => Ok(true),
        Ok(m) if !m.file_type().is_file() => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is not a plain file (a device, a pipe or a folder); name a file",
                path.display()
            ),
        )),
        _ => Ok(false),
    }
}

/// Whether the link at `path` is in a folder of the system's (`/dev`,
/// `/proc`, `/sys`) or points into `/proc` or `/dev`.
fn system_link(path: &Path) -> bool {
    const SYSTEM: [&str; 3] = ["/dev", "/proc", "/sys"];
    let in_system = |p: &Path| SYSTEM.iter().any(|s| p.starts_with(s));
    let dir_of = |p: &Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    };
    if std::fs::canonicalize(dir_of(path)).is_ok_and(|d| in_system(&d)) {
        return true;
    }
    // Each link of the chain, relative ones against their folder, `..`
    // read (a link to a link, `../../proc/self/fd/1` and `/tmp/../proc/…`
    // were replaced).
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&at) else {
            return false;
        };
        let joined = match target.is_absolute() {
            true => target,
            false => std::fs::canonicalize(dir_of(&at))
                .unwrap_or_else(|_| dir_of(&at))
                .join(target),
        };
        let mut plain = PathBuf::new();
        for part in joined.components() {
            match part {
                std::path::Component::ParentDir => {
                    plain.pop();
                }
                std::path::Component::CurDir => {}
                other => plain.push(other),
            }
        }
        // (Its folders read too: a link through a link to /proc,
        // `procdir/self/fd/1`, was replaced.)
        if in_system(&plain) || std::fs::canonicalize(dir_of(&plain)).is_ok_and(|d| in_system(&d)) {
            return true;
        }
        at = plain;
    }
    false
}

/// The temp file [`write_if_changed`] writes `name` through: `.NAME.PID.tmp`.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.{pid}.tmp")
}

/// The PID in `file` if it is a temp file of [`write_if_changed`] for `name`.
fn temp_file_pid(file: &str, name: &str) -> Option<u32> {
    let pid = file
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether `file` is a temp file of [`write_if_changed`] (or of a backup or
/// config editor) for `name` whose process is gone (not this one, not running).
fn stale_temp(file: &str, name: &str) -> bool {
    temp_file_pid(file, name).is_some_and(|pid| pid != std::process::id() && !process_alive(pid))
}

/// Whether process `pid` still runs (as far as /proc shows; without /proc,
/// none is known to).
fn process_alive(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the temp files (`.NAME.PID.tmp`, and SQLite's `-journal`, `-wal`
/// and `-shm` beside one) that a killed `backup` or config editor left beside `path`, when
/// process PID no longer runs; nothing else is touched. Returns how many.
pub(crate) fn remove_stale_temps_beside(path: &Path) -> usize {
    let (dir, Some(name)) = (
        path.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
        path.file_name().and_then(|n| n.to_str()),
    ) else {
        return 0;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let temp = ["-journal", "-wal", "-shm"]
            .iter()
            .find_map(|s| file.strip_suffix(s))
            .unwrap_or(file);
        let stale = stale_temp(temp, name);
        if stale
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(
            path = %path.display(),
            removed,
            "removed temporary files left beside it by an earlier, killed run"
        );
    }
    removed
}

/// Removes the temp files a killed run left beside the outputs' files: only
/// `.NAME.PID.tmp` where NAME is a file of an output (any format) and PID a
/// process that no longer runs; nothing else in those folders is touched.
/// Returns how many it removed; logs them, and any it could not remove.
pub fn remove_stale_temp_files(outputs: &[OutputConfig]) -> usize {
    let mut by_dir: std::collections::BTreeMap<PathBuf, Vec<String>> = Default::default();
    for out in outputs {
        let Some(base) = &out.path else { continue };
        for format in Format::all() {
            let file = file_path(base, format);
            let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
                continue;
            };
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            by_dir
                .entry(dir.to_path_buf())
                .or_default()
                .push(name.to_string_lossy().into_owned());
        }
    }
    let mut removed = 0;
    for (dir, names) in by_dir {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // not created yet: nothing left there
        };
        let mut here = 0;
        for entry in entries.flatten() {
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            let stale = names.iter().any(|n| stale_temp(file, n));
            if !stale || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => here += 1,
                Err(e) => tracing::warn!(
                    path = %entry.path().display(),
                    error = %e,
                    "cannot remove a stale temporary output file"
                ),
            }
        }
        if here > 0 {
            tracing::info!(
                folder = %dir.display(),
                removed = here,
                "removed temporary output files left by an earlier run"
            );
        }
        removed += here;
    }
    removed
}

/// RFC 3339 in UTC: `2026-11-25T16:55:57Z`.
pub fn rfc3339(t: i64) -> String {
    writable(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 822 (as RFC 2822 writes it): `Wed, 25 Nov 2026 16:55:57 +0000`.
pub fn rfc822(t: i64) -> String {
    writable(t).to_rfc2822()
}

/// The time, moved into the years 0000-9999 that both formats can write (chrono
/// panics on others; a store may hold any integer).
fn writable(t: i64) -> DateTime<Utc> {
    const FIRST: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    DateTime::<Utc>::from_timestamp(t.clamp(FIRST, LAST), 0).unwrap_or_default()
}

/// An indented XML document written by `body`, with a final newline.
pub(crate) fn xml_document(
    body: impl FnOnce(&mut quick_xml::Writer<Vec<u8>>) -> std::io::Result<()>,
) -> Vec<u8> {
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    body(&mut w).expect("writing to a Vec cannot fail");
    let mut out = w.into_inner();
    out.push(b'\n');
    out
}

/// `<name>value</name>`, escaped and XML-safe.
pub(crate) fn text(
    w: &mut quick_xml::Writer<Vec<u8>>,
    name: &str,
    value: &str,
) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(quick_xml::events::BytesText::new(&xml_safe(value)))?;
    Ok(())
}

/// Text without the characters XML 1.0 forbids (most C0 controls, U+FFFE/U+FFFF).
pub fn xml_safe(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c < ' ' && c != '\t' && c != '\n' && c != '\r') || c == '\u{FFFE}' || c == '\u{FFFF}'
    };
    if s.chars().any(bad) {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// "Also in: A, B" as an HTML paragraph naming the other feeds of a story.
pub fn also_html(also: &[crate::store::queries::Source]) -> Option<String> {
    if also.is_empty() {
        return None;
    }
    let names: Vec<String> = also
        .iter()
        .map(|src| {
            let name = crate::parse::escape_html(&src.name());
            match &src.link {
                Some(l) => format!("<a href=\"{}\">{name}</a>", crate::parse::escape_html(l)),
                None => name,
            }
        })
        .collect();
    Some(format!("<p>Also in: {}</p>", names.join(", ")))
}

/// A story's title for outputs, as plain text without bidi controls or the
/// control characters XML forbids (so every format shows the same title): its
/// own, else the start of its text, else its (checked) link.
pub fn display_title(p: &Prepared) -> String {
    let t = title_text(p);
    match xml_safe(&t) {
        Cow::Borrowed(_) => t,
        Cow::Owned(clean) => clean,
    }
}

fn title_text(p: &Prepared) -> String {
    if let Some(t) = p.story.title.as_deref().filter(|t| !t.is_empty()) {
        return clean::plain_title(t).into_owned();
    }
    if let Some(h) = p.html.as_deref() {
        let text = crate::parse::strip_tags(h);
        let words: Vec<&str> = text
            .split_whitespace()
            .map(|w| w.trim_matches(clean::is_bidi_control))
            .filter(|w| !w.is_empty())
            .take(12)
            .collect();
        if !words.is_empty() {
            return clean::plain_title(&words.join(" ")).into_owned();
        }
    }
    p.story
        .link
        .clone()
        .unwrap_or_else(|| "(untitled)".to_string())
}

#[cfg(test)]
mod tests {
    use super::readable;

    /// Content that shows no words gives way to a summary with some, after
    /// its picture unless the summary shows one; plain text keeps its
    /// paragraphs; anything else is as it was.
    /// Two writers of one file in this process (a daemon's stop rendering
    /// while the render it cut off still writes in its thread) each write it
    /// whole: they shared its temp name, and one's rename failed, or moved
    /// the other's half-written file into place.
    #[test]
    fn two_writers_of_one_file_in_a_process_each_write_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.json");
        let file = |n: u8| RenderedFile {
            name: "all.json".into(),
            format: Format::Json,
            bytes: vec![n; 256 * 1024],
            path: Some(path.clone()),
            served: false,
            stale_at: None,
        };
        let writers: Vec<_> = (0..2u8)
            .map(|n| {
                let f = vec![file(b'a' + n)];
                std::thread::spawn(move || {
                    (0..100)
                        .flat_map(|_| write_files(&f))
                        .collect::<Vec<String>>()
                })
            })
            .collect();
        for w in writers {
            let failed = w.join().unwrap();
            assert!(failed.is_empty(), "{failed:?}");
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 256 * 1024);
        assert!(bytes.iter().all(|b| *b == bytes[0]), "a file of two writes");
    }

    #[test]
    fn the_body_a_reader_reads() {
        let r = |c: &str, s: Option<&str>| readable(Some(c.into()), s.map(String::from));
        let words = "<p>A caption in words.</p>";
        assert_eq!(r("<p></p>", Some(words)), (Some(words.into()), None));
        assert_eq!(r("&nbsp; ", Some(words)), (Some(words.into()), None));
        let img = "<img src=\"https://e.org/p.jpg\">";
        assert_eq!(r(img, Some(words)), (Some(format!("{img}\n{words}")), None));
        let both = format!("{img}{words}");
        assert_eq!(r(img, Some(&both)), (Some(both.clone()), None));
        assert_eq!(r(img, None), (Some(img.into()), None));
        // A body that is an embedded video's link: its description too.
        let video = "<p><a href=\"https://v.example/e/1\" rel=\"noopener noreferrer\">https://v.example/e/1</a></p>";
        assert_eq!(
            r(video, Some(words)),
            (Some(format!("{video}\n{words}")), None)
        );
        // Nor does a summary with a picture replace a video and its link.
        let clip = format!("<video src=\"https://v.example/c.mp4\"></video>{video}");
        let thumb = "<img src=\"https://v.example/t.jpg\"> Our trailer";
        assert_eq!(
            r(&clip, Some(thumb)),
            (Some(format!("{clip}\n{thumb}")), None)
        );
        // Nor shown twice, when its description is the same address.
        assert_eq!(
            r(video, Some("https://v.example/e/1")),
            (Some(video.into()), None)
        );
        let named = "<p><a href=\"https://v.example/e/1\">Watch the video</a></p>";
        assert_eq!(r(named, Some(words)).1.as_deref(), Some(words));
        assert_eq!(
            r("<p>Real</p>", Some(words)),
            (Some("<p>Real</p>".into()), Some(words.into()))
        );
        assert_eq!(
            r("One.\nsame &lt;para&gt;\n\n \nTwo.\n", None).0.as_deref(),
            Some("<p>One.<br>\nsame &lt;para&gt;</p>\n<p>Two.</p>")
        );
        assert_eq!(r("One line", None).0.as_deref(), Some("One line"));
        assert_eq!(r("<b>a</b>\n\nb", None).0.as_deref(), Some("<b>a</b>\n\nb"));
    }

    use super::*;

    #[test]
    fn sanitizer_removes_scripts_handlers_and_js_urls() {
        let dirty = r#"<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:alert(2)">x</a><img src="/i.png"></p>"#;
        let clean = sanitize(dirty, Some("https://example.org/post/1"));
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript:"), "{clean}");
        assert!(clean.contains("https://example.org/i.png"), "{clean}");
    }

    pub(super) fn story(uid: &str, html: &str) -> Story {
        use crate::store::queries::Source;
        Story {
            id: 1,
            uid: uid.into(),
            link: Some("https://e.org/p".into()),
            title: None,
            author: None,
            html: Some(html.into()),
            summary: None,
            published_at: None,
            updated_at: None,
            first_seen_at: 0,
            changed_at: 0,
            source: Source {
                feed_url: "https://e.org/f".into(),
                title: None,
                site_url: None,
                link: None,
            },
            also: Vec::new(),
            rest: Vec::new(),
            files_joined: false,
            enclosures: Vec::new(),
        }
    }

    #[test]
    fn a_story_without_an_updated_time_is_updated_when_published_until_it_changes() {
        let at = |published: Option<i64>, updated: Option<i64>, changed: i64| {
            let mut s = story("a", "x");
            (s.published_at, s.updated_at) = (published, updated);
            (s.first_seen_at, s.changed_at) = (5_000, changed);
            prepare(vec![s])[0].updated()
        };
        // A JSON Feed item with `date_published` only (feed-rs gives no
        // updated time): not "updated" when feedloom fetched it.
        assert_eq!(at(Some(1_000), None, 5_000), 1_000);
        assert_eq!(at(Some(1_000), None, 6_000), 6_000, "seen to change");
        // An RSS item's own "updated" is its pubDate: a correction feedloom
        // stored later is later than it.
        assert_eq!(at(Some(1_000), Some(2_000), 6_000), 6_000, "seen to change");
        assert_eq!(
            at(Some(1_000), Some(5_500), 6_000),
            6_000,
            "seen to change later"
        );
        assert_eq!(at(Some(1_000), Some(2_000), 5_000), 2_000, "its own");
        assert_eq!(at(None, None, 5_000), 5_000);
        // A time past when feedloom last saw it new or changed is that time
        // (a story dated 31 Dec 9999 stayed on top of every reader).
        assert_eq!(at(Some(1_000), Some(7_000), 6_000), 6_000, "its own, later");
        let mut s = story("a", "x");
        (s.published_at, s.updated_at) = (Some(253_402_300_799), None);
        (s.first_seen_at, s.changed_at) = (5_000, 5_000);
        let p = prepare(vec![s]);
        assert_eq!((p[0].published(), p[0].updated()), (5_000, 5_000));
    }

    #[test]
    fn html_cache_reuses_only_identical_html() {
        let mut cache = HtmlCache::default();
        let first = cache.prepare(vec![story("a", "<p onclick=x>one</p>")]);
        cache.finish_pass();
        assert_eq!(first[0].html.as_deref(), Some("<p>one</p>"));
        assert_eq!(cache.last.len(), 1);
        // Same HTML: served from the cache; changed HTML: sanitised anew.
        let again = cache.prepare(vec![
            story("a", "<p onclick=x>one</p>"),
            story("b", "<script>x</script><b>two</b>"),
        ]);
        cache.finish_pass();
        assert_eq!(again[0].html, first[0].html);
        assert_eq!(again[1].html.as_deref(), Some("<b>two</b>"));
        // Entries the last pass did not use are dropped.
        cache.prepare(vec![story("b", "<script>x</script><b>two</b>")]);
        cache.finish_pass();
        assert_eq!(cache.last.len(), 1);
    }

    #[test]
    fn atomic_write_only_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out/all.atom");
        assert!(write_if_changed(&p, b"one").unwrap());
        assert!(!write_if_changed(&p, b"one").unwrap());
        assert!(write_if_changed(&p, b"two").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn stale_temps_beside_a_backup_or_config_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let names = [
            ".b.db.999999999.tmp".to_string(),
            ".b.db.999999999.tmp-journal".to_string(),
            ".b.db.999999999.tmp-wal".to_string(),
            format!(".b.db.{me}.tmp"),
            ".other.db.999999999.tmp".to_string(),
            ".b.db.x.tmp".to_string(),
            "b.db".to_string(),
        ];
        for n in &names {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        assert_eq!(remove_stale_temps_beside(&dir.path().join("b.db")), 3);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want = names[3..].to_vec();
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn stale_temp_files_of_our_outputs_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        // PIDs above the kernel's maximum (2^22) never run.
        let keep = [
            "all.atom",
            ".all.atom.tmp",
            ".all.atom.12x4.tmp",
            ".all.atom..tmp",
            ".other.atom.4999999.tmp",
            ".all.atom.4999999.tmp.bak",
            "all.atom.4999999.tmp",
            "notes.txt",
        ];
        let stale = [
            ".all.atom.4999999.tmp",
            ".all.rss.4999998.tmp",
            ".all.json.4999997.tmp",
        ];
        // Ours, and a running process's (this test's): kept.
        let live = [
            temp_name("all.atom", std::process::id()),
            temp_name("all.rss", 1),
        ];
        for f in keep
            .iter()
            .chain(&stale)
            .map(|s| s.to_string())
            .chain(live.clone())
        {
            std::fs::write(out_dir.join(f), b"x").unwrap();
        }
        std::fs::create_dir(out_dir.join(".all.json.4999996.tmp")).unwrap();
        let text = "[[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\"]\n\
                    [[output]]\nname = \"nofiles\"\n";
        let cfg = crate::config::parse(text, &dir.path().join("c.toml")).unwrap();
        assert_eq!(remove_stale_temp_files(&cfg.outputs), stale.len());
        let mut left: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want: Vec<String> = keep
            .iter()
            .map(|s| s.to_string())
            .chain(live)
            .chain([".all.json.4999996.tmp".to_string()])
            .collect();
        want.sort();
        assert_eq!(left, want);
        // A missing folder is no error.
        std::fs::remove_dir_all(&out_dir).unwrap();
        assert_eq!(remove_stale_temp_files(&cfg.outputs), 0);
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc822(86400 * 365), "Fri, 1 Jan 1971 00:00:00 +0000");
        assert_eq!(xml_safe("a\u{0}b\u{b}c\td"), "abc\td");
        // Years past 9999 made chrono panic in RSS rendering (found by fuzzing).
        for t in [i64::MAX, 568_000_000_000, i64::MIN, -70_000_000_000] {
            let (a, b) = (rfc3339(t), rfc822(t));
            assert!(
                a.len() == 20 && (a.starts_with("9999-") || a.starts_with("0000-")),
                "{a}"
            );
            assert!(b.contains(" 9999 ") || b.contains(" 0000 "), "{b}");
        }
    }
}

#[cfg(test)]
mod scan_tests {
    use super::*;
    use crate::store::queries::{Cursor, FeedHealth, FeedProblem, FeedSummary};

    /// 13,000 stories, newest first; only the five oldest pass `zebra`.
    struct Many;

    impl Reader for Many {
        fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
            let before = q.before.map_or(i64::MAX, |c| c.id);
            Ok((1..=13_000i64)
                .rev()
                .filter(|&id| id < before)
                .take(q.limit)
                .map(|id| {
                    let mut s = super::tests::story(&format!("u{id}"), "<p>x</p>");
                    s.id = id;
                    s.link = Some(format!("https://e.org/{id}"));
                    s.title = Some(match id <= 5 {
                        true => format!("Zebra sighting {id}"),
                        false => format!("Common story {id}"),
                    });
                    (s.first_seen_at, s.changed_at) = (id, id);
                    s
                })
                .collect())
        }
        fn search(
            &self,
            _: &crate::store::search::SearchQuery,
            _: &dyn Fn(&Story) -> Option<Story>,
        ) -> Result<Vec<crate::store::search::Hit>, crate::store::search::SearchError> {
            unreachable!("not asked")
        }
        fn feed_summaries(&self) -> Result<Vec<FeedSummary>, StoreError> {
            unreachable!("not asked")
        }
        fn latest_arrivals(
            &self,
            _: &[i64],
        ) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
            unreachable!("not asked")
        }
        fn synced_feeds(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
            unreachable!("not asked")
        }
        fn moved_feeds(&self) -> Result<Vec<(String, String)>, StoreError> {
            // (No feed of this fixture moved.)
            Ok(Vec::new())
        }
        fn feed_health(&self) -> Result<FeedHealth, StoreError> {
            unreachable!("not asked")
        }
        fn feeds_in_trouble(&self, _: usize) -> Result<Vec<FeedProblem>, StoreError> {
            unreachable!("not asked")
        }
        fn metrics_snapshot(
            &self,
            _: i64,
        ) -> Result<crate::store::queries::MetricsSnapshot, StoreError> {
            unreachable!("not asked")
        }
        fn prune_preview(
            &self,
            _: i64,
            _: &crate::store::prune::Retention,
        ) -> Result<crate::store::prune::Pruned, StoreError> {
            unreachable!("not asked")
        }
    }

    /// An output whose rules pass nothing among the newest 10,000 stories
    /// says so and links on to the older ones; its page said "No stories
    /// yet." with no way on, while search found five.
    #[test]
    fn a_scan_that_stops_at_its_limit_says_so_and_links_on() {
        let cfg = crate::config::parse(
            "[[feed]]\nurl = \"https://e.org/f\"\n\n[[output]]\nname = \"rare\"\ninclude = [\"zebra\"]\n",
            std::path::Path::new("x.toml"),
        )
        .unwrap();
        let out = &cfg.outputs[0];
        let q = query_for(out, 20_000, None);
        let (stories, stopped) = select_stories_scanned(&Many, &q, &out.selection).unwrap();
        assert!(stories.is_empty());
        let at = stopped.expect("the scan stopped with older candidates left");
        let rendered = render_all(
            &Many,
            &cfg.outputs,
            20_000,
            &mut HtmlCache::default(),
            false,
        )
        .unwrap();
        let page = rendered
            .iter()
            .find(|r| r.format == Format::Html && r.served)
            .unwrap();
        let html = String::from_utf8_lossy(&page.bytes);
        assert!(!html.contains("No stories yet."), "{html}");
        assert!(html.contains("None of the newest 1"), "{html}");
        assert!(
            html.contains("stories looked at pass this output's rules"),
            "{html}"
        );
        assert!(at.1 >= MAX_SCAN);
        // From the page's link on, the older page finds them.
        let link = html
            .split("?before=")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let (t, id) = link.split_once('-').unwrap();
        let mut older = q.clone();
        older.before = Some(Cursor {
            at: t.parse().unwrap(),
            id: id.parse().unwrap(),
        });
        let (found, stopped) = select_stories_scanned(&Many, &older, &out.selection).unwrap();
        assert_eq!(found.len(), 5);
        assert_eq!(stopped, None);
    }
}
