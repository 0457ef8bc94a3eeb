//! Hostile input, what we publish: feeds whose links, bases and titles try to
//! smuggle script URLs or spoofed text into every output. Driven through a real
//! local feed server, `poll` and `export`; each output is then read back and
//! every URL it holds is checked.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use feedloom::config::Format;
use feedloom::export;
use feedloom::refresh::poll;

const HOSTILE_RSS: &str = r##"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile RSS</title><link>javascript:alert('site')</link><description>d</description>
<item><guid isPermaLink="false">r1</guid><link>javascript:alert(1)</link><title>Plain javascript link</title><description>&lt;p&gt;one &lt;a href="foo"&gt;relative one&lt;/a&gt;&lt;/p&gt;</description></item>
<item><guid isPermaLink="false">r2</guid><link> JaVaScRiPt:alert(2)</link><title>Mixed case and a space</title><description>two</description></item>
<item><guid isPermaLink="false">r3</guid><link>java&#9;script:alert(3)</link><title>A tab inside</title><description>three</description></item>
<item><guid isPermaLink="false">r4</guid><link>vbscript:msgbox(4)</link><title>VBScript</title><description>four</description></item>
<item><guid isPermaLink="false">r5</guid><link>data:text/html,&lt;script&gt;alert(5)&lt;/script&gt;</link><title>A data URL</title><description>five</description></item>
<item><guid isPermaLink="false">r6</guid><link>javascript://x/%0aalert(6)//</link><title>A script URL as base</title><description>&lt;a href="foo"&gt;six foo&lt;/a&gt; &lt;img src="bar.png"&gt;</description></item>
<item><guid isPermaLink="false">r7</guid><link>https://good.example/post/7</link><title>&lt;div&gt;bold&lt;/div&gt; &amp; &#x202E;gnp.exe</title><description>&lt;a href="//cdn.example/x"&gt;proto&lt;/a&gt; &lt;a href="rel/8"&gt;rel&lt;/a&gt; &lt;img src="javascript:alert(7)"&gt; &lt;a href="&amp;#106;avascript:alert(7)"&gt;entity&lt;/a&gt; &lt;a href="#note"&gt;note&lt;/a&gt;</description></item>
<item><guid isPermaLink="false">r8</guid><link>https://good.example/shared</link><title>Shared story</title><description>shared text</description></item>
</channel></rss>
"##;

const HOSTILE_ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Hostile Atom</title><id>urn:hostile</id><updated>2024-01-01T00:00:00Z</updated>
<link rel="alternate" href="vbscript:msgbox('site')"/>
<entry xml:base="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"><id>urn:a:1</id><title>Data base</title><link href="foo"/><updated>2024-01-02T00:00:00Z</updated>
<content type="html">&lt;a href="bar"&gt;data-based bar&lt;/a&gt;</content></entry>
<entry xml:base="javascript://x/%0aalert(2)//"><id>urn:a:2</id><title>Script base</title><link href="foo"/><updated>2024-01-02T00:00:00Z</updated>
<content type="html">&lt;a href="baz"&gt;script-based baz&lt;/a&gt; &lt;img srcset="a.png 1x, b.png 2x"&gt;</content></entry>
<entry><id>urn:a:3</id><title>Shared story</title><link href="https://good.example/shared"/><updated>2024-01-02T00:00:00Z</updated>
<content type="html">shared text</content></entry>
</feed>
"#;

const HOSTILE_JSON: &str = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Hostile JSON","home_page_url":" javascript:alert('home')",
"items":[
 {"id":"j1","url":"\u0001javascript:alert(1)","title":"Control character first","content_html":"<a href=\"\u0001javascript:alert(2)\">ctl</a>"},
 {"id":"j2","url":"https://good.example/j2","title":"Fine \u2067isolate","content_html":"<a href=\"java\tscript:alert(3)\">tab</a> <video poster=\"javascript:alert(4)\" src=\"/v.mp4\"></video> <img src=\"/i.png\"> <blockquote cite=\"vbscript:x\">q</blockquote>"}
]}
"#;

