//! Hostile networks and secrets: redirects into private networks (SSRF), DNS
//! rebinding, credentials in feed URLs, per-feed headers and auth, and the bound
//! on body bytes held by all fetches together.
//!
//! Names are resolved by an injected resolver (no test resolves a real name).
//! The "public" servers listen on 127.0.0.2, which the tests' network treats as
//! a public address; everything else on 127.0.0.0/8 stays what it is: loopback.

mod common;

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use feedloom::config::{self, FetchConfig};
use feedloom::error::FetchError;
use feedloom::fetch::{FetchOutcome, Fetcher, Lookup, Network, Origin, Validators};
use url::Url;

const PUBLIC_IP: &str = "127.0.0.2";

fn fetch_cfg(extra: &str) -> FetchConfig {
    config::parse(
        &format!("[fetch]\nhost_gap = \"0s\"\n{extra}\n"),
        Path::new("x.toml"),
    )
    .unwrap()
    .fetch
}

/// A resolver for test names only.
fn names(map: &[(&str, &str)]) -> Arc<dyn Lookup> {
    let map: Vec<(String, IpAddr)> = map
        .iter()
        .map(|(n, ip)| (n.to_string(), ip.parse().unwrap()))
        .collect();
    Arc::new(move |host: &str| {
        let found: Vec<IpAddr> = map
            .iter()
            .filter(|(n, _)| n == host)
            .map(|(_, ip)| *ip)
            .collect();
        if found.is_empty() {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no test name {host}"),
            ))
        } else {
            Ok(found)
        }
    })
}

fn network(lookup: Arc<dyn Lookup>) -> Network {
    Network {
        lookup,
        treat_as_public: vec![PUBLIC_IP.parse().unwrap()],
    }
}

/// Fetches `url` for a feed the admin configured as `configured`.
async fn fetch(f: &Fetcher, url: &str, configured: &str) -> Result<FetchOutcome, FetchError> {
    let origin = Origin::configured(&Url::parse(configured).unwrap(), Arc::default());
    f.fetch(&Url::parse(url).unwrap(), &Validators::default(), &origin)
        .await
}

fn body_of(outcome: FetchOutcome) -> String {
    match outcome {
        FetchOutcome::Fetched(f) => String::from_utf8_lossy(&f.body).into_owned(),
        other => panic!("expected a body, got {other:?}"),
    }
}

fn secret_feed() -> Resource {
    Resource::feed(rss(
        "internal",
        &[(Some("1"), None, "internal secret", "d")],
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_into_non_public_addresses_are_refused() {
    let public = FeedServer::start_on(PUBLIC_IP).await;
    let private = FeedServer::start().await;
    private.set("/secret.xml", secret_feed());
    let pp = private.addr.port();
    let fetcher = Fetcher::with_network(
        &fetch_cfg(""),
        network(names(&[
            ("public.test", PUBLIC_IP),
            ("internal.test", "127.0.0.1"),
        ])),
    )
    .unwrap();
    let feed = format!("http://public.test:{}/feed.xml", public.addr.port());
    for (target, addr, why) in [
        (
            format!("http://127.0.0.1:{pp}/secret.xml"),
            "127.0.0.1",
            "loopback",
        ),
        (
            format!("http://2130706433:{pp}/secret.xml"),
            "127.0.0.1",
            "loopback",
        ),
        (
            format!("http://internal.test:{pp}/secret.xml"),
            "127.0.0.1",
            "loopback",
        ),
        (format!("http://[::1]:{pp}/secret.xml"), "::1", "loopback"),
        ("http://10.0.0.1/feed".to_string(), "10.0.0.1", "private"),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "169.254.169.254",
            "cloud metadata",
        ),
        (
            "http://[::ffff:192.168.1.1]/".to_string(),
            "::ffff:192.168.1.1",
            "private",
        ),
    ] {
        public.set(
            "/feed.xml",
            Resource::status(302).header("location", &target),
        );
        let err = fetch(&fetcher, &feed, &feed).await.unwrap_err();
        assert!(matches!(err, FetchError::Blocked { .. }), "{target}: {err}");
        let msg = err.to_string();
        for needle in [addr, why, "fetch.allow_private_networks"] {
            assert!(msg.contains(needle), "{target}: `{needle}` not in: {msg}");
        }
        if target.contains("internal.test") {
            assert!(msg.contains("internal.test"), "names the host: {msg}");
        }
    }
    assert!(
        private.seen().is_empty(),
        "no request reached the private server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_private_networks_lets_redirects_through() {
    let public = FeedServer::start_on(PUBLIC_IP).await;
    let private = FeedServer::start().await;
    private.set("/secret.xml", secret_feed());
    let pp = private.addr.port();
    let fetcher = Fetcher::with_network(
        &fetch_cfg("allow_private_networks = true"),
        network(names(&[
            ("public.test", PUBLIC_IP),
            ("internal.test", "127.0.0.1"),
        ])),
    )
    .unwrap();
    let feed = format!("http://public.test:{}/feed.xml", public.addr.port());
    for target in [
        format!("http://127.0.0.1:{pp}/secret.xml"),
        format!("http://internal.test:{pp}/secret.xml"),
    ] {
        public.set(
            "/feed.xml",
            Resource::status(302).header("location", &target),
        );
        let got = fetch(&fetcher, &feed, &feed).await.unwrap();
        assert!(body_of(got).contains("internal secret"));
    }
    assert_eq!(private.seen().len(), 2);
}

/// A feed the admin configured on a private host works, and so do its redirects
/// within that host; a redirect to another private host does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_private_feed_is_fetched_but_cannot_lead_elsewhere() {
    let intranet = FeedServer::start().await;
    intranet.set("/feed.xml", secret_feed());
    intranet.set(
        "/old.xml",
        Resource::status(301).header("location", "/feed.xml"),
    );
    let port = intranet.addr.port();
    let fetcher = Fetcher::with_network(
        &fetch_cfg(""),
        network(names(&[
            ("intranet.test", "127.0.0.1"),
            ("other.test", "127.0.0.1"),
        ])),
    )
    .unwrap();
    let by_name = format!("http://intranet.test:{port}/feed.xml");
    assert!(body_of(fetch(&fetcher, &by_name, &by_name).await.unwrap()).contains("secret"));
    let moved = format!("http://intranet.test:{port}/old.xml");
    assert!(body_of(fetch(&fetcher, &moved, &moved).await.unwrap()).contains("secret"));
    let literal = format!("http://127.0.0.1:{port}/feed.xml");
    assert!(body_of(fetch(&fetcher, &literal, &literal).await.unwrap()).contains("secret"));

    for target in [
        format!("http://other.test:{port}/feed.xml"),
        format!("http://127.0.0.1:{port}/feed.xml"),
    ] {
        intranet.set(
            "/hop.xml",
            Resource::status(302).header("location", &target),
        );
        let hop = format!("http://intranet.test:{port}/hop.xml");
        let err = fetch(&fetcher, &hop, &hop).await.unwrap_err();
        assert!(matches!(err, FetchError::Blocked { .. }), "{target}: {err}");
    }
}

/// Every new connection resolves and checks again: a name that answered with a
/// public address once and a private one later is refused the second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_rebinding_is_refused_at_connect_time() {
    let a = FeedServer::start_on(PUBLIC_IP).await;
    let b = FeedServer::start_on(PUBLIC_IP).await;
    let (pa, pb) = (a.addr.port(), b.addr.port());
    a.set(
        "/feed.xml",
        Resource::status(302).header("location", &format!("http://rebind.test:{pa}/hop.xml")),
    );
    a.set(
        "/hop.xml",
        Resource::status(302).header("location", &format!("http://rebind.test:{pb}/final.xml")),
    );
    b.set("/final.xml", secret_feed());
    let lookups = Arc::new(AtomicUsize::new(0));
    let rebinding = |after: usize| -> Arc<dyn Lookup> {
        let n = lookups.clone();
        Arc::new(move |host: &str| {
            let ip = match host {
                "public.test" => PUBLIC_IP,
                "rebind.test" if n.fetch_add(1, Ordering::SeqCst) < after => PUBLIC_IP,
                "rebind.test" => "127.0.0.1",
                _ => return Err(std::io::Error::other("unknown test name")),
            };
            Ok(vec![ip.parse().unwrap()])
        })
    };
    let feed = format!("http://public.test:{pa}/feed.xml");
    // A stable name: the chain goes through.
    let stable = Fetcher::with_network(&fetch_cfg(""), network(rebinding(usize::MAX))).unwrap();
    assert!(body_of(fetch(&stable, &feed, &feed).await.unwrap()).contains("secret"));
    assert_eq!(b.seen().len(), 1);
    // Public for the first connection, loopback for the next.
    lookups.store(0, Ordering::SeqCst);
    let fetcher = Fetcher::with_network(&fetch_cfg(""), network(rebinding(1))).unwrap();
    let err = fetch(&fetcher, &feed, &feed).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("rebind.test") && msg.contains("127.0.0.1") && msg.contains("loopback"),
        "{msg}"
    );
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        2,
        "one lookup per connection"
    );
    assert_eq!(b.seen().len(), 1, "the second chain never reached its end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_other_schemes_are_refused() {
    let srv = FeedServer::start().await;
    srv.set(
        "/feed.xml",
        Resource::status(302).header("location", "file:///etc/passwd"),
    );
    let fetcher = Fetcher::new(&fetch_cfg("")).unwrap();
    let url = srv.url("/feed.xml");
    let err = fetch(&fetcher, &url, &url).await.unwrap_err().to_string();
    assert!(
        err.contains("file:///etc/passwd") && err.contains("only http and https"),
        "{err}"
    );
}

