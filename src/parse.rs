//! Raw bytes + base URL → feedloom's [`Entry`] model. No I/O.
//!
//! feed-rs does the parsing. This module decides the character encoding (the
//! document's own declaration wins; else the HTTP charset; else UTF-8, falling back
//! to windows-1252 for bytes that are not UTF-8), resolves links against xml:base or
//! the feed's final URL, refuses ids feed-rs would invent, and bounds what it keeps.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use feed_rs::model;
use url::Url;

use crate::error::ParseError;

/// One entry as the feed gave it, normalised. Text fields are bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The feed's own guid/id; `None` when the feed supplied none.
    pub guid: Option<String>,
    /// The entry's link, absolute.
    pub link: Option<String>,
    /// Plain text.
    pub title: Option<String>,
    pub author: Option<String>,
    /// HTML (plain-text summaries are escaped into HTML).
    pub summary: Option<String>,
    /// HTML.
    pub content: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
}

/// A parsed document.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub title: Option<String>,
    /// The site the feed belongs to (its alternate link).
    pub site_url: Option<String>,
    /// RSS `<ttl>` in minutes.
    pub ttl_minutes: Option<u32>,
    pub entries: Vec<Entry>,
    /// Entries dropped because the document had more than `max_entries`.
    pub truncated: usize,
}

/// Limits applied while mapping.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_field: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1000,
            max_field: 256 * 1024,
        }
    }
}

/// Parses one document. `charset` is the HTTP Content-Type charset, if any.
pub fn parse(
    body: &[u8],
    charset: Option<&str>,
    base: &Url,
    limits: Limits,
) -> Result<Document, ParseError> {
    use feed_rs::parser::{ParseErrorKind::NoFeedRoot, ParseFeedError as E};
    let bytes = to_parser_bytes(body, charset);
    // A fresh parser per attempt: feed-rs keeps per-item state in its parser, and
    // reusing one after an error inside an item panics.
    let parser = || {
        feed_rs::parser::Builder::new()
            .base_uri(Some(base.as_str()))
            // An empty id marks "the feed supplied none": never key on an invented id.
            .id_generator(|_, _, _| String::new())
            .sanitize_content(false)
            .build()
    };
    let parse_one = |doc: &[u8]| match without_inner_declarations(doc) {
        Some(doc) => guarded(&doc, |d| parser().parse(d)),
        None => guarded(doc, |d| parser().parse(d)),
    };
    // Two common faults feed-rs refuses outright get one repaired retry: an `<rss>`
    // root whose version it does not know, and bare `&` in the XML.
    let feed = match parse_one(bytes.as_ref()) {
        Err(E::ParseError(NoFeedRoot)) => match with_rss_version(&bytes) {
            Some(fixed) => parse_one(fixed.as_slice()),
            None => Err(E::ParseError(NoFeedRoot)),
        },
        Err(e @ E::XmlReader(_)) => match with_bare_ampersands_escaped(&bytes) {
            Some(fixed) => parse_one(fixed.as_slice()),
            None => Err(e),
        },
        result => result,
    };
    let feed = feed.map_err(|e| match e {
        E::ParseError(NoFeedRoot) => ParseError::NotAFeed,
        source => ParseError::Malformed { source },
    })?;
    Ok(map_feed(feed, base, limits))
}

/// Runs feed-rs on `doc`, never letting it panic. feed-rs 3.0 panics (a byte
/// index inside a character) on a person field (RSS author, managingEditor,
/// webMaster, dc:creator; a JSON Feed author name) whose e-mail address touches
/// a non-ASCII character, as in "編集部（info@example.jp）": such a document gets
/// one more try with a space on either side of those addresses. Any other panic
/// is this feed's error, not the caller's.
fn guarded(
    doc: &[u8],
    parse: impl Fn(&[u8]) -> Result<model::Feed, feed_rs::parser::ParseFeedError>,
) -> Result<model::Feed, feed_rs::parser::ParseFeedError> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let run = |d: &[u8]| catch_unwind(AssertUnwindSafe(|| parse(d)));
    match run(doc) {
        Ok(result) => result,
        Err(first) => {
            let panic = match with_addresses_spaced(doc).map(|fixed| run(&fixed)) {
                Some(Ok(result)) => return result,
                Some(Err(again)) => again,
                None => first,
            };
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(feed_rs::parser::ParseFeedError::IoError(
                std::io::Error::other(format!("the feed parser failed on this document ({what})")),
            ))
        }
    }
}

