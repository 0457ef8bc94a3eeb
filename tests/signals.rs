//! `feedloom run` as systemd runs it: real signals to a real process.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

struct Daemon {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    fn start(config: &std::path::Path) -> Daemon {
        Daemon::start_with(config, &[])
    }

    fn start_with(config: &std::path::Path, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("FEEDLOOM_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Daemon { child, log }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn log_has(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits up to `secs` for the process to exit.
    fn wait(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

fn write_config(env: &TestEnv, body: &str) -> std::path::PathBuf {
    let p = env.path("feedloom.toml");
    std::fs::write(
        &p,
        format!("[store]\npath = \"feedloom.db\"\n\n[server]\nlisten = \"127.0.0.1:0\"\nshutdown_timeout = \"2s\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{body}"),
    )
    .unwrap();
    p
}

fn integrity(env: &TestEnv) -> String {
    env.reader()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_fetches_exits_0_within_the_deadline_with_a_sound_store() {
    let srv = FeedServer::start().await;
    let items: Vec<String> = (0..50).map(|i| format!("story {i}")).collect();
    let it: Vec<_> = items
        .iter()
        .map(|t| (Some(t.as_str()), None, t.as_str(), "d"))
        .collect();
    // One fetch finishes inside the deadline, one hangs past it.
    srv.set(
        "/slow.xml",
        Resource::feed(rss("slow", &it)).delay(Duration::from_millis(800)),
    );
    srv.set(
        "/hung.xml",
        Resource::feed(rss("hung", &it)).delay(Duration::from_secs(60)),
    );
    let env = TestEnv::new();
    let cfg = write_config(
        &env,
        &format!(
            "[[feed]]\nurl = \"{}\"\nevery = \"1s\"\n\n[[feed]]\nurl = \"{}\"\nevery = \"1s\"\n",
            srv.url("/slow.xml"),
            srv.url("/hung.xml")
        ),
    );
    let mut d = Daemon::start(&cfg);
    let in_flight = || {
        srv.state
            .in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    assert!(
        until(10, || in_flight() >= 2).await,
        "both fetches in flight\n{}",
        d.log()
    );
    let t0 = Instant::now();
    d.signal("TERM");
    let status = d.wait(10).expect("exits after SIGTERM");
    let took = t0.elapsed();
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(d.log_has("SIGTERM"), "{}", d.log());
    // The feed cut off is named (which feeds are fetched again at start).
    assert!(
        d.log()
            .lines()
            .any(|l| l.contains("shutdown deadline reached")
                && l.contains(&srv.url("/hung.xml"))
                && !l.contains(&srv.url("/slow.xml"))),
        "{}",
        d.log()
    );
    assert_eq!(integrity(&env), "ok");
    // The fetch that finished in time was committed whole; the hung one left nothing.
    assert_eq!(env.count("SELECT count(*) FROM items"), 50);
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE etag IS NOT NULL"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_too() {
    let env = TestEnv::new();
    // (A schedule whose dates have passed starts the daemon, with a warning:
    // it made every later start exit 2.)
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(rss("F", &[])));
    let cfg = write_config(
        &env,
        &format!(
            "[[feed]]\nurl = \"{}\"\ncron = \"0 0 0 1 1 * 2020\"\n",
            srv.url("/f.xml")
        ),
    );
    let mut d = Daemon::start(&cfg);
    assert!(
        until(10, || d.log_has("feedloom running")).await,
        "{}",
        d.log()
    );
    assert!(
        until(10, || d.log_has("fires no more")).await,
        "{}",
        d.log()
    );
    d.signal("INT");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0), "{}", d.log());
    assert!(d.log_has("SIGINT"));
}

/// A `[[feed]]` block for `path` on `srv`, fetched every second.
fn feed_every_second(srv: &FeedServer, path: &str) -> String {
    format!("[[feed]]\nurl = \"{}\"\nevery = \"1s\"\n\n", srv.url(path))
}

/// A daemon whose config names `/a.xml` of a local server that serves
/// `/b.xml` too (for a reload to add), once it has fetched `/a.xml`.
async fn daemon_fetching_a() -> (FeedServer, TestEnv, std::path::PathBuf, Daemon) {
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a"), None, "a", "d")])),
    );
    srv.set(
        "/b.xml",
        Resource::feed(rss("B", &[(Some("b"), None, "b", "d")])),
    );
    let env = TestEnv::new();
    let cfg = write_config(&env, &feed_every_second(&srv, "/a.xml"));
    let d = Daemon::start(&cfg);
    let fetched = || srv.seen().iter().any(|s| s.path == "/a.xml");
    assert!(until(10, fetched).await, "{}", d.log());
    (srv, env, cfg, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_and_removes_feeds_and_a_broken_config_keeps_the_old_one() {
    let (srv, env, cfg, mut d) = daemon_fetching_a().await;
    let hits = |p: &str| srv.seen().iter().filter(|s| s.path == p).count();
    let feed = |p: &str| feed_every_second(&srv, p);

    write_config(&env, &feed("/b.xml"));
    d.signal("HUP");
    assert!(until(10, || hits("/b.xml") >= 2).await, "{}", d.log());
    let a = hits("/a.xml");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(hits("/a.xml"), a, "removed feed no longer polled");

    // The same store spelled otherwise: nothing to say (it was warned of as
    // another).
    std::fs::create_dir_all(env.path("sub")).unwrap();
    let plain = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        plain.replace("path = \"feedloom.db\"", "path = \"sub/../feedloom.db\""),
    )
    .unwrap();
    let reloads = |d: &Daemon| d.log().matches("config reloaded").count();
    let before = reloads(&d);
    d.signal("HUP");
    assert!(until(10, || reloads(&d) > before).await, "{}", d.log());
    assert!(!d.log_has("[store] changed"), "{}", d.log());
    std::fs::write(&cfg, plain).unwrap();

    // Another store: said to wait for a restart (it was kept without a word).
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("path = \"feedloom.db\"", "path = \"other.db\""),
    )
    .unwrap();
    d.signal("HUP");
    assert!(
        until(10, || d
            .log_has("[store] changed: takes effect after a restart"))
        .await,
        "{}",
        d.log()
    );
    assert!(!env.path("other.db").exists(), "the daemon keeps its store");
    // Said again at the next reload (compared with the store it opened).
    let said = |d: &Daemon| d.log().matches("[store] changed").count();
    let before = said(&d);
    d.signal("HUP");
    assert!(until(10, || said(&d) > before).await, "{}", d.log());

    // Caught empty (a tool writing it in place): every feed stays.
    let kept = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, "").unwrap();
    d.signal("HUP");
    assert!(
        until(10, || d.log_has("it is empty, and names no feed")).await,
        "{}",
        d.log()
    );
    let b = hits("/b.xml");
    assert!(
        until(10, || hits("/b.xml") >= b + 2).await,
        "the feeds stay\n{}",
        d.log()
    );
    std::fs::write(&cfg, kept).unwrap();

    std::fs::write(&cfg, "[fetch]\ntimeout = \"soon\"\n").unwrap();
    d.signal("HUP");
    assert!(
        until(10, || d.log_has("config rejected")).await,
        "{}",
        d.log()
    );
    let b = hits("/b.xml");
    assert!(
        until(10, || hits("/b.xml") >= b + 2).await,
        "old config still in force"
    );
    assert!(d.child.try_wait().unwrap().is_none(), "still running");
    d.signal("TERM");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0));
    assert_eq!(integrity(&env), "ok");
}