/// Through `poll`: the refusal is the feed's failure, stored with the address
/// and the key that would allow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_stores_the_refusal_on_the_feed() {
    let public = FeedServer::start_on(PUBLIC_IP).await;
    public.set(
        "/feed.xml",
        Resource::status(302).header("location", "http://169.254.169.254/latest/meta-data/"),
    );
    let env = TestEnv::new();
    let feed = format!("http://public.test:{}/feed.xml", public.addr.port());
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n{}",
        feeds_toml(&[feed])
    ));
    let fetcher =
        Fetcher::with_network(&cfg.fetch, network(names(&[("public.test", PUBLIC_IP)]))).unwrap();
    let (summary, _) = feedloom::refresh::poll_with(&cfg, env.open_store(), fetcher)
        .await
        .unwrap();
    assert_eq!((summary.failed, summary.store_errors), (1, 0));
    let err: String = env
        .reader()
        .query_row("SELECT last_error FROM feeds", [], |r| r.get(0))
        .unwrap();
    assert!(
        err.contains("169.254.169.254") && err.contains("fetch.allow_private_networks"),
        "{err}"
    );
}

/// A feed marked `untrusted` (what `import-opml` and `add` write for an
/// address from elsewhere) is held to the guard at its own host: a name that
/// resolves to a private address is refused, and so is a `file:` URL; the same
/// feed without the mark (the admin's own) is fetched; a public one is fetched
/// with the mark too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_feed_is_checked_at_its_own_host() {
    let intranet = FeedServer::start().await;
    intranet.set("/feed.xml", secret_feed());
    let public = FeedServer::start_on(PUBLIC_IP).await;
    public.set("/feed.xml", secret_feed());
    let env = TestEnv::new();
    std::fs::write(env.dir.path().join("local.xml"), rss("Local", &[])).unwrap();
    let inner = format!("http://intranet.test:{}/feed.xml", intranet.addr.port());
    let outer = format!("http://public.test:{}/feed.xml", public.addr.port());
    let lookup = || {
        network(names(&[
            ("intranet.test", "127.0.0.1"),
            ("public.test", PUBLIC_IP),
        ]))
    };
    let env = &env;
    let errors = |untrusted: bool| {
        let mark = if untrusted { "untrusted = true\n" } else { "" };
        let cfg = env.config(&format!(
            "[fetch]\nhost_gap = \"0s\"\n\n[[feed]]\nurl = \"{inner}\"\n{mark}\n\
             [[feed]]\nurl = \"{outer}\"\n{mark}\n[[feed]]\nurl = \"file:local.xml\"\n{mark}"
        ));
        let fetcher = Fetcher::with_network(&cfg.fetch, lookup()).unwrap();
        let store = env.open_store();
        async move {
            feedloom::refresh::poll_with(&cfg, store, fetcher)
                .await
                .unwrap();
            let mut rows: Vec<(String, Option<String>)> = env
                .reader()
                .prepare("SELECT url, last_error FROM feeds ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows.sort();
            rows
        }
    };
    for (_, err) in errors(false).await {
        assert_eq!(err, None);
    }
    let rows = errors(true).await;
    let err_of = |needle: &str| {
        rows.iter()
            .find(|(u, _)| u.contains(needle))
            .and_then(|(_, e)| e.clone())
    };
    let inner_err = err_of("intranet.test").expect("refused");
    assert!(
        inner_err.contains("127.0.0.1") && inner_err.contains("loopback"),
        "{inner_err}"
    );
    // The way out it names is trusting this feed, not every feed.
    assert!(
        inner_err.contains("remove `untrusted = true`")
            && !inner_err.contains("allow_private_networks"),
        "{inner_err}"
    );
    let file_err = err_of("local.xml").expect("refused");
    assert!(file_err.contains("untrusted"), "{file_err}");
    assert_eq!(err_of("public.test"), None);
}

fn basic(user: &str, password: &str) -> String {
    use base64_lite::encode;
    format!("Basic {}", encode(format!("{user}:{password}").as_bytes()))
}