/// The document with a space between every e-mail address and a non-ASCII
/// character (or character reference) it touches; `None` when there is none.
fn with_addresses_spaced(text: &[u8]) -> Option<Vec<u8>> {
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let domain = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
    let mut at = Vec::new();
    for (i, _) in text.iter().enumerate().filter(|(_, b)| **b == b'@') {
        let mut start = i;
        while start > 0 && local(text[start - 1]) {
            start -= 1;
        }
        let mut end = i + 1;
        while end < text.len() && domain(text[end]) {
            end += 1;
        }
        if start == i || end == i + 1 {
            continue;
        }
        if text[..start].ends_with(b"mailto:") {
            start -= "mailto:".len();
        }
        if start > 0 && (text[start - 1] >= 0x80 || text[start - 1] == b';') {
            at.push(start);
        }
        if end < text.len() && (text[end] >= 0x80 || text[end] == b'&') {
            at.push(end);
        }
    }
    if at.is_empty() {
        return None;
    }
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::with_capacity(text.len() + at.len());
    let mut from = 0;
    for i in at {
        out.extend_from_slice(&text[from..i]);
        out.push(b' ');
        from = i;
    }
    out.extend_from_slice(&text[from..]);
    Some(out)
}

/// The document with its `<rss>` root saying `version="2.0"`, when the root's
/// version is one feed-rs does not recognise (missing, 0.93, 0.94, 2.01, …): RSS
/// 2.0 reads them all. `None` when the root is something else.
fn with_rss_version(text: &[u8]) -> Option<Vec<u8>> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_reader(text);
    loop {
        let start = reader.buffer_position() as usize;
        match reader.read_event().ok()? {
            Event::Start(root) => {
                let known = ["2.0", "", "0.91", "0.92"];
                let version = root.try_get_attribute("version").ok()?;
                if root.name().as_ref() != "rss"
                    || version.is_some_and(|v| known.contains(&v.value.as_ref()))
                {
                    return None;
                }
                let mut tag = BytesStart::new("rss");
                for a in root.attributes() {
                    let a = a.ok()?;
                    if a.value.contains('"') {
                        return None;
                    }
                    if a.key.as_ref() != "version" {
                        tag.push_attribute(a);
                    }
                }
                tag.push_attribute(("version", "2.0"));
                let end = reader.buffer_position() as usize;
                let mut out = Vec::with_capacity(text.len() + 16);
                out.extend_from_slice(&text[..start]);
                out.push(b'<');
                out.extend_from_slice(tag.as_bytes());
                out.push(b'>');
                out.extend_from_slice(&text[end..]);
                return Some(out);
            }
            Event::Eof | Event::Empty(_) => return None,
            _ => {}
        }
    }
}

/// The document with every `&` that starts no entity or character reference
/// escaped (outside CDATA sections and comments). `None` when there is none.
fn with_bare_ampersands_escaped(text: &[u8]) -> Option<Vec<u8>> {
    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + needle.len())
    }
    fn is_reference(s: &[u8]) -> bool {
        let s = &s[1..s.len().min(40)];
        let (body, ok): (&[u8], fn(&u8) -> bool) = match s {
            [b'#', b'x', rest @ ..] => (rest, u8::is_ascii_hexdigit),
            [b'#', rest @ ..] => (rest, u8::is_ascii_digit),
            [c, ..] if c.is_ascii_alphabetic() || *c == b'_' || *c >= 0x80 => (s, |c| {
                c.is_ascii_alphanumeric() || b"._:-".contains(c) || *c >= 0x80
            }),
            _ => return false,
        };
        let end = body.iter().position(|c| !ok(c)).unwrap_or(body.len());
        end > 0 && body.get(end) == Some(&b';')
    }
    let mut out = Vec::with_capacity(text.len() + 64);
    let (mut i, mut changed) = (0, false);
    // Once a CDATA section or comment is found unclosed, none later can close:
    // stop looking (keeps hostile input linear).
    let (mut cdata_closes, mut comment_closes) = (true, true);
    while i < text.len() {
        let rest = &text[i..];
        let skip = match rest {
            [b'<', b'!', b'[', ..] if cdata_closes => find(rest, b"]]>").or_else(|| {
                cdata_closes = false;
                None
            }),
            [b'<', b'!', b'-', b'-', ..] if comment_closes => find(rest, b"-->").or_else(|| {
                comment_closes = false;
                None
            }),
            _ => None,
        };
        if let Some(n) = skip {
            out.extend_from_slice(&rest[..n]);
            i += n;
            continue;
        }
        if rest[0] == b'&' && !is_reference(rest) {
            out.extend_from_slice(b"&amp;");
            changed = true;
        } else {
            out.push(rest[0]);
        }
        i += 1;
    }
    changed.then_some(out)
}

