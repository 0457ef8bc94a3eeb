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
//!   text, author, dates and enclosures (RSS `<enclosure>` is no extension).
//! * [`bounded_bases`]: an `xml:base` is dropped when the bases in force
//!   around it would pass [`MAX_BASES`] bytes as a URL (an escaped byte
//!   counts three), and every `xml:base` is dropped when the bases in force
//!   summed over all elements would pass 16 MiB. feed-rs copies the base in
//!   force into every element and every link it resolves (274 KB with a long
//!   base and many links took 1 GB; nested relative bases grow with the
//!   square of their depth).
//!
//! * [`bounded_lists`]: a container's (the root's, the channel's, an
//!   entry's) children of one name past the first [`MAX_REPEATS`], and an
//!   element's attributes past the first [`MAX_ATTRIBUTES`], left out.
//!   feed-rs builds every link, category, person, enclosure and attribute
//!   at 5–14 times its size (a 16 MiB item of `<link>`s took 250 MiB). What
//!   feedloom reads of an entry is kept where it can tell (the first link a
//!   reader would follow, the first named person, the fields feedloom shows
//!   one of); every document is bounded, and only by what each container
//!   holds, so an entry reads the same whole and alone (what the entry
//!   seals rely on).
//! * for JSON Feed, every list feed-rs builds (`authors`, an item's `tags`
//!   and `attachments`) cut to [`MAX_JSON_LIST`] members
//!   (`limits::cap_json_lists`): feed-rs compares each author with all
//!   before it and copies all the feed's into every item without one, and
//!   builds a tag at 38 times its size.
//!
//! * [`bad_char_refs`] and, for JSON Feed, [`lone_surrogates`]: a reference
//!   to a character no XML document may hold (`&#0;`, `&#xD800;`) is left
//!   out, and half a surrogate pair in JSON becomes U+FFFD: one of them made
//!   the reader refuse the whole document.
//!
//! [`for_feed_rs`] applies them; each but `bounded_lists` and
//! `bad_char_refs` (which reads every `&#`) does nothing after a substring
//! search for almost every real document (`bounded_lists` reads
//! every XML document once, as quick-xml: 0.75 ms per MB here).

use std::borrow::Cow;

use quick_xml::events::Event;

/// How many members of a JSON Feed list (`authors`, the feed's and an
/// item's; an item's `tags` and `attachments`) feed-rs reads; the rest are
/// left out before it (feedloom shows one author per entry and reads no tag
/// or attachment, and feed-rs's work grows with the square of a feed's
/// authors: [`super::limits::cap_json_lists`]).
pub(super) const MAX_JSON_LIST: usize = 16;

/// The document as feed-rs should see it: the three rewrites for XML, the
/// lists cut for JSON Feed.
pub(super) fn for_feed_rs(text: &[u8]) -> Cow<'_, [u8]> {
    if super::limits::is_json(text) {
        let text = lone_surrogates(text).map_or(Cow::Borrowed(text), Cow::Owned);
        return match super::limits::cap_json_lists(&text, MAX_JSON_LIST) {
            Some(capped) => Cow::Owned(capped),
            None => text,
        };
    }
    let text = bad_char_refs(text).map_or(Cow::Borrowed(text), Cow::Owned);
    let text = match unbound_prefixes(&text) {
        Some(bound) => Cow::Owned(bound),
        None => text,
    };
    let text = match unread_extensions(&text) {
        Some(renamed) => Cow::Owned(renamed),
        None => text,
    };
    let text = match bounded_lists(&text) {
        Some(bounded) => Cow::Owned(bounded),
        None => text,
    };
    match bounded_bases(&text) {
        Some(bounded) => Cow::Owned(bounded),
        None => text,
    }
}

/// Namespaces of the prefixes feeds use without declaring them, bound on the
/// root element: the well-known modules to their own (a feed that forgot
/// `xmlns:content` means the content module), any other to a namespace of
/// its own. feed-rs read an element of an undeclared prefix by its local
/// name: an item's `<itunes:title>`, `<media:title>` or `<dc:title>` after
/// its `<title>` became its headline, and an undeclared `content:encoded`
/// was lost (found by a black-box round of the corpus). `None` when every
/// prefix of an element is declared (or there is none).
fn unbound_prefixes(text: &[u8]) -> Option<Vec<u8>> {
    const KNOWN: [(&str, &str); 8] = [
        ("content", "http://purl.org/rss/1.0/modules/content/"),
        ("dc", "http://purl.org/dc/elements/1.1/"),
        ("dcterms", "http://purl.org/dc/terms/"),
        ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
        ("media", "http://search.yahoo.com/mrss/"),
        ("atom", "http://www.w3.org/2005/Atom"),
        ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
        ("slash", "http://purl.org/rss/1.0/modules/slash/"),
    ];
    const MOST: usize = 64;
    let name_char = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    // The root's start tag, past the prolog (a comment or a DOCTYPE holding
    // a tag took the declarations into it), and the prefixes it declares:
    // those are bound everywhere. (A declaration anywhere else, another
    // item's or a post's quoted text, left the prefix unbound where used.)
    let root_at = root_start(text)?;
    let tag_end = start_tag_end(text, root_at)?;
    let root_tag = &text[root_at..tag_end];
    let name_end = root_at
        + 1
        + text[root_at + 1..]
            .iter()
            .take_while(|c| name_char(c) || **c == b':')
            .count();
    let declared = |prefix: &[u8]| {
        let mut decl = b"xmlns:".to_vec();
        decl.extend_from_slice(prefix);
        memchr::memmem::find_iter(root_tag, &decl).any(|d| {
            d > 0
                && root_tag[d - 1].is_ascii_whitespace()
                && root_tag[d + decl.len()..]
                    .iter()
                    .find(|c| !c.is_ascii_whitespace())
                    == Some(&b'=')
        })
    };
    let mut unbound: Vec<&[u8]> = Vec::new();
    let mut seen: Vec<&[u8]> = Vec::new();
    // (Not inside CDATA or a comment: a post explaining namespaces,
    // `<![CDATA[<xmlns:atom="…">]]>`, had `xmlns` bound, which no document
    // may, and its feed was "not a feed"; found by the re-attack.)
    let mut skip_to = 0;
    for at in memchr::memchr_iter(b'<', &text[root_at..]).map(|k| root_at + k) {
        if at < skip_to {
            continue;
        }
        if let Some(end) = past_cdata_or_comment(text, at) {
            skip_to = end;
            continue;
        }
        let rest = &text[at + 1..];
        if !rest
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            continue;
        }
        let len = rest.iter().take(64).take_while(|c| name_char(c)).count();
        if rest.get(len) != Some(&b':') {
            continue;
        }
        let prefix = &rest[..len];
        // (Each prefix looked up once: a feed's thousand `dc:creator`s each
        // searched the whole document.)
        if prefix.eq_ignore_ascii_case(b"xml")
            || prefix.eq_ignore_ascii_case(b"xmlns")
            || seen.contains(&prefix)
        {
            continue;
        }
        if seen.len() == MOST {
            break;
        }
        seen.push(prefix);
        if !declared(prefix) {
            unbound.push(prefix);
        }
    }
    if unbound.is_empty() {
        return None;
    }
    let root = name_end;
    let mut decls = Vec::new();
    for p in &unbound {
        let name = String::from_utf8_lossy(p);
        let uri = KNOWN.iter().find(|(k, _)| *k == name).map_or_else(
            || format!("urn:feedloom:undeclared:{name}"),
            |(_, u)| u.to_string(),
        );
        decls.extend_from_slice(format!(" xmlns:{name}=\"{uri}\"").as_bytes());
    }
    let mut out = Vec::with_capacity(text.len() + decls.len());
    out.extend_from_slice(&text[..root]);
    out.extend_from_slice(&decls);
    out.extend_from_slice(&text[root..]);
    Some(out)
}

