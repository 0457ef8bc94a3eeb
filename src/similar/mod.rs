//! Near-duplicate detection: the same wire story under different URLs. Pure.
//!
//! Syndicated copies of one story differ in predictable ways: spelling of
//! abbreviations, punctuation and quotes, full- or half-width forms; a rewritten
//! headline; a body cut to its first paragraphs, a dateline or byline added; a
//! summary in one feed and the full text in another; a lede rephrased or a
//! sentence added; one or two words changed. Template stories (earthquakes,
//! scores, market closes, earnings, lottery draws, weather) are the opposite: the
//! same words with other names, numbers, places or dates. So a [`Fingerprint`]
//! holds two kinds of evidence:
//!
//! * **how much text the two share**, from the *prose* of the body (paragraphs
//!   of at least [`MIN_PARAGRAPH_WORDS`] words, a wire dateline before the lede
//!   and a short last sentence left out, at most [`MAX_UNITS`] units). Its
//!   *features* are pairs of consecutive units: words of scripts with spaces,
//!   numbers, and single characters of CJK scripts (so "one or two words
//!   changed" in Korean, Japanese or Chinese changes a few character pairs, not
//!   whole sentences). The title is left out (headlines are rewritten), unless
//!   the body is short. Two sketches of the features:
//!   - `bins`: a one-permutation MinHash ([`BINS`] bins, 8 bits each): the share
//!     of equal bins estimates the Jaccard similarity of the two feature sets;
//!   - `lede`: 16-bit hashes of the first [`LEDE`] features: the share of the
//!     shorter lede found in the other says whether one text starts with the
//!     other (a summary or a cut copy of the full text, which symmetric
//!     similarity misses).
//! * **what the story is about**: its *key tokens*, each with the position where
//!   it first occurs in the prose: numbers (counted); names (words capitalised
//!   inside a sentence, in scripts with capitals; in German every noun, which
//!   measured better than leaving German out); and words of the title that
//!   recur in the body (CJK: pairs of characters), which is how the place or
//!   company of a template headline is recognised in scripts without capitals.
//!
//! Two texts are the same story ([`same_story`]) when the estimated Jaccard
//! similarity is at least [`MIN_JACCARD`] or the shorter lede is at least
//! [`MIN_CONTAINMENT`] contained in the other, **and** their key tokens agree:
//! within the part of the prose both texts cover (so a cut copy is not blamed
//! for the names of its missing paragraphs), every key token of the stored one
//! occurs somewhere in the new text, or every key token of the new one is a key
//! token of the stored one. A copy may add a dateline or a figure; a template
//! story swaps a value for another, and fails both ways.
//!
//! Lookups use *anchors*: the [`ANCHORS`] features with the smallest hashes of
//! the whole prose and the [`LEDE_ANCHORS`] smallest of the lede, leaving out
//! features made of short, common units ("of the", particles), whose lists
//! would be long. Texts that share much share their smallest features with high
//! probability (MinHash), and a text that begins with another shares its lede's.
//! The store indexes the anchors, reads the few items they name and compares
//! their stored fingerprints ([`Fingerprint::to_bytes`]) with the new one.
//!
//! Measured with `cargo run --release --example neardup_eval -- --corpus`: see
//! `tests/fixtures/neardup/README.md` for the labelled set and the figures.
//!
//! Stored fingerprints carry [`FORMAT`]: a change of the features here needs a
//! new format number and a migration that recomputes them.

mod text;

use std::cell::RefCell;

use text::{CAP, CLOSE, DASH_SEP, EQ_SEP, Kind, OPEN, SENT_END, SLASH, STARTS, UPPER, Unit};

pub use text::NAME_LETTERS;

/// Version of the stored form ([`Fingerprint::to_bytes`]).
pub const FORMAT: u8 = 1;

/// Units of body prose used: the lede and what follows carry the story.
pub const MAX_UNITS: usize = 256;

/// Units of body text read (prose plus what is left out of it).
const RAW_UNITS: usize = MAX_UNITS + 32;

/// Units of a title read.
const TITLE_UNITS: usize = 48;

/// Fewest words (title and text together) for a fingerprint to mean anything.
pub const MIN_WORDS: u32 = 6;

/// Paragraphs with fewer words are left out of the prose: bylines, datelines,
/// photo credits, "Read more" and copyright lines, which sites add or drop.
/// CJK characters count as half a word (Hangul: a third).
pub const MIN_PARAGRAPH_WORDS: u32 = 8;

