//! The same scenarios on PostgreSQL as on SQLite: `poll`, `export`, `feeds`,
//! `search`, stories across feeds and near-duplicates, retention, the daemon's
//! routes, read-only commands, and two nodes storing the same story at once.
//! Each test runs the real binary against both backends on one local feed
//! server and compares what a user sees. Needs `FEEDLOOM_TEST_POSTGRES` (see
//! tests/support/pg.rs and .ci/postgres.sh); skips with one line without it.

mod common;
#[path = "support/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{FeedServer, Resource, TestEnv, comet_feeds, rss};
use serde_json::Value;

/// Runs the binary; (exit code, stdout, stderr).
async fn feedloom(config: &Path, args: &[&str]) -> (i32, String, String) {
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env("FEEDLOOM_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

async fn ok(config: &Path, args: &[&str]) -> String {
    let (code, out, err) = feedloom(config, args).await;
    assert_eq!(code, 0, "feedloom {args:?} failed: {err}");
    out
}

/// The two stores of one scenario: a SQLite file and a PostgreSQL database,
/// with the same feeds and outputs.
struct Pair {
    _env: TestEnv,
    sqlite: PathBuf,
    postgres: PathBuf,
    url: String,
}

impl Pair {
    async fn new(test: &str, body: &str) -> Option<Pair> {
        let url = pg::fresh_db(test).await?;
        let env = TestEnv::new();
        let sqlite = env.path("sqlite.toml");
        std::fs::write(
            &sqlite,
            format!("[store]\npath = \"feedloom.db\"\n\n{body}"),
        )
        .unwrap();
        let postgres = env.path("postgres.toml");
        std::fs::write(&postgres, format!("[store]\nurl = \"{url}\"\n\n{body}")).unwrap();
        Some(Pair {
            _env: env,
            sqlite,
            postgres,
            url,
        })
    }

    #[allow(dead_code)]
    fn both(&self) -> [&Path; 2] {
        [&self.sqlite, &self.postgres]
    }

    /// Runs the same command on both; their stdouts.
    async fn run(&self, args: &[&str]) -> [String; 2] {
        [ok(&self.sqlite, args).await, ok(&self.postgres, args).await]
    }

    /// Runs the same SQL on both stores (as an older feedloom left them).
    async fn execute_both(&self, sql: &str) {
        pg::client(&self.url)
            .await
            .batch_execute(sql)
            .await
            .unwrap();
        rusqlite::Connection::open(self.sqlite.parent().unwrap().join("feedloom.db"))
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }
}

/// `export --format json` without its first-seen times.
fn unseen(json: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).unwrap();
    for item in v["items"].as_array_mut().unwrap() {
        item["_feedloom"]
            .as_object_mut()
            .unwrap()
            .remove("first_seen");
    }
    v
}

/// `export --format json` without its times (first seen, published,
/// modified): what two backends polled a second apart agree on.
fn undated(json: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).unwrap();
    for item in v["items"].as_array_mut().unwrap() {
        let item = item.as_object_mut().unwrap();
        item.remove("date_published");
        item.remove("date_modified");
        item["_feedloom"]
            .as_object_mut()
            .unwrap()
            .remove("first_seen");
    }
    v
}

/// `export --format json`: each story as the sorted links of the items that
/// carry it, and how many there are; sorted. (Which copy names the story
/// depends on which feed was stored first, and feeds are stored concurrently.)
fn stories(json: &str) -> Vec<(String, usize)> {
    let v: Value = serde_json::from_str(json).unwrap();
    let mut out: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let mut links: Vec<String> = i["_feedloom"]["sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    format!(
                        "{} {}",
                        s["feed_url"].as_str().unwrap_or(""),
                        s["url"].as_str().unwrap_or("")
                    )
                })
                .collect();
            links.sort();
            (links.join(" + "), links.len())
        })
        .collect();
    out.sort();
    out
}

/// `feeds --json`: (url, status, items) per feed.
fn feed_rows(json: &str) -> Vec<(String, String, i64)> {
    let v: Value = serde_json::from_str(json).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["url"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap_or("").to_string(),
                f["items"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

const WIRE: &str = "The city council approved the new budget for roads and schools on Monday \
    after a long debate, with seven votes in favour and two against. The mayor said repairs \
    on the northern bridge start in March and the school roofs follow in the summer months, \
    paid from the reserve fund that was set aside three years ago for exactly this purpose.";

fn server_feeds(server: &FeedServer) -> String {
    let shared = "https://news.example.org/2024/budget";
    server.set(
        "/a.xml",
        Resource::feed(rss(
            "Alpha",
            &[
                (
                    Some("a1"),
                    Some(shared),
                    "Budget approved",
                    "Roads and schools.",
                ),
                (
                    Some("a2"),
                    Some("https://alpha.example.org/weather"),
                    "Rain on the weekend",
                    "東京都で雨",
                ),
                (
                    Some("a3"),
                    Some("https://alpha.example.org/wire"),
                    "Council votes on budget",
                    WIRE,
                ),
            ],
        )),
    );
    server.set(
        "/b.xml",
        Resource::feed(rss(
            "Beta",
            &[
                (
                    Some("b1"),
                    Some(shared),
                    "Council passes budget",
                    "The vote was 7 to 2.",
                ),
                (
                    Some("b2"),
                    Some("https://beta.example.org/ferry"),
                    "Ferry timetable changes",
                    "Later boats on Sundays.",
                ),
            ],
        )),
    );
    // Gamma carries the wire copy under its own URL: a near-duplicate.
    server.set(
        "/c.xml",
        Resource::feed(rss(
            "Gamma",
            &[(
                Some("c1"),
                Some("https://gamma.example.org/local/council-budget"),
                "Council votes on budget",
                WIRE,
            )],
        )),
    );
    common::feeds_toml(&[
        server.url("/a.xml"),
        server.url("/b.xml"),
        server.url("/c.xml"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_export_feeds_and_stories_match_sqlite() {
    let server = FeedServer::start().await;
    let body = server_feeds(&server);
    let Some(pair) = Pair::new("pipeline", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(
        polled[1].contains("3 ok") && polled[1].contains("6 new"),
        "{}",
        polled[1]
    );

    let exported = pair.run(&["export", "--format", "json"]).await;
    let (s, p) = (stories(&exported[0]), stories(&exported[1]));
    assert_eq!(s, p, "the same stories with the same ids and sources");
    // Six items, four stories: the shared link joins Alpha and Beta, the wire
    // copy joins Alpha and Gamma.
    assert_eq!(p.len(), 4, "{p:?}");
    assert_eq!(p.iter().filter(|s| s.1 == 2).count(), 2, "{p:?}");

    let feeds = pair.run(&["feeds", "--json"]).await;
    assert_eq!(feed_rows(&feeds[0]), feed_rows(&feeds[1]));

    // Unchanged feeds: 304s. An edited item: one update on both.
    let again = pair.run(&["poll"]).await;
    assert_eq!(again[0], again[1]);
    assert!(again[1].contains("0 new"), "{}", again[1]);
    server.set(
        "/b.xml",
        Resource::feed(rss(
            "Beta",
            &[
                (
                    Some("b1"),
                    Some("https://news.example.org/2024/budget"),
                    "Council passes budget",
                    "The vote was 7 to 2.",
                ),
                (
                    Some("b2"),
                    Some("https://beta.example.org/ferry"),
                    "Ferry timetable changes (corrected)",
                    "Later boats on Sundays.",
                ),
            ],
        )),
    );
    let edited = pair.run(&["poll"]).await;
    assert_eq!(edited[0], edited[1]);
    assert!(edited[1].contains("1 updated"), "{}", edited[1]);
    let exported = pair.run(&["export", "--format", "json"]).await;
    assert_eq!(stories(&exported[0]), stories(&exported[1]));
    assert!(exported[1].contains("(corrected)"));

    // What a user queries in psql: the same tables and columns.
    let c = pg::client(&pair.url).await;
    assert_eq!(pg::count(&c, "SELECT count(*) FROM items").await, 6);
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM stories WHERE item_count = 2").await,
        2
    );
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM fetches WHERE outcome = 'not_modified'"
        )
        .await,
        5,
        "second poll: three 304s; third: two"
    );
}

/// A podcast's files on both backends: published in every output; an item
/// stored before schema version 12 gets them without being reported updated,
/// one stored since that gains them has changed, and a replaced file is an
/// update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enclosures_are_stored_and_published_alike() {
    let server = FeedServer::start().await;
    let episodes = |files: &[&str]| {
        let items: String = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                format!(
                    "<item><guid>ep{i}</guid><link>https://pod.example.org/{i}</link>\
                     <title>Episode {i}</title><description>Notes</description>{f}</item>"
                )
            })
            .collect();
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>Pod</title>{items}</channel></rss>"
        ))
    };
    let file =
        |name: &str| format!(r#"<enclosure url="/media/{name}" length="4096" type="audio/mpeg"/>"#);
    server.set("/pod.xml", episodes(&["", ""]));
    let body = common::feeds_toml(&[server.url("/pod.xml")]);
    let Some(pair) = Pair::new("enclosures", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled[1].contains("2 new"), "{}", polled[1]);
    // Episode 0 as if stored by a feedloom from before version 12: the
    // cursor its migration records.
    let c = pg::client(&pair.url).await;
    let legacy = "INSERT INTO store_tasks (task, cursor)
                  SELECT 'enclosures', min(id) + 1 FROM items";
    c.execute(legacy, &[]).await.unwrap();
    let sqlite = rusqlite::Connection::open(pair.sqlite.with_file_name("feedloom.db")).unwrap();
    sqlite.execute(legacy, []).unwrap();
    drop(sqlite);
    server.set("/pod.xml", episodes(&[&file("0.mp3"), &file("1.mp3")]));
    let filled = pair.run(&["poll"]).await;
    assert_eq!(filled[0], filled[1]);
    assert!(filled[1].contains("0 new, 1 updated"), "{}", filled[1]);
    let attachments = |json: &str| -> Vec<(String, serde_json::Value)> {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut all: Vec<_> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["title"].as_str().unwrap().to_string(),
                    i["attachments"].clone(),
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let exported = pair.run(&["export", "--format", "json"]).await;
    let (e0, e1) = (server.url("/media/0.mp3"), server.url("/media/1.mp3"));
    for json in &exported {
        assert_eq!(
            attachments(json),
            vec![
                (
                    "Episode 0".to_string(),
                    serde_json::json!([{"url": e0, "mime_type": "audio/mpeg", "size_in_bytes": 4096}])
                ),
                (
                    "Episode 1".to_string(),
                    serde_json::json!([{"url": e1, "mime_type": "audio/mpeg", "size_in_bytes": 4096}])
                ),
            ]
        );
    }
    // (The stores' first-seen times may differ by a second: only the files
    // are compared.)
    let atom = pair.run(&["export", "--format", "atom"]).await;
    let files = |a: &str| -> Vec<String> {
        a.lines()
            .filter(|l| l.contains(r#"rel="enclosure""#))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(files(&atom[0]), files(&atom[1]));
    assert_eq!(files(&atom[1]).len(), 2, "{}", atom[1]);
    // A signed link's new token: stored, not announced.
    server.set(
        "/pod.xml",
        episodes(&[&file("0.mp3?token=2"), &file("1.mp3")]),
    );
    let resigned = pair.run(&["poll"]).await;
    assert_eq!(resigned[0], resigned[1]);
    assert!(resigned[1].contains("0 new, 0 updated"), "{}", resigned[1]);
    let exported = pair.run(&["export", "--format", "json"]).await;
    for json in &exported {
        assert!(json.contains("/media/0.mp3?token=2"), "{json}");
    }
    server.set("/pod.xml", episodes(&[&file("0-v2.mp3"), &file("1.mp3")]));
    let replaced = pair.run(&["poll"]).await;
    assert_eq!(replaced[0], replaced[1]);
    assert!(replaced[1].contains("1 updated"), "{}", replaced[1]);
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM items, json_array_elements(enclosures::json) f
             WHERE f->>'url' LIKE '%/media/0-v2.mp3'"
        )
        .await,
        1
    );
}

/// A server without validators answers 200 every time: the same bytes are
/// recognised by their hash and not parsed again, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_identical_bodies_are_logged_unchanged() {
    let server = FeedServer::start().await;
    server.set(
        "/n.xml",
        Resource::feed(rss(
            "No validators",
            &[(
                Some("n1"),
                Some("https://n.example.org/1"),
                "One",
                "First item.",
            )],
        ))
        .no_etag(),
    );
    let body = common::feeds_toml(&[server.url("/n.xml")]);
    let Some(pair) = Pair::new("unchanged", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    let again = pair.run(&["poll"]).await;
    assert_eq!(again[0], again[1]);
    assert!(
        again[1].contains("1 ok") && again[1].contains("0 new"),
        "{}",
        again[1]
    );
    let c = pg::client(&pair.url).await;
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM fetches WHERE outcome = 'ok' AND unchanged = 1"
        )
        .await,
        1,
        "the second 200 is logged unchanged"
    );
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM feeds WHERE body_hash IS NOT NULL AND body_stored_at IS NOT NULL"
        )
        .await,
        1
    );
    // A changed body is read again.
    server.set(
        "/n.xml",
        Resource::feed(rss(
            "No validators",
            &[
                (
                    Some("n2"),
                    Some("https://n.example.org/2"),
                    "Two",
                    "Second item.",
                ),
                (
                    Some("n1"),
                    Some("https://n.example.org/1"),
                    "One",
                    "First item.",
                ),
            ],
        ))
        .no_etag(),
    );
    let changed = pair.run(&["poll"]).await;
    assert_eq!(changed[0], changed[1]);
    assert!(changed[1].contains("1 new"), "{}", changed[1]);
    // `enable` of a feed that is not disabled, then of one that is (a
    // PostgreSQL `enabled` is a number: `NOT enabled` failed every enable).
    let url = server.url("/n.xml");
    let said = pair.run(&["enable", &url]).await;
    assert_eq!(said[0], said[1]);
    assert!(
        said[1].contains("is neither disabled nor moved; nothing to do"),
        "{}",
        said[1]
    );
    c.execute("UPDATE feeds SET enabled = 0", &[])
        .await
        .unwrap();
    let said = ok(&pair.postgres, &["enable", &url]).await;
    assert_eq!(said.trim(), format!("enabled {url}"));
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM feeds WHERE enabled = 1").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_the_same_stories_with_highlights() {
    let server = FeedServer::start().await;
    let body = server_feeds(&server);
    let Some(pair) = Pair::new("search", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    for q in [
        "budget",
        "council budget",
        "\"northern bridge\"",
        "東京",
        "ferr*",
        "roads",
    ] {
        let found = pair.run(&["search", "--json", q]).await;
        // Which copy names a story depends on which feed was stored first
        // (feeds are stored concurrently): compare the stories by the feeds
        // carrying them.
        let ids = |s: &str| {
            let v: Value = serde_json::from_str(s).unwrap();
            let mut ids: Vec<i64> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["sources"].as_i64().unwrap())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&found[0]), ids(&found[1]), "query {q}");
        assert!(!ids(&found[1]).is_empty(), "query {q} finds something");
        assert!(found[1].contains("<mark>"), "query {q}: {}", found[1]);
    }
    // One result per story: the budget story is carried by two feeds.
    let hits: Value =
        serde_json::from_str(&pair.run(&["search", "--json", "budget"]).await[1]).unwrap();
    let ids: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), unique.len());
    let (code, _, err) = feedloom(&pair.postgres, &["search", "!!!"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no words"), "{err}");
}

/// `min_sources` and search's feed count count the feeds the config names,
/// on both backends: a story whose second feed left the config leaves an
/// output of `min_sources = 2`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_sources_counts_only_configured_feeds() {
    let server = FeedServer::start().await;
    let outputs = "\n[[output]]\nname = \"shared\"\nmin_sources = 2\n\n\
                   [[output]]\nname = \"shared-items\"\nmin_sources = 2\ndedup = \"item\"\n";
    let body = format!("{}{outputs}", server_feeds(&server));
    let Some(pair) = Pair::new("min_sources", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    let count = |json: &str| {
        serde_json::from_str::<Value>(json).unwrap()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let shown = async |name: &str| {
        pair.run(&["export", "--format", "json", "--output", name])
            .await
            .map(|j| count(&j))
    };
    let before = shown("shared").await;
    assert!(
        before[0] >= 1 && before == before.map(|_| before[0]),
        "{before:?}"
    );
    // Beta leaves the config on both.
    let without_b = format!(
        "{}{outputs}",
        common::feeds_toml(&[server.url("/a.xml"), server.url("/c.xml")])
    );
    std::fs::write(
        &pair.sqlite,
        format!("[store]\npath = \"feedloom.db\"\n\n{without_b}"),
    )
    .unwrap();
    std::fs::write(
        &pair.postgres,
        format!("[store]\nurl = \"{}\"\n\n{without_b}", pair.url),
    )
    .unwrap();
    pair.run(&["poll"]).await;
    let after = shown("shared").await;
    assert_eq!(after[0], after[1]);
    assert!(after[0] < before[0], "{before:?} -> {after:?}");
    let items = shown("shared-items").await;
    assert_eq!(items[0], items[1]);
    // The budget story (Alpha and Beta) is now carried by one configured
    // feed; the wire story by Alpha and Gamma still.
    let sources = pair
        .run(&["search", "--json", "budget"])
        .await
        .map(|found| {
            let v: Value = serde_json::from_str(&found).unwrap();
            let mut n: Vec<i64> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["sources"].as_i64().unwrap())
                .collect();
            n.sort();
            n
        });
    assert_eq!(sources[0], vec![1, 2]);
    assert_eq!(sources[0], sources[1]);
}

/// A reload's new schedule moves next fetches earlier, never later, on
/// PostgreSQL as on SQLite (`Backend::fetch_earlier`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_fetches_move_earlier_only() {
    use feedloom::store::Backend;
    let server = FeedServer::start().await;
    let body = server_feeds(&server);
    let Some(pair) = Pair::new("earlier", &body).await else {
        return;
    };
    ok(&pair.postgres, &["poll"]).await;
    let c = pg::client(&pair.url).await;
    c.batch_execute("UPDATE feeds SET next_fetch_at = 5000")
        .await
        .unwrap();
    let ids: Vec<i64> = c
        .query("SELECT id FROM feeds ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let store = Backend::open(&pg::location(&pair.url), "test-node")
        .await
        .unwrap();
    store
        .fetch_earlier(vec![(ids[0], 1000), (ids[1], 9000)])
        .await
        .unwrap();
    let next: Vec<i64> = c
        .query("SELECT next_fetch_at FROM feeds ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(next, [1000, 5000, 5000]);
}

/// A store last written before the clock stepped back three hours: opened,
/// each feed fetched ahead of the clock waits what it was to wait then,
/// counted from now, on PostgreSQL as on SQLite; a feed never fetched keeps
/// no time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_fetched_ahead_of_the_clock_are_rescheduled_alike() {
    use feedloom::store::Backend;
    let server = FeedServer::start().await;
    let body = server_feeds(&server);
    let Some(pair) = Pair::new("clockback", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    let now = feedloom::now_unix();
    let then = now + 3 * 3600;
    pair.execute_both(&format!(
        "UPDATE feeds SET last_fetch_at = {then}, last_success_at = {then} - 5, next_fetch_at = {then} + 120
             WHERE id = (SELECT min(id) FROM feeds);
         UPDATE feeds SET last_fetch_at = NULL, last_success_at = NULL, next_fetch_at = NULL
             WHERE id = (SELECT max(id) FROM feeds);"
    ))
    .await;
    // (And a host's next turn, booked by that clock.)
    pg::client(&pair.url)
        .await
        .batch_execute(&format!(
            "INSERT INTO hosts (host, next_start_ms) VALUES ('ahead.example:80', {then}::bigint * 1000)"
        ))
        .await
        .unwrap();
    drop(
        Backend::open(&pg::location(&pair.url), "test-node")
            .await
            .unwrap(),
    );
    let turn: i64 = pg::client(&pair.url)
        .await
        .query_one(
            "SELECT next_start_ms FROM hosts WHERE host = 'ahead.example:80'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(turn < (now + 60) * 1000, "{turn}");
    drop(feedloom::store::Store::open(&pair.sqlite.parent().unwrap().join("feedloom.db")).unwrap());
    let pg_rows: Vec<(Option<i64>, Option<i64>, Option<i64>)> = pg::client(&pair.url)
        .await
        .query(
            "SELECT next_fetch_at, last_fetch_at, last_success_at FROM feeds ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let db = rusqlite::Connection::open(pair.sqlite.parent().unwrap().join("feedloom.db")).unwrap();
    let mut st = db
        .prepare("SELECT next_fetch_at, last_fetch_at, last_success_at FROM feeds ORDER BY id")
        .unwrap();
    let sqlite_rows: Vec<(Option<i64>, Option<i64>, Option<i64>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for rows in [&pg_rows, &sqlite_rows] {
        let (next, last, success) = rows[0];
        let opened = last.unwrap();
        assert!((now..now + 60).contains(&opened), "{rows:?}");
        assert_eq!(next, Some(opened + 120), "{rows:?}");
        assert_eq!(success, Some(opened), "{rows:?}");
        assert_eq!(*rows.last().unwrap(), (None, None, None), "{rows:?}");
    }
}

/// A node whose clock is an hour ahead of the database server's says so
/// when it opens the store, and keeps the server's time: its fetch, the
/// feed's next fetch and its claim are booked by the server's clock (they
/// were booked by the node's: one ahead took every fetch, its claims
/// outlasting the others', and the feeds it fetched waited its hour more on
/// every other node). One in step says nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_clock_is_not_the_servers_keeps_the_servers_time() {
    let server = FeedServer::start().await;
    let body = server_feeds(&server);
    let Some(pair) = Pair::new("skew", &body).await else {
        return;
    };
    let Some(lib) = pg::faketime() else {
        return;
    };
    let (code, _, err) = feedloom(&pair.postgres, &["poll"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("clock is not the database server's"), "{err}");
    let c = pg::client(&pair.url).await;
    let fetches = pg::count(&c, "SELECT count(*) FROM fetches").await;
    let next_before = pg::count(&c, "SELECT max(next_fetch_at) FROM feeds").await;
    let skewed = |args: &'static [&'static str]| {
        let config = pair.postgres.clone();
        let lib = lib.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_feedloom"))
                .arg("--config")
                .arg(&config)
                .args(args)
                .env("FEEDLOOM_LOG", "warn")
                .env("LD_PRELOAD", lib)
                .env("FAKETIME", "+3600s")
                .output()
                .unwrap()
        })
    };
    let out = skewed(&["poll"]).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this node's clock is not the database server's") && err.contains("+3600"),
        "{err}"
    );
    assert_eq!(err.matches("clock is not").count(), 1, "said once: {err}");
    assert!(out.status.success(), "{err}");
    let server = pg::count(&c, "SELECT extract(epoch FROM now())::bigint").await;
    let latest = pg::count(&c, "SELECT max(started_at) FROM fetches").await;
    let fetched = pg::count(&c, "SELECT max(last_fetch_at) FROM feeds").await;
    let next = pg::count(&c, "SELECT max(next_fetch_at) FROM feeds").await;
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM fetches").await,
        2 * fetches,
        "the second poll fetched every feed"
    );
    assert!(
        (server - 60..=server).contains(&latest),
        "{latest} {server}"
    );
    assert_eq!(fetched, latest);
    assert!(next <= next_before + 120, "{next} {next_before}");
    // A command that reads the clock for what it does takes the server's
    // time too: `search --since` found nothing seen a moment ago.
    let out = skewed(&["search", "--since", "30m", "ferry"])
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Ferry timetable"), "{said}");
}

