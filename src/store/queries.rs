//! The read side: story lists for outputs and the per-feed summary table.

use rusqlite::params;

use crate::config::{Dedup, Updates};

use super::Store;
use crate::error::StoreError;

/// One story as outputs render it: its first item, plus the other feeds that
/// carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    /// The row that orders it: `stories.id`, or `items.id` with `dedup = "item"`
    /// (with its first-seen or changed time, a page's [`Cursor`]).
    pub id: i64,
    /// feedloom's stable id.
    pub uid: String,
    pub link: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    /// Unsanitised HTML: content, else summary.
    pub html: Option<String>,
    /// Unsanitised HTML of the summary when the item has content too (else
    /// `None`: `html` is the summary).
    pub summary: Option<String>,
    pub published_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub first_seen_at: i64,
    pub changed_at: i64,
    /// The feed of the story's first item.
    pub source: Source,
    /// Other feeds carrying the story, in the order they joined.
    pub also: Vec<Source>,
    /// The files its first item carries (`items.enclosures`), checked again.
    pub enclosures: Vec<crate::parse::Enclosure>,
    /// Its other items, as [`Story::join`] took them (their feeds are
    /// `also`): an output whose rules hide the headline shows the story by
    /// the next one they keep ([`crate::filter::Selection::shown`]).
    pub rest: Vec<Story>,
    /// Whether `enclosures` are another item's, taken by [`Story::join`]
    /// (the headline carried none).
    pub files_joined: bool,
}

impl Story {
    /// `story` as its headline item shows it, for judging it by an output's
    /// rules ([`crate::filter::Selection::keeps`]): that item's link, title,
    /// author, HTML and feed.
    pub fn headline(
        story: &Story,
        link: Option<String>,
        title: Option<String>,
        author: Option<String>,
        html: Option<String>,
        feed_url: String,
    ) -> Story {
        Story {
            link: link.clone(),
            title,
            author,
            html,
            summary: None,
            source: Source {
                feed_url,
                title: None,
                site_url: None,
                link,
            },
            also: Vec::new(),
            enclosures: Vec::new(),
            rest: Vec::new(),
            files_joined: false,
            ..story.clone()
        }
    }
}

/// A feed a story came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub feed_url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
    /// The story's link in that feed.
    pub link: Option<String>,
}

impl Source {
    /// What outputs call the feed: its title, else the host of its URL (else
    /// of its home page), else "a feed".
    pub fn name(&self) -> String {
        let host = |u: &str| url::Url::parse(u).ok()?.host_str().map(str::to_string);
        self.title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| host(&self.feed_url))
            .or_else(|| self.site_url.as_deref().and_then(host))
            .unwrap_or_else(|| "a feed".to_string())
    }
}

/// Which stories an output shows.
#[derive(Debug, Clone, Default)]
pub struct StoryQuery {
    pub limit: usize,
    /// Only stories first seen (or, with `reannounce`, changed) at or after this time.
    pub since: Option<i64>,
    /// Only stories from feeds with one of these tags (empty: all).
    pub tags: Vec<String>,
    pub dedup: Dedup,
    pub updates: Updates,
    /// Only stories strictly older than this, in the output's order (a page
    /// after the first).
    pub before: Option<Cursor>,
    /// Only stories carried by at least this many feeds (`stories.item_count`).
    pub min_sources: usize,
}

/// SQL: how many feeds the config names carry the story `story` (an SQL
/// expression for its id): what `min_sources` and search's "N feeds" count.
/// `stories.item_count` also counts items of feeds taken out of the config
/// (and two items of one feed), so it only narrows the candidates.
pub(crate) fn sources_sql(story: &str) -> String {
    format!(
        "(SELECT count(DISTINCT ci.feed_id) FROM items ci JOIN feeds cf ON cf.id = ci.feed_id
          WHERE ci.story_id = {story} AND cf.in_config = 1)"
    )
}

