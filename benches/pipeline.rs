//! feedloom's benchmark: prints figures, asserts nothing.
//!
//! `cargo bench --bench pipeline` runs, in one process, against a farm of
//! FEEDS feeds × ITEMS items (~2 KB each, like the 104 MB farm) served
//! by a child process (so that this process's CPU time and peak RSS are
//! feedloom's alone) on 50 loopback addresses (127.0.1.x; FEEDLOOM_BENCH_HOSTS
//! for more, up to one per feed):
//!
//! 1. the download floor: every feed fetched once with a bare HTTP client
//!    (bodies read and dropped), and once more with its ETag (all 304);
//! 2. a cold `poll`; an all-304 `poll`; two all-200-unchanged polls (the farm
//!    sends no validators, every body as before); a `poll` where every feed has
//!    5 new items (and drops its 5 oldest);
//! 3. the cost of each step of the pipeline for one document (parse, identify,
//!    fingerprint) per item;
//! 4. rendering 100 stories (Atom, RSS, JSON) from that store, and syncing
//!    the same config again (what each poll does before its first fetch);
//! 5. store size: bytes per item, per table and index (`dbstat`);
//! 6. with FEEDLOOM_BENCH_GROW=N: a new store of N items in all, grown as a
//!    real one, oldest first (synthetic rows of the same size, first seen 90
//!    days ago and more, then the farm's feeds in a cold poll), then the open
//!    time, an all-304 poll, a +5 poll, `feedloom export --limit 100` as a
//!    whole process and a cold poll of FEEDS new feeds, each against the same
//!    scenario on the small store above;
//! 7. with FEEDLOOM_BENCH_NEAR=N (default 0): the cost of storing a new item
//!    with near-duplicates on vs off (off: no lookup and no index rows), in a
//!    store holding N items of synthetic wire copy with their fingerprints,
//!    first seen over FEEDLOOM_BENCH_NEAR_DAYS days (10; the near window is 14);
//!    every tenth new item is a cut copy of a stored one and must join its story;
//!    then the cost of the upgrade from version 3 (every item's fingerprint
//!    computed at open).
//!
//! Every poll prints wall time (and its ratio to the download floor of the
//! same run; in the main table also to the floor measured again just before
//! that poll, since this machine's speed drifts within minutes), CPU time of
//! this process (user + system, getrusage) and per new item, of it what the
//! store's writer thread ran (its schedstat: the writer is the critical path of
//! a poll that stores items, and its time varies far less than wall time on a
//! shared machine), and peak RSS (VmHWM, reset before each scenario). Options
//! (environment): FEEDLOOM_BENCH_FEEDS (1000), FEEDLOOM_BENCH_ITEMS (50),
//! FEEDLOOM_BENCH_GROW (0), FEEDLOOM_BENCH_NEAR (0), FEEDLOOM_BENCH_PLUS5_AGAIN (0:
//! how many more +5 polls to run after the first), FEEDLOOM_BENCH_UNCHANGED_AGAIN
//! (0: more all-200-unchanged polls, each after a floor of its own; the
//! median of their ratios to it is printed),
//! FEEDLOOM_BENCH_NEAR_LOOKUP=off (polls without near-duplicate lookup).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use feedloom::config::{self, Config, Format};
use feedloom::store::{SharedStore, Store};

/// Loopback hosts of the farm (FEEDLOOM_BENCH_HOSTS): 127.0.1.x up to 250,
/// then 127.1.x.y.
fn hosts() -> usize {
    env_usize("FEEDLOOM_BENCH_HOSTS", 50).max(1)
}

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

/// Resets VmHWM to the current RSS, so the next reading is one scenario's peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU seconds (user + system) this process has used.
fn cpu_secs() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// CPU seconds the store's writer threads (`feedloom-writer`) have run: the
/// critical path of every poll that stores items (from schedstat, in ns).
fn writer_cpu_secs() -> f64 {
    writer_stat("schedstat", |s| {
        s.split_whitespace().next()?.parse::<u64>().ok()
    }) / 1e9
}

/// Bytes the store's writer threads have handed to write(2)/pwrite(2): WAL
/// frames and the checkpoints' copies into the database file (`wchar` of
/// their `io`). What the pages a poll dirties cost, free of timing noise.
fn writer_written_bytes() -> f64 {
    writer_stat("io", |s| {
        s.lines()
            .find_map(|l| l.strip_prefix("wchar:"))?
            .trim()
            .parse::<u64>()
            .ok()
    })
}