/// Whether `u` is an absolute http(s) URL.
fn web(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// XML/HTML character references and the five named entities, decoded.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|e| *e < 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            n if n.starts_with("#x") || n.starts_with("#X") => u32::from_str_radix(&n[2..], 16)
                .ok()
                .and_then(char::from_u32),
            n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `name="value"` pairs of markup (values unescaped).
fn attributes(markup: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = markup;
    while let Some(i) = rest.find("=\"") {
        let name = rest[..i]
            .rsplit(|c: char| c.is_whitespace() || c == '<')
            .next()
            .unwrap_or("")
            .to_string();
        let after = &rest[i + 2..];
        let Some(end) = after.find('"') else { break };
        out.push((name, unescape(&after[..end])));
        rest = &after[end + 1..];
    }
    out
}

/// Attributes that hold URLs, in XML and in HTML.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "url",
    "uri",
    "srcset",
    "cite",
    "poster",
    "action",
    "formaction",
    "data",
    "ping",
    "background",
    "longdesc",
    "xlink:href",
];

/// Every URL in HTML: each must be http(s), or a `#fragment` or `mailto:` link.
fn check_html(html: &str, what: &str) -> usize {
    let mut n = 0;
    for (name, value) in attributes(html) {
        if !URL_ATTRS.contains(&name.as_str()) {
            continue;
        }
        let urls: Vec<&str> = if name == "srcset" {
            value
                .split(',')
                .filter_map(|c| c.split_whitespace().next())
                .collect()
        } else {
            vec![value.as_str()]
        };
        for u in urls {
            assert!(
                web(u) || u.starts_with('#') || u.starts_with("mailto:"),
                "{what}: {name}={u:?} in {html}"
            );
            n += 1;
        }
    }
    n
}

/// No script or document URL anywhere, however written: after decoding
/// references twice (HTML inside XML), without spaces and controls, in lower case.
fn no_script_anywhere(text: &str, what: &str) {
    let flat: String = unescape(&unescape(text))
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    for bad in ["javascript:", "vbscript:", "data:"] {
        assert!(!flat.contains(bad), "{what} contains {bad}: {text}");
    }
}

/// Every URL of an Atom or RSS document: attributes, `<link>` texts, and the
/// URLs inside escaped HTML. Returns how many it checked.
fn check_xml(doc: &str, what: &str) -> usize {
    no_script_anywhere(doc, what);
    let mut n = 0;
    // Attributes of the document itself (escaped HTML has no bare quotes).
    for (name, value) in attributes(doc) {
        if URL_ATTRS.contains(&name.as_str()) {
            assert!(web(&value), "{what}: {name}={value:?}");
            n += 1;
        }
    }
    // RSS <link>TEXT</link>.
    for part in doc.split("<link>").skip(1) {
        let text = unescape(&part[..part.find("</link>").unwrap()]);
        assert!(web(&text), "{what}: <link>{text:?}");
        n += 1;
    }
    // HTML carried as text.
    for part in doc.split('>').map(|p| p.split('<').next().unwrap_or("")) {
        n += check_html(&unescape(part), what);
    }
    n
}

fn check_json(v: &serde_json::Value, what: &str) -> usize {
    use serde_json::Value;
    let mut n = 0;
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    (
                        "url" | "home_page_url" | "feed_url" | "external_url" | "image"
                        | "banner_image" | "icon" | "favicon",
                        Value::String(u),
                    ) => {
                        assert!(web(u), "{what}: {k}={u:?}");
                        n += 1;
                    }
                    ("content_html", Value::String(h)) => n += check_html(h, what),
                    _ => n += check_json(v, what),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| n += check_json(v, what)),
        Value::String(s) => no_script_anywhere(s, what),
        _ => {}
    }
    n
}

/// Checks the three renderings; returns them (atom, rss, json).
fn check_all(atom: &str, rss: &str, json: &str) -> (String, String, serde_json::Value) {
    assert!(check_xml(atom, "atom") > 10);
    assert!(check_xml(rss, "rss") > 10);
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert!(check_json(&v, "json") > 10);
    for text in [atom, rss, json] {
        for bidi in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2069}'] {
            assert!(!text.contains(bidi), "bidi control {bidi:?} published");
        }
    }
    (atom.to_string(), rss.to_string(), v)
}

