//! Dialects feed-rs does not read, mapped onto ones it does, by copying the
//! document once with a few tags rewritten (quick-xml, streaming, no tree):
//!
//! * Atom 0.3 and its drafts (Echo, Pie) → Atom 1.0: namespace, `modified`,
//!   `issued`, `tagline`, `copyright`, `url`, and `type` + `mode` of text
//!   constructs (`mode="base64"` decoded);
//! * RSS 0.90 (`http://my.netscape.com/rdf/simple/0.9/`) → RSS 1.0, and RSS 1.0
//!   items without `<link>` (which feed-rs drops) get the placeholder [`NO_LINK`],
//!   which mapping removes again;
//! * RSS 2.0 in a Userland/Harvard default namespace → RSS 2.0 without one;
//! * after feed-rs refused an Atom document over one field (`type` not a media
//!   type, `src` beside a body, an empty text construct): that field repaired.
//!
//! [`sniff`] reads no further than the root element, so a document feed-rs reads
//! as it is costs one look at its first tag. Nothing here decides what an entry
//! means: that is mapping's job (mod.rs).

use std::borrow::Cow;

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";
/// Atom 0.3 and the drafts before it (Echo, Pie), read as Atom 0.3.
const ATOM03_NS: &[&str] = &[
    "http://purl.org/atom/ns#",
    "http://purl.org/echo/",
    "http://purl.org/pie/",
];
const RSS090_NS: &[&str] = &[
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://channel.netscape.com/rdf/simple/0.9/",
];
const RSS10_NS: &str = "http://purl.org/rss/1.0/";
/// Namespaces some RSS 2.0 generators put on `<rss>` (RSS 2.0 has none); read
/// as the one feed-rs reads RSS elements in.
const RSS2_NS: &[&str] = &[
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
    "http://blogs.law.harvard.edu/tech/rss",
    "http://purl.org/rss/2.0/",
];

/// The link given to RSS 1.0 items that have none, so that feed-rs keeps them;
/// mapping drops it.
pub(super) const NO_LINK: &str = "feedloom:no-link";

/// What the root element says about the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Dialect {
    /// JSON, or no element at all: feed-rs decides.
    NotXml,
    /// Atom 1.0 or RSS 0.91–2.0 as feed-rs reads them.
    Plain,
    /// Atom 0.3 (or a draft before it).
    Atom03,
    /// RSS 0.90 or 1.0 (`rdf:RDF`).
    Rdf,
    /// `<rss>` in a default namespace.
    Rss2Namespaced,
    /// A root, or a namespace, no feed format uses.
    Foreign,
}

/// The root element of a document.
#[derive(Debug, Clone)]
pub(super) struct Root {
    pub dialect: Dialect,
    /// Local name.
    pub name: String,
    /// Namespace of the root element, when it has one.
    pub namespace: Option<String>,
    /// Prefix of the root element (`atom` in `<atom:feed>`).
    prefix: Option<String>,
    /// Where the root's start tag is in the document.
    span: (usize, usize),
    /// An Atom document whose text says `source` anywhere (set by the
    /// caller, from the whole document): only then can an entry have been
    /// copied from another feed (see [`copied_entries`]).
    pub mentions_source: bool,
}

impl Root {
    pub fn is_atom(&self) -> bool {
        matches!(self.name.as_str(), "feed" | "entry")
            && matches!(self.dialect, Dialect::Plain | Dialect::Atom03)
    }
}

/// Reads the document up to its root element.
pub(super) fn sniff(text: &[u8]) -> Root {
    let not_xml = Root {
        dialect: Dialect::NotXml,
        name: String::new(),
        namespace: None,
        prefix: None,
        span: (0, 0),
        mentions_source: false,
    };
    // As feed-rs decides: the first `<` or `{`.
    if text.iter().find(|b| **b == b'<' || **b == b'{') != Some(&b'<') {
        return not_xml;
    }
    let mut reader = Reader::from_reader(text);
    loop {
        let start = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let span = (start, reader.buffer_position() as usize);
                return classify(&e, span);
            }
            Ok(Event::Eof) | Err(_) => return not_xml,
            Ok(_) => {}
        }
    }
}

fn classify(e: &BytesStart<'_>, span: (usize, usize)) -> Root {
    let qname = e.name();
    let (prefix, local) = split(qname.as_ref());
    let ns_attr = match prefix {
        Some(p) => format!("xmlns:{p}"),
        None => "xmlns".to_string(),
    };
    let namespace = attr(e, &ns_attr).map(|v| v.trim().to_string());
    let version = attr(e, "version");
    let ns = namespace.as_deref();
    let dialect = match local {
        "feed" | "entry" => match ns {
            Some(ATOM10_NS) => Dialect::Plain,
            Some(n) if ATOM03_NS.contains(&n) => Dialect::Atom03,
            // feed-rs reads an un-namespaced <feed> as Atom 1.0; one that says
            // it is 0.x is 0.3 or older.
            None if version.as_deref().is_some_and(|v| v.starts_with("0.")) => Dialect::Atom03,
            None => Dialect::Plain,
            Some(_) => Dialect::Foreign,
        },
        "rss" => match ns {
            None | Some("") => Dialect::Plain,
            Some(n) if RSS2_NS.contains(&n) => Dialect::Rss2Namespaced,
            Some(_) => Dialect::Foreign,
        },
        "RDF" => Dialect::Rdf,
        _ => Dialect::Foreign,
    };
    Root {
        dialect,
        name: local.to_string(),
        namespace: namespace.filter(|n| !n.is_empty()),
        prefix: prefix.map(str::to_string),
        span,
        mentions_source: false,
    }
}

/// The document mapped onto a dialect feed-rs reads, or `None` when it already
/// reads it (or the document is too broken to rewrite: feed-rs then says why).
pub(super) fn normalise(text: &[u8], root: &Root) -> Option<Vec<u8>> {
    match root.dialect {
        Dialect::Atom03 => rewrite_atom(text, root, true),
        Dialect::Rdf => rewrite_rdf(text),
        // Only the root's declaration changes (`<rss xmlns="…">` or
        // `<r:rss xmlns:r="…">`): a copy, no parse.
        Dialect::Rss2Namespaced => {
            let mut reader = Reader::from_reader(&text[root.span.0..]);
            let Ok(Event::Start(e) | Event::Empty(e)) = reader.read_event() else {
                return None;
            };
            let empty = text[..root.span.1].ends_with(b"/>");
            let tag = start_tag(e.name().as_ref(), &e, &[], &[], empty);
            let mut edit = Edit::new(text);
            edit.replace(root.span.0, root.span.1, &tag);
            edit.finish()
        }
        Dialect::NotXml | Dialect::Plain | Dialect::Foreign => None,
    }
}

