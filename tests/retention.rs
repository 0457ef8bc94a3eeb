//! Retention: `[store] keep` prunes items first seen before the window (with
//! their stories, bands and search rows), `keep_fetch_log` the fetch log; a
//! pruned item its feed still carries never comes back as new (tombstones);
//! `prune --dry-run` reads only; space returns to the file system; the daemon
//! prunes by itself.

mod common;
#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::process::Command;

use common::*;
use feedloom::refresh::poll;

const DAY: i64 = 86_400;

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

fn items(prefix: &str, n: usize) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i}"),
                format!("https://{prefix}.example/{i}"),
                format!("Story {prefix} number {i} about harbours and lighthouses"),
            )
        })
        .collect()
}

fn doc(items: &[(String, String, String)]) -> String {
    let v: Vec<(Option<&str>, Option<&str>, &str, &str)> = items
        .iter()
        .map(|(g, l, t)| {
            (
                Some(g.as_str()),
                Some(l.as_str()),
                t.as_str(),
                "Harbour news: the lighthouse keeper reports calm seas and twelve ships in port today.",
            )
        })
        .collect();
    rss("F", &v)
}

/// Makes the items whose guid is in `guids` look first seen `days` ago (their
/// stories too), and adds fetch-log rows `log_days` old.
fn age(env: &TestEnv, guids: &[&str], days: i64, log_days: i64, log_rows: usize) {
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    let now = feedloom::now_unix();
    for g in guids {
        conn.execute(
            "UPDATE items SET first_seen_at = ?2, changed_at = ?2 WHERE guid = ?1",
            rusqlite::params![g, now - days * DAY],
        )
        .unwrap();
    }
    conn.execute_batch(
        "UPDATE stories SET first_seen_at = (SELECT min(first_seen_at) FROM items i WHERE i.story_id = stories.id),
                            changed_at = (SELECT min(first_seen_at) FROM items i WHERE i.story_id = stories.id);",
    )
    .unwrap();
    for _ in 0..log_rows {
        conn.execute(
            "INSERT INTO fetches (feed_id, started_at, duration_ms, outcome) VALUES (1, ?1, 5, 'ok')",
            [now - log_days * DAY],
        )
        .unwrap();
    }
}

