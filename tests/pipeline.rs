//! The core pipeline end to end: a local HTTP server, `poll`, the SQLite rows and
//! the exported feeds.

mod common;

use common::*;
use feedloom::config::Format;
use feedloom::export;
use feedloom::refresh::{Summary, poll};

/// Renders output `name` (or the implicit one) in `format` from the test store.
fn export_text(env: &TestEnv, cfg: &feedloom::config::Config, format: Format) -> String {
    let out = cfg
        .outputs
        .first()
        .cloned()
        .unwrap_or_else(feedloom::config::OutputConfig::implicit);
    let store = env.open_store();
    let bytes = store
        .with(|s| export::render_output(s, &out, format, feedloom::now_unix(), None))
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn parse_back(text: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(text.as_bytes()).unwrap()
}

async fn poll_once(env: &TestEnv, cfg: &feedloom::config::Config) -> Summary {
    poll(cfg, env.open_store()).await.unwrap().0
}

#[tokio::test]
async fn second_poll_is_conditional_and_gets_304_everywhere() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let mut urls = Vec::new();
    for i in 0..3 {
        let path = format!("/f{i}.xml");
        srv.set(
            &path,
            Resource::feed(rss("t", &[(Some("g1"), None, "one", "d")])),
        );
        urls.push(srv.url(&path));
    }
    // One server that only sends Last-Modified.
    srv.set(
        "/lm.xml",
        Resource::feed(rss("t", &[(Some("g1"), None, "one", "d")]))
            .no_etag()
            .header("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    urls.push(srv.url("/lm.xml"));
    let cfg = env.config(&feeds_toml(&urls));

    let first = poll_once(&env, &cfg).await;
    assert_eq!(first.ok, 4);
    assert_eq!(first.new, 4);
    // The first poll sends nothing conditional: it has no validators yet.
    assert!(srv.seen().iter().all(|s| s.if_none_match.is_none()));
    let ua = srv.seen()[0].user_agent.clone().unwrap();
    assert!(ua.starts_with("feedloom/"), "{ua}");

    srv.clear_seen();
    let second = poll_once(&env, &cfg).await;
    let seen = srv.seen();
    assert_eq!(seen.len(), 4);
    for s in seen.iter().filter(|s| s.path != "/lm.xml") {
        assert!(s.if_none_match.is_some(), "{s:?}");
        assert_eq!(s.status, 304, "{s:?}");
    }
    let lm = seen.iter().find(|s| s.path == "/lm.xml").unwrap();
    assert_eq!(
        lm.if_modified_since.as_deref(),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(second.not_modified, 3);
    assert_eq!(second.new, 0);
    assert_eq!(env.count("SELECT count(*) FROM items"), 4);
    assert_eq!(
        env.count(
            "SELECT count(*) FROM fetches WHERE outcome = 'not_modified' AND http_status = 304"
        ),
        3
    );
}

#[tokio::test]
async fn same_document_adds_nothing_and_one_new_entry_adds_one_item() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let items = vec![
        (Some("a"), Some("https://example.org/a"), "A", "text a"),
        (Some("b"), Some("https://example.org/b"), "B", "text b"),
    ];
    srv.set("/f.xml", Resource::feed(rss("t", &items)).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    assert_eq!(poll_once(&env, &cfg).await.new, 2);

    // Re-served with 200 (no validators): nothing new, nothing updated.
    let again = poll_once(&env, &cfg).await;
    assert_eq!((again.ok, again.new, again.updated), (1, 0, 0));
    assert_eq!(env.count("SELECT count(*) FROM items"), 2);

    let mut more = vec![(Some("c"), Some("https://example.org/c"), "C", "text c")];
    more.extend(items);
    srv.set("/f.xml", Resource::feed(rss("t", &more)).no_etag());
    let third = poll_once(&env, &cfg).await;
    assert_eq!((third.new, third.updated), (1, 0));
    assert_eq!(env.count("SELECT count(*) FROM items"), 3);
    let atom = parse_back(&export_text(&env, &cfg, Format::Atom));
    let titles: Vec<_> = atom
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect();
    assert_eq!(
        titles,
        ["C", "A", "B"],
        "newest first by first seen, then document order"
    );
}

#[tokio::test]
async fn entries_without_guid_or_link_are_not_duplicated() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/miniflux/inline/rss/TestParseEntryWithoutLinkAndWithoutGUID.xml");
    let body = std::fs::read(&corpus).unwrap_or_else(|_| {
        // Same shape as Miniflux's test feed, for checkouts without ../shared.
        rss(
            "t",
            &[(None, None, "Item 1", "d"), (None, None, "Item 2", "e")],
        )
        .into_bytes()
    });
    srv.set("/f.xml", Resource::feed(body).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    for _ in 0..3 {
        poll_once(&env, &cfg).await;
    }
    assert_eq!(env.count("SELECT count(*) FROM items"), 2);
    assert_eq!(
        env.count("SELECT count(*) FROM items WHERE key_kind = 'hash'"),
        2
    );
    let json: serde_json::Value =
        serde_json::from_str(&export_text(&env, &cfg, Format::Json)).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn duplicate_guids_with_different_links_keep_both() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let doc = rss(
        "t",
        &[
            (Some("dup"), Some("https://example.org/a"), "Item A", "a"),
            (Some("dup"), Some("https://example.org/b"), "Item B", "b"),
        ],
    );
    srv.set("/f.xml", Resource::feed(doc).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    poll_once(&env, &cfg).await;
    poll_once(&env, &cfg).await;
    assert_eq!(env.count("SELECT count(*) FROM items"), 2);
    let rss_out = parse_back(&export_text(&env, &cfg, Format::Rss));
    let mut links: Vec<_> = rss_out
        .entries
        .iter()
        .map(|e| e.links[0].href.clone())
        .collect();
    links.sort();
    assert_eq!(links, ["https://example.org/a", "https://example.org/b"]);
}

#[tokio::test]
async fn an_edited_entry_updates_in_place_and_keeps_its_output_id() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let v1 = rss(
        "t",
        &[(
            Some("g"),
            Some("https://example.org/p"),
            "Old title",
            "old text",
        )],
    );
    srv.set("/f.xml", Resource::feed(v1));
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    poll_once(&env, &cfg).await;
    let before = parse_back(&export_text(&env, &cfg, Format::Atom));

    let v2 = rss(
        "t",
        &[(
            Some("g"),
            Some("https://example.org/p"),
            "New title",
            "new text",
        )],
    );
    srv.set("/f.xml", Resource::feed(v2));
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (0, 1));
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
    let after = parse_back(&export_text(&env, &cfg, Format::Atom));
    assert_eq!(after.entries.len(), 1);
    assert_eq!(
        after.entries[0].id, before.entries[0].id,
        "output id is stable"
    );
    assert_eq!(
        after.entries[0].title.as_ref().unwrap().content,
        "New title"
    );
    let json: serde_json::Value =
        serde_json::from_str(&export_text(&env, &cfg, Format::Json)).unwrap();
    assert_eq!(
        json["items"][0]["id"].as_str().unwrap(),
        before.entries[0].id
    );
    assert!(
        json["items"][0]["content_html"]
            .as_str()
            .unwrap()
            .contains("new text")
    );
}

/// An author that appears where none was stored (a newer reading's
/// `itunes:author`, a feed naming its authors from now on), or goes, is
/// stored, and the item is not announced as updated, whether or not the
/// document changed meanwhile (after the upgrade that read `itunes:author`,
/// every episode of a podcast whose `lastBuildDate` had moved was
/// announced). An author that changes is an update.
/// The same files listed in another order are no update (each flip was
/// announced, the story moved to the top under `updates = "reannounce"`); a
/// file replaced still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_listed_in_another_order_are_no_update() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let doc = |files: &[&str]| {
        let files: String = files
            .iter()
            .map(|f| {
                format!(
                    "<enclosure url=\"https://cdn.example/{f}\" length=\"1\" type=\"audio/mpeg\"/>"
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Pod</title>\
             <item><guid>e1</guid><title>Episode 1</title><description>Show notes.</description>{files}</item>\
             </channel></rss>"
        )
    };
    srv.set("/f.xml", Resource::feed(doc(&["a.mp3", "b.mp3"])).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    poll_once(&env, &cfg).await;
    let changed = || env.count("SELECT changed_at FROM stories");
    let before = changed();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for files in [["b.mp3", "a.mp3"], ["a.mp3", "b.mp3"]] {
        srv.set("/f.xml", Resource::feed(doc(&files)).no_etag());
        let s = poll_once(&env, &cfg).await;
        assert_eq!((s.new, s.updated), (0, 0), "{files:?}: {s}");
    }
    assert_eq!(changed(), before);
    srv.set("/f.xml", Resource::feed(doc(&["a.mp3", "c.mp3"])).no_etag());
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (0, 1), "a file replaced: {s}");
}

/// A feed that writes its dates day first keeps that order when its next
/// document holds only dates that read either way: its `07/12/2026` stays the
/// 7th of December once the `25/11/2026` post has left the feed (it was read
/// as the 12th of July again, the stored date moved with it, and the new
/// `08/12/2026` post was dated the 12th of August).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_first_feed_keeps_its_order_when_its_dates_read_either_way() {
    day_first_feed(false).await;
}

/// So for a store from before the order was kept (schema version 13, the
/// feed's order unknown) whose feed changed before the upgraded feedloom
/// read it: the dates it stored decide (found by a black-box round of
/// upgrades: the stored dates moved by months during the upgrade).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_the_order_was_kept_keeps_its_dates() {
    day_first_feed(true).await;
}

