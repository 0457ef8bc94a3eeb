//! Comparing a new text's fingerprint (and tokens) with a stored one. Pure.

use super::{
    Fingerprint, Key, KeyKind, LEDE, LEDE_NUMBER_UNITS, MIN_BINS, MIN_CONTAINMENT, MIN_JACCARD,
    MIN_LEDE, OWN_LEDE, TITLE_POS, Tokens,
};

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

/// Estimated Jaccard similarity from which, when one text's first sentence
/// is its own and the other's is not, one is the other without its first
/// paragraph (a paper's cut of a wire story) or the text it was cut from.
const CUT_LEDE_JACCARD: f32 = 0.8;

/// Do the key tokens of a new text (its fingerprint and [`tokens`](super::tokens)) and of a
/// stored one allow the same story? See the module docs.
pub fn keys_agree(new: &Fingerprint, new_tokens: &Tokens, old: &Fingerprint) -> bool {
    keys_agree_in(new, new_tokens, old, true)
}

/// [`keys_agree`] without the titles' numbers: whether the texts
/// themselves tell two stories. (A headline's number may be an outlet's
/// name, "- FOX 5 DC" beside "- NBC 4 Washington" over one text: two copies
/// a title's figure keeps apart, but not two stories.)
pub fn prose_keys_agree(new: &Fingerprint, new_tokens: &Tokens, old: &Fingerprint) -> bool {
    keys_agree_in(new, new_tokens, old, false)
}

