//! `/healthz` of a daemon running in-process (`app::run` on port 0): `ok`,
//! `degraded` (HTTP 200) when no feed has succeeded within `[server]
//! degraded_after` or every feed is failing, with the feeds' counts; `error`
//! (503) stays for a stalled scheduler or a failing store.

mod common;

use std::time::{Duration, Instant};

use common::*;
use feedloom::app;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

struct Daemon {
    addr: std::net::SocketAddr,
    env: TestEnv,
    stop: oneshot::Sender<()>,
    reload: mpsc::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), app::AppError>>,
}

impl Daemon {
    async fn start(body: &str) -> Daemon {
        Daemon::start_in(TestEnv::new(), body).await
    }

    /// [`Daemon::start`] on a store made beforehand in `env`.
    async fn start_in(env: TestEnv, body: &str) -> Daemon {
        let cfg = env.config(body);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (reload, reload_rx) = mpsc::channel(4);
        let handle = tokio::spawn(app::run(
            cfg,
            listener,
            async move {
                let _ = stop_rx.await;
            },
            reload_rx,
        ));
        Daemon {
            addr,
            env,
            stop,
            reload,
            handle,
        }
    }

    async fn health(&self) -> (u16, Value) {
        let r = reqwest::get(format!("http://{}/healthz", self.addr))
            .await
            .unwrap();
        let code = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (code, v)
    }

    /// Asks `/healthz` every 100 ms for up to `secs` until `cond` holds;
    /// returns the last answer.
    async fn health_until(&self, secs: u64, cond: impl Fn(&Value) -> bool) -> (u16, Value) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let h = self.health().await;
            if cond(&h.1) || Instant::now() > end {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the daemon, giving what it ended with.
    async fn stopped(self) -> Result<(), app::AppError> {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("daemon stops")
            .unwrap()
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("daemon stops")
            .unwrap()
            .unwrap();
    }
}

fn config(server: &str, feeds: &[(String, &str)]) -> String {
    let mut s = format!(
        "[fetch]\nhost_gap = \"0s\"\n\n[defaults]\nspread = \"1s\"\n\n[server]\nshutdown_timeout = \"1s\"\n{server}\n\n"
    );
    for (url, extra) in feeds {
        s += &format!("[[feed]]\nurl = \"{url}\"\n{extra}\n\n");
    }
    s
}

fn counts(v: &Value) -> [Option<u64>; 4] {
    ["ok", "failing", "disabled", "never_fetched"].map(|k| v["feeds"][k].as_u64())
}

fn reasons(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons array: {v}"))
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

/// A server that accepts connections and never answers: its feed stays
/// "never fetched" while the fetch waits.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_start_is_ok_and_turns_degraded_when_nothing_succeeds_in_time() {
    let port = silent_server().await;
    let d = Daemon::start(&config(
        "degraded_after = \"3s\"",
        &[(format!("http://127.0.0.1:{port}/feed.xml"), "")],
    ))
    .await;
    let (code, v) = d.health().await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "ok", "a fresh start is not degraded: {v}");
    assert_eq!(counts(&v), [Some(0), Some(0), Some(0), Some(1)], "{v}");
    assert!(v["last_success_age_seconds"].is_null(), "{v}");
    assert_eq!(v["degraded_after_seconds"].as_u64(), Some(3), "{v}");
    assert_eq!(reasons(&v), Vec::<String>::new());

