//! The parse memory budget: a document with more entries than `max_entries` is
//! cut down to the `max_entries` newest before feed-rs builds a model of it, so a
//! 200,000-entry document costs a scan of its bytes, not 200,000 entries in
//! memory. [`over_limit`] is the cheap test (a substring count, no parse) that
//! keeps ordinary documents off the scan.

use chrono::{DateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

/// Whether the document may hold more than `max` entries: counts `<item`,
/// `<entry` and prefixed `:item` / `:entry` tags (an upper bound). A JSON Feed
/// item needs no marker that could be counted, so any JSON document over 1 MiB
/// is scanned.
pub(super) fn over_limit(text: &[u8], max: usize) -> bool {
    if is_json(text) {
        return text.len() > 1 << 20
            || memchr::memmem::find_iter(text, b"\"id\"")
                .nth(max)
                .is_some();
    }
    let mut n = 0usize;
    for needle in [&b"<item"[..], b"<entry", b":item", b":entry"] {
        n += memchr::memmem::find_iter(text, needle).count();
        if n > max {
            return true;
        }
    }
    false
}

/// Whether [`keep_newest`] would cut the document: [`over_limit`] first, so
/// that only documents near the limit are scanned.
pub(super) fn would_cut(text: &[u8], max: usize) -> bool {
    over_limit(text, max) && keep_newest(text, max).is_some()
}

/// How many `<item>`s an RSS document holds in channels after its first one
/// (feed-rs reads the first `<channel>` only, so they are never read): 0
/// unless the document has two `<channel>` tags (a substring count first).
pub(super) fn unread_channel_items(text: &[u8]) -> usize {
    if memchr::memmem::find_iter(text, b"<channel")
        .nth(1)
        .is_none()
    {
        return 0;
    }
    let mut reader = Reader::from_reader(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_dangling_amp = true;
    let (mut depth, mut channels, mut unread) = (0usize, 0usize, 0usize);
    let mut rss_root = false;
    // Inside a channel after the first (its depth is 2).
    let mut in_other = false;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(_) => return unread,
        };
        let (is_start, name) = match &event {
            Event::Start(e) => (true, e.local_name()),
            Event::Empty(e) => (false, e.local_name()),
            Event::End(_) => {
                if depth == 2 {
                    in_other = false;
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => return unread,
            _ => continue,
        };
        let at = depth + 1;
        match (at, name.into_inner()) {
            (1, "rss") => rss_root = true,
            (2, "channel") if rss_root => {
                channels += 1;
                in_other = is_start && channels > 1;
            }
            (3, "item") if in_other => unread += 1,
            _ => {}
        }
        if is_start {
            depth = at;
        }
    }
}

/// What [`entry_like`] found.
pub(super) struct EntryLike {
    /// The first one's name, as written.
    pub first: String,
    pub count: usize,
    /// How many are where entries are: children of a channel, a feed or an
    /// RDF root.
    pub placed: usize,
    /// Each name of those as written, and how many (the first four names).
    pub names: Vec<(String, usize)>,
    /// Why none of them was read, when the document says it otherwise than
    /// by their names: its root puts every element in a namespace of no
    /// feed format (`<rss xmlns="http://example.com/rss">`), or its channel
    /// is `<Channel>`.
    pub why: Option<String>,
}

/// Whether `text` may hold an entry named in another letter case (`<Item>`,
/// `<ITEM>`, `<Entry>`): a quick look before [`entry_like`] reads it all,
/// for a document whose other entries were read.
pub(super) fn may_hold_misnamed_entries(text: &[u8]) -> bool {
    memchr::memmem::find_iter(text, b"<I")
        .chain(memchr::memmem::find_iter(text, b"<E"))
        .any(|at| {
            let rest = &text[at + 1..];
            let like = |name: &[u8]| {
                rest.len() > name.len()
                    && rest[..name.len()].eq_ignore_ascii_case(name)
                    && matches!(rest[name.len()], b'>' | b' ' | b'/' | b'\t' | b'\n' | b'\r')
            };
            like(b"item") || like(b"entry")
        })
        // (Or an entry that declares a namespace of its own,
        // `<item xmlns="http://www.w3.org/1999/xhtml">`.)
        || [b"<item".as_slice(), b"<entry"].iter().any(|open| {
            memchr::memmem::find_iter(text, open).any(|at| {
                let tag = &text[at + open.len()..];
                let tag = &tag[..tag.len().min(512)];
                let tag = &tag[..memchr::memchr(b'>', tag).unwrap_or(tag.len())];
                tag.first().is_some_and(u8::is_ascii_whitespace)
                    && memchr::memmem::find(tag, b"xmlns=").is_some()
            })
        })
}

/// The elements of an XML document named like entries (`item`, `entry`, in
/// any letter case and namespace: `<Item>`, `<ITEM>`, `<atom:entry>` in an
/// RSS channel, Atom 0.3's entries in an Atom 1.0 feed, items inside an
/// `<entries>` wrapper): the first one's name as written, and how many.
/// Looked for when none was read as an entry (such a document was an `ok`
/// fetch of nothing, for ever), or some may be named in another letter
/// case ([`may_hold_misnamed_entries`]).
pub(super) fn entry_like(text: &[u8]) -> Option<EntryLike> {
    let mut reader = Reader::from_reader(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_dangling_amp = true;
    let mut first: Option<String> = None;
    let mut count = 0usize;
    let mut names: Vec<(String, usize)> = Vec::new();
    let mut placed = 0usize;
    let mut why: Option<String> = None;
    // (Elements inside text, an Atom `type="xhtml"` title or rights, name
    // nothing of the feed's; nor does an extension's `<wp:item>` or
    // `<x:entry>`: only unprefixed names and Atom's prefix count.)
    const TEXT: &[&str] = &[
        "title",
        "subtitle",
        "rights",
        "summary",
        "content",
        "description",
        "encoded",
        "div",
    ];
    let mut depth = 0usize;
    let mut in_text: Option<usize> = None;
    // (Nor an element of an extension that declares its own default
    // namespace, `<ext xmlns="http://example.com/ext"><item>`, below the
    // root and the channel: an empty feed with one was an error.)
    const FEED_NAMESPACES: &[&str] = &[
        "http://www.w3.org/2005/Atom",
        "http://purl.org/atom/ns#",
        "http://purl.org/rss/1.0/",
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://backend.userland.com/rss2",
        "",
    ];
    let mut in_foreign: Option<usize> = None;
    // (Whether each open element is where entries are: a channel, a feed,
    // an RDF root.)
    let mut holds_entries: Vec<bool> = Vec::new();
    // (Whether the root is RSS 1.0's `rdf:RDF`, whose items are in its
    // namespace, not in none.)
    let mut rdf = false;
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                if in_text == Some(depth) {
                    in_text = None;
                }
                if in_foreign == Some(depth) {
                    in_foreign = None;
                }
                depth = depth.saturating_sub(1);
                holds_entries.pop();
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        let name = e.name().into_inner().to_string();
        let local = e.local_name();
        let local = local.into_inner();
        let prefix = name.split_once(':').map(|(p, _)| p);
        if depth == 0 {
            rdf = local == "RDF";
        }
        // The namespace an element puts itself in, when no feed format's.
        let own_namespace = e
            .attributes()
            .flatten()
            .find(|a| {
                a.key.as_ref() == "xmlns" && !FEED_NAMESPACES.iter().any(|n| a.value.trim() == *n)
            })
            .map(|a| a.value.trim().to_string());
        let foreign = in_foreign.is_some()
            || (depth > 0 && !local.eq_ignore_ascii_case("channel") && own_namespace.is_some());
        // (A channel, or an entry where entries are, in another namespace:
        // said so. The channel's error blamed its items' names, which were
        // right; `<item xmlns="http://www.w3.org/1999/xhtml">`, as an XSLT
        // writes it, was dropped without a word.)
        let entry_named = prefix.is_none()
            && (local.eq_ignore_ascii_case("item") || local.eq_ignore_ascii_case("entry"));
        let placed_foreign = in_foreign.is_none()
            && in_text.is_none()
            && entry_named
            && holds_entries.last() == Some(&true);
        if why.is_none()
            && depth > 0
            && prefix.is_none()
            && (local == "channel" || placed_foreign)
            && let Some(ns) = &own_namespace
        {
            why = Some(format!(
                "its `<{name}>` puts {} in the namespace `{}`, and {}",
                if local == "channel" {
                    "every element"
                } else {
                    "itself"
                },
                crate::error::quoted(ns, 200),
                if local.eq_ignore_ascii_case("entry") {
                    "Atom's entries are in `http://www.w3.org/2005/Atom`"
                } else if rdf {
                    "RSS 1.0's are in `http://purl.org/rss/1.0/`"
                } else {
                    "RSS's are in none"
                }
            ));
        }
        if why.is_none() && depth == 0 && local == "rss" {
            why = e
                .attributes()
                .flatten()
                .find(|a| {
                    a.key.as_ref() == "xmlns"
                        && !FEED_NAMESPACES.iter().any(|n| a.value.trim() == *n)
                })
                .map(|a| {
                    format!(
                        "the root `<{name}>` puts every element in the namespace `{}`, and RSS's are in none",
                        crate::error::quoted(a.value.trim(), 200)
                    )
                });
        }
        if why.is_none()
            && prefix.is_none()
            && local.eq_ignore_ascii_case("channel")
            && local != "channel"
        {
            why = Some(format!(
                "its channel is `<{}>`, and RSS's is `<channel>`, in lower case",
                crate::error::quoted(&name, 200)
            ));
        }
        if in_text.is_none()
            && (!foreign || placed_foreign)
            && prefix.is_none_or(|p| p.eq_ignore_ascii_case("atom"))
            && (local.eq_ignore_ascii_case("item") || local.eq_ignore_ascii_case("entry"))
        {
            count += 1;
            if first.is_none() {
                first = Some(name.clone());
            }
            // (Only where entries are: an `<Item>` inside `<image>` or an
            // item's extension is none.)
            if holds_entries.last() == Some(&true) {
                placed += 1;
                match names.iter().position(|(n, _)| *n == name) {
                    Some(i) => names[i].1 += 1,
                    None if names.len() < 4 => names.push((name.clone(), 1)),
                    None => {}
                }
            }
        }
        if !empty {
            holds_entries.push(
                ["channel", "feed", "rdf"]
                    .iter()
                    .any(|n| local.eq_ignore_ascii_case(n)),
            );
            depth += 1;
            if in_text.is_none() && TEXT.iter().any(|t| local.eq_ignore_ascii_case(t)) {
                in_text = Some(depth);
            }
            if foreign && in_foreign.is_none() {
                in_foreign = Some(depth);
            }
        }
    }
    first.map(|first| EntryLike {
        first,
        count,
        placed,
        names,
        why,
    })
}

/// One entry element found by the scan.
struct Span {
    start: usize,
    end: usize,
    date: Option<DateTime<Utc>>,
}

/// The document with only its `max` newest entries (by their own dates, as
/// mapping's `newest` orders them; undated ones count as oldest, ties keep
/// document order), and how many were cut. `None` when it has no more than
/// `max`, is not XML, or cannot be scanned (feed-rs then reports why).
pub(super) fn keep_newest(text: &[u8], max: usize) -> Option<(Vec<u8>, usize)> {
    if is_json(text) {
        return keep_newest_json(text, max);
    }
    // A document the scan cannot read (an end tag nothing opened), or in
    // which entries sit inside an element left open, is cut by its entry
    // tags alone: read whole, a 16 MB feed of tiny entries took 1 GB.
    let entries = match scan(text) {
        Some((entries, _)) if entries.len() > max => entries,
        Some((_, true)) => return None,
        _ => return keep_first_by_tags(text, max),
    };
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|a, b| entries[*b].date.cmp(&entries[*a].date).then(a.cmp(b)));
    let mut keep = vec![false; entries.len()];
    for i in order.into_iter().take(max) {
        keep[i] = true;
    }
    let mut out = Vec::with_capacity(text.len().min(64 << 10));
    let mut copied = 0;
    for (e, keep) in entries.iter().zip(&keep) {
        if !keep {
            out.extend_from_slice(&text[copied..e.start]);
            copied = e.end;
        }
    }
    out.extend_from_slice(&text[copied..]);
    Some((out, entries.len() - max))
}

/// The document without its entries after the first `max`, found by their
/// tags alone (`<item` or `<entry`, unprefixed or `atom:`; none inside a
/// comment or CDATA, where a description may quote one): cut from the
/// first entry past `max` to the container's end tag (`</channel`,
/// `</feed`, `</rdf:RDF`…; else the end). For a document [`scan`] cannot
/// read. `None` when it has no more than `max` entries.
fn keep_first_by_tags(text: &[u8], max: usize) -> Option<(Vec<u8>, usize)> {
    const ENTRIES: [&[u8]; 3] = [b"<item", b"<entry", b"<atom:entry"];
    // A container's end tag: `</` then its name (any prefix), then white
    // space or `>` (`</feedburner:origLink>` and `</channelId>` are not).
    let container_end = |rest: &[u8]| {
        let Some(name) = rest.strip_prefix(b"</") else {
            return false;
        };
        let len = name
            .iter()
            .position(|c| c.is_ascii_whitespace() || *c == b'>')
            .unwrap_or(name.len());
        let local = name[..len].rsplit(|c| *c == b':').next().unwrap_or(b"");
        len < name.len() && matches!(local, b"channel" | b"feed" | b"RDF" | b"rss")
    };
    let mut starts = Vec::new();
    let mut container_ends = Vec::new();
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'<', &text[i..]).map(|k| i + k) {
        let rest = &text[at..];
        // (Comments and CDATA are skipped whole.)
        let skip = if rest.starts_with(b"<!--") {
            Some((b"-->" as &[u8], 4))
        } else if rest.starts_with(b"<![CDATA[") {
            Some((b"]]>" as &[u8], 9))
        } else {
            None
        };
        if let Some((close, open)) = skip {
            match memchr::memmem::find(&text[at + open..], close) {
                Some(e) => {
                    i = at + open + e + close.len();
                    continue;
                }
                None => break,
            }
        }
        if let Some(tag) = ENTRIES.iter().find(|t| rest.starts_with(t)) {
            let next = rest.get(tag.len()).copied().unwrap_or(b'>');
            if matches!(next, b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r') {
                starts.push(at);
            }
        } else if container_end(rest) {
            container_ends.push(at);
        }
        i = at + 1;
    }
    if starts.len() <= max {
        return None;
    }
    let from = starts[max];
    let end = container_ends
        .into_iter()
        .find(|&e| e > from)
        .unwrap_or(text.len());
    let mut out = Vec::with_capacity(text.len() - (end - from));
    out.extend_from_slice(&text[..from]);
    out.extend_from_slice(&text[end..]);
    Some((out, starts.len() - max))
}

