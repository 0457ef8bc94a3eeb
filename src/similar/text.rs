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

const SEED_WORD: u64 = 0xcbf2_9ce4_8422_2325;
const SEED_NUMBER: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_CJK: u64 = 0xd6e8_feb8_6659_fd93;

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

fn cjk_kind(c: char) -> Option<Kind> {
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
fn is_mark(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        0x0300..=0x036f | 0x0483..=0x0489 | 0x0591..=0x05c7 | 0x0610..=0x061a
        | 0x064b..=0x065f | 0x0670 | 0x06d6..=0x06ed | 0x0900..=0x0963 | 0x0966..=0x0dff
        | 0x0e31..=0x0e4e | 0x1ab0..=0x1aff | 0x1dc0..=0x1dff | 0x20d0..=0x20ff
        | 0xfe20..=0xfe2f)
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02bc}' | '\u{2018}')
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Half-width katakana (U+FF65..U+FF9D) to full-width.
fn full_width_kana(c: char) -> char {
    const TABLE: [u16; 57] = [
        0x30FB, 0x30F2, 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3,
        0x30FC, 0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3,
        0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA,
        0x30CB, 0x30CC, 0x30CD, 0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB, 0x30DE, 0x30DF,
        0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9, 0x30EA, 0x30EB, 0x30EC, 0x30ED,
        0x30EF, 0x30F3,
    ];
    TABLE
        .get((c as u32).wrapping_sub(0xFF65) as usize)
        .and_then(|&u| char::from_u32(u32::from(u)))
        .unwrap_or(c)
}

/// A katakana with a (half-width) voiced or semi-voiced mark after it.
fn voiced(c: char, mark: char) -> Option<char> {
    let u = c as u32;
    let v = match (mark, u) {
        ('\u{FF9E}', 0x30AB..=0x30C8) if !matches!(u, 0x30C3) && (u - 0x30AB) % 2 == 0 => u + 1,
        ('\u{FF9E}', 0x30C4 | 0x30C6 | 0x30C8) => u + 1,
        ('\u{FF9E}', 0x30CF..=0x30DB) if (u - 0x30CF) % 3 == 0 => u + 1,
        ('\u{FF9E}', 0x30A6) => 0x30F4,
        ('\u{FF9F}', 0x30CF..=0x30DB) if (u - 0x30CF) % 3 == 0 => u + 2,
        _ => return None,
    };
    char::from_u32(v)
}

/// Full-width ASCII to ASCII, the ideographic space to a space, half-width
/// katakana to full-width.
#[inline]
fn fold(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        0xFF65..=0xFF9D => full_width_kana(c),
        0x3010 | 0x3014 | 0x3016 | 0xFF5F => '(',
        0x3011 | 0x3015 | 0x3017 | 0xFF60 => ')',
        _ => c,
    }
}

/// Names of the HTML entities a feed's text commonly uses; others are read as
/// a separator.
fn named_entity(name: &[u8]) -> Option<char> {
    Some(match name {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        b"nbsp" | b"ensp" | b"emsp" | b"thinsp" => ' ',
        b"hellip" => '…',
        b"mdash" => '—',
        b"ndash" => '–',
        b"lsquo" => '‘',
        b"rsquo" => '’',
        b"ldquo" => '“',
        b"rdquo" => '”',
        b"bdquo" => '„',
        b"laquo" => '«',
        b"raquo" => '»',
        b"middot" => '·',
        b"bull" => '•',
        b"shy" => '\u{ad}',
        b"szlig" => 'ß',
        b"iexcl" => '¡',
        b"iquest" => '¿',
        b"ordf" => 'ª',
        b"ordm" => 'º',
        b"deg" => '°',
        b"euro" => '€',
        b"pound" => '£',
        _ => return latin_entity(name),
    })
}

