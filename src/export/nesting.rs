//! How deep the sanitiser's HTML parser would nest a story's elements, kept
//! within [`MAX_DEPTH`].
//!
//! html5ever's tree builder asks, for most tags, whether some element is "in
//! scope": it walks its stack of open elements down to the nearest scope
//! boundary (a table cell, a button, a list…). With thousands of elements
//! open, every tag pays that walk: 20,000 nested `<div>`s cost 1.7 s of CPU
//! per item per format, 50,000 cost 12 s.
//!
//! [`Nesting`] follows that stack from the tags alone, by the rules of HTML's
//! tree construction that open and close elements (scopes, implied end tags,
//! the formatting elements a parser reopens, markers, foreign content),
//! erring deep where it cannot tell. A start tag that would open an element
//! deeper than [`MAX_DEPTH`] is dropped, its text kept, as browsers flatten
//! such nesting (Chromium at 512); its end tag goes with it.

use std::collections::HashMap;

/// The deepest nesting kept (Chromium's parser flattens at the same depth).
pub const MAX_DEPTH: usize = 512;

/// HTML's formatting elements: the ones a parser reopens after a misnested
/// end tag closed them.
pub const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// What a search "in scope" stops at (HTML's default scope).
const SCOPE: &[&str] = &[
    "applet",
    "caption",
    "html",
    "table",
    "td",
    "th",
    "marquee",
    "object",
    "template",
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

/// Elements that put a marker in the list of formatting elements: what is
/// opened inside them is not reopened outside.
const MARKERS: &[&str] = &[
    "applet", "caption", "marquee", "object", "template", "td", "th",
];

/// HTML's "special" elements (a `<li>` looks past the others for the `<li>`
/// it closes; a misnested formatting end tag above one moves, not closes).
const SPECIAL: &[&str] = &[
    "address",
    "applet",
    "area",
    "article",
    "aside",
    "base",
    "basefont",
    "bgsound",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "iframe",
    "img",
    "input",
    "keygen",
    "li",
    "link",
    "listing",
    "main",
    "marquee",
    "menu",
    "meta",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "p",
    "param",
    "plaintext",
    "pre",
    "script",
    "search",
    "section",
    "select",
    "source",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
    "wbr",
    "xmp",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "annotation-xml",
    "foreignobject",
    "desc",
];

/// Start tags that close an open `<p>` (in button scope) first.
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
    "plaintext",
    "table",
];

/// Start tags before which a parser does not reopen formatting elements.
const NO_REOPEN: &[&str] = &[
    "caption", "col", "colgroup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
];

const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];

/// Elements that never have content (HTML writes them without an end tag).
pub const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "image", "input", "link", "meta", "param",
    "source", "track", "wbr", "keygen", "basefont", "bgsound", "frame", "isindex",
];

/// Start tags that leave SVG or MathML for HTML.
const BREAKOUT: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
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
    /// SVG or MathML (or inside them).
    foreign: bool,
    /// MathML (or inside it), where `title` and `desc` are not HTML's.
    math: bool,
    /// How many markers were open when it was opened.
    markers: usize,
    /// In [`SPECIAL`], [`SCOPE`]; a marker (HTML and in [`MARKERS`]).
    /// (Looked up once: every tag walks the stack comparing them, 64,000
    /// end tags under 511 open elements took 2.6 s.)
    special: bool,
    scope: bool,
    marker: bool,
}

/// What a search of the stack for an element stops at.
#[derive(Clone, Copy)]
enum Within {
    /// HTML's default scope, and these.
    Scope(&'static [&'static str]),
    /// Any special element.
    Special,
    /// These elements only.
    Names(&'static [&'static str]),
}

impl Within {
    fn stops_at(self, e: &Element) -> bool {
        match self {
            Within::Scope(extra) => e.scope || extra.contains(&e.name.as_str()),
            Within::Special => e.special,
            Within::Names(names) => names.contains(&e.name.as_str()),
        }
    }
}