/// Sum over the writer threads of one number read from a file of
/// `/proc/self/task/<tid>/`; NaN when the kernel does not provide it.
fn writer_stat(file: &str, read: impl Fn(&str) -> Option<u64>) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut sum = 0u64;
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != "feedloom-writer" {
            continue;
        }
        // (A kernel without schedstat or task io: unknown, not zero.)
        let Some(n) = std::fs::read_to_string(t.path().join(file))
            .ok()
            .and_then(|s| read(&s))
        else {
            return f64::NAN;
        };
        sum += n;
    }
    sum as f64
}

// ---------------------------------------------------------------- the farm

/// Words for the farm's text: varied enough that unrelated stories get
/// unrelated fingerprints, as on the web.
const WORDS: &[&str] = &[
    "council",
    "budget",
    "river",
    "school",
    "market",
    "energy",
    "railway",
    "harbour",
    "minister",
    "vote",
    "storm",
    "museum",
    "festival",
    "research",
    "hospital",
    "court",
    "bridge",
    "farmers",
    "prices",
    "housing",
    "teachers",
    "police",
    "airport",
    "library",
    "election",
    "festival",
    "climate",
    "football",
    "orchestra",
    "science",
    "engineers",
    "village",
    "district",
    "report",
    "plans",
    "opened",
    "closed",
    "agreed",
    "rejected",
    "announced",
    "delayed",
    "approved",
    "warned",
    "celebrated",
    "measured",
    "discovered",
    "repaired",
    "funded",
    "debated",
    "visited",
    "the",
    "a",
    "of",
    "in",
    "on",
    "for",
    "with",
    "after",
    "before",
    "during",
    "and",
    "but",
    "new",
    "old",
    "local",
    "national",
    "small",
    "large",
    "early",
    "late",
    "quiet",
    "busy",
    "northern",
    "southern",
    "eastern",
    "western",
    "central",
    "coastal",
    "rural",
    "urban",
    "morning",
    "evening",
    "weekend",
    "summer",
    "winter",
    "spring",
    "autumn",
    "year",
    "month",
    "residents",
    "visitors",
    "officials",
    "students",
    "workers",
    "drivers",
    "owners",
    "voters",
];

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

fn words(out: &mut String, seed: u64, n: usize) {
    let mut x = seed;
    for w in 0..n {
        x = mix(x.wrapping_add(w as u64));
        if w > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
    }
}

/// Item `i` of feed `n`: ~2 KB of RSS.
fn item(s: &mut String, n: usize, i: usize) {
    let seed = (n as u64) << 32 | i as u64;
    s.push_str(&format!(
        "<item><guid isPermaLink=\"true\">https://site{n}.example/post/{i}</guid><link>https://site{n}.example/post/{i}</link><title>"
    ));
    words(s, seed, 8);
    s.push_str(&format!(
        "</title><pubDate>{}</pubDate><description>",
        feedloom::export::rfc822(1_700_000_000 + (i as i64) * 3_600)
    ));
    for p in 0..6 {
        s.push_str("&lt;p&gt;");
        words(s, seed ^ mix(p + 1), 39);
        s.push_str(".&lt;/p&gt;");
    }
    s.push_str("</description></item>\n");
}

/// Feed `n`'s document after `extra` new items: items `extra .. extra + items`,
/// newest first.
fn document(n: usize, items: usize, extra: usize) -> String {
    let mut s = String::with_capacity(items * 2_200 + 300);
    s.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Feed {n}</title><link>https://site{n}.example/</link><description>bench farm</description>\n"
    ));
    for i in (extra..extra + items).rev() {
        item(&mut s, n, i);
    }
    s.push_str("</channel></rss>\n");
    s
}

struct Farm {
    items: usize,
    validators: AtomicBool,
    extra: AtomicUsize,
    docs: Mutex<HashMap<(usize, usize), bytes::Bytes>>,
}

async fn serve(farm: Arc<Farm>, req: Request) -> Response {
    let path = req.uri().path();
    if let Some(mode) = path.strip_prefix("/mode/") {
        // /mode/{validators 0|1}/{extra}
        let mut it = mode.split('/');
        let v = it.next() == Some("1");
        let extra = it.next().and_then(|e| e.parse().ok()).unwrap_or(0);
        farm.validators.store(v, Ordering::SeqCst);
        farm.extra.store(extra, Ordering::SeqCst);
        return StatusCode::NO_CONTENT.into_response();
    }
    let Some(n) = path
        .strip_prefix("/feed/")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|p| p.parse::<usize>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let extra = farm.extra.load(Ordering::SeqCst);
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, "application/rss+xml".parse().unwrap());
    if farm.validators.load(Ordering::SeqCst) {
        let etag = format!("\"v{extra}-{n}\"");
        if req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            == Some(etag.as_str())
        {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        h.insert(header::ETAG, etag.parse().unwrap());
    }
    let cached = farm.docs.lock().unwrap().get(&(n, extra)).cloned();
    let body = match cached {
        Some(b) => b,
        None => {
            let b = bytes::Bytes::from(document(n, farm.items, extra));
            farm.docs.lock().unwrap().insert((n, extra), b.clone());
            b
        }
    };
    (StatusCode::OK, h, body).into_response()
}