/// Below this many words of prose, the title's words join the features.
const SHORT_PROSE_WORDS: u32 = 16;

/// Bins of the MinHash sketch.
pub const BINS: usize = 64;

/// Features of the lede.
pub const LEDE: usize = 32;

/// Anchors from the whole prose, and from the lede.
pub const ANCHORS: usize = 3;
pub const LEDE_ANCHORS: usize = 1;

/// The lede's anchors come from its first features only, so that a summary
/// of a sentence or two has the same ones as the full text.
pub const LEDE_ANCHOR_WINDOW: usize = 12;

/// Key tokens kept; the rest of the text is then not checked for keys.
const MAX_KEYS: usize = 32;

/// Estimated Jaccard similarity of the prose features from which two texts
/// are the same story (if their keys agree).
pub const MIN_JACCARD: f32 = 0.45;

/// Share of the shorter lede contained in the other from which one text
/// starts with the other.
pub const MIN_CONTAINMENT: f32 = 0.75;

/// Fewest lede features for containment to count.
const MIN_LEDE: usize = 10;

/// Fewest bins filled in both sketches for the Jaccard estimate to count.
const MIN_BINS: u32 = 6;

/// Numbers in this many units at the start of the prose must agree both ways.
pub const LEDE_NUMBER_UNITS: u16 = 24;

/// Position of a key token of the title only.
pub const TITLE_POS: u16 = 0x3fff;

/// A key token: a hash and where in the prose it first occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub hash: u32,
    /// Unit index in the prose, or [`TITLE_POS`].
    pub pos: u16,
    pub kind: KeyKind,
}

/// What a key token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Number = 0,
    /// A word capitalised inside a sentence.
    Name = 1,
    /// A word (CJK: a pair of characters) of the title that recurs in the body.
    TitleWord = 2,
}

/// What is stored of a text to recognise its copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Units of prose.
    pub units: u16,
    /// Features in the MinHash sketch.
    pub features: u16,
    /// One-permutation MinHash: per bin, 1..=255 from the smallest feature in
    /// it, 0 for an empty bin.
    pub bins: [u8; BINS],
    /// The lede's features (16-bit hashes), in order.
    pub lede: Vec<u16>,
    /// Units of the prose's first sentence (at most [`LEDE`] + 1).
    pub opening: u8,
    /// Key tokens, in order of position.
    pub keys: Vec<Key>,
    /// Keys are complete before this prose position (more were not kept).
    pub key_limit: u16,
    /// Lookup keys (see the module docs), no repeats.
    pub anchors: Vec<u32>,
}

/// Every token of a text (words cut to [`NAME_LETTERS`], numbers, pairs of CJK
/// characters), to look key tokens of another text up in. Sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    words: Vec<u32>,
    /// Numbers, with repeats.
    numbers: Vec<u32>,
}

impl Tokens {
    pub fn contains(&self, key: u32) -> bool {
        self.words.binary_search(&key).is_ok() || self.numbers.binary_search(&key).is_ok()
    }

    /// How often a number occurs.
    pub fn count(&self, key: u32) -> usize {
        let from = self.numbers.partition_point(|&k| k < key);
        self.numbers[from..]
            .iter()
            .take_while(|&&k| k == key)
            .count()
    }
}

