//! Time and peak memory of parsing documents built to make a parser's work
//! grow faster than their size: feed-rs alone over each document (the
//! baseline) against `parse::parse`, each at two sizes, each run in a process
//! of its own on a thread with a 2 MiB stack (tokio's blocking threads have
//! that much). Prints figures, asserts nothing.
//!
//! ```sh
//! cargo run --release --example hostile_parse
//! cargo run --release --example hostile_parse -- json-tags   # one case
//! ```
//!
//! A run that dies (a stack overflow aborts the process) or passes 20 s shows
//! as such. Cases (at 64 and 256 KiB, those that grow linearly at 1 and 16
//! MiB):
//!
//! * `json-feed-authors`, `atom-feed-authors`: 1,000 entries without an
//!   author, the feed naming thousands (feed-rs gives every JSON Feed item a
//!   copy of all the feed's authors after comparing each with all before it;
//!   feedloom cuts every `authors` list to 16, and gives an Atom entry the
//!   feed's first author only);
//! * `media-groups`: one RSS item, half `<media:thumbnail>`, half
//!   `<media:group>` each with one `<media:content>`;
//! * `nested-media-groups`, `nested-itunes-categories`: one element nested in
//!   itself to the document's end;
//! * `long-base-links`: an Atom feed whose root has an `xml:base` of half the
//!   document, entries with many relative links;
//! * `long-base-links-unbalanced`: the same with an end tag missing, so that
//!   feed-rs reads it only after feedloom's repair;
//! * `spaces-base-links`: a base of 2,000 spaces (6 KB once escaped in a
//!   URL), and many relative links;
//! * `long-base-elements`: the same base on an RSS channel, items with many
//!   small elements;
//! * `nested-bases`: relative `xml:base`s nested in one item;
//! * `nested-xhtml`: an Atom entry's XHTML content of nested `<div>`s;
//! * `nested-atom-elements`: `<author>` nested in itself in an Atom entry;
//! * `base-many-lists`: a 2 KB `xml:base` on the channel, 1,000 items of 16
//!   links, enclosures, comments and sources each (at any size: feed-rs
//!   resolves every one against the base, 111 MiB for 2.9 MB; feedloom drops
//!   every base when the copies would pass 16 MiB);
//! * `json-tags`: one JSON Feed item with a list of tags (feed-rs builds each
//!   at 38 times its size; feedloom cuts every list it reads no more of to
//!   16);
//! * `rss-links`, `atom-links`, `rss-categories`, `atom-authors`: one entry
//!   with a long list (5–14 times; feedloom keeps 16 of each name, and the
//!   first link a reader would follow and the first named person);
//! * `many-attributes`: one element with many attributes (12 times; 64 kept);
//! * `deep-unknown`: an element nested in itself 500,000 times, which feed-rs
//!   refuses; feedloom's repair of the document used to keep each open name.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The cases, and whether each grows with the document's size only (shown
/// at 1 and 16 MiB) or faster (at 64 and 256 KiB).
const CASES: [(&str, bool); 20] = [
    ("json-feed-authors", false),
    ("atom-feed-authors", false),
    ("media-groups", false),
    ("nested-media-groups", false),
    ("nested-itunes-categories", false),
    ("long-base-links", false),
    ("long-base-links-unbalanced", false),
    ("spaces-base-links", false),
    ("long-base-elements", false),
    ("nested-bases", false),
    ("nested-xhtml", false),
    ("nested-atom-elements", false),
    ("base-many-lists", false),
    ("json-tags", true),
    ("rss-links", true),
    ("atom-links", true),
    ("rss-categories", true),
    ("atom-authors", true),
    ("many-attributes", true),
    ("deep-unknown", true),
];

fn rss(ns: &str, channel_attrs: &str, inner: &str) -> String {
    format!(
        r#"<rss version="2.0" {ns}><channel{channel_attrs}><title>t</title><item><guid>g</guid><title>x</title>{inner}</item></channel></rss>"#
    )
}

