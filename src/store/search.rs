//! Full-text search: the `search` FTS5 table (migration 0005), kept in step with
//! `items` inside the same transaction as the item itself, and the query that
//! ranks stories by bm25 then recency, one result per story, with highlighted
//! snippets.
//!
//! What is indexed is plain text only: the title and the item's text (content,
//! else summary) with tags, scripts and styles stripped and entities decoded,
//! at most [`MAX_INDEXED`] bytes of it. Runs of Korean, Japanese and Chinese
//! characters are written as overlapping pairs plus their last character
//! ([`index_text`]), so that `unicode61` (which would keep a whole run as one
//! token) finds a word inside a run; queries are rewritten the same way
//! ([`parse_query`]). User input never reaches FTS5 syntax unquoted.
//!
//! Snippets are made here, not by FTS5 (the table is contentless): segments of
//! plain text, each marked or not ([`Segment`]); the page escapes every segment
//! and wraps the marked ones in `<mark>`, so nothing in a story can forge one.

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use super::queries::{Source, Story};
use crate::error::StoreError;
use crate::filter::is_cjk;

/// Bytes of an item's plain text that are indexed (a long article is found by
/// its first pages).
pub const MAX_INDEXED: usize = 32 * 1024;

/// Plain text of an HTML fragment, as the story shows it: every tag becomes
/// a space, comments and the contents of `script`, `style`, `template` and
/// a closed `iframe` are dropped, entities decoded, runs of white space
/// collapsed. (A comment ended at its first `>`: the text a publisher had
/// commented out, "DRAFT: layoffs … embargoed", was found and quoted in
/// snippets; `noscript`'s text, which the story shows, was not found.)
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len().min(MAX_INDEXED * 2));
    let b = html.as_bytes();
    let mut i = 0;
    let mut start = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + off;
        let next = b.get(lt + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?')) {
            i = lt + 1;
            continue;
        }
        push_text(&mut out, &html[start..lt]);
        // (A comment parts no word, as the page shows it: `Wash<!-- -->ington`.)
        if b[lt..].starts_with(b"<!--") {
            i = crate::export::clean::comment_end(html, lt).min(b.len());
            start = i;
            continue;
        }
        let end = tag_end(b, lt);
        let name_len = b[lt + 1..end.min(b.len())]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let name = &b[lt + 1..lt + 1 + name_len];
        // (An end tag's name, for whether it parts words.)
        let closing = match next {
            b'/' => {
                let from = (lt + 2).min(end).min(b.len());
                let len = b[from..end.min(b.len())]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .count();
                &b[from..from + len]
            }
            _ => name,
        };
        // (An inline element's tags part no word, as the page shows it: a
        // drop cap's `<span>W</span>ashington`, `<em>un</em>believable`,
        // `CO<sub>2</sub>`, `<wbr>`, were found, and matched by rules, as
        // two words. So do a custom or prefixed element's, `<o:p>`, which
        // the outputs unwrap.)
        let at = closing.as_ptr() as usize - b.as_ptr() as usize + closing.len();
        let custom = matches!(b.get(at), Some(b'-' | b':'));
        let inline = custom || INLINE.iter().any(|n| n.eq_ignore_ascii_case(closing));
        // (But a footnote's mark, a link or a superscript of a number right
        // after a word, `rose<a href="#fn1">1</a>`, is no part of the word:
        // `rose` matched nothing.)
        let mark = next != b'/'
            && (name.eq_ignore_ascii_case(b"a") || name.eq_ignore_ascii_case(b"sup"))
            && footnote_mark(&html[end.saturating_add(1).min(b.len())..]);
        if !inline || mark {
            push_text(&mut out, " ");
        }
        i = end.saturating_add(1).min(b.len());
        let iframe = name.eq_ignore_ascii_case(b"iframe");
        if [&b"script"[..], b"style", b"template", b"iframe"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
        {
            // Skip to the matching end tag. (An iframe's only when it has
            // one: never closed, or written `<iframe …/>`, what follows is
            // the story's, as the page shows it.)
            let self_closed = end > lt + 1 && b.get(end - 1) == Some(&b'/');
            let mut j = i;
            let open_at = i;
            let mut closed = false;
            i = b.len();
            while let Some(off) = memchr::memchr(b'<', &b[j..]) {
                let at = j + off;
                let close = &b[at + 1..];
                if close.first() == Some(&b'/')
                    && close.len() > name.len()
                    && close[1..=name.len()].eq_ignore_ascii_case(name)
                {
                    i = (tag_end(b, at) + 1).min(b.len());
                    closed = true;
                    break;
                }
                j = at + 1;
            }
            if iframe && (self_closed || !closed) {
                i = open_at;
            }
        }
        // The content of `xmp`, `textarea`, `title` and `plaintext` is text
        // up to their end tag (to the end, `plaintext`'s), as the page shows
        // it, tags and all: `<xmp>see <script>zq</script></xmp>` shows the
        // script as text, whose words were dropped here.
        if next != b'/'
            && let Some(raw) = [&b"xmp"[..], b"textarea", b"title", b"plaintext"]
                .iter()
                .find(|n| n.eq_ignore_ascii_case(name))
        {
            let to = match *raw {
                b"plaintext" => b.len(),
                _ => crate::export::clean::raw_text_end(
                    html,
                    i,
                    std::str::from_utf8(raw).unwrap_or(""),
                ),
            };
            match *raw {
                b"xmp" | b"plaintext" => push_decoded(&mut out, &html[i..to]),
                _ => push_text(&mut out, &html[i..to]),
            }
            i = to;
        }
        start = i;
    }
    push_text(&mut out, &html[start.min(html.len())..]);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// Whether `rest`, the text after a start tag, is a footnote's mark up to
/// the next tag: one to three digits, or those in brackets (`1`, `[12]`).
fn footnote_mark(rest: &str) -> bool {
    let text = rest.split('<').next().unwrap_or("");
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    (1..=3).contains(&text.len()) && text.bytes().all(|c| c.is_ascii_digit())
}

/// Characters that show nothing and part no word, left out of the text: a
/// soft hyphen ("Flug&shy;hafen" is "Flughafen"), a zero-width space, a
/// word joiner, a zero-width no-break space (each split `Wash…ington`).
fn joins(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}' | '\u{2060}' | '\u{feff}')
}

/// Elements shown inside a line of text, whose tags part no word in
/// [`plain_text`] (`br`, `img` and the block elements do; so do `del`, `ins`,
/// `s` and `strike`, an edit's old and new text: `<del>2</del><ins>3</ins>`
/// is not "23"; and `q`, whose quotation marks the page shows).
const INLINE: &[&[u8]] = &[
    b"a", b"abbr", b"acronym", b"b", b"bdi", b"bdo", b"big", b"blink", b"cite", b"code", b"data",
    b"dfn", b"em", b"font", b"i", b"kbd", b"label", b"mark", b"marquee", b"nobr", b"output",
    b"samp", b"small", b"span", b"strong", b"sub", b"sup", b"time", b"tt", b"u", b"var", b"wbr",
];

/// Appends text with its entities decoded and white space collapsed to single
/// spaces (none at the start).
fn push_text(out: &mut String, text: &str) {
    let decoded;
    let text = if text.contains('&') {
        decoded = crate::parse::decode_entities(text);
        decoded.as_str()
    } else {
        text
    };
    push_decoded(out, text);
}

/// [`push_text`] of text whose entities are no entities (`xmp`'s and
/// `plaintext`'s: the page shows `&eacute;` as written).
fn push_decoded(out: &mut String, text: &str) {
    // Runs of other characters are copied whole (this runs on the store's
    // one writer, for every new item: char by char it was a tenth of it).
    let b = text.as_bytes();
    let (mut run, mut i) = (0, 0);
    while i < b.len() {
        let (ws, len, skip) = match b[i] {
            // (One space after a word stays in the run.)
            b' ' if i > run && b[i - 1] != b' ' => (false, 1, false),
            c @ 0..0x80 => {
                let ws = matches!(c, b'\t'..=b'\r' | b' ');
                (ws, 1, ws)
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or(' ');
                // (A soft hyphen only says where a word may break:
                // "Flug&shy;hafen" is found, and matched by rules, as
                // "Flughafen".)
                (
                    c.is_whitespace(),
                    c.len_utf8(),
                    c.is_whitespace() || joins(c),
                )
            }
        };
        if skip {
            out.push_str(&text[run..i]);
            if ws && !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            run = i + len;
        }
        i += len;
    }
    out.push_str(&text[run..]);
}