/// Just enough base64 for an Authorization header.
mod base64_lite {
    pub fn encode(b: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

fn run(config: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"));
    cmd.arg("--config").arg(config).args(args);
    cmd.env("FEEDLOOM_LOG", "debug");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Credentials in a feed URL, per-feed headers and auth from the environment or
/// a file: sent to the feed's host only, and never printed, logged, stored or
/// published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_the_feeds_host_and_nothing_else() {
    let srv = FeedServer::start().await;
    let other = FeedServer::start().await;
    let story = |t: &str| rss("Feed", &[(Some(t), None, t, "d")]);
    srv.set("/basic.xml", Resource::feed(story("basic story")));
    srv.set("/token.xml", Resource::feed(story("token story")));
    srv.set("/plain.xml", Resource::feed(story("plain story")));
    // The third feed moves to another host: the secrets must not follow it.
    srv.set(
        "/moved.xml",
        Resource::status(302).header(
            "location",
            &format!("http://localhost:{}/moved.xml", other.addr.port()),
        ),
    );
    other.set("/moved.xml", Resource::feed(story("moved story")));
    // The fourth to another port of its own host: another origin, no secrets.
    srv.set(
        "/porthop.xml",
        Resource::status(302).header(
            "location",
            &format!("http://127.0.0.1:{}/porthop.xml", other.addr.port()),
        ),
    );
    other.set("/porthop.xml", Resource::feed(story("porthop story")));
    let env = TestEnv::new();
    std::fs::write(env.path("token"), "t0ken-from-file\n").unwrap();
    let port = srv.addr.port();
    let body = format!(
        "[fetch]\nhost_gap = \"0s\"\nallow_private_networks = true\n\n\
         [[feed]]\nurl = \"http://bob:s3cret%21@127.0.0.1:{port}/basic.xml\"\n\n\
         [[feed]]\nurl = \"http://127.0.0.1:{port}/token.xml\"\n\
         auth = {{ bearer = {{ file = \"token\" }} }}\n\
         headers = {{ \"X-Api-Key\" = {{ env = \"TEST_FEED_KEY\" }}, \"Accept-Language\" = \"en\" }}\n\n\
         [[feed]]\nurl = \"http://127.0.0.1:{port}/moved.xml\"\n\
         auth = {{ basic = {{ user = \"carol\", password = {{ env = \"TEST_FEED_PASS\" }} }} }}\n\n\
         [[feed]]\nurl = \"http://127.0.0.1:{port}/plain.xml\"\n\n\
         [[feed]]\nurl = \"http://dan:hop%21@127.0.0.1:{port}/porthop.xml\"\n\n\
         [[output]]\nname = \"all\"\npath = \"out/all\"\n"
    );
    std::fs::write(
        env.path("feedloom.toml"),
        format!("[store]\npath = \"feedloom.db\"\n\n{body}"),
    )
    .unwrap();
    let cfg = env.path("feedloom.toml");
    let envs = [
        ("TEST_FEED_KEY", "k3y-from-env"),
        ("TEST_FEED_PASS", "pa55-from-env"),
    ];
    let secrets = ["s3cret", "t0ken-from-file", "k3y-from-env", "pa55-from-env"];
    let mut printed = String::new();
    for args in [
        &["check"][..],
        &["poll"],
        &["feeds"],
        &["export", "--format", "atom"],
        &["export", "--format", "rss"],
        &["export", "--format", "json"],
    ] {
        let out = tokio::task::block_in_place(|| run(&cfg, args, &envs));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        printed.contains("basic story")
            && printed.contains("moved story")
            && printed.contains("plain story"),
        "{printed}"
    );
    assert!(
        printed.contains("bearer token from file"),
        "check says where: {printed}"
    );
    for s in secrets.iter().chain(&["bob:", "s3cret%21"]) {
        assert!(!printed.contains(s), "`{s}` printed or logged:\n{printed}");
    }
    // Sent where they belong.
    let seen = srv.seen();
    let header = |path: &str, name: &str| {
        seen.iter()
            .find(|s| s.path == path)
            .and_then(|s| s.headers.get(name))
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        header("/basic.xml", "authorization"),
        Some(basic("bob", "s3cret!"))
    );
    assert_eq!(
        header("/token.xml", "authorization").as_deref(),
        Some("Bearer t0ken-from-file")
    );
    assert_eq!(
        header("/token.xml", "x-api-key").as_deref(),
        Some("k3y-from-env")
    );
    assert_eq!(
        header("/token.xml", "accept-language").as_deref(),
        Some("en")
    );
    assert_eq!(
        header("/moved.xml", "authorization"),
        Some(basic("carol", "pa55-from-env"))
    );
    // A feed of the same host without any sends none.
    assert!(header("/plain.xml", "authorization").is_none());
    assert!(header("/plain.xml", "x-api-key").is_none());
    // ... and not to the host the feed redirected to.
    // ... nor to another port of its host.
    assert_eq!(
        header("/porthop.xml", "authorization"),
        Some(basic("dan", "hop!"))
    );
    for path in ["/moved.xml", "/porthop.xml"] {
        let hop = other.seen();
        let hop = hop.iter().find(|s| s.path == path).unwrap();
        assert!(
            hop.headers.get("authorization").is_none(),
            "{path}: {:?}",
            hop.headers
        );
    }
    // Nothing stored or written carries them.
    let mut stored = String::new();
    let db = env.reader();
    for sql in [
        "SELECT group_concat(url || ' ' || COALESCE(fetch_url, '') || ' ' || COALESCE(last_error, ''), ' ') FROM feeds",
        "SELECT group_concat(COALESCE(error, ''), ' ') FROM fetches",
    ] {
        stored.push_str(&db.query_row(sql, [], |r| r.get::<_, String>(0)).unwrap());
    }
    assert!(
        stored.contains(&format!("http://127.0.0.1:{port}/basic.xml")),
        "{stored}"
    );
    for ext in ["atom", "rss", "json"] {
        stored.push_str(&read(&env.path(&format!("out/all.{ext}"))));
    }
    for s in secrets.iter().chain(&["bob:"]) {
        assert!(!stored.contains(s), "`{s}` stored or published:\n{stored}");
    }
}

/// The daemon labels its metrics with the feed's URL without credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_carry_no_credentials() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Resource::feed(rss("F", &[(Some("1"), None, "x", "d")])),
    );
    let env = TestEnv::new();
    let url = format!("http://bob:s3cret@127.0.0.1:{}/f.xml", srv.addr.port());
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\n\n[defaults]\nspread = \"1s\"\n\n[[feed]]\nurl = \"{url}\"\n"
    ));
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
    let end = std::time::Instant::now() + Duration::from_secs(15);
    let mut text = String::new();
    while std::time::Instant::now() < end {
        text = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("feedloom_fetches_total{outcome=\"ok\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let label = format!(
        "feedloom_feed_staleness_seconds{{feed=\"{}\"}}",
        srv.url("/f.xml")
    );
    assert!(text.contains(&label), "{text}");
    assert!(!text.contains("s3cret") && !text.contains("bob"), "{text}");
    let seen = srv.seen();
    assert_eq!(
        seen[0].headers.get("authorization").unwrap(),
        &basic("bob", "s3cret")
    );
    stop_tx.send(()).unwrap();
    daemon.await.unwrap().unwrap();
}

