//! Search, filters and retention at scale: prints figures, asserts nothing.
//!
//! `cargo bench --bench search` runs, in one process:
//! 1. tokenizers: recall on Korean, Japanese, Chinese and European queries and
//!    index bytes per item, for `unicode61` alone, `trigram`, and feedloom's
//!    `unicode61` over CJK pairs, on the same generated documents;
//! 2. a store of N items (default 1,000,000; FEEDLOOM_BENCH_SEARCH_ITEMS) with
//!    its search index: build time, file size, index bytes per item;
//! 3. what the search index adds to storing one new item (µs), beside the whole
//!    write of that item;
//! 4. search latency (ms) by kind of query, limit 20, one result per story;
//! 5. an output's rules at render time (rare match, common match, no rules);
//! 6. pruning 10% of the items, returning the space in steps (incremental
//!    auto-vacuum), and a full VACUUM of the same file for comparison;
//! 7. the upgrade that rebuilds the search index with prefix indexes (0008).
//!
//! Text is generated (a fixed seed): words drawn by Zipf's law from a 20,000-word
//! vocabulary, 5% of items in Chinese, Japanese or Korean.

use std::path::Path;
use std::time::{Duration, Instant};

use feedloom::store::Store;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: deterministic, fast.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "ro", "mi", "ten", "sul", "bra", "vi", "lo", "nor", "de", "pa", "gri", "fen", "tu",
    "sha", "mel", "ow", "ix", "ber", "cra", "dun", "el", "fo", "gan", "hul", "ist", "jor", "kel",
];

