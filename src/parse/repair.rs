//! Repairs for faults feed-rs refuses outright. Each runs only after feed-rs
//! failed on a document, and returns a repaired copy (or `None` when the fault is
//! not there), so a document without the fault never pays for them.

/// The document with its `<rss>` root made one feed-rs reads: `version="2.0"`
/// when the root's version is one feed-rs does not recognise (missing, 0.93,
/// 0.94, 2.01, …: RSS 2.0 reads them all), and a `<channel>` around the root's
/// content when it has none (items straight under `<rss>`, as some generators
/// write). `None` when the root is something else, or neither applies.
pub(super) fn with_rss_repaired(text: &[u8]) -> Option<Vec<u8>> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_reader(text);
    loop {
        let start = reader.buffer_position() as usize;
        match reader.read_event().ok()? {
            Event::Start(root) => {
                if root.name().as_ref() != "rss" {
                    return None;
                }
                let known = ["2.0", "", "0.91", "0.92"];
                let version = root.try_get_attribute("version").ok()?;
                let bad_version = !version.is_some_and(|v| known.contains(&v.value.as_ref()));
                let end = reader.buffer_position() as usize;
                let close = memchr::memmem::rfind(text, b"</rss").filter(|c| *c >= end);
                let no_channel =
                    close.is_some() && memchr::memmem::find(&text[end..], b"<channel").is_none();
                if !bad_version && !no_channel {
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
                let mut out = Vec::with_capacity(text.len() + 32);
                out.extend_from_slice(&text[..start]);
                out.push(b'<');
                out.extend_from_slice(tag.as_bytes());
                out.push(b'>');
                match close.filter(|_| no_channel) {
                    Some(close) => {
                        out.extend_from_slice(b"<channel>");
                        out.extend_from_slice(&text[end..close]);
                        out.extend_from_slice(b"</channel>");
                        out.extend_from_slice(&text[close..]);
                    }
                    None => out.extend_from_slice(&text[end..]),
                }
                return Some(out);
            }
            Event::Eof | Event::Empty(_) => return None,
            _ => {}
        }
    }
}