/// A store written by an older feedloom keeps the feed under its URL with
/// credentials: the next sync renames it (items kept) and scrubs its errors.
#[test]
fn an_older_row_with_credentials_in_its_url_is_renamed() {
    let env = TestEnv::new();
    let cfg = env.config("[[feed]]\nurl = \"https://bob:s3cret@example.org/f.xml\"\n");
    assert_eq!(cfg.feeds[0].url().as_str(), "https://example.org/f.xml");
    let store = feedloom::store::Store::open(&env.path("feedloom.db")).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO feeds (id, url, fetch_url, last_error, created_at)
             VALUES (7, 'https://bob:s3cret@example.org/f.xml', 'https://bob:s3cret@example.org/new.xml',
                     'request to https://bob:s3cret@example.org/f.xml failed', 0);
             INSERT INTO fetches (feed_id, started_at, duration_ms, outcome, error)
             VALUES (7, 0, 1, 'error', 'request to https://bob:s3cret@example.org/f.xml failed');",
        )
        .unwrap();
    let mut store = store;
    let refs = store.sync_config(&cfg.feeds).unwrap();
    assert_eq!(refs[0].id, 7, "the same row");
    assert_eq!(refs[0].url.as_str(), "https://example.org/f.xml");
    assert_eq!(refs[0].fetch_url.as_str(), "https://example.org/new.xml");
    let all: String = store
        .conn()
        .query_row(
            "SELECT (SELECT group_concat(url || fetch_url || last_error) FROM feeds)
                 || (SELECT group_concat(error) FROM fetches)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!all.contains("s3cret") && !all.contains("bob"), "{all}");
}

/// A tiny HTTP server whose bodies are streamed from one shared chunk, so that
/// it holds no copies; `/stall/N` sends N bytes and then waits for `release`.
struct StreamServer {
    addr: std::net::SocketAddr,
    release: Arc<tokio::sync::Notify>,
}

