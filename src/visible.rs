//! Whether two versions of an HTML body read the same to a reader (pure).
//!
//! Some servers spell the same body differently from one fetch to the next:
//! `<br>` and `<br />`, attributes in another order, `&#100;` for `d`, other
//! white space between tags, a comment with a build time, an image whose
//! signed address has a new token (`?sig=…`). Each spelling has a new content
//! hash; without this, the story was announced as updated at every poll.
//! What a reader sees (the text, the elements and their attributes, the
//! addresses of images and media) still counts: one changed word, link target
//! or picture is an update.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Bodies longer than this together are compared as written.
const MAX_COMPARED: usize = 256 * 1024;

/// A body with a tag longer than this is compared as written: the
/// tokenizer's cost grows with the square of one element's attributes (a tag
/// of 55,000 attribute names cost 1.5 s, inside the store's transaction).
const MAX_TAG: usize = 2048;

/// Whether `a` and `b` differ only in how their markup is spelled (see the
/// module's doc). Equal strings are the same; bodies over [`MAX_COMPARED`]
/// bytes together are the same only when equal.
pub fn same_to_a_reader(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.len() + b.len() > MAX_COMPARED || !short_tags(a) || !short_tags(b) {
        return false;
    }
    read(a) == read(b)
}

/// Whether two bodies (or titles) read as the same words, their markup,
/// letter case and punctuation aside (a wrapping `<div>`, white space
/// inside a paragraph, `"weekends"` curled to `“weekends”`, `,` written
/// ` —`, Title Case): for an item found again by its date in another
/// place (a site that moved, and writes its markup otherwise there, or
/// through a filter that curls its quotes), where [`same_to_a_reader`]
/// judges an item's own edits.
pub fn same_words(a: &str, b: &str) -> bool {
    use crate::store::search::plain_text;
    // (A `.` or `,` between digits is part of the number: `1.0` is not
    // `10`, nor `6.6` `66`.)
    fn words(text: &str) -> impl Iterator<Item = String> + '_ {
        text.split_whitespace()
            .map(|w| {
                let chars: Vec<char> = w.chars().collect();
                chars
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| {
                        c.is_alphanumeric()
                            || (matches!(c, '.' | ',')
                                && *i > 0
                                && chars[i - 1].is_ascii_digit()
                                && chars.get(i + 1).is_some_and(char::is_ascii_digit))
                    })
                    .flat_map(|(_, c)| c.to_lowercase())
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty())
    }
    a == b || words(&plain_text(a)).eq(words(&plain_text(b)))
}

/// Whether every tag of `html` (from a `<` to the next `>`) is at most
/// [`MAX_TAG`] bytes long.
fn short_tags(html: &str) -> bool {
    let b = html.as_bytes();
    let mut at = 0;
    while let Some(lt) = memchr::memchr(b'<', &b[at..]) {
        let start = at + lt;
        match memchr::memchr(b'>', &b[start..]) {
            Some(len) if len <= MAX_TAG => at = start + len + 1,
            Some(_) => return false,
            None => return b.len() - start <= MAX_TAG,
        }
    }
    true
}

/// [`same_to_a_reader`] of two optional bodies (none and an empty one alike).
pub fn same_optional(a: Option<&str>, b: Option<&str>) -> bool {
    same_to_a_reader(a.unwrap_or(""), b.unwrap_or(""))
}

#[derive(Debug, PartialEq, Eq)]
enum Part {
    /// An element's start: its name and its attributes, sorted.
    Start(String, Vec<(String, String)>),
    End(String),
    /// Text, each run of white space one space.
    Text(String),
}

struct Sink {
    parts: RefCell<Vec<Part>>,
    /// How deep inside `<pre>` (or `<textarea>`, `<listing>`) the text is:
    /// there white space is what a reader sees, kept as it is.
    pre: std::cell::Cell<usize>,
    /// Inside a `<script>` or `<style>`: nothing a reader sees (no output
    /// publishes them).
    hidden: std::cell::Cell<bool>,
}

impl Sink {
    fn text(&self, s: &str) {
        if self.hidden.get() {
            return;
        }
        let mut parts = self.parts.borrow_mut();
        if !matches!(parts.last(), Some(Part::Text(_))) {
            parts.push(Part::Text(String::new()));
        }
        let Some(Part::Text(t)) = parts.last_mut() else {
            return;
        };
        if self.pre.get() > 0 {
            t.push_str(s);
            return;
        }
        // (HTML's white space: a run of no-break spaces is as many spaces.)
        for c in s.chars() {
            if c.is_ascii_whitespace() {
                if !t.ends_with(' ') {
                    t.push(' ');
                }
            } else {
                t.push(c);
            }
        }
    }
}

