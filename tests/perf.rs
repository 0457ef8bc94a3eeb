//! What the performance work (issue 9) must not change for a user, and the
//! shortcuts it takes where a user can see them: a 200 whose body is
//! byte-identical to the last one is logged as unchanged and not read again;
//! known, unchanged entries are recognised before any costly work.

mod common;

use common::*;
use feedloom::identity::Canon;
use feedloom::parse::Entry;
use feedloom::refresh::{identify_new, poll};

#[tokio::test]
async fn an_identical_200_body_is_logged_unchanged_and_a_changed_one_is_read() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let items = vec![
        (Some("a"), Some("https://example.org/a"), "A", "text a"),
        (Some("b"), Some("https://example.org/b"), "B", "text b"),
    ];
    srv.set("/f.xml", Resource::feed(rss("t", &items)).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    let first = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((first.ok, first.new), (1, 2));

    // The server has no validators: it answers 200 with the same bytes.
    let again = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((again.ok, again.new, again.updated), (1, 0, 0));
    assert_eq!(
        env.count("SELECT count(*) FROM fetches WHERE outcome = 'ok' AND unchanged = 1"),
        1,
        "the fetch log says the body was the same"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM fetches WHERE unchanged = 1 AND http_status = 200"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM feeds WHERE last_status = 'ok' AND body_hash IS NOT NULL"),
        1
    );

    // One byte more (a new entry): read, stored, and logged as a normal fetch.
    let mut more = vec![(Some("c"), Some("https://example.org/c"), "C", "text c")];
    more.extend(items.iter().cloned());
    srv.set("/f.xml", Resource::feed(rss("t", &more)).no_etag());
    let third = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((third.new, third.updated), (1, 0));
    assert_eq!(env.count("SELECT count(*) FROM items"), 3);
    assert_eq!(
        env.count("SELECT count(*) FROM fetches WHERE unchanged = 1"),
        1
    );

    // An edited entry in an otherwise identical document is an update.
    let mut edited = more.clone();
    edited[1].3 = "text a, corrected";
    srv.set("/f.xml", Resource::feed(rss("t", &edited)).no_etag());
    let fourth = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((fourth.new, fourth.updated), (0, 1));
}

#[tokio::test]
async fn an_identical_body_with_a_new_etag_saves_the_etag() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let body = rss("t", &[(Some("a"), None, "A", "text a")]);
    srv.set("/f.xml", Resource::feed(body.clone()).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    poll(&cfg, env.open_store()).await.unwrap();
    // Same bytes, now with an ETag: the next poll must be conditional.
    srv.set("/f.xml", Resource::feed(body));
    poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(
        env.count("SELECT count(*) FROM fetches WHERE unchanged = 1"),
        1
    );
    srv.clear_seen();
    let third = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!(third.not_modified, 1);
    assert!(srv.seen()[0].if_none_match.is_some());
}

/// Entries the store holds unchanged are recognised through a reader beside
/// the writer and skip the fingerprint; new and changed entries get theirs, so
/// near-duplicate matching sees them.
#[tokio::test]
async fn known_unchanged_entries_are_recognised_before_fingerprinting() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let text = |w: &str| {
        format!(
            "The {w} council approved the budget for roads and schools on Monday after a long debate."
        )
    };
    let (ta, tb) = (text("city"), text("county"));
    srv.set(
        "/f.xml",
        Resource::feed(rss(
            "t",
            &[
                (
                    Some("a"),
                    Some("https://example.org/a"),
                    "Council budget",
                    &ta,
                ),
                (
                    Some("b"),
                    Some("https://example.org/b"),
                    "County budget",
                    &tb,
                ),
            ],
        )),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    let store = env.open_store();
    poll(&cfg, store.clone()).await.unwrap();
    let feed_id: i64 = env
        .reader()
        .query_row("SELECT id FROM feeds", [], |r| r.get(0))
        .unwrap();
    let entry = |guid: &str, link: &str, title: &str, text: &str| Entry {
        guid: Some(guid.into()),
        link: Some(link.into()),
        title: Some(title.into()),
        summary: Some(text.into()),
        ..Entry::default()
    };
    let items = identify_new(
        Some((&feedloom::store::Backend::from(store.clone()), feed_id)),
        vec![
            entry("a", "https://example.org/a", "Council budget", &ta),
            entry("b", "https://example.org/b", "County budget, updated", &tb),
            entry("c", "https://example.org/c", "A new story", &text("town")),
        ],
        &Canon::default(),
    );
    let known: Vec<bool> = items.iter().map(|i| i.known).collect();
    assert_eq!(known, [true, false, false]);
    assert!(items[0].fingerprint.is_none(), "known: not fingerprinted");
    assert!(items[1].fingerprint.is_some(), "changed: fingerprinted");
    assert!(items[2].fingerprint.is_some(), "new: fingerprinted");
}

