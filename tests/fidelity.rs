//! Story fidelity: every class of real feed that used to come back with fewer
//! stories than it has entries (issue 8 §1), one sample each (written for these
//! tests, in `tests/fixtures/fidelity/`), through `parse` and `identity` as the
//! pipeline runs them; and the failure a document of no feed format leaves on
//! its feed.

mod common;

use common::{FeedServer, Resource, TestEnv};
use feedloom::error::ParseError;
use feedloom::identity::identify_document;
use feedloom::parse::{Document, Limits, parse};
use url::Url;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fidelity")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn base() -> Url {
    Url::parse("https://fixtures.feedloom.invalid/feed.xml").unwrap()
}

fn doc(name: &str) -> Document {
    parse(&fixture(name), None, &base(), Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn titles(d: &Document) -> Vec<&str> {
    d.entries
        .iter()
        .map(|e| e.title.as_deref().unwrap_or(""))
        .collect()
}

/// A document that writes its numeric dates day first (`25/11/2026` reads
/// only so) has them all read so: its `07/12/2026` was the 12th of July, the
/// newest post dated five months back and listed last. A document whose
/// dates read either way keeps the US order.
#[test]
fn numeric_dates_are_read_in_the_documents_order() {
    let feed = |dates: &[&str]| {
        let items: String = dates
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "<item><guid>{i}</guid><title>P{i}</title><pubDate>{d} 10:00</pubDate></item>"
                )
            })
            .collect();
        format!(
            "<rss version=\"2.0\"><channel><title>T</title><language>fr-FR</language>{items}</channel></rss>"
        )
    };
    let dates = |text: String| -> Vec<String> {
        feedloom::parse::parse(text.as_bytes(), None, &base(), Limits::default())
            .unwrap()
            .entries
            .iter()
            .map(|e| e.published.unwrap().format("%Y-%m-%d").to_string())
            .collect()
    };
    assert_eq!(
        dates(feed(&["07/12/2026", "25/11/2026", "13/11/2026"])),
        ["2026-12-07", "2026-11-25", "2026-11-13"]
    );
    assert_eq!(
        dates(feed(&["07/12/2026", "11/05/2026"])),
        ["2026-07-12", "2026-11-05"]
    );
    // Written with dashes too; and a date quoted in a text decides nothing.
    assert_eq!(
        dates(feed(&["07-12-2026", "25-11-2026"])),
        ["2026-12-07", "2026-11-25"]
    );
    let quoted = feed(&["07/12/2026"]).replace(
        "<title>P0</title>",
        "<title>P0</title><description>Posted 25/11/2026</description>",
    );
    assert_eq!(dates(quoted), ["2026-07-12"]);
}

#[test]
fn atom_03_is_read_in_full() {
    let d = doc("atom03.xml");
    assert_eq!(d.title.as_deref(), Some("Old Blog & Notes"));
    assert_eq!(d.site_url.as_deref(), Some("http://old.example/"));
    assert_eq!(titles(&d), ["Second post", "First post"]);
    let second = &d.entries[0];
    assert_eq!(second.guid.as_deref(), Some("tag:old.example,2005:2"));
    assert_eq!(
        second.link.as_deref(),
        Some("http://old.example/2005/03/second.html")
    );
    // issued → published, modified → updated.
    assert_eq!(
        second.published.map(|d| d.to_rfc3339()).as_deref(),
        Some("2005-03-02T08:00:00+00:00")
    );
    assert_eq!(
        second.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2005-03-02T10:00:00+00:00")
    );
    assert_eq!(second.author.as_deref(), Some("Mara Quill"));
    // mode="escaped" HTML is HTML.
    assert_eq!(
        second.content.as_deref(),
        Some("<p>The <b>second</b> one.</p>")
    );
    // mode="xml" XHTML keeps its markup.
    let summary = d.entries[1].summary.as_deref().unwrap();
    assert!(summary.contains("<i>summary</i>"), "{summary}");
    assert_eq!(identify_document(d.entries).len(), 2);
}

#[test]
fn rss_090_is_read_in_full() {
    let d = doc("rss090.xml");
    assert_eq!(d.title.as_deref(), Some("Netscape Era News"));
    assert_eq!(
        titles(&d),
        ["Browser ships", "Server ships", "Nothing ships"]
    );
    assert_eq!(
        d.entries[2].link.as_deref(),
        Some("http://news.example/nothing")
    );
}

#[test]
fn rss_2_in_the_userland_namespace_is_read_in_full() {
    let d = doc("rss2_userland.xml");
    assert_eq!(d.title.as_deref(), Some("Userland Style"));
    assert_eq!(titles(&d), ["One", "Two"]);
    assert_eq!(d.entries[1].guid.as_deref(), Some("u-2"));
    let d = doc("rss2_userland_prefixed.xml");
    assert_eq!(d.title.as_deref(), Some("Prefixed Userland"));
    assert_eq!(titles(&d), ["Only"]);
    assert_eq!(d.entries[0].author.as_deref(), Some("Ann"));
}

