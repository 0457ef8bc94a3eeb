//! The HTTP server: rendered outputs (`/{name}.atom|.rss|.json`), `/healthz` and
//! `/metrics`. Outputs are rendered once per store change by the exporter and
//! served from memory; requests never touch the store except `/healthz` and
//! `/metrics`.
//!
//! [`serve`] is the accept loop: at most `max_connections` connections at once,
//! each with a header-read timeout and an idle timeout, so no client can hold
//! the server. When all are taken, a new client takes the place of the
//! connection that has waited longest for a request (none in progress,
//! nothing left to send, for 250 ms or more: half a request's headers, however
//! they trickle in, or idle between requests); only
//! while every one is busy do new connections wait in the kernel's backlog. Every response carries [`CONTENT_SECURITY_POLICY`] and
//! `X-Content-Type-Options: nosniff` ([`security_headers`]).

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
use crate::error::StoreError;
use crate::store::Backend;
use crate::store::queries::FeedHealth;

/// One rendered output file, ready to serve.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: bytes::Bytes,
    pub gzip: bytes::Bytes,
    pub etag: String,
    /// The tag of the gzip encoding ([`gzip_etag`]).
    pub gzip_etag: String,
    /// When this content was first rendered (Unix seconds), or the second
    /// after, when the content it replaced was rendered in the same second
    /// (see [`Rendered::after`]). Served as Last-Modified, never later than
    /// the response's Date.
    pub modified: i64,
    /// The content before this one may have been sent with this date (the
    /// clock went back between the two renders), so If-Modified-Since
    /// cannot tell them apart (the ETag can).
    pub same_second: bool,
    /// When it was rendered (Unix seconds).
    pub rendered_at: i64,
    pub content_type: &'static str,
}

/// An output's body with what serving it needs computed (its ETag, its gzip
/// encoding): the costly part of a [`Rendered`], done on a blocking thread
/// (compressing outputs of tens of megabytes took seconds, on a runtime
/// thread, holding the outputs' lock, and past the stop's deadline).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub body: bytes::Bytes,
    gzip: bytes::Bytes,
    etag: String,
}

impl Prepared {
    pub fn of(body: Vec<u8>) -> Prepared {
        use std::io::Write;
        let etag = format!(
            "\"{}\"",
            &crate::identity::short_hash(&[&String::from_utf8_lossy(&body)])[..20]
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).expect("writing to a Vec");
        Prepared {
            gzip: gz.finish().expect("writing to a Vec").into(),
            body: body.into(),
            etag,
        }
    }
}

impl Rendered {
    pub fn new(format: Format, body: Vec<u8>, modified: i64) -> Rendered {
        Rendered::prepared(format, Prepared::of(body), modified)
    }

    /// [`Rendered::new`] of a body [`Prepared`] before.
    pub fn prepared(format: Format, p: Prepared, modified: i64) -> Rendered {
        Rendered {
            gzip: p.gzip,
            body: p.body,
            gzip_etag: gzip_etag(&p.etag),
            etag: p.etag,
            modified,
            same_second: false,
            rendered_at: modified,
            content_type: format.content_type(),
        }
    }

    /// New content rendered at `now`, replacing `old`. `old` was sent with a
    /// Last-Modified of at most `now` (it is never later than the time it is
    /// sent, taken before the content is picked). So the new content's date
    /// is `now`, unless `old` is dated `now` or later (rendered in this
    /// second): then the next second, served as `now` until that second comes
    /// (clients that got `now` ask again and get the content). However many
    /// contents a second renders, the last one's date tells it apart, never
    /// more than a second ahead. Only when the clock went back can no date
    /// tell the two apart.
    pub fn after(mut self, old: Option<&Rendered>, now: i64) -> Rendered {
        self.rendered_at = now;
        match old {
            Some(o) if o.rendered_at > now => {
                self.modified = o.modified.max(now);
                self.same_second = true;
            }
            Some(o) if o.modified >= now => self.modified = now + 1,
            _ => self.modified = now,
        }
        self
    }

    /// The Last-Modified to send at `now`.
    pub fn last_modified(&self, now: i64) -> i64 {
        self.modified.min(now)
    }

