//! Measures the near-duplicate detector (`feedloom::similar`).
//!
//! ```text
//! cargo run --release --example neardup_eval              # labelled set
//! cargo run --release --example neardup_eval -- --corpus  # + false merges on the corpus
//! cargo run --release --example neardup_eval -- --list    # corpus entries per file
//! ```
//!
//! Labelled set (`tests/fixtures/neardup/pairs.json`): for every distance limit
//! 0..=12 (the title-numbers rule applied as `same_story` does), precision,
//! recall and F1 overall and per language, then the distance distribution of
//! positives and negatives, and the pairs each limit gets wrong.
//!
//! `--corpus`: every entry of every feed under the corpus that parses and has a
//! fingerprint, identical texts collapsed to one; every pair of distinct texts
//! (or a random sample when there are too many) is checked at each limit. Each
//! merge there is a wrong merge (the corpus is many unrelated test feeds), so this
//! is the false-merge rate on real data. It also reports how many candidates a
//! band lookup returns.

#[path = "../tests/fixtures/neardup/labelled.rs"]
mod labelled;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use feedloom::similar::{self, BANDS, Fingerprint, MAX_DISTANCE};
use labelled::{Counts, Scored};

const LIMITS: std::ops::RangeInclusive<u32> = 0..=12;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        list_corpus();
        return;
    }
    println!(
        "feedloom::similar: MAX_DISTANCE = {MAX_DISTANCE}, BANDS = {BANDS}, MIN_WORDS = {}\n",
        similar::MIN_WORDS
    );
    labelled_report();
    if args.iter().any(|a| a == "--corpus") {
        corpus_report();
    }
}

fn labelled_report() {
    let (scored, skipped) = labelled::score_all();
    let pos = scored.iter().filter(|s| s.pair.same).count();
    println!(
        "Labelled set: {} pairs ({pos} same story, {} different){}",
        scored.len(),
        scored.len() - pos,
        if skipped > 0 {
            format!(", {skipped} corpus pairs left out (corpus not found)")
        } else {
            String::new()
        }
    );
    let no_fp = scored
        .iter()
        .filter(|s| s.a.is_none() || s.b.is_none())
        .count();
    println!("pairs with a side too short to fingerprint: {no_fp}\n");

    let mut langs: Vec<&str> = scored.iter().map(|s| s.pair.lang.as_str()).collect();
    langs.sort();
    langs.dedup();
    println!("limit | all: P      R      F1     (tp fp fn) | per language P/R");
    for d in LIMITS {
        let c = Counts::of(&scored, d);
        let mut line = format!(
            "{d:>5} | {:.3}  {:.3}  {:.3}  ({:>2} {:>2} {:>2}) |",
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp,
            c.fp,
            c.fn_
        );
        for lang in &langs {
            let c = Counts::of(scored.iter().filter(|s| s.pair.lang == *lang), d);
            line += &format!(" {lang} {:.2}/{:.2}", c.precision(), c.recall());
        }
        if d == MAX_DISTANCE {
            line += "   <- MAX_DISTANCE";
        }
        println!("{line}");
    }

    println!("\nDistance distribution (pairs with both fingerprints):");
    let mut hist: BTreeMap<u32, [usize; 3]> = BTreeMap::new();
    for s in &scored {
        let Some(d) = s.distance() else { continue };
        let (a, b) = (s.a.as_ref().unwrap(), s.b.as_ref().unwrap());
        let col = match (s.pair.same, similar::same_story_within(a, b, 64)) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        };
        hist.entry(d).or_default()[col] += 1;
    }
    println!("dist | same story | different, numbers agree | different, numbers differ");
    for (d, [p, n, m]) in &hist {
        println!("{d:>4} | {:<10} | {:<24} | {}", bar(*p), bar(*n), bar(*m));
    }

    println!("\nNegatives closest to merging (numbers agree), smallest distance first:");
    let mut close: Vec<&Scored> = scored
        .iter()
        .filter(|s| !s.pair.same && s.merged(64))
        .collect();
    close.sort_by_key(|s| s.distance());
    for s in close.iter().take(12) {
        println!(
            "  d={:>2} [{}] {}",
            s.distance().unwrap(),
            s.pair.lang,
            s.pair.note
        );
    }
    println!("\nPositives missed at MAX_DISTANCE = {MAX_DISTANCE}:");
    for s in scored
        .iter()
        .filter(|s| s.pair.same && !s.merged(MAX_DISTANCE))
    {
        let why = match s.distance() {
            None => "no fingerprint".to_string(),
            Some(d) if d > MAX_DISTANCE => format!("d={d}"),
            Some(d) => format!("d={d}, title numbers differ"),
        };
        println!("  {why:<28} [{}] {}", s.pair.lang, s.pair.note);
    }
    println!();
}

