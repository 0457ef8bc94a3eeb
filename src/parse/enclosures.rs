//! An entry's enclosures: the files it carries (a podcast's episode, a video,
//! a PDF), from RSS `<enclosure>`, Atom `<link rel="enclosure">` and JSON Feed
//! `attachments`, as feed-rs reads them. Media RSS, iTunes and Podcasting 2.0
//! elements are not read (`defuse` takes them away before feed-rs parses).
//!
//! Every URL kept is an absolute `http`/`https` URL (relative ones resolved
//! against the entry's base), each once, at most [`MAX_ENCLOSURES`] per entry;
//! a media type is kept only when it reads as one (`type/subtype`). The store
//! keeps them as a JSON array in `items.enclosures` ([`encode`], [`decode`]).

use feed_rs::model;
use serde::{Deserialize, Serialize};
use url::Url;

/// The most enclosures one entry keeps (as many as `defuse` lets feed-rs
/// build of any list).
pub const MAX_ENCLOSURES: usize = super::defuse::MAX_REPEATS;

/// The longest enclosure URL kept, in bytes (as an entry's link).
const MAX_URL: usize = 8192;

/// One file an entry carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    /// Absolute `http`/`https` URL.
    pub url: String,
    /// The media type the feed gave (`audio/mpeg`), lowercase, without
    /// parameters; `None` when it gave none or none that reads as one.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The size in bytes the feed gave (RSS writes 0 when it does not know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// The enclosures of a feed-rs entry, in document order.
/// `base` resolves relative URLs (the entry's `xml:base`, else the
/// document's URL); a URL that is `base` or `document` itself is no file.
pub(super) fn of_entry(e: &model::Entry, base: &Url, document: &Url) -> Vec<Enclosure> {
    let mut out: Vec<Enclosure> = Vec::new();
    // RSS <enclosure> (feed-rs makes each a media object's content).
    for m in &e.media {
        for c in &m.content {
            if let Some(url) = &c.url {
                let ty = c.content_type.as_ref().map(|t| t.to_string());
                push(
                    &mut out,
                    (url.as_str(), ty.as_deref(), c.size),
                    base,
                    document,
                );
            }
        }
    }
    for l in &e.links {
        // Atom: rel="enclosure". JSON Feed: attachments are the links with a
        // media type and no rel (an item's url and external_url have neither).
        let enclosure = match l.rel.as_deref() {
            Some(rel) => super::rel_is(rel, "enclosure"),
            None => l.media_type.is_some(),
        };
        if enclosure {
            push(
                &mut out,
                (&l.href, l.media_type.as_deref(), l.length),
                base,
                document,
            );
        }
    }
    out
}

/// The enclosures of an entry's `media:content` elements (address and
/// media type as written), for one feed-rs was kept from reading them
/// ([`super::defuse::entries_media`]).
pub(super) fn of_media(
    files: &[(String, Option<String>)],
    base: &Url,
    document: &Url,
) -> Vec<Enclosure> {
    let mut out: Vec<Enclosure> = Vec::new();
    for (href, ty) in files {
        push(&mut out, (href, ty.as_deref(), None), base, document);
    }
    out
}

/// Adds a file (its address, media type and length as written) to `out`,
/// resolved against `base`, unless it is none: too long, past
/// [`MAX_ENCLOSURES`], the document itself, or there already.
fn push(
    out: &mut Vec<Enclosure>,
    (href, media_type, length): (&str, Option<&str>, Option<u64>),
    base: &Url,
    document: &Url,
) {
    if out.len() >= MAX_ENCLOSURES || href.len() > MAX_URL {
        return;
    }
    let href = href.trim();
    let Some(url) = crate::urls::resolve(Some(base), href) else {
        return;
    };
    // An empty or fragment-only URL resolves to the document itself
    // (feed-rs resolves RSS's `url=""` so before feedloom sees it): no file.
    if href.is_empty()
        || href.starts_with('#')
        || same_document(&url, base)
        || same_document(&url, document)
    {
        return;
    }
    if url.len() > MAX_URL || out.iter().any(|o| o.url == url) {
        return;
    }
    out.push(Enclosure {
        url,
        media_type: media_type.and_then(media_type_of),
        length,
    });
}

/// Whether `url` is `base` itself, fragments aside.
fn same_document(url: &str, base: &Url) -> bool {
    let strip = |u: &str| u.split('#').next().unwrap_or(u).to_string();
    strip(url) == strip(base.as_str())
}

/// `s` as a media type: `type/subtype` of token characters, lowercase, its
/// parameters dropped; `None` for anything else.
fn media_type_of(s: &str) -> Option<String> {
    let essence = s.split(';').next().unwrap_or("").trim();
    let (ty, sub) = essence.split_once('/')?;
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 127
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    (token(ty) && token(sub)).then(|| essence.to_ascii_lowercase())
}

/// The JSON kept in `items.enclosures`: `None` (NULL) for an entry without any.
pub fn encode(list: &[Enclosure]) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    serde_json::to_string(list).ok()
}

/// What [`encode`] wrote, read back for the outputs. Every URL is checked again
/// as it is published (a row written by hand, or by another program, may hold
/// anything): what is not an `http`/`https` URL, or not an enclosure at all,
/// is left out.
pub fn decode(json: Option<&str>) -> Vec<Enclosure> {
    let Some(json) = json else {
        return Vec::new();
    };
    let list: Vec<Enclosure> = serde_json::from_str(json).unwrap_or_default();
    list.into_iter()
        .filter_map(|e| {
            Some(Enclosure {
                url: crate::urls::safe_link(&e.url)?,
                media_type: e.media_type.as_deref().and_then(media_type_of),
                length: e.length,
            })
        })
        .take(MAX_ENCLOSURES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_read_strictly() {
        assert_eq!(
            media_type_of(" Audio/MPEG; charset=x ").as_deref(),
            Some("audio/mpeg")
        );
        assert_eq!(
            media_type_of("application/rss+xml").as_deref(),
            Some("application/rss+xml")
        );
        for bad in [
            "audio",
            "/mpeg",
            "audio/",
            "audio/mp eg",
            "a\"/b",
            "<b>/x",
            "",
        ] {
            assert_eq!(media_type_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_stored_form_round_trips_and_is_checked_when_read() {
        let list = vec![
            Enclosure {
                url: "https://example.org/a.mp3".into(),
                media_type: Some("audio/mpeg".into()),
                length: Some(1234),
            },
            Enclosure {
                url: "https://example.org/b.pdf".into(),
                media_type: None,
                length: None,
            },
        ];
        let json = encode(&list).unwrap();
        assert_eq!(
            json,
            r#"[{"url":"https://example.org/a.mp3","type":"audio/mpeg","length":1234},{"url":"https://example.org/b.pdf"}]"#
        );
        assert_eq!(decode(Some(&json)), list);
        assert_eq!(encode(&[]), None);
        assert!(decode(None).is_empty());
        // Written by someone else: a script URL, a bad type, not JSON at all.
        let hostile = r#"[{"url":"javascript:alert(1)"},{"url":"https://e.org/x","type":"text/html\"><script>"}]"#;
        assert_eq!(
            decode(Some(hostile)),
            vec![Enclosure {
                url: "https://e.org/x".into(),
                media_type: None,
                length: None
            }]
        );
        assert!(decode(Some("not json")).is_empty());
    }
}