fn map_feed(feed: model::Feed, base: &Url, limits: Limits) -> Document {
    let total = feed.entries.len();
    let site_url = alternate_link(&feed.links, base);
    let entries = newest(feed.entries, limits.max_entries)
        .into_iter()
        .map(|e| map_entry(e, base, limits.max_field))
        .collect();
    Document {
        title: feed
            .title
            .map(|t| bound(text_of(&t), limits.max_field))
            .filter(|t| !t.is_empty()),
        site_url,
        ttl_minutes: feed.ttl,
        entries,
        truncated: total.saturating_sub(limits.max_entries),
    }
}

/// At most `max` entries: the newest by their own dates (entries without a date
/// count as oldest, ties keep document order), in document order. A feed that
/// lists oldest first and overflows the limit so loses old entries, not new ones.
fn newest(entries: Vec<model::Entry>, max: usize) -> Vec<model::Entry> {
    if entries.len() <= max {
        return entries;
    }
    let mut order: Vec<(usize, Option<chrono::DateTime<Utc>>)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (i, e.published.or(e.updated)))
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep = vec![false; entries.len()];
    for (i, _) in order.into_iter().take(max) {
        keep[i] = true;
    }
    entries
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect()
}

fn map_entry(e: model::Entry, base: &Url, max: usize) -> Entry {
    let entry_base = e
        .base
        .as_deref()
        .and_then(|b| base.join(b).ok())
        .unwrap_or_else(|| base.clone());
    let guid = Some(e.id.trim().to_string()).filter(|s| !s.is_empty());
    let link = alternate_link(&e.links, &entry_base);
    let author = e
        .authors
        .iter()
        .find_map(|p| {
            p.name
                .as_deref()
                .or(p.email.as_deref())
                .map(str::trim)
                // RSS writes "mail@example.org (Name)"; keep the name unwrapped.
                .map(|s| {
                    s.strip_prefix('(')
                        .and_then(|s| s.strip_suffix(')'))
                        .map_or(s, str::trim)
                })
                .filter(|s| !s.is_empty())
        })
        .map(|s| bound(s.to_string(), max));
    let content = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref().map(|b| html_of(b, &c.content_type)))
        .filter(|s| !s.trim().is_empty())
        .map(|s| bound(s, max));
    let summary = e
        .summary
        .as_ref()
        .map(|t| html_of(&t.content, &t.content_type))
        .filter(|s| !s.trim().is_empty())
        .map(|s| bound(s, max));
    Entry {
        guid: guid.map(|g| bound(g, 2048)),
        link: link.map(|l| bound(l, 8192)),
        title: e
            .title
            .map(|t| bound(text_of(&t), max))
            .filter(|t| !t.is_empty()),
        author,
        summary,
        content,
        published: e.published.filter(plausible),
        updated: e.updated.filter(plausible),
    }
}

/// A date a feed can mean: years 1-9999 (RFC 822 and RFC 3339 write no other).
/// Beyond them it is a typo ("20022"): the entry counts as undated.
fn plausible(d: &DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&d.year())
}

/// The link a reader would follow: rel="alternate" (or no rel), resolved.
fn alternate_link(links: &[model::Link], base: &Url) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| links.first())
        .map(|l| l.href.trim())
        .filter(|h| !h.is_empty())
        .map(|h| {
            base.join(h)
                .map(String::from)
                .unwrap_or_else(|_| h.to_string())
        })
}

