//! How deep the sanitiser's HTML parser would nest a story's elements, kept
//! within [`MAX_DEPTH`].
//!
//! html5ever's tree builder asks, for most tags, whether some element is "in
//! scope": it walks its stack of open elements down to the nearest scope
//! boundary (a table cell, a button, a list…). With thousands of elements
//! open, every tag pays that walk: 20,000 nested `<div>`s cost 1.7 s of CPU
//! per item per format, 50,000 cost 12 s.
//!
//! [`Nesting`] follows that stack from the tags alone, erring deep: it closes
//! an element only where the parser surely does (its end tag, found before a
//! scope boundary; a `<p>`, `<li>`, `<dd>`, `<dt>`, `<td>`, `<tr>` or
//! `<option>` that the next such start tag closes), and a formatting element
//! that a parser may reopen (`<p><b>x</p>y` reopens `<b>` around `y`) stays
//! counted until its own end tag. A start tag that would open an element
//! deeper than [`MAX_DEPTH`] is dropped, its text kept, as browsers flatten
//! such nesting (Chromium at 512); its end tag goes with it.

use std::collections::HashMap;

/// The deepest nesting kept. Stories nest a few dozen elements at most.
pub const MAX_DEPTH: usize = 256;

/// HTML's formatting elements: the ones a parser reopens after a misnested
/// end tag closed them.
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// Elements a search for an element "in scope" stops at: every one of HTML's
/// scopes, and more (stopping early only leaves more counted open).
const BOUNDARY: &[&str] = &[
    "applet",
    "caption",
    "html",
    "table",
    "td",
    "th",
    "marquee",
    "object",
    "template",
    "button",
    "ol",
    "ul",
    "select",
    "svg",
    "math",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "annotation-xml",
    "foreignobject",
    "desc",
    "title",
];

/// The scope a table's own end tags search in.
const TABLE_BOUNDARY: &[&str] = &["html", "table", "template"];

/// Start tags that close an open `<p>` first.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "header",
    "hgroup",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "search",
    "section",
    "summary",
    "ul",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "listing",
    "form",
    "li",
    "dd",
    "dt",
    "xmp",
    "hr",
];

/// Elements a `<li>` (or `<dd>`, `<dt>`) looks past for the one it closes;
/// the parser looks past more, and stops at the others.
const LOOKED_PAST: &[&str] = &["address", "div", "p", "span"];

/// Elements that never have content (nothing to close).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "basefont", "bgsound", "frame",
];

/// An open element, as the parser's stack holds it.
#[derive(Clone)]
struct Element<'a> {
    name: String,
    /// Its start tag as written: two formatting elements with the same are
    /// alike for HTML's "Noah's Ark" rule (at most three alike reopen).
    tag: &'a str,
    /// A formatting element the parser would reopen once closed by another's
    /// end tag.
    active: bool,
}

/// The parser's stack of open elements, as far as tags tell it.
#[derive(Default)]
pub struct Nesting<'a> {
    open: Vec<Element<'a>>,
    /// Formatting elements closed by another's end tag, that text or an
    /// inline start tag reopens.
    reopen: Vec<Element<'a>>,
    /// Start tags dropped, by name: their end tags go too.
    dropped: HashMap<String, usize>,
}

impl<'a> Nesting<'a> {
    fn depth(&self) -> usize {
        self.open.len() + self.reopen.len()
    }

    fn top(&self) -> Option<&str> {
        self.open.last().map(|e| e.name.as_str())
    }

    /// Text other than white space: the parser reopens formatting elements.
    pub fn text(&mut self) {
        self.open.append(&mut self.reopen);
    }

    /// A start tag (`tag` as written): whether it is kept.
    pub fn start(&mut self, name: &str, tag: &'a str) -> bool {
        match name {
            "li" => self.close_list_item(&["li"]),
            "dd" | "dt" => self.close_list_item(&["dd", "dt"]),
            "td" | "th" | "tr" => {
                if !self.close_within("td", BOUNDARY) {
                    self.close_within("th", BOUNDARY);
                }
                if name == "tr" && self.top() == Some("tr") {
                    self.open.pop();
                }
            }
            "option" | "optgroup" => {
                if self.top() == Some("option") {
                    self.open.pop();
                }
                if name == "optgroup" && self.top() == Some("optgroup") {
                    self.open.pop();
                }
            }
            _ => {}
        }
        let block = CLOSES_P.contains(&name) || name == "table";
        if CLOSES_P.contains(&name) {
            self.close_within("p", BOUNDARY);
        }
        if !block {
            self.text();
        }
        if VOID.contains(&name) {
            return true;
        }
        if self.depth() >= MAX_DEPTH {
            *self.dropped.entry(name.to_owned()).or_default() += 1;
            return false;
        }
        let active = FORMATTING.contains(&name);
        if active {
            self.forget_fourth_alike(name, tag);
        }
        self.open.push(Element {
            name: name.to_owned(),
            tag,
            active,
        });
        true
    }

    /// An end tag: whether it is kept.
    pub fn end(&mut self, name: &str) -> bool {
        if let Some(n) = self.dropped.get_mut(name).filter(|n| **n > 0) {
            *n -= 1;
            return false;
        }
        if self.top() == Some(name) {
            self.open.pop();
        } else if FORMATTING.contains(&name) {
            // Misnested: the parser may move it (same depth); closed but
            // not yet reopened, it is forgotten.
            if !self.open.iter().any(|e| e.name == name)
                && let Some(k) = self.reopen.iter().rposition(|e| e.name == name)
            {
                self.reopen.remove(k);
            }
        } else {
            let scope = match name {
                "table" | "tbody" | "thead" | "tfoot" | "tr" | "td" | "th" => TABLE_BOUNDARY,
                _ => BOUNDARY,
            };
            self.close_within(name, scope);
        }
        true
    }

    /// With three formatting elements alike already, the earliest is no
    /// longer reopened.
    fn forget_fourth_alike(&mut self, name: &str, tag: &str) {
        let alike = |e: &Element| e.active && e.name == name && e.tag == tag;
        let count = self.reopen.iter().filter(|e| alike(e)).count()
            + self.open.iter().filter(|e| alike(e)).count();
        if count < 3 {
            return;
        }
        if let Some(k) = self.reopen.iter().position(alike) {
            self.reopen.remove(k);
        } else if let Some(e) = self.open.iter_mut().find(|e| alike(e)) {
            e.active = false;
        }
    }

    /// Closes `name` and everything open above it, if it is open above
    /// every element of `boundary`: whether it was.
    fn close_within(&mut self, name: &str, boundary: &[&str]) -> bool {
        let Some(k) = self
            .open
            .iter()
            .rposition(|e| e.name == name || boundary.contains(&e.name.as_str()))
            .filter(|&k| self.open[k].name == name)
        else {
            return false;
        };
        let closed = self.open.drain(k..).skip(1).filter(|e| e.active);
        self.reopen.extend(closed);
        true
    }

    /// What a `<li>` (`<dd>`, `<dt>`) closes: the nearest one, looking past
    /// formatting elements and [`LOOKED_PAST`] only.
    fn close_list_item(&mut self, items: &[&str]) {
        let found = self.open.iter().rposition(|e| {
            let n = e.name.as_str();
            items.contains(&n) || !(FORMATTING.contains(&n) || LOOKED_PAST.contains(&n))
        });
        if let Some(k) = found.filter(|&k| items.contains(&self.open[k].name.as_str())) {
            let name = self.open[k].name.clone();
            self.close_within(&name, &[]);
        }
    }
}
