//! The kill test: `feedloom run` against a local farm of feeds that advance, killed
//! with SIGKILL at seeded random moments, restarted, again and again; then one
//! clean run that catches up and stops on SIGTERM. Afterwards the store must pass
//! `PRAGMA integrity_check`, hold every item the farm ever served exactly once
//! (nothing lost, nothing duplicated: DESIGN.md invariant 1), and the rendered
//! outputs must list each of them once.
//!
//! Figures are printed (rounds, kills that landed mid-fetch or with served items
//! not yet committed, items, time). `FEEDLOOM_KILL_SEED` and
//! `FEEDLOOM_KILL_ROUNDS` override the seed and the number of rounds.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use common::TestEnv;

const FEEDS: usize = 30;
const DEFAULT_SEED: u64 = 0x6b11_1ed5_eed5;
const DEFAULT_ROUNDS: usize = 30;

/// splitmix64: a small, seedable generator (the test needs no crate for it).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// One item a farm feed published. Its title is unique in the whole farm and
/// is what the checks recognise it by.
#[derive(Clone)]
struct FarmItem {
    title: String,
    /// A third of the items carry no guid: the store keys them by their link.
    guid: Option<String>,
    link: String,
    text: String,
}

#[derive(Default)]
struct FarmFeed {
    items: Vec<FarmItem>,
    version: u64,
}

/// The farm: feeds that gain items as they are polled, and a record of every
/// item each feed ever served in a 200 response.
struct Farm {
    feeds: Mutex<Vec<FarmFeed>>,
    served: Mutex<Vec<BTreeSet<String>>>,
    rng: Mutex<Rng>,
    /// Once set, no feed gains items any more (the catch-up run).
    frozen: AtomicBool,
    in_flight: AtomicUsize,
    requests: AtomicUsize,
    /// 200 responses handed to the server so far.
    full: AtomicUsize,
}

impl Farm {
    fn new(seed: u64) -> Farm {
        let farm = Farm {
            feeds: Mutex::new((0..FEEDS).map(|_| FarmFeed::default()).collect()),
            served: Mutex::new(vec![BTreeSet::new(); FEEDS]),
            rng: Mutex::new(Rng(seed)),
            frozen: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            full: AtomicUsize::new(0),
        };
        // Every feed starts with a few items.
        for f in 0..FEEDS {
            farm.advance(f, 3);
        }
        farm
    }

    /// Adds `n` items to feed `f`.
    fn advance(&self, f: usize, n: usize) {
        let mut feeds = self.feeds.lock().unwrap();
        let feed = &mut feeds[f];
        for _ in 0..n {
            let k = feed.items.len();
            let title = format!("feed {f} story {k}");
            feed.items.push(FarmItem {
                guid: (k % 3 != 2).then(|| format!("urn:farm:{f}:{k}")),
                link: format!("https://farm{f}.example/{k}"),
                // Distinct words per item, so no two items read as one story.
                text: format!(
                    "Report {k} from desk {f}: {} {} {}.",
                    f * 7919 + k * 104_729,
                    k * 31 + f,
                    ["harbour", "orchard", "quarry", "meadow", "foundry"][(f + k) % 5]
                ),
                title,
            });
        }
        feed.version += 1;
    }

    /// The document of feed `f` (newest first) and its ETag.
    fn document(&self, f: usize) -> (String, String, Vec<String>) {
        let feeds = self.feeds.lock().unwrap();
        let feed = &feeds[f];
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Farm {f}</title><link>https://farm{f}.example/</link><description>d</description>\n"
        );
        for it in feed.items.iter().rev() {
            s.push_str("<item>");
            if let Some(g) = &it.guid {
                s.push_str(&format!("<guid isPermaLink=\"false\">{g}</guid>"));
            }
            s.push_str(&format!(
                "<link>{}</link><title>{}</title><description>{}</description></item>\n",
                it.link, it.title, it.text
            ));
        }
        s.push_str("</channel></rss>\n");
        let titles = feed.items.iter().map(|i| i.title.clone()).collect();
        (s, format!("\"v{}\"", feed.version), titles)
    }

    fn published(&self) -> Vec<BTreeSet<String>> {
        self.feeds
            .lock()
            .unwrap()
            .iter()
            .map(|f| f.items.iter().map(|i| i.title.clone()).collect())
            .collect()
    }

    fn served(&self) -> Vec<BTreeSet<String>> {
        self.served.lock().unwrap().clone()
    }
}

