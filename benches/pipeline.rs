//! feedloom's benchmark: prints figures, asserts nothing.
//!
//! `cargo bench --bench pipeline` runs, in one process and against an in-process
//! HTTP server on loopback addresses (127.0.1.x, 50 "hosts"):
//! 1. a baseline: every feed fetched once with a bare HTTP client, bodies dropped;
//! 2. a cold `poll` of FEEDS feeds × 50 items (parse, identify, store, outputs);
//! 3. an all-304 `poll`;
//! 4. rendering 100 stories (Atom, RSS, JSON) from that store;
//! 5. the cost of storing a new item with near-duplicate lookup on vs off, in a
//!    store holding NEAR items (default 1,000,000).
//!
//! Options (environment): FEEDLOOM_BENCH_FEEDS (1000), FEEDLOOM_BENCH_NEAR
//! (1000000; 0 skips part 5), FEEDLOOM_BENCH_NEAR_LOOKUP=off (polls without
//! near-duplicate lookup). Peak RSS is the process's VmHWM and includes the
//! in-process server.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use feedloom::config::{self, Format};
use feedloom::store::{SharedStore, Store};

const ITEMS: usize = 50;
const HOSTS: usize = 50;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// A deterministic ~100 KB RSS document for feed `n`.
fn document(n: usize) -> String {
    let mut s = String::with_capacity(110_000);
    s.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Feed {n}</title><link>https://site{n}.example/</link><description>bench</description>\n"
    ));
    for i in 0..ITEMS {
        s.push_str(&format!(
            "<item><guid>https://site{n}.example/post/{i}</guid><link>https://site{n}.example/post/{i}</link><title>Story {i} of feed {n}: something happened</title><pubDate>Mon, 0{} Jan 2024 10:00:00 GMT</pubDate><description>",
            1 + i % 9
        ));
        for w in 0..38 {
            s.push_str(&format!(
                "&lt;p&gt;Paragraph {w} of story {i} in feed {n} with some words to read.&lt;/p&gt;"
            ));
        }
        s.push_str("</description></item>\n");
    }
    s.push_str("</channel></rss>\n");
    s
}

async fn serve(req: Request) -> Response {
    let path = req.uri().path();
    let Some(n) = path
        .strip_prefix("/feed/")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|p| p.parse::<usize>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"v1-{n}\"");
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, etag.parse().unwrap());
    h.insert(header::CONTENT_TYPE, "application/rss+xml".parse().unwrap());
    (StatusCode::OK, h, document(n)).into_response()
}

async fn start_hosts() -> Vec<SocketAddr> {
    let mut addrs = Vec::new();
    for h in 0..HOSTS {
        let ip = format!("127.0.1.{}", h + 1);
        let listener = tokio::net::TcpListener::bind((ip.as_str(), 0))
            .await
            .unwrap();
        addrs.push(listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, Router::new().fallback(serve)).await });
    }
    addrs
}