/// `search --output` judges a story by the item the output shows (its
/// headline, first seen first), not by the item that matched, on both
/// backends: Beta's copy matches, the output excludes it, and shows Alpha's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_judges_a_story_by_the_item_its_output_shows() {
    let server = FeedServer::start().await;
    let body = format!(
        "{}\n[[output]]\nname = \"all\"\n\n[[output]]\nname = \"nobeta\"\nexclude = [\"title:/passes/\"]\n",
        server_feeds(&server)
    );
    let Some(pair) = Pair::new("search_headline", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    let earlier = "UPDATE items SET first_seen_at = first_seen_at - 5 WHERE guid = 'a1'";
    rusqlite::Connection::open(pair._env.path("feedloom.db"))
        .unwrap()
        .execute(earlier, [])
        .unwrap();
    pg::client(&pair.url)
        .await
        .batch_execute(earlier)
        .await
        .unwrap();
    for found in pair
        .run(&["search", "--json", "--output", "nobeta", "\"vote was\""])
        .await
    {
        let v: Value = serde_json::from_str(&found).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 1, "{found}");
    }
}

/// A story one feed's rule hides a copy of is found by the copy shown, even
/// when the hidden one matches better, and counts one feed, on both backends
/// (the story was not found at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_a_story_by_its_shown_copy_when_a_hidden_one_matches_better() {
    let server = FeedServer::start().await;
    let link = Some("https://n.example/volcano");
    server.set(
        "/a.xml",
        Resource::feed(rss(
            "A",
            &[(
                Some("a1"),
                link,
                "Volcano erupts near airport",
                "<p>Flights to the volcano region are cancelled. Airlines say the ash cloud \
                 may close the airport for days, and travellers should check with their \
                 carrier before they leave home.</p>",
            )],
        )),
    );
    server.set(
        "/b.xml",
        Resource::feed(rss(
            "B",
            &[(
                Some("b1"),
                link,
                "SPONSORED: Island tours to the volcano",
                "<p>Volcano, volcano, volcano: book a trip to see the volcano.</p>",
            )],
        )),
    );
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\nexclude = [\"sponsored\"]\n\n\
         [[output]]\nname = \"all\"\n",
        server.url("/a.xml"),
        server.url("/b.xml")
    );
    let Some(pair) = Pair::new("search_hidden_best", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    for args in [
        &["search", "--json", "volcano"][..],
        &["search", "--json", "--output", "all", "volcano"],
    ] {
        for found in pair.run(args).await {
            let v: Value = serde_json::from_str(&found).unwrap();
            let hits = v.as_array().unwrap();
            assert_eq!(hits.len(), 1, "{args:?}: {found}");
            assert!(found.contains("Volcano erupts"), "{args:?}: {found}");
            assert!(!found.contains("SPONSORED"), "{args:?}: {found}");
            assert_eq!(hits[0]["sources"], 1, "{args:?}: {found}");
        }
    }
}

/// Hidden copies neither rank nor count a story, on both backends: ranked
/// by the copies the outputs show, counted by the feeds whose copies an
/// output of items keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_copies_neither_rank_nor_count_on_both_backends() {
    let server = FeedServer::start().await;
    let (shown, hidden) = comet_feeds();
    server.set("/v.xml", Resource::feed(shown));
    server.set("/h.xml", Resource::feed(hidden));
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\nexclude = [\"hideme\"]\n\n\
         [[output]]\nname = \"all\"\n\n[[output]]\nname = \"items\"\ndedup = \"item\"\n",
        server.url("/v.xml"),
        server.url("/h.xml")
    );
    let Some(pair) = Pair::new("search_hidden_rank", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    for args in [
        &["search", "--json", "--limit", "5", "comet"][..],
        &[
            "search", "--json", "--limit", "5", "--output", "items", "comet",
        ],
    ] {
        for found in pair.run(args).await {
            let v: Value = serde_json::from_str(&found).unwrap();
            let titles: Vec<&str> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["title"].as_str().unwrap_or(""))
                .collect();
            assert_eq!(titles.len(), 5, "{args:?}: {found}");
            assert!(
                titles.iter().all(|t| t.starts_with("Comet sighted")),
                "{args:?}: {titles:?}"
            );
        }
    }
    for found in pair
        .run(&["search", "--json", "--output", "items", "weather"])
        .await
    {
        let v: Value = serde_json::from_str(&found).unwrap();
        let hits = v.as_array().unwrap();
        assert_eq!(hits.len(), 5, "{found}");
        assert!(hits.iter().all(|h| h["sources"] == 1), "{found}");
    }
}

/// A digest of everything a command could change.
async fn digest(c: &tokio_postgres::Client) -> String {
    let mut s = String::new();
    for t in [
        "feeds",
        "feed_tags",
        "items",
        "stories",
        "fetches",
        "near_items",
        "near_anchors",
        "search",
        "item_tombstones",
        "feedloom_schema",
    ] {
        let row = c
            .query_one(
                &format!(
                    "SELECT COALESCE(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {t} t"
                ),
                &[],
            )
            .await
            .unwrap();
        s.push_str(&row.get::<_, String>(0));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_never_write() {
    let server = FeedServer::start().await;
    let body = server_feeds(&server);
    let Some(pair) = Pair::new("readonly", &body).await else {
        return;
    };
    let c = pg::client(&pair.url).await;
    // Nothing set up yet: reading says so and creates nothing.
    for args in [
        &["feeds"][..],
        &["export"],
        &["search", "budget"],
        &["prune", "--dry-run"],
    ] {
        let (code, _, err) = feedloom(&pair.postgres, args).await;
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("schema version 0"), "{args:?}: {err}");
    }
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .await,
        0
    );
    ok(&pair.postgres, &["poll"]).await;
    let before = digest(&c).await;
    for args in [
        &["feeds"][..],
        &["feeds", "--json"],
        &["export", "--format", "rss"],
        &["search", "budget"],
        &["prune", "--dry-run"],
        &["check"],
    ] {
        ok(&pair.postgres, args).await;
    }
    assert_eq!(
        before,
        digest(&c).await,
        "read-only commands changed the store"
    );
}

/// Every time in the store three days back, as if each fetch since the
/// first had been answered 304 (which moves no `last_seen_at`).
const THREE_DAYS_OF_304: &str = "UPDATE items SET first_seen_at = first_seen_at - 259200,
                      last_seen_at = last_seen_at - 259200, changed_at = changed_at - 259200;
     UPDATE stories SET first_seen_at = first_seen_at - 259200, changed_at = changed_at - 259200;
     UPDATE feeds SET body_stored_at = body_stored_at - 259200";

/// The server's feeds in a fresh database named `name`, with `keep = "2d"`,
/// polled once: the server, the folder, the config and a client of the
/// database (`None`: no PostgreSQL here).
async fn polled_keeping_two_days(
    name: &str,
) -> Option<(FeedServer, TestEnv, PathBuf, tokio_postgres::Client)> {
    let server = FeedServer::start().await;
    let feeds = server_feeds(&server);
    let url = pg::fresh_db(name).await?;
    let env = TestEnv::new();
    let cfg = env.path("postgres.toml");
    std::fs::write(
        &cfg,
        format!("[store]\nurl = \"{url}\"\nkeep = \"2d\"\n\n{feeds}"),
    )
    .unwrap();
    ok(&cfg, &["poll"]).await;
    let c = pg::client(&url).await;
    Some((server, env, cfg, c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_and_tombstones_keep_items_from_coming_back() {
    let Some((server, _env, cfg, c)) = polled_keeping_two_days("retention").await else {
        return;
    };
    // Alpha's items were first seen ten days ago.
    c.batch_execute(
        "UPDATE items SET first_seen_at = first_seen_at - 864000
         WHERE feed_id = (SELECT id FROM feeds WHERE url LIKE '%/a.xml');
         UPDATE stories s SET first_seen_at = first_seen_at - 864000
         WHERE NOT EXISTS (SELECT 1 FROM items i JOIN feeds f ON f.id = i.feed_id
                           WHERE i.story_id = s.id AND f.url NOT LIKE '%/a.xml')",
    )
    .await
    .unwrap();
    let alpha_near = "SELECT count(*) FROM near_items
                      WHERE feed_id = (SELECT id FROM feeds WHERE url LIKE '%/a.xml')";
    let alpha_fingerprints = pg::count(&c, alpha_near).await;
    assert!(
        alpha_fingerprints >= 1,
        "Alpha's wire copy is fingerprinted"
    );
    let all_fingerprints = pg::count(&c, "SELECT count(*) FROM near_items").await;
    let dry = ok(&cfg, &["prune", "--dry-run"]).await;
    assert!(dry.contains("would remove 3 items"), "{dry}");
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM items").await,
        6,
        "dry run removes nothing"
    );
    let pruned = ok(&cfg, &["prune"]).await;
    assert!(pruned.contains("3 items"), "{pruned}");
    assert_eq!(pg::count(&c, "SELECT count(*) FROM items").await, 3);
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM item_tombstones").await,
        3
    );
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM search s LEFT JOIN items i ON i.id = s.item_id WHERE i.id IS NULL"
        )
        .await,
        0,
        "search rows go with their items"
    );
    assert_eq!(
        pg::count(&c, alpha_near).await,
        0,
        "near-duplicate rows go with their items"
    );
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM near_anchors a LEFT JOIN items i ON i.id = a.item_id WHERE i.id IS NULL"
        )
        .await,
        0,
        "and their anchors"
    );
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM near_items").await,
        all_fingerprints - alpha_fingerprints,
        "the other feeds' fingerprints stay"
    );
    // Alpha still serves them: tombstones keep them from being new again.
    server.set(
        "/a.xml",
        Resource::feed(String::from_utf8(match_body(&server, "/a.xml")).unwrap() + " "),
    );
    let polled = ok(&cfg, &["poll"]).await;
    assert!(polled.contains("0 new"), "{polled}");
    assert_eq!(pg::count(&c, "SELECT count(*) FROM items").await, 3);
}

/// As on SQLite (tests/retention.rs): a feed answering 304 for longer than
/// `keep` still carries its last document's items; pruned, they leave
/// tombstones, and a new entry is the only new item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_of_a_feed_unchanged_for_longer_than_keep_do_not_come_back() {
    let Some((server, _env, cfg, c)) = polled_keeping_two_days("unchanged_keep").await else {
        return;
    };
    // Three days pass; every fetch since the first was answered 304.
    c.batch_execute(THREE_DAYS_OF_304).await.unwrap();
    // `poll` prunes before it fetches (as the daemon does daily).
    let polled = ok(&cfg, &["poll"]).await;
    assert!(polled.contains("0 ok, 3 not modified"), "{polled}");
    assert_eq!(pg::count(&c, "SELECT count(*) FROM items").await, 0);
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM item_tombstones").await,
        6
    );
    let again = ok(&cfg, &["prune"]).await;
    assert!(again.contains("tombstones: 0 added, 0 dropped"), "{again}");

    let body = String::from_utf8(match_body(&server, "/a.xml")).unwrap().replace(
        "</channel>",
        "<item><guid>a9</guid><title>Ferry timetable changes</title>\
         <link>https://alpha.example.org/ferry</link><description>Winter hours.</description></item></channel>",
    );
    server.set("/a.xml", Resource::feed(body));
    let polled = ok(&cfg, &["poll"]).await;
    assert!(polled.contains("1 new"), "{polled}");
    assert_eq!(pg::count(&c, "SELECT count(*) FROM items").await, 1);
}