/// So for items keyed by their content (no guid, no link: their date is part
/// of their key) and entries dated only by `<updated>` (found by the
/// re-attack: their dates moved by months, the order left unknown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_the_order_was_kept_keeps_every_kind_of_date() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let rss = |posts: &[(&str, &str)]| dated_rss(false, "10:00", posts);
    let atom = |posts: &[(&str, &str)]| {
        let entries: String = posts
            .iter()
            .map(|(n, date)| {
                format!(
                    "<entry><id>urn:e:{n}</id><title>Entry {n}</title>\
                     <summary>Texte {n}.</summary><updated>{date} 10:00</updated></entry>"
                )
            })
            .collect();
        format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Le flux</title><id>urn:f</id>{entries}</feed>"
        )
    };
    let serve = |day: u32| {
        let (first, second) = match day {
            1 => (("1", "25/11/2026"), ("2", "07/12/2026")),
            _ => (("3", "08/12/2026"), ("2", "07/12/2026")),
        };
        srv.set("/h.xml", Resource::feed(rss(&[second, first])).no_etag());
        srv.set("/u.xml", Resource::feed(atom(&[second, first])).no_etag());
    };
    let day = |sql: &str| env.day(sql);
    serve(1);
    let cfg = env.config(&feeds_toml(&[srv.url("/h.xml"), srv.url("/u.xml")]));
    poll_once(&env, &cfg).await;
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE dates_day_first = 1"),
        2
    );
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(AS_BEFORE_THE_ORDER_WAS_KEPT)
        .unwrap();
    serve(2);
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (2, 0), "{s}");
    assert_eq!(
        env.count("SELECT count(*) FROM items WHERE title = 'Post 2'"),
        1
    );
    assert_eq!(
        day("SELECT published_at FROM items WHERE title = 'Post 2'"),
        "2026-12-07"
    );
    assert_eq!(
        day("SELECT published_at FROM items WHERE title = 'Post 3'"),
        "2026-12-08"
    );
    assert_eq!(
        day("SELECT updated_at FROM items WHERE title = 'Entry 2'"),
        "2026-12-07"
    );
    assert_eq!(
        day("SELECT updated_at FROM items WHERE title = 'Entry 3'"),
        "2026-12-08"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE dates_day_first = 1"),
        2
    );
}

