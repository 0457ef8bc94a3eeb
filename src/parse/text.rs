//! Text: which bytes feed-rs sees (character encodings) and what feedloom makes
//! of the text it returns (HTML entities, tags, C1 controls, length bounds). Pure;
//! nothing here knows about feed formats.

use std::borrow::Cow;

/// C1 control characters read as the windows-1252 characters they almost always
/// stand for (`&#146;` or a UTF-8 U+0092 written for ’), as browsers and
/// feedparser do.
pub(crate) fn c1_as_windows_1252(s: &str) -> Cow<'_, str> {
    // U+0080..U+009F are 0xC2 0x80..0x9F in UTF-8: look for the lead byte only.
    let has_c1 = memchr::memchr_iter(0xC2, s.as_bytes()).any(|i| {
        s.as_bytes()
            .get(i + 1)
            .is_some_and(|b| (0x80..=0x9f).contains(b))
    });
    if !has_c1 {
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

/// Plain text from an HTML fragment: tags dropped, HTML entities decoded. As in
/// HTML, `<` opens a tag only before a letter, `/`, `!` or `?` (so "1 < 2" stays
/// text), and a `>` inside a quoted attribute value does not close the tag.
pub fn strip_tags(s: &str) -> String {
    stripped(s, true)
}

/// [`strip_tags`] as feedloom read titles before 2026-12-05: no space
/// where a line or block tag stood. Titles are part of items' keys and
/// hashes: read otherwise, a title with a `<br>` stored its entry again.
pub(crate) fn strip_tags_as_stored(s: &str) -> String {
    stripped(s, false)
}

fn stripped(s: &str, spaced: bool) -> String {
    // What a `<script>` or `<style>` holds is never text a reader sees: a
    // title `safe<script>location.href=…</script> description` read
    // "safelocation.href=…; description". (Looked for only when named.)
    static HIDDEN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?is)<script\b[^>]*>.*?(?:</script\s*>|\z)|<style\b[^>]*>.*?(?:</style\s*>|\z)",
        )
        .expect("valid")
    });
    let b = s.as_bytes();
    let hides = memchr::memchr_iter(b'<', b).any(|at| {
        let rest = &b[at + 1..];
        [&b"script"[..], b"style"]
            .iter()
            .any(|n| rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n))
    });
    let s: std::borrow::Cow<'_, str> = match hides {
        true => HIDDEN.replace_all(s, ""),
        false => std::borrow::Cow::Borrowed(s),
    };
    let s = s.as_ref();
    // Tags that end a line or a block: a space where one stood, so that
    // words on either side do not run together ("line<br>next").
    const BREAKS: &[&str] = &[
        "br",
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "aside",
        "nav",
        "main",
    ];
    let mut text = String::with_capacity(s.len());
    let (mut in_tag, mut quote, mut after_eq) = (false, None, false);
    // The tag's name as far as read (`/` aside), and whether it is done.
    let (mut name, mut named) = (String::new(), false);
    // A line or block ended: a space before the next text.
    let mut pending_space = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if !in_tag {
            let opens = c == '<'
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
            if opens {
                in_tag = true;
                name.clear();
                named = false;
            } else {
                if pending_space
                    && !c.is_whitespace()
                    && text.chars().next_back().is_some_and(|l| !l.is_whitespace())
                {
                    text.push(' ');
                }
                pending_space = false;
                text.push(c);
            }
            continue;
        }
        if !named {
            if c.is_ascii_alphanumeric() {
                if name.len() < 16 {
                    name.push(c.to_ascii_lowercase());
                }
            } else if !(c == '/' && name.is_empty()) {
                named = true;
            }
        }
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if after_eq => quote = Some(c),
            (None, '>') => {
                in_tag = false;
                pending_space |= spaced && BREAKS.contains(&name.as_str());
            }
            _ => {}
        }
        if !c.is_whitespace() {
            after_eq = c == '=';
        }
    }
    decode_entities(&text)
}