/// The farm process: serves until its stdin closes (the bench ended).
fn farm_main(items: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let farm = Arc::new(Farm {
            items,
            validators: AtomicBool::new(true),
            extra: AtomicUsize::new(0),
            docs: Mutex::default(),
        });
        let mut addrs = Vec::new();
        let n = hosts();
        for h in 0..n {
            let ip = if n <= 250 {
                format!("127.0.1.{}", h + 1)
            } else {
                format!("127.1.{}.{}", h / 250, h % 250 + 1)
            };
            let listener = tokio::net::TcpListener::bind((ip.as_str(), 0))
                .await
                .unwrap();
            addrs.push(listener.local_addr().unwrap().to_string());
            let farm = farm.clone();
            let app = Router::new().fallback(move |req: Request| serve(farm.clone(), req));
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        println!("{}", addrs.join(" "));
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
                line.clear();
            }
        })
        .await
        .unwrap();
    });
    std::process::exit(0);
}

struct FarmProcess {
    child: std::process::Child,
    hosts: Vec<SocketAddr>,
    client: reqwest::Client,
}

impl FarmProcess {
    fn start(items: usize) -> FarmProcess {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .env("FEEDLOOM_BENCH_FARM", items.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let hosts = line
            .split_whitespace()
            .map(|a| a.parse().unwrap())
            .collect();
        FarmProcess {
            child,
            hosts,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, n: usize) -> String {
        format!("http://{}/feed/{n}.xml", self.hosts[n % self.hosts.len()])
    }

    async fn mode(&self, validators: bool, extra: usize) {
        let u = format!(
            "http://{}/mode/{}/{extra}",
            self.hosts[0],
            u8::from(validators)
        );
        self.client.get(u).send().await.unwrap();
    }
}

impl Drop for FarmProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- figures

/// One measured scenario.
struct Row {
    name: String,
    wall: f64,
    floor: f64,
    /// The floor measured again right before this poll (main table only).
    floor_now: Option<f64>,
    cpu: f64,
    /// Of `cpu`, what the writer thread ran.
    writer: f64,
    /// Bytes the writer thread wrote (WAL frames, checkpoints).
    written: f64,
    new_items: usize,
    rss: f64,
    note: String,
}

impl Row {
    /// Wall time over the floor measured just before (main table only).
    fn ratio_now(&self) -> Option<f64> {
        self.floor_now.map(|f| self.wall / f)
    }
}

fn print_row(r: &Row) {
    let per_item = if r.new_items > 0 {
        format!("{:.1}", r.cpu * 1e6 / r.new_items as f64)
    } else {
        "-".into()
    };
    let now = r.floor_now.map_or("-".to_string(), |f| {
        format!("{:.2}× ({f:.3} s)", r.wall / f)
    });
    println!(
        "| {} | {:.3} s | {:.2}× | {now} | {:.2} s | {:.3} s | {:.1} MB | {} | {} | {:.0} MiB | {} |",
        r.name,
        r.wall,
        r.wall / r.floor,
        r.cpu,
        r.writer,
        r.written / 1e6,
        r.new_items,
        per_item,
        r.rss,
        r.note
    );
}

fn table_header() {
    println!(
        "| scenario | wall | × floor | × floor just before | CPU | of it the writer | the writer wrote | new items | CPU µs / new item | peak RSS | summary |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
}

async fn poll_row(name: &str, cfg: &Config, store: &SharedStore, floor: f64) -> Row {
    measure_poll(name, cfg, store, floor, None).await
}

/// A poll, after measuring the download floor again (`urls`, with ETags for
/// an all-304 poll): the machine's speed drifts by 2× within minutes, so the
/// ratio to the floor taken just before is the one to read.
async fn poll_row_now(
    name: &str,
    cfg: &Config,
    store: &SharedStore,
    floor: f64,
    urls: &[String],
    etag: Option<usize>,
) -> Row {
    let now = download(urls, etag).await.0;
    measure_poll(name, cfg, store, floor, Some(now)).await
}

async fn measure_poll(
    name: &str,
    cfg: &Config,
    store: &SharedStore,
    floor: f64,
    floor_now: Option<f64>,
) -> Row {
    reset_peak_rss();
    let c0 = cpu_secs();
    let w0 = writer_cpu_secs();
    let b0 = writer_written_bytes();
    let t = Instant::now();
    let (summary, _) = feedloom::refresh::poll(cfg, store.clone()).await.unwrap();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_secs() - c0;
    let writer = writer_cpu_secs() - w0;
    let written = writer_written_bytes() - b0;
    let row = Row {
        name: name.to_string(),
        wall,
        floor,
        floor_now,
        cpu,
        writer,
        written,
        new_items: summary.new,
        rss: peak_rss_mib(),
        note: summary.to_string(),
    };
    print_row(&row);
    row
}

/// Bare download of every URL, 16 in flight: (seconds, bytes). With `etag`,
/// each request carries the farm's ETag (all 304). At most 64 requests exist
/// at once (as `poll` windows its feed tasks), so that the floor's own memory,
/// kept by the allocator, does not count in the next poll's peak RSS.
async fn download(urls: &[String], etag: Option<usize>) -> (f64, usize) {
    // Idle connections closed after 5 s, as feedloom's: with a farm of many
    // hosts, reqwest's default 90 s kept one open per host.
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // With one feed per host (FEEDLOOM_BENCH_HOSTS as large as the farm), no
    // connection is used twice: closed after its response, as feedloom's are,
    // not idling in the pool (at loopback pace, thousands of them: 0.5 GB).
    let close = hosts() >= urls.len();
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut bytes = 0;
    let mut next = urls.iter();
    loop {
        while tasks.len() < 64 {
            let Some(u) = next.next() else { break };
            let (c, u, sem) = (client.clone(), u.clone(), sem.clone());
            tasks.spawn(async move {
                let _p = sem.acquire().await.unwrap();
                let mut req = c.get(&u);
                if close {
                    req = req.header("connection", "close");
                }
                if let Some(extra) = etag {
                    let n: usize = u
                        .rsplit('/')
                        .next()
                        .and_then(|f| f.strip_suffix(".xml"))
                        .and_then(|f| f.parse().ok())
                        .unwrap();
                    req = req.header("if-none-match", format!("\"v{extra}-{n}\""));
                }
                req.send().await.unwrap().bytes().await.unwrap().len()
            });
        }
        let Some(n) = tasks.join_next().await else {
            break;
        };
        bytes += n.unwrap();
    }
    (t.elapsed().as_secs_f64(), bytes)
}

fn config_for(dir: &Path, name: &str, urls: &[String]) -> Config {
    let near_on = std::env::var("FEEDLOOM_BENCH_NEAR_LOOKUP").map_or(true, |v| v != "off");
    let mut toml = format!(
        "[store]\npath = \"{name}.db\"\n[fetch]\nhost_gap = \"0s\"\nconcurrency = 16\nper_host = 2\n[identity]\nnear_duplicates = {near_on}\n[[output]]\nname = \"all\"\npath = \"out-{name}/all\"\n"
    );
    for u in urls {
        toml.push_str(&format!("[[feed]]\nurl = \"{u}\"\n"));
    }
    let cfg_path = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg_path, toml).unwrap();
    config::load(&cfg_path).unwrap()
}

fn main() {
    if let Ok(items) = std::env::var("FEEDLOOM_BENCH_FARM") {
        farm_main(items.parse().unwrap());
    }
    // As the feedloom binary does (FEEDLOOM_BENCH_GLIBC_ARENAS=1: glibc's defaults).
    if std::env::var("FEEDLOOM_BENCH_GLIBC_ARENAS").is_err() {
        feedloom::tune_malloc();
    }
    let feeds = env_usize("FEEDLOOM_BENCH_FEEDS", 1000);
    let items = env_usize("FEEDLOOM_BENCH_ITEMS", 50);
    let grow = env_usize("FEEDLOOM_BENCH_GROW", 0);
    let near = env_usize("FEEDLOOM_BENCH_NEAR", 0);
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
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {cores} cores, {mem:.0} GiB, load {}; farm: {feeds} feeds × {items} items on {} loopback hosts (another process)",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        hosts()
    );
    steps(items);
    let farm = FarmProcess::start(items);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let urls: Vec<String> = (0..feeds).map(|n| farm.url(n)).collect();
        // Warm the farm's document cache so that the floor measures transfer only.
        download(&urls, None).await;
        farm.mode(true, 5).await;
        download(&urls, None).await;
        farm.mode(true, 0).await;

        reset_peak_rss();
        let c0 = cpu_secs();
        let (floor, bytes) = download(&urls, None).await;
        let floor_cpu = cpu_secs() - c0;
        let (floor304, _) = download(&urls, Some(0)).await;
        println!(
            "download floor (bare client, 16 in flight): {floor:.3} s for {:.1} MB ({:.2} KB per item), CPU {floor_cpu:.2} s, peak RSS {:.0} MiB; all-304 floor {floor304:.3} s",
            bytes as f64 / 1e6,
            bytes as f64 / 1e3 / (feeds * items) as f64,
            peak_rss_mib()
        );

        let cfg = config_for(dir.path(), "bench", &urls);
        let t = Instant::now();
        let store = SharedStore::new(Store::open(&cfg.store.path).unwrap());
        let open_empty = t.elapsed();
        table_header();
        let mut rows = Vec::new();
        rows.push(poll_row_now("cold", &cfg, &store, floor, &urls, None).await);
        rows.push(poll_row_now("all-304", &cfg, &store, floor304, &urls, Some(0)).await);
        farm.mode(false, 0).await;
        let unchanged = "all-200 unchanged (1st)";
        rows.push(poll_row_now(unchanged, &cfg, &store, floor, &urls, None).await);
        rows.push(poll_row_now("all-200 unchanged", &cfg, &store, floor, &urls, None).await);
        // Each again with the floor measured just before it: the ratio of one
        // 0.1 s poll to one floor swings by 2x on a shared machine, so the
        // target is judged on the median of all of them.
        let mut unchanged_ratios: Vec<f64> = rows[2..4].iter().filter_map(Row::ratio_now).collect();
        let mut unchanged_cpu: Vec<(f64, f64)> = rows[2..4].iter().map(|r| (r.cpu, r.writer)).collect();
        for k in 1..=env_usize("FEEDLOOM_BENCH_UNCHANGED_AGAIN", 0) {
            let name = format!("all-200 unchanged (again, {k})");
            let row = poll_row_now(&name, &cfg, &store, floor, &urls, None).await;
            unchanged_ratios.extend(row.ratio_now());
            unchanged_cpu.push((row.cpu, row.writer));
        }
        unchanged_ratios.sort_by(f64::total_cmp);
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "(all-200 unchanged target: ≤ 1.5× the floor; median over {} polls {:.2}×, {:.2}–{:.2}×; median CPU {:.3} s, of it the writer {:.3} s)",
            unchanged_ratios.len(),
            unchanged_ratios[unchanged_ratios.len() / 2],
            unchanged_ratios[0],
            unchanged_ratios[unchanged_ratios.len() - 1],
            median(unchanged_cpu.iter().map(|c| c.0).collect()),
            median(unchanged_cpu.iter().map(|c| c.1).collect()),
        );
        farm.mode(true, 5).await;
        rows.push(poll_row_now("+5 per feed", &cfg, &store, floor, &urls, None).await);
        let store_cost = rows[0].cpu / rows[0].new_items.max(1) as f64;
        println!(
            "(+5 target: ≤ 1.5× floor + storing {} items at the cold poll's CPU per item = {:.3} s + {:.3} s)",
            rows[4].new_items,
            1.5 * floor,
            store_cost * rows[4].new_items as f64
        );

