//! Text → [`Fingerprint`]: the prose of a body (a dateline, short lines and an
//! outlet's own lines, [`boilerplate`], left out), its features, the two sketches, the anchors and the key
//! tokens. Pure.

use std::cell::RefCell;

use super::text::{
    self, CAP, CLOSE, DASH_SEP, EQ_SEP, Kind, OPEN, SENT_END, SLASH, STARTS, UPPER, Unit,
};
use super::{
    ANCHORS, BINS, Fingerprint, Key, KeyKind, LEDE, LEDE_ANCHOR_WINDOW, LEDE_ANCHORS, MAX_KEYS,
    MAX_UNITS, MIN_PARAGRAPH_WORDS, MIN_WORDS, RAW_UNITS, SHORT_PROSE_WORDS, TAIL_ANCHORS,
    TITLE_POS, TITLE_UNITS, TOPIC_LETTERS,
};

#[derive(Default)]
pub(super) struct Scratch {
    pub title: Vec<Unit>,
    pub body: Vec<Unit>,
    prose: Vec<Unit>,
    sizes: Vec<(u32, bool)>,
    /// Paragraphs that are an outlet's own lines.
    marked: Vec<usize>,
    small: Vec<u32>,
}

/// Fewest words of prose left for an outlet's own lines to be left out.
const MIN_STORY_WORDS: u32 = 80;