/// As on SQLite (tests/retention.rs): an item a feed drops after days of 304s
/// counts as carried until it dropped; carried again, it is not new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_dropped_after_days_of_304_is_kept_for_keep_after_the_drop() {
    let Some((server, _env, cfg, c)) = polled_keeping_two_days("dropped_keep").await else {
        return;
    };
    c.batch_execute(THREE_DAYS_OF_304).await.unwrap();
    let whole = String::from_utf8(match_body(&server, "/a.xml")).unwrap();
    let (start, end) = (
        whole.find("<item>").unwrap(),
        whole.find("</item>").unwrap(),
    );
    let dropped = format!("{}{}", &whole[..start], &whole[end + "</item>".len()..]);
    server.set("/a.xml", Resource::feed(dropped));
    let polled = ok(&cfg, &["poll"]).await;
    assert!(polled.contains("0 new"), "{polled}");
    // Its first item is back: still carried within `keep`, not new.
    server.set("/a.xml", Resource::feed(whole));
    let polled = ok(&cfg, &["poll"]).await;
    assert!(polled.contains("0 new"), "{polled}");
    assert_eq!(pg::count(&c, "SELECT count(*) FROM items").await, 0);
}

/// As on SQLite (tests/retention.rs): an item back after pruning, whose old id
/// still names the story another feed's item keeps alive, gets another id;
/// before, its story's insert failed, and with it every fetch of the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_back_after_pruning_does_not_take_its_old_story_id() {
    let server = FeedServer::start().await;
    let a0 = |link: &str, title: &str, text: &str| {
        Resource::feed(rss("A", &[(Some("a0"), Some(link), title, text)])).no_etag()
    };
    server.set(
        "/a.xml",
        a0(
            "https://a.example/0",
            "Harbour reopens",
            "Twelve ships in port today.",
        ),
    );
    server.set(
        "/b.xml",
        Resource::feed(rss(
            "B",
            &[(
                Some("b0"),
                Some("https://a.example/0"),
                "The harbour is open again",
                "Ships are back.",
            )],
        ))
        .no_etag(),
    );
    let Some(url) = pg::fresh_db("item_back").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("postgres.toml");
    let write = |urls: &[&str]| {
        let feeds: String = urls
            .iter()
            .map(|u| format!("[[feed]]\nurl = \"{}\"\n\n", server.url(u)))
            .collect();
        std::fs::write(
            &cfg,
            format!("[store]\nurl = \"{url}\"\nkeep = \"2d\"\n\n{feeds}"),
        )
        .unwrap();
    };
    // a0 first, so it starts the story; then b0 joins it (the same link).
    write(&["/a.xml"]);
    ok(&cfg, &["poll"]).await;
    write(&["/a.xml", "/b.xml"]);
    ok(&cfg, &["poll"]).await;
    let c = pg::client(&url).await;
    let text = |sql: &'static str| {
        let c = &c;
        async move { c.query_one(sql, &[]).await.unwrap().get::<_, String>(0) }
    };
    let story = "SELECT s.uid FROM stories s JOIN items i ON i.story_id = s.id WHERE i.guid = 'b0'";
    let old_uid = text("SELECT uid FROM items WHERE guid = 'a0'").await;
    assert_eq!(text(story).await, old_uid, "a0 started the story b0 joined");

    // a0 first seen ten days ago: pruned; its tombstone then expires.
    c.batch_execute("UPDATE items SET first_seen_at = first_seen_at - 864000 WHERE guid = 'a0'")
        .await
        .unwrap();
    ok(&cfg, &["prune"]).await;
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM items WHERE guid = 'a0'").await,
        0
    );
    c.batch_execute("UPDATE item_tombstones SET last_seen_at = last_seen_at - 864000")
        .await
        .unwrap();
    ok(&cfg, &["prune"]).await;
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM item_tombstones").await,
        0
    );
    assert_eq!(text(story).await, old_uid, "the story lives on through b0");

    // a0 comes back under another link and text: new, with a story of its own.
    server.set(
        "/a.xml",
        a0(
            "https://a.example/0/corrected",
            "Tugboat crews vote to strike over night shifts",
            "The union says talks about night shift pay broke down on Tuesday.",
        ),
    );
    let (code, out, err) = feedloom(&cfg, &["poll"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 failed") && out.contains("1 new"), "{out}");
    let uid = text("SELECT uid FROM items WHERE guid = 'a0'").await;
    assert_ne!(uid, old_uid);
    assert_eq!(
        text("SELECT s.uid FROM stories s JOIN items i ON i.story_id = s.id WHERE i.guid = 'a0'")
            .await,
        uid
    );
}

/// A daemon that is killed however the test ends.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn match_body(server: &FeedServer, path: &str) -> Vec<u8> {
    server.state.resources.lock().unwrap()[path].body.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_serves_outputs_health_and_search_from_postgres() {
    let server = FeedServer::start().await;
    let feeds = server_feeds(&server);
    let Some(url) = pg::fresh_db("daemon").await else {
        return;
    };
    let env = TestEnv::new();
    let port = free_port();
    let cfg = env.path("postgres.toml");
    std::fs::write(
        &cfg,
        format!("[store]\nurl = \"{url}\"\n\n[server]\nlisten = \"127.0.0.1:{port}\"\n\n[defaults]\nspread = \"1s\"\n\n{feeds}"),
    )
    .unwrap();
    let mut child = Daemon(
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .env(
                "FEEDLOOM_LOG",
                std::env::var("FEEDLOOM_LOG").unwrap_or("warn".into()),
            )
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut atom = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // All three feeds stored (six items): then four stories.
        if let Ok(r) = http.get(format!("{base}/metrics")).send().await
            && let Ok(m) = r.text().await
            && m.contains("feedloom_items_stored 6")
            && let Ok(r) = http.get(format!("{base}/all.atom")).send().await
            && let Ok(t) = r.text().await
        {
            atom = t;
            break;
        }
    }
    assert_eq!(
        atom.matches("<entry>").count(),
        4,
        "the daemon stored and serves 4 stories"
    );
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("feedloom_items_stored 6"), "{metrics}");
    let found = http
        .get(format!("{base}/search?q=ferry"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(found.contains("<mark>Ferry</mark>"), "{found}");
    let page = http.get(format!("{base}/all.html")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // A reload that changes the lease says a restart applies it (it said
    // "config reloaded" and kept the old one), then one back says nothing.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let health = || async {
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    for (config, wanted) in [
        (
            text.replacen("[store]\n", "[store]\nlease = \"60s\"\n", 1),
            true,
        ),
        (text.clone(), false),
    ] {
        std::fs::write(&cfg, config).unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.0.id() as i32, libc::SIGHUP) };
        let mut said = String::new();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            said = health().await;
            if said.contains("[store] lease = \\\"1m\\\" (the daemon keeps 2m)") == wanted {
                break;
            }
        }
        assert_eq!(
            said.contains("[store] lease = \\\"1m\\\" (the daemon keeps 2m)"),
            wanted,
            "{said}"
        );
    }
    // The database turns read-only (a standby after a failover): the claims
    // fail, and /healthz says the store is at fault (it said ok while no
    // feed was fetched).
    let db = url.rsplit('/').next().unwrap().to_string();
    let c = pg::client(&url).await;
    c.batch_execute(&format!(
        "ALTER DATABASE {db} SET default_transaction_read_only = on;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = '{db}' AND pid <> pg_backend_pid();"
    ))
    .await
    .unwrap();
    let mut said = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 503
        {
            said = r.text().await.unwrap_or_default();
            break;
        }
    }
    assert!(
        said.contains("\"store\":\"error\"") && said.contains("read-only"),
        "{said}"
    );
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // No lock file: PostgreSQL stores take any number of nodes.
    let (code, _, err) = feedloom(&cfg, &["backup", "/tmp/never-written.db"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!Path::new("/tmp/never-written.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_store_settings_are_named() {
    let Some(_) = pg::admin_url("bad_store_settings") else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("f.toml");
    std::fs::write(
        &cfg,
        "[store]\nurl = \"postgres://feedloom:secret@127.0.0.1/x\"\n",
    )
    .unwrap();
    let (code, _, err) = feedloom(&cfg, &["check"]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("[store] url") && err.contains("password") && !err.contains("secret"),
        "{err}"
    );
    // A server that is not there: exit 1, naming the store.
    let port = free_port();
    std::fs::write(
        &cfg,
        format!("[store]\nurl = \"postgres://feedloom@127.0.0.1:{port}/x\"\n"),
    )
    .unwrap();
    // (`check` too: it called such a store valid, and every node failed.)
    for command in ["poll", "check"] {
        let (code, _, err) = feedloom(&cfg, &[command]).await;
        assert_eq!(code, 1, "{command}");
        assert!(
            err.contains(&format!(
                "cannot connect to the PostgreSQL store postgres://feedloom@127.0.0.1:{port}/x"
            )),
            "{command}: {err}"
        );
    }
    let missing = env.path("nope");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"postgres://feedloom@127.0.0.1:{port}/x\"\npassword_file = \"nope\"\n"
        ),
    )
    .unwrap();
    // A missing password file is the config's fault (exit 2), found at load.
    let (code, _, err) = feedloom(&cfg, &["feeds"]).await;
    assert_eq!(code, 2);
    assert!(err.contains(&missing.display().to_string()), "{err}");
    let (code, _, err) = feedloom(&cfg, &["check"]).await;
    assert_eq!(code, 2, "{err}");
}

/// Newer matches that a feed's rule hides (more than the 2,000 places
/// ranked) do not hide the story shown, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matches_the_rules_hide_do_not_hide_a_story_alike() {
    let server = FeedServer::start().await;
    let rss = |items: &str| {
        format!("<rss version=\"2.0\"><channel><title>C</title>{items}</channel></rss>")
    };
    server.set(
        "/s.xml",
        Resource::feed(rss(
            "<item><guid>s1</guid><link>https://s.example/1</link><title>Real widget news</title>\
             <description>The widget works.</description></item>",
        )),
    );
    server.set("/t.xml", Resource::feed(rss("")).no_etag());
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\nmax_entries = 5000\n\n[[feed]]\nurl = \"{}\"\n\n\
         [[feed]]\nurl = \"{}\"\nexclude = [\"title:sponsored\"]\n",
        server.url("/s.xml"),
        server.url("/t.xml")
    );
    let Some(pair) = Pair::new("rules_hide", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    let ads: String = (0..2100)
        .map(|i| {
            format!(
                "<item><guid>t{i}</guid><link>https://t.example/{i}</link>\
                 <title>Sponsored widget {i}</title><description>widget</description></item>"
            )
        })
        .collect();
    server.set("/t.xml", Resource::feed(rss(&ads)).no_etag());
    pair.run(&["poll"]).await;
    let found = pair.run(&["search", "widget"]).await;
    for listed in &found {
        assert!(listed.contains("Real widget news"), "{listed}");
        assert!(!listed.contains("Sponsored"), "{listed}");
    }
}

/// Rotating guids on a shared link, and a domain move with the same title,
/// text and date, store nothing again, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_guids_and_a_domain_move_store_nothing_again_alike() {
    let server = FeedServer::start().await;
    let serve = |round: u32, domain: &str| {
        let date = "Mon, 02 Nov 2026 10:00:00 GMT";
        server.set(
            "/r.xml",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>R</title>\
                 <item><guid>r{round}</guid><link>https://e.example/</link><title>Harbour</title>\
                 <pubDate>{date}</pubDate><description>Ships.</description></item>\
                 <item><guid>https://{domain}/p/1</guid><link>https://{domain}/p/1</link><title>Post</title>\
                 <pubDate>{date}</pubDate><description>Words.</description></item></channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve(1, "old.example");
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n{}",
        common::feeds_toml(&[server.url("/r.xml")])
    );
    let Some(pair) = Pair::new("rotating_guids", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve(2, "new.example");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new"), "{}", polled[1]);
}

/// A domain move whose new site writes the markup otherwise (a `class` on
/// its paragraphs, line breaks between them), curls its quotes and writes
/// its titles in Title Case stores nothing again, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_move_with_markup_written_otherwise_stores_nothing_again_alike() {
    let server = FeedServer::start().await;
    let serve = |domain: &str, p: &str, sep: &str| {
        let (title, quoted) = match sep {
            "" => ("Don't panic", "&quot;Words&quot; of the post, and"),
            _ => ("Don’t Panic", "“Words” of the post — and"),
        };
        server.set(
            "/m.xml",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>M</title>\
                 <item><guid>https://{domain}/p/1</guid><link>https://{domain}/p/1</link><title>{title}</title>\
                 <pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>\
                 <description>&lt;{p}&gt;{quoted} more.&lt;/p&gt;{sep}&lt;{p}&gt;More words.&lt;/p&gt;</description></item>\
                 </channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve("old.example", "p", "");
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n{}",
        common::feeds_toml(&[server.url("/m.xml")])
    );
    let Some(pair) = Pair::new("move_markup", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve("new.example", "p class=\"entry\"", "\n");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new"), "{}", polled[1]);
}

/// One of a link's text-keyed posts of one title corrected (its date as
/// before) updates the item stored before, on both backends alike (it was
/// stored anew beside the old text).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_keyed_post_corrected_is_updated_alike() {
    let server = FeedServer::start().await;
    let serve = |second: &str| {
        let items: String = [(2, second), (1, "")]
            .iter()
            .map(|(n, extra)| {
                format!(
                    "<item><link>https://club.example/weekly</link><title>Weekly update</title>\
                     <pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate>\
                     <description>Week {n}: the club met on the green.{extra}</description></item>"
                )
            })
            .collect();
        server.set(
            "/w.xml",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>W</title>{items}</channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve("");
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n{}",
        common::feeds_toml(&[server.url("/w.xml")])
    );
    let Some(pair) = Pair::new("text_keyed_fix", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("2 new"), "{}", polled[1]);
    serve(" (Corrected: it rained.)");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(
        polled[1].contains("0 new") && polled[1].contains("1 updated"),
        "{}",
        polled[1]
    );
    // Another post of week 2's date, of other words, in its place: new.
    server.set(
        "/w.xml",
        Resource::feed(
            "<rss version=\"2.0\"><channel><title>W</title>\
             <item><link>https://club.example/weekly</link><title>Weekly update</title>\
             <pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>\
             <description>Allotment plots are open for applications until the end of the month.</description></item>\
             <item><link>https://club.example/weekly</link><title>Weekly update</title>\
             <pubDate>Mon, 01 Nov 2026 10:00:00 GMT</pubDate>\
             <description>Week 1: the club met on the green.</description></item></channel></rss>"
                .to_string(),
        )
        .no_etag(),
    );
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("1 new"), "{}", polled[1]);
}

/// Another feed's copy of one of a link's text-keyed posts joins that
/// post's story, not the oldest at the link, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_one_text_keyed_post_joins_that_post_alike() {
    let server = FeedServer::start().await;
    let news = [
        "The pool reopens on Saturday after the winter repairs to its roof, heating and changing rooms were finished early.",
        "Our library extends its opening hours on weekday evenings so that members who work late can borrow books.",
    ];
    let item = |text: &str| {
        format!(
            "<item><link>https://club.example/weekly</link><title>Weekly update</title>\
             <description>{text}</description></item>"
        )
    };
    let feed = |items: String| {
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>F</title>{items}</channel></rss>"
        ))
        .no_etag()
    };
    server.set(
        "/club.xml",
        feed(format!("{}{}", item(news[1]), item(news[0]))),
    );
    server.set("/planet.xml", feed(String::new()));
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n{}",
        common::feeds_toml(&[server.url("/club.xml"), server.url("/planet.xml")])
    );
    let Some(pair) = Pair::new("text_keyed_copy", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    server.set("/planet.xml", feed(item(news[1])));
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    let listed = pair.run(&["export", "--format", "json"]).await;
    let v: Value = serde_json::from_str(&listed[1]).unwrap();
    let library = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["content_html"].as_str().unwrap_or("").contains("library"))
        .unwrap();
    assert_eq!(
        library["_feedloom"]["sources"].as_array().unwrap().len(),
        2,
        "{}",
        listed[1]
    );
    assert_eq!(undated(&listed[0]), undated(&listed[1]));
}

