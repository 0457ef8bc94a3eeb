//! The `feedloom` binary as a user runs it: exit codes, summary lines, errors.

use std::path::Path;
use std::process::{Command, Output};

fn feedloom(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
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

const FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local</title><link>https://example.org/</link><description>d</description>
<item><guid>1</guid><title>Hello from a file</title><link>https://example.org/1</link><description>&lt;p&gt;hi&lt;/p&gt;</description></item>
</channel></rss>"#;

fn setup(extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("feeds")).unwrap();
    std::fs::write(dir.path().join("feeds/local.rss"), FEED).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = format!(
        "[store]\npath = \"state/f.db\"\n\n[[feed]]\nurl = \"file:feeds/local.rss\"\ntitle = \"My local feed\"\n\n[[feed]]\nurl = \"http://{closed}/gone.xml\"\n\n[[output]]\nname = \"all\"\npath = \"out/all\"\n{extra}"
    );
    let path = dir.path().join("feedloom.toml");
    std::fs::write(&path, cfg).unwrap();
    (dir, path)
}

#[test]
fn poll_prints_a_summary_and_exits_0_despite_a_failing_feed() {
    let (dir, cfg) = setup("");
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "feeds: 1 ok, 0 not modified, 1 failed, 0 disabled; items: 1 new, 0 updated"
    );
    assert!(
        dir.path().join("state/f.db").exists(),
        "store path is relative to the config"
    );
    assert!(
        text(&std::fs::read(dir.path().join("out/all.atom")).unwrap())
            .contains("Hello from a file")
    );

    // An unchanged local file is "not modified" the second time; the failing
    // feed is backing off (its next attempt is later): left out, and said.
    let out = feedloom(&cfg, &["poll"]);
    assert_eq!(
        text(&out.stdout).trim(),
        "feeds: 0 ok, 1 not modified, 0 failed, 0 disabled, 1 backing off; items: 0 new, 0 updated"
    );
    // --all fetches it all the same.
    let out = feedloom(&cfg, &["poll", "--all"]);
    assert_eq!(
        text(&out.stdout).trim(),
        "feeds: 0 ok, 1 not modified, 1 failed, 0 disabled; items: 0 new, 0 updated"
    );

    let out = feedloom(&cfg, &["feeds"]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    assert!(table.contains("My local feed"), "{table}");
    assert!(table.contains("not_modified"), "{table}");
    assert!(table.contains("error"), "{table}");
    assert!(table.contains("2 in a row"), "{table}");

    let out = feedloom(&cfg, &["export", "--format", "rss", "--limit", "5"]);
    assert!(out.status.success());
    let rss = text(&out.stdout);
    assert!(rss.contains("<rss version=\"2.0\""), "{rss}");
    // (A `file:` feed has no URL to publish, which RSS's <source> requires.)
    assert!(!rss.contains("<source"), "{rss}");
    let out = feedloom(&cfg, &["export", "--format", "json", "--output", "all"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"][0]["title"], "Hello from a file");
}

/// Output files that cannot be written make `poll` exit 1 and say so (a
/// timer-driven poll that publishes files otherwise failed unseen); the items
/// are stored all the same, and a later poll writes the files.
#[test]
fn poll_exits_1_when_it_cannot_write_its_output_files() {
    let (dir, cfg) = setup("");
    // `out` is a file, so out/all.atom cannot be made.
    std::fs::write(dir.path().join("out"), "in the way").unwrap();
    let out = feedloom(&cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("4 output file(s) could not be written")
            && err.contains("out/all.atom")
            && err.contains("out is not a folder"),
        "{err}"
    );
    assert!(text(&out.stdout).contains("1 new"), "{}", text(&out.stdout));
    std::fs::remove_file(dir.path().join("out")).unwrap();
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("out/all.atom").exists());
}

/// A store a newer feedloom wrote is refused by every command, naming the
/// store, and left as it is.
#[test]
fn a_store_of_a_newer_feedloom_is_refused_by_name() {
    let (dir, cfg) = setup("");
    assert!(feedloom(&cfg, &["poll"]).status.success());
    let db = dir.path().join("state/f.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    for args in [
        &["feeds"][..],
        &["poll"],
        &["export"],
        &["search", "hello"],
        &["check"],
    ] {
        let out = feedloom(&cfg, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "store {} is at schema version 99, newer than this feedloom knows",
                db.display()
            )),
            "{args:?}: {err}"
        );
    }
    let version: u32 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99);
}

