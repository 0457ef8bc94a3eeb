//! Near-duplicate detection: the same wire story under different URLs. Pure.
//!
//! A [`Fingerprint`] has two parts:
//!
//! * `hash`: a 64-bit SimHash over pairs of consecutive words of the normalised
//!   title (weight [`TITLE_WEIGHT`]) and text (weight [`BODY_WEIGHT`], the first
//!   [`MAX_BODY_WORDS`] words; paragraphs of fewer than [`MIN_PARAGRAPH_WORDS`] words,
//!   which are bylines, datelines, credits and "Read more" lines, are left out, and
//!   so are a short last sentence and a wire dateline before the lede).
//! * `numbers`: the story's key tokens: the numbers of the title and text and the
//!   names (capitalised words inside a sentence) of the text.
//!
//! Two fingerprints are the same story ([`same_story`]) when their hashes differ in
//! at most [`MAX_DISTANCE`] bits and one's key tokens include all of the other's
//! ([`keys_agree`]). The second rule keeps template stories apart ("Police: man, 34,
//! arrested in Leeds" / "… woman, 52, … in Hull", lottery draws, market closes,
//! weather for two cities): their words are as close as two copies of one story,
//! but they differ in exactly the numbers and names, while syndicated copies only
//! add some (a dateline, a byline) or drop some (a cut last paragraph).
//!
//! Lookups use [`bands`]: the hash cut into [`BANDS`] pieces; two hashes within
//! `MAX_DISTANCE < BANDS` bits share at least one piece exactly (pigeonhole), so an
//! index on (band, value) finds every candidate. With 16-bit pieces a lookup among
//! a million stored items meets about 4 × 10⁶ / 2¹⁶ ≈ 61 unrelated candidates.
//!
//! Measured with `cargo run --release --example neardup_eval -- --corpus` on the
//! labelled set `tests/fixtures/neardup/pairs.json` (126 pairs: 70 same story, 56
//! different; written wire copy in English, Ukrainian and Korean, plus 18 pairs of
//! entries of the third-party corpus):
//!
//! | limit | precision | recall | en / uk / ko recall |
//! |---|---|---|---|
//! | 0 | 1.000 | 0.386 | 0.32 / 0.43 / 0.43 |
//! | 3 (`MAX_DISTANCE`) | 1.000 | 0.600 | 0.61 / 0.62 / 0.57 |
//! | 5 | 1.000 | 0.729 | 0.75 / 0.81 / 0.62 |
//! | 7 | 1.000 | 0.800 | 0.79 / 0.90 / 0.71 |
//! | 9 | 1.000 | 0.886 | 0.89 / 0.95 / 0.81 |
//! | 10 | 0.984 | 0.900 | first wrong merge: a Korean earnings template |
//!
//! The previous design (title counted double, every paragraph hashed, title
//! numbers compared for equality) had recall 0.243 at 3 on the same set and merged
//! different pairs from 7 bits. Among all 146,611 pairs of the 542 distinct texts
//! of the corpus entries none merges at any limit up to 9 (1 at 10, 2 at 11 and
//! 12); unrelated texts lie 31.9 ± 4.0 bits apart. The limit stays 3 although 9
//! is still precise on this set: a limit of 4 to 7 needs 8 bands of 8 bits, about
//! 31,000 unrelated candidates per lookup at a million items instead of about 61.
//!
//! Both sides of a comparison must be made by [`fingerprint`] from their title and
//! text: a candidate rebuilt from a stored hash and `numbers(title)` alone lacks
//! the body's numbers and names, and would let template stories merge.
//!
//! The hash of a given text must stay the same across versions (it is stored): a
//! change to the features here needs a migration that recomputes stored hashes.

/// Most differing bits for two fingerprints to count as the same story.
pub const MAX_DISTANCE: u32 = 3;

/// Pieces a fingerprint is cut into for lookup; must exceed `MAX_DISTANCE`.
pub const BANDS: usize = 4;

/// Fewest words (title and text together) for a fingerprint to mean anything.
pub const MIN_WORDS: usize = 6;

/// Words of body text used (the lede carries the story).
pub const MAX_BODY_WORDS: usize = 300;

/// Paragraphs with fewer words are left out of the hash: bylines, datelines,
/// photo credits, "Read more" and copyright lines, which syndicating sites add or
/// drop. Their numbers and names still count as key tokens.
pub const MIN_PARAGRAPH_WORDS: usize = 8;