#[derive(Default)]
struct Scratch {
    title: Vec<Unit>,
    body: Vec<Unit>,
    prose: Vec<Unit>,
    sizes: Vec<(u32, bool)>,
    small: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The fingerprint of a title and an HTML or text body, or `None` when there is
/// too little text to tell stories apart.
pub fn fingerprint(title: &str, body_html: &str) -> Option<Fingerprint> {
    SCRATCH.with(|s| analyse(title, body_html, &mut s.borrow_mut()))
}

/// Every token of a title and body, for [`same_story`].
pub fn tokens(title: &str, body_html: &str) -> Tokens {
    SCRATCH.with(|s| {
        let s = &mut *s.borrow_mut();
        s.title.clear();
        s.body.clear();
        text::units(title, false, TITLE_UNITS, &mut s.title);
        text::units(body_html, true, RAW_UNITS, &mut s.body);
        let mut words = Vec::with_capacity(s.title.len() + s.body.len());
        let mut numbers = Vec::new();
        for (which, units) in [&s.title, &s.body].into_iter().enumerate() {
            for (i, u) in units.iter().enumerate() {
                match u.kind {
                    // Numbers of the body are counted; the title's only known.
                    Kind::Number if which == 1 => numbers.push(u.key),
                    Kind::Number | Kind::Word => words.push(u.key),
                    _ if i > 0 && units[i - 1].is_cjk() => {
                        words.push(text::bigram_key(&units[i - 1], u))
                    }
                    _ => {}
                }
            }
        }
        words.sort_unstable();
        words.dedup();
        numbers.sort_unstable();
        Tokens { words, numbers }
    })
}

/// Whether a unit is too common to anchor a lookup: a short word, a one-digit
/// number, hiragana, a frequent Hangul syllable or Han function character.
fn weak(u: &Unit) -> bool {
    match u.kind {
        Kind::Word => u.len <= 3,
        Kind::Number => u.len <= 1,
        Kind::Hira => true,
        Kind::Hangul => "다는은을를이가에의고로으서했하한있지기도와과것수대".contains(u.ch),
        Kind::Han => {
            "的了在是和与为对有中上下不这那也就都而及被将从到年月日人一大国会".contains(u.ch)
        }
    }
}

/// A feature's anchor value: `None` for a pair of common units, else a 32-bit
/// hash whose top bit is set when one of the two is common, so that pairs of
/// rarer units come first (their lists are shorter).
fn anchor_rank(a: &Unit, b: &Unit, f: u64) -> Option<u32> {
    let (wa, wb) = (weak(a), weak(b));
    if wa && wb {
        return None;
    }
    let tier = if wa || wb { 0x8000_0000 } else { 0 };
    Some(tier | (f >> 33) as u32)
}

/// Where the prose starts: after a wire dateline at the start of the first
/// line ("LONDON, April 21 (Reuters) - ", "(서울=연합뉴스) 홍길동 기자 = ",
/// "MADRID, 5 nov (EFE).- ", "(Budapest) ", "【ソウル共同】",
/// "新华社北京11月5日电（记者 张三）").
fn dateline_end(units: &[Unit]) -> usize {
    let mut start = 0;
    for _ in 0..3 {
        let rest = &units[start..];
        let Some(first) = rest.first() else { break };
        let line = first.para;
        // A bracketed group at the start: "(Budapest) ", "【ワシントン共同】".
        if first.flags & OPEN != 0 {
            if let Some(close) = rest
                .iter()
                .take(24)
                .take_while(|u| u.para == line)
                .position(|u| u.flags & CLOSE != 0)
                .filter(|&i| i > 0 && i < rest.len() && rest[i].para == line)
            {
                start += close;
                continue;
            }
        }
        // "...日电": a Chinese agency dateline.
        if let Some(i) = rest
            .iter()
            .take(24)
            .take_while(|u| u.para == line && (u.is_cjk() || u.kind == Kind::Number))
            .position(|u| u.ch == '电')
            .filter(|&i| i > 1 && rest[i - 1].ch == '日')
        {
            start += i + 1;
            continue;
        }
        // A few chunks, then a dash or `=` between spaces, or the end of a
        // sentence after an agency in brackets or slashes ("(dpa).",
        // "/Ukrinform/."); the chunks look like a dateline (a capitalised place,
        // a date, an agency).
        let sep = rest
            .iter()
            .enumerate()
            .skip(1)
            .take_while(|(_, u)| u.para == line && u.chunk <= 10)
            .find(|(_, u)| {
                u.flags & (DASH_SEP | EQ_SEP) != 0
                    || u.flags & SENT_END != 0 && u.flags & (CLOSE | SLASH) != 0
            })
            .map(|(i, _)| i);
        if let Some(i) = sep {
            let head = &rest[..i];
            let looks = head
                .iter()
                .any(|u| u.kind == Kind::Number || u.flags & (OPEN | CLOSE | UPPER | SLASH) != 0)
                || rest[i].flags & EQ_SEP != 0;
            if looks {
                start += i;
                continue;
            }
        }
        break;
    }
    start
}

fn analyse(title: &str, body_html: &str, s: &mut Scratch) -> Option<Fingerprint> {
    s.title.clear();
    s.body.clear();
    s.prose.clear();
    text::units(title, false, TITLE_UNITS, &mut s.title);
    let (cut, tail) = text::units_with_tail(body_html, true, RAW_UNITS, &mut s.body);
    let body = &mut s.body[..];

    // Paragraph sizes, and whether a paragraph is all in brackets
    // ("(Reporting by ...; Editing by ...)").
    s.sizes.clear();
    for i in 0..body.len() {
        let u = &body[i];
        if i == 0 || u.para != body[i - 1].para {
            s.sizes.push((0, u.flags & OPEN != 0));
        }
        let last = s.sizes.len() - 1;
        s.sizes[last].0 += u.weight();
        let next = body.get(i + 1);
        if next.is_none_or(|n| n.para != u.para) {
            let ends = next.map_or(tail, |n| n.flags);
            if ends & CLOSE == 0 {
                s.sizes[last].1 = false;
            }
        }
    }
    let long = |size: u32| size >= MIN_PARAGRAPH_WORDS * 6;
    // A wire dateline at the start of the first paragraph of prose (after a
    // byline, say) is left out, and what follows it starts a sentence.
    let first_para = s
        .sizes
        .iter()
        .position(|(size, _)| long(*size))
        .unwrap_or(0);
    let i0 = body
        .iter()
        .scan((0usize, u16::MAX), |(p, last), u| {
            if u.para != *last {
                if *last != u16::MAX {
                    *p += 1;
                }
                *last = u.para;
            }
            Some(*p)
        })
        .position(|p| p == first_para)
        .unwrap_or(0);
    let dateline = i0..i0 + dateline_end(&body[i0..]);
    if let Some(u) = body.get_mut(dateline.end) {
        u.flags |= STARTS;
    }
    let body = &s.body[..];
    let mut p = 0;
    for (i, u) in body.iter().enumerate() {
        if i > 0 && u.para != body[i - 1].para {
            p += 1;
        }
        let (size, bracketed) = s.sizes[p];
        if long(size) && !bracketed && !dateline.contains(&i) {
            s.prose.push(*u);
        }
    }
    let weight = |us: &[Unit]| us.iter().map(Unit::weight).sum::<u32>();
    if weight(&s.prose) < MIN_WORDS * 6 {
        s.prose.clear();
        s.prose.extend(
            body.iter()
                .enumerate()
                .filter(|(i, _)| !dateline.contains(i))
                .map(|(_, u)| *u),
        );
    }
    // A short last sentence is a link line ("Read more on our site.").
    if !cut {
        if let Some(j) = s.prose.iter().rposition(|u| u.flags & STARTS != 0) {
            if j > 0 && weight(&s.prose[j..]) < MIN_PARAGRAPH_WORDS * 6 {
                s.prose.truncate(j);
            }
        }
    }
    s.prose.truncate(MAX_UNITS);
    let prose = &s.prose;
    let prose_weight = weight(prose);
    if weight(&s.title) + prose_weight < MIN_WORDS * 6 {
        return None;
    }

    // The MinHash sketch and the anchors of the whole prose (with the title,
    // when the prose is short).
    let mut bins = [(u64::MAX, 0u8); BINS];
    let mut features = 0u16;
    let mut anchors = Smallest::<ANCHORS>::new();
    let with_title = prose_weight < SHORT_PROSE_WORDS * 6;
    let seq_title: &[Unit] = if with_title { &s.title } else { &[] };
    let mut add = |f: u64, rank: Option<u32>| {
        features = features.saturating_add(1);
        let bin = (f >> 58) as usize;
        let order = (f >> 8) & ((1 << 50) - 1);
        if order < bins[bin].0 {
            bins[bin] = (order, 1 + (f & 0xff) as u8 % 255);
        }
        if let Some(r) = rank {
            anchors.offer(r);
        }
    };
    let mut prev: Option<&Unit> = None;
    let mut pairs = 0;
    for u in seq_title.iter().chain(prose.iter()) {
        if let Some(p) = prev {
            let f = feature(p, u);
            add(f, anchor_rank(p, u, f));
            pairs += 1;
        }
        prev = Some(u);
    }
    if pairs == 0 {
        if let Some(u) = prev {
            let f = text::mix(u.hash ^ 0x2545_f491_4f6c_dd1d);
            add(f, anchor_rank(u, u, f));
        }
    }

    // The lede: the first features of the prose.
    let mut lede: Vec<u16> = Vec::with_capacity(LEDE);
    let mut lede_anchors = Smallest::<LEDE_ANCHORS>::new();
    for (i, pair) in prose.windows(2).take(LEDE).enumerate() {
        let f = feature(&pair[0], &pair[1]);
        lede.push((f >> 16) as u16);
        if let Some(r) = anchor_rank(&pair[0], &pair[1], f).filter(|_| i < LEDE_ANCHOR_WINDOW) {
            lede_anchors.offer(r);
        }
    }
    let opening = prose
        .iter()
        .skip(1)
        .position(|u| u.flags & STARTS != 0)
        .map_or(prose.len(), |p| p + 1)
        .min(LEDE + 1) as u8;
    let mut all_anchors: Vec<u32> = anchors.values().to_vec();
    for a in lede_anchors.values() {
        if !all_anchors.contains(a) {
            all_anchors.push(*a);
        }
    }

    let (keys, key_limit) = keys(&s.title, prose, &mut s.small);
    Some(Fingerprint {
        units: prose.len() as u16,
        features,
        bins: bins.map(|(_, tag)| tag),
        lede,
        opening,
        keys,
        key_limit,
        anchors: all_anchors,
    })
}

#[inline]
fn feature(a: &Unit, b: &Unit) -> u64 {
    text::mix(a.hash.rotate_left(29) ^ b.hash)
}

/// The key tokens of a text: numbers of the title, then numbers, names and
/// words of the title found in the prose, with their prose positions.
fn keys(title: &[Unit], prose: &[Unit], title_keys: &mut Vec<u32>) -> (Vec<Key>, u16) {
    // Capitalised words and CJK pairs of the title.
    title_keys.clear();
    for (i, u) in title.iter().enumerate() {
        match u.kind {
            Kind::Word if u.flags & CAP != 0 && u.len >= 3 => title_keys.push(u.key),
            _ if u.is_cjk() && i > 0 && title[i - 1].is_cjk() => {
                title_keys.push(text::bigram_key(&title[i - 1], u))
            }
            _ => {}
        }
    }
    title_keys.sort_unstable();
    // A one-word Bloom filter in front of the binary search.
    let mask = title_keys.iter().fold(0u64, |m, k| m | 1 << (k & 63));
    let in_title = |k: u32| mask & (1 << (k & 63)) != 0 && title_keys.binary_search(&k).is_ok();

    let mut keys: Vec<Key> = Vec::with_capacity(16);
    let mut limit = prose.len() as u16;
    let mut push = |hash: u32, pos: u16, kind: KeyKind, keys: &mut Vec<Key>| -> bool {
        // Numbers are counted (a score of 6-2 is not the 6 and the 2 found
        // elsewhere in another text); names and title words are not.
        if kind != KeyKind::Number && keys.iter().any(|k| k.hash == hash) {
            return true;
        }
        if keys.len() == MAX_KEYS {
            limit = limit.min(pos);
            return false;
        }
        keys.push(Key { hash, pos, kind });
        true
    };
    for u in title.iter().filter(|u| u.kind == Kind::Number) {
        push(u.key, TITLE_POS, KeyKind::Number, &mut keys);
    }
    for (i, u) in prose.iter().enumerate() {
        let pos = i as u16;
        let key = match u.kind {
            Kind::Number => Some((u.key, KeyKind::Number)),
            Kind::Word if u.flags & CAP != 0 && u.flags & STARTS == 0 && u.len > 1 => {
                Some((u.key, KeyKind::Name))
            }
            Kind::Word => in_title(u.key).then_some((u.key, KeyKind::TitleWord)),
            _ => (i > 0 && prose[i - 1].is_cjk())
                .then(|| text::bigram_key(&prose[i - 1], u))
                .filter(|k| in_title(*k))
                .map(|k| (k, KeyKind::TitleWord)),
        };
        if let Some((k, kind)) = key {
            if !push(k, pos, kind, &mut keys) {
                break;
            }
        }
    }
    (keys, limit)
}

/// The `N` smallest values offered, without repeats.
struct Smallest<const N: usize> {
    v: [u32; N],
    n: usize,
}

impl<const N: usize> Smallest<N> {
    fn new() -> Self {
        Smallest { v: [0; N], n: 0 }
    }

