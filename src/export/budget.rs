//! A bound on what one story's HTML may cost the sanitiser's parser,
//! whatever [`super::nesting`]'s model of it missed.
//!
//! html5ever's tree builder pays, for most tags, a walk down its stack of
//! open elements; the model caps that stack by HTML's rules, but each of
//! four rounds of attacks found a rule it lacked (40,000 elements let
//! through, 2.5–8.5 s per export). This is the backstop: before a body with
//! many tags (or a long link, that a parser may reopen in every paragraph)
//! is sanitised, the same parser runs over it once with a sink that builds
//! no tree and counts:
//! - its steps: look-ups of elements (every step of every walk names an
//!   element or compares two), and what the sanitiser's tree pays that this
//!   one does not (placing an element before a table scans its siblings;
//!   `<html>` attributes are merged; formatting elements with attributes
//!   are compared with each other, "Noah's Ark");
//! - what it makes: elements and their attributes' bytes (a formatting
//!   element reopened in every paragraph is copied, attributes and all).
//!
//! Past a budget of either the parse stops, and the story is published as
//! text.
//!
//! The parser's stack does not depend on the tree its sink builds (only on
//! element names and identities), so the count is the sanitiser's own.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::rc::{Rc, Weak};

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, ParseOpts, QualName, local_name, ns, parse_fragment};

/// Bodies with at most this many `<` are not probed: their parse costs at
/// most (tags × tags) steps, a few million.
pub(super) const FEW_TAGS: usize = 2048;

/// Steps allowed per `<` of the body (the model keeps the stack within
/// 512, so an honest body costs a few hundred at most), and in all.
const STEPS_PER_TAG: u64 = 1024;
const MIN_STEPS: u64 = 4_000_000;

/// What the parser may make: bytes per byte of the body (an element counts
/// [`ELEMENT_BYTES`], about what it takes written out), and in all. (A
/// minified newsletter's long link reopened in each of 1,500 paragraphs
/// makes 18 per byte.)
const MADE_PER_BYTE: u64 = 32;
const MIN_MADE: u64 = 2 << 20;
const ELEMENT_BYTES: u64 = 16;

/// Siblings a placing scans per step (comparing two pointers is cheaper
/// than a step of a walk, which compares names): a blog's table with a
/// `<br>` after every line, each placed before it, stays within budget.
const SCAN_STEPS: u64 = 4;

/// Bytes the serialiser may scan again (see [`written_rescans`]): about
/// 0.15 s. (A 207 KB paragraph of French, a no-break space every few words,
/// stays within.)
const MAX_RESCANS: u64 = 1 << 33;

/// How many bytes html5ever's serialiser scans writing `html` out, about:
/// at each character it escapes (`&`, and those after a 0xC2 byte: a
/// no-break space, `©`, `«`…) it searches the rest of the text (or value)
/// for the next `<`, `>` (or `"`). 256 KiB of `&` took 0.6 s per format, a
/// MiB 9 s. Counted from the body as written (an entity is one `&`), text
/// runs ending at `<` or `>`, written or as `&lt;` and `&gt;` (a code
/// listing's, which stop the search: counted as `&`s, a 241 KB `<pre>` of
/// escaped XML was published as text).
fn written_rescans(html: &str) -> u64 {
    let b = html.as_bytes();
    let (mut total, mut start, mut special) = (0u64, 0usize, 0u64);
    let mut i = 0;
    while i < b.len() {
        let boundary = match b[i] {
            b'<' | b'>' => Some(1),
            b'&' if [b"lt;", b"gt;"].iter().any(|e| {
                b.get(i + 1..i + 4)
                    .is_some_and(|x| x.eq_ignore_ascii_case(*e))
            }) =>
            {
                Some(4)
            }
            b'&' | 0xC2 => {
                special += 1;
                None
            }
            _ => None,
        };
        if let Some(len) = boundary {
            total = total.saturating_add(special * i.saturating_sub(start) as u64);
            (start, special) = (i + len, 0);
            i += len;
        } else {
            i += 1;
        }
    }
    total.saturating_add(special * b.len().saturating_sub(start) as u64)
}

