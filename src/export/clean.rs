//! What a story may carry into an output: sanitised HTML, checked links and
//! plain titles. Every output format goes through here (see [`super::prepare`]),
//! so the rules hold for every stored row, whatever wrote it.
//!
//! * HTML: ammonia's allow-list (no scripts, styles, event handlers or forms;
//!   audio and video without autoplay), no control characters, and every URL
//!   attribute (`href`, `src`, `srcset`, `cite`, `poster`, …)
//!   checked against an allow-list of schemes *after* it is resolved. Relative
//!   URLs resolve only against an `http`/`https` base (the story's link); without
//!   one they are dropped, except `#fragment` links.
//! * Links: only absolute `http`/`https` ones ([`crate::urls::safe_link`]); the
//!   others are dropped and logged at debug level.
//! * Titles: bidi override and isolate characters (U+202A–U+202E,
//!   U+2066–U+2069), which make a title read backwards, are removed.
//!
//! Pure and cheap to call: the ammonia `Builder` is built once per process.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use url::Url;

use super::{budget, nesting};
use crate::parse::text::shows_nothing;
use crate::store::queries::{Source, Story};
use crate::urls;

/// Schemes a link in content (`href`, `cite`, …) may have: ammonia's default
/// list, none of which runs script or carries a document.
pub const LINK_SCHEMES: &[&str] = &[
    "http",
    "https",
    "mailto",
    "tel",
    "ftp",
    "ftps",
    "bitcoin",
    "geo",
    "im",
    "irc",
    "ircs",
    "magnet",
    "mms",
    "mx",
    "news",
    "nntp",
    "openpgp4fpr",
    "sip",
    "sms",
    "smsto",
    "ssh",
    "url",
    "webcal",
    "wtai",
    "xmpp",
];

/// The longest `srcset` kept once its URLs are resolved.
const MAX_SRCSET: usize = 32 * 1024;

/// Schemes a resource a reader loads by itself (`src`, `srcset`, `poster`, …) may have.
pub const RESOURCE_SCHEMES: &[&str] = &["http", "https"];

thread_local! {
    /// The base of the fragment [`sanitize`] is cleaning on this thread (the
    /// attribute filter is built once and cannot carry it).
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
    /// How many more bytes resolving relative URLs may add to the body being
    /// sanitised: each costs a byte or two and becomes the whole base (an
    /// 8 KiB link and 261 KB of `srcset="x, x, …"` made 698 MB, and a link
    /// reopened in every paragraph as much).
    static GROWTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer"))
        .url_schemes(LINK_SCHEMES.iter().copied().collect())
        // The attribute filter has already resolved (or dropped) relative URLs.
        .url_relative(ammonia::UrlRelative::PassThrough)
        // Responsive images; their URLs are checked like any other.
        .add_tag_attributes("img", &["srcset", "sizes"])
        // A story's own audio and video (podcasts, clips), which the pages'
        // policy lets load (`media-src http: https:`): never autoplaying, their
        // `src`, `poster` and `srcset` checked like any other resource.
        .add_tags(&["audio", "video", "source", "track", "picture"])
        .add_tag_attributes("audio", &["src", "controls", "preload", "loop", "muted"])
        .add_tag_attributes(
            "video",
            &[
                "src",
                "controls",
                "preload",
                "loop",
                "muted",
                "poster",
                "width",
                "height",
                "playsinline",
            ],
        )
        .add_tag_attributes("source", &["src", "srcset", "sizes", "type", "media"])
        .add_tag_attributes("track", &["src", "kind", "srclang", "label", "default"])
        // A paragraph's direction (`<p dir="rtl" lang="ar">` quoted in an
        // English story): without it, the quote was laid out left to right,
        // its numbers and punctuation out of order.
        .add_generic_attributes(&["dir"])
        .attribute_filter(filter_attribute);
    b
});

/// Sanitises an HTML fragment for readers; relative URLs resolve against `base`
/// when it is an `http`/`https` URL.
pub fn sanitize(html: &str, base: Option<&str>) -> String {
    // Bodies with many tags are remembered: the river's older pages
    // sanitise what they show at every request (a story costing a parser's
    // budget, 0.3 s, paid by every reader's every click).
    if html.len() < MEMO_MIN
        || memchr::memchr_iter(b'<', html.as_bytes()).count() <= budget::FEW_TAGS
    {
        return sanitized(html, base);
    }
    let key = (base.map(str::to_string), html.to_string());
    if let Some(clean) = MEMO.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return clean;
    }
    let clean = sanitized(html, base);
    MEMO.lock()
        .unwrap_or_else(|e| e.into_inner())
        .put(key, clean.clone());
    clean
}

/// Bodies at least this long, with more `<` than [`budget::FEW_TAGS`] (the
/// ones it probes), are remembered once sanitised, up to [`MEMO_BYTES`] of
/// them and their results.
const MEMO_MIN: usize = 16 * 1024;
const MEMO_BYTES: usize = 8 << 20;

static MEMO: std::sync::Mutex<Memo> = std::sync::Mutex::new(Memo {
    map: None,
    order: std::collections::VecDeque::new(),
    bytes: 0,
});

/// Sanitised bodies by (base, body), the oldest forgotten first.
struct Memo {
    map: Option<std::collections::HashMap<MemoKey, String>>,
    order: std::collections::VecDeque<MemoKey>,
    bytes: usize,
}

type MemoKey = (Option<String>, String);

impl Memo {
    fn get(&self, key: &MemoKey) -> Option<String> {
        self.map.as_ref()?.get(key).cloned()
    }

    fn put(&mut self, key: MemoKey, clean: String) {
        let size = |k: &MemoKey, v: &str| k.1.len() + k.0.as_ref().map_or(0, String::len) + v.len();
        let add = size(&key, &clean);
        if add > MEMO_BYTES {
            return;
        }
        let map = self.map.get_or_insert_with(Default::default);
        if map.contains_key(&key) {
            return;
        }
        while self.bytes + add > MEMO_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = map.remove(&old) {
                self.bytes -= size(&old, &v);
            }
        }
        self.bytes += add;
        self.order.push_back(key.clone());
        map.insert(key, clean);
    }
}

/// [`sanitize`], done.
/// `html` with each lazily loaded picture's real address in `src` (and
/// `srcset`): WordPress's and lazysizes' `<img src="data:…" data-src="…"
/// data-srcset="…">`, `<img src="placeholder.svg" data-lazy-src="…">`. The
/// script that swaps them never runs in a reader: the picture showed a
/// placeholder, or nothing once its `data:` address was dropped. Only where
/// `src` is missing, a `data:` address or a placeholder's (`placeholder`,
/// `blank`, `spacer`, `pixel`, `lazy`, `loading` in its name), and `srcset`
/// missing. The addresses are checked afterwards like any other.
fn with_lazy_sources(html: &str) -> Cow<'_, str> {
    const LAZY: &[&str] = &["data-src", "data-lazy-src", "data-original", "data-lazy"];
    const LAZY_SET: &[&str] = &["data-srcset", "data-lazy-srcset"];
    if memchr::memmem::find(html.as_bytes(), b"data-").is_none() {
        return Cow::Borrowed(html);
    }
    let lower = html.to_ascii_lowercase();
    let mut out = String::new();
    let mut from = 0;
    let mut at = 0;
    while let Some(found) = lower[at..].find("<img") {
        let start = at + found;
        at = start + 4;
        if !lower[at..].starts_with(|c: char| c.is_ascii_whitespace() || c == '/') {
            continue;
        }
        let Some(attrs) = tag_attributes(&html[at..]) else {
            continue;
        };
        let (list, len) = attrs;
        let value = |names: &[&str]| {
            list.iter()
                .find(|(n, v)| names.contains(&n.as_str()) && !v.trim().is_empty())
                .map(|(_, v)| v.clone())
        };
        let src = value(&["src"]);
        let placeholder = src.as_deref().is_none_or(placeholder_address);
        let real = value(LAZY).filter(|_| placeholder);
        let real_set = value(LAZY_SET).filter(|_| value(&["srcset"]).is_none());
        if real.is_none() && real_set.is_none() {
            continue;
        }
        let mut end = at + len;
        // (Its `<noscript>` twin, WordPress's fallback for readers without
        // scripts, would show the picture a second time.)
        let after = &lower[end..];
        let gap = after.len() - after.trim_start().len();
        if after[gap..].starts_with("<noscript>")
            && let Some(close) = after[gap..].find("</noscript>")
            && after[gap..gap + close].contains("<img")
            && !after[gap + 10..gap + close].contains("<noscript")
        {
            end += gap + close + "</noscript>".len();
        }
        let mut tag = String::from("<img");
        for (n, v) in &list {
            let replaced = (n == "src" && real.is_some()) || (n == "srcset" && real_set.is_some());
            if !replaced {
                tag.push_str(&format!(" {n}=\"{}\"", v.replace('"', "&quot;")));
            }
        }
        if let Some(v) = &real {
            tag.push_str(&format!(" src=\"{}\"", v.replace('"', "&quot;")));
        }
        if let Some(v) = &real_set {
            tag.push_str(&format!(" srcset=\"{}\"", v.replace('"', "&quot;")));
        }
        tag.push('>');
        // (Its `<noscript>` twin just before it, as Autoptimize writes it.)
        let before = lower[from..start].trim_end();
        let start = match before.strip_suffix("</noscript>") {
            Some(rest) => match rest.rfind("<noscript") {
                Some(ns) if rest[ns..].contains("<img") => from + ns,
                _ => start,
            },
            None => start,
        };
        out.push_str(&html[from..start]);
        out.push_str(&tag);
        from = end;
        at = end;
    }
    match from {
        0 => Cow::Borrowed(html),
        _ => {
            out.push_str(&html[from..]);
            Cow::Owned(out)
        }
    }
}

/// Whether a picture's `src` is a lazy loader's stand-in: empty, `#`, a
/// `data:` address, or a file whose name is only such words and sizes
/// (`lazy_placeholder.gif`, `blank.gif`, `spacer.png`, `1x1.gif`,
/// `trans.gif`); not a picture whose name merely holds one
/// (`google-pixel-9-review.jpg`, `lazy-river-resort.jpg`).
fn placeholder_address(src: &str) -> bool {
    const WORDS: &[&str] = &[
        "placeholder",
        "blank",
        "spacer",
        "pixel",
        "lazy",
        "loading",
        "loader",
        "trans",
        "transparent",
        "empty",
        "grey",
        "gray",
        "dummy",
        "image",
        "img",
        "load",
        "lazyload",
    ];
    let s = src.trim().to_ascii_lowercase();
    if s.is_empty() || s == "#" || s.starts_with("data:") {
        return true;
    }
    let path = s.split(['?', '#']).next().unwrap_or(&s);
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let mut words = stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    let size = |w: &str| {
        w.split_once('x').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && (a.bytes().chain(b.bytes())).all(|c| c.is_ascii_digit())
        })
    };
    let mut any = false;
    words.all(|w| {
        let named = WORDS.contains(&w);
        any |= named || size(w);
        named || size(w) || w.bytes().all(|c| c.is_ascii_digit())
    }) && any
}

/// The attributes of a tag whose name has been read (`rest` starts after
/// it), names lower-cased, values as written (entities and all), and how
/// many bytes up to and with its `>`; `None` when it does not end.
fn tag_attributes(rest: &str) -> Option<(Vec<(String, String)>, usize)> {
    let b = rest.as_bytes();
    let mut i = 0;
    let mut list = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        if b[i] == b'>' {
            return Some((list, i + 1));
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = rest[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = rest[i + 1..].find(q as char)? + i + 1;
                    value = rest[i + 1..end].to_string();
                    i = end + 1;
                }
                Some(_) => {
                    let s = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = rest[s..i].to_string();
                }
                None => return None,
            }
        }
        if !name.is_empty() {
            list.push((name, value));
        }
    }
}

fn sanitized(html: &str, base: Option<&str>) -> String {
    // A leading `<base href>` (what `xml:base` set for this HTML, or the
    // document's address, written by the parser; or the feed's own) is its
    // base, as in a browser; the feed's own after the parser's, or a
    // relative one (`media/`, `//cdn.example/m/`), resolved against what
    // comes before it (a relative one was dropped for the link or the
    // configured address). One that resolves to no web address is none.
    let mut base = base.and_then(urls::web_base);
    let mut html = html;
    while let (rest, Some(own)) = leading_base(html) {
        html = rest;
        let resolved = match &base {
            Some(b) => b.join(own.trim()).ok(),
            None => url::Url::parse(own.trim()).ok(),
        };
        if let Some(r) = resolved.filter(|r| urls::web_base(r.as_str()).is_some()) {
            base = Some(r);
        }
    }
    BASE.with(|b| *b.borrow_mut() = base);
    GROWTH.with(|g| g.set((8 * html.len()).max(256 * 1024)));
    let foreign = foreign_as_text(html);
    let lazy = with_lazy_sources(&foreign);
    let readable = readable_html(&lazy);
    let clean = match budget::affordable(&readable) {
        true => SANITIZER.clean(&readable).to_string(),
        // (What the nesting model missed: the story's text, as text.)
        false => {
            warn_once(&readable);
            as_text(&readable)
        }
    };
    BASE.with(|b| *b.borrow_mut() = None);
    // Nor the control characters HTML and XML forbid (an ESC or BEL in a
    // story reached the river page as it was).
    match super::xml_safe(&clean) {
        Cow::Borrowed(_) => clean,
        Cow::Owned(o) => o,
    }
}

/// Says in the log that `html` is published as text: once per body while
/// the process runs (outputs render it in every format, the river again for
/// each page), its start quoted as Rust writes strings (no line break or
/// terminal escape of a story's reaches the log).
fn warn_once(html: &str) {
    use std::hash::{Hash, Hasher};
    static SEEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    html.hash(&mut h);
    let key = h.finish();
    {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&key) {
            return;
        }
        if seen.len() >= 256 {
            seen.remove(0);
        }
        seen.push(key);
    }
    let start: String = html.chars().take(60).collect();
    tracing::warn!(
        start = ?start,
        bytes = html.len(),
        "a story's HTML would cost the sanitiser's parser too much; published as plain text"
    );
}

