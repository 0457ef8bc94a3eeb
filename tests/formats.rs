//! Every output format checked against its specification, with ordinary and hostile
//! stories (no title, no link, CJK, long text, several sources, markup and control
//! characters), and read back with feed-rs:
//!
//! * Atom 1.0: the RELAX NG schema of RFC 4287 appendix B (`xmllint --relaxng`,
//!   tests/fixtures/formats/atom.rng), plus the MUSTs a schema cannot say (its
//!   Schematron rules, one alternate link per type and language, RFC 3339 dates,
//!   absolute IRIs).
//! * RSS 2.0: the required channel elements, an item's title or description, RFC 822
//!   dates, guid isPermaLink, `source url`, the self link in the Atom namespace.
//! * JSON Feed 1.1: version, title, absolute feed_url/home_page_url, string ids,
//!   content, RFC 3339 dates, `authors` arrays.
//!
//! Without xmllint (Debian's libxml2-utils) the schema check is skipped with one
//! line on a developer's machine; under CI (`CI` set, as .ci/run does) it fails.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use feedloom::config::{self, Format, OutputConfig};
use feedloom::export::{self, FeedInfo, Prepared};
use feedloom::parse::Enclosure;
use feedloom::store::queries::{Source, Story};

// ---------------------------------------------------------------------------
// A small XML tree, enough to check documents structurally.

