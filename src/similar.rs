//! Near-duplicate detection: a 64-bit SimHash over word shingles of a story's
//! normalised title and text. Pure.
//!
//! Two items are near-duplicates when their fingerprints differ in at most
//! [`MAX_DISTANCE`] bits and their titles carry the same numbers (template
//! headlines such as "3 killed in …" / "5 killed in …" differ mostly in those).
//! Lookups use [`bands`]: the fingerprint cut into [`BANDS`] pieces; two
//! fingerprints within `MAX_DISTANCE < BANDS` bits share at least one piece
//! exactly (pigeonhole), so an index on (band, value) finds every candidate.

/// Most differing bits for two fingerprints to count as the same story.
pub const MAX_DISTANCE: u32 = 3;

/// Pieces a fingerprint is cut into for lookup; must exceed `MAX_DISTANCE`.
pub const BANDS: usize = 4;

/// Fewest words (title and text together) for a fingerprint to mean anything.
pub const MIN_WORDS: usize = 6;

/// Words of body text used (the lede carries the story).
pub const MAX_BODY_WORDS: usize = 300;

/// A fingerprint and the numbers of the title it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: u64,
    pub numbers: Vec<String>,
}

/// Lowercased words; anything that is not a letter or digit separates words.
/// Works for any script with spaces between words (Latin, Cyrillic, Hangul…).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// The digit runs of a title, sorted.
pub fn numbers(title: &str) -> Vec<String> {
    let mut n: Vec<String> = title
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_start_matches('0').to_string())
        .collect();
    n.sort();
    n
}

/// The fingerprint of a title and an HTML or text body, or `None` when there is
/// too little text to tell stories apart.
pub fn fingerprint(title: &str, body_html: &str) -> Option<Fingerprint> {
    let t = words(title);
    let body_text = crate::parse::strip_tags(body_html);
    let mut b = words(&body_text);
    b.truncate(MAX_BODY_WORDS);
    if t.len() + b.len() < MIN_WORDS {
        return None;
    }
    let mut acc = [0i32; 64];
    let mut add = |feature: &[&str], weight: i32| {
        let h = hash_feature(feature);
        for (bit, slot) in acc.iter_mut().enumerate() {
            if h >> bit & 1 == 1 {
                *slot += weight;
            } else {
                *slot -= weight;
            }
        }
    };
    // The title counts double: it is what readers compare.
    for seq in [(&t, 2), (&b, 1)] {
        let (ws, weight) = seq;
        let refs: Vec<&str> = ws.iter().map(String::as_str).collect();
        if refs.len() == 1 {
            add(&refs, weight);
        }
        for pair in refs.windows(2) {
            add(pair, weight);
        }
    }
    let mut hash = 0u64;
    for (bit, v) in acc.iter().enumerate() {
        if *v > 0 {
            hash |= 1 << bit;
        }
    }
    Some(Fingerprint {
        hash,
        numbers: numbers(title),
    })
}

/// Differing bits.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Are two fingerprints the same story?
pub fn same_story(a: &Fingerprint, b: &Fingerprint) -> bool {
    distance(a.hash, b.hash) <= MAX_DISTANCE && a.numbers == b.numbers
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
    fn numbers_must_match() {
        assert_eq!(numbers("3 killed, 007 hurt in 2024"), ["2024", "3", "7"]);
        let a = Fingerprint {
            hash: 1,
            numbers: numbers("Lotto: 5 12 33"),
        };
        let b = Fingerprint {
            hash: 1,
            numbers: numbers("Lotto: 7 19 40"),
        };
        assert!(!same_story(&a, &b));
    }
}