#[test]
fn an_odd_type_or_src_costs_at_most_its_field() {
    let d = doc("atom_odd_types.xml");
    assert_eq!(
        titles(&d),
        [
            "Content with src and a body",
            "A type that is no media type",
            "Empty summary",
            "An ordinary entry"
        ]
    );
    // A src beside a body: the body is kept.
    let content = d.entries[0].content.as_deref().unwrap();
    assert!(content.contains("The body is kept."), "{content}");
    // type="HTML" is html.
    assert_eq!(
        d.entries[1].summary.as_deref(),
        Some("<p>Upper-case html</p>")
    );
    // The empty summary is gone, the text/x-markdown body kept (escaped).
    assert_eq!(d.entries[2].summary, None);
    assert_eq!(d.entries[2].content.as_deref(), Some("*Markdown* body"));
    assert_eq!(d.entries[3].content.as_deref(), Some("<p>Fine.</p>"));
}

#[test]
fn rss_1_items_without_link_are_kept() {
    let d = doc("rss1_no_link.xml");
    assert_eq!(
        titles(&d),
        ["Has a link", "Only a description", "Only content"]
    );
    assert_eq!(d.entries[0].link.as_deref(), Some("https://rdf.example/a"));
    assert_eq!(d.entries[1].link, None);
    assert_eq!(d.entries[1].summary.as_deref(), Some("No link here."));
    assert!(d.entries[1].published.is_some());
    assert_eq!(
        d.entries[2].content.as_deref(),
        Some("<p>Encoded <em>content</em>.</p>")
    );
    // Each is its own story (no link: the hash of its title and text).
    assert_eq!(identify_document(d.entries).len(), 3);
}

#[test]
fn a_reused_guid_is_one_item_per_distinct_entry_with_stable_keys() {
    let keys = || {
        identify_document(doc("reused_guid.xml").entries)
            .into_iter()
            .map(|i| (i.entry.title.unwrap_or_default(), i.key))
            .collect::<Vec<_>>()
    };
    let first = keys();
    let names: Vec<&str> = first.iter().map(|(t, _)| t.as_str()).collect();
    // Episode 1 twice (byte-identical) is one story; the Bonus parts two.
    assert_eq!(names, ["Episode 1", "Episode 2", "Bonus", "Bonus"]);
    assert_ne!(first[2].1, first[3].1);
    assert_eq!(keys(), first, "keys change between two polls");
}

#[test]
fn links_given_elsewhere_are_used() {
    let d = doc("links_elsewhere.xml");
    let links: Vec<_> = d.entries.iter().map(|e| e.link.as_deref()).collect();
    assert_eq!(
        links,
        [
            Some("https://burned.example/posts/1"),
            Some("https://burned.example/posts/2"),
            // An entry's own link wins over feedburner's.
            Some("https://burned.example/own"),
        ]
    );
    assert_eq!(identify_document(d.entries).len(), 3);
    let d = doc("youtube.xml");
    let links: Vec<_> = d.entries.iter().map(|e| e.link.as_deref()).collect();
    assert_eq!(
        links,
        [
            Some("https://www.youtube.com/watch?v=abc123"),
            Some("https://www.youtube.com/watch?v=def456"),
            Some("https://video.example/related"),
        ]
    );
    assert_eq!(identify_document(d.entries).len(), 3);
}