/// Where the CDATA section or comment that starts at `text[at]` ends (past
/// its `]]>` or `-->`, or the text's end when it never closes); `None` when
/// none starts there. What it holds is no element.
pub(super) fn past_cdata_or_comment(text: &[u8], at: usize) -> Option<usize> {
    [(&b"<![CDATA["[..], &b"]]>"[..]), (b"<!--", b"-->")]
        .into_iter()
        .find(|(open, _)| text[at..].starts_with(open))
        .map(|(_, close)| {
            memchr::memmem::find(&text[at..], close).map_or(text.len(), |e| at + e + close.len())
        })
}

/// Where the root element's start tag begins: the first tag past the
/// prolog's declaration, processing instructions, comments and DOCTYPE
/// (its internal subset too).
fn root_start(text: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let at = i + memchr::memchr(b'<', &text[i..])?;
        let rest = &text[at..];
        if rest.starts_with(b"<?") {
            i = at + 2 + memchr::memmem::find(&rest[2..], b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            i = at + 4 + memchr::memmem::find(&rest[4..], b"-->")? + 3;
        } else if rest.starts_with(b"<!") {
            let mut depth = 0usize;
            let mut k = at + 2;
            while k < text.len() {
                match text[k] {
                    b'[' => depth += 1,
                    b']' => depth = depth.saturating_sub(1),
                    b'>' if depth == 0 => break,
                    _ => {}
                }
                k += 1;
            }
            i = k + 1;
        } else if rest
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            return Some(at);
        } else {
            i = at + 1;
        }
        if i >= text.len() {
            return None;
        }
    }
}

/// Where the start tag at `at` ends (its `>`, outside quoted values).
fn start_tag_end(text: &[u8], at: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (k, c) in text.iter().enumerate().skip(at + 1) {
        match (quote, *c) {
            (None, b'"' | b'\'') => quote = Some(*c),
            (Some(q), c) if c == q => quote = None,
            (None, b'>') => return Some(k),
            _ => {}
        }
    }
    None
}

/// Character references to what XML allows no document to hold (`&#0;`,
/// a surrogate such as `&#xD800;`, `&#xFFFE;`, past U+10FFFF) left out: the
/// XML reader refused the whole document for one of them, every entry lost
/// for one bad title. `None` when there is none (every `&#` is read as a
/// number: linear, and nothing more where all are allowed).
fn bad_char_refs(text: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    // (Found once, when a bad reference is.)
    let mut cdata: Option<Vec<(usize, usize)>> = None;
    let mut copied = 0;
    for at in memchr::memmem::find_iter(text, b"&#") {
        if at < copied {
            continue;
        }
        let rest = &text[at + 2..];
        let (hex, digits) = match rest.first() {
            Some(b'x' | b'X') => (true, &rest[1..]),
            _ => (false, rest),
        };
        let n = digits
            .iter()
            .take_while(|b| match hex {
                true => b.is_ascii_hexdigit(),
                false => b.is_ascii_digit(),
            })
            .count();
        if n == 0 || digits.get(n) != Some(&b';') {
            continue;
        }
        // (Leading zeros aside, more than 8 digits is past U+10FFFF.)
        let significant = &digits[..n];
        let zeros = significant.iter().take_while(|b| **b == b'0').count();
        let significant = &significant[zeros.min(n - 1)..];
        let value = std::str::from_utf8(significant)
            .ok()
            .filter(|d| d.len() <= 8)
            .and_then(|d| u32::from_str_radix(d, if hex { 16 } else { 10 }).ok());
        let allowed = value.is_some_and(|v| {
            matches!(v, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF)
        });
        if allowed {
            continue;
        }
        // Inside a CDATA section it is text, not a reference.
        // (Sections are sorted and apart: one binary search.)
        let cdata = cdata.get_or_insert_with(|| cdata_sections(text));
        let i = cdata.partition_point(|(_, to)| *to <= at);
        if cdata.get(i).is_some_and(|(from, _)| *from <= at) {
            continue;
        }
        let end = at + 2 + usize::from(hex) + n + 1;
        let out = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
        out.extend_from_slice(&text[copied..at]);
        copied = end;
    }
    let mut out = out?;
    out.extend_from_slice(&text[copied..]);
    Some(out)
}