/// Where the tag opened at `lt` ends (its `>`, or the end of the input); a `>`
/// inside a quoted attribute value does not end it.
fn tag_end(b: &[u8], lt: usize) -> usize {
    let mut quote = None;
    let mut i = lt + 1;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return i,
            None => {}
        }
        i += 1;
    }
    b.len()
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Text as the tokenizer sees it: each run of Korean, Japanese or Chinese
/// characters becomes its overlapping pairs and its last character, as
/// separate words (`東京都` → `東京 京都 都`); everything else is unchanged.
pub fn index_text(text: &str) -> String {
    // (`&#0;` decodes to NUL, which PostgreSQL refuses: the feed failed.
    // A soft hyphen splits a word for the tokenizers: it goes.)
    if text.is_ascii() && memchr::memchr(0, text.as_bytes()).is_none() {
        return text.to_string();
    }
    // (So do the other characters that part no word: [`joins`].)
    let text = &*match text.contains(|c| c == '\0' || joins(c)) {
        true => std::borrow::Cow::Owned(text.replace('\0', " ").replace(joins, "")),
        false => std::borrow::Cow::Borrowed(text),
    };
    if !text.chars().any(is_cjk) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        out.push(' ');
        for pair in run.windows(2) {
            out.push(pair[0]);
            out.push(pair[1]);
            out.push(' ');
        }
        out.push(run[run.len() - 1]);
        out.push(' ');
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A word of a query, as the highlighter looks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Lower case.
    pub text: String,
    /// Korean, Japanese or Chinese: found anywhere, not only as a whole word.
    pub cjk: bool,
    /// `word*`: any word that starts with it.
    pub prefix: bool,
}

/// A query as FTS5 takes it, and its terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery {
    pub fts: String,
    /// Its words, one by one (what pages mark).
    pub terms: Vec<Term>,
    /// Its parts as FTS5 matches them: a word written with punctuation
    /// (`e-mail`, `node.js`, `1.2`) or a `"phrase"` is one part, its words
    /// in order (what PostgreSQL looks for).
    pub parts: Vec<Term>,
    /// bm25 would be slow for this query: it has a `"phrase"` of two or more
    /// words, or a prefix of at most three letters (`ab*`), whose matches
    /// bm25 counts throughout the index first. See [`Store::search`] for how
    /// its matches are ranked instead.
    pub by_place: bool,
}

/// The most words one query may search for (a CJK run counts its pairs of
/// characters; a word written twice counts once). FTS5's ranking reads every
/// place of every word of the query in each match, and its cost grows with
/// the square of their number: 400 copies of one word took 3 s over 4,000
/// items, 10,000 (a 60 KB request) did not finish in 10 minutes.
pub const MAX_QUERY_WORDS: usize = 32;

/// The longest query, in bytes.
pub const MAX_QUERY_BYTES: usize = 1024;

/// What in `q` reads as another search syntax than feedloom's, and how it is
/// searched instead: `AND`/`OR`/`NOT`, `NEAR(…)`, `title:word`, a `*`
/// inside a phrase (each found nothing, or not what was meant, without a
/// word). `None` when nothing does.
pub fn syntax_note(q: &str) -> Option<String> {
    let mut notes: Vec<String> = Vec::new();
    let mut note = |n: String| {
        if !notes.contains(&n) {
            notes.push(n);
        }
    };
    // (Each word, and whether it is a quoted phrase.)
    let words: Vec<(&str, bool)> = q
        .split('"')
        .enumerate()
        .flat_map(|(i, part)| match i % 2 == 1 {
            true => vec![(part, true)],
            false => part.split_whitespace().map(|w| (w, false)).collect(),
        })
        .collect();
    for (k, &(w, phrase)) in words.iter().enumerate() {
        if phrase {
            if w.contains('*') {
                note("a * inside quotes is no prefix (write word* outside the quotes)".into());
            }
            continue;
        }
        if matches!(w, "AND" | "OR" | "NOT") {
            note("AND, OR and NOT are words to find, not operators (every word must occur)".into());
        }
        let next_opens = words
            .get(k + 1)
            .is_some_and(|(n, p)| !p && n.starts_with('('));
        if w.starts_with("NEAR(") || (w == "NEAR" && next_opens) {
            note("NEAR(…) is no operator (its words are searched, anywhere in the text)".into());
        }
        if let Some((field, rest)) = w.split_once(':') {
            let field = field.to_lowercase();
            // (`title:"a phrase"`: the phrase follows the colon.)
            let followed = !rest.is_empty() || words.get(k + 1).is_some_and(|(_, p)| *p);
            if FIELDS.contains(&field.as_str()) && followed {
                note(format!(
                    "a field filter ({field}:…) is no filter here: its words are searched in titles and texts"
                ));
            }
        }
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// Names of fields other search syntaxes filter on (`title:word`).
const FIELDS: &[&str] = &[
    "title", "body", "text", "content", "author", "link", "url", "tags", "tag", "feed", "source",
    "summary",
];

/// An unquoted word of a query as the words it is searched as: cut at
/// parentheses (`NEAR(a`, `b)`), without another syntax's operator
/// (`NEAR(`) or a field's name (`title:word` is `word`: the text need not
/// say "title").
fn unquoted_words(w: &str) -> Vec<&str> {
    let w = w.strip_prefix("NEAR(").unwrap_or(w);
    w.split(['(', ')'])
        .map(|part| match part.split_once(':') {
            Some((field, rest))
                if !rest.is_empty()
                    && FIELDS.contains(&field.trim_start_matches('-').to_lowercase().as_str()) =>
            {
                rest
            }
            _ => part,
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// Reads a user's query: words (all must occur), `"a phrase"`, `word*` for a
/// prefix. Punctuation inside words is what the tokenizer makes of it; nothing
/// the user types is FTS5 syntax. At most [`MAX_QUERY_BYTES`] and
/// [`MAX_QUERY_WORDS`]; a word or phrase written twice is searched for once.
pub fn parse_query(q: &str) -> Result<ParsedQuery, String> {
    if q.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are searched",
            q.len()
        ));
    }
    // Control characters are spaces: a NUL ended FTS5's reading of the
    // query ("unterminated string", a 503 on the page).
    let spaced: String;
    let q = if q.contains(char::is_control) {
        spaced = q
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        spaced.as_str()
    } else {
        q
    };
    let mut parts: Vec<(String, bool)> = Vec::new(); // (text, phrase)
    let mut rest = q.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').unwrap_or(after.len());
            parts.push((after[..end].to_string(), true));
            rest = after.get(end + 1..).unwrap_or("").trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            // What [`syntax_note`] says: `title:word` and `NEAR(a b)` were
            // the phrases "title word" and "near a", which found nothing.
            let after = rest[end..].trim_start();
            if &rest[..end] != "NEAR" || !after.starts_with('(') {
                for word in unquoted_words(&rest[..end]) {
                    parts.push((word.to_string(), false));
                }
            }
            rest = after;
        }
    }
    let mut fts: Vec<String> = Vec::new();
    let mut terms: Vec<Term> = Vec::new();
    let mut groups: Vec<Term> = Vec::new();
    let mut by_place = false;
    let mut words = 0usize;
    for (text, phrase) in parts {
        // A quoted phrase of Korean, Japanese or Chinese words (`"经济 北京"`):
        // its words in order and adjacent, written together (`经济北京`, as
        // Chinese and Japanese write them) or apart (`경제 서울`). Each word
        // was searched for on its own, anywhere, in any order.
        if phrase && let Some(run) = cjk_phrase_words(&text) {
            let (together, apart) = cjk_phrase_forms(&run);
            let part = format!("(\"{}\" OR \"{}\")", together.join(" "), apart.join(" "));
            let folded = part.to_lowercase();
            if fts.iter().any(|p| p.to_lowercase() == folded) {
                continue;
            }
            fts.push(part);
            words_counted(&mut words, together.len())?;
            by_place = true;
            let spelled: Vec<String> = run.iter().map(|w| w.iter().collect()).collect();
            let whole = Term {
                text: lower(&spelled.join(" ")),
                cjk: true,
                prefix: false,
            };
            if !groups.contains(&whole) {
                groups.push(whole);
            }
            for w in spelled {
                let term = Term {
                    text: lower(&w),
                    cjk: true,
                    prefix: false,
                };
                if !terms.contains(&term) {
                    terms.push(term);
                }
            }
            continue;
        }
        let (text, prefix) = match text.strip_suffix('*') {
            Some(t) if !phrase => (t.to_string(), true),
            _ => (text, false),
        };
        // Split into runs of CJK and of other characters; each is matched on
        // its own (a phrase keeps its words in order within each run).
        let mut segments: Vec<(String, bool)> = Vec::new();
        for c in text.chars() {
            let cjk = is_cjk(c);
            match segments.last_mut() {
                Some((s, k)) if *k == cjk => s.push(c),
                _ => segments.push((c.to_string(), cjk)),
            }
        }
        let n = segments.len();
        for (k, (seg, cjk)) in segments.into_iter().enumerate() {
            if !seg.chars().any(char::is_alphanumeric) {
                continue;
            }
            let last = k + 1 == n;
            let chars: Vec<char> = seg.chars().collect();
            let (part, count) = if cjk && chars.len() == 1 {
                (format!("\"{}\"*", chars[0]), 1)
            } else if cjk {
                let pairs: Vec<String> = chars.windows(2).map(|p| p.iter().collect()).collect();
                (format!("\"{}\"", pairs.join(" ")), pairs.len())
            } else {
                let seg_words: Vec<&str> = seg
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .collect();
                // A prefix of one letter or digit (`a*`) has no index: FTS5
                // merges the entries of every word it starts, nearly the
                // whole index (32 of them took 4 s over 20,000 items, more
                // as the store grows, from anyone who may search).
                // (Judged as the index spells it: `ß*` is `ss*`, `ﬁ*` `fi*`;
                // and split where its tokenizer splits: `aͅ*` is `a*`.)
                if prefix
                    && last
                    && index_words(&seg)
                        .last()
                        .is_some_and(|w| search_folded(w).chars().count() < 2)
                {
                    return Err(format!(
                        "`{text}*`: a prefix needs two letters or digits or more (one starts \
                         too many words to search for)"
                    ));
                }
                let place =
                    prefix && last && seg_words.last().is_some_and(|w| w.chars().count() <= 3);
                let quoted = seg.replace('"', "\"\"");
                let part = if prefix && last {
                    format!("\"{quoted}\"*")
                } else {
                    format!("\"{quoted}\"")
                };
                by_place |= phrase && seg_words.len() > 1;
                by_place |= place;
                (part, seg_words.len())
            };
            // As the index is written (`lodz` for `łódź`), and as items
            // indexed before that were (`łodz`).
            let part = match search_folded(&part) {
                std::borrow::Cow::Owned(f) => format!("({f} OR {part})"),
                std::borrow::Cow::Borrowed(_) => part,
            };
            // The same word or phrase twice (in any case): searched for once.
            let folded = part.to_lowercase();
            if fts.iter().any(|p| p.to_lowercase() == folded) {
                continue;
            }
            fts.push(part);
            words_counted(&mut words, count)?;
            let whole = Term {
                text: lower(&seg),
                cjk,
                prefix: prefix && last,
            };
            if !groups.contains(&whole) {
                groups.push(whole.clone());
            }
            // (A word of several, `pre-war`, is one term: its words
            // together, as FTS5 reads it.)
            if !terms.contains(&whole) {
                terms.push(whole);
            }
        }
    }
    if fts.is_empty() {
        return Err(if q.trim().is_empty() {
            "the query is empty".to_string()
        } else {
            // (Quoted as written, controls and bidi marks escaped: Rust's
            // `"\"\""` showed the user escapes they never typed.)
            format!(
                "the query `{}` has no words to search for",
                crate::error::quoted(q, 200)
            )
        });
    }
    Ok(ParsedQuery {
        fts: fts.join(" AND "),
        terms,
        parts: groups,
        by_place,
    })
}