/// Whether `q` orders its stories by when each came into the output rather
/// than by when feedloom first saw it: an output of some tags' feeds, or of
/// stories carried by `min_sources` feeds or more, shows a story when an item
/// of one of its feeds (or the item of its last needed source) arrives. By
/// the story's own first-seen time, a story another feed had carried for
/// days came in below the output's newest stories, past `max_items`, and
/// its subscribers never saw it. (With `updates = "reannounce"` the story's
/// changed time orders, as before.)
pub(crate) fn arrival_ordered(q: &StoryQuery) -> bool {
    q.dedup == Dedup::Story
        && q.updates == Updates::Ignore
        && (!q.tags.is_empty() || q.min_sources >= 2)
}

/// SQL (both backends): the id of the item that brought story `i.story_id`
/// into an output, given the test that a feed `af` has one of the output's
/// tags (`tagged`), its `min_sources` (`n`, an SQL expression) and the
/// backend's two-value maximum (`max`, `GREATEST`): the later of its first
/// item from a tagged feed and the first item of its `n`-th feed the config
/// names (by id, the order items are stored in); NULL while it has neither.
pub(crate) fn arrival_sql(min_sources: usize, tagged: &str, n: &str, max: &str) -> String {
    let first_tagged = format!(
        "(SELECT min(a.id) FROM items a JOIN feeds af ON af.id = a.feed_id
          WHERE a.story_id = i.story_id AND af.in_config = 1 AND {tagged})"
    );
    if min_sources < 2 {
        return first_tagged;
    }
    let nth = format!(
        "(SELECT m FROM (SELECT min(b.id) AS m FROM items b JOIN feeds bf ON bf.id = b.feed_id
                         WHERE b.story_id = i.story_id AND bf.in_config = 1 GROUP BY b.feed_id) firsts
          ORDER BY m LIMIT 1 OFFSET ({n} - 1))"
    );
    format!(
        "(CASE WHEN {first_tagged} IS NULL OR {nth} IS NULL THEN NULL
               ELSE {max}({first_tagged}, {nth}) END)"
    )
}

/// A place in an output's order, newest first: a story's first-seen time (or,
/// with `reannounce`, its changed time) and its row id ([`Story::id`]), which
/// orders stories of the same second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: i64,
}

impl Cursor {
    /// Where a page that ends with `story` leaves off.
    pub fn after(story: &Story, updates: Updates) -> Cursor {
        Cursor {
            at: match updates {
                Updates::Ignore => story.first_seen_at,
                Updates::Reannounce => story.changed_at,
            },
            id: story.id,
        }
    }
}

/// A row of `feedloom feeds`.
#[derive(Debug, Clone)]
pub struct FeedSummary {
    pub url: String,
    /// Whether the config names it (as the store last synced it, unless the
    /// caller sets it from the config at hand).
    pub in_config: bool,
    pub title: Option<String>,
    pub enabled: bool,
    pub last_fetch_at: Option<i64>,
    pub last_status: Option<String>,
    pub last_http_status: Option<u16>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_fetch_at: Option<i64>,
    pub items: i64,
    /// Where it is fetched now, after a permanent redirect was followed
    /// (`feeds.fetch_url`); `None` at its own URL.
    pub moved_to: Option<String>,
}