#[derive(Debug, Default)]
struct El {
    /// The qualified name as written (`atom:link`, `title`).
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn one<'a>(&'a self, name: &'a str) -> Option<&'a El> {
        self.all(name).next()
    }
    fn count(&self, name: &str) -> usize {
        self.all(name).count()
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

fn parse_xml(text: &str) -> El {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack = vec![El::default()];
    let open = |e: &quick_xml::events::BytesStart| El {
        name: e.name().into_inner().to_string(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    a.key.into_inner().to_string(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .expect("attribute value")
                        .into_owned(),
                )
            })
            .collect(),
        ..El::default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let el = open(&e);
                stack.last_mut().unwrap().children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Event::Text(t) => stack.last_mut().unwrap().text += &t.xml10_content(),
            Event::CData(t) => stack.last_mut().unwrap().text += &t.xml10_content(),
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(AsRef::<[u8]>::as_ref(&*r)).into_owned();
                let s = quick_xml::escape::unescape(&format!("&{name};"))
                    .expect("known entity")
                    .into_owned();
                stack.last_mut().unwrap().text += &s;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1, "one root element");
    root.children.pop().unwrap()
}

fn rfc3339_ok(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// RFC 822 as RSS 2.0 wants it (chrono reads RFC 2822, its successor).
fn rfc822_ok(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc2822(s).is_ok()
}

fn absolute_iri(s: &str) -> bool {
    url::Url::parse(s).is_ok()
}

fn web_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

// ---------------------------------------------------------------------------
// The checkers: each returns the problems it found, one sentence each.

/// The RFC 4287 MUSTs the RELAX NG schema does not express.
fn atom_problems(text: &str) -> Vec<String> {
    let mut p = Vec::new();
    let feed = parse_xml(text);
    if feed.name != "feed" || feed.attr("xmlns") != Some("http://www.w3.org/2005/Atom") {
        p.push(format!("root is <{}>, not an Atom feed", feed.name));
        return p;
    }
    let dates = |el: &El, what: &str, p: &mut Vec<String>| {
        for d in ["updated", "published"] {
            for e in el.all(d) {
                if !rfc3339_ok(e.text.trim()) {
                    p.push(format!("{what} {d} `{}` is not RFC 3339", e.text));
                }
            }
        }
    };
    let links = |el: &El, what: &str, p: &mut Vec<String>| {
        let mut alternates = HashSet::new();
        for l in el.all("link") {
            let href = l.attr("href").unwrap_or("");
            if !absolute_iri(href) {
                p.push(format!("{what} link href `{href}` is not an absolute IRI"));
            }
            if l.attr("length").is_some_and(|n| n.parse::<u64>().is_err()) {
                p.push(format!("{what} link length is not a number"));
            }
            if l.attr("rel").unwrap_or("alternate") == "alternate"
                && !alternates.insert((l.attr("type"), l.attr("hreflang")))
            {
                p.push(format!(
                    "{what} has two alternate links of one type and language"
                ));
            }
        }
    };
    for name in ["id", "title", "updated"] {
        if feed.count(name) != 1 {
            p.push(format!("feed has {} <{name}>", feed.count(name)));
        }
    }
    if let Some(id) = feed.one("id")
        && !absolute_iri(id.text.trim())
    {
        p.push(format!("feed id `{}` is not an absolute IRI", id.text));
    }
    dates(&feed, "feed", &mut p);
    links(&feed, "feed", &mut p);
    if feed
        .all("link")
        .filter(|l| l.attr("rel") == Some("self"))
        .count()
        != 1
    {
        p.push("feed has no (or several) rel=\"self\" links".into());
    }
    let feed_author = feed.count("author") > 0;
    let mut ids = HashSet::new();
    for (i, e) in feed.all("entry").enumerate() {
        let what = format!("entry {i}");
        for name in ["id", "title", "updated"] {
            if e.count(name) != 1 {
                p.push(format!("{what} has {} <{name}>", e.count(name)));
            }
        }
        if let Some(id) = e.one("id") {
            if !absolute_iri(id.text.trim()) {
                p.push(format!("{what} id `{}` is not an absolute IRI", id.text));
            }
            if !ids.insert(id.text.clone()) {
                p.push(format!("{what} repeats id {}", id.text));
            }
        }
        dates(e, &what, &mut p);
        links(e, &what, &mut p);
        let alternate = e
            .all("link")
            .any(|l| l.attr("rel").unwrap_or("alternate") == "alternate");
        if !alternate && e.count("content") == 0 {
            p.push(format!("{what} has neither content nor an alternate link"));
        }
        let source_author = e.one("source").is_some_and(|s| s.count("author") > 0);
        if !feed_author && e.count("author") == 0 && !source_author {
            p.push(format!("{what} has no author and neither has the feed"));
        }
        if let Some(src) = e.one("source") {
            dates(src, &format!("{what} source"), &mut p);
            links(src, &format!("{what} source"), &mut p);
        }
    }
    p
}

fn rss_problems(text: &str) -> Vec<String> {
    let mut p = Vec::new();
    let rss = parse_xml(text);
    if rss.name != "rss" || rss.attr("version") != Some("2.0") {
        p.push(format!("root is <{}> without version 2.0", rss.name));
        return p;
    }
    if rss.count("channel") != 1 {
        p.push(format!("{} <channel> elements", rss.count("channel")));
        return p;
    }
    let ch = rss.one("channel").unwrap();
    for name in ["title", "link", "description"] {
        if ch.count(name) != 1 {
            p.push(format!("channel has {} <{name}>", ch.count(name)));
        }
    }
    if let Some(l) = ch.one("link")
        && !web_url(l.text.trim())
    {
        p.push(format!("channel link `{}` is not an http(s) URL", l.text));
    }
    for d in ["pubDate", "lastBuildDate"] {
        if ch.count(d) > 1 {
            p.push(format!("channel has {} <{d}>", ch.count(d)));
        }
        if let Some(e) = ch.one(d)
            && !rfc822_ok(e.text.trim())
        {
            p.push(format!("channel {d} `{}` is not RFC 822", e.text));
        }
    }
    let selfs: Vec<&El> = ch
        .all("atom:link")
        .filter(|l| l.attr("rel") == Some("self"))
        .collect();
    if selfs.len() != 1 || !selfs[0].attr("href").is_some_and(web_url) {
        p.push("channel has no single atom:link rel=\"self\" with an http(s) href".into());
    }
    if ch.count("atom:link") > 0 && rss.attr("xmlns:atom") != Some("http://www.w3.org/2005/Atom") {
        p.push("atom:link used without declaring the Atom namespace".into());
    }
    for (i, item) in ch.all("item").enumerate() {
        let what = format!("item {i}");
        if item.count("title") == 0 && item.count("description") == 0 {
            p.push(format!("{what} has neither title nor description"));
        }
        for name in ["title", "link", "description", "guid", "pubDate", "source"] {
            if item.count(name) > 1 {
                p.push(format!("{what} has {} <{name}>", item.count(name)));
            }
        }
        if let Some(l) = item.one("link")
            && !web_url(l.text.trim())
        {
            p.push(format!("{what} link `{}` is not an http(s) URL", l.text));
        }
        if let Some(d) = item.one("pubDate")
            && !rfc822_ok(d.text.trim())
        {
            p.push(format!("{what} pubDate `{}` is not RFC 822", d.text));
        }
        if let Some(g) = item.one("guid") {
            // isPermaLink defaults to true: the guid must then be a URL.
            let perma = g.attr("isPermaLink").unwrap_or("true");
            if !matches!(perma, "true" | "false") {
                p.push(format!("{what} guid isPermaLink=`{perma}`"));
            }
            if perma == "true" && !web_url(g.text.trim()) {
                p.push(format!("{what} permalink guid `{}` is not a URL", g.text));
            }
        }
        if let Some(s) = item.one("source")
            && !s.attr("url").is_some_and(absolute_iri)
        {
            p.push(format!("{what} source has no absolute url"));
        }
        // RSS 2.0: url, length and type are required; one per item is what
        // every reader understands.
        if item.count("enclosure") > 1 {
            p.push(format!(
                "{what} has {} <enclosure>",
                item.count("enclosure")
            ));
        }
        for e in item.all("enclosure") {
            let ok = e.attr("url").is_some_and(web_url)
                && e.attr("length").is_some_and(|l| l.parse::<u64>().is_ok())
                && e.attr("type").is_some_and(|t| t.contains('/'));
            if !ok {
                p.push(format!("{what} enclosure lacks a url, length or type"));
            }
        }
    }
    p
}

fn json_problems(text: &str) -> Vec<String> {
    use serde_json::Value;
    let mut p = Vec::new();
    let feed: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    if feed["version"] != "https://jsonfeed.org/version/1.1" {
        p.push(format!("version is {}", feed["version"]));
    }
    if !feed["title"].is_string() {
        p.push("no title".into());
    }
    for key in ["home_page_url", "feed_url"] {
        if !feed[key].as_str().is_some_and(web_url) {
            p.push(format!("{key} {} is not an http(s) URL", feed[key]));
        }
    }
    let Some(items) = feed["items"].as_array() else {
        p.push("items is not an array".into());
        return p;
    };
    let mut ids = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let what = format!("item {i}");
        match item["id"].as_str() {
            Some(id) if !id.is_empty() => {
                if !ids.insert(id.to_string()) {
                    p.push(format!("{what} repeats id {id}"));
                }
            }
            _ => p.push(format!(
                "{what} id {} is not a non-empty string",
                item["id"]
            )),
        }
        if !item["content_html"].is_string() && !item["content_text"].is_string() {
            p.push(format!("{what} has neither content_html nor content_text"));
        }
        for key in ["url", "external_url"] {
            if !item[key].is_null() && !item[key].as_str().is_some_and(web_url) {
                p.push(format!("{what} {key} {} is not an http(s) URL", item[key]));
            }
        }
        for key in ["date_published", "date_modified"] {
            if !item[key].is_null() && !item[key].as_str().is_some_and(rfc3339_ok) {
                p.push(format!("{what} {key} {} is not RFC 3339", item[key]));
            }
        }
        if !item["author"].is_null() {
            p.push(format!("{what} uses JSON Feed 1.0's `author`"));
        }
        if !item["attachments"].is_null() {
            let ok = item["attachments"].as_array().is_some_and(|a| {
                a.iter().all(|x| {
                    x["url"].as_str().is_some_and(web_url)
                        && x["mime_type"].as_str().is_some_and(|t| t.contains('/'))
                        && (x["size_in_bytes"].is_null() || x["size_in_bytes"].is_u64())
                })
            });
            if !ok {
                p.push(format!(
                    "{what} attachments {} lack a url or mime_type",
                    item["attachments"]
                ));
            }
        }
        if !item["authors"].is_null() {
            let ok = item["authors"].as_array().is_some_and(|a| {
                !a.is_empty()
                    && a.iter().all(|x| {
                        x.is_object() && ["name", "url", "avatar"].iter().any(|k| x[k].is_string())
                    })
            });
            if !ok {
                p.push(format!(
                    "{what} authors {} is not an array of authors",
                    item["authors"]
                ));
            }
        }
        for key in item.as_object().into_iter().flat_map(|o| o.keys()) {
            const KNOWN: &[&str] = &[
                "id",
                "url",
                "external_url",
                "title",
                "content_html",
                "content_text",
                "summary",
                "image",
                "banner_image",
                "date_published",
                "date_modified",
                "authors",
                "tags",
                "language",
                "attachments",
            ];
            if !KNOWN.contains(&key.as_str()) && !key.starts_with('_') {
                p.push(format!(
                    "{what} has unknown key `{key}` (extensions start with _)"
                ));
            }
        }
    }
    p
}

/// `Some(problems)` from `xmllint --relaxng` with RFC 4287's schema; `None` when
/// xmllint is absent on a developer machine (under CI that fails instead).
fn atom_schema_problems(text: &str) -> Option<String> {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/atom.rng");
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("feed.atom");
    std::fs::write(&doc, text).unwrap();
    let out = match std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(&schema)
        .arg(&doc)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "xmllint is missing under CI: .ci/run installs libxml2-utils"
            );
            eprintln!(
                "skipping the Atom schema check: xmllint not installed (apt-get install libxml2-utils)"
            );
            return None;
        }
        Err(e) => panic!("cannot run xmllint: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && stderr.contains("validates") {
        Some(String::new())
    } else {
        Some(stderr)
    }
}