#[test]
fn config_errors_name_file_line_and_key_and_exit_2() {
    let (_dir, cfg) = setup("maxitems = 5\n");
    let out = feedloom(&cfg, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("feedloom.toml:"), "{err}");
    assert!(err.contains("maxitems"), "{err}");
    let line = cfg.to_string_lossy().to_string() + ":14:";
    assert!(err.contains(&line), "expected {line} in {err}");

    let missing = feedloom(Path::new("/nonexistent/feedloom.toml"), &["poll"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/feedloom.toml"));
}

#[test]
fn check_says_what_it_would_do() {
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("is valid"), "{s}");
    assert!(s.contains("feeds: 2"), "{s}");
    assert!(s.contains("all: up to 100 stories"), "{s}");
    assert!(s.contains("local.rss"), "{s}");
    assert!(
        s.contains("retention: items kept for good (no [store] keep); the fetch log kept 30d;"),
        "{s}"
    );
    // What is deleted, and when (the only settings that delete data were
    // not in the summary); an output's window as written.
    let (_dir, cfg) = setup("window = \"7d\"\n");
    let edited = std::fs::read_to_string(&cfg).unwrap().replace(
        "path = \"state/f.db\"\n",
        "path = \"state/f.db\"\nkeep = \"30d\"\nkeep_fetch_log = \"5d\"\n",
    );
    std::fs::write(&cfg, edited).unwrap();
    let out = feedloom(&cfg, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains(
            "retention: items first seen more than 30d ago removed, with the stories they leave \
             empty; the fetch log kept 5d; pruned by the daemon at its start and then daily, by each \
             `poll`, or by `feedloom prune`"
        ),
        "{s}"
    );
    assert!(
        s.contains("all: up to 100 stories first seen within 7d,"),
        "{s}"
    );
    // An output of items counts items (it said "stories").
    let (_dir, cfg) = setup("dedup = \"item\"\n");
    let s = text(&feedloom(&cfg, &["check"]).stdout);
    assert!(s.contains("all: up to 100 items,"), "{s}");
    // A private feed's token is not printed (its output goes into reports).
    let (_dir, cfg) = setup("\n[[feed]]\nurl = \"https://p.example/f.xml?token=TOKCHECK9\"\n");
    let out = feedloom(&cfg, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("https://p.example/f.xml?token=***"), "{s}");
    assert!(!s.contains("TOKCHECK9"), "{s}");
}

/// A store this user cannot create or write (its folder read-only to it):
/// `check` warns, naming the folder (it called the config valid, and the
/// daemon failed with "unable to open database file"). As root the command
/// runs as `nobody`, for whom the folder is as read-only.
#[test]
fn check_warns_of_a_store_this_user_cannot_write() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let (dir, cfg) = setup("");
    let mode = |p: &Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    mode(dir.path(), 0o755).unwrap();
    mode(&cfg, 0o644).unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    mode(&state, 0o555).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let check = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_feedloom"));
        c.arg("--config")
            .arg(&cfg)
            .arg("check")
            .env("FEEDLOOM_LOG", "warn");
        if root {
            c.uid(65534).gid(65534);
        }
        c.output().unwrap()
    };
    let out = check();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("warning: store ")
            && s.contains(&format!(
                "this user cannot create it in {}",
                state.display()
            )),
        "{s}"
    );
    // A store it may write, in a folder it may not: its journal files.
    mode(&state, 0o777).unwrap();
    std::fs::write(state.join("f.db"), "").unwrap();
    mode(&state.join("f.db"), 0o666).unwrap();
    mode(&state, 0o555).unwrap();
    let s = text(&check().stdout);
    assert!(
        s.contains("cannot create its -wal and -shm files in"),
        "{s}"
    );
    // Its lock file, left by another user, that this one may not write.
    mode(&state, 0o777).unwrap();
    std::fs::write(state.join("f.db.lock"), "").unwrap();
    mode(&state.join("f.db.lock"), 0o444).unwrap();
    let s = text(&check().stdout);
    assert!(
        s.contains("cannot read and write its file") && s.contains("f.db.lock"),
        "{s}"
    );
    std::fs::remove_file(state.join("f.db.lock")).unwrap();
    // (The empty file made above is warned of as such: gone.)
    std::fs::remove_file(state.join("f.db")).unwrap();
    // A folder it may write: nothing to say.
    mode(&state, 0o777).unwrap();
    let out = check();
    assert!(
        !text(&out.stdout).contains("warning: store"),
        "{}",
        text(&out.stdout)
    );
    // Output files in a folder it may not write, or that are a folder or a
    // pipe: `check` called the config valid, and every poll failed to write
    // them.
    let outdir = dir.path().join("out");
    std::fs::create_dir_all(outdir.join("all.json")).unwrap();
    std::fs::write(outdir.join("all.atom"), "").unwrap();
    let s = text(&check().stdout);
    assert!(
        s.contains("output `all`")
            && s.contains("all.json is not a plain file")
            && s.contains(&format!(
                "this user cannot write in its folder {}",
                outdir.display()
            )),
        "{s}"
    );
    mode(&outdir, 0o777).unwrap();
    let s = text(&check().stdout);
    assert!(s.contains("all.json is not a plain file"), "{s}");
    assert!(!s.contains("all.atom"), "{s}");
    std::fs::remove_dir(outdir.join("all.json")).unwrap();
    let s = text(&check().stdout);
    assert!(!s.contains("warning: output"), "{s}");
    // A folder that is a plain file on the way ("Not a directory" at every
    // write).
    std::fs::remove_dir_all(&outdir).unwrap();
    std::fs::write(&outdir, "").unwrap();
    let s = text(&check().stdout);
    assert!(
        s.contains("output `all`") && s.contains(&format!("{} is not a folder", outdir.display())),
        "{s}"
    );
    // A link to nothing on the way (`poll` failed with "cannot create the
    // folder …: File exists").
    std::fs::remove_file(&outdir).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &outdir).unwrap();
    let s = text(&check().stdout);
    assert!(
        s.contains("output `all`")
            && s.contains(&format!(
                "{} is a link to {}, which does not exist",
                outdir.display(),
                dir.path().join("nowhere").display()
            )),
        "{s}"
    );
}