/// `(guid, link, title, text)` entries for [`rss`], owned.
type Spec = (Option<String>, Option<String>, String, String);

fn doc(items: &[Spec]) -> String {
    let borrowed: Vec<(Option<&str>, Option<&str>, &str, &str)> = items
        .iter()
        .map(|(g, l, t, d)| (g.as_deref(), l.as_deref(), t.as_str(), d.as_str()))
        .collect();
    rss("t", &borrowed)
}

fn story(i: usize) -> Spec {
    (
        Some(format!("e{i}")),
        Some(format!("https://example.org/{i}")),
        format!("Story {i}"),
        format!("Text of story {i}, long enough to be a real story about something."),
    )
}

/// Newest first: stories `from + n - 1` down to `from`.
fn stories(from: usize, n: usize) -> Vec<Spec> {
    (from..from + n).rev().map(story).collect()
}

fn writer(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.path("feedloom.db")).unwrap()
}

/// Changes a stored item behind feedloom's back: a poll that reads the entry
/// again reports it updated (and restores it); one that left the entry out
/// before parsing does not. The witness that entries were left out.
fn tamper(env: &TestEnv, key: &str) {
    let n = writer(env)
        .execute(
            "UPDATE items SET title = 'tampered', content_hash = 'tampered' WHERE key = ?1",
            [key],
        )
        .unwrap();
    assert_eq!(n, 1);
}

fn title_of(env: &TestEnv, key: &str) -> String {
    env.reader()
        .query_row("SELECT title FROM items WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .unwrap()
}

#[tokio::test]
async fn five_new_entries_on_top_store_exactly_five_and_the_rest_is_not_read_again() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    srv.set("/f.xml", Resource::feed(doc(&stories(0, 10))).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    let first = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!(first.new, 10);
    assert_eq!(
        env.count("SELECT length(entry_seals) FROM feeds"),
        1 + 24 * 10,
        "one seal per entry of the stored document"
    );
    let stored_at = env.count("SELECT body_stored_at FROM feeds");

    // Five new on top, the five oldest gone; e7 was changed behind feedloom's
    // back, but the feed still sends it byte for byte as before.
    tamper(&env, "guid:e7");
    srv.set("/f.xml", Resource::feed(doc(&stories(5, 10))).no_etag());
    let second = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((second.new, second.updated), (5, 0));
    assert_eq!(env.count("SELECT count(*) FROM items"), 15);
    assert_eq!(
        title_of(&env, "guid:e7"),
        "tampered",
        "a known entry was left out before parsing"
    );
    for i in 10..15 {
        assert_eq!(title_of(&env, &format!("guid:e{i}")), format!("Story {i}"));
    }
    assert_eq!(
        env.count("SELECT body_stored_at FROM feeds"),
        stored_at,
        "not read whole: the time of the last whole read stays"
    );
    assert_eq!(
        env.count("SELECT length(entry_seals) FROM feeds"),
        1 + 24 * 10
    );

    // Once the last whole read is a day old, the document is read whole again
    // (last_seen_at stays right): the tampered item is seen to differ.
    writer(&env)
        .execute(
            "UPDATE feeds SET body_stored_at = body_stored_at - 2 * 86400",
            [],
        )
        .unwrap();
    srv.set("/f.xml", Resource::feed(doc(&stories(6, 10))).no_etag());
    let third = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((third.new, third.updated), (1, 1));
    assert_eq!(title_of(&env, "guid:e7"), "Story 7");
    assert!(
        env.count("SELECT body_stored_at FROM feeds") >= stored_at,
        "read whole: the time moves"
    );
}

#[tokio::test]
async fn an_entry_changed_in_place_is_updated_while_the_others_are_left_out() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let mut items = stories(0, 6);
    srv.set("/f.xml", Resource::feed(doc(&items)).no_etag());
    let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
    poll(&cfg, env.open_store()).await.unwrap();

    tamper(&env, "guid:e0");
    items[1].3.push_str(" Corrected.");
    items[3].2 = "Story 2, new headline".into();
    srv.set("/f.xml", Resource::feed(doc(&items)).no_etag());
    let second = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((second.new, second.updated), (0, 2));
    assert_eq!(title_of(&env, "guid:e0"), "tampered", "left out");
    assert_eq!(title_of(&env, "guid:e2"), "Story 2, new headline");
    let text: String = env
        .reader()
        .query_row("SELECT summary FROM items WHERE key = 'guid:e4'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(text.ends_with("Corrected."), "{text}");
}

#[tokio::test]
async fn a_changed_xml_base_or_namespace_rereads_every_entry() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let atom = |base: &str, new: bool| {
        let mut s = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"{base}\"><title>t</title><id>f</id><updated>2024-01-0{}T00:00:00Z</updated>",
            1 + usize::from(new)
        );
        if new {
            s.push_str("<entry><id>n</id><title>New</title><link href=\"post/new\"/></entry>");
        }
        for i in 0..3 {
            s.push_str(&format!(
                "<entry><id>e{i}</id><title>Entry {i}</title><link href=\"post/{i}\"/></entry>"
            ));
        }
        s + "</feed>"
    };
    srv.set(
        "/a.xml",
        Resource::feed(atom("https://a.example/blog/", false)).no_etag(),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/a.xml")]));
    poll(&cfg, env.open_store()).await.unwrap();
    // Only the feed's xml:base changes (and a new entry and the feed's date):
    // every entry's link does.
    srv.set(
        "/a.xml",
        Resource::feed(atom("https://b.example/blog/", true)).no_etag(),
    );
    let second = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((second.new, second.updated), (1, 3));
    assert_eq!(
        env.count("SELECT count(*) FROM items WHERE url LIKE 'https://b.example/blog/post/%'"),
        4
    );

    // RSS whose items use a prefix the root declares: the declaration changes.
    let env = TestEnv::new();
    let rss_ns = |ns: &str, extra: &str| {
        let mut s =
            format!("<rss version=\"2.0\" xmlns:dc=\"{ns}\"><channel><title>t</title>{extra}");
        for i in 0..3 {
            s.push_str(&format!(
                "<item><guid>g{i}</guid><title>Item {i}</title><dc:creator>Ann {i}</dc:creator></item>"
            ));
        }
        s + "</channel></rss>"
    };
    srv.set(
        "/r.xml",
        Resource::feed(rss_ns("http://purl.org/dc/elements/1.1/", "")).no_etag(),
    );
    let cfg = env.config(&feeds_toml(&[srv.url("/r.xml")]));
    poll(&cfg, env.open_store()).await.unwrap();
    assert_eq!(
        env.count("SELECT count(*) FROM items WHERE author LIKE 'Ann %'"),
        3
    );
    srv.set(
        "/r.xml",
        Resource::feed(rss_ns("urn:not-dublin-core", "<ttl>60</ttl>")).no_etag(),
    );
    let second = poll(&cfg, env.open_store()).await.unwrap().0;
    // (Read again: their authors are gone, which is no news since the
    // twenty-fourth stop, so nothing is announced.)
    assert_eq!((second.new, second.updated), (0, 0));
    assert_eq!(
        env.count("SELECT count(*) FROM items WHERE author IS NULL"),
        3
    );
}