/// `n` items of one feed (`https://a.example/f`), each its own story, first
/// seen in 1970 (older than any `keep`), written straight into the store;
/// `item(i)` gives the `i`th one's title and content.
fn old_items(env: &TestEnv, n: i64, item: impl Fn(i64) -> (String, String)) {
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    conn.execute_batch(
        "BEGIN; INSERT INTO feeds (id, url, created_at) VALUES (1, 'https://a.example/f', 0);",
    )
    .unwrap();
    for i in 1..=n {
        let (title, content) = item(i);
        conn.execute(
            "INSERT INTO stories (id, uid, first_seen_at, changed_at) VALUES (?1, ?2, 1000, 1000)",
            rusqlite::params![i, format!("u{i}")],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO items (id, feed_id, key, key_kind, uid, title, content, content_hash,
                 first_seen_at, last_seen_at, changed_at, story_id)
             VALUES (?1, 1, ?2, 'guid', ?3, ?4, ?5, 'h', 1000, 1000, 1000, ?1)",
            rusqlite::params![i, format!("k{i}"), format!("u{i}"), title, content],
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

/// A pruning stopped after its removals (killed): its steps, without the
/// merge of the search index or the return of the free pages.
fn interrupted_prune(
    env: &TestEnv,
    cfg: &feedloom::config::Config,
) -> feedloom::store::prune::Pruned {
    feedloom::store::Store::open(&env.path("feedloom.db"))
        .unwrap()
        .prune_all(
            feedloom::now_unix(),
            &feedloom::commands::prune::retention(cfg),
        )
        .unwrap()
}

/// The store's free pages.
fn free_pages(env: &TestEnv) -> i64 {
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap()
}

/// What `prune --dry-run` prints.
fn dry_run(env: &TestEnv) -> String {
    text(&feedloom(&env.path("feedloom.toml"), &["prune", "--dry-run"]).stdout)
}

/// Moves every time in the store three days back, as if each poll since
/// the first had been answered 304 (which moves no `last_seen_at`).
fn three_days_of_304(env: &TestEnv) {
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    conn.execute_batch(&format!(
        "UPDATE items SET first_seen_at = first_seen_at - {d}, last_seen_at = last_seen_at - {d},
                          changed_at = changed_at - {d};
         UPDATE stories SET first_seen_at = first_seen_at - {d}, changed_at = changed_at - {d};
         UPDATE feeds SET body_stored_at = body_stored_at - {d};",
        d = 3 * DAY
    ))
    .unwrap();
}

fn files(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                m.len(),
                m.modified().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_items_go_with_their_rows_and_do_not_come_back() {
    let srv = FeedServer::start().await;
    let a = items("a", 6);
    srv.set("/a.xml", Resource::feed(doc(&a)).no_etag());
    // Feed b carries a's story 0 (same link) too, seen recently.
    let b = vec![(
        "b0".to_string(),
        "https://a.example/0".to_string(),
        "Story a number 0 (as b tells it)".to_string(),
    )];
    srv.set("/b.xml", Resource::feed(doc(&b)).no_etag());
    let env = TestEnv::new();
    // (TestEnv::config opens the body inside `[store]`.)
    let cfg = env.config(&format!(
        "keep = \"180d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml"), srv.url("/b.xml")])
    ));
    let config_path = env.path("feedloom.toml");
    poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(env.count("SELECT count(*) FROM items"), 7);
    assert_eq!(env.count("SELECT count(*) FROM stories"), 6);
    // Items a0..a2 were first seen 200 days ago (and are still in the feed);
    // 50 fetch-log rows are 40 days old.
    age(&env, &["a0", "a1", "a2"], 200, 40, 50);
    let near_before = env.count("SELECT count(*) FROM near_items");
    assert!(near_before > 0);

    // Dry run: says what would go, changes nothing. (A writer's last close
    // removes the -wal and -shm files that the readers above left.)
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    conn.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))
        .unwrap();
    drop(conn);
    let before = files(env.dir.path());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = feedloom(&config_path, &["prune", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains(
            "would remove 3 items, 2 stories, 50 fetch-log rows; tombstones: 3 to add, 0 to drop"
        ),
        "{said}"
    );
    assert!(said.contains("(180d ago, `[store] keep`)"), "{said}");
    assert_eq!(files(env.dir.path()), before, "a dry run writes nothing");

    let out = feedloom(&config_path, &["prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(
            "removed 3 items, 2 stories, 50 fetch-log rows; tombstones: 3 added, 0 dropped"
        ),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("merged the search index"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(env.count("SELECT count(*) FROM items"), 4);
    assert_eq!(env.count("SELECT count(*) FROM item_tombstones"), 3);
    // The index is sound and holds the remaining items only.
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    conn.execute(
        "INSERT INTO search (search, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .unwrap();
    drop(conn);
    assert_eq!(env.count("SELECT count(*) FROM search"), 4);
    // a0's story lives on through b's item, now its only one.
    assert_eq!(env.count("SELECT count(*) FROM stories"), 4);
    assert_eq!(
        env.count(
            "SELECT item_count FROM stories s JOIN items i ON i.story_id = s.id WHERE i.guid = 'b0'"
        ),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.story_id = s.id)"),
        0,
        "no story without items"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM near_items n WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.id = n.item_id)"),
        0,
        "no near-duplicate row without its item"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM fetches WHERE started_at < unixepoch() - 30 * 86400"),
        0
    );
    // Search no longer finds them (its rows went with them).
    let out = feedloom(
        &config_path,
        &["search", "--json", "--limit", "100", "harbour"],
    );
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let titles: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert!(
        !titles
            .iter()
            .any(|t| t.contains("number 1 ") || t.contains("number 2 ")),
        "{titles:?}"
    );

    // The feed still carries a0..a2: the next poll stores nothing new.
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(summary.new, 0, "{summary}");
    assert_eq!(env.count("SELECT count(*) FROM items"), 4);
    assert_eq!(
        env.count("SELECT count(*) FROM item_tombstones WHERE last_seen_at >= unixepoch() - 60"),
        3,
        "seen again: kept for another window"
    );
    // A second prune has nothing left to do.
    let out = feedloom(&config_path, &["prune"]);
    assert!(
        text(&out.stdout).contains(
            "removed 0 items, 0 stories, 0 fetch-log rows; tombstones: 0 added, 0 dropped"
        ),
        "{}",
        text(&out.stdout)
    );

    // The feed drops them; once it has not carried them for `keep`, their
    // tombstones go too.
    srv.set("/a.xml", Resource::feed(doc(&a[3..])).no_etag());
    poll(&cfg, env.open_store()).await.unwrap();
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    conn.execute(
        "UPDATE item_tombstones SET last_seen_at = unixepoch() - 181 * 86400",
        [],
    )
    .unwrap();
    drop(conn);
    let out = feedloom(&config_path, &["prune"]);
    assert!(
        text(&out.stdout).contains("tombstones: 0 added, 3 dropped"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(env.count("SELECT count(*) FROM item_tombstones"), 0);
}

/// A feed that has answered 304 for longer than `keep` still carries what its
/// last document held: its pruned items leave tombstones (a 304 moves no
/// `last_seen_at`), and when it finally sends a new entry, only that one is
/// new. Before, all the old entries came back at the top of the outputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_of_a_feed_unchanged_for_longer_than_keep_do_not_come_back() {
    let srv = FeedServer::start().await;
    let a = items("q", 3);
    srv.set("/a.xml", Resource::feed(doc(&a)));
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml")])
    ));
    let config_path = env.path("feedloom.toml");
    poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(env.count("SELECT count(*) FROM items"), 3);
    // Three days pass; every poll since the first was answered 304.
    three_days_of_304(&env);
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(summary.not_modified, 1, "{summary}");

    let out = feedloom(&config_path, &["prune", "--dry-run"]);
    assert!(
        text(&out.stdout).contains(
            "would remove 3 items, 3 stories, 0 fetch-log rows; tombstones: 3 to add, 0 to drop"
        ),
        "{}",
        text(&out.stdout)
    );
    let out = feedloom(&config_path, &["prune"]);
    assert!(
        text(&out.stdout).contains(
            "removed 3 items, 3 stories, 0 fetch-log rows; tombstones: 3 added, 0 dropped"
        ),
        "{}",
        text(&out.stdout)
    );
    // A later prune keeps them: the feed has not said otherwise.
    let out = feedloom(&config_path, &["prune"]);
    assert!(
        text(&out.stdout).contains("tombstones: 0 added, 0 dropped"),
        "{}",
        text(&out.stdout)
    );

    // The feed posts one more entry: one new item, not four.
    let mut more = items("q", 4);
    more.rotate_right(1);
    srv.set("/a.xml", Resource::feed(doc(&more)));
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(summary.new, 1, "{summary}");
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
    assert_eq!(
        env.count("SELECT count(*) FROM item_tombstones WHERE last_seen_at >= unixepoch() - 60"),
        3,
        "seen again in the new document"
    );
}

