//! Story identity across polls and feeds: each scenario is served by a local HTTP
//! server and polled several times; assertions count the stories in the merged
//! output (`dedup = "story"`, the default).

mod common;

use common::*;
use feedloom::config::{Config, Format, OutputConfig};
use feedloom::export;
use feedloom::refresh::{Summary, poll};
use serde_json::Value;

struct Scenario {
    srv: FeedServer,
    env: TestEnv,
    cfg: Config,
}

impl Scenario {
    /// Feeds at the given paths (served empty until set), plus `extra` config.
    async fn new(paths: &[&str], extra: &str) -> Scenario {
        let srv = FeedServer::start().await;
        let env = TestEnv::new();
        let urls: Vec<String> = paths.iter().map(|p| srv.url(p)).collect();
        let cfg = env.config(&format!(
            "[fetch]\nhost_gap = \"0s\"\n\n{}{extra}",
            feeds_toml(&urls)
        ));
        Scenario { srv, env, cfg }
    }

    fn serve(&self, path: &str, items: &[(Option<&str>, Option<&str>, &str, &str)]) {
        self.srv
            .set(path, Resource::feed(rss(path, items)).no_etag());
    }

    async fn poll(&self) -> Summary {
        poll(&self.cfg, self.env.open_store()).await.unwrap().0
    }

    fn output(&self) -> OutputConfig {
        self.cfg
            .outputs
            .first()
            .cloned()
            .unwrap_or_else(OutputConfig::implicit)
    }

    fn json(&self) -> Value {
        let out = self.output();
        let bytes = self
            .env
            .open_store()
            .with(|s| export::render_output(s, &out, Format::Json, feedloom::now_unix(), None))
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn atom(&self) -> String {
        let out = self.output();
        let bytes = self
            .env
            .open_store()
            .with(|s| export::render_output(s, &out, Format::Atom, feedloom::now_unix(), None))
            .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    fn stories(&self) -> Vec<Value> {
        self.json()["items"].as_array().unwrap().clone()
    }

    fn titles(&self) -> Vec<String> {
        self.stories()
            .iter()
            .map(|s| s["title"].as_str().unwrap().to_string())
            .collect()
    }
}

fn sources(story: &Value) -> usize {
    story["_feedloom"]["sources"].as_array().unwrap().len()
}

#[tokio::test]
async fn entries_without_guid_or_link() {
    let s = Scenario::new(&["/f"], "").await;
    s.serve(
        "/f",
        &[
            (None, None, "Alpha", "first text"),
            (None, None, "Beta", "second text"),
        ],
    );
    for _ in 0..3 {
        s.poll().await;
    }
    assert_eq!(s.titles(), ["Alpha", "Beta"]);
}

#[tokio::test]
async fn guid_changes_from_http_to_https() {
    let s = Scenario::new(&["/f"], "").await;
    s.serve(
        "/f",
        &[(
            Some("http://e.org/p/1"),
            Some("https://e.org/p/1"),
            "Post",
            "text",
        )],
    );
    s.poll().await;
    let id = s.stories()[0]["id"].clone();
    s.serve(
        "/f",
        &[(
            Some("https://e.org/p/1"),
            Some("https://e.org/p/1"),
            "Post",
            "text",
        )],
    );
    let second = s.poll().await;
    assert_eq!(
        second.new, 0,
        "a new guid for a known link is not a new story"
    );
    assert_eq!(s.stories().len(), 1);
    assert_eq!(s.stories()[0]["id"], id);
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 1);
    assert_eq!(
        s.env
            .count("SELECT count(*) FROM items WHERE guid = 'https://e.org/p/1'"),
        1,
        "the row carries the feed's current guid"
    );
}

#[tokio::test]
async fn guid_with_a_changing_timestamp() {
    let s = Scenario::new(&["/f"], "").await;
    for ts in [1000, 2000, 3000] {
        let guid = format!("tag:e.org,2024:post-7?ts={ts}");
        s.serve(
            "/f",
            &[
                (
                    Some(guid.as_str()),
                    Some("https://e.org/post-7"),
                    "Seven",
                    "body",
                ),
                (
                    Some("stable-8"),
                    Some("https://e.org/post-8"),
                    "Eight",
                    "body",
                ),
            ],
        );
        s.poll().await;
    }
    assert_eq!(s.stories().len(), 2);
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 2);
}

#[tokio::test]
async fn trailing_slash_and_utm_variants_of_one_link() {
    let s = Scenario::new(&["/f"], "").await;
    for link in [
        "https://e.org/a/",
        "https://e.org/a?utm_source=rss&utm_medium=feed",
        "http://E.org/a#top",
    ] {
        s.serve("/f", &[(None, Some(link), "A story", "text")]);
        s.poll().await;
    }
    assert_eq!(s.stories().len(), 1);
}

/// A site that moves to `www.` (its feed's items have no guid) keeps its
/// items: none is new or updated, each keeps the link it has now; an edit
/// after is still an update. Before, every item was stored again: each
/// story was published twice.
#[tokio::test]
async fn a_site_moving_to_www_keeps_its_items() {
    let s = Scenario::new(&["/f"], "").await;
    let serve = |host: &str, text: &str| {
        let (one, two) = (format!("https://{host}/one"), format!("https://{host}/two"));
        s.serve(
            "/f",
            &[
                (None, Some(one.as_str()), "One", "First text"),
                (None, Some(two.as_str()), "Two", text),
            ],
        );
    };
    serve("e.org", "Second text");
    assert_eq!(s.poll().await.new, 2);
    serve("www.e.org", "Second text");
    let moved = s.poll().await;
    assert_eq!((moved.new, moved.updated), (0, 0));
    assert_eq!(s.stories().len(), 2);
    let url: String = s
        .env
        .reader()
        .query_row("SELECT url FROM items WHERE title = 'One'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(url, "https://www.e.org/one", "the link as published now");
    serve("www.e.org", "Second text, corrected");
    let edited = s.poll().await;
    assert_eq!((edited.new, edited.updated), (0, 1));
    // And back off `www.`.
    serve("e.org", "Second text, corrected");
    let back = s.poll().await;
    assert_eq!((back.new, back.updated), (0, 0));
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 2);
}

/// Two feeds linking one article, one at `www.` and one without, with their
/// own titles and words: one story (the same page), as two spellings of the
/// scheme already were.
/// Links that differ only after `#`: a single-page app's routes (`#!/topic/…`,
/// `#/post/…`) and two places of one page (`changelog#v2-4-0`, `#v2-5-0`) are
/// other stories, as are two sections of one page (`guide#installation`,
/// `#usage`) (each pair was one, the second story gone from every
/// output); a post's number and a part of its page (`#post-123`,
/// `#story-top`) are one; the same page under tracking codes (`#xtor=RSS-3`), or once with
/// a place and once without, is one story still.
#[tokio::test]
async fn links_naming_other_routes_or_places_of_a_page_are_other_stories() {
    let s = Scenario::new(&["/a", "/b"], "").await;
    s.serve(
        "/a",
        &[
            (
                Some("a1"),
                Some("https://g.example/forum/#!topic/rust-dev/aBcD123"),
                "Proposal: async closures",
                "The lang team proposes it.",
            ),
            (
                Some("a2"),
                Some("https://d.example/changelog#v2-4-0"),
                "Release notes 2.4",
                "Adds streaming uploads.",
            ),
            (
                Some("a3"),
                Some("https://n.example/story/9#xtor=RSS-1"),
                "Harbour reopens",
                "Ships sail again.",
            ),
            (
                Some("a4"),
                Some("https://s.example/app/#/post/12"),
                "Post twelve",
                "The twelfth post.",
            ),
            (
                Some("a5"),
                Some("https://m.example/report#summary"),
                "Annual report",
                "Figures of the year.",
            ),
            (
                Some("a6"),
                Some("https://w.example/guide#installation"),
                "Installing the tool",
                "Download it and unpack.",
            ),
            (
                Some("a7"),
                Some("https://v.example/budget#post-123"),
                "Council approves the budget",
                "The council voted.",
            ),
        ],
    );
    s.serve(
        "/b",
        &[
            (
                Some("b1"),
                Some("https://g.example/forum/#!topic/rust-dev/XyZ987"),
                "Meeting minutes",
                "Attendees discussed the budget.",
            ),
            (
                Some("b2"),
                Some("https://d.example/changelog#v2-5-0"),
                "Release notes 2.5",
                "Fixes a crash on Windows.",
            ),
            (
                Some("b3"),
                Some("https://n.example/story/9#xtor=RSS-2"),
                "Port traffic resumes",
                "A digest of the week.",
            ),
            (
                Some("b4"),
                Some("https://s.example/app/#/post/13"),
                "Post thirteen",
                "The thirteenth post.",
            ),
            (
                Some("b5"),
                Some("https://m.example/report"),
                "The annual report is out",
                "A digest.",
            ),
            (
                Some("b6"),
                Some("https://w.example/guide#usage"),
                "Using the tool",
                "Run it with a file.",
            ),
            (
                Some("b7"),
                Some("https://v.example/budget#story-top"),
                "Council approves the budget",
                "After a long debate, the council voted on Tuesday.",
            ),
        ],
    );
    assert_eq!(s.poll().await.new, 14);
    let mut titles = s.titles();
    titles.sort();
    assert_eq!(titles.len(), 11, "{titles:?}");
    for t in [
        "Installing the tool",
        "Using the tool",
        "Meeting minutes",
        "Proposal: async closures",
        "Release notes 2.4",
        "Release notes 2.5",
        "Post twelve",
        "Post thirteen",
    ] {
        assert!(titles.iter().any(|x| x == t), "{t}: {titles:?}");
    }
    let joined: Vec<usize> = s.stories().iter().map(sources).filter(|n| *n > 1).collect();
    assert_eq!(
        joined,
        [2, 2, 2],
        "the tracking codes' page, the report and the budget (a post's number \
         and a part of its page) are one story each"
    );
}

/// Entries whose guids change at every fetch while their link is one many
/// entries share (the front page, a section), and entries whose guid and link
/// both moved to another domain with the same title, text and date, are the
/// items stored before: each was stored again at every poll, or announced
/// again. Two posts of one text on other dates stay two.
#[tokio::test]
async fn rotating_guids_on_shared_links_and_a_domain_move_store_nothing_again() {
    let s = Scenario::new(&["/front", "/moved"], "").await;
    let item = |guid: &str, link: &str, title: &str, date: &str| {
        format!(
            "<item><guid>{guid}</guid><link>{link}</link><title>{title}</title>\
             <pubDate>{date}</pubDate><description>Text of {title}.</description></item>"
        )
    };
    let doc = |items: &[String]| {
        format!(
            "<rss version=\"2.0\"><channel><title>C</title><link>https://e.example/</link>{}</channel></rss>",
            items.concat()
        )
    };
    let serve = |round: u32, domain: &str| {
        let date = "Mon, 02 Nov 2026 10:00:00 GMT";
        s.srv.set(
            "/front",
            Resource::feed(doc(&[
                item(
                    &format!("r{round}-1"),
                    "https://e.example/",
                    "Harbour reopens",
                    date,
                ),
                item(
                    &format!("r{round}-2"),
                    "https://e.example/news",
                    "Ferry resumes",
                    date,
                ),
            ]))
            .no_etag(),
        );
        s.srv.set(
            "/moved",
            Resource::feed(doc(&[
                item(
                    &format!("https://{domain}/p/1"),
                    &format!("https://{domain}/p/1"),
                    "First post",
                    date,
                ),
                item(
                    &format!("https://{domain}/p/2"),
                    &format!("https://{domain}/p/2"),
                    "Second post",
                    "Tue, 03 Nov 2026 10:00:00 GMT",
                ),
            ]))
            .no_etag(),
        );
    };
    serve(1, "old.example");
    assert_eq!(s.poll().await.new, 4);
    serve(2, "new.example");
    // (The moved posts' links changed: updated, in place.)
    let moved = s.poll().await;
    assert_eq!((moved.new, moved.updated), (0, 2));
    serve(3, "new.example");
    let again = s.poll().await;
    assert_eq!((again.new, again.updated), (0, 0));
    assert_eq!(s.titles().len(), 4);
    let items: i64 = s
        .env
        .reader()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 4);
    // The same text on another date (a recurring post) is a new item.
    s.srv.set(
        "/front",
        Resource::feed(doc(&[item(
            "r4-1",
            "https://e.example/",
            "Harbour reopens",
            "Wed, 04 Nov 2026 10:00:00 GMT",
        )]))
        .no_etag(),
    );
    assert_eq!(s.poll().await.new, 1);
}

/// A Last-Modified in the future (a CMS's clock, once) is not kept, nor a
/// stored one sent back: as If-Modified-Since it made servers answer 304 for
/// good, and the feed's new items were never fetched.
#[tokio::test]
async fn a_last_modified_in_the_future_is_never_sent_back() {
    let s = Scenario::new(&["/a"], "").await;
    let serve = |items: &[(Option<&str>, Option<&str>, &str, &str)]| {
        s.srv.set(
            "/a",
            Resource::feed(rss("/a", items))
                .no_etag()
                .header("last-modified", "Fri, 01 Jan 2100 00:00:00 GMT"),
        );
    };
    serve(&[(Some("1"), Some("https://e.org/1"), "One", "x")]);
    assert_eq!(s.poll().await.new, 1);
    let stored: Option<String> = s
        .env
        .reader()
        .query_row("SELECT last_modified FROM feeds", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, None);
    // One stored by an earlier build is not sent either.
    rusqlite::Connection::open(s.env.path("feedloom.db"))
        .unwrap()
        .execute(
            "UPDATE feeds SET last_modified = 'Fri, 01 Jan 2100 00:00:00 GMT'",
            [],
        )
        .unwrap();
    s.srv.clear_seen();
    serve(&[
        (Some("2"), Some("https://e.org/2"), "Two", "y"),
        (Some("1"), Some("https://e.org/1"), "One", "x"),
    ]);
    assert_eq!(s.poll().await.new, 1);
    let asked = s.srv.seen();
    assert!(
        asked
            .iter()
            .all(|r| r.headers.get("if-modified-since").is_none()),
        "{:?}",
        asked.iter().map(|r| &r.headers).collect::<Vec<_>>()
    );
}

/// A story joined by a link without a place (`/changelog`) and one naming
/// a place (`#v2-4-0`) is not joined by a link naming another place
/// (`#v2-5-0`): the bare link bridged them, and release 2.5 was never a
/// story of its own.
#[tokio::test]
async fn a_link_without_a_place_does_not_bridge_two_places() {
    let s = Scenario::new(&["/x", "/a", "/b"], "").await;
    let one = |path: &str, link: &str, title: &str, text: &str| {
        s.serve(path, &[(Some(path), Some(link), title, text)]);
    };
    s.serve("/a", &[]);
    s.serve("/b", &[]);
    one(
        "/x",
        "https://d.example/changelog",
        "Changelog",
        "All releases.",
    );
    assert_eq!(s.poll().await.new, 1);
    one(
        "/a",
        "https://d.example/changelog#v2-4-0",
        "Release notes 2.4",
        "Adds streaming uploads.",
    );
    assert_eq!(s.poll().await.new, 1);
    one(
        "/b",
        "https://d.example/changelog#v2-5-0",
        "Release notes 2.5",
        "Fixes a crash on Windows.",
    );
    assert_eq!(s.poll().await.new, 1);
    let titles = s.titles();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(
        titles.iter().any(|t| t == "Release notes 2.5"),
        "{titles:?}"
    );
}

#[tokio::test]
async fn copies_linking_one_page_with_and_without_www_are_one_story() {
    let s = Scenario::new(&["/a", "/b"], "").await;
    s.serve(
        "/a",
        &[(
            None,
            Some("https://e.org/news/1"),
            "Harbour reopens",
            "Ships sail again.",
        )],
    );
    s.serve(
        "/b",
        &[(
            Some("b-1"),
            Some("https://www.e.org/news/1"),
            "Port traffic resumes after storm",
            "A digest of the week's transport news.",
        )],
    );
    assert_eq!(s.poll().await.new, 2);
    assert_eq!(s.stories().len(), 1, "{:?}", s.titles());
}

#[tokio::test]
async fn duplicate_guid_with_distinct_links() {
    let s = Scenario::new(&["/f"], "").await;
    s.serve(
        "/f",
        &[
            (Some("dup"), Some("https://e.org/a"), "Item A", "a"),
            (Some("dup"), Some("https://e.org/b"), "Item B", "b"),
        ],
    );
    s.poll().await;
    s.poll().await;
    let mut t = s.titles();
    t.sort();
    assert_eq!(t, ["Item A", "Item B"]);
    // Then each is listed alone, in turn: neither takes the other's place
    // (B alone overwrote A, and B was listed twice).
    let a = (Some("dup"), Some("https://e.org/a"), "Item A", "a");
    let b = (Some("dup"), Some("https://e.org/b"), "Item B", "b");
    for (round, alone) in [a, b, a, b].into_iter().enumerate() {
        s.serve("/f", &[alone]);
        let p = s.poll().await;
        assert_eq!(
            (p.new, p.updated),
            (0, 0),
            "round {round}: {:?}",
            s.titles()
        );
        let mut t = s.titles();
        t.sort();
        assert_eq!(t, ["Item A", "Item B"], "round {round}");
    }
    // A third article under that guid, with its own link, is new; and
    // none of the three takes another's place after.
    let c = (Some("dup"), Some("https://e.org/c"), "Item C", "c");
    s.serve("/f", &[c]);
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (1, 0), "{:?}", s.titles());
    for (round, alone) in [a, c, b, c, a].into_iter().enumerate() {
        s.serve("/f", &[alone]);
        let p = s.poll().await;
        assert_eq!(
            (p.new, p.updated),
            (0, 0),
            "round {round}: {:?}",
            s.titles()
        );
    }
    let mut t = s.titles();
    t.sort();
    assert_eq!(t, ["Item A", "Item B", "Item C"]);
    // A's slug edited (same title and text): the same article, updated,
    // though the feed once listed two articles under its guid.
    s.serve(
        "/f",
        &[(Some("dup"), Some("https://e.org/a-renamed"), "Item A", "a")],
    );
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 1), "{:?}", s.titles());
    let mut t = s.titles();
    t.sort();
    assert_eq!(t, ["Item A", "Item B", "Item C"]);
}

