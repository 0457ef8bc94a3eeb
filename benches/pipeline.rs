//! feedloom's benchmark: prints figures, asserts nothing.
//!
//! `cargo bench --bench pipeline` runs, in one process and against an in-process
//! HTTP server on loopback addresses (127.0.1.x, 50 "hosts"):
//! 1. a baseline: every feed fetched once with a bare HTTP client, bodies dropped;
//! 2. a cold `poll` of FEEDS feeds × 50 items (parse, identify, store, outputs);
//! 3. an all-304 `poll`;
//! 4. rendering 100 stories (Atom, RSS, JSON) from that store;
//! 5. the cost of storing a new item with near-duplicates on vs off (off: no
//!    lookup and no index rows), in a store holding NEAR items (default
//!    1,000,000) of synthetic wire copy with their fingerprints; every tenth new
//!    item is a cut copy of a stored one and must join its story; then the cost
//!    of the upgrade from version 3 (every item's fingerprint computed at open).
//!
//! Options (environment): FEEDLOOM_BENCH_FEEDS (1000; 0 skips parts 1 to 4),
//! FEEDLOOM_BENCH_NEAR (1000000; 0 skips part 5), FEEDLOOM_BENCH_NEAR_DAYS (10: the
//! part-5 store's items were first seen over that many days; the near window is
//! 14 days), FEEDLOOM_BENCH_NEAR_LOOKUP=off (polls without
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
        if feeds == 0 {
            return;
        }
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

/// CPU time of this thread (user and system), in seconds; wall time where
/// Linux's schedstat is missing.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64()
            },
            |ns| ns / 1e9,
        )
}

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Synthetic wire copy: words of a 4,000-word vocabulary drawn with Zipf's
/// law (so common pairs like "of the" recur as in real text, and the most
/// common words are short), a few names and numbers, three paragraphs of
/// about 25 words.
struct Texts {
    vocab: Vec<String>,
    cumulative: Vec<f64>,
}

impl Texts {
    fn new() -> Texts {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let syllables = [
            "ta", "ro", "mi", "ne", "sa", "ku", "le", "po", "vi", "da", "ge", "lo", "ri", "ma",
            "te", "no", "ba", "si", "ke", "ru", "an", "or", "el", "is", "un",
        ];
        // As in real text, the most frequent words are the shortest.
        let vocab: Vec<String> = (0..4000)
            .map(|i| {
                let len = match i {
                    0..100 => 1,
                    100..1000 => 2 + i % 2,
                    _ => 3 + i % 2,
                };
                (0..len)
                    .map(|_| syllables[rng.below(syllables.len())])
                    .collect()
            })
            .collect();
        let mut total = 0.0;
        let cumulative = (1..=vocab.len())
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect();
        Texts { vocab, cumulative }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let total = *self.cumulative.last().unwrap();
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        &self.vocab[self
            .cumulative
            .partition_point(|&c| c < x)
            .min(self.vocab.len() - 1)]
    }

    /// Title and HTML body of text number `seed`.
    fn story(&self, seed: u64) -> (String, String) {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let sentence = |rng: &mut Rng, words: usize| {
            let mut s = String::new();
            for w in 0..words {
                if w > 0 {
                    s.push(' ');
                }
                match rng.below(14) {
                    0 => s.push_str(&format!("{}", rng.below(5000))),
                    1 => {
                        let name = self.word(rng);
                        let mut c = name.chars();
                        let first = c.next().unwrap().to_ascii_uppercase();
                        s.push(first);
                        s.push_str(c.as_str());
                    }
                    _ => s.push_str(self.word(rng)),
                }
            }
            s
        };
        let title = sentence(&mut rng, 8);
        let mut body = String::new();
        for _ in 0..3 {
            body.push_str("<p>");
            for _ in 0..2 {
                let s = sentence(&mut rng, 12);
                let mut c = s.chars();
                body.push(c.next().unwrap().to_ascii_uppercase());
                body.push_str(c.as_str());
                body.push_str(". ");
            }
            body.push_str("</p>");
        }
        (title, body)
    }
}