/// `&eacute;`, `&Uuml;`, `&ntilde;`... : a letter and a diacritic.
fn latin_entity(name: &[u8]) -> Option<char> {
    let (&first, rest) = name.split_first()?;
    let upper = first.is_ascii_uppercase();
    let base = first.to_ascii_lowercase();
    let lower = match (base, rest) {
        (b'a', b"grave") => 'à',
        (b'a', b"acute") => 'á',
        (b'a', b"circ") => 'â',
        (b'a', b"tilde") => 'ã',
        (b'a', b"uml") => 'ä',
        (b'a', b"ring") => 'å',
        (b'a', b"elig") => 'æ',
        (b'c', b"cedil") => 'ç',
        (b'e', b"grave") => 'è',
        (b'e', b"acute") => 'é',
        (b'e', b"circ") => 'ê',
        (b'e', b"uml") => 'ë',
        (b'i', b"grave") => 'ì',
        (b'i', b"acute") => 'í',
        (b'i', b"circ") => 'î',
        (b'i', b"uml") => 'ï',
        (b'n', b"tilde") => 'ñ',
        (b'o', b"grave") => 'ò',
        (b'o', b"acute") => 'ó',
        (b'o', b"circ") => 'ô',
        (b'o', b"tilde") => 'õ',
        (b'o', b"uml") => 'ö',
        (b'o', b"slash") => 'ø',
        (b'o', b"elig") => 'œ',
        (b'u', b"grave") => 'ù',
        (b'u', b"acute") => 'ú',
        (b'u', b"circ") => 'û',
        (b'u', b"uml") => 'ü',
        (b'y', b"acute") => 'ý',
        (b'y', b"uml") => 'ÿ',
        _ => return None,
    };
    Some(if upper {
        lower.to_uppercase().next().unwrap_or(lower)
    } else {
        lower
    })
}

/// Block-level tags: they end a paragraph.
fn is_block(name: &[u8]) -> bool {
    matches!(
        name,
        b"p" | b"br"
            | b"div"
            | b"li"
            | b"ul"
            | b"ol"
            | b"dl"
            | b"dt"
            | b"dd"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"blockquote"
            | b"pre"
            | b"table"
            | b"thead"
            | b"tbody"
            | b"tfoot"
            | b"tr"
            | b"td"
            | b"th"
            | b"caption"
            | b"figure"
            | b"figcaption"
            | b"section"
            | b"article"
            | b"header"
            | b"footer"
            | b"aside"
            | b"nav"
            | b"main"
            | b"hr"
            | b"address"
            | b"details"
            | b"summary"
    )
}

/// Characters of a text, normalised: tags become `\n` (block-level) or a space,
/// entities are decoded (when `html`), full-width and half-width forms folded.
pub(crate) struct Chars<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    html: bool,
    peeked: Option<Option<char>>,
}

impl<'a> Chars<'a> {
    pub fn new(text: &'a str, html: bool) -> Self {
        Chars {
            s: text.as_bytes(),
            text,
            i: 0,
            html,
            peeked: None,
        }
    }

    pub fn peek(&mut self) -> Option<char> {
        if self.peeked.is_none() {
            let c = self.read();
            self.peeked = Some(c);
        }
        self.peeked.flatten()
    }

    /// The next byte, consumed, if it is one that `pred` accepts (ASCII only).
    #[inline(always)]
    fn next_if_ascii(&mut self, pred: impl Fn(u8) -> bool) -> Option<u8> {
        let b = *self.s.get(self.i)?;
        if self.peeked.is_none() && pred(b) {
            self.i += 1;
            Some(b)
        } else {
            None
        }
    }

    /// The run of bytes from here that `pred` accepts (ASCII only), consumed.
    #[inline]
    fn run(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        if self.peeked.is_some() {
            return &[];
        }
        let s: &'a [u8] = self.s;
        let start = self.i;
        let mut j = start;
        while j < s.len() && pred(s[j]) {
            j += 1;
        }
        self.i = j;
        &s[start..j]
    }

