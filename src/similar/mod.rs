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
//!   of at least [`MIN_PARAGRAPH_WORDS`] words, a wire dateline before the lede,
//!   an outlet's own lines (a byline, an editor's note, a photo caption,
//!   contributor and copyright lines) and a short last sentence left out, at
//!   most [`MAX_UNITS`] units). Its
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
//! [`MIN_CONTAINMENT`] contained in the other, **and** their key tokens agree
//! ([`keys_agree`]): within the part of the prose both texts cover (so a cut copy
//! is not blamed for the names of its missing paragraphs), every key token of
//! the stored one occurs in the new text, or every key token of the new one is a
//! key token of the stored one; the numbers of the lede agree both ways (counted);
//! a name of one first sentence is not replaced by another ("beat Poland" /
//! "lost to Italy"); a first sentence of its own brings no new names; the
//! headlines' numbers are checked apart; and when the ledes are mostly their
//! own (less than [`OWN_LEDE`] of the shorter found in the other), neither has
//! a topic word (a longer lower-case word of its headline in its first
//! sentence) that the other lacks: two press releases, or two episodes,
//! ending in the same long standard block. A copy may add a dateline,
//! a figure or a sentence; a template story swaps a value for another, and
//! fails. A copy without the other's first paragraph (a paper's cut of a
//! wire story, the rest word for word) opens with the other's second: when
//! only the longer text opens with words of its own and the texts are alike
//! past [`compare`]'s `CUT_LEDE_JACCARD` (0.8), the first sentences' names,
//! numbers and topic words are not compared (a sponsor's post and a later
//! thank-you post, 0.75 alike, stay two).
//!
//! Lookups use *anchors*: the [`ANCHORS`] features with the smallest hashes of
//! the whole prose, the [`LEDE_ANCHORS`] smallest of the lede's first
//! [`LEDE_ANCHOR_WINDOW`] (a summary has the full text's) and the
//! [`TAIL_ANCHORS`] smallest after the first paragraph (a copy with a rephrased
//! lede has the original's), leaving out features made of short, common units
//! ("of the", particles) and ranking those with one such unit last, as their
//! lists would be long. Texts that share much share their smallest features
//! with high probability (MinHash). The store indexes the anchors, reads the few
//! items they name and compares their stored fingerprints
//! ([`Fingerprint::to_bytes`]) with the new one.
//!
//! Measured with `cargo run --release --example neardup_eval -- --corpus` on
//! `tests/fixtures/neardup/` (471 pairs in English, Ukrainian, Korean, Japanese,
//! Chinese, German and Spanish, plus corpus entries; figures per language and
//! class in its README): precision 1.000, recall 0.984 (version 3's SimHash:
//! 0.270), every language at least 0.94; no false merge among the 183,315 pairs
//! of distinct corpus texts; about a third of version 3's cost per item.
//!
//! Stored fingerprints carry [`FORMAT`]: a change of the features here needs a
//! new format number and a migration that recomputes them.

mod analyse;
mod chars;
mod compare;
mod text;
mod tokenizer;

use analyse::{SCRATCH, analyse};
use text::Kind;

pub use compare::{containment, jaccard, keys_agree, prose_keys_agree, same_story, similarity};

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
pub const ANCHORS: usize = 2;
pub const LEDE_ANCHORS: usize = 1;
/// Anchors from the prose after the lede (shared by copies whose lede was
/// rephrased).
pub const TAIL_ANCHORS: usize = 1;

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
    /// A lower-case word of the title (at least [`TOPIC_LETTERS`] letters)
    /// that recurs in the first sentence: what the story is about when its
    /// first sentence is its own ("opens new assembly plant" / "appoints new
    /// finance chief"). Read only when the ledes differ (see
    /// [`keys_agree`]); the other checks leave it out. Since 2026-12-04:
    /// stored fingerprints from before have none.
    Topic = 3,
}

/// Letters a lower-case title word needs to be a [`KeyKind::Topic`] key.
pub const TOPIC_LETTERS: u8 = 5;

/// Below this share of the shorter lede found in the other, two texts'
/// first sentences are their own, and [`KeyKind::Topic`] keys are compared.
pub const OWN_LEDE: f32 = 0.4;

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

