//! Attacks on "entries sent before are left out before feed-rs" (issue 9
//! follow-up): documents whose entries keep their bytes while something
//! around them changes what they mean, keys that depend on siblings, documents
//! that cut cleanly but read differently once cut. Each sequence is polled
//! through the real pipeline twice — with entries left out as feedloom does,
//! and with every document read whole (its seals cleared before each poll) —
//! and the two stores must hold exactly the same items.

mod common;

use common::*;
use feedloom::refresh::poll;

/// One poll: what the server answers on each path (the feed is `/f.xml`).
type Step = Vec<(&'static str, Resource)>;

fn at(body: impl Into<Vec<u8>>) -> Step {
    vec![("/f.xml", Resource::feed(body).no_etag())]
}

/// What a user can see of the store after each sequence: per poll (new,
/// updated, failed), and every item with every field.
type Seen = (Vec<(usize, usize, usize)>, Vec<String>);

/// Also says in how many polls entries were left out (the time of the last
/// whole read, `body_stored_at`, stayed).
async fn poll_all(srv: &FeedServer, steps: &[Step], cfg_extra: &str, whole: bool) -> (Seen, usize) {
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "{cfg_extra}\n{}",
        feeds_toml(&[srv.url("/f.xml")])
    ));
    let mut counts = Vec::new();
    let mut left_out = 0;
    for step in steps {
        let stored_at = env.try_count("SELECT body_stored_at FROM feeds");
        if whole && env.path("feedloom.db").exists() {
            rusqlite::Connection::open(env.path("feedloom.db"))
                .unwrap()
                .execute("UPDATE feeds SET entry_seals = NULL", [])
                .unwrap();
        }
        for (path, r) in step {
            srv.set(path, r.clone());
        }
        let s = poll(&cfg, env.open_store()).await.unwrap().0;
        counts.push((s.new, s.updated, s.failed));
        let stays = stored_at == env.try_count("SELECT body_stored_at FROM feeds");
        left_out += usize::from(stays && stored_at.is_some());
        // The same for the time of the last whole read: a whole read moves it.
        rusqlite::Connection::open(env.path("feedloom.db"))
            .unwrap()
            .execute("UPDATE feeds SET body_stored_at = body_stored_at - 10", [])
            .unwrap();
        // Every poll a little later than the last (all in the same second
        // otherwise): an item changed by a later poll has changed_at after
        // its first_seen_at.
        rusqlite::Connection::open(env.path("feedloom.db"))
            .unwrap()
            .execute(
                "UPDATE items SET first_seen_at = first_seen_at - 10, changed_at = changed_at - 10",
                [],
            )
            .unwrap();
    }
    let rows = env
        .reader()
        .prepare(
            "SELECT key || ' | ' || content_hash || ' | ' || coalesce(url, '-') || ' | ' || \
             coalesce(guid, '-') || ' | ' || coalesce(title, '-') || ' | ' || \
             coalesce(author, '-') || ' | ' || coalesce(summary, '-') || ' | ' || \
             coalesce(content, '-') || ' | ' || coalesce(published_at, '-') || ' | ' || \
             (changed_at > first_seen_at) FROM items ORDER BY key",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ((counts, rows), left_out)
}

/// The sequence with entries left out, and read whole.
async fn both_ways(steps: &[Step], cfg_extra: &str) -> [(Seen, usize); 2] {
    // One server for both: links resolved against its address are the same.
    let srv = FeedServer::start().await;
    [
        poll_all(&srv, steps, cfg_extra, false).await,
        poll_all(&srv, steps, cfg_extra, true).await,
    ]
}

/// What was stored, and in how many polls entries were left out.
async fn same_both_ways(name: &str, steps: &[Step], cfg_extra: &str) -> (Seen, usize) {
    let [(left_out, polls), (whole, none)] = both_ways(steps, cfg_extra).await;
    assert_eq!(left_out, whole, "{name}: left out (left) vs whole (right)");
    assert_eq!(none, 0, "{name}: the whole reads left nothing out");
    (left_out, polls)
}

