//! The river page (`/{output}.html`, `{path}.html`) and the index (`/`), through
//! a running daemon on 127.0.0.1: what a reader sees, pages by cursor, times
//! that stay true, and the index's outputs and feed health.

mod common;
#[path = "support/daemon.rs"]
mod daemon;

use std::time::Duration;

use common::*;
use daemon::*;

const FAST: &str = "[fetch]\nhost_gap = \"0s\"\n[defaults]\nspread = \"0s\"\n\n";

/// An RSS item: guid, link, title, pubDate (seconds ago), description, content:encoded.
fn item(
    guid: &str,
    link: &str,
    title: &str,
    ago: i64,
    desc: &str,
    content: Option<&str>,
) -> String {
    let content = content
        .map(|c| format!("<content:encoded><![CDATA[{c}]]></content:encoded>"))
        .unwrap_or_default();
    format!(
        "<item><guid>{guid}</guid><link>{link}</link><title>{title}</title><pubDate>{}</pubDate>\
         <description><![CDATA[{desc}]]></description>{content}</item>\n",
        rfc822_ago(ago)
    )
}

fn channel(title: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\
         <channel><title>{title}</title><link>https://{}.example/</link><description>d</description>\n{}</channel></rss>\n",
        title.to_lowercase().replace(' ', "-"),
        items.concat()
    )
}

