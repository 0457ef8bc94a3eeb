//! Times on the pages: "5 minutes ago" and the absolute time it stands for.
//! Pure: the caller passes "now", and learns until when a label stays true, so a
//! cached page is rendered again exactly when one of its labels would be wrong.

use chrono::{DateTime, Utc};

/// A relative label for `t` seen at `now`, and the first second at which it is
/// no longer right (`None`: it never changes, e.g. an absolute date).
pub fn relative(t: i64, now: i64) -> (String, Option<i64>) {
    const MIN: i64 = 60;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    let age = now.saturating_sub(t);
    // A minute of clock skew reads as "just now"; further in the future, or
    // more than 60 days back, the date says more than a count would.
    if !(-MIN..60 * DAY).contains(&age) {
        return (format!("on {}", day(t)), None);
    }
    let (n, unit, one) = match age {
        a if a < MIN => return ("just now".into(), Some(t.saturating_add(MIN))),
        a if a < HOUR => (a / MIN, MIN, "minute"),
        a if a < DAY => (a / HOUR, HOUR, "hour"),
        a => (a / DAY, DAY, "day"),
    };
    // ("1 day ago", not "yesterday": a story of 47 hours ago was two
    // calendar days back.)
    let label = match (n, one) {
        (1, _) => format!("1 {one} ago"),
        _ => format!("{n} {one}s ago"),
    };
    (label, Some(t.saturating_add((n + 1) * unit)))
}

/// `14 May 2026`.
pub fn day(t: i64) -> String {
    at(t).format("%-d %b %Y").to_string()
}

/// `Thu, 14 May 2026 09:30 UTC`: what a label stands for, and what a file shows.
pub fn absolute(t: i64) -> String {
    at(t).format("%a, %-d %b %Y %H:%M UTC").to_string()
}

fn at(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000;

    #[test]
    fn labels_and_when_they_expire() {
        let cases: &[(i64, &str, Option<i64>)] = &[
            (0, "just now", Some(60)),
            (-30, "just now", Some(90)),
            (59, "just now", Some(1)),
            (60, "1 minute ago", Some(60)),
            (61, "1 minute ago", Some(59)),
            (5 * 60 + 7, "5 minutes ago", Some(53)),
            (3600, "1 hour ago", Some(3600)),
            (3 * 3600 + 1, "3 hours ago", Some(3599)),
            (86_400, "1 day ago", Some(86_400)),
            (47 * 3600, "1 day ago", Some(3600)),
            (2 * 86_400, "2 days ago", Some(86_400)),
            (59 * 86_400 + 5, "59 days ago", Some(86_395)),
        ];
        for &(age, label, left) in cases {
            let (got, until) = relative(NOW - age, NOW);
            assert_eq!(got, label, "age {age}");
            // `left`: seconds from now until the label turns wrong.
            assert_eq!(until.map(|u| u - NOW), left, "age {age}");
            if let Some(u) = until {
                assert_ne!(
                    relative(NOW - age, u).0,
                    label,
                    "age {age}: still true at expiry"
                );
                assert_eq!(relative(NOW - age, u - 1).0, label, "age {age}");
            }
        }
    }

    #[test]
    fn old_and_future_times_are_dates() {
        let t = 1_778_751_000; // Thu, 14 May 2026 09:30 UTC
        assert_eq!(
            relative(t, t + 60 * 86_400),
            ("on 14 May 2026".into(), None)
        );
        assert_eq!(relative(t, t - 3600), ("on 14 May 2026".into(), None));
        assert_eq!(absolute(t), "Thu, 14 May 2026 09:30 UTC");
    }
}