fn item(guid: &str, extra: &str) -> String {
    format!("<item><guid>{guid}</guid><title>Title {guid}</title>{extra}</item>")
}

fn rss_doc(head: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" \
         xmlns:feedburner=\"http://rssnamespace.org/feedburner/ext/1.0\"><channel>\
         <title>t</title>{head}\n{}\n</channel></rss>",
        items.join("\n")
    )
}

/// feedburner:origLink is a fallback link that feedloom lines up with
/// feed-rs's entries by counting them: an empty `<item/>` beside them must
/// count the same whether or not the entries around it were left out.
#[tokio::test]
async fn an_extension_link_lines_up_the_same_with_entries_left_out() {
    let orig = |g: &str| {
        item(
            g,
            &format!("<feedburner:origLink>https://orig.example/{g}</feedburner:origLink>"),
        )
    };
    let steps = [
        at(rss_doc("", &[orig("a"), "<item/>".into(), orig("b")])),
        at(rss_doc(
            "",
            &[orig("new"), orig("a"), "<item/>".into(), orig("b")],
        )),
    ];
    let (seen, left_out) = same_both_ways("origLink beside <item/>", &steps, "").await;
    assert_eq!(left_out, 1, "the second poll left entries out");
    // And the link is the one the extension gives (not none).
    assert!(
        seen.1
            .iter()
            .any(|r| r.starts_with("guid:new") && r.contains("https://orig.example/new")),
        "{:#?}",
        seen.1
    );
}