    let (code, v) = d.health_until(10, |v| v["status"] == "degraded").await;
    assert_eq!((code, v["status"].as_str()), (200, Some("degraded")), "{v}");
    assert_eq!(
        reasons(&v),
        ["no feed has succeeded in 3s (none ever)"],
        "{v}"
    );
    assert_eq!(v["store"], "ok");
    assert_eq!(v["scheduler"], "ok");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feed_failing_is_degraded_until_one_succeeds() {
    let srv = FeedServer::start().await;
    srv.set("/feed.xml", Resource::status(500));
    srv.set("/gone.xml", Resource::status(410));
    let d = Daemon::start(&config(
        "degraded_after = \"1h\"",
        &[
            (srv.url("/feed.xml"), "every = \"1s\""),
            (srv.url("/gone.xml"), "every = \"1s\""),
        ],
    ))
    .await;
    let (code, v) = d
        .health_until(10, |v| {
            v["feeds"]["failing"] == 1 && v["feeds"]["disabled"] == 1
        })
        .await;
    assert_eq!(code, 200, "degraded is still 200: {v}");
    assert_eq!(v["status"], "degraded", "{v}");
    assert_eq!(counts(&v), [Some(0), Some(1), Some(1), Some(0)], "{v}");
    assert_eq!(reasons(&v), ["the only enabled feed is failing"], "{v}");
    assert!(v["last_success_age_seconds"].is_null(), "{v}");
    assert!(v["last_tick_age_seconds"].is_i64(), "{v}");

    // The feed recovers on its next attempt (after its backoff).
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "x", "d")])),
    );
    let (code, v) = d.health_until(15, |v| v["status"] == "ok").await;
    assert_eq!((code, v["status"].as_str()), (200, Some("ok")), "{v}");
    assert_eq!(counts(&v), [Some(1), Some(0), Some(1), Some(0)], "{v}");
    assert!(
        v["last_success_age_seconds"]
            .as_i64()
            .is_some_and(|a| (0..15).contains(&a)),
        "{v}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_stops_succeeding_degrades_after_the_window_and_reload_moves_it() {
    let srv = FeedServer::start().await;
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "x", "d")])),
    );
    let feeds = [(srv.url("/feed.xml"), "every = \"1h\"")];
    let d = Daemon::start(&config("degraded_after = \"2s\"", &feeds)).await;
    let (_, v) = d.health_until(10, |v| v["feeds"]["ok"] == 1).await;
    assert_eq!(v["status"], "ok", "{v}");
    // Its next fetch is an hour away: after 2s without a success, degraded.
    let (code, v) = d.health_until(10, |v| v["status"] == "degraded").await;
    assert_eq!(code, 200, "{v}");
    let r = reasons(&v);
    assert_eq!(r.len(), 1, "{v}");
    assert!(
        r[0].starts_with("no feed has succeeded in 2s (last success "),
        "{v}"
    );
    assert!(v["last_success_age_seconds"].as_i64().unwrap() > 2, "{v}");
    assert_eq!(counts(&v), [Some(1), Some(0), Some(0), Some(0)], "{v}");

    // A reload with a longer window: ok again.
    d.env.config(&config("degraded_after = \"1h\"", &feeds));
    d.reload.send(()).await.unwrap();
    let (_, v) = d.health_until(10, |v| v["status"] == "ok").await;
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["degraded_after_seconds"].as_u64(), Some(3600), "{v}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feed_disabled_is_degraded() {
    let srv = FeedServer::start().await;
    srv.set("/gone.xml", Resource::status(410));
    let d = Daemon::start(&config("", &[(srv.url("/gone.xml"), "")])).await;
    let (code, v) = d.health_until(10, |v| v["feeds"]["disabled"] == 1).await;
    assert_eq!((code, v["status"].as_str()), (200, Some("degraded")), "{v}");
    let r = reasons(&v);
    assert!(
        r.len() == 1 && r[0].starts_with("every feed is disabled (1 after 410 Gone"),
        "{v}"
    );
    assert_eq!(
        v["degraded_after_seconds"].as_u64(),
        Some(6 * 3600),
        "the default: {v}"
    );
    d.stop().await;
}

#[test]
fn check_names_the_window() {
    let env = TestEnv::new();
    let cfg = env.config("[server]\ndegraded_after = \"90m\"\n");
    assert!(
        app::describe(&cfg).contains("/healthz degraded after 1h 30m without a success"),
        "{}",
        app::describe(&cfg)
    );
}