/// An item the feed drops after answering 304 for days counts as carried
/// until it dropped, not until the last 200 that held it: pruned the next
/// moment without a tombstone, it came back as a new story when the feed
/// carried it again (a post unpublished, a CDN serving an older copy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_dropped_after_days_of_304_is_kept_for_keep_after_the_drop() {
    let srv = FeedServer::start().await;
    let a = items("d", 3);
    srv.set("/a.xml", Resource::feed(doc(&a)));
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}\n[[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"rss\"]\n",
        feeds_toml(&[srv.url("/a.xml")])
    ));
    let config_path = env.path("feedloom.toml");
    poll(&cfg, env.open_store()).await.unwrap();
    // Three days of 304s.
    three_days_of_304(&env);
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(summary.not_modified, 1, "{summary}");
    // A new post pushes the oldest out.
    let mut next = items("d", 4);
    next.rotate_right(1);
    next.truncate(3);
    srv.set("/a.xml", Resource::feed(doc(&next)));
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(summary.new, 1, "{summary}");
    let rss = std::fs::read_to_string(env.path("out/all.rss")).unwrap();
    assert!(rss.contains("Story d number 0"), "{rss}");
    let out = feedloom(&config_path, &["prune"]);
    assert!(
        text(&out.stdout)
            .contains("removed 3 items, 3 stories, 0 fetch-log rows; tombstones: 3 added"),
        "{}",
        text(&out.stdout)
    );
    // The output files list what is left (pruned stories stayed in them
    // until the next poll).
    assert!(
        text(&out.stdout).contains("wrote the output files again (1 of 1"),
        "{}",
        text(&out.stdout)
    );
    let rss = std::fs::read_to_string(env.path("out/all.rss")).unwrap();
    assert!(!rss.contains("Story d number 0"), "{rss}");
    assert!(rss.contains("Story d number 3"), "{rss}");
    // The post is unpublished: the feed is as it was.
    srv.set("/a.xml", Resource::feed(doc(&a)));
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(summary.new, 0, "{summary}");
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
}

