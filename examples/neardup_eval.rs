//! Measures the near-duplicate detector (`feedloom::similar`).
//!
//! ```text
//! cargo run --release --example neardup_eval              # labelled set
//! cargo run --release --example neardup_eval -- --corpus  # + false merges on the corpus
//! cargo run --release --example neardup_eval -- --list    # corpus entries per file
//! cargo run --release --example neardup_eval -- --pairs   # every pair's figures
//! ```
//!
//! Labelled set (`tests/fixtures/neardup/pairs.json`): precision and recall
//! overall, per language and per class. A same-story pair counts as found only
//! when it merges in both arrival orders (the store compares a new text with
//! stored fingerprints, which is not symmetric); a different pair counts as a
//! false merge when it merges in either. Then the pairs it gets wrong, the
//! similarity figures of both kinds of pairs, and the cost of fingerprinting.
//!
//! `--corpus`: every entry of every feed under the corpus that parses and has a
//! fingerprint, identical texts collapsed to one; every pair of distinct texts
//! is checked in both orders. Each merge there is a wrong merge (the corpus is
//! many unrelated test feeds). It also reports how selective the anchor index is.

#[path = "../tests/fixtures/neardup/labelled.rs"]
mod labelled;
#[path = "../tests/fixtures/neardup/simhash_v3.rs"]
mod simhash_v3;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use feedloom::similar::{self, Fingerprint};
use labelled::{Counts, Scored};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        list_corpus();
        return;
    }
    println!(
        "feedloom::similar: Jaccard >= {}, lede containment >= {}, {} bins, lede {} features, \
         anchors: {} of the prose + {} of the lede + {} after it\n",
        similar::MIN_JACCARD,
        similar::MIN_CONTAINMENT,
        similar::BINS,
        similar::LEDE,
        similar::ANCHORS,
        similar::LEDE_ANCHORS,
        similar::TAIL_ANCHORS
    );
    if let Some(i) = args.iter().position(|a| a == "--debug") {
        debug_pairs(args.get(i + 1).map_or("", String::as_str));
        return;
    }
    let scored = labelled_report(args.iter().any(|a| a == "--pairs"));
    cost_report(&scored);
    if args.iter().any(|a| a == "--corpus") {
        corpus_report();
    }
}

fn line(label: &str, c: Counts) -> String {
    format!(
        "{label:<22} {:>4} {:>4} | P {:.3} R {:.3} | tp {:>3} fn {:>3} fp {:>2} tn {:>3}",
        c.tp + c.fn_,
        c.fp + c.tn,
        c.precision(),
        c.recall(),
        c.tp,
        c.fn_,
        c.fp,
        c.tn
    )
}