/// An Atom feed dated only by `<updated>` that moved to another domain
/// stores nothing again, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_atom_move_dated_only_by_updated_stores_nothing_again_alike() {
    let server = FeedServer::start().await;
    let serve = |domain: &str| {
        let entries: String = (1..=2)
            .map(|n| {
                format!(
                    "<entry><id>https://{domain}/p/{n}</id><link href=\"https://{domain}/p/{n}\"/>\
                     <title>Post {n}</title><updated>2026-11-0{n}T10:00:00Z</updated>\
                     <content type=\"html\">&lt;p&gt;The text of post {n}, long enough to read.&lt;/p&gt;</content></entry>"
                )
            })
            .collect();
        server.set(
            "/a.xml",
            Resource::feed(format!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><id>urn:a</id>\
                 <updated>2026-11-02T10:00:00Z</updated>{entries}</feed>"
            ))
            .no_etag(),
        );
    };
    serve("old.example");
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n{}",
        common::feeds_toml(&[server.url("/a.xml")])
    );
    let Some(pair) = Pair::new("atom_updated_move", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve("new.example");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new"), "{}", polled[1]);
}

/// A link without a place (`/changelog`) does not bridge two places of the
/// page (`#v2-4-0`, `#v2-5-0`) into one story, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_without_a_place_bridges_nothing_alike() {
    let server = FeedServer::start().await;
    let serve = |path: &str, item: &str| {
        server.set(
            path,
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>C</title>{item}</channel></rss>"
            ))
            .no_etag(),
        );
    };
    let item = |guid: &str, link: &str, title: &str| {
        format!(
            "<item><guid>{guid}</guid><title>{title}</title><link>https://d.example/{link}</link>\
             <description>Notes of {title}.</description></item>"
        )
    };
    serve("/x.xml", &item("x", "changelog", "Changelog"));
    serve("/a.xml", "");
    serve("/b.xml", "");
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n{}",
        common::feeds_toml(&[
            server.url("/x.xml"),
            server.url("/a.xml"),
            server.url("/b.xml"),
        ])
    );
    let Some(pair) = Pair::new("place_bridge", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    serve("/a.xml", &item("a", "changelog#v2-4-0", "Release 2.4"));
    pair.run(&["poll"]).await;
    serve("/b.xml", &item("b", "changelog#v2-5-0", "Release 2.5"));
    pair.run(&["poll"]).await;
    let exported = pair.run(&["export", "--format", "json"]).await;
    assert_eq!(stories(&exported[0]), stories(&exported[1]));
    assert_eq!(stories(&exported[1]).len(), 2, "{}", exported[1]);
}

/// A story carried by more feeds than a near-duplicate hub holds (25) stays
/// one story, on both backends alike: every copy past the 25th was a story
/// of its own. So does its follow-up that every feed posts under a new
/// headline, and the story's late copies after one feed re-posted it (the
/// hub's items were of two stories, and each late copy split off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_carried_by_thirty_feeds_is_one_story_alike() {
    let server = FeedServer::start().await;
    let text = wire_text(7);
    let item = |n: usize, guid: &str, title: &str, text: &str| {
        format!(
            "<item><guid>{guid}</guid><title>{title}</title>\
             <link>https://paper{n}.example/{guid}</link>\
             <description>{text}</description></item>"
        )
    };
    let doc = |n: usize, items: &str| {
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>W{n}</title>{items}</channel></rss>"
        ))
    };
    let title = "Harbour council approves budget";
    let mut urls = Vec::new();
    for n in 0..35 {
        let path = format!("/w{n}.xml");
        // (The last five carry it late.)
        let items = if n < 30 {
            item(n, &format!("w{n}"), title, &text)
        } else {
            String::new()
        };
        server.set(&path, doc(n, &items));
        urls.push(server.url(&path));
    }
    // (One host: no gap between its requests.)
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\nper_host = 8\n{}",
        common::feeds_toml(&urls)
    );
    let Some(pair) = Pair::new("thirty_feeds", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    let exported = pair.run(&["export", "--format", "json"]).await;
    assert_eq!(stories(&exported[0]), stories(&exported[1]));
    let s = stories(&exported[1]);
    assert_eq!(s.len(), 1, "{s:?}");
    // Every feed posts a follow-up; one re-posts the story in another section.
    let update = format!("{text} {}", wire_text(8));
    for n in 0..30 {
        let mut items = item(n, &format!("w{n}"), title, &text);
        items.push_str(&item(
            n,
            &format!("u{n}"),
            "Budget vote delayed a week",
            &update,
        ));
        if n == 2 {
            items.push_str(&item(n, "moved", title, &text));
        }
        server.set(&format!("/w{n}.xml"), doc(n, &items));
    }
    pair.run(&["poll"]).await;
    for n in 30..35 {
        server.set(
            &format!("/w{n}.xml"),
            doc(n, &item(n, &format!("w{n}"), title, &text)),
        );
    }
    pair.run(&["poll"]).await;
    let exported = pair.run(&["export", "--format", "json"]).await;
    assert_eq!(stories(&exported[0]), stories(&exported[1]));
    let mut sizes: Vec<usize> = stories(&exported[1]).iter().map(|s| s.1).collect();
    sizes.sort_unstable();
    assert_eq!(
        sizes,
        [1, 30, 35],
        "the moved copy, the follow-up, the story"
    );
}

/// A wire story of its own for each `seed`: sentences of words drawn from a
/// vocabulary, so that two seeds share no more than common words.
fn wire_text(seed: usize) -> String {
    const WORDS: &[&str] = &[
        "council",
        "harbour",
        "budget",
        "ferry",
        "bridge",
        "school",
        "river",
        "market",
        "station",
        "library",
        "museum",
        "hospital",
        "farmers",
        "workers",
        "teachers",
        "drivers",
        "engineers",
        "residents",
        "visitors",
        "students",
        "approved",
        "delayed",
        "opened",
        "closed",
        "repaired",
        "expanded",
        "announced",
        "rejected",
        "funded",
        "planned",
        "northern",
        "southern",
        "eastern",
        "western",
        "central",
        "coastal",
        "village",
        "county",
        "province",
        "district",
        "morning",
        "evening",
        "winter",
        "summer",
        "spring",
        "autumn",
        "weekend",
        "contract",
        "tunnel",
        "runway",
        "pipeline",
        "festival",
        "election",
        "hearing",
        "inquiry",
        "report",
        "survey",
        "strike",
        "shortage",
        "surplus",
        "timber",
        "copper",
        "grain",
        "salmon",
        "orchard",
        "vineyard",
        "glacier",
        "canyon",
        "meadow",
        "quarry",
        "lighthouse",
        "cathedral",
        "stadium",
    ];
    let mut x = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut text = String::from("<p>");
    for sentence in 0..6 {
        for w in 0..12 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let word = WORDS[(x % WORDS.len() as u64) as usize];
            if w == 0 {
                let mut c = word.chars();
                let first = c.next().unwrap().to_uppercase().collect::<String>();
                text.push_str(&first);
                text.push_str(c.as_str());
            } else {
                text.push(' ');
                text.push_str(word);
            }
        }
        text.push_str(if sentence == 2 { ".</p><p>" } else { ". " });
    }
    text.push_str("</p>");
    text
}

/// Two nodes store the same stories from two feeds at the same moment, many
/// times over: each story ends up once, carried by both feeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_storing_the_same_story_at_once_make_one_story() {
    use feedloom::identity::identify_document;
    use feedloom::parse::Entry;
    use feedloom::store::Backend;
    let Some(url) = pg::fresh_db("identity").await else {
        return;
    };
    let loc = pg::location(&url);
    let a = Backend::open(&loc, "node-a").await.unwrap();
    let b = Backend::open(&loc, "node-b").await.unwrap();
    let specs: Vec<feedloom::store::model::FeedSpec> = (0..4)
        .map(|i| feedloom::store::model::FeedSpec {
            url: format!("https://feed{i}.example/rss"),
            ..Default::default()
        })
        .collect();
    let refs = a.sync_config(&specs).await.unwrap();
    let rounds = 8;
    let per_round = 25;
    for round in 0..rounds {
        let mut tasks = Vec::new();
        for (f, feed) in refs.iter().enumerate() {
            let entries: Vec<Entry> = (0..per_round)
                .map(|n| {
                    if f < 2 {
                        // Feeds 0 and 1: the same links.
                        Entry {
                            guid: Some(format!("f{f}-r{round}-{n}")),
                            link: Some(format!("https://news.example/r{round}/story-{n}")),
                            title: Some(format!("Story {n} of round {round}")),
                            ..Default::default()
                        }
                    } else {
                        // Feeds 2 and 3: the same wire text under their own links.
                        Entry {
                            guid: Some(format!("f{f}-r{round}-{n}")),
                            link: Some(format!("https://feed{f}.example/r{round}/{n}")),
                            title: Some(format!("Wire {n} of round {round}")),
                            content: Some(wire_text(round * 1000 + n)),
                            ..Default::default()
                        }
                    }
                })
                .collect();
            let items = identify_document(entries);
            let store = if f % 2 == 0 { a.clone() } else { b.clone() };
            let feed = feed.clone();
            tasks.push(tokio::spawn(async move {
                let rec = feedloom::store::feeds::FetchRecord {
                    started_at: feedloom::now_unix(),
                    ..Default::default()
                };
                store
                    .apply_document(
                        feed,
                        rec,
                        Default::default(),
                        Default::default(),
                        items,
                        Default::default(),
                        Default::default(),
                    )
                    .await
                    .unwrap()
                    .committed()
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    let c = pg::client(&url).await;
    let n = (rounds * per_round) as i64;
    assert_eq!(pg::count(&c, "SELECT count(*) FROM items").await, 4 * n);
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM stories").await,
        2 * n,
        "one story per link and one per wire text"
    );
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM stories WHERE item_count <> 2").await,
        0
    );
    assert_eq!(
        pg::count(&c, "SELECT count(*) FROM stories s WHERE item_count <> (SELECT count(*) FROM items i WHERE i.story_id = s.id)").await,
        0
    );
}

/// Entries a feed already holds unchanged are recognised before the costly
/// fingerprint, on PostgreSQL as on SQLite (the parse step's look-up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_entries_are_recognised_before_fingerprinting() {
    use feedloom::identity::Canon;
    use feedloom::parse::Entry;
    use feedloom::refresh::identify_new;
    use feedloom::store::Backend;
    let server = FeedServer::start().await;
    let body = server_feeds(&server);
    let Some(pair) = Pair::new("known", &body).await else {
        return;
    };
    ok(&pair.postgres, &["poll"]).await;
    let c = pg::client(&pair.url).await;
    let feed_id: i64 = c
        .query_one("SELECT id FROM feeds WHERE url LIKE '%/b.xml'", &[])
        .await
        .unwrap()
        .get(0);
    let loc = pg::location(&pair.url);
    let store = Backend::open(&loc, "test-node").await.unwrap();
    let entry = |guid: &str, link: &str, title: &str, text: &str| Entry {
        guid: Some(guid.into()),
        link: Some(link.into()),
        title: Some(title.into()),
        summary: Some(text.into()),
        ..Entry::default()
    };
    let entries = vec![
        entry(
            "b1",
            "https://news.example.org/2024/budget",
            "Council passes budget",
            "The vote was 7 to 2.",
        ),
        entry(
            "b2",
            "https://beta.example.org/ferry",
            "Ferry timetable changes",
            "Later boats on Sundays, and on holidays.",
        ),
        entry(
            "b3",
            "https://beta.example.org/new",
            "A new story",
            "Something else entirely.",
        ),
    ];
    let items = tokio::task::spawn_blocking(move || {
        identify_new(Some((&store, feed_id)), entries, &Canon::default())
    })
    .await
    .unwrap();
    let known: Vec<bool> = items.iter().map(|i| i.known).collect();
    assert_eq!(known, [true, false, false], "stored unchanged, edited, new");
}

/// Nodes that start together on a new database all come up: one migrates, the
/// others wait for it (the version table itself is created under the lock; a
/// concurrent `CREATE TABLE IF NOT EXISTS` used to fail one of them with
/// "type feedloom_schema already exists").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_on_a_new_database_all_come_up() {
    use feedloom::store::Backend;
    for round in 0..6 {
        let Some(url) = pg::fresh_db("startup").await else {
            return;
        };
        let loc = pg::location(&url);
        let opens: Vec<_> = (0..6)
            .map(|n| {
                let loc = loc.clone();
                tokio::spawn(async move { Backend::open(&loc, &format!("node-{n}")).await })
            })
            .collect();
        for (n, open) in opens.into_iter().enumerate() {
            if let Err(e) = open.await.unwrap() {
                panic!("round {round}: node {n} did not come up: {e}");
            }
        }
    }
}