fn keys_agree_in(new: &Fingerprint, new_tokens: &Tokens, old: &Fingerprint, titles: bool) -> bool {
    let min = new.units.min(old.units);
    let n = (min - min / 8).min(new.key_limit).min(old.key_limit);
    // Numbers of the titles, and key tokens of the prose both texts cover, are
    // checked apart: a copy may add a figure to its headline and still drop a
    // name from its text.
    // (Topic words are read only where the ledes differ: `same_story`.)
    let part_of = |part: &dyn Fn(&Key) -> bool, k: &Key| k.kind != KeyKind::Topic && part(k);
    // The stored text's keys stop at its 32nd: a key of the new text may lie
    // past that point in the stored one when the stored one holds
    // paragraphs the new one lacks (a caption, an embedded post in an
    // outlet's copy, the agency's copy coming second). Such a key is not
    // asked of it when the two texts' keys agree up to there: the last key
    // both hold is among the stored one's last four, and the new key comes
    // after it, as far past the stored one's last as their positions say.
    // (Two texts that share only an opening paragraph, a short day's log
    // and a long one, share no key near the stored one's end.)
    let last_shared = new
        .keys
        .iter()
        .filter(|k| k.pos != TITLE_POS)
        .filter_map(|k| {
            let o = old
                .keys
                .iter()
                .find(|o| o.hash == k.hash && o.pos != TITLE_POS)?;
            Some((k.pos, o.pos))
        })
        .max_by_key(|(pos, _)| *pos);
    let at_old_end = last_shared.is_some_and(|(_, op)| {
        old.key_limit < old.units
            && old
                .keys
                .iter()
                .filter(|o| o.pos != TITLE_POS && o.pos > op)
                .count()
                <= 4
    });
    let past_old_keys = |k: &Key| {
        at_old_end
            && k.pos != TITLE_POS
            && last_shared.is_some_and(|(np, op)| {
                k.pos > np && op.saturating_add(k.pos - np) >= old.key_limit
            })
    };
    let agree = |part: &dyn Fn(&Key) -> bool| {
        old.keys.iter().filter(|k| part_of(part, k)).all(|k| {
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
        }) || new.keys.iter().filter(|k| part_of(part, k)).all(|k| {
            let theirs = old.keys.iter().filter(|o| o.hash == k.hash).count();
            let mine = new
                .keys
                .iter()
                .filter(|o| part(o) && o.hash == k.hash)
                .count();
            theirs > 0 && (k.kind != KeyKind::Number || mine <= theirs) || past_old_keys(k)
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
    let in_opening = |x: &Fingerprint, k: &Key| {
        k.pos < u16::from(x.opening) && !matches!(k.kind, KeyKind::TitleWord | KeyKind::Topic)
    };
    let (own_old, own_new) = (own_opening(old, new), own_opening(new, old));
    // (The text with an opening of its own is the longer: the other is it
    // without its first paragraph. A sponsor's post and a later thank-you
    // post, each opening with its own words, are not.)
    let cut_lede = own_old != own_new
        && (if own_old {
            old.units > new.units
        } else {
            new.units > old.units
        })
        && jaccard(new, old) >= CUT_LEDE_JACCARD;
    if own_old
        && !cut_lede
        && !old
            .keys
            .iter()
            .filter(|k| in_opening(old, k))
            .all(|k| new_tokens.contains(k.hash))
    {
        return false;
    }
    if own_new
        && !cut_lede
        && !new
            .keys
            .iter()
            .filter(|k| in_opening(new, k))
            .all(|k| old.keys.iter().any(|o| o.hash == k.hash))
    {
        return false;
    }
    // The lede's numbers: both ways (a later story on the same event adds its
    // new figure to the old one in its first sentence: "cut from 13.5% to 13%"),
    // each text's looked up in the other's keys alike (the stored text is
    // known by its keys alone: a lede number looked up in all the new
    // text's words but only in the stored one's keys merged a copy that
    // dropped a lede figure when it came first, and split it when second).
    let lede = |k: &Key| k.kind == KeyKind::Number && k.pos < LEDE_NUMBER_UNITS.min(n);
    let lede_in = |x: &Fingerprint, y: &Fingerprint| {
        x.keys.iter().filter(|k| lede(k)).all(|k| {
            x.keys
                .iter()
                .filter(|o| lede(o) && o.hash == k.hash)
                .count()
                <= y.keys
                    .iter()
                    .filter(|o| o.hash == k.hash && o.pos != TITLE_POS)
                    .count()
        })
    };
    let lede_numbers_agree = lede_in(old, new) && lede_in(new, old);
    // A name of one text's first sentence missing from the other text while
    // the other's first sentence has a name of its own is a substitution, as in
    // a later story on the same event ("beat Poland" / "lost to Italy"); a copy
    // only drops or adds one.
    let lede_names = |x: &'_ Fingerprint| {
        x.keys
            .iter()
            .filter(|k| k.kind == KeyKind::Name && k.pos < u16::from(x.opening).min(n))
            .map(|k| k.hash)
            .collect::<Vec<_>>()
    };
    let (ln_old, ln_new) = (lede_names(old), lede_names(new));
    let old_dropped = ln_old.iter().any(|h| !new_tokens.contains(*h));
    let new_dropped = ln_new
        .iter()
        .any(|h| !old.keys.iter().any(|k| k.hash == *h));
    let new_added = ln_new.iter().any(|h| !ln_old.contains(h));
    let old_added = ln_old.iter().any(|h| !ln_new.contains(h));
    let substituted = old_dropped && new_added || new_dropped && old_added;
    // (A cut of the lede opens with the other's second paragraph: its first
    // sentence's names and numbers, and its topic words, are not the
    // other's first sentence's. The rest of the keys must agree.)
    (cut_lede || (lede_numbers_agree && !substituted))
        && (!titles || agree(&|k| k.pos == TITLE_POS))
        && agree(&|k| k.pos < n)
        && (cut_lede || !topics_differ(new, new_tokens, old))
}

/// Is a new text (its fingerprint and [`tokens`](super::tokens)) a copy of the
/// story of a stored fingerprint? `Some(similarity)` when it is.
pub fn same_story(new: &Fingerprint, new_tokens: &Tokens, old: &Fingerprint) -> Option<f32> {
    let s = similarity(new, old)?;
    keys_agree(new, new_tokens, old).then_some(s)
}

/// Two texts whose ledes are mostly their own, one with a topic word (see
/// [`KeyKind::Topic`]) the other lacks: two stories that end in the same
/// long block (a company's "About us" and disclaimers under two press
/// releases, a network's show notes under two episodes). Their text is
/// alike, but what they open with is not.
fn topics_differ(new: &Fingerprint, new_tokens: &Tokens, old: &Fingerprint) -> bool {
    let short = new.lede.len().min(old.lede.len());
    if short < MIN_LEDE || containment(new, old) >= OWN_LEDE {
        return false;
    }
    let topic = |k: &&Key| k.kind == KeyKind::Topic;
    let old_dropped = old
        .keys
        .iter()
        .filter(topic)
        .any(|k| !new_tokens.contains(k.hash));
    let new_own = new
        .keys
        .iter()
        .filter(topic)
        .any(|k| !old.keys.iter().any(|o| o.hash == k.hash));
    // (Either way: one text's topic word that the other lacks is enough
    // when the ledes are their own; a show's episode with a topic word
    // joined one without any, under the network's notes.)
    let new_dropped = new
        .keys
        .iter()
        .filter(topic)
        .any(|k| !old.keys.iter().any(|o| o.hash == k.hash));
    old_dropped || new_own || new_dropped
}
