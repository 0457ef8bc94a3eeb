//! Text → units, for fingerprints. Pure, allocation-free per unit.
//!
//! A title or an HTML body is read as a stream of normalised characters (tags
//! become line breaks or spaces, entities are decoded, full-width forms fold to
//! ASCII, half-width katakana to full-width) and cut into *units*: words of a
//! script with spaces, numbers, and single CJK characters (Han, kana, Hangul:
//! scripts that do not, or not reliably, put spaces between words). Each unit
//! carries hashes and what separated it from the one before (a line break, the
//! end of a sentence, a dash between spaces...), which is all that the rest of
//! the fingerprint needs; no unit allocates.

/// A line break or a block-level tag before the unit.
pub(crate) const NEWLINE: u16 = 1;
/// A sentence end (`.`, `!`, `?`, `…`, `。`...) before the unit.
pub(crate) const SENT_END: u16 = 1 << 1;
/// A dash between spaces (" - ", " – ", " — ", ".- ") before the unit.
pub(crate) const DASH_SEP: u16 = 1 << 2;
/// An `=` between spaces before the unit ("기자 = ").
pub(crate) const EQ_SEP: u16 = 1 << 3;
/// An opening bracket (`(`, `[`, `【`, `〔`) before the unit.
pub(crate) const OPEN: u16 = 1 << 4;
/// A closing bracket before the unit.
pub(crate) const CLOSE: u16 = 1 << 5;
/// The unit starts a sentence (or the text, or a line).
pub(crate) const STARTS: u16 = 1 << 6;
/// The unit's first letter is upper case.
pub(crate) const CAP: u16 = 1 << 7;
/// Every letter of the unit is upper case, and it has at least two.
pub(crate) const UPPER: u16 = 1 << 8;
/// Whitespace before the unit (a new space-separated chunk starts).
pub(crate) const SPACE: u16 = 1 << 9;
/// A slash before the unit ("/Ukrinform/").
pub(crate) const SLASH: u16 = 1 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Number,
    /// Han characters (Chinese, kanji) and katakana.
    Han,
    /// Hiragana: mostly particles and endings in Japanese.
    Hira,
    Hangul,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    /// The unit's identity (finalised hash of its normalised form).
    pub hash: u64,
    /// What key tokens of it are compared by: a word's first
    /// [`NAME_LETTERS`] letters, a number's value, a CJK character.
    pub key: u32,
    pub flags: u16,
    pub kind: Kind,
    /// Characters (saturating).
    pub len: u8,
    /// Paragraph number (counts line breaks, from 0).
    pub para: u16,
    /// Separators before it, in whitespace-separated chunks of the line: 0
    /// for the first unit of a line.
    pub chunk: u16,
    /// The character, for a CJK unit.
    pub ch: char,
    /// A word's running hash before finalising; a number's value.
    pub raw: u64,
}

impl Unit {
    pub fn is_cjk(&self) -> bool {
        matches!(self.kind, Kind::Han | Kind::Hira | Kind::Hangul)
    }

    /// Size in sixths of a word: a word or a number is 6, a Han or kana
    /// character 3 (two make a word), a Hangul syllable 2 (three make one).
    pub fn weight(&self) -> u32 {
        match self.kind {
            Kind::Word | Kind::Number => 6,
            Kind::Han | Kind::Hira => 3,
            Kind::Hangul => 2,
        }
    }
}

/// Letters a word's key is cut to, so that inflected forms of a name agree
/// ("Житомирі" / "Житомира", "Kenya" / "Kenya's").
pub const NAME_LETTERS: usize = 5;

pub(super) const SEED_WORD: u64 = 0xcbf2_9ce4_8422_2325;
pub(super) const SEED_NUMBER: u64 = 0x9e37_79b9_7f4a_7c15;
pub(super) const SEED_CJK: u64 = 0xd6e8_feb8_6659_fd93;

