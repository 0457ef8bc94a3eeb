//! Rewrites of an XML document before feed-rs that take away what feedloom
//! never reads and feed-rs handles at a cost out of proportion to the bytes
//! (found by measuring hostile documents; `cargo run --release --example
//! hostile_parse` prints the figures):
//!
//! * [`unread_extensions`]: Media RSS, iTunes and Podcasting 2.0 elements
//!   become unknown elements, which feed-rs skips. It copies an item's Media
//!   RSS lists into every `media:group` that lacks them (a 256 KiB item took
//!   2.2 GB), and recurses on nested `media:group` and `itunes:category` (a
//!   32 KiB document overflowed a 2 MiB thread stack, which aborts the whole
//!   process). feedloom reads none of them: entries keep their title, links,
//!   text, author and dates.
//! * [`bounded_bases`]: an `xml:base` is dropped when the bases in force
//!   around it would pass [`MAX_BASES`] bytes as a URL (an escaped byte
//!   counts three), and every `xml:base` is dropped when the bases in force
//!   summed over all elements would pass 16 MiB. feed-rs copies the base in
//!   force into every element and every link it resolves (274 KB with a long
//!   base and many links took 1 GB; nested relative bases grow with the
//!   square of their depth).
//!
//! * for JSON Feed, every `authors` list cut to [`MAX_JSON_AUTHORS`] people
//!   (`limits::cap_json_authors`): feed-rs compares each author with all
//!   before it and copies all the feed's into every item without one.
//!
//! [`for_feed_rs`] applies them; each does nothing (after a substring search)
//! for almost every real document.

use std::borrow::Cow;

use quick_xml::events::Event;

/// How many people of a JSON Feed's `authors` list (the feed's, an item's)
/// feed-rs reads; the rest are left out before it (feedloom shows one author
/// per entry, and feed-rs's work grows with the square of a feed's authors:
/// [`super::limits::cap_json_authors`]).
pub(super) const MAX_JSON_AUTHORS: usize = 16;

/// The document as feed-rs should see it: both rewrites for XML, the authors
/// lists cut for JSON Feed.
pub(super) fn for_feed_rs(text: &[u8]) -> Cow<'_, [u8]> {
    if super::limits::is_json(text) {
        return super::limits::cap_json_authors(text, MAX_JSON_AUTHORS)
            .map_or(Cow::Borrowed(text), Cow::Owned);
    }
    let text = unread_extensions(text).map_or(Cow::Borrowed(text), Cow::Owned);
    match bounded_bases(&text) {
        Some(bounded) => Cow::Owned(bounded),
        None => text,
    }
}

/// Namespaces whose elements feed-rs reads and feedloom does not.
const UNREAD: [&[u8]; 3] = [
    b"http://search.yahoo.com/mrss/",
    b"http://www.itunes.com/dtds/podcast-1.0.dtd",
    b"https://podcastindex.org/namespace/1.0",
];

/// What an unread namespace is renamed to: its name after this prefix, a
/// namespace feed-rs does not know.
const RENAMED: &[u8] = b"urn:feedloom:unread:";

/// How many bytes of `xml:base` may be in force at once (the bases of an
/// element and of all around it).
pub(super) const MAX_BASES: usize = 2048;

/// How many bytes of base feed-rs may copy in all (the base in force, summed
/// over every element): a feed of 1,000 entries of 30 elements each under a
/// base of 100 bytes copies 3 MB.
const MAX_BASE_COPIES: usize = 16 << 20;

/// Calls `each` with every attribute of every start tag, as quick-xml (and
/// so feed-rs) reads them: the attribute's name, its raw value, and where the
/// value starts in `text`. Stops at the first error: feed-rs reads no further
/// either.
fn attributes(text: &[u8], mut each: impl FnMut(&str, &[u8], usize)) {
    let mut reader = super::legacy::reader(text);
    loop {
        let e = match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => e,
            Ok(Event::Eof) | Err(_) => return,
            Ok(_) => continue,
        };
        for a in e.attributes().with_checks(false) {
            let Ok(a) = a else { break };
            let value = a.value.as_bytes();
            // A borrowing reader gives slices of the document itself.
            let Some(at) = (value.as_ptr() as usize)
                .checked_sub(text.as_ptr() as usize)
                .filter(|o| o + value.len() <= text.len())
            else {
                continue;
            };
            each(a.key.as_ref(), value, at);
        }
    }
}

