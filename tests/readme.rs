//! The README's commands, run: every command in its ```sh and ```console blocks is
//! listed in [`EXERCISED`] with the test that runs it, and a command the README
//! gains without a test here fails [`every_readme_command_is_exercised`]. Commands
//! run as written, with the built binary for `feedloom` / `cargo run --release --`,
//! in a temp folder holding copies of config/ (and of the OPML fixture they name);
//! where the README shows output, the output must be what it shows (`...` stands
//! for the rest of a line or of the output). Nothing here reaches the network:
//! example hosts are served on 127.0.0.1, and the shipped config's real feeds go
//! through a local proxy that refuses them.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every README command, and the test below that runs it.
const EXERCISED: &[(&str, &str)] = &[
    (
        "cargo run --release -- --config config/feedloom.toml run",
        "quick_start_daemon_serves_without_network_and_remove_reloads_it",
    ),
    (
        "cargo run --release -- --config config/example-local.toml run",
        "quick_start_offline_example_serves_all_at_the_readme_address",
    ),
    ("cargo test", "(this file is part of it)"),
    (
        "feedloom add https://blog.example.org/ --tag tech --every 2h",
        "add_examples",
    ),
    (
        "feedloom add https://blog.example.org/feed.atom",
        "add_examples",
    ),
    (
        "feedloom remove https://lwn.net/headlines/rss --reload",
        "quick_start_daemon_serves_without_network_and_remove_reloads_it",
    ),
    (
        "feedloom import-opml feedly.opml",
        "import_and_export_opml_examples",
    ),
    ("feedloom export-opml", "import_and_export_opml_examples"),
    ("feedloom feeds", "feeds_and_check_examples"),
    ("feedloom check", "feeds_and_check_examples"),
    ("cargo build --release", "install_commands_into_a_temp_root"),
    (
        "sudo install -m 0755 target/release/feedloom /usr/local/bin/feedloom",
        "install_commands_into_a_temp_root",
    ),
    (
        "sudo install -d /etc/feedloom",
        "install_commands_into_a_temp_root",
    ),
    (
        "sudo install -m 0644 systemd/feedloom.toml /etc/feedloom/feedloom.toml",
        "install_commands_into_a_temp_root",
    ),
    (
        "sudo install -m 0644 systemd/feedloom.service /etc/systemd/system/",
        "install_commands_into_a_temp_root",
    ),
    (
        "sudo install -m 0644 systemd/feedloom-poll.service systemd/feedloom-poll.timer /etc/systemd/system/",
        "install_commands_into_a_temp_root",
    ),
    (
        "sudo systemctl daemon-reload",
        "install_commands_into_a_temp_root",
    ),
    (
        "sudo systemctl enable --now feedloom",
        "install_commands_into_a_temp_root",
    ),
    (
        "sudo systemctl enable --now feedloom-poll.timer",
        "install_commands_into_a_temp_root",
    ),
    (
        "journalctl -u feedloom -f",
        "install_commands_into_a_temp_root",
    ),
    (
        "sqlite3 -readonly data/feedloom.db \"SELECT datetime(first_seen_at, 'unixepoch'), title, url FROM items WHERE first_seen_at >= unixepoch() - 86400 ORDER BY first_seen_at DESC;\"",
        "quick_start_offline_example_serves_all_at_the_readme_address",
    ),
];