/// Words, Zipf-distributed.
struct Vocab {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocab {
    fn new(n: usize) -> Vocab {
        let words: Vec<String> = (0..n)
            .map(|mut r| {
                let mut w = String::new();
                loop {
                    w.push_str(SYLLABLES[r % SYLLABLES.len()]);
                    r /= SYLLABLES.len();
                    if r == 0 {
                        break;
                    }
                }
                w
            })
            .collect();
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.iter().map(|c| c / total).collect();
        Vocab { words, cumulative }
    }
    fn word(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self.cumulative.partition_point(|c| *c < u);
        &self.words[i.min(self.words.len() - 1)]
    }
}

/// Common Han characters and Hangul syllables, for CJK text.
fn cjk_text(rng: &mut Rng, chars: usize) -> String {
    let mut s = String::new();
    let korean = rng.below(3) == 0;
    for i in 0..chars {
        if i > 0 && i % 12 == 0 {
            s.push(if korean { ' ' } else { '、' });
        }
        let c = if korean {
            0xAC00 + (rng.below(400) as u32) * 7
        } else {
            // A skewed pick from 2,000 CJK ideographs.
            let r = (rng.unit() * rng.unit() * 2000.0) as u32;
            0x4E00 + r * 3
        };
        s.push(char::from_u32(c).unwrap_or('中'));
    }
    s
}

struct Doc {
    title: String,
    html: String,
}

fn document(rng: &mut Rng, vocab: &Vocab) -> Doc {
    if rng.below(20) == 0 {
        return Doc {
            title: cjk_text(rng, 14),
            html: format!("<p>{}</p>", cjk_text(rng, 120)),
        };
    }
    let title: Vec<&str> = (0..8).map(|_| vocab.word(rng)).collect();
    let mut html = String::from("<p>");
    for i in 0..60 {
        if i > 0 {
            html.push(' ');
        }
        if i % 20 == 19 {
            html.push_str("</p><p>");
        }
        html.push_str(vocab.word(rng));
    }
    html.push_str("</p>");
    Doc {
        title: title.join(" "),
        html,
    }
}

fn page_bytes(conn: &rusqlite::Connection) -> u64 {
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    ((pages - free) * size) as u64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn stats(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        p(0.5),
        p(0.9),
        v[v.len() - 1]
    )
}

fn main() {
    let n = env_usize("FEEDLOOM_BENCH_SEARCH_ITEMS", 1_000_000);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("machine: {cores} cores; store of {n} items");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    tokenizers(dir.path());
    let vocab = Vocab::new(20_000);
    let path = dir.path().join("search.db");
    build(&path, n, &vocab);
    write_cost(&path, &vocab);
    latency(&path, &vocab);
    filters(&path, &vocab);
    retention(&path, n);
    upgrade(&path);
}

/// Part 7: the upgrade that rebuilds the search index (migration 0008): the
/// migration's own SQL on this store, then what the next writing command's
/// open does (indexing every item again, 1,000 per transaction).
fn upgrade(path: &Path) {
    let sql = feedloom::store::MIGRATIONS
        .iter()
        .find(|(name, _)| *name == "0008_search_prefix")
        .map(|(_, sql)| *sql)
        .unwrap();
    let items: i64 = {
        let conn = rusqlite::Connection::open(path).unwrap();
        let t = Instant::now();
        conn.execute_batch(&format!("BEGIN; {sql} COMMIT;"))
            .unwrap();
        println!(
            "\nupgrade to prefix indexes: the migration (drop and create the index) {:.1} s",
            t.elapsed().as_secs_f64()
        );
        conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap()
    };
    let t = Instant::now();
    drop(Store::open(path).unwrap());
    let took = t.elapsed().as_secs_f64();
    println!(
        "  re-indexing {items} items at the next open: {took:.0} s ({:.0} µs per item)",
        took * 1e6 / items.max(1) as f64
    );
}

/// Part 1: the same documents under three tokenizers.
fn tokenizers(dir: &Path) {
    // Real sentences, so that words are real words: each document is three of
    // them, each query a word of one of them.
    const SENTENCES: &[&str] = &[
        "東京都の新しい駅は来年から利用できます",
        "気象庁によると今年の桜は平年より早く満開になりました",
        "政府は経済対策を発表し物価高への支援を拡大する",
        "北京大学的研究人员发布了关于气候变化的报告",
        "上海港集装箱吞吐量创历史新高",
        "中国人民银行宣布下调存款准备金率",
        "서울시는 다음 달 국제 회의를 연다고 밝혔다",
        "정부는 새로운 부동산 대책을 발표했습니다",
        "한국은행이 기준금리를 동결했다",
        "The city council approved the new tram line on Tuesday",
        "Storms closed the harbour and ferries stayed in port",
        "Researchers published a report on climate and coastal flooding",
        "Die Straße bleibt wegen Bauarbeiten bis Freitag gesperrt",
        "Le café du centre-ville rouvre après des travaux",
        "La economía española creció más de lo previsto",
    ];
    const QUERIES: &[(&str, &str)] = &[
        ("CJK 2 chars", "新しい"),
        ("CJK 2 chars", "桜"),
        ("CJK 2 chars", "経済"),
        ("CJK 2 chars", "政府"),
        ("CJK 2 chars", "研究"),
        ("CJK 2 chars", "气候"),
        ("CJK 2 chars", "银行"),
        ("CJK 2 chars", "서울"),
        ("CJK 2 chars", "회의"),
        ("CJK 2 chars", "정부"),
        ("CJK 2 chars", "금리"),
        ("CJK 3+ chars", "東京都"),
        ("CJK 3+ chars", "気象庁"),
        ("CJK 3+ chars", "北京大学"),
        ("CJK 3+ chars", "集装箱"),
        ("CJK 3+ chars", "부동산"),
        ("CJK 3+ chars", "기준금리"),
        ("European", "council"),
        ("European", "harbour"),
        ("European", "flooding"),
        ("European", "strasse"),
        ("European", "cafe"),
        ("European", "economia"),
        ("European", "tram"),
        ("European 2 letters", "du"),
    ];
    let docs = 20_000;
    let mut rng = Rng(42);
    let bodies: Vec<Vec<usize>> = (0..docs)
        .map(|_| (0..3).map(|_| rng.below(SENTENCES.len())).collect())
        .collect();
    let fold = |s: &str| -> String {
        s.to_lowercase()
            .replace('ß', "ss")
            .replace(['é', 'è'], "e")
            .replace('í', "i")
            .replace('á', "a")
            .replace('ñ', "n")
    };
    // Ground truth: the sentences that contain the query (whole words for
    // European queries).
    let truth = |q: &str, doc: &[usize]| -> bool {
        let q = fold(q);
        doc.iter().any(|&s| {
            let text = fold(SENTENCES[s]);
            if q.chars().any(feedloom::filter::is_cjk) {
                text.contains(&q)
            } else {
                text.split(|c: char| !c.is_alphanumeric()).any(|w| w == q)
            }
        })
    };
    println!(
        "\ntokenizers ({docs} documents of 3 sentences; recall = found / containing the word):"
    );
    println!(
        "  {:<34} {:>9} {:>12} {:>12} {:>10} {:>10} {:>9}",
        "tokenizer", "bytes/doc", "CJK 2 chars", "CJK 3+", "European", "Eur. 2 l.", "query ms"
    );
    for (name, tokenize, pairs) in [
        ("unicode61", "unicode61 remove_diacritics 2", false),
        ("trigram", "trigram remove_diacritics 1", false),
        (
            "unicode61 + CJK pairs (feedloom)",
            "unicode61 remove_diacritics 2",
            true,
        ),
    ] {
        let path = dir.join(format!("tok-{}.db", name.len()));
        let _ = std::fs::remove_file(&path);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE VIRTUAL TABLE t USING fts5(body, content='', tokenize='{tokenize}');"
        ))
        .unwrap();
        let before = page_bytes(&conn);
        conn.execute_batch("BEGIN").unwrap();
        for (i, d) in bodies.iter().enumerate() {
            let text: Vec<&str> = d.iter().map(|&s| SENTENCES[s]).collect();
            let text = text.join(". ");
            let text = if pairs {
                feedloom::store::search::index_text(&text)
            } else {
                text
            };
            conn.execute(
                "INSERT INTO t (rowid, body) VALUES (?1, ?2)",
                rusqlite::params![i as i64 + 1, text],
            )
            .unwrap();
        }
        conn.execute_batch("COMMIT; INSERT INTO t(t) VALUES('optimize');")
            .unwrap();
        let per_doc = (page_bytes(&conn) - before) as f64 / docs as f64;
        let mut recall: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        let mut query_time = Duration::ZERO;
        let mut runs = 0;
        for (class, q) in QUERIES {
            let expr = if pairs {
                feedloom::store::search::parse_query(q).unwrap().fts
            } else {
                format!("\"{q}\"")
            };
            let t = Instant::now();
            let found: std::collections::HashSet<i64> = conn
                .prepare("SELECT rowid FROM t WHERE t MATCH ?1")
                .unwrap()
                .query_map([&expr], |r| r.get(0))
                .map(|rows| rows.filter_map(Result::ok).collect())
                .unwrap_or_default();
            query_time += t.elapsed();
            runs += 1;
            let e = recall.entry(class).or_default();
            for (i, d) in bodies.iter().enumerate() {
                if truth(q, d) {
                    e.1 += 1;
                    if found.contains(&(i as i64 + 1)) {
                        e.0 += 1;
                    }
                }
            }
        }
        let per_query = ms(query_time) / runs as f64;
        let r = |c: &str| {
            recall
                .get(c)
                .map_or(0.0, |(f, t)| 100.0 * *f as f64 / (*t).max(1) as f64)
        };
        println!(
            "  {:<34} {:>9.0} {:>11.0}% {:>11.0}% {:>9.0}% {:>9.0}% {:>9.1}",
            name,
            per_doc,
            r("CJK 2 chars"),
            r("CJK 3+ chars"),
            r("European"),
            r("European 2 letters"),
            per_query
        );
    }
}