/// Every check of `format` on `text`; panics naming the problems.
fn assert_valid(format: Format, text: &str, what: &str) {
    let problems = match format {
        Format::Atom => {
            let mut p = atom_problems(text);
            if let Some(s) = atom_schema_problems(text)
                && !s.is_empty()
            {
                p.push(format!("RELAX NG: {s}"));
            }
            p
        }
        Format::Rss => rss_problems(text),
        Format::Json => json_problems(text),
        Format::Html => panic!("{what}: the HTML page is no feed format"),
    };
    assert!(
        problems.is_empty(),
        "{what} ({format}) breaks its spec:\n  {}\n--- document ---\n{}",
        problems.join("\n  "),
        &text[..text.len().min(4000)]
    );
}

// ---------------------------------------------------------------------------
// Stories.

/// The feed formats (the HTML page has its own tests: tests/river.rs, tests/browser.rs).
const FEEDS: [Format; 3] = [Format::Atom, Format::Rss, Format::Json];

fn source(url: &str, title: Option<&str>, site: Option<&str>, link: Option<&str>) -> Source {
    Source {
        feed_url: url.into(),
        title: title.map(Into::into),
        site_url: site.map(Into::into),
        link: link.map(Into::into),
    }
}

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn story(uid: &str, title: Option<&str>, link: Option<&str>, html: Option<&str>) -> Story {
    Story {
        id: 0,
        summary: None,
        uid: format!("urn:feedloom:{uid}"),
        link: link.map(Into::into),
        title: title.map(Into::into),
        author: None,
        html: html.map(Into::into),
        published_at: None,
        updated_at: None,
        first_seen_at: T0,
        changed_at: T0,
        source: source(
            "https://feeds.example.org/main.xml",
            Some("Main"),
            None,
            None,
        ),
        also: Vec::new(),
        rest: Vec::new(),
        files_joined: false,
        enclosures: Vec::new(),
    }
}