/// Syncing the config (every `poll`, every node start) writes only what
/// changed: the same config again makes no new row version (`xmin`) of any
/// feed or tag, so it takes no row lock the other nodes' fetches would wait
/// on; a changed config changes titles, tags and membership, and a feed that
/// comes back keeps its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_the_same_config_writes_nothing_and_a_changed_one_its_changes() {
    use feedloom::store::Backend;
    use feedloom::store::model::FeedSpec;
    let Some(url) = pg::fresh_db("sync").await else {
        return;
    };
    let loc = pg::location(&url);
    let store = Backend::open(&loc, "node-a").await.unwrap();
    let c = pg::client(&url).await;
    let spec = |url: &str, title: Option<&str>, tags: &[&str]| FeedSpec {
        url: url.to_string(),
        title: title.map(str::to_string),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        url_with_credentials: None,
    };
    let (a, b, cc) = (
        "https://a.example/feed",
        "https://b.example/feed",
        "https://c.example/feed",
    );
    // Every row version of feeds and tags: changes whenever a row is written.
    async fn versions(c: &tokio_postgres::Client) -> Vec<String> {
        let mut v = Vec::new();
        for sql in [
            "SELECT url || ' ' || xmin::text FROM feeds ORDER BY url",
            "SELECT feed_id::text || ' ' || tag || ' ' || xmin::text FROM feed_tags ORDER BY 1",
        ] {
            for r in c.query(sql, &[]).await.unwrap() {
                v.push(r.get::<_, String>(0));
            }
        }
        v
    }
    type FeedRow = (String, Option<String>, bool, Option<String>);
    async fn rows(c: &tokio_postgres::Client) -> Vec<FeedRow> {
        c.query(
            "SELECT url, title, in_config = 1,
                    (SELECT string_agg(tag, ',' ORDER BY tag COLLATE \"C\") FROM feed_tags WHERE feed_id = feeds.id)
             FROM feeds ORDER BY url",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
    }
    let row = |url: &str, title: Option<&str>, on: bool, tags: Option<&str>| {
        (
            url.to_string(),
            title.map(str::to_string),
            on,
            tags.map(str::to_string),
        )
    };
    let ids =
        |refs: Vec<feedloom::store::feeds::FeedRef>| refs.iter().map(|f| f.id).collect::<Vec<_>>();
    // (Mixed case and punctuation: PostgreSQL's collation may sort them
    // otherwise than bytes do.)
    let first = [
        spec(a, Some("A"), &["y", "x", "x", "News", "a-c", "ab"]),
        spec(b, None, &[]),
    ];
    let synced = ids(store.sync_config(&first).await.unwrap());
    let before = versions(&c).await;
    assert_eq!(ids(store.sync_config(&first).await.unwrap()), synced);
    assert_eq!(
        versions(&c).await,
        before,
        "the same config again rewrote rows"
    );
    assert_eq!(
        rows(&c).await,
        [
            row(a, Some("A"), true, Some("News,a-c,ab,x,y")),
            row(b, None, true, None)
        ]
    );
    // A's title and tags change, B leaves the config, C joins it.
    let second = [spec(a, Some("A2"), &["z", "y"]), spec(cc, None, &["x"])];
    let refs = store.sync_config(&second).await.unwrap();
    assert_eq!(refs[0].id, synced[0]);
    assert_eq!(refs[1].url.as_str(), cc);
    assert_eq!(
        rows(&c).await,
        [
            row(a, Some("A2"), true, Some("y,z")),
            row(b, None, false, None),
            row(cc, None, true, Some("x")),
        ]
    );
    // B comes back as it was; A loses its title and tags.
    let third = [spec(a, None, &[]), spec(b, None, &[])];
    assert_eq!(ids(store.sync_config(&third).await.unwrap()), synced);
    assert_eq!(
        rows(&c).await,
        [
            row(a, None, true, None),
            row(b, None, true, None),
            row(cc, None, false, Some("x")),
        ]
    );
    // A URL named twice: the last time decides its title and tags, and both
    // places get the same feed.
    let twice = [
        spec(a, Some("first"), &["p"]),
        spec(b, None, &[]),
        spec(a, Some("last"), &["q"]),
    ];
    let refs = ids(store.sync_config(&twice).await.unwrap());
    assert_eq!(refs, [synced[0], synced[1], synced[0]]);
    assert_eq!(rows(&c).await[0], row(a, Some("last"), true, Some("q")));
}

/// A port nothing listens on now (for a daemon's `listen`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `feedloom run` node on the store `url` whose config is `body` after its
/// `[store]` and `[server]` tables, listening on a free port: the node, killed
/// when dropped, and its port.
fn start_node(env: &TestEnv, url: &str, body: &str) -> (Daemon, u16) {
    let port = free_port();
    let cfg = env.path(&format!("node-{port}.toml"));
    std::fs::write(
        &cfg,
        format!("[store]\nurl = \"{url}\"\n\n[server]\nlisten = \"127.0.0.1:{port}\"\n\n{body}"),
    )
    .unwrap();
    let node = Daemon(
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .env("FEEDLOOM_LOG", "off")
            .spawn()
            .unwrap(),
    );
    (node, port)
}

/// Nodes share the feeds rows: a `poll` (or a node started) with a config
/// that lacks a feed takes it out of the store's config, and a running node
/// whose config names it puts it back at its next tick and goes on fetching
/// it (it stopped for good, with no word anywhere).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_puts_back_the_feeds_an_older_config_took_out() {
    let server = FeedServer::start().await;
    server.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a1"), None, "Alpha one", "x")])),
    );
    server.set(
        "/b.xml",
        Resource::feed(rss("B", &[(Some("b1"), None, "Beta one", "y")])),
    );
    let Some(url) = pg::fresh_db("putback").await else {
        return;
    };
    let env = TestEnv::new();
    let (_node, port) = start_node(
        &env,
        &url,
        &format!(
            "[defaults]\nevery = \"1s\"\nspread = \"0s\"\n\n{}",
            common::feeds_toml(&[server.url("/a.xml"), server.url("/b.xml")])
        ),
    );
    let only_a = env.path("only-a.toml");
    std::fs::write(
        &only_a,
        format!(
            "[store]\nurl = \"{url}\"\n\n{}",
            common::feeds_toml(&[server.url("/a.xml")])
        ),
    )
    .unwrap();
    let c = pg::client(&url).await;
    let in_config_b = async || {
        pg::count(
            &c,
            "SELECT count(*) FROM feeds WHERE url LIKE '%/b.xml' AND in_config = 1",
        )
        .await
    };
    // (0 until the node has made the tables.)
    let fetched_b = async || -> i64 {
        c.query_one(
            "SELECT count(*) FROM fetches f JOIN feeds d ON d.id = f.feed_id
             WHERE d.url LIKE '%/b.xml'",
            &[],
        )
        .await
        .map_or(0, |r| r.get(0))
    };
    for _ in 0..100 {
        if fetched_b().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(fetched_b().await > 0, "the node fetches b");
    // An older config takes b out of the store's config...
    let (code, _, err) = feedloom(&only_a, &["poll"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no longer names feeds"), "{err}");
    // ...and the node whose config names it puts it back, and fetches it.
    let before = fetched_b().await;
    let mut back = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if in_config_b().await == 1 && fetched_b().await > before {
            back = true;
            break;
        }
    }
    assert!(back, "b is in config again and fetched");
    // And its stories are back in the node's outputs (rendered again when
    // the feed was taken out, and again when it was put back).
    let http = reqwest::Client::new();
    let mut shown = false;
    for _ in 0..100 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/all.atom"))
            .send()
            .await
            && let Ok(t) = r.text().await
            && t.contains("Beta one")
            && t.contains("Alpha one")
        {
            shown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shown, "b's story is in the outputs again");
}

/// A store that does not answer (here: a table locked by another session) is
/// a 503 from `/healthz` and `/metrics` in bounded time, not a request that
/// hangs (a load balancer got only timeouts); once it answers, health is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_in_time_when_the_store_does_not() {
    let server = FeedServer::start().await;
    server.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a1"), None, "Alpha one", "x")])),
    );
    let Some(url) = pg::fresh_db("stuck").await else {
        return;
    };
    let env = TestEnv::new();
    let (_node, port) = start_node(&env, &url, &common::feeds_toml(&[server.url("/a.xml")]));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let health = async |path: &str| -> Option<(u16, String)> {
        let r = http
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .ok()?;
        Some((r.status().as_u16(), r.text().await.ok()?))
    };
    let mut up = false;
    for _ in 0..100 {
        if health("/healthz").await.is_some_and(|(c, _)| c == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the node comes up");
    let mut c = pg::client(&url).await;
    let tx = c.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE feeds IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // (Past the second for which /healthz reuses the counts it read.)
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (code, body) = health("/healthz").await.expect("an answer, not a timeout");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("did not answer"), "{body}");
    let (code, body) = health("/metrics").await.expect("an answer, not a timeout");
    assert_eq!(code, 503, "{body}");
    tx.rollback().await.unwrap();
    let mut back = false;
    for _ in 0..100 {
        if health("/healthz").await.is_some_and(|(c, _)| c == 200) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "healthy again once the store answers");
}

/// What SQLite takes and PostgreSQL refused, failing the whole feed on every
/// poll: a NUL in an item's text (JSON's `\u0000`), and a link (so a key and a
/// canonical link) longer than a PostgreSQL index entry may be. Both stored,
/// alike, with the feed's other items; and known again on the next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_and_very_long_links_are_stored_alike() {
    let server = FeedServer::start().await;
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
        {"id":"j1","title":"Nul inside","content_html":"<p>a\u0000b</p>","authors":[{"name":"Ann\u0000"}]},
        {"id":"j2","title":"Plain","content_html":"<p>fine</p>"}]}"#;
    server.set(
        "/j.json",
        Resource::feed(json).content_type("application/feed+json"),
    );
    let long = format!("https://long.example.org/{}", "x".repeat(2_800));
    server.set(
        "/l.xml",
        Resource::feed(rss(
            "L",
            &[
                (None, Some(long.as_str()), "Very long link", "Long."),
                (
                    None,
                    Some("https://long.example.org/short"),
                    "Short link",
                    "Short.",
                ),
            ],
        )),
    );
    let body = common::feeds_toml(&[server.url("/j.json"), server.url("/l.xml")]);
    let Some(pair) = Pair::new("nul_long", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(
        polled[1].contains("2 ok") && polled[1].contains("4 new"),
        "{}",
        polled[1]
    );
    let exported = pair.run(&["export", "--format", "json"]).await;
    assert_eq!(stories(&exported[0]), stories(&exported[1]));
    assert!(exported[1].contains("ab"), "{}", exported[1]);
    assert!(exported[1].contains(&long), "the link as written");
    server.set(
        "/l.xml",
        Resource::feed(rss(
            "L",
            &[
                (None, Some(long.as_str()), "Very long link", "Long, edited."),
                (
                    None,
                    Some("https://long.example.org/short"),
                    "Short link",
                    "Short.",
                ),
            ],
        )),
    );
    let again = pair.run(&["poll"]).await;
    assert_eq!(again[0], again[1]);
    assert!(again[1].contains("0 new, 1 updated"), "{}", again[1]);
}

/// A show's episodes linking to its page, without guid, one in the document
/// at a time: each is an item of its own, and a corrected one stays one,
/// alike on both stores (see tests/stories.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn episodes_sharing_a_show_page_are_each_kept_alike() {
    let server = FeedServer::start().await;
    let episode = |n: u32, title: &str, text: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>Show</title><item><title>{title}</title>\
             <link>https://show.example/podcast</link><description>{text}</description>\
             <enclosure url=\"https://cdn.show.example/ep{n}.mp3?t={n}\" type=\"audio/mpeg\" length=\"1000\"/>\
             </item></channel></rss>"
        )
    };
    let serve = |n: u32, title: &str, text: &str| {
        server.set("/s.xml", Resource::feed(episode(n, title, text)).no_etag());
    };
    serve(1, "Episode 1: harbours", "We talk about harbours.");
    let body = common::feeds_toml(&[server.url("/s.xml")]);
    let Some(pair) = Pair::new("show_page_episodes", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve(2, "Episode 2: bridges", "Bridges and their builders.");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("1 new, 0 updated"), "{}", polled[1]);
    serve(
        2,
        "Episode 2: bridges and tunnels",
        "Bridges, tunnels and their builders.",
    );
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new, 1 updated"), "{}", polled[1]);
    let exported = pair.run(&["export", "--format", "json"]).await;
    assert_eq!(stories(&exported[0]), stories(&exported[1]));
    assert_eq!(stories(&exported[1]).len(), 2, "{}", exported[1]);
}

/// A link whose tracking parameters change is not an edit, on both
/// backends (`utm_campaign` rotated on every fetch announced the story again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_links_tracking_parameters_are_not_an_edit_alike() {
    let server = FeedServer::start().await;
    let serve = |campaign: &str, text: &str| {
        server.set(
            "/t.xml",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>T</title><item><guid>1</guid><title>One</title>\
                 <link>https://e.org/1?utm_campaign={campaign}</link><description>{text}</description>\
                 </item></channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve("monday", "v1");
    let body = common::feeds_toml(&[server.url("/t.xml")]);
    let Some(pair) = Pair::new("tracking_parameters", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve("tuesday", "v1");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new, 0 updated"), "{}", polled[1]);
    // Nor is a body spelled otherwise (`<br>` for `<br/>`, an entity).
    serve("tuesday", "&lt;p&gt;v1&lt;br&gt;&lt;/p&gt;");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new, 1 updated"), "{}", polled[1]);
    serve("tuesday", "&lt;p&gt;&amp;#118;1&lt;br /&gt;&lt;/p&gt;");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new, 0 updated"), "{}", polled[1]);
    serve("wednesday", "v2");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new, 1 updated"), "{}", polled[1]);
}

/// A site that moves to `www.` keeps its guid-less items, and a copy of one
/// of them from another feed at the other spelling joins its story, on both
/// backends alike (every item was stored again, each story published twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_moving_to_www_keeps_its_items_alike() {
    let server = FeedServer::start().await;
    let serve = |path: &str, host: &str, title: &str| {
        server.set(
            path,
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>W</title><item><title>{title}</title>\
                 <link>https://{host}/news/1</link><description>Words of {title}.</description>\
                 </item></channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve("/w.xml", "e.org", "Harbour reopens");
    // (The other copy comes a poll later: which copy is the story's first
    // is the same on both backends.)
    server.set(
        "/x.xml",
        Resource::feed("<rss version=\"2.0\"><channel><title>X</title></channel></rss>").no_etag(),
    );
    let body = common::feeds_toml(&[server.url("/w.xml"), server.url("/x.xml")]);
    let Some(pair) = Pair::new("moving_to_www", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve("/x.xml", "www.e.org", "Port traffic resumes");
    serve("/w.xml", "www.e.org", "Harbour reopens");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("1 new, 0 updated"), "{}", polled[1]);
    let exported = pair.run(&["export", "--format", "json"]).await;
    assert_eq!(stories(&exported[0]), stories(&exported[1]));
    assert_eq!(stories(&exported[1]).len(), 1, "{}", exported[1]);
}

/// A feed writing its dates day first keeps that order, on both backends
/// alike, when its next document's dates all read either way
/// (`feeds.dates_day_first`): `05/12/2026` stays the 5th of December; and
/// so in a store from before the order was kept (the order forgotten
/// between the two polls: the stored dates decide).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_first_feed_keeps_its_order_alike() {
    let server = FeedServer::start().await;
    let serve = |posts: &[(&str, &str)]| {
        server.set(
            "/d.xml",
            Resource::feed(common::dated_rss(true, "10:00", posts)).no_etag(),
        );
    };
    serve(&[("a", "05/12/2026"), ("b", "25/11/2026")]);
    let body = common::feeds_toml(&[server.url("/d.xml")]);
    let Some(pair) = Pair::new("day_first_kept", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    serve(&[("c", "06/12/2026"), ("a", "05/12/2026")]);
    pair.execute_both(
        "UPDATE feeds SET dates_day_first = NULL;
         DELETE FROM store_tasks WHERE task = 'date_order';
         INSERT INTO store_tasks (task, cursor) SELECT 'date_order', max(id) + 1 FROM items;",
    )
    .await;
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("1 new, 0 updated"), "{}", polled[1]);
    let exported = pair.run(&["export", "--format", "json"]).await;
    let dates = |json: &str| -> Vec<(String, String)> {
        let v: Value = serde_json::from_str(json).unwrap();
        let mut out: Vec<(String, String)> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let d = i["date_published"].as_str().unwrap_or("");
                (
                    i["title"].as_str().unwrap().to_string(),
                    d.chars().take(10).collect(),
                )
            })
            .collect();
        out.sort();
        out
    };
    assert_eq!(dates(&exported[0]), dates(&exported[1]));
    let want = [
        ("Post a", "2026-12-05"),
        ("Post b", "2026-11-25"),
        ("Post c", "2026-12-06"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(t, d)| (t.to_string(), d.to_string()))
        .collect();
    assert_eq!(dates(&exported[1]), want);
}

/// A guid once shared by two articles: the one left, its slug edited (same
/// title and text), is updated, not new, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_once_shared_guid_whose_link_moves_is_updated_alike() {
    let server = FeedServer::start().await;
    let item = |guid: &str, link: &str, title: &str| {
        format!(
            "<item><guid>{guid}</guid><title>{title}</title><link>https://e.org/{link}</link>\
             <description>Text of {title}.</description></item>"
        )
    };
    let serve = |items: &[String]| {
        server.set(
            "/g.xml",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>G</title>{}</channel></rss>",
                items.concat()
            ))
            .no_etag(),
        );
    };
    let a = |link: &str| item("G", link, "Harbours reopen");
    serve(&[a("a"), item("G", "b", "Railway strike ends")]);
    let body = common::feeds_toml(&[server.url("/g.xml")]);
    let Some(pair) = Pair::new("shared_guid_moves", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve(&[a("a"), item("c", "c", "Other")]);
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve(&[a("a-renamed"), item("c", "c", "Other")]);
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new, 1 updated"), "{}", polled[1]);
}

/// An entry whose dates alone change is neither new nor updated, and its
/// stored dates follow it, on both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entrys_new_dates_are_stored_alike() {
    let server = FeedServer::start().await;
    let serve = |date: &str| {
        server.set(
            "/d.xml",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>D</title><item><guid>g1</guid><title>One</title>\
                 <description>one</description><pubDate>{date}</pubDate></item></channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve("Tue, 01 Dec 2026 07:00:00 GMT");
    let body = common::feeds_toml(&[server.url("/d.xml")]);
    let Some(pair) = Pair::new("new_dates", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    serve("Fri, 04 Dec 2026 23:00:00 GMT");
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    assert!(polled[1].contains("0 new, 0 updated"), "{}", polled[1]);
    let exported = pair.run(&["export", "--format", "json"]).await;
    // (First-seen times aside: the two backends poll in turn.)
    assert_eq!(unseen(&exported[0]), unseen(&exported[1]));
    let v: Value = serde_json::from_str(&exported[1]).unwrap();
    assert_eq!(
        v["items"][0]["date_published"], "2026-12-04T23:00:00Z",
        "{v}"
    );
}

/// Articles that share a guid, each with its own link, listed together then
/// alone in turn: none takes another's place, and a third one is new, on
/// both backends alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_sharing_a_guid_keep_their_own_items_alike() {
    let server = FeedServer::start().await;
    let serve = |names: &[&str]| {
        let items: String = names
            .iter()
            .map(|n| {
                format!(
                    "<item><guid>dup</guid><title>Item {n}</title><link>https://e.org/{n}</link>\
                     <description>text {n}</description></item>"
                )
            })
            .collect();
        server.set(
            "/d.xml",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>D</title>{items}</channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve(&["a", "b"]);
    let body = common::feeds_toml(&[server.url("/d.xml")]);
    let Some(pair) = Pair::new("shared_guid", &body).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert_eq!(polled[0], polled[1]);
    for (names, summary) in [
        (&["a"][..], "0 new, 0 updated"),
        (&["b"], "0 new, 0 updated"),
        (&["c"], "1 new, 0 updated"),
        (&["a"], "0 new, 0 updated"),
        (&["c"], "0 new, 0 updated"),
        (&["b"], "0 new, 0 updated"),
    ] {
        serve(names);
        let polled = pair.run(&["poll"]).await;
        assert_eq!(polled[0], polled[1], "{names:?}");
        assert!(polled[1].contains(summary), "{names:?}: {}", polled[1]);
    }
    let exported = pair.run(&["export", "--format", "json"]).await;
    // (Times aside: the two backends poll in turn, maybe a second apart.)
    assert_eq!(undated(&exported[0]), undated(&exported[1]));
    let v: Value = serde_json::from_str(&exported[1]).unwrap();
    let mut titles: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["Item a", "Item b", "Item c"]);
}

/// A node's claims outlive it only as long as they must: a node stopped by
/// SIGTERM whose fetch was cut off at the shutdown deadline gives its claim
/// up, and a node killed with SIGKILL has its claims cleared by the next node
/// started on its machine (systemd's restart). Both held the feed, and every
/// other feed of its host, for the whole lease (2 minutes by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_of_a_stopped_or_killed_node_do_not_wait_for_the_lease() {
    let server = FeedServer::start().await;
    let doc = || rss("Slow", &[(Some("s1"), None, "Slow one", "x")]);
    server.set(
        "/slow.xml",
        Resource::feed(doc()).delay(Duration::from_secs(60)),
    );
    let Some(url) = pg::fresh_db("dead_claims").await else {
        return;
    };
    let env = TestEnv::new();
    let port = free_port();
    let cfg = env.path("node.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"{url}\"\n\n[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_timeout = \"1s\"\n\n\
             [defaults]\nevery = \"1s\"\nspread = \"0s\"\n\n{}",
            common::feeds_toml(&[server.url("/slow.xml")])
        ),
    )
    .unwrap();
    let start = || {
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_feedloom"))
                .arg("--config")
                .arg(&cfg)
                .arg("run")
                .env("FEEDLOOM_LOG", "off")
                .spawn()
                .unwrap(),
        )
    };
    let c = pg::client(&url).await;
    let claimed = async || {
        c.query_one(
            "SELECT count(*) FROM feeds WHERE claimed_by IS NOT NULL",
            &[],
        )
        .await
        .map_or(0, |r| r.get::<_, i64>(0))
    };
    let claims_one = async || {
        for _ in 0..100 {
            if claimed().await == 1 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    // SIGTERM while the fetch hangs: cut off after the 1 s deadline.
    let mut node = start();
    assert!(claims_one().await, "the node claims the slow feed");
    let _ = Command::new("kill").arg(node.0.id().to_string()).status();
    let status = node.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(claimed().await, 0, "the cut-off fetch's claim is given up");

    // SIGKILL while the fetch hangs; the next node of this machine starts.
    let mut node = start();
    assert!(claims_one().await, "the node claims the slow feed again");
    node.0.kill().unwrap();
    node.0.wait().unwrap();
    assert_eq!(claimed().await, 1, "a killed node leaves its claim");
    server.set("/slow.xml", Resource::feed(doc()));
    let _next = start();
    let mut fetched = false;
    for _ in 0..100 {
        if pg::count(&c, "SELECT count(*) FROM items").await == 1 {
            fetched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        fetched,
        "the next node fetches the feed at once, not after the lease"
    );
}

/// A feed moved for good, then named in the config by its new address, keeps
/// its row and items on both stores (a new row announced every item again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_feed_named_by_its_new_address_keeps_its_items_alike() {
    let server = FeedServer::start().await;
    server.set(
        "/old.xml",
        Resource::status(301).header("location", "/new.xml"),
    );
    server.set(
        "/new.xml",
        Resource::feed(rss(
            "Moved",
            &[
                (Some("m1"), None, "One", "x"),
                (Some("m2"), None, "Two", "y"),
            ],
        ))
        .no_etag(),
    );
    let body = |path: &str| {
        format!(
            "[defaults]\nredirect_after = 1\n\n{}",
            common::feeds_toml(&[server.url(path)])
        )
    };
    let Some(pair) = Pair::new("moved_feed", &body("/old.xml")).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("2 new")), "{polled:?}");
    for cfg in pair.both() {
        let text = std::fs::read_to_string(cfg).unwrap();
        std::fs::write(cfg, text.replace("/old.xml", "/new.xml")).unwrap();
    }
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("0 new")), "{polled:?}");
    let feeds = pair.run(&["feeds", "--json"]).await;
    for f in &feeds {
        let rows: serde_json::Value = serde_json::from_str(f).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 1, "{f}");
        assert_eq!(rows[0]["url"], server.url("/new.xml"), "{f}");
        assert_eq!(rows[0]["items"], 2, "{f}");
    }
}