/// Weight of a pair of title words in the hash. Lower than the body's: sites
/// rewrite headlines more than they rewrite the text below them.
pub const TITLE_WEIGHT: i32 = 1;

/// Weight of a pair of body words in the hash.
pub const BODY_WEIGHT: i32 = 2;

/// Letters a name is cut to, so that inflected forms of one name agree
/// ("Житомирі" / "Житомира", "Kenya" / "Kenya's").
pub const NAME_LETTERS: usize = 5;

/// A fingerprint and the key tokens of the story it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: u64,
    /// The story's key tokens, sorted and without repeats: the [`numbers`] of the
    /// title and of the text, and the [`names`] of the text (body words within
    /// [`MAX_BODY_WORDS`]). Compare fingerprints made by [`fingerprint`] from the
    /// same title and text: `numbers(title)` alone is only part of this set.
    pub numbers: Vec<String>,
}

/// Lowercased words; anything that is not a letter or digit separates words,
/// except an apostrophe between two letters, which is dropped ("п'яти", "пʼяти"
/// and "п’яти" are one word). Works for any script with spaces between words
/// (Latin, Cyrillic, Hangul…).
pub fn words(text: &str) -> Vec<String> {
    tokens_upto(text, usize::MAX)
        .into_iter()
        .map(|t| t.word)
        .collect()
}

/// The numbers in a text, sorted: runs of digits, joined across a `,` or `.`
/// between digits and across a space before a group of exactly three digits
/// ("2,000", "2000" and "2 000" are all "2000"; "4.5" and "4,5" are "45"), leading
/// zeros dropped.
pub fn numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_digit() {
            current.push(c);
            continue;
        }
        if current.is_empty() {
            continue;
        }
        let digits_after = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let inside = match c {
            ',' | '.' => digits_after > 0,
            ' ' | '\u{a0}' | '\u{2009}' | '\u{202f}' => digits_after == 3,
            _ => false,
        };
        if !inside {
            out.push(without_leading_zeros(&current));
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(without_leading_zeros(&current));
    }
    out.sort();
    out
}

fn without_leading_zeros(digits: &str) -> String {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() { "0" } else { trimmed }.to_string()
}

/// The names in a text, sorted and without repeats: words that start with a
/// capital letter and do not start a sentence or a paragraph, lowercased and cut
/// to [`NAME_LETTERS`] letters. Scripts without capitals (Hangul) have none.
pub fn names(text: &str) -> Vec<String> {
    names_of(text, &tokens_upto(text, usize::MAX))
}

fn names_of(text: &str, tokens: &[Token]) -> Vec<String> {
    let mut out: Vec<String> = tokens
        .iter()
        .filter(|t| {
            text[t.start..]
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
                && !starts_sentence(&text[..t.start])
        })
        .map(|t| t.word.chars().take(NAME_LETTERS).collect())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a word that follows `before` starts a sentence: nothing but spaces,
/// quotes and brackets since the start, a line break or sentence-ending
/// punctuation (a dash and `=` too: "(Reuters) - The", "기자 = ").
fn starts_sentence(before: &str) -> bool {
    for c in before.chars().rev() {
        match c {
            '\n' => return true,
            '"' | '\'' | '“' | '”' | '„' | '«' | '»' | '‘' | '’' | '(' | '[' => {}
            c if c.is_whitespace() => {}
            c => {
                return matches!(
                    c,
                    '.' | '!' | '?' | ':' | '…' | '|' | '-' | '–' | '—' | '=' | '•' | '·' | '▶'
                );
            }
        }
    }
    true
}

/// Do two sets of key tokens allow the same story: does one include the other?
pub fn keys_agree(a: &[String], b: &[String]) -> bool {
    let within = |small: &[String], big: &[String]| small.iter().all(|k| big.contains(k));
    within(a, b) || within(b, a)
}

/// A word of a text: where it starts and ends (byte offsets) and its normalised form.
struct Token {
    start: usize,
    end: usize,
    word: String,
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02bc}' | '\u{2018}')
}

