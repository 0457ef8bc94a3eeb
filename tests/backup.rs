//! `feedloom backup FILE`: a consistent copy while the daemon writes; it passes
//! an integrity check and opens as a store; an existing file is replaced only
//! with `--force`.

mod common;
#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn feedloom(config: &Path, args: &[&str]) -> std::process::Output {
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

fn doc(round: usize) -> String {
    let items: Vec<(String, String)> = (0..20)
        .map(|i| (format!("r{round}-{i}"), format!("Round {round} story {i}")))
        .collect();
    let v: Vec<(Option<&str>, Option<&str>, &str, &str)> = items
        .iter()
        .map(|(g, t)| {
            (
                Some(g.as_str()),
                None,
                t.as_str(),
                "Some text of the story.",
            )
        })
        .collect();
    rss("Busy", &v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_while_the_daemon_writes_is_whole_and_opens() {
    let srv = FeedServer::start().await;
    srv.set("/busy.xml", Resource::feed(doc(0)));
    let env = TestEnv::new();
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n[defaults]\nspread = \"0s\"\nevery = \"1s\"\n\n{}",
        feeds_toml(&[srv.url("/busy.xml")])
    );
    // A store with some weight, so that the copy takes a while.
    env.config(&body);
    {
        let store = feedloom::store::Store::open(&env.path("feedloom.db")).unwrap();
        let conn = store.conn();
        conn.execute_batch("BEGIN; INSERT INTO feeds (id, url, created_at) VALUES (99, 'https://old.example/f', 0);")
            .unwrap();
        let text = "lorem ipsum dolor sit amet ".repeat(40);
        for i in 1..=20_000i64 {
            conn.execute(
                "INSERT INTO stories (id, uid, first_seen_at, changed_at) VALUES (?1, ?2, 1000, 1000)",
                rusqlite::params![i, format!("u{i}")],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO items (id, feed_id, key, key_kind, uid, title, content, content_hash,
                     first_seen_at, last_seen_at, changed_at, story_id)
                 VALUES (?1, 99, ?2, 'guid', ?3, 'old', ?4, 'h', 1000, 1000, 1000, ?1)",
                rusqlite::params![i, format!("k{i}"), format!("u{i}"), text],
            )
            .unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    let d = daemon::Daemon::start_in(env, &body).await;
    d.wait_for_page("/all.html", 20, |b| b.contains("Round 0 story 1"))
        .await;
    // The feed changes every 200 ms while the backups run: the daemon keeps writing.
    let writer_srv = std::sync::Arc::new(srv);
    let feeder = {
        let srv = writer_srv.clone();
        tokio::spawn(async move {
            for round in 1..=40 {
                srv.set("/busy.xml", Resource::feed(doc(round)));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let config = d.env.path("feedloom.toml");
    let dest = d.env.path("copy.db");
    let fetches_before = d.env.count("SELECT count(*) FROM fetches");
    let started = Instant::now();
    let mut copies = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let out = tokio::task::block_in_place(|| {
            feedloom(&config, &["backup", "--force", dest.to_str().unwrap()])
        });
        assert!(out.status.success(), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        assert!(said.contains("integrity check ok"), "{said}");
        copies += 1;
        // Each copy is a whole store: sound, at the current schema, every old item there.
        let copy = rusqlite::Connection::open(&dest).unwrap();
        let check: String = copy
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let old: i64 = copy
            .query_row("SELECT count(*) FROM items WHERE feed_id = 99", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(old, 20_000);
        // Items and their fetch record are in the copy together, or not at all.
        let orphans: i64 = copy
            .query_row(
                "SELECT count(*) FROM items i WHERE i.feed_id != 99 AND NOT EXISTS
                 (SELECT 1 FROM fetches f WHERE f.feed_id = i.feed_id AND f.items_new > 0
                  AND f.started_at <= i.first_seen_at)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0);
        drop(copy);
    }
    feeder.await.unwrap();
    assert!(copies >= 2, "{copies}");
    assert!(
        d.env.count("SELECT count(*) FROM fetches") > fetches_before + 1,
        "the daemon kept fetching and writing during the backups"
    );
    // The copy opens as a store, and feedloom reads it.
    let store = feedloom::store::Store::open(&dest).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        feedloom::store::MIGRATIONS.len() as u32
    );
    drop(store);
    // No temporary file is left beside it.
    let leftovers: Vec<String> = std::fs::read_dir(d.env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    d.stop().await;
}

#[test]
fn an_existing_file_is_kept_without_force() {
    let env = TestEnv::new();
    let cfg = env.config("[[feed]]\nurl = \"https://a.example/f\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    let config = env.path("feedloom.toml");
    let dest = env.path("precious.db");
    std::fs::write(&dest, "not a backup").unwrap();
    let out = feedloom(&config, &["backup", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("precious.db already exists; pass --force to replace it"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "not a backup");
    let out = feedloom(&config, &["backup", "--force", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(feedloom::store::Store::open_read_only(&dest).is_ok());
    // A folder that does not exist, and a store that does not.
    let out = feedloom(
        &config,
        &["backup", env.path("no/such/dir/x.db").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("its folder does not exist"),
        "{}",
        text(&out.stderr)
    );
    // The store itself, its neighbours, another name for it, a link, a
    // device: refused even with --force (the copy renamed over the live store
    // lost what the daemon wrote after it; over its lock, let two writers in;
    // over /dev/null, made it a plain file).
    let store = cfg.store.path.clone();
    let folder = store.parent().unwrap().to_path_buf();
    let name = store.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::write(folder.join(format!("{name}-wal")), "").unwrap();
    let link = env.path("link.db");
    std::os::unix::fs::symlink(&store, &link).unwrap();
    let dangling = env.path("dangling.db");
    std::os::unix::fs::symlink(env.path("nowhere/x.db"), &dangling).unwrap();
    let before = std::fs::read(&store).unwrap();
    let dotted = folder.join(".").join(&name);
    let targets = [
        store.clone(),
        dotted,
        folder.join(format!("{name}-wal")),
        folder.join(format!("{name}-shm")),
        folder.join(format!("{name}.lock")),
        link.clone(),
        dangling.clone(),
        std::path::PathBuf::from("/dev/null"),
    ];
    for t in &targets {
        // Without --force too: "pass --force", then refused with it.
        let out = feedloom(&config, &["backup", t.to_str().unwrap()]);
        assert!(
            !text(&out.stderr).contains("--force"),
            "{}: {}",
            t.display(),
            text(&out.stderr)
        );
        let out = feedloom(&config, &["backup", "--force", t.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            t.display(),
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("cannot back up to"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(std::fs::read(&store).unwrap(), before);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
    assert!(!folder.join(format!("{name}-shm")).exists());
    assert!(!folder.join(format!("{name}.lock")).exists());

    std::fs::remove_file(&cfg.store.path).unwrap();
    let out = feedloom(&config, &["backup", env.path("y.db").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!env.path("y.db").exists());
    // A store that is not SQLite is named, not the copy's temporary file.
    std::fs::write(&cfg.store.path, "not a database, not at all").unwrap();
    let out = feedloom(&config, &["backup", env.path("y.db").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stderr);
    assert!(
        said.contains("cannot read the store ")
            && said.contains("feedloom.db: file is not a database")
            && !said.contains(".y.db."),
        "{said}"
    );
    assert!(!env.path("y.db").exists());
}

/// `--force` over an old backup that a killed process left a `-wal` beside
/// (a restore tried under a daemon, say): the new copy is what is read, not
/// the old `-wal` replayed onto it. And over the store of a feedloom running
/// now: refused, naming it (what it wrote after would be lost).
#[test]
fn force_replaces_an_old_copy_whole_and_never_a_running_store() {
    let env = TestEnv::new();
    let cfg = env.config("[[feed]]\nurl = \"https://a.example/f\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    let config = env.path("feedloom.toml");
    let dest = env.path("nightly.db");
    {
        let old = rusqlite::Connection::open(&dest).unwrap();
        old.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        old.execute_batch(
            "PRAGMA wal_autocheckpoint = 0; CREATE TABLE stale (x); INSERT INTO stale VALUES (1);",
        )
        .unwrap();
        // Killed: never closed, so the -wal stays.
        std::mem::forget(old);
    }
    let wal = env.path("nightly.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    let out = feedloom(&config, &["backup", "--force", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copy = rusqlite::Connection::open(&dest).unwrap();
    let tables: Vec<String> = copy
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.iter().any(|t| t == "items"), "{tables:?}");
    assert!(!tables.iter().any(|t| t == "stale"), "{tables:?}");
    drop(copy);

    let other = env.path("other.db");
    drop(feedloom::store::Store::open(&other).unwrap());
    let _lock = feedloom::store::lock::StoreLock::acquire(&other, "run").unwrap();
    let before = std::fs::read(&other).unwrap();
    let out = feedloom(&config, &["backup", "--force", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "is the store of feedloom run (pid {}), which is running",
            std::process::id()
        )),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&other).unwrap(), before);

    // Nor the config file (it became a database).
    let config_before = std::fs::read(&config).unwrap();
    let out = feedloom(&config, &["backup", "--force", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is the config file itself"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&config).unwrap(), config_before);
}

/// `restore FILE` puts a backup in the store's place: a killed daemon's
/// `-wal` beside the store is not replayed onto it (copied over by hand, the
/// store came out malformed), the store it replaces is kept beside it, and
/// polling goes on from the backup. Refused while the daemon runs, and for
/// what is no backup.
#[test]
fn restore_replaces_the_store_and_keeps_the_old_one() {
    let env = TestEnv::new();
    std::fs::write(env.path("busy.xml"), doc(0)).unwrap();
    let cfg = env.config("[[feed]]\nurl = \"file:busy.xml\"\n");
    let config = env.path("feedloom.toml");
    let out = feedloom(&config, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let backup = env.path("b.db");
    let out = feedloom(&config, &["backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(env.path("busy.xml"), doc(1)).unwrap();
    assert!(feedloom(&config, &["poll"]).status.success());
    assert_eq!(env.count("SELECT count(*) FROM items"), 40);
    // A daemon killed with commits in its -wal.
    {
        let live = rusqlite::Connection::open(&cfg.store.path).unwrap();
        live.execute_batch(
            "PRAGMA wal_autocheckpoint = 0; UPDATE feeds SET title = 'late' WHERE 1; DELETE FROM items WHERE guid LIKE 'r0-%';",
        )
        .unwrap();
        std::mem::forget(live);
    }
    assert!(env.path("feedloom.db-wal").exists());

    // What a restore killed while it copied left: its copy and the copy's
    // temporary files (cleared by the next restore).
    std::fs::write(env.path(".feedloom.db.restore"), "half a copy").unwrap();
    std::fs::write(env.path("..feedloom.db.restore.999999999.tmp"), "half").unwrap();
    let out = feedloom(&config, &["restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!env.path("..feedloom.db.restore.999999999.tmp").exists());
    let said = text(&out.stdout);
    assert!(
        said.contains("20 items") && said.contains("kept as"),
        "{said}"
    );
    assert!(
        !env.path("feedloom.db-wal").exists() || {
            std::fs::metadata(env.path("feedloom.db-wal"))
                .unwrap()
                .len()
                == 0
        }
    );
    let store = rusqlite::Connection::open(&cfg.store.path).unwrap();
    let check: String = store
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (items, late): (i64, i64) = store
        .query_row(
            "SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM feeds WHERE title = 'late')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((items, late), (20, 0));
    drop(store);
    // The store it replaced, its last commits in it.
    let aside = std::fs::read_dir(env.path("."))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("feedloom.db.before-restore-"))
        .expect("the replaced store is kept");
    let old = rusqlite::Connection::open(&aside).unwrap();
    let (items, late): (i64, i64) = old
        .query_row(
            "SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM feeds WHERE title = 'late')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (items, late),
        (20, 1),
        "the killed daemon's commits are in it"
    );
    drop(old);
    // Restored again at once: the store it replaces is kept under a name of
    // its own (the first one kept was replaced by it), and no copy is left.
    let out = feedloom(&config, &["restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kept: Vec<_> = std::fs::read_dir(env.path("."))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("feedloom.db.before-restore-") && !n.ends_with("-wal"))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let leftovers: Vec<_> = std::fs::read_dir(env.path("."))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".feedloom.db.restore") || n.starts_with("..feedloom.db.restore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Polling goes on from the backup, and clears what a killed restore
    // left (a full-size copy that only another restore removed).
    std::fs::write(env.path(".feedloom.db.restore"), "half a copy").unwrap();
    std::fs::write(env.path("..feedloom.db.restore.999999999.tmp"), "half").unwrap();
    let out = feedloom(&config, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("20 new"),
        "{}",
        text(&out.stdout)
    );
    assert!(!env.path(".feedloom.db.restore").exists());
    assert!(!env.path("..feedloom.db.restore.999999999.tmp").exists());
    // A store of that name that feedloom opened (its lock file beside it)
    // is another daemon's, and stays.
    std::fs::write(env.path(".feedloom.db.restore"), "a store").unwrap();
    std::fs::write(env.path(".feedloom.db.restore.lock"), "").unwrap();
    assert!(feedloom(&config, &["poll"]).status.success());
    assert!(env.path(".feedloom.db.restore").exists());

    // Not while the daemon runs; not the store itself; not a file that is
    // no store; the store unchanged each time.
    let before = std::fs::read(&cfg.store.path).unwrap();
    {
        let _lock = feedloom::store::lock::StoreLock::acquire(&cfg.store.path, "run").unwrap();
        let out = feedloom(&config, &["restore", backup.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("in use by feedloom run"),
            "{}",
            text(&out.stderr)
        );
    }
    std::fs::write(env.path("notes.txt"), "not a store").unwrap();
    // A copy made with `sqlite3 .dump` (feedloom's tables, no version).
    std::fs::copy(&backup, env.path("dumped.db")).unwrap();
    rusqlite::Connection::open(env.path("dumped.db"))
        .unwrap()
        .pragma_update(None, "user_version", 0)
        .unwrap();
    // Another program's database with tables named `feeds` and `items`, a
    // version stamped on it (as the message about a dump told): it was
    // restored over the store.
    let other = rusqlite::Connection::open(env.path("other.db")).unwrap();
    other
        .execute_batch(
            "CREATE TABLE feeds (id INTEGER PRIMARY KEY, url TEXT);
             CREATE TABLE items (id INTEGER PRIMARY KEY, feed_id INTEGER);
             PRAGMA user_version = 13;",
        )
        .unwrap();
    drop(other);
    for (file, why) in [
        (env.path("dumped.db"), "no schema version"),
        (
            env.path("other.db"),
            "it is not a feedloom store (it lacks `feeds.enabled`, `feeds.etag`, `feeds.next_fetch_at`, `items.key` and 5 more)",
        ),
        (cfg.store.path.clone(), "is the store itself"),
        (env.path("notes.txt"), "cannot restore"),
        (env.path("missing.db"), "no such file"),
        (env.path("."), "not a plain file"),
    ] {
        let out = feedloom(&config, &["restore", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(why),
            "{why}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(std::fs::read(&cfg.store.path).unwrap(), before);
}

/// A store that is a symbolic link (to a file on another disk) is restored
/// into the file the link names; the link stays (it was replaced by the
/// restored file, and the store moved off that disk).
#[test]
fn restore_through_a_link_keeps_the_link() {
    let env = TestEnv::new();
    std::fs::write(env.path("busy.xml"), doc(0)).unwrap();
    std::fs::create_dir(env.path("data")).unwrap();
    std::os::unix::fs::symlink("data/real.db", env.path("feedloom.db")).unwrap();
    env.config("[[feed]]\nurl = \"file:busy.xml\"\n");
    let config = env.path("feedloom.toml");
    assert!(feedloom(&config, &["poll"]).status.success());
    let backup = env.path("b.db");
    let out = feedloom(&config, &["backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(env.path("busy.xml"), doc(1)).unwrap();
    assert!(feedloom(&config, &["poll"]).status.success());
    let out = feedloom(&config, &["restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = std::fs::symlink_metadata(env.path("feedloom.db")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    let real = rusqlite::Connection::open(env.path("data/real.db")).unwrap();
    let items: i64 = real
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 20, "the restored store is where the link points");
    // A restore killed after it gave the store behind the link its second
    // name (beside the real file): the next writer through the link takes
    // it back (it looked beside the link, and every writer kept refusing).
    drop(real);
    let kept = env.path("data/real.db.before-restore-1700000000");
    std::fs::hard_link(env.path("data/real.db"), &kept).unwrap();
    let out = feedloom(&config, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!kept.exists());
    // The full-size copy a restore killed while copying left beside the
    // real file is removed by the next writer through the link.
    let copy = env.path("data/.real.db.restore");
    std::fs::copy(&backup, &copy).unwrap();
    let out = feedloom(&config, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!copy.exists(), "the killed restore's copy stayed");
}

/// A folder nothing can be written in is named, with why (SQLite's
/// "unable to open database: ./.b.db.PID.tmp" named a temporary file).
#[test]
fn a_folder_that_cannot_be_written_is_named() {
    let env = TestEnv::new();
    let cfg = env.config("[[feed]]\nurl = \"https://a.example/f\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    let config = env.path("feedloom.toml");
    // (Not even root writes in /proc.)
    let out = feedloom(&config, &["backup", "/proc/self/b.db"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("cannot back up to /proc/self/b.db: cannot write in its folder /proc/self:"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains(".tmp"), "{}", text(&out.stderr));
    // A file there to replace (`--force`): the same words (it said "cannot
    // open store /proc/self/status: cannot lock it", as if a store).
    let out = feedloom(&config, &["backup", "--force", "/proc/self/status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "cannot back up to /proc/self/status: cannot write in its folder /proc/self:"
        ),
        "{}",
        text(&out.stderr)
    );
}

/// The restored store has the replaced one's mode and owner: run as root, a
/// restore left a `root 0644` store that the daemon's user could not write
/// (and that anyone could read).
#[test]
fn restore_keeps_the_stores_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = TestEnv::new();
    std::fs::write(env.path("busy.xml"), doc(0)).unwrap();
    let cfg = env.config("[[feed]]\nurl = \"file:busy.xml\"\n");
    let config = env.path("feedloom.toml");
    assert!(feedloom(&config, &["poll"]).status.success());
    let backup = env.path("b.db");
    assert!(
        feedloom(&config, &["backup", backup.to_str().unwrap()])
            .status
            .success()
    );
    std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&cfg.store.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    // As root, the store belongs to another user first (the service's).
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&cfg.store.path, Some(65534), Some(65534)).unwrap();
    }
    let out = feedloom(&config, &["restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = std::fs::metadata(&cfg.store.path).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o600);
    if root {
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
    }
}

/// A `restore` killed (or failed on a full disk) after it gave the store a
/// second name (`STORE.before-restore-TIME`) and before it replaced it: the
/// next writer takes that name back, the commits its `-wal` copy holds go
/// back beside the store, and it runs (every writer refused a store "of 2
/// names", `restore` too, and systemd restarted the daemon in a loop).
#[test]
fn a_second_name_left_by_a_killed_restore_is_taken_back() {
    let env = TestEnv::new();
    std::fs::write(env.path("busy.xml"), doc(0)).unwrap();
    let cfg = env.config("[[feed]]\nurl = \"file:busy.xml\"\n");
    let config = env.path("feedloom.toml");
    assert!(feedloom(&config, &["poll"]).status.success());
    // Killed after the second name and the copy of the -wal, and after the
    // store's own -wal went.
    {
        let live = rusqlite::Connection::open(&cfg.store.path).unwrap();
        live.execute_batch(
            "PRAGMA wal_autocheckpoint = 0; UPDATE items SET author = 'late' WHERE id = 1;",
        )
        .unwrap();
        // Closed as a killed process leaves it: its commit only in the
        // -wal. (Not kept open: this process's later connections would
        // share its mapping of the -shm that is then removed, a stale
        // index no other process sees.)
        live.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .unwrap();
        drop(live);
    }
    let kept = env.path("feedloom.db.before-restore-1700000000");
    std::fs::hard_link(&cfg.store.path, &kept).unwrap();
    std::fs::rename(
        env.path("feedloom.db-wal"),
        env.path("feedloom.db.before-restore-1700000000-wal"),
    )
    .unwrap();
    let _ = std::fs::remove_file(env.path("feedloom.db-shm"));
    // Another file of that name pattern that is not the store stays.
    let other = env.path("feedloom.db.before-restore-1600000000");
    std::fs::write(&other, "an older store").unwrap();
    let out = feedloom(&config, &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!kept.exists());
    assert!(
        !env.path("feedloom.db.before-restore-1700000000-wal")
            .exists()
    );
    assert!(other.exists());
    assert_eq!(env.count("SELECT count(*) FROM items"), 20);
    assert_eq!(
        env.count("SELECT count(*) FROM items WHERE author = 'late'"),
        1,
        "the -wal's commit came back"
    );
    // `restore` itself takes such a name back too.
    let backup = env.path("b.db");
    assert!(
        feedloom(&config, &["backup", backup.to_str().unwrap()])
            .status
            .success()
    );
    std::fs::hard_link(&cfg.store.path, &kept).unwrap();
    let out = feedloom(&config, &["restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `backup --force` never replaces a file the config reads a secret from, a
/// `file:` feed's document or a published output (each was replaced by a
/// database; then every command failed on the token).
#[test]
fn backup_never_replaces_a_secret_a_feeds_document_or_an_output() {
    let env = TestEnv::new();
    std::fs::write(env.path("feed.token"), "s3cret\n").unwrap();
    std::fs::write(env.path("news.rss"), "<rss/>").unwrap();
    std::fs::create_dir(env.path("out")).unwrap();
    std::fs::write(env.path("out/all.atom"), "<feed/>").unwrap();
    let cfg = env.config(
        "[[feed]]\nurl = \"https://a.example/f\"\nauth = { bearer = { file = \"feed.token\" } }\n\n\
         [[feed]]\nurl = \"file:news.rss\"\n\n[[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\"]\n",
    );
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    let config = env.path("feedloom.toml");
    for (file, said, kept) in [
        ("feed.token", "is the secret file of", "s3cret\n"),
        ("news.rss", "is the document of feed", "<rss/>"),
        (
            "out/all.atom",
            "is the atom file of output `all`",
            "<feed/>",
        ),
    ] {
        let dest = env.path(file);
        let out = feedloom(&config, &["backup", "--force", dest.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(said), "{}", text(&out.stderr));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), kept);
    }
}

/// `backup --force` never replaces the `-wal`, `-shm`, `-journal` or lock
/// file of another store (another config's daemon): onto its `-wal`, a
/// crash after lost that whole store; onto its lock, a second writer ran
/// beside its daemon. A file merely named so, beside no file, is a backup.
#[test]
fn backup_never_replaces_another_stores_side_files() {
    let env = TestEnv::new();
    let cfg = env.config("[[feed]]\nurl = \"https://a.example/f\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    let config = env.path("feedloom.toml");
    std::fs::create_dir(env.path("other")).unwrap();
    std::fs::write(env.path("other/b.db"), "").unwrap();
    for end in ["-wal", "-shm", "-journal", ".lock"] {
        let dest = env.path(&format!("other/b.db{end}"));
        std::fs::write(&dest, "kept").unwrap();
        let out = feedloom(&config, &["backup", "--force", dest.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{end}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("a file SQLite or feedloom keeps beside a store"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "kept");
    }
    let dest = env.path("nightly-wal");
    let out = feedloom(&config, &["backup", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `backup -` is refused (exit 2): `-` is standard output everywhere, and a
/// file named `-` was written beside the user while `backup - | gzip`
/// compressed only the message.
#[test]
fn backup_to_standard_output_is_refused() {
    let env = TestEnv::new();
    let cfg = env.config("[[feed]]\nurl = \"https://a.example/f\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .current_dir(env.path(""))
        .args(["--config", "feedloom.toml", "backup", "-"])
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not standard output"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
    assert!(!env.path("-").exists());
}

/// A backup file this user may not read is said so (SQLite said "unable to
/// open database file: file:///…?immutable=1", an address nobody wrote).
/// Run as root only: the command runs as `nobody`.
#[test]
fn a_backup_that_cannot_be_read_is_said_so() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let env = TestEnv::new();
    std::fs::set_permissions(env.path(""), std::fs::Permissions::from_mode(0o755)).unwrap();
    let _cfg = env.config("[[feed]]\nurl = \"https://a.example/f\"\n");
    let config = env.path("feedloom.toml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let backup = env.path("b.db");
    drop(feedloom::store::Store::open(&backup).unwrap());
    std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "restore",
            backup.to_str().unwrap(),
        ])
        .env("FEEDLOOM_LOG", "warn")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(!err.contains("immutable"), "{err}");
}

/// A `[store] path` naming another program's SQLite database (a typo): as
/// every other command, `backup` says so (it said "no such table: items")
/// and `restore` refuses to replace it (it did, keeping it aside under
/// another name while that program wrote on). And a backup with a damaged
/// page is said to be damaged, the store untouched (it said "copying the
/// store to …: database disk image is malformed").
#[test]
fn another_programs_database_and_a_damaged_backup_are_named() {
    let env = TestEnv::new();
    std::fs::write(env.path("busy.xml"), doc(0)).unwrap();
    let _cfg = env.config("[[feed]]\nurl = \"file:busy.xml\"\n");
    let config = env.path("feedloom.toml");
    assert!(feedloom(&config, &["poll"]).status.success());
    let backup = env.path("b.db");
    let out = feedloom(&config, &["backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let other = env.path("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let before = std::fs::read(&other).unwrap();
    let other_cfg = env.path("other.toml");
    std::fs::write(
        &other_cfg,
        "[store]\npath = \"other.db\"\n\n[[feed]]\nurl = \"file:busy.xml\"\n",
    )
    .unwrap();
    let x = env.path("x.db");
    for args in [
        ["backup", x.to_str().unwrap()],
        ["restore", backup.to_str().unwrap()],
    ] {
        let out = feedloom(&other_cfg, &args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains("another program's SQLite database (tables t)"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(std::fs::read(&other).unwrap(), before, "left as it was");
    assert!(!x.exists());
    let aside = std::fs::read_dir(env.path(""))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains("before-restore"));
    assert!(!aside, "nothing set aside");

    let damaged = env.path("damaged.db");
    let mut bytes = std::fs::read(&backup).unwrap();
    let page = 8192;
    assert!(bytes.len() > 6 * page);
    for b in &mut bytes[4 * page..5 * page] {
        *b = 0xff;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let store_before = std::fs::read(env.path("feedloom.db")).unwrap();
    let out = feedloom(&config, &["restore", damaged.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the backup is damaged"), "{err}");
    assert_eq!(
        std::fs::read(env.path("feedloom.db")).unwrap(),
        store_before
    );
}