    /// Whether a client whose copy is `since` (If-Modified-Since) holds
    /// this content.
    pub fn unchanged_since(&self, since: i64) -> bool {
        since > self.modified || (since == self.modified && !self.same_second)
    }
}

/// Counters the scheduler and refreshes update, for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub fetch_ok: AtomicU64,
    pub fetch_not_modified: AtomicU64,
    pub fetch_error: AtomicU64,
    /// Feeds not requested while their server's Retry-After was not over.
    pub held: AtomicU64,
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
            Outcome::Held { .. } => {
                self.held.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Outcome::NotStarted => return,
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
    pub store: Backend,
    /// `"name.ext"` → rendering.
    pub outputs: RwLock<HashMap<String, Rendered>>,
    /// Unix seconds of the scheduler's last tick.
    pub last_tick: AtomicI64,
    /// How stale the last tick may be before /healthz says 503.
    pub tick_grace: Duration,
    pub metrics: Metrics,
    /// Sanitised HTML reused across renderings.
    pub html_cache: Arc<Mutex<crate::export::HtmlCache>>,
    /// What the page routes (`/`, river pages after the first) read.
    pub web: crate::web::WebState,
    /// What `/healthz` measures the feeds against.
    pub health: HealthWindow,
}

/// When `/healthz` calls the feeds `degraded` ([`crate::health::degraded_reasons`]).
#[derive(Debug)]
pub struct HealthWindow {
    /// When the daemon started (Unix seconds).
    pub started_at: i64,
    /// `[server] degraded_after`, in seconds (a reload may change it).
    pub degraded_after_secs: AtomicU64,
    /// The feeds' counts and when they were read: reused for [`HEALTH_REUSE`],
    /// so a flood of health checks costs the store one query a second.
    recent: Mutex<Option<(std::time::Instant, FeedHealth)>>,
    /// Why the last retention round failed, worded for `/healthz`; `None`
    /// once a round succeeds (or none has failed).
    pub retention_error: Mutex<Option<String>>,
    /// Why the last reload kept the old config (the file on disk does not
    /// load: a restart would fail), worded for `/healthz`; `None` once a
    /// reload succeeds.
    pub config_error: Mutex<Option<String>>,
    /// What the config on disk changes that only a restart applies (the
    /// store, the listen address, connection limits), worded for `/healthz`;
    /// `None` once a reload names what the daemon runs on again.
    pub restart_needed: Mutex<Option<String>>,
    /// The daemon is stopping (SIGTERM or SIGINT): `/healthz` says so, and
    /// does not call its scheduler, which no longer ticks, stalled.
    pub stopping: std::sync::atomic::AtomicBool,
}

/// How long `/healthz` reuses the feeds' counts.
pub const HEALTH_REUSE: Duration = Duration::from_secs(1);

impl HealthWindow {
    pub fn new(started_at: i64, degraded_after: Duration) -> HealthWindow {
        HealthWindow {
            started_at,
            degraded_after_secs: AtomicU64::new(degraded_after.as_secs()),
            recent: Mutex::new(None),
            stopping: std::sync::atomic::AtomicBool::new(false),
            retention_error: Mutex::new(None),
            config_error: Mutex::new(None),
            restart_needed: Mutex::new(None),
        }
    }

    /// The feeds' counts, read at most once per [`HEALTH_REUSE`]; a store
    /// error is never reused.
    pub async fn feed_health(&self, store: &Backend) -> Result<FeedHealth, StoreError> {
        let fresh = |r: &Option<(std::time::Instant, FeedHealth)>| {
            r.filter(|(at, _)| at.elapsed() < HEALTH_REUSE)
                .map(|(_, h)| h)
        };
        if let Some(h) = fresh(&self.recent.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(h);
        }
        let h = store.feed_health().await?;
        *self.recent.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), h));
        Ok(h)
    }

    pub fn degraded_after(&self) -> Duration {
        Duration::from_secs(self.degraded_after_secs.load(Ordering::Relaxed))
    }
}

impl Default for HealthWindow {
    /// Starting now, with the default `degraded_after`.
    fn default() -> Self {
        HealthWindow::new(
            crate::now_unix(),
            crate::config::ServerConfig::default().degraded_after.0,
        )
    }
}

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/", get(crate::web::index::route))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/search", get(crate::web::search::route))
        .route(
            "/{file}",
            get(crate::web::river::route).fallback(other_method_on_a_file),
        )
        // Any other path (`/all.html/`, `//all.atom`, `/search/`): a 404 that
        // says so, not an empty body without a type.
        .fallback(not_found)
        .with_state(state)
        .layer(axum::middleware::map_response(security_headers))
}