/// Part 2: N items, stories and search rows, as feedloom stores them.
fn build(path: &Path, n: usize, vocab: &Vocab) {
    let store = Store::open(path).unwrap();
    let cfg = feedloom::config::parse(
        "[[feed]]\nurl = \"https://a.example/feed\"\ntags = [\"a\"]\n[[feed]]\nurl = \"https://b.example/feed\"\n",
        Path::new("x.toml"),
    )
    .unwrap();
    drop(store);
    let mut store = Store::open(path).unwrap();
    let feeds = store.sync_config(&cfg.feeds).unwrap();
    let conn = store.conn();
    let now = feedloom::now_unix();
    let mut rng = Rng(7);
    let t = Instant::now();
    let mut fts = Duration::ZERO;
    conn.execute_batch("BEGIN").unwrap();
    {
        let mut story = conn
            .prepare(
                "INSERT INTO stories (id, uid, first_seen_at, changed_at, item_count) VALUES (?1, ?2, ?3, ?3, 1)",
            )
            .unwrap();
        let mut item = conn
            .prepare(
                "INSERT INTO items (id, feed_id, key, key_kind, uid, url, title, content,
                     content_hash, first_seen_at, last_seen_at, changed_at, story_id, text_hash)
                 VALUES (?1, ?2, ?3, 'guid', ?4, ?5, ?6, ?7, 'h', ?8, ?8, ?8, ?1, 't')",
            )
            .unwrap();
        for i in 1..=n as i64 {
            let d = document(&mut rng, vocab);
            // Spread over a year, newest last.
            let seen = now - 365 * 86_400 + (i * 365 * 86_400) / n as i64;
            let uid = format!("urn:bench:{i}");
            story.execute(rusqlite::params![i, uid, seen]).unwrap();
            item.execute(rusqlite::params![
                i,
                feeds[(i % 2) as usize].id,
                format!("guid:{i}"),
                uid,
                format!("https://a.example/p/{i}"),
                d.title,
                d.html,
                seen
            ])
            .unwrap();
            let f = Instant::now();
            feedloom::store::search::index_item(conn, i, Some(&d.title), (Some(&d.html), None))
                .unwrap();
            fts += f.elapsed();
            if i % 100_000 == 0 {
                conn.execute_batch("COMMIT; BEGIN").unwrap();
            }
        }
    }
    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let total = page_bytes(conn);
    // The index's share: its shadow tables' pages, counted by a second copy
    // without them would take as long again; estimate from the segments.
    let fts_bytes: i64 = conn
        .query_row("SELECT sum(length(block)) FROM search_data", [], |r| {
            r.get(0)
        })
        .unwrap_or(0);
    println!(
        "\nstore: {n} items built in {:.0} s (search rows {:.1} µs per item of that), file {:.0} MB, \
         search index {:.0} MB = {:.0} bytes per item",
        t.elapsed().as_secs_f64(),
        fts.as_secs_f64() * 1e6 / n as f64,
        total as f64 / 1e6,
        fts_bytes as f64 / 1e6,
        fts_bytes as f64 / n as f64
    );
}