fn enclosure(url: &str, media_type: Option<&str>, length: Option<u64>) -> Enclosure {
    Enclosure {
        url: url.into(),
        media_type: media_type.map(Into::into),
        length,
    }
}

/// What a podcast's episode carries: the audio with type and size, a transcript
/// without either (a URL whose query needs escaping in XML).
fn episode_files() -> Vec<Enclosure> {
    vec![
        enclosure(
            "https://cdn.example.org/ep/42.mp3",
            Some("audio/mpeg"),
            Some(31_457_280),
        ),
        enclosure(
            "https://cdn.example.org/ep/42.txt?a=1&b=%22x%22",
            None,
            None,
        ),
    ]
}

/// Ordinary and hostile stories, newest first as the store lists them.
fn stories() -> Vec<Story> {
    let long_html = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit. </p>".repeat(4000);
    let long_title = "A very long title ".repeat(200);
    let mut all = vec![
        Story {
            author: Some("Ada <ada@example.org> & Co".into()),
            published_at: Some(T0 - 86_400),
            updated_at: Some(T0 - 3_600),
            first_seen_at: T0 + 500,
            changed_at: T0 + 500,
            source: source(
                "https://news.example.org/rss",
                Some("News & <Views>"),
                Some("https://news.example.org/"),
                Some("https://news.example.org/a/1"),
            ),
            ..story(
                "plain",
                Some("An ordinary story"),
                Some("https://news.example.org/a/1?x=1&y=2"),
                Some("<p>Text with <a href=\"/rel\">a relative link</a>.</p>"),
            )
        },
        // No title, no link, no text: still an entry with an id and a title.
        Story {
            first_seen_at: T0 + 400,
            changed_at: T0 + 400,
            source: source("https://bare.example.org/feed", None, None, None),
            ..story("bare", None, None, None)
        },
        // CJK, with the title taken from the text.
        Story {
            author: Some("山田太郎".into()),
            first_seen_at: T0 + 300,
            // Edited later than anything else was seen: the output changed then.
            changed_at: T0 + 9_000,
            ..story(
                "cjk",
                None,
                Some("https://tokyo.example.jp/記事/1"),
                Some("<p>東京で新しい駅が開業しました。한국어 문장도 있습니다。</p>"),
            )
        },
        Story {
            title: Some(long_title),
            first_seen_at: T0 + 200,
            changed_at: T0 + 200,
            ..story(
                "long",
                None,
                Some("https://long.example.org/"),
                Some(&long_html),
            )
        },
        // Markup, quotes, bidi overrides and control characters; a script.
        Story {
            published_at: Some(4_102_444_800), // claims 2100: must not date the feed
            updated_at: Some(4_102_444_800),
            first_seen_at: T0 + 100,
            changed_at: T0 + 100,
            ..story(
                "hostile",
                Some("<b>Bold</b> & \"quoted\" \u{202E}txet\u{202C} \u{1}\u{1b}bell"),
                Some("https://evil.example.org/p?a=<1>&b=\"2\""),
                Some(
                    "<script>alert(1)</script><p onclick=\"x()\">hi\u{0}</p><img src=\"javascript:alert(2)\">",
                ),
            )
        },
        // Carried by several feeds, one of them a local file.
        Story {
            first_seen_at: T0,
            changed_at: T0,
            also: vec![
                source(
                    "https://b.example.org/feed",
                    Some("B & b"),
                    Some("https://b.example.org/"),
                    Some("https://b.example.org/same"),
                ),
                source("file:///srv/feeds/c.xml", None, None, None),
                source(
                    "https://d.example.org/feed",
                    Some("D"),
                    None,
                    Some("https://d.example.org/x"),
                ),
            ],
            ..story(
                "shared",
                Some("Agency copy"),
                Some("https://a.example.org/same"),
                None,
            )
        },
    ];
    // A podcast's episode.
    all.push(Story {
        first_seen_at: T0 - 50,
        changed_at: T0 - 50,
        enclosures: episode_files(),
        ..story(
            "episode",
            Some("Episode 42"),
            Some("https://pod.example.org/42"),
            Some("<p>Show notes</p>"),
        )
    });
    // A bare story with text but no link.
    all.push(Story {
        first_seen_at: T0 - 100,
        changed_at: T0 - 100,
        ..story(
            "nolink",
            Some("No link, some text"),
            None,
            Some("<p>text</p>"),
        )
    });
    all
}