fn bar(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("{n:>2} {}", "#".repeat(n.min(40)))
    }
}

/// A corpus entry with a fingerprint.
struct Item {
    file: usize,
    index: usize,
    title: String,
    fp: Fingerprint,
}

fn feed_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !is_sidecar(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Licences, notes and expectation files: not feeds.
fn is_sidecar(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with("LICENSE")
        || name.ends_with(".md")
        || name.ends_with(".jsonl")
        || name.ends_with(".serde.json")
        || name.ends_with(".go")
}

fn list_corpus() {
    let Some(dir) = labelled::corpus_dir() else {
        println!("corpus not found");
        return;
    };
    for path in feed_files(&dir) {
        let Some(entries) = labelled::corpus_entries(&path) else {
            continue;
        };
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        for (i, e) in entries.iter().enumerate() {
            let (t, b) = labelled::entry_text(e);
            let n =
                similar::words(&t).len() + similar::words(&feedloom::parse::strip_tags(&b)).len();
            if n >= 20 {
                let t: String = t.chars().take(70).collect();
                println!("{rel}\t{i}\t{n}\t{t}");
            }
        }
    }
}

fn corpus_report() {
    let Some(dir) = labelled::corpus_dir() else {
        println!("Corpus not found (set FEEDLOOM_CORPUS): no corpus figures.");
        return;
    };
    let started = Instant::now();
    let files = feed_files(&dir);
    let (mut parsed, mut entries_seen, mut too_short) = (0, 0, 0);
    let mut items: Vec<Item> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut seen_text: HashMap<Vec<String>, usize> = HashMap::new();
    let mut duplicates = 0;
    let mut fp_time = std::time::Duration::ZERO;
    let mut text_bytes = 0usize;
    for path in &files {
        let Some(entries) = labelled::corpus_entries(path) else {
            continue;
        };
        parsed += 1;
        let file = names.len();
        names.push(path.strip_prefix(&dir).unwrap().display().to_string());
        for (index, e) in entries.iter().enumerate() {
            entries_seen += 1;
            let (title, body) = labelled::entry_text(e);
            text_bytes += title.len() + body.len();
            let t0 = Instant::now();
            let fp = similar::fingerprint(&title, &body);
            fp_time += t0.elapsed();
            let Some(fp) = fp else {
                too_short += 1;
                continue;
            };
            // The same text in several test files is one story, not a false merge.
            let mut key = similar::words(&title);
            key.extend(similar::words(&feedloom::parse::strip_tags(&body)));
            if seen_text.insert(key, items.len()).is_some() {
                duplicates += 1;
                continue;
            }
            items.push(Item {
                file,
                index,
                title,
                fp,
            });
        }
    }
    let n = items.len();
    println!(
        "Corpus {}: {} files, {parsed} parse; {entries_seen} entries, {too_short} too short \
         to fingerprint, {duplicates} repeat an earlier text; {n} distinct texts \
         (read in {:.1} s)",
        dir.display(),
        files.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "fingerprinting: {:.1} µs per entry ({:.1} MB of title+body text)",
        fp_time.as_secs_f64() * 1e6 / entries_seen.max(1) as f64,
        text_bytes as f64 / 1e6
    );

    // Every pair when that is affordable, else a deterministic random sample.
    let all_pairs = n * n.saturating_sub(1) / 2;
    const MAX_PAIRS: usize = 50_000_000;
    let mut merges = vec![0usize; *LIMITS.end() as usize + 1];
    let mut merges_same_file = vec![0usize; merges.len()];
    let mut hist = vec![0usize; 65];
    let mut examples: Vec<(u32, usize, usize)> = Vec::new();
    let mut check = |i: usize, j: usize| {
        let (a, b) = (&items[i], &items[j]);
        let d = similar::distance(a.fp.hash, b.fp.hash);
        hist[d as usize] += 1;
        for limit in LIMITS {
            if similar::same_story_within(&a.fp, &b.fp, limit) {
                merges[limit as usize] += 1;
                if a.file == b.file {
                    merges_same_file[limit as usize] += 1;
                }
            }
        }
        if similar::same_story_within(&a.fp, &b.fp, *LIMITS.end()) {
            examples.push((d, i, j));
        }
    };
    let checked = if all_pairs <= MAX_PAIRS {
        for i in 0..n {
            for j in i + 1..n {
                check(i, j);
            }
        }
        println!("checked all {all_pairs} pairs of distinct texts");
        all_pairs
    } else {
        let mut rng = SplitMix(0x5eed);
        let mut k = 0;
        while k < MAX_PAIRS {
            let i = (rng.next() % n as u64) as usize;
            let j = (rng.next() % n as u64) as usize;
            if i != j {
                check(i.min(j), i.max(j));
                k += 1;
            }
        }
        println!("checked a random sample of {MAX_PAIRS} of {all_pairs} pairs");
        MAX_PAIRS
    };
    let moment = |k: i32| {
        hist.iter()
            .enumerate()
            .map(|(d, c)| (d as f64).powi(k) * *c as f64)
            .sum::<f64>()
            / checked.max(1) as f64
    };
    let mean = moment(1);
    let sd = (moment(2) - mean * mean).max(0.0).sqrt();
    let closest = hist.iter().position(|c| *c > 0).unwrap_or(64);
    println!("distance between distinct texts: mean {mean:.1} bits, sd {sd:.1}, closest {closest}");
    println!("\nlimit | false merges (of which within one file) | rate");
    for limit in LIMITS {
        let m = merges[limit as usize];
        println!(
            "{limit:>5} | {m:>8} ({:>6}) | {:.2e}{}",
            merges_same_file[limit as usize],
            m as f64 / checked.max(1) as f64,
            if limit == MAX_DISTANCE {
                "   <- MAX_DISTANCE"
            } else {
                ""
            }
        );
    }
    examples.sort();
    println!("\nClosest merged corpus pairs (distance, file#entry, title):");
    for (d, i, j) in examples.iter().take(25) {
        let show = |it: &Item| {
            let t: String = it.title.chars().take(48).collect();
            format!("{}#{} {t:?}", names[it.file], it.index)
        };
        println!(
            "  d={d:>2} {}\n       {}",
            show(&items[*i]),
            show(&items[*j])
        );
    }

    // How selective the band index is: candidates a lookup returns.
    let mut index: HashMap<(i64, i64), usize> = HashMap::new();
    for it in &items {
        for key in similar::bands(it.fp.hash) {
            *index.entry(key).or_default() += 1;
        }
    }
    let candidates: usize = items
        .iter()
        .map(|it| {
            similar::bands(it.fp.hash)
                .iter()
                .map(|k| index[k] - 1)
                .sum::<usize>()
        })
        .sum();
    let width = 64 / BANDS as u32;
    println!(
        "\nBand index over {n} texts: {:.2} candidates per lookup (uniform hashes would give \
         {:.4}); at a million stored items uniform hashes would give {:.0}",
        candidates as f64 / n.max(1) as f64,
        BANDS as f64 * (n.saturating_sub(1)) as f64 / 2f64.powi(width as i32),
        BANDS as f64 * 1e6 / 2f64.powi(width as i32)
    );
}

/// SplitMix64: a small deterministic generator for sampling pairs.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
