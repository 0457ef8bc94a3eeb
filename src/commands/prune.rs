//! `feedloom prune [--dry-run] [--vacuum]`: retention by hand (the daemon runs
//! it once a day). `--dry-run` reads only and says what would go; otherwise the
//! command takes the store's lock like `poll` (a running daemon refuses it).

use crate::config::Config;
use crate::store::prune::{Pruned, Retention};

/// The retention `cfg` asks for.
pub fn retention(cfg: &Config) -> Retention {
    Retention {
        keep: cfg
            .store
            .keep
            .map(|d| d.0.as_secs().min(i64::MAX as u64) as i64),
        keep_fetch_log: cfg.store.keep_fetch_log.0.as_secs().min(i64::MAX as u64) as i64,
    }
}

/// What the retention keeps, in words.
pub fn describe(cfg: &Config, now: i64) -> String {
    let r = retention(cfg);
    let date = |secs: i64| crate::web::time::absolute(now.saturating_sub(secs));
    let items = match r.keep {
        Some(k) => format!(
            "items first seen before {} ({} ago, `[store] keep`)",
            date(k),
            super::short_duration(k as u64)
        ),
        None => "no items (`[store] keep` is not set: items are kept)".to_string(),
    };
    format!(
        "prunes {items}; fetch-log rows before {} (`keep_fetch_log`)",
        date(r.keep_fetch_log)
    )
}

/// A report line for what was (or would be) removed.
pub fn report(p: &Pruned, dry_run: bool) -> String {
    let verb = if dry_run { "would remove" } else { "removed" };
    format!(
        "{verb} {} items, {} stories, {} fetch-log rows; tombstones: {} {}, {} {}",
        p.items,
        p.stories,
        p.fetches,
        p.tombstones_added,
        if dry_run { "to add" } else { "added" },
        p.tombstones_dropped,
        if dry_run { "to drop" } else { "dropped" },
    )
}