fn output(cfg: &str) -> OutputConfig {
    config::parse(cfg, Path::new("x.toml")).unwrap().outputs[0].clone()
}

fn render(out: &OutputConfig, stories: Vec<Story>, format: Format) -> (FeedInfo, String) {
    let prepared: Vec<Prepared> = export::prepare(stories);
    let info = export::info_for(out, &prepared);
    let bytes = export::render(format, &info, &prepared);
    (info, String::from_utf8(bytes).expect("UTF-8 output"))
}

// ---------------------------------------------------------------------------
// Tests.

#[test]
fn every_format_meets_its_spec_with_hostile_and_unusual_stories() {
    let configs = [
        "[server]\npublic_url = \"https://news.example.org/feedloom\"\n[[output]]\nname = \"all\"\nlink = \"https://news.example.org/\"\n",
        "[server]\nlisten = \"127.0.0.1:8099\"\n[[output]]\nname = \"asia-news\"\ntitle = \"アジア & <news>\"\n",
        "",
    ];
    for cfg in configs {
        let out = output(cfg);
        for format in FEEDS {
            for set in [stories(), Vec::new(), stories().split_off(5)] {
                let (_, text) = render(&out, set.clone(), format);
                assert_valid(
                    format,
                    &text,
                    &format!("{} stories, config {cfg:?}", set.len()),
                );
            }
        }
    }
}

#[test]
fn self_links_home_pages_and_last_change() {
    let out = output(
        "[server]\npublic_url = \"https://news.example.org/feedloom\"\n[[output]]\nname = \"all\"\n",
    );
    let (info, atom) = render(&out, stories(), Format::Atom);
    // The CJK story's edit is the latest change; the hostile story's claim of 2100 is not.
    assert_eq!(info.updated, T0 + 9_000);
    let feed = parse_xml(&atom);
    assert_eq!(feed.one("updated").unwrap().text, "2026-01-01T02:30:00Z");
    let link = |rel: &str| {
        feed.all("link")
            .find(|l| l.attr("rel") == Some(rel))
            .and_then(|l| l.attr("href").map(String::from))
    };
    assert_eq!(
        link("self").as_deref(),
        Some("https://news.example.org/feedloom/all.atom")
    );
    // Without a `link`, the home page is the output's river page.
    assert_eq!(
        link("alternate").as_deref(),
        Some("https://news.example.org/feedloom/all.html")
    );

    let (_, rss) = render(&out, stories(), Format::Rss);
    let rss = parse_xml(&rss);
    let ch = rss.one("channel").unwrap();
    assert_eq!(
        ch.one("link").unwrap().text,
        "https://news.example.org/feedloom/all.html",
        "the channel link is the river page, never the project's home page"
    );
    assert_eq!(
        ch.one("atom:link").unwrap().attr("href"),
        Some("https://news.example.org/feedloom/all.rss")
    );
    assert_eq!(
        ch.one("lastBuildDate").unwrap().text,
        "Thu, 1 Jan 2026 02:30:00 +0000"
    );

    let (_, json) = render(&out, stories(), Format::Json);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["feed_url"],
        "https://news.example.org/feedloom/all.json"
    );
    assert_eq!(
        json["home_page_url"],
        "https://news.example.org/feedloom/all.html"
    );

    // With a `link` and no public_url: home is the link, self the listen address.
    let out = output(
        "[server]\nlisten = \"127.0.0.1:8099\"\n[[output]]\nname = \"tech\"\nlink = \"https://blog.example.org/\"\n",
    );
    let (_, rss) = render(&out, stories(), Format::Rss);
    let rss = parse_xml(&rss);
    let ch = rss.one("channel").unwrap();
    assert_eq!(ch.one("link").unwrap().text, "https://blog.example.org/");
    assert_eq!(
        ch.one("atom:link").unwrap().attr("href"),
        Some("http://127.0.0.1:8099/tech.rss")
    );
    let (_, json) = render(&out, stories(), Format::Json);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["home_page_url"], "https://blog.example.org/");
    assert_eq!(json["feed_url"], "http://127.0.0.1:8099/tech.json");

    // Without a `link` or a river page (no `html` format): the index page of
    // the outputs, not a river page that answers 404.
    let out = output(
        "[server]\npublic_url = \"https://news.example.org/feedloom\"\n\
         [[output]]\nname = \"wire\"\nformats = [\"atom\", \"rss\", \"json\"]\n",
    );
    let (_, json) = render(&out, stories(), Format::Json);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["home_page_url"], "https://news.example.org/feedloom/");
    let (_, rss) = render(&out, stories(), Format::Rss);
    let rss = parse_xml(&rss);
    assert_eq!(
        rss.one("channel").unwrap().one("link").unwrap().text,
        "https://news.example.org/feedloom/"
    );
}

