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
}

impl Sink {
    fn text(&self, s: &str) {
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
        for c in s.chars() {
            if c.is_whitespace() {
                if !t.ends_with(' ') {
                    t.push(' ');
                }
            } else {
                t.push(c);
            }
        }
    }
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
                let pre = matches!(name.as_str(), "pre" | "textarea" | "listing");
                let part = match tag.kind {
                    TagKind::StartTag => {
                        let mut attrs: Vec<(String, String)> = tag
                            .attrs
                            .iter()
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
                    match name.as_str() {
                        "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
                        "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
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

/// An attribute's value as it names what a reader sees: the address of an
/// image or a medium (`img`, `picture`'s `source`, `video`, `audio`) without
/// its query and fragment (a signed address's new token is the same
/// picture, as an enclosure's is the same file); any other value as written
/// (an `<iframe>` or `<embed>` address's query names what it shows:
/// `watch?v=…`).
fn resource_address(element: &str, name: &str, value: &str) -> String {
    let bare = |u: &str| crate::identity::file_address(u).to_string();
    let media = matches!(
        element,
        "img" | "source" | "video" | "audio" | "picture" | "track"
    );
    match name {
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

/// `html` as the parts a reader sees: white space beside a block's tags
/// (between paragraphs) left out, and at its ends; between inline elements
/// (`<b>New</b> <i>York</i>`) a space.
fn read(html: &str) -> Vec<Part> {
    let sink = Sink {
        parts: RefCell::new(Vec::new()),
        pre: std::cell::Cell::new(0),
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
    for (i, p) in parts.iter().enumerate() {
        if let Part::Text(t) = p
            && t.chars().all(char::is_whitespace)
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
        assert!(same_optional(None, Some("")));
    }

    #[test]
    fn what_a_reader_sees_still_counts() {
        let differ = |a: &str, b: &str| assert!(!same_to_a_reader(a, b), "{a:?} vs {b:?}");
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
        differ("<script>var a = 1</script>", "<script>var a = 2</script>");
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
    }
}
