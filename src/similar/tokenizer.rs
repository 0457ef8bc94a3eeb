//! The tokenizer behind [`super::text::units`]: builds words and numbers from
//! normalised characters, joins spelling variants ("U.S.", "2,000", "1천200")
//! and records the separators between units.

use super::chars::Chars;
use super::text::*;

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

/// Cuts the characters into units (see [`super::text::units_with_tail`]).
pub(super) fn tokenize(mut chars: Chars, limit: usize, out: &mut Vec<Unit>) -> (bool, u16) {
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

/// The hash of the first `bytes` bytes of a zero-padded word buffer and of a
/// length, 8 bytes at a time.
#[inline]
fn hash_chunks(buf: &[u8; WORD_BYTES], bytes: usize, len: usize) -> u64 {
    let mut h = SEED_WORD ^ (len as u64).wrapping_mul(0x9fb2_1c65_1e98_df25);
    for i in 0..bytes.div_ceil(8) {
        h = step(h, chunk(buf, i, bytes));
    }
    mix(h)
}

#[inline(always)]
fn step(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(31)
}

/// Bytes `8 * i ..` of the buffer, those from `bytes` on zeroed.
#[inline(always)]
fn chunk(buf: &[u8; WORD_BYTES], i: usize, bytes: usize) -> u64 {
    let w = u64::from_le_bytes(buf[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let end = bytes - 8 * i;
    if end < 8 {
        w & ((1u64 << (8 * end)) - 1)
    } else {
        w
    }
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
            // Zero bytes after the word: hashes read whole 8-byte chunks.
            b.buf = [0; WORD_BYTES];
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
                if let Some(m) = magnitude(c)
                    && self.gap_len == 0
                    && let Some(prev) = self.out[self.start..]
                        .last_mut()
                        .filter(|p| p.kind == Kind::Number && p.flags & (MAGNITUDE | SUMMED) == 0)
                {
                    let v = prev.raw.wrapping_mul(m);
                    (prev.hash, prev.key) = number_hash(v);
                    prev.raw = v;
                    prev.flags |= MAGNITUDE;
                    self.prev_ws = false;
                    return;
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
                // (A run of dashes is one: the wires' " -- ", "PITTSBURGH
                // /PRNewswire/ -- ", was no separator, and a copy under it
                // missed its original. Looked past only from its first dash:
                // a run of 256 KiB of them cost a scan per dash.)
                let after = before && {
                    let mut ahead = chars.clone();
                    while ahead.peek() == Some(c) {
                        ahead.next();
                    }
                    ahead.peek().is_none_or(char::is_whitespace)
                };
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
                let n = self.last_word_bytes;
                let prefix = self.last_word[..n]
                    .iter()
                    .all(u8::is_ascii)
                    .then_some(NAME_LETTERS.min(n));
                let (hash, key) = word_hash(&self.last_word, n, len, prefix);
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
                let (h, k) = word_hash(&b.buf, stored, b.len, prefix);
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

/// A word's hash (of its bytes, lowercased UTF-8 in a zero-padded buffer, and
/// its length) and key (of its first [`NAME_LETTERS`] letters, `prefix` bytes,
/// or all of it).
fn word_hash(
    buf: &[u8; WORD_BYTES],
    bytes: usize,
    len: usize,
    prefix: Option<usize>,
) -> (u64, u32) {
    let bytes = bytes.min(WORD_BYTES);
    let hash = hash_chunks(buf, bytes, len);
    let key = match prefix {
        // The usual case, a prefix within the first 8 bytes: one more step.
        Some(p) if p < bytes && p <= 8 => mix(step(
            SEED_WORD ^ (NAME_LETTERS as u64).wrapping_mul(0x9fb2_1c65_1e98_df25),
            chunk(buf, 0, p),
        )),
        Some(p) if p < bytes => hash_chunks(buf, p, NAME_LETTERS),
        _ => hash,
    };
    (hash, (key >> 32) as u32)
}