#[test]
fn rendering_is_deterministic_and_dates_move_only_with_the_stories() {
    let out = output("");
    for format in FEEDS {
        let (_, a) = render(&out, stories(), format);
        let (_, b) = render(&out, stories(), format);
        assert_eq!(a, b, "{format}: same stories, same bytes");
    }
    // A story edited later moves the output's date; one first seen earlier does not.
    let (before, _) = render(&out, stories(), Format::Rss);
    let mut edited = stories();
    edited[3].changed_at = T0 + 20_000;
    let (after, _) = render(&out, edited, Format::Rss);
    assert_eq!((before.updated, after.updated), (T0 + 9_000, T0 + 20_000));
    let mut old = stories();
    old.push(Story {
        first_seen_at: T0 - 1_000_000,
        changed_at: T0 - 1_000_000,
        ..story("old", Some("old"), None, None)
    });
    assert_eq!(render(&out, old, Format::Rss).0.updated, T0 + 9_000);
    // No stories: Atom still has its required (if early) `updated`; RSS omits the optional date.
    let (_, rss) = render(&out, Vec::new(), Format::Rss);
    assert!(!rss.contains("lastBuildDate"), "{rss}");
}

#[test]
fn every_format_reads_back_with_feed_rs() {
    let out = output(
        "[server]\npublic_url = \"https://news.example.org/\"\n[[output]]\nname = \"all\"\n",
    );
    let prepared = export::prepare(stories());
    for format in FEEDS {
        let (info, text) = render(&out, stories(), format);
        let feed = feed_rs::parser::parse(text.as_bytes())
            .unwrap_or_else(|e| panic!("{format}: feed-rs cannot read it: {e}"));
        assert_eq!(feed.entries.len(), prepared.len(), "{format}");
        let self_url = info.self_url(format);
        assert!(
            feed.links.iter().any(|l| l.href == self_url),
            "{format}: self link {self_url} not in {:?}",
            feed.links
        );
        for (p, e) in prepared.iter().zip(&feed.entries) {
            assert_eq!(e.id, p.story.uid, "{format}");
            let title = e
                .title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default();
            let shown = match format {
                // RSS titles are HTML-escaped for readers that take them for HTML.
                // (a plain `&` stays as written).
                Format::Rss => title
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
                _ => title,
            };
            // (Readers trim titles.)
            assert_eq!(
                shown.trim(),
                export::display_title(p).trim(),
                "{format} {}",
                p.story.uid
            );
            let links: Vec<&str> = e.links.iter().map(|l| l.href.as_str()).collect();
            match &p.story.link {
                Some(l) => assert_eq!(links.first(), Some(&l.as_str()), "{format}"),
                None => assert!(
                    !links.iter().any(|h| h.contains("example")) || format == Format::Atom,
                    "{format}: {links:?}"
                ),
            }
        }
    }
}

/// An episode's files reach a subscriber of every format, as feedloom itself
/// reads them back: all of them in Atom and JSON Feed, the first (RSS names
/// one per item) in RSS.
#[test]
fn enclosures_reach_every_format_and_read_back() {
    let out = output(
        "[server]\npublic_url = \"https://news.example.org/\"\n[[output]]\nname = \"all\"\n",
    );
    let base = url::Url::parse("https://news.example.org/all").unwrap();
    for format in FEEDS {
        let (_, text) = render(&out, stories(), format);
        let doc = feedloom::parse::parse(
            text.as_bytes(),
            None,
            &base,
            feedloom::parse::Limits::default(),
        )
        .unwrap();
        let episode = doc
            .entries
            .iter()
            .find(|e| e.title.as_deref() == Some("Episode 42"))
            .unwrap_or_else(|| panic!("{format}: no episode"));
        let want = match format {
            Format::Rss => episode_files()[..1].to_vec(),
            _ => episode_files(),
        };
        // Where the feed said nothing, RSS and JSON Feed must still name a type.
        let read: Vec<Enclosure> = episode
            .enclosures
            .iter()
            .map(|e| Enclosure {
                media_type: e.media_type.clone().filter(|t| t != export::OCTET_STREAM),
                ..e.clone()
            })
            .collect();
        assert_eq!(read, want, "{format}");
        let others = doc.entries.iter().filter(|e| !e.enclosures.is_empty());
        assert_eq!(others.count(), 1, "{format}: only the episode has files");
    }
}