/// A US feed whose dates read either way keeps them month first when its
/// next document changes, a new feed's too (found by the re-attack: the
/// entries left out of one reading as unchanged counted for the other, and
/// `12/03/2026` moved to the 12th of March, the order set day first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_us_feed_whose_dates_read_either_way_keeps_them() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let doc = |posts: &[(&str, &str)]| dated_rss(true, "07:30", posts);
    let day = |n: &str| {
        env.day(&format!(
            "SELECT published_at FROM items WHERE title = 'Post {n}'"
        ))
    };
    srv.set(
        "/us.xml",
        Resource::feed(doc(&[("2", "12/04/2026"), ("1", "12/03/2026")])).no_etag(),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/us.xml")]));
    poll_once(&env, &cfg).await;
    srv.set(
        "/us.xml",
        Resource::feed(doc(&[
            ("3", "12/05/2026"),
            ("2", "12/04/2026"),
            ("1", "12/03/2026"),
        ]))
        .no_etag(),
    );
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (1, 0), "{s}");
    assert_eq!(
        [day("1"), day("2"), day("3")],
        ["2026-12-03", "2026-12-04", "2026-12-05"]
    );
    assert_ne!(
        env.count("SELECT COALESCE(dates_day_first, -1) FROM feeds"),
        1
    );
}

