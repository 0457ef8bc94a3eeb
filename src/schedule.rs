//! When is a feed next due? Pure arithmetic over times in Unix seconds.
//!
//! After a success the next fetch is the latest of: the feed's schedule (interval
//! or cron), the server's freshness hint (Cache-Control/Expires), the feed's own
//! `<ttl>`, each capped by `max_delay`. After a failure it is the error backoff
//! (exponential over consecutive failures, with jitter, capped by `max_backoff`),
//! or the server's Retry-After when that is later.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{Defaults, FeedConfig};
use crate::error::Disposition;

/// A feed's own schedule.
#[derive(Debug, Clone)]
pub enum Every {
    Interval(Duration),
    Cron(Box<cron::Schedule>),
}

impl PartialEq for Every {
    fn eq(&self, other: &Every) -> bool {
        match (self, other) {
            (Every::Interval(a), Every::Interval(b)) => a == b,
            (Every::Cron(a), Every::Cron(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

impl Every {
    pub fn of(feed: &FeedConfig, defaults: &Defaults) -> Every {
        match (&feed.cron, feed.every) {
            (Some(c), _) => Every::Cron(Box::new(c.0.clone())),
            (None, Some(e)) => Every::Interval(e.0),
            (None, None) => Every::Interval(defaults.every.0),
        }
    }

    /// The first scheduled time strictly after `now`.
    pub fn next_after(&self, now: i64) -> i64 {
        match self {
            Every::Interval(d) => now.saturating_add(secs(*d).max(1)),
            Every::Cron(s) => {
                let at = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default();
                s.after(&at)
                    .next()
                    .map(|t| t.timestamp())
                    .unwrap_or(now.saturating_add(86_400 * 365))
            }
        }
    }

    /// A nominal period, used to spread first polls.
    pub fn period(&self, now: i64) -> i64 {
        match self {
            Every::Interval(d) => secs(*d).max(1),
            Every::Cron(_) => (self.next_after(now) - now).max(1),
        }
    }
}

/// Whether a stored next fetch time lies past anything the rules could have
/// set at `now` (the schedule's next time, `max_delay`, `max_backoff`, a
/// minute more): it was set by a clock that was ahead. Such a feed is due at
/// once; it waited until the clock caught up (30 days ahead: 30 days without a
/// fetch, and `poll` left it out as backing off).
pub fn set_by_a_clock_ahead(next: i64, now: i64, every: &Every, defaults: &Defaults) -> bool {
    let latest = [
        every.next_after(now),
        now.saturating_add(secs(defaults.max_delay.0)),
        now.saturating_add(secs(defaults.max_backoff.0)),
    ]
    .into_iter()
    .max()
    .unwrap_or(now);
    next > latest.saturating_add(60)
}

/// How far the wall clock stepped back between a reading `before` and one
/// `now`, `elapsed` apart as the monotonic clock measured them, when by at
/// least [`CLOCK_STEP`] seconds (an NTP step, a virtual machine restored).
pub fn stepped_back(before: i64, elapsed: Duration, now: i64) -> Option<i64> {
    // (Rounded: whole seconds truncated measured every step a second short.)
    let elapsed = (elapsed.as_millis() + 500) / 1000;
    let expected = before.saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX));
    let by = expected.saturating_sub(now);
    (by >= CLOCK_STEP).then_some(by)
}

/// How far the wall clock stepped forward between a reading `before` and
/// one `now`, `elapsed` apart by the monotonic clock, when by at least
/// [`CLOCK_STEP`] seconds (an NTP step, a virtual machine resumed).
pub fn stepped_ahead(before: i64, elapsed: Duration, now: i64) -> Option<i64> {
    let elapsed = (elapsed.as_millis() + 500) / 1000;
    let expected = before.saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX));
    let by = now.saturating_sub(expected);
    (by >= CLOCK_STEP).then_some(by)
}

/// The least step back of the wall clock the daemon moves its schedule for
/// (seconds; less is the two clocks' rounding).
pub const CLOCK_STEP: i64 = 5;

/// Whole seconds of a duration, bounded so that sums with a time cannot overflow.
/// Whole seconds, rounded up: a schedule of `1s 999ms` (or a server asking
/// for 1.5 s) is never fetched sooner than it says (it was fetched every
/// second).
fn secs(d: Duration) -> i64 {
    let whole = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    whole.min(i64::MAX as u64 / 4) as i64
}

/// Hints that can only push a fetch later.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints {
    /// Cache-Control max-age / Expires.
    pub fresh_for: Option<Duration>,
    /// RSS `<ttl>`.
    pub ttl_minutes: Option<u32>,
    /// skipHours, skipDays, sy:updatePeriod/updateFrequency.
    pub doc: crate::hints::DocHints,
}