/// An Atom document whose odd text constructs and content are repaired (see the
/// module comment); `None` when there is nothing to repair.
pub(super) fn repair_atom(text: &[u8], root: &Root) -> Option<Vec<u8>> {
    if !root.is_atom() {
        return None;
    }
    rewrite_atom(text, root, root.dialect == Dialect::Atom03)
}

/// A copy of a document with some byte ranges replaced; no copy until the
/// first replacement.
struct Edit<'a> {
    src: &'a [u8],
    out: Vec<u8>,
    copied: usize,
    changed: bool,
}

impl<'a> Edit<'a> {
    fn new(src: &'a [u8]) -> Edit<'a> {
        Edit {
            src,
            out: Vec::new(),
            copied: 0,
            changed: false,
        }
    }

    /// Replaces `src[start..end]` (ranges come in document order).
    fn replace(&mut self, start: usize, end: usize, with: &[u8]) {
        if !self.changed {
            self.out.reserve(self.src.len() + 1024);
            self.changed = true;
        }
        self.out.extend_from_slice(&self.src[self.copied..start]);
        self.out.extend_from_slice(with);
        self.copied = end;
    }

    fn finish(mut self) -> Option<Vec<u8>> {
        if !self.changed {
            return None;
        }
        self.out.extend_from_slice(&self.src[self.copied..]);
        Some(self.out)
    }
}

/// A lenient reader: these passes copy what they do not understand, and leave
/// judging well-formedness to feed-rs. The text is UTF-8 (see text.rs).
pub(super) fn reader(text: &[u8]) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    reader
}

fn split(qname: &str) -> (Option<&str>, &str) {
    match qname.find(':') {
        Some(i) => (Some(&qname[..i]), &qname[i + 1..]),
        None => (None, qname),
    }
}

/// A start tag named `name` with `e`'s attributes, less those named in `drop`,
/// plus `extra`; namespace declarations of legacy formats point at their
/// successors. Values are copied as written (already escaped).
fn start_tag(
    name: &str,
    e: &BytesStart<'_>,
    drop: &[&str],
    extra: &[(&str, &str)],
    empty: bool,
) -> Vec<u8> {
    let mut out = String::with_capacity(e.len() + 32);
    out.push('<');
    out.push_str(name);
    let mut push = |key: &str, value: &str| {
        let quote = if value.contains('"') { '\'' } else { '"' };
        out.push(' ');
        out.push_str(key);
        out.push('=');
        out.push(quote);
        out.push_str(value);
        out.push(quote);
    };
    for a in e.attributes().with_checks(false).flatten() {
        let key = a.key.as_ref();
        if drop.contains(&key) {
            continue;
        }
        let value = if key == "xmlns" || key.starts_with("xmlns:") {
            successor_ns(&a.value).unwrap_or(&a.value)
        } else {
            &a.value
        };
        push(key, value);
    }
    for (key, value) in extra {
        push(key, value);
    }
    out.push_str(if empty { "/>" } else { ">" });
    out.into_bytes()
}

/// The namespace that replaces a legacy one (feed-rs reads RSS 2.0 elements in
/// RSS 1.0's namespace as well as in none).
fn successor_ns(ns: &str) -> Option<&'static str> {
    let ns = ns.trim();
    if ATOM03_NS.contains(&ns) {
        Some(ATOM10_NS)
    } else if RSS090_NS.contains(&ns) || RSS2_NS.contains(&ns) {
        Some(RSS10_NS)
    } else {
        None
    }
}

fn declares_legacy_ns(e: &BytesStart<'_>) -> bool {
    let raw: &str = e;
    raw.contains("xmlns")
        && e.attributes().with_checks(false).flatten().any(|a| {
            let k = a.key.as_ref();
            (k == "xmlns" || k.starts_with("xmlns:")) && successor_ns(&a.value).is_some()
        })
}

fn attr<'a>(e: &'a BytesStart<'_>, name: &str) -> Option<Cow<'a, str>> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .map(|a| a.value)
}

/// How a text construct or content element is to be written in Atom 1.0.
struct TextType {
    /// The new `type`; `None` drops the attribute (plain text).
    ty: Option<String>,
    /// The body is base64 (Atom 0.3 `mode="base64"`, or a binary media type on a
    /// text construct): decode it.
    base64: bool,
}

/// Atom 1.0's `type` for an element whose `type` (and, in Atom 0.3, `mode`)
/// say `ty` and `mode`.
fn text_type(ty: Option<&str>, mode: Option<&str>, content: bool, legacy: bool) -> TextType {
    // (Parameters say nothing of the kind: `text/html; charset=utf-8` is
    // HTML. It fell to the text arm, and flipped between markup and text
    // with the other entries of the document.)
    let ty = ty.map(|t| {
        let t = t.trim().to_ascii_lowercase();
        match t.split_once(';') {
            Some((essence, _)) => essence.trim().to_string(),
            None => t,
        }
    });
    let mode = mode.map(|m| m.trim().to_ascii_lowercase());
    let base64 = mode.as_deref() == Some("base64");
    // In Atom 0.3 markup is inline unless the mode says it is escaped.
    let inline = legacy && !matches!(mode.as_deref(), Some("escaped" | "base64"));
    let new: Option<&str> = match ty.as_deref() {
        None | Some("" | "text" | "text/plain") => None,
        Some("html" | "text/html") if inline => Some("xhtml"),
        Some("html" | "text/html") => Some("html"),
        Some("xhtml" | "application/xhtml+xml") if inline || !legacy => Some("xhtml"),
        Some("xhtml" | "application/xhtml+xml") => Some("html"),
        Some(other) => {
            let media = other.parse::<mediatype::MediaTypeBuf>().ok();
            return match media {
                // Content of an XML type is an XML document inline (or,
                // escaped, its text), read as markup; of another text type,
                // text. (feed-rs refused both, and the whole feed with
                // them: "unsupported content type", "missing content.inline".)
                Some(m)
                    if content
                        && (m.suffix().is_some_and(|s| s == mediatype::names::XML)
                            || m.subty() == mediatype::names::XML) =>
                {
                    TextType {
                        ty: Some("xhtml".to_string()),
                        base64: false,
                    }
                }
                Some(m) if content && m.ty() == mediatype::names::TEXT => TextType {
                    ty: None,
                    base64: false,
                },
                // Content may carry any other media type, a binary one as
                // base64 (RFC 4287 4.1.3.3): text it decodes to is that
                // text (it was kept, and shown, as base64; the headline of
                // an untitled entry too); anything else is not shown.
                Some(_) if content => TextType {
                    ty: Some(other.to_string()),
                    base64: true,
                },
                // A text construct may not: a binary type is base64 (as
                // feedparser and gofeed read it), any other plain text.
                Some(m) => TextType {
                    ty: None,
                    base64: base64
                        || !(m.ty() == mediatype::names::TEXT
                            || m.suffix().is_some_and(|s| s == mediatype::names::XML)
                            || m.subty() == mediatype::names::XML),
                },
                None => TextType { ty: None, base64 },
            };
        }
    };
    TextType {
        ty: new.map(str::to_string),
        base64,
    }
}