/// Text content of a `Text`, tags stripped when it is HTML.
fn text_of(t: &model::Text) -> String {
    let s = if is_html(&t.content_type) {
        strip_tags(&t.content)
    } else {
        t.content.clone()
    };
    // Control characters (a stray U+0008, NUL) are never part of a title.
    c1_as_windows_1252(&s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(|c: char| c.is_control(), "")
}

fn is_html(ty: &mediatype::MediaTypeBuf) -> bool {
    ty.subty().as_str().contains("html")
}

/// HTML for a body: HTML as is, anything else escaped.
fn html_of(body: &str, ty: &mediatype::MediaTypeBuf) -> String {
    let body = c1_as_windows_1252(body);
    if is_html(ty) {
        body.into_owned()
    } else {
        escape_html(&body)
    }
}

/// C1 control characters read as the windows-1252 characters they almost always
/// stand for (`&#146;` or a UTF-8 U+0092 written for ’), as browsers and
/// feedparser do.
fn c1_as_windows_1252(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        return Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| match u8::try_from(u32::from(c)) {
            Ok(b @ 0x80..=0x9f) => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(&[b])
                .0
                .chars()
                .next()
                .unwrap_or(c),
            _ => c,
        })
        .collect()
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Plain text from an HTML fragment: tags dropped, common entities decoded. As in
/// HTML, `<` opens a tag only before a letter, `/`, `!` or `?` (so "1 < 2" stays
/// text), and a `>` inside a quoted attribute value does not close the tag.
pub fn strip_tags(s: &str) -> String {
    let mut text = String::with_capacity(s.len());
    let (mut in_tag, mut quote, mut after_eq) = (false, None, false);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if !in_tag {
            let opens = c == '<'
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
            if opens {
                in_tag = true;
            } else {
                text.push(c);
            }
            continue;
        }
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if after_eq => quote = Some(c),
            (None, '>') => in_tag = false,
            _ => {}
        }
        if !c.is_whitespace() {
            after_eq = c == '=';
        }
    }
    decode_entities(&text)
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Bytes, not `str` slicing: 12 bytes may end inside a character.
        let end = rest.as_bytes()[..rest.len().min(12)]
            .iter()
            .position(|b| *b == b';');
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Cuts a string to at most `max` bytes, on a character boundary.
pub fn bound(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Decides the bytes feed-rs sees: always UTF-8. The encoding is, in order, the
/// byte order mark's; UTF-16 recognised by its zero bytes; the document's own
/// declaration (a UTF-16 label on bytes that are not UTF-16 is ignored); the HTTP
/// charset; else UTF-8, with windows-1252 for bytes that are not UTF-8. Invalid
/// sequences in a document claimed to be UTF-8 are repaired, not fatal.
///
/// feedloom decodes and then drops the XML declaration (and any other one in
/// the document), because quick-xml (under feed-rs) switches decoders when it
/// reads one, and panics when the declaration ends past its 64-byte look-ahead
/// (UTF-16 documents, long declarations) or disagrees with the BOM.
pub fn to_parser_bytes<'a>(body: &'a [u8], http_charset: Option<&str>) -> Cow<'a, [u8]> {
    use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
    let label = |l: &str| Encoding::for_label(l.trim().as_bytes());
    let not_utf16 = |e: &&'static Encoding| *e != UTF_16LE && *e != UTF_16BE;
    let declared = declared_encoding(body);
    let (encoding, bom) = match Encoding::for_bom(body) {
        Some((e, len)) => (Some(e), len),
        None => (
            match body {
                [b'<', 0, c, 0, ..] if *c != 0 => Some(UTF_16LE),
                [0, b'<', 0, c, ..] if *c != 0 => Some(UTF_16BE),
                _ => declared
                    .as_deref()
                    .and_then(label)
                    .filter(not_utf16)
                    .or_else(|| http_charset.and_then(label).filter(not_utf16)),
            },
            0,
        ),
    };
    let body = &body[bom..];
    let text = match encoding {
        Some(e) if e != UTF_8 => Cow::Owned(
            e.decode_without_bom_handling(body)
                .0
                .into_owned()
                .into_bytes(),
        ),
        None if std::str::from_utf8(body).is_err() => Cow::Owned(
            WINDOWS_1252
                .decode_without_bom_handling(body)
                .0
                .into_owned()
                .into_bytes(),
        ),
        _ => utf8_lossy(body),
    };
    // The text is UTF-8 now, whatever a declaration says: feed-rs gets none.
    let text = without_declaration(text);
    match without_inner_declarations(&text) {
        Some(fixed) => Cow::Owned(fixed),
        None => text,
    }
}