async fn stream_server() -> StreamServer {
    use axum::body::Body;
    use axum::extract::Path as UrlPath;
    use axum::routing::get;
    let release = Arc::new(tokio::sync::Notify::new());
    let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
    let body = move |n: usize, stall: Option<Arc<tokio::sync::Notify>>| {
        let chunk = chunk.clone();
        let chunks = n.div_ceil(chunk.len());
        let stream = futures_util::stream::unfold(0usize, move |i| {
            let chunk = chunk.clone();
            let stall = stall.clone();
            async move {
                if i == chunks {
                    return None;
                }
                if i == 5
                    && let Some(s) = stall
                {
                    s.notified().await;
                }
                Some((Ok::<_, std::io::Error>(chunk), i + 1))
            }
        });
        Body::from_stream(stream)
    };
    let (b1, b2, b3) = (body.clone(), body.clone(), body);
    let r = release.clone();
    let app = axum::Router::new()
        .route(
            "/chunked/{n}",
            get(move |UrlPath(n): UrlPath<usize>| async move { b1(n, None) }),
        )
        .route(
            "/sized/{n}",
            get(move |UrlPath(n): UrlPath<usize>| async move {
                let n = n.div_ceil(64 * 1024) * 64 * 1024;
                ([("content-length", n.to_string())], b2(n, None))
            }),
        )
        .route(
            "/stall/{n}",
            get(move |UrlPath(n): UrlPath<usize>| {
                let r = r.clone();
                async move { b3(n, Some(r)) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    StreamServer { addr, release }
}

/// 16 hostile feeds of 16 MiB each at once, under the default limits: every one
/// is read in full, and the bytes held together never exceed `max_buffered`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_large_bodies_stay_within_the_budget() {
    let srv = stream_server().await;
    let cfg = fetch_cfg("timeout = \"120s\"");
    assert_eq!(cfg.max_buffered(), 64 << 20, "the default budget");
    assert_eq!((cfg.max_body.0, cfg.concurrency), (16 << 20, 16));
    let fetcher = Fetcher::new(&cfg).unwrap();
    let size = 16 << 20;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let f = fetcher.clone();
        // Half without a length (they claim max_body), half with one.
        let kind = if i % 2 == 0 { "chunked" } else { "sized" };
        let url = format!("http://{}/{kind}/{size}", srv.addr);
        tasks.push(tokio::spawn(async move {
            let out = fetch(&f, &url, &url).await;
            // Hold the body a moment, as parsing would.
            tokio::time::sleep(Duration::from_millis(20)).await;
            out.map(|o| match o {
                FetchOutcome::Fetched(f) => f.body.len(),
                _ => 0,
            })
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), size);
    }
    let b = fetcher.buffered();
    assert_eq!(b.now, 0, "every body gave its bytes back");
    assert!(b.peak <= b.limit, "{b:?}");
    assert!(b.peak >= 2 * size, "bodies did run side by side: {b:?}");
}

/// Large bodies stuck mid-transfer hold the whole large pool; a small feed is
/// still read, and the stuck ones finish once their server goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_feeds_are_not_starved_by_large_ones() {
    let srv = stream_server().await;
    let cfg = fetch_cfg(
        "timeout = \"60s\"\nmax_body = \"4MiB\"\nmax_buffered = \"5MiB\"\nconcurrency = 4\nper_host = 4",
    );
    let fetcher = Fetcher::new(&cfg).unwrap();
    let mut big = Vec::new();
    for _ in 0..2 {
        let f = fetcher.clone();
        let url = format!("http://{}/stall/{}", srv.addr, 2 << 20);
        // The body is dropped when the task ends, as after parsing.
        big.push(tokio::spawn(async move {
            fetch(&f, &url, &url).await.map(body_of).map(|b| b.len())
        }));
    }
    // Both outgrow their allowance: one claims the whole large pool, the other
    // waits for it with its allowance full.
    let stuck = || {
        let b = fetcher.buffered();
        b.claimed == b.pool && b.now >= 2 * 256 * 1024
    };
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while !stuck() && std::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stuck(), "{:?}", fetcher.buffered());
    let small = format!("http://{}/chunked/{}", srv.addr, 128 * 1024);
    let got = tokio::time::timeout(Duration::from_secs(20), fetch(&fetcher, &small, &small))
        .await
        .expect("the small feed is read while large ones hold the pool")
        .unwrap();
    assert_eq!(body_of(got).len(), 128 * 1024);
    // Let the stuck bodies go on: both complete, one after the other.
    for _ in 0..10 {
        srv.release.notify_waiters();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in big {
        let release = srv.release.clone();
        let keep = tokio::spawn(async move {
            loop {
                release.notify_waiters();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        assert_eq!(t.await.unwrap().unwrap(), 2 << 20);
        keep.abort();
    }
    let b = fetcher.buffered();
    assert!(b.peak <= b.limit && b.now == 0 && b.claimed == 0, "{b:?}");
}

/// Feeds on four hosts that all redirect to one (a CDN, a platform): the
/// redirected requests are held to that host's `per_host` like any other,
/// and the time a feed waits for the host's turn does not count against its
/// `timeout` (four 0.8 s answers one at a time outlast a 2 s timeout). Before,
/// all four reached the CDN at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirected_requests_wait_for_their_hosts_turn() {
    let origin = FeedServer::start().await;
    let cdn = FeedServer::start().await;
    cdn.set(
        "/feed.xml",
        Resource::feed(rss("CDN", &[(Some("1"), None, "x", "d")]))
            .delay(Duration::from_millis(800)),
    );
    let target = format!("http://cdn.test:{}/feed.xml", cdn.addr.port());
    let hosts = ["a.test", "b.test", "c.test", "d.test"];
    let mut feeds = String::new();
    for h in hosts {
        origin.set(
            &format!("/{h}.xml"),
            Resource::status(302).header("Location", &target),
        );
        feeds.push_str(&format!(
            "[[feed]]\nurl = \"http://{h}:{}/{h}.xml\"\n\n",
            origin.addr.port()
        ));
    }
    let mut map: Vec<(&str, &str)> = hosts.iter().map(|h| (*h, "127.0.0.1")).collect();
    map.push(("cdn.test", "127.0.0.1"));
    let env = TestEnv::new();
    let cfg = env.config(&format!(
        "[fetch]\nhost_gap = \"0s\"\nper_host = 1\nconcurrency = 16\ntimeout = \"2s\"\n\
         allow_private_networks = true\n\n{feeds}"
    ));
    let fetcher = Fetcher::with_network(&cfg.fetch, network(names(&map))).unwrap();
    let (summary, reports) = feedloom::refresh::poll_with(&cfg, env.open_store(), fetcher)
        .await
        .unwrap();
    assert_eq!(cdn.max_in_flight(), 1, "one at a time at the CDN");
    assert_eq!(summary.ok, 4, "{summary}: {reports:?}");
}

/// A 304 to a request that sent no validators means nothing: it is the
/// feed's error (it read as a healthy `not_modified` feed with no items
/// for ever); with validators sent, a 304 is the usual answer.
#[tokio::test]
async fn a_304_to_a_request_without_validators_is_an_error() {
    let srv = FeedServer::start().await;
    srv.set("/r304", Resource::status(304));
    let fetcher = Fetcher::new(&fetch_cfg("")).unwrap();
    let url = srv.url("/r304");
    let err = fetch(&fetcher, &url, &url).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("answered 304 Not Modified to a request without validators"),
        "{err}"
    );
    let origin = Origin::configured(&Url::parse(&url).unwrap(), Arc::default());
    let v = Validators {
        etag: Some("\"x\"".into()),
        last_modified: None,
    };
    let got = fetcher
        .fetch(&Url::parse(&url).unwrap(), &v, &origin)
        .await
        .unwrap();
    assert!(matches!(got, FetchOutcome::NotModified { .. }), "{got:?}");
}

/// A private feed (`?token=` in its URL) whose entries, channel or stories
/// link to `#comments`, `#home` or `#sec`: nothing published carries the
/// token. Such links were resolved against the feed's URL, query and all,
/// and the token was in every output's links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_link_does_not_publish_a_private_feeds_token() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.rss",
        Resource::feed(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Private</title><link>#home</link><description>d</description>\
             <item><guid isPermaLink=\"false\">p1</guid><title>Members' news</title><link>#comments</link>\
             <description>&lt;p&gt;See &lt;a href=\"#sec\"&gt;the section&lt;/a&gt; and &lt;a href=\"\"&gt;here&lt;/a&gt;.&lt;/p&gt;</description></item>\
             </channel></rss>",
        ),
    );
    let env = TestEnv::new();
    let port = srv.addr.port();
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n[fetch]\nhost_gap = \"0s\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/f.rss?token=TOPSECRET\"\n\n\
             [[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\", \"rss\", \"json\", \"html\"]\n"
        ),
    )
    .unwrap();
    let out = run(&env.path("feedloom.toml"), &["poll"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ext in ["atom", "rss", "json", "html"] {
        let text = std::fs::read_to_string(env.path(&format!("out/all.{ext}"))).unwrap();
        assert!(text.contains("Members"), "{ext}: {text}");
        assert!(!text.contains("TOPSECRET"), "{ext}: {text}");
    }
    let html = std::fs::read_to_string(env.path("out/all.html")).unwrap();
    // (The anchor kept, against the document's address without its query
    // at most: the item has no link.)
    assert!(
        html.contains("href=\"#sec\"")
            || html.contains(&format!("href=\"http://127.0.0.1:{port}/f.rss#sec\"")),
        "{html}"
    );
    let urls: (Option<String>, Option<String>) =
        rusqlite::Connection::open(env.path("feedloom.db"))
            .unwrap()
            .query_row(
                "SELECT i.url, f.site_url FROM items i JOIN feeds f ON f.id = i.feed_id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
    assert_eq!(urls, (None, None), "stored as no link");
}

/// The same through other spellings of "this document": an empty link
/// (Atom `href=""`, an RSS `<link> </link>`), a JSON Feed `url` of a control
/// character, an anchor with a control character before its `#`, and links
/// stored before (the feed's URL, or a signed redirect's, with `#…`): no
/// output, page or search carries the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_spellings_of_the_document_do_not_publish_a_token() {
    let srv = FeedServer::start().await;
    srv.set(
        "/a.xml",
        Resource::feed(
            "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><id>urn:a</id><link href=\"\"/>\
             <entry><id>urn:a:1</id><title>Empty href entry</title><link href=\"  \"/><updated>2026-12-01T00:00:00Z</updated>\
             <content type=\"html\">&lt;a href=\"&amp;#1;#s\"&gt;anchor&lt;/a&gt;</content></entry></feed>",
        ),
    );
    srv.set(
        "/r.xml",
        Resource::feed(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>R</title><link> </link><description>d</description>\
             <item><guid>r1</guid><title>RSS blank link</title><link> </link><description>x</description></item></channel></rss>",
        ),
    );
    let mut json = Resource::feed(
        "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"J\",\"home_page_url\":\"\\u001f\",\
         \"items\":[{\"id\":\"j1\",\"title\":\"JSON control url\",\"url\":\"\\u001f\",\"content_text\":\"x\"}]}",
    );
    json.content_type = "application/feed+json".into();
    srv.set("/j.json", json);
    let env = TestEnv::new();
    let port = srv.addr.port();
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n[fetch]\nhost_gap = \"0s\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/a.xml?token=SECRET_A\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/r.xml?token=SECRET_R\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/j.json?api_key=SECRET_J\"\n\n\
             [[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\", \"rss\", \"json\", \"html\"]\n"
        ),
    )
    .unwrap();
    let out = run(&env.path("feedloom.toml"), &["poll"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published = || {
        ["atom", "rss", "json", "html"]
            .map(|ext| std::fs::read_to_string(env.path(&format!("out/all.{ext}"))).unwrap())
    };
    for text in published() {
        assert!(
            text.contains("RSS blank link") && text.contains("JSON control url"),
            "{text}"
        );
        assert!(!text.contains("SECRET"), "{text}");
    }
    // Links a feedloom before this one stored: the feed's URL, and a signed
    // redirect target, each with a fragment.
    let db = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    db.execute_batch(&format!(
        "UPDATE items SET url = 'http://127.0.0.1:{port}/r.xml?token=SECRET_R#comments' WHERE title = 'RSS blank link';
         UPDATE items SET url = 'http://s3.example/feed.xml?X-Amz-Signature=SECRET_S#c' WHERE title = 'Empty href entry';
         UPDATE feeds SET site_url = 'http://s3.example/feed.xml?X-Amz-Signature=SECRET_S#home';
         UPDATE feeds SET body_hash = NULL, entry_seals = NULL;"
    ))
    .unwrap();
    drop(db);
    let out = run(
        &env.path("feedloom.toml"),
        &["export", "--format", "json"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(exported.contains("RSS blank link"), "{exported}");
    assert!(!exported.contains("SECRET"), "{exported}");
}

/// The same with the secret behind `;` or a second `?` in the query
/// (`?a=1;token=…`): the links that name the document were published whole,
/// the token in every output, while the log hid it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_after_a_semicolon_or_a_second_question_mark_is_not_published() {
    let srv = FeedServer::start().await;
    for path in ["/s.xml", "/q.xml"] {
        srv.set(
            path,
            Resource::feed(format!(
                "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T{path}</title><id>urn:{path}</id><link href=\"\"/>\
                 <entry><id>urn:{path}:1</id><title>Entry of {path}</title><link href=\"\"/><updated>2026-12-01T00:00:00Z</updated>\
                 <content type=\"html\">&lt;a href=\"#x\"&gt;anchor&lt;/a&gt;</content></entry></feed>"
            )),
        );
    }
    let env = TestEnv::new();
    let port = srv.addr.port();
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n[fetch]\nhost_gap = \"0s\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/s.xml?a=1;token=SECRET_SEMI\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/q.xml?a=1?api_key=SECRET_QMARK\"\n\n\
             [[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\", \"rss\", \"json\", \"html\"]\n"
        ),
    )
    .unwrap();
    let out = run(&env.path("feedloom.toml"), &["poll"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ext in ["atom", "rss", "json", "html"] {
        let text = std::fs::read_to_string(env.path(&format!("out/all.{ext}"))).unwrap();
        assert!(
            text.contains("Entry of /s.xml") && text.contains("Entry of /q.xml"),
            "{ext}: {text}"
        );
        assert!(!text.contains("SECRET"), "{ext}: {text}");
    }
    let stored: i64 = rusqlite::Connection::open(env.path("feedloom.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE i.url LIKE '%SECRET%' OR f.site_url LIKE '%SECRET%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0, "stored as no link");
}

/// A fresh store polled once with `feeds` (`[[feed]]` blocks, after `files`
/// written beside the config: a token file) and an output `all` written in
/// the four formats: each format and its file's text.
fn poll_to_files(feeds: &str, files: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let env = TestEnv::new();
    for (name, text) in files {
        std::fs::write(env.path(name), text).unwrap();
    }
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n{feeds}\n\
             [[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\", \"rss\", \"json\", \"html\"]\n"
        ),
    )
    .unwrap();
    let out = run(&env.path("feedloom.toml"), &["poll"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ["atom", "rss", "json", "html"]
        .into_iter()
        .map(|ext| {
            let text = std::fs::read_to_string(env.path(&format!("out/all.{ext}"))).unwrap();
            (ext, text)
        })
        .collect()
}

/// A private feed's token that an item repeats in another spelling is not
/// published either: through a character reference or a comment inside it
/// (the sanitiser decoded and joined what had been looked for as written),
/// across tags, in another letter case, or percent-encoded in a link or a
/// file's address. The rest of the story is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_an_item_spells_otherwise_is_not_published() {
    let srv = FeedServer::start().await;
    srv.set(
        "/p.xml",
        Resource::feed(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Premium show</title><link>https://show.example/</link>\
             <item><title>Ep3</title><link>https://show.example/ep3</link><guid>g3</guid>\
             <description>&lt;p&gt;Episode words. A Sup3rS3cret&amp;#84;ok42 B Sup3rS3cret&amp;#x54;ok42 C Sup3rS3cret&lt;!-- x --&gt;Tok42&lt;/p&gt;</description>\
             <enclosure url=\"https://cdn.example/e3.mp3?token=Sup3rS3cret%54ok42\" length=\"1\" type=\"audio/mpeg\"/></item>\
             <item><title>Ep4</title><link>https://show.example/ep4?t=sup3rs3crettok42</link><guid>g4</guid>\
             <description>&lt;p&gt;Listen: Sup3rS3cret&lt;b&gt;Tok42&lt;/b&gt; now, &lt;a href=\"https://show.example/x?k=Sup3rS3cret%54ok42\"&gt;here&lt;/a&gt;.&lt;/p&gt;</description></item>\
             </channel></rss>"
                .to_string(),
        ),
    );
    let port = srv.addr.port();
    for (ext, text) in poll_to_files(
        &format!("[[feed]]\nurl = \"http://127.0.0.1:{port}/p.xml?token=Sup3rS3cretTok42\"\n"),
        &[],
    ) {
        assert!(
            text.contains("Episode words") && text.contains("Listen:"),
            "{ext}: {text}"
        );
        let lower = text.to_ascii_lowercase();
        for spelled in ["sup3rs3crettok42", "sup3rs3cret%54ok42"] {
            assert!(!lower.contains(spelled), "{ext} has {spelled}: {text}");
        }
        let joined: String = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .split('<')
            .map(|part| part.split_once('>').map_or(part, |(_, rest)| rest))
            .collect();
        assert!(!joined.contains("Sup3rS3cretTok42"), "{ext}: {text}");
    }
}

/// A private feed's token spelled as a reader reads it is not published
/// either: with invisible characters inside it (a zero-width space, a soft
/// hyphen, a word joiner), a tab inside a URL (a browser drops it: an
/// `<img>` sent the token with no click), in full-width letters in a host
/// (a browser maps them to ASCII), as a file's media type; nor in the
/// channel's title or its home page under another name. The rest of the
/// story is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_spelled_for_a_reader_or_in_the_channel_is_not_published() {
    let srv = FeedServer::start().await;
    srv.set(
        "/p.xml",
        Resource::feed(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Premium feed for Sup3rS3cretTok42</title>\
             <link>https://show.example/?ref=Sup3rS3cretTok42</link>\
             <item><title>Ep5 Sup3r&#x200B;S3cretTok42</title><link>https://show.example/ep5</link><guid>g5</guid>\
             <author>Sup3r&#xAD;S3cret&#x2060;Tok42</author>\
             <description>&lt;p&gt;Episode five. &lt;img src=\"https://other.example/?q=Sup3rS3cret&amp;#9;Tok42\"&gt; \
             &lt;a href=\"https://&#xFF53;&#xFF55;&#xFF50;&#xFF13;&#xFF52;&#xFF53;&#xFF13;&#xFF43;&#xFF52;&#xFF45;&#xFF54;&#xFF54;&#xFF4F;&#xFF4B;&#xFF14;&#xFF12;.other.example/\"&gt;there&lt;/a&gt;&lt;/p&gt;</description>\
             <enclosure url=\"https://cdn.example/e5.mp3\" length=\"1\" type=\"audio/Sup3rS3cretTok42\"/></item>\
             </channel></rss>"
                .to_string(),
        ),
    );
    let port = srv.addr.port();
    for (ext, text) in poll_to_files(
        &format!("[[feed]]\nurl = \"http://127.0.0.1:{port}/p.xml?token=Sup3rS3cretTok42\"\n"),
        &[],
    ) {
        assert!(text.contains("Episode five"), "{ext}: {text}");
        // As a reader reads it: references decoded, what shows nothing and
        // white space gone, full-width letters as ASCII.
        let mut read = text.clone();
        for _ in 0..2 {
            read = read.replace("&amp;", "&");
            for (r, c) in [
                ("&#9;", ""),
                ("&#x9;", ""),
                ("\\t", ""),
                ("\\u200b", ""),
                ("\\u00ad", ""),
                ("\\u2060", ""),
            ] {
                read = read.replace(r, c);
            }
        }
        let read: String = read
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '\u{200B}' | '\u{AD}' | '\u{2060}'))
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap(),
                _ => c,
            })
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(!read.contains("sup3rs3crettok42"), "{ext}: {text}");
    }
}