/// An entry whose dates alone change (a feed correcting or moving them)
/// is not new nor updated, and its stored and published dates follow it
/// (they stayed as first stored), with or without a guid, and when its
/// link's tracking parameters rotate as well. A feed that stamps one date
/// into all its entries, or moves a date to the time of the fetch, is not
/// followed (every story's date moved on every poll).
#[tokio::test]
async fn an_entry_whose_dates_alone_change_shows_the_new_dates() {
    let s = Scenario::new(&["/d"], "").await;
    let serve = |one: &str, two: &str, campaign: &str| {
        s.srv.set(
            "/d",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>D</title>\
                 <item><guid>g1</guid><title>With guid</title><description>one</description><pubDate>{one}</pubDate></item>\
                 <item><title>Without guid</title><description>two</description><pubDate>{two}</pubDate></item>\
                 <item><guid>g3</guid><title>Rotating</title><link>https://e.org/3?utm_campaign={campaign}</link>\
                 <description>three</description><pubDate>{two}</pubDate></item>\
                 </channel></rss>"
            ))
            .no_etag(),
        );
    };
    let dates = |s: &Scenario| -> Vec<String> {
        let mut v: Vec<String> = s
            .stories()
            .iter()
            .map(|st| {
                format!(
                    "{} {}",
                    st["title"].as_str().unwrap(),
                    st["date_published"].as_str().unwrap()
                )
            })
            .collect();
        v.sort();
        v
    };
    serve(
        "Tue, 01 Dec 2026 07:00:00 GMT",
        "Tue, 01 Dec 2026 06:00:00 GMT",
        "a",
    );
    assert_eq!(s.poll().await.new, 3);
    serve(
        "Fri, 04 Dec 2026 23:00:00 GMT",
        "Fri, 04 Dec 2026 22:00:00 GMT",
        "b",
    );
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 0));
    assert_eq!(
        dates(&s),
        [
            "Rotating 2026-12-04T22:00:00Z",
            "With guid 2026-12-04T23:00:00Z",
            "Without guid 2026-12-04T22:00:00Z"
        ]
    );
    // Every entry stamped with one date: not followed.
    serve(
        "Sat, 05 Dec 2026 01:00:00 GMT",
        "Sat, 05 Dec 2026 01:00:00 GMT",
        "b",
    );
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 0));
    assert!(
        dates(&s).iter().all(|d| d.contains("2026-12-04")),
        "{:?}",
        dates(&s)
    );
    // A date moved to the time of the fetch: not followed either.
    let now = chrono::Utc::now().to_rfc2822();
    serve(&now, "Fri, 04 Dec 2026 22:00:00 GMT", "b");
    s.poll().await;
    assert!(
        dates(&s).contains(&"With guid 2026-12-04T23:00:00Z".to_string()),
        "{:?}",
        dates(&s)
    );
}

/// An Atom feed whose entries keep their own publication dates but all carry
/// the time the feed was built as `updated`: the updated dates are not
/// followed (every story changed on every poll), and a fetch that leaves a
/// date out keeps the stored one (a year-old story read as new).
#[tokio::test]
async fn build_time_stamps_and_dropped_dates_are_not_followed() {
    let s = Scenario::new(&["/a"], "").await;
    let serve = |built: &str, second_published: bool| {
        let entry = |n: u32, published: bool| {
            format!(
                "<entry><id>urn:{n}</id><title>Entry {n}</title><content>text {n}</content>{}<updated>{built}</updated></entry>",
                if published {
                    format!("<published>2026-11-0{n}T10:00:00Z</published>")
                } else {
                    String::new()
                }
            )
        };
        s.srv.set(
            "/a",
            Resource::feed(format!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><id>urn:a</id><updated>{built}</updated>{}{}{}</feed>",
                entry(1, true),
                entry(2, second_published),
                entry(3, true)
            ))
            .no_etag(),
        );
    };
    let modified = |s: &Scenario| -> Vec<String> {
        let mut v: Vec<String> = s
            .stories()
            .iter()
            .map(|st| {
                format!(
                    "{} {} {}",
                    st["title"].as_str().unwrap(),
                    st["date_published"],
                    st["date_modified"]
                )
            })
            .collect();
        v.sort();
        v
    };
    serve("2026-12-04T20:00:00Z", true);
    assert_eq!(s.poll().await.new, 3);
    let before = modified(&s);
    serve("2026-12-04T22:00:00Z", false);
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 0));
    assert_eq!(modified(&s), before);
}

/// A feed that once listed two articles under one guid, then one of them
/// alone: its slug edited later (same title and text) is an update, not a
/// new story (the rule that tells a third article apart took it for one).
#[tokio::test]
async fn a_once_shared_guid_whose_link_moves_is_updated() {
    let s = Scenario::new(&["/f"], "").await;
    let a = |link| {
        (
            Some("G"),
            Some(link),
            "Story A about harbours",
            "Harbour text of story A.",
        )
    };
    let b = (
        Some("G"),
        Some("https://e.org/b"),
        "Story B on railways",
        "Railway text of story B.",
    );
    let c = (Some("c"), Some("https://e.org/c"), "Story C", "Other text.");
    s.serve("/f", &[a("https://e.org/a"), b]);
    assert_eq!(s.poll().await.new, 2);
    s.serve("/f", &[a("https://e.org/a"), c]);
    assert_eq!(s.poll().await.new, 1);
    s.serve("/f", &[a("https://e.org/a-renamed"), c]);
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 1), "{:?}", s.titles());
    assert_eq!(s.titles().len(), 3);
    // A headline rewritten over the same text, under yet another slug; then
    // a text rewritten under the first headline (a live story): the same
    // article both times.
    let rewritten = (
        Some("G"),
        Some("https://e.org/a-three-dead"),
        "Harbours reopen as the storm passes, three dead after rivers burst their banks",
        "Harbour text of story A.",
    );
    s.serve("/f", &[rewritten, c]);
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 1), "{:?}", s.titles());
    let live = (
        Some("G"),
        Some("https://e.org/a-live"),
        "Harbours reopen as the storm passes, three dead after rivers burst their banks",
        "Live: cranes restart at dawn while crews clear debris from the quays.",
    );
    s.serve("/f", &[live, c]);
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 1), "{:?}", s.titles());
    assert_eq!(s.titles().len(), 3);
}

/// A feed that gives every item one guid: daily digests whose titles
/// differ by their date and whose texts differ wholly, one a day after two
/// listed together, are each a story (the next day's overwrote the last).
#[tokio::test]
async fn daily_digests_under_one_guid_are_each_kept() {
    let s = Scenario::new(&["/d"], "").await;
    let digest = |day: u32, text: &'static str| {
        (
            Some("digest"),
            Some(
                [
                    "https://e.org/d/12",
                    "https://e.org/d/13",
                    "https://e.org/d/14",
                ][(day - 12) as usize],
            ),
            [
                "Morning Digest for January 12, 2025",
                "Morning Digest for January 13, 2025",
                "Morning Digest for January 14, 2025",
            ][(day - 12) as usize],
            text,
        )
    };
    let d12 = digest(
        12,
        "Harbour cranes idle as the dock strike enters its third week.",
    );
    let d13 = digest(
        13,
        "A late frost threatens the orchard blossoms across the valley.",
    );
    let d14 = digest(
        14,
        "The city council approves a new tram line to the airport.",
    );
    s.serve("/d", &[d13, d12]);
    assert_eq!(s.poll().await.new, 2);
    s.serve("/d", &[d13]);
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (0, 0));
    s.serve("/d", &[d14]);
    let p = s.poll().await;
    assert_eq!((p.new, p.updated), (1, 0), "{:?}", s.titles());
    assert_eq!(s.titles().len(), 3);
}

/// Two feeds that give one section page (`/news`) as the link of stories
/// that share nothing (an earthquake, an election) keep two stories: they
/// were one, and the merged feed showed the election alone. The teaser and
/// the full text of one article, under other headlines at its link, are
/// still one story.
#[tokio::test]
async fn unrelated_stories_at_one_section_page_of_two_feeds_stay_apart() {
    // (Also with a query naming only its language: `?lang=en`.)
    for page in [
        "https://n.example/news",
        "https://n.example/news?lang=en",
        "https://n.example/news?lang=",
        "https://n.example/news?start=20",
    ] {
        unrelated_at(Some(page)).await;
    }
    // One article: a teaser and its full text, under other headlines.
    let s = Scenario::new(&["/a", "/b"], "").await;
    let article = Some("https://n.example/world/2024/quake-japan");
    let teaser = "A strong earthquake struck off Hokkaido on Monday.";
    let full = "A strong earthquake struck off Hokkaido on Monday, the meteorological \
                agency said. Buildings shook in Sapporo and trains were halted for an hour. \
                No tsunami warning was issued, and no damage was reported by noon.";
    s.serve("/a", &[(Some("a1"), article, "Quake hits Japan", teaser)]);
    s.serve(
        "/b",
        &[(
            Some("b9"),
            article,
            "Magnitude 6.1 tremor shakes Sapporo",
            full,
        )],
    );
    assert_eq!(s.poll().await.new, 2);
    assert_eq!(s.stories().len(), 1);
    // Title-only entries at section pages, from two feeds: their titles
    // alone tell them apart.
    let s = Scenario::new(&["/a", "/b"], "").await;
    s.serve(
        "/a",
        &[
            (
                Some("a1"),
                Some("http://n.example/world/"),
                "Storm closes airports",
                "",
            ),
            (
                Some("a2"),
                Some("http://n.example/index.php"),
                "Markets fall",
                "",
            ),
        ],
    );
    s.serve(
        "/b",
        &[
            (
                Some("b1"),
                Some("http://n.example/world/"),
                "Football club wins cup final",
                "",
            ),
            (
                Some("b2"),
                Some("http://n.example/index.php"),
                "Pop star announces tour",
                "",
            ),
        ],
    );
    assert_eq!(s.poll().await.new, 4);
    assert_eq!(s.stories().len(), 4, "{:?}", s.titles());
    // A post's own address, a slug of one word: one story.
    let s = Scenario::new(&["/a", "/b"], "").await;
    let post = Some("http://blog.example/announcing");
    s.serve(
        "/a",
        &[(
            Some("t1"),
            post,
            "Announcing Foo 2.0",
            "Today we release Foo 2.0, with a new plugin system, faster builds, \
             a rewritten manual and support for three more platforms. Thanks to \
             everyone who tested the betas over the last months.",
        )],
    );
    s.serve(
        "/b",
        &[(
            Some("t2"),
            post,
            "Big day for the plugin crowd",
            "Foo's maintainers shipped their long-awaited major release this week.",
        )],
    );
    assert_eq!(s.poll().await.new, 2);
    assert_eq!(s.stories().len(), 1);
}

/// Two feeds give `page` as the links of an earthquake and an election:
/// two stories, both in the merged feed.
async fn unrelated_at(page: Option<&str>) {
    let s = Scenario::new(&["/a", "/b"], "").await;
    s.serve(
        "/a",
        &[(
            Some("a1"),
            page,
            "Earthquake of magnitude 6.1 hits northern Japan",
            "A strong earthquake struck off the coast of Hokkaido early on Monday, \
             shaking buildings in Sapporo; no tsunami warning was issued.",
        )],
    );
    s.serve(
        "/b",
        &[(
            Some("b1"),
            page,
            "France votes in snap parliamentary election",
            "Voters across France went to the polls on Sunday after the president \
             dissolved parliament, with turnout expected to be high.",
        )],
    );
    assert_eq!(s.poll().await.new, 2);
    let mut titles = s.titles();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Earthquake of magnitude 6.1 hits northern Japan",
            "France votes in snap parliamentary election"
        ],
        "{page:?}"
    );
}

/// An entry listed twice under its guid while its headline is edited (the
/// corrected one first, the old one after it, the same link and text: a
/// CMS's passing state) is one item, updated; the edit was a second story
/// for good. Entries of one guid with other texts are still each kept.
#[tokio::test]
async fn an_entry_listed_twice_while_its_headline_is_edited_is_updated() {
    let s = Scenario::new(&["/f"], "").await;
    let text = "The bridge on Route 30 reopens to traffic after six months of repairs.";
    let link = Some("https://dot.example/news/bridge-reopens");
    let old = (Some("b1"), link, "Route 30 bridge to reopen", text);
    let new = (
        Some("b1"),
        link,
        "Route 30 bridge to reopen next week",
        text,
    );
    s.serve("/f", &[old]);
    assert_eq!(s.poll().await.new, 1);
    s.serve("/f", &[new, old]);
    let both = s.poll().await;
    assert_eq!((both.new, both.updated), (0, 1), "{both}");
    s.serve("/f", &[new]);
    let after = s.poll().await;
    assert_eq!((after.new, after.updated), (0, 0), "{after}");
    assert_eq!(s.titles(), ["Route 30 bridge to reopen next week"]);
    // On a feed's first poll too.
    let s = Scenario::new(&["/g"], "").await;
    s.serve("/g", &[new, old]);
    assert_eq!(s.poll().await.new, 1);
    assert_eq!(s.titles(), ["Route 30 bridge to reopen next week"]);
    // A headline rewritten whole over the same text and link.
    let s = Scenario::new(&["/h"], "").await;
    let text = "The government survived a confidence vote on Tuesday by 301 votes to 296.";
    let link = Some("https://news.example/politics/vote");
    let was = (
        Some("story-5501"),
        link,
        "PM survives confidence vote",
        text,
    );
    let now = (
        Some("story-5501"),
        link,
        "Prime minister wins confidence vote by narrow margin",
        text,
    );
    s.serve("/h", &[was]);
    assert_eq!(s.poll().await.new, 1);
    s.serve("/h", &[now, was]);
    let both = s.poll().await;
    assert_eq!((both.new, both.updated), (0, 1), "{both}");
    assert_eq!(s.stories().len(), 1);
    // A feed that gives one guid, link and text (its boilerplate) to
    // entries of other titles: each is kept, listed twice or more, or when
    // the text is also another guid's.
    let s = Scenario::new(&["/i"], "").await;
    let home = Some("https://club.example/");
    let blurb = "News from the club. Read more on our website.";
    s.serve(
        "/i",
        &[
            (Some("news"), home, "Pool closed on Monday", blurb),
            (Some("news"), home, "New coach for the juniors", blurb),
            (Some("news"), home, "Summer party tickets", blurb),
        ],
    );
    assert_eq!(s.poll().await.new, 3);
    // Two of them only, the text short: still two.
    let s = Scenario::new(&["/k"], "").await;
    s.serve(
        "/k",
        &[
            (
                Some("same"),
                home,
                "Earthquake hits Chile",
                "Subscribe to our newsletter for more.",
            ),
            (
                Some("same"),
                home,
                "Election results announced in Spain",
                "Subscribe to our newsletter for more.",
            ),
        ],
    );
    assert_eq!(s.poll().await.new, 2);
    let s = Scenario::new(&["/j"], "").await;
    s.serve(
        "/j",
        &[
            (Some("news"), home, "Pool closed on Monday", blurb),
            (Some("news"), home, "New coach for the juniors", blurb),
            (Some("other"), home, "Summer party tickets", blurb),
        ],
    );
    assert_eq!(s.poll().await.new, 3);
}

#[tokio::test]
async fn title_edit_and_content_edit_update_in_place() {
    let s = Scenario::new(&["/f"], "").await;
    s.serve(
        "/f",
        &[(
            Some("g"),
            Some("https://e.org/x"),
            "Draft title",
            "first draft",
        )],
    );
    s.poll().await;
    let id = s.stories()[0]["id"].clone();
    s.serve(
        "/f",
        &[(
            Some("g"),
            Some("https://e.org/x"),
            "Final title",
            "first draft",
        )],
    );
    assert_eq!(s.poll().await.updated, 1);
    s.serve(
        "/f",
        &[(
            Some("g"),
            Some("https://e.org/x"),
            "Final title",
            "corrected text",
        )],
    );
    assert_eq!(s.poll().await.updated, 1);
    let stories = s.stories();
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0]["id"], id);
    assert_eq!(stories[0]["title"], "Final title");
    assert!(
        stories[0]["content_html"]
            .as_str()
            .unwrap()
            .contains("corrected text")
    );
}