/// The body is fed in pieces of this size; the budget is checked between
/// them, so one piece's tags are all the parse can overrun by.
const PIECE: usize = 1024;

/// The budget of one body: steps and bytes made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Cost {
    pub steps: u64,
    pub made: u64,
}

impl Cost {
    fn over(self, budget: Cost) -> bool {
        self.steps > budget.steps || self.made > budget.made
    }
}

/// Whether sanitising `html` stays within the budget: at most
/// [`STEPS_PER_TAG`] parser steps per `<`, and [`MADE_PER_BYTE`] bytes
/// made per byte. Bodies with few tags and no long link always do.
pub fn affordable(html: &str) -> bool {
    if html.len() > 16 * 1024 && written_rescans(html) > MAX_RESCANS {
        return false;
    }
    let tags = html.bytes().filter(|&c| c == b'<').count();
    // (At most every tag reopens the longest link.)
    if tags <= FEW_TAGS && tags * super::clean::longest_link_tag(html) <= MIN_MADE as usize {
        return true;
    }
    let budget = Cost {
        steps: MIN_STEPS.max(tags as u64 * STEPS_PER_TAG),
        made: MIN_MADE.max(html.len() as u64 * MADE_PER_BYTE),
    };
    !cost_until(html, budget).over(budget)
}

/// What html5ever costs parsing `html` as the sanitiser does (a fragment in
/// a `<div>`), counted until it passes `budget` (checked after each piece).
pub(super) fn cost_until(html: &str, budget: Cost) -> Cost {
    let steps = Rc::new(Cell::new(Cost { steps: 0, made: 0 }));
    let sink = Counter {
        steps: Rc::clone(&steps),
        document: Rc::new(Node::other()),
        ways: RefCell::new(HashSet::new()),
    };
    let mut parser = parse_fragment(
        sink,
        ParseOpts::default(),
        QualName::new(None, ns!(html), local_name!("div")),
        vec![],
        false,
    );
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = rest.len().min(PIECE);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        parser.process(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
        if steps.get().over(budget) {
            return steps.get();
        }
    }
    parser.finish();
    steps.get()
}

/// An element as the parser asks about it: its name, and whether it is a
/// MathML `annotation-xml` that holds HTML; and, for the costs of the
/// sanitiser's tree, its parent, how many children and attributes it has.
struct Node {
    name: QualName,
    html_point: bool,
    parent: RefCell<Weak<Node>>,
    children: Cell<u64>,
    attrs: Cell<u64>,
}

impl Node {
    /// The document, a comment, a template's contents: never asked for a
    /// name by the parser, given none.
    fn other() -> Node {
        Node::new(QualName::new(None, ns!(), local_name!("")), false, 0)
    }

    fn new(name: QualName, html_point: bool, attrs: u64) -> Node {
        Node {
            name,
            html_point,
            parent: RefCell::new(Weak::new()),
            children: Cell::new(0),
            attrs: Cell::new(attrs),
        }
    }
}

/// A sink that keeps only what the parser asks back, and counts the asking.
struct Counter {
    steps: Rc<Cell<Cost>>,
    document: Rc<Node>,
    /// The ways formatting elements (but links) were written with
    /// attributes: each new one is compared with those the parser keeps
    /// since the last marker, attributes sorted.
    ways: RefCell<HashSet<u64>>,
}

impl Counter {
    fn step(&self) {
        self.add(1, 0);
    }

    fn add(&self, steps: u64, made: u64) {
        let c = self.steps.get();
        self.steps.set(Cost {
            steps: c.steps.saturating_add(steps),
            made: c.made.saturating_add(made),
        });
    }

