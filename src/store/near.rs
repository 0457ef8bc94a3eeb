//! Near-duplicate fingerprints in the store: writing them (`near_items`),
//! finding the story of a stored copy of a new item, and computing them for
//! items stored before version 4.
//!
//! Lookups go through an in-memory [`Index`] of the anchors of the items first
//! seen within the near window, built from `near_items` (each stored fingerprint
//! carries its anchors) the first time it is needed and kept up to date as items
//! are stored: a lookup then reads no index pages, and storing an item writes
//! one appended row. Each candidate is judged from its stored fingerprint (never
//! its text); `items` and `stories` are read only for the candidates that are the
//! same story. Its memory grows with the items of the window (8 bytes per
//! anchor, about 3 anchors per item), not with the store.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use crate::error::StoreError;
use crate::identity::{Identified, TitleWords};
use crate::similar::{self, Fingerprint, Tokens};

/// An anchor shared by more items first seen within the near window is a *hub*
/// (a feature too common to tell stories apart): its items are not candidates,
/// unless some of them are titled as the new item, and then only the copies
/// among those of one story (see [`hub_story`], [`HUB_COPY`]). A lookup reads
/// the story and title of at most `HUB + 1` of a hub's items, and none of a
/// [`common_feature`]'s.
pub(super) const HUB: i64 = 24;

/// Stored fingerprints compared per lookup at most (those sharing the most
/// anchors first).
pub(super) const MAX_CANDIDATES: usize = 8;

/// How alike a candidate found only through a hub (by its title) must be:
/// a copy, not a post of the same generic title ("Weekly update") sharing a
/// long footer with it (60 such posts were merged into stories of 33; they
/// merge from 0.5 on). A copy carrying a site's paragraph of its own is
/// less alike than 0.8 (0.75 for a 55-word paragraph under 170 words: each
/// such copy was a story of its own).
const HUB_COPY: f32 = 0.7;

/// Items of the new item's own feed compared besides (see [`Candidates::best`]).
const OWN_CANDIDATES: usize = 2;

/// Similarity from which an item of the new item's own feed has its text.
const OWN_COPY: f32 = 0.9;

/// Items fingerprinted per transaction after an upgrade.
const BACKFILL_BATCH: i64 = 500;

const TASK: &str = "near_fingerprints";

fn ctx(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    StoreError::ctx(what)
}

/// Stores a new item's fingerprint, and adds its anchors to the index when
/// there is one (hubs too: a story's follow-up that no copy listed was titled
/// as is found by the next one, see [`hub_story`]).
pub(super) fn insert(
    tx: &Connection,
    item_id: i64,
    feed_id: i64,
    first_seen_at: i64,
    fp: &Fingerprint,
    index: Option<&mut Index>,
) -> Result<(), StoreError> {
    let bytes = fp.to_bytes();
    let row = params![item_id, feed_id, first_seen_at, bytes];
    // A plain INSERT: `OR REPLACE` made SQLite keep a statement journal for
    // every new item, and truncating it was 3 % of a cold poll. A row left
    // behind for this id (an item deleted by hand, without foreign keys) is
    // replaced on the second try; the failed INSERT changed nothing.
    let inserted = tx
        .prepare_cached(
            "INSERT INTO near_items (item_id, feed_id, first_seen_at, fingerprint)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| s.execute(row));
    match inserted {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO near_items (item_id, feed_id, first_seen_at, fingerprint)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(row))
            .map_err(ctx("storing fingerprint"))?;
        }
        other => {
            other.map_err(ctx("storing fingerprint"))?;
        }
    }
    if let Some(index) = index {
        index.add(fp.anchors.iter(), item_id, feed_id);
        // (An id a rolled-back write had used, and its title since.)
        index.rows.remove(&item_id);
    }
    Ok(())
}