/// A live blog: dated posts at one page, without guid. A post whose title
/// typo is fixed is that post updated (it came back as a second post); a
/// new post at the page, with a title and text of its own, is new; and a
/// post that left the document is not taken by a new one.
#[tokio::test]
async fn a_live_blog_post_with_its_title_corrected_is_updated_not_new() {
    let s = Scenario::new(&["/live"], "").await;
    let doc = |posts: &[(&str, &str, &str, &str)]| {
        let mut x = String::from(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Live</title><link>https://n.example/</link>",
        );
        for (anchor, title, text, date) in posts {
            x.push_str(&format!(
                "<item><link>https://n.example/live/election#{anchor}</link><title>{title}</title><description>{text}</description><pubDate>{date}</pubDate></item>"
            ));
        }
        x.push_str("</channel></rss>");
        x
    };
    let p1 = (
        "p1",
        "Polls open across the country",
        "Voting began at seven this morning in every district.",
        "Tue, 05 Nov 2024 07:00:00 GMT",
    );
    let p3 = (
        "p3",
        "First results expected at ten",
        "Officials say counting will be quick this year.",
        "Tue, 05 Nov 2024 09:00:00 GMT",
    );
    let p2 = |title| {
        (
            "p2",
            title,
            "Turnout at noon was the highest recorded in twenty years, officials said.",
            "Tue, 05 Nov 2024 08:00:00 GMT",
        )
    };
    let serve = |posts: &[(&str, &str, &str, &str)]| {
        s.srv.set("/live", Resource::feed(doc(posts)).no_etag());
    };
    serve(&[p3, p2("Turnout higher than 2020"), p1]);
    assert_eq!(s.poll().await.new, 3);
    serve(&[p3, p2("Turnout higher than in 2020"), p1]);
    let polled = s.poll().await;
    assert_eq!((polled.new, polled.updated), (0, 1), "{polled}");
    let titles = s.titles();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(
        titles.contains(&"Turnout higher than in 2020".to_string()),
        "{titles:?}"
    );
    assert!(
        !titles.contains(&"Turnout higher than 2020".to_string()),
        "{titles:?}"
    );
    // A new post at the page, the corrected one gone from the document: new,
    // and the old post stays.
    serve(&[
        (
            "p4",
            "Polls close in the east",
            "Doors shut at eight; queues may still vote.",
            "Tue, 05 Nov 2024 08:00:00 GMT",
        ),
        p3,
        p1,
    ]);
    let polled = s.poll().await;
    assert_eq!((polled.new, polled.updated), (1, 0), "{polled}");
    assert_eq!(s.titles().len(), 4);
    // A templated post at another anchor, twenty minutes later, the one
    // before it gone from the document: new, and the one before kept (it
    // took that post's row, which was lost). Undated, the same.
    for (first, second) in [
        (
            "Tue, 05 Nov 2024 21:00:00 GMT",
            "Tue, 05 Nov 2024 21:20:00 GMT",
        ),
        ("", ""),
    ] {
        let s = Scenario::new(&["/live"], "").await;
        let post = |anchor: &str, n: &str, date: &str| {
            format!(
                "<item><link>https://n.example/live/results#{anchor}</link><title>Results in district {n}</title>\
                 <description>Party A won district {n} with 52 percent of the vote, turnout 61 percent.</description>{}</item>",
                if date.is_empty() {
                    String::new()
                } else {
                    format!("<pubDate>{date}</pubDate>")
                }
            )
        };
        let doc = |posts: &[String]| {
            format!(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Live</title><link>https://n.example/</link>{}</channel></rss>",
                posts.concat()
            )
        };
        let p0 = post("r0", "4", "");
        s.srv.set(
            "/live",
            Resource::feed(doc(&[post("r1", "5", first), p0.clone()])).no_etag(),
        );
        assert_eq!(s.poll().await.new, 2);
        s.srv.set(
            "/live",
            Resource::feed(doc(&[post("r2", "6", second), p0])).no_etag(),
        );
        let polled = s.poll().await;
        assert_eq!((polled.new, polled.updated), (1, 0), "{first:?}: {polled}");
        let titles = s.titles();
        assert!(
            titles.contains(&"Results in district 5".to_string()),
            "{titles:?}"
        );
    }
}

#[tokio::test]
async fn an_item_leaving_and_reentering_the_feed_is_not_new_again() {
    let s = Scenario::new(&["/f"], "").await;
    let a = (Some("a"), Some("https://e.org/a"), "A", "a");
    let b = (Some("b"), Some("https://e.org/b"), "B", "b");
    s.serve("/f", &[a, b]);
    s.poll().await;
    s.serve("/f", &[b]);
    s.poll().await;
    s.serve("/f", &[a, b]);
    let back = s.poll().await;
    assert_eq!(back.new, 0);
    assert_eq!(s.stories().len(), 2);
}

#[tokio::test]
async fn one_story_in_three_feeds_under_url_variants() {
    let s = Scenario::new(&["/one", "/two", "/three"], "").await;
    s.serve(
        "/one",
        &[(
            Some("1-42"),
            Some("https://news.example/story/42"),
            "Bridge opens",
            "The bridge opened.",
        )],
    );
    s.serve(
        "/two",
        &[(
            Some("2-abc"),
            Some("http://news.example/story/42/?utm_source=two"),
            "Bridge opens today",
            "Opening day.",
        )],
    );
    s.serve(
        "/three",
        &[(
            None,
            Some("https://NEWS.example/story/42#comments"),
            "The bridge is open",
            "At last.",
        )],
    );
    s.poll().await;
    s.poll().await;
    let stories = s.stories();
    assert_eq!(stories.len(), 1, "{stories:#?}");
    assert_eq!(sources(&stories[0]), 3);
    assert_eq!(
        s.env.count("SELECT count(*) FROM items"),
        3,
        "each feed keeps its item"
    );
    assert_eq!(s.env.count("SELECT item_count FROM stories"), 3);
    assert_eq!(s.atom().matches("rel=\"via\"").count(), 2);
}

/// A blog's comment feed links each comment to its post's page with the
/// comment's anchor (`#comment-5512`): a comment is not its post. Each one
/// joined the post's story (once first, as its headline), and its text was
/// lost from every story output. Other anchors (`#comments`, above) still
/// name the page.
#[tokio::test]
async fn a_comment_linked_by_its_anchor_is_not_its_posts_story() {
    let s = Scenario::new(&["/posts", "/comments"], "").await;
    s.serve(
        "/comments",
        &[(
            Some("https://jane.example/?p=88#comment-5512"),
            Some("https://jane.example/2026/moving-to-berlin/#comment-5512"),
            "Comment on Moving to Berlin by Tom",
            "Good luck with the move, and do try the bakery on the corner.",
        )],
    );
    s.poll().await;
    s.serve(
        "/posts",
        &[(
            Some("https://jane.example/?p=88"),
            Some("https://jane.example/2026/moving-to-berlin/"),
            "Moving to Berlin",
            "After ten years in Lisbon we are packing up for Berlin next month.",
        )],
    );
    s.poll().await;
    let mut titles = s.titles();
    titles.sort();
    assert_eq!(
        titles,
        ["Comment on Moving to Berlin by Tom", "Moving to Berlin"],
        "{:#?}",
        s.stories()
    );
}

/// The same document served with Windows line ends (a second server behind
/// the same name, a CMS moved): nothing new, nothing updated. An entry
/// without guid or link was stored twice, and every entry with lines in its
/// text was "updated".
#[tokio::test]
async fn the_same_feed_with_windows_line_ends_is_the_same_feed() {
    let s = Scenario::new(&["/f"], "").await;
    let doc = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Town</title><link>https://town.example/</link><description>d</description>\n\
        <item><title>Water outage</title><description><![CDATA[<p>Main street</p>\n<p>Until noon.</p>\n]]></description></item>\n\
        <item><guid>2</guid><title>Council meets</title><description><![CDATA[<p>Agenda:</p>\n<ul>\n<li>Budget</li>\n</ul>]]></description></item>\n\
        </channel></rss>\n";
    for (i, body) in [doc.to_string(), doc.replace('\n', "\r\n"), doc.to_string()]
        .into_iter()
        .enumerate()
    {
        s.srv.set("/f", Resource::feed(body).no_etag());
        let summary = s.poll().await;
        match i {
            0 => assert_eq!(summary.new, 2, "{summary}"),
            _ => assert_eq!(
                (summary.new, summary.updated),
                (0, 0),
                "poll {i}: {summary}"
            ),
        }
    }
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 2);
}

/// Comments without guid stored before their anchors were part of their
/// links (keyed by their post's page and their title) are found again, not
/// stored and announced a second time, and other anchor styles (GitHub's
/// `#issuecomment-N`, GitLab's `#note_N`) keep a comment apart from its post.
#[tokio::test]
async fn comments_stored_under_their_posts_page_are_found_again() {
    let s = Scenario::new(&["/comments"], "").await;
    let comments = [
        (
            "https://git.example/org/repo/issues/7#issuecomment-1001",
            "Reply by ann",
            "I see the same crash on the arm build.",
        ),
        (
            "https://git.example/org/repo/issues/7#note_2002",
            "Reply by bob",
            "Fixed in the next release, thanks for the report.",
        ),
    ];
    let items: Vec<(Option<&str>, Option<&str>, &str, &str)> = comments
        .iter()
        .map(|(l, t, d)| (None, Some(*l), *t, *d))
        .collect();
    s.serve("/comments", &items);
    assert_eq!(s.poll().await.new, 2);
    // As a feedloom before stored them: keyed by the page without anchor.
    let old_keys = feedloom::identity::identify_document(
        comments
            .iter()
            .map(|(_, t, _)| feedloom::parse::Entry {
                link: Some("https://git.example/org/repo/issues/7".into()),
                title: Some(t.to_string()),
                ..Default::default()
            })
            .collect(),
    );
    let db = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
    for (k, (_, t, _)) in old_keys.iter().zip(&comments) {
        db.execute(
            "UPDATE items SET key = ?1, canonical_url = '//git.example/org/repo/issues/7' WHERE title = ?2",
            rusqlite::params![k.key, t],
        )
        .unwrap();
    }
    db.execute_batch("UPDATE feeds SET body_hash = NULL, entry_seals = NULL")
        .unwrap();
    drop(db);
    let summary = s.poll().await;
    assert_eq!(summary.new, 0, "{summary}");
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 2);
}

/// An item stored with a link feedloom no longer reads (one of only a
/// fragment, which named the feed's own document) is stored without it,
/// not announced as updated: with `updates = "reannounce"` an old story
/// jumped back to the top after the upgrade.
#[tokio::test]
async fn a_link_no_longer_read_is_no_update() {
    let s = Scenario::new(&["/f"], "").await;
    s.serve(
        "/f",
        &[(Some("g1"), Some("#comments"), "Members' news", "Text.")],
    );
    assert_eq!(s.poll().await.new, 1);
    let db = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
    let feed: String = db
        .query_row("SELECT url FROM feeds", [], |r| r.get(0))
        .unwrap();
    // As a feedloom before stored it: the link resolved against the feed's URL.
    let old = format!("{feed}#comments");
    let hash = feedloom::identity::content_hash(&feedloom::parse::Entry {
        guid: Some("g1".into()),
        link: Some(old.clone()),
        title: Some("Members' news".into()),
        summary: Some("Text.".into()),
        ..Default::default()
    });
    db.execute(
        "UPDATE items SET url = ?1, content_hash = ?2",
        rusqlite::params![old, hash],
    )
    .unwrap();
    db.execute_batch("UPDATE feeds SET body_hash = NULL, entry_seals = NULL")
        .unwrap();
    drop(db);
    let summary = s.poll().await;
    assert_eq!((summary.new, summary.updated), (0, 0), "{summary}");
    let url: Option<String> = s
        .env
        .reader()
        .query_row("SELECT url FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(url, None, "stored without the link");
}

/// A wire story as three sites print it: same copy, lightly edited.
const WIRE: [(&str, &str); 3] = [
    (
        "Storm knocks out power to 40,000 homes across the northern coast",
        "A powerful overnight storm brought down trees and power lines along the northern coast, \
         leaving about 40,000 homes without electricity on Tuesday morning, the regional utility said. \
         Crews from three neighbouring provinces were sent to help restore service, which the company \
         expects to complete by Thursday evening. Several coastal roads remain closed because of fallen \
         trees and flooding, and schools in four towns cancelled classes for the day.",
    ),
    (
        "Storm knocks out power to 40,000 homes on northern coast",
        "A powerful overnight storm brought down trees and power lines along the northern coast, \
         leaving about 40,000 homes without electricity on Tuesday morning, the regional utility said. \
         Crews from three neighbouring provinces were sent to help restore service, which the company \
         expects to complete by Thursday evening. Several coastal roads remain closed because of fallen \
         trees and flooding, and schools in four towns cancelled classes for the day. Read more on our site.",
    ),
    (
        "Storm knocks out power to 40,000 homes across the northern coast",
        "NORTH BAY (Wire) - A powerful overnight storm brought down trees and power lines along the northern coast, \
         leaving about 40,000 homes without electricity on Tuesday morning, the regional utility said. \
         Crews from three neighbouring provinces were sent to help restore service, which the company \
         expects to complete by Thursday evening. Several coastal roads remain closed because of fallen \
         trees and flooding, and schools in four towns cancelled classes for the day.",
    ),
];

#[tokio::test]
async fn one_story_in_three_feeds_under_different_urls_with_light_edits() {
    let s = Scenario::new(&["/a", "/b", "/c"], "").await;
    for (i, (path, host)) in [
        ("/a", "daily.example"),
        ("/b", "herald.example"),
        ("/c", "courier.example"),
    ]
    .iter()
    .enumerate()
    {
        let link = format!("https://{host}/2024/storm-{i}");
        let guid = format!("{host}-storm");
        s.serve(
            path,
            &[(
                Some(guid.as_str()),
                Some(link.as_str()),
                WIRE[i].0,
                WIRE[i].1,
            )],
        );
    }
    s.poll().await;
    let stories = s.stories();
    assert_eq!(stories.len(), 1, "{:?}", s.titles());
    assert_eq!(sources(&stories[0]), 3);
}

#[tokio::test]
async fn template_headlines_about_different_people_stay_apart() {
    let s = Scenario::new(&["/a", "/b"], "").await;
    let body = |who: &str, age: u32, town: &str| {
        format!(
            "Police said a {who}, {age}, was arrested on Monday evening in {town} after an armed robbery at a \
             convenience store on Main Street. Nobody was injured. The suspect is due to appear in court \
             on Wednesday. Officers asked witnesses to contact the local station."
        )
    };
    let b1 = body("man", 34, "Springfield");
    let b2 = body("woman", 52, "Shelbyville");
    s.serve(
        "/a",
        &[(
            Some("a-1"),
            Some("https://a.example/robbery-1"),
            "Man, 34, arrested after robbery in Springfield",
            &b1,
        )],
    );
    s.serve(
        "/b",
        &[(
            Some("b-1"),
            Some("https://b.example/robbery-2"),
            "Woman, 52, arrested after robbery in Shelbyville",
            &b2,
        )],
    );
    s.poll().await;
    assert_eq!(s.stories().len(), 2);
}

/// Items that are their headline alone, in two feeds: a headline with a
/// name or place swapped is another story (the second was lost under the
/// first: "Google to cut…" shown as a source of "Microsoft to cut…"), also
/// under a body of a comments link; a copy that only adds an outlet's mark
/// to the headline joins it.
#[tokio::test]
async fn headline_only_items_that_swap_a_name_stay_apart() {
    let s = Scenario::new(&["/a", "/b", "/c", "/d", "/e"], "").await;
    let items = |host: &str, titles: &[&str]| -> Vec<(String, String, String)> {
        titles
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    format!("{host}-{i}"),
                    format!("https://{host}.example/{i}"),
                    t.to_string(),
                )
            })
            .collect()
    };
    let serve = |path: &str, host: &str, titles: &[&str]| {
        let v = items(host, titles);
        let refs: Vec<_> = v
            .iter()
            .map(|(g, l, t)| (Some(g.as_str()), Some(l.as_str()), t.as_str(), ""))
            .collect();
        s.serve(path, &refs);
    };
    serve(
        "/a",
        "a",
        &[
            "Microsoft to cut 1,000 jobs at its offices in Ireland by end of year",
            "Magnitude 6.1 earthquake strikes off coast of Chile",
        ],
    );
    serve(
        "/b",
        "b",
        &[
            "Google to cut 1,000 jobs at its offices in Ireland by end of year",
            "Magnitude 6.1 earthquake strikes off coast of Peru",
        ],
    );
    serve(
        "/c",
        "c",
        &["Microsoft to cut 1,000 jobs at its offices in Ireland by end of year - Reuters"],
    );
    // A body of a comments link is no text: the headline is the item.
    let comments = "<a href=\"https://news.example/item?id=1\">Comments</a>";
    s.serve(
        "/d",
        &[(
            Some("d-1"),
            Some("https://d.example/1"),
            "Hawks beat Lynx in overtime as Marcus Dell scores career high",
            comments,
        )],
    );
    s.serve(
        "/e",
        &[(
            Some("e-1"),
            Some("https://e.example/1"),
            "Hawks beat Owls in overtime as Marcus Dell scores career high",
            comments,
        )],
    );
    s.poll().await;
    let mut titles = s.titles();
    titles.sort();
    assert_eq!(titles.len(), 6, "{titles:?}");
    let joined = s
        .stories()
        .into_iter()
        .filter(|st| sources(st) == 2)
        .map(|st| st["title"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(joined.len(), 1, "{titles:?}");
    assert!(joined[0].contains("Microsoft"), "{joined:?}");
}

/// A vague copy never chains two stories into one, whichever feed comes
/// first: a headline without its town joins the Leeds stabbing or the
/// Bristol one, but the other town's then stays its own story (the Bristol
/// stabbing was published under the Leeds headline in four orders of six).
#[tokio::test]
async fn a_vague_copy_never_chains_two_stories_in_any_order() {
    let headlines = [
        (
            "/g",
            "Police arrest teenager after fatal stabbing near railway station",
        ),
        (
            "/l",
            "Police arrest teenager after fatal stabbing near railway station in Leeds",
        ),
        (
            "/b",
            "Police arrest teenager after fatal stabbing near railway station in Bristol",
        ),
    ];
    for order in [[0, 1, 2], [1, 0, 2], [0, 2, 1], [2, 0, 1]] {
        let s = Scenario::new(&["/g", "/l", "/b"], "").await;
        for p in ["/g", "/l", "/b"] {
            s.serve(p, &[]);
        }
        // One feed's item per poll, in this order.
        for i in order {
            let (path, title) = headlines[i];
            let link = format!("https://news.example{path}");
            s.serve(path, &[(Some(path), Some(link.as_str()), title, "")]);
            s.poll().await;
        }
        let merged = s.env.count(
            "SELECT count(*) FROM items l JOIN items b ON b.story_id = l.story_id
             WHERE l.title LIKE '%Leeds' AND b.title LIKE '%Bristol'",
        );
        assert_eq!(merged, 0, "order {order:?}: Leeds and Bristol one story");
        // (The vague one joins one of them: its first.)
        assert_eq!(
            s.env.count("SELECT count(*) FROM stories"),
            2,
            "order {order:?}"
        );
    }
}

/// One text under headlines that end in outlets' names with channel
/// numbers (" - FOX 5 DC" beside " - NBC 4 Washington") is one story: a
/// title's number alone does not keep a copy out of the story another such
/// copy joined (each later one was a story of its own).
#[tokio::test]
async fn copies_under_outlets_with_channel_numbers_are_one_story() {
    let body = "<p>A section of the Harbor Crossing bridge on Interstate 95 collapsed early Tuesday after a cargo ship struck one of its supports, the Maryland Transportation Authority said, closing the highway in both directions for what officials expect to be several weeks.</p>\
        <p>Governor Wes Moore said at a news conference that six workers who had been repairing potholes on the span were missing and that divers were searching the Patapsco River. Rescue crews pulled two people from the water shortly after the collapse, and one of them was taken to Shock Trauma in critical condition.</p>\
        <p>The container ship, which had lost power minutes before the crash, sent a mayday call that allowed police to stop traffic onto the bridge, officials said. Transportation Secretary Paul Wiedefeld urged drivers to use the Fort McHenry tunnel and Interstate 895 while engineers inspect the remaining spans.</p>";
    let headline = "Bridge collapse closes Interstate 95 near Baltimore for weeks";
    let paths = ["/t0", "/t1", "/t2", "/t3", "/t4"];
    let s = Scenario::new(&paths, "").await;
    for p in paths {
        s.serve(p, &[]);
    }
    for (path, outlet) in paths.iter().zip([
        "",
        " - NBC 4 Washington",
        " - FOX 5 DC",
        " - WBAL TV 11",
        " | AP News",
    ]) {
        let title = format!("{headline}{outlet}");
        let link = format!("https://news.example{path}");
        s.serve(
            path,
            &[(Some(path), Some(link.as_str()), title.as_str(), body)],
        );
        s.poll().await;
    }
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 5);
    assert_eq!(s.env.count("SELECT count(*) FROM stories"), 1);
}

