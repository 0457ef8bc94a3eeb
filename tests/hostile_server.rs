//! Hostile input, what we serve: clients that hold connections open, send half
//! a request or stop reading, and the headers every response carries. All on
//! 127.0.0.1, against the daemon (`app::run`) or the accept loop (`server::serve`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::*;
use feedloom::app;
use feedloom::server::{self, ConnLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

struct TestApp {
    addr: std::net::SocketAddr,
    env: TestEnv,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), app::AppError>>,
    _reload: mpsc::Sender<()>,
}

impl TestApp {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn stop(mut self) -> TestEnv {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("daemon stops")
            .unwrap()
            .unwrap();
        self.env
    }
}

async fn spawn_app(env: TestEnv, body: &str) -> TestApp {
    let cfg = env.config(body);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (reload_tx, reload_rx) = mpsc::channel(4);
    let handle = tokio::spawn(app::run(
        cfg,
        listener,
        async move {
            let _ = stop_rx.await;
        },
        reload_rx,
    ));
    TestApp {
        addr,
        env,
        stop: Some(stop_tx),
        handle,
        _reload: reload_tx,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Waits up to `secs` for `url` to answer 200 with a body containing `needle`.
async fn wait_for_body(client: &reqwest::Client, url: &str, needle: &str, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Ok(r) = client.get(url).send().await
            && r.status() == 200
            && r.text().await.is_ok_and(|t| t.contains(needle))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_nosniff_and_a_restrictive_csp() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss(
            "Feed",
            &[(Some("1"), Some("https://e.org/1"), "First story", "d")],
        )),
    );
    let app = spawn_app(
        TestEnv::new(),
        &format!(
            "[fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{}\"\nevery = \"1s\"\n",
            srv.url("/f.xml")
        ),
    )
    .await;
    let client = http();
    assert!(wait_for_body(&client, &app.url("/all.atom"), "First story", 15).await);
    let etag = client
        .get(app.url("/all.atom"))
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();

    let csp = server::CONTENT_SECURITY_POLICY;
    assert!(csp.contains("default-src 'none'") && csp.contains("sandbox"));
    let cases = [
        (client.get(app.url("/all.atom")), 200),
        (client.head(app.url("/all.rss")), 200),
        (
            client
                .get(app.url("/all.json"))
                .header("if-none-match", &etag)
                .header("accept-encoding", "gzip"),
            200,
        ),
        (
            client
                .get(app.url("/all.atom"))
                .header("if-none-match", &etag),
            304,
        ),
        (client.get(app.url("/nope.atom")), 404),
        (client.get(app.url("/a/b/c")), 404),
        (client.post(app.url("/healthz")), 405),
        (client.post(app.url("/all.atom")), 405),
        // (A method other than GET on no output's path: no such page.)
        (client.post(app.url("/nope.atom")), 404),
        (client.delete(app.url("/nope")), 404),
        (client.get(app.url("/healthz")), 200),
        (client.get(app.url("/metrics")), 200),
    ];
    for (req, status) in cases {
        let r = req.send().await.unwrap();
        let what = format!("{} {}", r.url(), r.status());
        assert_eq!(r.status().as_u16(), status, "{what}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(r.headers()["content-security-policy"], csp, "{what}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_neither_stall_healthz_nor_stay_open() {
    let app = spawn_app(
        TestEnv::new(),
        "[server]\nmax_connections = 8\nheader_timeout = \"6s\"\nidle_timeout = \"30s\"\n",
    )
    .await;
    let client = http();
    assert!(wait_for_body(&client, &app.url("/healthz"), "ok", 10).await);

    // Five times the cap of clients that send half a request and wait.
    let mut sockets = Vec::new();
    for _ in 0..40 {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: feedloom\r\nX-Slow: ")
            .await
            .unwrap();
        sockets.push(s);
    }
    // A new connection (not the pooled one): the connection waiting longest
    // without a request makes room for it. (It queued behind the flood, which
    // header_timeout drained 8 at a time: 30 s here.)
    drop(client);
    let client = http();
    let start = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(3),
        client.get(app.url("/healthz")).send(),
    )
    .await
    .expect("healthz answers before any header_timeout ends")
    .unwrap();
    assert_eq!(r.status(), 200, "healthz answers despite the flood");
    let healthz_ms = start.elapsed().as_millis();

    // The server closes every one of them (header_timeout): none gets an answer.
    let closed = futures_util::future::join_all(sockets.into_iter().map(|mut s| async move {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => Ok(()),
            Ok(Ok(n)) => Err(format!(
                "got an answer: {}",
                String::from_utf8_lossy(&buf[..n])
            )),
            Err(_) => Err("still open after 30s".to_string()),
        }
    }))
    .await;
    let all_closed_ms = start.elapsed().as_millis();
    for c in closed {
        c.unwrap();
    }
    println!(
        "40 half-open connections, cap 8, header_timeout 6s: healthz answered after {healthz_ms} ms, all 40 closed after {all_closed_ms} ms"
    );
    // Still serving (on a new connection: the pooled one is closed after
    // header_timeout without a request).
    let client = http();
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

/// Clients that trickle their headers in (a line every 100 ms, never quiet
/// for 250 ms) are no requests either: one that waited longest makes room.
/// They were never evicted, and a flood of them held /healthz for 18 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_headers_do_not_stall_healthz() {
    let app = spawn_app(
        TestEnv::new(),
        "[server]\nmax_connections = 8\nheader_timeout = \"20s\"\nidle_timeout = \"30s\"\n",
    )
    .await;
    let client = http();
    assert!(wait_for_body(&client, &app.url("/healthz"), "ok", 10).await);
    drop(client);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tricklers = Vec::new();
    for _ in 0..24 {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let mut stop = stop_rx.clone();
        tricklers.push(tokio::spawn(async move {
            let _ = s
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: feedloom\r\n")
                .await;
            let mut n = 0;
            while !*stop.borrow() {
                n += 1;
                if s.write_all(format!("X-Slow-{n}: 1\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), stop.changed()).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let client = http();
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(app.url("/healthz")).send(),
    )
    .await
    .expect("healthz answers while the headers trickle in")
    .unwrap();
    assert_eq!(r.status(), 200);
    let _ = stop_tx.send(true);
    for t in tricklers {
        let _ = t.await;
    }
    app.stop().await;
}

/// A client with a small receive buffer that has asked for `/big`.
async fn slow_reader_of_big(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: feedloom\r\n\r\n")
        .await
        .unwrap();
    s
}

/// Serves `app` on a port of its own until the test ends; its address.
async fn serve_until_the_end(app: Router, limits: ConnLimits) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(
        listener,
        app,
        limits,
        std::future::pending::<()>(),
    ));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    #[derive(Default)]
    struct Held {
        inside: AtomicUsize,
        most: AtomicUsize,
    }
    let held = Arc::new(Held::default());
    let (release_tx, release_rx) = watch::channel(false);
    let h = held.clone();
    let app = Router::new().route(
        "/hold",
        get(move || {
            let h = h.clone();
            let mut release = release_rx.clone();
            async move {
                let now = h.inside.fetch_add(1, Ordering::SeqCst) + 1;
                h.most.fetch_max(now, Ordering::SeqCst);
                let _ = release.wait_for(|r| *r).await;
                h.inside.fetch_sub(1, Ordering::SeqCst);
                "released"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let limits = ConnLimits {
        max_connections: 3,
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(60),
    };
    let server = tokio::spawn(server::serve(listener, app, limits, async move {
        let _ = stop_rx.await;
    }));

    let client = http();
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let req = client.get(format!("http://{addr}/hold")).send();
            tokio::spawn(async move { req.await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let end = Instant::now() + Duration::from_secs(10);
    while held.inside.load(Ordering::SeqCst) < 3 && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(held.inside.load(Ordering::SeqCst), 3);
    // The other two wait in the backlog, not in a handler.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(held.most.load(Ordering::SeqCst), 3);
    release_tx.send(true).unwrap();
    for r in requests {
        assert_eq!(r.await.unwrap().unwrap(), 200);
    }
    assert_eq!(
        held.most.load(Ordering::SeqCst),
        3,
        "never more than the cap"
    );

    // Shutdown: the accept loop ends once its connections are closed.
    drop(client);
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_after_idle_timeout() {
    const BIG: usize = 32 << 20;
    let body = bytes::Bytes::from(vec![b'x'; BIG]);
    let app = Router::new().route("/big", get(move || async move { body.clone() }));
    let addr = serve_until_the_end(
        app,
        ConnLimits {
            max_connections: 4,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(1),
        },
    )
    .await;

    let mut s = slow_reader_of_big(addr).await;
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = s.read(&mut buf).await.unwrap();
    assert!(total > 0);
    // Stop reading for longer than idle_timeout: the server gives up on us.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let start = Instant::now();
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => total += n,
            Err(_) => break false,
        }
    };
    assert!(ended, "the server closed the connection");
    assert!(
        total < BIG,
        "the response was cut off ({total} of {BIG} bytes)"
    );
    println!(
        "slow reader: {total} of {BIG} bytes before the server closed; drained in {} ms",
        start.elapsed().as_millis()
    );
}

/// Clients that send requests and never read the answers (every slot then
/// holds a response waiting to be sent): when all are taken, the one whose
/// client has read nothing longest makes room. They held every slot until
/// `idle_timeout`, /healthz included, and reconnecting kept the server
/// unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_do_not_lock_out_others() {
    const BIG: usize = 8 << 20;
    let body = bytes::Bytes::from(vec![b'x'; BIG]);
    let app = Router::new()
        .route("/big", get(move || async move { body.clone() }))
        .route("/healthz", get(|| async { "ok" }));
    let addr = serve_until_the_end(
        app,
        ConnLimits {
            max_connections: 4,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(120),
        },
    )
    .await;
    // Every slot: a client that asks and never reads.
    let mut hogs = Vec::new();
    for _ in 0..4 {
        hogs.push(slow_reader_of_big(addr).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = http();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        client.get(format!("http://{addr}/healthz")).send(),
    )
    .await
    .expect("answered long before idle_timeout (120 s)")
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    drop(hogs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_removes_temp_files_a_killed_run_left() {
    let env = TestEnv::new();
    let out = env.path("out");
    std::fs::create_dir_all(&out).unwrap();
    // PIDs above the kernel's limit (2^22) belong to no process.
    std::fs::write(out.join(".all.rss.4999999.tmp"), "half").unwrap();
    std::fs::write(out.join("keep.tmp"), "mine").unwrap();
    let app = spawn_app(env, "[[output]]\nname = \"all\"\npath = \"out/all\"\n").await;
    let client = http();
    assert!(wait_for_body(&client, &app.url("/healthz"), "ok", 10).await);
    let env = app.stop().await;
    assert!(!env.path("out/.all.rss.4999999.tmp").exists());
    assert!(env.path("out/keep.tmp").exists());
    assert!(env.path("out/all.rss").exists());
}

/// Making room at the cap never cuts off a response still being sent: a slow
/// reader of a big body whose slot another client wants gets every byte (its
/// body was cut off once the response had left the handler), and the other
/// client is served after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_not_cut_off_to_make_room() {
    const BIG: usize = 8 << 20;
    let body = bytes::Bytes::from(vec![b'x'; BIG]);
    let app = Router::new()
        .route("/big", get(move || async move { body.clone() }))
        .route("/small", get(|| async { "small" }));
    let addr = serve_until_the_end(
        app,
        ConnLimits {
            max_connections: 1,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
        },
    )
    .await;
    let mut s = slow_reader_of_big(addr).await;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = s.read(&mut buf).await.unwrap();
    // Another client wants the only slot while the reader pauses.
    let other = tokio::spawn(async move {
        http()
            .get(format!("http://{addr}/small"))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                total += n;
                if total >= BIG {
                    break;
                }
            }
        }
    }
    assert!(
        total >= BIG,
        "the big body arrived whole ({total} of {BIG} bytes and headers)"
    );
    drop(s);
    assert_eq!(other.await.unwrap().unwrap(), 200);
}

/// Keep-alive clients exactly at the cap, with no other client waiting, keep
/// their connections (each reconnect made room by closing another's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_at_the_cap_keep_their_connections() {
    let app = Router::new().route("/ping", get(|| async { "pong" }));
    let addr = serve_until_the_end(
        app,
        ConnLimits {
            max_connections: 3,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
        },
    )
    .await;
    let clients: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let mut failures = 0;
                for _ in 0..6 {
                    let sent = s
                        .write_all(b"GET /ping HTTP/1.1\r\nHost: feedloom\r\n\r\n")
                        .await;
                    let mut buf = [0u8; 512];
                    match (sent, s.read(&mut buf).await) {
                        (Ok(()), Ok(n)) if n > 0 && buf[..n].ends_with(b"pong") => {}
                        _ => failures += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(350)).await;
                }
                failures
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.await.unwrap(), 0, "a kept-alive connection was closed");
    }
}