fn rendered(env: &TestEnv, cfg: &feedloom::config::Config, format: Format) -> String {
    let out = cfg.outputs[0].clone();
    let bytes = env
        .open_store()
        .with(|s| export::render_output(s, &out, format, feedloom::now_unix(), None))
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_publishes_a_script_url_and_no_story_is_lost() {
    let srv = FeedServer::start().await;
    srv.set("/h.rss", Resource::feed(HOSTILE_RSS));
    srv.set(
        "/h.atom",
        Resource::feed(HOSTILE_ATOM).content_type("application/atom+xml"),
    );
    srv.set(
        "/h.json",
        Resource::feed(HOSTILE_JSON).content_type("application/feed+json"),
    );
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "{}[[output]]\nname = \"all\"\npath = \"out/all\"\n",
        feeds_toml(&[srv.url("/h.rss"), srv.url("/h.atom"), srv.url("/h.json")])
    ));
    let summary = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((summary.ok, summary.failed), (3, 0), "{summary:?}");

    // The files poll wrote.
    let (atom, rss, json) = check_all(
        &read(&env.path("out/all.atom")),
        &read(&env.path("out/all.rss")),
        &read(&env.path("out/all.json")),
    );
    // Nothing lost: every story is published, minus its bad link.
    let stories = env.count("SELECT count(*) FROM stories");
    assert_eq!(stories, 12, "8 + 3 + 2 entries, one story shared");
    assert_eq!(atom.matches("<entry>").count() as i64, stories);
    assert_eq!(rss.matches("<item>").count() as i64, stories);
    assert_eq!(json["items"].as_array().unwrap().len() as i64, stories);
    for title in [
        "Plain javascript link",
        "A tab inside",
        "A data URL",
        "Data base",
        "Control character first",
    ] {
        assert!(atom.contains(title) && rss.contains(title), "{title}");
    }
    // Relative URLs: resolved against an http(s) link, never against a
    // script or data base (their text stays); a story whose link was
    // refused has them resolved against its feed's URL.
    assert!(atom.contains("https://cdn.example/x"), "{atom}");
    assert!(atom.contains("https://good.example/post/rel/8"), "{atom}");
    assert!(atom.contains("https://good.example/post/7#note"), "{atom}");
    assert!(atom.contains("six foo") && atom.contains("script-based baz"));
    assert!(!atom.contains("href=\"foo\""), "{atom}");
    assert!(atom.contains(&srv.url("/bar.png")), "{atom}");
    assert!(atom.contains(&srv.url("/baz")), "{atom}");
    // Against the good link a relative image resolves; the shared story names both feeds.
    let j2 = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["url"] == "https://good.example/j2")
        .unwrap();
    assert!(
        j2["content_html"]
            .as_str()
            .unwrap()
            .contains("src=\"https://good.example/i.png\""),
        "{j2}"
    );
    assert_eq!(j2["title"], "Fine isolate");
    assert!(atom.contains("rel=\"via\""));
    assert!(rss.contains("Also in:"));

    // RSS titles read as HTML show the markup as text (a block's tags; an
    // inline formatting tag's are left out); Atom says type="text".
    assert!(
        rss.contains("<title>&amp;lt;div&amp;gt;bold&amp;lt;/div&amp;gt; &amp; gnp.exe</title>"),
        "{rss}"
    );
    assert!(
        atom.contains("<title type=\"text\">&lt;div&gt;bold&lt;/div&gt; &amp; gnp.exe</title>"),
        "{atom}"
    );
    let titles: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(titles.contains(&"<div>bold</div> & gnp.exe"), "{titles:?}");

    // Whatever wrote the store, `export` publishes no script URL: rows edited
    // behind feedloom's back to every disguise.
    let db = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    for (guid, url) in [
        ("r1", "\u{1}javascript:alert(11)"),
        ("r2", " JaVaScRiPt:alert(12)"),
        ("r3", "java\tscript:alert(13)"),
        ("r4", "VBSCRIPT:msgbox(14)"),
        ("r5", "\u{0}data:text/html,<script>alert(15)</script>"),
        ("urn:a:3", "javascript:alert(16)"),
    ] {
        let n = db
            .execute("UPDATE items SET url = ?1 WHERE guid = ?2", [url, guid])
            .unwrap();
        assert_eq!(n, 1, "{guid}");
    }
    db.execute(
        "UPDATE feeds SET site_url = 'java\tscript:alert(17)', feed_title = 'Bidi\u{202E} feed'",
        [],
    )
    .unwrap();
    drop(db);
    let (atom, rss, _) = check_all(
        &rendered(&env, &cfg, Format::Atom),
        &rendered(&env, &cfg, Format::Rss),
        &rendered(&env, &cfg, Format::Json),
    );
    assert_eq!(atom.matches("<entry>").count() as i64, stories);
    assert_eq!(rss.matches("<item>").count() as i64, stories);
}