/// `check` names the address readers are given (`public_url`), for the
/// server and each output's links: it said the outputs were served at the
/// listen address.
#[test]
fn check_names_the_public_address() {
    let env = TestEnv::new();
    let cfg = env.config(
        "[server]\nlisten = \"127.0.0.1:8181\"\npublic_url = \"https://news.example.org/feeds\"\n\n[[output]]\nname = \"all\"\n",
    );
    let said = app::describe(&cfg);
    assert!(
        said.contains("server: http://127.0.0.1:8181, published as https://news.example.org/feeds/ ([server] public_url)")
            && said.contains("served at https://news.example.org/feeds/all.{atom,rss,json,html}")
            && !said.contains("served at http://127.0.0.1:8181"),
        "{said}"
    );
}

/// An output file the daemon cannot write (a folder in its place) makes
/// `/healthz` degraded, naming it; the daemon tries again by itself and
/// writes it once it can, with no other change. Before, the file was never
/// written again until the store changed, and health said "ok".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_files_that_cannot_be_written_are_retried_and_said() {
    let srv = FeedServer::start().await;
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "x", "d")])),
    );
    let body = format!(
        "{}[[output]]\nname = \"o\"\nformats = [\"atom\"]\npath = \"out/o\"\n",
        config("", &[(srv.url("/feed.xml"), "")])
    );
    let d = Daemon::start(&body).await;
    let blocker = d.env.path("out/o.atom");
    std::fs::create_dir_all(&blocker).unwrap();
    let (_, v) = d
        .health_until(15, |v| {
            reasons(v)
                .iter()
                .any(|r| r.contains("could not be written"))
        })
        .await;
    assert_eq!(v["status"], "degraded", "{v}");
    assert!(reasons(&v).iter().any(|r| r.contains("out/o.atom")), "{v}");
    // (The first fetch's renders are over; the feed is not due for 30 minutes.)
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(d.health().await.1["status"], "degraded");
    std::fs::remove_dir(&blocker).unwrap();
    let removed = Instant::now();
    let (_, v) = d.health_until(25, |v| v["status"] == "ok").await;
    assert!(
        removed.elapsed() > Duration::from_secs(1),
        "retried, not rendered anew"
    );
    assert_eq!(v["status"], "ok", "{v}");
    assert!(std::fs::read_to_string(&blocker).unwrap().contains("<feed"));
    d.stop().await;
}

/// A retention round that fails (a full disk; here a trigger refuses the
/// deletes) is said by `/healthz` (degraded, naming the cause) until a round
/// succeeds: it said "ok", and a store never pruned grew unnoticed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_prune_is_degraded() {
    let srv = FeedServer::start().await;
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "one", "d")])),
    );
    let body = format!(
        "keep = \"2d\"\n{}",
        config("", &[(srv.url("/feed.xml"), "")])
    );
    let env = TestEnv::new();
    let cfg = env.config(&body);
    feedloom::refresh::poll(&cfg, env.open_store())
        .await
        .unwrap();
    rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .execute_batch(
            "UPDATE items SET first_seen_at = first_seen_at - 864000, last_seen_at = last_seen_at - 864000, changed_at = changed_at - 864000;
             UPDATE fetches SET started_at = started_at - 864000;
             CREATE TRIGGER no_prune BEFORE DELETE ON items BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;",
        )
        .unwrap();
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("2"), None, "two", "d")])),
    );
    let d = Daemon::start_in(env, &body).await;
    let (code, v) = d
        .health_until(15, |v| {
            v["feeds"]["ok"] == 1 && reasons(v).iter().any(|r| r.contains("prune"))
        })
        .await;
    assert_eq!((code, v["status"].as_str()), (200, Some("degraded")), "{v}");
    assert!(
        reasons(&v)
            .iter()
            .any(|r| r.contains("the last prune failed") && r.contains("the disk is full")),
        "{v}"
    );
    d.stop().await;
}

