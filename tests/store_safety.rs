//! The store under pressure and in company: a disk that cannot take a write
//! (SQLite's own page limit in process; a real write failure, RLIMIT_FSIZE set
//! with prlimit, for the binary), two processes on one store, and commands that
//! must only read.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use feedloom::refresh::{Outcome, poll};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_feedloom")
}

/// Runs the binary and waits for it.
fn feedloom(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A document of `n` items with `size` bytes of text each.
fn doc(tag: &str, n: usize, size: usize) -> String {
    let body: Vec<String> = (0..n)
        .map(|i| format!("{tag} {i} {}", "lorem ipsum ".repeat(size / 12)))
        .collect();
    let titles: Vec<String> = (0..n).map(|i| format!("{tag} story {i}")).collect();
    let items: Vec<_> = (0..n)
        .map(|i| {
            (
                Some(titles[i].as_str()),
                None,
                titles[i].as_str(),
                body[i].as_str(),
            )
        })
        .collect();
    rss(tag, &items)
}

/// The disk fills up during a poll (SQLite's max_page_count, which fails writes
/// with SQLITE_FULL exactly as a full disk does). The summary counts as ok and
/// new exactly what the store holds afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_counts_only_what_was_committed_when_the_disk_fills_up() {
    let srv = FeedServer::start().await;
    let mut urls = Vec::new();
    for i in 0..8 {
        let p = format!("/f{i}.xml");
        // Every third feed is large.
        let size = if i % 3 == 2 { 4000 } else { 200 };
        srv.set(&p, Resource::feed(doc(&format!("feed{i}"), 20, size)));
        urls.push(srv.url(&p));
    }
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\nper_host = 8\n\n{}",
        feeds_toml(&urls)
    ));
    let store = env.open_store();
    store.with(|s| {
        s.sync_config(&cfg.feeds).unwrap();
        let pages: i64 = s
            .conn()
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        s.conn()
            .pragma_update(None, "max_page_count", pages + 40)
            .unwrap();
    });
    let (summary, reports) = poll(&cfg, store.clone()).await.unwrap();
    drop(store);
    assert!(summary.store_errors > 0, "{summary:?}");
    assert_eq!(summary.ok + summary.not_modified + summary.failed, 8);
    assert_eq!(
        summary.new as i64,
        env.count("SELECT count(*) FROM items"),
        "new = stored: {summary:?}"
    );
    for r in &reports {
        let stored = env
            .reader()
            .query_row(
                "SELECT count(*) FROM items i JOIN feeds f ON f.id = i.feed_id WHERE f.url = ?1",
                [&r.feed_url],
                |row| row.get::<_, i64>(0),
            )
            .unwrap();
        match &r.outcome {
            Outcome::Stored(a) => assert_eq!(stored, a.new as i64, "{}", r.feed_url),
            Outcome::Failed { error, .. } => {
                assert_eq!(stored, 0, "{}", r.feed_url);
                if r.store_error.is_some() {
                    assert!(error.contains("full"), "{error}");
                }
            }
            Outcome::NotModified => panic!("first poll"),
            Outcome::NotStarted => panic!("a poll starts every fetch"),
            Outcome::Held { reason } => panic!("no server asked for time: {reason}"),
        }
    }
}

/// Starts the binary (as a service manager does: SIGXFSZ at its default, so
/// that a file size limit killed it until it ignored the signal itself), its
/// stderr collected.
struct Proc {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn start(config: &Path, args: &[&str]) -> Proc {
        let mut child = Command::new(bin())
            .arg("--config")
            .arg(config)
            .args(args)
            .env("FEEDLOOM_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let sink = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Proc { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sets the soft file size limit of the process, in bytes (or `unlimited`).
    fn limit_file_size(&self, limit: &str) {
        let ok = Command::new("prlimit")
            .arg("--pid")
            .arg(self.pid().to_string())
            .arg(format!("--fsize={limit}:"))
            .status()
            .expect("prlimit (util-linux) runs")
            .success();
        assert!(ok, "prlimit --fsize={limit}");
    }

    fn signal(&self, sig: &str) {
        assert!(
            Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid().to_string())
                .status()
                .unwrap()
                .success()
        );
    }