async fn serve(State(farm): State<Arc<Farm>>, req: Request) -> Response {
    let path = req.uri().path();
    let Some(f) = path
        .strip_prefix("/f")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|f| *f < FEEDS)
    else {
        return (StatusCode::NOT_FOUND, "no such feed").into_response();
    };
    farm.requests.fetch_add(1, Ordering::SeqCst);
    farm.in_flight.fetch_add(1, Ordering::SeqCst);
    // Each poll, some feeds gain items; each answer takes a little while, so
    // that kills land while fetches are in flight.
    let (gain, delay) = {
        let mut rng = farm.rng.lock().unwrap();
        let gain = if rng.range(0, 99) < 40 {
            rng.range(1, 3) as usize
        } else {
            0
        };
        (gain, Duration::from_millis(rng.range(0, 120)))
    };
    if gain > 0 && !farm.frozen.load(Ordering::SeqCst) {
        farm.advance(f, gain);
    }
    tokio::time::sleep(delay).await;
    let (body, etag, titles) = farm.document(f);
    let inm = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let resp = if inm == Some(etag.as_str()) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut()
            .insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
        r
    } else {
        farm.served.lock().unwrap()[f].extend(titles);
        farm.full.fetch_add(1, Ordering::SeqCst);
        let mut r = body.into_response();
        let h = r.headers_mut();
        h.insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/rss+xml"),
        );
        r
    };
    farm.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
}

fn write_config(env: &TestEnv, addr: std::net::SocketAddr) -> PathBuf {
    let mut text = String::from(
        "[store]\npath = \"feedloom.db\"\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\nshutdown_timeout = \"2s\"\n\n\
         [fetch]\nhost_gap = \"0s\"\nper_host = 8\ntimeout = \"10s\"\n\n\
         [defaults]\nevery = \"1s\"\nspread = \"0s\"\n\n\
         [[output]]\nname = \"all\"\npath = \"out/all\"\ndedup = \"item\"\nmax_items = 10000\n\n",
    );
    for f in 0..FEEDS {
        text.push_str(&format!(
            "[[feed]]\nurl = \"http://{addr}/f{f}.xml\"\nevery = \"1s\"\n\n"
        ));
    }
    let p = env.path("feedloom.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn start(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("FEEDLOOM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// Stored item titles per farm feed, read as any sqlite3 user would read them
/// (`None` while the store cannot be read, e.g. before it exists).
fn stored(db: &Path) -> Option<Vec<Vec<String>>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    let mut st = conn
        .prepare("SELECT f.url, i.title FROM items i JOIN feeds f ON f.id = i.feed_id")
        .ok()?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .ok()?;
    let mut out = vec![Vec::new(); FEEDS];
    for row in rows {
        let (url, title) = row.ok()?;
        let f: usize = url
            .rsplit_once("/f")
            .and_then(|(_, n)| n.strip_suffix(".xml"))
            .and_then(|n| n.parse().ok())
            .expect("a farm feed URL");
        out[f].push(title);
    }
    Some(out)
}

/// Served items not (yet) in the store.
fn uncommitted(served: &[BTreeSet<String>], stored: &[Vec<String>]) -> usize {
    served
        .iter()
        .zip(stored)
        .map(|(s, st)| {
            let st: BTreeSet<&String> = st.iter().collect();
            s.iter().filter(|t| !st.contains(t)).count()
        })
        .sum()
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16)
                    .ok()
                    .and_then(|n| n.to_string().parse().ok()),
                None => v.parse().ok(),
            }
        })
        .unwrap_or(default)
}