/// The document with every `&` that starts no entity or character reference
/// escaped (outside CDATA sections and comments). `None` when there is none.
pub(super) fn with_bare_ampersands_escaped(text: &[u8]) -> Option<Vec<u8>> {
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

/// The document with every `<` that cannot start markup (one followed by a
/// space, a digit, `=`, `<`, a symbol such as `€` or `“`, `</ `, `<? `, `<!!`
/// …: `Why a < b matters`) escaped, as an HTML parser
/// reads it, outside CDATA sections and comments. XML's reader took `< b
/// matters</title>…` for a tag and the item lost its guid, link, date and text
/// without an error, so this runs on every document: one look per `<`.
/// `None` when there is none.
pub(super) fn with_bare_lt_escaped(text: &[u8]) -> Option<Vec<u8>> {
    // A name starts with a letter (any script), `_` or `:`; `€`, `“`, `—`
    // and `«` start none.
    let name_start = |rest: &[u8]| match rest.first() {
        Some(&b) if b < 0x80 => b.is_ascii_alphabetic() || b == b'_' || b == b':',
        Some(_) => (1..=rest.len().min(4))
            .rev()
            .find_map(|n| std::str::from_utf8(&rest[..n]).ok())
            .and_then(|s| s.chars().next())
            .is_some_and(char::is_alphabetic),
        None => false,
    };
    // Markup: a tag (`<a`), an end tag (`</a`), a processing instruction
    // (`<?xml`), a declaration or comment (`<!DOCTYPE`, `<!--`, `<![`).
    let starts_markup = |rest: &[u8]| match rest.first() {
        // (A NUL: the text is UTF-32 read as UTF-16, or the like, which the
        // parser reads its own way; left as it is.)
        Some(0) => true,
        Some(b'/' | b'?') => name_start(&rest[1..]),
        Some(b'!') => {
            matches!(rest.get(1), Some(b'-' | b'['))
                || rest.get(1).is_some_and(u8::is_ascii_alphabetic)
        }
        _ => name_start(rest),
    };
    let mut out: Option<Vec<u8>> = None;
    let (mut copied, mut at) = (0, 0);
    while let Some(lt) = memchr::memchr(b'<', &text[at..]).map(|i| at + i) {
        let rest = &text[lt..];
        let skip_to = |end: &[u8]| memchr::memmem::find(rest, end).map(|i| lt + i + end.len());
        if rest.starts_with(b"<![CDATA[") || rest.starts_with(b"<!--") {
            let end: &[u8] = if rest[2] == b'[' { b"]]>" } else { b"-->" };
            match skip_to(end) {
                Some(next) => {
                    at = next;
                    continue;
                }
                // Unclosed: the reader fails on it anyway.
                None => break,
            }
        }
        if !starts_markup(&rest[1..]) {
            let o = out.get_or_insert_with(|| Vec::with_capacity(text.len() + 64));
            o.extend_from_slice(&text[copied..lt]);
            o.extend_from_slice(b"&lt;");
            copied = lt + 1;
        }
        at = lt + 1;
    }
    let mut o = out?;
    o.extend_from_slice(&text[copied..]);
    Some(o)
}

/// An RSS document whose `<item>`s follow its one `<channel>` (`…</channel>
/// <item>…</item></rss>`, as broken generators write) with the channel's end
/// moved after them, so they are its items: feed-rs read none, and the fetch
/// was an `ok` that yielded nothing. `None` when there is no such item.
pub(super) fn with_items_after_channel_moved_in(text: &[u8]) -> Option<Vec<u8>> {
    const END: &[u8] = b"</channel>";
    // (The short tail first: most documents end `</channel></rss>`.)
    let close = memchr::memmem::rfind(text, END)?;
    let root_end = memchr::memmem::rfind(text, b"</rss")?;
    let after = &text[close + END.len()..root_end.max(close + END.len())];
    let item = memchr::memmem::find(after, b"<item")?;
    if !matches!(
        after.get(item + 5),
        Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')
    ) {
        return None;
    }
    if memchr::memmem::find_iter(text, b"<channel")
        .nth(1)
        .is_some()
    {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    out.extend_from_slice(&text[..close]);
    out.extend_from_slice(after);
    out.extend_from_slice(END);
    out.extend_from_slice(&text[root_end..]);
    Some(out)
}

/// An RSS 2.0 document whose `<item>`s are wrapped in an `<items>` element
/// inside the channel (`<channel>…<items><item>…</item></items>`), with the
/// wrapper's tags taken out, so they are the channel's items: feed-rs read
/// none, and the fetch was an `ok` that yielded nothing. `None` when no
/// `<items>` comes before the first `<item>`. (RSS 1.0's `<items>` is an
/// `rdf:Seq` of references beside items outside the channel: not asked.)
pub(super) fn without_items_wrapper(text: &[u8]) -> Option<Vec<u8>> {
    const OPEN: &[u8] = b"<items>";
    const CLOSE: &[u8] = b"</items>";
    let wrapper = memchr::memmem::find(text, OPEN)?;
    let item = memchr::memmem::find_iter(text, b"<item").find(|&at| {
        matches!(
            text.get(at + 5),
            Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')
        )
    })?;
    if item < wrapper {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut from = 0;
    for at in memchr::memmem::find_iter(text, OPEN)
        .chain(memchr::memmem::find_iter(text, CLOSE))
        .collect::<std::collections::BTreeSet<_>>()
    {
        if at < from {
            continue;
        }
        out.extend_from_slice(&text[from..at]);
        from = at
            + if text[at..].starts_with(OPEN) {
                OPEN.len()
            } else {
                CLOSE.len()
            };
    }
    out.extend_from_slice(&text[from..]);
    Some(out)
}

/// The document with every `<item>…</item>` moved to where its dialect reads
/// items: before the end of the root (RSS 1.0 and 0.90, `rdf:RDF`) or of the
/// first channel (RSS 2.0). Items written inside an RDF `<channel>`, in an
/// `<items>` wrapper, or in a second `<channel>` were read by no one, and
/// the fetch was an `ok` with fewer stories (none). `None` when no item has
/// its end tag, or when moving changes nothing. Callers keep the result only
/// when feed-rs reads more entries from it.
pub(super) fn with_items_lifted(text: &[u8], rdf: bool) -> Option<Vec<u8>> {
    // (Tags outside comments and CDATA only: an item a feed's author
    // commented out was published, and a `</item>` quoted in CDATA ended one.)
    // (Also outside processing instructions and the DOCTYPE, and before the
    // root's end: items written there were invented into stories. An end
    // tag with white space before its `>`, and RSS 1.0's `rss:` prefix, are
    // end tags and items too: such items stayed unread.)
    let mut spans = Vec::new();
    let (mut open, mut first_channel_end, mut last_end_tag, mut root_end) =
        (None, None, None, None);
    for at in markup_starts(text) {
        let rest = &text[at..];
        if rest.starts_with(b"</") {
            last_end_tag = Some(at);
            // (The first: a second document after the first's end, two
            // concatenated, is no part of it.)
            if root_end.is_none()
                && end_tag(rest, b"rss")
                    .or(end_tag(rest, b"rdf:RDF"))
                    .is_some()
            {
                root_end = Some(at);
            }
        }
        let item_start = [&b"<item"[..], b"<rss:item"].into_iter().any(|t| {
            rest.starts_with(t)
                && matches!(
                    rest.get(t.len()),
                    Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')
                )
        });
        let item_end = end_tag(rest, b"item").or(end_tag(rest, b"rss:item"));
        if open.is_none() && item_start {
            open = Some(at);
        } else if let (Some(start), Some(len)) = (open, item_end) {
            spans.push((start, at + len));
            open = None;
        } else if first_channel_end.is_none() && rest.starts_with(b"</channel") {
            first_channel_end = Some(at);
        }
    }
    let root_end = root_end.or(last_end_tag)?;
    // Where they go: before the root's end tag (every item, in order), or
    // before the first channel's end (the items after it, before the root's
    // end).
    let (to, moved): (usize, Vec<&(usize, usize)>) = if rdf {
        let to = root_end;
        (to, spans.iter().filter(|(_, e)| *e <= to).collect())
    } else {
        let to = first_channel_end?;
        (
            to,
            spans
                .iter()
                .filter(|(a, e)| *a > to && *e <= root_end)
                .collect(),
        )
    };
    if moved.is_empty() || spans.iter().any(|(a, e)| *a < to && *e > to) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut copied = 0;
    if rdf {
        for (a, e) in &moved {
            out.extend_from_slice(&text[copied..*a]);
            copied = *e;
        }
        out.extend_from_slice(&text[copied..to]);
        for (a, e) in &moved {
            out.extend_from_slice(&text[*a..*e]);
        }
        out.extend_from_slice(&text[to..]);
    } else {
        out.extend_from_slice(&text[..to]);
        for (a, e) in &moved {
            out.extend_from_slice(&text[*a..*e]);
        }
        copied = to;
        for (a, e) in &moved {
            out.extend_from_slice(&text[copied..*a]);
            copied = *e;
        }
        out.extend_from_slice(&text[copied..]);
    }
    (out != text).then_some(out)
}

/// Where each `<` that starts markup is: outside CDATA sections and comments
/// (one left open runs to the end).
fn markup_starts(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let i = at + memchr::memchr(b'<', text.get(at..)?)?;
            match literal_end(text, i) {
                Some(end) => at = end,
                None => {
                    at = i + 1;
                    return Some(i);
                }
            }
        }
    })
}