#[test]
fn the_checkers_catch_broken_documents() {
    let out = output("");
    let (_, atom) = render(&out, stories(), Format::Atom);
    let broken = atom.replacen("<id>urn:feedloom:plain</id>", "", 1);
    assert!(atom_problems(&broken).iter().any(|p| p.contains("<id>")));
    if let Some(s) = atom_schema_problems(&broken) {
        assert!(s.contains("fails to validate"), "{s}");
    }
    let two_alternates = atom.replacen(
        "<author>",
        "<link rel=\"alternate\" type=\"text/html\" href=\"https://x.example/\"/><author>",
        1,
    );
    assert!(
        atom_problems(&two_alternates)
            .iter()
            .any(|p| p.contains("two alternate"))
    );
    let bad_date = atom.replacen("<updated>2026-", "<updated>Thu 2026-", 1);
    assert!(
        atom_problems(&bad_date)
            .iter()
            .any(|p| p.contains("RFC 3339"))
    );

    let (_, rss) = render(&out, stories(), Format::Rss);
    let no_link = rss.replacen("<link>http://127.0.0.1:8080/all.html</link>", "", 1);
    assert!(
        rss_problems(&no_link).iter().any(|p| p.contains("<link>")),
        "{no_link}"
    );
    let perma = rss.replacen("isPermaLink=\"false\"", "", 1);
    assert!(
        rss_problems(&perma)
            .iter()
            .any(|p| p.contains("permalink guid"))
    );
    let bad_date = rss.replacen("<pubDate>", "<pubDate>2026-01-01 ", 1);
    assert!(
        rss_problems(&bad_date)
            .iter()
            .any(|p| p.contains("RFC 822"))
    );
    assert!(rss.contains(" type=\"audio/mpeg\"/>"), "{rss}");
    let untyped = rss.replacen(" type=\"audio/mpeg\"/>", "/>", 1);
    assert!(
        rss_problems(&untyped)
            .iter()
            .any(|p| p.contains("enclosure lacks"))
    );
    let two = rss.replacen(
        "<enclosure ",
        "<enclosure url=\"https://x.example/a\" length=\"1\" type=\"a/b\"/><enclosure ",
        1,
    );
    assert!(
        rss_problems(&two)
            .iter()
            .any(|p| p.contains("2 <enclosure>"))
    );

    let (_, json) = render(&out, stories(), Format::Json);
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["items"][0]["id"] = serde_json::json!(7);
    v["items"][1]
        .as_object_mut()
        .unwrap()
        .remove("content_html");
    v["feed_url"] = serde_json::json!("/all.json");
    let episode = v["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| !i["attachments"].is_null())
        .unwrap();
    episode["attachments"][0]
        .as_object_mut()
        .unwrap()
        .remove("mime_type");
    let p = json_problems(&v.to_string());
    assert_eq!(p.len(), 4, "{p:?}");
}

/// The offline example, polled for real: its outputs meet their specs.
#[tokio::test]
async fn offline_example_outputs_meet_their_specs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let conf = dir.path().join("config");
    std::fs::create_dir_all(conf.join("samples")).unwrap();
    for f in std::fs::read_dir(repo.join("config/samples")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), conf.join("samples").join(f.file_name())).unwrap();
    }
    std::fs::copy(
        repo.join("config/example-local.toml"),
        conf.join("example-local.toml"),
    )
    .unwrap();
    let cfg = config::load(&conf.join("example-local.toml")).unwrap();
    let store = feedloom::store::Store::open(&cfg.store.path).unwrap();
    let shared = feedloom::store::SharedStore::new(store);
    feedloom::refresh::poll(&cfg, shared.clone()).await.unwrap();
    let mut entries = 0;
    for out in &cfg.outputs {
        for &format in out.formats.iter().filter(|f| FEEDS.contains(f)) {
            let bytes = shared
                .with(|s| export::render_output(s, out, format, feedloom::now_unix(), None))
                .unwrap();
            let text = String::from_utf8(bytes).unwrap();
            assert_valid(
                format,
                &text,
                &format!("offline example output {}", out.name()),
            );
            entries += feed_rs::parser::parse(text.as_bytes())
                .unwrap()
                .entries
                .len();
        }
    }
    assert!(
        entries > 20,
        "the offline example shows its stories ({entries})"
    );
}

/// Many readers take RSS text for HTML: an item's author and its source
/// feed's title (a hostile feed's words) are escaped as its title is.
#[test]
fn rss_author_and_source_title_are_escaped_like_the_title() {
    let mut s = story("x", Some("T"), Some("https://x.example.org/1"), None);
    // (Text, not HTML: HTML is published as its text.)
    s.author = Some("evil <3 (<script>alert(1)".into());
    s.source.title = Some("Hostile <b>Feed</b>".into());
    let (_, rss) = render(
        &output("[[output]]\nname = \"all\"\n"),
        vec![s],
        Format::Rss,
    );
    assert!(
        rss.contains("<dc:creator>evil &amp;lt;3 (&amp;lt;script&amp;gt;alert(1)</dc:creator>"),
        "{rss}"
    );
    assert!(
        rss.contains("Hostile &amp;lt;b&amp;gt;Feed&amp;lt;/b&amp;gt;</source>"),
        "{rss}"
    );
}