/// Text of a base64 body, XML-escaped; `None` when it is not base64 of UTF-8.
fn decode_base64(inner: &[u8]) -> Option<Vec<u8>> {
    let text = quick_xml::escape::unescape(std::str::from_utf8(inner).ok()?.trim()).ok()?;
    let decoded = base64_text(&text)?;
    Some(
        quick_xml::escape::escape(decoded.as_str())
            .as_bytes()
            .to_vec(),
    )
}

/// The text `body` encodes in base64 (white space ignored); `None` when it
/// is not base64, or not of UTF-8 text.
pub(super) fn base64_text(body: &str) -> Option<String> {
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Atom 0.3 → 1.0 (`legacy`), and repairs of odd text constructs and content in
/// either. Elements are Atom's when they carry the root's prefix.
fn rewrite_atom(text: &[u8], root: &Root, legacy: bool) -> Option<Vec<u8>> {
    let mut reader = reader(text);
    let mut edit = Edit::new(text);
    // For each open element: its new name, when renamed.
    let mut stack: Vec<Option<String>> = Vec::new();
    // Depth of the open <author>/<contributor>, for `url` → `uri`.
    let mut person_depth: Option<usize> = None;
    let atom_prefix = root.prefix.as_deref();
    loop {
        let start = reader.buffer_position() as usize;
        // Past a fault, the rest is copied as it is: feed-rs (and its
        // repairs) deal with it, and the mapping so far still applies.
        let Ok(event) = reader.read_event() else {
            break;
        };
        let end = reader.buffer_position() as usize;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = text[..end].ends_with(b"/>");
                let qname = e.name();
                let (prefix, local) = split(qname.as_ref());
                let is_atom = prefix == atom_prefix;
                let renamed: Option<&str> = match (is_atom && legacy, local) {
                    (true, "modified") => Some("updated"),
                    (true, "issued") => Some("published"),
                    (true, "tagline") => Some("subtitle"),
                    (true, "copyright") => Some("rights"),
                    (true, "url") if person_depth.is_some() => Some("uri"),
                    _ => None,
                };
                let name: Cow<str> = match (renamed, prefix) {
                    (Some(n), Some(p)) => Cow::Owned(format!("{p}:{n}")),
                    (Some(n), None) => Cow::Borrowed(n),
                    (None, _) => Cow::Borrowed(qname.as_ref()),
                };
                let text_construct = is_atom
                    && matches!(
                        local,
                        "title"
                            | "subtitle"
                            | "tagline"
                            | "summary"
                            | "rights"
                            | "copyright"
                            | "content"
                    );
                if is_atom && matches!(local, "author" | "contributor") && !empty {
                    person_depth.get_or_insert(stack.len());
                }
                if !text_construct {
                    if renamed.is_some() || declares_legacy_ns(&e) {
                        let tag = start_tag(&name, &e, &[], &[], empty);
                        edit.replace(start, end, &tag);
                    }
                    if !empty {
                        stack.push(renamed.map(|_| name.into_owned()));
                    }
                    continue;
                }
                let content = local == "content";
                let ty = attr(&e, "type");
                let mode = attr(&e, "mode");
                let src = content.then(|| attr(&e, "src")).flatten();
                let want = text_type(ty.as_deref(), mode.as_deref(), content, legacy);
                let (inner, after) = if empty {
                    ((end, end), end)
                } else {
                    let Ok(span) = reader.read_to_end(qname) else {
                        break;
                    };
                    let after = reader.buffer_position() as usize;
                    ((span.start as usize, span.end as usize), after)
                };
                let body = &text[inner.0..inner.1];
                let blank = body.iter().all(u8::is_ascii_whitespace);
                // feed-rs refuses an empty text construct, and content with
                // neither body nor src: drop the element, keep the document.
                if blank && src.is_none() {
                    edit.replace(start, after, b"");
                    continue;
                }
                // A src beside a body: the body is what a reader can see.
                let drop_src = src.is_some() && !blank;
                let new_ty: Option<String> = if src.is_some() && !drop_src {
                    // With src, type must be a media type: keep only a valid one.
                    ty.as_deref()
                        .filter(|t| t.parse::<mediatype::MediaTypeBuf>().is_ok())
                        .map(str::to_string)
                } else {
                    want.ty
                };
                let decoded = (want.base64 && !blank)
                    .then(|| decode_base64(body))
                    .flatten();
                // (Binary content decoded to text is plain text.)
                let new_ty = match new_ty {
                    Some(t) if decoded.is_some() && !matches!(t.as_str(), "html" | "xhtml") => None,
                    t => t,
                };
                let unchanged = renamed.is_none()
                    && !drop_src
                    && decoded.is_none()
                    && mode.is_none()
                    && new_ty.as_deref() == ty.as_deref()
                    && !declares_legacy_ns(&e);
                if unchanged {
                    continue;
                }
                let mut drop = vec!["type", "mode"];
                if drop_src {
                    drop.push("src");
                }
                let extra: Vec<(&str, &str)> =
                    new_ty.as_deref().map(|t| ("type", t)).into_iter().collect();
                let mut out = start_tag(&name, &e, &drop, &extra, empty);
                if !empty {
                    out.extend_from_slice(decoded.as_deref().unwrap_or(body));
                    out.extend_from_slice(format!("</{name}>").as_bytes());
                }
                edit.replace(start, after, &out);
            }
            Event::End(_) => {
                if let Some(Some(name)) = stack.pop() {
                    edit.replace(start, end, format!("</{name}>").as_bytes());
                }
                if person_depth.is_some_and(|d| d >= stack.len()) {
                    person_depth = None;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    edit.finish()
}

/// RSS 0.90 → 1.0 (namespace), and a placeholder link for items without one.
fn rewrite_rdf(text: &[u8]) -> Option<Vec<u8>> {
    let mut reader = reader(text);
    let mut edit = Edit::new(text);
    let mut depth = 0usize;
    // The open item (depth 2): its prefix, and whether it has a link yet.
    let mut item: Option<(Option<String>, bool)> = None;
    let mut in_link = false;
    loop {
        let start = reader.buffer_position() as usize;
        // Past a fault, the rest is copied as it is: feed-rs (and its
        // repairs) deal with it, and the mapping so far still applies.
        let Ok(event) = reader.read_event() else {
            break;
        };
        let end = reader.buffer_position() as usize;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = text[..end].ends_with(b"/>");
                if declares_legacy_ns(&e) {
                    let tag = start_tag(e.name().as_ref(), &e, &[], &[], empty);
                    edit.replace(start, end, &tag);
                }
                let qname = e.name();
                let (prefix, local) = split(qname.as_ref());
                if depth == 1 && local == "item" && !empty {
                    item = Some((prefix.map(str::to_string), false));
                }
                if depth == 2 && local == "link" && !empty && item.is_some() {
                    in_link = true;
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::Text(t) if in_link && !t.trim().is_empty() => {
                if let Some((_, has)) = item.as_mut() {
                    *has = true;
                }
            }
            Event::CData(_) | Event::GeneralRef(_) if in_link => {
                if let Some((_, has)) = item.as_mut() {
                    *has = true;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                in_link = false;
                if depth == 1
                    && let Some((prefix, false)) = item.take()
                {
                    let p = prefix.map(|p| format!("{p}:")).unwrap_or_default();
                    let link = format!("<{p}link>{NO_LINK}</{p}link>");
                    edit.replace(start, start, link.as_bytes());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    edit.finish()
}

/// For each entry, in document order, the link an extension gives it:
/// `feedburner:origLink`, else YouTube's `yt:videoId` as a watch URL. `None`
/// (no scan) unless the document mentions either, which almost none does.
pub(super) fn fallback_links(text: &[u8]) -> Option<Vec<Option<String>>> {
    let finder = |n: &[u8]| memchr::memmem::find(text, n).is_some();
    if !finder(b"origLink") && !finder(b"videoId") {
        return None;
    }
    let mut reader = reader(text);
    let mut depth = 0usize;
    let mut out = Vec::new();
    // Inside an entry: its depth, and its links so far (origLink, videoId).
    let mut open: Option<(usize, Option<String>, Option<String>)> = None;
    let mut field: Option<bool> = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                let qname = e.name();
                match (&open, qname.local_name().as_ref()) {
                    (None, "item" | "entry") => open = Some((depth, None, None)),
                    (Some(_), "origLink") => field = Some(true),
                    (Some(_), "videoId") => field = Some(false),
                    _ => {}
                }
            }
            // `<item/>` is an entry to feed-rs too: without it here, every
            // entry after it would be lined up with the wrong link (or, as
            // the counts then differ, none would get one).
            Event::Empty(e)
                if open.is_none() && matches!(e.name().local_name().as_ref(), "item" | "entry") =>
            {
                out.push(None);
            }
            Event::Text(t) => {
                if let (Some(orig), Some(o)) = (field, open.as_mut()) {
                    let value = t.trim();
                    let slot = if orig { &mut o.1 } else { &mut o.2 };
                    if slot.is_none() && !value.is_empty() {
                        *slot = Some(value.to_string());
                    }
                }
            }
            Event::End(_) => {
                field = None;
                if let Some((_, orig, video)) = open.take_if(|o| o.0 == depth) {
                    let video = video.map(|v| format!("https://www.youtube.com/watch?v={v}"));
                    out.push(orig.or(video));
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some(out)
}

/// For each RSS item, in document order, the link it gives outside `<link>`:
/// its `<guid>` when that is a permalink (RSS 2.0: unless `isPermaLink` says
/// "false") and an absolute http(s) URL, else the `href` of an Atom
/// `<atom:link>` (rel "alternate" or none) inside it. feed-rs reads neither
/// (nor the `isPermaLink` attribute). Only asked when an item has no link.
/// `None` when the document is not well-formed enough to tell.
pub(super) fn item_links(text: &[u8]) -> Option<Vec<Option<String>>> {
    let mut reader = reader(text);
    let mut depth = 0usize;
    let mut out = Vec::new();
    // The items feed-rs reads: unprefixed `item`s in the `channel` (RSS
    // 0.9x/2.0), or anywhere under an RSS 1.0 `rdf:RDF` root (where they are
    // the channel's siblings); not an item after `</channel>` nor `<x:item>`.
    let (mut root_seen, mut rdf, mut in_channel) = (false, false, false);
    // Inside an item: its depth, its last guid's link (a permalink's) and
    // its Atom link so far. An item ends at the next `</item>`, whatever
    // unbalanced markup inside it did to the depth.
    let mut open: Option<(usize, Option<String>, Option<String>)> = None;
    // Reading the text of the item's guid: `Some(permalink, text)`.
    let mut guid: Option<(bool, String)> = None;
    let absolute = |s: &str| {
        url::Url::parse(s.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(String::from)
    };
    let atom_link = |e: &BytesStart<'_>| {
        let prefixed = e.name().prefix().is_some();
        let rel = attr(e, "rel");
        (prefixed && rel.as_deref().is_none_or(|r| super::rel_is(r, "alternate")))
            .then(|| attr(e, "href"))
            .flatten()
            .and_then(|h| absolute(&super::decode_entities(&h)))
    };
    let is_item = |e: &BytesStart<'_>, in_channel: bool, rdf: bool| {
        let name = e.name();
        name.prefix().is_none() && name.local_name().as_ref() == "item" && (in_channel || rdf)
    };
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                if !root_seen {
                    root_seen = true;
                    rdf = e.name().local_name().as_ref() == "RDF";
                }
                let local = e.name().local_name();
                match (&mut open, local.as_ref()) {
                    (None, "channel") if e.name().prefix().is_none() => in_channel = true,
                    (None, "item") if is_item(&e, in_channel, rdf) => {
                        open = Some((depth, None, None));
                    }
                    (Some((d, _, _)), "guid") if depth == *d + 1 => {
                        let permalink = attr(&e, "isPermaLink").is_none_or(|v| {
                            !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no")
                        });
                        guid = Some((permalink, String::new()));
                    }
                    (Some((d, _, atom)), "link") if depth == *d + 1 && atom.is_none() => {
                        *atom = atom_link(&e);
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => match (&mut open, e.name().local_name().as_ref()) {
                (None, "item") if is_item(&e, in_channel, rdf) => out.push(None),
                (Some((d, _, atom)), "link") if depth == *d && atom.is_none() => {
                    *atom = atom_link(&e);
                }
                _ => {}
            },
            Event::Text(t) => {
                if let Some((_, g)) = guid.as_mut() {
                    g.push_str(&super::decode_entities(&t));
                }
            }
            Event::CData(t) => {
                if let Some((_, g)) = guid.as_mut() {
                    g.push_str(&t.into_inner());
                }
            }
            // `&amp;` and the like come apart from the text around them.
            Event::GeneralRef(r) => {
                if let Some((_, g)) = guid.as_mut() {
                    g.push_str(&super::decode_entities(&format!("&{};", &*r)));
                }
            }
            Event::End(e) => {
                // The last guid is the item's (as feed-rs reads it): its link
                // only when it is a permalink.
                if let Some((permalink, g)) = guid.take()
                    && let Some((_, slot, _)) = open.as_mut()
                {
                    *slot = permalink.then(|| absolute(&g)).flatten();
                }
                let name = e.name();
                let ends_item = name.prefix().is_none() && name.local_name().as_ref() == "item";
                if let Some((d, guid_link, atom)) = open.take_if(|_| ends_item) {
                    out.push(guid_link.or(atom));
                    depth = d;
                } else if open.is_none()
                    && name.prefix().is_none()
                    && name.local_name().as_ref() == "channel"
                {
                    in_channel = false;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some(out)
}

/// How an Atom entry stands to a `<source>` child (an entry copied from
/// another feed, as a planet publishes it): not copied, or copied, with the
/// name of the source's first author if it names one (RFC 4287 4.2.1: an
/// entry without authors has its source's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Copied {
    No,
    From { author: Option<String> },
}

/// The bases `xml:base` sets for each Atom entry's `<content>` and
/// `<summary>` (on the feed, the entry or the element itself, resolved
/// against `doc`), in document order: `None` where no `xml:base` is in force.
/// feed-rs resolves links by them, not the relative URLs inside the HTML
/// (a CDN's pictures were published under the proxy's host). `None` when the
/// document cannot be read to its end.
pub(super) fn content_bases(
    text: &[u8],
    doc: &url::Url,
) -> Option<Vec<(Option<url::Url>, Option<url::Url>)>> {
    use std::rc::Rc;
    // (Past the bytes of bases feed-rs is shown, none: see defuse.)
    let bounded = super::defuse::bounded_bases(text);
    let mut reader = reader(bounded.as_deref().unwrap_or(text));
    // The base in force inside each open element (shared, not copied, by the
    // elements inside it).
    let mut stack: Vec<Option<Rc<url::Url>>> = Vec::new();
    let mut out = Vec::new();
    let mut in_entry = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let parent = stack.last().cloned().flatten();
                let base = match attr(&e, "xml:base") {
                    Some(b) => parent
                        .as_deref()
                        .unwrap_or(doc)
                        .join(super::decode_entities(&b).trim())
                        .ok()
                        .map(Rc::new)
                        .or(parent),
                    None => parent,
                };
                let local = e.name().local_name();
                let here = || base.as_deref().cloned();
                match (stack.len(), local.as_ref()) {
                    (1, "entry") => {
                        in_entry = true;
                        out.push((None, None));
                    }
                    (2, "content") if in_entry => {
                        if let Some(last) = out.last_mut() {
                            last.0 = here();
                        }
                    }
                    (2, "summary") if in_entry => {
                        if let Some(last) = out.last_mut() {
                            last.1 = here();
                        }
                    }
                    _ => {}
                }
                stack.push(base);
            }
            Event::End(_) => {
                stack.pop();
                if stack.len() == 1 {
                    in_entry = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some(out)
}

/// For each entry of an Atom document (children of its root, as feed-rs
/// reads them), whether it has a `<source>` child, and that source's
/// author's name. `None` when the document does not read to its end.
pub(super) fn copied_entries(text: &[u8]) -> Option<Vec<Copied>> {
    let mut reader = reader(text);
    let mut depth = 0usize;
    let mut out = Vec::new();
    // Inside an entry (always at depth 2): whether a child was `source`,
    // and its author's name so far.
    let mut open: Option<Copied> = None;
    // Where the reader is inside the source: its author (depth 4), that
    // author's name (depth 5).
    let (mut in_author, mut in_name) = (false, false);
    let mut name = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                let local = e.name().local_name();
                match (depth, local.as_ref()) {
                    (2, "entry") => open = Some(Copied::No),
                    (3, "source") if open.is_some() => {
                        open = Some(Copied::From { author: None });
                    }
                    (4, "author") => {
                        in_author = matches!(open, Some(Copied::From { author: None }));
                    }
                    (5, "name") if in_author => {
                        in_name = true;
                        name.clear();
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => match (depth + 1, e.name().local_name().as_ref()) {
                (2, "entry") => out.push(Copied::No),
                (3, "source") if open.is_some() => {
                    open = Some(Copied::From { author: None });
                }
                _ => {}
            },
            Event::Text(t) if in_name => name.push_str(&super::decode_entities(&t)),
            Event::GeneralRef(r) if in_name => {
                name.push_str(&super::decode_entities(&format!("&{};", &*r)));
            }
            Event::CData(t) if in_name => name.push_str(&t.into_inner()),
            Event::End(_) => {
                match depth {
                    5 if in_name => {
                        in_name = false;
                        let n = name.trim();
                        if !n.is_empty()
                            && let Some(Copied::From { author }) = &mut open
                            && author.is_none()
                        {
                            *author = Some(n.to_string());
                        }
                    }
                    4 => in_author = false,
                    2 => {
                        if let Some(copied) = open.take() {
                            out.push(copied);
                        }
                    }
                    _ => {}
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some(out)
}

/// The feed-level `author` elements of an Atom document (children of its
/// root), as they are written, start tag to end tag: what its entries
/// without an author inherit. Empty when there are none.
pub(super) fn feed_authors(text: &[u8]) -> String {
    let mut reader = reader(text);
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    let mut out = String::new();
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let raw = |from: usize| String::from_utf8_lossy(text.get(from..after).unwrap_or_default());
        match event {
            Event::Start(e) => {
                depth += 1;
                if depth == 2 && e.name().local_name().as_ref() == "author" {
                    start = Some(before);
                }
            }
            Event::Empty(e) if depth == 1 && e.name().local_name().as_ref() == "author" => {
                out.push_str(&raw(before));
            }
            Event::End(_) => {
                if depth == 2
                    && let Some(s) = start.take()
                {
                    out.push_str(&raw(s));
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    out
}

/// Text elements that feed-rs reads only up to their first child element.
const TEXT_ELEMENTS: &[&str] = &["title", "description", "summary", "content", "subtitle"];

/// Whether a text element of the document holds unescaped markup (`<title>Hello
/// <em>world</em></title>`, `<description><p>…</p></description>`): a byte scan,
/// so that documents without any cost no XML pass.
fn has_naked_markup(text: &[u8]) -> bool {
    TEXT_ELEMENTS.iter().any(|name| {
        let open = format!("<{name}");
        memchr::memmem::find_iter(text, open.as_bytes()).any(|at| {
            let rest = &text[at + open.len()..];
            if !matches!(rest.first(), Some(b'>' | b' ' | b'\t' | b'\r' | b'\n')) {
                return false;
            }
            let Some(gt) = memchr::memchr(b'>', &rest[..rest.len().min(1024)]) else {
                return false;
            };
            let tag = &rest[..gt];
            // (An Atom XHTML or XML body holds elements by right; an
            // `xml:base`, `xml:lang` or `xmlns` says nothing of the body.)
            if tag.ends_with(b"/") || typed_xml(tag) {
                return false;
            }
            let body = &rest[gt + 1..];
            memchr::memchr(b'<', body)
                .is_some_and(|lt| body.get(lt + 1).is_some_and(u8::is_ascii_alphabetic))
        })
    })
}

/// An RSS document whose items give their title (or description) only as
/// The prefixes a document binds to Dublin Core's namespaces (its elements
/// and its terms, `dcterms:title`), and `dc`.
fn dublin_core_prefixes(text: &[u8]) -> Vec<String> {
    static DECLARED: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#"xmlns:([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*["']http://purl\.org/dc/(?:elements/1\.1|terms)/?["']"#,
        )
        .expect("valid")
    });
    let mut out = vec!["dc".to_string()];
    if memchr::memmem::find(text, b"purl.org/dc/").is_some() {
        for c in DECLARED.captures_iter(text).take(8) {
            let p = String::from_utf8_lossy(&c[1]).into_owned();
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Dublin Core's `<dc:title>` (`<dc:description>`), with a `<title>`
/// (`<description>`) of the same content added to each such item: feed-rs
/// reads no Dublin Core title, and the item was stored without title or
/// text (feedparser and gofeed read them). An own `<title>` that holds
/// nothing but blanks gives way to the Dublin Core one (it won, and the
/// headline was lost). With `atom`, an Atom `<entry>` the same way, its
/// `dc:description` as its `<summary>`. `None` when no item needs one;
/// documents that do not mention `dc:title` or `dc:description` are not read.
pub(super) fn with_dublin_core_text(text: &[u8], atom: bool) -> Option<Vec<u8>> {
    // (By its namespace: `xmlns:dublincore="…/dc/elements/1.1/"` names it
    // as well as `dc`, and such an item was stored without title.)
    let prefixes = dublin_core_prefixes(text);
    if !prefixes.iter().any(|p| {
        [":title", ":description"]
            .iter()
            .any(|name| memchr::memmem::find(text, format!("<{p}{name}").as_bytes()).is_some())
    }) {
        return None;
    }
    let dc = |p: Option<&str>| p.is_some_and(|p| prefixes.iter().any(|d| d == p));
    let (entry, tags): (&str, [&str; 2]) = if atom {
        ("entry", ["title", "summary"])
    } else {
        ("item", ["title", "description"])
    };
    // Which of the entry's own elements stands for its title (0) or text (1).
    let own_kind = |local: &str| match local {
        "title" => Some(0),
        "description" if !atom => Some(1),
        "summary" | "content" if atom => Some(1),
        _ => None,
    };
    // Content that shows nothing: blanks, an empty CDATA section, a
    // zero-width space (`&#8203;`), markup of no text (`&lt;p&gt;&lt;/p&gt;`,
    // an XHTML `<div/>`).
    let blank = |content: &[u8]| {
        let c = content.trim_ascii();
        let c = c
            .strip_prefix(b"<![CDATA[")
            .and_then(|c| c.strip_suffix(b"]]>"))
            .unwrap_or(c);
        let c = String::from_utf8_lossy(c);
        // (A picture or a player is something: a description of only an
        // `<img>` gave way to a credit line in `dc:description`.)
        super::text::html_shows_nothing(&super::text::decode_entities(&c))
    };
    let mut reader = reader(text);
    // In an item: its depth, the end of its start tag, and what it has:
    // [title, description] as RSS gives them (holding more than blanks),
    // where its blank ones are, and the raw content of `dc:title` /
    // `dc:description`.
    struct Item {
        depth: usize,
        at: usize,
        own: [bool; 2],
        blanks: [Vec<(usize, usize)>; 2],
        dc: [Option<(usize, usize)>; 2],
    }
    let mut depth = 0usize;
    let mut item: Option<Item> = None;
    // The Dublin Core element being read: which, where its content starts,
    // and its depth (markup inside it ends before it does).
    let mut reading: Option<(usize, usize, usize)> = None;
    // The item's own title or text being read: which, where its element
    // starts, where its content starts, and its depth.
    let mut reading_own: Option<(usize, usize, usize, usize)> = None;
    let mut inserts: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().ok()?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.name();
                let (prefix, local) = (
                    name.prefix().map(|p| p.as_ref().to_string()),
                    name.local_name().as_ref().to_string(),
                );
                match (&mut item, prefix.as_deref(), local.as_str()) {
                    (None, None, l) if l == entry => {
                        item = Some(Item {
                            depth,
                            at: after,
                            own: [false; 2],
                            blanks: [Vec::new(), Vec::new()],
                            dc: [None; 2],
                        })
                    }
                    (Some(it), None, l) if depth == it.depth + 1 && own_kind(l).is_some() => {
                        match own_kind(l) {
                            // (An Atom `content src` holds its body elsewhere.)
                            Some(which) if has_src(&e) => it.own[which] = true,
                            which => reading_own = which.map(|which| (which, before, after, depth)),
                        }
                    }
                    (Some(it), p, "title") if dc(p) && depth == it.depth + 1 => {
                        reading = Some((0, after, depth))
                    }
                    (Some(it), p, "description") if dc(p) && depth == it.depth + 1 => {
                        reading = Some((1, after, depth))
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if let Some(it) = item.as_mut().filter(|it| depth == it.depth)
                    && e.name().prefix().is_none()
                    && let Some(which) = own_kind(e.name().as_ref())
                {
                    if has_src(&e) {
                        it.own[which] = true;
                    } else {
                        it.blanks[which].push((before, after));
                    }
                }
            }
            Event::End(_) => {
                if let Some((which, from, _)) = reading.filter(|r| r.2 == depth) {
                    reading = None;
                    if let Some(it) = &mut item
                        && it.dc[which].is_none()
                    {
                        it.dc[which] = Some((from, before));
                    }
                }
                if let Some((which, start, from, _)) = reading_own.filter(|r| r.3 == depth) {
                    reading_own = None;
                    if let Some(it) = &mut item {
                        if blank(&text[from..before]) {
                            it.blanks[which].push((start, after));
                        } else {
                            it.own[which] = true;
                        }
                    }
                }
                if item.as_ref().is_some_and(|it| depth == it.depth) {
                    let it = item.take().expect("open item");
                    let mut add = Vec::new();
                    let mut gone = Vec::new();
                    for (i, tag) in tags.iter().enumerate() {
                        if let (false, Some((from, to))) = (it.own[i], it.dc[i]) {
                            add.extend_from_slice(format!("<{tag}>").as_bytes());
                            add.extend_from_slice(&text[from..to]);
                            add.extend_from_slice(format!("</{tag}>").as_bytes());
                            gone.extend_from_slice(&it.blanks[i]);
                        }
                    }
                    if !add.is_empty() {
                        inserts.push((it.at, it.at, add));
                        gone.sort_unstable();
                        inserts.extend(gone.into_iter().map(|(from, to)| (from, to, Vec::new())));
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    spliced(text, inserts)
}

/// Whether an element has a `src` attribute (an Atom `content src`).
fn has_src(e: &quick_xml::events::BytesStart) -> bool {
    e.attributes()
        .flatten()
        .any(|a| a.key.local_name().as_ref() == "src")
}

/// `text` with each `(from, to, with)` range (in order, not overlapping)
/// replaced; `None` when there is none.
fn spliced(text: &[u8], splices: Vec<(usize, usize, Vec<u8>)>) -> Option<Vec<u8>> {
    if splices.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() + 256);
    let mut at = 0;
    for (from, to, with) in splices {
        out.extend_from_slice(&text[at..from]);
        out.extend_from_slice(&with);
        at = to;
    }
    out.extend_from_slice(&text[at..]);
    Some(out)
}

/// Whether a start tag's attributes (the bytes after its name) hold a `type`
/// whose value names XML (`xhtml`, `xml`, `application/xhtml+xml`): a byte
/// scan, as [`with_naked_markup_flattened`] reads the attribute.
fn typed_xml(tag: &[u8]) -> bool {
    memchr::memmem::find_iter(tag, b"type").any(|at| {
        if at == 0 || !tag[at - 1].is_ascii_whitespace() {
            return false;
        }
        let rest = tag[at + 4..].trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b"=") else {
            return false;
        };
        let rest = rest.trim_ascii_start();
        let Some((&quote, value)) = rest
            .split_first()
            .filter(|(q, _)| matches!(q, b'"' | b'\''))
        else {
            return false;
        };
        let value = &value[..memchr::memchr(quote, value).unwrap_or(value.len())];
        memchr::memmem::find(&value.to_ascii_lowercase(), b"xml").is_some()
    })
}

/// The document with the unescaped markup inside its text elements made text,
/// as the feed meant it: a title (or subtitle) keeps its words without the tags
/// (`Hello <em>world</em>` is "Hello world"); a description, summary or content
/// gets its markup escaped, so that it reads as the HTML it was (feed-rs read
/// such an element only up to its first child element: "Hello", or nothing).
/// Atom bodies of type XHTML or XML are left alone. `None` when there is none.
pub(super) fn with_naked_markup_flattened(text: &[u8]) -> Option<Vec<u8>> {
    if !has_naked_markup(text) {
        return None;
    }
    let mut reader = reader(text);
    let mut depth = 0usize;
    // The open text element: its depth, local name, where its content starts,
    // whether it is a title, its content so far as the replacement, and
    // whether a child element was met.
    struct Open {
        depth: usize,
        name: String,
        from: usize,
        title: bool,
        out: Vec<u8>,
        child: bool,
    }
    let mut open: Option<Open> = None;
    let mut splices: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let escape = |out: &mut Vec<u8>, raw: &[u8]| {
        for &b in raw {
            match b {
                b'&' => out.extend_from_slice(b"&amp;"),
                b'<' => out.extend_from_slice(b"&lt;"),
                b'>' => out.extend_from_slice(b"&gt;"),
                _ => out.push(b),
            }
        }
    };
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().ok()?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                depth += 1;
                match &mut open {
                    Some(o) => {
                        o.child = true;
                        if !o.title {
                            escape(&mut o.out, &text[before..after]);
                        }
                    }
                    None => {
                        let name = e.name();
                        let local_name = name.local_name();
                        let local: &str = local_name.as_ref();
                        let typed = attr(&e, "type").is_some_and(|t| {
                            let t = t.to_ascii_lowercase();
                            t.contains("xhtml") || t.contains("xml")
                        });
                        if name.prefix().is_none() && TEXT_ELEMENTS.contains(&local) && !typed {
                            open = Some(Open {
                                depth,
                                name: local.to_string(),
                                from: after,
                                title: matches!(local, "title" | "subtitle"),
                                out: Vec::new(),
                                child: false,
                            });
                        }
                    }
                }
            }
            Event::Empty(_) => {
                if let Some(o) = &mut open {
                    o.child = true;
                    if !o.title {
                        escape(&mut o.out, &text[before..after]);
                    }
                }
            }
            Event::End(e) => {
                let closes = open
                    .as_ref()
                    .is_some_and(|o| depth == o.depth || e.name().local_name().as_ref() == o.name);
                if closes {
                    let o = open.take().expect("open");
                    if o.child {
                        splices.push((o.from, before, o.out));
                    }
                    depth = o.depth.saturating_sub(1);
                    continue;
                }
                if let Some(o) = &mut open
                    && !o.title
                {
                    escape(&mut o.out, &text[before..after]);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(_) | Event::GeneralRef(_) => {
                if let Some(o) = &mut open {
                    let raw = &text[before..after];
                    if o.title {
                        // Text as written: its references stay references.
                        o.out.extend_from_slice(raw);
                    } else {
                        // The element's source is the HTML: all of it escaped.
                        escape(&mut o.out, raw);
                    }
                }
            }
            Event::CData(t) => {
                if let Some(o) = &mut open {
                    escape(&mut o.out, t.into_inner().as_bytes());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    spliced(text, splices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_of(xml: &str) -> Root {
        sniff(xml.as_bytes())
    }

    #[test]
    fn copied_entries_are_those_with_a_source_child() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><source/></entry><entry/>
            <entry><content type="xhtml"><div><source/></div></content></entry>
            <entry><a:source xmlns:a="http://www.w3.org/2005/Atom"><a:id>x</a:id></a:source></entry>
            <entry><content><![CDATA[<source>]]></content></entry></feed>"#;
        let copied = |doc: &str| -> Vec<bool> {
            copied_entries(doc.as_bytes())
                .unwrap()
                .iter()
                .map(|c| *c != Copied::No)
                .collect()
        };
        assert_eq!(copied(doc), [true, false, false, true, false]);
        // Only the root's entries count, as feed-rs reads them; an entry
        // inside a source is part of the entry around it.
        let doc = r#"<feed><x:list xmlns:x="urn:x"><x:item/><x:entry/></x:list>
            <entry><source><entry><id>inner</id></entry></source></entry><entry/></feed>"#;
        assert_eq!(copied(doc), [true, false]);
        assert_eq!(copied("<feed><entry/></feed>"), [false]);
        // The source's first author's name, entities and all.
        let doc = r#"<feed><entry><source><id>s</id><author><name> Ann &amp; Bo </name></author>
            <author><name>Cy</name></author></source></entry>
            <entry><source><title>t</title></source></entry></feed>"#;
        assert_eq!(
            copied_entries(doc.as_bytes()).unwrap(),
            [
                Copied::From {
                    author: Some("Ann & Bo".into())
                },
                Copied::From { author: None }
            ]
        );
    }

    #[test]
    fn feed_authors_are_the_roots_author_children_only() {
        let doc = r#"<feed><author><name>Ann</name><email>a@x.example</email></author>
            <entry><author><name>Bob</name></author></entry>
            <source><author><name>Cy</name></author></source></feed>"#;
        let authors = feed_authors(doc.as_bytes());
        assert_eq!(
            authors,
            "<author><name>Ann</name><email>a@x.example</email></author>"
        );
        // As written: a reference or a namespace that changes what feed-rs
        // reads changes it too.
        let with = |a: &str| feed_authors(format!("<feed>{a}<entry/></feed>").as_bytes());
        assert_ne!(
            with("<author><name>Ren&#233;</name></author>"),
            with("<author><name>Ren&#232;</name></author>")
        );
        assert_ne!(
            with("<author><name>A</name></author>"),
            with("<author xmlns=\"urn:x\"><name>A</name></author>")
        );
        assert_eq!(with("<author/>"), "<author/>");
        assert_eq!(
            feed_authors(b"<rss><channel><author>x</author></channel></rss>"),
            ""
        );
    }

    #[test]
    fn extension_links_count_empty_entries() {
        let doc = "<rss version=\"2.0\" xmlns:f=\"urn:f\"><channel>\
                   <item><f:origLink>https://o.example/1</f:origLink></item><item/>\
                   <item><x><item/></x><f:origLink>https://o.example/3</f:origLink></item>\
                   </channel></rss>";
        assert_eq!(
            fallback_links(doc.as_bytes()).unwrap(),
            [
                Some("https://o.example/1".to_string()),
                None,
                Some("https://o.example/3".to_string())
            ]
        );
    }

    #[test]
    fn sniffs_dialects_from_the_root() {
        let d = |x: &str| root_of(x).dialect;
        assert_eq!(
            d(r#"<?xml version="1.0"?><rss version="2.0"/>"#),
            Dialect::Plain
        );
        assert_eq!(
            d(r#"<feed xmlns="http://www.w3.org/2005/Atom"/>"#),
            Dialect::Plain
        );
        assert_eq!(
            d(r#"<!-- c --><feed version="0.3" xmlns="http://purl.org/atom/ns#">"#),
            Dialect::Atom03
        );
        assert_eq!(
            d(r#"<a:feed xmlns:a="http://purl.org/atom/ns#">"#),
            Dialect::Atom03
        );
        assert_eq!(d(r#"<feed version="0.3">"#), Dialect::Atom03);
        assert_eq!(
            d(r#"<rss xmlns="http://backend.userland.com/rss2">"#),
            Dialect::Rss2Namespaced
        );
        assert_eq!(d(r#"<rdf:RDF xmlns:rdf="x">"#), Dialect::Rdf);
        assert_eq!(
            d(r#"<feed xmlns="http://example.com/other">"#),
            Dialect::Foreign
        );
        assert_eq!(d(r#"<html><body/></html>"#), Dialect::Foreign);
        assert_eq!(
            d(r#" {"version": "https://jsonfeed.org/version/1.1"}"#),
            Dialect::NotXml
        );
        let r = root_of(r#"<x:feed xmlns:x="urn:other"/>"#);
        assert_eq!(
            (r.name.as_str(), r.namespace.as_deref()),
            ("feed", Some("urn:other"))
        );
    }

    #[test]
    fn text_types() {
        let t = |ty: &str, mode: &str, content, legacy| {
            let w = text_type(
                (!ty.is_empty()).then_some(ty),
                (!mode.is_empty()).then_some(mode),
                content,
                legacy,
            );
            (w.ty, w.base64)
        };
        assert_eq!(t("text/plain", "", false, true), (None, false));
        assert_eq!(
            t("text/html", "escaped", false, true),
            (Some("html".into()), false)
        );
        assert_eq!(
            t("text/html", "", false, true),
            (Some("xhtml".into()), false)
        );
        assert_eq!(
            t("application/xhtml+xml", "xml", true, true),
            (Some("xhtml".into()), false)
        );
        assert_eq!(
            t("text/html", "base64", true, true),
            (Some("html".into()), true)
        );
        assert_eq!(
            t("application/octet-stream", "", false, false),
            (None, true)
        );
        assert_eq!(t("application/x-custom", "", false, false), (None, true));
        assert_eq!(t("text/x-custom", "", false, false), (None, false));
        assert_eq!(t("not a type", "", true, false), (None, false));
        assert_eq!(
            t("image/png", "", true, false),
            (Some("image/png".into()), true)
        );
        assert_eq!(t("HTML", "", false, false), (Some("html".into()), false));
        assert_eq!(
            t("text/html; charset=utf-8", "", true, false),
            (Some("html".into()), false)
        );
        assert_eq!(
            t("text/html;charset=UTF-8", "escaped", false, true),
            (Some("html".into()), false)
        );
    }

    #[test]
    fn atom03_is_rewritten_as_atom10() {
        let xml = r#"<?xml version="1.0"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#">
<title type="text/plain" mode="escaped">T &amp; co</title>
<tagline type="text/html" mode="escaped">&lt;b&gt;x&lt;/b&gt;</tagline>
<entry><title mode="base64">SGVsbG8gJiB3b3JsZA==</title>
<author><name>A</name><url>http://a.example/</url></author>
<issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified>
<summary></summary>
<content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml">hi</div></content>
</entry></feed>"#;
        let root = sniff(xml.as_bytes());
        let out = String::from_utf8(normalise(xml.as_bytes(), &root).unwrap()).unwrap();
        assert!(
            out.contains(r#"<feed version="0.3" xmlns="http://www.w3.org/2005/Atom">"#),
            "{out}"
        );
        assert!(out.contains("<title>T &amp; co</title>"), "{out}");
        assert!(
            out.contains(r#"<subtitle type="html">&lt;b&gt;x&lt;/b&gt;</subtitle>"#),
            "{out}"
        );
        assert!(out.contains("<title>Hello &amp; world</title>"), "{out}");
        assert!(out.contains("<uri>http://a.example/</uri>"), "{out}");
        assert!(
            out.contains("<published>2004-01-01T00:00:00Z</published>"),
            "{out}"
        );
        assert!(
            out.contains("<updated>2004-01-02T00:00:00Z</updated>"),
            "{out}"
        );
        assert!(!out.contains("summary"), "{out}");
        assert!(out.contains(r#"<content type="xhtml"><div"#), "{out}");
    }

    #[test]
    fn rdf_items_without_link_get_the_placeholder() {
        let xml = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>c</title><link>http://e.org/</link></channel>
<item><title>has</title><link>http://e.org/1</link></item>
<item><title>none</title><description>d</description></item>
</rdf:RDF>"#;
        let out = String::from_utf8(rewrite_rdf(xml.as_bytes()).unwrap()).unwrap();
        assert!(out.contains(r#"xmlns="http://purl.org/rss/1.0/""#), "{out}");
        assert!(out.contains("<link>http://e.org/1</link></item>"), "{out}");
        assert!(
            out.contains("<description>d</description><link>feedloom:no-link</link></item>"),
            "{out}"
        );
        // Nothing to do: no copy.
        let plain =
            r#"<rdf:RDF xmlns="http://purl.org/rss/1.0/"><item><link>x</link></item></rdf:RDF>"#;
        assert!(rewrite_rdf(plain.as_bytes()).is_none());
    }
}