/// The length of the end tag `</NAME>` at the start of `rest`, white space
/// before its `>` allowed (`</item >`, `</item\n>`); `None` for any other.
fn end_tag(rest: &[u8], name: &[u8]) -> Option<usize> {
    let after = rest.strip_prefix(b"</")?.strip_prefix(name)?;
    let spaces = after
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    (after.get(spaces) == Some(&b'>')).then_some(2 + name.len() + spaces + 1)
}

/// Where the CDATA section, comment, processing instruction or DOCTYPE
/// (its internal subset with it) that starts at `i` ends (the end of the
/// text for one left open); `None` when none starts there.
fn literal_end(text: &[u8], i: usize) -> Option<usize> {
    let (n, close) = if text[i..].starts_with(b"<![CDATA[") {
        (9, &b"]]>"[..])
    } else if text[i..].starts_with(b"<!--") {
        (4, &b"-->"[..])
    } else if text[i..].starts_with(b"<?") {
        (2, &b"?>"[..])
    } else if text[i..].len() >= 9 && text[i..i + 9].eq_ignore_ascii_case(b"<!DOCTYPE") {
        // (An internal subset's entity values may hold any markup.)
        let head_end = memchr::memchr(b'>', &text[i..]).map_or(text.len(), |j| i + j);
        match memchr::memchr(b'[', &text[i..head_end]) {
            Some(_) => (9, &b"]>"[..]),
            None => return Some((head_end + 1).min(text.len())),
        }
    } else {
        return None;
    };
    Some(
        memchr::memmem::find(&text[i + n..], close).map_or(text.len(), |j| i + n + j + close.len()),
    )
}

