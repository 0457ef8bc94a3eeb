//! A throwaway PostgreSQL database per test, from the cluster that
//! `.ci/postgres.sh` starts (`FEEDLOOM_TEST_POSTGRES=postgres://user@127.0.0.1:PORT/postgres`).
//! Without that variable the PostgreSQL tests print one line and pass, unless
//! `CI` is set: CI never skips them. Used as `#[path = "support/pg.rs"] mod pg;`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// The cluster's admin URL, or `None` (after saying so) on a machine without one.
pub fn admin_url(test: &str) -> Option<String> {
    match std::env::var("FEEDLOOM_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "{test}: FEEDLOOM_TEST_POSTGRES is not set; CI must run the PostgreSQL tests (.ci/postgres.sh)"
                );
            }
            // Straight to stderr, past the test harness's capture: the line is
            // seen in a plain `cargo test`.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipping {test}: no PostgreSQL (source .ci/postgres.sh to run it; CI does)"
            );
            None
        }
    }
}

/// A new empty database on the cluster: its URL.
pub async fn fresh_db(test: &str) -> Option<String> {
    fresh_db_with(test, "").await
}

/// [`fresh_db`], created with `options` after `CREATE DATABASE name`
/// (`ENCODING 'SQL_ASCII' TEMPLATE template0`).
pub async fn fresh_db_with(test: &str, options: &str) -> Option<String> {
    let admin = admin_url(test)?;
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t_{}_{}_{}",
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_lowercase(),
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .expect("connecting to the test cluster");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name} {options}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    Some(format!("{base}/{name}"))
}

/// The store location of a node on `url` (no password file, 60 s leases).
pub fn location(url: &str) -> feedloom::store::Location {
    feedloom::store::Location::Postgres {
        url: url.to_string(),
        password_file: None,
        lease_secs: 60,
    }
}

/// A client on `url`, for checks a user would run in psql.
pub async fn client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

pub async fn count(c: &tokio_postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}

/// libfaketime, for a node whose clock is not the server's; `None` (a test
/// then passes without it) on a machine without it, except under CI, which
/// installs it.
pub fn faketime() -> Option<std::path::PathBuf> {
    let lib = std::fs::read_dir("/usr/lib")
        .ok()?
        .filter_map(Result::ok)
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists());
    if lib.is_none() {
        assert!(std::env::var_os("CI").is_none(), "libfaketime is missing");
    }
    lib
}