/// Next fetch after a success (200 or 304) at `now`.
pub fn after_success(now: i64, every: &Every, hints: Hints, max_delay: Duration) -> i64 {
    let scheduled = every.next_after(now);
    let cap = now.saturating_add(secs(max_delay));
    let hinted = [
        hints.fresh_for.map(|d| now.saturating_add(secs(d))),
        hints
            .ttl_minutes
            .map(|m| now.saturating_add(i64::from(m) * 60)),
        hints
            .doc
            .update_interval
            .map(|d| now.saturating_add(secs(d))),
    ]
    .into_iter()
    .flatten()
    .map(|t| t.min(cap))
    .max()
    .unwrap_or(scheduled);
    skip_forward(scheduled.max(hinted), &hints.doc).min(cap.max(scheduled))
}

/// Moves `t` to the start of the first hour that skipHours/skipDays allow.
fn skip_forward(t: i64, h: &crate::hints::DocHints) -> i64 {
    if h.skip_hours == 0 && h.skip_days == 0 {
        return t;
    }
    let mut t = t;
    for _ in 0..(24 * 8) {
        let hour = t.rem_euclid(86_400) / 3600;
        // 1970-01-01 was a Thursday: day 3 with Monday = 0.
        let day = (t.div_euclid(86_400) + 3).rem_euclid(7);
        let skipped = h.skip_hours & (1 << hour) != 0 || h.skip_days & (1 << day) != 0;
        if !skipped {
            return t;
        }
        t = t - t.rem_euclid(3600) + 3600;
    }
    t
}

/// Next attempt after the `failures`-th consecutive failure at `now`. `jitter` is
/// a fraction in [0, 1) (derived from the feed, so runs are reproducible).
pub fn after_failure(
    now: i64,
    every: &Every,
    failures: u32,
    disposition: Disposition,
    max_backoff: Duration,
    jitter: f64,
) -> Option<i64> {
    let period = every.period(now);
    let base = period.clamp(1, 3600) as f64;
    let exp = 2f64.powi(failures.saturating_sub(1).min(30) as i32);
    let cap = backoff_cap(now, every, max_backoff) as f64;
    let backoff = (base * exp).min(cap);
    // Up to +25% so that feeds failing together do not retry together.
    let backoff = (backoff * (1.0 + 0.25 * jitter)).min(cap) as i64;
    let backoff = now.saturating_add(backoff.max(1));
    match disposition {
        Disposition::Gone => None,
        Disposition::Held(d) => Some(now.saturating_add(secs(d).min(cap as i64)).max(now + 1)),
        Disposition::Backoff => Some(backoff),
        // Honoured, up to the backoff cap, and then [`AFTER_THE_HELD`] more.
        Disposition::RetryAfter(d) => Some(
            backoff.max(
                now.saturating_add(secs(d).min(cap as i64))
                    .saturating_add(AFTER_THE_HELD),
            ),
        ),
    }
}

/// The longest a failure puts a feed's next fetch off, in seconds: up to
/// `max_backoff`, or the feed's own interval when that is longer (a weekly
/// feed failing was asked for daily, seven times its usual pace); a
/// Retry-After is honoured up to it, and [`AFTER_THE_HELD`] more.
pub fn backoff_cap(now: i64, every: &Every, max_backoff: Duration) -> i64 {
    (max_backoff
        .as_secs_f64()
        .max(every.period(now) as f64)
        .max(1.0)) as i64
}

/// Whether a failing or held feed's next fetch `next` lies past what its
/// backoff could be under the config now ([`backoff_cap`], and
/// [`AFTER_THE_HELD`] more): set under a longer interval or `max_backoff`,
/// it is cut to the cap (by the daemon at a start or reload; `poll` does not
/// leave it out as backing off).
pub fn beyond_backoff(next: i64, now: i64, every: &Every, max_backoff: Duration) -> bool {
    next > now + backoff_cap(now, every, max_backoff) + AFTER_THE_HELD
}

/// Seconds a feed answered with a Retry-After waits past it: the feeds its
/// server's hold kept waiting ([`Disposition::Held`], due the second the
/// hold is over, rounded up) are asked first. A feed answered 429 on every
/// request was asked at the end of each hold, before them, and held its
/// server's other feeds for as long as it failed.
pub const AFTER_THE_HELD: i64 = 2;

