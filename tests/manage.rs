//! Managing feeds as a user does, through the binary: `add` (feed URLs and site
//! URLs whose pages a local server serves, with and without alternate links),
//! `remove`, `--reload`, `feeds` (table and JSON), `poll`'s output off a terminal
//! and its progress on one, and `check`'s warnings.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{FeedServer, Resource, rss};

async fn feedloom(config: &Path, args: &[&str]) -> Output {
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env("FEEDLOOM_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const HEAD: &str = "# My feeds: hand-written, keep these comments.\n\n[store]\npath = \"feedloom.db\"   # beside this file\n\n[fetch]\nhost_gap = \"0s\"\ntimeout = \"5s\"\n";

/// A temp folder with a commented config holding the given `[[feed]]` blocks and
/// an output at the end.
fn setup(feeds: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        format!(
            "{HEAD}\n{feeds}\n# ---- outputs ----\n\n# Everything\n[[output]]\nname = \"all\"\n"
        ),
    )
    .unwrap();
    (dir, cfg)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn three_items(title: &str) -> String {
    rss(
        title,
        &[
            (Some("1"), Some("https://example.org/1"), "One", "first"),
            (Some("2"), Some("https://example.org/2"), "Two", "second"),
            (Some("3"), Some("https://example.org/3"), "Three", "third"),
        ],
    )
}

fn html(head: &str) -> Resource {
    Resource::feed(format!(
        "<!DOCTYPE html>\n<html><head><title>A site</title>{head}</head><body><p>Hello</p></body></html>"
    ))
    .content_type("text/html; charset=utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_feed_url_appends_a_block_and_keeps_the_comments() {
    let srv = FeedServer::start().await;
    srv.set("/news.xml", Resource::feed(three_items("Daily News")));
    let (_dir, cfg) = setup("# one I had\n[[feed]]\nurl = \"https://old.example.org/feed\"\n");
    let before = read(&cfg);
    let url = srv.url("/news.xml");
    let out = feedloom(
        &cfg,
        &[
            "add", &url, "--tag", "news", "--tag", "daily", "--tag", "news", "--every", "2h",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let after = read(&cfg);
    let block =
        format!("\n[[feed]]\nurl = \"{url}\"\ntags = [\"news\", \"daily\"]\nevery = \"2h\"\n");
    assert!(
        after.contains(&format!(
            "url = \"https://old.example.org/feed\"\n{block}\n# ---- outputs"
        )),
        "the block goes after the last feed, before the output's comments:\n{after}"
    );
    assert_eq!(
        after.replacen(&block, "", 1),
        before,
        "nothing else changed"
    );
    let line = after[..after.find(&format!("url = \"{url}\"")).unwrap()]
        .lines()
        .count();
    assert!(
        stdout.starts_with(&format!(
            "added \"Daily News\" {url} (3 items) to {}:{line}\n",
            cfg.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("systemctl reload feedloom"), "{stdout}");
    let loaded = feedloom::config::load(&cfg).unwrap();
    assert_eq!(loaded.feeds.len(), 2);
    assert_eq!(loaded.feeds[1].tags, vec!["news", "daily"]);
    // Nothing but the config was written: no store yet.
    assert!(!cfg.with_file_name("feedloom.db").exists());
    // `feed://host/x`, as a browser's "subscribe" link gives it, is added as
    // `http://host/x`, as `import-opml` reads it (it was refused: "scheme
    // `feed` is not supported").
    srv.set("/other.xml", Resource::feed(three_items("Other News")));
    let feed_url = srv.url("/other.xml").replacen("http://", "feed://", 1);
    let out = feedloom(&cfg, &["add", &feed_url]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        read(&cfg).contains(&format!("url = \"{}\"", srv.url("/other.xml"))),
        "{}",
        read(&cfg)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_reach_the_terminal_without_control_sequences() {
    // A page's `<link title>` (or an OPML title) with an ESC sequence reached
    // the terminal as it was.
    let srv = FeedServer::start().await;
    srv.set(
        "/p/",
        html(
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Red&#x1b;[31m one\" href=\"/a.rss\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" title=\"Two\" href=\"/b.rss\">",
        ),
    );
    srv.set("/a.rss", Resource::feed(three_items("A")));
    srv.set("/b.rss", Resource::feed(three_items("B")));
    let (_dir, cfg) = setup("");
    let out = feedloom(
        &cfg,
        &["add", &srv.url("/p/"), "--title", "Mine\u{1b}[2J\u{202e}"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains(['\u{1b}', '\u{202e}']), "{stdout:?}");
    assert!(stdout.contains("1. Red[31m one (RSS)"), "{stdout}");
    assert!(stdout.contains("added \"Mine[2J\""), "{stdout}");
    // Nor into the config (it was written as `\u001B`).
    let written = read(&cfg);
    assert!(written.contains("title = \"Mine[2J\""), "{written}");
    // A title of nothing else, or with a line separator: refused before
    // any fetch.
    srv.clear_seen();
    for (title, said) in [
        ("\u{1b}\u{1b}\u{1b}", "--title: the title cannot be empty"),
        (
            "\u{200e}\u{200f}\u{61c}",
            "--title: the title cannot be empty",
        ),
        ("\u{200d}\u{200c}", "--title: the title cannot be empty"),
        ("\u{ad}\u{fe0f}", "--title: the title cannot be empty"),
        (
            "One\u{2028}Two",
            "--title \"One\\u{2028}Two\": a title cannot hold a line break or a tab",
        ),
    ] {
        let out = feedloom(&cfg, &["add", &srv.url("/b.rss"), "--title", title]).await;
        assert_eq!(out.status.code(), Some(2), "{title:?}");
        assert!(text(&out.stderr).contains(said), "{}", text(&out.stderr));
    }
    assert!(srv.seen().is_empty(), "refused before any fetch");
    // The joiners belong to the text (a Persian word's non-joiner, an
    // emoji's joiner): kept.
    let title = "\u{67e}\u{6cc}\u{627}\u{645}\u{200c}\u{631}\u{633}\u{627}\u{646} \u{1f468}\u{200d}\u{1f469}";
    let out = feedloom(&cfg, &["add", &srv.url("/b.rss"), "--title", title]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = read(&cfg);
    assert!(
        written.contains(&format!("title = \"{title}\"")),
        "{written}"
    );
}

/// A feed's error that quotes what its server wrote (a JSON Feed's
/// `version` holding escape sequences and 20,000 more characters) reaches
/// the terminal from `add` escaped and bounded, as it is stored: it set the
/// terminal's title and cleared its screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_quotes_a_feeds_error_escaped_and_bounded() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.json",
        Resource::feed(format!(
            "{{\"version\":\"https://jsonfeed.org/version/9\\u001b]0;PWNED\\u0007\\u001b[2J{}\",\"title\":\"x\",\"items\":[]}}",
            "A".repeat(20_000)
        ))
        .content_type("application/feed+json"),
    );
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["add", &srv.url("/f.json")]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("version/9\\u{1b}]0;PWNED\\u{7}"),
        "{}",
        &err[..err.len().min(400)]
    );
    assert!(!err.contains(['\u{1b}', '\u{7}']), "{err:?}");
    assert!(err.len() < 3_000, "{} bytes", err.len());
}

/// Feed links a page declares that cannot be fetched are named and not
/// offered: `javascript:` and `file:` links went without a word, and a link
/// to the cloud metadata address was taken by default (and failed, saying
/// to allow private addresses for every feed) while the page's real feed
/// was fine. A page of only such links says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_links_that_cannot_be_fetched_are_named_and_left_out() {
    let srv = FeedServer::start().await;
    srv.set(
        "/site/",
        html(
            "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"javascript:alert(1)\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"file:///etc/passwd\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"http://169.254.169.254/latest\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/real.xml\">",
        ),
    );
    srv.set("/real.xml", Resource::feed(three_items("Real")));
    srv.set(
        "/none/",
        html("<link rel=\"alternate\" type=\"application/rss+xml\" href=\"javascript:alert(1)\">"),
    );
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["add", &srv.url("/site/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "{} declares feed links feedloom leaves out:\n  javascript:alert(1) (not a web address)\n  \
             file:///etc/passwd (not a web address)\n  http://169.254.169.254/latest (refused: ",
            srv.url("/site/")
        )),
        "{stdout}"
    );
    assert!(stdout.contains("added \"Real\""), "{stdout}");
    assert!(read(&cfg).contains(&srv.url("/real.xml")));
    // A link to port 0 is left out too; a `javascript:` base is none, as
    // browsers take it (every link under it was "not a web address"); off
    // a terminal, a declared feed that fails gives way to the next.
    srv.set(
        "/more/",
        html(
            "<base href=\"javascript:void(0)//\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"http://localhost:0/f.xml\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/missing.xml\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/other.xml\">",
        ),
    );
    srv.set("/other.xml", Resource::feed(three_items("Other")));
    let out = feedloom(&cfg, &["add", &srv.url("/more/")]).await;
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  http://localhost:0/f.xml (port 0 is no port)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "1: {} declares the feed {}, but",
            srv.url("/more/"),
            srv.url("/missing.xml")
        )) && stdout.contains("; taking 2 instead\n"),
        "{stdout}"
    );
    assert!(stdout.contains("added \"Other\""), "{stdout}");
    let out = feedloom(&cfg, &["add", &srv.url("/none/")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr)
            .contains("declares no feed feedloom can fetch (the links left out are named above), and none of the usual paths"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_site_url_discovers_its_declared_feeds() {
    let srv = FeedServer::start().await;
    srv.set(
        "/blog/",
        html(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Posts (Atom)\" href=\"posts.atom\">\n\
             <link rel=\"alternate\" type=\"application/rss+xml\" title=\"Comments\" href=\"/comments.rss\">",
        ),
    );
    srv.set(
        "/blog/posts.atom",
        Resource::feed(
            "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>The Blog</title>\
             <id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>\
             <entry><id>urn:1</id><title>Hi</title><updated>2026-01-01T00:00:00Z</updated></entry></feed>",
        )
        .content_type("application/atom+xml"),
    );
    srv.set("/comments.rss", Resource::feed(three_items("Comments")));

    // Off a terminal: the list, then the first one.
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["add", &srv.url("/blog/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "{} declares 2 feeds:\n  1. Posts (Atom) (Atom) {}\n  2. Comments (RSS) {}\ntaking 1 (pass --pick N to take another)\n",
            srv.url("/blog/"),
            srv.url("/blog/posts.atom"),
            srv.url("/comments.rss")
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "added \"The Blog\" {} (1 item)",
            srv.url("/blog/posts.atom")
        )),
        "{stdout}"
    );
    assert!(read(&cfg).contains(&format!("url = \"{}\"", srv.url("/blog/posts.atom"))));
    // On the page's own host: the person's word, as trusted as the page.
    assert!(!read(&cfg).contains("untrusted"), "{}", read(&cfg));

    // --pick 2 takes the second; --pick 3 is out of range.
    let (_dir2, cfg2) = setup("");
    let out = feedloom(&cfg2, &["add", &srv.url("/blog/"), "--pick", "2"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read(&cfg2).contains(&format!("url = \"{}\"", srv.url("/comments.rss"))));
    let (_dir3, cfg3) = setup("");
    let before = read(&cfg3);
    let out = feedloom(&cfg3, &["add", &srv.url("/blog/"), "--pick", "3"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--pick 3"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read(&cfg3), before);

    // A feed the page declares on another host is not trusted as the page's
    // own: on a private address (here `localhost`, as cloud metadata would
    // be), it is refused like a redirect there, and nothing is written.
    let port = srv
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    srv.set(
        "/elsewhere/",
        html(&format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"http://localhost:{port}/comments.rss\">"
        )),
    );
    let (_dir4, cfg4) = setup("");
    let before = read(&cfg4);
    let out = feedloom(&cfg4, &["add", &srv.url("/elsewhere/")]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("refused to connect"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read(&cfg4), before);
    // Where private addresses are allowed, it is added, marked untrusted (the
    // page's word, not the person's): the daemon checks it the same way.
    let (_dir5, cfg5) = setup("");
    let allowing = read(&cfg5).replace("[fetch]\n", "[fetch]\nallow_private_networks = true\n");
    std::fs::write(&cfg5, allowing).unwrap();
    let out = feedloom(&cfg5, &["add", &srv.url("/elsewhere/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        read(&cfg5).contains(&format!(
            "url = \"http://localhost:{port}/comments.rss\"\nuntrusted = true\n"
        )),
        "{}",
        read(&cfg5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_add_asks_which_feed_to_take() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `script` (util-linux) is not installed");
        return;
    }
    let srv = FeedServer::start().await;
    srv.set(
        "/",
        html(
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"A\" href=\"/a.xml\">\
             <link rel=\"alternate\" type=\"application/rss+xml\" title=\"B\" href=\"/b.xml\">",
        ),
    );
    srv.set("/a.xml", Resource::feed(three_items("Feed A")));
    srv.set("/b.xml", Resource::feed(three_items("Feed B")));
    let (_dir, cfg) = setup("");
    let cmd = format!(
        "{} --config {} add {}",
        env!("CARGO_BIN_EXE_feedloom"),
        cfg.display(),
        srv.url("/")
    );
    // A wrong answer is asked again; then the second feed.
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("script")
            .args(["-qefc", &cmd, "/dev/null"])
            .env("FEEDLOOM_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"7\n2\n").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let seen = text(&out.stdout);
    assert!(seen.contains("which one? [1-2, Enter for 1]"), "{seen:?}");
    assert!(seen.contains("answer a number from 1 to 2"), "{seen:?}");
    assert!(seen.contains("added \"Feed B\""), "{seen:?}");
    assert!(read(&cfg).contains(&format!("url = \"{}\"", srv.url("/b.xml"))));
    // With stdout sent to a file, the list is shown where the question is
    // asked (it asked blind).
    let saved = cfg.with_file_name("add.out");
    let cmd = format!(
        "{} --config {} add {} > {}",
        env!("CARGO_BIN_EXE_feedloom"),
        cfg.display(),
        srv.url("/"),
        saved.display()
    );
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("script")
            .args(["-qefc", &cmd, "/dev/null"])
            .env("FEEDLOOM_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"1\n").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let seen = text(&out.stdout);
    assert!(
        seen.contains("declares 2 feeds") && seen.contains("2. B (RSS)"),
        "{seen:?}"
    );
    assert!(
        read(&saved).contains("added \"Feed A\""),
        "{}",
        read(&saved)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_alternate_links_is_probed_at_the_usual_paths() {
    let srv = FeedServer::start().await;
    srv.set("/", html(""));
    srv.set("/rss.xml", Resource::feed(three_items("Probed")));
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["add", &srv.url("/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "declares no feed; found one at {}",
            srv.url("/rss.xml")
        )),
        "{stdout}"
    );
    let paths: Vec<String> = srv.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        ["/", "/feed", "/rss.xml"],
        "probe stops at the first feed"
    );
    assert!(read(&cfg).contains(&format!("url = \"{}\"", srv.url("/rss.xml"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_feed_anywhere_lists_what_was_tried_and_exits_2() {
    let srv = FeedServer::start().await;
    srv.set("/site", html("<link rel=\"stylesheet\" href=\"/s.css\">"));
    srv.set("/feed", html(""));
    let (_dir, cfg) = setup("");
    let before = read(&cfg);
    let out = feedloom(&cfg, &["add", &srv.url("/site")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("no feed found at {}", srv.url("/site"))),
        "{err}"
    );
    assert!(
        err.contains(&format!("  {}: not a feed", srv.url("/feed"))),
        "{err}"
    );
    for p in ["/rss.xml", "/atom.xml", "/index.xml", "/feed.json"] {
        assert!(
            err.contains(&format!(
                "  {}: {} answered HTTP 404",
                srv.url(p),
                srv.url(p)
            )),
            "{err}"
        );
    }
    assert_eq!(read(&cfg), before);

    // Neither a feed nor a page.
    srv.set(
        "/data.txt",
        Resource::feed("just text").content_type("text/plain"),
    );
    let out = feedloom(&cfg, &["add", &srv.url("/data.txt")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is neither a feed nor an HTML page"),
        "{}",
        text(&out.stderr)
    );
    // A page served as anything else (or that leaves out <html> and <head>
    // after a long banner) is still searched for the feed it declares.
    srv.set("/real.rss", Resource::feed(three_items("R")));
    let banner = format!("<!-- {} -->\n", "=".repeat(2000));
    srv.set(
        "/bare",
        Resource::feed(format!(
            "{banner}<title>Bare</title><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/real.rss\">"
        ))
        .content_type("application/octet-stream"),
    );
    let out = feedloom(&cfg, &["add", &srv.url("/bare")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read(&cfg).contains("/real.rss"), "{}", read(&cfg));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_http_errors_and_bad_arguments_change_nothing() {
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(three_items("F")));
    srv.set("/broken.xml", Resource::status(500));
    let url = srv.url("/f.xml");
    let (_dir, cfg) = setup(&format!("[[feed]]\nurl = \"{url}\"\n"));
    let before = read(&cfg);

    // The same feed written differently: canonical URLs are equal.
    let variant = format!("{}/?utm_source=newsletter#top", url);
    let out = feedloom(&cfg, &["add", &variant]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!(
            "already subscribed: {variant} is the feed `{url}` at {}:11",
            cfg.display()
        )),
        "{}",
        text(&out.stderr)
    );
    assert!(
        srv.seen().is_empty(),
        "a duplicate is refused before any fetch"
    );
    // And with letters percent-encoded (`%66` is `f`).
    let encoded = srv.url("/%66.xml");
    let out = feedloom(&cfg, &["add", &encoded]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(&format!(
            "already subscribed: {encoded} is the feed `{url}`"
        )),
        "{}",
        text(&out.stderr)
    );

    let out = feedloom(&cfg, &["add", &srv.url("/broken.xml")]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an HTTP error is a runtime error"
    );
    assert!(
        text(&out.stderr).contains("answered HTTP 500"),
        "{}",
        text(&out.stderr)
    );

    // An address that redirects to the configured feed is that feed (it
    // was added, and fetched twice on every poll), found at its address
    // or through a page declaring it.
    srv.set(
        "/old-rss",
        Resource::status(301).header("location", "/f.xml"),
    );
    srv.set(
        "/site",
        html(&format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"{}\">",
            srv.url("/old-rss")
        )),
    );
    for asked in ["/old-rss", "/site"] {
        let out = feedloom(&cfg, &["add", &srv.url(asked)]).await;
        assert_eq!(out.status.code(), Some(2), "{asked}");
        assert!(
            text(&out.stderr).contains(&format!(
                "already subscribed: {} redirects to {url}, the feed `{url}` at {}:11",
                srv.url("/old-rss"),
                cfg.display()
            )),
            "{asked}: {}",
            text(&out.stderr)
        );
        assert_eq!(read(&cfg), before);
    }

    srv.clear_seen();
    let bent = url.replacen("/f", "/\nf", 1);
    let long_title = "T".repeat(2000);
    assert_ne!(bent, url);
    for (args, needle) in [
        (
            vec!["add", "ftp://example.org/x"],
            "scheme `ftp` is not supported",
        ),
        (vec!["add", "not a url"], "invalid URL"),
        (vec!["add", &url, "--every", "0s"], "--every `0s`"),
        (vec!["add", &url, "--every", "soon"], "--every `soon`"),
        (vec!["add", &url, "--tag", " "], "--tag"),
        // (A line break written into the config: `check` printed it as if
        // config text.)
        (
            vec!["add", &url, "--tag", "x\"]\nevil = 1 #"],
            "a tag cannot hold a control character",
        ),
        (vec!["add", &url, "--pick", "0"], "--pick counts from 1"),
        // (A line break in a title was written as a multi-line string and
        // published; one in a URL was left out by the parser, so another
        // address was asked, and written with it.)
        (
            vec!["add", &url, "--title", "Line one\nfake"],
            "a title cannot hold a line break or a tab",
        ),
        // (An over-long title was refused after the fetch, as a line of an
        // edit never written.)
        (
            vec!["add", &url, "--title", &long_title],
            "--title: 2000 bytes, longer than 1024 bytes",
        ),
        (vec!["add", &bent], "it holds a line break or a tab"),
        (
            vec!["add", "127.0.0.1/f.xml"],
            "with `https://` or `http://` first",
        ),
    ] {
        let out = feedloom(&cfg, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        srv.seen().is_empty(),
        "bad arguments are refused before any fetch"
    );
    assert_eq!(read(&cfg), before);

    // A config that does not load is not edited.
    std::fs::write(&cfg, "[fetch]\ntimeout = \"soon\"\n").unwrap();
    let out = feedloom(&cfg, &["add", &srv.url("/f2.xml")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("feedloom.toml:2:"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read(&cfg), "[fetch]\ntimeout = \"soon\"\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_creates_a_missing_config() {
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(three_items("F")));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("fresh.toml");
    let out = feedloom(&cfg, &["add", &srv.url("/f.xml"), "--title", "Mine"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&format!("created {}\nadded \"Mine\"", cfg.display())));
    assert_eq!(
        read(&cfg),
        format!(
            "[[feed]]\nurl = \"{}\"\ntitle = \"Mine\"\n",
            srv.url("/f.xml")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_takes_the_block_and_keeps_the_items() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(three_items("A")));
    srv.set("/b.xml", Resource::feed(three_items("B")));
    let (a, b) = (srv.url("/a.xml"), srv.url("/b.xml"));
    let (dir, cfg) = setup(&format!(
        "# Feed A, my favourite\n[[feed]]\nurl = \"{a}\"\ntags = [\"x\"]\n\n# Feed B\n[[feed]]\nurl = \"{b}\"\n"
    ));
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = read(&cfg);

    // Written differently from the config: canonically the same URL.
    let out = feedloom(&cfg, &["remove", &format!("{a}?utm_campaign=x")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!(
            "removed {a} from {}:12; its items stay in the store\n",
            cfg.display()
        )),
        "{}",
        text(&out.stdout)
    );
    // (No poll fetches what was removed.)
    assert!(
        !text(&out.stdout).contains("fetches now"),
        "{}",
        text(&out.stdout)
    );
    let after = read(&cfg);
    assert_eq!(
        after,
        before.replace(
            &format!("# Feed A, my favourite\n[[feed]]\nurl = \"{a}\"\ntags = [\"x\"]\n\n"),
            ""
        )
    );
    let conn = rusqlite::Connection::open(dir.path().join("feedloom.db")).unwrap();
    let items: i64 = conn
        .query_row(
            "SELECT count(*) FROM items JOIN feeds ON feeds.id = items.feed_id WHERE feeds.url = ?1",
            [&a],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(items, 3, "the store keeps the removed feed's items");

    // A config that is not there: a usage error, as for other commands.
    let missing = dir.path().join("missing.toml");
    let out = feedloom(&missing, &["remove", &a]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!missing.exists());

    let out = feedloom(&cfg, &["remove", &a]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("no feed with url {a}")),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read(&cfg), after);
    // A password typed in the URL is not quoted back.
    let out = feedloom(&cfg, &["remove", "https://ann:PASSWORD1@z.example/zzz.xml"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("no feed with url https://***@z.example/zzz.xml"),
        "{err}"
    );
    assert!(!err.contains("PASSWORD1"), "{err}");
    // Two blocks naming one feed (a tracking parameter apart), named in
    // another spelling: both go, and are named (one stayed, and the feed
    // was fetched on, while `remove` said "removed").
    let twins = format!("{after}\n[[feed]]\nurl = \"{b}?utm_source=news\"\n");
    std::fs::write(&cfg, &twins).unwrap();
    let out = feedloom(&cfg, &["remove", &format!("{b}?utm_campaign=zz")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!(
            "removed {b} from {0}:12, and the same feed written another way: {b}?utm_source=news from {0}:21; its items",
            cfg.display()
        )),
        "{}",
        text(&out.stdout)
    );
    assert!(!read(&cfg).contains("[[feed]]"), "{}", read(&cfg));
    // Named as one block is written (`check` says to remove one of them):
    // that block goes, and the other is said to stay subscribed.
    std::fs::write(&cfg, &twins).unwrap();
    let out = feedloom(&cfg, &["remove", &b]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!(
            "removed {b} from {0}:12; its items stay in the store\n\
             the same feed stays subscribed, written another way: {b}?utm_source=news ({0}:17) \
             (remove it too to unsubscribe)\n",
            cfg.display()
        )),
        "{}",
        text(&out.stdout)
    );
    assert!(read(&cfg).contains(&format!("url = \"{b}?utm_source=news\"")));
    // (`feed://` as `add` takes it.)
    let feed_scheme = b.replacen("http://", "feed://", 1);
    let out = feedloom(&cfg, &["remove", &feed_scheme]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!read(&cfg).contains("[[feed]]"), "{}", read(&cfg));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_signals_the_daemon_named_by_the_pid_file() {
    let srv = FeedServer::start().await;
    srv.set("/f.xml", Resource::feed(three_items("F")));
    let (dir, cfg) = setup("");
    let lock = dir.path().join("feedloom.db.lock");

    // No daemon: the feed is added, the reload is a runtime error.
    let out = feedloom(&cfg, &["add", &srv.url("/f.xml"), "--reload"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("added \"F\""));
    assert!(
        text(&out.stderr).contains("no running daemon found"),
        "{}",
        text(&out.stderr)
    );

    // A lock file left by a daemon killed with SIGKILL names a pid that is
    // someone else's by now: no lock is held, so nothing is signalled.
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(&lock, format!("feedloom run (pid {})\n", child.id())).unwrap();
    let out = feedloom(&cfg, &["remove", &srv.url("/f.xml"), "--reload"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no running daemon found"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "a stale pid is not signalled"
    );
    feedloom(&cfg, &["add", &srv.url("/f.xml")]).await;

    // The lock held by another process than the one the file names (a
    // daemon in another pid namespace: its `pid 1` is systemd here): not
    // signalled.
    let held = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
    held.lock().unwrap();
    let out = feedloom(&cfg, &["remove", &srv.url("/f.xml"), "--reload"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "names pid {}, but its lock is held by pid {}",
            child.id(),
            std::process::id()
        )),
        "{}",
        text(&out.stderr)
    );
    assert!(child.try_wait().unwrap().is_none(), "not signalled");
    feedloom(&cfg, &["add", &srv.url("/f.xml")]).await;
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
    // A stand-in daemon: a child process holding the lock (flock(1)), its
    // pid in the lock file.
    // (`-o`: the lock is flock's own, not also its `sleep`'s.)
    let mut child = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    let probe = std::fs::File::open(&lock).unwrap();
    for _ in 0..500 {
        match probe.try_lock_shared() {
            Ok(()) => {
                probe.unlock().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(_) => break,
        }
    }
    std::fs::write(&lock, format!("feedloom run (pid {})\n", child.id())).unwrap();
    let out = feedloom(&cfg, &["remove", &srv.url("/f.xml")]).await;
    assert!(
        text(&out.stdout).contains(&format!("the daemon (pid {}) picks this up", child.id())),
        "{}",
        text(&out.stdout)
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "no signal without --reload"
    );
    let out = feedloom(&cfg, &["add", &srv.url("/f.xml"), "--reload"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("reloaded the daemon (pid {})", child.id())),
        "{}",
        text(&out.stdout)
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGHUP), "the child got SIGHUP");

    // A `poll` holding the store is named as what holds it: no daemon to
    // reload (it said "no live pid in" the lock file).
    let held = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
    held.lock().unwrap();
    std::fs::write(
        &lock,
        format!("feedloom poll (pid {})\n", std::process::id()),
    )
    .unwrap();
    let out = feedloom(&cfg, &["remove", &srv.url("/f.xml"), "--reload"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("held by feedloom poll (pid"),
        "{}",
        text(&out.stderr)
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_polls_a_feed_added_with_reload() {
    let srv = FeedServer::start().await;
    srv.set("/first.xml", Resource::feed(three_items("First")));
    srv.set("/second.xml", Resource::feed(three_items("Second")));
    srv.set("/third.xml", Resource::feed(three_items("Third")));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = \"feedloom.db\"\n[server]\nlisten = \"127.0.0.1:0\"\n[defaults]\nspread = \"1s\"\n\
             [fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{}\"\n",
            srv.url("/first.xml")
        ),
    )
    .unwrap();
    // The daemon names itself in the store's lock file; killed however the test ends.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut daemon = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .env("FEEDLOOM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let hits = |p: &str| srv.seen().iter().filter(|s| s.path == p).count();
    let mut waited = 0;
    while hits("/first.xml") == 0 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(hits("/first.xml") > 0, "the daemon polls its first feed");
    let out = feedloom(&cfg, &["add", &srv.url("/second.xml"), "--reload"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let validation = hits("/second.xml");
    assert_eq!(validation, 1, "add fetched it once");
    let mut waited = 0;
    while hits("/second.xml") == validation && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    // Another config of the same store: the daemon would re-read its own,
    // so it is not signalled, and the hint says so.
    let other_dir = tempfile::tempdir().unwrap();
    let other = other_dir.path().join("other.toml");
    std::fs::write(
        &other,
        format!(
            "[store]\npath = \"{}\"\n[fetch]\nhost_gap = \"0s\"\n",
            dir.path().join("feedloom.db").display()
        ),
    )
    .unwrap();
    let theirs = std::path::absolute(&cfg).unwrap();
    let out = feedloom(&other, &["add", &srv.url("/third.xml"), "--reload"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(&format!(
            "reads another config, {}, not this one: not signalled",
            theirs.display()
        )),
        "{}",
        text(&out.stderr)
    );
    // (`feeds` of the other config names the daemon's: a reload of it
    // would not load this one.)
    let out = feedloom(&other, &["feeds"]).await;
    assert!(
        text(&out.stderr).contains(&format!("reads another config, {}: ", theirs.display()))
            && text(&out.stderr).contains("it does not fetch 1 it names yet")
            && !text(&out.stderr).contains("kill -HUP"),
        "{}",
        text(&out.stderr)
    );
    let out = feedloom(&other, &["remove", &srv.url("/third.xml")]).await;
    assert!(
        text(&out.stdout).contains(&format!(
            "reads another config, {}: it does not take this change in",
            theirs.display()
        )),
        "{}",
        text(&out.stdout)
    );
    assert!(daemon.0.try_wait().unwrap().is_none(), "the daemon runs on");
    // `feeds` while the daemon has not loaded an edit says so: its rows are
    // the config's, not the daemon's schedule (a removed feed read "nothing
    // fetches it" while the daemon fetched it).
    let out = feedloom(&cfg, &["feeds"]).await;
    assert!(
        !text(&out.stderr).contains("has not loaded"),
        "{}",
        text(&out.stderr)
    );
    let out = feedloom(&cfg, &["remove", &srv.url("/first.xml")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = feedloom(&cfg, &["feeds"]).await;
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "has not loaded {} yet: it still fetches 1 feed(s) the config no longer names ({})",
            cfg.display(),
            srv.url("/first.xml")
        )) && err.contains("kill -HUP"),
        "{err}"
    );
    // Stop it: SIGTERM.
    let _ = Command::new("kill").arg(daemon.0.id().to_string()).status();
    let _ = tokio::task::spawn_blocking(move || daemon.0.wait()).await;
    assert!(
        hits("/second.xml") > validation,
        "after the reload the daemon polls the new feed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_off_a_terminal_prints_the_summary_alone_and_counts_disabled_feeds() {
    let srv = FeedServer::start().await;
    srv.set("/ok.xml", Resource::feed(three_items("OK")));
    srv.set("/gone.xml", Resource::status(410));
    let (_dir, cfg) = setup(&format!(
        "[[feed]]\nurl = \"{}\"\n\n[[feed]]\nurl = \"{}\"\ntitle = \"日本語のフィード\"\n",
        srv.url("/ok.xml"),
        srv.url("/gone.xml")
    ));
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "feeds: 1 ok, 0 not modified, 1 failed, 0 disabled; items: 3 new, 0 updated\n"
    );
    let err = text(&out.stderr);
    assert!(
        !err.contains('\r') && !err.contains('\u{1b}') && !err.contains("feeds  "),
        "{err:?}"
    );
    let out = feedloom(&cfg, &["poll"]).await;
    assert_eq!(
        text(&out.stdout),
        "feeds: 0 ok, 1 not modified, 0 failed, 1 disabled; items: 0 new, 0 updated\n"
    );

    // `feeds` off a terminal: the whole table, nothing cut; `--json` for scripts.
    let out = feedloom(&cfg, &["feeds"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("FEED")
            && lines[0].contains("NEXT FETCH")
            && lines[0].ends_with("LAST ERROR"),
        "{table}"
    );
    let gone = lines.iter().find(|l| l.contains("gone.xml")).unwrap();
    assert!(gone.starts_with("日本語のフィード"), "{table}");
    assert!(gone.contains("disabled (410)"), "{table}");
    assert!(
        gone.ends_with(&format!("{} answered HTTP 410", srv.url("/gone.xml"))),
        "{table}"
    );
    let ok = lines.iter().find(|l| l.contains("ok.xml")).unwrap();
    assert!(ok.contains("not_modified") && ok.contains(" 3"), "{table}");

    let out = feedloom(&cfg, &["feeds", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let feeds = v.as_array().unwrap();
    assert_eq!(feeds.len(), 2);
    let gone = feeds
        .iter()
        .find(|f| f["url"] == srv.url("/gone.xml"))
        .unwrap();
    assert_eq!(gone["enabled"], false);
    assert_eq!(gone["http_status"], 410);
    assert_eq!(gone["title"], "日本語のフィード");
    let ok = feeds
        .iter()
        .find(|f| f["url"] == srv.url("/ok.xml"))
        .unwrap();
    assert_eq!(ok["items"], 3);
    assert!(ok["last_fetch_at_unix"].is_i64());
    assert!(ok["last_fetch_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_on_a_terminal_shows_progress() {
    // `script` runs the command on a pseudo-terminal (util-linux).
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `script` (util-linux) is not installed");
        return;
    }
    let srv = FeedServer::start().await;
    for i in 0..3 {
        srv.set(
            &format!("/slow{i}.xml"),
            Resource::feed(three_items("Slow")).delay(Duration::from_millis(400)),
        );
    }
    let urls: Vec<String> = (0..3).map(|i| srv.url(&format!("/slow{i}.xml"))).collect();
    let (dir, cfg) = setup(&common::feeds_toml(&urls));
    let cmd = format!(
        "{} --config {} poll",
        env!("CARGO_BIN_EXE_feedloom"),
        cfg.display()
    );
    let log = dir.path().join("tty.log");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qefc", &cmd])
            .arg(&log)
            .env("FEEDLOOM_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let seen = text(&out.stdout);
    assert!(
        seen.contains("/3 feeds"),
        "a progress bar on the terminal: {seen:?}"
    );
    assert!(seen.contains("new items"), "{seen:?}");
    assert!(
        seen.contains("feeds: 3 ok, 0 not modified, 0 failed, 0 disabled; items: 9 new, 0 updated"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_warns_about_no_feeds_and_tags_no_feed_carries() {
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["check"]).await;
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains(&format!("warning: {} has no feeds", cfg.display())),
        "{}",
        text(&out.stdout)
    );
    // And `poll`, which said nothing of it.
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains(&format!("{} has no feeds", cfg.display())),
        "{}",
        text(&out.stderr)
    );
    let (_dir, cfg) = setup("[[feed]]\nurl = \"https://a.example/f\"\ntags = [\"rust\"]\n");
    std::fs::write(
        &cfg,
        read(&cfg) + "\n[[output]]\nname = \"golang\"\ntags = [\"go\"]\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["check"]).await;
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(
        s.contains(
            "warning: output `golang` selects tags `go`, which no feed carries: it will stay empty"
        ),
        "{s}"
    );
    assert!(!s.contains("has no feeds"), "{s}");
    // A file or a loopback address marked untrusted is never fetched.
    let (_dir, cfg) = setup(
        "[[feed]]\nurl = \"file:f.xml\"\nuntrusted = true\n\n\
         [[feed]]\nurl = \"http://127.0.0.1:9/f.xml\"\nuntrusted = true\n\n\
         [[feed]]\nurl = \"https://a.example/f\"\nuntrusted = true\n",
    );
    let out = feedloom(&cfg, &["check"]).await;
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(
        s.contains("`file:f.xml` is marked `untrusted = true` and names a file on this machine: an untrusted feed is never fetched from there"),
        "{s}"
    );
    assert!(
        s.contains("`http://127.0.0.1:9/f.xml` is marked `untrusted = true` and names a loopback address (127.0.0.1)"),
        "{s}"
    );
    assert!(!s.contains("a.example/f` is marked"), "{s}");
}

/// With a PostgreSQL store there is no pid file, and any number of nodes:
/// `--reload` says so (it named the SQLite lock file of `[store] path`), and
/// the edit stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_on_postgresql_says_to_reload_each_node() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[store]\nurl = \"postgres://feedloom@127.0.0.1:9/feedloom\"\n\n\
         [[feed]]\nurl = \"https://a.example/f.xml\"\n\n[[feed]]\nurl = \"https://b.example/f.xml\"\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["remove", "https://a.example/f.xml", "--reload"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let said = text(&out.stderr);
    assert!(
        said.contains("the store is PostgreSQL")
            && said.contains("every host")
            && !said.contains(".lock"),
        "{said}"
    );
    assert!(!read(&cfg).contains("a.example"), "the edit stands");
    let out = feedloom(&cfg, &["remove", "https://b.example/f.xml"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the store is PostgreSQL: each node reads it when it reloads"),
        "{}",
        text(&out.stdout)
    );
}

/// Twelve `add`s at once (a script subscribing a list in parallel): every one
/// that says it added its feed has its block in the file, the others say the
/// file changed under them (and wrote nothing); the file still loads. Before,
/// two editors could both find the file unchanged and the second rename
/// dropped the first's feed after it had said "added". The same holds for a
/// config that does not exist yet: one `add` creates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_at_the_same_time_lose_no_edit_they_reported() {
    for fresh in [false, true] {
        let (dir, cfg) = setup("");
        if fresh {
            std::fs::remove_file(&cfg).unwrap();
        }
        let mut runs = Vec::new();
        for i in 0..12 {
            let feed = dir.path().join(format!("c{i}.xml"));
            std::fs::write(&feed, three_items(&format!("Feed {i}"))).unwrap();
            let url = format!("file://{}", feed.display());
            let cfg = cfg.clone();
            runs.push(tokio::spawn(async move {
                (url.clone(), feedloom(&cfg, &["add", &url]).await)
            }));
        }
        let mut added = Vec::new();
        for r in runs {
            let (url, out) = r.await.unwrap();
            if out.status.success() {
                added.push(url);
            } else {
                assert!(
                    text(&out.stderr).contains("changed while feedloom was editing it"),
                    "{}",
                    text(&out.stderr)
                );
            }
        }
        assert!(!added.is_empty());
        let now = read(&cfg);
        for url in &added {
            assert!(
                now.contains(&format!("url = \"{url}\"")),
                "reported added but missing: {url}\n{now}"
            );
        }
        let out = feedloom(&cfg, &["check"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

/// Credentials written in the URL given to `add` go with its requests (the
/// feed answered 401 and could not be added), with those to a feed the page
/// declares on its host, and into the config with that feed's URL; a page
/// served as HTML is one whatever it starts with (a long comment made it
/// "neither a feed nor an HTML page").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_url_reach_the_feed_and_the_config() {
    let srv = FeedServer::start().await;
    srv.set("/private.xml", Resource::feed(three_items("Private")));
    srv.set(
        "/site/",
        html("<link rel=\"alternate\" type=\"application/rss+xml\" href=\"/private.xml\">"),
    );
    let with_user = |path: &str| srv.url(path).replace("http://", "http://ann:s%40cret@");
    let basic = "Basic YW5uOnNAY3JldA=="; // ann:s@cret
    let auth_of = |srv: &FeedServer| -> Vec<Option<String>> {
        srv.seen()
            .iter()
            .map(|s| {
                s.headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string())
            })
            .collect()
    };

    let (_dir, cfg) = setup("");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = feedloom(&cfg, &["add", &with_user("/private.xml")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(auth_of(&srv), [Some(basic.to_string())]);
    // The config others may read keeps its mode, and the password it now
    // holds is said (nothing was).
    assert!(
        text(&out.stderr).contains("is readable by every user and now holds a password"),
        "{}",
        text(&out.stderr)
    );
    // A config that `add` creates to hold a password is its owner's only
    // (it was readable by everyone).
    {
        use std::os::unix::fs::PermissionsExt;
        let fresh = cfg.with_file_name("fresh.toml");
        let out = feedloom(&fresh, &["add", &with_user("/private.xml")]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        assert!(!text(&out.stderr).contains("readable by every user"));
        // A token in a feed's query is said too.
        let shared = cfg.with_file_name("shared.toml");
        std::fs::write(&shared, "").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        let url = format!("{}?token=Abc123secret", srv.url("/private.xml"));
        let out = feedloom(&shared, &["add", &url]).await;
        assert!(
            text(&out.stderr).contains("now holds a password or token"),
            "{}",
            text(&out.stderr)
        );
        // And a config `add` creates to hold a token is its owner's only
        // (it was readable by everyone, and nothing was said).
        let fresh = cfg.with_file_name("fresh-token.toml");
        let out = feedloom(&fresh, &["add", &url]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    srv.clear_seen();

    srv.clear_seen();
    let (_dir2, cfg2) = setup("");
    let out = feedloom(&cfg2, &["add", &with_user("/site/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        auth_of(&srv),
        [Some(basic.to_string()), Some(basic.to_string())]
    );
    assert!(
        read(&cfg2).contains(&format!("url = \"{}\"", with_user("/private.xml"))),
        "{}",
        read(&cfg2)
    );

    // Credentials the page writes in the URL of a feed on its host, which
    // moved for good: they go to where it moved, and into the config there.
    srv.clear_seen();
    srv.set(
        "/old-private.xml",
        Resource::status(301).header("location", "/private.xml"),
    );
    srv.set(
        "/open/",
        html(&format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"{}\">",
            with_user("/old-private.xml")
        )),
    );
    let (_dir4, cfg4) = setup("");
    let out = feedloom(&cfg4, &["add", &srv.url("/open/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        auth_of(&srv),
        [None, Some(basic.to_string()), Some(basic.to_string())]
    );
    assert!(
        read(&cfg4).contains(&format!("url = \"{}\"", with_user("/private.xml"))),
        "{}",
        read(&cfg4)
    );

    // And written in the URL of a feed that did not move.
    srv.set(
        "/open2/",
        html(&format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"{}\">",
            with_user("/private.xml")
        )),
    );
    let (_dir5, cfg5) = setup("");
    let out = feedloom(&cfg5, &["add", &srv.url("/open2/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        read(&cfg5).contains(&format!("url = \"{}\"", with_user("/private.xml"))),
        "{}",
        read(&cfg5)
    );

    srv.clear_seen();
    let comment = format!("<!-- {} -->", "x".repeat(2_000));
    srv.set(
        "/commented/",
        Resource::feed(format!(
            "{comment}<html><head></head><body>hi</body></html>"
        ))
        .content_type("text/html"),
    );
    srv.set("/commented/feed", Resource::status(404));
    srv.set("/rss.xml", Resource::feed(three_items("Probed")));
    let (_dir3, cfg3) = setup("");
    let out = feedloom(&cfg3, &["add", &srv.url("/commented/")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        read(&cfg3).contains(&srv.url("/rss.xml")),
        "{}",
        read(&cfg3)
    );
}

/// A feed the store disabled (410 Gone), removed and added again once it is
/// back: `add` says it stays disabled and how to enable it (it said the next
/// poll fetches it, which never happened), and `enable` then brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_again_a_feed_the_store_disabled_says_how_to_enable_it() {
    let srv = FeedServer::start().await;
    srv.set("/gone.xml", Resource::status(410));
    let url = srv.url("/gone.xml");
    let (_dir, cfg) = setup(&format!("[[feed]]\nurl = \"{url}\"\n"));
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = feedloom(&cfg, &["remove", &url]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    srv.set("/gone.xml", Resource::feed(three_items("Back")));
    let out = feedloom(&cfg, &["add", &url]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("disabled (HTTP 410)") && said.contains(&format!("feedloom enable {url}")),
        "{said}"
    );
    assert!(
        !said.contains("`feedloom poll` fetches now"),
        "a poll does not fetch it: {said}"
    );
    // So does an import of it from OPML (it said the next poll fetched it).
    let out = feedloom(&cfg, &["remove", &url]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let opml = cfg.with_file_name("subs.opml");
    std::fs::write(
        &opml,
        format!(
            "<opml version=\"2.0\"><body><outline type=\"rss\" xmlUrl=\"{url}\"/></body></opml>"
        ),
    )
    .unwrap();
    let out = feedloom(
        &cfg,
        &["import-opml", "--allow-local", opml.to_str().unwrap()],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("disabled (HTTP 410)") && said.contains(&format!("feedloom enable {url}")),
        "{said}"
    );
    assert!(!said.contains("`feedloom poll` fetches now"), "{said}");
    let out = feedloom(&cfg, &["enable", &url]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(text(&out.stdout).contains("3 new"), "{}", text(&out.stdout));
    // A feed the store has enabled gets no such note.
    let out = feedloom(&cfg, &["remove", &url]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = feedloom(&cfg, &["add", &url]).await;
    assert!(
        !text(&out.stdout).contains("disabled"),
        "{}",
        text(&out.stdout)
    );
}

/// The address a configured feed moved to (a permanent redirect the store
/// followed: `feedloom feeds` shows `[moved to URL]`) is that feed: `add` of it
/// made a second row, and every poll fetched the feed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_the_address_a_feed_moved_to_is_refused() {
    let srv = FeedServer::start().await;
    srv.set(
        "/old.xml",
        Resource::status(301).header("location", "/new.xml"),
    );
    srv.set("/new.xml", Resource::feed(three_items("Moved")));
    let old = srv.url("/old.xml");
    let new = srv.url("/new.xml");
    let (_dir, cfg) = setup(&format!("[[feed]]\nurl = \"{old}\"\n"));
    // (The fetch address moves after `redirect_after`, 3, identical redirects.)
    for _ in 0..3 {
        let out = feedloom(&cfg, &["poll"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = feedloom(&cfg, &["feeds"]).await;
    assert!(
        text(&out.stdout).contains(&format!("[moved to {new}]")),
        "{}",
        text(&out.stdout)
    );
    let before = read(&cfg);
    let out = feedloom(&cfg, &["add", &new]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(&format!(
            "already subscribed: the feed `{old}` at {}:11 moved to {new}",
            cfg.display()
        )),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read(&cfg), before, "the config is not changed");
    // Nor through an alias that redirects there, nor from an OPML file.
    srv.set(
        "/alias.xml",
        Resource::status(302).header("location", "/new.xml"),
    );
    let out = feedloom(&cfg, &["add", &srv.url("/alias.xml")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(&format!("moved to {new}")),
        "{}",
        text(&out.stderr)
    );
    let opml = cfg.with_file_name("subs.opml");
    std::fs::write(
        &opml,
        format!("<opml version=\"2.0\"><body><outline type=\"rss\" text=\"N\" xmlUrl=\"{new}\"/></body></opml>"),
    )
    .unwrap();
    let out = feedloom(
        &cfg,
        &["import-opml", opml.to_str().unwrap(), "--allow-local"],
    )
    .await;
    assert!(
        text(&out.stdout).contains("imported 0 feeds, skipped 1 duplicates"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(read(&cfg), before, "the config is not changed");
    // Removed by the address it moved to, as `feeds` lists it (it was "no
    // feed with url …").
    let out = feedloom(&cfg, &["remove", &new]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!(
            "removed {old} (which moved to {new}) from {}:11;",
            cfg.display()
        )),
        "{}",
        text(&out.stdout)
    );
    // Named by its new address instead, it is one feed still.
    let out = feedloom(&cfg, &["add", &new]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Both written in the config by hand (or both imported before the
    // move): each poll says so, naming the old address.
    std::fs::write(&cfg, format!("{}\n[[feed]]\nurl = \"{old}\"\n", read(&cfg))).unwrap();
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("moved to an address the config names too")
            && text(&out.stderr).contains(&old),
        "{}",
        text(&out.stderr)
    );
}

/// A config that is not UTF-8 is the config's fault for every command (exit
/// 2, as `check` says); `add` and `remove` exited 1, as for a failed read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_is_not_utf8_is_a_config_error_for_edits_too() {
    let (_dir, cfg) = setup("");
    let mut bytes = read(&cfg).into_bytes();
    bytes.extend_from_slice(b"# caf\xe9\n");
    std::fs::write(&cfg, &bytes).unwrap();
    for args in [
        &["check"][..],
        &["add", "http://127.0.0.1:9/f.xml"],
        &["remove", "http://127.0.0.1:9/f.xml"],
    ] {
        let out = feedloom(&cfg, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        // (Located: line and column of the byte.)
        assert!(
            text(&out.stderr).contains(":6: byte 0xE9 is not UTF-8"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(std::fs::read(&cfg).unwrap(), bytes, "nothing written");
}

/// A 410 reached through a temporary redirect (302) does not disable the
/// feed: the configured address only points elsewhere for now (one
/// maintenance redirect to a gone page disabled it for good). Through a
/// permanent one (301), it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_behind_a_temporary_redirect_does_not_disable_the_feed() {
    let srv = FeedServer::start().await;
    srv.set("/gone", Resource::status(410));
    srv.set(
        "/for-now.xml",
        Resource::status(302).header("location", "/gone"),
    );
    srv.set(
        "/for-good.xml",
        Resource::status(301).header("location", "/gone"),
    );
    let (now, good) = (srv.url("/for-now.xml"), srv.url("/for-good.xml"));
    let (_dir, cfg) = setup(&format!(
        "[[feed]]\nurl = \"{now}\"\n\n[[feed]]\nurl = \"{good}\"\n"
    ));
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(
        text(&out.stdout).contains("0 ok, 0 not modified, 2 failed"),
        "{}",
        text(&out.stdout)
    );
    let out = feedloom(&cfg, &["feeds", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let enabled = |url: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["url"] == url)
            .map(|r| r["enabled"].clone())
    };
    assert_eq!(enabled(&now), Some(serde_json::json!(true)), "{rows}");
    assert_eq!(enabled(&good), Some(serde_json::json!(false)), "{rows}");
    // Fixed on the server: the next poll reads it.
    srv.set("/for-now.xml", Resource::feed(three_items("Back")));
    let out = feedloom(&cfg, &["poll", "--all"]).await;
    assert!(text(&out.stdout).contains("3 new"), "{}", text(&out.stdout));
}

/// Removing the last feed of a config that says nothing else leaves a line
/// saying so, not an empty file: a daemon's reload refuses an empty config
/// (one caught while being written) and kept fetching the feed, while
/// `remove --reload` said it had reloaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_last_feed_leaves_a_config_a_reload_takes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        // (A line-ending backslash: a title holds no line break.)
        "[[feed]]\nurl = \"https://a.example/f.xml\"\ntitle = \"\"\"A \\\n# b\"\"\"\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["remove", "https://a.example/f.xml"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("removed https://a.example/f.xml (\"A # b\") from"),
        "{}",
        text(&out.stdout)
    );
    let left = read(&cfg);
    assert_eq!(left, feedloom::config::edit::NO_FEEDS_LEFT);
    let out = feedloom(&cfg, &["check"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `add` of an address that moved for good (301 or 308) subscribes where
/// the feed is now, and says so: adding the new address later was taken for
/// a second feed, fetched twice. A temporary redirect keeps the address given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_subscribes_where_a_feed_moved_for_good() {
    let srv = FeedServer::start().await;
    srv.set("/new.xml", Resource::feed(three_items("Moved")));
    srv.set(
        "/old.xml",
        Resource::status(301).header("location", "/new.xml"),
    );
    srv.set("/other.xml", Resource::feed(three_items("Other")));
    srv.set(
        "/for-now.xml",
        Resource::status(302).header("location", "/other.xml"),
    );
    let (_dir, cfg) = setup("");
    let out = feedloom(&cfg, &["add", &srv.url("/old.xml")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!(
            "{} moved to {} (a permanent redirect)",
            srv.url("/old.xml"),
            srv.url("/new.xml")
        )),
        "{}",
        text(&out.stdout)
    );
    let written = read(&cfg);
    assert!(
        written.contains(&format!("url = \"{}\"", srv.url("/new.xml"))),
        "{written}"
    );
    assert!(!written.contains("/old.xml"), "{written}");
    let out = feedloom(&cfg, &["add", &srv.url("/new.xml")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("already subscribed"));
    assert_eq!(read(&cfg), written);
    let out = feedloom(&cfg, &["add", &srv.url("/for-now.xml")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read(&cfg).contains(&format!("url = \"{}\"", srv.url("/for-now.xml"))));
    // Found through a page that declares the old address: the same.
    srv.set("/third.xml", Resource::feed(three_items("Third")));
    srv.set(
        "/old-third.xml",
        Resource::status(308).header("location", "/third.xml"),
    );
    srv.set(
        "/page",
        html(&format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"{}\">",
            srv.url("/old-third.xml")
        )),
    );
    let out = feedloom(&cfg, &["add", &srv.url("/page")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = read(&cfg);
    assert!(
        written.contains(&format!("url = \"{}\"", srv.url("/third.xml"))),
        "{written}"
    );
    assert!(!written.contains("/old-third.xml"), "{written}");
}

/// Sets the extended attribute `name` of `path`; false where the file system
/// keeps none.
fn set_xattr(path: &Path, name: &str, value: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    // SAFETY: valid NUL-terminated strings and a buffer of `value.len()` bytes.
    unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: as above, `buf` has `buf.len()` writable bytes.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

/// An edit keeps the config's extended attributes (its ACL among them) and,
/// for an editor in the file's group but not its owner, the group: the
/// daemon's user, reading the config through either, could no longer read
/// it after an `add` that said "added". A group the editor may not give the
/// new file is refused, the file unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_keeps_the_group_and_extended_attributes() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    let feeds: String = ["a", "b", "c"]
        .iter()
        .map(|h| format!("[[feed]]\nurl = \"https://{h}.example/f.xml\"\n"))
        .collect();
    std::fs::write(&cfg, &feeds).unwrap();
    if set_xattr(&cfg, "user.feedloom-test", b"kept") {
        let out = feedloom(&cfg, &["remove", "https://a.example/f.xml"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            get_xattr(&cfg, "user.feedloom-test").as_deref(),
            Some(&b"kept"[..])
        );
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // (Playing another user needs root.)
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let as_member = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_feedloom"));
        c.arg("--config").arg(&cfg).args(args).stdin(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(|| {
                let groups = [64_000 as libc::gid_t];
                if libc::setgroups(1, groups.as_ptr()) != 0
                    || libc::setgid(64_001) != 0
                    || libc::setuid(64_001) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        c.output().unwrap()
    };
    // Owned by root, group 64000 (the editor's, not its first), mode 0660.
    std::os::unix::fs::chown(&cfg, Some(0), Some(64_000)).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o660)).unwrap();
    let out = as_member(&["remove", "https://b.example/f.xml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = std::fs::metadata(&cfg).unwrap();
    assert_eq!((m.gid(), m.mode() & 0o777), (64_000, 0o660));
    // A group the editor is not in, which may read the file: refused.
    std::os::unix::fs::chown(&cfg, Some(0), Some(64_002)).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666)).unwrap();
    let before = read(&cfg);
    let out = as_member(&["remove", "https://c.example/f.xml"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cannot keep the group (gid 64002)"), "{err}");
    assert_eq!(read(&cfg), before);
    assert_eq!(std::fs::metadata(&cfg).unwrap().gid(), 64_002);
    // An owner (no root, in no group the user database names) who could no
    // longer read the file the editor would make its own: refused.
    std::os::unix::fs::chown(&cfg, Some(64_003), Some(64_000)).unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o660)).unwrap();
    let out = as_member(&["remove", "https://c.example/f.xml"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cannot keep the owner (uid 64003)"), "{err}");
    assert_eq!(read(&cfg), before);
    assert_eq!(std::fs::metadata(&cfg).unwrap().uid(), 64_003);
}

/// Commands that send no request do not need the feeds' secrets: a bearer
/// token in a file only the service can read (`/run/secrets/…`), a header
/// from a variable only its unit sets. `feeds`, `export`, `search` and
/// `remove` (of the very feed whose secret is gone) work; `check` and `poll`,
/// which need them, say which is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_send_no_request_do_not_read_the_feeds_secrets() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(three_items("A")));
    srv.set("/b.xml", Resource::feed(three_items("B")));
    let (a, b) = (srv.url("/a.xml"), srv.url("/b.xml"));
    let (dir, cfg) = setup(&format!(
        "[[feed]]\nurl = \"{a}\"\n\n[[feed]]\nurl = \"{b}\"\n"
    ));
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secret = dir.path().join("gone").join("token");
    let text_cfg = read(&cfg).replace(
        &format!("url = \"{b}\"\n"),
        &format!(
            "url = \"{b}\"\nauth = {{ bearer = {{ file = \"{}\" }} }}\nheaders = {{ X-Key = {{ env = \"FEEDLOOM_TEST_UNSET_KEY\" }} }}\n",
            secret.display()
        ),
    );
    std::fs::write(&cfg, &text_cfg).unwrap();
    for args in [
        &["feeds"][..],
        &["export", "--output", "all"],
        &["search", "A"],
        &["export-opml"],
    ] {
        let out = feedloom(&cfg, args).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    for args in [&["check"][..], &["poll"]] {
        let out = feedloom(&cfg, args).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(&secret.display().to_string())
                || text(&out.stderr).contains("FEEDLOOM_TEST_UNSET_KEY"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = feedloom(&cfg, &["remove", &b]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!read(&cfg).contains("bearer"), "{}", read(&cfg));
    let out = feedloom(&cfg, &["check"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `export` and `search` select by the feed list and tags the last `poll`
/// synced into the store, and never write it: when the config says
/// otherwise (a feed removed, one added, tags changed), they say so, and
/// the next `poll` applies it. (They listed a removed feed's stories, and
/// left out an added or retagged feed's, without a word.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_search_say_when_the_store_has_not_synced_the_config() {
    let srv = FeedServer::start().await;
    srv.set("/a.xml", Resource::feed(three_items("A")));
    srv.set("/b.xml", Resource::feed(three_items("B")));
    let (a, b) = (srv.url("/a.xml"), srv.url("/b.xml"));
    let (_dir, cfg) = setup(&format!(
        "[[feed]]\nurl = \"{a}\"\n\n[[feed]]\nurl = \"{b}\"\n"
    ));
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let quiet = |out: &Output| !text(&out.stderr).contains("warning");
    let out = feedloom(&cfg, &["export"]).await;
    assert!(out.status.success() && quiet(&out), "{}", text(&out.stderr));
    let out = feedloom(&cfg, &["remove", &b]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(
        &cfg,
        read(&cfg).replace(
            &format!("url = \"{a}\"\n"),
            &format!("url = \"{a}\"\ntags = [\"x\"]\n"),
        ),
    )
    .unwrap();
    for args in [&["export"][..], &["search", "A"]] {
        let out = feedloom(&cfg, args).await;
        let err = text(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains("1 feed(s) the config no longer names still count"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(&b) && err.contains("keep their old tags"),
            "{args:?}: {err}"
        );
        assert!(err.contains("`feedloom poll`"), "{args:?}: {err}");
        // (Worded as one line: ten spaces stood in it.)
        assert!(
            err.contains("daemon (re)load synced, not yet by") && !err.contains("   "),
            "{args:?}: {err}"
        );
    }
    let out = feedloom(&cfg, &["poll"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    for args in [&["export"][..], &["search", "A"]] {
        let out = feedloom(&cfg, args).await;
        assert!(
            out.status.success() && quiet(&out),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