    #[inline]
    fn read(&mut self) -> Option<char> {
        let b = *self.s.get(self.i)?;
        self.i += 1;
        let c = match b {
            b'<' if self.html => return Some(self.tag()),
            b'&' if self.html => fold(self.entity()),
            0..0x80 => return Some(b as char),
            _ => {
                self.i -= 1;
                let c = self.text[self.i..].chars().next()?;
                self.i += c.len_utf8();
                fold(c)
            }
        };
        if matches!(c as u32, 0x30A0..=0x30FF) {
            // A half-width voiced mark after a katakana.
            if let Some(&next) = self.s.get(self.i..self.i + 3).and_then(|b| {
                (b == "\u{FF9E}".as_bytes() || b == "\u{FF9F}".as_bytes()).then_some(&b[2])
            }) {
                let mark = if next == 0x9E { '\u{FF9E}' } else { '\u{FF9F}' };
                if let Some(v) = voiced(c, mark) {
                    self.i += 3;
                    return Some(v);
                }
            }
        }
        Some(c)
    }

    /// After a `<`: skips a tag and says what it stands for; a `<` that opens
    /// no tag is itself.
    fn tag(&mut self) -> char {
        let rest = &self.s[self.i..];
        let opens = rest
            .first()
            .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, b'/' | b'!' | b'?'));
        if !opens {
            return '<';
        }
        let start = usize::from(rest[0] == b'/');
        let name_len = rest[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let mut name = [0u8; 12];
        let n = name_len.min(name.len());
        for (d, s) in name.iter_mut().zip(&rest[start..start + n]) {
            *d = s.to_ascii_lowercase();
        }
        // The tag's end: the first '>' outside a quoted attribute value.
        let (mut quote, mut after_eq, mut end) = (None, false, rest.len());
        for (j, &b) in rest.iter().enumerate() {
            match (quote, b) {
                (Some(q), _) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') if after_eq => quote = Some(b),
                (None, b'>') => {
                    end = j + 1;
                    break;
                }
                _ => {}
            }
            if !b.is_ascii_whitespace() {
                after_eq = b == b'=';
            }
        }
        self.i += end;
        if name_len <= name.len() && is_block(&name[..n]) {
            '\n'
        } else {
            ' '
        }
    }

    /// After a `&`: the entity's character, or `&` itself.
    fn entity(&mut self) -> char {
        let rest = &self.s[self.i..];
        let Some(end) = rest.iter().take(10).position(|&b| b == b';') else {
            return '&';
        };
        let name = &rest[..end];
        let c = if let Some(num) = name.strip_prefix(b"#") {
            let (digits, radix) = match num.first() {
                Some(b'x' | b'X') => (&num[1..], 16),
                _ => (num, 10),
            };
            std::str::from_utf8(digits)
                .ok()
                .and_then(|d| u32::from_str_radix(d, radix).ok())
                .and_then(char::from_u32)
        } else {
            named_entity(name)
        };
        match c {
            Some(c) => {
                self.i += end + 1;
                c
            }
            None if name.iter().all(u8::is_ascii_alphanumeric) && !name.is_empty() => {
                self.i += end + 1;
                ' '
            }
            None => '&',
        }
    }
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match self.peeked.take() {
            Some(c) => c,
            None => self.read(),
        }
    }
}

/// Bytes of a word that its hash covers (longer words are told apart by length).
const WORD_BYTES: usize = 32;

/// Where a word or number is being built.
struct Building {
    kind: Kind,
    /// The word, lowercased, UTF-8 (its first [`WORD_BYTES`] bytes).
    buf: [u8; WORD_BYTES],
    bytes: usize,
    /// Bytes of its first [`NAME_LETTERS`] letters.
    prefix: usize,
    /// Letters (a word) or digits (a number).
    len: usize,
    value: u64,
    cap: bool,
    upper: usize,
}