/// Entries that cut cleanly but that feed-rs or feedloom's limits read in the
/// whole document's light.
#[tokio::test]
async fn documents_that_cut_cleanly_read_the_same_once_cut() {
    let base = [item("a", ""), item("b", ""), item("c", "")];
    let with = |head: &str, extra: &[String]| {
        let mut v = extra.to_vec();
        v.extend(base.iter().cloned());
        rss_doc(head, &v)
    };
    // (name, polls, config, whether some poll leaves entries out)
    let scenarios: Vec<(&str, Vec<Step>, &str, bool)> = vec![
        (
            "CDATA and comments holding <item> at channel level",
            vec![
                at(with("", &[])),
                at(with(
                    "<description><![CDATA[<item><guid>z</guid></item>]]></description>\
                     <!-- <item><guid>y</guid></item> -->",
                    &[item("n", "")],
                )),
            ],
            "",
            true,
        ),
        (
            "an item whose text holds </item> in CDATA",
            vec![
                at(with("", &[])),
                at(with(
                    "",
                    &[item(
                        "n",
                        "<description><![CDATA[x </item> y]]></description>",
                    )],
                )),
            ],
            "",
            true,
        ),
        (
            "an entry that moves, a duplicate that comes and goes",
            vec![
                at(with("", &[])),
                at(rss_doc(
                    "",
                    &[item("c", ""), item("a", ""), item("b", ""), item("a", "")],
                )),
                at(rss_doc("", &[item("b", ""), item("c", ""), item("n", "")])),
                at(with("", &[item("n", "")])),
            ],
            "",
            true,
        ),
        (
            "a second channel, an Atom entry and a foreign item in RSS",
            vec![
                at(with("", &[])),
                at(format!(
                    "{}<channel><item><guid>other</guid></item></channel></rss>",
                    with("", &[item("n", "")])
                        .trim_end()
                        .trim_end_matches("</rss>")
                )),
                at(with(
                    "<entry xmlns=\"http://www.w3.org/2005/Atom\"><id>x</id></entry>\
                     <x:item xmlns:x=\"urn:x\"><guid>y</guid></x:item>",
                    &[item("m", "")],
                )),
            ],
            "",
            false,
        ),
        (
            "known entries moved into a second channel, a new guid on one's link",
            vec![
                at(rss_doc(
                    "",
                    &[item("a", "<link>https://e.org/a</link>"), item("b", "")],
                )),
                at(format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" \
                     xmlns:feedburner=\"http://rssnamespace.org/feedburner/ext/1.0\"><channel>\
                     <title>t</title>{}</channel><channel>{}{}</channel></rss>",
                    item("n", "<link>https://e.org/a</link>"),
                    item("a", "<link>https://e.org/a</link>"),
                    item("b", ""),
                )),
            ],
            "",
            false,
        ),
        (
            "the entry count crossing max_entries",
            vec![
                at(with("", &[])),
                at(with("", &[item("n", ""), item("m", "")])),
                at(with("", &[item("n", "")])),
            ],
            "[fetch]\nmax_entries = 4\n",
            false,
        ),
        (
            // (Its items are not entries for the limits either, since the
            // limits count the first channel only: entries can be left out.)
            "a channel inside another element, not counted by the limits",
            vec![
                at(rss_doc(
                    "",
                    &[
                        item("a", "<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"),
                        item("b", "<pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>"),
                    ],
                )),
                at(rss_doc(
                    "<x:box xmlns:x=\"urn:x\"><channel><item><guid>z</guid>\
                     <pubDate>Fri, 05 Jan 2024 10:00:00 GMT</pubDate></item></channel></x:box>",
                    &[
                        item("n", "<pubDate>Sun, 31 Dec 2023 10:00:00 GMT</pubDate>"),
                        item("a", "<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>"),
                        item("b", "<pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>"),
                    ],
                )),
            ],
            "[fetch]\nmax_entries = 3\n",
            true,
        ),
        (
            "RSS 1.0: the rdf:Seq list changes, items without link",
            vec![
                at(rdf(&["a", "b"], &["a", "b"])),
                at(rdf(&["n", "a", "b"], &["n", "a", "b"])),
                at(rdf(&["a"], &["n", "a", "b"])),
            ],
            "",
            true,
        ),
        (
            "Atom entries holding <source> with feed-like content",
            vec![
                at(atom_source(&["a", "b"])),
                at(atom_source(&["n", "a", "b"])),
            ],
            "",
            true,
        ),
        (
            "RSS 2.0 in a default namespace",
            vec![
                at(with("", &[]).replace(
                    "<rss version=\"2.0\"",
                    "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"",
                )),
                at(with("", &[item("n", "")]).replace(
                    "<rss version=\"2.0\"",
                    "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"",
                )),
            ],
            "",
            true,
        ),
    ];
    for (name, steps, cfg, leaves_out) in scenarios {
        let (_, polls) = same_both_ways(name, &steps, cfg).await;
        assert_eq!(
            polls > 0,
            leaves_out,
            "{name}: entries left out in {polls} polls"
        );
    }
}

/// RSS 1.0 whose channel lists `seq` and that carries `items` (without links).
fn rdf(seq: &[&str], items: &[&str]) -> String {
    let li: String = seq
        .iter()
        .map(|i| format!("<rdf:li rdf:resource=\"https://e.org/{i}\"/>"))
        .collect();
    let it: String = items
        .iter()
        .map(|i| format!("<item rdf:about=\"urn:x:{i}\"><title>T {i}</title></item>"))
        .collect();
    format!(
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
         xmlns=\"http://purl.org/rss/1.0/\"><channel rdf:about=\"urn:x\"><title>t</title>\
         <items><rdf:Seq>{li}</rdf:Seq></items></channel>{it}</rdf:RDF>"
    )
}

/// Atom whose entries carry a `<source>` with a feed's elements (and an
/// `<entry>` element of its own).
fn atom_source(ids: &[&str]) -> String {
    let mut s =
        String::from("<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>f</id>");
    for i in ids {
        s.push_str(&format!(
            "<entry><id>{i}</id><title>T {i}</title><source><id>s</id><title>S</title>\
             <entry><id>inner-{i}</id></entry></source></entry>"
        ));
    }
    s + "</feed>"
}