    fn wait(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                // Let the readers drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The daemon's HTTP address, from its "feedloom running" line.
    fn listen(&self) -> Option<String> {
        let log = self.log();
        let line = log.lines().find(|l| l.contains("feedloom running"))?;
        let start = line.find("listen=")? + "listen=".len();
        let rest = &line[start..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }
}

impl Drop for Proc {
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

fn write_config(env: &TestEnv, body: &str) -> PathBuf {
    write_config_with(env, "", body)
}

fn write_config_with(env: &TestEnv, fetch: &str, body: &str) -> PathBuf {
    let p = env.path("feedloom.toml");
    std::fs::write(
        &p,
        format!(
            "[store]\npath = \"feedloom.db\"\n\n[server]\nlisten = \"127.0.0.1:0\"\nshutdown_timeout = \"2s\"\n\n[fetch]\nhost_gap = \"0s\"\n{fetch}\n{body}"
        ),
    )
    .unwrap();
    p
}

/// `feedloom poll` whose writes start failing mid-poll (the file size limit
/// drops to 0 while the feeds are being fetched): nothing is reported stored,
/// and it exits 1 naming the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_exits_1_when_the_store_cannot_write() {
    let srv = FeedServer::start().await;
    let mut urls = Vec::new();
    for i in 0..3 {
        let p = format!("/f{i}.xml");
        srv.set(
            &p,
            Resource::feed(doc(&format!("feed{i}"), 10, 200)).delay(Duration::from_secs(2)),
        );
        urls.push(srv.url(&p));
    }
    let env = TestEnv::new();
    let cfg = write_config_with(&env, "per_host = 3\n", &feeds_toml(&urls));
    let mut p = Proc::start(&cfg, &["poll"]);
    let in_flight = || {
        srv.state
            .in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    assert!(until(10, || in_flight() == 3).await, "{}", p.log());
    p.limit_file_size("0");
    let status = p.wait(30).expect("poll ends");
    let log = p.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("feeds: 0 ok, 0 not modified, 3 failed"),
        "the summary counts them failed: {log}"
    );
    assert!(
        log.contains("could not write the results of 3 feed(s)")
            && log.contains(&env.path("feedloom.db").display().to_string()),
        "{log}"
    );
    assert_eq!(env.count("SELECT count(*) FROM items"), 0);
}

/// A poll whose commits fit but whose closing checkpoint cannot grow the
/// store (a file size limit at its size, as a disk the poll filled): it
/// exits 0, as every result is committed (in the -wal file), and says the
/// checkpoint failed and what follows (the next poll could not open the
/// store, and nothing had said why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_says_when_its_closing_checkpoint_fails() {
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(doc("first", 200, 2000)));
    let env = TestEnv::new();
    let cfg = write_config(&env, &feeds_toml(&[srv.url("/f.xml")]));
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let size = std::fs::metadata(env.path("feedloom.db")).unwrap().len();
    srv.set("/f.xml", Resource::feed(doc("second", 20, 2000)));
    let out = Command::new("prlimit")
        .arg(format!("--fsize={size}:"))
        .arg(bin())
        .arg("--config")
        .arg(&cfg)
        .arg("poll")
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .expect("prlimit (util-linux) runs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        text(&out.stdout).contains("20 new"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        err.contains("checkpoint failed at the end of the poll"),
        "{err}"
    );
    assert_eq!(env.count("SELECT count(*) FROM items"), 220);
}

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

/// The daemon's store stops taking writes (file size limit 0), then takes them
/// again: /healthz is 503 with the store's error meanwhile, the metrics count
/// no fetch as ok, and the feed's items arrive once writes work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_turns_503_while_commits_fail_and_recovers() {
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(doc("before", 2, 100)));
    let env = TestEnv::new();
    let cfg = write_config(
        &env,
        &format!(
            "[[feed]]\nurl = \"{}\"\nevery = \"1s\"\n",
            srv.url("/f.xml")
        ),
    );
    let mut d = Proc::start(&cfg, &["run"]);
    assert!(until(10, || d.listen().is_some()).await, "{}", d.log());
    let base = format!("http://{}", d.listen().unwrap());
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(2))
        .await,
        "{}",
        d.log()
    );
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);

    d.limit_file_size("0");
    srv.set("/f.xml", Resource::feed(doc("during", 3, 100)));
    let mut health = (0, String::new());
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        health = get(&format!("{base}/healthz")).await;
        if health.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health.0, 503, "{health:?}\n{}", d.log());
    let v: serde_json::Value = serde_json::from_str(&health.1).unwrap();
    assert_eq!(v["store"], "error");
    assert_eq!(v["status"], "error", "{v}");
    assert!(
        v["store_error"]
            .as_str()
            .is_some_and(|e| e.contains("disk I/O error")),
        "{v}"
    );
    let metric = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("feedloom_fetches_total{{outcome=\"{name}\"}} ")))
            .and_then(|n| n.parse().ok())
            .unwrap()
    };
    let m = get(&format!("{base}/metrics")).await.1;
    let (ok_before, err_before) = (metric(&m, "ok"), metric(&m, "error"));
    // Another failed attempt (backed off in memory): still no ok.
    let mut m = String::new();
    assert!(
        until(15, || {
            m = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(get(&format!("{base}/metrics")))
            })
            .1;
            metric(&m, "error") > err_before
        })
        .await,
        "{m}"
    );
    assert_eq!(metric(&m, "ok"), ok_before, "{m}");
    assert_eq!(get(&format!("{base}/healthz")).await.0, 503);
    assert!(d.log().contains("not committed"), "{}", d.log());

    d.limit_file_size("unlimited");
    assert!(
        until(30, || env.try_count("SELECT count(*) FROM items")
            == Some(5))
        .await,
        "the items arrive once the store writes again\n{}",
        d.log()
    );
    assert!(
        until(10, || tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(get(&format!("{base}/healthz")))
        })
        .0 == 200)
        .await
    );
    d.signal("TERM");
    assert_eq!(d.wait(10).and_then(|s| s.code()), Some(0), "{}", d.log());
}