#[test]
fn a_document_in_no_feed_format_is_an_error_that_names_its_root() {
    let err = parse(
        &fixture("foreign_namespace.xml"),
        None,
        &base(),
        Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ParseError::NoFeedElements { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no RSS/Atom/JSON Feed elements found: root `feed` in namespace `http://example.com/newformat#`"
    );
    // (So is one whose unprefixed title read as a feed's: an `ok` fetch of
    // nothing.)
    let err = parse(
        br#"<x:feed xmlns:x="urn:ab"><title>t</title></x:feed>"#,
        None,
        &base(),
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no RSS/Atom/JSON Feed elements found: root `feed` in namespace `urn:ab`"
    );
    // An empty feed in a known format stays a feed.
    let empty = parse(
        br#"<rss version="2.0"><channel><title>quiet</title></channel></rss>"#,
        None,
        &base(),
        Limits::default(),
    )
    .unwrap();
    assert!(empty.entries.is_empty());
}

#[tokio::test]
async fn the_feed_of_a_foreign_document_shows_the_error() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    srv.set(
        "/foreign.xml",
        Resource::feed(fixture("foreign_namespace.xml")),
    );
    srv.set("/old.xml", Resource::feed(fixture("atom03.xml")));
    let cfg = env.config(&format!(
        "[[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\n",
        srv.url("/foreign.xml"),
        srv.url("/old.xml")
    ));
    let store = env.open_store();
    let (summary, _) = feedloom::refresh::poll(&cfg, store).await.unwrap();
    assert_eq!((summary.ok, summary.failed, summary.new), (1, 1, 2));
    let (status, error): (String, String) = env
        .reader()
        .query_row(
            "SELECT last_status, last_error FROM feeds WHERE url LIKE '%/foreign.xml'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "error");
    assert!(
        error.contains("no RSS/Atom/JSON Feed elements found: root `feed` in namespace `http://example.com/newformat#`"),
        "{error}"
    );
}

/// Entries with nothing in them (`<item/>`, `{}`, an item of a blank
/// title) are not stored: each was published as an "(untitled)" story
/// without a word in it. The others of their documents are, and so are
/// entries of an id alone, or of what feedloom does not read (a Media RSS
/// image: dropped, a photo feed was an error); a document of nothing else
/// is its feed's error, not an `ok` fetch of nothing.
#[tokio::test]
async fn entries_with_nothing_to_show_are_not_stored_and_alone_are_an_error() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    srv.set(
        "/mixed.json",
        Resource::feed(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{},{"id":"2","title":"Real","content_text":"hello"},{"id":"3"}]}"#,
        )
        .content_type("application/feed+json"),
    );
    srv.set(
        "/mixed.xml",
        Resource::feed(
            "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>R</title><item></item><item><title> </title></item><item><enclosure url=\"https://e.example/a.mp3\" type=\"audio/mpeg\" length=\"1\"/></item><item><media:content url=\"https://e.example/p.jpg\" medium=\"image\"/></item><item><guid>g</guid></item><item><title>T</title></item></channel></rss>",
        ),
    );
    // (Named in a text only, Media RSS's address declares nothing: the
    // empty item kept every other empty item of its document.)
    srv.set(
        "/named.xml",
        Resource::feed(
            "<rss version=\"2.0\"><channel><title>N</title><item><title>a</title><description>see http://search.yahoo.com/mrss/</description></item><item/></channel></rss>",
        ),
    );
    srv.set(
        "/blank.json",
        Resource::feed(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"B","items":[{},{"title":""}]}"#,
        )
        .content_type("application/feed+json"),
    );
    // (A podcast's document declares iTunes: an `<item/>` in it was kept
    // all the same, and so were items whose text or title shows nothing;
    // an episode's own iTunes fields, or a picture, are something.)
    srv.set(
        "/pod.xml",
        Resource::feed(
            "<rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>P</title>\
             <item/><item><description><![CDATA[<p>&nbsp;</p>]]></description></item>\
             <item><title>&#8203;</title><description>&lt;br/&gt;</description></item>\
             <item><itunes:duration>12:00</itunes:duration></item>\
             <item><description><![CDATA[<p><img src=\"https://e.example/i.jpg\"></p>]]></description></item>\
             <item><title>Ep</title></item></channel></rss>",
        ),
    );
    // (iTunes' namespace as podcasts often write it: an episode of only
    // iTunes fields under it was dropped as empty.)
    srv.set(
        "/pod2.xml",
        Resource::feed(
            "<rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/DTDs/PodCast-1.0.dtd\"><channel><title>P2</title>\
             <item><itunes:summary>Only iTunes</itunes:summary></item><item/></channel></rss>",
        ),
    );
    // (A JSON Feed item of only an `image` is a photo, shown as its text: it
    // was dropped; kept empty, every such item of a feed had one key. Not
    // one of a `javascript:` or `data:` picture, which shows nothing.)
    srv.set(
        "/photo.json",
        Resource::feed(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"Ph","items":[{"image":"https://e.example/p.jpg"},{"image":"https://e.example/q.jpg"},{"title":"Hi"},{"image":"javascript:alert(1)"},{"image":"data:image/png;base64,AAAA"}]}"#,
        )
        .content_type("application/feed+json"),
    );
    let cfg = env.config(
        &[
            "/mixed.json",
            "/mixed.xml",
            "/blank.json",
            "/named.xml",
            "/pod.xml",
            "/pod2.xml",
            "/photo.json",
        ]
        .iter()
        .map(|p| format!("[[feed]]\nurl = \"{}\"\n\n", srv.url(p)))
        .collect::<String>(),
    );
    let store = env.open_store();
    let (summary, _) = feedloom::refresh::poll(&cfg, store).await.unwrap();
    assert_eq!((summary.ok, summary.failed, summary.new), (6, 1, 14));
    let read = env.reader();
    let stored: Vec<(String, Option<String>)> = read
        .prepare(
            "SELECT f.url, i.title FROM items i JOIN feeds f ON f.id = i.feed_id ORDER BY i.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut stored: Vec<(bool, Option<&str>)> = stored
        .iter()
        .map(|(u, t)| (u.ends_with(".json"), t.as_deref()))
        .collect();
    stored.sort();
    // (The enclosure alone is something to show: a podcast episode; so is
    // an image feedloom does not read, and an id.)
    assert_eq!(
        stored,
        [
            (false, None),
            (false, None),
            (false, None),
            (false, None),
            (false, None),
            (false, None),
            (false, Some("Ep")),
            (false, Some("T")),
            (false, Some("a")),
            (true, None),
            (true, None),
            (true, None),
            (true, Some("Hi")),
            (true, Some("Real"))
        ]
    );
    let photos: Vec<String> = read
        .prepare("SELECT content FROM items WHERE content LIKE '%<img%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        photos.iter().any(|c| c.contains("https://e.example/p.jpg"))
            && photos.iter().any(|c| c.contains("https://e.example/q.jpg")),
        "{photos:?}"
    );
    let error: String = read
        .query_row(
            "SELECT last_error FROM feeds WHERE url LIKE '%/blank.json'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        error.contains("the 2 read hold nothing (no id, title, link, text or file)"),
        "{error}"
    );
    // A second poll reads them again and stores nothing more.
    let (summary, _) = feedloom::refresh::poll(&cfg, env.open_store())
        .await
        .unwrap();
    assert_eq!((summary.failed, summary.new), (1, 0));
}