/// Attributes no output publishes (the sanitizer drops them) and no reader
/// sees: a WordPress gallery's `id="gallery-2"`, renumbered in every older
/// post when a new one has a gallery, announced them all.
fn unpublished_attribute(name: &str) -> bool {
    matches!(
        name,
        "class"
            | "id"
            | "style"
            | "nonce"
            | "target"
            | "rel"
            | "loading"
            | "decoding"
            | "fetchpriority"
            | "tabindex"
            | "role"
            | "itemprop"
            | "itemscope"
            | "itemtype"
            | "itemid"
            | "draggable"
            | "contenteditable"
            | "spellcheck"
            | "translate"
    ) || name.starts_with("on")
        || name.starts_with("aria-")
        || (name.starts_with("data-") && !matches!(name, "data-src" | "data-srcset"))
}

/// Elements that start a block of their own: white space beside their tags
/// is no space a reader sees.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "hr"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "table"
            | "thead"
            | "tbody"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "blockquote"
            | "section"
            | "article"
            | "aside"
            | "header"
            | "footer"
            | "nav"
            | "figure"
            | "figcaption"
            | "pre"
            | "main"
            | "address"
            | "details"
            | "summary"
    )
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(s) => self.text(&s),
            Token::TagToken(tag) => {
                let name = tag.name.to_string();
                if matches!(name.as_str(), "script" | "style") {
                    let start = tag.kind == TagKind::StartTag;
                    self.hidden.set(start && !tag.self_closing);
                    return match start && !tag.self_closing {
                        true if name == "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                        true => TokenSinkResult::RawData(RawKind::Rawtext),
                        false => TokenSinkResult::Continue,
                    };
                }
                let pre = matches!(name.as_str(), "pre" | "textarea" | "listing");
                let part = match tag.kind {
                    TagKind::StartTag => {
                        let mut attrs: Vec<(String, String)> = tag
                            .attrs
                            .iter()
                            .filter(|a| !unpublished_attribute(&a.name.local))
                            .map(|a| {
                                let n = a.name.local.to_string();
                                let v = resource_address(&name, &n, a.value.trim());
                                (n, v)
                            })
                            .collect();
                        attrs.sort();
                        if pre && !tag.self_closing {
                            self.pre.set(self.pre.get() + 1);
                        }
                        Part::Start(name.clone(), attrs)
                    }
                    TagKind::EndTag => {
                        if pre {
                            self.pre.set(self.pre.get().saturating_sub(1));
                        }
                        Part::End(name.clone())
                    }
                };
                self.parts.borrow_mut().push(part);
                if tag.kind == TagKind::StartTag {
                    // Their contents are text, as a browser reads them.
                    // (`script` and `style` are read above, as nothing.)
                    match name.as_str() {
                        "xmp" | "iframe" | "noembed" | "noframes" => {
                            return TokenSinkResult::RawData(RawKind::Rawtext);
                        }
                        "title" | "textarea" => {
                            return TokenSinkResult::RawData(RawKind::Rcdata);
                        }
                        _ => {}
                    }
                }
            }
            // Comments, doctypes, NULs, the tokenizer's complaints: nothing
            // a reader sees.
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// An attribute's value as it names what a reader sees: a URL without the
/// parameters that sign it or let it expire (a signed address's new token is
/// the same picture, as an enclosure's is the same file, and the same page
/// behind a link), and an image's or a medium's (`img`, `picture`'s
/// `source`, `video`, `audio`) without those that only defeat caches
/// (`?v=3`, `?t=…`) nor its fragment. Its other parameters name what it
/// shows (`show.php?id=456`, a formula's `svg.image?x^3`, an embedded
/// page's `watch?v=…`); any other value as written.
fn resource_address(element: &str, name: &str, value: &str) -> String {
    let media = matches!(
        element,
        "img" | "source" | "video" | "audio" | "picture" | "track"
    );
    let bare = |u: &str| unsharded(&stable_address(u, media));
    match name {
        "href" | "src" | "data" if !media => stable_address(value, false),
        _ if !media => value.to_string(),
        "src" | "poster" | "data-src" => bare(value),
        "srcset" | "data-srcset" => value
            .split(',')
            .map(|c| {
                let c = c.trim();
                let (url, rest) = c.split_at(c.find(char::is_whitespace).unwrap_or(c.len()));
                format!("{} {}", bare(url), rest.trim())
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => value.to_string(),
    }
}

/// A picture's address without the number of the server it is taken from
/// (`i1.ytimg.com`, `i4.ytimg.com`: a video's thumbnail moved between them
/// from one fetch to the next, and the video was announced updated at every
/// poll).
fn unsharded(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(host_end);
    let Some((first, domain)) = host.split_once('.') else {
        return url.to_string();
    };
    let letters = first.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = first.len() - letters.len();
    let shard = (1..=2).contains(&digits)
        && letters.len() <= 4
        && letters.bytes().all(|b| b.is_ascii_lowercase())
        && domain.contains('.');
    match shard {
        true => format!("{scheme}://{letters}#.{domain}{path}"),
        false => url.to_string(),
    }
}

/// `url` without its `utm_` parameters and, when it is signed (a signature
/// among its parameters), those that sign it or let it expire (`X-Amz-…`,
/// `Expires`, a SAS's `se`); for a medium (`media`) also those named or
/// valued as secrets, those that only defeat caches, and the fragment.
pub(crate) fn stable_address(url: &str, media: bool) -> String {
    let Some((file, rest)) = url.split_once('?') else {
        return match media {
            true => crate::identity::file_address(url).to_string(),
            false => url.to_string(),
        };
    };
    let (query, fragment) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
    let name_of = |pair: &str| pair.split('=').next().unwrap_or("").to_ascii_lowercase();
    // A signed address (a signature among its parameters): its signing
    // family goes. (Unsigned, those names may be what a link names: a
    // forum's `?st=40`, a ticket, a commit's `?id=<hash>`.)
    let signed = query.split('&').any(|p| {
        matches!(
            name_of(p).as_str(),
            "x-amz-signature" | "x-goog-signature" | "signature" | "sig" | "hdnts" | "hdnea"
        )
    });
    let volatile = |pair: &str| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let n = name.to_ascii_lowercase();
        let signing = signing_name(&n);
        // (A file's or picture's expiry or signature names nothing, signed
        // or not: `ep2.mp3?token=…&expires=…`.)
        let expiring = n.starts_with("x-amz-")
            || n.starts_with("x-goog-")
            || matches!(
                n.as_str(),
                "signature" | "sig" | "exp" | "expires" | "expiry" | "policy" | "key-pair-id"
            );
        n.starts_with("utm_")
            || (signed && signing)
            || (media
                && (expiring
                    || crate::urls::secret_name(name)
                    || crate::urls::token_like(value)
                    || n == "itok"
                    || (matches!(n.as_str(), "v" | "ver" | "version") && version_like(value))
                    || matches!(
                        n.as_str(),
                        "t" | "ts"
                            | "sqp"
                            | "rs"
                            | "cb"
                            | "_"
                            | "rand"
                            | "nocache"
                            | "timestamp"
                            | "w"
                            | "h"
                            | "resize"
                            | "fit"
                            | "quality"
                    )))
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !volatile(p))
        .collect();
    let mut out = file.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if !media {
        out.push_str(fragment);
    }
    out
}

/// Whether a query parameter's name (lower case) is one that signs an
/// address or lets it expire (`X-Amz-…`, `Expires`, a SAS's `se`).
pub(crate) fn signing_name(n: &str) -> bool {
    n.starts_with("x-amz-")
        || n.starts_with("x-goog-")
        || matches!(
            n,
            "signature"
                | "sig"
                | "exp"
                | "expires"
                | "expiry"
                | "policy"
                | "key-pair-id"
                | "se"
                | "st"
                | "sp"
                | "sv"
                | "sr"
                | "spr"
                | "skoid"
                | "sktid"
                | "skt"
                | "ske"
                | "sks"
                | "skv"
                | "hdnts"
                | "hdnea"
        )
}

/// A version or cache buster's value (`3`, `1.2.3`, `1699999999`, a hash
/// `3f2a1b9c`), not a name (`watch?v=dQw4w9WgXcQ` names a video).
fn version_like(value: &str) -> bool {
    let b = value.as_bytes();
    b.iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'_'))
        || (b.len() >= 8 && b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
}

