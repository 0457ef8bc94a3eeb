//! The read side on PostgreSQL: what outputs, pages, `/metrics` and the
//! read-only commands show, as the SQLite side shows it (same rows, same
//! order). [`PgReader`] runs these on a blocking thread for the synchronous
//! [`Reader`] interface.

use tokio_postgres::Row;

use super::PgStore;
use super::pool::Tx;
use crate::config::{Dedup, Updates};
use crate::error::StoreError;
use crate::store::Reader;
use crate::store::prune::{Pruned, Retention};
use crate::store::queries::{
    Cursor, FeedHealth, FeedProblem, FeedSummary, MetricsSnapshot, Source, Story, StoryQuery,
};
use crate::store::search::{
    Hit, MAX_MATCHES, SearchError, SearchQuery, Term, highlight, parse_query,
};

/// A [`Reader`] over a [`PgStore`], for a blocking thread of its runtime.
pub struct PgReader {
    pub(super) store: PgStore,
    pub(super) handle: tokio::runtime::Handle,
}

impl Reader for PgReader {
    fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        self.handle.block_on(self.store.stories(q))
    }
    fn search(
        &self,
        q: &SearchQuery,
        keep: &dyn Fn(&Story) -> Option<Story>,
    ) -> Result<Vec<Hit>, SearchError> {
        self.handle.block_on(self.store.search(q, keep))
    }
    fn feed_summaries(&self) -> Result<Vec<FeedSummary>, StoreError> {
        self.handle.block_on(self.store.feed_summaries())
    }
    fn synced_feeds(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        self.handle.block_on(self.store.synced_feeds())
    }
    fn moved_feeds(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.handle.block_on(self.store.moved_feeds())
    }
    fn latest_arrivals(
        &self,
        stories: &[i64],
    ) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        self.handle.block_on(self.store.latest_arrivals(stories))
    }
    fn feed_health(&self) -> Result<FeedHealth, StoreError> {
        self.handle.block_on(self.store.feed_health())
    }
    fn feeds_in_trouble(&self, worst: usize) -> Result<Vec<FeedProblem>, StoreError> {
        self.handle.block_on(self.store.feeds_in_trouble(worst))
    }
    fn metrics_snapshot(&self, now: i64) -> Result<MetricsSnapshot, StoreError> {
        self.handle.block_on(self.store.metrics_snapshot(now))
    }
    fn prune_preview(&self, now: i64, r: &Retention) -> Result<Pruned, StoreError> {
        self.handle.block_on(self.store.prune_preview(now, r))
    }
}

const ITEM_COLS: &str = "i.uid, i.url, i.title, i.author, COALESCE(i.content, i.summary),
     i.published_at, i.updated_at, i.first_seen_at, i.changed_at,
     f.url, COALESCE(f.title, f.feed_title), f.site_url, i.id,
     CASE WHEN i.content IS NOT NULL THEN i.summary END, i.enclosures";

fn story_row(r: &Row) -> Story {
    let link: Option<String> = r.get(1);
    Story {
        uid: r.get(0),
        link: link.clone(),
        title: r.get(2),
        author: r.get(3),
        html: r.get(4),
        published_at: r.get(5),
        updated_at: r.get(6),
        first_seen_at: r.get(7),
        changed_at: r.get(8),
        source: Source {
            feed_url: r.get(9),
            title: r.get(10),
            site_url: r.get(11),
            link,
        },
        also: Vec::new(),
        rest: Vec::new(),
        files_joined: false,
        id: r.get(12),
        summary: r.get(13),
        enclosures: crate::parse::enclosures::decode(
            r.try_get::<_, Option<&str>>(14).ok().flatten(),
        ),
    }
}

fn u32_of(v: i64) -> u32 {
    v.clamp(0, u32::MAX as i64) as u32
}