impl Store {
    /// Stories newest first by first-seen time (or by last change, with
    /// `reannounce`), from feeds the config names.
    pub fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        let tags = serde_json::to_string(&q.tags).unwrap_or_else(|_| "[]".into());
        let since = q.since.unwrap_or(i64::MIN);
        let before = q.before.unwrap_or(Cursor {
            at: i64::MAX,
            id: i64::MAX,
        });
        let order = match q.updates {
            Updates::Ignore => "first_seen_at",
            Updates::Reannounce => "changed_at",
        };
        let feed_filter = "f.in_config = 1 AND (?2 = '[]' OR f.id IN
             (SELECT feed_id FROM feed_tags WHERE tag IN (SELECT value FROM json_each(?2))))";
        let item_cols = "i.uid, i.url, i.title, i.author, COALESCE(i.content, i.summary),
             i.published_at, i.updated_at, i.first_seen_at, i.changed_at,
             f.url, COALESCE(f.title, f.feed_title), f.site_url, i.id,
             CASE WHEN i.content IS NOT NULL THEN i.summary END, i.enclosures";
        match q.dedup {
            Dedup::Item => {
                let sql = format!(
                    "SELECT {item_cols} FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE i.{order} >= ?1 AND (i.{order}, i.id) < (?4, ?5) AND {feed_filter}
                       AND (?6 <= 1 OR ((SELECT item_count FROM stories
                                         WHERE id = i.story_id) >= ?6
                                        AND {} >= ?6))
                     ORDER BY i.{order} DESC, i.id DESC LIMIT ?3",
                    sources_sql("i.story_id")
                );
                let mut stmt = self
                    .conn
                    .prepare_cached(&sql)
                    .map_err(StoreError::ctx("querying stories"))?;
                let rows = stmt
                    .query_map(
                        params![
                            since,
                            tags,
                            q.limit as i64,
                            before.at,
                            before.id,
                            q.min_sources as i64
                        ],
                        story_row,
                    )
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(StoreError::ctx("querying stories"))?;
                Ok(rows)
            }
            Dedup::Story => {
                let arrival = arrival_ordered(q);
                let sql = if arrival {
                    // Each story at the moment it came into this output (see
                    // `arrival_ordered`): the item that brought it in, newest
                    // first; a story whose every item came in before is left
                    // to the page it came in on.
                    format!(
                        "SELECT i.story_id, s.uid, i.first_seen_at, s.changed_at, i.id
                         FROM items i JOIN feeds f ON f.id = i.feed_id JOIN stories s ON s.id = i.story_id
                         WHERE i.first_seen_at >= ?1 AND (i.first_seen_at, i.id) < (?4, ?5)
                           AND f.in_config = 1 {only_selected}
                           AND CASE WHEN s.item_count >= ?6 THEN i.id = {arrival} ELSE 0 END
                         ORDER BY i.first_seen_at DESC, i.id DESC LIMIT ?3",
                        only_selected = if q.min_sources >= 2 {
                            String::new()
                        } else {
                            format!("AND {feed_filter}")
                        },
                        arrival = arrival_sql(
                            q.min_sources,
                            "(?2 = '[]' OR af.id IN (SELECT feed_id FROM feed_tags
                                                      WHERE tag IN (SELECT value FROM json_each(?2))))",
                            "?6",
                            "max"
                        ),
                    )
                } else {
                    // Lets the partial indexes stories_shared(_changed) serve it.
                    let shared = if q.min_sources >= 2 {
                        "AND s.item_count >= 2"
                    } else {
                        ""
                    };
                    format!(
                        "SELECT s.id, s.uid, s.first_seen_at, s.changed_at, s.id FROM stories s
                         WHERE s.{order} >= ?1 AND (s.{order}, s.id) < (?4, ?5)
                           AND s.item_count >= ?6 {shared} AND (?6 <= 1 OR {} >= ?6) AND EXISTS (
                             SELECT 1 FROM items i JOIN feeds f ON f.id = i.feed_id
                             WHERE i.story_id = s.id AND {feed_filter})
                         ORDER BY s.{order} DESC, s.id DESC LIMIT ?3",
                        sources_sql("s.id")
                    )
                };
                let min_sources = match arrival {
                    true => q.min_sources.max(1),
                    false => q.min_sources,
                };
                // (Story id, uid, first-seen time in this output, changed
                // time, the row id that orders it.)
                let heads: Vec<(i64, String, i64, i64, i64)> = self
                    .conn
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        let p = params![
                            since,
                            tags,
                            q.limit as i64,
                            before.at,
                            before.id,
                            min_sources as i64
                        ];
                        stmt.query_map(p, |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                        })?
                        .collect()
                    })
                    .map_err(StoreError::ctx("querying stories"))?;
                let mut members = self
                    .conn
                    .prepare_cached(&format!(
                        "SELECT {item_cols} FROM items i JOIN feeds f ON f.id = i.feed_id
                         WHERE i.story_id = ?1 AND f.in_config = 1
                         ORDER BY CASE WHEN {feed_filter} THEN 0 ELSE 1 END,
                                  i.first_seen_at, i.id"
                    ))
                    .map_err(StoreError::ctx("querying stories"))?;
                let mut out = Vec::with_capacity(heads.len());
                for (story_id, uid, first_seen_at, changed_at, order_id) in heads {
                    // Headline: the first item from a feed the output selects.
                    let items: Vec<Story> = members
                        .query_map(params![story_id, tags], story_row)
                        .and_then(|rows| rows.collect())
                        .map_err(StoreError::ctx("querying stories"))?;
                    let mut items = items.into_iter();
                    let Some(mut story) = items.next() else {
                        continue;
                    };
                    story.id = order_id;
                    story.uid = uid;
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
        }
    }

    /// One row per feed in the store (configured or not), in URL order.
    /// The feeds the store counts as configured, with their tags (sorted),
    /// as the last `poll` or daemon load synced them: what the outputs and
    /// search select by.
    pub fn synced_feeds(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.url, (SELECT group_concat(tag, char(10)) FROM
                                 (SELECT tag FROM feed_tags t WHERE t.feed_id = f.id ORDER BY tag))
                 FROM feeds f WHERE f.in_config = 1",
            )
            .map_err(StoreError::ctx("listing configured feeds"))?;
        let rows = stmt
            .query_map([], |r| {
                let tags: Option<String> = r.get(1)?;
                Ok((
                    r.get(0)?,
                    tags.map(|t| t.split('\n').map(str::to_string).collect())
                        .unwrap_or_default(),
                ))
            })
            .map_err(StoreError::ctx("listing configured feeds"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::ctx("listing configured feeds"))
    }

    /// The feeds fetched at another address than their own (a permanent
    /// redirect followed): `(url, fetch_url)`.
    /// For each of `stories`, when its newest item of a feed the config
    /// names was first seen: the latest a story can have come into any
    /// output (by a feed of its tags, or as its last needed source).
    pub fn latest_arrivals(
        &self,
        stories: &[i64],
    ) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
        let c = "reading when stories' items arrived";
        let ids = serde_json::to_string(stories).unwrap_or_else(|_| "[]".into());
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.story_id, max(i.first_seen_at) FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE f.in_config = 1 AND i.story_id IN (SELECT value FROM json_each(?1))
                 GROUP BY i.story_id",
            )
            .map_err(StoreError::ctx(c))?;
        let rows = stmt
            .query_map([ids], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(StoreError::ctx(c))?;
        rows.collect::<Result<_, _>>().map_err(StoreError::ctx(c))
    }

    pub fn moved_feeds(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT url, fetch_url FROM feeds WHERE fetch_url IS NOT NULL AND fetch_url != url",
            )
            .map_err(StoreError::ctx("listing moved feeds"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(StoreError::ctx("listing moved feeds"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::ctx("listing moved feeds"))
    }

    pub fn feed_summaries(&self) -> Result<Vec<FeedSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.url, COALESCE(f.title, f.feed_title), f.enabled, f.last_fetch_at,
                        f.last_status, f.last_http_status, f.last_error,
                        f.consecutive_failures, f.next_fetch_at,
                        (SELECT count(*) FROM items i WHERE i.feed_id = f.id), f.in_config,
                        NULLIF(f.fetch_url, f.url)
                 FROM feeds f ORDER BY f.url",
            )
            .map_err(StoreError::ctx("listing feeds"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FeedSummary {
                    url: r.get(0)?,
                    in_config: r.get(10)?,
                    title: r.get(1)?,
                    enabled: r.get(2)?,
                    last_fetch_at: r.get(3)?,
                    last_status: r.get(4)?,
                    last_http_status: r.get(5)?,
                    last_error: r.get(6)?,
                    consecutive_failures: r.get(7)?,
                    next_fetch_at: r.get(8)?,
                    items: r.get(9)?,
                    moved_to: r.get(11)?,
                })
            })
            .map_err(StoreError::ctx("listing feeds"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::ctx("listing feeds"))
    }
}