/// Entries whose bytes stay while what is around them changes.
#[tokio::test]
async fn context_outside_an_entry_changes_it_the_same_with_entries_left_out() {
    let rel = |g: &str| item(g, &format!("<link>posts/{g}</link>"));
    let atom = |feed_attrs: &str, head: &str, entries: &[&str]| {
        let mut s = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"{feed_attrs}><title>t</title><id>f</id>{head}"
        );
        for e in entries {
            s.push_str(&format!(
                "<entry><id>{e}</id><title>T {e}</title><link href=\"p/{e}\"/>\
                 <updated>2024-01-01T00:00:00Z</updated></entry>"
            ));
        }
        s + "</feed>"
    };
    let entity = |def: &str, items: &[String]| {
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY who \"{def}\">]>\n\
             <rss version=\"2.0\"><channel><title>t</title>{}</channel></rss>",
            items.join("")
        )
    };
    let who = |g: &str| item(g, "<author>x@example.org (&who;)</author>");
    let scenarios: Vec<(&str, Vec<Step>)> = vec![
        (
            "xml:base on <channel>",
            vec![
                at(rss_doc("", &[rel("a"), rel("b")])),
                at(rss_doc("", &[rel("n"), rel("a"), rel("b")])
                    .replace("<channel>", "<channel xml:base=\"https://b.example/x/\">")),
            ],
        ),
        (
            "a prefix bound again on <channel>",
            vec![
                at(rss_doc(
                    "",
                    &[item("a", "<dc:creator>Ann</dc:creator>"), item("b", "")],
                )
                .replace(
                    "<channel>",
                    "<channel xmlns:dc=\"http://purl.org/dc/elements/1.1/\">",
                )),
                at(rss_doc(
                    "",
                    &[
                        item("n", ""),
                        item("a", "<dc:creator>Ann</dc:creator>"),
                        item("b", ""),
                    ],
                )
                .replace("<channel>", "<channel xmlns:dc=\"urn:other\">")),
            ],
        ),
        (
            "an internal DTD entity defined again",
            vec![
                at(entity("Ann", &[who("a"), who("b")])),
                at(entity("Bob", &[who("n"), who("a"), who("b")])),
            ],
        ),
        (
            "feed-level Atom author and language",
            vec![
                at(atom("", "<author><name>Ann</name></author>", &["a", "b"])),
                at(atom(
                    " xml:lang=\"fr\"",
                    "<author><name>Bob</name></author>",
                    &["n", "a", "b"],
                )),
            ],
        ),
        (
            "feed-level Atom author alone",
            vec![
                at(atom("", "<author><name>Ann</name></author>", &["a", "b"])),
                at(atom("", "<author><name>Bob</name></author>", &["n", "a", "b"])),
            ],
        ),
        (
            "a planet: entries copied with <source> beside its own",
            vec![
                at(atom(
                    "",
                    "<author><name>Keeper</name></author>",
                    &["a", "b"],
                )
                .replacen(
                    "</title><link",
                    "</title><source><id>s</id><author><name>Origin</name></author></source><link",
                    1,
                )),
                at(atom(
                    "",
                    "<author><name>Keeper</name></author>",
                    &["n", "a", "b"],
                )
                .replacen(
                    "<title>T a</title>",
                    "<title>T a</title><source><id>s</id><author><name>Origin</name></author></source>",
                    1,
                )),
            ],
        ),
        (
            "RSS channel language",
            vec![
                at(rss_doc(
                    "<language>en</language>",
                    &[item("a", ""), item("b", "")],
                )),
                at(rss_doc(
                    "<language>fr</language>",
                    &[item("n", ""), item("a", ""), item("b", "")],
                )),
            ],
        ),
        (
            "JSON Feed top-level authors",
            vec![
                at(json_feed("Ann", &["a", "b"])),
                at(json_feed("Bob", &["n", "a", "b"])),
            ],
        ),
        (
            "a redirect moves the final URL (relative links)",
            vec![
                at(rss_doc("", &[rel("a"), rel("b")])),
                vec![
                    (
                        "/f.xml",
                        Resource::status(302).header("location", "/moved/g.xml"),
                    ),
                    (
                        "/moved/g.xml",
                        Resource::feed(rss_doc("", &[rel("n"), rel("a"), rel("b")])).no_etag(),
                    ),
                ],
            ],
        ),
    ];
    for (name, steps) in scenarios {
        let (seen, _) = same_both_ways(name, &steps, "").await;
        // Every sequence stores one new entry in its second poll.
        assert_eq!(seen.0[1].0, 1, "{name}: {seen:#?}");
    }
}