/// A method other than GET or HEAD on `/{file}`: 405 for an output's file,
/// 404 for a path that is none (it was 405 for any, telling a client that a
/// GET would find something there).
async fn other_method_on_a_file(
    State(state): State<Arc<ServerState>>,
    Path(file): Path<String>,
) -> Response {
    let exists = state
        .outputs
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&file);
    match exists {
        true => (
            StatusCode::METHOD_NOT_ALLOWED,
            [
                (header::ALLOW, "GET,HEAD"),
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            ],
            "only GET and HEAD are served here\n",
        )
            .into_response(),
        false => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            not_an_output(&state, &file),
        )
            .into_response(),
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such page\n",
    )
        .into_response()
}

/// The Content-Security-Policy of every response. Feeds and JSON need nothing
/// loaded, run or framed; the pages (`crate::web`) need the stories' images,
/// audio and video and their one stylesheet (allowed by its hash: no other
/// style, inline or not), nothing else. `sandbox` gives a page opened from here
/// no scripts, forms or origin of its own.
pub const CONTENT_SECURITY_POLICY: &str = concat!(
    "default-src 'none'; img-src http: https:; media-src http: https:; style-src '",
    crate::web::style_hash!(),
    "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
);

/// Adds the security headers to a response: every route, status and error
/// (304, 404, 405, 503) goes through here.
pub async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A route with a policy of its own (the search page's form) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    res
}

/// Limits on the server's connections: the `[server]` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl ConnLimits {
    pub fn of(cfg: &crate::config::ServerConfig) -> ConnLimits {
        ConnLimits {
            max_connections: cfg.max_connections.max(1),
            header_timeout: cfg.header_timeout.0,
            idle_timeout: cfg.idle_timeout.0,
        }
    }
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits::of(&crate::config::ServerConfig::default())
    }
}

/// Largest read or write buffer of one connection (request headers must fit).
const MAX_CONN_BUFFER: usize = 64 * 1024;

/// How often a repeated server problem (connection limit reached, accept
/// failing) is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `shutdown` completes; then accepts no more
/// connections, lets each open one finish its current response, and returns
/// when all are closed. Dropping (aborting) the returned future closes them all.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    // Every open connection: when it was accepted, whether a request is in
    // progress on it, and how to close it.
    let open: Arc<Mutex<HashMap<u64, OpenConn>>> = Default::default();
    let mut next_id = 0u64;
    let mut full_logged: Option<std::time::Instant> = None;
    let mut accept_logged: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        // A free slot, then a client. When all are taken, the next client is
        // accepted (one descriptor over the cap) and the connection idle
        // longest makes room for it: no request in progress, nothing left to
        // send, no bytes either way for EVICT_AFTER (half a request's
        // headers, or a keep-alive between requests). A flood of half-open
        // connections kept /healthz waiting for header_timeout. While every
        // connection is busy, the client waits for one to close, and the
        // rest wait in the kernel's backlog.
        let free = slots.clone().try_acquire_owned().ok();
        let full = free.is_none();
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            slot = slots.clone().acquire_owned(), if full => {
                drop(slot);
                continue;
            }
            _ = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                use std::io::ErrorKind::*;
                // One client's failed handshake: go on. Anything else (out
                // of file descriptors): log, pause, retry.
                if !matches!(
                    e.kind(),
                    ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
                ) {
                    if accept_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                        accept_logged = Some(std::time::Instant::now());
                        tracing::error!(error = %e, "cannot accept connections");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                continue;
            }
        };
        let slot = match free {
            Some(slot) => slot,
            None => {
                let slot = loop {
                    if let Ok(slot) = slots.clone().try_acquire_owned() {
                        break Some(slot);
                    }
                    if !evict_idlest(&open) && full_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY)
                    {
                        full_logged = Some(std::time::Instant::now());
                        tracing::warn!(
                            max_connections = limits.max_connections,
                            "connection limit reached and every connection busy: new connections wait until one closes"
                        );
                    }
                    tokio::select! {
                        slot = slots.clone().acquire_owned() => break Some(slot.expect("the semaphore is never closed")),
                        _ = tokio::time::sleep(EVICT_AFTER / 4) => {}
                        _ = &mut shutdown => break None,
                    }
                };
                match slot {
                    Some(slot) => slot,
                    None => break,
                }
            }
        };
        let app = app.clone();
        let closing = closing_rx.clone();
        let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let activity = Arc::new(Activity::new());
        let (id, mine) = (next_id, open.clone());
        next_id += 1;
        // (Listed before the task starts: one that ends at once removes
        // itself after.)
        let mut listed = open.lock().unwrap_or_else(|e| e.into_inner());
        let task = conns.spawn({
            let (busy, activity) = (busy.clone(), activity.clone());
            async move {
                serve_connection(stream, app, limits, closing, busy, activity).await;
                mine.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                drop(slot);
            }
        });
        listed.insert(
            id,
            OpenConn {
                busy,
                activity,
                task,
            },
        );
        drop(listed);
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// An open connection, as the accept loop sees it.
struct OpenConn {
    /// Requests in progress on it (until their response bodies are taken).
    busy: Arc<std::sync::atomic::AtomicUsize>,
    activity: Arc<Activity>,
    task: tokio::task::AbortHandle,
}