/// Replaces an edited item's fingerprint (or removes it when the new text has
/// none). The anchors of the old one stay in the index: a candidate is always
/// judged by its stored fingerprint.
pub(super) fn replace(
    tx: &Connection,
    item_id: i64,
    fp: Option<&Fingerprint>,
    mut index: Option<&mut Index>,
) -> Result<(), StoreError> {
    // (Its title may have changed: read again when a hub's sample names it.)
    if let Some(index) = index.as_deref_mut() {
        index.rows.remove(&item_id);
    }
    let old: Option<(i64, i64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT feed_id, first_seen_at, fingerprint FROM near_items WHERE item_id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([item_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(ctx("updating fingerprint"))?;
    if let Some((_, _, blob)) = &old
        && fp.is_some_and(|fp| Fingerprint::from_bytes(blob).as_ref() == Some(fp))
    {
        return Ok(());
    }
    match fp {
        Some(fp) => {
            let (feed_id, first_seen_at) = match &old {
                Some((f, t, _)) => (*f, *t),
                None => tx
                    .prepare_cached("SELECT feed_id, first_seen_at FROM items WHERE id = ?1")
                    .and_then(|mut s| s.query_row([item_id], |r| Ok((r.get(0)?, r.get(1)?))))
                    .map_err(ctx("updating fingerprint"))?,
            };
            insert(tx, item_id, feed_id, first_seen_at, fp, index)
        }
        None => tx
            .prepare_cached("DELETE FROM near_items WHERE item_id = ?1")
            .and_then(|mut s| s.execute([item_id]))
            .map(|_| ())
            .map_err(ctx("updating fingerprint")),
    }
}

/// Title and text of an entry as fingerprints read them (`content`, else `summary`).
pub(super) fn text_of(it: &Identified) -> (&str, &str) {
    let e = &it.entry;
    (
        e.title.as_deref().unwrap_or(""),
        e.content.as_deref().or(e.summary.as_deref()).unwrap_or(""),
    )
}

/// The candidates of one lookup, as both backends collect them from the new
/// item's anchors: each item listed, how many of the anchors list it, and
/// whether it is (probably) of another feed.
#[derive(Debug, Default)]
pub(super) struct Candidates(Vec<(i64, u32, bool, bool)>);

impl Candidates {
    /// Counts `item` as listed under one more anchor: a hub (`hub`), whose
    /// items are candidates only by their title (see [`hub_story`]), or not.
    pub(super) fn add(&mut self, item: i64, other_feed: bool, hub: bool) {
        match self.0.iter_mut().find(|(i, ..)| *i == item) {
            Some((_, n, _, plain)) => {
                *n += 1;
                *plain |= !hub;
            }
            None => self.0.push((item, 1, other_feed, !hub)),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The items to compare: other feeds' items first, then those sharing the
    /// most anchors, then the most recent; at most [`MAX_CANDIDATES`].
    ///
    /// Plus the [`OWN_CANDIDATES`] items of the new item's own feed listed
    /// under the most anchors, if they were cut: a text that feed carries
    /// under other titles too is its boilerplate (see [`Judge::own_copies`]).
    ///
    /// Plus, up to `HUB + 1` in all, other feeds' items listed only under
    /// hubs (the copies of a story carried by more feeds than a hub holds,
    /// see [`hub_story`]) if they were cut: they are listed under as many
    /// anchors, and the newest alone were judged (copies without a site's
    /// footer, when the new copy and its older twins carry one: each such
    /// copy was a story of its own).
    ///
    /// Each with how alike it must be to match: [`HUB_COPY`] for one listed
    /// only under hubs, else 0 (as similar as a copy).
    pub(super) fn best(mut self) -> Vec<(i64, f32)> {
        self.0
            .sort_unstable_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(b.0.cmp(&a.0)));
        let cut = self.0.split_off(self.0.len().min(MAX_CANDIDATES));
        let hub_only = (HUB as usize + 1).saturating_sub(self.0.len());
        self.0
            .into_iter()
            .chain(cut.iter().filter(|c| !c.2).take(OWN_CANDIDATES).copied())
            .chain(cut.iter().filter(|c| c.2 && !c.3).take(hub_only).copied())
            .map(|c| (c.0, if c.3 { 0.0 } else { HUB_COPY }))
            .collect()
    }
}

/// Judges stored candidates against a new item, by their stored fingerprints
/// (never their text), the same on both backends.
pub(super) struct Judge<'a> {
    it: &'a Identified,
    fp: &'a Fingerprint,
    feed_id: i64,
    since: i64,
    tokens: Option<Tokens>,
    /// (score, item, its feed).
    matches: Vec<(f32, i64, i64)>,
    /// Items of the new item's own feed, within the window, with its text.
    own: Vec<i64>,
    /// Matches that are, like the new item, their headline alone (no prose,
    /// or a few words: [`HEADLINE_ONLY_UNITS`]):
    /// same only when neither headline swaps a word of the other's
    /// ([`similar::headline_swapped`], judged on the stored title).
    headline_only: Vec<i64>,
    /// Other feeds' items as similar as a copy whose key tokens in the text
    /// tell another story (a shared template: the same quake report for
    /// Chile and for Peru; not a title's number alone): the new item joins
    /// none of their stories (see [`choose`]).
    rejected: Vec<i64>,
    /// Other feeds' items as similar as a copy whose texts' key tokens agree
    /// and whose titles' numbers do not, with whether both are their
    /// headline alone: judged by the titles themselves (see [`judged`]).
    title_only: Vec<(i64, bool)>,
}

/// What a candidate of [`Judge::into_look_ups`] is, before its story is read:
/// a match (with the new item's headline when both are their headline
/// alone), or a copy told apart by its title's numbers alone (whether both
/// are headlines alone).
pub(super) enum Look<'a> {
    Match(Option<&'a str>),
    ByTitles(bool),
}

/// A looked-up candidate, once its story is read (`stored_title` its title):
/// a match, or its story vetoed. A copy told apart by its title's numbers
/// alone is one when its headline and the new item's give the same figures
/// once news labels and outlets' names are left out (" - FOX 5 DC" and " -
/// NBC 4 Washington" over one text are one story; "$500 million" and "$600
/// million", two draws over one template, are not, and the second's story
/// is vetoed).
pub(super) fn judged(
    look: &Look,
    new_headline: &str,
    found: Matched,
    stored_title: &str,
    matches: &mut Vec<Matched>,
    rejected: &mut Vec<i64>,
) {
    let swapped = |judged: bool| judged && similar::headline_swapped(new_headline, stored_title);
    match look {
        Look::Match(headline) => matches.push(Matched {
            swapped: swapped(headline.is_some()),
            ..found
        }),
        Look::ByTitles(headlines) => {
            match similar::headline_figures_differ(new_headline, stored_title) {
                true => rejected.push(found.story),
                false => matches.push(Matched {
                    swapped: swapped(*headlines),
                    ..found
                }),
            }
        }
    }
}

/// One match of a new item as the store read it: its story, when that
/// story was first seen, whether the new item's own feed has an item in it,
/// and whether the two are headlines alone that swap a word.
pub(super) struct Matched {
    pub story: i64,
    pub first_seen: i64,
    pub own_feed: bool,
    pub swapped: bool,
}

/// The story a new item joins, among its matches (best first): the first
/// first seen within the window, without an item of its feed, whose
/// headlines do not swap a word, and of which no item tells another story
/// (`rejected`, the stories of [`Judge::rejected`] items; and those of
/// matches whose headlines swap a word). A vague copy (a flash of two
/// paragraphs without a place's name, a headline without its town)
/// matching two stories on one template joined whichever came first, and
/// the next item of the other story joined it through that copy: which
/// stories were one depended on the order the feeds were polled, and two
/// different quakes, or stabbings in two cities, were published as one.
pub(super) fn choose(matches: &[Matched], rejected: &[i64], since: i64) -> Option<i64> {
    let vetoed = |story: i64| {
        rejected.contains(&story) || matches.iter().any(|m| m.story == story && m.swapped)
    };
    matches
        .iter()
        .find(|m| !m.own_feed && m.first_seen >= since && !m.swapped && !vetoed(m.story))
        .map(|m| m.story)
}

/// Items with at most this many units of prose are their headline (a body
/// of "Comments", "Read more", "Continue reading…"): see `Judge`.
const HEADLINE_ONLY_UNITS: u16 = 4;

/// Two matches of one feed scoring within this of each other are the same
/// text in two of its stories: boilerplate (a section's "subscribe" blurb, a
/// podcast network's description), not a story the new item copies.
const AMBIGUOUS: f32 = 0.005;

impl<'a> Judge<'a> {
    pub(super) fn new(it: &'a Identified, fp: &'a Fingerprint, feed_id: i64, since: i64) -> Self {
        Judge {
            it,
            fp,
            feed_id,
            since,
            tokens: None,
            matches: Vec::new(),
            own: Vec::new(),
            headline_only: Vec::new(),
            rejected: Vec::new(),
            title_only: Vec::new(),
        }
    }

    /// The candidates whose stories are to be read: the matches, the most
    /// similar first (see [`Judge::best_first_with_headlines`]), then those
    /// told apart by their titles' numbers alone (see `title_only`).
    pub(super) fn into_look_ups(mut self) -> Vec<(i64, Look<'a>)> {
        let by_titles = std::mem::take(&mut self.title_only);
        let mut v: Vec<(i64, Look<'a>)> = self
            .best_first_with_headlines()
            .into_iter()
            .map(|(item, headline)| (item, Look::Match(headline)))
            .collect();
        v.extend(
            by_titles
                .into_iter()
                .map(|(item, headlines)| (item, Look::ByTitles(headlines))),
        );
        v
    }

    /// Other feeds' items as similar as a copy that tell another story (see
    /// `rejected`).
    pub(super) fn rejected(&self) -> &[i64] {
        &self.rejected
    }

    /// The items of the new item's own feed, first seen within the window,
    /// whose text is the new item's (as similar as [`OWN_COPY`]). When one of
    /// them has another title, the text is that feed's boilerplate (a
    /// paywall's teaser under every article): the new item joins no story
    /// by it (it joined another paper's article with the same teaser, and
    /// that story hid the new one).
    pub(super) fn own_copies(&self) -> &[i64] {
        &self.own
    }

    /// One stored candidate: another feed's item, first seen within the
    /// window, as similar as a copy, whose key tokens agree.
    /// Another feed's item is a match only when at least `min` alike (0: as
    /// similar as a copy): [`HUB_COPY`] for a candidate found only through a
    /// hub's items titled as the new one.
    pub(super) fn consider_at_least(
        &mut self,
        item: i64,
        other_feed: i64,
        seen: i64,
        stored: &[u8],
        min: f32,
    ) {
        if seen < self.since {
            return;
        }
        let Some(old) = Fingerprint::from_bytes(stored) else {
            return;
        };
        let Some(score) = similar::similarity(self.fp, &old) else {
            return;
        };
        if other_feed == self.feed_id {
            if score >= OWN_COPY {
                self.own.push(item);
            }
            return;
        }
        if score < min {
            return;
        }
        let it = self.it;
        let toks = self.tokens.get_or_insert_with(|| {
            let (title, body) = text_of(it);
            similar::tokens(title, body)
        });
        if similar::keys_agree(self.fp, toks, &old) {
            self.matches.push((score, item, other_feed));
            if self.fp.units <= HEADLINE_ONLY_UNITS && old.units <= HEADLINE_ONLY_UNITS {
                self.headline_only.push(item);
            }
        } else if similar::prose_keys_agree(self.fp, toks, &old) {
            // (A title's number alone: an outlet's channel, "- FOX 5 DC",
            // or another draw's jackpot; told apart by the titles.)
            let headlines =
                self.fp.units <= HEADLINE_ONLY_UNITS && old.units <= HEADLINE_ONLY_UNITS;
            self.title_only.push((item, headlines));
        } else {
            self.rejected.push(item);
        }
    }

    /// [`Judge::best_first`], each with the new item's headline when the
    /// match is to be judged by the headlines too (see `headline_only`).
    pub(super) fn best_first_with_headlines(mut self) -> Vec<(i64, Option<&'a str>)> {
        let it = self.it;
        let headline_only = std::mem::take(&mut self.headline_only);
        self.best_first()
            .into_iter()
            .map(|item| {
                let judged = headline_only.contains(&item);
                (
                    item,
                    judged.then(|| it.entry.title.as_deref().unwrap_or("")),
                )
            })
            .collect()
    }

    /// The matching items, the most similar first; among equals the earliest.
    /// A feed whose best match has another of its items about as similar is
    /// left out: the text they share is that feed's boilerplate (or one
    /// article it carries twice), and which of its stories the new item would
    /// join is a guess (a story lost under another). Other feeds' matches
    /// still count.
    pub(super) fn best_first(mut self) -> Vec<i64> {
        self.matches
            .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut best: Vec<(i64, f32)> = Vec::new();
        let mut ambiguous: Vec<i64> = Vec::new();
        for &(score, _, feed) in &self.matches {
            match best.iter().find(|(f, _)| *f == feed) {
                None => best.push((feed, score)),
                Some(&(_, top)) if top - score <= AMBIGUOUS && !ambiguous.contains(&feed) => {
                    ambiguous.push(feed);
                }
                Some(_) => {}
            }
        }
        self.matches
            .into_iter()
            .filter(|m| !ambiguous.contains(&m.2))
            .map(|m| m.1)
            .collect()
    }
}

/// What a [`Store`] keeps between documents: the index, and where the window
/// of the last document started.
#[derive(Default)]
pub(crate) struct State {
    index: Option<Index>,
    /// `(since, first id)` of the last document's window.
    last_window: Option<(i64, i64)>,
}

/// The near window of one document: items first seen since `since`, whose
/// ids are at least the first such item's (ids grow with time). Looked up once
/// per document (or reused from one that started less than a minute earlier;
/// the exact window is still checked on each candidate).
pub(super) struct Window<'a> {
    since: i64,
    first_id: Option<Option<i64>>,
    state: &'a mut State,
}

impl<'a> Window<'a> {
    pub fn new(since: i64, state: &'a mut State) -> Window<'a> {
        let first_id = state
            .last_window
            .filter(|(s, _)| (0..60).contains(&(since - s)))
            .map(|(_, id)| Some(id));
        Window {
            since,
            first_id,
            state,
        }
    }

    fn first_id(&mut self, tx: &Connection) -> Result<Option<i64>, StoreError> {
        if self.first_id.is_none() {
            let id: Option<i64> = tx
                .prepare_cached(
                    "SELECT id FROM items WHERE first_seen_at >= ?1
                     ORDER BY first_seen_at, id LIMIT 1",
                )
                .and_then(|mut s| s.query_row([self.since], |r| r.get(0)).optional())
                .map_err(ctx("matching near-duplicate stories"))?;
            self.first_id = Some(id);
            // Nothing is kept while the window is empty: an item stored a
            // second later must be found.
            if let Some(id) = id {
                self.state.last_window = Some((self.since, id));
            }
        }
        Ok(self.first_id.flatten())
    }

    /// The index, built or rebuilt as needed: once a day, to drop the items
    /// that left the window, and when the window grew (a longer `near_window`).
    fn index(&mut self, tx: &Connection) -> Result<&mut Index, StoreError> {
        let stale = self
            .state
            .index
            .as_ref()
            .is_none_or(|i| self.since - i.since > REBUILD_AFTER || i.since - self.since > 60);
        if stale {
            let first = self.first_id(tx)?;
            self.state.index = Some(Index::build(tx, self.since, first)?);
        }
        Ok(self.state.index.as_mut().expect("built"))
    }

    /// The index, when it has been built (for storing an item's anchors).
    pub fn built_index(&mut self) -> Option<&mut Index> {
        self.state.index.as_mut()
    }
}

/// The index is rebuilt when its window started this long before the current one.
const REBUILD_AFTER: i64 = 86_400;

/// Additions kept apart from the sorted entries of the [`Index`] before being
/// merged into them.
const RECENT: usize = 4096;

/// The anchors of the fingerprints of items first seen within a near window:
/// entries `anchor << 32 | (item_id - base) << 8 | feed tag`, sorted (an
/// anchor's items by id: its oldest and newest are found without reading the
/// others), and recent additions. The feed tag (the feed id's low 8 bits) lets
/// candidates of other feeds be judged first.
pub(crate) struct Index {
    /// Start of the window it was built for.
    since: i64,
    /// Lowest item id it covers.
    base: i64,
    sorted: Vec<u64>,
    recent: Vec<u64>,
    /// The story and title of items a hub's sample named, or stored since
    /// it was built (see [`hub_story_items`]): at most [`ROWS`].
    rows: HashMap<i64, HubRow>,
    /// Hub anchors last judged [`common_feature`]s, with how many items they
    /// listed then: judged again once they list [`REJUDGE`] more.
    common: HashMap<u32, usize>,
}

/// Items a [`common_feature`] gains before it is judged again (a footer first
/// seen on unrelated posts may become a wire story's, its copies carrying
/// it): judging one at every lookup (25 items' stories and titles) made a
/// cold poll a fifth more costly, and remembering the verdict until the index
/// was rebuilt split a long-running daemon's late copies of such a story.
const REJUDGE: usize = 6;

/// An item's story and title words, kept by the [`Index`] (an item's story
/// never changes; its title may, and [`replace`] forgets it then).
struct HubRow {
    story: Option<i64>,
    title: TitleWords,
}

/// Items whose [`HubRow`] the index keeps at most (about 150 bytes each): past
/// it, it forgets them all and reads them again as needed.
const ROWS: usize = 8192;

impl Index {
    /// Keeps `item`'s story and title (see [`HubRow`]).
    fn remember(&mut self, item: i64, story: Option<i64>, title: Option<&str>) {
        if self.rows.len() >= ROWS {
            self.rows.clear();
        }
        self.rows.insert(
            item,
            HubRow {
                story,
                title: TitleWords::new(title),
            },
        );
    }
}

impl Index {
    /// Reads the anchors of every item from `first_id` on (none when the window
    /// is empty: then from the next item stored).
    fn build(tx: &Connection, since: i64, first_id: Option<i64>) -> Result<Index, StoreError> {
        let what = "indexing near-duplicate fingerprints";
        let base = match first_id {
            Some(id) => id,
            None => tx
                .query_row("SELECT COALESCE(max(id), 0) + 1 FROM items", [], |r| {
                    r.get(0)
                })
                .map_err(ctx(what))?,
        };
        let mut sorted = Vec::new();
        let mut s = tx
            .prepare_cached(
                "SELECT item_id, feed_id, fingerprint FROM near_items WHERE item_id >= ?1",
            )
            .map_err(ctx(what))?;
        let mut rows = s.query([base]).map_err(ctx(what))?;
        while let Some(r) = rows.next().map_err(ctx(what))? {
            let id: i64 = r.get(0).map_err(ctx(what))?;
            let feed: i64 = r.get(1).map_err(ctx(what))?;
            let blob = r.get_ref(2).map_err(ctx(what))?;
            let Ok(bytes) = blob.as_blob() else { continue };
            if let Some(low) = entry_low(id - base, feed) {
                for a in similar::stored_anchors(bytes) {
                    sorted.push(u64::from(a) << 32 | low);
                }
            }
        }
        sorted.sort_unstable();
        Ok(Index {
            since,
            base,
            sorted,
            recent: Vec::new(),
            rows: HashMap::new(),
            common: HashMap::new(),
        })
    }

    fn add<'a>(&mut self, anchors: impl Iterator<Item = &'a u32>, item_id: i64, feed_id: i64) {
        let Some(low) = entry_low(item_id - self.base, feed_id) else {
            return;
        };
        for a in anchors {
            let e = u64::from(*a) << 32 | low;
            let at = self.recent.partition_point(|&x| x < e);
            self.recent.insert(at, e);
        }
        if self.recent.len() > RECENT {
            let mut merged = Vec::with_capacity(self.sorted.len() + self.recent.len());
            let (mut a, mut b) = (self.sorted.iter().peekable(), self.recent.iter().peekable());
            while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
                if x <= y {
                    merged.push(x);
                    a.next();
                } else {
                    merged.push(y);
                    b.next();
                }
            }
            merged.extend(a);
            merged.extend(b);
            self.sorted = merged;
            self.recent.clear();
        }
    }

    /// The items of an anchor with ids at least `first_id`, with their feed
    /// tags: at most `limit` of them (a lookup needs no more than one past
    /// [`HUB`] to know a hub; the index is rebuilt from every stored
    /// fingerprint, so a common anchor can list thousands).
    fn items(&self, anchor: u32, first_id: i64, out: &mut Vec<(i64, u8)>, limit: usize) {
        for list in [&self.sorted, &self.recent] {
            for &e in self.range(list, anchor, first_id) {
                if out.len() >= limit {
                    return;
                }
                out.push(self.item_of(e));
            }
        }
    }

    /// The entries of `list` of `anchor` with ids at least `first_id`.
    fn range<'l>(&self, list: &'l [u64], anchor: u32, first_id: i64) -> &'l [u64] {
        let lo = u64::from(anchor) << 32;
        let from = (first_id - self.base).clamp(0, 1 << 24) as u64;
        let start = list.partition_point(|&x| x < lo | from << 8);
        let end = list.partition_point(|&x| x < (u64::from(anchor) + 1) << 32);
        &list[start..end.max(start)]
    }

    /// How many items of `anchor` have ids at least `first_id`.
    fn count(&self, anchor: u32, first_id: i64) -> usize {
        self.range(&self.sorted, anchor, first_id).len()
            + self.range(&self.recent, anchor, first_id).len()
    }

    /// An entry's item id and feed tag.
    fn item_of(&self, e: u64) -> (i64, u8) {
        (self.base + ((e >> 8) & 0xff_ffff) as i64, e as u8)
    }
}