/// The document with every namespace declaration (`xmlns="…"`, `xmlns:p="…"`,
/// even `xmlns:="…"`) of an [`UNREAD`] namespace renamed; `None` when there is
/// none. feed-rs matches a namespace by its exact bytes, so a value written
/// otherwise (with a character reference) was not its namespace anyway; text
/// and other attributes are left as they are.
fn unread_extensions(text: &[u8]) -> Option<Vec<u8>> {
    if !UNREAD
        .iter()
        .any(|ns| memchr::memmem::find(text, ns).is_some())
    {
        return None;
    }
    let mut at = Vec::new();
    attributes(text, |name, value, i| {
        if (name == "xmlns" || name.starts_with("xmlns:")) && UNREAD.contains(&value) {
            at.push(i);
        }
    });
    if at.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() + at.len() * RENAMED.len());
    let mut copied = 0;
    for i in at {
        out.extend_from_slice(&text[copied..i]);
        out.extend_from_slice(RENAMED);
        copied = i;
    }
    out.extend_from_slice(&text[copied..]);
    Some(out)
}

/// What a base costs once it is a URL: a byte the URL must percent-encode
/// (a space, a quote, any non-ASCII byte) becomes three.
fn url_len(value: &[u8]) -> usize {
    value
        .iter()
        .map(|b| match b {
            b'!'..=b'~'
                if !matches!(
                    b,
                    b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
                ) =>
            {
                1
            }
            _ => 3,
        })
        .sum()
}

/// The document without the `xml:base` attributes that would bring the bases
/// in force past [`MAX_BASES`] (as URL bytes); without any `xml:base` when
/// the bases in force summed over every element would pass
/// [`MAX_BASE_COPIES`] (feed-rs copies the base in force into each). `None`
/// when nothing is dropped.
fn bounded_bases(text: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(text, b"xml:base")?;
    let mut reader = super::legacy::reader(text);
    // URL bytes of xml:base in force at each open element.
    let mut stack: Vec<usize> = Vec::new();
    let mut over: Vec<(usize, usize)> = Vec::new();
    let mut all: Vec<(usize, usize)> = Vec::new();
    let mut copies = 0usize;
    let offset = |s: &[u8]| {
        (s.as_ptr() as usize)
            .checked_sub(text.as_ptr() as usize)
            .filter(|o| o + s.len() <= text.len())
    };
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                stack.pop();
                continue;
            }
            // Stop at an error, keeping what was found: feed-rs reads no
            // further either.
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        let mut in_force = stack.last().copied().unwrap_or(0);
        for a in e.attributes().with_checks(false) {
            let Ok(a) = a else { break };
            if a.key.as_ref() != "xml:base" {
                continue;
            }
            let value = a.value.as_bytes();
            let (Some(name), Some(at)) = (offset(a.key.as_ref().as_bytes()), offset(value)) else {
                continue;
            };
            // The attribute from its name to its closing quote.
            let span = (name, (at + value.len() + 1).min(text.len()));
            all.push(span);
            let len = url_len(value);
            if in_force + len > MAX_BASES {
                over.push(span);
            } else {
                in_force += len;
            }
        }
        copies = copies.saturating_add(in_force);
        if !empty {
            stack.push(in_force);
        }
    }
    let drop = if copies > MAX_BASE_COPIES { all } else { over };
    (!drop.is_empty()).then(|| without(text, &drop))
}