/// What a connection's stream did last ([`IdleTimeout`] keeps it).
#[derive(Debug)]
pub struct Activity {
    /// When the connection began waiting for its next request: accepted,
    /// or its last response sent (ms since [`clock_ms`]'s start).
    waiting_since_ms: std::sync::atomic::AtomicU64,
    /// A write waits for the client to read (a response still being sent).
    write_pending: std::sync::atomic::AtomicBool,
    /// Since when writes have waited for the client without any going
    /// through (ms since [`clock_ms`]'s start; 0: one went through last).
    stalled_since_ms: std::sync::atomic::AtomicU64,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            waiting_since_ms: clock_ms().into(),
            write_pending: false.into(),
            stalled_since_ms: 0.into(),
        }
    }

    /// How long the connection has waited for a request, if nothing waits
    /// to be sent: bytes trickling in (a header line every 100 ms) are no
    /// request until the headers end. Such a client was never the one
    /// quiet longest, and a flood of them held /healthz for 18 s.
    fn waiting_for(&self) -> Option<u64> {
        (!self.write_pending.load(Ordering::SeqCst))
            .then(|| clock_ms().saturating_sub(self.waiting_since_ms.load(Ordering::SeqCst)))
    }

    /// How long the client has read nothing of what waits to be sent, if
    /// something does.
    fn stalled_for(&self) -> Option<u64> {
        let since = self.stalled_since_ms.load(Ordering::SeqCst);
        (self.write_pending.load(Ordering::SeqCst) && since > 0)
            .then(|| clock_ms().saturating_sub(since))
    }
}

impl Default for Activity {
    fn default() -> Activity {
        Activity::new()
    }
}

/// Milliseconds on a monotonic clock started by its first use.
fn clock_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// How long a connection must have waited for a request (with none in
/// progress, nothing left to send) before it may be closed to make room: a
/// client's headers arrive at once, far sooner.
const EVICT_AFTER: Duration = Duration::from_millis(250);

/// How long a client must have read nothing of a response waiting for it
/// before its connection may be closed to make room (when no connection
/// waits for a request): clients that sent many requests and read none of
/// the answers held every slot until `idle_timeout`, `/healthz` included.
const EVICT_STALLED_AFTER: Duration = Duration::from_secs(2);

/// Closes the connection that has waited longest for a request (see
/// [`EVICT_AFTER`]), else the one whose client has read nothing longest (see
/// [`EVICT_STALLED_AFTER`]); whether there was one (its slot comes back as
/// its task ends).
fn evict_idlest(open: &Mutex<HashMap<u64, OpenConn>>) -> bool {
    let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
    let idlest = open
        .iter()
        .filter(|(_, c)| c.busy.load(Ordering::SeqCst) == 0)
        .filter_map(|(id, c)| Some((*id, c.activity.waiting_for()?)))
        .filter(|(_, waiting)| *waiting >= EVICT_AFTER.as_millis() as u64)
        .max_by_key(|(_, waiting)| *waiting)
        .map(|(id, _)| id)
        .or_else(|| {
            open.iter()
                .filter_map(|(id, c)| Some((*id, c.activity.stalled_for()?)))
                .filter(|(_, stalled)| *stalled >= EVICT_STALLED_AFTER.as_millis() as u64)
                .max_by_key(|(_, stalled)| *stalled)
                .map(|(id, _)| id)
        });
    match idlest.and_then(|id| open.remove(&id)) {
        Some(c) => {
            c.task.abort();
            true
        }
        None => false,
    }
}

