//! Entries as raw bytes: a document (as feed-rs will see it) cut into its
//! entries without building any of them, so that entries the feed sent before,
//! byte for byte, can be left out before feed-rs parses the rest.
//!
//! Each entry gets a raw hash: XXH3 of its bytes, seeded with everything
//! outside it that could change what it means — the XML declaration and
//! DOCTYPE, the start tags of every element around it (namespace declarations,
//! `xml:base`, `xml:lang`, the RSS version), or for JSON Feed the whole document
//! but its `items` array (feed-level authors are inherited by items) — and with
//! the caller's tag (base URL, limits, identity rules, a version).
//!
//! [`split`] says `None` whenever it is not sure where entries begin and end
//! (not well-formed XML, an inner declaration, an entry as the root, a JSON
//! document without a plain `items` array): the caller then parses the whole
//! document. Nothing here decides what an entry means.

use quick_xml::Reader;
use quick_xml::events::Event;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// A document cut into entries.
pub(super) struct Split {
    /// Each entry's bytes, in document order.
    spans: Vec<(usize, usize)>,
    /// Per entry: hash of the context around it.
    context: Vec<u64>,
    /// JSON Feed: the `items` array's `[` and `]` (entries are rewritten with
    /// commas between them).
    json: Option<(usize, usize)>,
}

impl Split {
    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Each entry's raw hash, with `seed` (the caller's tag) mixed in.
    pub(super) fn raw_hashes(&self, text: &[u8], seed: u64) -> Vec<u64> {
        self.spans
            .iter()
            .zip(&self.context)
            .map(|(&(s, e), ctx)| xxh3_64_with_seed(&text[s..e], ctx ^ seed))
            .collect()
    }

    /// The document without the entries whose `drop` is true.
    pub(super) fn without(&self, text: &[u8], drop: &[bool]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() / 4);
        match self.json {
            Some((open, close)) => {
                out.extend_from_slice(&text[..=open]);
                let mut first = true;
                for (&(s, e), _) in self.spans.iter().zip(drop).filter(|(_, d)| !**d) {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(&text[s..e]);
                }
                out.extend_from_slice(&text[close..]);
            }
            None => {
                let mut copied = 0;
                for (&(s, e), _) in self.spans.iter().zip(drop).filter(|(_, d)| **d) {
                    out.extend_from_slice(&text[copied..s]);
                    copied = e;
                }
                out.extend_from_slice(&text[copied..]);
            }
        }
        out
    }
}

/// The document's entries, or `None` when they cannot be told apart for sure.
pub(super) fn split(text: &[u8]) -> Option<Split> {
    if super::limits::is_json(text) {
        split_json(text)
    } else {
        split_xml(text)
    }
}

fn split_json(text: &[u8]) -> Option<Split> {
    use serde_json::value::RawValue;
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        items: Vec<&'a RawValue>,
    }
    // A duplicate `items` key is an error here: never guessed at.
    let doc: Doc = serde_json::from_slice(text).ok()?;
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let spans: Vec<(usize, usize)> = doc
        .items
        .iter()
        .map(|r| (offset(r), offset(r) + r.get().len()))
        .collect();
    let (Some(&(first, _)), Some(&(_, last_end))) = (spans.first(), spans.last()) else {
        // No items: nothing to leave out.
        return Some(Split {
            spans,
            context: Vec::new(),
            json: None,
        });
    };
    let open = first - 1 - text[..first].iter().rev().position(|b| *b == b'[')?;
    let close = last_end + text[last_end..].iter().position(|b| *b == b']')?;
    // Between the brackets only items, commas and white space.
    let blank = |r: &[u8]| r.iter().all(|b| b.is_ascii_whitespace());
    if !blank(&text[open + 1..first]) || !blank(&text[last_end..close]) {
        return None;
    }
    let context = xxh3_64_with_seed(&text[close..], xxh3_64(&text[..open]));
    Some(Split {
        context: vec![context; spans.len()],
        spans,
        json: Some((open, close)),
    })
}