/// An entry edited since the upgrade (its `<updated>` moved) keeps its
/// `published` date, and a feed whose next document holds only new posts is
/// not set month first by them (found by the re-attack: the edited entry
/// matched neither reading whole, and its date moved by months; the new
/// posts, read month first under an unknown order, then set the feed so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_feeds_edited_and_new_entries_settle_no_wrong_order() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let atom = |entries: &[(&str, &str, &str)]| {
        let entries: String = entries
            .iter()
            .map(|(n, published, updated)| {
                format!(
                    "<entry><id>urn:e:{n}</id><title>Entry {n}</title><summary>Text {n}.</summary>\
                     <published>{published} 10:00</published><updated>{updated} 10:00</updated></entry>"
                )
            })
            .collect();
        format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Flux</title><id>urn:f</id>{entries}</feed>"
        )
    };
    let day = |sql: &str| env.day(sql);
    srv.set(
        "/a.xml",
        Resource::feed(atom(&[
            ("z", "25/11/2026", "25/11/2026"),
            ("e1", "01/12/2026", "01/12/2026"),
        ]))
        .no_etag(),
    );
    srv.set(
        "/n.xml",
        Resource::feed(dated_rss(true, "10:00", &[("1", "25/11/2026")])).no_etag(),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/a.xml"), srv.url("/n.xml")]));
    poll_once(&env, &cfg).await;
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE dates_day_first = 1"),
        2
    );
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(AS_BEFORE_THE_ORDER_WAS_KEPT)
        .unwrap();
    srv.set(
        "/a.xml",
        Resource::feed(atom(&[
            ("e1", "01/12/2026", "04/12/2026"),
            ("e3", "05/12/2026", "05/12/2026"),
        ]))
        .no_etag(),
    );
    srv.set(
        "/n.xml",
        Resource::feed(dated_rss(
            true,
            "10:00",
            &[("3", "05/12/2026"), ("2", "04/12/2026")],
        ))
        .no_etag(),
    );
    poll_once(&env, &cfg).await;
    assert_eq!(
        day("SELECT published_at FROM items WHERE title = 'Entry e1'"),
        "2026-12-01"
    );
    assert_eq!(
        day("SELECT published_at FROM items WHERE title = 'Entry e3'"),
        "2026-12-05"
    );
    // (Nothing tells the other feed's order: its new posts read month first,
    // as a new feed's; known. They settle nothing.)
    srv.set(
        "/n.xml",
        Resource::feed(dated_rss(
            true,
            "10:00",
            &[("4", "06/12/2026"), ("3", "05/12/2026")],
        ))
        .no_etag(),
    );
    poll_once(&env, &cfg).await;
    assert_eq!(
        env.count("SELECT COALESCE(dates_day_first, -1) FROM feeds WHERE url LIKE '%/n.xml'"),
        -1
    );
}

/// What migration 14 leaves in a store that held items: no feed's order
/// known, and the items stored before it marked as an older feedloom's.
const AS_BEFORE_THE_ORDER_WAS_KEPT: &str = "UPDATE feeds SET dates_day_first = NULL;
     INSERT OR REPLACE INTO store_tasks (task, cursor) SELECT 'date_order', max(id) + 1 FROM items;";

/// A day-first feed polled twice, the second document's dates reading
/// either way; with `upgraded`, the feed's order forgotten in between.
async fn day_first_feed(upgraded: bool) {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let doc = |posts: &[(&str, &str)]| dated_rss(true, "10:00", posts);
    let published = |guid: &str| {
        env.day(&format!(
            "SELECT published_at FROM items WHERE title = 'Post {guid}'"
        ))
    };
    let order = || env.count("SELECT COALESCE(dates_day_first, -1) FROM feeds");
    srv.set(
        "/f.xml",
        Resource::feed(doc(&[("a", "07/12/2026"), ("b", "25/11/2026")])).no_etag(),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    poll_once(&env, &cfg).await;
    assert_eq!(published("a"), "2026-12-07");
    assert_eq!(order(), 1);
    if upgraded {
        rusqlite::Connection::open(env.path("feedloom.db"))
            .unwrap()
            .execute_batch(AS_BEFORE_THE_ORDER_WAS_KEPT)
            .unwrap();
    }
    srv.set(
        "/f.xml",
        Resource::feed(doc(&[("c", "08/12/2026"), ("a", "07/12/2026")])).no_etag(),
    );
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (1, 0), "{s}");
    assert_eq!(published("a"), "2026-12-07", "the stored date kept");
    assert_eq!(published("c"), "2026-12-08", "the new post read day first");
    assert_eq!(order(), 1);
    // A document that shows month first turns the feed's order.
    srv.set(
        "/f.xml",
        Resource::feed(doc(&[("d", "11/30/2026"), ("c", "08/12/2026")])).no_etag(),
    );
    poll_once(&env, &cfg).await;
    assert_eq!(order(), 0);
    assert_eq!(published("c"), "2026-08-12");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_where_none_was_stored_is_no_update() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let doc = |build: &str, author: &str| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Pod</title>\
             <lastBuildDate>{build}</lastBuildDate>\
             <item><guid>e1</guid><title>Episode 1</title><description>Show notes.</description>{author}</item>\
             </channel></rss>"
        )
    };
    srv.set(
        "/f.xml",
        Resource::feed(doc("Sun, 06 Dec 2026 10:00:00 GMT", "")).no_etag(),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    poll_once(&env, &cfg).await;
    let changed = || env.count("SELECT changed_at FROM stories");
    let before = changed();
    srv.set(
        "/f.xml",
        Resource::feed(doc(
            "Mon, 07 Dec 2026 10:00:00 GMT",
            "<dc:creator xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Ann Host</dc:creator>",
        ))
        .no_etag(),
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (0, 0), "{s}");
    assert_eq!(changed(), before);
    assert_eq!(
        env.count("SELECT count(*) FROM items WHERE author = 'Ann Host'"),
        1,
        "the author is stored"
    );
    // Nor is one gone (a feed whose author came and went announced every
    // entry each time).
    srv.set(
        "/f.xml",
        Resource::feed(doc("Mon, 07 Dec 2026 10:30:00 GMT", "")).no_etag(),
    );
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (0, 0), "{s}");
    srv.set(
        "/f.xml",
        Resource::feed(doc(
            "Mon, 07 Dec 2026 10:40:00 GMT",
            "<dc:creator xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Ann Host</dc:creator>",
        ))
        .no_etag(),
    );
    poll_once(&env, &cfg).await;
    // Another author is an edit.
    srv.set(
        "/f.xml",
        Resource::feed(doc(
            "Mon, 07 Dec 2026 11:00:00 GMT",
            "<dc:creator xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Bob Host</dc:creator>",
        ))
        .no_etag(),
    );
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.new, s.updated), (0, 1), "{s}");
}

