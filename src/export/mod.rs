//! Renderings of one story list: Atom 1.0 ([`atom`]), RSS 2.0 ([`rss`]) and JSON
//! Feed 1.1 ([`json`]), plus atomic output files.
//!
//! Rendering is pure: the same stories give the same bytes (no "now" in the output),
//! so a file is rewritten, and an HTTP ETag changes, only when the stories did.

pub mod atom;
pub mod json;
pub mod rss;

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::config::{Format, OutputConfig};
use crate::error::StoreError;
use crate::store::Store;
use crate::store::queries::{Story, StoryQuery};

/// What every format needs about the merged feed itself.
#[derive(Debug, Clone)]
pub struct FeedInfo {
    pub name: String,
    pub title: String,
    pub link: Option<String>,
}

/// A story ready for rendering: its HTML already sanitised.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub story: Story,
    pub html: Option<String>,
}

impl Prepared {
    /// The story's updated time: its own, else when feedloom saw it change.
    pub fn updated(&self) -> i64 {
        self.story.updated_at.unwrap_or(self.story.changed_at)
    }

    /// The story's published time: its own, else its updated time, else when
    /// feedloom first saw it.
    pub fn published(&self) -> i64 {
        self.story
            .published_at
            .or(self.story.updated_at)
            .unwrap_or(self.story.first_seen_at)
    }
}

/// Sanitises each story's HTML once, for all formats: no scripts, no event
/// handlers, no javascript: URLs; relative URLs resolved against the story's link.
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
            .map(|story| {
                let html = story.html.as_ref().map(|raw| {
                    let key = (story.link.clone(), raw.clone());
                    if let Some(clean) = self.next.get(&key) {
                        return clean.clone();
                    }
                    let clean = self
                        .last
                        .remove(&key)
                        .unwrap_or_else(|| sanitize(raw, story.link.as_deref()));
                    self.next.insert(key, clean.clone());
                    clean
                });
                Prepared { story, html }
            })
            .collect()
    }

    /// Ends a rendering pass: entries it did not use are dropped.
    pub fn finish_pass(&mut self) {
        self.last = std::mem::take(&mut self.next);
    }
}

/// Sanitises an HTML fragment for readers.
pub fn sanitize(html: &str, base: Option<&str>) -> String {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer"));
    if let Some(base) = base.and_then(|u| url::Url::parse(u).ok()) {
        b.url_relative(ammonia::UrlRelative::RewriteWithBase(base));
    }
    b.clean(html).to_string()
}

/// The stories an output shows at time `now`.
pub fn query_for(out: &OutputConfig, now: i64, limit: Option<usize>) -> StoryQuery {
    StoryQuery {
        limit: limit.unwrap_or(out.max_items),
        since: out
            .window
            .map(|w| now.saturating_sub(w.0.as_secs().min(i64::MAX as u64) as i64)),
        tags: out.tags.clone(),
        dedup: out.dedup,
        updates: out.updates,
    }
}

/// Renders one output in one format from the store.
pub fn render_output(
    store: &Store,
    out: &OutputConfig,
    format: Format,
    now: i64,
    limit: Option<usize>,
) -> Result<Vec<u8>, StoreError> {
    let stories = prepare(store.stories(&query_for(out, now, limit))?);
    Ok(render(format, &info_for(out), &stories))
}

pub fn info_for(out: &OutputConfig) -> FeedInfo {
    FeedInfo {
        name: out.name().to_string(),
        title: out.title(),
        link: out.link.as_ref().map(|l| l.to_string()),
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
}

/// Renders every output in every format (`only_files`: only outputs that have a
/// `path`). Reads the store; writes nothing (see [`write_files`]).
pub fn render_all(
    store: &Store,
    outputs: &[OutputConfig],
    now: i64,
    cache: &mut HtmlCache,
    only_files: bool,
) -> Result<Vec<RenderedFile>, StoreError> {
    let mut all = Vec::new();
    for out in outputs.iter().filter(|o| !only_files || o.path.is_some()) {
        let stories = cache.prepare(store.stories(&query_for(out, now, None))?);
        let info = info_for(out);
        for &format in &out.formats {
            all.push(RenderedFile {
                name: format!("{}.{}", out.name(), format.extension()),
                format,
                bytes: render(format, &info, &stories),
                path: out.path.as_ref().map(|base| file_path(base, format)),
            });
        }
    }
    cache.finish_pass();
    Ok(all)
}

/// Writes the files of the renderings that have a path, each only when its bytes
/// changed. A file that cannot be written is logged; the others are still written.
pub fn write_files(rendered: &[RenderedFile]) {
    for r in rendered {
        if let Some(path) = &r.path
            && let Err(e) = write_if_changed(path, &r.bytes)
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot write output");
        }
    }
}

/// Renders prepared stories in a format.
pub fn render(format: Format, info: &FeedInfo, stories: &[Prepared]) -> Vec<u8> {
    match format {
        Format::Atom => atom::render(info, stories),
        Format::Rss => rss::render(info, stories),
        Format::Json => json::render(info, stories),
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
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
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
            let name = crate::parse::escape_html(src.title.as_deref().unwrap_or(&src.feed_url));
            match &src.link {
                Some(l) => format!("<a href=\"{}\">{name}</a>", crate::parse::escape_html(l)),
                None => name,
            }
        })
        .collect();
    Some(format!("<p>Also in: {}</p>", names.join(", ")))
}

/// A story's title for outputs: its own, else the start of its text, else its link.
pub fn display_title(p: &Prepared) -> String {
    if let Some(t) = p.story.title.as_deref().filter(|t| !t.is_empty()) {
        return t.to_string();
    }
    if let Some(h) = p.html.as_deref() {
        let text = crate::parse::strip_tags(h);
        let words: Vec<&str> = text.split_whitespace().take(12).collect();
        if !words.is_empty() {
            return words.join(" ");
        }
    }
    p.story
        .link
        .clone()
        .unwrap_or_else(|| "(untitled)".to_string())
}

#[cfg(test)]
mod tests {
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

    fn story(uid: &str, html: &str) -> Story {
        use crate::store::queries::Source;
        Story {
            uid: uid.into(),
            link: Some("https://e.org/p".into()),
            title: None,
            author: None,
            html: Some(html.into()),
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
        }
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