        // More +5 polls (5 more new items per feed each), for a steadier figure.
        for k in 1..=env_usize("FEEDLOOM_BENCH_PLUS5_AGAIN", 0) {
            farm.mode(true, 5 * (k + 1)).await;
            let row = poll_row(&format!("+5 per feed (again, {k})"), &cfg, &store, floor).await;
            drop(row);
        }

        render(&cfg, &store);
        sync_config(&cfg, &store).await;
        sizes(&store, "after the polls above");

        if let Ok(exe) = std::env::var("FEEDLOOM_BENCH_FEED_READER") {
            farm.mode(true, 0).await;
            feed_reader(&exe, dir.path(), &urls, floor);
        }

        if grow > 0 {
            drop(store);
            grown(
                &farm, dir.path(), &urls, items, grow, floor, floor304, open_empty, &rows,
            )
            .await;
        }
    });
    drop(farm);
    if near > 0 {
        near_duplicates(dir.path(), near);
    }
}

/// feed-reader (`cargo install feed-reader`), the Rust peer of the issue, against
/// the same farm: `feed --cli` fetches every configured feed, stores its
/// articles as JSON files and prints them; run twice (cold, then again).
fn feed_reader(exe: &str, dir: &Path, urls: &[String], floor: f64) {
    let data = dir.join("feed-reader-data");
    let mut yaml = format!("cache:\n  path: {}\nfeeds:\n", data.display());
    for (n, u) in urls.iter().enumerate() {
        yaml.push_str(&format!("  - name: f{n}\n    url: {u}\n"));
    }
    let cfg = dir.join("feed-reader.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    for round in ["cold", "again (same documents)"] {
        let c0 = children_cpu();
        let t = Instant::now();
        let out = std::process::Command::new(exe)
            .args(["--config", cfg.to_str().unwrap(), "--cli", "--limit", "1"])
            .output()
            .unwrap();
        let wall = t.elapsed().as_secs_f64();
        let (cpu, rss) = children_cpu();
        println!(
            "feed-reader {round}: {wall:.3} s ({:.2}× floor), CPU {:.2} s, peak RSS {rss:.0} MiB, exit {}{}",
            wall / floor,
            cpu - c0.0,
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .map(|l| format!(", stderr: {l}"))
                .unwrap_or_default()
        );
    }
}