/// Terminal escapes and noncharacters in an author, a title and a feed's
/// name: Atom and RSS dropped them, the JSON Feed and the HTML page carried
/// them (`curl …/all.html` in a terminal ran the escape).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_carries_control_characters_in_names() {
    let srv = FeedServer::start().await;
    let doc = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Name&#xFFFE; &#x9B;1m feed</title><link>https://n.example/</link><description>d</description>
<item><guid>c1</guid><link>https://n.example/1</link><title>Title &#xFFFF;here &#x9B;31m</title><dc:creator>Ann &#x9B;2J&#x85; &#xFFFE;Lee</dc:creator><description>text</description></item>
</channel></rss>
"#
    .replace("&#x9B;", "\u{9b}");
    srv.set("/n.rss", Resource::feed(doc));
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "{}[[output]]\nname = \"all\"\n",
        feeds_toml(&[srv.url("/n.rss")])
    ));
    let summary = poll(&cfg, env.open_store()).await.unwrap().0;
    assert_eq!((summary.ok, summary.new), (1, 1), "{summary:?}");
    for format in [Format::Json, Format::Html, Format::Atom, Format::Rss] {
        let text = rendered(&env, &cfg, format);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| {
                (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                    || matches!(c, '\u{FFFE}' | '\u{FFFF}')
            })
            .collect();
        assert!(bad.is_empty(), "{format:?}: {bad:?} in {text}");
        assert!(
            text.contains("Ann 2J") && text.contains(" Lee"),
            "{format:?}: {text}"
        );
        assert!(text.contains("Title here "), "{format:?}: {text}");
    }
}

fn feedloom(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("FEEDLOOM_LOG", "info")
        .output()
        .unwrap()
}

#[test]
fn a_cron_schedule_that_never_fires_is_a_config_error_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[store]\npath = \"f.db\"\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n[[feed]]\nurl = \"https://a.example/f\"\ncron = \"0 0 0 30 2 *\"\n",
    )
    .unwrap();
    for cmd in ["check", "poll", "run", "feeds"] {
        let out = feedloom(&cfg, &[cmd]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains(&format!("{}:9:8: ", cfg.display())),
            "{cmd}: names file, line and column: {err}"
        );
        assert!(
            err.contains("`cron`") && err.contains("never fires"),
            "{err}"
        );
        assert!(err.contains("cron = \"0 0 0 30 2 *\""), "{err}");
    }
    assert!(!dir.path().join("f.db").exists(), "nothing was written");

    // A crontab line (five fields) is told how feedloom's cron differs.
    std::fs::write(
        &cfg,
        "[[feed]]\nurl = \"https://a.example/f\"\ncron = \"5 6 * * *\"\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(":3:8: ") && err.contains("seconds first"),
        "{err}"
    );
    assert!(err.contains("\"0 5 6 * * *\""), "an example: {err}");
}

const LOCAL_FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local</title><link>https://example.org/</link><description>d</description>
<item><guid>1</guid><title>Hello</title><link>https://example.org/1</link><description>hi</description></item>
</channel></rss>"#;

#[test]
fn poll_removes_temp_files_a_killed_run_left_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("local.rss"), LOCAL_FEED).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[store]\npath = \"f.db\"\n\n[[feed]]\nurl = \"file:local.rss\"\n\n[[output]]\nname = \"all\"\npath = \"out/all\"\n",
    )
    .unwrap();
    // PIDs above the kernel's limit (2^22) belong to no process.
    let stale = [".all.atom.4999999.tmp", ".all.json.4999998.tmp"];
    let others = [
        ".all.atom.tmp",
        ".other.rss.4999999.tmp",
        "all.atom.4999999.tmp",
        "notes.txt",
    ];
    for f in stale.iter().chain(&others) {
        std::fs::write(dir.path().join("out").join(f), b"half written").unwrap();
    }
    let out = feedloom(&cfg, &["poll"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("removed temporary output files") && err.contains("removed=2"),
        "logged: {err}"
    );
    for f in stale {
        assert!(!dir.path().join("out").join(f).exists(), "{f} removed");
    }
    for f in others {
        assert!(dir.path().join("out").join(f).exists(), "{f} kept");
    }
    assert!(read(&dir.path().join("out/all.atom")).contains("Hello"));
}