/// `html`'s text, escaped, as one paragraph: no tag of it reaches the
/// sanitiser's parser.
fn as_text(html: &str) -> String {
    let text = crate::parse::text::strip_tags(html);
    format!("<p>{}</p>", crate::parse::text::escape_html(text.trim()))
}

/// The length of the longest `<a …>` start tag in `html` (the rest of it,
/// from a link's tag that never ends).
pub(super) fn longest_link_tag(html: &str) -> usize {
    let b = html.as_bytes();
    let mut longest = 0;
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'<', &b[i..]) {
        i += k;
        let link = b.get(i + 1).is_some_and(|c| c.eq_ignore_ascii_case(&b'a'))
            && b.get(i + 2)
                .is_some_and(|c| c.is_ascii_whitespace() || *c == b'/');
        if !link {
            i += 1;
            continue;
        }
        match read_tag_at(html, i) {
            Some(tag) => {
                longest = longest.max(tag.end - i);
                i = tag.end;
            }
            None => return longest.max(html.len() - i),
        }
    }
    longest
}

/// One tag read from HTML text: its name (lowercase), whether it is an end
/// tag, its attributes (raw values) and where it ends (past its `>`).
struct Tag<'a> {
    name: String,
    end_tag: bool,
    attrs: Vec<(&'a str, &'a str)>,
    end: usize,
    /// Written `<x … />` (a `/` of an unquoted value, `a=x/>`, is not).
    self_closing: bool,
}

/// What [`read_tag`] found at a `<`.
enum Read<'a> {
    Tag(Tag<'a>),
    /// Not a tag (`<` before no letter): text.
    Text,
    /// A tag that runs to the end of the input: the rest is its.
    Unterminated,
}

/// [`read_tag_at`], told apart: no tag, or one that never ends.
fn read_tag(html: &str, i: usize) -> Read<'_> {
    let b = html.as_bytes();
    let starts = b.get(i) == Some(&b'<') && {
        let at = i + 1 + usize::from(b.get(i + 1) == Some(&b'/'));
        b.get(at).is_some_and(u8::is_ascii_alphabetic)
    };
    match (starts, read_tag_at(html, i)) {
        (false, _) => Read::Text,
        (true, Some(t)) => Read::Tag(t),
        (true, None) => Read::Unterminated,
    }
}

/// Reads the tag starting at `html[i]` (a `<`), as HTML's tokenizer does
/// for the parts that matter here: a quote delimits a value only after `=`.
fn read_tag_at(html: &str, i: usize) -> Option<Tag<'_>> {
    let b = html.as_bytes();
    if b.get(i) != Some(&b'<') {
        return None;
    }
    let end_tag = b.get(i + 1) == Some(&b'/');
    let at = i + 1 + usize::from(end_tag);
    if !b.get(at).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let name_end = html[at..]
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .map_or(b.len(), |e| at + e);
    let name = html[at..name_end].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut j = name_end;
    let mut self_closing;
    loop {
        self_closing = false;
        while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
            self_closing = b[j] == b'/';
            j += 1;
        }
        match b.get(j) {
            None => return None,
            Some(b'>') => break,
            _ => {}
        }
        let a = j;
        while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/') {
            j += 1;
        }
        // (An attribute name starting with `=` or `/` is one character.)
        if j == a {
            j += 1;
        }
        let key = &html[a..j];
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if b.get(j) != Some(&b'=') {
            attrs.push((key, ""));
            continue;
        }
        j += 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let value = match b.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                let close = html[j + 1..].find(q as char)? + j + 1;
                let v = &html[j + 1..close];
                j = close + 1;
                v
            }
            _ => {
                let v0 = j;
                while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                    j += 1;
                }
                &html[v0..j]
            }
        };
        attrs.push((key, value));
    }
    Some(Tag {
        name,
        end_tag,
        attrs,
        end: j + 1,
        self_closing,
    })
}

/// `html` as a feed reader should show it, before sanitising:
/// - an empty element's end tag written right after its start tag is gone
///   (`<br></br>`, as Atom XHTML content is stored: HTML reads such a
///   `</br>` as a second line break, and every break was doubled); a
///   `</br>` alone stays one;
/// - `<noscript>`, `<noembed>` and `<noframes>` are unwrapped: no script,
///   embed or frame runs in a reader, so their fallback is what it shows (a
///   lazy-loading plugin's real `<img>`; it was published as escaped text);
/// - an `<iframe>` (an embedded video) is a link to what it embeds, its
///   contents gone (it vanished, or its fallback showed as text).
///
/// - an element nested deeper than [`nesting::MAX_DEPTH`] is not opened (its
///   tags are dropped, its text kept): the sanitiser's parser pays the depth
///   on every tag ([`nesting`]).
///
/// Text in attribute values and comments is left as it is.
/// `html` with each MathML `<math>` and SVG `<svg>` element replaced by its
/// text, escaped (a formula by its `alttext`, else its TeX annotation, else
/// the text of its parts): the sanitiser drops those elements with all they
/// hold, and "We know that a²+b²=c² holds" was published as "We know that
/// holds".
fn foreign_as_text(html: &str) -> Cow<'_, str> {
    let b = html.as_bytes();
    let opens = |at: usize, name: &[u8]| {
        b.get(at + 1..at + 1 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && b.get(at + 1 + name.len())
                .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'>' | b'/'))
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'<', &b[i..]).map(|k| i + k) {
        let name: &[u8] = if opens(at, b"math") {
            b"math"
        } else if opens(at, b"svg") {
            b"svg"
        } else {
            i = at + 1;
            continue;
        };
        // A self-closing one (`<svg/>`) holds nothing.
        let tag_end = memchr::memchr(b'>', &b[at..]).map(|g| at + g);
        if let Some(t) = tag_end.filter(|&t| t > at && b[t - 1] == b'/') {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(&html[copied..at]);
            copied = t + 1;
            i = t + 1;
            continue;
        }
        // Its end: the matching end tag (same-named elements inside
        // counted). One never closed is left to the sanitiser: HTML after
        // it leaves it, and the story's markup is not all made text.
        let mut depth = 0usize;
        let mut j = at;
        let end = loop {
            let Some(k) = memchr::memchr(b'<', &b[j..]).map(|k| j + k) else {
                break None;
            };
            if opens(k, name) {
                depth += 1;
            } else if b.get(k + 1) == Some(&b'/')
                && b.get(k + 2..k + 2 + name.len())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            {
                depth -= 1;
                if depth == 0 {
                    break Some(memchr::memchr(b'>', &b[k..]).map_or(b.len(), |g| k + g + 1));
                }
            }
            j = k + 1;
        };
        let Some(end) = end else {
            // (Nor any after it: each would be looked for to the end again.)
            break;
        };
        let element = &html[at..end];
        let text = match name {
            // (Its annotations are other forms of what its parts say: "x"
            // with an HTML one was "x x squared".)
            b"math" => attribute(element, "alttext")
                .or_else(|| tex_annotation(element))
                .or_else(|| {
                    Some(parts_text(&without_annotations(element))).filter(|t| !t.trim().is_empty())
                })
                .unwrap_or_else(|| parts_text(element)),
            _ => parts_text(element),
        };
        let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
        o.push_str(&html[copied..at]);
        o.push_str(&crate::parse::escape_html(text.trim()));
        copied = end;
        i = end;
    }
    match out {
        Some(mut o) => {
            o.push_str(&html[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(html),
    }
}

/// The value of the first `name="…"` (or `'…'`) in `element`'s start tag.
fn attribute(element: &str, name: &str) -> Option<String> {
    let start = &element[..element.find('>').unwrap_or(element.len())];
    let lower = start.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let rest = &start[at..];
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let value = &rest[1..];
    let value = &value[..value.find(quote)?];
    Some(crate::parse::decode_entities(value)).filter(|v| !v.trim().is_empty())
}

/// The TeX of a formula's first `<annotation>` whose encoding names TeX
/// (`application/x-tex`, `TeX`, `text/x-latex`). Not an `<annotation-xml>`,
/// nor one of `text/html` (read as TeX for its "tex", `<b>x</b> squared`
/// was published as that markup, in words).
fn tex_annotation(element: &str) -> Option<String> {
    let lower = element.to_ascii_lowercase();
    // `<annotation` or `</annotation` as a whole name (not `-xml`).
    let whole = |at: usize, len: usize| {
        lower[at + len..]
            .bytes()
            .next()
            .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'>' | b'/'))
    };
    let mut from = 0;
    while let Some(at) = lower[from..].find("<annotation").map(|k| from + k) {
        from = at + 1;
        if !whole(at, "<annotation".len()) {
            continue;
        }
        let tag_end = at + lower[at..].find('>')?;
        let tex = attribute(&element[at..], "encoding").is_some_and(|e| {
            e.to_ascii_lowercase()
                .split(['/', '-', '+', ' '])
                .any(|part| matches!(part.trim(), "tex" | "latex"))
        });
        if !tex {
            continue;
        }
        let body = &element[tag_end + 1..];
        let lower_body = &lower[tag_end + 1..];
        let mut end_from = 0;
        let end = loop {
            let k = end_from + lower_body[end_from..].find("</annotation")?;
            if whole(tag_end + 1 + k, "</annotation".len()) {
                break k;
            }
            end_from = k + 1;
        };
        return Some(crate::parse::decode_entities(&body[..end])).filter(|t| !t.trim().is_empty());
    }
    None
}

/// A formula without its `<annotation>` and `<annotation-xml>` elements
/// (each to its end tag, or to the end when it has none).
fn without_annotations(element: &str) -> Cow<'_, str> {
    let lower = element.to_ascii_lowercase();
    if !lower.contains("<annotation") {
        return Cow::Borrowed(element);
    }
    let mut out = String::with_capacity(element.len());
    let mut copied = 0;
    while let Some(at) = lower[copied..].find("<annotation").map(|k| copied + k) {
        out.push_str(&element[copied..at]);
        copied = match lower[at..].find("</annotation") {
            Some(k) => lower[at + k..]
                .find('>')
                .map_or(element.len(), |g| at + k + g + 1),
            None => element.len(),
        };
    }
    out.push_str(&element[copied..]);
    Cow::Owned(out)
}

/// The text of an element's parts, one space between parts (a script's or
/// style's text is none).
fn parts_text(element: &str) -> String {
    // (A CDATA section in SVG or MathML is text: read as a tag, `<![CDATA[ A
    // <b> B ]]>` was published as "B ]]>", and a `<desc>`'s text was lost.)
    if !element.contains("<![CDATA[") {
        return crate::store::search::plain_text(element);
    }
    let mut text = String::with_capacity(element.len());
    let mut rest = element;
    while let Some(at) = rest.find("<![CDATA[") {
        text.push_str(&rest[..at]);
        let inner = &rest[at + 9..];
        let end = inner.find("]]>").unwrap_or(inner.len());
        text.push_str(&crate::parse::escape_html(&inner[..end]));
        rest = inner.get(end + 3..).unwrap_or("");
    }
    text.push_str(rest);
    crate::store::search::plain_text(&text)
}