    /// `child` placed in `parent`, after the `before` children that the
    /// sanitiser's tree scans to find where.
    fn place(&self, parent: &Rc<Node>, child: &NodeOrText<Rc<Node>>, before: u64) {
        self.add(before / SCAN_STEPS, 0);
        // (Text joins the text before it, mostly: no child of its own.)
        if let NodeOrText::AppendNode(node) = child {
            parent.children.set(parent.children.get() + 1);
            *node.parent.borrow_mut() = Rc::downgrade(parent);
        }
    }
}

impl TreeSink for Counter {
    type Handle = Rc<Node>;
    type Output = ();
    type ElemName<'a> = &'a QualName;

    fn finish(self) {}

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> Rc<Node> {
        Rc::clone(&self.document)
    }

    fn elem_name<'a>(&'a self, target: &'a Rc<Node>) -> &'a QualName {
        self.step();
        &target.name
    }

    fn create_element(
        &self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Rc<Node> {
        let bytes: usize = attrs
            .iter()
            .map(|a| a.name.local.len() + a.value.len())
            .sum();
        self.add(1, ELEMENT_BYTES + bytes as u64);
        let formatting = name.ns == ns!(html)
            && name.local != local_name!("a")
            && super::nesting::FORMATTING.contains(&&*name.local);
        if formatting && !attrs.is_empty() {
            // (At most three alike are kept: the list holds three of each
            // way the element is written.)
            let mut written: Vec<(&str, &str)> =
                attrs.iter().map(|a| (&*a.name.local, &*a.value)).collect();
            written.sort_unstable();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&*name.local, written).hash(&mut h);
            let mut ways = self.ways.borrow_mut();
            ways.insert(h.finish());
            self.add(3 * ways.len() as u64 * attrs.len() as u64, 0);
        }
        Rc::new(Node::new(
            name,
            flags.mathml_annotation_xml_integration_point,
            attrs.len() as u64,
        ))
    }