/// A tsquery for parsed terms: every term must occur; a phrase's words (and a
/// CJK run's pairs) in order; `word*` as a prefix. Lexemes are quoted, so
/// nothing a user types is tsquery syntax.
pub fn tsquery(terms: &[Term]) -> String {
    let lexeme = |w: &str| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"));
    let mut parts = Vec::new();
    for t in terms {
        // A phrase of such words (`经济 北京`): in order and adjacent,
        // written together or apart (see `parse_query`).
        if t.cjk && t.text.contains(' ') {
            let words: Vec<Vec<char>> = t.text.split(' ').map(|w| w.chars().collect()).collect();
            let (together, apart) = crate::store::search::cjk_phrase_forms(&words);
            let chain = |tokens: Vec<String>| {
                tokens
                    .iter()
                    .map(|t| lexeme(t))
                    .collect::<Vec<_>>()
                    .join(" <-> ")
            };
            parts.push(format!("(({}) | ({}))", chain(together), chain(apart)));
            continue;
        }
        if t.cjk {
            let chars: Vec<char> = t.text.chars().collect();
            if chars.len() == 1 {
                parts.push(format!("{}:*", lexeme(&t.text)));
            } else {
                let pairs: Vec<String> = chars
                    .windows(2)
                    .map(|p| lexeme(&p.iter().collect::<String>()))
                    .collect();
                parts.push(format!("({})", pairs.join(" <-> ")));
            }
            continue;
        }
        // Words as the index holds them (see `search_words`); an item
        // indexed before that holds accented words as they were, so a word
        // that folding changes is looked up in both forms.
        let form = |w: &str, star: &str| {
            let plain = w.to_lowercase();
            let folded = crate::store::search::search_words(w);
            let folded = folded.trim();
            if folded.is_empty() || folded.contains(' ') || folded == plain {
                format!("{}{star}", lexeme(&plain))
            } else {
                format!("({}{star} | {}{star})", lexeme(folded), lexeme(&plain))
            }
        };
        let words: Vec<&str> = t
            .text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        match words.len() {
            0 => {}
            1 if t.prefix => parts.push(form(words[0], ":*")),
            1 => parts.push(form(words[0], "")),
            // A word written with punctuation, or a phrase: its words in
            // order, as FTS5 matches it (the last one a prefix with `*`).
            n => parts.push(format!(
                "({})",
                words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| form(w, if t.prefix && i + 1 == n { ":*" } else { "" }))
                    .collect::<Vec<_>>()
                    .join(" <-> ")
            )),
        }
    }
    parts.join(" & ")
}

impl PgStore {
    async fn read_tx<T>(
        &self,
        f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool().get().await?;
        let mut tx = conn.tx().await?;
        let out = f(&mut tx).await?;
        tx.commit("reading").await?;
        Ok(out)
    }

