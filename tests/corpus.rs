//! The third-party feed corpus (`../shared/corpus`, see its README) run through
//! `parse` and `identity`, in one test that prints one summary line:
//!
//! * every file, hostile ones included (entity bombs, 100k-deep nesting, double
//!   gzip, bad UTF-8, JSON sidecars), goes through `parse::parse` +
//!   `identity::identify_document` without panicking; every item key is non-empty
//!   and the same bytes always give the same keys (invariant 2);
//! * for each line of `oracles.jsonl` (what feed-rs's and gofeed's own suites
//!   expect) the entry count and titles match, and links where the oracle gives
//!   one. Justified differences are listed, with the reason, in [`EXCEPTIONS`];
//! * story counts against Python feedparser's entry counts: for every file that
//!   feedparser 6.0.12 reads as a feed (2,992 files; the counts are in
//!   `tests/fixtures/fidelity/feedparser_counts.tsv`, made by the script beside
//!   it, byte-identical duplicate entries counted once), feedloom keeps as many
//!   stories (a refused document counts as 0). 2,964 files agree (99.06 %); the
//!   28 others are listed, with the reason, in [`COUNT_EXCEPTIONS`]. Before
//!   Atom 0.3, RSS 0.90 and the other legacy dialects were read, 2,481 agreed
//!   (82.92 %).
//!
//! The corpus is found at `$FEEDLOOM_CORPUS` or `../shared/corpus`; when it is
//! absent the test says so and passes (CI has it).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use feedloom::identity::identify_document;
use feedloom::parse::{Entry, Limits, parse};
use url::Url;

// Why an oracle expectation is not met, by cause.
const NO_CHANNEL: &str = "an <rss> or rdf:RDF root with no <channel> and nothing in it (gofeed's version-detection fixtures): feedloom refuses it as no feed (a FOAF profile or `<rss><error>…</error></rss>` was an `ok` fetch that yielded nothing); gofeed reads an empty feed";
const LAST_LINK: &str = "item with <link>a</link><link>b</link><link href=\"c\"/>: gofeed keeps the last link, feedloom the first <link> text; both are the item's links";
const XHTML_ESCAPED_TITLE: &str = "type=\"xhtml\" title whose text is escaped markup: its plain text is literally \"<p>Entry Title</p>\" (feedloom); gofeed returns the XHTML source \"&lt;p&gt;...\"";
const NAKED_MARKUP_TITLE: &str = "RSS <title><p>Item Title</p></title> (unescaped markup, invalid RSS): feed-rs reads only text nodes, so the title is absent; gofeed keeps \"<p>Item Title</p>\"";
const HTML_IN_TITLE: &str = "gofeed keeps markup in titles (\"<p>Entry Title</p>\"); feedloom titles are plain text with tags stripped (\"Entry Title\")";
const RSS_TITLE_REFERENCES: &str = "RSS title in CDATA holding escaped markup (`&lt;p&gt;`): feedloom decodes an RSS title's character references once more (a CDATA `Q&amp;A` or a double-escaped `&#8217;` is the character, as Miniflux's suite expects), so the title reads `<p>Item Title</p>`; gofeed keeps the raw string";

