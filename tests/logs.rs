//! What the daemon says about a fetch: a network failure is one readable line
//! that names the URL once and the root cause (stored on the feed and logged),
//! and the per-fetch log line's fields are plain values (numbers in JSON logs).
//!
//! Every failure is a real one on 127.0.0.1; names are resolved by an injected
//! resolver (no test resolves a real name).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use feedloom::config::{self, FetchConfig};
use feedloom::error::FetchError;
use feedloom::fetch::{Fetcher, Lookup, Network, Origin, Validators};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

fn fetch_cfg(extra: &str) -> FetchConfig {
    config::parse(
        &format!("[fetch]\nhost_gap = \"0s\"\n{extra}\n"),
        Path::new("x.toml"),
    )
    .unwrap()
    .fetch
}

/// A resolver that knows no name: every lookup says "no such host".
fn no_names() -> Network {
    let lookup: Arc<dyn Lookup> = Arc::new(|host: &str| {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no test name {host}"),
        ))
    });
    Network {
        lookup,
        treat_as_public: Vec::new(),
    }
}

async fn fetch_err(f: &Fetcher, url: &str) -> FetchError {
    let u = Url::parse(url).unwrap();
    let origin = Origin::configured(&u, Arc::default());
    match f.fetch(&u, &Validators::default(), &origin).await {
        Ok(o) => panic!("{url}: expected a failure, got {o:?}"),
        Err(e) => e,
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A raw server on 127.0.0.1: reads the request, then answers `reply` and
/// closes (or, with `reset`, resets the connection without a word).
async fn raw_server(reply: &'static [u8], reset: bool) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            if reset {
                // SO_LINGER 0: close() sends RST instead of FIN (deprecated
                // because a linger can block on drop; a zero one never does).
                #[allow(deprecated)]
                s.set_linger(Some(Duration::ZERO)).unwrap();
                drop(s);
                continue;
            }
            let _ = s.write_all(reply).await;
            let _ = s.flush().await;
        }
    });
    port
}

/// A server that accepts connections and never answers.
async fn silent_server() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            open.push(s);
        }
    });
    port
}

fn assert_one_line(url: &str, msg: &str, cause: &str) {
    assert_eq!(msg, format!("{url}: {cause}"), "the whole message");
    assert_eq!(msg.matches(url).count(), 1, "the URL once: {msg}");
    for noise in ["os error", "error sending request", "client error", "Some("] {
        assert!(!msg.contains(noise), "`{noise}` in {msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_failures_name_the_url_once_and_the_root_cause() {
    let f = Fetcher::with_network(&fetch_cfg("timeout = \"1s\""), no_names()).unwrap();

    let url = format!("http://127.0.0.1:{}/feed.xml", closed_port());
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "connect: refused",
    );

    let url = "http://nowhere.test/feed.xml";
    assert_one_line(
        url,
        &fetch_err(&f, url).await.to_string(),
        "dns: no such host `nowhere.test`",
    );

    let url = format!("http://127.0.0.1:{}/feed.xml", silent_server().await);
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "timeout after 1s",
    );

    // TLS to a port that speaks plain HTTP.
    let plain = FeedServer::start().await;
    let url = format!("https://127.0.0.1:{}/feed.xml", plain.addr.port());
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "tls: the server did not answer in TLS (plain HTTP on this port?)",
    );

    // The body stops early: with a Content-Length, and chunked.
    let port = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>abc",
        false,
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/feed.xml");
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "body: connection closed after 8 of 1000 bytes",
    );
    let port = raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n<rss>abc",
        false,
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/feed.xml");
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "body: connection closed after 8 bytes",
    );

    // Closed without a response; reset; not HTTP at all.
    let url = format!("http://127.0.0.1:{}/f", raw_server(b"", false).await);
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "connection closed before the response was complete",
    );
    let url = format!("http://127.0.0.1:{}/f", raw_server(b"", true).await);
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "connection reset",
    );
    let url = format!(
        "http://127.0.0.1:{}/f",
        raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", false).await
    );
    assert_one_line(
        &url,
        &fetch_err(&f, &url).await.to_string(),
        "http: invalid response: invalid HTTP version parsed",
    );
    let port = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\nnot gzip!!",
        false,
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/f");
    let msg = fetch_err(&f, &url).await.to_string();
    assert!(
        msg.starts_with(&format!(
            "{url}: body: invalid compressed data (invalid gzip header)"
        )),
        "{msg}"
    );
}

/// Through a poll: the feed's stored error is the same one line, and a failure
/// without a response has no HTTP status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_error_is_the_same_line() {
    let env = TestEnv::new();
    let refused = format!("http://127.0.0.1:{}/feed.xml", closed_port());
    let unknown = "http://nowhere.test/feed.xml".to_string();
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[refused.clone(), unknown.clone()])
    ));
    let fetcher = Fetcher::with_network(&cfg.fetch, no_names()).unwrap();
    let (summary, _) = feedloom::refresh::poll_with(&cfg, env.open_store(), fetcher)
        .await
        .unwrap();
    assert_eq!(summary.failed, 2);
    let stored = |url: &str| -> (String, Option<i64>) {
        env.reader()
            .query_row(
                "SELECT last_error, last_http_status FROM feeds WHERE url = ?1",
                [url],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    assert_eq!(
        stored(&refused),
        (format!("{refused}: connect: refused"), None)
    );
    assert_eq!(
        stored(&unknown),
        (format!("{unknown}: dns: no such host `nowhere.test`"), None)
    );
}