/// CPU seconds of the children waited for so far, and their largest peak RSS.
fn children_cpu() -> (f64, f64) {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(u.ru_utime) + tv(u.ru_stime), u.ru_maxrss as f64 / 1024.0)
}

/// Per-item cost of each step for one farm document, single-threaded.
fn steps(items: usize) {
    let doc = document(7, items, 0);
    let base = url::Url::parse("https://site7.example/feed.xml").unwrap();
    let rounds = 20u32;
    let per_item = |d: Duration| d.as_secs_f64() * 1e6 / items as f64;
    let time = |f: &dyn Fn()| {
        f();
        let c = cpu_secs();
        for _ in 0..rounds {
            f();
        }
        Duration::from_secs_f64((cpu_secs() - c) / f64::from(rounds))
    };
    let parse = time(&|| {
        std::hint::black_box(
            feedloom::parse::parse(doc.as_bytes(), None, &base, Default::default()).unwrap(),
        );
    });
    let parsed = feedloom::parse::parse(doc.as_bytes(), None, &base, Default::default()).unwrap();
    let identify = time(&|| {
        std::hint::black_box(feedloom::identity::identify_document(
            parsed.entries.clone(),
        ));
    });
    let fingerprint = time(&|| {
        for e in &parsed.entries {
            let body = e.content.as_deref().or(e.summary.as_deref()).unwrap_or("");
            std::hint::black_box(feedloom::similar::fingerprint(
                e.title.as_deref().unwrap_or(""),
                body,
            ));
        }
    });
    let clone = time(&|| {
        std::hint::black_box(parsed.entries.clone());
    });
    let body_hash = time(&|| {
        std::hint::black_box(feedloom::identity::body_hash(doc.as_bytes(), "tag"));
    });
    // The +5 poll's document: the entries of the last one stored (their seals)
    // are left out before feed-rs.
    let canon = feedloom::identity::Canon::default();
    let limits = feedloom::parse::Limits::default();
    let read = |d: &str, known: Option<&[feedloom::identity::Seal]>| {
        feedloom::refresh::read_document(
            d.as_bytes(),
            None,
            &base,
            (limits, "tag", false),
            &canon,
            known,
        )
        .unwrap()
    };
    let seals = read(&doc, None)
        .seals
        .expect("the farm's documents are sealed");
    let seals = feedloom::identity::decode_seals(&seals).unwrap();
    let plus5 = document(7, items, 5);
    assert_eq!(read(&plus5, Some(&seals)).items.len(), 5);
    let whole = time(&|| {
        std::hint::black_box(read(&plus5, None));
    });
    let partial = time(&|| {
        std::hint::black_box(read(&plus5, Some(&seals)));
    });
    println!(
        "the +5 document read and keyed: whole {:.0} µs; its {} known entries left out {:.0} µs",
        whole.as_secs_f64() * 1e6,
        items - 5,
        partial.as_secs_f64() * 1e6,
    );
    println!(
        "one {:.0} KB document, CPU per item: parse {:.1} µs; identify {:.1} µs (of which fingerprint {:.1} µs); clone of the entries {:.1} µs; body hash {:.2} µs",
        doc.len() as f64 / 1e3,
        per_item(parse),
        per_item(identify.saturating_sub(clone)),
        per_item(fingerprint),
        per_item(clone),
        per_item(body_hash),
    );
}