/// Polls `docs` in turn with entries left out (as feedloom does) and, in a
/// second store, with every document read whole (its seals cleared before each
/// poll); returns what each said and stored.
async fn both_ways(docs: &[String]) -> [(Vec<(usize, usize)>, Vec<String>); 2] {
    let srv = FeedServer::start().await;
    let mut out = Vec::new();
    for whole in [false, true] {
        let env = TestEnv::new();
        let cfg = env.config(&feeds_toml(&[srv.url("/f.xml")]));
        let mut counts = Vec::new();
        for d in docs {
            if whole && env.path("feedloom.db").exists() {
                writer(&env)
                    .execute("UPDATE feeds SET entry_seals = NULL", [])
                    .unwrap();
            }
            srv.set("/f.xml", Resource::feed(d.clone()).no_etag());
            let s = poll(&cfg, env.open_store()).await.unwrap().0;
            assert_eq!(s.failed, 0);
            counts.push((s.new, s.updated));
        }
        let rows: Vec<String> = env
            .reader()
            .prepare(
                "SELECT key || ' ' || content_hash || ' ' || coalesce(url, '') || ' ' || \
                 coalesce(guid, '') FROM items ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.push((counts, rows));
    }
    let [a, b]: [_; 2] = out.try_into().unwrap();
    [a, b]
}

/// Keys that depend on other entries of the document (a guid reused with
/// another link, a link without guid shared, the same entry twice, a guid
/// churned): leaving entries out must store exactly what reading the whole
/// document stores.
#[tokio::test]
async fn leaving_entries_out_stores_what_reading_them_all_stores() {
    let s = |g: Option<&str>, l: Option<&str>, t: &str, d: &str| -> Spec {
        (
            g.map(str::to_string),
            l.map(str::to_string),
            t.to_string(),
            d.to_string(),
        )
    };
    let a = s(Some("g1"), Some("https://e.org/1"), "A", "text a");
    let x = s(Some("g2"), Some("https://e.org/2"), "X", "text x");
    let y = s(None, Some("https://e.org/3"), "Y", "text y");
    let z = s(None, None, "Z", "text z");
    let base = vec![a.clone(), x.clone(), y.clone(), z.clone()];
    let with = |extra: &[Spec]| {
        let mut v = extra.to_vec();
        v.extend(base.iter().cloned());
        doc(&v)
    };
    let scenarios: Vec<(&str, Vec<String>)> = vec![
        (
            "a guid reused with another link",
            vec![
                doc(&base),
                with(&[s(Some("g1"), Some("https://e.org/9"), "B", "text b")]),
            ],
        ),
        (
            "a guid reused with the same link, another title",
            vec![
                doc(&base),
                with(&[s(Some("g1"), Some("https://e.org/1"), "A2", "text b")]),
            ],
        ),
        (
            "a link without guid shared",
            vec![
                doc(&base),
                with(&[s(None, Some("https://e.org/3"), "Y2", "text y2")]),
            ],
        ),
        (
            "the same entry twice",
            vec![doc(&base), with(std::slice::from_ref(&a))],
        ),
        (
            "a hash-keyed entry twice",
            vec![doc(&base), with(&[z.clone(), story(1)])],
        ),
        (
            "a guid churned beside entries left out",
            vec![
                doc(&base),
                with(&[s(Some("g7"), Some("https://e.org/1"), "A", "text a")]),
            ],
        ),
        (
            "new entries, a removed one back, a changed one",
            vec![
                doc(&base),
                doc(&[story(1), x.clone(), y.clone()]),
                doc(&[
                    story(2),
                    story(1),
                    a.clone(),
                    x.clone(),
                    s(None, Some("https://e.org/3"), "Y", "text y!"),
                ]),
            ],
        ),
    ];
    for (name, docs) in scenarios {
        let [left_out, whole] = both_ways(&docs).await;
        assert_eq!(left_out, whole, "{name}");
    }
}

/// Every file of the third-party corpus (`../shared/corpus`, as tests/corpus.rs
/// finds it): an entry read with the others left out is exactly the entry read
/// in the whole document (key, content hash, every field), and the document's
/// own fields are the same. Passes, saying so, without the corpus.
#[test]
fn on_the_corpus_an_entry_read_alone_is_the_entry_read_in_its_document() {
    use feedloom::identity::{Seal, decode_seals};
    use feedloom::parse::Limits;
    use feedloom::refresh::read_document;
    use std::path::{Path, PathBuf};

    let dir = std::env::var_os("FEEDLOOM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if !dir.is_dir() {
        println!("corpus absent at {}: skipped", dir.display());
        return;
    }
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|d| d.unwrap().path())
            .collect();
        children.sort();
        for p in children {
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&dir, &mut files);
    let canon = Canon::default();
    let (mut sealed, mut checked, mut mismatches) = (0usize, 0usize, Vec::new());
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let base = url::Url::parse("https://corpus.feedloom.invalid/")
            .unwrap()
            .join(&rel)
            .unwrap();
        let read = |known: Option<&[Seal]>| {
            read_document(
                &bytes,
                None,
                &base,
                (Limits::default(), "tag", false),
                &canon,
                known,
            )
        };
        let Ok(whole) = read(None) else { continue };
        let Some(seals) = whole.seals.as_deref().and_then(decode_seals) else {
            continue;
        };
        sealed += 1;
        let n = whole.items.len();
        assert_eq!(seals.len(), n, "{rel}");
        // All known: nothing parsed, the feed's own fields still read.
        let none = read(Some(&seals)).unwrap();
        if !none.items.is_empty() || none.doc.title != whole.doc.title {
            mismatches.push(format!("{rel}: all known"));
        }
        // Each entry alone (at most 20 per document).
        for i in (0..n).step_by(n.div_ceil(20).max(1)) {
            let others: Vec<Seal> = (0..n).filter(|j| *j != i).map(|j| seals[j]).collect();
            let alone = read(Some(&others)).unwrap();
            checked += 1;
            let same = alone.items.len() == 1
                && alone.items[0] == whole.items[i]
                && alone.doc.title == whole.doc.title
                && alone.doc.site_url == whole.doc.site_url
                && alone.doc.ttl_minutes == whole.doc.ttl_minutes;
            if !same {
                mismatches.push(format!("{rel}: entry {i} of {n}"));
            }
        }
    }
    println!(
        "corpus: {} files, {sealed} cut into entries and sealed, {checked} entries read alone",
        files.len()
    );
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert!(
        sealed > 1000,
        "most feeds can be cut into entries: {sealed}"
    );
}