/// A connection's service: counts the requests in progress on it.
struct Counted<S> {
    inner: S,
    busy: Arc<std::sync::atomic::AtomicUsize>,
    activity: Arc<Activity>,
}

/// One request in progress, until its response body is sent (or dropped);
/// the last one's end starts the wait for the next request.
struct Busy(Arc<std::sync::atomic::AtomicUsize>, Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.1.waiting_since_ms.store(clock_ms(), Ordering::SeqCst);
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body holding its request's [`Busy`].
struct CountedBody<B> {
    inner: B,
    _busy: Busy,
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl<S, R, B> hyper::service::Service<R> for Counted<S>
where
    S: hyper::service::Service<R, Response = axum::http::Response<B>>,
    S::Future: Send + 'static,
    B: hyper::body::Body + Unpin,
{
    type Response = axum::http::Response<CountedBody<B>>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn call(&self, req: R) -> Self::Future {
        self.busy.fetch_add(1, Ordering::SeqCst);
        let busy = Busy(self.busy.clone(), self.activity.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            Ok(resp.map(|inner| CountedBody { inner, _busy: busy }))
        })
    }
}

/// One HTTP/1.1 connection, until the client closes it, a timeout fires, or the
/// server is closing (then after the response in progress).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    limits: ConnLimits,
    mut closing: tokio::sync::watch::Receiver<bool>,
    busy: Arc<std::sync::atomic::AtomicUsize>,
    activity: Arc<Activity>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(IdleTimeout::new(stream, limits.idle_timeout).watched(activity.clone()));
    let service = Counted {
        inner: hyper_util::service::TowerToHyperService::new(app),
        busy,
        activity,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_CONN_BUFFER);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut shutting_down = false;
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            _ = closing.wait_for(|c| *c), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "HTTP connection closed");
    }
}

/// A stream that fails with `TimedOut` once it has moved no bytes, in either
/// direction, for `timeout` while someone waits on it.
pub struct IdleTimeout<S> {
    inner: S,
    timeout: Duration,
    deadline: tokio::time::Instant,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    activity: Option<Arc<Activity>>,
}

impl<S> IdleTimeout<S> {
    pub fn new(inner: S, timeout: Duration) -> IdleTimeout<S> {
        let deadline = tokio::time::Instant::now() + timeout;
        IdleTimeout {
            inner,
            timeout,
            deadline,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            activity: None,
        }
    }

    /// Also records in `activity` whether a write waits for the client.
    pub fn watched(mut self, activity: Arc<Activity>) -> IdleTimeout<S> {
        self.activity = Some(activity);
        self
    }

    fn progress(&mut self) {
        self.deadline = tokio::time::Instant::now() + self.timeout;
    }