/// One daemon per store: a second `run`, and a `poll`, are refused with one line
/// naming the store and the daemon's pid. A SIGKILLed daemon leaves no lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_is_refused_and_a_killed_one_leaves_no_lock() {
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(doc("a", 2, 100)));
    let env = TestEnv::new();
    let cfg = write_config(
        &env,
        &format!(
            "[defaults]\nspread = \"1s\"\n\n[[feed]]\nurl = \"{}\"\nevery = \"1h\"\n",
            srv.url("/f.xml")
        ),
    );
    let first = Proc::start(&cfg, &["run"]);
    assert!(
        until(10, || first.listen().is_some()).await,
        "{}",
        first.log()
    );
    let db = env.path("feedloom.db").display().to_string();
    // The same config, on the address the first one holds: the store is
    // named, not "Address already in use".
    let same = env.path("same.toml");
    std::fs::write(
        &same,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"{}\"", first.listen().unwrap()),
        ),
    )
    .unwrap();
    for (cmd, cfg) in [("run", &cfg), ("poll", &cfg), ("run", &same)] {
        let out = tokio::task::block_in_place(|| feedloom(cfg, &[cmd]));
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = text(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{cmd}: {err}");
        assert!(
            err.contains(&format!(
                "store {db} is in use by feedloom run (pid {})",
                first.pid()
            )),
            "{cmd}: {err}"
        );
    }
    // Read-only commands go on while it runs, through its write-ahead log.
    assert!(
        until(10, || env.try_count("SELECT count(*) FROM items")
            == Some(2))
        .await,
        "{}",
        first.log()
    );
    let out = tokio::task::block_in_place(|| feedloom(&cfg, &["export"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("a story 1"));
    let out = tokio::task::block_in_place(|| feedloom(&cfg, &["feeds"]));
    assert!(
        text(&out.stdout)
            .lines()
            .any(|l| l.contains("/f.xml") && l.split_whitespace().any(|w| w == "ok")),
        "{}",
        text(&out.stdout)
    );

    first.signal("KILL");
    let mut first = first;
    first.wait(10).expect("killed");
    let second = Proc::start(&cfg, &["run"]);
    assert!(
        until(10, || second.listen().is_some()).await,
        "a killed daemon's lock is gone with it\n{}",
        second.log()
    );
}

/// Every file in the folder: (size, modification time).
fn files(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.modified().unwrap()),
            )
        })
        .collect()
}