/// The table's own scope.
const TABLE_SCOPE: Within = Within::Names(&["html", "table", "template"]);
/// Button scope.
const BUTTON_SCOPE: Within = Within::Scope(&["button"]);

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

    fn markers(&self) -> usize {
        self.open.iter().filter(|e| e.marker).count()
    }

    /// Whether a table is open (its parts are read only in one).
    fn in_table(&self) -> bool {
        self.open.iter().any(|e| !e.foreign && e.name == "table")
    }

    /// Whether tags are read as SVG or MathML: inside them, except in their
    /// integration points (SVG's `foreignObject`, `desc` and `title`,
    /// MathML's `mi`, `mo`, `mn`, `ms` and `mtext`), which hold HTML.
    pub fn in_foreign(&self) -> bool {
        self.open.last().is_some_and(|e| {
            let point = match e.math {
                true => matches!(e.name.as_str(), "mi" | "mo" | "mn" | "ms" | "mtext"),
                false => matches!(e.name.as_str(), "foreignobject" | "desc" | "title"),
            };
            e.foreign && !point
        })
    }

    /// Whether the element opened last is SVG or MathML (its `<title>` or
    /// `<style>` holds tags, not raw text).
    pub fn top_is_foreign(&self) -> bool {
        self.open.last().is_some_and(|e| e.foreign)
    }

    /// Text other than white space: the parser reopens the formatting
    /// elements opened since the last marker. (White space does too, but
    /// counted, forum posts with a `<font>` left open on every line lost
    /// their paragraphs and bold past the 500th; html5ever nests those
    /// copies, and the sanitiser drops `<font>`. The parser's budget bounds
    /// what that costs.)
    pub fn text(&mut self) {
        let markers = self.markers();
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reopen)
            .into_iter()
            .partition(|e| e.markers >= markers);
        self.reopen = later;
        self.open.extend(now);
    }

    /// A start tag (`tag` as written; `closed` when written `<x/>`; `font`
    /// with a colour, face or size leaves SVG and MathML): whether it is kept.
    pub fn start(&mut self, name: &str, tag: &'a str, closed: bool, font_attrs: bool) -> bool {
        let name = if name == "image" { "img" } else { name };
        // (In MathML's text integration points, `mglyph` and `malignmark`
        // are MathML: what follows is read as foreign content.)
        if matches!(name, "mglyph" | "malignmark")
            && self.open.last().is_some_and(|e| {
                e.math && matches!(e.name.as_str(), "mi" | "mo" | "mn" | "ms" | "mtext")
            })
        {
            return self.push(name, tag, closed, true);
        }
        if self.in_foreign() {
            let breaks_out = BREAKOUT.contains(&name) || (name == "font" && font_attrs);
            if !breaks_out {
                return self.push(name, tag, closed, true);
            }
            // Back to HTML: what is foreign closes, down to HTML or an
            // integration point.
            while self.in_foreign() {
                self.open.pop();
            }
        }
        match name {
            "li" => self.close_item(&["li"]),
            "dd" | "dt" => self.close_item(&["dd", "dt"]),
            "td" | "th" | "tr" if !self.in_table() => return true,
            "td" | "th" | "tr" => {
                if !self.close_within("td", TABLE_SCOPE) {
                    self.close_within("th", TABLE_SCOPE);
                }
                if name == "tr" && self.top() == Some("tr") {
                    self.pop_to(self.open.len() - 1);
                }
            }
            "option" | "optgroup" => {
                if self.top() == Some("option") {
                    self.pop_to(self.open.len() - 1);
                }
                if name == "optgroup" && self.top() == Some("optgroup") {
                    self.pop_to(self.open.len() - 1);
                }
            }
            // An `<a>` (`<nobr>`) inside an open one closes it first.
            "a" | "nobr" => self.end_formatting(name),
            "button" => {
                self.close_within("button", Within::Scope(&[]));
            }
            // (Only in a ruby: elsewhere they nest.)
            "rb" | "rtc" | "rp" | "rt"
                if self.find_within("ruby", Within::Scope(&[])).is_some() =>
            {
                while self.top().is_some_and(|t| {
                    matches!(t, "rb" | "rp" | "rt") || (t == "rtc" && matches!(name, "rb" | "rtc"))
                }) {
                    self.pop_to(self.open.len() - 1);
                }
            }
            // What a fragment's parser ignores: the document's own elements,
            // a form inside a form, a table's parts outside a table.
            "html" | "body" | "head" | "frameset" | "frame" => return true,
            "form" if self.open.iter().any(|e| e.name == "form") => return true,
            "caption" | "col" | "colgroup" | "tbody" | "thead" | "tfoot" if !self.in_table() => {
                return true;
            }
            _ => {}
        }
        if name != "col" && self.top() == Some("colgroup") {
            self.pop_to(self.open.len() - 1);
        }
        if CLOSES_P.contains(&name) {
            self.close_within("p", BUTTON_SCOPE);
        }
        if HEADINGS.contains(&name) && self.top().is_some_and(|t| HEADINGS.contains(&t)) {
            self.pop_to(self.open.len() - 1);
        }
        if !CLOSES_P.contains(&name) && !NO_REOPEN.contains(&name) {
            self.text();
        }
        let foreign = matches!(name, "svg" | "math");
        self.push(name, tag, closed && foreign, foreign)
    }

    /// Opens an element (none when void, or a foreign one written `<x/>`):
    /// whether it is kept.
    fn push(&mut self, name: &str, tag: &'a str, closed: bool, foreign: bool) -> bool {
        if (!foreign && VOID.contains(&name)) || closed {
            return true;
        }
        if self.depth() >= MAX_DEPTH {
            *self.dropped.entry(name.to_owned()).or_default() += 1;
            return false;
        }
        let active = !foreign && FORMATTING.contains(&name);
        if active {
            self.forget_fourth_alike(name, tag);
        }
        let markers = self.markers();
        let math = foreign && (name == "math" || self.open.last().is_some_and(|e| e.math));
        self.open.push(Element {
            name: name.to_owned(),
            tag,
            active,
            foreign,
            math,
            markers,
            special: SPECIAL.contains(&name),
            scope: SCOPE.contains(&name),
            marker: !foreign && MARKERS.contains(&name),
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
            self.pop_to(self.open.len() - 1);
            return true;
        }
        // `</p>` and `</br>` leave SVG and MathML, as a breakout start tag
        // does.
        if matches!(name, "p" | "br") {
            while self.in_foreign() {
                self.open.pop();
            }
        }
        if self.in_foreign() {
            // The nearest foreign element of that name, else HTML's rules
            // for what is below them.
            let found = self
                .open
                .iter()
                .rposition(|e| !e.foreign || e.name == name)
                .filter(|&k| self.open[k].foreign);
            if let Some(k) = found {
                self.pop_to(k);
                return true;
            }
        }
        if FORMATTING.contains(&name) {
            self.end_formatting(name);
            return true;
        }
        match name {
            // Only the form closes, whatever is open inside it.
            "form" => {
                if let Some(k) = self.find_within("form", Within::Scope(&[])) {
                    self.open.remove(k);
                }
            }
            "p" => {
                self.close_within("p", BUTTON_SCOPE);
            }
            "li" => {
                self.close_within("li", Within::Scope(&["ol", "ul"]));
            }
            "table" | "tbody" | "thead" | "tfoot" | "tr" | "td" | "th" | "caption" => {
                self.close_within(name, TABLE_SCOPE);
            }
            h if HEADINGS.contains(&h) => {
                let k = self
                    .open
                    .iter()
                    .rposition(|e| HEADINGS.contains(&e.name.as_str()) || e.scope)
                    .filter(|&k| HEADINGS.contains(&self.open[k].name.as_str()));
                if let Some(k) = k {
                    self.pop_to(k);
                }
            }
            n if SPECIAL.contains(&n) => {
                self.close_within(name, Within::Scope(&[]));
            }
            // Any other: closed when found before a special element, else
            // ignored (`<x><div></x>` keeps the div open).
            _ => {
                self.close_within(name, Within::Special);
            }
        }
        true
    }

    /// A formatting element's end tag (HTML's "adoption agency"): closed with
    /// what is open above it when none of that is special; moved (the same
    /// depth) otherwise; forgotten when it was closed already.
    fn end_formatting(&mut self, name: &str) {
        let found = self
            .open
            .iter()
            .rposition(|e| (e.active && e.name == name) || e.scope);
        match found.filter(|&k| self.open[k].name == name) {
            Some(k) => {
                let block = self.open[k + 1..]
                    .iter()
                    .position(|e| e.special)
                    .map(|p| k + 1 + p);
                match block {
                    None => {
                        self.open[k].active = false;
                        self.pop_to(k);
                    }
                    // A special element above it: it closes, the special
                    // elements move out from under it, and what is open
                    // above the last of them closes too (HTML's adoption
                    // agency, its copies closed by its outer loop); the
                    // formatting elements among those wait to be reopened.
                    Some(_) => {
                        self.open.remove(k);
                        if let Some(last) = self.open[k..]
                            .iter()
                            .rposition(|e| e.special)
                            .map(|p| k + p)
                        {
                            let closed: Vec<Element<'a>> = self.open.drain(last + 1..).collect();
                            self.reopen.extend(closed.into_iter().filter(|e| e.active));
                            // (Between, what is neither special nor reopened
                            // is taken off the stack.)
                            let between = self.open.split_off(k);
                            self.open
                                .extend(between.into_iter().filter(|e| e.active || e.special));
                        }
                    }
                }
            }
            None => match self.reopen.iter().rposition(|e| e.name == name) {
                Some(k) => {
                    self.reopen.remove(k);
                }
                // Not one a parser would reopen: as any other end tag.
                None => {
                    self.close_within(name, Within::Special);
                }
            },
        }
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

    /// Where `name` is open above every element of `boundary`.
    fn find_within(&self, name: &str, boundary: Within) -> Option<usize> {
        self.open
            .iter()
            .rposition(|e| e.name == name || boundary.stops_at(e))
            .filter(|&k| self.open[k].name == name)
    }

    /// Closes `name` and everything open above it, if it is open above
    /// every element of `boundary`: whether it was.
    fn close_within(&mut self, name: &str, boundary: Within) -> bool {
        match self.find_within(name, boundary) {
            Some(k) => {
                self.pop_to(k);
                true
            }
            None => false,
        }
    }

    /// Closes the element at `k` and everything above it: the formatting
    /// elements among those above wait to be reopened, unless a marker
    /// closed (a table cell's formatting stays in it).
    fn pop_to(&mut self, k: usize) {
        let closed: Vec<Element<'a>> = self.open.drain(k..).skip(1).collect();
        let markers = self.markers();
        self.reopen.extend(closed.into_iter().filter(|e| e.active));
        self.reopen.retain(|e| e.markers <= markers);
    }

    /// What a `<li>` (`<dd>`, `<dt>`) closes: the nearest one, looking past
    /// elements that are not special, and `address`, `div` and `p`.
    fn close_item(&mut self, items: &[&str]) {
        let found = self.open.iter().rposition(|e| {
            let n = e.name.as_str();
            items.contains(&n) || (e.special && !matches!(n, "address" | "div" | "p"))
        });
        if let Some(k) = found.filter(|&k| items.contains(&self.open[k].name.as_str())) {
            self.pop_to(k);
        }
    }
}