/// `text`'s words as SQLite's tokenizer (`unicode61 remove_diacritics 2`)
/// cuts them: letters and digits of Unicode's categories, and the accents it
/// removes (`é` written as `e` and U+0301), which join the letters around
/// them. Rust takes more for letters (its Alphabetic property): other
/// combining marks (U+0345, Hebrew points, Arabic and Thai vowel signs) and
/// circled or squared letters (`Ⓐ`), each of which the tokenizer takes for
/// a space. (`aͅ*` was taken for a prefix of two letters, and searched as
/// `a*`: 32 such terms took 12 s a request.)
fn index_words(text: &str) -> Vec<String> {
    let mut words = vec![String::new()];
    for c in text.chars() {
        if is_combining_accent(c) {
            continue;
        }
        match index_letter(c) {
            true => words.last_mut().expect("one word at least").push(c),
            false if words.last().is_some_and(|w| !w.is_empty()) => words.push(String::new()),
            false => {}
        }
    }
    words.retain(|w| !w.is_empty());
    words
}

/// Whether SQLite's tokenizer takes `c` for part of a word: a letter or
/// digit of Unicode's categories, not a combining mark or a circled or
/// squared letter (which Rust's Alphabetic property counts).
fn index_letter(c: char) -> bool {
    c.is_alphanumeric()
        && !unicode_normalization::char::is_combining_mark(c)
        && !matches!(u32::from(c), 0x24b6..=0x24e9 | 0x1f130..=0x1f189)
}

/// Adds `count` to the words a query searches for; an error past
/// [`MAX_QUERY_WORDS`].
fn words_counted(words: &mut usize, count: usize) -> Result<(), String> {
    *words += count;
    match *words > MAX_QUERY_WORDS {
        true => Err(format!(
            "the query has more than {MAX_QUERY_WORDS} words; search for fewer"
        )),
        false => Ok(()),
    }
}

/// The words of a CJK phrase as the index holds them ([`index_text`]),
/// written together (one run: its pairs) and written apart (each word's
/// pairs and its last character), in order.
pub(crate) fn cjk_phrase_forms(words: &[Vec<char>]) -> (Vec<String>, Vec<String>) {
    let pairs = |w: &[char]| -> Vec<String> { w.windows(2).map(|p| p.iter().collect()).collect() };
    let together = pairs(&words.concat());
    let apart = words
        .iter()
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let mut t = pairs(w);
            t.push(w[w.len() - 1].to_string());
            t
        })
        .collect();
    (together, apart)
}

/// The words of a quoted phrase that holds two or more words of Korean,
/// Japanese or Chinese characters and no other letters or digits (what
/// separates them is blanks or punctuation); `None` otherwise.
fn cjk_phrase_words(text: &str) -> Option<Vec<Vec<char>>> {
    let mut words: Vec<Vec<char>> = Vec::new();
    let mut current: Vec<char> = Vec::new();
    for c in text.chars() {
        if is_cjk(c) {
            current.push(c);
        } else if c.is_alphanumeric() {
            return None;
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    (words.len() >= 2).then_some(words)
}

/// A piece of a highlighted text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    pub text: String,
    /// A match of the query.
    pub mark: bool,
}

/// Accented Latin letters (lower case) and the letters the search index
/// takes them for (`remove_diacritics 2`): `zurich` finds `Zürich`, and the
/// highlighting must find it there too.
const ACCENTED: &str =
    "àáâãäåçèéêëìíîïñòóôõöøùúûüýÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıĵķĺļľŀłńņňōŏőŕŗřśŝşšţťŧũūŭůűųŵŷźżž";
const PLAIN: &str =
    "aaaaaaceeeeiiiinoooooouuuuyyaaaccccddeeeeegggghhiiiiijklllllnnnooorrrsssstttuuuuuuwyzzz";

/// Text as PostgreSQL's index takes it, the way SQLite's tokenizer reads
/// it: lower case, accents gone (`Café` is `cafe`), every character that is
/// not a letter or digit a separator (`node.js` is `node js`, `v1.2.3` is
/// `v1 2 3`). PostgreSQL's own parser kept `node.js`, addresses, versions and
/// paths as one word, which no query of the words found, and accents as they
/// were.
pub fn search_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|c| !is_combining_accent(*c)) {
        // (`ß` and ligatures spelled out, as the index holds them: a query
        // `Straße` or `ﬁnance` looked for words no item was indexed under.)
        match spelled_out(c) {
            Some(s) => out.push_str(s),
            None => out.push(match fold(c) {
                f if index_letter(f) => f,
                _ => ' ',
            }),
        }
    }
    out
}

/// A query's word in lower case, without the combining accents lowering
/// adds: `İstanbul` lowers to `i` + U+0307 + `stanbul`, which PostgreSQL's
/// query split at the mark (`'i' <-> 'stanbul'`, found nowhere) while its
/// index held `istanbul`.
fn lower(word: &str) -> String {
    word.to_lowercase()
        .chars()
        .filter(|c| !is_combining_accent(*c))
        .collect()
}

/// A combining accent SQLite's tokenizer removes (`remove_diacritics 2`),
/// joining the letters around it: `e` + U+0301 is `é` decomposed. Those of
/// U+0300–U+0331 it lists (as SQLite 3.40 and later read them); any other
/// combining mark is a space to it, and so to PostgreSQL's index text (it
/// dropped every mark of U+0300–U+036F, and `aͅbc` was `abc` there and `a bc`
/// in SQLite: `search abc` found 25 stories on one store and none on the other).
fn is_combining_accent(c: char) -> bool {
    const REMOVED: &[u32] = &[
        0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x307, 0x308, 0x309, 0x30a, 0x30b, 0x30c, 0x30f,
        0x311, 0x31b, 0x323, 0x324, 0x325, 0x326, 0x327, 0x328, 0x32d, 0x32e, 0x330, 0x331,
    ];
    REMOVED.contains(&u32::from(c))
}

/// `c` in lower case, without its accent (as the index compares words).
pub fn fold(c: char) -> char {
    let c = c.to_lowercase().next().unwrap_or(c);
    if c.is_ascii() {
        return c;
    }
    if let Some(one) = folded_letter(c) {
        return one.to_ascii_lowercase();
    }
    match ACCENTED.chars().position(|a| a == c) {
        Some(i) => PLAIN.as_bytes()[i] as char,
        None => c,
    }
}