/// What a poll spends before its first fetch: making the feed rows match the
/// config (the same config as the last poll's), median of 21.
async fn sync_config(cfg: &Config, store: &SharedStore) {
    let backend = feedloom::store::Backend::from(store.clone());
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        backend.sync_config(&cfg.feeds).await.unwrap();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "config sync, {} feeds unchanged: {:.2} ms (median of 21)",
        cfg.feeds.len(),
        times[10] * 1e3
    );
}

fn render(cfg: &Config, store: &SharedStore) {
    let out = cfg.outputs[0].clone();
    let now = feedloom::now_unix();
    let rounds = 30;
    let query = feedloom::export::query_for(&out, now, Some(100));
    let t = Instant::now();
    for _ in 0..rounds {
        store.with(|s| s.stories(&query)).unwrap();
    }
    let q = t.elapsed() / rounds;
    let t = Instant::now();
    for _ in 0..rounds {
        let stories = store.with(|s| s.stories(&query)).unwrap();
        let mut cache = feedloom::export::HtmlCache::default();
        let prepared = cache.prepare(stories);
        cache.finish_pass();
        let info = feedloom::export::info_for(&out, &prepared);
        for format in [Format::Atom, Format::Rss, Format::Json] {
            std::hint::black_box(feedloom::export::render(format, &info, &prepared));
        }
    }
    let r = t.elapsed() / rounds;
    println!(
        "render 100 stories as Atom + RSS + JSON: {:.2} ms (the story query alone {:.2} ms)",
        r.as_secs_f64() * 1e3,
        q.as_secs_f64() * 1e3
    );
}