/// Where the CDATA sections of `text` are (from their `<![CDATA[` to their
/// `]]>`; the last to the end when it is not closed).
fn cdata_sections(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = memchr::memmem::find(&text[from..], b"<![CDATA[").map(|i| from + i) {
        let end =
            memchr::memmem::find(&text[start..], b"]]>").map_or(text.len(), |i| start + i + 3);
        out.push((start, end));
        from = end;
    }
    out
}

/// A JSON document's `\uD800`–`\uDFFF` escapes that are no surrogate pair
/// (half an emoji, as a cut string serialises) made `\uFFFD`: the JSON
/// reader refused the whole feed for one. `None` when there is none.
fn lone_surrogates(text: &[u8]) -> Option<Vec<u8>> {
    if memchr::memmem::find(text, b"\\ud").is_none()
        && memchr::memmem::find(text, b"\\uD").is_none()
    {
        return None;
    }
    let unit = |at: usize| -> Option<u16> {
        let d = text.get(at..at + 6)?;
        if d[0] != b'\\' || d[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&d[2..]).ok()?, 16).ok()
    };
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(u) = unit(i) else {
            // Another escape: its character is not a backslash that starts one.
            i += 2;
            continue;
        };
        let lone = match u {
            0xD800..=0xDBFF => match unit(i + 6) {
                Some(0xDC00..=0xDFFF) => {
                    i += 12;
                    continue;
                }
                _ => true,
            },
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            let out = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
            out.extend_from_slice(&text[copied..i]);
            out.extend_from_slice(b"\\ufffd");
            copied = i + 6;
        }
        i += 6;
    }
    let mut out = out?;
    out.extend_from_slice(&text[copied..]);
    Some(out)
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
        // Up to a faulty attribute, as quick-xml binds namespaces.
        for a in e.attributes().with_checks(false) {
            let Ok(a) = a else { break };
            let value = a.value.as_bytes();
            // A borrowing reader gives slices of the document itself.
            let Some(at) = offset_in(text, value) else {
                continue;
            };
            each(a.key.as_ref(), value, at);
        }
    }
}

/// Whether `text` declares an [`UNREAD`] namespace (Media RSS, iTunes,
/// Podcasting 2.0): its entries may carry what feedloom does not read. (By
/// its declarations: the address in an item's text, a comment or a
/// category's `domain` made every empty item of the document kept.)
pub(super) fn declares_unread(text: &[u8]) -> bool {
    if !names_unread(text) {
        return false;
    }
    let mut declared = false;
    attributes(text, |name, value, _| {
        declared |= (name == "xmlns" || name.starts_with("xmlns:")) && unread_namespace(value);
    });
    declared
}

/// Whether `value` names an [`UNREAD`] namespace, in any letter case:
/// podcasts often write iTunes' as `http://www.itunes.com/DTDs/PodCast-1.0.dtd`,
/// and an episode of only iTunes fields under it was dropped as empty.
fn unread_namespace(value: &[u8]) -> bool {
    UNREAD.iter().any(|ns| ns.eq_ignore_ascii_case(value))
}

/// What a prefix is bound to, as far as entries go ([`Bound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Media,
    Itunes,
    Podcast,
    /// A feed format's own (Atom, RSS 1.0 or 0.90): `<rss:item>` is an entry.
    Feed,
    Other,
}

/// The prefixes a document binds, each to the first namespace it names
/// (looked up by hash: a document binding 80,000 prefixes, one per element,
/// cost the square of them, 16 s for 4 MB).
struct Bound(std::collections::HashMap<String, Ns>);

impl Bound {
    fn of(text: &[u8]) -> Bound {
        let mut map = std::collections::HashMap::new();
        attributes(text, |name, value, _| {
            if let Some(p) = name.strip_prefix("xmlns:")
                && !map.contains_key(p)
            {
                let ns = match () {
                    _ if UNREAD[0].eq_ignore_ascii_case(value) => Ns::Media,
                    _ if UNREAD[1].eq_ignore_ascii_case(value) => Ns::Itunes,
                    _ if UNREAD[2].eq_ignore_ascii_case(value) => Ns::Podcast,
                    _ if [
                        b"http://www.w3.org/2005/Atom".as_slice(),
                        b"http://purl.org/rss/1.0/",
                        b"http://my.netscape.com/rdf/simple/0.9/",
                    ]
                    .contains(&value) =>
                    {
                        Ns::Feed
                    }
                    _ => Ns::Other,
                };
                map.insert(p.to_string(), ns);
            }
        });
        Bound(map)
    }

    /// What `e`'s prefix is bound to (`None`: no prefix, or one not bound).
    fn of_element(&self, e: &quick_xml::events::BytesStart) -> Option<Ns> {
        let name = e.name();
        self.0.get(name.prefix()?.as_ref() as &str).copied()
    }

    /// Whether `e` is an entry as feed-rs reads one: an `item` or `entry`,
    /// unprefixed or in a feed format's namespace, right inside a channel, a
    /// feed or an RDF root (`parent_holds`). Counted otherwise (an `<item>`
    /// in a `<textinput>`, an `<rss:item>` not counted), a picture or a text
    /// was given to its neighbour.
    fn entry(&self, e: &quick_xml::events::BytesStart, parent_holds: bool) -> bool {
        let name = e.name();
        parent_holds
            && matches!(name.local_name().as_ref() as &str, "item" | "entry")
            && (name.prefix().is_none() || self.of_element(e) == Some(Ns::Feed))
    }
}

/// Whether an element (by its local name) is where entries are.
fn holds_entries(e: &quick_xml::events::BytesStart) -> bool {
    matches!(
        e.name().local_name().as_ref() as &str,
        "channel" | "feed" | "RDF"
    )
}

