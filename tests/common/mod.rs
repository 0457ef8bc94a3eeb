//! Test helpers: a local feed server on 127.0.0.1:0 whose documents a test
//! changes between polls, and configs pointing at it with a temp store.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use feedloom::config::{self, Config};
use feedloom::store::{SharedStore, Store};

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub struct Resource {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: String,
    /// When set, the server answers 304 to a matching If-None-Match.
    pub etag: Option<String>,
    pub extra_headers: Vec<(String, String)>,
    /// Sleep this long before answering.
    pub delay: Duration,
}

impl Resource {
    pub fn feed(body: impl Into<Vec<u8>>) -> Resource {
        let body = body.into();
        let etag = format!("\"{:x}\"", fxhash(&body));
        Resource {
            status: 200,
            body,
            content_type: "application/rss+xml".into(),
            etag: Some(etag),
            extra_headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Resource {
        Resource {
            status,
            body: b"error page".to_vec(),
            content_type: "text/plain".into(),
            etag: None,
            extra_headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn content_type(mut self, ct: &str) -> Resource {
        self.content_type = ct.to_string();
        self
    }

    pub fn no_etag(mut self) -> Resource {
        self.etag = None;
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Resource {
        self.extra_headers.push((k.into(), v.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Resource {
        self.delay = d;
        self
    }
}

fn fxhash(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in b {
        h ^= u64::from(*x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
    pub status: u16,
    /// Every request header.
    pub headers: HeaderMap,
    /// When the answer was sent (after any delay).
    pub at: std::time::Instant,
}

#[derive(Default)]
pub struct ServerState {
    pub resources: Mutex<HashMap<String, Resource>>,
    pub seen: Mutex<Vec<Seen>>,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

/// A local feed server. Dropping it does not stop it; tests end anyway.
#[derive(Clone)]
pub struct FeedServer {
    pub addr: SocketAddr,
    pub state: Arc<ServerState>,
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        FeedServer::start_on("127.0.0.1").await
    }

    /// A server on the given local address.
    pub async fn start_on(ip: &str) -> FeedServer {
        let state = Arc::new(ServerState::default());
        let app = Router::new().fallback(serve).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FeedServer { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(&self, path: &str, r: Resource) {
        self.state
            .resources
            .lock()
            .unwrap()
            .insert(path.to_string(), r);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    pub fn clear_seen(&self) {
        self.state.seen.lock().unwrap().clear();
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn serve(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let h = req.headers();
    let get =
        |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).map(String::from);
    let inm = get(header::IF_NONE_MATCH);
    let ims = get(header::IF_MODIFIED_SINCE);
    let ua = get(header::USER_AGENT);
    let all_headers = h.clone();
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let res = state.resources.lock().unwrap().get(&path).cloned();
    let resp = match res {
        None => (StatusCode::NOT_FOUND, "no such feed").into_response(),
        Some(r) => {
            if !r.delay.is_zero() {
                tokio::time::sleep(r.delay).await;
            }
            let mut headers = HeaderMap::new();
            for (k, v) in &r.extra_headers {
                headers.insert(
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            if let Some(etag) = &r.etag {
                headers.insert(header::ETAG, HeaderValue::from_str(etag).unwrap());
            }
            if r.status == 200 && r.etag.is_some() && inm.as_deref() == r.etag.as_deref() {
                (StatusCode::NOT_MODIFIED, headers).into_response()
            } else {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(&r.content_type).unwrap(),
                );
                (
                    StatusCode::from_u16(r.status).unwrap(),
                    headers,
                    r.body.clone(),
                )
                    .into_response()
            }
        }
    };
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    state.seen.lock().unwrap().push(Seen {
        path,
        if_none_match: inm,
        if_modified_since: ims,
        user_agent: ua,
        status: resp.status().as_u16(),
        headers: all_headers,
        at: std::time::Instant::now(),
    });
    resp
}

/// A temp folder holding a config file and the store.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `feedloom.toml` (store `feedloom.db` beside it) and loads it.
    pub fn config(&self, body: &str) -> Config {
        let text = format!("[store]\npath = \"feedloom.db\"\n\n{body}");
        let p = self.path("feedloom.toml");
        std::fs::write(&p, text).unwrap();
        config::load(&p).unwrap()
    }

    pub fn open_store(&self) -> SharedStore {
        SharedStore::new(Store::open(&self.path("feedloom.db")).unwrap())
    }

    /// A read-only connection, as a user's sqlite3 would open it.
    pub fn reader(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.path("feedloom.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    /// `count`, or `None` while the store does not exist yet.
    pub fn try_count(&self, sql: &str) -> Option<i64> {
        let conn = rusqlite::Connection::open_with_flags(
            self.path("feedloom.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .ok()?;
        conn.query_row(sql, [], |r| r.get(0)).ok()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.reader().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The day (UTC, `2026-12-07`) of the Unix time `sql` selects.
    pub fn day(&self, sql: &str) -> String {
        chrono::DateTime::from_timestamp(self.count(sql), 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    }
}

/// `[[feed]]` blocks for the given URLs.
pub fn feeds_toml(urls: &[String]) -> String {
    urls.iter()
        .map(|u| format!("[[feed]]\nurl = \"{u}\"\n\n"))
        .collect()
}

/// Two feeds for judging hidden copies: the first carries five stories
/// titled "Comet sighted over town N" and five "Weather report N" that name
/// a comet once, deep in a long text; the second carries copies of the
/// weather reports titled "Comet comet comet N", each with the word
/// `hideme` (for an `exclude` rule to hide).
pub fn comet_feeds() -> (String, String) {
    let long = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(30);
    let (mut shown, mut hidden) = (Vec::new(), Vec::new());
    for k in 0..5 {
        shown.push((
            format!("t{k}"),
            format!("https://n.example/title/{k}"),
            format!("Comet sighted over town {k}"),
            format!("<p>Seen at night from town {k}.</p>"),
        ));
        shown.push((
            format!("w{k}"),
            format!("https://n.example/weather/{k}"),
            format!("Weather report {k}"),
            format!("<p>{long} Also a comet, {k}.</p>"),
        ));
        hidden.push((
            format!("h{k}"),
            format!("https://n.example/weather/{k}"),
            format!("Comet comet comet {k}"),
            "<p>hideme: comet, comet, comet.</p>".to_string(),
        ));
    }
    let feed = |v: &[(String, String, String, String)]| {
        let items: Vec<(Option<&str>, Option<&str>, &str, &str)> = v
            .iter()
            .map(|(a, b, c, d)| (Some(a.as_str()), Some(b.as_str()), c.as_str(), d.as_str()))
            .collect();
        rss("F", &items)
    };
    (feed(&shown), feed(&hidden))
}

/// An RSS document with items `(guid, link, title, description)`.
pub fn rss(title: &str, items: &[(Option<&str>, Option<&str>, &str, &str)]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{title}</title><link>https://example.org/</link><description>d</description>\n"
    );
    for (guid, link, t, d) in items {
        s.push_str("<item>");
        if let Some(g) = guid {
            s.push_str(&format!("<guid isPermaLink=\"false\">{g}</guid>"));
        }
        if let Some(l) = link {
            s.push_str(&format!("<link>{l}</link>"));
        }
        s.push_str(&format!(
            "<title>{t}</title><description>{d}</description></item>\n"
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

/// An RSS document of posts `(n, date)`, each titled `Post {n}` with the
/// text `Text {n}.` and the `pubDate` `{date} {time}`; with `guids`, each
/// has the guid `{n}`, else nothing names it (it is keyed by its content).
pub fn dated_rss(guids: bool, time: &str, posts: &[(&str, &str)]) -> String {
    let items: String = posts
        .iter()
        .map(|(n, date)| {
            let guid = match guids {
                true => format!("<guid>{n}</guid>"),
                false => String::new(),
            };
            format!(
                "<item>{guid}<title>Post {n}</title><description>Text {n}.</description>\
                 <pubDate>{date} {time}</pubDate></item>"
            )
        })
        .collect();
    format!("<rss version=\"2.0\"><channel><title>Dated</title>{items}</channel></rss>")
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}