impl Building {
    fn new(kind: Kind) -> Self {
        Building {
            kind,
            buf: [0; WORD_BYTES],
            bytes: 0,
            prefix: 0,
            len: 0,
            value: 0,
            cap: false,
            upper: 0,
        }
    }

    #[inline]
    fn push_bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.push_byte(x);
        }
    }

    #[inline(always)]
    fn push_byte(&mut self, x: u8) {
        if let Some(slot) = self.buf.get_mut(self.bytes) {
            *slot = x;
        }
        self.bytes += 1;
    }

    #[inline]
    fn letter_done(&mut self) {
        self.len += 1;
        if self.len == NAME_LETTERS {
            self.prefix = self.bytes;
        }
    }
}

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
    let mut chars = Chars::new(text, html);
    let start = out.len();
    let mut t = Tokenizer {
        out,
        start,
        limit,
        gap: STARTS,
        gap_len: 0,
        gap_char: ' ',
        last_sig: '\n',
        para: 0,
        chunk: 0,
        cur: Building::new(Kind::Word),
        active: false,
        prev_ws: true,
        last_word: [0; WORD_BYTES],
        last_word_bytes: 0,
        gap_first: ' ',
        next: '\0',
    };
    while let Some(c) = chars.next() {
        if t.full() {
            return (true, t.gap);
        }
        t.push(c, &mut chars);
    }
    t.next = '\0';
    t.flush();
    (false, t.gap)
}

struct Tokenizer<'o> {
    out: &'o mut Vec<Unit>,
    start: usize,
    limit: usize,
    /// Flags of the gap since the last unit.
    gap: u16,
    gap_len: u8,
    /// The gap's last character.
    gap_char: char,
    /// The gap's last character that is not a space, quote or bracket.
    last_sig: char,
    para: u16,
    chunk: u16,
    /// The word or number being built, when `active`.
    cur: Building,
    active: bool,
    /// The last character was whitespace (for " - " and " = ").
    prev_ws: bool,
    /// The last word emitted (to join "U.S." onto).
    last_word: [u8; WORD_BYTES],
    last_word_bytes: usize,
    /// The gap's first character.
    gap_first: char,
    /// The character after the unit being ended.
    next: char,
}

/// The hash of a word's bytes (lowercased UTF-8, at most [`WORD_BYTES`]) and
/// of its length.
#[inline]
fn hash_bytes(b: &[u8], len: usize, seed: u64) -> u64 {
    let mut h = seed ^ (len as u64).wrapping_mul(0x9fb2_1c65_1e98_df25);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(31);
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        let mut w = 0u64;
        for (i, &x) in rem.iter().enumerate() {
            w |= u64::from(x) << (8 * i);
        }
        h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    mix(h)
}