/// `html` as the parts a reader sees: white space beside a block's tags
/// (between paragraphs) left out, and at its ends; between inline elements
/// (`<b>New</b> <i>York</i>`) a space.
fn read(html: &str) -> Vec<Part> {
    let sink = Sink {
        parts: RefCell::new(Vec::new()),
        pre: std::cell::Cell::new(0),
        hidden: std::cell::Cell::new(false),
    };
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let _ = tok.feed(&input);
    tok.end();
    let parts = tok.sink.parts.into_inner();
    let block = |p: Option<&Part>| match p {
        None => true,
        Some(Part::Start(n, _) | Part::End(n)) => is_block(n),
        Some(Part::Text(_)) => false,
    };
    let mut kept: Vec<Part> = Vec::with_capacity(parts.len());
    // (Inside `<pre>` every space is seen, beside a `<br>` too.)
    let mut pre = 0usize;
    let preformatted = |n: &str| matches!(n, "pre" | "textarea" | "listing");
    for (i, p) in parts.iter().enumerate() {
        match p {
            Part::Start(n, _) if preformatted(n) => pre += 1,
            Part::End(n) if preformatted(n) => pre = pre.saturating_sub(1),
            _ => {}
        }
        if let Part::Text(t) = p
            && pre == 0
            && t.chars().all(|c| c.is_ascii_whitespace())
            && (block(kept.last()) || block(parts.get(i + 1)))
        {
            continue;
        }
        kept.push(match p {
            Part::Start(n, a) => Part::Start(n.clone(), a.clone()),
            Part::End(n) => Part::End(n.clone()),
            Part::Text(t) => Part::Text(t.clone()),
        });
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words, not their markup, case or punctuation: a site that curls its
    /// quotes, writes `,` as ` —` or titles in Title Case writes the same
    /// words; other words, or more of them, are not.
    #[test]
    fn same_words_sets_aside_markup_case_and_punctuation() {
        assert!(same_words(
            "<p>Open on \"weekends\", from 9 o'clock.</p>",
            "<div><p class=\"x\">Open on “weekends” — from 9 o’clock.</p></div>"
        ));
        assert!(same_words("Don't Miss The Mill", "Don’t miss the mill"));
        assert!(!same_words("Weather for Monday", "Weather for Tuesday"));
        assert!(!same_words("Open at 9", "Open at 10"));
        assert!(!same_words("Version 1.0 released", "Version 10 released"));
        assert!(!same_words("Route 6.6 closed", "Route 66 closed"));
        assert!(same_words(
            "Version 1.0, released.",
            "version 1.0 — released"
        ));
        assert!(!same_words(
            "Open on weekends.",
            "Open on weekends. Appeared first on X"
        ));
        assert!(!same_words("It's", "Its own"));
    }

    #[test]
    fn markup_spellings_read_the_same() {
        let same = |a: &str, b: &str| assert!(same_to_a_reader(a, b), "{a:?} vs {b:?}");
        same("a<br>b", "a<br />b");
        same("a<br>b", "a<BR/>b");
        same(
            r#"<a href="https://e.org/x" title="t">x</a>"#,
            r#"<a title='t'  href="https://e.org/x">x</a>"#,
        );
        same("<p>dog</p>", "<p>&#100;og</p>");
        same("<p>caf&eacute; &amp; co</p>", "<p>café &#38; co</p>");
        same("<p>a</p>\n<p>b  c</p>", "<p>a</p><p>b\n c</p>");
        same(
            "<p>a</p><!-- built 10:01 -->",
            "<p>a</p><!-- built 10:02 -->",
        );
        same(
            r#"<img src="https://cdn.e.org/p.jpg?sig=1&exp=2" alt="cat">"#,
            r#"<img alt="cat" src="https://cdn.e.org/p.jpg?sig=9&exp=3">"#,
        );
        same(
            r#"<img srcset="https://c.org/a.jpg?t=1 1x, https://c.org/b.jpg?t=1 2x">"#,
            r#"<img srcset="https://c.org/a.jpg?t=2 1x,https://c.org/b.jpg?t=2 2x">"#,
        );
        // A link's or a picture's new signature or expiry; a picture's
        // cache buster.
        same(
            r#"<a href="https://s3.example/f.png?X-Amz-Signature=ab12&X-Amz-Date=1&id=7">f</a>"#,
            r#"<a href="https://s3.example/f.png?X-Amz-Signature=cd34&X-Amz-Date=2&id=7">f</a>"#,
        );
        same(
            r#"<img src="https://c.org/a.jpg?v=1&id=7">"#,
            r#"<img src="https://c.org/a.jpg?v=2&id=7">"#,
        );
        // A video's thumbnail from another of its servers, or signed anew
        // (`sqp`, `rs`): it was announced updated at every poll.
        same(
            r#"<p><img src="https://i1.ytimg.com/vi/v1/hqdefault.jpg?sqp=-oaymw&rs=AOn4" alt=""></p>"#,
            r#"<p><img src="https://i4.ytimg.com/vi/v1/hqdefault.jpg?sqp=-abcde&rs=BZx9" alt=""></p>"#,
        );
        // What no output publishes: scripts, styles, a gallery's ids and
        // classes, handlers, lazy loading.
        same(
            "<p>a</p><script>var a = 1</script><style>p{}</style>",
            "<p>a</p><script>var a = 2</script><style>b{}</style>",
        );
        same(
            r#"<div id="gallery-1" class="gallery g-1" style="x" data-n="1"><img src="https://c.org/a.jpg" loading="lazy" onclick="f()"></div>"#,
            r#"<div id="gallery-2" class="gallery g-2" style="y" data-n="2"><img src="https://c.org/a.jpg"></div>"#,
        );
        assert!(same_optional(None, Some("")));
    }

    #[test]
    fn what_a_reader_sees_still_counts() {
        let differ = |a: &str, b: &str| assert!(!same_to_a_reader(a, b), "{a:?} vs {b:?}");
        // (Another video's thumbnail; a picture of another site.)
        differ(
            r#"<img src="https://i1.ytimg.com/vi/v1/hqdefault.jpg">"#,
            r#"<img src="https://i1.ytimg.com/vi/v2/hqdefault.jpg">"#,
        );
        differ(
            r#"<img src="https://i1.a.example/p.jpg">"#,
            r#"<img src="https://i1.b.example/p.jpg">"#,
        );
        differ("<p>12 comments</p>", "<p>13 comments</p>");
        differ("<p>a b</p>", "<p>ab</p>");
        differ("<p>a</p>", "<p><b>a</b></p>");
        differ(
            r#"<a href="https://e.org/x">x</a>"#,
            r#"<a href="https://e.org/y">x</a>"#,
        );
        differ(
            r#"<a href="https://e.org/x?id=1">x</a>"#,
            r#"<a href="https://e.org/x?id=2">x</a>"#,
        );
        differ(
            r#"<img src="https://c.org/a.jpg">"#,
            r#"<img src="https://c.org/b.jpg">"#,
        );

        // A picture named by its query: another one.
        differ(
            r#"<img src="https://c.org/show.php?id=123">"#,
            r#"<img src="https://c.org/show.php?id=456">"#,
        );
        differ(
            r#"<img src="https://latex.example/svg.image?x^2">"#,
            r#"<img src="https://latex.example/svg.image?x^3">"#,
        );
        differ(
            r#"<video poster="https://c.org/p.php?id=1"></video>"#,
            r#"<video poster="https://c.org/p.php?id=2"></video>"#,
        );
        // A link's parameters are what it names, unless it is signed.
        for (a, b) in [
            ("https://f.example/t?st=20", "https://f.example/t?st=40"),
            (
                "https://f.example/t?ticket=1",
                "https://f.example/t?ticket=2",
            ),
            (
                "https://git.example/commit/?id=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
                "https://git.example/commit/?id=5e884898da28047151d0e56f8dc62927a3bf4f1b",
            ),
        ] {
            differ(
                &format!(r#"<a href="{a}">x</a>"#),
                &format!(r#"<a href="{b}">x</a>"#),
            );
        }
        differ("x", "");
        // Long bodies, and tags of thousands of attributes, are compared as
        // written (the tokenizer's cost).
        let long = "<br>".repeat(MAX_COMPARED / 4);
        differ(&long, &long.replace("<br>", "<br/>"));
        let many: String = (0..3000).map(|i| format!(" a{i}")).collect();
        differ(&format!("<p{many}>x</p>"), &format!("<p{many} >x</p>"));
        // What an embedded page shows, white space in preformatted text,
        // the space between two inline elements.
        differ(
            r#"<iframe src="https://y.example/watch?v=AAAA"></iframe>"#,
            r#"<iframe src="https://y.example/watch?v=BBBB"></iframe>"#,
        );
        differ(
            r#"<embed src="https://y.example/p?list=A">"#,
            r#"<embed src="https://y.example/p?list=B">"#,
        );
        differ("<pre>if x:\n    y()</pre>", "<pre>if x:\n  y()</pre>");
        differ("<b>New</b> <i>York</i>", "<b>New</b><i>York</i>");
        differ("<pre>    <b>return</b></pre>", "<pre><b>return</b></pre>");
        differ("<pre>x<br>  <b>y</b></pre>", "<pre>x<br><b>y</b></pre>");
        differ("<p>a&nbsp;&nbsp;&nbsp;b</p>", "<p>a b</p>");
    }
}