/// The document without any other XML declaration; `None` when it has none.
/// XML allows a declaration only first, and quick-xml (under feed-rs) switches
/// decoders at every one it reads, panicking at one past its 64-byte look-ahead
/// that names another encoding. Where a declaration is depends on how quick-xml
/// tokenises the bytes around it (a `<!--` inside an unclosed attribute value
/// opens no comment), so quick-xml itself finds them, reading on past errors.
fn without_inner_declarations(text: &[u8]) -> Option<Vec<u8>> {
    use quick_xml::events::Event;
    // A cheap test first: almost no document has a second declaration.
    if !std::str::from_utf8(text).is_ok_and(|s| s.contains("<?xml")) {
        return None;
    }
    let mut reader = quick_xml::Reader::from_reader(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    let mut cuts = Vec::new();
    loop {
        let start = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Decl(_)) => cuts.push(start..reader.buffer_position() as usize),
            Ok(Event::Eof) => break,
            Err(_) if reader.buffer_position() as usize <= start => break,
            _ => {}
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut from = 0;
    for cut in cuts {
        out.extend_from_slice(&text[from..cut.start.max(from)]);
        from = cut.end.max(from);
    }
    out.extend_from_slice(&text[from.min(text.len())..]);
    Some(out)
}

/// The document without its leading XML declaration, if it has one. A
/// declaration that runs past its first 512 bytes (so [`declared_encoding`] did
/// not read it) goes too: quick-xml would still act on an encoding in it.
fn without_declaration(text: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let rest = &text[start..];
    let is_declaration = rest.starts_with(b"<?xml")
        && rest
            .get(5)
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b'?');
    let Some(end) = rest
        .windows(2)
        .position(|w| w == b"?>")
        .filter(|_| is_declaration)
        .map(|end| start + end + 2)
    else {
        return text;
    };
    match text {
        Cow::Borrowed(b) => Cow::Borrowed(&b[end..]),
        Cow::Owned(mut v) => {
            v.drain(..end);
            Cow::Owned(v)
        }
    }
}