fn readable_html(html: &str) -> Cow<'_, str> {
    const UNWRAPPED: &[&str] = &["noscript", "noembed", "noframes"];
    let lower_has = |needle: &str| {
        html.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    // (A few tags cannot nest deep, nor make many copies of each other.)
    let few_tags = || html.len() <= 16 * 1024 && html.bytes().filter(|&c| c == b'<').count() <= 64;
    if !html.contains("></")
        && !has_removed_block(html)
        && !lower_has("<noscript")
        && !lower_has("<noembed")
        && !lower_has("<noframes")
        && !lower_has("<iframe")
        && few_tags()
    {
        return Cow::Borrowed(html);
    }
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut copied = 0;
    let mut i = 0;
    let mut open = nesting::Nesting::default();
    // Where the last tag ended: text since then reopens formatting.
    let mut text_from = 0;
    // Where the next `</iframe` is (at or after `i`), once looked for: each
    // unclosed `<iframe` searched to the end again (quadratic).
    let mut next_close: Option<Option<usize>> = None;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = comment_end(html, i);
            continue;
        }
        // CDATA in SVG or MathML is text; elsewhere, as `<!…>`, `<?…>` and
        // `</` before no letter, a comment to the next `>`.
        if open.in_foreign() && html[i..].starts_with("<![CDATA[") {
            i = html[i..].find("]]>").map_or(b.len(), |e| i + e + 3);
            continue;
        }
        let after = b.get(i + 1).copied().unwrap_or(b'>');
        let bogus = matches!(after, b'!' | b'?')
            || (after == b'/' && !b.get(i + 2).is_some_and(u8::is_ascii_alphabetic));
        if bogus {
            i = html[i + 1..].find('>').map_or(b.len(), |e| i + 1 + e + 1);
            continue;
        }
        // (A tag that never ends is the rest of the input: nothing after it
        // is read, so that a run of them costs one pass, not one each.)
        let tag = match read_tag(html, i) {
            Read::Tag(tag) => tag,
            Read::Text => {
                i += 1;
                continue;
            }
            // (Which the parser drops: so is it here, before its attributes,
            // 63,000 of them, cost the parser's tokenizer quadratic time.)
            Read::Unterminated => {
                out.push_str(&html[copied..i]);
                return Cow::Owned(out);
            }
        };
        let start = i;
        i = tag.end;
        // A space where an element that parts words stood, which the
        // sanitiser removes keeping its text (`Subscribe</button></form>Beta`
        // was published "SubscribeBeta"; search read it apart).
        if REMOVED_BLOCKS.contains(&tag.name.as_str()) && !open.in_foreign() {
            out.push_str(&html[copied..start]);
            out.push(' ');
            copied = start;
        }
        if !html[text_from..start].trim_ascii().is_empty() {
            open.text();
        }
        text_from = i;
        if UNWRAPPED.contains(&tag.name.as_str()) {
            out.push_str(&html[copied..start]);
            copied = i;
            continue;
        }
        // A formatting element's attributes are dropped (the sanitiser keeps
        // none worth having but a link's): with each written differently,
        // every paragraph reopened every one of them (`<b i=1><p>x<b i=2><p>x…`
        // made a 100 KB story 150 MB in each format); as are all of a tag
        // with more than a few dozen (each compared with every other).
        // (A `<font>` with a colour, face or size leaves SVG and MathML, and
        // is written `<font color>` there, to leave them too: its text was
        // lost. Not with its own values: a reader is shown no `<font>`, and
        // each value differing, `<svg><font color=K><p>x` × 4,000 made every
        // paragraph reopen all of them, 1 s per export.)
        let font_attrs = tag.name == "font"
            && tag.attrs.iter().any(|(k, _)| {
                ["color", "face", "size"]
                    .iter()
                    .any(|a| k.eq_ignore_ascii_case(a))
            });
        // (So do an end tag's, which HTML ignores, and those of `<html>`,
        // `<head>` and `<body>`, which a story cannot set: many of either
        // cost the parser quadratic time, 10 s for 26,000 `<html a_k>`.)
        let breakout = !tag.end_tag && font_attrs && open.in_foreign();
        let bare = !breakout
            && (tag.end_tag
                || (tag.name != "a" && nesting::FORMATTING.contains(&tag.name.as_str()))
                || matches!(tag.name.as_str(), "html" | "head" | "body")
                || tag.attrs.len() > MAX_ATTRIBUTES)
            && !tag.attrs.is_empty();
        let written = match (bare, breakout) {
            (true, _) => "",
            (_, true) => "<font color>",
            _ => &html[start..i],
        };
        let kept = match tag.end_tag {
            true => open.end(&tag.name),
            false => {
                tag.name == "iframe" || open.start(&tag.name, written, tag.self_closing, font_attrs)
            }
        };
        if !kept {
            out.push_str(&html[copied..start]);
            copied = i;
            continue;
        }
        if bare || breakout {
            out.push_str(&html[copied..start]);
            match breakout {
                true => out.push_str(written),
                false => {
                    out.push_str(if tag.end_tag { "</" } else { "<" });
                    out.push_str(&tag.name);
                    out.push('>');
                }
            }
            copied = i;
        }
        if tag.end_tag {
            continue;
        }
        // What raw text holds is no tag (outside SVG and MathML).
        if RAW_TEXT.contains(&tag.name.as_str()) && !open.top_is_foreign() {
            if tag.name == "plaintext" {
                break;
            }
            i = raw_text_end(html, i, &tag.name);
            text_from = i;
            continue;
        }
        if tag.name == "iframe" {
            out.push_str(&html[copied..start]);
            // Its contents up to `</iframe>`; none when it is written
            // `<iframe …/>` or never closed (what follows is the story's).
            let self_closed = tag.self_closing;
            if next_close.is_some_and(|at| at.is_some_and(|k| k < i)) {
                next_close = None;
            }
            let found = *next_close.get_or_insert_with(|| {
                (i..b.len()).find(|&k| {
                    b[k] == b'<'
                        && html[k..].len() >= 8
                        && html[k..k + 8].eq_ignore_ascii_case("</iframe")
                })
            });
            let close = found
                .and_then(|k| html[k..].find('>').map(|e| k + e + 1))
                .filter(|_| !self_closed)
                .unwrap_or(i);
            // (Judged as the browser reads it: `&#106;avascript:` is
            // `javascript:`.)
            if let Some(src) = tag
                .attrs
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case("src") && !v.trim().is_empty())
                .map(|(_, v)| crate::parse::text::decode_entities(v.trim()))
                .filter(|v| web_or_relative(v.trim()))
            {
                let src = escape_attr(&src.trim().replace('&', "&amp;"));
                out.push_str(&format!("<p><a href=\"{src}\">{src}</a></p>"));
            }
            i = close;
            copied = i;
            text_from = i;
            continue;
        }
        // Its end tag right after it, for an element HTML keeps empty.
        if nesting::VOID.contains(&tag.name.as_str())
            && let Read::Tag(close) = read_tag(html, i)
            && close.end_tag
            && close.name == tag.name
        {
            out.push_str(&html[copied..i]);
            i = close.end;
            copied = i;
            text_from = i;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    Cow::Owned(out)
}

/// Elements the sanitiser removes, keeping their text, that part words where
/// they stand (blocks, form controls; as search reads them, see
/// [`crate::store::search::plain_text`]): [`readable_html`] leaves a space
/// at each of their tags.
const REMOVED_BLOCKS: &[&str] = &[
    "address", "applet", "button", "datalist", "dialog", "dir", "embed", "fieldset", "form",
    "frame", "frameset", "input", "legend", "listing", "main", "menu", "meter", "object",
    "optgroup", "option", "progress", "search", "section", "select", "textarea", "tfoot",
];

/// Whether `html` holds a tag of one of [`REMOVED_BLOCKS`].
fn has_removed_block(html: &str) -> bool {
    let b = html.as_bytes();
    memchr::memchr_iter(b'<', b).any(|at| {
        let from = at + 1 + usize::from(b.get(at + 1) == Some(&b'/'));
        let len = b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        (2..=9).contains(&len)
            && REMOVED_BLOCKS
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(&b[from..from + len]))
    })
}

/// Most attributes one tag keeps (HTML's tokenizer compares each with every
/// other; no tag in a story has this many).
const MAX_ATTRIBUTES: usize = 64;

/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "xmp", "textarea", "title", "plaintext"];

/// Where the comment starting at `html[i]` (`<!--`) ends, as HTML's
/// tokenizer ends it: past `-->` or `--!>` (`<!-->` and `<!--->` are whole,
/// empty comments), else at the end.
pub(crate) fn comment_end(html: &str, i: usize) -> usize {
    for empty in ["<!-->", "<!--->"] {
        if html[i..].starts_with(empty) {
            return i + empty.len();
        }
    }
    let mut from = i + 4;
    while let Some(at) = html[from..].find("--").map(|e| from + e) {
        let rest = &html[at + 2..];
        if rest.starts_with('>') {
            return at + 3;
        }
        if rest.starts_with("!>") {
            return at + 4;
        }
        from = at + 1;
    }
    html.len()
}

/// Where raw text opened by `name` ends: at its end tag (`</name` then white
/// space, `/` or `>`), else at the end.
pub(crate) fn raw_text_end(html: &str, from: usize, name: &str) -> usize {
    let b = html.as_bytes();
    let mut k = from;
    while let Some(at) = html[k..].find("</").map(|e| k + e) {
        let end = at + 2 + name.len();
        if end <= b.len()
            && html.is_char_boundary(end)
            && html[at + 2..end].eq_ignore_ascii_case(name)
            && b.get(end)
                .is_none_or(|c| matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'))
        {
            return at;
        }
        k = at + 2;
    }
    html.len()
}

/// Whether a URL is http(s), protocol-relative or relative: what an
/// iframe's link may be (its text shows the address).
fn web_or_relative(url: &str) -> bool {
    match url.find([':', '/', '?', '#']) {
        Some(at) if url.as_bytes()[at] == b':' => {
            let scheme = &url[..at];
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        }
        _ => true,
    }
}

/// A raw attribute value (its references as written) between double quotes:
/// `"`, `<` and `>` as references.
fn escape_attr(s: &str) -> String {
    s.replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `html` without a `<base href="…">` it starts with, and that base.
fn leading_base(html: &str) -> (&str, Option<String>) {
    let none = (html, None);
    let t = html.trim_start();
    let Some(rest) = t
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("<base href="))
        .map(|_| &t[11..])
    else {
        return none;
    };
    let (quote, rest) = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => (q, &rest[1..]),
        _ => return none,
    };
    let Some(end) = rest.find(quote) else {
        return none;
    };
    let Some(after) = rest[end + 1..].trim_start().strip_prefix('>') else {
        return none;
    };
    (after, Some(crate::parse::decode_entities(&rest[..end])))
}

/// How an attribute carries URLs.
enum UrlAttr {
    /// Not a URL.
    No,
    /// A link the reader follows when asked (`href`, `cite`, …).
    Link,
    /// A resource the reader loads by itself (`src`, `poster`, …).
    Resource,
    /// `srcset`: a list of resources.
    SrcSet,
    /// Never kept (`ping`: requests on every click).
    Never,
}

fn url_attr(element: &str, attr: &str) -> UrlAttr {
    match attr {
        "href" | "xlink:href" | "cite" | "action" | "formaction" | "longdesc" | "usemap" => {
            UrlAttr::Link
        }
        "src" | "poster" | "background" | "lowsrc" | "dynsrc" | "manifest" | "codebase"
        | "icon" | "profile" | "classid" | "archive" => UrlAttr::Resource,
        "data" if element == "object" => UrlAttr::Resource,
        "srcset" | "imagesrcset" => UrlAttr::SrcSet,
        "ping" => UrlAttr::Never,
        _ => UrlAttr::No,
    }
}

/// ammonia's attribute filter: every URL attribute resolved and checked.
fn filter_attribute<'v>(element: &str, attr: &str, value: &'v str) -> Option<Cow<'v, str>> {
    if attr == "dir" {
        let v = value.trim().to_ascii_lowercase();
        return matches!(v.as_str(), "ltr" | "rtl" | "auto").then_some(Cow::Owned(v));
    }
    match url_attr(element, attr) {
        UrlAttr::No => Some(Cow::Borrowed(value)),
        UrlAttr::Link => checked_url(value, LINK_SCHEMES),
        UrlAttr::Resource => checked_url(value, RESOURCE_SCHEMES),
        UrlAttr::SrcSet => checked_srcset(value),
        UrlAttr::Never => None,
    }
}

/// `value` if it is an absolute URL with an allowed scheme; a relative URL
/// resolved against the current base (only an http(s) one) and checked again,
/// while the body's allowance of growth lasts ([`GROWTH`]); a bare
/// `#fragment` as it is when there is no base, or the base's query holds a
/// secret; otherwise `None`.
fn checked_url<'v>(value: &'v str, schemes: &[&str]) -> Option<Cow<'v, str>> {
    match Url::parse(value) {
        Ok(u) => schemes
            .contains(&u.scheme())
            .then_some(Cow::Borrowed(value)),
        Err(url::ParseError::RelativeUrlWithoutBase) => BASE.with(|b| match &*b.borrow() {
            // An anchor against a private feed's URL (a story without a
            // link) stays as written: resolved, it published the feed's
            // `?token=`.
            Some(base) if urls::keeps_the_query(value) && urls::has_secret_query(base) => {
                let fragment = value.trim_matches(|c: char| c <= ' ');
                fragment.starts_with('#').then_some(Cow::Borrowed(fragment))
            }
            // (Past the body's allowance of growth, a relative URL is
            // dropped.)
            Some(base) => urls::resolve(Some(base), value).and_then(|url| {
                // (Counted as written out: `&` as `&amp;`.)
                let written = url.len() + 4 * memchr::memchr_iter(b'&', url.as_bytes()).count();
                let added = written.saturating_sub(value.len());
                GROWTH.with(|g| {
                    let left = g.get().checked_sub(added)?;
                    g.set(left);
                    Some(Cow::Owned(url))
                })
            }),
            None => value
                .trim()
                .starts_with('#')
                .then_some(Cow::Borrowed(value)),
        }),
        Err(_) => None,
    }
}

/// A `srcset` whose every candidate URL passes [`checked_url`] (resolved), else `None`.
/// Read as the HTML standard reads it: a URL runs to white space (image CDNs
/// put commas in theirs: `/fetch/w_424,c_limit/x.png 424w`), commas at its
/// end close the candidate, and its descriptors run to the next comma
/// outside parentheses.
fn checked_srcset(value: &str) -> Option<Cow<'_, str>> {
    let mut out = Vec::new();
    let mut written = 0;
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (raw, after) = rest.split_at(end);
        let url = raw.trim_end_matches(',');
        let descriptor;
        if url.len() < raw.len() {
            // Commas right after the URL: no descriptors.
            descriptor = "";
            rest = after;
        } else {
            // (Parentheses do not nest: the first `)` closes them.)
            let mut in_parens = false;
            let stop = after
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => in_parens = true,
                        ')' => in_parens = false,
                        ',' if !in_parens => return true,
                        _ => {}
                    }
                    false
                })
                .map_or(after.len(), |(i, _)| i);
            descriptor = after[..stop].trim();
            rest = &after[stop..];
        }
        // Only width, density and height descriptors (`424w`, `1.5x`): any
        // other text is what a browser might read otherwise, as another
        // candidate (`1x ((), javascript:… 2x`).
        let plain = |d: &str| {
            d.strip_suffix(['w', 'x', 'h']).is_some_and(|n| {
                !n.is_empty() && n.parse::<f64>().is_ok_and(|v| v >= 0.0 && v.is_finite())
            })
        };
        if !descriptor.split_ascii_whitespace().all(plain) {
            return None;
        }
        let url = checked_url(url, RESOURCE_SCHEMES)?;
        out.push(format!("{url} {descriptor}").trim_end().to_string());
        written += out.last().map_or(0, String::len) + 2;
        // (The serialiser rescans the rest of a value at each `&` in it: a
        // 1 MB srcset of resolved `&`s took 9.5 s.)
        if written > MAX_SRCSET {
            return None;
        }
    }
    (!out.is_empty()).then(|| Cow::Owned(out.join(", ")))
}