/// A command from the README and the output it shows (console blocks only).
#[derive(Debug, Clone)]
struct Example {
    command: String,
    shows: Vec<String>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The README's commands in order: ```sh lines (continuations joined, comments
/// dropped) and ```console `$ ` lines with the lines that follow them.
fn readme_examples() -> Vec<Example> {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out: Vec<Example> = Vec::new();
    let mut lang: Option<String> = None;
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("```") {
            lang = match lang {
                Some(_) => None,
                None => Some(rest.trim().to_string()),
            };
            continue;
        }
        match lang.as_deref() {
            Some("sh") => {
                let code = strip_comment(line);
                let (code, more) = match code.trim_end().strip_suffix('\\') {
                    Some(c) => (c.to_string(), true),
                    None => (code.to_string(), false),
                };
                // A quoted string open at the end of the line goes on (as in sh).
                let more = more || open_quote(&format!("{pending} {code}"));
                pending.push(' ');
                pending.push_str(code.trim());
                if !more {
                    let cmd = pending.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !cmd.is_empty() {
                        out.push(Example {
                            command: cmd,
                            shows: Vec::new(),
                        });
                    }
                    pending.clear();
                }
            }
            Some("console") => {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    out.push(Example {
                        command: cmd.trim().to_string(),
                        shows: Vec::new(),
                    });
                } else if let Some(last) = out.last_mut() {
                    last.shows.push(line.to_string());
                }
            }
            _ => {}
        }
    }
    for e in &mut out {
        while e.shows.last().is_some_and(|l| l.trim().is_empty()) {
            e.shows.pop();
        }
    }
    out
}

/// Whether `s` ends inside a '…' or "…" string.
fn open_quote(s: &str) -> bool {
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            _ => {}
        }
    }
    quote.is_some()
}

/// `line` without a trailing `# comment` (outside quotes).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && (i == 0 || line[..i].ends_with(' ')) => {
                return &line[..i];
            }
            _ => {}
        }
    }
    line
}

/// The README examples of `command`, in order.
fn examples(command: &str) -> Vec<Example> {
    let found: Vec<Example> = readme_examples()
        .into_iter()
        .filter(|e| e.command == command)
        .collect();
    assert!(!found.is_empty(), "the README no longer shows `{command}`");
    found
}

/// Words of a command, with '…' and "…" quoting.
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A temp folder laid out like the repository's root: config/ (with samples),
/// systemd/, and the OPML fixture the README imports.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("config"), &dir.path().join("config"));
    copy_dir(&repo().join("systemd"), &dir.path().join("systemd"));
    std::fs::copy(
        repo().join("tests/fixtures/opml/feedly.opml"),
        dir.path().join("feedly.opml"),
    )
    .unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The binary for a README command's `feedloom` or `cargo run --release --`, and