fn json_feed(author: &str, ids: &[&str]) -> String {
    let items: Vec<String> = ids
        .iter()
        .map(|i| format!("{{\"id\": \"{i}\", \"title\": \"T {i}\", \"content_text\": \"x\"}}"))
        .collect();
    format!(
        "{{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"j\", \
         \"authors\": [{{\"name\": \"{author}\"}}], \"items\": [{}]}}",
        items.join(", ")
    )
}

/// The same bytes in windows-1251 without a declaration: what they mean is
/// what the HTTP charset says, and it changes while the bytes stay.
#[tokio::test]
async fn a_changed_http_charset_reads_the_same_bytes_again() {
    let doc = |ids: &[&str]| {
        let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in ids {
            s.push_str(&format!(
                "<item><guid>{i}</guid><title>Привет {i}</title></item>"
            ));
        }
        s.push_str("</channel></rss>");
        encoding_rs::WINDOWS_1251.encode(&s).0.into_owned()
    };
    let ct = |cs: &str| format!("application/rss+xml; charset={cs}");
    let steps = [
        vec![(
            "/f.xml",
            Resource::feed(doc(&["a", "b"]))
                .no_etag()
                .content_type(&ct("windows-1251")),
        )],
        vec![(
            "/f.xml",
            Resource::feed(doc(&["n", "a", "b"]))
                .no_etag()
                .content_type(&ct("koi8-r")),
        )],
    ];
    let (seen, _) = same_both_ways("charset", &steps, "").await;
    assert_eq!(seen.0[1], (1, 2, 0), "{seen:#?}");
}

/// Updates: an entry edited in place is an update (changed_at moves), and one
/// removed and added back is what it was before (no second item, no update).
#[tokio::test]
async fn edits_and_returns_are_seen_as_with_whole_reads() {
    let steps = [
        at(rss_doc("", &[item("a", ""), item("b", ""), item("c", "")])),
        at(rss_doc("", &[item("b", ""), item("c", "")])),
        at(rss_doc(
            "",
            &[
                item("a", ""),
                item("b", "<description>edited</description>"),
                item("c", ""),
            ],
        )),
        at(rss_doc("", &[item("a", ""), item("b", ""), item("c", "")])),
    ];
    let (seen, left_out) = same_both_ways("edit, remove, re-add", &steps, "").await;
    assert_eq!(left_out, 3, "every later poll left entries out");
    assert_eq!(seen.0, [(3, 0, 0), (0, 0, 0), (0, 1, 0), (0, 1, 0)]);
    let changed: Vec<bool> = seen.1.iter().map(|r| r.ends_with("| 1")).collect();
    assert_eq!(changed, [false, true, false], "a, b, c: {:#?}", seen.1);
}