/// Another process holding the store's write lock (a `sqlite3` session left
/// in a transaction) stops every write: `/healthz` says so, naming it (it
/// answered "ok" while nothing was stored), and recovers once it is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_locked_by_another_process_is_an_error() {
    let srv = FeedServer::start().await;
    let items = |n: usize| {
        let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        rss(
            "F",
            &ids.iter()
                .map(|i| (Some(i.as_str()), None, i.as_str(), "d"))
                .collect::<Vec<_>>(),
        )
    };
    srv.set("/feed.xml", Resource::feed(items(1)).no_etag());
    let d = Daemon::start(&config("", &[(srv.url("/feed.xml"), "every = \"1s\"")])).await;
    let (_, v) = d
        .health_until(10, |v| v["feeds"]["ok"] == 1 && v["status"] == "ok")
        .await;
    assert_eq!(v["status"], "ok", "{v}");
    let other = rusqlite::Connection::open(d.env.path("feedloom.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    srv.set("/feed.xml", Resource::feed(items(2)).no_etag());
    let (code, v) = d.health_until(20, |v| v["status"] == "error").await;
    assert_eq!((code, v["status"].as_str()), (503, Some("error")), "{v}");
    assert!(reasons(&v).iter().any(|r| r.contains("locked")), "{v}");
    other.execute_batch("ROLLBACK").unwrap();
    let (code, v) = d.health_until(30, |v| v["status"] == "ok").await;
    assert_eq!((code, v["status"].as_str()), (200, Some("ok")), "{v}");
    d.stop().await;
}

/// The store's file deleted (or replaced) under the daemon: what it stores
/// goes to a file nobody can open again. `/healthz` said "ok" and the log
/// "fetched ok"; now it is an error naming the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_file_deleted_under_the_daemon_is_an_error() {
    let srv = FeedServer::start().await;
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "one", "d")])),
    );
    let d = Daemon::start(&config("", &[(srv.url("/feed.xml"), "every = \"1s\"")])).await;
    let (_, v) = d
        .health_until(10, |v| v["feeds"]["ok"] == 1 && v["status"] == "ok")
        .await;
    assert_eq!(v["status"], "ok", "{v}");
    for f in ["feedloom.db", "feedloom.db-wal", "feedloom.db-shm"] {
        let _ = std::fs::remove_file(d.env.path(f));
    }
    let (code, v) = d.health().await;
    assert_eq!((code, v["status"].as_str()), (503, Some("error")), "{v}");
    assert!(
        reasons(&v)
            .iter()
            .any(|r| r.contains("feedloom.db was deleted while this process has it open")),
        "{v}"
    );
    // Its stop is no clean one: what it stored since is lost (it said
    // "stopped" and exited 0, and the next start made an empty store
    // without a word).
    let e = d.stopped().await.unwrap_err();
    assert!(
        matches!(e, app::AppError::StoreLost(_))
            && e.to_string()
                .starts_with("stopped with the store lost: the store file ")
            && e.to_string().contains("feedloom.db was deleted"),
        "{e}"
    );
}

/// A graceful stop is said by `/healthz` from its start, a 503 (so that a
/// load balancer drains): it answered "ok" while nothing was fetched any
/// more, then "scheduler stalled", which sent the operator looking for a
/// hang. A fetch in flight (a server that never answers) keeps the stop
/// going until `shutdown_timeout` (1 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_is_said_by_healthz_not_called_a_stall() {
    let port = silent_server().await;
    let d = Daemon::start(&config(
        "",
        &[(format!("http://127.0.0.1:{port}/f.xml"), "")],
    ))
    .await;
    let (code, v) = d.health_until(10, |v| v["status"] == "ok").await;
    assert_eq!((code, v["status"].as_str()), (200, Some("ok")), "{v}");
    // (The fetch has started: the feed's host holds the request.)
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let Daemon {
        addr,
        env: _env,
        stop,
        reload: _reload,
        handle,
    } = d;
    stop.send(()).unwrap();
    let health = || async move {
        let r = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        let code = r.status().as_u16();
        let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        (code, v)
    };
    let mut seen = None;
    for _ in 0..30 {
        let (code, v) = health().await;
        if v["status"] == "stopping" {
            seen = Some((code, v));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, v) = seen.expect("/healthz said stopping");
    assert_eq!(code, 503, "{v}");
    assert_eq!(v["scheduler"], "ok", "{v}");
    assert!(
        reasons(&v).iter().any(|r| r.starts_with("stopping:")),
        "{v}"
    );
    tokio::time::timeout(Duration::from_secs(15), handle)
        .await
        .expect("daemon stops")
        .unwrap()
        .unwrap();
}