impl Story {
    /// The story's other items (after its headline, in the order they
    /// joined): their feeds become `also`, and when the headline carries no
    /// file, the first of them that does gives the story its files (a copy
    /// without the audio does not hide the episode's).
    pub(crate) fn join(&mut self, others: impl Iterator<Item = Story>) {
        for other in others {
            if self.enclosures.is_empty() && !other.enclosures.is_empty() {
                self.enclosures = other.enclosures.clone();
                self.files_joined = true;
            }
            self.also.push(other.source.clone());
            self.rest.push(other);
        }
    }
}

fn story_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Story> {
    let link: Option<String> = r.get(1)?;
    Ok(Story {
        uid: r.get(0)?,
        link: link.clone(),
        title: r.get(2)?,
        author: r.get(3)?,
        html: r.get(4)?,
        published_at: r.get(5)?,
        updated_at: r.get(6)?,
        first_seen_at: r.get(7)?,
        changed_at: r.get(8)?,
        source: Source {
            feed_url: r.get(9)?,
            title: r.get(10)?,
            site_url: r.get(11)?,
            link,
        },
        also: Vec::new(),
        rest: Vec::new(),
        files_joined: false,
        id: r.get(12)?,
        summary: r.get(13)?,
        // (Anything but text, written by another program, reads as none.)
        enclosures: crate::parse::enclosures::decode(r.get_ref(14)?.as_str().ok()),
    })
}