/// Oracle inputs whose expectations feedloom justifiably does not meet, with why.
const EXCEPTIONS: &[(&str, &str)] = &[
    ("gofeed/testdata/parser/rss/version_rdf_090.xml", NO_CHANNEL),
    ("gofeed/testdata/parser/rss/version_rdf_10.xml", NO_CHANNEL),
    (
        "gofeed/testdata/parser/rss/version_rss_091_netscape.xml",
        NO_CHANNEL,
    ),
    (
        "gofeed/testdata/parser/rss/version_rss_091_userland.xml",
        NO_CHANNEL,
    ),
    ("gofeed/testdata/parser/rss/version_rss_092.xml", NO_CHANNEL),
    ("gofeed/testdata/parser/rss/version_rss_093.xml", NO_CHANNEL),
    ("gofeed/testdata/parser/rss/version_rss_094.xml", NO_CHANNEL),
    ("gofeed/testdata/parser/rss/version_rss_20.xml", NO_CHANNEL),
    ("gofeed/testdata/parser/rss/version_rss_201.xml", NO_CHANNEL),
    ("gofeed/testdata/parser/rss/version_rss_21.xml", NO_CHANNEL),
    (
        "gofeed/testdata/parser/rss/version_rss_missing.xml",
        NO_CHANNEL,
    ),
    (
        "gofeed/testdata/parser/atom/atom03_feed_entry_title_naked_markup.xml",
        HTML_IN_TITLE,
    ),
    (
        "gofeed/testdata/parser/rss/rdf_item_title_cdata_escaped_markup.xml",
        RSS_TITLE_REFERENCES,
    ),
    (
        "gofeed/testdata/parser/rss/rss_channel_item_title_cdata_escaped_markup.xml",
        RSS_TITLE_REFERENCES,
    ),
    (
        "gofeed/testdata/parser/atom/atom03_feed_entry_title_html_escaped_markup.xml",
        HTML_IN_TITLE,
    ),
    (
        "gofeed/testdata/parser/atom/atom03_feed_entry_title_xhtml_escaped_markup.xml",
        XHTML_ESCAPED_TITLE,
    ),
    (
        "gofeed/testdata/parser/atom/atom03_feed_entry_title_xhtml_inline_markup.xml",
        HTML_IN_TITLE,
    ),
    (
        "gofeed/testdata/parser/atom/atom10_feed_entry_title_html_escaped_markup.xml",
        HTML_IN_TITLE,
    ),
    (
        "gofeed/testdata/parser/atom/atom10_feed_entry_title_xhtml_escaped_markup.xml",
        XHTML_ESCAPED_TITLE,
    ),
    (
        "gofeed/testdata/parser/atom/atom10_feed_entry_title_xhtml_inline_markup.xml",
        HTML_IN_TITLE,
    ),
    (
        "gofeed/testdata/parser/atom/entry_summary_xml_base_inherit_3.xml",
        "type=\"html\" title with unescaped child markup (invalid Atom: html must be escaped): feed-rs keeps only the leading text \"Example\"; gofeed keeps the markup",
    ),
    (
        "gofeed/testdata/parser/atom/entry_title_xml_base.xml",
        "type=\"html\" title with unescaped child markup (invalid Atom: html must be escaped): feed-rs keeps only the leading text \"Example\"; gofeed keeps the markup",
    ),
    (
        "gofeed/testdata/parser/atom/entry_title_xml_base_inherit.xml",
        "type=\"xhtml\" title with an <a>: feedloom's plain text is \"Example test\"; gofeed keeps the markup with the href resolved",
    ),
    ("gofeed/testdata/parser/rss/rdf_item_links.xml", LAST_LINK),
    (
        "gofeed/testdata/parser/rss/rdf_item_title_naked_markup.xml",
        NAKED_MARKUP_TITLE,
    ),
    (
        "gofeed/testdata/parser/rss/rss_channel_item_links.xml",
        LAST_LINK,
    ),
    (
        "gofeed/testdata/parser/rss/rss_channel_item_title_naked_markup.xml",
        NAKED_MARKUP_TITLE,
    ),
    (
        "gofeed/testdata/translator/rss/feed_item_links_-_rss_channel_item_links.xml",
        LAST_LINK,
    ),
];

/// A single file taking longer than this (debug build) is reported as slow.
const SLOW: Duration = Duration::from_millis(500);
/// The whole test (debug build) must finish within this; it takes a few seconds.
const BUDGET: Duration = Duration::from_secs(60);

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("FEEDLOOM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "corpus absent at {} (set FEEDLOOM_CORPUS): corpus test skipped",
            dir.display()
        );
        None
    }
}

/// Every regular file under `dir`, sorted, skipping README and LICENSE files.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|d| d.expect("directory entry").path())
        .collect();
    children.sort();
    for path in children {
        if path.is_dir() {
            walk(&path, out);
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_uppercase())
            .unwrap_or_default();
        if !name.starts_with("README") && !name.starts_with("LICENSE") {
            out.push(path);
        }
    }
}

/// The base URL a corpus file is parsed against: as if served from a fixed host.
fn base_url(rel: &str) -> Url {
    let root = Url::parse("https://corpus.feedloom.invalid/").expect("root URL");
    root.join(rel).unwrap_or(root)
}

fn rel_path(corpus: &Path, path: &Path) -> String {
    path.strip_prefix(corpus)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_string())
}

/// Parses and identifies one document. `Ok(None)` when parse refused it (that is
/// allowed: hostile and non-feed inputs may be refused), `Err` with the panic message.
fn keys_of(bytes: &[u8], base: &Url) -> Result<Option<Vec<String>>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        parse(bytes, None, base, Limits::default()).ok().map(|doc| {
            identify_document(doc.entries)
                .into_iter()
                .map(|i| i.key)
                .collect::<Vec<_>>()
        })
    }))
    .map_err(|p| panic_message(p.as_ref()))
}

/// What walking the whole corpus found.
#[derive(Default)]
struct Walk {
    files: usize,
    parsed: usize,
    refused: usize,
    items: usize,
    slowest: (Duration, String),
    /// Files that took longer than [`SLOW`].
    slow: Vec<String>,
    panics: Vec<String>,
    empty_keys: Vec<String>,
    unstable: Vec<String>,
}