impl Index {
    /// The items a lookup judges a hub anchor by (see [`hub_story`]): its
    /// oldest 12 and newest 13 (of `HUB + 1`) with ids at least `first_id`.
    /// (Its first `HUB + 1` in the index's order were of the oldest copies:
    /// a follow-up never saw the one before it.) Found by their ids, both
    /// lists being sorted so: a common feature lists thousands, and reading
    /// them all for every lookup made a poll a third more costly.
    fn hub_sample(&self, anchor: u32, first_id: i64, out: &mut Vec<(i64, u8)>) {
        out.clear();
        let (a, b) = (
            self.range(&self.sorted, anchor, first_id),
            self.range(&self.recent, anchor, first_id),
        );
        let keep = HUB as usize + 1;
        if a.len() + b.len() <= keep {
            out.extend(a.iter().chain(b).map(|&e| self.item_of(e)));
            return;
        }
        let old = keep / 2;
        let (mut i, mut j) = (0, 0);
        while out.len() < old {
            let e = match (a.get(i), b.get(j)) {
                (Some(&x), Some(&y)) if x <= y => {
                    i += 1;
                    x
                }
                (_, Some(&y)) => {
                    j += 1;
                    y
                }
                (Some(&x), None) => {
                    i += 1;
                    x
                }
                (None, None) => break,
            };
            out.push(self.item_of(e));
        }
        let (mut i, mut j) = (a.len(), b.len());
        while out.len() < keep {
            let e = match (
                i.checked_sub(1).map(|k| a[k]),
                j.checked_sub(1).map(|k| b[k]),
            ) {
                (Some(x), Some(y)) if x >= y => {
                    i -= 1;
                    x
                }
                (_, Some(y)) => {
                    j -= 1;
                    y
                }
                (Some(x), None) => {
                    i -= 1;
                    x
                }
                (None, None) => break,
            };
            out.push(self.item_of(e));
        }
    }
}