    /// Whether a write waits for the client (its poll was not ready).
    fn writing<T>(&self, poll: &std::task::Poll<T>) {
        if let Some(a) = &self.activity {
            a.write_pending.store(poll.is_pending(), Ordering::SeqCst);
            match poll.is_pending() {
                true => {
                    let _ = a.stalled_since_ms.compare_exchange(
                        0,
                        clock_ms().max(1),
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                }
                false => a.stalled_since_ms.store(0, Ordering::SeqCst),
            }
        }
    }

    /// Called when the inner stream is not ready: an error once the deadline passed.
    fn poll_idle(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Error> {
        use std::future::Future;
        if self.sleep.deadline() != self.deadline {
            self.sleep.as_mut().reset(self.deadline);
        }
        match self.sleep.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => std::task::Poll::Ready(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connection idle too long",
            )),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    fn track<T>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        poll: std::task::Poll<std::io::Result<T>>,
    ) -> std::task::Poll<std::io::Result<T>> {
        use std::task::Poll;
        match poll {
            Poll::Ready(r) => {
                self.progress();
                Poll::Ready(r)
            }
            Poll::Pending => self.poll_idle(cx).map(Err),
        }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for IdleTimeout<S> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let poll = std::pin::Pin::new(&mut this.inner).poll_read(cx, buf);
        this.track(cx, poll)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = std::pin::Pin::new(&mut this.inner).poll_write(cx, buf);
        this.writing(&poll);
        this.track(cx, poll)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = std::pin::Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.writing(&poll);
        this.track(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let poll = std::pin::Pin::new(&mut this.inner).poll_flush(cx);
        this.track(cx, poll)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let poll = std::pin::Pin::new(&mut this.inner).poll_shutdown(cx);
        this.track(cx, poll)
    }
}

/// Why `file` is no output: "no such output", or the output it names is
/// not published in that format (`news.rss` of an output of Atom and HTML
/// was "no such output" too).
pub(crate) fn not_an_output(state: &ServerState, file: &str) -> String {
    let Some((name, ext)) = file.rsplit_once('.') else {
        return "no such output\n".to_string();
    };
    // (Only a format's own name: `news.RSS` or `news.xml` was "not
    // published as RSS", of an output published as rss.)
    let format = ["atom", "rss", "json", "html"].contains(&ext);
    let outputs = state.web.outputs.read().unwrap_or_else(|e| e.into_inner());
    match outputs.iter().find(|o| o.name() == name).filter(|_| format) {
        Some(o) => format!(
            "output `{name}` is not published as {} (its formats: {})\n",
            crate::error::quoted(ext, 40),
            o.formats
                .iter()
                .map(|f| f.extension())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "no such output\n".to_string(),
    }
}

/// A rendered output from memory, with ETag/304, Last-Modified and gzip.
pub(crate) async fn output(
    State(state): State<Arc<ServerState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    // (Taken before the content is picked: a content is never dated later
    // than the one that replaces it, see `Rendered::after`.)
    let now = crate::now_unix();
    let Some(r) = state
        .outputs
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&file)
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, not_an_output(&state, &file)).into_response();
    };
    let last_modified = httpdate(r.last_modified(now));
    // (A field sent on several lines is one list, RFC 9110 §5.3.)
    let field = |name: header::HeaderName| {
        let lines: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!lines.is_empty()).then(|| lines.join(","))
    };
    let gzip = field(header::ACCEPT_ENCODING).is_some_and(|v| accepts_gzip(&v));
    // Each encoding is its own representation, with its own strong tag.
    let etag = if gzip { &r.gzip_etag } else { &r.etag };
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex etag"));
    h.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&last_modified).expect("date"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Either encoding's tag names the same content: what the client holds is
    // current. A date that is no HTTP-date, or later than now, is ignored
    // (RFC 9110 §13.1.3): a client whose clock runs ahead was told "not
    // modified" until the content changed again after its date.
    // (Which representation the client holds, when its tag says: a 304's
    // length is that one's.)
    let mut held_gzip = gzip;
    let not_modified = match field(header::IF_NONE_MATCH) {
        Some(tags) => tags
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| {
                if t == r.etag || t == r.gzip_etag {
                    held_gzip = t == r.gzip_etag;
                }
                t == r.etag || t == r.gzip_etag || t == "*"
            }),
        // (Sent twice, it is no one date: ignored too.)
        None => field(header::IF_MODIFIED_SINCE)
            .filter(|_| headers.get_all(header::IF_MODIFIED_SINCE).iter().count() == 1)
            .and_then(|v| http_date(&v))
            .is_some_and(|since| since <= now && r.unchanged_since(since)),
    };
    if not_modified {
        // The length of what the client holds (RFC 9110 §8.6 allows only
        // that on a 304): the framework put "0" on a HEAD's 304, which a
        // cache merging the headers took for an empty feed. (A GET's 304
        // goes out without it.)
        let len = if held_gzip {
            r.gzip.len()
        } else {
            r.body.len()
        };
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (StatusCode::OK, h, r.gzip).into_response()
    } else {
        (StatusCode::OK, h, r.body).into_response()
    }
}