thread_local! {
    pub(super) static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
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
        if first.flags & OPEN != 0
            && let Some(close) = rest
                .iter()
                .take(24)
                .take_while(|u| u.para == line)
                .position(|u| u.flags & CLOSE != 0)
                .filter(|&i| i > 0 && i < rest.len() && rest[i].para == line)
        {
            start += close;
            continue;
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

/// Word hashes of the phrases that mark a paragraph as an outlet's own
/// boilerplate (see [`boilerplate`]), as the tokenizer reads them.
struct Phrases {
    /// Words that open a byline ("By", "Von", "Par", "Por", "Door").
    by: [u64; 5],
    /// Lower-case words a byline may hold besides names ("writer"), and
    /// the words between names ("and", "of", "van").
    roles: Vec<u64>,
    connectors: Vec<u64>,
    /// Openings of a paragraph that is a note, a credit or a caption line.
    opens: Vec<Vec<u64>>,
    /// Phrases that make a paragraph a note, a credit or a copyright line
    /// wherever they occur in it, and their first words.
    holds: Vec<Vec<u64>>,
    holds_first: Vec<u64>,
    /// Words of a photo credit in brackets ("(AP Photo/Staff)").
    photo: [u64; 4],
    /// Agencies that credit a photo in capitals ("REUTERS/Daniel Cole").
    agencies: Vec<u64>,
    /// Words that open a time line ("Updated April 10, 2024 at 3:45 p.m.
    /// ET"), and the longer lower-case words it may hold.
    time_words: [u64; 4],
    /// "Last", which opens a time line only as "Last updated".
    last: u64,
    time_lower: [u64; 6],
    /// What makes a figure a date or a time: a month, a clock's or a
    /// zone's letters ("p.m.", "AM", "ET", "GMT").
    time_marks: Vec<u64>,
    /// "min read" after a number.
    min_read: [u64; 2],
    copyright: u64,
}

fn hashes(phrase: &str) -> Vec<u64> {
    let mut v = Vec::new();
    text::units(phrase, false, 16, &mut v);
    v.iter().map(|u| u.hash).collect()
}

static PHRASES: std::sync::LazyLock<Phrases> = std::sync::LazyLock::new(|| {
    let word = |w: &str| hashes(w).first().copied().unwrap_or(0);
    Phrases {
        by: ["by", "von", "par", "por", "door"].map(word),
        roles: [
            "writer",
            "writers",
            "reporter",
            "reporters",
            "correspondent",
            "correspondents",
            "staff",
            "editor",
            "editors",
            "contributor",
            "press",
            "news",
            "sports",
            "wire",
            "special",
            "dpa",
        ]
        .map(word)
        .to_vec(),
        connectors: [
            "and", "und", "et", "y", "e", "of", "for", "the", "at", "in", "de", "du", "van", "von",
            "der", "den", "di", "da", "del", "la", "le",
        ]
        .map(word)
        .to_vec(),
        opens: [
            "editor's note",
            "editors note",
            "editor's notes",
            "note to readers",
            "additional reporting",
        ]
        .iter()
        .map(|p| hashes(p))
        .collect(),
        holds: [
            "contributed to this report",
            "contributed to this story",
            "contributed to this article",
            "contributed reporting",
            "an earlier version of this story",
            "an earlier version of this article",
            "an earlier version of this report",
            "this story has been updated",
            "this article has been updated",
            "this story was updated",
            "this article was updated",
            "this story originally appeared",
            "this article originally appeared",
            "this story was originally published",
            "this article was originally published",
            "all rights reserved",
            "may not be published broadcast",
        ]
        .iter()
        .map(|p| hashes(p))
        .collect(),
        photo: ["photo", "photos", "foto", "fotos"].map(word),
        copyright: word("copyright"),
        agencies: [
            "reuters", "afp", "epa", "dpa", "ap", "anp", "ansa", "efe", "xinhua",
        ]
        .map(word)
        .to_vec(),
        time_words: ["updated", "published", "posted", "last"].map(word),
        last: word("last"),
        time_lower: [
            "updated",
            "published",
            "posted",
            "originally",
            "last",
            "modified",
        ]
        .map(word),
        time_marks: [
            "jan",
            "january",
            "feb",
            "february",
            "mar",
            "march",
            "apr",
            "april",
            "may",
            "jun",
            "june",
            "jul",
            "july",
            "aug",
            "august",
            "sep",
            "sept",
            "september",
            "oct",
            "october",
            "nov",
            "november",
            "dec",
            "december",
            "am",
            "pm",
            "a",
            "p",
            "et",
            "gmt",
            "utc",
            "est",
            "edt",
            "pst",
            "pdt",
            "cet",
            "cest",
            "bst",
        ]
        .map(word)
        .to_vec(),
        min_read: ["min", "read"].map(word),
        holds_first: Vec::new(),
    }
    .with_firsts()
});

impl Phrases {
    fn with_firsts(mut self) -> Self {
        self.holds_first = self.holds.iter().map(|p| p[0]).collect();
        self.holds_first.sort_unstable();
        self.holds_first.dedup();
        self
    }
}

/// Size of units in sixths of a word (see [`Unit::weight`]).
fn weight(units: &[Unit]) -> u32 {
    units.iter().map(Unit::weight).sum()
}

/// Whether a paragraph is an outlet's own line about the story rather than
/// the story, which copies of one wire story add or drop: a time line
/// ("Updated April 10, 2024 at 3:45 p.m. ET"); a byline ("By Brian Mahoney
/// and Tim Reynolds, AP Sports Writers": "By", names, role words and at most
/// two connectors, no number and no full stop at the end, so "By Monday
/// morning, Denver could see…" and "Von Norden her Regen und Sturm." stay
/// prose), perhaps with its time line or reading time; an editor's note or
/// a correction ("An earlier version of this story…", no figure but a year:
/// "… updated with the final score: Bucks 122, Celtics 119" is the story); a
/// contributor line; a copyright line; or a photo caption that ends on an
/// agency's credit ("(AP Photo/Staff)", "REUTERS/Daniel Cole"; "(Photo
/// provided by Springfield Police)" under the missing teen it names is the
/// story). `ends`: the separators after the paragraph. Whether such lines
/// are left out at all is `analyse`'s to judge (`MIN_STORY_WORDS`).
fn boilerplate(para: &[Unit], ends: u16) -> bool {
    let Some(first) = para.first() else {
        return false;
    };
    let n = weight(para) / 6;
    if n > 60 {
        return false;
    }
    let ph = &*PHRASES;
    let year = |u: &Unit| u.kind == Kind::Number && (1900..2100).contains(&u.raw);
    // A time line: "Updated April 10, 2024 at 3:45 p.m. ET", "Published
    // 6:10 AM | Last updated 8:42 AM": a date or a time (a year, a month, a
    // clock's or a zone's letters), and no lower-case word of four letters
    // or more but its own ("Published 12 May, the report found…" is prose;
    // "Last Draw: 04 - 18 - 22" is a lottery's result).
    let time_line = |t: &[Unit]| {
        t.first().is_some_and(|u| ph.time_words.contains(&u.hash))
            && (t[0].hash != ph.last || t.get(1).is_some_and(|u| ph.time_lower.contains(&u.hash)))
            && t.iter().any(|u| year(u) || ph.time_marks.contains(&u.hash))
            && t.len() <= 24
            && t.iter().any(|u| u.kind == Kind::Number)
            && t.iter().all(|u| {
                u.kind == Kind::Number
                    || u.flags & (CAP | UPPER) != 0
                    || u.len <= 3
                    || ph.time_lower.contains(&u.hash)
            })
    };
    if time_line(para) {
        return true;
    }
    // A byline, perhaps followed by its time line or reading time ("By Jane
    // Doe Updated Apr. 10, 2024, 3:45 p.m. ET", "By Jane Doe, Yahoo News · 3
    // min read").
    let lower = |u: &Unit| u.flags & (CAP | UPPER) == 0 && !ph.roles.contains(&u.hash);
    if ph.by.contains(&first.hash) && n <= 24 {
        let mut names = para;
        let mut after = ends;
        if let [rest @ .., num, min, read] = names
            && num.kind == Kind::Number
            && [min.hash, read.hash] == ph.min_read
        {
            names = rest;
            after = num.flags;
        }
        if let Some(k) = names
            .iter()
            .skip(2)
            .position(|u| ph.time_words.contains(&u.hash))
            .map(|k| k + 2)
            && time_line(&names[k..])
        {
            after = names[k].flags;
            names = &names[..k];
        }
        if after & SENT_END == 0
            && names
                .get(1)
                .is_some_and(|u| u.kind == Kind::Word && u.flags & (CAP | UPPER) != 0)
            && names[1..].iter().all(|u| {
                u.kind == Kind::Word
                    && u.flags & SENT_END == 0
                    && (!lower(u) || ph.connectors.contains(&u.hash))
            })
            && names[1..].iter().filter(|u| lower(u)).count() <= 2
        {
            return true;
        }
    }
    let starts_with = |p: &[u64], at: &[Unit]| {
        !p.is_empty() && at.len() >= p.len() && at.iter().zip(p).all(|(u, h)| u.hash == *h)
    };
    if n <= 40 && ph.opens.iter().any(|p| starts_with(p, para)) {
        return true;
    }
    // "Copyright 2024 …", "Copyright (c) 2024 …" ("Copyright lawsuits…" is
    // prose).
    if n <= 40 && first.hash == ph.copyright && para[1..].iter().take(2).any(year) {
        return true;
    }
    if para.iter().all(|u| u.kind != Kind::Number || year(u))
        && para.iter().enumerate().any(|(i, u)| {
            ph.holds_first.contains(&u.hash) && ph.holds.iter().any(|p| starts_with(p, &para[i..]))
        })
    {
        return true;
    }
    // A caption ending on an agency's credit in capitals, a slash and the
    // photographer: "… on Wednesday. REUTERS/Daniel Cole".
    if n <= 50
        && para[para.len().saturating_sub(5)..].windows(2).any(|w| {
            w[0].flags & UPPER != 0
                && ph.agencies.contains(&w[0].hash)
                && w[1].flags & SLASH != 0
                && w[1].flags & CAP != 0
        })
    {
        return true;
    }
    // A caption ending on an agency's credit: a photo word, then a slash
    // and the photographer ("(AP Photo/Noah Berger)", "(dpa Foto/…)").
    if ends & CLOSE != 0
        && n <= 50
        && let Some(open) = para.iter().rposition(|u| u.flags & OPEN != 0)
    {
        let group = &para[open..];
        return group
            .windows(2)
            .any(|w| ph.photo.contains(&w[0].hash) && w[1].flags & SLASH != 0);
    }
    false
}

pub(super) fn analyse(title: &str, body_html: &str, s: &mut Scratch) -> Option<Fingerprint> {
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
    // An outlet's own lines (bylines, notes, credits, captions) are left out
    // as bracketed paragraphs are, when what is left is a story's text: at
    // least [`MIN_STORY_WORDS`] words, and they are at most 2/5 of the prose.
    // (Else what is left may be an item's standard lines, "Check back later
    // for updates", and two items whose own words are all such lines were
    // one story.)
    {
        let (mut start, mut prose, mut own) = (0, 0, 0);
        s.marked.clear();
        for p in 0..s.sizes.len() {
            let end = body[start..]
                .iter()
                .position(|u| u.para != body[start].para)
                .map_or(body.len(), |k| start + k);
            let (size, left_out) = s.sizes[p];
            if long(size) && !left_out {
                prose += size;
                let ends = body.get(end).map_or(tail, |n| n.flags);
                if boilerplate(&body[start..end], ends) {
                    own += size;
                    s.marked.push(p);
                }
            }
            start = end;
        }
        if prose - own >= MIN_STORY_WORDS * 6 && own * 5 <= prose * 2 {
            for &p in &s.marked {
                s.sizes[p].1 = true;
            }
        }
    }
    // A wire dateline at the start of the first paragraph of prose (after a
    // byline, say) is left out, and what follows it starts a sentence.
    let first_para = s
        .sizes
        .iter()
        .position(|(size, left_out)| long(*size) && !left_out)
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
    if !cut
        && let Some(j) = s.prose.iter().rposition(|u| u.flags & STARTS != 0)
        && j > 0
        && weight(&s.prose[j..]) < MIN_PARAGRAPH_WORDS * 6
    {
        s.prose.truncate(j);
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
    let mut tail_anchors = Smallest::<TAIL_ANCHORS>::new();
    let with_title = prose_weight < SHORT_PROSE_WORDS * 6;
    let seq_title: &[Unit] = if with_title { &s.title } else { &[] };
    let mut add = |f: u64, rank: Option<u32>| {
        features = features.saturating_add(1);
        let bin = (f >> (64 - BINS.trailing_zeros())) as usize;
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
    // Features from this one on are after the lede: those of the second
    // paragraph of the prose on (in one paragraph, those after the lede's).
    let second_para = prose
        .iter()
        .position(|u| u.para != prose[0].para)
        .unwrap_or(LEDE + 1);
    let tail_from = seq_title.len() + second_para;
    for u in seq_title.iter().chain(prose.iter()) {
        if let Some(p) = prev {
            let f = feature(p, u);
            let rank = anchor_rank(p, u, f);
            add(f, rank);
            if let Some(r) = rank.filter(|_| pairs >= tail_from) {
                tail_anchors.offer(r);
            }
            pairs += 1;
        }
        prev = Some(u);
    }
    if pairs == 0
        && let Some(u) = prev
    {
        let f = text::mix(u.hash ^ 0x2545_f491_4f6c_dd1d);
        add(f, anchor_rank(u, u, f));
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
    for a in lede_anchors.values().iter().chain(tail_anchors.values()) {
        if !all_anchors.contains(a) {
            all_anchors.push(*a);
        }
    }

    let (keys, key_limit) = keys(&s.title, prose, opening, &mut s.small);
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
fn keys(title: &[Unit], prose: &[Unit], opening: u8, title_keys: &mut Vec<u32>) -> (Vec<Key>, u16) {
    // Capitalised words and CJK pairs of the title; its longer lower-case
    // words apart (topic words, looked for in the first sentence only).
    title_keys.clear();
    let mut topics = [0u32; 8];
    let mut n_topics = 0;
    for (i, u) in title.iter().enumerate() {
        match u.kind {
            Kind::Word if u.flags & CAP != 0 && u.len >= 3 => title_keys.push(u.key),
            Kind::Word if u.len >= TOPIC_LETTERS && n_topics < topics.len() => {
                topics[n_topics] = u.key;
                n_topics += 1;
            }
            _ if u.is_cjk() && i > 0 && title[i - 1].is_cjk() => {
                title_keys.push(text::bigram_key(&title[i - 1], u))
            }
            _ => {}
        }
    }
    let topics = &topics[..n_topics];
    title_keys.sort_unstable();
    // A one-word Bloom filter in front of the binary search.
    let mask = title_keys.iter().fold(0u64, |m, k| m | 1 << (k & 63));
    let in_title = |k: u32| mask & (1 << (k & 63)) != 0 && title_keys.binary_search(&k).is_ok();

    let mut keys: Vec<Key> = Vec::with_capacity(16);
    let mut limit = prose.len() as u16;
    let mut counted = 0;
    let mut push = |hash: u32, pos: u16, kind: KeyKind, keys: &mut Vec<Key>| -> bool {
        // Numbers are counted (a score of 6-2 is not the 6 and the 2 found
        // elsewhere in another text); names and title words are not.
        if kind != KeyKind::Number && keys.iter().any(|k| k.hash == hash) {
            return true;
        }
        // (Topic keys, at most 8, count apart: they take no other key's
        // place, nor move `limit`.)
        if kind == KeyKind::Topic {
            keys.push(Key { hash, pos, kind });
            return true;
        }
        if counted == MAX_KEYS {
            limit = limit.min(pos);
            return false;
        }
        counted += 1;
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
            Kind::Word if in_title(u.key) => Some((u.key, KeyKind::TitleWord)),
            Kind::Word => (i < usize::from(opening) && topics.contains(&u.key))
                .then_some((u.key, KeyKind::Topic)),
            _ => (i > 0 && prose[i - 1].is_cjk())
                .then(|| text::bigram_key(&prose[i - 1], u))
                .filter(|k| in_title(*k))
                .map(|k| (k, KeyKind::TitleWord)),
        };
        if let Some((k, kind)) = key
            && !push(k, pos, kind, &mut keys)
        {
            break;
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
        if N == 0 || self.n == N && x >= self.v[N - 1] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_with_dashes_is_not_a_dateline() {
        let mut units = Vec::new();
        text::units(
            "The storm - the worst in a decade - brought down trees and power lines",
            true,
            usize::MAX,
            &mut units,
        );
        assert_eq!(dateline_end(&units), 0);
    }

    #[test]
    fn smallest_keeps_the_smallest_without_repeats() {
        let mut s = Smallest::<3>::new();
        for x in [9, 4, 4, 7, 1, 8, 1, 2] {
            s.offer(x);
        }
        assert_eq!(s.values(), [1, 2, 4]);
    }
}