/// The document with each HTML named reference written raw in it (`&Scaron;`,
/// `&hellip;`: not XML's, but common in feeds) replaced by its numeric one
/// (`&#x160;`), from html5ever's table; outside CDATA sections and comments,
/// where `&` is text. The XML reader resolved them from quick-xml's table,
/// which gives wrong characters for ~440 names ("&Scaron;koda" read "koda").
/// `None` when there is none (XML's five and numeric references stay).
pub(super) fn with_html_entities_numbered(text: &[u8]) -> Option<Vec<u8>> {
    // (The name of the reference at `at`, when it is one to replace.)
    let named = |at: usize| -> Option<(usize, String)> {
        let rest = &text[at + 1..text.len().min(at + 34)];
        let end = memchr::memchr(b';', rest)?;
        let name = std::str::from_utf8(&rest[..end]).ok()?;
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric())
            || matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
        {
            return None;
        }
        let value = super::text::named_entity(name)?;
        let mut refs = String::new();
        for c in value.chars() {
            refs.push_str(&format!("&#x{:X};", c as u32));
        }
        Some((end + 2, refs))
    };
    // (Most bodies have none: one look at each `&` says so.)
    memchr::memchr_iter(b'&', text).find(|&at| named(at).is_some())?;
    // One pass, skipping CDATA sections and comments, where `&` is text (a
    // section left open runs to the end).
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(i) = memchr::memchr2(b'&', b'<', &text[at..]).map(|i| at + i) {
        if text[i] == b'<' {
            at = literal_end(text, i).unwrap_or(i + 1);
            continue;
        }
        match named(i) {
            Some((len, refs)) => {
                let o = out.get_or_insert_with(|| Vec::with_capacity(text.len() + 64));
                o.extend_from_slice(&text[copied..i]);
                o.extend_from_slice(refs.as_bytes());
                copied = i + len;
                at = i + len;
            }
            None => at = i + 1,
        }
    }
    let mut out = out?;
    out.extend_from_slice(&text[copied..]);
    Some(out)
}

/// How deep elements may nest in a document feed-rs reads (its XML reader
/// refuses one nested deeper).
const MAX_DEPTH: usize = 65_535;

/// The document with its end tags balanced, as an HTML parser would: an end
/// tag that closes nothing open is dropped, one that closes an element further
/// up first closes those opened inside it. `None` when there is none to fix,
/// and for a document cut short (inside a tag or a CDATA section, or with
/// elements still open at its end): that is a fetch gone wrong, and salvaging
/// it would store a half entry and the validators of a body never seen whole.
/// Also `None` past [`MAX_DEPTH`] open elements: feed-rs refuses such a
/// document however its tags balance.
pub(super) fn with_tags_balanced(text: &[u8]) -> Option<Vec<u8>> {
    let (out, changed, _) = rebalanced(text, false)?;
    changed.then_some(out)
}