/// The first `limit` words of a text.
fn tokens_upto(text: &str, limit: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut start, mut end) = (0, 0);
    let letter = |c: char| c.is_alphanumeric() && !is_apostrophe(c);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_apostrophe(c) && !word.is_empty() && chars.peek().is_some_and(|(_, n)| letter(*n)) {
            continue;
        }
        if letter(c) {
            if word.is_empty() {
                start = i;
            }
            if c.is_ascii() {
                word.push(c.to_ascii_lowercase());
            } else {
                word.extend(c.to_lowercase());
            }
            end = i + c.len_utf8();
        } else if !word.is_empty() {
            out.push(Token {
                start,
                end,
                word: std::mem::take(&mut word),
            });
            if out.len() == limit {
                return out;
            }
        }
    }
    if !word.is_empty() && out.len() < limit {
        out.push(Token { start, end, word });
    }
    out
}

/// Plain text of an HTML fragment with a line break for every block-level tag
/// (paragraphs, line breaks, list items, headings, cells…) and a space for any
/// other tag, entities decoded.
fn body_text(html: &str) -> String {
    const BLOCK: &[&str] = &[
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "figure",
        "figcaption",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "main",
        "hr",
        "address",
        "details",
        "summary",
    ];
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if !after
            .chars()
            .next()
            .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'))
        {
            text.push('<');
            rest = after;
            continue;
        }
        // The tag's end: the first '>' outside a quoted attribute value.
        let (mut quote, mut after_eq, mut close) = (None, false, after.len());
        for (j, c) in after.char_indices() {
            match (quote, c) {
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if after_eq => quote = Some(c),
                (None, '>') => {
                    close = j;
                    break;
                }
                _ => {}
            }
            if !c.is_whitespace() {
                after_eq = c == '=';
            }
        }
        let name: String = after
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        text.push(if BLOCK.contains(&name.as_str()) {
            '\n'
        } else {
            ' '
        });
        rest = after.get(close + 1..).unwrap_or("");
    }
    text.push_str(rest);
    // No tags are left; this decodes the entities.
    crate::parse::strip_tags(&text)
}

/// The text without a leading wire dateline: at most 8 words at the start of the
/// first line, then " - ", " – ", " — " or " = " ("LONDON, April 21 (Reuters) - ",
/// "(서울=연합뉴스) 홍길동 기자 = "). Sites keep or drop it.
fn without_dateline(text: &str) -> &str {
    let start = text.len() - text.trim_start().len();
    let line = text[start..].split('\n').next().unwrap_or("");
    let mut chars = line.char_indices().peekable();
    let (mut chunks, mut after_space) = (0, true);
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            after_space = true;
            continue;
        }
        if after_space {
            let separator = matches!(c, '-' | '–' | '—' | '=')
                && chars.peek().is_some_and(|(_, n)| n.is_whitespace());
            if separator && chunks > 0 {
                return &text[start + i + c.len_utf8()..];
            }
            chunks += 1;
            if chunks > 8 {
                break;
            }
        }
        after_space = false;
    }
    text
}

