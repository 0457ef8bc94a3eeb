//! The HTTP server: rendered outputs (`/{name}.atom|.rss|.json`), `/healthz` and
//! `/metrics`. Outputs are rendered once per store change by the exporter and
//! served from memory; requests never touch the store except `/healthz` and
//! `/metrics`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::Format;
use crate::store::SharedStore;

/// One rendered output file, ready to serve.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: bytes::Bytes,
    pub gzip: bytes::Bytes,
    pub etag: String,
    /// When this content was first rendered (Unix seconds).
    pub modified: i64,
    pub content_type: &'static str,
}

impl Rendered {
    pub fn new(format: Format, body: Vec<u8>, modified: i64) -> Rendered {
        use std::io::Write;
        let etag = format!(
            "\"{}\"",
            &crate::identity::short_hash(&[&String::from_utf8_lossy(&body)])[..20]
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).expect("writing to a Vec");
        Rendered {
            gzip: gz.finish().expect("writing to a Vec").into(),
            body: body.into(),
            etag,
            modified,
            content_type: format.content_type(),
        }
    }
}

/// Counters the scheduler and refreshes update, for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub fetch_ok: AtomicU64,
    pub fetch_not_modified: AtomicU64,
    pub fetch_error: AtomicU64,
    /// Cumulative counts per bucket of [`DURATION_BUCKETS`], plus +Inf.
    pub duration_buckets: Mutex<Vec<u64>>,
    pub duration_sum_ms: AtomicU64,
}

/// Upper bounds (seconds) of the fetch-duration histogram.
pub const DURATION_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

impl Metrics {
    pub fn observe(&self, outcome: &crate::refresh::Outcome, ms: i64) {
        use crate::refresh::Outcome;
        match outcome {
            Outcome::Stored(_) => &self.fetch_ok,
            Outcome::NotModified => &self.fetch_not_modified,
            Outcome::Failed { .. } => &self.fetch_error,
        }
        .fetch_add(1, Ordering::Relaxed);
        let secs = ms.max(0) as f64 / 1000.0;
        let mut b = self
            .duration_buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if b.is_empty() {
            b.resize(DURATION_BUCKETS.len() + 1, 0);
        }
        for (i, le) in DURATION_BUCKETS.iter().enumerate() {
            if secs <= *le {
                b[i] += 1;
            }
        }
        let last = b.len() - 1;
        b[last] += 1;
        self.duration_sum_ms
            .fetch_add(ms.max(0) as u64, Ordering::Relaxed);
    }
}

/// What the routes read.
pub struct ServerState {
    pub store: SharedStore,
    /// `"name.ext"` → rendering.
    pub outputs: RwLock<HashMap<String, Rendered>>,
    /// Unix seconds of the scheduler's last tick.
    pub last_tick: AtomicI64,
    /// How stale the last tick may be before /healthz says 503.
    pub tick_grace: Duration,
    pub metrics: Metrics,
    /// Sanitised HTML reused across renderings.
    pub html_cache: Arc<Mutex<crate::export::HtmlCache>>,
}

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/{file}", get(output))
        .with_state(state)
}

async fn output(
    State(state): State<Arc<ServerState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(r) = state
        .outputs
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&file)
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, "no such output\n").into_response();
    };
    let last_modified = httpdate(r.modified);
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&r.etag).expect("hex etag"),
    );
    h.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&last_modified).expect("date"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let not_modified = match inm {
        Some(tags) => tags
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == r.etag || t == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| chrono::DateTime::parse_from_rfc2822(s).ok())
            .is_some_and(|since| since.timestamp() >= r.modified),
    };
    if not_modified {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (StatusCode::OK, h, r.gzip).into_response()
    } else {
        (StatusCode::OK, h, r.body).into_response()
    }
}

fn accepts_gzip(v: &str) -> bool {
    v.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim();
        let q_zero = it.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
    })
}

fn httpdate(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

async fn healthz(State(state): State<Arc<ServerState>>) -> Response {
    let answers = state
        .store
        .call(|s| {
            s.conn()
                .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map_err(crate::error::StoreError::ctx("health check"))
        })
        .await;
    // The store must answer, and its last commit must have gone through: a
    // store that reads but cannot write (disk full) is not healthy.
    let store_error = match answers {
        Err(e) => Some(crate::error::chain(&e)),
        Ok(_) => state.store.commit_error(),
    };
    let age = crate::now_unix() - state.last_tick.load(Ordering::Relaxed);
    let ticking = age <= state.tick_grace.as_secs() as i64;
    let mut body = serde_json::json!({
        "store": if store_error.is_none() { "ok" } else { "error" },
        "scheduler": if ticking { "ok" } else { "stalled" },
        "last_tick_age_seconds": age,
    });
    if let Some(e) = &store_error {
        body["store_error"] = e.as_str().into();
    }
    let code = if store_error.is_none() && ticking {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

async fn metrics(State(state): State<Arc<ServerState>>) -> Response {
    let now = crate::now_unix();
    let snapshot = state.store.call(move |s| s.metrics_snapshot(now)).await;
    let Ok(snap) = snapshot else {
        return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response();
    };
    let mut out = String::new();
    use std::fmt::Write;
    let m = &state.metrics;
    let _ = writeln!(
        out,
        "# HELP feedloom_feeds Configured feeds by state.\n# TYPE feedloom_feeds gauge"
    );
    for (st, n) in &snap.feeds_by_state {
        let _ = writeln!(out, "feedloom_feeds{{state=\"{st}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP feedloom_fetches_total Fetches since start, by outcome.\n# TYPE feedloom_fetches_total counter"
    );
    for (name, c) in [
        ("ok", &m.fetch_ok),
        ("not_modified", &m.fetch_not_modified),
        ("error", &m.fetch_error),
    ] {
        let _ = writeln!(
            out,
            "feedloom_fetches_total{{outcome=\"{name}\"}} {}",
            c.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP feedloom_items_stored Items in the store.\n# TYPE feedloom_items_stored gauge\nfeedloom_items_stored {}",
        snap.items
    );
    let _ = writeln!(
        out,
        "# HELP feedloom_fetch_duration_seconds Time per fetch.\n# TYPE feedloom_fetch_duration_seconds histogram"
    );
    let buckets = m
        .duration_buckets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let count = buckets.last().copied().unwrap_or(0);
    for (i, le) in DURATION_BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "feedloom_fetch_duration_seconds_bucket{{le=\"{le}\"}} {}",
            buckets.get(i).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(
        out,
        "feedloom_fetch_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "feedloom_fetch_duration_seconds_sum {}",
        m.duration_sum_ms.load(Ordering::Relaxed) as f64 / 1000.0
    );
    let _ = writeln!(out, "feedloom_fetch_duration_seconds_count {count}");
    let _ = writeln!(
        out,
        "# HELP feedloom_feed_staleness_seconds Time since the feed's last successful fetch (-1: never).\n# TYPE feedloom_feed_staleness_seconds gauge"
    );
    for (url, age) in &snap.staleness {
        let _ = writeln!(
            out,
            "feedloom_feed_staleness_seconds{{feed=\"{}\"}} {age}",
            label(url)
        );
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// Escapes a Prometheus label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br"));
    }
}