/// A feed whose address the config spells otherwise (a `utm_source` added;
/// `http:` for `https:`, a trailing slash) keeps its row and items on both
/// stores: a new row fetched every item again as new, and the pruned ones
/// came back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_spelled_otherwise_keeps_its_items_alike() {
    let server = FeedServer::start().await;
    server.set(
        "/r.xml",
        Resource::feed(rss(
            "Respelled",
            &[
                (Some("r1"), None, "One", "x"),
                (Some("r2"), None, "Two", "y"),
            ],
        ))
        .no_etag(),
    );
    let Some(pair) = Pair::new(
        "respelled_feed",
        &common::feeds_toml(&[server.url("/r.xml"), server.url("/other.xml")]),
    )
    .await
    else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("2 new")), "{polled:?}");
    for cfg in pair.both() {
        let text = std::fs::read_to_string(cfg).unwrap();
        std::fs::write(cfg, text.replace("/r.xml", "/r.xml?utm_source=feedloom")).unwrap();
    }
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("0 new")), "{polled:?}");
    let feeds = pair.run(&["feeds", "--json"]).await;
    for f in &feeds {
        let rows: serde_json::Value = serde_json::from_str(f).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 2, "{f}");
        let respelled = rows
            .iter()
            .find(|r| r["url"] == server.url("/r.xml?utm_source=feedloom"))
            .unwrap_or_else(|| panic!("{f}"));
        assert_eq!(respelled["items"], 2, "{f}");
    }
    // Written two ways for a while (a newer row of the same feed, with only
    // the items of that while), then a third way: the oldest row is taken,
    // its history with it (the newest was, and the older items left the
    // outputs).
    server.set(
        "/r.xml",
        Resource::feed(rss("Respelled", &[(Some("r3"), None, "Three", "z")])).no_etag(),
    );
    for cfg in pair.both() {
        let text = std::fs::read_to_string(cfg).unwrap();
        let other = common::feeds_toml(&[server.url("/r.xml?utm_source=other")]);
        std::fs::write(cfg, format!("{text}\n{other}")).unwrap();
    }
    pair.run(&["poll"]).await;
    for cfg in pair.both() {
        let text = std::fs::read_to_string(cfg).unwrap();
        let text = text
            .replace("/r.xml?utm_source=feedloom", "/r.xml?utm_medium=third")
            .replace(
                &common::feeds_toml(&[server.url("/r.xml?utm_source=other")]),
                "",
            );
        std::fs::write(cfg, text).unwrap();
    }
    pair.run(&["poll"]).await;
    for f in &pair.run(&["feeds", "--json"]).await {
        let rows: serde_json::Value = serde_json::from_str(f).unwrap();
        let third = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["url"] == server.url("/r.xml?utm_medium=third"))
            .unwrap_or_else(|| panic!("{f}"));
        assert_eq!(third["items"], 3, "{f}");
    }
    // A feed disabled by a 410, its address corrected by a respelling, is
    // asked at once: it kept the old row's disabling, and the corrected
    // address was never tried.
    server.set("/gone.xml", Resource::status(410));
    server.set(
        "/gone.xml/",
        Resource::feed(rss("Back", &[(Some("b1"), None, "Back", "b")])).no_etag(),
    );
    for cfg in pair.both() {
        let text = std::fs::read_to_string(cfg).unwrap();
        let gone = common::feeds_toml(&[server.url("/gone.xml")]);
        std::fs::write(cfg, format!("{text}\n{gone}")).unwrap();
    }
    pair.run(&["poll"]).await;
    for cfg in pair.both() {
        let text = std::fs::read_to_string(cfg).unwrap();
        std::fs::write(cfg, text.replace("/gone.xml\"", "/gone.xml/\"")).unwrap();
    }
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("1 new")), "{polled:?}");
    for f in &pair.run(&["feeds", "--json"]).await {
        let rows: serde_json::Value = serde_json::from_str(f).unwrap();
        let back = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["url"] == server.url("/gone.xml/"))
            .unwrap_or_else(|| panic!("{f}"));
        assert_eq!(back["items"], 1, "{f}");
        assert_eq!(back["status"], "ok", "{f}");
    }
}

/// A live blog's post (one of several at one page, without guid) whose
/// title typo is fixed is that post updated on both stores, not a second
/// post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_blog_post_retitled_is_updated_alike() {
    let server = FeedServer::start().await;
    let doc = |title: &str| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Live</title><link>https://n.example/</link>\
             <item><link>https://n.example/live#p1</link><title>Polls open across the country</title><description>Voting began at seven this morning.</description><pubDate>Tue, 05 Nov 2024 07:00:00 GMT</pubDate></item>\
             <item><link>https://n.example/live#p2</link><title>{title}</title><description>Turnout at noon was the highest recorded in twenty years.</description><pubDate>Tue, 05 Nov 2024 08:00:00 GMT</pubDate></item>\
             </channel></rss>"
        )
    };
    server.set(
        "/live.xml",
        Resource::feed(doc("Turnout higher than 2020")).no_etag(),
    );
    let Some(pair) = Pair::new(
        "live_blog_retitled",
        &common::feeds_toml(&[server.url("/live.xml")]),
    )
    .await
    else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("2 new")), "{polled:?}");
    server.set(
        "/live.xml",
        Resource::feed(doc("Turnout higher than in 2020")).no_etag(),
    );
    let polled = pair.run(&["poll"]).await;
    assert!(
        polled.iter().all(|p| p.contains("0 new, 1 updated")),
        "{polled:?}"
    );
}

/// An entry whose link was only a fragment (`<link>#comments</link>`),
/// stored before schema version 13 under a key of the feed's own address
/// (migration 13 cleared its `url`), is that entry when it is read again,
/// keyed by its content now: it was stored again and announced as new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_once_keyed_by_a_fragment_link_is_not_new_again_alike() {
    let server = FeedServer::start().await;
    let doc = |extra: &str| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>F</title><link>https://f.example/</link>\
             {extra}<item><title>Comments fragment item</title><link>#comments</link><description>Its text.</description><pubDate>Tue, 05 Nov 2024 07:00:00 GMT</pubDate></item>\
             </channel></rss>"
        )
    };
    server.set("/f.xml", Resource::feed(doc("")).no_etag());
    let Some(pair) = Pair::new(
        "fragment_keyed",
        &common::feeds_toml(&[server.url("/f.xml")]),
    )
    .await
    else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("1 new")), "{polled:?}");
    // As a store before version 13 keeps it.
    let old = format!(
        "UPDATE items SET key = 'link:{}', key_kind = 'link', url = NULL, canonical_url = '{}'",
        server.url("/f.xml").trim_start_matches("http:"),
        server.url("/f.xml").trim_start_matches("http:")
    );
    pair.execute_both(&old).await;
    server.set(
        "/f.xml",
        Resource::feed(doc(
            "<item><guid>n1</guid><title>Newer</title><description>New.</description></item>",
        ))
        .no_etag(),
    );
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("1 new")), "{polled:?}");
}

/// Two feeds giving one section page as the link of unrelated stories keep
/// two stories on both stores (they were one, and one was lost from the
/// merged feed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrelated_stories_at_one_section_page_stay_apart_alike() {
    let server = FeedServer::start().await;
    let page = Some("https://n.example/news");
    server.set(
        "/a.xml",
        Resource::feed(rss(
            "A",
            &[(
                Some("a1"),
                page,
                "Earthquake of magnitude 6.1 hits northern Japan",
                "A strong earthquake struck off the coast of Hokkaido early on Monday.",
            )],
        )),
    );
    server.set(
        "/b.xml",
        Resource::feed(rss(
            "B",
            &[(
                Some("b1"),
                page,
                "France votes in snap parliamentary election",
                "Voters across France went to the polls on Sunday after parliament was dissolved.",
            )],
        )),
    );
    let toml = common::feeds_toml(&[server.url("/a.xml"), server.url("/b.xml")]);
    let Some(pair) = Pair::new("section_page", &toml).await else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("2 new")), "{polled:?}");
    let exported = pair.run(&["export", "--format", "json"]).await;
    let (s, p) = (stories(&exported[0]), stories(&exported[1]));
    assert_eq!(s, p);
    assert_eq!(p.len(), 2, "{p:?}");
}

/// The key a build before file queries counted gave an entry of nothing but
/// `https://pod.example/download.php?…`.
fn key_before_file_queries() -> String {
    let old = feedloom::identity::identify_document(vec![feedloom::parse::Entry {
        enclosures: vec![feedloom::parse::enclosures::Enclosure {
            url: "https://pod.example/download.php".into(),
            ..Default::default()
        }],
        ..Default::default()
    }]);
    old[0].key.clone()
}

/// Bare episodes named by their query are each an item, and one stored
/// before the query counted (keyed by the file's address alone) is found
/// again and not announced, on both stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_episodes_named_by_their_query_are_each_kept_alike() {
    let server = FeedServer::start().await;
    // (Each fetch signs the files anew.)
    let doc = |eps: &[u32]| {
        let items: String = eps
            .iter()
            .map(|n| format!("<item><enclosure url=\"https://pod.example/download.php?episode={n}&amp;sig=9f86d0{:02x}\" length=\"1\" type=\"audio/mpeg\"/></item>", eps.len()))
            .collect();
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Pod</title>{items}</channel></rss>"
        )
    };
    server.set("/p.xml", Resource::feed(doc(&[12])).no_etag());
    let Some(pair) = Pair::new("query_named", &common::feeds_toml(&[server.url("/p.xml")])).await
    else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("1 new")), "{polled:?}");
    server.set("/p.xml", Resource::feed(doc(&[13, 12])).no_etag());
    let polled = pair.run(&["poll"]).await;
    assert!(
        polled.iter().all(|p| p.contains("1 new, 0 updated")),
        "{polled:?}"
    );
    // As a store before keeps episode 12.
    let old = key_before_file_queries();
    let old = format!(
        "UPDATE items SET key = '{}' WHERE enclosures LIKE '%episode=12&%';
         UPDATE feeds SET body_hash = NULL, entry_seals = NULL",
        old
    );
    pair.execute_both(&old).await;
    server.set("/p.xml", Resource::feed(doc(&[14, 12, 0])).no_etag());
    let polled = pair.run(&["poll"]).await;
    assert!(
        polled.iter().all(|p| p.contains("2 new, 0 updated")),
        "{polled:?}"
    );
    server.set("/p.xml", Resource::feed(doc(&[12])).no_etag());
    let polled = pair.run(&["poll"]).await;
    assert!(
        polled.iter().all(|p| p.contains("0 new, 0 updated")),
        "{polled:?}"
    );
}

/// Bare episodes signed anew at every fetch by a signing scheme's own
/// parameters (`st`/`e`, `verify`), their naming parameters reordered, are
/// the same items; one stored under its parameters as written (a build of
/// 2026-12-06) is found again, on both stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_or_reordered_episode_files_are_the_same_items_alike() {
    let server = FeedServer::start().await;
    let doc = |round: u64, reordered: bool| {
        let t = 1_712_345_600 + round;
        let files = match reordered {
            false => [
                format!("show=c&amp;episode=20&amp;sig=9f86d0{round:02x}"),
                format!("show=b&amp;episode=17&amp;st=Zx0b6JrLh3m9PqWkT2s{round}&amp;e={t}"),
                format!("show=b&amp;episode=18&amp;verify={t}-Zx0b6JrLh3m9PqWkT2s{round}"),
            ],
            true => [
                format!("episode=20&amp;show=c&amp;sig=9f86d0{round:02x}"),
                format!("episode=17&amp;e={t}&amp;show=b&amp;st=Zx0b6JrLh3m9PqWkT2s{round}"),
                format!("episode=%31%38&amp;show=b&amp;verify={t}-Zx0b6JrLh3m9PqWkT2s{round}"),
            ],
        };
        let items: String = files
            .iter()
            .map(|q| format!("<item><enclosure url=\"https://pod.example/dl.php?{q}\" length=\"1\" type=\"audio/mpeg\"/></item>"))
            .collect();
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Pod</title>{items}</channel></rss>"
        )
    };
    server.set("/p.xml", Resource::feed(doc(1, false)).no_etag());
    let Some(pair) = Pair::new("signed_files", &common::feeds_toml(&[server.url("/p.xml")])).await
    else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("3 new")), "{polled:?}");
    for (round, reordered) in [(2, true), (3, false)] {
        server.set("/p.xml", Resource::feed(doc(round, reordered)).no_etag());
        let polled = pair.run(&["poll"]).await;
        assert!(
            polled.iter().all(|p| p.contains("0 new, 0 updated")),
            "round {round}: {polled:?}"
        );
    }
    let key = |file: &str| {
        format!(
            "hash:{}",
            feedloom::identity::short_hash(&["", "", "", file])
        )
    };
    let old = format!(
        "UPDATE items SET key = '{}' WHERE key = '{}';
         UPDATE feeds SET body_hash = NULL, entry_seals = NULL",
        key("https://pod.example/dl.php?show=c&episode=20"),
        key("https://pod.example/dl.php?episode=20&show=c"),
    );
    pair.execute_both(&old).await;
    server.set("/p.xml", Resource::feed(doc(4, false)).no_etag());
    let polled = pair.run(&["poll"]).await;
    assert!(
        polled.iter().all(|p| p.contains("0 new, 0 updated")),
        "{polled:?}"
    );
}

/// An episode stored before under the query-less key it shared with another
/// (the document's first) keeps its row and its file; the other is new, on
/// both stores (it took the stored row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_episode_keeps_its_row_when_another_shared_its_old_key_alike() {
    let server = FeedServer::start().await;
    let doc = |eps: &[u32]| {
        let items: String = eps
            .iter()
            .map(|n| format!("<item><enclosure url=\"https://pod.example/download.php?episode={n}\" length=\"1\" type=\"audio/mpeg\"/></item>"))
            .collect();
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Pod</title>{items}</channel></rss>"
        )
    };
    server.set("/p.xml", Resource::feed(doc(&[12])).no_etag());
    let Some(pair) = Pair::new(
        "shared_old_key",
        &common::feeds_toml(&[server.url("/p.xml")]),
    )
    .await
    else {
        return;
    };
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("1 new")), "{polled:?}");
    let old = key_before_file_queries();
    let old = format!(
        "UPDATE items SET key = '{}'; UPDATE feeds SET body_hash = NULL, entry_seals = NULL",
        old
    );
    pg::client(&pair.url)
        .await
        .batch_execute(&old)
        .await
        .unwrap();
    let sqlite = pair.sqlite.parent().unwrap().join("feedloom.db");
    rusqlite::Connection::open(&sqlite)
        .unwrap()
        .execute_batch(&old)
        .unwrap();
    server.set("/p.xml", Resource::feed(doc(&[12, 11])).no_etag());
    let polled = pair.run(&["poll"]).await;
    assert!(
        polled.iter().all(|p| p.contains("1 new, 0 updated")),
        "{polled:?}"
    );
    let first = "SELECT enclosures FROM items ORDER BY id LIMIT 1";
    let pg_first: String = pg::client(&pair.url)
        .await
        .query_one(first, &[])
        .await
        .unwrap()
        .get(0);
    let sqlite_first: String = rusqlite::Connection::open(&sqlite)
        .unwrap()
        .query_row(first, [], |r| r.get(0))
        .unwrap();
    for f in [pg_first, sqlite_first] {
        assert!(f.contains("episode=12\""), "{f}");
    }
}