/// A private feed redirected to an address that repeats its token in
/// another place (its path, another parameter, the fragment), which then
/// fails: the error does not quote the token, not in the store, the log
/// or `feeds`. (Only parameters named like secrets were hidden.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_redirect_repeating_the_token_does_not_quote_it() {
    let srv = FeedServer::start().await;
    let token = "Sup3rS3cretTok42";
    srv.set(
        "/p.xml",
        Resource::status(302).header("location", &format!("/x/{token}/feed?t={token}")),
    );
    let env = TestEnv::new();
    let port = srv.addr.port();
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/p.xml?token={token}\"\n"
        ),
    )
    .unwrap();
    let out = run(
        &env.path("feedloom.toml"),
        &["poll"],
        &[("FEEDLOOM_LOG", "info")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("404") || stderr.contains("not found"),
        "{stderr}"
    );
    assert!(!stderr.contains(token), "{stderr}");
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    let (last, logged): (String, String) = conn
        .query_row(
            "SELECT f.last_error, x.error FROM feeds f JOIN fetches x ON x.feed_id = f.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(last.contains("/x/***/feed"), "{last}");
    assert!(
        !last.contains(token) && !logged.contains(token),
        "{last}\n{logged}"
    );
    let out = run(&env.path("feedloom.toml"), &["feeds"], &[]);
    // (The operator's own listing names the feed as configured; its last
    // error hides the token.)
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("/x/***/feed"), "{listed}");
    assert_eq!(listed.matches(token).count(), 1, "{listed}");
}

