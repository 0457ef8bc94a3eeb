//! Peak memory of 16 hostile feeds at once: every one a 16 MiB document (the
//! default `max_body`), sent without a Content-Length (so a fetch cannot know
//! its size up front), plain or gzip-compressed (a few hundred KiB on the wire).
//!
//! ```text
//! cargo run --release --example hostile_fetch
//! ```
//!
//! This process serves the feeds on 127.0.0.1; each measurement runs in a child
//! process of its own (this program again), so every peak RSS (VmHWM) belongs to
//! one run. For each case it prints the child's peak RSS, the most body bytes
//! held at once (`Fetcher::buffered`), and the ratio to the baseline of the same
//! case in the same run: the same fetches with a budget big enough for all 16
//! bodies at once (`max_buffered = 256MiB`), i.e. without a bound in effect.
//!
//! * `fetch`: 16 fetches at once; each body is held 200 ms after it is complete
//!   (standing in for parsing), then dropped.
//! * `poll`: `feedloom poll` as a library call on a fresh store: fetch, parse,
//!   store. Parsing memory is bounded elsewhere (the parser's own limits); this
//!   shows the whole.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

const FEEDS: usize = 16;
const SIZE: usize = 16 << 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(&args[2], &args[3], &args[4], &args[5]);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(serve());
    println!(
        "{FEEDS} feeds x {} MiB at once (no Content-Length); machine: {} CPUs",
        SIZE >> 20,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<8} {:<6} {:<22} {:>14} {:>18} {:>9} {:>8}",
        "case", "wire", "max_buffered", "peak RSS MiB", "peak bodies MiB", "vs base", "seconds"
    );
    for case in ["fetch", "poll"] {
        for wire in ["plain", "gzip"] {
            let base = run_child(case, wire, "256MiB", &addr);
            let bounded = run_child(case, wire, "default", &addr);
            for (label, r) in [("256MiB (baseline)", &base), ("64MiB (default)", &bounded)] {
                println!(
                    "{case:<8} {wire:<6} {label:<22} {:>14.1} {:>18.1} {:>8.2}x {:>8.1}",
                    r.rss_kib as f64 / 1024.0,
                    r.peak_bodies as f64 / (1 << 20) as f64,
                    r.rss_kib as f64 / base.rss_kib as f64,
                    r.seconds
                );
            }
        }
    }
}

struct Measured {
    rss_kib: u64,
    peak_bodies: u64,
    seconds: f64,
}

fn run_child(case: &str, wire: &str, budget: &str, addr: &str) -> Measured {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child", case, wire, budget, addr])
        .env("FEEDLOOM_LOG", "error")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        panic!(
            "child {case} {wire} {budget} failed: {}{text}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let field = |name: &str| -> f64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    Measured {
        rss_kib: field("peak_rss_kib") as u64,
        peak_bodies: field("peak_bodies") as u64,
        seconds: field("seconds"),
    }
}

/// A 16 MiB RSS document: many entries with long text.
fn document() -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>hostile</title><link>https://example.org/</link><description>d</description>\n",
    );
    let text = "All work and no play makes a feed very large indeed. ".repeat(70);
    let mut i = 0;
    while s.len() < SIZE - 8192 {
        s.push_str(&format!(
            "<item><guid>item-{i}</guid><link>https://example.org/{i}</link><title>Story number {i}</title><description>{text} {i}</description></item>\n"
        ));
        i += 1;
    }
    s.push_str("</channel></rss>\n");
    let mut b = s.into_bytes();
    b.resize(SIZE, b'\n');
    b
}

/// Serves `/plain/N.xml` and `/gzip/N.xml` from one shared copy, chunked.
async fn serve() -> String {
    use axum::body::Body;
    use axum::routing::get;
    let plain = bytes::Bytes::from(document());
    let gzip = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        bytes::Bytes::from(gz.finish().unwrap())
    };
    let stream = |b: bytes::Bytes| {
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..b.len())
            .step_by(64 * 1024)
            .map(|i| Ok(b.slice(i..(i + 64 * 1024).min(b.len()))))
            .collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    };
    let app = axum::Router::new()
        .route(
            "/plain/{n}",
            get(move || {
                let b = plain.clone();
                async move { ([("content-type", "application/rss+xml")], stream(b)) }
            }),
        )
        .route(
            "/gzip/{n}",
            get(move || {
                let b = gzip.clone();
                async move {
                    (
                        [
                            ("content-type", "application/rss+xml"),
                            ("content-encoding", "gzip"),
                        ],
                        stream(b),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn child(case: &str, wire: &str, budget: &str, addr: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = (0..FEEDS)
        .map(|i| format!("http://{addr}/{wire}/{i}.xml"))
        .collect();
    let mut text = String::from(
        "[store]\npath = \"f.db\"\n\n[fetch]\nhost_gap = \"0s\"\nper_host = 16\ntimeout = \"300s\"\n",
    );
    if budget != "default" {
        text.push_str(&format!("max_buffered = \"{budget}\"\n"));
    }
    for u in &urls {
        text.push_str(&format!("\n[[feed]]\nurl = \"{u}\"\n"));
    }
    let cfg = feedloom::config::parse(&text, &dir.path().join("c.toml")).unwrap();
    let t0 = Instant::now();
    let peak_bodies = rt.block_on(async {
        let fetcher = feedloom::fetch::Fetcher::new(&cfg.fetch).unwrap();
        match case {
            "fetch" => {
                let mut tasks = Vec::new();
                for u in &urls {
                    let f = fetcher.clone();
                    let url = url::Url::parse(u).unwrap();
                    tasks.push(tokio::spawn(async move {
                        let origin = feedloom::fetch::Origin::configured(&url, Default::default());
                        let got = f
                            .fetch(&url, &Default::default(), &origin)
                            .await
                            .expect("fetched");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        drop(got);
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            }
            _ => {
                let store = feedloom::store::SharedStore::new(
                    feedloom::store::Store::open(&cfg.store.path).unwrap(),
                );
                let (summary, _) = feedloom::refresh::poll_with(&cfg, store, fetcher.clone())
                    .await
                    .unwrap();
                assert_eq!(summary.ok, FEEDS, "{summary}");
            }
        }
        fetcher.buffered().peak
    });
    let seconds = t0.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("peak_rss_kib={hwm} peak_bodies={peak_bodies} seconds={seconds:.2}");
}
