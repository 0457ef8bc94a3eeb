//! Peak memory of parsing hostile documents: 16 feeds at once, each a 16 MiB
//! document of 200,000 tiny entries, with the default limits (max_entries 1000).
//! Prints figures, asserts nothing.
//!
//! ```sh
//! cargo run --release --example parse_memory
//! ```
//!
//! Each scenario runs in a child process of its own (this binary, with the
//! scenario as argument), which reports its peak resident set (`VmHWM`, Linux)
//! and its resident set before parsing (the document(s) it built):
//!
//! * `feed-rs`: feed-rs alone over the whole document, as feedloom parsed
//!   before the entry cap (the baseline);
//! * `feedloom-shared`: `parse::parse` through refresh's large-body slots, all
//!   16 parses over one shared body (the parse side's own cost);
//! * `feedloom-own`: the same with a body of its own per feed, as 16 fetches
//!   would hold them (the bodies alone are 256 MiB: bounding them is the fetch
//!   side's part).
//!
//! `rss` documents by default; `--json` for JSON Feed.

use std::process::Command;
use std::sync::Arc;

const FEEDS: usize = 16;
const ENTRIES: usize = 200_000;
const SIZE: usize = 16 << 20;

fn hostile(json: bool) -> Vec<u8> {
    let mut doc = String::with_capacity(SIZE + 4096);
    // Padding so that the document is SIZE bytes with ENTRIES entries.
    let per = SIZE / ENTRIES;
    if json {
        doc.push_str(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"hostile","items":["#,
        );
        for i in 0..ENTRIES {
            let head =
                format!(r#"{{"id":"{i}","date_published":"2024-01-01T00:00:00Z","content_text":""#);
            let pad = per.saturating_sub(head.len() + 4);
            doc.push_str(&head);
            doc.push_str(&"x".repeat(pad));
            doc.push_str(if i + 1 < ENTRIES { "\"}," } else { "\"}" });
        }
        doc.push_str("]}");
    } else {
        doc.push_str(r#"<rss version="2.0"><channel><title>hostile</title>"#);
        for i in 0..ENTRIES {
            let head = format!("<item><guid>{i}</guid><title>");
            let pad = per.saturating_sub(head.len() + 15);
            doc.push_str(&head);
            doc.push_str(&"x".repeat(pad));
            doc.push_str("</title></item>");
        }
        doc.push_str("</channel></rss>");
    }
    doc.into_bytes()
}

/// (VmHWM, VmRSS) in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn child(scenario: &str, json: bool) {
    let base = url::Url::parse("https://hostile.invalid/feed").unwrap();
    let limits = feedloom::parse::Limits::default();
    let bodies: Vec<Arc<Vec<u8>>> = match scenario {
        "feedloom-own" => (0..FEEDS).map(|_| Arc::new(hostile(json))).collect(),
        _ => {
            let one = Arc::new(hostile(json));
            (0..FEEDS).map(|_| one.clone()).collect()
        }
    };
    let before = memory().1;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let t = std::time::Instant::now();
    let kept: usize = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for body in bodies {
            let base = base.clone();
            let baseline = scenario == "feed-rs";
            tasks.spawn(async move {
                if baseline {
                    return tokio::task::spawn_blocking(move || {
                        feed_rs::parser::parse(body.as_slice())
                            .map(|f| f.entries.len().min(limits.max_entries))
                            .unwrap_or(0)
                    })
                    .await
                    .unwrap();
                }
                let slot = feedloom::refresh::parse_slot(body.len()).await;
                tokio::task::spawn_blocking(move || {
                    let _slot = slot;
                    feedloom::parse::parse(&body, None, &base, limits)
                        .map(|d| d.entries.len())
                        .unwrap_or(0)
                })
                .await
                .unwrap()
            });
        }
        let mut kept = 0;
        while let Some(n) = tasks.join_next().await {
            kept += n.unwrap();
        }
        kept
    });
    let (peak, _) = memory();
    println!("{peak} {before} {kept} {:.2}", t.elapsed().as_secs_f64());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    if let Some(scenario) = args.iter().skip(1).find(|a| !a.starts_with("--")) {
        child(scenario, json);
        return;
    }
    let me = std::env::current_exe().expect("own path");
    println!(
        "{FEEDS} {} documents of {} MiB with {ENTRIES} entries each, parsed at once (max_entries 1000)",
        if json { "JSON Feed" } else { "RSS" },
        SIZE >> 20
    );
    println!(
        "{:<17} {:>10} {:>14} {:>18} {:>13} {:>8}",
        "scenario", "peak MiB", "bodies MiB", "peak - bodies MiB", "entries kept", "seconds"
    );
    for scenario in ["feed-rs", "feedloom-shared", "feedloom-own"] {
        let mut cmd = Command::new(&me);
        cmd.arg(scenario);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("child runs");
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = line
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() != 4 {
            println!(
                "{scenario:<17} failed: {} {}",
                line.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        }
        println!(
            "{scenario:<17} {:>10.0} {:>14.0} {:>18.0} {:>13} {:>8.2}",
            f[0] / 1024.0,
            f[1] / 1024.0,
            (f[0] - f[1]) / 1024.0,
            f[2],
            f[3]
        );
    }
}