/// The same with the redirect's target so long that the error is cut where
/// the token stands: no part of it is kept (hidden after the cut, half a
/// token was no longer the token, and stayed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_error_cut_inside_the_token_keeps_no_part_of_it() {
    let srv = FeedServer::start().await;
    let token = "Sup3rS3cretTok42";
    let pad = "a".repeat(1_462);
    let tail = "b".repeat(600);
    srv.set(
        "/p.xml",
        Resource::status(302).header(
            "location",
            &format!("/x/{pad}{token}/feed?t={token}&pad={tail}"),
        ),
    );
    let env = TestEnv::new();
    let port = srv.addr.port();
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/p.xml?token={token}\"\n"
        ),
    )
    .unwrap();
    let out = run(&env.path("feedloom.toml"), &["poll"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    let last: String = conn
        .query_row("SELECT last_error FROM feeds", [], |r| r.get(0))
        .unwrap();
    assert!(last.contains("bytes left out"), "{last}");
    assert!(last.contains("answered HTTP 404"), "{last}");
    for part in token.as_bytes().windows(6) {
        let part = std::str::from_utf8(part).unwrap();
        assert!(!last.contains(part), "{part} in {last}");
        assert!(!stderr.contains(part), "{part} in {stderr}");
    }
}

/// A private feed redirected to a Location that is no address, holding the
/// feed's token far into it and a signed target's own `sig=`: the error
/// names the bad Location without either (it quoted 300 bytes of it, the
/// token cut in two at their end and kept, and the `sig=` whole, no rule
/// finding a URL in it to hide).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_no_address_quotes_no_secret() {
    let srv = FeedServer::start().await;
    let token = "Zq7Kp9Wm3Xr5Tt2Ab";
    let sig = "abcd1234efgh5678XYZW";
    srv.set(
        "/p.xml",
        Resource::status(302).header(
            "location",
            &format!("http://[::1/{}{token}/f?sig={sig}", "b".repeat(280)),
        ),
    );
    srv.set(
        "/q.xml",
        Resource::status(301).header("location", &format!("http://ex ample.com/?sig={sig}")),
    );
    let env = TestEnv::new();
    let port = srv.addr.port();
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/p.xml?token={token}\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/q.xml?token={token}\"\n"
        ),
    )
    .unwrap();
    let out = run(&env.path("feedloom.toml"), &["poll"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    let mut st = conn
        .prepare("SELECT last_error FROM feeds ORDER BY url")
        .unwrap();
    let errors: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        errors[0].contains("which is no address (invalid IPv6 address)"),
        "{errors:?}"
    );
    assert!(errors[0].contains("b***/f?…`"), "{errors:?}");
    assert!(
        errors[1].contains("a redirect to `http://ex ample.com/?…`, which is no address"),
        "{errors:?}"
    );
    for secret in [token, sig] {
        for part in secret.as_bytes().windows(5) {
            let part = std::str::from_utf8(part).unwrap();
            assert!(!errors.concat().contains(part), "{part} in {errors:?}");
            assert!(!stderr.contains(part), "{part} in {stderr}");
        }
    }
}