#[test]
fn a_port_in_use_is_one_clear_line_and_a_nonzero_exit() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let env = TestEnv::new();
    let cfg = env.path("feedloom.toml");
    std::fs::write(
        &cfg,
        format!("[store]\npath = \"f.db\"\n[server]\nlisten = \"{addr}\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Another process holding the store's write lock (a `sqlite3` session in a
/// transaction) held the daemon's loop: SIGTERM was heard only ~35 s later,
/// and the stop then waited on the store for ~25 s more, past systemd's
/// `TimeoutStopSec`. Now it stops within its deadline and the last calls'
/// bounds, saying what it skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_is_heard_while_another_process_holds_the_write_lock() {
    let srv = FeedServer::start().await;
    let items: Vec<String> = (0..20).map(|i| format!("story {i}")).collect();
    let it: Vec<_> = items
        .iter()
        .map(|t| (Some(t.as_str()), None, t.as_str(), "d"))
        .collect();
    srv.set("/f.xml", Resource::feed(rss("f", &it)).no_etag());
    let env = TestEnv::new();
    let cfg = write_config(&env, &feed_every_second(&srv, "/f.xml"));
    let mut d = Daemon::start(&cfg);
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(20))
        .await,
        "first fetch stored\n{}",
        d.log()
    );
    let holder = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Long enough for the daemon's next tick to wait on the store.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t0 = Instant::now();
    d.signal("TERM");
    let status = d.wait(30).expect("exits after SIGTERM");
    let took = t0.elapsed();
    assert!(d.log_has("SIGTERM: stopping"), "{}", d.log());
    assert!(took < Duration::from_secs(10), "took {took:?}\n{}", d.log());
    assert_eq!(status.code(), Some(0), "{}", d.log());
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(integrity(&env), "ok");
    assert_eq!(env.count("SELECT count(*) FROM items"), 20);
}

