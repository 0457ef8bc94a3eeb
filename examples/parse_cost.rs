//! CPU cost of `parse::parse` against feed-rs alone over the same bytes, on
//! large documents (1,000 entries, ~1.7 MB): what the steps before feed-rs (root
//! sniff, entry count, legacy mapping) add. Prints figures, asserts nothing.
//!
//! ```sh
//! cargo run --release --example parse_cost
//! ```

use std::time::Instant;

const ENTRIES: usize = 1000;
const ROUNDS: usize = 20;

fn doc(kind: &str) -> Vec<u8> {
    let body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(25);
    let mut d = String::new();
    match kind {
        "rss" => d.push_str(r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>https://e.org/</link>"#),
        "atom" => d.push_str(r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>"#),
        _ => d.push_str(r#"<?xml version="1.0" encoding="utf-8"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title><id>f</id>"#),
    }
    for i in 0..ENTRIES {
        match kind {
            "rss" => d.push_str(&format!(
                "<item><guid>https://e.org/{i}</guid><title>Story {i}</title><link>https://e.org/{i}</link>\
                 <pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate><description>{body}</description></item>"
            )),
            "atom" => d.push_str(&format!(
                "<entry><id>https://e.org/{i}</id><title>Story {i}</title><link href=\"https://e.org/{i}\"/>\
                 <updated>2024-01-01T10:00:00Z</updated><content type=\"html\">{body}</content></entry>"
            )),
            _ => d.push_str(&format!(
                "<entry><id>https://e.org/{i}</id><title>Story {i}</title><link rel=\"alternate\" href=\"https://e.org/{i}\"/>\
                 <modified>2024-01-01T10:00:00Z</modified><content type=\"text/html\" mode=\"escaped\">{body}</content></entry>"
            )),
        }
    }
    d.push_str(if kind == "rss" {
        "</channel></rss>"
    } else {
        "</feed>"
    });
    d.into_bytes()
}

fn best<F: FnMut() -> usize>(mut f: F) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        n = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, n)
}

fn main() {
    let base = url::Url::parse("https://e.org/feed").unwrap();
    println!(
        "{:<9} {:>8} {:>15} {:>17} {:>7} {:>18}",
        "document", "MB", "feed-rs ms", "parse::parse ms", "ratio", "added µs/entry"
    );
    for kind in ["rss", "atom", "atom0.3"] {
        let bytes = doc(kind);
        let (raw, n_raw) = best(|| {
            feed_rs::parser::Builder::new()
                .base_uri(Some(base.as_str()))
                .id_generator(|_, _, _| String::new())
                .sanitize_content(false)
                .build()
                .parse(bytes.as_slice())
                .map(|f| f.entries.len())
                .unwrap_or(0)
        });
        let (ours, n_ours) = best(|| {
            feedloom::parse::parse(&bytes, None, &base, feedloom::parse::Limits::default())
                .map(|d| d.entries.len())
                .unwrap_or(0)
        });
        println!(
            "{kind:<9} {:>8.2} {:>15.2} {:>17.2} {:>7.2} {:>18.2}   ({n_raw} / {n_ours} entries)",
            bytes.len() as f64 / 1e6,
            raw * 1e3,
            ours * 1e3,
            ours / raw,
            (ours - raw) * 1e6 / ENTRIES as f64,
        );
    }
}