/// `text` without the byte ranges `spans` (in order, not overlapping).
pub(super) fn without(text: &[u8], spans: &[(usize, usize)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut copied = 0;
    for &(from, to) in spans {
        out.extend_from_slice(&text[copied..from]);
        copied = to;
    }
    out.extend_from_slice(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declarations_of_unread_namespaces_are_renamed() {
        let doc = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes = 'http://www.itunes.com/dtds/podcast-1.0.dtd'><channel>
            <item><description>see http://search.yahoo.com/mrss/ and "http://search.yahoo.com/mrss/"</description>
            <x:y xmlns:x="urn:x" href="http://search.yahoo.com/mrss/"/></item></channel></rss>"#;
        let out = String::from_utf8(unread_extensions(doc.as_bytes()).unwrap()).unwrap();
        assert!(
            out.contains(r#"xmlns:media="urn:feedloom:unread:http://search.yahoo.com/mrss/""#),
            "{out}"
        );
        assert!(
            out.contains(
                "xmlns:itunes = 'urn:feedloom:unread:http://www.itunes.com/dtds/podcast-1.0.dtd'"
            ),
            "{out}"
        );
        // Text and other attributes keep the URL.
        assert!(
            out.contains(
                r#"see http://search.yahoo.com/mrss/ and "http://search.yahoo.com/mrss/""#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"href="http://search.yahoo.com/mrss/""#),
            "{out}"
        );
        // As quick-xml reads attributes: no space needed after a quote, and
        // an empty prefix binds too.
        let tight = br#"<rss version="2.0"xmlns:media="http://search.yahoo.com/mrss/"><g xmlns:="http://search.yahoo.com/mrss/"/></rss>"#;
        let out = String::from_utf8(unread_extensions(tight).unwrap()).unwrap();
        assert_eq!(out.matches("urn:feedloom:unread:").count(), 2, "{out}");
        // A declaration shown in CDATA text is text.
        let shown = br#"<rss><channel><description><![CDATA[<rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">]]></description></channel></rss>"#;
        assert_eq!(unread_extensions(shown), None);
        assert_eq!(unread_extensions(b"<rss><channel/></rss>"), None);
        assert_eq!(
            unread_extensions(br#"<a b="http://search.yahoo.com/mrss/"/>"#),
            None
        );
    }

    #[test]
    fn bases_past_the_bound_are_dropped_and_the_rest_kept() {
        let long = "a".repeat(MAX_BASES);
        let doc = format!(
            r#"<feed xml:base="https://x.example/"><entry xml:base="{long}/"><link href="p"/></entry><entry xml:base='b/' a="1"/></feed>"#
        );
        let out = String::from_utf8(bounded_bases(doc.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"<feed xml:base="https://x.example/"><entry ><link href="p"/></entry><entry xml:base='b/' a="1"/></feed>"#
        );
        // Nested bases count together.
        let nested = "<x xml:base=\"aaaaaaaaaa/\">".repeat(300) + &"</x>".repeat(300);
        let out = String::from_utf8(bounded_bases(nested.as_bytes()).unwrap()).unwrap();
        assert_eq!(out.matches("xml:base").count(), MAX_BASES / 11);
        // A byte the URL must escape counts three times.
        let spaces = format!(
            r#"<feed xml:base="{}/"><entry/></feed>"#,
            " ".repeat(MAX_BASES / 3 + 1)
        );
        assert!(bounded_bases(spaces.as_bytes()).is_some());
        // A base within the bound, copied into too many elements: all go.
        let many = format!(
            r#"<feed xml:base="https://x.example/{}/">{}</feed>"#,
            "a".repeat(1000),
            "<link href=\"b\"/>".repeat(MAX_BASE_COPIES / 1000)
        );
        let out = bounded_bases(many.as_bytes()).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("xml:base"));
        // A fault later in the document does not keep what comes before it.
        let broken = format!(r#"<feed><entry xml:base="{long}/"/><!x></feed>"#);
        let out = String::from_utf8(bounded_bases(broken.as_bytes()).unwrap()).unwrap();
        assert!(!out.contains(&long), "{out}");
        assert_eq!(
            bounded_bases(br#"<feed xml:base="https://x.example/"/>"#),
            None
        );
        assert_eq!(bounded_bases(b"<feed/>"), None);
    }
}