/// A reload that keeps the old config (the file on disk does not load) is
/// said by `/healthz` (degraded, naming the error) until a reload succeeds:
/// it said "ok", the log line went unseen, and the next restart failed on
/// the file. A config without feeds is degraded too (it said "ok" while
/// nothing was fetched).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_reload_and_a_config_without_feeds_are_said() {
    let srv = FeedServer::start().await;
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "x", "d")])),
    );
    let body = config("", &[(srv.url("/feed.xml"), "")]);
    let d = Daemon::start(&body).await;
    let (_, v) = d.health_until(15, |v| v["status"] == "ok").await;
    assert_eq!(v["status"], "ok", "{v}");
    let file = d.env.path("feedloom.toml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{good}\ngarbage = = [\n")).unwrap();
    d.reload.send(()).await.unwrap();
    let (code, v) = d.health_until(10, |v| v["status"] == "degraded").await;
    assert_eq!((code, v["status"].as_str()), (200, Some("degraded")), "{v}");
    let said = reasons(&v).join("\n");
    assert!(said.contains("config rejected at "), "{said}");
    assert!(said.contains("a restart would fail"), "{said}");
    assert!(said.contains("feedloom.toml:"), "names the file: {said}");
    // Mended: ok again.
    std::fs::write(&file, &good).unwrap();
    d.reload.send(()).await.unwrap();
    let (_, v) = d.health_until(10, |v| v["status"] == "ok").await;
    assert_eq!(v["status"], "ok", "{v}");
    // Every feed removed by a reload: said.
    std::fs::write(&file, "[store]\npath = \"feedloom.db\"\n").unwrap();
    d.reload.send(()).await.unwrap();
    let (_, v) = d.health_until(10, |v| v["status"] == "degraded").await;
    assert_eq!(
        reasons(&v),
        ["no feeds in the config: nothing is fetched"],
        "{v}"
    );
    d.stop().await;
}

/// A reload that changes what only a restart applies (the store, the listen
/// address) is said by `/healthz` (degraded, naming both stores) until a
/// reload names what the daemon runs on again: it was a log line alone, and
/// the next restart opened another, empty store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_needs_a_restart_is_said() {
    let srv = FeedServer::start().await;
    srv.set(
        "/feed.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "x", "d")])),
    );
    let body = config("", &[(srv.url("/feed.xml"), "")]);
    let d = Daemon::start(&body).await;
    let (_, v) = d.health_until(15, |v| v["status"] == "ok").await;
    assert_eq!(v["status"], "ok", "{v}");
    let file = d.env.path("feedloom.toml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        good.replacen("feedloom.db", "elsewhere.db", 1).replacen(
            "[server]\n",
            "[server]\nlisten = \"127.0.0.1:1\"\nmax_connections = 7\n",
            1,
        ),
    )
    .unwrap();
    d.reload.send(()).await.unwrap();
    let (code, v) = d.health_until(10, |v| v["status"] == "degraded").await;
    assert_eq!((code, v["status"].as_str()), (200, Some("degraded")), "{v}");
    let said = reasons(&v).join("\n");
    assert!(said.contains("only a restart applies"), "{said}");
    assert!(said.contains("elsewhere.db"), "names the new store: {said}");
    assert!(
        said.contains("127.0.0.1:1"),
        "names the new address: {said}"
    );
    assert!(
        said.contains("max_connections = 7,")
            && said.contains("(the daemon keeps max_connections = 512,"),
        "names the new and kept limits: {said}"
    );
    assert!(
        !d.env.path("elsewhere.db").exists(),
        "nothing written there"
    );
    // Put back: ok again.
    std::fs::write(&file, &good).unwrap();
    d.reload.send(()).await.unwrap();
    let (_, v) = d.health_until(10, |v| v["status"] == "ok").await;
    assert_eq!(v["status"], "ok", "{v}");
    d.stop().await;
}
