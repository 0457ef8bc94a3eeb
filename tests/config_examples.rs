//! The configs and sample feeds shipped in config/ (and the system example in
//! systemd/) must load, say what their comments say, and parse cleanly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use feedloom::config::{self, Config, Defaults, FetchConfig, Format, ServerConfig};
use feedloom::parse::{self, Limits};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn load(rel: &str) -> Config {
    let path = repo(rel);
    config::load(&path).unwrap_or_else(|e| panic!("{rel} does not load: {e}"))
}

fn feed_urls(cfg: &Config) -> Vec<String> {
    cfg.feeds.iter().map(|f| f.url().to_string()).collect()
}

#[test]
fn shipped_config_loads() {
    let cfg = load("config/feedloom.toml");
    assert_eq!(cfg.feeds.len(), 6, "feeds: {:?}", feed_urls(&cfg));
    assert_eq!(cfg.outputs.len(), 2);

    // Relative paths resolve against config/, not the working directory.
    assert_eq!(cfg.store.path, repo("config/../data/feedloom.db"));

    for f in &cfg.feeds {
        assert_eq!(f.url().scheme(), "https", "{}", f.url());
        assert!(!f.tags.is_empty(), "{} has no tags", f.url());
    }
    assert!(
        cfg.feeds.iter().any(|f| f.cron.is_some()),
        "no cron example"
    );
    assert!(
        cfg.feeds.iter().any(|f| f.every.is_some()),
        "no every example"
    );
    assert!(
        cfg.feeds
            .iter()
            .any(|f| f.cron.is_none() && f.every.is_none()),
        "no feed that falls back to [defaults] every"
    );

    let all = &cfg.outputs[0];
    assert_eq!(all.name(), "all");
    assert_eq!(
        all.path.as_deref(),
        Some(repo("config/../data/out/all").as_path())
    );
    assert_eq!(
        all.formats,
        vec![Format::Atom, Format::Rss, Format::Json, Format::Html]
    );
    assert_eq!(all.max_items, 100);
    assert_eq!(
        all.window.map(|w| w.0),
        Some(Duration::from_secs(7 * 86_400))
    );
    assert!(all.tags.is_empty());

    // The second output selects by a tag that some, not all, feeds carry.
    let tagged = &cfg.outputs[1];
    assert!(!tagged.tags.is_empty());
    let carriers = cfg
        .feeds
        .iter()
        .filter(|f| f.tags.iter().any(|t| tagged.tags.contains(t)))
        .count();
    assert!(carriers > 0 && carriers < cfg.feeds.len(), "{carriers}");

    assert_eq!(cfg.defaults.every.0, Duration::from_secs(30 * 60));
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:8080");
}

/// The shipped config writes out the built-in defaults and says so; keep the two in
/// step.
#[test]
fn shipped_config_shows_the_defaults() {
    let cfg = load("config/feedloom.toml");
    let (f, d) = (&cfg.fetch, FetchConfig::default());
    assert_eq!(f.user_agent, d.user_agent, "user_agent should stay unset");
    assert_eq!(f.timeout, d.timeout, "[fetch] timeout");
    assert_eq!(f.max_body, d.max_body, "[fetch] max_body");
    assert_eq!(f.concurrency, d.concurrency, "[fetch] concurrency");
    assert_eq!(f.per_host, d.per_host, "[fetch] per_host");
    assert_eq!(f.host_gap, d.host_gap, "[fetch] host_gap");
    assert_eq!(f.max_redirects, d.max_redirects, "[fetch] max_redirects");
    assert_eq!(f.max_entries, d.max_entries, "[fetch] max_entries");
    assert_eq!(f.max_field, d.max_field, "[fetch] max_field");
    assert_eq!(f.max_buffered(), d.max_buffered(), "[fetch] max_buffered");
    assert_eq!(
        f.allow_private_networks, d.allow_private_networks,
        "[fetch] allow_private_networks"
    );

    let (s, d) = (&cfg.defaults, Defaults::default());
    assert_eq!(s.every, d.every, "[defaults] every");
    assert_eq!(s.max_delay, d.max_delay, "[defaults] max_delay");
    assert_eq!(s.max_backoff, d.max_backoff, "[defaults] max_backoff");
    assert_eq!(
        s.redirect_after, d.redirect_after,
        "[defaults] redirect_after"
    );
    assert_eq!(s.spread, d.spread, "[defaults] spread");

    let (s, d) = (&cfg.server, ServerConfig::default());
    assert_eq!(s.listen, d.listen, "[server] listen");
    assert_eq!(
        s.shutdown_timeout, d.shutdown_timeout,
        "[server] shutdown_timeout"
    );

    let (s, d) = (&cfg.identity, feedloom::config::IdentityConfig::default());
    assert_eq!(s.strip_params, d.strip_params, "[identity] strip_params");
    assert_eq!(
        s.near_duplicates, d.near_duplicates,
        "[identity] near_duplicates"
    );
    assert_eq!(s.near_window, d.near_window, "[identity] near_window");
}

#[test]
fn system_config_loads_with_absolute_paths() {
    let cfg = load("systemd/feedloom.toml");
    assert_eq!(cfg.store.path, Path::new("/var/lib/feedloom/feedloom.db"));
    assert!(!cfg.feeds.is_empty());
    let all = cfg
        .outputs
        .iter()
        .find(|o| o.name() == "all")
        .expect("an output named all");
    assert_eq!(
        all.path.as_deref(),
        Some(Path::new("/var/lib/feedloom/out/all"))
    );
}