/// Part 3: what indexing adds to storing one new item.
fn write_cost(path: &Path, vocab: &Vocab) {
    use feedloom::identity::identify_document;
    use feedloom::parse::Entry;
    use feedloom::store::feeds::{FetchRecord, Reschedule};
    use feedloom::store::items::{DocumentMeta, StoryRules};

    let mut store = Store::open(path).unwrap();
    let cfg = feedloom::config::parse(
        "[[feed]]\nurl = \"https://a.example/feed\"\ntags = [\"a\"]\n[[feed]]\nurl = \"https://b.example/feed\"\n",
        Path::new("x.toml"),
    )
    .unwrap();
    let feeds = store.sync_config(&cfg.feeds).unwrap();
    let mut rng = Rng(99);
    // As the pipeline bench's documents: 38 paragraphs of ~12 words.
    let docs: Vec<Doc> = (0..2000)
        .map(|_| {
            let d = document(&mut rng, vocab);
            let mut html = String::new();
            for w in 0..38 {
                html.push_str(&format!(
                    "<p>Paragraph {w}: {} {} {} {} with some words to read.</p>",
                    vocab.word(&mut rng),
                    vocab.word(&mut rng),
                    vocab.word(&mut rng),
                    vocab.word(&mut rng)
                ));
            }
            Doc {
                title: d.title,
                html,
            }
        })
        .collect();
    // The index alone, in one transaction (as inside a fetch's).
    let conn = store.conn();
    conn.execute_batch("BEGIN").unwrap();
    let t = Instant::now();
    for (i, d) in docs.iter().enumerate() {
        feedloom::store::search::index_item(
            conn,
            10_000_000 + i as i64,
            Some(&d.title),
            (Some(&d.html), None),
        )
        .unwrap();
    }
    let index_us = t.elapsed().as_secs_f64() * 1e6 / docs.len() as f64;
    conn.execute_batch("ROLLBACK").unwrap();
    // The same rows into a table as version 7 made it (no prefix indexes), in
    // the same run.
    conn.execute_batch(
        "BEGIN; CREATE VIRTUAL TABLE temp.search_v7 USING fts5(title, body, content = '',
             contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');",
    )
    .unwrap();
    let t = Instant::now();
    for (i, d) in docs.iter().enumerate() {
        use feedloom::store::search::{index_text, plain_text};
        let body = plain_text(&d.html);
        // (Shorter than the indexed maximum: indexed whole, as by index_item.)
        assert!(body.len() < feedloom::store::search::MAX_INDEXED);
        let cut = &body;
        conn.prepare_cached("INSERT INTO search_v7 (rowid, title, body) VALUES (?1, ?2, ?3)")
            .unwrap()
            .execute(rusqlite::params![
                10_000_000 + i as i64,
                index_text(&d.title),
                index_text(cut)
            ])
            .unwrap();
    }
    let v7_us = t.elapsed().as_secs_f64() * 1e6 / docs.len() as f64;
    conn.execute_batch("ROLLBACK").unwrap();
    // The text work alone (no SQLite).
    let t = Instant::now();
    let mut bytes = 0;
    for d in &docs {
        let body = feedloom::store::search::plain_text(&d.html);
        bytes += feedloom::store::search::index_text(&body).len();
    }
    let text_us = t.elapsed().as_secs_f64() * 1e6 / docs.len() as f64;
    // The whole write of a new item: 50 per document, one transaction each.
    let entries: Vec<Entry> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| Entry {
            guid: Some(format!("write-cost-{i}")),
            title: Some(d.title.clone()),
            content: Some(d.html.clone()),
            ..Entry::default()
        })
        .collect();
    let items = identify_document(entries);
    let t = Instant::now();
    for chunk in items.chunks(50) {
        store
            .apply_document(
                &feeds[1],
                &FetchRecord {
                    started_at: feedloom::now_unix(),
                    ..FetchRecord::default()
                },
                &Default::default(),
                &DocumentMeta::default(),
                chunk,
                &Reschedule::default(),
                &StoryRules::default(),
            )
            .unwrap();
    }
    let write_us = t.elapsed().as_secs_f64() * 1e6 / items.len() as f64;
    println!(
        "\nnew item with ~{} bytes of HTML: search index {index_us:.1} µs per item (of which plain text \
         and CJK pairs {text_us:.1} µs), whole write of the item {write_us:.1} µs ({:.0}% of it)",
        docs[0].html.len(),
        100.0 * index_us / write_us
    );
    println!(
        "  the same rows without prefix indexes (the index before version 8): {v7_us:.1} µs per item; \
         with them {:.2}× that",
        index_us / v7_us
    );
    let _ = bytes;
}