/// A reload that changes `[server] listen` (which takes effect at restart)
/// keeps the outputs' own links on the address served: they named the new
/// one, where nothing listened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changing_listen_keeps_the_outputs_links_on_the_served_address() {
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a"), None, "a", "d")])),
    );
    let env = TestEnv::new();
    let body = |title: &str| {
        format!(
            "[[feed]]\nurl = \"{}\"\n\n[[output]]\nname = \"all\"\ntitle = \"{title}\"\npath = \"out/all\"\n",
            srv.url("/a.xml")
        )
    };
    let cfg = write_config(&env, &body("First"));
    let mut d = Daemon::start(&cfg);
    let atom = || std::fs::read_to_string(env.path("out/all.atom")).unwrap_or_default();
    assert!(until(10, || atom().contains("First")).await, "{}", d.log());
    // `listen = "127.0.0.1:0"`: the links name the port the system picked
    // (they said port 0), and that port serves them.
    let served = atom();
    let link = self_link(&served);
    assert!(
        link.starts_with("http://127.0.0.1:") && !link.starts_with("http://127.0.0.1:0/"),
        "{served}"
    );
    let (status, body) = get(&link).await;
    assert_eq!(status, 200, "{link}");
    assert!(body.contains("First"), "{body}");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:9\"")
            .replace("First", "Second"),
    )
    .unwrap();
    d.signal("HUP");
    assert!(until(10, || atom().contains("Second")).await, "{}", d.log());
    assert!(d.log_has("[server] listen changed"), "{}", d.log());
    let now = atom();
    assert!(
        self_link(&now) == link && !now.contains("127.0.0.1:9"),
        "{now}"
    );
    d.signal("TERM");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0));
}

/// A SIGHUP while another process writes for a moment (a `sqlite3` session
/// holding the write lock for half a second) takes the new config in: the
/// reload's sync failed at once ("database is locked") and was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_waits_out_a_brief_write_lock() {
    let (srv, env, _cfg, mut d) = daemon_fetching_a().await;
    let hits = |p: &str| srv.seen().iter().filter(|s| s.path == p).count();
    let feed = |p: &str| feed_every_second(&srv, p);
    // (The first fetch committed.)
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(1))
        .await,
        "{}",
        d.log()
    );
    write_config(&env, &format!("{}{}", feed("/a.xml"), feed("/b.xml")));
    let holder = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    d.signal("HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(
        until(10, || hits("/b.xml") >= 1).await,
        "the new feed is fetched\n{}",
        d.log()
    );
    assert!(!d.log_has("reload failed"), "{}", d.log());
    d.signal("TERM");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0));
}