/// Bidi override and isolate characters: U+202A–U+202E, U+2066–U+2069; and
/// (never shown either) the noncharacters U+FFFE and U+FFFF.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFE}' | '\u{FFFF}')
}

/// A title, author or feed name as shown: without bidi override/isolate
/// characters, control characters other than tab and line ends (an ESC or a
/// BEL in an author reached the river page and the JSON Feed, and a terminal
/// reading them ran the escape) or the noncharacters U+FFFE and U+FFFF.
pub fn plain_title(s: &str) -> Cow<'_, str> {
    let unshown =
        |c: char| is_bidi_control(c) || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    if s.chars().any(unshown) {
        Cow::Owned(s.chars().filter(|c| !unshown(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// `<` and `>` escaped, and `&` where it starts a character reference, so that a
/// reader that takes the text for HTML shows it literally, while a reader that
/// takes it for plain text still shows an ordinary `Q&A` as written.
pub fn escape_markup(s: &str) -> Cow<'_, str> {
    if !s.contains(['<', '>']) && !s.match_indices('&').any(|(i, _)| starts_reference(&s[i..])) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (i, c) in s.char_indices() {
        match c {
            '&' if starts_reference(&s[i..]) => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether `s` (starting at a `&`) begins what an HTML parser reads as a
/// character reference: `&name;` (a name of at most 32 characters), a number
/// (`&#60`, `&#x3c`, with or without `;`), or one of the legacy names HTML
/// reads without `;` (`&lt`, `&copy`, `&nbsp`...: `&ltimg` is `<img`).
fn starts_reference(s: &str) -> bool {
    let body = &s.as_bytes()[1..];
    let (digits, ok, numeric): (&[u8], fn(&u8) -> bool, bool) = match body {
        [b'#', b'x' | b'X', rest @ ..] => (rest, u8::is_ascii_hexdigit, true),
        [b'#', rest @ ..] => (rest, u8::is_ascii_digit, true),
        _ => (body, u8::is_ascii_alphanumeric, false),
    };
    let n = digits.iter().take(33).take_while(|c| ok(c)).count();
    if n == 0 {
        return false;
    }
    numeric
        || (n <= 32 && digits.get(n) == Some(&b';'))
        || LEGACY_REFERENCES
            .iter()
            .any(|r| body.starts_with(r.as_bytes()))
}

/// The references HTML reads without a semicolon (the HTML standard's
/// named character references, those listed without `;`).
const LEGACY_REFERENCES: &[&str] = &[
    "AElig", "AMP", "Aacute", "Acirc", "Agrave", "Aring", "Atilde", "Auml", "COPY", "Ccedil",
    "ETH", "Eacute", "Ecirc", "Egrave", "Euml", "GT", "Iacute", "Icirc", "Igrave", "Iuml", "LT",
    "Ntilde", "Oacute", "Ocirc", "Ograve", "Oslash", "Otilde", "Ouml", "QUOT", "REG", "THORN",
    "Uacute", "Ucirc", "Ugrave", "Uuml", "Yacute", "aacute", "acirc", "acute", "aelig", "agrave",
    "amp", "aring", "atilde", "auml", "brvbar", "ccedil", "cedil", "cent", "copy", "curren", "deg",
    "divide", "eacute", "ecirc", "egrave", "eth", "euml", "frac12", "frac14", "frac34", "gt",
    "iacute", "icirc", "iexcl", "igrave", "iquest", "iuml", "laquo", "lt", "macr", "micro",
    "middot", "nbsp", "not", "ntilde", "oacute", "ocirc", "ograve", "ordf", "ordm", "oslash",
    "otilde", "ouml", "para", "plusmn", "pound", "quot", "raquo", "reg", "sect", "shy", "sup1",
    "sup2", "sup3", "szlig", "thorn", "times", "uacute", "ucirc", "ugrave", "uml", "uuml",
    "yacute", "yen", "yuml",
];

/// A story with only publishable links (others dropped, logged at debug) and
/// plain source titles and author. Gives the secrets of its private feeds
/// that its items may repeat, for [`hide_in_clean`] once its HTML is
/// sanitised.
pub fn check_story(story: &mut Story) -> Vec<String> {
    let uid = story.uid.as_str();
    // (A link that names a private feed's own document, stored before such
    // links were no links: it gives the feed's `?token=` away.)
    let feed_url = story.source.feed_url.clone();
    // (Nor one that repeats a private feed's secret: a premium podcast's
    // items carry its `?token=` in their links and media. Dropped, and in
    // the text hidden.)
    let secrets = story_secrets(story);
    let repeats = |l: &str| repeats_secret(l, &secrets);
    story.link = checked_link(story.link.take(), uid, "link")
        .filter(|l| !names_a_private_document(l, &feed_url) && !repeats(l));
    if !secrets.is_empty() {
        // (Nor a file whose media type spells one: `audio/<token>`.)
        story
            .enclosures
            .retain(|e| !repeats(&e.url) && !e.media_type.as_deref().is_some_and(&repeats));
        // (The HTML is hidden in once sanitised, `hide_in_clean`: hidden
        // here, an attribute that carried one no longer did, and was
        // published as a broken `…?k=***` link or picture.)
        for text in [&mut story.title, &mut story.author].into_iter().flatten() {
            hide_in(text, &secrets);
        }
        // (A source's home page and title too: the channel's `<link>`
        // repeating the token under another name, in its path or as
        // `user@`, and a title naming it, were published.)
        for src in std::iter::once(&mut story.source).chain(&mut story.also) {
            src.link = src.link.take().filter(|l| !repeats(l));
            src.site_url = src.site_url.take().filter(|l| !repeats(l));
            if let Some(t) = &mut src.title {
                hide_in(t, &secrets);
            }
        }
    }
    // (A title of invisible characters alone, zero-width spaces, is none:
    // the story's text stands in for it. It was published as an invisible
    // link in the river and an empty title in every format.)
    story.title = story.title.take().map(plain).filter(|t| !shows_nothing(t));
    // (One made only of such characters is no author: it was published as
    // an empty name.)
    // (Nor one of spaces and invisible characters: zero-width ones, marks,
    // a soft hyphen, a byte-order mark.)
    // An author written as HTML (arXiv's `<a href=…>Jane Doe</a>, …`) is its
    // text: the markup showed as text.
    story.author = story
        .author
        .take()
        .map(|a| match markup_in(&a) {
            true => crate::store::search::plain_text(&a)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace(" ,", ","),
            false => a,
        })
        .map(plain)
        .filter(|a| !shows_nothing(a));
    check_source(&mut story.source, uid);
    for s in &mut story.also {
        check_source(s, uid);
    }
    secrets
}

/// Whether a URL carries one of `secrets`, in any letter case, as written or
/// percent-encoded (`?token=Sup3r%53ecret42`), or as a browser reads it
/// ([`as_read`]: a tab or line break inside it, which browsers drop, a
/// zero-width space, full-width letters in its host).
fn repeats_secret(url: &str, secrets: &[String]) -> bool {
    if secrets.is_empty() {
        return false;
    }
    let decoded = percent_encoding::percent_decode_str(url).decode_utf8_lossy();
    if secrets
        .iter()
        .any(|s| contains_ignoring_case(url, s) || contains_ignoring_case(&decoded, s))
        || spelled_as_read(url, secrets)
    {
        return true;
    }
    // Encoded twice or more (`%2553…`), with a separator a reader
    // does not see encoded inside it (`SECRET%E2%80%8Btok3n99`), or a `+`
    // for a space: each decoding read as a reader reads it.
    // (Until nothing more decodes, at most eight times: a fixed three let a
    // fourth encoding through.)
    let mut text = decoded.into_owned();
    for _ in 0..8 {
        let read = as_read(&text.replace('+', " "));
        if secrets.iter().any(|s| contains_ignoring_case(&read, s)) {
            return true;
        }
        let next = percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    false
}

/// `text` as a reader sees it, for finding a secret in it: without
/// white space and the characters that show nothing
/// ([`crate::parse::text::invisible`]: zero-width ones, a soft hyphen, a
/// word joiner, a byte-order mark) or control characters (NUL, DEL, C1:
/// `Zq7Kx%0092…` was published, and a DEL in an item's text), full-width
/// letters and digits as ASCII (`ｓｕｐ３ｒ`, which a browser maps so in a
/// host).
fn as_read(text: &str) -> String {
    text.chars()
        .filter(|c| !crate::parse::text::invisible(*c) && !c.is_control())
        .map(narrow)
        .collect()
}

/// A full-width ASCII character (U+FF01–U+FF5E) as ASCII.
fn narrow(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Whether `text` read as [`as_read`] reads it, or percent-decoded then,
/// spells one of `secrets`.
fn spelled_as_read(text: &str, secrets: &[String]) -> bool {
    let read = as_read(text);
    let decoded = percent_encoding::percent_decode_str(&read).decode_utf8_lossy();
    secrets
        .iter()
        .any(|s| contains_ignoring_case(&read, s) || contains_ignoring_case(&decoded, s))
}

/// `text` with each of `secrets` as `***` wherever a reader would read it
/// ([`as_read`]): its characters with white space or invisible ones between
/// them, in any case, full-width letters as ASCII, and percent-decoded.
fn hide_loosely(text: &str, secrets: &[String]) -> String {
    let mut text: String = text.chars().map(narrow).collect();
    for round in 0..2 {
        if round == 1 {
            if !spelled_as_read(&text, secrets) {
                break;
            }
            text = percent_encoding::percent_decode_str(&text)
                .decode_utf8_lossy()
                .into_owned();
        }
        for s in secrets {
            let pattern: Vec<String> = s.chars().map(|c| regex::escape(&c.to_string())).collect();
            let between = r"[\s\p{Default_Ignorable_Code_Point}\p{M}\p{Cc}\x{2800}]*";
            if let Ok(re) = regex::RegexBuilder::new(&pattern.join(between))
                .case_insensitive(true)
                .build()
            {
                text = re.replace_all(&text, "***").into_owned();
            }
        }
    }
    text
}

/// Whether `text` contains `s`, ASCII letters in any case.
fn contains_ignoring_case(text: &str, s: &str) -> bool {
    !s.is_empty()
        && text
            .as_bytes()
            .windows(s.len())
            .any(|w| w.eq_ignore_ascii_case(s.as_bytes()))
}

/// A story's sanitised HTML (`html`) without its private feeds' `secrets`
/// ([`check_story`]'s): hidden as `***` where the sanitised HTML spells
/// them (a character reference, `Sup3r&#83;ecret42`, and a comment inside
/// one were hidden only as written, and published decoded); and where
/// only its text spells them, across tags (`Sup3r<b>Secret42</b>`), or a
/// URL percent-encodes one, the HTML is published as its text, the secret
/// hidden.
pub fn hide_in_clean(html: &mut String, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    // (An attribute that carries one, `href="…?token=…"`, goes whole: hidden
    // inside it, the link was a broken `…?q=***`. The sanitiser writes every
    // attribute as `name="value"`.)
    drop_attributes_with(html, secrets);
    // (As written only: sanitised HTML percent-decoded could hold markup.)
    hide_as_written(html, secrets);
    let joined = crate::parse::text::strip_tags_as_stored(html);
    // (An attribute's URL with a tab or line break inside the token: a
    // browser drops them, and an `<img>` sent it with no click.)
    let spelled = spelled_as_read(&joined, secrets) || spelled_as_read(html, secrets);
    if !spelled {
        return;
    }
    let text = hide_loosely(&crate::parse::text::strip_tags(html), secrets);
    *html = format!("<p>{}</p>", crate::parse::text::escape_html(text.trim()));
}
/// `html` (sanitised) without the attributes whose value carries one of
/// `secrets` (in any case, as written or percent-encoded).
fn drop_attributes_with(html: &mut String, secrets: &[String]) {
    static ATTR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\s[A-Za-z][A-Za-z0-9_:.-]*="[^"<>]*""#).expect("valid")
    });
    if !ATTR
        .find_iter(html)
        .any(|m| repeats_secret(m.as_str(), secrets))
    {
        return;
    }
    *html = ATTR
        .replace_all(html, |c: &regex::Captures<'_>| {
            match repeats_secret(&c[0], secrets) {
                true => String::new(),
                false => c[0].to_string(),
            }
        })
        .into_owned();
}

/// The secrets of the private feeds a story comes from that its items may
/// repeat: the values [`urls::secret_values`] finds in their URLs, of 8
/// characters or more with letters and digits both (a token, a password),
/// never a word (`?sid=sports`: every "sports" in the text was hidden).
fn story_secrets(story: &Story) -> Vec<String> {
    secrets_of(
        std::iter::once(&story.source)
            .chain(&story.also)
            .map(|s| s.feed_url.as_str()),
    )
}

/// The secrets of feeds at `urls` that other text may repeat (see
/// [`story_secrets`]): in their URLs, and what they send otherwise
/// ([`urls::sent_secrets`]: a header's key, a bearer token, a password).
fn secrets_of<'a>(urls: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mixed = |v: &String| {
        v.len() >= 8
            && v.bytes().any(|b| b.is_ascii_digit())
            && v.bytes().any(|b| b.is_ascii_alphabetic())
    };
    // (What a feed sends may also be a key of digits only, 12 or more, or of
    // letters only in both cases, 16 or more: `X-Api-Key = "8374920193…"`
    // was published whole. Not in a URL, where `?sid=sports` is a word.)
    let uniform = |v: &String| {
        let b = v.as_bytes();
        (b.len() >= 12 && b.iter().all(u8::is_ascii_digit))
            || (b.len() >= 16
                && b.iter().all(u8::is_ascii_alphabetic)
                && b.iter().any(u8::is_ascii_uppercase)
                && b.iter().any(u8::is_ascii_lowercase))
    };
    urls.flat_map(|u| {
        let mut v: Vec<String> = urls::secret_values(u).into_iter().filter(mixed).collect();
        v.extend(
            urls::sent_secrets(u)
                .into_iter()
                .filter(|s| mixed(s) || uniform(s)),
        );
        v
    })
    .collect()
}

/// A private feed's error (`text`) with its token hidden wherever it
/// repeats it: a redirect's target that carries it in its path, under
/// another name (`?t=`) or in its fragment was quoted whole in the log, the
/// feed's last error and the index page, where only parameters named like
/// secrets were hidden. `urls`: the feed's configured address and the one
/// it is fetched at.
pub fn hide_feed_secrets_in_error(text: &mut String, urls: &[&str]) {
    // (As a bare `***`: an error is stored, and a tag, keyed anew by each
    // process, would name another token after a restart. Shown so, not
    // tagged as if `***` were the token: see `urls::shown_feed_url`.)
    let secrets = secrets_of(urls.iter().copied());
    if !secrets.is_empty() {
        hide_in(text, &secrets);
    }
}

/// `text` with each of `secrets` in it as `***` (ASCII letters in any case;
/// where only a reader would read one, [`as_read`], the text as
/// [`hide_loosely`] leaves it).
fn hide_in(text: &mut String, secrets: &[String]) {
    hide_as_written(text, secrets);
    if spelled_as_read(text, secrets) {
        *text = hide_loosely(text, secrets);
    }
    // (What only a URL's decodings spell, as the outputs judge a link:
    // encoded twice, a `%2B` or `%E2%80%8B` inside it. A redirect's target
    // quoted in an error carried it whole.) The word goes, but for the
    // origin of a URL.
    if text.split_whitespace().any(|w| repeats_secret(w, secrets)) {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            match repeats_secret(word, secrets) {
                true => match url::Url::parse(word).ok().filter(urls::is_web) {
                    Some(u) => {
                        out.push_str(&u.origin().ascii_serialization());
                        out.push_str("/***");
                    }
                    None => out.push_str("***"),
                },
                false => out.push_str(word),
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        *text = out;
    }
}

/// `text` with each of `secrets` in it as written as `***` (ASCII letters
/// in any case).
fn hide_as_written(text: &mut String, secrets: &[String]) {
    for s in secrets {
        if s.is_empty() || !contains_ignoring_case(text, s) {
            continue;
        }
        // (ASCII lower-casing keeps every byte where it was.)
        let lower = text.to_ascii_lowercase();
        let needle = s.to_ascii_lowercase();
        let mut out = String::with_capacity(text.len());
        let mut from = 0;
        for (at, _) in lower.match_indices(needle.as_str()) {
            if at < from {
                continue;
            }
            out.push_str(&text[from..at]);
            out.push_str("***");
            from = at + needle.len();
        }
        out.push_str(&text[from..]);
        *text = out;
    }
}

/// A search hit as the outputs publish its story: a private feed's token
/// that its item repeats is neither its link nor in its title or snippet
/// (`/search` showed what every output hid), nor in its sources' titles and
/// home pages. (Whether it is a hit at all, the search judged with
/// [`found_as_shown`].)
pub fn hide_feed_secrets(hit: &mut crate::store::search::Hit) {
    let secrets = story_secrets(&hit.story);
    if secrets.is_empty() {
        return;
    }
    hit.story.link = hit
        .story
        .link
        .take()
        .filter(|l| !repeats_secret(l, &secrets));
    hide_in_segments(&mut hit.title, &secrets);
    hide_in_segments(&mut hit.snippet, &secrets);
    for src in std::iter::once(&mut hit.story.source).chain(&mut hit.story.also) {
        src.link = src.link.take().filter(|l| !repeats_secret(l, &secrets));
        src.site_url = src.site_url.take().filter(|l| !repeats_secret(l, &secrets));
        if let Some(t) = &mut src.title {
            hide_in(t, &secrets);
        }
    }
}

/// Whether each of the query's `terms` is found in what `story` shows, its
/// private feeds' secrets hidden (always, for a story of no private feed).
/// (The search index holds the token as the item wrote it: counting the
/// hits of `k*`, `k7*`, … spelled it out a character at a time, while every
/// page showed `***`.) Judged inside the search, before its limit: judged after it, a private
/// story found by its token alone took the place of a public one at
/// `limit=1`, and the empty page told the token a character at a time. A
/// phrase's words are looked for one by one (punctuation between them, as
/// the index reads it).
pub fn found_as_shown(story: &Story, terms: &[crate::store::search::Term]) -> bool {
    let secrets = story_secrets(story);
    if secrets.is_empty() {
        return true;
    }
    let plain = |h: &Option<String>| crate::store::search::plain_text(h.as_deref().unwrap_or(""));
    let mut shown = [
        story.title.clone().unwrap_or_default(),
        plain(&story.html),
        plain(&story.summary),
    ]
    .join("\n");
    hide_in(&mut shown, &secrets);
    let words: Vec<crate::store::search::Term> = terms
        .iter()
        .flat_map(|t| match t.cjk {
            true => vec![t.clone()],
            false => {
                let parts: Vec<&str> = t
                    .text
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .collect();
                let n = parts.len();
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, w)| crate::store::search::Term {
                        text: w.to_string(),
                        cjk: false,
                        prefix: t.prefix && i + 1 == n,
                    })
                    .collect()
            }
        })
        .collect();
    crate::store::search::finds_every(&shown, &words)
}

/// [`hide_in`] for a title or snippet cut into matches: on their text as a
/// whole (a match inside a token, `ST-12345-abc` searched for `12345`,
/// parted it over three pieces, none holding it whole), and on a token the
/// snippet's cut leaves at either end (6 characters of it or more). Such a
/// text is one piece again, unmarked.
fn hide_in_segments(segs: &mut Vec<crate::store::search::Segment>, secrets: &[String]) {
    let joined: String = segs.iter().map(|s| s.text.as_str()).collect();
    let mut text = joined.clone();
    hide_in(&mut text, secrets);
    for s in secrets {
        let cuts: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
        // The token's end at the text's start (after an ellipsis).
        if let Some(i) = cuts.iter().find(|&&i| s[i..].chars().count() >= 6).copied() {
            for &c in cuts.iter().filter(|&&c| c >= i) {
                let tail = &s[c..];
                if tail.chars().count() < 6 {
                    break;
                }
                if let Some(at) = text.find(tail).filter(|&at| at <= 3) {
                    text.replace_range(at..at + tail.len(), "***");
                    break;
                }
            }
        }
        // Its start at the text's end (before an ellipsis).
        for &c in cuts.iter().rev() {
            let head = &s[..c];
            if head.chars().count() < 6 {
                break;
            }
            if let Some(at) = text
                .rfind(head)
                .filter(|&at| at + head.len() + 3 >= text.len())
            {
                text.replace_range(at..at + head.len(), "***");
                break;
            }
        }
    }
    if text != joined {
        // Each piece on its own, when that hides the same and no marked
        // piece held a token (a mark on `***` would say the query matched
        // it): the marks stay. (They were all dropped, so a snippet beside a
        // token showed no match.)
        let mut pieces = segs.clone();
        for p in &mut pieces {
            hide_in(&mut p.text, secrets);
        }
        let marks_untouched = pieces
            .iter()
            .zip(segs.iter())
            .all(|(p, s)| !p.mark || p.text == s.text);
        let rejoined: String = pieces.iter().map(|s| s.text.as_str()).collect();
        *segs = if marks_untouched && rejoined == text {
            pieces
        } else {
            vec![crate::store::search::Segment { text, mark: false }]
        };
    }
}

/// Whether text is HTML: an end tag (`</a>`) in it. (A name such as
/// `Ann <ann@e.org>` or `A <3 B` is text.)
fn markup_in(s: &str) -> bool {
    s.match_indices("</")
        .any(|(i, _)| s[i + 2..].starts_with(|c: char| c.is_ascii_alphabetic()))
}

fn check_source(src: &mut Source, uid: &str) {
    // (Before the URL may be cleared below.)
    let feed_url = src.feed_url.clone();
    // (Empty: not named. A `file:` feed's path on this machine, and a
    // private feed's `?token=`, were published.)
    // Named by its host then, at least (the URL gone, `Source::name` could
    // not tell it).
    if urls::publishable_feed_url(&src.feed_url).is_none() {
        tracing::debug!(story = uid, feed = %crate::urls::shown_feed_url(&src.feed_url), "feed URL not published");
        if src.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            src.title = Some(src.name());
        }
        src.feed_url.clear();
    }
    // (Nor a link with a secret in its query: a private feed's channel
    // link repeats its token, `https://www.reddit.com/?feed=<hex>&user=…`,
    // and was published as the source's home page.)
    let secret = |l: &str| Url::parse(l).is_ok_and(|u| urls::has_secret_query(&u));
    src.link = checked_link(src.link.take(), uid, "source link")
        .filter(|l| !names_a_private_document(l, &feed_url) && !secret(l));
    src.site_url = checked_link(src.site_url.take(), uid, "source home page")
        .filter(|l| !names_a_private_document(l, &feed_url) && !secret(l));
    src.title = src.title.take().map(plain).filter(|t| !shows_nothing(t));
}