/// For each entry of the document (an unprefixed `item` or `entry`, the
/// outermost), in document order, whether it holds an element of an
/// [`UNREAD`] namespace (a Media RSS picture, an iTunes episode's fields):
/// by a prefix the document binds to one, or a default namespace declared
/// on the element. An `<item/>` of a podcast's feed holds none (every entry
/// of such a document was kept, however empty). `None` when the document
/// cannot be read to its end.
pub(super) fn entries_carrying_unread(text: &[u8]) -> Option<Vec<bool>> {
    let bound = Bound::of(text);
    let unread = |e: &quick_xml::events::BytesStart| {
        matches!(
            bound.of_element(e),
            Some(Ns::Media | Ns::Itunes | Ns::Podcast)
        ) || e
            .attributes()
            .with_checks(false)
            .flatten()
            .any(|a| a.key.as_ref() == "xmlns" && unread_namespace(a.value.as_bytes()))
    };
    let mut reader = super::legacy::reader(text);
    let mut depth = 0usize;
    // Whether each open element holds entries.
    let mut holds: Vec<bool> = Vec::new();
    // The entry open: its depth, and whether it holds such an element.
    let mut open: Option<(usize, bool)> = None;
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                match &mut open {
                    None if bound.entry(&e, holds.last() == Some(&true)) => {
                        open = Some((depth, unread(&e)))
                    }
                    Some(o) => o.1 |= unread(&e),
                    None => {}
                }
                holds.push(holds_entries(&e));
            }
            Ok(Event::Empty(e)) => match &mut open {
                None if bound.entry(&e, holds.last() == Some(&true)) => out.push(unread(&e)),
                Some(o) => o.1 |= unread(&e),
                None => {}
            },
            Ok(Event::End(_)) => {
                if let Some((_, carries)) = open.take_if(|o| o.0 == depth) {
                    out.push(carries);
                }
                holds.pop();
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) => break,
            Err(_) => return None,
            Ok(_) => {}
        }
    }
    Some(out)
}

/// What an entry's Media RSS and iTunes elements show ([`entries_media`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Media {
    /// Its first picture's address as written: an image `media:content`,
    /// else the first `media:thumbnail` or `itunes:image`.
    pub image: Option<String>,
    /// Its first `media:description` or `itunes:summary` that holds
    /// something, and whether it is HTML.
    pub text: Option<(String, bool)>,
    /// Its `media:content` files: address and media type as written.
    pub files: Vec<(String, Option<String>)>,
    /// Its first `itunes:author` that names someone (a podcast episode's
    /// author, most often its only one), its spaces folded.
    pub author: Option<String>,
}

/// For each entry of the document (as [`entries_carrying_unread`] counts
/// them), what its Media RSS and iTunes elements show: feed-rs is kept
/// from reading them ([`unread_extensions`]), and an entry whose only text
/// they held (a YouTube video's description and thumbnail, an episode's
/// `itunes:summary`) was published as its title alone. A text is cut at
/// `max` bytes. `None` when the document cannot be read to its end.
pub(super) fn entries_media(text: &[u8], max: usize) -> Option<Vec<Media>> {
    let bound = Bound::of(text);
    if !bound
        .0
        .values()
        .any(|n| matches!(n, Ns::Media | Ns::Itunes))
    {
        return None;
    }
    // Media RSS (true) or iTunes (false), and the element's local name.
    let kind = |e: &quick_xml::events::BytesStart| -> Option<(bool, String)> {
        let mrss = match bound.of_element(e)? {
            Ns::Media => true,
            Ns::Itunes => false,
            _ => return None,
        };
        Some((mrss, e.name().local_name().as_ref().to_string()))
    };
    let attr = |e: &quick_xml::events::BytesStart, key: &str| {
        e.attributes()
            .with_checks(false)
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .map(|a| super::text::decode_entities(&a.value))
    };
    let image_like = |e: &quick_xml::events::BytesStart| {
        let url = attr(e, "url").unwrap_or_default();
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match (attr(e, "medium"), attr(e, "type")) {
            (Some(m), _) => m.trim().eq_ignore_ascii_case("image"),
            (None, Some(t)) => t.trim().to_ascii_lowercase().starts_with("image/"),
            (None, None) => [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
                .iter()
                .any(|x| path.ends_with(x)),
        }
    };
    let mut reader = super::legacy::reader(text);
    let mut depth = 0usize;
    // Whether each open element holds entries.
    let mut holds: Vec<bool> = Vec::new();
    // The entry open: its depth, and what it shows so far (`image` a
    // picture of `media:content`; `thumb` a thumbnail).
    let mut open: Option<(usize, Media)> = None;
    let mut thumb: Option<String> = None;
    // The text being read: its depth, whether HTML (`None`: to be judged by
    // what it holds; `Some(false)` for an author), what it holds, and
    // whether it is an author.
    let mut reading: Option<(usize, Option<bool>, String, bool)> = None;
    let mut out = Vec::new();
    loop {
        let event = reader.read_event();
        let (start, empty) = match &event {
            Ok(Event::Start(e)) => (Some(e), false),
            Ok(Event::Empty(e)) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let parent_holds = holds.last() == Some(&true);
            if !empty {
                depth += 1;
                holds.push(holds_entries(e));
            }
            match &mut open {
                None if bound.entry(e, parent_holds) => match empty {
                    true => out.push(Media::default()),
                    false => {
                        open = Some((depth, Media::default()));
                        thumb = None;
                    }
                },
                Some((_, m)) => match kind(e).as_ref().map(|(m, l)| (*m, l.as_str())) {
                    Some((true, "content")) if m.files.len() < 64 && attr(e, "url").is_some() => {
                        m.files
                            .push((attr(e, "url").unwrap_or_default(), attr(e, "type")));
                        if m.image.is_none() && image_like(e) {
                            m.image = attr(e, "url");
                        }
                    }
                    Some((true, "thumbnail")) if thumb.is_none() => thumb = attr(e, "url"),
                    Some((false, "image")) if thumb.is_none() => thumb = attr(e, "href"),
                    Some((true, "description"))
                        if !empty && m.text.is_none() && reading.is_none() =>
                    {
                        let html =
                            attr(e, "type").is_some_and(|t| t.trim().eq_ignore_ascii_case("html"));
                        reading = Some((depth, Some(html), String::new(), false));
                    }
                    Some((false, "summary")) if !empty && m.text.is_none() && reading.is_none() => {
                        reading = Some((depth, None, String::new(), false))
                    }
                    Some((false, "author"))
                        if !empty && m.author.is_none() && reading.is_none() =>
                    {
                        reading = Some((depth, Some(false), String::new(), true))
                    }
                    _ => {}
                },
                None => {}
            }
            continue;
        }
        match event {
            Ok(Event::Text(t)) => {
                if let Some((_, _, into, _)) = &mut reading
                    && into.len() < max
                {
                    into.push_str(&super::text::decode_entities(t.as_ref()));
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, _, into, _)) = &mut reading
                    && into.len() < max
                {
                    let raw = format!("&{};", r.as_ref() as &str);
                    into.push_str(&super::text::decode_entities(&raw));
                }
            }
            Ok(Event::CData(t)) => {
                if let Some((_, _, into, _)) = &mut reading
                    && into.len() < max
                {
                    into.push_str(t.as_ref());
                }
            }
            Ok(Event::End(_)) => {
                if let Some((_, _, got, true)) = reading.take_if(|r| r.0 == depth && r.3) {
                    // (Its spaces folded, as a name shown on one line; at
                    // most 256 characters, as a person's name elsewhere.)
                    let name = got.split_whitespace().collect::<Vec<_>>().join(" ");
                    if let Some((_, m)) = &mut open
                        && !name.is_empty()
                    {
                        m.author = Some(name.chars().take(256).collect());
                    }
                } else if let Some((_, html, got, _)) = reading.take_if(|r| r.0 == depth)
                    && let Some((_, m)) = &mut open
                {
                    // (`itunes:summary` is plain text by Apple's word, but
                    // many write HTML in it.)
                    let html = html.unwrap_or_else(|| super::text::strip_tags(&got) != got);
                    let shown = match html {
                        true => super::text::decode_entities(&super::text::strip_tags(&got)),
                        false => got.clone(),
                    };
                    if !super::text::shows_nothing(&shown) {
                        m.text = Some((super::text::bound(got, max), html));
                    }
                }
                if let Some((_, mut m)) = open.take_if(|o| o.0 == depth) {
                    m.image = m.image.or(thumb.take());
                    out.push(m);
                }
                holds.pop();
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) => break,
            Err(_) => return None,
            Ok(_) => {}
        }
    }
    Some(out)
}