/// The fingerprint of a title and an HTML or text body, or `None` when there is
/// too little text to tell stories apart.
pub fn fingerprint(title: &str, body_html: &str) -> Option<Fingerprint> {
    let t = words(title);
    let text = body_text(body_html);
    let text = without_dateline(&text);
    let mut body = tokens_upto(text, MAX_BODY_WORDS + 1);
    let cut = body.len() > MAX_BODY_WORDS;
    body.truncate(MAX_BODY_WORDS);
    if t.len() + body.len() < MIN_WORDS {
        return None;
    }
    let text = &text[..body.last().map_or(0, |w| w.end)];

    // Prose paragraphs only, unless that leaves too little.
    let mut paragraph_of = Vec::with_capacity(body.len());
    let mut sizes: Vec<usize> = Vec::new();
    for (i, w) in body.iter().enumerate() {
        if i == 0 || text[body[i - 1].end..w.start].contains('\n') {
            sizes.push(0);
        }
        let last = sizes.len() - 1;
        sizes[last] += 1;
        paragraph_of.push(last);
    }
    let mut prose: Vec<&Token> = body
        .iter()
        .zip(&paragraph_of)
        .filter(|(_, p)| sizes[**p] >= MIN_PARAGRAPH_WORDS)
        .map(|(w, _)| w)
        .collect();
    // A short last sentence of the prose is a link line ("Read more on our site.").
    if let (false, Some(last)) = (cut, prose.last()) {
        let boundary = text[..last.end]
            .char_indices()
            .zip(text[..last.end].chars().skip(1))
            .filter(|((_, c), next)| {
                *c == '\n' || (matches!(c, '.' | '!' | '?' | '…') && next.is_whitespace())
            })
            .map(|((i, _), _)| i)
            .last();
        if let Some(b) = boundary {
            let n = prose.iter().rev().take_while(|w| w.start > b).count();
            if n < MIN_PARAGRAPH_WORDS && n < prose.len() {
                prose.truncate(prose.len() - n);
            }
        }
    }
    let prose: Vec<&str> = prose.iter().map(|w| w.word.as_str()).collect();
    let b: Vec<&str> = if prose.len() >= MIN_WORDS {
        prose
    } else {
        body.iter().map(|w| w.word.as_str()).collect()
    };

    let mut acc = [0i32; 64];
    let mut add = |feature: &[&str], weight: i32| {
        let h = hash_feature(feature);
        // +weight where the feature's bit is set, -weight where it is not
        // (branch-free, so the compiler can vectorise it).
        for (bit, slot) in acc.iter_mut().enumerate() {
            *slot += weight * ((((h >> bit) & 1) as i32) * 2 - 1);
        }
    };
    let t: Vec<&str> = t.iter().map(String::as_str).collect();
    for (ws, weight) in [(&t, TITLE_WEIGHT), (&b, BODY_WEIGHT)] {
        if ws.len() == 1 {
            add(ws, weight);
        }
        for pair in ws.windows(2) {
            add(pair, weight);
        }
    }
    let mut hash = 0u64;
    for (bit, v) in acc.iter().enumerate() {
        if *v > 0 {
            hash |= 1 << bit;
        }
    }
    let mut keys = numbers(title);
    keys.extend(numbers(text));
    keys.extend(names_of(text, &body));
    keys.sort();
    keys.dedup();
    Some(Fingerprint {
        hash,
        numbers: keys,
    })
}

/// Differing bits.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Are two fingerprints the same story? Hashes within [`MAX_DISTANCE`] bits and
/// key tokens that agree ([`keys_agree`]).
pub fn same_story(a: &Fingerprint, b: &Fingerprint) -> bool {
    same_story_within(a, b, MAX_DISTANCE)
}

/// [`same_story`] with another distance limit (for measuring thresholds).
pub fn same_story_within(a: &Fingerprint, b: &Fingerprint, max_distance: u32) -> bool {
    distance(a.hash, b.hash) <= max_distance && keys_agree(&a.numbers, &b.numbers)
}

/// The lookup pieces of a fingerprint: (band number, value).
pub fn bands(hash: u64) -> [(i64, i64); BANDS] {
    let width = 64 / BANDS as u32;
    let mask = (1u64 << width) - 1;
    std::array::from_fn(|i| (i as i64, ((hash >> (i as u32 * width)) & mask) as i64))
}