fn long_content(paragraphs: usize) -> String {
    (0..paragraphs)
        .map(|i| format!("<p>Paragraph {i} of a long story with several more words in it.</p>"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn river_page_shows_each_story_with_link_time_sources_and_more() {
    let srv = FeedServer::start().await;
    srv.set(
        "/alpha.xml",
        Resource::feed(channel(
            "Alpha News",
            &[
                item(
                    "a1",
                    "https://shared.example/story",
                    "Shared story",
                    300,
                    "<p>Short text.</p>",
                    None,
                ),
                item(
                    "a2",
                    "https://alpha.example/2",
                    "Ben &amp; Jerry's &lt;b&gt;not bold&lt;/b&gt; &lt;div&gt;",
                    7200,
                    "<p>A summary, in short.</p>",
                    Some(&long_content(30)),
                ),
                item(
                    "a3",
                    "https://alpha.example/3",
                    "Long one",
                    3 * 86_400,
                    "",
                    Some(&long_content(30)),
                ),
            ],
        )),
    );
    srv.set(
        "/beta.xml",
        Resource::feed(channel(
            "Beta Wire",
            &[item(
                "b1",
                "https://shared.example/story",
                "Shared story",
                300,
                "<p>Short text.</p>",
                None,
            )],
        )),
    );
    let app = Daemon::start(&format!(
        "{FAST}{}[[output]]\nname = \"all\"\ntitle = \"Everything & more\"\n",
        feeds_toml(&[srv.url("/alpha.xml"), srv.url("/beta.xml")])
    ))
    .await;
    let page = app
        .wait_for_page("/all.html", 20, |b| {
            b.contains("Beta Wire") && story_count(b) == 3
        })
        .await;

    // The same stories, in the same order, as the merged feed.
    let (_, _, json) = app.get("/all.json", &[]).await;
    let feed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let titles: Vec<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    let positions: Vec<usize> = titles
        .iter()
        .map(|t| {
            let escaped = t
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            page.find(&format!(">{escaped}</a></h2>"))
                .unwrap_or_else(|| panic!("{escaped} not on the page:\n{page}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "order differs from the feed: {titles:?}"
    );

    // Titles are text: the markup in a title shows as written, but for the
    // inline formatting tags that wrap part of it (left out).
    assert!(
        page.contains("Ben &amp; Jerry's not bold &lt;div&gt;"),
        "{page}"
    );
    assert!(page.contains("<h1>Everything &amp; more</h1>"));
    // The title links to the story; both feeds are named on the shared story.
    let shared = story_html(&page, "Shared story");
    // Each story takes its direction from its own text (Hebrew, Arabic).
    assert!(shared.contains("dir=\"auto\""), "{shared}");
    assert!(
        shared.contains(
            r#"<h2><a href="https://shared.example/story" rel="noreferrer">Shared story</a></h2>"#
        ),
        "{shared}"
    );
    assert!(
        shared.contains(">Alpha News</a>") && shared.contains(">Beta Wire</a>"),
        "{shared}"
    );
    // Relative time, the absolute one on hover.
    assert!(shared.contains(">5 minutes ago</time>"), "{shared}");
    assert!(
        shared.contains("<time datetime=\"20") && shared.contains("title=\"Published "),
        "{shared}"
    );
    assert!(
        !shared.contains("<details>"),
        "a short story needs no 'more': {shared}"
    );
    // Summary first, the content behind "more".
    let summed = story_html(&page, "not bold");
    assert!(summed.contains(">2 hours ago</time>"), "{summed}");
    assert!(
        summed.contains(
            "<div class=\"body\"><p>A summary, in short.</p></div><details><summary>more</summary>"
        ),
        "{summed}"
    );
    assert!(summed.contains("Paragraph 29 of"), "{summed}");
    // No summary: the first paragraphs, the rest behind "more".
    let long = story_html(&page, "Long one");
    assert!(long.contains(">3 days ago</time>"), "{long}");
    let (lead, rest) = long
        .split_once("<details><summary>more</summary>")
        .expect("a 'more'");
    assert!(
        lead.contains("Paragraph 0 of") && !lead.contains("Paragraph 29 of"),
        "{lead}"
    );
    assert!(
        rest.contains("Paragraph 29 of") && !rest.contains("Paragraph 0 of"),
        "{rest}"
    );

    // Readers can subscribe from the page: alternate links to the output's feeds, which answer.
    for (ty, href) in [
        ("application/atom+xml", "all.atom"),
        ("application/rss+xml", "all.rss"),
        ("application/feed+json", "all.json"),
    ] {
        assert!(
            page.contains(&format!(
                r#"<link rel="alternate" type="{ty}" title="Everything &amp; more ("#
            )) && page.contains(&format!(r#"href="{href}">"#)),
            "{ty}"
        );
        assert_eq!(app.get(&format!("/{href}"), &[]).await.0, 200);
    }
    // Served like the feeds: from memory, with ETag/304, gzip, and the strict policy.
    let (status, h, _) = app.get("/all.html", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("style-src 'sha256-")
            && csp.contains("sandbox")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(page.contains(&format!("content=\"{}\"", feedloom::web::META_CSP)));
    let etag = h["etag"].to_str().unwrap().to_string();
    assert_eq!(
        app.get("/all.html", &[("if-none-match", &etag)]).await.0,
        304
    );
    let (_, h, _) = app.get("/all.html", &[("accept-encoding", "gzip")]).await;
    assert_eq!(h["content-encoding"], "gzip");
    // Nothing to page to: every story fits.
    assert!(
        !page.contains("before="),
        "no older page with 3 of 100 stories"
    );
    app.stop().await;
}

/// The `<article>` of the story whose title contains `title`.
fn story_html<'a>(page: &'a str, title: &str) -> &'a str {
    page.split("<article class=\"story\"")
        .find(|a| a.split("</h2>").next().unwrap_or("").contains(title))
        .unwrap_or_else(|| panic!("no story {title:?}"))
}

/// The `href` of the page's "Older stories" link.
fn older_link(page: &str) -> Option<String> {
    let at = page.find(r#"" rel="next">Older stories"#)?;
    let start = page[..at].rfind("href=\"")? + 6;
    Some(page[start..at].replace("&amp;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_pages_by_cursor_walk_every_story_once() {
    let srv = FeedServer::start().await;
    let items = |range: std::ops::Range<i64>| -> Vec<String> {
        range
            .map(|i| {
                item(
                    &format!("g{i}"),
                    &format!("https://e.example/{i}"),
                    &format!("Story {i}"),
                    1000 - i,
                    "<p>x</p>",
                    None,
                )
            })
            .collect()
    };
    srv.set("/f.xml", Resource::feed(channel("Feed", &items(0..8))));
    let app = Daemon::start(&format!(
        "{FAST}[[feed]]\nurl = \"{}\"\nevery = \"1s\"\n[[output]]\nname = \"all\"\nmax_items = 3\n",
        srv.url("/f.xml")
    ))
    .await;
    let first = app
        .wait_for_page("/all.html", 20, |b| story_count(b) == 3)
        .await;
    let next = older_link(&first).expect("page 1 links to older stories");
    assert!(next.starts_with("?before="), "{next}");

    // New stories arrive after page 1 was read: page 2 still starts where page 1 ended.
    srv.set("/f.xml", Resource::feed(channel("Feed", &items(0..11))));
    let env_count = || app.env.try_count("SELECT count(*) FROM items").unwrap_or(0);
    for _ in 0..100 {
        if env_count() == 11 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(env_count(), 11);

    let mut seen = story_ids(&first);
    let mut link = Some(next);
    let mut pages = 1;
    while let Some(l) = link {
        let (status, h, page) = app.get(&format!("/all.html{l}"), &[]).await;
        assert_eq!(status, 200, "{l}: {page}");
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert!(h.contains_key("content-security-policy"));
        assert!(
            page.contains("href=\"all.html\">← Newest stories</a>"),
            "{page}"
        );
        seen.extend(story_ids(&page));
        link = older_link(&page);
        pages += 1;
        assert!(pages < 10, "pages never end");
    }
    // The first 8 stories, newest first, each once, in 3 pages (3 + 3 + 2).
    let want: Vec<String> = app
        .env
        .reader()
        .prepare("SELECT uid FROM stories WHERE uid IN (SELECT uid FROM items WHERE guid IN ('g0','g1','g2','g3','g4','g5','g6','g7')) ORDER BY first_seen_at DESC, id DESC")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|u| format!("s-{}", u.unwrap().rsplit(':').next().unwrap()))
        .collect();
    assert_eq!(want.len(), 8);
    assert_eq!(seen, want);
    assert_eq!(pages, 3);

    // A cursor that is not one: 400 naming it; an unknown output: 404; feeds ignore it.
    for bad in ["yesterday", "12", "1-x", "-5-3", ""] {
        let (status, _, body) = app.get(&format!("/all.html?before={bad}"), &[]).await;
        assert_eq!(status, 400, "{bad:?}");
        assert!(
            body.contains(&format!("bad `before` value {bad:?}")),
            "{body}"
        );
    }
    assert_eq!(app.get("/nope.html?before=1-1", &[]).await.0, 404);
    // `before` twice or misspelt is refused, as `/search` refuses its own
    // (the first won, or the first page came back); a link's other
    // parameters are left alone.
    for (query, want) in [
        ("?before=1-1&before=2-2", "`before` given more than once"),
        (
            "?Before=1-1",
            "unknown parameter `Before` (did you mean `before`?)",
        ),
        (
            "?befor=1-1",
            "unknown parameter `befor` (did you mean `before`?)",
        ),
    ] {
        let (status, _, body) = app.get(&format!("/all.html{query}"), &[]).await;
        assert_eq!((status, body.trim_end()), (400, want), "{query}");
    }
    assert_eq!(app.get("/all.html?utm_source=x", &[]).await.0, 200);
    // Another page's paging is refused, saying how this one pages (`?limit=5`
    // and `?page=2` gave the whole first page without a word).
    for query in ["?limit=5", "?page=2", "?q=x"] {
        let (status, _, body) = app.get(&format!("/all.html{query}"), &[]).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body.starts_with("the river page takes no `") && body.contains("`before=`"),
            "{query}: {body}"
        );
    }
    let (status, h, _) = app.get("/all.atom?before=1-1", &[]).await;
    assert_eq!(
        (status, h["content-type"].to_str().unwrap()),
        (200, "application/atom+xml; charset=utf-8")
    );
    app.stop().await;
}

/// An output with a `window` drops a story once it is older than the window,
/// with no change in the store: its served feed and its files are rendered
/// again when the oldest story shown leaves. Before, the daemon kept
/// publishing it until something else changed (never, while feeds answered 304).
/// A page after the first holds at most 2 MiB of story text: long stories
/// go on to the next page, and walking the pages still shows each story
/// once. (A page of long stories was 50 MB, and a few requests for one
/// took seconds of CPU each.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_pages_of_long_stories_are_cut_by_size() {
    // Words of its own for each story (identical texts would be one story).
    let text = |seed: u64| -> String {
        const WORDS: [&str; 16] = [
            "harbour", "ferry", "council", "budget", "river", "school", "bridge", "market",
            "railway", "festival", "library", "museum", "garden", "station", "tower", "square",
        ];
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut out = String::new();
        while out.len() < 240 * 1024 {
            out.push_str("<p>");
            for _ in 0..12 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                out.push_str(WORDS[(x >> 60) as usize]);
                out.push_str(&format!("{} ", (x >> 40) % 1000));
            }
            out.push_str("</p>");
        }
        out
    };
    let items: Vec<String> = (0..18)
        .map(|i| {
            item(
                &format!("g{i}"),
                &format!("https://e.example/{i}"),
                &format!("Long story {i}"),
                1000 - i,
                "<p>x</p>",
                Some(&text(i as u64)),
            )
        })
        .collect();
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(channel("Feed", &items)));
    let app = Daemon::start(&format!(
        "{FAST}[[feed]]\nurl = \"{}\"\n[[output]]\nname = \"all\"\nmax_items = 9\n",
        srv.url("/f.xml")
    ))
    .await;
    let first = app
        .wait_for_page("/all.html", 30, |b| story_count(b) == 9)
        .await;
    let mut seen = story_ids(&first);
    let mut link = older_link(&first);
    let mut counts = Vec::new();
    while let Some(l) = link {
        let (status, _, page) = app.get(&format!("/all.html{l}"), &[]).await;
        assert_eq!(status, 200, "{l}");
        counts.push(story_count(&page));
        seen.extend(story_ids(&page));
        link = older_link(&page);
        assert!(counts.len() < 10, "pages never end");
    }
    // 240 KB each: eight fit in 2 MiB.
    assert_eq!(counts, [8, 1], "stories per page after the first");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (18, 18), "each story once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_leaves_an_output_when_it_leaves_its_window() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(channel(
            "Feed",
            &[item(
                "g",
                "https://e.example/1",
                "Brief",
                5,
                "<p>x</p>",
                None,
            )],
        )),
    );
    let app = Daemon::start(&format!(
        "{FAST}{}\n[[output]]\nname = \"recent\"\nwindow = \"3s\"\nformats = [\"json\"]\npath = \"out/recent\"\n",
        feeds_toml(&[srv.url("/f.xml")])
    ))
    .await;
    let shown = |b: &str| {
        serde_json::from_str::<serde_json::Value>(b).unwrap()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    app.wait_for_page("/recent.json", 20, |b| shown(b) == 1)
        .await;
    app.wait_for_page("/recent.json", 15, |b| shown(b) == 0)
        .await;
    let file = std::fs::read_to_string(app.env.path("out/recent.json")).unwrap();
    assert_eq!(shown(&file), 0, "{file}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_times_turn_over_without_any_new_story() {
    let srv = FeedServer::start().await;
    // Published 55 s ago: "just now" for about 5 more seconds, then "1 minute ago".
    srv.set(
        "/f.xml",
        Resource::feed(channel(
            "Feed",
            &[item(
                "g",
                "https://e.example/1",
                "Fresh",
                55,
                "<p>x</p>",
                None,
            )],
        )),
    );
    let app = Daemon::start(&format!("{FAST}{}", feeds_toml(&[srv.url("/f.xml")]))).await;
    let page = app
        .wait_for_page("/all.html", 20, |b| story_count(b) == 1)
        .await;
    let stored = app.env.count("SELECT count(*) FROM items");
    if page.contains(">just now</time>") {
        let (_, h, _) = app.get("/all.html", &[]).await;
        let etag = h["etag"].clone();
        let later = app
            .wait_for_page("/all.html", 15, |b| b.contains(">1 minute ago</time>"))
            .await;
        assert_eq!(story_count(&later), 1);
        let (_, h, _) = app.get("/all.html", &[]).await;
        assert_ne!(h["etag"], etag, "new bytes, new ETag");
    } else {
        // A slow start: the first rendering already came after the minute.
        assert!(page.contains(">1 minute ago</time>"), "{page}");
    }
    assert_eq!(
        app.env.count("SELECT count(*) FROM items"),
        stored,
        "no store change"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_lists_outputs_and_feed_health_as_html_or_json() {
    let srv = FeedServer::start().await;
    srv.set(
        "/ok.xml",
        Resource::feed(channel(
            "Fine Feed",
            &[item("g", "https://e.example/1", "One", 60, "x", None)],
        )),
    );
    srv.set("/broken.xml", Resource::status(500));
    srv.set("/gone.xml", Resource::status(410));
    srv.set(
        "/slow.xml",
        Resource::feed(channel("Slow", &[])).delay(Duration::from_secs(60)),
    );
    let app = Daemon::start(&format!(
        "{FAST}{}[[output]]\nname = \"all\"\ntitle = \"Everything <here>\"\n\n\
         [[output]]\nname = \"feeds-only\"\nformats = [\"atom\", \"json\"]\n",
        feeds_toml(&[
            srv.url("/ok.xml"),
            srv.url("/broken.xml"),
            srv.url("/gone.xml"),
            srv.url("/slow.xml")
        ])
    ))
    .await;
    let settled = |b: &str| {
        b.contains("\"ok\": 1") && b.contains("\"failing\": 1") && b.contains("\"disabled\": 1")
    };
    let end = std::time::Instant::now() + Duration::from_secs(20);
    let json = loop {
        let (status, h, body) = app.get("/", &[("accept", "application/json")]).await;
        assert_eq!(status, 200);
        assert_eq!(h["content-type"], "application/json");
        if settled(&body) {
            break body;
        }
        assert!(std::time::Instant::now() < end, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["feeds"],
        serde_json::json!({"total": 4, "ok": 1, "failing": 1, "disabled": 1, "never_fetched": 1})
    );
    assert_eq!(v["outputs"][0]["name"], "all");
    assert_eq!(v["outputs"][0]["title"], "Everything <here>");
    // Relative to the index (feedloom may be served under a path).
    assert_eq!(v["outputs"][0]["page"], "all.html");
    assert_eq!(v["outputs"][0]["feeds"]["atom"], "all.atom");
    assert_eq!(v["outputs"][1]["page"], serde_json::Value::Null);
    assert_eq!(
        v["outputs"][1]["feeds"],
        serde_json::json!({"atom": "feeds-only.atom", "json": "feeds-only.json"})
    );
    let worst = v["worst"].as_array().unwrap();
    assert_eq!(worst.len(), 2, "{worst:?}");
    let broken = worst
        .iter()
        .find(|w| w["url"] == srv.url("/broken.xml"))
        .unwrap();
    assert_eq!(broken["state"], "failing");
    assert_eq!(broken["last_http_status"], 500);
    assert!(
        broken["last_error"].as_str().unwrap().contains("500"),
        "{broken}"
    );
    assert!(broken["next_fetch_at"].as_str().is_some());
    let gone = worst
        .iter()
        .find(|w| w["url"] == srv.url("/gone.xml"))
        .unwrap();
    assert_eq!(gone["state"], "disabled");
    // Every link the index gives answers.
    for o in v["outputs"].as_array().unwrap() {
        for link in o["feeds"]
            .as_object()
            .unwrap()
            .values()
            .chain(o.get("page").filter(|p| !p.is_null()))
        {
            let path = format!("/{}", link.as_str().unwrap());
            assert_eq!(app.get(&path, &[]).await.0, 200, "{link}");
        }
    }
    // No link of the pages leaves the path feedloom is served under (a
    // proxy's `/feedloom/`, `public_url`): "/search" did.
    for page in ["/", "/all.html"] {
        let (_, _, body) = app.get(page, &[]).await;
        assert!(body.contains("href=\"search"), "{page}: {body}");
        assert!(!body.contains("href=\"/"), "{page}: {body}");
    }

    // A browser gets HTML: the same, readable.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let (status, h, page) = app.get("/", &[("accept", browser)]).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["vary"], "Accept");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(
        page.contains(r#"<a href="all.html"><strong>Everything &lt;here&gt;</strong></a>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"href="feeds-only.atom""#) && !page.contains("feeds-only.html"),
        "{page}"
    );
    for want in [
        "1 ok",
        "1 failing",
        "1 disabled",
        "1 never fetched",
        "HTTP 500",
        "feedloom enable URL",
    ] {
        assert!(page.contains(want), "{want} not in {page}");
    }
    // (The counts' line can break between them: it did not wrap, and a
    // phone's page scrolled sideways.)
    assert!(
        page.contains(r#" configured:</span> <span class="ok">"#)
            && page.contains(r#" disabled</span> <span class="never">"#),
        "{page}"
    );
    assert!(page.contains(&srv.url("/broken.xml")));
    // No Accept at all: HTML.
    assert_eq!(
        app.get("/", &[]).await.1["content-type"],
        "text/html; charset=utf-8"
    );
    app.stop().await;
}

#[test]
fn the_page_file_has_absolute_times_and_export_prints_it() {
    let env = TestEnv::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let srv = rt.block_on(FeedServer::start());
    srv.set(
        "/f.xml",
        Resource::feed(channel(
            "Feed",
            &[item(
                "g",
                "https://e.example/1",
                "Filed &lt;story&gt;",
                600,
                "<p>Body.</p>",
                None,
            )],
        )),
    );
    let cfg_text = format!(
        "{}[[output]]\nname = \"all\"\npath = \"out/river\"\n",
        feeds_toml(&[srv.url("/f.xml")])
    );
    env.config(&cfg_text);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(env.path("feedloom.toml"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let summary = run(&["poll"]);
    assert!(summary.contains("1 new"), "{summary}");
    let file = read(&env.path("out/river.html"));
    assert_eq!(story_count(&file), 1, "{file}");
    assert!(file.contains("Filed &lt;story&gt;"));
    assert!(
        !file.contains(" ago</time>") && file.contains(" UTC</time>"),
        "{file}"
    );
    // Feed links point at the files beside it.
    assert!(file.contains(r#"href="river.atom""#) && env.path("out/river.atom").exists());
    assert!(!file.contains("before="));
    // `export --format html` prints the same page, and writes nothing.
    let before = std::fs::read_dir(env.path("out")).unwrap().count();
    assert_eq!(run(&["export", "--format", "html"]), file);
    assert_eq!(std::fs::read_dir(env.path("out")).unwrap().count(), before);
}

/// Pages by cursor give the whole list in every output order: one story per
/// entry or one per item, by first-seen or by changed time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pages_cover_every_order_exactly() {
    use feedloom::config::{Dedup, Updates};
    use feedloom::store::queries::Cursor;
    let srv = FeedServer::start().await;
    let entries = |prefix: &str, n: i64| -> Vec<String> {
        (0..n)
            .map(|i| {
                // Every third story is in both feeds (same link).
                let link = if i % 3 == 0 {
                    format!("https://shared.example/{i}")
                } else {
                    format!("https://{prefix}.example/{i}")
                };
                item(
                    &format!("{prefix}{i}"),
                    &link,
                    &format!("Story {prefix}{i}"),
                    100 + i,
                    "<p>x</p>",
                    None,
                )
            })
            .collect()
    };
    srv.set("/a.xml", Resource::feed(channel("A", &entries("a", 13))));
    srv.set("/b.xml", Resource::feed(channel("B", &entries("b", 7))));
    let env = TestEnv::new();
    let cfg = env.config(&feeds_toml(&[srv.url("/a.xml"), srv.url("/b.xml")]));
    let store = env.open_store();
    feedloom::refresh::poll(&cfg, store.clone()).await.unwrap();
    // Some stories change later, for the `reannounce` order.
    srv.set(
        "/b.xml",
        Resource::feed(channel("B", &entries("b", 7)).replace("<p>x</p>", "<p>edited</p>")),
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    feedloom::refresh::poll(&cfg, store.clone()).await.unwrap();

    let mut out = cfg.outputs[0].clone();
    for dedup in [Dedup::Story, Dedup::Item] {
        for updates in [Updates::Ignore, Updates::Reannounce] {
            out.dedup = dedup;
            out.updates = updates;
            let now = feedloom::now_unix();
            let all = store
                .with(|s| s.stories(&feedloom::export::query_for(&out, now, Some(1000))))
                .unwrap();
            let want: Vec<String> = all.iter().map(|s| s.uid.clone()).collect();
            assert!(want.len() >= 15, "{dedup:?}/{updates:?}: {}", want.len());
            for size in [1, 4, 7] {
                let mut got = Vec::new();
                let mut before: Option<Cursor> = None;
                loop {
                    let mut q = feedloom::export::query_for(&out, now, Some(size));
                    q.before = before;
                    let page = store.with(|s| s.stories(&q)).unwrap();
                    got.extend(page.iter().map(|s| s.uid.clone()));
                    match page.last() {
                        Some(last) if page.len() == size => {
                            before = Some(Cursor::after(last, updates))
                        }
                        _ => break,
                    }
                    assert!(
                        got.len() <= want.len(),
                        "{dedup:?}/{updates:?}/{size}: pages never end"
                    );
                }
                assert_eq!(got, want, "{dedup:?}/{updates:?} in pages of {size}");
            }
        }
    }
}