/// the arguments after it.
fn feedloom_command(cmd: &str, dir: &Path) -> Command {
    let w = words(cmd);
    let args: &[String] = if w.starts_with(&[
        "cargo".into(),
        "run".into(),
        "--release".into(),
        "--".into(),
    ]) {
        &w[4..]
    } else {
        assert_eq!(w[0], "feedloom", "{cmd}");
        &w[1..]
    };
    let mut c = Command::new(env!("CARGO_BIN_EXE_feedloom"));
    c.args(args)
        .current_dir(dir)
        .env_remove("FEEDLOOM_CONFIG")
        .env_remove("FEEDLOOM_LOG")
        .stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `shows` (the README's lines) against `actual`: equal line by line, except
/// that a line ending in `...` matches any line starting with what precedes it,
/// and a line that is only `...` matches the rest.
fn assert_shows(shows: &[String], actual: &str, what: &str) {
    let got: Vec<&str> = actual.lines().collect();
    let mut i = 0;
    for want in shows {
        let w = want.trim_end();
        if w.trim() == "..." {
            return;
        }
        let line = got.get(i).copied().unwrap_or("<end of output>");
        let ok = match w.strip_suffix("...") {
            Some(prefix) => line.starts_with(prefix),
            None => line.trim_end() == w,
        };
        assert!(
            ok,
            "{what}: the README shows\n  {w}\nbut the command printed\n  {line}\n--- whole output ---\n{actual}"
        );
        i += 1;
    }
    assert_eq!(
        got.len(),
        i,
        "{what}: more output than the README shows:\n{actual}"
    );
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Rewrites the config's `listen` so the test picks the port; everything else
/// stays as shipped.
fn listen_on(config: &Path, port: u16) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(
        text.contains("listen = \"127.0.0.1:8080\""),
        "{}",
        config.display()
    );
    std::fs::write(
        config,
        text.replace(
            "listen = \"127.0.0.1:8080\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        ),
    )
    .unwrap();
}

/// A daemon started by a README command; SIGTERM on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(mut cmd: Command, port: u16) -> Daemon {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut d = Daemon { child, port };
        let end = Instant::now() + Duration::from_secs(60);
        while d.get("/healthz").is_none() {
            if let Some(status) = d.child.try_wait().unwrap() {
                let mut err = String::new();
                d.child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("the daemon exited ({status}): {err}");
            }
            assert!(Instant::now() < end, "the daemon did not start serving");
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    /// Status and body of a GET on 127.0.0.1 (plain HTTP/1.0, no client crate).
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let resp = text(&buf);
        let status = resp.split_whitespace().nth(1)?.parse().ok()?;
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
        Some((status, body))
    }

    fn stop(mut self) -> String {
        let pid = self.child.id() as i32;
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                self.child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                assert!(status.success(), "SIGTERM: exit {status}\n{err}");
                return err;
            }
            assert!(Instant::now() < end, "the daemon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    cond()
}

// ---------------------------------------------------------------------------

#[test]
fn every_readme_command_is_exercised() {
    let found: Vec<String> = readme_examples().into_iter().map(|e| e.command).collect();
    let missing: Vec<&String> = found
        .iter()
        .filter(|c| !EXERCISED.iter().any(|(k, _)| k == c))
        .collect();
    assert!(
        missing.is_empty(),
        "README commands no test runs (add them to tests/readme.rs): {missing:#?}"
    );
    let stale: Vec<&str> = EXERCISED
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !found.iter().any(|c| c == k))
        .collect();
    assert!(
        stale.is_empty(),
        "tests/readme.rs runs commands the README lost: {stale:#?}"
    );
}

#[test]
fn quick_start_offline_example_serves_all_at_the_readme_address() {
    let dir = workdir();
    let cmd = &examples("cargo run --release -- --config config/example-local.toml run")[0].command;
    let port = free_port();
    listen_on(&dir.path().join("config/example-local.toml"), port);
    let daemon = Daemon::start(feedloom_command(cmd, dir.path()), port);
    // The README's URLs: /all.atom, /all.rss, /all.json, with the samples' stories.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for ext in ["atom", "rss", "json"] {
        let url = format!("http://127.0.0.1:8080/all.{ext}");
        assert!(readme.contains(&url), "the README no longer names {url}");
        let path = format!("/all.{ext}");
        let mut entries = 0;
        wait_until(30, || {
            entries = daemon
                .get(&path)
                .filter(|(status, _)| *status == 200)
                .and_then(|(_, body)| feed_rs::parser::parse(body.as_bytes()).ok())
                .map_or(0, |f| f.entries.len());
            entries >= 15
        });
        // The samples hold 17 stories.
        assert!(entries >= 15, "{path} shows {entries} stories");
        let (_, body) = daemon.get(&path).unwrap();
        assert!(
            body.contains(&format!("http://127.0.0.1:{port}/all.{ext}")),
            "{path} links to itself"
        );
    }
    // The page to read it and the index the README names.
    for path in ["/all.html", "/"] {
        let url = format!("http://127.0.0.1:8080{path}");
        assert!(
            readme.contains(&format!("<{url}>")),
            "the README no longer names {url}"
        );
        let (status, body) = daemon.get(path).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("feedloom: local samples"), "{path}: {body}");
    }
    let log = daemon.stop();
    for ext in ["atom", "rss", "json"] {
        let f = dir.path().join(format!("data/example-local/all.{ext}"));
        assert!(f.is_file(), "{} not written\n{log}", f.display());
    }
    assert!(dir.path().join("data/example-local.db").is_file());

    // The README's sqlite3 query, on this store (named as the README names the
    // shipped config's store).
    let ex = &readme_examples()
        .into_iter()
        .find(|e| e.command.starts_with("sqlite3 "))
        .unwrap();
    let w = words(&ex.command);
    assert_eq!(w[..3], ["sqlite3", "-readonly", "data/feedloom.db"]);
    std::fs::copy(
        dir.path().join("data/example-local.db"),
        dir.path().join("data/feedloom.db"),
    )
    .unwrap();
    let sql = &w[3];
    match Command::new("sqlite3")
        .args(&w[1..])
        .current_dir(dir.path())
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "{}", text(&out.stderr));
            assert!(
                text(&out.stdout).lines().count() >= 10,
                "{}",
                text(&out.stdout)
            );
        }
        Err(_) => {
            // No sqlite3 CLI here: the same query through SQLite itself.
            let db = rusqlite::Connection::open(dir.path().join("data/feedloom.db")).unwrap();
            let n = db
                .prepare(sql)
                .unwrap()
                .query_map([], |_| Ok(()))
                .unwrap()
                .count();
            assert!(n >= 10, "{n} rows");
        }
    }
}