/// The low 32 bits of an index entry: the item's offset from the index's base
/// (24 bits: `None` beyond, or below the base) and the feed tag.
fn entry_low(offset: i64, feed_id: i64) -> Option<u64> {
    let offset = u64::try_from(offset).ok().filter(|o| *o < 1 << 24)?;
    Some(offset << 8 | u64::from(feed_id as u8))
}

/// The story whose items listed under an anchor past [`HUB`] (`listed`: their
/// stories, and whether each is titled as the new item) are candidates for
/// the new item: of the items titled as it, the story holding the most (the oldest of a tie). Then
/// the anchor is that story's, not a feature too common to tell stories
/// apart. (A story carried by more than `HUB` feeds split: every copy past the
/// 25th was a story of its own; and once one feed re-posted it, or posted its
/// follow-up, the listed items were of two stories and it split again.) None
/// when no item listed is titled as the new one: a footer 60 feeds' posts
/// share, one story of them once merged, joined every post to it.
pub(super) fn hub_story(listed: impl Iterator<Item = (Option<i64>, bool)>) -> Option<i64> {
    let mut counts: Vec<(i64, usize)> = Vec::new();
    for (story, alike) in listed {
        let Some(story) = story else { continue };
        if !alike {
            continue;
        }
        match counts.iter_mut().find(|(s, _)| *s == story) {
            Some((_, n)) => *n += 1,
            None => counts.push((story, 1)),
        }
    }
    counts
        .into_iter()
        .max_by(|(s1, n1), (s2, n2)| n1.cmp(n2).then(s2.cmp(s1)))
        .map(|(s, _)| s)
}