/// An RSS document in a legacy encoding: `declare` puts it in the prolog.
fn encoded_doc(
    enc: &'static encoding_rs::Encoding,
    label: &str,
    title: &str,
    declare: bool,
) -> Vec<u8> {
    let prolog = if declare {
        format!("<?xml version=\"1.0\" encoding=\"{label}\"?>\n")
    } else {
        String::new()
    };
    let text = format!(
        "{prolog}<rss version=\"2.0\"><channel><title>{title}</title><link>https://example.org/</link><description>d</description><item><guid>1</guid><title>{title}</title><description>{title}</description></item></channel></rss>"
    );
    let (bytes, _, unmappable) = enc.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test]
async fn legacy_encodings_come_out_as_utf8_in_every_format() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let uk = "Новини України: вибори";
    let ko = "한국어 뉴스 속보";
    let cases = [
        (
            "/cp1251-decl.xml",
            encoding_rs::WINDOWS_1251,
            "windows-1251",
            uk,
            true,
        ),
        (
            "/cp1251-header.xml",
            encoding_rs::WINDOWS_1251,
            "windows-1251",
            uk,
            false,
        ),
        ("/euckr-decl.xml", encoding_rs::EUC_KR, "EUC-KR", ko, true),
        (
            "/euckr-header.xml",
            encoding_rs::EUC_KR,
            "EUC-KR",
            ko,
            false,
        ),
    ];
    let mut urls = Vec::new();
    for (path, enc, label, title, declare) in cases {
        let body = encoded_doc(enc, label, title, declare);
        // Declared documents get a plain header; the others carry the charset only there.
        let ct = if declare {
            "application/rss+xml".to_string()
        } else {
            format!("application/rss+xml; charset={label}")
        };
        srv.set(path, Resource::feed(body).content_type(&ct));
        urls.push(srv.url(path));
    }
    // Two feeds carry each text: list items, not merged stories, to see all four.
    let cfg = env.config(&format!(
        "{}[[output]]\nname = \"all\"\ndedup = \"item\"\n",
        feeds_toml(&urls)
    ));
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.ok, s.failed), (4, 0));

    let atom = export_text(&env, &cfg, Format::Atom);
    let rss_text = export_text(&env, &cfg, Format::Rss);
    let json = export_text(&env, &cfg, Format::Json);
    for text in [&atom, &rss_text, &json] {
        assert!(text.matches(uk).count() >= 2, "{text}");
        assert!(text.matches(ko).count() >= 2, "{text}");
    }
    for text in [&atom, &rss_text] {
        let feed = parse_back(text);
        let titles: Vec<_> = feed
            .entries
            .iter()
            .map(|e| e.title.clone().unwrap().content)
            .collect();
        assert_eq!(titles.iter().filter(|t| *t == uk).count(), 2, "{titles:?}");
        assert_eq!(titles.iter().filter(|t| *t == ko).count(), 2, "{titles:?}");
    }
    let feed = parse_back(&json);
    assert_eq!(feed.entries.len(), 4);
    let titles: Vec<String> = env
        .reader()
        .prepare("SELECT title FROM items ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(titles.iter().all(|t| t == uk || t == ko), "{titles:?}");
}