/// `poll` renders its outputs after the fetches' commits: the files hold the
/// entries of a poll that left the others out.
#[tokio::test]
async fn poll_outputs_hold_the_items_of_a_poll_that_left_entries_out() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "{}[[output]]\nname = \"all\"\npath = \"out/all\"\n",
        feeds_toml(&[srv.url("/f.xml")])
    ));
    srv.set(
        "/f.xml",
        Resource::feed(rss_doc("", &[item("a", ""), item("b", "")])).no_etag(),
    );
    poll(&cfg, env.open_store()).await.unwrap();
    let stored_at = env.count("SELECT body_stored_at FROM feeds");
    assert!(read(&env.path("out/all.json")).contains("Title a"));
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute("UPDATE feeds SET body_stored_at = body_stored_at - 10", [])
        .unwrap();
    srv.set(
        "/f.xml",
        Resource::feed(rss_doc(
            "",
            &[item("new", ""), item("a", ""), item("b", "")],
        ))
        .no_etag(),
    );
    let s = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!(s.new, 1);
    assert_eq!(
        env.count("SELECT body_stored_at FROM feeds"),
        stored_at - 10,
        "entries were left out"
    );
    for f in ["out/all.json", "out/all.atom", "out/all.rss"] {
        let text = read(&env.path(f));
        for t in ["Title new", "Title a", "Title b"] {
            assert!(text.contains(t), "{f} lacks {t}");
        }
    }
}

/// The daemon renders through read-only snapshots: the render after a fetch
/// that left entries out holds that fetch's new item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_renders_the_items_of_a_fetch_that_left_entries_out() {
    use feedloom::app;
    use tokio::sync::{mpsc, oneshot};
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss_doc("", &[item("a", ""), item("b", "")])).no_etag(),
    );
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{}\"\nevery = \"1s\"\n\n\
         [[output]]\nname = \"all\"\npath = \"out/all\"\n",
        srv.url("/f.xml")
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (_reload_tx, reload_rx) = mpsc::channel(1);
    let handle = tokio::spawn(app::run(
        cfg,
        listener,
        async move {
            let _ = stop_rx.await;
        },
        reload_rx,
    ));
    let out = env.path("out/all.json");
    let holds = |t: &str| std::fs::read_to_string(&out).is_ok_and(|s| s.contains(t));
    let wait = |t: &'static str| async move {
        for _ in 0..200 {
            if holds(t) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        holds(t)
    };
    assert!(wait("Title a").await, "first fetch rendered");
    let stored_at = env.count("SELECT body_stored_at FROM feeds");
    srv.set(
        "/f.xml",
        Resource::feed(rss_doc(
            "",
            &[item("new", ""), item("a", ""), item("b", "")],
        ))
        .no_etag(),
    );
    assert!(wait("Title new").await, "the fetch's new item rendered");
    stop_tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(15), handle)
        .await
        .expect("daemon stops")
        .unwrap()
        .unwrap();
    // The fetch that brought it left the known entries out (the time of the
    // last whole read is the first fetch's; fetches come a second apart).
    assert_eq!(
        env.count("SELECT body_stored_at FROM feeds"),
        stored_at,
        "entries were left out"
    );
}