fn labelled_report(every_pair: bool) -> Vec<Scored> {
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
        .filter(|s| s.a.fp.is_none() || s.b.fp.is_none())
        .count();
    println!("pairs with a side too short to fingerprint: {no_fp}\n");
    println!("{:<22} same diff", "");
    println!("{}", line("all", Counts::of(&scored)));

    let group = |key: &dyn Fn(&Scored) -> String| {
        let mut m: BTreeMap<String, Vec<&Scored>> = BTreeMap::new();
        for s in &scored {
            m.entry(key(s)).or_default().push(s);
        }
        m
    };
    println!("\nper language:");
    for (lang, v) in group(&|s| s.pair.lang.clone()) {
        println!("{}", line(&lang, Counts::of(v)));
    }
    println!("\nper class (same story):");
    for (class, v) in group(&|s| s.pair.class.clone()) {
        if v[0].pair.same {
            println!("{}", line(&class, Counts::of(v)));
        }
    }
    println!("\nper class (different stories):");
    for (class, v) in group(&|s| s.pair.class.clone()) {
        if !v[0].pair.same {
            println!("{}", line(&class, Counts::of(v)));
        }
    }

    // The detector of schema version 3 on the same pairs (symmetric).
    let v3 = |s: &Scored| -> bool {
        let a = simhash_v3::fingerprint(&s.a.title, &s.a.body);
        let b = simhash_v3::fingerprint(&s.b.title, &s.b.body);
        matches!((a, b), (Some(a), Some(b)) if simhash_v3::same_story(&a, &b))
    };
    let mut by_lang: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for s in &scored {
        let e = by_lang.entry(s.pair.lang.clone()).or_default();
        let merged = v3(s);
        if s.pair.same {
            e.0 += 1;
            e.1 += usize::from(merged);
        } else {
            e.2 += usize::from(merged);
        }
    }
    let (pos, found, wrong) = by_lang
        .values()
        .fold((0, 0, 0), |t, v| (t.0 + v.0, t.1 + v.1, t.2 + v.2));
    println!(
        "\nversion 3's detector (SimHash within 3 bits, key tokens included) on the same \
         pairs: recall {:.3} ({found} of {pos}), {wrong} different pairs merged; per language \
         recall: {}",
        found as f64 / pos.max(1) as f64,
        by_lang
            .iter()
            .filter(|(_, v)| v.0 > 0)
            .map(|(l, v)| format!("{l} {:.2}", v.1 as f64 / v.0 as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );

    println!("\nSimilarity (J: estimated Jaccard of the prose; C: lede containment):");
    let mut hist: BTreeMap<(bool, u32), usize> = BTreeMap::new();
    for s in &scored {
        if let (Some(j), Some(c)) = (s.jaccard(), s.containment()) {
            let bucket = (j.max(c) * 10.0).floor().min(10.0) as u32;
            *hist.entry((s.pair.same, bucket)).or_default() += 1;
        }
    }
    println!("max(J, C) | same story | different");
    for b in 0..=10 {
        let p = hist.get(&(true, b)).copied().unwrap_or(0);
        let n = hist.get(&(false, b)).copied().unwrap_or(0);
        println!("  {:.1}     | {:<30} | {}", b as f32 / 10.0, bar(p), bar(n));
    }

    let found: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.pair.same && s.merged())
        .collect();
    println!(
        "\nsame-story pairs merged that share an anchor (the index finds them): {} of {}",
        found.iter().filter(|s| s.share_anchor()).count(),
        found.len()
    );
    let mut shared = [0usize; 8];
    for s in &found {
        let (a, b) = (s.a.fp.as_ref().unwrap(), s.b.fp.as_ref().unwrap());
        let n = a.anchors.iter().filter(|x| b.anchors.contains(x)).count();
        shared[n.min(7)] += 1;
    }
    println!("  anchors shared by merged copies (0, 1, 2, ...): {shared:?}");
    for s in found.iter().filter(|s| !s.share_anchor()) {
        println!(
            "  no shared anchor: [{}/{}] {}",
            s.pair.lang, s.pair.class, s.pair.note
        );
    }
    println!("\nSame-story pairs missed:");
    for s in scored.iter().filter(|s| s.pair.same && !s.merged()) {
        println!(
            "  {} [{}/{}] {}",
            why(s),
            s.pair.lang,
            s.pair.class,
            s.pair.note
        );
    }
    println!("\nDifferent pairs merged:");
    for s in scored.iter().filter(|s| !s.pair.same && s.merged()) {
        println!(
            "  {} [{}/{}] {}",
            why(s),
            s.pair.lang,
            s.pair.class,
            s.pair.note
        );
    }
    println!("\nDifferent pairs as similar as a copy (kept apart by their key tokens):");
    let mut n = 0;
    for s in scored.iter().filter(|s| !s.pair.same && !s.merged()) {
        if s.jaccard().unwrap_or(0.0) >= similar::MIN_JACCARD
            || s.containment().unwrap_or(0.0) >= similar::MIN_CONTAINMENT
        {
            n += 1;
        }
    }
    println!(
        "  {n} of {}",
        scored.iter().filter(|s| !s.pair.same).count()
    );
    if every_pair {
        println!("\nEvery pair:");
        for s in &scored {
            println!(
                "  {} {} [{}/{}] {}",
                if s.pair.same { "same" } else { "diff" },
                why(s),
                s.pair.lang,
                s.pair.class,
                s.pair.note
            );
        }
    }
    println!();
    scored
}

fn why(s: &Scored) -> String {
    let (Some(j), Some(c), Some((k1, k2))) = (s.jaccard(), s.containment(), s.keys_agree()) else {
        return "no fingerprint".into();
    };
    let (ab, ba) = s.orders();
    format!(
        "J={j:.2} C={c:.2} keys {}{} merged {}{}",
        if k1 { 'y' } else { 'n' },
        if k2 { 'y' } else { 'n' },
        if ab { 'y' } else { 'n' },
        if ba { 'y' } else { 'n' },
    )
}

fn bar(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("{n:>3} {}", "#".repeat(n.min(26)))
    }
}