/// A `prune` stopped after its deletes committed and before it wrote the
/// output files (SIGKILL, a power cut): run again, it removes nothing more
/// and still writes them, so they stop listing the pruned stories. Before, a
/// re-run left them as they were until the next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_run_again_after_an_interrupted_one_writes_the_outputs() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(doc(&items("p", 3))).no_etag());
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}\n[[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"rss\"]\n",
        feeds_toml(&[srv.url("/a.xml")])
    ));
    poll(&cfg, env.open_store()).await.unwrap();
    // The feed no longer carries it.
    srv.set("/a.xml", Resource::feed(doc(&items("p", 3)[1..])).no_etag());
    poll(&cfg, env.open_store()).await.unwrap();
    // ... for ten days now.
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute(
            "UPDATE items SET first_seen_at = first_seen_at - ?1, last_seen_at = last_seen_at - ?1, changed_at = changed_at - ?1 WHERE guid = 'p0'",
            [10 * DAY],
        )
        .unwrap();
    age(&env, &["p0"], 10, 0, 0);
    let rss = std::fs::read_to_string(env.path("out/all.rss")).unwrap();
    assert!(rss.contains("Story p number 0"), "{rss}");
    // The interrupted prune: its deletes went through, nothing else.
    let pruned = interrupted_prune(&env, &cfg);
    assert_eq!(pruned.items, 1);
    // (Its search index's merge is owed: a merge that failed, a full disk,
    // was never taken up again by a prune that removed nothing.)
    let owed = "SELECT count(*) FROM store_tasks WHERE task = 'search_merge'";
    assert_eq!(env.count(owed), 1);
    let out = feedloom(&env.path("feedloom.toml"), &["prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("removed 0 items")
            && text(&out.stdout).contains("wrote the output files again (1 of 1")
            && text(&out.stdout).contains("merged the search index"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(env.count(owed), 0);
    let rss = std::fs::read_to_string(env.path("out/all.rss")).unwrap();
    assert!(!rss.contains("Story p number 0"), "{rss}");
    assert!(rss.contains("Story p number 1"), "{rss}");
}

/// A merge of the search index an earlier pruning left owed (a full disk)
/// is finished by the next round of a `poll` too, though it removes nothing
/// (only a `prune` by hand took it up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polls_pruning_round_finishes_an_owed_merge() {
    let env = TestEnv::new();
    let cfg = env.config("keep = \"30d\"\n\n[[feed]]\nurl = \"file:none.xml\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    old_items(&env, 50, |i| (format!("Old {i}"), "x".to_string()));
    let pruned = interrupted_prune(&env, &cfg);
    assert_eq!(pruned.items, 50);
    let owed = "SELECT count(*) FROM store_tasks WHERE task = 'search_merge'";
    assert_eq!(env.count(owed), 1);
    // `prune --dry-run` says so, and writes nothing.
    let out = feedloom(&env.path("feedloom.toml"), &["prune", "--dry-run"]);
    assert!(
        text(&out.stdout)
            .contains("would merge the search index (an earlier pruning left it unfinished)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(env.count(owed), 1);
    let _ = feedloom(&env.path("feedloom.toml"), &["poll"]);
    assert_eq!(env.count(owed), 0, "the poll's round merged it");
}

/// Free pages a pruning left behind (it was killed before it returned them)
/// are returned by the next round, a `poll`'s, and `prune --dry-run` says
/// so: only `prune` by hand took them up, and a daemon's store stayed at 64
/// MB for 1 MB of items. Free pages no pruning left (the search index's
/// merges free some as items come and go) are used again, not returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_pages_a_pruning_left_are_returned_by_the_next_round() {
    let env = TestEnv::new();
    let cfg = env.config("keep = \"30d\"\n\n[[feed]]\nurl = \"file:none.xml\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    // Free pages of no pruning's: not owed.
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE scratch (b BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
             INSERT INTO scratch SELECT randomblob(10000) FROM n;
             DROP TABLE scratch;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    assert!(free_pages(&env) > 400, "{}", free_pages(&env));
    assert!(!dry_run(&env).contains("free pages"), "{}", dry_run(&env));
    let _ = feedloom(&env.path("feedloom.toml"), &["poll"]);
    assert!(
        free_pages(&env) > 400,
        "left for new items: {}",
        free_pages(&env)
    );
    // A pruning stopped after its removals, before it returned the space.
    let env = TestEnv::new();
    let cfg = env.config("keep = \"30d\"\n\n[[feed]]\nurl = \"file:none.xml\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    let big: String = "<p>".to_string() + &"lighthouse harbour keeper ".repeat(400) + "</p>";
    old_items(&env, 300, |_| ("t".to_string(), big.clone()));
    let pruned = interrupted_prune(&env, &cfg);
    assert_eq!(pruned.items, 300);
    let owed = "SELECT count(*) FROM store_tasks WHERE task = 'return_space'";
    assert_eq!(env.count(owed), 1);
    let before = free_pages(&env);
    assert!(
        dry_run(&env).contains(
            "MB of free pages to the file system (an earlier pruning was stopped before it returned them)"
        ),
        "{}",
        dry_run(&env)
    );
    assert_eq!(free_pages(&env), before, "the dry run wrote nothing");
    assert_eq!(env.count(owed), 1);
    let _ = feedloom(&env.path("feedloom.toml"), &["poll"]);
    assert_eq!(free_pages(&env), 0, "the poll's round returned them");
    assert_eq!(env.count(owed), 0);
}

/// `prune --dry-run` counts the stories the removals leave empty, as
/// `prune` removes them, whenever each story was first seen (one dated after
/// its items was not counted: "0 stories", then "removed … 1 stories").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_counts_every_story_the_removals_leave_empty() {
    let env = TestEnv::new();
    let cfg = env.config("keep = \"30d\"\n\n[[feed]]\nurl = \"file:none.xml\"\n");
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    old_items(&env, 4, |i| (format!("Old {i}"), "x".to_string()));
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute(
            "UPDATE stories SET first_seen_at = ?1 WHERE id <= 2",
            [feedloom::now_unix()],
        )
        .unwrap();
    let out = feedloom(&env.path("feedloom.toml"), &["prune", "--dry-run"]);
    assert!(
        text(&out.stdout).contains("would remove 4 items, 4 stories"),
        "{}",
        text(&out.stdout)
    );
    let out = feedloom(&env.path("feedloom.toml"), &["prune"]);
    assert!(
        text(&out.stdout).contains("removed 4 items, 4 stories"),
        "{}",
        text(&out.stdout)
    );
}

/// A story keeps the id of the item that started it after that item is pruned.
/// When the item comes back as new (its tombstone gone) and does not join that
/// story, it needs another id: before, its story's insert failed on the
/// taken id, and with it every later fetch of the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_back_after_pruning_does_not_take_its_old_story_id() {
    let srv = FeedServer::start().await;
    let a0 =
        |link: &str, title: &str, text: &str| rss("F", &[(Some("a0"), Some(link), title, text)]);
    srv.set(
        "/a.xml",
        Resource::feed(a0(
            "https://a.example/0",
            "Story a number 0 about harbours and lighthouses",
            "Harbour news: the lighthouse keeper reports calm seas and twelve ships in port today.",
        ))
        .no_etag(),
    );
    srv.set(
        "/b.xml",
        Resource::feed(doc(&[(
            "b0".to_string(),
            "https://a.example/0".to_string(),
            "Story a number 0 (as b tells it)".to_string(),
        )]))
        .no_etag(),
    );
    let env = TestEnv::new();
    let cfg_a = env.config(&format!(
        "keep = \"180d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml")])
    ));
    // a0 first, so it starts the story; then b0 joins it (the same link).
    poll(&cfg_a, env.open_store()).await.unwrap();
    let cfg = env.config(&format!(
        "keep = \"180d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml"), srv.url("/b.xml")])
    ));
    let config_path = env.path("feedloom.toml");
    poll(&cfg, env.open_store()).await.unwrap();
    let uid_of = |sql: &str| -> String {
        rusqlite::Connection::open(env.path("feedloom.db"))
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let story = "SELECT s.uid FROM stories s JOIN items i ON i.story_id = s.id WHERE i.guid = 'b0'";
    let old_uid = uid_of("SELECT uid FROM items WHERE guid = 'a0'");
    assert_eq!(uid_of(story), old_uid, "a0 started the story b0 joined");
    assert_eq!(env.count("SELECT count(*) FROM stories"), 1);

    // a0 was first seen 200 days ago: pruned; the feed still carried it, so a
    // tombstone stays, which then expires.
    age(&env, &["a0"], 200, 0, 0);
    let out = feedloom(&config_path, &["prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(env.count("SELECT count(*) FROM items WHERE guid = 'a0'"), 0);
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute(
            "UPDATE item_tombstones SET last_seen_at = unixepoch() - 181 * 86400",
            [],
        )
        .unwrap();
    let out = feedloom(&config_path, &["prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(env.count("SELECT count(*) FROM item_tombstones"), 0);
    assert_eq!(
        uid_of(story),
        old_uid,
        "the story lives on through b0, with a0's id"
    );

    // a0 comes back under another link and text: new, and a story of its own.
    srv.set(
        "/a.xml",
        Resource::feed(a0(
            "https://a.example/0/corrected",
            "Tugboat crews vote to strike over night shifts",
            "The union says talks about night shift pay broke down on Tuesday.",
        ))
        .no_etag(),
    );
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!((summary.failed, summary.new), (0, 1), "{summary}");
    let uid = uid_of("SELECT uid FROM items WHERE guid = 'a0'");
    assert_ne!(uid, old_uid);
    assert_eq!(
        uid_of("SELECT s.uid FROM stories s JOIN items i ON i.story_id = s.id WHERE i.guid = 'a0'"),
        uid
    );
    assert_eq!(env.count("SELECT count(*) FROM stories"), 2);
    // And the next poll of the feed is fine too.
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!((summary.failed, summary.new), (0, 0), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keep_items_stay_and_prune_takes_the_lock() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(doc(&items("a", 3))));
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml")])
    ));
    poll(&cfg, env.open_store()).await.unwrap();
    age(&env, &["a0", "a1", "a2"], 4000, 31, 7);
    let config_path = env.path("feedloom.toml");
    let out = feedloom(&config_path, &["prune", "--dry-run"]);
    let said = text(&out.stdout);
    assert!(
        said.contains("`[store] keep` is not set: items are kept"),
        "{said}"
    );
    assert!(
        said.contains("would remove 0 items, 0 stories, 7 fetch-log rows"),
        "{said}"
    );
    // While another process holds the store, prune is refused by name; a dry run is not.
    let lock = feedloom::store::lock::StoreLock::acquire(&cfg.store.path, "run").unwrap();
    let out = feedloom(&config_path, &["prune"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("feedloom run"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        feedloom(&config_path, &["prune", "--dry-run"])
            .status
            .success()
    );
    drop(lock);
    let out = feedloom(&config_path, &["prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(env.count("SELECT count(*) FROM items"), 3);
    assert_eq!(
        env.count("SELECT count(*) FROM fetches WHERE started_at < unixepoch() - 30 * 86400"),
        0
    );
}

/// A new store uses incremental auto-vacuum: pruning many large items makes the
/// file smaller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn space_returns_to_the_file_system() {
    let env = TestEnv::new();
    let big: String = "<p>".to_string() + &"lighthouse harbour keeper ".repeat(400) + "</p>";
    let cfg = env.config("keep = \"30d\"\n\n[[feed]]\nurl = \"https://a.example/f\"\n");
    let config_path = env.path("feedloom.toml");
    let store = feedloom::store::Store::open(&cfg.store.path).unwrap();
    assert!(store.incremental_vacuum().unwrap());
    drop(store);
    old_items(&env, 2000, |_| ("t".to_string(), big.clone()));
    let size = || std::fs::metadata(env.path("feedloom.db")).unwrap().len();
    let before = size();
    assert!(before > 15_000_000, "{before}");
    let out = feedloom(&config_path, &["prune"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("removed 2000 items"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("MB to the file system"),
        "{}",
        text(&out.stdout)
    );
    let after = size();
    assert!(after < before / 4, "{before} -> {after}");
}

/// A prune that fails part-way (a full disk) says what it removed before
/// the error, and writes the outputs without it: the error alone hid the
/// 500 items a first step had committed, and the outputs still listed them.
#[tokio::test]
async fn a_prune_that_fails_part_way_says_what_it_removed() {
    let env = TestEnv::new();
    let cfg = env.config(
        "keep = \"30d\"\n\n[[feed]]\nurl = \"https://a.example/f\"\n\n\
         [[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"json\"]\ndedup = \"item\"\nmax_items = 2000\n",
    );
    drop(feedloom::store::Store::open(&cfg.store.path).unwrap());
    old_items(&env, 800, |i| (format!("Old {i}"), "x".to_string()));
    // The disk fills after the first step's deletions.
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE test_deleted (n INTEGER); INSERT INTO test_deleted VALUES (0);
             CREATE TRIGGER full_disk BEFORE DELETE ON items BEGIN
               UPDATE test_deleted SET n = n + 1;
               SELECT RAISE(ABORT, 'the disk is full') WHERE (SELECT n FROM test_deleted) > 500;
             END;",
        )
        .unwrap();
    let out = feedloom(&env.path("feedloom.toml"), &["prune"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the disk is full"), "{stderr}");
    assert!(
        stdout.contains("removed 500 items") && stdout.contains("before the error below"),
        "{stdout}"
    );
    assert!(stdout.contains("wrote the output files again"), "{stdout}");
    assert_eq!(env.count("SELECT count(*) FROM items"), 300);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("out/all.json")).unwrap()).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 300);
}

/// The daemon prunes when it starts (and then daily), between its fetches; the
/// feed still carries the pruned items, and they do not come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_prunes_by_itself() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(doc(&items("a", 4))).no_etag());
    let env = TestEnv::new();
    let feeds = format!(
        "[fetch]\nhost_gap = \"0s\"\n[defaults]\nspread = \"0s\"\nevery = \"1s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml")])
    );
    let cfg = env.config(&feeds);
    poll(&cfg, env.open_store()).await.unwrap();
    age(&env, &["a0", "a1"], 10, 0, 0);
    let d = daemon::Daemon::start_in(env, &format!("keep = \"2d\"\n\n{feeds}")).await;
    let page = d
        .wait_for_page("/all.html", 20, |b| daemon::story_count(b) == 2)
        .await;
    assert!(
        page.contains("number 3 ") && !page.contains("number 0 "),
        "{page}"
    );
    // Another fetch of the same document stores nothing new.
    let fetches = d.env.count("SELECT count(*) FROM fetches");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while d.env.count("SELECT count(*) FROM fetches") == fetches && std::time::Instant::now() < end
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(d.env.count("SELECT count(*) FROM items"), 2);
    assert_eq!(d.env.count("SELECT count(*) FROM item_tombstones"), 2);
    d.stop().await;
}

/// `prune` by hand empties the WAL after each of its steps, so that it needs
/// one step's room on the disk rather than the whole deletion's (on a nearly
/// full disk the WAL of a large prune was what failed it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_by_hand_keeps_the_wal_empty_between_steps() {
    let srv = FeedServer::start().await;
    let many = items("w", 700);
    srv.set("/w.xml", Resource::feed(doc(&many)).no_etag());
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"180d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/w.xml")])
    ));
    poll(&cfg, env.open_store()).await.unwrap();
    let guids: Vec<String> = many.iter().map(|(g, _, _)| g.clone()).collect();
    let guids: Vec<&str> = guids.iter().map(String::as_str).collect();
    age(&env, &guids, 200, 40, 10);
    let path = env.path("feedloom.db");
    let mut store = feedloom::store::Store::open(&path).unwrap();
    let retention = feedloom::commands::prune::retention(&cfg);
    let p = store.prune_all(feedloom::now_unix(), &retention).unwrap();
    assert_eq!(p.items, 700);
    // Still open: the WAL would hold the deletion's pages until a checkpoint.
    let wal = std::fs::metadata(env.path("feedloom.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the WAL after pruning holds {wal} bytes");
    drop(store);
}