/// As feed-rs decides: JSON when `{` comes before any `<`.
pub(super) fn is_json(text: &[u8]) -> bool {
    text.iter().find(|b| **b == b'<' || **b == b'{') == Some(&b'{')
}

/// JSON Feed with every list feed-rs builds cut to its first `max` members:
/// the feed's `authors`, and each item's `authors`, `tags` and `attachments`;
/// `None` when none is longer (or the document is not a JSON Feed this can
/// read). feed-rs compares each author with all before it and gives every
/// item without one a copy of all the feed's (a document of 200 KB naming
/// 10,000 authors took 1.5 GB and seconds), and builds each tag at 38 times
/// its size. feedloom shows one author per entry, and reads no tag or
/// attachment.
pub(super) fn cap_json_lists(text: &[u8], max: usize) -> Option<Vec<u8>> {
    use serde_json::value::RawValue;
    // (A key may be written with escapes: `"t\u0061gs"` is `tags`.)
    let finder = |n: &[u8]| memchr::memmem::find(text, n).is_some();
    if ![&b"\"authors\""[..], b"\"tags\"", b"\"attachments\"", b"\\u"]
        .iter()
        .any(|n| finder(n))
    {
        return None;
    }
    let max = max.max(1);
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    // Every list, every time its key is written (feed-rs builds the first
    // before it refuses a key written twice).
    let mut lists: Vec<&RawValue> = Vec::new();
    for (key, value) in fields(text, &["authors", "items"])? {
        if key == 0 {
            lists.push(value);
            continue;
        }
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(value.get()) else {
            continue;
        };
        for item in items {
            let found = fields(item.get().as_bytes(), &["authors", "tags", "attachments"]);
            lists.extend(found.into_iter().flatten().map(|(_, v)| v));
        }
    }
    // The bytes after each long list's last kept member, up to its last.
    let mut cuts: Vec<(usize, usize)> = lists
        .into_iter()
        .filter_map(|raw| {
            let mut seq = serde_json::Deserializer::from_str(raw.get());
            let (kept, last) = serde::Deserializer::deserialize_seq(&mut seq, Cut(max)).ok()??;
            Some((
                offset(kept) + kept.get().len(),
                offset(last) + last.get().len(),
            ))
        })
        .collect();
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_unstable();
    Some(super::defuse::without(text, &cuts))
}