fn plain(s: String) -> String {
    match plain_title(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

/// Whether `link` names a private feed's document (the feed's URL itself, or
/// any URL with a secret in its query, by a fragment): what a link of only a
/// fragment, resolved against the feed's (or its redirect's) URL, was stored
/// as before such links were no links.
fn names_a_private_document(link: &str, feed_url: &str) -> bool {
    let Ok(u) = Url::parse(link) else {
        return false;
    };
    // (A story's link with a fragment: by the names of its parameters only;
    // a commit's hash in it is no credential.)
    (u.fragment().is_some() && urls::has_secret_name_query(&u))
        || Url::parse(feed_url)
            .is_ok_and(|f| urls::has_secret_query(&f) && urls::names_the_document(link, &f))
}

fn checked_link(link: Option<String>, uid: &str, what: &str) -> Option<String> {
    let link = link?;
    let safe = urls::safe_link(&link);
    if safe.is_none() {
        tracing::debug!(story = uid, what, link = ?link, "not published: only absolute http(s) links are");
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Elements removed for their text part words where they stood, as
    /// search reads them (a newsletter's button ran into the next sentence).
    #[test]
    fn removed_blocks_leave_words_apart() {
        let body = "<div>Alpha</div><form><button>Subscribe</button></form>Beta<form>\
                    <input value=x><label>Email</label></form>Gamma<select><option>One</option>\
                    <option>Two</option></select>Zeta<textarea>Tx</textarea>Eta<section>S1</section>\
                    <section>S2</section><object><p>Fallback</p></object>Theta <b>Bo</b>ld";
        let clean = sanitize(body, None);
        let words = |h: &str| {
            crate::store::search::plain_text(h)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            words(&clean),
            "Alpha Subscribe Beta Email Gamma One Two Zeta Tx Eta S1 S2 Fallback Theta Bold",
            "{clean}"
        );
        assert_eq!(words(&clean), words(body));
        // (None of them is published.)
        assert!(
            !clean.contains("<form") && !clean.contains("<button") && !clean.contains("<section"),
            "{clean}"
        );
    }

    /// A lazily loaded picture shows its real address (`data-src`,
    /// `data-lazy-src`, `data-srcset`) where `src` is missing, a `data:`
    /// address or a placeholder's; a picture with its own `src` keeps it.
    /// A paragraph keeps its direction (`dir`), and only a direction.
    #[test]
    fn lazy_pictures_and_directions_are_shown() {
        let dirty = r#"<p><img class="lazyload" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/harbour.jpg" data-srcset="/img/harbour-2x.jpg 2x" alt="Harbour at dawn"><noscript><img src="/img/harbour-fallback.jpg"></noscript></p><p><img src="/img/google-pixel-9-review.jpg" data-src="/img/beacon.gif"><img src="/img/lazy_placeholder.gif" data-src="/img/pier.jpg"><img src="/img/1x1.gif" data-original="/img/dock.jpg"></p><p><img src="/img/placeholder.svg" data-lazy-src="/img/boats.jpg" alt="Boats"><img data-src='/img/net.jpg' alt=net><img src="/img/own.jpg" data-src="/img/other.jpg" alt="own"></p><p dir="RTL" lang="ar">قال</p><p dir="sideways">x</p>"#;
        let clean = sanitize(dirty, Some("https://n.example/post/1"));
        // Its twin before it, and markup in capitals.
        let twice = sanitize(
            r#"<p><noscript><img src="/img/quay.jpg"></noscript><img src="data:image/gif;base64,R0l" data-src="/img/quay.jpg"></p><p><IMG SRC="data:image/gif;base64,R0l" DATA-SRC="/img/up.jpg" ALT="up"><NOSCRIPT><IMG SRC="/img/up.jpg"></NOSCRIPT></p>"#,
            Some("https://n.example/post/1"),
        );
        assert_eq!(twice.matches("/img/quay.jpg").count(), 1, "{twice}");
        assert_eq!(twice.matches("/img/up.jpg").count(), 1, "{twice}");
        assert!(
            twice.contains(r#"src="https://n.example/img/up.jpg""#),
            "{twice}"
        );
        for want in [
            r#"src="https://n.example/img/harbour.jpg""#,
            r#"srcset="https://n.example/img/harbour-2x.jpg 2x""#,
            r#"src="https://n.example/img/boats.jpg""#,
            r#"src="https://n.example/img/net.jpg""#,
            r#"src="https://n.example/img/own.jpg""#,
            r#"<p dir="rtl" lang="ar">"#,
            r#"src="https://n.example/img/google-pixel-9-review.jpg""#,
            r#"src="https://n.example/img/pier.jpg""#,
            r#"src="https://n.example/img/dock.jpg""#,
        ] {
            assert!(clean.contains(want), "{want}: {clean}");
        }
        for gone in [
            "placeholder.svg",
            "other.jpg",
            "data:",
            "sideways",
            "harbour-fallback",
            "beacon.gif",
            "lazy_placeholder",
            "1x1.gif",
        ] {
            assert!(!clean.contains(gone), "{gone}: {clean}");
        }
        // Nothing lazy: as written.
        let plain = "<p><img src=\"a.png\" alt=\"x\"> data-src in text</p>";
        assert_eq!(with_lazy_sources(plain), plain);
    }

    /// A link or picture whose address carries a private feed's token loses
    /// that attribute, not its text: hidden inside it, the link was a broken
    /// `…?category=***`. The token in the text is hidden; the rest stays.
    #[test]
    fn attributes_carrying_a_secret_go_whole() {
        let secrets = vec!["Sup3rS3cretTok42".to_string()];
        let mut html = "<p>See <a href=\"https://e.example/c?category=sup3rs3crettok42\" rel=\"noopener\">the category</a>, \
             <img src=\"https://e.example/i.png?k=Sup3rS3cretTok42\" alt=\"chart\"> and \
             <a href=\"https://e.example/about\">about</a> (key Sup3rS3cretTok42).</p>"
            .to_string();
        hide_in_clean(&mut html, &secrets);
        assert_eq!(
            html,
            "<p>See <a rel=\"noopener\">the category</a>, <img alt=\"chart\"> and \
             <a href=\"https://e.example/about\">about</a> (key ***).</p>"
        );
        // Encoded twice, or with a separator a reader does not see, or a
        // space, encoded inside it: the same.
        for href in [
            "https://e.example/c?x=Sup3rS3cret%E2%80%8BTok42",
            "https://e.example/c?x=Sup3rS3cret%C2%ADTok42",
            "https://e.example/c?x=Sup3rS3cret%20Tok42",
            "https://e.example/c?x=Sup3rS3cret+Tok42",
            "https://e.example/c?x=%2553up3rS3cretTok42",
            "https://e.example/c?x=%252553up3rS3cretTok42",
            // (Encoded four times: three rounds let it through.)
            "https://e.example/c?x=%2525252553up3rS3cretTok42",
            // (A control character inside it, encoded: NUL, DEL, C1, and
            // NUL encoded twice.)
            "https://e.example/c?x=Sup3rS3cret%00Tok42",
            "https://e.example/c?x=Sup3rS3cret%7FTok42",
            "https://e.example/c?x=Sup3rS3cret%C2%80Tok42",
            "https://e.example/c?x=Sup3rS3cret%2500Tok42",
        ] {
            let mut html = format!("<p><a href=\"{href}\">x</a></p>");
            hide_in_clean(&mut html, &secrets);
            assert_eq!(html, "<p><a>x</a></p>", "{href}");
        }
        // A DEL inside it in the text (`&#127;`, as the sanitiser keeps it).
        let mut html = "<p>key Sup3rS3cret\u{7f}Tok42 here</p>".to_string();
        hide_in_clean(&mut html, &secrets);
        assert_eq!(html, "<p>key *** here</p>");
    }

    /// A private feed's error hides its token in every spelling the outputs
    /// hide it in: a redirect's target repeating it encoded twice, with a
    /// zero-width space, a soft hyphen, a `+` or a NUL encoded inside it,
    /// was quoted whole in the log, `feeds` and the index page.
    #[test]
    fn an_error_hides_the_token_in_every_spelling_of_a_url() {
        let feed = "https://e.example/feed?token=Zq7Kx92Pmw4Tn8Lr";
        for target in [
            "https://e.example/gone?x=%255A%2571%2537Kx92Pmw4Tn8Lr",
            "https://e.example/gone?x=Zq7Kx%E2%80%8B92Pmw4Tn8Lr",
            "https://e.example/gone?x=Zq7Kx%C2%AD92Pmw4Tn8Lr",
            "https://e.example/gone?x=Zq7Kx%2B92Pmw4Tn8Lr",
            "https://e.example/gone?x=Zq7Kx%0092Pmw4Tn8Lr",
        ] {
            let mut error = format!("{target} answered HTTP 404 (reached through a redirect)");
            hide_feed_secrets_in_error(&mut error, &[feed]);
            assert_eq!(
                error, "https://e.example/*** answered HTTP 404 (reached through a redirect)",
                "{target}"
            );
        }
    }
    use crate::urls::tests::HOSTILE;

    /// Every URL in the attributes of sanitised HTML (ammonia writes `name="value"`).
    fn urls_in(html: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find("=\"") {
            let name = rest[..i]
                .rsplit([' ', '<'])
                .next()
                .unwrap_or("")
                .to_string();
            let after = &rest[i + 2..];
            let end = after.find('"').unwrap();
            let value = after[..end].replace("&amp;", "&");
            rest = &after[end + 1..];
            if name == "rel" {
                continue;
            }
            let list: Vec<String> = if name == "srcset" {
                value
                    .split(',')
                    .map(|c| c.split_whitespace().next().unwrap_or("").to_string())
                    .collect()
            } else {
                vec![value]
            };
            out.extend(list.into_iter().map(|v| (name.clone(), v)));
        }
        out
    }

    #[test]
    fn hostile_urls_never_survive_in_any_url_attribute() {
        for h in HOSTILE {
            let e = crate::parse::escape_html(h);
            let dirty = format!(
                r#"<a href="{e}">a</a><img src="{e}"><img srcset="{e} 1x, https://ok.example/i.png 2x"><blockquote cite="{e}">q</blockquote><video poster="{e}" src="{e}"></video><audio src="{e}"></audio><video><source src="{e}"><track src="{e}"></video><picture><source srcset="{e} 1x"></picture><a href="https://ok.example/" ping="https://t.example/">ok</a>"#
            );
            for base in [
                Some("https://example.org/post/1"),
                Some("javascript://x/%0aalert(1)//"),
                Some("data:text/html,<b>x</b>"),
                None,
            ] {
                let clean = sanitize(&dirty, base);
                for (attr, url) in urls_in(&clean) {
                    let scheme = url::Url::parse(&url).map(|u| u.scheme().to_string());
                    assert!(
                        matches!(scheme.as_deref(), Ok("http" | "https")),
                        "{h:?} with base {base:?} left {attr}={url:?} in {clean}"
                    );
                }
                assert!(!clean.contains("ping="), "{clean}");
            }
        }
    }

    #[test]
    fn a_storys_audio_and_video_stay_without_autoplay_or_control_characters() {
        let dirty = "<p>Episode\u{1b}[31m 12\u{7}</p>\
            <audio controls autoplay src=\"ep12.mp3\" onplay=\"x()\"></audio>\
            <video controls autoplay poster=\"p.jpg\" width=\"640\"><source src=\"clip.webm\" type=\"video/webm\"><track src=\"subs.vtt\" kind=\"subtitles\" srclang=\"en\"></video>\
            <picture><source srcset=\"wide.avif 2x\" type=\"image/avif\"><img src=\"wide.jpg\" alt=\"w\"></picture>";
        let clean = sanitize(dirty, Some("https://pod.example/ep/12"));
        for kept in [
            "<p>Episode[31m 12</p>",
            "<audio controls=\"\" src=\"https://pod.example/ep/ep12.mp3\"></audio>",
            "poster=\"https://pod.example/ep/p.jpg\"",
            "<source src=\"https://pod.example/ep/clip.webm\" type=\"video/webm\">",
            "<track src=\"https://pod.example/ep/subs.vtt\" kind=\"subtitles\" srclang=\"en\">",
            "<picture><source srcset=\"https://pod.example/ep/wide.avif 2x\" type=\"image/avif\">",
        ] {
            assert!(clean.contains(kept), "{kept} not in {clean}");
        }
        assert!(
            !clean.contains("autoplay") && !clean.contains("onplay"),
            "{clean}"
        );
        assert!(!clean.contains(['\u{1b}', '\u{7}']), "{clean}");
    }

    #[test]
    fn srcset_urls_keep_their_commas() {
        // An image CDN's URLs (Substack, Cloudinary, imgix), a candidate
        // closed by a comma right after its URL, descriptors with a comma in
        // parentheses, and an unsafe candidate dropping the attribute.
        let dirty = r#"<img srcset="https://cdn.example/fetch/w_424,c_limit,f_webp/c.png 424w,https://cdn.example/fetch/w_848,c_limit/c.png   848w"><img srcset="a.png,, b.png 2x"><img srcset="x.png 1.5x, y.png 2x"><img srcset="ok.png 1x, javascript:alert(1),x 2x"><img srcset="a.png 1x ((), javascript:alert(1) 2x"><img srcset="a.png 1x (x, data:image/svg+xml;base64,PHN2Zz4= 2x)">"#;
        let clean = sanitize(dirty, Some("https://example.org/post/1"));
        for want in [
            r#"srcset="https://cdn.example/fetch/w_424,c_limit,f_webp/c.png 424w, https://cdn.example/fetch/w_848,c_limit/c.png 848w""#,
            r#"srcset="https://example.org/post/a.png, https://example.org/post/b.png 2x""#,
            r#"srcset="https://example.org/post/x.png 1.5x, https://example.org/post/y.png 2x""#,
        ] {
            assert!(clean.contains(want), "{want} not in {clean}");
        }
        assert!(
            !clean.contains("javascript") && !clean.contains("data:"),
            "{clean}"
        );
        assert_eq!(clean.matches("srcset").count(), 3, "{clean}");
    }

    #[test]
    fn relative_urls_resolve_only_against_a_web_base() {
        let dirty = r##"<a href="foo">f</a><img src="/i.png"><a href="//cdn.example/x">c</a><a href="#n1">n</a><img srcset="a.png 1x, b.png 2x">"##;
        let clean = sanitize(dirty, Some("https://example.org/post/1"));
        for want in [
            r#"href="https://example.org/post/foo""#,
            r#"src="https://example.org/i.png""#,
            r#"href="https://cdn.example/x""#,
            r#"href="https://example.org/post/1#n1""#,
            r#"srcset="https://example.org/post/a.png 1x, https://example.org/post/b.png 2x""#,
        ] {
            assert!(clean.contains(want), "{want} not in {clean}");
        }
        // The base of the issue: a script URL. Nothing resolves; text stays.
        for base in [
            Some("javascript://x/%0aalert(1)//"),
            Some("data:text/html,<script>alert(1)</script>"),
            None,
        ] {
            let clean = sanitize(dirty, base);
            assert_eq!(
                clean,
                r##"<a rel="noopener noreferrer">f</a><img><a rel="noopener noreferrer">c</a><a href="#n1" rel="noopener noreferrer">n</a><img>"##,
                "{base:?}"
            );
        }
        // Other safe schemes in links stay; in images they do not.
        let clean = sanitize(
            r#"<a href="mailto:a@example.org">m</a><img src="mailto:a@example.org">"#,
            None,
        );
        assert_eq!(
            clean,
            r#"<a href="mailto:a@example.org" rel="noopener noreferrer">m</a><img>"#
        );
    }

    #[test]
    fn titles_lose_bidi_controls_and_markup_can_be_escaped() {
        assert_eq!(plain_title("abc\u{202E}fdp.exe\u{2069}"), "abcfdp.exe");
        assert!(matches!(plain_title("plain"), Cow::Borrowed(_)));
        assert_eq!(
            plain_title("Ann \u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}1m\u{FFFE} Lee\u{7f}"),
            "Ann [2J]0;pwned1m Lee"
        );
        assert_eq!(plain_title("tab\there"), "tab\there");
        assert_eq!(
            escape_markup("<b>x</b> & \"y\""),
            "&lt;b&gt;x&lt;/b&gt; & \"y\""
        );
        // Plain ampersands stay as written; ones that would read as references don't.
        assert!(matches!(escape_markup("Q&A, AT&T, R&D"), Cow::Borrowed(_)));
        assert_eq!(
            escape_markup("&lt;3 &#60; &#x3c;"),
            "&amp;lt;3 &amp;#60; &amp;#x3c;"
        );
        // What HTML reads without a semicolon is escaped too.
        assert_eq!(
            escape_markup("&ltimg src=x&gt &#60b &copy2026 Q&A &notes"),
            "&amp;ltimg src=x&amp;gt &amp;#60b &amp;copy2026 Q&A &amp;notes"
        );
    }

    #[test]
    fn empty_elements_written_with_end_tags_are_one() {
        let html = "<p>one<br></br>two<BR class=\"x\"></Br >three</br>four<hr></hr><p></p></p><img src=\"https://e.org/a.png\"></img>";
        assert_eq!(
            readable_html(html),
            "<p>one<br>two<BR class=\"x\">three</br>four<hr><p></p></p><img src=\"https://e.org/a.png\">"
        );
        let out = sanitize("<p>line one<br></br>line two</p>", None);
        assert_eq!(out.matches("<br>").count(), 1, "{out}");
        // A `</br>` written alone is a break still.
        let out = sanitize("<p>a</br>b</p>", None);
        assert_eq!(out.matches("<br>").count(), 1, "{out}");
        assert_eq!(readable_html("plain <b></b>"), "plain <b></b>");
        // Attribute values and comments are text, left as they are.
        for kept in [
            "<img alt=\"a></img>b\">",
            "<img alt=\"x<br></br>y\">",
            "<br title='a></br>b'>",
            "<!-- <br></br> --><p>x</p>",
        ] {
            assert_eq!(readable_html(kept), kept);
        }
        assert_eq!(
            readable_html("<img alt=\"a>b\"></img><br/></br>"),
            "<img alt=\"a>b\"><br/>"
        );
        // As HTML reads them: an empty comment, a quote in an attribute's name.
        assert_eq!(readable_html("<!-->a<br></br>b -->"), "<!-->a<br>b -->");
        assert_eq!(readable_html("a<br x\"y></br>b"), "a<br x\"y>b");
    }

    #[test]
    fn an_author_written_as_html_is_its_text() {
        let mut s = super::super::tests::story("u", "");
        s.author = Some(
            "<a href=\"http://arxiv.org/find/a\">Jane Doe</a>, <a href=\"http://arxiv.org/find/b\">Richard Roe</a>"
                .into(),
        );
        check_story(&mut s);
        assert_eq!(s.author.as_deref(), Some("Jane Doe, Richard Roe"));
        // A name with a `<` that ends no element is kept as written.
        for name in ["A <3 B", "Ann <ann@e.org>"] {
            s.author = Some(name.into());
            check_story(&mut s);
            assert_eq!(s.author.as_deref(), Some(name));
        }
    }

    #[test]
    fn fallbacks_show_and_frames_are_links() {
        // A lazy-loading plugin's real image, inside <noscript>: shown as an
        // image, not as escaped text.
        let out = sanitize(
            "<p><img src=\"data:image/gif;base64,R0l\" data-src=\"https://e.org/a.jpg\" alt=\"photo\"><NoScript><img src=\"https://e.org/a.jpg\" alt=\"photo\"></noscript></p>",
            None,
        );
        // (Once: the lazy picture is given its address, and its fallback
        // goes.)
        assert_eq!(
            out.matches("src=\"https://e.org/a.jpg\"").count(),
            1,
            "{out}"
        );
        assert!(!out.contains("&lt;"), "{out}");
        // An embedded video: a link to it, its fallback gone.
        let out = sanitize(
            "<figure><iframe width=\"560\" src=\"https://www.youtube.com/embed/x1?a=1&amp;b=2\"><a href=\"https://e.org\">Watch</a></iframe></figure>",
            None,
        );
        assert!(
            out.contains("<a href=\"https://www.youtube.com/embed/x1?a=1&amp;b=2\""),
            "{out}"
        );
        assert!(!out.contains("Watch") && !out.contains("&lt;"), "{out}");
        // One whose address is no web link is gone, and a <noembed>'s
        // fallback shows.
        let out = sanitize(
            "<iframe src=\"javascript:alert(1)\"></iframe><noembed><b>no video</b></noembed>",
            None,
        );
        assert!(!out.contains("javascript"), "{out}");
        assert!(out.contains("<b>no video</b>"), "{out}");
        // (Nor written with a character reference: no dead link showing it.)
        let out = sanitize(
            "<iframe src=\"&#106;avascript:alert(1)\"></iframe><iframe src=\"java&Tab;script:x\"></iframe>",
            Some("https://e.org/post"),
        );
        assert!(
            !out.contains("avascript") && !out.contains("script:"),
            "{out}"
        );
        // Written as XML (`/>`) or never closed: what follows stays.
        for html in [
            "<p>Intro</p><iframe src=\"https://v.example/e/1\" /><p>Body after</p>",
            "<p>Intro</p><iframe src=\"https://v.example/e/1\"><p>Body after</p>",
        ] {
            let out = sanitize(html, None);
            assert!(
                out.contains("Body after") && out.contains("https://v.example/e/1"),
                "{out}"
            );
        }
    }

    /// A tag that never ends is the rest of the input: nothing after it is
    /// read as tags (a run of 40,000 of them was read from each, and took
    /// 20 s of CPU per rendering).
    #[test]
    fn an_unterminated_tag_is_the_rest() {
        let mut html = String::from("<p>Hello</p><br></br><noscript>");
        for _ in 0..40_000 {
            html.push_str("<b x=\"");
        }
        // (The parser drops a tag that reaches the end: so is it here, with
        // its attributes, which cost the tokenizer quadratic time.)
        assert_eq!(readable_html(&html), "<p>Hello</p><br>");
        assert_eq!(sanitize(&html, None), "<p>Hello</p><br>");
        let attrs: Vec<String> = (0..5_000).map(|k| format!("a{k}")).collect();
        let html = format!("<p>x</p><p {}", attrs.join(" "));
        assert_eq!(readable_html(&html), "<p>x</p>");
        // Unclosed iframes (each looked for its end once, not to the end
        // of the text each): each gone, what follows them kept.
        let mut html = String::from("<p>x</p>");
        for _ in 0..20_000 {
            html.push_str("<iframe>");
        }
        html.push_str("<p>after</p>");
        assert_eq!(readable_html(&html), "<p>x</p><p>after</p>");
    }

    /// How deep sanitised HTML nests its elements.
    fn depth_of(html: &str) -> usize {
        let (mut depth, mut max) = (0usize, 0);
        let mut i = 0;
        while let Some(k) = html[i..].find('<') {
            i += k;
            match read_tag(html, i) {
                Read::Tag(t) => {
                    if t.end_tag {
                        depth = depth.saturating_sub(1);
                    } else if !nesting::VOID.contains(&t.name.as_str()) {
                        depth += 1;
                        max = max.max(depth);
                    }
                    i = t.end;
                }
                _ => i += 1,
            }
        }
        max
    }

    /// However a story nests or misnests its tags, the sanitiser's parser
    /// is given a bounded depth (50,000 nested `<div>`s took 12 s of CPU
    /// per item per format), and the text stays; comments, raw text and SVG
    /// do not hide the nesting.
    #[test]
    fn nesting_stays_within_bounds() {
        let n = 20_000;
        let shapes: Vec<(&str, String)> = vec![
            (
                "divs",
                format!("{}deep{}", "<div>".repeat(n), "</div>".repeat(n)),
            ),
            ("spans unclosed", format!("{}deep", "<span>".repeat(n))),
            ("lists", format!("{}deep", "<ul><li>".repeat(n / 2))),
            ("tables", format!("{}deep", "<table><tr><td>".repeat(n / 3))),
            (
                "reopened bold",
                (0..n / 2).map(|k| format!("<p><b id={k}></p>x")).collect(),
            ),
            (
                "moved bold",
                format!("{}deep", "<b><div></b>".repeat(n / 2)),
            ),
            (
                "emphasis unclosed",
                (0..n).map(|k| format!("<em class={k}>x")).collect(),
            ),
            (
                "after a comment ended by --!>",
                format!("<p>x</p><!----!>{}deep", "<div>".repeat(n)),
            ),
            (
                "after a script holding <!--",
                format!("<p>x</p><script><!--</script>{}deep-->", "<div>".repeat(n)),
            ),
            (
                "bogus comments",
                format!("{}deep", "<div><! </div> >".repeat(n / 2)),
            ),
            (
                "rows in SVG",
                format!(
                    "<svg>{}{}</svg>deep",
                    "<tr>".repeat(n),
                    "</x>".repeat(n / 4)
                ),
            ),
            ("forms", format!("{}deep", "<form><q></form>".repeat(n / 2))),
            (
                "lists in quotes",
                format!("{}deep", "<q><ul></q>".repeat(n / 2)),
            ),
            (
                "divs in unknowns",
                format!("{}deep", "<x><div></x>".repeat(n / 2)),
            ),
            (
                "divs in html",
                format!("{}deep", "<html><div></html>".repeat(n / 2)),
            ),
            (
                "divs in a select",
                format!("<select>{}deep", "<div><option>a".repeat(n / 2)),
            ),
        ];
        for (what, html) in shapes {
            let out = sanitize(&html, None);
            let depth = depth_of(&out);
            assert!(
                depth <= 2 * nesting::MAX_DEPTH,
                "{what}: nested {depth} deep"
            );
            assert!(
                out.contains("deep") || out.matches('x').count() >= n / 2,
                "{what}: text lost"
            );
        }
    }

    /// SVG and MathML hide no nesting from the count: a `<title>` in them
    /// holds tags, not raw text, and `a=x/>` is an unquoted value, not a
    /// self-closing tag (each let 40,000 nested elements through: 4–8 s per
    /// export, in content the sanitiser then drops).
    #[test]
    fn foreign_content_hides_no_nesting() {
        let n = 20_000;
        for (html, tag) in [
            (format!("<svg><title>{}", "<div>".repeat(n)), "<div"),
            (format!("<math><title>{}", "<div>".repeat(n)), "<div"),
            (
                format!("<svg>{}{}", "<g a=x/>".repeat(n), "</q>".repeat(n)),
                "<g",
            ),
            // Tags in MathML's text and SVG's HTML integration points are
            // HTML, which a breakout tag does not close.
            (
                format!("<math><mi>{}<p>", "<x>".repeat(50)).repeat(n / 50),
                "<x",
            ),
            ("<svg><desc><svg><p>".repeat(n / 2), "<p"),
            // `</p>` leaves SVG: what follows is no CDATA section.
            (format!("<svg></p><![CDATA[>{}", "<q>".repeat(n)), "<q"),
            (format!("<math></br><![CDATA[>{}", "<q>".repeat(n)), "<q"),
            // An `<mglyph>` in an `<mi>` is MathML: the title in it holds tags.
            (
                format!("<math><mi><mglyph><title>{}", "<q>".repeat(n)),
                "<q",
            ),
            // Ruby's parts outside a ruby nest.
            ("<rt>x".repeat(n), "<rt"),
        ] {
            let kept = readable_html(&html).matches(tag).count();
            assert!(kept <= nesting::MAX_DEPTH, "{}: {kept}", &html[..20]);
        }
    }

    /// A `<font>` with a colour leaves SVG as one: written with a value of
    /// its own each time, every paragraph reopened every one of them (4,000
    /// stories' worth of elements, 1 s per export).
    #[test]
    fn fonts_leaving_svg_are_reopened_as_few_times_as_bold() {
        let html: String = (0..4_000)
            .map(|k| format!("<svg><font color={k}><p>x"))
            .collect();
        let readable = readable_html(&html);
        let tags = html.matches('<').count() as u64;
        let all = budget::Cost {
            steps: u64::MAX,
            made: u64::MAX,
        };
        let steps = budget::cost_until(&readable, all).steps;
        assert!(steps < 64 * tags, "{steps} parser steps for {tags} tags");
        assert!(sanitize(&html, None).starts_with("<p>x</p>"));
    }

    /// Relative URLs become the whole base, as long as the body's allowance
    /// of growth lasts: 261 KB of `srcset="x, x, …"` under an 8 KiB link made
    /// 698 MB; a `<base href>` of 100 KB and a link reopened in every
    /// paragraph the same.
    #[test]
    fn relative_urls_grow_a_body_within_bounds() {
        let base = format!("https://e.org/{}", "p".repeat(8_000));
        let srcset = format!("<img srcset=\"{}\">", "x, ".repeat(30_000));
        let reopened = format!("<p><a href=#>{}", "<p>x".repeat(30_000));
        let own_base = format!(
            "<base href=\"https://e.org/{}\">{}",
            "b".repeat(100_000),
            "<a href=x>y</a>".repeat(5_000)
        );
        for html in [srcset, reopened, own_base] {
            let out = sanitize(&html, Some(&base));
            assert!(
                out.len() <= 5 * html.len() + (2 << 20),
                "{} bytes from {}",
                out.len(),
                html.len()
            );
        }
        // A base of `&`s, each written `&amp;` (and rescanned by the
        // serialiser): a srcset of them is dropped past 32 KiB.
        let amps = format!("https://e.org/?{}", "&".repeat(8_000));
        let out = sanitize(
            &format!("<img srcset=\"{}\">", "x, ".repeat(127)),
            Some(&amps),
        );
        assert!(out.len() < 64 * 1024, "{} bytes", out.len());
        // A gallery's relative images under a news link all resolve.
        let link = format!(
            "https://news.example.org/{}/story.html",
            "section".repeat(25)
        );
        let gallery: String = (0..48)
            .map(|k| {
                let set: Vec<String> = [320, 480, 640, 800, 960, 1200, 1600, 2000]
                    .iter()
                    .map(|w| format!("img/photo-{k}-{w}.jpg {w}w"))
                    .collect();
                format!(
                    "<figure><img src=\"img/photo-{k}-640.jpg\" srcset=\"{}\"></figure>",
                    set.join(", ")
                )
            })
            .collect();
        let out = sanitize(&gallery, Some(&link));
        assert_eq!(out.matches(" src=\"https://").count(), 48);
        assert_eq!(out.matches(" srcset=\"https://").count(), 48);
        // Ordinary relative links all resolve.
        let links = "<p><a href=\"/post/1\">one</a> <img src=\"a.png\"></p>".repeat(3_000);
        let out = sanitize(&links, Some("https://e.org/blog/"));
        assert_eq!(out.matches("href=\"https://e.org/post/1\"").count(), 3_000);
        assert_eq!(
            out.matches("src=\"https://e.org/blog/a.png\"").count(),
            3_000
        );
    }

    /// The memory of sanitised bodies stays within its bytes, forgetting the
    /// oldest first, and gives back what it was given.
    #[test]
    fn the_memo_is_bounded_and_exact() {
        let mut memo = Memo {
            map: None,
            order: Default::default(),
            bytes: 0,
        };
        let body = |k: usize| format!("{k:09}").repeat(MEMO_BYTES / 30);
        for k in 0..4 {
            memo.put((None, body(k)), format!("clean {k}"));
        }
        assert!(memo.bytes <= MEMO_BYTES);
        assert_eq!(memo.get(&(None, body(0))), None, "the oldest went first");
        assert_eq!(memo.get(&(None, body(3))).as_deref(), Some("clean 3"));
        assert_eq!(memo.get(&(Some("https://e.org/".into()), body(3))), None);
        // A body longer than the whole memory is not kept.
        memo.put((None, "x".repeat(MEMO_BYTES + 1)), String::new());
        assert_eq!(memo.get(&(None, body(3))).as_deref(), Some("clean 3"));
        // A long body with many tags, sanitised twice: the same.
        let html = "<p>Some <b>bold</b> and <a href=\"/x\">a link</a>.</p>\n".repeat(2_000);
        assert_eq!(sanitize(&html, None), sanitize(&html, None));
    }

    /// What the sanitiser's parser would pay too much for is published as
    /// its text, escaped.
    #[test]
    fn text_stands_in_for_html_too_costly_to_parse() {
        let html = format!("<p>a &lt;b&gt; <i>c</i></p>{}", "<div>".repeat(5_000));
        assert!(!budget::affordable(&html));
        assert_eq!(as_text(&html), "<p>a &lt;b&gt; c</p>");
    }

    /// A `<font>` with a colour leaves SVG with its text (the text was lost
    /// once its attributes were dropped).
    #[test]
    fn a_coloured_font_leaves_svg_with_its_text() {
        let html = format!(
            "<p>a</p><svg><font color=\"red\">Hello world</font></svg>{}",
            "<p>b</p>".repeat(70)
        );
        assert!(sanitize(&html, None).contains("Hello world"));
    }

    /// Formatting elements written differently each time are not copied
    /// into every paragraph that follows (a 100 KB story became 150 MB in
    /// each format), and a tag's attributes past a few dozen are dropped.
    #[test]
    fn no_story_grows_by_copies_of_its_tags() {
        let html: String = (0..4_000).map(|k| format!("<b i={k}><p>x")).collect();
        let out = sanitize(&html, None);
        assert!(out.len() < 10 * html.len(), "{} bytes", out.len());
        assert_eq!(out.matches('x').count(), 4_000);
        let attrs: Vec<String> = (0..5_000).map(|k| format!("a{k}")).collect();
        let html = format!("<p>s</p><p {}>x</p>", attrs.join(" "));
        assert!(readable_html(&html).ends_with("<p>x</p>"));
        // Nor an end tag's, nor those of the document's own elements, which
        // the parser gathers onto one (quadratic: 26,000 took 10 s).
        let html = format!("<p>s</p {}>", attrs.join(" "));
        assert!(readable_html(&html).ends_with("<p>s</p>"));
        let html: String = attrs
            .iter()
            .map(|a| format!("<html {a}><body {a}>"))
            .collect();
        assert_eq!(readable_html(&html), "<html><body>".repeat(attrs.len()));
    }

    /// Sloppy HTML that a browser reads shallow keeps every tag: what the
    /// depth counts as closed.
    #[test]
    fn sloppy_html_keeps_its_tags() {
        let n = 1_500;
        let many = |s: &str| s.repeat(n);
        for html in [
            many("<p>para"),
            many("<p><b>bold para</p>"),
            many("<div><p>unclosed in a div</div>"),
            format!("<ul>{}</ul>", many("<li>item")),
            format!("<dl>{}</dl>", many("<dt>term<dd>meaning")),
            format!("<table>{}</table>", many("<tr><td>cell<td>cell")),
            many("<table><tr><td><p>cell para</table>"),
            many("<p><a href=\"https://e.org\">link<p>next</a>"),
            many("<h2>Title</h2><p>text<br>more<img src=\"https://e.org/a.png\"><hr>"),
            format!("<p>{}", many("<b><i>x</b></i> ")),
            format!(
                "<table>{}</table>",
                many("<tr><td><b>Name</td><td>v</td></tr>")
            ),
            (0..n)
                .map(|k| format!("<a href=\"https://e.org/{k}\">link "))
                .collect(),
            many("<h3>Head<p>text</p>"),
            format!("<ul>{}</ul>", many("<li><cite>c")),
            format!("<table>{}</table>", many("<tr><td><ul><li>a")),
            many("<div><ul><li>a</div>"),
            many("<object><b>o</object>"),
            format!("<p>{}</p>", many("<image src=\"https://e.org/x.png\">")),
            format!(
                "<p><math>{}</math></p>",
                many("<mi>x</mi><mo>+</mo><mspace/>")
            ),
            format!("<ul>{}</ul>", many("<li><p>item<p>more")),
            format!("<p><i>italic{}</i></p>", many("</p><p>para")),
            format!(
                "<table>{}</table>",
                many("<caption><b>c</caption><tr><td>v</td></tr>")
            ),
            many("<button><p>b</button>"),
            format!(
                "<pre><code>{}</code></pre>",
                many("<span>fn</span> <span>x</span>\n")
            ),
            many("<b><p>x</b>y</p>"),
            many("<b><i><u><s><p>x</b></i></u></s></p>"),
            many("<font face=\"Arial\"><span><p>para</font></span></p>"),
            many("<strong><div>x</strong>y</div>"),
            many("<html><body><p>x</p>"),
            many("<button>a<button>b"),
        ] {
            // (Formulas and drawings are their text first.)
            let direct = SANITIZER.clean(&foreign_as_text(&html)).to_string();
            assert!(depth_of(&direct) < 50, "{}", &html[..40]);
            let out = sanitize(&html, None);
            // (But for the spaces left where removed blocks stood.)
            assert!(
                out.replace(' ', "") == direct.replace(' ', ""),
                "{}",
                &html[..40]
            );
        }
    }

    /// MathML and SVG keep their text: a formula as its `alttext` or TeX,
    /// else its parts; a chart as its labels. The sanitiser dropped both with
    /// all they held ("We know that  holds"). Nothing of them runs.
    #[test]
    fn formulas_and_drawings_keep_their_text() {
        let clean = sanitize(
            r#"<p>We know that <math alttext="a^2+b^2=c^2"><msup><mi>a</mi><mn>2</mn></msup></math> holds.</p>"#,
            None,
        );
        assert_eq!(clean, "<p>We know that a^2+b^2=c^2 holds.</p>");
        let clean = sanitize(
            r#"<p>So <MATH><semantics><mi>x</mi><annotation encoding="application/x-tex">\frac{1}{x}</annotation></semantics></MATH>.</p>"#,
            None,
        );
        assert_eq!(clean, "<p>So \\frac{1}{x}.</p>");
        // An annotation of HTML is no TeX (read as such for its "tex", its
        // markup was published in words), nor part of the formula's text;
        // a TeX one after it is.
        let clean = sanitize(
            r#"<p>Area: <math><mi>x</mi><annotation-xml encoding="text/html"><b>x</b> squared</annotation-xml></math> end</p>"#,
            None,
        );
        assert_eq!(clean, "<p>Area: x end</p>");
        let clean = sanitize(
            r#"<p><math><semantics><mi>y</mi><annotation-xml encoding="text/html"><b>y</b></annotation-xml><annotation encoding="TeX">y^2</annotation></semantics></math></p>"#,
            None,
        );
        assert_eq!(clean, "<p>y^2</p>");
        let clean = sanitize(
            r#"<p>Chart: <svg viewBox="0 0 10 10" onload="alert(1)"><title>Turnout</title><svg><text>42%</text></svg><script>alert(2)</script></svg> of voters.</p>"#,
            None,
        );
        assert_eq!(clean, "<p>Chart: Turnout 42% of voters.</p>");
        let clean = sanitize(
            r#"<p><math><mi>&lt;img src=x onerror=alert(1)&gt;</mi></math></p>"#,
            None,
        );
        assert!(!clean.contains("<img"), "{clean}");
        // Not a tag of that name.
        assert_eq!(
            sanitize("<p><mathx>y</mathx> <svgs>z</svgs></p>", None),
            "<p>y z</p>"
        );
        // One never closed is left to the sanitiser: the HTML after it stays.
        let clean = sanitize("<p>a<svg><path d=\"M0\"/></p><p><b>b</b></p>", None);
        assert!(clean.contains("<b>b</b>"), "{clean}");
        // A self-closing one holds nothing, and the next is still its text.
        let clean = sanitize(
            r#"<p><svg/>a <math alttext="x^2"><mi>x</mi></math></p>"#,
            None,
        );
        assert_eq!(clean, "<p>a x^2</p>");
        // A CDATA section inside is text, markup in it too.
        let clean = sanitize(
            "<p>See <svg><desc><![CDATA[chart of sales]]></desc><text><![CDATA[ A <b> B ]]></text></svg>.</p>",
            None,
        );
        assert_eq!(clean, "<p>See chart of sales A &lt;b&gt; B.</p>");
        let clean = sanitize(
            "<p>We know that <math><mi><![CDATA[x<y]]></mi></math> holds.</p>",
            None,
        );
        assert_eq!(clean, "<p>We know that x&lt;y holds.</p>");
    }

    #[test]
    fn story_links_are_checked_everywhere() {
        let src = |link: &str| Source {
            feed_url: "https://e.org/f".into(),
            title: Some("Feed\u{202E}name".into()),
            site_url: Some(link.into()),
            link: Some(link.into()),
        };
        for h in HOSTILE {
            let mut s = Story {
                id: 1,
                uid: "u".into(),
                link: Some(h.to_string()),
                title: Some("t\u{2066}".into()),
                author: Some(
                    "\u{1}\u{7} \u{202E}\u{200B}\u{FEFF}\u{AD}\u{200E}\u{3164}\u{FE0F}\u{E0020}\u{2800}\u{301}"
                        .into(),
                ),
                html: None,
                summary: None,
                published_at: None,
                updated_at: None,
                first_seen_at: 0,
                changed_at: 0,
                source: src(h),
                also: vec![src(h), src("https://ok.example/x")],
                rest: vec![],
                files_joined: false,
                enclosures: Vec::new(),
            };
            check_story(&mut s);
            assert_eq!(s.link, None, "{h:?}");
            assert_eq!((&s.source.link, &s.source.site_url), (&None, &None));
            assert_eq!((&s.also[0].link, &s.also[0].site_url), (&None, &None));
            assert_eq!(s.also[1].link.as_deref(), Some("https://ok.example/x"));
            assert_eq!(s.title.as_deref(), Some("t"));
            // An author of control characters alone is none.
            assert_eq!(s.author, None);
            assert_eq!(s.source.title.as_deref(), Some("Feedname"));
            // Nor is a title of zero-width characters a title.
            s.title = Some("\u{200B}\u{200B}\u{FEFF}".into());
            s.source.title = Some("\u{200B}\u{2060}".into());
            check_story(&mut s);
            assert_eq!((s.title, s.source.title), (None, None));
        }
        // A private feed's channel link repeating its token is no home page.
        let mut source =
            src("https://www.reddit.com/?feed=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b&user=bob");
        check_source(&mut source, "u");
        assert_eq!((source.link, source.site_url), (None, None));
        let mut source = src("https://github.com/user?token=abc123");
        check_source(&mut source, "u");
        assert_eq!(source.site_url, None);
        // A story's link with a fragment and a commit's hash in its query
        // is published (the hash is no credential).
        let commit = "https://git.example/c/?id=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b#n1";
        let mut s = Story {
            link: Some(commit.into()),
            ..crate::export::tests::story("c", "x")
        };
        check_story(&mut s);
        assert_eq!(s.link.as_deref(), Some(commit));
        let mut source = src("https://news.example/?page=2");
        check_source(&mut source, "u");
        assert_eq!(
            source.site_url.as_deref(),
            Some("https://news.example/?page=2")
        );
        // A private feed's token repeated in its items' links, media and
        // text: not published.
        let mut s = Story {
            link: Some("https://pod.example/ep/1?token=Tk9xq2ZZ".into()),
            html: Some(r#"<a href="https://pod.example/dl?token=Tk9xq2ZZ">get</a>"#.into()),
            source: Source {
                feed_url: "https://pod.example/feed?token=Tk9xq2ZZ".into(),
                ..src("https://pod.example/ep/1?token=Tk9xq2ZZ")
            },
            enclosures: vec![
                crate::parse::Enclosure {
                    url: "https://cdn.example/1.mp3?token=Tk9xq2ZZ".into(),
                    ..Default::default()
                },
                crate::parse::Enclosure {
                    url: "https://cdn.example/trailer.mp3".into(),
                    ..Default::default()
                },
            ],
            ..crate::export::tests::story("p", "x")
        };
        let published = crate::export::prepare(vec![s.clone()]);
        check_story(&mut s);
        assert_eq!(s.link, None);
        assert_eq!(s.enclosures.len(), 1);
        assert_eq!(s.enclosures[0].url, "https://cdn.example/trailer.mp3");
        // The link that carried it goes whole, once sanitised (hidden in
        // the raw HTML first, it was published as `…?token=***`).
        assert_eq!(
            published[0].html.as_deref(),
            Some("<a rel=\"noopener noreferrer\">get</a>")
        );
        assert_eq!(s.source.link, None);
        // A word under a secret's name is no token: nothing is hidden.
        let mut s = Story {
            link: Some("https://news.example/sports/cup-final".into()),
            html: Some("<p>More sports news</p>".into()),
            source: Source {
                feed_url: "https://news.example/feed.xml?sid=sports".into(),
                ..src("https://news.example/sports/cup-final")
            },
            ..crate::export::tests::story("w", "x")
        };
        check_story(&mut s);
        assert_eq!(
            s.link.as_deref(),
            Some("https://news.example/sports/cup-final")
        );
        assert_eq!(s.html.as_deref(), Some("<p>More sports news</p>"));
        // A search hit whose match parts the token, and whose snippet's cut
        // leaves its end.
        use crate::store::search::{Hit, Segment};
        let seg = |t: &str, mark: bool| Segment {
            text: t.into(),
            mark,
        };
        let mut hit = Hit {
            story: Story {
                source: Source {
                    feed_url: "https://t.example/f?ticket=ST-12345-abcdefXYZ".into(),
                    ..src("https://t.example/x")
                },
                ..crate::export::tests::story("h", "x")
            },
            score: 0.0,
            sources: 1,
            title: vec![
                seg("Ticket ST-", false),
                seg("12345", true),
                seg("-abcdefXYZ", false),
            ],
            snippet: vec![seg("…5-abcdefXYZ opens the ", false), seg("12345", true)],
        };
        hide_feed_secrets(&mut hit);
        let text = |s: &[Segment]| s.iter().map(|x| x.text.clone()).collect::<String>();
        assert_eq!(text(&hit.title), "Ticket ***");
        assert!(
            !text(&hit.snippet).contains("abcdefXYZ"),
            "{}",
            text(&hit.snippet)
        );
    }
}