#[test]
fn local_example_points_at_existing_samples() {
    let cfg = load("config/example-local.toml");
    assert_eq!(cfg.feeds.len(), 5, "feeds: {:?}", feed_urls(&cfg));
    assert_eq!(cfg.outputs.len(), 2);
    assert_eq!(cfg.store.path, repo("config/../data/example-local.db"));
    assert_eq!(
        cfg.outputs[0].path.as_deref(),
        Some(repo("config/../data/example-local/all").as_path())
    );
    // The README's URLs (http://127.0.0.1:8080/all.atom) work with this example too.
    assert_eq!(cfg.outputs[0].name(), "all");
    assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:8080");

    let mut used = BTreeSet::new();
    for f in &cfg.feeds {
        assert_eq!(f.url().scheme(), "file", "{}", f.url());
        let path = f
            .url()
            .to_file_path()
            .unwrap_or_else(|_| panic!("{} is not a local path", f.url()));
        assert!(path.is_absolute(), "{}", path.display());
        assert!(path.is_file(), "{} does not exist", path.display());
        let canonical = path.canonicalize().unwrap();
        assert!(
            canonical.starts_with(repo("config/samples").canonicalize().unwrap()),
            "{} is outside config/samples",
            path.display()
        );
        used.insert(canonical);
    }

    // Every sample is used by the example.
    let on_disk: BTreeSet<PathBuf> = std::fs::read_dir(repo("config/samples"))
        .unwrap()
        .map(|e| e.unwrap().path().canonicalize().unwrap())
        .collect();
    assert_eq!(used, on_disk);
}

/// Parses a sample the way a poll of example-local.toml would (no HTTP charset).
fn parse_sample(name: &str) -> parse::Document {
    let cfg = load("config/example-local.toml");
    let feed = cfg
        .feeds
        .iter()
        .find(|f| f.url().path().ends_with(&format!("/samples/{name}")))
        .unwrap_or_else(|| panic!("example-local.toml has no feed for {name}"));
    let url = feed.url().clone();
    let bytes = std::fs::read(url.to_file_path().unwrap()).unwrap();
    let doc = parse::parse(&bytes, None, &url, Limits::default())
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    assert!(!doc.entries.is_empty(), "{name} has no entries");
    for e in &doc.entries {
        let title = e
            .title
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: an entry has no title"));
        assert!(!title.trim().is_empty(), "{name}: empty title");
        assert!(
            !title.contains('\u{FFFD}'),
            "{name}: title {title:?} was decoded with the wrong charset"
        );
        assert!(e.guid.is_some(), "{name}: {title:?} has no guid");
        let link = e.link.as_deref().expect("every sample entry has a link");
        assert!(link.starts_with("https://"), "{name}: link {link}");
        assert!(
            e.published.is_some() || e.updated.is_some(),
            "{name}: {title:?} has no date"
        );
    }
    doc
}

fn titles(doc: &parse::Document) -> Vec<&str> {
    doc.entries
        .iter()
        .filter_map(|e| e.title.as_deref())
        .collect()
}

#[test]
fn rss_sample_parses() {
    let doc = parse_sample("news.rss");
    assert_eq!(doc.entries.len(), 5);
    assert_eq!(doc.title.as_deref(), Some("Riverside Gazette"));
    assert_eq!(doc.ttl_minutes, Some(60));
    let first = &doc.entries[0];
    assert_eq!(
        first.title.as_deref(),
        Some("Footbridge reopens after spring floods")
    );
    assert_eq!(first.guid.as_deref(), Some("gazette-2024-0142"));
    assert!(
        first
            .summary
            .as_deref()
            .is_some_and(|s| s.contains("<strong>iron footbridge</strong>")),
        "{:?}",
        first.summary
    );
}

#[test]
fn atom_sample_resolves_xml_base() {
    let doc = parse_sample("blog.atom");
    assert_eq!(doc.entries.len(), 3);
    assert_eq!(doc.title.as_deref(), Some("Notes from the Workbench"));
    let scraper = &doc.entries[0];
    assert_eq!(scraper.title.as_deref(), Some("Sharpening a card scraper"));
    assert_eq!(
        scraper.link.as_deref(),
        Some("https://workbench.example.net/posts/2024/card-scraper.html")
    );
    // An HTML title is reduced to plain text.
    assert_eq!(
        doc.entries[1].title.as_deref(),
        Some("Dovetails & patience")
    );
}

#[test]
fn json_feed_sample_parses() {
    let doc = parse_sample("notes.json");
    assert_eq!(doc.entries.len(), 3);
    assert_eq!(doc.title.as_deref(), Some("Field Notes"));
    assert_eq!(
        titles(&doc),
        [
            "The swifts are back",
            "Tomato seedlings potted on",
            "Rain gauge: April total"
        ]
    );
}

#[test]
fn windows_1251_sample_decodes_to_cyrillic() {
    let bytes = std::fs::read(repo("config/samples/cp1251.rss")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "cp1251.rss must really be windows-1251, not UTF-8"
    );
    let doc = parse_sample("cp1251.rss");
    assert_eq!(doc.entries.len(), 3);
    assert_eq!(doc.title.as_deref(), Some("Новини Поділля"));
    assert_eq!(
        doc.entries[0].title.as_deref(),
        Some("Відкрито новий міст через річку")
    );
    assert_eq!(
        doc.entries[2].title.as_deref(),
        Some("Погода: в выходные ожидается дождь")
    );
}

#[test]
fn euc_kr_sample_decodes_to_korean() {
    let bytes = std::fs::read(repo("config/samples/euckr.rss")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "euckr.rss must really be EUC-KR, not UTF-8"
    );
    let doc = parse_sample("euckr.rss");
    assert_eq!(doc.entries.len(), 3);
    assert_eq!(doc.title.as_deref(), Some("한빛 소식"));
    assert_eq!(
        doc.entries[0].title.as_deref(),
        Some("도서관 주말 개관 시간 연장")
    );
}
