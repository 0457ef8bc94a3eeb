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