/// A document whose entries are named otherwise than its format names them
/// (`<Item>`, `<ITEM>`, an Atom entry in an RSS channel, Atom 0.3's in an
/// Atom 1.0 feed) is an error that says so: it was an `ok` fetch of
/// nothing, for ever.
#[test]
fn entries_named_otherwise_are_an_error_not_an_empty_feed() {
    for (doc, name) in [
        (
            "<rss version=\"2.0\"><channel><title>t</title><Item><title>a</title><link>https://e.example/a</link></Item><Item><title>b</title></Item></channel></rss>",
            "Item",
        ),
        (
            "<rss version=\"2.0\"><channel><title>t</title><ITEM><TITLE>a</TITLE></ITEM></channel></rss>",
            "ITEM",
        ),
        (
            "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>t</title><atom:entry><atom:title>a</atom:title></atom:entry></channel></rss>",
            "atom:entry",
        ),
        (
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><entry xmlns=\"http://purl.org/atom/ns#\"><title>a</title></entry></feed>",
            "entry",
        ),
    ] {
        let err = parse(doc.as_bytes(), None, &base(), Limits::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ParseError::EntriesNotRead { .. }),
            "{doc}: {err:?}"
        );
        assert!(text.contains(&format!("`<{name}>`")), "{text}");
    }
    // Where the document names them rightly but says otherwise elsewhere,
    // the error says where: a `<Channel>`, a root in another namespace (the
    // error blamed the items' names, which were right).
    for (doc, why) in [
        (
            r#"<rss version="2.0"><Channel><title>t</title><item><title>a</title></item></Channel></rss>"#,
            "its channel is `<Channel>`, and RSS's is `<channel>`, in lower case",
        ),
        (
            r#"<rss version="2.0" xmlns="http://example.com/rss"><channel><title>t</title><item><title>a</title></item></channel></rss>"#,
            "the root `<rss>` puts every element in the namespace `http://example.com/rss`, and RSS's are in none",
        ),
        // (A channel, or items, in XHTML's namespace, as an XSLT writes
        // them: the first blamed the items' names; the second was an ok
        // fetch of nothing.)
        (
            r#"<rss version="2.0"><channel xmlns="http://www.w3.org/1999/xhtml"><title>t</title><item><title>a</title></item></channel></rss>"#,
            "its `<channel>` puts every element in the namespace `http://www.w3.org/1999/xhtml`, and RSS's are in none",
        ),
        (
            r#"<rss version="2.0"><channel><title>t</title><item xmlns="http://www.w3.org/1999/xhtml"><title>a</title></item></channel></rss>"#,
            "its `<item>` puts itself in the namespace `http://www.w3.org/1999/xhtml`, and RSS's are in none",
        ),
        (
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry xmlns="http://www.w3.org/1999/xhtml"><title>a</title></entry></feed>"#,
            "its `<entry>` puts itself in the namespace `http://www.w3.org/1999/xhtml`, and Atom's entries are in `http://www.w3.org/2005/Atom`",
        ),
        // (RSS 1.0's items are in its namespace: the error said "in none".)
        (
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>t</title></channel><item xmlns="http://www.w3.org/1999/xhtml" rdf:about="a"><title>a</title></item></rdf:RDF>"#,
            "its `<item>` puts itself in the namespace `http://www.w3.org/1999/xhtml`, and RSS 1.0's are in `http://purl.org/rss/1.0/`",
        ),
    ] {
        let err = parse(doc.as_bytes(), None, &base(), Limits::default()).unwrap_err();
        assert!(err.to_string().ends_with(why), "{doc}: {err}");
    }
    // Items named as items are, nested in one another past what is read:
    // not told to name them `<item>` (which they are).
    let nested = format!(
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>t</title></channel>{}<item rdf:about="r"><title>real</title></item></rdf:RDF>"#,
        r#"<item rdf:about="a">"#.repeat(5000),
    );
    let err = parse(nested.as_bytes(), None, &base(), Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("they are named as entries are, but none was read where it sits")
            && !err.contains("(lower case)"),
        "{err}"
    );
    // Some read, others named in another letter case beside them: the
    // document says so (they were dropped without a word).
    let d = parse(
        br#"<rss version="2.0"><channel><title>t</title><item><title>a</title></item><Item><title>b</title></Item><ITEM><title>c</title></ITEM></channel></rss>"#,
        None,
        &base(),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(titles(&d), ["a"]);
    assert_eq!(
        d.misnamed.as_deref(),
        Some(
            "2 of the document's 3 elements named like entries are not read (`<item>` ×1, `<Item>` ×1, `<ITEM>` ×1): RSS items are `<item>`, Atom entries `<entry>`, in lower case"
        )
    );
    // (And of one in another namespace beside them.)
    let d = parse(
        br#"<rss version="2.0"><channel><title>t</title><item><title>a</title></item><item xmlns="http://www.w3.org/1999/xhtml"><title>b</title></item></channel></rss>"#,
        None,
        &base(),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(titles(&d), ["a"]);
    assert!(
        d.misnamed.as_deref().is_some_and(|m| m.starts_with("1 of the document's 2")
            && m.ends_with("its `<item>` puts itself in the namespace `http://www.w3.org/1999/xhtml`, and RSS's are in none")),
        "{:?}",
        d.misnamed
    );
    // (Nor is anything said of a document whose every entry was read, or
    // of markup named so inside a text.)
    for doc in [
        r#"<rss version="2.0"><channel><title>t</title><item><title>a</title><description><![CDATA[<Item>x</Item>]]></description></item></channel></rss>"#,
        r#"<rss version="2.0"><channel><title>t</title><Image><url>https://e.example/i.png</url></Image><item><title>a</title></item></channel></rss>"#,
        // (Nor of one that is not where entries are.)
        r#"<rss version="2.0"><channel><title>t</title><image><Item>x</Item></image><item><title>a</title><extra><Item>y</Item></extra></item></channel></rss>"#,
    ] {
        let d = parse(doc.as_bytes(), None, &base(), Limits::default()).unwrap();
        assert_eq!(
            (titles(&d), d.misnamed.as_deref()),
            (vec!["a"], None),
            "{doc}"
        );
    }
    // A feed that holds no entry at all stays an empty feed; so does one
    // whose only such names are an extension's or inside text.
    for doc in [
        r#"<rss version="2.0"><channel><title>quiet</title><description>an item list</description></channel></rss>"#,
        r#"<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>quiet</title><wp:item>x</wp:item></channel></rss>"#,
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>quiet</title><x:entry xmlns:x="urn:ext">x</x:entry></feed>"#,
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>quiet</title><rights type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><Item>x</Item></div></rights></feed>"#,
        // (An extension in a default namespace of its own.)
        r#"<rss version="2.0"><channel><title>quiet</title><ext xmlns="http://example.com/ext"><item>x</item></ext></channel></rss>"#,
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>quiet</title><ext xmlns="urn:ext"><entry>x</entry></ext></feed>"#,
    ] {
        let empty = parse(doc.as_bytes(), None, &base(), Limits::default())
            .unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert!(empty.entries.is_empty());
    }
}

/// What a server writes into an error (a foreign root's namespace) is
/// quoted bounded and with its control characters escaped: a 15 MB
/// namespace was stored whole in every fetch's row and the feed's last
/// error, and its escape sequences reached the operator's terminal.
#[tokio::test]
async fn an_error_quoting_the_document_is_bounded_and_escaped() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    let huge = format!("http://x/\u{1b}[2J{}", "A".repeat(1_000_000));
    srv.set(
        "/foreign.xml",
        Resource::feed(format!("<feed xmlns=\"{huge}\"><x/></feed>")),
    );
    let cfg = env.config(&format!(
        "[[feed]]\nurl = \"{}\"\n",
        srv.url("/foreign.xml")
    ));
    let (summary, _) = feedloom::refresh::poll(&cfg, env.open_store())
        .await
        .unwrap();
    assert_eq!(summary.failed, 1);
    let (last, logged): (String, String) = env
        .reader()
        .query_row(
            "SELECT f.last_error, x.error FROM feeds f JOIN fetches x ON x.feed_id = f.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    for e in [&last, &logged] {
        assert!(e.starts_with("no RSS/Atom/JSON Feed elements found: root `feed` in namespace `http://x/\\u{1b}[2JAAA"), "{}", &e[..200]);
        assert!(e.len() < 1_000, "{} bytes", e.len());
        assert!(!e.contains('\u{1b}'));
    }
}