/// A stable 64-bit hash of a feature (FNV-1a, then a SplitMix64 finaliser so
/// every output bit depends on every input bit). Stored in the database, so it
/// must never change.
fn hash_feature(words: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in w.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_across_scripts() {
        assert_eq!(words("Hello, World! 42x"), ["hello", "world", "42x"]);
        assert_eq!(words("Новини: Київ"), ["новини", "київ"]);
        assert_eq!(words("서울 (연합뉴스)"), ["서울", "연합뉴스"]);
        // Apostrophes inside a word, whichever character a site types.
        for w in ["п'яти", "п’яти", "пʼяти"] {
            assert_eq!(words(w), ["пяти"], "{w}");
        }
        assert_eq!(
            words("'quoted' rock 'n' roll"),
            ["quoted", "rock", "n", "roll"]
        );
    }

    #[test]
    fn stable_values() {
        // Stored in databases: these must never change.
        let fp = fingerprint("The quick brown fox", "jumps over the lazy dog").unwrap();
        assert_eq!(
            fp.hash,
            fingerprint("the QUICK brown fox!", "<p>jumps over the lazy dog</p>")
                .unwrap()
                .hash
        );
        assert_eq!(fp.hash, 0x8ee2_39bf_4e15_1e1c);
        assert!(fingerprint("Too short", "").is_none());
    }

    #[test]
    fn bands_cover_the_hash() {
        let h = 0x1234_5678_9abc_def0u64;
        let b = bands(h);
        let back = b
            .iter()
            .fold(0u64, |acc, (i, v)| acc | ((*v as u64) << (*i as u32 * 16)));
        assert_eq!(back, h);
    }

    #[test]
    fn numbers_are_normalised() {
        assert_eq!(numbers("3 killed, 007 hurt in 2024"), ["2024", "3", "7"]);
        for n in ["2,000", "2000", "2 000", "2\u{a0}000"] {
            assert_eq!(numbers(&format!("forced {n} to leave")), ["2000"], "{n}");
        }
        assert_eq!(numbers("13,5% and 4.5%"), ["135", "45"]);
        assert_eq!(numbers("Lotto: 5, 12, 33 and 0"), ["0", "12", "33", "5"]);
    }

    #[test]
    fn names_skip_sentence_starts() {
        let text = "Police said. Officers found Mr O'Neill in Leeds.\nMillbridge is near.";
        assert_eq!(names(text), ["leeds", "mr", "oneil"]);
        assert!(names("서울 경찰은 30대 남성을 입건했다").is_empty());
        assert_eq!(names("У Житомирі поліція. Поліцейські Житомира"), ["житом"]);
    }

    #[test]
    fn numbers_must_match() {
        let a = Fingerprint {
            hash: 1,
            numbers: numbers("Lotto: 5 12 33"),
        };
        let b = Fingerprint {
            hash: 1,
            numbers: numbers("Lotto: 7 19 40"),
        };
        assert!(!same_story(&a, &b));
        // One copy adding a figure (a dateline, a byline) is still the same story.
        let c = Fingerprint {
            hash: 1,
            numbers: numbers("Lotto: 5 12 33, April 21"),
        };
        assert!(same_story(&a, &c));
    }

    #[test]
    fn template_stories_stay_apart() {
        let story = |who: &str, age: u32, town: &str| {
            fingerprint(
                &format!("Police: {who}, {age}, arrested after stabbing in {town}"),
                &format!(
                    "<p>A {age}-year-old {who} has been arrested on suspicion of attempted \
                     murder after a stabbing in {town} town centre on Saturday night, police \
                     said.</p><p>Officers were called to a street near the bus station \
                     shortly before midnight.</p>"
                ),
            )
            .unwrap()
        };
        let a = story("man", 34, "Harrowgate");
        assert!(same_story(&a, &story("man", 34, "Harrowgate")));
        assert!(!same_story(&a, &story("woman", 52, "Easton")));
        assert!(!same_story(&a, &story("man", 34, "Millbridge")));
    }

    #[test]
    fn boilerplate_paragraphs_do_not_count() {
        let body = "<p>A fast-moving storm brought winds of up to 110 km/h to the northern \
                    coast overnight, cutting power to about 48,000 homes.</p><p>Crews had \
                    restored electricity to roughly half of the affected households.</p>";
        let a = fingerprint("Storm knocks out power", body).unwrap();
        let b = fingerprint(
            "Storm knocks out power",
            &format!("<p>By Staff Reporter | Updated 07:42</p>{body}<p>Read more</p>"),
        )
        .unwrap();
        assert_eq!(a.hash, b.hash);
        assert!(same_story(&a, &b));
    }

    #[test]
    fn datelines_and_link_lines_do_not_count() {
        let lede = "A powerful overnight storm brought down trees and power lines along the \
                    northern coast, leaving about 40,000 homes without electricity. Crews \
                    from three provinces were sent to help restore service by Thursday.";
        let title = "Storm knocks out power to 40,000 homes";
        let a = fingerprint(title, lede).unwrap();
        for b in [
            format!("NORTH BAY, May 2 (Wire) - {lede}"),
            format!("(서울=한빛통신) 김민수 기자 = {lede}"),
            format!("{lede} Read more on our site."),
        ] {
            let b = fingerprint(title, &b).unwrap();
            assert_eq!(a.hash, b.hash, "{b:?}");
            assert!(same_story(&a, &b));
        }
        assert_eq!(without_dateline("- a list item"), "- a list item");
        let long = "one two three four five six seven eight nine - ten";
        assert_eq!(without_dateline(long), long);
    }

    #[test]
    fn block_tags_separate_words() {
        let a = fingerprint(
            "Title words here",
            "<h3>Roads closed</h3><p>Police said</p>",
        );
        let b = fingerprint("Title words here", "Roads closed\n\nPolice said");
        assert_eq!(a, b);
        assert_eq!(
            body_text("a<b>c</b> <a href=\"x>y\">d</a><br>e &amp; f"),
            "a c   d \ne & f"
        );
    }
}