impl Tokenizer<'_> {
    #[inline]
    fn full(&self) -> bool {
        self.out.len() - self.start >= self.limit
    }

    fn building(&mut self, kind: Kind) -> &mut Building {
        if !self.active || self.cur.kind != kind {
            self.flush();
            let b = &mut self.cur;
            b.kind = kind;
            b.bytes = 0;
            b.prefix = 0;
            b.len = 0;
            b.value = 0;
            b.cap = false;
            b.upper = 0;
            self.active = true;
        }
        &mut self.cur
    }

    #[inline]
    fn push(&mut self, c: char, chars: &mut Chars) {
        self.next = c;
        if c.is_ascii() {
            let byte = c as u8;
            if byte.is_ascii_digit() {
                let b = self.building(Kind::Number);
                let run = chars.run(|b| b.is_ascii_digit());
                for d in std::iter::once(byte).chain(run.iter().copied()) {
                    b.value = b.value.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                    b.len += 1;
                }
                self.prev_ws = false;
                return;
            }
            if byte.is_ascii_alphabetic() {
                let b = self.building(Kind::Word);
                if b.len == 0 {
                    b.cap = byte.is_ascii_uppercase();
                }
                let mut x = byte;
                loop {
                    b.upper += usize::from(x.is_ascii_uppercase());
                    b.push_byte(x | 0x20);
                    b.len += 1;
                    if b.len == NAME_LETTERS {
                        b.prefix = b.bytes;
                    }
                    match chars.next_if_ascii(|n| n.is_ascii_alphabetic()) {
                        Some(n) => x = n,
                        None => break,
                    }
                }
                self.prev_ws = false;
                return;
            }
            if byte == b' ' && self.active {
                // The most common separator, after a word.
                self.flush();
                if self.gap_len == 0 {
                    self.gap_first = ' ';
                }
                self.gap |= SPACE;
                self.gap_len = self.gap_len.saturating_add(1);
                self.gap_char = ' ';
                self.prev_ws = true;
                return;
            }
        } else {
            if let Some(kind) = cjk_kind(c) {
                self.flush();
                if let Some(m) = magnitude(c) {
                    if self.gap_len == 0 {
                        if let Some(prev) = self.out[self.start..].last_mut().filter(|p| {
                            p.kind == Kind::Number && p.flags & (MAGNITUDE | SUMMED) == 0
                        }) {
                            let v = prev.raw.wrapping_mul(m);
                            (prev.hash, prev.key) = number_hash(v);
                            prev.raw = v;
                            prev.flags |= MAGNITUDE;
                            self.prev_ws = false;
                            return;
                        }
                    }
                }
                self.cjk(c, kind);
                self.prev_ws = false;
                return;
            }
            if c.is_alphabetic() && !is_apostrophe(c) || is_mark(c) {
                self.building(Kind::Word);
                self.letter(c);
                self.prev_ws = false;
                return;
            }
        }
        // Inside a word, an apostrophe before a letter is dropped: "п'яти", "пʼяти"
        // and "п’яти" are one word.
        if is_apostrophe(c)
            && self.active
            && self.cur.kind == Kind::Word
            && chars
                .peek()
                .is_some_and(|n| n.is_alphabetic() && !is_apostrophe(n))
        {
            return;
        }
        self.flush();
        self.separator(c, chars);
    }

    /// A letter outside ASCII.
    fn letter(&mut self, c: char) {
        let b = &mut self.cur;
        if b.len == 0 {
            b.cap = c.is_uppercase();
        }
        if c.is_uppercase() {
            b.upper += 1;
        }
        let lower = match c {
            'ς' => 'σ',
            'ß' | 'ẞ' => {
                for _ in 0..2 {
                    b.push_bytes(b"s");
                    b.letter_done();
                }
                return;
            }
            c => c.to_lowercase().next().unwrap_or(c),
        };
        let mut utf8 = [0u8; 4];
        b.push_bytes(lower.encode_utf8(&mut utf8).as_bytes());
        b.letter_done();
    }

    fn cjk(&mut self, c: char, kind: Kind) {
        let hash = mix(SEED_CJK ^ u64::from(c as u32));
        self.emit(hash, (hash >> 32) as u32, 0, kind, 1, c, 0);
    }

    fn separator(&mut self, c: char, chars: &mut Chars) {
        let ws = c.is_whitespace() || c == '\u{ad}';
        if c == '\n' || c == '\r' || c == '\u{2028}' || c == '\u{2029}' {
            self.gap |= NEWLINE;
        }
        if ws {
            self.gap |= SPACE;
        }
        match c {
            '.' | '!' | '?' | '…' | '。' | '｡' | '\u{0964}' | '\u{0965}' | '\u{061f}'
            | '\u{06d4}' => self.gap |= SENT_END,
            '(' | '[' | '（' | '［' | '{' => self.gap |= OPEN,
            '/' => self.gap |= SLASH,
            ')' | ']' | '）' | '］' | '}' => self.gap |= CLOSE,
            c if is_dash(c) || c == '=' => {
                let before = self.prev_ws || matches!(self.last_sig, '.' | ')') && self.gap_len > 0;
                let after = chars.peek().is_none_or(char::is_whitespace);
                if before && after {
                    self.gap |= if c == '=' { EQ_SEP } else { DASH_SEP };
                }
            }
            _ => {}
        }
        let quote_or_bracket = matches!(
            c,
            '"' | '\''
                | '“'
                | '”'
                | '„'
                | '«'
                | '»'
                | '‘'
                | '’'
                | '('
                | '['
                | '「'
                | '」'
                | '『'
                | '』'
                | ')'
                | ']'
        );
        if !ws && !quote_or_bracket {
            self.last_sig = c;
        }
        if c == '\n' {
            self.last_sig = '\n';
        }
        if self.gap_len == 0 {
            self.gap_first = c;
        }
        self.gap_len = self.gap_len.saturating_add(1);
        self.gap_char = c;
        self.prev_ws = ws;
    }

    /// Ends the word or number being built.
    fn flush(&mut self) {
        if !self.active {
            return;
        }
        self.active = false;
        let b = &self.cur;
        let mut flags = 0;
        if b.cap {
            flags |= CAP;
        }
        if b.upper == b.len && b.len >= 2 {
            flags |= UPPER;
        }
        // Joins: "2,000" / "4.5" / "2 000" to the number before; "U.S." to one word.
        if let Some(prev) = self.out[self.start..].last_mut() {
            let one_char_gap = self.gap_len == 1 && self.gap & NEWLINE == 0;
            let number_join = b.kind == Kind::Number
                && prev.kind == Kind::Number
                && one_char_gap
                // Two digits after the point are minutes as often as cents
                // ("12.00 horas" / "12:00" / "5时30分"): they stay apart.
                && (matches!(self.gap_char, ',' | '.') && b.len != 2
                    || (b.len == 3
                        && matches!(self.gap_char, ' ' | '\u{a0}' | '\u{2009}' | '\u{202f}')));
            if b.kind == Kind::Number
                && prev.kind == Kind::Number
                && prev.flags & MAGNITUDE != 0
                && prev.flags & SUMMED == 0
                && self.gap_len == 0
            {
                let v = prev.raw.wrapping_add(b.value);
                (prev.hash, prev.key) = number_hash(v);
                prev.raw = v;
                prev.flags |= SUMMED;
                self.reset_gap();
                return;
            }
            if number_join {
                let v = prev
                    .raw
                    .wrapping_mul(10u64.wrapping_pow(b.len as u32))
                    .wrapping_add(b.value);
                let (hash, key) = number_hash(v);
                prev.raw = v;
                prev.hash = hash;
                prev.key = key;
                prev.len = prev.len.saturating_add(b.len as u8);
                self.reset_gap();
                return;
            }
            // Pieces of an abbreviation: single letters ("U.S.", "z. B.") and
            // upper-case pairs ("EE.UU.", "EE. UU.").
            let piece = |len: usize, upper: bool| len == 1 || len == 2 && upper;
            let abbrev = b.kind == Kind::Word
                && piece(b.len, b.upper == b.len)
                && prev.kind == Kind::Word
                && (prev.flags & ABBREV != 0
                    || piece(usize::from(prev.len), prev.flags & UPPER != 0))
                && (one_char_gap && self.gap_char == '.'
                    || self.gap_len == 2
                        && self.gap_first == '.'
                        && self.gap_char == ' '
                        && self.next == '.')
                && self.last_word_bytes + b.bytes <= WORD_BYTES;
            if abbrev {
                for &x in &b.buf[..b.bytes] {
                    self.last_word[self.last_word_bytes] = x;
                    self.last_word_bytes += 1;
                }
                let len = usize::from(prev.len) + b.len;
                let bytes = &self.last_word[..self.last_word_bytes];
                let prefix = bytes
                    .iter()
                    .all(u8::is_ascii)
                    .then_some(NAME_LETTERS.min(bytes.len()));
                let (hash, key) = word_hash(bytes, len, prefix);
                prev.hash = hash;
                prev.key = key;
                prev.len = len as u8;
                prev.flags |= ABBREV;
                if b.cap && prev.flags & CAP != 0 {
                    prev.flags |= UPPER;
                } else {
                    prev.flags &= !UPPER;
                }
                self.reset_gap();
                return;
            }
        }
        let (hash, key, raw) = match b.kind {
            Kind::Number => {
                let (h, k) = number_hash(b.value);
                (h, k, b.value)
            }
            _ => {
                let stored = b.bytes.min(WORD_BYTES);
                let prefix = (b.len >= NAME_LETTERS).then_some(b.prefix.min(WORD_BYTES));
                let (h, k) = word_hash(&b.buf[..stored], b.len, prefix);
                self.last_word = b.buf;
                self.last_word_bytes = stored;
                (h, k, 0)
            }
        };
        self.emit(hash, key, flags, b.kind, b.len.min(255) as u8, '\0', raw);
    }

    fn reset_gap(&mut self) {
        self.gap = 0;
        self.gap_len = 0;
        self.last_sig = ' ';
        self.prev_ws = false;
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn emit(&mut self, hash: u64, key: u32, flags: u16, kind: Kind, len: u8, ch: char, raw: u64) {
        let first = self.out.len() == self.start;
        let (mut para, mut chunk) = (self.para, self.chunk);
        if self.gap & NEWLINE != 0 && !first {
            para += 1;
            chunk = 0;
        } else if self.gap & SPACE != 0 && !first {
            chunk += 1;
        }
        self.para = para;
        self.chunk = chunk;
        // The point after an abbreviation ("the U.S. Transportation
        // Department") does not end a sentence.
        let after_abbrev = self.gap_first == '.'
            && self.gap_len == 2
            && self.out[self.start..]
                .last()
                .is_some_and(|p| p.flags & ABBREV != 0);
        if after_abbrev {
            self.gap &= !SENT_END;
        }
        let starts = self.gap & (NEWLINE | STARTS) != 0
            || !after_abbrev
                && matches!(
                    self.last_sig,
                    '.' | '!'
                        | '?'
                        | ':'
                        | '…'
                        | '|'
                        | '-'
                        | '–'
                        | '—'
                        | '='
                        | '•'
                        | '·'
                        | '▶'
                        | '。'
                );
        let flags = flags | (self.gap & !STARTS) | if starts { STARTS } else { 0 };
        self.out.push(Unit {
            hash,
            key,
            flags,
            kind,
            len,
            para,
            chunk,
            ch,
            raw,
        });
        self.reset_gap();
    }
}

