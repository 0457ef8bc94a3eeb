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
    let bytes = to_parser_bytes(body, charset);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id marks "the feed supplied none": never key on an invented id.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build();
    let feed = parser.parse(bytes.as_ref()).map_err(|e| match e {
        feed_rs::parser::ParseFeedError::ParseError(
            feed_rs::parser::ParseErrorKind::NoFeedRoot,
        ) => ParseError::NotAFeed,
        source => ParseError::Malformed { source },
    })?;
    Ok(map_feed(feed, base, limits))
}

fn map_feed(feed: model::Feed, base: &Url, limits: Limits) -> Document {
    let total = feed.entries.len();
    let site_url = alternate_link(&feed.links, base);
    let entries = feed
        .entries
        .into_iter()
        .take(limits.max_entries)
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
        published: e.published,
        updated: e.updated,
    }
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
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_html(ty: &mediatype::MediaTypeBuf) -> bool {
    ty.subty().as_str().contains("html")
}

/// HTML for a body: HTML as is, anything else escaped.
fn html_of(body: &str, ty: &mediatype::MediaTypeBuf) -> String {
    if is_html(ty) {
        body.to_string()
    } else {
        escape_html(body)
    }
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

/// Plain text from an HTML fragment: tags dropped, common entities decoded.
pub fn strip_tags(s: &str) -> String {
    let mut text = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
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
        let end = rest[..rest.len().min(12)].find(';');
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

/// Decides the bytes feed-rs sees. A document that declares its encoding (XML prolog
/// or BOM) is passed through untouched. Otherwise the HTTP charset applies, and
/// without one, bytes that are not UTF-8 are read as windows-1252.
pub fn to_parser_bytes<'a>(body: &'a [u8], http_charset: Option<&str>) -> Cow<'a, [u8]> {
    if body.starts_with(&[0xEF, 0xBB, 0xBF])
        || body.starts_with(&[0xFF, 0xFE])
        || body.starts_with(&[0xFE, 0xFF])
    {
        return Cow::Borrowed(body);
    }
    let declared = declared_encoding(body);
    if let Some(label) = declared {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes());
        if enc.is_some_and(|e| e != encoding_rs::UTF_8) {
            return Cow::Borrowed(body);
        }
        // Declared UTF-8 (or an unknown label): repair invalid sequences rather than
        // lose the whole document.
        return utf8_lossy(body);
    }
    let from_header = http_charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .filter(|e| *e != encoding_rs::UTF_8);
    match from_header {
        Some(enc) => Cow::Owned(enc.decode(body).0.into_owned().into_bytes()),
        None if std::str::from_utf8(body).is_ok() => Cow::Borrowed(body),
        None if http_charset.is_some() => utf8_lossy(body),
        None => Cow::Owned(
            encoding_rs::WINDOWS_1252
                .decode(body)
                .0
                .into_owned()
                .into_bytes(),
        ),
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
    fn entities_and_tags() {
        assert_eq!(
            strip_tags("<p>a &lt;b&gt; &#233;&#x41;&bogus;</p>"),
            "a <b> éA&bogus;"
        );
    }
}