/// Relative URLs in a story's HTML resolve against the base `xml:base` sets
/// for it (on the feed, the entry or the content itself), not the story's
/// link (a proxy's link put a CDN's pictures under the proxy's host); a story
/// without a link resolves them against its feed's URL (they were dropped).
/// Every format shows the same.
#[test]
fn relative_urls_follow_xml_base_and_a_linkless_story_its_feed() {
    let doc = br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://blog.example/">
      <title>b</title>
      <entry><id>1</id><title>One</title><link href="http://feedproxy.example/~r/blog/1"/>
        <content type="html" xml:base="http://cdn.example/media/">&lt;img src="pic.png"&gt;</content>
        <summary type="html">&lt;a href="2026/12/chart.png"&gt;c&lt;/a&gt;</summary></entry>
      <entry xml:base="/2026/"><id>2</id><title>Two</title><link href="http://feedproxy.example/~r/blog/2"/>
        <content type="html">&lt;a href="x.html"&gt;x&lt;/a&gt;</content></entry>
      <entry><id>3</id><title>Three</title><link href="http://blog.example/"/>
        <content type="html">&lt;img src="same.png"&gt;</content></entry>
    </feed>"#;
    let base = url::Url::parse("http://feedproxy.example/feed.atom").unwrap();
    let d = feedloom::parse::parse(doc, None, &base, feedloom::parse::Limits::default()).unwrap();
    assert_eq!(d.entries.len(), 3);
    // Where the base is the link itself, nothing is added.
    assert_eq!(
        d.entries[2].content.as_deref(),
        Some(r#"<img src="same.png">"#)
    );
    let mut stories = Vec::new();
    for (i, e) in d.entries.iter().enumerate() {
        let mut s = story(
            &format!("s{i}"),
            e.title.as_deref(),
            e.link.as_deref(),
            e.content.as_deref(),
        );
        s.summary = e.summary.clone();
        stories.push(s);
    }
    // A story without a link, from a feed at a web address.
    stories.push(story(
        "s3",
        Some("Four"),
        None,
        Some(r#"<img src="/images/graph.png" alt="g"><a href="//cdn.example/x">x</a>"#),
    ));
    let out = output("[[output]]\nname = \"all\"\n");
    for format in [Format::Atom, Format::Rss, Format::Json, Format::Html] {
        let (_, text) = render(&out, stories.clone(), format);
        let text = text
            .replace("\\/", "/")
            .replace("&quot;", "\"")
            .replace("\\\"", "\"");
        for want in [
            "http://cdn.example/media/pic.png",
            "http://blog.example/2026/x.html",
            "http://blog.example/same.png",
            "https://feeds.example.org/images/graph.png",
            "https://cdn.example/x",
        ] {
            assert!(text.contains(want), "{format:?}: {want} not in {text}");
        }
        if matches!(format, Format::Html) {
            assert!(
                text.contains("http://blog.example/2026/12/chart.png"),
                "{text}"
            );
        }
        assert!(
            !text.contains("feedproxy.example/~r/blog/pic.png"),
            "{text}"
        );
        assert!(
            !text.contains("<base") && !text.contains("&lt;base"),
            "{text}"
        );
    }
}

/// A story's own summary beside its content reaches the feeds too (it was on
/// the river page only): Atom `<summary type="html">`, JSON Feed `summary` as
/// plain text.
#[test]
fn a_summary_beside_content_reaches_atom_and_json() {
    let mut s = story(
        "s",
        Some("T"),
        Some("https://e.example/1"),
        Some("<p>The whole text.</p>"),
    );
    s.summary = Some("<p>In <b>short</b> &amp; sweet</p>".into());
    let plain = story(
        "p",
        Some("P"),
        Some("https://e.example/2"),
        Some("<p>No summary.</p>"),
    );
    let out = output("[[output]]\nname = \"all\"\n");
    let (_, atom) = render(&out, vec![s.clone(), plain.clone()], Format::Atom);
    assert_valid(Format::Atom, &atom, "atom with a summary");
    assert_eq!(atom.matches("<summary type=\"html\">").count(), 1, "{atom}");
    assert!(
        atom.contains("&lt;b&gt;short&lt;/b&gt; &amp;amp; sweet"),
        "{atom}"
    );
    let (_, json) = render(&out, vec![s, plain], Format::Json);
    assert_valid(Format::Json, &json, "json with a summary");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["items"][0]["summary"], "In short & sweet", "{json}");
    assert!(v["items"][1].get("summary").is_none(), "{json}");
}