#[test]
fn undeclared_legacy_encodings_are_detected() {
    let item = |title: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid>\
             <title>{title}</title><description>{title} {title} {title}</description>\
             </item></channel></rss>"
        )
    };
    // No BOM, no declaration, no HTTP charset, not UTF-8.
    for (text, encoding) in [
        (
            "Съешь же ещё этих мягких французских булок, да выпей чаю",
            encoding_rs::WINDOWS_1251,
        ),
        (
            "다람쥐 헌 쳇바퀴에 타고파 그리고 한국어 문장을 조금 더 씁니다",
            encoding_rs::EUC_KR,
        ),
        (
            "Le cœur déçu mais l'âme plutôt naïve, Louÿs rêva de crapaüter",
            encoding_rs::WINDOWS_1252,
        ),
    ] {
        let doc = item(text);
        let (bytes, _, unmappable) = encoding.encode(&doc);
        assert!(!unmappable);
        let d = parse(&bytes, None, &base(), Limits::default()).unwrap();
        assert_eq!(
            d.entries[0].title.as_deref(),
            Some(text),
            "{}",
            encoding.name()
        );
    }
}

#[test]
fn html_titles_decode_every_html5_entity() {
    let xml = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
        <entry><id>1</id><title type="html">Caf&amp;eacute; &amp;mdash; na&amp;iuml;ve &amp;hellip; &amp;frac12; &amp;CounterClockwiseContourIntegral; &amp;bogus;</title></entry>
    </feed>"#;
    let d = parse(xml, None, &base(), Limits::default()).unwrap();
    assert_eq!(
        d.entries[0].title.as_deref(),
        Some("Café — naïve … ½ \u{2233} &bogus;")
    );
}