/// An Atom feed whose entries are written as RSS items (`<item>…</item>`
/// under `<feed>`, no `<entry>` anywhere) with the items renamed entries, as
/// feedparser reads it: it was an `ok` fetch that read nothing. `None` when
/// the text has an `<entry` or no `<item`.
pub(super) fn with_items_as_entries(text: &[u8]) -> Option<Vec<u8>> {
    let tag_end = |b: Option<&u8>| matches!(b, Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/'));
    if memchr::memmem::find_iter(text, b"<entry").any(|at| tag_end(text.get(at + 6))) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() + 64);
    let mut from = 0;
    for at in memchr::memchr_iter(b'<', text) {
        let rest = &text[at..];
        let (len, with) = if rest.starts_with(b"<item") && tag_end(rest.get(5)) {
            (5, &b"<entry"[..])
        } else if rest.starts_with(b"</item") && tag_end(rest.get(6)) {
            (6, &b"</entry"[..])
        } else {
            continue;
        };
        out.extend_from_slice(&text[from..at]);
        out.extend_from_slice(with);
        from = at + len;
    }
    if from == 0 {
        return None;
    }
    out.extend_from_slice(&text[from..]);
    Some(out)
}

/// How many entry start tags (`<item>`, `<entry …>`, unprefixed) the text
/// holds: more than feed-rs read means some sat inside an element left open
/// (see [`with_entries_unnested`]). A raw `<item>` inside a CDATA section
/// counts too; the repair then finds nothing to do.
pub(super) fn entry_tags(text: &[u8]) -> usize {
    let mut n = 0;
    for needle in [&b"<item"[..], b"<rss:item", b"<entry", b"<atom:entry"] {
        for at in memchr::memmem::find_iter(text, needle) {
            if matches!(
                text.get(at + needle.len()),
                Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')
            ) {
                n += 1;
            }
        }
    }
    n
}

/// The document with every entry (`item`, `entry`) moved out of an element
/// left open before it, as an HTML parser reads a new list item: the elements
/// opened inside its channel, feed or root since (a stray `<br>` or `<p>`, a
/// PHP warning's markup, an entry whose end tag is missing) are closed just
/// before it. Also balances the end tags as [`with_tags_balanced`] does.
/// feed-rs took every later entry for a child of that element and read none
/// of them, and the fetch was an `ok`. `None` when no entry is inside another
/// element, for a document cut short, and for one whose tags balance (unless
/// `balanced`: they were balanced by [`with_tags_balanced`]): there an entry
/// inside another element was written so (an Atom `<source>` may hold one),
/// not left there by a fault.
pub(super) fn with_entries_unnested(text: &[u8], balanced: bool) -> Option<Vec<u8>> {
    if !balanced {
        with_tags_balanced(text)?;
    }
    let (out, _, moved) = rebalanced(text, true)?;
    moved.then_some(out)
}