/// Headlines that give other figures over one text are two stories, and a
/// copy whose headline gives none does not chain them ("Powerball jackpot
/// rises to $500 million" / "…$600 million", two draws over one template;
/// headline-only tolls "rises to 12" / "rises to 14"); headlines that give
/// the same figures once the outlets' names are left out are one story
/// though the outlets' channel numbers differ.
#[tokio::test]
async fn headline_figures_tell_stories_apart_but_outlets_numbers_do_not() {
    let body = "<p>No ticket matched all six numbers drawn on Saturday night, lottery officials said, so the jackpot rolls over to the next drawing on Monday, when sales are expected to climb sharply across the country.</p>\
        <p>Officials urged players to sign the back of their tickets and to check them carefully, since smaller prizes were won in several states, including two tickets that matched five numbers and are worth a million dollars each.</p>\
        <p>The odds of winning the grand prize remain about one in 292 million, according to the Multi-State Lottery Association, which runs the game in 45 states and the District of Columbia.</p>";
    // One feed's item per poll, in order; the stories' count.
    let run = |titles: Vec<(&'static str, String)>, body: &'static str| async move {
        let paths: Vec<&str> = titles.iter().map(|(p, _)| *p).collect();
        let s = Scenario::new(&paths, "").await;
        for p in &paths {
            s.serve(p, &[]);
        }
        for (path, title) in &titles {
            let link = format!("https://news.example{path}");
            s.serve(
                path,
                &[(Some(path), Some(link.as_str()), title.as_str(), body)],
            );
            s.poll().await;
        }
        s
    };
    let draw = |p: &'static str, t: &str| (p, t.to_string());
    for order in [[0, 1, 2], [1, 0, 2], [0, 2, 1]] {
        let all = [
            draw("/d1", "Powerball jackpot rises to $500 million"),
            draw("/n", "Powerball jackpot rolls over again after no winner"),
            draw("/d2", "Powerball jackpot rises to $600 million"),
        ];
        let s = run(order.iter().map(|&i| all[i].clone()).collect(), body).await;
        let merged = s.env.count(
            "SELECT count(*) FROM items a JOIN items b ON b.story_id = a.story_id
             WHERE a.title LIKE '%$500%' AND b.title LIKE '%$600%'",
        );
        assert_eq!(merged, 0, "order {order:?}: two draws one story");
        // Headlines alone, the same.
        let all = [
            draw(
                "/f0",
                "Death toll in Marrow Bay storm surge rises to 12 as search continues",
            ),
            draw(
                "/f2",
                "Death toll in Marrow Bay storm surge rises as search continues",
            ),
            draw(
                "/f1",
                "Death toll in Marrow Bay storm surge rises to 14 as search continues",
            ),
        ];
        let s = run(order.iter().map(|&i| all[i].clone()).collect(), "").await;
        let merged = s.env.count(
            "SELECT count(*) FROM items a JOIN items b ON b.story_id = a.story_id
             WHERE a.title LIKE '%to 12%' AND b.title LIKE '%to 14%'",
        );
        assert_eq!(merged, 0, "order {order:?}: two tolls one story");
    }
    // Two outlets' copies alone, their channel numbers apart: one story.
    let s = run(
        vec![
            draw(
                "/t1",
                "Powerball jackpot rolls over again - NBC 4 Washington",
            ),
            draw("/t2", "Powerball jackpot rolls over again - FOX 5 DC"),
        ],
        body,
    )
    .await;
    assert_eq!(s.env.count("SELECT count(*) FROM stories"), 1);
}

#[tokio::test]
async fn a_later_source_joins_without_reannouncing() {
    let s = Scenario::new(&["/a", "/b"], "").await;
    s.serve(
        "/a",
        &[(
            Some("a1"),
            Some("https://site.example/news/1"),
            "Old news",
            "text",
        )],
    );
    s.serve("/b", &[]);
    s.poll().await;
    s.serve(
        "/a",
        &[
            (
                Some("a2"),
                Some("https://site.example/news/2"),
                "Newer news",
                "text",
            ),
            (
                Some("a1"),
                Some("https://site.example/news/1"),
                "Old news",
                "text",
            ),
        ],
    );
    s.env.reader();
    // Make "Old news" clearly older than what follows.
    rusqlite::Connection::open(s.env.path("feedloom.db"))
        .unwrap()
        .execute_batch("UPDATE items SET first_seen_at = first_seen_at - 100; UPDATE stories SET first_seen_at = first_seen_at - 100;")
        .unwrap();
    s.poll().await;
    // Feed B picks up the old story later: it joins, and stays where it was.
    s.serve(
        "/b",
        &[(
            Some("b1"),
            Some("https://site.example/news/1?utm_campaign=b"),
            "Old news (via B)",
            "text",
        )],
    );
    let joined = s.poll().await;
    assert_eq!(joined.new, 1);
    assert_eq!(s.titles(), ["Newer news", "Old news"]);
    assert_eq!(sources(&s.stories()[1]), 2);
}

#[tokio::test]
async fn reannounce_moves_an_edited_story_to_the_top_and_item_mode_lists_every_item() {
    let s = Scenario::new(
        &["/a", "/b"],
        "[[output]]\nname = \"re\"\nupdates = \"reannounce\"\n",
    )
    .await;
    s.serve("/a", &[(Some("1"), Some("https://e.org/1"), "One", "v1")]);
    s.serve("/b", &[]);
    s.poll().await;
    // Feed B carries the same story from the next poll on: "One" stays its headline.
    s.serve(
        "/b",
        &[(Some("x"), Some("https://e.org/1"), "One (copy)", "v1")],
    );
    rusqlite::Connection::open(s.env.path("feedloom.db"))
        .unwrap()
        .execute_batch("UPDATE items SET first_seen_at = first_seen_at - 100, changed_at = changed_at - 100; UPDATE stories SET first_seen_at = first_seen_at - 100, changed_at = changed_at - 100;")
        .unwrap();
    s.serve(
        "/a",
        &[
            (Some("2"), Some("https://e.org/2"), "Two", "v1"),
            (Some("1"), Some("https://e.org/1"), "One", "v1"),
        ],
    );
    s.poll().await;
    assert_eq!(s.titles(), ["Two", "One"]);
    rusqlite::Connection::open(s.env.path("feedloom.db"))
        .unwrap()
        .execute_batch("UPDATE items SET first_seen_at = first_seen_at - 50, changed_at = changed_at - 50; UPDATE stories SET first_seen_at = first_seen_at - 50, changed_at = changed_at - 50;")
        .unwrap();
    s.serve(
        "/a",
        &[
            (Some("2"), Some("https://e.org/2"), "Two", "v1"),
            (Some("1"), Some("https://e.org/1"), "One", "v2 corrected"),
        ],
    );
    s.poll().await;
    assert_eq!(
        s.titles(),
        ["One", "Two"],
        "the edited story is announced again"
    );

    let mut item_out = s.output();
    item_out.dedup = feedloom::config::Dedup::Item;
    item_out.updates = feedloom::config::Updates::Ignore;
    let bytes = s
        .env
        .open_store()
        .with(|st| export::render_output(st, &item_out, Format::Json, feedloom::now_unix(), None))
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        3,
        "item mode: one entry per feed item"
    );
}

