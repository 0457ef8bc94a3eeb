//! How well the daemon is doing its job, judged from the feeds' counts (pure):
//! what `/healthz` says, and what an index page may show. It owns the rules for
//! `degraded`; the counts come from [`crate::store::queries::FeedHealth`].
//!
//! Never here: I/O, HTTP status codes (the route decides those).

use std::time::Duration;

use crate::store::queries::FeedHealth;

/// Why the feeds are not all right, worded for a person; empty when they are.
///
/// * every configured feed is disabled (410 Gone), or
/// * every enabled feed is failing, or
/// * no feed has succeeded within `degraded_after`, counted from the latest
///   success or from `started_at` (the daemon's start), whichever is later, so
///   a daemon that just started is not degraded before it had a chance.
///
/// A config with no feeds at all has nothing to fail: no reason.
pub fn degraded_reasons(
    h: &FeedHealth,
    now: i64,
    started_at: i64,
    degraded_after: Duration,
) -> Vec<String> {
    let mut reasons = Vec::new();
    let enabled = h.enabled();
    if enabled == 0 {
        // (No feed at all is said too: a daemon started on, or reloaded to,
        // a config without feeds fetched nothing and said "ok".)
        reasons.push(match h.disabled {
            0 => "no feeds in the config: nothing is fetched".to_string(),
            n => format!(
                "every feed is disabled ({n} after 410 Gone; `feedloom enable URL` brings one back)"
            ),
        });
        return reasons;
    }
    if h.failing == enabled {
        reasons.push(if enabled == 1 {
            "the only enabled feed is failing".to_string()
        } else {
            format!("every enabled feed is failing ({enabled})")
        });
    }
    let after = degraded_after.as_secs().min(i64::MAX as u64) as i64;
    let since = h.last_success_at.unwrap_or(i64::MIN).max(started_at);
    if now.saturating_sub(since) > after {
        let last = match h.last_success_at {
            Some(t) => format!("last success {} ago", age(now - t)),
            None => "none ever".to_string(),
        };
        reasons.push(format!("no feed has succeeded in {} ({last})", age(after)));
    }
    reasons
}

/// Seconds as a short human duration: "6h", "2d 3h", "45s".
fn age(secs: i64) -> String {
    humantime::format_duration(Duration::from_secs(secs.max(0) as u64)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const H6: Duration = Duration::from_secs(6 * 3600);

    fn counts(ok: u32, failing: u32, disabled: u32, never: u32, last: Option<i64>) -> FeedHealth {
        FeedHealth {
            ok,
            failing,
            disabled,
            never_fetched: never,
            last_success_at: last,
        }
    }

    #[test]
    fn a_fresh_start_is_not_degraded_until_the_window_passes() {
        let start = 1_000_000;
        let never = counts(0, 0, 0, 3, None);
        assert!(degraded_reasons(&never, start + 60, start, H6).is_empty());
        let r = degraded_reasons(&never, start + 6 * 3600 + 1, start, H6);
        assert_eq!(r, ["no feed has succeeded in 6h (none ever)"]);
    }

    #[test]
    fn the_window_counts_from_the_latest_success_or_the_start() {
        let start = 1_000_000;
        // An old success before this start: the start counts.
        let old = counts(2, 0, 0, 0, Some(start - 86_400));
        assert!(degraded_reasons(&old, start + 3600, start, H6).is_empty());
        let r = degraded_reasons(&old, start + 7 * 3600, start, H6);
        assert_eq!(
            r,
            ["no feed has succeeded in 6h (last success 1day 7h ago)"]
        );
        // A recent success keeps it ok, however long the daemon runs.
        let recent = counts(2, 0, 0, 0, Some(start + 100 * 86_400));
        assert!(degraded_reasons(&recent, start + 100 * 86_400 + 60, start, H6).is_empty());
    }

    #[test]
    fn every_enabled_feed_failing_is_degraded_at_once() {
        let r = degraded_reasons(&counts(0, 3, 1, 0, Some(10)), 20, 0, H6);
        assert_eq!(r, ["every enabled feed is failing (3)"]);
        let r = degraded_reasons(&counts(0, 1, 0, 0, None), 20, 0, H6);
        assert_eq!(r, ["the only enabled feed is failing"]);
        // One feed ok, or one not fetched yet: not every feed is failing.
        assert!(degraded_reasons(&counts(1, 3, 0, 0, Some(10)), 20, 0, H6).is_empty());
        assert!(degraded_reasons(&counts(0, 3, 0, 1, None), 20, 0, H6).is_empty());
    }

    #[test]
    fn all_disabled_or_no_feeds_is_degraded() {
        let r = degraded_reasons(&counts(0, 0, 2, 0, Some(5)), 1_000_000, 0, H6);
        assert_eq!(r.len(), 1);
        assert!(r[0].starts_with("every feed is disabled (2"), "{r:?}");
        assert_eq!(
            degraded_reasons(&FeedHealth::default(), 60, 0, H6),
            ["no feeds in the config: nothing is fetched"]
        );
    }

    #[test]
    fn both_reasons_at_once() {
        let r = degraded_reasons(&counts(0, 2, 0, 0, Some(0)), 7 * 3600, 0, H6);
        assert_eq!(r.len(), 2, "{r:?}");
    }
}