/// The document with its end tags balanced ([`with_tags_balanced`]) and,
/// with `unnest`, its entries moved out of HTML left open
/// ([`with_entries_unnested`]); whether either changed it. `None` for a
/// document cut short or nested past [`MAX_DEPTH`].
fn rebalanced(text: &[u8], unnest: bool) -> Option<(Vec<u8>, bool, bool)> {
    use quick_xml::events::Event;
    fn local(name: &[u8]) -> &[u8] {
        name.rsplit(|b| *b == b':').next().unwrap_or(name)
    }
    // (Unprefixed, or Atom's: `content:item` of RSS 1.0's mod_content is
    // no entry.)
    let is_entry = |name: &[u8]| {
        matches!(local(name), b"item" | b"entry")
            && (!name.contains(&b':') || name.starts_with(b"atom:"))
    };
    // What a server or a template leaves open between entries: HTML (a
    // PHP warning's `<br /><b>`, a stray `<p>`). An entry inside anything
    // else (a `<source>`, GData's `<gd:entryLink>`, XML content) was
    // written there, and stays.
    let is_stray = |name: &[u8]| {
        const HTML: &[&[u8]] = &[
            b"br",
            b"p",
            b"b",
            b"i",
            b"u",
            b"s",
            b"em",
            b"strong",
            b"font",
            b"span",
            b"div",
            b"a",
            b"hr",
            b"img",
            b"table",
            b"thead",
            b"tbody",
            b"tfoot",
            b"tr",
            b"td",
            b"th",
            b"center",
            b"small",
            b"big",
            b"pre",
            b"code",
            b"ul",
            b"ol",
            b"li",
            b"dl",
            b"dt",
            b"dd",
            b"h1",
            b"h2",
            b"h3",
            b"h4",
            b"h5",
            b"h6",
            b"blockquote",
            b"section",
            b"article",
            b"figure",
            b"figcaption",
            b"header",
            b"footer",
            b"main",
            b"nav",
            b"aside",
            b"nobr",
            b"sup",
            b"sub",
            b"abbr",
            b"label",
            b"html",
            b"body",
            b"head",
            b"meta",
            b"form",
            b"input",
            b"button",
            b"select",
            b"option",
            b"tt",
            b"kbd",
            b"mark",
            b"o:p",
            b"wbr",
            b"q",
            b"cite",
            b"del",
            b"ins",
            b"strike",
        ];
        HTML.iter().any(|h| h.eq_ignore_ascii_case(name))
    };
    let is_container = |name: &[u8]| matches!(local(name), b"channel" | b"feed" | b"RDF" | b"rss");
    let mut reader = quick_xml::Reader::from_reader(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    let mut out = Vec::with_capacity(text.len() + 64);
    let mut copied = 0;
    // The open elements' names, as ranges of `text` (two words each, however
    // long the name).
    let mut open: Vec<(usize, usize)> = Vec::new();
    // Where entries and containers are in `open` (ascending): their end tags
    // are looked for there too, past any number of elements left open.
    let mut marks: Vec<usize> = Vec::new();
    let (mut moved, mut changed) = (false, false);
    let close = |out: &mut Vec<u8>, (from, to): (usize, usize)| {
        out.extend_from_slice(b"</");
        out.extend_from_slice(&text[from..to]);
        out.push(b'>');
    };
    let offset = |s: &[u8]| super::defuse::offset_in(text, s);
    loop {
        let start = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name();
                let name: &str = name.as_ref();
                let name = name.as_bytes();
                if unnest && is_entry(name) {
                    // The innermost open entry or container: an entry closes
                    // with whatever it holds; a container keeps the entry.
                    let keep = open
                        .iter()
                        .rposition(|&(f, t)| is_entry(&text[f..t]) || is_container(&text[f..t]));
                    if let Some(k) = keep {
                        let (f, t) = open[k];
                        // (An RSS item never holds another: one left open
                        // closes with whatever it holds, a `<media:group>`
                        // left open too.)
                        let items = name == b"item" && &text[f..t] == b"item";
                        let strays =
                            items || open[k + 1..].iter().all(|&(f, t)| is_stray(&text[f..t]));
                        // An entry whose end tag is missing closes; a
                        // container keeps the entry, past the strays.
                        let upto = if is_entry(&text[f..t]) { k } else { k + 1 };
                        if strays && upto < open.len() {
                            out.extend_from_slice(&text[copied..start]);
                            for inner in open.drain(upto..).rev() {
                                close(&mut out, inner);
                            }
                            copied = start;
                            moved = true;
                        }
                    }
                }
                let from = offset(name)?;
                while marks.last().is_some_and(|&m| m >= open.len()) {
                    marks.pop();
                }
                if is_entry(name) || is_container(name) {
                    marks.push(open.len());
                }
                open.push((from, from + name.len()));
                if open.len() > MAX_DEPTH {
                    return None;
                }
            }
            Ok(Event::End(e)) => {
                let name = e.name();
                let name: &str = name.as_ref();
                let name = name.as_bytes();
                // Looked for among the innermost 64 only: keeps hostile
                // nesting linear.
                // (An entry's or a container's anywhere: 64 stray `<b>`s
                // left open after an entry failed the whole document.)
                while marks.last().is_some_and(|&m| m >= open.len()) {
                    marks.pop();
                }
                let found = open
                    .iter()
                    .rev()
                    .take(64)
                    .position(|&(from, to)| &text[from..to] == name)
                    .map(|back| open.len() - 1 - back)
                    .or_else(|| {
                        marks
                            .iter()
                            .rev()
                            .take(64)
                            .find(|&&m| &text[open[m].0..open[m].1] == name)
                            .copied()
                    });
                match found {
                    Some(i) if i + 1 == open.len() => {
                        open.pop();
                    }
                    Some(i) => {
                        out.extend_from_slice(&text[copied..start]);
                        for inner in open.drain(i + 1..).rev() {
                            close(&mut out, inner);
                        }
                        open.pop();
                        copied = start;
                        changed = true;
                    }
                    None => {
                        out.extend_from_slice(&text[copied..start]);
                        copied = reader.buffer_position() as usize;
                        changed = true;
                    }
                }
            }
            Ok(Event::Eof) if open.is_empty() => break,
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    out.extend_from_slice(&text[copied..]);
    Some((out, changed, moved))
}

/// Runs feed-rs on `doc`, never letting it panic. feed-rs 3.0 panics (a byte
/// index inside a character) on a person field (RSS author, managingEditor,
/// webMaster, dc:creator; a JSON Feed author name) whose e-mail address touches
/// a non-ASCII character, as in "編集部（info@example.jp）": such a document gets
/// one more try with a space on either side of those addresses. Any other panic
/// is this feed's error, not the caller's. Neither is printed on stderr (a
/// daemon's journal showed "thread panicked" and a backtrace on every poll of
/// such a feed): see [`quiet_panics`].
pub(super) fn guarded(
    doc: &[u8],
    parse: impl Fn(&[u8]) -> Result<feed_rs::model::Feed, feed_rs::parser::ParseFeedError>,
) -> Result<feed_rs::model::Feed, feed_rs::parser::ParseFeedError> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    quiet_panics();
    let run = |d: &[u8]| {
        IN_PARSER.set(true);
        let result = catch_unwind(AssertUnwindSafe(|| parse(d)));
        IN_PARSER.set(false);
        result
    };
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

thread_local! {
    /// True while this thread runs feed-rs inside [`guarded`].
    static IN_PARSER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs, once, a panic hook that leaves out the panics [`guarded`]
/// catches (logged at debug level instead) and hands every other panic to the
/// hook that was there before.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_PARSER.get() {
                tracing::debug!(panic = %info, "the feed parser panicked (handled)");
            } else {
                previous(info);
            }
        }));
    });
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