#[tokio::test]
async fn a_tagged_output_headlines_a_story_from_its_own_feeds() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\ntags = [\"mine\"]\n\n[[output]]\nname = \"mine\"\ntags = [\"mine\"]\n",
        srv.url("/other"),
        srv.url("/mine")
    ));
    srv.set(
        "/other",
        Resource::feed(rss(
            "Other",
            &[(
                Some("o"),
                Some("https://e.org/s/1"),
                "Other's headline",
                "x",
            )],
        )),
    );
    srv.set("/mine", Resource::feed(rss("Mine", &[])));
    poll(&cfg, env.open_store()).await.unwrap();
    srv.set(
        "/mine",
        Resource::feed(rss(
            "Mine",
            &[(Some("m"), Some("https://e.org/s/1"), "My headline", "x")],
        )),
    );
    poll(&cfg, env.open_store()).await.unwrap();
    let out = cfg.outputs[0].clone();
    let bytes = env
        .open_store()
        .with(|s| export::render_output(s, &out, Format::Json, feedloom::now_unix(), None))
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "My headline");
    assert_eq!(
        items[0]["_feedloom"]["sources"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn template_stories_differing_only_in_a_body_name_stay_apart() {
    let s = Scenario::new(&["/a", "/b"], "").await;
    let body = |town: &str| {
        format!(
            "<p>Police said a man, 34, was arrested on Monday evening in {town} after an armed robbery at a \
             convenience store on the high street of the town.</p><p>Nobody was injured during the robbery, \
             and the suspect is due to appear in court on Wednesday morning. Officers asked witnesses \
             to contact the local station.</p>"
        )
    };
    // Escaped, as RSS carries HTML in <description>.
    let esc = |h: String| h.replace('<', "&lt;").replace('>', "&gt;");
    let (b1, b2) = (esc(body("Springfield")), esc(body("Shelbyville")));
    let title = "Man, 34, arrested after armed robbery";
    s.serve(
        "/a",
        &[(Some("a-1"), Some("https://a.example/robbery"), title, &b1)],
    );
    s.serve(
        "/b",
        &[(Some("b-1"), Some("https://b.example/robbery"), title, &b2)],
    );
    s.poll().await;
    assert_eq!(s.stories().len(), 2, "different towns: different stories");

    // The same copy with only a dateline added does merge.
    let s = Scenario::new(&["/a", "/b"], "").await;
    let b3 = format!("&lt;p&gt;SPRINGFIELD (Wire) -&lt;/p&gt;{b1}");
    s.serve(
        "/a",
        &[(Some("a-1"), Some("https://a.example/robbery"), title, &b1)],
    );
    s.serve(
        "/b",
        &[(Some("b-1"), Some("https://b.example/robbery"), title, &b3)],
    );
    s.poll().await;
    assert_eq!(s.stories().len(), 1, "{:?}", s.titles());
}

#[tokio::test]
async fn a_guid_that_comes_back_after_churn_is_a_new_item_not_an_error() {
    let s = Scenario::new(&["/f"], "").await;
    s.serve("/f", &[(Some("A"), Some("https://e.org/1"), "One", "x")]);
    s.poll().await;
    // Guid A becomes B (same link): the same item.
    s.serve("/f", &[(Some("B"), Some("https://e.org/1"), "One", "x")]);
    assert_eq!(s.poll().await.new, 0);
    // Now the feed reuses A for a different story.
    s.serve(
        "/f",
        &[
            (Some("A"), Some("https://e.org/2"), "Two", "y"),
            (Some("B"), Some("https://e.org/1"), "One", "x"),
            (Some("C"), Some("https://e.org/3"), "Three", "z"),
        ],
    );
    let third = s.poll().await;
    assert_eq!((third.ok, third.failed, third.new), (1, 0, 2));
    let mut t = s.titles();
    t.sort();
    assert_eq!(t, ["One", "Three", "Two"]);
    let ids: std::collections::HashSet<String> = s
        .stories()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "every story has an id of its own");
}

/// HTML as RSS carries it in `<description>`.
fn esc(html: &str) -> String {
    html.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Two feeds, each with one entry (title, HTML body) under its own guid and
/// link; polled once. Returns the stories of the merged output.
async fn two_copies(a: (&str, &str), b: (&str, &str)) -> Vec<Value> {
    let s = Scenario::new(&["/a", "/b"], "").await;
    for (path, host, (title, body)) in [("/a", "daily.example", a), ("/b", "herald.example", b)] {
        let link = format!("https://{host}/2024/{}", &path[1..]);
        s.serve(
            path,
            &[(Some(host), Some(link.as_str()), title, &esc(body))],
        );
    }
    s.poll().await;
    s.stories()
}

const FINE_LEDE: &str = "The U.S. Transportation Department on Wednesday fined Skyward Air $4.2 \
     million for taking months to refund passengers whose flights were cancelled during last \
     winter's storms, the largest such penalty this year.";
const FINE_MORE: &str = "Investigators found that more than 9,000 customers waited over 100 days \
     for their money. \"Passengers deserve their refunds promptly,\" the department said.";
const FINE_LAST: &str = "Skyward Air said it had changed its refund systems and now pays most \
     claims within a week. It did not admit wrongdoing as part of the settlement.";

fn fine(paras: &[&str]) -> String {
    paras.iter().map(|p| format!("<p>{p}</p>")).collect()
}

#[tokio::test]
async fn spelling_and_punctuation_variants_are_one_story() {
    let full = fine(&[FINE_LEDE, FINE_MORE, FINE_LAST]);
    let restyled = full
        .replace("U.S.", "US")
        .replace("\"Passengers", "“Passengers")
        .replace("promptly,\"", "promptly,”");
    let stories = two_copies(
        ("U.S. regulator fines Skyward Air $4.2 million", &full),
        ("US regulator fines Skyward Air $4.2 million", &restyled),
    )
    .await;
    assert_eq!(stories.len(), 1, "{stories:#?}");
    assert_eq!(sources(&stories[0]), 2);
}

#[tokio::test]
async fn a_rewritten_headline_over_the_same_lede_is_one_story() {
    let full = fine(&[FINE_LEDE, FINE_MORE, FINE_LAST]);
    let stories = two_copies(
        ("U.S. regulator fines Skyward Air $4.2 million", &full),
        (
            "Airline penalised for making storm-hit travellers wait for refunds",
            &full,
        ),
    )
    .await;
    assert_eq!(stories.len(), 1, "{stories:#?}");
}

#[tokio::test]
async fn a_cut_copy_with_dateline_and_byline_is_one_story() {
    let full = fine(&[FINE_LEDE, FINE_MORE, FINE_LAST]);
    let cut = format!(
        "<p>By Dana Whitfield</p>{}",
        fine(&[&format!("WASHINGTON, Nov 5 (Newswire) - {FINE_LEDE}")])
    );
    let stories = two_copies(
        ("U.S. regulator fines Skyward Air $4.2 million", &full),
        ("U.S. fines Skyward Air over refund delays", &cut),
    )
    .await;
    assert_eq!(stories.len(), 1, "{stories:#?}");
}

/// An outlet's copy of a wire story under its own long byline, with an
/// editor's note on top, a photo caption, and contributor and copyright
/// lines: one story with the agency's, in either order.
#[tokio::test]
async fn a_copy_under_an_outlets_own_lines_is_one_story() {
    // (A story of some length: such lines are left out when 80 words of
    // prose are left and they are at most 2/5 of it.)
    const MORE: &str = "The penalty follows a review of complaints filed by travellers whose \
         trips over the December holidays were cancelled when ice storms closed airports \
         across the Midwest and the Rocky Mountain region.";
    const LAST: &str = "Consumer groups welcomed the fine but said regulators should require \
         airlines to pay refunds automatically, without asking passengers to file claims or \
         wait on hold for hours.";
    let full = fine(&[FINE_LEDE, FINE_MORE, FINE_LAST, MORE, LAST]);
    let dressed = format!(
        "<p>By Brian Okafor and Tim Rennard, Newswire Business Writers</p>\
         <p>Editor’s note: This story has been updated to include the airline's response.</p>\
         {}<figure><img src=\"https://cdn.example/jet.jpg\"><figcaption>A Skyward Air jet \
         at the gate in Denver on Tuesday. (Newswire Photo/Ann Lee)</figcaption></figure>{}\
         <p>Newswire writer Carla Mendes in Chicago contributed to this report.</p>\
         <p>Copyright 2024 Newswire. All rights reserved. This material may not be \
         published, broadcast, rewritten or redistributed.</p>",
        fine(&[&format!("WASHINGTON (Newswire) — {FINE_LEDE}")]),
        fine(&[FINE_MORE, FINE_LAST, MORE, LAST])
    );
    let agency = (
        "U.S. regulator fines Skyward Air $4.2 million",
        full.as_str(),
    );
    let outlet = ("Skyward Air fined over slow refunds", dressed.as_str());
    for (a, b) in [(agency, outlet), (outlet, agency)] {
        let stories = two_copies(a, b).await;
        assert_eq!(stories.len(), 1, "{stories:#?}");
        assert_eq!(sources(&stories[0]), 2);
    }
}

#[tokio::test]
async fn a_summary_and_the_full_text_are_one_story_whichever_comes_first() {
    let full = fine(&[FINE_LEDE, FINE_MORE, FINE_LAST]);
    let summary = "The U.S. Transportation Department on Wednesday fined Skyward Air $4.2 \
                   million for taking months to refund passengers…";
    let title = "U.S. regulator fines Skyward Air $4.2 million";
    for (first, second) in [(summary, full.as_str()), (full.as_str(), summary)] {
        let s = Scenario::new(&["/a", "/b"], "").await;
        s.serve(
            "/a",
            &[(
                Some("a-1"),
                Some("https://a.example/fine"),
                title,
                &esc(first),
            )],
        );
        s.poll().await;
        s.serve(
            "/b",
            &[(
                Some("b-1"),
                Some("https://b.example/fine"),
                title,
                &esc(second),
            )],
        );
        s.poll().await;
        let stories = s.stories();
        assert_eq!(stories.len(), 1, "{stories:#?}");
        assert_eq!(sources(&stories[0]), 2);
    }
}

#[tokio::test]
async fn a_short_korean_text_with_a_word_changed_is_one_story() {
    let text = "<p>8일 오전 3시께 한빛시 중앙동의 한 아파트 9층에서 불이 나 주민 20여 명이 대피했다. \
                불은 30분 만에 꺼졌으며 인명 피해는 없었다. 소방당국은 정확한 화재 원인을 조사하고 \
                있다.</p>";
    let edited = text.replace("불이 나", "화재가 발생해");
    let title = "한빛시 아파트 화재…주민 20여 명 대피";
    let stories = two_copies((title, text), (title, &edited)).await;
    assert_eq!(stories.len(), 1, "{stories:#?}");
}

#[tokio::test]
async fn japanese_full_width_and_half_width_forms_are_one_story() {
    let text = "<p>みなと自動車は12日、ブレーキ部品に不具合があるとして、小型車「ルミナ」など3車種\
                計12万4千台のリコールを国土交通省に届け出た。</p><p>同社によると、ブレーキの油圧\
                を制御する部品の一部が劣化し、最悪の場合、制動距離が長くなる恐れがある。</p>";
    let print = text
        .replace("12日", "１２日")
        .replace("3車種", "３車種")
        .replace("「ルミナ」", "「ﾙﾐﾅ」");
    let title = "みなと自動車、12万台リコール　ブレーキ部品に不具合";
    let stories = two_copies((title, text), (title, &print)).await;
    assert_eq!(stories.len(), 1, "{stories:#?}");
}

#[tokio::test]
async fn cjk_templates_with_other_places_stay_apart() {
    let quake = |pref: &str, area: &str| {
        (
            format!("{pref}で震度4　津波の心配なし"),
            format!(
                "<p>5日午前6時12分ごろ、{area}を震源とする地震があり、{pref}で最大震度4を観測した。\
                 気象庁によると、震源の深さは約50キロ、マグニチュードは4.8と推定される。</p>\
                 <p>この地震による津波の心配はない。これまでに被害の情報は入っていない。</p>"
            ),
        )
    };
    let (a, b) = (
        quake("千葉県", "千葉県北西部"),
        quake("茨城県", "茨城県南部"),
    );
    let stories = two_copies((&a.0, &a.1), (&b.0, &b.1)).await;
    assert_eq!(stories.len(), 2, "different places: different stories");

    let weather = |city: &str| {
        (
            format!("{city}明天晴转多云 最高气温35℃"),
            format!(
                "<p>据气象部门预报，{city}明天晴转多云，最高气温35℃，最低气温26℃，偏南风3级左右。\
                 </p><p>气象部门提醒，近期气温较高，市民外出注意防暑降温，尽量避免在午后高温时段\
                 长时间户外活动。</p>"
            ),
        )
    };
    let (a, b) = (weather("南江"), weather("北川"));
    let stories = two_copies((&a.0, &a.1), (&b.0, &b.1)).await;
    assert_eq!(stories.len(), 2, "different cities: different stories");
}

#[tokio::test]
async fn a_follow_up_that_reuses_background_stays_apart() {
    let first = fine(&[FINE_LEDE, FINE_MORE, FINE_LAST]);
    let follow_up = fine(&[
        "Skyward Air on Monday paid the $4.2 million fine and said it would refund the \
         remaining 1,200 passengers by the end of the month, the U.S. Transportation \
         Department said.",
        FINE_MORE,
        "The airline said a new refund team of 40 people had cleared most of the backlog.",
    ]);
    let stories = two_copies(
        ("U.S. regulator fines Skyward Air $4.2 million", &first),
        (
            "Skyward Air pays $4.2 million fine, promises refunds",
            &follow_up,
        ),
    )
    .await;
    assert_eq!(stories.len(), 2, "{stories:#?}");
}

/// A user deleting the newest item with `sqlite3` (foreign keys off, as the
/// shell has them) leaves its fingerprint row behind; the next new item gets
/// the same id and is still stored, with its own fingerprint.
#[tokio::test]
async fn an_item_deleted_by_hand_leaves_no_trap_for_the_next_one() {
    let s = Scenario::new(&["/f"], "").await;
    let text = |who: &str| {
        format!(
            "The council of {who} voted on Tuesday to rebuild the old harbour bridge, \
             which has been closed since the spring floods. Work starts next month \
             and should take two years, the mayor of {who} said."
        )
    };
    let (ta, tb, tc) = (text("Lisbon"), text("Bergen"), text("Ostend"));
    let a = (Some("a"), Some("https://e.org/a"), "Alpha", ta.as_str());
    let b = (Some("b"), Some("https://e.org/b"), "Beta", tb.as_str());
    s.serve("/f", &[a, b]);
    assert_eq!(s.poll().await.new, 2);
    let newest = s.env.count("SELECT max(id) FROM items");
    {
        let c = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
        c.pragma_update(None, "foreign_keys", false).unwrap();
        c.execute("DELETE FROM items WHERE id = ?1", [newest])
            .unwrap();
    }
    let orphan = format!("SELECT count(*) FROM near_items WHERE item_id = {newest}");
    assert_eq!(s.env.count(&orphan), 1);
    let c = (Some("c"), Some("https://e.org/c"), "Gamma", tc.as_str());
    s.serve("/f", &[a, c]);
    let third = s.poll().await;
    assert_eq!((third.new, third.failed), (1, 0));
    assert!(s.titles().contains(&"Gamma".to_string()));
    let id = s.env.count("SELECT id FROM items WHERE title = 'Gamma'");
    assert_eq!(id, newest, "the new item reuses the deleted one's id");
    let own = format!(
        "SELECT count(*) FROM near_items n JOIN items i ON i.id = n.item_id
         WHERE n.item_id = {id} AND n.first_seen_at = i.first_seen_at"
    );
    assert_eq!(s.env.count(&own), 1);
}

/// A link that several entries of a feed point to (a podcast's page, a live
/// blog whose posts differ only by #fragment) names no one story: another
/// feed's item with that link is not merged into one of them.
#[tokio::test]
async fn entries_sharing_a_listing_link_are_not_merged_across_feeds() {
    let s = Scenario::new(&["/a", "/b", "/live"], "").await;
    s.serve(
        "/a",
        &[
            (
                Some("a1"),
                Some("https://net.example/podcasts/"),
                "Episode 41: Ocean mysteries",
                "Deep sea.",
            ),
            (
                Some("a2"),
                Some("https://net.example/podcasts/"),
                "Episode 40: Mountain air",
                "Peaks.",
            ),
        ],
    );
    s.serve(
        "/b",
        &[
            (
                Some("b1"),
                Some("https://net.example/podcasts"),
                "Cooking show 12: Bread",
                "Flour.",
            ),
            (
                Some("b2"),
                Some("https://net.example/podcasts"),
                "Cooking show 11: Soup",
                "Stock.",
            ),
        ],
    );
    s.serve(
        "/live",
        &[(
            Some("l3"),
            Some("https://net.example/podcasts/#ep-12"),
            "Bread, live",
            "Crumbs.",
        )],
    );
    s.poll().await;
    let mut t = s.titles();
    t.sort();
    assert_eq!(
        t,
        [
            "Bread, live",
            "Cooking show 11: Soup",
            "Cooking show 12: Bread",
            "Episode 40: Mountain air",
            "Episode 41: Ocean mysteries"
        ]
    );
}

/// A feed that shows only its latest entry, every one linking to the site's
/// front page under a new guid: each entry is a new item, not the last one
/// re-keyed (which lost the one before).
#[tokio::test]
async fn new_guids_on_a_front_page_link_are_new_items() {
    let s = Scenario::new(&["/status"], "").await;
    for (i, title) in [
        "Outage in region one",
        "Database failover",
        "Network maintenance",
    ]
    .iter()
    .enumerate()
    {
        let guid = format!("incident-{i}");
        s.serve(
            "/status",
            &[(
                Some(&guid),
                Some("http://status.example.org/"),
                title,
                title,
            )],
        );
        assert_eq!(s.poll().await.new, 1, "{title}");
    }
    assert_eq!(s.stories().len(), 3, "{:?}", s.titles());
}

/// Two papers of one chain put the same paywall teaser under every article:
/// five articles, five stories, whichever paper is read first. (The one
/// paper's article joined the first of the other's with the teaser: the
/// story hid it.)
#[tokio::test]
async fn articles_under_one_paywall_teaser_stay_apart() {
    let teaser = "This article is available to subscribers only. Log in or subscribe today to \
                  get unlimited access to all of our local news coverage.";
    for first in ["/valley", "/hill"] {
        let s = Scenario::new(&["/valley", "/hill"], "").await;
        let valley = [
            "City council approves new bike lanes",
            "Library extends weekend hours",
            "Police investigate downtown break-ins",
        ];
        let entries: Vec<(String, String)> = valley
            .iter()
            .enumerate()
            .map(|(i, _)| {
                (
                    format!("vt-{i}"),
                    format!("https://valley.example/news/{i}"),
                )
            })
            .collect();
        let valley_doc: Vec<(Option<&str>, Option<&str>, &str, &str)> = entries
            .iter()
            .zip(valley)
            .map(|((g, l), t)| (Some(g.as_str()), Some(l.as_str()), t, teaser))
            .collect();
        let hill_doc = [(
            Some("hc-0"),
            Some("https://hill.example/local/0"),
            "Farmers market returns to the square",
            teaser,
        )];
        let serve = |path: &str| match path {
            "/valley" => s.serve("/valley", &valley_doc),
            _ => s.serve("/hill", &hill_doc),
        };
        serve(first);
        s.poll().await;
        serve(if first == "/valley" {
            "/hill"
        } else {
            "/valley"
        });
        s.poll().await;
        assert_eq!(s.stories().len(), 4, "{first} first: {:?}", s.titles());
        // A fourth article later, alone among known ones: its paper's
        // stored articles have the teaser under other titles.
        let mut more = valley_doc.clone();
        more.insert(
            0,
            (
                Some("vt-9"),
                Some("https://valley.example/news/9"),
                "High school wins state robotics title",
                teaser,
            ),
        );
        s.serve("/valley", &more);
        assert_eq!(s.poll().await.new, 1);
        assert_eq!(s.stories().len(), 5, "{first} first: {:?}", s.titles());
    }
}

/// A show's page (not a front page) that each new episode links to, under a
/// new guid, with its own title and text: a new item each time. (Taken for
/// the feed changing its guids, each replaced the one before, unannounced,
/// under its id.) A guid changed with the title or text kept is the same item.
#[tokio::test]
async fn a_new_entry_at_the_last_ones_page_is_new_and_a_changed_guid_is_not() {
    let s = Scenario::new(&["/show"], "").await;
    let page = "https://radio.example.org/shows/morning-show";
    let episodes = [
        (
            "ep-1",
            "Monday: the new tram line opens",
            "Our reporter rides the first tram.",
        ),
        (
            "ep-2",
            "Tuesday: a chef on seasonal cooking",
            "A chef shares three recipes for early summer vegetables from the market, with tips on buying, storing and cooking them.",
        ),
    ];
    for (guid, title, text) in episodes {
        s.serve("/show", &[(Some(guid), Some(page), title, text)]);
        let sum = s.poll().await;
        assert_eq!((sum.new, sum.updated), (1, 0), "{title}");
    }
    assert_eq!(s.stories().len(), 2, "{:?}", s.titles());
    // The feed changes the guid of the entry it carries: the same item.
    let (_, title, text) = episodes[1];
    s.serve(
        "/show",
        &[(Some("tag:radio,2024:ep-2"), Some(page), title, text)],
    );
    let sum = s.poll().await;
    assert_eq!((sum.new, sum.updated), (0, 0));
    s.serve(
        "/show",
        &[(Some("ep-2-again"), Some(page), "Tuesday, corrected", text)],
    );
    assert_eq!(s.poll().await.new, 0, "the same text under a new guid");
    // A CMS moved: a new guid, the headline's letter case and quotes
    // changed, a footer added to the text. The same item.
    s.serve(
        "/show",
        &[(
            Some("https://radio.example.org/?p=2"),
            Some(page),
            "TUESDAY, CORRECTED!",
            &format!("{text} The post appeared first on Radio."),
        )],
    );
    assert_eq!(s.poll().await.new, 0, "letter case and punctuation aside");
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 2);
    // Every week's bulletin under one title at one address, each with its
    // own text: a new item.
    let bulletin = "https://city.example.org/roadworks";
    for (guid, text) in [
        (
            "rw-23",
            "Crews resurface Mill Road and close the bridge on Sunday.",
        ),
        (
            "rw-24",
            "Queen Street gets new drains; buses divert via the station.",
        ),
    ] {
        s.serve(
            "/show",
            &[(Some(guid), Some(bulletin), "This week's road works", text)],
        );
        assert_eq!(s.poll().await.new, 1, "{guid}");
    }

    // Episodes under one standard description, each with its own file (and
    // date): new items, though the text is the same.
    let s = Scenario::new(&["/pod"], "").await;
    let episode = |n: u32, day: u32| {
        format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Movie talk</title>
            <item><title>Ep {n}: a film</title><link>https://pod.example.org/show</link><guid>mt-{n}</guid>
            <pubDate>{day} Jun 2024 09:00:00 GMT</pubDate>
            <description>Two friends talk about the movies they saw this week.</description>
            <enclosure url="https://cdn.example.org/mt-{n}.mp3" length="1000" type="audio/mpeg"/></item>
            </channel></rss>"#
        )
    };
    for (n, day) in [(41, 3), (42, 10)] {
        s.srv.set("/pod", Resource::feed(episode(n, day)).no_etag());
        assert_eq!(s.poll().await.new, 1, "episode {n}");
    }
    // The same file and date under a new guid: the guid changed.
    s.srv.set(
        "/pod",
        Resource::feed(episode(42, 10).replace("<guid>mt-42</guid>", "<guid>tag:mt:42</guid>"))
            .no_etag(),
    );
    assert_eq!(s.poll().await.new, 0);
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 2);
}