/// Part 4: queries by kind.
fn latency(path: &Path, vocab: &Vocab) {
    use feedloom::store::search::SearchQuery;
    let store = Store::open_read_only(path).unwrap();
    let run = |q: &str| -> (f64, usize) {
        let sq = SearchQuery {
            query: q.to_string(),
            limit: 20,
            ..SearchQuery::default()
        };
        let t = Instant::now();
        let hits = store.search(&sq, &|s| Some(s.clone())).unwrap();
        (ms(t.elapsed()), hits.len())
    };
    let matching = |q: &str| -> i64 {
        let fts = feedloom::store::search::parse_query(q).unwrap().fts;
        store
            .conn()
            .query_row(
                "SELECT count(*) FROM search WHERE search MATCH ?1",
                [fts],
                |r| r.get(0),
            )
            .unwrap()
    };
    println!(
        "\nsearch latency (limit 20, one result per story, snippets; words matching more than {} items \
         are ranked among their newest {} matches, a query with a phrase or a short prefix among its newest {}):",
        feedloom::store::search::MAX_MATCHES,
        feedloom::store::search::MAX_MATCHES,
        feedloom::store::search::MAX_BY_PLACE_MATCHES
    );
    // Pairs of characters that occur in CJK titles.
    let cjk_titles: Vec<String> = store
        .conn()
        .prepare("SELECT title FROM items WHERE id % 97 = 0 LIMIT 2000")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|t| t.chars().any(feedloom::filter::is_cjk))
        .take(15)
        .collect();
    let classes: Vec<(&str, Vec<String>)> = vec![
        (
            "rare word (rank 5,000-20,000)",
            (0..15)
                .map(|k| vocab.words[5000 + k * 1000].clone())
                .collect(),
        ),
        (
            "medium word (rank 300-1,000)",
            (0..15).map(|k| vocab.words[300 + k * 50].clone()).collect(),
        ),
        (
            "common word (rank 10-40)",
            (0..15).map(|k| vocab.words[10 + k * 2].clone()).collect(),
        ),
        (
            "two medium words",
            (0..15)
                .map(|k| {
                    format!(
                        "{} {}",
                        vocab.words[300 + k * 40],
                        vocab.words[310 + k * 40]
                    )
                })
                .collect(),
        ),
        (
            "phrase of two common words",
            (0..15)
                .map(|k| format!("\"{} {}\"", vocab.words[k + 1], vocab.words[k + 2]))
                .collect(),
        ),
        (
            "phrase, common + rare word",
            (0..15)
                .map(|k| {
                    format!(
                        "\"{} {}\"",
                        vocab.words[k + 1],
                        vocab.words[5000 + k * 1000]
                    )
                })
                .collect(),
        ),
        (
            "CJK two characters",
            cjk_titles
                .iter()
                .map(|t| t.chars().skip(3).take(2).collect())
                .collect(),
        ),
        (
            "prefix (2 letters*)",
            (0..15)
                .map(|k| {
                    format!(
                        "{}*",
                        &vocab.words[400 + k * 37][..2.min(vocab.words[400 + k * 37].len())]
                    )
                })
                .collect(),
        ),
        // (A prefix of one letter is refused: it has no index, and 32 of
        // them read nearly the whole index.)
        (
            "32 words, each a 2-letter prefix",
            (0..15)
                .map(|k| {
                    (0..32)
                        .map(|j| format!("{}*", &vocab.words[400 + k + j * 7][..2]))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect(),
        ),
        (
            "32 common words",
            (0..15)
                .map(|k| {
                    (0..32)
                        .map(|j| vocab.words[k + j].clone())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect(),
        ),
        (
            "prefix (3 letters*)",
            (0..15)
                .map(|k| {
                    format!(
                        "{}*",
                        &vocab.words[400 + k * 37][..3.min(vocab.words[400 + k * 37].len())]
                    )
                })
                .collect(),
        ),
    ];
    // Baseline in the same run: the river's first page (20 stories) from the store.
    let base_q = feedloom::store::queries::StoryQuery {
        limit: 20,
        ..Default::default()
    };
    let _ = store.stories(&base_q).unwrap();
    let mut base = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let _ = store.stories(&base_q).unwrap();
        base.push(ms(t.elapsed()));
    }
    base.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let base_median = base[base.len() / 2];
    println!("  baseline: the river's first 20 stories from the store, median {base_median:.2} ms");
    for (name, queries) in classes {
        // Warm once, then time.
        let _ = run(&queries[0]);
        let mut times = Vec::new();
        let mut found = 0;
        let mut matched = 0i64;
        for q in &queries {
            let (t, n) = run(q);
            times.push(t);
            found += n;
            matched += matching(q);
        }
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let ratio = sorted[sorted.len() / 2] / base_median.max(0.001);
        println!(
            "  {name:<30} {} = {ratio:.0}× baseline ({} items match on average; {} results)",
            stats(times),
            matched / queries.len() as i64,
            found / queries.len()
        );
    }
}

/// Part 5: output rules at render time.
fn filters(path: &Path, vocab: &Vocab) {
    use feedloom::export::{query_for, select_stories};
    let store = Store::open_read_only(path).unwrap();
    let rare = &vocab.words[3000];
    let common = &vocab.words[20];
    println!(
        "\noutput rules at render time (max_items 100, {} candidates at most):",
        feedloom::export::MAX_SCAN
    );
    for (name, rules) in [
        ("no rules", String::new()),
        ("exclude a common word", format!("exclude = [\"{common}\"]")),
        ("include a rare word", format!("include = [\"{rare}\"]")),
        (
            "include a title regex",
            "include = [\"title:/^ka/\"]".to_string(),
        ),
        (
            "min_sources = 2 (none has 2)",
            "min_sources = 2".to_string(),
        ),
    ] {
        let cfg = feedloom::config::parse(
            &format!(
                "[[feed]]\nurl = \"https://a.example/feed\"\ntags = [\"a\"]\n[[feed]]\nurl = \"https://b.example/feed\"\n\n[[output]]\nname = \"o\"\n{rules}\n"
            ),
            Path::new("x.toml"),
        )
        .unwrap();
        let out = &cfg.outputs[0];
        let q = query_for(out, feedloom::now_unix(), None);
        let mut times = Vec::new();
        let mut shown = 0;
        for _ in 0..5 {
            let t = Instant::now();
            shown = select_stories(&store, &q, &out.selection).unwrap().len();
            times.push(ms(t.elapsed()));
        }
        println!("  {name:<30} {} ({shown} stories)", stats(times));
    }
}

/// Part 6: pruning 10% of the store, and the space.
fn retention(path: &Path, n: usize) {
    use feedloom::store::prune::Retention;
    let mut store = Store::open(path).unwrap();
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let r = Retention {
        keep: Some(330 * 86_400),
        keep_fetch_log: 30 * 86_400,
    };
    let now = feedloom::now_unix();
    let t = Instant::now();
    let preview = store.prune_preview(now, &r).unwrap();
    println!(
        "\nretention on the {n}-item store (keep 330 of 365 days):\n  dry run: {:.0} ms to count {} items, {} stories",
        ms(t.elapsed()),
        preview.items,
        preview.stories
    );
    let before = size(path);
    let t = Instant::now();
    let mut steps = Vec::new();
    let mut items = 0;
    loop {
        let s = Instant::now();
        let step = store.prune_step(now, &r).unwrap();
        steps.push(ms(s.elapsed()));
        items += step.pruned.items;
        if step.done {
            break;
        }
    }
    let took = t.elapsed();
    let mut slow: Vec<(usize, f64)> = steps.iter().copied().enumerate().collect();
    slow.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
    slow.truncate(3);
    println!(
        "  slowest prune steps (step, ms): {:?}",
        slow.iter()
            .map(|(i, t)| (*i, t.round() as i64))
            .collect::<Vec<_>>()
    );
    println!(
        "  prune: {items} items in {:.1} s ({:.0} µs per item), {} steps: {}",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / items.max(1) as f64,
        steps.len(),
        stats(steps)
    );
    let t = Instant::now();
    let mut merges = Vec::new();
    loop {
        let s = Instant::now();
        let more = store.merge_search_step().unwrap();
        merges.push(ms(s.elapsed()));
        if !more {
            break;
        }
    }
    println!(
        "  search index merge (drops the pruned items' entries): {:.1} s, {} steps of {} pages: {}",
        t.elapsed().as_secs_f64(),
        merges.len(),
        feedloom::store::prune::MERGE_PAGES,
        stats(merges)
    );
    store
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let free = store.free_pages().unwrap();
    let t = Instant::now();
    let mut steps = Vec::new();
    loop {
        let s = Instant::now();
        let left = store.reclaim_step().unwrap();
        steps.push(ms(s.elapsed()));
        if left == 0 {
            break;
        }
    }
    store
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    println!(
        "  incremental vacuum: {free} free pages returned in {:.1} s, {} steps of {} pages: {}; file {before:.0} MB -> {:.0} MB",
        t.elapsed().as_secs_f64(),
        steps.len(),
        feedloom::store::prune::VACUUM_PAGES,
        stats(steps),
        size(path)
    );
    let t = Instant::now();
    store.vacuum().unwrap();
    println!(
        "  full VACUUM of the same file (the alternative; blocks every writer throughout): {:.1} s, file {:.0} MB",
        t.elapsed().as_secs_f64(),
        size(path)
    );
}