#[tokio::test]
async fn one_failing_feed_does_not_hurt_the_others() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    srv.set(
        "/good.xml",
        Resource::feed(rss("good", &[(Some("1"), None, "fine", "d")])),
    );
    srv.set("/500.xml", Resource::status(500));
    srv.set(
        "/html.xml",
        Resource::feed("<html><body>not a feed</body></html>").content_type("text/html"),
    );
    srv.set(
        "/broken.xml",
        Resource::feed("<rss version=\"2.0\"><channel><title>x</title><item><title>"),
    );
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let urls = vec![
        srv.url("/good.xml"),
        srv.url("/500.xml"),
        srv.url("/missing.xml"),
        srv.url("/html.xml"),
        srv.url("/broken.xml"),
        format!("http://{closed}/feed.xml"),
    ];
    let cfg = env.config(&feeds_toml(&urls));
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.ok, s.failed, s.new), (1, 5, 1));
    assert_eq!(env.count("SELECT count(*) FROM items"), 1);
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE last_status = 'error' AND consecutive_failures = 1 AND last_error IS NOT NULL"),
        5
    );
    assert_eq!(
        env.count("SELECT count(*) FROM fetches WHERE outcome = 'error' AND error IS NOT NULL"),
        5
    );
    let err: String = env
        .reader()
        .query_row(
            "SELECT last_error FROM feeds WHERE url LIKE '%/500.xml'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(err.contains("500"), "{err}");
    let err: String = env
        .reader()
        .query_row(
            "SELECT last_error FROM feeds WHERE url LIKE '%/html.xml'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(err.contains("not a feed"), "{err}");
    // A second failure counts up; a success resets.
    srv.set(
        "/500.xml",
        Resource::feed(rss("back", &[(Some("2"), None, "back", "d")])),
    );
    poll_once(&env, &cfg).await;
    assert_eq!(
        env.count("SELECT consecutive_failures FROM feeds WHERE url LIKE '%/missing.xml'"),
        2
    );
    assert_eq!(
        env.count("SELECT consecutive_failures FROM feeds WHERE url LIKE '%/500.xml' AND last_status = 'ok' AND last_error IS NULL"),
        0
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_nothing_is_stored() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let bodies: Vec<String> = (0..200)
        .map(|i| format!("{i} {}", "x".repeat(100)))
        .collect();
    let items: Vec<_> = bodies
        .iter()
        .map(|b| (Some(b.as_str()), None, "t", b.as_str()))
        .collect();
    let doc = rss("big", &items);
    assert!(doc.len() > 20 * 1024);
    srv.set("/big.xml", Resource::feed(doc.clone()));
    // Compressed on the wire it is small; the limit counts the decompressed bytes.
    let packed = gzip(doc.as_bytes());
    assert!(packed.len() < 8 * 1024);
    srv.set(
        "/big.gz.xml",
        Resource::feed(packed).header("content-encoding", "gzip"),
    );
    let urls = [srv.url("/big.xml"), srv.url("/big.gz.xml")];
    let cfg = env.config(&format!(
        "[fetch]\nmax_body = \"8KiB\"\n\n{}",
        feeds_toml(&urls)
    ));
    let s = poll_once(&env, &cfg).await;
    assert_eq!(s.failed, 2);
    assert_eq!(env.count("SELECT count(*) FROM items"), 0);
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE last_error LIKE '%max_body%'"),
        2
    );

    // Under a large enough limit the same gzip response is read in full.
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "[fetch]\nmax_body = \"1MiB\"\n\n{}",
        feeds_toml(&urls)
    ));
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.ok, s.new), (2, 400));
}

/// Gzip as servers really send it: several members in a row (a file
/// appended to, or compressed in pieces), and feedloom asks for it.
#[tokio::test]
async fn gzip_of_several_members_is_one_body_and_is_asked_for() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let doc = rss(
        "members",
        &[
            (Some("m1"), None, "first member", "a"),
            (Some("m2"), None, "second member", "b"),
        ],
    );
    let (head, tail) = doc.split_at(doc.len() / 2);
    let packed = [gzip(head.as_bytes()), gzip(tail.as_bytes())].concat();
    srv.set(
        "/members.xml",
        Resource::feed(packed).header("content-encoding", "gzip"),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/members.xml")]));
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.ok, s.failed, s.new), (1, 0, 2));
    let seen = srv.seen();
    let asked = seen[0].headers["accept-encoding"].to_str().unwrap();
    assert!(asked.split(',').any(|c| c.trim() == "gzip"), "{asked}");
}