/// What the search index takes a letter for that SQLite's tokenizer keeps
/// as it is: a full-width letter or digit (`Ａ`, `１`) its ASCII one, a
/// Greek vowel with its tonos or dialytika (`ί`, `Ώ`) the plain vowel, a
/// final sigma `σ`, and `ł`, `ø`, `đ`, `ħ` (letters of their own to
/// Unicode, accented letters to their readers) their plain letters.
fn folded_letter(c: char) -> Option<char> {
    Some(match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)?,
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' | 'ΐ' | 'ϊ' => 'ι',
        'ό' => 'ο',
        'ύ' | 'ΰ' | 'ϋ' => 'υ',
        'ώ' => 'ω',
        'Ά' => 'Α',
        'Έ' => 'Ε',
        'Ή' => 'Η',
        'Ί' | 'Ϊ' => 'Ι',
        'Ό' => 'Ο',
        'Ύ' | 'Ϋ' => 'Υ',
        'Ώ' => 'Ω',
        'ς' => 'σ',
        // (`E=mc²` is found by `mc2`, as before the title read `<sup>`.)
        '⁰' => '0',
        '¹' => '1',
        '²' => '2',
        '³' => '3',
        '⁴' => '4',
        '⁵' => '5',
        '⁶' => '6',
        '⁷' => '7',
        '⁸' => '8',
        '⁹' => '9',
        // (`h2o` finds `H₂O`, `co2` `CO₂`.)
        '₀' => '0',
        '₁' => '1',
        '₂' => '2',
        '₃' => '3',
        '₄' => '4',
        '₅' => '5',
        '₆' => '6',
        '₇' => '7',
        '₈' => '8',
        '₉' => '9',
        '⁻' => '-',
        '⁺' => '+',
        // Turkish dotless `ı` (`Iğdır`, `ıspanak`), whose capital is `I`.
        'ı' => 'i',
        'ł' => 'l',
        'Ł' => 'L',
        'ø' => 'o',
        'Ø' => 'O',
        'đ' => 'd',
        'Đ' => 'D',
        'ħ' => 'h',
        'Ħ' => 'H',
        _ => return None,
    })
}

/// A letter the search index spells out in two or three: a ligature (`ﬁ`
/// is `fi`), and German `ß` (and capital `ẞ`) `ss`, as Swiss German writes it
/// and as people type it without the key (`strasse` found no `Straße`).
fn spelled_out(c: char) -> Option<&'static str> {
    match c {
        '\u{FB00}' => Some("ff"),
        '\u{FB01}' => Some("fi"),
        '\u{FB02}' => Some("fl"),
        '\u{FB03}' => Some("ffi"),
        '\u{FB04}' => Some("ffl"),
        '\u{FB05}' | '\u{FB06}' => Some("st"),
        'ß' | 'ẞ' => Some("ss"),
        _ => None,
    }
}

/// `text`'s characters as [`fold`] reads them, each with the byte where the
/// letter it comes from starts (a letter spelled out, `ß`, gives two).
fn folded_chars(text: &str) -> Vec<(usize, char)> {
    let mut out = Vec::with_capacity(text.len());
    // (A combining accent is read as the index reads it, as no letter:
    // `Ko\u{308}ln`, decomposed, is `koln`.)
    // (Nor a soft hyphen, which the index leaves out: `bundesregierung`
    // found `Bundes\u{ad}regierung`, and marked nothing.)
    for (i, c) in text
        .char_indices()
        .filter(|(_, c)| !is_combining_accent(*c) && !joins(*c))
    {
        match spelled_out(c) {
            Some(s) => out.extend(s.chars().map(|l| (i, l))),
            None => out.push((i, fold(c))),
        }
    }
    out
}