/// Part 5: storing one new item (its own transaction) into a store of `n`
/// items, with near-duplicate lookup on and off; rounds alternate so that both
/// see the same cache.
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
    let texts = Texts::new();
    let now = feedloom::now_unix();
    let days = env_usize("FEEDLOOM_BENCH_NEAR_DAYS", 10) as i64;
    let span = days * 86_400;
    let t = Instant::now();
    let mut fingerprint_time = std::time::Duration::ZERO;
    let mut anchors = 0usize;
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
                "INSERT INTO items (id, feed_id, key, key_kind, uid, url, canonical_url, title,
                     content, content_hash, first_seen_at, last_seen_at, changed_at, story_id,
                     text_hash)
                 VALUES (?1, ?2, ?3, 'guid', ?4, ?5, ?6, ?7, ?8, 'h', ?9, ?9, ?9, ?1, 't')",
            )
            .unwrap();
        let mut near = conn
            .prepare(
                "INSERT INTO near_items (item_id, feed_id, first_seen_at, fingerprint)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .unwrap();
        for i in 1..=n as i64 {
            let (title, body) = texts.story(i as u64);
            let f0 = Instant::now();
            let fp = feedloom::similar::fingerprint(&title, &body);
            fingerprint_time += f0.elapsed();
            let uid = format!("urn:bench:{i}");
            let url = format!("https://a.example/p/{i}");
            // Spread over the last `days` days, the newest last.
            let seen = now - span + (i * span / n as i64);
            story.execute(rusqlite::params![i, uid, seen]).unwrap();
            item.execute(rusqlite::params![
                i,
                feeds[0].id,
                format!("guid:{i}"),
                uid,
                url,
                url.trim_start_matches("https:"),
                title,
                body,
                seen
            ])
            .unwrap();
            if let Some(fp) = fp {
                near.execute(rusqlite::params![i, feeds[0].id, seen, fp.to_bytes()])
                    .unwrap();
                anchors += fp.anchors.len();
            }
            if i % 100_000 == 0 {
                conn.execute_batch("COMMIT; BEGIN").unwrap();
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64;
    let conn = rusqlite::Connection::open(&path).unwrap();
    let table_bytes = |name: &str| -> Option<f64> {
        conn.query_row(
            "SELECT sum(pgsize) FROM dbstat WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .map(|b| b as f64)
    };
    let near_bytes = table_bytes("near_items");
    drop(conn);
    println!(
        "near-duplicate store: {n} items first seen over {days} days, built in {:.1}s \
         (fingerprinting {:.2} µs per item), file {:.0} MB = {:.0} bytes per item{}, {:.2} \
         anchors per item (in memory, for the items of the window)",
        t.elapsed().as_secs_f64(),
        fingerprint_time.as_secs_f64() * 1e6 / n as f64,
        size / 1e6,
        size / n as f64,
        near_bytes.map_or(String::new(), |b| format!(
            " ({:.0} of them near_items)",
            b / n as f64
        )),
        anchors as f64 / n as f64
    );

    // New items: most are new stories, every tenth a copy of a stored one (its
    // first two paragraphs under another headline), which joins that story.
    let batch = 500;
    let mut next = 0u64;
    let mut run = |on: bool| {
        let entries: Vec<Entry> = (0..batch)
            .map(|_| {
                next += 1;
                let (title, body) = if next.is_multiple_of(10) {
                    // A different stored story each time (the newer half).
                    let target = n as u64 - (next / 10) % (n as u64 / 2).max(1);
                    let (title, body) = texts.story(target);
                    let cut = body
                        .match_indices("</p>")
                        .nth(1)
                        .map_or(body.len(), |(i, _)| i + 4);
                    (format!("{title}: an update"), body[..cut].to_string())
                } else {
                    texts.story(10_000_000 + next)
                };
                Entry {
                    guid: Some(format!("new-{next}")),
                    link: Some(format!("https://b.example/new/{next}")),
                    title: Some(title),
                    content: Some(body),
                    ..Entry::default()
                }
            })
            .collect();
        let items = identify_document(entries);
        let rules = StoryRules {
            near_duplicates: on,
            ..StoryRules::default()
        };
        let mut joined = 0;
        let (t, cpu) = (Instant::now(), thread_cpu_seconds());
        for it in items.chunks(1) {
            let rec = FetchRecord {
                started_at: feedloom::now_unix(),
                ..FetchRecord::default()
            };
            joined += store
                .apply_document(
                    &feeds[1],
                    &rec,
                    &Default::default(),
                    &DocumentMeta::default(),
                    it,
                    &Reschedule::default(),
                    &rules,
                )
                .unwrap()
                .joined;
        }
        (
            t.elapsed().as_secs_f64(),
            thread_cpu_seconds() - cpu,
            joined,
        )
    };
    let rounds = 10;
    let (mut off, mut on, mut joined) = ((0.0, 0.0), (0.0, 0.0), 0);
    for round in 0..=rounds {
        let (w_off, c_off, _) = run(false);
        let (w_on, c_on, j) = run(true);
        if round == 0 {
            println!(
                "first round with lookups, which builds the in-memory index of the window: \
                 {:.2}s ({:.2}s CPU)",
                w_on, c_on
            );
        }
        if round > 0 {
            // The first round warms the cache.
            off = (off.0 + w_off, off.1 + c_off);
            on = (on.0 + w_on, on.1 + c_on);
            joined += j;
        }
    }
    let per = |t: f64| t / (rounds * batch) as f64 * 1e6;
    println!(
        "store one new item (own transaction) in a {n}-item store: near-duplicates off {:.0} µs, \
         on {:.0} µs ({:.2}×); CPU time off {:.0} µs, on {:.0} µs ({:.2}×); {joined} of {} \
         copies joined their story",
        per(off.0),
        per(on.0),
        on.0 / off.0,
        per(off.1),
        per(on.1),
        on.1 / off.1,
        rounds * batch / 10
    );

    // The upgrade from version 3: every stored item's fingerprint is computed
    // while the store opens.
    drop(store);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DELETE FROM near_items;
             INSERT INTO store_tasks (task, cursor) SELECT 'near_fingerprints', max(id) + 1 FROM items;",
        )
        .unwrap();
    }
    let (t, cpu) = (Instant::now(), thread_cpu_seconds());
    let store = Store::open(&path).unwrap();
    let (wall, cpu) = (t.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu);
    let total: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    println!(
        "upgrade: computing the fingerprints of all {total} stored items while opening took \
         {wall:.1}s ({cpu:.1}s CPU); opening it again: {:.1} ms",
        {
            drop(store);
            let t = Instant::now();
            drop(Store::open(&path).unwrap());
            t.elapsed().as_secs_f64() * 1e3
        }
    );
}