/// The prefix a document binds Dublin Core's namespace to (`dc` when it
/// binds none: feeds write `dc:` without declaring it too).
fn dublin_core_prefix(text: &[u8]) -> Vec<u8> {
    const NS: &[u8] = b"\"http://purl.org/dc/elements/1.1/\"";
    let Some(at) = memchr::memmem::find(text, NS) else {
        return b"dc".to_vec();
    };
    // `xmlns:PREFIX=` just before it.
    let head = text[..at]
        .trim_ascii_end()
        .strip_suffix(b"=")
        .unwrap_or(&[]);
    let start = head
        .iter()
        .rposition(|c| c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    match head[start..].strip_prefix(b"xmlns:") {
        Some(p)
            if !p.is_empty()
                && p.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-')) =>
        {
            p.to_vec()
        }
        _ => b"dc".to_vec(),
    }
}

/// The document without the date elements of RSS (`<pubDate>`, Dublin
/// Core's `<dc:date>`) that hold no date: empty, or text no date reads
/// from. feed-rs sets an item's date from each such element in turn, so an
/// empty `<dc:date/>` or a `<dc:date>garbage</dc:date>` after a good
/// `<pubDate>` left the item undated (published as first seen, today, for
/// an article of 2024). `None` when none is found.
pub(super) fn without_empty_dates(text: &[u8]) -> Option<Vec<u8>> {
    let mut cut: Vec<(usize, usize)> = Vec::new();
    // (Dublin Core under the prefix the document binds it to, `dcx:`, too.)
    let dc = dublin_core_prefix(text);
    let dc_date = [dc.as_slice(), b":date"].concat();
    for name in [&b"pubDate"[..], &dc_date] {
        for at in memchr::memmem::find_iter(text, &[b"<", name].concat()) {
            let after = at + 1 + name.len();
            match text.get(after) {
                // `<pubDate/>`, `<pubDate />`.
                Some(b'/') => cut.push((at, after + 2)),
                Some(b' ' | b'\t' | b'\r' | b'\n')
                    if text[after..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'/') =>
                {
                    let end = after + memchr::memchr(b'>', &text[after..]).map_or(0, |i| i + 1);
                    cut.push((at, end));
                }
                Some(b'>') => {
                    let close = [b"</", name, b">"].concat();
                    let Some(len) = memchr::memmem::find(&text[after + 1..], &close) else {
                        continue;
                    };
                    let inner = &text[after + 1..after + 1 + len];
                    // (A CDATA section is read for its text; other markup
                    // or a reference inside is left to feed-rs.)
                    let trimmed = inner.trim_ascii();
                    let inner = trimmed
                        .strip_prefix(b"<![CDATA[")
                        .and_then(|i| i.strip_suffix(b"]]>"))
                        .unwrap_or(inner);
                    if inner.contains(&b'<') || inner.contains(&b'&') {
                        continue;
                    }
                    // (A placeholder, the epoch or year 1, is no date either:
                    // after a good one, it undid it.)
                    let readable = std::str::from_utf8(inner)
                        .ok()
                        .and_then(super::dates::parse)
                        .is_some_and(|d| super::plausible(&d));
                    if !readable {
                        cut.push((at, after + 1 + len + close.len()));
                    }
                }
                _ => {}
            }
        }
    }
    if cut.is_empty() {
        return None;
    }
    cut.sort_unstable();
    let mut out = Vec::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in cut {
        if start < from {
            continue;
        }
        out.extend_from_slice(&text[from..start]);
        from = end.min(text.len());
    }
    out.extend_from_slice(&text[from..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_tags_are_balanced_as_far_as_feed_rs_reads() {
        // An end tag that closes an element further up closes those inside
        // it first; one that closes nothing goes.
        let out = with_tags_balanced(b"<rss><channel><item><b>x</item></i></channel></rss>");
        assert_eq!(
            out.as_deref(),
            Some(&b"<rss><channel><item><b>x</b></item></channel></rss>"[..])
        );
        // Names are kept as written, prefixes included.
        let out = with_tags_balanced(b"<a:feed><a:entry><x:y></a:entry></a:feed>").unwrap();
        assert_eq!(out, b"<a:feed><a:entry><x:y></x:y></a:entry></a:feed>");
        assert_eq!(with_tags_balanced(b"<rss><channel/></rss>"), None);
        // Deeper than feed-rs reads: no repair (and no name kept per level).
        let deep = "<x>".repeat(MAX_DEPTH + 1) + "</y>" + &"</x>".repeat(MAX_DEPTH + 1);
        assert_eq!(with_tags_balanced(deep.as_bytes()), None);
        let within = "<x>".repeat(1000) + "</y>" + &"</x>".repeat(1000);
        let out = with_tags_balanced(within.as_bytes()).unwrap();
        assert_eq!(out.len(), within.len() - 4);
    }
}