/// Whether `text` names an [`UNREAD`] namespace anywhere (by its host, as
/// its path may be written in another letter case).
fn names_unread(text: &[u8]) -> bool {
    [
        b"search.yahoo.com/mrss".as_slice(),
        b"itunes.com/",
        b"podcastindex.org/namespace",
    ]
    .iter()
    .any(|host| memchr::memmem::find(text, host).is_some())
}

/// The document with every namespace declaration (`xmlns="…"`, `xmlns:p="…"`,
/// even `xmlns:="…"`) of an [`UNREAD`] namespace renamed; `None` when there is
/// none. feed-rs matches a namespace by its exact bytes, so a value written
/// otherwise (with a character reference) was not its namespace anyway; text
/// and other attributes are left as they are.
fn unread_extensions(text: &[u8]) -> Option<Vec<u8>> {
    if !names_unread(text) {
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
pub(super) fn bounded_bases(text: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find(text, b"xml:base")?;
    let mut reader = super::legacy::reader(text);
    // URL bytes of xml:base in force at each open element.
    let mut stack: Vec<usize> = Vec::new();
    let mut over: Vec<(usize, usize)> = Vec::new();
    let mut all: Vec<(usize, usize)> = Vec::new();
    let mut copies = 0usize;
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
        // Past a faulty attribute too: feed-rs reads on.
        for a in e.attributes().with_checks(false).flatten() {
            if a.key.as_ref() != "xml:base" {
                continue;
            }
            let Some(span) = attribute_span(text, &a) else {
                continue;
            };
            all.push(span);
            let len = url_len(a.value.as_bytes());
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

/// How many children of one local name a container (the root, `channel`, an
/// entry) keeps for feed-rs; the rest are left out. feedloom reads the first usable
/// link and author of a list, the first [`super::enclosures::MAX_ENCLOSURES`]
/// enclosures (as many as this keeps), and no other list (categories,
/// contributors...); feed-rs builds each member at 5–14 times its size in
/// the document (a 4 MiB item of `<link>`s took 60 MiB).
pub(super) const MAX_REPEATS: usize = 16;

/// How many attributes of one element feed-rs reads, besides those always
/// kept ([`is_kept_attribute`]): an element's attributes cost feed-rs 12
/// times their size.
pub(super) const MAX_ATTRIBUTES: usize = 64;

/// How many child names of one container are counted; a child of a name past
/// them is left out (a real entry shows a few dozen names).
const MAX_NAMES: usize = 256;

/// The containers whose lists are bounded: the root and `channel`, and
/// entries, no deeper than an RSS item (`rss/channel/item`).
fn is_container(local: &str, depth: usize) -> bool {
    depth <= 3 && matches!(local, "rss" | "channel" | "feed" | "RDF" | "item" | "entry")
}

/// Children never left out: entries, and the fields feedloom reads one of.
/// feed-rs keeps the last of those it meets (each replaces the one before:
/// no list grows), so leaving any out could change what an entry shows.
fn is_single(local: &str) -> bool {
    matches!(
        local,
        "item"
            | "entry"
            | "title"
            | "guid"
            | "id"
            | "description"
            | "summary"
            | "content"
            | "encoded"
            | "pubDate"
            | "published"
            | "updated"
            | "date"
            | "issued"
            | "modified"
            | "subtitle"
            | "ttl"
            | "lastBuildDate"
            | "language"
            | "rights"
            | "copyright"
            | "generator"
            | "icon"
            | "logo"
    )
}

/// An open container, as [`bounded_lists`] reads it.
struct Container {
    depth: usize,
    /// How many children of each name so far.
    counts: std::collections::HashMap<String, usize>,
    /// Whether a link a reader would follow was kept.
    followed: bool,
    /// Whether a person who is named was kept.
    named: bool,
    /// Whether RSS 1.0's placeholder link was kept.
    placeholder: bool,
}

/// What a container shows one of whatever the bound: the first link a
/// reader would follow, the first named person.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Link,
    Person,
}

impl Kind {
    fn of(local: &str) -> Option<Kind> {
        match local {
            "link" => Some(Kind::Link),
            "author" | "creator" => Some(Kind::Person),
            _ => None,
        }
    }

    /// Whether the container has kept one of this kind.
    fn kept(self, c: &Container) -> bool {
        match self {
            Kind::Link => c.followed,
            Kind::Person => c.named,
        }
    }

    fn keep(self, c: &mut Container) {
        match self {
            Kind::Link => c.followed = true,
            Kind::Person => c.named = true,
        }
    }
}

/// A container's link or person open, as far as read: whether it is one a
/// reader would follow (a link with an `href`, or text, and no `rel` but
/// `alternate`) or names someone (text of its own, or of its `name` or
/// `email`).
struct Candidate {
    depth: usize,
    kind: Kind,
    /// Whether text of its own would make it usable (a link's `rel`).
    text_counts: bool,
    usable: bool,
    /// The depth of its `name` or `email` open.
    field: Option<usize>,
}

impl Candidate {
    fn text(&mut self, depth: usize, some: bool) {
        if some && ((self.depth == depth && self.text_counts) || self.field == Some(depth)) {
            self.usable = true;
        }
    }
}

/// A link a reader would follow (feedloom shows an entry's first): no
/// `rel`, or `rel="alternate"`.
fn is_followed(e: &quick_xml::events::BytesStart) -> bool {
    !e.attributes()
        .with_checks(false)
        .flatten()
        .any(|a| a.key.as_ref() == "rel" && !super::rel_is(&a.value, "alternate"))
}

/// Whether an element has an `href` that is not blank.
fn has_href(e: &quick_xml::events::BytesStart) -> bool {
    e.attributes()
        .with_checks(false)
        .flatten()
        .any(|a| a.key.as_ref() == "href" && !a.value.trim_ascii().is_empty())
}

/// Attributes never left out: namespace declarations (quick-xml reads at
/// most 128 on an element), and those feed-rs or feedloom's own rewrites
/// read by name (a rewrite may add one after the rest).
fn is_kept_attribute(key: &str) -> bool {
    key == "xmlns"
        || key.starts_with("xmlns:")
        || matches!(
            key,
            "xml:base"
                | "xml:lang"
                | "version"
                | "type"
                | "mode"
                | "href"
                | "rel"
                | "src"
                | "url"
                | "term"
                | "label"
                | "scheme"
                | "length"
                | "hreflang"
                | "title"
                | "domain"
                | "isPermaLink"
                | "rdf:about"
                | "rdf:resource"
        )
}

/// Byte ranges to leave out, kept in order. A range joins the last one when
/// only text lies between them (text between a container's children is
/// nobody's: feed-rs skips it), or only whitespace after an attribute: a
/// list of a million members left out is one range.
struct Spans<'a> {
    text: &'a [u8],
    spans: Vec<(usize, usize)>,
    /// Whether the last range is an element's (it ends after its `>`).
    element: bool,
}

impl Spans<'_> {
    fn push(&mut self, from: usize, to: usize, element: bool) {
        if let Some(last) = self.spans.last_mut()
            && last.1 <= from
        {
            let gap = &self.text[last.1..from];
            let joins = if self.element {
                !gap.contains(&b'<')
            } else {
                gap.iter().all(u8::is_ascii_whitespace)
            };
            if joins {
                last.1 = to;
                self.element = element;
                return;
            }
        }
        self.spans.push((from, to));
        self.element = element;
    }
}

/// The document with every list bounded as feed-rs reads it: a container's
/// children of one local name past the first [`MAX_REPEATS`] (entries and
/// single fields aside: [`is_single`]), and an element's attributes past the
/// first [`MAX_ATTRIBUTES`] (namespace declarations, `xml:base` and
/// `xml:lang` aside), left out. `None` when nothing is. Whether a child goes
/// depends only on its container, never on the rest of the document. A
/// child left unclosed at the end of the document, or when the reader
/// fails, is kept: what feed-rs then does with it is unchanged.
fn bounded_lists(text: &[u8]) -> Option<Vec<u8>> {
    let mut reader = super::legacy::reader(text);
    let spans = || Spans {
        text,
        spans: Vec::new(),
        element: false,
    };
    let mut out = spans();
    // Attributes left out inside a child being left out: dropped with it,
    // or written to `out` if it is kept after all.
    let mut pending = spans();
    let mut containers: Vec<Container> = Vec::new();
    let mut depth = 0usize;
    // A child being left out: its depth, where it starts, and its name.
    let mut leaving: Option<(usize, usize, (usize, usize))> = None;
    let mut candidate: Option<Candidate> = None;
    let offset = |s: &[u8]| offset_in(text, s);
    loop {
        let start = reader.buffer_position() as usize;
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            // Text: whether it is not blank (a reference is a character).
            Ok(event @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) => {
                let some = match event {
                    Event::Text(t) => !t.trim().is_empty(),
                    Event::CData(t) => !t.trim().is_empty(),
                    _ => true,
                };
                if let Some(c) = candidate.as_mut() {
                    c.text(depth, some);
                }
                continue;
            }
            Ok(Event::End(e)) => {
                if let Some(c) = candidate.as_mut()
                    && c.field == Some(depth)
                {
                    c.field = None;
                }
                // A usable link or person closing, and its container has
                // none yet: kept (even past the bound), and now it has one.
                let first = candidate
                    .take_if(|c| c.depth == depth)
                    .filter(|c| c.usable)
                    .and_then(|c| {
                        let container = containers.last_mut().filter(|k| k.depth + 1 == depth)?;
                        (!c.kind.kept(container)).then(|| c.kind.keep(container))
                    })
                    .is_some();
                // Left out only when its own end tag closes it; an end tag of
                // another name (a document feed-rs refuses, that its repair
                // reads) leaves it in.
                if let Some((_, from, name)) = leaving.take_if(|l| l.0 == depth) {
                    if !first && e.name().as_ref().as_bytes() == &text[name.0..name.1] {
                        out.push(from, reader.buffer_position() as usize, true);
                    } else {
                        for &(a, b) in &pending.spans {
                            out.push(a, b, false);
                        }
                    }
                    pending.spans.clear();
                }
                if containers.last().is_some_and(|c| c.depth == depth) {
                    containers.pop();
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            // A child left unclosed is kept, with its attributes bounded.
            Ok(Event::Eof) | Err(_) => {
                if leaving.is_some() {
                    for &(a, b) in &pending.spans {
                        out.push(a, b, false);
                    }
                }
                break;
            }
            Ok(_) => continue,
        };
        let name = e.name();
        let local = name.local_name();
        let local: &str = local.as_ref();
        let child_depth = depth + 1;
        if !empty
            && let Some(c) = candidate.as_mut()
            && c.kind == Kind::Person
            && c.depth + 1 == child_depth
            && matches!(local, "name" | "email")
        {
            c.field = Some(child_depth);
        }
        let mut over = false;
        if leaving.is_none()
            && let Some(c) = containers.last_mut()
            && c.depth == depth
            && !is_single(local)
        {
            // By local name: prefixes bound to one namespace would each get
            // their own count otherwise.
            let known = c.counts.len();
            over = match c.counts.get_mut(local) {
                Some(n) => {
                    *n += 1;
                    *n > MAX_REPEATS
                }
                None if known < MAX_NAMES => {
                    c.counts.insert(local.to_string(), 1);
                    false
                }
                None => true,
            };
            // The placeholder link of an RSS 1.0 item without one (feed-rs
            // drops such an item otherwise; `legacy` puts it last): one,
            // which is no link a reader follows.
            let placeholder = local == "link"
                && text[reader.buffer_position() as usize..]
                    .starts_with(super::legacy::NO_LINK.as_bytes());
            if placeholder && over && !c.placeholder {
                c.placeholder = true;
                over = false;
            }
            if let Some(kind) = Kind::of(local).filter(|_| !placeholder) {
                let followed = kind == Kind::Link && is_followed(&e);
                let usable = followed && has_href(&e);
                if empty {
                    // Read whole: kept past the bound if it is the first.
                    if usable && !kind.kept(c) {
                        kind.keep(c);
                        over = false;
                    }
                } else {
                    candidate = Some(Candidate {
                        depth: child_depth,
                        kind,
                        text_counts: kind == Kind::Person || followed,
                        usable,
                        field: None,
                    });
                }
            }
        }
        if over && empty {
            out.push(start, reader.buffer_position() as usize, true);
            continue;
        }
        // (A name not in the text: kept.)
        let at = offset(name.as_ref().as_bytes());
        over &= at.is_some();
        let spans = if leaving.is_some() || over {
            &mut pending
        } else {
            &mut out
        };
        let mut kept = 0usize;
        // Past a faulty attribute too: feed-rs reads on.
        for a in e.attributes().with_checks(false).flatten() {
            let key: &str = a.key.as_ref();
            if is_kept_attribute(key) {
                continue;
            }
            kept += 1;
            if kept <= MAX_ATTRIBUTES {
                continue;
            }
            if let Some((from, to)) = attribute_span(text, &a) {
                spans.push(from, to, false);
            }
        }
        if empty {
            continue;
        }
        depth = child_depth;
        if over && let Some(at) = at {
            let qname: &str = name.as_ref();
            leaving = Some((child_depth, start, (at, at + qname.len())));
        } else if leaving.is_none()
            && is_container(local, depth)
            && (depth == 1 || containers.last().is_some_and(|c| c.depth + 1 == depth))
        {
            containers.push(Container {
                depth,
                counts: Default::default(),
                followed: false,
                named: false,
                placeholder: false,
            });
        }
    }
    (!out.spans.is_empty()).then(|| without(text, &out.spans))
}

/// Where `s`, a slice of `text` (as quick-xml hands out names and values of
/// a document it reads from memory), starts in it; `None` for bytes from
/// elsewhere.
pub(super) fn offset_in(text: &[u8], s: &[u8]) -> Option<usize> {
    (s.as_ptr() as usize)
        .checked_sub(text.as_ptr() as usize)
        .filter(|o| o + s.len() <= text.len())
}

/// Where an attribute of `text` lies, from its name to its closing quote.
fn attribute_span(
    text: &[u8],
    a: &quick_xml::events::attributes::Attribute,
) -> Option<(usize, usize)> {
    let name: &str = a.key.as_ref();
    let value = a.value.as_bytes();
    let from = offset_in(text, name.as_bytes())?;
    let at = offset_in(text, value)?;
    Some((from, (at + value.len() + 1).min(text.len())))
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
    fn long_lists_are_cut_to_their_first_members() {
        let categories = (0..40)
            .map(|i| format!("<category>c{i}</category>\n "))
            .collect::<String>();
        let enclosures = (0..30)
            .map(|i| format!(r#"<link rel="enclosure" href="e{i}"/>"#))
            .collect::<String>();
        let attrs = (0..100)
            .map(|i| format!(r#" a{i}="v""#))
            .collect::<String>();
        let items = (0..40)
            .map(|i| format!("<item><title>i{i}</title></item>"))
            .collect::<String>();
        let doc = format!(
            r#"<rss version="2.0"><channel{attrs} xmlns:x="urn:x"><title>t</title><item><title>x</title>{categories}{enclosures}<link rel="alternate" href="a"/><link href="b"/><x:y{attrs} xml:lang="en" xml:x="1"/>"#
        ) + &format!("</item>{items}</channel></rss>");
        let out = String::from_utf8(bounded_lists(doc.as_bytes()).unwrap()).unwrap();
        let count = |s: &str| out.matches(s).count();
        // 16 of each name per container; entries are never cut.
        assert_eq!(count("<category>c"), MAX_REPEATS, "{out}");
        assert!(out.contains("<category>c15</category>") && !out.contains(">c16<"));
        // Of the links, the first 16 and the first a reader would follow.
        assert_eq!(count("<link "), MAX_REPEATS + 1);
        assert!(out.contains(r#"<link rel="alternate" href="a"/>"#));
        assert!(!out.contains(r#"href="b""#));
        assert_eq!(count("<item>"), 41);
        // Attributes past 64 go (xml:x among them); declarations, xml:lang
        // stay.
        assert_eq!(count(r#"="v""#), 2 * MAX_ATTRIBUTES);
        assert!(out.contains(r#"xmlns:x="urn:x""#) && out.contains(r#"xml:lang="en""#));
        assert!(!out.contains("xml:x"));
        // What is left is still read: feed-rs sees every entry.
        let feed = feed_rs::parser::parse(out.as_bytes()).unwrap();
        assert_eq!(feed.entries.len(), 41);
        // Counted by local name, whatever the prefix.
        let prefixed = (0..40)
            .map(|i| {
                format!(r#"<p{i}:category xmlns:p{i}="http://www.w3.org/2005/Atom" term="a"/>"#)
            })
            .collect::<String>();
        let doc = format!(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry>{prefixed}</entry></feed>"#
        );
        let out = String::from_utf8(bounded_lists(doc.as_bytes()).unwrap()).unwrap();
        assert_eq!(out.matches(":category ").count(), MAX_REPEATS);
        // Attributes after a faulty one count on (feed-rs reads them).
        let doc = format!("<rss><channel><x bad{attrs}/></channel></rss>");
        let out = String::from_utf8(bounded_lists(doc.as_bytes()).unwrap()).unwrap();
        assert_eq!(out.matches(r#"="v""#).count(), MAX_ATTRIBUTES, "{out}");
        // A child left unclosed at the end, or closed by another's end tag,
        // is kept as it was.
        let open = format!(
            "<rss><channel><item>{}<category>x",
            "<category/>".repeat(20)
        );
        let out = String::from_utf8(bounded_lists(open.as_bytes()).unwrap()).unwrap();
        assert!(out.ends_with("<category>x"), "{out}");
        assert_eq!(out.matches("<category/>").count(), MAX_REPEATS);
        let unclosed = open.replace("<category>x", "<category>x</item></channel></rss>");
        let out = String::from_utf8(bounded_lists(unclosed.as_bytes()).unwrap()).unwrap();
        assert!(out.ends_with("<category>x</item></channel></rss>"));
        // Nothing over the bounds: left as it is.
        let few = "<category/>".repeat(MAX_REPEATS);
        let doc = format!("<rss><channel><item>{few}</item></channel></rss>");
        assert_eq!(bounded_lists(doc.as_bytes()), None);
        // A quarter of a million members left out cost one range, with text
        // between them or not.
        for unit in ["<category term=\"a\"/> ", "<c/>x>"] {
            let many = format!("<feed><entry>{}</entry></feed>", unit.repeat(1 << 18));
            let out = bounded_lists(many.as_bytes()).unwrap();
            assert!(out.len() < 1000, "{}", out.len());
        }
        // Kept past the bound after all (the first named person, a child
        // closed by another's end tag, one left unclosed): its attributes
        // are bounded too.
        let blank = "<author><name> </name></author>".repeat(20);
        let doc =
            format!("<feed><entry>{blank}<author{attrs}><name>X</name></author></entry></feed>");
        let out = String::from_utf8(bounded_lists(doc.as_bytes()).unwrap()).unwrap();
        assert!(out.contains("<name>X</name>"), "{out}");
        assert_eq!(out.matches(r#"="v""#).count(), MAX_ATTRIBUTES);
        assert_eq!(out.matches("<name> </name>").count(), MAX_REPEATS);
        for tail in ["</item></channel></rss>", ""] {
            let doc = format!("<rss><channel><item>{}<c{attrs}>x{tail}", "<c/>".repeat(20));
            let out = String::from_utf8(bounded_lists(doc.as_bytes()).unwrap()).unwrap();
            assert_eq!(out.matches(r#"="v""#).count(), MAX_ATTRIBUTES, "{out}");
            assert!(out.ends_with(&format!(">x{tail}")), "{out}");
        }
        // Of RSS 1.0's placeholder links, one; of links, the first with an
        // address is the one a reader follows.
        let doc = format!(
            "<item>{}{}<link>https://x.example/a</link></item>",
            "<link/>".repeat(20),
            "<link>feedloom:no-link</link>".repeat(20)
        );
        let out = String::from_utf8(
            bounded_lists(format!("<rdf:RDF>{doc}</rdf:RDF>").as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(out.matches("feedloom:no-link").count(), 1, "{out}");
        assert!(out.contains("<link>https://x.example/a</link>"), "{out}");
        // Attributes feed-rs reads by name stay, wherever they are.
        let doc = format!("<rss{attrs} version=\"2.0\"><channel/></rss>");
        let out = String::from_utf8(bounded_lists(doc.as_bytes()).unwrap()).unwrap();
        assert!(out.contains(r#"version="2.0""#), "{out}");
        // Attributes left out are not joined past their tag's end.
        let doc = format!(
            "<rss><channel><item{attrs}>x{}</item></channel></rss>",
            "<c/>".repeat(20)
        );
        let out = String::from_utf8(bounded_lists(doc.as_bytes()).unwrap()).unwrap();
        assert!(out.contains(r#"a63="v" >x<c/>"#), "{out}");
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
        // A base after a faulty attribute counts (feed-rs reads it).
        let faulty = format!(r#"<feed bad xml:base="{long}/"/>"#);
        assert!(bounded_bases(faulty.as_bytes()).is_some());
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