/// Serves at `path` an RSS document of entries of nothing but a file each.
fn serve_files(s: &Scenario, path: &str, files: &[String]) {
    let items: String = files
        .iter()
        .map(|f| format!(r#"<item><enclosure url="{f}" length="1" type="audio/mpeg"/></item>"#))
        .collect();
    s.srv.set(
        path,
        Resource::feed(format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Pod</title>{items}</channel></rss>"#
        ))
        .no_etag(),
    );
}

/// A podcast of bare enclosures, each episode named by its query
/// (`download.php?episode=12`), one or two in the document at a time: each
/// is an item of its own (each replaced the one before, which was lost, and
/// two in one document were one), a signed file's new token or a cache
/// buster is no new episode, a video named by `?v=` is not a cache buster,
/// and an episode stored before the query counted (keyed by the file's
/// address alone) is found again.
#[tokio::test]
async fn bare_episodes_named_by_their_query_are_each_kept() {
    let s = Scenario::new(&["/pod"], "").await;
    let serve = |files: &[String]| serve_files(&s, "/pod", files);
    let ep = |n: u32, token: &str| {
        // (A signature's hex digits, other at each fetch.)
        let hex: String = token.bytes().map(|b| format!("{b:02x}")).collect();
        format!("https://pod.example/download.php?episode={n}&amp;sig=9f86d0{hex}")
    };
    serve(&[ep(12, "a1")]);
    assert_eq!(s.poll().await.new, 1);
    serve(&[ep(13, "b2"), ep(12, "b2")]);
    let second = s.poll().await;
    assert_eq!((second.new, second.updated), (1, 0), "{second}");
    serve(&[ep(14, "c3")]);
    assert_eq!(s.poll().await.new, 1);
    let files = || {
        let mut v: Vec<String> = s
            .env
            .reader()
            .prepare("SELECT enclosures FROM items")
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        v.sort();
        v
    };
    let stored = files();
    assert_eq!(stored.len(), 3, "{stored:?}");
    for (f, n) in stored.iter().zip([12, 13, 14]) {
        assert!(f.contains(&format!("episode={n}&")), "{f}");
    }
    // As a feedloom before stored episode 12: keyed by the file's address
    // without its query.
    let old = feedloom::identity::identify_document(vec![feedloom::parse::Entry {
        enclosures: vec![feedloom::parse::enclosures::Enclosure {
            url: "https://pod.example/download.php".into(),
            ..Default::default()
        }],
        ..Default::default()
    }]);
    let db = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
    let rekeyed = db
        .execute(
            "UPDATE items SET key = ?1 WHERE enclosures LIKE '%episode=12&%'",
            [&old[0].key],
        )
        .unwrap();
    assert_eq!(rekeyed, 1);
    db.execute_batch("UPDATE feeds SET body_hash = NULL, entry_seals = NULL")
        .unwrap();
    drop(db);
    serve(&[ep(15, "d4"), ep(12, "d4")]);
    let upgraded = s.poll().await;
    assert_eq!((upgraded.new, upgraded.updated), (1, 0), "{upgraded}");
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 4);
    // Re-keyed: found at once the next time.
    let rekeyed_to = s
        .env
        .reader()
        .query_row(
            "SELECT key FROM items WHERE enclosures LIKE '%episode=12&%'",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    assert_ne!(rekeyed_to, old[0].key);
    serve(&[ep(15, "e5"), ep(12, "e5")]);
    let again = s.poll().await;
    assert_eq!((again.new, again.updated), (0, 0), "{again}");
    // Two episodes, one stored before under the query-less key they then
    // shared (the document's first): that one keeps its row and its file,
    // the other is new (it took the stored row, and the stored episode was
    // announced again under a new id).
    let s = Scenario::new(&["/pod"], "").await;
    let serve = |files: &[String]| serve_files(&s, "/pod", files);
    serve(&[ep(12, "f6")]);
    assert_eq!(s.poll().await.new, 1);
    let db = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
    db.execute("UPDATE items SET key = ?1", [&old[0].key])
        .unwrap();
    db.execute_batch("UPDATE feeds SET body_hash = NULL, entry_seals = NULL")
        .unwrap();
    drop(db);
    serve(&[ep(12, "g7"), ep(11, "g7")]);
    let both = s.poll().await;
    assert_eq!((both.new, both.updated), (1, 0), "{both}");
    let first: String = s
        .env
        .reader()
        .query_row(
            "SELECT enclosures FROM items ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(first.contains("episode=12&"), "{first}");
    // Videos named by `?v=`, and a file's cache buster.
    serve(&[
        "https://v.example/watch?v=abc111".into(),
        "https://v.example/watch?v=def222".into(),
        "https://pod.example/talk.mp3?v=1699999999".into(),
    ]);
    assert_eq!(s.poll().await.new, 3);
    serve(&["https://pod.example/talk.mp3?v=1700000000".into()]);
    let busted = s.poll().await;
    assert_eq!((busted.new, busted.updated), (0, 0), "{busted}");
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 5);
}

/// Bare episodes whose files a signing scheme signs (nginx's `st`/`e` and
/// `md5`/`expires`, Cloudflare's `verify`, Limelight's `h`) are the same
/// items at every new signature, however the feed orders or encodes the
/// naming parameters (each fetch stored them again, announced), while a
/// season and an episode given by single letters still name the file. An
/// episode stored by a build that kept the parameters as written is found
/// under that key.
#[tokio::test]
async fn signed_or_reordered_episode_files_are_the_same_items() {
    let s = Scenario::new(&["/pod"], "").await;
    let serve = |files: &[String]| serve_files(&s, "/pod", files);
    let poll_of = |round: u64, reordered: bool| {
        let t = 1_712_345_600 + round;
        let tok = format!("q8Zx0b6JrLh3m9PqWkT2sVfYcAeNdGu{round:012}");
        let base = "https://pod.example/dl.php";
        match reordered {
            false => vec![
                // (First: stored last, so that it is not among the first
                // rows of its text, which a look-up by text reads.)
                format!("{base}?show=c&amp;episode=20&amp;sig={tok}"),
                format!("{base}?show=b&amp;episode=17&amp;st={tok}&amp;e={t}"),
                format!("{base}?show=b&amp;episode=18&amp;verify={t}-{tok}"),
                format!("{base}?s=3&amp;e=12&amp;h=3f2a{round:04x}&amp;expires={t}"),
                format!("{base}?episode=19&amp;md5={tok}&amp;expires={t}"),
            ],
            true => vec![
                format!("{base}?episode=20&amp;sig={tok}&amp;show=c"),
                format!("{base}?episode=17&amp;show=b&amp;e={t}&amp;st={tok}"),
                format!("{base}?episode=%31%38&amp;show=b&amp;verify={t}-{tok}"),
                format!("{base}?e=12&amp;s=3&amp;expires={t}&amp;h=3f2a{round:04x}&amp;s=3"),
                format!("{base}?md5={tok}&amp;episode=19&amp;expires={t}"),
            ],
        }
    };
    serve(&poll_of(1, false));
    assert_eq!(s.poll().await.new, 5);
    for (round, reordered) in [(2, false), (3, true), (4, false)] {
        serve(&poll_of(round, reordered));
        let again = s.poll().await;
        assert_eq!((again.new, again.updated), (0, 0), "round {round}: {again}");
    }
    // Another season's episode 12 is another file.
    let mut more = poll_of(5, false);
    more.push("https://pod.example/dl.php?s=4&amp;e=12".into());
    serve(&more);
    assert_eq!(s.poll().await.new, 1);
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 6);
    // As a build that kept the naming parameters as written stored
    // episode 20 (`show=c&episode=20`): keyed by its title, date, text and
    // that file name.
    let before = format!(
        "hash:{}",
        feedloom::identity::short_hash(&[
            "",
            "",
            "",
            "https://pod.example/dl.php?show=c&episode=20"
        ])
    );
    let now = format!(
        "hash:{}",
        feedloom::identity::short_hash(&[
            "",
            "",
            "",
            "https://pod.example/dl.php?episode=20&show=c"
        ])
    );
    let db = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
    let rekeyed = db
        .execute("UPDATE items SET key = ?1 WHERE key = ?2", [&before, &now])
        .unwrap();
    assert_eq!(rekeyed, 1);
    db.execute_batch("UPDATE feeds SET body_hash = NULL, entry_seals = NULL")
        .unwrap();
    drop(db);
    serve(&poll_of(6, false));
    let upgraded = s.poll().await;
    assert_eq!((upgraded.new, upgraded.updated), (0, 0), "{upgraded}");
    // Names that sign files elsewhere, holding what cannot be a signature
    // (a word, a slug, a content id, a time alone), still name the file:
    // each new episode replaced the last, unannounced.
    for (one, two) in [
        ("get?key=ep12", "get?key=ep13"),
        ("get?e=ep12", "get?e=ep13"),
        ("get?s=my-first-show", "get?s=my-second-show"),
        ("get?st=12", "get?st=13"),
        (
            "get?hash=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
            "get?hash=QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
        ),
        (
            "dl.php?show=b&amp;e=1712345612",
            "dl.php?show=b&amp;e=1712345613",
        ),
        (
            "get?key=the-return-of-the-king-episode-12",
            "get?key=the-return-of-the-king-episode-13",
        ),
        (
            "get?key=1f0c3e2a-1111-4a4a-8b8b-000000000012",
            "get?key=1f0c3e2a-1111-4a4a-8b8b-000000000013",
        ),
        ("get?key=a1b2c3d4e5f60718", "get?key=a1b2c3d4e5f60719"),
        (
            "get?key=Episode12OfTheLongestShow",
            "get?key=Episode13OfTheLongestShow",
        ),
        (
            "file?hash=da39a3ee5e6b4b0d3255bfef95601890afd80712",
            "file?hash=da39a3ee5e6b4b0d3255bfef95601890afd80713",
        ),
        (
            "get?md5=9e107d9d372bb6826bd81d3542a419d6&amp;expires=0",
            "get?md5=e4d909c290d0fb1ca068ffaddf22cbd0&amp;expires=0",
        ),
        // On a script, names that always sign, holding a number, a word or
        // a slug (not a signature's value).
        ("play?sig=12", "play?sig=13"),
        ("play?token=ep12", "play?token=ep13"),
        ("play?Signature=episode-12", "play?Signature=episode-13"),
        ("play?hmac=ep12&amp;show=b", "play?hmac=ep13&amp;show=b"),
    ] {
        let s = Scenario::new(&["/pod"], "").await;
        let file = |q: &str| format!("https://cdn.example/{q}");
        serve_files(&s, "/pod", &[file(one)]);
        assert_eq!(s.poll().await.new, 1, "{one}");
        serve_files(&s, "/pod", &[file(two), file(one)]);
        assert_eq!(s.poll().await.new, 1, "{two}");
        serve_files(&s, "/pod", &[file(two)]);
        let last = s.poll().await;
        assert_eq!((last.new, last.updated), (0, 0), "{two}: {last}");
        assert_eq!(s.env.count("SELECT count(*) FROM items"), 2, "{one} {two}");
    }
    assert_eq!(
        s.env
            .count(&format!("SELECT count(*) FROM items WHERE key = '{now}'")),
        1,
        "re-keyed"
    );
    // As a build that left out any value under a signing name stored an
    // episode (`play?show=b&sig=ep12&ep=%31%32` keyed as `play?ep=12&show=b`):
    // found by its date and words, and re-keyed.
    // (Signed anew at each fetch: its address is another each time.)
    let s = Scenario::new(&["/pod"], "").await;
    let file = |t: u32| {
        format!(
            "https://cdn.example/play?show=b&amp;sig=ep12&amp;ep=%31%32&amp;Expires={t}&amp;Signature=q8Zx0b6JrLh3m9Pq{t}"
        )
    };
    serve_files(&s, "/pod", &[file(1_712_345_612)]);
    assert_eq!(s.poll().await.new, 1);
    let key_of = |name: &str| {
        format!(
            "hash:{}",
            feedloom::identity::short_hash(&["", "", "", name])
        )
    };
    let (before, now) = (
        key_of("https://cdn.example/play?ep=12&show=b"),
        key_of("https://cdn.example/play?ep=12&show=b&sig=ep12"),
    );
    let db = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
    let rekeyed = db
        .execute("UPDATE items SET key = ?1 WHERE key = ?2", [&before, &now])
        .unwrap();
    assert_eq!(rekeyed, 1);
    db.execute_batch("UPDATE feeds SET body_hash = NULL, entry_seals = NULL")
        .unwrap();
    drop(db);
    serve_files(&s, "/pod", &[file(1_712_349_999)]);
    let upgraded = s.poll().await;
    assert_eq!((upgraded.new, upgraded.updated), (0, 0), "{upgraded}");
    assert_eq!(
        s.env
            .count(&format!("SELECT count(*) FROM items WHERE key = '{now}'")),
        1,
        "re-keyed"
    );
}

/// A JSON Feed item of only an attachment (no id, no url) is keyed by its
/// file, not by the attachment as its link: a new token is no new item. One
/// stored before, keyed by its attachment as a link, is found again when
/// the document is read again (it was stored a second time).
#[tokio::test]
async fn a_json_item_of_only_an_attachment_is_one_item() {
    let s = Scenario::new(&["/j"], "").await;
    let serve = |title: &str, token: &str| {
        s.srv.set(
            "/j",
            Resource::feed(format!(
                r#"{{"version":"https://jsonfeed.org/version/1.1","title":"{title}","items":[{{"title":"Ep one","attachments":[{{"url":"https://cdn.example/dl.php?episode=6&token={token}","mime_type":"audio/mpeg"}}]}}]}}"#
            ))
            .no_etag(),
        );
    };
    serve("Pod", "x7Kp2QaZ");
    assert_eq!(s.poll().await.new, 1);
    serve("Pod", "R4mT9wLq");
    let rotated = s.poll().await;
    assert_eq!(rotated.new, 0, "{rotated}");
    // As a build before keyed it.
    let db = rusqlite::Connection::open(s.env.path("feedloom.db")).unwrap();
    db.execute_batch(
        "UPDATE items SET key = 'link://cdn.example/dl.php?episode=6&token=R4mT9wLq', key_kind = 'link',
                          url = 'https://cdn.example/dl.php?episode=6&token=R4mT9wLq',
                          canonical_url = '//cdn.example/dl.php?episode=6&token=R4mT9wLq';
         UPDATE feeds SET body_hash = NULL, entry_seals = NULL",
    )
    .unwrap();
    drop(db);
    serve("Pod feed", "R4mT9wLq");
    let again = s.poll().await;
    assert_eq!(again.new, 0, "{again}");
    assert_eq!(s.env.count("SELECT count(*) FROM items"), 1);
}

/// Entries without guid that all link to the site's front page, the feed
/// showing only its latest: the front page names none of them, so each is
/// known by its title (under the link alone each replaced the one before:
/// the earlier ones were lost), and one seen again is not new.
#[tokio::test]
async fn entries_without_guid_on_a_front_page_link_are_known_by_title() {
    let s = Scenario::new(&["/home"], "").await;
    let titles = ["Alpha opens", "Bravo closes", "Charlie moves"];
    for title in titles {
        s.serve(
            "/home",
            &[(None, Some("https://home.example.org/"), title, title)],
        );
        let sum = s.poll().await;
        assert_eq!((sum.new, sum.updated), (1, 0), "{title}");
    }
    // One stored before, under the link alone, is still that item.
    let rekeyed = rusqlite::Connection::open(s.env.path("feedloom.db"))
        .unwrap()
        .execute(
            "UPDATE items SET key = 'link://home.example.org' WHERE title = ?1",
            [titles[0]],
        )
        .unwrap();
    assert_eq!(rekeyed, 1);
    s.serve(
        "/home",
        &[(
            None,
            Some("https://home.example.org/"),
            titles[0],
            titles[0],
        )],
    );
    let again = s.poll().await;
    assert_eq!((again.new, again.updated), (0, 0));
    let mut seen = s.titles();
    seen.sort();
    assert_eq!(seen, titles);
}

/// A show's feed without guids whose every episode links to the show's page,
/// one episode in the document at a time: each is an item of its own (each
/// replaced the one before, which was lost); a corrected episode (same date
/// and file) stays one item.
#[tokio::test]
async fn episodes_sharing_a_show_page_one_at_a_time_are_each_kept() {
    let s = Scenario::new(&["/show"], "").await;
    let episode = |n: u32, title: &str, text: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>Show</title><item><title>{title}</title>\
             <link>https://show.example/podcast</link><description>{text}</description>\
             <pubDate>{:02} Nov 2026 06:00:00 GMT</pubDate>\
             <enclosure url=\"https://cdn.show.example/ep{n}.mp3\" type=\"audio/mpeg\" length=\"1000\"/>\
             </item></channel></rss>",
            n * 7
        )
    };
    let eps = [
        (1, "Episode 1: harbours", "We talk about harbours."),
        (2, "Episode 2: bridges", "Bridges and their builders."),
        (3, "Episode 3: ferries", "A history of ferries."),
    ];
    for (n, title, text) in eps {
        s.srv
            .set("/show", Resource::feed(episode(n, title, text)).no_etag());
        let sum = s.poll().await;
        assert_eq!((sum.new, sum.updated), (1, 0), "{title}");
    }
    // The latest again (in a document otherwise new: not skipped as the same
    // body), then corrected (its title and notes, same date and file).
    let (n, title, text) = eps[2];
    s.srv.set(
        "/show",
        Resource::feed(
            episode(n, title, text).replace("<title>Show</title>", "<title>Show!</title>"),
        )
        .no_etag(),
    );
    let sum = s.poll().await;
    assert_eq!((sum.new, sum.updated), (0, 0));
    s.srv.set(
        "/show",
        Resource::feed(episode(
            3,
            "Episode 3: ferries and tugs",
            "A history of ferries, and tugs.",
        ))
        .no_etag(),
    );
    let sum = s.poll().await;
    assert_eq!((sum.new, sum.updated), (0, 1));
    let mut titles = s.titles();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Episode 1: harbours",
            "Episode 2: bridges",
            "Episode 3: ferries and tugs"
        ]
    );
}