#[test]
fn over_max_entries_only_the_newest_are_kept_and_the_rest_counted() {
    let mut xml = String::from("<rss version=\"2.0\"><channel><title>big</title>");
    // Oldest first: 5,000 entries, a day apart.
    let start = chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").unwrap();
    for i in 0..5000 {
        let date = (start + chrono::Duration::days(i)).to_rfc2822();
        xml.push_str(&format!(
            "<item><guid>{i}</guid><title>n{i}</title><pubDate>{date}</pubDate></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    let limits = Limits {
        max_entries: 1000,
        ..Limits::default()
    };
    let d = parse(xml.as_bytes(), None, &base(), limits).unwrap();
    assert_eq!(d.entries.len(), 1000);
    assert_eq!(d.truncated, 4000);
    assert_eq!(d.entries[0].guid.as_deref(), Some("4000"));
    assert_eq!(d.entries[999].guid.as_deref(), Some("4999"));
}

#[test]
fn end_tags_that_do_not_match_cost_nothing_but_a_cut_document_fails() {
    let crossed = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
        <entry><id>1</id><title>one</title><content type="html">x</content></content></entry>
        <entry><id>2</id><title>two</subtitle></title></entry></feed>"#;
    let d = parse(crossed, None, &base(), Limits::default()).unwrap();
    assert_eq!(titles(&d), ["one", "two"]);
    // (Said to end early, since the twenty-first stop.)
    let cut = br#"<rss version="2.0"><channel><title>x</title><item><title>half"#;
    assert!(matches!(
        parse(cut, None, &base(), Limits::default()),
        Err(ParseError::EndsEarly { .. })
    ));
}

#[test]
fn items_of_a_second_channel_are_read_not_silently_lost() {
    let xml = "<rss version=\"2.0\"><channel><title>first</title>\
        <item><guid>a</guid><title>A</title></item></channel>\
        <channel><title>second</title><item><guid>b</guid><title>B</title></item>\
        <item><guid>c</guid><title>C</title></item></channel></rss>";
    let d = parse(xml.as_bytes(), None, &base(), Limits::default()).unwrap();
    // (As feedparser reads them; they were counted as unread and dropped.)
    assert_eq!(titles(&d), ["A", "B", "C"]);
    assert_eq!(d.title.as_deref(), Some("first"));
    assert_eq!(d.unread, 0);
    assert_eq!(d.truncated, 0);
    let one = "<rss version=\"2.0\"><channel><title>t</title><item><title>A</title></item></channel></rss>";
    assert_eq!(
        parse(one.as_bytes(), None, &base(), Limits::default())
            .unwrap()
            .unread,
        0
    );
}

/// A document whose first `max_entries` entries hold nothing says too that
/// more were not read (a thousand empty `<item>`s and a real one after them
/// said only that the thousand hold nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_entries_filling_the_budget_say_the_rest_were_not_read() {
    let srv = FeedServer::start().await;
    let env = TestEnv::new();
    srv.set(
        "/f.xml",
        Resource::feed(format!(
            "<rss version=\"2.0\"><channel><title>T</title>{}<item><guid>r</guid><title>Real</title></item></channel></rss>",
            "<item></item>".repeat(5)
        )),
    );
    let cfg = env.config(&format!(
        "[fetch]\nmax_entries = 3\n\n[[feed]]\nurl = \"{}\"\n",
        srv.url("/f.xml")
    ));
    feedloom::refresh::poll(&cfg, env.open_store())
        .await
        .unwrap();
    let error: String = env
        .reader()
        .query_row("SELECT last_error FROM feeds", [], |r| r.get(0))
        .unwrap();
    assert!(
        error.ends_with(
            "the 3 read hold nothing (no id, title, link, text or file); 3 more past \
             fetch.max_entries were not read"
        ),
        "{error}"
    );
}

/// A podcast episode's author is most often only its `itunes:author`: an
/// item without an author of its own has it (it had none); its own author
/// wins, and the channel's `itunes:author` is not every episode's.
#[test]
fn an_episode_without_an_author_has_its_itunes_author() {
    let doc = parse(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Pod</title><itunes:author>The Network</itunes:author>
        <item><title>Ep1</title><guid>e1</guid><description>One.</description><itunes:author>  Ann
          Host </itunes:author></item>
        <item><title>Ep2</title><guid>e2</guid><description>Two.</description><dc:creator>Bob Writer</dc:creator><itunes:author>Bob Host</itunes:author></item>
        <item><title>Ep3</title><guid>e3</guid><description>Three.</description></item>
        <item><title>Ep4</title><guid>e4</guid><description>Four.</description><itunes:author>Cy &amp; Di</itunes:author></item>
        </channel></rss>"#
            .as_bytes(),
        None,
        &base(),
        Limits::default(),
    )
    .unwrap();
    let authors: Vec<Option<&str>> = doc.entries.iter().map(|e| e.author.as_deref()).collect();
    assert_eq!(
        authors,
        [Some("Ann Host"), Some("Bob Writer"), None, Some("Cy & Di")]
    );
}

/// An entry whose only text is its media's shows it: a YouTube video's
/// description and thumbnail, a podcast episode's `itunes:summary`, a
/// photo's `media:content`, a titled JSON Feed item's `image` (each was
/// published as its title alone). An entry's own text wins, and an entry
/// keyed by its content keeps its key (no text added).
#[test]
fn an_entry_without_text_shows_its_media() {
    let parsed = |xml: &str| {
        parse(xml.as_bytes(), None, &base(), Limits::default())
            .unwrap_or_else(|e| panic!("{e}: {xml}"))
    };
    let atom = parsed(
        r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xmlns:yt="http://www.youtube.com/xml/schemas/2015"><title>Ch</title>
        <entry><id>yt:video:v1</id><title>Video one</title><link rel="alternate" href="https://www.youtube.com/watch?v=v1"/>
        <media:group><media:title>Video one</media:title><media:content url="https://www.youtube.com/v/v1" type="application/x-shockwave-flash"/>
        <media:thumbnail url="https://i.ytimg.com/vi/v1/hqdefault.jpg" width="480" height="360"/>
        <media:description>First line &amp; more.
Second line &lt;b&gt;not bold&lt;/b&gt;</media:description></media:group></entry>
        <entry><id>yt:video:v2</id><title>Video two</title><link rel="alternate" href="https://www.youtube.com/watch?v=v2"/><summary>Own words.</summary>
        <media:group><media:description>Media words.</media:description></media:group></entry>
        </feed>"#,
    );
    let v1 = atom.entries[0].content.as_deref().unwrap_or("");
    assert!(
        v1.starts_with(r#"<p><img src="https://i.ytimg.com/vi/v1/hqdefault.jpg" alt=""></p>"#),
        "{v1}"
    );
    assert!(
        v1.contains("First line &amp; more.<br>\nSecond line &lt;b&gt;not bold&lt;/b&gt;"),
        "{v1}"
    );
    assert_eq!(atom.entries[1].summary.as_deref(), Some("Own words."));
    assert_eq!(atom.entries[1].content, None);
    let rss = parsed(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Pod</title><link>https://pod.example/</link>
        <item><title>Ep1</title><guid>e1</guid><itunes:summary>Summary of episode one.</itunes:summary><enclosure url="https://pod.example/e1.mp3" length="1" type="audio/mpeg"/></item>
        <item><title>Photo</title><link>https://pod.example/p1</link><media:content url="https://pod.example/p1.JPG"/></item>
        <item><title>Styled</title><guid>s1</guid><media:description type="html">&lt;p&gt;In &lt;em&gt;bold&lt;/em&gt;&lt;/p&gt;</media:description></item>
        <item><title>Blank</title><guid>b1</guid><itunes:summary>  &#8203; </itunes:summary></item>
        <item><title>Unkeyed</title><itunes:summary>Kept as it was keyed.</itunes:summary></item>
        <item><media:content url="https://pod.example/clip1.mp4" type="video/mp4"/></item>
        <item><media:content url="https://pod.example/clip2.mp4"/></item>
        <item><media:group><media:content url="https://pod.example/clip3.mp4"/></media:group></item>
        </channel></rss>"#,
    );
    // (Entries of nothing but a `media:content` are three, with their
    // files: they were one story of nothing.)
    let files: Vec<Vec<&str>> = rss.entries[5..]
        .iter()
        .map(|e| e.enclosures.iter().map(|f| f.url.as_str()).collect())
        .collect();
    assert_eq!(
        files,
        [
            ["https://pod.example/clip1.mp4"],
            ["https://pod.example/clip2.mp4"],
            ["https://pod.example/clip3.mp4"]
        ]
    );
    assert_eq!(
        rss.entries[5].enclosures[0].media_type.as_deref(),
        Some("video/mp4")
    );
    let keys: std::collections::HashSet<String> = identify_document(rss.entries.clone())
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(keys.len(), 8, "{keys:?}");
    // (Keyed by its file alone: a thumbnail's rotating signature, or an
    // edited description, made a new item of the same clip.)
    let clip = |thumb: &str, text: &str| {
        let d = parsed(&format!(
            r#"<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>C</title>
            <item><media:content url="https://pod.example/clip9.mp4"/><media:thumbnail url="https://pod.example/t.jpg?sig={thumb}"/><media:description>{text}</media:description></item>
            </channel></rss>"#
        ));
        identify_document(d.entries).remove(0).key
    };
    assert_eq!(clip("aaa", "A clip"), clip("bbb", "A clip, edited"));
    let content: Vec<Option<&str>> = rss.entries.iter().map(|e| e.content.as_deref()).collect();
    assert_eq!(
        content,
        [
            Some("Summary of episode one."),
            Some(r#"<p><img src="https://pod.example/p1.JPG" alt=""></p>"#),
            Some("<p>In <em>bold</em></p>"),
            None,
            None,
            None,
            None,
            None,
        ]
    );
    let json = parsed(
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"Ph","items":[{"id":"1","title":"Sunset","url":"https://ph.example/1","image":"https://ph.example/1.jpg"},{"id":"2","title":"Text","content_text":"Words.","image":"https://ph.example/2.jpg"}]}"#,
    );
    assert_eq!(
        json.entries[0].content.as_deref(),
        Some(r#"<p><img src="https://ph.example/1.jpg" alt=""></p>"#)
    );
    assert_eq!(json.entries[1].content.as_deref(), Some("Words."));
    // (A JSON text that shows nothing, as for the other formats: the
    // picture was dropped.)
    let json = parsed(
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"Ph","items":[{"id":"10","title":"Empty","content_html":"<p></p>&nbsp;","image":"https://ph.example/c.jpg"},{"title":"Keyed by its text","content_html":"<p></p>","image":"https://ph.example/d.jpg"}]}"#,
    );
    assert_eq!(
        json.entries[0].content.as_deref(),
        Some(r#"<p><img src="https://ph.example/c.jpg" alt=""></p>"#)
    );
    assert_eq!(json.entries[1].content.as_deref(), Some("<p></p>"));
    // (A text of its own that shows nothing counts as none, entry by entry:
    // a blank description alone in its document, or beside entries with
    // text, kept the media unread.)
    let blank = parsed(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Pod</title>
        <item><title>A</title><guid>a</guid><description>   </description><itunes:summary>Said in iTunes.</itunes:summary></item>
        <item><title>B</title><guid>b</guid><description>&lt;p&gt;&lt;/p&gt;</description><itunes:summary>Also said.</itunes:summary></item>
        <item><title>C</title><guid>c</guid><description>Own text.</description><itunes:summary>Not shown.</itunes:summary></item>
        </channel></rss>"#,
    );
    let shown: Vec<Option<&str>> = blank
        .entries
        .iter()
        .map(|e| e.content.as_deref().or(e.summary.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            Some("Said in iTunes."),
            Some("Also said."),
            Some("Own text.")
        ]
    );
}