/// The `rel="self"` link of an Atom document.
fn self_link(atom: &str) -> String {
    let at = atom.find("rel=\"self\"").expect("a self link");
    let tag_start = atom[..at].rfind('<').unwrap();
    let tag = &atom[tag_start..atom[at..].find('>').unwrap() + at];
    let href = tag.split("href=\"").nth(1).unwrap();
    href[..href.find('"').unwrap()].to_string()
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A daemon whose stderr cannot be written (a pipe whose reader is gone, as
/// `run 2>&1 | head`, or a log on a full disk) goes on fetching: its log
/// lines are lost, not the daemon. It exited 101 at its first log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_whose_log_cannot_be_written_keeps_running() {
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a"), None, "a", "d")])).no_etag(),
    );
    let env = TestEnv::new();
    let cfg = write_config(&env, &feed_every_second(&srv, "/a.xml"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .env("FEEDLOOM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let fetches = || srv.seen().iter().filter(|s| s.path == "/a.xml").count();
    let fetched = until(20, || fetches() >= 3).await;
    let exited = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        fetched && exited.is_none(),
        "exited: {exited:?}, fetches: {}",
        fetches()
    );
}

/// A reload that shortens a feed's long schedule moves its next fetch to the
/// new schedule's next time, and says only that: the old, far time was taken
/// for one a clock ahead had set ("the clock was ahead", a warning) and the
/// feed fetched at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_shortening_a_schedule_blames_no_clock() {
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a"), None, "a", "d")])).no_etag(),
    );
    let env = TestEnv::new();
    let feed = |every: &str| {
        format!(
            "[defaults]\nspread = \"0s\"\n\n[[feed]]\nurl = \"{}\"\nevery = \"{every}\"\n",
            srv.url("/a.xml")
        )
    };
    let cfg = write_config(&env, &feed("7d"));
    let d = Daemon::start(&cfg);
    let fetches = || srv.seen().iter().filter(|s| s.path == "/a.xml").count();
    // (Its first fetch stored: its next is a week away.)
    let stored = || fetches() == 1 && d.log_has("fetched status=ok");
    assert!(until(20, stored).await, "{}", d.log());
    let cfg2 = write_config(&env, &feed("1h"));
    assert_eq!(cfg, cfg2);
    d.signal("HUP");
    assert!(
        until(10, || d.log_has("config reloaded")).await,
        "{}",
        d.log()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = d.log();
    assert!(log.contains("schedule changed"), "{log}");
    assert!(!log.contains("clock was ahead"), "{log}");
    assert_eq!(fetches(), 1, "fetched at once: {log}");
}

/// A config path that became a folder is said to be one on reload (it was
/// "not a plain file (a pipe?) ... restart"), and the file put back reloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_replaced_by_a_folder_is_named_as_one_and_reloads_once_back() {
    let (srv, _env, cfg, d) = daemon_fetching_a().await;
    let saved = std::fs::read_to_string(&cfg).unwrap();
    std::fs::remove_file(&cfg).unwrap();
    std::fs::create_dir(&cfg).unwrap();
    d.signal("HUP");
    assert!(
        until(10, || d.log_has("a folder, not the config file")).await,
        "{}",
        d.log()
    );
    assert!(!d.log_has("a pipe?"), "{}", d.log());
    std::fs::remove_dir(&cfg).unwrap();
    std::fs::write(&cfg, saved.replace("/a.xml", "/b.xml")).unwrap();
    d.signal("HUP");
    let fetched_b = || srv.seen().iter().any(|s| s.path == "/b.xml");
    assert!(until(10, fetched_b).await, "{}", d.log());
}

/// A reload that renames an output says which of the old output's files
/// stay behind, unwritten (a web server publishing the folder kept serving
/// a feed that no longer changed, and nothing said so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_renaming_an_output_names_the_files_left_behind() {
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a"), None, "a", "d")])),
    );
    let env = TestEnv::new();
    let out = |name: &str| {
        format!(
            "{}[[output]]\nname = \"{name}\"\npath = \"out/{name}\"\nformats = [\"atom\", \"json\"]\n",
            feed_every_second(&srv, "/a.xml")
        )
    };
    std::fs::create_dir(env.path("out")).unwrap();
    let cfg = write_config(&env, &out("news"));
    let d = Daemon::start(&cfg);
    let old = env.path("out/news.atom");
    assert!(until(20, || old.is_file()).await, "{}", d.log());
    write_config(&env, &out("headlines"));
    d.signal("HUP");
    assert!(
        until(20, || env.path("out/headlines.atom").is_file()).await,
        "{}",
        d.log()
    );
    assert!(
        until(10, || d.log_has("no output writes this file any more")).await,
        "{}",
        d.log()
    );
    let log = d.log();
    assert!(
        log.contains("news.atom") && log.contains("news.json"),
        "{log}"
    );
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("no output writes this file"))
        .collect();
    assert_eq!(said.len(), 2, "{log}");
    assert!(said.iter().all(|l| l.contains("out/news.")), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_whose_output_would_write_the_open_store_is_rejected() {
    // The daemon's store is `feeds.json`; the new config names another
    // store, and an output writing `feeds.json`: it replaced the open store
    // with the merged feed (checked only against the store the config named).
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a"), None, "a", "d")])),
    );
    let env = TestEnv::new();
    let store_named = |path: &str, extra: &str| {
        let cfg = write_config(
            &env,
            &format!("{}{extra}", feed_every_second(&srv, "/a.xml")),
        );
        let text = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(
            &cfg,
            text.replace("path = \"feedloom.db\"", &format!("path = \"{path}\"")),
        )
        .unwrap();
        cfg
    };
    let cfg = store_named("feeds.json", "");
    let mut d = Daemon::start(&cfg);
    let fetched = || srv.seen().iter().any(|s| s.path == "/a.xml");
    assert!(until(10, fetched).await, "{}", d.log());
    store_named(
        "other.db",
        "[[output]]\nname = \"feeds\"\npath = \"feeds\"\nformats = [\"json\"]\n",
    );
    d.signal("HUP");
    assert!(
        until(10, || d.log_has("config rejected")).await,
        "{}",
        d.log()
    );
    assert!(
        d.log_has("output `feeds` would write")
            && d.log_has("a file of the store this daemon has open"),
        "{}",
        d.log()
    );
    let n = srv.seen().len();
    assert!(
        until(10, || srv.seen().len() > n + 1).await,
        "still polling"
    );
    let head = std::fs::read(env.path("feeds.json")).unwrap();
    assert!(head.starts_with(b"SQLite format 3\0"), "the store is whole");
    d.signal("TERM");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0));
    assert!(!env.path("other.db").exists(), "the daemon keeps its store");
}

