//! Characters of a title or an HTML body, normalised for fingerprints: tags
//! become line breaks (block-level) or spaces, entities are decoded, full-width
//! forms fold to ASCII and half-width katakana to full-width. Pure.

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
        ('\u{FF9E}', 0x30AB..=0x30C8) if !matches!(u, 0x30C3) && (u - 0x30AB).is_multiple_of(2) => {
            u + 1
        }
        ('\u{FF9E}', 0x30C4 | 0x30C6 | 0x30C8) => u + 1,
        ('\u{FF9E}', 0x30CF..=0x30DB) if (u - 0x30CF).is_multiple_of(3) => u + 1,
        ('\u{FF9E}', 0x30A6) => 0x30F4,
        ('\u{FF9F}', 0x30CF..=0x30DB) if (u - 0x30CF).is_multiple_of(3) => u + 2,
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
#[derive(Clone)]
pub(super) struct Chars<'a> {
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
    pub fn next_if_ascii(&mut self, pred: impl Fn(u8) -> bool) -> Option<u8> {
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
    pub fn run(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
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

    /// The next character; soft hyphens (`&shy;`, U+00AD) and `<wbr>`,
    /// which only say where a word may break, are not read (a copy with
    /// "Cali&shy;for&shy;nia" in its lede was another story).
    #[inline]
    fn read(&mut self) -> Option<char> {
        loop {
            match self.read_one()? {
                '\u{ad}' => continue,
                c => return Some(c),
            }
        }
    }

    #[inline]
    fn read_one(&mut self) -> Option<char> {
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
        } else if &name[..n] == b"wbr" {
            // (A break opportunity inside a word: read as a soft hyphen.)
            '\u{ad}'
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
