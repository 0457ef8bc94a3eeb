//! Time and peak memory of parsing documents that name thousands of authors
//! (the feed's, for a thousand entries without one): feed-rs alone over the
//! document (the baseline) against `parse::parse`. Prints figures, asserts
//! nothing.
//!
//! ```sh
//! cargo run --release --example many_authors
//! ```
//!
//! Each run is a child process of its own (this binary, with the case as
//! arguments), which reports its peak resident set (`VmHWM`, Linux). feed-rs
//! gives every JSON Feed item without an author a copy of all the feed's
//! authors, after comparing each with all before it; feedloom cuts every
//! `authors` list to its first 16 first, and gives an Atom entry without an
//! author the feed's first (the one it shows).

use std::process::Command;
use std::time::Instant;

const ENTRIES: usize = 1000;

fn document(kind: &str, authors: usize) -> String {
    let mut d = String::new();
    if kind == "atom" {
        d.push_str(r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>"#);
        for i in 0..authors {
            d.push_str(&format!("<author><name>p{i}</name></author>"));
        }
        for i in 0..ENTRIES {
            d.push_str(&format!("<entry><id>e{i}</id><title>x</title></entry>"));
        }
        d.push_str("</feed>");
    } else {
        d.push_str(r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","authors":["#);
        let people: Vec<String> = (0..authors)
            .map(|i| format!(r#"{{"name":"p{i}"}}"#))
            .collect();
        d.push_str(&people.join(","));
        d.push_str(r#"],"items":["#);
        let items: Vec<String> = (0..ENTRIES)
            .map(|i| format!(r#"{{"id":"e{i}","content_text":"x"}}"#))
            .collect();
        d.push_str(&items.join(","));
        d.push_str("]}");
    }
    d
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn child(parser: &str, kind: &str, authors: usize) {
    let doc = document(kind, authors);
    let t = Instant::now();
    let entries = if parser == "feed-rs" {
        feed_rs::parser::parse(doc.as_bytes())
            .map(|f| f.entries.len())
            .unwrap_or(0)
    } else {
        let base = url::Url::parse("https://authors.example/feed").unwrap();
        feedloom::parse::parse(
            doc.as_bytes(),
            None,
            &base,
            feedloom::parse::Limits::default(),
        )
        .map(|d| d.entries.len())
        .unwrap_or(0)
    };
    let secs = t.elapsed().as_secs_f64();
    println!("{} {secs} {} {entries}", peak_kib(), doc.len());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, parser, kind, authors] = &args[..] {
        child(parser, kind, authors.parse().expect("a count"));
        return;
    }
    let me = std::env::current_exe().expect("own path");
    println!(
        "{ENTRIES} entries without an author, the feed naming N authors (each run a process of its own)"
    );
    println!(
        "{:<6} {:>7} {:>9} {:>9} {:>12} {:>10} {:>12} {:>10}",
        "format",
        "N",
        "doc KB",
        "entries",
        "feed-rs MiB",
        "feed-rs s",
        "feedloom MiB",
        "feedloom s"
    );
    for kind in ["atom", "json"] {
        for authors in [10, 1_000, 10_000] {
            let run = |parser: &str| -> Vec<f64> {
                let out = Command::new(&me)
                    .args([parser, kind, &authors.to_string()])
                    .output()
                    .expect("child runs");
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            };
            let (base, ours) = (run("feed-rs"), run("feedloom"));
            if base.len() != 4 || ours.len() != 4 {
                println!("{kind:<6} {authors:>7} failed");
                continue;
            }
            println!(
                "{kind:<6} {authors:>7} {:>9.0} {:>9} {:>12.0} {:>10.3} {:>12.0} {:>10.3}",
                ours[2] / 1024.0,
                ours[3],
                base[0] / 1024.0,
                base[1],
                ours[0] / 1024.0,
                ours[1]
            );
        }
    }
}