/// Bytes per item, per table and index (after a checkpoint).
fn sizes(store: &SharedStore, when: &str) {
    store.with(|s| {
        let c = s.conn();
        let _ = c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        let items: i64 = c
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap();
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        let page: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let total = (pages * page) as f64;
        println!(
            "store {when}: {items} items, {:.1} MB, {:.2} KB per item; per table and index (KB per item):",
            total / 1e6,
            total / 1e3 / items.max(1) as f64
        );
        let mut st = c
            .prepare(
                "SELECT name, sum(pgsize) AS b FROM dbstat GROUP BY name ORDER BY b DESC",
            )
            .unwrap();
        let rows: Vec<(String, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let line: Vec<String> = rows
            .iter()
            .filter(|(_, b)| *b as f64 / items.max(1) as f64 > 5.0)
            .map(|(n, b)| format!("{n} {:.2}", *b as f64 / 1e3 / items.max(1) as f64))
            .collect();
        println!("  {}", line.join(", "));
    });
}

/// Fills the store at `path` with synthetic items (~2 KB, same shape as the
/// farm's) of one extra feed until it holds `target` items.
fn fill(path: &Path, target: usize) -> f64 {
    let t = Instant::now();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536",
    )
    .unwrap();
    let have: i64 = conn
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    conn.execute(
        "INSERT OR IGNORE INTO feeds (url, in_config, created_at) VALUES ('https://filler.example/feed', 0, 0)",
        [],
    )
    .unwrap();
    let feed: i64 = conn
        .query_row(
            "SELECT id FROM feeds WHERE url = 'https://filler.example/feed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let now = feedloom::now_unix();
    let n0 = have as usize;
    let mut i = n0;
    while i < target {
        conn.execute_batch("BEGIN").unwrap();
        {
            let mut story = conn
                .prepare_cached(
                    "INSERT INTO stories (uid, first_seen_at, changed_at) VALUES (?1, ?2, ?2)",
                )
                .unwrap();
            let mut item = conn
                .prepare_cached(
                    "INSERT INTO items (feed_id, key, key_kind, uid, guid, url, canonical_url, title,
                         summary, content_hash, published_at, first_seen_at, last_seen_at, changed_at,
                         story_id, text_hash)
                     VALUES (?1, ?2, 'guid', ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?9, ?10, ?11)",
                )
                .unwrap();
            let mut near = conn
                .prepare_cached(
                    "INSERT INTO near_items (item_id, feed_id, first_seen_at, fingerprint)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .unwrap();
            for _ in 0..10_000.min(target - i) {
                let seed = 1u64 << 62 | i as u64;
                // Ids as feedloom made them before change 34 (random, not
                // grouped by feed), as in a store grown by an older version.
                // (The farm's feeds hold 50-90 items: in a store whose feeds
                // hold thousands, a +5 poll's new ids still land at random
                // pages within each feed's run; see change 34.)
                let uid = format!(
                    "urn:feedloom:{}",
                    feedloom::identity::short_hash(&[
                        "https://filler.example/feed",
                        &i.to_string()
                    ])
                );
                let url = format!("https://filler.example/post/{i}");
                let mut title = String::new();
                words(&mut title, seed, 8);
                let mut body = String::new();
                for p in 0..6 {
                    body.push_str("<p>");
                    words(&mut body, seed ^ mix(p + 1), 39);
                    body.push_str(".</p>");
                }
                // Old enough that no near-duplicate window reaches it.
                let at = now - 90 * 86_400 - (target - i) as i64;
                story.execute(rusqlite::params![uid, at]).unwrap();
                let sid = conn.last_insert_rowid();
                let h = feedloom::identity::short_hash(&[&title, &body]);
                item.execute(rusqlite::params![
                    feed,
                    format!("guid:{url}"),
                    uid,
                    url,
                    url.trim_start_matches("https:"),
                    title,
                    body,
                    h,
                    at,
                    sid,
                    h
                ])
                .unwrap();
                let id = conn.last_insert_rowid();
                // Its near-duplicate fingerprint, as a real item has.
                if let Some(fp) = feedloom::similar::fingerprint(&title, &body) {
                    near.execute(rusqlite::params![id, feed, at, fp.to_bytes()])
                        .unwrap();
                }
                i += 1;
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    t.elapsed().as_secs_f64()
}

/// Part 6: the same scenarios on a store grown to `target` items. The store
/// grows as a real one does, oldest items first: filler items first seen 90
/// days ago and more, then the farm's feeds polled cold into it. (Ids grow
/// with time in a real store, and the near-duplicate window is found by id:
/// filler inserted after the farm's items, as this bench did before, sat
/// inside every lookup's window; docs/performance.md, change 32.)
#[allow(clippy::too_many_arguments)]
async fn grown(
    farm: &FarmProcess,
    dir: &Path,
    urls: &[String],
    items: usize,
    target: usize,
    floor: f64,
    floor304: f64,
    open_empty: Duration,
    small: &[Row],
) {
    let feeds = urls.len();
    let cfg = config_for(dir, "grown", urls);
    drop(Store::open(&cfg.store.path).unwrap());
    let filler = target.saturating_sub(feeds * items);
    let built = fill(&cfg.store.path, filler);
    println!(
        "grew a new store to {filler} filler items in {built:.1} s; the farm's {} items come next",
        feeds * items
    );
    let t = Instant::now();
    let store = SharedStore::new(Store::open(&cfg.store.path).unwrap());
    let open_big = t.elapsed();
    println!(
        "Store::open: {:.2} ms at {filler} items, {:.2} ms when empty",
        open_big.as_secs_f64() * 1e3,
        open_empty.as_secs_f64() * 1e3
    );
    table_header();
    farm.mode(true, 0).await;
    let rcold_farm = poll_row(&format!("cold at {target} items"), &cfg, &store, floor).await;
    let r304 = poll_row(
        &format!("all-304 at {target} items"),
        &cfg,
        &store,
        floor304,
    )
    .await;
    farm.mode(true, 5).await;
    let r5 = poll_row(
        &format!("+5 per feed at {target} items"),
        &cfg,
        &store,
        floor,
    )
    .await;
    // `export --limit 100` as a whole process (the writer holds the store
    // open meanwhile, as the daemon would: no difference to a reader).
    let exe = env!("CARGO_BIN_EXE_feedloom");
    let cfg_file = dir.join("grown.toml");
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let out = std::process::Command::new(exe)
            .args([
                "--config",
                cfg_file.to_str().unwrap(),
                "export",
                "--limit",
                "100",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "`feedloom export --limit 100` at {target} items: {:.1} ms (best of 5, whole process)",
        best * 1e3
    );
    // A cold poll of as many new feeds.
    let new_urls: Vec<String> = (feeds..2 * feeds).map(|n| farm.url(n)).collect();
    farm.mode(true, 0).await;
    drop(store);
    let cfg2 = config_for(dir, "grown", &new_urls);
    let store = SharedStore::new(Store::open(&cfg2.store.path).unwrap());
    let rcold = poll_row(
        &format!("cold, {feeds} new feeds, at {target} items"),
        &cfg2,
        &store,
        floor,
    )
    .await;
    println!(
        "grown / empty store: all-304 CPU {:.2}×, +5 CPU {:.2}×, cold of new feeds CPU {:.2}×, cold of the farm CPU {:.2}× (wall {:.2}×, {:.2}×, {:.2}×, {:.2}×)",
        r304.cpu / small[1].cpu,
        r5.cpu / small[4].cpu,
        rcold.cpu / small[0].cpu,
        rcold_farm.cpu / small[0].cpu,
        r304.wall / small[1].wall,
        r5.wall / small[4].wall,
        rcold.wall / small[0].wall,
        rcold_farm.wall / small[0].wall
    );
    sizes(&store, &format!("grown to {target}"));
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