/// A stable fraction in [0, 1) for a feed, for jitter and spreading.
pub fn jitter_of(url: &str, salt: u64) -> f64 {
    // FNV-1a: small, stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in url.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// First fetch of a feed the store has never fetched: spread over its period
/// (at most `spread`) so that many feeds with one interval do not start together.
pub fn first_fetch(now: i64, every: &Every, url: &str, spread: Duration) -> i64 {
    let window = every.period(now).min(secs(spread)).max(0);
    now.saturating_add((jitter_of(url, 0) * window as f64) as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_of_a_second_are_waited_for() {
        let every = Every::Interval(Duration::from_millis(1999));
        assert_eq!(every.next_after(100), 102);
        assert_eq!(Every::Interval(Duration::from_secs(2)).next_after(100), 102);
        assert_eq!(
            Every::Interval(Duration::from_millis(2900)).next_after(100),
            103
        );
    }

    use super::*;
    use std::str::FromStr;

    const H: Duration = Duration::from_secs(3600);

    /// A wall clock that went back against the monotonic one is a step; a
    /// second's rounding, or a clock that went forward, is not.
    #[test]
    fn a_wall_clock_step_back_is_measured() {
        let t = 1_700_000_000;
        assert_eq!(stepped_back(t, Duration::from_secs(1), t + 1), None);
        assert_eq!(stepped_back(t, Duration::from_millis(1_900), t), None);
        assert_eq!(
            stepped_back(t, Duration::from_secs(2), t - 3_598),
            Some(3_600)
        );
        assert_eq!(stepped_back(t, Duration::from_secs(1), t + 7_200), None);
        assert_eq!(stepped_back(t, Duration::from_secs(60), t + 55), Some(5));
        assert_eq!(stepped_back(t, Duration::from_secs(60), t + 56), None);
        // And forward.
        assert_eq!(stepped_ahead(t, Duration::from_secs(1), t + 1), None);
        assert_eq!(stepped_ahead(t, Duration::from_secs(2), t + 602), Some(600));
        assert_eq!(stepped_ahead(t, Duration::from_secs(60), t + 64), None);
        assert_eq!(stepped_ahead(t, Duration::from_secs(60), t + 65), Some(5));
        assert_eq!(stepped_ahead(t, Duration::from_secs(2), t - 3_598), None);
    }

    #[test]
    fn interval_and_cron() {
        let every = Every::Interval(Duration::from_secs(900));
        assert_eq!(after_success(1000, &every, Hints::default(), 24 * H), 1900);
        let cron = Every::Cron(Box::new(cron::Schedule::from_str("0 5 6 * * *").unwrap()));
        // 1970-01-01 00:00:00 → 06:05:00 the same day.
        assert_eq!(cron.next_after(0), 6 * 3600 + 5 * 60);
        assert_eq!(
            cron.next_after(6 * 3600 + 5 * 60),
            86_400 + 6 * 3600 + 5 * 60
        );
    }

    #[test]
    fn hints_push_out_but_are_capped() {
        let every = Every::Interval(Duration::from_secs(60));
        let h = Hints {
            fresh_for: Some(Duration::from_secs(600)),
            ..Hints::default()
        };
        assert_eq!(after_success(0, &every, h, 24 * H), 600);
        let h = Hints {
            ttl_minutes: Some(120),
            ..Hints::default()
        };
        assert_eq!(after_success(0, &every, h, 24 * H), 7200);
        let h = Hints {
            fresh_for: Some(Duration::from_secs(10 * 86_400)),
            ..Hints::default()
        };
        assert_eq!(after_success(0, &every, h, 24 * H), 86_400);
        // A hint shorter than the schedule never pulls it in.
        let h = Hints {
            fresh_for: Some(Duration::from_secs(5)),
            ..Hints::default()
        };
        assert_eq!(after_success(0, &every, h, 24 * H), 60);
    }

    #[test]
    fn skip_hours_and_days_move_the_fetch_to_an_allowed_hour() {
        let every = Every::Interval(Duration::from_secs(60));
        // 1970-01-01 (a Thursday) 00:00; hours 0-5 skipped → 06:00.
        let doc = crate::hints::DocHints {
            skip_hours: 0b11_1111,
            ..Default::default()
        };
        let h = Hints {
            doc,
            ..Hints::default()
        };
        assert_eq!(after_success(0, &every, h, 24 * H), 6 * 3600);
        // Thursday and Friday skipped → Saturday 00:00 (capped by max_delay).
        let doc = crate::hints::DocHints {
            skip_days: (1 << 3) | (1 << 4),
            ..Default::default()
        };
        let h = Hints {
            doc,
            ..Hints::default()
        };
        assert_eq!(after_success(0, &every, h, 72 * H), 2 * 86_400);
        assert_eq!(after_success(0, &every, h, 24 * H), 86_400);
        // sy:updatePeriod acts like ttl.
        let doc = crate::hints::DocHints {
            update_interval: Some(Duration::from_secs(7200)),
            ..Default::default()
        };
        let h = Hints {
            doc,
            ..Hints::default()
        };
        assert_eq!(after_success(0, &every, h, 24 * H), 7200);
    }

    /// A feed answered 429 with a Retry-After on every request is asked
    /// after the feeds of its server the hold kept waiting, however the
    /// seconds fall: it was asked first, held the server again, and the
    /// others were never requested.
    #[test]
    fn a_feed_that_asked_for_time_goes_after_the_feeds_it_held() {
        let every = Every::Interval(Duration::from_secs(1));
        for wait_ms in [1_000u64, 4_000, 4_500, 3_600_000] {
            let wait = Duration::from_millis(wait_ms);
            // The 429 at 100 s (the fetch's own clock rounded up); the other
            // feed found the hold at 100–103 s and waits what is left of it.
            let asked =
                after_failure(100, &every, 3, Disposition::RetryAfter(wait), 24 * H, 0.0).unwrap();
            for found_at in 100..104u64 {
                let Some(left) = wait.checked_sub(Duration::from_secs(found_at - 100)) else {
                    continue;
                };
                let held = after_failure(
                    found_at as i64 + 1,
                    &every,
                    1,
                    Disposition::Held(left),
                    24 * H,
                    0.0,
                )
                .unwrap();
                assert!(
                    held < asked,
                    "{wait:?}, found at {found_at}: {held} ≥ {asked}"
                );
            }
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let every = Every::Interval(Duration::from_secs(60));
        let at = |n| after_failure(0, &every, n, Disposition::Backoff, 24 * H, 0.0).unwrap();
        assert_eq!(at(1), 60);
        assert_eq!(at(2), 120);
        assert_eq!(at(3), 240);
        assert_eq!(at(40), 86_400);
        let jittered = after_failure(0, &every, 2, Disposition::Backoff, 24 * H, 0.5).unwrap();
        assert_eq!(jittered, 135);
        let ra = Disposition::RetryAfter(Duration::from_secs(7200));
        assert_eq!(after_failure(0, &every, 1, ra, 24 * H, 0.0), Some(7202));
        assert_eq!(
            after_failure(0, &every, 1, Disposition::Gone, 24 * H, 0.0),
            None
        );
        // A weekly feed is not asked for more often failing than working:
        // the cap is its own interval when longer than max_backoff, for the
        // backoff and for a Retry-After.
        let weekly = Every::Interval(Duration::from_secs(7 * 86_400));
        let at = |n| after_failure(0, &weekly, n, Disposition::Backoff, 24 * H, 0.0).unwrap();
        assert_eq!((at(1), at(2), at(9)), (3600, 7200, 7 * 86_400));
        let three_days = Disposition::RetryAfter(Duration::from_secs(3 * 86_400));
        assert_eq!(
            after_failure(0, &weekly, 1, three_days, 24 * H, 0.0),
            Some(3 * 86_400 + 2)
        );
        assert_eq!(
            after_failure(0, &every, 1, three_days, 24 * H, 0.0),
            Some(86_400 + 2)
        );
        // Held by another feed's Retry-After: exactly until it is over,
        // whatever the failures so far.
        let held = Disposition::Held(Duration::from_secs(57));
        assert_eq!(after_failure(0, &every, 5, held, 24 * H, 0.9), Some(57));
    }

    #[test]
    fn first_fetches_are_spread() {
        let every = Every::Interval(Duration::from_secs(1800));
        let mut seconds = std::collections::HashSet::new();
        for i in 0..1000 {
            let t = first_fetch(0, &every, &format!("https://h{i}.example/feed"), H);
            assert!((0..1800).contains(&t));
            seconds.insert(t);
        }
        assert!(
            seconds.len() > 400,
            "only {} distinct seconds",
            seconds.len()
        );
    }
}