fn main() {
    let feeds = env_usize("FEEDLOOM_BENCH_FEEDS", 1000);
    let near = env_usize("FEEDLOOM_BENCH_NEAR", 1_000_000);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    println!(
        "machine: {cores} cores, {mem:.0} GiB; {feeds} feeds × {ITEMS} items on {HOSTS} loopback hosts"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        // Parsing and identifying alone, one document at a time.
        let doc = document(7);
        let base = url::Url::parse("https://site7.example/feed.xml").unwrap();
        let rounds = 20;
        let t = Instant::now();
        for _ in 0..rounds {
            let d =
                feedloom::parse::parse(doc.as_bytes(), None, &base, Default::default()).unwrap();
            std::hint::black_box(d);
        }
        let parse = t.elapsed() / rounds;
        let t = Instant::now();
        for _ in 0..rounds {
            let d =
                feedloom::parse::parse(doc.as_bytes(), None, &base, Default::default()).unwrap();
            std::hint::black_box(feedloom::identity::identify_document(d.entries));
        }
        let both = t.elapsed() / rounds;
        println!(
            "parse one {:.0} KB document: {:.2} ms; parse + identify: {:.2} ms",
            doc.len() as f64 / 1e3,
            parse.as_secs_f64() * 1e3,
            both.as_secs_f64() * 1e3
        );
    }
    rt.block_on(async {
        let hosts = start_hosts().await;
        let urls: Vec<String> = (0..feeds)
            .map(|n| format!("http://{}/feed/{n}.xml", hosts[n % HOSTS]))
            .collect();

        // 1. Baseline: the same requests, bodies read and dropped.
        let client = reqwest::Client::new();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let mut bytes = 0usize;
        for u in &urls {
            let (c, u, sem) = (client.clone(), u.clone(), sem.clone());
            tasks.spawn(async move {
                let _p = sem.acquire().await.unwrap();
                c.get(u).send().await.unwrap().bytes().await.unwrap().len()
            });
        }
        while let Some(n) = tasks.join_next().await {
            bytes += n.unwrap();
        }
        let baseline = t.elapsed();
        println!(
            "baseline fetch (bare client, 16 in flight): {:.3}s for {:.1} MB",
            baseline.as_secs_f64(),
            bytes as f64 / 1e6
        );

        let near_on = std::env::var("FEEDLOOM_BENCH_NEAR_LOOKUP").map_or(true, |v| v != "off");
        let mut toml = format!(
            "[store]\npath = \"bench.db\"\n[fetch]\nhost_gap = \"0s\"\nconcurrency = 16\nper_host = 2\n[identity]\nnear_duplicates = {near_on}\n[[output]]\nname = \"all\"\npath = \"out/all\"\n"
        );
        for u in &urls {
            toml.push_str(&format!("[[feed]]\nurl = \"{u}\"\n"));
        }
        let cfg_path = dir.path().join("bench.toml");
        std::fs::write(&cfg_path, toml).unwrap();
        let cfg = config::load(&cfg_path).unwrap();
        let store = SharedStore::new(Store::open(&cfg.store.path).unwrap());

        // 2. Cold poll.
        let t = Instant::now();
        let (summary, _) = feedloom::refresh::poll(&cfg, store.clone()).await.unwrap();
        let cold = t.elapsed();
        println!(
            "cold poll: {:.3}s ({:.2}× baseline) — {summary}; peak RSS {:.0} MiB",
            cold.as_secs_f64(),
            cold.as_secs_f64() / baseline.as_secs_f64(),
            peak_rss_mib()
        );

        // 3. All-304 poll.
        let t = Instant::now();
        let (summary, _) = feedloom::refresh::poll(&cfg, store.clone()).await.unwrap();
        let warm = t.elapsed();
        println!(
            "all-304 poll: {:.3}s ({:.2}× baseline) — {summary}; peak RSS {:.0} MiB",
            warm.as_secs_f64(),
            warm.as_secs_f64() / baseline.as_secs_f64(),
            peak_rss_mib()
        );

        // 4. Rendering 100 stories in all three formats, as the daemon does after
        // a change: once with nothing cached, once reusing sanitised HTML.
        let out = cfg.outputs[0].clone();
        let now = feedloom::now_unix();
        let rounds = 30;
        let query = feedloom::export::query_for(&out, now, Some(100));
        let t = Instant::now();
        for _ in 0..rounds {
            store.with(|s| s.stories(&query)).unwrap();
        }
        let q = t.elapsed() / rounds;
        let mut warm_cache = feedloom::export::HtmlCache::default();
        for (label, warm) in [("cold", false), ("warm", true)] {
            let t = Instant::now();
            for _ in 0..rounds {
                let stories = store.with(|s| s.stories(&query)).unwrap();
                let mut fresh = feedloom::export::HtmlCache::default();
                let cache = if warm { &mut warm_cache } else { &mut fresh };
                let prepared = cache.prepare(stories);
                cache.finish_pass();
                let info = feedloom::export::info_for(&out, &prepared);
                for format in [Format::Atom, Format::Rss, Format::Json] {
                    std::hint::black_box(feedloom::export::render(format, &info, &prepared));
                }
            }
            let r = t.elapsed() / rounds;
            println!(
                "render 100 stories as Atom + RSS + JSON ({label} HTML cache): {:.2} ms ({:.1}× the story query alone, {:.2} ms)",
                r.as_secs_f64() * 1e3,
                r.as_secs_f64() / q.as_secs_f64(),
                q.as_secs_f64() * 1e3
            );
        }
    });
    if near > 0 {
        near_duplicates(dir.path(), near);
    }
}