/// A second SIGTERM stops now: the first waits for fetches in flight up to
/// `shutdown_timeout` (an hour here), the second no longer (it was ignored,
/// and an operator's Ctrl-C twice did nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_stops_now() {
    let srv = FeedServer::start().await;
    srv.set(
        "/hung.xml",
        Resource::feed(rss("hung", &[(Some("a"), None, "a", "d")])).delay(Duration::from_secs(90)),
    );
    srv.set(
        "/ok.xml",
        Resource::feed(rss("ok", &[(Some("b"), None, "b", "d")])),
    );
    let env = TestEnv::new();
    let cfg = env.path("feedloom.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = \"feedloom.db\"\n\n[server]\nlisten = \"127.0.0.1:0\"\nshutdown_timeout = \"1h\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}{}",
            feed_every_second(&srv, "/hung.xml").replace("hung.xml", "hung.xml?token=HUNGSECRET1"),
            feed_every_second(&srv, "/ok.xml")
        ),
    )
    .unwrap();
    let mut d = Daemon::start(&cfg);
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(1)
            && srv
                .state
                .in_flight
                .load(std::sync::atomic::Ordering::SeqCst)
                >= 1)
        .await,
        "one feed stored, the other in flight\n{}",
        d.log()
    );
    d.signal("TERM");
    assert!(
        until(10, || d.log_has("waiting for in-flight fetches")).await,
        "{}",
        d.log()
    );
    assert!(d.wait(1).is_none(), "the first SIGTERM waits\n{}", d.log());
    d.signal("TERM");
    let status = d.wait(30).expect("exits after the second SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(d.log_has("SIGTERM again: stopping now"), "{}", d.log());
    assert!(
        d.log()
            .lines()
            .any(|l| l.contains("stopping now; abandoning fetches")
                && l.contains(&srv.url("/hung.xml?token=***"))),
        "{}",
        d.log()
    );
    // (The feed as `/metrics` shows it: its token was in this line.)
    assert!(!d.log_has("HUNGSECRET1"), "{}", d.log());
    assert_eq!(integrity(&env), "ok");
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
}

/// SIGTERM while the daemon is still starting (here: another process holds
/// the store's write lock) stops it, exit 0: it waited for start-up to end,
/// and then failed or ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_start_up_stops_it() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss("f", &[(Some("a"), None, "a", "d")])),
    );
    let env = TestEnv::new();
    let cfg = write_config(&env, &feed_every_second(&srv, "/f.xml"));
    let mut first = Daemon::start(&cfg);
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(1))
        .await,
        "{}",
        first.log()
    );
    first.signal("TERM");
    assert_eq!(first.wait(10).and_then(|s| s.code()), Some(0));
    let holder = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut d = Daemon::start(&cfg);
    // (Long enough for the signal handlers; shorter than the store's 5 s
    // busy wait that start-up is in.)
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(d.wait(0).is_none(), "still starting\n{}", d.log());
    d.signal("TERM");
    let status = d.wait(30).expect("exits after SIGTERM");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(d.log_has("stopped while starting"), "{}", d.log());
    assert!(!d.log_has("feedloom running"), "{}", d.log());
    assert_eq!(integrity(&env), "ok");
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
}

/// A store that fails while the daemon starts (a full disk) is named in the
/// one line the daemon exits with ("store error while spreading first
/// fetches: database or disk is full" said not which store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failing_at_start_up_is_named() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss("f", &[(Some("a"), None, "a", "d")])),
    );
    let env = TestEnv::new();
    let cfg = write_config(&env, &feed_every_second(&srv, "/f.xml"));
    let mut first = Daemon::start(&cfg);
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(1))
        .await,
        "{}",
        first.log()
    );
    first.signal("TERM");
    assert_eq!(first.wait(10).and_then(|s| s.code()), Some(0));
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(
            "UPDATE feeds SET next_fetch_at = 0;
             CREATE TRIGGER full BEFORE UPDATE ON feeds BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    let mut d = Daemon::start(&cfg);
    let status = d.wait(30).expect("exits");
    assert_eq!(status.code(), Some(1), "{}", d.log());
    let store = env.path("feedloom.db");
    assert!(
        d.log().lines().any(|l| l.contains("cannot start on store")
            && l.contains(&store.display().to_string())
            && l.contains("disk is full")),
        "{}",
        d.log()
    );
}