    fn create_comment(&self, _text: StrTendril) -> Rc<Node> {
        Rc::new(Node::other())
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> Rc<Node> {
        Rc::new(Node::other())
    }

    fn append(&self, parent: &Rc<Node>, child: NodeOrText<Rc<Node>>) {
        self.place(parent, &child, 0);
    }

    fn append_based_on_parent_node(
        &self,
        element: &Rc<Node>,
        prev_element: &Rc<Node>,
        child: NodeOrText<Rc<Node>>,
    ) {
        match element.parent.borrow().upgrade() {
            Some(parent) => self.place(&parent, &child, parent.children.get()),
            None => self.place(prev_element, &child, 0),
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, _target: &Rc<Node>) -> Rc<Node> {
        Rc::new(Node::other())
    }

    fn same_node(&self, x: &Rc<Node>, y: &Rc<Node>) -> bool {
        self.step();
        Rc::ptr_eq(x, y)
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &Rc<Node>, new_node: NodeOrText<Rc<Node>>) {
        if let Some(parent) = sibling.parent.borrow().upgrade() {
            self.place(&parent, &new_node, parent.children.get());
        }
    }

    fn add_attrs_if_missing(&self, target: &Rc<Node>, attrs: Vec<Attribute>) {
        // (The sanitiser's tree gathers the names it has, then looks up each.)
        let (had, more) = (target.attrs.get(), attrs.len() as u64);
        self.add(had + more, 0);
        target.attrs.set(had + more);
    }

    fn remove_from_parent(&self, target: &Rc<Node>) {
        let parent = std::mem::take(&mut *target.parent.borrow_mut());
        if let Some(parent) = parent.upgrade() {
            self.add(parent.children.get() / SCAN_STEPS, 0);
            parent.children.set(parent.children.get().saturating_sub(1));
        }
    }

    fn reparent_children(&self, node: &Rc<Node>, new_parent: &Rc<Node>) {
        let moved = node.children.replace(0);
        self.add(moved, 0);
        new_parent.children.set(new_parent.children.get() + moved);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Rc<Node>) -> bool {
        handle.html_point
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNLIMITED: Cost = Cost {
        steps: u64::MAX,
        made: u64::MAX,
    };

    #[test]
    fn deep_nesting_is_over_budget_and_ordinary_html_within() {
        // What the nesting model caps: raw, it costs the parser quadratic steps.
        let deep = "<div>".repeat(20_000);
        assert!(!affordable(&deep));
        // As many tags, nested as an article nests them.
        let article = "<p>Some <b>bold</b> and <a href=\"/x\">a link</a>.</p>\n".repeat(2_000);
        assert!(article.matches('<').count() > FEW_TAGS);
        assert!(affordable(&article));
        // Within the budget, just: the model's own cap.
        let capped = format!("{}{}", "<div>".repeat(512), "<p>x</p>".repeat(3_000));
        assert!(affordable(&capped));
    }

    #[test]
    fn the_budget_stops_the_parse_early() {
        // 1,000 steps allowed: a deep stack stops within a piece or two.
        let deep = "<div>".repeat(5_000);
        let all = cost_until(&deep, UNLIMITED).steps;
        assert!(all > 10_000_000, "{all}");
        let budget = Cost {
            steps: 1_000,
            made: u64::MAX,
        };
        let stopped = cost_until(&deep, budget).steps;
        assert!((1_000..100_000).contains(&stopped), "{stopped}");
        assert!(!cost_until("<p>x</p>", budget).over(budget));
    }

    /// What the sanitiser's tree pays and this sink does not build is
    /// counted too: each is over budget, where the same number of ordinary
    /// tags is not.
    #[test]
    fn costs_of_the_sanitisers_tree_are_counted() {
        let names = |n: usize| (0..n).map(|k| format!("a{k}")).collect::<Vec<_>>();
        let quadratic = [
            // A link reopened in every paragraph, attributes and all.
            format!(
                "<p><a href=/x title=\"{}\">{}",
                "t".repeat(100_000),
                "<p>x".repeat(1_000)
            ),
            // The document's attributes, merged one by one.
            names(5_000).iter().map(|a| format!("<html {a}>")).collect(),
            // Elements placed before a table, each after all the others.
            format!("<table>{}", "<br>x".repeat(40_000)),
            // Formatting elements each written differently.
            names(5_000).iter().map(|a| format!("<b {a}>")).collect(),
        ];
        for html in quadratic {
            assert!(!affordable(&html), "{}", &html[..40]);
        }
        let ordinary = format!("<table>{}</table>", "<tr><td>x</td></tr>".repeat(3_000));
        assert!(affordable(&ordinary));
        // A blog's table with a line break written after every line (each
        // placed before the table).
        let rows: String = (0..700)
            .map(|k| {
                format!("<tr>{}</tr><br />\n", "<td>cell</td><br />".repeat(10))
                    .replace("cell", &k.to_string())
            })
            .collect();
        assert!(affordable(&format!("<table>{rows}</table>")));
        // A minified newsletter: a long tracking link left open, then its
        // paragraphs.
        let link = format!("<a href=\"https://t.example/c?u={}\">", "q".repeat(1_500));
        let html = format!(
            "{link}{}",
            "<p>A short paragraph of the letter.</p>".repeat(1_500)
        );
        assert!(affordable(&html));
        // Text that the serialiser rescans at each `&`.
        assert!(!affordable(&"&amp;".repeat(50_000)));
        assert!(!affordable(&format!("<p>{}</p>", "\u{a0}".repeat(100_000))));
        assert!(affordable(
            &"<p>Fish &amp; chips&nbsp;— «quoted» ©</p>\n".repeat(5_000)
        ));
        // A code listing's escaped markup ends the serialiser's searches.
        let listing = "&lt;item&gt;&lt;title&gt;Fish &amp;amp; chips&lt;/title&gt;&lt;/item&gt;\n";
        assert!(affordable(&format!(
            "<pre><code>{}</code></pre>",
            listing.repeat(3_500)
        )));
        let links: String = (0..3_000)
            .map(|k| format!("<p><a href=\"https://e.org/{k}\" title=\"Post {k}\">post</a></p>"))
            .collect();
        assert!(affordable(&links));
    }
}
