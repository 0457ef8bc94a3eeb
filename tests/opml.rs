//! `feedloom import-opml` and `export-opml` as a user runs them: OPML files in the
//! shapes other readers export (tests/fixtures/opml/), the config they produce,
//! and export → import giving back the same feeds and tags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use feedloom::config;

fn feedloom(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .unwrap()
}

fn read_to(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/opml")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// url → (title, tags) of a config's feeds.
type Feeds = BTreeMap<String, (Option<String>, Vec<String>)>;

fn feeds_of(path: &Path) -> Feeds {
    config::load(path)
        .unwrap()
        .feeds
        .iter()
        .map(|f| (f.url().to_string(), (f.title.clone(), f.tags.clone())))
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn tags(v: &[&str]) -> Vec<String> {
    v.iter().map(|t| t.to_string()).collect()
}

/// Imports `file` into a fresh empty config; returns (config path, output).
fn import_fresh(file: &str) -> (tempfile::TempDir, PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = feedloom(&cfg, &["import-opml", &fixture(file)]);
    (dir, cfg, out)
}

#[test]
fn miniflux_export_folders_become_tags_and_type_is_optional() {
    let (_dir, cfg, out) = import_fresh("miniflux.opml");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .starts_with("imported 3 feeds, skipped 0 duplicates, 0 outlines without a feed URL\n"),
        "{stdout}"
    );
    assert!(stdout.contains("feedloom.toml, lines 1-"), "{stdout}");
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds["https://engineering.example.com/feed.xml"],
        (s("Example Engineering"), tags(&["All"]))
    );
    assert_eq!(
        feeds["https://kernel-digest.example.org/rss"],
        (s("Kernel Digest"), tags(&["Linux"]))
    );
    assert_eq!(feeds.len(), 3);
}

#[test]
fn freshrss_namespaced_attributes_entities_in_folders_and_empty_categories() {
    let (_dir, cfg, out) = import_fresh("freshrss.opml");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .starts_with("imported 3 feeds, skipped 0 duplicates, 1 outlines without a feed URL"),
        "{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("freshrss.opml:15: outline \"Empty category\" has no xmlUrl"),
        "{err}"
    );
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds["https://orbit.example.com/rss.xml"],
        (s("Orbit Weekly"), tags(&["Science & Tech"]))
    );
    assert_eq!(
        feeds["https://bread.example.org/feed/"],
        (s("Daily Bread Blog"), tags(&["Uncategorized"]))
    );
}

#[test]
fn newsboat_flat_list_categories_queries_and_feed_scheme() {
    let (_dir, cfg, out) = import_fresh("newsboat.opml");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds["https://search.example.com/feed?q=rust&sort=new"],
        (s("Search: rust"), tags(&["rust", "search"]))
    );
    assert_eq!(
        feeds["http://podcasts.example.net/show.xml"],
        (s("A Podcast"), vec![])
    );
    assert_eq!(
        feeds["https://planet.example.org/rss20.xml"],
        (s("Planet Example"), vec![])
    );
}

#[test]
fn feedly_duplicates_counted_tags_merged_html_entities_decoded() {
    let (_dir, cfg, out) = import_fresh("feedly.opml");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .starts_with("imported 3 feeds, skipped 1 duplicates, 1 outlines without a feed URL"),
        "{}",
        text(&out.stdout)
    );
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds["https://verge.example.com/rss/index.xml"],
        (s("The Verge-ish"), tags(&["Tech", "Must read"]))
    );
    assert_eq!(
        feeds["https://joe.example.net/feed"].0.as_deref(),
        Some("Joe\u{2019}s Hardware Log")
    );
    assert_eq!(
        feeds["https://economics.example.org/feed.xml"].0.as_deref(),
        Some("Ben & Jerry's Economics")
    );
    assert!(text(&out.stderr).contains("\"A bookmarked page\" has no xmlUrl"));
}