/// Ids of the entries of a JSON Feed.
fn json_ids(text: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(text).expect("JSON Feed parses");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

fn duplicates(ids: &[String]) -> Vec<String> {
    let mut seen = HashMap::new();
    for id in ids {
        *seen.entry(id.clone()).or_insert(0) += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, n)| format!("{id} ×{n}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let seed: u64 = env_or("FEEDLOOM_KILL_SEED", DEFAULT_SEED);
    let rounds: usize = env_or("FEEDLOOM_KILL_ROUNDS", DEFAULT_ROUNDS);
    println!("kill test: seed {seed:#x} (FEEDLOOM_KILL_SEED), {rounds} rounds, {FEEDS} feeds");
    let t0 = Instant::now();

    let farm = Arc::new(Farm::new(seed));
    let app = Router::new().fallback(serve).with_state(farm.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let env = TestEnv::new();
    let cfg = write_config(&env, addr);
    let db = env.path("feedloom.db");
    let log = env.path("daemon.log");
    // The kill delays come from their own generator, so they depend on the seed
    // only, not on how many requests the farm happened to see.
    let mut rng = Rng(seed ^ 0xdead_beef);

    let (mut mid_fetch, mut uncommitted_rounds, mut uncommitted_total) = (0, 0, 0);
    let mut delays = Vec::new();
    for round in 0..rounds {
        let mut child = start(&cfg, &log);
        let delay = Duration::from_millis(rng.range(50, 1500));
        tokio::time::sleep(delay).await;
        // Every other round aims at the commit: the kill comes 0-40 ms after the
        // next full (200) response leaves the farm.
        let mut waited = delay;
        if round % 2 == 1 {
            let before = farm.full.load(Ordering::SeqCst);
            let t = Instant::now();
            while farm.full.load(Ordering::SeqCst) == before && t.elapsed() < Duration::from_secs(3)
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let after = Duration::from_millis(rng.range(0, 40));
            tokio::time::sleep(after).await;
            waited += t.elapsed();
        }
        delays.push(waited.as_millis() as u64);
        let in_flight = farm.in_flight.load(Ordering::SeqCst);
        child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none(),
            "round {round}: the daemon exited by itself ({status}) before the kill:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if in_flight > 0 {
            mid_fetch += 1;
        }
        if let Some(st) = stored(&db) {
            let n = uncommitted(&farm.served(), &st);
            if n > 0 {
                uncommitted_rounds += 1;
                uncommitted_total += n;
            }
        }
    }
    let kill_phase = t0.elapsed();

    // The catch-up run: the farm stops advancing; the daemon fetches everything.
    farm.frozen.store(true, Ordering::SeqCst);
    let published = farm.published();
    let mut child = start(&cfg, &log);
    let caught_up = {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let done = stored(&db).is_some_and(|st| {
                st.iter()
                    .zip(&published)
                    .all(|(s, p)| s.iter().cloned().collect::<BTreeSet<_>>() == *p)
            });
            if done || Instant::now() > end {
                break done;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let total: usize = published.iter().map(BTreeSet::len).sum();
    // The daemon renders after each change: wait for the file to show them all.
    let out = env.path("out/all.json");
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end
        && std::fs::read_to_string(&out)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["items"].as_array().map(Vec::len))
            != Some(total)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = child.wait().unwrap();
    let daemon_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(0),
        "clean stop after SIGTERM:\n{daemon_log}"
    );
    assert!(caught_up, "the catch-up run did not store every item");

    // The store is sound.
    let conn = env.reader();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let fk_problems: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk_problems, 0, "foreign key violations");

    // Every item the farm served is stored exactly once, in its own feed.
    let stored = stored(&db).unwrap();
    let served = farm.served();
    let mut lost = Vec::new();
    let mut duplicated = Vec::new();
    let mut stray = Vec::new();
    for f in 0..FEEDS {
        let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
        for t in &stored[f] {
            *counts.entry(t).or_default() += 1;
        }
        lost.extend(
            served[f]
                .iter()
                .filter(|t| !counts.contains_key(t))
                .cloned(),
        );
        duplicated.extend(
            counts
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(t, n)| format!("{t} ×{n}")),
        );
        stray.extend(
            counts
                .keys()
                .filter(|t| !published[f].contains(**t))
                .map(|t| t.to_string()),
        );
    }
    let served_total: usize = served.iter().map(BTreeSet::len).sum();
    assert!(
        lost.is_empty(),
        "{} served items lost: {lost:?}",
        lost.len()
    );
    assert!(duplicated.is_empty(), "duplicated items: {duplicated:?}");
    assert!(
        stray.is_empty(),
        "items the farm never published: {stray:?}"
    );
    assert_eq!(served_total, total, "the catch-up run served every item");

    // The outputs list each item once: the daemon's file, and a fresh `export`.
    let file_ids = json_ids(&std::fs::read_to_string(&out).unwrap());
    assert!(
        duplicates(&file_ids).is_empty(),
        "{:?}",
        duplicates(&file_ids)
    );
    assert_eq!(file_ids.len(), total, "out/all.json lists every item");
    let export = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(&cfg)
        .args(["export", "--format", "json"])
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let export_ids = json_ids(&String::from_utf8(export.stdout).unwrap());
    assert!(
        duplicates(&export_ids).is_empty(),
        "{:?}",
        duplicates(&export_ids)
    );
    let uids: BTreeSet<String> = conn
        .prepare("SELECT uid FROM items")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        export_ids.iter().cloned().collect::<BTreeSet<_>>(),
        uids,
        "export lists exactly the stored items"
    );
    let panics = daemon_log.matches("panicked").count();
    assert_eq!(panics, 0, "the daemon panicked:\n{daemon_log}");

    let leftovers = std::fs::read_dir(env.path("out"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .count()
        })
        .unwrap_or(0);
    delays.sort_unstable();
    let (first, last, median) = match delays.as_slice() {
        [] => (0, 0, 0),
        d => (d[0], d[d.len() - 1], d[d.len() / 2]),
    };
    println!(
        "kill test: {rounds} SIGKILLs ({} ms .. {} ms after start, median {} ms), \
         {mid_fetch} with a fetch in flight, {uncommitted_rounds} with served items not yet \
         committed ({uncommitted_total} item-kills); {} requests; {total} items in {FEEDS} \
         feeds, {} lost, {} duplicated; integrity ok; {leftovers} stale output temp files; \
         kill phase {:.1?}, total {:.1?}",
        first,
        last,
        median,
        farm.requests.load(Ordering::SeqCst),
        lost.len(),
        duplicated.len(),
        kill_phase,
        t0.elapsed()
    );
}