fn document(case: &str, size: usize) -> String {
    let media = r#"xmlns:media="http://search.yahoo.com/mrss/""#;
    let repeat = |unit: &str, bytes: usize| unit.repeat(bytes / unit.len().max(1));
    match case {
        "json-feed-authors" | "atom-feed-authors" => {
            // 1,000 entries without an author; the feed names the rest.
            let authors = size.saturating_sub(40_000) / 16;
            if case.starts_with("json") {
                let people: Vec<String> = (0..authors)
                    .map(|i| format!(r#"{{"name":"p{i}"}}"#))
                    .collect();
                let items: Vec<String> = (0..1000)
                    .map(|i| format!(r#"{{"id":"e{i}","content_text":"x"}}"#))
                    .collect();
                format!(
                    r#"{{"version":"https://jsonfeed.org/version/1.1","title":"t","authors":[{}],"items":[{}]}}"#,
                    people.join(","),
                    items.join(",")
                )
            } else {
                let people: String = (0..authors)
                    .map(|i| format!("<author><name>p{i}</name></author>"))
                    .collect();
                let entries: String = (0..1000)
                    .map(|i| format!("<entry><id>e{i}</id><title>x</title></entry>"))
                    .collect();
                format!(
                    r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{people}{entries}</feed>"#
                )
            }
        }
        "media-groups" => {
            let thumbs = repeat(
                r#"<media:thumbnail url="https://x.example/t.jpg"/>"#,
                size / 2,
            );
            let groups = repeat(
                r#"<media:group><media:content url="https://x.example/v.mp4"/></media:group>"#,
                size / 2,
            );
            rss(media, "", &(thumbs + &groups))
        }
        "nested-media-groups" => {
            let n = size / 40;
            rss(
                media,
                "",
                &("<media:group>".repeat(n) + &"</media:group>".repeat(n)),
            )
        }
        "nested-itunes-categories" => {
            let n = size / 50;
            rss(
                r#"xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd""#,
                "",
                "",
            )
            .replace(
                "<title>t</title>",
                &format!(
                    "<title>t</title>{}{}",
                    r#"<itunes:category text="a">"#.repeat(n),
                    "</itunes:category>".repeat(n)
                ),
            )
        }
        "long-base-links" => {
            let base = format!("https://x.example/{}/", "a".repeat(size / 2));
            let entries = repeat(
                r#"<entry><id>e</id><title>x</title><link href="b"/><link href="b"/><link href="b"/><link href="b"/></entry>"#,
                size / 2,
            );
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}"><title>t</title>{entries}</feed>"#
            )
        }
        "long-base-links-unbalanced" => {
            // An end tag missing: read only after feedloom's repair.
            document("long-base-links", size).replacen("<title>x</title>", "<title>x<b></title>", 1)
        }
        "spaces-base-links" => {
            // A base within 2 KiB as written, three times that as a URL.
            document("long-base-links", size).replacen(
                &format!("https://x.example/{}/", "a".repeat(size / 2)),
                &format!("https://x.example/{}/", " ".repeat(2000)),
                1,
            )
        }
        "long-base-elements" => {
            let base = format!(r#" xml:base="https://x.example/{}/""#, "a".repeat(size / 2));
            rss("", &base, &repeat("<x/>", size / 2))
        }
        "nested-bases" => {
            let n = size / 60;
            let open = format!(r#"<x xml:base="{}/">"#, "a".repeat(39));
            rss("", "", &(open.repeat(n) + &"</x>".repeat(n)))
        }
        "nested-xhtml" => {
            let n = size / 12;
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>e</id><title>x</title><content type="xhtml">{}{}</content></entry></feed>"#,
                "<div>".repeat(n),
                "</div>".repeat(n)
            )
        }
        "nested-atom-elements" => {
            let n = size / 20;
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>e</id>{}{}</entry></feed>"#,
                "<author>".repeat(n),
                "</author>".repeat(n)
            )
        }
        "json-tags" => {
            let tags = repeat(r#""a","#, size);
            format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{{"id":"e","tags":[{}],"content_text":"x"}}]}}"#,
                tags.trim_end_matches(',')
            )
        }
        "rss-links" => rss("", "", &repeat("<link>a</link>", size)),
        "rss-categories" => rss("", "", &repeat("<category>a</category>", size)),
        "atom-links" | "atom-authors" => {
            let unit = if case == "atom-links" {
                r#"<link href="a"/>"#
            } else {
                "<author><name>a</name></author>"
            };
            format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>e</id><title>x</title>{}</entry></feed>"#,
                repeat(unit, size)
            )
        }
        "many-attributes" => {
            let attrs: String = (0..size / 12).map(|i| format!(r#" a{i}="b""#)).collect();
            rss("", "", &format!("<x{attrs}/>"))
        }
        "base-many-lists" => {
            let item = format!(
                "<item><title>x</title>{}{}{}{}</item>",
                "<link>b</link>".repeat(16),
                r#"<enclosure url="b" type="audio/mpeg" length="1"/>"#.repeat(16),
                "<comments>b</comments>".repeat(16),
                r#"<source url="b">s</source>"#.repeat(16)
            );
            let base = format!(r#" xml:base="https://x.example/{}/""#, "a".repeat(1990));
            format!(
                r#"<rss version="2.0"><channel{base}><title>t</title>{}</channel></rss>"#,
                item.repeat(1000)
            )
        }
        "deep-unknown" => {
            let n = size / 8;
            rss("", "", &("<x>".repeat(n) + &"</x>".repeat(n)))
        }
        _ => panic!("unknown case {case}"),
    }
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn child(parser: &str, case: &str, size: usize) {
    let doc = document(case, size);
    let parser = parser.to_string();
    let t = Instant::now();
    let entries = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            if parser == "feed-rs" {
                feed_rs::parser::parse(doc.as_bytes()).map_or(0, |f| f.entries.len())
            } else {
                let base = url::Url::parse("https://x.example/feed").unwrap();
                let limits = feedloom::parse::Limits::default();
                feedloom::parse::parse(doc.as_bytes(), None, &base, limits)
                    .map_or(0, |d| d.entries.len())
            }
        })
        .unwrap()
        .join()
        .unwrap();
    println!("{} {} {entries}", peak_kib(), t.elapsed().as_secs_f64());
}