/// A systemd notify socket that is gone is said once, not at every watchdog
/// ping (a line every second filled the journal); an empty NOTIFY_SOCKET is
/// none, and says nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_socket_that_is_gone_is_said_once() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss("f", &[(Some("a"), None, "a", "d")])),
    );
    let env = TestEnv::new();
    let cfg = write_config(&env, &feed_every_second(&srv, "/f.xml"));
    let gone = env.path("gone.sock");
    let mut d = Daemon::start_with(
        &cfg,
        &[
            ("NOTIFY_SOCKET", gone.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    assert!(
        until(10, || d.log_has("feedloom running")).await,
        "{}",
        d.log()
    );
    // READY, and a watchdog ping every second, later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    d.signal("TERM");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0), "{}", d.log());
    let said = d
        .log()
        .lines()
        .filter(|l| l.contains("cannot notify systemd"))
        .count();
    assert_eq!(said, 1, "{}", d.log());
    assert!(d.log_has("gone.sock"), "{}", d.log());
    // An empty one is none (sd_notify's rule): nothing to say.
    let mut d = Daemon::start_with(&cfg, &[("NOTIFY_SOCKET", ""), ("WATCHDOG_USEC", "400000")]);
    assert!(
        until(10, || d.log_has("feedloom running")).await,
        "{}",
        d.log()
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    d.signal("TERM");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0), "{}", d.log());
    assert!(!d.log_has("cannot notify systemd"), "{}", d.log());
}

/// systemd's watchdog is pinged every half of its timeout: with
/// `WatchdogSec=400ms` feedloom pinged every second, and systemd killed it
/// as hung. A watchdog meant for another process (WATCHDOG_PID) is not
/// pinged at all, as `sd_watchdog_enabled` reads it; READY is still said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_pinged_within_its_timeout() {
    use std::os::unix::net::UnixDatagram;
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss("f", &[(Some("a"), None, "a", "d")])),
    );
    let env = TestEnv::new();
    let cfg = write_config(&env, &feed_every_second(&srv, "/f.xml"));
    for (name, pid) in [("ours", None), ("another's", Some("1"))] {
        let path = env.path(&format!("notify-{}.sock", pid.unwrap_or("0")));
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut vars = vec![
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ];
        vars.extend(pid.map(|p| ("WATCHDOG_PID", p)));
        let mut d = Daemon::start_with(&cfg, &vars);
        // The messages of READY and of the 2 s after it.
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut window_ends = None;
        while std::time::Instant::now() < window_ends.unwrap_or(deadline) {
            if let Ok(n) = sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                if msg.contains("READY=1") {
                    window_ends = Some(std::time::Instant::now() + Duration::from_secs(2));
                }
                got.push(msg);
            }
        }
        d.signal("TERM");
        assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0), "{}", d.log());
        assert!(got.iter().any(|m| m.contains("READY=1")), "{name}: {got:?}");
        let pings = got.iter().filter(|m| m.contains("WATCHDOG=1")).count();
        match pid {
            // Every 200 ms: about 10 in 2 s (it was 2, once a second).
            None => assert!(pings >= 5, "{name}: {pings} pings in 2 s: {got:?}"),
            Some(_) => assert_eq!(pings, 0, "{name}: {got:?}"),
        }
    }
}

/// The watchdog is pinged while the scheduler waits on the store (another
/// process holds its write lock) and while the daemon stops: a busy daemon
/// is not a hung one. (Pinged from the scheduler loop, it went silent for
/// seconds, and systemd killed it under a short `WatchdogSec`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_pinged_while_the_store_is_busy_and_while_stopping() {
    use std::os::unix::net::UnixDatagram;
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss("f", &[(Some("a"), None, "a", "d")])),
    );
    // (A feed whose answer takes long: the stop waits for it.)
    srv.set(
        "/slow.xml",
        Resource::feed(rss("s", &[(Some("s"), None, "s", "d")])).delay(Duration::from_secs(60)),
    );
    let env = TestEnv::new();
    let cfg = write_config(
        &env,
        &format!(
            "{}{}",
            feed_every_second(&srv, "/f.xml"),
            feed_every_second(&srv, "/slow.xml")
        ),
    );
    let path = env.path("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut d = Daemon::start_with(
        &cfg,
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(1))
        .await,
        "{}",
        d.log()
    );
    let pings_for = |secs: u64| {
        let end = Instant::now() + Duration::from_secs(secs);
        let mut buf = [0u8; 512];
        let mut pings = 0;
        while Instant::now() < end {
            if let Ok(n) = sock.recv(&mut buf) {
                pings += usize::from(buf[..n].starts_with(b"WATCHDOG=1"));
            }
        }
        pings
    };
    let _ = pings_for(0);
    let holder = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    // (Every 200 ms: about 15 in 3 s.)
    let busy = pings_for(3);
    holder.execute_batch("ROLLBACK").unwrap();
    d.signal("TERM");
    // The stop waits up to `shutdown_timeout` (2 s) for the slow fetch.
    let stopping = pings_for(2);
    assert_eq!(d.wait(20).and_then(|s| s.code()), Some(0), "{}", d.log());
    assert!(
        busy >= 7,
        "{busy} pings in 3 s with the store busy\n{}",
        d.log()
    );
    assert!(
        stopping >= 4,
        "{stopping} pings in 2 s of the stop\n{}",
        d.log()
    );
}