/// A store polled on a timer (`poll`, no daemon) keeps to `[store] keep` and
/// `keep_fetch_log` too: `poll` prunes before it fetches, and the outputs it
/// writes show what is kept (it never pruned: the fetch log grew for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_on_a_timer_prunes_before_it_fetches() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(doc(&items("a", 4))).no_etag());
    let env = TestEnv::new();
    let feeds = format!(
        "[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml")])
    );
    let cfg = env.config(&feeds);
    poll(&cfg, env.open_store()).await.unwrap();
    age(&env, &["a0", "a1"], 10, 40, 5);
    env.config(&format!(
        "keep = \"2d\"\nkeep_fetch_log = \"30d\"\n\n{feeds}"
    ));
    let out = feedloom(&env.path("feedloom.toml"), &["poll"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(env.count("SELECT count(*) FROM items"), 2);
    assert_eq!(env.count("SELECT count(*) FROM item_tombstones"), 2);
    assert_eq!(
        env.count("SELECT count(*) FROM fetches"),
        2,
        "the two polls' rows; the five 40-day-old ones pruned"
    );
    let out = feedloom(&env.path("feedloom.toml"), &["export", "--format", "json"]);
    let json = text(&out.stdout);
    assert!(
        json.contains("number 3 ") && !json.contains("number 0 "),
        "{json}"
    );
}

/// A retention round that fails (a full disk; here a trigger refuses the
/// deletes) makes `poll` exit 1 and say so, after storing what it fetched:
/// it exited 0, and a store polled on a timer was never pruned unnoticed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_exits_1_when_pruning_fails() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(doc(&items("a", 4))).no_etag());
    let env = TestEnv::new();
    let feeds = format!(
        "[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml")])
    );
    let cfg = env.config(&feeds);
    poll(&cfg, env.open_store()).await.unwrap();
    age(&env, &["a0", "a1"], 10, 40, 0);
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_prune BEFORE DELETE ON items BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;",
        )
        .unwrap();
    env.config(&format!("keep = \"2d\"\n\n{feeds}"));
    srv.set("/a.xml", Resource::feed(doc(&items("a", 5))).no_etag());
    let out = feedloom(&env.path("feedloom.toml"), &["poll"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("pruning the store") && err.contains("the disk is full"),
        "{err}"
    );
    assert!(text(&out.stdout).contains("1 new"), "{}", text(&out.stdout));
    assert_eq!(
        env.count("SELECT count(*) FROM items"),
        5,
        "stored all the same"
    );
    // `prune` names the store too.
    let out = feedloom(&env.path("feedloom.toml"), &["prune"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("store {}", env.path("feedloom.db").display()))
            && err.contains("the disk is full"),
        "{err}"
    );
}