/// Text as the search index is written and read (both backends): the
/// letters of [`folded_letter`] folded, and ligatures spelled out (`ﬁ` is
/// `fi`: text pasted from a PDF). `lodz` found no `Łódź`, `θεσσαλονικη` no
/// `Θεσσαλονίκη`, `ai` no `ＡＩ技術`, `finance` no `ﬁnance`.
pub fn search_folded(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii()
        || !text
            .chars()
            .any(|c| folded_letter(c).is_some() || spelled_out(c).is_some())
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match (folded_letter(c), spelled_out(c)) {
            (Some(f), _) => out.push(f),
            (_, Some(l)) => out.push_str(l),
            _ => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Byte ranges of `text` where a term matches: CJK terms anywhere; other terms
/// as whole words (or word starts, for a prefix), ignoring case and accents.
/// Whether each of `terms` is found in `text` (as the highlighter finds it).
pub(crate) fn finds_every(text: &str, terms: &[Term]) -> bool {
    terms
        .iter()
        .all(|t| !matches(text, std::slice::from_ref(t)).is_empty())
}

fn matches(text: &str, terms: &[Term]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let lower = folded_chars(text);
    // (A CJK character beside a word ends it, as the index reads
    // `東京のStraße駅`.)
    let letter = |c: char| c.is_alphanumeric() && !is_cjk(c);
    for term in terms {
        let t: Vec<char> = folded_chars(&term.text).into_iter().map(|c| c.1).collect();
        if t.is_empty() || t.len() > lower.len() {
            continue;
        }
        if term.cjk {
            for start in 0..=lower.len() - t.len() {
                if (0..t.len()).all(|k| lower[start + k].1 == t[k]) {
                    let end = start + t.len();
                    found.push((lower[start].0, lower.get(end).map_or(text.len(), |c| c.0)));
                }
            }
            continue;
        }
        // Its words in order, anything but letters and digits between them,
        // as the index reads both: `"hello world"` is `Hello-world`, and
        // `pre-war` marks no `war` of `post-war` (each word was looked for
        // on its own, or the phrase with its space).
        let words: Vec<&[char]> = t
            .split(|c| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            continue;
        }
        for start in 0..lower.len() {
            if start > 0 && letter(lower[start - 1].1) {
                continue;
            }
            let mut at = start;
            let mut whole = true;
            for (k, w) in words.iter().enumerate() {
                if k > 0 {
                    let from = at;
                    while lower.get(at).is_some_and(|c| !c.1.is_alphanumeric()) {
                        at += 1;
                    }
                    if at == from {
                        whole = false;
                        break;
                    }
                }
                if at + w.len() > lower.len() || (0..w.len()).any(|j| lower[at + j].1 != w[j]) {
                    whole = false;
                    break;
                }
                at += w.len();
            }
            if !whole {
                continue;
            }
            let end = at;
            if lower.get(end).is_some_and(|c| letter(c.1)) && !term.prefix {
                continue;
            }
            let mut end_byte = lower.get(end).map_or(text.len(), |c| c.0);
            if term.prefix {
                // The whole word that starts with the prefix.
                let mut e = end;
                while lower.get(e).is_some_and(|c| c.1.is_alphanumeric()) {
                    e += 1;
                }
                end_byte = lower.get(e).map_or(text.len(), |c| c.0);
            }
            found.push((lower[start].0, end_byte));
        }
    }
    found.sort_unstable();
    // Merge overlaps.
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in found {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// `text` in segments, the matches of `terms` marked.
pub fn highlight(text: &str, terms: &[Term]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = 0;
    for (s, e) in matches(text, terms) {
        if s > at {
            out.push(Segment {
                text: text[at..s].to_string(),
                mark: false,
            });
        }
        out.push(Segment {
            text: text[s..e].to_string(),
            mark: true,
        });
        at = e;
    }
    if at < text.len() {
        out.push(Segment {
            text: text[at..].to_string(),
            mark: false,
        });
    }
    out
}

/// About `max` bytes of `text` around its first match, highlighted; with an
/// ellipsis where it was cut. Control characters (a feed's stray ESC, BEL or
/// DEL) are left out, as from every page.
pub fn snippet(text: &str, terms: &[Term], max: usize) -> Vec<Segment> {
    let cleaned: String;
    let text = if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        cleaned = text
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .collect();
        cleaned.as_str()
    } else {
        text
    };
    let first = matches(text, terms).first().map_or(0, |m| m.0);
    let mut start = first.saturating_sub(max / 3);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    // Start at a word when the cut is inside one.
    if start > 0
        && let Some(sp) = text[start..first].find(' ')
    {
        start += sp + 1;
    }
    let window = cut(&text[start..], max);
    let mut end = window.len();
    if start + end < text.len()
        && let Some(sp) = window.rfind(' ').filter(|&sp| sp > first - start)
    {
        end = sp;
    }
    let mut segs = highlight(&window[..end], terms);
    if start > 0 {
        segs.insert(
            0,
            Segment {
                text: "… ".into(),
                mark: false,
            },
        );
    }
    if start + end < text.len() {
        segs.push(Segment {
            text: " …".into(),
            mark: false,
        });
    }
    segs
}

/// The title and text of an item as the search index takes them, on both
/// backends: plain text (tags stripped, the text cut at [`MAX_INDEXED`]), CJK
/// runs written as pairs. The text is the content, and the summary too when
/// the content does not hold it (a teaser above the full text: the words a
/// reader sees first were not found).
pub fn indexed_fields(
    title: Option<&str>,
    content: Option<&str>,
    summary: Option<&str>,
) -> (String, String) {
    let title = index_text(&search_folded(title.unwrap_or("")));
    let content = content.map(plain_text).filter(|c| !c.trim().is_empty());
    let summary = summary.map(plain_text).filter(|s| !s.trim().is_empty());
    let text = match (content, summary) {
        (Some(c), Some(s)) if !c.contains(s.trim()) => format!("{}\n{c}", s.trim()),
        (Some(c), _) => c,
        (None, s) => s.unwrap_or_default(),
    };
    (title, index_text(&search_folded(cut(&text, MAX_INDEXED))))
}

/// Indexes a new item (one call where an item is inserted).
pub fn index_item(
    tx: &Connection,
    id: i64,
    title: Option<&str>,
    (content, summary): (Option<&str>, Option<&str>),
) -> Result<(), StoreError> {
    let (title, body) = indexed_fields(title, content, summary);
    tx.prepare_cached("INSERT INTO search (rowid, title, body) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![id, title, body]))
        .map_err(StoreError::ctx("indexing item for search"))?;
    Ok(())
}

/// Re-indexes an item whose text changed (one call where an item is updated).
pub(crate) fn reindex_item(
    tx: &Connection,
    id: i64,
    title: Option<&str>,
    text: (Option<&str>, Option<&str>),
) -> Result<(), StoreError> {
    unindex_item(tx, id)?;
    index_item(tx, id, title, text)
}

/// Removes an item from the index.
pub(crate) fn unindex_item(tx: &Connection, id: i64) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")
        .and_then(|mut s| s.execute([id]))
        .map_err(StoreError::ctx("removing item from search"))?;
    Ok(())
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub query: String,
    pub limit: usize,
    /// Only stories first seen at or after this time.
    pub since: Option<i64>,
    /// Only items of feeds with one of these tags (empty: all).
    pub tags: Vec<String>,
    /// Only stories carried by at least this many feeds.
    pub min_sources: usize,
    /// Judge a story (the caller's `keep`) by its headline, the item an
    /// output with `dedup = "story"` shows (its first item from a feed of
    /// `tags`), rather than by its best-matching item.
    pub headline: bool,
}

/// What a hit is titled by, as the outputs title a story: its title, else
/// the start of its text, else its link (search said "(untitled)" of a story
/// every output titled by its text).
pub fn hit_title(story: &Story) -> String {
    if let Some(t) = story.title.as_deref().filter(|t| !t.trim().is_empty()) {
        return t.to_string();
    }
    let text = plain_text(story.html.as_deref().unwrap_or(""));
    let words: Vec<&str> = text.split_whitespace().take(12).collect();
    if !words.is_empty() {
        return words.join(" ");
    }
    story.link.clone().unwrap_or_default()
}

/// A hit's snippet: around the first match in the text the story shows,
/// else in its teaser (a summary the content does not hold is indexed too),
/// else the start of the text.
pub fn hit_snippet(story: &Story, terms: &[Term]) -> Vec<Segment> {
    let body = plain_text(story.html.as_deref().unwrap_or(""));
    if matches(&body, terms).is_empty()
        && let Some(teaser) = story.summary.as_deref().map(plain_text)
        && !matches(&teaser, terms).is_empty()
    {
        return snippet(&teaser, terms, SNIPPET_BYTES);
    }
    snippet(&body, terms, SNIPPET_BYTES)
}

/// One story found.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The story, as its best-matching item that the outputs keep shows it
    /// (`html`: unsanitised).
    pub story: Story,
    /// bm25 of that item (lower is better).
    pub score: f64,
    /// Feeds carrying the story (judged as an output shows it: those whose
    /// copies its rules keep).
    pub sources: i64,
    pub title: Vec<Segment>,
    pub snippet: Vec<Segment>,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    Query(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Snippet length, in bytes of text.
pub const SNIPPET_BYTES: usize = 240;

/// Items ranked per query: a word that matches more items is ranked among its
/// newest matches (rowids grow with time), which bounds the cost of a query
/// whatever the word.
pub const MAX_MATCHES: usize = 2_000;

/// Matches ranked per query with a phrase or a short prefix (see
/// [`ParsedQuery::by_place`]), newest first: finding a phrase reads the
/// positions of its words in every item it walks past.
pub const MAX_BY_PLACE_MATCHES: usize = 1_000;

/// Of how many of the newest matches (times the places ranked) those of
/// feeds the config names, and of the output's tags, are taken.
pub const SCAN_FACTOR: usize = 10;

/// Candidates read per round when a `keep` filter drops some.
const CHUNK: usize = 200;
/// Most candidates looked at for one search with filters.
const MAX_CANDIDATES: usize = 5_000;

impl Store {
    /// Stories matching `q`, best first (bm25, then newest), one per story, that
    /// `keep` accepts.
    pub fn search(
        &self,
        q: &SearchQuery,
        keep: &dyn Fn(&Story) -> Option<Story>,
    ) -> Result<Vec<Hit>, SearchError> {
        let parsed = parse_query(&q.query).map_err(SearchError::Query)?;
        let ctx = || StoreError::ctx("searching");
        let tags = serde_json::to_string(&q.tags).unwrap_or_else(|_| "[]".into());
        // A phrase or a short prefix: bm25 would first count every item
        // matching it in the whole index (its IDF): for a phrase, walking the
        // positions of each of its words in every item (25 ms for two common
        // words at a million items), for `ab*` the ~800,000 items holding a
        // word that starts so (15 ms). Their newest matches are ranked by where
        // they match instead: the title, then the text; newest first.
        // Only items of feeds the config names (and of the output's tags)
        // take the places ranked: another feed's (or a removed feed's) 2,000
        // newer matches hid an output's story. Among the newest
        // `SCAN_FACTOR` times as many matches, so that the cost stays bounded.
        let taken = "rowid >= (SELECT coalesce(min(rowid), 0) FROM
                                    (SELECT rowid FROM search WHERE search MATCH ?1
                                     ORDER BY rowid DESC LIMIT ?9))
                                AND EXISTS (SELECT 1 FROM items fi JOIN feeds ff ON ff.id = fi.feed_id
                                    WHERE fi.id = search.rowid AND ff.in_config = 1
                                      AND (?4 = '[]' OR fi.feed_id IN (SELECT feed_id FROM feed_tags
                                           WHERE tag IN (SELECT value FROM json_each(?4)))))";
        let ranked = if parsed.by_place {
            format!(
                "p AS MATERIALIZED (SELECT rowid AS id FROM search WHERE search MATCH ?1
                                AND {taken} AND rowid < ?10
                                ORDER BY rowid DESC LIMIT ?7),
             t AS MATERIALIZED (SELECT rowid AS id FROM search WHERE search MATCH ?8
                                AND rowid >= (SELECT min(id) FROM p)),
             h AS (SELECT p.id, CASE WHEN t.id IS NULL THEN -1.0 ELSE -2.0 END AS score
                   FROM p LEFT JOIN t ON t.id = p.id)"
            )
        } else {
            format!(
                "h AS MATERIALIZED (SELECT rowid AS id, bm25(search, 4.0, 1.0) AS score
                                FROM search WHERE search MATCH ?1 AND ?8 = ''
                                AND {taken} AND rowid < ?10
                                ORDER BY rowid DESC LIMIT ?7)"
            )
        };
        // (How many matches take places in the ranking.)
        let places = if parsed.by_place {
            MAX_BY_PLACE_MATCHES
        } else {
            MAX_MATCHES
        };
        let title_fts = if parsed.by_place {
            format!("{{title}} : ({})", parsed.fts)
        } else {
            String::new()
        };
        let sources = super::queries::sources_sql("s.id");
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "WITH {ranked}
                 SELECT i.story_id, min(h.score) AS best,
                        group_concat(i.id || ':' || h.score, ',' ORDER BY h.score, i.id), s.uid,
                        s.first_seen_at, s.changed_at
                 FROM h
                 JOIN items i ON i.id = h.id
                 JOIN stories s ON s.id = i.story_id
                 JOIN feeds f ON f.id = i.feed_id
                 WHERE f.in_config = 1 AND s.first_seen_at >= ?2 AND s.item_count >= ?3
                   AND (?3 <= 1 OR {sources} >= ?3)
                   AND (?4 = '[]' OR i.feed_id IN (SELECT feed_id FROM feed_tags
                        WHERE tag IN (SELECT value FROM json_each(?4))))
                 GROUP BY i.story_id
                 ORDER BY best, s.first_seen_at DESC, s.id DESC
                 LIMIT ?5 OFFSET ?6"
            ))
            .map_err(ctx())?;
        let mut item = self
            .conn
            .prepare_cached(
                "SELECT i.url, i.title, i.author, COALESCE(i.content, i.summary),
                        i.published_at, i.updated_at, f.url, COALESCE(f.title, f.feed_title),
                        f.site_url, CASE WHEN i.content IS NOT NULL THEN i.summary END
                 FROM items i JOIN feeds f ON f.id = i.feed_id WHERE i.id = ?1",
            )
            .map_err(ctx())?;
        let mut headline = self
            .conn
            .prepare_cached(
                "SELECT i.url, i.title, i.author, COALESCE(i.content, i.summary), f.url
                 FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE i.story_id = ?1 AND f.in_config = 1
                 ORDER BY CASE WHEN ?2 = '[]' OR i.feed_id IN (SELECT feed_id FROM feed_tags
                               WHERE tag IN (SELECT value FROM json_each(?2))) THEN 0 ELSE 1 END,
                          i.first_seen_at, i.id",
            )
            .map_err(ctx())?;
        // Where the places ranked end: how many, and the oldest (see below).
        let mut window = self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*), min(rowid) FROM
                     (SELECT rowid FROM search WHERE search MATCH ?1 AND {taken}
                      AND rowid < ?10 ORDER BY rowid DESC LIMIT ?7)"
            ))
            .map_err(ctx())?;
        let mut hits: Vec<Hit> = Vec::new();
        // (Each round ranks the matches again: rounds of a few stories, for
        // `limit=1`, made a search of tied scores walk 1,250 of them, 3 s.)
        let chunk = CHUNK.max(q.limit);
        // The places ranked, `places` of the newest matches at a time: when
        // the outputs' rules hide so many of them that fewer than `limit`
        // stories are left, the next older ones (2,100 hidden "sponsored"
        // matches hid the one story shown), within the newest
        // `SCAN_FACTOR * places` and `MAX_CANDIDATES` stories in all.
        let mut below = i64::MAX;
        let mut looked = 0usize;
        loop {
            let mut hidden = false;
            let mut offset = 0usize;
            loop {
                type Head = (i64, f64, String, String, i64, i64);
                let heads: Vec<Head> = stmt
                    .query_map(
                        params![
                            parsed.fts,
                            q.since.unwrap_or(i64::MIN),
                            q.min_sources as i64,
                            tags,
                            chunk as i64,
                            offset as i64,
                            places as i64,
                            title_fts,
                            (SCAN_FACTOR * places) as i64,
                            below
                        ],
                        |r| {
                            Ok((
                                r.get(0)?,
                                r.get(1)?,
                                r.get(2)?,
                                r.get(3)?,
                                r.get(4)?,
                                r.get(5)?,
                            ))
                        },
                    )
                    .and_then(|rows| rows.collect())
                    .map_err(ctx())?;
                let n = heads.len();
                for (story_id, best, matching, uid, first_seen_at, changed_at) in heads {
                    if ranked_past(&hits, q.limit, best) {
                        return Ok(hits);
                    }
                    // (Found in a newer window already.)
                    if hits.iter().any(|h| h.story.id == story_id) {
                        continue;
                    }
                    // (Until it is taken below: hidden by the outputs' rules.)
                    let taken_before = hits.len();
                    // The story's items (those of the output's feeds first), read
                    // once it has a hit.
                    let mut members: Option<Vec<Story>> = None;
                    let mut read_members = |story: &Story| -> Result<Vec<Story>, StoreError> {
                        if members.is_none() {
                            let all = headline
                                .query_map(params![story_id, tags], |r| {
                                    Ok(Story::headline(
                                        story,
                                        r.get(0)?,
                                        r.get(1)?,
                                        r.get(2)?,
                                        r.get(3)?,
                                        r.get(4)?,
                                    ))
                                })
                                .and_then(|rows| rows.collect())
                                .map_err(ctx())?;
                            members = Some(all);
                        }
                        Ok(members.clone().unwrap_or_default())
                    };
                    let mut shown: Option<Option<Story>> = None;
                    // Its matching items, best first: it is found, and ranked, by
                    // the best one its outputs keep (a copy its own feed hides that
                    // matched better had hidden it, then ranked it).
                    for (item_id, score) in matching.split(',').filter_map(|pair| {
                        let (id, score) = pair.split_once(':')?;
                        Some((id.parse::<i64>().ok()?, score.parse::<f64>().ok()?))
                    }) {
                        let row = item
                            .query_row([item_id], |r| {
                                let link: Option<String> = r.get(0)?;
                                Ok(Story {
                                    id: story_id,
                                    uid: uid.clone(),
                                    link: link.clone(),
                                    title: r.get(1)?,
                                    author: r.get(2)?,
                                    html: r.get(3)?,
                                    // (The teaser, when the text shown is the content.)
                                    summary: r.get(9)?,
                                    published_at: r.get(4)?,
                                    updated_at: r.get(5)?,
                                    first_seen_at,
                                    changed_at,
                                    source: Source {
                                        feed_url: r.get(6)?,
                                        title: r.get(7)?,
                                        site_url: r.get(8)?,
                                        link,
                                    },
                                    also: Vec::new(),
                                    rest: Vec::new(),
                                    files_joined: false,
                                    enclosures: Vec::new(),
                                })
                            })
                            .optional()
                            .map_err(ctx())?;
                        let Some(story) = row else { continue };
                        let sources = if q.headline {
                            // Judged as the output shows it (its headline, the
                            // first item its own feed's rules keep).
                            if shown.is_none() {
                                shown = Some(shown_story(read_members(&story)?, keep));
                            }
                            let Some(Some(shown)) = &shown else { break };
                            match kept_sources(shown, &story) {
                                Some(n) => n,
                                None => continue,
                            }
                        } else {
                            if keep(&story).is_none() {
                                continue;
                            }
                            kept_feeds(&read_members(&story)?, keep)
                        };
                        let title = highlight(&hit_title(&story), &parsed.terms);
                        let snippet = hit_snippet(&story, &parsed.terms);
                        hits.push(Hit {
                            story,
                            score,
                            sources,
                            title,
                            snippet,
                        });
                        rank(&mut hits, q.limit);
                        break;
                    }
                    // (`rank` keeps at most `limit`: one pushed out was taken.)
                    if hits.len() == taken_before && hits.len() < q.limit {
                        hidden = true;
                    }
                }
                offset += n;
                looked += n;
                if n < chunk || looked >= MAX_CANDIDATES {
                    break;
                }
            }
            if hits.len() >= q.limit || !hidden || looked >= MAX_CANDIDATES {
                return Ok(hits);
            }
            // The window was full: the next one, below its oldest match.
            let (count, oldest): (i64, Option<i64>) = window
                .query_row(
                    params![
                        parsed.fts,
                        Option::<i64>::None,
                        Option::<i64>::None,
                        tags,
                        Option::<i64>::None,
                        Option::<i64>::None,
                        places as i64,
                        Option::<String>::None,
                        (SCAN_FACTOR * places) as i64,
                        below
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(ctx())?;
            match oldest {
                Some(oldest) if count as usize >= places => below = oldest,
                _ => return Ok(hits),
            }
        }
    }

    /// While items are still to be indexed (after an upgrade that rebuilt the
    /// index, until a writing command finishes it): the last item id indexed
    /// and the last id to index.
    pub fn search_backfill_progress(&self) -> Result<Option<(i64, i64)>, StoreError> {
        self.conn
            .query_row(
                "SELECT next_id - 1, last_id FROM search_backfill",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StoreError::ctx("reading search backfill progress"))
    }

    /// Indexes the items stored before the search table existed, 1000 per
    /// transaction; an interrupted run carries on at the next open.
    pub(super) fn backfill_search(&mut self) -> Result<(), StoreError> {
        let ctx = || StoreError::ctx("indexing stored items for search");
        loop {
            let tx = self.conn.transaction().map_err(ctx())?;
            let Some((next, last)): Option<(i64, i64)> = tx
                .query_row("SELECT next_id, last_id FROM search_backfill", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(ctx())?
            else {
                return Ok(());
            };
            if next > last {
                tx.execute("DELETE FROM search_backfill", [])
                    .map_err(ctx())?;
                tx.commit().map_err(ctx())?;
                return Ok(());
            }
            let upto = next.saturating_add(999).min(last);
            type Row = (i64, Option<String>, Option<String>, Option<String>);
            let rows: Vec<Row> = tx
                .prepare(
                    "SELECT id, title, content, summary FROM items
                     WHERE id BETWEEN ?1 AND ?2",
                )
                .and_then(|mut s| {
                    s.query_map([next, upto], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect()
                })
                .map_err(ctx())?;
            for (id, title, content, summary) in rows {
                reindex_item(
                    &tx,
                    id,
                    title.as_deref(),
                    (content.as_deref(), summary.as_deref()),
                )?;
            }
            tx.execute("UPDATE search_backfill SET next_id = ?1", [upto + 1])
                .map_err(ctx())?;
            tx.commit().map_err(ctx())?;
        }
    }
}

/// The story whose items (those of the output's feeds first) are `members`,
/// as the output shows it (its headline: the first item its own feed's rules
/// keep, the others it keeps as `rest`), if it does.
pub(crate) fn shown_story(
    members: Vec<Story>,
    keep: &dyn Fn(&Story) -> Option<Story>,
) -> Option<Story> {
    let mut all = members.into_iter();
    let mut head = all.next()?;
    head.rest = all.collect();
    keep(&head)
}

/// Hits best first (lower scores), then the newest, at most `limit`.
pub(crate) fn rank(hits: &mut Vec<Hit>, limit: usize) {
    hits.sort_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then(b.story.first_seen_at.cmp(&a.story.first_seen_at))
            .then(b.story.id.cmp(&a.story.id))
    });
    hits.truncate(limit);
}