/// An HTTP-date as a client sends it (RFC 9110 §5.6.7): IMF-fixdate, or one
/// of the two obsolete forms; anything else (a zone other than GMT, a
/// five-digit year) is none.
fn http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .filter(|t| (1970..10_000).contains(&chrono::Datelike::year(t)))
    .map(|t| t.and_utc().timestamp())
}

/// The tag of the gzip encoding of the output tagged `etag` (`"…"`).
fn gzip_etag(etag: &str) -> String {
    format!("{}-gzip\"", etag.trim_end_matches('"'))
}

/// Whether an `Accept-Encoding` value takes gzip (RFC 9110 §12.5.3): `gzip`
/// (or `x-gzip`) with a non-zero weight, else `*` with one when gzip is not
/// named at all. `gzip;q=0, *` refuses gzip.
fn accepts_gzip(v: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for part in v.split(',') {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim();
        let weight = it
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| v.trim().parse::<f32>().ok())
            })
            .next()
            .map_or(1.0, |q| q.unwrap_or(0.0));
        let accepted = weight > 0.0;
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            named = Some(named.unwrap_or(false) || accepted);
        } else if coding == "*" {
            any = Some(any.unwrap_or(false) || accepted);
        }
    }
    named.or(any).unwrap_or(false)
}

fn httpdate(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// `/healthz`: `status` is `stopping` (HTTP 503) through a graceful stop;
/// `error` (HTTP 503) when the store does not answer,
/// its last commit failed or the scheduler stalled; `degraded` (HTTP 200) when
/// the feeds are not doing their job ([`crate::health::degraded_reasons`]);
/// else `ok`. The body counts the feeds and says why.
async fn healthz(State(state): State<Arc<ServerState>>) -> Response {
    // A store that does not answer (PostgreSQL stopped mid-query, a lock held
    // for long) is an error said in time, not a request that hangs.
    let counts = tokio::time::timeout(STORE_ANSWER, state.health.feed_health(&state.store)).await;
    let now = crate::now_unix();
    // The store must answer, and its last commit must have gone through: a
    // store that reads but cannot write (disk full) is not healthy.
    let (counts, store_error) = match counts {
        Err(_) => (None, Some(no_answer())),
        Ok(Err(e)) => (None, Some(crate::error::chain(&e))),
        Ok(Ok(c)) => (Some(c), state.store.store_error(now)),
    };
    let age = now - state.last_tick.load(Ordering::Relaxed);
    let stopping = state.health.stopping.load(Ordering::Relaxed);
    let ticking = age <= state.tick_grace.as_secs() as i64 || stopping;
    let degraded_after = state.health.degraded_after();
    let mut reasons = Vec::new();
    // (A graceful stop said from its start, a 503 so that a load balancer
    // drains: it answered "ok" while nothing was fetched, then "scheduler
    // stalled", which sent the operator looking for a hang.)
    if stopping {
        reasons.push(
            "stopping: no new fetches; those in flight get until [server] shutdown_timeout"
                .to_string(),
        );
    }
    if let Some(e) = &store_error {
        reasons.push(format!("store: {e}"));
    }
    if !ticking {
        reasons.push(format!("scheduler stalled: last tick {age}s ago"));
    }
    let failed = !reasons.is_empty();
    if let Some(c) = &counts {
        reasons.extend(crate::health::degraded_reasons(
            c,
            now,
            state.health.started_at,
            degraded_after,
        ));
    }
    for held in [
        &state.health.retention_error,
        &state.health.config_error,
        &state.health.restart_needed,
    ] {
        if let Some(e) = held.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            reasons.push(e.clone());
        }
    }
    {
        let files = state
            .web
            .file_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((path, e)) = files.0.first() {
            reasons.push(format!(
                "{} output file(s) could not be written (tried again after 10 s, doubling to 5 min): {}: {e}",
                files.0.len(),
                path.display()
            ));
        }
    }
    let status = if stopping {
        "stopping"
    } else if failed {
        "error"
    } else if reasons.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    let mut body = serde_json::json!({
        "status": status,
        "store": if store_error.is_none() { "ok" } else { "error" },
        "scheduler": if ticking { "ok" } else { "stalled" },
        "last_tick_age_seconds": age,
        "reasons": reasons,
        "degraded_after_seconds": degraded_after.as_secs(),
    });
    if let Some(c) = counts {
        body["feeds"] = serde_json::json!({
            "ok": c.ok,
            "failing": c.failing,
            "disabled": c.disabled,
            "never_fetched": c.never_fetched,
        });
        body["last_success_age_seconds"] = c.last_success_at.map(|t| now - t).into();
    }
    if let Some(e) = &store_error {
        body["store_error"] = e.as_str().into();
    }
    let code = if failed {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        code,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("{body}\n"),
    )
        .into_response()
}