/// SplitMix64's finaliser: every output bit depends on every input bit.
#[inline]
pub(crate) fn mix(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Key of two CJK characters in a row.
#[inline]
pub(crate) fn bigram_key(a: &Unit, b: &Unit) -> u32 {
    (mix(a.hash.rotate_left(23) ^ b.hash ^ 0x5851_f42d_4c95_7f2d) >> 32) as u32
}

pub(super) fn cjk_kind(c: char) -> Option<Kind> {
    let u = c as u32;
    Some(match u {
        0x3040..=0x309f => Kind::Hira,
        0x30fb => return None,
        0x30a0..=0x30ff | 0x31f0..=0x31ff => Kind::Han,
        0x3005 | 0x3007 | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff => Kind::Han,
        0x20000..=0x3134f => Kind::Han,
        0xac00..=0xd7af | 0x1100..=0x11ff | 0x3130..=0x318f => Kind::Hangul,
        _ => return None,
    })
}

/// Combining marks and vowel signs, which continue the word they follow
/// (`char::is_alphanumeric` says no to them).
pub(super) fn is_mark(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        0x0300..=0x036f | 0x0483..=0x0489 | 0x0591..=0x05c7 | 0x0610..=0x061a
        | 0x064b..=0x065f | 0x0670 | 0x06d6..=0x06ed | 0x0900..=0x0963 | 0x0966..=0x0dff
        | 0x0e31..=0x0e4e | 0x1ab0..=0x1aff | 0x1dc0..=0x1dff | 0x20d0..=0x20ff
        | 0xfe20..=0xfe2f)
}

pub(super) fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02bc}' | '\u{2018}')
}

pub(super) fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

use super::chars::Chars;
/// Cuts `text` into units, appending them to `out`, until `limit` units; says
/// whether the text went on beyond that.
pub(crate) fn units(text: &str, html: bool, limit: usize, out: &mut Vec<Unit>) -> bool {
    units_with_tail(text, html, limit, out).0
}

/// [`units`], and the separator flags after the last unit (a closing bracket...).
pub(crate) fn units_with_tail(
    text: &str,
    html: bool,
    limit: usize,
    out: &mut Vec<Unit>,
) -> (bool, u16) {
    super::tokenizer::tokenize(Chars::new(text, html), limit, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str, html: bool) -> Vec<u64> {
        let mut out = Vec::new();
        units(text, html, usize::MAX, &mut out);
        out.iter().map(|u| u.hash).collect()
    }

    #[test]
    fn spelling_variants_are_one_unit_stream() {
        let same = |a: &str, b: &str| assert_eq!(keys(a, true), keys(b, true), "{a} / {b}");
        same("U.S. officials", "US officials");
        same("z. B. heute", "z.B. heute");
        same("EE.UU. y", "EEUU y");
        same("EE. UU. y", "EEUU y");
        same("the U.S.A.F. base", "the USAF base");
        same("a las 5 p. m. de", "a las 5 p.m. de");
        assert_ne!(keys("Plan B. A new", true), keys("Plan BA new", true));
        same("the U.S officials", "the US officials");
        same("“quoted” don’t", "\"quoted\" don't");
        same("ＵＳ ２０２４ officials", "US 2024 officials");
        same("ﾃﾞｼﾞﾀﾙ ｶﾒﾗ", "デジタル カメラ");
        same("2,000 people", "2000 people");
        same("2 000 people", "2000 people");
        same("4,5 %", "4.5%");
        same("um 8.30 Uhr", "um 8:30 Uhr");
        same("a las 12.00 horas", "a las 12:00 horas");
        same("4,50 €", "4.50 €");
        same("약 1천200명이", "약 1,200명이");
        same("1천 번", "1000 번");
        same("12万人", "120000人");
        assert_ne!(keys("2:1 gewonnen", true), keys("21 gewonnen", true));
        same("Straße", "Strasse");
        same("caf&eacute; &amp; &hellip;", "café & …");
        same("a <b>bold</b> word", "a bold word");
        same("storm hits… officials", "storm hits, officials");
        assert_ne!(keys("5, 12, 33", true), keys("51233", true));
        assert_ne!(keys("J. Smith", true), keys("JSmith", true));
    }

    #[test]
    fn units_carry_their_separators() {
        let mut out = Vec::new();
        units(
            "<p>LONDON, April 21 (Wire) - The storm.</p><p>Next</p>",
            true,
            99,
            &mut out,
        );
        let flags: Vec<u16> = out.iter().map(|u| u.flags).collect();
        assert!(flags[0] & UPPER != 0 && flags[0] & STARTS != 0);
        assert!(flags[3] & OPEN != 0);
        assert!(flags[4] & CLOSE != 0 && flags[4] & DASH_SEP != 0);
        assert!(flags[4] & STARTS != 0 && flags[4] & CAP != 0);
        assert!(flags[5] & STARTS == 0);
        assert_eq!(out[6].para, 1);
        assert!(out[6].flags & NEWLINE != 0);
        let mut cjk = Vec::new();
        units("서울 경찰", false, 99, &mut cjk);
        assert_eq!(cjk.len(), 4);
        assert!(cjk.iter().all(|u| u.kind == Kind::Hangul));
        assert_eq!(cjk[2].chunk, 1);
    }
}