/// A guid is the entry's identity whatever else moves: a live story whose
/// headline, text and slug are all rewritten under one guid stays one item,
/// updated in place (a rule that took such a guid's entry for another, to
/// save feeds that number their guids afresh, split live stories and
/// corrections into one story per version).
#[tokio::test]
async fn a_live_story_rewritten_under_one_guid_stays_one_item() {
    let s = Scenario::new(&["/live"], "").await;
    let versions = [
        (
            "Live: explosion reported in Leeds",
            "Police are investigating reports of an explosion. More soon.",
            "live-explosion-reported-in-leeds",
        ),
        (
            "Gas leak blamed for Leeds blast; two hurt",
            "A gas leak caused a blast in a terraced street, firefighters said; two neighbours were taken to hospital.",
            "gas-leak-blamed-for-leeds-blast",
        ),
        (
            "Leeds street reopens after gas blast",
            "Residents returned home on Tuesday after engineers made the mains safe.",
            "leeds-street-reopens",
        ),
    ];
    for (n, (title, text, slug)) in versions.iter().enumerate() {
        let link = format!("https://news.example/{slug}");
        s.serve(
            "/live",
            &[(Some("live-4711"), Some(link.as_str()), title, text)],
        );
        let sum = s.poll().await;
        let want = if n == 0 { (1, 0) } else { (0, 1) };
        assert_eq!((sum.new, sum.updated), want, "{title}");
    }
    assert_eq!(s.titles(), ["Leeds street reopens after gas blast"]);
}

/// Editorial corrections stay updates of one item, whatever else moves with
/// them: a headline and paragraph rewritten with the slug following the
/// title under a `?p=` guid, the date bumped by a day, a signed file link
/// renewed (each was taken for another entry, and the story shown twice).
#[tokio::test]
async fn corrections_that_move_the_slug_date_or_file_token_are_updates() {
    let s = Scenario::new(&["/wp", "/ng", "/pod"], "").await;
    let v = [
        (
            "Fire at Dock Road warehouse",
            "A fire broke out at a disused warehouse on Dock Road on Sunday morning, the fire service said.",
            "fire-at-dock-road-warehouse",
        ),
        (
            "Three hurt in Dock Road warehouse fire",
            "Three people were hurt when a fire broke out at a disused warehouse on Dock Road on Sunday morning, the fire service said.",
            "three-hurt-in-dock-road-warehouse-fire",
        ),
    ];
    let rss_of = |items: &str| {
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>"
        ))
        .no_etag()
    };
    for (n, (title, text, slug)) in v.iter().enumerate() {
        let day = 2 + n;
        s.srv.set(
            "/wp",
            rss_of(&format!(
                "<item><guid isPermaLink=\"false\">https://wp.example/?p=123</guid>\
                 <link>https://wp.example/2024/{slug}/</link><title>{title} (wp)</title>\
                 <description>{text} Filed north.</description></item>"
            )),
        );
        s.srv.set(
            "/ng",
            rss_of(&format!(
                "<item><link>https://ng.example/news/4711</link><title>{title} (ng)</title>\
                 <description>{text} Filed south.</description>\
                 <pubDate>{day:02} Dec 2026 09:00:00 GMT</pubDate></item>"
            )),
        );
        s.srv.set(
            "/pod",
            rss_of(&format!(
                "<item><link>https://pod.example/show</link><title>{title} (pod)</title>\
                 <description>{text} Filed east.</description>\
                 <enclosure url=\"https://cdn.pod.example/ep7.mp3?sig=abc{n}\" type=\"audio/mpeg\" length=\"9\"/></item>"
            )),
        );
        let sum = s.poll().await;
        let want = if n == 0 { (3, 0) } else { (0, 3) };
        assert_eq!((sum.new, sum.updated), want, "{:?}", s.titles());
    }
    // (One story: the three copies are near-duplicates of each other.)
    let items: i64 = rusqlite::Connection::open(s.env.path("feedloom.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 3);
    assert_eq!(s.titles().len(), 1, "{:?}", s.titles());
}

/// A feed that lists its oldest entry first: among the stories first seen in
/// one poll, the newest is on top, and `max_items` keeps the newest (the
/// oldest were shown first, and the newest left out).
#[tokio::test]
async fn a_feed_listing_its_oldest_first_shows_its_newest_on_top() {
    let s = Scenario::new(
        &["/old-first"],
        "[[output]]\nname = \"all\"\nmax_items = 2\n",
    )
    .await;
    let item = |day: u32, title: &str| {
        format!(
            "<item><guid>{title}</guid><title>{title}</title><link>https://x.example/{day}</link>\
             <pubDate>{day:02} Jan 2026 10:00:00 GMT</pubDate><description>{title} text</description></item>"
        )
    };
    s.srv.set(
        "/old-first",
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>t</title>{}{}{}</channel></rss>",
            item(1, "Oldest"),
            item(2, "Middle"),
            item(3, "Newest")
        )),
    );
    assert_eq!(s.poll().await.new, 3);
    assert_eq!(s.titles(), ["Newest", "Middle"]);
    // Entries of one date keep the document's direction (oldest first here).
    let s = Scenario::new(
        &["/same-day"],
        "[[output]]\nname = \"all\"\nmax_items = 2\n",
    )
    .await;
    s.srv.set(
        "/same-day",
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>t</title>{}{}{}{}</channel></rss>",
            item(1, "Yesterday"),
            item(2, "Same 0"),
            item(2, "Same 1"),
            item(2, "Same 2")
        )),
    );
    assert_eq!(s.poll().await.new, 4);
    assert_eq!(s.titles(), ["Same 2", "Same 1"]);
}

/// Articles of two sections of one publisher, each with its own title and
/// link but the same long "subscribe" blurb as their only text: the blurb
/// matches several stories of the other section equally, so it tells no
/// story apart, and none is merged under another.
#[tokio::test]
async fn a_shared_blurb_merges_no_stories() {
    let s = Scenario::new(&["/politics", "/world"], "").await;
    let blurb = "Subscribe to the Daily Ledger for unlimited access to our award winning \
                 journalism, exclusive newsletters, podcasts and the full digital edition \
                 delivered to your inbox every morning before seven.";
    let politics = [
        ("p1", "Senate passes budget bill after long night"),
        ("p2", "Governor vetoes school funding plan"),
        ("p3", "Mayor announces reelection campaign"),
    ];
    let world = [
        ("w1", "Ceasefire talks resume in Cairo"),
        ("w2", "Floods displace thousands in the delta"),
        ("w3", "Elections called after coalition collapse"),
    ];
    for (path, items) in [("/politics", &politics), ("/world", &world)] {
        let links: Vec<String> = items
            .iter()
            .map(|(g, _)| format!("https://ledger.example{path}/{g}"))
            .collect();
        let rows: Vec<(Option<&str>, Option<&str>, &str, &str)> = items
            .iter()
            .zip(&links)
            .map(|((g, t), l)| (Some(*g), Some(l.as_str()), *t, blurb))
            .collect();
        s.serve(path, &rows);
    }
    s.poll().await;
    assert_eq!(s.stories().len(), 6, "{:?}", s.titles());
}

/// A feed that carries one wire story twice (two sections) is left out of
/// the near-duplicate match (which of its two it would be is a guess), but
/// the copies in other feeds still merge with each other.
#[tokio::test]
async fn a_feed_carrying_a_story_twice_does_not_stop_other_copies_merging() {
    let s = Scenario::new(&["/a", "/b", "/c"], "").await;
    let (title, text) = WIRE[0];
    s.serve(
        "/a",
        &[
            (
                Some("a1"),
                Some("https://a.example/world/storm"),
                title,
                text,
            ),
            (
                Some("a2"),
                Some("https://a.example/asia/storm"),
                title,
                text,
            ),
        ],
    );
    s.poll().await;
    s.serve(
        "/b",
        &[(Some("b1"), Some("https://b.example/storm"), title, text)],
    );
    s.poll().await;
    s.serve(
        "/c",
        &[(Some("c1"), Some("https://c.example/storm"), title, text)],
    );
    s.poll().await;
    let stories = s.stories();
    assert_eq!(stories.len(), 3, "{:?}", s.titles());
    assert_eq!(
        stories.iter().map(sources).max(),
        Some(2),
        "b and c are one story"
    );
}

/// One article a feed lists twice (http and https, or two sections with one
/// URL) still names one story: another feed's copy at that URL joins it.
#[tokio::test]
async fn an_article_listed_twice_still_merges_by_its_link() {
    let s = Scenario::new(&["/a", "/b"], "").await;
    s.serve(
        "/a",
        &[
            (
                Some("a1"),
                Some("http://news.example/story/7"),
                "Bridge reopens",
                "x",
            ),
            (
                Some("a2"),
                Some("https://news.example/story/7"),
                "Bridge reopens",
                "y",
            ),
        ],
    );
    s.poll().await;
    s.serve(
        "/b",
        &[(
            Some("b1"),
            Some("https://news.example/story/7"),
            "Bridge reopens",
            "z",
        )],
    );
    s.poll().await;
    let stories = s.stories();
    assert_eq!(stories.len(), 2, "{:?}", s.titles());
    assert_eq!(stories.iter().map(sources).max(), Some(2));
}

/// Items known by their permalink guid alone (no `<link>`) keep being
/// recognised when the guids move (a new domain): the guid is their link, so
/// the link moved too, and their title and text tell them.
#[tokio::test]
async fn items_whose_permalink_guids_move_are_not_new() {
    let s = Scenario::new(&["/p"], "").await;
    // A `<guid>` is a permalink unless it says otherwise (`rss()` writes
    // `isPermaLink="false"`): `n` items of `host`, numbered from 1, under
    // `path` (`/p/3`), guids only.
    let permalinks = |host: &str, path: &str, n: usize| -> Resource {
        let mut doc = String::from(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>p</title>\
             <link>https://example.org/</link><description>d</description>",
        );
        for i in 1..=n {
            doc.push_str(&format!(
                "<item><guid>https://{host}/{path}/{i}</guid><title>{path} number {i}</title>\
                 <description>Body of {path} {i}.</description></item>"
            ));
        }
        doc.push_str("</channel></rss>");
        Resource::feed(doc).no_etag()
    };
    let serve = |host: &str| s.srv.set("/p", permalinks(host, "post", 3));
    serve("old.example");
    assert_eq!(s.poll().await.new, 3);
    // A feed of more entries than the lookup's least window (256) moves too.
    let big = Scenario::new(&["/p"], "").await;
    big.srv.set("/p", permalinks("old.example", "many", 400));
    assert_eq!(big.poll().await.new, 400);
    big.srv.set("/p", permalinks("new.example", "many", 400));
    assert_eq!(big.poll().await.new, 0);
    let links = |s: &Scenario| -> Vec<String> {
        let json = s.json();
        let mut v: Vec<String> = json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["url"].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(links(&s)[0], "https://old.example/post/1");
    serve("new.example");
    let second = s.poll().await;
    assert_eq!(second.new, 0, "{:?}", s.titles());
    assert_eq!(s.stories().len(), 3);
}

/// Entries without guid are known by their link; when a second entry with
/// another title comes to share it (a show's page, a live blog), each is
/// known by link and title. The item stored before is still the same item
/// (it was a new one: the story twice in the output), and so when the other
/// leaves again.
#[tokio::test]
async fn an_entry_whose_link_comes_to_be_shared_is_not_new() {
    let s = Scenario::new(&["/s"], "").await;
    let page = "https://x.example/budget";
    let budget = (None, Some(page), "Budget passes", "The chamber passed it.");
    let live = (
        None,
        Some(page),
        "Live: budget reactions",
        "Ministers defend it.",
    );
    s.serve("/s", &[budget]);
    assert_eq!(s.poll().await.new, 1);
    s.serve("/s", &[live, budget]);
    let second = s.poll().await;
    assert_eq!((second.new, second.updated), (1, 0), "{:?}", s.titles());
    assert_eq!(s.stories().len(), 2, "{:?}", s.titles());
    s.serve("/s", &[budget]);
    let third = s.poll().await;
    assert_eq!((third.new, third.updated), (0, 0), "{:?}", s.titles());
    s.serve("/s", &[live, budget]);
    let fourth = s.poll().await;
    assert_eq!((fourth.new, fourth.updated), (0, 0), "{:?}", s.titles());
    let mut titles = s.titles();
    titles.sort();
    assert_eq!(titles, ["Budget passes", "Live: budget reactions"]);
}

/// A document that repeats a guid (once with another text, once with
/// another link) gives its entries keys qualified by text or link; the items
/// stored under the plain guid are still those entries (they were stored
/// again: published stories under new ids), and so when the feed fixes it.
#[tokio::test]
async fn a_guid_repeated_for_a_while_keeps_the_stored_items() {
    let s = Scenario::new(&["/r"], "").await;
    let one = (
        Some("g1"),
        Some("https://r.example/1"),
        "Story one",
        "First text.",
    );
    let two = (
        Some("g2"),
        Some("https://r.example/2"),
        "Story two",
        "Second text.",
    );
    let ids = |s: &Scenario| -> Vec<String> {
        let mut v: Vec<String> = s
            .stories()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    s.serve("/r", &[one, two]);
    assert_eq!(s.poll().await.new, 2);
    let before = ids(&s);
    s.serve(
        "/r",
        &[
            one,
            (
                Some("g1"),
                Some("https://r.example/1"),
                "Story one",
                "Another text.",
            ),
            two,
            (
                Some("g2"),
                Some("https://r.example/2b"),
                "Story two, again",
                "Second text.",
            ),
        ],
    );
    let second = s.poll().await;
    assert_eq!((second.new, second.updated), (2, 0), "{:?}", s.titles());
    let after = ids(&s);
    assert!(
        before.iter().all(|id| after.contains(id)),
        "{before:?} {after:?}"
    );
    s.serve("/r", &[one, two]);
    let third = s.poll().await;
    assert_eq!((third.new, third.updated), (0, 0), "{:?}", s.titles());
}

/// An entry that had neither guid nor link and gains a link is the same
/// item, not a new one.
#[tokio::test]
async fn an_entry_that_gains_a_link_is_not_new() {
    let s = Scenario::new(&["/g"], "").await;
    s.serve("/g", &[(None, None, "Quiet notice", "Nothing to see.")]);
    assert_eq!(s.poll().await.new, 1);
    s.serve(
        "/g",
        &[(
            None,
            Some("https://g.example/notice"),
            "Quiet notice",
            "Nothing to see.",
        )],
    );
    assert_eq!(s.poll().await.new, 0);
    assert_eq!(s.stories().len(), 1, "{:?}", s.titles());
}

/// Two press releases of one company in two feeds, ending in the same long
/// "About us", disclaimer and contact paragraphs: two stories. They were
/// merged, and one release left every output.
#[tokio::test]
async fn releases_ending_in_the_same_standard_block_stay_apart() {
    let s = Scenario::new(&["/a", "/b"], "").await;
    let about = "<p>About Acme Robotics: Acme Robotics designs and manufactures industrial \
        automation systems for the automotive, logistics and food processing industries, with \
        offices in many countries and thousands of employees worldwide.</p><p>Forward-looking \
        statements: This press release contains forward-looking statements that involve risks \
        and uncertainties, and actual results may differ materially from those anticipated in \
        these statements for many reasons.</p><p>Media contact: Please direct all press \
        enquiries to the corporate communications office, which answers requests from \
        journalists on working days between nine in the morning and five in the afternoon.</p>";
    let plant = format!(
        "<p>Acme Robotics today announced the opening of a new assembly plant, which will \
         employ several hundred people by the end of next year.</p>{about}"
    );
    let cfo = format!(
        "<p>Acme Robotics today announced that its board has appointed a new chief financial \
         officer, who will join the company from a large bank in the spring.</p>{about}"
    );
    s.serve(
        "/a",
        &[(
            Some("a-1"),
            Some("https://wire-a.example/pr/1"),
            "Acme Robotics opens new assembly plant",
            &plant,
        )],
    );
    s.serve(
        "/b",
        &[(
            Some("b-1"),
            Some("https://wire-b.example/pr/2"),
            "Acme Robotics appoints new finance chief",
            &cfo,
        )],
    );
    s.poll().await;
    let mut titles = s.titles();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Acme Robotics appoints new finance chief",
            "Acme Robotics opens new assembly plant"
        ]
    );
}