/// An entry without guid known by its link, pruned while its feed still
/// carries it, stays pruned when a second entry with another title comes to
/// share its link (its key gains the title: it came back as a new story), and
/// so when entries that shared a link are pruned and the other leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_entries_stay_pruned_when_their_link_comes_to_be_shared() {
    let srv = FeedServer::start().await;
    let page = "https://x.example/budget";
    let budget = (None, Some(page), "Budget passes", "The chamber passed it.");
    let live = (
        None,
        Some(page),
        "Live: budget reactions",
        "Ministers defend it.",
    );
    let serve = |v: &[(Option<&str>, Option<&str>, &str, &str)]| {
        srv.set("/s.xml", Resource::feed(rss("S", v)).no_etag());
    };
    let env = TestEnv::new();
    let feeds = format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/s.xml")])
    );
    let cfg = env.config(&feeds);
    let config = env.path("feedloom.toml");
    let backdate = |env: &TestEnv| {
        let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
        conn.execute_batch(&format!(
            "UPDATE items SET first_seen_at = first_seen_at - {d};
             UPDATE stories SET first_seen_at = first_seen_at - {d}, changed_at = changed_at - {d};",
            d = 10 * DAY
        ))
        .unwrap();
    };
    serve(&[budget]);
    poll(&cfg, env.open_store()).await.unwrap();
    backdate(&env);
    let out = feedloom(&config, &["prune"]);
    assert!(
        text(&out.stdout).contains("removed 1 items"),
        "{}",
        text(&out.stdout)
    );
    serve(&[live, budget]);
    let s = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!(s.new, 1, "only the live blog is new");
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);

    // Another feed: both stored and pruned while they share the link; then
    // the live blog leaves.
    srv.set(
        "/t.xml",
        Resource::feed(rss("T", &[live, budget])).no_etag(),
    );
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/t.xml")])
    ));
    let config = env.path("feedloom.toml");
    assert_eq!(poll(&cfg, env.open_store()).await.unwrap().0.new, 2);
    backdate(&env);
    let out = feedloom(&config, &["prune"]);
    assert!(
        text(&out.stdout).contains("removed 2 items"),
        "{}",
        text(&out.stdout)
    );
    srv.set("/t.xml", Resource::feed(rss("T", &[budget])).no_etag());
    let s = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!(s.new, 0, "the budget entry stays pruned");
}