/// `feedloom poll` (a timer's) stopped by SIGTERM while a feed is still
/// being fetched: it says so and exits 143; what it stored stays, and the
/// store is sound. (It was killed without a word.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_stopped_by_sigterm_says_so() {
    // (And SIGHUP, the terminal closed: it died without a word, exit 129.)
    for (signal, name, code) in [
        (libc::SIGTERM, "SIGTERM", 143),
        (libc::SIGHUP, "SIGHUP", 129),
    ] {
        poll_stopped_by(signal, name, code).await;
    }
}

async fn poll_stopped_by(signal: i32, name: &str, code: i32) {
    let srv = FeedServer::start().await;
    srv.set(
        "/fast.xml",
        Resource::feed(rss("Fast", &[(Some("1"), None, "Fast one", "d")])),
    );
    srv.set(
        "/slow.xml",
        Resource::feed(rss("Slow", &[(Some("1"), None, "Slow one", "d")]))
            .delay(Duration::from_secs(30)),
    );
    let env = TestEnv::new();
    let cfg = write_config(
        &env,
        &format!(
            "[[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"json\"]\n\n{}",
            feeds_toml(&[srv.url("/fast.xml"), srv.url("/slow.xml")])
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(&cfg)
        .arg("poll")
        .env("FEEDLOOM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        until(20, || env
            .try_count("SELECT count(*) FROM items")
            .is_some_and(|n| n == 1)
            && srv
                .state
                .in_flight
                .load(std::sync::atomic::Ordering::SeqCst)
                == 1)
        .await,
        "the fast feed stored, the slow one in flight"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let end = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "poll did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(code), "{err}");
    assert!(err.contains(&format!("poll stopped by {name}")), "{err}");
    assert_eq!(integrity(&env), "ok");
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
    // The output files show what was stored (they were not written: a
    // reader of the published folder saw nothing of it until the next poll).
    let out = std::fs::read_to_string(env.path("out/all.json")).unwrap_or_default();
    assert!(out.contains("Fast one"), "{out}");
    assert!(err.contains("the output files show them"), "{err}");
}

/// libfaketime, which moves a process's wall clock and not its monotonic
/// one (Debian's `libfaketime`; `.ci/run` installs it).
fn faketime() -> Option<std::path::PathBuf> {
    let found = std::fs::read_dir("/usr/lib")
        .ok()?
        .filter_map(Result::ok)
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .chain([std::path::PathBuf::from(
            "/usr/lib/faketime/libfaketime.so.1",
        )])
        .find(|p| p.exists());
    // (Under CI it fails rather than skips without it.)
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "libfaketime is missing: apt-get install libfaketime"
    );
    found
}

/// The environment that has libfaketime (`lib`) read a process's wall clock
/// from the offset in `clock` ("+0", "-1h"), read again at every call, its
/// monotonic clock left alone.
fn wall_clock_from<'a>(
    lib: &'a std::path::Path,
    clock: &'a std::path::Path,
) -> [(&'a str, &'a str); 4] {
    [
        ("LD_PRELOAD", lib.to_str().unwrap()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ("FAKETIME_TIMESTAMP_FILE", clock.to_str().unwrap()),
        ("FAKETIME_NO_CACHE", "1"),
    ]
}

/// The wall clock stepping back an hour under a running daemon (an NTP
/// step, a virtual machine restored; libfaketime steps only the wall clock):
/// every feed is fetched on its schedule again, the one whose fetch was
/// under way at the step included, and a story seen after the step is
/// listed above the one seen before it. (Every feed waited an hour, `/healthz`
/// ok; then the feed fetched across the step still did, and the story seen
/// before the step stayed on top, for good once a restart moved its time to
/// now.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_stepping_back_stalls_no_feed_and_keeps_the_order() {
    let Some(lib) = faketime() else {
        return;
    };
    let srv = FeedServer::start().await;
    let a = |items: &[(Option<&str>, Option<&str>, &str, &str)]| {
        Resource::feed(rss("A", items)).no_etag()
    };
    srv.set("/a.xml", a(&[(Some("a0"), None, "before the step", "d")]));
    srv.set(
        "/slow.xml",
        Resource::feed(rss("S", &[(Some("s0"), None, "slow", "d")]))
            .no_etag()
            .delay(Duration::from_secs(3)),
    );
    let env = TestEnv::new();
    let clock = env.path("clock");
    std::fs::write(&clock, "+0").unwrap();
    let cfg = write_config(
        &env,
        &format!(
            "[defaults]\nevery = \"2s\"\nspread = \"0s\"\n\n\
             [[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\n\n\
             [[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"json\"]\n",
            srv.url("/a.xml"),
            srv.url("/slow.xml")
        ),
    );
    let d = Daemon::start_with(&cfg, &wall_clock_from(&lib, &clock));
    let hits = |p: &str| srv.seen().iter().filter(|s| s.path == p).count();
    // The slow feed's second fetch under way (each takes 3 s, every 2 s
    // from its end, about a second after it): the clock steps back an hour,
    // and the other feed gains a story.
    let stored = || env.try_count("SELECT count(*) FROM items") == Some(2);
    assert!(until(20, stored).await, "{}", d.log());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // (A request is seen when answered: the one under way is the next.)
    let slow = hits("/slow.xml");
    std::fs::write(&clock, "-1h").unwrap();
    srv.set(
        "/a.xml",
        a(&[
            (Some("a1"), None, "after the step", "d"),
            (Some("a0"), None, "before the step", "d"),
        ]),
    );
    let again = || hits("/slow.xml") >= slow + 2 && hits("/a.xml") >= 4;
    assert!(until(30, again).await, "{}", d.log());
    assert!(d.log_has("the wall clock stepped back"), "{}", d.log());
    let order = || -> Vec<String> {
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(env.path("out/all.json")).unwrap_or_default(),
        )
        .unwrap_or_default();
        json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["title"].as_str().unwrap_or_default().to_string())
            .filter(|t| t.contains("step"))
            .collect()
    };
    assert!(until(10, || order().len() == 2).await, "{:?}", order());
    assert_eq!(
        order(),
        ["after the step", "before the step"],
        "{}",
        d.log()
    );
}