/// CPU time of this thread, in seconds (wall time would count the other
/// processes of a busy machine).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64()
            },
            |ns| ns / 1e9,
        )
}

/// CPU µs per call of `f` over `texts`: the best of seven rounds.
fn per_text(texts: &[(&str, &str)], rounds: usize, mut f: impl FnMut(&str, &str)) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = cpu_seconds();
        for _ in 0..rounds {
            for (title, body) in texts {
                f(title, body);
            }
        }
        best = best.min((cpu_seconds() - t) / (rounds * texts.len()) as f64);
    }
    best * 1e6
}

/// A typical 2 KB item: about 330 words of English in six HTML paragraphs.
fn typical_item() -> (String, String) {
    let words = "the council voted on Tuesday to approve a budget of 4.5 million euros for \
                 roads schools and parks after a debate that lasted more than six hours and \
                 drew protests from residents of the northern district who said the plan";
    let mut body = String::new();
    for p in 0..6 {
        body.push_str(&format!("<p>Paragraph {p}: {words}. {words}.</p>"));
    }
    (
        "Council approves 4.5 million euro budget after six-hour debate".to_string(),
        body,
    )
}

/// Fingerprinting cost per item (CPU time), this version against version 3's
/// SimHash in the same run, and the size of the stored form.
fn cost_report(scored: &[Scored]) {
    use std::hint::black_box;
    let (title, body) = typical_item();
    let item = [(title.as_str(), body.as_str())];
    let labelled: Vec<(&str, &str)> = scored
        .iter()
        .flat_map(|s| [&s.a, &s.b])
        .map(|t| (t.title.as_str(), t.body.as_str()))
        .collect();
    let bytes = labelled
        .iter()
        .map(|(t, b)| t.len() + b.len())
        .sum::<usize>() as f64
        / labelled.len() as f64;
    println!("Cost of fingerprinting (CPU time, best of 7 rounds):");
    for (label, texts, rounds) in [
        (
            format!("a {:.1} KB HTML item", body.len() as f64 / 1e3),
            &item[..],
            3000,
        ),
        (
            format!("the labelled texts (mean {bytes:.0} bytes)"),
            &labelled[..],
            5,
        ),
    ] {
        let new = per_text(texts, rounds, |t, b| {
            black_box(similar::fingerprint(t, black_box(b)));
        });
        let old = per_text(texts, rounds, |t, b| {
            black_box(simhash_v3::fingerprint(t, black_box(b)));
        });
        let tokens = per_text(texts, rounds, |t, b| {
            black_box(similar::tokens(t, black_box(b)));
        });
        println!(
            "  {label}: {new:.2} µs per text; version 3 (SimHash): {old:.2} µs ({:.2}×); \
             tokens, computed only for a similar candidate: {tokens:.2} µs",
            new / old
        );
    }
    let fp = similar::fingerprint(&title, &body).unwrap();
    let sizes: Vec<usize> = scored
        .iter()
        .flat_map(|s| [&s.a, &s.b])
        .filter_map(|t| t.fp.as_ref())
        .map(|f| f.to_bytes().len())
        .collect();
    println!(
        "stored form: {} bytes for the 2.8 KB item ({} key tokens, {} anchors); over the \
         labelled texts mean {:.0} bytes, max {}\n",
        fp.to_bytes().len(),
        fp.keys.len(),
        fp.anchors.len(),
        sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
        sizes.iter().max().unwrap_or(&0)
    );
}