/// Parses and identifies every file under the corpus, twice.
fn walk_corpus(corpus: &Path) -> Walk {
    let mut files = Vec::new();
    walk(corpus, &mut files);
    let mut w = Walk {
        files: files.len(),
        ..Walk::default()
    };
    for path in &files {
        let rel = rel_path(corpus, path);
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"));
        let base = base_url(&rel);
        let t = Instant::now();
        let first = keys_of(&bytes, &base);
        let took = t.elapsed();
        if took > SLOW {
            w.slow.push(format!("{rel} ({took:.2?})"));
        }
        if took > w.slowest.0 {
            w.slowest = (took, rel.clone());
        }
        match first {
            Err(msg) => w.panics.push(format!("{rel}: {msg}")),
            Ok(None) => w.refused += 1,
            Ok(Some(keys)) => {
                w.parsed += 1;
                w.items += keys.len();
                if keys.iter().any(|k| k.is_empty()) {
                    w.empty_keys.push(rel.clone());
                }
                match keys_of(&bytes, &base) {
                    Ok(Some(again)) if again == keys => {}
                    other => w.unstable.push(format!("{rel}: {keys:?} then {other:?}")),
                }
            }
        }
    }
    w
}

/// Whitespace collapsed; `None` for absent or blank.
fn norm(s: Option<&str>) -> Option<String> {
    let s = s?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

/// Differences between an oracle line and what feedloom parsed.
fn compare(oracle: &serde_json::Value, entries: &[Entry], base: &Url) -> Vec<String> {
    let mut diffs = Vec::new();
    let n_items = oracle["n_items"].as_u64().unwrap_or(0) as usize;
    if entries.len() != n_items {
        diffs.push(format!("{} items, expected {n_items}", entries.len()));
    }
    let expected = oracle["items"].as_array().cloned().unwrap_or_default();
    for (i, (want, got)) in expected.iter().zip(entries).enumerate() {
        let want_title = norm(want["title"].as_str());
        let got_title = norm(got.title.as_deref());
        if want_title != got_title {
            diffs.push(format!(
                "item {i} title {got_title:?}, expected {want_title:?}"
            ));
        }
        if let Some(want_link) = want["link"].as_str().map(str::trim) {
            // The oracle records the link as written; feedloom resolves it
            // against the document's base, so accept either spelling.
            let resolved = base.join(want_link).map(String::from).ok();
            let got_link = got.link.as_deref();
            if got_link != Some(want_link) && got_link.map(str::to_string) != resolved {
                diffs.push(format!(
                    "item {i} link {got_link:?}, expected {want_link:?}"
                ));
            }
        }
    }
    diffs
}

/// What checking `oracles.jsonl` found.
#[derive(Default)]
struct Oracles {
    checked: usize,
    passed: usize,
    excepted: usize,
    failures: Vec<String>,
    /// Excepted files that now match, or that `oracles.jsonl` does not name.
    stale: Vec<String>,
}

fn check_oracles(corpus: &Path) -> Oracles {
    let text = std::fs::read_to_string(corpus.join("oracles.jsonl")).expect("oracles.jsonl");
    let exceptions: BTreeMap<&str, &str> = EXCEPTIONS.iter().copied().collect();
    assert_eq!(exceptions.len(), EXCEPTIONS.len(), "duplicate exception");
    let mut unused: Vec<&str> = exceptions.keys().copied().collect();
    let mut o = Oracles::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let oracle: serde_json::Value = serde_json::from_str(line).expect("oracle line is JSON");
        let input = oracle["input"].as_str().expect("oracle input");
        let bytes = std::fs::read(corpus.join(input))
            .unwrap_or_else(|e| panic!("cannot read oracle input {input}: {e}"));
        let base = base_url(input);
        o.checked += 1;
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            parse(&bytes, None, &base, Limits::default())
        }));
        let diffs = match parsed {
            Ok(Ok(doc)) => compare(&oracle, &doc.entries, &base),
            Ok(Err(e)) => vec![format!("parse failed: {e}")],
            Err(p) => vec![format!("parse panicked: {}", panic_message(p.as_ref()))],
        };
        unused.retain(|u| *u != input);
        match (diffs.is_empty(), exceptions.contains_key(input)) {
            (true, false) => o.passed += 1,
            (true, true) => o.stale.push(format!("{input} (now matches)")),
            (false, true) => o.excepted += 1,
            (false, false) => o
                .failures
                .push(format!("{input}:\n    {}", diffs.join("\n    "))),
        }
    }
    o.stale
        .extend(unused.iter().map(|u| format!("{u} (not in oracles.jsonl)")));
    o
}

