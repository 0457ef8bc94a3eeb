//! What `/healthz` costs the store: `Store::feed_health` (one pass over
//! `feeds`) against the bare `SELECT 1` it replaced, on a store of N feeds
//! (default 10,000; a third ok, a third failing, a third never fetched).
//! The daemon reads the counts at most once a second (`server::HEALTH_REUSE`).
//!
//! cargo run --release --example health_cost -- 10000

use std::time::Instant;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let toml: String = (0..n)
        .map(|i| format!("[[feed]]\nurl = \"http://h{}.test/f{i}.xml\"\n\n", i % 50))
        .collect();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, format!("[store]\npath = \"f.db\"\n\n{toml}")).unwrap();
    let cfg = feedloom::config::load(&p).unwrap();
    let mut s = feedloom::store::Store::open(&cfg.store.path).unwrap();
    s.sync_config(&cfg.feeds).unwrap();
    s.conn().execute_batch("UPDATE feeds SET last_status = CASE id % 3 WHEN 0 THEN 'ok' WHEN 1 THEN 'error' ELSE NULL END, last_success_at = id").unwrap();
    let reps = 200;
    let t = Instant::now();
    for _ in 0..reps {
        let _: i64 = s.conn().query_row("SELECT 1", [], |r| r.get(0)).unwrap();
    }
    let base = t.elapsed() / reps;
    let t = Instant::now();
    let mut h = Default::default();
    for _ in 0..reps {
        h = s.feed_health().unwrap();
    }
    let q = t.elapsed() / reps;
    println!(
        "{n} feeds: SELECT 1 {base:?}, feed_health {q:?} ({:.0}x), {h:?}",
        q.as_secs_f64() / base.as_secs_f64()
    );
}