/// Whether a hub's items sampled (their stories) are of so many stories
/// that the anchor is a feature common to unrelated posts (a phrase, a
/// footer): no story holds more than [`COMMON_MOST`] of them. Such an
/// anchor lists no candidates, not even by title. SQLite's index judges one
/// again once it lists [`REJUDGE`] more items, from the stories and titles
/// it keeps ([`HubRow`]): reading them for every new item (25 rows and
/// title comparisons per hub anchor) made a cold poll 2.5 times as costly.
pub(super) fn common_feature(stories: impl Iterator<Item = Option<i64>>) -> bool {
    let mut counts: Vec<(i64, usize)> = Vec::new();
    let mut sampled = 0;
    for story in stories {
        sampled += 1;
        let Some(story) = story else { continue };
        match counts.iter_mut().find(|(s, _)| *s == story) {
            Some((_, n)) => *n += 1,
            None => counts.push((story, 1)),
        }
    }
    sampled > HUB && counts.iter().all(|(_, n)| *n <= COMMON_MOST)
}

/// Items of one story a [`common_feature`]'s sample holds at most.
const COMMON_MOST: usize = 2;

/// [`hub_story`] for the items `list` names (their stories and titles read
/// once and kept by `index`), and the items of that story; `None` when they
/// are a [`common_feature`].
fn hub_story_items(
    tx: &Connection,
    index: &mut Index,
    list: &[(i64, u8)],
    title: &TitleWords,
) -> Result<Option<Vec<(i64, u8)>>, StoreError> {
    let mut read = tx
        .prepare_cached("SELECT story_id, title FROM items WHERE id = ?1")
        .map_err(ctx("matching near-duplicate stories"))?;
    let mut rows = Vec::with_capacity(list.len());
    for (item, tag) in list {
        if !index.rows.contains_key(item) {
            let row: Option<(Option<i64>, Option<String>)> = read
                .query_row([item], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(ctx("matching near-duplicate stories"))?;
            let Some((story, other)) = row else { continue };
            index.remember(*item, story, other.as_deref());
        }
        if let Some(row) = index.rows.get(item) {
            rows.push((*item, *tag, row.story, title.alike_words(&row.title)));
        }
    }
    if common_feature(rows.iter().map(|r| r.2)) {
        return Ok(None);
    }
    let Some(story) = hub_story(rows.iter().map(|r| (r.2, r.3))) else {
        return Ok(Some(Vec::new()));
    };
    Ok(Some(
        rows.into_iter()
            .filter(|r| r.2 == Some(story))
            .map(|r| (r.0, r.1))
            .collect(),
    ))
}

/// The story of another feed's item that is a copy of `it` (the most similar
/// one), first seen within the window, that has no item of this feed yet.
pub(super) fn find_story(
    tx: &Connection,
    feed_id: i64,
    it: &Identified,
    fp: &Fingerprint,
    window: &mut Window,
) -> Result<Option<i64>, StoreError> {
    let what = "matching near-duplicate stories";
    let since = window.since;
    let Some(first_id) = window.first_id(tx)? else {
        return Ok(None);
    };
    let index = window.index(tx)?;
    // Candidates: items listed under the anchors (the tag: probably of
    // another feed).
    let mut candidates = Candidates::default();
    let mut list = Vec::new();
    let mut title = None;
    for a in &fp.anchors {
        list.clear();
        index.items(*a, first_id, &mut list, HUB as usize + 1);
        let hub = list.len() as i64 > HUB;
        if hub {
            let listed = index.count(*a, first_id);
            if index.common.get(a).is_some_and(|n| listed < n + REJUDGE) {
                continue;
            }
            index.hub_sample(*a, first_id, &mut list);
            let title = title.get_or_insert_with(|| TitleWords::new(it.entry.title.as_deref()));
            let Some(of_story) = hub_story_items(tx, index, &list, title)? else {
                index.common.insert(*a, listed);
                continue;
            };
            index.common.remove(a);
            list = of_story;
            if list.is_empty() {
                continue;
            }
        }
        for (item, tag) in &list {
            candidates.add(*item, *tag != feed_id as u8, hub);
        }
    }
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut judge = Judge::new(it, fp, feed_id, since);
    {
        let mut read = tx
            .prepare_cached(
                "SELECT feed_id, first_seen_at, fingerprint FROM near_items WHERE item_id = ?1",
            )
            .map_err(ctx(what))?;
        for (item, min) in candidates.best() {
            let row: Option<(i64, i64, Vec<u8>)> = read
                .query_row([item], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
                .map_err(ctx(what))?;
            if let Some((other_feed, seen, blob)) = row {
                judge.consider_at_least(item, other_feed, seen, &blob, min);
            }
        }
    }
    if !judge.own_copies().is_empty() {
        let mut title = tx
            .prepare_cached("SELECT title FROM items WHERE id = ?1")
            .map_err(ctx(what))?;
        for item in judge.own_copies() {
            let t: Option<String> = title
                .query_row([item], |r| r.get(0))
                .optional()
                .map_err(ctx(what))?
                .flatten();
            if t.as_deref() != it.entry.title.as_deref() {
                return Ok(None);
            }
        }
    }
    let mut rejected = Vec::new();
    if !judge.rejected().is_empty() {
        let mut story_of = tx
            .prepare_cached("SELECT story_id FROM items WHERE id = ?1")
            .map_err(ctx(what))?;
        for item in judge.rejected() {
            let s: Option<i64> = story_of
                .query_row([item], |r| r.get(0))
                .optional()
                .map_err(ctx(what))?
                .flatten();
            rejected.extend(s);
        }
    }
    let mut story = tx
        .prepare_cached(
            "SELECT i.story_id, s.first_seen_at,
                    EXISTS (SELECT 1 FROM items j WHERE j.story_id = i.story_id AND j.feed_id = ?2),
                    i.title
             FROM items i JOIN stories s ON s.id = i.story_id WHERE i.id = ?1",
        )
        .map_err(ctx(what))?;
    let mut matches = Vec::new();
    let new_headline = it.entry.title.as_deref().unwrap_or("");
    for (item, look) in judge.into_look_ups() {
        let row: Option<(i64, i64, bool, Option<String>)> = story
            .query_row(params![item, feed_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(ctx(what))?;
        if let Some((story, first_seen, own_feed, title)) = row {
            let found = Matched {
                story,
                first_seen,
                own_feed,
                swapped: false,
            };
            let title = title.as_deref().unwrap_or("");
            judged(
                &look,
                new_headline,
                found,
                title,
                &mut matches,
                &mut rejected,
            );
        }
    }
    Ok(choose(&matches, &rejected, since))
}

impl Store {
    /// Computes the fingerprints of the items stored before version 4 (and the
    /// `text_hash` of items from version 1), newest first, in transactions of
    /// [`BACKFILL_BATCH`] items. Driven by a row of `store_tasks`, so once done
    /// it costs one lookup in a tiny table per open.
    pub(super) fn backfill_near(&mut self) -> Result<(), StoreError> {
        let what = "fingerprinting stored items";
        loop {
            let tx = self.conn.transaction().map_err(ctx(what))?;
            let cursor: Option<i64> = tx
                .query_row(
                    "SELECT cursor FROM store_tasks WHERE task = ?1",
                    [TASK],
                    |r| r.get(0),
                )
                .optional()
                .map_err(ctx(what))?;
            let Some(cursor) = cursor else {
                return Ok(());
            };
            type Row = (
                i64,
                i64,
                i64,
                Option<String>,
                Option<String>,
                Option<String>,
            );
            let rows: Vec<Row> = tx
                .prepare_cached(
                    "SELECT id, feed_id, first_seen_at, title, COALESCE(content, summary),
                            text_hash
                     FROM items WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![cursor, BACKFILL_BATCH], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    })?
                    .collect()
                })
                .map_err(ctx(what))?;
            let Some(last) = rows.last().map(|r| r.0) else {
                tx.execute("DELETE FROM store_tasks WHERE task = ?1", [TASK])
                    .map_err(ctx(what))?;
                tx.commit().map_err(ctx(what))?;
                return Ok(());
            };
            for (id, feed_id, first_seen_at, title, body, text_hash) in rows {
                let title = title.unwrap_or_default();
                let body = body.unwrap_or_default();
                if text_hash.is_none() {
                    tx.prepare_cached("UPDATE items SET text_hash = ?2 WHERE id = ?1")
                        .and_then(|mut s| {
                            s.execute(params![id, crate::identity::short_hash(&[&title, &body])])
                        })
                        .map_err(ctx(what))?;
                }
                if let Some(fp) = similar::fingerprint(&title, &body) {
                    insert(&tx, id, feed_id, first_seen_at, &fp, None)?;
                }
            }
            tx.execute(
                "UPDATE store_tasks SET cursor = ?2 WHERE task = ?1",
                params![TASK, last],
            )
            .map_err(ctx(what))?;
            tx.commit().map_err(ctx(what))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::Connection;

    use super::*;
    use crate::config;
    use crate::identity::identify_document;
    use crate::parse::Entry;
    use crate::store::MIGRATIONS;
    use crate::store::feeds::{FeedRef, FetchRecord, Reschedule};
    use crate::store::items::{DocumentMeta, StoryRules};

    const LEDE: &str = "A powerful overnight storm brought down trees and power lines along the \
                        northern coast, leaving about 40,000 homes without electricity, the \
                        regional utility said on Tuesday.";
    const MORE: &str = "Crews from three neighbouring provinces were sent to help restore \
                        service, which the company expects to complete by Thursday evening.";
    const LAST: &str = "Several coastal roads remain closed because of fallen trees and \
                        flooding, and schools in four towns cancelled classes for the day.";

    fn feeds(store: &mut Store) -> Vec<FeedRef> {
        let cfg = config::parse(
            "[[feed]]\nurl = \"https://a.example/f\"\n[[feed]]\nurl = \"https://b.example/f\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        store.sync_config(&cfg.feeds).unwrap()
    }

    /// `n` feeds, `https://f{i}.example/f`, in `store`.
    fn many_feeds(store: &mut Store, n: usize) -> Vec<FeedRef> {
        let cfg = config::parse(
            &(0..n)
                .map(|i| format!("[[feed]]\nurl = \"https://f{i}.example/f\"\n"))
                .collect::<String>(),
            Path::new("x.toml"),
        )
        .unwrap();
        store.sync_config(&cfg.feeds).unwrap()
    }

    fn store_one(
        store: &mut Store,
        feed: &FeedRef,
        guid: &str,
        title: &str,
        body: &str,
        on: bool,
    ) -> usize {
        let items = identify_document(vec![Entry {
            guid: Some(guid.into()),
            link: Some(format!("https://{}/{guid}", feed.url.host_str().unwrap())),
            title: Some(title.into()),
            content: Some(body.into()),
            ..Entry::default()
        }]);
        let rec = FetchRecord {
            started_at: crate::now_unix(),
            ..FetchRecord::default()
        };
        let rules = StoryRules {
            near_duplicates: on,
            ..StoryRules::default()
        };
        store
            .apply_document(
                feed,
                &rec,
                &Default::default(),
                &DocumentMeta::default(),
                &items,
                &Reschedule::default(),
                &rules,
            )
            .unwrap()
            .joined
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// A story carried by more feeds than [`HUB`]: its anchors list only its
    /// own copies, so they are still candidates (every copy past the 25th was
    /// a story of its own). Another story sharing a hub of many stories
    /// still does not join through it.
    #[test]
    fn a_story_carried_by_more_feeds_than_a_hub_holds_stays_one() {
        let mut store = Store::open_in_memory().unwrap();
        let f = many_feeds(&mut store, 60);
        let full = format!("<p>{LEDE}</p><p>{MORE}</p><p>{LAST}</p>");
        for (n, feed) in f.iter().enumerate() {
            store_one(
                &mut store,
                feed,
                &format!("w{n}"),
                "Storm cuts power",
                &full,
                true,
            );
        }
        assert_eq!(count(&store, "SELECT count(*) FROM items"), 60);
        assert_eq!(
            count(&store, "SELECT count(DISTINCT story_id) FROM items"),
            1
        );
        // Posts of other titles sharing a long footer: once merged into one
        // story they made its anchors no hub, and every post joined it.
        let mut store = Store::open_in_memory().unwrap();
        let f = many_feeds(&mut store, 60);
        let mut word = made_up_words(7);
        let footer: Vec<String> = (0..200).map(|_| word()).collect();
        let footer = format!("<p>Subscribe to our newsletter. {}.</p>", footer.join(" "));
        for (n, feed) in f.iter().enumerate() {
            let own: Vec<String> = (0..10).map(|_| word()).collect();
            let title = own[..4].join(" ");
            let body = format!("<p>{}.</p>{footer}", own.join(" "));
            store_one(&mut store, feed, &format!("b{n}"), &title, &body, true);
        }
        let largest = count(
            &store,
            "SELECT max(c) FROM (SELECT count(*) AS c FROM items GROUP BY story_id)",
        );
        let stories = count(&store, "SELECT count(DISTINCT story_id) FROM items");
        assert!(
            largest <= HUB + 1,
            "{largest} posts in one story of {stories}"
        );
        let short_footer: Vec<String> = (0..90).map(|_| word()).collect();
        let short_footer = format!(
            "<p>Subscribe to our newsletter. {}.</p>",
            short_footer.join(" ")
        );
        // The same with one generic title for every post ("Weekly update"):
        // a hub's items of that title are no copies (they were merged into
        // stories of 33).
        let mut store = Store::open_in_memory().unwrap();
        let f = many_feeds(&mut store, 60);
        for (n, feed) in f.iter().enumerate() {
            let own: Vec<String> = (0..70).map(|_| word()).collect();
            let body = format!("<p>{}.</p>{short_footer}", own.join(" "));
            store_one(
                &mut store,
                feed,
                &format!("g{n}"),
                "Weekly update",
                &body,
                true,
            );
        }
        let largest = count(
            &store,
            "SELECT max(c) FROM (SELECT count(*) AS c FROM items GROUP BY story_id)",
        );
        // (Below the hub limit such posts still merge by their footer, as
        // before: a few each.)
        assert!(
            largest <= 12,
            "{largest} posts of one generic title in one story"
        );
    }

    /// Words drawn from a made-up vocabulary, as in prose.
    fn made_up_words(mut seed: u64) -> impl FnMut() -> String {
        let syllables = [
            "ka", "lo", "mi", "ter", "ban", "dor", "sel", "vin", "pra", "gus", "tem", "ril", "xo",
            "nef", "qua", "bri", "sto", "len",
        ];
        move || {
            let mut w = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for k in 0..(2 + (seed >> 60) % 3) {
                w.push_str(syllables[((seed >> (8 * k + 8)) % 18) as usize]);
            }
            w
        }
    }

    /// A footer unrelated posts share gives no candidates while their many
    /// stories hold it, and a copy of one of those posts still joins its
    /// story by its own text. Once the copies of a wire story carrying the
    /// footer hold it too, late copies with the footer join through it:
    /// remembered as common for the index's life, each split off (the
    /// copies without the footer are less alike than a hub's candidate
    /// must be). A story carried by more feeds than a hub holds stays one.
    #[test]
    fn a_footer_taken_over_by_a_story_finds_its_late_copies() {
        let mut store = Store::open_in_memory().unwrap();
        let f = many_feeds(&mut store, 70);
        let mut word = made_up_words(11);
        let mut text = |n: usize| (0..n).map(|_| word()).collect::<Vec<_>>().join(" ");
        let footer = format!("<p>Support our journalism. {}.</p>", text(110));
        let mut posts = Vec::new();
        for (n, feed) in f[..30].iter().enumerate() {
            let own = text(60);
            let title = own.split(' ').take(4).collect::<Vec<_>>().join(" ");
            let body = format!("<p>{own}.</p>{footer}");
            store_one(&mut store, feed, &format!("p{n}"), &title, &body, true);
            posts.push((title, body));
        }
        let stories = count(&store, "SELECT count(DISTINCT story_id) FROM items");
        // A copy of the 20th post, in another feed: it joins that post's story.
        let (title, body) = &posts[20];
        assert_eq!(store_one(&mut store, &f[69], "copy", title, body, true), 1);
        assert_eq!(
            count(&store, "SELECT count(DISTINCT story_id) FROM items"),
            stories
        );
        // The wire story: 20 copies (5 with the footer), 12 without, 6 late
        // ones with it.
        let wire = format!(
            "<p>{}.</p><p>{}.</p><p>{}.</p>",
            text(60),
            text(60),
            text(50)
        );
        let with_footer = format!("{wire}{footer}");
        let title = "Ferry crossings suspended after hull damage";
        for (k, feed) in f[30..68].iter().enumerate() {
            let footed = (k < 20 && k % 4 == 1) || k >= 32;
            let body = if footed { &with_footer } else { &wire };
            store_one(&mut store, feed, &format!("w{k}"), title, body, true);
        }
        assert_eq!(
            count(
                &store,
                "SELECT count(DISTINCT story_id) FROM items WHERE guid LIKE 'w%'"
            ),
            1
        );
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM items WHERE guid LIKE 'p%' AND story_id IN
                     (SELECT story_id FROM items WHERE guid = 'w0')"
            ),
            0
        );
    }

    /// Past the hub limit, a story re-posted by one of its feeds (a new guid
    /// and link), or followed up by each feed under a new headline, stays
    /// one story, and so does its follow-up: the listed items were of two
    /// stories, and every later copy split into a story of its own.
    #[test]
    fn a_repost_or_follow_up_past_the_hub_limit_splits_no_story() {
        let mut store = Store::open_in_memory().unwrap();
        let f = many_feeds(&mut store, 50);
        let full = format!("<p>{LEDE}</p><p>{MORE}</p><p>{LAST}</p>");
        for (n, feed) in f[..30].iter().enumerate() {
            store_one(
                &mut store,
                feed,
                &format!("w{n}"),
                "Storm cuts power",
                &full,
                true,
            );
        }
        // One feed of the first listed moves the story to another section.
        store_one(&mut store, &f[2], "moved", "Storm cuts power", &full, true);
        // Each of the first 30 posts a follow-up: the story and a paragraph.
        let update = format!(
            "{full}<p>By evening the utility said power was back for most homes, \
             though a few hundred households on the islands would wait until \
             the weekend for ferries to bring crews across.</p>"
        );
        for (n, feed) in f[..30].iter().enumerate() {
            store_one(
                &mut store,
                feed,
                &format!("u{n}"),
                "Power back for most homes",
                &update,
                true,
            );
        }
        // Then feeds that carry the story late.
        for (n, feed) in f[30..].iter().enumerate() {
            store_one(
                &mut store,
                feed,
                &format!("l{n}"),
                "Storm cuts power",
                &full,
                true,
            );
        }
        let sizes: Vec<i64> = store
            .conn()
            .prepare("SELECT count(*) FROM items GROUP BY story_id ORDER BY 1 DESC")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // The story with its late copies, the follow-up, the moved copy.
        assert_eq!(sizes, [50, 30, 1], "items per story");
    }

    #[test]
    fn a_cut_copy_in_another_feed_joins_and_off_stores_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feeds(&mut store);
        let full = format!("<p>{LEDE}</p><p>{MORE}</p><p>{LAST}</p>");
        assert_eq!(
            store_one(&mut store, &f[0], "1", "Storm cuts power", &full, true),
            0
        );
        assert_eq!(count(&store, "SELECT count(*) FROM near_items"), 1);
        // A copy cut to its first paragraph, under a dateline and another headline.
        let cut = format!("<p>NORTH BAY (Wire) - {LEDE}</p>");
        assert_eq!(
            store_one(
                &mut store,
                &f[1],
                "2",
                "40,000 homes in the dark",
                &cut,
                true
            ),
            1
        );
        assert_eq!(count(&store, "SELECT count(*) FROM stories"), 1);
        assert_eq!(count(&store, "SELECT item_count FROM stories"), 2);

        // With near-duplicates off, a new item is neither matched nor indexed.
        let other = format!("<p>{MORE} {LAST}</p><p>{LEDE}</p>");
        assert_eq!(store_one(&mut store, &f[1], "3", "Storm", &other, false), 0);
        assert_eq!(count(&store, "SELECT count(*) FROM near_items"), 2);
        assert_eq!(count(&store, "SELECT count(*) FROM stories"), 2);
    }

    #[test]
    fn the_index_keeps_anchors_sorted_across_merges() {
        let mut index = Index {
            since: 0,
            base: 100,
            sorted: Vec::new(),
            recent: Vec::new(),
            rows: HashMap::new(),
            common: HashMap::new(),
        };
        for id in 100..100 + RECENT as i64 * 2 {
            index.add([7u32, (id % 5) as u32].iter(), id, id % 3);
        }
        assert!(index.recent.len() <= RECENT);
        assert!(index.sorted.windows(2).all(|w| w[0] <= w[1]));
        let mut out = Vec::new();
        index.items(7, 150, &mut out, usize::MAX);
        assert_eq!(out.len(), RECENT * 2 - 50, "every item from id 150 on");
        assert!(out.iter().all(|(id, tag)| i64::from(*tag) == id % 3));
        out.clear();
        index.items(7, 150, &mut out, 25);
        assert_eq!(out.len(), 25, "no more than asked for");
        assert!(out.iter().all(|(id, _)| *id >= 150));
        out.clear();
        index.items(3, 0, &mut out, usize::MAX);
        assert!(out.iter().all(|(id, _)| id % 5 == 3));
        // A hub's sample: its oldest 12 and newest 13 from `first_id` on,
        // across the sorted entries and the recent ones.
        index.hub_sample(7, 150, &mut out);
        let last = 100 + RECENT as i64 * 2;
        let mut ids: Vec<i64> = out.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        let expected: Vec<i64> = (150..162).chain(last - 13..last).collect();
        assert_eq!(ids, expected);
        assert!(out.iter().all(|(id, tag)| i64::from(*tag) == id % 3));
        // Ids below the index's base or too far above it are not indexed.
        index.add([9u32].iter(), 99, 1);
        index.add([9u32].iter(), 100 + (1 << 24), 1);
        out.clear();
        index.items(9, 0, &mut out, usize::MAX);
        assert!(out.is_empty());
    }

    #[test]
    fn hub_anchors_are_skipped_and_still_listed() {
        let mut store = Store::open_in_memory().unwrap();
        let f = feeds(&mut store);
        let full = format!("<p>{LEDE}</p><p>{MORE}</p><p>{LAST}</p>");
        store_one(&mut store, &f[0], "1", "Storm cuts power", &full, true);
        let blob: Vec<u8> = store
            .conn()
            .query_row("SELECT fingerprint FROM near_items", [], |r| r.get(0))
            .unwrap();
        let anchors: Vec<u32> = similar::stored_anchors(&blob).collect();
        assert!(anchors.len() >= 2, "{anchors:?}");
        // Every anchor but one becomes a hub: HUB other recent items share it.
        {
            let since = crate::now_unix() - StoryRules::default().near_window;
            let mut window = Window::new(since, &mut store.near);
            let index = window.index(&store.conn).unwrap();
            for (n, a) in anchors.iter().skip(1).enumerate() {
                for k in 0..HUB {
                    index.add([*a].iter(), 1000 + n as i64 * 100 + k, 7);
                }
            }
        }
        // The copy is found through the one anchor left...
        let copy = format!("<p>{LEDE}</p><p>{MORE}</p>");
        assert_eq!(
            store_one(
                &mut store,
                &f[1],
                "2",
                "Storm cuts power to 40,000",
                &copy,
                true
            ),
            1
        );
        // ...and is added to the hub lists too (a follow-up's next copy finds
        // it there, see `hub_story`).
        let copy_id: i64 = store
            .conn()
            .query_row("SELECT id FROM items WHERE guid = '2'", [], |r| r.get(0))
            .unwrap();
        let index = store.near.index.as_ref().unwrap();
        let mut out = Vec::new();
        for a in anchors.iter().skip(1) {
            out.clear();
            index.items(*a, 0, &mut out, usize::MAX);
            assert!(
                out.iter().any(|(id, _)| *id == copy_id),
                "the copy is not in a hub list"
            );
        }
        out.clear();
        index.items(anchors[0], 0, &mut out, usize::MAX);
        assert!(out.iter().any(|(id, _)| *id == copy_id));
    }

    /// A version-3 store (as feedloom wrote it before this format) is upgraded
    /// in place: the old band table goes, every item gets the new fingerprint,
    /// and a copy arriving afterwards joins the story of an upgraded item.
    #[test]
    fn a_version_3_store_is_upgraded_and_its_copies_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        let full = format!("<p>{LEDE}</p><p>{MORE}</p><p>{LAST}</p>");
        let now = crate::now_unix();
        {
            let conn = Connection::open(&path).unwrap();
            for (_, sql) in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch("PRAGMA user_version = 3").unwrap();
            conn.execute(
                "INSERT INTO feeds (id, url, created_at) VALUES (1, 'https://a.example/f', 0),
                     (2, 'https://b.example/f', 0)",
                [],
            )
            .unwrap();
            for (id, title, body) in [
                (1, "Storm cuts power", full.as_str()),
                (2, "Short", "Too short"),
                (
                    3,
                    "Council approves the budget for roads",
                    "<p>The council approved the budget for roads and schools on Monday after a long debate.</p>",
                ),
            ] {
                conn.execute(
                    "INSERT INTO stories (id, uid, first_seen_at, changed_at) VALUES (?1, ?2, ?3, ?3)",
                    params![id, format!("urn:feedloom:{id}"), now - 60],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO items (id, feed_id, key, key_kind, uid, guid, title, content,
                         content_hash, first_seen_at, last_seen_at, changed_at, story_id,
                         text_hash, fingerprint, fingerprint_keys)
                     VALUES (?1, 1, ?2, 'guid', ?3, ?1, ?4, ?5, 'h', ?6, ?6, ?6, ?1, 't', 12345, '1')",
                    params![id, format!("guid:{id}"), format!("urn:feedloom:{id}"), title, body, now - 60],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO fingerprint_bands (band, value, item_id, fingerprint) VALUES (0, 12345, ?1, 12345)",
                    [id],
                )
                .unwrap();
            }
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u32);
        let tables = count(
            &store,
            "SELECT count(*) FROM sqlite_master WHERE name = 'fingerprint_bands'",
        );
        assert_eq!(tables, 0, "the version-3 band table is gone");
        assert_eq!(
            count(&store, "SELECT count(*) FROM near_items"),
            2,
            "the short item has none"
        );
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM store_tasks WHERE task = 'near_fingerprints'"
            ),
            0,
            "nothing left to do"
        );
        let stored = count(&store, "SELECT item_id FROM near_items WHERE item_id = 1");
        assert_eq!(stored, 1);
        let f = feeds(&mut store);
        let cut = format!("<p>(Budapest) {LEDE}</p><p>{MORE}</p>");
        assert_eq!(
            store_one(&mut store, &f[1], "9", "Power cut by storm", &cut, true),
            1
        );
        assert_eq!(
            count(&store, "SELECT item_count FROM stories WHERE id = 1"),
            2
        );
        drop(store);
        // Reopening does no more work: the task is gone.
        let store = Store::open(&path).unwrap();
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM store_tasks WHERE task = 'near_fingerprints'"
            ),
            0
        );
        assert_eq!(count(&store, "SELECT count(*) FROM near_items"), 3);
    }

    /// The recomputation after an upgrade goes newest first and resumes where a
    /// previous open stopped.
    #[test]
    fn an_interrupted_recomputation_carries_on_from_its_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        {
            let mut store = Store::open(&path).unwrap();
            let f = feeds(&mut store);
            for i in 0..5 {
                let body = format!("<p>Item {i}: {LEDE}</p><p>{MORE}</p>");
                store_one(
                    &mut store,
                    &f[0],
                    &i.to_string(),
                    &format!("Story {i}"),
                    &body,
                    false,
                );
            }
            assert_eq!(count(&store, "SELECT count(*) FROM near_items"), 0);
            // As if a recomputation had done the items from id 4 up and stopped.
            store
                .conn()
                .execute(
                    "INSERT INTO store_tasks (task, cursor) VALUES ('near_fingerprints', 4)",
                    [],
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let done: Vec<i64> = {
            let mut s = store
                .conn()
                .prepare("SELECT item_id FROM near_items ORDER BY item_id")
                .unwrap();
            s.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(done, [1, 2, 3]);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM store_tasks WHERE task = 'near_fingerprints'"
            ),
            0
        );
    }
}
