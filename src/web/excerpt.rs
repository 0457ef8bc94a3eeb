//! The start of a story and the rest: the river shows the first ~60 words and
//! puts the rest behind a "more" disclosure. Pure.
//!
//! Works on *sanitised* HTML only (ammonia's serialisation: no comments, no
//! script or style text, `<` in text always escaped, attribute values quoted),
//! and cuts only between whole elements, so both halves are balanced HTML. When
//! no such cut exists near the wanted length (one long paragraph), the start is
//! plain text and the whole story goes behind the disclosure.

use unicode_width::UnicodeWidthChar;

/// How a story's text is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excerpt {
    /// Short enough to show whole.
    Whole,
    /// Sanitised HTML in two balanced halves.
    Split { lead: String, rest: String },
    /// The first words as plain text; the whole HTML goes behind "more".
    Text { lead: String },
}

/// Splits `html` after about `words` words (an East Asian wide character counts
/// as half a word). Text up to 1.5 × `words` is shown whole.
pub fn split(html: &str, words: usize) -> Excerpt {
    let nodes = top_level(html);
    let total: usize = nodes.iter().map(|n| n.words).sum();
    if total <= words + words / 2 {
        return Excerpt::Whole;
    }
    match split_nodes(html, &nodes, words) {
        Some((lead, rest)) => Excerpt::Split { lead, rest },
        None => Excerpt::Text {
            lead: first_words(&crate::parse::strip_tags(html), words),
        },
    }
}

fn split_nodes(html: &str, nodes: &[Node], words: usize) -> Option<(String, String)> {
    let content: Vec<&Node> = nodes.iter().filter(|n| n.words > 0 || n.element).collect();
    // One wrapper around everything (`<div>…</div>`): cut inside it.
    if let [only] = content[..]
        && let Some((open, inner, close)) = only.wrapper(html)
    {
        let (lead, rest) = split_nodes(inner, &top_level(inner), words)?;
        return Some((
            format!("{open}{lead}{close}"),
            format!("{open}{rest}{close}"),
        ));
    }
    let mut count = 0;
    let mut cut = None;
    for n in nodes {
        count += n.words;
        if count >= words {
            cut = Some(n.end);
            break;
        }
    }
    let cut = cut?;
    let (lead, rest) = html.split_at(cut);
    let lead_words: usize = nodes.iter().filter(|n| n.end <= cut).map(|n| n.words).sum();
    if lead_words > 2 * words || rest.trim().is_empty() {
        return None;
    }
    Some((lead.to_string(), rest.to_string()))
}

/// One top-level node of a fragment: `html[start..end]`.
#[derive(Debug)]
struct Node {
    start: usize,
    end: usize,
    words: usize,
    element: bool,
    /// Tag name, for elements.
    name: String,
    /// End of the start tag.
    open_end: usize,
}

impl Node {
    /// (start tag, content, end tag) of a block that only wraps others.
    fn wrapper<'h>(&self, html: &'h str) -> Option<(&'h str, &'h str, &'h str)> {
        const WRAPPERS: &[&str] = &["div", "section", "article", "main", "body"];
        if !self.element || !WRAPPERS.contains(&self.name.as_str()) {
            return None;
        }
        let close = format!("</{}>", self.name);
        let node = &html[self.start..self.end];
        let inner_end = node.len().checked_sub(close.len())?;
        if !node[inner_end..].eq_ignore_ascii_case(&close) {
            return None;
        }
        let open_len = self.open_end - self.start;
        Some((
            &node[..open_len],
            &node[open_len..inner_end],
            &node[inner_end..],
        ))
    }
}