/// A proxy on 127.0.0.1 that refuses every request: the shipped config's real
/// feeds fail there without a DNS lookup or a packet leaving the machine.
fn refusing_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 2048];
            let n = conn.read(&mut buf).unwrap_or(0);
            let first = text(&buf[..n]).lines().next().unwrap_or("").to_string();
            s.lock().unwrap().push(first);
            let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        }
    });
    (port, seen)
}

#[test]
fn quick_start_daemon_serves_without_network_and_remove_reloads_it() {
    let dir = workdir();
    let cmd = &examples("cargo run --release -- --config config/feedloom.toml run")[0].command;
    let port = free_port();
    listen_on(&dir.path().join("config/feedloom.toml"), port);
    let (proxy, seen) = refusing_proxy();
    let mut c = feedloom_command(cmd, dir.path());
    for var in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
    ] {
        c.env(var, format!("http://127.0.0.1:{proxy}"));
    }
    c.env_remove("NO_PROXY").env_remove("no_proxy");
    let daemon = Daemon::start(c, port);
    let (status, body) = daemon.get("/all.atom").unwrap();
    assert_eq!(status, 200, "{body}");
    feed_rs::parser::parse(body.as_bytes()).expect("an Atom feed, empty for now");
    // Feeds fail (through the refusing proxy), are recorded, and serving goes on.
    let feeds_json = || {
        let mut f = feedloom_command(
            "feedloom --config config/feedloom.toml feeds --json",
            dir.path(),
        );
        f.env("HTTPS_PROXY", "http://127.0.0.1:1");
        let out = run(f);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
    };
    let failed = wait_until(90, || {
        feeds_json().as_array().is_some_and(|a| {
            a.iter()
                .any(|f| f["status"] == "error" && f["last_error"].is_string())
        })
    });
    assert!(failed, "no failure recorded: {:#}", feeds_json());
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|l| l.starts_with("CONNECT ")),
        "{:?}",
        seen.lock().unwrap()
    );
    assert_eq!(daemon.get("/all.rss").map(|r| r.0), Some(200));

    // `remove --reload` while it runs: the README's output, with this daemon's pid.
    let ex = &examples("feedloom remove https://lwn.net/headlines/rss --reload")[0];
    let out = run(feedloom_command(&ex.command, dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout).replace(&format!("(pid {})", daemon.child.id()), "(pid 4242)");
    assert_shows(&ex.shows, &shown, &ex.command);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        daemon.get("/all.json").map(|r| r.0),
        Some(200),
        "still serving after the reload"
    );
    daemon.stop();
}