/// Whether the hits, [`rank`]ed, are final before a story whose best match
/// scores `best`: it and every later one (candidates come best first) can
/// rank no better than the last hit kept.
pub(crate) fn ranked_past(hits: &[Hit], limit: usize, best: f64) -> bool {
    hits.len() >= limit && hits.last().is_some_and(|h| best > h.score)
}

/// How many feeds carry the items of `members` that an output keeps, judged
/// item by item (an output with `dedup = "item"`).
pub(crate) fn kept_feeds(members: &[Story], keep: &dyn Fn(&Story) -> Option<Story>) -> i64 {
    let mut feeds: Vec<&str> = members
        .iter()
        .filter(|m| keep(m).is_some())
        .map(|m| m.source.feed_url.as_str())
        .collect();
    feeds.sort_unstable();
    feeds.dedup();
    feeds.len() as i64
}

/// Whether the `hit` item is one of the items the `shown` story keeps (a hit
/// on a copy its feed hides finds nothing: its words are in no output), and
/// then how many feeds carry the kept ones (a hidden copy's feed is no
/// source).
pub(crate) fn kept_sources(shown: &Story, hit: &Story) -> Option<i64> {
    let kept = || std::iter::once(shown).chain(&shown.rest);
    let same = |m: &Story| {
        m.source.feed_url == hit.source.feed_url && m.link == hit.link && m.title == hit.title
    };
    if !kept().any(same) {
        return None;
    }
    let mut feeds: Vec<&str> = kept().map(|m| m.source.feed_url.as_str()).collect();
    feeds.sort_unstable();
    feeds.dedup();
    Some(feeds.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a private story shows is judged as the index reads it (a story
    /// found by a folded word was hidden from `/search` as if it matched
    /// only its secret): a decomposed accent, a word beside CJK characters,
    /// `ß` and ligatures.
    #[test]
    fn a_shown_text_is_read_as_the_index_reads_it() {
        let word = |w: &str| Term {
            text: w.to_string(),
            cjk: false,
            prefix: false,
        };
        for (text, q) in [
            ("Verkehr in Ko\u{308}ln", "köln"),
            ("Verkehr in Köln", "ko\u{308}ln"),
            ("Nachrichten ソウルStraßeソウル", "strasse"),
            ("東京のStraße駅", "straße"),
            ("Das ﬁnanzamt", "finanzamt"),
            ("Iğdır", "igdır"),
        ] {
            assert!(finds_every(text, &[word(q)]), "{q} in {text}");
        }
        // Still whole words.
        assert!(!finds_every("Straßenbahn", &[word("strasse")]));
        assert!(!finds_every("Kolner", &[word("koln")]));
    }

    #[test]
    fn other_search_syntaxes_are_named() {
        assert_eq!(syntax_note("volcano airport"), None);
        assert_eq!(syntax_note("\"a phrase\" prefix* and or not"), None);
        let n = syntax_note("zebra AND marmalade OR x").unwrap();
        assert!(n.starts_with("AND, OR and NOT are words to find"), "{n}");
        assert!(!n.contains(';'), "said once: {n}");
        let n = syntax_note("NEAR(zebra unique3, 2) title:zebra \"bulk sto*\"").unwrap();
        assert!(n.contains("NEAR(…) is no operator"), "{n}");
        assert!(n.contains("a field filter (title:…)"), "{n}");
        assert!(n.contains("a * inside quotes is no prefix"), "{n}");
        let n = syntax_note("NEAR (zebra filler) title:\"filler text\" link:zebra").unwrap();
        assert!(n.contains("NEAR(…) is no operator"), "{n}");
        assert!(n.contains("(title:…)") && n.contains("(link:…)"), "{n}");
        assert_eq!(syntax_note("ISBN:0262 zebra NEAR"), None);
        // (Inside a phrase, AND is a word as written.)
        assert_eq!(syntax_note("\"rock AND roll\""), None);
    }

    #[test]
    fn soft_hyphens_and_wbr_do_not_split_words() {
        assert_eq!(
            plain_text("<p>Der Flug&shy;hafen Ber<wbr>lin, Stra\u{ad}ßen\u{ad}bahn</p>"),
            "Der Flughafen Berlin, Straßenbahn"
        );
        assert_eq!(
            index_text("Ober\u{ad}bürger\u{ad}meisterin"),
            "Oberbürgermeisterin"
        );
        // So do inline elements' tags, as the page shows them; a line break,
        // an image and block elements part words.
        assert_eq!(
            plain_text(
                "<p><span class=\"dropcap\">W</span>ashington: <em>un</em>believable CO<sub>2</sub> \
                 <a href=\"/x\">Micro</a><B>soft</B></p><p>next</p>"
            ),
            "Washington: unbelievable CO2 Microsoft next"
        );
        // A quotation's marks and a footnote's mark part words; invisible
        // joiners, custom elements and those the outputs unwrap do not.
        assert_eq!(
            plain_text(
                "He said<q>india</q>, rose<a href=\"#fn1\">1</a> and<sup>[2]</sup> m<sup>23</sup>x \
                 Wash\u{200b}ing\u{2060}to\u{feff}n <label>yan</label>kee o<o:p>k</o:p> x<my-el>y</my-el>"
            ),
            "He said india , rose 1 and [2] m 23x Washington yankee ok xy"
        );
        // An edit's old and new text stay apart; a comment parts no word.
        assert_eq!(
            plain_text("<del>2</del><ins>3</ins> people, Wash<!-- x -->ington"),
            "2 3 people, Washington"
        );
        assert_eq!(plain_text("a<br>b<img src=x>c<div>d</div>"), "a b c d");
    }

    /// The text as the index takes it, character by character (what
    /// `push_text` and `index_text` did before their runs were copied whole):
    /// the same words, spaces and pairs for any text.
    #[test]
    fn text_copied_in_runs_is_the_text_read_char_by_char() {
        fn by_char(text: &str) -> String {
            let mut out = String::new();
            for c in crate::parse::decode_entities(text).chars() {
                if c.is_whitespace() {
                    if !out.is_empty() && !out.ends_with(' ') {
                        out.push(' ');
                    }
                } else if !joins(c) {
                    out.push(c);
                }
            }
            out
        }
        let texts = [
            "plain words, one space",
            "  leading\ttabs\r\nand\x0bvertical\x0cfeeds  ",
            "no\u{a0}break\u{3000}ideographic\u{2028}line\u{85}next",
            "Flug\u{ad}hafen \u{ad}\u{ad} soft",
            "\x1c\x1d\x1e\x1f separators are not spaces",
            "caf\u{e9} na\u{ef}ve \u{1f600} \u{200b}zero width",
            "東京都 の 駅\u{3000}北京大学",
            "a &amp; b &nbsp; c&#x20;d &shy;e",
            "\0nul\0 and \u{ad}",
            "",
            " ",
            "end with space ",
            "a  b a \tb a\t b word \u{a0}next a\u{ad} b a \u{ad}b",
        ];
        // Called once per text between tags: the spaces of two calls.
        let mut out = String::new();
        for part in ["one ", " two", "  ", "three\t", " four"] {
            push_text(&mut out, part);
        }
        assert_eq!(out, by_char("one  two  three\t four"));
        for t in texts {
            let mut out = String::new();
            push_text(&mut out, t);
            assert_eq!(out, by_char(t), "{t:?}");
            let reference = {
                let cleaned = t.replace('\0', " ").replace(joins, "");
                // (The CJK path, which both take, is checked by the tests
                // below; here only texts without CJK take the fast one.)
                if cleaned.chars().any(is_cjk) {
                    None
                } else {
                    Some(cleaned)
                }
            };
            if let Some(r) = reference {
                assert_eq!(index_text(t), r, "{t:?}");
            }
        }
    }

    #[test]
    fn plain_text_drops_markup_scripts_and_styles() {
        assert_eq!(
            plain_text(
                "<p>One</p><p>two &amp; <b>three</b></p><script>var x = '<p>';</script>four<style>p{}</style>"
            ),
            "One two & three four"
        );
        assert_eq!(
            plain_text("1 < 2 and <a title='x>y'>link</a>"),
            "1 < 2 and link"
        );
        assert_eq!(plain_text("<SCRIPT>evil()</SCRIPT>ok"), "ok");
        assert_eq!(plain_text("<script>never closed"), "");
        // Comments as HTML ends them (not at their first `>`): their text
        // is no story's.
        assert_eq!(
            plain_text(
                "<p>Revenue rose.</p><!-- <p>DRAFT: layoffs planned</p> --><p>More next week.</p>"
            ),
            "Revenue rose. More next week."
        );
        assert_eq!(
            plain_text("<p>one <!-- a > b --> two</p><!-- x <p> hidden"),
            "one two"
        );
        assert_eq!(plain_text("a<!-->b<!--->c"), "abc");
        // Raw text shows its tags as text (found by a black-box round: the
        // words of a script shown inside `xmp` were not found).
        assert_eq!(
            plain_text("<xmp>see <script>zqaa</script> end</xmp> after"),
            "see <script>zqaa</script> end after"
        );
        assert_eq!(
            plain_text(
                "<TEXTAREA>a <style>zqdd</style></textarea><title>t <script>zqee</script></title>"
            ),
            "a <style>zqdd</style> t <script>zqee</script>"
        );
        assert_eq!(
            plain_text("x<plaintext>y <script>zqcc</script></plaintext>"),
            "x y <script>zqcc</script></plaintext>"
        );
        // (Their entities as written, as the page shows them; a textarea's
        // and a title's decoded.)
        assert_eq!(
            plain_text("<xmp>caf&eacute;</xmp><textarea>caf&eacute;</textarea>"),
            "caf&eacute; café"
        );
        // What the story shows: a noscript's text, not an iframe's fallback
        // (unless it is never closed).
        assert_eq!(
            plain_text("<noscript>shown</noscript><iframe src=x>fallback</iframe>after"),
            "shown after"
        );
        assert_eq!(plain_text("<iframe src=x>story text"), "story text");
        assert_eq!(
            plain_text("<p>Visible</p><iframe src=x>zif2</iframe>"),
            "Visible"
        );
        assert_eq!(plain_text("<iframe src=x />kept</iframe>"), "kept");
    }

    #[test]
    fn cjk_runs_become_pairs() {
        assert_eq!(index_text("東京都"), " 東京 京都 都 ");
        assert_eq!(
            index_text("in 서울에서 now")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["in", "서울", "울에", "에서", "서", "now"]
        );
        assert_eq!(index_text("plain words"), "plain words");
    }

    #[test]
    fn a_query_without_words_is_quoted_as_written() {
        let said = |q: &str| parse_query(q).err().unwrap();
        assert_eq!(said("\"\""), "the query `\"\"` has no words to search for");
        // (A bidi override escaped, not applied to the message.)
        assert_eq!(
            said("\u{202e}"),
            "the query `\\u{202e}` has no words to search for"
        );
    }

    #[test]
    fn queries_are_quoted_and_split_by_script() {
        let q = parse_query("Rust \"new release\" wasm* 北京大学 学").unwrap();
        assert_eq!(
            q.fts,
            "\"Rust\" AND \"new release\" AND \"wasm\"* AND \"北京 京大 大学\" AND \"学\"*"
        );
        assert!(q.by_place, "a quoted phrase of two words");
        assert!(
            !parse_query("\"rust\" e-mail 北京大学 wasm*")
                .unwrap()
                .by_place
        );
        assert!(parse_query("rust was*").unwrap().by_place, "a short prefix");
        // A prefix of one letter or digit is refused, alone or ending a
        // word written with punctuation (it has no index: 32 of them read
        // nearly the whole index); a CJK character is a prefix of its pairs.
        // So is one spelled with a mark the tokenizer takes for a space
        // (U+0345, a Hebrew point, an Arabic or Thai sign, a circled letter);
        // an accent it removes joins the letters around it.
        for q in [
            "a*",
            "rust b*",
            "covid-1*",
            "é*",
            "a\u{345}*",
            "ab\u{345}c*",
            "q\u{5b0}*",
            "s\u{e31}*",
            "d\u{670}*",
            "m\u{24b6}*",
            "e\u{301}*",
        ] {
            let e = parse_query(q).unwrap_err();
            assert!(
                e.contains("a prefix needs two letters or digits"),
                "{q}: {e}"
            );
        }
        assert!(parse_query("ab* covid-19* 学* cafe\u{301}* a\u{301}b*").is_ok());
        // A field filter and NEAR(…) are their words, as the note says.
        for (q, words) in [
            ("title:volcano NEAR(Airport lava)", "volcano Airport lava"),
            (
                "TITLE:volcano NEAR (Airport lava, 3)",
                "volcano Airport lava, 3",
            ),
        ] {
            assert_eq!(
                parse_query(q).unwrap().fts,
                parse_query(words).unwrap().fts,
                "{q}"
            );
        }
        // (A word that ends in a colon, or a field's name alone, is a word.)
        assert_eq!(
            parse_query("title: near").unwrap().fts,
            "\"title:\" AND \"near\""
        );
        assert_eq!(
            parse_query("10:30 e-mail").unwrap().fts,
            "\"10:30\" AND \"e-mail\""
        );
        // FTS5 syntax typed by a user is only text.
        let q = parse_query("a\" OR b NEAR(c) -d").unwrap();
        assert!(q.fts.starts_with("\"a\"\"\""), "{}", q.fts);
        assert!(parse_query("  ").unwrap_err().contains("empty"));
        // Bounded: words (CJK pairs) and bytes; a repeated word counts once.
        let words = |n: usize| {
            (0..n)
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(parse_query(&words(MAX_QUERY_WORDS)).is_ok());
        let e = parse_query(&words(MAX_QUERY_WORDS + 1)).unwrap_err();
        assert!(e.contains("more than 32 words"), "{e}");
        let e = parse_query(&format!("\"{}\"", words(40))).unwrap_err();
        assert!(e.contains("more than 32 words"), "{e}");
        assert!(parse_query(&"北".repeat(MAX_QUERY_WORDS + 1)).is_ok());
        assert!(parse_query(&"北".repeat(MAX_QUERY_WORDS + 2)).is_err());
        let q = parse_query(&"rust Rust ".repeat(100)).unwrap();
        assert_eq!(q.fts, "\"rust\"");
        assert_eq!(q.terms.len(), 1);
        let e = parse_query(&"x".repeat(MAX_QUERY_BYTES + 1)).unwrap_err();
        assert!(e.contains("at most 1024"), "{e}");
        assert!(parse_query("!!! ...").unwrap_err().contains("no words"));
        // A control character is a space (a NUL ended FTS5's reading).
        let q = parse_query("rust\0wasm\u{1b}").unwrap();
        assert_eq!(q.fts, "\"rust\" AND \"wasm\"");
        assert!(parse_query("\0").unwrap_err().contains("empty"));
    }

    #[test]
    fn phrases_and_words_of_several_are_marked_where_they_matched() {
        let marked = |q: &str, text: &str| -> Vec<String> {
            highlight(text, &parse_query(q).unwrap().terms)
                .into_iter()
                .filter(|s| s.mark)
                .map(|s| s.text)
                .collect()
        };
        // A phrase across punctuation, as FTS5 found it.
        assert_eq!(
            marked("\"hello world\"", "A Hello-world program"),
            ["Hello-world"]
        );
        assert_eq!(marked("\"post war\"", "the post-war years"), ["post-war"]);
        // A word of several is its words together, not each anywhere.
        assert_eq!(marked("pre-war", "pre-war and post-war"), ["pre-war"]);
        assert_eq!(marked("e.g.", "e.g. or i.e."), ["e.g"]);
        assert_eq!(
            marked("1,000,000", "+1-800-555 for 1,000,000 people"),
            ["1,000,000"]
        );
        // A `*` inside quotes is no prefix: the phrase is marked.
        assert_eq!(
            marked("\"bulk story*\"", "Bulk story number one"),
            ["Bulk story"]
        );
        // A soft hyphen, which the index leaves out, is inside the word.
        assert_eq!(
            marked("bundesregierung", "Die Bundes\u{ad}regierung plant"),
            ["Bundes\u{ad}regierung"]
        );
        // Words of a phrase apart in the text are not the phrase.
        assert!(marked("\"hello world\"", "hello, dear world").is_empty());
    }

    #[test]
    fn highlights_whole_words_and_cjk_anywhere() {
        let terms = parse_query("rust 東京").unwrap().terms;
        let segs = highlight("Rust, trusty RUST; 東京都", &terms);
        let marked: Vec<&str> = segs
            .iter()
            .filter(|s| s.mark)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(marked, ["Rust", "RUST", "東京"]);
        let prefix = parse_query("rel*").unwrap().terms;
        let segs = highlight("the release relies", &prefix);
        assert_eq!(segs.iter().filter(|s| s.mark).count(), 2);
        assert_eq!(segs[1].text, "release");
    }

    #[test]
    fn snippets_leave_control_characters_out() {
        let terms = parse_query("ctl").unwrap().terms;
        let s = snippet("ctl\u{1}\u{8} \u{1b}[31mred\u{7f} end", &terms, 120);
        let text: String = s.iter().map(|g| g.text.as_str()).collect();
        assert_eq!(text, "ctl [31mred end");
    }

    #[test]
    fn a_nul_character_reference_is_never_indexed() {
        let (_, body) = indexed_fields(None, Some("<p>before&#0;after</p>"), None);
        assert!(!body.contains('\0'), "{body:?}");
        assert!(
            body.contains("before") && body.contains("after"),
            "{body:?}"
        );
    }

    #[test]
    fn matches_ignore_accents_as_the_index_does() {
        let q = parse_query("zurich").unwrap();
        let segs = highlight("Meeting in Zürich", &q.terms);
        assert!(
            segs.iter().any(|s| s.mark && s.text == "Zürich"),
            "{segs:?}"
        );
        let q = parse_query("Zürich").unwrap();
        let segs = highlight("ZURICH and zurich", &q.terms);
        assert_eq!(segs.iter().filter(|s| s.mark).count(), 2, "{segs:?}");
        let text = format!("{} Zürich end", "word ".repeat(120));
        let q = parse_query("zur*").unwrap();
        let snip = snippet(&text, &q.terms, 60);
        assert!(
            snip.iter().any(|s| s.mark && s.text == "Zürich"),
            "{snip:?}"
        );
    }

    #[test]
    fn snippets_centre_on_the_first_match() {
        let text = format!("{} needle {}", "word ".repeat(200), "tail ".repeat(200));
        let terms = parse_query("needle").unwrap().terms;
        let s = snippet(&text, &terms, 120);
        assert_eq!(s.first().unwrap().text, "… ");
        assert_eq!(s.last().unwrap().text, " …");
        assert!(s.iter().any(|x| x.mark && x.text == "needle"));
        let len: usize = s.iter().map(|x| x.text.len()).sum();
        assert!(len <= 130, "{len}");
    }
}