/// A feed is asked for as a feed (`Accept` names the feed formats first; it
/// was `*/*`, and a server that negotiates content may send its page), and
/// a feed's own `Accept` replaces it.
#[tokio::test]
async fn feeds_are_asked_for_as_feeds() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    for p in ["/plain.xml", "/own.json"] {
        srv.set(p, Resource::feed(rss("F", &[(Some("1"), None, "t", "d")])));
    }
    let cfg = env.config(&format!(
        "[[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\nheaders = {{ \"Accept\" = \"application/json\" }}\n",
        srv.url("/plain.xml"),
        srv.url("/own.json")
    ));
    let s = poll_once(&env, &cfg).await;
    assert_eq!((s.ok, s.failed), (2, 0), "{s}");
    let accept = |path: &str| -> Vec<String> {
        let seen = srv.seen();
        let one = seen.iter().find(|r| r.path == path).unwrap();
        one.headers
            .get_all("accept")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    };
    let plain = accept("/plain.xml");
    assert_eq!(plain.len(), 1, "{plain:?}");
    assert!(
        plain[0].starts_with("application/rss+xml, application/atom+xml, application/feed+json"),
        "{plain:?}"
    );
    assert_eq!(accept("/own.json"), ["application/json"]);
    // (A generic JSON ranks no higher than a page: a server that negotiates
    // sent its API's JSON for a page that names its feed.)
    let q = |media: &str| -> Option<f32> {
        plain[0].split(',').find_map(|m| {
            let mut parts = m.trim().split(';');
            (parts.next()? == media).then(|| {
                parts
                    .find_map(|p| p.trim().strip_prefix("q=")?.parse().ok())
                    .unwrap_or(1.0)
            })
        })
    };
    assert_eq!(q("application/json"), None, "{plain:?}");
    assert_eq!(q("text/html"), None, "{plain:?}");
    assert!(q("*/*").is_some(), "{plain:?}");
}