#[test]
fn import_and_export_opml_examples() {
    let dir = workdir();
    let ex = &examples("feedloom import-opml feedly.opml")[0];
    let out = run(feedloom_command(&ex.command, dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The README interleaves stderr (`feedloom: ...`) and stdout as a terminal shows them.
    let (err, std): (Vec<String>, Vec<String>) = ex
        .shows
        .iter()
        .cloned()
        .partition(|l| l.starts_with("feedloom: "));
    assert_shows(&err, &text(&out.stderr), "import-opml (stderr)");
    assert_shows(&std, &text(&out.stdout), "import-opml");

    let dir = workdir();
    let ex = &examples("feedloom export-opml")[0];
    let out = run(feedloom_command(&ex.command, dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_shows(&ex.shows, &text(&out.stdout), &ex.command);
}

#[test]
fn feeds_and_check_examples() {
    // `feeds`: the README's header line, over the shipped config's feeds (the rows
    // it shows are one afternoon's states).
    let dir = workdir();
    let (proxy, _) = refusing_proxy();
    let mut poll = feedloom_command("feedloom poll", dir.path());
    poll.env("HTTPS_PROXY", format!("http://127.0.0.1:{proxy}"))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let out = run(poll);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ex = &examples("feedloom feeds")[0];
    let out = run(feedloom_command(&ex.command, dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let header = text(&out.stdout).lines().next().unwrap_or("").to_string();
    let want: Vec<&str> = ex.shows[0].split_whitespace().collect();
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), want);
    assert!(text(&out.stdout).contains("https://lwn.net/headlines/rss"));

    // `check` on the shipped config: what it would do, no warnings, exit 0.
    let out = run(feedloom_command("feedloom check", dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("warning:"),
        "{}",
        text(&out.stdout)
    );

    // The two errors the README shows, on a config whose lines 188-190 carry them.
    let checks = examples("feedloom check");
    assert_eq!(checks.len(), 2);
    let lines = [
        "every = \"15m\"\ntags = [\"x\"]\ncron = \"0 */15 * * * *\"\n",
        "tags = [\"x\"]\ntags2 = 1\ncron = \"*/15 * * * *\"\n",
    ];
    for (ex, tail) in checks.iter().zip(lines) {
        let mut cfg = "#\n".repeat(185);
        cfg += "[[feed]]\nurl = \"https://example.org/f\"\n";
        cfg += tail;
        let cfg = if tail.contains("tags2") {
            // Line 189 must be harmless here: a comment.
            cfg.replace("tags2 = 1\n", "# (comment)\n")
        } else {
            cfg
        };
        std::fs::write(dir.path().join("config/feedloom.toml"), cfg).unwrap();
        let out = run(feedloom_command(&ex.command, dir.path()));
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let shown = text(&out.stderr).replace("feedloom: ", "");
        assert_shows(&ex.shows, &shown, "check");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_examples() {
    use common::{FeedServer, Resource};
    let srv = FeedServer::start().await;
    let base = format!("http://{}", srv.addr);
    srv.set(
        "/",
        Resource::feed(format!(
            "<!doctype html><html><head><title>Example Blog</title>\
             <link rel=\"alternate\" type=\"application/atom+xml\" title=\"Posts\" href=\"/feed.atom\">\
             <link rel=\"alternate\" type=\"application/rss+xml\" title=\"Comments\" href=\"{base}/comments.rss\">\
             </head><body>hi</body></html>"
        ))
        .content_type("text/html"),
    );
    let entries: String = (1..=20)
        .map(|i| {
            format!(
                "<entry><id>urn:example:{i}</id><title>Post {i}</title>\
                 <link href=\"https://blog.example.org/{i}\"/><updated>2026-01-01T00:00:00Z</updated></entry>"
            )
        })
        .collect();
    srv.set(
        "/feed.atom",
        Resource::feed(format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Example Blog</title><id>urn:example</id>\
             <updated>2026-01-01T00:00:00Z</updated>{entries}</feed>"
        ))
        .content_type("application/atom+xml"),
    );
    let dir = workdir();
    let local = |cmd: &str| cmd.replace("https://blog.example.org", &base);
    let readme = |s: &str| s.replace(&base, "https://blog.example.org");

    let first = &examples("feedloom add https://blog.example.org/ --tag tech --every 2h")[0];
    let cmd = local(&first.command);
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(feedloom_command(&cmd, &d)))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = readme(&format!("{}{}", text(&out.stderr), text(&out.stdout)));
    assert_shows(&first.shows, &shown, &first.command);

    let again = &examples("feedloom add https://blog.example.org/feed.atom")[0];
    let cmd = local(&again.command);
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(feedloom_command(&cmd, &d)))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_shows(&again.shows, &readme(&text(&out.stderr)), &again.command);
}

#[test]
fn install_commands_into_a_temp_root() {
    // `cargo build --release` is what the cold-build figure in the README measures;
    // here the test's own build stands in for target/release/feedloom. The
    // `install` lines run for real, below a temp root instead of /; `systemctl`
    // and `journalctl` need systemd as PID 1: the units they start must name
    // what the install lines put in place.
    let dir = workdir();
    let root = dir.path().join("root");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_feedloom"));
    let mut units = Vec::new();
    let mut installed = 0;
    for ex in readme_examples() {
        let w = words(&ex.command);
        let w: Vec<String> = if w[0] == "sudo" { w[1..].to_vec() } else { w };
        match w[0].as_str() {
            "install" => {
                let mut args = Vec::new();
                for a in &w[1..] {
                    if let Some(abs) = a.strip_prefix('/') {
                        args.push(root.join(abs).display().to_string());
                    } else if a == "target/release/feedloom" {
                        args.push(bin.display().to_string());
                    } else {
                        args.push(a.clone());
                    }
                }
                // The folders a real system has (/usr/local/bin, /etc/systemd/system).
                if !w.iter().any(|a| a == "-d")
                    && let Some(last) = args.last()
                {
                    let folder = if last.ends_with('/') {
                        Path::new(last)
                    } else {
                        Path::new(last).parent().unwrap()
                    };
                    if folder.starts_with(&root) && !folder.starts_with(root.join("etc/feedloom")) {
                        std::fs::create_dir_all(folder).unwrap();
                    }
                }
                let out = Command::new("install")
                    .args(&args)
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}: {}",
                    ex.command,
                    text(&out.stderr)
                );
                installed += 1;
            }
            "systemctl" => units.extend(
                w.iter()
                    .skip(1)
                    .filter(|a| !a.starts_with('-'))
                    .skip(1)
                    .cloned(),
            ),
            "journalctl" => units.push(w[2].clone()),
            "cargo" => {}
            _ => {}
        }
    }
    assert!(installed >= 5, "{installed} install lines");
    let exe = root.join("usr/local/bin/feedloom");
    assert!(exe.is_file());
    let out = Command::new(&exe)
        .args([
            "--config",
            &root
                .join("etc/feedloom/feedloom.toml")
                .display()
                .to_string(),
            "check",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the installed config checks: {}",
        text(&out.stderr)
    );
    for unit in units {
        let file = if unit.contains('.') {
            unit.clone()
        } else {
            format!("{unit}.service")
        };
        let path = root.join("etc/systemd/system").join(&file);
        let body = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("systemctl names {unit}, which the install lines did not install")
        });
        for exec in body.lines().filter_map(|l| l.strip_prefix("ExecStart=")) {
            let prog = exec.split_whitespace().next().unwrap();
            assert!(
                root.join(&prog[1..]).is_file(),
                "{file} runs {prog}, which the README does not install"
            );
            if let Some(i) = exec.find("--config") {
                let cfg = exec[i..].split_whitespace().nth(1).unwrap();
                assert!(
                    root.join(&cfg[1..]).is_file(),
                    "{file} reads {cfg}, not installed"
                );
            }
        }
    }
}