/// What `/metrics` reads from the store.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// ("ok" | "not_modified" | "error" | "disabled" | "never", count)
    pub feeds_by_state: Vec<(String, i64)>,
    pub items: i64,
    /// (feed url, seconds since its last success; -1 when it never succeeded)
    pub staleness: Vec<(String, i64)>,
}

impl Store {
    pub fn metrics_snapshot(&self, now: i64) -> Result<MetricsSnapshot, StoreError> {
        let ctx = StoreError::ctx("reading metrics");
        let mut snap = MetricsSnapshot::default();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT CASE WHEN enabled = 0 THEN 'disabled' ELSE COALESCE(last_status, 'never') END AS st,
                        count(*)
                 FROM feeds WHERE in_config = 1 GROUP BY st ORDER BY st",
            )
            .map_err(StoreError::ctx("reading metrics"))?;
        snap.feeds_by_state = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::ctx("reading metrics"))?;
        snap.items = self
            .conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .map_err(StoreError::ctx("reading metrics"))?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT url, CASE WHEN last_success_at IS NULL THEN -1 ELSE ?1 - last_success_at END
                 FROM feeds WHERE in_config = 1 ORDER BY url",
            )
            .map_err(StoreError::ctx("reading metrics"))?;
        snap.staleness = stmt
            .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(ctx)?;
        Ok(snap)
    }
}

/// The configured feeds by health: what `/healthz` (and the `/` index) report.
/// Each configured feed counts in exactly one of `ok`, `failing`, `disabled`
/// and `never_fetched`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedHealth {
    /// Enabled feeds whose last fetch succeeded (`ok` or `not_modified`).
    pub ok: u32,
    /// Enabled feeds whose last fetch failed.
    pub failing: u32,
    /// Feeds disabled after 410 Gone.
    pub disabled: u32,
    /// Enabled feeds not fetched yet.
    pub never_fetched: u32,
    /// The latest success of any configured feed (Unix seconds).
    pub last_success_at: Option<i64>,
}

impl FeedHealth {
    /// Feeds the scheduler polls: all but the disabled ones.
    pub fn enabled(&self) -> u32 {
        self.ok + self.failing + self.never_fetched
    }
}

/// A feed in trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedProblem {
    pub url: String,
    pub title: Option<String>,
    pub enabled: bool,
    pub last_error: Option<String>,
    pub last_http_status: Option<u16>,
    pub consecutive_failures: u32,
    pub last_fetch_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub next_fetch_at: Option<i64>,
}