/// A body spelled anew at every fetch (`<br>` for `<br />`, attributes
/// reordered, an entity for a letter, a signed image address's new token) is
/// the same version: it was counted updated and announced again at every poll.
/// The text as published now is stored; a changed word is still an edit.
#[tokio::test]
async fn a_body_spelled_otherwise_is_not_an_edit() {
    let s = Scenario::new(
        &["/a"],
        "[[output]]\nname = \"re\"\nupdates = \"reannounce\"\n",
    )
    .await;
    let serve = |text: &str| {
        s.serve(
            "/a",
            &[
                (Some("2"), Some("https://e.org/2"), "Two", "v1"),
                (Some("1"), Some("https://e.org/1"), "One", text),
            ],
        );
    };
    serve(r#"<p>a dog<br>b <img src="https://c.e.org/p.jpg?sig=1" alt="x"></p>"#);
    assert_eq!(s.poll().await.new, 2);
    serve(r#"<p>a &#100;og<br />b <img alt="x" src="https://c.e.org/p.jpg?sig=2"/></p>"#);
    let second = s.poll().await;
    assert_eq!((second.new, second.updated), (0, 0));
    let stored: String = s
        .env
        .reader()
        .query_row("SELECT summary FROM items WHERE guid = '1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        stored.contains("sig=2"),
        "the text as published now: {stored}"
    );
    // A rotated tracking parameter in the link together with a new spelling
    // of the body: still no edit.
    s.serve(
        "/a",
        &[
            (Some("2"), Some("https://e.org/2"), "Two", "v1"),
            (
                Some("1"),
                Some("https://e.org/1?utm_campaign=w"),
                "One",
                r#"<p>a &#100;og<br>b <img alt="x" src="https://c.e.org/p.jpg?sig=3"></p>"#,
            ),
        ],
    );
    let third = s.poll().await;
    assert_eq!((third.new, third.updated), (0, 0));
    serve(r#"<p>a cat<br />b <img alt="x" src="https://c.e.org/p.jpg?sig=2"/></p>"#);
    assert_eq!(s.poll().await.updated, 1, "a real edit");
}

/// A link whose tracking parameters change on every fetch (`utm_campaign`)
/// is the same item, unchanged: it was counted updated and announced again
/// by `updates = "reannounce"`. An edit of the text still is a change.
#[tokio::test]
async fn a_link_whose_tracking_parameters_change_is_not_an_edit() {
    let s = Scenario::new(
        &["/a"],
        "[[output]]\nname = \"re\"\nupdates = \"reannounce\"\n",
    )
    .await;
    let serve = |campaign: &str, text: &str| {
        let one = format!("https://e.org/1?utm_campaign={campaign}");
        s.serve(
            "/a",
            &[
                (Some("2"), Some("https://e.org/2"), "Two", "v1"),
                (Some("1"), Some(one.as_str()), "One", text),
            ],
        );
    };
    serve("monday", "v1");
    assert_eq!(s.poll().await.new, 2);
    serve("tuesday", "v1");
    let second = s.poll().await;
    assert_eq!((second.new, second.updated), (0, 0));
    let url: String = s
        .env
        .reader()
        .query_row("SELECT url FROM items WHERE guid = '1'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        url, "https://e.org/1?utm_campaign=tuesday",
        "the link as published now"
    );
    serve("wednesday", "v2 corrected");
    assert_eq!(s.poll().await.updated, 1, "a real edit");
}

/// Entries without guid at one page under one title but with other texts
/// (a club's "Weekly update" posts, all at its `/weekly` page) are each an
/// item: all five of one document were one, the other four dropped without
/// a word. Across polls each is recognised whether the document carries it
/// alone or beside the others: none is stored twice or updated.
#[tokio::test]
async fn entries_sharing_a_link_and_a_title_with_other_texts_are_each_kept() {
    let s = Scenario::new(&["/club"], "").await;
    let link = Some("https://club.example/weekly");
    let week = |n: usize| {
        format!(
            "This week number {n} the club met on the green, and {n} members played until dusk."
        )
    };
    let texts: Vec<String> = (1..=5).map(week).collect();
    let serve = |from: usize, to: usize| {
        let items: Vec<(Option<&str>, Option<&str>, &str, &str)> = (from..to)
            .rev()
            .map(|i| (None, link, "Weekly update", texts[i].as_str()))
            .collect();
        s.serve("/club", &items);
    };
    serve(0, 1);
    let first = s.poll().await;
    assert_eq!((first.new, first.updated), (1, 0));
    serve(0, 2);
    let second = s.poll().await;
    assert_eq!(
        (second.new, second.updated),
        (1, 0),
        "the first week is known"
    );
    serve(0, 5);
    let third = s.poll().await;
    assert_eq!((third.new, third.updated), (3, 0));
    let count: i64 = s
        .env
        .reader()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 5);
    // The newest alone again, then the newest two.
    serve(4, 5);
    let alone = s.poll().await;
    assert_eq!((alone.new, alone.updated), (0, 0));
    serve(3, 5);
    let two = s.poll().await;
    assert_eq!((two.new, two.updated), (0, 0));
    assert_eq!(s.stories().len(), 5);
}

/// One of those text-keyed posts corrected (its date as before) is the item
/// stored before, updated: it was stored anew beside the old text, and a
/// reader saw the post twice. A change to all of them (the site's template)
/// updates each. A new week's post, of another date, is still new.
#[tokio::test]
async fn a_text_keyed_post_corrected_is_updated_not_stored_again() {
    let s = Scenario::new(&["/club"], "").await;
    let serve = |weeks: &[(usize, &str)]| {
        let items: String = weeks
            .iter()
            .rev()
            .map(|(n, extra)| {
                format!(
                    "<item><link>https://club.example/weekly</link><title>Weekly update</title>\
                     <pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate>\
                     <description>This week number {n} the club met on the green, and \
                     {n} members played until dusk.{extra}</description></item>"
                )
            })
            .collect();
        s.srv.set(
            "/club",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>Club</title>\
                 <link>https://club.example/</link>{items}</channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve(&[(1, ""), (2, ""), (3, "")]);
    assert_eq!(s.poll().await.new, 3);
    serve(&[(1, ""), (2, " (Corrected: it rained.)"), (3, "")]);
    let corrected = s.poll().await;
    assert_eq!((corrected.new, corrected.updated), (0, 1));
    let items = |s: &Scenario| -> i64 {
        s.env
            .reader()
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(items(&s), 3);
    let text: String = s
        .env
        .reader()
        .query_row(
            "SELECT summary FROM items WHERE published_at = unixepoch('2026-11-02 10:00:00')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(text.contains("Corrected"), "{text}");
    // The template: a line under every post.
    let footer = " Join us next week.";
    serve(&[
        (1, footer),
        (2, " (Corrected: it rained.) Join us next week."),
        (3, footer),
    ]);
    let template = s.poll().await;
    assert_eq!((template.new, template.updated), (0, 3));
    // The next week's post, the first week's gone from the feed.
    serve(&[
        (2, " (Corrected: it rained.) Join us next week."),
        (3, footer),
        (4, footer),
    ]);
    let next = s.poll().await;
    assert_eq!((next.new, next.updated), (1, 0));
    assert_eq!(items(&s), 4);
    assert_eq!(s.stories().len(), 4);
    // Another post of week 3's date, of other words, in its place: new, and
    // week 3's text stays (it overwrote it).
    let week = |n: usize, text: &str| {
        format!(
            "<item><link>https://club.example/weekly</link><title>Weekly update</title>\
             <pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate><description>{text}</description></item>"
        )
    };
    s.srv.set(
        "/club",
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>Club</title><link>https://club.example/</link>{}{}{}</channel></rss>",
            week(
                4,
                "This week number 4 the club met on the green, and 4 members played until dusk. Join us next week."
            ),
            week(
                3,
                "Allotment plots are open for applications until the end of the month."
            ),
            week(
                2,
                "This week number 2 the club met on the green, and 2 members played until dusk. (Corrected: it rained.) Join us next week."
            ),
        ))
        .no_etag(),
    );
    let other = s.poll().await;
    assert_eq!((other.new, other.updated), (1, 0));
    assert_eq!(items(&s), 5);
}

/// Another feed's copy of one of those posts (a planet carrying the club's
/// newest "Weekly update") is that post's story, whichever feed is read
/// first: the link, which all of them share, names none of them (the copy
/// joined the club's oldest post; read first, the oldest post joined it,
/// and the newest was listed twice).
#[tokio::test]
async fn a_copy_of_one_text_keyed_post_joins_that_post() {
    let news = [
        "The pool reopens on Saturday after the winter repairs to its roof, heating and changing rooms were finished early.",
        "Our library extends its opening hours on weekday evenings so that members who work late can borrow books.",
        "The annual chess tournament drew forty players from six neighbouring towns, and a twelve year old won the cup.",
    ];
    let club = |n: usize| -> Vec<(Option<&str>, Option<&str>, &str, &str)> {
        (0..n)
            .rev()
            .map(|i| {
                (
                    None,
                    Some("https://club.example/weekly"),
                    "Weekly update",
                    news[i],
                )
            })
            .collect()
    };
    for planet_first in [false, true] {
        let s = Scenario::new(&["/club", "/planet"], "").await;
        let newest = &club(3)[..1];
        match planet_first {
            false => {
                s.serve("/club", &club(3));
                s.serve("/planet", &[]);
            }
            true => {
                s.serve("/club", &[]);
                s.serve("/planet", newest);
            }
        }
        s.poll().await;
        s.serve("/club", &club(3));
        s.serve("/planet", newest);
        s.poll().await;
        let count = |sql: &str| -> i64 { s.env.reader().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT count(*) FROM items"),
            4,
            "planet first: {planet_first}"
        );
        let joined = "SELECT count(*) FROM items p JOIN items c
                      ON c.story_id = p.story_id AND c.feed_id != p.feed_id";
        assert_eq!(
            count(&format!("{joined} WHERE p.summary = c.summary")),
            2,
            "planet first: {planet_first}: the copy is the newest post's story"
        );
        assert_eq!(
            count(&format!("{joined} WHERE p.summary != c.summary")),
            0,
            "planet first: {planet_first}: and no other's"
        );
        assert_eq!(s.stories().len(), 3, "planet first: {planet_first}");
    }
}

/// A site that moved to another domain and writes its posts' markup
/// otherwise there (a line break between paragraphs, a `class` on them):
/// its posts are the items stored before, by their title, date and a text
/// that reads the same (every post was stored and announced again).
#[tokio::test]
async fn a_domain_move_with_markup_written_otherwise_stores_nothing_again() {
    let s = Scenario::new(&["/moved"], "").await;
    let serve = |domain: &str, p: &str, sep: &str| {
        let items: String = (1..=3)
            .map(|n| {
                format!(
                    "<item><guid>https://{domain}/p/{n}</guid><link>https://{domain}/p/{n}</link>\
                     <title>Post {n}</title><pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate>\
                     <description>&lt;{p}&gt;The first paragraph of post {n}, long enough.&lt;/p&gt;{sep}\
                     &lt;{p}&gt;The second paragraph.&lt;/p&gt;</description></item>"
                )
            })
            .collect();
        s.srv.set(
            "/moved",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>C</title><link>https://{domain}/</link>{items}</channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve("old.example", "p", "");
    assert_eq!(s.poll().await.new, 3);
    serve("new.example", "p class=\"entry\"", "\n");
    assert_eq!(s.poll().await.new, 0);
    let items: i64 = s
        .env
        .reader()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 3);
    // Another post of the same title on the same date, with another text,
    // is new.
    s.srv.set(
        "/moved",
        Resource::feed(
            "<rss version=\"2.0\"><channel><title>C</title><link>https://x.example/</link>\
             <item><guid>https://x.example/p/9</guid><link>https://x.example/p/9</link>\
             <title>Post 1</title><pubDate>Mon, 01 Nov 2026 10:00:00 GMT</pubDate>\
             <description>An entirely different text.</description></item></channel></rss>"
                .to_string(),
        )
        .no_etag(),
    );
    assert_eq!(s.poll().await.new, 1);
}

/// A site that moved to `www.` with new guids, through a filter that curls
/// its quotes (`"weekends"` → `“weekends”`, `,` → ` —`) and writes its
/// titles in Title Case: its posts are the items stored before, by their
/// date and a title and text of the same words (every post was announced
/// again). A post of that date whose words differ is new.
#[tokio::test]
async fn a_move_that_curls_quotes_and_retitles_stores_nothing_again() {
    let s = Scenario::new(&["/mill"], "").await;
    let serve = |moved: bool, extra: &str| {
        let items: String = (1..=4)
            .map(|n| {
                let (guid, link, title, text) = match moved {
                    false => (
                        format!("http://mill.example/?p={n}"),
                        format!("http://mill.example/?p={n}"),
                        format!("Don't miss the mill, part {n}"),
                        format!("Open on &quot;weekends&quot;, from {n} o'clock, all day."),
                    ),
                    true => (
                        format!("100{n}@mill.example"),
                        format!("https://www.mill.example/?p={n}"),
                        format!("Don’t Miss The Mill, Part {n}"),
                        format!("Open on “weekends” — from {n} o’clock, all day."),
                    ),
                };
                format!(
                    "<item><guid isPermaLink=\"false\">{guid}</guid><link>{link}</link>\
                     <title>{title}</title><pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate>\
                     <description>{text}</description></item>"
                )
            })
            .collect();
        s.srv.set(
            "/mill",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>Mill</title><link>http://mill.example/</link>{extra}{items}</channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve(false, "");
    assert_eq!(s.poll().await.new, 4);
    serve(true, "");
    assert_eq!(s.poll().await.new, 0);
    assert_eq!(s.stories().len(), 4);
    serve(
        true,
        "<item><guid>new-1</guid><link>https://www.mill.example/?p=9</link>\
         <title>Don’t Miss The Mill, Part 1</title><pubDate>Mon, 01 Nov 2026 10:00:00 GMT</pubDate>\
         <description>Closed for repairs until spring.</description></item>",
    );
    assert_eq!(s.poll().await.new, 1);
}

/// The same with four posts of one title and one date: each is told by its
/// words (the look-up stopped at two, and two were stored again).
#[tokio::test]
async fn a_domain_move_of_posts_sharing_a_title_and_date_stores_nothing_again() {
    let s = Scenario::new(&["/notes"], "").await;
    let serve = |domain: &str, wrap: (&str, &str)| {
        let items: String = (1..=4)
            .map(|n| {
                let text = format!(
                    "{}<p>Note number {n} of the day, on topic {n}.</p>{}",
                    wrap.0, wrap.1
                );
                format!(
                    "<item><guid>https://{domain}/n/{n}</guid><link>https://{domain}/n/{n}</link>\
                     <title>Notes</title><pubDate>Mon, 02 Nov 2026 00:00:00 GMT</pubDate>\
                     <description>{}</description></item>",
                    text.replace('<', "&lt;").replace('>', "&gt;")
                )
            })
            .collect();
        s.srv.set(
            "/notes",
            Resource::feed(format!(
                "<rss version=\"2.0\"><channel><title>N</title><link>https://{domain}/</link>{items}</channel></rss>"
            ))
            .no_etag(),
        );
    };
    serve("old.example", ("", ""));
    assert_eq!(s.poll().await.new, 4);
    serve("new.example", ("<div>", "</div>"));
    assert_eq!(s.poll().await.new, 0);
    let items: i64 = s
        .env
        .reader()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 4);
}

/// An Atom feed whose entries carry only `<updated>` (Atom's required date;
/// `<published>` is optional) moved to another domain: its entries are the
/// items stored before, found by that date (every one was stored and
/// announced again).
#[tokio::test]
async fn an_atom_move_dated_only_by_updated_stores_nothing_again() {
    let s = Scenario::new(&["/atom"], "").await;
    let serve = |domain: &str| {
        let entries: String = (1..=3)
            .map(|n| {
                format!(
                    "<entry><id>https://{domain}/p/{n}</id><link href=\"https://{domain}/p/{n}\"/>\
                     <title>Post {n}</title><updated>2026-11-0{n}T10:00:00Z</updated>\
                     <content type=\"html\">&lt;p&gt;The text of post {n}, long enough to read.&lt;/p&gt;</content></entry>"
                )
            })
            .collect();
        s.srv.set(
            "/atom",
            Resource::feed(format!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><id>urn:a</id>\
                 <updated>2026-11-03T10:00:00Z</updated>{entries}</feed>"
            ))
            .no_etag(),
        );
    };
    serve("old.example");
    assert_eq!(s.poll().await.new, 3);
    serve("new.example");
    assert_eq!(s.poll().await.new, 0);
    let items: i64 = s
        .env
        .reader()
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 3);
}

/// The same with the new site wrapping the text in an element of its own
/// (`<div class="entry-content">`) or writing a space inside each paragraph:
/// the words read the same, nothing is stored again (every post was).
#[tokio::test]
async fn a_domain_move_that_wraps_the_text_stores_nothing_again() {
    for (open, close) in [("<div class=\"entry-content\">", "</div>"), (" ", "")] {
        let s = Scenario::new(&["/moved"], "").await;
        let serve = |domain: &str, wrap: (&str, &str), inner: &str| {
            let items: String = (1..=3)
                .map(|n| {
                    let text = format!(
                        "{}<p>{inner}The first paragraph of post {n}, long enough.</p>\
                         <p>{inner}The second paragraph.</p>{}",
                        wrap.0, wrap.1
                    );
                    format!(
                        "<item><guid>https://{domain}/p/{n}</guid><link>https://{domain}/p/{n}</link>\
                         <title>Post {n}</title><pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate>\
                         <description>{}</description></item>",
                        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
                    )
                })
                .collect();
            s.srv.set(
                "/moved",
                Resource::feed(format!(
                    "<rss version=\"2.0\"><channel><title>C</title><link>https://{domain}/</link>{items}</channel></rss>"
                ))
                .no_etag(),
            );
        };
        serve("old.example", ("", ""), "");
        assert_eq!(s.poll().await.new, 3);
        let (wrap, inner) = match close {
            "" => (("", ""), open),
            _ => ((open, close), ""),
        };
        serve("new.example", wrap, inner);
        assert_eq!(s.poll().await.new, 0, "{open:?}");
        let items: i64 = s
            .env
            .reader()
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(items, 3, "{open:?}");
    }
}

/// A bare episode (only a file) whose address carries a token made for each
/// download, a UUID under a signing name (`stream?token=<uuid>`), is the
/// same item at every fetch: each fetch made a new item, announced.
#[tokio::test]
async fn download_tokens_made_for_each_fetch_are_not_new_episodes() {
    for file in [
        |n: u32| format!("https://cdn.example/stream?token=1f0c3e2a-5b6d-4e7f-8a9b-{n:012}"),
        |n: u32| {
            format!("https://cdn.example/play.php?ep=12&amp;token=9b2e4c1a-0d3f-4a5b-8c7d-{n:012}")
        },
    ] {
        let s = Scenario::new(&["/pod"], "").await;
        serve_files(&s, "/pod", &[file(1)]);
        assert_eq!(s.poll().await.new, 1, "{}", file(1));
        for n in [2, 3] {
            serve_files(&s, "/pod", &[file(n)]);
            let again = s.poll().await;
            assert_eq!(again.new, 0, "{}: {again}", file(n));
        }
        assert_eq!(s.env.count("SELECT count(*) FROM items"), 1, "{}", file(1));
    }
}