/// A plain-text title (RSS, JSON Feed) without the inline formatting tags
/// that wrap part of it, `<em>Dune</em> review`, `Q&A: <i>Oppenheimer</i>`:
/// a tag of [`FORMATTING`] and its closing tag are left out when they
/// enclose text that starts and ends right inside them (its entities were
/// read as HTML, its tags were shown as written: `<em>Dune: Part Two</em>
/// review`). A `<sup>` of digits is written in superscript digits (`E=mc²`).
/// Anything else stays as written: `Vec<T> & slices`, `Why <b> is bold`,
/// `The <b> and </b> tags explained`, `Use <code></code>`.
pub(crate) fn without_formatting_tags(s: &str) -> Cow<'_, str> {
    if !s.contains("</") {
        return Cow::Borrowed(s);
    }
    // Each tag of those names: (start, end, name, closing).
    let mut tags: Vec<(usize, usize, &'static str, bool)> = Vec::new();
    for (at, _) in s.match_indices('<') {
        let rest = &s[at + 1..];
        let (closing, rest) = match rest.strip_prefix('/') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let name = rest[..name_len].to_ascii_lowercase();
        let Some(known) = FORMATTING.iter().find(|f| **f == name) else {
            continue;
        };
        let after = &rest[name_len..];
        // `<em>`, `</em >`, `<span class="x">`: no other `<` before its `>`.
        let Some(close) = after.find('>') else {
            continue;
        };
        let inside = &after[..close];
        let fits = match closing {
            true => inside.trim().is_empty(),
            false => {
                (inside.is_empty() || inside.starts_with(|c: char| c.is_ascii_whitespace()))
                    && !inside.contains('<')
            }
        };
        if fits {
            let end = at + 1 + usize::from(closing) + name_len + close + 1;
            tags.push((at, end, known, closing));
        }
    }
    // Each closing tag with the last open one of its name before it.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        if !t.3 {
            open.push(i);
            continue;
        }
        let Some(k) = open.iter().rposition(|&o| tags[o].2 == t.2) else {
            continue;
        };
        let o = tags[open.remove(k)];
        let inner = &s[o.1..t.0];
        // (Text right inside at one edge at least: `<strong>UPDATE </strong>`
        // is an editor's; `The <b> and </b> tags` talks about them.)
        let tight = !inner.trim().is_empty()
            && (!inner.starts_with(char::is_whitespace) || !inner.ends_with(char::is_whitespace));
        if !tight {
            continue;
        }
        // An exponent of digits (and a sign) in superscript digits, `E=mc²`,
        // `10⁻³`; any other `<sup>` (`4<sup>th</sup>`, `XIV<sup>e</sup>`,
        // `Brand<sup>®</sup>`) only unwrapped.
        let exponent = |c: char| {
            const SUPER: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
            match c {
                '0'..='9' => Some(SUPER[c as usize - '0' as usize]),
                '-' | '\u{2212}' => Some('⁻'),
                '+' => Some('⁺'),
                _ => None,
            }
        };
        // An ordinal's or an abbreviation's letters, a mark (`4<sup>th</sup>`,
        // `XIV<sup>e</sup>`, `Brand<sup>®</sup>`) read unwrapped; any other
        // `<sup>` (`2<sup>n+1</sup>`) stays as written: unwrapped, it read
        // `2n+1`.
        let plain_sup = |inner: &str| {
            matches!(
                inner.to_lowercase().as_str(),
                "st" | "nd"
                    | "rd"
                    | "th"
                    | "e"
                    | "er"
                    | "re"
                    | "ère"
                    | "ème"
                    | "o"
                    | "a"
                    | "lle"
                    | "me"
                    | "mme"
                    | "nd."
                    | "®"
                    | "™"
                    | "*"
                    | "†"
                    | "‡"
            ) || (inner.starts_with('[') && inner.ends_with(']'))
        };
        match t.2 {
            "sup"
                if inner.chars().any(|c| c.is_ascii_digit())
                    && inner.chars().all(|c| exponent(c).is_some()) =>
            {
                let raised = inner.chars().filter_map(exponent).collect();
                edits.push((o.0, t.1, raised));
            }
            "sup" if !plain_sup(inner) => {}
            _ => {
                edits.push((o.0, o.1, String::new()));
                edits.push((t.0, t.1, String::new()));
            }
        }
    }
    if edits.is_empty() {
        return Cow::Borrowed(s);
    }
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(s.len());
    let mut from = 0;
    for (start, end, with) in edits {
        // (A digits-only `<sup>` taken whole holds no other tag.)
        if start < from {
            continue;
        }
        out.push_str(&s[from..start]);
        out.push_str(&with);
        from = end;
    }
    out.push_str(&s[from..]);
    Cow::Owned(out)
}