impl Store {
    /// Counts the configured feeds by health (one pass over `feeds`).
    pub fn feed_health(&self) -> Result<FeedHealth, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT COALESCE(sum(enabled = 1 AND last_status IN ('ok', 'not_modified')), 0),
                        COALESCE(sum(enabled = 1 AND last_status = 'error'), 0),
                        COALESCE(sum(enabled = 0), 0),
                        COALESCE(sum(enabled = 1 AND last_status IS NULL), 0),
                        max(last_success_at)
                 FROM feeds WHERE in_config = 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([], |r| {
                    Ok(FeedHealth {
                        ok: r.get(0)?,
                        failing: r.get(1)?,
                        disabled: r.get(2)?,
                        never_fetched: r.get(3)?,
                        last_success_at: r.get(4)?,
                    })
                })
            })
            .map_err(StoreError::ctx("counting feeds by health"))
    }

    /// Up to `worst` configured feeds in trouble (failing or disabled), most
    /// consecutive failures first: what the `/` index lists.
    pub fn feeds_in_trouble(&self, worst: usize) -> Result<Vec<FeedProblem>, StoreError> {
        let ctx = || StoreError::ctx("reading feeds in trouble");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT url, COALESCE(title, feed_title), enabled, last_error, last_http_status,
                        consecutive_failures, last_fetch_at, last_success_at, next_fetch_at
                 FROM feeds
                 WHERE in_config = 1 AND (enabled = 0 OR last_status = 'error')
                 ORDER BY consecutive_failures DESC, last_fetch_at DESC, url LIMIT ?1",
            )
            .map_err(ctx())?;
        stmt.query_map([worst as i64], |r| {
            Ok(FeedProblem {
                url: r.get(0)?,
                title: r.get(1)?,
                enabled: r.get(2)?,
                last_error: r.get(3)?,
                last_http_status: r.get(4)?,
                consecutive_failures: r.get(5)?,
                last_fetch_at: r.get(6)?,
                last_success_at: r.get(7)?,
                next_fetch_at: r.get(8)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(ctx())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::identify_document;
    use crate::parse::{Enclosure, Entry};
    use crate::store::feeds::{FetchRecord, Reschedule};
    use crate::store::items::{DocumentMeta, StoryRules};

    /// A story carried by two feeds shows the files of its headline item,
    /// else those of the first other item that has any.
    #[test]
    fn a_story_shows_the_files_its_headline_lacks() {
        let mut store = Store::open_in_memory().unwrap();
        let cfg = crate::config::parse(
            "[[feed]]\nurl = \"https://a.example/f\"\n[[feed]]\nurl = \"https://b.example/f\"\n",
            std::path::Path::new("x.toml"),
        )
        .unwrap();
        let feeds = store.sync_config(&cfg.feeds).unwrap();
        let episode = |files: Vec<Enclosure>| Entry {
            guid: Some("ep".into()),
            link: Some("https://pod.example/ep".into()),
            title: Some("Episode".into()),
            enclosures: files,
            ..Entry::default()
        };
        let mp3 = Enclosure {
            url: "https://pod.example/ep.mp3".into(),
            ..Enclosure::default()
        };
        for (at, (feed, files)) in [(&feeds[0], vec![]), (&feeds[1], vec![mp3.clone()])]
            .into_iter()
            .enumerate()
        {
            let rec = FetchRecord {
                started_at: 1_000 + at as i64,
                ..FetchRecord::default()
            };
            store
                .apply_document(
                    feed,
                    &rec,
                    &Default::default(),
                    &DocumentMeta::default(),
                    &identify_document(vec![episode(files)]),
                    &Reschedule::default(),
                    &StoryRules::default(),
                )
                .unwrap();
        }
        let q = StoryQuery {
            limit: 10,
            ..StoryQuery::default()
        };
        let stories = store.stories(&q).unwrap();
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].source.feed_url, "https://a.example/f");
        assert_eq!(stories[0].also.len(), 1);
        assert_eq!(stories[0].enclosures, vec![mp3]);
    }
}