    #[inline]
    fn offer(&mut self, x: u32) {
        if self.n == N && x >= self.v[N - 1] {
            return;
        }
        let at = self.v[..self.n].partition_point(|&y| y < x);
        if at < self.n && self.v[at] == x {
            return;
        }
        let end = self.n.min(N - 1);
        self.v.copy_within(at..end, at + 1);
        self.v[at] = x;
        self.n = (self.n + 1).min(N);
    }

    fn values(&self) -> &[u32] {
        &self.v[..self.n]
    }
}

/// Estimated Jaccard similarity of two texts' prose features; 0 when too few
/// bins are filled in both to tell.
pub fn jaccard(a: &Fingerprint, b: &Fingerprint) -> f32 {
    // Among the bins that either text fills, the share where both hold the same
    // smallest feature (Li, Owen and Zhang's one-permutation estimator: a bin
    // only one text fills counts as a difference).
    let (mut either, mut both, mut equal) = (0u32, 0u32, 0u32);
    for (x, y) in a.bins.iter().zip(&b.bins) {
        either += u32::from(*x != 0 || *y != 0);
        both += u32::from(*x != 0 && *y != 0);
        equal += u32::from(*x != 0 && x == y);
    }
    if both < MIN_BINS {
        return 0.0;
    }
    // Two different features share a bin's 8 bits one time in 255.
    let p = equal as f32 / either as f32;
    ((p - 1.0 / 255.0) / (1.0 - 1.0 / 255.0)).max(0.0)
}

/// Share of the shorter lede found in the other; 0 when it is too short.
pub fn containment(a: &Fingerprint, b: &Fingerprint) -> f32 {
    let sorted = |l: &[u16]| {
        let mut v = [0u16; LEDE];
        let n = l.len().min(LEDE);
        v[..n].copy_from_slice(&l[..n]);
        v[..n].sort_unstable();
        let mut d = 0;
        for i in 0..n {
            if d == 0 || v[i] != v[d - 1] {
                v[d] = v[i];
                d += 1;
            }
        }
        (v, d)
    };
    let ((sa, na), (sb, nb)) = (sorted(&a.lede), sorted(&b.lede));
    let (short, long) = if na <= nb {
        (&sa[..na], &sb[..nb])
    } else {
        (&sb[..nb], &sa[..na])
    };
    if short.len() < MIN_LEDE {
        return 0.0;
    }
    let found = short
        .iter()
        .filter(|x| long.binary_search(x).is_ok())
        .count();
    found as f32 / short.len() as f32
}

/// How alike two texts are: the estimated Jaccard similarity, or the
/// containment of the shorter lede when that decides; `None` below both limits.
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> Option<f32> {
    let j = jaccard(a, b);
    if j >= MIN_JACCARD {
        return Some(j);
    }
    let c = containment(a, b);
    (c >= MIN_CONTAINMENT).then_some(c)
}

/// Do the key tokens of a new text (its fingerprint and [`tokens`]) and of a
/// stored one allow the same story? See the module docs.
pub fn keys_agree(new: &Fingerprint, new_tokens: &Tokens, old: &Fingerprint) -> bool {
    let min = new.units.min(old.units);
    let n = (min - min / 8).min(new.key_limit).min(old.key_limit);
    // Numbers of the titles, and key tokens of the prose both texts cover, are
    // checked apart: a copy may add a figure to its headline and still drop a
    // name from its text.
    let agree = |part: &dyn Fn(&Key) -> bool| {
        old.keys.iter().filter(|k| part(k)).all(|k| {
            if k.kind == KeyKind::Number && k.pos != TITLE_POS {
                let mine = old
                    .keys
                    .iter()
                    .filter(|o| part(o) && o.hash == k.hash)
                    .count();
                mine <= new_tokens.count(k.hash)
            } else {
                new_tokens.contains(k.hash)
            }
        }) || new.keys.iter().filter(|k| part(k)).all(|k| {
            let theirs = old.keys.iter().filter(|o| o.hash == k.hash).count();
            let mine = new
                .keys
                .iter()
                .filter(|o| part(o) && o.hash == k.hash)
                .count();
            theirs > 0 && (k.kind != KeyKind::Number || mine <= theirs)
        })
    };
    // A first sentence that the other text lacks altogether is an opening of
    // its own ("My thanks to X for sponsoring..." before an ad's text): its
    // numbers and names must be the other's too.
    let own_opening = |x: &Fingerprint, other: &Fingerprint| {
        let n = usize::from(x.opening).saturating_sub(1);
        x.lede
            .get(..n)
            .is_some_and(|f| f.len() >= 3 && !f.iter().any(|t| other.lede.contains(t)))
    };
    let in_opening =
        |x: &Fingerprint, k: &Key| k.pos < u16::from(x.opening) && k.kind != KeyKind::TitleWord;
    if own_opening(old, new)
        && !old
            .keys
            .iter()
            .filter(|k| in_opening(old, k))
            .all(|k| new_tokens.contains(k.hash))
    {
        return false;
    }
    if own_opening(new, old)
        && !new
            .keys
            .iter()
            .filter(|k| in_opening(new, k))
            .all(|k| old.keys.iter().any(|o| o.hash == k.hash))
    {
        return false;
    }
    // The lede's numbers: both ways (a later story on the same event adds its
    // new figure to the old one in its first sentence: "cut from 13.5% to 13%").
    let lede = |k: &Key| k.kind == KeyKind::Number && k.pos < LEDE_NUMBER_UNITS.min(n);
    let lede_numbers_agree = old.keys.iter().filter(|k| lede(k)).all(|k| {
        old.keys
            .iter()
            .filter(|o| lede(o) && o.hash == k.hash)
            .count()
            <= new_tokens.count(k.hash)
    }) && new.keys.iter().filter(|k| lede(k)).all(|k| {
        new.keys
            .iter()
            .filter(|o| lede(o) && o.hash == k.hash)
            .count()
            <= old
                .keys
                .iter()
                .filter(|o| o.hash == k.hash && o.pos != TITLE_POS)
                .count()
    });
    lede_numbers_agree && agree(&|k| k.pos == TITLE_POS) && agree(&|k| k.pos < n)
}

/// Is a new text (its fingerprint and [`tokens`]) a copy of the story of a
/// stored fingerprint? `Some(similarity)` when it is.
pub fn same_story(new: &Fingerprint, new_tokens: &Tokens, old: &Fingerprint) -> Option<f32> {
    let s = similarity(new, old)?;
    keys_agree(new, new_tokens, old).then_some(s)
}

impl Fingerprint {
    /// The stored form: [`FORMAT`], then the fields, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            11 + BINS + 2 * self.lede.len() + 6 * self.keys.len() + 4 * self.anchors.len(),
        );
        out.push(FORMAT);
        for v in [self.units, self.features, self.key_limit] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.push(self.lede.len() as u8);
        out.push(self.opening);
        out.push(self.keys.len() as u8);
        out.push(self.anchors.len() as u8);
        out.extend_from_slice(&self.bins);
        for l in &self.lede {
            out.extend_from_slice(&l.to_le_bytes());
        }
        for k in &self.keys {
            out.extend_from_slice(&k.hash.to_le_bytes());
            out.extend_from_slice(&((k.kind as u16) << 14 | k.pos).to_le_bytes());
        }
        for a in &self.anchors {
            out.extend_from_slice(&a.to_le_bytes());
        }
        out
    }

    /// Reads [`Fingerprint::to_bytes`]; `None` for another format or a damaged value.
    pub fn from_bytes(b: &[u8]) -> Option<Fingerprint> {
        let mut r = Reader(b);
        if r.take(1)?[0] != FORMAT {
            return None;
        }
        let units = r.u16()?;
        let features = r.u16()?;
        let key_limit = r.u16()?;
        let counts = r.take(4)?;
        let (nl, opening, nk, na) = (counts[0], counts[1], counts[2], counts[3]);
        let bins: [u8; BINS] = r.take(BINS)?.try_into().ok()?;
        let lede = (0..nl).map(|_| r.u16()).collect::<Option<Vec<_>>>()?;
        let keys = (0..nk)
            .map(|_| {
                let hash = r.u32()?;
                let packed = r.u16()?;
                let kind = match packed >> 14 {
                    0 => KeyKind::Number,
                    1 => KeyKind::Name,
                    2 => KeyKind::TitleWord,
                    _ => return None,
                };
                Some(Key {
                    hash,
                    pos: packed & TITLE_POS,
                    kind,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let anchors = (0..na).map(|_| r.u32()).collect::<Option<Vec<_>>>()?;
        r.0.is_empty().then_some(Fingerprint {
            units,
            features,
            bins,
            lede,
            opening,
            keys,
            key_limit,
            anchors,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// How many words a text has, as fingerprints count them (a CJK character is
/// half a word, a Hangul syllable a third).
pub fn word_count(text: &str) -> usize {
    let mut out = Vec::new();
    text::units(text, true, usize::MAX, &mut out);
    out.iter().map(|u| u.weight() as usize).sum::<usize>() / 6
}

#[cfg(test)]
mod tests;