fn utf8_lossy(body: &[u8]) -> Cow<'_, [u8]> {
    match String::from_utf8_lossy(body) {
        Cow::Borrowed(_) => Cow::Borrowed(body),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// The `encoding` of an XML declaration at the start of the document.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(512)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let i = decl.find("encoding")?;
    let rest = decl[i + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/feeds/main.xml").unwrap()
    }

    #[test]
    fn invented_ids_are_refused() {
        let xml = br#"<rss version="2.0"><channel><title>t</title>
            <item><title>no guid</title><link>/a</link></item>
            <item><title>nothing</title></item>
            <item><guid>g-1</guid><title>with guid</title></item>
        </channel></rss>"#;
        let d = parse(xml, None, &base(), Limits::default()).unwrap();
        assert_eq!(d.entries.len(), 3);
        assert_eq!(d.entries[0].guid, None);
        assert_eq!(d.entries[0].link.as_deref(), Some("https://example.org/a"));
        assert_eq!(d.entries[1].guid, None);
        assert_eq!(d.entries[1].link, None);
        assert_eq!(d.entries[2].guid.as_deref(), Some("g-1"));
    }

    #[test]
    fn xml_base_resolves_links() {
        let xml =
            br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://other.example/blog/">
            <title>t</title><id>f</id>
            <entry><id>e1</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; &amp;amp; more</title>
            <link href="post/1"/></entry></feed>"#;
        let d = parse(xml, None, &base(), Limits::default()).unwrap();
        assert_eq!(
            d.entries[0].link.as_deref(),
            Some("https://other.example/blog/post/1")
        );
        assert_eq!(d.entries[0].title.as_deref(), Some("Bold & more"));
    }

    #[test]
    fn http_charset_applies_only_without_declaration() {
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Привет");
        let mut doc = b"<rss version=\"2.0\"><channel><title>".to_vec();
        doc.extend_from_slice(&cp1251);
        doc.extend_from_slice(b"</title></channel></rss>");
        let d = parse(&doc, Some("windows-1251"), &base(), Limits::default()).unwrap();
        assert_eq!(d.title.as_deref(), Some("Привет"));

        let mut declared = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>".to_vec();
        declared.extend_from_slice(&doc);
        // The document's declaration wins over a wrong header.
        let d = parse(&declared, Some("utf-8"), &base(), Limits::default()).unwrap();
        assert_eq!(d.title.as_deref(), Some("Привет"));
    }

    #[test]
    fn declarations_quick_xml_would_panic_on() {
        let item = "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid>\
                    <title>Привет</title></item></channel></rss>";
        // UTF-16 with a BOM and a declaration that names the other byte order.
        let mut utf16 = vec![0xFE, 0xFF];
        for u in format!("<?xml version=\"1.0\" encoding=\"utf-16\"?>{item}").encode_utf16() {
            utf16.extend_from_slice(&u.to_be_bytes());
        }
        // A declaration longer than quick-xml's 64-byte look-ahead.
        let mut long =
            b"\n  <?xml version=\"1.0\" encoding=\"windows-1251\" standalone=\"yes\" ?>".to_vec();
        long.extend_from_slice(&encoding_rs::WINDOWS_1251.encode(item).0);
        // A UTF-8 BOM contradicted by the declaration: the BOM wins.
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>");
        bom.extend_from_slice(item.as_bytes());
        // A UTF-16 label on bytes that are not UTF-16.
        let lie = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{item}");
        for doc in [utf16, long, bom, lie.into_bytes()] {
            let d = parse(&doc, None, &base(), Limits::default()).unwrap();
            assert_eq!(d.entries[0].title.as_deref(), Some("Привет"));
        }
    }

    #[test]
    fn a_declaration_inside_the_document_is_dropped_not_a_panic() {
        // Found by the `pipeline` fuzz target: quick-xml panicked ("set_encoding()
        // called after prefix buffer was drained") at the second declaration.
        let doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
                   <title>t</title><item><guid>1</guid><title>Caf\u{e9}</title>\
                   <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?></item>\
                   <item><guid>2</guid><description><![CDATA[<?xml version=\"1.0\"?> kept]]>\
                   </description></item></channel></rss>";
        let d = parse(doc.as_bytes(), None, &base(), Limits::default()).unwrap();
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.entries[0].title.as_deref(), Some("Caf\u{e9}"));
        // Leading declarations quick-xml reads differently from feedloom: one
        // longer than the 512 bytes feedloom looks at (found by the same target,
        // a UTF-16 BOM before bytes that are not UTF-16), one whose `encoding`
        // feedloom would read inside another attribute's name.
        let item = "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid>\
                    <title>Caf\u{e9}</title></item></channel></rss>";
        let long = format!(
            "<?xml version=\"1.0\"{} encoding=\"ISO-8859-1\"?>{item}",
            " ".repeat(600)
        );
        let tricky = format!(
            "<?xml version=\"1.0\" xencoding=\"utf-8\" standalone=\"yes\" encoding=\"ISO-8859-1\"?>{item}"
        );
        // Where a declaration is depends on quick-xml's reading: here `<!--` is
        // inside an attribute value and opens no comment (found by the `parse`
        // target).
        let in_attribute = "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid>\
                            <title lang=\"<!--\">Caf\u{e9}</title>\
                            <?xml version=\"1.0\" encoding=\"euc-kr\"?>\
                            <description>--&gt;</description></item></channel></rss>"
            .to_string();
        for doc in [long, tricky, in_attribute] {
            let d = parse(doc.as_bytes(), None, &base(), Limits::default()).unwrap();
            assert_eq!(d.entries[0].title.as_deref(), Some("Caf\u{e9}"), "{doc}");
        }
        assert!(
            d.entries[1]
                .summary
                .as_deref()
                .is_some_and(|s| s.contains("xml version") && s.contains("kept")),
            "{:?}",
            d.entries[1]
        );
    }

    #[test]
    fn dates_past_year_9999_are_no_dates() {
        // Found by the `pipeline` fuzz target: RSS rendering panicked on it.
        let xml = br#"<rss version="2.0"><channel><title>t</title>
            <item><guid>1</guid><pubDate>Wed, 02 Oct 20022 08:00:00 GMT</pubDate></item>
            <item><guid>2</guid><pubDate>Wed, 02 Oct 2002 08:00:00 GMT</pubDate></item>
        </channel></rss>"#;
        let d = parse(xml, None, &base(), Limits::default()).unwrap();
        assert_eq!(d.entries[0].published, None);
        assert_eq!(
            d.entries[1].published.map(|p| p.to_rfc3339()).as_deref(),
            Some("2002-10-02T08:00:00+00:00")
        );
    }

    #[test]
    fn an_address_beside_a_non_ascii_character_is_no_panic() {
        // Found by the `pipeline` fuzz target (a feedparser test file with a stray
        // byte): feed-rs 3.0 slices a person field inside a character when the
        // e-mail address touches a non-ASCII one.
        let person = |tag: &str, who: &str| {
            format!(
                "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>t</title>\
                 <webMaster>{who}</webMaster><item><guid>1</guid><title>x</title>\
                 <{tag}>{who}</{tag}></item></channel></rss>"
            )
        };
        let cases = [
            person("author", "編集部（info@example.jp）"),
            person("dc:creator", "Rédaction «redaction@example.fr»"),
            person("author", "info@example.jp（東京編集部の記者）"),
            person("author", "&#xFF08;mailto:info@example.jp&#xFF09; 編集部の記者"),
            "<rss version=\"2.0\"><channel><webMaster>Example editor (\u{9d}e@example.com)</webMaster></channel></rss>".to_string(),
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[{"id":"1","content_text":"x","authors":[{"name":"編集部（info@example.jp）"}]}]}"#.to_string(),
        ];
        for doc in &cases {
            let d = parse(doc.as_bytes(), None, &base(), Limits::default())
                .unwrap_or_else(|e| panic!("{doc}: {e}"));
            for e in &d.entries {
                assert!(e.author.is_some(), "{doc}: {e:?}");
            }
        }
        // Content keeps its text: only a document feed-rs cannot read is changed.
        let doc = person("author", "Ann").replace(
            "<title>x</title>",
            "<title>x</title><description>連絡は（info@example.jp）まで</description>",
        );
        let d = parse(doc.as_bytes(), None, &base(), Limits::default()).unwrap();
        assert_eq!(
            d.entries[0].summary.as_deref(),
            Some("連絡は（info@example.jp）まで")
        );
    }

    #[test]
    fn repairs_rss_version_and_bare_ampersands() {
        // feed-rs knows no `<rss>` without version (nor 0.93, 0.94, 2.01, …).
        let xml = br#"<!-- c --><rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="0.94">
            <channel><item><guid>1</guid><title>one</title></item></channel></rss>"#;
        let d = parse(xml, None, &base(), Limits::default()).unwrap();
        assert_eq!(d.entries[0].title.as_deref(), Some("one"));
        let d = parse(
            b"<rss><channel><item><title>x</title></item></channel></rss>",
            None,
            &base(),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(d.entries.len(), 1);
        // Bare `&` is escaped; references, CDATA and comments are left alone. The
        // first attempt fails inside an item, which must not poison the retry.
        let xml = br#"<rss version="2.0"><channel>
            <item><title>A & B &#233; <![CDATA[&raw]]></title><link>https://e.org/?a=1&b=2</link></item>
            <!-- & --><title>Fish & Chips &amp; more</title></channel></rss>"#;
        let d = parse(xml, None, &base(), Limits::default()).unwrap();
        assert_eq!(d.title.as_deref(), Some("Fish & Chips & more"));
        assert_eq!(d.entries[0].title.as_deref(), Some("A & B é &raw"));
        assert_eq!(d.entries[0].link.as_deref(), Some("https://e.org/?a=1&b=2"));
        // Unclosed sections do not make the repair quadratic.
        let hostile = "<![<!--".repeat(100_000) + "&";
        let t = std::time::Instant::now();
        let fixed = with_bare_ampersands_escaped(hostile.as_bytes()).unwrap();
        assert!(fixed.ends_with(b"<!--&amp;"));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn titles_lose_control_characters() {
        let xml = b"<rss version=\"2.0\"><channel><item><title>ab\x08cd\x00</title></item></channel></rss>";
        let d = parse(xml, None, &base(), Limits::default()).unwrap();
        assert_eq!(d.entries[0].title.as_deref(), Some("abcd"));
    }

    #[test]
    fn limits_bound_entries_and_fields() {
        let mut xml = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in 0..10 {
            xml.push_str(&format!(
                "<item><guid>{i}</guid><title>{}</title></item>",
                "é".repeat(50)
            ));
        }
        xml.push_str("</channel></rss>");
        let d = parse(
            xml.as_bytes(),
            None,
            &base(),
            Limits {
                max_entries: 4,
                max_field: 11,
            },
        )
        .unwrap();
        assert_eq!(d.entries.len(), 4);
        assert_eq!(d.truncated, 6);
        assert_eq!(d.entries[0].title.as_deref(), Some("ééééé"));
    }

    #[test]
    fn rss_author_in_parentheses_is_unwrapped() {
        let xml = br#"<rss version="2.0"><channel><title>t</title>
            <item><guid>1</guid><author>mara@example.org (Mara Quill)</author></item>
        </channel></rss>"#;
        let d = parse(xml, None, &base(), Limits::default()).unwrap();
        assert_eq!(d.entries[0].author.as_deref(), Some("Mara Quill"));
    }

    #[test]
    fn over_the_entry_limit_the_newest_entries_stay() {
        let mut xml = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for day in 1..=9 {
            // Oldest first, as some feeds list them.
            xml.push_str(&format!(
                "<item><guid>{day}</guid><pubDate>0{day} Jan 2024 10:00:00 GMT</pubDate></item>"
            ));
        }
        xml.push_str("</channel></rss>");
        let limits = Limits {
            max_entries: 3,
            max_field: 1000,
        };
        let d = parse(xml.as_bytes(), None, &base(), limits).unwrap();
        let guids: Vec<_> = d.entries.iter().map(|e| e.guid.clone().unwrap()).collect();
        assert_eq!(guids, ["7", "8", "9"]);
        assert_eq!(d.truncated, 6);
    }

    #[test]
    fn not_a_feed() {
        assert!(matches!(
            parse(b"hello world", None, &base(), Limits::default()),
            Err(ParseError::NotAFeed)
        ));
        assert!(matches!(
            parse(
                b"<html><body>hi</body></html>",
                None,
                &base(),
                Limits::default()
            ),
            Err(ParseError::NotAFeed)
        ));
    }

    #[test]
    fn c1_controls_read_as_windows_1252() {
        let xml = "<rss version=\"2.0\"><channel><item><title>don&#146;t \u{93}x\u{94}</title>\
                   <description>it\u{92}s &amp;#146;</description></item></channel></rss>";
        let d = parse(xml.as_bytes(), None, &base(), Limits::default()).unwrap();
        assert_eq!(d.entries[0].title.as_deref(), Some("don’t “x”"));
        assert_eq!(d.entries[0].summary.as_deref(), Some("it’s &#146;"));
    }

    #[test]
    fn entities_and_tags() {
        assert_eq!(
            strip_tags("<p>a &lt;b&gt; &#233;&#x41;&bogus;</p>"),
            "a <b> éA&bogus;"
        );
        assert_eq!(strip_tags("AT&amp;T < Verizon > 3"), "AT&T < Verizon > 3");
        // An entity-like run cut at 12 bytes inside a multi-byte character.
        assert_eq!(strip_tags("&nbsp;то качаем"), "\u{a0}то качаем");
        assert_eq!(strip_tags("&amp   привет;"), "&amp   привет;");
        assert_eq!(
            strip_tags(
                r#"<img src="x.jpg" alt="cat<br />dog">Cat's <a title='a>b' href=x>dog</a>"#
            ),
            "Cat's dog"
        );
    }
}
