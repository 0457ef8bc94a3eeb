//! Raw bytes → `parse::parse` → `identity::identify_document`, as `refresh` runs
//! them on every fetched body (plus `hints::scan`, which reads the same bytes).
//!
//! Invariants: no panic; `fetch.max_entries` and the field bounds hold; every
//! item key is non-empty; the same bytes always give the same items and keys
//! (DESIGN.md invariant 2: identity never comes from randomness).
#![no_main]

use feedloom::identity::{Identified, identify_document};
use feedloom::parse::{Limits, parse};
use libfuzzer_sys::fuzz_target;
use url::Url;

const CHARSETS: &[Option<&str>] = &[None, Some("utf-8"), Some("windows-1251"), Some("utf-16")];
const MAX_ENTRIES: &[usize] = &[1000, 2, 1];
const MAX_FIELD: &[usize] = &[256 * 1024, 64, 7];

fn run(body: &[u8], charset: Option<&str>, base: &Url, limits: Limits) -> Option<Vec<Identified>> {
    let doc = parse(body, charset, base, limits).ok()?;
    assert!(
        doc.entries.len() <= limits.max_entries,
        "{} entries kept, limit {}",
        doc.entries.len(),
        limits.max_entries
    );
    if let Some(t) = &doc.title {
        assert!(t.len() <= limits.max_field, "feed title over max_field");
    }
    for e in &doc.entries {
        for (name, v, max) in [
            ("title", &e.title, limits.max_field),
            ("author", &e.author, limits.max_field),
            ("summary", &e.summary, limits.max_field),
            ("content", &e.content, limits.max_field),
            ("guid", &e.guid, 2048),
            ("link", &e.link, 8192),
        ] {
            if let Some(v) = v {
                assert!(v.len() <= max, "{name} is {} bytes, bound {max}", v.len());
            }
        }
        if let Some(g) = &e.guid {
            assert!(!g.is_empty(), "an empty guid is no guid");
        }
        if let Some(t) = &e.title {
            assert!(
                !t.chars().any(|c| c.is_control()),
                "control character in title {t:?}"
            );
        }
    }
    let items = identify_document(doc.entries);
    for i in &items {
        assert!(!i.key.is_empty(), "empty item key for {:?}", i.entry);
    }
    Some(items)
}

fuzz_target!(|data: &[u8]| {
    feedloom_fuzz::allow_handled_panics();
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let pick = usize::from(pick);
    let charset = CHARSETS[pick % CHARSETS.len()];
    let limits = Limits {
        max_entries: MAX_ENTRIES[(pick / 4) % MAX_ENTRIES.len()],
        max_field: MAX_FIELD[(pick / 16) % MAX_FIELD.len()],
    };
    let base = Url::parse("https://fuzz.feedloom.invalid/dir/feed.xml").unwrap();
    let _ = feedloom::hints::scan(body);
    let first = run(body, charset, &base, limits);
    let again = run(body, charset, &base, limits);
    assert_eq!(first, again, "the same bytes gave different items");
});