/// A JSON Feed that feed-rs refused over a field of the wrong shape, with the
/// field repaired: a `version` written with `http:` or as a bare "1", "1.0"
/// or "1.1" (it must mention JSON Feed); a missing or non-text `title`
/// (becomes empty); an item `id` that is a number (becomes its text); an
/// `authors` that is one object instead of a list (becomes a list of it); an
/// `author` or a text field (`url`, `external_url`, `title`, `content_html`,
/// `content_text`, `summary`, dates) that is not what the spec says (dropped);
/// `tags` that are not text (dropped). `None` when the document is not such
/// a JSON Feed or nothing needed it. Runs only after feed-rs refused a JSON
/// document.
pub(super) fn with_json_fields_repaired(text: &[u8]) -> Option<Vec<u8>> {
    use serde_json::Value;
    let numbers = with_json_numbers_read_safely(text);
    let mut doc: serde_json::Map<String, Value> =
        serde_json::from_slice(numbers.as_deref().unwrap_or(text)).ok()?;
    let mut changed = numbers.is_some();
    let version = doc
        .get("version")
        .and_then(Value::as_str)?
        .trim()
        .to_string();
    let lower = version.to_ascii_lowercase();
    let v11 = lower.ends_with("1.1");
    let url = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .map(|rest| {
            rest.strip_prefix("www.")
                .unwrap_or(rest)
                .trim_end_matches('/')
        });
    let known = matches!(
        url,
        Some("jsonfeed.org/version/1" | "jsonfeed.org/version/1.1")
    ) || matches!(lower.as_str(), "1" | "1.0" | "1.1");
    if !known {
        return None;
    }
    if !doc.get("items").is_some_and(Value::is_array) {
        return None;
    }
    if !version.starts_with("https://jsonfeed.org/version/1") {
        let fixed = if v11 {
            "https://jsonfeed.org/version/1.1"
        } else {
            "https://jsonfeed.org/version/1"
        };
        doc.insert("version".into(), fixed.into());
        changed = true;
    }
    if !doc.get("title").is_some_and(Value::is_string) {
        doc.insert("title".into(), "".into());
        changed = true;
    }
    changed |= repair_people(&mut doc);
    const TEXT: &[&str] = &[
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "date_published",
        "date_modified",
    ];
    if let Some(Value::Array(items)) = doc.get_mut("items") {
        // An item that is no object (`null`, a string) is no item: the
        // others stay (the whole feed failed with it).
        let before = items.len();
        items.retain(Value::is_object);
        changed |= items.len() != before;
        for item in items.iter_mut() {
            let Value::Object(item) = item else { continue };
            match item.get("id") {
                Some(Value::Number(n)) => {
                    let n = n.to_string();
                    item.insert("id".into(), n.into());
                    changed = true;
                }
                Some(v) if !v.is_string() && !v.is_null() => {
                    item.remove("id");
                    changed = true;
                }
                _ => {}
            }
            for key in TEXT {
                if item
                    .get(*key)
                    .is_some_and(|v| !v.is_string() && !v.is_null())
                {
                    item.remove(*key);
                    changed = true;
                }
            }
            if let Some(tags) = item.get_mut("tags") {
                match tags {
                    Value::Array(list) if list.iter().all(Value::is_string) => {}
                    Value::Array(list) => {
                        list.retain(Value::is_string);
                        changed = true;
                    }
                    Value::Null => {}
                    _ => {
                        item.remove("tags");
                        changed = true;
                    }
                }
            }
            changed |= repair_people(item);
        }
    }
    changed.then(|| Value::Object(doc).to_string().into_bytes())
}