fn split_xml(text: &[u8]) -> Option<Split> {
    let mut reader = Reader::from_reader(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.allow_dangling_amp = false;
    config.check_comments = true;
    // Open elements outside entries: (may hold entries, context hash so far).
    let mut stack: Vec<(bool, u64)> = Vec::new();
    let mut prolog = 0u64;
    let mut had_root = false;
    // Containers of entries below the root seen so far.
    let mut containers = 0usize;
    // Inside an entry: (its start, its context, depth below it).
    let mut open: Option<(usize, u64, usize)> = None;
    let mut spans = Vec::new();
    let mut context = Vec::new();
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event().ok()?;
        let end = reader.buffer_position() as usize;
        match event {
            Event::Eof => break,
            Event::Decl(_) | Event::DocType(_) if !had_root => {
                prolog = xxh3_64_with_seed(&text[start..end], prolog);
            }
            // A declaration inside the document: feedloom drops it before
            // feed-rs; not worth a guess here.
            Event::Decl(_) | Event::DocType(_) => return None,
            Event::Start(_) | Event::End(_) | Event::Empty(_) if open.is_some() => {
                let (s, ctx, depth) = open.as_mut()?;
                match event {
                    Event::Start(_) => *depth += 1,
                    Event::End(_) if *depth == 0 => {
                        spans.push((*s, end));
                        context.push(*ctx);
                        open = None;
                    }
                    Event::End(_) => *depth -= 1,
                    _ => {}
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let local = local.as_ref();
                let is_entry = matches!(local, "item" | "entry");
                let (holds, ctx) = match stack.last() {
                    Some(parent) => *parent,
                    None if had_root => return None,
                    // The root itself may not be an entry (an Atom entry
                    // document): not split.
                    None if is_entry => return None,
                    None => (true, prolog),
                };
                had_root = true;
                if holds && is_entry && !stack.is_empty() {
                    if is_empty {
                        spans.push((start, end));
                        context.push(ctx);
                    } else {
                        open = Some((start, ctx, 0));
                    }
                } else {
                    let holds = holds && matches!(local, "channel" | "rss" | "RDF" | "feed");
                    // A second container below the root (two `<channel>`s):
                    // feed-rs reads the first only, so an entry left out of
                    // another one would be taken for part of the document.
                    if holds && !stack.is_empty() {
                        containers += 1;
                        if containers > 1 {
                            return None;
                        }
                    }
                    if !is_empty {
                        stack.push((holds, xxh3_64_with_seed(&text[start..end], ctx)));
                    }
                }
            }
            Event::End(_) => {
                stack.pop()?;
            }
            _ => {}
        }
    }
    if open.is_some() || !stack.is_empty() || !had_root {
        return None;
    }
    Some(Split {
        spans,
        context,
        json: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(doc: &str) -> Vec<u64> {
        let s = split(doc.as_bytes()).unwrap();
        s.raw_hashes(doc.as_bytes(), 7)
    }

    #[test]
    fn rss_entries_are_cut_and_put_back() {
        let doc = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>t</title>\n\
                   <item><guid>1</guid><description><![CDATA[</item>]]></description></item>\n\
                   <item/>\n<item><guid>3</guid><x><item>inner</item></x></item>\n\
                   <lastBuildDate>now</lastBuildDate></channel></rss>";
        let s = split(doc.as_bytes()).unwrap();
        assert_eq!(s.len(), 3);
        let out = s.without(doc.as_bytes(), &[true, false, true]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>t</title>\n\
             \n<item/>\n\n<lastBuildDate>now</lastBuildDate></channel></rss>"
        );
    }

    #[test]
    fn the_same_entry_hashes_the_same_until_its_context_changes() {
        let item = "<item><guid>1</guid><link>a/b</link></item>";
        let doc = |head: &str, root: &str| {
            format!("<rss version=\"2.0\"{root}><channel>{head}{item}</channel></rss>")
        };
        let plain = raw(&doc("<title>t</title>", ""))[0];
        // The head's text is not the entry's context…
        assert_eq!(
            plain,
            raw(&doc("<title>other</title><pubDate>x</pubDate>", ""))[0]
        );
        // …but what the start tags around it declare is.
        assert_ne!(plain, raw(&doc("", " xml:base=\"https://a.example/\""))[0]);
        assert_ne!(plain, raw(&doc("", " xmlns:dc=\"urn:x\""))[0]);
        assert_ne!(
            plain,
            raw(&format!(
                "<rss version=\"2.0\"><channel xml:base=\"https://a.example/\">{item}</channel></rss>"
            ))[0]
        );
        assert_ne!(
            plain,
            raw(&format!(
                "<!DOCTYPE rss [<!ENTITY a \"b\">]><rss version=\"2.0\"><channel>{item}</channel></rss>"
            ))[0]
        );
        // The seed (the caller's tag) too.
        let d = doc("", "");
        let s = split(d.as_bytes()).unwrap();
        assert_ne!(s.raw_hashes(d.as_bytes(), 1), s.raw_hashes(d.as_bytes(), 2));
    }

    #[test]
    fn unsure_documents_are_not_split() {
        for doc in [
            "<rss version=\"2.0\"><channel><item><title>A & B</title></item></channel></rss>",
            "<rss version=\"2.0\"><channel><item><title>x</titl></item></channel></rss>",
            "<rss version=\"2.0\"><channel><item><title>x</title></channel></rss>",
            "<rss version=\"2.0\"><channel><item><?xml version=\"1.0\"?></item></channel></rss>",
            "<entry xmlns=\"http://www.w3.org/2005/Atom\"><id>1</id></entry>",
            "<rss version=\"2.0\"><channel></channel></rss><rss/>",
            "<rss version=\"2.0\"><channel><item/></channel><channel><item/></channel></rss>",
            "<rss version=\"2.0\"><channel/><channel><item/></channel></rss>",
            r#"{"version": "x", "items": [1, 2], "items": []}"#,
            r#"{"version": "x"}"#,
        ] {
            assert!(split(doc.as_bytes()).is_none(), "{doc}");
        }
    }

    #[test]
    fn json_feed_items_are_cut_and_put_back() {
        let doc = r#"{"version": "https://jsonfeed.org/version/1.1", "items": [ {"id": "1"}, {"id": "2", "tags": ["a]"]},
            {"id": "3"} ], "authors": [{"name": "A"}]}"#;
        let s = split(doc.as_bytes()).unwrap();
        assert_eq!(s.len(), 3);
        let out = s.without(doc.as_bytes(), &[true, false, false]);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 2);
        assert_eq!(v["items"][0]["id"], "2");
        assert_eq!(v["authors"][0]["name"], "A");
        // Feed-level authors are inherited by items: part of their context.
        let other = doc.replace("\"A\"", "\"B\"");
        assert_ne!(raw(doc)[2], raw(&other)[2]);
        let empty = r#"{"version": "x", "items": []}"#;
        assert_eq!(split(empty.as_bytes()).unwrap().len(), 0);
    }
}