/// Two entries sharing one guid (keys `guid:G link:L`), pruned while shared:
/// when the feed carries the guid once again, its entry stays pruned (it came
/// back as new under the plain `guid:G`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_entries_stay_pruned_when_their_guid_is_no_longer_shared() {
    let srv = FeedServer::start().await;
    let one = (
        Some("dup"),
        Some("https://g.example/one"),
        "First under dup",
        "The first story.",
    );
    let two = (
        Some("dup"),
        Some("https://g.example/two"),
        "Second under dup",
        "The second story.",
    );
    srv.set("/g.xml", Resource::feed(rss("G", &[one, two])).no_etag());
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/g.xml")])
    ));
    assert_eq!(poll(&cfg, env.open_store()).await.unwrap().0.new, 2);
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    conn.execute_batch(&format!(
        "UPDATE items SET first_seen_at = first_seen_at - {d};
         UPDATE stories SET first_seen_at = first_seen_at - {d}, changed_at = changed_at - {d};",
        d = 10 * DAY
    ))
    .unwrap();
    drop(conn);
    let out = feedloom(&env.path("feedloom.toml"), &["prune"]);
    assert!(
        text(&out.stdout).contains("removed 2 items"),
        "{}",
        text(&out.stdout)
    );
    srv.set("/g.xml", Resource::feed(rss("G", &[one])).no_etag());
    let s = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!(s.new, 0, "the entry stays pruned: {s:?}");
    // A new entry under that guid, with a link of its own, is new (a
    // tombstone of the guid alone lost it).
    let three = (
        Some("dup"),
        Some("https://g.example/three"),
        "Third under dup",
        "A new story.",
    );
    srv.set("/g.xml", Resource::feed(rss("G", &[three])).no_etag());
    let s = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!(s.new, 1, "a new entry is stored: {s:?}");
}