/// PostgreSQL's notices are not logged: a word too long to index logged
/// "NOTICE: word is too long to be indexed" at the default log level, at
/// every poll that stored one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notices_are_not_logged() {
    let server = FeedServer::start().await;
    let word = "w".repeat(3000);
    server.set(
        "/long.xml",
        Resource::feed(rss("Long", &[(Some("l1"), None, "Long word", &word)])),
    );
    let Some(url) = pg::fresh_db("notices_not_logged").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("postgres.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"{url}\"\n\n{}",
            common::feeds_toml(&[server.url("/long.xml")])
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("poll")
            .env_remove("FEEDLOOM_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new"));
    assert!(!err.contains("NOTICE"), "{err}");
    // The URL's own `options` still apply (a schema of its own).
    pg::client(&url)
        .await
        .batch_execute("CREATE SCHEMA fl")
        .await
        .unwrap();
    std::fs::write(
        env.path("schema.toml"),
        format!(
            "[store]\nurl = \"{url}?options=-csearch_path%3Dfl\"\n\n{}",
            common::feeds_toml(&[server.url("/long.xml")])
        ),
    )
    .unwrap();
    let (code, _, err) = feedloom(&env.path("schema.toml"), &["poll"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        pg::count(
            &pg::client(&url).await,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'fl' AND tablename = 'items'"
        )
        .await,
        1
    );
}

/// Search reads words alike on both stores: accents do not matter, and
/// every character that is not a letter or digit separates words.
/// PostgreSQL found none of these queries: its parser kept `node.js`,
/// `v1.2.3`, addresses and paths as one word, and accents as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reads_accents_and_punctuation_alike() {
    let server = FeedServer::start().await;
    server.set(
        "/w.xml",
        Resource::feed(rss(
            "Words",
            &[
                (
                    Some("w1"),
                    Some("https://w.example/cafe"),
                    "Café crème in Zürich",
                    "Then São Paulo and İstanbul.",
                ),
                (
                    Some("w2"),
                    Some("https://w.example/node"),
                    "Node.js v1.2.3 released",
                    "Write to user@example.org; files in /usr/local/bin; pi is 3.14.",
                ),
                (
                    Some("w3"),
                    Some("https://w.example/other"),
                    "Nothing here",
                    "Plain words only.",
                ),
                (
                    Some("w4"),
                    Some("https://w.example/strasse"),
                    "Die Straße bleibt gesperrt",
                    "Das ﬁnanzamt sagt nichts.",
                ),
                (
                    Some("w5"),
                    Some("https://w.example/marks"),
                    "Marks xa\u{345}bc kept apart",
                    "Plain text.",
                ),
            ],
        )),
    );
    let body = common::feeds_toml(&[server.url("/w.xml")]);
    let Some(pair) = Pair::new("search_words", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    for (q, want) in [
        ("cafe", "/cafe"),
        ("CRÈME", "/cafe"),
        ("zurich", "/cafe"),
        ("sao paulo", "/cafe"),
        ("\"sao paulo\"", "/cafe"),
        ("node.js", "/node"),
        ("node", "/node"),
        ("v1.2.3", "/node"),
        ("example.org", "/node"),
        ("usr", "/node"),
        ("3.14", "/node"),
        ("zür*", "/cafe"),
        // (A capital dotted I lowers to `i` and a combining dot, which
        // PostgreSQL's query split into two words, found nowhere.)
        ("İstanbul", "/cafe"),
        ("İSTANBUL", "/cafe"),
        ("istanbul", "/cafe"),
        ("İst*", "/cafe"),
        // (`ß` is `ss`, a ligature its letters, in the query as in the index.)
        ("strasse", "/strasse"),
        ("Straße", "/strasse"),
        ("STRAẞE", "/strasse"),
        ("finanzamt", "/strasse"),
        ("ﬁnanzamt", "/strasse"),
        // (A combining mark other than the accents SQLite removes is a
        // space to both: PostgreSQL's index dropped it, and found `xabc`.)
        ("bc", "/marks"),
        ("xa bc", "/marks"),
    ] {
        let found = pair.run(&["search", "--json", q]).await;
        for (store, out) in ["sqlite", "postgres"].iter().zip(&found) {
            let v: Value = serde_json::from_str(out).unwrap();
            let links: Vec<&str> = v
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|h| h["link"].as_str())
                .collect();
            assert_eq!(links.len(), 1, "{store}: {q}: {out}");
            assert!(links[0].ends_with(want), "{store}: {q}: {out}");
        }
    }
    let found = pair.run(&["search", "--json", "xabc"]).await;
    for (store, out) in ["sqlite", "postgres"].iter().zip(&found) {
        assert!(!out.contains("/marks"), "{store}: {out}");
    }
}

/// A `poll` whose feeds another node is fetching says so in its summary
/// (it printed all zeros, with the reason in a log line only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_counts_the_feeds_other_nodes_hold() {
    let server = FeedServer::start().await;
    server.set(
        "/a.xml",
        Resource::feed(rss("A", &[(Some("a1"), None, "Alpha one", "x")])),
    );
    let Some(url) = pg::fresh_db("held_elsewhere").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("pg.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"{url}\"\n\n{}",
            common::feeds_toml(&[server.url("/a.xml")])
        ),
    )
    .unwrap();
    ok(&cfg, &["poll"]).await;
    let c = pg::client(&url).await;
    c.execute(
        "UPDATE feeds SET claimed_by = 'elsewhere:1:1', claimed_until = $1",
        &[&(feedloom::now_unix() + 600)],
    )
    .await
    .unwrap();
    let said = ok(&cfg, &["poll"]).await;
    assert!(
        said.contains(
            "0 ok, 0 not modified, 0 failed, 0 disabled, 1 left to the nodes fetching them"
        ),
        "{said}"
    );
}

/// A host whose politeness keeps hundreds of feeds overdue does not starve
/// another host's: a node claims the first due feeds of each host, not the
/// first 500 due overall (the quiet host's feeds, behind the busy host's,
/// were never fetched).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_host_does_not_starve_a_quiet_one() {
    let server = FeedServer::start().await;
    let mut urls = Vec::new();
    // The busy host, named `localhost`; the quiet one, `127.0.0.1`.
    for i in 0..600 {
        let path = format!("/busy/{i}.xml");
        server.set(
            &path,
            Resource::feed(rss("B", &[(Some("1"), None, "b", "x")])),
        );
        urls.push(format!("http://localhost:{}{path}", server.addr.port()));
    }
    for i in 0..3 {
        let path = format!("/quiet/{i}.xml");
        server.set(
            &path,
            Resource::feed(rss("Q", &[(Some("1"), None, "q", "x")])),
        );
        urls.push(server.url(&path));
    }
    let Some(url) = pg::fresh_db("busy_host").await else {
        return;
    };
    let env = TestEnv::new();
    let port = free_port();
    let cfg = env.path("node.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"{url}\"\n\n[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_timeout = \"1s\"\n\n\
             [fetch]\nper_host = 1\nhost_gap = \"1s\"\n\n[defaults]\nevery = \"1h\"\nspread = \"0s\"\n\n{}",
            common::feeds_toml(&urls)
        ),
    )
    .unwrap();
    let _node = Daemon(
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .env("FEEDLOOM_LOG", "off")
            .spawn()
            .unwrap(),
    );
    let quiet = || {
        server
            .seen()
            .iter()
            .filter(|s| s.path.starts_with("/quiet/"))
            .count()
    };
    let mut fetched = 0;
    for _ in 0..150 {
        fetched = quiet();
        if fetched == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fetched, 3, "the quiet host's feeds were fetched");
}

/// A word written with punctuation (`e-mail`, `1.2`, `covid-19`) is found as
/// FTS5 finds it, its words in order, on both backends (PostgreSQL found
/// them anywhere, in any order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn punctuated_words_are_searched_alike() {
    let server = FeedServer::start().await;
    server.set(
        "/p.xml",
        Resource::feed(rss(
            "P",
            &[
                (
                    Some("1"),
                    None,
                    "Release 1.2 is out",
                    "The e-mail client handles covid-19 notices",
                ),
                (
                    Some("2"),
                    None,
                    "Version 2 fixes 1 bug",
                    "mail, e.g. a notice about covid from 19 labs",
                ),
            ],
        )),
    );
    let body = common::feeds_toml(&[server.url("/p.xml")]);
    let Some(pair) = Pair::new("punctuated", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    for (q, want) in [
        ("1.2", vec!["Release 1.2 is out"]),
        ("e-mail", vec!["Release 1.2 is out"]),
        ("mail-e", vec!["Version 2 fixes 1 bug"]),
        ("covid-19", vec!["Release 1.2 is out"]),
        ("covid-19*", vec!["Release 1.2 is out"]),
        ("mail", vec!["Release 1.2 is out", "Version 2 fixes 1 bug"]),
    ] {
        let found = pair.run(&["search", "--json", q]).await;
        for (backend, json) in ["sqlite", "postgres"].iter().zip(&found) {
            let v: Value = serde_json::from_str(json).unwrap();
            let mut titles: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["title"].as_str().unwrap_or("").to_string())
                .collect();
            titles.sort();
            assert_eq!(titles, want, "{backend}: {q}");
        }
    }
}

/// As on SQLite (tests/filters.rs): a story comes into an output of some
/// tags' feeds, or of `min_sources = 2`, when its item arrives; both backends
/// list the same stories in the same order, page after page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_come_into_tagged_and_shared_outputs_when_their_item_arrives() {
    let server = FeedServer::start().await;
    let item = |g: &str, link: &str, title: &str| {
        (
            g.to_string(),
            format!("https://n.example/{link}"),
            title.to_string(),
        )
    };
    let doc = |items: &[(String, String, String)]| {
        let v: Vec<(Option<&str>, Option<&str>, &str, &str)> = items
            .iter()
            .map(|(g, l, t)| (Some(g.as_str()), Some(l.as_str()), t.as_str(), "<p>x</p>"))
            .collect();
        Resource::feed(rss("F", &v)).no_etag()
    };
    let x = item("a-x", "x", "Story X");
    server.set("/a.xml", doc(std::slice::from_ref(&x)));
    server.set("/b.xml", doc(&[]));
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{}\"\ntags = [\"a\"]\n\n[[feed]]\nurl = \"{}\"\ntags = [\"b\"]\n\n\
         [[output]]\nname = \"b\"\ntags = [\"b\"]\nmax_items = 3\n\n\
         [[output]]\nname = \"shared\"\nmin_sources = 2\nmax_items = 1\n",
        server.url("/a.xml"),
        server.url("/b.xml")
    );
    let Some(pair) = Pair::new("arrival", &body).await else {
        return;
    };
    pair.run(&["poll"]).await;
    let own: Vec<_> = (1..=4)
        .map(|i| item(&format!("b{i}"), &format!("b{i}"), &format!("B story {i}")))
        .collect();
    server.set("/b.xml", doc(&own));
    pair.run(&["poll"]).await;
    let mut with_x = own.clone();
    with_x.push(item("b-x", "x", "Story X"));
    server.set("/b.xml", doc(&with_x));
    pair.run(&["poll"]).await;
    let titles = |json: &str| -> Vec<String> {
        let v: Value = serde_json::from_str(json).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    };
    for (output, expected) in [
        ("b", vec!["Story X", "B story 1", "B story 2"]),
        ("shared", vec!["Story X"]),
    ] {
        let [s, p] = pair
            .run(&["export", "--format", "json", "--output", output])
            .await;
        assert_eq!(titles(&s), expected, "SQLite, {output}");
        assert_eq!(titles(&p), expected, "PostgreSQL, {output}");
    }
}

/// `poll` beside running nodes takes its turns at each host as they do
/// (the shared `hosts` table and `host_gap`): it asked a host the nodes had
/// just asked, at once, and booked nothing for them to wait on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_beside_nodes_keeps_the_shared_host_gap() {
    let server = FeedServer::start().await;
    for i in 0..3 {
        server.set(
            &format!("/g{i}.xml"),
            Resource::feed(rss("G", &[(Some("g"), None, "One story", "Text.")])),
        );
    }
    let Some(url) = pg::fresh_db("host_gap_poll").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("postgres.toml");
    let feeds: Vec<String> = (0..3).map(|i| server.url(&format!("/g{i}.xml"))).collect();
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"{url}\"\n\n[fetch]\nhost_gap = \"1s\"\n\n{}",
            feeds
                .iter()
                .map(|f| format!("[[feed]]\nurl = \"{f}\"\n\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    // A first poll makes the store; then a node books the host's next turn
    // 1.5 s ahead, and the feeds are due again.
    ok(&cfg, &["poll"]).await;
    let c = pg::client(&url).await;
    let booked = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1_500;
    c.execute(
        "UPDATE feeds SET next_fetch_at = 0, etag = NULL, last_modified = NULL",
        &[],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO hosts (host, next_start_ms) VALUES ('127.0.0.1', $1)
         ON CONFLICT (host) DO UPDATE SET next_start_ms = excluded.next_start_ms",
        &[&booked],
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    ok(&cfg, &["poll", "--all"]).await;
    let took = started.elapsed();
    let next: i64 = c
        .query_one(
            "SELECT next_start_ms FROM hosts WHERE host = '127.0.0.1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        next >= booked + 3 * 1_000,
        "poll booked its three turns after the node's: {next} vs {booked}"
    );
    assert!(
        took >= std::time::Duration::from_millis(3_000),
        "three requests, the first 1.5 s ahead, a second apart: {took:?}"
    );
}

/// A feed whose error quotes a NUL from its own bytes (a JSON Feed version
/// ending in `\u0000`): its failure is recorded on both stores, and the
/// other feeds are stored. PostgreSQL's text holds no NUL: the failure was
/// taken for the store's ("feed not stored, nor its failure"), and `poll`
/// exited 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_quoting_a_nul_is_recorded_on_both_stores() {
    let server = FeedServer::start().await;
    server.set(
        "/bad.json",
        Resource::feed(
            r#"{"version":"https://jsonfeed.org/version/9\u0000","title":"x","items":[]}"#,
        )
        .content_type("application/feed+json"),
    );
    server.set(
        "/good.xml",
        Resource::feed(rss(
            "Good",
            &[(Some("g1"), Some("https://g.example.org/1"), "One", "First.")],
        )),
    );
    let body = common::feeds_toml(&[server.url("/bad.json"), server.url("/good.xml")]);
    let Some(pair) = Pair::new("nul_error", &body).await else {
        return;
    };
    for config in pair.both() {
        let (code, out, err) = feedloom(config, &["poll"]).await;
        assert!(
            out.contains("1 ok") && out.contains("1 failed"),
            "{out}{err}"
        );
        assert!(!err.contains("not stored"), "{err}");
        assert_eq!(code, 0, "{out}{err}");
    }
    let feeds = pair.run(&["feeds", "--json"]).await;
    for f in &feeds {
        assert!(f.contains("\\\\0"), "{f}");
    }
}

/// A store address that takes the connection and never answers (a frozen
/// server, another service's port): commands fail within the connect
/// timeout, naming the store (they hung until killed). Needs no PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_never_answers_fails_within_the_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        // Accept and hold every connection, saying nothing.
        let mut open = Vec::new();
        for c in listener.incoming().take(4) {
            open.push(c);
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let env = TestEnv::new();
    let config = env.path("c.toml");
    std::fs::write(
        &config,
        format!("[store]\nurl = \"postgres://feedloom@127.0.0.1:{port}/feedloom\"\n"),
    )
    .unwrap();
    let (code, _, err) = feedloom(&config, &["feeds"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no answer within 10s") && err.contains(&port.to_string()),
        "{err}"
    );
    drop(held);
}

/// A `poll` killed while it held claims (SIGKILL, or `timeout`'s SIGTERM):
/// the next `poll` on this machine releases them, as `run` does, and fetches
/// the feeds (they were "left to the nodes fetching them" for the lease,
/// with no node running).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_releases_the_claims_of_a_killed_poll_of_this_machine() {
    let server = FeedServer::start().await;
    server.set(
        "/a.xml",
        Resource::feed(rss(
            "A",
            &[(Some("a1"), Some("https://a.example.org/1"), "One", "First.")],
        ))
        .no_etag(),
    );
    let body = common::feeds_toml(&[server.url("/a.xml")]);
    let Some(pair) = Pair::new("dead_poll_claims", &body).await else {
        return;
    };
    ok(&pair.postgres, &["poll"]).await;
    let c = pg::client(&pair.url).await;
    // (A pid above any pid_max: that process has ended.)
    let dead = feedloom::app::node_name_of(4_194_305);
    c.execute(
        "UPDATE feeds SET claimed_by = $1, claimed_until = $2",
        &[&dead, &(feedloom::now_unix() + 3600)],
    )
    .await
    .unwrap();
    let (code, out, err) = feedloom(&pair.postgres, &["poll", "--all"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1 ok") && !out.contains("left to"),
        "{out}{err}"
    );
}

/// `prune` and `enable` on a database feedloom never set up refuse, making
/// nothing, as on SQLite (they created every table, and `prune` said
/// "removed 0 items").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_and_enable_set_up_no_empty_database() {
    let Some(url) = pg::fresh_db("never_set_up").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("c.toml");
    std::fs::write(
        &cfg,
        format!("[store]\nurl = \"{url}\"\nkeep = \"30d\"\n\n[[feed]]\nurl = \"https://a.example.org/f.xml\"\n"),
    )
    .unwrap();
    let c = pg::client(&url).await;
    for args in [&["prune"][..], &["enable", "https://a.example.org/f.xml"]] {
        let (code, out, err) = feedloom(&cfg, args).await;
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(
            err.contains("schema version 0") && err.contains("feedloom poll"),
            "{err}"
        );
        let tables = pg::count(
            &c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        )
        .await;
        assert_eq!(tables, 0, "{args:?} made nothing");
    }
}

/// A TCP relay to the test cluster that can stop passing bytes (a server
/// stopped with SIGSTOP, a network cut): its connections stay open and
/// nothing more goes through until it thaws. Returns its port.
async fn freezable_relay(to: String, frozen: std::sync::Arc<std::sync::atomic::AtomicBool>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn pipe(
        mut r: tokio::net::tcp::OwnedReadHalf,
        mut w: tokio::net::tcp::OwnedWriteHalf,
        frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let mut buf = vec![0u8; 16384];
        loop {
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            while frozen.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if w.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((c, _)) = l.accept().await {
            let Ok(s) = tokio::net::TcpStream::connect(&to).await else {
                continue;
            };
            let (cr, cw) = c.into_split();
            let (sr, sw) = s.into_split();
            tokio::spawn(pipe(cr, sw, frozen.clone()));
            tokio::spawn(pipe(sr, cw, frozen.clone()));
        }
    });
    port
}

/// The PostgreSQL server stops answering mid-statement (SIGSTOP, a network
/// cut) while the daemon claims feeds: SIGTERM still stops it, at once, and
/// a statement left unanswered fails within its deadline, naming the store
/// as the fault (the daemon hung until the server came back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_does_not_hold_the_daemon() {
    let server = FeedServer::start().await;
    server.set(
        "/f.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "One", "First.")])),
    );
    let Some(url) = pg::fresh_db("frozen_server").await else {
        return;
    };
    let (head, db) = url.rsplit_once('/').unwrap();
    let (user, addr) = head
        .trim_start_matches("postgres://")
        .rsplit_once('@')
        .unwrap();
    let frozen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let relay = freezable_relay(addr.to_string(), frozen.clone()).await;
    let env = TestEnv::new();
    let port = free_port();
    let cfg = env.path("node.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"postgres://{user}@127.0.0.1:{relay}/{db}\"\n\n[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_timeout = \"1s\"\n\n\
             [fetch]\nhost_gap = \"0s\"\n\n[defaults]\nevery = \"1s\"\nspread = \"0s\"\n\n{}",
            common::feeds_toml(&[server.url("/f.xml")])
        ),
    )
    .unwrap();
    let log = env.path("node.log");
    let mut node = Daemon(
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .env("FEEDLOOM_LOG", "warn")
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let fetched = || server.seen().iter().filter(|s| s.path == "/f.xml").count();
    for _ in 0..100 {
        if fetched() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(fetched() >= 2, "the node polls every second");
    frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    // A statement is sent and never answered: it fails after its deadline,
    // and the node goes on trying (each try failing the same way).
    let deadline = feedloom::store::postgres::pool::STATEMENT_DEADLINE;
    tokio::time::sleep(deadline + Duration::from_secs(4)).await;
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains(&format!("no answer within {}s", deadline.as_secs())),
        "{said}"
    );
    unsafe { libc::kill(node.0.id() as i32, libc::SIGTERM) };
    let mut status = None;
    for _ in 0..200 {
        if let Some(s) = node.0.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    frozen.store(false, std::sync::atomic::Ordering::SeqCst);
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        status.is_some(),
        "SIGTERM stops the node while the server is frozen: {said}"
    );
}