/// Peak MiB and seconds of one run, or what stopped it.
fn run(me: &std::path::Path, parser: &str, case: &str, size: usize) -> String {
    let mut proc = Command::new(me)
        .args([parser, case, &size.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child runs");
    let t = Instant::now();
    loop {
        if let Some(status) = proc.try_wait().expect("child state") {
            let mut out = String::new();
            proc.stdout.take().unwrap().read_to_string(&mut out).ok();
            let f: Vec<f64> = out
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            return match (status.success(), &f[..]) {
                (true, [kib, secs, _]) => format!("{:.0} MiB {secs:.3} s", kib / 1024.0),
                _ => "died".to_string(),
            };
        }
        if t.elapsed() > Duration::from_secs(20) {
            proc.kill().ok();
            proc.wait().ok();
            return "> 20 s".to_string();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, parser, case, size] = &args[..] {
        child(parser, case, size.parse().expect("a size"));
        return;
    }
    let me = std::env::current_exe().expect("own path");
    println!(
        "{:<26} {:>7} {:>22} {:>22}",
        "case", "KiB", "feed-rs alone", "feedloom"
    );
    // One case when named (`-- json-tags`), else all.
    let only = args.get(1);
    for (case, linear) in CASES.iter().filter(|c| only.is_none_or(|o| o == c.0)) {
        // What grows linearly is shown at 1 MiB and at the default
        // `max_body`, the rest where it grows faster.
        let sizes = if *linear {
            [1 << 20, 16 << 20]
        } else {
            [64 << 10, 256 << 10]
        };
        for size in sizes {
            println!(
                "{case:<26} {:>7} {:>22} {:>22}",
                size >> 10,
                run(&me, "feed-rs", case, size),
                run(&me, "feedloom", case, size)
            );
        }
    }
}
