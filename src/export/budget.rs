//! A bound on what one story's HTML may cost the sanitiser's parser,
//! whatever [`super::nesting`]'s model of it missed.
//!
//! html5ever's tree builder pays, for most tags, a walk down its stack of
//! open elements; the model caps that stack by HTML's rules, but each of
//! four rounds of attacks found a rule it lacked (40,000 elements let
//! through, 2.5–8.5 s per export). This is the backstop: before a body with
//! many tags is sanitised, the same parser runs over it once with a sink
//! that builds no tree and counts the parser's look-ups of elements (every
//! step of every walk names an element or compares two) and the elements
//! it makes (formatting elements reopened in every paragraph). Past a
//! budget the parse stops, and the story is published as text.
//!
//! The parser's stack does not depend on the tree its sink builds (only on
//! element names and identities), so the count is the sanitiser's own.

use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, ParseOpts, QualName, local_name, ns, parse_fragment};

/// Bodies with at most this many `<` are not probed: their parse costs at
/// most (tags × tags) steps, a few million.
const FEW_TAGS: usize = 2048;

/// Steps allowed per `<` of the body (the model keeps the stack within
/// 512, so an honest body costs a few hundred at most), and in all.
const STEPS_PER_TAG: u64 = 1024;
const MIN_STEPS: u64 = 4_000_000;

/// The body is fed in pieces of this size; the budget is checked between
/// them, so one piece's tags are all the parse can overrun by.
const PIECE: usize = 1024;

/// Whether sanitising `html` stays within the budget (at most
/// [`STEPS_PER_TAG`] parser steps per `<`). Bodies with few tags always do.
pub fn affordable(html: &str) -> bool {
    let tags = html.bytes().filter(|&c| c == b'<').count();
    if tags <= FEW_TAGS {
        return true;
    }
    let budget = MIN_STEPS.max(tags as u64 * STEPS_PER_TAG);
    steps_within(html, budget)
}

/// Whether html5ever, parsing `html` as the sanitiser does (a fragment in a
/// `<div>`), takes at most `budget` steps; it stops soon after it has not.
fn steps_within(html: &str, budget: u64) -> bool {
    steps_until(html, budget) <= budget
}

/// The steps html5ever takes over `html`, counted until they pass `budget`
/// (checked after each piece).
pub(super) fn steps_until(html: &str, budget: u64) -> u64 {
    let steps = Rc::new(Cell::new(0));
    let sink = Counter {
        steps: Rc::clone(&steps),
        document: Rc::new(Node::other()),
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
        if steps.get() > budget {
            return steps.get();
        }
    }
    parser.finish();
    steps.get()
}

/// An element as the parser asks about it: its name, and whether it is a
/// MathML `annotation-xml` that holds HTML.
struct Node {
    name: QualName,
    html_point: bool,
}

impl Node {
    /// The document, a comment, a template's contents: never asked for a
    /// name by the parser, given none.
    fn other() -> Node {
        Node {
            name: QualName::new(None, ns!(), local_name!("")),
            html_point: false,
        }
    }
}

/// A sink that keeps only what the parser asks back, and counts the asking.
struct Counter {
    steps: Rc<Cell<u64>>,
    document: Rc<Node>,
}

impl Counter {
    fn step(&self) {
        self.steps.set(self.steps.get() + 1);
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
        _attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Rc<Node> {
        self.step();
        Rc::new(Node {
            name,
            html_point: flags.mathml_annotation_xml_integration_point,
        })
    }

    fn create_comment(&self, _text: StrTendril) -> Rc<Node> {
        Rc::new(Node::other())
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> Rc<Node> {
        Rc::new(Node::other())
    }

    fn append(&self, _parent: &Rc<Node>, _child: NodeOrText<Rc<Node>>) {}

    fn append_based_on_parent_node(
        &self,
        _element: &Rc<Node>,
        _prev_element: &Rc<Node>,
        _child: NodeOrText<Rc<Node>>,
    ) {
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

    fn append_before_sibling(&self, _sibling: &Rc<Node>, _new_node: NodeOrText<Rc<Node>>) {}

    fn add_attrs_if_missing(&self, _target: &Rc<Node>, _attrs: Vec<Attribute>) {}

    fn remove_from_parent(&self, _target: &Rc<Node>) {}

    fn reparent_children(&self, _node: &Rc<Node>, _new_parent: &Rc<Node>) {}

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Rc<Node>) -> bool {
        handle.html_point
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let all = steps_until(&deep, u64::MAX);
        assert!(all > 10_000_000, "{all}");
        let stopped = steps_until(&deep, 1_000);
        assert!((1_000..100_000).contains(&stopped), "{stopped}");
        assert!(steps_within("<p>x</p>", 1_000));
    }
}