#[test]
fn corpus_parses_and_matches_oracles() {
    let Some(corpus) = corpus() else { return };
    let started = Instant::now();
    let w = walk_corpus(&corpus);
    let o = check_oracles(&corpus);
    let elapsed = started.elapsed();
    println!(
        "corpus: {} files walked ({} parsed, {} refused, {} items); \
         {} oracle files checked, {} passed, {} excepted, {} failed; \
         {elapsed:.2?} (slowest file {} in {:.2?})",
        w.files,
        w.parsed,
        w.refused,
        w.items,
        o.checked,
        o.passed,
        o.excepted,
        o.failures.len(),
        w.slowest.1,
        w.slowest.0,
    );
    if !w.slow.is_empty() {
        println!("slow files (> {SLOW:?}): {}", w.slow.join(", "));
    }
    assert!(
        w.panics.is_empty(),
        "{} files panicked:\n{}",
        w.panics.len(),
        w.panics.join("\n")
    );
    assert!(
        w.empty_keys.is_empty(),
        "empty item keys in:\n{}",
        w.empty_keys.join("\n")
    );
    assert!(
        w.unstable.is_empty(),
        "keys differ between two parses of the same bytes:\n{}",
        w.unstable.join("\n")
    );
    assert!(
        o.failures.is_empty(),
        "{} oracle mismatches without an exception:\n{}",
        o.failures.len(),
        o.failures.join("\n")
    );
    assert!(
        o.stale.is_empty(),
        "exceptions that no longer apply (remove them):\n{}",
        o.stale.join("\n")
    );
    assert!(
        elapsed < BUDGET,
        "the corpus took {elapsed:.2?}, over the {BUDGET:?} budget"
    );
}

// Why a story count differs from feedparser's, by cause.
const CDF: &str = "Microsoft CDF (<CHANNEL> root, 1997) is not RSS, Atom or JSON Feed: feedloom refuses it as not a feed; feedparser reads its <ITEM>s";
const SAME_LINK_TWICE: &str = "two entries with no id, title or text, differing only in the order of their <link>s (same alternate link): one story by the identity rule (no guid: the link), two entries for feedparser";
const SAME_ENTRY_TWICE: &str = "two entries that a reader cannot tell apart (same id or title, same text) and that differ only in markup feedloom does not read (a non-Atom child's position, xml:lang): one story";
const NOT_RDF: &str = "root <rdf> (lowercase, no namespace) is not RSS 1.0's rdf:RDF: refused as not a feed; feedparser is lenient";
const CUT_SHORT: &str = "document cut short (inside a tag or a CDATA section): refused, stored as the feed's failure, and fetched whole again next time; salvaging it would store a half entry and the validators of a body never seen whole (feedparser salvages the entries before the cut)";
const TOO_DEEP: &str = "an item 100,000 elements deep: refused at quick-xml's nesting limit (65,535), a bound against hostile input; the failure is stored on the feed";

/// Files whose story count justifiably differs from feedparser's entry count
/// (byte-identical duplicates already discounted), with why.
const COUNT_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "feedparser/tests/entities/hex_entity_x_lowercase.xml",
        CUT_SHORT,
    ),
    (
        "feedparser/tests/entities/hex_entity_x_uppercase.xml",
        CUT_SHORT,
    ),
    (
        "feedparser/tests/illformed/rdf_channel_empty_textinput.xml",
        CUT_SHORT,
    ),
    (
        "feedparser/tests/illformed/rss_incomplete_cdata.xml",
        CUT_SHORT,
    ),
    ("pathological/generated/truncated_mid_item.rss", CUT_SHORT),
    ("feed-rs/feed-rs/fixture/xml/xml_iso8859.xml", NOT_RDF),
    (
        "feedparser/tests/wellformed/atom/entry_link_no_href_link_priority.xml",
        SAME_LINK_TWICE,
    ),
    (
        "feedparser/tests/wellformed/atom/entry_link_rel_enclosure_no_href.xml",
        SAME_LINK_TWICE,
    ),
    (
        "feedparser/tests/wellformed/atom10/entry_link_no_href_link_priority.xml",
        SAME_LINK_TWICE,
    ),
    (
        "feedparser/tests/wellformed/atom10/entry_link_rel_enclosure_no_href.xml",
        SAME_LINK_TWICE,
    ),
    (
        "feedparser/tests/wellformed/base/cdf_item_abstract_xml_base.xml",
        CDF,
    ),
    (
        "feedparser/tests/wellformed/cdf/item_abstract_map_description.xml",
        CDF,
    ),
    (
        "feedparser/tests/wellformed/cdf/item_abstract_map_summary.xml",
        CDF,
    ),
    (
        "feedparser/tests/wellformed/cdf/item_href_map_link.xml",
        CDF,
    ),
    (
        "feedparser/tests/wellformed/cdf/item_href_map_links.xml",
        CDF,
    ),
    ("feedparser/tests/wellformed/cdf/item_lastmod.xml", CDF),
    (
        "feedparser/tests/wellformed/cdf/item_lastmod_parsed.xml",
        CDF,
    ),
    ("feedparser/tests/wellformed/cdf/item_title.xml", CDF),
    (
        "feedparser/tests/wellformed/lang/entry_content_xml_lang_blank_3.xml",
        SAME_ENTRY_TWICE,
    ),
    (
        "feedparser/tests/wellformed/node_precedence/atom10_id.xml",
        SAME_ENTRY_TWICE,
    ),
    (
        "feedparser/tests/wellformed/node_precedence/atom10_title.xml",
        SAME_ENTRY_TWICE,
    ),
    ("pathological/generated/deep_nesting_100k.rss", TOO_DEEP),
];

