//! What the daemon says about a fetch: a network failure is one readable line
//! that names the URL once and the root cause (stored on the feed and logged),
//! and the per-fetch log line's fields are plain values (numbers in JSON logs).
//!
//! Every failure is a real one on 127.0.0.1; names are resolved by an injected
//! resolver (no test resolves a real name).

mod common;

use std::path::Path;
use std::process::Command;
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
        "timeout after 1s, without an answer (no status line and headers came)",
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

/// `feedloom poll` against a local server, its log lines on stderr.
async fn poll_logs(format: &str) -> (FeedServer, Vec<String>, String) {
    let srv = FeedServer::start().await;
    srv.set(
        "/ok.xml",
        Resource::feed(rss(
            "Ok",
            &[(Some("1"), None, "one", "d"), (Some("2"), None, "two", "d")],
        )),
    );
    srv.set("/missing.xml", Resource::status(404));
    let refused = format!("http://127.0.0.1:{}/down.xml", closed_port());
    let urls = vec![srv.url("/ok.xml"), srv.url("/missing.xml"), refused.clone()];
    let env = TestEnv::new();
    env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&urls)
    ));
    let cfg = env.path("feedloom.toml");
    let format = format.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .args(["--log-format", &format, "poll"])
            .env("FEEDLOOM_LOG", "info")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let lines = stderr.lines().map(String::from).collect();
    (srv, lines, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_numbers_and_plain_values() {
    let (srv, lines, refused) = poll_logs("json").await;
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let by_feed = |url: &str| -> &serde_json::Value {
        events
            .iter()
            .find(|e| {
                e["span"]["feed"] == url
                    && matches!(
                        e["fields"]["message"].as_str(),
                        Some("fetched" | "fetch failed")
                    )
            })
            .unwrap_or_else(|| panic!("no fetch line for {url} in {lines:#?}"))
    };
    let ok = &by_feed(&srv.url("/ok.xml"))["fields"];
    assert_eq!(ok["status"], "ok");
    assert_eq!(ok["new"].as_u64(), Some(2), "{ok}");
    assert!(ok["ms"].is_u64(), "ms is a number: {ok}");
    assert!(ok.get("http_status").is_none(), "{ok}");

    let missing = &by_feed(&srv.url("/missing.xml"))["fields"];
    assert_eq!(missing["status"], "error");
    assert_eq!(missing["http_status"].as_u64(), Some(404), "{missing}");
    assert_eq!(missing["gone"], false);
    assert!(missing["ms"].is_u64(), "{missing}");
    assert_eq!(missing["error"], "answered HTTP 404");

    let down = &by_feed(&refused)["fields"];
    assert!(
        down.get("http_status").is_none(),
        "no response, no status: {down}"
    );
    assert_eq!(down["error"], "connect: refused", "{down}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_logs_show_plain_values_and_the_url_once() {
    let (srv, lines, refused) = poll_logs("human").await;
    let line = |url: &str| -> &String {
        lines
            .iter()
            .find(|l| l.contains(url) && l.contains("fetch"))
            .unwrap_or_else(|| panic!("no line for {url} in {lines:#?}"))
    };
    let missing = line(&srv.url("/missing.xml"));
    assert!(missing.contains("http_status=404"), "{missing}");
    assert!(missing.contains("status=error"), "{missing}");
    let down = line(&refused);
    assert!(down.contains("error=connect: refused"), "{down}");
    assert!(!down.contains("http_status"), "{down}");
    assert_eq!(down.matches(&refused).count(), 1, "{down}");
    for l in &lines {
        assert!(!l.contains("Some("), "{l}");
    }
    assert!(line(&srv.url("/ok.xml")).contains("new=2"));
}

/// With `--log-format json`, the error that stops feedloom is a JSON line
/// like every other (a config error's two lines were plain text among them),
/// and each cause is said once.
#[test]
fn a_fatal_error_is_one_json_line_in_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[feed]]\nurl = 5\n").unwrap();
    let notdb = dir.path().join("c.toml");
    std::fs::write(
        dir.path().join("s.db"),
        "not a database at all, not at all\n",
    )
    .unwrap();
    std::fs::write(
        &notdb,
        "[store]\npath = \"s.db\"\n\n[[feed]]\nurl = \"http://127.0.0.1:9/f.xml\"\n",
    )
    .unwrap();
    for (cfg, code, says) in [(&bad, 2, "bad.toml:2:7"), (&notdb, 1, "cannot open store")] {
        let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(["--log-format", "json", "--config"])
            .arg(cfg)
            .arg("poll")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "ERROR", "{v}");
        let error = v["fields"]["error"].as_str().unwrap();
        assert!(error.contains(says), "{error}");
        assert_eq!(
            error.matches("file is not a database: file is not").count(),
            0,
            "{error}"
        );
    }
}