/// The rows that matter, read without leaving -wal/-shm files behind.
fn rows(env: &TestEnv) -> String {
    let uri = format!("file:{}?immutable=1", env.path("feedloom.db").display());
    let db = rusqlite::Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let mut out = String::new();
    for sql in [
        "SELECT group_concat(id || url || in_config || COALESCE(last_status, '') || COALESCE(next_fetch_at, ''), '|') FROM feeds",
        "SELECT count(*) || '/' || max(id) FROM items",
        "SELECT count(*) || '/' || max(id) FROM fetches",
        "SELECT group_concat(tag || feed_id) FROM feed_tags",
    ] {
        out.push_str(
            &db.query_row(sql, [], |r| r.get::<_, String>(0))
                .unwrap_or_default(),
        );
        out.push('\n');
    }
    out
}

/// `feeds`, `export` and `check` read only: with a config that names one feed of
/// the two in the store, every file beside the store and every row is the same
/// afterwards, and `feeds` still lists both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_change_nothing() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(doc("a", 2, 100)));
    srv.set("/b.xml", Resource::feed(doc("b", 2, 100)));
    let env = TestEnv::new();
    let both = format!(
        "[[feed]]\nurl = \"{}\"\ntags = [\"x\"]\n\n[[feed]]\nurl = \"{}\"\n",
        srv.url("/a.xml"),
        srv.url("/b.xml")
    );
    let cfg = write_config(&env, &both);
    let out = tokio::task::block_in_place(|| feedloom(&cfg, &["poll"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Now a config with only feed a.
    write_config(
        &env,
        &format!(
            "[[feed]]\nurl = \"{}\"\ntags = [\"y\"]\n",
            srv.url("/a.xml")
        ),
    );
    let before_files = files(env.dir.path());
    let before_rows = rows(&env);
    std::thread::sleep(Duration::from_millis(20));
    let mut feeds_out = String::new();
    for args in [
        &["feeds"][..],
        &["export"],
        &["export", "--format", "rss"],
        &["export", "--format", "json"],
        &["check"],
    ] {
        let out = tokio::task::block_in_place(|| feedloom(&cfg, args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        if args[0] == "feeds" {
            feeds_out = text(&out.stdout);
        }
        if args[0] == "export" {
            assert!(
                text(&out.stdout).contains("b story 1"),
                "the store as it is"
            );
        }
    }
    assert_eq!(files(env.dir.path()), before_files, "no file written");
    assert_eq!(rows(&env), before_rows, "no row changed");
    let b_line = feeds_out
        .lines()
        .find(|l| l.contains("/b.xml"))
        .unwrap_or("");
    assert!(b_line.contains("[not in config]"), "{feeds_out}");
    let a_line = feeds_out
        .lines()
        .find(|l| l.contains("/a.xml"))
        .unwrap_or("");
    assert!(
        !a_line.contains("[not in config]") && a_line.split_whitespace().any(|w| w == "ok"),
        "{feeds_out}"
    );
}

#[test]
fn read_only_commands_on_a_missing_or_old_store_say_so_and_create_nothing() {
    let env = TestEnv::new();
    let cfg = env.path("feedloom.toml");
    std::fs::write(&cfg, "[store]\npath = \"state/f.db\"\n").unwrap();
    for args in [&["export"][..], &["feeds"]] {
        let out = feedloom(&cfg, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("state/f.db does not exist") && err.contains("feedloom poll"),
            "{args:?}: {err}"
        );
    }
    let out = feedloom(&cfg, &["check"]);
    assert!(out.status.success());
    assert!(!env.path("state").exists(), "nothing created");

    // A store at schema version 1: read-only commands do not upgrade it.
    std::fs::create_dir_all(env.path("state")).unwrap();
    let conn = rusqlite::Connection::open(env.path("state/f.db")).unwrap();
    conn.execute_batch(feedloom::store::MIGRATIONS[0].1)
        .unwrap();
    conn.execute_batch("PRAGMA user_version = 1;").unwrap();
    drop(conn);
    let before = files(&env.path("state"));
    for args in [&["export"][..], &["feeds"]] {
        let out = feedloom(&cfg, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("schema version 1")
                && err.contains("run `feedloom poll` or the daemon to upgrade"),
            "{err}"
        );
    }
    assert_eq!(files(&env.path("state")), before);
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(feedloom(&cfg, &["feeds"]).status.success());
}

/// A read that began while no writer ran (no `-wal` file: the store is read
/// as immutable, without SQLite's locks) and under which a writer starting
/// meanwhile changed the file is made again, so that it is one snapshot. An
/// `export` overlapping a `poll` from a timer read "database disk image is
/// malformed", or a fetch's items half old and half new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_a_writer_changed_under_is_made_again() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(doc("a", 2, 100)));
    let env = TestEnv::new();
    let cfg = write_config(
        &env,
        &format!("[[feed]]\nurl = \"{}\"\n", srv.url("/a.xml")),
    );
    let out = tokio::task::block_in_place(|| feedloom(&cfg, &["poll"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = env.path("feedloom.db");
    assert!(!env.path("feedloom.db-wal").exists(), "no writer runs");
    let etag = |c: &rusqlite::Connection| -> Option<String> {
        c.query_row("SELECT etag FROM feeds", [], |r| r.get(0))
            .unwrap()
    };
    let mut reads = 0;
    let seen = feedloom::store::read_consistently(&db, || {
        reads += 1;
        let conn = feedloom::store::open_reader(&db).unwrap();
        let first = etag(&conn);
        if reads == 1 {
            // A writer comes and goes in the middle of the read: its
            // checkpoint writes into the main file.
            let w = rusqlite::Connection::open(&db).unwrap();
            w.execute("UPDATE feeds SET etag = 'changed'", []).unwrap();
            drop(w);
        }
        (first, etag(&conn))
    });
    assert_eq!(reads, 2, "read again");
    let changed = Some("changed".to_string());
    assert_eq!(seen, (changed.clone(), changed));
}

/// A store this user cannot write (mode 0444, as a restore from a read-only
/// medium leaves it): `poll` names the file, its owner and mode, and makes
/// nothing beside it. SQLite opened it read-only and made its `-wal` and
/// `-shm` files with the store's own mode; after `chmod 644` of the store,
/// those kept it unusable ("attempt to write a readonly database", naming
/// no file).
#[test]
fn a_store_this_user_cannot_write_is_named_and_left_as_it_was() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // (Playing another user needs root.)
    }
    let env = TestEnv::new();
    std::fs::write(env.path("f.xml"), rss("F", &[(Some("1"), None, "x", "d")])).unwrap();
    let cfg = write_config(&env, "[[feed]]\nurl = \"file:f.xml\"\n");
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = env.path("feedloom.db");
    for end in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{end}", db.display()));
    }
    let dir = env.path("");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::os::unix::fs::chown(entry.unwrap().path(), Some(64_001), Some(64_001)).unwrap();
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let as_user = || {
        let mut c = Command::new(bin());
        c.arg("--config").arg(&cfg).arg("poll").stdin(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(64_001) != 0
                    || libc::setuid(64_001) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        c.output().unwrap()
    };
    let out = as_user();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "this user cannot read and write {} (owner uid 64001, mode 0444)",
            db.display()
        )),
        "{err}"
    );
    for end in ["-wal", "-shm"] {
        assert!(
            !Path::new(&format!("{}{end}", db.display())).exists(),
            "{end} made"
        );
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = as_user();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A store file cut short (a copy interrupted, a disk that filled while it
/// was copied) is called damaged by every command, `check` too, and left as
/// it is: readers said "schema version 0 … run `feedloom poll` to upgrade
/// it", `check` called the config valid, and `poll` said "database disk
/// image is malformed".
#[test]
fn a_store_cut_short_is_called_damaged_by_every_command() {
    let env = TestEnv::new();
    std::fs::write(env.path("f.xml"), doc("cut", 40, 600)).unwrap();
    let cfg = write_config(&env, "[[feed]]\nurl = \"file:f.xml\"\n");
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = env.path("feedloom.db");
    assert!(!Path::new(&format!("{}-wal", db.display())).exists());
    let whole = std::fs::read(&db).unwrap();
    for (len, why) in [
        (50, "it ends inside SQLite's header (50 bytes)".to_string()),
        (
            whole.len() / 2,
            format!(
                "it is cut short ({} bytes of the {} its header declares)",
                whole.len() / 2,
                whole.len()
            ),
        ),
    ] {
        std::fs::write(&db, &whole[..len]).unwrap();
        // (An empty -wal beside it, as a writer's checkpoint leaves one,
        // changes nothing: it was read as "disk image is malformed".)
        let wal = env.path("feedloom.db-wal");
        match len {
            50 => std::fs::write(&wal, b"").unwrap(),
            _ => {
                let _ = std::fs::remove_file(&wal);
            }
        }
        let copy = env.path("copy.db");
        let copy = copy.to_str().unwrap();
        for args in [
            &["feeds"][..],
            &["export"],
            &["check"],
            &["poll"],
            &["backup", copy],
        ] {
            let out = feedloom(&cfg, args);
            assert!(!out.status.success(), "{args:?}");
            let err = text(&out.stderr);
            assert!(
                err.contains(&format!(
                    "store {} is damaged: {why}; restore a backup",
                    db.display()
                )),
                "{args:?}: {err}"
            );
            assert_eq!(std::fs::read(&db).unwrap(), &whole[..len], "{args:?} wrote");
        }
        // Restored from, it is named as the backup at fault.
        std::fs::write(env.path("cut.db"), &whole[..len]).unwrap();
        std::fs::write(env.path("cut.db-wal"), b"").unwrap();
        std::fs::write(&db, &whole).unwrap();
        let out = feedloom(&cfg, &["restore", env.path("cut.db").to_str().unwrap()]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("the backup is damaged: {why}")),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            whole,
            "restore replaced the store"
        );
    }
}

/// An empty store file (0 bytes: a `touch`, or a store emptied) is named as
/// such by every command that reads, `backup` too, and `check` warns of it;
/// nothing is written. Readers said "schema version 0 … run `feedloom poll`
/// to upgrade it", and `backup` "no such table: items".
#[test]
fn an_empty_store_file_is_named_by_every_reader() {
    let env = TestEnv::new();
    std::fs::write(env.path("f.xml"), doc("e", 3, 100)).unwrap();
    let cfg = write_config(&env, "[[feed]]\nurl = \"file:f.xml\"\n");
    let db = env.path("feedloom.db");
    std::fs::write(&db, b"").unwrap();
    let said = format!(
        "store {} is an empty file (0 bytes): nothing has been stored in it",
        db.display()
    );
    let copy = env.path("copy.db");
    for args in [
        &["feeds"][..],
        &["export"],
        &["search", "e"],
        &["backup", copy.to_str().unwrap()],
    ] {
        let out = feedloom(&cfg, args);
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(&said), "{args:?}: {err}");
        assert!(!copy.exists(), "{args:?} made a copy");
    }
    let out = feedloom(&cfg, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("warning: {said}")),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read(&db).unwrap().len(), 0, "a reader wrote");
    for end in ["-wal", "-shm"] {
        assert!(
            !env.path(&format!("feedloom.db{end}")).exists(),
            "{end} made"
        );
    }
    // A writer begins a store in it.
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = feedloom(&cfg, &["feeds"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // An empty file given to `restore` is named as such; the store stays.
    let before = std::fs::read(&db).unwrap();
    std::fs::write(env.path("empty.db"), b"").unwrap();
    let out = feedloom(&cfg, &["restore", env.path("empty.db").to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("it is an empty file (0 bytes), not a backup"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "restore replaced the store"
    );
}