#[test]
fn inoreader_attribute_case_nested_folders_and_an_invalid_url() {
    let (_dir, cfg, out) = import_fresh("inoreader.opml");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(
            "imported 3 feeds, skipped 0 duplicates, 0 outlines without a feed URL, 1 with an invalid URL"
        ),
        "{stdout}"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("inoreader.opml:12: skipped: invalid URL `mailto:news@example.jp`"),
        "{err}"
    );
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds["https://cafe.example.fr/feed.atom"],
        (s("Café Chronicle"), vec![])
    );
    assert_eq!(
        feeds["https://wire.example.com/world.rss"],
        (s("Wire Desk"), tags(&["World"]))
    );
    assert_eq!(
        feeds["https://tokyo.example.jp/rss"],
        (s("東京ニュース"), tags(&["World", "Asia"]))
    );
}

#[test]
fn importing_twice_and_over_existing_feeds_skips_duplicates_by_canonical_url() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    // Already subscribed, written differently: http, a trailing slash, utm_ parameters.
    let before = "# my config\n\n# the wire\n[[feed]]\nurl = \"http://wire.example.com/world.rss/?utm_source=x\"\ntags = [\"mine\"]\n";
    std::fs::write(&cfg, before).unwrap();
    let out = feedloom(&cfg, &["import-opml", &fixture("inoreader.opml")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("imported 2 feeds, skipped 1 duplicates"),
        "{}",
        text(&out.stdout)
    );
    let after = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        after.starts_with(before),
        "the old text stays as it was:\n{after}"
    );
    let out = feedloom(&cfg, &["import-opml", &fixture("inoreader.opml")]);
    assert!(
        text(&out.stdout).starts_with("imported 0 feeds, skipped 3 duplicates"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("unchanged"));
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), after);
}

#[test]
fn a_bad_opml_file_names_the_file_and_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(&cfg, "# untouched\n").unwrap();
    let bad = dir.path().join("bad.opml");
    std::fs::write(
        &bad,
        "<?xml version=\"1.0\"?>\n<opml version=\"2.0\">\n<body>\n<outline text=\"a\" xmlUrl=\"https://a.example/f\">\n</body>\n</opml>\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["import-opml", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}:5:", bad.display())), "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "# untouched\n");

    // A feed is not an OPML file.
    std::fs::write(&bad, "<rss version=\"2.0\"><channel/></rss>").unwrap();
    let out = feedloom(&cfg, &["import-opml", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("root element is <rss>"));

    let out = feedloom(&cfg, &["import-opml", "/nonexistent/subs.opml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/subs.opml"));
}

#[test]
fn export_then_import_gives_the_same_feeds_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("samples")).unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        r#"[store]
path = "f.db"

[[feed]]
url = "https://blog.example.org/feed.xml"
title = "Tom & Jerry's <b>\"Blog\"</b>"
tags = ["rust", "programming"]
every = "2h"

[[feed]]
url = "https://news.example.com/rss?id=1&lang=en"
tags = ["news"]

[[feed]]
url = "https://go.example.dev/feed.atom"
tags = ["programming", "go"]

[[feed]]
url = "https://tokyo.example.jp/rss"
title = "東京ニュース"

[[feed]]
url = "https://amp.example.net/feed"
title = "Tom &amp; Jerry &lt;3, two  spaces"
tags = ["/r/rust", "b"]

[[feed]]
url = "https://self.example.net/feed"
title = "https://self.example.net/feed"

[[feed]]
url = "file:samples/local.xml"
tags = ["local", "c/c++"]

