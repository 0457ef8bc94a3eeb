//! The near-duplicate detector (`feedloom::similar`) against the labelled set in
//! `tests/fixtures/neardup/pairs.json` (see `make_pairs.py` beside it): copies of
//! one story (every class of syndication edit, in every language of the set)
//! must merge, in whichever order the store sees them; template stories with
//! other names, numbers, places or dates, and unrelated corpus entries, must
//! not. `cargo run --release --example neardup_eval -- --corpus` shows the whole
//! picture.
//!
//! Pairs that point into the third-party corpus (`../shared/corpus` or
//! `$FEEDLOOM_CORPUS`) are left out when it is absent, and so is the check of
//! all pairs of corpus texts.

#[path = "fixtures/neardup/labelled.rs"]
mod labelled;

use std::collections::BTreeMap;

use feedloom::similar;
use labelled::{Counts, LANGUAGES, Scored, Side};

/// Recall measured when the thresholds were chosen: 0.980 (248 of 253; 250 of 256 = 0.977 with the three corpus pairs added later; see the
/// README beside pairs.json). A drop of more than two pairs fails.
const MIN_RECALL: f64 = 0.97;
/// Per language: measured 0.959 (en) to 1.000; one more miss fails.
const MIN_RECALL_PER_LANGUAGE: f64 = 0.93;
/// Per class of edit of the issue: measured 1.000 for each.
const MIN_RECALL_PER_CLASS: f64 = 0.9;

/// Same-story classes of the issue; each must be covered in the set.
const REQUIRED_SAME_CLASSES: [&str; 7] = [
    "punctuation",
    "headline",
    "cut+dateline",
    "summary-vs-full",
    "cjk-edit",
    "lede-rephrase",
    "sentence-added",
];
/// Template classes that must be covered in every language.
const REQUIRED_TEMPLATES: [&str; 6] = [
    "earthquake",
    "score",
    "market-close",
    "earnings",
    "lottery",
    "weather",
];

fn from_corpus(p: &labelled::Pair) -> bool {
    matches!(p.a, Side::Corpus { .. }) || matches!(p.b, Side::Corpus { .. })
}

#[test]
fn labelled_set_is_what_it_claims() {
    let pairs = labelled::load_pairs();
    assert!(pairs.len() >= 400, "{} pairs", pairs.len());
    let pos = pairs.iter().filter(|p| p.same).count();
    assert!(
        pos >= 200 && pairs.len() - pos >= 150,
        "{pos} same-story pairs"
    );
    for lang in LANGUAGES {
        let written = |same: bool| {
            pairs
                .iter()
                .filter(|p| p.lang == lang && p.same == same && !from_corpus(p))
                .count()
        };
        assert!(
            written(true) >= 20,
            "{lang}: {} same-story pairs",
            written(true)
        );
        assert!(
            written(false) >= 12,
            "{lang}: {} different pairs",
            written(false)
        );
        for class in REQUIRED_TEMPLATES {
            assert!(
                pairs
                    .iter()
                    .any(|p| p.lang == lang && !p.same && p.class == class),
                "{lang}: no {class} template pair"
            );
        }
    }
    for class in REQUIRED_SAME_CLASSES {
        let n = pairs.iter().filter(|p| p.same && p.class == class).count();
        assert!(n >= 10, "{class}: only {n} pairs");
    }
    for lang in ["ko", "ja", "zh"] {
        assert!(
            pairs
                .iter()
                .any(|p| p.lang == lang && p.class == "cjk-edit"),
            "{lang}: no cjk-edit pair"
        );
    }
    // Written texts are real stories: 40 to 150 words (CJK characters count
    // half; full-length wire stories, whose notes start "wire:", up to 360),
    // summaries and short CJK texts at least 12.
    for p in &pairs {
        let low = if matches!(p.class.as_str(), "summary-vs-full" | "cjk-edit" | "teaser") {
            12
        } else {
            40
        };
        let high = if p.note.starts_with("wire:") {
            361
        } else {
            151
        };
        for side in [&p.a, &p.b] {
            if let Side::Text { body, .. } = side {
                let n = similar::word_count(body);
                assert!(
                    (low - 1..=high).contains(&n),
                    "[{}] {}: body of {n} words",
                    p.lang,
                    p.note
                );
            }
        }
    }
}

fn report(label: &str, c: Counts) -> String {
    format!(
        "{label}: precision {:.3}, recall {:.3} ({} of {})",
        c.precision(),
        c.recall(),
        c.tp,
        c.tp + c.fn_
    )
}

#[test]
fn no_different_stories_merge_and_recall_holds() {
    let (scored, skipped) = labelled::score_all();
    if skipped > 0 {
        eprintln!("corpus not found: {skipped} corpus pairs left out");
    }
    let wrong: Vec<String> = scored
        .iter()
        .filter(|s| !s.pair.same && s.merged())
        .map(|s| format!("[{}/{}] {}", s.pair.lang, s.pair.class, s.pair.note))
        .collect();
    assert!(wrong.is_empty(), "different stories merged: {wrong:#?}");

    let c = Counts::of(&scored);
    eprintln!("{}", report("all", c));
    assert_eq!(c.precision(), 1.0);
    let missed: Vec<String> = scored
        .iter()
        .filter(|s| s.pair.same && !s.merged())
        .map(|s| format!("[{}/{}] {}", s.pair.lang, s.pair.class, s.pair.note))
        .collect();
    assert!(
        c.recall() >= MIN_RECALL,
        "{}; missed: {missed:#?}",
        report("all", c)
    );
    let mut by_lang: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
    for s in &scored {
        by_lang.entry(s.pair.lang.as_str()).or_default().push(s);
    }
    for lang in LANGUAGES {
        let c = Counts::of(by_lang[lang].iter().copied());
        eprintln!("{}", report(lang, c));
        assert!(
            c.recall() >= MIN_RECALL_PER_LANGUAGE,
            "{}; missed: {missed:#?}",
            report(lang, c)
        );
    }
    // Every class of edit is recognised.
    for class in REQUIRED_SAME_CLASSES {
        let c = Counts::of(scored.iter().filter(|s| s.pair.class == class));
        eprintln!("{}", report(class, c));
        assert!(c.recall() >= MIN_RECALL_PER_CLASS, "{}", report(class, c));
    }
}

#[test]
fn merged_copies_share_an_anchor() {
    // The store finds candidates only through shared anchors.
    let (scored, _) = labelled::score_all();
    for s in scored.iter().filter(|s| s.pair.same && s.merged()) {
        assert!(
            s.share_anchor(),
            "[{}/{}] {}: merged but no anchor in common",
            s.pair.lang,
            s.pair.class,
            s.pair.note
        );
    }
}

#[test]
fn no_false_merges_among_corpus_texts() {
    let Some(dir) = labelled::corpus_dir() else {
        eprintln!("corpus not found (../shared/corpus or $FEEDLOOM_CORPUS): skipped");
        return;
    };
    let (texts, stats) = labelled::corpus_texts(&dir);
    assert!(
        texts.len() >= 400,
        "{stats:?}: {} distinct texts",
        texts.len()
    );
    let merged = labelled::corpus_merges(&texts, &labelled::load_pairs());
    let wrong: Vec<String> = merged
        .iter()
        .filter(|m| !m.3)
        .map(|(i, j, score, _)| {
            format!(
                "{score:.2}: {}#{} / {}#{}",
                texts[*i].source, texts[*i].entry, texts[*j].source, texts[*j].entry
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} pairs of distinct corpus texts merged: {wrong:#?}",
        wrong.len(),
        texts.len() * (texts.len() - 1) / 2
    );
}
