//! The daemon in-process for page tests: `app::run` on 127.0.0.1:0 with a stop
//! handle, and HTTP helpers. Used as `#[path = "support/daemon.rs"] mod daemon;`
//! beside `mod common;`.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use feedloom::app;
use tokio::sync::{mpsc, oneshot};

use crate::common::TestEnv;

pub struct Daemon {
    pub addr: std::net::SocketAddr,
    pub env: TestEnv,
    stop: Option<oneshot::Sender<()>>,
    _reload: mpsc::Sender<()>,
    handle: Option<tokio::task::JoinHandle<Result<(), app::AppError>>>,
    pub http: reqwest::Client,
}

impl Daemon {
    /// Starts `feedloom run` with `body` as its config (store in a temp folder).
    pub async fn start(body: &str) -> Daemon {
        Daemon::start_in(TestEnv::new(), body).await
    }

    /// Starts `feedloom run` in `env` (whose store may hold data already).
    pub async fn start_in(env: TestEnv, body: &str) -> Daemon {
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
        Daemon {
            addr,
            env,
            stop: Some(stop_tx),
            _reload: reload_tx,
            handle: Some(handle),
            http: reqwest::Client::builder().no_gzip().build().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET with headers; (status, headers, body).
    pub async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.http.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let h = r.headers().clone();
        (status, h, r.text().await.unwrap())
    }

    /// Waits (up to `secs`) until `path` answers 200 with a body for which
    /// `cond` holds, and returns that body.
    pub async fn wait_for_page(
        &self,
        path: &str,
        secs: u64,
        cond: impl Fn(&str) -> bool,
    ) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, _, body) = self.get(path, &[]).await;
            if status == 200 && cond(&body) {
                return body;
            }
            assert!(
                Instant::now() < end,
                "{path} never got there; last ({status}):\n{body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(mut self) -> TestEnv {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.handle.take().unwrap())
            .await
            .expect("daemon stops")
            .unwrap()
            .unwrap();
        std::mem::replace(&mut self.env, TestEnv::new())
    }
}

/// `count` stories in a page: its `<article class="story"` elements.
pub fn story_count(html: &str) -> usize {
    html.matches("<article class=\"story\"").count()
}

/// The `id`s of a page's stories, in order.
pub fn story_ids(html: &str) -> Vec<String> {
    html.split("<article class=\"story\" id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

/// RFC 822 time `secs_ago` seconds before now.
pub fn rfc822_ago(secs_ago: i64) -> String {
    feedloom::export::rfc822(feedloom::now_unix() - secs_ago)
}
