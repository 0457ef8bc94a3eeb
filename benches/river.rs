//! The river page's costs: prints figures, asserts nothing.
//!
//! `cargo bench --bench river` stores FEEDS (4) feeds × 50 stories of ~40
//! paragraphs from an in-process server on 127.0.0.1, then measures:
//! 1. rendering 100 stories: Atom (the baseline), the river page, and the page
//!    plus its gzip copy (what the daemon does when a page's relative times
//!    turn over);
//! 2. serving over HTTP from a running daemon, 16 keep-alive connections for
//!    SECS (3) seconds each: the cached Atom feed (baseline), the cached page,
//!    and a page rendered on request (`?before=`: store query, sanitising,
//!    rendering) — the cost of rendering every request instead of caching.
//!
//! Options (environment): FEEDLOOM_BENCH_SECS.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use feedloom::config::Format;

const FEEDS: usize = 4;
const ITEMS: usize = 50;

fn document(n: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Feed {n}</title><link>https://site{n}.example/</link><description>bench</description>\n"
    );
    for i in 0..ITEMS {
        s.push_str(&format!(
            "<item><guid>https://site{n}.example/post/{i}</guid><link>https://site{n}.example/post/{i}</link><title>Story {i} of feed {n}: something happened</title><pubDate>{}</pubDate><description>",
            feedloom::export::rfc822(feedloom::now_unix() - (i * 977 + n * 131) as i64)
        ));
        for w in 0..40 {
            s.push_str(&format!(
                "&lt;p&gt;Paragraph {w} of story {i} in feed {n}, with &lt;a href=\"/x/{w}\"&gt;a link&lt;/a&gt; and some words to read.&lt;/p&gt;"
            ));
        }
        s.push_str("</description></item>\n");
    }
    s.push_str("</channel></rss>\n");
    s
}

async fn serve(req: Request) -> Response {
    let n = req
        .uri()
        .path()
        .strip_prefix("/feed/")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|p| p.parse::<usize>().ok());
    match n {
        Some(n) => ([(header::CONTENT_TYPE, "application/rss+xml")], document(n)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Requests per second on `url` from `conns` keep-alive connections for `secs`.
async fn load(url: &str, conns: usize, secs: f64) -> (f64, usize) {
    let client = reqwest::Client::builder()
        .no_gzip()
        .pool_max_idle_per_host(conns)
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (client, url) = (client.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut n, mut bytes) = (0usize, 0usize);
            while Instant::now() < end {
                let r = client.get(&url).send().await.unwrap();
                assert_eq!(r.status(), 200, "{url}");
                bytes = r.bytes().await.unwrap().len();
                n += 1;
            }
            (n, bytes)
        }));
    }
    let mut total = 0;
    let mut size = 0;
    for t in tasks {
        let (n, b) = t.await.unwrap();
        total += n;
        size = b;
    }
    (total as f64 / start.elapsed().as_secs_f64(), size)
}

fn main() {
    let secs: f64 = std::env::var("FEEDLOOM_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("river bench: {FEEDS} feeds × {ITEMS} stories, {cores} cores");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let feeds_addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, Router::new().fallback(serve)).await });
        let mut text = format!(
            "[store]\npath = \"{}\"\n[fetch]\nhost_gap = \"0s\"\n[defaults]\nspread = \"0s\"\nevery = \"1h\"\n",
            dir.path().join("bench.db").display()
        );
        for n in 0..FEEDS {
            text.push_str(&format!("[[feed]]\nurl = \"http://{feeds_addr}/feed/{n}.xml\"\n"));
        }
        text.push_str("[[output]]\nname = \"all\"\nmax_items = 100\n");
        let path = dir.path().join("feedloom.toml");
        std::fs::write(&path, &text).unwrap();
        let cfg = feedloom::config::load(&path).unwrap();

        // Fill the store once.
        let store = feedloom::store::SharedStore::new(
            feedloom::store::Store::open(&cfg.store.path).unwrap(),
        );
        let (summary, _) = feedloom::refresh::poll(&cfg, store.clone()).await.unwrap();
        println!("stored: {summary}");

        // 1. Rendering.
        let out = cfg.outputs[0].clone();
        let now = feedloom::now_unix();
        let stories = store
            .with(|s| s.stories(&feedloom::export::query_for(&out, now, None)))
            .unwrap();
        let prepared = feedloom::export::prepare(stories);
        let info = feedloom::export::info_for(&out, &prepared);
        let rounds = 200u32;
        let time = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..rounds {
                f();
            }
            t.elapsed() / rounds
        };
        let atom = time(&mut || {
            std::hint::black_box(feedloom::export::render(Format::Atom, &info, &prepared));
        });
        let river = |now| feedloom::web::river::River {
            info: &info,
            feeds: &out.formats,
            base: "all",
            stories: &prepared,
            now: Some(now),
            older: None,
            paged: false,
            scan_stopped: None,
        };
        let page = time(&mut || {
            std::hint::black_box(feedloom::web::river::render(&river(now)));
        });
        let page_gzip = time(&mut || {
            let p = feedloom::web::river::render(&river(now));
            std::hint::black_box(feedloom::server::Rendered::new(
                Format::Html,
                p.html.into_bytes(),
                now,
            ));
        });
        let size = feedloom::web::river::render(&river(now)).html.len();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("render 100 stories, Atom (baseline): {:.2} ms", ms(atom));
        println!(
            "render 100 stories, river page ({} KB): {:.2} ms ({:.2}× Atom)",
            size / 1024,
            ms(page),
            page.as_secs_f64() / atom.as_secs_f64()
        );
        println!(
            "render 100 stories, river page + gzip copy: {:.2} ms ({:.2}× Atom); once a minute at most: {:.3}% of one core",
            ms(page_gzip),
            page_gzip.as_secs_f64() / atom.as_secs_f64(),
            page_gzip.as_secs_f64() / 60.0 * 100.0
        );
        drop(store);

        // 2. Serving, from a running daemon on the same store.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (_reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
        let daemon = tokio::spawn(feedloom::app::run(
            cfg,
            listener,
            async move {
                let _ = stop_rx.await;
            },
            reload_rx,
        ));
        let base = format!("http://{addr}");
        // Wait for the first rendering.
        for _ in 0..100 {
            if reqwest::get(format!("{base}/all.html")).await.is_ok_and(|r| r.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (atom_rps, atom_size) = load(&format!("{base}/all.atom"), 16, secs).await;
        println!("serve cached /all.atom (baseline, {} KB): {atom_rps:.0} req/s", atom_size / 1024);
        let (page_rps, page_size) = load(&format!("{base}/all.html"), 16, secs).await;
        println!(
            "serve cached /all.html ({} KB): {page_rps:.0} req/s ({:.2}× Atom)",
            page_size / 1024,
            page_rps / atom_rps
        );
        let cursor = "999999999999-999999999999";
        let (fresh_rps, fresh_size) =
            load(&format!("{base}/all.html?before={cursor}"), 16, secs).await;
        println!(
            "serve /all.html rendered on request (?before=, {} KB): {fresh_rps:.0} req/s ({:.3}× Atom)",
            fresh_size / 1024,
            fresh_rps / atom_rps
        );
        let _ = stop_tx.send(());
        let _ = daemon.await;
    });
}