/// `FEEDLOOM_LOG` set to what turns on no feedloom line (`warning`, another
/// program's target), to nothing (systemd's `Environment=FEEDLOOM_LOG=`),
/// or to what cannot be read: feedloom logs at info and says why (it logged
/// nothing at all, errors included). `off` still silences it.
#[test]
fn a_log_filter_that_silences_feedloom_by_mistake_is_said() {
    let env = TestEnv::new();
    let refused = format!("http://127.0.0.1:{}/down.xml", closed_port());
    env.config(&feeds_toml(&[refused]));
    let cfg = env.path("feedloom.toml");
    let poll = |value: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .arg("--config")
            .arg(&cfg)
            .args(["poll", "--all"])
            .env("FEEDLOOM_LOG", value)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for value in [
        "warning",
        "tower_http=debug",
        "",
        "[",
        "=x",
        "Feedloom=info",
        "FEEDLOOM=debug",
        "feedloom:warn",
    ] {
        let err = poll(value);
        assert!(
            err.contains("fetch failed"),
            "{value:?}: the failing feed is logged\n{err}"
        );
        if !value.is_empty() {
            assert!(
                err.contains("FEEDLOOM_LOG=") && err.contains("logging at info"),
                "{value:?}\n{err}"
            );
        }
    }
    for value in [
        "warn",
        "feedloom=debug",
        "WARN",
        "feedloom::refresh=warn",
        "feedloom",
        "feedloom::refresh",
    ] {
        let err = poll(value);
        assert!(
            err.contains("fetch failed") && !err.contains("FEEDLOOM_LOG="),
            "{value}\n{err}"
        );
    }
    assert!(!poll("off").contains("fetch failed"));
}

/// A private feed's `?token=` never reaches the log: the feed's URL in each
/// line's span is shown as `/metrics` shows it (the secret's value hidden).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_never_carries_a_feeds_token() {
    let srv = FeedServer::start().await;
    srv.set(
        "/p.xml",
        Resource::feed(rss("P", &[(Some("1"), None, "one", "d")])),
    );
    srv.set("/gone.xml", Resource::status(404));
    // A port nothing listens on: the request fails (logged at debug).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A redirect to a signed address that is no feed: the error names it.
    srv.set(
        "/moved.xml",
        Resource::status(302).header(
            "location",
            &srv.url("/login?next=/feed&sig=SIGNEDSECRET789"),
        ),
    );
    srv.set(
        "/login",
        Resource::feed("<html><body>log in</body></html>").content_type("text/html"),
    );
    let env = TestEnv::new();
    env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[
            format!("{}?token=SECRETTOKEN123", srv.url("/p.xml")),
            format!("{}?api_key=SECRETKEY456", srv.url("/gone.xml")),
            srv.url("/moved.xml"),
            format!("http://127.0.0.1:{closed}/down.xml?token=SECRETDOWN000"),
        ])
    ));
    let cfg = env.path("feedloom.toml");
    for format in ["json", "human"] {
        let cfg = cfg.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_feedloom"))
                .arg("--config")
                .arg(&cfg)
                .args(["--log-format", format, "poll", "--all"])
                .env("FEEDLOOM_LOG", "debug")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("p.xml?token=***"), "{stderr}");
        assert!(stderr.contains("login?next=/feed&sig=***"), "{stderr}");
        assert!(
            !stderr.contains("SECRETTOKEN123")
                && !stderr.contains("SECRETKEY456")
                && !stderr.contains("SIGNEDSECRET789")
                && !stderr.contains("SECRETDOWN000"),
            "{stderr}"
        );
    }
}
