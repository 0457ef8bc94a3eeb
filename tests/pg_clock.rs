//! A PostgreSQL node's clock measured again after a step: what it booked by
//! the stepped clock before the measure is moved back. Its own process (the
//! test moves the process-wide clock offset, which every other test's times
//! would follow). Needs `FEEDLOOM_TEST_POSTGRES` (tests/support/pg.rs); skips
//! with one line without it.

#[path = "support/pg.rs"]
mod pg;

use feedloom::store::{Backend, Location};

/// A node whose corrected clock ran an hour ahead (a step forward it had not
/// measured yet: a fetch stored in the second before its tick saw the step,
/// or all it stored while the server could not be reached) measures the
/// server's time again: its feeds' last and next fetches, its hosts' turns
/// and its items' and stories' times booked an hour ahead are moved back
/// (they stayed ahead: the feeds unfetched, the stories on top, for the hour);
/// a host's turn a few seconds ahead, as booked before the step, stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_node_booked_ahead_before_measuring_a_step_is_moved_back() {
    let Some(url) = pg::fresh_db("clock_moved_back").await else {
        return;
    };
    let loc = Location::Postgres {
        url: url.clone(),
        password_file: None,
        lease_secs: 60,
    };
    let store = Backend::open(&loc, "test:1").await.unwrap();
    let c = pg::client(&url).await;
    let now = pg::count(&c, "SELECT extract(epoch FROM now())::bigint").await;
    let ahead = now + 3600;
    c.batch_execute(&format!(
        "INSERT INTO feeds (url, created_at, in_config, enabled, last_fetch_at, next_fetch_at)
             VALUES ('https://a.example/f', {now}, 1, 1, {ahead}, {})
                  , ('https://b.example/f', {now}, 1, 1, {now}, {});
         INSERT INTO hosts (host, next_start_ms) VALUES ('a.example', {}), ('b.example', {});",
        ahead + 600,
        now + 600,
        ahead * 1000,
        (now + 4) * 1000
    ))
    .await
    .unwrap();
    // The node believed the server an hour ahead; measured again, it is not.
    feedloom::set_clock_offset_ms(3_600_000);
    store.clock_stepped_back(ahead, 0).await.unwrap();
    assert!(feedloom::now_unix() < now + 60, "the server's time again");
    let rows = c
        .query(
            "SELECT url, last_fetch_at, next_fetch_at FROM feeds ORDER BY url",
            &[],
        )
        .await
        .unwrap();
    let a: (String, i64, i64) = (rows[0].get(0), rows[0].get(1), rows[0].get(2));
    assert!(a.1 < now + 60, "{a:?}");
    assert!(
        (a.1 + 590..=a.1 + 610).contains(&a.2),
        "its wait kept: {a:?}"
    );
    let b: (i64, i64) = (rows[1].get(1), rows[1].get(2));
    assert_eq!(b, (now, now + 600), "fetched before the step: as it was");
    let turns = c
        .query("SELECT host, next_start_ms FROM hosts ORDER BY host", &[])
        .await
        .unwrap();
    let a_turn: i64 = turns[0].get(1);
    let b_turn: i64 = turns[1].get(1);
    assert!(a_turn < (now + 60) * 1000, "{a_turn}");
    assert_eq!(b_turn, (now + 4) * 1000, "a turn a gap ahead stays");
}
