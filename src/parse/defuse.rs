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
//!   around it would pass [`MAX_BASES`] bytes. feed-rs copies the base in
//!   force into every element and every link it resolves (274 KB with a long
//!   base and many links took 1 GB; nested relative bases grow with the
//!   square of their depth).
//!
//! Both return `None` (nothing to do) for almost every real document, after a
//! substring search.

use std::borrow::Cow;

use quick_xml::events::Event;

/// The document as feed-rs should see it: both rewrites, for XML.
pub(super) fn for_feed_rs(text: &[u8]) -> Cow<'_, [u8]> {
    if super::limits::is_json(text) {
        return Cow::Borrowed(text);
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

/// The document with every namespace declaration (`xmlns="…"`,
/// `xmlns:p="…"`) of an [`UNREAD`] namespace renamed; `None` when there is
/// none. feed-rs matches a namespace by its exact bytes, so an occurrence
/// written otherwise (with a character reference) was not its namespace
/// anyway; one in text or in another attribute is left as it is.
pub(super) fn unread_extensions(text: &[u8]) -> Option<Vec<u8>> {
    let mut at: Vec<usize> = UNREAD
        .iter()
        .flat_map(|ns| memchr::memmem::find_iter(text, ns).filter(|&i| declares(text, i, ns.len())))
        .collect();
    if at.is_empty() {
        return None;
    }
    at.sort_unstable();
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

/// Whether `text[i..i + len]` is the whole value of an `xmlns` or `xmlns:p`
/// attribute.
fn declares(text: &[u8], i: usize, len: usize) -> bool {
    let Some(quote) = i.checked_sub(1).map(|q| text[q]) else {
        return false;
    };
    if !matches!(quote, b'"' | b'\'') || text.get(i + len) != Some(&quote) {
        return false;
    }
    let before = text[..i - 1].trim_ascii_end();
    let Some(before) = before.strip_suffix(b"=") else {
        return false;
    };
    let name_end = before.trim_ascii_end();
    let start = name_end
        .iter()
        .rposition(|c| c.is_ascii_whitespace() || *c == b'<')
        .map_or(0, |p| p + 1);
    let name = &name_end[start..];
    name == b"xmlns" || name.starts_with(b"xmlns:") && name.len() > 6
}

/// The document without the `xml:base` attributes that would bring the bases
/// in force past [`MAX_BASES`] bytes; `None` when none does (or the document
/// is not well-formed enough to tell: feed-rs then says why).
pub(super) fn bounded_bases(text: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(text, b"xml:base")?;
    let mut reader = super::legacy::reader(text);
    // Bytes of xml:base in force at each open element.
    let mut stack: Vec<usize> = Vec::new();
    let mut drop: Vec<(usize, usize)> = Vec::new();
    // Where a slice of the document starts in it (`None` for one that is not
    // a slice of it, which a borrowing reader never gives).
    let offset = |s: &[u8]| {
        (s.as_ptr() as usize)
            .checked_sub(text.as_ptr() as usize)
            .filter(|o| o + s.len() <= text.len())
    };
    loop {
        let (e, empty) = match reader.read_event().ok()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let mut in_force = stack.last().copied().unwrap_or(0);
        // `attributes()` borrows the document itself: its slices say where
        // the attribute is.
        for a in e.attributes().with_checks(false).flatten() {
            if a.key.as_ref() != "xml:base" {
                continue;
            }
            let value = a.value.as_bytes();
            if in_force + value.len() > MAX_BASES {
                let name = offset(a.key.as_ref().as_bytes())?;
                let value_end = offset(value)? + value.len();
                // The attribute from its name to its closing quote.
                drop.push((name, value_end + 1));
            } else {
                in_force += value.len();
            }
        }
        if !empty {
            stack.push(in_force);
        }
    }
    if drop.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut copied = 0;
    for (from, to) in drop {
        out.extend_from_slice(&text[copied..from]);
        copied = to.min(text.len());
    }
    out.extend_from_slice(&text[copied..]);
    Some(out)
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
        assert_eq!(
            bounded_bases(br#"<feed xml:base="https://x.example/"/>"#),
            None
        );
        assert_eq!(bounded_bases(b"<feed/>"), None);
    }
}