/// Retention with a short `keep`: an item the feed still carries is pruned
/// with a tombstone only if its `last_seen_at` is recent. Polls that leave it
/// out do not refresh it, so whole reads must come often enough that it stays
/// as right as when every poll read it (to within a day): else it is pruned
/// without a tombstone and comes back as a new story.
#[tokio::test]
async fn an_item_left_out_is_pruned_with_a_tombstone_as_if_read() {
    const H: i64 = 3_600;
    let srv = FeedServer::start().await;
    let mut new_in_last_poll = Vec::new();
    for whole in [false, true] {
        let env = TestEnv::new();
        let cfg_text = format!(
            "[store]\npath = \"feedloom.db\"\nkeep = \"2d\"\n\n{}",
            feeds_toml(&[srv.url("/f.xml")])
        );
        let cfg_path = env.path("feedloom.toml");
        std::fs::write(&cfg_path, &cfg_text).unwrap();
        let cfg = feedloom::config::load(&cfg_path).unwrap();
        let sql = |q: &str| {
            rusqlite::Connection::open(env.path("feedloom.db"))
                .unwrap()
                .execute_batch(q)
                .unwrap()
        };
        let clear = |whole: bool| {
            if whole {
                sql("UPDATE feeds SET entry_seals = NULL");
            }
        };
        srv.set(
            "/f.xml",
            Resource::feed(rss_doc("", &[item("a", "")])).no_etag(),
        );
        poll(&cfg, env.open_store()).await.unwrap();
        // Item a was first seen (on a poll that left others out) 55 hours
        // ago; the feed's document was last read whole 23 hours ago, when a
        // was 32 hours old.
        sql(&format!(
            "UPDATE items SET first_seen_at = unixepoch() - {f}, last_seen_at = unixepoch() - {f},
                 changed_at = unixepoch() - {f};
             UPDATE stories SET first_seen_at = unixepoch() - {f}, changed_at = unixepoch() - {f};
             UPDATE feeds SET body_stored_at = unixepoch() - {w};",
            f = 55 * H,
            w = 23 * H
        ));
        clear(whole);
        srv.set(
            "/f.xml",
            Resource::feed(rss_doc("", &[item("n", ""), item("a", "")])).no_etag(),
        );
        assert_eq!(poll(&cfg, env.open_store()).await.unwrap().0.new, 1);
        // Retention (keep 2d) prunes a; the feed still carries it.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg_path)
            .arg("prune")
            .env("FEEDLOOM_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(env.count("SELECT count(*) FROM items WHERE guid = 'a'"), 0);
        // A day later the document is read whole: a must not be new again.
        sql(&format!(
            "UPDATE feeds SET body_stored_at = body_stored_at - {}",
            24 * H
        ));
        clear(whole);
        srv.set(
            "/f.xml",
            Resource::feed(rss_doc("", &[item("m", ""), item("n", ""), item("a", "")])).no_etag(),
        );
        new_in_last_poll.push(poll(&cfg, env.open_store()).await.unwrap().0.new);
    }
    assert_eq!(new_in_last_poll, [1, 1], "only m is new (left out, whole)");
}

/// Keys that depend on siblings, as the siblings come and go: a guid reused
/// with other text, a link without guid shared, an entry twice.
#[tokio::test]
async fn keys_that_depend_on_siblings_come_and_go_as_with_whole_reads() {
    let e = |guid: Option<&str>, link: &str, title: &str, text: &str| {
        let g = guid.map_or(String::new(), |g| format!("<guid>{g}</guid>"));
        format!(
            "<item>{g}<link>https://e.org/{link}</link><title>{title}</title>\
             <description>{text}</description></item>"
        )
    };
    let a = e(Some("g"), "1", "A", "one");
    let a_text = e(Some("g"), "1", "A", "other text");
    let y = e(None, "3", "Y", "y");
    let y2 = e(None, "3", "Y2", "y2");
    let x = e(Some("x"), "4", "X", "x");
    let n = e(Some("n"), "5", "N", "n");
    let steps = [
        at(rss_doc("", &[a.clone(), y.clone(), x.clone()])),
        at(rss_doc(
            "",
            &[a_text.clone(), a.clone(), y.clone(), x.clone()],
        )),
        at(rss_doc("", &[a.clone(), y.clone(), x.clone()])),
        at(rss_doc("", &[y2.clone(), a.clone(), y.clone(), x.clone()])),
        at(rss_doc("", &[n.clone(), a.clone(), y.clone(), x.clone()])),
        at(rss_doc(
            "",
            &[n.clone(), x.clone(), x.clone(), a.clone(), y.clone()],
        )),
        at(rss_doc("", &[n.clone(), a.clone(), y.clone(), x.clone()])),
        at(rss_doc("", &[e(Some("m"), "6", "M", "m"), n, a, y, x])),
    ];
    // Each poll where a key would depend on an entry left out is read whole
    // (and keeps no seals); the last one, alone again, leaves entries out.
    let (_, polls) = same_both_ways("siblings", &steps, "").await;
    assert_eq!(polls, 1, "only the last poll left entries out");
}
