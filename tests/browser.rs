//! The river page in a real headless browser (Debian's `chromium`; `.ci/run`
//! installs it). A running daemon serves stories from ordinary feeds, a feed in
//! Japanese, Chinese and Korean, and a feed of script payloads; the browser's
//! DOM must show every story, link and source, and no payload may run — on the
//! served page, on the page's file, and on a copy of the file without its
//! `<meta>` policy (sanitising alone must hold). A control page proves that the
//! browser does run scripts and that the checks would see it.
//!
//! Screenshots for a human: target/river-390.png, target/river-1280.png,
//! target/river-390-dark.png, target/index-1280.png.
//!
//! Without a chromium binary, the test prints one line and passes, except under
//! CI (`CI` set), where the browser is required.

mod common;
#[path = "support/daemon.rs"]
mod daemon;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use daemon::*;

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FEEDLOOM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|n| ["/usr/bin", "/usr/local/bin", "/snap/bin"].map(|d| Path::new(d).join(n)))
    .find(|p| p.exists())
}

struct Browser {
    bin: PathBuf,
}

impl Browser {
    /// Runs chromium headless on `url` with `args` (`--dump-dom`, `--screenshot=…`)
    /// and returns its stdout. Everything but 127.0.0.1 is unreachable: no name
    /// resolves, and the background services are off.
    fn run(&self, url: &str, args: &[&str]) -> String {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(&self.bin)
            .args([
                "--headless",
                // Root (CI) cannot use chromium's sandbox; it only ever loads our pages here.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
            s
        });
        let end = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "chromium {args:?} {url}: {status}");
                break;
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium {args:?} {url} did not finish in 90 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        reader.join().unwrap()
    }

    /// The DOM after the page loaded and its scripts (if any) ran.
    fn dom(&self, url: &str) -> String {
        self.run(url, &["--dump-dom", "--virtual-time-budget=3000"])
    }

    fn screenshot(&self, url: &str, file: &Path, (width, height): (u32, u32), dark: bool) {
        let _ = std::fs::remove_file(file);
        let mut args = vec![
            format!("--screenshot={}", file.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_string(),
        ];
        if dark {
            args.push("--blink-settings=preferredColorScheme=0".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(url, &args);
        let png = std::fs::read(file).unwrap_or_default();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "no screenshot at {}",
            file.display()
        );
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Each payload would add an element whose id starts with `pwned`, or put
/// PWNED in the document's title, if it ever ran.
fn payloads(base: &str) -> Vec<(&'static str, String)> {
    let add = |id: &str| {
        format!("document.body.insertAdjacentHTML('beforeend','<p id=pwned-{id}>ran</p>')")
    };
    vec![
        ("script", format!("<p>Before.</p><script>{}</script><p>After.</p>", add("script"))),
        ("img onerror", format!("<img src=\"{base}/missing.png\" onerror=\"{}\">", add("onerror"))),
        ("javascript: link", "<a href=\"javascript:document.title='PWNED'\" id=\"pwned-link-kept\">click</a> <a href=\"&#106;ava&#x09;script:alert(1)\">two</a>".to_string()),
        ("style break-out", format!("<style>p{{color:red}}</style><script>{}</script></style><p style=\"background:url(javascript:alert(1))\">styled</p>", add("style"))),
        ("textarea break-out", format!("<textarea></textarea><script>{}</script></textarea><title></title><script>{}</script>", add("textarea"), add("title"))),
        ("svg", format!("<svg onload=\"{}\"><script>{}</script><a href=\"javascript:alert(1)\"><text>svg</text></a></svg>", add("svg-onload"), add("svg-script"))),
        ("frames and objects", "<iframe srcdoc=\"&lt;script&gt;parent.document.title='PWNED'&lt;/script&gt;\"></iframe><object data=\"javascript:alert(1)\"></object><embed src=\"javascript:alert(1)\">".to_string()),
        ("meta and base", "<meta http-equiv=\"refresh\" content=\"0;url=javascript:document.title='PWNED'\"><base href=\"javascript:alert(1)//\"><link rel=\"stylesheet\" href=\"data:text/css,*{color:red}\">".to_string()),
        ("forms", format!("<form action=\"javascript:alert(1)\"><button formaction=\"javascript:alert(1)\">go</button><input autofocus onfocus=\"{}\"></form>", add("onfocus"))),
        ("details ontoggle", format!("<details open ontoggle=\"{}\"><summary>s</summary>x</details>", add("ontoggle"))),
        ("mutation XSS", format!("<math><mtext><table><mglyph><style><img src=x onerror=\"{}\">", add("mxss"))),
        ("noscript", format!("<noscript><p title=\"</noscript><img src=x onerror={}>\"></noscript>", add("noscript").replace(' ', "&#32;"))),
    ]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn rss_item(guid: &str, link: &str, title_xml: &str, ago: i64, html: &str) -> String {
    format!(
        "<item><guid>{guid}</guid><link>{link}</link><title>{title_xml}</title><pubDate>{}</pubDate>\
         <description>{}</description></item>\n",
        rfc822_ago(ago),
        escape(html)
    )
}

fn rss(title_xml: &str, site: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{title_xml}</title>\
         <link>{site}</link><description>d</description>\n{}</channel></rss>\n",
        items.concat()
    )
}

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"240\" viewBox=\"0 0 640 240\">\
    <rect width=\"640\" height=\"240\" fill=\"#3b6ea5\"/><circle cx=\"320\" cy=\"120\" r=\"80\" fill=\"#f2c14e\"/></svg>";

/// Attributes of every element in a DOM dump: (tag, name, value).
fn attributes(dom: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let b = dom.as_bytes();
    let mut i = 0;
    while let Some(off) = dom[i..].find('<') {
        let start = i + off + 1;
        let name_end = dom[start..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(dom.len(), |j| start + j);
        let tag = dom[start..name_end].to_ascii_lowercase();
        let mut j = name_end;
        // name="value" pairs until '>' (Chromium quotes every value).
        loop {
            while j < b.len() && (b[j] as char).is_whitespace() {
                j += 1;
            }
            if j >= b.len() || b[j] == b'>' || b[j] == b'/' {
                break;
            }
            let n_end = dom[j..].find(['=', '>', ' ']).map_or(dom.len(), |k| j + k);
            let name = dom[j..n_end].to_ascii_lowercase();
            let mut value = String::new();
            j = n_end;
            if j < b.len() && b[j] == b'=' && b.get(j + 1) == Some(&b'"') {
                let v_end = dom[j + 2..].find('"').map_or(dom.len(), |k| j + 2 + k);
                value = dom[j + 2..v_end]
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&");
                j = v_end + 1;
            }
            out.push((tag.clone(), name, value));
        }
        i = j.max(start);
    }
    out
}

/// What must hold in the DOM of any rendering of the payload river: nothing
/// ran, and nothing that could run is there.
fn assert_inert(dom: &str, what: &str, title: &str) {
    assert!(!dom.contains("id=\"pwned"), "{what}: a payload ran:\n{dom}");
    assert!(
        dom.contains(&format!("<title>{title}</title>")),
        "{what}: the title changed"
    );
    for (tag, name, value) in attributes(dom) {
        assert!(
            !name.starts_with("on"),
            "{what}: <{tag} {name}=\"{value}\">"
        );
        assert!(
            !matches!(
                tag.as_str(),
                "script"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "form"
                    | "base"
                    | "textarea"
                    | "svg"
                    | "math"
            ),
            "{what}: a <{tag}> element"
        );
        let v = value.trim_start().to_ascii_lowercase();
        assert!(
            !(v.starts_with("javascript:") || v.starts_with("data:") || v.starts_with("vbscript:")),
            "{what}: <{tag} {name}=\"{value}\">"
        );
        if name == "style" {
            panic!("{what}: a style attribute on <{tag}>: {value}");
        }
    }
    // The page's own stylesheet is the only <style>.
    assert_eq!(dom.matches("<style>").count(), 1, "{what}");
}

/// [`assert_inert`] for the search page, whose one form (a GET to itself) is its own.
fn assert_search_inert(dom: &str, what: &str, title: &str) {
    assert!(!dom.contains("id=\"pwned"), "{what}: a payload ran:\n{dom}");
    assert!(
        dom.contains(&format!("<title>{title}</title>")),
        "{what}: the title changed:\n{dom}"
    );
    let forms: Vec<_> = attributes(dom)
        .into_iter()
        .filter(|(tag, name, _)| tag == "form" && name == "action")
        .collect();
    assert_eq!(forms.len(), 1, "{what}: {forms:?}");
    assert_eq!(forms[0].2, "search");
    let without_form = dom
        .replace("<form class=\"search\"", "<div class=\"search\"")
        .replace("</form>", "</div>");
    assert_inert(&without_form, what, title);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn river_page_in_a_headless_browser() {
    let Some(bin) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (see .ci/run)"
        );
        println!(
            "SKIPPED river_page_in_a_headless_browser: no chromium (apt-get install chromium fonts-noto-cjk)"
        );
        return;
    };
    let browser = Browser { bin };
    let srv = FeedServer::start().await;
    let base = srv.url("");
    srv.set(
        "/picture.svg",
        Resource::feed(SVG).content_type("image/svg+xml"),
    );

    // Ordinary stories, one carried by two feeds, one long.
    let long: String = (1..=12)
        .map(|i| format!("<p>Paragraph {i}: the committee met again on Tuesday and, after a long debate about the budget, agreed to publish the full minutes next week.</p>"))
        .collect();
    let alpha = [
        rss_item(
            "a1",
            &format!("{base}/a/1"),
            "Council approves the new tram line",
            240,
            &format!(
                "<p>The city council voted 31 to 12 in favour.</p><img src=\"{base}/picture.svg\" alt=\"A map of the line\">"
            ),
        ),
        rss_item(
            "a2",
            &format!("{base}/shared"),
            "Storm closes the harbour for a second day",
            3_000,
            "<p>Ferries stay in port until Thursday.</p>",
        ),
        rss_item(
            "a3",
            &format!("{base}/a/3"),
            "Minutes of a very long meeting, in full, with every paragraph the committee wrote down",
            30_000,
            &long,
        ),
    ];
    // Ordinary feeds answer a little late, so their stories are first seen after
    // the payloads' and top the river (and the screenshots).
    let late = Duration::from_millis(1_500);
    srv.set(
        "/alpha.xml",
        Resource::feed(rss("Alpha Daily", &format!("{base}/alpha"), &alpha)).delay(late),
    );
    srv.set(
        "/beta.xml",
        Resource::feed(rss(
            "Beta Wire",
            &format!("{base}/beta"),
            &[rss_item(
                "b1",
                &format!("{base}/shared"),
                "Storm closes the harbour for a second day",
                3_000,
                "<p>Ferries stay in port until Thursday.</p>",
            )],
        ))
        .delay(late),
    );
    let cjk = [
        rss_item(
            "j1",
            &format!("{base}/ja/1"),
            "東京で桜が満開に、例年より一週間早く",
            600,
            "<p>気象庁によると、今年の桜は平年より七日早く満開になりました。公園には多くの花見客が訪れています。</p>",
        ),
        rss_item(
            "z1",
            &format!("{base}/zh/1"),
            "上海港集装箱吞吐量创历史新高",
            900,
            "<p>上海港今年前十个月的集装箱吞吐量同比增长百分之八，创下历史新高。</p>",
        ),
        rss_item(
            "k1",
            &format!("{base}/ko/1"),
            "서울 지하철 새 노선 개통",
            1_200,
            "<p>서울시는 오늘 새 지하철 노선이 개통되었다고 밝혔습니다.</p>",
        ),
    ];
    srv.set(
        "/cjk.xml",
        Resource::feed(rss(
            "アジア・ニュース 亚洲新闻 아시아",
            &format!("{base}/asia"),
            &cjk,
        ))
        .delay(late),
    );
    // A feed that fails, for the index.
    srv.set("/broken.xml", Resource::status(500));
    // Payloads in titles, links, content and the feed's own title.
    let mut evil: Vec<String> = payloads(&base)
        .iter()
        .enumerate()
        .map(|(i, (name, html))| {
            rss_item(
                &format!("x{i}"),
                &format!("{base}/x/{i}"),
                &escape(&format!("Payload: {name}")),
                7_200 + i as i64,
                html,
            )
        })
        .collect();
    evil.push(rss_item(
        "t1",
        "javascript:document.title='PWNED'",
        &escape("<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED'\"></title><b>bold?</b>"),
        7_100,
        "<p>A title full of markup, and a script link.</p>",
    ));
    let evil_count = evil.len();
    srv.set(
        "/evil.xml",
        Resource::feed(rss(
            &escape("Evil <script>document.title='PWNED'</script> Feed"),
            "javascript:alert(1)",
            &evil,
        )),
    );

    let stories = 3 + 3 + evil_count; // the shared story once
    let app = Daemon::start(&format!(
        "[fetch]\nhost_gap = \"0s\"\nper_host = 8\n[defaults]\nspread = \"0s\"\n\n{}\
         [[output]]\nname = \"all\"\ntitle = \"Morning river\"\npath = \"out/all\"\n",
        feeds_toml(&[
            srv.url("/alpha.xml"),
            srv.url("/beta.xml"),
            srv.url("/cjk.xml"),
            srv.url("/evil.xml"),
            srv.url("/broken.xml")
        ])
    ))
    .await;
    let served = app
        .wait_for_page("/all.html", 30, |b| {
            story_count(b) == stories && b.contains("Beta Wire")
        })
        .await;
    let url = app.url("/all.html");

    // The control: the browser runs scripts, and these checks see it.
    let control = app.env.path("control.html");
    std::fs::write(
        &control,
        format!(
            "<!DOCTYPE html><html><head><title>Morning river</title></head><body>{}</body></html>",
            payloads(&base)[..2]
                .iter()
                .map(|p| p.1.as_str())
                .collect::<String>()
        ),
    )
    .unwrap();
    let control_url = format!("file://{}", control.display());
    let dom = tokio::task::block_in_place(|| browser.dom(&control_url));
    assert!(
        dom.contains("id=\"pwned-script\"") && dom.contains("id=\"pwned-onerror\""),
        "the control page's scripts did not run:\n{dom}"
    );

    // The served page, the page's file, and the file without its policy.
    let file = app.env.path("out/all.html");
    let file_html = read(&file);
    let bare = app.env.path("out/bare.html");
    let policy = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        feedloom::web::META_CSP
    );
    assert!(file_html.contains(&policy));
    std::fs::write(&bare, file_html.replace(&policy, "")).unwrap();
    for (what, u) in [
        ("served page", url.clone()),
        ("page file", format!("file://{}", file.display())),
        (
            "page file without its policy",
            format!("file://{}", bare.display()),
        ),
    ] {
        let dom = tokio::task::block_in_place(|| browser.dom(&u));
        assert_inert(&dom, what, "Morning river");
        assert_eq!(story_count(&dom), stories, "{what}");
        // Every story's title is a link to it (the script link was dropped, its title kept).
        let titled_links = dom.matches("<h2><a href=\"").count();
        assert_eq!(titled_links, stories - 1, "{what}");
        assert!(
            dom.contains("<h2>&lt;script&gt;document.title="),
            "{what}: the markup title as text"
        );
        // Sources: the shared story names both feeds; the evil feed's name is text.
        let shared = dom
            .split("<article")
            .find(|a| a.contains("Storm closes"))
            .unwrap();
        assert!(
            shared.contains(">Alpha Daily</a>") && shared.contains(">Beta Wire</a>"),
            "{what}: {shared}"
        );
        assert!(dom.contains("Evil &lt;script&gt;"), "{what}");
        // The long story keeps its rest behind "more"; the CJK text is there.
        let minutes = dom
            .split("<article")
            .find(|a| a.contains("Minutes of a very long"))
            .unwrap();
        assert!(
            minutes.contains("<details><summary>more</summary>"),
            "{what}: {minutes}"
        );
        for t in [
            "東京で桜が満開に",
            "上海港集装箱吞吐量创历史新高",
            "서울 지하철 새 노선 개통",
            "アジア・ニュース",
        ] {
            assert!(dom.contains(t), "{what}: {t}");
        }
        // Feeds to subscribe to, from the page.
        assert_eq!(dom.matches("<link rel=\"alternate\"").count(), 3, "{what}");
    }
    assert!(served.contains(" ago</time>") && file_html.contains(" UTC</time>"));

    // The search page: results with marked words, and no payload runs.
    let search = app.url("/search?q=payload");
    let dom = tokio::task::block_in_place(|| browser.dom(&search));
    assert_search_inert(&dom, "search page", "payload — search");
    assert_eq!(
        dom.matches("<article class=\"story hit\"").count(),
        evil_count - 1,
        "every payload story, once:\n{dom}"
    );
    assert!(dom.contains("<mark>Payload</mark>: script"), "{dom}");
    // A script in a title is found as text, and shown as text.
    let dom = tokio::task::block_in_place(|| browser.dom(&app.url("/search?q=pwned")));
    assert_search_inert(&dom, "search for a script's words", "pwned — search");
    assert!(
        dom.contains("&lt;script&gt;document.title='<mark>PWNED</mark>'&lt;/script&gt;"),
        "{dom}"
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&app.url("/search?q=%E6%A1%9C")));
    assert!(dom.contains("東京で<mark>桜</mark>が満開に"), "{dom}");
    assert!(dom.contains("<mark>桜</mark>は平年より"), "{dom}");

    // Screenshots for a human to look at.
    let dir = target_dir();
    std::fs::create_dir_all(&dir).unwrap();
    tokio::task::block_in_place(|| {
        browser.screenshot(&url, &dir.join("river-390.png"), (390, 2400), false);
        browser.screenshot(&url, &dir.join("river-1280.png"), (1280, 1600), false);
        browser.screenshot(&url, &dir.join("river-390-dark.png"), (390, 1200), true);
        browser.screenshot(
            &app.url("/"),
            &dir.join("index-1280.png"),
            (1280, 700),
            false,
        );
        browser.screenshot(
            &app.url("/search?q=harbour"),
            &dir.join("search-1280.png"),
            (1280, 700),
            false,
        );
        browser.screenshot(&search, &dir.join("search-390-dark.png"), (390, 1400), true);
    });
    println!(
        "screenshots: {}/river-{{390,1280,390-dark}}.png, index-1280.png, search-{{1280,390-dark}}.png",
        dir.display()
    );
    app.stop().await;
}