/// Inline formatting tags a title's plain text may carry (see
/// [`without_formatting_tags`]).
/// (Not `s`, `del`, `strike`: unwrapped, `<s>Twitter</s> X` said the
/// opposite; nor `q`, whose quotation marks went.)
const FORMATTING: &[&str] = &[
    "b", "i", "em", "strong", "u", "sub", "sup", "small", "mark", "span", "font", "cite", "code",
    "abbr", "ins", "big", "tt",
];

/// The text of the HTML named entity `&name;` (`name` without `&` and `;`),
/// from html5ever's table. (quick-xml's own table gives wrong characters for
/// about 440 names: `&alpha;` read `;`, `&Scaron;` a control character that
/// was then dropped, so "Škoda" read "koda".)
pub fn named_entity(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 32 {
        return None;
    }
    let key = format!("{name};");
    let &(a, b) = html5ever::data::NAMED_ENTITIES.get(key.as_str())?;
    let mut s: String = char::from_u32(a).into_iter().collect();
    if b != 0 {
        s.extend(char::from_u32(b));
    }
    (!s.is_empty()).then_some(s)
}

/// HTML character references decoded: every HTML5 named reference (quick-xml's
/// table), decimal and hexadecimal ones. Anything else stays as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // The longest HTML5 name is 31 bytes ("CounterClockwiseContourIntegral").
        // Bytes, not `str` slicing: the window may end inside a character.
        let end = rest.as_bytes()[..rest.len().min(34)]
            .iter()
            .position(|b| *b == b';');
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let numeric = name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()));
            match numeric {
                Some(n) => char::from_u32(n).map(|c| (Cow::Owned(c.to_string()), end)),
                None => named_entity(name).map(|v| (Cow::Owned(v), end)),
            }
        });
        match decoded {
            Some((c, end)) => {
                out.push_str(&c);
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
    // NUL is text in no feed (JSON's `\u0000`), and PostgreSQL refuses it in
    // any text column: the whole feed failed to store, every poll.
    if memchr::memchr(0, s.as_bytes()).is_some() {
        s.retain(|c| c != '\0');
    }
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
/// declaration (a UTF-16 label on bytes that are not UTF-16 is ignored; a UTF-8
/// one on bytes that are mostly not UTF-8 gives way to the HTTP charset, or
/// without another one to a guess); the HTTP
/// charset (but a single-byte one is not believed of bytes that are valid
/// UTF-8 and not all ASCII); else UTF-8, and for bytes that are not UTF-8 the encoding `chardetng`
/// guesses from them (windows-1252, windows-1251, EUC-KR, Shift_JIS, …). Invalid
/// sequences in a document claimed to be UTF-8 are repaired, not fatal.
///
/// feedloom decodes and then drops the XML declaration (and any other one in
/// the document), because quick-xml (under feed-rs) switches decoders when it
/// reads one, and panics when the declaration ends past its 64-byte look-ahead
/// (UTF-16 documents, long declarations) or disagrees with the BOM.
pub fn to_parser_bytes<'a>(body: &'a [u8], http_charset: Option<&str>) -> Cow<'a, [u8]> {
    use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
    // UTF-32 (which the Encoding Standard leaves out): decoded here.
    if let Some((big_endian, bom)) = utf32_start(body) {
        return declarations_dropped(Cow::Owned(utf32_decoded(&body[bom..], big_endian)));
    }
    let label = |l: &str| Encoding::for_label(l.trim().as_bytes());
    let not_utf16 = |e: &&'static Encoding| *e != UTF_16LE && *e != UTF_16BE;
    let declared = declared_encoding(body);
    let (encoding, bom) = match Encoding::for_bom(body) {
        Some((e, len)) => (Some(e), len),
        None => (
            match body {
                [b'<', 0, c, 0, ..] if *c != 0 => Some(UTF_16LE),
                [0, b'<', 0, c, ..] if *c != 0 => Some(UTF_16BE),
                // UTF-16 without a mark that starts with white space, or a
                // JSON Feed's `{`: ASCII with every other byte 0.
                _ if utf16_ascii_start(body, 1) => Some(UTF_16LE),
                _ if utf16_ascii_start(body, 0) => Some(UTF_16BE),
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
    // A single-byte label on text that is valid UTF-8 with non-ASCII in it is
    // a wrong label (a CMS that declares ISO-8859-1 or windows-1252 whatever
    // it writes): legacy text is almost never valid UTF-8 by chance, and read
    // by the label it would be mojibake ("CafÃ©").
    // (Checked once; ASCII reads the same either way, and then needs no copy.)
    let utf8 = std::str::from_utf8(body).is_ok();
    let encoding = encoding.filter(|e| !(e.is_single_byte() && utf8));
    // And a UTF-8 label on bytes none of whose non-ASCII is UTF-8 is a wrong
    // label too, when the HTTP charset names another encoding (RFC 7303: it
    // takes precedence): "Привет" in windows-1251 declared utf-8 was stored
    // as "������". Text that is UTF-8 but for a stray byte stays UTF-8.
    // Without another label (the HTTP charset says UTF-8 too, or none), the
    // encoding is guessed from the bytes as for undeclared ones: "café" in
    // Latin-1 served as `charset=utf-8` was stored as "caf�", and the fetch
    // was ok.
    let encoding = match encoding {
        Some(e) if e == UTF_8 && bom == 0 && !utf8 && !mostly_utf8(body) => http_charset
            .and_then(label)
            .filter(not_utf16)
            .filter(|h| *h != UTF_8),
        other => other,
    };
    let text = match encoding {
        Some(e) if e != UTF_8 => Cow::Owned(
            e.decode_without_bom_handling(body)
                .0
                .into_owned()
                .into_bytes(),
        ),
        // One pass over valid UTF-8 (the common case): `from_utf8_lossy` walks
        // it chunk by chunk, several times slower.
        _ if utf8 => Cow::Borrowed(body),
        None => Cow::Owned(
            guess_encoding(body)
                .decode_without_bom_handling(body)
                .0
                .into_owned()
                .into_bytes(),
        ),
        _ => utf8_lossy(body),
    };
    declarations_dropped(text)
}

/// UTF-8 `text` without its XML declarations: it is UTF-8 now, whatever
/// they say, and feed-rs gets none. Its line ends normalised too.
fn declarations_dropped(text: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let text = without_declaration(text);
    let text = match without_inner_declarations(&text) {
        Some(fixed) => Cow::Owned(fixed),
        None => text,
    };
    lines_normalised(text)
}

/// `text` with each `\r\n`, and each `\r` alone, read as `\n`, as XML 1.0
/// reads a document before parsing it (§2.11; quick-xml does not): the same
/// feed served with Windows line ends gave its entries other texts, so each
/// was "updated" and one without guid or link stored twice. (A `&#13;`
/// written as a reference stays a carriage return.)
pub(crate) fn lines_normalised(text: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'\r', &text) else {
        return text;
    };
    let mut out = Vec::with_capacity(text.len());
    out.extend_from_slice(&text[..first]);
    let mut rest = &text[first..];
    while let Some(i) = memchr::memchr(b'\r', rest) {
        out.extend_from_slice(&rest[..i]);
        out.push(b'\n');
        rest = match rest.get(i + 1) {
            Some(b'\n') => &rest[i + 2..],
            _ => &rest[i + 1..],
        };
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// Whether `body` is UTF-32, and big-endian, and how long its byte order
/// mark is: by the mark, or by its first characters being ASCII with three
/// zero bytes each (`<`, `{`, white space).
fn utf32_start(body: &[u8]) -> Option<(bool, usize)> {
    match body {
        [0xFF, 0xFE, 0, 0, ..] => return Some((false, 4)),
        [0, 0, 0xFE, 0xFF, ..] => return Some((true, 4)),
        _ => {}
    }
    let head = &body[..body.len().min(16) & !3];
    let ascii_at = |k: usize| {
        head.len() >= 8
            && head.chunks_exact(4).all(|c| {
                (0..4).all(|j| (j == k) == (c[j] != 0))
                    && (c[k].is_ascii_graphic() || matches!(c[k], b' ' | b'\t' | b'\r' | b'\n'))
            })
    };
    match (ascii_at(0), ascii_at(3)) {
        (true, _) => Some((false, 0)),
        (_, true) => Some((true, 0)),
        _ => None,
    }
}

/// UTF-32 as UTF-8 bytes; what is no character (a surrogate, past
/// U+10FFFF, a last partial unit) is U+FFFD.
fn utf32_decoded(body: &[u8], big_endian: bool) -> Vec<u8> {
    let mut text = String::with_capacity(body.len() / 4 + 3);
    for unit in body.chunks(4) {
        let c = <[u8; 4]>::try_from(unit).ok().and_then(|u| {
            char::from_u32(match big_endian {
                true => u32::from_be_bytes(u),
                false => u32::from_le_bytes(u),
            })
        });
        text.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    text.into_bytes()
}

/// Whether `body` starts as ASCII in UTF-16 would: in its first 16 bytes (at
/// least 8), the byte at `high % 2` of every pair is 0 and the other a
/// printable ASCII character or white space.
fn utf16_ascii_start(body: &[u8], high: usize) -> bool {
    let head = &body[..body.len().min(16) & !1];
    head.len() >= 8
        && head.chunks_exact(2).all(|pair| {
            let (zero, c) = (pair[high], pair[1 - high]);
            zero == 0 && (c.is_ascii_graphic() || matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        })
}

/// Whether `body`'s non-ASCII is mostly UTF-8: more characters of two or
/// more bytes than invalid sequences. (Legacy text forms a valid pair now and
/// then: «ТАСС» in windows-1251, most short Shift_JIS text.)
fn mostly_utf8(body: &[u8]) -> bool {
    let (mut valid, mut invalid) = (0usize, 0usize);
    for c in body.utf8_chunks() {
        valid += c.valid().chars().filter(|ch| !ch.is_ascii()).count();
        invalid += usize::from(!c.invalid().is_empty());
    }
    valid >= invalid
}

/// The legacy encoding of undeclared bytes that are not UTF-8, as a browser would
/// guess it (chardetng, by the author of encoding_rs). The first MiB is plenty: the
/// markup is ASCII, the guess rests on the text.
fn guess_encoding(body: &[u8]) -> &'static encoding_rs::Encoding {
    const SAMPLE: usize = 1 << 20;
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(&body[..body.len().min(SAMPLE)], body.len() <= SAMPLE);
    detector.guess(None, false)
}

/// The document without any other XML declaration; `None` when it has none.
/// XML allows a declaration only first, and quick-xml (under feed-rs) switches
/// decoders at every one it reads, panicking at one past its 64-byte look-ahead
/// that names another encoding. Where a declaration is depends on how quick-xml
/// tokenises the bytes around it (a `<!--` inside an unclosed attribute value
/// opens no comment), so quick-xml itself finds them, reading on past errors.
pub(super) fn without_inner_declarations(text: &[u8]) -> Option<Vec<u8>> {
    use quick_xml::events::Event;
    // A cheap test first: almost no document has a second declaration.
    memchr::memmem::find(text, b"<?xml")?;
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

/// Whether HTML shows nothing: no picture, player, embedded page or link
/// (`<img`, `<video`, `<iframe`, `<a `…), and a text that [`shows_nothing`]
/// once its tags are gone (`<p>&nbsp;</p>`, `<br/>`).
pub fn html_shows_nothing(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    ![
        "<img", "<video", "<audio", "<iframe", "<embed", "<object", "<svg", "<picture", "<source",
        "<math", "<canvas", "<a ",
    ]
    .iter()
    .any(|tag| lower.contains(tag))
        && shows_nothing(&strip_tags(html))
}

/// Whether `text` shows nothing: empty, or only control characters and
/// [`invisible`] ones (a title, tag or author made of them is none).
pub fn shows_nothing(text: &str) -> bool {
    text.chars().all(|c| c.is_control() || invisible(c))
}

/// Characters that show nothing on their own: spaces, Unicode's default
/// ignorable code points (zero-width ones, joiners, marks of direction,
/// variation selectors, tags, fillers, a soft hyphen, a byte-order mark),
/// the braille blank, and combining marks (with no letter to mark).
pub fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c,
            '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}'
            | '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}