    /// Stories newest first (as [`crate::store::Store::stories`]).
    pub async fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        let since = q.since.unwrap_or(i64::MIN);
        let before = q.before.unwrap_or(Cursor {
            at: i64::MAX,
            id: i64::MAX,
        });
        let order = match q.updates {
            Updates::Ignore => "first_seen_at",
            Updates::Reannounce => "changed_at",
        };
        let tags = q.tags.clone();
        let limit = q.limit.min(i64::MAX as usize) as i64;
        let min_sources = q.min_sources as i64;
        let feed_filter = "f.in_config = 1 AND (cardinality($2::text[]) = 0 OR f.id IN
             (SELECT feed_id FROM feed_tags WHERE tag = ANY($2)))";
        let c = "querying stories";
        self.read_tx(async |tx| match q.dedup {
            Dedup::Item => {
                let sql = format!(
                    "SELECT {ITEM_COLS} FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE i.{order} >= $1 AND (i.{order}, i.id) < ($4, $5) AND {feed_filter}
                       AND ($6::bigint <= 1 OR ((SELECT item_count FROM stories
                                                 WHERE id = i.story_id) >= $6::bigint
                                                AND {} >= $6::bigint))
                     ORDER BY i.{order} DESC, i.id DESC LIMIT $3",
                    crate::store::queries::sources_sql("i.story_id")
                );
                let rows = tx
                    .query(
                        c,
                        &sql,
                        &[&since, &tags, &limit, &before.at, &before.id, &min_sources],
                    )
                    .await?;
                Ok(rows.iter().map(story_row).collect())
            }
            Dedup::Story => {
                let arrival = crate::store::queries::arrival_ordered(q);
                let sql = if arrival {
                    // Each story when it came into the output (see SQLite's).
                    format!(
                        "SELECT i.story_id, s.uid, i.first_seen_at, s.changed_at, i.id
                         FROM items i JOIN feeds f ON f.id = i.feed_id JOIN stories s ON s.id = i.story_id
                         WHERE i.first_seen_at >= $1 AND (i.first_seen_at, i.id) < ($4, $5)
                           AND f.in_config = 1 {only_selected}
                           AND CASE WHEN s.item_count >= $6::bigint THEN i.id = {arrival} ELSE false END
                         ORDER BY i.first_seen_at DESC, i.id DESC LIMIT $3",
                        only_selected = if q.min_sources >= 2 {
                            String::new()
                        } else {
                            format!("AND {feed_filter}")
                        },
                        arrival = crate::store::queries::arrival_sql(
                            q.min_sources,
                            "(cardinality($2::text[]) = 0 OR af.id IN
                              (SELECT feed_id FROM feed_tags WHERE tag = ANY($2)))",
                            "$6::bigint",
                            "GREATEST"
                        ),
                    )
                } else {
                    let shared = if q.min_sources >= 2 {
                        "AND s.item_count >= 2"
                    } else {
                        ""
                    };
                    format!(
                        "SELECT s.id, s.uid, s.first_seen_at, s.changed_at, s.id FROM stories s
                         WHERE s.{order} >= $1 AND (s.{order}, s.id) < ($4, $5)
                           AND s.item_count >= $6::bigint {shared}
                           AND ($6::bigint <= 1 OR {} >= $6::bigint) AND EXISTS (
                             SELECT 1 FROM items i JOIN feeds f ON f.id = i.feed_id
                             WHERE i.story_id = s.id AND {feed_filter})
                         ORDER BY s.{order} DESC, s.id DESC LIMIT $3",
                        crate::store::queries::sources_sql("s.id")
                    )
                };
                let min = match arrival {
                    true => min_sources.max(1),
                    false => min_sources,
                };
                // (Story id, uid, first-seen time in this output, changed
                // time, the row id that orders it.)
                let heads = tx
                    .query(
                        c,
                        &sql,
                        &[&since, &tags, &limit, &before.at, &before.id, &min],
                    )
                    .await?;
                if heads.is_empty() {
                    return Ok(Vec::new());
                }
                let ids: Vec<i64> = heads.iter().map(|r| r.get(0)).collect();
                // Every member of every story at once, headline first per story.
                let members_sql = format!(
                    "SELECT {ITEM_COLS}, i.story_id FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE i.story_id = ANY($1) AND f.in_config = 1
                     ORDER BY i.story_id,
                              CASE WHEN {} THEN 0 ELSE 1 END, i.first_seen_at, i.id",
                    feed_filter
                );
                let rows = tx.query(c, &members_sql, &[&ids, &tags]).await?;
                let mut by_story: std::collections::HashMap<i64, Vec<Story>> =
                    std::collections::HashMap::new();
                for r in &rows {
                    by_story.entry(r.get(15)).or_default().push(story_row(r));
                }
                let mut out = Vec::with_capacity(heads.len());
                for h in heads {
                    let Some(items) = by_story.remove(&h.get::<_, i64>(0)) else {
                        continue;
                    };
                    let mut items = items.into_iter();
                    let Some(mut story) = items.next() else {
                        continue;
                    };
                    let (first_seen_at, changed_at): (i64, i64) = (h.get(2), h.get(3));
                    story.id = h.get(4);
                    story.uid = h.get(1);
                    story.first_seen_at = first_seen_at;
                    story.changed_at = match arrival {
                        true => changed_at.max(first_seen_at),
                        false => changed_at,
                    };
                    story.join(items);
                    out.push(story);
                }
                Ok(out)
            }
        })
        .await
    }

    /// Stories matching `q`, best first, one per story (as
    /// [`crate::store::Store::search`]; ts_rank instead of bm25, the title
    /// weighing four times the text).
    pub async fn search(
        &self,
        q: &SearchQuery,
        keep: &dyn Fn(&Story) -> Option<Story>,
    ) -> Result<Vec<Hit>, SearchError> {
        let parsed = parse_query(&q.query).map_err(SearchError::Query)?;
        let tsq = tsquery(&parsed.parts);
        if tsq.is_empty() {
            return Err(SearchError::Query(format!(
                "the query `{}` has no words to search for",
                crate::error::quoted(&q.query, 200)
            )));
        }
        let since = q.since.unwrap_or(i64::MIN);
        let min_sources = q.min_sources as i64;
        let tags = q.tags.clone();
        let headline = q.headline;
        let c = "searching";
        let sources = crate::store::queries::sources_sql("s.id");
        // The matches that take ranked places (one window of them): written
        // once for the ranking and for the window's extent below.
        let taken = |tags: &str, scan: &str, below: &str| {
            format!(
                "doc @@ to_tsquery('simple', $1::text)
                 AND item_id >= (SELECT coalesce(min(w.item_id), 0) FROM
                     (SELECT item_id FROM search WHERE doc @@ to_tsquery('simple', $1::text)
                      ORDER BY item_id DESC LIMIT {scan}) w)
                 AND EXISTS (SELECT 1 FROM items fi JOIN feeds ff ON ff.id = fi.feed_id
                             WHERE fi.id = search.item_id AND ff.in_config = 1
                               AND (cardinality({tags}::text[]) = 0 OR fi.feed_id IN
                                    (SELECT feed_id FROM feed_tags WHERE tag = ANY({tags}))))
                 AND item_id < {below}"
            )
        };
        let sql = format!(
            "WITH h AS MATERIALIZED (
                         SELECT item_id AS id,
                                -ts_rank('{{0.25, 0.25, 0.25, 1.0}}', doc, to_tsquery('simple', $1::text)) AS score
                         FROM search WHERE {}
                         ORDER BY item_id DESC LIMIT $5),
                     best AS (
                         SELECT i.story_id, min(h.score) AS score,
                                array_agg(i.id ORDER BY h.score, i.id) AS ids,
                                array_agg(h.score ORDER BY h.score, i.id) AS scores
                         FROM h JOIN items i ON i.id = h.id
                         JOIN feeds f ON f.id = i.feed_id
                         WHERE f.in_config = 1
                           AND (cardinality($4::text[]) = 0 OR i.feed_id IN
                                (SELECT feed_id FROM feed_tags WHERE tag = ANY($4)))
                         GROUP BY i.story_id)
                     SELECT b.story_id, b.score, s.uid, s.first_seen_at, s.changed_at,
                            s.item_count, i.url, i.title, i.author,
                            COALESCE(i.content, i.summary), i.published_at, i.updated_at,
                            f.url, COALESCE(f.title, f.feed_title), f.site_url,
                            hl.url, hl.title, hl.author, hl.html, hl.feed_url,
                            CASE WHEN i.content IS NOT NULL THEN i.summary END, b.ids, b.scores
                     FROM best b JOIN stories s ON s.id = b.story_id
                     JOIN items i ON i.id = b.ids[1] JOIN feeds f ON f.id = i.feed_id
                     LEFT JOIN LATERAL (
                         SELECT array_agg(m.url ORDER BY m.o, m.t, m.id) AS url,
                                array_agg(m.title ORDER BY m.o, m.t, m.id) AS title,
                                array_agg(m.author ORDER BY m.o, m.t, m.id) AS author,
                                array_agg(m.html ORDER BY m.o, m.t, m.id) AS html,
                                array_agg(m.feed_url ORDER BY m.o, m.t, m.id) AS feed_url
                         FROM (SELECT hi.url, hi.title, hi.author, hi.id, hi.first_seen_at AS t,
                                      COALESCE(hi.content, hi.summary) AS html, hf.url AS feed_url,
                                      CASE WHEN cardinality($4::text[]) = 0 OR hi.feed_id IN
                                           (SELECT feed_id FROM feed_tags WHERE tag = ANY($4))
                                           THEN 0 ELSE 1 END AS o
                               FROM items hi JOIN feeds hf ON hf.id = hi.feed_id
                               WHERE $6::bool AND hi.story_id = b.story_id AND hf.in_config = 1) m
                         ) hl ON true
                     WHERE s.first_seen_at >= $2 AND s.item_count >= $3::bigint
                       AND ($3::bigint <= 1 OR {sources} >= $3::bigint)
                     ORDER BY b.score, s.first_seen_at DESC, s.id DESC
                     LIMIT 5000",
            taken("$4", "$7", "$8")
        );
        // The places ranked, a window of the newest matches at a time, the
        // next older one when the rules hid so many that fewer than `limit`
        // stories are left (see SQLite's).
        let window_sql = format!(
            "SELECT count(*), min(x.item_id) FROM
                (SELECT item_id FROM search WHERE {} ORDER BY item_id DESC LIMIT $3) x",
            taken("$2", "$4", "$5")
        );
        let scan = (crate::store::search::SCAN_FACTOR * MAX_MATCHES) as i64;
        let mut below = i64::MAX;
        // (Stories looked at in all windows: at most 5,000, as on SQLite.)
        let mut looked = 0usize;
        let mut hits = Vec::new();
        // Stories whose sources are counted below (those judged by their
        // kept items are counted already).
        let mut count = Vec::new();
        'windows: loop {
            let rows = self
                .read_tx(async |tx| {
                    tx.query(
                        c,
                        &sql,
                        &[
                            &tsq,
                            &since,
                            &min_sources,
                            &tags,
                            &(MAX_MATCHES as i64),
                            &headline,
                            // (Among the newest matches, as on SQLite.)
                            &scan,
                            &below,
                        ],
                    )
                    .await
                })
                .await?;
            let mut hidden = false;
            // Another matching item of a story, when its best is not kept.
            let other_item = async |id: i64| {
                self.read_tx(async |tx| {
                    tx.opt(
                        c,
                        "SELECT i.url, i.title, i.author, COALESCE(i.content, i.summary),
                            i.published_at, i.updated_at, f.url, COALESCE(f.title, f.feed_title),
                            f.site_url, CASE WHEN i.content IS NOT NULL THEN i.summary END
                     FROM items i JOIN feeds f ON f.id = i.feed_id WHERE i.id = $1",
                        &[&id],
                    )
                    .await
                })
                .await
            };
            looked += rows.len();
            for r in rows {
                let best: f32 = r.get(1);
                if crate::store::search::ranked_past(&hits, q.limit, f64::from(best)) {
                    break 'windows;
                }
                // (Found in a newer window already.)
                if hits.iter().any(|h: &Hit| h.story.id == r.get::<_, i64>(0)) {
                    continue;
                }
                let link: Option<String> = r.get(6);
                let mut story = Story {
                    id: r.get(0),
                    uid: r.get(2),
                    link: link.clone(),
                    title: r.get(7),
                    author: r.get(8),
                    html: r.get(9),
                    // (The teaser, when the text shown is the content.)
                    summary: r.get(20),
                    published_at: r.get(10),
                    updated_at: r.get(11),
                    first_seen_at: r.get(3),
                    changed_at: r.get(4),
                    source: Source {
                        feed_url: r.get(12),
                        title: r.get(13),
                        site_url: r.get(14),
                        link,
                    },
                    also: Vec::new(),
                    rest: Vec::new(),
                    files_joined: false,
                    enclosures: Vec::new(),
                };
                let shown = if q.headline {
                    // The story's items, those of the output's feeds first (see
                    // SQLite's).
                    type Texts = Option<Vec<Option<String>>>;
                    let (urls, titles, authors, htmls): (Texts, Texts, Texts, Texts) =
                        (r.get(15), r.get(16), r.get(17), r.get(18));
                    let feeds: Option<Vec<String>> = r.get(19);
                    let members =
                        feeds
                            .unwrap_or_default()
                            .into_iter()
                            .enumerate()
                            .map(|(n, f)| {
                                let at = |v: &Texts| {
                                    v.as_ref().and_then(|v| v.get(n).cloned().flatten())
                                };
                                Story::headline(
                                    &story,
                                    at(&urls),
                                    at(&titles),
                                    at(&authors),
                                    at(&htmls),
                                    f,
                                )
                            });
                    match crate::store::search::shown_story(members.collect(), keep) {
                        Some(shown) => Some(shown),
                        None => {
                            hidden = true;
                            continue;
                        }
                    }
                } else {
                    None
                };
                let judge = |story: &Story| match &shown {
                    Some(shown) => crate::store::search::kept_sources(shown, story),
                    None => keep(story).map(|_| 0),
                };
                // The best matching item the outputs keep, which ranks it (see
                // SQLite's).
                let ids: Vec<i64> = r.get(21);
                let scores: Vec<f32> = r.get(22);
                let mut sources = judge(&story);
                let mut at = 0;
                for (k, &id) in ids.iter().enumerate().skip(1) {
                    if sources.is_some() {
                        break;
                    }
                    at = k;
                    let Some(o) = other_item(id).await? else {
                        continue;
                    };
                    let link: Option<String> = o.get(0);
                    story = Story {
                        link: link.clone(),
                        title: o.get(1),
                        author: o.get(2),
                        html: o.get(3),
                        summary: o.get(9),
                        published_at: o.get(4),
                        updated_at: o.get(5),
                        source: Source {
                            feed_url: o.get(6),
                            title: o.get(7),
                            site_url: o.get(8),
                            link,
                        },
                        ..story
                    };
                    sources = judge(&story);
                }
                let Some(sources) = sources else {
                    hidden = true;
                    continue;
                };
                if shown.is_none() {
                    count.push(story.id);
                }
                let score = scores.get(at).copied().unwrap_or(best);
                let title = highlight(&crate::store::search::hit_title(&story), &parsed.terms);
                let snippet = crate::store::search::hit_snippet(&story, &parsed.terms);
                hits.push(Hit {
                    sources,
                    score: f64::from(score),
                    story,
                    title,
                    snippet,
                });
                crate::store::search::rank(&mut hits, q.limit);
            }
            if hits.len() >= q.limit || !hidden || looked >= 5_000 {
                break;
            }
            // The window was full: the next one, below its oldest match.
            let next = self
                .read_tx(async |tx| {
                    tx.one(
                        c,
                        &window_sql,
                        &[&tsq, &tags, &(MAX_MATCHES as i64), &scan, &below],
                    )
                    .await
                })
                .await?;
            match next.get::<_, Option<i64>>(1) {
                Some(oldest) if next.get::<_, i64>(0) >= MAX_MATCHES as i64 => below = oldest,
                _ => break,
            }
        }
        count.retain(|id| hits.iter().any(|h| h.story.id == *id));
        // The feeds carrying each story shown whose items the output keeps,
        // counted for those only (judged item by item).
        if count.is_empty() {
            return Ok(hits);
        }
        let ids = count;
        let rows = self
            .read_tx(async |tx| {
                tx.query(
                    c,
                    "SELECT i.story_id, i.url, i.title, i.author, COALESCE(i.content, i.summary), f.url
                     FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE i.story_id = ANY($1) AND f.in_config = 1",
                    &[&ids],
                )
                .await
            })
            .await?;
        for h in hits.iter_mut().filter(|h| ids.contains(&h.story.id)) {
            let members: Vec<Story> = rows
                .iter()
                .filter(|r| r.get::<_, i64>(0) == h.story.id)
                .map(|r| {
                    Story::headline(&h.story, r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
                })
                .collect();
            h.sources = crate::store::search::kept_feeds(&members, keep);
        }
        Ok(hits)
    }

    /// See [`crate::store::Store::moved_feeds`].
    /// See [`crate::store::Store::latest_arrivals`].
    pub async fn latest_arrivals(
        &self,
        stories: &[i64],
    ) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        let ids = stories.to_vec();
        let rows = self
            .read_tx(async |tx| {
                tx.query(
                    "reading when stories' items arrived",
                    "SELECT i.story_id, max(i.first_seen_at) FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE f.in_config = 1 AND i.story_id = ANY($1) GROUP BY i.story_id",
                    &[&ids],
                )
                .await
            })
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn moved_feeds(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self
            .read_tx(async |tx| {
                tx.query(
                    "listing moved feeds",
                    "SELECT url, fetch_url FROM feeds WHERE fetch_url IS NOT NULL AND fetch_url <> url",
                    &[],
                )
                .await
            })
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// See [`crate::store::Store::synced_feeds`].
    pub async fn synced_feeds(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let rows = self
            .read_tx(async |tx| {
                tx.query(
                    "listing configured feeds",
                    "SELECT f.url, COALESCE((SELECT array_agg(t.tag ORDER BY t.tag COLLATE \"C\")
                                             FROM feed_tags t WHERE t.feed_id = f.id), '{}')
                     FROM feeds f WHERE f.in_config = 1",
                    &[],
                )
                .await
            })
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn feed_summaries(&self) -> Result<Vec<FeedSummary>, StoreError> {
        let rows = self
            .read_tx(async |tx| {
                tx.query(
                    "listing feeds",
                    "SELECT f.url, COALESCE(f.title, f.feed_title), f.enabled, f.last_fetch_at,
                            f.last_status, f.last_http_status, f.last_error,
                            f.consecutive_failures, f.next_fetch_at,
                            (SELECT count(*) FROM items i WHERE i.feed_id = f.id), f.in_config,
                            NULLIF(f.fetch_url, f.url)
                     FROM feeds f ORDER BY f.url COLLATE \"C\"",
                    &[],
                )
                .await
            })
            .await?;
        Ok(rows
            .iter()
            .map(|r| FeedSummary {
                url: r.get(0),
                in_config: r.get::<_, i64>(10) != 0,
                title: r.get(1),
                enabled: r.get::<_, i64>(2) != 0,
                last_fetch_at: r.get(3),
                last_status: r.get(4),
                last_http_status: r.get::<_, Option<i64>>(5).map(|s| s as u16),
                last_error: r.get(6),
                consecutive_failures: u32_of(r.get(7)),
                next_fetch_at: r.get(8),
                items: r.get(9),
                moved_to: r.get(11),
            })
            .collect())
    }

    pub async fn feed_health(&self) -> Result<FeedHealth, StoreError> {
        let r = self
            .read_tx(async |tx| {
                tx.one(
                    "counting feeds by health",
                    "SELECT count(*) FILTER (WHERE enabled = 1 AND last_status IN ('ok', 'not_modified')),
                            count(*) FILTER (WHERE enabled = 1 AND last_status = 'error'),
                            count(*) FILTER (WHERE enabled = 0),
                            count(*) FILTER (WHERE enabled = 1 AND last_status IS NULL),
                            max(last_success_at)
                     FROM feeds WHERE in_config = 1",
                    &[],
                )
                .await
            })
            .await?;
        Ok(FeedHealth {
            ok: u32_of(r.get(0)),
            failing: u32_of(r.get(1)),
            disabled: u32_of(r.get(2)),
            never_fetched: u32_of(r.get(3)),
            last_success_at: r.get(4),
        })
    }

    pub async fn feeds_in_trouble(&self, worst: usize) -> Result<Vec<FeedProblem>, StoreError> {
        let worst = worst.min(i64::MAX as usize) as i64;
        let rows = self
            .read_tx(async |tx| {
                tx.query(
                    "reading feeds in trouble",
                    "SELECT url, COALESCE(title, feed_title), enabled, last_error, last_http_status,
                            consecutive_failures, last_fetch_at, last_success_at, next_fetch_at
                     FROM feeds
                     WHERE in_config = 1 AND (enabled = 0 OR last_status = 'error')
                     ORDER BY consecutive_failures DESC, last_fetch_at DESC NULLS LAST,
                              url COLLATE \"C\" LIMIT $1",
                    &[&worst],
                )
                .await
            })
            .await?;
        Ok(rows
            .iter()
            .map(|r| FeedProblem {
                url: r.get(0),
                title: r.get(1),
                enabled: r.get::<_, i64>(2) != 0,
                last_error: r.get(3),
                last_http_status: r.get::<_, Option<i64>>(4).map(|s| s as u16),
                consecutive_failures: u32_of(r.get(5)),
                last_fetch_at: r.get(6),
                last_success_at: r.get(7),
                next_fetch_at: r.get(8),
            })
            .collect())
    }

    pub async fn metrics_snapshot(&self, now: i64) -> Result<MetricsSnapshot, StoreError> {
        self.read_tx(async |tx| {
            let c = "reading metrics";
            let states = tx
                .query(
                    c,
                    "SELECT st, count(*) FROM
                         (SELECT CASE WHEN enabled = 0 THEN 'disabled'
                                      ELSE COALESCE(last_status, 'never') END AS st
                          FROM feeds WHERE in_config = 1) AS t
                     GROUP BY st ORDER BY st COLLATE \"C\"",
                    &[],
                )
                .await?;
            let items = tx.one(c, "SELECT count(*) FROM items", &[]).await?;
            let stale = tx
                .query(
                    c,
                    "SELECT url, CASE WHEN last_success_at IS NULL THEN -1 ELSE $1 - last_success_at END
                     FROM feeds WHERE in_config = 1 ORDER BY url COLLATE \"C\"",
                    &[&now],
                )
                .await?;
            Ok(MetricsSnapshot {
                feeds_by_state: states.iter().map(|r| (r.get(0), r.get(1))).collect(),
                items: items.get(0),
                staleness: stale.iter().map(|r| (r.get(0), r.get(1))).collect(),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsqueries_quote_every_lexeme() {
        let q = parse_query("Rust \"new release\" wasm* 北京大学 学 it's").unwrap();
        assert_eq!(
            tsquery(&q.parts),
            "'rust' & ('new' <-> 'release') & 'wasm':* & ('北京' <-> '京大' <-> '大学') & '学':* & ('it' <-> 's')"
        );
        // A phrase of CJK words: together or apart, in order.
        let q = parse_query("\"北京 大学\"").unwrap();
        assert_eq!(
            tsquery(&q.parts),
            "(('北京' <-> '京大' <-> '大学') | ('北京' <-> '京' <-> '大学' <-> '学'))"
        );
        let q = parse_query("a' | b & !cd:*").unwrap();
        let t = tsquery(&q.parts);
        assert!(!t.contains('|') && !t.contains('!'), "{t}");
    }
}