/// How long `/healthz` and `/metrics` wait for the store before answering 503.
pub const STORE_ANSWER: std::time::Duration = std::time::Duration::from_secs(5);

fn no_answer() -> String {
    format!(
        "the store did not answer within {}s",
        STORE_ANSWER.as_secs()
    )
}

async fn metrics(State(state): State<Arc<ServerState>>) -> Response {
    let now = crate::now_unix();
    let snapshot = tokio::time::timeout(
        STORE_ANSWER,
        state.store.read_try(move |s| s.metrics_snapshot(now)),
    )
    .await;
    let snap = match snapshot {
        Ok(Ok(snap)) => snap,
        Ok(Err(_)) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response();
        }
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{}\n", no_answer()),
            )
                .into_response();
        }
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
        "# HELP feedloom_requests_held_total Feeds not requested since start because their server's Retry-After was not over.\n# TYPE feedloom_requests_held_total counter\nfeedloom_requests_held_total {}",
        m.held.load(Ordering::Relaxed)
    );
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
            label(&crate::urls::shown_feed_url(url))
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
        // A refusal holds against `*`, in any case, with spaces.
        assert!(!accepts_gzip("gzip;q=0, *"));
        assert!(!accepts_gzip("gzip;Q=0"));
        assert!(!accepts_gzip("gzip ; q = 0.000"));
        assert!(!accepts_gzip("*;q=0"));
        assert!(accepts_gzip("br, *"));
        assert!(accepts_gzip("x-gzip"));
        assert!(!accepts_gzip(""));
    }

    #[test]
    fn renders_within_one_second_get_dates_that_tell_them_apart() {
        let new = |body: &[u8]| Rendered::new(Format::Atom, body.to_vec(), 0);
        let a = new(b"a").after(None, 100);
        assert_eq!((a.modified, a.last_modified(100)), (100, 100));
        assert!(a.unchanged_since(100) && !a.unchanged_since(99));
        // b in the same second: dated the next one, sent as 100 until then;
        // a client holding "100" (a) gets b.
        let b = new(b"b").after(Some(&a), 100);
        assert_eq!((b.modified, b.last_modified(100)), (101, 100));
        assert!(!b.unchanged_since(100));
        assert!(b.unchanged_since(101));
        // c in that second too: b was sent as 100 only, so c's 101 tells
        // them apart; a client that later holds 101 holds c (it was answered
        // 200 for ever after, until the output changed again).
        let c = new(b"c").after(Some(&b), 100);
        assert_eq!((c.modified, c.same_second), (101, false));
        assert!(!c.unchanged_since(100) && c.unchanged_since(101));
        // Never further ahead than a second, and back to now afterwards.
        let d = new(b"d").after(Some(&c), 100);
        assert_eq!(d.modified, 101);
        // The next second: d may have been sent as 101.
        let d2 = new(b"d2").after(Some(&d), 101);
        assert_eq!(d2.modified, 102);
        assert!(!d2.unchanged_since(101) && d2.unchanged_since(102));
        let e = new(b"e").after(Some(&d2), 105);
        assert_eq!((e.modified, e.same_second), (105, false));
        // The clock went back: e may have been sent as 105, so no date tells.
        let f = new(b"f").after(Some(&e), 103);
        assert_eq!((f.modified, f.same_second), (105, true));
        assert!(!f.unchanged_since(105) && f.unchanged_since(106));
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        let t = 784_111_777;
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(http_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(http_date(&httpdate(t)), Some(t));
        // No HTTP-date: ignored, as RFC 9110 says.
        for bad in [
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 +0100",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Fri, 01 Jan 99999 00:00:00 GMT",
            "06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_encoding_has_its_own_tag() {
        assert_eq!(gzip_etag("\"abc\""), "\"abc-gzip\"");
    }
}