/// A key a feed sends as a header, a bearer token or a password, repeated
/// by its items (a premium podcast's media URLs, its show notes), is not
/// published, as a `?token=` in its URL is not; so is any header's value
/// of letters and digits (`X-Uid`, `X-License`) but those of headers that
/// say only how to answer: `Accept-Language` hides nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sent_in_a_header_or_as_a_token_is_not_published() {
    let srv = FeedServer::start().await;
    srv.set(
        "/p.xml",
        Resource::feed(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Premium show</title><link>https://show.example/</link>\
             <item><title>Ep6</title><link>https://show.example/ep6</link><guid>g6</guid>\
             <description>&lt;p&gt;Episode six, for K3yHeader77x and Be4rerTok99zz, in en-GB2024x, P4ssHeader55 and Acc3ssHeader66, PwH3ader44, 0tpHeader33, P1nHeader22, C00kieHdr91, T0tpHdr5x, U1dHdr7788x9q2k1m3, L1c-Hdr4242-zz99k, wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, dGhpcyBpcyBhIHNlY3JldA1=, abcdef1234567890XYZ, in eu-west-12 for Firefox/120.0, Pq1Wx2Ec3Rv4Tb5Yn6Um7, Zk8Lp3Mq9Nr2Os7Pt4Qu, Cl13ntD4taKey5566 and S3ss1onKey9Abc8Def7, V1d0tK3yPart77 and Acct5lashK3y99xyz, by acme-news-desk-2024, 83749201938475610293, QwErTyUiOpAsDfGhJkLz, Pct3ncK3y88zz99xx and 12345678901234 &lt;a href=\"https://news2.example.com/p/1\"&gt;at news2.example.com&lt;/a&gt;.&lt;/p&gt;</description>\
             <enclosure url=\"https://cdn.example/e6.mp3?key=K3yHeader77x\" length=\"1\" type=\"audio/mpeg\"/></item>\
             <item><title>Ep7 Be4rerTok99zz</title><link>https://show.example/ep7?t=Be4rerTok99zz</link><guid>g7</guid>\
             <description>Episode seven.</description></item>\
             </channel></rss>"
                .to_string(),
        ),
    );
    let port = srv.addr.port();
    for (ext, text) in poll_to_files(
        &format!(
            "[[feed]]\nurl = \"http://127.0.0.1:{port}/p.xml\"\n\
             headers = {{ X-Api-Key = \"K3yHeader77x\", Accept-Language = \"en-GB2024x\", \
             X-Pass = \"P4ssHeader55\", X-Access = \"Acc3ssHeader66\", X-Pw = \"PwH3ader44\", \
             X-Otp = \"0tpHeader33\", X-Pin = \"P1nHeader22\", X-Cookie = \"C00kieHdr91\", \
             X-Totp = \"T0tpHdr5x\", X-Uid = \"U1dHdr7788x9q2k1m3\", X-License = \"L1c-Hdr4242-zz99k\", \
             X-Region = \"eu-west-12\", X-Client = \"Firefox/120.0\", \
             X-Blob = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\", X-Data = \"dGhpcyBpcyBhIHNlY3JldA1=\", \
             X-Forwarded-Host = \"news2.example.com\", X-Upstream = \"Bearer abcdef1234567890XYZ\", \
             Cookie = \"sid=Pq1Wx2Ec3Rv4Tb5Yn6Um7; lang=en\", X-Client-Key = \"client42:Zk8Lp3Mq9Nr2Os7Pt4Qu\", \
             X-Client-Data = '{{\"k\":\"Cl13ntD4taKey5566\"}}', X-Session-Info = \"sid=S3ss1onKey9Abc8Def7\", X-Auth-Token = \"v1.V1d0tK3yPart77@tenant\", \
             X-Account = \"acct/Acct5lashK3y99xyz\", \
             X-Workspace = \"acme-news-desk-2024\", X-Api-Secret = \"83749201938475610293\", \
             X-Session-Token = \"QwErTyUiOpAsDfGhJkLz\", X-Extra = \"app%3DPct3ncK3y88zz99xx\", \
             X-Count = \"12345678901234\" }}\n\
             auth = {{ bearer = {{ file = \"token\" }} }}\n"
        ),
        &[("token", "Be4rerTok99zz\n")],
    ) {
        assert!(
            text.contains("Episode six") && text.contains("Episode seven"),
            "{ext}: {text}"
        );
        assert!(text.contains("en-GB2024x"), "{ext}: {text}");
        // (A region or a client's name is no key: it was hidden from every
        // title naming it.)
        assert!(
            text.contains("eu-west-12") && text.contains("Firefox/120.0"),
            "{ext}: {text}"
        );
        // (Nor a slug of words and a year: hidden as a key, it took every
        // title naming it.)
        assert!(text.contains("acme-news-desk-2024"), "{ext}: {text}");
        // (Nor a number under a header named like no secret.)
        assert!(text.contains("12345678901234"), "{ext}: {text}");
        // (Nor a host name: hidden as a key, it took every link to it.)
        assert!(
            text.contains("https://news2.example.com/p/1") && text.contains("at news2.example.com"),
            "{ext}: {text}"
        );
        // (`X-Pass`, `X-Access`: named as a `?pass=` or `?access=` is.)
        for secret in [
            "K3yHeader77x",
            "Be4rerTok99zz",
            "P4ssHeader55",
            "Acc3ssHeader66",
            "PwH3ader44",
            "0tpHeader33",
            "P1nHeader22",
            // (Named like no secret, but sending a key: 16 letters and
            // digits or more.)
            "C00kieHdr91",
            "T0tpHdr5x",
            "U1dHdr7788x9q2k1m3",
            "L1c-Hdr4242-zz99k",
            // (An AWS secret key, base64: `/`, `+`, `=` in them.)
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "dGhpcyBpcyBhIHNlY3JldA1=",
            // (The key behind a scheme word, in a header named like no
            // secret.)
            "abcdef1234567890XYZ",
            // (Keys inside a structured value: `sid=KEY`, `client:KEY`,
            // JSON; each was published whole.)
            "Pq1Wx2Ec3Rv4Tb5Yn6Um7",
            "Zk8Lp3Mq9Nr2Os7Pt4Qu",
            "Cl13ntD4taKey5566",
            "S3ss1onKey9Abc8Def7",
            // (`v1.KEY@tenant`, `acct/KEY`: the key between dots, slashes
            // or an `@`.)
            "V1d0tK3yPart77",
            "Acct5lashK3y99",
            // (Under a header named like a secret, digits only or letters
            // only; and a key behind a `%`-encoded `=`.)
            "83749201938475610293",
            "QwErTyUiOpAsDfGhJkLz",
            "Pct3ncK3y88zz99xx",
        ] {
            assert!(!text.contains(secret), "{ext} has {secret}: {text}");
        }
    }
}

/// A feed moved for good (a permanent redirect, three times in a row) to an
/// address with a token: its items repeating that token are published
/// without it, as they are for the configured URL's (the log hid it, the
/// outputs published it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_of_the_address_a_feed_moved_to_is_not_published() {
    let srv = FeedServer::start().await;
    let token = "Mv5cretTok88";
    srv.set(
        "/pub.xml",
        Resource::status(301).header("location", &format!("/f.xml?token={token}")),
    );
    srv.set(
        "/f.xml",
        Resource::feed(format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Show</title><link>https://show.example/</link>\
             <item><title>Ep1</title><link>https://show.example/ep1</link><guid>m1</guid>\
             <description>Episode one, key {token}.</description>\
             <enclosure url=\"https://cdn.example/m1.mp3?token={token}\" length=\"1\" type=\"audio/mpeg\"/></item>\
             </channel></rss>"
        )),
    );
    let env = TestEnv::new();
    let port = srv.addr.port();
    std::fs::write(
        env.path("feedloom.toml"),
        format!(
            "[store]\npath = \"feedloom.db\"\n\n\
             [[feed]]\nurl = \"http://127.0.0.1:{port}/pub.xml\"\n\n\
             [[output]]\nname = \"all\"\npath = \"out/all\"\nformats = [\"atom\", \"json\"]\n"
        ),
    )
    .unwrap();
    for _ in 0..4 {
        let out = run(&env.path("feedloom.toml"), &["poll"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conn = rusqlite::Connection::open(env.path("feedloom.db")).unwrap();
    let moved: Option<String> = conn
        .query_row("SELECT fetch_url FROM feeds", [], |r| r.get(0))
        .unwrap();
    assert!(
        moved.is_some_and(|m| m.contains(token)),
        "the feed did not move"
    );
    for ext in ["atom", "json"] {
        let text = std::fs::read_to_string(env.path(&format!("out/all.{ext}"))).unwrap();
        assert!(text.contains("Episode one"), "{ext}: {text}");
        assert!(!text.contains(token), "{ext}: {text}");
    }
    let out = run(
        &env.path("feedloom.toml"),
        &["export", "--format", "json"],
        &[],
    );
    let exported = String::from_utf8_lossy(&out.stdout);
    assert!(
        exported.contains("Episode one") && !exported.contains(token),
        "{exported}"
    );
}