/// `prune` whose output files cannot be written again says so and exits 1,
/// as `poll` does (it exited 0, and the next prune, removing nothing, did
/// not try again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_that_cannot_write_the_outputs_again_fails() {
    let srv = FeedServer::start().await;
    let a = items("w", 3);
    srv.set("/a.xml", Resource::feed(doc(&a)));
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}\n[[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"rss\"]\n",
        feeds_toml(&[srv.url("/a.xml")])
    ));
    poll(&cfg, env.open_store()).await.unwrap();
    age(&env, &["w0", "w1", "w2"], 10, 0, 0);
    // The output's file cannot be replaced: a folder stands in its place.
    std::fs::remove_file(env.path("out/all.rss")).unwrap();
    std::fs::create_dir(env.path("out/all.rss")).unwrap();
    std::fs::write(env.path("out/all.rss/keep"), "x").unwrap();
    let out = feedloom(&env.path("feedloom.toml"), &["prune"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("wrote the output files again (0 of 1"),
        "{}",
        text(&out.stdout)
    );
}

/// A pruned item of a site that then moves to `www.` (its items without
/// guid, keyed by their links) does not come back as new at its `www.` link:
/// its tombstone is found under the link's twin too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pruned_item_does_not_come_back_when_its_site_moves_to_www() {
    let srv = FeedServer::start().await;
    let serve = |host: &str, n: usize| {
        let links: Vec<String> = (0..n).map(|i| format!("https://{host}/post/{i}")).collect();
        let titles: Vec<String> = (0..n).map(|i| format!("Harbour story {i}")).collect();
        let v: Vec<(Option<&str>, Option<&str>, &str, &str)> = links
            .iter()
            .zip(&titles)
            .rev()
            .map(|(l, t)| (None, Some(l.as_str()), t.as_str(), "Calm seas today."))
            .collect();
        srv.set("/a.xml", Resource::feed(rss("F", &v)));
    };
    serve("w.example", 3);
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "keep = \"2d\"\n\n[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[srv.url("/a.xml")])
    ));
    let config_path = env.path("feedloom.toml");
    poll(&cfg, env.open_store()).await.unwrap();
    three_days_of_304(&env);
    let out = feedloom(&config_path, &["prune"]);
    assert!(
        text(&out.stdout).contains("removed 3 items"),
        "{}",
        text(&out.stdout)
    );
    // The site moves to www. and posts one more entry: one new item.
    serve("www.w.example", 4);
    let (summary, _) = poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(summary.new, 1, "{summary}");
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
}