[[feed]]
url = "https://comma.example/feed"
tags = ["News, Tech", "x", "a,b"]
"#,
    )
    .unwrap();
    let out = feedloom(&cfg, &["export-opml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let opml = text(&out.stdout);
    assert!(opml.contains("<opml version=\"2.0\">"), "{opml}");
    assert!(
        opml.contains("<outline text=\"programming\" title=\"programming\">"),
        "folders by first tag: {opml}"
    );
    assert!(opml.contains("category=\"rust,programming\""), "{opml}");
    // (A tag with a comma is a folder of its own, not in `category`: it came
    // back as three tags.)
    assert!(opml.contains("category=\"x\""), "{opml}");
    assert!(!opml.contains("News, Tech,"), "{opml}");
    assert!(opml.contains("xmlUrl=\"https://news.example.com/rss?id=1&amp;lang=en\""));

    // Into a file, then into an empty config in another folder.
    let file = dir.path().join("subs.opml");
    let out = feedloom(&cfg, &["export-opml", "--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), opml);
    // `-` is stdout, not a file named `-`.
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .current_dir(dir.path())
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "export-opml",
            "--output",
            "-",
        ])
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), opml);
    assert!(!dir.path().join("-").exists(), "a file named - was written");
    let other = tempfile::tempdir().unwrap();
    let cfg2 = other.path().join("feedloom.toml");
    std::fs::write(&cfg2, "").unwrap();
    // Its `file:` feed is skipped unless asked for.
    let out = feedloom(&cfg2, &["import-opml", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(
            "imported 7 feeds, skipped 1 duplicates, 0 outlines without a feed URL, \
             1 on this machine or a private address (--allow-local)"
        ),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("it names a file on this machine (pass --allow-local"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&cfg2, "").unwrap();
    let out = feedloom(
        &cfg2,
        &["import-opml", file.to_str().unwrap(), "--allow-local"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .starts_with("imported 8 feeds, skipped 1 duplicates, 0 outlines without a feed URL"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(feeds_of(&cfg2), feeds_of(&cfg));
    // `-` is standard input (a pipe from `export-opml --output -`).
    let third = tempfile::tempdir().unwrap();
    let cfg3 = third.path().join("feedloom.toml");
    std::fs::write(&cfg3, "").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args([
            "--config",
            cfg3.to_str().unwrap(),
            "import-opml",
            "-",
            "--allow-local",
        ])
        .current_dir(dir.path())
        .env("FEEDLOOM_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), opml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("imported 8 feeds"),
        "{}",
        text(&out.stdout)
    );
    // Exporting the imported config gives the same document.
    let again = feedloom(&cfg2, &["export-opml"]);
    assert_eq!(text(&again.stdout), opml);
    // Never over the config it reads (it was replaced by the OPML).
    let before = std::fs::read(&cfg).unwrap();
    let out = feedloom(&cfg, &["export-opml", "--output", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is the config file itself"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
    // Nor into a folder that does not exist (a typo made folders).
    let typo = dir.path().join("typo/sub/x.opml");
    let out = feedloom(&cfg, &["export-opml", "--output", typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("sub does not exist (create it first)"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("typo").exists());
    for (output, says) in [
        (
            dir.path().join("nodir/"),
            "is a folder; name the file to write",
        ),
        (dir.path().join("subs.opml/x.opml"), "is not a folder"),
    ] {
        let out = feedloom(&cfg, &["export-opml", "--output", output.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    // Nor over the store or its files (the store was lost, unsaid).
    for name in ["f.db", "f.db-wal"] {
        let store = cfg.with_file_name(name);
        std::fs::write(&store, b"the store").unwrap();
        let out = feedloom(&cfg, &["export-opml", "--output", store.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("or one of its files"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(std::fs::read(&store).unwrap(), b"the store");
    }
    // Nor over a file of another kind (a backup of the store given by
    // mistake became OPML); an OPML file written before is replaced.
    let backup = dir.path().join("backup.db");
    let mut db = b"SQLite format 3\0".to_vec();
    db.extend([0u8; 100]);
    std::fs::write(&backup, &db).unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "my notes").unwrap();
    for (file, kind) in [
        (&backup, "a SQLite database"),
        (&notes, "another kind of file"),
    ] {
        let out = feedloom(&cfg, &["export-opml", "--output", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&format!("exists and is {kind}, not an OPML file")),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(std::fs::read(&backup).unwrap(), db);
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes");
    std::fs::write(&file, "<?xml version=\"1.0\"?><opml/>").unwrap();
    let out = feedloom(&cfg, &["export-opml", "--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), opml);
}

#[test]
fn an_opml_file_does_not_subscribe_local_files_or_private_addresses_unasked() {
    // A feed in the config is fetched without address checks: an OPML file
    // from elsewhere could otherwise subscribe this machine's files or cloud
    // metadata, and publish what parses.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(&cfg, "").unwrap();
    let opml = dir.path().join("in.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>x</title></head><body>
<outline text="diary" xmlUrl="file:///home/me/private/diary.rss"/>
<outline text="meta" xmlUrl="http://169.254.169.254/latest/meta-data/"/>
<outline text="lo" xmlUrl="http://127.0.0.1:22/"/>
<outline text="local" xmlUrl="http://localhost/feed.xml"/>
<outline text="lan" xmlUrl="http://[fd00::1]/feed.xml"/>
<outline text="public" xmlUrl="https://blog.example.org/feed.xml"/>
</body></opml>"#,
    )
    .unwrap();
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(
            "imported 1 feeds, skipped 0 duplicates, 0 outlines without a feed URL, \
             5 on this machine or a private address (--allow-local)"
        ),
        "{}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    for line in 3..=7 {
        assert!(
            stderr.contains(&format!("in.opml:{line}: skipped ")),
            "{stderr}"
        );
    }
    for why in [
        "it names a cloud metadata address (169.254.169.254)",
        "it names a loopback address (127.0.0.1)",
        "it names a unique local address (fd00::1)",
    ] {
        assert!(stderr.contains(why), "{why}: {stderr}");
    }
    let feeds = feeds_of(&cfg);
    assert_eq!(feeds.len(), 1, "{feeds:?}");
    // A host name is only checked when the daemon connects: the feed is
    // marked for it.
    assert!(
        read_to(&cfg).contains(
            "url = \"https://blog.example.org/feed.xml\"\ntitle = \"public\"\nuntrusted = true\n"
        ),
        "{}",
        read_to(&cfg)
    );
    assert!(feedloom::config::load(&cfg).unwrap().feeds[0].untrusted);
    // Vouched for: imported as the admin's own, unmarked.
    std::fs::write(&cfg, "").unwrap();
    let out = feedloom(
        &cfg,
        &["import-opml", opml.to_str().unwrap(), "--allow-local"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(feeds_of(&cfg).len(), 6);
    assert!(!read_to(&cfg).contains("untrusted"), "{}", read_to(&cfg));
}

/// What an import that adds nothing says: a local feed the config has is a
/// duplicate (it was "on this machine", and --allow-local gained nothing);
/// the tags warning counts feeds imported only (it counted skipped ones, at
/// the line of one); a config that does not exist is "not created" (it was
/// "unchanged"); `--reload` still asks the daemon to reload (it was skipped
/// without a word).
#[test]
fn an_import_that_adds_nothing_says_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[store]\npath = \"f.db\"\n\n[[feed]]\nurl = \"http://127.0.0.1:9/b.xml\"\n\n\
         [[feed]]\nurl = \"https://ex.com/already\"\n",
    )
    .unwrap();
    let opml = dir.path().join("in.opml");
    let many: Vec<String> = (1..=18).map(|n| format!("c{n}")).collect();
    std::fs::write(
        &opml,
        format!(
            "<opml version=\"2.0\"><body>\n\
             <outline text=\"lo\" xmlUrl=\"http://127.0.0.1:9/b.xml\"/>\n\
             <outline text=\"bad\" category=\"{0}\" xmlUrl=\"ftp://ex.com/f\"/>\n\
             <outline text=\"dup\" category=\"{0}\" xmlUrl=\"https://ex.com/already\"/>\n\
             </body></opml>\n",
            many.join(",")
        ),
    )
    .unwrap();
    let before = read_to(&cfg);
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("imported 0 feeds, skipped 2 duplicates")
            && !stdout.contains("on this machine"),
        "{stdout}"
    );
    assert!(!stderr.contains("tags"), "{stderr}");
    assert!(stdout.contains("unchanged"), "{stdout}");
    assert_eq!(read_to(&cfg), before);
    // --reload with no daemon: said, as `add --reload` says it.
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap(), "--reload"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("reload"),
        "{}",
        text(&out.stderr)
    );
    // A config that does not exist is not created, and not said unchanged.
    let missing = dir.path().join("new.toml");
    std::fs::write(&opml, "<opml version=\"2.0\"><head/></opml>").unwrap();
    let out = feedloom(&missing, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("new.toml not created (nothing to import)"),
        "{}",
        text(&out.stdout)
    );
    assert!(!missing.exists());
}

#[test]
fn exported_opml_is_well_formed_whatever_the_titles_hold() {
    // Characters XML cannot carry: a noncharacter in a title, a control
    // character in a URL. (A title or tag with a control character is
    // refused by the config since the twenty-third stop: an import writes
    // them as spaces, `add --title` refuses them.)
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[[feed]]\nurl = \"https://a.example/f\"\ntitle = \"Title [31m red\\uFFFE\"\ntags = [\"tag\"]\n\
         [[feed]]\nurl = \"https://a.example/a\\u0001b\"\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["export-opml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let opml = text(&out.stdout);
    assert!(
        !opml.contains(['\u{1}', '\u{2}', '\u{1b}', '\u{fffe}']),
        "{opml:?}"
    );
    assert!(opml.contains("title=\"Title [31m red\""), "{opml}");
    assert!(opml.contains("<outline text=\"tag\""), "{opml}");
    // A URL with one is given percent-encoded (it was written raw).
    assert!(
        opml.contains("xmlUrl=\"https://a.example/a%01b\""),
        "{opml}"
    );
    // An escape in a title: the config is refused, naming the line.
    std::fs::write(
        &cfg,
        "[[feed]]\nurl = \"https://a.example/f\"\ntitle = \"T\\u001b[31m\"\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["export-opml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(":3:1: a feed's `title` holds a control character"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn import_creates_a_missing_config_and_export_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("new.toml");
    let out = feedloom(&cfg, &["import-opml", &fixture("miniflux.opml")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("created "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(feeds_of(&cfg).len(), 3);
    let before = std::fs::read_dir(dir.path()).unwrap().count();
    let out = feedloom(&cfg, &["export-opml"]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        before,
        "export-opml reads the config only: no store, no files"
    );
}

/// `export-opml --output` (as every output file) replaces a link rather than
/// writing through it, and neither it nor the config editors replace a device
/// or a pipe with a plain file, nor read one for ever (a FIFO stands in for
/// `/dev/null`, `/dev/zero`).
#[test]
fn files_written_whole_replace_links_and_refuse_pipes_and_devices() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(&cfg, "[[feed]]\nurl = \"https://a.example/feed\"\n").unwrap();
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let is_fifo = |p: &Path| {
        use std::os::unix::fs::FileTypeExt;
        std::fs::symlink_metadata(p).unwrap().file_type().is_fifo()
    };

    let out = feedloom(&cfg, &["export-opml", "--output", fifo.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("is not a plain file"),
        "{}",
        text(&out.stderr)
    );
    assert!(is_fifo(&fifo));

    // A link to a file is replaced by the file, never written through (one
    // planted in an output's folder could name the store).
    let real = dir.path().join("real.opml");
    std::fs::write(&real, "precious").unwrap();
    let link = dir.path().join("link.opml");
    std::os::unix::fs::symlink("real.opml", &link).unwrap();
    let out = feedloom(&cfg, &["export-opml", "--output", link.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(read_to(&link).contains("https://a.example/feed"));
    assert_eq!(read_to(&real), "precious");
    let to_pipe = dir.path().join("to-pipe.opml");
    std::os::unix::fs::symlink("pipe", &to_pipe).unwrap();
    // A link to a pipe or a device (`/dev/stdout` is one) is neither
    // written through nor replaced: as root, the system's /dev/stdout was
    // made a plain file.
    let out = feedloom(
        &cfg,
        &["export-opml", "--output", to_pipe.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is a link to something that is not a plain file"),
        "{}",
        text(&out.stderr)
    );
    assert!(std::fs::symlink_metadata(&to_pipe).unwrap().is_symlink());
    assert!(is_fifo(&fifo));

    // A config that is a pipe: refused at once, still a pipe.
    let out = feedloom(&fifo, &["add", "https://b.example/feed"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("not a plain file"),
        "{}",
        text(&out.stderr)
    );
    assert!(is_fifo(&fifo));
}

/// A file that says it is feedloom's but was edited since (by hand, or by
/// a tool that writes `text` only) keeps its titles and folders, and a title
/// that decodes to blank is no title: they were dropped, or the whole import
/// failed.
#[test]
fn an_edited_feedloom_export_keeps_its_text_titles_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    let opml = dir.path().join("edited.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>feedloom subscriptions</title></head><body>
<outline text="Tech">
  <outline text="Rust Blog" xmlUrl="https://blog.example.org/feed.xml"/>
  <outline type="rss" text="https://blank.example.org/feed" title="&#32;" xmlUrl="https://blank.example.org/feed"/>
</outline>
</body></opml>"#,
    )
    .unwrap();
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds["https://blog.example.org/feed.xml"],
        (Some("Rust Blog".to_string()), vec!["Tech".to_string()])
    );
    assert_eq!(feeds["https://blank.example.org/feed"].0, None);
}

/// A folder name longer than a tag may be is cut, and the cut tag loses the
/// space at its new end: the config refused it and nothing was imported.
#[test]
fn a_long_folder_name_is_cut_to_a_tag_the_config_takes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    let opml = dir.path().join("in.opml");
    let long = format!("{} tail", "a".repeat(255));
    std::fs::write(
        &opml,
        format!(
            "<opml version=\"2.0\"><body><outline text=\"{long}\">\
             <outline text=\"one\" xmlUrl=\"https://one.example.org/feed\"/>\
             <outline text=\"two\" xmlUrl=\"https://two.example.org/feed\" category=\"{long}\"/>\
             </outline></body></opml>"
        ),
    )
    .unwrap();
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feeds = feeds_of(&cfg);
    assert_eq!(feeds.len(), 2, "{feeds:?}");
    for (_, tags) in feeds.values() {
        assert_eq!(tags, &vec!["a".repeat(255)]);
    }
}

/// Credentials and headers are not written to the OPML file (a secret in a
/// file made to be shared), and a note on stderr says how many feeds have
/// them (re-imported, they answered 401 without a word).
#[test]
fn export_leaves_credentials_out_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(
        &cfg,
        "[[feed]]\nurl = \"https://ann:s3cret@private.example.net/feed\"\n\n\
         [[feed]]\nurl = \"https://open.example.net/feed\"\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["export-opml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let opml = text(&out.stdout);
    assert!(!opml.contains("s3cret") && !opml.contains("ann"), "{opml}");
    assert!(opml.contains("https://private.example.net/feed"), "{opml}");
    assert!(
        text(&out.stderr).contains("1 feed has credentials or headers"),
        "{}",
        text(&out.stderr)
    );
}

/// Titles and folders from another service's file as the config can take
/// them: a raw NUL or other control character dropped (the whole import
/// failed, naming a config line that did not exist), a title showing
/// nothing left out (it blanked the feed's name everywhere), a long title
/// cut to 1 KiB (a 1 MB title was repeated in every story of every output).
#[test]
fn titles_the_config_cannot_take_are_cleaned_on_import() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    let opml = dir.path().join("in.opml");
    let long = "Long title ".repeat(500);
    let mut body = format!(
        "<opml version=\"2.0\"><body><outline text=\"News\0Desk\">\
         <outline text=\"bad\0ti\x1btle\" xmlUrl=\"https://one.example.org/feed\" category=\"x\0y\"/>\
         <outline text=\"&#x200B;&#x202E;&#x2060;\" xmlUrl=\"https://two.example.org/feed\"/>\
         <outline text=\"{long}\" xmlUrl=\"https://three.example.org/feed\"/>\
         </outline></body></opml>"
    )
    .into_bytes();
    body.push(b'\n');
    std::fs::write(&opml, body).unwrap();
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feeds = feeds_of(&cfg);
    assert_eq!(
        feeds["https://one.example.org/feed"],
        (s("badtitle"), tags(&["NewsDesk", "xy"]))
    );
    assert_eq!(feeds["https://two.example.org/feed"].0, None);
    let three = feeds["https://three.example.org/feed"].0.clone().unwrap();
    assert!(
        three.len() <= 1024 && three.starts_with("Long title Long"),
        "{three}"
    );
}

/// A title made of an entity the file's DTD declares (not expanded: a
/// billion laughs) is left out, said, and the feed's own is used (`&a9;` was
/// written as the title); the warnings come in the file's order (those about
/// outlines without a feed URL came after all the others).
#[test]
fn titles_of_dtd_entities_are_left_out_and_warnings_keep_the_files_order() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    let opml = dir.path().join("in.opml");
    std::fs::write(
        &opml,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE opml [<!ENTITY a0 \"lol\"><!ENTITY a1 \"&a0;&a0;\">]>\n\
         <opml version=\"2.0\"><body>\n\
         <outline text=\"Folder only\"/>\n\
         <outline text=\"&a1;\" xmlUrl=\"https://one.example.org/feed\"/>\n\
         <outline text=\"AT&amp;T &#233;\" xmlUrl=\"https://two.example.org/feed\"/>\n\
         <outline text=\"Bad\" xmlUrl=\"not a url\"/>\n\
         </body></opml>\n",
    )
    .unwrap();
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feeds = feeds_of(&cfg);
    assert_eq!(feeds["https://one.example.org/feed"].0, None);
    assert_eq!(feeds["https://two.example.org/feed"].0, s("AT&T é"));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].contains(":4: outline \"Folder only\" has no xmlUrl"),
        "{err}"
    );
    assert!(
        lines[1].contains(":5: the title \"&a1;\" holds an entity feedloom does not expand"),
        "{err}"
    );
    assert!(lines[2].contains(":7: skipped: invalid URL"), "{err}");
}

/// `export-opml --output` never replaces a file the config reads a secret
/// from (it replaced a token file with the OPML, and the feed then sent the
/// OPML as its token).
#[test]
fn export_opml_does_not_write_a_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(dir.path().join("feed.token"), "s3cret\n").unwrap();
    std::fs::write(
        &cfg,
        "[[feed]]\nurl = \"https://a.example.org/feed\"\nauth = { bearer = { file = \"feed.token\" } }\n",
    )
    .unwrap();
    let out = feedloom(
        &cfg,
        &[
            "export-opml",
            "--output",
            dir.path().join("feed.token").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("secret file of feed `https://a.example.org/feed` (auth.bearer)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read_to(&dir.path().join("feed.token")), "s3cret\n");
}

/// `export-opml --output` never replaces a file an output publishes (its
/// subscribers read the OPML until the next render), and removes what a
/// killed run left beside the file it writes.
#[test]
fn export_opml_does_not_write_an_output_and_cleans_after_a_killed_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(
        &cfg,
        "[[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\", \"json\"]\n\n\
         [[feed]]\nurl = \"https://a.example.org/feed\"\n\n[[feed]]\nurl = \"file:news.rss\"\n",
    )
    .unwrap();
    // Nor a `file:` feed's document (the next poll read the OPML).
    std::fs::write(dir.path().join("news.rss"), "<rss/>").unwrap();
    let out = feedloom(
        &cfg,
        &[
            "export-opml",
            "--output",
            dir.path().join("news.rss").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is the document of feed `file:"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read_to(&dir.path().join("news.rss")), "<rss/>");
    std::fs::write(dir.path().join("out/all.atom"), "<feed/>").unwrap();
    let out = feedloom(
        &cfg,
        &[
            "export-opml",
            "--output",
            dir.path().join("out/all.atom").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is the atom file of output `all`"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(read_to(&dir.path().join("out/all.atom")), "<feed/>");
    // Also named another way, before it is first written.
    let out = feedloom(
        &cfg,
        &[
            "export-opml",
            "--output",
            dir.path().join("out/../out/all.json").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!dir.path().join("out/all.json").exists());
    // A killed run's temporary file (its process gone) is removed.
    let stale = dir.path().join(".subs.opml.999999999.tmp");
    std::fs::write(&stale, "<opml").unwrap();
    let file = dir.path().join("subs.opml");
    let out = feedloom(&cfg, &["export-opml", "--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(read_to(&file).contains("https://a.example.org/feed"));
    assert!(!stale.exists(), "the killed run's file is left");
}

/// A feed on this machine listed in two folders (as `export-opml` writes a
/// feed of two tags) is one feed skipped, said once, and a duplicate: it was
/// counted and said twice ("5 on this machine" for 4 feeds).
#[test]
fn a_local_feed_in_two_folders_is_skipped_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(&cfg, "").unwrap();
    let opml = dir.path().join("subs.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline text="a"><outline type="rss" text="L" xmlUrl="http://127.0.0.1:9/f.xml"/>
<outline type="rss" text="P" xmlUrl="https://p.example/f.xml"/></outline>
<outline text="b"><outline type="rss" text="L" xmlUrl="http://127.0.0.1:9/f.xml"/></outline>
</body></opml>"#,
    )
    .unwrap();
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(
            "imported 1 feeds, skipped 1 duplicates, 0 outlines without a feed URL, \
             1 on this machine or a private address (--allow-local)"
        ),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&out.stderr)
            .matches("skipped http://127.0.0.1:9")
            .count(),
        1,
        "{}",
        text(&out.stderr)
    );
}

/// An outline that repeats another written otherwise is named with the line
/// it repeats (it was counted a duplicate without a word), and one that
/// repeats a feed skipped as local, written otherwise (`127.1`), is skipped
/// for that reason, named (it was a "duplicate" of a feed not imported).
#[test]
fn outlines_written_otherwise_are_named_with_what_they_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("feedloom.toml");
    std::fs::write(&cfg, "").unwrap();
    let opml = dir.path().join("subs.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline type="rss" text="L" xmlUrl="http://127.0.0.1:9/f.xml"/>
<outline type="rss" text="L2" xmlUrl="http://127.1:9/f.xml"/>
<outline type="rss" text="P" xmlUrl="https://p.example/j?format=rss"/>
<outline text="news"><outline type="rss" text="P2" xmlUrl="https://p.example/j/?format=rss"/></outline>
<outline text="more"><outline type="rss" text="P" xmlUrl="https://p.example/j?format=rss"/></outline>
</body></opml>"#,
    )
    .unwrap();
    let out = feedloom(&cfg, &["import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(
            "imported 1 feeds, skipped 2 duplicates, 0 outlines without a feed URL, \
             2 on this machine or a private address (--allow-local)"
        ),
        "{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(":3: skipped http://127.1:9/f.xml: it names"),
        "{err}"
    );
    assert!(
        err.contains(
            ":5: skipped https://p.example/j/?format=rss: the same feed as line 4 \
             (https://p.example/j?format=rss), its folders' tags added to it"
        ),
        "{err}"
    );
    // (The same address in another folder is not named.)
    assert!(!err.contains(":6:"), "{err}");
}