/// A word built of single letters joined across dots.
const ABBREV: u16 = 1 << 15;
/// A number multiplied by a CJK numeral of magnitude ("1천", "12万").
const MAGNITUDE: u16 = 1 << 11;
/// ... and with the number after it added ("1천200").
const SUMMED: u16 = 1 << 12;

/// CJK numerals of magnitude written after digits: "1천200명" is "1,200명".
fn magnitude(c: char) -> Option<u64> {
    match c {
        '千' | '천' => Some(1_000),
        '万' | '萬' | '만' => Some(10_000),
        '亿' | '億' | '억' => Some(100_000_000),
        _ => None,
    }
}

fn number_hash(value: u64) -> (u64, u32) {
    let h = mix(SEED_NUMBER ^ value);
    (h, (h >> 32) as u32)
}

/// A word's hash (of its bytes and length) and key (of its first
/// [`NAME_LETTERS`] letters, `prefix` bytes, or all of it).
fn word_hash(bytes: &[u8], len: usize, prefix: Option<usize>) -> (u64, u32) {
    let hash = hash_bytes(bytes, len, SEED_WORD);
    let key = match prefix {
        Some(p) if p < bytes.len() => hash_bytes(&bytes[..p], NAME_LETTERS, SEED_WORD),
        _ => hash,
    };
    (hash, (key >> 32) as u32)
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