/// Part 5: storing new items into a store of `n` items, near-duplicate lookup on
/// and off.
fn near_duplicates(dir: &Path, n: usize) {
    use feedloom::identity::identify_document;
    use feedloom::parse::Entry;
    use feedloom::store::feeds::{FetchRecord, Reschedule};
    use feedloom::store::items::{DocumentMeta, StoryRules};

    let path = dir.join("near.db");
    let mut store = Store::open(&path).unwrap();
    let cfg = config::parse(
        "[[feed]]\nurl = \"https://a.example/feed\"\n[[feed]]\nurl = \"https://b.example/feed\"\n",
        Path::new("x.toml"),
    )
    .unwrap();
    let feeds = store.sync_config(&cfg.feeds).unwrap();
    let t = Instant::now();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let mut story = conn
            .prepare(
                "INSERT INTO stories (id, uid, first_seen_at, changed_at) VALUES (?1, ?2, ?3, ?3)",
            )
            .unwrap();
        let mut item = conn
            .prepare(
                "INSERT INTO items (id, feed_id, key, key_kind, uid, url, canonical_url, title, content_hash,
                     first_seen_at, last_seen_at, changed_at, story_id, text_hash, fingerprint)
                 VALUES (?1, ?2, ?3, 'guid', ?4, ?5, ?6, ?7, 'h', ?8, ?8, ?8, ?1, 't', ?9)",
            )
            .unwrap();
        let mut band = conn
            .prepare("INSERT OR IGNORE INTO fingerprint_bands (band, value, item_id) VALUES (?1, ?2, ?3)")
            .unwrap();
        let now = feedloom::now_unix();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 1..=n as i64 {
            // xorshift: uniformly random fingerprints.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let uid = format!("urn:bench:{i}");
            let url = format!("https://a.example/p/{i}");
            story
                .execute(rusqlite::params![i, uid, now - (i % 86_400)])
                .unwrap();
            item.execute(rusqlite::params![
                i,
                feeds[0].id,
                format!("guid:{i}"),
                uid,
                url,
                url.trim_start_matches("https:"),
                format!("Story {i}"),
                now - (i % 86_400),
                x as i64
            ])
            .unwrap();
            for (b, v) in feedloom::similar::bands(x) {
                band.execute(rusqlite::params![b, v, i]).unwrap();
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "near-duplicate store: {n} items built in {:.1}s, file {size:.0} MB",
        t.elapsed().as_secs_f64()
    );
    let batch = 2000;
    let mut run = |on: bool, offset: usize| {
        let entries: Vec<Entry> = (0..batch)
            .map(|i| Entry {
                guid: Some(format!("new-{on}-{i}")),
                link: Some(format!("https://b.example/new/{on}/{i}")),
                title: Some(format!("Fresh headline number {} about the council budget vote", i + offset)),
                content: Some(format!(
                    "<p>The council voted {} to {} on the budget after a long debate about roads, schools and parks in the district.</p>",
                    i % 17,
                    i % 13
                )),
                ..Entry::default()
            })
            .collect();
        let items = identify_document(entries);
        let rules = StoryRules {
            near_duplicates: on,
            ..StoryRules::default()
        };
        let t = Instant::now();
        for it in items.chunks(1) {
            let rec = FetchRecord {
                started_at: feedloom::now_unix(),
                ..FetchRecord::default()
            };
            store
                .apply_document(
                    &feeds[1],
                    &rec,
                    &Default::default(),
                    &DocumentMeta::default(),
                    it,
                    &Reschedule::default(),
                    &rules,
                )
                .unwrap();
        }
        t.elapsed().as_secs_f64() / batch as f64
    };
    let off = run(false, 0);
    let on = run(true, batch);
    println!(
        "store one new item (own transaction) in a {n}-item store: near-duplicate lookup off {:.0} µs, on {:.0} µs ({:.2}×)",
        off * 1e6,
        on * 1e6,
        on / off
    );
}
