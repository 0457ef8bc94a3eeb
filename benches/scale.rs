//! Figures for docs/scaling.md (prints them; asserts nothing): a local farm of
//! feeds (`FEEDLOOM_SCALE_FEEDS`, 2,000 by default, 20 items each, all new),
//! fetched cold
//!
//! 1. by `feedloom poll` on SQLite, and by `feedloom poll` on PostgreSQL;
//! 2. by 1, 2 and 3 `feedloom run` nodes on one PostgreSQL database.
//!
//! For each: feeds per second (first request to the last feed stored) and the
//! feedloom processes' CPU per item stored (user + system), and the whole
//! machine's busy CPU over the same time (PostgreSQL's share included; other
//! work on the machine too). Needs `FEEDLOOM_TEST_POSTGRES` (see
//! .ci/postgres.sh). Run: `cargo bench --bench scale`.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const ITEMS: usize = 20;

struct Farm {
    feeds: usize,
    /// Unix ms of the first request since the last reset (0: none yet).
    first: AtomicU64,
    docs: Mutex<Vec<Arc<String>>>,
}

/// A text of its own per seed: sentences of pseudo-words from a vocabulary of
/// 8,000 (syllable pairs and triples), so that texts share common words as news
/// does, but not their phrases.
fn text(seed: u64) -> String {
    const SYL: &[&str] = &[
        "ka", "lo", "mi", "ne", "ru", "sa", "te", "vi", "do", "ga", "he", "ji", "ko", "la", "me",
        "no", "pa", "ri", "so", "tu", "ve", "wa", "yo", "ze",
    ];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut s = String::new();
    for w in 0..70 {
        if w > 0 {
            s.push_str(if w % 14 == 0 { ". " } else { " " });
        }
        // Zipf-like: small numbers (common words) far more often.
        let r = next();
        let id = (r % 8_000) % (1 + (r >> 32) % 8_000);
        let n = 2 + (id % 2) as usize;
        let mut k = id;
        for _ in 0..n {
            s.push_str(SYL[(k % SYL.len() as u64) as usize]);
            k /= SYL.len() as u64;
        }
    }
    s.push('.');
    s
}

impl Farm {
    fn new(feeds: usize) -> Farm {
        let docs = (0..feeds)
            .map(|f| {
                let mut s = format!(
                    "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Farm {f}</title>\
                     <link>https://farm{f}.example/</link><description>d</description>\n"
                );
                for k in 0..ITEMS {
                    s.push_str(&format!(
                        "<item><guid isPermaLink=\"false\">urn:farm:{f}:{k}</guid>\
                         <link>https://farm{f}.example/{k}</link><title>Feed {f} story {k}</title>\
                         <description>{}</description></item>\n",
                        text((f * ITEMS + k) as u64)
                    ));
                }
                s.push_str("</channel></rss>\n");
                Arc::new(s)
            })
            .collect();
        Farm {
            feeds,
            first: AtomicU64::new(0),
            docs: Mutex::new(docs),
        }
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn serve(State(farm): State<Arc<Farm>>, req: Request) -> Response {
    let Some(f) = req
        .uri()
        .path()
        .strip_prefix("/f")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|f| *f < farm.feeds)
    else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let _ = farm
        .first
        .compare_exchange(0, unix_ms(), Ordering::SeqCst, Ordering::SeqCst);
    let doc = farm.docs.lock().unwrap()[f].clone();
    let mut r = doc.as_str().to_string().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/rss+xml"),
    );
    r.headers_mut()
        .insert(header::ETAG, HeaderValue::from_static("\"v1\""));
    r
}

/// Busy and total jiffies of the whole machine.
fn machine_cpu() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// User + system CPU seconds of a live process.
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn children_cpu() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn config(
    dir: &std::path::Path,
    store: &str,
    farm: std::net::SocketAddr,
    feeds: usize,
) -> std::path::PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut s = format!(
        "{store}\n[server]\nlisten = \"127.0.0.1:{port}\"\n\n\
         [fetch]\nper_host = 64\nhost_gap = \"0s\"\nconcurrency = 64\n\n\
         [defaults]\nevery = \"1h\"\nspread = \"0s\"\n\n"
    );
    for f in 0..feeds {
        s.push_str(&format!("[[feed]]\nurl = \"http://{farm}/f{f}.xml\"\n"));
    }
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("feedloom.toml");
    std::fs::write(&p, s).unwrap();
    p
}

struct Figure {
    what: String,
    feeds_per_s: f64,
    cpu_ms_per_item: f64,
    machine_busy: f64,
}