/// A store file that is not a SQLite database (a feed saved over it, a
/// typo naming another file): `check` says so, as every other command does
/// (it said the config was valid). An empty file is a store not begun.
#[test]
fn check_names_a_store_file_that_is_not_a_database() {
    let (dir, cfg) = setup("");
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    std::fs::write(dir.path().join("state/f.db"), "<rss>not a store</rss>").unwrap();
    let out = feedloom(&cfg, &["check"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("state/f.db") && err.contains("not a SQLite database"),
        "{err}"
    );
    std::fs::write(dir.path().join("state/f.db"), "").unwrap();
    let out = feedloom(&cfg, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Another program's database (a browser's places.sqlite): refused by
    // `check` and by `poll`, which added feedloom's tables to it.
    std::fs::remove_file(dir.path().join("state/f.db")).unwrap();
    rusqlite::Connection::open(dir.path().join("state/f.db"))
        .unwrap()
        .execute_batch("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT);")
        .unwrap();
    for cmd in ["check", "poll"] {
        let out = feedloom(&cfg, &[cmd]);
        assert!(!out.status.success(), "{cmd}");
        let err = text(&out.stderr);
        assert!(
            err.contains("another program's SQLite database (tables moz_places)"),
            "{cmd}: {err}"
        );
    }
    let tables: i64 = rusqlite::Connection::open(dir.path().join("state/f.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1, "nothing added");
    // A store copied with `sqlite3 .dump` (no schema version): every command
    // says so, and how to mend it (read-only ones said "run poll to upgrade
    // it", and poll then "another program's database").
    std::fs::remove_file(dir.path().join("state/f.db")).unwrap();
    assert!(feedloom(&cfg, &["poll"]).status.success());
    rusqlite::Connection::open(dir.path().join("state/f.db"))
        .unwrap()
        .pragma_update(None, "user_version", 0)
        .unwrap();
    for cmd in ["check", "poll", "feeds", "export"] {
        let out = feedloom(&cfg, &[cmd]);
        assert!(!out.status.success(), "{cmd}");
        let err = text(&out.stderr);
        assert!(
            err.contains("has feedloom's tables but no schema version")
                && err.contains("PRAGMA user_version = "),
            "{cmd}: {err}"
        );
    }
}

/// A cron feed is shown with its expression and next times, so that a day of
/// the week read otherwise than meant (the cron crate counts 1 as Sunday)
/// shows before it fires.
#[test]
fn check_shows_a_cron_feeds_next_times() {
    let (_dir, cfg) = setup("");
    let text_of = std::fs::read_to_string(&cfg).unwrap().replace(
        "title = \"My local feed\"\n",
        "title = \"My local feed\"\ncron = \"0 0 9 * * Mon-Fri\"\n",
    );
    std::fs::write(&cfg, text_of).unwrap();
    let out = feedloom(&cfg, &["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let line = s.lines().find(|l| l.contains("local.rss")).unwrap_or("");
    assert!(line.contains("on cron \"0 0 9 * * Mon-Fri\" (next "), "{s}");
    for day in ["Sat ", "Sun "] {
        assert!(!line.contains(day), "{line}");
    }
    assert!(
        line.contains(" 09:00:00, then ") && line.ends_with(" 09:00:00 UTC)"),
        "{line}"
    );
}

#[test]
fn bad_arguments_and_unknown_outputs_exit_2() {
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["export", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("yaml"));
    let out = feedloom(&cfg, &["export", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = feedloom(&cfg, &["export", "--output", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no output named `nope`"));
}

#[test]
fn an_unusable_store_is_one_clear_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // The store's folder is a file: it cannot be created.
    std::fs::write(dir.path().join("blocker"), "x").unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[store]\npath = \"blocker/f.db\"\n\n[[feed]]\nurl = \"http://127.0.0.1:9/f.xml\"\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("blocker/f.db") && err.contains("blocker is not a folder"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // A store path that is a loop of links: named so by `check` and by a
    // reading command (it said "does not exist (nothing polled yet)").
    std::os::unix::fs::symlink("loop2", dir.path().join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", dir.path().join("loop2")).unwrap();
    std::fs::write(&cfg, "[store]\npath = \"loop1\"\n").unwrap();
    for cmd in ["check", "feeds", "poll"] {
        let out = feedloom(&cfg, &[cmd]);
        assert_ne!(out.status.code(), Some(0), "{cmd}");
        let err = text(&out.stderr);
        assert!(
            err.contains("loop1") && err.contains("loop of symbolic links"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn a_stderr_that_cannot_be_written_keeps_the_exit_code() {
    // Errors to a full disk (`2>/dev/full`): the message is lost, but the
    // exit code says what happened (it was 101, a panic's).
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    for (text, args, code) in [
        ("bogus = 1\n", &["check"][..], 2),
        ("[store]\npath = \"none.db\"\n", &["feeds"], 1),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .stderr(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

#[test]
fn a_feed_the_parser_panics_on_is_stored_without_a_panic_on_stderr() {
    // feed-rs 3.0 panics on an address beside a non-ASCII character; feedloom
    // reads the feed again with the address spaced out. A daemon's journal
    // showed "thread panicked" and a backtrace on every poll of such a feed.
    let (dir, cfg) = setup("");
    std::fs::write(
        dir.path().join("feeds/local.rss"),
        FEED.replace(
            "<guid>1</guid>",
            "<guid>1</guid><author>編集部（info@example.jp）</author>",
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(&cfg)
        .arg("poll")
        .env("FEEDLOOM_LOG", "info")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        text(&out.stdout).contains("items: 1 new"),
        "{}",
        text(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    let db = rusqlite::Connection::open(dir.path().join("state/f.db")).unwrap();
    let author: String = db
        .query_row("SELECT author FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(author, "編集部");
}

#[test]
fn markup_the_sanitiser_repairs_logs_no_warning() {
    // Text straight inside a <table>: html5ever logged a WARN naming no feed
    // on every render, and the daemon on every request for an older river
    // page, which any client could repeat.
    let (dir, cfg) = setup("");
    std::fs::write(
        dir.path().join("feeds/local.rss"),
        FEED.replace(
            "&lt;p&gt;hi&lt;/p&gt;",
            "&lt;table&gt;stray text&lt;tr&gt;&lt;td&gt;a&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;",
        ),
    )
    .unwrap();
    for level in ["info", "warn"] {
        let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("poll")
            .env("FEEDLOOM_LOG", level)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("html5ever"), "{level}: {stderr}");
        assert!(!stderr.contains("foster"), "{level}: {stderr}");
    }
    let page = std::fs::read_to_string(dir.path().join("out/all.atom")).unwrap();
    assert!(page.contains("stray text"), "{page}");
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    // `feedloom check | head -1`: the pipe closes before feedloom writes.
    // It panicked ("failed printing to stdout: Broken pipe", exit 101).
    use std::os::unix::process::ExitStatusExt;
    let (_dir, cfg) = setup("");
    assert!(feedloom(&cfg, &["poll"]).status.success());
    for args in [
        &["check"][..],
        &["export", "--format", "rss"][..],
        &["feeds"][..],
        &["export-opml"][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .env("FEEDLOOM_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(
            out.status.signal() == Some(libc::SIGPIPE) || out.status.success(),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

/// Every file in the folder: (name, size, modification time).
fn files(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, m.len(), m.modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn enable_says_what_it_did_and_creates_no_store() {
    let (dir, cfg) = setup("");
    let url = "file:feeds/local.rss";
    // No store yet: an error naming it, and none is created.
    let out = feedloom(&cfg, &["enable", url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("state").exists(), "no store, no folder");
    assert!(feedloom(&cfg, &["poll"]).status.success());
    // A feed that is not disabled: said, exit 0, and the store is left as
    // it was (it was opened for writing, and checkpointed, to say so).
    let state = dir.path().join("state");
    let before = files(&state);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = feedloom(&cfg, &["enable", url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("is neither disabled nor moved; nothing to do"),
        "{}",
        text(&out.stdout)
    );
    let out = feedloom(&cfg, &["enable", "https://nowhere.example/f.xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no feed with url"));
    assert_eq!(files(&state), before, "enable with nothing to do wrote");
    // An address that is none is said so, as `add` and `remove` say it (it
    // was "no feed with url not url").
    let out = feedloom(&cfg, &["enable", "not url"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid URL `not url`"),
        "{}",
        text(&out.stderr)
    );
    // A disabled feed the config no longer names: enabled in the store, and
    // said that nothing fetches it (it said "enabled" alone).
    rusqlite::Connection::open(dir.path().join("state/f.db"))
        .unwrap()
        .execute("UPDATE feeds SET enabled = 0", [])
        .unwrap();
    let without = std::fs::read_to_string(&cfg).unwrap().replace(
        "[[feed]]\nurl = \"file:feeds/local.rss\"\ntitle = \"My local feed\"\n\n",
        "",
    );
    std::fs::write(&cfg, without).unwrap();
    let out = feedloom(&cfg, &["enable", url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the config does not name it"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn prune_of_a_store_that_does_not_exist_says_so_and_makes_none() {
    // A typo in [store] path made an empty store and said "removed 0 items".
    let (dir, cfg) = setup("");
    for args in [&["prune"][..], &["prune", "--dry-run"][..]] {
        let out = feedloom(&cfg, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains("does not exist"),
            "{args:?}: {}",
            text(&out.stderr)
        );
        // (Nor its retention rules above the error, as if it had read them
        // against a store.)
        assert_eq!(text(&out.stdout), "", "{args:?}");
    }
    assert!(
        !dir.path().join("state").exists(),
        "no store, no folder, no lock"
    );
}

/// An empty FEEDLOOM_CONFIG is unset: the default config is read. It said "a
/// value is required for '--config'", a flag nobody had passed.
#[test]
fn an_empty_feedloom_config_is_unset() {
    let (dir, cfg) = setup("");
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::rename(&cfg, dir.path().join("config/feedloom.toml")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("check")
        .current_dir(dir.path())
        .env("FEEDLOOM_CONFIG", "")
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("config config/feedloom.toml is valid"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_store_path_that_is_a_folder_is_named_as_one() {
    // It read "does not exist", and poll "unable to open database file".
    let (dir, cfg) = setup("");
    std::fs::create_dir_all(dir.path().join("state/f.db")).unwrap();
    for args in [
        &["poll"][..],
        &["feeds"],
        &["export"],
        &["prune"],
        &["check"],
    ] {
        let out = feedloom(&cfg, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains("state/f.db is a folder, not a file"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("state/f.db"))
            .unwrap()
            .count(),
        0,
        "nothing written into it"
    );
}

#[test]
fn a_store_path_that_is_a_pipe_or_under_a_file_is_named_so() {
    // A pipe read "does not exist", and poll "disk I/O error" (with
    // `/dev/null`, it left `/dev/null-journal` and `/dev/null.lock`); a path
    // under a file was "cannot lock it: File exists".
    let (dir, cfg) = setup("");
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    let fifo = std::ffi::CString::new(dir.path().join("state/f.db").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path we own.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    for args in [
        &["poll"][..],
        &["feeds"],
        &["export"],
        &["prune"],
        &["check"],
    ] {
        let out = feedloom(&cfg, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains("state/f.db: it is not a plain file"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let names: Vec<String> = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["f.db"], "nothing written beside it");

    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("state/f.db", "feeds/local.rss/f.db"),
    )
    .unwrap();
    for args in [
        &["poll"][..],
        &["feeds"],
        &["prune"],
        &["enable", "https://example.org/x"],
        &["check"],
    ] {
        let out = feedloom(&cfg, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains("feeds/local.rss is not a folder"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

/// A `file:` feed that is a FIFO (or a device) is an error naming it, not a
/// read that waits for ever: its open never returned, and `poll` printed its
/// summary but never exited, keeping the store's lock.
#[test]
fn a_file_feed_that_is_a_pipe_fails_and_poll_exits() {
    let (dir, cfg) = setup("[fetch]\ntimeout = \"2s\"\n");
    let fifo = dir.path().join("feeds/pipe.rss");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let text_cfg = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text_cfg.replace("file:feeds/local.rss", "file:feeds/pipe.rss"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(&cfg)
        .arg("poll")
        .env("FEEDLOOM_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("poll did not exit");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feeds = feedloom(&cfg, &["feeds", "--json"]);
    let list = text(&feeds.stdout);
    assert!(
        list.contains("pipe.rss") && list.contains("not a plain file"),
        "{list}"
    );
}

#[test]
fn a_config_on_a_read_only_file_system_is_named_so() {
    // Needs a mount of its own (root); says so and skips without one.
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("ro");
    std::fs::create_dir(&mnt).unwrap();
    let mount = |args: &[&str]| {
        Command::new("mount")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !mount(&[
        "-t",
        "tmpfs",
        "-o",
        "size=1m",
        "tmpfs",
        mnt.to_str().unwrap(),
    ]) {
        eprintln!("skipped: cannot mount a tmpfs here (not root)");
        return;
    }
    let cfg = mnt.join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[store]\npath = \"/nonexistent/f.db\"\n\n[[feed]]\nurl = \"https://a.example/f\"\n",
    )
    .unwrap();
    let ro = mount(&["-o", "remount,ro", mnt.to_str().unwrap()]);
    let out = feedloom(&cfg, &["remove", "https://a.example/f"]);
    let _ = Command::new("umount").arg(&mnt).status();
    assert!(ro, "remount read-only");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(!err.contains("may not write"), "{err}");
}

#[test]
fn feeds_shows_titles_without_bidi_controls_or_noncharacters() {
    // `feeds` printed U+FFFE/U+FFFF, and `feeds --json` bidi overrides too.
    let (_dir, cfg) = setup("");
    let text_cfg = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("My local feed", "My \u{202E}local\u{FFFE} feed\u{FFFF}");
    std::fs::write(&cfg, text_cfg).unwrap();
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for args in [&["feeds"][..], &["feeds", "--json"]] {
        let out = feedloom(&cfg, args);
        let said = text(&out.stdout);
        assert!(said.contains("My local feed"), "{args:?}: {said}");
        assert!(
            !said.contains(['\u{202E}', '\u{FFFE}', '\u{FFFF}']),
            "{args:?}: {said}"
        );
    }
}

/// A `file:` feed's path on this machine is not published: it was the
/// source's id and self link in Atom, the RSS `<source url>`, the JSON
/// `feed_url` and the river page's `title`. The source keeps its name.
#[test]
fn a_file_feeds_path_is_not_published() {
    let (dir, cfg) = setup("");
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = dir.path().join("feeds/local.rss");
    for format in ["atom", "rss", "json", "html"] {
        let out = feedloom(&cfg, &["export", "--format", format]);
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        let body = text(&out.stdout);
        assert!(body.contains("Hello from a file"), "{format}: {body}");
        assert!(
            !body.contains("file:") && !body.contains(path.to_str().unwrap()),
            "{format}: {body}"
        );
    }
    let atom = text(&feedloom(&cfg, &["export", "--format", "atom"]).stdout);
    assert!(
        atom.contains("<source>\n      <title>My local feed</title>"),
        "{atom}"
    );
    xmltree_ok(&atom);
}

fn xmltree_ok(xml: &str) {
    let mut r = quick_xml::Reader::from_str(xml);
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed: {e}\n{xml}"),
        }
    }
}

/// An output path that is a symbolic link is replaced by the file, never
/// written through, and the log says so (the file it named kept its old
/// contents without a word).
#[test]
fn an_output_that_is_a_link_is_replaced_and_said() {
    let (dir, cfg) = setup("");
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("published.atom"), "old").unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("published.atom"),
        dir.path().join("out/all.atom"),
    )
    .unwrap();
    let out = feedloom(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("symbolic link") && err.contains("all.atom"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("published.atom")).unwrap(),
        "old"
    );
    assert!(
        !std::fs::symlink_metadata(dir.path().join("out/all.atom"))
            .unwrap()
            .is_symlink()
    );
}

/// `enable` (which may run beside the daemon, without the lock) refuses a
/// store file with other names too: through a hard link it said "enabled"
/// while its write went to a WAL of its own and was lost.
#[test]
fn enable_refuses_a_store_with_other_names() {
    let (dir, cfg) = setup("");
    assert!(feedloom(&cfg, &["poll"]).status.success());
    // (A feed with something to enable: with nothing to do, nothing is
    // written, and the store is only read.)
    rusqlite::Connection::open(dir.path().join("state/f.db"))
        .unwrap()
        .execute("UPDATE feeds SET enabled = 0", [])
        .unwrap();
    std::fs::hard_link(
        dir.path().join("state/f.db"),
        dir.path().join("state/link.db"),
    )
    .unwrap();
    let out = feedloom(&cfg, &["enable", "file:feeds/local.rss"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("2 names (hard links)"), "{err}");
}