/// Whether two headlines each hold a word (or number) the other lacks: one
/// swapped for another (`Microsoft to cut 1,000 jobs…` / `Google to cut
/// 1,000 jobs…`, `…off coast of Chile` / `…of Peru`). For items that are
/// their headline alone, whose fingerprints hold no key token but the
/// headline's numbers: a headline's capitals name nothing (every word may
/// have one), so the names a body's sentences give are not there. A copy
/// adds or drops words, in any case. A news label before a colon or in
/// `【】` (`BREAKING:`, `UPDATE:`, `【速報】`: [`NEWS_LABELS`]) is no word of
/// the story; and an outlet's name after a dash or a bar (` - Reuters`) is
/// left out where the other headline has none, when the rest of the two
/// headlines is then word for word the same. (`BREAKING: X` and `X -
/// Reuters` were two stories; `Bristol: X` and `X - Leeds` stay two.)
pub fn headline_swapped(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    let ((la, na), (lb, nb)) = (marks(a), marks(b));
    let words = |h: &str, from: usize, to: usize| tokens(&h[from..to.max(from)], "");
    let lacks = |x: &Tokens, y: &Tokens| x.words.iter().any(|w| y.words.binary_search(w).is_err());
    let (ta, tb) = (words(a, la, a.len()), words(b, lb, b.len()));
    if !(lacks(&ta, &tb) && lacks(&tb, &ta)) {
        return false;
    }
    // One side's name after a dash, where the other has none.
    let same = |x: &Tokens, y: &Tokens| !lacks(x, y) && !lacks(y, x);
    let a_cut = na < a.len() && nb == b.len() && same(&words(a, la, na), &tb);
    let b_cut = nb < b.len() && na == a.len() && same(&words(b, lb, nb), &ta);
    !(a_cut || b_cut)
}

/// Labels of news put before a headline (lower case): no word of the story.
pub const NEWS_LABELS: &[&str] = &[
    "breaking",
    "breaking news",
    "update",
    "updated",
    "updates",
    "live",
    "live updates",
    "watch",
    "video",
    "listen",
    "exclusive",
    "just in",
    "developing",
    "urgent",
    "alert",
    "news alert",
    "analysis",
    "opinion",
    "explainer",
    "factbox",
    "fact check",
    "photos",
    "in pictures",
    "correction",
    "corrected",
    "速報",
    "快讯",
    "快訊",
    "独自",
    "号外",
    "속보",
    "단독",
    "更新",
];

/// Where a headline's marks end and start (bytes): a news label (one of
/// [`NEWS_LABELS`]) before a colon or in `【】` at its start (0: none), and
/// a name after its last ` - `, ` | `, ` — ` or ` – ` (at most five words;
/// the headline's length: none).
fn marks(h: &str) -> (usize, usize) {
    let known = |l: &str| {
        let l = l
            .trim()
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        NEWS_LABELS.contains(&l.as_str())
    };
    let label = match h.strip_prefix('【').and_then(|r| r.find('】')) {
        Some(i) => {
            let end = i + '【'.len_utf8() + '】'.len_utf8();
            match known(&h['【'.len_utf8()..end - '】'.len_utf8()]) && !h[end..].trim().is_empty()
            {
                true => end,
                false => 0,
            }
        }
        None => match h.find(": ") {
            Some(i) if !h[i + 2..].trim().is_empty() && known(&h[..i]) => i + 2,
            _ => 0,
        },
    };
    let name = [" - ", " | ", " — ", " – "]
        .iter()
        .filter_map(|d| h.rfind(d).map(|i| (i, d.len())))
        .max()
        .filter(|(i, n)| {
            *i > label
                && !h[label..*i].trim().is_empty()
                && h[i + n..].split_whitespace().count() <= 5
        })
        .map_or(h.len(), |(i, _)| i);
    (label, name)
}

/// Whether two headlines give other figures once their news labels and
/// outlets' names are left out (see [`headline_swapped`]'s marks): "$500
/// million" and "$600 million" do, " - FOX 5 DC" and " - NBC 4 Washington"
/// after one headline do not. Figures are the runs of digits, in any order.
pub fn headline_figures_differ(a: &str, b: &str) -> bool {
    fn figures(h: &str) -> Vec<&str> {
        let (label, name) = marks(h);
        let mut v: Vec<&str> = h[label..name]
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect();
        v.sort_unstable();
        v
    }
    figures(a) != figures(b)
}

/// How many words a text has, as fingerprints count them (a CJK character is
/// half a word, a Hangul syllable a third).
pub fn word_count(text: &str) -> usize {
    let mut out = Vec::new();
    text::units(text, true, usize::MAX, &mut out);
    out.iter().map(|u| u.weight() as usize).sum::<usize>() / 6
}

/// The anchors of a stored fingerprint ([`Fingerprint::to_bytes`]), read
/// without decoding the rest; none for another format or a damaged value.
pub fn stored_anchors(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let n = if b.first() == Some(&FORMAT) {
        b.get(10).map_or(0, |&n| usize::from(n))
    } else {
        0
    };
    let tail = b.len().checked_sub(4 * n).map_or(&[][..], |at| &b[at..]);
    tail.chunks_exact(4)
        .take(n)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
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
                    _ => KeyKind::Topic,
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

#[cfg(test)]
mod tests;