/// JSON text with every number written as an `"id"` member's value quoted
/// (`"id": 100000000000000000000001` is that id, not the float `1e+23` that
/// it and its neighbours all read as), and every other number past what a
/// float holds (`1e400`, which failed the whole document) made `null`.
/// `None` when there is no such number.
fn with_json_numbers_read_safely(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut changed = false;
    let mut i = 0;
    // The last string read, and whether a `:` followed it (a member's name).
    let mut last_string: (usize, usize) = (0, 0);
    let mut after_colon_of_id = false;
    while i < text.len() {
        let b = text[i];
        match b {
            b'"' => {
                let start = i;
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(text.len());
                out.extend_from_slice(&text[start..i]);
                last_string = (start, i);
                after_colon_of_id = false;
                continue;
            }
            b':' => {
                after_colon_of_id = &text[last_string.0..last_string.1] == b"\"id\"";
                out.push(b);
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len()
                    && matches!(text[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let number = &text[start..i];
                let huge = std::str::from_utf8(number)
                    .ok()
                    .and_then(|n| n.parse::<f64>().ok())
                    .is_some_and(|f| !f.is_finite());
                if after_colon_of_id {
                    out.push(b'"');
                    out.extend_from_slice(number);
                    out.push(b'"');
                    changed = true;
                } else if huge {
                    out.extend_from_slice(b"null");
                    changed = true;
                } else {
                    out.extend_from_slice(number);
                }
                after_colon_of_id = false;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => out.push(b),
            _ => {
                after_colon_of_id = false;
                out.push(b);
            }
        }
        i += 1;
    }
    changed.then_some(out)
}

/// `author` (an object) and `authors` (a list of objects) as JSON Feed
/// writes them: one object for `authors` becomes a list of it; anything else
/// of the wrong shape goes. Whether anything changed.
fn repair_people(m: &mut serde_json::Map<String, serde_json::Value>) -> bool {
    use serde_json::Value;
    let mut changed = false;
    if m.get("author")
        .is_some_and(|a| !a.is_object() && !a.is_null())
    {
        m.remove("author");
        changed = true;
    }
    match m.get_mut("authors") {
        Some(Value::Object(one)) => {
            let one = Value::Object(std::mem::take(one));
            m.insert("authors".into(), Value::Array(vec![one]));
            changed = true;
        }
        Some(Value::Array(list)) if !list.iter().all(Value::is_object) => {
            list.retain(Value::is_object);
            changed = true;
        }
        Some(Value::Array(_) | Value::Null) | None => {}
        Some(_) => {
            m.remove("authors");
            changed = true;
        }
    }
    // A person's name or url that is not text.
    let mut fix = |p: &mut Value| {
        if let Value::Object(p) = p {
            for key in ["name", "url", "avatar"] {
                if p.get(key).is_some_and(|v| !v.is_string() && !v.is_null()) {
                    p.remove(key);
                    changed = true;
                }
            }
        }
    };
    if let Some(Value::Array(list)) = m.get_mut("authors") {
        list.iter_mut().for_each(&mut fix);
    }
    if let Some(one) = m.get_mut("author") {
        fix(one);
    }
    changed
}

/// JSON Feed with every item's `attachments` made what feed-rs reads (it
/// refuses the whole document over one bad member: every item was lost): a
/// member that is not an object, or has no string `url`, is dropped; a
/// missing or non-string `mime_type` becomes `application/octet-stream`; a
/// `title` that is not a string, and a `size_in_bytes` that is not a whole
/// number of bytes (`"12345"`, `-1`, `1.5`), are dropped; `attachments` that
/// is not a list becomes an empty one. `None` when nothing needed it (or the
/// document is not a JSON Feed this can read). Runs only after feed-rs
/// refused a JSON document; each list is already cut to its first members
/// (`cap_json_lists`), so what it builds stays small.
pub(super) fn with_json_attachments_repaired(text: &[u8]) -> Option<Vec<u8>> {
    use serde_json::value::RawValue;
    use serde_json::{Map, Value};
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let mut splices: Vec<(usize, usize, String)> = Vec::new();
    for (_, value) in fields(text, &["items"])? {
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(value.get()) else {
            continue;
        };
        for item in items {
            let found = fields(item.get().as_bytes(), &["attachments"]);
            for (_, list) in found.into_iter().flatten() {
                let members: Vec<Value> = match serde_json::from_str::<Vec<&RawValue>>(list.get()) {
                    // (Past the first members feed-rs is never shown any.)
                    Ok(members) => members
                        .into_iter()
                        .take(super::defuse::MAX_JSON_LIST)
                        .filter_map(|m| serde_json::from_str::<Map<String, Value>>(m.get()).ok())
                        .filter_map(|mut m| {
                            if !m.get("url").is_some_and(Value::is_string) {
                                return None;
                            }
                            if !m.get("mime_type").is_some_and(Value::is_string) {
                                m.insert("mime_type".into(), crate::export::OCTET_STREAM.into());
                            }
                            if m.get("title")
                                .is_some_and(|t| !t.is_string() && !t.is_null())
                            {
                                m.remove("title");
                            }
                            if m.get("size_in_bytes")
                                .is_some_and(|n| !n.is_u64() && !n.is_null())
                            {
                                m.remove("size_in_bytes");
                            }
                            Some(Value::Object(m))
                        })
                        .collect(),
                    Err(_) => Vec::new(),
                };
                let fixed = Value::Array(members).to_string();
                if fixed != list.get() {
                    let start = offset(list);
                    splices.push((start, start + list.get().len(), fixed));
                }
            }
        }
    }
    if splices.is_empty() {
        return None;
    }
    splices.sort_unstable_by_key(|s| s.0);
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    for (start, end, with) in splices {
        out.extend_from_slice(&text[at..start]);
        out.extend_from_slice(with.as_bytes());
        at = end;
    }
    out.extend_from_slice(&text[at..]);
    Some(out)
}

/// The values of `keys` in the JSON object `text`, each time one is written
/// (with which key), in order; `None` when `text` is not an object.
fn fields<'a>(
    text: &'a [u8],
    keys: &[&str],
) -> Option<Vec<(usize, &'a serde_json::value::RawValue)>> {
    let text = std::str::from_utf8(text).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, Fields(keys)).ok()
}

struct Fields<'k>(&'k [&'k str]);

impl<'de> serde::de::Visitor<'de> for Fields<'_> {
    type Value = Vec<(usize, &'de serde_json::value::RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.0.iter().position(|k| *k == key) {
                Some(i) => out.push((i, map.next_value()?)),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// Reads a JSON array without keeping its members: the last member kept
/// (the `.0`th) and the array's last, when it has more than `.0`.
struct Cut(usize);

impl<'de> serde::de::Visitor<'de> for Cut {
    type Value = Option<(
        &'de serde_json::value::RawValue,
        &'de serde_json::value::RawValue,
    )>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (mut n, mut kept, mut last) = (0, None, None);
        while let Some(member) = seq.next_element::<&serde_json::value::RawValue>()? {
            n += 1;
            if n == self.0 {
                kept = Some(member);
            }
            last = Some(member);
        }
        Ok(kept.zip(last).filter(|_| n > self.0))
    }
}

/// [`keep_newest`] for JSON Feed: the `items` array is read as raw slices of the
/// document (no item is built), the newest `max` are kept, and the document is
/// written again with only those in the array.
fn keep_newest_json(text: &[u8], max: usize) -> Option<(Vec<u8>, usize)> {
    use serde_json::value::RawValue;
    #[derive(serde::Deserialize)]
    struct Dates<'a> {
        #[serde(borrow)]
        date_published: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        date_modified: Option<std::borrow::Cow<'a, str>>,
    }
    // The first `items` (feed-rs refuses a second after building the
    // first: that one is cut).
    let fields = fields(text, &["items"])?;
    let (_, list) = fields.first()?;
    let items: Vec<&RawValue> = serde_json::from_str(list.get()).ok()?;
    if items.len() <= max {
        return None;
    }
    let date = |raw: &RawValue| {
        let d: Dates = serde_json::from_str(raw.get()).ok()?;
        let published = d.date_published.as_deref().and_then(super::dates::parse);
        published.or_else(|| d.date_modified.as_deref().and_then(super::dates::parse))
    };
    let dates: Vec<_> = items.iter().map(|r| date(r)).collect();
    let mut order: Vec<usize> = (0..dates.len()).collect();
    order.sort_by(|a, b| dates[*b].cmp(&dates[*a]).then(a.cmp(b)));
    let mut keep = vec![false; dates.len()];
    for i in order.into_iter().take(max) {
        keep[i] = true;
    }
    // The array's brackets: just before the first item and after the last.
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let first = offset(items.first()?);
    let last = items.last()?;
    let last_end = offset(last) + last.get().len();
    let open = text[..first].iter().rposition(|b| *b == b'[')?;
    let close = last_end + text[last_end..].iter().position(|b| *b == b']')?;
    let mut out = Vec::with_capacity(text.len().min(1 << 20));
    out.extend_from_slice(&text[..=open]);
    for (raw, _) in items.iter().zip(&keep).filter(|(_, k)| **k) {
        if out.len() > open + 1 {
            out.push(b',');
        }
        out.extend_from_slice(raw.get().as_bytes());
    }
    out.extend_from_slice(&text[close..]);
    Some((out, dates.len() - max))
}

/// Entry elements: `item` under the first `channel` below the root or under
/// the root (RSS, RDF), `entry` under the root (Atom), with the date of each.
/// Items of a second `channel`, or of one nested deeper, are not entries:
/// feed-rs reads the first channel only, so they must neither count toward
/// `max_entries` nor push that channel's own entries out. And whether its
/// tags balance (else entries may sit inside an element left open).
fn scan(text: &[u8]) -> Option<(Vec<Span>, bool)> {
    let mut reader = Reader::from_reader(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    let mut depth = 0usize;
    let mut entries = Vec::new();
    // Set while inside an entry: (its depth, start, published, updated).
    type Open = (usize, usize, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let mut open: Option<Open> = None;
    // Set while inside a date element of the open entry: (published?).
    let mut in_date: Option<bool> = None;
    let mut parent_is_container = Vec::<bool>::new();
    let mut channel_seen = false;
    let mut balanced = true;
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event().ok()?;
        match event {
            Event::Start(e) => {
                let qname = e.name();
                let local = qname.local_name();
                let local = local.as_ref();
                depth += 1;
                let container_parent = parent_is_container.last().copied().unwrap_or(true);
                match &open {
                    None if container_parent && matches!(local, "item" | "entry") => {
                        open = Some((depth, start, None, None));
                    }
                    Some((d, ..)) if depth == d + 1 => {
                        in_date = match local {
                            "pubDate" | "date" | "published" | "issued" => Some(true),
                            "updated" | "modified" => Some(false),
                            _ => None,
                        };
                    }
                    _ => {}
                }
                let container = open.is_none()
                    && match local {
                        "rss" | "RDF" | "feed" => depth == 1,
                        "channel" if depth <= 2 && container_parent && !channel_seen => {
                            channel_seen = true;
                            true
                        }
                        _ => false,
                    };
                parent_is_container.push(container);
            }
            // `<item/>` is an entry too (feed-rs reads it as one).
            Event::Empty(e) if open.is_none() => {
                let qname = e.name();
                let container_parent = parent_is_container.last().copied().unwrap_or(true);
                if container_parent && matches!(qname.local_name().as_ref(), "item" | "entry") {
                    entries.push(Span {
                        start,
                        end: reader.buffer_position() as usize,
                        date: None,
                    });
                }
            }
            Event::Text(t) if in_date.is_some() => {
                if let (Some(published), Some(o)) = (in_date, open.as_mut()) {
                    let slot = if published { &mut o.2 } else { &mut o.3 };
                    if slot.is_none() {
                        *slot = super::dates::parse(&t);
                    }
                }
            }
            Event::End(_) => {
                in_date = None;
                balanced &= depth > 0;
                parent_is_container.pop();
                if let Some((d, s, published, updated)) = open
                    && d == depth
                {
                    entries.push(Span {
                        start: s,
                        end: reader.buffer_position() as usize,
                        date: published.or(updated),
                    });
                    open = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some((entries, balanced && depth == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_cuts_the_rest() {
        let mut xml = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for day in 1..=9 {
            xml.push_str(&format!(
                "<item><guid>{day}</guid><pubDate>0{day} Jan 2024 10:00:00 GMT</pubDate></item>"
            ));
        }
        xml.push_str("<item><guid>undated</guid></item><item/></channel></rss>");
        assert!(over_limit(xml.as_bytes(), 3));
        let (out, cut) = keep_newest(xml.as_bytes(), 3).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(cut, 8);
        assert_eq!(
            out,
            "<rss version=\"2.0\"><channel><title>t</title>\
             <item><guid>7</guid><pubDate>07 Jan 2024 10:00:00 GMT</pubDate></item>\
             <item><guid>8</guid><pubDate>08 Jan 2024 10:00:00 GMT</pubDate></item>\
             <item><guid>9</guid><pubDate>09 Jan 2024 10:00:00 GMT</pubDate></item>\
             </channel></rss>"
        );
        assert!(!over_limit(xml.as_bytes(), 40));
        assert!(keep_newest(xml.as_bytes(), 11).is_none());
    }

    #[test]
    fn json_feed_lists_are_cut_to_their_first_members() {
        let people = |n: usize, tag: &str| {
            let v: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"name":"{tag}{i}"}}"#))
                .collect();
            v.join(" , ")
        };
        let doc = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"t","authors":[{}],
            "items":[{{"id":"1","authors":[{}]}},{{"id":"2","authors":[{}]}},{{"id":"3"}}]}}"#,
            people(40, "f"),
            people(3, "a"),
            people(17, "b")
        );
        let out = cap_json_lists(doc.as_bytes(), 16).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let names = |a: &serde_json::Value| -> Vec<String> {
            a.as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        };
        let first =
            |tag: &str, n: usize| -> Vec<String> { (0..n).map(|i| format!("{tag}{i}")).collect() };
        assert_eq!(names(&v["authors"]), first("f", 16));
        assert_eq!(names(&v["items"][0]["authors"]), first("a", 3));
        assert_eq!(names(&v["items"][1]["authors"]), first("b", 16));
        assert_eq!(v["items"][2]["id"], "3");
        // Tags and attachments too; other lists stay whole.
        let tags: Vec<String> = (0..30).map(|i| format!(r#""t{i}""#)).collect();
        let files: Vec<String> = (0..20)
            .map(|i| format!(r#"{{"url":"https://x.example/{i}","mime_type":"audio/mpeg"}}"#))
            .collect();
        let doc = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"t","hubs":[{0}],
            "items":[{{"id":"1","tags":[{0}],"attachments":[{1}],"_x":[{0}]}}]}}"#,
            tags.join(","),
            files.join(" ,\n ")
        );
        let out = cap_json_lists(doc.as_bytes(), 16).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let len = |a: &serde_json::Value| a.as_array().unwrap().len();
        assert_eq!(len(&v["items"][0]["tags"]), 16);
        assert_eq!(v["items"][0]["tags"][15], "t15");
        assert_eq!(len(&v["items"][0]["attachments"]), 16);
        assert_eq!(
            v["items"][0]["attachments"][15]["url"],
            "https://x.example/15"
        );
        assert_eq!((len(&v["hubs"]), len(&v["items"][0]["_x"])), (30, 30));
        // A key written twice: each list is cut (feed-rs builds the first
        // before it refuses the second).
        let twice = doc.replace(r#""tags":["#, r#""tags":[],"tags":["#);
        let out = String::from_utf8(cap_json_lists(twice.as_bytes(), 16).unwrap()).unwrap();
        assert!(out.contains(r#""tags":[],"tags":["t0","#), "{out}");
        assert!(out.contains(r#""t15"],"attachments""#), "{out}");
        let items = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[ITEMS],"items":[]}"#
            .replace("ITEMS", &(0..30).map(|i| format!(r#"{{"id":"{i}"}}"#)).collect::<Vec<_>>().join(","));
        let (out, cut) = keep_newest(items.as_bytes(), 10).unwrap();
        assert_eq!(cut, 20);
        assert_eq!(
            String::from_utf8(out).unwrap().matches(r#""id""#).count(),
            10
        );
        // A key written with escapes is the same key.
        let escaped = doc.replace(r#""tags""#, r#""t\u0061gs""#);
        let out = cap_json_lists(escaped.as_bytes(), 16).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(len(&v["items"][0]["tags"]), 16);
        // Nothing to cut, or not a JSON Feed it can read: left as it is.
        assert_eq!(cap_json_lists(doc.as_bytes(), 40), None);
        assert_eq!(
            cap_json_lists(br#"{"authors":[{"name":"a"}],"items":[]}"#, 16),
            None
        );
        assert_eq!(
            cap_json_lists(br#"{"authors": 3, "items": [1, {"authors": "x"}]}"#, 1),
            None
        );
    }

    #[test]
    fn json_feed_keeps_the_newest_items() {
        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
            {"id": "1", "date_published": "2024-01-01T00:00:00Z"},
            {"id": "2", "date_published": "2024-03-01T00:00:00Z", "tags": ["a", "b"]},
            {"id": "3"},
            {"id": "4", "date_modified": "2024-02-01T00:00:00Z"}
        ], "after": 1}"#;
        assert!(over_limit(json.as_bytes(), 3));
        let (out, cut) = keep_newest(json.as_bytes(), 2).unwrap();
        assert_eq!(cut, 2);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let ids: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["2", "4"]);
        assert_eq!(v["after"], 1);
    }

    /// A document whose tags do not balance (an end tag nothing opened, an
    /// element left open between entries, a missing `</item>`) is cut too:
    /// read whole, 540,000 tiny entries took 1 GB.
    #[test]
    fn documents_that_do_not_balance_are_cut_by_their_tags() {
        let entries = |n: usize, between: &str| -> String {
            (0..n)
                .map(|i| format!("<entry><id>{i}</id></entry>{between}"))
                .collect()
        };
        for (doc, what) in [
            (
                format!(
                    "<feed xmlns=\"http://www.w3.org/2005/Atom\">{}</b></feed>",
                    entries(30, "")
                ),
                "a stray end tag",
            ),
            (
                format!(
                    "<feed xmlns=\"http://www.w3.org/2005/Atom\">{}</feed>",
                    entries(30, "<br>")
                ),
                "elements left open",
            ),
            (
                format!(
                    "<rss version=\"2.0\"><channel>{}</channel></rss>",
                    (0..30)
                        .map(|i| format!("<item><guid>{i}</guid>"))
                        .collect::<String>()
                ),
                "missing end tags",
            ),
        ] {
            let (out, cut) = keep_newest(doc.as_bytes(), 10).unwrap_or_else(|| panic!("{what}"));
            let out = String::from_utf8(out).unwrap();
            assert_eq!(cut, 20, "{what}");
            let kept = out.matches("<entry>").count() + out.matches("<item>").count();
            assert_eq!(kept, 10, "{what}: {out}");
            assert!(
                out.contains(">0<") && out.contains(">9<") && !out.contains(">10<"),
                "{what}"
            );
        }
        // Entries a description quotes (CDATA) or a comment holds are no
        // entries: under the limit, nothing is cut (the cut began inside
        // the CDATA, and the feed failed).
        let quoted = format!(
            "<rss version=\"2.0\"><channel>{}<br><!-- <item>old</item> <item>old</item> --></channel></rss>",
            (0..4)
                .map(|i| format!("<item><guid>{i}</guid><description><![CDATA[<item>a</item><item>b</item>]]></description></item>"))
                .collect::<String>()
        );
        assert!(keep_newest(quoted.as_bytes(), 5).is_none());
        // One end tag far down does not end the cut early: everything up to
        // the container's end goes.
        let one_end = format!(
            "<rss version=\"2.0\"><channel>{}</item>{}</channel></rss>",
            (0..12)
                .map(|i| format!("<item><guid>{i}</guid>"))
                .collect::<String>(),
            (12..40)
                .map(|i| format!("<item><guid>{i}</guid>"))
                .collect::<String>()
        );
        let (out, cut) = keep_newest(one_end.as_bytes(), 10).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!((cut, out.matches("<item>").count()), (30, 10), "{out}");
        assert!(out.ends_with("</channel></rss>"), "{out}");
        // End tags that start like a container's (FeedBurner's origLink, a
        // channelId) end nothing; a prefixed Atom root does.
        let burner = format!(
            "<rss version=\"2.0\"><channel>{}</channel></rss>",
            (0..30)
                .map(|i| format!("<item><guid>{i}</guid><feedburner:origLink>u</feedburner:origLink><channelId>c</channelId></item><br>"))
                .collect::<String>()
        );
        let (out, cut) = keep_newest(burner.as_bytes(), 10).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!((cut, out.matches("<item>").count()), (20, 10), "{out}");
        assert!(out.ends_with("</channel></rss>"), "{out}");
        let prefixed = format!(
            "<atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\">{}</atom:feed>",
            (0..30)
                .map(|i| format!("<atom:entry><atom:id>{i}</atom:id></atom:entry><br>"))
                .collect::<String>()
        );
        let (out, _) = keep_newest(prefixed.as_bytes(), 10).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.ends_with("</atom:feed>"), "{out}");
    }

    #[test]
    fn items_of_a_second_channel_neither_count_nor_push_out_the_first() {
        let item = |g: u32, day: u32| {
            format!("<item><guid>{g}</guid><pubDate>0{day} Jan 2024 10:00:00 GMT</pubDate></item>")
        };
        // The first channel (the one feed-rs reads) holds two entries, older
        // than the three of a second channel: nothing to cut at max 2.
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>a</title>{}{}</channel>\
             <channel><title>b</title>{}{}{}</channel></rss>",
            item(1, 1),
            item(2, 2),
            item(3, 7),
            item(4, 8),
            item(5, 9)
        );
        assert!(keep_newest(xml.as_bytes(), 2).is_none());
        assert!(!would_cut(xml.as_bytes(), 2));
        // Over the limit in the first channel: its own newest stay, the
        // second channel is left as it is.
        let (out, cut) = keep_newest(xml.as_bytes(), 1).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(cut, 1);
        assert!(!out.contains("<guid>1</guid>") && out.contains("<guid>2</guid>"));
        assert!(out.contains("<guid>3</guid>") && out.contains("<guid>5</guid>"));
        // A channel nested in the first one's elements holds no entries either.
        let nested = format!(
            "<rss version=\"2.0\"><channel><title>a</title>{}<image><channel>{}{}</channel></image></channel></rss>",
            item(1, 1),
            item(2, 8),
            item(3, 9)
        );
        assert!(keep_newest(nested.as_bytes(), 1).is_none());
    }

    #[test]
    fn items_of_channels_after_the_first_are_counted_as_unread() {
        let one =
            "<rss version=\"2.0\"><channel><item/><item><title>x</title></item></channel></rss>";
        assert_eq!(unread_channel_items(one.as_bytes()), 0);
        let two = "<rss version=\"2.0\"><channel><item/></channel>\
                   <channel><title>b</title><item><title>y</title></item><item/>\
                   <image><item/></image></channel><channel/></rss>";
        assert_eq!(unread_channel_items(two.as_bytes()), 2);
        // A channel nested inside the first one's elements is not a channel
        // of the document; nor are channels under another root.
        let nested = "<rss version=\"2.0\"><channel><image><channel><item/></channel></image></channel></rss>";
        assert_eq!(unread_channel_items(nested.as_bytes()), 0);
        let atom = "<feed><channel><item/></channel><channel><item/></channel></feed>";
        assert_eq!(unread_channel_items(atom.as_bytes()), 0);
    }

    #[test]
    fn atom_entries_and_nested_items() {
        // An <item> inside an entry's content is not an entry.
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom">
<entry><id>1</id><updated>2024-01-01T00:00:00Z</updated><content type="xhtml"><item/><item>x</item></content></entry>
<entry><id>2</id><published>2024-03-01T00:00:00Z</published></entry>
<entry><id>3</id><updated>2024-02-01T00:00:00Z</updated></entry></feed>"#;
        let (out, cut) = keep_newest(xml.as_bytes(), 2).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(cut, 1);
        assert!(
            !out.contains("<id>1</id>") && out.contains("<id>2</id>") && out.contains("<id>3</id>")
        );
    }
}
