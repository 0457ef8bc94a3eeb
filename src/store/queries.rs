//! The read side: story lists for outputs and the per-feed summary table.

use rusqlite::params;

use super::Store;
use crate::error::StoreError;

/// One story as outputs render it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    /// feedloom's stable id.
    pub uid: String,
    pub link: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    /// Unsanitised HTML: content, else summary.
    pub html: Option<String>,
    pub published_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub first_seen_at: i64,
    pub changed_at: i64,
    pub source: Source,
}

/// The feed a story came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub feed_url: String,
    pub title: Option<String>,
    pub site_url: Option<String>,
}

/// Which stories an output shows.
#[derive(Debug, Clone, Default)]
pub struct StoryQuery {
    pub limit: usize,
    /// Only stories first seen at or after this time.
    pub since: Option<i64>,
    /// Only stories from feeds with one of these tags (empty: all).
    pub tags: Vec<String>,
}

/// A row of `feedloom feeds`.
#[derive(Debug, Clone)]
pub struct FeedSummary {
    pub url: String,
    pub title: Option<String>,
    pub enabled: bool,
    pub last_fetch_at: Option<i64>,
    pub last_status: Option<String>,
    pub last_http_status: Option<u16>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_fetch_at: Option<i64>,
    pub items: i64,
}

impl Store {
    /// Stories newest first by first-seen time, from feeds the config names.
    pub fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        let tags = serde_json::to_string(&q.tags).unwrap_or_else(|_| "[]".into());
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.uid, i.url, i.title, i.author, COALESCE(i.content, i.summary),
                        i.published_at, i.updated_at, i.first_seen_at, i.changed_at,
                        f.url, COALESCE(f.title, f.feed_title), f.site_url
                 FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE i.first_seen_at >= ?1 AND f.in_config = 1
                   AND (?2 = '[]' OR i.feed_id IN
                        (SELECT feed_id FROM feed_tags WHERE tag IN (SELECT value FROM json_each(?2))))
                 ORDER BY i.first_seen_at DESC, i.id DESC
                 LIMIT ?3",
            )
            .map_err(StoreError::ctx("querying stories"))?;
        let rows = stmt
            .query_map(
                params![q.since.unwrap_or(i64::MIN), tags, q.limit as i64],
                |r| {
                    Ok(Story {
                        uid: r.get(0)?,
                        link: r.get(1)?,
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
                        },
                    })
                },
            )
            .map_err(StoreError::ctx("querying stories"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::ctx("reading stories"))
    }

    /// One row per configured feed, in URL order.
    pub fn feed_summaries(&self) -> Result<Vec<FeedSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.url, COALESCE(f.title, f.feed_title), f.enabled, f.last_fetch_at,
                        f.last_status, f.last_http_status, f.last_error,
                        f.consecutive_failures, f.next_fetch_at,
                        (SELECT count(*) FROM items i WHERE i.feed_id = f.id)
                 FROM feeds f WHERE f.in_config = 1 ORDER BY f.url",
            )
            .map_err(StoreError::ctx("listing feeds"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FeedSummary {
                    url: r.get(0)?,
                    title: r.get(1)?,
                    enabled: r.get(2)?,
                    last_fetch_at: r.get(3)?,
                    last_status: r.get(4)?,
                    last_http_status: r.get(5)?,
                    last_error: r.get(6)?,
                    consecutive_failures: r.get(7)?,
                    next_fetch_at: r.get(8)?,
                    items: r.get(9)?,
                })
            })
            .map_err(StoreError::ctx("listing feeds"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::ctx("listing feeds"))
    }
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