/// Elements without an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// The top-level nodes of a sanitised fragment.
fn top_level(html: &str) -> Vec<Node> {
    let b = html.as_bytes();
    let mut nodes: Vec<Node> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut open: Option<Node> = None;
    while i < b.len() {
        if b[i] == b'<' {
            let end = tag_end(b, i);
            let tag = &html[i..end];
            if tag.starts_with("</") {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some(mut n) = open.take()
                {
                    n.end = end;
                    nodes.push(n);
                }
            } else if tag.starts_with("<!") || tag.starts_with("<?") {
                // Comments and the like (ammonia leaves none): no words.
            } else {
                let name: String = tag[1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
                    .collect::<String>()
                    .to_ascii_lowercase();
                let void = VOID.contains(&name.as_str()) || tag.ends_with("/>");
                if depth == 0 {
                    let n = Node {
                        start: i,
                        end,
                        words: 0,
                        element: true,
                        name,
                        open_end: end,
                    };
                    if void {
                        nodes.push(n);
                    } else {
                        open = Some(n);
                    }
                }
                if !void {
                    depth += 1;
                }
            }
            i = end;
        } else {
            let end = html[i..].find('<').map_or(b.len(), |j| i + j);
            let w = count_words(&html[i..end]);
            match open.as_mut() {
                Some(n) if depth > 0 => n.words += w,
                _ => nodes.push(Node {
                    start: i,
                    end,
                    words: w,
                    element: false,
                    name: String::new(),
                    open_end: i,
                }),
            }
            i = end;
        }
    }
    // Unclosed at the end (not from ammonia): the rest is one node.
    if let Some(mut n) = open {
        n.end = b.len();
        nodes.push(n);
    }
    nodes
}

/// Index after the `>` closing the tag that starts at `i` (quotes respected).
fn tag_end(b: &[u8], i: usize) -> usize {
    let mut quote = None;
    let mut j = i + 1;
    while j < b.len() {
        match (quote, b[j]) {
            (None, b'"' | b'\'') => quote = Some(b[j]),
            (Some(q), c) if c == q => quote = None,
            (None, b'>') => return j + 1,
            _ => {}
        }
        j += 1;
    }
    b.len()
}

/// Words in text: whitespace-separated, an East Asian wide character counting
/// as half a word (at least one per run).
fn count_words(text: &str) -> usize {
    text.split_whitespace().map(word_weight).sum()
}

fn word_weight(word: &str) -> usize {
    let wide = word.chars().filter(|c| c.width() == Some(2)).count();
    if wide == 0 {
        1
    } else {
        wide.div_ceil(2).max(1)
    }
}

/// The first `words` words of plain text, with "…" when there is more.
pub fn first_words(text: &str, words: usize) -> String {
    let mut out = String::new();
    let mut left = words;
    let mut rest = text.split_whitespace();
    for w in rest.by_ref() {
        if left == 0 {
            out.push('…');
            return out;
        }
        let weight = word_weight(w);
        if !out.is_empty() {
            out.push(' ');
        }
        if weight > left {
            // A long run of wide characters: cut inside it.
            let mut wide = 0;
            for c in w.chars() {
                if c.width() == Some(2) {
                    wide += 1;
                    if wide > 2 * left {
                        break;
                    }
                }
                out.push(c);
            }
            out.push('…');
            return out;
        }
        out.push_str(w);
        left -= weight;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(n: usize, word: &str) -> String {
        format!("<p>{}</p>", vec![word; n].join(" "))
    }

    #[test]
    fn short_stories_stay_whole() {
        assert_eq!(split(&para(80, "w"), 60), Excerpt::Whole);
        assert_eq!(split("", 60), Excerpt::Whole);
    }

    #[test]
    fn cuts_between_paragraphs_into_balanced_halves() {
        let html = format!(
            "{}{}{}<img src=\"https://e.org/i.png\">{}",
            para(30, "a"),
            para(40, "b"),
            para(50, "c"),
            para(10, "d")
        );
        let Excerpt::Split { lead, rest } = split(&html, 60) else {
            panic!("{:?}", split(&html, 60));
        };
        assert_eq!(lead, format!("{}{}", para(30, "a"), para(40, "b")));
        assert_eq!(format!("{lead}{rest}"), html);
    }

    #[test]
    fn a_wrapper_div_is_cut_inside() {
        let inner = format!("{}{}", para(70, "a"), para(70, "b"));
        let html = format!("<div class=\"x\">{inner}</div>\n");
        let Excerpt::Split { lead, rest } = split(&html, 60) else {
            panic!()
        };
        assert_eq!(lead, format!("<div class=\"x\">{}</div>", para(70, "a")));
        assert_eq!(rest, format!("<div class=\"x\">{}</div>", para(70, "b")));
    }

    #[test]
    fn one_long_paragraph_gives_a_text_start() {
        let html = para(300, "w&amp;<b>x</b>");
        match split(&html, 60) {
            Excerpt::Text { lead } => {
                assert!(lead.starts_with("w&x w&x"), "{lead}");
                assert!(lead.ends_with('…'));
                assert_eq!(lead.split_whitespace().count(), 60);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn quoted_angle_brackets_and_void_elements_do_not_confuse_the_cut() {
        let html = format!(
            "<p title=\"a > b\">{}</p><br><hr>{}{}",
            vec!["x"; 70].join(" "),
            para(40, "y"),
            para(40, "z")
        );
        let Excerpt::Split { lead, rest } = split(&html, 60) else {
            panic!()
        };
        assert!(
            lead.ends_with("</p>") && rest.starts_with("<br>"),
            "{lead} | {rest}"
        );
    }

    #[test]
    fn wide_characters_count_as_half_words() {
        // 300 CJK characters in one paragraph = 150 words: too long to show whole.
        let text = "漢".repeat(300);
        let html = format!("<p>{text}</p>");
        match split(&html, 60) {
            Excerpt::Text { lead } => assert_eq!(lead, format!("{}…", "漢".repeat(120))),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            split(&format!("<p>{}</p>", "漢".repeat(150)), 60),
            Excerpt::Whole
        );
        assert_eq!(first_words("one two three", 2), "one two…");
        assert_eq!(first_words("one two", 2), "one two");
    }
}