fn list_corpus() {
    let Some(dir) = labelled::corpus_dir() else {
        println!("corpus not found");
        return;
    };
    for path in labelled::feed_files(&dir) {
        let Some(entries) = labelled::corpus_entries(&path) else {
            continue;
        };
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        for (i, e) in entries.iter().enumerate() {
            let (t, b) = labelled::entry_text(e);
            let n = similar::word_count(&t) + similar::word_count(&b);
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
    let (texts, st) = labelled::corpus_texts(&dir);
    let n = texts.len();
    println!(
        "Corpus {}: {} files, {} parse; {} entries, {} too short to fingerprint, {} repeat an \
         earlier text; {n} distinct texts (read in {:.1} s)",
        dir.display(),
        st.files,
        st.parsed,
        st.entries,
        st.too_short,
        st.repeats,
        started.elapsed().as_secs_f64()
    );
    let bytes: usize = texts
        .iter()
        .map(|t| t.text.title.len() + t.text.body.len())
        .sum();
    let t0 = Instant::now();
    for t in &texts {
        std::hint::black_box(similar::fingerprint(&t.text.title, &t.text.body));
    }
    println!(
        "fingerprinting: {:.2} µs per text (mean {:.0} bytes)",
        t0.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64,
        bytes as f64 / n.max(1) as f64
    );
    let fps: Vec<&Fingerprint> = texts.iter().map(|t| t.text.fp.as_ref().unwrap()).collect();
    let mut similar_pairs = 0;
    for i in 0..n {
        for j in i + 1..n {
            similar_pairs += usize::from(similar::similarity(fps[i], fps[j]).is_some());
        }
    }
    let merged = labelled::corpus_merges(&texts, &labelled::load_pairs());
    let false_merges = merged.iter().filter(|m| !m.3).count();
    println!(
        "checked all {} pairs of distinct texts, both orders: {similar_pairs} as similar as \
         copies; merged {} of which {} labelled one story: {false_merges} false merges",
        n * n.saturating_sub(1) / 2,
        merged.len(),
        merged.len() - false_merges
    );
    let show = |t: &labelled::CorpusText| {
        let title: String = t.text.title.chars().take(48).collect();
        let f = t.text.fp.as_ref().unwrap();
        format!(
            "{}#{} {title:?} (units {}, keys {})",
            t.source,
            t.entry,
            f.units,
            f.keys.len()
        )
    };
    for (i, j, score, labelled_same) in &merged {
        println!(
            "  {} {score:.2} J={:.2} C={:.2}\n      {}\n      {}",
            if *labelled_same {
                "labelled one story:"
            } else {
                "FALSE MERGE:"
            },
            similar::jaccard(fps[*i], fps[*j]),
            similar::containment(fps[*i], fps[*j]),
            show(&texts[*i]),
            show(&texts[*j])
        );
    }

    // How selective the anchor index is: candidates a lookup returns.
    let mut index: HashMap<u32, usize> = HashMap::new();
    for f in &fps {
        for a in &f.anchors {
            *index.entry(*a).or_default() += 1;
        }
    }
    let candidates: usize = fps
        .iter()
        .map(|f| f.anchors.iter().map(|a| index[a] - 1).sum::<usize>())
        .sum();
    let anchors: usize = fps.iter().map(|f| f.anchors.len()).sum();
    let longest = index.values().max().copied().unwrap_or(0);
    println!(
        "\nAnchor index over {n} texts: {:.2} anchors per text, {:.2} candidate rows per \
         lookup, longest list {longest}",
        anchors as f64 / n.max(1) as f64,
        candidates as f64 / n.max(1) as f64,
    );
}

/// Everything about the pairs whose note contains `needle`.
fn debug_pairs(needle: &str) {
    let (scored, _) = labelled::score_all();
    for s in scored.iter().filter(|s| s.pair.note.contains(needle)) {
        println!(
            "[{}/{}] {}: {}",
            s.pair.lang,
            s.pair.class,
            s.pair.note,
            why(s)
        );
        for t in [&s.a, &s.b] {
            println!("  title {:?}", t.title);
            if let Some(f) = &t.fp {
                println!(
                    "  units {} features {} opening {} key_limit {} anchors {:?}",
                    f.units, f.features, f.opening, f.key_limit, f.anchors
                );
                println!("  keys {:?}", f.keys);
            }
        }
    }
}