fn print(f: &Figure) {
    println!(
        "{:<28} {:>9.0} feeds/s  {:>7.3} ms CPU/item (feedloom)  machine busy {:>4.0}% of 2 cores",
        f.what,
        f.feeds_per_s,
        f.cpu_ms_per_item,
        f.machine_busy * 100.0
    );
}

async fn fresh_db(admin: &str, name: &str) -> String {
    let (c, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

async fn poll(farm: &Farm, cfg: &std::path::Path, what: &str, feeds: usize) -> Figure {
    farm.first.store(0, Ordering::SeqCst);
    let cpu0 = children_cpu();
    let m0 = machine_cpu();
    let cfg = cfg.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("poll")
            .env("FEEDLOOM_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let end = unix_ms();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m1 = machine_cpu();
    let secs = (end - farm.first.load(Ordering::SeqCst)) as f64 / 1000.0;
    Figure {
        what: what.into(),
        feeds_per_s: feeds as f64 / secs,
        cpu_ms_per_item: (children_cpu() - cpu0) * 1000.0 / (feeds * ITEMS) as f64,
        machine_busy: (m1.0 - m0.0) as f64 / (m1.1 - m0.1).max(1) as f64,
    }
}

async fn nodes(
    farm: &Farm,
    env: &std::path::Path,
    admin: &str,
    farm_addr: std::net::SocketAddr,
    n: usize,
    feeds: usize,
) -> Figure {
    let url = fresh_db(admin, &format!("scale_nodes_{n}")).await;
    let store = format!("[store]\nurl = \"{url}\"\nlease = \"60s\"\n");
    farm.first.store(0, Ordering::SeqCst);
    let m0 = machine_cpu();
    let mut children: Vec<Child> = (0..n)
        .map(|i| {
            let cfg = config(&env.join(format!("n{n}-{i}")), &store, farm_addr, feeds);
            Command::new(env!("CARGO_BIN_EXE_feedloom"))
                .arg("--config")
                .arg(&cfg)
                .arg("run")
                .env("FEEDLOOM_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let done = c
            .query_one("SELECT count(*) FROM feeds WHERE last_status = 'ok'", &[])
            .await
            .map(|r| r.get::<_, i64>(0) as usize)
            .unwrap_or(0);
        if done >= feeds || Instant::now() > deadline {
            break;
        }
    }
    let end = unix_ms();
    let m1 = machine_cpu();
    let cpu: f64 = children.iter().map(|ch| process_cpu(ch.id())).sum();
    for ch in &mut children {
        let _ = ch.kill();
        let _ = ch.wait();
    }
    let items: i64 = c
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    let secs = (end - farm.first.load(Ordering::SeqCst)) as f64 / 1000.0;
    Figure {
        what: format!("PostgreSQL, {n} run node{}", if n > 1 { "s" } else { "" }),
        feeds_per_s: feeds as f64 / secs,
        cpu_ms_per_item: cpu * 1000.0 / items.max(1) as f64,
        machine_busy: (m1.0 - m0.0) as f64 / (m1.1 - m0.1).max(1) as f64,
    }
}

fn main() {
    let Some(admin) = std::env::var("FEEDLOOM_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!(
            "scale bench: FEEDLOOM_TEST_POSTGRES is not set (source .ci/postgres.sh); nothing measured"
        );
        return;
    };
    let feeds: usize = std::env::var("FEEDLOOM_SCALE_FEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let farm = Arc::new(Farm::new(feeds));
        let app = Router::new().fallback(serve).with_state(farm.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let env = tempfile::tempdir().unwrap();
        println!(
            "scale bench: {feeds} feeds x {ITEMS} items, all new, on one local farm; {} cores (shared)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let sqlite = config(&env.path().join("sqlite"), "[store]\npath = \"feedloom.db\"\n", addr, feeds);
        let base = poll(&farm, &sqlite, "SQLite, poll (baseline)", feeds).await;
        print(&base);
        let url = fresh_db(&admin, "scale_poll").await;
        let pg = config(&env.path().join("pg"), &format!("[store]\nurl = \"{url}\"\n"), addr, feeds);
        let p = poll(&farm, &pg, "PostgreSQL, poll", feeds).await;
        print(&p);
        println!(
            "  PostgreSQL poll / SQLite poll: {:.2}x the feeds/s, {:.2}x the feedloom CPU per item",
            p.feeds_per_s / base.feeds_per_s,
            p.cpu_ms_per_item / base.cpu_ms_per_item
        );
        let mut one = None;
        for n in 1..=3 {
            let f = nodes(&farm, env.path(), &admin, addr, n, feeds).await;
            print(&f);
            let base = *one.get_or_insert(f.feeds_per_s);
            println!("  {n} node(s) / 1 node: {:.2}x the feeds/s", f.feeds_per_s / base);
        }
    });
}