/// One line of `tests/fixtures/fidelity/feedparser_counts.tsv`.
struct FeedparserCount {
    path: String,
    distinct: usize,
    charset: Option<String>,
}

fn feedparser_counts() -> Vec<FeedparserCount> {
    let tsv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fidelity/feedparser_counts.tsv");
    let text = std::fs::read_to_string(&tsv).expect("feedparser_counts.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 6, "bad line in feedparser_counts.tsv: {line}");
            FeedparserCount {
                path: f[0].to_string(),
                distinct: f[2].parse().expect("distinct count"),
                charset: (f[5] != "-").then(|| f[5].to_string()),
            }
        })
        .collect()
}

/// Story counts against Python feedparser's entry counts (see
/// `tests/fixtures/fidelity/feedparser_counts.py` for how they were made): on every
/// file feedparser reads as a feed, feedloom must keep as many stories as feedparser
/// has distinct entries, except for the files in [`COUNT_EXCEPTIONS`]. Prints the
/// share of files that agree.
#[test]
fn story_counts_match_feedparser() {
    let Some(corpus) = corpus() else { return };
    let exceptions: BTreeMap<&str, &str> = COUNT_EXCEPTIONS.iter().copied().collect();
    assert_eq!(
        exceptions.len(),
        COUNT_EXCEPTIONS.len(),
        "duplicate exception"
    );
    let counts = feedparser_counts();
    let (mut agree, mut excepted) = (0, 0);
    let mut failures = Vec::new();
    let mut stale = Vec::new();
    for fp in &counts {
        let bytes = std::fs::read(corpus.join(&fp.path))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", fp.path));
        let base = base_url(&fp.path);
        let got = catch_unwind(AssertUnwindSafe(|| {
            parse(&bytes, fp.charset.as_deref(), &base, Limits::default())
                .map(|d| identify_document(d.entries).len())
        }));
        // A refused document shows no stories: 0, with the reason kept for the
        // failure message.
        let got = match got {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(format!("0 (refused: {e})")),
            Err(p) => Err(format!("panicked: {}", panic_message(p.as_ref()))),
        };
        let same = match &got {
            Ok(n) => *n == fp.distinct,
            Err(e) => fp.distinct == 0 && !e.starts_with("panicked"),
        };
        if same {
            agree += 1;
            if exceptions.contains_key(fp.path.as_str()) {
                stale.push(fp.path.clone());
            }
        } else if exceptions.contains_key(fp.path.as_str()) {
            excepted += 1;
        } else {
            failures.push(format!(
                "{}: {} stories, feedparser {}",
                fp.path,
                match &got {
                    Ok(n) => n.to_string(),
                    Err(e) => e.clone(),
                },
                fp.distinct
            ));
        }
    }
    let known: std::collections::HashSet<&str> = counts.iter().map(|c| c.path.as_str()).collect();
    stale.extend(
        exceptions
            .keys()
            .filter(|k| !known.contains(*k))
            .map(|k| format!("{k} (not in feedparser_counts.tsv)")),
    );
    println!(
        "feedparser story counts: {agree} of {} files agree ({:.2} %), {excepted} excepted, {} differ",
        counts.len(),
        100.0 * agree as f64 / counts.len() as f64,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} files whose story count differs from feedparser's, without an exception:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        stale.is_empty(),
        "count exceptions that no longer apply (remove them):\n{}",
        stale.join("\n")
    );
}