/// Another program's database (tables of its own, no feedloom schema) is
/// not made a store: nothing is created in it, and the error says why
/// (feedloom's tables went in beside a `customers` table, or stopped half-way
/// on a `hosts` table of its own, and every later start failed). A role
/// without CREATE on the schema writes a store that is set up (every writer
/// created the version table first, and failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_programs_database_is_not_made_a_store_and_a_role_without_create_writes() {
    use feedloom::store::Backend;
    let Some(url) = pg::fresh_db("another_programs_database").await else {
        return;
    };
    let c = pg::client(&url).await;
    c.batch_execute("CREATE TABLE hosts (id int); CREATE TABLE customers (id int)")
        .await
        .unwrap();
    let err = match Backend::open(&pg::location(&url), "test-node").await {
        Ok(_) => panic!("opened another program's database as a store"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("holds other tables (customers, hosts)") && err.contains("no feedloom schema"),
        "{err}"
    );
    assert_eq!(
        pg::count(
            &c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .await,
        2,
        "nothing created"
    );
    // A database not in UTF-8 is not made a store either (in LATIN1 every
    // feed with another character failed at every poll, as if the feed
    // were at fault; in SQL_ASCII search found no word but ASCII ones).
    let Some(ascii) = pg::fresh_db_with(
        "a_database_not_in_utf8",
        "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
    )
    .await
    else {
        return;
    };
    let err = match Backend::open(&pg::location(&ascii), "test-node").await {
        Ok(_) => panic!("made a SQL_ASCII database a store"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("the database's encoding is SQL_ASCII") && err.contains("ENCODING 'UTF8'"),
        "{err}"
    );
    let a = pg::client(&ascii).await;
    assert_eq!(
        pg::count(
            &a,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .await,
        0,
        "nothing created"
    );
    // A store set up by its owner, written by a role that may only use it.
    let Some(url) = pg::fresh_db("a_role_without_create").await else {
        return;
    };
    drop(Backend::open(&pg::location(&url), "owner").await.unwrap());
    let c = pg::client(&url).await;
    let db: String = c
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    c.batch_execute(&format!(
        "DROP ROLE IF EXISTS {db}_app; CREATE ROLE {db}_app LOGIN;
         REVOKE CREATE ON SCHEMA public FROM PUBLIC;
         GRANT USAGE ON SCHEMA public TO {db}_app;
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {db}_app;
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {db}_app;"
    ))
    .await
    .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let (scheme_user, host) = base.split_once('@').unwrap();
    let scheme = scheme_user.split("//").next().unwrap();
    let app_url = format!("{scheme}//{db}_app@{host}/{db}");
    let store = Backend::open(&pg::location(&app_url), "app-node").await;
    assert!(store.is_ok(), "{:?}", store.err().map(|e| e.to_string()));
}

/// `search` says why the database refused it, as `feeds` does (it said only
/// "db error").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_names_why_the_database_refused() {
    let Some(admin) = pg::admin_url("search_names_why") else {
        return;
    };
    let (base, _) = admin.rsplit_once('/').unwrap();
    let env = TestEnv::new();
    let cfg = env.path("pg.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"{base}/no_such_db_here\"\n\n[[feed]]\nurl = \"https://a.example/f\"\n"
        ),
    )
    .unwrap();
    for args in [&["search", "word"][..], &["feeds"]] {
        let (code, _, err) = feedloom(&cfg, args).await;
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("no_such_db_here") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
}

/// Two nodes spreading the first fetches of the same feeds at once (a
/// cluster's nodes started together), each listing them in its own order,
/// never deadlock: each locks the rows in the order of their ids (one node
/// died at start-up with "deadlock detected").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_spreading_first_fetches_at_once_never_deadlock() {
    use feedloom::store::Backend;
    let body: String = (0..400)
        .map(|i| format!("[[feed]]\nurl = \"https://f{i}.example/f\"\n\n"))
        .collect();
    let Some(pair) = Pair::new("spread", &body).await else {
        return;
    };
    let cfg = feedloom::config::parse(
        &std::fs::read_to_string(&pair.postgres).unwrap(),
        &pair.postgres,
    )
    .unwrap();
    let location = pg::location(&pair.url);
    let first = Backend::open(&location, "node-a").await.unwrap();
    let second = Backend::open(&location, "node-b").await.unwrap();
    let feeds = first.sync_config(&cfg.feeds).await.unwrap();
    let ids: Vec<i64> = feeds.iter().map(|f| f.id).collect();
    for round in 0..15i64 {
        let now = 1_000_000 + round * 10_000;
        let forward: Vec<(i64, i64)> = ids.iter().map(|&id| (id, now + id)).collect();
        let backward: Vec<(i64, i64)> =
            forward.iter().rev().map(|&(id, at)| (id, at + 1)).collect();
        let (a, b) = tokio::join!(
            first.spread_due(now + 5_000, forward),
            second.spread_due(now + 5_000, backward),
        );
        a.unwrap();
        b.unwrap();
    }
}

/// `check` asks a PostgreSQL store once: another program's database is
/// named (exit 1), as by the read commands (they said "schema version 0 …
/// run `feedloom poll` to set it up", which then refused it); an empty
/// database, which `poll` sets up, is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_readers_name_another_programs_database() {
    let Some(url) = pg::fresh_db("check_foreign").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("f.toml");
    std::fs::write(
        &cfg,
        format!("[store]\nurl = \"{url}\"\n[[feed]]\nurl = \"https://a.example/f\"\n"),
    )
    .unwrap();
    let (code, out, err) = feedloom(&cfg, &["check"]).await;
    assert_eq!(code, 0, "an empty database: {err}");
    assert!(out.contains("is valid"), "{out}");
    pg::client(&url)
        .await
        .batch_execute("CREATE TABLE customers (id int); CREATE TABLE entries (id int)")
        .await
        .unwrap();
    for command in [&["check"][..], &["feeds"], &["search", "x"]] {
        let (code, _, err) = feedloom(&cfg, command).await;
        assert_eq!(code, 1, "{command:?}: {err}");
        assert!(
            err.contains("holds other tables (customers, entries) and no feedloom schema"),
            "{command:?}: {err}"
        );
    }
    // `backup` names a `pg_dump` that runs as printed: the user as an option.
    let (code, _, err) = feedloom(&cfg, &["backup", "b.dump"]).await;
    assert_eq!(code, 2);
    let u = url::Url::parse(&url).unwrap();
    assert!(
        err.contains(&format!(
            "pg_dump --format=custom --file=b.dump -h 127.0.0.1 -p {} -U {} ",
            u.port().unwrap(),
            u.username()
        )),
        "{err}"
    );
}

/// A URL whose search_path names no schema that exists is said as such
/// ("no schema has been selected to create in" named neither).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_path_of_no_schema_is_named() {
    let Some(url) = pg::fresh_db("no_schema").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("f.toml");
    std::fs::write(
        &cfg,
        format!("[store]\nurl = \"{url}?options=-csearch_path%3Dnosuch\"\n"),
    )
    .unwrap();
    let (code, _, err) = feedloom(&cfg, &["poll"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no schema of its search_path (nosuch) exists")
            && err.contains("CREATE SCHEMA"),
        "{err}"
    );
}

/// Times a clock that was ahead wrote (a store polled "in 2027", the clock
/// then corrected) are moved to now when a writer opens the store, on both
/// stores: the stories first seen then stayed above every story seen since,
/// in every output, for as long as the clock had been ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_a_clock_ahead_wrote_are_moved_to_now_alike() {
    let server = FeedServer::start().await;
    server.set(
        "/p.xml",
        Resource::feed(rss("P", &[(Some("a"), None, "Written ahead", "first")])),
    );
    let Some(pair) = Pair::new("clock_ahead", &common::feeds_toml(&[server.url("/p.xml")])).await
    else {
        return;
    };
    pair.run(&["poll"]).await;
    let year = 365 * 86_400;
    pair.execute_both(&format!(
        "UPDATE items SET first_seen_at = first_seen_at + {year}, changed_at = changed_at + {year},
                          last_seen_at = last_seen_at + {year};
         UPDATE stories SET first_seen_at = first_seen_at + {year}, changed_at = changed_at + {year};
         UPDATE near_items SET first_seen_at = first_seen_at + {year};"
    ))
    .await;
    server.set(
        "/p.xml",
        Resource::feed(rss(
            "P",
            &[
                (Some("b"), None, "Seen since", "second"),
                (Some("a"), None, "Written ahead", "first"),
            ],
        )),
    );
    let polled = pair.run(&["poll"]).await;
    assert!(polled.iter().all(|p| p.contains("1 new")), "{polled:?}");
    let now = chrono::Utc::now().timestamp();
    for json in pair.run(&["export", "--format", "json"]).await {
        let v: Value = serde_json::from_str(&json).unwrap();
        let items = v["items"].as_array().unwrap();
        assert_eq!(items[0]["title"], "Seen since", "newest first: {json}");
        for item in items {
            let seen = chrono::DateTime::parse_from_rfc3339(
                item["_feedloom"]["first_seen"].as_str().unwrap(),
            )
            .unwrap()
            .timestamp();
            assert!(seen <= now + 600, "{json}");
        }
    }
}

/// `check` and the readers on a database being set up (a node has made
/// `feedloom_schema` and is filling it) do not call it another program's;
/// `check` names, before any node fails on it, a database not in UTF-8
/// and a role that may not create feedloom's tables in an empty one (it
/// called both valid, and the first node failed on "permission denied for
/// schema public", naming neither store nor role). A role that lacks the
/// rights to write is told what it needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_a_store_being_set_up_and_one_no_node_could_set_up() {
    let Some(url) = pg::fresh_db("check_setting_up").await else {
        return;
    };
    let env = TestEnv::new();
    let cfg = env.path("f.toml");
    let write = |url: &str| {
        std::fs::write(
            &cfg,
            format!("[store]\nurl = \"{url}\"\n[[feed]]\nurl = \"https://a.example/f\"\n"),
        )
        .unwrap()
    };
    write(&url);
    pg::client(&url)
        .await
        .batch_execute(
            "CREATE TABLE feedloom_schema (version integer PRIMARY KEY, name text NOT NULL, \
             applied_at bigint NOT NULL); CREATE TABLE feeds (id int)",
        )
        .await
        .unwrap();
    let (code, out, err) = feedloom(&cfg, &["check"]).await;
    assert_eq!(code, 0, "being set up: {err}");
    assert!(out.contains("is valid"), "{out}");
    let (code, _, err) = feedloom(&cfg, &["feeds"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("schema version 0") && err.contains("if a node is setting it up now"),
        "{err}"
    );
    assert!(!err.contains("another program"), "{err}");
    // Not in UTF-8: named by `check`, nothing created.
    let Some(ascii) = pg::fresh_db_with(
        "check_not_utf8",
        "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
    )
    .await
    else {
        return;
    };
    write(&ascii);
    let (code, _, err) = feedloom(&cfg, &["check"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the database's encoding is SQL_ASCII"),
        "{err}"
    );
    // A role that may not create tables in an empty database.
    let Some(empty) = pg::fresh_db("check_no_create").await else {
        return;
    };
    let c = pg::client(&empty).await;
    let db: String = c
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    c.batch_execute(&format!(
        "DROP ROLE IF EXISTS {db}_ro; CREATE ROLE {db}_ro LOGIN;
         REVOKE CREATE ON SCHEMA public FROM PUBLIC;
         GRANT USAGE ON SCHEMA public TO {db}_ro;"
    ))
    .await
    .unwrap();
    let (base, _) = empty.rsplit_once('/').unwrap();
    let (scheme_user, host) = base.split_once('@').unwrap();
    let scheme = scheme_user.split("//").next().unwrap();
    let ro_url = format!("{scheme}//{db}_ro@{host}/{db}");
    write(&ro_url);
    for command in [&["check"][..], &["poll"]] {
        let (code, _, err) = feedloom(&cfg, command).await;
        assert_eq!(code, 1, "{command:?}: {err}");
        assert!(
            err.contains(&format!(
                "role {db}_ro may not create tables in schema public"
            )) && err.contains(&format!("GRANT CREATE ON SCHEMA public TO {db}_ro")),
            "{command:?}: {err}"
        );
    }
    // Set up by its owner; the role may read, not write.
    write(&empty);
    let (code, _, err) = feedloom(&cfg, &["poll"]).await;
    assert_eq!(code, 0, "{err}");
    c.batch_execute(&format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {db}_ro;"
    ))
    .await
    .unwrap();
    write(&ro_url);
    let (code, _, err) = feedloom(&cfg, &["feeds"]).await;
    assert_eq!(code, 0, "a reader: {err}");
    let (code, _, err) = feedloom(&cfg, &["poll"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("permission denied") && err.contains("lacks the rights a node needs"),
        "{err}"
    );
}