/// A step back of five minutes seen while a fetch was under way, and the
/// daemon stopped before that fetch ended: the step is applied as it stops,
/// and the next start (the clock still behind) fetches on schedule. It was
/// lost: every feed waited five minutes after the restart (the store's
/// opening mends only steps past ten minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_back_pending_at_a_stop_is_applied() {
    let Some(lib) = faketime() else {
        return;
    };
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a0"), None, "a", "d")])).no_etag(),
    );
    let env = TestEnv::new();
    let clock = env.path("clock");
    std::fs::write(&clock, "+0").unwrap();
    let cfg = write_config(
        &env,
        &format!(
            "[defaults]\nevery = \"2s\"\nspread = \"0s\"\n\n\
             [[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\n",
            srv.url("/a.xml"),
            srv.url("/slow.xml")
        ),
    );
    let faked = wall_clock_from(&lib, &clock);
    let hits = |p: &str| srv.seen().iter().filter(|s| s.path == p).count();
    // (The slow feed answers after 40 s: under way at the step, cut off by
    // the stop.)
    srv.set(
        "/slow.xml",
        Resource::feed(rss("S", &[(Some("s0"), None, "s", "d")]))
            .no_etag()
            .delay(Duration::from_secs(40)),
    );
    let mut d = Daemon::start_with(&cfg, &faked);
    assert!(until(20, || hits("/a.xml") >= 2).await, "{}", d.log());
    std::fs::write(&clock, "-5m").unwrap();
    assert!(
        until(10, || d.log_has(
            "the schedule moves back once the fetches under way end"
        ))
        .await,
        "{}",
        d.log()
    );
    d.signal("TERM");
    assert!(d.wait(15).is_some(), "{}", d.log());
    assert!(d.log_has("moved back as much"), "{}", d.log());
    let a = hits("/a.xml");
    let d = Daemon::start_with(&cfg, &faked);
    assert!(
        until(15, || hits("/a.xml") >= a + 2).await,
        "fetched on schedule after the restart: {}",
        d.log()
    );
}