#[tokio::test]
async fn three_formats_parse_back_to_the_same_stories() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    srv.set(
        "/a.xml",
        Resource::feed(rss(
            "Feed A",
            &[
                (
                    Some("1"),
                    Some("https://a.example/1"),
                    "First &amp; foremost",
                    "<p>Hello <b>world</b><script>alert(1)</script></p>",
                ),
                (Some("2"), Some("https://a.example/2"), "Second", "plain"),
            ],
        )),
    );
    srv.set(
        "/b.atom",
        Resource::feed(
            r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Feed B</title><id>urn:b</id><updated>2024-01-01T00:00:00Z</updated>
<entry><id>urn:b:1</id><title>Atom entry &lt;3</title><link href="https://b.example/1"/><updated>2024-01-02T03:04:05Z</updated>
<author><name>Ann Author</name></author><content type="html">&lt;p onclick="x()"&gt;Body&lt;/p&gt;</content></entry></feed>"#,
        )
        .content_type("application/atom+xml"),
    );
    let cfg = env.config(&format!(
        "{}[[output]]\nname = \"all\"\npath = \"out/all\"\n",
        feeds_toml(&[srv.url("/a.xml"), srv.url("/b.atom")])
    ));
    poll_once(&env, &cfg).await;
    // poll wrote the files.
    let atom = read(&env.path("out/all.atom"));
    let rss_text = read(&env.path("out/all.rss"));
    let json = read(&env.path("out/all.json"));
    assert!(!atom.contains("<script") && !atom.contains("onclick"));
    assert!(!json.contains("<script") && !json.contains("onclick"));

    let parsed: Vec<feed_rs::model::Feed> = [&atom, &rss_text, &json]
        .iter()
        .map(|t| parse_back(t))
        .collect();
    let summary = |f: &feed_rs::model::Feed| {
        let mut v: Vec<(String, String, String)> = f
            .entries
            .iter()
            .map(|e| {
                (
                    e.id.clone(),
                    e.title.clone().unwrap().content,
                    e.links.first().map(|l| l.href.clone()).unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let reference = summary(&parsed[0]);
    assert_eq!(reference.len(), 3);
    assert!(reference.iter().any(|(_, t, _)| t == "First & foremost"));
    assert!(reference.iter().any(|(_, t, _)| t == "Atom entry <3"));
    assert_eq!(summary(&parsed[2]), reference);
    // RSS titles are HTML-escaped on purpose (many readers take them for HTML),
    // so a reader that reads them as HTML sees the same titles.
    let rss_as_html: Vec<_> = summary(&parsed[1])
        .into_iter()
        .map(|(id, t, l)| {
            let t = t
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            (id, t, l)
        })
        .collect();
    assert_eq!(rss_as_html, reference);
    // Dates survive: the Atom entry's updated time in all three.
    for f in &parsed {
        let e = f
            .entries
            .iter()
            .find(|e| e.title.as_ref().unwrap().content.starts_with("Atom entry"))
            .unwrap();
        let when = e.updated.or(e.published).unwrap();
        assert!(when.to_rfc3339().starts_with("2024-01-0"), "{when}");
    }
    // Sources are named.
    assert!(atom.contains("<source>") && atom.contains(&srv.url("/b.atom")));
    assert!(rss_text.contains(&format!(
        "<source url=\"{}\">Feed A</source>",
        srv.url("/a.xml")
    )));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["_feedloom"]["source"]["feed_url"].is_string())
    );
    assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");

    // A poll that changes nothing rewrites no file.
    let mtime = std::fs::metadata(env.path("out/all.atom"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    poll_once(&env, &cfg).await;
    assert_eq!(
        std::fs::metadata(env.path("out/all.atom"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
}

#[tokio::test]
async fn outputs_filter_by_tag_window_and_limit() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    srv.set(
        "/news.xml",
        Resource::feed(rss(
            "News",
            &[
                (Some("n1"), None, "news 1", "d"),
                (Some("n2"), None, "news 2", "d"),
            ],
        )),
    );
    srv.set(
        "/blog.xml",
        Resource::feed(rss("Blog", &[(Some("b1"), None, "blog 1", "d")])),
    );
    let cfg = env.config(&format!(
        "[[feed]]\nurl = \"{}\"\ntags = [\"news\"]\n\n[[feed]]\nurl = \"{}\"\ntags = [\"blog\"]\n\n[[output]]\nname = \"news\"\ntags = [\"news\"]\nmax_items = 1\nwindow = \"1h\"\n",
        srv.url("/news.xml"),
        srv.url("/blog.xml")
    ));
    poll_once(&env, &cfg).await;
    let feed = parse_back(&export_text(&env, &cfg, Format::Atom));
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].title.as_ref().unwrap().content, "news 1");
    // Items first seen long ago fall out of the window.
    env.reader();
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(
            "UPDATE items SET first_seen_at = first_seen_at - 7200;
             UPDATE stories SET first_seen_at = first_seen_at - 7200;",
        )
        .unwrap();
    let feed = parse_back(&export_text(&env, &cfg, Format::Atom));
    assert_eq!(feed.entries.len(), 0);
    // The output changed when its last story left the window, not in 1970.
    let (lo, hi) = (
        env.count("SELECT min(first_seen_at) FROM stories"),
        env.count("SELECT max(first_seen_at) FROM stories"),
    );
    let updated = feed.updated.unwrap().timestamp();
    assert!(
        (lo + 3601..=hi + 3601).contains(&updated),
        "{updated} not in {lo}..{hi} + 1 h"
    );
}

#[tokio::test]
async fn atom_entries_without_an_author_are_published_with_the_feeds() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let atom = |entries: &[(&str, Option<&str>)]| {
        let mut doc = String::from(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>Solo</title><id>urn:solo</id>
<updated>2026-01-09T00:00:00Z</updated><author><name>Feed Author</name></author>"#,
        );
        for (i, (id, author)) in entries.iter().enumerate() {
            let author = author.map_or(String::new(), |a| {
                format!("<author><name>{a}</name></author>")
            });
            doc.push_str(&format!(
                "<entry><id>urn:{id}</id><title>Post {id}</title>\
                 <link href=\"https://solo.example/{id}\"/>\
                 <updated>2026-01-0{}T00:00:00Z</updated>{author}\
                 <content type=\"html\">Body of {id}, with words enough.</content></entry>",
                i + 1
            ));
        }
        doc.push_str("</feed>");
        doc
    };
    srv.set(
        "/solo.xml",
        Resource::feed(atom(&[("a", None), ("b", Some("Guest Writer"))])),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/solo.xml")]));
    assert_eq!(poll_once(&env, &cfg).await.new, 2);
    // A third entry later: the two known ones are left out before parsing, and
    // the new one still takes the feed's author.
    srv.set(
        "/solo.xml",
        Resource::feed(atom(&[
            ("a", None),
            ("b", Some("Guest Writer")),
            ("c", None),
        ])),
    );
    assert_eq!(poll_once(&env, &cfg).await.new, 1);
    let authors: Vec<(String, Option<String>)> = env
        .reader()
        .prepare("SELECT guid, author FROM items ORDER BY guid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want = |g: &str, a: &str| (format!("urn:{g}"), Some(a.to_string()));
    assert_eq!(
        authors,
        [
            want("a", "Feed Author"),
            want("b", "Guest Writer"),
            want("c", "Feed Author")
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&export_text(&env, &cfg, Format::Json)).unwrap();
    let published: Vec<(String, String)> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["title"].as_str().unwrap().to_string(),
                i["authors"][0]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(published.len(), 3, "{json}");
    for (title, author) in published {
        let want = if title == "Post b" {
            "Guest Writer"
        } else {
            "Feed Author"
        };
        assert_eq!(author, want, "{title}");
    }
}
